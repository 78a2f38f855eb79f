dnl #
dnl # conf/sendmail/tlsrelay.m4 - the "tlsrelay" mailer for sendmail 8.
dnl #
dnl # tlsrelay reads the message on standard input and delivers it by SMTP with
dnl # STARTTLS as tlsrelay.conf / tls_policy_map ask (see tlsrelay(8)). Include
dnl # it (installed as /usr/local/share/tlsrelay/sendmail/tlsrelay.m4) in your
dnl # .mc file AFTER MAILER(`smtp'), whose EnvFromSMTP/EnvToSMTP rulesets it
dnl # reuses, then route domains to it with the mailertable:
dnl #
dnl #   define(`TLSRELAY_PATH', `/usr/local/sbin/tlsrelay')dnl   (the default)
dnl #   define(`TLSRELAY_ARGS', `-c /usr/local/etc/tlsrelay.conf')dnl (optional)
dnl #   define(`TLSRELAY_USER', `_tlsrelay:_tlsrelay')dnl        (the default)
dnl #   MAILER(`smtp')dnl
dnl #   include(`/usr/local/share/tlsrelay/sendmail/tlsrelay.m4')dnl
dnl #   FEATURE(`mailertable')dnl
dnl #
dnl # /etc/mail/mailertable (makemap hash /etc/mail/mailertable < mailertable):
dnl #
dnl #   example.com       tlsrelay:example.com
dnl #   .example.com      tlsrelay:example.com
dnl #
dnl # The host part after "tlsrelay:" is required by the mailertable syntax but
dnl # not passed on: tlsrelay routes by relayhost (tlsrelay.conf) or by the
dnl # recipient domain's MX, as for every MTA.
dnl #
dnl # The mailer line:
dnl #   P=    the program; A= its argv: -T (configuration errors exit 75,
dnl #         see below), -Q $i (the queue ID: it starts tlsrelay's log
dnl #         lines and is kept in the TLS history), -f $f (envelope sender, "<>" for the
dnl #         null sender) -- $u (the recipients; "--" so that no address is
dnl #         taken for an option).
dnl #   F=m   several recipients in one run (tlsrelay delivers to all of them and
dnl #         exits 75 when any is still undelivered: use F= without m, or
dnl #         tlsrelay's own retry, if duplicates matter more than runs)
dnl #     D F M  add Date:, From:, Message-Id: when missing (as the smtp mailer)
dnl #     u   keep upper case in user names
dnl #     n   no UNIX "From " line in front of the message
dnl #     8   8-bit data is fine: no MIME 8->7 conversion (tlsrelay declares
dnl #         8BITMIME when the server offers it)
dnl #     (no X: tlsrelay reads the raw message and does its own dot-stuffing)
dnl #   S=, R=  the envelope/header rewriting of the smtp mailer
dnl #   E=\r\n  line ends (tlsrelay accepts LF or CR LF)
dnl #   L=0     no line length limit: sendmail passes every line as it is, as
dnl #         Postfix and Exim do, and tlsrelay folds lines over 998 octets
dnl #         itself (as Postfix's smtp_line_length_limit). The smtp mailer's
dnl #         L=990 broke a legal 998-octet line before tlsrelay saw it.
dnl #   U=      the user (and group) the mailer runs as: TLSRELAY_USER, by
dnl #         default _tlsrelay:_tlsrelay, the user that runs deliveries in
dnl #         every quick start (the tlsrelay package creates it; it owns
dnl #         /var/lib/tlsrelay and reads the password map). Without U=
dnl #         sendmail would use its DefaultUser (confDEF_USER_ID).
dnl #   T=DNS/RFC822/SMTP  address types for DSNs (remote MTA / diagnostic code)
dnl #
dnl # Exit statuses (sysexits, as sendmail reads them): 0 delivered; 75
dnl # (EX_TEMPFAIL) keeps the message queued and retried; 67 (EX_NOUSER), 69
dnl # (EX_UNAVAILABLE) and 65 (EX_DATAERR) bounce. tlsrelay exits 78 (EX_CONFIG)
dnl # on a configuration error, and sendmail bounces on 78 (only 75, 74 and 71
dnl # are temporary to it): hence -T in A=, which makes tlsrelay exit 75 on a
dnl # configuration error, so a typo keeps the queue instead of bouncing it.
dnl # Check the configuration with "tlsrelay -t -u _tlsrelay" after every
dnl # change. sendmail keeps no text of a mailer that does not speak LMTP:
dnl # mailq shows only "Deferred: tlsrelay mailer (...) exited with
dnl # EX_TEMPFAIL". tlsrelay's reason is in its own log line
dnl # ("tlsrelay[PID]: to=<...>, ..., status=deferred (REASON)", syslog
dnl # facility mail).
dnl #
ifdef(`TLSRELAY_PATH',, `define(`TLSRELAY_PATH', `/usr/local/sbin/tlsrelay')')dnl
ifdef(`TLSRELAY_ARGS',, `define(`TLSRELAY_ARGS', `')')dnl
ifdef(`TLSRELAY_USER',, `define(`TLSRELAY_USER', `_tlsrelay:_tlsrelay')')dnl
MAILER_DEFINITIONS
Mtlsrelay,	P=TLSRELAY_PATH, F=mDFMun8, S=EnvFromSMTP/HdrFromSMTP, R=EnvToSMTP, E=\r\n, L=0,
		U=TLSRELAY_USER, T=DNS/RFC822/SMTP,
		A=tlsrelay -T TLSRELAY_ARGS -Q $i -f $f -- $u

