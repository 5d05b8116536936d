/*
 * chain.h: certificate path validation against the configured trust.
 *
 * A chain_store is built once by the loader and then only read, by any
 * number of threads.  nginx forwards the leaf only, so the store also holds
 * the intermediates.  Each intermediate is verified once, when loaded; a
 * leaf it issued then costs one signature check, not one per level
 * (chain_verify with CHAIN_FAST).
 */
#ifndef AUTHD_CHAIN_H
#define AUTHD_CHAIN_H

#include <stddef.h>
#include <time.h>

#include <openssl/x509.h>

#include "config.h"
#include "policy.h"

enum chain_status {
	CHAIN_OK = 0,
	CHAIN_UNTRUSTED,
	CHAIN_EXPIRED,
	CHAIN_NOT_YET_VALID,
	CHAIN_WRONG_PURPOSE,
	CHAIN_POLICY,		/* no acceptable certificate policy (RFC 5280 6.1) */
	CHAIN_ERROR,		/* internal failure: fail closed */
};

#define CHAIN_DETAIL_MAX	 512

struct chain_result {
	enum chain_status	 status;
	int			 x509_error;	/* X509_V_ERR_*, 0 when ok */
	int			 error_depth;	/* -1 when not applicable */
	char			 detail[CHAIN_DETAIL_MAX];
	/* Interval in which every certificate of the chain is in its validity. */
	time_t			 valid_from;
	time_t			 valid_until;
	int			 fast;		/* answered by a verified intermediate */
	int			 alternative;	/* 0, or the candidate path (1..) that
						   verified after OpenSSL's failed */
	int			 fetched;	/* with an issuer from caIssuers */
	STACK_OF(X509)		*chain;		/* CHAIN_WANT_CHAIN: owned by caller */
};

struct chain_store;

/*
 * Path building: when X509_verify_cert's path fails for a reason another
 * path could avoid, the other candidate paths through the configured
 * certificates are tried, bounded in issuers per certificate, in paths
 * and in depth (verify_depth).
 */
#define CHAIN_PATHS_MAX		 8
#define CHAIN_CANDIDATES_MAX	 8
#define CHAIN_PATH_DEPTH_MAX	 18	/* leaf, 16 intermediates, anchor */

/* chain_verify flags */
#define CHAIN_FAST		 0x01	/* may start at a verified intermediate */
#define CHAIN_WANT_CHAIN	 0x02	/* return the chain, leaf to anchor */

/*
 * Load trust anchors and intermediates named by cfg.  Problems are printed
 * as "origin: message" (config_error) and counted in cfg->nerrors.
 * Returns 0 with *out set, or a negative authd_err.
 */
int	 chain_store_load(struct config *cfg, struct chain_store **out);
/*
 * The same from certificates in memory (authd doctor): anchors and ints
 * (NULL: none) are copied, the caller keeps its own.  Returns 0 with *out
 * set, or a negative authd_err.
 */
int	 chain_store_new(STACK_OF(X509) *anchors, STACK_OF(X509) *ints,
	    unsigned int depth, enum config_purpose purpose,
	    struct chain_store **out);
void	 chain_store_free(struct chain_store **store);

/*
 * Read every certificate of the PEM bundle it names into sk (appended,
 * owned by sk).  Problems are reported against it->origin.  Returns 0 or a
 * negative authd_err.
 */
int	 chain_bundle_load(struct config *cfg, const struct config_item *it,
	    STACK_OF(X509) *sk, size_t *count);

/* Counts for log lines and explanations. */
/*
 * A digest of what decides whether a chain verifies against store: every
 * anchor and intermediate (their SHA-256, in order), verify_depth, purpose
 * and trust_partial.  Returns 0 or AUTHD_ECRYPTO.
 */
#define CHAIN_DIGEST_LEN	 32
#define CHAIN_SHA1_LEN		 20
int	 chain_store_digest(const struct chain_store *store,
	    unsigned char out[CHAIN_DIGEST_LEN]);
/* The anchor or intermediate with that SHA-1 fingerprint (borrowed), or NULL. */
X509	*chain_store_find(const struct chain_store *store,
	    const unsigned char sha1[CHAIN_SHA1_LEN]);
size_t	 chain_store_anchors(const struct chain_store *store);
size_t	 chain_store_intermediates(const struct chain_store *store);
size_t	 chain_store_fast(const struct chain_store *store);

/*
 * CA certificate i: the anchors first, then the intermediates; NULL past
 * the end.  Owned by the store.
 */
X509	*chain_store_ca(const struct chain_store *store, size_t i);

/*
 * The trust anchor a valid path from x ends at, for a CRL signer (RFC 5280
 * 6.3.3 (f): the same anchor as the certificate's own path), and the
 * window in which every certificate of that path is within its validity;
 * times are not checked here.  x may be an anchor itself.  Returns 0 with
 * *anchor referenced (the caller frees it), or -1 with why in buf.
 */
int	 chain_anchor(const struct chain_store *store, X509 *x, X509 **anchor,
	    time_t *from, time_t *until, char *buf, size_t len);
/* The anchors as an X509_STORE and the intermediates, for OCSP signers. */
X509_STORE	*chain_store_trust(const struct chain_store *store);
/*
 * A new store of the anchors whose verifications run at time at (OCSP
 * responder chains judged at the decision time); the caller frees it.
 */
X509_STORE	*chain_store_trust_at(const struct chain_store *store,
		    time_t at);
STACK_OF(X509)	*chain_store_untrusted(const struct chain_store *store);

/*
 * Verify leaf at time at (0: now) for purpose.  res is overwritten (clean
 * it first if it holds a chain).  Always fills res; returns
 * 0 when res->status is meaningful, a negative authd_err only if res could
 * not be filled (then treat as CHAIN_ERROR).  With CHAIN_WANT_CHAIN the
 * caller frees res->chain with chain_result_cleanup.
 */
int	 chain_verify(const struct chain_store *store, X509 *leaf, time_t at,
	    enum config_purpose purpose, int flags, struct chain_result *res);
void	 chain_result_cleanup(struct chain_result *res);
/*
 * chain_verify the full way with more untrusted certificates than the
 * store's intermediates (issuers fetched from caIssuers URLs): they may
 * only ever be intermediates.
 */
int	 chain_verify_extra(const struct chain_store *store, X509 *leaf,
	    STACK_OF(X509) *extra, time_t at, enum config_purpose purpose,
	    int flags, struct chain_result *res);
/*
 * A verified intermediate outside the store (fetched from a caIssuers URL),
 * verified once the full way with extra untrusted certificates, so that
 * a leaf it issued then costs one signature (as the store's own
 * intermediates do).  NULL when it does not verify, or its chain carries
 * constraints or another purpose (then leaves take the full way).  Good
 * only with the store it was made with.
 */
struct chain_fast;
struct chain_fast *chain_fast_new(const struct chain_store *store, X509 *ic,
		    STACK_OF(X509) *extra);
void		 chain_fast_free(struct chain_fast *f);
/*
 * leaf verified at f: 1 with res filled (as chain_verify's, fast set), or
 * 0 when f did not issue it or the fast way cannot answer (then verify the
 * full way).
 */
int		 chain_verify_via(const struct chain_store *store,
		    const struct chain_fast *f, X509 *leaf, time_t at,
		    enum config_purpose purpose, int flags,
		    struct chain_result *res);
/*
 * A path through the configured certificates that holds none of avoid
 * (CA certificates found revoked on the path verified first), verified
 * on its own: 1 with res filled (alternative set), 0 when there is none.
 */
int		 chain_verify_avoiding(const struct chain_store *store,
		    X509 *leaf, time_t at, enum config_purpose purpose,
		    int flags, STACK_OF(X509) *avoid,
		    struct chain_result *res);
/* Whether res failed because a certificate's issuer is nowhere. */
int	 chain_missing_issuer(const struct chain_result *res);

/*
 * authd check: every candidate path from leaf to an anchor (up to
 * CHAIN_PATHS_MAX), one line each, "path N: ISSUER <- ... <- ANCHOR: ok"
 * or why it fails, into buf.  Returns the number of paths.
 */
size_t	 chain_describe_paths(const struct chain_store *store, X509 *leaf,
	    time_t at, enum config_purpose purpose, char *buf, size_t len);

/*
 * Certificate policy processing (RFC 5280 6.1) of a verified chain, leaf
 * first and anchor last, with the settings of base and, when add is not
 * NULL, add's in addition: the indicators of either, add's user set when
 * it has one, else base's, else anyPolicy.  A user set makes an explicit
 * policy required.  The valid policy set (user-constrained, in the trust
 * anchor's domain: mappings applied) is returned dotted, up to
 * CHAIN_PCY_SET_MAX (truncated set when more).
 */
enum chain_pcy_status {
	CHAIN_PCY_OK = 0,
	CHAIN_PCY_NOT_ACCEPTED,	/* an explicit policy was required, none valid */
	CHAIN_PCY_INVALID,	/* a policy extension is invalid or inconsistent */
	CHAIN_PCY_ERROR,	/* out of memory: fail closed */
};

#define CHAIN_PCY_SET_MAX	 16

struct chain_pcy_result {
	enum chain_pcy_status	 status;
	char			 set[CHAIN_PCY_SET_MAX][POLICY_OID_MAX];
	size_t			 nset;
	int			 truncated;
	int			 explicit_required;	/* by a setting or the chain */
};

void	 chain_policy(STACK_OF(X509) *chain, const struct policy_pcy *base,
	    const struct policy_pcy *add, struct chain_pcy_result *out);
/* Whether settings differ from RFC 5280's defaults (anyPolicy, all off). */
int	 chain_policy_set(const struct policy_pcy *pcy);

#endif
