"""Change the organization seed.py built, as a week of work would: make a function public,
detach a policy from a role, delete a function, and change an SCP.

Usage: python mutate.py ENDPOINT SEED_JSON -> one JSON object naming what changed.
"""

import json
import sys

import boto3

endpoint, seed = sys.argv[1], json.loads(sys.argv[2])


def client(service, creds=None, region="us-east-1"):
    extra = {}
    if creds:
        extra = {
            "aws_access_key_id": creds["AccessKeyId"],
            "aws_secret_access_key": creds["SecretAccessKey"],
            "aws_session_token": creds["SessionToken"],
        }
    else:
        extra = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    return boto3.client(service, endpoint_url=endpoint, region_name=region, **extra)


def member(account_id):
    return client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{account_id}:role/OrganizationAccountAccessRole", RoleSessionName="mutate"
    )["Credentials"]


prod_b = seed["accounts"]["prod-b"]
dev = seed["accounts"]["dev"]
creds_b = member(prod_b)
lam_b = client("lambda", creds_b)
lam_b.add_permission(FunctionName="report", StatementId="oops-public", Action="lambda:InvokeFunction", Principal="*")
iam_b = client("iam", creds_b)
iam_b.detach_role_policy(RoleName="orders-fn", PolicyArn=seed["roles"]["prod-b"]["tables"])
lam_dev = client("lambda", member(dev))
lam_dev.delete_function(FunctionName="admin-tool")
org = client("organizations")
scp_id = seed["scps"]["WorkloadRegions"]
content = json.loads(org.describe_policy(PolicyId=scp_id)["Policy"]["Content"])
content["Statement"][0]["Condition"]["StringNotEquals"]["aws:RequestedRegion"].append("eu-central-1")
org.update_policy(PolicyId=scp_id, Content=json.dumps(content))
print(
    json.dumps(
        {
            "public": f"arn:aws:lambda:us-east-1:{prod_b}:function:report",
            "detached": f"arn:aws:iam::{prod_b}:role/service-role/orders-fn",
            "deleted": f"arn:aws:lambda:us-east-1:{dev}:function:admin-tool",
            "scp": scp_id,
        }
    )
)
