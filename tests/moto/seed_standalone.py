"""Seed a moto server with one account in no organization, or fix what was seeded.

Usage:
  python seed_standalone.py ENDPOINT        -> {"account", "role", "function"}: a role with
      AdministratorAccess and an inline s3:* policy, run by a function with a secret-like variable.
  python seed_standalone.py ENDPOINT fix    -> the same, fixed: AdministratorAccess detached, the
      inline policy deleted, the variable removed.
"""

import io
import json
import sys
import zipfile

import boto3

ENDPOINT = sys.argv[1]
REGION = "us-east-1"
CANARY = "s3cr3t-VALUE-rolescope-canary-7f3a"
ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"


def client(service):
    return boto3.client(
        service, endpoint_url=ENDPOINT, region_name=REGION,
        aws_access_key_id="testing", aws_secret_access_key="testing",
    )


def seed():
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {
        "Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    iam = client("iam")
    role = iam.create_role(RoleName="app", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    iam.attach_role_policy(RoleName="app", PolicyArn=ADMIN)
    iam.put_role_policy(RoleName="app", PolicyName="extra", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
    }))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("index.py", "def handler(event, context):\n    return 1\n")
    function = client("lambda").create_function(
        FunctionName="api", Runtime="python3.12", Role=role, Handler="index.handler",
        Code={"ZipFile": buf.getvalue()},
        Environment={"Variables": {"DB_PASSWORD": CANARY, "STAGE": "prod"}},
    )["FunctionArn"]
    account = client("sts").get_caller_identity()["Account"]
    print(json.dumps({"account": account, "role": role, "function": function}))


def fix():
    iam = client("iam")
    iam.detach_role_policy(RoleName="app", PolicyArn=ADMIN)
    iam.delete_role_policy(RoleName="app", PolicyName="extra")
    client("lambda").update_function_configuration(
        FunctionName="api", Environment={"Variables": {"STAGE": "prod"}},
    )
    print(json.dumps({"fixed": True}))


if len(sys.argv) > 2 and sys.argv[2] == "fix":
    fix()
else:
    seed()
