"""Run rolescope's Athena SQL (Trino) in DuckDB over CloudTrail log files, through sqlglot's
Trino-to-DuckDB transpiler.

Usage: python cloudtrail.py TRAIL_DIR NAME=SQL_FILE... -> {NAME: [[text or null, ...], ...]}

The files are exposed as the table AWS documents for CloudTrail in Athena (`cloudtrail_logs`,
lower-case columns, `requestparameters` as JSON text, `resources` as structs of arn, accountid
and type), with the partition columns `account`, `region` and `date` (yyyy/MM/dd) taken from each
file's place in the delivered layout, as partition projection gives them.
"""

import glob
import json
import sys

import duckdb
import sqlglot

trail = sys.argv[1]
# The call logs of the delivered layout (digests live under CloudTrail-Digest/).
files = sorted(glob.glob(f"{trail}/**/CloudTrail/**/*.json.gz", recursive=True))
listed = "[" + ", ".join("'" + f.replace("'", "''") + "'" for f in files) + "]"
con = duckdb.connect()
con.execute(f"""
CREATE VIEW cloudtrail_logs AS
SELECT
  r->>'$.eventVersion' AS eventversion,
  {{'type': r->>'$.userIdentity.type', 'arn': r->>'$.userIdentity.arn',
    'accountid': r->>'$.userIdentity.accountId',
    'sessioncontext': {{'sessionissuer': {{'type': r->>'$.userIdentity.sessionContext.sessionIssuer.type',
                                          'arn': r->>'$.userIdentity.sessionContext.sessionIssuer.arn'}}}}}} AS useridentity,
  r->>'$.eventTime' AS eventtime,
  r->>'$.eventSource' AS eventsource,
  r->>'$.eventName' AS eventname,
  r->>'$.awsRegion' AS awsregion,
  r->>'$.errorCode' AS errorcode,
  CAST(r->'$.requestParameters' AS VARCHAR) AS requestparameters,
  list_transform(from_json(r->'$.resources', '["JSON"]'),
                 lambda x: {{'arn': x->>'$.ARN', 'accountid': x->>'$.accountId', 'type': x->>'$.type'}}) AS resources,
  r->>'$.recipientAccountId' AS recipientaccountid,
  r->>'$.eventCategory' AS eventcategory,
  regexp_extract(filename, 'AWSLogs/(?:o-[^/]+/)?([0-9]{{12}})/CloudTrail/', 1) AS account,
  regexp_extract(filename, '/CloudTrail/([^/]+)/', 1) AS region,
  regexp_extract(filename, '/CloudTrail/[^/]+/([0-9]{{4}}/[0-9]{{2}}/[0-9]{{2}})/', 1) AS "date"
FROM (
  SELECT unnest(from_json(Records, '["JSON"]')) AS r, filename
  FROM read_json({listed}, columns={{'Records': 'JSON'}}, filename=true)
)
""")
result = {}
for arg in sys.argv[2:]:
    name, path = arg.split("=", 1)
    sql = sqlglot.transpile(open(path).read(), read="trino", write="duckdb")[0]
    rows = con.execute(sql).fetchall()
    result[name] = [[None if v is None else str(v) for v in r] for r in rows]
print(json.dumps(result))
