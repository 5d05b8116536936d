/*
 * verified.h: chains verified by this run or an earlier one, kept in LMDB
 * (data_dir) so that a restart costs no signature check and no certificate
 * parse for a certificate seen before.
 *
 * A record is keyed by the SHA-256 of the certificate's DER and holds what
 * the chain step found: the identity, how long every certificate of the
 * chain stays valid, the SHA-1 of each issuer up to the anchor (to rebuild
 * the chain from the snapshot's certificates when revocation needs it),
 * the identity fields the policy reads, and what revocation reads of the
 * leaf (so a kept chain with CRLs or OCSP is not parsed either).  It
 * answers only under a snapshot whose verified_digest (the trust store and
 * the certificate policy settings) is the one it was written under: a
 * changed trust store makes every record a miss.  Revocation and the policy are decided afresh
 * on every request, kept chain or not.
 *
 * Only chains that verified are kept, only from the trust store's own
 * certificates (never one with an issuer fetched from a caIssuers URL):
 * a client cannot add records with certificates of its own making.  The
 * table holds at most verified_cache_size records; at start-up, when it is
 * nine tenths full, records of another trust store or past their chain's
 * validity are dropped, and if that is not enough, all of them.  Once full
 * while serving, new chains are not kept until the next start.
 */
#ifndef AUTHD_VERIFIED_H
#define AUTHD_VERIFIED_H

#include <stddef.h>
#include <time.h>

#include <openssl/x509.h>

#include "chain.h"
#include "identity.h"

#define VERIFIED_ISSUERS_MAX	 CHAIN_PATH_DEPTH_MAX

struct verified {
	struct identity	 id;
	time_t		 chain_until;	/* every certificate valid until */
	size_t		 nissuers;	/* above the leaf, anchor last */
	unsigned char	 issuer_sha1[VERIFIED_ISSUERS_MAX][CHAIN_SHA1_LEN];
	const unsigned char *blob;	/* identity fields, or NULL */
	size_t		 bloblen;
	/*
	 * The leaf's facts for revocation (verified.c), pointing into the
	 * calling thread's record buffer: valid until its next verified_get.
	 */
	int		 leaf_version;
	int		 leaf_ca;	/* X509_check_ca of the leaf */
	const unsigned char *serial_der, *subject_der, *issuer_der, *exts_der;
	const unsigned char *cdp_der;
	size_t		 serial_len, subject_len, issuer_len, exts_len, cdp_len;
};

struct store;

/*
 * Use dbi "verified" of store (NULL: keep nothing), at most max records
 * (0: keep nothing), under digest (the current snapshot's
 * verified_digest): sweeps as said above.  Call once before serving.
 */
void	 verified_init(struct store *store, size_t max,
	    const unsigned char digest[CHAIN_DIGEST_LEN], time_t now);
void	 verified_shutdown(void);

/*
 * The record of the certificate md made under digest and valid at now, into
 * out (its blob copied to buf, at most cap bytes): 1, or 0 when there is
 * none that answers.
 */
int	 verified_get(const unsigned char digest[CHAIN_DIGEST_LEN],
	    const unsigned char md[IDENTITY_SHA256_LEN], time_t now,
	    struct verified *out, unsigned char *buf, size_t cap);

/*
 * Keep a chain that verified: id, chain_until, the leaf and chain (leaf to
 * anchor, or NULL when only the leaf is known), with the identity fields
 * blob (NULL when no policy reads them).  Queued: returns at once; failure
 * loses the record only.
 */
void	 verified_put(const unsigned char digest[CHAIN_DIGEST_LEN],
	    const unsigned char md[IDENTITY_SHA256_LEN],
	    const struct identity *id, time_t chain_until, X509 *leaf,
	    STACK_OF(X509) *chain, const unsigned char *blob, size_t bloblen);

/*
 * The record format itself (verified.c), for verified_get and verified_put
 * and for the fuzzer.  verified_decode: 1 when rec (len bytes) is a record
 * made under digest and valid at now, with out filled as verified_get
 * fills it but the fingerprint (out's leaf facts point into rec); 0 for
 * anything else.  verified_encode: the record of a chain into buf (cap
 * bytes), its length in *len: 0, or -1 when it does not fit or cannot be
 * made.
 */
#define VERIFIED_RECORD_MAX	 (96 * 1024)	/* the largest record */
int	 verified_decode(const unsigned char *rec, size_t len,
	    const unsigned char digest[CHAIN_DIGEST_LEN], time_t now,
	    struct verified *out, unsigned char *buf, size_t cap);
int	 verified_encode(const unsigned char digest[CHAIN_DIGEST_LEN],
	    const struct identity *id, time_t chain_until, X509 *leaf,
	    STACK_OF(X509) *chain, const unsigned char *blob, size_t bloblen,
	    unsigned char *buf, size_t cap, size_t *len);

/*
 * The leaf of a record as revocation reads it (verified.c: serial,
 * subject, its issuer field (issuer's subject when the same bytes),
 * validity, the extensions revocation reads; no key, no signature), from the record v that this
 * thread's last verified_get returned: a new certificate, or NULL.  Never
 * verify it or show it to the policy.
 */
X509	*verified_leaf(const struct verified *v, X509 *issuer);

/*
 * The chain of a record, rebuilt from leaf and the certificates of store
 * (their SHA-1): a new stack holding references, or NULL when the record
 * names none or one store lacks.  leaf may be NULL: the stack's first
 * certificate is NULL then (revocation reads the record's, crlmeta.h's
 * struct crl_leaf).
 */
STACK_OF(X509) *verified_chain(const struct verified *v, X509 *leaf,
	    const struct chain_store *store);

/* Records kept, answered and written since start (for /metrics). */
void	 verified_stats(size_t *kept, unsigned long long *hits,
	    unsigned long long *writes);

#endif
