/*
 * cache.h: the verdict cache, keyed by the SHA-256 of the certificate DER.
 *
 * Bounded (least recently used entries go first), sharded so that request
 * threads rarely wait on each other, and safe to use from any thread.  An
 * entry answers only while it is younger than its expiry and was made under
 * the current generation of the trust configuration.
 */
#ifndef AUTHD_CACHE_H
#define AUTHD_CACHE_H

#include <stddef.h>
#include <time.h>

#include "identity.h"
#include "verdict.h"

struct cache;

/*
 * What a cached verdict was decided under, compared field by field: the
 * snapshot published, the CRLs fetched from distribution points, and the
 * OCSP statuses (which change only when an answer says something else,
 * not on every refresh).
 */
struct cache_gen {
	unsigned long	 snapshot;
	unsigned long	 crl_fetch;
	unsigned long	 ocsp;
};

/*
 * A cache of about capacity verdicts (rounded up to a multiple of its 64
 * shards); NULL when capacity is 0 or memory is short.
 */
struct cache	*cache_new(size_t capacity);
void		 cache_free(struct cache **cache);

/*
 * Copy the verdict for key into out and return 1, or return 0.  Entries of
 * another generation or expired at now are dropped on the way.
 */
int		 cache_lookup(struct cache *cache,
		    const unsigned char key[IDENTITY_SHA256_LEN],
		    const struct cache_gen *gen, time_t now, struct verdict *out);

/* Remember v for key until expires (exclusive).  Failure only loses the entry. */
void		 cache_store(struct cache *cache,
		    const unsigned char key[IDENTITY_SHA256_LEN],
		    const struct cache_gen *gen, time_t expires, const struct verdict *v);

/*
 * The same, with an opaque blob kept next to the verdict (the policy's view
 * of the certificate).  An entry with a blob answers only a lookup that can
 * take it: blob != NULL and blobcap large enough; *bloblen gets its size
 * (0 for none).  Blobs larger than CACHE_BLOB_MAX are not cached.
 */
#define CACHE_BLOB_MAX	 (64 * 1024)
int		 cache_lookup_blob(struct cache *cache,
		    const unsigned char key[IDENTITY_SHA256_LEN],
		    const struct cache_gen *gen, time_t now, struct verdict *out,
		    void *blob, size_t blobcap, size_t *bloblen);
void		 cache_store_blob(struct cache *cache,
		    const unsigned char key[IDENTITY_SHA256_LEN],
		    const struct cache_gen *gen, time_t expires, const struct verdict *v,
		    const void *blob, size_t bloblen);

/* Drop every entry (after a trust reload, to free the memory at once). */
void		 cache_clear(struct cache *cache);
size_t		 cache_count(struct cache *cache);
/* Lookups that answered and that did not, since cache_new (for /metrics). */
void		 cache_stats(struct cache *cache, unsigned long long *hits,
		    unsigned long long *misses);

#endif
