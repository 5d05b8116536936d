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

#include <time.h>

struct chain_result;
struct config;
struct snapshot;
struct verdict;

/*
 * Check res->chain (verified, leaf first) at time now, for the rule set
 * ruleset (NULL: the default); out->reason is VERDICT_OK on entry and stays
 * so when nothing is revoked or unknown.  Fills out->revocation, rev_by and
 * rev_time, and out->pending when a fetch is running.  res->valid_until is
 * lowered to what the answers used allow (it bounds the verdict cache).
 */
void	 revocation_check(const struct snapshot *snap, const char *ruleset,
	    struct chain_result *res, time_t now, struct verdict *out);

/*
 * A pending verdict (out->pending): call resume(arg) once, on a fetch
 * thread, when the fetch it names ends.  Returns 0 when registered, 1 when
 * that fetch has ended already (decide again now), -1 on no memory.
 */
int	 revocation_wait(const struct verdict *v, void (*resume)(void *),
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
