#!/usr/bin/env python3
"""tests/fleet/redirect_node.py - a fake Redis Cluster node that never
answers a keyed command, only redirects it (tests/fleet/test_fleet_cluster.sh).

  redirect_node.py --port P:TARGET [--port P:TARGET ...]
                   [--tls-port P:TARGET --cert PEM --key KEY] --log FILE --pidfile F

Listens on 127.0.0.1:P for each P (--tls-port: TLS only, with that
certificate); AUTH, SELECT, ASKING and PING get +OK (PONG); any other
command gets "-MOVED 4242 127.0.0.1:TARGET" (TARGET = P: a node that sends
everything to itself; two ports naming each other: a loop). Each
redirected command is logged as "P NAME", each AUTH as "P AUTH" (never its
argument; one line, flushed). Bounded: it exits after --max-lifetime
seconds."""
import argparse, os, socket, ssl, threading, time


def read_command(f):
    line = f.readline()
    if not line.startswith(b"*"):
        return None
    n = int(line[1:].strip())
    if not 0 < n <= 64:
        return None
    args = []
    for _ in range(n):
        ln = f.readline()
        if not ln.startswith(b"$"):
            return None
        size = int(ln[1:].strip())
        if not 0 <= size <= 1 << 20:
            return None
        args.append(f.read(size + 2)[:-2])
    return args


def serve(conn, port, target, log, lock):
    f = conn.makefile("rb")
    try:
        if f.peek(1)[:1] != b"*":     # not Redis (a TLS ClientHello): hang up at once
            return
        while True:
            args = read_command(f)
            if not args:
                return
            name = args[0].upper()
            if name in (b"AUTH", b"SELECT", b"ASKING"):
                if name == b"AUTH":
                    with lock:
                        log.write("%d AUTH\n" % port)
                        log.flush()
                conn.sendall(b"+OK\r\n")
            elif name == b"PING":
                conn.sendall(b"+PONG\r\n")
            else:
                with lock:
                    log.write("%d %s\n" % (port, name.decode("ascii", "replace")))
                    log.flush()
                conn.sendall(b"-MOVED 4242 127.0.0.1:%d\r\n" % target)
    except OSError:
        pass
    finally:
        conn.close()


def handshake_then_serve(c, tls, port, target, log, lock):
    if tls is not None:
        try:
            c.settimeout(10)
            c = tls.wrap_socket(c, server_side=True)
            c.settimeout(None)
        except (OSError, ssl.SSLError):
            c.close()
            return
    serve(c, port, target, log, lock)


def listen(port, target, log, lock, tls=None):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(16)
    while True:
        c, _ = s.accept()
        threading.Thread(target=handshake_then_serve, args=(c, tls, port, target, log, lock),
                         daemon=True).start()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", action="append", default=[])
    ap.add_argument("--tls-port", action="append", default=[])
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--log", required=True)
    ap.add_argument("--pidfile", required=True)
    ap.add_argument("--max-lifetime", type=int, default=600)
    a = ap.parse_args()
    log = open(a.log, "a")
    lock = threading.Lock()
    for spec in a.port:
        p, t = (int(x) for x in spec.split(":"))
        threading.Thread(target=listen, args=(p, t, log, lock), daemon=True).start()
    if a.tls_port:
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(a.cert, a.key)
    for spec in a.tls_port:
        p, t = (int(x) for x in spec.split(":"))
        threading.Thread(target=listen, args=(p, t, log, lock, tls), daemon=True).start()
    time.sleep(0.2)
    with open(a.pidfile + ".tmp", "w") as f:
        f.write("%d\n" % os.getpid())
    os.rename(a.pidfile + ".tmp", a.pidfile)
    time.sleep(a.max_lifetime)


if __name__ == "__main__":
    main()
