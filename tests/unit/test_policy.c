/*
 * test_policy.c - TLS policy values and policy tables (policy.c).
 *
 * Table-driven: every case names itself and states its exact outcome (the
 * policy as tr_policy_format prints it, the protocol bounds, or the exact
 * error text with "FILE" standing for the temporary file's name).
 */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <openssl/ssl.h>
#include "nexthop.h"
#include "policy.h"
#include "status.h"
#include "tap.h"
#include "testutil.h"

/* SHA-256 digests: lower case as written, upper case as stored. */
#define FP_L "01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef:" \
             "01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef"
#define FP_U "01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:" \
             "01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF"
#define FP2  "FF:EE:DD:CC:BB:AA:99:88:77:66:55:44:33:22:11:00:" \
             "FF:EE:DD:CC:BB:AA:99:88:77:66:55:44:33:22:11:00"
#define FP3  "Aa:bB:cc:DD:ee:ff:00:11:22:33:44:55:66:77:88:99:" \
             "aa:bb:cc:dd:ee:ff:00:11:22:33:44:55:66:77:88:99"
#define FP3U "AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:" \
             "AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99"
#define FP_G "g1:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef:" \
             "01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef"
/* How error texts quote a digest: its first 64 bytes, then "...". */
#define FP_BARE "0123456789abcdef0123456789abcdef" \
                "0123456789abcdef0123456789abcdef"

#define LEVELS "none, may, encrypt, dane, dane-only, fingerprint, verify, secure"
#define FP_WHY "expected a SHA-256 digest, 32 hex byte pairs separated by \":\""
#define NAME_WHY "expected hostname, nexthop, dot-nexthop, a DNS name or .domain"
#define PROTO_WHY "(expected SSLv2, SSLv3, TLSv1, TLSv1.1, TLSv1.2 or TLSv1.3)"
#define NOPROTO "allows no protocol this client uses (TLSv1.2, TLSv1.3)"
#define BADLEVEL "unknown security level (the first word of the policy; expected one of: " LEVELS ")"
#define BADPROTO "bad protocols=: unknown protocol " \
                 "(expected SSLv2, SSLv3, TLSv1, TLSv1.1, TLSv1.2 or TLSv1.3, each maybe after !, >= or <=)"
#define KNOWN_ATTRS "known: match, protocols, ciphers, servername, exclude, tafile, " \
                    "connection_reuse, enable_rpk"

/* ------------------------------------------------------------- helpers */

/* value parsed (where NULL) and formatted, or "ERROR: text". */
static const char *parsed(const char *value, char *buf, size_t cap)
{
	tlsrelay_status st;
	tr_policy p;

	if (tr_policy_parse_value(value, NULL, &p, &st) != TLSRELAY_OK)
		snprintf(buf, cap, "ERROR: %s", st.text);
	else
		tr_policy_format(&p, buf, cap);
	return buf;
}

/* ---------------------------------------------------------- good values */

/* Each parses (where NULL) and formats as want. */
static const struct {
	const char *name, *value, *want;
} good_cases[] = {
	{ "level none", "none", "none" },
	{ "level may", "may", "may" },
	{ "level encrypt", "encrypt", "encrypt" },
	{ "level dane", "dane", "dane" },
	{ "level dane-only", "dane-only", "dane-only" },
	{ "level fingerprint, digest upper-cased", "fingerprint match=" FP_L,
	  "fingerprint match=" FP_U },
	{ "level verify: default match=hostname", "verify",
	  "verify match=hostname" },
	{ "level secure: default match=nexthop:dot-nexthop", "secure",
	  "secure match=nexthop:dot-nexthop" },
	{ "fingerprint: '|' list and repeated match=",
	  "fingerprint match=" FP_L "|" FP2 " match=" FP3,
	  "fingerprint match=" FP_U "|" FP2 "|" FP3U },
	{ "verify: given names replace the default, lower-cased",
	  "verify match=Hostname:MX.Example.COM",
	  "verify match=hostname:mx.example.com" },
	{ "secure: .domain name", "secure match=.example.com",
	  "secure match=.example.com" },
	{ "secure: repeated match= appends", "secure match=nexthop "
	  "match=DOT-NEXTHOP:example.net",
	  "secure match=nexthop:dot-nexthop:example.net" },
	{ "commas separate attributes (Postfix)", "secure,match=nexthop,,"
	  "ciphers=high", "secure match=nexthop ciphers=high" },
	{ "tabs and spaces around tokens", " \tverify \t match=hostname\t ",
	  "verify match=hostname" },
	{ "attribute names are case-insensitive", "encrypt PROTOCOLS=>=tlsv1.3 "
	  "Ciphers=Medium", "encrypt protocols=>=TLSv1.3 ciphers=medium" },
	{ "ciphers=high", "may ciphers=HIGH", "may ciphers=high" },
	{ "ciphers=medium", "encrypt ciphers=medium", "encrypt ciphers=medium" },
	{ "servername=nexthop", "verify servername=nexthop",
	  "verify match=hostname servername=nexthop" },
	{ "servername=hostname is the default (not printed)",
	  "verify servername=HostName", "verify match=hostname" },
	{ "servername=literal DNS name", "encrypt servername=SNI.Example.Net",
	  "encrypt servername=sni.example.net" },
	{ "every attribute at once", "dane protocols=TLSv1.3 ciphers=high "
	  "servername=nexthop", "dane protocols=TLSv1.3 ciphers=high "
	  "servername=nexthop" },
	{ "16 match names", "verify match=a:b:c:d:e:f:g:h:i:j:k:l:m:n:o:p",
	  "verify match=a:b:c:d:e:f:g:h:i:j:k:l:m:n:o:p" },
	{ "underscore and digits in a name", "verify match=_mta-sts.ex4mple.com",
	  "verify match=_mta-sts.ex4mple.com" },
};

static void test_good_values(void)
{
	char buf[TR_POLICY_TEXT_MAX];

	tap_expect(NROWS(good_cases));
	for (size_t c = 0; c < sizeof good_cases / sizeof good_cases[0]; c++)
		check_str(parsed(good_cases[c].value, buf, sizeof buf),
		          good_cases[c].want, good_cases[c].name);
}

/* The fields themselves for a few; the level for every level. */
static void test_fields(void)
{
	char value[160], name[96];
	tlsrelay_status st;
	tr_policy p;

	tap_expect(14 + (TR_TLS_SECURE - TR_TLS_NONE + 1) * 2);  /* and two a level */
	TAP_INT(tr_policy_parse_value("secure match=nexthop ciphers=high "
	                              "servername=nexthop", "main.cf:3", &p, &st),
	        TLSRELAY_OK, "fields: parse");
	TAP_INT(p.level, TR_TLS_SECURE, "fields: level");
	TAP_INT(p.nmatch, 1, "fields: nmatch");
	check_str(p.match[0], "nexthop", "fields: match[0]");
	check_str(p.grade, "high", "fields: grade");
	check_str(p.ciphers, "HIGH:!aNULL:!eNULL", "fields: OpenSSL list for high");
	check_str(p.servername, "nexthop", "fields: servername");
	check_str(p.source, "main.cf:3", "fields: source = where");
	tr_policy_parse_value("may ciphers=medium", NULL, &p, &st);
	check_str(p.ciphers, "HIGH:MEDIUM:!aNULL:!eNULL",
	          "fields: OpenSSL list for medium");
	check_str(p.source, "", "fields: source \"\" when where is NULL");
	check_str(p.servername, "hostname", "fields: default servername");
	tr_policy_parse_value("none", NULL, &p, &st);
	check_str(p.servername, "", "fields: no servername at level none");
	TAP_INT(tr_policy_parse_value("may", NULL, &p, NULL), TLSRELAY_OK,
	        "fields: st may be NULL");
	TAP_INT(tr_policy_parse_value(NULL, NULL, &p, &st), TLSRELAY_CONFIG,
	        "fields: NULL value is empty");
	/* every level tr_tls_level_from_name knows is stored, supported or not */
	for (int lv = TR_TLS_NONE; lv <= TR_TLS_SECURE; lv++) {
		const char *n = tr_tls_level_name((tr_tls_level)lv);
		snprintf(value, sizeof value, "%s%s", n,
		         lv == TR_TLS_FINGERPRINT ? " match=" FP_L : "");
		snprintf(name, sizeof name, "level %s is stored", n);
		memset(&p, 0, sizeof p);
		TAP_INT(tr_policy_parse_value(value, NULL, &p, &st), TLSRELAY_OK, name);
		TAP_INT(p.level, lv, name);
	}
}

/* ------------------------------------------------------------ protocols */

static const struct {
	const char *value;
	int min, max;
	const char *fmt;
} proto_cases[] = {
	{ ">=TLSv1.2", TLS1_2_VERSION, 0, ">=TLSv1.2" },
	{ ">=TLSv1", TLS1_2_VERSION, 0, ">=TLSv1.2" },
	{ ">=SSLv3", TLS1_2_VERSION, 0, ">=TLSv1.2" },
	{ ">=TLSv1.3", TLS1_3_VERSION, 0, ">=TLSv1.3" },
	{ "<=TLSv1.3", TLS1_2_VERSION, TLS1_3_VERSION, ">=TLSv1.2:<=TLSv1.3" },
	{ "<=TLSv1.2", TLS1_2_VERSION, TLS1_2_VERSION, "TLSv1.2" },
	{ ">=TLSv1.2:<=TLSv1.3", TLS1_2_VERSION, TLS1_3_VERSION,
	  ">=TLSv1.2:<=TLSv1.3" },
	{ "!TLSv1:!TLSv1.1", TLS1_2_VERSION, 0, ">=TLSv1.2" },
	{ "!SSLv2:!SSLv3:!TLSv1:!TLSv1.1", TLS1_2_VERSION, 0, ">=TLSv1.2" },
	{ "!TLSv1.2", TLS1_3_VERSION, 0, ">=TLSv1.3" },
	{ "!TLSv1.3", TLS1_2_VERSION, TLS1_2_VERSION, "TLSv1.2" },
	{ "TLSv1.2:TLSv1.3", TLS1_2_VERSION, TLS1_3_VERSION, ">=TLSv1.2:<=TLSv1.3" },
	{ "TLSv1.2", TLS1_2_VERSION, TLS1_2_VERSION, "TLSv1.2" },
	{ "TLSv1.3", TLS1_3_VERSION, TLS1_3_VERSION, "TLSv1.3" },
	{ "TLSv1:TLSv1.1:TLSv1.2", TLS1_2_VERSION, TLS1_2_VERSION, "TLSv1.2" },
	{ "tlsv1.2:TLSV1.3", TLS1_2_VERSION, TLS1_3_VERSION, ">=TLSv1.2:<=TLSv1.3" },
	{ ">=TLSv1.3:!TLSv1.2", TLS1_3_VERSION, 0, ">=TLSv1.3" },
};

static void test_protocols(void)
{
	char value[128], want[128], name[128], buf[TR_POLICY_TEXT_MAX];
	tlsrelay_status st;
	tr_policy p;

	tap_expect(NROWS(proto_cases) * 4);
	for (size_t c = 0; c < sizeof proto_cases / sizeof proto_cases[0]; c++) {
		snprintf(value, sizeof value, "encrypt protocols=%s",
		         proto_cases[c].value);
		snprintf(name, sizeof name, "protocols=%s", proto_cases[c].value);
		memset(&p, 0, sizeof p);
		TAP_INT(tr_policy_parse_value(value, NULL, &p, &st), TLSRELAY_OK, name);
		TAP_INT(p.min_proto, proto_cases[c].min, name);
		TAP_INT(p.max_proto, proto_cases[c].max, name);
		snprintf(want, sizeof want, "encrypt protocols=%s", proto_cases[c].fmt);
		check_str(tr_policy_format(&p, buf, sizeof buf), want, name);
	}
}

/* ----------------------------------------------------------- bad values */

/* Each is refused (where "t:1") with exactly want. */
static const struct {
	const char *name, *value, *want;
} bad_cases[] = {
	{ "empty", "", "t:1: empty policy: expected a security level" },
	{ "blank", " \t, ", "t:1: empty policy: expected a security level" },
	{ "unknown level", "bogus", "t:1: " BADLEVEL },
	{ "level names are case-sensitive", "MAY", "t:1: " BADLEVEL },
	{ "Postfix's old MUST is not a level", "MUST match=x", "t:1: " BADLEVEL },
	{ "token without =", "may foo", "t:1: malformed attribute (word 2 of the "
	  "policy): expected name=value" },
	{ "token with empty name", "may =x", "t:1: malformed attribute (word 2 of "
	  "the policy): expected name=value" },
	{ "unknown attribute", "may color=red", "t:1: unknown attribute (word 2 of "
	  "the policy; " KNOWN_ATTRS ")" },
	{ "unknown attribute, word 4", "verify,match=hostname ciphers=high color=red",
	  "t:1: unknown attribute (word 4 of the policy; " KNOWN_ATTRS ")" },
	{ "exclude is not supported", "encrypt exclude=3DES",
	  "t:1: attribute \"exclude\" is not supported by tlsrelay" },
	{ "tafile is not supported", "secure tafile=/etc/ta.pem",
	  "t:1: attribute \"tafile\" is not supported by tlsrelay" },
	{ "attributes at level none", "none protocols=>=TLSv1.2", "t:1: attribute "
	  "\"protocols\" is not allowed at level none (TLS is disabled)" },
	{ "match= at level none", "none match=hostname", "t:1: attribute \"match\" "
	  "is not allowed at level none (TLS is disabled)" },
	{ "match= at level may", "may match=hostname", "t:1: attribute \"match\" is "
	  "not allowed at level may (only at fingerprint, verify and secure)" },
	{ "match= at level encrypt", "encrypt match=hostname", "t:1: attribute "
	  "\"match\" is not allowed at level encrypt (only at fingerprint, verify "
	  "and secure)" },
	{ "match= at level dane", "dane match=hostname", "t:1: attribute \"match\" "
	  "is not allowed at level dane (only at fingerprint, verify and secure)" },
	{ "empty match=", "verify match=", "t:1: attribute \"match\" has an empty "
	  "value" },
	{ "empty ciphers=", "verify ciphers=", "t:1: attribute \"ciphers\" has an "
	  "empty value" },
	{ "protocols= twice", "secure protocols=TLSv1.2 protocols=TLSv1.3",
	  "t:1: attribute \"protocols\" is given more than once" },
	{ "ciphers= twice", "secure ciphers=high CIPHERS=high",
	  "t:1: attribute \"ciphers\" is given more than once" },
	{ "servername= twice", "secure servername=a.example servername=b.example",
	  "t:1: attribute \"servername\" is given more than once" },
	{ "fingerprint without match=", "fingerprint", "t:1: level fingerprint "
	  "needs match= with at least one SHA-256 digest" },
	{ "fingerprint: 31 bytes", "fingerprint match=01:23:45:67:89:ab:cd:ef:"
	  "01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd",
	  "t:1: bad fingerprint (match= item 1): " FP_WHY },
	{ "fingerprint: 33 bytes", "fingerprint match=" FP_L ":00",
	  "t:1: bad fingerprint (match= item 1): " FP_WHY },
	{ "fingerprint: no colons", "fingerprint match=" FP_BARE,
	  "t:1: bad fingerprint (match= item 1): " FP_WHY },
	{ "fingerprint: not hex", "fingerprint match=" FP_G,
	  "t:1: bad fingerprint (match= item 1): " FP_WHY },
	{ "fingerprint: '-' separators", "fingerprint match=01-23-45",
	  "t:1: bad fingerprint (match= item 1): " FP_WHY },
	{ "fingerprint: SHA-1 (20 bytes)", "fingerprint match=01:23:45:67:89:ab:"
	  "cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67",
	  "t:1: bad fingerprint (match= item 1): " FP_WHY },
	{ "fingerprint: empty between '|'", "fingerprint match=" FP_L "||" FP2,
	  "t:1: bad fingerprint (match= item 2): " FP_WHY },
	{ "fingerprint: trailing '|'", "fingerprint match=" FP_L "|",
	  "t:1: bad fingerprint (match= item 2): " FP_WHY },
	{ "match name with '!'", "verify match=bad!name",
	  "t:1: bad match name (match= item 1): " NAME_WHY },
	{ "match name with empty label", "verify match=a..b",
	  "t:1: bad match name (match= item 1): " NAME_WHY },
	{ "empty match name between ':'", "verify match=hostname::nexthop",
	  "t:1: bad match name (match= item 2): " NAME_WHY },
	{ "match name '.' alone", "secure match=.", "t:1: bad match name (match= "
	  "item 1): " NAME_WHY },
	{ "17 match names", "verify match=a:b:c:d:e:f:g:h:i:j:k:l:m:n:o:p:q",
	  "t:1: too many match= values (at most 16)" },
	{ "protocols: unknown name", "may protocols=TLSv9", "t:1: " BADPROTO },
	{ "protocols: empty element", "may protocols=TLSv1.2:", "t:1: " BADPROTO },
	{ "protocols: '>' without '='", "may protocols=>TLSv1.2", "t:1: " BADPROTO },
	{ "protocols: '=>'", "may protocols==>TLSv1.2", "t:1: " BADPROTO },
	{ "protocols: only old versions", "may protocols=TLSv1:TLSv1.1",
	  "t:1: bad protocols=: " NOPROTO },
	{ "protocols: <=TLSv1.1", "may protocols=<=TLSv1.1",
	  "t:1: bad protocols=: " NOPROTO },
	{ "protocols: crossed bounds", "may protocols=>=TLSv1.3:<=TLSv1.2",
	  "t:1: bad protocols=: " NOPROTO },
	{ "protocols: all excluded", "may protocols=!TLSv1.2:!TLSv1.3",
	  "t:1: bad protocols=: " NOPROTO },
	{ "ciphers=low", "may ciphers=low", "t:1: bad ciphers=: expected high or medium" },
	{ "ciphers=null", "may ciphers=null", "t:1: bad ciphers=: expected high or medium" },
	{ "ciphers=export", "may ciphers=export", "t:1: bad ciphers=: expected high or medium" },
	{ "ciphers: an OpenSSL list", "may ciphers=HIGH:!aNULL",
	  "t:1: bad ciphers=: expected high or medium" },
	{ "servername: bad name", "may servername=bad!name", "t:1: bad servername=: "
	  "expected hostname, nexthop or a DNS name" },
	{ "servername: address literal", "may servername=[192.0.2.1]",
	  "t:1: bad servername=: expected hostname, nexthop or a DNS name" },
	{ "LF inside", "may\nciphers=high", "t:1: control character in policy" },
};

static void test_bad_values(void)
{
	tlsrelay_status st;
	tr_policy p, before;

	tap_expect(NROWS(bad_cases) * 4 + 1);
	memset(&before, 0x5a, sizeof before);
	for (size_t c = 0; c < sizeof bad_cases / sizeof bad_cases[0]; c++) {
		p = before;
		TAP_INT(tr_policy_parse_value(bad_cases[c].value, "t:1", &p, &st),
		        TLSRELAY_CONFIG, bad_cases[c].name);
		check_str(st.text, bad_cases[c].want, bad_cases[c].name);
		check_str(st.dsn, "4.3.5", bad_cases[c].name);
		tap_ok(memcmp(&p, &before, sizeof p) == 0, bad_cases[c].name,
		       "*out was changed");
	}
	tr_policy_parse_value("bogus", NULL, &p, &st);
	check_str(st.text, BADLEVEL, "where NULL: no prefix");
}

static void test_long_values(void)
{
	char value[TR_POLICY_LINE_MAX + 2];
	tlsrelay_status st;
	tr_policy p;

	tap_expect(4);
	memset(value, ' ', sizeof value);
	memcpy(value, "may", 3);
	value[TR_POLICY_LINE_MAX] = '\0';
	TAP_INT(tr_policy_parse_value(value, NULL, &p, &st), TLSRELAY_OK,
	        "a 4096-byte policy is accepted");
	value[TR_POLICY_LINE_MAX] = ' ';
	value[TR_POLICY_LINE_MAX + 1] = '\0';
	TAP_INT(tr_policy_parse_value(value, "t:2", &p, &st), TLSRELAY_CONFIG,
	        "a 4097-byte policy is refused");
	check_str(st.text, "t:2: policy longer than 4096 bytes",
	          "a 4097-byte policy: text");
	memset(value, 'x', 100);
	strcpy(value + 100, "=1");
	memmove(value + 4, value, 103);
	memcpy(value, "may ", 4);
	tr_policy_parse_value(value, NULL, &p, &st);
	check_str(st.text, "unknown attribute (word 2 of the policy; " KNOWN_ATTRS ")",
	          "a long bad attribute is not quoted");
}

/* ------------------------------------------------ defaults and format */

static const struct {
	tr_tls_level level;
	const char *want;
} default_cases[] = {
	{ TR_TLS_NONE, "none" },
	{ TR_TLS_MAY, "may" },
	{ TR_TLS_ENCRYPT, "encrypt" },
	{ TR_TLS_DANE, "dane" },
	{ TR_TLS_DANE_ONLY, "dane-only" },
	{ TR_TLS_FINGERPRINT, "fingerprint" },
	{ TR_TLS_VERIFY, "verify match=hostname" },
	{ TR_TLS_SECURE, "secure match=nexthop:dot-nexthop" },
};

static void test_defaults(void)
{
	char buf[TR_POLICY_TEXT_MAX], name[96];
	tr_policy p;

	tap_expect(NROWS(default_cases) * 3 + 1);
	for (size_t c = 0; c < sizeof default_cases / sizeof default_cases[0];
	     c++) {
		memset(&p, 0x5a, sizeof p);
		tr_policy_from_level(default_cases[c].level, &p);
		snprintf(name, sizeof name, "tr_policy_from_level(%s)",
		         tr_tls_level_name(default_cases[c].level));
		check_str(tr_policy_format(&p, buf, sizeof buf),
		          default_cases[c].want, name);
		TAP_INT(p.min_proto + p.max_proto + p.ciphers[0] + p.source[0], 0,
		        name);
		check_str(p.servername, default_cases[c].level == TR_TLS_NONE ? ""
		          : "hostname", name);
	}
	tr_policy_from_level(TR_TLS_FINGERPRINT, &p);
	TAP_INT(p.nmatch, 0, "fingerprint default has no digest");
}

static void test_format(void)
{
	char buf[TR_POLICY_TEXT_MAX], small[10];
	tr_policy p;

	tap_expect(5);
	tr_policy_from_level(TR_TLS_SECURE, &p);
	p.min_proto = TLS1_2_VERSION;
	strcpy(p.source, "/etc/tlsrelay/tls_policy:12 key .example.com");
	check_str(tr_policy_format(&p, buf, sizeof buf),
	          "secure match=nexthop:dot-nexthop protocols=>=TLSv1.2 (from "
	          "/etc/tlsrelay/tls_policy:12 key .example.com)",
	          "format: the -q example");
	tr_policy_from_level(TR_TLS_MAY, &p);
	p.max_proto = TLS1_2_VERSION;
	strcpy(p.source, "tls_security_level");
	check_str(tr_policy_format(&p, buf, sizeof buf),
	          "may protocols=<=TLSv1.2 (from tls_security_level)",
	          "format: max only, source from a setting");
	check_str(tr_policy_format(&p, small, sizeof small), "may proto",
	          "format: truncated to cap - 1");
	strcpy(small, "unchanged");
	tr_policy_format(&p, small, 0);
	check_str(small, "unchanged", "format: cap 0 writes nothing");
	tap_ok(tr_policy_format(&p, NULL, 5) == NULL, "format: NULL out", NULL);
}

/* Our cipher lists and versions are ones OpenSSL takes. */
static void test_openssl_accepts(void)
{
	SSL_CTX *c = SSL_CTX_new(TLS_client_method());
	tr_policy p;

	tap_expect(4);
	if (c == NULL) {
		tap_ok(0, "OpenSSL: SSL_CTX_new", NULL);
		return;
	}
	tr_policy_parse_value("encrypt ciphers=high protocols=TLSv1.2:TLSv1.3",
	                      NULL, &p, NULL);
	TAP_INT(SSL_CTX_set_cipher_list(c, p.ciphers), 1, "OpenSSL: high list");
	TAP_INT(SSL_CTX_set_min_proto_version(c, p.min_proto), 1,
	        "OpenSSL: min_proto");
	TAP_INT(SSL_CTX_set_max_proto_version(c, p.max_proto), 1,
	        "OpenSSL: max_proto");
	tr_policy_parse_value("encrypt ciphers=medium", NULL, &p, NULL);
	TAP_INT(SSL_CTX_set_cipher_list(c, p.ciphers), 1, "OpenSSL: medium list");
	SSL_CTX_free(c);
}

/* ----------------------------------------------------------- map files */

/* Each file is refused with want ("FILE" = its name). */
static const struct {
	const char *name, *data;
	size_t len;             /* 0: strlen(data) */
	const char *want;
} file_errors[] = {
	{ "bad level", "example.com  bogus\n", 0, "FILE:1: " BADLEVEL },
	{ "line numbers count comments and blank lines",
	  "# c\n\n  # indented comment\nexample.com may\nexample.net verify "
	  "match=x..y\n", 0, "FILE:5: bad match name (match= item 1): " NAME_WHY },
	{ "error in a continuation: the entry's first line",
	  "example.com verify\n\tservername=nexthop\n  match=bad!\n",
	  0, "FILE:1: bad match name (match= item 1): " NAME_WHY },
	{ "continuation without an entry", "  may\n", 0, "FILE:1: continuation "
	  "line (starting with white space) without an entry before it" },
	{ "a comment does not start an entry", "# c\n\tmay\n", 0, "FILE:2: "
	  "continuation line (starting with white space) without an entry "
	  "before it" },
	{ "key without policy", "example.com\n", 0,
	  "FILE:1: no policy after key \"example.com\"" },
	{ "key without policy, trailing blanks", "example.com \t \r\n", 0,
	  "FILE:1: no policy after key \"example.com\"" },
	{ "bad host in key", "bad!.com may\n", 0,
	  "FILE:1: bad key (the first field): bad host name" },
	{ "unbalanced bracket in key", "[mx.example.com may\n", 0,
	  "FILE:1: bad key (the first field): unbalanced brackets" },
	{ ".domain with brackets", ".[mx.example.com] may\n", 0, "FILE:1: bad key "
	  "(the first field): a \".domain\" key takes no brackets or port" },
	{ ".domain with port", ".example.com:25 may\n", 0, "FILE:1: bad key "
	  "(the first field): a \".domain\" key takes no brackets or port" },
	{ "'.' alone", ". may\n", 0,
	  "FILE:1: bad key (the first field): empty domain after \".\"" },
	{ "smtp: prefix", "smtp:example.com may\n", 0, "FILE:1: bad key "
	  "(the first field): no \"smtp:\" or \"smtps:\" prefix in keys" },
	{ "smtps: prefix", "smtps:[mx.example.com] may\n", 0, "FILE:1: bad key "
	  "(the first field): no \"smtp:\" or \"smtps:\" prefix in keys" },
	{ "bad port in key", "[mx.example.com]:0 may\n", 0, "FILE:1: bad key "
	  "(the first field): bad port: expected 1-65535, smtp, "
	  "submission, smtps or submissions" },
	{ "unbracketed IPv6 key", "2001:db8::1 may\n", 0, "FILE:1: bad key "
	  "(the first field): put IPv6 addresses in brackets: [ADDRESS]" },
	{ "duplicate key (case-insensitive)",
	  "example.com may\nfoo.example none\nEXAMPLE.com encrypt\n", 0,
	  "FILE:3: duplicate key \"example.com\" (first at line 1)" },
	{ "duplicate key (port name = number)",
	  "[mx.example.com]:25 may\n[MX.example.com]:smtp encrypt\n", 0,
	  "FILE:2: duplicate key \"[mx.example.com]:25\" (first at line 1)" },
	{ "duplicate key (IPv6 spellings)",
	  "[2001:db8::1] may\n[IPv6:2001:DB8:0:0::1] encrypt\n", 0,
	  "FILE:2: duplicate key \"[2001:db8::1]\" (first at line 1)" },
	{ "two duplicates: the earlier one in the file",
	  "a.example may\nb.example may\na.example may\nb.example may\n", 0,
	  "FILE:3: duplicate key \"a.example\" (first at line 1)" },
	{ "NUL byte", "example.com may\nexam\0ple.com may\n", 33,
	  "FILE:2: NUL byte in line (not a text file?)" },
	{ "bad attribute after a good entry", "a.example may\nb.example may "
	  "exclude=3DES\n", 0,
	  "FILE:2: attribute \"exclude\" is not supported by tlsrelay" },
	{ "last line without LF", "a.example may\nb.example fingerprint", 0,
	  "FILE:2: level fingerprint needs match= with at least one SHA-256 "
	  "digest" },
};

static void test_file_errors(void)
{
	char path[128], want[1024], name[160];
	tlsrelay_status st;
	tr_policy_map *m;

	tap_expect(NROWS(file_errors) * 3);
	for (size_t c = 0; c < sizeof file_errors / sizeof file_errors[0]; c++) {
		size_t len = file_errors[c].len ? file_errors[c].len
		                                : strlen(file_errors[c].data);
		snprintf(name, sizeof name, "file: %s", file_errors[c].name);
		if (write_temp("policy", file_errors[c].data, len, path,
		               sizeof path) != 0) {
			tap_ok(0, name, "cannot write a temporary file");
			continue;
		}
		m = tr_policy_map_load(path, &st);
		tap_ok(m == NULL, name, "the file was accepted");
		tr_policy_map_free(m);
		expand(file_errors[c].want, path, want, sizeof want);
		check_str(st.text, want, name);
		check_str(st.dsn, "4.3.5", name);
		unlink(path);
	}
}

/* Lines and entries at their limits; a file too big in entries. */
static void test_file_limits(void)
{
	size_t cap = 110000 * 24, used = 0;
	char *data = malloc(cap), path[128], want[256], xs[2501];
	tlsrelay_status st;
	tr_policy_map *m;

	tap_expect(4);
	if (data == NULL)
		return;
	/* 4096 bytes and CRLF: accepted; 4097 bytes: refused on line 2 */
	used = (size_t)snprintf(data, cap, "%-4096s\r\n", "example.com may");
	used += (size_t)snprintf(data + used, cap - used, "%-4097s\n", "b.example may");
	write_temp("policy", data, used, path, sizeof path);
	m = tr_policy_map_load(path, &st);
	expand("FILE:2: line longer than 4096 bytes", path, want, sizeof want);
	check_str(st.text, want, "file: 4096 bytes + CRLF ok, 4097 refused");
	tr_policy_map_free(m);
	unlink(path);
	/* continuation lines making an entry over 4096 bytes */
	memset(xs, 'x', sizeof xs - 1);
	xs[sizeof xs - 1] = '\0';
	used = (size_t)snprintf(data, cap, "a.example may\n %s\n %s\n", xs, xs);
	write_temp("policy", data, used, path, sizeof path);
	m = tr_policy_map_load(path, &st);
	expand("FILE:3: entry longer than 4096 bytes", path, want, sizeof want);
	check_str(st.text, want, "file: entry over 4096 bytes");
	tr_policy_map_free(m);
	unlink(path);
	/* TR_POLICY_MAX_ENTRIES entries fit, one more does not */
	used = 0;
	for (int i = 0; i <= TR_POLICY_MAX_ENTRIES; i++)
		used += (size_t)snprintf(data + used, cap - used, "d%d.example may\n", i);
	write_temp("policy", data, used, path, sizeof path);
	m = tr_policy_map_load(path, &st);
	expand("FILE:100001: more than 100000 entries", path, want, sizeof want);
	check_str(st.text, want, "file: more than 100000 entries");
	tr_policy_map_free(m);
	if (truncate(path, (off_t)(used - strlen("d100000.example may\n"))) != 0)
		tap_ok(0, "file: truncate", "truncate failed");
	m = tr_policy_map_load(path, &st);
	TAP_INT(tr_policy_map_size(m), TR_POLICY_MAX_ENTRIES,
	        "file: 100000 entries are accepted");
	tr_policy_map_free(m);
	unlink(path);
	free(data);
}

static void test_open_errors(void)
{
	char path[400], want[512], as[TR_AS_USER_MAX];
	tlsrelay_status st;
	tr_policy_map *m;

	tap_expect(7);
	snprintf(path, sizeof path, "%s/missing", tmpdir);
	m = tr_policy_map_load(path, &st);
	expand("FILE: cannot open: No such file or directory", path, want,
	       sizeof want);
	snprintf(want + strlen(want), sizeof want - strlen(want), "%s", tr_as_user(as));
	tap_ok(m == NULL, "open: missing file", NULL);
	check_str(st.text, want, "open: missing file text");
	TAP_INT(st.cat, TLSRELAY_CONFIG, "open: missing file is CONFIG");
	m = tr_policy_map_load(tmpdir, &st);
	expand("FILE: read error: Is a directory", tmpdir, want, sizeof want);
	check_str(st.text, want, "open: a directory");
	tr_policy_map_free(m);
	m = tr_policy_map_load(NULL, &st);
	check_str(st.text, "no policy table file name", "open: NULL path");
	snprintf(path, sizeof path, "/nonexistent/%0250d", 0);
	m = tr_policy_map_load(path, &st);
	snprintf(want, sizeof want, "...%s: cannot open: No such file or "
	         "directory%s", path + strlen(path) - 200, tr_as_user(as));
	check_str(st.text, want, "open: a long path keeps its last 200 bytes");
	tr_policy_map_free(NULL);
	TAP_INT(tr_policy_map_size(NULL), 0, "tr_policy_map_size(NULL)");
}

/* -------------------------------------------------------------- lookup */

static const char lookup_map[] =
	"# TLS policy table for the tests\n"
	"example.com            secure\n"                         /* 2 */
	".example.com           verify\n"
	"a.b.example.org        encrypt\n"
	".example.org           may\n"                            /* 5 */
	".org                   dane\n"
	"[mx.example.net]       fingerprint match=" FP_L "\n"
	"[mx.example.net]:587   verify match=hostname\n"
	"[relay.example.net]:25 encrypt\n"
	"[Relay2.Example.NET]:smtp encrypt ciphers=high\n"        /* 10 */
	"smtp.example.com:587   secure match=nexthop\n"
	"[2001:DB8:0::1]        may\n"
	"[ipv6:2001:db8::2]:587 encrypt\n"
	"UPPER.Example.COM      none\n"
	"\n"                                                      /* 15 */
	"tls.example            encrypt\n"
	"   # a comment inside an entry\n"
	"\tprotocols=>=TLSv1.3\r\n"
	"\n"
	"[mx.example.net]:25    encrypt\n";                    /* 20 */

/* want: the formatted result ("FILE" = the map's name) or NULL (none). */
static const struct {
	const char *nexthop, *want;
} lookup_cases[] = {
	{ "example.com", "secure match=nexthop:dot-nexthop (from FILE:2 key "
	  "example.com)" },
	{ "mx.example.com", "verify match=hostname (from FILE:3 key .example.com)" },
	{ "a.b.example.com", "verify match=hostname (from FILE:3 key "
	  ".example.com)" },
	{ "notexample.com", NULL },
	{ "example.org", "dane (from FILE:6 key .org)" },
	{ "a.b.example.org", "encrypt (from FILE:4 key a.b.example.org)" },
	{ "c.b.example.org", "may (from FILE:5 key .example.org)" },
	{ "x.y.z.example.org", "may (from FILE:5 key .example.org)" },
	{ "org", NULL },
	{ "example.net", NULL },
	{ "[mx.example.net]", "fingerprint match=" FP_U " (from FILE:7 key "
	  "[mx.example.net])" },
	{ "[mx.example.net]:25", "fingerprint match=" FP_U " (from FILE:7 key "
	  "[mx.example.net])" },            /* "[h]" is tried before "[h]:25" */
	{ "[MX.Example.Net]:smtp", "fingerprint match=" FP_U " (from FILE:7 key "
	  "[mx.example.net])" },
	{ "[mx.example.net]:587", "verify match=hostname (from FILE:8 key "
	  "[mx.example.net]:587)" },
	{ "[mx.example.net]:submission", "verify match=hostname (from FILE:8 key "
	  "[mx.example.net]:587)" },
	{ "[mx.example.net]:2525", NULL },
	{ "mx.example.net", NULL },
	{ "smtps:[mx.example.net]", "fingerprint match=" FP_U " (from FILE:7 key "
	  "[mx.example.net])" },
	{ "smtps:[mx.example.net]:25", "encrypt (from FILE:20 key "
	  "[mx.example.net]:25)" },
	{ "[relay.example.net]", "encrypt (from FILE:9 key "
	  "[relay.example.net]:25)" },
	{ "[relay2.example.net]", "encrypt ciphers=high (from FILE:10 key "
	  "[relay2.example.net]:25)" },
	{ "smtp.example.com:587", "secure match=nexthop (from FILE:11 key "
	  "smtp.example.com:587)" },
	{ "smtp.example.com", "verify match=hostname (from FILE:3 key "
	  ".example.com)" },
	{ "sub.example.com:587", NULL },
	{ "[example.com]", NULL },
	{ "[2001:db8::1]", "may (from FILE:12 key [2001:db8::1])" },
	{ "[IPv6:2001:DB8:0:0::1]:25", "may (from FILE:12 key [2001:db8::1])" },
	{ "[2001:db8::2]:587", "encrypt (from FILE:13 key [2001:db8::2]:587)" },
	{ "[2001:db8::2]", NULL },
	{ "upper.example.com", "none (from FILE:14 key upper.example.com)" },
	{ "UPPER.EXAMPLE.COM", "none (from FILE:14 key upper.example.com)" },
	{ "tls.example", "encrypt protocols=>=TLSv1.3 (from FILE:16 key "
	  "tls.example)" },
};

static void test_lookup(void)
{
	char path[128], want[1024], buf[TR_POLICY_TEXT_MAX], name[160];
	tlsrelay_status st;
	tr_policy_map *m;
	tr_nexthop nh;
	tr_policy p, before;

	tap_expect(3 + 2 + 2);
	for (size_t c = 0; c < NROWS(lookup_cases); c++)   /* not found: 2 */
		tap_expect(lookup_cases[c].want ? 1 : 2);
	write_temp("policy", lookup_map, strlen(lookup_map), path, sizeof path);
	m = tr_policy_map_load(path, &st);
	tap_ok(m != NULL, "lookup: the map loads", st.text);
	TAP_INT(st.cat, TLSRELAY_OK, "lookup: st OK after load");
	TAP_INT(tr_policy_map_size(m), 15, "lookup: 15 entries ([h] and [h]:25 "
	        "are different keys)");
	memset(&before, 0x5a, sizeof before);
	for (size_t c = 0; m && c < sizeof lookup_cases / sizeof lookup_cases[0];
	     c++) {
		snprintf(name, sizeof name, "lookup %s", lookup_cases[c].nexthop);
		if (tr_nexthop_parse(lookup_cases[c].nexthop, &nh, NULL, 0) != 0) {
			tap_ok(0, name, "bad nexthop in the test");
			continue;
		}
		p = before;
		if (!tr_policy_lookup(m, &nh, &p)) {
			check_str(NULL, lookup_cases[c].want, name);
			tap_ok(memcmp(&p, &before, sizeof p) == 0, name,
			       "*out changed when not found");
			continue;
		}
		expand(lookup_cases[c].want ? lookup_cases[c].want : "(none)", path,
		       want, sizeof want);
		check_str(tr_policy_format(&p, buf, sizeof buf), want, name);
	}
	tr_nexthop_parse("example.com", &nh, NULL, 0);
	TAP_INT(tr_policy_lookup(NULL, &nh, &p), 0, "lookup: NULL map");
	TAP_INT(tr_policy_lookup(m, NULL, &p), 0, "lookup: NULL nexthop");
	tr_policy_map_free(m);
	unlink(path);
	/* an empty file: a map that finds nothing */
	write_temp("policy", "", 0, path, sizeof path);
	m = tr_policy_map_load(path, &st);
	tap_ok(m != NULL && tr_policy_map_size(m) == 0, "lookup: empty file loads",
	       st.text);
	TAP_INT(tr_policy_lookup(m, &nh, &p), 0, "lookup: empty map finds nothing");
	tr_policy_map_free(m);
	unlink(path);
}

int main(void)
{
	snprintf(tmpdir, sizeof tmpdir, "/tmp/test_policyXXXXXX");
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 99;
	}
	test_good_values();
	test_fields();
	test_protocols();
	test_bad_values();
	test_long_values();
	test_defaults();
	test_format();
	test_openssl_accepts();
	test_file_errors();
	test_file_limits();
	test_open_errors();
	test_lookup();
	rmdir(tmpdir);
	return tap_done();
}
