/*
 * fetch.h: the fetch engine's transport: HTTP GET and POST for revocation
 * data (OCSP, CRL distribution points) over libcurl, never on a request
 * thread.
 *
 * http:// only (revocation data is signed; RFC 5280 and 6960 use plain
 * HTTP), redirects followed only to http:// and at most
 * FETCH_REDIRECTS_MAX times.  Every fetch has a hard deadline (name
 * resolution and connect, and the whole), a response size cap, and
 * supports conditional GET (If-None-Match / If-Modified-Since from the
 * previous answer).  Bodies are bounded by max_size before they are
 * stored; a larger answer is an error, never truncated silently.
 * Connections to a responder are kept alive between fetches of a pool.
 */
#ifndef AUTHD_FETCH_H
#define AUTHD_FETCH_H

#include <stddef.h>
#include <time.h>

#define FETCH_URL_MAX		 1024
#define FETCH_VALIDATOR_MAX	 256	/* ETag, Last-Modified */
#define FETCH_HEADERS_MAX	 65536	/* response header section, trailers too */
#define FETCH_HEADERS_COUNT	 100	/* header lines per response */
#define FETCH_LINE_MAX		 8192	/* one header or chunk-size line */
#define FETCH_POOL_THREADS_MAX	 64
#define FETCH_REDIRECTS_MAX	 3

struct fetch_request {
	const char	*url;		/* http://host[:port]/path */
	const char	*etag;		/* previous ETag, or NULL */
	const char	*last_modified;	/* previous Last-Modified, or NULL */
	int		 connect_timeout_ms;
	int		 timeout_ms;	/* the whole fetch, connect included */
	size_t		 max_size;	/* largest body accepted */
	/* POST instead of GET when body != NULL (OCSP) */
	const unsigned char *body;
	size_t		 body_len;
	const char	*content_type;
	/*
	 * NULL: libcurl's environment (http_proxy, no_proxy); "": no proxy
	 * whatever the environment says; else http://host:port of a proxy
	 * (no_proxy still applies).
	 */
	const char	*proxy;
};

struct fetch_result {
	int		 ok;		/* 1: an HTTP answer was read whole */
	int		 status;	/* HTTP status, 0 when none */
	int		 not_modified;	/* 304 to a conditional GET */
	char		 error[256];	/* why not ok, for logs */
	unsigned char	*body;		/* owned: fetch_result_cleanup */
	size_t		 len;
	char		 etag[FETCH_VALIDATOR_MAX];
	char		 last_modified[FETCH_VALIDATOR_MAX];
	long		 elapsed_ms;
};

/*
 * Fetch synchronously, on the calling thread (authd check, doctor, tests).
 * Always fills res (res must not be NULL); returns 0 when res->ok, else
 * AUTHD_EINVAL (bad URL or request fields, including validators, proxy or
 * content_type with bytes outside printable ASCII), AUTHD_ENOMEM,
 * AUTHD_ERANGE (body over max_size, headers over the limits above) or
 * AUTHD_EIO (resolution, network, protocol, timeout, or a status other
 * than 2xx/304), with the reason in res->error.
 *
 * ok is 1 for a whole 2xx answer but 206 (body non-NULL, NUL-terminated
 * after len bytes, possibly empty) and for 304 (not_modified = 1, body
 * NULL).  Any other status leaves ok = 0 with status set and error
 * "HTTP 500 ..." (a redirect that could not be followed names its
 * target); no body is kept.  etag and last_modified are those of the
 * final response, filled only when ok, and only when the server's value
 * is printable ASCII shorter than FETCH_VALIDATOR_MAX (else empty: a cut
 * validator is worse than none).  connect_timeout_ms <= 0 means
 * timeout_ms; timeout_ms must be > 0 and bounds everything, name
 * resolution included; connect_timeout_ms bounds resolution plus connect.
 */
int	 fetch_http(const struct fetch_request *rq, struct fetch_result *res);
void	 fetch_result_cleanup(struct fetch_result *res);

/*
 * Read a whole HTTP response held in memory (len bytes of data: status
 * line, headers, body) through the same libcurl transfer and callbacks
 * fetch_http uses, as if a server sent it and then closed the connection
 * (the bytes wait in a socket pair).  For the fuzzer and tests; fills res
 * and returns as fetch_http does (AUTHD_EINVAL when max_size is over
 * SIZE_MAX / 4, AUTHD_ERANGE when len does not fit a socket buffer).
 */
int	 fetch_parse_response(const unsigned char *data, size_t len,
	    size_t max_size, struct fetch_result *res);

/*
 * Split an http URL; returns 0, or -1 for anything but http://host[:port]/path
 * (also -1 for userinfo, a fragment, bytes outside printable ASCII, a URL
 * longer than FETCH_URL_MAX or an output buffer too small).  host is a
 * name (letters, digits, '-', '.', '_') or IPv4 literal, or an IPv6 literal
 * written [addr] and returned without brackets; port defaults to "80" and
 * comes back in decimal without leading zeros; path defaults to "/" and
 * "http://h?q" gives "/?q".
 */
int	 fetch_parse_url(const char *url, char *host, size_t hostlen,
	    char *port, size_t portlen, char *path, size_t pathlen);

/*
 * A pool: one transfer thread that drives every fetch started with
 * fetch_start at once (libcurl multi), and worker threads that run jobs
 * in order of arrival and each finished fetch's completion.  fetch_submit
 * copies nothing: job stays the caller's until run(job) is called on a
 * worker.  Returns 0, or -1 when the pool is stopping or full.
 *
 * fetch_pool_new returns 0, or AUTHD_EINVAL (threads 0 or more than
 * FETCH_POOL_THREADS_MAX, max_queue 0), AUTHD_ENOMEM or AUTHD_ESYS.  The
 * threads block SIGHUP, SIGINT, SIGTERM and SIGPIPE: the main thread
 * takes those with sigwait.  max_queue counts jobs waiting, not running.
 */
struct fetch_pool;
typedef void	 (*fetch_job_fn)(void *job);
int	 fetch_pool_new(unsigned int threads, size_t max_queue,
	    struct fetch_pool **out);
int	 fetch_submit(struct fetch_pool *pool, fetch_job_fn run, void *job);
/*
 * Start a fetch on the pool's transfer thread; returns at once.  rq is
 * copied (URL, validators, body).  On 0, done(arg, res) is called exactly
 * once on a worker thread when the fetch ends, with res filled as
 * fetch_http fills it (a request fetch_http would refuse comes back the
 * same way); done may take res->body (set it NULL), the rest of res is
 * gone when it returns.  -1: the pool is stopping or out of memory, and
 * done is never called.  Safe from any thread, with the caller's locks
 * held (it takes only the pool's own).
 */
typedef void	 (*fetch_done_fn)(void *arg, struct fetch_result *res);
int	 fetch_start(struct fetch_pool *pool, const struct fetch_request *rq,
	    fetch_done_fn done, void *arg);

/*
 * Stop: fetches in flight end (by their deadlines), their completions and
 * the queued jobs run, then join.  Submits and starts made meanwhile (by
 * a running job or completion) fail.  Accepts NULL and sets *pool = NULL.
 * Not from a thread of the same pool.
 */
void	 fetch_pool_free(struct fetch_pool **pool);

/*
 * Shutdown: every fetch in progress or started from now on fails within
 * about a second ("abandoned: shutting down"), so that fetch_pool_free
 * does not wait out fetch_timeout.  Process-wide and final.
 */
void	 fetch_abort(void);

/*
 * What a fetch job was started under (the snapshot), held for as long as
 * the job runs: the trust it verifies its answer with outlives a reload.
 * hold and drop may be NULL (nothing to hold: tests, authd check).
 */
struct fetch_owner {
	void	*owner;
	void	(*hold)(void *owner);
	void	(*drop)(void *owner);
};

static inline void
fetch_owner_hold(const struct fetch_owner *o)
{
	if (o->hold != NULL)
		o->hold(o->owner);
}

static inline void
fetch_owner_drop(const struct fetch_owner *o)
{
	if (o->drop != NULL)
		o->drop(o->owner);
}

/*
 * Requests waiting for a fetch: a list the fetching module keeps per entry,
 * under its own lock.  fetch_waiter_add links one (0, or -1 on no memory);
 * fetch_waiter_wake calls and frees a list the caller has taken out of its
 * entry (call it after unlocking); fetch_waiter_free frees without calling.
 */
struct fetch_waiter {
	void			(*fn)(void *);
	void			*arg;
	struct fetch_waiter	*next;
};

int	 fetch_waiter_add(struct fetch_waiter **list, void (*fn)(void *),
	    void *arg);
void	 fetch_waiter_wake(struct fetch_waiter *list);
void	 fetch_waiter_free(struct fetch_waiter *list);
/* Move every waiter of *from to the front of *to (for a wake-all). */
void	 fetch_waiter_move(struct fetch_waiter **to, struct fetch_waiter **from);

#endif
