/*
 * fetch.c: a small blocking HTTP/1.1 client and the fetch thread pool.
 *
 * One connection per fetch (Connection: close), no redirects, no TLS, no
 * keep-alive, no content codings: revocation data is signed, small and
 * fetched rarely, so the client stays small enough to read in one sitting.
 * The socket is non-blocking and every connect, send and recv first polls
 * with what is left of one deadline, so a fetch never outlives timeout_ms
 * (getaddrinfo aside).  Everything the server sends is bounded: the header
 * section, the number of headers, each line, chunk sizes and the body.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdatomic.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "fetch.h"

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL	 0	/* then SO_NOSIGPIPE is set on the socket */
#endif

#define FETCH_RBUF		 16384	/* socket read buffer */
#define FETCH_CHUNK_DIGITS	 15	/* hex digits of a chunk size: < 2^60 */
#define FETCH_REQ_MAX		 (FETCH_URL_MAX + 2 * FETCH_VALIDATOR_MAX + 1024)
#define FETCH_CTYPE_MAX		 128
#define FETCH_SHOW_MAX		 120	/* server text quoted in an error */

/*
 * One connection: the socket, its deadline and a read buffer.  With fd -1
 * the bytes come from mem instead (fetch_parse_response), through the same
 * buffer, so both paths run the same parser.
 */
struct fetch_conn {
	int			 fd;
	const unsigned char	*mem;
	size_t			 memleft;
	long long		 deadline;	/* monotonic ms */
	int			 timeout_ms;
	struct fetch_result	*res;
	size_t			 hdr_left;	/* FETCH_HEADERS_MAX budget */
	size_t			 pos, end;
	unsigned char		 buf[FETCH_RBUF];
};

/* What the header section said, as far as the body is concerned. */
struct fetch_head {
	int			 status;
	int			 chunked;
	int			 has_length;
	unsigned long long	 length;
	char			 reason[64];
	char			 location[FETCH_SHOW_MAX];
	char			 etag[FETCH_VALIDATOR_MAX];
	char			 last_modified[FETCH_VALIDATOR_MAX];
};

static void	 fetch_fail(struct fetch_result *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

static long long
fetch_now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The first reason wins: later failures are mostly its consequences. */
static void
fetch_fail(struct fetch_result *res, const char *fmt, ...)
{
	va_list	 ap;

	if (res->error[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(res->error, sizeof(res->error), fmt, ap);
	va_end(ap);
}

/* Printable copy of server- or caller-supplied text for a message. */
static void
fetch_show(char *dst, size_t dstlen, const char *src, size_t srclen)
{
	size_t	 i, o = 0;

	for (i = 0; i < srclen && o + 4 < dstlen; i++) {
		unsigned char	 ch = (unsigned char)src[i];

		dst[o++] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
	}
	if (i < srclen && dstlen >= 4) {
		memcpy(dst + o, "...", 3);
		o += 3;
	}
	if (dstlen > 0)
		dst[o] = '\0';
}

static int
fetch_is_digit(int ch)
{
	return ch >= '0' && ch <= '9';
}

static int
fetch_hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* Whether s (up to max bytes, NUL-terminated before) is printable ASCII. */
static int
fetch_printable(const char *s, size_t max)
{
	size_t	 i;

	for (i = 0; s[i] != '\0'; i++)
		if (i >= max || (unsigned char)s[i] < 0x20 ||
		    (unsigned char)s[i] >= 0x7f)
			return 0;
	return 1;
}

int
fetch_parse_url(const char *url, char *host, size_t hostlen, char *port,
    size_t portlen, char *path, size_t pathlen)
{
	const char	*auth, *aend, *h, *hend, *p;
	unsigned long	 pn = 80;
	size_t		 len, i, hl, pl;
	char		 v6[INET6_ADDRSTRLEN];
	struct in6_addr	 a6;
	int		 n;

	if (url == NULL || host == NULL || port == NULL || path == NULL)
		return -1;
	if ((len = strnlen(url, FETCH_URL_MAX + 1)) > FETCH_URL_MAX)
		return -1;
	for (i = 0; i < len; i++)
		if ((unsigned char)url[i] <= 0x20 ||
		    (unsigned char)url[i] >= 0x7f || url[i] == '#')
			return -1;
	if (strncasecmp(url, "http://", 7) != 0)
		return -1;
	auth = url + 7;
	aend = auth + strcspn(auth, "/?");
	if (memchr(auth, '@', (size_t)(aend - auth)) != NULL)
		return -1;

	if (*auth == '[') {
		h = auth + 1;
		if ((hend = memchr(h, ']', (size_t)(aend - h))) == NULL)
			return -1;
		hl = (size_t)(hend - h);
		if (hl == 0 || hl >= sizeof(v6))
			return -1;
		memcpy(v6, h, hl);
		v6[hl] = '\0';
		if (inet_pton(AF_INET6, v6, &a6) != 1)
			return -1;
		p = hend + 1;
	} else {
		h = auth;
		for (hend = h; hend < aend && *hend != ':'; hend++)
			if (!(fetch_is_digit(*hend) ||
			    (*hend >= 'a' && *hend <= 'z') ||
			    (*hend >= 'A' && *hend <= 'Z') ||
			    *hend == '-' || *hend == '.' || *hend == '_'))
				return -1;
		hl = (size_t)(hend - h);
		if (hl == 0)
			return -1;
		p = hend;
	}
	if (p < aend) {
		if (*p++ != ':' || aend - p < 1 || aend - p > 5)
			return -1;
		for (pn = 0; p < aend; p++) {
			if (!fetch_is_digit(*p))
				return -1;
			pn = pn * 10 + (unsigned long)(*p - '0');
		}
		if (pn == 0 || pn > 65535)
			return -1;
	}

	if (hl >= hostlen)
		return -1;
	n = snprintf(port, portlen, "%lu", pn);
	if (n < 0 || (size_t)n >= portlen)
		return -1;
	pl = strlen(aend);
	if (pl + (*aend != '/') + 1 > pathlen)
		return -1;
	memcpy(host, h, hl);
	host[hl] = '\0';
	i = 0;
	if (*aend != '/')
		path[i++] = '/';
	memcpy(path + i, aend, pl + 1);
	return 0;
}

#define FETCH_ABORT_SLICE_MS	 100
static atomic_int	 fetch_aborting;

void
fetch_abort(void)
{
	atomic_store(&fetch_aborting, 1);
}

/*
 * Wait until fd is ready for events or the deadline passes; what names the
 * phase for the timeout message.
 */
static int
conn_wait(struct fetch_conn *c, short events, const char *what)
{
	struct pollfd	 pfd;
	long long	 left;
	int		 n;

	for (;;) {
		if ((left = c->deadline - fetch_now()) <= 0) {
			fetch_fail(c->res, "timeout after %d ms %s",
			    c->timeout_ms, what);
			return AUTHD_EIO;
		}
		if (atomic_load_explicit(&fetch_aborting, memory_order_relaxed)) {
			fetch_fail(c->res, "abandoned %s: shutting down", what);
			return AUTHD_EIO;
		}
		pfd.fd = c->fd;
		pfd.events = events;
		pfd.revents = 0;
		/* In slices, so that fetch_abort is seen soon. */
		n = poll(&pfd, 1, left > FETCH_ABORT_SLICE_MS ?
		    FETCH_ABORT_SLICE_MS : (int)left);
		if (n > 0)
			return 0;	/* errors and hangups: the call says */
		if (n < 0 && errno != EINTR) {
			fetch_fail(c->res, "poll: %s", strerror(errno));
			return AUTHD_ESYS;
		}
	}
}

static int
conn_send(struct fetch_conn *c, const void *data, size_t len)
{
	const unsigned char	*p = data;
	ssize_t			 n;
	int			 rv;

	while (len > 0) {
		if ((rv = conn_wait(c, POLLOUT, "sending the request")) != 0)
			return rv;
		if ((n = send(c->fd, p, len, MSG_NOSIGNAL)) < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK ||
			    errno == EINTR)
				continue;
			if (errno == EPIPE || errno == ECONNRESET)
				fetch_fail(c->res, "connection reset by peer "
				    "while sending the request");
			else
				fetch_fail(c->res, "send: %s", strerror(errno));
			return AUTHD_EIO;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Make buffered bytes available: 1, 0 at end of stream, or an error. */
static int
conn_fill(struct fetch_conn *c, const char *what)
{
	ssize_t	 n;
	int	 rv;

	if (c->pos < c->end)
		return 1;
	if (c->fd < 0) {
		if (c->memleft == 0)
			return 0;
		c->end = c->memleft < sizeof(c->buf) ? c->memleft :
		    sizeof(c->buf);
		memcpy(c->buf, c->mem, c->end);
		c->mem += c->end;
		c->memleft -= c->end;
		c->pos = 0;
		return 1;
	}
	for (;;) {
		if ((rv = conn_wait(c, POLLIN, what)) != 0)
			return rv;
		if ((n = recv(c->fd, c->buf, sizeof(c->buf), 0)) > 0) {
			c->pos = 0;
			c->end = (size_t)n;
			return 1;
		}
		if (n == 0)
			return 0;
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			continue;
		if (errno == ECONNRESET)
			fetch_fail(c->res, "connection reset by peer %s", what);
		else
			fetch_fail(c->res, "recv: %s", strerror(errno));
		return AUTHD_EIO;
	}
}

/*
 * One line, LF or CRLF stripped, into line (cap bytes with the NUL).
 * Header lines count against hdr_left; chunk-size lines do not (the body
 * cap bounds those).
 */
static int
conn_line(struct fetch_conn *c, char *line, size_t cap, int header,
    const char *what)
{
	size_t	 len = 0;
	int	 rv;

	for (;;) {
		if ((rv = conn_fill(c, what)) < 0)
			return rv;
		if (rv == 0) {
			fetch_fail(c->res, "connection closed %s", what);
			return AUTHD_EIO;
		}
		if (header) {
			if (c->hdr_left == 0) {
				fetch_fail(c->res, "response headers larger "
				    "than %d bytes", FETCH_HEADERS_MAX);
				return AUTHD_ERANGE;
			}
			c->hdr_left--;
		}
		if (c->buf[c->pos] == '\n') {
			c->pos++;
			break;
		}
		if (c->buf[c->pos] == '\0') {
			/* C strings from here on: a NUL would cut the line. */
			fetch_fail(c->res, "NUL byte in a line %s", what);
			return AUTHD_EIO;
		}
		if (len + 1 >= cap) {
			fetch_fail(c->res, "line longer than %zu bytes %s",
			    cap - 1, what);
			return AUTHD_ERANGE;
		}
		line[len++] = (char)c->buf[c->pos++];
	}
	if (len > 0 && line[len - 1] == '\r')
		len--;
	line[len] = '\0';
	return 0;
}

/* "HTTP/1.x NNN reason"; 0 or -1. */
static int
parse_status(const char *line, struct fetch_head *hd)
{
	const char	*s = line;

	if (strncmp(s, "HTTP/1.", 7) != 0 || !fetch_is_digit(s[7]) ||
	    s[8] != ' ')
		return -1;
	s += 9;
	if (!fetch_is_digit(s[0]) || !fetch_is_digit(s[1]) ||
	    !fetch_is_digit(s[2]) || (s[3] != ' ' && s[3] != '\0'))
		return -1;
	hd->status = (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
	if (hd->status < 100 || hd->status > 599)
		return -1;
	s += 3;
	while (*s == ' ')
		s++;
	fetch_show(hd->reason, sizeof(hd->reason), s, strlen(s));
	return 0;
}

static int
is_tchar(int ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	    fetch_is_digit(ch) || (ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch)
	    != NULL);
}

/* A validator is kept only whole and printable: it goes back in a header. */
static void
keep_validator(char *dst, const char *value)
{
	size_t	 len = strlen(value);

	if (len >= FETCH_VALIDATOR_MAX || !fetch_printable(value, len))
		dst[0] = '\0';
	else
		memcpy(dst, value, len + 1);
}

static int
parse_length(struct fetch_conn *c, struct fetch_head *hd, const char *value)
{
	unsigned long long	 v = 0;
	const char		*s;

	for (s = value; fetch_is_digit(*s); s++) {
		if (v > (ULLONG_MAX - 9) / 10)
			break;
		v = v * 10 + (unsigned long long)(*s - '0');
	}
	if (s == value || *s != '\0' || (hd->has_length && hd->length != v)) {
		fetch_fail(c->res, "invalid Content-Length in response");
		return AUTHD_EIO;
	}
	hd->has_length = 1;
	hd->length = v;
	return 0;
}

/* One "name: value" line; the headers the client acts on are recorded. */
static int
parse_header(struct fetch_conn *c, struct fetch_head *hd, char *line)
{
	char	 show[48];
	char	*colon, *value, *e;

	for (colon = line; is_tchar((unsigned char)*colon); colon++)
		;
	if (colon == line || *colon != ':') {
		/* line is whole: shown as it came, up to its NUL */
		fetch_show(show, sizeof(show), line, strlen(line));
		goto bad;
	}
	*colon = '\0';
	value = colon + 1;
	while (*value == ' ' || *value == '\t')
		value++;
	for (e = value; *e != '\0'; e++)
		if (((unsigned char)*e < 0x20 && *e != '\t') ||
		    (unsigned char)*e == 0x7f) {
			*colon = ':';	/* the line is shown whole */
			fetch_show(show, sizeof(show), line, strlen(line));
			goto bad;
		}
	while (e > value && (e[-1] == ' ' || e[-1] == '\t'))
		*--e = '\0';

	if (strcasecmp(line, "Content-Length") == 0)
		return parse_length(c, hd, value);
	if (strcasecmp(line, "Transfer-Encoding") == 0) {
		if (strcasecmp(value, "chunked") != 0) {
			fetch_show(show, sizeof(show), value, strlen(value));
			fetch_fail(c->res, "unsupported Transfer-Encoding "
			    "\"%s\"", show);
			return AUTHD_EIO;
		}
		hd->chunked = 1;
	} else if (strcasecmp(line, "ETag") == 0)
		keep_validator(hd->etag, value);
	else if (strcasecmp(line, "Last-Modified") == 0)
		keep_validator(hd->last_modified, value);
	else if (strcasecmp(line, "Location") == 0)
		fetch_show(hd->location, sizeof(hd->location), value,
		    strlen(value));
	return 0;
bad:
	fetch_fail(c->res, "malformed header line \"%s\"", show);
	return AUTHD_EIO;
}

/* Header lines up to the empty one; count limits headers or trailers. */
static int
read_fields(struct fetch_conn *c, struct fetch_head *hd, char *line,
    const char *what)
{
	int	 count, rv;

	for (count = 0;; count++) {
		if ((rv = conn_line(c, line, FETCH_LINE_MAX, 1, what)) != 0)
			return rv;
		if (line[0] == '\0')
			return 0;
		if (count == FETCH_HEADERS_COUNT) {
			fetch_fail(c->res, "more than %d header lines in "
			    "response", FETCH_HEADERS_COUNT);
			return AUTHD_ERANGE;
		}
		if (hd == NULL)
			continue;	/* trailers: counted, not used */
		if ((rv = parse_header(c, hd, line)) != 0)
			return rv;
	}
}

/* Status line and headers of the final answer, 1xx answers skipped. */
static int
read_head(struct fetch_conn *c, struct fetch_head *hd, char *line)
{
	char	 show[48];
	int	 rv;

	for (;;) {
		memset(hd, 0, sizeof(*hd));
		rv = conn_line(c, line, FETCH_LINE_MAX, 1,
		    "waiting for the status line");
		if (rv != 0)
			return rv;
		if (parse_status(line, hd) != 0) {
			fetch_show(show, sizeof(show), line, strlen(line));
			fetch_fail(c->res, "malformed status line \"%s\"",
			    show);
			return AUTHD_EIO;
		}
		if ((rv = read_fields(c, hd, line, "reading headers")) != 0)
			return rv;
		if (hd->status == 101) {
			fetch_fail(c->res, "unexpected HTTP 101");
			return AUTHD_EIO;
		}
		if (hd->status >= 200)
			return 0;
	}
}

/* Room for n more bytes of body, within max_size; the NUL is extra. */
static int
body_reserve(struct fetch_conn *c, size_t *cap, size_t n, size_t max)
{
	struct fetch_result	*res = c->res;
	unsigned char		*nb;
	size_t			 want;

	if (n > max - res->len) {
		fetch_fail(res, "response larger than %zu bytes", max);
		return AUTHD_ERANGE;
	}
	if (res->len + n + 1 <= *cap)
		return 0;
	want = *cap < 4096 ? 4096 : *cap;
	while (want < res->len + n + 1)
		want = want > SIZE_MAX / 2 ? SIZE_MAX : want * 2;
	if (want > max + 1)
		want = max + 1;
	if ((nb = realloc(res->body, want)) == NULL) {
		fetch_fail(res, "out of memory for a %zu byte body", want);
		return AUTHD_ENOMEM;
	}
	res->body = nb;
	*cap = want;
	return 0;
}

/* Up to n body bytes from the connection (all n unless to_close). */
static int
body_read(struct fetch_conn *c, size_t *cap, unsigned long long n,
    size_t max, int to_close)
{
	struct fetch_result	*res = c->res;
	size_t			 take;
	int			 rv;

	while (to_close || n > 0) {
		if ((rv = conn_fill(c, "reading the body")) < 0)
			return rv;
		if (rv == 0) {
			if (to_close)
				return 0;
			fetch_fail(res, "connection closed %llu bytes before "
			    "the end of the body", n);
			return AUTHD_EIO;
		}
		take = c->end - c->pos;
		if (!to_close && n < take)
			take = (size_t)n;
		if ((rv = body_reserve(c, cap, take, max)) != 0)
			return rv;
		memcpy(res->body + res->len, c->buf + c->pos, take);
		res->len += take;
		c->pos += take;
		n -= take;
	}
	return 0;
}

static int
parse_chunk_size(const char *line, unsigned long long *size)
{
	unsigned long long	 v = 0;
	const char		*s;
	int			 d;

	for (s = line; (d = fetch_hexval((unsigned char)*s)) >= 0; s++) {
		if (s - line == FETCH_CHUNK_DIGITS)
			return -1;
		v = v << 4 | (unsigned long long)d;
	}
	if (s == line)
		return -1;
	while (*s == ' ' || *s == '\t')
		s++;
	if (*s != '\0' && *s != ';')
		return -1;
	*size = v;
	return 0;
}

/* The CRLF (or bare LF) that ends chunk data. */
static int
chunk_end(struct fetch_conn *c)
{
	unsigned char	 ch;
	int		 i, rv;

	for (i = 0; i < 2; i++) {
		if ((rv = conn_fill(c, "after a chunk")) < 0)
			return rv;
		if (rv == 0)
			break;
		ch = c->buf[c->pos++];
		if (ch == '\n')
			return 0;
		if (ch != '\r')
			break;
	}
	fetch_fail(c->res, "bad chunk: no CRLF after the chunk data");
	return AUTHD_EIO;
}

static int
body_chunked(struct fetch_conn *c, size_t *cap, size_t max, char *line)
{
	unsigned long long	 size;
	char			 show[48];
	int			 rv;

	for (;;) {
		rv = conn_line(c, line, FETCH_LINE_MAX, 0,
		    "reading a chunk size");
		if (rv != 0)
			return rv;
		if (parse_chunk_size(line, &size) != 0) {
			fetch_show(show, sizeof(show), line, strlen(line));
			fetch_fail(c->res, "bad chunk size \"%s\"", show);
			return AUTHD_EIO;
		}
		if (size == 0)
			break;
		if (size > max - c->res->len) {
			fetch_fail(c->res, "response larger than %zu bytes",
			    max);
			return AUTHD_ERANGE;
		}
		if ((rv = body_read(c, cap, size, max, 0)) != 0)
			return rv;
		if ((rv = chunk_end(c)) != 0)
			return rv;
	}
	return read_fields(c, NULL, line, "reading trailers");
}

/* Read and judge the answer: the status decides whether a body follows. */
static int
read_response(struct fetch_conn *c, size_t max_size)
{
	struct fetch_result	*res = c->res;
	struct fetch_head	 hd;
	size_t			 cap = 0;
	char			*line = NULL;
	int			 rv;

	if ((line = malloc(FETCH_LINE_MAX)) == NULL) {
		rv = AUTHD_ENOMEM;
		goto end;
	}
	if ((rv = read_head(c, &hd, line)) != 0)
		goto end;
	res->status = hd.status;
	if (hd.status == 304) {
		res->not_modified = 1;
		goto validators;
	}
	if (hd.status >= 300 && hd.status < 400 && hd.location[0] != '\0') {
		fetch_fail(res, "HTTP %d: redirect to %s not followed",
		    hd.status, hd.location);
		rv = AUTHD_EIO;
		goto end;
	}
	if (hd.status >= 300 || hd.status == 206) {	/* 206: never asked */
		fetch_fail(res, "HTTP %d %s", hd.status, hd.reason);
		rv = AUTHD_EIO;
		goto end;
	}

	if (hd.status == 204 || hd.status == 205)
		rv = 0;
	else if (hd.chunked)
		rv = body_chunked(c, &cap, max_size, line);
	else if (hd.has_length) {
		if (hd.length > max_size) {
			fetch_fail(res, "response larger than %zu bytes "
			    "(Content-Length %llu)", max_size, hd.length);
			rv = AUTHD_ERANGE;
			goto end;
		}
		if ((rv = body_reserve(c, &cap, (size_t)hd.length,
		    max_size)) == 0)
			rv = body_read(c, &cap, hd.length, max_size, 0);
	} else
		rv = body_read(c, &cap, 0, max_size, 1);
	if (rv != 0)
		goto end;
	if ((rv = body_reserve(c, &cap, 0, max_size)) != 0)
		goto end;
	res->body[res->len] = '\0';
validators:
	memcpy(res->etag, hd.etag, sizeof(res->etag));
	memcpy(res->last_modified, hd.last_modified,
	    sizeof(res->last_modified));
end:
	free(line);
	return rv;
}

/* Format into buf at *off; AUTHD_ERANGE when it does not fit. */
static int	 req_add(char *, size_t, size_t *, const char *, ...)
		    __attribute__((format(printf, 4, 5)));

static int
req_add(char *buf, size_t cap, size_t *off, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(buf + *off, cap - *off, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= cap - *off)
		return AUTHD_ERANGE;
	*off += (size_t)n;
	return 0;
}

/* Caller text that goes into a header line must not be able to add one. */
static int
check_field(struct fetch_result *res, const char *name, const char *value,
    size_t max)
{
	if (value == NULL || fetch_printable(value, max))
		return 0;
	fetch_fail(res, "invalid %s in request: printable ASCII shorter than "
	    "%zu bytes only", name, max + 1);
	return AUTHD_EINVAL;
}

static int
build_request(const struct fetch_request *rq, const char *host,
    const char *port, const char *path, char *buf, size_t cap, size_t *len)
{
	const char	*ct;
	int		 v6 = strchr(host, ':') != NULL;
	int		 rv;

	*len = 0;
	rv = req_add(buf, cap, len, "%s %s HTTP/1.1\r\nHost: %s%s%s%s%s\r\n"
	    "Connection: close\r\nUser-Agent: authd/%s\r\nAccept: */*\r\n",
	    rq->body != NULL ? "POST" : "GET", path, v6 ? "[" : "", host,
	    v6 ? "]" : "", strcmp(port, "80") != 0 ? ":" : "",
	    strcmp(port, "80") != 0 ? port : "", AUTHD_VERSION);
	if (rv == 0 && rq->etag != NULL && rq->etag[0] != '\0')
		rv = req_add(buf, cap, len, "If-None-Match: %s\r\n", rq->etag);
	if (rv == 0 && rq->last_modified != NULL &&
	    rq->last_modified[0] != '\0')
		rv = req_add(buf, cap, len, "If-Modified-Since: %s\r\n",
		    rq->last_modified);
	if (rv == 0 && rq->body != NULL) {
		ct = rq->content_type != NULL ? rq->content_type :
		    "application/octet-stream";
		rv = req_add(buf, cap, len, "Content-Type: %s\r\n"
		    "Content-Length: %zu\r\n", ct, rq->body_len);
	}
	if (rv == 0)
		rv = req_add(buf, cap, len, "\r\n");
	return rv;
}

static int
sock_open(int family, int proto)
{
	int	 fd;
#ifdef SO_NOSIGPIPE
	int	 one = 1;
#endif

#if defined(SOCK_CLOEXEC) && defined(SOCK_NONBLOCK)
	fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, proto);
#else
	if ((fd = socket(family, SOCK_STREAM, proto)) >= 0 &&
	    (fcntl(fd, F_SETFD, FD_CLOEXEC) == -1 ||
	    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == -1)) {
		close(fd);
		fd = -1;
	}
#endif
#ifdef SO_NOSIGPIPE
	if (fd >= 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one,
		    sizeof(one));
#endif
	return fd;
}

/* Try each address until one connects or the connect deadline passes. */
static int
conn_open(struct fetch_conn *c, const char *host, const char *port,
    long long start, int cto)
{
	struct addrinfo	 hints, *ai = NULL, *a;
	char		 addr[NI_MAXHOST];
	long long	 saved = c->deadline;
	socklen_t	 sl;
	int		 gai, fd = -1, soerr, rv = AUTHD_EIO;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	if (strchr(host, ':') != NULL)
		hints.ai_flags |= AI_NUMERICHOST;
	if ((gai = getaddrinfo(host, port, &hints, &ai)) != 0) {
		fetch_fail(c->res, "cannot resolve host %s: %s", host,
		    gai == EAI_SYSTEM ? strerror(errno) : gai_strerror(gai));
		goto end;
	}
	if (cto <= 0 || cto > c->timeout_ms)
		cto = c->timeout_ms;
	c->deadline = start + cto;
	for (a = ai; a != NULL; a = a->ai_next) {
		if (getnameinfo(a->ai_addr, a->ai_addrlen, addr, sizeof(addr),
		    NULL, 0, NI_NUMERICHOST) != 0)
			snprintf(addr, sizeof(addr), "%s", host);
		if ((c->fd = fd = sock_open(a->ai_family, a->ai_protocol)) < 0) {
			c->res->error[0] = '\0';	/* the last address speaks */
			fetch_fail(c->res, "socket for %s: %s", addr,
			    strerror(errno));
			continue;
		}
		if (connect(fd, a->ai_addr, a->ai_addrlen) == 0)
			break;
		if (errno != EINPROGRESS && errno != EINTR) {
			soerr = errno;
			goto next;
		}
		if ((rv = conn_wait(c, POLLOUT, "connecting")) != 0) {
			if (rv == AUTHD_EIO) {	/* the deadline, not poll */
				c->res->error[0] = '\0';
				fetch_fail(c->res, "connect to %s port %s timed "
				    "out after %d ms", addr, port, cto);
			}
			goto end;
		}
		rv = AUTHD_EIO;
		sl = sizeof(soerr);
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0)
			soerr = errno;
		if (soerr == 0)
			break;
next:
		c->res->error[0] = '\0';	/* the last address speaks */
		fetch_fail(c->res, "connect to %s port %s: %s", addr, port,
		    strerror(soerr));
		close(fd);
		c->fd = fd = -1;
	}
	if (a != NULL)
		rv = 0;
end:
	if (rv != 0 && c->fd >= 0) {
		close(c->fd);
		c->fd = -1;
	}
	c->deadline = saved;
	if (ai != NULL)
		freeaddrinfo(ai);
	return rv;
}

static void
conn_init(struct fetch_conn *c, struct fetch_result *res, long long start,
    int timeout_ms)
{
	c->fd = -1;
	c->mem = NULL;
	c->memleft = 0;
	c->res = res;
	c->timeout_ms = timeout_ms;
	c->deadline = start + timeout_ms;
	c->hdr_left = FETCH_HEADERS_MAX;
	c->pos = c->end = 0;
}

/* What every fetch ends with: on failure, nothing of the answer is kept. */
static int
fetch_finish(struct fetch_result *res, int rv, long long start)
{
	if (rv != 0) {
		fetch_fail(res, "%s", err_str(rv));
		free(res->body);
		res->body = NULL;
		res->len = 0;
		res->not_modified = 0;
		res->etag[0] = res->last_modified[0] = '\0';
	}
	res->ok = rv == 0;
	res->elapsed_ms = (long)(fetch_now() - start);
	return rv;
}

int
fetch_http(const struct fetch_request *rq, struct fetch_result *res)
{
	char			 host[256], port[8], path[FETCH_URL_MAX + 2];
	char			 req[FETCH_REQ_MAX], show[FETCH_SHOW_MAX];
	struct fetch_conn	*c = NULL;
	long long		 start = fetch_now();
	size_t			 reqlen;
	int			 rv;

	if (res == NULL)
		return AUTHD_EINVAL;
	memset(res, 0, sizeof(*res));
	if (rq == NULL || rq->url == NULL) {
		fetch_fail(res, "no URL");
		rv = AUTHD_EINVAL;
		goto end;
	}
	if (fetch_parse_url(rq->url, host, sizeof(host), port, sizeof(port),
	    path, sizeof(path)) != 0) {
		fetch_show(show, sizeof(show), rq->url,
		    strnlen(rq->url, FETCH_URL_MAX + 1));
		fetch_fail(res, "invalid URL \"%s\": http://host[:port]/path "
		    "only", show);
		rv = AUTHD_EINVAL;
		goto end;
	}
	/* max_size bound: body_reserve's arithmetic then cannot overflow */
	if (rq->timeout_ms <= 0 || rq->max_size > SIZE_MAX / 4 ||
	    (rq->body == NULL && rq->body_len != 0)) {
		fetch_fail(res, "invalid request: timeout_ms %d, max_size %zu, "
		    "body_len %zu", rq->timeout_ms, rq->max_size, rq->body_len);
		rv = AUTHD_EINVAL;
		goto end;
	}
	if ((rv = check_field(res, "ETag", rq->etag,
	    FETCH_VALIDATOR_MAX - 1)) != 0 ||
	    (rv = check_field(res, "Last-Modified", rq->last_modified,
	    FETCH_VALIDATOR_MAX - 1)) != 0 ||
	    (rv = check_field(res, "Content-Type", rq->content_type,
	    FETCH_CTYPE_MAX)) != 0)
		goto end;
	if ((rv = build_request(rq, host, port, path, req, sizeof(req),
	    &reqlen)) != 0) {
		fetch_fail(res, "request header too long");
		goto end;
	}

	if ((c = malloc(sizeof(*c))) == NULL) {
		rv = AUTHD_ENOMEM;
		goto end;
	}
	conn_init(c, res, start, rq->timeout_ms);
	if ((rv = conn_open(c, host, port, start, rq->connect_timeout_ms)) != 0)
		goto end;
	if ((rv = conn_send(c, req, reqlen)) != 0)
		goto end;
	if (rq->body != NULL && (rv = conn_send(c, rq->body,
	    rq->body_len)) != 0)
		goto end;
	rv = read_response(c, rq->max_size);
end:
	if (c != NULL && c->fd >= 0)
		close(c->fd);
	free(c);
	return fetch_finish(res, rv, start);
}

int
fetch_parse_response(const unsigned char *data, size_t len, size_t max_size,
    struct fetch_result *res)
{
	struct fetch_conn	*c = NULL;
	long long		 start = fetch_now();
	int			 rv;

	if (res == NULL)
		return AUTHD_EINVAL;
	memset(res, 0, sizeof(*res));
	if ((data == NULL && len != 0) || max_size > SIZE_MAX / 4) {
		fetch_fail(res, "invalid request: max_size %zu", max_size);
		rv = AUTHD_EINVAL;
		goto end;
	}
	if ((c = malloc(sizeof(*c))) == NULL) {
		rv = AUTHD_ENOMEM;
		goto end;
	}
	conn_init(c, res, start, INT_MAX);
	c->mem = data;
	c->memleft = len;
	rv = read_response(c, max_size);
end:
	free(c);
	return fetch_finish(res, rv, start);
}

void
fetch_result_cleanup(struct fetch_result *res)
{
	if (res == NULL)
		return;
	free(res->body);
	res->body = NULL;
	res->len = 0;
}

/* The pool: a mutex, one condition and a ring of waiting jobs. */
struct fetch_slot {
	fetch_job_fn	 run;
	void		*job;
};

struct fetch_pool {
	pthread_mutex_t		 lock;
	pthread_cond_t		 cond;
	struct fetch_slot	*ring;
	size_t			 cap, head, count;
	int			 stopping;
	unsigned int		 nthreads;	/* started */
	pthread_t		*threads;
};

static void *
fetch_worker(void *arg)
{
	struct fetch_pool	*pool = arg;
	struct fetch_slot	 s;

	pthread_mutex_lock(&pool->lock);
	for (;;) {
		while (pool->count == 0 && !pool->stopping)
			pthread_cond_wait(&pool->cond, &pool->lock);
		if (pool->count == 0)
			break;		/* stopping and drained */
		s = pool->ring[pool->head];
		pool->head = (pool->head + 1) % pool->cap;
		pool->count--;
		pthread_mutex_unlock(&pool->lock);
		s.run(s.job);
		pthread_mutex_lock(&pool->lock);
	}
	pthread_mutex_unlock(&pool->lock);
	return NULL;
}

int
fetch_pool_new(unsigned int threads, size_t max_queue,
    struct fetch_pool **out)
{
	struct fetch_pool	*pool = NULL;
	sigset_t		 block, old;
	int			 rv = AUTHD_OK, masked = 0;

	if (out == NULL || threads == 0 || threads > FETCH_POOL_THREADS_MAX ||
	    max_queue == 0 || max_queue > SIZE_MAX / sizeof(struct fetch_slot))
		return AUTHD_EINVAL;
	*out = NULL;
	if ((pool = calloc(1, sizeof(*pool))) == NULL)
		return AUTHD_ENOMEM;
	if (pthread_mutex_init(&pool->lock, NULL) != 0) {
		free(pool);
		return AUTHD_ESYS;
	}
	if (pthread_cond_init(&pool->cond, NULL) != 0) {
		pthread_mutex_destroy(&pool->lock);
		free(pool);
		return AUTHD_ESYS;
	}
	pool->cap = max_queue;
	if ((pool->ring = calloc(max_queue, sizeof(*pool->ring))) == NULL ||
	    (pool->threads = calloc(threads, sizeof(*pool->threads))) == NULL) {
		rv = AUTHD_ENOMEM;
		goto end;
	}

	/* Threads inherit the mask: no window where one could take these. */
	sigemptyset(&block);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGPIPE);
	if (pthread_sigmask(SIG_BLOCK, &block, &old) != 0) {
		rv = AUTHD_ESYS;
		goto end;
	}
	masked = 1;
	for (; pool->nthreads < threads; pool->nthreads++)
		if (pthread_create(&pool->threads[pool->nthreads], NULL,
		    fetch_worker, pool) != 0) {
			rv = AUTHD_ESYS;
			goto end;
		}
end:
	if (masked)
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rv != 0)
		fetch_pool_free(&pool);
	*out = pool;
	return rv;
}

int
fetch_submit(struct fetch_pool *pool, fetch_job_fn run, void *job)
{
	int	 rv = -1;

	if (pool == NULL || run == NULL)
		return -1;
	pthread_mutex_lock(&pool->lock);
	if (!pool->stopping && pool->count < pool->cap) {
		pool->ring[(pool->head + pool->count) % pool->cap] =
		    (struct fetch_slot){ run, job };
		pool->count++;
		pthread_cond_signal(&pool->cond);
		rv = 0;
	}
	pthread_mutex_unlock(&pool->lock);
	return rv;
}

void
fetch_pool_free(struct fetch_pool **pp)
{
	struct fetch_pool	*pool;
	unsigned int		 i;

	if (pp == NULL || (pool = *pp) == NULL)
		return;
	pthread_mutex_lock(&pool->lock);
	pool->stopping = 1;
	pthread_cond_broadcast(&pool->cond);
	pthread_mutex_unlock(&pool->lock);
	for (i = 0; i < pool->nthreads; i++)
		pthread_join(pool->threads[i], NULL);
	pthread_cond_destroy(&pool->cond);
	pthread_mutex_destroy(&pool->lock);
	free(pool->threads);
	free(pool->ring);
	free(pool);
	*pp = NULL;
}

int
fetch_waiter_add(struct fetch_waiter **list, void (*fn)(void *), void *arg)
{
	struct fetch_waiter	*w;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return -1;
	w->fn = fn;
	w->arg = arg;
	w->next = *list;
	*list = w;
	return 0;
}

void
fetch_waiter_wake(struct fetch_waiter *w)
{
	struct fetch_waiter	*next;

	for (; w != NULL; w = next) {
		next = w->next;
		w->fn(w->arg);
		free(w);
	}
}

void
fetch_waiter_free(struct fetch_waiter *w)
{
	struct fetch_waiter	*next;

	for (; w != NULL; w = next) {
		next = w->next;
		free(w);
	}
}

void
fetch_waiter_move(struct fetch_waiter **to, struct fetch_waiter **from)
{
	struct fetch_waiter	*tail;

	if (*from == NULL)
		return;
	for (tail = *from; tail->next != NULL; tail = tail->next)
		;
	tail->next = *to;
	*to = *from;
	*from = NULL;
}
