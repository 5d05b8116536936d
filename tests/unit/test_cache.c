/*
 * test_cache.c: the verdict cache: copies, misses, generations, expiry,
 * the capacity bound and LRU order, replacement, clear, NULL safety, and
 * a multi-threaded smoke test that also checks every hit is whole.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "t.h"

/* A generation that differs from another only in its snapshot part. */
#define G(n)	(&(struct cache_gen){ (n), 0, 0 })

#define SHARDS	 64	/* CACHE_SHARDS in cache.c */

/* A uniform key: SHA-256 of i. */
static void
key_of(unsigned int i, unsigned char key[IDENTITY_SHA256_LEN])
{
	unsigned char	 b[4] = { (unsigned char)(i >> 24),
	    (unsigned char)(i >> 16), (unsigned char)(i >> 8), (unsigned char)i };

	identity_sha256(b, sizeof(b), key);
}

/* A key in a chosen shard: the first 8 bytes (the hash) all equal. */
static void
key_in_shard(unsigned char shard, unsigned int i,
    unsigned char key[IDENTITY_SHA256_LEN])
{
	memset(key, 0, IDENTITY_SHA256_LEN);
	memset(key, shard, 8);
	memcpy(key + 8, &i, sizeof(i));
}

static void
verdict_of(unsigned int i, struct verdict *v)
{
	memset(v, 0, sizeof(*v));
	v->reason = i % 2 ? VERDICT_EXPIRED : VERDICT_OK;
	v->has_identity = 1;
	snprintf(v->id.subject, sizeof(v->id.subject), "CN=key-%u", i);
	snprintf(v->id.issuer, sizeof(v->id.issuer), "CN=issuer-%u", i);
	snprintf(v->id.serial, sizeof(v->id.serial), "%08X", i);
	snprintf(v->detail, sizeof(v->detail), "detail %u", i);
	v->id.not_before = (time_t)i;
	v->id.not_after = (time_t)i + 1000;
}

static void
test_copy(void)
{
	unsigned char	 k1[IDENTITY_SHA256_LEN], k2[IDENTITY_SHA256_LEN];
	struct verdict	 v, out;
	struct cache	*c = cache_new(100);
	char		 fp[IDENTITY_FP_MAX];
	int		 hit;

	key_of(1, k1);
	key_of(2, k2);
	memset(&v, 0, sizeof(v));
	v.reason = VERDICT_WRONG_PURPOSE;
	v.has_identity = 1;
	v.cached = 0;
	snprintf(v.id.subject, sizeof(v.id.subject), "CN=alice,O=Example Corp");
	snprintf(v.id.issuer, sizeof(v.id.issuer), "CN=Intermediate,O=T");
	snprintf(v.id.serial, sizeof(v.id.serial), "7A3B00FF");
	snprintf(v.id.fingerprint, sizeof(v.id.fingerprint), "not-the-key");
	snprintf(v.detail, sizeof(v.detail), "unsuitable certificate purpose");
	v.id.not_before = 1700000000;
	v.id.not_after = 1800000000;
	cache_store(c, k1, G(7), 2000, &v);
	CHECK(cache_count(c) == 1, "count after one store: %zu", cache_count(c));

	memset(&out, 'Z', sizeof(out));	/* every string must be rewritten */
	hit = cache_lookup(c, k1, G(7), 1000, &out);
	identity_hex(k1, fp);
	CHECK(hit == 1, "lookup of a stored key: expected hit");
	if (hit) {
		CHECK(out.reason == VERDICT_WRONG_PURPOSE && out.has_identity == 1 &&
		    out.cached == 1, "reason %d has_identity %d cached %d",
		    (int)out.reason, out.has_identity, out.cached);
		CHECK(strcmp(out.id.subject, v.id.subject) == 0,
		    "subject: expected %s, got %s", v.id.subject,
		    t_show(out.id.subject, strnlen(out.id.subject, 64)));
		CHECK(strcmp(out.id.issuer, v.id.issuer) == 0,
		    "issuer: expected %s, got %s", v.id.issuer,
		    t_show(out.id.issuer, strnlen(out.id.issuer, 64)));
		CHECK(strcmp(out.id.serial, v.id.serial) == 0,
		    "serial: expected %s, got %s", v.id.serial,
		    t_show(out.id.serial, strnlen(out.id.serial, 64)));
		CHECK(strcmp(out.detail, v.detail) == 0,
		    "detail: expected %s, got %s", v.detail,
		    t_show(out.detail, strnlen(out.detail, 64)));
		CHECK(strcmp(out.id.fingerprint, fp) == 0,
		    "fingerprint: expected hex of the key %s, got %s", fp,
		    t_show(out.id.fingerprint, strnlen(out.id.fingerprint, 80)));
		CHECK(out.id.not_before == 1700000000 &&
		    out.id.not_after == 1800000000, "validity: got %lld..%lld",
		    (long long)out.id.not_before, (long long)out.id.not_after);
	}
	CHECK(cache_lookup(c, k2, G(7), 1000, &out) == 0,
	    "lookup of another key: expected miss");

	/* the stored verdict was copied: changing ours changes nothing */
	snprintf(v.id.subject, sizeof(v.id.subject), "CN=mallory");
	CHECK(cache_lookup(c, k1, G(7), 1000, &out) == 1 &&
	    strcmp(out.id.subject, "CN=alice,O=Example Corp") == 0,
	    "store copies: got %s", out.id.subject);

	/* the longest strings a verdict holds come back whole */
	memset(&v, 0, sizeof(v));
	memset(v.id.subject, 's', sizeof(v.id.subject) - 1);
	memset(v.id.issuer, 'i', sizeof(v.id.issuer) - 1);
	memset(v.id.serial, 'F', sizeof(v.id.serial) - 1);
	memset(v.detail, 'd', sizeof(v.detail) - 1);
	cache_store(c, k2, G(7), 2000, &v);
	memset(&out, 0, sizeof(out));
	CHECK(cache_lookup(c, k2, G(7), 1000, &out) == 1 &&
	    strcmp(out.id.subject, v.id.subject) == 0 &&
	    strcmp(out.id.issuer, v.id.issuer) == 0 &&
	    strcmp(out.id.serial, v.id.serial) == 0 &&
	    strcmp(out.detail, v.detail) == 0,
	    "longest strings: lengths %zu %zu %zu %zu", strlen(out.id.subject),
	    strlen(out.id.issuer), strlen(out.id.serial), strlen(out.detail));
	cache_free(&c);
	CHECK(c == NULL, "cache_free sets the pointer to NULL");
}

static void
test_gen_expiry(void)
{
	static const struct {
		const char	*name;
		unsigned long	 gen;
		time_t		 now;
		int		 hit;
		int		 kept;	/* entry still there afterwards */
	} cases[] = {
		{ "same gen, before expiry", 5, 1999, 1, 1 },
		{ "same gen, long before", 5, 0, 1, 1 },
		{ "same gen, at expiry (exclusive)", 5, 2000, 0, 0 },
		{ "same gen, after expiry", 5, 5000, 0, 0 },
		{ "older gen", 4, 1000, 0, 0 },
		{ "newer gen", 6, 1000, 0, 0 },
		{ "gen 0", 0, 1000, 0, 0 },
	};
	unsigned char	 k[IDENTITY_SHA256_LEN];
	struct verdict	 v, out;
	struct cache	*c = cache_new(10);
	size_t		 i;
	int		 hit;

	key_of(42, k);
	verdict_of(42, &v);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cache_clear(c);
		cache_store(c, k, G(5), 2000, &v);
		hit = cache_lookup(c, k, G(cases[i].gen), cases[i].now, &out);
		CHECK(hit == cases[i].hit, "%s (gen %lu, now %lld; stored gen 5 "
		    "until 2000): expected %s, got %s", cases[i].name,
		    cases[i].gen, (long long)cases[i].now,
		    cases[i].hit ? "hit" : "miss", hit ? "hit" : "miss");
		CHECK(cache_count(c) == (size_t)cases[i].kept,
		    "%s: expected %d entries after the lookup, got %zu",
		    cases[i].name, cases[i].kept, cache_count(c));
		/* a dropped entry stays dropped, even for the right gen */
		hit = cache_lookup(c, k, G(5), 1000, &out);
		CHECK(hit == cases[i].kept, "%s: then gen 5 at 1000: expected %s",
		    cases[i].name, cases[i].kept ? "hit" : "miss");
	}
	cache_free(&c);
}

/*
 * Generations are compared field by field: any part that differs is a
 * miss, including pairs whose parts would cancel out if they were mixed
 * into one number (snapshot 1, ocsp 0 against snapshot 0, ocsp 1).
 */
static void
test_gen_fields(void)
{
	static const struct {
		const char		*name;
		struct cache_gen	 gen;
		int			 hit;
	} cases[] = {
		{ "all three equal", { 3, 7, 11 }, 1 },
		{ "snapshot differs", { 4, 7, 11 }, 0 },
		{ "crl_fetch differs", { 3, 8, 11 }, 0 },
		{ "ocsp differs", { 3, 7, 12 }, 0 },
		{ "snapshot and ocsp swapped", { 11, 7, 3 }, 0 },
		{ "crl_fetch and ocsp swapped", { 3, 11, 7 }, 0 },
	};
	const struct cache_gen	 stored = { 3, 7, 11 };
	unsigned char		 k[IDENTITY_SHA256_LEN];
	struct verdict		 v, out;
	struct cache		*c = cache_new(10);
	size_t			 i;
	int			 hit;

	key_of(43, k);
	verdict_of(43, &v);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cache_clear(c);
		cache_store(c, k, &stored, 2000, &v);
		hit = cache_lookup(c, k, &cases[i].gen, 1000, &out);
		CHECK(hit == cases[i].hit, "%s: stored {3,7,11}, asked {%lu,%lu,"
		    "%lu}: expected %s", cases[i].name, cases[i].gen.snapshot,
		    cases[i].gen.crl_fetch, cases[i].gen.ocsp,
		    cases[i].hit ? "hit" : "miss");
	}
	cache_free(&c);
}

static void
test_capacity(void)
{
	static const struct {
		size_t		 capacity;
		unsigned int	 stores;
		unsigned int	 recent;	/* this many last keys must hit */
	} cases[] = {
		{ 64, 10000, 1 },
		{ 1, 10000, 1 },
		{ 100, 10000, 1 },
		{ 6400, 10000, 100 },
		{ 100000, 10000, 10000 },
	};
	unsigned char	 k[IDENTITY_SHA256_LEN];
	struct verdict	 v, out;
	struct cache	*c;
	size_t		 i, bound, n;
	unsigned int	 j, misses, early;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		c = cache_new(cases[i].capacity);
		for (j = 0; j < cases[i].stores; j++) {
			key_of(j, k);
			verdict_of(j, &v);
			cache_store(c, k, G(1), 10000, &v);
		}
		/* cache.c gives each of 64 shards ceil(capacity / 64) */
		bound = SHARDS * ((cases[i].capacity + SHARDS - 1) / SHARDS);
		n = cache_count(c);
		CHECK(n <= bound && n <= cases[i].stores,
		    "cache_new(%zu), %u stores: expected count <= %zu, got %zu",
		    cases[i].capacity, cases[i].stores, bound, n);
		for (misses = 0, j = cases[i].stores - cases[i].recent;
		    j < cases[i].stores; j++) {
			key_of(j, k);
			if (!cache_lookup(c, k, G(1), 0, &out) ||
			    strcmp(out.id.subject, (verdict_of(j, &v),
			    v.id.subject)) != 0)
				misses++;
		}
		CHECK(misses == 0, "cache_new(%zu): %u of the last %u keys "
		    "missed", cases[i].capacity, misses, cases[i].recent);
		if (bound < cases[i].stores / 2) {
			for (early = 0, j = 0; j < 100; j++) {
				key_of(j, k);
				early += (unsigned int)cache_lookup(c, k, G(1), 0,
				    &out);
			}
			CHECK(early == 0, "cache_new(%zu): %u of the first 100 "
			    "keys still cached", cases[i].capacity, early);
		}
		cache_free(&c);
	}
}

/* least recently used goes first, and a lookup makes an entry recent */
static void
test_lru(void)
{
	unsigned char	 a[IDENTITY_SHA256_LEN], b[IDENTITY_SHA256_LEN];
	unsigned char	 d[IDENTITY_SHA256_LEN], e[IDENTITY_SHA256_LEN];
	struct verdict	 v, out;
	struct cache	*c = cache_new(2 * SHARDS);	/* 2 per shard */

	key_in_shard(0, 1, a);
	key_in_shard(0, 2, b);
	key_in_shard(0, 3, d);
	key_in_shard(1, 4, e);	/* another shard */
	verdict_of(1, &v);
	cache_store(c, a, G(1), 100, &v);
	cache_store(c, b, G(1), 100, &v);
	cache_store(c, e, G(1), 100, &v);
	CHECK(cache_lookup(c, a, G(1), 0, &out) == 1, "a before eviction: miss");
	cache_store(c, d, G(1), 100, &v);	/* evicts b, the least recent */
	CHECK(cache_lookup(c, b, G(1), 0, &out) == 0,
	    "LRU: b (least recently used) expected evicted, still there");
	CHECK(cache_lookup(c, a, G(1), 0, &out) == 1,
	    "LRU: a (looked up) expected kept, missed");
	CHECK(cache_lookup(c, d, G(1), 0, &out) == 1, "LRU: d (newest) missed");
	CHECK(cache_lookup(c, e, G(1), 0, &out) == 1,
	    "LRU: e (other shard) evicted by a full shard");
	CHECK(cache_count(c) == 3, "LRU: expected 3 entries, got %zu",
	    cache_count(c));
	cache_free(&c);
}

static void
test_replace_clear_null(void)
{
	unsigned char	 k[IDENTITY_SHA256_LEN];
	struct verdict	 v, out;
	struct cache	*c = cache_new(1000), *none;
	unsigned int	 j;

	key_of(7, k);
	verdict_of(7, &v);
	snprintf(v.id.subject, sizeof(v.id.subject), "CN=old");
	v.reason = VERDICT_OK;
	cache_store(c, k, G(1), 100, &v);
	snprintf(v.id.subject, sizeof(v.id.subject), "CN=newer subject");
	v.reason = VERDICT_UNTRUSTED;
	cache_store(c, k, G(2), 200, &v);
	CHECK(cache_count(c) == 1, "replace: expected 1 entry, got %zu",
	    cache_count(c));
	CHECK(cache_lookup(c, k, G(2), 150, &out) == 1 &&
	    out.reason == VERDICT_UNTRUSTED &&
	    strcmp(out.id.subject, "CN=newer subject") == 0,
	    "replace: expected the new verdict (gen 2, until 200), got "
	    "reason %d subject %s", (int)out.reason, out.id.subject);

	for (j = 0; j < 500; j++) {
		key_of(j + 1000, k);
		cache_store(c, k, G(1), 100, &v);
	}
	CHECK(cache_count(c) > 0, "before clear: empty");
	cache_clear(c);
	CHECK(cache_count(c) == 0, "clear: expected 0, got %zu",
	    cache_count(c));
	key_of(1000, k);
	CHECK(cache_lookup(c, k, G(1), 0, &out) == 0, "clear: key still hits");
	cache_store(c, k, G(1), 100, &v);
	CHECK(cache_lookup(c, k, G(1), 0, &out) == 1, "usable after clear");
	cache_free(&c);
	cache_free(&c);		/* NULL: no-op */

	none = cache_new(0);
	CHECK(none == NULL, "cache_new(0): expected NULL");
	CHECK(cache_lookup(NULL, k, G(1), 0, &out) == 0, "NULL lookup: hit");
	cache_store(NULL, k, G(1), 100, &v);
	cache_clear(NULL);
	CHECK(cache_count(NULL) == 0, "NULL count");
	cache_free(&none);
	CHECK(none == NULL, "cache_free(&NULL)");
}

/* threads */

#define NTHREADS	 4
#define NOPS		 20000
#define NKEYS		 1000

struct worker {
	struct cache	*c;
	unsigned int	 seed;
	unsigned int	 bad;	/* hits that did not match their key */
	unsigned int	 hits;
};

static void *
work(void *arg)
{
	struct worker	*w = arg;
	unsigned char	 k[IDENTITY_SHA256_LEN];
	struct verdict	 v, out;
	char		 want[64];
	unsigned int	 i, r, id;

	for (i = 0; i < NOPS; i++) {
		r = (w->seed = w->seed * 1103515245u + 12345u) >> 8;
		id = r % NKEYS;
		key_of(id, k);
		switch (r % 100) {
		case 0:
			cache_clear(w->c);
			break;
		case 1:
		case 2:
			(void)cache_count(w->c);
			break;
		default:
			if (r % 3 == 0) {
				verdict_of(id, &v);
				cache_store(w->c, k, G(1 + (r >> 20) % 2),
				    (time_t)1000 + (time_t)(r % 100), &v);
			} else if (cache_lookup(w->c, k, G(1), (time_t)(r % 1050),
			    &out)) {
				w->hits++;
				snprintf(want, sizeof(want), "CN=key-%u", id);
				if (strcmp(out.id.subject, want) != 0 ||
				    out.id.not_before != (time_t)id)
					w->bad++;
			}
		}
	}
	return NULL;
}

static void
test_threads(void)
{
	struct worker	 w[NTHREADS];
	pthread_t	 th[NTHREADS];
	struct cache	*c = cache_new(256);
	unsigned int	 bad = 0, hits = 0;
	int		 i, started = 0;

	for (i = 0; i < NTHREADS; i++) {
		w[i].c = c;
		w[i].seed = (unsigned int)i * 7919u + 1;
		w[i].bad = w[i].hits = 0;
		if (pthread_create(&th[i], NULL, work, &w[i]) == 0)
			started++;
	}
	CHECK(started == NTHREADS, "started %d of %d threads", started,
	    NTHREADS);
	for (i = 0; i < started; i++) {
		pthread_join(th[i], NULL);
		bad += w[i].bad;
		hits += w[i].hits;
	}
	CHECK(bad == 0, "threads: %u of %u hits returned another key's "
	    "verdict", bad, hits);
	CHECK(hits > 0, "threads: no hit at all in %d ops", NTHREADS * NOPS);
	CHECK(cache_count(c) <= 256, "threads: count %zu above capacity",
	    cache_count(c));
	cache_free(&c);
}

int
main(void)
{
	test_copy();
	test_gen_expiry();
	test_gen_fields();
	test_capacity();
	test_lru();
	test_replace_clear_null();
	test_threads();
	return t_done();
}
