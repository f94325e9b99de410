"""Create and attach rolescope's SCP recommendations in a moto Organization, as apply.sh would,
or (with `check`) verify that apply.sh did: each policy there under its name, with the file's
content, attached to its target.

Usage: python scp.py ENDPOINT OUT_DIR [check]  -> JSON list of {"file", "target", "policy_id", "chars"}
Fails (exit 1) if Organizations refuses any policy or attachment, or a check fails.
"""

import glob
import json
import os
import sys

import boto3

endpoint, out = sys.argv[1], sys.argv[2]
check = len(sys.argv) > 3 and sys.argv[3] == "check"
org = boto3.client(
    "organizations",
    endpoint_url=endpoint,
    region_name="us-east-1",
    aws_access_key_id="testing",
    aws_secret_access_key="testing",
)
result = []
for path in sorted(glob.glob(os.path.join(out, "scp", "*", "*.json"))):
    if path.endswith(".boundary.json"):
        continue
    target = os.path.basename(os.path.dirname(path))
    name = os.path.basename(path)[: -len(".json")]
    content = open(path).read()
    if check:
        named = [p for p in org.list_policies(Filter="SERVICE_CONTROL_POLICY")["Policies"]
                 if p["Name"] == f"{name}-{target}"]
        assert len(named) == 1, (path, named)
        policy_id = named[0]["Id"]
    else:
        policy = org.create_policy(
            Content=content,
            Description="rolescope e2e",
            Name=f"{name}-{target}",
            Type="SERVICE_CONTROL_POLICY",
        )["Policy"]
        policy_id = policy["PolicySummary"]["Id"]
        org.attach_policy(PolicyId=policy_id, TargetId=target)
    stored = org.describe_policy(PolicyId=policy_id)["Policy"]["Content"]
    assert json.loads(stored) == json.loads(content), path
    targets = [t["TargetId"] for t in org.list_targets_for_policy(PolicyId=policy_id)["Targets"]]
    assert target in targets, (path, targets)
    result.append({"file": path, "target": target, "policy_id": policy_id, "chars": len(content)})
print(json.dumps(result))
