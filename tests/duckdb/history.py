"""Scan history in DuckDB over a rolescope output folder: per scan, the finding_changes rows by
change, and how many findings carry a first_seen earlier than their scan.

Usage: python history.py OUT_DIR
"""

import json
import sys

import duckdb

import tables

out = sys.argv[1]
con = duckdb.connect()
tables.register(con, out)
changes = {}
for scan_id, change, n in con.execute(
    "SELECT scan_id, change, count(*) FROM finding_changes GROUP BY scan_id, change"
).fetchall():
    changes.setdefault(scan_id, {})[change] = n
carried = {}
for scan_id, n in con.execute(
    "SELECT f.scan_id, count(*) FROM findings f JOIN scan_runs s ON s.scan_id = f.scan_id "
    "WHERE f.first_seen < s.started_at GROUP BY f.scan_id"
).fetchall():
    carried[scan_id] = n
unobserved = dict(
    con.execute("SELECT scan_id, count(*) FROM findings WHERE NOT observed GROUP BY scan_id").fetchall()
)
# Findings of a scan whose first_seen is earlier than the start of the scan before it: seen
# before that one too, carried across it.
older = {}
scans = [r[0] for r in con.execute("SELECT scan_id FROM scan_runs ORDER BY started_at").fetchall()]
for prev, later in zip(scans, scans[1:]):
    older[later] = con.execute(
        "SELECT count(*) FROM findings f, scan_runs p WHERE f.scan_id = ? AND p.scan_id = ? "
        "AND f.first_seen < p.started_at",
        [later, prev],
    ).fetchone()[0]
print(json.dumps({"changes": changes, "carried_first_seen": carried,
                  "unobserved": unobserved, "older_than_previous_scan": older}))
