/*
 * report_metrics.c - the TLS history's counters in the Prometheus text
 * exposition format (version 0.0.4): tlsrelay-report metrics (for
 * node_exporter's textfile collector) and tlsrelayd's metrics listener.
 *
 * The counters are written with each delivery (history.c) and never
 * pruned, so they only grow (a new store starts them at 0: Prometheus
 * takes that as a counter reset). Their labels come from fixed
 * vocabularies (no destination names): the number of series is bounded.
 *
 *   tlsrelay_attempts_total{posture,outcome}     attempts to a server
 *   tlsrelay_connection_reuses_total             attempts on a connection
 *                                                kept by tlsrelayd: no new
 *                                                TLS session (attempts
 *                                                minus these: sessions)
 *   tlsrelay_messages_total{outcome,shadow}      messages per destination
 *   tlsrelay_failures_total{reason}              failed attempts by class
 *   tlsrelay_policy_total{level,source}          the demand's level and source
 *   tlsrelay_dane_results_total{result}          TLS-RPT result types, DANE
 *   tlsrelay_mta_sts_results_total{mode,result}  TLS-RPT result types, MTA-STS
 *   tlsrelay_shadow_verdicts_total{verdict}      pass, unknown, would-defer
 *   tlsrelay_shared_store_dropped_total          writes to the fleet store
 *                                                not made (Redis unavailable)
 *   tlsrelay_shared_store_failures_total         fleet store outages seen by
 *                                                a delivering process
 *   tlsrelay_starttls_lost_total                 STARTTLS missing where it
 *                                                was offered and verified
 *
 * Every name of the table gets its HELP and TYPE lines, also before its
 * first sample: a scrape shows what will come.
 */
#include "config.h"
#include <stdio.h>
#include <string.h>
#include "ctx.h"
#include "report.h"
#include "status.h"

/* In name order: the store gives the samples in that order (announce_to). */
static const struct {
	const char *name, *help;
} metrics[] = {
	{ "tlsrelay_attempts_total", "Delivery attempts to a server, by the TLS posture it "
	  "showed and how the attempt ended." },
	{ "tlsrelay_connection_reuses_total", "Attempts on a connection kept from an earlier "
	  "message (tlsrelayd): no new TLS session." },
	{ "tlsrelay_dane_results_total", "Attempts under usable TLSA records (or DANE required), "
	  "by TLS-RPT result type." },
	{ "tlsrelay_failures_total", "Failed attempts by reason class." },
	{ "tlsrelay_messages_total", "Messages per destination, by outcome and by the shadow "
	  "policy's verdict." },
	{ "tlsrelay_mta_sts_results_total", "Attempts under an MTA-STS policy, by mode and "
	  "TLS-RPT result type." },
	{ "tlsrelay_policy_total", "Attempts by the TLS level in force and where it came from." },
	{ "tlsrelay_shadow_verdicts_total", "The shadow policy's verdicts on attempts." },
	{ "tlsrelay_shared_store_dropped_total", "Writes to the fleet's shared store (Redis) "
	  "not made because it was unavailable: the local stores have them." },
	{ "tlsrelay_shared_store_failures_total", "Times a delivering process found the shared "
	  "store (Redis) unavailable: down, slow (timeout) or refusing (an error reply)." },
	{ "tlsrelay_starttls_lost_total", "Attempts without STARTTLS at a server that offered "
	  "it and verified before." },
};

#define NMETRICS (sizeof metrics / sizeof metrics[0])

struct emit {
	tlsrelay_report_fn fn;
	void *arg;
	size_t next;             /* the next name of the table to announce */
};

static void announce(struct emit *e, size_t i)
{
	char line[512];

	snprintf(line, sizeof line, "# HELP %s %s", metrics[i].name, metrics[i].help);
	e->fn(e->arg, line);
	snprintf(line, sizeof line, "# TYPE %s counter", metrics[i].name);
	e->fn(e->arg, line);
}

/* Announce the table's names up to (and with) name; -1 if it is not one. */
static int announce_to(struct emit *e, const char *name)
{
	for (size_t i = e->next; i < NMETRICS; i++) {
		int c = strcmp(metrics[i].name, name);

		if (c > 0)
			break;
		announce(e, i);
		e->next = i + 1;
		if (c == 0)
			return 0;
	}
	for (size_t i = 0; i < e->next; i++)
		if (strcmp(metrics[i].name, name) == 0)
			return 0;
	return -1;
}

static int sample(const char *name, const char *labels, long long value, void *arg)
{
	struct emit *e = arg;
	char line[512];

	if (announce_to(e, name) < 0)
		return 0;                  /* a name this version does not know */
	snprintf(line, sizeof line, "%s%s%s%s %lld", name, labels[0] ? "{" : "", labels,
	         labels[0] ? "}" : "", value);
	e->fn(e->arg, line);
	return 0;
}

tlsrelay_cat rep_metrics(struct tlsrelay_ctx *ctx, tlsrelay_report_fn fn, void *arg,
                         tlsrelay_status *st)
{
	struct emit e = { fn, arg, 0 };
	tr_hist_store *s = rep_open(ctx, st);

	if (s == NULL)
		return st->cat;
	if (tr_hist_each_counter(s, sample, &e, st) != TLSRELAY_OK) {
		char text[TLSRELAY_TEXT_MAX];

		snprintf(text, sizeof text, "%s", st->text);
		tr_hist_close(s);
		return tr_status_set(st, TLSRELAY_TEMP, "4.3.0", "cannot read the TLS history: %s",
		                     text);
	}
	for (size_t i = e.next; i < NMETRICS; i++)
		announce(&e, i);
	tr_hist_close(s);
	return tr_status_ok(st);
}
