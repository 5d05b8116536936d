/*
 * exposition.h: the text of GET /metrics (Prometheus text format 0.0.4):
 * metrics.c's counters and the gauges of the modules that own them.
 */
#ifndef AUTHD_EXPOSITION_H
#define AUTHD_EXPOSITION_H

#include <stddef.h>

/*
 * The exposition, in a buffer the caller frees (*out, *len): the counters,
 * then what the modules registered (metrics_register).  Returns 0, or -1
 * when memory is short.
 */
int	 exposition_render(char **out, size_t *len);

#endif
