"""peerlib.auth - the AUTH PLAIN / LOGIN dialogue against the scenario's
"auth" credentials. A mixin of dialogue.Conn."""

import base64
import binascii

from .scenario import AUTH_FAIL, AUTH_OK, LINE_MAX, build_reply


class _AuthAbort(Exception):
    """The client answered "*" to a 334 prompt."""


class AuthDialogue:
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
