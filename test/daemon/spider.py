#!/usr/bin/env python3
"""A stand-in for `scrapy crawl` with scrapy's arguments, for smd's tests:
  spider.py crawl <site>_products -a key=value... -s LOG_FILE=path -o path.jl
Behaviour from -a arguments: items=N (default 3), delay=SECONDS between
items (default 0), mode=ok|fail|hang|garbage|crash.  Sites named
`nosuch*` have no spider (exit 1 as scrapy does)."""
import json, os, signal, sys, time

def main():
    a = sys.argv[1:]
    if len(a) < 2 or a[0] != "crawl":
        print("usage: spider.py crawl NAME ...", file=sys.stderr)
        return 2
    name = a[1]
    args, settings, out = {}, {}, None
    i = 2
    while i < len(a):
        if a[i] == "-a":
            k, _, v = a[i + 1].partition("=")
            args[k] = v
            i += 2
        elif a[i] == "-s":
            k, _, v = a[i + 1].partition("=")
            settings[k] = v
            i += 2
        elif a[i] == "-o":
            out = a[i + 1]
            i += 2
        else:
            print("unknown argument %r" % a[i], file=sys.stderr)
            return 2
    runs = open("spider-runs.log", "a")  # in spiders_dir: what ran when
    runs.write("start %d %.3f %s\n" % (os.getpid(), time.time(), name))
    runs.flush()
    log = open(settings["LOG_FILE"], "a")
    log.write("spider %s starting, pid %d, cwd %s, args %s\n" % (name, os.getpid(), os.getcwd(), json.dumps(args, sort_keys=True)))
    log.flush()
    if name.startswith("nosuch"):
        log.write("KeyError: Spider not found: %s\n" % name)
        return 1
    mode = args.get("mode", "ok")
    n = int(args.get("items", "3"))
    delay = float(args.get("delay", "0"))
    bsr = args.get("search_sort") == "best_sellers"
    with open(out, "a") as f:
        for k in range(n):
            if mode == "garbage" and k == 1:
                f.write("this is not json\n")
                f.write("[1, 2]\n")
            item = {"url": "http://example.com/p/%d" % (n - 1 - k if bsr else k),
                    "title": "item %d, \"quoted\"" % k, "price": k * 1.5,
                    "nested": {"a": [k]}}
            if bsr:
                item["ranking"] = k + 1
            if "searchterms_str" in args:
                item["search_term"] = args["searchterms_str"]
            f.write(json.dumps(item) + "\n")
            f.flush()
            log.write("scraped item %d\n" % k)
            log.flush()
            if delay:
                time.sleep(delay)
    if mode == "hang":
        while True:
            time.sleep(1)
    if mode == "crash":
        os.kill(os.getpid(), signal.SIGSEGV)
    if mode == "fail":
        log.write("spider failed on purpose\n")
        runs.write("end %d %.3f\n" % (os.getpid(), time.time()))
        return 3
    log.write("spider finished\n")
    runs.write("end %d %.3f\n" % (os.getpid(), time.time()))
    return 0

if __name__ == "__main__":
    sys.exit(main())
