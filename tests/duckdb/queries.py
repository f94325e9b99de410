"""Run every named query of athena/queries.sql in DuckDB over a rolescope dataset.

Usage: python queries.py OUT_DIR QUERIES_SQL  -> {name: [[column values...], ...]}
"""

import json
import re
import sys

import duckdb

import tables

out, queries_sql = sys.argv[1], sys.argv[2]
con = duckdb.connect()
tables.register(con, out)
sql = open(queries_sql).read().replace("${DATABASE}.", "")
result = {}
for name, body in re.findall(r"-- name: (\w+)\n(.*?)(?=\n-- name: |\Z)", sql, re.S):
    rows = con.execute(body.strip().rstrip(";")).fetchall()
    result[name] = [[v if isinstance(v, (int, float, bool, type(None))) else str(v) for v in r] for r in rows]
print(json.dumps(result))
