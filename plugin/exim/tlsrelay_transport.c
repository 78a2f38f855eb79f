/*
 * tlsrelay_transport.c - tlsrelay_transport.so, an Exim (>= 4.99) transport
 * driver that delivers with libtlsrelay:
 *
 *   begin transports
 *   tlsrelay:
 *     driver = tlsrelay
 *     config = /etc/tlsrelay/tlsrelay.conf
 *
 * Exim loads it for "driver = tlsrelay" from its module directory
 * (LOOKUP_MODULE_DIR) as tlsrelay_transport.so, takes _transport_info and
 * checks its dyn_magic against TRANSPORT_MAGIC (readconf.c init_driver). It
 * is built against the configured Exim source tree it runs in (ac/
 * exim_module.ac): Exim's structures are used as that tree declares them.
 * Manual: tlsrelay-exim-transport(5).
 *
 * A remote transport (.local = FALSE): Exim calls the entry point once per
 * group of addresses (same transport, same errors address and extra
 * headers; at most max_rcpt of them, Exim's grouping in deliver.c), in a
 * subprocess running as the transport's user, and reads each address's
 * transport_return, basic_errno, more_errno, message and retry items.
 *
 * Options (all expanded per delivery, with the group's $domain etc.):
 *   config      tlsrelay.conf to read; unset: tlsrelay's default
 *               (SYSCONFDIR/tlsrelay.conf, which may be missing). A tainted
 *               value (from the message) defers.
 *   relayhost   overrides tlsrelay.conf's relayhost ("[host]:port" or a
 *               domain for its MX); empty/unset: tlsrelay.conf's, else the
 *               recipient domains' MX hosts. Mentioning $domain makes the
 *               transport single-domain (multi_domain = false).
 *   helo_data   the EHLO name; default $primary_hostname, as Exim's smtp
 *               transport. Empty: tlsrelay.conf's helo_name, else the
 *               host name.
 *   daemon_socket  a tlsrelayd's socket (tlsrelayd(8)): each SMTP
 *               transaction is handed to that daemon, whose delivery
 *               processes keep SMTP connections (TLS included) open from
 *               one message to the next. Unset or empty: delivered in this
 *               process. A tainted value defers.
 *   max_rcpt    generic remote-transport option (default 100): addresses
 *               per call and per SMTP transaction.
 *   multi_domain  generic (default true): several domains per call.
 *
 * Decisions (daemon_socket's: transport_daemon.c):
 * - The router decides THAT mail goes to tlsrelay, tlsrelay decides WHERE
 *   (its relayhost, or the MX hosts it looks up itself: DANE needs its
 *   DNSSEC-validated answers, MTA-STS matches MX names to the recipient
 *   domain, and tls_policy_map is keyed by that nexthop). An address whose
 *   router set a host list (dnslookup, manualroute with hosts) is deferred
 *   with a message naming the router, never sent elsewhere than the admin
 *   routed it: route with "driver = accept", or name the smarthost in
 *   relayhost (which may look it up per domain).
 * - Results per recipient: OK after the server's 2xx to the data; FAIL
 *   for a 5xx; DEFER otherwise (transport_result.h), each with the reason
 *   in addr->message (logged by Exim, quoted in bounces for server
 *   replies), and for DEFER a retry item on the address's retry key (R:,
 *   as Exim's smtp transport does for a 4xx to RCPT): Exim's retry rules
 *   then pace the queue runs and time the address out. An accepted
 *   address is never deferred and a refused one never retried.
 * - The message: transport_write_message() (headers_add/remove/rewrite,
 *   return_path_add ... as configured) into memory (up to 1 MB) or an
 *   unlinked file in Exim's spool directory (tlsrelay_spool_fd, the
 *   library's own spool function), which tlsrelay_message_spool()
 *   copies into tlsrelay's spool (CR LF, its checks, the X-TLSRelay-Require
 *   header read and removed). One write per SMTP transaction: a group larger
 *   than max_rcpt is sent as several transactions, each from a fresh copy
 *   (the library removes the milter's header from the copy it sends).
 * - DSN (RFC 3461) as Exim's smtp transport sends it, to a server that
 *   announces DSN (the library drops it otherwise): each address's own
 *   NOTIFY (its dsn_flags) and ORCPT (dsn_orcpt, as Exim received it) on
 *   its RCPT, all addresses in one transaction whatever their NOTIFY;
 *   none for an address at the last hop (rf_dsnlasthop); RET and ENVID
 *   unless every address is. An ORCPT the library would refuse (over 500
 *   characters, not addr-type;xtext: Exim stores what its client sent,
 *   unchecked) is not sent for that address, which is delivered anyway,
 *   and a line in the main log says so ("tlsrelay: <ADDR>: DSN ORCPT ...
 *   not sent"): a refusal would fail a good address (so is a NOTIFY of
 *   NEVER with another value, which Exim's SMTP input never takes).
 *   Through tlsrelayd the same values go as tlsrelay -D, once per
 *   recipient.
 * - addr->dsn_aware as Exim's smtp transport sets it: dsn_support_yes when
 *   the server that accepted the address announced DSN (the library's
 *   tlsrelay_rcpt.dsn_aware; through tlsrelayd the "ok+dsn" of its result
 *   line), dsn_support_no otherwise. Exim then sends its own success
 *   notice for NOTIFY=SUCCESS ("relayed to non-DSN-aware mailer") only
 *   when the server did not take the request; a DSN-aware server answers
 *   for it itself. An address at the last hop (rf_dsnlasthop) gets Exim's
 *   notice whatever dsn_aware says (deliver.c).
 * - The context: when config is not expanded, the configuration is read
 *   and prepared (tlsrelay_ctx_prepare: TLS context, CA file, maps) at
 *   driver initialisation, in every Exim process that reads Exim's
 *   configuration; deliveries are forked from those processes (the
 *   daemon, queue runners) and start with it done, as tlsrelayd's do. A
 *   delivery checks tlsrelay_ctx_changed() and reads afresh when a file
 *   changed. Errors at initialisation are not reported there (any exim
 *   command reads the configuration): the delivery reads the files again
 *   and defers with the reason.
 * - tlsrelay's log lines go to Exim's main log, "MSGID tlsrelay: LINE";
 *   tlsrelay.conf's syslog setting is not used (Exim's log_file_path
 *   decides). With Exim's -d+transport, the SMTP dialogue goes to the
 *   debug output. Exim's message ID is the delivery's queue ID
 *   (tlsrelay_ctx_set_log_id: the TLS history records it, as -Q of the
 *   pipe transport does); Exim starts each line with it already, so the
 *   library's "ID: " prefix is not repeated.
 * - Built for one Exim version: initialisation refuses to run in another
 *   (a structure may have moved), naming both versions.
 */
#include "transport_job.h"
#include "transport_result.h"

#define DRIVER "tlsrelay"

/* ------------------------------------------------------------ options */


#define LOFF(field) OPT_OFF(tlsrelay_transport_options_block, field)

/* In alphabetical order ("*" first); Exim searches it by bisection. */
static optionlist tlsrelay_transport_options[] = {
	{ "*expand_multi_domain", opt_stringptr | opt_hidden | opt_public,
	  OPT_OFF(transport_instance, expand_multi_domain) },
	{ "config", opt_stringptr, LOFF(config) },
	{ "daemon_socket", opt_stringptr, LOFF(daemon_socket) },
	{ "helo_data", opt_stringptr, LOFF(helo_data) },
	{ "max_rcpt", opt_stringptr | opt_public,
	  OPT_OFF(transport_instance, max_addresses) },
	{ "multi_domain", opt_expand_bool | opt_public,
	  OPT_OFF(transport_instance, multi_domain) },
	{ "relayhost", opt_stringptr, LOFF(relayhost) },
};

static int tlsrelay_transport_options_count =
	sizeof tlsrelay_transport_options / sizeof tlsrelay_transport_options[0];

static tlsrelay_transport_options_block tlsrelay_transport_option_defaults = {
	.helo_data = US"$primary_hostname",
};

/* The version this module was built against (checked at initialisation). */
static const char built_for[] = EXIM_VERSION_STR;


/* ------------------------------------------------------------ context */


static void log_line(void *arg, int priority, const char *line)
{
	size_t n = message_id ? Ustrlen(message_id) : 0;

	(void)arg;
	/* "ID: " from tlsrelay_ctx_set_log_id: Exim's log_write adds the ID */
	if (n > 0 && strncmp(line, CS message_id, n) == 0 && line[n] == ':' && line[n + 1] == ' ')
		line += n + 2;
	if (priority >= 7) {        /* LOG_DEBUG: only with exim -d+transport */
		DEBUG(transport) debug_printf("tlsrelay: %s\n", line);
		return;
	}
	log_write(LOG_MAIN, "tlsrelay: %s", line);
}

/* A context with the settings of path (NULL: tlsrelay's default file,
 * which may be missing). NULL with *st on failure. */
static tlsrelay_ctx *ctx_read(const char *path, tlsrelay_status *st)
{
	tlsrelay_ctx *ctx = tlsrelay_ctx_new();

	if (ctx == NULL) {
		exim_status_set(st, TLSRELAY_INTERNAL, "4.3.0", "out of memory");
		return NULL;
	}
	if (tlsrelay_ctx_configure(ctx, path, NULL, 0, st) != TLSRELAY_OK) {
		tlsrelay_ctx_free(ctx);
		return NULL;
	}
	return ctx;
}

/* The context for this delivery: the prepared one if it is for the same
 * file, unused in this process and unchanged; else read afresh. */
static tlsrelay_ctx *ctx_get(tlsrelay_transport_options_block *ob,
                             const char *path, tlsrelay_status *st)
{
	struct warm *w = ob->warm;
	const char *changed;

	if (w != NULL && !w->used && (ob->config == NULL || Ustrcmp(ob->config, path) == 0)) {
		w->used = 1;
		if ((changed = tlsrelay_ctx_changed(w->ctx)) == NULL) {
			DEBUG(transport) debug_printf("tlsrelay: prepared context\n");
			return w->ctx;
		}
		DEBUG(transport) debug_printf("tlsrelay: %s changed: reading it again\n", changed);
	}
	return ctx_read(ob->config ? path : NULL, st);
}

static void ctx_put(tlsrelay_transport_options_block *ob, tlsrelay_ctx *ctx)
{
	struct warm *w = ob->warm;

	if (w == NULL || w->ctx != ctx)
		tlsrelay_ctx_free(ctx);
}

/* ------------------------------------------------------------- init */

static void tlsrelay_transport_init(driver_instance *d)
{
	transport_instance *tblock = (transport_instance *)d;
	tlsrelay_transport_options_block *ob = d->options_block;
	tlsrelay_status st;
	struct warm *w;

	if (strcmp(CS version_string, built_for) != 0)
		log_write_die(LOG_CONFIG_FOR,
		              "%s transport: tlsrelay_transport.so was built for Exim %s, "
		              "this is Exim %s: build it again against this Exim's source tree",
		              d->name, built_for, version_string);
	if (ob->relayhost != NULL &&
	    (Ustrstr(ob->relayhost, "$domain") != NULL || Ustrstr(ob->relayhost, "${domain") != NULL))
		tblock->multi_domain = FALSE;      /* one domain per call */
	if (ob->config != NULL && Ustrchr(ob->config, '$') != NULL)
		return;                            /* expanded per delivery */
	if ((w = store_get_perm(sizeof *w, GET_UNTAINTED)) == NULL)
		return;
	memset(w, 0, sizeof *w);
	if ((w->ctx = ctx_read(CCS ob->config, &st)) == NULL ||
	    tlsrelay_ctx_prepare(w->ctx, &st) != TLSRELAY_OK) {
		DEBUG(transport) debug_printf("%s transport: not prepared: %s\n", d->name, st.text);
		tlsrelay_ctx_free(w->ctx);
		return;                            /* the delivery says why */
	}
	ob->warm = w;
}

/* --------------------------------------------------------- the group */


/* Settle one address with a status; dsn_aware: the server that accepted
 * it announced DSN (tlsrelay_rcpt.dsn_aware), -1: nothing was sent for it
 * (addr->dsn_aware left unknown, as Exim's smtp transport leaves it). */
static void settle(address_item *addr, const tlsrelay_status *st, int dsn_aware)
{
	tr_exim_result r;

	tr_exim_result_of(st, &r);
	/* the server's reply for a delivery, "DSN reason" otherwise */
	addr->message = r.rc == TR_EXIM_OK || !st->dsn[0] ? string_copy(US st->text)
	              : string_sprintf("%s %s", st->dsn, st->text);
	addr->basic_errno = 0;
	addr->more_errno = 0;
	/* as Exim's smtp transport: Exim sends its own "relayed" notice for
	 * NOTIFY=SUCCESS unless the server took the DSN request */
	if (dsn_aware >= 0)
		addr->dsn_aware = dsn_aware ? dsn_support_yes : dsn_support_no;
	if (r.pass)
		setflag(addr, af_pass_message);
	switch (r.rc) {
	case TR_EXIM_OK:
		addr->transport_return = OK;
		addr->special_action = '=';    /* the log line's "=>" (deliver.c) */
		if (testflag(addr, af_dr_retry_exists) && addr->address_retry_key) {
			retry_add_item(addr, string_sprintf("%s:<%s>", addr->address_retry_key,
			               sender_address), rf_delete);
			retry_add_item(addr, addr->address_retry_key, rf_delete);
		}
		break;
	case TR_EXIM_FAIL:
		addr->transport_return = FAIL;
		break;
	case TR_EXIM_DEFER:
	default:
		addr->transport_return = DEFER;
		addr->basic_errno = r.err == TR_EXIM_ERR_RCPT4XX ? ERRNO_RCPT4XX
		                  : r.err == TR_EXIM_ERR_MAIL4XX ? ERRNO_MAIL4XX
		                  : r.err == TR_EXIM_ERR_DATA4XX ? ERRNO_DATA4XX
		                  : r.err == TR_EXIM_ERR_TLS ? ERRNO_TLSFAILURE : 0;
		if (r.err == TR_EXIM_ERR_RCPT4XX || r.err == TR_EXIM_ERR_MAIL4XX ||
		    r.err == TR_EXIM_ERR_DATA4XX)
			addr->more_errno = r.code4 << 8;
		if (addr->address_retry_key)
			retry_add_item(addr, addr->address_retry_key, 0);
		break;
	}
	DEBUG(transport) debug_printf("tlsrelay: %s: %s (%s): %s\n", addr->address,
	                              tr_exim_rc_name(r.rc), tr_exim_err_name(r.err), addr->message);
}

/* Settle every address not yet settled with st. */
static void settle_all(job *j, const tlsrelay_status *st)
{
	for (int i = 0; i < j->n; i++)
		if (j->addr[i] != NULL) {
			settle(j->addr[i], st, -1);
			j->addr[i] = NULL;
		}
}

/* An option's expansion into *out (NULL: unset, empty or forced to fail).
 * -1 after settling every address when the expansion fails. */
static int expand_opt(job *j, const char *name, const uschar *opt, const uschar **out)
{
	const uschar *v;
	tlsrelay_status st;

	*out = NULL;
	if (opt == NULL)
		return 0;
	if ((v = expand_string(opt)) == NULL) {
		if (f.expand_string_forcedfail)
			return 0;
		exim_status_set(&st, TLSRELAY_CONFIG, "4.3.5", CS string_sprintf(
		           "%s transport: failed to expand %s \"%s\": %s",
		           j->tblock->drinst.name, name, opt, expand_string_message));
		settle_all(j, &st);
		return -1;
	}
	*out = *v ? v : NULL;
	return 0;
}

/* ------------------------------------------------------- the message */

/* The message as this transport's options make it, in memory or in an
 * unlinked file, at offset 0. -1 with *st on failure. */
int tr_exim_write_message(job *j, tlsrelay_status *st)
{
	transport_instance *tb = j->tblock;
	transport_ctx tctx = {
		.tblock = tb,
		.addr = j->addrlist,
		.options = topt_use_crlf
		         | (tb->body_only ? topt_no_headers : 0)
		         | (tb->headers_only ? topt_no_body : 0)
		         | (tb->return_path_add ? topt_add_return_path : 0)
		         | (tb->delivery_date_add ? topt_add_delivery_date : 0)
		         | (tb->envelope_to_add ? topt_add_envelope_to : 0),
	};
	int fd;

	/* Up to TLSRELAY_SPOOL_MEMORY_MAX in memory (a memfd: no file system
	 * inode to make and delete, a measurable part of a small delivery's
	 * CPU on ext4), a bigger one in an unlinked file in Exim's spool
	 * directory (it may be far bigger than memory should hold): the
	 * library's function, the one its own spool is made with. */
	if (tlsrelay_spool_fd(CS spool_directory, message_size, &fd, st) != TLSRELAY_OK)
		return -1;
	tctx.u.fd = fd;
	transport_count = 0;
	if (!transport_write_message(&tctx, 0) || lseek(fd, 0, SEEK_SET) != 0) {
		exim_status_set(st, TLSRELAY_TEMP, "4.3.0", CS string_sprintf(
		                "cannot write the message to a file in %s: %s", spool_directory,
		                strerror(errno)));
		close(fd);
		return -1;
	}
	return fd;
}

/* ---------------------------------------------------------- delivery */

/* addr's DSN parameters into r, as Exim's smtp transport sends them
 * (build_rcptcmd_options): none at the last hop; NOTIFY from its flags
 * (NULL: none), ORCPT as Exim received it (xtext, passed on as is). A
 * value the library would refuse (an ORCPT over 500 characters or not
 * addr-type;xtext, NEVER with another NOTIFY) is dropped for this
 * address, with a line in the main log: a refusal would fail a good
 * address, and the library's request check every address of the batch. */
static void rcpt_dsn(const address_item *addr, tlsrelay_rcpt *r)
{
	static const struct { int flag; const char *name; } names[] = {
		{ rf_notify_never, "NEVER" }, { rf_notify_success, "SUCCESS" },
		{ rf_notify_failure, "FAILURE" }, { rf_notify_delay, "DELAY" },
	};
	gstring *g = NULL;
	const char *o = CCS addr->dsn_orcpt;

	r->notify = r->orcpt = NULL;
	if (addr->dsn_flags & rf_dsnlasthop)
		return;
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (addr->dsn_flags & names[i].flag)
			g = string_append_listele(g, ',', US names[i].name);
	r->notify = g ? CS string_from_gstring(g) : NULL;
	if (r->notify != NULL && !tr_dsn_notify_ok(r->notify, strlen(r->notify))) {
		/* NEVER with another (Exim's SMTP input refuses it: not from a
		 * client) would be refused by the library: not sent either */
		log_write(LOG_MAIN, "tlsrelay: <%s>: DSN NOTIFY \"%s\" not sent: NEVER "
		          "cannot go with another value", addr->address, r->notify);
		r->notify = NULL;
	}
	if (o != NULL && tr_dsn_orcpt_ok(o, strlen(o)))
		r->orcpt = o;
	else if (o != NULL)
		log_write(LOG_MAIN, "tlsrelay: <%s>: DSN ORCPT \"%.40s\"%s not sent: not "
		          "addr-type;xtext of at most 500 characters", addr->address,
		          string_printing(US o), Ustrlen(o) > 40 ? "..." : "");
}

/* Whether RET and ENVID go with MAIL: unless every recipient is at the
 * last hop (Exim's smtp transport, dsn_all_lasthop). */
static int dsn_any(const job *j, const int *idx, int k)
{
	for (int i = 0; i < k; i++)
		if (!(j->addr[idx[i]]->dsn_flags & rf_dsnlasthop))
			return 1;
	return 0;
}

/* ENVID decoded from Exim's xtext, if usable (printable ASCII, at most
 * 100 bytes, as the library requires); else NULL. */
const char *tr_exim_envid_plain(void)
{
	uschar *plain = NULL;
	int n;

	if (dsn_envid == NULL || (n = xtextdecode(dsn_envid, &plain)) < 0 || n > 100)
		return NULL;
	for (int i = 0; i < n; i++)
		if (plain[i] < 0x21 || plain[i] > 0x7e)
			return NULL;
	return CS plain;
}

/* The context of an in-process delivery, read once per call: 0, or -1
 * with *st. */
static int job_ctx(job *j, tlsrelay_status *st)
{
	if (j->ctx != NULL)
		return 0;
	if ((j->ctx = ctx_get(j->ob, CCS j->config, st)) == NULL)
		return -1;
	tlsrelay_ctx_set_logger(j->ctx, log_line, NULL, IS_DEBUG(transport) ? 2 : 0);
	/* the queue ID of the TLS history (Exim's IDs are letters, digits, '-') */
	if (message_id != NULL && tlsrelay_ctx_set_log_id(j->ctx, CCS message_id, st) != TLSRELAY_OK)
		DEBUG(transport) debug_printf("tlsrelay: message ID not recorded: %s\n", st->text);
	if ((j->helo != NULL && tlsrelay_ctx_set(j->ctx, "helo_name", CCS j->helo, st) != TLSRELAY_OK) ||
	    (j->relayhost != NULL && tlsrelay_ctx_set(j->ctx, "relayhost", CCS j->relayhost, st) != TLSRELAY_OK)) {
		/* the library names the setting; say which option it came from */
		tlsrelay_status o;
		exim_status_set(&o, st->cat, st->dsn, CS string_sprintf("%s transport: %s",
		           j->tblock->drinst.name, st->text));
		*st = o;
		ctx_put(j->ob, j->ctx);
		j->ctx = NULL;
		return -1;
	}
	return 0;
}

/* Settle the addresses at idx[0..k) with their recipients' statuses. */
static void settle_batch(job *j, const int *idx, int k, const tlsrelay_rcpt *rcpts)
{
	for (int i = 0, delivered = 0; i < k; i++) {
		settle(j->addr[idx[i]], &rcpts[i].status, rcpts[i].dsn_aware);
		/* Exim logs "=>" for the first address of a transaction that was
		 * delivered, "->" for the others */
		if (j->addr[idx[i]]->transport_return == OK && delivered++ > 0)
			j->addr[idx[i]]->special_action = '-';
		j->addr[idx[i]] = NULL;
	}
}

/* One SMTP transaction in this process: the recipients rcpts[0..k),
 * each with its DSN parameters; dsn: RET and ENVID too (dsn_any). */
static void deliver_here(job *j, tlsrelay_rcpt *rcpts, int k, int dsn)
{
	tlsrelay_request req = { 0 };
	tlsrelay_status st;
	tlsrelay_message *msg;
	int fd;

	tr_rcpts_unsettled(rcpts, (size_t)k);
	if (job_ctx(j, &st) < 0 || (fd = tr_exim_write_message(j, &st)) < 0)
		goto out;
	msg = tlsrelay_message_spool(j->ctx, fd, &st);
	close(fd);
	if (msg == NULL)
		goto out;
	req.sender = CS return_path;
	req.ret = !dsn ? NULL : dsn_ret == dsn_ret_hdrs ? "HDRS" : dsn_ret == dsn_ret_full ? "FULL" : NULL;
	req.envid = dsn ? tr_exim_envid_plain() : NULL;
	req.rcpts = rcpts;
	req.nrcpts = (size_t)k;
	tlsrelay_deliver(j->ctx, &req, msg, &st);
	tlsrelay_message_free(msg);
out:
	/* A recipient the library left unset, or every one when the whole
	 * request failed before sending (configuration, memory, spool), takes
	 * the request's reason. */
	tr_rcpts_settle(rcpts, (size_t)k, &st);
}

/* One SMTP transaction: the addresses at idx[0..k), each with its DSN
 * parameters, through tlsrelayd when daemon_socket says so
 * (deliver_via_daemon), else here. */
static void deliver_batch(job *j, const int *idx, int k)
{
	tlsrelay_rcpt *rcpts = store_get(k * sizeof *rcpts, GET_UNTAINTED);
	int dsn = dsn_any(j, idx, k);

	for (int i = 0; i < k; i++) {
		rcpts[i].addr = CS transport_rcpt_address(j->addr[idx[i]],
		                                          j->tblock->rcpt_include_affixes);
		rcpt_dsn(j->addr[idx[i]], &rcpts[i]);
	}
	if (j->in_process || !tr_exim_deliver_via_daemon(j, rcpts, k, dsn))
		deliver_here(j, rcpts, k, dsn);
	settle_batch(j, idx, k, rcpts);
}

/* Every address not yet settled, in transactions of at most max_rcpt
 * recipients (whatever their DSN parameters: each RCPT has its own). */
static void deliver_all(job *j)
{
	int *idx = store_get(j->n * sizeof *idx, GET_UNTAINTED);

	for (int first = 0; first < j->n; first++) {
		int k = 0;

		if (j->addr[first] == NULL)
			continue;
		for (int i = first; i < j->n && k < j->max_rcpt; i++)
			if (j->addr[i] != NULL)
				idx[k++] = i;
		deliver_batch(j, idx, k);
	}
}

/* Refuse what tlsrelay must not send: an address routed to hosts by its
 * router, a bad envelope address. Settles those. */
static void refuse_unsendable(job *j)
{
	tlsrelay_status st;

	if (tlsrelay_check_address(CS return_path, 1, &st) != TLSRELAY_OK) {
		settle_all(j, &st);
		return;
	}
	for (int i = 0; i < j->n; i++) {
		address_item *a = j->addr[i];
		if (a->host_list != NULL) {
			exim_status_set(&st, TLSRELAY_CONFIG, "4.3.5", CS string_sprintf(
			           "router %s set a host list (%s...), but the %s transport chooses "
			           "the destination itself (relayhost or MX): route with \"driver = "
			           "accept\" or set relayhost", a->router ? a->router->drinst.name
			           : US"?", a->host_list->name, j->tblock->drinst.name));
		} else if (tlsrelay_check_address(CS transport_rcpt_address(a,
		           j->tblock->rcpt_include_affixes), 0, &st) == TLSRELAY_OK)
			continue;
		settle(a, &st, -1);
		j->addr[i] = NULL;
	}
}

/* The options, expanded: -1 after settling every address. Without
 * daemon_socket the context is read now (a configuration error defers
 * every address before anything else); with it, only when a delivery
 * falls back to this process. */
static int job_setup(job *j)
{
	tlsrelay_transport_options_block *ob = j->ob;
	tlsrelay_status st;

	if (expand_opt(j, "config", ob->config, &j->config) < 0 ||
	    expand_opt(j, "daemon_socket", ob->daemon_socket, &j->sock) < 0 ||
	    expand_opt(j, "relayhost", ob->relayhost, &j->relayhost) < 0 ||
	    expand_opt(j, "helo_data", ob->helo_data, &j->helo) < 0)
		return -1;
	j->helo_set = ob->helo_data != tlsrelay_transport_option_defaults.helo_data;
	if (j->config != NULL && is_tainted(j->config)) {
		exim_status_set(&st, TLSRELAY_CONFIG, "4.3.5", CS string_sprintf(
		           "%s transport: config \"%s\" is tainted (comes from the message)",
		           j->tblock->drinst.name, j->config));
		settle_all(j, &st);
		return -1;
	}
	if (j->sock != NULL && is_tainted(j->sock)) {
		exim_status_set(&st, TLSRELAY_CONFIG, "4.3.5", CS string_sprintf(
		           "%s transport: daemon_socket \"%s\" is tainted (comes from the message)",
		           j->tblock->drinst.name, j->sock));
		settle_all(j, &st);
		return -1;
	}
	j->in_process = j->sock == NULL;
	if (j->in_process && job_ctx(j, &st) < 0) {
		settle_all(j, &st);
		return -1;
	}
	return 0;
}

/* The entry point: settles every address of addrlist; TRUE (each address
 * has its own result). */
static BOOL tlsrelay_transport_entry(transport_instance *tblock, address_item *addrlist)
{
	job j = { .tblock = tblock, .ob = tblock->drinst.options_block, .addrlist = addrlist };
	int i = 0;

	for (address_item *a = addrlist; a; a = a->next)
		j.n++;
	j.addr = store_get(j.n * sizeof *j.addr, GET_UNTAINTED);
	for (address_item *a = addrlist; a; a = a->next) {
		a->transport_return = DEFER;   /* until settled */
		j.addr[i++] = a;
	}
	j.max_rcpt = expand_max_rcpt(tblock->max_addresses);
	DEBUG(transport) debug_printf("%s transport entered: %d address(es), max_rcpt %d\n",
	                              tblock->drinst.name, j.n, j.max_rcpt);
	refuse_unsendable(&j);
	for (i = 0; i < j.n && j.addr[i] == NULL; i++)
		;
	if (i == j.n)
		return TRUE;
	if (job_setup(&j) < 0)
		return TRUE;
	deliver_all(&j);
	if (j.ctx != NULL) {
		(void)tlsrelay_ctx_set_log_id(j.ctx, NULL, NULL);
		ctx_put(j.ob, j.ctx);
	}
	return TRUE;
}

/* --------------------------------------------------- what Exim loads */

transport_info _transport_info = {
	.drinfo = {
		.driver_name = US DRIVER,
		.options = tlsrelay_transport_options,
		.options_count = &tlsrelay_transport_options_count,
		.options_block = &tlsrelay_transport_option_defaults,
		.options_len = sizeof(tlsrelay_transport_options_block),
		.init = tlsrelay_transport_init,
		.dyn_magic = TRANSPORT_MAGIC,
	},
	.code = tlsrelay_transport_entry,
	.tidyup = NULL,
	.closedown = NULL,
	.local = FALSE,
};
