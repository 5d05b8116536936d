/*
 * explain.h: what authd check prints: the decision on the first line, then
 * how it was reached, as text or as one JSON document.
 */
#ifndef AUTHD_EXPLAIN_H
#define AUTHD_EXPLAIN_H

#include <stdio.h>
#include <time.h>

#include <openssl/x509.h>

#include "snapshot.h"
#include "verdict.h"

struct explain_ctx {
	const char		*cert_path;
	time_t			 at;		/* the decision time */
	int			 at_given;	/* --at, not the clock */
	const struct snapshot	*snap;
	const struct verdict_input *in;
};

void	 explain_text(FILE *f, const struct explain_ctx *ctx,
	    const struct verdict *v, STACK_OF(X509) *chain);
void	 explain_json(FILE *f, const struct explain_ctx *ctx,
	    const struct verdict *v, STACK_OF(X509) *chain);

/* RFC 3339 UTC ("2026-01-02T03:04:05Z") into buf (at least 21 bytes). */
void	 explain_time(time_t t, char *buf, size_t len);

/*
 * s as a JSON string, quotes included: '"' and '\\' escaped, any byte
 * outside printable ASCII as \u00XX (authd's own strings are sanitised
 * already; this keeps the document valid whatever they hold).
 */
void	 explain_json_string(FILE *f, const char *s);

#endif
