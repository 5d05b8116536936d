/*
 * aia.h: issuers fetched from the certificates' Authority Information
 * Access caIssuers URLs (ca_issuers_fetch, issue 13).
 *
 * When the configured certificates cannot complete a chain, the issuer of
 * the certificate that lacks one may be named by an http caIssuers URL in
 * that certificate.  Its answer (a DER certificate, or a DER PKCS#7
 * "certs-only" bundle) is fetched on the fetch engine, one fetch per URL
 * however many requests want it, within fetch_timeout and AIA_MAX_SIZE,
 * with back-off after failures, and kept in memory and in LMDB.  What it
 * brings is only ever an untrusted intermediate: the chain must still end
 * at a configured anchor.  Process-wide state: init once before serving,
 * shutdown after.
 */
#ifndef AUTHD_AIA_H
#define AUTHD_AIA_H

#include <stddef.h>
#include <time.h>

#include <openssl/x509.h>

#include "fetch.h"

#define AIA_MAX_SIZE	 (256 * 1024)	/* bytes of one caIssuers answer */
#define AIA_MAX_CERTS	 32		/* CA certificates kept from one */
#define AIA_KEPT_BYTES	 (64 * 1024)	/* and their DER, at most */
#define AIA_LEVELS_MAX	 4		/* fetches to complete one chain */
#define AIA_TTL		 86400		/* an answer is asked again after */

/* From the snapshot a decision runs under (borrowed for the call). */
struct aia_ctx {
	int			 on;		/* ca_issuers_fetch */
	/* ca_issuers_url: URL prefixes separated by blanks; NULL: any http */
	const char		*allow;
	time_t			 timeout;	/* fetch_timeout */
	const char		*proxy;		/* fetch_proxy, as fetch_request's */
	struct fetch_owner	 owner;
};

struct fetch_pool;
struct store;
void		 aia_init(struct fetch_pool *pool, struct store *store);
void		 aia_shutdown(void);
/* authd check: with no fetch threads, fetch on the caller's thread. */
void		 aia_set_inline(int on);

/*
 * The first http caIssuers URL of x (printable, shorter than len) into
 * url; 0 when it names none.
 */
int		 aia_url(X509 *x, char *url, size_t len);

/*
 * The CA certificates fetched from url, as a new stack holding references
 * (sk_X509_pop_free), or NULL: then *pending is 1 when a fetch runs (wait
 * with aia_wait), else why says what failed.  A fetch is started when
 * there is no answer, or the answer is older than AIA_TTL (the old one is
 * used meanwhile), and the back-off allows.
 */
STACK_OF(X509)	*aia_get(const struct aia_ctx *ctx, const char *url,
		    int *pending, char *why, size_t wlen);

/*
 * The answer of url completed a chain to a configured anchor: keep it in
 * LMDB for the next start (answers that completed nothing are not kept).
 */
void		 aia_keep(const char *url);

/*
 * The issuer fetched from url, verified as a fast start (chain_fast_new)
 * under the snapshot of generation gen: kept with url's entry, so that
 * later leaves naming url cost one signature.  aia_fast_get returns it
 * with a reference (aia_fast_release), or NULL: none for this generation.
 * aia_fast_set takes f (freed when url has no entry in memory).
 */
struct chain_fast;
struct aia_fast;
struct aia_fast	*aia_fast_get(const char *url, unsigned long gen);
const struct chain_fast *aia_fast_chain(const struct aia_fast *af);
void		 aia_fast_release(struct aia_fast *af);
void		 aia_fast_set(const char *url, unsigned long gen,
		    struct chain_fast *f);

/* Whether url is allowed by allow (as struct aia_ctx's). */
int		 aia_allowed(const char *allow, const char *url);

/* As crl_fetch_wait: 0 registered, 1 nothing to wait for, -1 no memory. */
int		 aia_wait(const char *url, void (*resume)(void *), void *arg);
size_t		 aia_wake_all(void);

/*
 * A caIssuers answer's certificates: DER certificate or DER PKCS#7 with
 * certificates (CA certificates only, at most AIA_MAX_CERTS of them and
 * AIA_KEPT_BYTES of DER; the others are dropped).  NULL with why when it is neither.  For fuzzing too.
 */
STACK_OF(X509)	*aia_parse(const unsigned char *body, size_t len, char *why,
		    size_t wlen);

#endif
