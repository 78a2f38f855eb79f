"""peerlib.stream - socket and TLS plumbing of one connection: transcript
events, sends, reads in "flights", bounded line reads, the TLS context and
the switch to TLS (implicit or after STARTTLS). A mixin of dialogue.Conn."""

import os
import socket
import ssl

from .biosock import BioSock
from .scenario import READ_CHUNK, TLS_VERSIONS, printable


class Closed(Exception):
    """The connection is over (reason in args[0])."""


class Stream:
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

    # -------------------------------------------------------------- TLS
    def tls_context(self):
        def on_sni(sslobj, server_name, context):
            self.sni = server_name      # None: the client sent no SNI
        # "tls_resume": one context for the server's life, so that its
        # TLS 1.3 tickets (and TLS 1.2 sessions) stay valid across
        # connections (connections should then not overlap: the SNI
        # callback is the latest connection's).
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
            if "reply_split" in self.cfg["actions"].values():
                s = BioSock(ctx, self.sock)     # its raw TLS bytes in our hands
            else:
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
