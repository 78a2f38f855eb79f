#!/usr/bin/python3
"""status_convention.py - check the status convention on every prototype of lib/*.h.

    status_convention.py SRCDIR            check SRCDIR/lib/*.h: one line per
                                           finding ("FAIL TAB header TAB name
                                           TAB why"), one per documented
                                           exception, a summary; exit 1 on any
                                           violation
    status_convention.py --list SRCDIR     every prototype: kind TAB header TAB
                                           name TAB return type (the extractor,
                                           for its self-test)

The convention (lib/status.h, doc/DESIGN.md "Status convention"):

  status   a prototype that returns tlsrelay_cat or takes a tlsrelay_status *
           that is not const fills the status: its comment must have a line
           "Returns: ..." naming the categories it gives (OK, TEMP, PERM,
           USAGE, DATAERR, CONFIG, INTERNAL; DSNs may follow each). It must
           not return a bare int beside the status: the category is the
           return value (a count goes to an out-parameter).
  tri-state  a bare int return documented with the three outcomes -1, 0 and
           1 (found/none/error and the like) is refused anywhere: name them
           in an enum.
  exception  a function that reports a failure without a status: a bare int
           return whose comment has a -1, a parameter called err or why (a
           reason in a caller's buffer), or a pointer return "NULL when out
           of memory / on failure...". It must be listed in the EXCEPTIONS
           section of lib/status.h's header comment, which says why. Every
           name listed there is a documented exception (some, such as the
           stream layer's named codes, are not found by these rules), and
           their count is printed. A listed name that is no prototype, or
           that is now a status function, is a finding too (a stale list).

Prototypes: top-level declarations ending in ';' with a parameter list,
outside struct/enum bodies, typedefs and preprocessor lines; several may
span lines. Their comment is the /* */ block that ends on the line just
above, or above the group of prototypes written without a blank line
between them (tr_buf_add ... tr_buf_putc share one).
"""
import glob
import os
import re
import sys

CATS = ('OK', 'TEMP', 'PERM', 'USAGE', 'DATAERR', 'CONFIG', 'INTERNAL')
CAT_RE = re.compile(r'\b(' + '|'.join(CATS) + r')\b')
RETURNS_RE = re.compile(r'^\s*(?:/\*|\*)?\s*Returns:(.*)$')
OUTCOME_RE = re.compile(r'(?<![\w.\-/:=<>+])(-1|0|1)'
                        r'(?![\w\-/:]|\.\d|\.\.|\s*(?:bytes?|weeks?|s)\b)')
STATUS_PARAM_RE = re.compile(r'(?<!const )\btlsrelay_status\s*\*')
REASON_PARAM_RE = re.compile(r'(?<!const )\bchar\s*\*\s*(err|why)\b')
NULL_FAIL_RE = re.compile(r'\bNULL\s+(?:when|if|on|with)\s+(?:\w+\s+){0,3}?'
                          r'(out of memory|fail\w*|error|unusable)', re.I)
# comparisons and arithmetic are not outcomes ("n > 0", "LEN(n) + 1")
NOT_OUTCOME_RE = re.compile(r'(?:[<>]=?|==|!=|\+|\*)\s*-?\d+')
NAME_RE = re.compile(r'(\w+)\s*\($')


def strip_strings(line):
    return re.sub(r'"(?:[^"\\]|\\.)*"', '""', line)


def prototypes(path):
    """Yield (name, return type, declaration text, comment text) of each prototype."""
    with open(path, encoding='utf-8') as f:
        lines = f.read().split('\n')
    comment, comment_end = '', -2     # the last comment block and its last line
    group_comment = None              # the comment of the current group
    depth, decl, decl_start, in_comment, cur = 0, '', None, False, []
    last_decl_end = -2
    for n, raw in enumerate(lines):
        line = raw
        if in_comment:
            cur.append(line)
            if '*/' in line:
                in_comment = False
                comment, comment_end = '\n'.join(cur), n
                line = line[line.index('*/') + 2:]
            else:
                continue
        if depth == 0 and not decl and line.lstrip().startswith('#'):
            i = line.find('/*')          # a comment after a #define may go on
            if i < 0 or '*/' in line[i:]:
                continue
            in_comment, cur = True, [line[i:]]
            continue
        # comments that start on this line
        while '/*' in line:
            i = line.index('/*')
            j = line.find('*/', i + 2)
            if j < 0:
                in_comment, cur = True, [line[i:]]
                line = line[:i]
                break
            if not decl.strip() and not line[:i].strip():
                comment, comment_end = line[i:j + 2], n
            line = line[:i] + ' ' + line[j + 2:]
        code = strip_strings(line)
        if not code.strip():
            if not decl.strip():
                continue
        for c in code:
            if c == '{':
                if depth == 0 and re.search(r'extern\s+""\s*$', (decl + code).split('{')[0]):
                    decl = ''
                    continue
                depth += 1
            elif c == '}':
                if depth == 0:        # the end of extern "C" { ... }
                    decl = ''
                    continue
                depth -= 1
                if depth == 0:
                    decl += '{}'
                    continue
            if depth > 0:
                continue
            if not decl.strip() and c.strip():
                decl_start = n
            decl += c
            if c == ';':
                text = ' '.join(decl.split())
                decl = ''
                if decl_start == last_decl_end + 1 and group_comment is not None:
                    doc = group_comment
                elif comment_end == decl_start - 1:
                    doc = comment
                else:
                    doc = ''
                group_comment = doc
                last_decl_end = n
                yield from proto_of(text, doc)
        if decl.strip():
            decl += ' '


def proto_of(text, doc):
    if text.startswith(('typedef', 'struct ', 'enum ', 'union ')) and '(' not in text.split('{')[0]:
        return
    if text.startswith('typedef') or '{' in text or '(' not in text:
        return
    head = text[:text.index('(') + 1]
    m = NAME_RE.search(head)
    if not m:
        return
    name = m.group(1)
    ret = head[:m.start()].strip()
    ret = re.sub(r'^(extern|static|inline|_Noreturn)\s+', '', ret)
    params = text[text.index('(') + 1:text.rindex(')')] if ')' in text else ''
    yield name, ret, params, doc


def exceptions(srcdir):
    """The EXCEPTIONS section of lib/status.h: {name: the group it is in}.
    A group is description lines (its title: the text before the first
    ':'), then lines of names "tr_x()"."""
    with open(os.path.join(srcdir, 'lib', 'status.h'), encoding='utf-8') as f:
        head = f.read().split('*/', 1)[0]
    out, on, group, after_names = {}, False, None, True
    for line in head.split('\n'):
        body = re.sub(r'^\s*/?\*\s?', '', line).strip()
        if re.match(r'EXCEPTIONS\b', body):
            on = True
            continue
        if not on or not body:
            continue
        if re.match(r'[A-Z][A-Z ]+$', body):
            break
        names = re.findall(r'\b((?:tr|tlsrelay)_\w+)\(\)', body)
        if names and re.match(r'((?:tr|tlsrelay)_\w+\(\)\s*)+$', body):
            for name in names:
                out[name] = group or '?'
            after_names = True
        elif after_names:
            group, after_names = body.split(':', 1)[0], False
    return out


def returns_text(doc):
    lines = doc.split('\n')
    for i, line in enumerate(lines):
        m = RETURNS_RE.match(line)
        if m:
            text = [m.group(1)]
            for more in lines[i + 1:]:
                more = re.sub(r'^\s*\*/?\s?|\*/\s*$', '', more).strip()
                if not more:
                    break
                text.append(more)
            return ' '.join(text)
    return None


def classify(name, ret, params, doc):
    """(kind, finding or None)."""
    status = ret == 'tlsrelay_cat' or STATUS_PARAM_RE.search(params)
    bare_int = ret == 'int'
    body = re.sub(r'^\s*/?\*+/?', '', doc, flags=re.M)
    outcomes = set(OUTCOME_RE.findall(NOT_OUTCOME_RE.sub(' ', body))) if bare_int else set()
    if bare_int and {'-1', '0', '1'} <= outcomes:
        return 'tri-state', 'returns a bare tri-state int (-1, 0, 1): name the outcomes in an enum'
    if status:
        if bare_int:
            return 'status', 'returns int beside a tlsrelay_status: return the category ' \
                             '(a count in an out-parameter)'
        r = returns_text(doc)
        if r is None:
            return 'status', 'fills a tlsrelay_status but its comment has no "Returns:" line'
        if not CAT_RE.search(r):
            return 'status', '"Returns:" names no category (%s)' % ', '.join(CATS)
        return 'status', None
    if (bare_int and '-1' in outcomes) or REASON_PARAM_RE.search(params):
        return 'exception', None
    if ret.endswith('*') and NULL_FAIL_RE.search(body):
        return 'exception', None
    return 'plain', None


def main(argv):
    srcdir = argv[-1]
    found = []
    for h in sorted(glob.glob(os.path.join(srcdir, 'lib', '*.h'))):
        for name, ret, params, doc in prototypes(h):
            kind, finding = classify(name, ret, params, doc)
            found.append((os.path.relpath(h, srcdir), name, ret, kind, finding))
    if '--list' in argv:
        for h, name, ret, kind, finding in found:
            print('%s\t%s\t%s\t%s' % (kind, h, name, ret))
        return 0
    listed = exceptions(srcdir)
    bad = 0
    names = {}
    for h, name, ret, kind, finding in found:
        names[name] = kind
        if finding:
            print('FAIL\t%s\t%s\t%s' % (h, name, finding))
            bad += 1
        elif kind == 'exception' and name not in listed:
            print('FAIL\t%s\t%s\t%s' % (h, name, 'fails without a status (-1, err or why) and '
                                        'is not in the EXCEPTIONS of lib/status.h'))
            bad += 1
    for name in sorted(listed):
        if name not in names:
            print('FAIL\tlib/status.h\t%s\tlisted in EXCEPTIONS but no prototype' % name)
            bad += 1
        elif names[name] == 'status':
            print('FAIL\tlib/status.h\t%s\tlisted in EXCEPTIONS but fills a status' % name)
            bad += 1
    exc = [(h, n) for h, n, r, k, f in found if n in listed and k != 'status']
    for h, n in exc:
        print('exception\t%s\t%s\t%s' % (h, n, listed[n]))
    nstatus = sum(1 for f in found if f[3] == 'status')
    print('prototypes %d, status functions %d, documented exceptions %d, violations %d'
          % (len(found), nstatus, len(exc), bad))
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
