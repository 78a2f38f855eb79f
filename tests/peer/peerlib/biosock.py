"""peerlib.biosock - TLS over memory BIOs: BioSock, the part of an
ssl.SSLSocket that a Conn uses (sendall, recv, settimeout, version, cipher,
session_reused, shutdown, close), built from an ssl.SSLObject whose raw
TLS bytes pass through here. So the peer decides which bytes of a record
leave when: send_split() sends the start of a record with what came
before it and holds its rest back (tests/daemon/test_reuse.sh n, o, p: a
record split across TCP segments). Stream.start_tls uses it only when the
scenario needs it (the "reply_split" action); every other connection
keeps ssl.SSLSocket."""

import socket
import ssl

from .scenario import READ_CHUNK


class BioSock:
    def __init__(self, ctx, sock):
        self.raw = sock
        self.incoming, self.outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.obj = ctx.wrap_bio(self.incoming, self.outgoing, server_side=True)
        self.raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    # ----------------------------------------------------- raw bytes
    def _flush(self):
        data = self.outgoing.read()
        if data:
            self.raw.sendall(data)

    def _feed(self):
        """One read of the socket into the TLS object (its timeout)."""
        data = self.raw.recv(READ_CHUNK)
        if data:
            self.incoming.write(data)
        else:
            self.incoming.write_eof()

    def records(self, data):
        """data encrypted: the raw TLS bytes, not sent."""
        self._flush()
        self.obj.write(data)
        return self.outgoing.read()

    def send_raw(self, raw):
        self.raw.sendall(raw)

    # --------------------------------------------------- SSLSocket's
    def do_handshake(self):
        while True:
            try:
                self.obj.do_handshake()
                self._flush()
                return
            except ssl.SSLWantReadError:
                self._flush()
                self._feed()

    def recv(self, n):
        """Application data, b"" at the end (close_notify or a bare end of
        file, as SSLSocket with suppress_ragged_eofs)."""
        while True:
            try:
                return self.obj.read(n)
            except ssl.SSLWantReadError:
                self._flush()
                self._feed()
            except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
                return b""

    def sendall(self, data):
        self.obj.write(data)
        self._flush()

    def settimeout(self, t):
        self.raw.settimeout(t)

    def setsockopt(self, *args):
        self.raw.setsockopt(*args)

    def getpeername(self):
        return self.raw.getpeername()

    def fileno(self):
        return self.raw.fileno()

    def version(self):
        return self.obj.version()

    def cipher(self):
        return self.obj.cipher()

    @property
    def session_reused(self):
        return self.obj.session_reused

    def shutdown(self, how):
        self.raw.shutdown(how)

    def close(self):
        self.raw.close()
