#!/usr/bin/env python3
"""A fake EC2 instance metadata service (IMDSv2) on 127.0.0.1 for tests.

Prints the port it listens on as the first line of stdout, then serves:
  PUT /latest/api/token            needs X-aws-ec2-metadata-token-ttl-seconds
  GET /latest/meta-data/iam/security-credentials/          (token required)
  GET /latest/meta-data/iam/security-credentials/<role>    (token required)
Each credentials answer is fresh: AccessKeyId ASIAFAKE<n>, SecretAccessKey
fake-secret-<n>, Token fake-token-<n>, Expiration now + `expiry` seconds.

With FAKE_IMDS_ACCESS_KEY / FAKE_IMDS_SECRET_KEY in the environment those
fixed keys are served instead (no Token), so that a test can hand real
(moto) keys to the credentials chain through the metadata path.

Control (no token needed), for the test to steer and observe:
  GET /_ctl/set?expiry=S&revoke=1&creds_status=N&token_status=N&body=bad|expired|nocode
  GET /_ctl/stats  -> JSON counters {token, role, creds, unauthorized, ...}
  GET /_ctl/quit
"""
import datetime
import json
import os
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROLE = "smd-test-role"
STATE = {
    "expiry": 3600, "tokens": set(), "n_token": 0, "n_role": 0, "n_creds": 0,
    "n_unauth": 0, "n_ttl_missing": 0, "creds_status": 200, "token_status": 200,
    "body": "good", "seq": 0,
}
LOCK = threading.Lock()


def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def send(self, status, body, ctype="text/plain"):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def authorized(self):
        tok = self.headers.get("X-aws-ec2-metadata-token")
        with LOCK:
            if tok and tok in STATE["tokens"]:
                return True
            STATE["n_unauth"] += 1
        self.send(401, "")
        return False

    def do_PUT(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(n)
        if self.path != "/latest/api/token":
            return self.send(404, "")
        ttl = self.headers.get("X-aws-ec2-metadata-token-ttl-seconds")
        with LOCK:
            if not ttl or not ttl.isdigit():
                STATE["n_ttl_missing"] += 1
                return self.send(400, "")
            STATE["n_token"] += 1
            if STATE["token_status"] != 200:
                return self.send(STATE["token_status"], "")
            tok = "fake-imds-token-%d" % STATE["n_token"]
            STATE["tokens"].add(tok)
        self.send(200, tok)

    def do_GET(self):
        u = urllib.parse.urlparse(self.path)
        if u.path == "/_ctl/set":
            q = urllib.parse.parse_qs(u.query)
            with LOCK:
                if "expiry" in q:
                    STATE["expiry"] = int(q["expiry"][0])
                if "revoke" in q:
                    STATE["tokens"].clear()
                if "creds_status" in q:
                    STATE["creds_status"] = int(q["creds_status"][0])
                if "token_status" in q:
                    STATE["token_status"] = int(q["token_status"][0])
                if "body" in q:
                    STATE["body"] = q["body"][0]
            return self.send(200, "ok")
        if u.path == "/_ctl/stats":
            with LOCK:
                s = {"token": STATE["n_token"], "role": STATE["n_role"],
                     "creds": STATE["n_creds"], "unauthorized": STATE["n_unauth"],
                     "ttl_missing": STATE["n_ttl_missing"]}
            return self.send(200, json.dumps(s), "application/json")
        if u.path == "/_ctl/quit":
            self.send(200, "bye")
            threading.Thread(target=self.server.shutdown, daemon=True).start()
            return
        base = "/latest/meta-data/iam/security-credentials/"
        if u.path == base:
            if not self.authorized():
                return
            with LOCK:
                STATE["n_role"] += 1
            return self.send(200, ROLE + "\n")
        if u.path == base + ROLE:
            if not self.authorized():
                return
            with LOCK:
                STATE["n_creds"] += 1
                STATE["seq"] += 1
                n = STATE["seq"]
                status, kind, expiry = STATE["creds_status"], STATE["body"], STATE["expiry"]
            if status != 200:
                return self.send(status, "")
            now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
            doc = {
                "Code": "Success",
                "LastUpdated": iso(now),
                "Type": "AWS-HMAC",
                "AccessKeyId": "ASIAFAKE%d" % n,
                "SecretAccessKey": "fake-secret-%d" % n,
                "Token": "fake-token-%d" % n,
                "Expiration": iso(now + datetime.timedelta(seconds=expiry)),
            }
            fixed_ak = os.environ.get("FAKE_IMDS_ACCESS_KEY")
            if fixed_ak:
                doc["AccessKeyId"] = fixed_ak
                doc["SecretAccessKey"] = os.environ.get("FAKE_IMDS_SECRET_KEY", "")
                del doc["Token"]
            if kind == "bad":
                return self.send(200, '{"AccessKeyId": "fake-secret-leak', "application/json")
            if kind == "expired":
                doc["Expiration"] = iso(now - datetime.timedelta(seconds=60))
            if kind == "nocode":
                doc["Code"] = "AssumeRoleUnauthorizedAccess"
            return self.send(200, json.dumps(doc), "application/json")
        self.send(404, "")


def main():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
    srv.daemon_threads = True
    print(srv.server_address[1], flush=True)
    sys.stdout.close()
    srv.serve_forever()


if __name__ == "__main__":
    main()
