"""S3 helpers for the end-to-end tests, through boto3 against a moto server.

Usage: python s3.py ENDPOINT create BUCKET
       python s3.py ENDPOINT download BUCKET PREFIX DIR   (prints the keys as JSON)
       python s3.py ENDPOINT uploads BUCKET   (prints the keys of unfinished multipart uploads)
       python s3.py ENDPOINT put BUCKET KEY TEXT
       python s3.py ENDPOINT exists BUCKET KEY   (prints true or false)
       python s3.py ENDPOINT upload BUCKET PREFIX DIR   (every file of DIR under PREFIX/)
"""

import json
import os
import sys

import boto3

endpoint, command = sys.argv[1], sys.argv[2]
s3 = boto3.client(
    "s3",
    endpoint_url=endpoint,
    region_name="us-east-1",
    aws_access_key_id="testing",
    aws_secret_access_key="testing",
)
if command == "create":
    s3.create_bucket(Bucket=sys.argv[3])
elif command == "download":
    bucket, prefix, target = sys.argv[3], sys.argv[4], sys.argv[5]
    keys = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix + "/"):
        for obj in page.get("Contents", []):
            key = obj["Key"]
            keys.append(key)
            path = os.path.join(target, key[len(prefix) + 1 :])
            os.makedirs(os.path.dirname(path), exist_ok=True)
            s3.download_file(bucket, key, path)
    print(json.dumps(sorted(keys)))
elif command == "uploads":
    uploads = s3.list_multipart_uploads(Bucket=sys.argv[3]).get("Uploads", [])
    print(json.dumps(sorted(u["Key"] for u in uploads)))
elif command == "put":
    s3.put_object(Bucket=sys.argv[3], Key=sys.argv[4], Body=sys.argv[5].encode())
    print("{}")
elif command == "upload":
    bucket, prefix, source = sys.argv[3], sys.argv[4], sys.argv[5]
    for root, _, names in os.walk(source):
        for name in names:
            path = os.path.join(root, name)
            s3.upload_file(path, bucket, prefix + "/" + os.path.relpath(path, source))
    print("{}")
elif command == "exists":
    found = s3.list_objects_v2(Bucket=sys.argv[3], Prefix=sys.argv[4]).get("KeyCount", 0) > 0
    print(json.dumps(found))
else:
    sys.exit(f"unknown command {command}")
