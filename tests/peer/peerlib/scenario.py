"""peerlib.scenario - the scenario model of peer.py: limits, defaults, the
checks of a scenario file (check_scenario), the scenario as one connection
sees it (conn_config: defaults < top level < connections[N]) and the reply
builder. The format is described in tests/peer/README.md."""

HOST = "127.0.0.1"
LINE_MAX = 4096                 # command line, bytes with CRLF
MSG_MAX = 8 * 1024 * 1024       # stored message bytes
REPLY_MAX = 4 * 1024 * 1024     # generated reply bytes
SILENT_MAX = 60                 # seconds of silence at most
MAX_CONNECTIONS = 100           # per run: long-lived peers (tests/sts) serve many cases
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
    "split_bytes": 3,            # reply_split: raw bytes of the MORE record sent with the reply
    "split_secs": 0.3,           # reply_split: its rest after that long (0: never)
}
AUTH_OK = "235 2.7.0 Authentication successful"
AUTH_FAIL = "535 5.7.8 Error: authentication failed: authentication failure"
AUTH_KEYS = {"user", "password", "ok", "fail"}
TLS_VERSIONS = {"TLSv1.2": "TLSv1_2", "TLSv1.3": "TLSv1_3"}
KNOWN_VERBS = {"EHLO", "HELO", "LHLO", "STARTTLS", "AUTH", "MAIL", "RCPT", "DATA", "DOT",
               "BDAT", "RSET", "NOOP", "QUIT", "VRFY", "EXPN", "HELP", "XCLIENT"}
MERGED_DICTS = ("replies", "replies_tls", "rcpt_replies", "actions")
KNOWN_KEYS = set(DEFAULTS) | {"comment", "connections"}
ACTIONS = ("drop", "reply_drop", "silent", "reply_silent", "reset", "endless", "reply", "trickle",
           "reply_more", "reply_split")
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
            if k == "split_bytes" and (not isinstance(v, int) or isinstance(v, bool) or v < 1):
                raise ScenarioError("split_bytes must be a whole number >= 1")
            if k == "split_secs" and (not isinstance(v, (int, float)) or isinstance(v, bool)
                                      or not 0 <= v <= SILENT_MAX):
                raise ScenarioError("split_secs must be a number from 0 to %d" % SILENT_MAX)
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
