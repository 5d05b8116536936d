/*
 * store.c: LMDB environment, and sets of keys in named databases.
 *
 * Followed from lmdb.h to the letter: one environment per process;
 * MDB_NOTLS because request threads come from a pool; read transactions
 * are per thread, renewed for each lookup and reset right after, so none is
 * held across anything; mdb_dbi_open only from the loader, one transaction
 * at a time; values are not kept past their transaction.
 */
#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lmdb.h>

#include "err.h"
#include "log.h"
#include "store.h"

#define STORE_MAXDBS	 4096

struct store_rtxn;

struct store {
	MDB_env			*env;
	char			 datafile[4096];	/* its data.mdb, resolved */
	unsigned long		 id;
	pthread_mutex_t		 loader;	/* mdb_dbi_open and writes */
	pthread_mutex_t		 rlock;		/* the list below */
	struct store_rtxn	*rtxns;		/* every thread's read txn */
	/* store_kv_put_queued: records waiting for the writer's next commit */
	pthread_mutex_t		 qlock;		/* the fields below */
	pthread_cond_t		 qcond;		/* work for the writer, or stop */
	pthread_cond_t		 qdone;		/* a commit ended */
	struct store_queued	*qhead, **qtail;
	size_t			 qbytes;	/* queued and being written */
	int			 qwriting;	/* the writer commits a batch */
	int			 qstarted;	/* the writer thread runs */
	int			 qstop;
	pthread_t		 qwriter;
};

/* A record store_kv_put_queued took: key then value in data. */
struct store_queued {
	struct store_queued	*next;
	store_set_t		 dbi;
	size_t			 klen, vlen;
	unsigned char		 data[];
};

struct store_writer {
	struct store	*store;
	char		 name[STORE_NAME_MAX];
	unsigned char	*buf;		/* keys, each prefixed by its length */
	size_t		 used, cap;
	uint32_t	*offs;		/* where each key starts in buf */
	size_t		 n, offcap, max;
};

/*
 * Each thread's read transaction, renewed for a lookup and reset right
 * after.  The store also keeps them all in a list, so that store_close can
 * abort them (after the request threads are gone): a thread-local pointer
 * alone would leak them at shutdown.  A thread recognises its transaction
 * by the store's id, never reused, not by an address.
 */
struct store_rtxn {
	MDB_txn			*txn;
	struct store_rtxn	*next;
};

static _Thread_local struct store_rtxn	*store_tls;
static _Thread_local unsigned long	 store_tls_id;
static atomic_ulong			 store_ids;

#define STORE_FORMAT_DB		"format"
#define STORE_FORMAT_KEY	"version"

/*
 * The format record's value: "authd-store N", N in decimal.  *found is 0
 * without a record, 1 for a record that is not one, 2 with *fmt its N.
 */
static int
store_format_get(MDB_txn *txn, MDB_dbi dbi, int *found, unsigned long *fmt)
{
	static const char	 pfx[] = "authd-store ";
	static char		 key[] = STORE_FORMAT_KEY;
	MDB_val			 k, v;
	const char		*p;
	size_t			 i;
	int			 rc;

	*found = 0;
	*fmt = 0;
	k.mv_data = key;
	k.mv_size = sizeof(STORE_FORMAT_KEY) - 1;
	if ((rc = mdb_get(txn, dbi, &k, &v)) == MDB_NOTFOUND)
		return 0;
	if (rc != 0)
		return rc;
	*found = 1;
	p = v.mv_data;
	if (v.mv_size <= sizeof(pfx) - 1 || v.mv_size > sizeof(pfx) - 1 + 9 ||
	    memcmp(p, pfx, sizeof(pfx) - 1) != 0)
		return 0;
	for (i = sizeof(pfx) - 1; i < v.mv_size; i++) {
		if (p[i] < '0' || p[i] > '9') {
			*fmt = 0;
			return 0;
		}
		*fmt = *fmt * 10 + (unsigned long)(p[i] - '0');
	}
	*found = 2;
	return 0;
}

static int
store_format_put(MDB_txn *txn, MDB_dbi dbi)
{
	static char	 key[] = STORE_FORMAT_KEY;
	char		 buf[32];
	MDB_val		 k, v;
	int		 n;

	n = snprintf(buf, sizeof(buf), "authd-store %d", STORE_FORMAT);
	k.mv_data = key;
	k.mv_size = sizeof(STORE_FORMAT_KEY) - 1;
	v.mv_data = buf;
	v.mv_size = (size_t)n;
	return mdb_put(txn, dbi, &k, &v, 0);
}

/* See STORE_FORMAT in store.h. */
static int
store_format_check(struct store *st, const char *dir, char *err,
    size_t errlen)
{
	static const char *const keep[] = { STORE_FORMAT_DB };
	MDB_txn		*txn = NULL;
	MDB_dbi		 dbi;
	unsigned long	 fmt;
	int		 found, rc, dropped;

	if ((rc = mdb_txn_begin(st->env, NULL, 0, &txn)) != 0 ||
	    (rc = mdb_dbi_open(txn, STORE_FORMAT_DB, MDB_CREATE, &dbi)) != 0 ||
	    (rc = store_format_get(txn, dbi, &found, &fmt)) != 0)
		goto fail;
	if (found == 2 && fmt == STORE_FORMAT) {
		mdb_txn_abort(txn);
		return 0;
	}
	if (found) {
		/* Emptied in its own transaction, then the record written. */
		mdb_txn_abort(txn);
		txn = NULL;
		if (found == 2)
			log_warnx("data_dir %s: on-disk format %lu, this authd "
			    "keeps format %d: emptying it (lists, CRL indexes, "
			    "fetched CRLs and issuers, OCSP answers, verified "
			    "chains are rebuilt from their sources)", dir, fmt,
			    STORE_FORMAT);
		else
			log_warnx("data_dir %s: the format record is damaged: "
			    "emptying it (everything in it is rebuilt from its "
			    "sources)", dir);
		if ((dropped = store_set_retain(st, "", keep, 1)) < 0) {
			snprintf(err, errlen, "data_dir %s: cannot empty a "
			    "store of another format", dir);
			return AUTHD_EIO;
		}
		log_info("data_dir %s: %d database(s) dropped", dir, dropped);
		if ((rc = mdb_txn_begin(st->env, NULL, 0, &txn)) != 0 ||
		    (rc = mdb_dbi_open(txn, STORE_FORMAT_DB, 0, &dbi)) != 0)
			goto fail;
	}
	if ((rc = store_format_put(txn, dbi)) != 0)
		goto fail;
	rc = mdb_txn_commit(txn);
	txn = NULL;
	if (rc != 0)
		goto fail;
	return 0;
fail:
	if (txn != NULL)
		mdb_txn_abort(txn);
	snprintf(err, errlen, "data_dir %s: cannot read or write its format "
	    "record: %s", dir, mdb_strerror(rc));
	return AUTHD_EIO;
}

int
store_open(const char *dir, size_t mapsize, struct store **out, char *err,
    size_t errlen)
{
	struct store	*st;
	char		 path[PATH_MAX];
	int		 rc;

	*out = NULL;
	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create %s: %s", dir,
		    strerror(errno));
		return AUTHD_ESYS;
	}
	if ((st = calloc(1, sizeof(*st))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return AUTHD_ENOMEM;
	}
	pthread_mutex_init(&st->loader, NULL);
	pthread_mutex_init(&st->rlock, NULL);
	pthread_mutex_init(&st->qlock, NULL);
	pthread_cond_init(&st->qcond, NULL);
	pthread_cond_init(&st->qdone, NULL);
	st->qtail = &st->qhead;
	st->id = atomic_fetch_add(&store_ids, 1) + 1;
	if ((rc = mdb_env_create(&st->env)) != 0 ||
	    (rc = mdb_env_set_maxdbs(st->env, STORE_MAXDBS)) != 0 ||
	    (rc = mdb_env_set_maxreaders(st->env, 1024)) != 0 ||
	    (rc = mdb_env_set_mapsize(st->env, mapsize)) != 0 ||
	    (rc = mdb_env_open(st->env, dir, MDB_NOTLS | MDB_WRITEMAP,
	    0600)) != 0) {
		snprintf(err, errlen, "cannot open the store in %s: %s", dir,
		    mdb_strerror(rc));
		store_close(&st);
		return AUTHD_EIO;
	}
	/* Reader slots of a process that died are freed here. */
	mdb_reader_check(st->env, NULL);
	if ((rc = store_format_check(st, dir, err, errlen)) != 0) {
		store_close(&st);
		return rc;
	}
	if (realpath(dir, path) == NULL ||
	    strlen(path) + sizeof("/data.mdb") > sizeof(st->datafile))
		st->datafile[0] = '\0';
	else
		snprintf(st->datafile, sizeof(st->datafile), "%.*s/data.mdb",
		    (int)(sizeof(st->datafile) - sizeof("/data.mdb")), path);
	*out = st;
	return 0;
}

void
store_close(struct store **pst)
{
	struct store		*st = *pst;
	struct store_rtxn	*r, *next;

	if (st == NULL)
		return;
	if (st->qstarted) {
		/* The writer commits what is still queued, then ends. */
		pthread_mutex_lock(&st->qlock);
		st->qstop = 1;
		pthread_cond_signal(&st->qcond);
		pthread_mutex_unlock(&st->qlock);
		pthread_join(st->qwriter, NULL);
	}
	/* No thread may be inside store_set_contains now. */
	for (r = st->rtxns; r != NULL; r = next) {
		next = r->next;
		mdb_txn_abort(r->txn);
		free(r);
	}
	if (store_tls_id == st->id) {
		store_tls = NULL;
		store_tls_id = 0;
	}
	if (st->env != NULL)
		mdb_env_close(st->env);
	pthread_cond_destroy(&st->qdone);
	pthread_cond_destroy(&st->qcond);
	pthread_mutex_destroy(&st->qlock);
	pthread_mutex_destroy(&st->rlock);
	pthread_mutex_destroy(&st->loader);
	free(st);
	*pst = NULL;
}

/*
 * With MDB_WRITEMAP a set is written straight into the map: no heap copy
 * of its pages that LMDB would keep for reuse.  The written pages stay
 * mapped, counted in the daemon's resident memory although the kernel can
 * drop them at will; drop them now, so that importing a big list or CRL
 * does not look (or stay) like a big daemon.  Lookups fault in only the
 * pages they touch, from the page cache.
 */
static void
store_release_pages(struct store *st)
{
	FILE		*f;
	char		 line[4608];
	unsigned long	 lo, hi;
	size_t		 n;
	char		*path;

	/* LMDB does not say where its map is: /proc/self/maps does. */
	if ((f = fopen("/proc/self/maps", "r")) == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		n = strlen(line);
		if (n > 0 && line[n - 1] == '\n')
			line[--n] = '\0';
		if ((path = strchr(line, '/')) == NULL ||
		    strcmp(path, st->datafile) != 0 ||
		    sscanf(line, "%lx-%lx", &lo, &hi) != 2 || hi <= lo)
			continue;
		madvise((void *)lo, hi - lo, MADV_DONTNEED);
	}
	fclose(f);
}

static int
store_name_ok(const char *name)
{
	size_t	 len = strlen(name);

	return len > 0 && len < STORE_NAME_MAX;
}

int
store_set_find(struct store *st, const char *name, store_set_t *set,
    size_t *count)
{
	MDB_txn		*txn = NULL;
	MDB_dbi		 dbi;
	MDB_stat	 ms;
	int		 rc, ret;

	if (!store_name_ok(name))
		return AUTHD_EINVAL;
	pthread_mutex_lock(&st->loader);
	if (mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn) != 0) {
		ret = AUTHD_EIO;
		goto end;
	}
	rc = mdb_dbi_open(txn, name, 0, &dbi);
	if (rc == MDB_NOTFOUND) {
		ret = 1;
		goto end;
	}
	if (rc != 0 || mdb_stat(txn, dbi, &ms) != 0) {
		ret = AUTHD_EIO;
		goto end;
	}
	/* A read-only transaction's dbi survives only if it commits. */
	rc = mdb_txn_commit(txn);
	txn = NULL;
	if (rc != 0) {
		ret = AUTHD_EIO;
		goto end;
	}
	*set = dbi;
	*count = ms.ms_entries;
	ret = 0;
end:
	if (txn != NULL)
		mdb_txn_abort(txn);
	pthread_mutex_unlock(&st->loader);
	return ret;
}

int
store_writer_new(struct store *st, const char *name, size_t max_keys,
    struct store_writer **out)
{
	struct store_writer	*w;

	*out = NULL;
	if (!store_name_ok(name) || max_keys > UINT32_MAX / 2)
		return AUTHD_EINVAL;
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return AUTHD_ENOMEM;
	w->store = st;
	w->max = max_keys;
	memcpy(w->name, name, strlen(name) + 1);
	*out = w;
	return 0;
}

int
store_writer_add(struct store_writer *w, const void *key, size_t len)
{
	void	*p;
	size_t	 ncap;

	if (len == 0 || len > STORE_KEY_MAX)
		return AUTHD_EINVAL;
	if (w->n >= w->max)
		return AUTHD_ERANGE;
	if (w->used + 1 + len > w->cap) {
		ncap = w->cap == 0 ? 64 * 1024 : w->cap * 2;
		if (ncap > UINT32_MAX || (p = realloc(w->buf, ncap)) == NULL)
			return AUTHD_ENOMEM;
		w->buf = p;
		w->cap = ncap;
	}
	if (w->n == w->offcap) {
		ncap = w->offcap == 0 ? 1024 : w->offcap * 2;
		if ((p = realloc(w->offs, ncap * sizeof(*w->offs))) == NULL)
			return AUTHD_ENOMEM;
		w->offs = p;
		w->offcap = ncap;
	}
	w->offs[w->n++] = (uint32_t)w->used;
	w->buf[w->used++] = (unsigned char)len;
	memcpy(w->buf + w->used, key, len);
	w->used += len;
	return 0;
}

/* LMDB's default key order: bytes, then the shorter key first. */
static int
store_key_cmp(const void *a, const void *b, void *arg)
{
	const unsigned char	*buf = arg;
	const unsigned char	*ka = buf + *(const uint32_t *)a;
	const unsigned char	*kb = buf + *(const uint32_t *)b;
	size_t			 la = ka[0], lb = kb[0];
	int			 c;

	c = memcmp(ka + 1, kb + 1, la < lb ? la : lb);
	if (c != 0)
		return c;
	return la < lb ? -1 : la > lb;
}

int
store_writer_commit(struct store_writer **pw, store_set_t *set,
    size_t *count, char *err, size_t errlen)
{
	struct store_writer	*w = *pw;
	struct store		*st = w->store;
	MDB_txn			*txn = NULL;
	MDB_dbi			 dbi;
	MDB_val			 k, v = { 0, NULL };
	const unsigned char	*prev = NULL, *cur;
	size_t			 i, n = 0;
	int			 rc, ret = AUTHD_EIO;

	if (w->n > 0)
		qsort_r(w->offs, w->n, sizeof(*w->offs), store_key_cmp, w->buf);
	pthread_mutex_lock(&st->loader);
	if ((rc = mdb_txn_begin(st->env, NULL, 0, &txn)) != 0)
		goto end;
	/* A set of that name from an interrupted run is replaced. */
	if ((rc = mdb_dbi_open(txn, w->name, MDB_CREATE, &dbi)) != 0 ||
	    (rc = mdb_drop(txn, dbi, 0)) != 0)
		goto end;
	for (i = 0; i < w->n; i++) {
		cur = w->buf + w->offs[i];
		if (prev != NULL && prev[0] == cur[0] &&
		    memcmp(prev + 1, cur + 1, cur[0]) == 0)
			continue;	/* a duplicate line */
		k.mv_size = cur[0];
		k.mv_data = (void *)(uintptr_t)(cur + 1);
		if ((rc = mdb_put(txn, dbi, &k, &v, MDB_APPEND)) != 0)
			goto end;
		prev = cur;
		n++;
	}
	rc = mdb_txn_commit(txn);
	txn = NULL;
	if (rc != 0)
		goto end;
	store_release_pages(st);
	*set = dbi;
	*count = n;
	ret = 0;
end:
	if (txn != NULL)
		mdb_txn_abort(txn);
	if (ret != 0)
		snprintf(err, errlen, "store: writing %s: %s", w->name,
		    rc == MDB_MAP_FULL ? "the store is full (map size)" :
		    mdb_strerror(rc));
	pthread_mutex_unlock(&st->loader);
	store_writer_free(pw);
	return ret;
}

void
store_writer_free(struct store_writer **pw)
{
	struct store_writer	*w = *pw;

	if (w == NULL)
		return;
	free(w->buf);
	free(w->offs);
	free(w);
	*pw = NULL;
}

/* This thread's read transaction for st, renewed; NULL on failure. */
static MDB_txn *
store_rtxn_get(struct store *st)
{
	struct store_rtxn	*r;

	if (store_tls != NULL && store_tls_id == st->id)
		return mdb_txn_renew(store_tls->txn) == 0 ? store_tls->txn :
		    NULL;
	/* First lookup of this thread (or a store opened since). */
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	if (mdb_txn_begin(st->env, NULL, MDB_RDONLY, &r->txn) != 0) {
		free(r);
		return NULL;
	}
	pthread_mutex_lock(&st->rlock);
	r->next = st->rtxns;
	st->rtxns = r;
	pthread_mutex_unlock(&st->rlock);
	store_tls = r;
	store_tls_id = st->id;
	return r->txn;
}

int
store_set_contains(struct store *st, store_set_t set, const void *key,
    size_t len)
{
	MDB_txn	*txn;
	MDB_val	 k, v;
	int	 rc;

	if (len == 0 || len > STORE_KEY_MAX)
		return 0;
	if ((txn = store_rtxn_get(st)) == NULL)
		return AUTHD_EIO;
	k.mv_size = len;
	k.mv_data = (void *)(uintptr_t)key;
	rc = mdb_get(txn, set, &k, &v);
	mdb_txn_reset(txn);
	if (rc == 0)
		return 1;
	return rc == MDB_NOTFOUND ? 0 : AUTHD_EIO;
}

int
store_set_retain(struct store *st, const char *prefix,
    const char *const *keep, size_t nkeep)
{
	MDB_txn		*txn = NULL;
	MDB_cursor	*cur = NULL;
	MDB_dbi		 main_dbi, dbi;
	MDB_val		 k, v;
	char		 name[STORE_NAME_MAX];
	char		(*drop)[STORE_NAME_MAX] = NULL;
	size_t		 ndrop = 0, cap = 0, i, plen = strlen(prefix);
	int		 rc, ret = AUTHD_EIO, kept;
	void		*p;

	pthread_mutex_lock(&st->loader);
	if (mdb_txn_begin(st->env, NULL, 0, &txn) != 0 ||
	    mdb_dbi_open(txn, NULL, 0, &main_dbi) != 0 ||
	    mdb_cursor_open(txn, main_dbi, &cur) != 0)
		goto end;
	/* Collect first: dropping while the cursor walks would move it. */
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size >= sizeof(name) || k.mv_size < plen ||
		    memcmp(k.mv_data, prefix, plen) != 0)
			continue;
		memcpy(name, k.mv_data, k.mv_size);
		name[k.mv_size] = '\0';
		for (kept = 0, i = 0; i < nkeep && !kept; i++)
			kept = strcmp(keep[i], name) == 0;
		if (kept)
			continue;
		if (ndrop == cap) {
			cap = cap == 0 ? 16 : cap * 2;
			if ((p = realloc(drop, cap * sizeof(*drop))) == NULL) {
				ret = AUTHD_ENOMEM;
				goto end;
			}
			drop = p;
		}
		memcpy(drop[ndrop++], name, k.mv_size + 1);
	}
	mdb_cursor_close(cur);
	cur = NULL;
	for (i = 0; i < ndrop; i++)
		if (mdb_dbi_open(txn, drop[i], 0, &dbi) != 0 ||
		    mdb_drop(txn, dbi, 1) != 0)
			goto end;
	rc = mdb_txn_commit(txn);
	txn = NULL;
	ret = rc == 0 ? (int)ndrop : AUTHD_EIO;
end:
	if (cur != NULL)
		mdb_cursor_close(cur);
	if (txn != NULL)
		mdb_txn_abort(txn);
	pthread_mutex_unlock(&st->loader);
	free(drop);
	return ret;
}

int
store_kv_open(struct store *st, const char *db, store_set_t *dbi)
{
	MDB_txn	*txn = NULL;
	int	 rc;

	if (!store_name_ok(db))
		return AUTHD_EINVAL;
	pthread_mutex_lock(&st->loader);
	if ((rc = mdb_txn_begin(st->env, NULL, 0, &txn)) == 0 &&
	    (rc = mdb_dbi_open(txn, db, MDB_CREATE, dbi)) == 0) {
		rc = mdb_txn_commit(txn);
		txn = NULL;
	}
	if (txn != NULL)
		mdb_txn_abort(txn);
	pthread_mutex_unlock(&st->loader);
	return rc == 0 ? 0 : AUTHD_EIO;
}

int
store_kv_put(struct store *st, store_set_t dbi, const void *key, size_t klen,
    const void *val, size_t vlen)
{
	MDB_txn	*txn = NULL;
	MDB_val	 k, v;
	int	 rc;

	if (klen == 0 || klen > STORE_KEY_MAX)
		return AUTHD_EINVAL;
	k.mv_size = klen;
	k.mv_data = (void *)(uintptr_t)key;
	v.mv_size = vlen;
	v.mv_data = (void *)(uintptr_t)val;
	pthread_mutex_lock(&st->loader);
	if ((rc = mdb_txn_begin(st->env, NULL, 0, &txn)) == 0 &&
	    (rc = mdb_put(txn, dbi, &k, &v, 0)) == 0) {
		rc = mdb_txn_commit(txn);
		txn = NULL;
	}
	if (txn != NULL)
		mdb_txn_abort(txn);
	pthread_mutex_unlock(&st->loader);
	return rc == 0 ? 0 : AUTHD_EIO;
}

/* Write the records of list in one transaction and free them. */
static int
store_queued_commit(struct store *st, struct store_queued *list)
{
	struct store_queued	*q, *next;
	MDB_txn			*txn = NULL;
	MDB_val			 k, v;
	size_t			 n = 0;
	int			 rc;

	pthread_mutex_lock(&st->loader);
	if ((rc = mdb_txn_begin(st->env, NULL, 0, &txn)) == 0) {
		for (q = list; q != NULL && rc == 0; q = q->next, n++) {
			k.mv_size = q->klen;
			k.mv_data = q->data;
			v.mv_size = q->vlen;
			v.mv_data = q->data + q->klen;
			rc = mdb_put(txn, q->dbi, &k, &v, 0);
		}
		if (rc == 0)
			rc = mdb_txn_commit(txn);
		else
			mdb_txn_abort(txn);
	}
	pthread_mutex_unlock(&st->loader);
	if (rc != 0)
		log_warnx("store: %zu queued records not written: %s", n,
		    mdb_strerror(rc));
	for (n = 0, q = list; q != NULL; q = next) {
		next = q->next;
		n += sizeof(*q) + q->klen + q->vlen;
		free(q);
	}
	pthread_mutex_lock(&st->qlock);
	st->qbytes -= n;
	pthread_mutex_unlock(&st->qlock);
	return rc == 0 ? 0 : AUTHD_EIO;
}

/*
 * The writer: waits for a record, lets more gather for STORE_QUEUE_MS
 * (or until STORE_QUEUE_BATCH bytes), then commits them all at once.
 */
static void *
store_writer_main(void *arg)
{
	struct store		*st = arg;
	struct store_queued	*list;
	struct timespec		 until;

	pthread_mutex_lock(&st->qlock);
	for (;;) {
		while (st->qhead == NULL && !st->qstop)
			pthread_cond_wait(&st->qcond, &st->qlock);
		if (st->qhead == NULL)
			break;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += STORE_QUEUE_MS * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		while (!st->qstop && st->qbytes < STORE_QUEUE_BATCH &&
		    pthread_cond_timedwait(&st->qcond, &st->qlock, &until) == 0)
			;
		list = st->qhead;
		st->qhead = NULL;
		st->qtail = &st->qhead;
		st->qwriting = 1;
		pthread_mutex_unlock(&st->qlock);
		store_queued_commit(st, list);
		pthread_mutex_lock(&st->qlock);
		st->qwriting = 0;
		pthread_cond_broadcast(&st->qdone);
	}
	pthread_mutex_unlock(&st->qlock);
	return NULL;
}

void
store_kv_flush(struct store *st)
{
	pthread_mutex_lock(&st->qlock);
	if (st->qhead != NULL)
		pthread_cond_signal(&st->qcond);
	while (st->qstarted && (st->qhead != NULL || st->qwriting))
		pthread_cond_wait(&st->qdone, &st->qlock);
	pthread_mutex_unlock(&st->qlock);
}

int
store_kv_put_queued(struct store *st, store_set_t dbi, const void *key,
    size_t klen, const void *val, size_t vlen)
{
	struct store_queued	*q;
	size_t			 size;

	if (klen == 0 || klen > STORE_KEY_MAX)
		return AUTHD_EINVAL;
	size = sizeof(*q) + klen + vlen;
	if ((q = malloc(size)) == NULL)
		return AUTHD_ENOMEM;
	q->next = NULL;
	q->dbi = dbi;
	q->klen = klen;
	q->vlen = vlen;
	memcpy(q->data, key, klen);
	memcpy(q->data + klen, val, vlen);
	pthread_mutex_lock(&st->qlock);
	if (!st->qstarted && !st->qstop) {
		if (pthread_create(&st->qwriter, NULL, store_writer_main,
		    st) == 0)
			st->qstarted = 1;
		else
			st->qstop = 1;	/* no thread: write each in place */
	}
	if (st->qstop) {
		/* No writer (nothing queued either): write it in place. */
		pthread_mutex_unlock(&st->qlock);
		free(q);
		return store_kv_put(st, dbi, key, klen, val, vlen);
	}
	/*
	 * The disk is behind: wait for room rather than write past the
	 * queue, which could land an older record for this key after it.
	 */
	while (st->qbytes > 0 && st->qbytes + size > STORE_QUEUE_MAX) {
		pthread_cond_signal(&st->qcond);
		pthread_cond_wait(&st->qdone, &st->qlock);
	}
	st->qbytes += size;
	*st->qtail = q;
	st->qtail = &q->next;
	if (st->qhead == q || st->qbytes >= STORE_QUEUE_BATCH)
		pthread_cond_signal(&st->qcond);
	pthread_mutex_unlock(&st->qlock);
	return 0;
}

int
store_kv_count(struct store *st, store_set_t dbi, size_t *n)
{
	MDB_txn		*txn;
	MDB_stat	 ms;
	int		 rc;

	*n = 0;
	if ((txn = store_rtxn_get(st)) == NULL)
		return AUTHD_EIO;
	if ((rc = mdb_stat(txn, dbi, &ms)) == 0)
		*n = ms.ms_entries;
	mdb_txn_reset(txn);
	return rc == 0 ? 0 : AUTHD_EIO;
}

int
store_kv_sweep(struct store *st, store_set_t dbi,
    int (*keep)(const void *key, size_t klen, const void *val, size_t vlen,
    void *arg), void *arg, size_t *dropped)
{
	MDB_txn		*txn = NULL;
	MDB_cursor	*cur = NULL;
	MDB_val		 k, v;
	int		 rc;

	*dropped = 0;
	store_kv_flush(st);
	pthread_mutex_lock(&st->loader);
	if ((rc = mdb_txn_begin(st->env, NULL, 0, &txn)) == 0 &&
	    (rc = mdb_cursor_open(txn, dbi, &cur)) == 0) {
		for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
		    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
			if (keep == NULL || !keep(k.mv_data, k.mv_size,
			    v.mv_data, v.mv_size, arg)) {
				if ((rc = mdb_cursor_del(cur, 0)) != 0)
					break;
				(*dropped)++;
			}
		}
		mdb_cursor_close(cur);
		if (rc == MDB_NOTFOUND) {
			rc = mdb_txn_commit(txn);
			txn = NULL;
		}
	}
	if (txn != NULL)
		mdb_txn_abort(txn);
	pthread_mutex_unlock(&st->loader);
	if (rc != 0)
		*dropped = 0;
	return rc == 0 ? 0 : AUTHD_EIO;
}

int
store_kv_get(struct store *st, store_set_t dbi, const void *key, size_t klen,
    void *val, size_t cap, size_t *vlen)
{
	MDB_txn	*txn;
	MDB_val	 k, v;
	int	 rc, ret;

	*vlen = 0;
	if (klen == 0 || klen > STORE_KEY_MAX)
		return 0;
	if ((txn = store_rtxn_get(st)) == NULL)
		return AUTHD_EIO;
	k.mv_size = klen;
	k.mv_data = (void *)(uintptr_t)key;
	rc = mdb_get(txn, dbi, &k, &v);
	*vlen = rc == 0 ? v.mv_size : 0;
	if (rc == 0 && v.mv_size <= cap) {
		/* Copied out before the transaction ends (lmdb.h). */
		memcpy(val, v.mv_data, v.mv_size);
		*vlen = v.mv_size;
		ret = 1;
	} else
		ret = rc == MDB_NOTFOUND || rc == 0 ? 0 : AUTHD_EIO;
	mdb_txn_reset(txn);
	return ret;
}
