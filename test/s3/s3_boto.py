#!/usr/bin/env python3
"""s3_boto.py - boto3 side of test_s3 (cross-checks against moto).

Uses the harness environment (AWS_ENDPOINT_URL, keys, region).  Commands:
  put BUCKET KEY FILE        upload FILE as KEY
  get BUCKET KEY FILE        download KEY into FILE
  head BUCKET KEY            print "SIZE ETAG" (ETag without quotes)
  uploads BUCKET             print the number of unfinished multipart uploads
  fetch URL FILE             plain HTTP GET (a presigned URL) into FILE
Exit status 0 on success; errors on stderr.
"""
import os
import sys
import urllib.request

import boto3
from botocore.config import Config


def client():
    return boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"],
                        region_name=os.environ.get("AWS_REGION", "us-east-1"),
                        config=Config(s3={"addressing_style": "path"}))


def main(argv):
    cmd = argv[1]
    if cmd == "put":
        with open(argv[4], "rb") as f:
            client().put_object(Bucket=argv[2], Key=argv[3], Body=f.read())
    elif cmd == "get":
        body = client().get_object(Bucket=argv[2], Key=argv[3])["Body"].read()
        with open(argv[4], "wb") as f:
            f.write(body)
    elif cmd == "head":
        h = client().head_object(Bucket=argv[2], Key=argv[3])
        print(h["ContentLength"], h["ETag"].strip('"'))
    elif cmd == "uploads":
        r = client().list_multipart_uploads(Bucket=argv[2])
        print(len(r.get("Uploads", [])))
    elif cmd == "fetch":
        url = argv[2]
        if not url.startswith("http://127.0.0.1:"):
            sys.exit("refusing a non-loopback URL")
        with urllib.request.urlopen(url, timeout=30) as r, open(argv[3], "wb") as f:
            f.write(r.read())
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main(sys.argv)
