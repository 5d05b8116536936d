/*
 * verified.c: chains verified, kept in LMDB across restarts (verified.h).
 *
 * The record, integers little-endian:
 *
 *   u32 VERIFIED_MAGIC		the format; another is a miss
 *   u8  digest[32]		the snapshot's verified_digest
 *   i64 chain_until, not_before, not_after
 *   u8  nissuers, then nissuers SHA-1 fingerprints (20 bytes each)
 *   u16 subject length, subject; u16 issuer length, issuer
 *   u8  serial length, serial
 *   u32 blob length, blob	(identity fields; 0: none)
 *   u8  the leaf's version (0: v1, 2: v3)
 *   u8  X509_check_ca of the leaf (0: not a CA; 1 to 5: OpenSSL's why)
 *   u8  serial length, serial	(DER INTEGER, as in the certificate)
 *   u16 subject length, subject	(DER Name, as in the certificate)
 *   u16 issuer length, issuer	(DER Name, the certificate's issuer field)
 *   u16 extensions length, extensions (DER Extensions: the leaf's
 *	 VERIFIED_LEAF_EXTS, in its order; 0: none of them)
 *   u16 distribution points length, distribution points (DER
 *	 CRLDistributionPoints as OpenSSL reads the leaf's; 0: none)
 *
 * Lengths are checked against the record's size and the identity's bounds
 * when read: a damaged record is a miss, never a verdict.
 *
 * The last eight are what revocation reads of a leaf (RFC 5280 6.3 and RFC
 * 6960): its serial and issuer, its CRL distribution points and freshest
 * CRL, whether it is a CA, its OCSP URLs, its notAfter; parsing the whole
 * leaf costs 100 us with OpenSSL 3.0 (its key, names and every extension).
 * The CRL checks read the serial, the CA flag and the distribution points
 * as they are (crlmeta.h's struct crl_leaf; the issuer's name is the
 * subject of the issuer the chain was built on).  For OCSP, verified_leaf
 * makes a certificate of them alone: its issuer field the leaf's (the
 * CertID hashes its bytes), its validity the record's.  It carries no key and no signature and is never
 * verified, nor is it shown to the policy: the record's fields are.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "cache.h"
#include "log.h"
#include "metrics.h"
#include "store.h"
#include "verified.h"

#define VERIFIED_MAGIC	 0x33727661u	/* "avr3" */
#define VERIFIED_FIXED	 (4 + CHAIN_DIGEST_LEN + 3 * 8 + 1)
#define VERIFIED_SERIAL_DER_MAX	 64	/* RFC 5280: 20 octets; some more */
#define VERIFIED_NAME_DER_MAX	 2048
#define VERIFIED_EXTS_DER_MAX	 4096
#define VERIFIED_REC_MAX (VERIFIED_FIXED + VERIFIED_ISSUERS_MAX * \
			    CHAIN_SHA1_LEN + 2 * (2 + IDENTITY_DN_MAX) + 1 + \
			    IDENTITY_SERIAL_MAX + 4 + CACHE_BLOB_MAX + 1 + \
			    2 + VERIFIED_SERIAL_DER_MAX + \
			    2 + VERIFIED_NAME_DER_MAX + 2 + VERIFIED_NAME_DER_MAX + \
			    2 + VERIFIED_EXTS_DER_MAX + \
			    2 + VERIFIED_EXTS_DER_MAX)

_Static_assert(VERIFIED_REC_MAX <= VERIFIED_RECORD_MAX,
    "VERIFIED_RECORD_MAX (verified.h) is below the largest record");

/* The extensions of a leaf that revocation reads (see above). */
static const int verified_leaf_exts[] = {
	NID_basic_constraints, NID_key_usage, NID_crl_distribution_points,
	NID_freshest_crl, NID_info_access, NID_authority_key_identifier,
	NID_subject_key_identifier,
};

static struct store		*verified_store;
static store_set_t		 verified_dbi;
static size_t			 verified_max;
static atomic_size_t		 verified_count;
static atomic_int		 verified_full_said;
static atomic_ullong		 verified_hits, verified_writes;
static _Thread_local unsigned char verified_buf[VERIFIED_REC_MAX];

struct verified_wr {
	unsigned char	*p;
	size_t		 off, cap;
	int		 overflow;
};

static void
wr_bytes(struct verified_wr *w, const void *b, size_t n)
{
	if (w->overflow || n > w->cap - w->off) {
		w->overflow = 1;
		return;
	}
	memcpy(w->p + w->off, b, n);
	w->off += n;
}

static void
wr_uint(struct verified_wr *w, uint64_t v, size_t n)
{
	unsigned char	 b[8];
	size_t		 i;

	for (i = 0; i < n; i++)
		b[i] = (unsigned char)(v >> (8 * i));
	wr_bytes(w, b, n);
}

struct verified_rd {
	const unsigned char	*p;
	size_t			 off, len;
	int			 short_read;
};

static const unsigned char *
rd_bytes(struct verified_rd *r, size_t n)
{
	const unsigned char	*b;

	if (r->short_read || n > r->len - r->off) {
		r->short_read = 1;
		return NULL;
	}
	b = r->p + r->off;
	r->off += n;
	return b;
}

static uint64_t
rd_uint(struct verified_rd *r, size_t n)
{
	const unsigned char	*b;
	uint64_t		 v = 0;
	size_t			 i;

	if ((b = rd_bytes(r, n)) == NULL)
		return 0;
	for (i = 0; i < n; i++)
		v |= (uint64_t)b[i] << (8 * i);
	return v;
}

/* A string of length n into out (cap bytes with its NUL): 0, or -1. */
static int
rd_str(struct verified_rd *r, size_t n, char *out, size_t cap)
{
	const unsigned char	*b;

	if (n >= cap || (b = rd_bytes(r, n)) == NULL ||
	    memchr(b, '\0', n) != NULL)
		return -1;
	memcpy(out, b, n);
	out[n] = '\0';
	return 0;
}

/* A record's format, digest and validity: the part a sweep reads too. */
static int
verified_head(struct verified_rd *r, const unsigned char **digest,
    time_t *chain_until)
{
	if (rd_uint(r, 4) != VERIFIED_MAGIC)
		return -1;
	*digest = rd_bytes(r, CHAIN_DIGEST_LEN);
	*chain_until = (time_t)(int64_t)rd_uint(r, 8);
	return r->short_read ? -1 : 0;
}

struct verified_sweep {
	const unsigned char	*digest;
	time_t			 now;
};

static int
verified_keep(const void *key, size_t klen, const void *val, size_t vlen,
    void *arg)
{
	const struct verified_sweep	*sw = arg;
	struct verified_rd		 r = { val, 0, vlen, 0 };
	const unsigned char		*digest;
	time_t				 until;

	(void)key;
	return klen == IDENTITY_SHA256_LEN &&
	    verified_head(&r, &digest, &until) == 0 &&
	    memcmp(digest, sw->digest, CHAIN_DIGEST_LEN) == 0 &&
	    until > sw->now;
}

static void
verified_metrics(struct metrics_buf *b, void *arg)
{
	size_t			 kept;
	unsigned long long	 hits, writes;

	(void)arg;
	verified_stats(&kept, &hits, &writes);
	metrics_head(b, "authd_verified_chains", "gauge",
	    "Verified chains kept in data_dir across restarts.");
	metrics_printf(b, "authd_verified_chains %zu\n", kept);
	metrics_head(b, "authd_verified_chain_hits_total", "counter",
	    "Chains taken from data_dir instead of verified again.");
	metrics_printf(b, "authd_verified_chain_hits_total %llu\n", hits);
	metrics_head(b, "authd_verified_chain_writes_total", "counter",
	    "Verified chains written to data_dir.");
	metrics_printf(b, "authd_verified_chain_writes_total %llu\n", writes);
}

void
verified_init(struct store *store, size_t max,
    const unsigned char digest[CHAIN_DIGEST_LEN], time_t now)
{
	struct verified_sweep	 sw = { digest, now };
	size_t			 n = 0, dropped;

	verified_shutdown();
	if (store == NULL || max == 0 ||
	    store_kv_open(store, "verified", &verified_dbi) != 0 ||
	    store_kv_count(store, verified_dbi, &n) != 0)
		return;
	if (n >= max - max / 10 && store_kv_sweep(store, verified_dbi,
	    verified_keep, &sw, &dropped) == 0) {
		log_info("verified chains: %zu kept, verified_cache_size %zu: "
		    "dropped %zu of another trust store or expired", n, max,
		    dropped);
		n -= dropped;
		if (n >= max - max / 10 && store_kv_sweep(store, verified_dbi,
		    NULL, NULL, &dropped) == 0) {
			log_info("verified chains: still nine tenths full: "
			    "dropped all %zu", dropped);
			n = 0;
		}
	}
	atomic_store(&verified_count, n);
	verified_max = max;
	verified_store = store;
	(void)metrics_register(verified_metrics, NULL);
}

void
verified_shutdown(void)
{
	if (verified_store != NULL)
		metrics_unregister(verified_metrics, NULL);
	verified_store = NULL;
	verified_max = 0;
	atomic_store(&verified_count, 0);
	atomic_store(&verified_full_said, 0);
}

int
verified_decode(const unsigned char *rec, size_t len,
    const unsigned char digest[CHAIN_DIGEST_LEN], time_t now,
    struct verified *out, unsigned char *buf, size_t cap)
{
	struct verified_rd	 r = { rec, 0, len, 0 };
	const unsigned char	*d, *b;
	size_t			 i, n;

	memset(out, 0, sizeof(*out));
	if (verified_head(&r, &d, &out->chain_until) != 0 ||
	    memcmp(d, digest, CHAIN_DIGEST_LEN) != 0)
		return 0;
	out->id.not_before = (time_t)(int64_t)rd_uint(&r, 8);
	out->id.not_after = (time_t)(int64_t)rd_uint(&r, 8);
	if (out->chain_until <= now || out->id.not_before > now)
		return 0;
	if ((n = (size_t)rd_uint(&r, 1)) > VERIFIED_ISSUERS_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if ((b = rd_bytes(&r, CHAIN_SHA1_LEN)) != NULL)
			memcpy(out->issuer_sha1[i], b, CHAIN_SHA1_LEN);
	out->nissuers = n;
	if (rd_str(&r, (size_t)rd_uint(&r, 2), out->id.subject,
	    sizeof(out->id.subject)) != 0 ||
	    rd_str(&r, (size_t)rd_uint(&r, 2), out->id.issuer,
	    sizeof(out->id.issuer)) != 0 ||
	    rd_str(&r, (size_t)rd_uint(&r, 1), out->id.serial,
	    sizeof(out->id.serial)) != 0)
		return 0;
	n = (size_t)rd_uint(&r, 4);
	if (n > cap || (b = rd_bytes(&r, n)) == NULL)
		return 0;
	if (n > 0) {
		memcpy(buf, b, n);
		out->blob = buf;
		out->bloblen = n;
	}
	out->leaf_version = (int)rd_uint(&r, 1);
	out->leaf_ca = (int)rd_uint(&r, 1);
	out->serial_len = (size_t)rd_uint(&r, 1);
	out->serial_der = rd_bytes(&r, out->serial_len);
	out->subject_len = (size_t)rd_uint(&r, 2);
	out->subject_der = rd_bytes(&r, out->subject_len);
	out->issuer_len = (size_t)rd_uint(&r, 2);
	out->issuer_der = rd_bytes(&r, out->issuer_len);
	out->exts_len = (size_t)rd_uint(&r, 2);
	out->exts_der = rd_bytes(&r, out->exts_len);
	out->cdp_len = (size_t)rd_uint(&r, 2);
	out->cdp_der = rd_bytes(&r, out->cdp_len);
	if (r.short_read || r.off != r.len || out->leaf_version > 2 ||
	    out->leaf_ca > 5 ||
	    out->serial_len == 0 || out->serial_len > VERIFIED_SERIAL_DER_MAX ||
	    out->subject_len > VERIFIED_NAME_DER_MAX ||
	    out->issuer_len > VERIFIED_NAME_DER_MAX ||
	    out->exts_len > VERIFIED_EXTS_DER_MAX ||
	    out->cdp_len > VERIFIED_EXTS_DER_MAX)
		return 0;
	return 1;
}

int
verified_get(const unsigned char digest[CHAIN_DIGEST_LEN],
    const unsigned char md[IDENTITY_SHA256_LEN], time_t now,
    struct verified *out, unsigned char *buf, size_t cap)
{
	size_t	 len;

	if (verified_store == NULL || store_kv_get(verified_store,
	    verified_dbi, md, IDENTITY_SHA256_LEN, verified_buf,
	    sizeof(verified_buf), &len) != 1 ||
	    !verified_decode(verified_buf, len, digest, now, out, buf, cap))
		return 0;
	identity_hex(md, out->id.fingerprint);
	atomic_fetch_add_explicit(&verified_hits, 1, memory_order_relaxed);
	return 1;
}

/*
 * The leaf's facts for revocation (see above) at the end of w: 0, or -1
 * when they are larger than a record keeps.
 */
static int
verified_put_leaf(struct verified_wr *w, X509 *leaf)
{
	STACK_OF(X509_EXTENSION)	*exts = NULL;
	STACK_OF(DIST_POINT)		*cdp = NULL;
	const unsigned char		*name;
	unsigned char			*der = NULL;
	size_t				 namelen, i;
	long				 version;
	int				 n, pos, rc = -1;

	version = X509_get_version(leaf);
	if (version < 0 || version > 2)
		return -1;
	wr_uint(w, (uint64_t)version, 1);
	wr_uint(w, (uint64_t)X509_check_ca(leaf), 1);
	if ((n = i2d_ASN1_INTEGER(X509_get0_serialNumber(leaf), &der)) <= 0 ||
	    n > VERIFIED_SERIAL_DER_MAX)
		goto end;
	wr_uint(w, (uint64_t)n, 1);
	wr_bytes(w, der, (size_t)n);
	OPENSSL_free(der);
	der = NULL;
	if (!X509_NAME_get0_der(X509_get_subject_name(leaf), &name, &namelen) ||
	    namelen > VERIFIED_NAME_DER_MAX)
		goto end;
	wr_uint(w, namelen, 2);
	wr_bytes(w, name, namelen);
	if (!X509_NAME_get0_der(X509_get_issuer_name(leaf), &name, &namelen) ||
	    namelen > VERIFIED_NAME_DER_MAX)
		goto end;
	wr_uint(w, namelen, 2);
	wr_bytes(w, name, namelen);
	if ((exts = sk_X509_EXTENSION_new_null()) == NULL)
		goto end;
	/* In the leaf's order: what OpenSSL finds first stays first. */
	for (pos = 0; pos < X509_get_ext_count(leaf); pos++)
		for (i = 0; i < sizeof(verified_leaf_exts) /
		    sizeof(verified_leaf_exts[0]); i++)
			if (OBJ_obj2nid(X509_EXTENSION_get_object(X509_get_ext(
			    leaf, pos))) == verified_leaf_exts[i] &&
			    !sk_X509_EXTENSION_push(exts, X509_get_ext(leaf,
			    pos)))
				goto end;
	n = 0;
	if (sk_X509_EXTENSION_num(exts) > 0 &&
	    ((n = i2d_X509_EXTENSIONS(exts, &der)) <= 0 ||
	    n > VERIFIED_EXTS_DER_MAX))
		goto end;
	wr_uint(w, (uint64_t)n, 2);
	if (n > 0)
		wr_bytes(w, der, (size_t)n);
	OPENSSL_free(der);
	der = NULL;
	/*
	 * The distribution points again, as OpenSSL decodes them (none when
	 * absent, doubled or unreadable): what the CRL checks match, read
	 * back without the other extensions (crl_cert_init_kept).
	 */
	n = 0;
	if ((cdp = X509_get_ext_d2i(leaf, NID_crl_distribution_points, NULL,
	    NULL)) != NULL && ((n = i2d_CRL_DIST_POINTS(cdp, &der)) <= 0 ||
	    n > VERIFIED_EXTS_DER_MAX))
		goto end;
	wr_uint(w, (uint64_t)n, 2);
	if (n > 0)
		wr_bytes(w, der, (size_t)n);
	rc = 0;
end:
	/* The stack holds the leaf's own extensions: not freed one by one. */
	sk_X509_EXTENSION_free(exts);
	sk_DIST_POINT_pop_free(cdp, DIST_POINT_free);
	OPENSSL_free(der);
	ERR_clear_error();
	return rc;
}

int
verified_encode(const unsigned char digest[CHAIN_DIGEST_LEN],
    const struct identity *id, time_t chain_until, X509 *leaf,
    STACK_OF(X509) *chain, const unsigned char *blob, size_t bloblen,
    unsigned char *buf, size_t cap, size_t *len)
{
	struct verified_wr	 w = { buf, 0, cap, 0 };
	unsigned char		 sha1[EVP_MAX_MD_SIZE];
	unsigned int		 sha1len;
	size_t			 n, i, subj, iss, ser;

	n = chain != NULL && sk_X509_num(chain) > 1 ?
	    (size_t)sk_X509_num(chain) - 1 : 0;
	subj = strlen(id->subject);
	iss = strlen(id->issuer);
	ser = strlen(id->serial);
	if (leaf == NULL || n > VERIFIED_ISSUERS_MAX || subj > UINT16_MAX ||
	    iss > UINT16_MAX || ser > UINT8_MAX)
		return -1;
	wr_uint(&w, VERIFIED_MAGIC, 4);
	wr_bytes(&w, digest, CHAIN_DIGEST_LEN);
	wr_uint(&w, (uint64_t)(int64_t)chain_until, 8);
	wr_uint(&w, (uint64_t)(int64_t)id->not_before, 8);
	wr_uint(&w, (uint64_t)(int64_t)id->not_after, 8);
	wr_uint(&w, n, 1);
	for (i = 0; i < n; i++) {
		if (!X509_digest(sk_X509_value(chain, (int)i + 1), EVP_sha1(),
		    sha1, &sha1len) || sha1len != CHAIN_SHA1_LEN) {
			ERR_clear_error();
			return -1;
		}
		wr_bytes(&w, sha1, CHAIN_SHA1_LEN);
	}
	wr_uint(&w, subj, 2);
	wr_bytes(&w, id->subject, subj);
	wr_uint(&w, iss, 2);
	wr_bytes(&w, id->issuer, iss);
	wr_uint(&w, ser, 1);
	wr_bytes(&w, id->serial, ser);
	wr_uint(&w, bloblen, 4);
	if (bloblen > 0)
		wr_bytes(&w, blob, bloblen);
	if (verified_put_leaf(&w, leaf) != 0 || w.overflow)
		return -1;
	*len = w.off;
	return 0;
}

void
verified_put(const unsigned char digest[CHAIN_DIGEST_LEN],
    const unsigned char md[IDENTITY_SHA256_LEN], const struct identity *id,
    time_t chain_until, X509 *leaf, STACK_OF(X509) *chain,
    const unsigned char *blob, size_t bloblen)
{
	size_t	 len;

	if (verified_store == NULL || leaf == NULL)
		return;
	if (atomic_fetch_add(&verified_count, 1) >= verified_max) {
		atomic_fetch_sub(&verified_count, 1);
		if (atomic_exchange(&verified_full_said, 1) == 0)
			log_warnx("verified chains: %zu kept, the most "
			    "verified_cache_size allows: new chains are not "
			    "kept across restarts until the next start, which "
			    "drops the stale ones", verified_max);
		return;
	}
	if (verified_encode(digest, id, chain_until, leaf, chain, blob,
	    bloblen, verified_buf, sizeof(verified_buf), &len) != 0 ||
	    store_kv_put_queued(verified_store, verified_dbi, md,
	    IDENTITY_SHA256_LEN, verified_buf, len) != 0) {
		atomic_fetch_sub(&verified_count, 1);
		return;
	}
	atomic_fetch_add_explicit(&verified_writes, 1, memory_order_relaxed);
}

STACK_OF(X509) *
verified_chain(const struct verified *v, X509 *leaf,
    const struct chain_store *store)
{
	STACK_OF(X509)	*sk;
	X509		*x;
	size_t		 i;

	if (v->nissuers == 0 || (sk = sk_X509_new_null()) == NULL)
		return NULL;
	if (!sk_X509_push(sk, leaf))
		goto fail;
	if (leaf != NULL)
		X509_up_ref(leaf);
	for (i = 0; i < v->nissuers; i++) {
		if ((x = chain_store_find(store, v->issuer_sha1[i])) == NULL ||
		    !sk_X509_push(sk, x))
			goto fail;
		X509_up_ref(x);
	}
	return sk;
fail:
	sk_X509_pop_free(sk, X509_free);
	return NULL;
}

X509 *
verified_leaf(const struct verified *v, X509 *issuer)
{
	STACK_OF(X509_EXTENSION)	*exts = NULL;
	ASN1_INTEGER			*serial = NULL;
	X509_NAME			*subject = NULL, *iname = NULL;
	const unsigned char		*p, *sder;
	X509				*x;
	size_t				 slen;
	int				 i, ok;

	if ((x = X509_new()) == NULL)
		return NULL;
	p = v->serial_der;
	ok = (serial = d2i_ASN1_INTEGER(NULL, &p, (long)v->serial_len)) !=
	    NULL && p == v->serial_der + v->serial_len;
	p = v->subject_der;
	ok = ok && (subject = d2i_X509_NAME(NULL, &p, (long)v->subject_len)) !=
	    NULL && p == v->subject_der + v->subject_len;
	/*
	 * Its issuer field as the leaf has it: an OCSP CertID hashes those
	 * bytes.  Almost always the issuer's subject, byte for byte: no
	 * decoding then.
	 */
	if (ok && (!X509_NAME_get0_der(X509_get_subject_name(issuer), &sder,
	    &slen) || slen != v->issuer_len ||
	    memcmp(sder, v->issuer_der, slen) != 0)) {
		p = v->issuer_der;
		ok = (iname = d2i_X509_NAME(NULL, &p, (long)v->issuer_len)) !=
		    NULL && p == v->issuer_der + v->issuer_len;
	}
	if (ok && v->exts_len > 0) {
		p = v->exts_der;
		ok = (exts = d2i_X509_EXTENSIONS(NULL, &p, (long)v->exts_len)) !=
		    NULL && p == v->exts_der + v->exts_len;
	}
	ok = ok && X509_set_version(x, v->leaf_version) &&
	    X509_set_serialNumber(x, serial) &&
	    X509_set_subject_name(x, subject) &&
	    X509_set_issuer_name(x, iname != NULL ? iname :
	    X509_get_subject_name(issuer)) &&
	    ASN1_TIME_set(X509_getm_notBefore(x), v->id.not_before) != NULL &&
	    ASN1_TIME_set(X509_getm_notAfter(x), v->id.not_after) != NULL;
	for (i = 0; ok && i < sk_X509_EXTENSION_num(exts); i++)
		ok = X509_add_ext(x, sk_X509_EXTENSION_value(exts, i), -1);
	ASN1_INTEGER_free(serial);
	X509_NAME_free(subject);
	X509_NAME_free(iname);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	/*
	 * OpenSSL decodes the extensions once, on first use, and computes the
	 * certificate's SHA-1 then: without a key and a signature this one has
	 * no encoding, so the first use says "invalid" (X509_check_ca 0 for a
	 * CA) and the later ones do not.  Make that first use here; the
	 * SHA-1 stays unset (EXFLAG_NO_FINGERPRINT: nothing compares it, the
	 * chain's issuers are the snapshot's own certificates).
	 */
	ok = ok && !(X509_get_extension_flags(x) & EXFLAG_INVALID);
	if (!ok) {
		ERR_clear_error();
		X509_free(x);
		return NULL;
	}
	return x;
}

void
verified_stats(size_t *kept, unsigned long long *hits,
    unsigned long long *writes)
{
	*kept = atomic_load(&verified_count);
	*hits = atomic_load(&verified_hits);
	*writes = atomic_load(&verified_writes);
}
