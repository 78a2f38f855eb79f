/*
 * milter.c - libmilter callbacks of tlsrelay-milter (see milter.h).
 *
 * Per message: private data (smfi_setpriv) made at MAIL FROM, released by
 * one function, msg_cleanup(), from end of message, abort and close. The
 * MTA sends only what the rules need: MAIL, RCPT, the header fields and
 * the end of message (negotiate() turns off connect, HELO, DATA, end of
 * header, body and unknown commands, and asks for the one macro logged,
 * the queue id {i}, at end of message only).
 *
 * Verdicts: everything continues (or is accepted at end of message),
 * except that a failed allocation at MAIL FROM and a failed header change
 * at end of message are temporary failures (451 4.3.0): the message must
 * not go out without the requirement its rules ask for.
 */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include "tlsrelay.h"
#include "tlsrelay_internal.h"
#include "milter.h"

static const milter_conf *conf;

typedef struct msg {
	tr_tls_level level;     /* strongest level matched so far */
	char why[96];           /* the rule that gave it: "from rule at line 3" */
	int incoming;           /* X-TLSRelay-Require fields the message came with */
} msg;

static void match(msg *m, tr_rule_type type, const char *a, const char *b,
                  const char *what)
{
	int line = 0;
	tr_tls_level lv = tr_msgrules_match(conf->rules, type, a, b, &line);

	if (lv > m->level) {
		m->level = lv;
		snprintf(m->why, sizeof m->why, "%s rule at line %d", what, line);
	}
}

static void msg_cleanup(SMFICTX *ctx)
{
	msg *m = smfi_getpriv(ctx);

	if (m != NULL) {
		smfi_setpriv(ctx, NULL);
		free(m);
	}
}

static sfsistat tempfail(SMFICTX *ctx, const char *why)
{
	conf->log(LOG_ERR, "temporary failure: %s", why);
	smfi_setreply(ctx, "451", "4.3.0", "tlsrelay-milter: local resource problem, try again later");
	msg_cleanup(ctx);
	return SMFIS_TEMPFAIL;
}

/* -------------------------------------------------------------- callbacks */

static sfsistat negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
                          unsigned long f2, unsigned long f3, unsigned long *pf0,
                          unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
	const unsigned long need = SMFIF_ADDHDRS | SMFIF_CHGHDRS;
	const unsigned long skip = SMFIP_NOCONNECT | SMFIP_NOHELO | SMFIP_NOBODY |
	                           SMFIP_NOEOH | SMFIP_NOUNKNOWN | SMFIP_NODATA;

	(void)f2; (void)f3;
	if ((f0 & need) != need) {
		conf->log(LOG_ERR, "the MTA does not let milters add and delete header "
		          "fields: refusing (the MTA's milter default action applies)");
		return SMFIS_REJECT;
	}
	*pf0 = need | (f0 & SMFIF_SETSYMLIST);
	*pf1 = f1 & skip;
	*pf2 = *pf3 = 0;
	if (f0 & SMFIF_SETSYMLIST) {
		static const int stages[] = { SMFIM_CONNECT, SMFIM_HELO, SMFIM_ENVFROM,
		                              SMFIM_ENVRCPT, SMFIM_DATA, SMFIM_EOH };
		for (size_t i = 0; i < sizeof stages / sizeof stages[0]; i++)
			(void)smfi_setsymlist(ctx, stages[i], "{i}");
		(void)smfi_setsymlist(ctx, SMFIM_EOM, "i {i}");
	}
	return SMFIS_CONTINUE;
}

static sfsistat envfrom(SMFICTX *ctx, char **argv)
{
	msg *m;

	msg_cleanup(ctx);              /* a previous transaction's leftovers */
	m = milter_msg_alloc(sizeof *m);
	if (m == NULL)
		return tempfail(ctx, "out of memory for a message's private data");
	m->level = TR_TLS_INVALID;
	if (smfi_setpriv(ctx, m) != MI_SUCCESS) {
		free(m);
		return tempfail(ctx, "smfi_setpriv failed");
	}
	if (argv && argv[0])
		match(m, TR_RULE_FROM, argv[0], NULL, "from");
	return SMFIS_CONTINUE;
}

static sfsistat envrcpt(SMFICTX *ctx, char **argv)
{
	msg *m = smfi_getpriv(ctx);

	if (m && argv && argv[0])
		match(m, TR_RULE_TO, argv[0], NULL, "to");
	return SMFIS_CONTINUE;
}

static sfsistat header(SMFICTX *ctx, char *name, char *value)
{
	msg *m = smfi_getpriv(ctx);

	if (m == NULL || name == NULL)
		return SMFIS_CONTINUE;
	if (strcasecmp(name, TR_MSGREQ_HEADER) == 0)
		m->incoming++;
	else
		match(m, TR_RULE_HEADER, name, value ? value : "", "header");
	return SMFIS_CONTINUE;
}

static sfsistat eom(SMFICTX *ctx)
{
	msg *m = smfi_getpriv(ctx);
	const char *qid = smfi_getsymval(ctx, "i");

	if (qid == NULL)
		qid = smfi_getsymval(ctx, "{i}");
	if (qid == NULL)
		qid = "NOQUEUE";
	if (m == NULL)
		return SMFIS_ACCEPT;
	/* Highest index first: the later copies keep their numbers. */
	for (int i = m->incoming; i >= 1; i--)
		if (smfi_chgheader(ctx, TR_MSGREQ_HEADER, i, NULL) != MI_SUCCESS)
			return tempfail(ctx, "cannot remove an incoming " TR_MSGREQ_HEADER " field");
	if (m->level != TR_TLS_INVALID &&
	    smfi_addheader(ctx, TR_MSGREQ_HEADER, (char *)tr_tls_level_name(m->level)) != MI_SUCCESS)
		return tempfail(ctx, "cannot add the " TR_MSGREQ_HEADER " field");
	if (m->incoming > 0)
		conf->log(LOG_NOTICE, "%s: removed %d incoming %s field%s", qid, m->incoming,
		          TR_MSGREQ_HEADER, m->incoming > 1 ? "s" : "");
	if (m->level != TR_TLS_INVALID)
		conf->log(LOG_INFO, "%s: %s: %s (%s)", qid, TR_MSGREQ_HEADER,
		          tr_tls_level_name(m->level), m->why);
	msg_cleanup(ctx);
	return SMFIS_ACCEPT;
}

static sfsistat abort_msg(SMFICTX *ctx)
{
	msg_cleanup(ctx);
	return SMFIS_CONTINUE;
}

static sfsistat close_conn(SMFICTX *ctx)
{
	msg_cleanup(ctx);
	return SMFIS_CONTINUE;
}

static struct smfiDesc desc = {
	.xxfi_name = "tlsrelay-milter",
	.xxfi_version = SMFI_VERSION,
	.xxfi_flags = SMFIF_ADDHDRS | SMFIF_CHGHDRS,
	.xxfi_envfrom = envfrom,
	.xxfi_envrcpt = envrcpt,
	.xxfi_header = header,
	.xxfi_eom = eom,
	.xxfi_abort = abort_msg,
	.xxfi_close = close_conn,
	.xxfi_negotiate = negotiate,
};

struct smfiDesc *milter_desc(const milter_conf *c)
{
	conf = c;
	return &desc;
}
