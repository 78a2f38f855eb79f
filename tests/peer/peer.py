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
  "tls_resume": true keeps one TLS context for the server's lifetime, so its
      TLS 1.3 tickets (and TLS 1.2 sessions) are valid across connections
      (default false: a new context, hence no resumption, per connection;
      with true, connections should not overlap: the SNI callback is the
      latest connection's). tls_started events carry "resumed" (true when
      the client resumed a session); report: tls_resumed (count).
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
"""

import argparse
import base64
import binascii
import hashlib
import json
import os
import signal
import socket
import ssl
import struct
import sys
import threading
import time

HOST = "127.0.0.1"
LINE_MAX = 4096                 # command line, bytes with CRLF
MSG_MAX = 8 * 1024 * 1024       # stored message bytes
REPLY_MAX = 4 * 1024 * 1024     # generated reply bytes
SILENT_MAX = 60                 # seconds of silence at most
MAX_CONNECTIONS = 20
READ_CHUNK = 65536

DEFAULTS = {
    "hostname": "peer.test",
    "greeting": "220 peer.test ESMTP peer.py",
    "implicit_tls": False,
    "cert": "server.pem",
    "key": "server.key",
    "ehlo_caps": ["PIPELINING", "SIZE 10240000", "STARTTLS", "ENHANCEDSTATUSCODES",
                  "8BITMIME", "DSN"],
    "ehlo_caps_tls": None,       # None: ehlo_caps without STARTTLS
    "replies": {},
    "replies_tls": {},
    "rcpt_replies": {},
    "actions": {},
    "hide": [],
    "starttls_action": "tls",
    "garbage": "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n",
    "silent_secs": 10,
    "idle_timeout": 30,
    "handshake_timeout": 10,
    "auth": None,                # {"user", "password"[, "ok", "fail"]}: AUTH PLAIN/LOGIN dialogue
    "tls_min_version": None,     # "TLSv1.2", "TLSv1.3": bounds of the server's TLS versions
    "tls_max_version": None,
    "store_data": True,          # False: message bytes only counted and hashed
    "accept": "yes",             # "never": a full listen queue, connects time out (top level only)
    "tls_resume": False,         # True: one TLS context for the server's life (session resumption)
}
AUTH_OK = "235 2.7.0 Authentication successful"
AUTH_FAIL = "535 5.7.8 Error: authentication failed: authentication failure"
AUTH_KEYS = {"user", "password", "ok", "fail"}
TLS_VERSIONS = {"TLSv1.2": "TLSv1_2", "TLSv1.3": "TLSv1_3"}
KNOWN_VERBS = {"EHLO", "HELO", "LHLO", "STARTTLS", "AUTH", "MAIL", "RCPT", "DATA", "DOT",
               "BDAT", "RSET", "NOOP", "QUIT", "VRFY", "EXPN", "HELP", "XCLIENT"}
MERGED_DICTS = ("replies", "replies_tls", "rcpt_replies", "actions")
KNOWN_KEYS = set(DEFAULTS) | {"comment", "connections"}
ACTIONS = ("drop", "reply_drop", "silent", "reply_silent", "reset", "endless", "reply", "trickle")
TRICKLE_SECS = 0.25             # between two bytes of a "trickle" reply
STARTTLS_ACTIONS = ("tls", "none", "garbage", "close", "reset", "silent")
ENDLESS_MAX = 256 * 1024 * 1024     # bytes of an endless reply at most


class ScenarioError(Exception):
    pass


def check_scenario(sc):
    if not isinstance(sc, dict):
        raise ScenarioError("the scenario must be a JSON object")
    for part in [sc] + list((sc.get("connections") or {}).values()):
        if not isinstance(part, dict):
            raise ScenarioError("connections: each value must be an object")
        for k, v in part.items():
            if k not in KNOWN_KEYS:
                raise ScenarioError("unknown key %r" % k)
            if k in MERGED_DICTS and not isinstance(v, dict):
                raise ScenarioError("%s must be an object" % k)
            if k == "actions":
                for a in v.values():
                    if a not in ACTIONS:
                        raise ScenarioError("bad action %r (one of %s)" % (a, ", ".join(ACTIONS)))
            if k == "accept" and (v not in ("yes", "never") or part is not sc):
                raise ScenarioError("accept must be \"yes\" or \"never\", at the top level")
            if k == "starttls_action" and v not in STARTTLS_ACTIONS:
                raise ScenarioError("bad starttls_action %r" % v)
            if k == "auth" and v is not None:
                if not isinstance(v, dict) or set(v) - AUTH_KEYS or \
                        not all(isinstance(v.get(x), str) for x in ("user", "password")):
                    raise ScenarioError("auth must be null or an object with user, password "
                                        "(strings) and optionally ok, fail (replies)")
                for x in ("ok", "fail"):
                    if x in v:
                        build_reply(v[x])
            if k in ("tls_min_version", "tls_max_version") and v is not None \
                    and v not in TLS_VERSIONS:
                raise ScenarioError("%s must be null or one of %s" % (k, ", ".join(TLS_VERSIONS)))
        if part is not sc and "connections" in part:
            raise ScenarioError("connections cannot nest")
    for n in (sc.get("connections") or {}):
        if not str(n).isdigit():
            raise ScenarioError("connections keys are connection numbers (1, 2, ...)")
    for part in [sc] + list((sc.get("connections") or {}).values()):
        for k in ("greeting",):
            if k in part:
                build_reply(part[k])
        for k in ("replies", "replies_tls", "rcpt_replies"):
            for v in part.get(k, {}).values():
                if v is not None:
                    build_reply(v)


def conn_config(sc, n):
    """The scenario as seen by connection n: defaults < top level < connections[n]."""
    cfg = {k: (dict(v) if isinstance(v, dict) else v) for k, v in DEFAULTS.items()}
    for part in (sc, (sc.get("connections") or {}).get(str(n), {})):
        for k, v in part.items():
            if k in ("connections", "comment"):
                continue
            if k in MERGED_DICTS:
                for kk, vv in v.items():     # null removes an inherited entry
                    if vv is None:
                        cfg[k].pop(kk, None)
                    else:
                        cfg[k][kk] = vv
            else:
                cfg[k] = v
    if cfg["ehlo_caps_tls"] is None:
        cfg["ehlo_caps_tls"] = [c for c in cfg["ehlo_caps"]
                                if c.split()[0].upper() != "STARTTLS"]
    cfg["silent_secs"] = max(0, min(float(cfg["silent_secs"]), SILENT_MAX))
    return cfg


def build_reply(spec):
    """A reply: a string, or a list of strings and {"repeat": S, "times": N}.
    Lone LF becomes CRLF; a final CRLF is added if missing. Returns bytes."""
    parts = spec if isinstance(spec, list) else [spec]
    out = []
    size = 0
    for p in parts:
        if isinstance(p, dict):
            s, t = p.get("repeat"), p.get("times", 1)
            if not isinstance(s, str) or not isinstance(t, int) or t < 0:
                raise ScenarioError("bad repeat part %r" % (p,))
            if len(s) * t > REPLY_MAX:
                raise ScenarioError("reply longer than %d bytes" % REPLY_MAX)
            p = s * t
        elif not isinstance(p, str):
            raise ScenarioError("bad reply part %r" % (p,))
        size += len(p)
        if size > REPLY_MAX:
            raise ScenarioError("reply longer than %d bytes" % REPLY_MAX)
        out.append(p)
    text = "".join(out).replace("\r\n", "\n").replace("\n", "\r\n")
    if not text.endswith("\r\n"):
        text += "\r\n"
    return text.encode("utf-8", "surrogateescape")


def printable(b, limit=300):
    s = b[:limit].decode("utf-8", "backslashreplace")
    return s + ("..." if len(b) > limit else "")


class Transcript:
    def __init__(self, path):
        self.lock = threading.Lock()
        self.fp = open(path, "a", encoding="utf-8")
        self.seq = 0

    def write(self, conn, kind, **fields):
        with self.lock:
            self.seq += 1
            rec = {"seq": self.seq, "t": round(time.time(), 3), "conn": conn, "kind": kind}
            rec.update(fields)
            self.fp.write(json.dumps(rec, sort_keys=False) + "\n")
            self.fp.flush()

    def close(self):
        with self.lock:
            self.fp.close()


class Closed(Exception):
    """The connection is over (reason in args[0])."""


class _AuthAbort(Exception):
    """The client answered "*" to a 334 prompt."""


class MsgSink:
    """Message bytes: counted, hashed, kept up to MSG_MAX when store is on."""

    def __init__(self, store):
        self.store = store
        self.data = bytearray()
        self.n = 0
        self.sha = hashlib.sha256()
        self.over = False

    def add(self, b):
        self.n += len(b)
        self.sha.update(b)
        if not self.store:
            return
        if len(self.data) + len(b) > MSG_MAX:
            self.over = True
        else:
            self.data += b


class Conn:
    def __init__(self, server, sock, n):
        self.server = server
        self.sock = sock
        self.n = n
        self.cfg = conn_config(server.scenario, n)
        self.tr = server.transcript
        self.tls = False
        self.buf = b""              # bytes read; buf[pos:] is still unread
        self.pos = 0
        self.flight = 0             # reads so far: commands of one read share a flight
        self.counts = {}            # verb -> occurrences on this connection
        self.caps = self.cfg["ehlo_caps"]
        self.injected = False
        self.mail_ok = False
        self.rcpt_ok = 0
        self.ntxn = 0
        self.sni = None             # server name the client asked for (TLS SNI)
        self.msg = None             # MsgSink of the BDAT transaction in progress
        self.bdat_failed = False    # a chunk of this BDAT transaction was refused
        self.sock.settimeout(float(self.cfg["idle_timeout"]))

    # ------------------------------------------------------------ output
    def event(self, name, **fields):
        self.tr.write(self.n, "event", event=name, tls=self.tls, **fields)

    def send(self, data):
        try:
            self.sock.sendall(data)
        except (OSError, ssl.SSLError) as e:
            raise Closed("send failed: %s" % e)

    # ------------------------------------------------------------- input
    def fill(self):
        """One read (one "flight") appended to what is still unread."""
        try:
            data = self.sock.recv(READ_CHUNK)
        except socket.timeout:
            raise Closed("idle timeout")
        except (OSError, ssl.SSLError) as e:
            raise Closed("recv failed: %s" % e)
        if not data:
            raise Closed("eof")
        self.flight += 1
        self.buf = self.buf[self.pos:] + data
        self.pos = 0

    def unread(self):
        return self.buf[self.pos:]

    def readline(self, limit):
        """One line with its LF (which may lack its CR). A line longer than
        limit comes back cut at limit with toolong=True; the rest of it, up
        to its LF, is read and thrown away. Memory: limit + one read."""
        while True:
            i = self.buf.find(b"\n", self.pos, self.pos + limit)
            if i >= 0:
                line, self.pos = self.buf[self.pos:i + 1], i + 1
                return line, False
            if len(self.buf) - self.pos >= limit:
                head = self.buf[self.pos:self.pos + limit]
                self.pos += limit
                while True:
                    j = self.buf.find(b"\n", self.pos)
                    if j >= 0:
                        self.pos = j + 1
                        return head, True
                    self.pos = len(self.buf)
                    self.fill()
            self.fill()

    # ----------------------------------------------------------- replies
    def lookup(self, verb, occurrence, arg):
        """The scenario's reply for this command, or None. Order: replies_tls
        (when TLS is on) VERB#N then VERB; replies VERB#N; rcpt_replies (RCPT
        only, first pattern contained in the argument); replies VERB. The end
        of data is DOT (alias ".")."""
        cfg = self.cfg
        names = [verb] + (["."] if verb == "DOT" else [])
        tables = ([cfg["replies_tls"]] if self.tls else []) + [cfg["replies"]]
        for table in tables:
            for nm in names:
                if "%s#%d" % (nm, occurrence) in table:
                    return build_reply(table["%s#%d" % (nm, occurrence)])
            if verb == "RCPT" and table is cfg["replies"]:
                addr = arg.lower()
                for pat, rep in cfg["rcpt_replies"].items():
                    if pat.lower() in addr:
                        return build_reply(rep)
            for nm in names:
                if nm in table:
                    return build_reply(table[nm])
        return None

    def action_for(self, verb, occurrence):
        acts = self.cfg["actions"]
        for k in ("%s#%d" % (verb, occurrence), verb):
            if k in acts:
                return acts[k]
        if verb == "DOT":
            for k in (".#%d" % occurrence, "."):
                if k in acts:
                    return acts[k]
        return None

    def ehlo_reply(self):
        lines = [self.cfg["hostname"]] + list(self.caps)
        out = []
        for i, l in enumerate(lines):
            out.append("250%s%s" % (" " if i == len(lines) - 1 else "-", l))
        return build_reply("\r\n".join(out))

    def offers_starttls(self):
        return any(c.split()[0].upper() == "STARTTLS" for c in self.caps if c.strip())

    def default_reply(self, verb, arg):
        h = self.cfg["hostname"]
        if verb in ("EHLO", "LHLO"):
            return self.ehlo_reply()
        if verb == "HELO":
            return build_reply("250 %s" % h)
        if verb == "STARTTLS":
            if self.tls:
                return build_reply("554 5.5.1 Error: TLS already active")
            if not self.offers_starttls():
                return build_reply("502 5.5.1 Error: STARTTLS not offered")
            return build_reply("220 2.0.0 Ready to start TLS")
        if verb == "MAIL":
            return build_reply("250 2.1.0 Ok")
        if verb == "RCPT":
            if not self.mail_ok:
                return build_reply("503 5.5.1 Error: need MAIL command")
            return build_reply("250 2.1.5 Ok")
        if verb == "DATA":
            if not self.mail_ok:
                return build_reply("503 5.5.1 Error: need RCPT command")
            if self.rcpt_ok == 0:
                return build_reply("554 5.5.1 Error: no valid recipients")
            return build_reply("354 End data with <CR><LF>.<CR><LF>")
        if verb == "DOT":
            return build_reply("250 2.0.0 Ok: queued as PEER%d%d" % (self.n, self.ntxn))
        if verb in ("RSET", "NOOP"):
            return build_reply("250 2.0.0 Ok")
        if verb == "QUIT":
            return build_reply("221 2.0.0 Bye")
        if verb == "AUTH":
            return build_reply("504 5.5.4 Error: authentication not supported")
        return build_reply("502 5.5.2 Error: command not recognized")

    # -------------------------------------------------------------- TLS
    def tls_context(self):
        def on_sni(sslobj, server_name, context):
            self.sni = server_name      # None: the client sent no SNI
        kept = getattr(self.server, "tls_resume_ctx", None) if self.cfg["tls_resume"] else None
        if kept is not None:
            kept.sni_callback = on_sni
            return kept
        certs = self.server.certs
        cert = os.path.join(certs, self.cfg["cert"])
        key = os.path.join(certs, self.cfg["key"])
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        if self.cfg["tls_min_version"]:
            ctx.minimum_version = getattr(ssl.TLSVersion, TLS_VERSIONS[self.cfg["tls_min_version"]])
        if self.cfg["tls_max_version"]:
            ctx.maximum_version = getattr(ssl.TLSVersion, TLS_VERSIONS[self.cfg["tls_max_version"]])
        ctx.sni_callback = on_sni
        if self.cfg["tls_resume"]:
            self.server.tls_resume_ctx = ctx
        return ctx

    def start_tls(self, why):
        if self.unread():
            self.event("plaintext_discarded", bytes=len(self.unread()), data=printable(self.unread()))
            self.buf, self.pos = b"", 0
        try:
            ctx = self.tls_context()
            self.sock.settimeout(float(self.cfg["handshake_timeout"]))
            s = ctx.wrap_socket(self.sock, server_side=True, do_handshake_on_connect=False)
            self.sock = s
            self.server.track(self, s)
            s.do_handshake()
        except (OSError, ssl.SSLError, ValueError) as e:
            self.event("tls_failed", reason=str(e), at=why)
            raise Closed("TLS handshake failed")
        self.sock.settimeout(float(self.cfg["idle_timeout"]))
        self.tls = True
        self.caps = self.cfg["ehlo_caps_tls"]
        self.event("tls_started", at=why, version=self.sock.version(),
                   cipher=(self.sock.cipher() or ["?"])[0], sni=self.sni,
                   resumed=self.sock.session_reused)

    def read_client_hello(self):
        """Some bytes of the ClientHello (at most 5 s of waiting)."""
        self.sock.settimeout(5)
        got = b""
        try:
            got = self.sock.recv(READ_CHUNK)
        except (OSError, ssl.SSLError):
            pass
        return got

    def starttls_garbage(self):
        """Read the ClientHello (some bytes), answer with bytes that are not TLS."""
        got = self.read_client_hello()
        garbage = self.cfg["garbage"].encode("utf-8", "surrogateescape")
        self.event("garbage_sent", client_bytes=len(got), bytes=len(garbage))
        self.send(garbage)
        raise Closed("garbage sent instead of TLS")

    # ---------------------------------------------------------- actions
    def silence(self, at):
        secs = min(self.cfg["silent_secs"], self.server.time_left())
        self.event("silent", at=at, secs=secs)
        self.server.stopping.wait(secs)
        raise Closed("silence over")

    def reset(self, at):
        """Abort the connection with a TCP RST (SO_LINGER 0, then close)."""
        self.event("reset", at=at)
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        raise Closed("reset")

    def endless(self, code, at):
        """An endless multi-line reply: CODE-... lines until the client goes
        away, silent_secs pass or ENDLESS_MAX bytes were sent."""
        line = b"%s-endless continuation line %s\r\n" % (code[:3] or b"250", b"x" * 40)
        chunk = line * 200
        sent = 0
        stop = time.monotonic() + min(self.cfg["silent_secs"], self.server.time_left())
        self.event("endless", at=at)
        while sent < ENDLESS_MAX and time.monotonic() < stop and not self.server.stopping.is_set():
            self.sock.settimeout(max(0.1, stop - time.monotonic()))
            try:
                self.sock.sendall(chunk)
            except socket.timeout:
                break
            except (OSError, ssl.SSLError):
                raise Closed("endless reply: client gone after %d bytes" % sent)
            sent += len(chunk)
        raise Closed("endless reply over after %d bytes" % sent)

    def trickle(self, code, at):
        """An endless multi-line reply sent one byte every TRICKLE_SECS, so
        that each read of the client gets a byte before its timeout: only
        an overall deadline ends it (or silent_secs, or the client)."""
        line = b"%s-slow\r\n" % (code[:3] or b"250")
        stop = time.monotonic() + min(self.cfg["silent_secs"], self.server.time_left())
        self.event("trickle", at=at)
        sent = 0
        while time.monotonic() < stop and not self.server.stopping.is_set():
            try:
                self.sock.sendall(line[sent % len(line):sent % len(line) + 1])
            except (OSError, ssl.SSLError):
                raise Closed("trickle: client gone after %d bytes" % sent)
            sent += 1
            self.server.stopping.wait(TRICKLE_SECS)
        raise Closed("trickle over after %d bytes" % sent)

    def shown_reply(self, verb, occurrence, reply):
        """The reply as the transcript records it: "" when an action
        withholds it (drop, silent, reset, endless); "action" names it."""
        act = self.action_for(verb, occurrence)
        fields = {"reply": "" if act in ("drop", "silent", "reset", "endless", "trickle")
                  else printable(reply, 200)}
        if act:
            fields["action"] = act
        return fields

    def reply_with_action(self, verb, occurrence, reply):
        """Send reply unless the scenario's action for this command says
        otherwise. Returns normally when the dialogue goes on."""
        act = self.action_for(verb, occurrence)
        if act == "reset":
            self.reset(verb)
        if act == "endless":
            self.endless(reply, verb)
        if act == "trickle":
            self.trickle(reply, verb)
        if act in ("drop", "silent"):
            if act == "drop":
                self.event("dropped", at=verb, occurrence=occurrence, replied=False)
                raise Closed("dropped")
            self.silence(verb)
        self.send(reply)
        if act == "reply_drop":
            self.event("dropped", at=verb, occurrence=occurrence, replied=True)
            raise Closed("dropped")
        if act == "reply_silent":
            self.silence(verb)

    # ------------------------------------------------------------- DATA
    def read_data(self):
        """Message lines until CRLF.CRLF, un-dot-stuffed. Returns (MsgSink,
        notes)."""
        sink = MsgSink(self.cfg["store_data"])
        notes = []
        while True:
            line, toolong = self.readline(1 << 20)
            if toolong and "long_line" not in notes:
                notes.append("long_line")
            if line == b".\r\n":
                break
            if line == b".\n":
                notes.append("bare_lf_terminator")
                break
            if line.startswith(b"."):
                line = line[1:]
            sink.add(line)
        if sink.over:
            notes.append("too_big")
        return sink, notes

    def read_chunk(self, n, sink):
        """Exactly n bytes of a BDAT chunk into sink; returns the reads it
        took after the one that brought the command line."""
        reads = 0
        while n > 0:
            if self.pos >= len(self.buf):
                self.fill()
                reads += 1
            take = min(n, len(self.buf) - self.pos)
            sink.add(self.buf[self.pos:self.pos + take])
            self.pos += take
            n -= take
        return reads

    # ------------------------------------------------------------- loop
    def run(self):
        reason = "?"
        self.tr.write(self.n, "connect", peer="%s:%d" % self.sock.getpeername()[:2])
        try:
            if self.cfg["implicit_tls"]:
                self.start_tls("CONNECT")
            greeting = build_reply(self.cfg["greeting"])
            self.tr.write(self.n, "greeting", tls=self.tls,
                          **self.shown_reply("CONNECT", 1, greeting))
            self.reply_with_action("CONNECT", 1, greeting)
            while True:
                self.command()
        except Closed as e:
            reason = e.args[0]
        except Exception as e:   # never let a thread die silently
            reason = "peer error: %r" % e
        trailing = len(self.unread())
        self.tr.write(self.n, "close", tls=self.tls, reason=reason, trailing_bytes=trailing,
                      trailing=printable(self.unread(), 100) if trailing else "",
                      after_injection=self.injected)
        self.server.untrack(self)
        try:
            self.sock.close()
        except OSError:
            pass

    def command(self):
        line, toolong = self.readline(LINE_MAX)
        flight = self.flight
        text = line.rstrip(b"\r\n")
        if toolong:
            self.tr.write(self.n, "command", tls=self.tls, verb="?", line=printable(text, 200),
                          flight=flight, after_injection=self.injected, toolong=True,
                          reply="500 5.5.2 line too long")
            self.send(build_reply("500 5.5.2 Error: line too long"))
            return
        word, _, arg = text.partition(b" ")
        verb = word.decode("ascii", "replace").upper()
        if not (verb.isascii() and verb.isalnum() and len(verb) <= 16):
            verb = "?"      # not a command word: binary, garbage, a TLS record
        verb_arg = arg.decode("utf-8", "backslashreplace")
        occurrence = self.counts[verb] = self.counts.get(verb, 0) + 1
        rec = {"verb": verb, "line": text.decode("utf-8", "backslashreplace"),
               "flight": flight, "occurrence": occurrence}
        if self.injected:
            rec["after_injection"] = True
        if not line.endswith(b"\r\n"):
            rec["bare_lf"] = True
        if verb == "BDAT" and verb not in [h.upper() for h in self.cfg["hide"]]:
            self.bdat(rec, verb_arg, occurrence)
            return
        if verb in [h.upper() for h in self.cfg["hide"]]:
            reply = build_reply("500 5.5.2 Error: command not recognized")
        else:
            reply = self.lookup(verb, occurrence, verb_arg)
            if reply is None and verb == "AUTH" and self.cfg["auth"]:
                self.auth_dialogue(rec, verb_arg, occurrence)
                return
            reply = reply or self.default_reply(verb, verb_arg)
        code = reply[:3].decode("ascii", "replace")
        self.tr.write(self.n, "command", tls=self.tls, **self.shown_reply(verb, occurrence, reply),
                      **rec)

        if verb == "STARTTLS":
            first_end = reply.find(b"\r\n") + 2
            if len(reply) > first_end:
                self.event("injected", bytes=len(reply) - first_end,
                           data=printable(reply[first_end:], 200))
            if len(reply) > first_end:
                self.injected = True    # whatever comes next was sent after it
            self.reply_with_action(verb, occurrence, reply)
            if code != "220" or self.tls:
                return
            act = self.cfg["starttls_action"]
            if act == "tls":
                self.start_tls("STARTTLS")
            elif act == "garbage":
                self.starttls_garbage()
            elif act == "reset":
                self.read_client_hello()
                self.reset("TLS handshake")
            elif act == "silent":
                self.read_client_hello()
                self.silence("TLS handshake")
            elif act == "close":
                self.event("dropped", at="STARTTLS", occurrence=occurrence, replied=True)
                raise Closed("closed after STARTTLS reply")
            return

        if verb == "MAIL":
            self.mail_ok = code.startswith("2")
            self.rcpt_ok = 0
            self.msg, self.bdat_failed = None, False
        elif verb == "RCPT" and code.startswith("2"):
            self.rcpt_ok += 1
        elif verb in ("RSET", "EHLO", "HELO"):
            self.mail_ok = False
            self.rcpt_ok = 0
            self.msg, self.bdat_failed = None, False
        self.reply_with_action(verb, occurrence, reply)
        if verb == "QUIT":
            raise Closed("quit")
        if verb == "DATA" and code.startswith("3"):
            self.data_phase()

    # ------------------------------------------------------------- BDAT
    def save_message(self, sink):
        name = "data-%d-%d.eml" % (self.n, self.ntxn)
        with open(os.path.join(self.server.outdir, name), "wb") as f:
            f.write(sink.data)
        return name

    def bdat_default(self, size, last):
        if not self.mail_ok:
            return build_reply("503 5.5.1 Error: need MAIL command")
        if self.rcpt_ok == 0:
            return build_reply("554 5.5.1 Error: no valid recipients")
        if self.bdat_failed:
            return build_reply("503 5.5.1 Error: BDAT transaction failed")
        if self.msg.over and last:
            return build_reply("552 5.3.4 Error: message too big for peer.py")
        if last:
            return build_reply("250 2.0.0 Ok: queued as PEER%d%d" % (self.n, self.ntxn + 1))
        return build_reply("250 2.0.0 Ok: %d bytes" % size)

    def bdat(self, rec, arg, occurrence):
        """BDAT n [LAST] (RFC 3030): the chunk is read whatever the reply."""
        words = arg.split()
        ok = len(words) in (1, 2) and words[0].isdigit() and \
            (len(words) == 1 or words[1].upper() == "LAST")
        if not ok:
            reply = build_reply("501 5.5.4 Syntax: BDAT count [LAST]")
            self.tr.write(self.n, "command", tls=self.tls, **self.shown_reply("BDAT", occurrence, reply), **rec)
            self.reply_with_action("BDAT", occurrence, reply)
            return
        size, last = int(words[0]), len(words) == 2
        if self.action_for("BDAT", occurrence) == "drop":
            self.tr.write(self.n, "command", tls=self.tls, reply="", action="drop",
                          chunk_bytes=size, last=last, **rec)
            self.event("dropped", at="BDAT", occurrence=occurrence, replied=False)
            raise Closed("dropped")
        if self.msg is None:
            self.msg = MsgSink(self.cfg["store_data"])
        reads = self.read_chunk(size, self.msg)
        reply = self.lookup("BDAT", occurrence, arg) or self.bdat_default(size, last)
        fields = dict(chunk_bytes=size, last=last, chunk_reads=reads)
        if reply[:1] != b"2":
            self.bdat_failed = True
        if last:
            self.ntxn += 1
            fields.update(data_file=self.save_message(self.msg), data_bytes=self.msg.n,
                          data_sha256=self.msg.sha.hexdigest(), rcpts_accepted=self.rcpt_ok)
            if reply[:1] != b"2" or self.bdat_failed:
                fields["rcpts_accepted"] = 0 if self.bdat_failed else self.rcpt_ok
            self.msg, self.bdat_failed = None, False
            self.mail_ok, self.rcpt_ok = False, 0
        self.tr.write(self.n, "command", tls=self.tls, **self.shown_reply("BDAT", occurrence, reply),
                      **rec, **fields)
        self.reply_with_action("BDAT", occurrence, reply)

    # ------------------------------------------------------------- AUTH
    def auth_dialogue(self, rec, arg, occurrence):
        """AUTH PLAIN (initial response or 334 prompt) or LOGIN (334
        prompts for user and password) against cfg["auth"]; "*" aborts.
        One command record for the whole exchange, written also when the
        client goes away in the middle."""
        auth = self.cfg["auth"]
        mech, _, initial = arg.strip().partition(" ")
        mech = mech.upper()
        info = {"auth_mech": mech, "auth_initial": bool(initial), "auth_responses": 0,
                "auth_user": "", "auth_result": "unsupported"}
        reply = None

        def decode(text):
            if text == "=":
                return b""
            return base64.b64decode(text.encode("ascii", "replace"), validate=True)

        def prompt(text):
            self.send(build_reply("334 " + text))
            line, toolong = self.readline(LINE_MAX)
            info["auth_responses"] += 1
            resp = line.rstrip(b"\r\n").decode("ascii", "backslashreplace")
            if resp == "*":
                raise _AuthAbort()
            return resp

        try:
            try:
                if mech == "PLAIN":
                    blob = decode(initial if initial else prompt(""))
                    parts = blob.split(b"\0")
                    if len(parts) != 3:
                        info["auth_result"] = "bad"
                        reply = build_reply("535 5.7.8 Error: malformed PLAIN response")
                    else:
                        user, pw = parts[1], parts[2]
                elif mech == "LOGIN":
                    user = decode(initial) if initial else decode(prompt("VXNlcm5hbWU6"))
                    info["auth_user"] = user.decode("utf-8", "backslashreplace")
                    pw = decode(prompt("UGFzc3dvcmQ6"))
                else:
                    reply = build_reply("504 5.5.4 Unrecognized authentication type")
                if reply is None:
                    info["auth_user"] = user.decode("utf-8", "backslashreplace")
                    good = (user == auth["user"].encode("utf-8") and
                            pw == auth["password"].encode("utf-8"))
                    info["auth_result"] = "ok" if good else "fail"
                    reply = build_reply(auth.get("ok", AUTH_OK) if good else auth.get("fail", AUTH_FAIL))
            except _AuthAbort:
                info["auth_result"] = "aborted"
                reply = build_reply("501 5.7.0 Authentication aborted")
            except (binascii.Error, ValueError):
                info["auth_result"] = "bad"
                reply = build_reply("501 5.5.2 Error: cannot decode response")
        finally:
            shown = self.shown_reply("AUTH", occurrence, reply) if reply is not None \
                else {"reply": "", "action": "client gone"}
            self.tr.write(self.n, "command", tls=self.tls, **shown, **rec, **info)
        self.reply_with_action("AUTH", occurrence, reply)

    def body_fault(self, act):
        """actions "BODY": a fault once the first bytes of the message have
        arrived (the client is still sending): drop, reset, silent (stop
        reading), reply_drop (the "BODY" reply, then close), reply (the
        "BODY" reply, then go on reading), endless (an endless reply, never
        reading again)."""
        if not self.unread():
            self.fill()
        reply = self.lookup("BODY", 1, "") or build_reply("451 4.3.0 peer.py: fault in the body")
        self.event("body_fault", action=act, unread=len(self.unread()))
        if act == "drop":
            raise Closed("dropped in the body")
        if act == "reset":
            self.reset("BODY")
        if act == "silent":
            self.silence("BODY")
        if act == "endless":
            self.endless(reply, "BODY")
        self.send(reply)
        if act == "reply_drop":
            raise Closed("replied and dropped in the body")

    def data_phase(self):
        act = self.action_for("BODY", 1)
        if act:
            self.body_fault(act)
        before = self.flight
        sink, notes = self.read_data()
        reads = self.flight - before
        self.ntxn += 1
        occurrence = self.counts["DOT"] = self.counts.get("DOT", 0) + 1
        name = self.save_message(sink)
        reply = self.lookup("DOT", occurrence, "")
        if reply is None:
            reply = self.default_reply("DOT", "")
        if "too_big" in notes and reply[:1] == b"2":
            reply = build_reply("552 5.3.4 Error: message too big for peer.py")
        self.tr.write(self.n, "command", tls=self.tls, verb="DOT", line=".", flight=self.flight,
                      occurrence=occurrence, **self.shown_reply("DOT", occurrence, reply), data_file=name,
                      data_bytes=sink.n, data_sha256=sink.sha.hexdigest(), data_reads=reads,
                      rcpts_accepted=self.rcpt_ok,
                      notes=notes, **({"after_injection": True} if self.injected else {}))
        self.mail_ok = False
        self.rcpt_ok = 0
        self.reply_with_action("DOT", occurrence, reply)


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
                cmd_report(argparse.Namespace(outdir=args.outdir), f)
            os.rename(args.report + ".tmp", args.report)
        if args.pidfile:
            try:
                os.unlink(args.pidfile)
            except OSError:
                pass
    return 0


# ------------------------------------------------------------------ report

def load(outdir):
    recs = []
    with open(os.path.join(outdir, "transcript.jsonl"), encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line:
                recs.append(json.loads(line))
    return recs


def cmd_report(args, out_fp=None):
    """key=value facts for the shell tests. Keys:
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
    recs = load(args.outdir)
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
