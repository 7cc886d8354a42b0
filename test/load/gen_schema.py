#!/usr/bin/env python3
"""gen_schema.py - regenerate engine/sm_load_schema.c from docs/scxml-profile.rng.

usage (from the source root):
    python3 test/load/gen_schema.py docs/scxml-profile.rng engine/sm_load_schema.c

test_load checks that the embedded text equals the .rng file, so a schema
edit without regeneration fails the tests.
"""
import sys
src = open(sys.argv[1], 'rb').read().decode('utf-8')
out = ['/*', ' * sm_load_schema.c - docs/scxml-profile.rng compiled into the library.', ' *',
 ' * GENERATED from docs/scxml-profile.rng: edit that file, then regenerate',
 ' * this one with test/load/gen_schema.py (see docs/machine-format.md);',
 ' * test/load checks that both hold the same text.', ' */',
 '#include "sm_machine.h"', '', 'static const char sm__schema[] =']
for line in src.splitlines(True):
    esc = line.replace('\\', '\\\\').replace('"', '\\"').replace('\n', '\\n')
    out.append('\t"' + esc + '"')
out[-1] += ';'
out += ['', 'const char *', 'sm_machine_schema_text(void)', '{', '\treturn sm__schema;', '}', '']
open(sys.argv[2], 'w').write('\n'.join(out))
