"""Read a rolescope dataset with independent engines (DuckDB and pyarrow) and print what they see.

Usage: python read_dataset.py OUT_DIR [NEEDLE]  -> one JSON object:
  {table: {"rows": n, "dt": [...], "duckdb_types": {col: type}, "arrow_types": {col: type},
           "sample": {...first row...}, "needle_found": bool}}
NEEDLE is searched in every decoded value (Parquet pages are compressed, so a byte search of the
files would prove nothing).
"""

import glob
import json
import sys

import duckdb
import pyarrow.parquet as pq

out = sys.argv[1]
needle = sys.argv[2] if len(sys.argv) > 2 else None
result = {}
con = duckdb.connect()
for table_dir in sorted(glob.glob(f"{out}/*/")):
    table = table_dir.rstrip("/").split("/")[-1]
    files = sorted(glob.glob(f"{table_dir}dt=*/*.parquet"))
    if not files:
        continue
    source = f"read_parquet('{table_dir}*/*.parquet', hive_partitioning = 1)"
    rows = con.execute(f"SELECT count(*) FROM {source}").fetchone()[0]
    dts = [r[0] for r in con.execute(f"SELECT DISTINCT dt FROM {source} ORDER BY 1").fetchall()]
    described = con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()
    schema = pq.read_schema(files[0])
    sample = con.execute(f"SELECT * FROM {source} LIMIT 1").fetchone()
    names = [d[0] for d in described]
    result[table] = {
        "rows": rows,
        "dt": [str(d) for d in dts],
        "duckdb_types": {d[0]: d[1] for d in described},
        "arrow_types": {f.name: str(f.type) for f in schema},
        "sample": {n: (str(v) if v is not None else None) for n, v in zip(names, sample or [])},
        "hidden_files": [f for f in glob.glob(f"{table_dir}dt=*/.*")],
        "needle_found": bool(needle)
        and any(needle in json.dumps(pq.read_table(f).to_pylist(), default=str) for f in files),
    }
print(json.dumps(result))
