/*
 * test_ctx_warm.c - tlsrelay_ctx_prepare() and tlsrelay_ctx_changed()
 * (lib/ctx_warm.c), which tlsrelayd relies on to notice edited files:
 * every watched file, each kind of change (contents, mtime only, a new
 * file renamed over, a chmod, removal), and the errors prepare reports.
 */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "tlsrelay.h"
#include "tap.h"

static char tmpdir[64];
static char conf[256], policy[256], sasl[256], ca[256], rules[256];

static int put(const char *path, const char *text, mode_t mode)
{
	char tmp[300];
	int fd;

	snprintf(tmp, sizeof tmp, "%s.new", path);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, mode)) < 0)
		return -1;
	if (write(fd, text, strlen(text)) != (ssize_t)strlen(text) || close(fd) < 0)
		return -1;
	(void)chmod(tmp, mode);
	return rename(tmp, path);
}

static char *slurp(const char *path)
{
	static char buf[65536];
	FILE *fp = fopen(path, "r");
	size_t n;

	if (fp == NULL)
		return NULL;
	n = fread(buf, 1, sizeof buf - 1, fp);
	buf[n] = '\0';
	fclose(fp);
	return buf;
}

/* Set path's mtime to a fixed past time (a change of the mtime alone). */
static void set_mtime(const char *path, time_t t)
{
	struct timespec ts[2] = { { t, 0 }, { t, 0 } };

	(void)utimensat(AT_FDCWD, path, ts, 0);
}

static void write_all(const char *level)
{
	char text[2048];

	snprintf(text, sizeof text,
	         "relayhost = [127.0.0.1]:2525\ntls_security_level = %s\ntls_ca_file = %s\n"
	         "tls_policy_map = %s\nsasl_password_map = %s\nmessage_rules = %s\n"
	         "syslog = no\n", level, ca, policy, sasl, rules);
	if (put(conf, text, 0644) < 0 || put(policy, "example.test encrypt\n", 0644) < 0 ||
	    put(sasl, "[127.0.0.1]:2525 user:secret\n", 0600) < 0 ||
	    put(rules, "to example.test encrypt\n", 0644) < 0) {
		perror("write_all");
		exit(99);
	}
}

/* A context configured from conf and prepared; NULL (and a failed check)
 * on error. */
static tlsrelay_ctx *prepared(const char *name)
{
	tlsrelay_ctx *ctx = tlsrelay_ctx_new();
	tlsrelay_status st;
	int ok = ctx && tlsrelay_ctx_configure(ctx, conf, NULL, 0, &st) == TLSRELAY_OK &&
	         tlsrelay_ctx_prepare(ctx, &st) == TLSRELAY_OK;

	tap_ok(ok, name, ok ? "" : st.text);
	if (!ok) {
		tlsrelay_ctx_free(ctx);
		return NULL;
	}
	return ctx;
}

/* TAP_STR through a function (see testutil.h: -Wformat-truncation). */
static void check_str(const char *got, const char *want, const char *name)
{
	TAP_STR(got, want, name);
}

static void check_changed(tlsrelay_ctx *ctx, const char *want, const char *name)
{
	check_str(ctx ? tlsrelay_ctx_changed(ctx) : "(no context)", want, name);
}

static void changes(void)
{
	tlsrelay_ctx *ctx;

	tap_expect(7 + 9);          /* seven contexts prepared, nine changes */
	write_all("may");
	set_mtime(conf, 1000000000);
	ctx = prepared("prepare: configuration, CA file, maps");
	check_changed(ctx, NULL, "nothing changed: NULL");
	check_changed(ctx, NULL, "asked again: still NULL");
	set_mtime(conf, 1000000001);
	check_changed(ctx, "configuration", "configuration file: mtime alone");
	tlsrelay_ctx_free(ctx);

	ctx = prepared("prepare again");
	write_all("encrypt");
	check_changed(ctx, "configuration", "configuration file rewritten (renamed over)");
	tlsrelay_ctx_free(ctx);

	ctx = prepared("prepare, policy map");
	(void)put(policy, "example.test verify\n", 0644);
	check_changed(ctx, "tls_policy_map", "policy map renamed over");
	tlsrelay_ctx_free(ctx);

	ctx = prepared("prepare, SASL map");
	(void)chmod(sasl, 0640);
	check_changed(ctx, "sasl_password_map", "SASL map chmod (ctime)");
	(void)chmod(sasl, 0600);
	tlsrelay_ctx_free(ctx);

	ctx = prepared("prepare, message rules");
	(void)put(rules, "to example.test verify\n", 0644);
	check_changed(ctx, "message_rules", "message rules renamed over");
	tlsrelay_ctx_free(ctx);

	ctx = prepared("prepare, CA file");
	(void)put(ca, slurp(ca) ? slurp(ca) : "", 0644);
	check_changed(ctx, "tls_ca_file", "CA file replaced with the same contents");
	tlsrelay_ctx_free(ctx);

	ctx = prepared("prepare, policy map removed");
	(void)unlink(policy);
	check_changed(ctx, "tls_policy_map", "policy map removed");
	tlsrelay_ctx_free(ctx);
	write_all("may");
}

static void errors(void)
{
	tlsrelay_ctx *ctx = tlsrelay_ctx_new();
	tlsrelay_status st;
	char *pem = strdup(slurp(ca) ? slurp(ca) : "");

	tap_expect(4 * 3);          /* four contexts, three checks each */
	(void)put(policy, "example.test bogus-level\n", 0644);
	TAP_INT(tlsrelay_ctx_configure(ctx, conf, NULL, 0, &st), TLSRELAY_OK, "configure with a bad map");
	TAP_INT(tlsrelay_ctx_prepare(ctx, &st), TLSRELAY_CONFIG, "prepare: a bad policy map is CONFIG");
	tap_ok(strstr(st.text, "tls_policy_map") != NULL, "... and names tls_policy_map", st.text);
	tlsrelay_ctx_free(ctx);
	write_all("may");

	(void)put(rules, "to example.test strongest\n", 0644);
	ctx = tlsrelay_ctx_new();
	TAP_INT(tlsrelay_ctx_configure(ctx, conf, NULL, 0, &st), TLSRELAY_OK, "configure with bad rules");
	TAP_INT(tlsrelay_ctx_prepare(ctx, &st), TLSRELAY_CONFIG, "prepare: bad message rules are CONFIG");
	tap_ok(strncmp(st.text, "message_rules ", 14) == 0 && strstr(st.text, ":1: unknown level") != NULL,
	       "... named message_rules, with the line", st.text);
	tlsrelay_ctx_free(ctx);
	write_all("may");

	(void)put(ca, "not a certificate\n", 0644);
	ctx = tlsrelay_ctx_new();
	TAP_INT(tlsrelay_ctx_configure(ctx, conf, NULL, 0, &st), TLSRELAY_OK, "configure with a bad CA file");
	TAP_INT(tlsrelay_ctx_prepare(ctx, &st), TLSRELAY_CONFIG, "prepare: an unparsable CA file is CONFIG");
	tap_ok(strstr(st.text, "tls_ca_file") != NULL, "... and names tls_ca_file", st.text);
	tlsrelay_ctx_free(ctx);
	(void)put(ca, pem, 0644);
	free(pem);

	ctx = tlsrelay_ctx_new();
	TAP_INT(tlsrelay_ctx_configure(ctx, conf, NULL, 0, &st), TLSRELAY_OK, "configure, never prepared");
	check_changed(ctx, NULL, "not prepared: the configuration file is watched from its read");
	set_mtime(conf, 1000000002);
	check_changed(ctx, "configuration", "not prepared: configuration change seen");
	tlsrelay_ctx_free(ctx);
}

int main(void)
{
	const char *top = getenv("top_srcdir");
	char src[512];
	char *pem;

	snprintf(tmpdir, sizeof tmpdir, "/tmp/test_ctx_warm.XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return 99;
	snprintf(src, sizeof src, "%s/tests/certs/ca.pem", top ? top : ".");
	if ((pem = slurp(src)) == NULL) {
		printf("Bail out! cannot read %s\n", src);
		return 99;
	}
	snprintf(conf, sizeof conf, "%s/tlsrelay.conf", tmpdir);
	snprintf(policy, sizeof policy, "%s/tls_policy", tmpdir);
	snprintf(sasl, sizeof sasl, "%s/sasl_passwd", tmpdir);
	snprintf(ca, sizeof ca, "%s/ca.pem", tmpdir);
	snprintf(rules, sizeof rules, "%s/message_rules", tmpdir);
	if (put(ca, pem, 0644) < 0)
		return 99;
	changes();
	errors();
	unlink(conf);
	unlink(policy);
	unlink(sasl);
	unlink(ca);
	unlink(rules);
	rmdir(tmpdir);
	return tap_done();
}
