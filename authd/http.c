/*
 * http.c: libmicrohttpd glue.
 *
 * A request is decided when its headers are in (nginx's auth_request sends
 * no body; any body is read and dropped).  The headers that matter are
 * collected in one pass, so a duplicated one is seen and refused.
 */
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <linux/filter.h>

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stddef.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "audit.h"
#include "err.h"
#include "exposition.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "page.h"
#include "request.h"
#include "revocation.h"
#include "snapshot.h"
#include "verdict.h"

/*
 * Connections (issue 10 #6).  nginx opens a connection and sends its
 * request at once, then keeps it for the next ones (upstream keepalive,
 * idle up to its keepalive_timeout, 60 s by default).  So a connection
 * that has not sent a request gets HTTP_FRESH_TIMEOUT, one that has gets
 * HTTP_IDLE_TIMEOUT, longer than nginx's, so that nginx closes its idle
 * connections first and never sends on one authd just closed.  The limit
 * is high (idle connections cost a socket and a few pages) and bounded by
 * the descriptors the process may open, raised to its hard limit: 4,096
 * idle connections once kept nginx out for up to 120 s.
 */
#define HTTP_FRESH_TIMEOUT	 10	/* s, until the first request */
#define HTTP_IDLE_TIMEOUT	 75	/* s, between requests */
#define HTTP_CONNECTIONS_MAX	 32768
#define HTTP_FDS_RESERVED	 512	/* files, LMDB, fetches, audit log */

struct http_server {
	struct MHD_Daemon	*mhd;
	struct cache		*cache;
	int			 fd;
	char			*unix_path;
	int			 activated;	/* the listener is systemd's */
	/* Shutdown (http_quiesce and after). */
	int			 lfd;		/* listener, back from MHD */
	atomic_int		 draining;	/* answer with Connection: close */
	atomic_int		 nowait;	/* decide now, suspend no more */
	atomic_long		 inflight;	/* requests in, not answered */
	atomic_long		 fresh;		/* connections yet to send one */
};

/* Per connection (MHD's socket context): has it sent a request yet? */
struct http_conn {
	unsigned long		 requests;
};


static void
http_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char	 msg[512];
	size_t	 n;

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	log_warnx("http: %s", msg);
}

#if MHD_VERSION < 0x01000000
/*
 * libmicrohttpd 0.9 (Debian 12 has 0.9.75) parses the header block in
 * place, replacing each line end (CR LF or LF) with NUL bytes, and ends a
 * value at its first NUL: "X-Original-URI: /public\0/../admin/x" reaches
 * us as "/public", the rest of the line dropped without a word.  So the
 * lines are checked where they lie: between the end of one value and the
 * next name there may be only the one or two NULs of a line end, and after
 * the last value only those of its line end and of the empty line, up to
 * the end of the block (the request line's start plus the documented
 * MHD_CONNECTION_INFO_REQUEST_HEADER_SIZE).  A header not inside the block
 * (a folded line, copied by libmicrohttpd) is refused too: nginx never
 * folds.  libmicrohttpd 1.0 refuses such lines itself with 400.
 */
struct http_lines {
	const char	*start, *end;	/* the header block */
	const char	*prev;		/* end of the previous value, or NULL */
	int		 bad;
};

static int
http_only_nuls(const char *p, const char *end, size_t min, size_t max)
{
	size_t	 n = (size_t)(end - p);

	if (end < p || n < min || n > max)
		return 0;
	for (; p < end; p++)
		if (*p != '\0')
			return 0;
	return 1;
}

static void
http_lines_begin(struct http_lines *l, struct MHD_Connection *c,
    const char *method)
{
	const union MHD_ConnectionInfo	*ci;

	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_REQUEST_HEADER_SIZE);
	l->start = method;
	l->end = ci != NULL && method != NULL ? method + ci->header_size : NULL;
	l->prev = NULL;
	l->bad = l->end == NULL;
}

static void
http_lines_add(struct http_lines *l, const char *key, size_t key_size,
    const char *value, size_t value_size)
{
	if (l->bad)
		return;
	if (key < l->start || value < key + key_size ||
	    value + value_size > l->end ||
	    (l->prev != NULL && !http_only_nuls(l->prev, key, 1, 2)))
		l->bad = 1;
	l->prev = value + value_size;
}

/* 1 when every header line was read whole, else 0. */
static int
http_lines_whole(const struct http_lines *l)
{
	/* the last line's end and the empty line: two to four NULs */
	return !l->bad && (l->prev == NULL ||
	    http_only_nuls(l->prev, l->end, 2, 4));
}
#else
/* Value sizes count NUL bytes: request_headers_add refuses them. */
struct http_lines {
	int	 unused;
};
#define http_lines_begin(l, c, method)	((void)(l), (void)(c), (void)(method))
#define http_lines_add(l, k, ks, v, vs)	((void)(l))
#define http_lines_whole(l)		((void)(l), 1)
#endif

/* One pass over the request headers: collected, and their lines checked. */
struct http_pass {
	struct request_headers	 h;
	struct http_lines	 lines;
};

static enum MHD_Result
http_collect(void *cls, enum MHD_ValueKind kind, const char *key,
    size_t key_size, const char *value, size_t value_size)
{
	struct http_pass	*p = cls;

	(void)kind;
	request_headers_add(&p->h, key, key_size, value, value_size);
	http_lines_add(&p->lines, key, key_size, value, value_size);
	return MHD_YES;
}

static int
http_add(struct MHD_Response *r, const char *name, const char *value)
{
	if (value == NULL || value[0] == '\0')
		return 0;
	return MHD_add_response_header(r, name, value) == MHD_YES ? 0 : -1;
}

static enum MHD_Result
http_reply(struct http_server *srv, struct MHD_Connection *c,
    unsigned int status, const struct verdict *v, const char *body)
{
	struct MHD_Response	*r;
	enum MHD_Result		 ret;
	size_t			 i;
	char			 reuse[24];
	int			 bad = 0;

	r = MHD_create_response_from_buffer(body != NULL ? strlen(body) : 0,
	    (void *)(uintptr_t)(body != NULL ? body : ""),
	    MHD_RESPMEM_PERSISTENT);
	if (r == NULL)
		return MHD_NO;
	if (v != NULL) {
		/*
		 * How long nginx's proxy_cache may reuse it; always sent, so
		 * that 0 forbids what authd does not allow.  Never while
		 * draining (the answer may be a shortcut).
		 */
		snprintf(reuse, sizeof(reuse), "%ld", atomic_load_explicit(
		    &srv->draining, memory_order_relaxed) ? 0L : v->reuse);
		bad |= http_add(r, "X-Accel-Expires", reuse);
		bad |= http_add(r, "X-Authd-Reason", verdict_reason_text(v));
		bad |= http_add(r, "X-Authd-Rule", v->rule);
		if (v->revocation != REVOCATION_NONE)
			bad |= http_add(r, "X-Authd-Revocation",
			    revocation_source_str(v->revocation));
		if (v->reason == VERDICT_OK) {
			bad |= http_add(r, "X-Authd-Subject", v->id.subject);
			bad |= http_add(r, "X-Authd-Issuer", v->id.issuer);
			bad |= http_add(r, "X-Authd-Serial", v->id.serial);
			bad |= http_add(r, "X-Authd-Fingerprint",
			    v->id.fingerprint);
			for (i = 0; v->policy_applied &&
			    i < v->decision.nheaders; i++)
				bad |= http_add(r, v->decision.headers[i].name,
				    v->decision.headers[i].value);
		}
	}
	/* Shutting down: the client must not send another on this one. */
	if (atomic_load_explicit(&srv->draining, memory_order_relaxed))
		bad |= http_add(r, MHD_HTTP_HEADER_CONNECTION, "close");
	if (bad) {
		/* Never send a partial allow. */
		MHD_destroy_response(r);
		return MHD_NO;
	}
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

/*
 * Whether a warning kept in *last may be said again, at most once every
 * secs seconds (one thread wins the turn; a clock set back says it at once).
 */
static int
http_warn_due(_Atomic time_t *last, time_t secs)
{
	time_t	 now = time(NULL), prev = atomic_load(last);

	return (now - prev >= secs || now < prev) &&
	    atomic_compare_exchange_strong(last, &prev, now);
}

/*
 * A rule set nginx asks for and the policy lacks is a configuration
 * mistake worth a warning, but not one per request: at most one a second.
 */
static void
http_log_unknown_ruleset(const struct request_headers *h)
{
	static _Atomic time_t	 last;
	char			 rs[80];

	if (!http_warn_due(&last, 1))
		return;
	log_escape(rs, sizeof(rs), h->ruleset != NULL ? h->ruleset : "",
	    h->ruleset != NULL ? strlen(h->ruleset) : 0);
	log_warnx("the policy has no rule set \"%s\" (X-Authd-Ruleset): "
	    "denied with policy-deny", rs);
}

static void
http_log_verdict(const struct verdict *v, const struct request_headers *h)
{
	char	 uri[256], rs[80];

	if (v->unknown_ruleset)
		http_log_unknown_ruleset(h);
	if (!log_enabled(LOG_LEVEL_DEBUG) && !v->shadow_differs)
		return;
	log_escape(uri, sizeof(uri), h->uri != NULL ? h->uri : "",
	    h->uri != NULL ? strlen(h->uri) : 0);
	log_escape(rs, sizeof(rs), h->ruleset != NULL ? h->ruleset :
	    "default", h->ruleset != NULL ? strlen(h->ruleset) : 7);
	if (v->shadow_differs)
		log_info("shadow policy differs: fp=%s uri=\"%s\" ruleset=%s "
		    "enforced %d %s (%s) shadow %s (%s)",
		    v->id.fingerprint[0] ? v->id.fingerprint : "-", uri, rs,
		    verdict_reason_status(v->reason), verdict_reason_text(v),
		    v->rule[0] ? v->rule : "no rule", v->shadow_reason,
		    v->shadow_rule[0] ? v->shadow_rule : "no rule");
	log_debug("decision %d %s%s fp=%s uri=\"%s\" ruleset=%s rule=%s: %s",
	    verdict_reason_status(v->reason), verdict_reason_text(v),
	    v->cached ? " (cached)" : "",
	    v->id.fingerprint[0] ? v->id.fingerprint : "-", uri, rs,
	    v->rule[0] ? v->rule : "-", v->detail);
}

/*
 * GET /page: the body a refused client gets, rendered from the reason
 * nginx copied from authd's answer (see page.h).  No decision here, so
 * nothing to log: the refusal was logged on /auth.
 */
static enum MHD_Result
http_page(struct http_server *srv, struct MHD_Connection *c)
{
	static _Thread_local struct page	 p;
	struct MHD_Response			*r;
	enum MHD_Result				 ret;

	page_render(MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    "X-Authd-Reason"), page_format(MHD_lookup_connection_value(c,
	    MHD_HEADER_KIND, "Accept")), &p);
	r = MHD_create_response_from_buffer(p.len, p.body,
	    MHD_RESPMEM_MUST_COPY);
	if (r == NULL)
		return MHD_NO;
	if (http_add(r, "Content-Type", p.content_type) != 0 ||
	    http_add(r, "Cache-Control", "no-store") != 0 ||
	    http_add(r, "X-Content-Type-Options", "nosniff") != 0 ||
	    http_add(r, "Vary", "Accept") != 0 ||
	    http_add(r, "X-Authd-Reason", p.reason) != 0 ||
	    (atomic_load_explicit(&srv->draining, memory_order_relaxed) &&
	    http_add(r, MHD_HTTP_HEADER_CONNECTION, "close") != 0)) {
		MHD_destroy_response(r);
		return MHD_NO;
	}
	ret = MHD_queue_response(c, (unsigned int)p.status, r);
	MHD_destroy_response(r);
	return ret;
}

/*
 * Which revocation sources the decision rests on: the one that revoked,
 * "unchecked", or those configured when the decision got as far as
 * revocation (a chain that did not verify never gets there).
 */
static const char *
http_revocation(const struct verdict *v, const struct snapshot *snap)
{
	int	 crl = 0, ocsp = 0, depth;

	if (v->revocation != REVOCATION_NONE)
		return revocation_source_str(v->revocation);
	if (v->rev_by != 0) {		/* what answered */
		for (depth = 0; depth < REVOCATION_BY_DEPTHS; depth++) {
			crl |= REVOCATION_BY(v->rev_by, depth) ==
			    REVOCATION_CRL;
			ocsp |= REVOCATION_BY(v->rev_by, depth) ==
			    REVOCATION_OCSP;
		}
		return crl && ocsp ? "crl+ocsp" : crl ? "crl" : "ocsp";
	}
	switch (v->reason) {
	case VERDICT_OK:
	case VERDICT_NO_MATCHING_RULE:
	case VERDICT_POLICY_DENY:
	case VERDICT_REVOCATION_UNKNOWN:
	case VERDICT_CRL_EXPIRED:
		break;
	default:
		return "none";
	}
	crl = snap != NULL && snap->crl != NULL;
	ocsp = snap != NULL && snap->cfg.ocsp_mode != 0;
	return crl && ocsp ? "crl+ocsp" : crl ? "crl" : ocsp ? "ocsp" : "none";
}

/*
 * nginx keys its cache of this answer by less than the decision read (a
 * per-client key for a rule set that reads the path, or a scope authd does
 * not know): the answer went out with X-Accel-Expires: 0, so nothing wrong
 * is reused, but nothing is reused either.  Said once a minute at most.
 */
static void
http_warn_scope(const struct request_headers *h, enum verdict_cache_scope scope)
{
	static _Atomic time_t	 last;
	char			 rs[80], sc[40];

	if (!http_warn_due(&last, 60))
		return;
	log_escape(rs, sizeof(rs), h->ruleset != NULL ? h->ruleset :
	    "default", h->ruleset != NULL ? strlen(h->ruleset) : 7);
	log_escape(sc, sizeof(sc), h->cache_scope, strlen(h->cache_scope));
	log_warnx("rule set \"%s\": nginx caches its answers per \"%s\" "
	    "(X-Authd-Cache-Scope), but %s: answered with X-Accel-Expires: 0; "
	    "use $authd_cache_scope request there (authd policy check says "
	    "which scope each rule set allows)", rs, sc,
	    scope == VERDICT_SCOPE_CLIENT ?
	    "its rules read the request's method, path or host" :
	    "authd knows only \"request\" and \"client\"");
}

/* Counters and the audit line for one answered decision. */
static void
http_account(const struct verdict *v, const struct request_headers *h,
    const struct snapshot *snap, uint64_t us)
{
	struct audit_record	 r;
	int			 unchecked;

	unchecked = v->revocation == REVOCATION_UNCHECKED;
	metrics_decision((int)v->reason, us, unchecked);
	if (!audit_enabled())
		return;
	memset(&r, 0, sizeof(r));
	clock_gettime(CLOCK_REALTIME, &r.when);
	r.request_id = audit_request_id_ok(h->request_id, h->request_id_len) ?
	    h->request_id : NULL;
	r.status = verdict_reason_status(v->reason);
	r.reason = verdict_reason_text(v);
	r.rule = v->rule;
	r.ruleset = h->ruleset != NULL ? h->ruleset : "default";
	r.subject = v->id.subject;
	r.issuer = v->id.issuer;
	r.serial = v->id.serial;
	r.fingerprint = v->id.fingerprint;
	r.revocation = http_revocation(v, snap);
	r.revocation_age = v->rev_time != 0 && r.when.tv_sec >= v->rev_time ?
	    (long long)(r.when.tv_sec - v->rev_time) : -1;
	r.cached = v->cached;
	r.latency_us = us;
	r.method = h->method;
	r.uri = h->uri;
	r.host = h->host;
	r.client_verify = h->client_verify;
	r.upn = v->upn;
	r.fascn = v->fascn;
	r.uuid = v->uuid;
	r.cert_policy = v->cert_policy;
	audit_write(&r);
}

static enum MHD_Result
http_metrics(struct MHD_Connection *c)
{
	struct MHD_Response	*r;
	enum MHD_Result		 ret;
	char			*text;
	size_t			 len;

	if (exposition_render(&text, &len) != 0)
		return MHD_NO;
	if ((r = MHD_create_response_from_buffer(len, text,
	    MHD_RESPMEM_MUST_FREE)) == NULL) {
		free(text);
		return MHD_NO;
	}
	if (MHD_add_response_header(r, "Content-Type",
	    "text/plain; version=0.0.4; charset=utf-8") != MHD_YES) {
		MHD_destroy_response(r);
		return MHD_NO;
	}
	ret = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

/* Per thread: struct verdict is large, and the stack of a pool thread is not. */
static _Thread_local struct verdict	 http_verdict;

/*
 * Per-request state.  A request that never waits (every warm one) needs
 * none: its context points at http_fresh.  One that waits for a fetch
 * gets a struct http_wait, freed when the request completes.
 */
static int	 http_fresh;

struct http_wait {
	struct timespec		 start;		/* when the headers were in */
	struct verdict_hold	 hold;		/* the first pass's chain */
};

/* A first pass's chain, until http_wait keeps it. */
static _Thread_local struct verdict_hold	 http_hold;

static uint64_t
http_elapsed_us(const struct timespec *start)
{
	struct timespec	 now;
	long long	 us;

	clock_gettime(CLOCK_MONOTONIC, &now);
	us = (long long)(now.tv_sec - start->tv_sec) * 1000000 +
	    (now.tv_nsec - start->tv_nsec) / 1000;
	return us > 0 ? (uint64_t)us : 0;
}

static void
http_resume(void *conn)
{
	MHD_resume_connection(conn);
}

/*
 * Revocation data is being fetched: suspend the request (no thread waits)
 * until a fetch it started ends, then MHD calls the handler again and it
 * decides afresh (the fetches of every depth run meanwhile, so each wait
 * after the first is short).  A request waits until revocation_wait_max
 * after its headers, then is answered with what is known (fails closed).
 * Returns 1 when suspended, 0 when the caller must answer now.
 */
static int
http_wait(struct http_server *srv, struct MHD_Connection *c,
    const struct snapshot *snap, const struct verdict *v, void **req_cls,
    const struct timespec *start, struct verdict_hold *hold)
{
	struct http_wait	*w = NULL;

	if (!v->pending || snap == NULL ||
	    atomic_load_explicit(&srv->nowait, memory_order_relaxed))
		return 0;
	if (*req_cls != &http_fresh)
		w = *req_cls;
	else if ((w = calloc(1, sizeof(*w))) != NULL) {
		w->start = *start;
		w->hold = *hold;
		memset(hold, 0, sizeof(*hold));
		*req_cls = w;
	}
	/* No memory to remember the wait: answer now (fails closed). */
	if (w == NULL || http_elapsed_us(&w->start) >=
	    (uint64_t)revocation_wait_max(&snap->cfg) * 1000000)
		return 0;
	MHD_suspend_connection(c);
	if (revocation_wait(v->pending, v->pending_url, http_resume,
	    c) != 0)
		MHD_resume_connection(c);	/* done already: decide again */
	return 1;
}

/*
 * What a drain waits for: requests between their headers and the end of
 * their answer, and connections that have not sent their first request
 * (a client that just connected means to).  Idle keep-alive connections
 * hold nothing up.
 */
static void
http_request_started(struct http_server *srv, struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo	*ci;
	struct http_conn		*hc;

	atomic_fetch_add_explicit(&srv->inflight, 1, memory_order_relaxed);
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	if (ci != NULL && (hc = ci->socket_context) != NULL &&
	    hc->requests++ == 0) {
		atomic_fetch_sub_explicit(&srv->fresh, 1, memory_order_relaxed);
		/* a client that sends requests: nginx's keep-alive is longer */
		MHD_set_connection_option(c, MHD_CONNECTION_OPTION_TIMEOUT,
		    (unsigned int)HTTP_IDLE_TIMEOUT);
	}
}

static void
http_completed(void *cls, struct MHD_Connection *c, void **req_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct http_server	*srv = cls;

	(void)c;
	(void)toe;
	if (*req_cls == NULL)
		return;
	atomic_fetch_sub_explicit(&srv->inflight, 1, memory_order_relaxed);
	if (*req_cls != &http_fresh) {
		verdict_hold_cleanup(&((struct http_wait *)*req_cls)->hold);
		free(*req_cls);
	}
	*req_cls = NULL;
}

static void
http_connection(void *cls, struct MHD_Connection *c, void **socket_context,
    enum MHD_ConnectionNotificationCode toe)
{
	struct http_server	*srv = cls;
	struct http_conn	*hc;

	(void)c;
	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		/* Without memory the connection is not counted, nothing else. */
		if ((hc = calloc(1, sizeof(*hc))) != NULL)
			atomic_fetch_add_explicit(&srv->fresh, 1,
			    memory_order_relaxed);
		*socket_context = hc;
		return;
	}
	if ((hc = *socket_context) == NULL)
		return;
	if (hc->requests == 0)
		atomic_fetch_sub_explicit(&srv->fresh, 1, memory_order_relaxed);
	free(hc);
	*socket_context = NULL;
}

static enum MHD_Result
http_handle(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **req_cls)
{
	struct http_server	*srv = cls;
	struct http_pass	 pass;
	struct request_headers	*h;
	struct verdict_input	 in;
	struct snapshot		*snap;
	struct verdict		*v = &http_verdict;
	struct verdict_hold	*hold = &http_hold;
	struct timespec		 start;
	enum MHD_Result		 ret;

	(void)version;
	(void)upload_data;
	if (*req_cls == NULL) {		/* headers are in; body may follow */
		*req_cls = &http_fresh;
		http_request_started(srv, c);
		return MHD_YES;
	}
	if (*upload_data_size != 0) {	/* auth_request sends none: drop it */
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (strcmp(url, "/healthz") == 0 && (strcmp(method, "GET") == 0 ||
	    strcmp(method, "HEAD") == 0))
		return http_reply(srv, c, MHD_HTTP_OK, NULL, "ok\n");
	if (strcmp(url, "/page") == 0)
		return http_page(srv, c);
	if (strcmp(url, "/metrics") == 0 && (strcmp(method, "GET") == 0 ||
	    strcmp(method, "HEAD") == 0))
		return http_metrics(c);

	if (*req_cls == &http_fresh)
		clock_gettime(CLOCK_MONOTONIC, &start);
	else {
		start = ((struct http_wait *)*req_cls)->start;
		hold = &((struct http_wait *)*req_cls)->hold;
	}
	memset(&pass, 0, sizeof(pass));
	http_lines_begin(&pass.lines, c, method);
	MHD_get_connection_values_n(c, MHD_HEADER_KIND, http_collect, &pass);
	h = &pass.h;
	if (!http_lines_whole(&pass.lines) &&
	    h->refusal == REQUEST_REFUSED_NONE) {
		h->refusal = REQUEST_REFUSED_OTHER;
		h->refused = "NUL byte inside a header line";
	}
	snap = snapshot_acquire();
	if (verdict_input_headers(h, &in, v))
		verdict_decide_held(snap, srv->cache, &in, v, hold);
	if (http_wait(srv, c, snap, v, req_cls, &start, hold)) {
		snapshot_release(snap);
		return MHD_YES;
	}
	verdict_hold_cleanup(hold);	/* answered now: nothing to keep */
	http_log_verdict(v, h);
	if (in.cache_scope != VERDICT_SCOPE_REQUEST &&
	    !verdict_scope_ok(snap, &in, v))
		http_warn_scope(h, in.cache_scope);
	http_account(v, h, snap, http_elapsed_us(&start));
	/* Header names set by the policy live in the snapshot: reply first. */
	ret = http_reply(srv, c, (unsigned int)verdict_reason_status(v->reason),
	    v, NULL);
	snapshot_release(snap);
	return ret;
}

int
http_parse_listen(const char *s, char *host, size_t hostlen, char *port,
    size_t portlen)
{
	const char	*colon, *hs = s, *he;

	if (s[0] == '[') {
		if ((he = strchr(s, ']')) == NULL || he[1] != ':')
			return AUTHD_EINVAL;
		hs = s + 1;
		colon = he + 1;
	} else {
		if ((colon = strrchr(s, ':')) == NULL)
			return AUTHD_EINVAL;
		he = colon;
	}
	if ((size_t)(he - hs) >= hostlen || strlen(colon + 1) >= portlen ||
	    colon[1] == '\0')
		return AUTHD_EINVAL;
	memcpy(host, hs, (size_t)(he - hs));
	host[he - hs] = '\0';
	memcpy(port, colon + 1, strlen(colon + 1) + 1);
	return 0;
}

static int
http_bind_unix(const struct config *cfg, const char *path, int *fdp)
{
	struct sockaddr_un	 sun;
	struct stat		 sb;
	int			 fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		log_error("listen: unix socket path too long: %s", path);
		return AUTHD_EINVAL;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	/* A stale socket from an earlier run is replaced; anything else is not. */
	if (lstat(path, &sb) == 0) {
		if (!S_ISSOCK(sb.st_mode)) {
			log_error("listen: %s exists and is not a socket", path);
			return AUTHD_EINVAL;
		}
		unlink(path);
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		log_warn("listen: socket");
		return AUTHD_ESYS;
	}
	/* Owner and mode are right before anyone can connect (listen). */
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    chmod(path, cfg->listen_mode) == -1) {
		log_warn("listen: %s", path);
		close(fd);
		return AUTHD_ESYS;
	}
	if (cfg->listen_owner.value != NULL && chown(path, cfg->listen_uid,
	    cfg->listen_gid) == -1) {
		log_warn("listen_owner: cannot give %s to %s (%lu:%lu)", path,
		    cfg->listen_owner.value, (unsigned long)cfg->listen_uid,
		    (unsigned long)cfg->listen_gid);
		close(fd);
		unlink(path);
		return AUTHD_ESYS;
	}
	if (listen(fd, 1024) == -1) {
		log_warn("listen: %s", path);
		close(fd);
		unlink(path);
		return AUTHD_ESYS;
	}
	*fdp = fd;
	return 0;
}

static int
http_bind_inet(const char *listen_on, int *fdp)
{
	struct addrinfo	 hints, *res = NULL, *ai;
	char		 host[256], port[32];
	int		 fd = -1, one = 1, gai;

	if (http_parse_listen(listen_on, host, sizeof(host), port,
	    sizeof(port)) != 0) {
		log_error("listen: expected host:port, [v6]:port or "
		    "unix:/path, got \"%s\"", listen_on);
		return AUTHD_EINVAL;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((gai = getaddrinfo(host[0] ? host : NULL, port, &hints, &res)) != 0) {
		log_error("listen: %s: %s", listen_on, gai_strerror(gai));
		return AUTHD_EINVAL;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
		    ai->ai_protocol);
		if (fd == -1)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
		    listen(fd, 1024) == 0)
			break;
		close(fd);
		fd = -1;
	}
	if (fd == -1)
		log_warn("listen: %s", listen_on);
	freeaddrinfo(res);
	if (fd == -1)
		return AUTHD_ESYS;
	*fdp = fd;
	return 0;
}

/*
 * As many connections as the descriptors allow, up to
 * HTTP_CONNECTIONS_MAX: the soft RLIMIT_NOFILE is raised to the hard one
 * first (systemd's default soft limit is 1,024).
 */
static unsigned int
http_connection_limit(void)
{
	struct rlimit	 rl;
	rlim_t		 n;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return 1024 - HTTP_FDS_RESERVED;
	if (rl.rlim_cur < rl.rlim_max) {
		n = rl.rlim_max;
		if (n == RLIM_INFINITY || n > HTTP_CONNECTIONS_MAX +
		    HTTP_FDS_RESERVED)
			n = HTTP_CONNECTIONS_MAX + HTTP_FDS_RESERVED;
		if (n > rl.rlim_cur) {
			rl.rlim_cur = n;
			if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
				getrlimit(RLIMIT_NOFILE, &rl);
		}
	}
	n = rl.rlim_cur;
	if (n == RLIM_INFINITY || n > HTTP_CONNECTIONS_MAX + HTTP_FDS_RESERVED)
		return HTTP_CONNECTIONS_MAX;
	if (n < 2 * HTTP_FDS_RESERVED)
		return (unsigned int)(n / 2);
	return (unsigned int)(n - HTTP_FDS_RESERVED);
}

/*
 * systemd socket activation (sd_listen_fds(3)): when LISTEN_PID names this
 * process, LISTEN_FDS sockets start at descriptor 3; authd serves on one,
 * which must be a listening stream socket (TCP or unix).  The variables
 * are removed so that nothing authd starts inherits them.  Returns the
 * descriptor, -1 when none was passed, or AUTHD_EINVAL (logged).
 */
#define HTTP_LISTEN_FDS_START	 3
static int
http_activated(void)
{
	const char	*pid = getenv("LISTEN_PID"), *n = getenv("LISTEN_FDS");
	char		*end;
	long		 p, k;
	int		 type = 0, acc = 0;
	socklen_t	 len;
	struct stat	 sb;

	if (pid == NULL || n == NULL)
		return -1;
	errno = 0;
	p = strtol(pid, &end, 10);
	if (errno != 0 || *end != '\0' || p != (long)getpid())
		return -1;		/* another process's (a parent's) */
	k = strtol(n, &end, 10);
	if (*end != '\0')
		k = -1;
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	if (k != 1) {
		log_error("socket activation: LISTEN_FDS is %s; authd serves "
		    "on exactly one socket (one ListenStream= in authd.socket)",
		    n);
		return AUTHD_EINVAL;
	}
	len = sizeof(type);
	if (fstat(HTTP_LISTEN_FDS_START, &sb) == -1 || !S_ISSOCK(sb.st_mode) ||
	    getsockopt(HTTP_LISTEN_FDS_START, SOL_SOCKET, SO_TYPE, &type,
	    &len) == -1 || type != SOCK_STREAM ||
	    (len = sizeof(acc), getsockopt(HTTP_LISTEN_FDS_START, SOL_SOCKET,
	    SO_ACCEPTCONN, &acc, &len)) == -1 || !acc) {
		log_error("socket activation: descriptor %d is not a "
		    "listening stream socket", HTTP_LISTEN_FDS_START);
		return AUTHD_EINVAL;
	}
	if (fcntl(HTTP_LISTEN_FDS_START, F_SETFD, FD_CLOEXEC) == -1) {
		log_warn("socket activation: descriptor %d",
		    HTTP_LISTEN_FDS_START);
		return AUTHD_EINVAL;
	}
	return HTTP_LISTEN_FDS_START;
}

/* The address a passed listener has, for the log. */
static void
http_sockname(int fd, char *buf, size_t len)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_un	*sun = (struct sockaddr_un *)&ss;
	socklen_t		 sl = sizeof(ss);
	char			 host[NI_MAXHOST], port[NI_MAXSERV];

	snprintf(buf, len, "descriptor %d", fd);
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == -1)
		return;
	if (ss.ss_family == AF_UNIX && sl > offsetof(struct sockaddr_un,
	    sun_path) && sun->sun_path[0] != '\0')
		snprintf(buf, len, "unix:%.*s", (int)(sl - offsetof(struct
		    sockaddr_un, sun_path)), sun->sun_path);
	else if (getnameinfo((struct sockaddr *)&ss, sl, host, sizeof(host),
	    port, sizeof(port), NI_NUMERICHOST | NI_NUMERICSERV) == 0)
		snprintf(buf, len, ss.ss_family == AF_INET6 ? "[%s]:%s" :
		    "%s:%s", host, port);
}

int
http_start(const struct config *cfg, struct cache *cache,
    struct http_server **out)
{
	char			 passed[160];
	unsigned int		 maxconn;
	struct http_server	*srv;
	const char		*listen_on;
	unsigned int		 flags;
	int			 rc;

	*out = NULL;
	if ((srv = calloc(1, sizeof(*srv))) == NULL)
		return AUTHD_ENOMEM;
	srv->fd = -1;
	srv->lfd = -1;
	srv->cache = cache;
	listen_on = cfg->listen.value != NULL ? cfg->listen.value :
	    "127.0.0.1:9180";
	if ((rc = http_activated()) != -1) {
		if (rc < 0)
			goto fail;
		srv->fd = rc;
		srv->activated = 1;
		rc = 0;
		http_sockname(srv->fd, passed, sizeof(passed));
		if (cfg->listen.value != NULL)
			log_info("listen %s: not used, serving on the socket "
			    "systemd passed (%s)", cfg->listen.value, passed);
		listen_on = passed;
	} else if (strncmp(listen_on, "unix:", 5) == 0) {
		if ((srv->unix_path = strdup(listen_on + 5)) == NULL) {
			rc = AUTHD_ENOMEM;
			goto fail;
		}
		rc = http_bind_unix(cfg, srv->unix_path, &srv->fd);
		if (rc != 0) {
			free(srv->unix_path);
			srv->unix_path = NULL;
		}
	} else
		rc = http_bind_inet(listen_on, &srv->fd);
	if (rc != 0)
		goto fail;

	maxconn = http_connection_limit();
	flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
	    MHD_USE_TURBO | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME |
	    MHD_USE_SUPPRESS_DATE_NO_CLOCK;	/* nginx ignores it; saves gmtime */
	srv->mhd = MHD_start_daemon(flags, 0, NULL, NULL, http_handle, srv,
	    MHD_OPTION_EXTERNAL_LOGGER, http_mhd_log, NULL,
	    MHD_OPTION_LISTEN_SOCKET, (MHD_socket)srv->fd,
	    MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)cfg->threads,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, cfg->max_request_size,
	    MHD_OPTION_CONNECTION_LIMIT, maxconn,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)HTTP_FRESH_TIMEOUT,
	    MHD_OPTION_NOTIFY_COMPLETED, http_completed, srv,
	    MHD_OPTION_NOTIFY_CONNECTION, http_connection, srv,
	    MHD_OPTION_END);
	if (srv->mhd == NULL) {
		log_error("http: cannot start the server on %s", listen_on);
		rc = AUTHD_ESYS;
		goto fail;
	}
	srv->fd = -1;		/* MHD owns and closes it now */
	log_info("listening on %s with %u threads, up to %u connections",
	    listen_on, cfg->threads, maxconn);
	*out = srv;
	return 0;
fail:
	http_stop(&srv);
	return rc;
}

void
http_stop(struct http_server **psrv)
{
	struct http_server	*srv = *psrv;

	if (srv == NULL)
		return;
	if (srv->mhd != NULL)
		MHD_stop_daemon(srv->mhd);
	if (srv->fd != -1)
		close(srv->fd);
	/* Only now: until MHD stopped, a thread of it may still use it. */
	if (srv->lfd != -1)
		close(srv->lfd);
	if (srv->unix_path != NULL) {
		unlink(srv->unix_path);
		free(srv->unix_path);
	}
	free(srv);
	*psrv = NULL;
}

/*
 * A TCP listener that is not closed yet but takes no new connections: a
 * socket filter drops every SYN without ACK (TCP header at offset 0, flags
 * at byte 13), so the kernel neither completes new handshakes nor answers
 * them.  Handshakes already under way finish (their ACK passes) and queue
 * for accept; a client whose SYN was dropped retries it, and once the
 * listener is closed gets "connection refused" - before sending anything.
 */
static void
http_refuse_new(int fd)
{
	struct sock_filter	code[] = {
		BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 13),
		BPF_STMT(BPF_ALU | BPF_AND | BPF_K, 0x12),	/* SYN|ACK */
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x02, 0, 1),	/* SYN */
		BPF_STMT(BPF_RET | BPF_K, 0),			/* drop */
		BPF_STMT(BPF_RET | BPF_K, 0xffffffffU),		/* keep */
	};
	struct sock_fprog	prog = { sizeof(code) / sizeof(code[0]), code };

	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog,
	    sizeof(prog)) == -1)
		log_warn("shutdown: cannot stop new TCP connections before "
		    "closing the listener (some may be reset)");
}

/* Hand the connections the kernel queued for the listener to MHD. */
static void
http_accept_queued(struct http_server *srv)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	int			 s;

	for (;;) {
		len = sizeof(ss);
		s = accept4(srv->lfd, (struct sockaddr *)&ss, &len,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (s == -1) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				log_warn("shutdown: accept");
			return;
		}
		/* On failure MHD has closed s; the client sent nothing yet. */
		if (MHD_add_connection(srv->mhd, s, (struct sockaddr *)&ss,
		    len) != MHD_YES)
			log_warnx("shutdown: a queued connection was refused");
	}
}

void
http_quiesce(struct http_server *srv)
{
	MHD_socket	 fd;
	int		 fl;

	if (srv == NULL || srv->mhd == NULL || srv->lfd != -1)
		return;
	atomic_store(&srv->draining, 1);
	if ((fd = MHD_quiesce_daemon(srv->mhd)) == MHD_INVALID_SOCKET) {
		log_warnx("shutdown: cannot stop accepting connections");
		return;
	}
	srv->lfd = fd;
	if (srv->activated) {
		/*
		 * systemd's socket, shared with it: refuse nothing and take
		 * nothing more.  New connections queue in the kernel for the
		 * next process (a restart), which serves them.
		 */
		return;
	}
	if ((fl = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1)
		log_warn("shutdown: listener");
	/*
	 * A unix listener shut for reading refuses new connections and still
	 * hands out the queued ones; its name goes too, when the directory
	 * lets us (after `user` it may not: the file then stays).
	 */
	if (srv->unix_path != NULL) {
		if (shutdown(fd, SHUT_RD) == -1)
			log_warn("shutdown: cannot stop new connections on %s",
			    srv->unix_path);
		if (unlink(srv->unix_path) == -1)
			log_warn("shutdown: cannot remove %s", srv->unix_path);
		free(srv->unix_path);
		srv->unix_path = NULL;
	} else
		http_refuse_new(fd);
	http_accept_queued(srv);
}

void
http_busy(struct http_server *srv, unsigned long *requests,
    unsigned long *fresh)
{
	long	 r = 0, f = 0;

	if (srv != NULL) {
		if (srv->lfd != -1 && !srv->activated)
			http_accept_queued(srv);
		r = atomic_load(&srv->inflight);
		f = atomic_load(&srv->fresh);
	}
	*requests = r > 0 ? (unsigned long)r : 0;
	*fresh = f > 0 ? (unsigned long)f : 0;
}

size_t
http_stop_waiting(struct http_server *srv)
{
	if (srv == NULL)
		return 0;
	atomic_store(&srv->nowait, 1);
	return revocation_wake_all();
}
