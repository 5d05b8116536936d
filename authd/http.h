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

/* Stop serving, close every connection, remove a unix socket. */
void	 http_stop(struct http_server **srv);

/* Split "host:port" / "[v6]:port"; returns 0 or AUTHD_EINVAL. */
int	 http_parse_listen(const char *s, char *host, size_t hostlen,
	    char *port, size_t portlen);

#endif
