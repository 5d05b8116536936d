/*
 * crldp.h: CRLs fetched from the certificates' distribution points: the
 * settings a check passes and the waits (public, through crl.h), and what
 * crl.c asks of them (private to the CRL files).
 */
#ifndef AUTHD_CRLDP_H
#define AUTHD_CRLDP_H

#include "crlmeta.h"
#include "fetch.h"

/* --- public through crl.h */

/*
 * Distribution-point fetching, from the snapshot a check runs under
 * (borrowed for the call; a fetch job copies it and holds owner until it
 * ends, so a fetched CRL is checked with the trust it was asked under).
 */
struct crl_fetch_ctx {
	int			 on;		/* crl_fetch */
	time_t			 timeout;	/* fetch_timeout */
	size_t			 max_size;	/* crl_max_size */
	size_t			 cache_size;	/* crl_fetch_cache_size: URLs in memory */
	const char		*proxy;		/* fetch_proxy, as fetch_request's */
	const struct chain_store *chain;	/* checks fetched CRLs */
	struct fetch_owner	 owner;
};

/*
 * CRL distribution points (authd serve).  When a certificate in scope has
 * no CRL from the files, the http URLs of its CRL Distribution Points are
 * fetched on the fetch pool, one fetch per URL however many requests ask;
 * crl_check answers CRL_PENDING meanwhile, and the caller waits with
 * crl_fetch_wait (the request is suspended, not a thread).  A fetched CRL is
 * checked like a file's, indexed, used until its nextUpdate and refreshed
 * ahead of it with a conditional GET; a failure is remembered, with
 * back-off, so a dead distribution point is not asked on every request.
 * Memory holds the most recently used URLs (a bound in crl.c); one that
 * left it has its CRL read back from the store when asked for again.
 * Process-wide state: init once before serving, shutdown after.
 */
struct fetch_pool;
void		 crl_fetch_init(struct fetch_pool *pool, struct store *store);
void		 crl_fetch_shutdown(void);
/* Changes whenever a fetched CRL does: part of the verdict cache key. */
unsigned long	 crl_fetch_generation(void);
/*
 * Call resume(arg) once the fetch of url completes (on a fetch thread).
 * Returns 0 when registered, 1 when there is nothing to wait for (decide
 * again now), -1 on no memory.
 */
int		 crl_fetch_wait(const char *url, void (*resume)(void *),
		    void *arg);
/*
 * Call every registered resume now, without waiting for the fetches (which
 * go on): at shutdown, so that suspended requests are decided and answered.
 * Returns how many were woken.
 */
size_t		 crl_fetch_wake_all(void);

/* --- private to the CRL files */

/* A fetched CRL, shared by the table and the checks using it. */
struct crldp_crl {
	struct crl_meta		 m;
	atomic_int		 refs;
};

/*
 * A fetched CRL for cc, with a reference (crldp_release), or NULL;
 * *pending names a URL being fetched when there is none yet, why says
 * what failed.
 */
struct crldp_crl *crldp_for(const struct crl_fetch_ctx *ctx,
	    struct crl_cert *cc, time_t at, time_t grace, char *pending,
	    size_t plen, char *why, size_t wlen);
void	 crldp_release(struct crldp_crl *c);
void	 crldp_foreach(void (*fn)(void *, const struct crl_info *), void *arg);

#endif
