"""Shared by the DuckDB scripts: one view per table folder of a rolescope dataset."""

import glob


def register(con, out):
    """CREATE VIEW <table> over OUT/<table>/dt=*/*.parquet for every folder holding Parquet files
    (snapshots/, scp/ and athena/ hold none and are skipped)."""
    for table_dir in sorted(glob.glob(f"{out}/*/")):
        table = table_dir.rstrip("/").split("/")[-1]
        if not glob.glob(f"{table_dir}dt=*/*.parquet"):
            continue
        con.execute(
            f"CREATE VIEW {table} AS SELECT * FROM read_parquet('{table_dir}*/*.parquet', hive_partitioning = 1)"
        )
