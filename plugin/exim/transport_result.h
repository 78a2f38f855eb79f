/*
 * transport_result.h - what a recipient's tlsrelay_status means to Exim:
 * the one translation of the library's statuses for the tlsrelay transport
 * module (tlsrelay_transport.c). Pure: no Exim header, no I/O, so that
 * tests/unit/test_exim_result.c checks it table by table (also under the
 * sanitizers, which Exim's loading of the module cannot run).
 *
 *   category                    Exim result   pass to the sender (bounce)
 *   OK                          OK            -
 *   PERM, DATAERR               FAIL          yes (the server's words, or
 *                                             why the message cannot go)
 *   USAGE with a 5.x.x DSN      FAIL          yes (a bad address)
 *   TEMP                        DEFER         yes (the server's words)
 *   USAGE otherwise, CONFIG,    DEFER         no: the reason names local
 *   INTERNAL                                  files; it stays in the log
 *
 * For DEFER, the kind of error for Exim's retry rules, read from the
 * documented reason texts (doc/TROUBLESHOOTING.md):
 *   "host H said: 4NN ... (in reply to RCPT TO command)"  -> RCPT_4XX
 *   "... (in reply to MAIL FROM command)"                 -> MAIL_4XX
 *   "... (in reply to DATA command)", "... end of DATA
 *   command)", "... BDAT ...)", "... end of data ...)"     -> DATA_4XX
 *   with code4 = the code's last two digits (450 -> 50), as Exim keeps it
 *   for rules such as "rcpt_45x"
 *   a 4.7.x DSN (TLS required, verification, DANE,
 *   MTA-STS, the X-TLSRelay-Require header, AUTH)          -> TLS
 *   anything else                                          -> NONE (rules
 *                                                             for "*" match)
 */
#ifndef TR_EXIM_TRANSPORT_RESULT_H
#define TR_EXIM_TRANSPORT_RESULT_H

#include "tlsrelay.h"

typedef enum tr_exim_rc {
	TR_EXIM_OK,
	TR_EXIM_DEFER,
	TR_EXIM_FAIL
} tr_exim_rc;

typedef enum tr_exim_err {
	TR_EXIM_ERR_NONE,
	TR_EXIM_ERR_RCPT4XX,
	TR_EXIM_ERR_MAIL4XX,
	TR_EXIM_ERR_DATA4XX,
	TR_EXIM_ERR_TLS
} tr_exim_err;

typedef struct tr_exim_result {
	tr_exim_rc rc;
	tr_exim_err err;        /* DEFER only */
	int code4;              /* RCPT/MAIL/DATA_4XX: code - 400, else 0 */
	int pass;               /* the text may go to the sender */
} tr_exim_result;

/* The result for one recipient's status. Never fails. */
void tr_exim_result_of(const tlsrelay_status *st, tr_exim_result *out);

/* Name of rc ("ok", "defer", "fail") and of err ("none", "rcpt_4xx",
 * "mail_4xx", "data_4xx", "tls"), for debug output and tests. */
const char *tr_exim_rc_name(tr_exim_rc rc);
const char *tr_exim_err_name(tr_exim_err err);

#endif
