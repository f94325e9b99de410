"""Run every named query of athena/queries.sql in DuckDB over a rolescope dataset, after the
views of the views.sql beside it (the queries read the latest scan through `latest_scan`).

Usage: python queries.py OUT_DIR QUERIES_SQL  -> {name: [[column values...], ...]}
"""

import json
import os
import re
import sys

import duckdb

import tables

out, queries_sql = sys.argv[1], sys.argv[2]
con = duckdb.connect()
tables.register(con, out)
views_sql = os.path.join(os.path.dirname(queries_sql), "views.sql")
for statement in open(views_sql).read().replace("${DATABASE}.", "").split(";"):
    lines = [l for l in statement.splitlines() if not l.strip().startswith("--")]
    if "\n".join(lines).strip():
        con.execute("\n".join(lines))
sql = open(queries_sql).read().replace("${DATABASE}.", "")
result = {}
for name, body in re.findall(r"-- name: (\w+)\n(.*?)(?=\n-- name: |\Z)", sql, re.S):
    rows = con.execute(body.strip().rstrip(";")).fetchall()
    result[name] = [[v if isinstance(v, (int, float, bool, type(None))) else str(v) for v in r] for r in rows]
print(json.dumps(result))
