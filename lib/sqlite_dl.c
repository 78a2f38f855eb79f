/*
 * sqlite_dl.c - SQLite loaded with dlopen on first use (see sqlite_dl.h).
 */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "dynload.h"
#include "sqlite_dl.h"

#define SQLITE_SONAME "libsqlite3.so.0"
#define SQLITE_MIN_VERSION 3024000       /* 3.24.0: INSERT ... ON CONFLICT DO UPDATE */

struct tr_sqlite_api tr_sq;

static tr_dynlib sqlite_lib = { SQLITE_SONAME, 0, "" };

tlsrelay_cat tr_sqlite_load(tlsrelay_status *st)
{
	static const tr_dynsym syms[] = {
		{ "sqlite3_libversion_number", &tr_sq.libversion_number },
		{ "sqlite3_open_v2", &tr_sq.open_v2 },
		{ "sqlite3_busy_handler", &tr_sq.busy_handler },
		{ "sqlite3_busy_timeout", &tr_sq.busy_timeout },
		{ "sqlite3_exec", &tr_sq.exec },
		{ "sqlite3_errmsg", &tr_sq.errmsg },
		{ "sqlite3_extended_errcode", &tr_sq.extended_errcode },
		{ "sqlite3_close", &tr_sq.close },
		{ "sqlite3_prepare_v2", &tr_sq.prepare_v2 },
		{ "sqlite3_bind_text", &tr_sq.bind_text },
		{ "sqlite3_bind_int64", &tr_sq.bind_int64 },
		{ "sqlite3_bind_null", &tr_sq.bind_null },
		{ "sqlite3_step", &tr_sq.step },
		{ "sqlite3_reset", &tr_sq.reset },
		{ "sqlite3_clear_bindings", &tr_sq.clear_bindings },
		{ "sqlite3_column_text", &tr_sq.column_text },
		{ "sqlite3_column_int64", &tr_sq.column_int64 },
		{ "sqlite3_finalize", &tr_sq.finalize },
		{ "sqlite3_changes", &tr_sq.changes },
		{ "sqlite3_db_readonly", &tr_sq.db_readonly },
		{ "sqlite3_db_config", &tr_sq.db_config },
		{ "sqlite3_wal_hook", &tr_sq.wal_hook },
		{ "sqlite3_wal_checkpoint_v2", &tr_sq.wal_checkpoint_v2 },
	};
	int first = sqlite_lib.state == 0;
	char why[sizeof sqlite_lib.err];
	int v;

	if (tr_dynload(&sqlite_lib, syms, sizeof syms / sizeof syms[0], st) != TLSRELAY_OK || !first)
		return st->cat;
	if ((v = tr_sq.libversion_number()) < SQLITE_MIN_VERSION) {
		snprintf(why, sizeof why, "%s is version %d.%d.%d, 3.24.0 or later is needed",
		         SQLITE_SONAME, v / 1000000, v / 1000 % 1000, v % 1000);
		tr_dynload_refuse(&sqlite_lib, why);
	}
	return tr_dynload(&sqlite_lib, syms, 0, st);
}

int tr_sqlite_create_for_owner(const char *path, unsigned mode, char *err, size_t cap)
{
	char dir[4096];
	struct stat sb;
	int fd;

	if (geteuid() != 0 || lstat(path, &sb) == 0 || errno != ENOENT)
		return 0;                    /* not root, or there: SQLite decides */
	snprintf(dir, sizeof dir, "%s", path);
	if (stat(dirname(dir), &sb) < 0 || sb.st_uid == 0)
		return 0;                    /* root's directory: root's file */
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, (mode_t)mode);
	if (fd < 0 && errno == EEXIST)
		return 0;                    /* made meanwhile by another process */
	if (fd < 0) {
		char user[TR_AS_USER_MAX];
		snprintf(err, cap, "%.200s: cannot create: %s%s", path, strerror(errno), tr_as_user(user));
		return -1;
	}
	if (fchown(fd, sb.st_uid, sb.st_gid) < 0) {
		snprintf(err, cap, "%.200s: cannot give it to uid %ld: %s", path,
		         (long)sb.st_uid, strerror(errno));
		close(fd);
		unlink(path);
		return -1;
	}
	close(fd);
	return 0;
}
