"""bench/fleet.py - the measuring half of bench/fleet (which sets up the
hosts, Redis and the receivers with tests/fleet/fleet.sh and starts the
daemons): deliveries in interleaved rounds, per mode.

  fleet.py --spec FILE --n N --rounds R --redis-port P --redis-pw FILE
           --redis-pid PID --out JSON

--spec: one mode a line, "NAME DAEMON_PID ARGV..." (DAEMON_PID 0: none);
each delivery runs ARGV with the message on stdin and a recipient
u<i>@d1.test appended. Per round and mode, N deliveries one after the
other:
  cpu   the delivery's own CPU (user + system of the child: rusage of
        wait4) plus, for tlsrelayd, what the daemon and its delivery
        processes used meanwhile (bench/trd.py cpu_ns: /proc schedstat of
        the live ones, cutime + cstime of the reaped ones);
  wall  per delivery, from fork to exit;
  redis what redis-server did for the round (INFO stats over one kept
        connection of this script, its own INFO subtracted): reply
        flights (total_writes_processed: one per client per event-loop
        turn with replies, i.e. round trips), commands, connections; and
        redis-server's CPU (/proc/PID/schedstat).
The modes alternate delivery by delivery (A B C D, then D C B A, ...), so
that the machine's load, which changes within seconds here, touches every
mode alike; a round is N deliveries of each mode, and the medians of the
rounds' means are reported with their means.
"""
import argparse
import json
import os
import socket
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import trd  # noqa: E402


class Redis:
    """One kept connection for INFO stats (RESP by hand: no client library)."""

    def __init__(self, port, pw):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.f = self.s.makefile("rb")
        self.cmd("AUTH", pw)

    def cmd(self, *args):
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = a.encode()
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        self.s.sendall(out)
        line = self.f.readline()
        if line[:1] == b"$":
            body = self.f.read(int(line[1:]) + 2)
            return body[:-2].decode()
        if line[:1] == b"-":
            raise RuntimeError(line.decode().strip())
        return line.decode().strip()

    def stats(self):
        d = {}
        for line in self.cmd("INFO", "stats").splitlines():
            k, _, v = line.partition(":")
            d[k] = v
        return {k: int(d[k]) for k in ("total_writes_processed", "total_commands_processed",
                                       "total_connections_received")}


def schedstat_ns(pid):
    try:
        with open("/proc/%d/schedstat" % pid) as f:
            return int(f.read().split()[0])
    except OSError:
        return 0


def one(argv, msg, i):
    with open(msg, "rb") as fin, open(os.devnull, "wb") as null:
        t0 = time.monotonic()
        pid = os.fork()
        if pid == 0:
            os.dup2(fin.fileno(), 0)
            os.dup2(null.fileno(), 1)
            os.dup2(null.fileno(), 2)
            os.execv(argv[0], argv + ["u%d@d1.test" % i])
        _, status, ru = os.wait4(pid, 0)
        wall = time.monotonic() - t0
    return os.waitstatus_to_exitcode(status), wall, ru.ru_utime + ru.ru_stime


def measure(mode, msg, red, redis_pid, i):
    """One delivery of mode and what it cost (see the module's text)."""
    name, dpid, argv = mode
    s0, r0 = red.stats(), schedstat_ns(redis_pid)
    d0 = trd.cpu_ns(dpid) if dpid else 0
    rc, wall, cpu = one(argv, msg, i)
    d1 = trd.cpu_ns(dpid) if dpid else 0
    r1, s1 = schedstat_ns(redis_pid), red.stats()
    return {"fail": rc != 0, "wall": wall, "client": cpu, "daemon": (d1 - d0) / 1e9,
            # this script's INFO after the delivery: one command, and the
            # reply flight of the INFO before it
            "flights": s1["total_writes_processed"] - s0["total_writes_processed"] - 1,
            "commands": s1["total_commands_processed"] - s0["total_commands_processed"] - 1,
            "connections": s1["total_connections_received"] - s0["total_connections_received"],
            "redis": (r1 - r0) / 1e9}


def round_of(modes, n, msg, red, redis_pid, base):
    """n deliveries of every mode, alternating delivery by delivery."""
    got = {m[0]: [] for m in modes}
    for i in range(n):
        for m in (modes if i % 2 == 0 else modes[::-1]):
            got[m[0]].append(measure(m, msg, red, redis_pid, base + i))
    out = []
    for name, _, _ in modes:
        xs = got[name]
        mean = lambda k: sum(x[k] for x in xs) / n     # noqa: E731
        out.append({
            "mode": name, "n": n, "fail": sum(x["fail"] for x in xs),
            "wall_ms": 1000 * mean("wall"),
            "wall_median_ms": 1000 * statistics.median(x["wall"] for x in xs),
            "client_cpu_ms": 1000 * mean("client"), "daemon_cpu_ms": 1000 * mean("daemon"),
            "cpu_ms": 1000 * (mean("client") + mean("daemon")),
            "flights": mean("flights"), "commands": mean("commands"),
            "connections": mean("connections"), "redis_cpu_ms": 1000 * mean("redis"),
        })
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--spec", required=True)
    ap.add_argument("--msg", required=True)
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--redis-port", type=int, required=True)
    ap.add_argument("--redis-pw", required=True)
    ap.add_argument("--redis-pid", type=int, required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    modes = []
    with open(a.spec) as f:
        for line in f:
            p = line.split()
            if p:
                modes.append((p[0], int(p[1]), p[2:]))
    with open(a.redis_pw) as f:
        red = Redis(a.redis_port, f.read().strip())
    rounds = []
    for r in range(a.rounds):
        for res in round_of(modes, a.n, a.msg, red, a.redis_pid, 100000 * r):
            rounds.append(res)
            print("round %d %-12s wall %.3f ms cpu %.3f ms (client %.3f daemon %.3f) "
                  "flights %.2f commands %.2f connections %.2f redis-cpu %.3f ms fail %d"
                  % (r + 1, res["mode"], res["wall_ms"], res["cpu_ms"], res["client_cpu_ms"],
                     res["daemon_cpu_ms"], res["flights"], res["commands"], res["connections"],
                     res["redis_cpu_ms"], res["fail"]), flush=True)
    summary = {}
    for name, _, _ in modes:
        rs = [x for x in rounds if x["mode"] == name]
        summary[name] = {k: {"mean": statistics.mean(x[k] for x in rs),
                             "median": statistics.median(x[k] for x in rs)}
                         for k in rs[0] if k not in ("mode", "n", "fail")}
        summary[name]["fail"] = sum(x["fail"] for x in rs)
    with open(a.out, "w") as f:
        json.dump({"rounds": rounds, "summary": summary}, f, indent=1)


if __name__ == "__main__":
    main()
