/*
 * tls_cache.c - on-disk TLS client session cache shared by concurrent
 * tlsrelay processes. See tls_cache.h for the layout, the key and the
 * decisions.
 *
 * Why one file per slot and rename(2) rather than one file with fcntl
 * locks: no lock is ever waited for (a slow or killed process cannot stall
 * the others), a reader never sees a partial entry, and the size bound
 * needs no bookkeeping. The cost is two system calls more per store
 * (create + rename) than an in-place write.
 *
 * A process killed between creating its temporary file and renaming it can
 * leave one "tmp.PID.N" behind; the next process with that PID removes it
 * when it collides with it (O_EXCL fails with EEXIST).
 *
 * The memo: a process keeps the last entry it wrote or decoded, its bytes
 * and the SSL_SESSION they decode to. A tlsrelayd delivery process serves
 * many deliveries: when the slot file holds exactly those bytes again
 * (compared whole, after the usual checks of the header, key and expiry),
 * the session is taken from the memo instead of d2i_SSL_SESSION, which
 * decodes the peer certificate and its public key again (1.5 M
 * instructions with OpenSSL 3.0, a third of a resumed delivery); it hands
 * OpenSSL a copy (memo_get). Same bytes, same session: nothing else
 * changes. The file is still read every time, so other processes' writes
 * are seen as before. The memo holds the resumption secret: cleansed when
 * replaced or freed.
 */
#include "config.h"
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include "ctx.h"
#include "demand.h"
#include "log.h"
#include "tls_cache.h"

#define MAGIC "TRSC1"
#define HEADER_MAX 64

struct tr_tls_cache {
	struct tlsrelay_ctx *ctx;
	int dirfd;                  /* -1 until opened */
	int off;                    /* unusable for this process (warned once) */
	int write_warned;
	unsigned seq;               /* temporary file names */
	/* the current connection */
	int active, approved, stored;
	int readonly;               /* a dry run: read only, never create */
	SSL_SESSION *pending;       /* made before approval (TLS <= 1.2) */
	char key[TR_TLS_CACHE_KEY_MAX];
	size_t keylen;
	char slot[16];              /* "s00042" */
	/* the memo: the last entry written or decoded, and its session */
	unsigned char *memo;
	size_t memo_len;
	SSL_SESSION *memo_sess;
};

/* ------------------------------------------------------------ the memo */

static void memo_clear(tr_tls_cache *tc)
{
	if (tc->memo) {
		OPENSSL_cleanse(tc->memo, tc->memo_len);
		free(tc->memo);
	}
	SSL_SESSION_free(tc->memo_sess);
	tc->memo = NULL;
	tc->memo_len = 0;
	tc->memo_sess = NULL;
}

/* Remember that the entry buf decodes to sess (a reference is taken). */
static void memo_set(tr_tls_cache *tc, const unsigned char *buf, size_t len, SSL_SESSION *sess)
{
	memo_clear(tc);
	if ((tc->memo = malloc(len)) == NULL || !SSL_SESSION_up_ref(sess)) {
		free(tc->memo);
		tc->memo = NULL;
		return;
	}
	memcpy(tc->memo, buf, len);
	tc->memo_len = len;
	tc->memo_sess = sess;
}

/* A copy of the memo's session if buf is its entry, else NULL. A copy, not
 * a reference: OpenSSL marks the session of a connection freed without a
 * shutdown not resumable (ssl_clear_bad_session), which would spoil the
 * memo. SSL_SESSION_dup shares the certificates (reference counts): no
 * decoding. */
static SSL_SESSION *memo_get(const tr_tls_cache *tc, const unsigned char *buf, size_t len)
{
	if (tc->memo == NULL || len != tc->memo_len || memcmp(buf, tc->memo, len) != 0)
		return NULL;
	return SSL_SESSION_dup(tc->memo_sess);
}

/* ------------------------------------------------------------ the key */

/* Append "name=value\n" at *used; -1 when it does not fit. */
static int put(char *out, size_t cap, size_t *used, const char *name, const char *fmt, ...)
	TR_PRINTF(5, 6);

static int put(char *out, size_t cap, size_t *used, const char *name, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*used >= cap)
		return -1;
	n = snprintf(out + *used, cap - *used, "%s=", name);
	if (n < 0 || (size_t)n >= cap - *used)
		return -1;
	*used += (size_t)n;
	va_start(ap, fmt);
	n = vsnprintf(out + *used, cap - *used, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n + 1 >= cap - *used)
		return -1;
	*used += (size_t)n;
	out[(*used)++] = '\n';
	out[*used] = '\0';
	return 0;
}

/* Identity of a CA file or directory: a change of its contents (new inode
 * after a rename, other size or mtime) makes a new key. */
static int put_ca(char *out, size_t cap, size_t *used, const char *name, const char *path)
{
	struct stat sb;

	if (path == NULL)
		return 0;
	if (stat(path, &sb) < 0)
		return put(out, cap, used, name, "%s missing", path);
	return put(out, cap, used, name, "%s %llu %llu %lld %lld.%09ld", path,
	           (unsigned long long)sb.st_dev, (unsigned long long)sb.st_ino,
	           (long long)sb.st_size, (long long)sb.st_mtim.tv_sec, sb.st_mtim.tv_nsec);
}

int tr_tls_cache_key(const struct tlsrelay_ctx *ctx, const tr_tls_conn *c,
                     char *out, size_t cap)
{
	const tr_config *cfg = &ctx->cfg;
	size_t used = 0;
	int bad = 0, n;

	out[0] = '\0';
	bad |= put(out, cap, &used, "nexthop", "%s", c->nexthop ? c->nexthop : "");
	bad |= put(out, cap, &used, "server", "%s", c->relay ? c->relay : "");
	if (bad || (n = tr_demand_key(c->demand, out + used, cap - used)) < 0)
		return -1;
	used += (size_t)n;
	bad |= put_ca(out, cap, &used, "ca_file", cfg->tls_ca_file);
	bad |= put_ca(out, cap, &used, "ca_path", cfg->tls_ca_path);
	if (!cfg->tls_ca_file && !cfg->tls_ca_path)
		bad |= put_ca(out, cap, &used, "ca_default", X509_get_default_cert_dir());
	return bad ? -1 : (int)used;
}

/* Slot file of the key: SHA-256 of the key modulo the cache size. */
static void slot_name(const char *key, size_t len, int size, char *out, size_t cap)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	unsigned long v = 0;

	if (EVP_Digest(key, len, md, &mdlen, EVP_sha256(), NULL) && mdlen >= 4)
		v = (unsigned long)md[0] << 24 | (unsigned long)md[1] << 16 |
		    (unsigned long)md[2] << 8 | md[3];
	snprintf(out, cap, "s%05lu", v % (unsigned long)(size > 0 ? size : 1));
}

/* ------------------------------------------------------------ directory */

static void cache_off(tr_tls_cache *tc, const char *why)
{
	if (!tc->off)
		tr_log(tc->ctx, LOG_WARNING, "TLS session cache %s: %s; TLS sessions are not reused",
		       tc->ctx->cfg.tls_session_cache, why);
	tc->off = 1;
}

/* Open (create when missing) the directory and check who may write it. */
static int open_dir(tr_tls_cache *tc)
{
	const char *path = tc->ctx->cfg.tls_session_cache;
	char why[256], user[TR_AS_USER_MAX];
	struct stat sb;
	int fd;

	if (tc->dirfd >= 0 || tc->off)
		return tc->off ? -1 : 0;
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	/* A read-only user (a dry run) only reads the cache: run as root, it must not make
	 * a directory (or entries) that the transport's user cannot use. */
	if (fd < 0 && errno == ENOENT && !tc->readonly && mkdir(path, 0700) == 0)
		fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(why, sizeof why, "cannot open: %s%s", strerror(errno), tr_as_user(user));
		cache_off(tc, why);
		return -1;
	}
	if (fstat(fd, &sb) < 0) {
		snprintf(why, sizeof why, "cannot stat: %s%s", strerror(errno), tr_as_user(user));
		close(fd);
		cache_off(tc, why);
		return -1;
	}
	if (sb.st_uid != geteuid() || (sb.st_mode & 022)) {
		if (sb.st_uid != geteuid())
			snprintf(why, sizeof why, "owned by uid %ld, not by uid %ld that tlsrelay runs as%s",
			         (long)sb.st_uid, (long)geteuid(), tr_as_user(user));
		else
			snprintf(why, sizeof why, "writable by group or others (mode %03o; use chmod 700)",
			         (unsigned)(sb.st_mode & 0777));
		close(fd);
		cache_off(tc, why);
		return -1;
	}
	tc->dirfd = fd;
	return 0;
}

/* ------------------------------------------------------------ reading */

/* Read the whole entry file (a regular file of ours, not writable by
 * others, at most TR_TLS_CACHE_ENTRY_MAX bytes). */
static unsigned char *read_entry(tr_tls_cache *tc, size_t *len)
{
	struct stat sb;
	unsigned char *buf = NULL;
	size_t got = 0;
	int fd = openat(tc->dirfd, tc->slot, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) || sb.st_uid != geteuid() ||
	    (sb.st_mode & 022) || sb.st_size <= 0 || sb.st_size > TR_TLS_CACHE_ENTRY_MAX ||
	    (buf = malloc((size_t)sb.st_size)) == NULL)
		goto fail;
	while (got < (size_t)sb.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)sb.st_size - got);
		if (n <= 0)
			goto fail;
		got += (size_t)n;
	}
	close(fd);
	*len = got;
	return buf;
fail:
	free(buf);
	close(fd);
	return NULL;
}

/* Parse "TRSC1 EXPIRY KEYLEN DERLEN\n": the header length, or -1. */
static int parse_header(const unsigned char *buf, size_t len, long long *expiry,
                        size_t *keylen, size_t *derlen)
{
	char hdr[HEADER_MAX + 1], tail;
	const unsigned char *nl = memchr(buf, '\n', len < HEADER_MAX ? len : HEADER_MAX);
	unsigned long k, d;

	if (nl == NULL)
		return -1;
	memcpy(hdr, buf, (size_t)(nl - buf));
	hdr[nl - buf] = '\0';
	if (sscanf(hdr, MAGIC " %lld %lu %lu%c", expiry, &k, &d, &tail) != 3)
		return -1;
	*keylen = k;
	*derlen = d;
	return (int)(nl - buf) + 1;
}

static SSL_SESSION *load_session(tr_tls_cache *tc)
{
	size_t len, keylen, derlen;
	long long expiry, now = (long long)time(NULL);
	unsigned char *buf = read_entry(tc, &len);
	const unsigned char *der;
	SSL_SESSION *sess = NULL;
	int h;

	if (buf == NULL)
		return NULL;
	h = parse_header(buf, len, &expiry, &keylen, &derlen);
	if (h < 0 || keylen != tc->keylen || derlen == 0 || derlen > len ||
	    (size_t)h + keylen + derlen != len || memcmp(buf + h, tc->key, keylen) != 0)
		goto out;
	if (expiry <= now || expiry > now + tc->ctx->cfg.tls_session_cache_timeout)
		goto out;          /* expired, or made under a longer timeout */
	if ((sess = memo_get(tc, buf, len)) == NULL) {
		der = buf + h + keylen;
		sess = d2i_SSL_SESSION(NULL, &der, (long)derlen);
		if (sess && der != buf + len) {
			SSL_SESSION_free(sess);
			sess = NULL;
		}
		if (sess)
			memo_set(tc, buf, len, sess);
	}
	if (sess && !SSL_SESSION_is_resumable(sess)) {
		SSL_SESSION_free(sess);
		sess = NULL;
	}
out:
	ERR_clear_error();
	OPENSSL_cleanse(buf, len);   /* it holds the resumption secret */
	free(buf);
	return sess;
}

/* ------------------------------------------------------------ writing */

static void write_failed(tr_tls_cache *tc, const char *what)
{
	if (!tc->write_warned)
		tr_log(tc->ctx, LOG_WARNING, "TLS session cache %s: cannot %s: %s; this "
		       "session is not saved", tc->ctx->cfg.tls_session_cache, what, strerror(errno));
	tc->write_warned = 1;
}

/* Write buf to a new temporary file and rename it over the slot: 0 when
 * it is there. */
static int write_entry(tr_tls_cache *tc, const unsigned char *buf, size_t len)
{
	char tmp[64];
	size_t done = 0;
	int fd = -1;

	for (int try = 0; try < 2 && fd < 0; try++) {
		snprintf(tmp, sizeof tmp, "tmp.%ld.%u", (long)getpid(), tc->seq++);
		fd = openat(tc->dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0 && errno == EEXIST)
			(void)unlinkat(tc->dirfd, tmp, 0);   /* left by a killed process */
	}
	if (fd < 0) {
		write_failed(tc, "create a file");
		return -1;
	}
	while (done < len) {
		ssize_t n = write(fd, buf + done, len - done);
		if (n <= 0)
			break;
		done += (size_t)n;
	}
	if (close(fd) < 0 || done != len) {
		write_failed(tc, "write a file");
		(void)unlinkat(tc->dirfd, tmp, 0);
		return -1;
	}
	if (renameat(tc->dirfd, tmp, tc->dirfd, tc->slot) < 0) {
		write_failed(tc, "rename a file");
		(void)unlinkat(tc->dirfd, tmp, 0);
		return -1;
	}
	return 0;
}

/* Lifetime: tls_session_cache_timeout, or less if the server says so. */
static long long session_expiry(const tr_tls_cache *tc, const SSL_SESSION *sess)
{
	long long life = tc->ctx->cfg.tls_session_cache_timeout;
	unsigned long hint = SSL_SESSION_get_ticket_lifetime_hint(sess);

	if (hint > 0 && (long long)hint < life)
		life = (long long)hint;
	return (long long)time(NULL) + life;
}

static void store_session(tr_tls_cache *tc, SSL_SESSION *sess)
{
	unsigned char *buf, *p;
	char hdr[HEADER_MAX];
	int derlen = i2d_SSL_SESSION(sess, NULL), h;
	size_t len;

	if (tc->stored || tc->off || derlen <= 0 || tc->readonly)
		return;
	h = snprintf(hdr, sizeof hdr, MAGIC " %lld %zu %d\n", session_expiry(tc, sess),
	             tc->keylen, derlen);
	len = (size_t)h + tc->keylen + (size_t)derlen;
	if (h <= 0 || (size_t)h >= sizeof hdr || len > TR_TLS_CACHE_ENTRY_MAX ||
	    (buf = malloc(len)) == NULL)
		return;
	memcpy(buf, hdr, (size_t)h);
	memcpy(buf + h, tc->key, tc->keylen);
	p = buf + h + tc->keylen;
	if (i2d_SSL_SESSION(sess, &p) == derlen) {
		if (write_entry(tc, buf, len) == 0)
			memo_set(tc, buf, len, sess);
		tc->stored = 1;
	}
	OPENSSL_cleanse(buf, len);   /* it holds the resumption secret */
	free(buf);
}

/* OpenSSL's new-session callback: 1 = we keep the reference. */
static int new_session(SSL *ssl, SSL_SESSION *sess)
{
	tr_tls_cache *tc = SSL_get_app_data(ssl);

	if (tc == NULL || !tc->active || tc->off || !SSL_SESSION_is_resumable(sess))
		return 0;
	if (tc->approved) {
		store_session(tc, sess);
		return 0;
	}
	SSL_SESSION_free(tc->pending);
	tc->pending = sess;
	return 1;
}

/* ------------------------------------------------------------ interface */

void tr_tls_cache_setup(struct tlsrelay_ctx *ctx, SSL_CTX *c)
{
	if (ctx->cfg.tls_session_cache == NULL)
		return;
	if (ctx->tls_cache == NULL) {
		if ((ctx->tls_cache = calloc(1, sizeof *ctx->tls_cache)) == NULL)
			return;
		ctx->tls_cache->ctx = ctx;
		ctx->tls_cache->dirfd = -1;
	}
	SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
	SSL_CTX_sess_set_new_cb(c, new_session);
	SSL_CTX_set_timeout(c, ctx->cfg.tls_session_cache_timeout);
}

void tr_tls_cache_attach(struct tlsrelay_ctx *ctx, SSL *ssl, const tr_tls_conn *c)
{
	tr_tls_cache *tc = ctx->tls_cache;
	SSL_SESSION *sess;
	int n;

	if (tc == NULL)
		return;
	tc->readonly = c->cache_readonly;
	if (open_dir(tc) < 0)
		return;
	n = tr_tls_cache_key(ctx, c, tc->key, sizeof tc->key);
	if (n < 0)
		return;            /* absurdly long names: no caching */
	tc->keylen = (size_t)n;
	slot_name(tc->key, tc->keylen, ctx->cfg.tls_session_cache_size, tc->slot, sizeof tc->slot);
	tc->active = 1;
	tc->approved = tc->stored = 0;
	SSL_set_app_data(ssl, tc);
	if ((sess = load_session(tc)) != NULL) {
		if (!SSL_set_session(ssl, sess))
			ERR_clear_error();
		SSL_SESSION_free(sess);
		tr_vlog(ctx, 1, "%s: offering a cached TLS session", c->relay);
	}
}

void tr_tls_cache_approve(SSL *ssl)
{
	tr_tls_cache *tc = SSL_get_app_data(ssl);

	if (tc == NULL || !tc->active)
		return;
	tc->approved = 1;
	if (tc->pending) {
		store_session(tc, tc->pending);
		SSL_SESSION_free(tc->pending);
		tc->pending = NULL;
	}
}

void tr_tls_cache_detach(SSL *ssl)
{
	tr_tls_cache *tc = SSL_get_app_data(ssl);

	if (tc == NULL)
		return;
	SSL_SESSION_free(tc->pending);
	tc->pending = NULL;
	tc->active = 0;
	SSL_set_app_data(ssl, NULL);
}

void tr_tls_cache_free(struct tlsrelay_ctx *ctx)
{
	tr_tls_cache *tc = ctx->tls_cache;

	if (tc == NULL)
		return;
	SSL_SESSION_free(tc->pending);
	memo_clear(tc);
	if (tc->dirfd >= 0)
		close(tc->dirfd);
	OPENSSL_cleanse(tc, sizeof *tc);
	free(tc);
	ctx->tls_cache = NULL;
}
