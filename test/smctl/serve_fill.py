#!/usr/bin/env python3
"""serve_fill.py local OBJECTS_DIR | aws BUCKET  MACHINE_FILE

Fill a bucket as smd instances leave it (docs/fleet-formats.md), for
test_serve.sh: two heartbeats (one alive, one gone), a start marker, a
reported task 4242 (outputs and its record, with a history through the
machine's states) and a failed task 4243 (a log, no data, a record whose
reason holds a <script>).  "local" writes files under OBJECTS_DIR (the
local backend's <state_dir>/objects/<bucket>); "aws" puts them with boto3
(AWS_ENDPOINT_URL from the environment).  Prints the instance ids."""
import hashlib
import io
import json
import os
import sys
import time
import zipfile

EVIL = "<script>document.title='pwned'</script>"
mode, where, machine = sys.argv[1], sys.argv[2], sys.argv[3]
now = int(time.time() * 1000)
day = time.gmtime(now / 1000)
midnight = int(time.mktime(day[:3] + (0, 0, 0, 0, 0, 0)) - time.timezone) * 1000
t0 = max(midnight + 1000, now - 60000)  # received today, whatever the hour
prefix = time.strftime("%Y/%m/%d/", day)
dmy = time.strftime("%d-%m-%Y", day)
alive = "a" * 24 + "live"
gone = "g" * 24 + "gone"
with open(machine, "rb") as f:
    machine_hash = hashlib.sha256(f.read()).hexdigest()

objects = {}


def zipped(name, body):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(name, body)
    return buf.getvalue()


def heartbeat(inst, last_seen, host):
    return {"format": "smd-heartbeat", "version": 1, "instance": inst, "hostname": host,
            "pid": 4321, "smd_version": "test", "started_ms": t0 - 5000,
            "last_seen_ms": last_seen, "interval_ms": 60000, "backend": mode,
            "queues": ["sqs_ranking_spiders_tasks"], "config_digest": "0" * 64,
            "stopping": False,
            "tasks": [{"task_id": 4244, "server_name": "uiserver", "site": "walmart",
                       "state": "crawling", "since_ms": t0, "name": "x"}]}


objects["smd/instances/%s.json" % alive] = json.dumps(heartbeat(alive, now, EVIL))
objects["smd/instances/%s.json" % gone] = json.dumps(heartbeat(gone, now - 3600000, "old"))
objects["smd/started/%s%s.json" % (prefix, alive)] = json.dumps(heartbeat(alive, t0, EVIL))

PATH = ["received", "cache_lookup", "spawned", "checkout", "starting", "announcing",
        "progressing", "crawling", "uploading", "packing", "storing", "caching",
        "reporting", "finishing", "deleting", "reported"]


def history(path):
    h = [{"seq": 0, "time": t0, "kind": "start", "from": [], "to": [path[0]]}]
    for i in range(1, len(path)):
        h.append({"seq": i, "time": t0 + i * 100, "kind": "event",
                  "event": {"name": "step.%d" % i, "data": None},
                  "from": [path[i - 1]], "to": [path[i]]})
    return h


def task(task_id, state, reason, outputs, path):
    name = "%s____%s____uiserver--%d____water____walmart" % (dmy, alive, task_id)
    keys = {}
    for kind, suffix in outputs:
        key = prefix + name + suffix
        objects[key] = zipped(name + suffix[:-4], "line\n")
        keys[kind] = key
    run = {"instance_id": "task-%d" % task_id, "task_id": task_id, "server_name": "uiserver",
           "state": state, "final": True, "status": state, "reason": reason,
           "message": {"task_id": task_id, "site": "walmart", "searchterms_str": EVIL},
           "queue": "sqs_ranking_spiders_tasks", "received_ms": t0, "machine_name": "task",
           "machine": machine_hash, "keys": keys, "history": history(path),
           "instance": {"machine_path": "/nonexistent/task.scxml"}}
    rec = {"format": "smd-task-record", "version": 1, "written_ms": t0 + 5000,
           "smd_instance": alive, "smd_version": "test", "name": name, "task_id": task_id,
           "server_name": "uiserver", "site": "walmart", "state": state, "reason": reason,
           "received_ms": t0, "finished_ms": t0 + 4000, "duration_ms": 4000,
           "cache": {"result": "miss", "hit": False, "source": None, "key": "00"},
           "keys": keys, "receive_count": 1, "queue": "sqs_ranking_spiders_tasks", "run": run}
    objects[prefix + name + ".state.json.zip"] = zipped(name + ".state.json", json.dumps(rec))


task(4242, "reported", None, [("data", ".jl.zip"), ("csv", ".csv.zip"), ("logs", ".log.zip"),
                               ("progress", ".progress.zip")], PATH)
task(4243, "failed", EVIL, [("logs", ".log.zip")],
     ["received", "cache_lookup", "spawned", "checkout", "starting", "failing", "failed"])

if mode == "local":
    for key, body in objects.items():
        path = os.path.join(where, key)
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        with open(path, "wb") as f:
            f.write(body.encode() if isinstance(body, str) else body)
            os.fchmod(f.fileno(), 0o600)
else:
    import boto3
    s3 = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
    try:
        s3.create_bucket(Bucket=where)
    except s3.exceptions.BucketAlreadyOwnedByYou:
        pass
    for key, body in objects.items():
        s3.put_object(Bucket=where, Key=key, Body=body)
print(alive, gone)
