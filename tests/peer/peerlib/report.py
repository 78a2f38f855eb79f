"""peerlib.report - "peer.py report DIR": key=value facts from
DIR/transcript.jsonl for the shell tests."""

import sys

from .scenario import KNOWN_VERBS
from .transcript import load


def report(outdir, out_fp=None):
    """key=value facts for the shell tests, to out_fp (default stdout). Keys:
    conns                 connections accepted
    peer_errors           connections that ended on an exception in peer.py (a peer bug)
    peer_exit             1 if the peer stopped cleanly (wrote its exit record)
    cN.trace              verbs and {events} of connection N ("+" marks TLS)
    mail_plain mail_tls   MAIL commands without / with TLS
    auth_plain            AUTH commands without TLS
    auth auth_tls auth_ok AUTH commands; over TLS; with accepted credentials (scenario "auth")
    auth_mechs auth_results auth_users
                          per AUTH command: mechanism, result (ok, fail, aborted, bad,
                          unsupported, "-" without a dialogue) and the user name it sent
    tls_versions          protocol of each TLS session, e.g. "TLSv1.3"
    sni                   server name (SNI) the client sent in each TLS session, "-" for none
    tls_resumed           TLS sessions the client resumed (scenario "tls_resume")
    starttls              STARTTLS commands in all; starttls_max: most on one connection
    starttls_conns        connections (space-separated numbers) that sent STARTTLS
    helo ehlo             HELO / EHLO commands
    injected              connections that got an injected STARTTLS reply
    after_injection       commands + trailing bytes received after an injection
    tls_first             1 if every connection did TLS before its first command
    delivered             over what the 2xx end-of-data replies went: "tls", "plain",
                          both space-separated, or "none"
    accepted_data         data files (under DIR) whose end of data got 2xx in a
                          transaction with at least one accepted recipient
    accepted_sha256       SHA-256 of each accepted message (as accepted_data)
    all_data data_bytes   every data file, and their sizes
    data_sha256           SHA-256 of every message (also with "store_data": false)
    bdat_lines            the BDAT lines, joined with " | "
    bdat_reads            per BDAT: reads its data took after the command's read
    data_reads            per DATA message: reads its body and dot took after 354
    round_trips           per connection: 1 (connect) + 1 (greeting) + TLS
                          handshakes + reads that brought commands, QUIT excluded
                          (the client flights after which it waits for a reply)
    unknown               commands that are not SMTP verbs (e.g. body lines sent
                          outside DATA, garbage)
    mail_lines rcpt_lines the MAIL / RCPT lines, joined with " | "
    txn_cmds txn_flights  first transaction: MAIL+RCPT+DATA (or +first BDAT) count and the number of
                          different reads (flights) they arrived in
    flights               "N:K" per connection: commands per read, e.g. "1:1 1:1 1:3"
    """
    recs = load(outdir)
    conns = sorted({r["conn"] for r in recs if r["kind"] == "connect"})
    out = {}
    out["conns"] = len(conns)
    out["peer_errors"] = sum(1 for r in recs if r["kind"] == "close"
                             and r.get("reason", "").startswith("peer error"))
    out["peer_exit"] = sum(1 for r in recs if r["kind"] == "exit")
    cmds = [r for r in recs if r["kind"] == "command"]
    out["mail_plain"] = sum(1 for r in cmds if r["verb"] == "MAIL" and not r["tls"])
    out["mail_tls"] = sum(1 for r in cmds if r["verb"] == "MAIL" and r["tls"])
    out["auth_plain"] = sum(1 for r in cmds if r["verb"] == "AUTH" and not r["tls"])
    auths = [r for r in cmds if r["verb"] == "AUTH"]
    out["auth"] = len(auths)
    out["auth_tls"] = sum(1 for r in auths if r["tls"])
    out["auth_ok"] = sum(1 for r in auths if r.get("auth_result") == "ok")
    out["auth_mechs"] = " ".join(r.get("auth_mech", "?") for r in auths)
    out["auth_results"] = " ".join(r.get("auth_result", "-") for r in auths)
    out["auth_users"] = " ".join(r.get("auth_user", "") for r in auths)
    out["tls_versions"] = " ".join(r.get("version", "?") for r in recs if r["kind"] == "event"
                                   and r.get("event") == "tls_started")
    out["sni"] = " ".join(r.get("sni") or "-" for r in recs if r["kind"] == "event"
                          and r.get("event") == "tls_started")
    out["tls_resumed"] = sum(1 for r in recs if r["kind"] == "event"
                             and r.get("event") == "tls_started" and r.get("resumed"))
    out["helo"] = sum(1 for r in cmds if r["verb"] == "HELO")
    out["ehlo"] = sum(1 for r in cmds if r["verb"] == "EHLO")
    st = [r for r in cmds if r["verb"] == "STARTTLS"]
    out["starttls"] = len(st)
    per = {}
    for r in st:
        per[r["conn"]] = per.get(r["conn"], 0) + 1
    out["starttls_max"] = max(per.values()) if per else 0
    out["starttls_conns"] = " ".join(str(c) for c in sorted(per))
    inj = {r["conn"] for r in recs if r["kind"] == "event" and r.get("event") == "injected"}
    out["injected"] = len(inj)
    after = sum(1 for r in cmds if r.get("after_injection"))
    after += sum(r.get("trailing_bytes", 0) for r in recs
                 if r["kind"] == "close" and r.get("after_injection"))
    out["after_injection"] = after
    tls_first = 1
    for c in conns:
        first = [r for r in recs if r["conn"] == c and r["kind"] in ("command", "event")]
        if not first or not (first[0]["kind"] == "event" and first[0]["event"] == "tls_started"):
            tls_first = 0
    out["tls_first"] = tls_first if conns else 0
    dots = [r for r in cmds if "data_file" in r]    # DATA's dot or BDAT LAST
    # accepted: 2xx to the end of data of a transaction with a recipient
    acc = [r for r in dots if r["reply"][:1] == "2" and r.get("rcpts_accepted", 0) > 0]
    over = []
    for r in acc:
        w = "tls" if r["tls"] else "plain"
        if w not in over:
            over.append(w)
    out["delivered"] = " ".join(over) or "none"
    out["accepted_data"] = " ".join(r["data_file"] for r in acc)
    out["accepted_sha256"] = " ".join(r["data_sha256"] for r in acc)
    out["all_data"] = " ".join(r["data_file"] for r in dots)
    out["data_bytes"] = " ".join(str(r["data_bytes"]) for r in dots)
    out["data_sha256"] = " ".join(r["data_sha256"] for r in dots)
    bdats = [r for r in cmds if r["verb"] == "BDAT"]
    out["bdat_lines"] = " | ".join(r["line"] for r in bdats)
    out["bdat_reads"] = " ".join(str(r.get("chunk_reads", "-")) for r in bdats)
    out["data_reads"] = " ".join(str(r["data_reads"]) for r in dots if "data_reads" in r)
    rts = []
    for c in conns:
        hs = sum(1 for r in recs if r["conn"] == c and r["kind"] == "event"
                 and r.get("event") == "tls_started")
        fls = {r["flight"] for r in cmds if r["conn"] == c and r["verb"] != "QUIT"}
        rts.append(str(2 + hs + len(fls)))
    out["round_trips"] = " ".join(rts)
    out["unknown"] = sum(1 for r in cmds if r["verb"] not in KNOWN_VERBS)
    out["mail_lines"] = " | ".join(r["line"] for r in cmds if r["verb"] == "MAIL")
    out["rcpt_lines"] = " | ".join(r["line"] for r in cmds if r["verb"] == "RCPT")
    # first transaction: from the first MAIL to the next DATA on that connection
    txn = []
    for r in cmds:
        if not txn:
            if r["verb"] == "MAIL":
                txn.append(r)
            continue
        if r["conn"] != txn[0]["conn"] or r["verb"] not in ("RCPT", "DATA", "BDAT"):
            break
        txn.append(r)
        if r["verb"] in ("DATA", "BDAT"):
            break
    out["txn_cmds"] = len(txn)
    out["txn_flights"] = len({r["flight"] for r in txn})
    fl = []
    for c in conns:
        counts = {}
        order = []
        for r in cmds:
            if r["conn"] == c and r["verb"] != "DOT":
                if r["flight"] not in counts:
                    order.append(r["flight"])
                counts[r["flight"]] = counts.get(r["flight"], 0) + 1
        fl += ["%d:%d" % (c, counts[f]) for f in order]
    out["flights"] = " ".join(fl)
    for c in conns:
        items = []
        for r in recs:
            if r["conn"] != c:
                continue
            if r["kind"] == "greeting":
                items.append("<%s>" % (r["reply"][:3] or "(%s)" % r.get("action")))
            elif r["kind"] == "command":
                items.append(("+" if r["tls"] else "") + r["verb"] + "=" +
                             (r["reply"][:3] or "(%s)" % r.get("action")))
            elif r["kind"] == "event":
                items.append("{%s}" % r["event"])
            elif r["kind"] == "close":
                items.append("{close:%s%s}" % (r["reason"], ",trailing=%d" % r["trailing_bytes"]
                                                if r["trailing_bytes"] else ""))
        out["c%d.trace" % c] = " ".join(items)
    for k, v in out.items():
        v = "".join(c if c >= " " and c != "\x7f" else "?" for c in str(v))
        print("%s=%s" % (k, v), file=out_fp or sys.stdout)
    return 0
