#!/usr/bin/python3
"""tests/daemon/burst.py - a burst of deliveries through tlsrelayc, for
tests/daemon/test_reuse_faults.sh (a daemon or its delivery processes
killed during the burst), and what the receiver got.

    burst.py send --client TLSRELAYC --sock SOCKET --conf CONF --dir DIR
                  --n N --par P [--kill daemon:PID | workers:PID]
                  [--after K] [--only FILE] [--round NAME] [--rcpt ADDR]
                  [--size BYTES] [--first I]
        N messages (DIR/msg-I.eml, I = 0..N-1, each with its own
        Message-ID and body, some 10 KB, some 100 KB; --size: all that
        size; --first: I = FIRST..FIRST+N-1) delivered by
        tlsrelayc -S SOCKET -c CONF, P at a time (threads). After K
        deliveries have ended, the daemon (daemon:PID) or every delivery
        process (the children of PID, workers:PID) is killed with SIGKILL,
        once. --only FILE: only the indexes listed in FILE (one a line: a
        retry). Results to DIR/results-ROUND: "I EXIT FIRST-LINE" per
        message. Each tlsrelayc is bounded by 120 s.

    burst.py check --dir DIR --maildir MAILDIR --round NAME [--n N]
        Compares what the receiver delivered (Maildir files, by Message-ID)
        with the messages and the results of ROUND; prints key=value:
          sent=K             exit 0
          deferred=K         exit 75
          other=K            any other exit (never expected)
          lost=K             exit 0 but not delivered
          deferred_delivered=K  exit 75 but delivered (the MTA would send it
                             again: a duplicate)
          corrupted=K        a delivered copy whose body differs
          copies_max=K       most copies of one message
          missing=K          messages (of all N) delivered nowhere
          lost_ids=..., deferred_delivered_ids=...
"""
import argparse
import os
import re
import signal
import subprocess
import sys
import threading


def message(i, tag, size=0):
    size = size or (100 * 1024 if i % 10 == 3 else 10 * 1024)
    line = ("%06d %s " % (i, tag)) * 8
    body = []
    n = 0
    k = 0
    while n < size:
        # dots at line starts and long lines: dot-stuffing and folding paths
        text = (".%s" if k % 7 == 0 else "%s") % (line[: 60 + (k * 13) % 70])
        body.append(text)
        n += len(text) + 1
        k += 1
    head = ("From: <burst@sender.test>\nSubject: burst %d\n"
            "Message-ID: <burst-%s-%d@sender.test>\n\n" % (i, tag, i))
    return head + "\n".join(body) + "\nend of %d\n" % i


def children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def cmd_send(a):
    os.makedirs(a.dir, exist_ok=True)
    tag = os.path.basename(os.path.normpath(a.dir))
    idx = list(range(a.first, a.first + a.n))
    if a.only:
        with open(a.only) as f:
            idx = [int(x) for x in f.read().split()]
    for i in idx:
        path = os.path.join(a.dir, "msg-%d.eml" % i)
        if not os.path.exists(path):
            with open(path, "w") as f:
                f.write(message(i, tag, a.size))
    results = {}
    lock = threading.Lock()
    state = {"next": 0, "done": 0, "killed": False}
    kind, _, pid = (a.kill or "::").partition(":")

    def kill_now():
        if kind == "daemon":
            os.kill(int(pid), signal.SIGKILL)
        elif kind == "workers":
            for c in children(int(pid)):
                try:
                    os.kill(c, signal.SIGKILL)
                except OSError:
                    pass

    def worker():
        while True:
            with lock:
                if state["next"] >= len(idx):
                    return
                i = idx[state["next"]]
                state["next"] += 1
            with open(os.path.join(a.dir, "msg-%d.eml" % i), "rb") as fin:
                try:
                    p = subprocess.run([a.client, "-S", a.sock, "-c", a.conf, "-f", "burst@sender.test",
                                        "--", a.rcpt], stdin=fin, capture_output=True,
                                       timeout=120)
                    rc, out = p.returncode, p.stdout.decode("utf-8", "replace")
                except subprocess.TimeoutExpired:
                    rc, out = -1, "timeout"
            with lock:
                results[i] = (rc, out.split("\n", 1)[0])
                state["done"] += 1
                due = a.kill and not state["killed"] and state["done"] >= a.after
                if due:
                    state["killed"] = True
            if due:
                kill_now()

    threads = [threading.Thread(target=worker) for _ in range(a.par)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with open(os.path.join(a.dir, "results-%s" % a.round), "w") as f:
        for i in sorted(results):
            f.write("%d %d %s\n" % (i, results[i][0], results[i][1]))
    return 0


def body_of(text):
    return text.split("\n\n", 1)[1] if "\n\n" in text else ""


def cmd_check(a):
    got = {}
    for sub in ("new", "cur"):
        d = os.path.join(a.maildir, sub)
        for name in os.listdir(d) if os.path.isdir(d) else []:
            with open(os.path.join(d, name), "rb") as f:
                text = f.read().decode("utf-8", "replace").replace("\r\n", "\n")
            m = re.search(r"(?im)^Message-ID:\s*<burst-[^-]+-(\d+)@sender\.test>", text)
            if m:
                got.setdefault(int(m.group(1)), []).append(body_of(text))
    res = {}
    with open(os.path.join(a.dir, "results-%s" % a.round)) as f:
        for line in f:
            parts = line.rstrip("\n").split(" ", 2)
            res[int(parts[0])] = int(parts[1])
    sent = [i for i, rc in res.items() if rc == 0]
    deferred = [i for i, rc in res.items() if rc == 75]
    lost = [i for i in sent if i not in got]
    dd = [i for i in deferred if i in got]
    corrupted = 0
    for i, bodies in got.items():
        with open(os.path.join(a.dir, "msg-%d.eml" % i)) as f:
            want = body_of(f.read())
        corrupted += sum(1 for b in bodies if b != want)
    n = a.n if a.n else len(res)
    print("sent=%d" % len(sent))
    print("deferred=%d" % len(deferred))
    print("other=%d" % (len(res) - len(sent) - len(deferred)))
    print("lost=%d" % len(lost))
    print("deferred_delivered=%d" % len(dd))
    print("corrupted=%d" % corrupted)
    print("copies_max=%d" % max([len(b) for b in got.values()] or [0]))
    print("missing=%d" % sum(1 for i in range(n) if i not in got))
    print("lost_ids=%s" % ",".join(map(str, lost[:20])))
    print("deferred_delivered_ids=%s" % ",".join(map(str, dd[:20])))
    print("deferred_ids=%s" % " ".join(map(str, deferred)))
    return 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("send")
    s.add_argument("--client", required=True)
    s.add_argument("--sock", required=True)
    s.add_argument("--conf", required=True)
    s.add_argument("--dir", required=True)
    s.add_argument("--n", type=int, required=True)
    s.add_argument("--par", type=int, default=40)
    s.add_argument("--kill")
    s.add_argument("--after", type=int, default=0)
    s.add_argument("--only")
    s.add_argument("--round", default="1")
    s.add_argument("--rcpt", default="user@example.test")
    s.add_argument("--size", type=int, default=0)
    s.add_argument("--first", type=int, default=0)
    c = sub.add_parser("check")
    c.add_argument("--dir", required=True)
    c.add_argument("--maildir", required=True)
    c.add_argument("--round", default="1")
    c.add_argument("--n", type=int, default=0)
    a = ap.parse_args()
    return cmd_send(a) if a.cmd == "send" else cmd_check(a)


if __name__ == "__main__":
    sys.exit(main())
