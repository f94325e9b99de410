"""Run athena/views.sql in DuckDB over a rolescope dataset; print each view's row count as JSON.

Usage: python views.py OUT_DIR VIEWS_SQL
"""

import json
import sys

import duckdb

import tables

out, views_sql = sys.argv[1], sys.argv[2]
con = duckdb.connect()
tables.register(con, out)
sql = open(views_sql).read().replace("${DATABASE}.", "")
counts = {}
for statement in [s.strip() for s in sql.split(";")]:
    lines = [l for l in statement.splitlines() if not l.strip().startswith("--")]
    statement = "\n".join(lines).strip()
    if not statement:
        continue
    con.execute(statement)
    name = statement.split("VIEW", 1)[1].split()[0]
    counts[name] = con.execute(f"SELECT count(*) FROM {name}").fetchone()[0]
print(json.dumps(counts))
