"""Run SQL statements over a rolescope output folder in DuckDB (one view per table).

Usage: python sql.py OUT_DIR NAME=SQL... -> {NAME: [[values...], ...]}
"""

import json
import sys

import duckdb

import tables

out = sys.argv[1]
con = duckdb.connect()
tables.register(con, out)
result = {}
for arg in sys.argv[2:]:
    name, sql = arg.split("=", 1)
    rows = con.execute(sql).fetchall()
    result[name] = [[v if isinstance(v, (int, float, bool, type(None))) else str(v) for v in r] for r in rows]
print(json.dumps(result))
