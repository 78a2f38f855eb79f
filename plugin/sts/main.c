/*
 * tlsrelay-sts - MTA-STS cache maintenance and TLS-RPT reports (a thin
 * command over lib/sts*.c and lib/tlsrpt.c).
 *
 *   tlsrelay-sts [-c config] [-o key=value]... [-v] refresh [domain...]
 *       Look up and fetch again the policy of each domain (default: every
 *       cached domain), even when the TXT id is unchanged, so that cached
 *       policies are renewed before they expire (cron, e.g. daily). One
 *       line per domain on stdout. Then expired policies and TLS-RPT
 *       results older than 30 days are removed (the file stays bounded).
 *       Exit 0, or 1 when a domain has no usable policy after the
 *       refresh, 78 for a configuration error.
 *   tlsrelay-sts [...] show domain...
 *       The cached policy (no network). Exit 1 when one is not cached.
 *   tlsrelay-sts [...] report --day YYYY-MM-DD [--domain D] [--org NAME]
 *       [--contact ADDR] [--submitter DOMAIN] [--send --from ADDR]
 *       RFC 8460 JSON report of each policy domain with results that day
 *       (only D with --domain), one JSON object per line on stdout; with
 *       --send, also mailed through tlsrelay itself to the mailto: rua of
 *       the domain's _smtp._tls TXT record (MTA-STS not applied to that
 *       mail: TLS-Required: No). Defaults: --submitter and --org the host
 *       name, --contact postmaster@SUBMITTER.
 * mta_sts_cache must be set (in the file or with -o). No core dumps
 * (tlsrelay_no_core_dumps): report --send delivers with the library,
 * which loads sasl_password_map.
 */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include "tlsrelay.h"
#include "tlsrelay_internal.h"

#define EX_USAGE_ 64
#define EX_CONFIG_ 78
#define KEEP_DAYS 30        /* TLS-RPT results kept by refresh */

struct opts {
	const char *config, *overrides[32];
	int noverrides, verbose;
	const char *day, *domain, *org, *contact, *submitter, *from;
	int send;
};

struct run {
	tlsrelay_ctx *ctx;
	tr_sts_store *store;
	tr_dns dns;
	const struct opts *o;
	tr_tlsrpt_meta meta;
	int bad;
};

static void log_stderr(void *arg, int priority, const char *line)
{
	(void)arg;
	(void)priority;
	fprintf(stderr, "tlsrelay-sts: %s\n", line);
}

static int usage(void)
{
	fputs("usage: tlsrelay-sts [-c config] [-o key=value] [-v] refresh [domain...]\n"
	      "       tlsrelay-sts [-c config] [-o key=value] show domain...\n"
	      "       tlsrelay-sts [-c config] [-o key=value] report --day YYYY-MM-DD [--domain D]\n"
	      "                    [--org NAME] [--contact ADDR] [--submitter DOMAIN] [--send --from ADDR]\n",
	      stderr);
	return EX_USAGE_;
}

static int configure(tlsrelay_ctx *ctx, const struct opts *o)
{
	tlsrelay_status st;

	if (tlsrelay_ctx_configure(ctx, o->config, o->overrides, o->noverrides, &st) == TLSRELAY_OK)
		return 0;
	fprintf(stderr, "tlsrelay-sts: %s\n", st.text);
	return -1;
}

/* ------------------------------------------------------------ refresh/show */

static void print_policy(const char *domain, const tr_sts_policy *p, const char *id,
                         long long expires, const char *origin)
{
	char when[32];
	time_t t = (time_t)expires;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
	printf("%s: mode %s, id %s, expires %s (%s), mx", domain, tr_sts_mode_name(p->mode),
	       id, when, origin);
	for (int i = 0; i < p->nmx; i++)
		printf(" %s", tr_sts_policy_mx(p, i));
	printf("%s\n", p->nmx ? "" : " none");
}

struct names {
	char (*v)[256];
	size_t n, cap;
};

static int collect(const char *domain, void *arg)
{
	struct names *l = arg;

	if (l->n == l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 64;
		char (*nv)[256] = realloc(l->v, nc * sizeof *nv);
		if (nv == NULL)
			return 1;
		l->v = nv;
		l->cap = nc;
	}
	snprintf(l->v[l->n++], 256, "%s", domain);
	return 0;
}

static int refresh_one(const char *domain, void *arg)
{
	struct run *r = arg;
	tr_sts_found f;

	tr_sts_discover(r->ctx, &r->dns, r->store, domain, 1, (long long)time(NULL), 0, &f);
	if (f.have) {
		print_policy(domain, &f.pol, f.id, f.expires, f.origin);
	} else {
		printf("%s: no policy%s%s\n", domain, f.fail_text[0] ? ": " : "", f.fail_text);
		r->bad = 1;
	}
	return 0;
}

static int show_one(struct run *r, const char *domain)
{
	tr_sts_cached c;
	int got = tr_sts_store_get(r->store, domain, &c);

	if (got < 0) {
		fprintf(stderr, "tlsrelay-sts: %s\n", tr_sts_store_error(r->store));
		return 1;
	}
	if (got == 0) {
		printf("%s: not cached\n", domain);
		return 1;
	}
	print_policy(domain, &c.pol, c.id, c.expires,
	             c.expires > (long long)time(NULL) ? "cached" : "cached, expired");
	return 0;
}

/* ------------------------------------------------------------ report */

/* Mail json to every mailto: rua of domain through tlsrelay itself. */
static int send_report(struct run *r, const char *domain, const char *json)
{
	char (*txt)[TR_DNS_TXT_MAX] = calloc(TR_DNS_TXT_COUNT, sizeof *txt);
	char rua[8][256], name[300], err[256];
	tlsrelay_status st;
	int n, nrua = 0, bad = 0;

	snprintf(name, sizeof name, "_smtp._tls.%s", domain);
	n = txt ? tr_dns_txt(&r->dns, name, txt, TR_DNS_TXT_COUNT, &st) : -1;
	for (int i = 0; i < n && nrua == 0; i++)
		nrua = tr_tlsrpt_rua(txt[i], rua, 8);
	free(txt);
	if (nrua <= 0) {
		fprintf(stderr, "tlsrelay-sts: %s: no TLSRPTv1 record with a mailto: rua%s%s\n",
		        domain, n < 0 ? ": " : "", n < 0 ? st.text : "");
		return 1;
	}
	for (int i = 0; i < nrua; i++) {
		FILE *f = tmpfile();
		tlsrelay_message *msg;
		tlsrelay_rcpt rc = { rua[i], { TLSRELAY_OK, "", "" } };
		tlsrelay_request req = { r->o->from, NULL, NULL, NULL, NULL, &rc, 1 };

		if (f == NULL || tr_tlsrpt_mail(f, &r->meta, r->o->from, rua[i], domain, r->o->day,
		                                json, (long long)time(NULL), err, sizeof err) < 0 ||
		    fflush(f) != 0 || fseek(f, 0, SEEK_SET) != 0) {
			fprintf(stderr, "tlsrelay-sts: %s: cannot write the report mail\n", domain);
			bad = 1;
		} else if ((msg = tlsrelay_message_spool(r->ctx, fileno(f), &st)) == NULL ||
		           tlsrelay_deliver(r->ctx, &req, msg, &st) != TLSRELAY_OK) {
			fprintf(stderr, "tlsrelay-sts: report for %s to <%s>: %s %s\n", domain, rua[i],
			        st.dsn, st.text);
			bad = 1;
			tlsrelay_message_free(msg);
		} else {
			printf("%s: report sent to <%s>\n", domain, rua[i]);
			tlsrelay_message_free(msg);
		}
		if (f)
			fclose(f);
	}
	return bad;
}

static int report_one(const char *domain, void *arg)
{
	struct run *r = arg;
	char *json = NULL, err[256];
	int got = tr_tlsrpt_json(r->store, r->o->day, domain, &r->meta, &json, err, sizeof err);

	if (got < 0) {
		fprintf(stderr, "tlsrelay-sts: %s\n", err);
		r->bad = 1;
	} else if (got > 0 && !r->o->send) {
		fputs(json, stdout);
	} else if (got > 0 && send_report(r, domain, json)) {
		r->bad = 1;
	}
	free(json);
	return 0;
}

static int cmd_report(struct run *r)
{
	static char host[256];
	static char contact[300];
	const struct opts *o = r->o;
	long long start;

	if (o->day == NULL || tr_tlsrpt_day(o->day, &start) < 0 || (o->send && o->from == NULL))
		return usage();
	if (gethostname(host, sizeof host - 1) < 0 || host[0] == '\0')
		snprintf(host, sizeof host, "localhost");
	r->meta.submitter = o->submitter ? o->submitter : host;
	r->meta.org = o->org ? o->org : r->meta.submitter;
	snprintf(contact, sizeof contact, "postmaster@%.250s", r->meta.submitter);
	r->meta.contact = o->contact ? o->contact : contact;
	if (o->send) {   /* the report must get through broken TLS: no MTA-STS */
		tlsrelay_status st;
		tlsrelay_ctx_set(r->ctx, "mta_sts", "no", &st);
	}
	if (o->domain)
		report_one(o->domain, r);
	else if (tr_tlsrpt_domains(r->store, o->day, report_one, r) < 0)
		return fprintf(stderr, "tlsrelay-sts: %s\n", tr_sts_store_error(r->store)), 1;
	return r->bad;
}

/* ------------------------------------------------------------ main */

static int parse(int argc, char **argv, struct opts *o)
{
	int i = 1;

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "-v") == 0)
			o->verbose++;
		else if (strcmp(argv[i], "-c") == 0 && i + 1 < argc)
			o->config = argv[++i];
		else if (strcmp(argv[i], "-o") == 0 && i + 1 < argc && strchr(argv[i + 1], '=') &&
		         o->noverrides < 32)
			o->overrides[o->noverrides++] = argv[++i];
		else
			return -1;
	}
	return i < argc ? i : -1;
}

static int parse_report(int argc, char **argv, int i, struct opts *o)
{
	for (; i < argc; i++) {
		const char **slot = NULL;

		if (strcmp(argv[i], "--send") == 0) {
			o->send = 1;
			continue;
		}
		if (strcmp(argv[i], "--day") == 0) slot = &o->day;
		else if (strcmp(argv[i], "--domain") == 0) slot = &o->domain;
		else if (strcmp(argv[i], "--org") == 0) slot = &o->org;
		else if (strcmp(argv[i], "--contact") == 0) slot = &o->contact;
		else if (strcmp(argv[i], "--submitter") == 0) slot = &o->submitter;
		else if (strcmp(argv[i], "--from") == 0) slot = &o->from;
		if (slot == NULL || i + 1 >= argc)
			return -1;
		*slot = argv[++i];
	}
	return 0;
}

static int open_run(struct run *r, const struct opts *o)
{
	const tr_config *cfg = &r->ctx->cfg;
	char err[600];

	if (configure(r->ctx, o) < 0)
		return EX_CONFIG_;
	if (cfg->mta_sts_cache == NULL) {
		fprintf(stderr, "tlsrelay-sts: mta_sts_cache is not set\n");
		return EX_CONFIG_;
	}
	if (tr_dns_init(&r->dns, cfg->dns_resolver, 10) < 0) {
		fprintf(stderr, "tlsrelay-sts: bad dns_resolver\n");
		return EX_CONFIG_;
	}
	if ((r->store = tr_sts_store_open(cfg->mta_sts_cache, err, sizeof err)) == NULL) {
		fprintf(stderr, "tlsrelay-sts: %s\n", err);
		return EX_CONFIG_;
	}
	if (tr_sts_store_readonly(r->store))
		fprintf(stderr, "tlsrelay-sts: %s\n", tr_sts_readonly_text(r->store, err, sizeof err));
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o;
	struct run r;
	int i, rc = 0;

	(void)tlsrelay_no_core_dumps();   /* report --send loads sasl_password_map */
	memset(&o, 0, sizeof o);
	memset(&r, 0, sizeof r);
	r.o = &o;
	if ((i = parse(argc, argv, &o)) < 0)
		return usage();
	if (strcmp(argv[i], "report") == 0 && parse_report(argc, argv, i + 1, &o) < 0)
		return usage();
	if (strcmp(argv[i], "show") == 0 && i + 1 >= argc)
		return usage();
	if (strcmp(argv[i], "refresh") && strcmp(argv[i], "show") && strcmp(argv[i], "report"))
		return usage();
	if ((r.ctx = tlsrelay_ctx_new()) == NULL)
		return 71;
	tlsrelay_ctx_set_logger(r.ctx, log_stderr, NULL, o.verbose);
	if ((rc = open_run(&r, &o)) != 0)
		goto out;
	if (strcmp(argv[i], "refresh") == 0) {
		for (int k = i + 1; k < argc; k++)
			refresh_one(argv[k], &r);
		if (i + 1 >= argc) {     /* every cached domain: list first, then write */
			struct names l = { NULL, 0, 0 };
			if (tr_sts_store_each(r.store, collect, &l) < 0)
				r.bad = 1;
			for (size_t k = 0; k < l.n; k++)
				refresh_one(l.v[k], &r);
			free(l.v);
		}
		if (tr_sts_store_prune(r.store, (long long)time(NULL), KEEP_DAYS) < 0) {
			fprintf(stderr, "tlsrelay-sts: %s\n", tr_sts_store_error(r.store));
			r.bad = 1;
		}
		rc = r.bad;
	} else if (strcmp(argv[i], "show") == 0) {
		for (int k = i + 1; k < argc; k++)
			rc |= show_one(&r, argv[k]);
	} else {
		rc = cmd_report(&r);
	}
out:
	tr_sts_store_close(r.store);
	tlsrelay_ctx_free(r.ctx);
	return rc;
}
