/*
 * exposition.c: GET /metrics, rendered above the modules.
 *
 * metrics.c holds the counters and knows no module; the modules that own
 * a gauge (the verdict cache, the OCSP table, the CRLs of the snapshot,
 * the audit log) are read here, at scrape time, through their own
 * interfaces.  Nothing below includes this file.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "cache.h"
#include "crl.h"
#include "exposition.h"
#include "metrics.h"
#include "ocsp.h"
#include "snapshot.h"
#include "verdict.h"

_Static_assert(VERDICT_NREASONS < METRICS_REASONS, "METRICS_REASONS");
_Static_assert(CRL_REJECT_N <= METRICS_CRL_REJECTS, "METRICS_CRL_REJECTS");

struct exposition_crl_walk {
	struct metrics_buf	*b;
	time_t			 now;
	int			 next;	/* 0: age pass, 1: nextUpdate pass */
	size_t			 n;
};

static void
exposition_crl_rejected(void *arg, const struct crl_rejection *r)
{
	struct exposition_crl_walk	*w = arg;
	char				 source[METRICS_LABEL_MAX];

	if (w->n >= METRICS_CRL_SERIES)
		return;
	w->n++;
	metrics_label(source, sizeof(source), r->source);
	metrics_printf(w->b, "authd_crl_source_rejected{source=\"%s\","
	    "reason=\"%s\"} 1\n", source, crl_reject_str(r->why));
}

static void
exposition_crl_one(void *arg, const struct crl_info *ci)
{
	struct exposition_crl_walk	*w = arg;
	char				 issuer[METRICS_LABEL_MAX];
	char				 source[METRICS_LABEL_MAX];

	if (w->n >= METRICS_CRL_SERIES || (w->next && ci->next_update == 0))
		return;
	w->n++;
	metrics_label(issuer, sizeof(issuer), ci->issuer);
	metrics_label(source, sizeof(source), ci->source);
	metrics_printf(w->b, "%s{issuer=\"%s\",source=\"%s\"} %lld\n",
	    w->next ? "authd_crl_next_update_seconds" : "authd_crl_age_seconds",
	    issuer, source, w->next ? (long long)(ci->next_update - w->now) :
	    (long long)(w->now - ci->this_update));
}

/* The counters' label values, from the lists their owners keep. */
static void
exposition_names(struct metrics_names *nm)
{
	static const char	*reasons[VERDICT_NREASONS];
	static int		 status[VERDICT_NREASONS];
	static const char	*rejects[CRL_REJECT_N];
	size_t			 i;

	/* Constant strings: filling them on every scrape is harmless. */
	for (i = 0; i < VERDICT_NREASONS; i++) {
		reasons[i] = verdict_reason_str((enum verdict_reason)i);
		status[i] = verdict_reason_status((enum verdict_reason)i);
	}
	for (i = 0; i < CRL_REJECT_N; i++)
		rejects[i] = crl_reject_str((enum crl_reject)i);
	nm->reasons = reasons;
	nm->reason_status = status;
	nm->nreasons = VERDICT_NREASONS;
	nm->fallback = VERDICT_INTERNAL_ERROR;
	nm->crl_rejects = rejects;
	nm->ncrl_rejects = CRL_REJECT_N;
}

static void
exposition_cache(struct metrics_buf *b, struct cache *cache)
{
	unsigned long long	 hits, misses;

	cache_stats(cache, &hits, &misses);
	metrics_head(b, "authd_verdict_cache_hits_total", "counter",
	    "Verdict cache lookups that answered.");
	metrics_printf(b, "authd_verdict_cache_hits_total %llu\n", hits);
	metrics_head(b, "authd_verdict_cache_misses_total", "counter",
	    "Verdict cache lookups that did not (absent, expired, stale).");
	metrics_printf(b, "authd_verdict_cache_misses_total %llu\n", misses);
	metrics_head(b, "authd_verdict_cache_entries", "gauge",
	    "Verdicts in the cache.");
	metrics_printf(b, "authd_verdict_cache_entries %zu\n",
	    cache_count(cache));
}

static void
exposition_ocsp(struct metrics_buf *b)
{
	metrics_head(b, "authd_ocsp_cache_entries", "gauge",
	    "CertIDs in the OCSP table (answers and remembered failures).");
	metrics_printf(b, "authd_ocsp_cache_entries %zu\n",
	    ocsp_cache_entries());
	metrics_head(b, "authd_ocsp_cache_evictions_total", "counter",
	    "CertIDs dropped from memory to keep within ocsp_cache_size.");
	metrics_printf(b, "authd_ocsp_cache_evictions_total %llu\n",
	    ocsp_cache_evictions());
}

/* The CRLs and the generation of the snapshot being served. */
static void
exposition_snapshot(struct metrics_buf *b)
{
	struct exposition_crl_walk	 w;
	struct snapshot			*snap = snapshot_acquire();
	const struct crl_set		*crl = snap != NULL ? snap->crl : NULL;

	memset(&w, 0, sizeof(w));
	w.b = b;
	w.now = time(NULL);
	metrics_head(b, "authd_crl_age_seconds", "gauge", "Seconds since "
	    "the thisUpdate of each CRL in use.");
	crl_foreach(crl, exposition_crl_one, &w);
	w.next = 1;
	w.n = 0;
	metrics_head(b, "authd_crl_next_update_seconds", "gauge", "Seconds "
	    "until the nextUpdate of each CRL in use (negative: past it).");
	crl_foreach(crl, exposition_crl_one, &w);
	w.n = 0;
	metrics_head(b, "authd_crl_source_rejected", "gauge", "CRL files "
	    "(or CRLs in them) rejected at the last load, by reason; "
	    "1 while rejected.");
	crl_foreach_rejected(crl, exposition_crl_rejected, &w);
	metrics_head(b, "authd_policy_generation", "gauge", "Generation of "
	    "the configuration, trust and policy being served (changes with "
	    "every successful reload).");
	metrics_printf(b, "authd_policy_generation %lu\n", snap != NULL ?
	    snap->generation : 0UL);
	snapshot_release(snap);
}

int
exposition_render(struct cache *cache, char **out, size_t *len)
{
	struct metrics_buf	 b;
	struct metrics_names	 nm;

	*out = NULL;
	*len = 0;
	if (metrics_buf_init(&b) != 0)
		return -1;
	exposition_names(&nm);
	metrics_render_counters(&b, &nm);
	exposition_cache(&b, cache);
	exposition_ocsp(&b);
	exposition_snapshot(&b);
	metrics_head(&b, "authd_audit_errors_total", "counter",
	    "Audit lines that could not be written.");
	metrics_printf(&b, "authd_audit_errors_total %llu\n",
	    (unsigned long long)audit_errors());
	if (b.failed) {
		free(b.p);
		return -1;
	}
	*out = b.p;
	*len = b.len;
	return 0;
}
