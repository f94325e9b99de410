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
print(json.dumps({"changes": changes, "carried_first_seen": carried}))
