"""Import rolescope's ASFF file into moto's Security Hub with BatchImportFindings, one call
per line (each line is a request), and read them back.

Usage: python securityhub.py ENDPOINT FILE.jsonl
Prints {"calls", "imported", "failed", "failures": [...], "read_back", "archived"}.
"""

import json
import sys

import boto3

endpoint, path = sys.argv[1], sys.argv[2]
hub = boto3.client(
    "securityhub",
    endpoint_url=endpoint,
    region_name="us-east-1",
    aws_access_key_id="testing",
    aws_secret_access_key="testing",
)
calls = imported = failed = 0
failures = []
for number, line in enumerate(open(path), start=1):
    request = json.loads(line)
    assert list(request) == ["Findings"], f"{path}:{number}: keys {list(request)}"
    assert 0 < len(request["Findings"]) <= 100, f"{path}:{number}: {len(request['Findings'])} findings"
    out = hub.batch_import_findings(**request)
    calls += 1
    imported += out["SuccessCount"]
    failed += out["FailedCount"]
    failures.extend(out.get("FailedFindings", [])[:5])
read_back = 0
archived = 0
for page in hub.get_paginator("get_findings").paginate():
    for f in page["Findings"]:
        read_back += 1
        archived += f.get("RecordState") == "ARCHIVED"
print(json.dumps({"calls": calls, "imported": imported, "failed": failed,
                  "failures": failures, "read_back": read_back, "archived": archived}))
