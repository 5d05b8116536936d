/* test_store.c: LMDB sets: build, find after reopen, contains, retain. */
#include <sys/stat.h>

#include <pthread.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lmdb.h>

#include "err.h"
#include "store.h"
#include "t.h"

static char	 dir[256];

static void
cleanup_dir(void)
{
	t_rmtree(dir);
}

static void
key_of(unsigned int i, unsigned char key[32])
{
	unsigned int	 j;

	for (j = 0; j < 32; j++)
		key[j] = (unsigned char)((i * 2654435761u) >> (j % 4 * 8)) ^
		    (unsigned char)j;
	memcpy(key, &i, sizeof(i));
}

struct lookup_arg {
	struct store	*st;
	store_set_t	 set;
	int		 hits;
};

static void *
lookup_thread(void *p)
{
	struct lookup_arg	*a = p;
	unsigned char		 key[32];
	unsigned int		 i;

	for (i = 0; i < 2000; i++) {
		key_of(i % 10000, key);
		a->hits += store_set_contains(a->st, a->set, key, sizeof(key))
		    == 1;
	}
	return NULL;
}

/*
 * Lookups from threads that then exit, and a close afterwards: every
 * thread's read transaction is aborted by store_close (LeakSanitizer
 * checks), and a store opened again is not confused with the old one.
 */
static void
test_threads(struct store *st, store_set_t set)
{
	pthread_t		 t[4];
	struct lookup_arg	 a[4];
	int			 i;

	for (i = 0; i < 4; i++) {
		a[i].st = st;
		a[i].set = set;
		a[i].hits = 0;
		CHECK(pthread_create(&t[i], NULL, lookup_thread, &a[i]) == 0,
		    "pthread_create %d", i);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		CHECK(a[i].hits == 2000, "thread %d: %d hits of 2000", i,
		    a[i].hits);
	}
}

/*
 * Queued records: none lost, the last value of a key wins, visible after
 * store_kv_flush, all there after close and reopen; with STORE_QUEUE_MAX
 * queued a caller waits for room (none lost).
 */
static void
test_queued(void)
{
	struct store	*st = NULL;
	store_set_t	 dbi;
	char		 err[256], k[32], v[64], got[64];
	static char	 big[1 << 20];
	size_t		 len = 0;
	unsigned int	 i, found;

	CHECK(store_open(dir, (size_t)256 << 20, &st, err, sizeof(err)) == 0,
	    "open: %s", err);
	CHECK(store_kv_open(st, "queued", &dbi) == 0, "got otherwise");
	CHECK(store_kv_put_queued(st, dbi, "", 0, "x", 1) == AUTHD_EINVAL,
	    "got otherwise");
	for (i = 0; i < 5000; i++) {
		snprintf(k, sizeof(k), "key-%u", i % 4000);
		snprintf(v, sizeof(v), "value-%u", i);
		CHECK(store_kv_put_queued(st, dbi, k, strlen(k), v,
		    strlen(v)) == 0, "put %u", i);
	}
	store_kv_flush(st);
	CHECK(store_kv_get(st, dbi, "key-3999", 8, got, sizeof(got),
	    &len) == 1 && len == 10 && memcmp(got, "value-3999", 10) == 0,
	    "after a flush, the last record is visible: %zu", len);
	store_kv_flush(st);		/* nothing queued: returns */
	/* 20 MB in 1 MB records: callers wait for room past the bound */
	memset(big, 'b', sizeof(big));
	for (i = 0; i < 20; i++) {
		snprintf(k, sizeof(k), "big-%u", i);
		CHECK(store_kv_put_queued(st, dbi, k, strlen(k), big,
		    sizeof(big) - 64) == 0, "big %u", i);
	}
	store_close(&st);
	CHECK(store_open(dir, (size_t)256 << 20, &st, err, sizeof(err)) == 0,
	    "reopen: %s", err);
	CHECK(store_kv_open(st, "queued", &dbi) == 0, "got otherwise");
	for (i = found = 0; i < 4000; i++) {
		snprintf(k, sizeof(k), "key-%u", i);
		snprintf(v, sizeof(v), "value-%u", i < 1000 ? i + 4000 : i);
		if (store_kv_get(st, dbi, k, strlen(k), got, sizeof(got),
		    &len) == 1 && len == strlen(v) && memcmp(got, v, len) == 0)
			found++;
	}
	CHECK(found == 4000, "after reopen, each key's last value: %u", found);
	for (i = found = 0; i < 20; i++) {
		snprintf(k, sizeof(k), "big-%u", i);
		if (store_kv_get(st, dbi, k, strlen(k), big, sizeof(big),
		    &len) == 1 && len == sizeof(big) - 64)
			found++;
	}
	CHECK(found == 20, "after reopen, the big records: %u", found);
	store_close(&st);
}

/*
 * The format record, read or set behind the store's back: what another
 * authd (older, newer) or a damaged disk leaves.  value NULL deletes it.
 */
static void
format_raw(const char *value, char *out, size_t outlen)
{
	MDB_env	*env = NULL;
	MDB_txn	*txn = NULL;
	MDB_dbi	 dbi;
	MDB_val	 k, v;
	char	 key[] = "version";
	int	 rc;

	if (out != NULL)
		out[0] = '\0';
	k.mv_data = key;
	k.mv_size = strlen(key);
	rc = mdb_env_create(&env);
	if (rc == 0)
		rc = mdb_env_set_maxdbs(env, 16);
	if (rc == 0)
		rc = mdb_env_open(env, dir, 0, 0600);
	if (rc == 0)
		rc = mdb_txn_begin(env, NULL, 0, &txn);
	if (rc == 0)
		rc = mdb_dbi_open(txn, "format", 0, &dbi);
	if (rc == 0 && out != NULL && mdb_get(txn, dbi, &k, &v) == 0)
		snprintf(out, outlen, "%.*s", (int)v.mv_size,
		    (const char *)v.mv_data);
	if (rc == 0 && out == NULL) {
		if (value == NULL)
			rc = mdb_del(txn, dbi, &k, NULL);
		else {
			v.mv_data = (void *)(uintptr_t)value;
			v.mv_size = strlen(value);
			rc = mdb_put(txn, dbi, &k, &v, 0);
		}
	}
	if (txn != NULL)
		rc = rc == 0 ? mdb_txn_commit(txn) : (mdb_txn_abort(txn), rc);
	CHECK(rc == 0, "format record: %s", mdb_strerror(rc));
	mdb_env_close(env);
}

/* A store holding a set and a record, closed. */
static void
format_fill(void)
{
	struct store		*st = NULL;
	struct store_writer	*w = NULL;
	store_set_t		 set, kv;
	size_t			 count;
	char			 err[256];

	CHECK(store_open(dir, (size_t)16 << 20, &st, err, sizeof(err)) == 0,
	    "open: %s", err);
	CHECK(store_writer_new(st, "list:f", 10, &w) == 0, "got otherwise");
	CHECK(store_writer_add(w, "k", 1) == 0, "got otherwise");
	CHECK(store_writer_commit(&w, &set, &count, err, sizeof(err)) == 0,
	    "got otherwise");
	CHECK(store_kv_open(st, "verified", &kv) == 0, "got otherwise");
	CHECK(store_kv_put(st, kv, "key", 3, "value", 5) == 0, "got otherwise");
	store_close(&st);
}

/* 1 when the store still holds what format_fill wrote, 0 when emptied. */
static int
format_kept(void)
{
	struct store	*st = NULL;
	store_set_t	 set, kv;
	size_t		 count = 0, n = 0;
	char		 err[256];
	int		 found;

	CHECK(store_open(dir, (size_t)16 << 20, &st, err, sizeof(err)) == 0,
	    "open: %s", err);
	if (st == NULL)
		return -1;
	found = store_set_find(st, "list:f", &set, &count) == 0;
	CHECK(store_kv_open(st, "verified", &kv) == 0, "got otherwise");
	CHECK(store_kv_count(st, kv, &n) == 0, "got otherwise");
	CHECK(found == (n == 1), "the set and the record went together "
	    "(set %d, records %zu)", found, n);
	store_close(&st);
	return found;
}

/* STORE_FORMAT: the store says which layout it holds. */
static void
test_format(void)
{
	char	 got[64];

	cleanup_dir();
	CHECK(mkdir(dir, 0700) == 0, "got otherwise");
	format_fill();
	format_raw(NULL, got, sizeof(got));
	CHECK(strcmp(got, "authd-store 1") == 0, "a new store's format: %s",
	    got);
	CHECK(format_kept() == 1, "the same format: kept");

	/* written before the record existed (format 1's layout): kept */
	format_raw(NULL, NULL, 0);
	CHECK(format_kept() == 1, "no record: kept");
	format_raw(NULL, got, sizeof(got));
	CHECK(strcmp(got, "authd-store 1") == 0, "the record written: %s", got);

	/* a newer authd's store, an older one's, a damaged record: emptied */
	format_raw("authd-store 2", NULL, 0);
	CHECK(format_kept() == 0, "format 2: emptied");
	format_raw(NULL, got, sizeof(got));
	CHECK(strcmp(got, "authd-store 1") == 0, "format 1 again: %s", got);
	format_fill();
	format_raw("authd-store 0", NULL, 0);
	CHECK(format_kept() == 0, "format 0: emptied");
	format_fill();
	format_raw("authd-store 1x", NULL, 0);
	CHECK(format_kept() == 0, "a damaged record: emptied");
	format_fill();
	format_raw("", NULL, 0);
	CHECK(format_kept() == 0, "an empty record: emptied");
	format_fill();
	CHECK(format_kept() == 1, "filled again, and kept");
}

int
main(void)
{
	struct store		*st = NULL;
	struct store_writer	*w = NULL;
	store_set_t		 set, set2;
	unsigned char		 key[32];
	char			 err[256];
	const char		*keep[1];
	size_t			 count;
	unsigned int		 i;

	if (t_tmpdir(dir, sizeof(dir)) == NULL)
		return 2;
	CHECK(store_open(dir, (size_t)64 << 20, &st, err, sizeof(err)) == 0, "got otherwise");

	/* not there yet */
	CHECK(store_set_find(st, "list:a", &set, &count) == 1, "got otherwise");

	/* build 10000 keys, in reverse, with duplicates and a short key */
	CHECK(store_writer_new(st, "list:a", 20000, &w) == 0, "got otherwise");
	for (i = 10000; i-- > 0;) {
		key_of(i, key);
		CHECK(store_writer_add(w, key, sizeof(key)) == 0, "got otherwise");
		if (i % 1000 == 0)
			CHECK(store_writer_add(w, key, sizeof(key)) == 0, "got otherwise");
	}
	CHECK(store_writer_add(w, "\x01\x02", 2) == 0, "got otherwise");
	CHECK(store_writer_add(w, "", 0) == AUTHD_EINVAL, "got otherwise");
	CHECK(store_writer_add(w, key, STORE_KEY_MAX + 1) == AUTHD_EINVAL, "got otherwise");
	CHECK(store_writer_commit(&w, &set, &count, err, sizeof(err)) == 0, "got otherwise");
	CHECK(w == NULL, "got otherwise");
	CHECK(count == 10001, "got otherwise");

	for (i = 0; i < 10000; i += 7) {
		key_of(i, key);
		CHECK(store_set_contains(st, set, key, sizeof(key)) == 1, "got otherwise");
		key[31] ^= 0xff;
		CHECK(store_set_contains(st, set, key, sizeof(key)) == 0, "got otherwise");
	}
	CHECK(store_set_contains(st, set, "\x01\x02", 2) == 1, "got otherwise");
	CHECK(store_set_contains(st, set, "\x01", 1) == 0, "got otherwise");
	CHECK(store_set_contains(st, set, "", 0) == 0, "got otherwise");

	/* the writer's cap */
	CHECK(store_writer_new(st, "list:b", 2, &w) == 0, "got otherwise");
	CHECK(store_writer_add(w, "a", 1) == 0, "got otherwise");
	CHECK(store_writer_add(w, "b", 1) == 0, "got otherwise");
	CHECK(store_writer_add(w, "c", 1) == AUTHD_ERANGE, "got otherwise");
	CHECK(store_writer_commit(&w, &set2, &count, err, sizeof(err)) == 0, "got otherwise");
	CHECK(count == 2, "got otherwise");
	/* an empty set is a set */
	CHECK(store_writer_new(st, "list:empty", 10, &w) == 0, "got otherwise");
	CHECK(store_writer_commit(&w, &set2, &count, err, sizeof(err)) == 0, "got otherwise");
	CHECK(count == 0, "got otherwise");
	/* an aborted writer leaves nothing */
	CHECK(store_writer_new(st, "list:c", 10, &w) == 0, "got otherwise");
	CHECK(store_writer_add(w, "x", 1) == 0, "got otherwise");
	store_writer_free(&w);
	CHECK(w == NULL, "got otherwise");
	CHECK(store_set_find(st, "list:c", &set2, &count) == 1, "got otherwise");
	/* bad names */
	CHECK(store_writer_new(st, "", 10, &w) == AUTHD_EINVAL, "got otherwise");
	CHECK(store_set_find(st, "", &set2, &count) == AUTHD_EINVAL, "got otherwise");
	store_close(&st);
	CHECK(st == NULL, "got otherwise");

	/* survives a reopen */
	CHECK(store_open(dir, (size_t)64 << 20, &st, err, sizeof(err)) == 0, "got otherwise");
	CHECK(store_set_find(st, "list:a", &set, &count) == 0, "got otherwise");
	CHECK(count == 10001, "got otherwise");
	key_of(4242, key);
	CHECK(store_set_contains(st, set, key, sizeof(key)) == 1, "got otherwise");

	test_threads(st, set);
	/* the main thread too, then close and reopen: a fresh transaction */
	CHECK(store_set_contains(st, set, key, sizeof(key)) == 1, "main thread");
	store_close(&st);
	CHECK(store_open(dir, (size_t)64 << 20, &st, err, sizeof(err)) == 0,
	    "reopen: %s", err);
	CHECK(store_set_find(st, "list:a", &set, &count) == 0, "find again");
	CHECK(store_set_contains(st, set, key, sizeof(key)) == 1,
	    "lookup after reopen");

	/* retain keeps list:a, drops list:b and list:empty */
	keep[0] = "list:a";
	CHECK(store_set_retain(st, "list:", keep, 1) == 2, "got otherwise");
	CHECK(store_set_find(st, "list:b", &set2, &count) == 1, "got otherwise");
	CHECK(store_set_find(st, "list:a", &set, &count) == 0, "got otherwise");
	CHECK(store_set_retain(st, "list:", keep, 1) == 0, "got otherwise");
	store_close(&st);

	test_queued();
	test_format();

	/* a map too small for the set: a clean error, not a crash */
	cleanup_dir();
	CHECK(mkdir(dir, 0700) == 0, "got otherwise");
	CHECK(store_open(dir, (size_t)64 * 1024, &st, err, sizeof(err)) == 0, "got otherwise");
	CHECK(store_writer_new(st, "list:big", 100000, &w) == 0, "got otherwise");
	for (i = 0; i < 100000; i++) {
		key_of(i, key);
		store_writer_add(w, key, sizeof(key));
	}
	CHECK(store_writer_commit(&w, &set, &count, err, sizeof(err)) ==
	    AUTHD_EIO, "got otherwise");
	CHECK(strstr(err, "full") != NULL, "got otherwise");
	CHECK(store_set_find(st, "list:big", &set, &count) == 1, "got otherwise");
	store_close(&st);

	/* a directory that cannot be created */
	CHECK(store_open("/proc/nope/authd", (size_t)1 << 20, &st, err,
	    sizeof(err)) != 0, "got otherwise");
	CHECK(st == NULL, "got otherwise");

	cleanup_dir();
	return t_done();
}
