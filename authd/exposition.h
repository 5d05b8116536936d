/*
 * exposition.h: the text of GET /metrics (Prometheus text format 0.0.4):
 * metrics.c's counters and the gauges of the modules that own them.
 */
#ifndef AUTHD_EXPOSITION_H
#define AUTHD_EXPOSITION_H

#include <stddef.h>

struct cache;

/*
 * The exposition, in a buffer the caller frees (*out, *len), from the
 * counters, the current snapshot, cache (may be NULL), the CRL and OCSP
 * tables.  Returns 0, or -1 when memory is short.
 */
int	 exposition_render(struct cache *cache, char **out, size_t *len);

#endif
