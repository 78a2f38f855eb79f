#!/usr/bin/python3
"""errors.py - the error lines tlsrelay can print, from the sources.

    errors.py SRCDIR                 list: file:line TAB dsn TAB fragment TAB format
    errors.py SRCDIR --check DOC     for each error, "ok|missing TAB file:line TAB dsn TAB fragment"

Sources: lib/*.c and plugin/*/*.c. An error is
  - a call tr_status_set(st, cat, DSN, FORMAT, ...) whose cat is not
    TLSRELAY_OK (those are the probe's verdicts and success texts);
  - tr_config_error(st, where, FORMAT, ...): DSN 4.3.5;
  - map_error(st, path, line, FORMAT, ...) (lib/sasl.c): DSN 4.3.5;
  - exim_status_set(st, cat, DSN, TEXT) (the Exim transport module), TEXT
    a literal or string_sprintf(FORMAT, ...);
  - a string literal "X.Y.Z tlsrelay: TEXT" in plugin/*/*.c (printed
    directly by the program; also tlsrelayc:, tlsrelay-probe: ...), and
    "NN X.Y.Z tlsrelayd: TEXT" (a reply of tlsrelayd, plugin/daemon/pool.c:
    the exit status NN, written "%d" when it comes from the exit
    translation, then the line tlsrelayc prints).
Calls may span lines; adjacent string literals are joined. A DSN that is a
string literal or a macro #defined to one in the same file is used; a DSN
held in a variable (copied from a server reply, chosen by the caller) is
not checked ("-"). A FORMAT with no literal words ("%s", "%s%s: %s")
forwards a text made elsewhere and is skipped.

The fragment: the format's literal pieces (split at printf conversions),
from the first piece with a word in it, joined by ".+" until they hold at
least six words (or all of them). An error is documented when one line of DOC contains
the DSN (if known) and matches the fragment, so the page can write each
error as it is printed, with a placeholder (HOST, REASON...) for each %s.
"""
import glob
import os
import re
import sys

CALLS = {  # name: (index of the DSN argument or a fixed DSN, index of the format)
    'tr_status_set': (2, 3),
    'tr_config_error': ('4.3.5', 2),
    'map_error': ('4.3.5', 3),
    'exim_status_set': (2, 3),   # plugin/exim/tlsrelay_transport.c
}
CALL_RE = re.compile(r'\b(' + '|'.join(CALLS) + r')\s*\(')
CONV_RE = re.compile(r'%[-+ #0]*(?:\d+|\*)?(?:\.(?:\d+|\*))?(?:hh|h|ll|l|z|j|t|L)?[diouxXeEfgGcsp%]')
STR_RE = re.compile(r'"((?:[^"\\]|\\.)*)"')
DIRECT_RE = re.compile(r'"(?:(?:\d{1,3}|%d) )?([245]\.\d{1,3}\.\d{1,3}) tlsrelay[a-z-]*: ((?:[^"\\]|\\.)*)"')


def split_args(s, i):
    """Top-level arguments of the call whose '(' ends at s[i-1]."""
    out, cur, depth, j = [], [], 0, i
    while j < len(s):
        c = s[j]
        if c == '"':
            m = STR_RE.match(s, j)
            cur.append(m.group(0))
            j = m.end()
            continue
        if c == "'":
            k = s.index("'", j + 2 if s[j + 1] == '\\' else j + 1)
            cur.append(s[j:k + 1])
            j = k + 1
            continue
        if s.startswith('/*', j):
            j = s.index('*/', j) + 2
            continue
        if c in '([{':
            depth += 1
        elif c in ')]}':
            if depth == 0:
                out.append(''.join(cur).strip())
                return out
            depth -= 1
        elif c == ',' and depth == 0:
            out.append(''.join(cur).strip())
            cur = []
            j += 1
            continue
        cur.append(c)
        j += 1
    return out


def unescape(s):
    return re.sub(r'\\(.)', lambda m: {'n': ' ', 't': ' '}.get(m.group(1), m.group(1)), s)


def literal(arg):
    parts = STR_RE.findall(arg)
    return unescape(''.join(parts)) if parts else None


def fragment(fmt):
    pieces = [p.strip(' :;,()"\'') for p in CONV_RE.split(fmt)]
    pieces = [p for p in pieces if re.search(r'[A-Za-z]{2}', p)]
    if not pieces:
        return None
    out, words = [], 0
    for p in pieces:
        out.append(p)
        words += len(p.split())
        if words >= 6:
            break
    return '.+'.join(re.escape(p) for p in out)


def errors(srcdir):
    files = sorted(glob.glob(os.path.join(srcdir, 'lib', '*.c')) +
                   glob.glob(os.path.join(srcdir, 'plugin', '*', '*.c')))
    for path in files:
        rel = os.path.relpath(path, srcdir)
        with open(path, encoding='utf-8') as f:
            src = f.read()
        defines = dict(re.findall(r'^#define\s+(\w+)\s+"([^"]*)"', src, re.M))
        for m in CALL_RE.finditer(src):
            line_start = src.rfind('\n', 0, m.start()) + 1
            if re.match(r'\s*(static\s+)?(int|void|tlsrelay_cat)\b', src[line_start:m.start()]):
                continue  # a definition or prototype
            args = split_args(src, m.end())
            dsn_at, fmt_at = CALLS[m.group(1)]
            if len(args) <= fmt_at:
                continue
            if m.group(1) == 'tr_status_set' and args[1].strip() == 'TLSRELAY_OK':
                continue
            fmt = literal(args[fmt_at])
            if fmt is None:
                continue
            if isinstance(dsn_at, str):
                dsn = dsn_at
            else:
                a = re.sub(r'/\*.*?\*/', '', args[dsn_at], flags=re.S).strip()
                dsn = literal(a) if a.startswith('"') else defines.get(a)
            frag = fragment(fmt)
            if frag is None:
                continue
            yield rel, src.count('\n', 0, m.start()) + 1, dsn or '', frag, fmt
        if rel.startswith('plugin' + os.sep):
            for m in DIRECT_RE.finditer(src):
                fmt = unescape(m.group(2))
                frag = fragment(fmt)
                if frag:
                    yield rel, src.count('\n', 0, m.start()) + 1, m.group(1), frag, fmt


def main():
    srcdir = sys.argv[1]
    found = list(errors(srcdir))
    if len(sys.argv) > 3 and sys.argv[2] == '--check':
        with open(sys.argv[3], encoding='utf-8') as f:
            doc = f.read().splitlines()
        bad = 0
        for rel, line, dsn, frag, fmt in found:
            rx = re.compile(frag)
            ok = any(rx.search(l) and (not dsn or dsn in l) for l in doc)
            bad += not ok
            print('%s\t%s:%d\t%s\t%s' % ('ok' if ok else 'missing', rel, line, dsn or '-', fmt))
        sys.exit(1 if bad else 0)
    for rel, line, dsn, frag, fmt in found:
        print('%s:%d\t%s\t%s\t%s' % (rel, line, dsn or '-', frag, fmt))


if __name__ == '__main__':
    main()
