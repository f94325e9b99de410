"""Cloudsplaining's verdicts for a stream of policies, for rolescope's comparison test.

stdin: one JSON object per line, {"id": "...", "policy": {...}}
stdout: one JSON object per line, {"id", "privilege_escalation", "data_exfiltration",
        "resource_exposure", "credentials_exposure"} (booleans) and "actions" (the actions behind
        each verdict), in input order.

Uses cloudsplaining's PolicyDocument with its default exclusions, i.e. what `cloudsplaining scan`
reports for a policy.
"""

import json
import sys

from cloudsplaining.scan.policy_document import PolicyDocument

for line in sys.stdin:
    line = line.strip()
    if not line:
        continue
    case = json.loads(line)
    doc = PolicyDocument(case["policy"])
    privesc = doc.allows_privilege_escalation
    exfil = doc.allows_data_exfiltration_actions
    exposure = doc.permissions_management_without_constraints
    creds = doc.credentials_exposure
    out = {
        "id": case["id"],
        "privilege_escalation": bool(privesc),
        "data_exfiltration": bool(exfil),
        "resource_exposure": bool(exposure),
        "credentials_exposure": bool(creds),
        # The actions behind each verdict, to explain differences.
        "actions": {
            "privilege_escalation": sorted({a for p in privesc for a in p["actions"]}),
            "data_exfiltration": sorted(set(exfil)),
            "resource_exposure": sorted(set(exposure)),
            "credentials_exposure": sorted(set(creds)),
        },
    }
    sys.stdout.write(json.dumps(out) + "\n")
