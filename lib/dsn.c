/*
 * dsn.c - the syntax of the DSN parameters NOTIFY, ORCPT and of xtext
 * (RFC 3461), shared by the delivery's request check and the LMTP server
 * (see dsn.h).
 *
 * Decisions:
 * - xtext's hex digits are upper case only, as RFC 3461 section 4 writes
 *   them ("+" followed by two upper-case hexadecimal digits).
 * - A decoded byte must be printable ASCII (0x20-0x7e): ENVID and ORCPT
 *   end up in a DSN's text, where a control byte has no place.
 * - addr-type: RFC 3461 says atom; its registered values (rfc822, utf-8,
 *   x400, unknown) are alphanumeric with "-". Every atext character but
 *   "=" is taken (an ESMTP parameter value cannot hold "=", RFC 5321
 *   section 4.1.2).
 * - ORCPT's xtext is checked for its form only: "+" and two hex digits of
 *   either case, and any octet once decoded. The value is passed on as
 *   received, never decoded for use, and what a relay receives it must
 *   pass on: Postfix's smtpd takes any xtext that its xtext_unquote()
 *   decodes (both cases, 8-bit octets), and its smtp(8)/lmtp(8) quote an
 *   8-bit original address as "+C3+A9". Refusing such a value at the LMTP
 *   listener would be a 5xx to a good recipient: a bounce.
 * - tr_dsn_rcpt_params (tlsrelay -D): the RCPT line's own syntax, so that
 *   the value reads as what is sent; NOTIFY is upper-cased (the
 *   library's rule for tlsrelay_request's NOTIFY takes upper case only,
 *   as -N upper-cases its value); a word that is neither, a repeated
 *   one, or a value the library would refuse is refused here, before
 *   any message is read.
 */
#include "config.h"
#include "dsn.h"
#include "status.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

int tr_dsn_xtext_decode(const char *in, size_t n, char *out, size_t cap)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)in[i];
		if (c == '+') {
			unsigned v = 0;
			for (int k = 1; k <= 2; k++) {
				char h = i + k < n ? in[i + k] : 0;
				if (!((h >= '0' && h <= '9') || (h >= 'A' && h <= 'F')))
					return -1;
				v = v * 16 + (unsigned)(h <= '9' ? h - '0' : h - 'A' + 10);
			}
			c = (unsigned char)v;
			i += 2;
			if (c < 0x20 || c > 0x7e)
				return -1;
		} else if (c < 0x21 || c > 0x7e || c == '=') {
			return -1;
		}
		if (o + 1 >= cap)
			return -1;
		out[o++] = (char)c;
	}
	if (cap == 0)
		return -1;
	out[o] = '\0';
	return 0;
}

int tr_dsn_notify_ok(const char *v, size_t n)
{
	static const char *const words[] = { "SUCCESS", "FAILURE", "DELAY" };

	if (n == 5 && strncasecmp(v, "NEVER", 5) == 0)
		return 1;
	while (n > 0) {
		size_t w = 0, k;
		while (w < n && v[w] != ',')
			w++;
		for (k = 0; k < 3; k++)
			if (strlen(words[k]) == w && strncasecmp(v, words[k], w) == 0)
				break;
		if (k == 3)
			return 0;
		if (w == n)
			return 1;
		v += w + 1;
		n -= w + 1;
		if (n == 0)
			return 0;
	}
	return 0;
}

static int is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f');
}

/* xtext's form (see the decisions above): 1 or 0. */
static int xtext_form_ok(const char *in, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)in[i];
		if (c == '+') {
			if (i + 2 >= n)
				return 0;
			if (!is_hex(in[i + 1]) || !is_hex(in[i + 2]))
				return 0;
			i += 2;
		} else if (c < 0x21 || c > 0x7e || c == '=') {
			return 0;
		}
	}
	return 1;
}

int tr_dsn_orcpt_form_ok(const char *v, size_t n)
{
	static const char atext[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	                            "0123456789!#$%&'*+-/?^_`{|}~";
	const char *semi = memchr(v, ';', n);

	if (semi == NULL || semi == v)
		return 0;
	for (const char *c = v; c < semi; c++)
		if (*c == '\0' || strchr(atext, *c) == NULL)
			return 0;
	return xtext_form_ok(semi + 1, n - (size_t)(semi + 1 - v));
}

int tr_dsn_orcpt_ok(const char *v, size_t n)
{
	return n <= TR_DSN_ORCPT_MAX && tr_dsn_orcpt_form_ok(v, n);
}

/* One word of tr_dsn_rcpt_params. Returns: OK, USAGE 5.5.4. */
static tlsrelay_cat rcpt_param(char *w, const char **notify, const char **orcpt,
                               tlsrelay_status *st)
{
	char *v = strchr(w, '=');
	size_t n;

	if (v == NULL || (v - w != 6 && v - w != 5) ||
	    (strncasecmp(w, "NOTIFY=", 7) != 0 && strncasecmp(w, "ORCPT=", 6) != 0))
		return tr_status_set(st, TLSRELAY_USAGE, "5.5.4",
		                     "\"%.40s\" is not NOTIFY=value or ORCPT=value", w);
	n = strlen(++v);
	if (v - w == 7) {
		if (*notify != NULL)
			return tr_status_set(st, TLSRELAY_USAGE, "5.5.4", "NOTIFY given twice");
		for (char *c = v; *c; c++)
			*c = (char)toupper((unsigned char)*c);
		if (n > 64 || !tr_dsn_notify_ok(v, n))
			return tr_status_set(st, TLSRELAY_USAGE, "5.5.4", "bad NOTIFY \"%.40s\": NEVER, "
			                     "or a list of SUCCESS, FAILURE, DELAY", v);
		*notify = v;
		return tr_status_ok(st);
	}
	if (*orcpt != NULL)
		return tr_status_set(st, TLSRELAY_USAGE, "5.5.4", "ORCPT given twice");
	if (!tr_dsn_orcpt_ok(v, n))
		return tr_status_set(st, TLSRELAY_USAGE, "5.5.4", "bad ORCPT \"%.40s\": want "
		                     "addr-type;xtext, at most %d characters", v, TR_DSN_ORCPT_MAX);
	*orcpt = v;
	return tr_status_ok(st);
}

tlsrelay_cat tr_dsn_rcpt_params(char *p, const char **notify, const char **orcpt,
                                tlsrelay_status *st)
{
	*notify = *orcpt = NULL;
	while (*p) {
		char *w = p;

		if (*p == ' ') {
			p++;
			continue;
		}
		while (*p && *p != ' ')
			p++;
		if (*p)
			*p++ = '\0';
		if (rcpt_param(w, notify, orcpt, st) != TLSRELAY_OK)
			return st->cat;
	}
	return tr_status_ok(st);
}
