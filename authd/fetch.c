/*
 * fetch.c: the fetch engine.  HTTP GET and POST for revocation data over
 * libcurl: one transfer thread per pool drives every fetch in flight
 * through a curl multi handle (keep-alive to responders, the threaded
 * resolver under the connect deadline, an optional proxy), and the pool's
 * threads run what the caller does with each answer.  fetch_http is the
 * same transfer, performed on the calling thread (authd check, doctor).
 *
 * libcurl frames the HTTP; this file bounds it: http:// only, redirects
 * followed only to http:// and at most FETCH_REDIRECTS_MAX times, a hard
 * deadline per fetch (DNS included), the body capped at max_size before
 * it is stored, and the header section limited in lines and bytes.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "fetch.h"

#define FETCH_CTYPE_MAX		 128
#define FETCH_SHOW_MAX		 120	/* server text quoted in an error */
#define FETCH_BODY_FIRST	 16384	/* first body buffer */
#define FETCH_GRACE_MS		 1000	/* backstop past a fetch's deadline */
#define FETCH_SCAN_MS		 250	/* how often the backstop looks */
#define FETCH_IDLE_MS		 10000	/* transfer thread poll, nothing to do */
#define FETCH_HOST_CONNS	 16	/* parallel connections to one host */
#define FETCH_CONNS_KEPT	 64	/* idle connections kept for reuse */

/*
 * One transfer: the easy handle, what the callbacks collect and the
 * caller's completion.  Lives from fetch_start (or fetch_http) until the
 * completion returns.
 */
struct fetch_xfer {
	CURL			*easy;
	struct curl_slist	*headers;
	struct fetch_pool	*pool;		/* NULL: fetch_http */
	fetch_done_fn		 done;
	void			*arg;
	struct fetch_result	 res;
	size_t			 max_size;
	size_t			 cap;		/* of res.body */
	size_t			 hdr_bytes;
	unsigned int		 hdr_lines;
	int			 fail_rv;	/* set by a callback */
	int			 timeout_ms;
	long			 connect_ms;	/* resolve and connect */
	long long		 start, deadline;	/* monotonic ms */
	char			 reason[64];	/* of the last status line */
	char			 clen[32];	/* its Content-Length, shown */
	char			 location[FETCH_SHOW_MAX];	/* its Location */
	char			 errbuf[CURL_ERROR_SIZE];
	struct fetch_xfer	*next, *prev;
};

static void	 fetch_fail(struct fetch_result *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

static atomic_int	 fetch_aborting;
static pthread_once_t	 fetch_once = PTHREAD_ONCE_INIT;
static int		 fetch_global_rv;

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

static void
fetch_global(void)
{
	fetch_global_rv = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ?
	    0 : AUTHD_ESYS;
}

/*
 * Whether the header line (len bytes, line end cut) is name's; its value,
 * blanks around it cut, in *v and *vlen.
 */
static int
fetch_field(const char *line, size_t len, const char *name, const char **v,
    size_t *vlen)
{
	size_t	 nl = strlen(name);

	if (len <= nl || line[nl] != ':' || strncasecmp(line, name, nl) != 0)
		return 0;
	*v = line + nl + 1;
	*vlen = len - nl - 1;
	while (*vlen > 0 && (**v == ' ' || **v == '\t')) {
		(*v)++;
		(*vlen)--;
	}
	while (*vlen > 0 && ((*v)[*vlen - 1] == ' ' || (*v)[*vlen - 1] == '\t'))
		(*vlen)--;
	return 1;
}

/*
 * Header lines, one call each (the status line of every response too,
 * interim and redirect ones included): bounded in count and bytes, and
 * the validators of the last response kept.
 */
static size_t
fetch_on_header(char *data, size_t size, size_t n, void *arg)
{
	struct fetch_xfer	*x = arg;
	char			*dst = NULL;
	size_t			 len = n, vlen, i;
	const char		*v;

	(void)size;			/* always 1 */
	if (++x->hdr_lines > FETCH_HEADERS_COUNT) {
		fetch_fail(&x->res, "more than %d header lines",
		    FETCH_HEADERS_COUNT);
		x->fail_rv = AUTHD_ERANGE;
		return 0;
	}
	if (n >= FETCH_LINE_MAX) {
		fetch_fail(&x->res, "header line longer than %d bytes",
		    FETCH_LINE_MAX - 1);
		x->fail_rv = AUTHD_ERANGE;
		return 0;
	}
	if ((x->hdr_bytes += n) > FETCH_HEADERS_MAX) {
		fetch_fail(&x->res, "response headers larger than %d bytes",
		    FETCH_HEADERS_MAX);
		x->fail_rv = AUTHD_ERANGE;
		return 0;
	}
	while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r'))
		len--;
	if (len >= 5 && memcmp(data, "HTTP/", 5) == 0) {
		/* A new response: what the last one said no longer counts. */
		x->res.etag[0] = x->res.last_modified[0] = '\0';
		x->reason[0] = x->clen[0] = x->location[0] = '\0';
		for (i = 0; i < len && data[i] != ' '; i++)
			;
		for (i++; i < len && data[i] != ' '; i++)
			;
		if (i < len)
			fetch_show(x->reason, sizeof(x->reason), data + i + 1,
			    len - i - 1);
		return n;
	}
	if (fetch_field(data, len, "Location", &v, &vlen)) {
		fetch_show(x->location, sizeof(x->location), v, vlen);
		return n;
	}
	if (fetch_field(data, len, "Content-Length", &v, &vlen)) {
		fetch_show(x->clen, sizeof(x->clen), v, vlen);
		return n;
	}
	if (fetch_field(data, len, "ETag", &v, &vlen))
		dst = x->res.etag;
	else if (fetch_field(data, len, "Last-Modified", &v, &vlen))
		dst = x->res.last_modified;
	else
		return n;
	/* A cut or odd validator is worse than none. */
	dst[0] = '\0';
	if (vlen == 0 || vlen >= FETCH_VALIDATOR_MAX)
		return n;
	for (i = 0; i < vlen; i++)
		if ((unsigned char)v[i] < 0x20 || (unsigned char)v[i] >= 0x7f)
			return n;
	memcpy(dst, v, vlen);
	dst[vlen] = '\0';
	return n;
}

/* Body bytes: kept for a 2xx answer only, never past max_size. */
static size_t
fetch_on_body(char *data, size_t size, size_t n, void *arg)
{
	struct fetch_xfer	*x = arg;
	unsigned char		*nb;
	size_t			 want;
	long			 status = 0;

	(void)size;			/* always 1 */
	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
	if (status < 200 || status > 299 || status == 206)
		return n;		/* said by the status; not kept */
	if (n > x->max_size - x->res.len) {
		fetch_fail(&x->res, "response larger than %zu bytes",
		    x->max_size);
		x->fail_rv = AUTHD_ERANGE;
		return 0;
	}
	if (x->res.len + n + 1 > x->cap) {
		want = x->cap == 0 ? FETCH_BODY_FIRST : x->cap;
		while (want < x->res.len + n + 1)
			want *= 2;
		if (want > x->max_size + 1)
			want = x->max_size + 1;
		if ((nb = realloc(x->res.body, want)) == NULL) {
			x->fail_rv = AUTHD_ENOMEM;
			return 0;
		}
		x->res.body = nb;
		x->cap = want;
	}
	memcpy(x->res.body + x->res.len, data, n);
	x->res.len += n;
	return n;
}

/* Shutdown reaches a transfer here within about a second. */
static int
fetch_on_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut,
    curl_off_t un)
{
	struct fetch_xfer	*x = arg;

	(void)dt; (void)dn; (void)ut; (void)un;
	if (!atomic_load_explicit(&fetch_aborting, memory_order_relaxed))
		return 0;
	fetch_fail(&x->res, "abandoned: shutting down");
	x->fail_rv = AUTHD_EIO;
	return 1;
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

/* "name: value", or "name:" (which removes a header libcurl would add) */
static int
fetch_header(struct fetch_xfer *x, const char *name, const char *value)
{
	char			 line[FETCH_VALIDATOR_MAX + 64];
	struct curl_slist	*l;

	snprintf(line, sizeof(line), "%s:%s%s", name, value[0] != '\0' ?
	    " " : "", value);
	if ((l = curl_slist_append(x->headers, line)) == NULL)
		return AUTHD_ENOMEM;
	x->headers = l;
	return 0;
}

static void
fetch_xfer_free(struct fetch_xfer *x)
{
	if (x == NULL)
		return;
	if (x->easy != NULL)
		curl_easy_cleanup(x->easy);
	curl_slist_free_all(x->headers);
	free(x->res.body);
	free(x);
}

#define FETCH_SET(x, opt, val) \
	(curl_easy_setopt((x)->easy, (opt), (val)) == CURLE_OK)

/*
 * A transfer for rq, checked and set up, or NULL with *rv set and the
 * reason in err (then nothing was allocated that the caller must free).
 */
static struct fetch_xfer *
fetch_xfer_new(const struct fetch_request *rq, int *rv, char *err,
    size_t errlen)
{
	struct fetch_xfer	*x;
	char			 host[256], port[8], path[FETCH_URL_MAX + 2];
	char			 show[FETCH_SHOW_MAX];
	long			 cto;
	int			 r;

	*rv = AUTHD_ENOMEM;
	if ((x = calloc(1, sizeof(*x))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	x->start = fetch_now();
	r = AUTHD_ESYS;
	if (pthread_once(&fetch_once, fetch_global) != 0 ||
	    (r = fetch_global_rv) != 0) {
		fetch_fail(&x->res, "cannot initialise libcurl");
		goto fail;
	}
	if (rq == NULL || rq->url == NULL) {
		fetch_fail(&x->res, "no URL");
		r = AUTHD_EINVAL;
		goto fail;
	}
	if (fetch_parse_url(rq->url, host, sizeof(host), port, sizeof(port),
	    path, sizeof(path)) != 0) {
		fetch_show(show, sizeof(show), rq->url,
		    strnlen(rq->url, FETCH_URL_MAX + 1));
		fetch_fail(&x->res, "invalid URL \"%s\": http://host[:port]/path "
		    "only", show);
		r = AUTHD_EINVAL;
		goto fail;
	}
	if (rq->timeout_ms <= 0 || rq->max_size > SIZE_MAX / 4 ||
	    (rq->body == NULL && rq->body_len != 0)) {
		fetch_fail(&x->res, "invalid request: timeout_ms %d, max_size "
		    "%zu, body_len %zu", rq->timeout_ms, rq->max_size,
		    rq->body_len);
		r = AUTHD_EINVAL;
		goto fail;
	}
	if ((r = check_field(&x->res, "ETag", rq->etag,
	    FETCH_VALIDATOR_MAX - 1)) != 0 ||
	    (r = check_field(&x->res, "Last-Modified", rq->last_modified,
	    FETCH_VALIDATOR_MAX - 1)) != 0 ||
	    (r = check_field(&x->res, "Content-Type", rq->content_type,
	    FETCH_CTYPE_MAX)) != 0 ||
	    (r = check_field(&x->res, "proxy", rq->proxy,
	    FETCH_URL_MAX)) != 0)
		goto fail;
	r = AUTHD_ENOMEM;
	if ((x->easy = curl_easy_init()) == NULL)
		goto fail;
	x->max_size = rq->max_size;
	x->timeout_ms = rq->timeout_ms;
	x->deadline = x->start + rq->timeout_ms;
	cto = rq->connect_timeout_ms > 0 &&
	    rq->connect_timeout_ms < rq->timeout_ms ?
	    rq->connect_timeout_ms : rq->timeout_ms;
	x->connect_ms = cto;
	if ((rq->etag != NULL && rq->etag[0] != '\0' &&
	    fetch_header(x, "If-None-Match", rq->etag) != 0) ||
	    (rq->last_modified != NULL && rq->last_modified[0] != '\0' &&
	    fetch_header(x, "If-Modified-Since", rq->last_modified) != 0) ||
	    (rq->body != NULL && fetch_header(x, "Content-Type",
	    rq->content_type != NULL ? rq->content_type :
	    "application/octet-stream") != 0) ||
	    /* no "Expect: 100-continue" wait on a POST */
	    (rq->body != NULL && fetch_header(x, "Expect", "") != 0))
		goto fail;
	r = AUTHD_EINVAL;
	if (!FETCH_SET(x, CURLOPT_URL, rq->url) ||
	    !FETCH_SET(x, CURLOPT_PROTOCOLS_STR, "http") ||
	    !FETCH_SET(x, CURLOPT_REDIR_PROTOCOLS_STR, "http") ||
	    !FETCH_SET(x, CURLOPT_FOLLOWLOCATION, 1L) ||
	    !FETCH_SET(x, CURLOPT_MAXREDIRS, (long)FETCH_REDIRECTS_MAX) ||
	    !FETCH_SET(x, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1) ||
	    !FETCH_SET(x, CURLOPT_NOSIGNAL, 1L) ||
	    /* a lookup past its deadline is left to itself, not joined */
	    !FETCH_SET(x, CURLOPT_QUICK_EXIT, 1L) ||
	    !FETCH_SET(x, CURLOPT_TIMEOUT_MS, (long)rq->timeout_ms) ||
	    !FETCH_SET(x, CURLOPT_CONNECTTIMEOUT_MS, cto) ||
	    !FETCH_SET(x, CURLOPT_USERAGENT, "authd/" AUTHD_VERSION) ||
	    !FETCH_SET(x, CURLOPT_HTTPHEADER, x->headers) ||
	    !FETCH_SET(x, CURLOPT_ERRORBUFFER, x->errbuf) ||
	    !FETCH_SET(x, CURLOPT_HEADERFUNCTION, fetch_on_header) ||
	    !FETCH_SET(x, CURLOPT_HEADERDATA, x) ||
	    !FETCH_SET(x, CURLOPT_WRITEFUNCTION, fetch_on_body) ||
	    !FETCH_SET(x, CURLOPT_WRITEDATA, x) ||
	    !FETCH_SET(x, CURLOPT_XFERINFOFUNCTION, fetch_on_progress) ||
	    !FETCH_SET(x, CURLOPT_XFERINFODATA, x) ||
	    !FETCH_SET(x, CURLOPT_NOPROGRESS, 0L) ||
	    !FETCH_SET(x, CURLOPT_PRIVATE, x) ||
	    (rq->max_size > 0 && !FETCH_SET(x, CURLOPT_MAXFILESIZE_LARGE,
	    (curl_off_t)rq->max_size)) ||
	    (rq->proxy != NULL && !FETCH_SET(x, CURLOPT_PROXY, rq->proxy))) {
		fetch_fail(&x->res, "cannot set up the transfer");
		goto fail;
	}
	if (rq->body != NULL &&
	    (!FETCH_SET(x, CURLOPT_POSTFIELDSIZE_LARGE,
	    (curl_off_t)rq->body_len) ||
	    !FETCH_SET(x, CURLOPT_COPYPOSTFIELDS, rq->body_len > 0 ?
	    (const char *)rq->body : ""))) {
		fetch_fail(&x->res, "cannot set up the request body");
		r = AUTHD_ENOMEM;
		goto fail;
	}
	*rv = 0;
	return x;
fail:
	snprintf(err, errlen, "%s", x->res.error[0] != '\0' ? x->res.error :
	    err_str(r));
	fetch_xfer_free(x);
	*rv = r;
	return NULL;
}

/*
 * What a transfer came to: libcurl's code, the status, the body.  Fills
 * x->res and returns 0 or an authd_err; on failure nothing of the answer
 * is kept.
 */
static int
fetch_xfer_end(struct fetch_xfer *x, CURLcode cc)
{
	struct fetch_result	*res = &x->res;
	long			 status = 0, oserr = 0;
	curl_off_t		 ct = 0;
	int			 rv = 0;

	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
	res->status = (int)status;
	if (x->fail_rv != 0 && (cc == CURLE_WRITE_ERROR ||
	    cc == CURLE_ABORTED_BY_CALLBACK || cc == CURLE_RECV_ERROR ||
	    cc == CURLE_OUT_OF_MEMORY)) {
		rv = x->fail_rv;
		if (rv == AUTHD_ENOMEM)
			fetch_fail(res, "out of memory for the response");
	} else if (cc != CURLE_OK) {
		const char	*why = x->errbuf[0] != '\0' ? x->errbuf :
		    curl_easy_strerror(cc);

		rv = AUTHD_EIO;
		switch (cc) {
		case CURLE_OPERATION_TIMEDOUT:
			/* libcurl words one limit several ways: say which */
			if (curl_easy_getinfo(x->easy, CURLINFO_CONNECT_TIME_T,
			    &ct) != CURLE_OK || ct == 0)
				fetch_fail(res, "timeout connecting after %ld ms "
				    "(%s)", x->connect_ms, why);
			else
				fetch_fail(res, "timeout after %d ms (%s)",
				    x->timeout_ms, why);
			break;
		case CURLE_COULDNT_RESOLVE_HOST:
		case CURLE_COULDNT_RESOLVE_PROXY:
			fetch_fail(res, "cannot resolve: %s", why);
			break;
		case CURLE_FILESIZE_EXCEEDED:
			rv = AUTHD_ERANGE;
			if (x->clen[0] != '\0')
				fetch_fail(res, "response larger than %zu bytes "
				    "(Content-Length %s)", x->max_size, x->clen);
			else
				fetch_fail(res, "response larger than %zu bytes "
				    "(by its Content-Length)", x->max_size);
			break;
		case CURLE_TOO_MANY_REDIRECTS:
			fetch_fail(res, "more than %d redirects",
			    FETCH_REDIRECTS_MAX);
			break;
		case CURLE_UNSUPPORTED_PROTOCOL:
			if (status >= 300 && status <= 399 &&
			    x->location[0] != '\0')
				fetch_fail(res, "redirect to %s refused: "
				    "http:// only", x->location);
			else
				fetch_fail(res, "%s", why);
			break;
		case CURLE_COULDNT_CONNECT:
			if (curl_easy_getinfo(x->easy, CURLINFO_OS_ERRNO,
			    &oserr) == CURLE_OK && oserr != 0)
				fetch_fail(res, "%s (%s)", why,
				    strerror((int)oserr));
			else
				fetch_fail(res, "%s", why);
			break;
		default:
			if (cc == CURLE_OUT_OF_MEMORY)
				rv = AUTHD_ENOMEM;
			fetch_fail(res, "%s", why);
		}
	} else if (status == 304) {
		res->not_modified = 1;
		free(res->body);
		res->body = NULL;
		res->len = 0;
	} else if (status >= 200 && status <= 299 && status != 206) {
		if (res->body == NULL &&
		    (res->body = malloc(1)) == NULL) {
			rv = AUTHD_ENOMEM;
			fetch_fail(res, "out of memory for the response");
		}
	} else {
		rv = AUTHD_EIO;
		if (status >= 300 && status <= 399 && x->location[0] != '\0')
			fetch_fail(res, "HTTP %ld redirect to %s not followed",
			    status, x->location);
		else
			fetch_fail(res, "HTTP %ld%s%s", status,
			    x->reason[0] != '\0' ? " " : "", x->reason);
	}
	if (rv == 0) {
		if (res->body != NULL)
			res->body[res->len] = '\0';
	} else {
		fetch_fail(res, "%s", err_str(rv));
		free(res->body);
		res->body = NULL;
		res->len = 0;
		res->not_modified = 0;
		res->etag[0] = res->last_modified[0] = '\0';
	}
	res->ok = rv == 0;
	res->elapsed_ms = (long)(fetch_now() - x->start);
	return rv;
}

/* Hand the answer over; res's body moves to the caller. */
static int
fetch_xfer_take(struct fetch_xfer *x, int rv, struct fetch_result *res)
{
	*res = x->res;
	x->res.body = NULL;
	fetch_xfer_free(x);
	return rv;
}

int
fetch_http(const struct fetch_request *rq, struct fetch_result *res)
{
	struct fetch_xfer	*x;
	char			 err[sizeof(res->error)];
	long long		 start = fetch_now();
	int			 rv;

	if (res == NULL)
		return AUTHD_EINVAL;
	memset(res, 0, sizeof(*res));
	if ((x = fetch_xfer_new(rq, &rv, err, sizeof(err))) == NULL) {
		snprintf(res->error, sizeof(res->error), "%s", err);
		res->elapsed_ms = (long)(fetch_now() - start);
		return rv;
	}
	rv = fetch_xfer_end(x, curl_easy_perform(x->easy));
	return fetch_xfer_take(x, rv, res);
}

/*
 * A loopback listener for the in-memory answer; its port in *port.  It
 * lingers 0 on what it accepts, so that a million fuzz runs leave no
 * TIME_WAIT behind.
 */
static int
fetch_mem_listener(int *port)
{
	struct sockaddr_in	 sin;
	socklen_t		 sl = sizeof(sin);
	int			 l;

	if ((l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0)) < 0)
		return -1;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(l, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
	    listen(l, 1) != 0 ||
	    getsockname(l, (struct sockaddr *)&sin, &sl) != 0) {
		close(l);
		return -1;
	}
	*port = ntohs(sin.sin_port);
	return l;
}

/*
 * The server's side: accept, then the answer as the socket takes it, then
 * end of stream.  *fd is -1 until accepted; *off counts what was sent.
 */
static void
fetch_mem_serve(int l, int *fd, const unsigned char *data, size_t len,
    size_t *off)
{
	struct linger	 lg = { 1, 0 };
	ssize_t		 n;
	int		 sz = (int)len + 65536;

	if (*fd < 0) {
		if ((*fd = accept4(l, NULL, NULL, SOCK_CLOEXEC |
		    SOCK_NONBLOCK)) < 0)
			return;
		(void)setsockopt(*fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		if (setsockopt(*fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz,
		    sizeof(sz)) != 0)
			(void)setsockopt(*fd, SOL_SOCKET, SO_SNDBUF, &sz,
			    sizeof(sz));
	} else if (*off >= len)
		return;
	while (*off < len && (n = send(*fd, data + *off, len - *off,
	    MSG_NOSIGNAL)) > 0)
		*off += (size_t)n;
	if (*off >= len)
		shutdown(*fd, SHUT_WR);
}

int
fetch_parse_response(const unsigned char *data, size_t len, size_t max_size,
    struct fetch_result *res)
{
	struct fetch_request	 rq;
	struct fetch_xfer	*x;
	CURLM			*m = NULL;
	struct CURLMsg		*msg;
	char			 url[64], err[sizeof(res->error)];
	size_t			 off = 0;
	int			 l, port, fd = -1, still = 1, left, rv;
	CURLcode		 cc = CURLE_OK;

	if (res == NULL)
		return AUTHD_EINVAL;
	memset(res, 0, sizeof(*res));
	if ((data == NULL && len != 0) || max_size > SIZE_MAX / 4 ||
	    len > INT_MAX / 2) {
		fetch_fail(res, "invalid request: max_size %zu, len %zu",
		    max_size, len);
		return AUTHD_EINVAL;
	}
	if ((l = fetch_mem_listener(&port)) < 0) {
		fetch_fail(res, "loopback listener: %s", strerror(errno));
		return AUTHD_ESYS;
	}
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", port);
	memset(&rq, 0, sizeof(rq));
	rq.url = url;
	rq.proxy = "";
	rq.timeout_ms = 10000;
	rq.max_size = max_size;
	if ((x = fetch_xfer_new(&rq, &rv, err, sizeof(err))) == NULL) {
		close(l);
		snprintf(res->error, sizeof(res->error), "%s", err);
		return rv;
	}
	rv = AUTHD_ENOMEM;
	if (!FETCH_SET(x, CURLOPT_FORBID_REUSE, 1L) ||
	    !FETCH_SET(x, CURLOPT_FOLLOWLOCATION, 0L) ||
	    (m = curl_multi_init()) == NULL ||
	    curl_multi_add_handle(m, x->easy) != CURLM_OK) {
		fetch_fail(&x->res, "cannot set up the transfer");
		goto end;
	}
	/* libcurl connects; the answer is served once it has. */
	while (still) {
		curl_multi_perform(m, &still);
		fetch_mem_serve(l, &fd, data, len, &off);
		while ((msg = curl_multi_info_read(m, &left)) != NULL)
			if (msg->msg == CURLMSG_DONE) {
				cc = msg->data.result;
				still = 0;
			}
		if (still)
			curl_multi_poll(m, NULL, 0, off < len ? 1 : 100, NULL);
	}
	curl_multi_remove_handle(m, x->easy);
	rv = fetch_xfer_end(x, cc);
end:
	if (m != NULL)
		curl_multi_cleanup(m);
	if (fd >= 0)
		close(fd);
	close(l);
	if (rv != 0)
		fetch_fail(&x->res, "%s", err_str(rv));
	return fetch_xfer_take(x, rv, res);
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

/*
 * The pool: worker threads taking jobs from a ring (fetch_submit) and
 * finished transfers from a list (never refused: a completion always
 * runs), and one transfer thread driving the multi handle.  pending is
 * what fetch_start queued for the transfer thread; only that thread
 * touches the multi handle and the running list.
 */
struct fetch_slot {
	fetch_job_fn	 run;
	void		*job;
};

struct fetch_pool {
	pthread_mutex_t		 lock;
	pthread_cond_t		 cond;
	struct fetch_slot	*ring;
	size_t			 cap, head, count;
	struct fetch_xfer	*done_head, *done_tail;	/* completions */
	struct fetch_xfer	*pending;		/* for the multi */
	int			 stopping;
	int			 xfer_exited;
	int			 have_xfer_thread;
	unsigned int		 nthreads;	/* workers started */
	pthread_t		*threads;
	pthread_t		 xfer_thread;
	CURLM			*multi;
	struct fetch_pool	*all_next;	/* fetch_pools */
};

static pthread_mutex_t	 fetch_pools_lock = PTHREAD_MUTEX_INITIALIZER;
static struct fetch_pool *fetch_pools;

static void
fetch_pools_wake(void)
{
	struct fetch_pool	*p;

	pthread_mutex_lock(&fetch_pools_lock);
	for (p = fetch_pools; p != NULL; p = p->all_next)
		curl_multi_wakeup(p->multi);
	pthread_mutex_unlock(&fetch_pools_lock);
}

/* Transfer thread: a finished transfer goes to the workers. */
static void
fetch_deliver(struct fetch_pool *pool, struct fetch_xfer *x)
{
	x->next = NULL;
	pthread_mutex_lock(&pool->lock);
	if (pool->done_tail != NULL)
		pool->done_tail->next = x;
	else
		pool->done_head = x;
	pool->done_tail = x;
	pthread_cond_signal(&pool->cond);
	pthread_mutex_unlock(&pool->lock);
}

static void
fetch_running_unlink(struct fetch_xfer **running, struct fetch_xfer *x)
{
	if (x->prev != NULL)
		x->prev->next = x->next;
	else
		*running = x->next;
	if (x->next != NULL)
		x->next->prev = x->prev;
	x->next = x->prev = NULL;
}

static void
fetch_running_end(struct fetch_pool *pool, struct fetch_xfer **running,
    struct fetch_xfer *x, CURLcode cc)
{
	curl_multi_remove_handle(pool->multi, x->easy);
	fetch_running_unlink(running, x);
	fetch_xfer_end(x, cc);
	fetch_deliver(pool, x);
}

static void *
fetch_transfers(void *arg)
{
	struct fetch_pool	*pool = arg;
	struct fetch_xfer	*running = NULL, *in, *x, *next;
	struct CURLMsg		*m;
	long long		 now, last_scan = 0;
	int			 still, left, stop;

	for (;;) {
		pthread_mutex_lock(&pool->lock);
		in = pool->pending;
		pool->pending = NULL;
		stop = pool->stopping && in == NULL && running == NULL;
		pthread_mutex_unlock(&pool->lock);
		if (stop)
			break;
		for (x = in; x != NULL; x = next) {
			next = x->next;
			x->next = running;
			x->prev = NULL;
			if (running != NULL)
				running->prev = x;
			running = x;
			if (curl_multi_add_handle(pool->multi, x->easy) !=
			    CURLM_OK) {
				fetch_running_unlink(&running, x);
				fetch_fail(&x->res, "cannot start the transfer");
				x->fail_rv = AUTHD_ENOMEM;
				fetch_xfer_end(x, CURLE_OUT_OF_MEMORY);
				fetch_deliver(pool, x);
			}
		}
		curl_multi_perform(pool->multi, &still);
		while ((m = curl_multi_info_read(pool->multi, &left)) != NULL) {
			if (m->msg != CURLMSG_DONE)
				continue;
			x = NULL;
			curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE,
			    (char **)&x);
			if (x != NULL)
				fetch_running_end(pool, &running, x,
				    m->data.result);
		}
		/*
		 * A backstop for the deadline libcurl keeps: a transfer
		 * queued for a connection, or one that shutdown abandons.
		 */
		now = fetch_now();
		if (now - last_scan >= FETCH_SCAN_MS) {
			last_scan = now;
			for (x = running; x != NULL; x = next) {
				next = x->next;
				if (now > x->deadline + FETCH_GRACE_MS) {
					fetch_fail(&x->res, "timeout after "
					    "%d ms", x->timeout_ms);
					fetch_running_end(pool, &running, x,
					    CURLE_OPERATION_TIMEDOUT);
				} else if (atomic_load_explicit(
				    &fetch_aborting, memory_order_relaxed)) {
					fetch_fail(&x->res, "abandoned: "
					    "shutting down");
					fetch_running_end(pool, &running, x,
					    CURLE_ABORTED_BY_CALLBACK);
				}
			}
		}
		/*
		 * A wakeup may have been taken already by an earlier poll:
		 * what it announced is checked here, not only at the top.
		 */
		pthread_mutex_lock(&pool->lock);
		stop = pool->pending != NULL ||
		    (pool->stopping && running == NULL);
		pthread_mutex_unlock(&pool->lock);
		if (!stop)
			curl_multi_poll(pool->multi, NULL, 0, running != NULL ?
			    FETCH_SCAN_MS : FETCH_IDLE_MS, NULL);
	}
	pthread_mutex_lock(&pool->lock);
	pool->xfer_exited = 1;
	pthread_cond_broadcast(&pool->cond);
	pthread_mutex_unlock(&pool->lock);
	return NULL;
}

static void *
fetch_worker(void *arg)
{
	struct fetch_pool	*pool = arg;
	struct fetch_slot	 s;
	struct fetch_xfer	*x;

	pthread_mutex_lock(&pool->lock);
	for (;;) {
		while (pool->count == 0 && pool->done_head == NULL &&
		    !(pool->stopping && pool->xfer_exited))
			pthread_cond_wait(&pool->cond, &pool->lock);
		if ((x = pool->done_head) != NULL) {
			if ((pool->done_head = x->next) == NULL)
				pool->done_tail = NULL;
			pthread_mutex_unlock(&pool->lock);
			x->done(x->arg, &x->res);
			fetch_xfer_free(x);
			pthread_mutex_lock(&pool->lock);
			continue;
		}
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
	if (pthread_once(&fetch_once, fetch_global) != 0 ||
	    fetch_global_rv != 0)
		return AUTHD_ESYS;
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
	pool->xfer_exited = 1;		/* until it runs */
	if ((pool->ring = calloc(max_queue, sizeof(*pool->ring))) == NULL ||
	    (pool->threads = calloc(threads, sizeof(*pool->threads))) == NULL ||
	    (pool->multi = curl_multi_init()) == NULL) {
		rv = AUTHD_ENOMEM;
		goto end;
	}
	curl_multi_setopt(pool->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
	    (long)FETCH_HOST_CONNS);
	curl_multi_setopt(pool->multi, CURLMOPT_MAXCONNECTS,
	    (long)FETCH_CONNS_KEPT);

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
	pool->xfer_exited = 0;
	if (pthread_create(&pool->xfer_thread, NULL, fetch_transfers,
	    pool) != 0) {
		pool->xfer_exited = 1;
		rv = AUTHD_ESYS;
		goto end;
	}
	pool->have_xfer_thread = 1;
	for (; pool->nthreads < threads; pool->nthreads++)
		if (pthread_create(&pool->threads[pool->nthreads], NULL,
		    fetch_worker, pool) != 0) {
			rv = AUTHD_ESYS;
			goto end;
		}
	pthread_mutex_lock(&fetch_pools_lock);
	pool->all_next = fetch_pools;
	fetch_pools = pool;
	pthread_mutex_unlock(&fetch_pools_lock);
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

int
fetch_start(struct fetch_pool *pool, const struct fetch_request *rq,
    fetch_done_fn done, void *arg)
{
	struct fetch_xfer	*x;
	char			 err[sizeof(x->res.error)];
	int			 rv;

	if (pool == NULL || done == NULL)
		return -1;
	if ((x = fetch_xfer_new(rq, &rv, err, sizeof(err))) == NULL) {
		/* A request that cannot be made: said to done, as any other. */
		if (rv == AUTHD_ENOMEM || (x = calloc(1, sizeof(*x))) == NULL)
			return -1;
		snprintf(x->res.error, sizeof(x->res.error), "%s", err);
		x->done = done;
		x->arg = arg;
		pthread_mutex_lock(&pool->lock);
		if (pool->stopping) {
			pthread_mutex_unlock(&pool->lock);
			free(x);
			return -1;
		}
		pthread_mutex_unlock(&pool->lock);
		fetch_deliver(pool, x);
		return 0;
	}
	x->pool = pool;
	x->done = done;
	x->arg = arg;
	pthread_mutex_lock(&pool->lock);
	if (pool->stopping || pool->xfer_exited) {
		pthread_mutex_unlock(&pool->lock);
		fetch_xfer_free(x);
		return -1;
	}
	x->next = pool->pending;
	pool->pending = x;
	pthread_mutex_unlock(&pool->lock);
	curl_multi_wakeup(pool->multi);
	return 0;
}

void
fetch_pool_free(struct fetch_pool **pp)
{
	struct fetch_pool	*pool, **p;
	unsigned int		 i;

	if (pp == NULL || (pool = *pp) == NULL)
		return;
	pthread_mutex_lock(&fetch_pools_lock);
	for (p = &fetch_pools; *p != NULL; p = &(*p)->all_next)
		if (*p == pool) {
			*p = pool->all_next;
			break;
		}
	pthread_mutex_unlock(&fetch_pools_lock);
	pthread_mutex_lock(&pool->lock);
	pool->stopping = 1;
	pthread_cond_broadcast(&pool->cond);
	pthread_mutex_unlock(&pool->lock);
	/* Transfers in flight end by their deadlines (sooner after abort). */
	if (pool->have_xfer_thread) {
		curl_multi_wakeup(pool->multi);
		pthread_join(pool->xfer_thread, NULL);
	}
	for (i = 0; i < pool->nthreads; i++)
		pthread_join(pool->threads[i], NULL);
	if (pool->multi != NULL)
		curl_multi_cleanup(pool->multi);
	pthread_cond_destroy(&pool->cond);
	pthread_mutex_destroy(&pool->lock);
	free(pool->threads);
	free(pool->ring);
	free(pool);
	*pp = NULL;
}

void
fetch_abort(void)
{
	atomic_store(&fetch_aborting, 1);
	fetch_pools_wake();
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
