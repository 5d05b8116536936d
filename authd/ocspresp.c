/*
 * ocspresp.c: the basic response inside an OCSP response, its certificates
 * parsed once for all the responses that carry them (ocspresp.h).
 *
 * OpenSSL 3.0 spends most of an OCSP response's parse in decoding the
 * public key of each certificate the response carries (its provider
 * decoders are looked up per key), and a responder sends the same
 * certificates, its delegated signer, with every answer.  So the
 * BasicOCSPResponse is split along its DER:
 *
 *   SEQUENCE { tbsResponseData, signatureAlgorithm, signature,
 *              [0] EXPLICIT SEQUENCE OF Certificate OPTIONAL }
 *
 * The first three are parsed by d2i as a BasicOCSPResponse without
 * certificates; each certificate is looked up by the SHA-256 of its DER
 * among the ones parsed before, else parsed and kept.  The signature covers
 * tbsResponseData alone, so verifying is unchanged.  What the split does
 * not read as plain DER is left to OpenSSL's own unpacking.
 *
 * And a responder's authority over an issuer, once OCSP_basic_verify has
 * established it, is remembered (ocspresp_signer_add, _known), so that its
 * next answers for that issuer cost one signature check, not three.
 */
#include <pthread.h>
#include <stdint.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include "identity.h"
#include "ocspresp.h"

struct ocspresp_cert {
	unsigned char	 md[IDENTITY_SHA256_LEN];
	X509		*x;		/* NULL: a free slot */
};

static pthread_mutex_t		 ocspresp_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ocspresp_cert	 ocspresp_certs[OCSPRESP_CERTS];
static size_t			 ocspresp_next;	/* the slot replaced next */

/*
 * The TLV at *p (before end) if it has this tag, class and form, in
 * definite length: returns its first byte and moves *p past it, body and
 * blen its contents; NULL otherwise.
 */
static const unsigned char *
ocspresp_tlv(const unsigned char **p, const unsigned char *end, int tag,
    int cls, int constructed, const unsigned char **body, long *blen)
{
	const unsigned char	*start = *p, *q = *p;
	long			 len;
	int			 t, c, r;

	if (start >= end)
		return NULL;
	r = ASN1_get_object(&q, &len, &t, &c, end - start);
	/* 0x80: an error or a length past end; 0x21: indefinite length */
	if ((r & 0x80) != 0 || r == 0x21 || t != tag || c != cls ||
	    ((r & V_ASN1_CONSTRUCTED) != 0) != (constructed != 0) ||
	    len > end - q)
		return NULL;
	*body = q;
	*blen = len;
	*p = q + len;
	return start;
}

/* A certificate's DER, parsed before or now; NULL when it is not one. */
static X509 *
ocspresp_cert(const unsigned char *der, long len)
{
	unsigned char		 md[IDENTITY_SHA256_LEN];
	const unsigned char	*p = der;
	struct ocspresp_cert	*slot;
	X509			*x = NULL;
	size_t			 i;

	if (identity_sha256(der, (size_t)len, md) != 0)
		return NULL;
	pthread_mutex_lock(&ocspresp_lock);
	for (i = 0; i < OCSPRESP_CERTS; i++)
		if (ocspresp_certs[i].x != NULL &&
		    memcmp(ocspresp_certs[i].md, md, sizeof(md)) == 0) {
			x = ocspresp_certs[i].x;
			X509_up_ref(x);
			break;
		}
	pthread_mutex_unlock(&ocspresp_lock);
	if (x != NULL)
		return x;
	if ((x = d2i_X509(NULL, &p, len)) == NULL || p != der + len) {
		X509_free(x);
		return NULL;
	}
	X509_up_ref(x);
	pthread_mutex_lock(&ocspresp_lock);
	slot = &ocspresp_certs[ocspresp_next];
	ocspresp_next = (ocspresp_next + 1) % OCSPRESP_CERTS;
	X509_free(slot->x);
	memcpy(slot->md, md, sizeof(md));
	slot->x = x;
	pthread_mutex_unlock(&ocspresp_lock);
	return x;
}

/* The BasicOCSPResponse at der (up to end), split as above. */
static OCSP_BASICRESP *
ocspresp_split_basic(const unsigned char *der, const unsigned char *end)
{
	const unsigned char	*p = der, *in, *inend, *b, *tbs, *alg, *sig;
	const unsigned char	*certs = NULL, *certsend = NULL, *c;
	unsigned char		*buf = NULL, *w;
	OCSP_BASICRESP		*bs = NULL;
	X509			*x;
	long			 blen, clen;
	int			 size, inner;

	if (ocspresp_tlv(&p, end, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL, 1, &in,
	    &blen) == NULL)
		return NULL;
	/* Bytes after it are ignored, as ASN1_item_unpack does. */
	inend = in + blen;
	p = in;
	if ((tbs = ocspresp_tlv(&p, inend, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL,
	    1, &b, &blen)) == NULL ||
	    (alg = ocspresp_tlv(&p, inend, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL,
	    1, &b, &blen)) == NULL ||
	    (sig = ocspresp_tlv(&p, inend, V_ASN1_BIT_STRING,
	    V_ASN1_UNIVERSAL, 0, &b, &blen)) == NULL)
		return NULL;
	inner = (int)(p - tbs);
	if (p < inend) {
		/* [0] EXPLICIT, holding exactly one SEQUENCE OF Certificate */
		if (ocspresp_tlv(&p, inend, 0, V_ASN1_CONTEXT_SPECIFIC, 1, &b,
		    &blen) == NULL || p != inend)
			return NULL;
		c = b;
		if (ocspresp_tlv(&c, b + blen, V_ASN1_SEQUENCE,
		    V_ASN1_UNIVERSAL, 1, &certs, &clen) == NULL ||
		    c != b + blen)
			return NULL;
		certsend = certs + clen;
	}
	/* SEQUENCE { tbsResponseData, signatureAlgorithm, signature } */
	if ((size = ASN1_object_size(1, inner, V_ASN1_SEQUENCE)) <= 0 ||
	    (buf = malloc((size_t)size)) == NULL)
		return NULL;
	w = buf;
	ASN1_put_object(&w, 1, inner, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL);
	memcpy(w, tbs, (size_t)inner);
	p = buf;
	bs = d2i_OCSP_BASICRESP(NULL, &p, size);
	if (bs != NULL && p != buf + size) {
		OCSP_BASICRESP_free(bs);
		bs = NULL;
	}
	free(buf);
	if (bs == NULL)
		return NULL;
	for (p = certs; p != NULL && p < certsend;) {
		if ((c = ocspresp_tlv(&p, certsend, V_ASN1_SEQUENCE,
		    V_ASN1_UNIVERSAL, 1, &b, &blen)) == NULL ||
		    (x = ocspresp_cert(c, p - c)) == NULL)
			goto fail;
		if (!OCSP_basic_add1_cert(bs, x)) {
			X509_free(x);
			goto fail;
		}
		X509_free(x);
	}
	return bs;
fail:
	OCSP_BASICRESP_free(bs);
	return NULL;
}

OCSP_BASICRESP *
ocspresp_split(const unsigned char *der, size_t len)
{
	const unsigned char	*p = der, *end = der + len, *in, *b, *rb;
	const unsigned char	*oid, *basic;
	const ASN1_OBJECT	*want = OBJ_nid2obj(NID_id_pkix_OCSP_basic);
	OCSP_BASICRESP		*bs;
	long			 blen, rblen, oidlen, basiclen;

	if (want == NULL || len > 0x7fffffff ||
	    ocspresp_tlv(&p, end, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL, 1, &in,
	    &blen) == NULL || p != end)
		return NULL;
	end = in + blen;
	p = in;
	/* responseStatus successful (0), then [0] EXPLICIT ResponseBytes */
	if (ocspresp_tlv(&p, end, V_ASN1_ENUMERATED, V_ASN1_UNIVERSAL, 0, &b,
	    &blen) == NULL || blen != 1 || b[0] != 0 ||
	    ocspresp_tlv(&p, end, 0, V_ASN1_CONTEXT_SPECIFIC, 1, &b,
	    &blen) == NULL || p != end)
		return NULL;
	p = b;
	end = b + blen;
	if (ocspresp_tlv(&p, end, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL, 1, &rb,
	    &rblen) == NULL || p != end)
		return NULL;
	p = rb;
	end = rb + rblen;
	if (ocspresp_tlv(&p, end, V_ASN1_OBJECT, V_ASN1_UNIVERSAL, 0, &oid,
	    &oidlen) == NULL || oidlen != (long)OBJ_length(want) ||
	    memcmp(oid, OBJ_get0_data(want), (size_t)oidlen) != 0 ||
	    ocspresp_tlv(&p, end, V_ASN1_OCTET_STRING, V_ASN1_UNIVERSAL, 0,
	    &basic, &basiclen) == NULL || p != end)
		return NULL;
	ERR_set_mark();
	bs = ocspresp_split_basic(basic, basic + basiclen);
	ERR_pop_to_mark();
	return bs;
}

/* A responder as ocspresp_signer_add recorded it. */
struct ocspresp_signer {
	X509		*signer;	/* NULL: a free slot */
	X509		*issuer;
	const void	*trust;
	unsigned long	 gen;
	time_t		 from, until;	/* both certificates valid */
	time_t		 expires;	/* OCSPRESP_SIGNER_TTL after it was added */
};

static struct ocspresp_signer	 ocspresp_signers[OCSPRESP_SIGNERS];
static size_t			 ocspresp_nextsigner;
static unsigned long		 ocspresp_hits;

/* Does the responder ID of bs name x?  (As OpenSSL's ocsp_find_signer.) */
static int
ocspresp_names(OCSP_BASICRESP *bs, X509 *x)
{
	const ASN1_OCTET_STRING	*key = NULL;
	const X509_NAME		*name = NULL;
	unsigned char		 md[SHA_DIGEST_LENGTH];
	unsigned int		 mdlen = 0;

	if (OCSP_resp_get0_id(bs, &key, &name) != 1)
		return 0;
	if (name != NULL)
		return X509_NAME_cmp(name, X509_get_subject_name(x)) == 0;
	return key != NULL && key->length == SHA_DIGEST_LENGTH &&
	    X509_pubkey_digest(x, EVP_sha1(), md, &mdlen) == 1 &&
	    mdlen == SHA_DIGEST_LENGTH &&
	    memcmp(key->data, md, SHA_DIGEST_LENGTH) == 0;
}

/*
 * Are all of bs's answers about certificates of issuer?  At least one, the
 * same issuer hashes in each, and those are issuer's: what OpenSSL's
 * issuer check asks of a response (ocsp_check_ids, ocsp_match_issuerid).
 */
static int
ocspresp_about(OCSP_BASICRESP *bs, X509 *issuer)
{
	const OCSP_CERTID	*id;
	OCSP_CERTID		*id0 = NULL;
	ASN1_OCTET_STRING	*nh = NULL, *kh = NULL;
	ASN1_OBJECT		*alg = NULL;
	EVP_MD			*dgst;
	unsigned char		 md[EVP_MAX_MD_SIZE];
	int			 i, n = OCSP_resp_count(bs), mdlen, ok;

	if (n <= 0)
		return 0;
	for (i = 0; i < n; i++) {
		if ((id = OCSP_SINGLERESP_get0_id(OCSP_resp_get0(bs, i))) ==
		    NULL)
			return 0;
		if (i == 0)	/* OCSP_id_get0_info takes it non-const */
			id0 = (OCSP_CERTID *)(uintptr_t)id;
		else if (OCSP_id_issuer_cmp(id0, id) != 0)
			return 0;
	}
	if (OCSP_id_get0_info(&nh, &alg, &kh, NULL, id0) != 1 ||
	    (dgst = EVP_MD_fetch(NULL, OBJ_nid2sn(OBJ_obj2nid(alg)),
	    NULL)) == NULL)
		return 0;
	mdlen = EVP_MD_get_size(dgst);
	ok = mdlen > 0 && nh->length == mdlen && kh->length == mdlen &&
	    X509_NAME_digest(X509_get_subject_name(issuer), dgst, md,
	    NULL) == 1 && memcmp(md, nh->data, (size_t)mdlen) == 0 &&
	    X509_pubkey_digest(issuer, dgst, md, NULL) == 1 &&
	    memcmp(md, kh->data, (size_t)mdlen) == 0;
	EVP_MD_free(dgst);
	return ok;
}

static X509 *
ocspresp_find(OCSP_BASICRESP *bs, const STACK_OF(X509) *sk)
{
	int	 i;

	for (i = 0; i < sk_X509_num(sk); i++)
		if (ocspresp_names(bs, sk_X509_value(sk, i)))
			return sk_X509_value(sk, i);
	return NULL;
}

/* The certificate OCSP_basic_verify(bs, certs, ...) takes as the signer. */
static X509 *
ocspresp_signer_of(OCSP_BASICRESP *bs, STACK_OF(X509) *certs)
{
	X509	*x;

	if ((x = ocspresp_find(bs, certs)) == NULL)
		x = ocspresp_find(bs, OCSP_resp_get0_certs(bs));
	return x;
}

void
ocspresp_signer_add(OCSP_BASICRESP *bs, STACK_OF(X509) *certs, X509 *issuer,
    const void *trust, unsigned long gen)
{
	struct ocspresp_signer	*e;
	X509			*signer;
	time_t			 nb[2], na[2];

	if ((signer = ocspresp_signer_of(bs, certs)) == NULL)
		return;
	if (identity_time(X509_get0_notBefore(signer), &nb[0]) != 0 ||
	    identity_time(X509_get0_notAfter(signer), &na[0]) != 0 ||
	    identity_time(X509_get0_notBefore(issuer), &nb[1]) != 0 ||
	    identity_time(X509_get0_notAfter(issuer), &na[1]) != 0)
		return;
	X509_up_ref(signer);
	X509_up_ref(issuer);
	pthread_mutex_lock(&ocspresp_lock);
	e = &ocspresp_signers[ocspresp_nextsigner];
	ocspresp_nextsigner = (ocspresp_nextsigner + 1) % OCSPRESP_SIGNERS;
	X509_free(e->signer);
	X509_free(e->issuer);
	e->signer = signer;
	e->issuer = issuer;
	e->trust = trust;
	e->gen = gen;
	e->from = nb[0] > nb[1] ? nb[0] : nb[1];
	e->until = na[0] < na[1] ? na[0] : na[1];
	e->expires = time(NULL) + OCSPRESP_SIGNER_TTL;
	pthread_mutex_unlock(&ocspresp_lock);
}

int
ocspresp_signer_known(OCSP_BASICRESP *bs, STACK_OF(X509) *certs,
    X509 *issuer, const void *trust, unsigned long gen, time_t at,
    X509 **signer)
{
	struct ocspresp_signer	*e;
	STACK_OF(X509)		*one = NULL;
	X509			*pick, *x = NULL;
	time_t			 now = time(NULL);
	size_t			 i;
	int			 ok;

	*signer = NULL;
	if ((pick = ocspresp_signer_of(bs, certs)) == NULL)
		return 0;
	pthread_mutex_lock(&ocspresp_lock);
	for (i = 0; i < OCSPRESP_SIGNERS && x == NULL; i++) {
		e = &ocspresp_signers[i];
		if (e->signer != NULL && e->trust == trust && e->gen == gen &&
		    now < e->expires && at >= e->from && at <= e->until &&
		    X509_cmp(e->issuer, issuer) == 0 &&
		    X509_cmp(e->signer, pick) == 0) {
			x = e->signer;
			X509_up_ref(x);
		}
	}
	pthread_mutex_unlock(&ocspresp_lock);
	if (x == NULL)
		return 0;
	/*
	 * The signature alone, with x's key: x is the only signer offered
	 * (NOINTERN) and trusted as offered (TRUSTOTHER), so OpenSSL builds
	 * no chain and uses no store.
	 */
	ERR_set_mark();
	ok = ocspresp_about(bs, issuer) && (one = sk_X509_new_null()) != NULL &&
	    sk_X509_push(one, x) > 0 && OCSP_basic_verify(bs, one, NULL,
	    OCSP_NOINTERN | OCSP_TRUSTOTHER) == 1;
	ERR_pop_to_mark();
	sk_X509_free(one);
	if (!ok) {
		X509_free(x);
		return 0;
	}
	pthread_mutex_lock(&ocspresp_lock);
	ocspresp_hits++;
	pthread_mutex_unlock(&ocspresp_lock);
	*signer = x;
	return 1;
}

unsigned long
ocspresp_signer_hits(void)
{
	unsigned long	 n;

	pthread_mutex_lock(&ocspresp_lock);
	n = ocspresp_hits;
	pthread_mutex_unlock(&ocspresp_lock);
	return n;
}

OCSP_BASICRESP *
ocspresp_basic(const unsigned char *der, size_t len, OCSP_RESPONSE *resp)
{
	OCSP_BASICRESP	*bs;

	if ((bs = ocspresp_split(der, len)) != NULL)
		return bs;
	return OCSP_response_get1_basic(resp);
}

void
ocspresp_cleanup(void)
{
	size_t	 i;

	pthread_mutex_lock(&ocspresp_lock);
	for (i = 0; i < OCSPRESP_CERTS; i++) {
		X509_free(ocspresp_certs[i].x);
		ocspresp_certs[i].x = NULL;
	}
	ocspresp_next = 0;
	for (i = 0; i < OCSPRESP_SIGNERS; i++) {
		X509_free(ocspresp_signers[i].signer);
		X509_free(ocspresp_signers[i].issuer);
		ocspresp_signers[i].signer = ocspresp_signers[i].issuer = NULL;
	}
	ocspresp_nextsigner = 0;
	pthread_mutex_unlock(&ocspresp_lock);
}
