#!/usr/bin/python3
"""https_policy.py - a small HTTPS server for the MTA-STS tests.

    https_policy.py --address 127.0.0.80 --port N --cert C --key K \
        --config FILE.json --log FILE --pidfile FILE [--max-lifetime SECS]

Serves GET requests by the Host header (port stripped). FILE.json is read
again for every request, so a test changes answers by rewriting it:

    {"mta-sts.a.test": {"status": 200, "type": "text/plain", "body": "...",
                        "location": "https://...", "repeat": 1}}

"body" is sent "repeat" times (to make large bodies); "location" adds a
Location header. A host not in the file gets 404. Every request appends
one line "HOST PATH STATUS" to --log (the tests count fetches with it).
Only loopback addresses are accepted. Standard library only.
"""
import argparse
import http.server
import ipaddress
import json
import os
import signal
import ssl
import sys
import threading


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet: the log file is ours
        pass

    def do_GET(self):
        host = (self.headers.get("Host") or "").split(":")[0].lower()
        try:
            with open(self.server.config, encoding="utf-8") as f:
                conf = json.load(f)
        except (OSError, ValueError):
            conf = {}
        spec = conf.get(host, {"status": 404, "type": "text/plain", "body": "not here\n"})
        status = int(spec.get("status", 200))
        body = (spec.get("body", "") * int(spec.get("repeat", 1))).encode()
        with self.server.lock:
            with open(self.server.log, "a", encoding="utf-8") as f:
                f.write("%s %s %d\n" % (host, self.path, status))
        self.send_response(status)
        self.send_header("Content-Type", spec.get("type", "text/plain"))
        self.send_header("Content-Length", str(len(body)))
        if "location" in spec:
            self.send_header("Location", spec["location"])
        self.end_headers()
        self.wfile.write(body)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--address", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--config", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--pidfile", required=True)
    ap.add_argument("--max-lifetime", type=int, default=300)
    a = ap.parse_args()
    if not ipaddress.ip_address(a.address).is_loopback:
        sys.exit("refusing a non-loopback address")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(a.cert, a.key)
    try:
        srv = http.server.ThreadingHTTPServer((a.address, a.port), Handler)
    except OSError as e:
        print("bind: %s" % e, file=sys.stderr)
        sys.exit(2)
    srv.daemon_threads = True
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    srv.config, srv.log, srv.lock = a.config, a.log, threading.Lock()
    threading.Timer(a.max_lifetime, lambda: os.kill(os.getpid(), signal.SIGTERM)).start()
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=srv.shutdown).start())
    with open(a.pidfile, "w", encoding="utf-8") as f:
        f.write("%d\n" % os.getpid())
    srv.serve_forever()
    os._exit(0)


if __name__ == "__main__":
    main()
