#!/usr/bin/env python3
"""tests/daemon/lmtp_client.py - scripted LMTP clients for
tests/daemon/test_lmtp.sh: hostile input to tlsrelayd's LMTP socket, and a
session killed in the middle of DATA.

    lmtp_client.py SOCKET CASE [ARG]

Prints every reply line the server sent (without CR LF), then "EOF" when
the server closed the connection or "OPEN" when it was still open at the
end. Each case sends all of its bytes at once (pipelined, as a hostile
client would) unless said otherwise. Every wait is bounded (30 s).

Cases:
  longline    LHLO, then a NOOP line of 3000 bytes
  rcpts       LHLO, MAIL, 1001 RCPTs, RSET, QUIT
  size        LHLO, MAIL with SIZE=20000000, then a message of 10.5 MB
              (over the limit, Message-ID ARG), then NOOP, QUIT
  limit       LHLO, MAIL with SIZE=LIMIT+1 (LIMIT: the next argument), then
              a message of LIMIT+2000 bytes (Message-ID ARG), NOOP, QUIT
  nolhlo      MAIL before LHLO, HELO, EHLO, then LHLO, QUIT
  syntax      LHLO, bad MAIL, RCPT before MAIL, a NUL line, garbage,
              DATA without MAIL, NOOP, QUIT
  middata     LHLO, MAIL, RCPT, DATA, three fifths of a message
              (Message-ID: the next argument; of about SIZE bytes, the one
              after it if given, else 5000); then writes ARG (a file) and
              waits for the server's end
  deliver     LHLO, one message with Message-ID ARG to user@example.test
              (of about SIZE bytes more, the next argument if given), QUIT
  notify      LHLO, one message (Message-ID ARG) from notify@sender.test to
              user (NOTIFY=SUCCESS,FAILURE), alice (NOTIFY=NEVER, an ORCPT)
              and bob (NOTIFY=SUCCESS,FAILURE) at example.test, QUIT
  txns        LHLO, then 3 transactions one after the other on the same
              session, each waiting for its reply (Message-IDs ARG-1..3),
              then QUIT
"""
import socket
import sys
import time


def lines(data):
    return [l.decode("latin-1") for l in data.split(b"\r\n") if l]


def read_all(s, until_eof=True, limit=30.0):
    """Everything the server sends until it closes or limit seconds pass."""
    buf = b""
    end = time.monotonic() + limit
    s.settimeout(1.0)
    while time.monotonic() < end:
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            if not until_eof and buf.endswith(b"\r\n"):
                return buf, False
            continue
        except ConnectionResetError:
            return buf, True
        if not chunk:
            return buf, True
        buf += chunk
    return buf, False


def msg(mid, size=0):
    body = b"From: <sender@sender.test>\r\nSubject: lmtp\r\nMessage-ID: " + mid.encode() + b"\r\n\r\n"
    line = b"y" * 998 + b"\r\n"
    body += b"Body.\r\n..a dotted line\r\n" + line * (size // 1000)
    return body


def main():
    path, case = sys.argv[1], sys.argv[2]
    arg = sys.argv[3] if len(sys.argv) > 3 else ""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(30)
    s.connect(path)
    greet = s.recv(4096)
    out = lines(greet)
    send = b""
    if case == "longline":
        send = b"LHLO c\r\nNOOP " + b"A" * 3000 + b"\r\nNOOP\r\n"
    elif case == "rcpts":
        send = b"LHLO c\r\nMAIL FROM:<>\r\n"
        send += b"".join(b"RCPT TO:<r%d@example.test>\r\n" % i for i in range(1001))
        send += b"RSET\r\nQUIT\r\n"
    elif case == "size":
        s.sendall(b"LHLO c\r\nMAIL FROM:<> SIZE=20000000\r\nMAIL FROM:<>\r\n"
                  b"RCPT TO:<user@example.test>\r\nDATA\r\n")
        time.sleep(0.5)
        s.sendall(msg(arg, 10_500_000) + b".\r\n")
        send = b"NOOP\r\nQUIT\r\n"
    elif case == "limit":
        limit = int(sys.argv[4])
        s.sendall(b"LHLO c\r\nMAIL FROM:<> SIZE=%d\r\nMAIL FROM:<>\r\n"
                  b"RCPT TO:<user@example.test>\r\nDATA\r\n" % (limit + 1))
        time.sleep(0.5)
        s.sendall(msg(arg, limit + 2000) + b".\r\n")
        send = b"NOOP\r\nQUIT\r\n"
    elif case == "nolhlo":
        send = b"MAIL FROM:<>\r\nHELO x\r\nEHLO x\r\nLHLO c\r\nQUIT\r\n"
    elif case == "syntax":
        send = (b"LHLO c\r\nMAIL FROM:a@b\r\nRCPT TO:<user@example.test>\r\n\x00junk\r\n"
                b"\x16\x03\x01garbage\r\nDATA\r\nNOOP\r\nQUIT\r\n")
    elif case == "middata":
        s.sendall(b"LHLO c\r\nMAIL FROM:<>\r\nRCPT TO:<user@example.test>\r\nDATA\r\n")
        buf, _ = read_all(s, until_eof=False, limit=10)
        out += lines(buf)
        whole = msg(sys.argv[4], int(sys.argv[5]) if len(sys.argv) > 5 else 5000)
        s.sendall(whole[:len(whole) * 3 // 5])
        with open(arg, "w") as f:
            f.write("sent\n")
    elif case == "deliver":
        size = int(sys.argv[4]) if len(sys.argv) > 4 else 0
        send = (b"LHLO c\r\nMAIL FROM:<sender@sender.test>\r\nRCPT TO:<user@example.test>\r\nDATA\r\n"
                + msg(arg, size) + b".\r\nQUIT\r\n")
    elif case == "notify":
        send = (b"LHLO c\r\nMAIL FROM:<notify@sender.test> RET=HDRS ENVID=n+2B1\r\n"
                b"RCPT TO:<user@example.test> NOTIFY=SUCCESS,FAILURE\r\n"
                b"RCPT TO:<alice@example.test> NOTIFY=NEVER ORCPT=rfc822;a+2Blist@sender.test\r\n"
                b"RCPT TO:<bob@example.test> NOTIFY=SUCCESS,FAILURE\r\nDATA\r\n"
                + msg(arg) + b".\r\nQUIT\r\n")
    elif case == "txns":
        s.sendall(b"LHLO c\r\n")
        buf, eof = read_all(s, until_eof=False, limit=10)
        out += lines(buf)
        for i in (1, 2, 3):
            if eof:
                break
            try:
                s.sendall(b"MAIL FROM:<sender@sender.test>\r\nRCPT TO:<user@example.test>\r\nDATA\r\n")
            except (BrokenPipeError, ConnectionResetError):
                eof = True
                break
            buf, eof = read_all(s, until_eof=False, limit=10)
            out += lines(buf)
            if eof or not buf.rstrip().endswith(b"354 End data with <CR><LF>.<CR><LF>"):
                break
            s.sendall(msg("%s-%d" % (arg, i)) + b".\r\n")
            buf, eof = read_all(s, until_eof=False, limit=60)
            out += lines(buf)
            out.append("-- after transaction %d" % i)
        if not eof:
            send = b"QUIT\r\n"
    else:
        sys.exit("unknown case " + case)
    if send:
        try:
            s.sendall(send)
        except (BrokenPipeError, ConnectionResetError):
            pass
    buf, eof = read_all(s)
    out += lines(buf)
    for l in out:
        print(l[:200])
    print("EOF" if eof else "OPEN")


if __name__ == "__main__":
    main()
