#!/usr/bin/env python3
"""check_pack.py JL CSV JLZIP CSVZIP: check act_pack's outputs with Python's
own json, csv and zipfile modules.

- each zip holds exactly one entry, named like its file without ".zip"
  (x.jl -> x.jl.zip holding x.jl), and its bytes are the file's bytes;
  zipfile.testzip() finds no CRC error;
- every JL line is a JSON object;
- the CSV, read by csv.reader, has the header sorted(union of keys) and one
  row per item whose fields are what SPEC 4 says: strings as they are,
  null/missing empty, true/false and numbers as JSON, nested values as JSON
  that reads back equal.
Prints "ok" or what differs; exit 0 either way (the TAP test decides)."""
import csv
import io
import json
import os
import sys
import zipfile


def expect_field(v):
    if v is None:
        return ""
    if isinstance(v, str):
        return v
    if v is True:
        return "true"
    if v is False:
        return "false"
    return None  # numbers and nested values: compared as JSON


def check(jl, csvp, jlzip, csvzip):
    for path, zpath in ((jl, jlzip), (csvp, csvzip)):
        with zipfile.ZipFile(zpath) as z:
            names = z.namelist()
            want = os.path.basename(zpath)[:-4]
            if names != [want]:
                return "%s holds %r, not [%r]" % (zpath, names, want)
            if z.testzip() is not None:
                return "%s: bad CRC" % zpath
            with open(path, "rb") as f:
                if z.read(want) != f.read():
                    return "%s: entry differs from %s" % (zpath, path)
    items = []
    with open(jl, "rb") as f:
        for n, line in enumerate(f, 1):
            v = json.loads(line.decode("utf-8"))
            if not isinstance(v, dict):
                return "jl line %d is not an object" % n
            items.append(v)
    with open(csvp, "rb") as f:
        data = f.read().decode("utf-8")
    if not items:
        return "ok" if data == "" else "csv not empty without items"
    rows = list(csv.reader(io.StringIO(data, newline="")))
    header = sorted({k for it in items for k in it})
    if rows[0] != header:
        return "header %r != %r" % (rows[0], header)
    if len(rows) != len(items) + 1:
        return "%d rows for %d items" % (len(rows) - 1, len(items))
    for n, (it, row) in enumerate(zip(items, rows[1:]), 1):
        if len(row) != len(header):
            return "row %d has %d fields" % (n, len(row))
        for k, field in zip(header, row):
            v = it.get(k)
            e = expect_field(v)
            if e is not None:
                if field != e:
                    return "row %d %r: %r != %r" % (n, k, field, e)
            elif json.loads(field) != v:
                return "row %d %r: %r does not read back as %r" % (n, k, field, v)
    return "ok"


if __name__ == "__main__":
    print(check(*sys.argv[1:5]))
