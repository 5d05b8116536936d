/*
 * cache.c: sharded hash table with a least-recently-used list per shard.
 *
 * An entry packs the identity strings after its header, so a warm client
 * costs one small allocation when first seen and a short copy under one
 * shard lock afterwards.  The fingerprint is the key itself.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "metrics.h"

#define CACHE_SHARDS	 64

struct cache_entry {
	unsigned char		 key[IDENTITY_SHA256_LEN];
	struct cache_gen	 gen;
	time_t			 expires;
	time_t			 not_before, not_after;
	struct cache_entry	*hnext;		/* hash chain */
	struct cache_entry	*prev, *next;	/* LRU list, most recent first */
	unsigned char		 reason;
	unsigned char		 has_identity;
	unsigned char		 revsrc;	/* enum revocation_source */
	uint32_t		 rev_by;	/* verdict.rev_by */
	time_t			 rev_time;	/* verdict.rev_time */
	time_t			 reuse_until;	/* verdict.reuse_until */
	uint16_t		 len[4];	/* subject, issuer, serial, detail */
	uint32_t		 bloblen;	/* the caller's blob, after them */
	char			 data[];	/* the four strings, no NULs */
};

struct cache_shard {
	pthread_mutex_t		 lock;
	struct cache_entry	**buckets;
	size_t			 mask;
	struct cache_entry	*head, *tail;
	size_t			 count, cap;
	unsigned long long	 hits, misses;	/* under lock */
};

struct cache {
	struct cache_shard	 shards[CACHE_SHARDS];
};

static uint64_t
cache_hash(const unsigned char *key)
{
	uint64_t	 h;

	memcpy(&h, key, sizeof(h));	/* a SHA-256 is already uniform */
	return h;
}

/* The cache's series in a scrape (registered while the cache lives). */
static void
cache_metrics(struct metrics_buf *b, void *arg)
{
	struct cache		*c = arg;
	unsigned long long	 hits, misses;

	cache_stats(c, &hits, &misses);
	metrics_head(b, "authd_verdict_cache_hits_total", "counter",
	    "Verdict cache lookups that answered.");
	metrics_printf(b, "authd_verdict_cache_hits_total %llu\n", hits);
	metrics_head(b, "authd_verdict_cache_misses_total", "counter",
	    "Verdict cache lookups that did not (absent, expired, stale).");
	metrics_printf(b, "authd_verdict_cache_misses_total %llu\n", misses);
	metrics_head(b, "authd_verdict_cache_entries", "gauge",
	    "Verdicts in the cache.");
	metrics_printf(b, "authd_verdict_cache_entries %zu\n", cache_count(c));
}

struct cache *
cache_new(size_t capacity)
{
	struct cache	*c;
	size_t		 i, per, nb;

	if (capacity == 0 || (c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	per = (capacity + CACHE_SHARDS - 1) / CACHE_SHARDS;
	for (nb = 16; nb < per; nb <<= 1)
		;
	for (i = 0; i < CACHE_SHARDS; i++) {
		struct cache_shard *s = &c->shards[i];

		pthread_mutex_init(&s->lock, NULL);
		s->cap = per;
		s->mask = nb - 1;
		if ((s->buckets = calloc(nb, sizeof(*s->buckets))) == NULL) {
			cache_free(&c);
			return NULL;
		}
	}
	(void)metrics_register(cache_metrics, c);	/* full: not shown */
	return c;
}

static void
cache_unlink(struct cache_shard *s, struct cache_entry *e)
{
	struct cache_entry	**pp;

	for (pp = &s->buckets[(cache_hash(e->key) >> 6) & s->mask]; *pp != NULL;
	    pp = &(*pp)->hnext)
		if (*pp == e) {
			*pp = e->hnext;
			break;
		}
	if (e->prev != NULL)
		e->prev->next = e->next;
	else
		s->head = e->next;
	if (e->next != NULL)
		e->next->prev = e->prev;
	else
		s->tail = e->prev;
	s->count--;
	free(e);
}

static void
cache_shard_clear(struct cache_shard *s)
{
	while (s->head != NULL)
		cache_unlink(s, s->head);
}

void
cache_free(struct cache **pc)
{
	struct cache	*c = *pc;
	size_t		 i;

	if (c == NULL)
		return;
	metrics_unregister(cache_metrics, c);
	for (i = 0; i < CACHE_SHARDS; i++) {
		if (c->shards[i].buckets != NULL)
			cache_shard_clear(&c->shards[i]);
		free(c->shards[i].buckets);
		pthread_mutex_destroy(&c->shards[i].lock);
	}
	free(c);
	*pc = NULL;
}

static struct cache_entry *
cache_find(struct cache_shard *s, const unsigned char *key, uint64_t h)
{
	struct cache_entry	*e;

	for (e = s->buckets[(h >> 6) & s->mask]; e != NULL; e = e->hnext)
		if (memcmp(e->key, key, IDENTITY_SHA256_LEN) == 0)
			return e;
	return NULL;
}

static void
cache_copy_str(char *dst, size_t cap, const char *src, size_t len)
{
	if (len >= cap)
		len = cap - 1;
	memcpy(dst, src, len);
	dst[len] = '\0';
}

int
cache_lookup(struct cache *c, const unsigned char key[IDENTITY_SHA256_LEN],
    const struct cache_gen *gen, time_t now, struct verdict *out)
{
	return cache_lookup_blob(c, key, gen, now, out, NULL, 0, NULL);
}

int
cache_lookup_blob(struct cache *c, const unsigned char key[IDENTITY_SHA256_LEN],
    const struct cache_gen *gen, time_t now, struct verdict *out, void *blob,
    size_t blobcap, size_t *bloblen)
{
	struct cache_shard	*s;
	struct cache_entry	*e;
	uint64_t		 h = cache_hash(key);
	const char		*p;
	int			 hit = 0;

	if (c == NULL)
		return 0;
	s = &c->shards[h & (CACHE_SHARDS - 1)];
	pthread_mutex_lock(&s->lock);
	if ((e = cache_find(s, key, h)) == NULL)
		goto end;
	if (e->gen.snapshot != gen->snapshot ||
	    e->gen.crl_fetch != gen->crl_fetch || e->gen.ocsp != gen->ocsp ||
	    now >= e->expires) {
		cache_unlink(s, e);
		goto end;
	}
	if (e->bloblen > 0 && (blob == NULL || e->bloblen > blobcap))
		goto end;	/* the caller cannot take it: a miss */
	if (e != s->head) {		/* move to the front */
		e->prev->next = e->next;
		if (e->next != NULL)
			e->next->prev = e->prev;
		else
			s->tail = e->prev;
		e->prev = NULL;
		e->next = s->head;
		s->head->prev = e;
		s->head = e;
	}
	out->reason = (enum verdict_reason)e->reason;
	out->has_identity = e->has_identity;
	out->revocation = (enum revocation_source)e->revsrc;
	out->cached = 1;
	out->rev_time = e->rev_time;
	out->rev_by = e->rev_by;
	out->reuse_until = e->reuse_until;
	p = e->data;
	cache_copy_str(out->id.subject, sizeof(out->id.subject), p, e->len[0]);
	p += e->len[0];
	cache_copy_str(out->id.issuer, sizeof(out->id.issuer), p, e->len[1]);
	p += e->len[1];
	cache_copy_str(out->id.serial, sizeof(out->id.serial), p, e->len[2]);
	p += e->len[2];
	cache_copy_str(out->detail, sizeof(out->detail), p, e->len[3]);
	p += e->len[3];
	if (bloblen != NULL)
		*bloblen = e->bloblen;
	if (e->bloblen > 0)
		memcpy(blob, p, e->bloblen);
	out->id.not_before = e->not_before;
	out->id.not_after = e->not_after;
	identity_hex(e->key, out->id.fingerprint);
	hit = 1;
end:
	if (hit)
		s->hits++;
	else
		s->misses++;
	pthread_mutex_unlock(&s->lock);
	return hit;
}

void
cache_store(struct cache *c, const unsigned char key[IDENTITY_SHA256_LEN],
    const struct cache_gen *gen, time_t expires, const struct verdict *v)
{
	cache_store_blob(c, key, gen, expires, v, NULL, 0);
}

void
cache_store_blob(struct cache *c, const unsigned char key[IDENTITY_SHA256_LEN],
    const struct cache_gen *gen, time_t expires, const struct verdict *v,
    const void *blob, size_t bloblen)
{
	struct cache_shard	*s;
	struct cache_entry	*e, *old;
	const char		*strs[4];
	size_t			 lens[4], total = 0, i;
	uint64_t		 h = cache_hash(key);
	char			*p;

	if (c == NULL)
		return;
	strs[0] = v->id.subject;
	strs[1] = v->id.issuer;
	strs[2] = v->id.serial;
	strs[3] = v->detail;
	for (i = 0; i < 4; i++) {
		lens[i] = strnlen(strs[i], UINT16_MAX);
		total += lens[i];
	}
	if (bloblen > CACHE_BLOB_MAX ||
	    (e = malloc(sizeof(*e) + total + bloblen)) == NULL)
		return;
	memcpy(e->key, key, IDENTITY_SHA256_LEN);
	e->gen = *gen;
	e->expires = expires;
	e->not_before = v->id.not_before;
	e->not_after = v->id.not_after;
	e->reason = (unsigned char)v->reason;
	e->has_identity = (unsigned char)v->has_identity;
	e->rev_by = v->rev_by;
	e->rev_time = v->rev_time;
	e->reuse_until = v->reuse_until;
	e->revsrc = (unsigned char)v->revocation;
	for (p = e->data, i = 0; i < 4; i++) {
		e->len[i] = (uint16_t)lens[i];
		memcpy(p, strs[i], lens[i]);
		p += lens[i];
	}
	e->bloblen = (uint32_t)bloblen;
	if (bloblen > 0)
		memcpy(p, blob, bloblen);
	s = &c->shards[h & (CACHE_SHARDS - 1)];
	pthread_mutex_lock(&s->lock);
	if ((old = cache_find(s, key, h)) != NULL)
		cache_unlink(s, old);
	while (s->count >= s->cap && s->tail != NULL)
		cache_unlink(s, s->tail);
	e->hnext = s->buckets[(h >> 6) & s->mask];
	s->buckets[(h >> 6) & s->mask] = e;
	e->prev = NULL;
	e->next = s->head;
	if (s->head != NULL)
		s->head->prev = e;
	s->head = e;
	if (s->tail == NULL)
		s->tail = e;
	s->count++;
	pthread_mutex_unlock(&s->lock);
}

void
cache_clear(struct cache *c)
{
	size_t	 i;

	if (c == NULL)
		return;
	for (i = 0; i < CACHE_SHARDS; i++) {
		pthread_mutex_lock(&c->shards[i].lock);
		cache_shard_clear(&c->shards[i]);
		pthread_mutex_unlock(&c->shards[i].lock);
	}
}

size_t
cache_count(struct cache *c)
{
	size_t	 i, n = 0;

	if (c == NULL)
		return 0;
	for (i = 0; i < CACHE_SHARDS; i++) {
		pthread_mutex_lock(&c->shards[i].lock);
		n += c->shards[i].count;
		pthread_mutex_unlock(&c->shards[i].lock);
	}
	return n;
}

void
cache_stats(struct cache *c, unsigned long long *hits,
    unsigned long long *misses)
{
	size_t	 i;

	*hits = *misses = 0;
	if (c == NULL)
		return;
	for (i = 0; i < CACHE_SHARDS; i++) {
		pthread_mutex_lock(&c->shards[i].lock);
		*hits += c->shards[i].hits;
		*misses += c->shards[i].misses;
		pthread_mutex_unlock(&c->shards[i].lock);
	}
}
