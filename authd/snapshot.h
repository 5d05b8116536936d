/*
 * snapshot.h: the immutable world a request is decided in.
 *
 * The loader builds a snapshot (configuration and trust store) and
 * publishes it with one swap; request threads acquire the current one,
 * use it without locks, and release it.  The last release frees it, so a
 * reload never pulls the ground from under a request in flight.
 */
#ifndef AUTHD_SNAPSHOT_H
#define AUTHD_SNAPSHOT_H

#include "aia.h"
#include "chain.h"
#include "crl.h"
#include "config.h"
#include "ocsp.h"
#include "policy.h"

/*
 * Everything a decision reads lives here, revocation settings included:
 * a reload is one publish, and a fetch job holds the snapshot it was
 * started under (ocsp.owner, crl_fetch.owner) until it ends.
 */
struct snapshot {
	struct config		 cfg;		/* owned */
	struct chain_store	*chain;		/* owned */
	struct crl_set		*crl;		/* owned; NULL: no CRLs */
	STACK_OF(X509)		*ocsp_signers;	/* owned; pinned responders */
	struct ocsp_route	*routes;	/* owned; ocsp_responder by issuer */
	size_t			 nroutes;
	struct ocsp_ctx		 ocsp;		/* points into the above */
	struct crl_fetch_ctx	 crl_fetch;	/* likewise */
	struct aia_ctx		 aia;		/* likewise */
	struct policy		*policy;	/* owned; NULL: valid chain allows */
	struct policy		*shadow;	/* owned; evaluated, never enforced */
	unsigned long		 generation;	/* changes with every publish */
	/*
	 * What a chain verified under this snapshot was verified against, for
	 * chains kept across restarts (verified.h): the trust store's digest
	 * with the certificate policy settings, global and per rule set, and
	 * whether a policy reads fields.  verified_ok 0: keep nothing (a
	 * snapshot around a given chain, or the digest failed).
	 */
	unsigned char		 verified_digest[32];
	int			 verified_ok;
	/* private */
	unsigned long		 refs;
};

/*
 * Build a snapshot from cfg, taking ownership of its contents (cfg is left
 * empty).  Problems are printed as "origin: message".  Returns 0 or a
 * negative authd_err; on error nothing is owned.
 */
int		 snapshot_new(struct config *cfg, struct snapshot **out);
/* The same with policy lists in store (NULL: in memory). */
struct store;
int		 snapshot_new_store(struct config *cfg, struct store *store,
		    struct snapshot **out);
/*
 * The same with a trust store built already (authd doctor: the client's
 * own chain), taken whatever happens; cfg's trust and intermediates are
 * not read.
 */
int		 snapshot_new_chain(struct config *cfg, struct chain_store *chain,
		    struct snapshot **out);
/*
 * The same as snapshot_new_store, replacing prev (the snapshot being
 * served, or NULL): what prev already reported (a rejected CRL) is not
 * reported as new again.  prev is only read.
 */
int		 snapshot_reload(struct config *cfg, struct store *store,
		    const struct snapshot *prev, struct snapshot **out);

/*
 * The files a snapshot was built from (configuration, trust bundles,
 * policies and their lists), for noticing changes: a digest of their
 * names, sizes, inodes and modification times.  Two equal stamps mean
 * nothing visible changed.
 */
unsigned long long snapshot_stamp(const struct config *cfg,
		    const struct snapshot *snap);

/* Make snap the current one; the previous one goes when its last user does. */
void		 snapshot_publish(struct snapshot *snap);

/* The current snapshot, with a reference; NULL before the first publish. */
struct snapshot	*snapshot_acquire(void);
/* One more reference to snap (published or not). */
void		 snapshot_hold(struct snapshot *snap);
void		 snapshot_release(struct snapshot *snap);

/* Release the current snapshot at shutdown. */
void		 snapshot_shutdown(void);

#endif
