#!/usr/bin/python3
"""bench/bench.py - the measurements of bench/run (which sets up the servers).

Clients, each a fresh process per delivery, started with posix_spawn so that
the child's rusage is the client's own (CPU includes exec, dynamic linking
and exit; peak RSS is the client's):
  tlsrelay          full TLS 1.3 handshake (no session cache)
  tlsrelay-resumed  with tls_session_cache (the sample configuration)
  tlsrelay-nochunking  full handshake, use_chunking = no (DATA, not BDAT:
                    one round trip more against a server with CHUNKING)
  msmtp             GnuTLS, STARTTLS, certificate verification
  swaks             Perl, STARTTLS, certificate verification
All verify the receiver's certificate against tests/certs/ca.pem.

Measurements (JSON on --out, a table on stdout):
  sequential: N deliveries per client, round-robin; deliveries/s (1 / mean
              wall time of one delivery), CPU ms per delivery (user+sys of
              the process, median and mean), peak RSS
  round trips: through bench/delay_relay.py (one-way delay D); round trips
              = (median wall time with the delay - median without) / RTT
  instructions: callgrind (deterministic) for one delivery of each client
  big:        one 100 MB message (tlsrelay, msmtp): MB/s, CPU s, peak RSS
  parallel:   P deliveries by tlsrelay with 20 at a time: aggregate msgs/s
  postfix:    Postfix smtp(8) as the reference (bench/run measures it and
              passes its JSON with --postfix-json)
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time


def spawn_wait(argv, stdin_path, env=None, out_path=os.devnull):
    """Run argv with stdin from a file; (exit status, wall s, cpu s, maxrss KB).
    maxrss is NOT the client's: a child made by posix_spawn (vfork) or fork
    starts with this Python's high-water mark; see peak_rss()."""
    fin = os.open(stdin_path, os.O_RDONLY)
    fout = os.open(out_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    t0 = time.monotonic()
    try:
        pid = os.posix_spawn(argv[0], argv, env if env is not None else os.environ,
                             file_actions=[(os.POSIX_SPAWN_DUP2, fin, 0),
                                           (os.POSIX_SPAWN_DUP2, fout, 1),
                                           (os.POSIX_SPAWN_DUP2, fout, 2)])
    finally:
        os.close(fin)
        os.close(fout)
    _, status, ru = os.wait4(pid, 0)
    wall = time.monotonic() - t0
    return os.waitstatus_to_exitcode(status), wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss


def peak_rss(argv, stdin_path, env, work):
    """The client's own peak RSS (KB): GNU time forks it from its own small
    process, so the child's high-water mark starts at time's ~1 MB."""
    out = os.path.join(work, "time.out")
    spawn_wait(["/usr/bin/time", "-f", "%M", "-o", out] + argv, stdin_path, env)
    with open(out) as f:
        return int(f.read().split()[-1])


class Clients:
    def __init__(self, a, work):
        self.a = a
        self.work = work
        self.env = dict(os.environ)
        self.env.pop("LD_LIBRARY_PATH", None)
        if a.tlsrelay_ld_path:
            self.env["LD_LIBRARY_PATH"] = a.tlsrelay_ld_path
        with open(os.path.join(work, "msmtprc"), "w") as f:
            f.write("defaults\nlogfile -\n")
        os.chmod(os.path.join(work, "msmtprc"), 0o600)

    def conf(self, port, cache, chunking=True):
        path = os.path.join(self.work, "tlsrelay-%d-%s%s.conf" % (
            port, "cache" if cache else "nocache", "" if chunking else "-nochunking"))
        with open(path, "w") as f:
            f.write("relayhost = [127.0.0.1]:%d\ntls_security_level = verify\n"
                    "tls_ca_file = %s\nhelo_name = client.bench.test\nsyslog = no\n"
                    "spool_directory = %s\n" % (port, self.a.ca, self.work))
            if cache:
                f.write("tls_session_cache = %s\n" % os.path.join(self.work, "tls_cache"))
            if not chunking:
                f.write("use_chunking = no\n")
        return path

    def argv(self, name, port):
        a = self.a
        if name == "tlsrelay":
            return [a.tlsrelay, "-c", self.conf(port, False), "-f", "bench@client.test", "--", "bench@example.test"]
        if name == "tlsrelay-resumed":
            return [a.tlsrelay, "-c", self.conf(port, True), "-f", "bench@client.test", "--", "bench@example.test"]
        if name == "tlsrelay-nochunking":
            return [a.tlsrelay, "-c", self.conf(port, False, chunking=False), "-f", "bench@client.test",
                    "--", "bench@example.test"]
        if name == "msmtp":
            return [a.msmtp, "-C", os.path.join(self.work, "msmtprc"), "--host=127.0.0.1",
                    "--port=%d" % port, "--auth=off", "--tls=on", "--tls-starttls=on",
                    "--tls-trust-file=" + a.ca, "--domain=client.bench.test",
                    "--from=bench@client.test", "--", "bench@example.test"]
        if name == "swaks":
            return [a.swaks, "--silent", "1", "--server", "127.0.0.1:%d" % port,
                    "--helo", "client.bench.test", "--from", "bench@client.test",
                    "--to", "bench@example.test", "--tls", "--tls-verify", "--tls-ca-path", a.ca,
                    "--data", "-"]
        raise ValueError(name)

    def run(self, name, port, msg, log=None):
        return spawn_wait(self.argv(name, port), msg, self.env,
                          log or os.path.join(self.work, name + ".log"))

    def rss(self, name, port, msg):
        return peak_rss(self.argv(name, port), msg, self.env, self.work)


def median(xs):
    return statistics.median(xs) if xs else None


def sequential(cl, names, port, msg, n):
    res = {k: {"wall": [], "cpu": [], "rss": [], "fail": 0} for k in names}
    for _ in range(n):
        for k in names:
            rc, wall, cpu, rss = cl.run(k, port, msg)
            r = res[k]
            r["fail"] += rc != 0
            r["wall"].append(wall)
            r["cpu"].append(cpu)
            r["rss"].append(rss)
    out = {}
    for k, r in res.items():
        out[k] = {
            "deliveries": n, "failures": r["fail"],
            "deliveries_per_s": round(n / sum(r["wall"]), 1),
            "wall_ms_median": round(1000 * median(r["wall"]), 2),
            "cpu_ms_median": round(1000 * median(r["cpu"]), 2),
            "cpu_ms_mean": round(1000 * statistics.mean(r["cpu"]), 2),
            "peak_rss_kb": cl.rss(k, port, msg),
        }
    return out


def round_trips(cl, names, dport, msg, rtt_ms, k):
    """Median wall time through the delay relay / RTT. The fraction above
    the whole number is local time (both ends' CPU, process start), so it is
    floored. Stalls of the client's own (delayed ACKs) count: over a real
    path they cost time too."""
    out, raw = {}, {}
    for name in names:
        slow = []
        for _ in range(k):
            rc, wall, _, _ = cl.run(name, dport, msg)
            if rc == 0:
                slow.append(wall)
        if not slow:
            out[name] = raw[name] = None
            continue
        raw[name] = round(median(slow) * 1000 / rtt_ms, 2)
        out[name] = int(raw[name])
    return out, raw


def instructions(cl, names, port, msg, work):
    out = {}
    for name in names:
        cg = os.path.join(work, "callgrind.%s" % name)
        argv = ["valgrind", "--tool=callgrind", "--callgrind-out-file=" + cg] + cl.argv(name, port)
        with open(msg, "rb") as fin, open(os.path.join(work, "callgrind-%s.log" % name), "wb") as log:
            subprocess.run(argv, stdin=fin, stdout=log, stderr=log, env=cl.env, timeout=600)
        total = None
        with open(os.path.join(work, "callgrind-%s.log" % name)) as log:
            for line in log:
                if "Collected :" in line:
                    total = int(line.split(":")[-1])
        out[name] = total
    return out


def big(cl, names, port, msg):
    size = os.path.getsize(msg)
    out = {}
    for name in names:
        rc, wall, cpu, _ = cl.run(name, port, msg)
        rss = cl.rss(name, port, msg)
        out[name] = {"bytes": size, "exit": rc, "mb_per_s": round(size / 1e6 / wall, 1),
                     "wall_s": round(wall, 2), "cpu_s": round(cpu, 3), "peak_rss_kb": rss}
    return out


def parallel(cl, name, port, msg, total, width):
    argv = cl.argv(name, port)
    running, done, fails = {}, 0, 0
    t0 = time.monotonic()
    started = 0
    cpu = 0.0
    log = os.path.join(cl.work, "parallel.log")
    while done < total:
        while started < total and len(running) < width:
            fin = os.open(msg, os.O_RDONLY)
            fout = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            pid = os.posix_spawn(argv[0], argv, cl.env,
                                 file_actions=[(os.POSIX_SPAWN_DUP2, fin, 0),
                                               (os.POSIX_SPAWN_DUP2, fout, 1),
                                               (os.POSIX_SPAWN_DUP2, fout, 2)])
            os.close(fin)
            os.close(fout)
            running[pid] = 1
            started += 1
        pid, status, ru = os.wait4(-1, 0)
        if pid in running:
            del running[pid]
            done += 1
            fails += os.waitstatus_to_exitcode(status) != 0
            cpu += ru.ru_utime + ru.ru_stime
    wall = time.monotonic() - t0
    return {"client": name, "deliveries": total, "concurrency": width, "failures": fails,
            "msgs_per_s": round(total / wall, 1), "cpu_ms_per_msg": round(1000 * cpu / total, 2)}


def fmt(v, f="%s"):
    return "-" if v is None else f % v


def table(res):
    lines = []
    seq, rt, ins = res["sequential"], res.get("round_trips", {}), res.get("instructions", {})
    lines.append("%-19s %9s %9s %9s %9s %8s %12s" % (
        "client (10 KB)", "deliv/s", "wall ms", "CPU ms", "RSS KB", "RTTs", "instructions"))
    for k, v in seq.items():
        lines.append("%-19s %9s %9s %9s %9s %8s %12s" % (
            k, v["deliveries_per_s"], v["wall_ms_median"], v["cpu_ms_median"], v["peak_rss_kb"],
            fmt(rt.get(k)), "{:,}".format(ins[k]) if ins.get(k) else "-"))
    pf = res.get("postfix") or {}
    for k in ("sequential", "parallel"):
        if k in pf:
            p = pf[k]
            lines.append("%-19s %9s %9s %9s %9s %8s %12s" % (
                "postfix smtp(8) " + k[:3], p.get("msgs_per_s"), "-", fmt(p.get("cpu_ms_per_msg")),
                fmt(p.get("peak_rss_kb")), "-", "-"))
    lines.append("")
    for k, v in res.get("big", {}).items():
        lines.append("%-17s %d MB: %s MB/s, CPU %s s, wall %s s, peak RSS %s KB, exit %s" % (
            k, v["bytes"] // 1000000, v["mb_per_s"], v["cpu_s"], v["wall_s"], v["peak_rss_kb"], v["exit"]))
    p = res.get("parallel")
    if p:
        lines.append("parallel: %s x %s by %d at a time: %s msgs/s, CPU %s ms/msg, failures %s" % (
            p["deliveries"], p["client"], p["concurrency"], p["msgs_per_s"], p["cpu_ms_per_msg"],
            p["failures"]))
    if "parallel" in pf and p:
        lines.append("parallel ratio tlsrelay / postfix: %.2f" % (p["msgs_per_s"] / pf["parallel"]["msgs_per_s"]))
    if "msmtp" in seq and "tlsrelay" in seq:
        lines.append("sequential ratio tlsrelay / msmtp: %.1fx (resumed: %.1fx)" % (
            seq["tlsrelay"]["deliveries_per_s"] / seq["msmtp"]["deliveries_per_s"],
            seq.get("tlsrelay-resumed", seq["tlsrelay"])["deliveries_per_s"] / seq["msmtp"]["deliveries_per_s"]))
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser()
    for o in ("tlsrelay", "msmtp", "swaks", "ca", "msg", "bigmsg", "work", "out", "machine-json"):
        ap.add_argument("--" + o)
    ap.add_argument("--tlsrelay-ld-path", default="")
    ap.add_argument("--rport", type=int, required=True)
    ap.add_argument("--dport", type=int, required=True)
    ap.add_argument("--rtt-ms", type=float, required=True)
    ap.add_argument("--n", type=int, default=30)
    ap.add_argument("--rt-runs", type=int, default=3)
    ap.add_argument("--parallel-total", type=int, default=200)
    ap.add_argument("--postfix-json")
    ap.add_argument("--no-callgrind", action="store_true")
    ap.add_argument("--table", help="print the table of this JSON result and exit")
    if "--table" in sys.argv:
        with open(sys.argv[sys.argv.index("--table") + 1]) as f:
            print(table(json.load(f)))
        return
    a = ap.parse_args()
    cl = Clients(a, a.work)
    names = ["tlsrelay", "tlsrelay-resumed", "tlsrelay-nochunking", "msmtp", "swaks"]
    res = {"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    if a.machine_json:
        with open(a.machine_json) as f:
            res["machine"] = json.load(f)
    # warm-up (page cache, the receiver's processes, the session cache)
    for k in names:
        cl.run(k, a.rport, a.msg)
    print("bench: sequential, %d deliveries per client..." % a.n, file=sys.stderr)
    res["sequential"] = sequential(cl, names, a.rport, a.msg, a.n)
    print("bench: round trips (RTT %.0f ms)..." % a.rtt_ms, file=sys.stderr)
    res["round_trips"], res["round_trips_raw"] = round_trips(cl, names, a.dport, a.msg, a.rtt_ms, a.rt_runs)
    res["rtt_ms"] = a.rtt_ms
    if not a.no_callgrind:
        print("bench: callgrind...", file=sys.stderr)
        res["instructions"] = instructions(cl, names, a.rport, a.msg, a.work)
    print("bench: big message...", file=sys.stderr)
    res["big"] = big(cl, ["tlsrelay", "msmtp"], a.rport, a.bigmsg)
    print("bench: parallel...", file=sys.stderr)
    res["parallel"] = parallel(cl, "tlsrelay-resumed", a.rport, a.msg, a.parallel_total, 20)
    if a.postfix_json and os.path.exists(a.postfix_json):
        with open(a.postfix_json) as f:
            res["postfix"] = json.load(f)
    with open(a.out, "w") as f:
        json.dump(res, f, indent=2)
        f.write("\n")
    print(table(res))


if __name__ == "__main__":
    main()
