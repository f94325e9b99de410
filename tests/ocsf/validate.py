"""Validate rolescope's OCSF output against the OCSF models of py-ocsf-models (PyPI), whose
version is printed with the result.

Usage: python validate.py FILE.jsonl
Prints {"ocsf_version", "lines", "statuses": {status: n}, "errors": [first errors]}.
"""

import json
import sys
from collections import Counter

import py_ocsf_models
from py_ocsf_models.events.findings.detection_finding import DetectionFinding

statuses = Counter()
errors = []
lines = 0
with open(sys.argv[1]) as f:
    for n, line in enumerate(f, 1):
        if not line.strip():
            continue
        lines += 1
        event = json.loads(line)
        try:
            model = DetectionFinding.model_validate(event)
        except Exception as e:  # pydantic.ValidationError
            text = str(e)
            if len(errors) < 5 and not any(text.split("\n")[1] in x for x in errors):
                errors.append(f"line {n}: {text}")
            continue
        if model.class_uid != 2004 or model.category_uid != 2:
            errors.append(f"line {n}: class {model.class_uid} category {model.category_uid}")
        if event["metadata"]["version"] != py_ocsf_models.OCSF_VERSION:
            errors.append(f"line {n}: version {event['metadata']['version']}")
        statuses[event["status"]] += 1
print(json.dumps({"ocsf_version": py_ocsf_models.OCSF_VERSION, "lines": lines,
                  "statuses": dict(statuses), "errors": errors}))
