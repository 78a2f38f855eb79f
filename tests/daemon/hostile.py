#!/usr/bin/python3
"""hostile.py - malformed requests to tlsrelayd's socket (tests/daemon/test_daemon.sh),
and well-formed ones the daemon must not serve (tests/daemon/test_daemon_access.sh).

    hostile.py SOCKET CASE
    hostile.py SOCKET OPTION-CASE CONFIG OTHER-FILE

Sends one request of the kind CASE (see CASES) and prints one line:
"reply <text>" (what the daemon answered, then the end of the connection),
"reply-unclosed <text>" (an answer, but the connection stayed open for
WAIT seconds), "closed" (end of the connection without a byte) or
"timeout" (nothing for WAIT seconds). When the request carried descriptors, a second line says
whether the daemon's process let them go: "fds closed" (the write end of a
pipe whose copies were sent: the read end sees end of file once this
program closed its own copy) or "fds held".

OPTION-CASE (see OPTION_CASES): a request as tlsrelayc would make it, or as
a client that writes its own bytes could, whose command line gives an option
the daemon does not serve (-o, -t, -n, -d, -q, -r, a -c naming OTHER-FILE
or no -c at all: CONFIG is the daemon's own file). Its descriptors are a
pipe holding a message (0) and the write end of another pipe (1 and 2).
Four lines: "reply <text>" (or closed/timeout as above), "stdin untouched"
or "stdin read" (the message is still in the pipe, or not all of it),
"output none" or "output <text>" (what the daemon's process wrote to 1 or
2), "fds closed" or "fds held".

Protocol: lib/trd_proto.h. Standard library only; the socket is a
unix socket in the test's directory.
"""

import os
import select
import socket
import struct
import sys
import time

MAGIC = b"TLSRELAYD/1\0"
WAIT = 30       # longer than the daemon's 10 s request timeout, with slack


def head(argc, length, magic=MAGIC):
    return magic + struct.pack("=II", argc, length)


def body(*strings):
    return b"".join(s.encode() + b"\0" for s in strings)


GOOD = body("/", "tlsrelay", "--", "user@example.test")

# name: (bytes sent with the descriptors, descriptors, bytes sent later,
#        then: "wait" for the reply, or "silence" (keep the connection open
#        and send nothing more until the reply comes))
CASES = {
    "garbage": (b"GET / HTTP/1.0\r\n\r\n\x00\x01", 0, b"", "wait"),
    "garbage-fds": (b"\xff" * 20, 3, b"", "wait"),
    "wrong-magic": (head(4, len(GOOD), b"TLSRELAYD/9\0") + GOOD, 3, b"", "wait"),
    "no-fds": (head(4, len(GOOD)) + GOOD, 0, b"", "wait"),
    "one-fd": (head(4, len(GOOD)) + GOOD, 1, b"", "wait"),
    "five-fds": (head(4, len(GOOD)) + GOOD, 5, b"", "wait"),
    "twenty-fds": (head(4, len(GOOD)) + GOOD, 20, b"", "wait"),
    "argc-0": (head(0, len(GOOD)) + GOOD, 3, b"", "wait"),
    "argc-huge": (head(0xFFFFFFFF, len(GOOD)) + GOOD, 3, b"", "wait"),
    "len-0": (head(4, 0), 3, b"", "wait"),
    "len-huge": (head(4, 0xFFFFFFFF) + GOOD, 3, b"", "wait"),
    "len-over-limit": (head(4, 1024 * 1024 + 1) + GOOD, 3, b"", "wait"),
    "argc-mismatch": (head(9, len(GOOD)) + GOOD, 3, b"", "wait"),
    "no-final-nul": (head(4, len(GOOD)) + GOOD[:-1] + b"x", 3, b"", "wait"),
    "head-then-eof": (head(4, len(GOOD)), 3, b"", "eof"),
    "short-head-silence": (MAGIC[:5], 3, b"", "silence"),
    "head-silence": (head(4, len(GOOD)), 3, b"", "silence"),
    "truncated-body-silence": (head(4, len(GOOD)) + GOOD[:7], 3, b"", "silence"),
    "nothing-silence": (b"", 0, b"", "silence"),
}

RCPT = "user@example.test"
MESSAGE = b"Subject: hostile\n\nThis message must not be read.\n"

# name: the arguments after argv[0]; CONF and OTHER are replaced by the
# daemon's configuration file and another file (a password map).
OPTION_CASES = {
    "opt-o": ["-c", "CONF", "-o", "syslog=no", "--", RCPT],
    "opt-o-attached": ["-c", "CONF", "-osyslog=no", "--", RCPT],
    "opt-vo-combined": ["-c", "CONF", "-vo", "syslog=no", "--", RCPT],
    "opt-o-after-f": ["-c", "CONF", "-f", "a@example.test", "-o", "relayhost=[127.0.0.1]:9", "--", RCPT],
    "opt-t": ["-c", "CONF", "-t"],
    "opt-t-other": ["-t", "-c", "OTHER"],
    "opt-c-other": ["-c", "OTHER", "--", RCPT],
    "opt-c-other-attached": ["-cOTHER", "--", RCPT],
    "opt-c-twice": ["-c", "CONF", "-c", "OTHER", "--", RCPT],
    "opt-no-c": ["--", RCPT],
    "opt-q": ["-c", "CONF", "-q", "example.test"],
    "opt-n": ["-c", "CONF", "-n"],
    "opt-d": ["-c", "CONF", "-d"],
    "opt-r": ["-c", "CONF", "-r", "[127.0.0.1]:9", "--", RCPT],
}


def option_case(path, case, conf, other):
    args = [a.replace("CONF", conf).replace("OTHER", other) for a in OPTION_CASES[case]]
    data = body("/", "tlsrelay", *args)
    in_r, in_w = os.pipe()
    out_r, out_w = os.pipe()
    os.write(in_w, MESSAGE)
    os.close(in_w)
    os.set_blocking(in_r, False)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    s.sendmsg([head(len(args) + 1, len(data)) + data],
               [(socket.SOL_SOCKET, socket.SCM_RIGHTS, struct.pack("3i", in_r, out_w, out_w))])
    os.close(out_w)
    data, how = read_all(s)
    if data:
        print(("reply " if how == "eof" else "reply-unclosed ") + data.decode("utf-8", "replace").rstrip("\n"))
    else:
        print("closed" if how == "eof" else "timeout")
    s.close()
    try:
        left = os.read(in_r, len(MESSAGE) + 1)
    except BlockingIOError:
        left = b""
    print("stdin untouched" if left == MESSAGE else "stdin read")
    out, closed = b"", False
    end = time.monotonic() + 10
    while time.monotonic() < end:
        ready, _, _ = select.select([out_r], [], [], max(0, end - time.monotonic()))
        if not ready:
            break
        chunk = os.read(out_r, 4096)
        if not chunk:
            closed = True
            break
        out += chunk
    print("output none" if not out else "output " + out[:300].decode("utf-8", "replace").replace("\n", " | "))
    print("fds closed" if closed else "fds held")
    return 0


def read_all(s):
    data = b""
    end = time.monotonic() + WAIT
    while True:
        left = end - time.monotonic()
        if left <= 0:
            return data, "timeout"
        r, _, _ = select.select([s], [], [], left)
        if not r:
            return data, "timeout"
        try:
            chunk = s.recv(4096)
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            return data, "eof"
        data += chunk


def main():
    path, case = sys.argv[1], sys.argv[2]
    if case in OPTION_CASES:
        return option_case(path, case, sys.argv[3], sys.argv[4])
    first, nfds, later, mode = CASES[case]
    r, w = os.pipe()
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    if first:
        anc = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, struct.pack("%di" % nfds, *([w] * nfds)))] if nfds else []
        s.sendmsg([first], anc)
    if later:
        s.sendall(later)
    if mode == "eof":
        s.shutdown(socket.SHUT_WR)
    os.close(w)
    data, how = read_all(s)
    if data:
        # the daemon closes the connection after its reply: no EOF is a
        # descriptor of it left open somewhere (a process of the daemon)
        print(("reply " if how == "eof" else "reply-unclosed ") + data.decode("utf-8", "replace").rstrip("\n"))
    elif how == "eof":
        print("closed")
    else:
        print("timeout")
    s.close()
    if nfds:
        ready, _, _ = select.select([r], [], [], 10)
        print("fds closed" if ready and os.read(r, 1) == b"" else "fds held")
    return 0


if __name__ == "__main__":
    sys.exit(main())
