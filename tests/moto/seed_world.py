"""Seed a moto server with an organization the simulator describes (World::describe()).

Usage: python seed_world.py ENDPOINT_URL WORLD_JSON  -> prints {"accounts": {name: id}, "root": id}

Everything goes through boto3, as a user would create it in AWS; the fidelity test then scans this
organization and the simulator's and compares the datasets.
"""

import io
import json
import sys
import zipfile

import boto3

ENDPOINT, WORLD = sys.argv[1], json.load(open(sys.argv[2]))


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


buf = io.BytesIO()
with zipfile.ZipFile(buf, "w") as z:
    z.writestr("index.py", "def handler(event, context):\n    return 'ok'\n")
CODE = buf.getvalue()

orgs = client("organizations")
orgs.create_organization(FeatureSet="ALL")
root = orgs.list_roots()["Roots"][0]
try:
    orgs.enable_policy_type(RootId=root["Id"], PolicyType="SERVICE_CONTROL_POLICY")
except Exception:
    pass
ids = {"Root": root["Id"]}
for ou in WORLD["ous"]:
    ids[ou["name"]] = orgs.create_organizational_unit(ParentId=ids[ou["parent"]], Name=ou["name"])[
        "OrganizationalUnit"
    ]["Id"]
accounts = {}
for a in WORLD["accounts"]:
    account_id = orgs.create_account(Email=f"{a['name']}@example.com", AccountName=a["name"])[
        "CreateAccountStatus"
    ]["AccountId"]
    orgs.move_account(AccountId=account_id, SourceParentId=root["Id"], DestinationParentId=ids[a["parent"]])
    accounts[a["name"]] = account_id
    ids[a["name"]] = account_id
for p in WORLD["scps"]:
    policy = orgs.create_policy(
        Content=p["document"], Description=p["name"], Name=p["name"], Type="SERVICE_CONTROL_POLICY"
    )["Policy"]["PolicySummary"]["Id"]
    for t in p["targets"]:
        orgs.attach_policy(PolicyId=policy, TargetId=ids[t])

sts = client("sts")

# Layers the functions use, published in their owners' accounts (moto's AssumeRole maps the
# session to any account id, so the partner's account can be written too).
layers = sorted(
    {
        l.replace("{account}", accounts[name])
        for name, fs in WORLD["functions"].items()
        for region in fs.values()
        for f in region
        for l in f["layers"]
    }
)
for layer in layers:
    _, _, _, region, owner, _, name, version = layer.split(":")
    creds = sts.assume_role(RoleArn=f"arn:aws:iam::{owner}:role/OrganizationAccountAccessRole", RoleSessionName="layers")["Credentials"]
    lam = client("lambda", creds, region)
    existing = lam.list_layer_versions(LayerName=name).get("LayerVersions", [])
    for _ in range(int(version) - len(existing)):
        lam.publish_layer_version(LayerName=name, Content={"ZipFile": CODE})

for name, account_id in accounts.items():
    creds = sts.assume_role(
        RoleArn=f"arn:aws:iam::{account_id}:role/OrganizationAccountAccessRole", RoleSessionName="seed"
    )["Credentials"]
    iam = client("iam", creds)
    iam.create_role(
        RoleName="RolescopeAudit",
        AssumeRolePolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "sts:AssumeRole"}]}
        ),
    )
    for p in WORLD["local_policies"]:
        iam.create_policy(PolicyName=p["name"], Path=p["path"], PolicyDocument=p["document"])

    def arn(ref):
        return f"arn:aws:iam::{account_id}:policy{ref[len('local:'):]}" if ref.startswith("local:") else ref

    for r in WORLD["roles"]:
        extra = {"PermissionsBoundary": arn(r["boundary"])} if r["boundary"] else {}
        iam.create_role(
            RoleName=r["name"],
            Path=r["path"],
            AssumeRolePolicyDocument=r["trust"],
            Tags=[{"Key": "team", "Value": r["name"]}],
            **extra,
        )
        for p in r["inline"]:
            iam.put_role_policy(RoleName=r["name"], PolicyName=p["name"], PolicyDocument=p["document"])
        for a in r["attached"]:
            iam.attach_role_policy(RoleName=r["name"], PolicyArn=arn(a))
    paths = {r["name"]: r["path"] for r in WORLD["roles"]}
    for region, functions in WORLD["functions"][name].items():
        lam = client("lambda", creds, region)
        role_arn = lambda name: f"arn:aws:iam::{account_id}:role{paths[name]}{name}"
        for f in functions:
            # A function with versions is created as the role of its first version, published,
            # then moved to its current role: the version keeps the role it was published with.
            first = f["versions"][0]["role"] if f["versions"] else f["role"]
            lam.create_function(
                FunctionName=f["name"],
                Runtime=f["runtime"],
                Role=role_arn(first),
                Handler="index.handler",
                Code={"ZipFile": CODE},
                Environment={"Variables": f["environment"]},
                Architectures=[f["architecture"]],
                Layers=[l.replace("{account}", account_id) for l in f["layers"]],
            )
            if f["policy"] == "public":
                lam.add_permission(FunctionName=f["name"], StatementId="public", Action="lambda:InvokeFunction", Principal="*")
            elif f["policy"] == "partner":
                lam.add_permission(FunctionName=f["name"], StatementId="partner", Action="lambda:InvokeFunction", Principal="999988887777")
            elif f["policy"] == "s3":
                lam.add_permission(
                    FunctionName=f["name"], StatementId="s3", Action="lambda:InvokeFunction",
                    Principal="s3.amazonaws.com", SourceAccount=account_id,
                )
            if f["versions"]:
                lam.publish_version(FunctionName=f["name"])
                lam.update_function_configuration(FunctionName=f["name"], Role=role_arn(f["role"]))
                for a in f["aliases"]:
                    lam.create_alias(FunctionName=f["name"], Name=a["name"], FunctionVersion=a["version"])
            if f["event_source"]:
                # The account's jobs queue in the region, polled through a mapping.
                sqs = client("sqs", creds, region)
                url = sqs.create_queue(QueueName="jobs")["QueueUrl"]
                queue = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
                lam.create_event_source_mapping(EventSourceArn=queue, FunctionName=f["name"], BatchSize=10)
            if f["url"]:
                lam.create_function_url_config(FunctionName=f["name"], AuthType=f["url"])
            if f["url"] == "NONE":
                # The statement a NONE URL is created with (the simulator's policy has it too).
                lam.add_permission(
                    FunctionName=f["name"], StatementId="FunctionURLAllowPublicAccess",
                    Action="lambda:InvokeFunctionUrl", Principal="*", FunctionUrlAuthType="NONE",
                )
print(json.dumps({"root": root["Id"], "accounts": accounts}))
