"""bench/trd.py - tlsrelayd for bench/bench.py: start, stop, and what its
processes cost, read from /proc.

One daemon per configuration file: a daemon serves only deliveries whose
-c names the file it was started with (plugin/transport/transport.c,
not_served; another one makes tlsrelayc run tlsrelay itself), so every
configuration the bench uses gets its own daemon, socket
<work>/trd-run/trd-<tag>.sock (trd-run belongs to the daemon's user: the
daemon makes its socket after it dropped root).

Started as root the daemon needs -u: it runs as `nobody`, so its spool
directory and session cache directory belong to nobody (0700) and the
configuration, CA file and message are world-readable. Each daemon's PID is
appended to <work>/tlsrelayd.pids, which bench/run stops at exit should
this process die first; Daemon.stop() stops it by its PID (SIGTERM, then
SIGKILL after 10 s: the delivery processes end when their control socket
closes).

CPU of a daemon (cpu_ns): the daemon's own, its reaped children's
(cutime + cstime of /proc/PID/stat, clock ticks) and each live child's
(/proc/PID/task/PID/children): a live delivery process is not in the
daemon's cutime until it is reaped. Live processes are read from
/proc/PID/schedstat (run time in ns, user + system) rather than utime +
stime (10 ms ticks: too coarse for 30 deliveries of ~0.5 ms).

Memory (memory): per live delivery process VmHWM (peak RSS as the kernel
counts it: pages shared with the daemon and the other processes included),
Private_Clean + Private_Dirty and Pss of /proc/PID/smaps_rollup (what the
process has that no other has, now, not at its peak); the daemon's VmRSS
and VmHWM.
"""
import os
import pwd
import signal
import subprocess
import time

TCK = os.sysconf("SC_CLK_TCK")


def _stat(pid):
    with open("/proc/%d/stat" % pid) as f:
        return f.read().rsplit(")", 1)[1].split()   # fields from 3 (state) on


def _schedstat_ns(pid):
    with open("/proc/%d/schedstat" % pid) as f:
        return int(f.read().split()[0])


def children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def cpu_ns(pid):
    """CPU of pid and all its descendants, dead (reaped) or alive, in ns."""
    try:
        st = _stat(pid)
        total = _schedstat_ns(pid) + (int(st[13]) + int(st[14])) * 10**9 // TCK  # cutime, cstime
    except (OSError, IndexError, ValueError):
        return 0
    for c in children(pid):
        total += cpu_ns(c)
    return total


def _status_kb(pid, keys):
    out = {}
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in keys:
                    out[k] = int(v.split()[0])
    except OSError:
        pass
    return out


def _rollup_kb(pid):
    out = {}
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("Pss", "Private_Clean", "Private_Dirty"):
                    out[k] = int(v.split()[0])
    except OSError:
        pass
    return out


def nobody_dir(path, uid):
    os.makedirs(path, exist_ok=True)
    if uid is not None:
        os.chown(path, uid, -1)
    os.chmod(path, 0o700)


class Daemon:
    def __init__(self, program, conf, tag, work, env, user=None, wrapper=(), wait_s=15, log=None):
        run = os.path.join(work, "trd-run")
        os.makedirs(run, exist_ok=True)
        if user:
            os.chown(run, pwd.getpwnam(user).pw_uid, -1)
        os.chmod(run, 0o755)
        self.sock = os.path.join(run, "trd-%s.sock" % tag)
        self.tag = tag
        if os.path.exists(self.sock):  # left by a daemon of ours that was killed
            os.unlink(self.sock)
        argv = list(wrapper) + [program, "-c", conf, "-s", self.sock]
        if user:
            argv += ["-u", user]
        with open(log or os.path.join(work, "tlsrelayd-%s.log" % tag), "ab") as out:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out, env=env)
        self.pid = self.proc.pid
        with open(os.path.join(work, "tlsrelayd.pids"), "a") as f:
            f.write("%d\n" % self.pid)
        # The socket exists once it listens (before the context is made: a
        # client's connection waits in the listen queue). Not probed by
        # connecting: that would be a request, refused, in the mail log.
        end = time.monotonic() + wait_s
        while time.monotonic() < end and self.proc.poll() is None:
            if os.path.exists(self.sock):
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("tlsrelayd %s did not start (see %s)" % (tag, log or "its log"))

    def workers(self):
        return children(self.pid)

    def cpu_ns(self):
        return cpu_ns(self.pid)

    def memory(self):
        ws = []
        for w in self.workers():
            m = _status_kb(w, ("VmHWM", "VmRSS"))
            m.update(_rollup_kb(w))
            if m:
                ws.append(m)
        d = _status_kb(self.pid, ("VmHWM", "VmRSS"))
        out = {"workers": len(ws), "daemon_rss_kb": d.get("VmRSS"), "daemon_hwm_kb": d.get("VmHWM")}
        if ws:
            out["worker_hwm_kb"] = max(w.get("VmHWM", 0) for w in ws)
            out["worker_private_kb"] = max(w.get("Private_Clean", 0) + w.get("Private_Dirty", 0) for w in ws)
            out["worker_pss_kb"] = max(w.get("Pss", 0) for w in ws)
        return out

    def stop(self, timeout=10):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def user_uid(user):
    return pwd.getpwnam(user).pw_uid if user else None
