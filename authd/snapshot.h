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

#include "chain.h"
#include "config.h"

struct snapshot {
	struct config		 cfg;		/* owned */
	struct chain_store	*chain;		/* owned */
	unsigned long		 generation;	/* changes with every publish */
	/* private */
	unsigned long		 refs;
};

/*
 * Build a snapshot from cfg, taking ownership of its contents (cfg is left
 * empty).  Problems are printed as "origin: message".  Returns 0 or a
 * negative authd_err; on error nothing is owned.
 */
int		 snapshot_new(struct config *cfg, struct snapshot **out);

/* Make snap the current one; the previous one goes when its last user does. */
void		 snapshot_publish(struct snapshot *snap);

/* The current snapshot, with a reference; NULL before the first publish. */
struct snapshot	*snapshot_acquire(void);
void		 snapshot_release(struct snapshot *snap);

/* Release the current snapshot at shutdown. */
void		 snapshot_shutdown(void);

#endif
