/*
 * http.h: the HTTP side, the only code that includes microhttpd.h.
 *
 * Serves GET /healthz, GET /page (the body a refused client gets, see
 * page.h) and, on every other path, the decision endpoint that nginx's
 * auth_request calls.  Answers only 200, 401 or 403 to anything a
 * client can send.
 */
#ifndef AUTHD_HTTP_H
#define AUTHD_HTTP_H

#include "cache.h"
#include "config.h"

struct http_server;

/*
 * Bind cfg->listen ("host:port", "[v6]:port" or "unix:/path") and start
 * cfg->threads request threads.  Decisions use the current snapshot and
 * cache (which must outlive the server).  Returns 0 or a negative
 * authd_err, with the reason logged.
 */
int	 http_start(const struct config *cfg, struct cache *cache,
	    struct http_server **out);

/*
 * Graceful stop, step 1: accept no new connection (a unix socket loses its
 * name, a TCP listener drops new SYNs until http_stop closes it), take the
 * connections already queued, and answer from now on with "Connection:
 * close".  Requests in flight go on.
 */
void	 http_quiesce(struct http_server *srv);

/*
 * How many requests are in flight (headers in, answer not sent) and how
 * many connections have not sent their first request yet; after
 * http_quiesce it also takes connections that finished their handshake
 * meanwhile.  The drain is over when both are 0.
 */
void	 http_busy(struct http_server *srv, unsigned long *requests,
	    unsigned long *fresh);

/*
 * No more waiting for revocation fetches: requests suspended on one are
 * decided now (hard-fail: 401 revocation-unknown) and answered.  Returns
 * how many were woken.
 */
size_t	 http_stop_waiting(struct http_server *srv);

/* Stop serving, close every connection, remove a unix socket. */
void	 http_stop(struct http_server **srv);

/* Split "host:port" / "[v6]:port"; returns 0 or AUTHD_EINVAL. */
int	 http_parse_listen(const char *s, char *host, size_t hostlen,
	    char *port, size_t portlen);

#endif
