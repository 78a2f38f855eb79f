"""peerlib - the parts of tests/peer/peer.py (the scriptable SMTP peer).

    scenario.py    limits, defaults, scenario checks, per-connection view, replies
    transcript.py  DIR/transcript.jsonl: writer and loader
    stream.py      socket and TLS plumbing of one connection (reads, lines, STARTTLS)
    actions.py     fault actions: drop, reset, silent, endless, trickle, BODY faults
    readers.py     DATA and BDAT: message readers and their transactions
    auth.py        the AUTH PLAIN / LOGIN dialogue (scenario key "auth")
    dialogue.py    Conn: the SMTP dialogue of one connection
    server.py      Server (listener, threads, lifetime) and "serve"
    report.py      "report": key=value facts from a transcript

Python 3 standard library only. The connection is one object (Conn) whose
methods come from the mixins of stream, actions, readers and auth: they share
its attributes (sock, buf, pos, cfg, tr, tls, mail_ok, rcpt_ok, msg ...),
which Conn.__init__ sets.
"""
