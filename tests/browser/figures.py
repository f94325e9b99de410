"""What the datasets of one scan say, read with DuckDB, for comparison with its HTML report.

Usage: python figures.py OUT_DIR SCAN_ID ACCOUNT_ID -> one JSON object with the figures the
report shows: the usage coverage and calls counted, live findings by severity, mitigated, the top role and its score, the public
function qualifiers, the organization score, the roles of ACCOUNT_ID (the filter check) and
the finding changes by kind.
"""

import json
import sys

import duckdb

out, scan, account = sys.argv[1:4]
con = duckdb.connect()


def table(name):
    return f"read_parquet('{out}/{name}/dt=*/*.parquet', hive_partitioning = 1)"


def one(sql, *params):
    return con.execute(sql, list(params)).fetchone()


live = dict(
    con.execute(
        f"SELECT severity, count(*) FROM {table('findings')} "
        "WHERE scan_id = ? AND mitigated_by IS NULL AND observed GROUP BY severity",
        [scan],
    ).fetchall()
)
result = {
    "usage_accounts": one(f"SELECT count(*) FROM {table('usage_coverage')} WHERE scan_id = ?", scan)[0],
    "usage_accounts_covered": one(
        f"SELECT count(*) FROM {table('usage_coverage')} WHERE scan_id = ? AND covers_window", scan
    )[0],
    "usage_calls": one(
        f"SELECT coalesce(sum(calls), 0) FROM {table('role_activity')} "
        "WHERE scan_id = ? AND source <> 'configuration'",
        scan,
    )[0],
    "live": {s: live.get(s, 0) for s in ["critical", "high", "medium", "low", "info"]},
    "mitigated": one(
        f"SELECT count(*) FROM {table('findings')} WHERE scan_id = ? AND mitigated_by IS NOT NULL",
        scan,
    )[0],
    "top_role": dict(
        zip(
            ["arn", "score"],
            one(
                f"SELECT role_arn, risk_score FROM {table('roles')} WHERE scan_id = ? "
                "ORDER BY risk_score DESC, role_arn LIMIT 1",
                scan,
            ),
        )
    ),
    "public": sorted(
        r[0]
        for r in con.execute(
            f"SELECT function_arn || ':' || qualifier FROM {table('function_versions')} "
            "WHERE scan_id = ? AND public_access",
            [scan],
        ).fetchall()
    ),
    "public_functions": one(
        f"SELECT count(DISTINCT function_arn) FROM {table('function_versions')} "
        "WHERE scan_id = ? AND public_access",
        scan,
    )[0],
    "org_score": one(f"SELECT max(risk_score) FROM {table('accounts')} WHERE scan_id = ?", scan)[0],
    "accounts": one(f"SELECT count(*) FROM {table('accounts')} WHERE scan_id = ?", scan)[0],
    "functions": one(f"SELECT count(*) FROM {table('functions')} WHERE scan_id = ?", scan)[0],
    "roles": one(f"SELECT count(*) FROM {table('roles')} WHERE scan_id = ?", scan)[0],
    "roles_of_account": one(
        f"SELECT count(*) FROM {table('roles')} WHERE scan_id = ? AND account_id = ?", scan, account
    )[0],
}
result["changes"] = dict(
    con.execute(
        f"SELECT change, count(*) FROM {table('finding_changes')} WHERE scan_id = ? GROUP BY change",
        [scan],
    ).fetchall()
)
print(json.dumps(result))
