"""Read rolescope's deployment templates as CloudFormation reads them (cfn-lint's decoder) and
print what the e2e test checks, as one JSON object.

Usage: python template.py SCANNER_YAML STACKSET_YAML
"""

import json
import re
import sys

from cfnlint.decode import decode

scanner, matches = decode(sys.argv[1])
assert not matches, matches
stackset, matches = decode(sys.argv[2])
assert not matches, matches
res = scanner["Resources"]


def plain(v):
    return json.loads(json.dumps(v, default=str))


tables = {
    r["Properties"]["TableInput"]["Name"]: {
        "columns": [c["Name"] for c in r["Properties"]["TableInput"]["StorageDescriptor"]["Columns"]],
        "types": [c["Type"] for c in r["Properties"]["TableInput"]["StorageDescriptor"]["Columns"]],
        "projection": r["Properties"]["TableInput"]["Parameters"].get("projection.enabled"),
        "partition": [p["Name"] for p in r["Properties"]["TableInput"]["PartitionKeys"]],
    }
    for r in res.values()
    if r["Type"] == "AWS::Glue::Table"
}
machine = res["StateMachine"]["Properties"]
definition = plain(machine["Definition"])
used = sorted(set(re.findall(r"\$\{(\w+)\}", json.dumps(definition))))
bucket = res["DataBucket"]["Properties"]
policy = plain(res["DataBucketPolicy"]["Properties"]["PolicyDocument"])
task_policies = {p["PolicyName"]: plain(p["PolicyDocument"]) for p in res["TaskRole"]["Properties"]["Policies"]}
body = stackset["Resources"]["AuditRoleStackSet"]["Properties"]
print(
    json.dumps(
        {
            "tables": tables,
            "named_queries": sorted(
                r["Properties"]["Name"] for r in res.values() if r["Type"] == "AWS::Athena::NamedQuery"
            ),
            "definition": definition,
            "substitutions_used": used,
            "substitutions_defined": sorted(machine["DefinitionSubstitutions"].keys()),
            "versioning": bucket["VersioningConfiguration"]["Status"],
            "encryption": plain(bucket["BucketEncryption"]),
            "public_access_block": plain(bucket["PublicAccessBlockConfiguration"]),
            "lifecycle": plain(bucket["LifecycleConfiguration"]["Rules"]),
            "bucket_policy": policy,
            "task_policies": task_policies,
            "task_command": plain(res["TaskDefinition"]["Properties"]["ContainerDefinitions"][0]["Command"]),
            "schedule": plain(res["ScanSchedule"]["Properties"]),
            "stackset": {
                "permission_model": body["PermissionModel"],
                "auto_deployment": plain(body["AutoDeployment"]),
                "template_body": json.loads(str(body["TemplateBody"])),
            },
        }
    )
)
