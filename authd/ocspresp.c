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
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/err.h>
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
	pthread_mutex_unlock(&ocspresp_lock);
}
