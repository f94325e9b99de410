"""Seed a moto server with a small organization in the partition of a region (moto answers
`cn-north-1` in `aws-cn` and `us-gov-west-1` in `aws-us-gov`), or create SCPs there.

Usage:
  python seed_partition.py ENDPOINT REGION             -> {"partition", "member", "function"}
  python seed_partition.py ENDPOINT REGION FILE [...]   -> {"created": [policy ids]}: each FILE an
                                                          SCP rolescope wrote, created in moto's
                                                          Organizations of that partition.
"""

import io
import json
import sys
import zipfile

import boto3

ENDPOINT, REGION = sys.argv[1], sys.argv[2]


def client(service, creds=None):
    kwargs = dict(endpoint_url=ENDPOINT, region_name=REGION)
    if creds:
        kwargs.update(
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
        )
    else:
        kwargs.update(aws_access_key_id="testing", aws_secret_access_key="testing")
    return boto3.client(service, **kwargs)


def create_policies(files):
    org = client("organizations")
    ids = []
    for i, path in enumerate(files):
        with open(path) as f:
            content = f.read()
        policy = org.create_policy(
            Content=content, Name=f"rolescope-{i}", Description="rolescope test",
            Type="SERVICE_CONTROL_POLICY",
        )["Policy"]["PolicySummary"]
        ids.append(policy["Id"])
    print(json.dumps({"created": ids}))


def seed():
    partition = client("sts").get_caller_identity()["Arn"].split(":")[1]
    org = client("organizations")
    org.create_organization(FeatureSet="ALL")
    member = org.create_account(Email="member@example.com", AccountName="member")[
        "CreateAccountStatus"]["AccountId"]
    creds = client("sts").assume_role(
        RoleArn=f"arn:{partition}:iam::{member}:role/OrganizationAccountAccessRole",
        RoleSessionName="seed",
    )["Credentials"]
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {
        "Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    iam = client("iam", creds)
    role = iam.create_role(RoleName="app", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    iam.attach_role_policy(RoleName="app", PolicyArn=f"arn:{partition}:iam::aws:policy/AdministratorAccess")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("index.py", "def handler(event, context):\n    return 1\n")
    lam = client("lambda", creds)
    function = lam.create_function(
        FunctionName="api", Runtime="python3.12", Role=role, Handler="index.handler",
        Code={"ZipFile": buf.getvalue()},
    )["FunctionArn"]
    lam.add_permission(FunctionName="api", StatementId="public", Action="lambda:InvokeFunction", Principal="*")
    print(json.dumps({"partition": partition, "member": member, "function": function, "role": role}))


if len(sys.argv) > 3:
    create_policies(sys.argv[3:])
else:
    seed()
