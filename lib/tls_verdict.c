/*
 * tls_verdict.c - would a session have met a demand? (tr_tls_judge, see
 * tls.h), and the names of the failure classes.
 *
 * The verdict is a pure function of a demand and of what one session
 * showed of the server's TLS (tr_tls_outcome, observe.h). It applies the
 * session's own rules, not a copy of them: the demand's predicates
 * (tr_demand_uses_tls, tr_demand_tls_required: what do_starttls() in
 * smtp_client.c asks) and the certificate check of tr_tls_enforce_why
 * (tls.c: what tls_enforce() asks). The shadow policy (shadow.c) judges
 * the candidate demand with it; the TLS history (history.c) classifies a
 * live failure with it, so that both speak the same vocabulary.
 *
 * Decisions:
 * - A session that never got to TLS (refused, lost before EHLO) is
 *   UNKNOWN: it says nothing about TLS, and the live delivery failed at
 *   that server too.
 * - TLS offered but never tried (the live level was none) is UNKNOWN
 *   under a demand that wants TLS: the session did not show whether the
 *   handshake would work. Under may it passes (plaintext is allowed).
 * - Level may: a failed handshake or no STARTTLS passes (plaintext
 *   follows); TLS up passes too (no certificate check at may).
 */
#include "config.h"
#include <string.h>
#include "dane.h"
#include "demand.h"
#include "observe.h"
#include "status.h"
#include "tls.h"

static const struct {
	const char *name;
	const char *words;
} fails[TR_FAIL_COUNT] = {
	[TR_FAIL_NONE] = { "", "none" },
	[TR_FAIL_DANE_REQUIRED] = { "dane-required", "DANE required, not possible" },
	[TR_FAIL_DNSSEC] = { "dnssec-invalid", "TLSA lookup failed (DNSSEC)" },
	[TR_FAIL_STS_MX] = { "sts-mx-mismatch", "MX host not in the MTA-STS policy" },
	[TR_FAIL_SKIPPED] = { "skipped", "server skipped by the policy" },
	[TR_FAIL_NO_STARTTLS] = { "starttls-not-offered", "STARTTLS not offered" },
	[TR_FAIL_HANDSHAKE] = { "tls-handshake-failed", "TLS handshake failed" },
	[TR_FAIL_NO_CERT] = { "certificate-missing", "no server certificate" },
	[TR_FAIL_UNTRUSTED] = { "certificate-not-trusted", "certificate not trusted" },
	[TR_FAIL_EXPIRED] = { "certificate-expired", "certificate expired" },
	[TR_FAIL_NAME] = { "certificate-name-mismatch", "certificate name mismatch" },
	[TR_FAIL_NAME_CN_ONLY] = { "certificate-name-cn-only",
	                           "certificate name only in the subject CN" },
	[TR_FAIL_PINS] = { "fingerprint-mismatch", "certificate fingerprint mismatch" },
	[TR_FAIL_TLSA] = { "tlsa-mismatch", "no TLSA record matched" },
};

const char *tr_tls_fail_name(tr_tls_fail f)
{
	return (unsigned)f < TR_FAIL_COUNT ? fails[f].name : "";
}

const char *tr_tls_fail_words(tr_tls_fail f)
{
	return (unsigned)f < TR_FAIL_COUNT ? fails[f].words : "?";
}

tr_tls_fail tr_tls_fail_from_name(const char *name)
{
	for (int f = 1; f < TR_FAIL_COUNT; f++)
		if (strcmp(fails[f].name, name) == 0)
			return (tr_tls_fail)f;
	return TR_FAIL_COUNT;
}

/* The class of a demand's skip (demand.h: its level_src says which rule). */
static tr_tls_fail skip_class(const tr_demand *d, const tr_dane_host *facts)
{
	if (d->level_src.kind == TR_SRC_STS)
		return TR_FAIL_STS_MX;
	if (d->level_src.kind == TR_SRC_DANE)
		return facts && facts->tlsa_failed ? TR_FAIL_DNSSEC : TR_FAIL_DANE_REQUIRED;
	return TR_FAIL_SKIPPED;
}

static tr_verdict defer(tr_tls_fail f, tr_tls_fail *why)
{
	*why = f;
	return TR_VERDICT_DEFER;
}

tr_verdict tr_tls_judge(const tr_demand *d, const tr_dane_host *facts,
                        const tr_tls_outcome *o, const char *relay,
                        tr_tls_fail *why, tlsrelay_status *st)
{
	*why = TR_FAIL_NONE;
	tr_status_ok(st);
	if (d->skip) {
		tr_status_set(st, TLSRELAY_TEMP, "4.7.5", "%s", d->why);
		return defer(skip_class(d, facts), why);
	}
	if (o == NULL || !o->greeted)
		return TR_VERDICT_UNKNOWN;
	if (!tr_demand_uses_tls(d))
		return TR_VERDICT_PASS;
	if (!tr_demand_tls_required(d))
		return TR_VERDICT_PASS;           /* may: plaintext is allowed */
	if (!o->offered) {
		tr_status_set(st, TLSRELAY_TEMP, "4.7.4", "TLS is required, but was not "
		              "offered by host %s", relay);
		return defer(TR_FAIL_NO_STARTTLS, why);
	}
	if (!o->tried)
		return TR_VERDICT_UNKNOWN;
	if (!o->up) {
		tr_status_set(st, TLSRELAY_TEMP, "4.7.5", "TLS is required, but the TLS "
		              "handshake with %s failed", relay);
		return defer(TR_FAIL_HANDSHAKE, why);
	}
	*why = tr_tls_enforce_why(&o->info, d, relay, st);
	return *why == TR_FAIL_NONE ? TR_VERDICT_PASS : TR_VERDICT_DEFER;
}
