#!/usr/bin/env python3
"""s3_boto.py - boto3 side of test_s3 (cross-checks against moto).

Uses the harness environment (AWS_ENDPOINT_URL, keys, region).  Commands:
  put BUCKET KEY FILE        upload FILE as KEY
  get BUCKET KEY FILE        download KEY into FILE
  head BUCKET KEY            print "SIZE ETAG" (ETag without quotes)
  uploads BUCKET             print the number of unfinished multipart uploads
  fetch URL FILE             plain HTTP GET (a presigned URL) into FILE
  presign-check URL BUCKET KEY
                             re-sign URL's request with botocore at the same
                             X-Amz-Date and print "match" if botocore makes
                             the same path and signature (else both URLs)
  auth on|off                moto only: enforce signatures again / stop
                             checking them (POST /moto-api/reset-auth)
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


def presign_check(url, bucket, key):
    from urllib.parse import parse_qs, quote, urlsplit
    import datetime
    import botocore.auth
    from botocore.auth import S3SigV4QueryAuth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    u = urlsplit(url)
    q = parse_qs(u.query)
    # botocore's own encoding of the key (percent_encode, safe '/~')
    path = "/" + bucket + "/" + quote(key, safe="/~")
    req = AWSRequest(method="GET", url=f"{u.scheme}://{u.netloc}{path}")
    when = datetime.datetime.strptime(q["X-Amz-Date"][0], "%Y%m%dT%H%M%SZ")
    botocore.auth.get_current_datetime = lambda *a, **k: when  # sign at our time
    creds = Credentials(os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"],
                        os.environ.get("AWS_SESSION_TOKEN"))
    S3SigV4QueryAuth(creds, "s3", os.environ.get("AWS_REGION", "us-east-1"),
                     expires=int(q["X-Amz-Expires"][0])).add_auth(req)
    theirs = urlsplit(req.url)
    tq = parse_qs(theirs.query)
    if theirs.path == u.path and tq["X-Amz-Signature"] == q["X-Amz-Signature"]:
        return "match"
    return "differ: ours " + url + " botocore " + req.url


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
    elif cmd == "presign-check":
        print(presign_check(argv[2], argv[3], argv[4]))
    elif cmd == "auth":
        count = b"0" if argv[2] == "on" else b"1000000000"
        req = urllib.request.Request(os.environ["AWS_ENDPOINT_URL"] + "/moto-api/reset-auth",
                                     data=count, method="POST",
                                     headers={"Content-Type": "text/plain"})
        urllib.request.urlopen(req, timeout=30).read()
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main(sys.argv)
