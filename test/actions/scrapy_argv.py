#!/usr/bin/env python3
"""Parse argv[1:] the way scrapy 2.x parses `scrapy crawl ...` and print what
it understood as JSON, every string as the hex of its bytes.
`scrapy_argv.py --batch FILE`: FILE holds one argv a line (a JSON array of
the hex of argv[1:]); one answer a line, in order.

The options are scrapy's own (scrapy/commands/__init__.py: ScrapyCommand
.add_options and BaseRunSpiderCommand.add_options), parsed as
scrapy/cmdline.py does (parse_known_args, then the crawl command's checks:
one spider, -a and -s split at the first '=' by arglist_to_dict)."""
import argparse
import json
import os
import sys


def hx(s):
    return os.fsencode(s).hex()


def parse(argv):
    if not argv or argv[0] != "crawl":
        return {"error": "not a crawl command"}
    p = argparse.ArgumentParser(prog="scrapy crawl", conflict_handler="resolve")
    g = p.add_argument_group("Global Options")
    g.add_argument("--logfile", metavar="FILE")
    g.add_argument("-L", "--loglevel", metavar="LEVEL", default=None)
    g.add_argument("--nolog", action="store_true")
    g.add_argument("--profile", metavar="FILE", default=None)
    g.add_argument("--pidfile", metavar="FILE")
    g.add_argument("-s", "--set", action="append", default=[], metavar="NAME=VALUE")
    g.add_argument("--pdb", action="store_true")
    p.add_argument("-a", dest="spargs", action="append", default=[], metavar="NAME=VALUE")
    p.add_argument("-o", "--output", metavar="FILE", action="append")
    p.add_argument("-O", "--overwrite-output", metavar="FILE", action="append")
    p.add_argument("-t", "--output-format", metavar="FORMAT")
    try:
        opts, args = p.parse_known_args(argv[1:])
    except SystemExit:
        return {"error": "argparse refused"}
    out = {
        "spider": [hx(a) for a in args],
        "spargs": [[hx(k), hx(v)] for k, v in (x.split("=", 1) for x in opts.spargs)]
        if all("=" in x for x in opts.spargs) else "bad -a",
        "set": [hx(x) for x in opts.set],
        "output": [hx(x) for x in (opts.output or [])],
        "other": [k for k in ("logfile", "loglevel", "profile", "pidfile",
                              "overwrite_output", "output_format")
                  if getattr(opts, k)] + [k for k in ("nolog", "pdb") if getattr(opts, k)],
    }
    return out


def main():
    if sys.argv[1:2] == ["--batch"]:
        with open(sys.argv[2]) as f:
            for line in f:
                argv = [os.fsdecode(bytes.fromhex(h)) for h in json.loads(line)]
                print(json.dumps(parse(argv), sort_keys=True))
    else:
        print(json.dumps(parse(sys.argv[1:]), sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
