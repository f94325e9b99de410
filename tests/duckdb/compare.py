"""Compare two scans' datasets row for row, ids and timestamps aside.

Usage: python compare.py OUT_A SCAN_A OUT_B SCAN_B -> {table: {"a": rows, "b": rows, "equal": bool,
"only_a": [first differing rows], "only_b": [...]}} for every table but scan_runs (whose
figures are the run's own: API calls, times).
"""

import glob
import json
import sys

import duckdb

out_a, scan_a, out_b, scan_b = sys.argv[1:5]
con = duckdb.connect()
result = {}
for table_dir in sorted(glob.glob(f"{out_a}/*/")):
    table = table_dir.rstrip("/").split("/")[-1]
    if table == "scan_runs" or not glob.glob(f"{table_dir}dt=*/*.parquet"):
        continue

    def rows(out, scan):
        files = glob.glob(f"{out}/{table}/dt=*/*.parquet")
        if not files:
            return []
        src = f"read_parquet('{out}/{table}/dt=*/*.parquet', hive_partitioning = 1)"
        cols = [
            (name, kind)
            for name, kind, *_ in con.execute(f"DESCRIBE SELECT * FROM {src}").fetchall()
            if name not in ("scan_id", "previous_scan_id", "dt") and not kind.startswith("TIMESTAMP")
        ]
        select = ", ".join(f'"{c}"' for c, _ in cols)
        got = con.execute(f"SELECT {select} FROM {src} WHERE scan_id = ?", [scan]).fetchall()
        return sorted(json.dumps([str(v) for v in r]) for r in got)

    a, b = rows(out_a, scan_a), rows(out_b, scan_b)
    sa, sb = set(a), set(b)
    result[table] = {
        "a": len(a),
        "b": len(b),
        "equal": a == b,
        "only_a": sorted(sa - sb)[:3],
        "only_b": sorted(sb - sa)[:3],
    }
print(json.dumps(result))
