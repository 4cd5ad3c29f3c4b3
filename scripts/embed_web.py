#!/usr/bin/env python3
"""Compiles the built web app (web/dist) into a C table (build step).

Usage: embed_web.py OUT.c DIST_DIR [FILE...]. Each FILE under DIST_DIR becomes
one entry {"/path/below/dist", bytes, length}; with no FILE the table is empty
and the server answers "/" with a page saying the app is not built.
Bytes are written as string literals (3-digit octal escapes where needed),
which compilers read far faster than initializer lists of numbers. Text files
also get a gzip form (level 9, no name or time in its header, so the build is
reproducible), kept when it is smaller; the server sends it to clients whose
Accept-Encoding admits gzip.
"""
import gzip
import os
import sys

COMPRESSIBLE = ('.html', '.js', '.mjs', '.css', '.json', '.svg', '.txt', '.map', '.ico')

out, dist, files = sys.argv[1], sys.argv[2], sorted(sys.argv[3:])


def literal(data):
    lines, cur = [], []
    width = 0
    for b in data:
        if 0x20 <= b < 0x7f and b not in (0x22, 0x5c, 0x3f):
            piece = chr(b)
        else:
            piece = '\\%03o' % b
        cur.append(piece)
        width += len(piece)
        if width >= 96 or b == 0x0a:
            lines.append('"' + ''.join(cur) + '"')
            cur, width = [], 0
    if cur or not lines:
        lines.append('"' + ''.join(cur) + '"')
    return '\n'.join(lines)


with open(out, 'w', encoding='ascii') as f:
    f.write('/* Generated from web/dist by scripts/embed_web.py. */\n')
    f.write('#include "http/web_assets.h"\n\n#include <stddef.h>\n\n')
    rows = []
    for i, path in enumerate(files):
        rel = '/' + os.path.relpath(path, dist).replace(os.sep, '/')
        if any(c in rel for c in '"\\') or any(ord(c) < 0x20 for c in rel):
            sys.exit(f'embed_web: unusable file name {rel!r}')
        with open(path, 'rb') as src:
            data = src.read()
        f.write(f'static const char asset_{i}[] =\n{literal(data)};\n\n')
        gz = 'NULL, 0'
        if rel.endswith(COMPRESSIBLE):
            packed = gzip.compress(data, compresslevel=9, mtime=0)
            if len(packed) < len(data):
                f.write(f'static const char asset_{i}_gz[] =\n{literal(packed)};\n\n')
                gz = f'asset_{i}_gz, sizeof(asset_{i}_gz) - 1'
        rows.append(f'\t{{"{rel}", asset_{i}, sizeof(asset_{i}) - 1, {gz}}},')
    f.write('const struct web_asset web_assets[] = {\n')
    f.write('\n'.join(rows + ['\t{0, 0, 0, 0, 0},']))
    f.write('\n};\n')
