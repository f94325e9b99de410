"""Run detect-secrets (Yelp, PyPI) over environment values, as a comparison for rolescope's own
detector: which of the given variables does it flag, and as what?

Usage: python detect_secrets_scan.py VALUES.json
VALUES.json is a JSON list of {"name": ..., "value": ...}. Each becomes one line NAME="value" of a
dotenv file (newlines escaped), scanned with detect-secrets' default plugins and filters. Prints
{"flagged": {index: [types]}} for the lines it reports.
"""

import json
import os
import sys
import tempfile

from detect_secrets import SecretsCollection
from detect_secrets.settings import default_settings

values = json.load(open(sys.argv[1]))
with tempfile.TemporaryDirectory() as work:
    path = os.path.join(work, "function.env")
    with open(path, "w") as f:
        for v in values:
            escaped = v["value"].replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')
            f.write(f'{v["name"]}="{escaped}"\n')
    found = SecretsCollection()
    with default_settings():
        found.scan_file(path)
    flagged = {}
    for _, secret in found:
        flagged.setdefault(str(secret.line_number - 1), []).append(secret.type)
print(json.dumps({"flagged": flagged}))
