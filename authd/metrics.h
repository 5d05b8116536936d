/*
 * metrics.h: counters for GET /metrics, in Prometheus text format 0.0.4
 * (every metric is described in docs/operations.md).
 *
 * The request path only adds to counters: each request thread has its own
 * slot (a cache line apart from the others) and adds with relaxed atomics,
 * so counting takes no lock and shares no line.  Fetch threads count
 * fetches the same way.  Scrapes sum the slots, and read gauges (CRLs in
 * use, cache sizes, the policy generation) from their owners at that time.
 * Every label comes from a fixed list except the CRL issuer and source,
 * which are escaped, cut, and limited to METRICS_CRL_SERIES series.
 */
#ifndef AUTHD_METRICS_H
#define AUTHD_METRICS_H

#include <stddef.h>
#include <stdint.h>

#define METRICS_CRL_SERIES	 256
#define METRICS_LABEL_MAX	 200	/* bytes of a label value, escaped */

/* CRL distribution point fetches: outcome label. */
#define METRICS_CRL_OUTCOMES(X)						\
	X(METRICS_CRL_FETCHED,	 "fetched")	/* a new CRL, in use */	\
	X(METRICS_CRL_UNCHANGED, "unchanged")	/* 304, or the same CRL */ \
	X(METRICS_CRL_REFUSED,	 "refused")	/* a CRL, not acceptable */ \
	X(METRICS_CRL_ERROR,	 "error")	/* no CRL: network, HTTP */

/* OCSP queries (one per responder asked): outcome label. */
#define METRICS_OCSP_OUTCOMES(X)					\
	X(METRICS_OCSP_GOOD,	 "good")				\
	X(METRICS_OCSP_REVOKED,	 "revoked")				\
	X(METRICS_OCSP_INVALID,	 "invalid")	/* answer refused */	\
	X(METRICS_OCSP_ERROR,	 "error")	/* no answer */

enum metrics_crl_outcome {
#define METRICS_ENUM(name, str) name,
	METRICS_CRL_OUTCOMES(METRICS_ENUM)
	METRICS_CRL_NOUTCOMES
};

enum metrics_ocsp_outcome {
	METRICS_OCSP_OUTCOMES(METRICS_ENUM)
#undef METRICS_ENUM
	METRICS_OCSP_NOUTCOMES
};

/*
 * One decision: reason is an enum verdict_reason, latency_us the time from
 * the request's headers to the answer (waits for fetches included),
 * unchecked 1 when allowed with revocation unchecked.
 */
void	 metrics_decision(int reason, uint64_t latency_us, int unchecked);

/* A fetch that ended, on a fetch thread; ms from its start to its end. */
void	 metrics_crl_fetch(enum metrics_crl_outcome o, long ms);
void	 metrics_ocsp_query(enum metrics_ocsp_outcome o, long ms);
/*
 * A CRL or CRL file rejected (reason: an enum crl_reject, below
 * METRICS_CRL_REJECTS), counted once per change, not per reload.
 */
#define METRICS_CRL_REJECTS	 16
void	 metrics_crl_rejected(unsigned int reason);

/* A reload that ended (ok: published); at start, once, with ok = 1. */
void	 metrics_reload(int ok);

/*
 * Escape a label value: printable ASCII, '\\' and '"' escaped, any other
 * byte written \\xHH, cut to fit cap (ending in "...").  Returns dst.
 */
char	*metrics_label(char *dst, size_t cap, const char *src);

/*
 * The exposition, in a buffer the caller frees (*out, *len), from the
 * counters, the current snapshot, cache (may be NULL), the CRL and OCSP
 * tables.  Returns 0, or -1 when memory is short.
 */
struct cache;
int	 metrics_render(struct cache *cache, char **out, size_t *len);

#endif
