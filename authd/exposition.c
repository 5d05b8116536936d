/*
 * exposition.c: GET /metrics, rendered above the modules.
 *
 * metrics.c holds the counters and knows no module; the label values of
 * its fixed lists (decision reasons, CRL rejections) come from their
 * owners here, and the series the modules own (the verdict cache, the
 * OCSP table, the CRLs of the snapshot being served, the audit log) are
 * written by the functions those modules registered with metrics.c.
 * Nothing below includes this file.
 */
#include <stdlib.h>
#include <string.h>

#include "crl.h"
#include "exposition.h"
#include "metrics.h"
#include "verdict.h"

_Static_assert(VERDICT_NREASONS < METRICS_REASONS, "METRICS_REASONS");
_Static_assert(CRL_REJECT_N <= METRICS_CRL_REJECTS, "METRICS_CRL_REJECTS");

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

int
exposition_render(char **out, size_t *len)
{
	struct metrics_buf	 b;
	struct metrics_names	 nm;

	*out = NULL;
	*len = 0;
	if (metrics_buf_init(&b) != 0)
		return -1;
	exposition_names(&nm);
	metrics_render_counters(&b, &nm);
	metrics_render_owned(&b);
	if (b.failed) {
		free(b.p);
		return -1;
	}
	*out = b.p;
	*len = b.len;
	return 0;
}
