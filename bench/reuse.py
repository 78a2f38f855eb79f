#!/usr/bin/python3
"""bench/reuse.py - the measurements of bench/reuse (connection reuse in
tlsrelayd, issue 16); bench/reuse sets up the servers and the daemons.

    reuse.py seq --client TLSRELAYC --sock SOCKET --conf CONF --msg FILE
                 --n N --daemon-pid PID [--rtt-ms MS]
        N deliveries one after the other (tlsrelayc started with
        posix_spawn, as bench/bench.py does: its rusage is its own). The
        first opens the connection (cold); the others find it kept (warm).
        JSON on stdout: wall ms of each, client CPU ms of each (user+sys,
        exec and exit included), the daemon side's CPU over the warm ones
        (the daemon and its delivery processes, bench/trd.py), and with
        --rtt-ms the warm wall time in round trips.

    reuse.py tree-cpu PID
        CPU of PID and its descendants, live or reaped, in ns (bench/trd.py):
        for a Postfix master, the whole instance.

    reuse.py table JSON
        The table of a bench/reuse result.
"""
import json
import os
import statistics
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import trd  # noqa: E402


def spawn(argv, stdin_path):
    fin = os.open(stdin_path, os.O_RDONLY)
    fout = os.open(os.devnull, os.O_WRONLY)
    t0 = time.monotonic()
    try:
        pid = os.posix_spawn(argv[0], argv, os.environ,
                             file_actions=[(os.POSIX_SPAWN_DUP2, fin, 0),
                                           (os.POSIX_SPAWN_DUP2, fout, 1),
                                           (os.POSIX_SPAWN_DUP2, fout, 2)])
    finally:
        os.close(fin)
        os.close(fout)
    _, status, ru = os.wait4(pid, 0)
    return os.waitstatus_to_exitcode(status), (time.monotonic() - t0) * 1000, \
        (ru.ru_utime + ru.ru_stime) * 1000


def cmd_seq(args):
    a = dict(zip(args[::2], args[1::2]))
    argv = [a["--client"], "-S", a["--sock"], "-c", a["--conf"], "-f", "bench@client.test", "--",
            "bench@example.test"]
    n, dpid = int(a["--n"]), int(a["--daemon-pid"])
    walls, cpus, fails = [], [], 0
    d0 = None
    for i in range(n):
        if i == 1:
            d0 = trd.cpu_ns(dpid)      # the warm ones only
        rc, wall, cpu = spawn(argv, a["--msg"])
        fails += rc != 0
        walls.append(wall)
        cpus.append(cpu)
    d1 = trd.cpu_ns(dpid)
    warm = walls[1:]
    out = {"n": n, "failures": fails, "cold_wall_ms": walls[0], "warm_wall_ms": warm,
           "warm_wall_ms_median": statistics.median(warm), "warm_wall_ms_mean": statistics.mean(warm),
           "client_cpu_ms_median": statistics.median(cpus[1:]),
           "client_cpu_ms_mean": statistics.mean(cpus[1:]),
           "daemon_cpu_ms_per_msg": (d1 - d0) / 1e6 / (n - 1)}
    out["cpu_ms_per_msg"] = out["client_cpu_ms_mean"] + out["daemon_cpu_ms_per_msg"]
    if "--rtt-ms" in a:
        rtt = float(a["--rtt-ms"])
        out["rtt_ms"] = rtt
        out["warm_rtts_median"] = out["warm_wall_ms_median"] / rtt
        out["cold_rtts"] = walls[0] / rtt
    json.dump(out, sys.stdout)
    print()
    return 0 if fails == 0 else 1


def fmt(v, spec="%.2f"):
    return "-" if v is None else spec % v


def cmd_table(path):
    with open(path) as f:
        r = json.load(f)
    lat, cpu = r["latency"], r["cpu"]
    print("bench/reuse %s  (%s; %s cores; load %s at start, %s at end)" % (
        r["started"], r["machine"]["cpu"], r["machine"]["cores"],
        " ".join("%.2f" % x for x in r["load_start"]), " ".join("%.2f" % x for x in r["load_end"])))
    print("sequential through a %.0f ms RTT relay, 10 KB: cold %.1f ms (%.2f RTT), warm median %.1f ms "
          "= %.2f RTT (mean %.1f ms), %d failures" % (
              lat["rtt_ms"], lat["cold_wall_ms"], lat["cold_rtts"], lat["warm_wall_ms_median"],
              lat["warm_rtts_median"], lat["warm_wall_ms_mean"], lat["failures"]))
    print("CPU per message on a warm connection, %d sequential, direct: %.3f ms = client %.3f (mean; "
          "median %.3f) + daemon side %.3f" % (
              cpu["n"] - 1, cpu["cpu_ms_per_msg"], cpu["client_cpu_ms_mean"], cpu["client_cpu_ms_median"],
              cpu["daemon_cpu_ms_per_msg"]))
    print("host MTA, %d held messages released (10 KB):" % r["host"]["messages"])
    print("  %-34s %9s %12s %12s %12s %6s %12s %6s" % ("", "msgs/s", "host ms/msg", "daemon", "receiver",
                                                      "TLS", "machine", "idle"))
    for run in r["host"]["runs"]:
        idle = run.get("machine_idle_share")
        print("  %-34s %9.1f %12s %12s %12s %6s %12s %6s" % (
            run["name"], run["msgs_per_s"], fmt(run["host_cpu_ms_per_msg"], "%.3f"),
            fmt(run.get("daemon_cpu_ms_per_msg"), "%.3f"), fmt(run["receiver_cpu_ms_per_msg"], "%.3f"),
            run.get("tls_handshakes", "-"), fmt(run.get("machine_cpu_ms_per_msg"), "%.3f"),
            "-" if idle is None else "%.0f%%" % (100 * idle)))
    for k, v in r["host"].get("ratios", {}).items():
        print("  %s: %s" % (k, v))


def main():
    if len(sys.argv) >= 2 and sys.argv[1] == "seq":
        return cmd_seq(sys.argv[2:])
    if len(sys.argv) == 3 and sys.argv[1] == "tree-cpu":
        print(trd.cpu_ns(int(sys.argv[2])))
        return 0
    if len(sys.argv) == 3 and sys.argv[1] == "table":
        return cmd_table(sys.argv[2])
    print(__doc__, file=sys.stderr)
    return 64


if __name__ == "__main__":
    sys.exit(main())
