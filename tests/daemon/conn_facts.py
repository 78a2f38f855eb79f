#!/usr/bin/python3
"""tests/daemon/conn_facts.py - what tests/peer/peer.py saw, per connection,
for tests/daemon/test_reuse.sh (connection reuse):

    conn_facts.py TRANSCRIPT       (DIR/transcript.jsonl of a peer)

prints key=value lines:
    conns=N           connections accepted
    open=N            connections without a close record (still open)
    delivered=N       transactions whose end of data got a 2xx
    cN.mails=K        MAIL commands on connection N
    cN.auth=K         AUTH commands
    cN.rset=K         RSET commands
    cN.ehlo=K         EHLO commands
    cN.quit=0|1       the client sent QUIT
    cN.close=REASON   why it ended (peer.py: quit, eof, idle timeout, ...)
    cN.split=BYTES    reply_split: the raw bytes of the split record sent first
    cN.split_rest=WHY reply_split: why its rest was sent (time, client,
                      stopping); "" while it is held back (or never sent)
    cN.txnK=FLIGHTS   transaction K (from MAIL to its BDAT LAST or DATA's
                      end): the number of reads ("flights") its commands and
                      its BDAT data took; 1 = one flight. A RSET right
                      before MAIL counts with the transaction.
    cN.rset_with_mail=K  RSETs that arrived in the same read as the MAIL
                      after them (pipelined)
    msgs=ID,ID,...    the Message-ID of every accepted message, in order
"""
import json
import os
import re
import sys


def main():
    path = sys.argv[1]
    conns = {}
    msgs = []
    with open(path) as f:
        recs = [json.loads(line) for line in f if line.strip()]
    for r in recs:
        n = r.get("conn", 0)
        if n == 0:
            continue
        c = conns.setdefault(n, {"mails": 0, "auth": 0, "rset": 0, "ehlo": 0, "quit": 0,
                                 "close": "", "txns": [], "cur": None, "rset_flight": None,
                                 "rset_with_mail": 0, "split": "", "split_rest": ""})
        kind = r["kind"]
        if kind == "close":
            c["close"] = r.get("reason", "")
            continue
        if kind == "event" and r.get("event") == "split":
            c["split"] = r.get("first", "")
        if kind == "event" and r.get("event") == "split_rest":
            c["split_rest"] = r.get("why", "")
        if kind != "command":
            continue
        verb, flight = r.get("verb"), r.get("flight")
        reply = r.get("reply", "")
        if verb == "EHLO":
            c["ehlo"] += 1
        elif verb == "AUTH":
            c["auth"] += 1
        elif verb == "QUIT":
            c["quit"] = 1
        elif verb == "RSET":
            c["rset"] += 1
            c["rset_flight"] = flight
        elif verb == "MAIL":
            c["mails"] += 1
            flights = {flight}
            if c["rset_flight"] is not None:
                flights.add(c["rset_flight"])
                c["rset_with_mail"] += c["rset_flight"] == flight
            c["cur"] = {"flights": flights, "extra": 0}
            c["txns"].append(c["cur"])
        elif verb in ("RCPT", "DATA", "BDAT", "DOT") and c["cur"] is not None:
            c["cur"]["flights"].add(flight)
            if verb == "BDAT":
                c["cur"]["extra"] += int(r.get("chunk_reads", 0) or 0)
            if verb == "DOT":
                c["cur"]["extra"] += max(0, int(r.get("data_reads", 1) or 1) - 1)
        if verb in ("DOT", "BDAT") and (verb == "DOT" or r.get("last")):
            if reply.startswith("2") and r.get("data_file"):
                msgs.append(message_id(os.path.join(os.path.dirname(path), r["data_file"])))
            c["cur"] = None
        if verb != "RSET":
            c["rset_flight"] = None
    print("conns=%d" % len(conns))
    print("open=%d" % sum(1 for c in conns.values() if not c["close"]))
    print("delivered=%d" % len(msgs))
    for n in sorted(conns):
        c = conns[n]
        for k in ("mails", "auth", "rset", "ehlo", "quit", "close", "rset_with_mail", "split",
                  "split_rest"):
            print("c%d.%s=%s" % (n, k, c[k]))
        for i, t in enumerate(c["txns"], 1):
            print("c%d.txn%d=%d" % (n, i, len(t["flights"]) + t["extra"]))
    print("msgs=%s" % ",".join(msgs))
    return 0


def message_id(path):
    try:
        with open(path, "rb") as f:
            head = f.read(65536).split(b"\r\n\r\n", 1)[0].decode("utf-8", "replace")
    except OSError:
        return "?"
    m = re.search(r"(?im)^Message-ID:\s*(\S+)", head)
    return m.group(1) if m else "?"


if __name__ == "__main__":
    sys.exit(main())
