/*
 * fuzz_verified: a kept chain's record as authd reads it back from
 * data_dir (verified_decode), the leaf's facts as the CRL checks read them
 * (crl_cert_init_kept: serial, CA or not, distribution points), and the
 * leaf verified_leaf makes of it for OCSP, used as revocation uses it (CA
 * or not, distribution points, OCSP URLs, names, serial).  data_dir is authd's own (0700), but a damaged disk or another
 * version's record must be a miss, never a crash or a leak.
 *
 * An input that starts with the record's magic ("avr3") is a record.  Any
 * other is a splice into a valid record (made at start-up with
 * verified_encode from the fuzz PKI's certificates): byte 0 picks the
 * record, bytes 1-2 an offset in it, the rest overwrites from there (and
 * may run past its end), so the fuzzer reaches the DER fields at once.
 * The digest a record is checked against is the one at offset 4 of the
 * input itself: the digest check is not what is fuzzed.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "cache.h"
#include "crlmeta.h"
#include "identity.h"
#include "verified.h"
#include "fuzz_pki.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SEEDS	 3

static X509		*issuer;
static unsigned char	 seed[SEEDS][VERIFIED_RECORD_MAX];
static size_t		 seedlen[SEEDS];
static unsigned char	 rec[VERIFIED_RECORD_MAX];
static unsigned char	 blob[CACHE_BLOB_MAX];

static void
fuzz_seed(int i, const char *name, const unsigned char *fields, size_t flen)
{
	unsigned char		 digest[CHAIN_DIGEST_LEN], md[32];
	struct identity		 id;
	STACK_OF(X509)		*chain = sk_X509_new_null();
	X509			*leaf = fuzz_pki_cert(name);

	memset(digest, 0xa5, sizeof(digest));
	memset(&id, 0, sizeof(id));
	X509_digest(leaf, EVP_sha256(), md, NULL);
	if (chain == NULL || identity_extract(leaf, md, &id) != 0 ||
	    !sk_X509_push(chain, leaf) || !sk_X509_push(chain, issuer) ||
	    verified_encode(digest, &id, FUZZ_AT + 86400, leaf, chain, fields,
	    flen, seed[i], sizeof(seed[i]), &seedlen[i]) != 0)
		abort();
	X509_up_ref(issuer);
	sk_X509_pop_free(chain, X509_free);
}

static void
fuzz_init(void)
{
	static const unsigned char fields[] = "subject.CN\0leaf";

	issuer = fuzz_pki_cert("ca.pem");
	fuzz_seed(0, "leaf.pem", NULL, 0);
	fuzz_seed(1, "revoked.pem", fields, sizeof(fields));
	fuzz_seed(2, "ca.pem", NULL, 0);	/* a CA as the leaf */
}

/* Use the leaf the way CRL and OCSP checks do. */
static void
fuzz_use(X509 *x)
{
	STACK_OF(DIST_POINT)		*cdp;
	STACK_OF(OPENSSL_STRING)	*urls;
	char				 dn[IDENTITY_DN_MAX], serial[128];

	(void)X509_check_ca(x);
	(void)X509_get_key_usage(x);
	cdp = X509_get_ext_d2i(x, NID_crl_distribution_points, NULL, NULL);
	sk_DIST_POINT_pop_free(cdp, DIST_POINT_free);
	cdp = X509_get_ext_d2i(x, NID_freshest_crl, NULL, NULL);
	sk_DIST_POINT_pop_free(cdp, DIST_POINT_free);
	urls = X509_get1_ocsp(x);
	X509_email_free(urls);
	identity_dn(X509_get_subject_name(x), dn, sizeof(dn));
	identity_dn(X509_get_issuer_name(x), dn, sizeof(dn));
	identity_serial(X509_get0_serialNumber(x), serial, sizeof(serial));
	(void)X509_cmp_time(X509_get0_notAfter(x), NULL);
}

/* The record's leaf as the CRL checks read it (crl_cert_init_kept). */
static void
fuzz_crl_facts(const struct verified *v)
{
	STACK_OF(X509)		*chain;
	STACK_OF(DIST_POINT)	*cdp;
	struct crl_leaf		 kl;
	struct crl_cert		 c;
	char			 serial[128];
	int			 i;

	kl.serial_der = v->serial_der;
	kl.serial_len = v->serial_len;
	kl.cdp_der = v->cdp_der;
	kl.cdp_len = v->cdp_len;
	kl.ca = v->leaf_ca;
	kl.subject = v->id.subject;
	if ((chain = sk_X509_new_null()) == NULL ||
	    !sk_X509_push(chain, NULL) || !sk_X509_push(chain, issuer)) {
		sk_X509_free(chain);
		return;
	}
	if (crl_cert_init_kept(&c, chain, &kl) == 0) {
		identity_serial(c.serial, serial, sizeof(serial));
		cdp = crl_cert_cdp(&c);
		for (i = 0; i < sk_DIST_POINT_num(cdp); i++)
			(void)sk_DIST_POINT_value(cdp, i)->reasons;
	}
	crl_cert_cleanup(&c);
	sk_X509_free(chain);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct verified	 v;
	const uint8_t	*r = data;
	size_t		 len = size, off;
	X509		*x;

	if (issuer == NULL)
		fuzz_init();
	if (size > sizeof(rec))
		return 0;
	if (size < 4 || memcmp(data, "avr3", 4) != 0) {
		if (size < 3)
			return 0;
		memcpy(rec, seed[data[0] % SEEDS], seedlen[data[0] % SEEDS]);
		len = seedlen[data[0] % SEEDS];
		off = ((size_t)data[1] << 8 | data[2]) % (len + 1);
		if (off + size - 3 > sizeof(rec))
			return 0;
		memcpy(rec + off, data + 3, size - 3);
		if (off + size - 3 > len)
			len = off + size - 3;
		r = rec;
	}
	if (len < 4 + CHAIN_DIGEST_LEN)
		return 0;
	if (!verified_decode(r, len, r + 4, FUZZ_AT, &v, blob, sizeof(blob)))
		return 0;
	fuzz_crl_facts(&v);
	if ((x = verified_leaf(&v, issuer)) != NULL) {
		fuzz_use(x);
		X509_free(x);
	}
	ERR_clear_error();
	return 0;
}
