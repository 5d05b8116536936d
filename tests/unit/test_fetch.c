/*
 * test_fetch.c: the HTTP client against a tiny server on 127.0.0.1 that
 * answers each connection according to the request path (one scenario a
 * path: lengths, chunks, read-to-close, 304, errors, redirects, caps,
 * timeouts, malformed answers, POST echo), plus refused and unresolvable
 * hosts, a connect timeout (a listener whose backlog is full), the URL
 * parser, the fetch thread pool, and the engine (fetch_start: many
 * fetches in flight, keep-alive, proxies, deadlines, shutdown).  Loopback
 * only.
 */
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "fetch.h"
#include "t.h"

#define SLOW_MS		 800	/* how long /slow sleeps before answering */

/* The test server: one thread, one connection at a time. */
static struct {
	int		 lfd;
	int		 port;
	pthread_t	 thr;
	atomic_int	 stop;
	pthread_mutex_t	 lock;
	char		 req[70000];	/* the last request, raw */
	size_t		 reqlen;
} srv = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void
send_all(int fd, const void *data, size_t len)
{
	const char	*p = data;
	ssize_t		 n;

	while (len > 0 && (n = send(fd, p, len, MSG_NOSIGNAL)) > 0) {
		p += n;
		len -= (size_t)n;
	}
}

static void
send_str(int fd, const char *s)
{
	send_all(fd, s, strlen(s));
}

/* Answers that are the same bytes every time. */
static const struct {
	const char	*path;
	const char	*answer;
} canned[] = {
	{ "/len", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n"
	    "ETag: \"v1\"\r\nLast-Modified: Tue, 01 Oct 2024 00:00:00 GMT\r\n"
	    "\r\nhello" },
	{ "/chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "3;ext=1\r\nhel\r\n8\r\nlo world\r\n0\r\nX-Trailer: t\r\n\r\n" },
	{ "/chunked-cl", "HTTP/1.1 200 OK\r\nContent-Length: 99\r\n"
	    "Transfer-Encoding: Chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n" },
	{ "/close", "HTTP/1.0 200 OK\r\nServer: t\r\n\r\nuntil close" },
	{ "/lf", "HTTP/1.1 200 OK\nContent-Length: 2\n\nok" },
	{ "/interim", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n"
	    "Content-Length: 2\r\n\r\nok" },
	{ "/empty", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n" },
	{ "/204", "HTTP/1.1 204 No Content\r\n\r\n" },
	{ "/500", "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4"
	    "\r\n\r\noops" },
	{ "/404", "HTTP/1.1 404 Not Found\r\n\r\n" },
	{ "/302-noloc", "HTTP/1.1 302 Found\r\nContent-Length: 0\r\n\r\n" },
	{ "/302-loop", "HTTP/1.1 302 Found\r\nLocation: /302-loop\r\n"
	    "Content-Length: 0\r\n\r\n" },
	{ "/badstatus", "HTTP/1.1 OK\r\n\r\n" },
	{ "/notstatus", "SSH-2.0-OpenSSH_9.6\r\n" },
	{ "/badchunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "zz\r\nhello\r\n0\r\n\r\n" },
	{ "/hugechunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
	    "\r\nfffffffffffffffffff\r\nhello\r\n0\r\n\r\n" },
	{ "/chunk-noterm", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked"
	    "\r\n\r\n3\r\nhelXX0\r\n\r\n" },
	{ "/chunk-cut", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
	    "\r\n5\r\nhe" },
	{ "/badheader", "HTTP/1.1 200 OK\r\nNo colon here\r\n\r\n" },
	{ "/spacename", "HTTP/1.1 200 OK\r\nContent-Length : 2\r\n\r\nok" },
	{ "/fold", "HTTP/1.1 200 OK\r\nX-A: 1\r\n folded\r\n\r\n" },
	{ "/ctl", "HTTP/1.1 200 OK\r\nX-A: a\001b\r\n\r\n" },
	/* issue 10 #1: a line of token bytes only, after a longer one */
	{ "/tokenonly", "HTTP/1.1 200 OK\r\nX-Pad: aaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n"
	    "XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX\r\n\r\n" },
	{ "/badcl", "HTTP/1.1 200 OK\r\nContent-Length: 12abc\r\n\r\n" },
	{ "/hugecl", "HTTP/1.1 200 OK\r\nContent-Length: "
	    "99999999999999999999999\r\n\r\n" },
	{ "/dupcl", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
	    "Content-Length: 3\r\n\r\nok" },
	{ "/gzip", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n" },
	{ "/short", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello" },
	{ "/101", "HTTP/1.1 101 Switching Protocols\r\n\r\n" },
	{ "/badetag", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
	    "ETag: \"a\tb\"\r\nLast-Modified: ok-date\r\n\r\nok" },
	{ "/206", "HTTP/1.1 206 Partial Content\r\nContent-Length: 2\r\n"
	    "\r\nok" },
	{ "/304-uncond", "HTTP/1.1 304 Not Modified\r\nETag: \"v2\"\r\n\r\n" },
};

static void
answer_dynamic(int fd, const char *path, const char *req, size_t reqlen)
{
	char		 buf[2048];
	struct linger	 lg = { 1, 0 };
	struct pollfd	 pfd;
	const char	*body;
	int		 i;

	if (strcmp(path, "/302-local") == 0 || strcmp(path, "/302-https") == 0) {
		snprintf(buf, sizeof(buf), "HTTP/1.1 302 Found\r\nLocation: "
		    "%s://127.0.0.1:%d/len\r\nContent-Length: 0\r\n\r\n",
		    path[5] == 'h' ? "https" : "http", srv.port);
		send_str(fd, buf);
	} else if (strcmp(path, "/cond") == 0) {
		if (strstr(req, "\r\nIf-None-Match: \"v1\"\r\n") != NULL)
			send_str(fd, "HTTP/1.1 304 Not Modified\r\n"
			    "ETag: \"v1\"\r\n\r\n");
		else
			send_str(fd, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n"
			    "ETag: \"v1\"\r\n\r\nfresh");
	} else if (strcmp(path, "/post") == 0) {
		body = strstr(req, "\r\n\r\n");
		body = body != NULL ? body + 4 : req + reqlen;
		snprintf(buf, sizeof(buf), "HTTP/1.1 200 OK\r\n"
		    "Content-Length: %zu\r\n\r\n", reqlen - (size_t)(body - req));
		send_str(fd, buf);
		send_all(fd, body, reqlen - (size_t)(body - req));
	} else if (strcmp(path, "/slow") == 0) {
		usleep(SLOW_MS * 1000);
		send_str(fd, canned[0].answer);
	} else if (strcmp(path, "/silent") == 0) {
		/* until the client gives up and closes */
		pfd.fd = fd;
		pfd.events = POLLIN;
		while (poll(&pfd, 1, 5000) > 0 && recv(fd, buf, 1, 0) > 0)
			;
	} else if (strcmp(path, "/reset") == 0) {
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	} else if (strncmp(path, "/big-", 5) == 0 || strcmp(path, "/exact") == 0) {
		size_t	 total = strcmp(path, "/exact") == 0 ? 1000 : 100000;

		memset(buf, 'x', sizeof(buf));
		if (strcmp(path, "/big-chunked") == 0) {
			send_str(fd, "HTTP/1.1 200 OK\r\n"
			    "Transfer-Encoding: chunked\r\n\r\n");
			for (i = 0; i < 100; i++) {
				send_str(fd, "64\r\n");	/* 100 bytes */
				send_all(fd, buf, 100);
				send_str(fd, "\r\n");
			}
			send_str(fd, "0\r\n\r\n");
			return;
		}
		if (strcmp(path, "/big-close") == 0)
			send_str(fd, "HTTP/1.0 200 OK\r\n\r\n");
		else {
			snprintf(buf, sizeof(buf), "HTTP/1.1 200 OK\r\n"
			    "Content-Length: %zu\r\n\r\n", total);
			send_str(fd, buf);
			memset(buf, 'x', sizeof(buf));
		}
		for (; total > 0; total -= total < 1000 ? total : 1000)
			send_all(fd, buf, total < 1000 ? total : 1000);
	} else if (strcmp(path, "/hugeheader") == 0) {
		send_str(fd, "HTTP/1.1 200 OK\r\nX-Huge: ");
		memset(buf, 'h', sizeof(buf));
		for (i = 0; i < 35; i++)
			send_all(fd, buf, sizeof(buf));
		send_str(fd, "\r\nContent-Length: 2\r\n\r\nok");
	} else if (strcmp(path, "/bigheaders") == 0 ||
	    strcmp(path, "/manyheaders") == 0) {
		int	 n = path[1] == 'b' ? 80 : 150;
		size_t	 vlen = path[1] == 'b' ? 1000 : 4;

		send_str(fd, "HTTP/1.1 200 OK\r\n");
		memset(buf, 'v', vlen);
		buf[vlen] = '\0';
		for (i = 0; i < n; i++) {
			char	 name[32];

			snprintf(name, sizeof(name), "X-H%d: ", i);
			send_str(fd, name);
			send_str(fd, buf);
			send_str(fd, "\r\n");
		}
		send_str(fd, "Content-Length: 2\r\n\r\nok");
	} else if (strcmp(path, "/longetag") == 0) {
		send_str(fd, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nETag: \"");
		memset(buf, 'e', 300);
		send_all(fd, buf, 300);
		send_str(fd, "\"\r\n\r\nok");
	}
	/* "/nothing" and anything unknown: close without a word */
}

/* Read one request (headers and a Content-Length body) and answer it. */
static void
serve(int fd)
{
	struct timeval	 tv = { 3, 0 };
	char		*req = srv.req, path[256] = "", *end, *cl;
	size_t		 len = 0, want = 0;
	ssize_t		 n;
	size_t		 i;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	pthread_mutex_lock(&srv.lock);
	for (;;) {
		if (len == sizeof(srv.req) - 1 ||
		    (n = recv(fd, req + len, sizeof(srv.req) - 1 - len, 0)) <= 0)
			break;
		len += (size_t)n;
		req[len] = '\0';
		if (want == 0 && (end = strstr(req, "\r\n\r\n")) != NULL) {
			want = (size_t)(end + 4 - req);
			if ((cl = strstr(req, "\r\nContent-Length: ")) != NULL &&
			    cl < end)
				want += strtoul(cl + 18, NULL, 10);
		}
		if (want != 0 && len >= want)
			break;
	}
	req[len] = '\0';
	srv.reqlen = len;
	pthread_mutex_unlock(&srv.lock);
	if (sscanf(req, "%*s %255s", path) != 1)
		return;
	path[strcspn(path, "?")] = '\0';
	for (i = 0; i < sizeof(canned) / sizeof(canned[0]); i++)
		if (strcmp(path, canned[i].path) == 0) {
			send_str(fd, canned[i].answer);
			return;
		}
	answer_dynamic(fd, path, req, len);
}

static void *
srv_main(void *arg)
{
	struct pollfd	 pfd;
	int		 fd;

	(void)arg;
	pfd.fd = srv.lfd;
	pfd.events = POLLIN;
	while (!atomic_load(&srv.stop)) {
		if (poll(&pfd, 1, 50) <= 0)
			continue;
		if ((fd = accept(srv.lfd, NULL, NULL)) < 0)
			continue;
		serve(fd);
		close(fd);
	}
	return NULL;
}

/* A listener on 127.0.0.1:0 with the given backlog; its port in *port. */
static int
listen_local(int backlog, int *port)
{
	struct sockaddr_in	 sin;
	socklen_t		 sl = sizeof(sin);
	int			 fd;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    bind(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
	    listen(fd, backlog) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &sl) != 0) {
		perror("listen_local");
		exit(2);
	}
	*port = ntohs(sin.sin_port);
	return fd;
}

static void
srv_start(void)
{
	srv.lfd = listen_local(16, &srv.port);
	if (pthread_create(&srv.thr, NULL, srv_main, NULL) != 0) {
		perror("pthread_create");
		exit(2);
	}
}

static void
srv_stop(void)
{
	atomic_store(&srv.stop, 1);
	pthread_join(srv.thr, NULL);
	close(srv.lfd);
}

/* Ports for the cases that do not talk to the server. */
enum target { TO_SRV, TO_REFUSED, TO_FULL, TO_URL };
static int	 refused_port, full_port;

struct fcase {
	const char	*name;
	enum target	 to;
	const char	*path;		/* after http://127.0.0.1:PORT */
	const char	*url;		/* TO_URL: as is */
	const char	*etag, *last_modified;
	const char	*post, *ctype;	/* POST body and Content-Type */
	size_t		 post_len;
	int		 connect_ms;	/* 0: 1000 */
	int		 timeout_ms;	/* 0: 3000; < 0 passed as 0 */
	size_t		 max_size;	/* 0: 1000 */
	int		 rv;		/* fetch_http's return */
	int		 status;
	int		 not_modified;
	const char	*err;		/* substring; NULL: error empty */
	const char	*body;		/* when rv == 0 */
	const char	*req_has[3];	/* what the server must have seen */
	const char	*etag_out, *lm_out;
	long		 min_ms, max_ms;	/* elapsed bounds; 0: none */
};

static const struct fcase fcases[] = {
	/* whole answers */
	{ .name = "content-length", .path = "/len", .status = 200,
	  .body = "hello", .etag_out = "\"v1\"",
	  .lm_out = "Tue, 01 Oct 2024 00:00:00 GMT",
	  .req_has = { "GET /len HTTP/1.1\r\n",
	    "\r\nUser-Agent: authd/" AUTHD_VERSION "\r\n",
	    "\r\nAccept: */*\r\n" } },
	{ .name = "chunked with extension and trailer", .path = "/chunked",
	  .status = 200, .body = "hello world" },
	{ .name = "chunked wins over Content-Length", .path = "/chunked-cl",
	  .status = 200, .body = "ok" },
	{ .name = "read to close", .path = "/close", .status = 200,
	  .body = "until close" },
	{ .name = "bare LF line ends", .path = "/lf", .status = 200,
	  .body = "ok" },
	{ .name = "100 Continue skipped", .path = "/interim", .status = 200,
	  .body = "ok" },
	{ .name = "empty body", .path = "/empty", .status = 200, .body = "" },
	{ .name = "204", .path = "/204", .status = 204, .body = "" },
	{ .name = "body of exactly max_size", .path = "/exact", .status = 200 },
	{ .name = "query string kept", .path = "/len?x=1&y=%2F", .status = 200,
	  .body = "hello", .req_has = { "GET /len?x=1&y=%2F HTTP/1.1\r\n" } },

	/* conditional GET */
	{ .name = "304 to If-None-Match", .path = "/cond", .etag = "\"v1\"",
	  .last_modified = "Tue, 01 Oct 2024 00:00:00 GMT", .status = 304,
	  .not_modified = 1, .etag_out = "\"v1\"",
	  .req_has = { "\r\nIf-None-Match: \"v1\"\r\n",
	    "\r\nIf-Modified-Since: Tue, 01 Oct 2024 00:00:00 GMT\r\n" } },
	{ .name = "stale ETag: 200", .path = "/cond", .etag = "\"v0\"",
	  .status = 200, .body = "fresh", .etag_out = "\"v1\"" },
	{ .name = "no validators sent when none", .path = "/cond",
	  .status = 200, .body = "fresh" },
	{ .name = "304 to an unconditional GET", .path = "/304-uncond",
	  .status = 304, .not_modified = 1, .etag_out = "\"v2\"" },
	{ .name = "ETag with a tab dropped", .path = "/badetag", .status = 200,
	  .body = "ok", .etag_out = "", .lm_out = "ok-date" },
	{ .name = "ETag too long dropped", .path = "/longetag", .status = 200,
	  .body = "ok", .etag_out = "" },

	/* statuses that are answers but not data */
	{ .name = "500", .path = "/500", .rv = AUTHD_EIO, .status = 500,
	  .err = "HTTP 500 Internal Server Error" },
	{ .name = "404", .path = "/404", .rv = AUTHD_EIO, .status = 404,
	  .err = "HTTP 404 Not Found" },
	{ .name = "302 to http followed", .path = "/302-local", .status = 200,
	  .body = "hello", .etag_out = "\"v1\"" },
	{ .name = "302 to https refused", .path = "/302-https", .rv = AUTHD_EIO,
	  .status = 302, .err = "redirect to https://127.0.0.1:" },
	{ .name = "redirect loop", .path = "/302-loop", .rv = AUTHD_EIO,
	  .status = 302, .err = "more than 3 redirects" },
	{ .name = "302 without Location", .path = "/302-noloc",
	  .rv = AUTHD_EIO, .status = 302, .err = "HTTP 302 Found" },
	{ .name = "206 never asked for", .path = "/206", .rv = AUTHD_EIO,
	  .status = 206, .err = "HTTP 206 Partial Content" },
	{ .name = "101", .path = "/101", .rv = AUTHD_EIO, .status = 101,
	  .err = "Empty reply from server" },

	/* size caps */
	{ .name = "too large by Content-Length", .path = "/big-len",
	  .rv = AUTHD_ERANGE, .status = 200,
	  .err = "response larger than 1000 bytes (Content-Length 100000)" },
	{ .name = "too large, chunked", .path = "/big-chunked",
	  .rv = AUTHD_ERANGE, .status = 200,
	  .err = "response larger than 1000 bytes" },
	{ .name = "too large, read to close", .path = "/big-close",
	  .rv = AUTHD_ERANGE, .status = 200,
	  .err = "response larger than 1000 bytes" },
	{ .name = "one byte over", .path = "/exact", .max_size = 999,
	  .rv = AUTHD_ERANGE, .status = 200,
	  .err = "response larger than 999 bytes" },
	{ .name = "header line too long", .path = "/hugeheader",
	  .rv = AUTHD_ERANGE, .status = 200,
	  .err = "header line longer than 8191 bytes" },
	{ .name = "header section too large", .path = "/bigheaders",
	  .rv = AUTHD_ERANGE, .status = 200,
	  .err = "response headers larger than 65536" },
	{ .name = "too many headers", .path = "/manyheaders",
	  .rv = AUTHD_ERANGE, .status = 200,
	  .err = "more than 100 header lines" },

	/* time */
	{ .name = "slow answer", .path = "/slow", .timeout_ms = 300,
	  .rv = AUTHD_EIO, .err = "timeout after 300 ms (",
	  .min_ms = 290, .max_ms = 300 + 300 },
	{ .name = "never answers", .path = "/silent", .timeout_ms = 300,
	  .rv = AUTHD_EIO, .err = "timeout after 300 ms (",
	  .min_ms = 290, .max_ms = 300 + 300 },
	{ .name = "connect timeout", .to = TO_FULL, .path = "/len",
	  .connect_ms = 200, .rv = AUTHD_EIO,
	  .err = "timeout connecting after 200 ms (",
	  .min_ms = 190, .max_ms = 200 + 300 },
	{ .name = "connect timeout capped by timeout", .to = TO_FULL,
	  .path = "/len", .connect_ms = 5000, .timeout_ms = 200,
	  .rv = AUTHD_EIO, .err = "timeout connecting after 200 ms (",
	  .min_ms = 190, .max_ms = 200 + 300 },

	/*
	 * broken answers: libcurl frames the HTTP and says what is wrong;
	 * what it tolerates in headers authd does not read is tolerated
	 */
	{ .name = "malformed status line", .path = "/badstatus",
	  .rv = AUTHD_EIO, .err = "Unsupported HTTP version in response" },
	{ .name = "not HTTP", .path = "/notstatus", .rv = AUTHD_EIO,
	  .err = "Received HTTP/0.9 when not allowed" },
	{ .name = "chunk size not hex", .path = "/badchunk", .rv = AUTHD_EIO,
	  .status = 200,
	  .err = "Illegal or missing hexadecimal sequence in chunked-encoding" },
	{ .name = "chunk size overflow", .path = "/hugechunk", .rv = AUTHD_EIO,
	  .status = 200, .err = "Too long hexadecimal number in chunked-encoding" },
	{ .name = "chunk without CRLF", .path = "/chunk-noterm",
	  .rv = AUTHD_EIO, .status = 200,
	  .err = "Malformed encoding found in chunked-encoding" },
	{ .name = "chunk cut short", .path = "/chunk-cut", .rv = AUTHD_EIO,
	  .status = 200,
	  .err = "transfer closed with outstanding read data remaining" },
	{ .name = "header without colon", .path = "/badheader",
	  .rv = AUTHD_EIO, .status = 200, .err = "Header without colon" },
	{ .name = "space before colon: not a Content-Length, read to close",
	  .path = "/spacename", .status = 200, .body = "ok" },
	{ .name = "folded header tolerated", .path = "/fold", .status = 200,
	  .body = "" },
	{ .name = "control byte in a header tolerated", .path = "/ctl",
	  .status = 200, .body = "" },
	{ .name = "header of token bytes only", .path = "/tokenonly",
	  .rv = AUTHD_EIO, .status = 200, .err = "Header without colon" },
	{ .name = "Content-Length with trailing junk: its number, then short",
	  .path = "/badcl", .rv = AUTHD_EIO, .status = 200,
	  .err = "transfer closed with 12 bytes remaining to read" },
	{ .name = "Content-Length overflow", .path = "/hugecl",
	  .rv = AUTHD_ERANGE, .status = 200,
	  .err = "response larger than 1000 bytes (by its Content-Length)" },
	{ .name = "conflicting Content-Length: the last, then short",
	  .path = "/dupcl", .rv = AUTHD_EIO, .status = 200,
	  .err = "transfer closed with 1 bytes remaining to read" },
	{ .name = "Transfer-Encoding gzip alone: read to close (RFC 9112 6.3)",
	  .path = "/gzip", .status = 200, .body = "" },
	{ .name = "body cut short", .path = "/short", .rv = AUTHD_EIO,
	  .status = 200, .err = "transfer closed with 5 bytes remaining to read" },
	{ .name = "closed without answer", .path = "/nothing",
	  .rv = AUTHD_EIO, .err = "Empty reply from server" },
	{ .name = "reset", .path = "/reset", .rv = AUTHD_EIO,
	  .err = "Connection reset by peer" },

	/* POST */
	{ .name = "POST echo", .path = "/post", .post = "\x30\x03\x02\x01\x00",
	  .post_len = 5, .ctype = "application/ocsp-request", .status = 200,
	  .body = "\x30\x03\x02\x01\x00",
	  .req_has = { "POST /post HTTP/1.1\r\n",
	    "\r\nContent-Type: application/ocsp-request\r\n"
	    "Content-Length: 5\r\n\r\n\x30\x03\x02\x01\x00" } },
	{ .name = "POST default Content-Type", .path = "/post", .post = "",
	  .status = 200, .body = "",
	  .req_has = { "\r\nContent-Type: application/octet-stream\r\n"
	    "Content-Length: 0\r\n\r\n" } },

	/* no server */
	{ .name = "connection refused", .to = TO_REFUSED, .path = "/",
	  .rv = AUTHD_EIO, .err = "Couldn't connect to server (Connection refused)",
	  .max_ms = 1000 },
	{ .name = "name does not resolve", .to = TO_URL,
	  .url = "http://invalid./crl", .rv = AUTHD_EIO,
	  .err = "cannot resolve: Could not resolve host: invalid.",
	  .max_ms = 15000 },
	{ .name = "IPv6 literal, nobody there", .to = TO_URL,
	  .url = "http://[::1]:1/x", .rv = AUTHD_EIO, .err = " ::1" },

	/* refused before any I/O */
	{ .name = "https", .to = TO_URL, .url = "https://127.0.0.1/",
	  .rv = AUTHD_EINVAL, .err = "invalid URL \"https://127.0.0.1/\"" },
	{ .name = "NULL URL", .to = TO_URL, .rv = AUTHD_EINVAL,
	  .err = "no URL" },
	{ .name = "CRLF in ETag", .path = "/len", .etag = "\"a\"\r\nX-Evil: 1",
	  .rv = AUTHD_EINVAL, .err = "invalid ETag" },
	{ .name = "LF in Last-Modified", .path = "/len",
	  .last_modified = "x\ny", .rv = AUTHD_EINVAL,
	  .err = "invalid Last-Modified" },
	{ .name = "CR in Content-Type", .path = "/post", .post = "x",
	  .post_len = 1, .ctype = "a/b\rX: y", .rv = AUTHD_EINVAL,
	  .err = "invalid Content-Type" },
	{ .name = "absurd max_size", .path = "/len", .max_size = SIZE_MAX,
	  .rv = AUTHD_EINVAL, .err = "max_size" },
	{ .name = "zero timeout", .path = "/len", .timeout_ms = -1,
	  .rv = AUTHD_EINVAL, .err = "timeout_ms 0" },
};

static void
run_fcase(const struct fcase *c)
{
	struct fetch_request	 rq;
	struct fetch_result	 res;
	char			 url[512], seen[sizeof(srv.req)];
	size_t			 seenlen = 0, i;
	int			 rv, port;

	port = c->to == TO_REFUSED ? refused_port : c->to == TO_FULL ?
	    full_port : srv.port;
	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port,
	    c->path != NULL ? c->path : "");
	memset(&rq, 0, sizeof(rq));
	rq.url = c->to == TO_URL ? c->url : url;
	rq.etag = c->etag;
	rq.last_modified = c->last_modified;
	rq.connect_timeout_ms = c->connect_ms != 0 ? c->connect_ms : 1000;
	rq.timeout_ms = c->timeout_ms == 0 ? 3000 :
	    c->timeout_ms < 0 ? 0 : c->timeout_ms;
	rq.max_size = c->max_size != 0 ? c->max_size : 1000;
	if (c->post != NULL) {
		rq.body = (const unsigned char *)c->post;
		rq.body_len = c->post_len;
		rq.content_type = c->ctype;
	}

	pthread_mutex_lock(&srv.lock);
	srv.reqlen = 0;
	srv.req[0] = '\0';
	pthread_mutex_unlock(&srv.lock);

	memset(&res, 'Z', sizeof(res));		/* all must be rewritten */
	rv = fetch_http(&rq, &res);

	pthread_mutex_lock(&srv.lock);
	seenlen = srv.reqlen;
	memcpy(seen, srv.req, seenlen);
	seen[seenlen] = '\0';
	pthread_mutex_unlock(&srv.lock);

	CHECK(rv == c->rv, "%s: rv %d (%s), expected %d; error %s", c->name,
	    rv, err_str(rv), c->rv, T_STR(res.error));
	CHECK(res.ok == (c->rv == 0), "%s: ok %d", c->name, res.ok);
	CHECK(res.status == c->status, "%s: status %d, expected %d", c->name,
	    res.status, c->status);
	CHECK(res.not_modified == c->not_modified, "%s: not_modified %d",
	    c->name, res.not_modified);
	if (c->err == NULL)
		CHECK(res.error[0] == '\0', "%s: error %s", c->name,
		    T_STR(res.error));
	else
		CHECK(t_contains(res.error, c->err), "%s: error %s, expected "
		    "%s", c->name, T_STR(res.error), T_STR(c->err));
	if (rv == 0 && !c->not_modified) {
		CHECK(res.body != NULL && res.body[res.len] == '\0',
		    "%s: body not NUL-terminated", c->name);
		if (c->body != NULL)
			CHECK(res.len == (c->post != NULL ? rq.body_len :
			    strlen(c->body)) && memcmp(res.body, c->body,
			    res.len) == 0, "%s: body %s, expected %s", c->name,
			    t_show(res.body, res.len), T_STR(c->body));
		else if (strcmp(c->path, "/exact") == 0)
			CHECK(res.len == 1000, "%s: len %zu", c->name, res.len);
	} else
		CHECK(res.body == NULL && res.len == 0, "%s: body %s on "
		    "failure or 304", c->name, t_show(res.body, res.len));
	if (c->etag_out != NULL)
		CHECK(strcmp(res.etag, c->etag_out) == 0, "%s: etag %s, "
		    "expected %s", c->name, T_STR(res.etag), T_STR(c->etag_out));
	if (c->lm_out != NULL)
		CHECK(strcmp(res.last_modified, c->lm_out) == 0, "%s: "
		    "last_modified %s", c->name, T_STR(res.last_modified));
	if (rv != 0)
		CHECK(res.etag[0] == '\0' && res.last_modified[0] == '\0',
		    "%s: validators kept on failure", c->name);
	for (i = 0; i < 3 && c->req_has[i] != NULL; i++)
		CHECK(t_contains(seen, c->req_has[i]), "%s: request %s lacks "
		    "%s", c->name, t_show(seen, seenlen), T_STR(c->req_has[i]));
	if (c->to == TO_SRV && rv != AUTHD_EINVAL) {
		snprintf(url, sizeof(url), "\r\nHost: 127.0.0.1:%d\r\n", port);
		CHECK(t_contains(seen, url) || strcmp(c->path, "/slow") == 0 ||
		    strcmp(c->path, "/silent") == 0, "%s: no %s in %s", c->name,
		    T_STR(url), t_show(seen, seenlen));
	}
	if (c->to == TO_SRV && c->etag == NULL)
		CHECK(!t_contains(seen, "If-None-Match"), "%s: validator sent",
		    c->name);
	CHECK(res.elapsed_ms >= c->min_ms && (c->max_ms == 0 ||
	    res.elapsed_ms <= c->max_ms), "%s: took %ld ms, expected %ld..%ld",
	    c->name, res.elapsed_ms, c->min_ms, c->max_ms);
	fetch_result_cleanup(&res);
	fetch_result_cleanup(&res);	/* twice is harmless */
	CHECK(res.body == NULL, "%s: cleanup left body", c->name);
}

/* A closed port (refused) and a listener whose backlog is full (SYNs dropped). */
static int	 full_fd, filler[4];

static void
targets_start(void)
{
	struct sockaddr_in	 sin;
	int			 fd, i;

	fd = listen_local(1, &refused_port);
	close(fd);

	full_fd = listen_local(0, &full_port);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((uint16_t)full_port);
	for (i = 0; i < 4; i++) {
		filler[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, 0);
		(void)connect(filler[i], (struct sockaddr *)&sin, sizeof(sin));
	}
	usleep(100 * 1000);	/* let the first handshakes finish */
}

static void
targets_stop(void)
{
	int	 i;

	for (i = 0; i < 4; i++)
		close(filler[i]);
	close(full_fd);
}

static void
test_fetch_http(void)
{
	struct fetch_result	 res;
	size_t			 i;

	for (i = 0; i < sizeof(fcases) / sizeof(fcases[0]); i++)
		run_fcase(&fcases[i]);
	CHECK(fetch_http(NULL, &res) == AUTHD_EINVAL && !res.ok,
	    "NULL request: expected EINVAL");
	CHECK(fetch_http(&(struct fetch_request){ .url = "http://x/" }, NULL) ==
	    AUTHD_EINVAL, "NULL result: expected EINVAL");
	fetch_result_cleanup(NULL);
}

/* The URL parser. */
static const struct {
	const char	*url;
	int		 rc;
	const char	*host, *port, *path;
} ucases[] = {
	{ "http://example.com/crl.der", 0, "example.com", "80", "/crl.der" },
	{ "http://example.com", 0, "example.com", "80", "/" },
	{ "http://example.com:8080/a?b=c", 0, "example.com", "8080", "/a?b=c" },
	{ "HTTP://Example.COM/x", 0, "Example.COM", "80", "/x" },
	{ "http://10.0.0.1:80/x", 0, "10.0.0.1", "80", "/x" },
	{ "http://h:0080/", 0, "h", "80", "/" },
	{ "http://h:65535", 0, "h", "65535", "/" },
	{ "http://[::1]:8080/x", 0, "::1", "8080", "/x" },
	{ "http://[2001:db8::1]/", 0, "2001:db8::1", "80", "/" },
	{ "http://[::ffff:10.0.0.1]/", 0, "::ffff:10.0.0.1", "80", "/" },
	{ "http://h?x=1", 0, "h", "80", "/?x=1" },
	{ "http://crl.ex_ample-1.com/a%20b", 0, "crl.ex_ample-1.com", "80",
	  "/a%20b" },
	{ "http://h//", 0, "h", "80", "//" },
	{ "https://example.com/", -1, NULL, NULL, NULL },
	{ "ftp://example.com/", -1, NULL, NULL, NULL },
	{ "http:/example.com/", -1, NULL, NULL, NULL },
	{ "//example.com/", -1, NULL, NULL, NULL },
	{ "example.com/x", -1, NULL, NULL, NULL },
	{ "", -1, NULL, NULL, NULL },
	{ "http://", -1, NULL, NULL, NULL },
	{ "http:///path", -1, NULL, NULL, NULL },
	{ "http://:80/", -1, NULL, NULL, NULL },
	{ "http://user@host/", -1, NULL, NULL, NULL },
	{ "http://user:pw@host/", -1, NULL, NULL, NULL },
	{ "http://host/x@y", 0, "host", "80", "/x@y" },
	{ "http://host:/", -1, NULL, NULL, NULL },
	{ "http://host:0/", -1, NULL, NULL, NULL },
	{ "http://host:65536/", -1, NULL, NULL, NULL },
	{ "http://host:123456/", -1, NULL, NULL, NULL },
	{ "http://host:8a/", -1, NULL, NULL, NULL },
	{ "http://host:-1/", -1, NULL, NULL, NULL },
	{ "http://host:80:81/", -1, NULL, NULL, NULL },
	{ "http://ho st/", -1, NULL, NULL, NULL },
	{ "http://host/a b", -1, NULL, NULL, NULL },
	{ "http://host/a\tb", -1, NULL, NULL, NULL },
	{ "http://host/a\r\nX: y", -1, NULL, NULL, NULL },
	{ "http://host/\x7f", -1, NULL, NULL, NULL },
	{ "http://host/\xc3\xa9", -1, NULL, NULL, NULL },
	{ "http://host/#frag", -1, NULL, NULL, NULL },
	{ "http://host#frag", -1, NULL, NULL, NULL },
	{ "http://ho$t/", -1, NULL, NULL, NULL },
	{ "http://ho%74/", -1, NULL, NULL, NULL },
	{ "http://[::1/", -1, NULL, NULL, NULL },
	{ "http://[::1]x/", -1, NULL, NULL, NULL },
	{ "http://[::1]:/", -1, NULL, NULL, NULL },
	{ "http://[zz::1]/", -1, NULL, NULL, NULL },
	{ "http://[]/", -1, NULL, NULL, NULL },
	{ "http://[10.0.0.1]/", -1, NULL, NULL, NULL },
	{ "http://[fe80::1%25eth0]/", -1, NULL, NULL, NULL },
	{ "http://::1/", -1, NULL, NULL, NULL },
};

static void
test_parse_url(void)
{
	char	 host[256], port[8], path[FETCH_URL_MAX + 2], *big;
	size_t	 i;
	int	 rc;

	for (i = 0; i < sizeof(ucases) / sizeof(ucases[0]); i++) {
		memset(host, 'Z', sizeof(host));
		rc = fetch_parse_url(ucases[i].url, host, sizeof(host), port,
		    sizeof(port), path, sizeof(path));
		CHECK(rc == ucases[i].rc, "parse %s: rc %d, expected %d",
		    T_STR(ucases[i].url), rc, ucases[i].rc);
		if (rc != 0 || ucases[i].rc != 0)
			continue;
		CHECK(strcmp(host, ucases[i].host) == 0 &&
		    strcmp(port, ucases[i].port) == 0 &&
		    strcmp(path, ucases[i].path) == 0, "parse %s: %s %s %s",
		    T_STR(ucases[i].url), T_STR(host), T_STR(port), T_STR(path));
	}

	/* FETCH_URL_MAX is accepted, one more is not */
	if ((big = malloc(FETCH_URL_MAX + 2)) == NULL)
		exit(2);
	memcpy(big, "http://h/", 9);
	memset(big + 9, 'a', FETCH_URL_MAX - 9);
	big[FETCH_URL_MAX] = '\0';
	rc = fetch_parse_url(big, host, sizeof(host), port, sizeof(port), path,
	    sizeof(path));
	CHECK(rc == 0 && strlen(path) == FETCH_URL_MAX - 8,
	    "URL of FETCH_URL_MAX bytes: rc %d", rc);
	big[FETCH_URL_MAX] = 'a';
	big[FETCH_URL_MAX + 1] = '\0';
	CHECK(fetch_parse_url(big, host, sizeof(host), port, sizeof(port),
	    path, sizeof(path)) == -1, "URL of FETCH_URL_MAX + 1 bytes accepted");
	free(big);

	/* output buffers too small, NULLs */
	CHECK(fetch_parse_url("http://abcd/", host, 4, port, sizeof(port),
	    path, sizeof(path)) == -1, "host buffer of 4 for \"abcd\"");
	CHECK(fetch_parse_url("http://abc/", host, 4, port, sizeof(port),
	    path, sizeof(path)) == 0, "host buffer of 4 for \"abc\"");
	CHECK(fetch_parse_url("http://h:8080/", host, sizeof(host), port, 4,
	    path, sizeof(path)) == -1, "port buffer of 4 for 8080");
	CHECK(fetch_parse_url("http://h/abc", host, sizeof(host), port,
	    sizeof(port), path, 4) == -1, "path buffer of 4 for /abc");
	CHECK(fetch_parse_url("http://h", host, sizeof(host), port,
	    sizeof(port), path, 1) == -1, "path buffer of 1 for /");
	CHECK(fetch_parse_url(NULL, host, sizeof(host), port, sizeof(port),
	    path, sizeof(path)) == -1, "NULL URL accepted");
	CHECK(fetch_parse_url("http://h/", NULL, 0, port, sizeof(port), path,
	    sizeof(path)) == -1, "NULL host buffer accepted");
}

/* The pool. */
static atomic_int	 ran[200];
static int		 idx[200];
static atomic_int	 bad_mask;

static void
job_count(void *arg)
{
	sigset_t	 cur;

	pthread_sigmask(SIG_BLOCK, NULL, &cur);
	if (!sigismember(&cur, SIGHUP) || !sigismember(&cur, SIGTERM) ||
	    !sigismember(&cur, SIGINT) || !sigismember(&cur, SIGPIPE))
		atomic_fetch_add(&bad_mask, 1);
	atomic_fetch_add(&ran[*(int *)arg], 1);
}

static pthread_mutex_t	 gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 gate_cond = PTHREAD_COND_INITIALIZER;
static int		 gate_open, gate_entered;

static void
job_gate(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&gate_lock);
	gate_entered = 1;
	pthread_cond_broadcast(&gate_cond);
	while (!gate_open)
		pthread_cond_wait(&gate_cond, &gate_lock);
	pthread_mutex_unlock(&gate_lock);
}

static void
job_sleep(void *arg)
{
	usleep((useconds_t)*(int *)arg * 1000);
}

static struct fetch_pool *stopping_pool;
static atomic_int	 late_submit = 99;

static void
job_late_submit(void *arg)
{
	(void)arg;
	atomic_store(&late_submit, fetch_submit(stopping_pool, job_count,
	    &idx[0]));
}

struct fetch_job {
	char			 url[128];
	struct fetch_result	 res;
	int			 rv;
};

static void
job_fetch(void *arg)
{
	struct fetch_job	*j = arg;
	struct fetch_request	 rq = { .url = j->url,
	    .connect_timeout_ms = 1000, .timeout_ms = 5000, .max_size = 100 };

	j->rv = fetch_http(&rq, &j->res);
}

static void
test_pool(void)
{
	static struct fetch_job	 jobs[8];
	struct fetch_pool	*pool = NULL;
	int			 i, rc, fails, sleep_ms = 100, quick = 1;

	/* bad arguments */
	CHECK(fetch_pool_new(0, 10, &pool) == AUTHD_EINVAL && pool == NULL,
	    "0 threads accepted");
	CHECK(fetch_pool_new(FETCH_POOL_THREADS_MAX + 1, 10, &pool) ==
	    AUTHD_EINVAL && pool == NULL, "too many threads accepted");
	CHECK(fetch_pool_new(1, 0, &pool) == AUTHD_EINVAL && pool == NULL,
	    "empty queue accepted");
	CHECK(fetch_pool_new(1, 1, NULL) == AUTHD_EINVAL, "NULL out accepted");
	CHECK(fetch_submit(NULL, job_count, NULL) == -1, "submit to NULL");
	fetch_pool_free(NULL);
	fetch_pool_free(&pool);

	/* 200 jobs on 4 threads: each runs exactly once */
	rc = fetch_pool_new(4, 256, &pool);
	CHECK(rc == 0 && pool != NULL, "pool_new(4, 256): %d", rc);
	if (pool == NULL)
		return;
	CHECK(fetch_submit(pool, NULL, NULL) == -1, "NULL job function");
	for (i = 0, fails = 0; i < 200; i++) {
		idx[i] = i;
		atomic_store(&ran[i], 0);
		fails += fetch_submit(pool, job_count, &idx[i]) != 0;
	}
	CHECK(fails == 0, "200 submits to a queue of 256: %d failed", fails);
	fetch_pool_free(&pool);
	CHECK(pool == NULL, "free left the pointer");
	for (i = 0, fails = 0; i < 200; i++)
		fails += atomic_load(&ran[i]) != 1;
	CHECK(fails == 0, "%d of 200 jobs did not run exactly once", fails);
	CHECK(atomic_load(&bad_mask) == 0, "%d jobs ran with signals "
	    "unblocked", atomic_load(&bad_mask));

	/* a full queue refuses; the queue counts waiting jobs only */
	rc = fetch_pool_new(1, 4, &pool);
	CHECK(rc == 0, "pool_new(1, 4): %d", rc);
	if (pool == NULL)
		return;
	gate_open = gate_entered = 0;
	CHECK(fetch_submit(pool, job_gate, NULL) == 0, "gate job refused");
	pthread_mutex_lock(&gate_lock);
	while (!gate_entered)
		pthread_cond_wait(&gate_cond, &gate_lock);
	pthread_mutex_unlock(&gate_lock);
	for (i = 0; i < 4; i++) {
		atomic_store(&ran[i], 0);
		CHECK(fetch_submit(pool, job_count, &idx[i]) == 0,
		    "submit %d of 4 refused", i);
	}
	CHECK(fetch_submit(pool, job_count, &idx[4]) == -1,
	    "submit to a full queue accepted");
	pthread_mutex_lock(&gate_lock);
	gate_open = 1;
	pthread_cond_broadcast(&gate_cond);
	pthread_mutex_unlock(&gate_lock);
	fetch_pool_free(&pool);
	for (i = 0, fails = 0; i < 4; i++)
		fails += atomic_load(&ran[i]) != 1;
	CHECK(fails == 0, "%d of 4 queued jobs lost", fails);

	/* free with jobs queued runs them; submits while stopping fail */
	rc = fetch_pool_new(1, 64, &pool);
	CHECK(rc == 0, "pool_new(1, 64): %d", rc);
	if (pool == NULL)
		return;
	stopping_pool = pool;
	CHECK(fetch_submit(pool, job_sleep, &sleep_ms) == 0, "sleep job");
	for (i = 0; i < 50; i++) {
		atomic_store(&ran[i], 0);
		CHECK(fetch_submit(pool, i == 25 ? job_sleep : job_count,
		    i == 25 ? (void *)&quick : &idx[i]) == 0, "queued job %d", i);
	}
	CHECK(fetch_submit(pool, job_late_submit, NULL) == 0, "late job");
	fetch_pool_free(&pool);
	for (i = 0, fails = 0; i < 50; i++)
		fails += i != 25 && atomic_load(&ran[i]) != 1;
	CHECK(fails == 0, "%d of 49 queued jobs not run by free", fails);
	CHECK(atomic_load(&late_submit) == -1, "submit while stopping: %d",
	    atomic_load(&late_submit));

	/* real fetches on the pool, against the one-at-a-time server */
	rc = fetch_pool_new(4, 8, &pool);
	CHECK(rc == 0, "pool_new(4, 8): %d", rc);
	if (pool == NULL)
		return;
	for (i = 0; i < 8; i++) {
		snprintf(jobs[i].url, sizeof(jobs[i].url),
		    "http://127.0.0.1:%d/%s", srv.port, i % 2 ? "len" :
		    "chunked");
		jobs[i].rv = 99;
		CHECK(fetch_submit(pool, job_fetch, &jobs[i]) == 0,
		    "fetch job %d", i);
	}
	fetch_pool_free(&pool);
	for (i = 0; i < 8; i++) {
		CHECK(jobs[i].rv == 0 && jobs[i].res.ok &&
		    strcmp((char *)jobs[i].res.body, i % 2 ? "hello" :
		    "hello world") == 0, "pool fetch %d: rv %d, %s", i,
		    jobs[i].rv, T_STR(jobs[i].res.error));
		fetch_result_cleanup(&jobs[i].res);
	}
}

/*
 * The engine (fetch_start): a second server, a thread per connection and
 * keep-alive, that counts connections and requests.  /ka answers "ok" at
 * once, /slow-ka after KA_SLOW_MS, /hang never; a request through a proxy
 * (an absolute URI) is answered by the path at its end.
 */
#define KA_SLOW_MS	 500

static struct {
	int		 lfd, port;
	pthread_t	 thr;
	atomic_int	 stop, conns, reqs;
	pthread_mutex_t	 lock;
	char		 line[256];	/* the last request line */
} ka = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void *
ka_conn(void *arg)
{
	int		 fd = (int)(intptr_t)arg;
	char		 buf[4096], *end;
	size_t		 len = 0;
	ssize_t		 n;
	struct timeval	 tv = { 5, 0 };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	for (;;) {
		if ((end = strstr(buf, "\r\n\r\n")) == NULL || len == 0) {
			if (len == sizeof(buf) - 1 || (n = recv(fd, buf + len,
			    sizeof(buf) - 1 - len, 0)) <= 0)
				break;
			len += (size_t)n;
			buf[len] = '\0';
			continue;
		}
		atomic_fetch_add(&ka.reqs, 1);
		pthread_mutex_lock(&ka.lock);
		snprintf(ka.line, sizeof(ka.line), "%.*s",
		    (int)strcspn(buf, "\r"), buf);
		pthread_mutex_unlock(&ka.lock);
		if (strstr(buf, "/hang ") != NULL && strstr(buf, "/hang ") < end) {
			while (!atomic_load(&ka.stop) &&
			    recv(fd, buf, sizeof(buf), 0) > 0)
				;
			break;
		}
		if (strstr(buf, "/slow-ka ") != NULL &&
		    strstr(buf, "/slow-ka ") < end)
			usleep(KA_SLOW_MS * 1000);
		send_str(fd, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
		len -= (size_t)(end + 4 - buf);
		memmove(buf, end + 4, len);
		buf[len] = '\0';
	}
	close(fd);
	return NULL;
}

static void *
ka_main(void *arg)
{
	struct pollfd	 pfd = { .fd = ka.lfd, .events = POLLIN };
	pthread_t	 t;
	int		 fd;

	(void)arg;
	while (!atomic_load(&ka.stop)) {
		if (poll(&pfd, 1, 50) <= 0 ||
		    (fd = accept(ka.lfd, NULL, NULL)) < 0)
			continue;
		atomic_fetch_add(&ka.conns, 1);
		if (pthread_create(&t, NULL, ka_conn, (void *)(intptr_t)fd) != 0)
			close(fd);
		else
			pthread_detach(t);
	}
	return NULL;
}

struct done_box {
	pthread_mutex_t	 lock;
	pthread_cond_t	 cond;
	int		 n, ok, bodies_ok;
	char		 last_error[256];
	struct fetch_pool *restart;	/* start again from the completion */
	int		 restart_rv;
	int		 restarted;	/* restarts the pool took */
	int		 abandoned;	/* completions "abandoned: shutting down" */
};

static struct done_box	 box = { PTHREAD_MUTEX_INITIALIZER,
    PTHREAD_COND_INITIALIZER, 0, 0, 0, "", NULL, 99, 0, 0 };

static void
box_done(void *arg, struct fetch_result *res)
{
	struct done_box	*b = arg;
	struct fetch_request rq = { .url = "http://127.0.0.1:1/",
	    .timeout_ms = 100, .max_size = 10 };

	pthread_mutex_lock(&b->lock);
	b->n++;
	b->ok += res->ok;
	b->bodies_ok += res->ok && res->len == 2 &&
	    memcmp(res->body, "ok", 2) == 0;
	snprintf(b->last_error, sizeof(b->last_error), "%s", res->error);
	b->abandoned += t_contains(res->error, "abandoned: shutting down");
	if (b->restart != NULL &&
	    (b->restart_rv = fetch_start(b->restart, &rq, box_done, b)) == 0)
		b->restarted++;
	pthread_cond_broadcast(&b->cond);
	pthread_mutex_unlock(&b->lock);
}

static void
box_reset(void)
{
	pthread_mutex_lock(&box.lock);
	box.n = box.ok = box.bodies_ok = 0;
	box.last_error[0] = '\0';
	box.restart = NULL;
	box.restart_rv = 99;
	box.restarted = box.abandoned = 0;
	pthread_mutex_unlock(&box.lock);
}

static void
box_wait(int n)
{
	pthread_mutex_lock(&box.lock);
	while (box.n < n)
		pthread_cond_wait(&box.cond, &box.lock);
	pthread_mutex_unlock(&box.lock);
}

static long long
mono_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
ka_start_fetch(struct fetch_pool *pool, const char *path, const char *proxy,
    int timeout_ms)
{
	struct fetch_request	 rq;
	char			 url[256];

	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", ka.port, path);
	memset(&rq, 0, sizeof(rq));
	rq.url = path[0] == '/' ? url : path;
	rq.timeout_ms = timeout_ms;
	rq.max_size = 100;
	rq.proxy = proxy;
	return fetch_start(pool, &rq, box_done, &box);
}

static void
test_engine(void)
{
	struct fetch_pool	*pool = NULL;
	struct fetch_result	 res;
	struct fetch_request	 rq;
	char			 url[128], proxy[64];
	long long		 t0, took;
	int			 i, rc;

	ka.lfd = listen_local(64, &ka.port);
	if (pthread_create(&ka.thr, NULL, ka_main, NULL) != 0)
		exit(2);
	rc = fetch_pool_new(1, 8, &pool);
	CHECK(rc == 0 && pool != NULL, "pool_new(1, 8): %d", rc);
	if (pool == NULL)
		return;
	CHECK(fetch_start(NULL, &rq, box_done, &box) == -1 &&
	    fetch_start(pool, &rq, NULL, &box) == -1, "start without a pool "
	    "or a completion accepted");

	/* 20 slow answers at once, one worker: in flight together */
	box_reset();
	t0 = mono_ms();
	for (i = 0, rc = 0; i < 20; i++)
		rc += ka_start_fetch(pool, "/slow-ka", "", 5000) != 0;
	CHECK(rc == 0, "%d of 20 starts refused", rc);
	box_wait(20);
	took = mono_ms() - t0;
	CHECK(box.ok == 20 && box.bodies_ok == 20, "20 slow fetches: %d ok, "
	    "%d bodies (%s)", box.ok, box.bodies_ok, box.last_error);
	CHECK(took < 4 * KA_SLOW_MS, "20 fetches of %d ms each took %lld ms: "
	    "not in flight together", KA_SLOW_MS, took);

	/* one after another, on a new pool: one kept-alive connection */
	fetch_pool_free(&pool);
	rc = fetch_pool_new(1, 8, &pool);
	CHECK(rc == 0 && pool != NULL, "pool_new(1, 8): %d", rc);
	if (pool == NULL)
		return;
	box_reset();
	atomic_store(&ka.conns, 0);
	atomic_store(&ka.reqs, 0);
	for (i = 0; i < 5; i++) {
		CHECK(ka_start_fetch(pool, "/ka", "", 2000) == 0, "start %d", i);
		box_wait(i + 1);
	}
	CHECK(box.bodies_ok == 5, "5 fetches: %d good (%s)", box.bodies_ok,
	    box.last_error);
	CHECK(atomic_load(&ka.reqs) == 5 && atomic_load(&ka.conns) == 1,
	    "5 requests in turn took %d connections for %d requests: no "
	    "keep-alive", atomic_load(&ka.conns), atomic_load(&ka.reqs));

	/* a request that cannot be made comes back to the completion */
	box_reset();
	CHECK(ka_start_fetch(pool, "https://127.0.0.1/", "", 2000) == 0,
	    "start of an https URL refused instead of answered");
	box_wait(1);
	CHECK(box.ok == 0 && t_contains(box.last_error, "invalid URL"),
	    "https URL: ok %d, %s", box.ok, box.last_error);

	/* a configured proxy: the absolute URI goes to it, names unresolved */
	box_reset();
	snprintf(proxy, sizeof(proxy), "http://127.0.0.1:%d", ka.port);
	CHECK(ka_start_fetch(pool, "http://ocsp.proxied.invalid/ka", proxy,
	    2000) == 0, "proxied start");
	box_wait(1);
	CHECK(box.bodies_ok == 1, "through the proxy: %s", box.last_error);
	pthread_mutex_lock(&ka.lock);
	CHECK(strcmp(ka.line, "GET http://ocsp.proxied.invalid/ka HTTP/1.1")
	    == 0, "the proxy saw %s", ka.line);
	pthread_mutex_unlock(&ka.lock);

	/* the environment: http_proxy used, no_proxy honoured, "" wins */
	setenv("http_proxy", "http://127.0.0.1:1", 1);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/ka", ka.port);
	memset(&rq, 0, sizeof(rq));
	rq.url = url;
	rq.timeout_ms = 2000;
	rq.max_size = 100;
	rc = fetch_http(&rq, &res);
	CHECK(rc == AUTHD_EIO && t_contains(res.error, "port 1 "),
	    "http_proxy in the environment not used: %d %s", rc, res.error);
	fetch_result_cleanup(&res);
	rq.proxy = "";
	rc = fetch_http(&rq, &res);
	CHECK(rc == 0 && res.ok, "proxy \"\" still used the environment's: %s",
	    res.error);
	fetch_result_cleanup(&res);
	rq.proxy = NULL;
	setenv("no_proxy", "127.0.0.1", 1);
	rc = fetch_http(&rq, &res);
	CHECK(rc == 0 && res.ok, "no_proxy not honoured: %s", res.error);
	fetch_result_cleanup(&res);
	unsetenv("no_proxy");
	unsetenv("http_proxy");
	rq.proxy = "http://bad proxy";
	rc = fetch_http(&rq, &res);
	CHECK(rc == AUTHD_EIO && t_contains(res.error, "Unsupported proxy "
	    "syntax in 'http://bad proxy'"),
	    "proxy with a space: %d %s", rc, res.error);
	fetch_result_cleanup(&res);

	/* the deadline holds for a server that never answers */
	box_reset();
	t0 = mono_ms();
	CHECK(ka_start_fetch(pool, "/hang", "", 300) == 0, "hang start");
	box_wait(1);
	took = mono_ms() - t0;
	CHECK(box.ok == 0 && t_contains(box.last_error, "timeout") &&
	    took >= 290 && took < 300 + 700, "hang with 300 ms: %lld ms, %s",
	    took, box.last_error);
	fetch_pool_free(&pool);

	/*
	 * Shutdown with a fetch in flight: fetch_abort ends it within about
	 * a second and its completion runs.  A start made from a completion
	 * before fetch_pool_free marks the pool stopping is taken and fails
	 * the same way (fetch.h: "started from now on fails"), so it completes
	 * once more; once the pool is stopping a start is refused.  Which of
	 * the two the first restart meets is the threads' timing: every
	 * accepted start completes exactly once, abandoned, and the last one
	 * is refused.  Process-wide and final: the last test.
	 */
	rc = fetch_pool_new(1, 8, &pool);
	CHECK(rc == 0, "pool_new for shutdown: %d", rc);
	if (pool == NULL)
		return;
	box_reset();
	CHECK(ka_start_fetch(pool, "/hang", "", 60000) == 0, "hang start");
	usleep(200 * 1000);
	pthread_mutex_lock(&box.lock);
	box.restart = pool;
	pthread_mutex_unlock(&box.lock);
	t0 = mono_ms();
	fetch_abort();
	fetch_pool_free(&pool);
	took = mono_ms() - t0;
	CHECK(box.n == 1 + box.restarted && box.ok == 0 &&
	    box.abandoned == box.n,
	    "in flight at shutdown: %d completions for %d restarts taken, %d "
	    "abandoned, last %s", box.n, box.restarted, box.abandoned,
	    box.last_error);
	CHECK(box.restart_rv == -1, "start from a completion while stopping: "
	    "%d", box.restart_rv);
	CHECK(took < 2000, "shutdown with a 60 s fetch in flight took %lld ms",
	    took);
	atomic_store(&ka.stop, 1);
	pthread_join(ka.thr, NULL);
	close(ka.lfd);
}

/*
 * fetch_parse_response: the same parser over bytes in memory (what the
 * fuzzer drives).  Lengths are explicit: some answers hold NUL bytes.
 */
static void
test_parse_response(void)
{
	static const struct {
		const char	*name;
		const char	*in;
		size_t		 len;		/* 0: strlen(in) */
		size_t		 max;
		int		 rv;
		int		 status;
		const char	*body;		/* when rv == 0 */
		const char	*err;		/* when rv != 0: exact */
	} cases[] = {
		{ "length", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
		  0, 100, 0, 200, "ok", NULL },
		{ "chunked with trailer", "HTTP/1.1 200 OK\r\nTransfer-Encoding:"
		  " chunked\r\n\r\n2\r\nok\r\n0\r\nX-T: 1\r\n\r\n",
		  0, 100, 0, 200, "ok", NULL },
		{ "read to end", "HTTP/1.0 200 OK\r\n\r\nuntil end", 0, 100, 0,
		  200, "until end", NULL },
		{ "over the cap", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"
		  "hello", 0, 4, AUTHD_ERANGE, 200, NULL,
		  "response larger than 4 bytes (Content-Length 5)" },
		{ "chunks over the cap", "HTTP/1.1 200 OK\r\nTransfer-Encoding:"
		  " chunked\r\n\r\n3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n", 0, 5,
		  AUTHD_ERANGE, 200, NULL, "response larger than 5 bytes" },
		/* issue 10 #1: no ':' in a line of token bytes */
		{ "token bytes only", "HTTP/1.1 200 OK\r\n"
		  "XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX\r\n\r\n", 0, 100,
		  AUTHD_EIO, 200, NULL, "Header without colon" },
		{ "token bytes at the line cap", NULL, 0, 100, AUTHD_EIO, 200,
		  NULL, "Header without colon" },
		{ "NUL in a header", "HTTP/1.1 200 OK\r\nContent-Length: 2\0"
		  "9\r\n\r\nok", 42, 100, AUTHD_EIO, 200, NULL,
		  "Nul byte in header" },
		/* libcurl reads the NUL as the start of a chunk extension */
		{ "NUL in a chunk size", "HTTP/1.1 200 OK\r\nTransfer-Encoding:"
		  " chunked\r\n\r\n2\0\r\nok\r\n0\r\n\r\n", 60, 100,
		  0, 200, "ok", NULL },
		{ "a 304 in memory", "HTTP/1.1 304 Not Modified\r\nETag: "
		  "\"x\"\r\n\r\n", 0, 100, 0, 304, NULL, NULL },
		{ "a 500 in memory", "HTTP/1.1 500 Oops\r\nContent-Length: 3\r\n"
		  "\r\nbad", 0, 100, AUTHD_EIO, 500, NULL, "HTTP 500 Oops" },
		{ "empty", "", 0, 100, AUTHD_EIO, 0, NULL,
		  "Empty reply from server" },
	};
	struct fetch_result	 res;
	char			*big = NULL;
	const char		*in;
	size_t			 i, len;
	int			 rv;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		in = cases[i].in;
		if (in == NULL) {
			/*
			 * A line of FETCH_LINE_MAX - 1 token bytes ending in a
			 * bare LF: its NUL is the line buffer's last byte, the
			 * one the bug wrote over.
			 */
			len = 17 + FETCH_LINE_MAX - 1 + 3;
			if ((big = malloc(len)) == NULL)
				exit(2);
			memcpy(big, "HTTP/1.1 200 OK\r\n", 17);
			memset(big + 17, 'Y', FETCH_LINE_MAX - 1);
			memcpy(big + 17 + FETCH_LINE_MAX - 1, "\n\r\n", 3);
			in = big;
		} else
			len = cases[i].len != 0 ? cases[i].len : strlen(in);
		rv = fetch_parse_response((const unsigned char *)in, len,
		    cases[i].max, &res);
		CHECK(rv == cases[i].rv && res.ok == (rv == 0),
		    "%s: rv %d ok %d, want %d (%s)", cases[i].name, rv, res.ok,
		    cases[i].rv, res.error);
		CHECK(res.status == cases[i].status, "%s: status %d, want %d",
		    cases[i].name, res.status, cases[i].status);
		if (cases[i].body != NULL)
			CHECK(res.body != NULL && res.len ==
			    strlen(cases[i].body) && memcmp(res.body,
			    cases[i].body, res.len) == 0, "%s: body %s",
			    cases[i].name, t_show(res.body, res.len));
		else
			CHECK(res.body == NULL && res.len == 0, "%s: body kept "
			    "after a failure", cases[i].name);
		if (cases[i].err != NULL)
			CHECK(strcmp(res.error, cases[i].err) == 0,
			    "%s: error %s, want %s", cases[i].name,
			    T_STR(res.error), T_STR(cases[i].err));
		if (in == big) {
			free(big);
			big = NULL;
		}
		fetch_result_cleanup(&res);
	}
	CHECK(fetch_parse_response(NULL, 0, SIZE_MAX, &res) == AUTHD_EINVAL,
	    "max_size over SIZE_MAX / 4 accepted");
}

int
main(void)
{
	srv_start();
	targets_start();
	test_parse_url();
	test_parse_response();
	test_fetch_http();
	test_pool();
	test_engine();		/* ends with fetch_abort: last */
	targets_stop();
	srv_stop();
	return t_done();
}
