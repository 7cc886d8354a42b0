#!/usr/bin/env python3
"""faultd.py - a scripted, fault-injecting HTTP server for transport tests.

Listens on a free 127.0.0.1 port (HTTPS with "--tls CERT KEY") and prints "PORT <n>" on stdout (then
flushes), so a test that spawned it knows where to connect.  Serves until
stdin reaches EOF (the test exits) or SIGTERM.

Control (paths under /__ are never counted nor scripted):
  POST /__script   body: {"steps": [STEP...], "default": STEP}
                   replaces the script and clears the count and the log
  GET  /__count    number of scripted (non-control) requests served
  GET  /__log      JSON list of {"method","path","headers","body","body_len",
                   "body_sha256","time","peer"}; "body" holds at most the first
                   64 KiB
                   of them (peer: the client's port, to see connection reuse)

Each ordinary request takes the next STEP (the "default" step once the list
is used up; {"status": 200, "body": "{}"} unless given).  A STEP is a JSON
object with:
  "status": int             HTTP status (200)
  "body": str               body text ("")
  "headers": {name: value}  extra headers
  "delay": float            seconds to sleep before answering
  "date_skew": int          seconds added to the Date header (0)
  "action": "respond" | "reset" | "close" | "hang" | "trickle" | "stall"
            reset: close with a TCP RST, no answer; close: close without an
            answer; hang: sleep "delay" (default 60 s) then close;
            trickle: answer "status" with a body of "size" bytes (65536)
            of 'x', written "chunk" bytes (1024) every "interval" seconds
            (0.1): slow but moving;
            stall: as trickle, but after "stall_after" bytes (one chunk)
            write nothing more for "delay" seconds (60), then close
  "big": int                append this many bytes of 'x' to the body
Shorthands: {"preset": "500"|"503"|"slowdown"|"throttle"|"skew"|"retry_after"}.
"""
import hashlib
import json
import socket
import struct
import sys
import threading
import time
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOG_BODY_MAX = 64 * 1024

PRESETS = {
    "500": {"status": 500, "body": '{"__type":"InternalError","message":"scripted 500"}'},
    "503": {"status": 503, "body": "", "headers": {"Content-Type": "text/plain"}},
    "slowdown": {"status": 503, "headers": {"Content-Type": "application/xml"},
                 "body": "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>SlowDown"
                         "</Code><Message>Please reduce your request rate.</Message>"
                         "</Error>"},
    "throttle": {"status": 400, "headers": {
        "x-amzn-query-error": "AWS.SimpleQueueService.RequestThrottled;Sender"},
        "body": '{"__type":"com.amazonaws.sqs#ThrottlingException",'
                '"message":"Rate exceeded"}'},
    "skew": {"status": 403, "date_skew": 3600,
             "body": '{"__type":"com.amazon.coral.service#InvalidSignatureException",'
                     '"message":"Signature expired: the request time is too skewed"}'},
    "retry_after": {"status": 503, "headers": {"x-amz-retry-after": "300"},
                    "body": '{"__type":"ServiceUnavailable","message":"busy"}'},
}


class State:
    def __init__(self):
        self.lock = threading.Lock()
        self.steps = []
        self.default = {"status": 200, "body": "{}"}
        self.count = 0
        self.log = []

    def next_step(self):
        with self.lock:
            self.count += 1
            step = self.steps.pop(0) if self.steps else self.default
        if "preset" in step:
            merged = dict(PRESETS[step["preset"]])
            merged.update({k: v for k, v in step.items() if k != "preset"})
            step = merged
        return step


STATE = State()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def _read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def _send(self, status, body, headers=None, date_skew=0):
        data = body.encode("utf-8") if isinstance(body, str) else body
        self.send_response_only(status)
        self.send_header("Date", formatdate(time.time() + date_skew, usegmt=True))
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-amzn-RequestId", "faultd-%d" % STATE.count)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        self.wfile.flush()

    def _trickle(self, step, stall):
        total = int(step.get("size", 65536))
        chunk = max(1, int(step.get("chunk", 1024)))
        interval = float(step.get("interval", 0.1))
        stall_after = int(step.get("stall_after", chunk))
        self.send_response_only(step.get("status", 200))
        self.send_header("Date", formatdate(time.time(), usegmt=True))
        self.send_header("Content-Length", str(total))
        for k, v in (step.get("headers") or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.flush()
        sent = 0
        try:
            while sent < total:
                if stall and sent >= stall_after:
                    time.sleep(step.get("delay", 60))
                    break
                n = min(chunk, total - sent)
                self.wfile.write(b"x" * n)
                self.wfile.flush()
                sent += n
                time.sleep(interval)
        except OSError:
            pass  # the client gave up
        self.close_connection = True

    def _control(self, body):
        if self.path == "/__script" and self.command == "POST":
            spec = json.loads(body or b"{}")
            with STATE.lock:
                STATE.steps = list(spec.get("steps", []))
                STATE.default = spec.get("default", {"status": 200, "body": "{}"})
                STATE.count = 0
                STATE.log = []
            self._send(200, "{}")
        elif self.path == "/__count":
            self._send(200, str(STATE.count))
        elif self.path == "/__log":
            with STATE.lock:
                self._send(200, json.dumps(STATE.log))
        else:
            self._send(404, "no such control path")

    def _handle(self):
        body = self._read_body()
        if self.path.startswith("/__"):
            return self._control(body)
        step = STATE.next_step()
        with STATE.lock:
            STATE.log.append({"method": self.command, "path": self.path,
                              "headers": dict(self.headers.items()),
                              # big bodies (multipart parts) are logged by
                              # length and digest, not byte for byte
                              "body": body[:LOG_BODY_MAX].decode("utf-8", "replace"),
                              "body_len": len(body),
                              "body_sha256": hashlib.sha256(body).hexdigest(),
                              "time": time.time(),
                              "peer": self.client_address[1]})
        action = step.get("action", "respond")
        if action == "reset":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
            return
        if action == "close":
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if action == "hang":
            time.sleep(step.get("delay", 60))
            self.close_connection = True
            return
        if action in ("trickle", "stall"):
            return self._trickle(step, action == "stall")
        if step.get("delay"):
            time.sleep(step["delay"])
        out = step.get("body", "")
        if step.get("big"):
            out = out + "x" * int(step["big"])
        self._send(step.get("status", 200), out, step.get("headers"),
                   step.get("date_skew", 0))

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _handle


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # many clients connect at once

    def handle_error(self, request, client_address):
        pass  # resets and broken pipes are what we script


def main():
    server = Server(("127.0.0.1", 0), Handler)
    if len(sys.argv) == 4 and sys.argv[1] == "--tls":
        import ssl
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(sys.argv[2], sys.argv[3])
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
    server.daemon_threads = True
    print("PORT %d" % server.server_address[1], flush=True)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    try:
        # run until our parent closes our stdin (it exited or is done)
        while sys.stdin.read(1) != "":
            pass
    except KeyboardInterrupt:
        pass
    server.shutdown()


if __name__ == "__main__":
    main()
