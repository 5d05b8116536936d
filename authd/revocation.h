/*
 * revocation.h: step 5 of the request path, whether any certificate of a
 * verified chain is revoked, from the CRLs and OCSP of the snapshot.
 *
 * Each certificate below the anchor is asked of the sources that cover it
 * (crl_scope, ocsp leaf|chain), in revocation_order.  The first source that
 * answers decides for that certificate; the next is asked only when the
 * first has no answer.  When none answers, the certificate passes only if
 * every source that failed allows its failure (crl_missing, ocsp_failure,
 * per rule set), and the answer says "unchecked" when OCSP was the one.
 *
 * One pass over the chain starts every fetch it needs (distribution points
 * and OCSP responders, all depths at once, on the fetch threads).  While
 * any is running the verdict is pending: the caller suspends the request
 * with revocation_wait and decides again when a fetch ends, until no fetch
 * is left or its own deadline (revocation_wait_max) has passed.
 */
#ifndef AUTHD_REVOCATION_H
#define AUTHD_REVOCATION_H

#include <stdint.h>
#include <time.h>

#include "chain.h"

/* What the revocation step says of a chain. */
enum revocation_outcome {
	REVOCATION_GOOD = 0,	/* nothing revoked (or unchecked, allowed) */
	REVOCATION_REVOKED,
	REVOCATION_UNKNOWN,	/* no answer, and its failure is not allowed */
	REVOCATION_CRL_EXPIRED,	/* the CRL that would answer is out of date */
};

#define REVOCATION_WAIT_CRL	 1
#define REVOCATION_WAIT_OCSP	 2
#define REVOCATION_WAIT_AIA	 3	/* an issuer from caIssuers (aia.h) */

/*
 * The revocation source a verdict names in X-Authd-Revocation: the one that
 * revoked, or "unchecked" for an allow whose OCSP failure was allowed.
 */
enum revocation_source {
	REVOCATION_NONE = 0,	/* no header */
	REVOCATION_CRL,
	REVOCATION_OCSP,
	REVOCATION_UNCHECKED,
};

/* "crl", "ocsp", "unchecked"; NULL for REVOCATION_NONE. */
const char	*revocation_source_str(enum revocation_source s);

/*
 * Which source answered (good) for each certificate below the anchor: two
 * bits a depth (REVOCATION_CRL or REVOCATION_OCSP), depth 0 lowest;
 * 0 ends the list.
 */
#define REVOCATION_BY_DEPTHS	 16
#define REVOCATION_BY(by, depth) \
	((enum revocation_source)(((by) >> (2 * (depth))) & 3))

#define REVOCATION_KEY_MAX	 1024

struct revocation_result {
	enum revocation_outcome	 outcome;
	enum revocation_source	 source;	/* X-Authd-Revocation */
	uint32_t		 by;		/* REVOCATION_BY */
	time_t			 rev_time;	/* oldest thisUpdate used, 0 none */
	/* a fetch is running: wait for it (revocation_wait), decide again */
	int			 pending;	/* 0, REVOCATION_WAIT_CRL or _OCSP */
	int			 revoked_depth;	/* REVOCATION_REVOKED: of whom */
	char			 pending_key[REVOCATION_KEY_MAX];
	char			 detail[CHAIN_DETAIL_MAX];	/* why, for logs */
};

struct config;
struct crl_leaf;
struct snapshot;

/*
 * Check res->chain (verified, leaf first; leaf_subject its subject for
 * details, or NULL) at time now, for the rule set ruleset (NULL: the
 * default).  leaf, when not NULL, is the leaf as a kept chain recorded it
 * (crlmeta.h) and the chain's own leaf is NULL: only CRLs can answer for
 * it then (OCSP fails: the caller gives a certificate where OCSP is on).
 * Never fails: out says what was found, and out->pending when a fetch is
 * running (outcome REVOCATION_UNKNOWN meanwhile).  res->valid_until is
 * lowered to what the answers used allow (it bounds the verdict cache).
 */
void	 revocation_check(const struct snapshot *snap, const char *ruleset,
	    const char *leaf_subject, const struct crl_leaf *leaf,
	    struct chain_result *res, time_t now,
	    struct revocation_result *out);

/*
 * A pending result (pending, pending_key): call resume(arg) once, on a
 * fetch thread, when the fetch it names ends.  Returns 0 when registered,
 * 1 when that fetch has ended already (decide again now), -1 on no memory.
 */
int	 revocation_wait(int pending, const char *key, void (*resume)(void *),
	    void *arg);

/*
 * The longest a request may wait for its fetches, from its headers: one
 * fetch_timeout per source in revocation_order (the second is asked only
 * after the first failed), plus a second for the fetch threads' queue.
 */
time_t	 revocation_wait_max(const struct config *cfg);

/* Call every registered resume now (shutdown); returns how many. */
size_t	 revocation_wake_all(void);

#endif
