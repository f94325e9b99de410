"""Seed a moto server with a small AWS Organization for rolescope's end-to-end tests.

Usage: python seed.py ENDPOINT_URL  -> prints one JSON object describing what was created.

Everything goes through boto3 against the moto server, exactly as a user would create it in AWS.
"""

import io
import json
import sys
import zipfile

import boto3

ENDPOINT = sys.argv[1]
REGIONS = ["us-east-1", "eu-west-1"]
CANARY = "s3cr3t-VALUE-rolescope-canary-7f3a"

LAMBDA_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


def client(service, creds=None, region="us-east-1"):
    kwargs = dict(endpoint_url=ENDPOINT, region_name=region)
    if creds:
        kwargs.update(
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
        )
    else:
        kwargs.update(aws_access_key_id="testing", aws_secret_access_key="testing")
    return boto3.client(service, **kwargs)


def zip_bytes():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("index.py", "def handler(event, context):\n    return 'ok'\n")
    return buf.getvalue()


orgs = client("organizations")
orgs.create_organization(FeatureSet="ALL")
root = orgs.list_roots()["Roots"][0]
try:
    orgs.enable_policy_type(RootId=root["Id"], PolicyType="SERVICE_CONTROL_POLICY")
except Exception:  # already enabled
    pass

workloads = orgs.create_organizational_unit(ParentId=root["Id"], Name="Workloads")["OrganizationalUnit"]
prod = orgs.create_organizational_unit(ParentId=workloads["Id"], Name="Prod")["OrganizationalUnit"]
dev = orgs.create_organizational_unit(ParentId=workloads["Id"], Name="Dev")["OrganizationalUnit"]
sandbox = orgs.create_organizational_unit(ParentId=root["Id"], Name="Sandbox")["OrganizationalUnit"]

accounts = {}
for name, parent in [("prod-a", prod), ("prod-b", prod), ("dev", dev), ("sandbox", sandbox), ("closed", sandbox)]:
    status = orgs.create_account(Email=f"{name}@example.com", AccountName=name)["CreateAccountStatus"]
    account_id = status["AccountId"]
    orgs.move_account(AccountId=account_id, SourceParentId=root["Id"], DestinationParentId=parent["Id"])
    accounts[name] = account_id
orgs.close_account(AccountId=accounts["closed"])


def scp(name, doc, target):
    p = orgs.create_policy(
        Content=json.dumps(doc), Description=name, Name=name, Type="SERVICE_CONTROL_POLICY"
    )["Policy"]["PolicySummary"]
    orgs.attach_policy(PolicyId=p["Id"], TargetId=target)
    return p["Id"]


scps = {
    "DenyLeaveOrganization": scp(
        "DenyLeaveOrganization",
        {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "organizations:LeaveOrganization", "Resource": "*"}]},
        root["Id"],
    ),
    "WorkloadRegions": scp(
        "WorkloadRegions",
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Deny",
                    "NotAction": ["iam:*", "organizations:*", "sts:*"],
                    "Resource": "*",
                    "Condition": {"StringNotEquals": {"aws:RequestedRegion": REGIONS}},
                }
            ],
        },
        workloads["Id"],
    ),
    "SandboxNoIamUsers": scp(
        "SandboxNoIamUsers",
        {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": ["iam:CreateUser", "iam:CreateAccessKey"], "Resource": "*"}]},
        accounts["sandbox"],
    ),
}

sts = client("sts")
created = {"functions": {}, "roles": {}}


def member(account_id):
    return sts.assume_role(
        RoleArn=f"arn:aws:iam::{account_id}:role/OrganizationAccountAccessRole",
        RoleSessionName="seed",
    )["Credentials"]


code = zip_bytes()
for name in ["prod-a", "prod-b", "dev", "sandbox"]:
    account_id = accounts[name]
    creds = member(account_id)
    iam = client("iam", creds)
    # The audit role rolescope assumes (moto does not check trust, AWS does).
    iam.create_role(
        RoleName="RolescopeAudit",
        AssumeRolePolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "sts:AssumeRole"}]}
        ),
    )
    boundary = iam.create_policy(
        PolicyName="LambdaBoundary",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["logs:*", "s3:GetObject", "dynamodb:*"], "Resource": "*"}]}
        ),
    )["Policy"]["Arn"]
    tables = iam.create_policy(
        PolicyName="OrdersTables",
        Path="/app/",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Sid": "Tables", "Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:PutItem"], "Resource": f"arn:aws:dynamodb:*:{account_id}:table/orders*"}]}
        ),
    )["Policy"]["Arn"]

    app_role = iam.create_role(
        RoleName="orders-fn",
        Path="/service-role/",
        AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST),
        PermissionsBoundary=boundary,
        Tags=[{"Key": "team", "Value": "orders"}],
    )["Role"]["Arn"]
    iam.attach_role_policy(RoleName="orders-fn", PolicyArn="arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole")
    iam.attach_role_policy(RoleName="orders-fn", PolicyArn=tables)
    iam.put_role_policy(
        RoleName="orders-fn",
        PolicyName="ReadConfig",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ssm:GetParameter", "Resource": f"arn:aws:ssm:*:{account_id}:parameter/orders/*"}]}
        ),
    )
    admin_role = iam.create_role(RoleName="admin-fn", AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST))["Role"]["Arn"]
    iam.attach_role_policy(RoleName="admin-fn", PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    created["roles"][name] = {"app": app_role, "admin": admin_role, "boundary": boundary, "tables": tables}

    functions = []
    for region in REGIONS:
        lam = client("lambda", creds, region)
        for i, (fn, role) in enumerate([("orders", app_role), ("admin-tool", admin_role), ("report", app_role)]):
            if name in ("sandbox",) and region == "eu-west-1":
                continue  # an account with functions in one region only
            if fn == "report" and region == "eu-west-1":
                continue
            f = lam.create_function(
                FunctionName=fn,
                Runtime="python3.12",
                Role=role,
                Handler="index.handler",
                Code={"ZipFile": code},
                Environment={"Variables": {"DB_PASSWORD": CANARY, "STAGE": name}},
                Architectures=["arm64" if i == 1 else "x86_64"],
            )
            functions.append(f["FunctionArn"])
        if name == "prod-a" and region == "us-east-1":
            # Public: anyone may invoke, and a function URL without auth.
            lam.add_permission(FunctionName="orders", StatementId="public", Action="lambda:InvokeFunction", Principal="*")
            lam.create_function_url_config(FunctionName="orders", AuthType="NONE")
            lam.add_permission(
                FunctionName="orders", StatementId="url", Action="lambda:InvokeFunctionUrl",
                Principal="*", FunctionUrlAuthType="NONE",
            )
            lam.create_function_url_config(FunctionName="admin-tool", AuthType="AWS_IAM")
            # Production runs version 1 as a role $LATEST no longer uses, behind alias live,
            # which anyone may invoke; $LATEST now runs as the scoped app role.
            old_role = iam.create_role(RoleName="billing-v1", AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST))["Role"]["Arn"]
            iam.attach_role_policy(RoleName="billing-v1", PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
            billing = lam.create_function(
                FunctionName="billing", Runtime="python3.12", Role=old_role, Handler="index.handler", Code={"ZipFile": code},
                Environment={"Variables": {"DB_PASSWORD": CANARY, "STAGE": name}},
            )
            version = lam.publish_version(FunctionName="billing")["Version"]
            lam.update_function_configuration(FunctionName="billing", Role=app_role)
            lam.create_alias(FunctionName="billing", Name="live", FunctionVersion=version)
            lam.add_permission(FunctionName="billing", StatementId="public-live", Action="lambda:InvokeFunction", Principal="*", Qualifier="live")
            functions.append(billing["FunctionArn"])
            created["billing"] = {"function": billing["FunctionArn"], "version": version, "old_role": old_role, "role": app_role}
            lam.add_permission(
                FunctionName="report",
                StatementId="s3",
                Action="lambda:InvokeFunction",
                Principal="s3.amazonaws.com",
                SourceArn="arn:aws:s3:::reports-bucket",
                SourceAccount=account_id,
            )
    created["functions"][name] = sorted(functions)

print(json.dumps({"root": root["Id"], "ous": {"Workloads": workloads["Id"], "Prod": prod["Id"], "Dev": dev["Id"], "Sandbox": sandbox["Id"]}, "accounts": accounts, "scps": scps, "canary": CANARY, **created}))
