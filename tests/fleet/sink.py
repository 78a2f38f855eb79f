#!/usr/bin/env python3
"""tests/fleet/sink.py - an SMTP receiver with STARTTLS for the fleet tests:
accepts every message (no connection limit: 3 hosts x 200 deliveries), and
appends one line per accepted message to --log ("accepted RCPT BYTES").
Each message is kept as OUTDIR/N.eml. --stall-first S: the first message
gets no reply for S seconds (the reporting host is killed meanwhile), then
the connection closes without a 250: that message is NOT accepted.

  sink.py --address A --port P --cert C --key K --outdir D --pidfile F
          [--stall-first S] [--max-lifetime S]
Loopback only; stopped by its PID (SIGTERM)."""
import argparse
import os
import signal
import socketserver
import ssl
import threading
import time

lock = threading.Lock()
state = {"n": 0, "stalled": False}


class Handler(socketserver.StreamRequestHandler):
    def reply(self, line):
        self.wfile.write((line + "\r\n").encode())
        self.wfile.flush()

    def handle(self):
        a = self.server.args
        tls = False
        self.reply("220 sink.test ESMTP")
        rcpts = []
        while True:
            line = self.rfile.readline(4096)
            if not line:
                return
            cmd = line.decode("latin-1").strip()
            verb = cmd.split(" ", 1)[0].upper()
            if verb in ("EHLO", "HELO"):
                caps = ["250-sink.test", "250-PIPELINING", "250-8BITMIME"]
                if not tls:
                    caps.append("250-STARTTLS")
                caps.append("250 ENHANCEDSTATUSCODES")
                self.wfile.write(("\r\n".join(caps) + "\r\n").encode())
                self.wfile.flush()
            elif verb == "STARTTLS" and not tls:
                self.reply("220 2.0.0 go")
                ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                ctx.load_cert_chain(a.cert, a.key)
                self.connection = ctx.wrap_socket(self.connection, server_side=True)
                self.rfile = self.connection.makefile("rb")
                self.wfile = self.connection.makefile("wb")
                tls = True
            elif verb == "MAIL":
                rcpts = []
                self.reply("250 2.1.0 ok")
            elif verb == "RCPT":
                rcpts.append(cmd[8:].strip())
                self.reply("250 2.1.5 ok")
            elif verb == "DATA":
                self.reply("354 go")
                data = b""
                while True:
                    l = self.rfile.readline(1 << 20)
                    if not l or l in (b".\r\n", b".\n"):
                        break
                    data += l
                with lock:
                    stall = a.stall_first > 0 and not state["stalled"]
                    state["stalled"] = True
                if stall:
                    open(os.path.join(a.outdir, "stalled"), "w").close()
                    time.sleep(a.stall_first)
                    return
                with lock:
                    state["n"] += 1
                    n = state["n"]
                    with open(os.path.join(a.outdir, "%d.eml" % n), "wb") as f:
                        f.write(data)
                    with open(a.log, "a") as f:
                        f.write("accepted %s %d\n" % (",".join(rcpts), len(data)))
                self.reply("250 2.0.0 Ok: queued as SINK%d" % n)
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            elif verb in ("RSET", "NOOP"):
                self.reply("250 ok")
            else:
                self.reply("502 5.5.2 no")


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    p = argparse.ArgumentParser()
    for k in ("address", "cert", "key", "outdir", "pidfile"):
        p.add_argument("--" + k, required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--stall-first", type=float, default=0)
    p.add_argument("--max-lifetime", type=float, default=600)
    a = p.parse_args()
    if not a.address.startswith("127."):
        raise SystemExit("loopback only")
    a.log = os.path.join(a.outdir, "accepted.log")
    open(a.log, "a").close()
    srv = Server((a.address, a.port), Handler)
    srv.args = a
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    threading.Timer(a.max_lifetime, lambda: os._exit(0)).start()
    with open(a.pidfile, "w") as f:
        f.write("%d\n" % os.getpid())
    srv.serve_forever()


if __name__ == "__main__":
    main()
