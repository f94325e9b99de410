"""Seed a moto server with one account whose function needs what its configuration says (an
event source mapping, a dead-letter queue, X-Ray tracing, a VPC, a KMS key) and a trail that logs S3 and DynamoDB data events, and write the
CloudTrail folder of that account's last three days.

Usage: python seed_usage.py ENDPOINT TRAIL_DIR -> {"account", "role", "function", "queue", "dlq", "key"}
"""

import datetime
import gzip
import io
import json
import os
import sys
import zipfile

import boto3

ENDPOINT, TRAIL = sys.argv[1], sys.argv[2]
REGION = "us-east-1"


def client(service):
    return boto3.client(
        service, endpoint_url=ENDPOINT, region_name=REGION,
        aws_access_key_id="testing", aws_secret_access_key="testing",
    )


trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {
    "Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
iam = client("iam")
role = iam.create_role(RoleName="worker", Path="/service-role/", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
iam.put_role_policy(RoleName="worker", PolicyName="app", PolicyDocument=json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": ["sqs:*", "logs:*", "kms:Decrypt", "xray:*", "ec2:*",
                                                 "secretsmanager:GetSecretValue", "ssm:GetParameter"], "Resource": "*"}],
}))
sqs = client("sqs")
arn_of = lambda url: sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
queue = arn_of(sqs.create_queue(QueueName="jobs")["QueueUrl"])
dlq = arn_of(sqs.create_queue(QueueName="jobs-dlq")["QueueUrl"])
key = client("kms").create_key(Description="worker environment")["KeyMetadata"]["Arn"]
ec2 = client("ec2")
subnet = ec2.describe_subnets()["Subnets"][0]["SubnetId"]
group = ec2.describe_security_groups()["SecurityGroups"][0]["GroupId"]
buf = io.BytesIO()
with zipfile.ZipFile(buf, "w") as z:
    z.writestr("index.py", "def handler(event, context):\n    return 1\n")
lam = client("lambda")
function = lam.create_function(
    FunctionName="worker", Runtime="python3.12", Role=role, Handler="index.handler",
    Code={"ZipFile": buf.getvalue()},
    DeadLetterConfig={"TargetArn": dlq},
    TracingConfig={"Mode": "Active"},
    VpcConfig={"SubnetIds": [subnet], "SecurityGroupIds": [group]},
    KMSKeyArn=key,
)["FunctionArn"]
lam.create_event_source_mapping(EventSourceArn=queue, FunctionName="worker", BatchSize=10)
account = client("sts").get_caller_identity()["Account"]
# The account's trail logs S3 and DynamoDB data events (basic selectors).
client("s3").create_bucket(Bucket="trail-logs")
trail = client("cloudtrail")
trail.create_trail(Name="main", S3BucketName="trail-logs", IsMultiRegionTrail=True)
trail.put_event_selectors(TrailName="main", EventSelectors=[{
    "ReadWriteType": "All", "IncludeManagementEvents": True,
    "DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3"]},
                      {"Type": "AWS::DynamoDB::Table", "Values": ["arn:aws:dynamodb"]}],
}])

# The trail: the worker reads a secret by name and a parameter every day; one denied call.
now = datetime.datetime.now(datetime.timezone.utc)
for days in range(3):
    day = now - datetime.timedelta(days=days, hours=1)
    def record(source, name, params, error=None):
        r = {
            "eventVersion": "1.09",
            "userIdentity": {
                "type": "AssumedRole", "arn": f"arn:aws:sts::{account}:assumed-role/worker/worker",
                "accountId": account,
                "sessionContext": {"sessionIssuer": {"type": "Role", "arn": role, "accountId": account, "userName": "worker"}},
            },
            "eventTime": day.strftime("%Y-%m-%dT%H:%M:%SZ"), "eventSource": source, "eventName": name,
            "awsRegion": REGION, "requestParameters": params, "responseElements": None,
            "readOnly": True, "eventType": "AwsApiCall", "managementEvent": True,
            "recipientAccountId": account, "eventCategory": "Management",
        }
        if error:
            r["errorCode"] = error
        return r
    records = [
        record("secretsmanager.amazonaws.com", "GetSecretValue", {"secretId": "prod/db"}),
        record("ssm.amazonaws.com", "GetParameter", {"name": "/worker/config"}),
        record("secretsmanager.amazonaws.com", "GetSecretValue", {"secretId": "prod/admin"}, "AccessDenied"),
    ]
    folder = os.path.join(TRAIL, "AWSLogs", account, "CloudTrail", REGION, day.strftime("%Y/%m/%d"))
    os.makedirs(folder, exist_ok=True)
    name = f"{account}_CloudTrail_{REGION}_{day.strftime('%Y%m%dT%H%MZ')}_seed{days}.json.gz"
    with gzip.open(os.path.join(folder, name), "wt") as f:
        json.dump({"Records": records}, f)

print(json.dumps({"account": account, "role": role, "function": function, "queue": queue, "dlq": dlq, "key": key}))
