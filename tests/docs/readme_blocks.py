#!/usr/bin/python3
"""readme_blocks.py - print the fenced blocks of README.md that follow a marker.

    readme_blocks.py README.md TAG [OUTDIR]

A block belongs to TAG when the line before its opening fence is the HTML
comment <!-- quickstart:TAG --> (blank lines between are allowed). The
blocks marked <!-- quickstart:expect --> belong to the TAG block before them.

Without OUTDIR: prints each TAG block, separated by a line "----".
With OUTDIR: writes OUTDIR/N.sh (the block, N = 1, 2, ...) and, when expected
output follows it, OUTDIR/N.expect; prints the number of blocks.
Exit 1 if the file has no block for TAG or a marker without a block.

    readme_blocks.py --match EXPECT OUTPUT

Each non-empty line of EXPECT must appear in some line of OUTPUT, "..."
standing for any text. Prints the lines that do not; exit 1 if any.
"""
import os
import re
import sys

MARK = re.compile(r'^<!--\s*quickstart:([a-z-]+)\s*-->\s*$')
FENCE = re.compile(r'^\s*(```+)')


def blocks(lines):
    """(tag, text) for each marked fenced block, in order."""
    out, i = [], 0
    while i < len(lines):
        m = MARK.match(lines[i])
        i += 1
        if not m:
            continue
        while i < len(lines) and not lines[i].strip():
            i += 1
        f = FENCE.match(lines[i]) if i < len(lines) else None
        if not f:
            sys.exit('readme_blocks: marker %s at line %d has no fenced block' % (m.group(1), i))
        indent = len(lines[i]) - len(lines[i].lstrip())
        body, i = [], i + 1
        while i < len(lines) and not lines[i].strip().startswith(f.group(1)):
            body.append(lines[i][indent:] if lines[i][:indent].isspace() else lines[i])
            i += 1
        out.append((m.group(1), ''.join(body)))
        i += 1
    return out


def match(expect_path, output_path):
    with open(expect_path, encoding='utf-8') as f:
        want = [l.rstrip('\n') for l in f if l.strip()]
    with open(output_path, encoding='utf-8', errors='replace') as f:
        got = f.read().splitlines()
    missing = []
    for w in want:
        rx = re.compile('.*'.join(re.escape(p) for p in w.split('...')))
        if not any(rx.search(g) for g in got):
            missing.append(w)
    for w in missing:
        print('missing: ' + w)
    return 1 if missing else 0


def main():
    if sys.argv[1] == '--match':
        sys.exit(match(sys.argv[2], sys.argv[3]))
    path, tag = sys.argv[1], sys.argv[2]
    outdir = sys.argv[3] if len(sys.argv) > 3 else None
    with open(path, encoding='utf-8') as f:
        found = blocks(f.readlines())
    n, last = 0, None
    for t, text in found:
        if t == tag:
            n += 1
            last = n
            if outdir:
                with open(os.path.join(outdir, '%d.sh' % n), 'w') as f:
                    f.write(text)
            else:
                print(text + '----', end='\n')
        elif t == 'expect' and last is not None and outdir:
            with open(os.path.join(outdir, '%d.expect' % last), 'a') as f:
                f.write(text)
        elif t != 'expect':
            last = None
    if n == 0:
        sys.exit('readme_blocks: no block marked quickstart:%s in %s' % (tag, path))
    if outdir:
        print(n)


if __name__ == '__main__':
    main()
