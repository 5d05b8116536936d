/*
 * store.h: the process's one LMDB environment (DESIGN.md section 4).
 *
 * Holds large sets (policy lists of serials or fingerprints; later the CRL
 * index and OCSP responses) outside the heap: lookups cost a B-tree walk in
 * a memory map, and a set survives restarts.  A set is written once, in one
 * write transaction, under a name derived from its source (for example the
 * SHA-256 of a list file), so a restart with an unchanged source finds it
 * and does not rebuild it, and readers never see half a set.
 *
 * Threads: any number of threads may call store_set_contains at once.
 * Creating, finding and dropping sets (the loader) must come from one
 * thread at a time; store.c serialises them with a mutex.  Open the store
 * after any fork.
 */
#ifndef AUTHD_STORE_H
#define AUTHD_STORE_H

#include <stddef.h>

#define STORE_KEY_MAX		 255	/* longest key in a set, bytes */
#define STORE_NAME_MAX		 128	/* longest set name */
#define STORE_DEFAULT_MAPSIZE	 ((size_t)4 << 30)

struct store;
struct store_writer;

/* A handle to a committed set; valid until the set is dropped. */
typedef unsigned int store_set_t;

/*
 * The on-disk format: the layout of every database and record authd keeps
 * (sets, CRL indexes, fetched CRLs, OCSP answers, issuers, verified
 * chains), recorded in the database "format".  Raise it with any change a
 * reader of the old layout would misread.  Everything in the store can be
 * rebuilt from its sources (files, responders, distribution points), so a
 * store of another format is emptied, with a warning, and rebuilt.
 */
#define STORE_FORMAT		 1

/*
 * Open (creating dir if needed) the environment in dir with a map of
 * mapsize bytes, and check its format (above): a store without a format
 * record gets the current one (a new store, or one written before the
 * record existed, whose layout is format 1), one with another format (an
 * older or newer authd, or a damaged record) is emptied first.  On error
 * returns a negative authd_err and writes a message into err.
 */
int	 store_open(const char *dir, size_t mapsize, struct store **out,
	    char *err, size_t errlen);
void	 store_close(struct store **store);

/*
 * Find a committed set by name.  Returns 0 with *set and *count filled, 1
 * when there is no such set, or a negative authd_err.
 */
int	 store_set_find(struct store *store, const char *name,
	    store_set_t *set, size_t *count);

/*
 * Build a new set: create, add keys (any order, duplicates allowed), then
 * commit (sorts, writes in one transaction) or abort.  Keys are buffered in
 * memory until commit, at most max_keys of them.
 */
int	 store_writer_new(struct store *store, const char *name,
	    size_t max_keys, struct store_writer **out);
int	 store_writer_add(struct store_writer *w, const void *key, size_t len);
int	 store_writer_commit(struct store_writer **w, store_set_t *set,
	    size_t *count, char *err, size_t errlen);
void	 store_writer_free(struct store_writer **w);

/* 1 when key is in set, 0 when not, a negative authd_err on failure. */
int	 store_set_contains(struct store *store, store_set_t set,
	    const void *key, size_t len);

/*
 * Drop every set whose name starts with prefix and is not in keep (after a
 * reload, the lists no policy uses any more).  Returns how many went, or a
 * negative authd_err.
 */
int	 store_set_retain(struct store *store, const char *prefix,
	    const char *const *keep, size_t nkeep);

/*
 * Key-value records in a named database (OCSP responses): open (creating
 * it) once from the loader; put and get from any thread.  get copies the
 * value into val (at most cap bytes) and returns 1, 0 when absent or
 * larger than cap (*vlen is then 0, or the size it would need), or a
 * negative authd_err.
 */
int	 store_kv_open(struct store *store, const char *db, store_set_t *dbi);
int	 store_kv_put(struct store *store, store_set_t dbi, const void *key,
	    size_t klen, const void *val, size_t vlen);
int	 store_kv_get(struct store *store, store_set_t dbi, const void *key,
	    size_t klen, void *val, size_t cap, size_t *vlen);

/* The number of records in dbi. */
int	 store_kv_count(struct store *store, store_set_t dbi, size_t *n);
/*
 * Drop every record of dbi for which keep (NULL: none) returns 0, in one
 * transaction after the queued records are written; *dropped says how
 * many went.  For start-up: it holds the writer for the whole pass.
 */
int	 store_kv_sweep(struct store *store, store_set_t dbi,
	    int (*keep)(const void *key, size_t klen, const void *val,
	    size_t vlen, void *arg), void *arg, size_t *dropped);

/*
 * Group commit, for records whose loss in a crash costs only a refetch
 * (OCSP answers): the record is copied and queued, and the caller returns
 * at once.  The store's writer thread (started by the first such record)
 * lets records gather for STORE_QUEUE_MS and commits them in one
 * transaction: one sync for many records, and a slow disk holds up no
 * fetch.  Records are written in the order they were queued.  A record is
 * visible to store_kv_get once committed (store_kv_flush waits for that);
 * store_close commits what is left.  With STORE_QUEUE_MAX bytes queued
 * (the disk is behind) the caller waits for room.  Do not mix with
 * store_kv_put on the same key while records are queued.
 */
#define STORE_QUEUE_MS		 20
#define STORE_QUEUE_BATCH	 (1024 * 1024)
#define STORE_QUEUE_MAX		 (16 * 1024 * 1024)
int	 store_kv_put_queued(struct store *store, store_set_t dbi,
	    const void *key, size_t klen, const void *val, size_t vlen);
/* Returns when every record queued before the call is committed. */
void	 store_kv_flush(struct store *store);

#endif
