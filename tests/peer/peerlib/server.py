"""peerlib.server - the listener: one thread (dialogue.Conn) per accepted
connection, at most MAX_CONNECTIONS, a lifetime, a clean stop on a signal;
cmd_serve is "peer.py serve"."""

import json
import os
import signal
import socket
import sys
import threading
import time

from .dialogue import Conn
from .report import report
from .scenario import HOST, MAX_CONNECTIONS, ScenarioError, check_scenario
from .transcript import Transcript


class Server:
    def __init__(self, args, scenario):
        self.scenario = scenario
        self.outdir = args.outdir
        self.certs = args.certs
        self.started = time.monotonic()
        self.lifetime = args.max_lifetime
        self.stopping = threading.Event()
        self.transcript = Transcript(os.path.join(args.outdir, "transcript.jsonl"))
        self.lock = threading.Lock()
        self.socks = {}
        self.threads = []
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind((args.address, args.port))
        self.fillers = []
        if scenario.get("accept") == "never":
            self.lsock.listen(0)
            self.fill_backlog(args.address, args.port)
        else:
            self.lsock.listen(16)
        self.lsock.settimeout(0.2)

    def fill_backlog(self, address, port):
        """accept "never": a listen queue of 0 filled by our own connections
        and never accepted, so that the kernel drops further SYNs and a
        client's connect() hangs until its own timeout."""
        for _ in range(3):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            try:
                s.connect((address, port))
            except (BlockingIOError, InterruptedError):
                pass
            self.fillers.append(s)
        time.sleep(0.2)

    def time_left(self):
        return max(0.0, self.lifetime - (time.monotonic() - self.started))

    def track(self, conn, sock):
        with self.lock:
            self.socks[conn] = sock

    def untrack(self, conn):
        with self.lock:
            self.socks.pop(conn, None)

    def serve(self):
        n = 0
        if self.fillers:       # accept "never": wait, accept nothing
            self.stopping.wait(self.time_left())
        while not self.fillers and not self.stopping.is_set() and self.time_left() > 0:
            try:
                sock, _ = self.lsock.accept()
            except socket.timeout:
                continue
            except OSError:
                if self.stopping.is_set():
                    break
                raise
            n += 1
            if n > MAX_CONNECTIONS:
                self.transcript.write(n, "refused", reason="more than %d connections" % MAX_CONNECTIONS)
                sock.close()
                continue
            conn = Conn(self, sock, n)
            self.track(conn, sock)
            t = threading.Thread(target=conn.run, name="conn%d" % n, daemon=True)
            self.threads.append(t)
            t.start()
        self.stop()

    def stop(self):
        self.stopping.set()
        for s in self.fillers + [self.lsock]:
            try:
                s.close()
            except OSError:
                pass
        # Let connections whose client has gone finish reading what is buffered.
        deadline = time.monotonic() + 2
        for t in self.threads:
            t.join(max(0.0, deadline - time.monotonic()))
        with self.lock:
            socks = list(self.socks.values())
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for t in self.threads:
            t.join(1)
        self.transcript.write(0, "exit", lifetime_left=round(self.time_left(), 1))
        self.transcript.close()


def cmd_serve(args):
    try:
        with open(args.scenario, encoding="utf-8") as f:
            scenario = json.load(f)
        check_scenario(scenario)
    except (OSError, ValueError, ScenarioError) as e:
        print("peer.py: bad scenario %s: %s" % (args.scenario, e), file=sys.stderr)
        return 1
    os.makedirs(args.outdir, exist_ok=True)
    try:
        server = Server(args, scenario)
    except OSError as e:
        print("peer.py: cannot listen on %s:%d: %s" % (HOST, args.port, e), file=sys.stderr)
        return 2

    def on_signal(signum, frame):
        server.stopping.set()

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, on_signal)
    if args.pidfile:
        tmp = args.pidfile + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % os.getpid())
        os.rename(tmp, args.pidfile)   # appears only when we listen
    print("peer.py: listening on %s:%d, scenario %s" % (args.address, args.port, args.scenario), flush=True)
    try:
        server.serve()
    finally:
        if args.report:     # the report of "peer.py report", without another start
            with open(args.report + ".tmp", "w", encoding="utf-8") as f:
                report(args.outdir, f)
            os.rename(args.report + ".tmp", args.report)
        if args.pidfile:
            try:
                os.unlink(args.pidfile)
            except OSError:
                pass
    return 0
