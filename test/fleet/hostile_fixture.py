#!/usr/bin/env python3
"""hostile_fixture.py - a bucket of broken and hostile fleet objects (task
records, spider logs, heartbeats, start markers; docs/fleet-formats.md) for
test_fleet_hostile.sh: every reader must answer over it with a clear error
per object, bounded memory and time, and nothing raw on a terminal.

  hostile_fixture.py put local OBJECTS_DIR BUCKET DAY [HEARTBEATS]
  hostile_fixture.py put s3 - BUCKET DAY [HEARTBEATS]     boto3 (AWS_ENDPOINT_URL)
  hostile_fixture.py zip KIND OUT                          one hostile zip (KIND below)
  hostile_fixture.py count DAY                             the task records put

DAY is YYYY-MM-DD (UTC).  HEARTBEATS (default 10000) is the number of
well-formed heartbeats added under smd/instances/ besides the hostile ones.
The records are tasks of server "hs" (keys named like smd's); every record
key has a .log.zip beside it, so that `smctl failed` reads each record too.

Zips (task ids 910-920):
  910 a member of 1 GiB of zeros (deflate, ~1 MiB zipped), sizes honest
  911 the same, the headers saying 100 bytes
  912 a small member, the headers saying 3 GiB
  913 two members (each a good record)
  914 a member named ../../../../tmp/hostile-escape.state.json (a good record)
  915 a member named /tmp/hostile-abs.state.json (a good record)
  916 an encrypted member (flag bit 0)
  917 a good record zip cut at 60%
  918 a good record with zip64 extra fields (read as any other)
  919 zip64 sizes of 2^64-16 over a small member
  920 a member of an unknown compression method (99)
JSON (task ids 930-949; each a deflated zip of one member):
  930 100,000 '['            931 a record whose run.history nests 100,000 deep
  932 NaN                    933 Infinity               934 received_ms 1e999
  935 a task_id of 40 digits 936 every time INT64_MAX  937 a negative duration
  938 times far in the past (1 ms) and far in the future (year 9999)
  939 strings holding \\u0000  940 invalid UTF-8 bytes in a string
  941 control characters and terminal escapes in every string (and its spider
      log: a 1 GiB zip bomb)
  942 a reason of 10 MB (over the 4 MiB limit, zipped to kilobytes)
  943 duplicate keys         944 a reason of 3 MB (read)
  945 wrong types: one record per field and type (keys ...____wt<F>_<T>____...)
  946 a good record, its data (.jl.zip) a member of 256 MiB of zeros
Heartbeats (smd/instances/): HEARTBEATS good ones (alive), and hostile ones:
  100,000 tasks (over 1 MiB); 100,000 tasks that fit; last_seen_ms in the far
  future (INT64_MAX and 9999-12-31); interval_ms INT64_MAX; wrong types; escapes
  in every string; duplicate keys; deep nesting; not UTF-8.
"""
import datetime
import io
import json
import os
import struct
import sys
import time
import zipfile
import zlib

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "smctl"))
from fleet_fixture import put_local, zip_one  # noqa: E402

INST = "hostile0instance000000000001"
assert len(INST) == 28
I64 = 2**63 - 1
ESC = "\x1b]0;pwned\x07\x1b[2J\x1b[31mred\x9b1m\r\x08\x7f"


def day_ms(day, hh, mm):
    d = datetime.datetime.strptime(day, "%Y-%m-%d").replace(
        tzinfo=datetime.timezone.utc, hour=hh, minute=mm)
    return int(d.timestamp() * 1000)


def name_of(day, task_id, term="t", site="hsite"):
    y, m, d = day.split("-")
    return "%s-%s-%s____%s____hs--%d____%s____%s" % (d, m, y, INST, task_id, term, site)


def key_of(day, name, suffix=".state.json.zip"):
    return day.replace("-", "/") + "/" + name + suffix


def record(day, task_id, name, **over):
    received = day_ms(day, 5, 0)
    rec = {
        "format": "smd-task-record", "version": 1, "written_ms": received + 10,
        "smd_instance": INST, "smd_version": "0.1.0", "name": name, "task_id": task_id,
        "server_name": "hs", "site": "hsite", "state": "failed", "reason": "hostile",
        "received_ms": received, "finished_ms": received + 5, "duration_ms": 5,
        "cache": {"result": "miss", "hit": False, "source": None, "key": "ab" * 32},
        "keys": {"logs": key_of(day, name, ".log.zip")}, "receive_count": 1,
        "queue": "q",
        "run": {
            "instance_id": "task-%d" % task_id, "task_id": task_id, "server_name": "hs",
            "state": "failed", "final": True, "sub_states": [], "status": "done",
            "reason": "hostile", "engine_error": None, "message": "{}",
            "message_id": "m", "queue": "q", "receive_count": 1, "received_ms": received,
            "created_ms": received, "updated_ms": received + 5, "machine_name": "task",
            "machine": "f" * 64, "keys_state": "uploaded",
            "keys": {"logs": key_of(day, name, ".log.zip")},
            "cache": {"result": "miss", "hit": False},
            "history": [
                {"seq": 1, "time": received, "kind": "start", "from": [],
                 "to": ["life", "received"]},
                {"seq": 2, "time": received + 5, "kind": "event",
                 "event": {"name": "error.execution", "data": {"message": "hostile"}},
                 "from": ["life", "received"], "to": ["failed"], "errors": ["hostile"]},
            ],
            "instance": {"id": "task-%d" % task_id, "machine_name": "task",
                         "status": "done", "final": "failed"},
        },
    }
    rec.update(over)
    return rec


# ---- zips by hand: every header field can lie ---------------------------------

def _u16(v):
    return struct.pack("<H", v)


def _u32(v):
    return struct.pack("<I", v & 0xFFFFFFFF)


def raw_zip(members):
    """members: dicts with name (bytes), data (the stored bytes), method, crc,
    csize, usize (as declared), flags, extra (local and central)."""
    out = io.BytesIO()
    central = io.BytesIO()
    for m in members:
        off = out.tell()
        hdr = (_u32(0x04034b50) + _u16(45) + _u16(m.get("flags", 0)) + _u16(m["method"]) +
               _u16(0) + _u16(0x21) + _u32(m["crc"]) + _u32(m["csize"]) + _u32(m["usize"]) +
               _u16(len(m["name"])) + _u16(len(m.get("extra", b""))))
        out.write(hdr + m["name"] + m.get("extra", b""))
        out.write(m["data"])
        central.write(
            _u32(0x02014b50) + _u16(45) + _u16(45) + _u16(m.get("flags", 0)) +
            _u16(m["method"]) + _u16(0) + _u16(0x21) + _u32(m["crc"]) + _u32(m["csize"]) +
            _u32(m["usize"]) + _u16(len(m["name"])) + _u16(len(m.get("extra", b""))) +
            _u16(0) + _u16(0) + _u16(0) + _u32(0) + _u32(off) + m["name"] +
            m.get("extra", b""))
    cd = central.getvalue()
    cd_off = out.tell()
    out.write(cd)
    out.write(_u32(0x06054b50) + _u16(0) + _u16(0) + _u16(len(members)) +
              _u16(len(members)) + _u32(len(cd)) + _u32(cd_off) + _u16(0))
    return out.getvalue()


def deflated(data):
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush()


def member(name, data, **over):
    m = {"name": name.encode() if isinstance(name, str) else name, "method": 8,
         "data": deflated(data), "crc": zlib.crc32(data), "usize": len(data)}
    m["csize"] = len(m["data"])
    m.update(over)
    return m


_BOMB = {}


def zeros_bomb(size):
    """`size` zero bytes deflated, and their CRC (computed in pieces)."""
    if size not in _BOMB:
        c = zlib.compressobj(9, zlib.DEFLATED, -15)
        chunk = bytes(1 << 20)
        parts, crc, left = [], 0, size
        while left:
            n = min(left, len(chunk))
            parts.append(c.compress(chunk[:n]))
            crc = zlib.crc32(chunk[:n], crc)
            left -= n
        parts.append(c.flush())
        _BOMB[size] = (b"".join(parts), crc)
    return _BOMB[size]


def bomb_zip(name, size=1 << 30, declared=None):
    data, crc = zeros_bomb(size)
    d = size if declared is None else declared
    if d >= 1 << 32:  # zip64: sizes in the extra field
        extra = _u16(1) + _u16(16) + struct.pack("<QQ", d, len(data))
        return raw_zip([{"name": name.encode(), "method": 8, "data": data, "crc": crc,
                         "csize": 0xFFFFFFFF, "usize": 0xFFFFFFFF, "extra": extra}])
    return raw_zip([{"name": name.encode(), "method": 8, "data": data, "crc": crc,
                     "csize": len(data), "usize": d}])


def hostile_zip(kind, name, good):
    """The hostile zip `kind` (910-920) of a record named `name`."""
    mname = name + ".state.json"
    if kind == 910:
        return bomb_zip(mname)
    if kind == 911:
        return bomb_zip(mname, declared=100)
    if kind == 912:
        return raw_zip([member(mname, good, usize=0xFFFFFFFF - 7, csize=len(deflated(good)))])
    if kind == 913:
        return raw_zip([member(mname, good), member("second.state.json", good)])
    if kind == 914:
        return raw_zip([member("../../../../tmp/hostile-escape.state.json", good)])
    if kind == 915:
        return raw_zip([member("/tmp/hostile-abs.state.json", good)])
    if kind == 916:
        # traditional PKWARE encryption: a 12-byte header, then ciphertext
        m = member(mname, good, flags=1)
        m["data"] = os.urandom(12) + m["data"]
        m["csize"] = len(m["data"])
        return raw_zip([m])
    if kind == 917:
        z = zip_one(mname, good)
        return z[:len(z) * 6 // 10]
    if kind == 918:
        b = io.BytesIO()
        with zipfile.ZipFile(b, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as z:
            with z.open(mname, "w", force_zip64=True) as f:
                f.write(good)
        return b.getvalue()
    if kind == 919:
        d = deflated(good)
        extra = _u16(1) + _u16(16) + struct.pack("<QQ", 2**64 - 16, len(d))
        return raw_zip([{"name": mname.encode(), "method": 8, "data": d,
                         "crc": zlib.crc32(good), "csize": 0xFFFFFFFF, "usize": 0xFFFFFFFF,
                         "extra": extra}])
    if kind == 920:
        return raw_zip([member(mname, good, method=99)])
    raise ValueError(kind)


# ---- hostile JSON ----------------------------------------------------------------

# the fields a reader uses (stats, failed, inspect --remote, serve), each given
# every wrong type
FIELDS = ["format", "version", "task_id", "server_name", "site", "state", "reason",
          "received_ms", "finished_ms", "duration_ms", "written_ms", "cache", "keys", "run",
          "name", "smd_instance", "cache.result", "cache.hit", "run.history",
          "run.history.0", "run.history.1.event", "run.history.1.event.name",
          "run.history.1.event.data", "run.history.1.from", "run.history.1.to",
          "run.history.1.errors", "run.history.1.time", "run.history.1.seq", "run.keys",
          "run.keys.logs", "run.message", "run.cache", "run.state", "run.machine",
          "run.instance", "run.instance.machine_path", "run.received_ms", "run.updated_ms",
          "run.sub_states", "run.final", "run.reason", "run.task_id", "run.server_name",
          "keys.logs"]
WRONG = [None, True, 1.5, -1, I64, "x", [], {}, [1, "a", None], {"k": [1]}]


def set_path(obj, path, value):
    parts = path.split(".")
    for p in parts[:-1]:
        obj = obj[int(p)] if isinstance(obj, list) else obj[p]
    last = parts[-1]
    if isinstance(obj, list):
        obj[int(last)] = value
    else:
        obj[last] = value


def hostile_json(day):
    """{task_id: [(name, member bytes)]} of the JSON cases."""
    out = {}

    def add(tid, body, term="t"):
        name = name_of(day, tid, term)
        if callable(body):
            body = body(name)
        if isinstance(body, dict):
            body = json.dumps(body)
        if isinstance(body, str):
            body = body.encode("utf-8", "surrogatepass")
        out.setdefault(tid, []).append((name, body))

    add(930, b"[" * 100000)
    add(931, lambda n: json.dumps(record(day, 931, n))[:-1] +
        ', "deep": ' + "[" * 100000 + "]" * 100000 + "}")
    add(932, lambda n: json.dumps(record(day, 932, n)).replace('"duration_ms": 5',
                                                                '"duration_ms": NaN'))
    add(933, lambda n: json.dumps(record(day, 933, n)).replace('"duration_ms": 5',
                                                                '"duration_ms": Infinity'))
    add(934, lambda n: json.dumps(record(day, 934, n)).replace(
        '"duration_ms": 5', '"duration_ms": 1e999'))
    add(935, lambda n: json.dumps(record(day, 935, n)).replace(
        '"task_id": 935', '"task_id": 9350000000000000000000000000000000000000', 1))
    add(936, lambda n: record(day, 936, n, received_ms=I64, finished_ms=I64, written_ms=I64,
                              duration_ms=I64, run=dict(record(day, 936, n)["run"],
                                                        received_ms=I64, updated_ms=I64)))
    add(937, lambda n: record(day, 937, n, duration_ms=-5, finished_ms=1))
    add(938, lambda n: record(day, 938, n, received_ms=1, finished_ms=253402300799999,
                              duration_ms=253402300799998, written_ms=253402300799999))

    def nul(n):
        r = record(day, 939, n, reason="before\u0000after", site="s\u0000x",
                   server_name="hs\u0000evil")
        r["run"]["history"][1]["event"]["name"] = "error.\u0000x"
        r["keys"] = {"logs\u0000": "k\u0000ey"}
        return r
    add(939, nul)
    add(940, lambda n: json.dumps(record(day, 940, n)).encode().replace(
        b'"reason": "hostile"', b'"reason": "bad \xff\xfe utf-8 \xc0\xaf"', 1))

    def esc(n):
        r = record(day, 941, n, reason="reason " + ESC, site="site" + ESC,
                   server_name="hs" + ESC, state="failed")
        run = r["run"]
        for k in ("status", "reason", "message", "queue", "machine_name", "instance_id"):
            run[k] = k + ESC
        run["history"][1]["event"]["name"] = "error." + ESC
        run["history"][1]["event"]["data"]["message"] = "<script>alert(1)</script>" + ESC
        run["history"][1]["from"] = ["<b>" + ESC]
        run["history"][1]["errors"] = ["err" + ESC]
        run["keys"]["evil" + ESC] = "<img src=x onerror=alert(1)>" + ESC
        return r
    add(941, esc)
    add(942, lambda n: record(day, 942, n, reason="A" * (10 << 20)))
    add(943, lambda n: json.dumps(record(day, 943, n))[:-1] + ', "state": "reported"}')
    add(944, lambda n: record(day, 944, n, reason="B" * (3 << 20)))
    for fi, field in enumerate(FIELDS):
        for ti, value in enumerate(WRONG):
            def wrong(n, field=field, value=value):
                r = record(day, 945, n)
                set_path(r, field, value)
                return r
            add(945, wrong, term="wt%d_%d" % (fi, ti))
    return out


# ---- heartbeats --------------------------------------------------------------------

def heartbeat(inst, last, **over):
    hb = {"format": "smd-heartbeat", "version": 1, "instance": inst, "hostname": "h-%s" % inst,
          "pid": 42, "smd_version": "0.1.0", "started_ms": last - 60000,
          "last_seen_ms": last, "interval_ms": 60000, "backend": "local", "queues": ["q"],
          "config_digest": "cd" * 32, "stopping": False, "tasks": []}
    hb.update(over)
    return hb


def heartbeats(now, good):
    objs = {}
    for i in range(good):
        inst = "i-%017x-20260101" % i
        objs["smd/instances/%s.json" % inst] = json.dumps(heartbeat(inst, now - 1000)).encode()

    def put(name, body):
        if isinstance(body, dict):
            body = json.dumps(body)
        if isinstance(body, str):
            body = body.encode()
        objs["smd/instances/%s.json" % name] = body

    task = {"instance_id": "task-1", "task_id": 1, "server_name": "s", "site": "w",
            "state": "spawned", "since_ms": now - 500, "name": "n"}
    put("hostile-tasks-big", heartbeat("hostile-tasks-big", now, tasks=[task] * 100000))
    put("hostile-tasks-many", heartbeat("hostile-tasks-many", now, tasks=[0] * 100000))
    put("hostile-future", heartbeat("hostile-future", I64))
    put("hostile-year-9999", heartbeat("hostile-year-9999", 253402300799999))
    put("hostile-interval", heartbeat("hostile-interval", now, interval_ms=I64))
    put("hostile-negative", heartbeat("hostile-negative", -5, interval_ms=-1,
                                      started_ms=-I64 - 1))
    put("hostile-types", {"format": "smd-heartbeat", "version": 1, "instance": "hostile-types",
                          "hostname": {"a": 1}, "pid": "42", "smd_version": [1],
                          "started_ms": "x", "last_seen_ms": now, "interval_ms": 60000,
                          "backend": 7, "queues": {"q": 1}, "config_digest": None,
                          "stopping": "yes", "tasks": "none"})
    put("hostile-task-types", heartbeat("hostile-task-types", now, tasks=[
        {"task_id": "x", "server_name": 5, "site": [], "state": {}, "since_ms": "y"},
        None, [], "task", 1.5]))
    put("hostile-instance-int", heartbeat(12345, now))
    put("hostile-escapes", heartbeat("hostile-esc" + ESC, now, hostname="host" + ESC,
                                     smd_version="v" + ESC, backend="b" + ESC,
                                     queues=["q" + ESC, "<script>x</script>"],
                                     tasks=[dict(task, server_name="s" + ESC,
                                                 site="<b>" + ESC, state="st" + ESC)]))
    put("hostile-dup", json.dumps(heartbeat("hostile-dup", now))[:-1] +
        ', "instance": "hostile-dup-2"}')
    put("hostile-deep", "[" * 100000)
    put("hostile-utf8", json.dumps(heartbeat("hostile-utf8", now)).encode().replace(
        b'"hostname": "h-hostile-utf8"', b'"hostname": "\xff\xfe"'))
    put("hostile-nan", json.dumps(heartbeat("hostile-nan", now)).replace(
        '"interval_ms": 60000', '"interval_ms": NaN'))
    put("hostile-huge-int", json.dumps(heartbeat("hostile-huge-int", now)).replace(
        '"pid": 42', '"pid": 1' + "0" * 40))
    return objs


def fixture(day, good_heartbeats):
    objs = {}
    log = zip_one("main.log", "a log line\n")
    for kind in range(910, 921):
        name = name_of(day, kind)
        good = json.dumps(record(day, kind, name)).encode()
        objs[key_of(day, name)] = hostile_zip(kind, name, good)
        objs[key_of(day, name, ".log.zip")] = log
    for tid, items in hostile_json(day).items():
        for name, body in items:
            objs[key_of(day, name)] = zip_one(name + ".state.json", body)
            objs[key_of(day, name, ".log.zip")] = log
    # the spider log of 941: a bomb
    objs[key_of(day, name_of(day, 941), ".log.zip")] = bomb_zip("main.log")
    # 946 reported: its data a member of 256 MiB (smctl results streams it)
    name = name_of(day, 946)
    objs[key_of(day, name)] = zip_one(name + ".state.json", json.dumps(
        record(day, 946, name, state="reported", reason=None)))
    objs[key_of(day, name, ".jl.zip")] = bomb_zip(name + ".jl", 256 << 20)
    now = int(time.time() * 1000)
    objs.update(heartbeats(now, good_heartbeats))
    objs["smd/started/%s/%s.json" % (day.replace("-", "/"), INST)] = json.dumps(
        heartbeat(INST, now)).encode()
    return objs


def main():
    if sys.argv[1] == "count":  # the task records fixture() puts
        print(12 + sum(len(v) for v in hostile_json(sys.argv[2]).values()))
        return
    if sys.argv[1] == "zip":
        kind, out = int(sys.argv[2]), sys.argv[3]
        name = name_of("2026-01-02", kind)
        good = json.dumps(record("2026-01-02", kind, name)).encode()
        with open(out, "wb") as f:
            f.write(hostile_zip(kind, name, good))
        return
    _, kind, where, bucket, day = sys.argv[1:6]
    good = int(sys.argv[6]) if len(sys.argv) > 6 else 10000
    objs = fixture(day, good)
    if kind == "local":
        put_local(objs, where, bucket)
        # keys the local backend can hold and S3 cannot list back as they are:
        # bytes that are not UTF-8, and a terminal escape, in a task key's name
        d = os.path.join(where, bucket, day.replace("-", "/")).encode()
        for raw in (name_of(day, 950, "t", "bad\xff").encode("latin-1"),
                    name_of(day, 951, "t", "esc" + ESC).encode("utf-8", "surrogatepass")):
            with open(os.path.join(d, raw + b".log.zip"), "wb") as f:
                f.write(zip_one("main.log", "a log line\n"))
    else:
        import boto3
        from concurrent.futures import ThreadPoolExecutor
        s3 = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
        s3.create_bucket(Bucket=bucket)
        with ThreadPoolExecutor(8) as ex:
            list(ex.map(lambda kv: s3.put_object(Bucket=bucket, Key=kv[0], Body=kv[1]),
                        objs.items()))
    print(len(objs))


if __name__ == "__main__":
    main()
