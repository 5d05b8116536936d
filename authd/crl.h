/*
 * crl.h: revocation by CRL: files and directories, and CRLs fetched from
 * the certificates' distribution points.
 *
 * A crl_set is built by the loader from the `crl` files, checked against
 * the trust store, and then only read, by any number of threads.  Revoked
 * serials live in the LMDB store (one set per CRL, named after the SHA-256
 * of its DER), so a million-entry CRL costs a B-tree lookup, not memory;
 * without a store (authd check) they are held in memory.
 *
 * A CRL is used only when: its issuer is a trust anchor or intermediate
 * whose key verifies its signature, that certificate may sign CRLs (cRLSign
 * when it has a keyUsage), its thisUpdate is not in the future, every
 * critical extension is one authd understands, and it is not an indirect
 * CRL.  A delta CRL changes the newest complete CRL it builds on and is
 * never used alone.
 *
 * Failures stay local.  A file that cannot be parsed, or a CRL that fails
 * those checks, is rejected: logged (once per change), counted, listed by
 * crl_foreach_rejected, and the other files are used.  When the store
 * holds the last good version of a rejected file, its CRLs stay in use
 * until their own nextUpdate (and grace).  Only a configured path that does
 * not exist or cannot be read is a configuration error.
 */
#ifndef AUTHD_CRL_H
#define AUTHD_CRL_H

#include <stddef.h>
#include <time.h>

#include <openssl/x509.h>

#include "chain.h"
#include "config.h"
#include "crldp.h"		/* distribution points, crl_fetch_ctx */
#include "crlmeta.h"		/* crl_reject, crl_info, CRL_DETAIL_MAX */

struct crl_set;
struct store;

enum crl_scope {
	CRL_SCOPE_CHAIN = 0,	/* leaf and every CA below the anchor */
	CRL_SCOPE_LEAF,
};

enum crl_status {
	CRL_GOOD = 0,		/* every certificate in scope has a current CRL */
	CRL_REVOKED,		/* one of them is on its issuer's CRL */
	CRL_MISSING,		/* an issuer in scope has no CRL */
	CRL_EXPIRED,		/* a CRL is past nextUpdate and the grace */
	CRL_ERROR,		/* the index could not be read: fail closed */
	CRL_PENDING,		/* a distribution point is being fetched */
};


/* A source that was rejected, for logs, /metrics, check and serve -n. */
struct crl_rejection {
	const char	*source;	/* the file (or directory) */
	enum crl_reject	 why;
	const char	*detail;	/* the reason in words */
	const char	*issuer;	/* RFC 2253 when known, else "" */
	size_t		 kept;		/* last good CRLs still in use */
};

struct crl_result {
	enum crl_status	 status;
	int		 depth;		/* of the certificate concerned, -1 none */
	/*
	 * Why; for CRL_REVOKED and CRL_ERROR without the certificate's own
	 * name ("revoked by the CRL of ISSUER (SOURCE)"): the caller has it.
	 */
	char		 detail[CRL_DETAIL_MAX];
	/*
	 * Until when this answer holds: the earliest nextUpdate (plus grace)
	 * of the CRLs consulted; a verdict must not be cached past it.
	 */
	time_t		 valid_until;
	int		 in_grace;	/* a CRL past nextUpdate, within the grace */
	time_t		 this_update;	/* of the CRL that answered, 0 none */
	char		 pending_url[1024];	/* CRL_PENDING: what to wait for */
};

/*
 * Load every `crl` file or directory of cfg (PEM or DER, several CRLs per
 * file allowed), check each against the anchors and intermediates of chain,
 * and index them in store (NULL: in memory).  A path that does not exist or
 * cannot be read is a configuration error ("origin: message",
 * config_error); a CRL or file that fails is a rejection, logged as a
 * warning unless prev (the set being replaced, or NULL) rejected it the
 * same way.  Returns 0 with *out set (NULL when cfg has no `crl`), or a
 * negative authd_err.
 */
int		 crl_set_load(struct config *cfg, const struct chain_store *chain,
		    struct store *store, const struct crl_set *prev,
		    struct crl_set **out);
/* Each rejected source of set, in load order; fn must not keep pointers. */
void		 crl_foreach_rejected(const struct crl_set *set,
		    void (*fn)(void *arg, const struct crl_rejection *r),
		    void *arg);
size_t		 crl_set_rejected(const struct crl_set *set);
void		 crl_set_free(struct crl_set **set);

/* How many CRLs and revoked entries were loaded, for logs. */
size_t		 crl_set_count(const struct crl_set *set);
size_t		 crl_set_entries(const struct crl_set *set);
/* The store set of CRL i ("crl:<sha256>"), NULL when in memory. */
const char	*crl_set_name(const struct crl_set *set, size_t i);


/*
 * Check the certificates of a verified chain (chain[0] the leaf, each
 * issued by the next, the last a trust anchor) at time at, for scope,
 * from the files and the distribution-point CRLs already held (nothing is
 * fetched).  Never fails: a problem is a status.  missing_allow and grace
 * are the crl_missing and crl_grace settings.
 */
void		 crl_check(const struct crl_set *set, STACK_OF(X509) *chain,
		    time_t at, enum crl_scope scope, int missing_allow,
		    time_t grace, struct crl_result *res);
/*
 * The same for the certificate at depth alone (below the anchor), with
 * fetch (NULL: no fetching) for its distribution points.  leaf, when not
 * NULL, is the certificate at depth 0 (the chain's own may be NULL).
 */
void		 crl_check_depth(const struct crl_set *set,
		    const struct crl_fetch_ctx *fetch, STACK_OF(X509) *chain,
		    int depth, const struct crl_leaf *leaf, time_t at,
		    int missing_allow, time_t grace, struct crl_result *res);

/*
 * One line per CRL file used for chain at time at (issuer, number,
 * thisUpdate, nextUpdate, source file), for authd check's explanation.
 * Writes at most len bytes.
 */
void		 crl_describe(const struct crl_set *set, STACK_OF(X509) *chain,
		    time_t at, char *buf, size_t len);


/*
 * The CRLs in use, for /metrics: from set, the newest complete CRL of each
 * issuer (source: its file); from the distribution points, each URL's
 * current CRL (source: the URL).  fn is called with strings valid only
 * during the call, under a lock: it must not call back into crl_*.
 */
void		 crl_foreach(const struct crl_set *set,
		    void (*fn)(void *arg, const struct crl_info *ci), void *arg);

#endif
