/*
 * demand.c - the TLS demand of one server, computed once, purely (see
 * demand.h for the inputs and the rules R1-R8; each rule is one function
 * below, applied in order by tr_demand_for_server).
 *
 * Decisions:
 * - A rule only ever raises what the rules before it set, except R3
 *   (RFC 8689 TLS-Required: No), which may relax only what DANE or MTA-STS
 *   lookups would add, never the admin's configured level nor the
 *   message's own requirement.
 * - The message's requirement on a DANE-based level is a floor for the
 *   servers where DANE falls back, not a replacement: a usable TLSA record
 *   authenticates the server at least as well as a CA chain (issue 13.7).
 * - Sources are texts for people (logs, tlsrelay -q, explain) plus a kind
 *   for programs; they are not part of tr_demand_key().
 */
#include "config.h"
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "buf.h"
#include "demand.h"

/* ------------------------------------------------------------ predicates */

int tr_level_uses_tls(tr_tls_level l) { return l >= TR_TLS_MAY; }
int tr_level_tls_required(tr_tls_level l) { return l >= TR_TLS_ENCRYPT; }
int tr_level_must_match(tr_tls_level l) { return l == TR_TLS_VERIFY || l == TR_TLS_SECURE; }
int tr_level_dane(tr_tls_level l) { return l == TR_TLS_DANE || l == TR_TLS_DANE_ONLY; }

int tr_demand_uses_tls(const tr_demand *d) { return tr_level_uses_tls(d->level); }
int tr_demand_tls_required(const tr_demand *d) { return tr_level_tls_required(d->level); }
int tr_demand_plaintext_ok(const tr_demand *d) { return d->level == TR_TLS_MAY; }

const char *tr_auth_name(tr_auth a)
{
	static const char *const n[] = { "none", "pins", "ca+name", "dane" };
	return (unsigned)a < sizeof n / sizeof n[0] ? n[a] : "?";
}

const char *tr_src_name(tr_src s)
{
	static const char *const n[] = {
		"none", "tls_security_level", "tls_policy_map", "tlsrelay-probe -l",
		"message", "TLS-Required: No", "DANE", "MTA-STS", "sasl_password_map", "host"
	};
	return (unsigned)s < sizeof n / sizeof n[0] ? n[s] : "?";
}

void tr_demand_in_init(tr_demand_in *in)
{
	memset(in, 0, sizeof *in);
	in->force_level = TR_TLS_INVALID;
	in->msg_level = TR_TLS_INVALID;
}

/* ------------------------------------------------------------ helpers */

static void src_set(tr_demand_src *s, tr_src kind, const char *text)
{
	s->kind = kind;
	snprintf(s->text, sizeof s->text, "%s", text ? text : "");
}

/* "BEFORE + what" (bounded): a rule adds to a source. */
static void src_add(tr_demand_src *s, tr_src kind, const char *what)
{
	char before[TR_DEMAND_SRC_MAX];

	memcpy(before, s->text, sizeof before);
	s->kind = kind;
	snprintf(s->text, sizeof s->text, "%.200s + %.100s", before[0] ? before : "policy", what);
}

/* The working state between rules: the demand being built, plus what the
 * later rules need of the earlier ones. */
typedef struct work {
	const tr_demand_in *in;
	tr_demand *d;
	tr_policy pol;             /* the policy whose names R8 expands */
	tr_src floor_kind;         /* where pol.floor came from (R4) */
	int floor_only;            /* R4 only set a floor: a DANE server keeps
	                            * the source it had before (level_prev) */
	tr_demand_src level_prev;
	int dane_usable;           /* R5 found usable TLSA records */
} work;

/* Names and SNI of a level's default policy, protocols and ciphers kept. */
static void take_level(work *w, tr_tls_level level)
{
	tr_policy def;

	tr_policy_from_level(level, &def);
	w->pol.level = level;
	memcpy(w->pol.match, def.match, sizeof def.match);
	w->pol.nmatch = def.nmatch;
	if (w->pol.servername[0] == '\0')
		memcpy(w->pol.servername, def.servername, sizeof def.servername);
	w->d->level = level;
}

/* ------------------------------------------------------------ R1-R4 */

static void r1_base(work *w)
{
	const tr_demand_in *in = w->in;

	w->pol = *in->policy;
	w->pol.floor = TR_TLS_NONE;
	w->d->level = w->pol.level;
	src_set(&w->d->level_src, in->mapped ? TR_SRC_MAP : TR_SRC_SETTING,
	        in->policy->source[0] ? in->policy->source : "tls_security_level");
	w->d->base_src = w->d->level_src;
	w->d->min_proto = w->pol.min_proto;
	w->d->max_proto = w->pol.max_proto;
	snprintf(w->d->ciphers, sizeof w->d->ciphers, "%s", w->pol.ciphers);
}

static void r2_forced(work *w)
{
	if (w->in->force_level == TR_TLS_INVALID)
		return;
	tr_policy_from_level(w->in->force_level, &w->pol);
	w->d->level = w->pol.level;
	src_set(&w->d->level_src, TR_SRC_FORCED, "tlsrelay-probe -l");
	w->d->base_src = w->d->level_src;
	w->d->min_proto = w->d->max_proto = 0;
	w->d->ciphers[0] = '\0';
}

/* The message asks for more than may (its requirement is honoured). */
static int msg_requires(const tr_demand_in *in)
{
	return in->msg_level != TR_TLS_INVALID && in->msg_level > TR_TLS_MAY;
}

static void r3_relax(work *w)
{
	const tr_demand_in *in = w->in;

	if (!in->tls_required_no || !tr_level_dane(w->d->level))
		return;
	if (w->d->level != TR_TLS_DANE || in->mapped || in->force_level != TR_TLS_INVALID ||
	    msg_requires(in)) {
		w->d->dane_relaxed = TR_RELAX_KEPT;
		return;
	}
	take_level(w, TR_TLS_MAY);
	w->pol.floor = TR_TLS_NONE;
	w->d->dane_relaxed = TR_RELAX_DONE;
	src_add(&w->d->level_src, TR_SRC_TLS_REQUIRED_NO, "TLS-Required: No");
}

/* pol's names and SNI for level lv, which it is raised to: lv's defaults
 * (verify: hostname; secure: nexthop, dot-nexthop; others none). Raising
 * verify to secure keeps the admin's names that do not come from the MX
 * lookup (all but "hostname"): replacing match=mx1.example.com by
 * nexthop:dot-nexthop would accept names the admin's policy refused. */
static void raise_names(tr_policy *pol, tr_tls_level lv)
{
	tr_policy def;
	int n = 0;

	tr_policy_from_level(lv, &def);
	if (pol->level == TR_TLS_VERIFY && lv == TR_TLS_SECURE)
		for (int i = 0; i < pol->nmatch; i++)
			if (strcmp(pol->match[i], "hostname") != 0)
				memmove(pol->match[n++], pol->match[i], sizeof pol->match[i]);
	if (n == 0) {
		memcpy(pol->match, def.match, sizeof def.match);
		n = def.nmatch;
	}
	pol->nmatch = n;
	if (pol->servername[0] == '\0')
		memcpy(pol->servername, def.servername, sizeof def.servername);
}

/* The message's requirement req raises pol (the table in demand.h R4).
 * 1 when pol changed. */
static int raise_policy(work *w, tr_tls_level req)
{
	tr_policy *pol = &w->pol;
	tr_tls_level lv = pol->level;

	if (req == lv || lv == TR_TLS_FINGERPRINT || lv == TR_TLS_DANE_ONLY)
		return 0;
	if (lv == TR_TLS_DANE && req == TR_TLS_DANE_ONLY) {
		pol->level = TR_TLS_DANE_ONLY;       /* no fallback left: no floor */
		pol->floor = TR_TLS_NONE;
		pol->nmatch = 0;
	} else if (lv == TR_TLS_DANE) {          /* DANE kept; the fallback raised */
		if (req <= pol->floor)
			return 0;
		raise_names(pol, req);
		pol->floor = req;
		w->floor_kind = TR_SRC_MESSAGE;
		w->floor_only = 1;
	} else if (req == TR_TLS_DANE && lv < TR_TLS_DANE) {
		raise_names(pol, req);
		pol->level = TR_TLS_DANE;            /* no TLSA must not mean may */
		pol->floor = lv >= TR_TLS_ENCRYPT ? lv : TR_TLS_NONE;
		w->floor_kind = w->d->level_src.kind;
	} else if (req > lv) {
		raise_names(pol, req);
		pol->level = req;
	} else {
		return 0;
	}
	return 1;
}

static void r4_message(work *w)
{
	const tr_demand_in *in = w->in;

	w->level_prev = w->d->level_src;
	if (!msg_requires(in) || !raise_policy(w, in->msg_level))
		return;
	w->d->level = w->pol.level;
	src_add(&w->d->level_src, TR_SRC_MESSAGE, in->msg_source ? in->msg_source : "message");
}

/* ------------------------------------------------------------ R5 DANE */

static void skip(work *w, tr_src kind, const char *fmt, ...) TR_PRINTF(3, 4);

static void skip(work *w, tr_src kind, const char *fmt, ...)
{
	va_list ap;

	w->d->skip = 1;
	va_start(ap, fmt);
	vsnprintf(w->d->why, sizeof w->d->why, fmt, ap);
	va_end(ap);
	w->d->level_src.kind = kind;
}

/* DANE falls back to level, raised to the floor (R4) with its names. */
static void dane_fallback(work *w, tr_tls_level level, const char *why)
{
	char what[TR_DEMAND_SRC_MAX];
	tr_tls_level floor = w->pol.floor;

	snprintf(what, sizeof what, "DANE: %.200s", why);
	if (floor > level) {
		w->pol.level = floor;                /* the names are R4's */
		w->d->level = floor;
		src_add(&w->d->level_src, w->floor_kind, what);
		return;
	}
	take_level(w, level);
	src_add(&w->d->level_src, TR_SRC_DANE, what);
}

static void dane_usable(work *w, const tr_dane_host *dh)
{
	tr_demand *d = w->d;
	char what[TR_DEMAND_SRC_MAX];

	w->dane_usable = 1;
	if (w->floor_only)          /* the floor does not apply to DANE */
		d->level_src = w->level_prev;
	d->level = TR_TLS_DANE;
	d->auth = TR_AUTH_DANE;
	d->dane = dh;
	d->dane_trusted_only = dh->mx_insecure;
	snprintf(d->sni, sizeof d->sni, "%s", dh->base);
	for (int i = 0; i < dh->nnames && d->nnames < TR_POLICY_MAX_MATCH; i++)
		snprintf(d->names[d->nnames++], sizeof d->names[0], "%s", dh->names[i]);
	snprintf(what, sizeof what, "DANE: %.200s", dh->why);
	src_set(&d->auth_src, TR_SRC_DANE, what);
}

static void r5_dane(work *w)
{
	const tr_dane_host *dh = w->in->dane;
	tr_tls_level level = w->d->level;

	if (!tr_level_dane(level) || w->in->host == NULL)
		return;
	if (dh == NULL || dh->state == TR_DANE_OFF) {       /* no lookup: no DANE */
		skip(w, TR_SRC_DANE, "DANE is required (%s), but not possible: %s",
		     tr_tls_level_name(level), "no DANE lookup was made");
		return;
	}
	if (dh->tlsa_failed) {
		skip(w, TR_SRC_DANE, "%s", dh->why);
		return;
	}
	if (level == TR_TLS_DANE_ONLY && dh->mx_insecure) {   /* Postfix: defer */
		skip(w, TR_SRC_DANE, "DANE is required (dane-only), but not possible: non DNSSEC "
		     "destination: the MX records of %s are not DNSSEC-validated",
		     w->in->nh ? w->in->nh->host : "?");
		return;
	}
	if (dh->state == TR_DANE_USABLE) {
		dane_usable(w, dh);
		return;
	}
	if (level == TR_TLS_DANE_ONLY) {
		skip(w, TR_SRC_DANE, "DANE is required (dane-only), but not possible: %s",
		     dh->why);
		return;
	}
	dane_fallback(w, dh->state == TR_DANE_UNUSABLE ? TR_TLS_ENCRYPT : TR_TLS_MAY, dh->why);
}

/* ------------------------------------------------------------ R6 MTA-STS */

static int sts_applies(const tr_demand_in *in)
{
	return in->sts != NULL && in->sts->mode != TR_STS_MODE_NONE && !in->mapped &&
	       !in->is_relay && in->nh != NULL && in->nh->mx_lookup;
}

/* The mode applied: enforce is applied as testing under RFC 8689. */
static void sts_mode_of(const tr_demand_in *in, tr_demand *d)
{
	d->sts_mode = in->sts->mode;
	if (d->sts_mode == TR_STS_MODE_ENFORCE && in->tls_required_no) {
		d->sts_mode = TR_STS_MODE_TESTING;
		d->sts_relaxed = 1;
	}
}

static void r6_sts(work *w)
{
	const tr_demand_in *in = w->in;
	tr_demand *d = w->d;
	char what[TR_DEMAND_SRC_MAX];

	if (!sts_applies(in) || w->dane_usable || d->skip)
		return;
	sts_mode_of(in, d);
	if (d->sts_mode != TR_STS_MODE_ENFORCE || in->host == NULL)
		return;
	if (!tr_sts_mx_match(in->sts, in->host)) {
		skip(w, TR_SRC_STS, "MTA-STS policy of %s (enforce): MX host %s matches no mx "
		     "pattern of the policy", in->nh->host, in->host);
		return;
	}
	d->san_only = 1;                  /* RFC 8461 4.2: DNS-IDs only */
	if (d->level >= TR_TLS_VERIFY)
		return;
	take_level(w, TR_TLS_VERIFY);
	snprintf(w->pol.match[0], sizeof w->pol.match[0], "hostname");
	w->pol.nmatch = 1;
	snprintf(w->pol.servername, sizeof w->pol.servername, "hostname");
	snprintf(what, sizeof what, "MTA-STS policy of %.200s id %.40s (enforce)", in->nh->host,
	         in->sts_id ? in->sts_id : "?");
	src_add(&d->level_src, TR_SRC_STS, what);
}

/* ------------------------------------------------------------ R7, R8 */

static void r7_credentials(work *w)
{
	char what[TR_DEMAND_SRC_MAX];

	if (w->in->cred_key == NULL || w->d->level != TR_TLS_MAY)
		return;
	w->d->level = TR_TLS_ENCRYPT;
	snprintf(what, sizeof what, "sasl_password_map key %.200s", w->in->cred_key);
	src_add(&w->d->level_src, TR_SRC_CREDENTIALS, what);
}

/* A policy "match" word for the server: hostname, nexthop, dot-nexthop. */
static void expand_name(const char *m, const char *host, const char *nexthop,
                        char *out, size_t cap)
{
	int max = (int)cap - 2;     /* room for a leading dot and the NUL */

	if (strcmp(m, "hostname") == 0)
		snprintf(out, cap, "%.*s", max, host);
	else if (strcmp(m, "nexthop") == 0)
		snprintf(out, cap, "%.*s", max, nexthop);
	else if (strcmp(m, "dot-nexthop") == 0)
		snprintf(out, cap, ".%.*s", max, nexthop);
	else
		snprintf(out, cap, "%.*s", max, m);
}

static void r8_names(work *w)
{
	tr_demand *d = w->d;
	const char *host = w->in->host ? w->in->host : "hostname";
	const char *hop = w->in->nh ? w->in->nh->host : "nexthop";
	const char *sn = w->pol.servername;

	if (d->auth == TR_AUTH_DANE || d->skip)
		return;
	if (w->in->host != NULL)
		expand_name(sn[0] ? sn : "hostname", host, hop, d->sni, sizeof d->sni);
	if (d->level == TR_TLS_FINGERPRINT) {
		d->auth = TR_AUTH_PINS;
		for (int i = 0; i < w->pol.nmatch; i++)
			snprintf(d->pins[d->npins++], sizeof d->pins[0], "%s", w->pol.match[i]);
	} else if (tr_level_must_match(d->level)) {
		d->auth = TR_AUTH_CA_NAME;
		for (int i = 0; i < w->pol.nmatch && i < TR_POLICY_MAX_MATCH; i++)
			expand_name(w->pol.match[i], host, hop, d->names[d->nnames++],
			            sizeof d->names[0]);
	}
	if (d->nnames == 0 && d->auth != TR_AUTH_PINS && w->in->host != NULL)
		snprintf(d->names[d->nnames++], sizeof d->names[0], "%s", host);
	if (d->auth != TR_AUTH_NONE && d->auth_src.kind == TR_SRC_NONE)
		d->auth_src = d->level_src;
}

/* ------------------------------------------------------------ the API */

static void run_work(const tr_demand_in *in, tr_demand *d, int server, work *wout)
{
	work w;

	memset(d, 0, sizeof *d);
	memset(&w, 0, sizeof w);
	w.in = in;
	w.d = d;
	r1_base(&w);
	r2_forced(&w);
	r3_relax(&w);
	r4_message(&w);
	if (server) {
		r5_dane(&w);
		r6_sts(&w);
		r7_credentials(&w);
	} else if (sts_applies(in)) {
		sts_mode_of(in, d);
	}
	r8_names(&w);
	if (wout)
		*wout = w;
}

static void run(const tr_demand_in *in, tr_demand *d, int server)
{
	run_work(in, d, server, NULL);
}

void tr_demand_for_server(const tr_demand_in *in, tr_demand *d)
{
	run(in, d, in->host != NULL);
}

void tr_demand_nexthop_policy(const tr_demand_in *in, tr_policy *out)
{
	tr_demand_in nh = *in;
	tr_demand d;
	work w;

	nh.host = NULL;
	nh.dane = NULL;
	nh.cred_key = NULL;
	run_work(&nh, &d, 0, &w);
	*out = w.pol;
	snprintf(out->source, sizeof out->source, "%.299s", d.level_src.text);
}

char *tr_demand_describe_dane(const tr_demand *d, const tr_dane_host *h, char *out,
                              size_t cap)
{
	if (d->skip)
		snprintf(out, cap, "deferred (4.7.5 %s)", d->why);
	else if (d->auth == TR_AUTH_DANE)
		snprintf(out, cap, "DANE (%s)", h->why);
	else if (d->level_src.kind == TR_SRC_MESSAGE)     /* the R4 floor */
		snprintf(out, cap, "%s (%s; level %s: the message requires it)",
		         tr_tls_level_name(d->level), h->why, tr_tls_level_name(d->level));
	else
		snprintf(out, cap, "%s (%s)", tr_tls_level_name(d->level), h->why);
	return out;
}

void tr_demand_for_nexthop(const tr_demand_in *in, tr_demand *d)
{
	tr_demand_in nh = *in;

	nh.host = NULL;
	nh.dane = NULL;
	nh.cred_key = NULL;
	run(&nh, d, 0);
}

int tr_demand_wants_sts(const tr_demand_in *in, int mta_sts)
{
	return mta_sts && !in->mapped && !in->is_relay && in->nh != NULL && in->nh->mx_lookup;
}

/* ------------------------------------------------------------ key, text */

static void key_body(const tr_demand *d, tr_buf *b)
{
	tr_buf_printf(b, "level=%s\nauth=%s\nsan_only=%d\nsni=%s\n", tr_tls_level_name(d->level),
	              tr_auth_name(d->auth), d->san_only, d->sni);
	for (int i = 0; i < d->nnames; i++)
		tr_buf_printf(b, "name=%s\n", d->names[i]);
	for (int i = 0; i < d->npins; i++)
		tr_buf_printf(b, "pin=%s\n", d->pins[i]);
	tr_buf_printf(b, "protocols=%d-%d\nciphers=%s\n", d->min_proto, d->max_proto, d->ciphers);
	if (d->auth != TR_AUTH_DANE || d->dane == NULL)
		return;
	tr_buf_printf(b, "dane_trusted_only=%d\n", d->dane_trusted_only);
	for (int i = 0; i < d->dane->tlsa.n; i++) {
		const tr_tlsa_rr *rr = &d->dane->tlsa.rr[i];

		tr_buf_printf(b, "tlsa=%u %u %u ", rr->usage, rr->selector, rr->mtype);
		tr_buf_hex(b, rr->data, rr->len, 0);
		tr_buf_putc(b, '\n');
	}
}

int tr_demand_key(const tr_demand *d, char *out, size_t cap)
{
	tr_buf b;

	if (cap == 0)
		return -1;
	tr_buf_fixed(&b, out, cap);
	key_body(d, &b);
	return b.lost ? -1 : (int)b.len;
}

char *tr_demand_format(const tr_demand *d, char *out, size_t cap)
{
	tr_buf b;

	if (cap == 0)
		return out;
	tr_buf_fixed(&b, out, cap);
	if (d->skip) {
		tr_buf_printf(&b, "skip: %s", d->why);
		return out;
	}
	tr_buf_puts(&b, tr_tls_level_name(d->level));
	if (d->auth == TR_AUTH_PINS)
		for (int i = 0; i < d->npins; i++)
			tr_buf_printf(&b, "%s%s", i ? "|" : " match=", d->pins[i]);
	else if (d->auth != TR_AUTH_NONE)
		for (int i = 0; i < d->nnames; i++)
			tr_buf_printf(&b, "%s%s", i ? ":" : " match=", d->names[i]);
	if (d->san_only)
		tr_buf_puts(&b, " (subjectAltName only)");
	if (d->sni[0])
		tr_buf_printf(&b, " sni=%s", d->sni);
	if (d->sts_mode != TR_STS_MODE_NONE)
		tr_buf_printf(&b, " mta-sts=%s", tr_sts_mode_name(d->sts_mode));
	tr_buf_printf(&b, " (from %s)", d->level_src.text);
	return out;
}
