"""trailscraper's view of a CloudTrail folder: per role, the actions and resources its
generated policy holds, from the successful records and from all records.

Usage: python policies.py LOG_DIR FROM TO -> {"successful": {role: {action: [resources]}},
                                              "all": {role: {action: [resources]}}}

trailscraper (PyPI) runs as a library in this separate process, with its own venv: its record
source walks the folder and its policy generator maps events to actions and resources. Only the
grouping by role and the errorCode filter are this script's: trailscraper has no option to skip
failed calls.
"""

import datetime
import json
import sys
from collections import defaultdict

from trailscraper.cloudtrail import filter_records
from trailscraper.policy_generator import generate_policy
from trailscraper.record_sources.local_directory_record_source import LocalDirectoryRecordSource


def when(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


def per_role(records):
    by_role = defaultdict(list)
    for r in records:
        if r.assumed_role_arn:
            by_role[r.assumed_role_arn].append(r)
    out = {}
    for role, rs in by_role.items():
        actions = defaultdict(set)
        for statement in generate_policy(rs).Statement:
            for action in statement.Action:
                actions[action.json_repr()].update(statement.Resource)
        out[role] = {a: sorted(res) for a, res in actions.items()}
    return out


log_dir, start, end = sys.argv[1], when(sys.argv[2]), when(sys.argv[3])
records = filter_records(LocalDirectoryRecordSource(log_dir).load_from_dir(start, end), None, start, end)
ok = [r for r in records if "errorCode" not in r.raw_source]
print(json.dumps({"successful": per_role(ok), "all": per_role(records)}))
