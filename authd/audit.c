/*
 * audit.c: one JSON line per decision, appended with one write(2).
 *
 * The descriptor request threads write to is published in one atomic int:
 * -1 (off), 2 (stderr) or the file's.  The file's descriptor number never
 * changes while authd runs: a reopen or another path dup2()s the new file
 * onto it, and it is closed only at shutdown, so a thread that loaded it
 * just before can never write into a descriptor reused for something else.
 *
 * Request threads do not write themselves: they format a line and append
 * it to a buffer; one writer thread swaps the buffer out and writes it with
 * one write(2) at most AUDIT_FLUSH_MS later, or as soon as it is half full.
 * A full buffer makes the request thread wait (lines are never dropped for
 * speed).  Reopening, reconfiguring and shutting down flush first, so a
 * line goes where the destination was when it was written.
 */
#include <sys/random.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "log.h"
#include "metrics.h"

/* Source bytes kept of each field a client chose. */
#define AUDIT_URI_MAX		 1024
#define AUDIT_HOST_MAX		 256
#define AUDIT_METHOD_MAX	 32
#define AUDIT_RULESET_MAX	 128
#define AUDIT_VERIFY_MAX	 128
#define AUDIT_DN_MAX		 1024
#define AUDIT_SHORT_MAX		 256	/* reason, rule, serial, fingerprint */

static pthread_mutex_t	 audit_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_int	 audit_fd = -1;		/* where lines go now */
static int		 audit_file_fd = -1;	/* the file's, never renumbered */
static char		 audit_path[PATH_MAX];	/* "" unless writing a file */
static atomic_uint_least64_t audit_nerrors;
static atomic_uint_least64_t audit_seq;
static char		 audit_boot[9];		/* random, per process */

#define AUDIT_BUF_SIZE		 (512 * 1024)	/* each of the two buffers */
#define AUDIT_FLUSH_MS		 20

/* The queue: request threads fill qbuf, the writer swaps it with wbuf. */
static pthread_mutex_t	 audit_qlock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 audit_qwake = PTHREAD_COND_INITIALIZER;
static pthread_cond_t	 audit_qspace = PTHREAD_COND_INITIALIZER;
static char		*audit_qbuf, *audit_wbuf;
static size_t		 audit_qlen;
static int		 audit_writing;		/* wbuf is being written */
static int		 audit_wstop;
static int		 audit_wrunning;
static pthread_t	 audit_wthread;

static _Thread_local char	 audit_line[AUDIT_LINE_MAX];
static _Thread_local time_t	 audit_tsec = -1;
static _Thread_local char	 audit_tbuf[32];	/* "YYYY-mm-ddTHH:MM:SS" */

static void
audit_boot_id(void)
{
	static const char	 hex[] = "0123456789abcdef";
	unsigned char		 r[4];
	unsigned long		 v;
	size_t			 i;

	if (audit_boot[0] != '\0')
		return;
	if (getrandom(r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r)) {
		v = (unsigned long)time(NULL) ^ ((unsigned long)getpid() << 16);
		memcpy(r, &v, sizeof(r));
	}
	for (i = 0; i < sizeof(r); i++) {
		audit_boot[2 * i] = hex[r[i] >> 4];
		audit_boot[2 * i + 1] = hex[r[i] & 0xf];
	}
	audit_boot[8] = '\0';
}

static int
audit_open(const char *path)
{
	int	 fd;

	if ((fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
	    0640)) == -1)
		log_warn("audit_log: cannot open %s", path);
	return fd;
}

/* Put the file at path under the file descriptor.  Locked. */
static int
audit_install(const char *path)
{
	int	 fd;

	if ((fd = audit_open(path)) == -1)
		return -1;
	if (audit_file_fd == -1)
		audit_file_fd = fd;
	else {
		if (dup2(fd, audit_file_fd) == -1) {
			log_warn("audit_log: dup2");
			close(fd);
			return -1;
		}
		close(fd);
	}
	return 0;
}

/* Write len bytes of whole lines to the current destination. */
static void
audit_out(const char *b, size_t len)
{
	const char	*p;
	ssize_t		 w;
	size_t		 off = 0;
	int		 fd;

	fd = atomic_load_explicit(&audit_fd, memory_order_relaxed);
	while (fd != -1 && off < len) {
		if ((w = write(fd, b + off, len - off)) == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		off += (size_t)w;
	}
	/* What could not be written is counted, a line at a time. */
	for (p = b + off; off < len && (p = memchr(p, '\n', len -
	    (size_t)(p - b))) != NULL; p++)
		atomic_fetch_add_explicit(&audit_nerrors, 1,
		    memory_order_relaxed);
}

/* Wait on the writer's condition for at most AUDIT_FLUSH_MS.  Locked. */
static void
audit_writer_nap(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += AUDIT_FLUSH_MS * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_cond_timedwait(&audit_qwake, &audit_qlock, &ts);
}

static void *
audit_writer(void *arg)
{
	char	*b;
	size_t	 len;

	(void)arg;
	pthread_mutex_lock(&audit_qlock);
	for (;;) {
		if (audit_qlen == 0) {
			if (audit_wstop)
				break;
			audit_writer_nap();
			continue;
		}
		b = audit_qbuf;
		len = audit_qlen;
		audit_qbuf = audit_wbuf;
		audit_wbuf = b;
		audit_qlen = 0;
		audit_writing = 1;
		pthread_mutex_unlock(&audit_qlock);
		audit_out(b, len);
		pthread_mutex_lock(&audit_qlock);
		audit_writing = 0;
		pthread_cond_broadcast(&audit_qspace);
		/* At most one batch per AUDIT_FLUSH_MS unless filling up. */
		if (!audit_wstop && audit_qlen < AUDIT_BUF_SIZE / 2)
			audit_writer_nap();
	}
	pthread_mutex_unlock(&audit_qlock);
	return NULL;
}

/* Start the writer once; 0, or -1 (then lines are written in place). */
static int
audit_writer_start(void)
{
	int	 rc = 0;

	pthread_mutex_lock(&audit_qlock);
	if (!audit_wrunning) {
		if (audit_qbuf == NULL)
			audit_qbuf = malloc(AUDIT_BUF_SIZE);
		if (audit_wbuf == NULL)
			audit_wbuf = malloc(AUDIT_BUF_SIZE);
		audit_wstop = 0;
		if (audit_qbuf == NULL || audit_wbuf == NULL ||
		    pthread_create(&audit_wthread, NULL, audit_writer,
		    NULL) != 0)
			rc = -1;
		else
			audit_wrunning = 1;
	}
	pthread_mutex_unlock(&audit_qlock);
	return rc;
}

void
audit_flush(void)
{
	pthread_mutex_lock(&audit_qlock);
	while (audit_wrunning && (audit_qlen > 0 || audit_writing)) {
		pthread_cond_signal(&audit_qwake);
		pthread_cond_wait(&audit_qspace, &audit_qlock);
	}
	pthread_mutex_unlock(&audit_qlock);
}

static void
audit_metrics(struct metrics_buf *b, void *arg)
{
	(void)arg;
	metrics_head(b, "authd_audit_errors_total", "counter",
	    "Audit lines that could not be written.");
	metrics_printf(b, "authd_audit_errors_total %llu\n",
	    (unsigned long long)audit_errors());
}

int
audit_configure(const char *dest)
{
	int	 rc = 0;

	(void)metrics_register(audit_metrics, NULL);
	audit_flush();
	pthread_mutex_lock(&audit_lock);
	audit_boot_id();
	if (dest == NULL || strcmp(dest, "off") == 0) {
		atomic_store(&audit_fd, -1);
		audit_path[0] = '\0';
	} else if (strcmp(dest, "stderr") == 0) {
		atomic_store(&audit_fd, STDERR_FILENO);
		audit_path[0] = '\0';
	} else if (strlen(dest) >= sizeof(audit_path)) {
		log_error("audit_log: path too long");
		rc = -1;
	} else if (strcmp(dest, audit_path) != 0 || audit_file_fd == -1) {
		if ((rc = audit_install(dest)) == 0) {
			memcpy(audit_path, dest, strlen(dest) + 1);
			atomic_store(&audit_fd, audit_file_fd);
			log_info("audit log: %s", dest);
		}
	}
	pthread_mutex_unlock(&audit_lock);
	if (rc == 0 && audit_enabled() && audit_writer_start() != 0)
		log_warnx("audit log: no writer thread; lines are written by "
		    "the request threads");
	return rc;
}

int
audit_reopen(void)
{
	int	 rc = 0;

	audit_flush();		/* what was written before goes to the old file */
	pthread_mutex_lock(&audit_lock);
	if (audit_path[0] != '\0') {
		if ((rc = audit_install(audit_path)) == 0)
			log_info("audit log reopened: %s", audit_path);
	}
	pthread_mutex_unlock(&audit_lock);
	return rc;
}

int
audit_enabled(void)
{
	return atomic_load_explicit(&audit_fd, memory_order_relaxed) != -1;
}

void
audit_shutdown(void)
{
	int	 join;

	pthread_mutex_lock(&audit_qlock);
	audit_wstop = 1;
	join = audit_wrunning;
	pthread_cond_broadcast(&audit_qwake);
	pthread_mutex_unlock(&audit_qlock);
	if (join)
		pthread_join(audit_wthread, NULL);	/* it drains the queue */
	pthread_mutex_lock(&audit_qlock);
	audit_wrunning = 0;
	pthread_cond_broadcast(&audit_qspace);
	free(audit_qbuf);
	free(audit_wbuf);
	audit_qbuf = audit_wbuf = NULL;
	audit_qlen = 0;
	pthread_mutex_unlock(&audit_qlock);
	pthread_mutex_lock(&audit_lock);
	atomic_store(&audit_fd, -1);
	if (audit_file_fd != -1)
		close(audit_file_fd);
	audit_file_fd = -1;
	audit_path[0] = '\0';
	pthread_mutex_unlock(&audit_lock);
}

uint64_t
audit_errors(void)
{
	return atomic_load_explicit(&audit_nerrors, memory_order_relaxed);
}

int
audit_request_id_ok(const char *id, size_t len)
{
	size_t	 i;
	char	 c;

	if (id == NULL || len == 0 || len > AUDIT_REQUEST_ID_MAX)
		return 0;
	for (i = 0; i < len; i++) {
		c = id[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_' || c == ':'))
			return 0;
	}
	return 1;
}

/* 1 for the bytes a JSON string cannot hold as they are. */
static int
audit_needs_escape(unsigned char c)
{
	return c == '"' || c == '\\' || c < 0x20 || c >= 0x7f;
}

/*
 * The code point of the well-formed UTF-8 sequence at s (at most n bytes),
 * with its length in *len; -1 when it is not one (overlong, surrogate,
 * past U+10FFFF, cut short).
 */
static long
audit_utf8(const unsigned char *s, size_t n, size_t *len)
{
	long	 cp;
	size_t	 need, i;

	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		need = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		need = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		need = 4;
		cp = s[0] & 0x07;
	} else
		return -1;
	if (n < need)
		return -1;
	for (i = 1; i < need; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return -1;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((need == 3 && cp < 0x800) || (need == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return -1;
	*len = need;
	return cp;
}

/* \uXXXX for one UTF-16 unit. */
static void
audit_u16(char *dst, long u)
{
	static const char	 hex[] = "0123456789abcdef";

	dst[0] = '\\';
	dst[1] = 'u';
	dst[2] = hex[(u >> 12) & 0xf];
	dst[3] = hex[(u >> 8) & 0xf];
	dst[4] = hex[(u >> 4) & 0xf];
	dst[5] = hex[u & 0xf];
}

int
audit_json_str(char *dst, size_t cap, size_t *off, const char *src,
    size_t srclen, size_t max)
{
	const unsigned char	*u = (const unsigned char *)src;
	size_t			 o = *off, i, run, len, n = srclen < max ?
				    srclen : max;
	long			 cp;
	unsigned char		 c;

	if (o + 1 >= cap)
		return -1;
	dst[o++] = '"';
	for (i = 0; i < n; ) {
		/* Copy the run of plain bytes at once: most values are one. */
		for (run = i; run < n && !audit_needs_escape(u[run]); run++)
			;
		if (run > i) {
			if (o + (run - i) >= cap)
				goto full;
			memcpy(dst + o, src + i, run - i);
			o += run - i;
			i = run;
			continue;
		}
		c = u[i];
		if (c == '"' || c == '\\') {
			if (o + 2 >= cap)
				goto full;
			dst[o++] = '\\';
			dst[o++] = (char)c;
			i++;
			continue;
		}
		/*
		 * The line stays ASCII: well-formed UTF-8 as the \u escapes
		 * of its code point (a surrogate pair above U+FFFF), anything
		 * else byte by byte as U+FFFD.
		 */
		len = 1;
		if (c < 0x80)
			cp = c;
		else if ((cp = audit_utf8(u + i, n - i, &len)) < 0)
			cp = 0xfffd;
		if (o + 12 >= cap)
			goto full;
		if (cp > 0xffff) {
			audit_u16(dst + o, 0xd800 + ((cp - 0x10000) >> 10));
			audit_u16(dst + o + 6, 0xdc00 + ((cp - 0x10000) & 0x3ff));
			o += 12;
		} else {
			audit_u16(dst + o, cp);
			o += 6;
		}
		i += len;
	}
	if (n < srclen) {
		if (o + 3 >= cap)
			goto full;
		memcpy(dst + o, "...", 3);
		o += 3;
	}
	if (o + 1 >= cap)
		goto full;
	dst[o++] = '"';
	dst[o] = '\0';
	*off = o;
	return 0;
full:
	dst[*off] = '\0';
	return -1;
}

/* A literal (key, punctuation, number): -1 when it does not fit. */
static int
audit_put(char *dst, size_t cap, size_t *off, const char *s, size_t len)
{
	if (*off + len >= cap)
		return -1;
	memcpy(dst + *off, s, len);
	*off += len;
	dst[*off] = '\0';
	return 0;
}

/* ,"key":"value" or ,"key":null */
static int
audit_field(char *dst, size_t cap, size_t *off, const char *key,
    const char *val, size_t max)
{
	int	 rc;

	rc = audit_put(dst, cap, off, ",\"", 2);
	rc |= audit_put(dst, cap, off, key, strlen(key));
	rc |= audit_put(dst, cap, off, "\":", 2);
	if (rc != 0)
		return -1;
	if (val == NULL || val[0] == '\0')
		return audit_put(dst, cap, off, "null", 4);
	return audit_json_str(dst, cap, off, val, strlen(val), max);
}

/* Decimal digits of v into buf (no terminator); returns their count. */
static size_t
audit_digits(char *buf, unsigned long long v)
{
	char	 tmp[24];
	size_t	 n = 0, i;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	for (i = 0; i < n; i++)
		buf[i] = tmp[n - 1 - i];
	return n;
}

/* ,"key":N */
static int
audit_num(char *dst, size_t cap, size_t *off, const char *key, long long v)
{
	char	 buf[96];
	size_t	 n = 0, klen = strlen(key);

	if (klen > 64)
		return -1;
	buf[n++] = ',';
	buf[n++] = '"';
	memcpy(buf + n, key, klen);
	n += klen;
	buf[n++] = '"';
	buf[n++] = ':';
	if (v < 0) {
		buf[n++] = '-';
		n += audit_digits(buf + n, 0ULL - (unsigned long long)v);
	} else
		n += audit_digits(buf + n, (unsigned long long)v);
	return audit_put(dst, cap, off, buf, n);
}

/* RFC 3339 UTC with milliseconds; gmtime_r once a second per thread. */
static int
audit_time(char *dst, size_t cap, size_t *off, const struct timespec *ts)
{
	struct tm	 tm;
	char		 buf[64];
	size_t		 n, tlen;
	long		 ms = ts->tv_nsec / 1000000;

	if (ts->tv_sec != audit_tsec) {
		if (gmtime_r(&ts->tv_sec, &tm) == NULL ||
		    strftime(audit_tbuf, sizeof(audit_tbuf),
		    "%Y-%m-%dT%H:%M:%S", &tm) == 0)
			return -1;
		audit_tsec = ts->tv_sec;
	}
	tlen = strlen(audit_tbuf);
	if (tlen + 16 > sizeof(buf) || ms < 0 || ms > 999)
		return -1;
	memcpy(buf, "{\"time\":\"", 9);
	memcpy(buf + 9, audit_tbuf, tlen);
	n = 9 + tlen;
	buf[n++] = '.';
	buf[n++] = (char)('0' + ms / 100);
	buf[n++] = (char)('0' + ms / 10 % 10);
	buf[n++] = (char)('0' + ms % 10);
	buf[n++] = 'Z';
	buf[n++] = '"';
	return audit_put(dst, cap, off, buf, n);
}

void
audit_write(const struct audit_record *r)
{
	char		*b = audit_line, rid[AUDIT_REQUEST_ID_MAX + 1];
	size_t		 cap = sizeof(audit_line), off = 0;
	int		 fd, rc;

	if ((fd = atomic_load_explicit(&audit_fd, memory_order_relaxed)) == -1)
		return;
	if (r->request_id == NULL)
		snprintf(rid, sizeof(rid), "authd-%s-%012llx", audit_boot,
		    (unsigned long long)atomic_fetch_add_explicit(&audit_seq, 1,
		    memory_order_relaxed));
	rc = audit_time(b, cap, &off, &r->when);
	rc |= audit_field(b, cap, &off, "request_id", r->request_id != NULL ?
	    r->request_id : rid, AUDIT_REQUEST_ID_MAX);
	rc |= audit_num(b, cap, &off, "status", r->status);
	rc |= audit_field(b, cap, &off, "reason", r->reason, AUDIT_SHORT_MAX);
	rc |= audit_field(b, cap, &off, "rule", r->rule, AUDIT_SHORT_MAX);
	rc |= audit_field(b, cap, &off, "ruleset", r->ruleset,
	    AUDIT_RULESET_MAX);
	rc |= audit_field(b, cap, &off, "subject", r->subject, AUDIT_DN_MAX);
	rc |= audit_field(b, cap, &off, "issuer", r->issuer, AUDIT_DN_MAX);
	rc |= audit_field(b, cap, &off, "serial", r->serial, AUDIT_SHORT_MAX);
	rc |= audit_field(b, cap, &off, "fingerprint", r->fingerprint,
	    AUDIT_SHORT_MAX);
	rc |= audit_field(b, cap, &off, "revocation", r->revocation,
	    AUDIT_SHORT_MAX);
	if (r->revocation_age >= 0)
		rc |= audit_num(b, cap, &off, "revocation_age",
		    r->revocation_age);
	rc |= audit_put(b, cap, &off, r->cached ? ",\"cached\":true" :
	    ",\"cached\":false", r->cached ? 14 : 15);
	rc |= audit_num(b, cap, &off, "latency_us", (long long)r->latency_us);
	rc |= audit_field(b, cap, &off, "method", r->method, AUDIT_METHOD_MAX);
	rc |= audit_field(b, cap, &off, "uri", r->uri, AUDIT_URI_MAX);
	rc |= audit_field(b, cap, &off, "host", r->host, AUDIT_HOST_MAX);
	rc |= audit_field(b, cap, &off, "client_verify", r->client_verify,
	    AUDIT_VERIFY_MAX);
	if (r->upn != NULL && r->upn[0] != '\0')
		rc |= audit_field(b, cap, &off, "upn", r->upn, AUDIT_SHORT_MAX);
	if (r->fascn != NULL && r->fascn[0] != '\0')
		rc |= audit_field(b, cap, &off, "fascn", r->fascn,
		    AUDIT_SHORT_MAX);
	if (r->uuid != NULL && r->uuid[0] != '\0')
		rc |= audit_field(b, cap, &off, "uuid", r->uuid, AUDIT_SHORT_MAX);
	if (r->cert_policy != NULL && r->cert_policy[0] != '\0')
		rc |= audit_field(b, cap, &off, "policy", r->cert_policy,
		    AUDIT_SHORT_MAX);
	rc |= audit_put(b, cap, &off, "}\n", 2);
	if (rc != 0) {
		/* Cannot happen with these bounds; never write half a line. */
		atomic_fetch_add_explicit(&audit_nerrors, 1,
		    memory_order_relaxed);
		return;
	}
	pthread_mutex_lock(&audit_qlock);
	while (audit_wrunning && !audit_wstop &&
	    audit_qlen + off > AUDIT_BUF_SIZE) {
		pthread_cond_signal(&audit_qwake);
		pthread_cond_wait(&audit_qspace, &audit_qlock);
	}
	if (!audit_wrunning || audit_wstop) {
		/* No writer (none could start, or stopping): in place. */
		pthread_mutex_unlock(&audit_qlock);
		audit_out(b, off);
		return;
	}
	memcpy(audit_qbuf + audit_qlen, b, off);
	audit_qlen += off;
	if (audit_qlen >= AUDIT_BUF_SIZE / 2)
		pthread_cond_signal(&audit_qwake);
	pthread_mutex_unlock(&audit_qlock);
}
