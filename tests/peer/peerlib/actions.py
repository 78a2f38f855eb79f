"""peerlib.actions - the fault actions of a scenario ("actions": drop,
reply_drop, silent, reply_silent, reset, endless, reply, trickle,
reply_more, reply_split) applied
to a reply, and the "BODY" faults in the middle of a message. A mixin of
dialogue.Conn."""

import select
import socket
import ssl
import struct
import time

from .scenario import ENDLESS_MAX, TRICKLE_SECS, build_reply, printable
from .stream import Closed


class Actions:
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
        if act == "reply_more":
            self.send_more(verb, reply)
            return
        if act == "reply_split":
            self.send_split(verb, reply)
            return
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

    def send_more(self, verb, reply):
        """reply_more: the reply, then the "MORE" reply (default an
        unsolicited 421) in a TLS record of its own, both in one TCP segment
        (TCP_CORK), so that a client reading ahead gets both in one read;
        the connection then stays open, reading commands as usual."""
        more = self.lookup("MORE", 1, "") or build_reply("421 4.4.2 peer.py: closing")
        try:
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 1)
            self.send(reply)
            self.send(more)
        finally:
            try:
                self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 0)
            except OSError:
                pass
        self.event("more", at=verb, more=printable(more, 200))

    def send_split(self, verb, reply):
        """reply_split: the reply, then the "MORE" reply (default an
        unsolicited 421) in a TLS record of its own whose first split_bytes
        raw bytes leave with the reply (one TCP segment) and its rest
        split_secs later, or at once when the client sends something or
        closes (0: never). The connection then stays open, reading commands
        as usual. Needs the raw TLS bytes: Stream.start_tls gives such a
        connection a BioSock. Transcript: "split" (the record's size, the
        bytes sent first), then "split_rest" (why: time, client, stopping;
        error: why sending the rest failed)."""
        more = self.lookup("MORE", 1, "") or build_reply("421 4.4.2 peer.py: closing")
        first, rec = self.sock.records(reply), self.sock.records(more)
        k = min(self.cfg["split_bytes"], len(rec) - 1)
        try:
            self.sock.send_raw(first + rec[:k])
        except OSError as e:
            raise Closed("send failed: %s" % e)
        secs = self.cfg["split_secs"]
        self.event("split", at=verb, more=printable(more, 200), record=len(rec), first=k, secs=secs)
        if secs == 0:
            return
        why, error = self.wait_readable(min(secs, self.server.time_left())), ""
        try:
            self.sock.send_raw(rec[k:])
        except OSError as e:
            error = str(e)          # the client has gone
        self.event("split_rest", at=verb, why=why, bytes=len(rec) - k, error=error)

    def wait_readable(self, secs):
        """Wait until the socket is readable ("client": bytes or its end),
        secs pass ("time") or the server stops ("stopping")."""
        stop = time.monotonic() + secs
        while not self.server.stopping.is_set():
            left = stop - time.monotonic()
            if left <= 0:
                return "time"
            r, _, _ = select.select([self.sock.fileno()], [], [], min(left, 0.1))
            if r:
                return "client"
        return "stopping"

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
