"""peerlib.dialogue - Conn, the SMTP dialogue of one connection: the
greeting, each command with its reply (scenario, then the defaults), the
state of the transaction, STARTTLS and its scenario actions. The socket,
fault, reader and AUTH parts are the mixins it inherits."""

from .actions import Actions
from .auth import AuthDialogue
from .readers import Readers
from .scenario import LINE_MAX, build_reply, conn_config, printable
from .stream import Closed, Stream


class Conn(Stream, Actions, Readers, AuthDialogue):
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
