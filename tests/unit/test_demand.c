/*
 * test_demand.c - the truth table of tr_demand_for_server() (demand.h), in
 * the manner of Postfix's smtp_tls_policy_test: every combination of the
 * policy inputs that matters, each row with the demand it must give.
 *
 * The nexthop is MX delivery to example.test (server mx.example.test)
 * unless the row says "relay" ([relay.example.test]:587, the relay host).
 * A row's expectation is one line:
 *
 *   LEVEL AUTH NAMES SNI SOURCE STS [FLAGS]      or      skip SOURCE|WHY
 *
 * LEVEL the level in force; AUTH none, pins1 (one pin), ca+name, dane;
 * NAMES the names to match, ':'-separated, "-" for none; SNI; SOURCE the
 * kind of the level's source (setting, map, forced, message, trn, dane,
 * sts, cred); STS the MTA-STS mode applied; FLAGS: san (subjectAltName
 * only), mxi (DANE via an insecure MX: Trusted), relaxed / kept (what
 * TLS-Required: No did to DANE), stsrelax (enforce applied as testing),
 * pMIN-MAX (protocol bounds), ciphers. WHY is the start of the reason.
 * Host names are shortened: relay = relay.example.test, mx =
 * mx.example.test, ex = example.test.
 */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "demand.h"
#include "policy.h"
#include "tap.h"

enum dane_kind { D_OFF, D_USABLE, D_USABLE_MXI, D_UNUSABLE, D_NONE, D_INSECURE,
                 D_FAILED, D_RELAY_USABLE };
enum sts_kind { S_NONE, S_ENF, S_ENF_NO, S_TEST, S_MODE_NONE };

#define PIN1 "AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99"
#define PIN2 "11:22:33:44:55:66:77:88:99:00:AA:BB:CC:DD:EE:FF:11:22:33:44:55:66:77:88:99:00:AA:BB:CC:DD:EE:FF"

typedef struct row {
	const char *name;
	const char *base;     /* "map:POLICY" = a tls_policy_map entry, else
	                       * tls_security_level's policy text */
	int relay;            /* the relay host, not MX delivery */
	const char *force;    /* tlsrelay-probe -l, or NULL */
	const char *msg;      /* the message's requirement, or NULL */
	int trn;              /* TLS-Required: No (honoured) */
	enum dane_kind dane;
	enum sts_kind sts;
	int cred;             /* credentials for the server */
	const char *host;     /* NULL: mx.example.test (relay.example.test) */
	const char *want;
} row;

#define MX 0
#define RELAY 1

static const row rows[] = {
	/* A: tls_security_level alone */
	{ "A1 none", "none", MX, NULL, NULL, 0, D_OFF, S_NONE, 0, NULL, "none none mx mx setting none" },
	{ "A2 may", "may", MX, NULL, NULL, 0, D_OFF, S_NONE, 0, NULL, "may none mx mx setting none" },
	{ "A3 encrypt", "encrypt", MX, NULL, NULL, 0, D_OFF, S_NONE, 0, NULL, "encrypt none mx mx setting none" },
	{ "A4 verify", "verify", MX, NULL, NULL, 0, D_OFF, S_NONE, 0, NULL, "verify ca+name mx mx setting none" },
	{ "A5 secure", "secure", MX, NULL, NULL, 0, D_OFF, S_NONE, 0, NULL, "secure ca+name ex:.ex mx setting none" },
	{ "A6 dane, usable TLSA", "dane", MX, NULL, NULL, 0, D_USABLE, S_NONE, 0, NULL, "dane dane mx:ex mx setting none" },
	{ "A7 dane, usable TLSA, insecure MX", "dane", MX, NULL, NULL, 0, D_USABLE_MXI, S_NONE, 0, NULL, "dane dane mx:ex mx setting none mxi" },
	{ "A8 dane, no TLSA", "dane", MX, NULL, NULL, 0, D_NONE, S_NONE, 0, NULL, "may none mx mx dane none" },
	{ "A9 dane, insecure addresses", "dane", MX, NULL, NULL, 0, D_INSECURE, S_NONE, 0, NULL, "may none mx mx dane none" },
	{ "A10 dane, unusable TLSA", "dane", MX, NULL, NULL, 0, D_UNUSABLE, S_NONE, 0, NULL, "encrypt none mx mx dane none" },
	{ "A11 dane, TLSA lookup failed", "dane", MX, NULL, NULL, 0, D_FAILED, S_NONE, 0, NULL, "skip dane|TLSA lookup of" },
	{ "A12 dane, no DANE lookup made", "dane", MX, NULL, NULL, 0, D_OFF, S_NONE, 0, NULL, "skip dane|DANE is required (dane), but not possible" },
	{ "A13 dane-only, usable TLSA", "dane-only", MX, NULL, NULL, 0, D_USABLE, S_NONE, 0, NULL, "dane dane mx:ex mx setting none" },
	{ "A14 dane-only, no TLSA", "dane-only", MX, NULL, NULL, 0, D_NONE, S_NONE, 0, NULL, "skip dane|DANE is required (dane-only), but not possible: no TLSA" },
	{ "A15 dane-only, insecure addresses", "dane-only", MX, NULL, NULL, 0, D_INSECURE, S_NONE, 0, NULL, "skip dane|DANE is required (dane-only), but not possible: the address" },
	{ "A16 dane-only, unusable TLSA", "dane-only", MX, NULL, NULL, 0, D_UNUSABLE, S_NONE, 0, NULL, "skip dane|DANE is required (dane-only), but not possible: 1 TLSA" },
	{ "A17 dane-only, TLSA lookup failed", "dane-only", MX, NULL, NULL, 0, D_FAILED, S_NONE, 0, NULL, "skip dane|TLSA lookup of" },
	{ "A18 dane-only, usable TLSA, insecure MX: deferred", "dane-only", MX, NULL, NULL, 0, D_USABLE_MXI, S_NONE, 0, NULL, "skip dane|DANE is required (dane-only), but not possible: non DNSSEC destination: the MX records of example.test" },

	/* B: a tls_policy_map entry */
	{ "B1 map none", "map:none", MX, NULL, NULL, 0, D_OFF, S_NONE, 0, NULL, "none none mx mx map none" },
	{ "B2 map may", "map:may", MX, NULL, NULL, 0, D_OFF, S_NONE, 0, NULL, "may none mx mx map none" },
	{ "B3 map encrypt", "map:encrypt", MX, NULL, NULL, 0, D_OFF, S_NONE, 0, NULL, "encrypt none mx mx map none" },
	{ "B4 map verify", "map:verify", MX, NULL, NULL, 0, D_OFF, S_NONE, 0, NULL, "verify ca+name mx mx map none" },
	{ "B5 map verify match=nexthop", "map:verify match=nexthop", MX, NULL, NULL, 0, D_OFF, S_NONE, 0, NULL, "verify ca+name ex mx map none" },
	{ "B6 map verify match=hostname:nexthop", "map:verify match=hostname:nexthop", MX, NULL, NULL, 0, D_OFF, S_NONE, 0, NULL, "verify ca+name mx:ex mx map none" },
	{ "B7 map verify match=.example.test", "map:verify match=.example.test", MX, NULL, NULL, 0, D_OFF, S_NONE, 0, NULL, "verify ca+name .ex mx map none" },
	{ "B8 map secure", "map:secure", MX, NULL, NULL, 0, D_OFF, S_NONE, 0, NULL, "secure ca+name ex:.ex mx map none" },
	{ "B9 map secure match=mx.example.test", "map:secure match=mx.example.test", MX, NULL, NULL, 0, D_OFF, S_NONE, 0, NULL, "secure ca+name mx mx map none" },
	{ "B10 map verify servername=nexthop", "map:verify servername=nexthop", MX, NULL, NULL, 0, D_OFF, S_NONE, 0, NULL, "verify ca+name mx ex map none" },
	{ "B11 map verify servername=other.test", "map:verify servername=other.test", MX, NULL, NULL, 0, D_OFF, S_NONE, 0, NULL, "verify ca+name mx other.test map none" },
	{ "B12 map fingerprint, one pin", "map:fingerprint match=" PIN1, MX, NULL, NULL, 0, D_OFF, S_NONE, 0, NULL, "fingerprint pins1 - mx map none" },
	{ "B13 map fingerprint, two pins", "map:fingerprint match=" PIN1 "|" PIN2, MX, NULL, NULL, 0, D_OFF, S_NONE, 0, NULL, "fingerprint pins2 - mx map none" },
	{ "B14 map dane, usable TLSA", "map:dane", MX, NULL, NULL, 0, D_USABLE, S_NONE, 0, NULL, "dane dane mx:ex mx map none" },
	{ "B15 map dane, no TLSA", "map:dane", MX, NULL, NULL, 0, D_NONE, S_NONE, 0, NULL, "may none mx mx dane none" },
	{ "B16 map dane-only, no TLSA", "map:dane-only", MX, NULL, NULL, 0, D_NONE, S_NONE, 0, NULL, "skip dane|DANE is required (dane-only)" },
	{ "B17 map may servername=nexthop", "map:may servername=nexthop", MX, NULL, NULL, 0, D_OFF, S_NONE, 0, NULL, "may none mx ex map none" },
	{ "B18 map encrypt protocols, ciphers", "map:encrypt protocols=>=TLSv1.3 ciphers=high", MX, NULL, NULL, 0, D_OFF, S_NONE, 0, NULL, "encrypt none mx mx map none p772-0 ciphers" },

	/* C: the message's requirement on levels that are not DANE-based */
	{ "C1 none + encrypt", "none", MX, NULL, "encrypt", 0, D_OFF, S_NONE, 0, NULL, "encrypt none mx mx message none" },
	{ "C2 none + verify", "none", MX, NULL, "verify", 0, D_OFF, S_NONE, 0, NULL, "verify ca+name mx mx message none" },
	{ "C3 none + secure", "none", MX, NULL, "secure", 0, D_OFF, S_NONE, 0, NULL, "secure ca+name ex:.ex mx message none" },
	{ "C4 none + dane, usable", "none", MX, NULL, "dane", 0, D_USABLE, S_NONE, 0, NULL, "dane dane mx:ex mx message none" },
	{ "C5 none + dane, no TLSA", "none", MX, NULL, "dane", 0, D_NONE, S_NONE, 0, NULL, "may none mx mx dane none" },
	{ "C6 none + dane-only, usable", "none", MX, NULL, "dane-only", 0, D_USABLE, S_NONE, 0, NULL, "dane dane mx:ex mx message none" },
	{ "C7 none + dane-only, no TLSA", "none", MX, NULL, "dane-only", 0, D_NONE, S_NONE, 0, NULL, "skip dane|DANE is required (dane-only)" },
	{ "C8 may + encrypt", "may", MX, NULL, "encrypt", 0, D_OFF, S_NONE, 0, NULL, "encrypt none mx mx message none" },
	{ "C9 may + verify", "may", MX, NULL, "verify", 0, D_OFF, S_NONE, 0, NULL, "verify ca+name mx mx message none" },
	{ "C10 may + secure", "may", MX, NULL, "secure", 0, D_OFF, S_NONE, 0, NULL, "secure ca+name ex:.ex mx message none" },
	{ "C11 may + dane, usable", "may", MX, NULL, "dane", 0, D_USABLE, S_NONE, 0, NULL, "dane dane mx:ex mx message none" },
	{ "C12 may + dane, no TLSA", "may", MX, NULL, "dane", 0, D_NONE, S_NONE, 0, NULL, "may none mx mx dane none" },
	{ "C13 may + dane-only, usable", "may", MX, NULL, "dane-only", 0, D_USABLE, S_NONE, 0, NULL, "dane dane mx:ex mx message none" },
	{ "C14 may + dane-only, unusable", "may", MX, NULL, "dane-only", 0, D_UNUSABLE, S_NONE, 0, NULL, "skip dane|DANE is required (dane-only)" },
	{ "C15 encrypt + encrypt", "encrypt", MX, NULL, "encrypt", 0, D_OFF, S_NONE, 0, NULL, "encrypt none mx mx setting none" },
	{ "C16 encrypt + verify", "encrypt", MX, NULL, "verify", 0, D_OFF, S_NONE, 0, NULL, "verify ca+name mx mx message none" },
	{ "C17 encrypt + secure", "encrypt", MX, NULL, "secure", 0, D_OFF, S_NONE, 0, NULL, "secure ca+name ex:.ex mx message none" },
	{ "C18 encrypt + dane, usable", "encrypt", MX, NULL, "dane", 0, D_USABLE, S_NONE, 0, NULL, "dane dane mx:ex mx message none" },
	{ "C19 encrypt + dane, no TLSA: never below encrypt", "encrypt", MX, NULL, "dane", 0, D_NONE, S_NONE, 0, NULL, "encrypt none mx mx setting none" },
	{ "C20 encrypt + dane, unusable", "encrypt", MX, NULL, "dane", 0, D_UNUSABLE, S_NONE, 0, NULL, "encrypt none mx mx dane none" },
	{ "C21 encrypt + dane-only, no TLSA", "encrypt", MX, NULL, "dane-only", 0, D_NONE, S_NONE, 0, NULL, "skip dane|DANE is required (dane-only)" },
	{ "C22 encrypt + dane-only, usable", "encrypt", MX, NULL, "dane-only", 0, D_USABLE, S_NONE, 0, NULL, "dane dane mx:ex mx message none" },
	{ "C23 verify + encrypt", "verify", MX, NULL, "encrypt", 0, D_OFF, S_NONE, 0, NULL, "verify ca+name mx mx setting none" },
	{ "C24 verify + dane", "verify", MX, NULL, "dane", 0, D_OFF, S_NONE, 0, NULL, "verify ca+name mx mx setting none" },
	{ "C25 verify + dane-only", "verify", MX, NULL, "dane-only", 0, D_OFF, S_NONE, 0, NULL, "verify ca+name mx mx setting none" },
	{ "C26 verify + verify", "verify", MX, NULL, "verify", 0, D_OFF, S_NONE, 0, NULL, "verify ca+name mx mx setting none" },
	{ "C27 verify + secure", "verify", MX, NULL, "secure", 0, D_OFF, S_NONE, 0, NULL, "secure ca+name ex:.ex mx message none" },
	{ "C28 secure + verify", "secure", MX, NULL, "verify", 0, D_OFF, S_NONE, 0, NULL, "secure ca+name ex:.ex mx setting none" },
	{ "C29 secure + dane-only", "secure", MX, NULL, "dane-only", 0, D_OFF, S_NONE, 0, NULL, "secure ca+name ex:.ex mx setting none" },
	{ "C30 secure + secure", "secure", MX, NULL, "secure", 0, D_OFF, S_NONE, 0, NULL, "secure ca+name ex:.ex mx setting none" },
	{ "C31 map fingerprint + secure", "map:fingerprint match=" PIN1, MX, NULL, "secure", 0, D_OFF, S_NONE, 0, NULL, "fingerprint pins1 - mx map none" },
	{ "C32 map fingerprint + verify", "map:fingerprint match=" PIN1, MX, NULL, "verify", 0, D_OFF, S_NONE, 0, NULL, "fingerprint pins1 - mx map none" },
	{ "C33 map fingerprint + dane-only", "map:fingerprint match=" PIN1, MX, NULL, "dane-only", 0, D_OFF, S_NONE, 0, NULL, "fingerprint pins1 - mx map none" },
	{ "C34 map fingerprint + encrypt", "map:fingerprint match=" PIN1, MX, NULL, "encrypt", 0, D_OFF, S_NONE, 0, NULL, "fingerprint pins1 - mx map none" },
	{ "C35 map verify match=nexthop + secure", "map:verify match=nexthop", MX, NULL, "secure", 0, D_OFF, S_NONE, 0, NULL, "secure ca+name ex mx message none" },
	{ "C35b map verify match=hostname:mx1.example.test + secure: hostname dropped", "map:verify match=hostname:mx1.example.test", MX, NULL, "secure", 0, D_OFF, S_NONE, 0, NULL, "secure ca+name mx1.ex mx message none" },
	{ "C36 map may protocols + verify: protocols kept", "map:may protocols=>=TLSv1.3", MX, NULL, "verify", 0, D_OFF, S_NONE, 0, NULL, "verify ca+name mx mx message none p772-0" },
	{ "C37 map encrypt ciphers + verify: ciphers kept", "map:encrypt ciphers=high", MX, NULL, "verify", 0, D_OFF, S_NONE, 0, NULL, "verify ca+name mx mx message none ciphers" },
	{ "C38 map may servername=nexthop + verify: servername kept", "map:may servername=nexthop", MX, NULL, "verify", 0, D_OFF, S_NONE, 0, NULL, "verify ca+name mx ex message none" },
	{ "C39 may + none: nothing", "may", MX, NULL, "none", 0, D_OFF, S_NONE, 0, NULL, "may none mx mx setting none" },
	{ "C40 may + may: nothing", "may", MX, NULL, "may", 0, D_OFF, S_NONE, 0, NULL, "may none mx mx setting none" },

	/* D: the message's requirement on DANE-based levels: DANE kept, the
	 * requirement is the floor where DANE falls back (issue 13.7) */
	{ "D1 dane + encrypt, usable", "dane", MX, NULL, "encrypt", 0, D_USABLE, S_NONE, 0, NULL, "dane dane mx:ex mx setting none" },
	{ "D2 dane + encrypt, no TLSA", "dane", MX, NULL, "encrypt", 0, D_NONE, S_NONE, 0, NULL, "encrypt none mx mx message none" },
	{ "D3 dane + encrypt, unusable", "dane", MX, NULL, "encrypt", 0, D_UNUSABLE, S_NONE, 0, NULL, "encrypt none mx mx dane none" },
	{ "D4 dane + encrypt, lookup failed", "dane", MX, NULL, "encrypt", 0, D_FAILED, S_NONE, 0, NULL, "skip dane|TLSA lookup of" },
	{ "D5 dane + verify, usable: DANE kept", "dane", MX, NULL, "verify", 0, D_USABLE, S_NONE, 0, NULL, "dane dane mx:ex mx setting none" },
	{ "D6 dane + verify, no TLSA", "dane", MX, NULL, "verify", 0, D_NONE, S_NONE, 0, NULL, "verify ca+name mx mx message none" },
	{ "D7 dane + verify, unusable", "dane", MX, NULL, "verify", 0, D_UNUSABLE, S_NONE, 0, NULL, "verify ca+name mx mx message none" },
	{ "D8 dane + verify, lookup failed", "dane", MX, NULL, "verify", 0, D_FAILED, S_NONE, 0, NULL, "skip dane|TLSA lookup of" },
	{ "D9 dane + secure, usable: DANE kept", "dane", MX, NULL, "secure", 0, D_USABLE, S_NONE, 0, NULL, "dane dane mx:ex mx setting none" },
	{ "D10 dane + secure, no TLSA", "dane", MX, NULL, "secure", 0, D_NONE, S_NONE, 0, NULL, "secure ca+name ex:.ex mx message none" },
	{ "D11 dane + secure, unusable", "dane", MX, NULL, "secure", 0, D_UNUSABLE, S_NONE, 0, NULL, "secure ca+name ex:.ex mx message none" },
	{ "D12 dane + dane-only, usable: dane-only", "dane", MX, NULL, "dane-only", 0, D_USABLE, S_NONE, 0, NULL, "dane dane mx:ex mx message none" },
	{ "D13 dane + dane-only, no TLSA: dane-only", "dane", MX, NULL, "dane-only", 0, D_NONE, S_NONE, 0, NULL, "skip dane|DANE is required (dane-only)" },
	{ "D14 dane + dane-only, unusable: dane-only", "dane", MX, NULL, "dane-only", 0, D_UNUSABLE, S_NONE, 0, NULL, "skip dane|DANE is required (dane-only)" },
	{ "D14b dane + dane-only, insecure MX: dane-only defers", "dane", MX, NULL, "dane-only", 0, D_USABLE_MXI, S_NONE, 0, NULL, "skip dane|DANE is required (dane-only), but not possible: non DNSSEC destination" },
	{ "D15 dane + dane, no TLSA", "dane", MX, NULL, "dane", 0, D_NONE, S_NONE, 0, NULL, "may none mx mx dane none" },
	{ "D16 dane + dane, usable", "dane", MX, NULL, "dane", 0, D_USABLE, S_NONE, 0, NULL, "dane dane mx:ex mx setting none" },
	{ "D17 dane + verify, usable, insecure MX", "dane", MX, NULL, "verify", 0, D_USABLE_MXI, S_NONE, 0, NULL, "dane dane mx:ex mx setting none mxi" },
	{ "D18 dane + verify, insecure addresses", "dane", MX, NULL, "verify", 0, D_INSECURE, S_NONE, 0, NULL, "verify ca+name mx mx message none" },
	{ "D19 dane-only + verify, usable", "dane-only", MX, NULL, "verify", 0, D_USABLE, S_NONE, 0, NULL, "dane dane mx:ex mx setting none" },
	{ "D20 dane-only + verify, no TLSA", "dane-only", MX, NULL, "verify", 0, D_NONE, S_NONE, 0, NULL, "skip dane|DANE is required (dane-only)" },
	{ "D21 dane-only + encrypt, unusable", "dane-only", MX, NULL, "encrypt", 0, D_UNUSABLE, S_NONE, 0, NULL, "skip dane|DANE is required (dane-only)" },
	{ "D22 dane-only + secure, lookup failed", "dane-only", MX, NULL, "secure", 0, D_FAILED, S_NONE, 0, NULL, "skip dane|TLSA lookup of" },
	{ "D23 dane-only + dane, usable", "dane-only", MX, NULL, "dane", 0, D_USABLE, S_NONE, 0, NULL, "dane dane mx:ex mx setting none" },
	{ "D24 map dane + verify, no TLSA", "map:dane", MX, NULL, "verify", 0, D_NONE, S_NONE, 0, NULL, "verify ca+name mx mx message none" },
	{ "D25 map dane + verify, usable", "map:dane", MX, NULL, "verify", 0, D_USABLE, S_NONE, 0, NULL, "dane dane mx:ex mx map none" },
	{ "D26 map dane + encrypt, no TLSA", "map:dane", MX, NULL, "encrypt", 0, D_NONE, S_NONE, 0, NULL, "encrypt none mx mx message none" },
	{ "D27 map dane-only + secure, usable", "map:dane-only", MX, NULL, "secure", 0, D_USABLE, S_NONE, 0, NULL, "dane dane mx:ex mx map none" },
	{ "D28 map dane-only + secure, no TLSA", "map:dane-only", MX, NULL, "secure", 0, D_NONE, S_NONE, 0, NULL, "skip dane|DANE is required (dane-only)" },

	/* T: RFC 8689 TLS-Required: No (tls_required_enable = yes) */
	{ "T1 dane setting: relaxed to may", "dane", MX, NULL, NULL, 1, D_OFF, S_NONE, 0, NULL, "may none mx mx trn none relaxed" },
	{ "T2 dane setting, usable TLSA anyway: may", "dane", MX, NULL, NULL, 1, D_USABLE, S_NONE, 0, NULL, "may none mx mx trn none relaxed" },
	{ "T3 dane-only: kept", "dane-only", MX, NULL, NULL, 1, D_NONE, S_NONE, 0, NULL, "skip dane|DANE is required (dane-only)" },
	{ "T4 dane-only, usable: kept", "dane-only", MX, NULL, NULL, 1, D_USABLE, S_NONE, 0, NULL, "dane dane mx:ex mx setting none kept" },
	{ "T5 map dane, no TLSA: kept", "map:dane", MX, NULL, NULL, 1, D_NONE, S_NONE, 0, NULL, "may none mx mx dane none kept" },
	{ "T6 map dane, usable: kept", "map:dane", MX, NULL, NULL, 1, D_USABLE, S_NONE, 0, NULL, "dane dane mx:ex mx map none kept" },
	{ "T7 dane + message verify: kept, floor", "dane", MX, NULL, "verify", 1, D_NONE, S_NONE, 0, NULL, "verify ca+name mx mx message none kept" },
	{ "T8 dane + message encrypt: kept, floor", "dane", MX, NULL, "encrypt", 1, D_NONE, S_NONE, 0, NULL, "encrypt none mx mx message none kept" },
	{ "T9 dane + message encrypt, usable", "dane", MX, NULL, "encrypt", 1, D_USABLE, S_NONE, 0, NULL, "dane dane mx:ex mx setting none kept" },
	{ "T10 verify: never relaxed", "verify", MX, NULL, NULL, 1, D_OFF, S_NONE, 0, NULL, "verify ca+name mx mx setting none" },
	{ "T11 encrypt: never relaxed", "encrypt", MX, NULL, NULL, 1, D_OFF, S_NONE, 0, NULL, "encrypt none mx mx setting none" },
	{ "T12 may", "may", MX, NULL, NULL, 1, D_OFF, S_NONE, 0, NULL, "may none mx mx setting none" },
	{ "T13 map verify: never relaxed", "map:verify", MX, NULL, NULL, 1, D_OFF, S_NONE, 0, NULL, "verify ca+name mx mx map none" },
	{ "T14 may, STS enforce: applied as testing", "may", MX, NULL, NULL, 1, D_OFF, S_ENF, 0, NULL, "may none mx mx setting testing stsrelax" },
	{ "T15 may, STS enforce, host outside: tried", "may", MX, NULL, NULL, 1, D_OFF, S_ENF_NO, 0, NULL, "may none mx mx setting testing stsrelax" },
	{ "T16 may, STS testing", "may", MX, NULL, NULL, 1, D_OFF, S_TEST, 0, NULL, "may none mx mx setting testing" },
	{ "T17 dane setting, STS enforce: both relaxed", "dane", MX, NULL, NULL, 1, D_OFF, S_ENF, 0, NULL, "may none mx mx trn testing relaxed stsrelax" },
	{ "T18 dane + message dane: kept", "dane", MX, NULL, "dane", 1, D_NONE, S_NONE, 0, NULL, "may none mx mx dane none kept" },
	{ "T19 encrypt, STS enforce: testing, encrypt kept", "encrypt", MX, NULL, NULL, 1, D_OFF, S_ENF, 0, NULL, "encrypt none mx mx setting testing stsrelax" },
	{ "T20 verify + message secure", "verify", MX, NULL, "secure", 1, D_OFF, S_NONE, 0, NULL, "secure ca+name ex:.ex mx message none" },

	/* S: MTA-STS (mta_sts = yes; policy mx "*.example.test", or "other.test") */
	{ "S1 may, enforce", "may", MX, NULL, NULL, 0, D_OFF, S_ENF, 0, NULL, "verify ca+name mx mx sts enforce san" },
	{ "S2 may, enforce, host outside", "may", MX, NULL, NULL, 0, D_OFF, S_ENF_NO, 0, NULL, "skip sts|MTA-STS policy of example.test (enforce): MX host mx.example.test matches no mx pattern" },
	{ "S3 may, testing", "may", MX, NULL, NULL, 0, D_OFF, S_TEST, 0, NULL, "may none mx mx setting testing" },
	{ "S4 may, mode none", "may", MX, NULL, NULL, 0, D_OFF, S_MODE_NONE, 0, NULL, "may none mx mx setting none" },
	{ "S5 none, enforce", "none", MX, NULL, NULL, 0, D_OFF, S_ENF, 0, NULL, "verify ca+name mx mx sts enforce san" },
	{ "S6 encrypt, enforce", "encrypt", MX, NULL, NULL, 0, D_OFF, S_ENF, 0, NULL, "verify ca+name mx mx sts enforce san" },
	{ "S7 verify, enforce", "verify", MX, NULL, NULL, 0, D_OFF, S_ENF, 0, NULL, "verify ca+name mx mx setting enforce san" },
	{ "S8 secure, enforce: secure kept", "secure", MX, NULL, NULL, 0, D_OFF, S_ENF, 0, NULL, "secure ca+name ex:.ex mx setting enforce san" },
	{ "S9 secure, enforce, host outside", "secure", MX, NULL, NULL, 0, D_OFF, S_ENF_NO, 0, NULL, "skip sts|MTA-STS policy of example.test (enforce)" },
	{ "S10 encrypt, testing", "encrypt", MX, NULL, NULL, 0, D_OFF, S_TEST, 0, NULL, "encrypt none mx mx setting testing" },
	{ "S11 verify, testing", "verify", MX, NULL, NULL, 0, D_OFF, S_TEST, 0, NULL, "verify ca+name mx mx setting testing" },
	{ "S12 dane, usable, enforce: DANE first", "dane", MX, NULL, NULL, 0, D_USABLE, S_ENF, 0, NULL, "dane dane mx:ex mx setting none" },
	{ "S13 dane, usable, enforce, host outside: DANE first", "dane", MX, NULL, NULL, 0, D_USABLE, S_ENF_NO, 0, NULL, "dane dane mx:ex mx setting none" },
	{ "S14 dane, no TLSA, enforce", "dane", MX, NULL, NULL, 0, D_NONE, S_ENF, 0, NULL, "verify ca+name mx mx sts enforce san" },
	{ "S15 dane, no TLSA, enforce, host outside", "dane", MX, NULL, NULL, 0, D_NONE, S_ENF_NO, 0, NULL, "skip sts|MTA-STS policy of example.test (enforce)" },
	{ "S16 dane, unusable, enforce", "dane", MX, NULL, NULL, 0, D_UNUSABLE, S_ENF, 0, NULL, "verify ca+name mx mx sts enforce san" },
	{ "S17 dane, lookup failed, enforce", "dane", MX, NULL, NULL, 0, D_FAILED, S_ENF, 0, NULL, "skip dane|TLSA lookup of" },
	{ "S18 dane-only, no TLSA, enforce", "dane-only", MX, NULL, NULL, 0, D_NONE, S_ENF, 0, NULL, "skip dane|DANE is required (dane-only)" },
	{ "S19 dane-only, usable, enforce, host outside", "dane-only", MX, NULL, NULL, 0, D_USABLE, S_ENF_NO, 0, NULL, "dane dane mx:ex mx setting none" },
	{ "S20 map may, enforce: the map first", "map:may", MX, NULL, NULL, 0, D_OFF, S_ENF, 0, NULL, "may none mx mx map none" },
	{ "S21 map verify, enforce, host outside: the map first", "map:verify", MX, NULL, NULL, 0, D_OFF, S_ENF_NO, 0, NULL, "verify ca+name mx mx map none" },
	{ "S22 relay host, enforce: no MTA-STS", "may", RELAY, NULL, NULL, 0, D_OFF, S_ENF, 0, NULL, "may none relay relay setting none" },
	{ "S23 may + message verify, enforce", "may", MX, NULL, "verify", 0, D_OFF, S_ENF, 0, NULL, "verify ca+name mx mx message enforce san" },
	{ "S24 may + message secure, enforce", "may", MX, NULL, "secure", 0, D_OFF, S_ENF, 0, NULL, "secure ca+name ex:.ex mx message enforce san" },
	{ "S25 may + message encrypt, testing", "may", MX, NULL, "encrypt", 0, D_OFF, S_TEST, 0, NULL, "encrypt none mx mx message testing" },
	{ "S26 may + message encrypt, enforce", "may", MX, NULL, "encrypt", 0, D_OFF, S_ENF, 0, NULL, "verify ca+name mx mx sts enforce san" },
	{ "S27 dane + message verify, no TLSA, enforce", "dane", MX, NULL, "verify", 0, D_NONE, S_ENF, 0, NULL, "verify ca+name mx mx message enforce san" },
	{ "S28 may, enforce, two labels below *.example.test", "may", MX, NULL, NULL, 0, D_OFF, S_ENF, 0, "a.b.example.test", "skip sts|MTA-STS policy of example.test (enforce): MX host a.b.example.test" },
	{ "S29 probe -l may, enforce", "may", MX, "may", NULL, 0, D_OFF, S_ENF, 0, NULL, "verify ca+name mx mx sts enforce san" },
	{ "S30 may, testing, host outside: tried", "may", MX, NULL, NULL, 0, D_OFF, S_TEST, 0, "other.test", "may none other.test other.test setting testing" },

	/* R: credentials for the server */
	{ "R1 may + credentials", "may", MX, NULL, NULL, 0, D_OFF, S_NONE, 1, NULL, "encrypt none mx mx cred none" },
	{ "R2 none + credentials: stays none", "none", MX, NULL, NULL, 0, D_OFF, S_NONE, 1, NULL, "none none mx mx setting none" },
	{ "R3 encrypt + credentials", "encrypt", MX, NULL, NULL, 0, D_OFF, S_NONE, 1, NULL, "encrypt none mx mx setting none" },
	{ "R4 verify + credentials", "verify", MX, NULL, NULL, 0, D_OFF, S_NONE, 1, NULL, "verify ca+name mx mx setting none" },
	{ "R5 dane, no TLSA + credentials", "dane", MX, NULL, NULL, 0, D_NONE, S_NONE, 1, NULL, "encrypt none mx mx cred none" },
	{ "R6 dane, usable + credentials", "dane", MX, NULL, NULL, 0, D_USABLE, S_NONE, 1, NULL, "dane dane mx:ex mx setting none" },
	{ "R7 relay may + credentials", "may", RELAY, NULL, NULL, 0, D_OFF, S_NONE, 1, NULL, "encrypt none relay relay cred none" },
	{ "R8 may + TLS-Required: No + credentials", "may", MX, NULL, NULL, 1, D_OFF, S_NONE, 1, NULL, "encrypt none mx mx cred none" },
	{ "R9 may, testing + credentials", "may", MX, NULL, NULL, 0, D_OFF, S_TEST, 1, NULL, "encrypt none mx mx cred testing" },
	{ "R10 map may + credentials", "map:may", MX, NULL, NULL, 0, D_OFF, S_NONE, 1, NULL, "encrypt none mx mx cred none" },
	{ "R11 dane setting + TLS-Required: No + credentials", "dane", MX, NULL, NULL, 1, D_OFF, S_NONE, 1, NULL, "encrypt none mx mx cred none relaxed" },

	/* F: tlsrelay-probe -l */
	{ "F1 -l verify on map may", "map:may", MX, "verify", NULL, 0, D_OFF, S_NONE, 0, NULL, "verify ca+name mx mx forced none" },
	{ "F2 -l none on verify", "verify", MX, "none", NULL, 0, D_OFF, S_NONE, 0, NULL, "none none mx mx forced none" },
	{ "F3 -l dane, usable", "may", MX, "dane", NULL, 0, D_USABLE, S_NONE, 0, NULL, "dane dane mx:ex mx forced none" },
	{ "F4 -l dane, no TLSA", "may", MX, "dane", NULL, 0, D_NONE, S_NONE, 0, NULL, "may none mx mx dane none" },
	{ "F5 -l secure on map fingerprint", "map:fingerprint match=" PIN1, MX, "secure", NULL, 0, D_OFF, S_NONE, 0, NULL, "secure ca+name ex:.ex mx forced none" },
	{ "F6 -l encrypt on map verify protocols: protocols dropped", "map:verify protocols=>=TLSv1.3", MX, "encrypt", NULL, 0, D_OFF, S_NONE, 0, NULL, "encrypt none mx mx forced none" },
	{ "F7 -l dane + TLS-Required: No: kept", "may", MX, "dane", NULL, 1, D_USABLE, S_NONE, 0, NULL, "dane dane mx:ex mx forced none kept" },

	/* L: the relay host ([relay.example.test]:587) */
	{ "L1 relay may", "may", RELAY, NULL, NULL, 0, D_OFF, S_NONE, 0, NULL, "may none relay relay setting none" },
	{ "L2 relay secure", "secure", RELAY, NULL, NULL, 0, D_OFF, S_NONE, 0, NULL, "secure ca+name relay:.relay relay setting none" },
	{ "L3 relay verify", "verify", RELAY, NULL, NULL, 0, D_OFF, S_NONE, 0, NULL, "verify ca+name relay relay setting none" },
	{ "L4 relay map verify match=nexthop", "map:verify match=nexthop", RELAY, NULL, NULL, 0, D_OFF, S_NONE, 0, NULL, "verify ca+name relay relay map none" },
	{ "L5 relay dane, usable", "dane", RELAY, NULL, NULL, 0, D_RELAY_USABLE, S_NONE, 0, NULL, "dane dane relay relay setting none" },
	{ "L6 relay may + message verify", "may", RELAY, NULL, "verify", 0, D_OFF, S_NONE, 0, NULL, "verify ca+name relay relay message none" },
	{ "L7 relay dane, no TLSA", "dane", RELAY, NULL, NULL, 0, D_NONE, S_NONE, 0, NULL, "may none relay relay dane none" },
	{ "L8 relay encrypt + message secure", "encrypt", RELAY, NULL, "secure", 0, D_OFF, S_NONE, 0, NULL, "secure ca+name relay:.relay relay message none" },
	{ "L9 relay map fingerprint + message dane-only", "map:fingerprint match=" PIN1, RELAY, NULL, "dane-only", 0, D_OFF, S_NONE, 0, NULL, "fingerprint pins1 - relay map none" },
	{ "L10 relay dane-only, no TLSA", "dane-only", RELAY, NULL, NULL, 0, D_NONE, S_NONE, 0, NULL, "skip dane|DANE is required (dane-only)" },
};

/* ------------------------------------------------------------ fixtures */

static unsigned char rr_data[32] = { 0xAA, 0xBB, 0xCC };

static void dane_fact(enum dane_kind k, tr_dane_host *h)
{
	memset(h, 0, sizeof *h);
	if (k == D_OFF)
		return;
	snprintf(h->tlsa.owner, sizeof h->tlsa.owner, "_25._tcp.mx.example.test");
	switch (k) {
	case D_USABLE: case D_USABLE_MXI: case D_RELAY_USABLE:
		h->state = TR_DANE_USABLE;
		h->tlsa.n = h->tlsa.total = 1;
		h->tlsa.rr[0] = (tr_tlsa_rr){ 3, 1, 1, rr_data, sizeof rr_data };
		h->mx_insecure = k == D_USABLE_MXI;
		if (k == D_RELAY_USABLE) {
			snprintf(h->base, sizeof h->base, "relay.example.test");
			snprintf(h->names[0], sizeof h->names[0], "relay.example.test");
			h->nnames = 1;
		} else {
			snprintf(h->base, sizeof h->base, "mx.example.test");
			snprintf(h->names[0], sizeof h->names[0], "mx.example.test");
			snprintf(h->names[1], sizeof h->names[1], "example.test");
			h->nnames = 2;
		}
		snprintf(h->why, sizeof h->why, "1 usable TLSA record of 1 at _25._tcp.mx.example.test");
		break;
	case D_UNUSABLE:
		h->state = TR_DANE_UNUSABLE;
		snprintf(h->why, sizeof h->why, "1 TLSA record at _25._tcp.mx.example.test, none usable");
		break;
	case D_NONE:
		h->state = TR_DANE_NONE;
		snprintf(h->why, sizeof h->why, "no TLSA records at _25._tcp.mx.example.test");
		break;
	case D_INSECURE:
		h->state = TR_DANE_NONE;
		snprintf(h->why, sizeof h->why, "the address records of mx.example.test are not "
		         "DNSSEC-validated: no TLSA lookup");
		break;
	case D_FAILED:
	default:
		h->state = TR_DANE_NONE;
		h->tlsa_failed = 1;
		snprintf(h->why, sizeof h->why, "TLSA lookup of _25._tcp.mx.example.test failed: SERVFAIL");
		break;
	}
}

static int sts_fact(enum sts_kind k, tr_sts_policy *p)
{
	char text[200], err[200];

	if (k == S_NONE)
		return 0;
	snprintf(text, sizeof text, "version: STSv1\nmode: %s\nmax_age: 86400\nmx: %s\n",
	         k == S_TEST ? "testing" : k == S_MODE_NONE ? "none" : "enforce",
	         k == S_ENF_NO || k == S_TEST ? "other.test" : "*.example.test");
	return tr_sts_policy_parse(text, strlen(text), p, err, sizeof err) == 0;
}

/* ------------------------------------------------------------ the table */

static const char *src_short(tr_src s)
{
	static const char *const n[] = { "none", "setting", "map", "forced", "message", "trn",
	                                  "dane", "sts", "cred", "host" };
	return (unsigned)s < sizeof n / sizeof n[0] ? n[s] : "?";
}

/* Shorten the test's host names in s (in place). */
static void shorten(char *s)
{
	static const char *const from[] = { "relay.example.test", "mx.example.test", "example.test" };
	static const char *const to[] = { "relay", "mx", "ex" };
	char *p;

	for (int i = 0; i < 3; i++)
		while ((p = strstr(s, from[i])) != NULL)
			memmove(p + strlen(to[i]), p + strlen(from[i]), strlen(p + strlen(from[i])) + 1),
			memcpy(p, to[i], strlen(to[i]));
}

static void describe(const tr_demand *d, char *out, size_t cap)
{
	size_t o = 0;

	if (d->skip) {
		snprintf(out, cap, "skip %s|%s", src_short(d->level_src.kind), d->why);
		shorten(out);
		return;
	}
	o += (size_t)snprintf(out + o, cap - o, "%s ", tr_tls_level_name(d->level));
	if (d->auth == TR_AUTH_PINS)
		o += (size_t)snprintf(out + o, cap - o, "pins%d ", d->npins);
	else
		o += (size_t)snprintf(out + o, cap - o, "%s ", tr_auth_name(d->auth));
	for (int i = 0; i < d->nnames; i++)
		o += (size_t)snprintf(out + o, cap - o, "%s%s", i ? ":" : "", d->names[i]);
	o += (size_t)snprintf(out + o, cap - o, "%s %s %s %s", d->nnames ? "" : "-", d->sni,
	                      src_short(d->level_src.kind), tr_sts_mode_name(d->sts_mode));
	if (d->san_only)
		o += (size_t)snprintf(out + o, cap - o, " san");
	if (d->dane_trusted_only)
		o += (size_t)snprintf(out + o, cap - o, " mxi");
	if (d->dane_relaxed != TR_RELAX_NONE)
		o += (size_t)snprintf(out + o, cap - o, " %s",
		                      d->dane_relaxed == TR_RELAX_DONE ? "relaxed" : "kept");
	if (d->sts_relaxed)
		o += (size_t)snprintf(out + o, cap - o, " stsrelax");
	if (d->min_proto || d->max_proto)
		o += (size_t)snprintf(out + o, cap - o, " p%d-%d", d->min_proto, d->max_proto);
	if (d->ciphers[0])
		snprintf(out + o, cap - o, " ciphers");
	shorten(out);
}

/* The row's inputs; 0, or -1 when its policy text does not parse. */
static int inputs(const row *r, tr_nexthop *nh, tr_policy *pol, tr_dane_host *dh,
                  tr_sts_policy *sts, tr_demand_in *in)
{
	const char *text = strncmp(r->base, "map:", 4) == 0 ? r->base + 4 : r->base;
	tlsrelay_status st;

	tr_demand_in_init(in);
	if (tr_nexthop_parse(r->relay ? "[relay.example.test]:587" : "example.test", nh, NULL, 0) < 0 ||
	    tr_policy_parse_value(text, text == r->base ? "tls_security_level" : "tls_policy:3 key K",
	                          pol, &st) != TLSRELAY_OK)
		return -1;
	dane_fact(r->dane, dh);
	in->nh = nh;
	in->policy = pol;
	in->mapped = text != r->base;
	in->is_relay = r->relay;
	in->force_level = r->force ? tr_tls_level_from_name(r->force) : TR_TLS_INVALID;
	in->msg_level = r->msg ? tr_tls_level_from_name(r->msg) : TR_TLS_INVALID;
	in->msg_source = r->msg ? "X-TLSRelay-Require" : NULL;
	in->tls_required_no = r->trn;
	in->sts = sts_fact(r->sts, sts) ? sts : NULL;
	in->sts_id = "20240101";
	in->host = r->host ? r->host : r->relay ? "relay.example.test" : "mx.example.test";
	in->dane = r->dane == D_OFF ? NULL : dh;
	in->cred_key = r->cred ? "example.test" : NULL;
	return 0;
}

static void check_row(const row *r)
{
	tr_nexthop nh;
	tr_policy pol;
	tr_dane_host dh;
	static tr_sts_policy sts;
	tr_demand_in in;
	tr_demand d;
	char got[1024], want[1024], diag[2300];
	int ok;

	if (inputs(r, &nh, &pol, &dh, &sts, &in) < 0) {
		tap_ok(0, r->name, "the row's inputs do not parse");
		return;
	}
	tr_demand_for_server(&in, &d);
	describe(&d, got, sizeof got);
	snprintf(want, sizeof want, "%s", r->want);
	shorten(want);
	if (strncmp(want, "skip ", 5) == 0)
		ok = strncmp(got, want, strlen(want)) == 0;
	else
		ok = strcmp(got, want) == 0;
	snprintf(diag, sizeof diag, "got:  %s\n# want: %s", got, want);
	tap_ok(ok, r->name, diag);
}

/* ------------------------------------------------------------ the rest */

static void check_key(void)
{
	static const row a = { "k", "verify", MX, NULL, NULL, 0, D_OFF, S_NONE, 0, NULL, "" };
	static const row b = { "k", "map:verify", MX, NULL, NULL, 0, D_OFF, S_NONE, 0, NULL, "" };
	static const row c = { "k", "verify", MX, NULL, NULL, 0, D_OFF, S_ENF, 0, NULL, "" };
	static const row e = { "k", "map:fingerprint match=" PIN1, MX, NULL, NULL, 0, D_OFF, S_NONE, 0, NULL, "" };
	static const row f = { "k", "map:fingerprint match=" PIN2, MX, NULL, NULL, 0, D_OFF, S_NONE, 0, NULL, "" };
	const row *rs[] = { &a, &b, &c, &e, &f };
	char key[5][4096];
	tr_nexthop nh;
	tr_policy pol;
	tr_dane_host dh;
	static tr_sts_policy sts;
	tr_demand_in in;
	tr_demand d;
	char small[8];

	for (int i = 0; i < 5; i++) {
		inputs(rs[i], &nh, &pol, &dh, &sts, &in);
		tr_demand_for_server(&in, &d);
		tr_demand_key(&d, key[i], sizeof key[i]);
	}
	tap_ok(strcmp(key[0], key[1]) == 0, "key: the same demand from another source, same key", key[1]);
	tap_ok(strcmp(key[0], key[2]) != 0, "key: subjectAltName only (MTA-STS) is another key", key[2]);
	tap_ok(strcmp(key[3], key[4]) != 0, "key: another pin is another key", key[4]);
	tap_ok(tr_demand_key(&d, small, sizeof small) == -1 && strlen(small) == sizeof small - 1,
	       "key: a small buffer is refused (-1), its text cut and terminated", small);
}

static void check_nexthop(void)
{
	static const row r = { "n", "dane", MX, NULL, "verify", 0, D_OFF, S_ENF, 0, NULL, "" };
	tr_nexthop nh;
	tr_policy pol;
	tr_dane_host dh;
	static tr_sts_policy sts;
	tr_demand_in in;
	tr_demand d;
	char text[1024];

	inputs(&r, &nh, &pol, &dh, &sts, &in);
	tr_demand_for_nexthop(&in, &d);
	tap_ok(d.level == TR_TLS_DANE && !d.skip && d.sts_mode == TR_STS_MODE_ENFORCE,
	       "nexthop: level dane before the DANE lookups, MTA-STS enforce applies",
	       tr_demand_format(&d, text, sizeof text));
	tap_ok(tr_demand_wants_sts(&in, 1) && !tr_demand_wants_sts(&in, 0),
	       "nexthop: MTA-STS looked up only with mta_sts = yes", NULL);
	in.mapped = 1;
	tap_ok(!tr_demand_wants_sts(&in, 1), "nexthop: not with a map entry", NULL);
}

int main(void)
{
	size_t n = sizeof rows / sizeof rows[0];

	tap_plan((int)n + 7);
	for (size_t i = 0; i < n; i++)
		check_row(&rows[i]);
	check_key();
	check_nexthop();
	return tap_done();
}
