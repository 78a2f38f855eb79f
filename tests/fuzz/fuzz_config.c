/*
 * fuzz_config.c - libFuzzer target: the configuration file parser
 * (tr_config_load in settings.c).
 *
 * The input is a whole tlsrelay.conf, read through a memfd. Checked: the
 * load is all or nothing (on error the settings are exactly the defaults
 * the target started with), an error is TLSRELAY_CONFIG/4.3.5 (or
 * INTERNAL) with a printable "file:line: reason" text; after a success the
 * values are within their documented ranges. Leaks show up in ASan.
 */
#include "config.h"
#include "fuzz.h"
#include "settings.h"

static int same_defaults(const tr_config *a, const tr_config *b)
{
	return a->relayhost == NULL && a->helo_name == NULL && a->tls_ca_file == NULL &&
	       a->tls_ca_path == NULL && a->dns_resolver == NULL &&
	       a->spool_directory == NULL && a->tls_policy_map == NULL &&
	       a->sasl_password_map == NULL && a->tls_level == b->tls_level &&
	       a->connect_timeout == b->connect_timeout &&
	       a->command_timeout == b->command_timeout &&
	       a->data_timeout == b->data_timeout && a->deadline == b->deadline &&
	       a->mx_address_limit == b->mx_address_limit &&
	       a->mx_session_limit == b->mx_session_limit &&
	       a->use_syslog == b->use_syslog;
}

static void check_ranges(const tr_config *c)
{
	fuzz_check(c->connect_timeout >= 1 && c->connect_timeout <= 3600, "connect_timeout");
	fuzz_check(c->command_timeout >= 1 && c->command_timeout <= 3600, "command_timeout");
	fuzz_check(c->data_timeout >= 1 && c->data_timeout <= 3600, "data_timeout");
	fuzz_check(c->deadline >= 10 && c->deadline <= 86400, "deadline");
	fuzz_check(c->mx_address_limit >= 1 && c->mx_address_limit <= 50, "mx_address_limit");
	fuzz_check(c->mx_session_limit >= 1 && c->mx_session_limit <= 10, "mx_session_limit");
	fuzz_check(c->use_syslog == 0 || c->use_syslog == 1, "syslog");
	fuzz_check(c->message_size_limit >= 0 && c->message_size_limit <= 1073741824, "message_size_limit");
	fuzz_check(!c->tls_ca_file || c->tls_ca_file[0] == '/', "tls_ca_file absolute");
	fuzz_check(!c->tls_ca_path || c->tls_ca_path[0] == '/', "tls_ca_path absolute");
	fuzz_check(!c->spool_directory || c->spool_directory[0] == '/', "spool_directory absolute");
	fuzz_check(!c->tls_policy_map || c->tls_policy_map[0] == '/', "tls_policy_map absolute");
	fuzz_check(!c->sasl_password_map || c->sasl_password_map[0] == '/', "sasl_password_map absolute");
	fuzz_check(!c->relayhost || fuzz_printable(c->relayhost), "relayhost printable");
	fuzz_check(!c->helo_name || fuzz_printable(c->helo_name), "helo_name printable");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path = fuzz_file(data, size, 0644);
	tr_config cfg, def;
	tlsrelay_status st;
	tlsrelay_cat rc;

	tr_config_init(&def);
	tr_config_init(&cfg);
	rc = tr_config_load(&cfg, path, 1, &st);
	if (rc == TLSRELAY_OK) {
		check_ranges(&cfg);
	} else {
		fuzz_check(rc == TLSRELAY_CONFIG || rc == TLSRELAY_INTERNAL, "error category");
		fuzz_check(rc != TLSRELAY_CONFIG || strcmp(st.dsn, "4.3.5") == 0, "error dsn");
		fuzz_check(fuzz_printable(st.text) && st.text[0] != '\0', "error text");
		fuzz_check(same_defaults(&cfg, &def), "all or nothing");
	}
	tr_config_free(&cfg);
	tr_config_free(&def);
	return 0;
}
