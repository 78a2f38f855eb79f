/*
 * message.c - spool the message to an unlinked temporary file in canonical
 * CR LF form (see message.h), and dot-stuff it for DATA while sending.
 *
 * Memory use is fixed: one read buffer and one output buffer sized for the
 * worst case of one read (every byte a line end).
 *
 * Speed: a run of plain bytes is found with memchr and copied with memcpy,
 * the 8-bit and NUL statistics are taken from each call's whole output
 * eight bytes at a time (the bytes emitted: a dropped "From " line's are
 * not), and an LF or CR LF line end past the header section is written in
 * place; only header bytes' line ends, bare CRs and folds take the
 * byte-by-byte path (canon_body). Byte for byte the same output and
 * statistics as that path (tests/unit/test_message.c compares with a
 * reference); the per-byte check was a third of a warm delivery's
 * instructions (doc/PERFORMANCE.md).
 *
 * Decisions (where RFC 5321 leaves a choice, Postfix's behaviour):
 * - Line ends: LF, CR LF and a bare CR all become CR LF; a missing final
 *   line end is added. A bare CR or LF is never sent (SMTP smuggling).
 * - A leading mbox "From " line (Exim without message_prefix =, sendmail
 *   with the F flag) is dropped; "From " later in the message is kept.
 * - Lines longer than 998 octets are folded: CR LF SPACE is inserted after
 *   each 998 octets, like Postfix (smtp_line_length_limit = 998): in a
 *   header this is ordinary folding; in a body it adds one space per fold,
 *   which is less harm than a server truncating or refusing the line.
 * - NUL bytes: refused before any server is contacted, DSN 5.6.0, exit 65
 *   (EX_DATAERR: both Postfix pipe(8) and Exim treat it as permanent, and
 *   Postfix takes the 5.6.0 from the output). RFC 5321 and 5322 do not
 *   allow NUL in a message, and servers differ: some truncate the line at
 *   the NUL, some drop the byte, some refuse. Sending would risk silent
 *   corruption; a bounce tells the sender. (BINARYMIME is not used.)
 * - 8-bit bytes are sent as they are; BODY=8BITMIME is declared only when
 *   the server offers 8BITMIME (no MIME downgrade, as Postfix when it
 *   cannot convert).
 * - Where the input's header section ends is recorded while spooling
 *   (header_end, header_bare_cr; see message.h), from the input's own LF
 *   lines: canonicalisation changes the line structure (a bare CR becomes
 *   a line end), and the header section msgreq.c must read is the one the
 *   MTA parsed, where its milter's field is (security issue 13). A dropped
 *   "From " line that ends in a bare CR still owns the rest of its input
 *   line. It costs a few fields of state and one step per input byte (per
 *   run of plain bytes on the fast path) until the first empty line.
 * - In memory first (tr_message_spool_mem, tlsrelayd's delivery
 *   processes): the spool is a memfd while the message is at most mem_max
 *   bytes, and moves to a file in dir (its bytes copied) when it grows
 *   past that. Creating and removing an ext4 inode was a fifth of a warm
 *   delivery's CPU in tlsrelayd (doc/PERFORMANCE.md); the memory is
 *   bounded by mem_max per delivery. Without memfd_create (or when it
 *   fails) the file is made at once, as before.
 */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "ctx.h"
#include "message.h"
#include "status.h"

#define SPOOL_READ_SIZE (64 * 1024)

static const char from_prefix[] = "From ";
#define FROM_PREFIX_LEN (sizeof from_prefix - 1)

enum { PHASE_HEAD, PHASE_FROM_LINE, PHASE_BODY };

/* ------------------------------------------------------- canonicalisation */

void tr_canon_init(tr_canon_state *c)
{
	memset(c, 0, sizeof *c);
	c->phase = PHASE_HEAD;
	c->in_header = 1;
}

/* Emit one canonical byte and keep the statistics. The output only holds
 * CR immediately followed by LF, so CR never counts towards a line. A
 * content byte that would make the line longer than TR_LINE_MAX octets is
 * preceded by CR LF SPACE (the fold), so no line sent is longer. */
static void canon_put(tr_canon_state *c, char *out, size_t *o, char ch)
{
	unsigned char u = (unsigned char)ch;

	if (ch != '\r' && ch != '\n' && c->cur_line >= TR_LINE_MAX) {
		canon_put(c, out, o, '\r');
		canon_put(c, out, o, '\n');
		canon_put(c, out, o, ' ');
		c->folds++;
	}
	out[(*o)++] = ch;
	c->out_bytes++;
	if (ch == '\n') {
		if (c->cur_line > c->max_line)
			c->max_line = c->cur_line;
		c->cur_line = 0;
		c->lines++;
		c->mid_line = 0;
		return;
	}
	c->mid_line = 1;
	if (ch == '\r')
		return;
	c->cur_line++;
	if (u >= 0x80)
		c->has_8bit = 1;
	else if (u == 0)
		c->has_nul = 1;
}

/* The input's header section (message.h), one input byte at a time, called
 * before the byte is canonicalised: c->pending_cr still says whether the
 * previous input byte was a CR, and c->out_bytes is where this byte's
 * output starts. At the start of an input line nothing is pending (the
 * line before ended with an LF), so that offset is where the spool line
 * starts too. An input line "" or "\r" ends the header section. */
static void head_track(tr_canon_state *c, char ch)
{
	if (c->head_len == 0)
		c->head_line = c->out_bytes;
	if (ch == '\n') {
		if (c->head_len == 0 || (c->head_len == 1 && c->pending_cr)) {
			c->in_header = 0;
			c->header_end = c->head_line;
		}
		c->head_len = 0;
		return;
	}
	if (c->pending_cr)
		c->header_bare_cr = 1;
	c->head_len++;
}

/* One input byte of the message body. A CR is emitted at once; the next
 * byte decides whether it already had its LF (CR LF) or needs one (bare
 * CR). This keeps the output at most two bytes per input byte. */
static void canon_body(tr_canon_state *c, char *out, size_t *o, char ch)
{
	if (c->in_header)
		head_track(c, ch);
	if (c->pending_cr) {
		c->pending_cr = 0;
		canon_put(c, out, o, '\n');
		if (ch == '\n')
			return;
	}
	if (ch == '\r') {
		canon_put(c, out, o, '\r');
		c->pending_cr = 1;
	} else if (ch == '\n') {
		canon_put(c, out, o, '\r');
		canon_put(c, out, o, '\n');
	} else {
		canon_put(c, out, o, ch);
	}
}

/* Whether in[0..k) holds an 8-bit byte or a NUL, into c->has_8bit and
 * c->has_nul: eight bytes at a time (any byte with its top bit set; any
 * zero byte: (w - 0x01..01) & ~w & 0x80..80 is non-zero exactly when one
 * of w's bytes is zero), then the rest byte by byte. */
static void canon_scan_bits(tr_canon_state *c, const char *in, size_t k)
{
	const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
	uint64_t any = 0, zero = 0, w;
	size_t j = 0;

	for (; j + 8 <= k; j += 8) {
		memcpy(&w, in + j, 8);
		any |= w;
		zero |= (w - ones) & ~w & highs;
	}
	for (; j < k; j++) {
		unsigned char u = (unsigned char)in[j];
		any |= u;
		zero |= u == 0;
	}
	c->has_8bit |= (any & highs) != 0;
	c->has_nul |= zero != 0;
}

/* Fast path: copy the longest run of in[0..n) that holds no CR or LF and
 * fits in the current line without a fold, with the same statistics as
 * canon_put byte by byte but has_8bit and has_nul (tr_canon_feed takes
 * those from its whole output at once: a CR, LF or fold SPACE it adds is
 * neither). Returns its length (0: the next byte needs
 * canon_body). Only called when no CR is pending. */
static size_t canon_plain_run(tr_canon_state *c, const char *in, size_t n,
                              char *out, size_t *o)
{
	size_t room = c->cur_line < TR_LINE_MAX ? TR_LINE_MAX - c->cur_line : 0;
	size_t k = n < room ? n : room;
	const char *cr, *lf;

	if (k == 0)
		return 0;
	if ((lf = memchr(in, '\n', k)) != NULL)
		k = (size_t)(lf - in);
	if ((cr = memchr(in, '\r', k)) != NULL)
		k = (size_t)(cr - in);
	if (k == 0)
		return 0;
	if (c->in_header) {           /* head_track for k plain bytes */
		if (c->head_len == 0)
			c->head_line = c->out_bytes;
		c->head_len += k;
	}
	memcpy(out + *o, in, k);
	*o += k;
	c->out_bytes += k;
	c->cur_line += k;
	c->mid_line = 1;
	return k;
}

/* Fast path for a line end past the header section with no CR pending:
 * an LF, or a CR whose LF is the next byte of in[0..n), becomes CR LF with
 * the statistics canon_body and canon_put would keep (a line end never
 * folds). Returns the input bytes taken; 0: the next byte needs canon_body
 * (a bare CR, or a CR at the end of in: its LF may come in the next
 * chunk). */
static size_t canon_line_end(tr_canon_state *c, const char *in, size_t n,
                             char *out, size_t *o)
{
	size_t k;

	if (c->in_header || c->pending_cr)
		return 0;
	if (in[0] == '\n')
		k = 1;
	else if (in[0] == '\r' && n > 1 && in[1] == '\n')
		k = 2;
	else
		return 0;
	out[(*o)++] = '\r';
	out[(*o)++] = '\n';
	c->out_bytes += 2;
	if (c->cur_line > c->max_line)
		c->max_line = c->cur_line;
	c->cur_line = 0;
	c->lines++;
	c->mid_line = 0;
	return k;
}

/* Release the held-back start of the input: it was not "From ". */
static void canon_flush_head(tr_canon_state *c, char *out, size_t *o)
{
	size_t i, n = c->headlen;

	c->phase = PHASE_BODY;
	c->headlen = 0;
	for (i = 0; i < n; i++)
		canon_body(c, out, o, from_prefix[i]);
}

/* One byte of the leading mbox "From " line, which is dropped with its
 * line ending (LF, CR LF or a bare CR). After a bare CR, the rest of that
 * input line is spooled, but for the header section (head_track) it is
 * still the "From " line's: not the start of a line, after a bare CR. */
static void canon_from_line(tr_canon_state *c, char *out, size_t *o, char ch)
{
	if (c->from_cr) {
		c->phase = PHASE_BODY;
		if (ch != '\n') {
			c->head_len = 1;
			c->header_bare_cr = 1;
			canon_body(c, out, o, ch);
		}
	} else if (ch == '\r') {
		c->from_cr = 1;
	} else if (ch == '\n') {
		c->phase = PHASE_BODY;
	}
}

size_t tr_canon_feed(tr_canon_state *c, const char *in, size_t n, char *out)
{
	size_t i = 0, o = 0;

	for (; i < n && c->phase != PHASE_BODY; i++) {
		if (c->phase == PHASE_FROM_LINE) {
			canon_from_line(c, out, &o, in[i]);
		} else if (in[i] == from_prefix[c->headlen]) {
			if (++c->headlen == FROM_PREFIX_LEN)
				c->phase = PHASE_FROM_LINE;
		} else {
			canon_flush_head(c, out, &o);
			canon_body(c, out, &o, in[i]);
		}
	}
	while (i < n) {
		if (!c->pending_cr) {
			size_t k;

			i += canon_plain_run(c, in + i, n - i, out, &o);
			if (i < n && (k = canon_line_end(c, in + i, n - i, out, &o)) > 0) {
				i += k;
				continue;
			}
		}
		if (i < n)
			canon_body(c, out, &o, in[i++]);
	}
	if (!c->has_8bit || !c->has_nul)
		canon_scan_bits(c, out, o);
	return o;
}

size_t tr_canon_finish(tr_canon_state *c, char *out)
{
	size_t o = 0;

	if (c->phase == PHASE_HEAD)
		canon_flush_head(c, out, &o);
	c->phase = PHASE_BODY;
	if (c->pending_cr) {
		c->pending_cr = 0;
		canon_put(c, out, &o, '\n');
	} else if (c->mid_line) {
		canon_put(c, out, &o, '\r');
		canon_put(c, out, &o, '\n');
	}
	return o;
}

/* ------------------------------------------------------------ content check */

tlsrelay_cat tr_message_check(const struct tlsrelay_message *msg,
                              tlsrelay_status *st)
{
	if (msg != NULL && msg->has_nul)
		return tr_status_set(st, TLSRELAY_DATAERR, "5.6.0",
		                     "message contains NUL bytes, which SMTP cannot carry: not sent");
	return tr_status_ok(st);
}

/* ------------------------------------------------------------ dot-stuffing */

/* Line by line: a '.' at a line start is doubled, the rest of the line up
 * to its LF is copied with memcpy. */
size_t tr_dotstuff(tr_dotstuff_state *st, const char *in, size_t n, char *out)
{
	size_t i = 0, o = 0;

	while (i < n) {
		const char *lf;
		size_t len;

		if (st->bol && in[i] == '.')
			out[o++] = '.';
		lf = memchr(in + i, '\n', n - i);
		len = lf ? (size_t)(lf - (in + i)) + 1 : n - i;
		memcpy(out + o, in + i, len);
		o += len;
		i += len;
		st->bol = lf != NULL;
	}
	return o;
}

/* ---------------------------------------------------------------- spooling */

/* Create the unlinked file with mkstemp when O_TMPFILE cannot be used. */
static int spool_mkstemp(const char *dir)
{
	static const char tmpl[] = "/tlsrelay.XXXXXX";
	size_t dlen = strlen(dir);
	char *path = malloc(dlen + sizeof tmpl);
	int fd, saved;

	if (path == NULL)
		return -1;
	memcpy(path, dir, dlen);
	memcpy(path + dlen, tmpl, sizeof tmpl);
	fd = mkstemp(path);
	if (fd >= 0 && (unlink(path) != 0 ||
	                fcntl(fd, F_SETFD, FD_CLOEXEC) != 0)) {
		saved = errno;
		(void)unlink(path);
		close(fd);
		errno = saved;
		fd = -1;
	}
	free(path);
	return fd;
}

static int spool_open(const char *dir)
{
#ifdef O_TMPFILE
	int fd = open(dir, O_TMPFILE | O_RDWR | O_EXCL | O_CLOEXEC, 0600);

	if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR &&
	                errno != EINVAL))
		return fd;
#endif
	return spool_mkstemp(dir);
}

static int write_all(int fd, const char *buf, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, buf, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (w == 0) {
			errno = ENOSPC;
			return -1;
		}
		buf += w;
		n -= (size_t)w;
	}
	return 0;
}

static ssize_t read_some(int fd, char *buf, size_t n)
{
	ssize_t r;

	do
		r = read(fd, buf, n);
	while (r < 0 && errno == EINTR);
	return r;
}

static const char *spool_dir(const char *dir)
{
	const char *env;

	if (dir != NULL && *dir != '\0')
		return dir;
	env = getenv("TMPDIR");
	if (env != NULL && *env != '\0')
		return env;
	return "/tmp";
}

/* The memfd of a spool kept in memory, or -1 (then a file is made). */
static int spool_memfd(void)
{
#ifdef MFD_CLOEXEC
	return memfd_create("tlsrelay-spool", MFD_CLOEXEC);
#else
	errno = ENOSYS;
	return -1;
#endif
}

/* The spool's descriptor, close-on-exec: a memfd when in_memory asks for
 * one (and memfd_create works: *memory = 1), else an unlinked file in dir;
 * -1 with errno. The one place a spool is made: the library's spool
 * (spool_fill) and the one its callers write into (tlsrelay_spool_fd). */
static int spool_create(const char *dir, int in_memory, int *memory)
{
	int fd = in_memory ? spool_memfd() : -1;

	*memory = fd >= 0;
	return fd >= 0 ? fd : spool_open(dir);
}

/* Where the spool is being written. */
typedef struct spool_to {
	const char *dir;
	unsigned long long mem_max;   /* > 0: msg->fd is a memfd up to this */
	int in_memory;
} spool_to;

/* A spool of size bytes in the memfd *fd outgrew memory: its bytes go to
 * a file in dir, which replaces *fd. buf: cap bytes of scratch space. 0,
 * or -1 with errno (*fd unchanged). */
static int spool_move_to_disk(int *fd, unsigned long long size, const char *dir, char *buf,
                              size_t cap)
{
	int to = spool_open(dir), saved;
	off_t off = 0;

	if (to < 0)
		return -1;
	while ((unsigned long long)off < size) {
		ssize_t r = pread(*fd, buf, cap, off);

		if (r <= 0 || write_all(to, buf, (size_t)r) != 0) {
			saved = r == 0 ? EIO : errno;
			close(to);
			errno = saved;
			return -1;
		}
		off += r;
	}
	close(*fd);
	*fd = to;
	return 0;
}

/* The library's spool outgrew memory (spool_move_to_disk). */
static int spool_to_disk(struct tlsrelay_message *msg, spool_to *to, char *buf, size_t cap)
{
	if (spool_move_to_disk(&msg->fd, msg->size, to->dir, buf, cap) != 0)
		return -1;
	to->in_memory = 0;
	return 0;
}

/* o canonical bytes of out to the spool (moved to disk first when they
 * would take it past to->mem_max); fills *st on failure. in: scratch
 * space of SPOOL_READ_SIZE bytes. */
static int spool_write(struct tlsrelay_message *msg, spool_to *to, const char *out, size_t o,
                       char *in, tlsrelay_status *st)
{
	if (to->in_memory && msg->size + o > to->mem_max &&
	    spool_to_disk(msg, to, in, SPOOL_READ_SIZE) != 0) {
		tr_status_set(st, TLSRELAY_TEMP, "4.3.0", "cannot create spool file in %s: %s",
		              to->dir, strerror(errno));
		return -1;
	}
	if (write_all(msg->fd, out, o) != 0) {
		tr_status_set(st, TLSRELAY_TEMP, "4.3.0",
		              "cannot write spool file in %s: %s", to->dir,
		              strerror(errno));
		return -1;
	}
	msg->size += o;
	return 0;
}

/* Copy fd to msg->fd through the canonicaliser; fills *st on failure. */
static int spool_copy(struct tlsrelay_message *msg, int fd, spool_to *to,
                      char *in, char *out, tlsrelay_status *st)
{
	tr_canon_state c;
	ssize_t r;
	size_t o;

	tr_canon_init(&c);
	for (;;) {
		r = read_some(fd, in, SPOOL_READ_SIZE);
		if (r < 0) {
			tr_status_set(st, TLSRELAY_TEMP, "4.3.0",
			              "cannot read message: %s", strerror(errno));
			return -1;
		}
		o = r > 0 ? tr_canon_feed(&c, in, (size_t)r, out)
		          : tr_canon_finish(&c, out);
		if (spool_write(msg, to, out, o, in, st) != 0)
			return -1;
		if (r == 0)
			break;
	}
	msg->has_8bit = c.has_8bit;
	msg->has_nul = c.has_nul;
	msg->max_line = c.max_line;
	msg->lines = c.lines;
	msg->folds = c.folds;
	msg->header_end = c.in_header ? msg->size : c.header_end;
	msg->header_bare_cr = c.header_bare_cr;
	return 0;
}

/* Create the spool (a memfd, or a file), copy, rewind; fills *st on
 * failure. */
static int spool_fill(struct tlsrelay_message *msg, int fd, spool_to *to,
                      char *buf, tlsrelay_status *st)
{
	msg->fd = spool_create(to->dir, to->mem_max > 0, &to->in_memory);
	if (msg->fd < 0) {
		tr_status_set(st, TLSRELAY_TEMP, "4.3.0",
		              "cannot create spool file in %s: %s", to->dir,
		              strerror(errno));
		return -1;
	}
	if (spool_copy(msg, fd, to, buf, buf + SPOOL_READ_SIZE, st) != 0)
		return -1;
	if (lseek(msg->fd, 0, SEEK_SET) != 0) {
		tr_status_set(st, TLSRELAY_TEMP, "4.3.0",
		              "cannot rewind spool file in %s: %s", to->dir,
		              strerror(errno));
		return -1;
	}
	return 0;
}

struct tlsrelay_message *tr_message_spool_mem(int fd, const char *dir,
                                              unsigned long long mem_max,
                                              tlsrelay_status *st)
{
	struct tlsrelay_message *msg;
	spool_to to = { spool_dir(dir), mem_max, 0 };
	char *buf;

	if (fd < 0) {
		tr_status_set(st, TLSRELAY_USAGE, "", "bad message file descriptor");
		return NULL;
	}
	msg = calloc(1, sizeof *msg);
	buf = malloc(SPOOL_READ_SIZE + TR_CANON_OUT_MAX(SPOOL_READ_SIZE));
	if (msg == NULL || buf == NULL) {
		free(msg);
		free(buf);
		tr_status_set(st, TLSRELAY_INTERNAL, "4.3.0", "out of memory");
		return NULL;
	}
	msg->fd = -1;
	if (spool_fill(msg, fd, &to, buf, st) != 0) {
		free(buf);
		tlsrelay_message_free(msg);
		return NULL;
	}
	free(buf);
	tr_status_ok(st);
	return msg;
}

struct tlsrelay_message *tr_message_spool(int fd, const char *dir,
                                          tlsrelay_status *st)
{
	return tr_message_spool_mem(fd, dir, 0, st);
}

/* -------------------------------------------------------------- public API */

tlsrelay_message *tlsrelay_message_spool(tlsrelay_ctx *ctx, int fd,
                                         tlsrelay_status *st)
{
	return tr_message_spool_mem(fd, ctx ? ctx->cfg.spool_directory : NULL,
	                            ctx ? ctx->spool_memory_max : 0, st);
}

tlsrelay_cat tlsrelay_spool_fd(const char *dir, long long size, int *fd,
                              tlsrelay_status *st)
{
	int memory;

	dir = spool_dir(dir);
	*fd = spool_create(dir, size >= 0 && size <= TLSRELAY_SPOOL_MEMORY_MAX, &memory);
	if (*fd < 0)
		return tr_status_set(st, TLSRELAY_TEMP, "4.3.0", "cannot create spool file in %s: %s",
		                     dir, strerror(errno));
	return tr_status_ok(st);
}

tlsrelay_cat tlsrelay_spool_write(tlsrelay_spool *sp, const char *p, size_t n,
                                  tlsrelay_status *st)
{
	const char *dir = spool_dir(sp->dir);

	if (sp->fd < 0) {
		sp->fd = spool_create(dir, 1, &sp->in_memory);
		sp->size = 0;
		if (sp->fd < 0)
			return tr_status_set(st, TLSRELAY_TEMP, "4.3.0", "cannot create spool file in %s: %s",
			                     dir, strerror(errno));
	}
	if (sp->in_memory && sp->size + n > TLSRELAY_SPOOL_MEMORY_MAX) {
		char buf[SPOOL_READ_SIZE];

		if (spool_move_to_disk(&sp->fd, sp->size, dir, buf, sizeof buf) != 0)
			return tr_status_set(st, TLSRELAY_TEMP, "4.3.0", "cannot create spool file in %s: %s",
			                     dir, strerror(errno));
		sp->in_memory = 0;
	}
	if (n > 0 && write_all(sp->fd, p, n) != 0)
		return tr_status_set(st, TLSRELAY_TEMP, "4.3.0", "cannot write spool file in %s: %s",
		                     dir, strerror(errno));
	sp->size += n;
	return tr_status_ok(st);
}

void tlsrelay_message_free(tlsrelay_message *msg)
{
	if (msg == NULL)
		return;
	if (msg->fd >= 0)
		close(msg->fd);
	free(msg);
}

unsigned long long tlsrelay_message_size(const tlsrelay_message *msg)
{
	return msg ? msg->size : 0;
}
