#!/usr/bin/env python3
"""Compiles the numbered SQL migrations into a C array (build step)."""
import os
import re
import sys

out, inputs = sys.argv[1], sorted(sys.argv[2:], key=os.path.basename)
rows = []
seen = set()
for path in inputs:
    name = os.path.basename(path)
    m = re.match(r'^(\d{4})_([a-z0-9_]+)\.sql$', name)
    if not m:
        sys.exit(f'migration file name must be NNNN_name.sql: {name}')
    version = int(m.group(1))
    if version in seen:
        sys.exit(f'duplicate migration version {version}')
    seen.add(version)
    with open(path, encoding='utf-8') as f:
        sql = f.read()
    lit = sql.replace('\\', '\\\\').replace('"', '\\"').replace('\n', '\\n"\n"')
    rows.append(f'\t{{{version}, "{m.group(2)}", "{lit}"}},')
versions = sorted(seen)
if versions != list(range(1, len(versions) + 1)):
    sys.exit('migration versions must be 1, 2, 3, ... without gaps')
with open(out, 'w', encoding='utf-8') as f:
    f.write('/* Generated from src/db/migrations by scripts/embed_migrations.py. */\n')
    f.write('#include "db/db_int.h"\n\n')
    f.write('const struct db_migration db_migrations[] = {\n')
    f.write('\n'.join(rows))
    f.write('\n\t{0, 0, 0},\n};\n')
