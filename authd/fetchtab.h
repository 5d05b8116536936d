/*
 * fetchtab.h: the fetch engine's table of fetched objects.  One entry per
 * key (an OCSP CertID, a distribution point's URL) with what every
 * fetched object needs alike: whether a fetch is in flight (one per key,
 * however many requests want it), the requests waiting for it, the
 * failure back-off, pins, and a bound on how many entries stay in memory
 * (least recently used out first; the owner keeps answers in LMDB and
 * reads them back when a key comes back).
 *
 * The owner's fields follow the entry: its struct begins with a struct
 * fetchtab_entry and the table allocates entry_size bytes for it, then
 * the key.  Everything is under the table's lock, which the owner also
 * uses for its own fields.
 */
#ifndef AUTHD_FETCHTAB_H
#define AUTHD_FETCHTAB_H

#include <pthread.h>
#include <stddef.h>
#include <time.h>

#include "fetch.h"

struct fetchtab_entry {
	const char		*key;		/* after the owner's fields */
	unsigned char		 running;	/* a fetch is in flight */
	unsigned int		 pins;		/* callers using it unlocked */
	int			 failures;	/* in a row */
	time_t			 next_try;	/* not before: back-off */
	struct fetch_waiter	*waiters;
	struct fetchtab_entry	*hnext;		/* hash chain */
	struct fetchtab_entry	*prev, *next;	/* LRU, most recent first */
};

struct fetchtab {
	pthread_mutex_t		 lock;
	size_t			 entry_size;	/* the owner's struct */
	/* the owner's fields of an entry going (eviction, clear); NULL: none */
	void			(*cleanup)(struct fetchtab_entry *);
	struct fetchtab_entry	**buckets;	/* nbuckets, a power of 2 */
	size_t			 nbuckets, n;
	struct fetchtab_entry	*head, *tail;
	unsigned long long	 evictions;
};

#define FETCHTAB_INITIALIZER(type, cleanup) \
	{ PTHREAD_MUTEX_INITIALIZER, sizeof(type), (cleanup), NULL, 0, 0, \
	  NULL, NULL, 0 }

void	 fetchtab_lock(struct fetchtab *t);
void	 fetchtab_unlock(struct fetchtab *t);

/*
 * Locked.  The entry for key, made most recently used, or NULL.  With
 * max > 0 a missing one is made (zeroed owner fields) and the least
 * recently used entries nobody holds (no fetch running, no waiter, no
 * pin) are dropped until at most max remain; NULL then means no memory.
 * Entries in use are passed over, so the table may briefly hold more.
 */
struct fetchtab_entry *fetchtab_get(struct fetchtab *t, const char *key,
	    size_t max);

/*
 * Locked.  The fetch of e ended: no longer running, failures reset on
 * success, else counted with the next try after a back-off doubling from
 * backoff_min up to backoff_max.  Returns the waiters, taken out of e:
 * wake them (fetch_waiter_wake) after unlocking.
 */
struct fetch_waiter *fetchtab_done(struct fetchtab_entry *e, int ok,
	    time_t now, time_t backoff_min, time_t backoff_max);

/*
 * Takes the lock.  Wait for the fetch of key: 0 registered (fn(arg) is
 * called once when it ends, or at fetchtab_wake_all), 1 nothing in flight
 * for key (decide again now), -1 no memory.
 */
int	 fetchtab_wait(struct fetchtab *t, const char *key, void (*fn)(void *),
	    void *arg);

/* Takes the lock.  Wake every waiter of every entry; how many. */
size_t	 fetchtab_wake_all(struct fetchtab *t);

/* Take the lock: entries in memory, entries dropped for room so far. */
size_t	 fetchtab_count(struct fetchtab *t);
unsigned long long fetchtab_evictions(struct fetchtab *t);

/*
 * Takes the lock.  Free every entry (waiters freed, not called) and reset
 * the counters: at shutdown, once no fetch can still complete.
 */
void	 fetchtab_clear(struct fetchtab *t);

#endif
