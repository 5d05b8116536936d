/*
 * metrics.h: counters for GET /metrics, and the Prometheus text format
 * 0.0.4 they are written in (every metric is described in
 * docs/operations.md).
 *
 * A leaf: the modules add to counters here and this file knows none of
 * them.  The request path only adds: each request thread has its own slot
 * (a cache line apart from the others) and adds with relaxed atomics, so
 * counting takes no lock and shares no line.  Fetch threads count fetches
 * the same way.  exposition.c, above the modules, renders a scrape: these
 * counters (summing the slots), then what the modules registered to show
 * (CRLs in use, table sizes, the policy generation).  Every label comes
 * from a fixed list except the CRL issuer and source, which are escaped,
 * cut, and limited to METRICS_CRL_SERIES series.
 */
#ifndef AUTHD_METRICS_H
#define AUTHD_METRICS_H

#include <stddef.h>
#include <stdint.h>

#define METRICS_CRL_SERIES	 256
#define METRICS_REASONS		 32	/* decision reasons counted, + 1 */
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
 * One decision: reason is an enum verdict_reason (others are counted as
 * the fallback reason the exposition names), latency_us the time from
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

/* A growing text buffer; failed is set (and sticks) when memory is short. */
struct metrics_buf {
	char	*p;
	size_t	 len, cap;
	int	 failed;
};

int	 metrics_buf_init(struct metrics_buf *b);	/* 0, or -1 */
void	 metrics_printf(struct metrics_buf *b, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* "# HELP name help" and "# TYPE name type". */
void	 metrics_head(struct metrics_buf *b, const char *name,
	    const char *type, const char *help);
/* A histogram from per-bucket counts (nb bounds le, then +Inf), sum in s. */
void	 metrics_histogram(struct metrics_buf *b, const char *name,
	    const uint64_t *counts, const double *le, size_t nb, double sum);

/* The label values of the counters' fixed lists, from their owners. */
struct metrics_names {
	const char *const	*reasons;	/* by enum verdict_reason */
	const int		*reason_status;
	size_t			 nreasons;	/* below METRICS_REASONS */
	size_t			 fallback;	/* counts reasons out of range */
	const char *const	*crl_rejects;	/* by enum crl_reject */
	size_t			 ncrl_rejects;
};

/* Every counter above, with its HELP and TYPE lines. */
void	 metrics_render_counters(struct metrics_buf *b,
	    const struct metrics_names *names);

/*
 * What other modules own (the size of a table, a counter they keep, the
 * CRLs being served): each registers a function that writes its series
 * (metrics_head, metrics_printf) into a scrape, called with arg under the
 * registry's lock, in the order registered.  A module never holds a lock
 * of its own while it registers or unregisters.  metrics_register returns
 * 0 (also when fn and arg are registered already) or -1 when
 * METRICS_OWNED_MAX are; unregister before arg goes.
 */
#define METRICS_OWNED_MAX	 16
typedef void	 (*metrics_owned_fn)(struct metrics_buf *b, void *arg);
int	 metrics_register(metrics_owned_fn fn, void *arg);
void	 metrics_unregister(metrics_owned_fn fn, void *arg);
void	 metrics_render_owned(struct metrics_buf *b);

#endif
