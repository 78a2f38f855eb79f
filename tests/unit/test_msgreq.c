/*
 * test_msgreq.c - the X-TLSRelay-Require header on the transport side
 * (msgreq.c): reading and removing it from the spool, the envelope's
 * level from message_rules, the rule that raises a destination policy
 * (every requirement x every level), applying them (and RFC 8689
 * TLS-Required: No) to a destination policy.
 *
 * Table-driven: each case gives the message as the MTA hands it over (LF
 * line ends; the spooler makes them CR LF), the message expected on the
 * wire after removal, and what was found.
 */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "message.h"
#include "msgreq.h"
#include "policy.h"
#include "status.h"
#include "tap.h"

#define FP "01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:" \
           "01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF"

#define N10  "NNNNNNNNNN"
#define N50  N10 N10 N10 N10 N10
#define N200 N50 N50 N50 N50

/* ---------------------------------------------------------------- helpers */

/* Spool text (LF ends) through a pipe, as the transport does. */
static struct tlsrelay_message *spool(const char *text, size_t len)
{
	tlsrelay_status st;
	struct tlsrelay_message *m;
	FILE *f = tmpfile();

	if (f == NULL || fwrite(text, 1, len, f) != len || fflush(f) != 0)
		return NULL;
	rewind(f);
	m = tr_message_spool(fileno(f), NULL, &st);
	fclose(f);
	return m;
}

/* The spool's bytes with CR LF turned back into LF, NUL-terminated. */
static char *contents(struct tlsrelay_message *m)
{
	char *buf = calloc(1, (size_t)m->size + 1), *o = buf;
	ssize_t n = pread(m->fd, buf, (size_t)m->size, 0);
	off_t end;

	if (n != (ssize_t)m->size)
		return buf;
	end = lseek(m->fd, 0, SEEK_END);
	if (end != (off_t)m->size)
		snprintf(buf, (size_t)m->size + 1, "(file is %lld bytes, size says %llu)",
		         (long long)end, m->size);
	else
		for (ssize_t i = 0; i < n; i++)
			if (!(buf[i] == '\r' && i + 1 < n && buf[i + 1] == '\n'))
				*o++ = buf[i];
	if (end == (off_t)m->size)
		*o = '\0';
	return buf;
}

static unsigned long long count_lines(const char *s)
{
	unsigned long long n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* ------------------------------------------------------------------ take */

static const struct take_case {
	const char *name, *in, *out;
	const char *level;      /* tr_tls_level_name of the result ("invalid": none) */
	int nfields, bad, tls_no;
	const char *bad_value;
} take_cases[] = {
	{ "no requirement field: unchanged",
	  "From: a@b.example\nSubject: hi\n\nbody\n",
	  "From: a@b.example\nSubject: hi\n\nbody\n", "invalid", 0, 0, 0, "" },
	{ "one field removed",
	  "Received: x\nX-TLSRelay-Require: verify\nSubject: hi\n\nbody\n",
	  "Received: x\nSubject: hi\n\nbody\n", "verify", 1, 0, 0, "" },
	{ "first line of the message",
	  "X-TLSRelay-Require: encrypt\nSubject: hi\n\nbody\n",
	  "Subject: hi\n\nbody\n", "encrypt", 1, 0, 0, "" },
	{ "last line of the header, no body",
	  "Subject: hi\nX-TLSRelay-Require: encrypt\n",
	  "Subject: hi\n", "encrypt", 1, 0, 0, "" },
	{ "several, any case, folded, space before colon: strongest, all removed",
	  "x-tlsrelay-require: encrypt\nSubject: a\nX-TLSRELAY-REQUIRE :\n  secure \nTo: c\n"
	  "X-TLSRelay-Require:\tdane\n\nbody\n",
	  "Subject: a\nTo: c\n\nbody\n", "secure", 3, 0, 0, "" },
	{ "continuation of another field kept",
	  "Subject: a\n b\nX-TLSRelay-Require: verify\n continued\nTo: c\n\nb\n",
	  "Subject: a\n b\nTo: c\n\nb\n", "invalid", 1, 1, 0, "verify continued" },
	{ "in the body: not a header field, kept",
	  "Subject: a\n\nX-TLSRelay-Require: secure\n",
	  "Subject: a\n\nX-TLSRelay-Require: secure\n", "invalid", 0, 0, 0, "" },
	/* Until security issue 13 this line ended the header and the field was
	 * kept as body. Now only the first empty line ends it (msgreq.c). */
	{ "after a line that is not a field: still the header, removed",
	  "Subject: a\nthis is no header\nX-TLSRelay-Require: secure\n\n",
	  "Subject: a\nthis is no header\n\n", "secure", 1, 0, 0, "" },
	{ "similar name kept",
	  "X-TLSRelay-Required: secure\nX-TLSRelay-Require-Not: secure\n\nb\n",
	  "X-TLSRelay-Required: secure\nX-TLSRelay-Require-Not: secure\n\nb\n", "invalid", 0, 0, 0, "" },
	{ "unknown level: bad, removed",
	  "X-TLSRelay-Require: maximum\n\nb\n", "\nb\n", "invalid", 1, 1, 0, "maximum" },
	{ "fingerprint: bad (no digests)",
	  "X-TLSRelay-Require: fingerprint\n\nb\n", "\nb\n", "invalid", 1, 1, 0, "fingerprint" },
	{ "empty value: bad",
	  "X-TLSRelay-Require:\n\nb\n", "\nb\n", "invalid", 1, 1, 0, "" },
	{ "bad and good: bad wins, strongest good recorded",
	  "X-TLSRelay-Require: verify\nX-TLSRelay-Require: ???\n\nb\n", "\nb\n", "verify", 2, 1, 0, "???" },
	{ "none and may: known, require nothing",
	  "X-TLSRelay-Require: none\nX-TLSRelay-Require: MAY\n\nb\n", "\nb\n", "may", 2, 0, 0, "" },
	{ "too long a value: bad, shown cut",
	  "X-TLSRelay-Require: 0123456789012345678901234567890123456789012345678901234567890123456789\n\nb\n",
	  "\nb\n", "invalid", 1, 1, 0, "012345678901234567890123456789012345678901234567890123456789012..." },
	{ "TLS-Required: No recorded and kept",
	  "Subject: a\nTLS-Required: No\n\nb\n", "Subject: a\nTLS-Required: No\n\nb\n", "invalid", 0, 0, 1, "" },
	{ "TLS-Required: other values ignored",
	  "tls-required: yes\n\nb\n", "tls-required: yes\n\nb\n", "invalid", 0, 0, 0, "" },
	{ "TLS-Required: no, folded, any case",
	  "TLS-REQUIRED:\n  nO\n\nb\n", "TLS-REQUIRED:\n  nO\n\nb\n", "invalid", 0, 0, 1, "" },
	{ "empty message", "", "", "invalid", 0, 0, 0, "" },
	/* security issue 13: shapes that hid the milter's field */
	{ "after a 200-byte field name",
	  "From: a\nX-" N200 ": v\nSubject: s\nX-TLSRelay-Require: encrypt\n\nbody\n",
	  "From: a\nX-" N200 ": v\nSubject: s\n\nbody\n", "encrypt", 1, 0, 0, "" },
	{ "after a 200-byte line without a colon",
	  "From: a\nX-" N200 "\nX-TLSRelay-Require: encrypt\n\nb\n",
	  "From: a\nX-" N200 "\n\nb\n", "encrypt", 1, 0, 0, "" },
	{ "after a bare CR in a field (spooled as a line break)",
	  "Subject: a\rb\nX-TLSRelay-Require: encrypt\n\nbody\n",
	  "Subject: a\nb\n\nbody\n", "encrypt", 1, 0, 0, "" },
	{ "after CR CR LF (spooled as an empty line)",
	  "Subject: a\r\r\nX-TLSRelay-Require: encrypt\n\nbody\n",
	  "Subject: a\n\n\nbody\n", "encrypt", 1, 0, 0, "" },
	{ "after a line of CR CR LF",
	  "Subject: a\n\r\r\nX-TLSRelay-Require: verify\n\nb\n",
	  "Subject: a\n\n\n\nb\n", "verify", 1, 0, 0, "" },
	{ "a field hidden after a bare CR counts and is removed",
	  "Subject: a\rX-TLSRelay-Require: secure\nX-TLSRelay-Require: encrypt\n\nb\n",
	  "Subject: a\n\nb\n", "secure", 2, 0, 0, "" },
	{ "after a field name with DEL (a header to sendmail)",
	  "X-D\x7f" "el: v\nX-TLSRelay-Require: encrypt\n\nb\n",
	  "X-D\x7f" "el: v\n\nb\n", "encrypt", 1, 0, 0, "" },
	{ "after a field name with 8-bit bytes",
	  "X-\xc3\xa9: v\nX-TLSRelay-Require: encrypt\n\nb\n",
	  "X-\xc3\xa9: v\n\nb\n", "encrypt", 1, 0, 0, "" },
	{ "after an empty field name",
	  "X-A: 1\n: odd\nX-TLSRelay-Require: encrypt\n\nb\n",
	  "X-A: 1\n: odd\n\nb\n", "encrypt", 1, 0, 0, "" },
	{ "the name without a colon is no field",
	  "X-TLSRelay-Require encrypt\nX-TLSRelay-Require\t:\tverify\n\nb\n",
	  "X-TLSRelay-Require encrypt\n\nb\n", "verify", 1, 0, 0, "" },
	{ "a continuation after a non-field line is not the field's",
	  "X-TLSRelay-Require: encrypt\nno field\n secure\n\nb\n",
	  "no field\n secure\n\nb\n", "encrypt", 1, 0, 0, "" },
	{ "after an mbox From line (dropped)",
	  "From a@b Mon Jan  1 00:00:00 2024\nSubject: s\nX-TLSRelay-Require: encrypt\n\nb\n",
	  "Subject: s\n\nb\n", "encrypt", 1, 0, 0, "" },
	{ "after an mbox From line ended by a bare CR: the rest is no line start",
	  "From a@b\rX-TLSRelay-Require: secure\nTLS-Required: No\n\nb\n",
	  "TLS-Required: No\n\nb\n", "secure", 1, 0, 0, "" },
	{ "CR LF input: the CR LF empty line ends the header",
	  "Subject: a\r\nX-TLSRelay-Require: verify\r\n\r\nX-TLSRelay-Require: secure\r\n",
	  "Subject: a\n\nX-TLSRelay-Require: secure\n", "verify", 1, 0, 0, "" },
	{ "empty first line: all body",
	  "\nX-TLSRelay-Require: secure\n", "\nX-TLSRelay-Require: secure\n", "invalid", 0, 0, 0, "" },
	{ "header without a final empty line or line end",
	  "Subject: s\nodd line\nX-TLSRelay-Require: dane", "Subject: s\nodd line\n", "dane", 1, 0, 0, "" },
	{ "TLS-Required: No after a non-field line: not beyond doubt",
	  "Subject: a\nno field\nTLS-Required: No\n\nb\n",
	  "Subject: a\nno field\nTLS-Required: No\n\nb\n", "invalid", 0, 0, 0, "" },
	{ "TLS-Required: No with a bare CR in the header: not beyond doubt",
	  "Subject: a\rb\nTLS-Required: No\n\nb\n",
	  "Subject: a\nb\nTLS-Required: No\n\nb\n", "invalid", 0, 0, 0, "" },
	{ "TLS-Required: No hidden after a bare CR: ignored",
	  "Subject: a\rTLS-Required: No\n\nb\n",
	  "Subject: a\nTLS-Required: No\n\nb\n", "invalid", 0, 0, 0, "" },
	{ "header only, no final line end",
	  "X-TLSRelay-Require: secure", "", "secure", 1, 0, 0, "" },
};

static void check_take(const struct take_case *c)
{
	struct tlsrelay_message *m = spool(c->in, strlen(c->in));
	tlsrelay_status st;
	tr_msgreq rq;
	char name[256], *got;

	tap_expect(7);
	snprintf(name, sizeof name, "%s: spooled", c->name);
	tap_ok(m != NULL, name, NULL);
	if (m == NULL)
		return;
	snprintf(name, sizeof name, "%s: OK", c->name);
	tap_ok(tr_msgreq_take(m, &rq, &st) == TLSRELAY_OK, name, st.text);
	got = contents(m);
	snprintf(name, sizeof name, "%s: message", c->name);
	TAP_STR(got, c->out, name);
	snprintf(name, sizeof name, "%s: line count", c->name);
	TAP_INT(m->lines, count_lines(c->out) + (c->out[0] && c->out[strlen(c->out) - 1] != '\n'), name);
	free(got);
	snprintf(name, sizeof name, "%s: level", c->name);
	TAP_STR(tr_tls_level_name(rq.level), c->level, name);
	snprintf(name, sizeof name, "%s: fields/bad/TLS-Required", c->name);
	char have[64], want[64];
	snprintf(have, sizeof have, "%d/%d/%d", rq.nfields, rq.bad, rq.tls_required_no);
	snprintf(want, sizeof want, "%d/%d/%d", c->nfields, c->bad, c->tls_no);
	TAP_STR(have, want, name);
	snprintf(name, sizeof name, "%s: bad value", c->name);
	TAP_STR(rq.bad ? rq.bad_value : "", c->bad_value, name);
	tlsrelay_message_free(m);
}

/* A body larger than the copy buffer moves down intact. */
static void test_big(void)
{
	size_t body = 100000, hl = strlen("X-TLSRelay-Require: secure\nSubject: big\n\n");
	char *in = malloc(hl + body + 1), *want;
	struct tlsrelay_message *m;
	tlsrelay_status st;
	tr_msgreq rq;

	tap_expect(3);
	memcpy(in, "X-TLSRelay-Require: secure\nSubject: big\n\n", hl);
	for (size_t i = 0; i < body; i++)
		in[hl + i] = (i % 71 == 70) ? '\n' : (char)('a' + i % 26);
	in[hl + body - 1] = '\n';
	in[hl + body] = '\0';
	want = in + strlen("X-TLSRelay-Require: secure\n");
	m = spool(in, strlen(in));
	tap_ok(m && tr_msgreq_take(m, &rq, &st) == TLSRELAY_OK, "big message: OK", NULL);
	if (m) {
		char *got = contents(m);
		tap_ok(strcmp(got, want) == 0, "big message: body moved intact", NULL);
		TAP_INT(m->size, strlen(want) + count_lines(want), "big message: size in CR LF form");
		free(got);
		tlsrelay_message_free(m);
	}
	free(in);
}

/* A NUL in a requirement value: unusable (it never shortens the value to
 * a level), and the header end moves with the removal. */
static void test_nul(void)
{
	static const char in[] = "Subject: s\nX-TLSRelay-Require: encrypt\0x\n\nb\n";
	struct tlsrelay_message *m = spool(in, sizeof in - 1);
	tlsrelay_status st;
	tr_msgreq rq;

	tap_expect(4);     /* an early return leaves 3 undone: the count fails */
	tap_ok(m && tr_msgreq_take(m, &rq, &st) == TLSRELAY_OK, "NUL in the value: OK", NULL);
	if (m == NULL)
		return;
	TAP_INT(rq.bad, 1, "NUL in the value: unusable");
	TAP_STR(rq.bad_value, "encrypt?x", "NUL in the value: shown as ?");
	TAP_INT(m->header_end, strlen("Subject: s\r\n"), "NUL in the value: header end moved with the removal");
	tlsrelay_message_free(m);
}

/* ----------------------------------------------------------------- apply */

static tr_msgreq req(const char *level, int bad, int tls_no)
{
	tr_msgreq rq;

	memset(&rq, 0, sizeof rq);
	rq.level = level ? tr_tls_level_from_name(level) : TR_TLS_INVALID;
	rq.nfields = level != NULL || bad;
	rq.bad = bad;
	if (bad)
		snprintf(rq.bad_value, sizeof rq.bad_value, "maximum");
	rq.tls_required_no = tls_no;
	return rq;
}

/* ------------------------------------------------------------ the rule */

/* demand.h R4: every requirement x every destination level, and the
 * cases around names, attributes and a second requirement. "Only ever
 * raises": DANE is never replaced, fingerprint and dane-only are kept, and
 * a DANE fallback never drops below the destination's own level. */
static const struct raise_case {
	const char *name;
	const char *dest;       /* destination policy (tr_policy_parse_value) */
	const char *req;        /* requirement level */
	const char *unused;     /* (was a second requirement: one requirement,
	                         * the strongest, is applied: demand.h R4) */
	const char *want;       /* tr_policy_format */
} raise_cases[] = {
	{ "encrypt on none",       "none", "encrypt", NULL, "encrypt (from dest + req)" },
	{ "dane on none",          "none", "dane", NULL, "dane (from dest + req)" },
	{ "dane-only on none",     "none", "dane-only", NULL, "dane-only (from dest + req)" },
	{ "verify on none",        "none", "verify", NULL, "verify match=hostname (from dest + req)" },
	{ "secure on none",        "none", "secure", NULL, "secure match=nexthop:dot-nexthop (from dest + req)" },
	{ "encrypt on may",        "may", "encrypt", NULL, "encrypt (from dest + req)" },
	{ "dane on may: no floor (may is Postfix's own fallback)", "may", "dane", NULL, "dane (from dest + req)" },
	{ "dane-only on may",      "may", "dane-only", NULL, "dane-only (from dest + req)" },
	{ "verify on may",         "may", "verify", NULL, "verify match=hostname (from dest + req)" },
	{ "secure on may",         "may", "secure", NULL, "secure match=nexthop:dot-nexthop (from dest + req)" },
	{ "encrypt on encrypt: kept", "encrypt", "encrypt", NULL, "encrypt (from dest)" },
	{ "dane on encrypt: no TLSA must not mean may: floor encrypt", "encrypt", "dane", NULL,
	  "dane floor=encrypt (from dest + req)" },
	{ "dane-only on encrypt",  "encrypt", "dane-only", NULL, "dane-only (from dest + req)" },
	{ "verify on encrypt",     "encrypt", "verify", NULL, "verify match=hostname (from dest + req)" },
	{ "secure on encrypt",     "encrypt", "secure", NULL, "secure match=nexthop:dot-nexthop (from dest + req)" },
	{ "encrypt on dane: the fallback may becomes encrypt", "dane", "encrypt", NULL,
	  "dane floor=encrypt (from dest + req)" },
	{ "dane on dane: kept",    "dane", "dane", NULL, "dane (from dest)" },
	{ "dane-only on dane",     "dane", "dane-only", NULL, "dane-only (from dest + req)" },
	{ "verify on dane: DANE kept, verify without usable TLSA", "dane", "verify", NULL,
	  "dane floor=verify match=hostname (from dest + req)" },
	{ "secure on dane: DANE kept, secure without usable TLSA", "dane", "secure", NULL,
	  "dane floor=secure match=nexthop:dot-nexthop (from dest + req)" },
	{ "encrypt on dane-only: kept", "dane-only", "encrypt", NULL, "dane-only (from dest)" },
	{ "dane on dane-only: kept", "dane-only", "dane", NULL, "dane-only (from dest)" },
	{ "dane-only on dane-only: kept", "dane-only", "dane-only", NULL, "dane-only (from dest)" },
	{ "verify on dane-only: kept (DANE or nothing)", "dane-only", "verify", NULL, "dane-only (from dest)" },
	{ "secure on dane-only: kept", "dane-only", "secure", NULL, "dane-only (from dest)" },
	{ "encrypt on fingerprint: kept", "fingerprint match=" FP, "encrypt", NULL, "fingerprint match=" FP " (from dest)" },
	{ "dane on fingerprint: kept", "fingerprint match=" FP, "dane", NULL, "fingerprint match=" FP " (from dest)" },
	{ "dane-only on fingerprint: kept", "fingerprint match=" FP, "dane-only", NULL, "fingerprint match=" FP " (from dest)" },
	{ "verify on fingerprint: kept", "fingerprint match=" FP, "verify", NULL, "fingerprint match=" FP " (from dest)" },
	{ "secure on fingerprint: kept", "fingerprint match=" FP, "secure", NULL, "fingerprint match=" FP " (from dest)" },
	{ "encrypt on verify: kept", "verify", "encrypt", NULL, "verify match=hostname (from dest)" },
	{ "dane on verify: kept",  "verify", "dane", NULL, "verify match=hostname (from dest)" },
	{ "dane-only on verify: kept (Postfix order)", "verify", "dane-only", NULL, "verify match=hostname (from dest)" },
	{ "verify on verify: kept", "verify", "verify", NULL, "verify match=hostname (from dest)" },
	{ "secure on verify",      "verify", "secure", NULL, "secure match=nexthop:dot-nexthop (from dest + req)" },
	{ "encrypt on secure: kept", "secure", "encrypt", NULL, "secure match=nexthop:dot-nexthop (from dest)" },
	{ "dane on secure: kept",  "secure", "dane", NULL, "secure match=nexthop:dot-nexthop (from dest)" },
	{ "dane-only on secure: kept", "secure", "dane-only", NULL, "secure match=nexthop:dot-nexthop (from dest)" },
	{ "verify on secure: kept", "secure", "verify", NULL, "secure match=nexthop:dot-nexthop (from dest)" },
	{ "secure on secure: kept", "secure match=.example.com", "secure", NULL, "secure match=.example.com (from dest)" },
	/* names and attributes */
	{ "secure on verify keeps the admin's fixed name", "verify match=mx1.example.com", "secure", NULL,
	  "secure match=mx1.example.com (from dest + req)" },
	{ "secure on verify drops hostname, keeps the rest", "verify match=hostname:.example.com:nexthop", "secure", NULL,
	  "secure match=.example.com:nexthop (from dest + req)" },
	{ "verify on dane keeps protocols and ciphers", "dane protocols=TLSv1.3 ciphers=high", "verify", NULL,
	  "dane floor=verify match=hostname protocols=TLSv1.3 ciphers=high (from dest + req)" },
	{ "verify on encrypt keeps servername", "encrypt servername=nexthop", "verify", NULL,
	  "verify match=hostname servername=nexthop (from dest + req)" },
	{ "may, none and invalid require nothing", "encrypt", "may", "none", "encrypt (from dest)" },
};

static void test_raise(void)
{
	tap_expect(NROWS(raise_cases) * 2);
	for (size_t i = 0; i < sizeof raise_cases / sizeof raise_cases[0]; i++) {
		const struct raise_case *c = &raise_cases[i];
		tlsrelay_status st;
		tr_policy pol, shown;
		tr_nexthop nh;
		tr_demand_in in;
		tr_demand d;
		char got[TR_POLICY_TEXT_MAX], name[256];

		if (tr_policy_parse_value(c->dest, "dest", &pol, &st) != TLSRELAY_OK ||
		    tr_nexthop_parse("example.com", &nh, NULL, 0) < 0) {
			tap_ok(0, c->name, st.text);
			continue;
		}
		tr_demand_in_init(&in);
		in.nh = &nh;
		in.policy = &pol;
		in.msg_level = tr_tls_level_from_name(c->req);
		in.msg_source = "req";
		tr_demand_nexthop_policy(&in, &shown);
		TAP_STR(tr_policy_format(&shown, got, sizeof got), c->want, c->name);
		snprintf(name, sizeof name, "%s: changed", c->name);
		tr_demand_for_nexthop(&in, &d);
		TAP_INT(d.level_src.kind == TR_SRC_MESSAGE, strstr(c->want, "+ req") != NULL, name);
	}
}

/* ----------------------------------------------------------- envelope */

static const char env_rules[] =
	"to   example.test        encrypt\n"       /* 1 */
	"to   .example.test       verify\n"        /* 2 */
	"from boss@corp.test      secure\n"        /* 3 */
	"to   vip@other.test      dane-only\n"     /* 4 */
	"header Subject: x        secure\n"        /* 5: not the transport's */
	"to   @second.test        encrypt\n";      /* 6 */

static const struct env_case {
	const char *name;
	const char *sender;
	const char *rcpts;      /* ','-separated */
	const char *sel;        /* '1'/'0' per recipient, NULL = all */
	const char *level;      /* "invalid" = none */
	const char *why;
} env_cases[] = {
	{ "recipient domain rule", "x@y.test", "user@example.test", NULL, "encrypt",
	  "message_rules:1 to example.test encrypt" },
	{ "trailing dot (as the MTA delivers it)", "x@y.test", "user@example.test.", NULL, "encrypt",
	  "message_rules:1 to example.test encrypt" },
	{ "case", "x@y.test", "USER@Example.TEST", NULL, "encrypt", "message_rules:1 to example.test encrypt" },
	{ "subdomain rule", "x@y.test", "user@mx.example.test", NULL, "verify",
	  "message_rules:2 to .example.test verify" },
	{ "strongest recipient of the group", "x@y.test", "a@other.test,user@example.test,b@mx.example.test",
	  NULL, "verify", "message_rules:2 to .example.test verify" },
	{ "first recipient of the strongest level names it", "x@y.test", "a@example.test,b@second.test",
	  NULL, "encrypt", "message_rules:1 to example.test encrypt" },
	{ "only the selected recipients count", "x@y.test", "user@mx.example.test,user@example.test",
	  "01", "encrypt", "message_rules:1 to example.test encrypt" },
	{ "no selected recipient matches", "x@y.test", "user@example.test,a@other.test", "01", "invalid", "" },
	{ "sender rule", "BOSS@corp.test", "a@other.test", NULL, "secure",
	  "message_rules:3 from boss@corp.test secure" },
	{ "sender beats a weaker recipient", "boss@corp.test", "vip@other.test", NULL, "secure",
	  "message_rules:3 from boss@corp.test secure" },
	{ "sender with a trailing dot beats a weaker recipient", "boss@corp.test.", "x@z.test,vip@other.test", NULL, "secure",
	  "message_rules:3 from boss@corp.test secure" },
	{ "null sender matches nothing", "", "a@other.test", NULL, "invalid", "" },
	{ "NULL sender matches nothing", NULL, "vip@other.test", NULL, "dane-only",
	  "message_rules:4 to vip@other.test dane-only" },
	{ "header rules are not the transport's", "subject@x.test", "x@y.test", NULL, "invalid", "" },
};

static void test_envelope(void)
{
	tlsrelay_status st;
	tr_msgrules *rules = tr_msgrules_parse(env_rules, "message_rules", &st);

	tap_expect(1 + NROWS(env_cases) * 2 + 2);
	tap_ok(rules != NULL, "envelope: the rules load", st.text);
	for (size_t i = 0; rules && i < sizeof env_cases / sizeof env_cases[0]; i++) {
		const struct env_case *c = &env_cases[i];
		tlsrelay_rcpt rc[8];
		unsigned char sel[8];
		char buf[256], *save = NULL, why[160], name[256];
		size_t n = 0;

		memset(rc, 0, sizeof rc);
		snprintf(buf, sizeof buf, "%s", c->rcpts);
		for (char *a = strtok_r(buf, ",", &save); a && n < 8; a = strtok_r(NULL, ",", &save)) {
			rc[n].addr = a;
			sel[n] = c->sel ? c->sel[n] == '1' : 1;
			n++;
		}
		tr_tls_level lv = tr_msgreq_envelope(rules, c->sender, rc, c->sel ? sel : NULL, n,
		                                     why, sizeof why);
		TAP_STR(tr_tls_level_name(lv), c->level, c->name);
		snprintf(name, sizeof name, "%s: origin", c->name);
		TAP_STR(why, c->why, name);
	}
	{
		tlsrelay_rcpt rc = { 0 };
		char why[16] = "x";

		rc.addr = "user@example.test";
		TAP_INT(tr_msgreq_envelope(NULL, "a@b", &rc, NULL, 1, why, sizeof why), TR_TLS_INVALID,
		        "envelope: no rules file, no level");
		TAP_STR(why, "", "envelope: no rules file, no origin");
	}
	tr_msgrules_free(rules);
}

/* ----------------------------------------------------------------- apply */

static const struct apply_case {
	const char *name;
	const char *dest;       /* destination policy (tr_policy_parse_value) */
	const char *hdr;        /* header level, NULL = no header */
	const char *env;        /* envelope level (message_rules), NULL = none */
	int bad, tls_no, honour, honour_no;
	const char *want;       /* tr_policy_format, or "ERROR: text" */
	int flag;               /* pol.tls_required_no */
	const char *required;   /* the requirement reported ("invalid": none) */
} apply_cases[] = {
	{ "no header: policy as is", "may", NULL, NULL, 0, 0, 1, 0, "may (from dest)", 0, "invalid" },
	{ "header raises may to verify", "may", "verify", NULL, 0, 0, 1, 0,
	  "verify match=hostname (from dest + X-TLSRelay-Require: verify)", 0, "verify" },
	{ "header raises none to encrypt", "none", "encrypt", NULL, 0, 0, 1, 0,
	  "encrypt (from dest + X-TLSRelay-Require: encrypt)", 0, "encrypt" },
	{ "header raises encrypt to secure, protocols kept", "encrypt protocols=TLSv1.3", "secure", NULL, 0, 0, 1, 0,
	  "secure match=nexthop:dot-nexthop protocols=TLSv1.3 (from dest + X-TLSRelay-Require: secure)", 0, "secure" },
	{ "header never lowers: secure stays", "secure match=.example.com", "encrypt", NULL, 0, 0, 1, 0,
	  "secure match=.example.com (from dest)", 0, "encrypt" },
	{ "fingerprint destination satisfies secure", "fingerprint match=" FP, "secure", NULL, 0, 0, 1, 0,
	  "fingerprint match=" FP " (from dest)", 0, "secure" },
	{ "header verify on dane: DANE kept, verify as the floor", "dane", "verify", NULL, 0, 0, 1, 0,
	  "dane floor=verify match=hostname (from dest + X-TLSRelay-Require: verify)", 0, "verify" },
	{ "header may: nothing", "none", "may", NULL, 0, 0, 1, 0, "none (from dest)", 0, "may" },
	{ "require_header = no: ignored", "may", "secure", NULL, 0, 0, 0, 0, "may (from dest)", 0, "invalid" },
	{ "unusable value: deferred", "secure", NULL, NULL, 1, 0, 1, 0,
	  "ERROR: temporary 4.7.5 the message requires TLS level \"maximum\" (X-TLSRelay-Require header), "
	  "which this tlsrelay cannot enforce", 0, "invalid" },
	{ "unusable value, require_header = no: ignored", "may", NULL, NULL, 1, 0, 0, 0, "may (from dest)", 0, "invalid" },
	{ "TLS-Required: No, enabled: flag set, configured encrypt kept", "encrypt", NULL, NULL, 0, 1, 1, 1,
	  "encrypt (from dest)", 1, "invalid" },
	{ "TLS-Required: No, enabled: header level kept", "may", "verify", NULL, 0, 1, 1, 1,
	  "verify match=hostname (from dest + X-TLSRelay-Require: verify)", 1, "verify" },
	{ "TLS-Required: No, not enabled: no flag", "encrypt", NULL, NULL, 0, 1, 1, 0, "encrypt (from dest)", 0, "invalid" },
	/* the envelope's level from message_rules */
	{ "rules alone raise may to encrypt", "may", NULL, "encrypt", 0, 0, 1, 0,
	  "encrypt (from dest + message_rules:1 to example.test encrypt)", 0, "encrypt" },
	{ "rules alone, require_header = no: still applied", "may", "secure", "encrypt", 0, 0, 0, 0,
	  "encrypt (from dest + message_rules:1 to example.test encrypt)", 0, "encrypt" },
	{ "header stronger than the rules: the header names it", "may", "verify", "encrypt", 0, 0, 1, 0,
	  "verify match=hostname (from dest + X-TLSRelay-Require: verify)", 0, "verify" },
	{ "rules stronger than the header: the rule names it", "may", "encrypt", "secure", 0, 0, 1, 0,
	  "secure match=nexthop:dot-nexthop (from dest + message_rules:1 to example.test secure)", 0, "secure" },
	{ "a tie: the header names it", "may", "verify", "verify", 0, 0, 1, 0,
	  "verify match=hostname (from dest + X-TLSRelay-Require: verify)", 0, "verify" },
	{ "rules on a stronger destination: kept", "secure", NULL, "encrypt", 0, 0, 1, 0,
	  "secure match=nexthop:dot-nexthop (from dest)", 0, "encrypt" },
	{ "unusable header value with rules: still deferred", "may", NULL, "secure", 1, 0, 1, 0,
	  "ERROR: temporary 4.7.5 the message requires TLS level \"maximum\" (X-TLSRelay-Require header), "
	  "which this tlsrelay cannot enforce", 0, "invalid" },
};

/* The message's requirement applied to a destination policy: the demand's
 * inputs from tr_msgreq_demand, the nexthop policy from demand.h. */
static void test_apply(void)
{
	tap_expect(NROWS(apply_cases) * 3);
	for (size_t i = 0; i < sizeof apply_cases / sizeof apply_cases[0]; i++) {
		const struct apply_case *c = &apply_cases[i];
		tr_msgreq rq = req(c->hdr, c->bad, c->tls_no);
		tr_tls_level env = c->env ? tr_tls_level_from_name(c->env) : TR_TLS_INVALID;
		tlsrelay_status st;
		tr_policy pol, shown;
		tr_nexthop nh;
		tr_demand_in in;
		char got[TR_POLICY_TEXT_MAX], name[256], why[100], src[160];

		if (tr_policy_parse_value(c->dest, "dest", &pol, &st) != TLSRELAY_OK ||
		    tr_nexthop_parse("example.com", &nh, NULL, 0) < 0) {
			tap_ok(0, c->name, st.text);
			continue;
		}
		tr_demand_in_init(&in);
		in.nh = &nh;
		in.policy = &pol;
		snprintf(why, sizeof why, "message_rules:1 to example.test %s", c->env ? c->env : "");
		if (tr_msgreq_demand(&rq, c->honour, c->honour_no, env, c->env ? why : "", &in,
		                     src, sizeof src, &st) != TLSRELAY_OK) {
			snprintf(got, sizeof got, "ERROR: %s %s %s", tlsrelay_cat_name(st.cat), st.dsn, st.text);
		} else {
			tr_demand_nexthop_policy(&in, &shown);
			tr_policy_format(&shown, got, sizeof got);
		}
		TAP_STR(got, c->want, c->name);
		snprintf(name, sizeof name, "%s: tls_required_no flag", c->name);
		TAP_INT(in.tls_required_no, c->flag, name);
		snprintf(name, sizeof name, "%s: required", c->name);
		TAP_STR(tr_tls_level_name(in.msg_level), c->required, name);
	}
}

/* ------------------------------------------------------ relax_dane */

/* RFC 8689 TLS-Required: No on DANE (demand.h R3): ret 1 relaxed, -1 kept
 * (the admin's or the message's level), 0 nothing to relax. */
static const struct relax_case {
	const char *name;
	const char *dest;       /* destination policy */
	const char *hdr;        /* header level, NULL = none */
	int tls_no, mapped, ret;
	const char *want;
} relax_cases[] = {
	{ "dane from tls_security_level: may", "dane", NULL, 1, 0, 1,
	  "may (from dest + TLS-Required: No)" },
	{ "dane, no TLS-Required: No: kept", "dane", NULL, 0, 0, 0, "dane (from dest)" },
	{ "dane-only: kept", "dane-only", NULL, 1, 0, -1, "dane-only (from dest)" },
	{ "tls_policy_map entry dane: kept", "dane", NULL, 1, 1, -1, "dane (from dest)" },
	{ "may raised to dane by the header: dane", "may", "dane", 1, 0, 0,
	  "dane (from dest + X-TLSRelay-Require: dane)" },
	{ "dane, header asks for encrypt: kept, floor encrypt", "dane", "encrypt", 1, 0, -1,
	  "dane floor=encrypt (from dest + X-TLSRelay-Require: encrypt)" },
	{ "dane, header may: relaxed", "dane", "may", 1, 0, 1, "may (from dest + TLS-Required: No)" },
	{ "encrypt: nothing to relax", "encrypt", NULL, 1, 0, 0, "encrypt (from dest)" },
	{ "verify: nothing to relax", "verify", NULL, 1, 0, 0, "verify match=hostname (from dest)" },
};

static void test_relax(void)
{
	tap_expect(NROWS(relax_cases) * 2);
	for (size_t i = 0; i < sizeof relax_cases / sizeof relax_cases[0]; i++) {
		const struct relax_case *c = &relax_cases[i];
		tr_msgreq rq = req(c->hdr, 0, c->tls_no);
		tlsrelay_status st;
		tr_policy pol, shown;
		tr_nexthop nh;
		tr_demand_in in;
		tr_demand d;
		char got[TR_POLICY_TEXT_MAX], name[256], src[64];
		int ret;

		if (tr_policy_parse_value(c->dest, "dest", &pol, &st) != TLSRELAY_OK ||
		    tr_nexthop_parse("example.com", &nh, NULL, 0) < 0) {
			tap_ok(0, c->name, st.text);
			continue;
		}
		tr_demand_in_init(&in);
		in.nh = &nh;
		in.policy = &pol;
		in.mapped = c->mapped;
		tr_msgreq_demand(&rq, 1, 1, TR_TLS_INVALID, NULL, &in, src, sizeof src, &st);
		tr_demand_nexthop_policy(&in, &shown);
		tr_policy_format(&shown, got, sizeof got);
		TAP_STR(got, c->want, c->name);
		tr_demand_for_nexthop(&in, &d);
		ret = d.dane_relaxed == TR_RELAX_DONE ? 1 : d.dane_relaxed == TR_RELAX_KEPT ? -1 : 0;
		snprintf(name, sizeof name, "%s: returns %d", c->name, c->ret);
		TAP_INT(ret, c->ret, name);
	}
}

int main(void)
{
	for (size_t i = 0; i < sizeof take_cases / sizeof take_cases[0]; i++)
		check_take(&take_cases[i]);
	test_big();
	test_nul();
	test_raise();
	test_envelope();
	test_apply();
	test_relax();
	return tap_done();
}
