/*
 * ocsp.h: revocation by OCSP (RFC 6960), for the certificates of a verified
 * chain.
 *
 * The responder is the configured override or the certificate's AIA OCSP
 * URLs in order; requests go out on the fetch pool (GET when short enough,
 * else POST), one per CertID however many requests wait (they are
 * suspended meanwhile).  A response is used only when it verifies: signed
 * by the issuer, by a delegate the issuer certified for OCSPSigning, or by
 * a pinned responder; its CertID matches ours fully; thisUpdate and
 * nextUpdate hold at the decision time within the skew.  `unknown` is a
 * failure.  Answers are kept in memory and in the LMDB store (so a restart
 * asks nothing new) until nextUpdate (revoked: until the certificate
 * expires), refreshed ahead of it; failures are remembered with back-off.
 * Memory holds at most ocsp_cache_size CertIDs, least recently used out
 * first; an evicted answer is read back from the store when its
 * certificate returns (verified again only when the trust it was verified
 * under has changed: ocsp_ctx.generation).  No count of devices is
 * refused.  Process-wide state (the table, the store, the fetch pool):
 * ocsp_init once before serving, ocsp_shutdown after; what a check runs
 * under comes with each call (struct ocsp_ctx, from the snapshot).
 */
#ifndef AUTHD_OCSP_H
#define AUTHD_OCSP_H

#include <stddef.h>
#include <time.h>

#include <openssl/x509.h>

#include "fetch.h"

enum ocsp_mode {
	OCSP_MODE_OFF = 0,
	OCSP_MODE_LEAF,
	OCSP_MODE_CHAIN,
};

struct ocsp_settings {
	enum ocsp_mode	 mode;
	int		 certid_sha256;		/* else SHA-1 */
	int		 nonce;
	time_t		 skew;
	time_t		 max_age;		/* 0: no limit */
	time_t		 default_ttl;		/* when nextUpdate is absent */
	time_t		 timeout;
	size_t		 max_size;
	size_t		 cache_size;		/* CertIDs in memory (0: 100000) */
	char		 responder[1024];	/* override, or "" */
	const char	*proxy;			/* fetch_proxy, as fetch_request's */
};

/* ocsp_responder URL ISSUER-FILE: the responder for that CA's certificates. */
struct ocsp_route {
	X509		*issuer;
	char		*url;
};

struct chain_store;

/*
 * Everything a check reads, from the snapshot it runs under (borrowed
 * for the call; a fetch job copies it and holds owner until it ends).
 */
struct ocsp_ctx {
	struct ocsp_settings	 set;
	const struct chain_store *chain;	/* verifies the responders */
	STACK_OF(X509)		*signers;	/* pinned responders, or NULL */
	const struct ocsp_route	*routes;	/* ocsp_responder per issuer */
	size_t			 nroutes;
	/*
	 * Answers are verified under the trust of one generation; under
	 * another, an answer is verified again before it is used.
	 */
	unsigned long		 generation;
	struct fetch_owner	 owner;
};

/* The responder routed for certificates of issuer in ctx, or NULL. */
const char	*ocsp_route(const struct ocsp_ctx *ctx, X509 *issuer);

enum ocsp_status {
	OCSP_OK = 0,		/* every certificate in scope is good */
	OCSP_REVOKED,
	OCSP_FAILED,		/* no usable answer: failure policy decides */
	OCSP_WAIT,		/* a responder is being asked */
};

struct ocsp_result {
	enum ocsp_status status;
	int		 depth;
	char		 detail[512];
	time_t		 valid_until;	/* bounds the verdict cache */
	int		 from_cache;	/* every answer came from the cache */
	char		 pending_key[80];	/* OCSP_WAIT: ocsp_wait(key) */
	char		 responder[256];	/* the last responder used */
	time_t		 this_update;	/* of the answer used, 0 none */
};

struct fetch_pool;
struct store;

void		 ocsp_init(struct fetch_pool *pool, struct store *store);
void		 ocsp_shutdown(void);
/*
 * Changes when an answer's status does (good to revoked or back), not on
 * refreshes that say the same: part of the verdict cache key.
 */
unsigned long	 ocsp_generation(void);

/*
 * Check chain (leaf first, anchor last) at time at, under ctx (its mode
 * says which certificates).  Never fails: a problem is a status.
 */
void		 ocsp_check(const struct ocsp_ctx *ctx, STACK_OF(X509) *chain,
		    time_t at, struct ocsp_result *res);
/* The certificate at depth alone (below the anchor), whatever the mode. */
void		 ocsp_check_depth(const struct ocsp_ctx *ctx,
		    STACK_OF(X509) *chain, int depth, time_t at,
		    struct ocsp_result *res);

/*
 * One line per certificate in OCSP scope: the answer held for it (good or
 * revoked, the responder, whether it came from the cache, the signer,
 * thisUpdate and nextUpdate) or why there is none.  For authd check.
 */
/*
 * The OCSP table's key for cert, issued by issuer: the SHA-256 of its
 * CertID's DER (the hash SHA-256 or SHA-1), in hex (IDENTITY_FP_MAX).
 * Returns 0, or -1.
 */
int		 ocsp_certid_key(X509 *cert, X509 *issuer, int sha256, char *key,
		    size_t len);

void		 ocsp_describe(const struct ocsp_ctx *ctx, STACK_OF(X509) *chain,
		    char *buf, size_t len);

/*
 * authd check --ocsp-response: use this DER answer (copied) instead of
 * asking a responder; ocsp_add_offline_response adds one more (one per
 * depth of the chain, up to 8: each certificate uses the one about it).
 * ocsp_set_offline_response(NULL, 0) clears them.  Return 0, or -1 (no
 * memory, or 8 already).
 */
int		 ocsp_set_offline_response(const unsigned char *der, size_t len);
int		 ocsp_add_offline_response(const unsigned char *der, size_t len);

/* Without fetch threads (authd check): ask the responder on the caller. */
void		 ocsp_set_inline(int on);

/*
 * CertIDs in the in-memory table (answers and failures), and how many were
 * evicted to keep it within ocsp_cache_size, for /metrics.
 */
size_t		 ocsp_cache_entries(void);
unsigned long long ocsp_cache_evictions(void);
/* As crl_fetch_wait, for an OCSP_WAIT key. */
int		 ocsp_wait(const char *key, void (*resume)(void *), void *arg);
/* As crl_fetch_wake_all. */
size_t		 ocsp_wake_all(void);

#endif
