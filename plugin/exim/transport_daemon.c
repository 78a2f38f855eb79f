/*
 * transport_daemon.c - the Exim transport module's delivery through
 * tlsrelayd (the daemon_socket option, tlsrelay-exim-transport(5)): one
 * SMTP transaction handed to the daemon, each recipient's result read
 * back. The group, the options and the in-process delivery are
 * tlsrelay_transport.c's.
 *
 * Decisions:
 * - daemon_socket (issue 17): the transaction goes to tlsrelayd as
 *   tlsrelayc's would (lib/daemon_client.h, lib/trd_proto.h): the
 *   command line "tlsrelay -P [-c CONFIG] -Q MSGID -f SENDER [-D ...]
 *   [-R -V] -- RCPT...", the message (written as for an in-process delivery, at
 *   offset 0) as descriptor 0, a memory file for the result as 1,
 *   /dev/null as 2. -P makes the delivery write one line per recipient
 *   (lib/rcpt_result.h), read back into the same statuses an in-process
 *   delivery gives and settled by the same code (transport_result.c):
 *   =>, == and ** with the same texts and retry items. The daemon serves
 *   only its own configuration file; a client cannot lower anything.
 * - When the daemon ran nothing (no socket, refused, nothing accepted, or
 *   "not served": another config, relayhost or an explicit helo_data,
 *   sent as -r / -o, which the daemon does not take from a client), the
 *   transaction is delivered in this process as without daemon_socket,
 *   and so is the rest of the call; one line in the main log says why
 *   ("tlsrelay: tlsrelayd at SOCK: ...: delivering in this process"). A
 *   missing daemon never holds mail back.
 * - Once the request is sent, any doubt defers every address of the
 *   transaction (no reply: the daemon and its delivery process killed,
 *   no reply within twice the deadline plus a minute, an unreadable or
 *   malformed reply, the daemon's own reply for a dead delivery process):
 *   at worst sent twice, never lost, never delivered again in this
 *   process.
 * - Through the daemon, the EHLO name is the daemon's (its tlsrelay.conf
 *   helo_name, else its host name): helo_data's default
 *   ($primary_hostname) is not sent; a helo_data set in the transport is
 *   (and makes the delivery run here). tlsrelay's own log lines are the
 *   daemon's (its syslog, with Exim's message ID as the queue ID); Exim's
 *   main log has each address's result.
 * - Each recipient's DSN parameters (NOTIFY, ORCPT: tlsrelay_transport.c
 *   rcpt_dsn) go as tlsrelay -D, once per recipient in their order, when
 *   any recipient has one (none of them: no -D, the command line of
 *   before); the daemon's delivery sends the RCPT lines an in-process
 *   delivery sends. No -N: each -D gives its recipient's NOTIFY.
 */
#include "transport_job.h"
#include <fcntl.h>

/* -D for each recipient, in their order, when any has a NOTIFY or an
 * ORCPT ("NOTIFY=... ORCPT=...", "" for none: tlsrelay(8)); into v at n,
 * the new n. */
static int daemon_argv_dsn(char **v, int n, const tlsrelay_rcpt *rcpts, int k)
{
	int any = 0;

	for (int i = 0; i < k; i++)
		any |= rcpts[i].notify != NULL || rcpts[i].orcpt != NULL;
	for (int i = 0; any && i < k; i++) {
		v[n++] = "-D";
		v[n++] = CS string_sprintf("%s%s%s%s%s", rcpts[i].notify ? "NOTIFY=" : "",
		                           rcpts[i].notify ? rcpts[i].notify : "",
		                           rcpts[i].notify && rcpts[i].orcpt ? " " : "",
		                           rcpts[i].orcpt ? "ORCPT=" : "",
		                           rcpts[i].orcpt ? rcpts[i].orcpt : "");
	}
	return n;
}

/* tlsrelay's command line for the recipients rcpts[0..k) (tlsrelay(8)):
 * -P (a result line per recipient), the configuration, Exim's message ID,
 * the envelope, each recipient's DSN (-D); relayhost and an explicit
 * helo_data as -r and -o, which the daemon does not serve (the delivery
 * then runs here, with them). */
static char **daemon_argv(job *j, const tlsrelay_rcpt *rcpts, int k, int dsn, int *argc)
{
	char **v = store_get((3 * k + 24) * sizeof *v, GET_UNTAINTED);
	int n = 0;
	const char *envid = dsn ? tr_exim_envid_plain() : NULL;

	v[n++] = "tlsrelay";
	v[n++] = "-P";
	if (j->config != NULL)
		v[n++] = "-c", v[n++] = CS j->config;
	if (message_id != NULL && *message_id)
		v[n++] = "-Q", v[n++] = CS message_id;
	v[n++] = "-f", v[n++] = return_path && *return_path ? CS return_path : "<>";
	n = daemon_argv_dsn(v, n, rcpts, k);
	if (dsn && (dsn_ret == dsn_ret_hdrs || dsn_ret == dsn_ret_full))
		v[n++] = "-R", v[n++] = dsn_ret == dsn_ret_hdrs ? "HDRS" : "FULL";
	if (envid != NULL)
		v[n++] = "-V", v[n++] = (char *)envid;
	if (j->relayhost != NULL)
		v[n++] = "-r", v[n++] = CS j->relayhost;
	if (j->helo != NULL && j->helo_set)
		v[n++] = "-o", v[n++] = CS string_sprintf("helo_name=%s", j->helo);
	v[n++] = "--";
	for (int i = 0; i < k; i++)
		v[n++] = (char *)rcpts[i].addr;
	v[n] = NULL;
	*argc = n;
	return v;
}

/* How long to wait for tlsrelayd's reply: the delivery's own deadline
 * (the prepared context's, else tlsrelay's default 600 s) twice, for a
 * wait in the daemon's queue, plus a minute. */
static int daemon_wait(const job *j)
{
	const struct warm *w = j->ob->warm;

	return 2 * (w != NULL ? tlsrelay_ctx_deadline(w->ctx) : 600) + 60;
}

/* The result descriptor's content (what the delivery printed) into *out;
 * its length, or -1 (then *out is unchanged). */
static ssize_t read_result(int fd, int k, char **out)
{
	size_t cap = (size_t)(k + 4) * TR_RCPT_LINE_MAX + 1, have = 0;
	char *buf = store_get(cap, GET_UNTAINTED);
	ssize_t n;

	if (lseek(fd, 0, SEEK_SET) != 0)
		return -1;
	while (have < cap && (n = read(fd, buf + have, cap - have)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		have += (size_t)n;
	}
	*out = buf;
	return (ssize_t)have;
}

/* Once per call: why the delivery runs in this process after all. */
static void fall_back(job *j, const tlsrelay_status *st)
{
	log_write(LOG_MAIN, "tlsrelay: %s: delivering in this process", st->text);
	j->in_process = 1;
}

int tr_exim_deliver_via_daemon(job *j, tlsrelay_rcpt *rcpts, int k, int dsn)
{
	int fds[3] = { -1, -1, -1 }, argc, settled = 1;
	char **argv = daemon_argv(j, rcpts, k, dsn, &argc), *out = NULL;
	tr_daemon_reply reply;
	tlsrelay_status st;
	ssize_t len;

	if ((fds[0] = tr_exim_write_message(j, &st)) < 0 ||
	    tlsrelay_spool_fd(CS spool_directory, 0, &fds[1], &st) != TLSRELAY_OK ||
	    (fds[2] = open("/dev/null", O_WRONLY | O_CLOEXEC)) < 0) {
		if (fds[0] >= 0 && fds[1] >= 0)
			exim_status_set(&st, TLSRELAY_TEMP, "4.3.0", CS string_sprintf(
			                "cannot open /dev/null: %s", strerror(errno)));
		tr_rcpts_unsettled(rcpts, (size_t)k);
		tr_rcpts_settle(rcpts, (size_t)k, &st);
		goto out;
	}
	DEBUG(transport) debug_printf("tlsrelay: handing %d recipient(s) to tlsrelayd at %s\n",
	                              k, j->sock);
	switch (tr_daemon_deliver(CCS j->sock, argc, argv, fds, daemon_wait(j), &reply, &st)) {
	case TR_DAEMON_UNREACHABLE:
	case TR_DAEMON_NOT_SERVED:
		fall_back(j, &st);
		settled = 0;
		break;
	case TR_DAEMON_LOST:
		tr_rcpts_unsettled(rcpts, (size_t)k);
		tr_rcpts_settle(rcpts, (size_t)k, &st);
		break;
	case TR_DAEMON_REPLIED:
		if ((len = read_result(fds[1], k, &out)) < 0) {
			exim_status_set(&st, TLSRELAY_TEMP, "4.3.0", CS string_sprintf("cannot read "
			                "the result of tlsrelayd's delivery: %s: delivery status unknown",
			                strerror(errno)));
			tr_rcpts_unsettled(rcpts, (size_t)k);
			tr_rcpts_settle(rcpts, (size_t)k, &st);
			break;
		}
		if (tr_rcpt_results_read(out, (size_t)len, reply.status, reply.line, rcpts,
		                         (size_t)k, &st) != TLSRELAY_OK)
			log_write(LOG_MAIN, "tlsrelay: %s", st.text);
		DEBUG(transport) debug_printf("tlsrelay: tlsrelayd: exit status %d%s%s\n",
		                              reply.status, reply.line[0] ? ", " : "", reply.line);
		break;
	}
out:
	for (int i = 0; i < 3; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	return settled;
}
