#!/usr/bin/env python3
"""Create an IAM user with an allow-all inline policy and an access key in a
fresh moto_server, and print "ACCESS_KEY SECRET_KEY" on stdout.

Used by with_moto.sh while moto still accepts unauthenticated requests
(INITIAL_NO_AUTH_ACTION_COUNT covers exactly these three actions)."""
import json
import sys

import boto3

endpoint = sys.argv[1]
iam = boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1",
                   aws_access_key_id="setup", aws_secret_access_key="setup")
iam.create_user(UserName="smd-test")
iam.put_user_policy(UserName="smd-test", PolicyName="all",
                    PolicyDocument=json.dumps({
                        "Version": "2012-10-17",
                        "Statement": [{"Effect": "Allow", "Action": "*",
                                       "Resource": "*"}]}))
key = iam.create_access_key(UserName="smd-test")["AccessKey"]
print(key["AccessKeyId"], key["SecretAccessKey"])
