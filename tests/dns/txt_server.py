#!/usr/bin/python3
"""txt_server.py - a scripted DNS server for tests/dns/test_dns_txt.sh.

    txt_server.py --port PORT --pidfile FILE [--address 127.0.0.1] [--max-lifetime SECS]

Answers over UDP on a loopback address with the canned answer of each
query name in ANSWERS below (the query's id, question and RD bit echoed),
whatever the query type: the answers a real resolver would scrub (records
of another owner, a record with a broken rdata) are what it is for.
Unknown names get REFUSED. Only 127.0.0.0/8 or ::1; exits after
--max-lifetime seconds (default 120) or on SIGTERM.
"""
import argparse
import os
import signal
import socket
import struct
import sys
import time

TXT, CNAME, IN, CH = 16, 5, 1, 3


def name(text):
    """A domain name in wire form (no compression)."""
    out = b''
    for label in text.rstrip('.').split('.'):
        out += bytes([len(label)]) + label.encode()
    return out + b'\0'


def strings(*parts):
    """TXT rdata: each part as one character-string."""
    return b''.join(bytes([len(p)]) + p for p in parts)


def rr(owner, rtype, rdata, rclass=IN, ttl=60):
    return name(owner) + struct.pack('>HHIH', rtype, rclass, ttl, len(rdata)) + rdata


# query name -> (rcode, [answer records])
ANSWERS = {
    'plain.t.test': (0, [rr('plain.t.test', TXT, strings(b'v=STSv1; id=1;'))]),
    'split.t.test': (0, [rr('split.t.test', TXT, strings(b'v=STSv1; ', b'id=2;'))]),
    'case.t.test': (0, [rr('CASE.T.Test', TXT, strings(b'owner in other case'))]),
    'foreign.t.test': (0, [rr('foreign.t.test', TXT, strings(b'mine')),
                           rr('other.t.test', TXT, strings(b'v=STSv1; id=forged;'))]),
    'onlyforeign.t.test': (0, [rr('other.t.test', TXT, strings(b'v=STSv1; id=forged;'))]),
    'cname.t.test': (0, [rr('cname.t.test', CNAME, name('target.t.test')),
                         rr('target.t.test', TXT, strings(b'via the CNAME'))]),
    'cnamefor.t.test': (0, [rr('cnamefor.t.test', CNAME, name('target2.t.test')),
                            rr('elsewhere.t.test', TXT, strings(b'v=STSv1; id=forged;')),
                            rr('target2.t.test', TXT, strings(b'the target'))]),
    'chclass.t.test': (0, [rr('chclass.t.test', TXT, strings(b'class CH'), rclass=CH)]),
    'nul.t.test': (0, [rr('nul.t.test', TXT, strings(b'ab\0cd'))]),
    'long.t.test': (0, [rr('long.t.test', TXT, strings(*[bytes([ord('a') + i]) * 255 for i in range(9)]))]),
    'many.t.test': (0, [rr('many.t.test', TXT, strings(b'r%d' % i)) for i in range(10)]),
    'badrdata.t.test': (0, [rr('badrdata.t.test', TXT, b'\x09short')]),
    'nodata.t.test': (0, []),
    'nx.t.test': (3, []),
    'servfail.t.test': (2, []),
}


def answer(query):
    """The response to one query message, or None to stay silent."""
    if len(query) < 12:
        return None
    qid, flags = struct.unpack('>HH', query[:4])
    i, labels = 12, []
    while i < len(query) and query[i] != 0:
        n = query[i]
        labels.append(query[i + 1:i + 1 + n].decode('ascii', 'replace'))
        i += 1 + n
    question = query[12:i + 5]
    if len(question) < i + 5 - 12:
        return None
    qname = '.'.join(labels).lower()
    rcode, rrs = ANSWERS.get(qname, (5, []))
    out_flags = 0x8000 | 0x0400 | (flags & 0x0100) | 0x0080 | rcode   # QR AA RD RA
    head = struct.pack('>HHHHHH', qid, out_flags, 1, len(rrs), 0, 0)
    return head + question + b''.join(rrs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--address', default='127.0.0.1')
    ap.add_argument('--port', type=int, required=True)
    ap.add_argument('--pidfile', required=True)
    ap.add_argument('--max-lifetime', type=float, default=120)
    a = ap.parse_args()
    if not (a.address.startswith('127.') or a.address == '::1'):
        sys.exit('txt_server.py: loopback addresses only')
    s = socket.socket(socket.AF_INET6 if ':' in a.address else socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((a.address, a.port))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with open(a.pidfile + '.tmp', 'w') as f:
        f.write('%d\n' % os.getpid())
    os.rename(a.pidfile + '.tmp', a.pidfile)
    end = time.monotonic() + a.max_lifetime
    while time.monotonic() < end:
        s.settimeout(max(0.1, end - time.monotonic()))
        try:
            query, peer = s.recvfrom(65535)
        except socket.timeout:
            continue
        resp = answer(query)
        if resp is not None:
            s.sendto(resp, peer)


if __name__ == '__main__':
    main()
