#!/usr/bin/env python3
"""fleet_fixture.py - a bucket of task records, heartbeats and start markers
in the formats of docs/fleet-formats.md, for the tests of `smctl stats`,
`smctl inspect --remote` and `smctl replay --remote`.

  fleet_fixture.py put local OBJECTS_DIR BUCKET DAY   files under OBJECTS_DIR/BUCKET/
  fleet_fixture.py put s3 - BUCKET DAY                 boto3 (AWS_ENDPOINT_URL)
  fleet_fixture.py record OUT.zip JSON                 one record zip from a JSON object

DAY is YYYY-MM-DD (UTC).  Two instances (A and B) ran on DAY:
  101 s1 walmart  A  reported, cache miss,     1000 ms, received 01:05
  102 s1 walmart  B  reported, cache hit,        50 ms, received 01:30
  103 s2 amazon   A  failed,   cache miss,     3000 ms, received 02:10
  104 s2 amazon   A  failed (2000 ms, 03:05), then B reported (4000 ms,
                     03:20), cache not looked up: one task, one retry
  105 s1 (null)   B  reported, lookup failed,   500 ms, received 23:59
and the day before: 106 s1 walmart C reported, hit, 10 ms; a message C could
not read (task_id and server_name null), failed.
Hostile records on DAY: not a zip, a member of 6 MiB (over the 4 MiB limit),
another format, version 2, no task_id, a duration_ms of the wrong type, a
member that is not JSON.  The spider log of 103 (30 lines, then one
with a terminal escape); no other .log.zip.  Heartbeats: A alive now (one task running), B
seen an hour ago (stale), one that is not JSON.  Start markers: A and B on
DAY, C the day before.
"""
import datetime
import io
import json
import os
import sys
import time
import zipfile

INST = {"A": "i-0aaaaaaaaaaaaaaaa-20260101", "B": "i-0bbbbbbbbbbbbbbbb-20260101",
        "C": "i-0cccccccccccccccc-20260101"}
assert all(len(v) == 28 for v in INST.values())


def day_ms(day, hh, mm):
    d = datetime.datetime.strptime(day, "%Y-%m-%d").replace(
        tzinfo=datetime.timezone.utc, hour=hh, minute=mm)
    return int(d.timestamp() * 1000)


def name_of(day, inst, server, task_id, term, site):
    y, m, d = day.split("-")
    return "%s-%s-%s____%s____%s--%d____%s____%s" % (d, m, y, INST[inst], server, task_id,
                                                     term, site or "")


def key_of(day, name, suffix=".state.json.zip"):
    return day.replace("-", "/") + "/" + name + suffix


def zip_one(member, data):
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(member, data)
    return b.getvalue()


# the machine version of the runs: FIXTURE_MACHINE (the sha256 of a task.scxml)
MACHINE = os.environ.get("FIXTURE_MACHINE", "f" * 64)


def record(day, inst, task_id, server, site, state, hit, result, dur, hh, mm, reason=None):
    name = name_of(day, inst, server, task_id, "water", site)
    received = day_ms(day, hh, mm)
    finished = received + dur
    body = json.dumps({"task_id": task_id, "server_name": server, "site": site or "walmart",
                       "searchterms_str": "water"})
    keys = {"logs": key_of(day, name, ".log.zip")}
    if state == "reported":
        keys["data"] = key_of(day, name, ".jl.zip")
    cache = {"result": result, "hit": hit, "source": "other-name" if hit else None,
             "key": "ab" * 32}
    run = {
        "instance_id": "task-%d" % task_id, "task_id": task_id, "server_name": server,
        "state": state, "final": True, "sub_states": [], "status": "done",
        "reason": reason, "engine_error": None, "message": body,
        "message_id": "m-%d" % task_id, "queue": "sqs_ranking_spiders_tasks",
        "receive_count": 1, "received_ms": received, "created_ms": received,
        "updated_ms": finished, "machine_name": "task", "machine": MACHINE,
        "keys_state": "uploaded", "keys": keys, "cache": cache,
        "history": [
            {"seq": 1, "time": received, "kind": "start", "from": [], "to": ["life", "received"]},
            {"seq": 2, "time": finished, "kind": "event", "event": {"name": "done.invoke.report"},
             "from": ["life", "reporting"], "to": [state]},
        ],
        "instance": {
            "id": "task-%d" % task_id, "machine_name": "task", "machine": MACHINE,
            "status": "done", "final": state, "created": received, "updated": finished,
            "task": {"body": body, "queue": "sqs_ranking_spiders_tasks",
                     "message_id": "m-%d" % task_id, "receive_count": 1,
                     "received_ms": received},
            "session": {"config": [state], "datamodel": {"reason": reason}},
        },
    }
    return name, {
        "format": "smd-task-record", "version": 1, "written_ms": finished + 5,
        "smd_instance": INST[inst], "smd_version": "0.1.0", "name": name, "task_id": task_id,
        "server_name": server, "site": site, "state": state, "reason": reason,
        "received_ms": received, "finished_ms": finished, "duration_ms": dur, "cache": cache,
        "keys": keys, "receive_count": 1, "queue": "sqs_ranking_spiders_tasks", "run": run,
        "future_field": {"ignored": True},
    }


def fixture(day):
    prev = (datetime.datetime.strptime(day, "%Y-%m-%d") -
            datetime.timedelta(days=1)).strftime("%Y-%m-%d")
    objs = {}

    def put_rec(d, *a, **kw):
        name, rec = record(d, *a, **kw)
        objs[key_of(d, name)] = zip_one(name + ".state.json", json.dumps(rec))
        return name, rec

    put_rec(day, "A", 101, "s1", "walmart", "reported", False, "miss", 1000, 1, 5)
    put_rec(day, "B", 102, "s1", "walmart", "reported", True, "hit", 50, 1, 30)
    put_rec(day, "A", 103, "s2", "amazon", "failed", False, "miss", 3000, 2, 10,
            reason="the spider exited with status 1")
    put_rec(day, "A", 104, "s2", "amazon", "failed", False, "skipped", 2000, 3, 5,
            reason="upload failed")
    put_rec(day, "B", 104, "s2", "amazon", "reported", False, "skipped", 4000, 3, 20)
    put_rec(day, "B", 105, "s1", None, "reported", False, "error", 500, 23, 59)
    put_rec(prev, "C", 106, "s1", "walmart", "reported", True, "hit", 10, 12, 0)
    # the spider log of 103 (the others' .log.zip are not there)
    objs[key_of(day, name_of(day, "A", "s2", 103, "water", "amazon"), ".log.zip")] = zip_one(
        "main.log", "".join("log line %d\n" % i for i in range(1, 31)) +
        "Traceback: \x1b[31mspider died\n")
    # a message smd could not read: task_id and server_name null, failed
    name, rec = record(prev, "C", 0, "s0", None, "failed", False, "pending", 5, 13, 0,
                       reason="bad message")
    rec.update(task_id=None, server_name=None, cache=None)
    objs[key_of(prev, name)] = zip_one(name + ".state.json", json.dumps(rec))
    # other outputs of a task: not records, not counted
    objs[key_of(day, name_of(day, "A", "s1", 101, "water", "walmart"), ".jl.zip")] = b"x"
    # hostile records
    base = key_of(day, name_of(day, "A", "s9", 900, "bad", "x"), "")

    def hostile(i, data):
        objs[base.replace("--900", "--%d" % (900 + i)) + ".state.json.zip"] = data

    _, good = record(day, "A", 907, "s9", "x", "reported", False, "miss", 1, 4, 0)
    hostile(1, b"this is not a zip archive")
    hostile(2, zip_one("big.state.json", b" " * (6 << 20)))
    hostile(3, zip_one("a.state.json", json.dumps(dict(good, format="something-else"))))
    hostile(4, zip_one("a.state.json", json.dumps(dict(good, version=2))))
    g = dict(good)
    del g["task_id"]
    hostile(5, zip_one("a.state.json", json.dumps(g)))
    hostile(6, zip_one("a.state.json", json.dumps(dict(good, duration_ms="fast"))))
    hostile(7, zip_one("a.state.json", b"{\"format\": \"smd-task-record\", "))
    # heartbeats and start markers
    now = int(time.time() * 1000)

    def hb(inst, last, tasks):
        return json.dumps({
            "format": "smd-heartbeat", "version": 1, "instance": INST[inst],
            "hostname": "host-" + inst, "pid": 42, "smd_version": "0.1.0",
            "started_ms": last - 3600000, "last_seen_ms": last, "interval_ms": 60000,
            "backend": "aws", "queues": ["sqs_ranking_spiders_tasks"],
            "config_digest": "cd" * 32, "stopping": False, "tasks": tasks}).encode()

    objs["smd/instances/%s.json" % INST["A"]] = hb("A", now - 5000, [
        {"task_id": 200, "server_name": "s1", "site": "walmart", "state": "spawned",
         "since_ms": now - 4000, "name": "n"}])
    objs["smd/instances/%s.json" % INST["B"]] = hb("B", now - 3600000, [])
    objs["smd/instances/broken.json"] = b"{not json"
    for d, i in ((day, "A"), (day, "B"), (prev, "C")):
        objs["smd/started/%s/%s.json" % (d.replace("-", "/"), INST[i])] = hb(i, now, [])
    return objs


def put_local(objs, where, bucket):
    """The objects {key: bytes} as files of the local backend's bucket."""
    for k, v in objs.items():
        p = os.path.join(where, bucket, k)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(v)


def main():
    if sys.argv[1] == "record":
        with open(sys.argv[2], "wb") as f:
            obj = json.loads(sys.argv[3])
            f.write(zip_one(obj.get("name", "r") + ".state.json", json.dumps(obj)))
        return
    _, kind, where, bucket, day = sys.argv[1:6]
    objs = fixture(day)
    if kind == "local":
        put_local(objs, where, bucket)
    else:
        import boto3
        s3 = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
        s3.create_bucket(Bucket=bucket)
        for k, v in objs.items():
            s3.put_object(Bucket=bucket, Key=k, Body=v)
        # the cross-check: boto3 lists what smctl will read
        n = 0
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            n += len(page.get("Contents", []))
        assert n == len(objs), (n, len(objs))
    print(len(objs))


if __name__ == "__main__":
    main()
