#!/usr/bin/python3
"""bench/bench.py - the measurements of bench/run (which sets up the servers).

Clients, each a fresh process per delivery, started with posix_spawn so that
the child's rusage is the client's own (CPU includes exec, dynamic linking
and exit; peak RSS is the client's):
  tlsrelay          full TLS 1.3 handshake (no session cache)
  tlsrelay-resumed  with tls_session_cache (the sample configuration)
  tlsrelay-nochunking  full handshake, use_chunking = no (DATA, not BDAT:
                    one round trip more against a server with CHUNKING)
  tlsrelayd         tlsrelayc (static, libc only) handing the delivery to a
                    tlsrelayd started for that configuration (bench/trd.py):
                    a delivery process forked from the prepared context,
                    reused for up to 100 deliveries; full handshake
  tlsrelayd-resumed the same with tls_session_cache
  tlsrelay-history, tlsrelayd-history  tlsrelay and tlsrelayd (full
                    handshake) with the TLS history on (tls_history): beside
                    tlsrelay and tlsrelayd in the same round-robin run, so
                    that the difference is the history's cost
  msmtp             GnuTLS, STARTTLS, certificate verification
  swaks             Perl, STARTTLS, certificate verification
All verify the receiver's certificate against tests/certs/ca.pem.
For the tlsrelayd clients the CPU of a delivery is the client's rusage plus
the daemon side's (the daemon and its delivery processes, bench/trd.py)
growth over the run divided by the deliveries; both parts are reported too.
Their memory: the client's peak RSS (GNU time), and from /proc the delivery
processes' peak RSS (VmHWM), private memory and Pss, and the daemon's RSS.

Measurements (JSON on --out, a table on stdout):
  sequential: N deliveries per client, round-robin; deliveries/s (1 / mean
              wall time of one delivery), CPU ms per delivery (user+sys of
              the process, median and mean), peak RSS
  round trips: through bench/delay_relay.py (one-way delay D); round trips
              = (median wall time with the delay - median without) / RTT
  instructions: callgrind (deterministic) for one delivery of each client;
              for tlsrelayd the client's whole run plus the delivery
              process's trd_request_run of a steady-state delivery (the
              daemon under callgrind, one dump per delivery)
  big:        one 100 MB message (tlsrelay, tlsrelayd, msmtp): MB/s, CPU s,
              peak RSS
  parallel:   P deliveries by tlsrelay-resumed, tlsrelayd-resumed and
              tlsrelayd with 20 at a time: aggregate msgs/s
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

sys.dont_write_bytecode = True     # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import trd  # noqa: E402


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


# name -> (session cache, TLS history)
DAEMON_CLIENTS = {"tlsrelayd": (False, False), "tlsrelayd-resumed": (True, False),
                  "tlsrelayd-history": (False, True)}


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
        self.daemons = {}       # configuration file -> trd.Daemon
        self.uid = trd.user_uid(a.tlsrelayd_user)

    def conf(self, port, cache, chunking=True, daemon=False, history=False):
        """The configuration file, written once: tlsrelayd reloads (and
        retires its delivery processes) when the file changes."""
        if isinstance(cache, tuple):        # a DAEMON_CLIENTS entry
            cache, history = cache
        path = os.path.join(self.work, "%s-%d-%s%s%s.conf" % (
            "tlsrelayd" if daemon else "tlsrelay", port, "cache" if cache else "nocache",
            "" if chunking else "-nochunking", "-history" if history else ""))
        if os.path.exists(path):
            return path
        spool, cdir = self.work, os.path.join(self.work, "tls_cache")
        hdir = os.path.join(self.work, "history")
        if daemon:      # the delivery processes run as tlsrelayd_user
            spool, cdir = os.path.join(self.work, "spool-d"), os.path.join(self.work, "tls_cache-d")
            hdir = os.path.join(self.work, "history-d")
            trd.nobody_dir(spool, self.uid)
            if cache:
                trd.nobody_dir(cdir, self.uid)
        if history:
            trd.nobody_dir(hdir, self.uid if daemon else None)
        with open(path, "w") as f:
            f.write("relayhost = [127.0.0.1]:%d\ntls_security_level = verify\n"
                    "tls_ca_file = %s\nhelo_name = client.bench.test\nsyslog = no\n"
                    "spool_directory = %s\n" % (port, self.a.ca, spool))
            if cache:
                f.write("tls_session_cache = %s\n" % cdir)
            if not chunking:
                f.write("use_chunking = no\n")
            if daemon:  # a connection per message, as these rows measure;
                f.write("connection_cache = no\n")  # reuse: bench/reuse
            if history:
                f.write("tls_history = %s\n" % os.path.join(hdir, "history.db"))
        os.chmod(path, 0o644)
        return path

    def daemon(self, name, port):
        """The tlsrelayd serving client name at port (started on first use); None for the others."""
        if name not in DAEMON_CLIENTS:
            return None
        conf = self.conf(port, DAEMON_CLIENTS[name], daemon=True)
        if conf not in self.daemons:
            self.daemons[conf] = trd.Daemon(self.a.tlsrelayd, conf, "%d-%s" % (port, name), self.work,
                                            self.env, self.a.tlsrelayd_user)
        return self.daemons[conf]

    def daemon_argv(self, name, port, sock):
        conf = self.conf(port, DAEMON_CLIENTS[name], daemon=True)
        return [self.a.tlsrelayc, "-S", sock, "-c", conf, "-f", "bench@client.test", "--", "bench@example.test"]

    def stop_daemons(self):
        for d in self.daemons.values():
            d.stop()
        self.daemons = {}

    def argv(self, name, port):
        a = self.a
        if name in DAEMON_CLIENTS:
            return self.daemon_argv(name, port, self.daemon(name, port).sock)
        if name == "tlsrelay":
            return [a.tlsrelay, "-c", self.conf(port, False), "-f", "bench@client.test", "--", "bench@example.test"]
        if name == "tlsrelay-resumed":
            return [a.tlsrelay, "-c", self.conf(port, True), "-f", "bench@client.test", "--", "bench@example.test"]
        if name == "tlsrelay-history":
            return [a.tlsrelay, "-c", self.conf(port, False, history=True), "-f", "bench@client.test",
                    "--", "bench@example.test"]
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


class DaemonCPU:
    """CPU of the daemons behind some clients between start() and ms_per(n)."""

    def __init__(self, cl, names, port):
        self.d = {k: cl.daemon(k, port) for k in names if k in DAEMON_CLIENTS}
        self.t0 = {k: d.cpu_ns() for k, d in self.d.items()}

    def ms_per(self, name, n):
        if name not in self.d:
            return None
        return round((self.d[name].cpu_ns() - self.t0[name]) / 1e6 / n, 3)


def median(xs):
    return statistics.median(xs) if xs else None


def sequential(cl, names, port, msg, n):
    res = {k: {"wall": [], "cpu": [], "rss": [], "fail": 0} for k in names}
    dcpu = DaemonCPU(cl, names, port)
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
        }
        daemon_ms = dcpu.ms_per(k, n)
        if daemon_ms is not None:
            # cpu_ms_*: the client's and the daemon side's together
            o = out[k]
            o["client_cpu_ms_median"], o["client_cpu_ms_mean"] = o["cpu_ms_median"], o["cpu_ms_mean"]
            o["daemon_cpu_ms_mean"] = daemon_ms
            o["cpu_ms_median"] = round(o["client_cpu_ms_median"] + daemon_ms, 2)
            o["cpu_ms_mean"] = round(o["client_cpu_ms_mean"] + daemon_ms, 2)
            o["memory"] = cl.daemon(k, port).memory()
    for k in names:     # after the daemons' memory: GNU time's run is one delivery more
        out[k]["peak_rss_kb"] = cl.rss(k, port, msg)
    return out


def round_trips(cl, names, dport, msg, rtt_ms, k):
    """Median wall time through the delay relay / RTT. The fraction above
    the whole number is local time (both ends' CPU, process start), so it is
    floored. Stalls of the client's own (delayed ACKs) count: over a real
    path they cost time too."""
    out, raw = {}, {}
    for name in names:
        slow = []
        if name in DAEMON_CLIENTS:      # its daemon for this port started, a delivery process forked
            cl.run(name, dport, msg)
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


def callgrind_total(path):
    """Instructions of one callgrind output file (its totals/summary line)."""
    with open(path, errors="replace") as f:
        for line in f:
            if line.startswith(("totals:", "summary:")):
                return int(line.split()[1])
    return None


def callgrind_client(cl, argv, msg, tag):
    cg = os.path.join(cl.work, "callgrind.%s" % tag)
    log = os.path.join(cl.work, "callgrind-%s.log" % tag)
    with open(msg, "rb") as fin, open(log, "wb") as out:
        subprocess.run(["valgrind", "--tool=callgrind", "--vgdb=no", "--callgrind-out-file=" + cg] + argv,
                       stdin=fin, stdout=out, stderr=out, env=cl.env, timeout=600)
    with open(log) as f:
        for line in f:
            if "Collected :" in line:
                return int(line.split(":")[-1])
    return None


DAEMON_CG_RUNS = 4      # deliveries through the daemon under callgrind; the last is measured


def callgrind_daemon(cl, name, port, msg):
    """tlsrelayd under callgrind: only trd_request_run is collected and a
    profile is dumped after each (one file per delivery, in the delivery
    process forked from the daemon: callgrind follows fork). The first
    delivery of a fresh delivery process is reported apart; the last one,
    run with the client under callgrind too, is the steady state."""
    tag = "cg-" + name
    cgdir = os.path.join(cl.work, tag)
    trd.nobody_dir(cgdir, cl.uid)       # the delivery process writes its dumps
    conf = cl.conf(port, DAEMON_CLIENTS[name], daemon=True)
    d = trd.Daemon(cl.a.tlsrelayd, conf, tag, cl.work, cl.env, cl.a.tlsrelayd_user, wait_s=120,
                   # --vgdb=no: valgrind makes its vgdb FIFOs in /tmp as root; the
                   # daemon, then nobody, could not remove them, and a later
                   # valgrind run as another user with the same PID would fail
                   wrapper=["valgrind", "--tool=callgrind", "--vgdb=no", "--callgrind-out-file=%s/cg.%%p" % cgdir,
                            "--collect-atstart=no", "--toggle-collect=trd_request_run",
                            "--dump-after=trd_request_run"])
    try:
        argv = cl.daemon_argv(name, port, d.sock)
        for _ in range(DAEMON_CG_RUNS - 1):
            spawn_wait(argv, msg, cl.env, os.path.join(cl.work, tag + ".out"))
        client = callgrind_client(cl, argv, msg, name)
    finally:
        d.stop(timeout=60)
    dumps = []                          # (pid, part, instructions) of the delivery process's dumps
    for fn in os.listdir(cgdir):
        pid = part = None
        path = os.path.join(cgdir, fn)
        with open(path, errors="replace") as f:
            for line in f:
                if line.startswith("pid:"):
                    pid = int(line.split()[1])
                elif line.startswith("part:"):
                    part = int(line.split()[1])
                elif line.startswith(("events:", "fn=")):
                    break
        total = callgrind_total(path)
        if pid != d.pid and total:
            dumps.append((pid, part or 0, total))
    dumps.sort()
    out = {"client": client, "worker_first": dumps[0][2] if dumps else None,
           "worker": dumps[-1][2] if len(dumps) >= 2 else None, "worker_dumps": len(dumps)}
    out["total"] = client + out["worker"] if client and out["worker"] else None
    return out


def instructions(cl, names, port, msg):
    out, parts = {}, {}
    for name in names:
        if name in DAEMON_CLIENTS:
            parts[name] = callgrind_daemon(cl, name, port, msg)
            out[name] = parts[name]["total"]
        else:
            out[name] = callgrind_client(cl, cl.argv(name, port), msg, name)
    return out, parts


def big(cl, names, port, msg):
    size = os.path.getsize(msg)
    out = {}
    for name in names:
        dcpu = DaemonCPU(cl, [name], port)
        rc, wall, cpu, _ = cl.run(name, port, msg)
        daemon_ms = dcpu.ms_per(name, 1)
        rss = cl.rss(name, port, msg)
        o = out[name] = {"bytes": size, "exit": rc, "mb_per_s": round(size / 1e6 / wall, 1),
                         "wall_s": round(wall, 2), "cpu_s": round(cpu, 3), "peak_rss_kb": rss}
        if daemon_ms is not None:
            o["client_cpu_s"], o["daemon_cpu_s"] = o["cpu_s"], round(daemon_ms / 1000, 3)
            o["cpu_s"] = round(cpu + daemon_ms / 1000, 3)
            o["memory"] = cl.daemon(name, port).memory()
    return out


def parallel(cl, name, port, msg, total, width):
    argv = cl.argv(name, port)
    dcpu = DaemonCPU(cl, [name], port)
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
    out = {"client": name, "deliveries": total, "concurrency": width, "failures": fails,
           "msgs_per_s": round(total / wall, 1), "cpu_ms_per_msg": round(1000 * cpu / total, 2)}
    daemon_ms = dcpu.ms_per(name, total)
    if daemon_ms is not None:
        out["client_cpu_ms_per_msg"] = out["cpu_ms_per_msg"]
        out["daemon_cpu_ms_per_msg"] = daemon_ms
        out["cpu_ms_per_msg"] = round(out["cpu_ms_per_msg"] + daemon_ms, 2)
        out["memory"] = cl.daemon(name, port).memory()
    return out


def fmt(v, f="%s"):
    return "-" if v is None else f % v


def parallel_list(res):
    p = res.get("parallel")
    return [p] if isinstance(p, dict) else (p or [])     # one dict in results before tlsrelayd


def table_daemon(res):
    """The tlsrelayd lines: CPU in two parts, memory, instructions in parts."""
    lines = []
    seq, parts = res["sequential"], res.get("instructions_parts", {})
    for k, v in seq.items():
        if "daemon_cpu_ms_mean" not in v:
            continue
        m = v.get("memory", {})
        lines.append("%-17s CPU %s ms = client %s (median) + daemon side %s (mean); RSS: client %s KB, "
                     "delivery process peak %s KB (VmHWM), private %s KB, Pss %s KB; daemon %s KB" % (
                         k, v["cpu_ms_median"], v["client_cpu_ms_median"], v["daemon_cpu_ms_mean"],
                         v["peak_rss_kb"], fmt(m.get("worker_hwm_kb")), fmt(m.get("worker_private_kb")),
                         fmt(m.get("worker_pss_kb")), fmt(m.get("daemon_rss_kb"))))
        p = parts.get(k)
        if p and p.get("total"):
            lines.append("%-17s instructions %s = client %s + delivery process %s (first in a fresh "
                         "process: %s)" % ("", "{:,}".format(p["total"]), "{:,}".format(p["client"]),
                                           "{:,}".format(p["worker"]), "{:,}".format(p["worker_first"])))
    return lines


def table(res):
    lines = []
    la0, la1 = (res.get("machine") or {}).get("load_avg_at_start"), res.get("load_avg_at_end")
    if la0 or la1:
        lines.append("%s, load average %s at the start, %s at the end" % (
            res.get("date"), fmt(la0 and "%.2f" % la0[0]), fmt(la1 and "%.2f" % la1[0])))
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
    lines += table_daemon(res)
    for k, v in res.get("big", {}).items():
        lines.append("%-17s %d MB: %s MB/s, CPU %s s, wall %s s, peak RSS %s KB, exit %s" % (
            k, v["bytes"] // 1000000, v["mb_per_s"], v["cpu_s"], v["wall_s"], v["peak_rss_kb"], v["exit"]))
        if "daemon_cpu_s" in v:
            m = v.get("memory", {})
            lines.append("%-17s CPU = client %s s + daemon side %s s; delivery process peak RSS %s KB "
                         "(VmHWM), private %s KB" % ("", v["client_cpu_s"], v["daemon_cpu_s"],
                                                     fmt(m.get("worker_hwm_kb")), fmt(m.get("worker_private_kb"))))
    for p in parallel_list(res):
        extra = ""
        if "daemon_cpu_ms_per_msg" in p:
            extra = " (client %s + daemon side %s)" % (p["client_cpu_ms_per_msg"], p["daemon_cpu_ms_per_msg"])
        lines.append("parallel: %s x %s by %d at a time: %s msgs/s, CPU %s ms/msg%s, failures %s" % (
            p["deliveries"], p["client"], p["concurrency"], p["msgs_per_s"], p["cpu_ms_per_msg"], extra,
            p["failures"]))
    if "parallel" in pf:
        for p in parallel_list(res):
            lines.append("parallel ratio %s / postfix: %.2f" % (
                p["client"], p["msgs_per_s"] / pf["parallel"]["msgs_per_s"]))
    for on, off in (("tlsrelay-history", "tlsrelay"), ("tlsrelayd-history", "tlsrelayd")):
        if on in seq and off in seq:
            d_cpu = seq[on]["cpu_ms_mean"] - seq[off]["cpu_ms_mean"]
            d_wall = seq[on]["wall_ms_median"] - seq[off]["wall_ms_median"]
            line = "TLS history on vs off, %s: CPU %+.3f ms/delivery (%+.1f%%, means), wall %+.3f ms (medians)" % (
                off, d_cpu, 100 * d_cpu / seq[off]["cpu_ms_mean"], d_wall)
            if ins.get(on) and ins.get(off):
                line += ", instructions %+d (%+.1f%%)" % (ins[on] - ins[off], 100 * (ins[on] - ins[off]) / ins[off])
            lines.append(line)
    if "msmtp" in seq:
        ms = seq["msmtp"]["deliveries_per_s"]
        if "tlsrelay" in seq:
            lines.append("sequential ratio tlsrelay / msmtp: %.1fx (resumed: %.1fx)" % (
                seq["tlsrelay"]["deliveries_per_s"] / ms,
                seq.get("tlsrelay-resumed", seq["tlsrelay"])["deliveries_per_s"] / ms))
        if "tlsrelayd" in seq:
            lines.append("sequential ratio tlsrelayd / msmtp: %.1fx (resumed: %.1fx)" % (
                seq["tlsrelayd"]["deliveries_per_s"] / ms,
                seq.get("tlsrelayd-resumed", seq["tlsrelayd"])["deliveries_per_s"] / ms))
    return "\n".join(lines)


def measure(a, cl, res):
    names = ["tlsrelay", "tlsrelay-history", "tlsrelay-resumed", "tlsrelay-nochunking"]
    if a.tlsrelayd and a.tlsrelayc:
        names += list(DAEMON_CLIENTS)
    names += ["msmtp", "swaks"]
    # warm-up (page cache, the receiver's processes, the session cache, the daemons)
    for k in names:
        cl.run(k, a.rport, a.msg)
    print("bench: sequential, %d deliveries per client..." % a.n, file=sys.stderr)
    res["sequential"] = sequential(cl, names, a.rport, a.msg, a.n)
    print("bench: round trips (RTT %.0f ms)..." % a.rtt_ms, file=sys.stderr)
    res["round_trips"], res["round_trips_raw"] = round_trips(cl, names, a.dport, a.msg, a.rtt_ms, a.rt_runs)
    res["rtt_ms"] = a.rtt_ms
    if not a.no_callgrind:
        print("bench: callgrind...", file=sys.stderr)
        res["instructions"], res["instructions_parts"] = instructions(cl, names, a.rport, a.msg)
    print("bench: big message...", file=sys.stderr)
    res["big"] = big(cl, [k for k in ("tlsrelay", "tlsrelayd", "msmtp") if k in names], a.rport, a.bigmsg)
    print("bench: parallel...", file=sys.stderr)
    res["parallel"] = [parallel(cl, k, a.rport, a.msg, a.parallel_total, 20)
                       for k in ("tlsrelay-resumed", "tlsrelayd-resumed", "tlsrelayd") if k in names]


def main():
    ap = argparse.ArgumentParser()
    for o in ("tlsrelay", "tlsrelayd", "tlsrelayc", "tlsrelayd-user", "msmtp", "swaks", "ca", "msg", "bigmsg",
              "work", "out", "machine-json"):
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
    res = {"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    if a.machine_json:
        with open(a.machine_json) as f:
            res["machine"] = json.load(f)
    try:
        measure(a, cl, res)
    finally:
        cl.stop_daemons()
    res["load_avg_at_end"] = os.getloadavg()
    if a.postfix_json and os.path.exists(a.postfix_json):
        with open(a.postfix_json) as f:
            res["postfix"] = json.load(f)
    with open(a.out, "w") as f:
        json.dump(res, f, indent=2)
        f.write("\n")
    print(table(res))


if __name__ == "__main__":
    main()
