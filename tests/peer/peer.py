#!/usr/bin/python3
"""peer.py - a scriptable, adversarial SMTP server for the tlsrelay tests.

    peer.py serve --port PORT --scenario FILE --outdir DIR [--pidfile FILE]
                  [--certs DIR] [--max-lifetime SECS] [--address 127.X.Y.Z]
    peer.py report DIR          (facts from DIR/transcript.jsonl, key=value)

Python 3 standard library only. Listens on 127.0.0.1, or on the IPv4
loopback address given with --address (127.0.0.0/8 only, never anything
else; tests/dns/test_mx_delivery.sh runs peers on 127.0.0.2x:25), one
thread per connection, connection index 1, 2, ... in accept
order. Every command, reply and event is one JSON line in
DIR/transcript.jsonl; message data (after DATA/354, un-dot-stuffed) goes to
DIR/data-CONN-N.eml. The scenario format is described in README.md.

Additions for tests/peer/test_policy.sh (not yet in README.md):
  "auth": {"user": U, "password": P[, "ok": REPLY, "fail": REPLY]} makes AUTH
      PLAIN (initial response, or a "334 " prompt) and AUTH LOGIN (334
      prompts "VXNlcm5hbWU6", "UGFzc3dvcmQ6") work: 235 (or "ok") when the
      client sent U and P, 535 5.7.8 (or "fail") otherwise; "*" aborts (501),
      other mechanisms get 504, undecodable base64 501. Default null: AUTH is
      answered 504 as before. A replies/replies_tls "AUTH" entry still wins.
      The AUTH command record gets auth_mech, auth_user, auth_result (ok,
      fail, aborted, bad, unsupported), auth_initial, auth_responses.
  "tls_min_version", "tls_max_version": "TLSv1.2" or "TLSv1.3" (default null:
      the ssl module's defaults).
  tls_started events carry "sni" (the client's server name, null if none).
  report: auth, auth_tls, auth_ok, auth_mechs, auth_results, auth_users,
      tls_versions, sni.

Additions for tests/peer/test_integrity.sh (CHUNKING, message integrity):
  BDAT (RFC 3030): "BDAT n [LAST]" then exactly n bytes, read whatever they
      contain. Default replies: 503 without an accepted MAIL, 554 5.5.1 without
      an accepted RCPT, 503 after a refused chunk of the same transaction,
      else "250 2.0.0 Ok: n bytes" and, for LAST, "250 2.0.0 Ok: queued as ..."
      (replies "BDAT"/"BDAT#N" override; the data is read first either way).
      Action "drop" on BDAT closes after the command line, before its data
      (a close in the middle of BDAT); other actions act after the data.
      The transaction ends at LAST: the message (the chunks joined) is
      recorded like a DATA message (data_file, data_bytes, data_sha256,
      rcpts_accepted); each BDAT record has chunk_bytes, last, and
      chunk_reads (reads its data needed after the command's own read: 0 =
      it arrived in the same flight as the command). A DATA message's record
      has data_reads (reads from 354 to the final dot: 1 = one flight).
  "store_data": false keeps no message bytes (data files are empty): the
      peer only counts them and computes the SHA-256 (for 100 MB messages).
  report: round_trips, bdat_lines, bdat_reads, data_sha256; txn_cmds and
      txn_flights count a BDAT that ends the first transaction too.

Exit: on SIGTERM/SIGINT/SIGHUP (status 0), after --max-lifetime seconds
(default 120, status 0), or at once with status 2 if the port cannot be
bound (the caller picks another port) and 1 on a bad scenario.

The code is the package peerlib/ next to this file (see peerlib/__init__.py
for its modules); this file is the command line only.
"""

import argparse
import os
import socket
import sys

sys.dont_write_bytecode = True      # no __pycache__ in the source tree (make dist ships tests/peer)

from peerlib.report import report  # noqa: E402 (after dont_write_bytecode)
from peerlib.scenario import HOST  # noqa: E402
from peerlib.server import cmd_serve  # noqa: E402


def cmd_report(args):
    return report(args.outdir)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(prog="peer.py", description="scriptable SMTP peer for tests")
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve", help="run the server")
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--scenario", required=True)
    s.add_argument("--outdir", required=True)
    s.add_argument("--pidfile")
    s.add_argument("--certs", default=os.path.normpath(os.path.join(here, "..", "certs")))
    s.add_argument("--max-lifetime", type=float, default=120.0)
    s.add_argument("--report", help="write the report (as \"peer.py report\") to this file at exit")
    s.add_argument("--address", default=HOST,
                   help="IPv4 loopback address to listen on (127.0.0.0/8; default %s)" % HOST)
    r = sub.add_parser("report", help="summarise DIR/transcript.jsonl as key=value lines")
    r.add_argument("outdir")
    args = ap.parse_args()
    if args.cmd == "serve":
        if not 0 < args.port < 65536:
            ap.error("bad port")
        try:
            loopback = socket.inet_pton(socket.AF_INET, args.address)[0] == 127
        except OSError:
            loopback = False
        if not loopback:
            ap.error("--address must be an IPv4 loopback address (127.0.0.0/8)")
        args.max_lifetime = max(1.0, min(args.max_lifetime, 3600.0))
        return cmd_serve(args)
    return cmd_report(args)


if __name__ == "__main__":
    sys.exit(main())
