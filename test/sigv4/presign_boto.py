#!/usr/bin/env python3
"""Print botocore's presigned GET URL for the inputs in the environment
(PB_ENDPOINT, PB_KEY, PB_TOKEN, PB_EXPIRES), bucket "examplebucket", the
AWS documentation's example key pair, region us-east-1, and botocore's
clock frozen at 2013-05-24T00:00:00Z.  Makes no network request."""
import datetime
import os

os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
for v in ("AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
    os.environ.pop(v, None)
os.environ["AWS_CONFIG_FILE"] = "/dev/null"
os.environ["AWS_SHARED_CREDENTIALS_FILE"] = "/dev/null"

import boto3  # noqa: E402
import botocore.auth  # noqa: E402
from botocore.config import Config  # noqa: E402

FROZEN = datetime.datetime(2013, 5, 24, 0, 0, 0)
botocore.auth.get_current_datetime = lambda *a, **k: FROZEN

endpoint = os.environ["PB_ENDPOINT"]
path_style = "amazonaws.com" not in endpoint
cfg = Config(signature_version="s3v4",
             s3={"addressing_style": "path" if path_style else "virtual"})
client = boto3.client(
    "s3", region_name="us-east-1", endpoint_url=endpoint, config=cfg,
    aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
    aws_secret_access_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    aws_session_token=os.environ.get("PB_TOKEN") or None)
print(client.generate_presigned_url(
    "get_object", Params={"Bucket": "examplebucket", "Key": os.environ["PB_KEY"]},
    ExpiresIn=int(os.environ["PB_EXPIRES"])))
