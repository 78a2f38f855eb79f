"""peerlib.readers - the message readers: DATA (lines up to CRLF.CRLF,
un-dot-stuffed) and BDAT (RFC 3030 chunks of exactly n bytes), with their
transactions and data files. A mixin of dialogue.Conn."""

import hashlib
import os

from .scenario import MSG_MAX, build_reply
from .stream import Closed


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


class Readers:
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
