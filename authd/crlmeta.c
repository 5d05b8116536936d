/*
 * crlmeta.c: one CRL, on its own.  Its signer and where the signer's
 * paths end (RFC 5280 6.3.3 (f)), its extensions and times, its Issuing
 * Distribution Point, its revoked serials indexed (in the store, or in
 * memory) and looked up, and whether it answers for a given certificate
 * (issuer, distribution point, scope flags, reasons).  crl.c (the set in
 * use and the check of a chain), crlrec.c (the record for the next start)
 * and crldp.c (fetched CRLs) stand on it.
 */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "crlmeta.h"
#include "err.h"
#include "identity.h"
#include "log.h"
#include "store.h"

#define CRL_REJECT_STR(e, s)	 s,
static const char *const crl_reject_names[] = {
	CRL_REJECTS(CRL_REJECT_STR)
};
#undef CRL_REJECT_STR

const char *
crl_reject_str(enum crl_reject r)
{
	return (unsigned int)r < CRL_REJECT_N ? crl_reject_names[r] : "?";
}

/* A serial as a key: sign byte, then the magnitude's bytes. */
static size_t
crl_serial_key(const ASN1_INTEGER *serial, unsigned char *key, size_t cap)
{
	const unsigned char	*p = ASN1_STRING_get0_data(serial);
	int			 n = ASN1_STRING_length(serial);

	if (n < 0 || (size_t)n + 1 > cap)
		return 0;
	key[0] = ASN1_STRING_type(serial) == V_ASN1_NEG_INTEGER ? 1 : 0;
	memcpy(key + 1, p, (size_t)n);
	return (size_t)n + 1;
}

static int
crl_key_cmp(const void *a, const void *b)
{
	const unsigned char	*ka = *(unsigned char *const *)a;
	const unsigned char	*kb = *(unsigned char *const *)b;
	size_t			 la = ka[0], lb = kb[0];
	int			 c = memcmp(ka + 1, kb + 1, la < lb ? la : lb);

	return c != 0 ? c : (la < lb ? -1 : la > lb);
}

void
crl_meta_cleanup(struct crl_meta *m)
{
	size_t	 i;

	X509_free(m->issuer);
	X509_NAME_free(m->issuer_name);
	for (i = 0; i < m->nanchor; i++)
		X509_free(m->anchor[i]);
	GENERAL_NAMES_free(m->dp);
	free(m->idp_der);
	for (i = 0; i < m->nind; i++)
		X509_NAME_free(m->ind[i]);
	for (i = 0; i < m->nkeys; i++)
		free(m->keys[i]);
	free(m->keys);
	memset(m, 0, sizeof(*m));
}

/* ------------------------------------------------ a CRL as read */

/* One DER element at *p, before end: definite length only. */
struct crl_tlv {
	const unsigned char	*start, *content;
	size_t			 len, total;	/* content, whole element */
	int			 tag, cls, constructed;
};

static int
crl_tlv(const unsigned char **p, const unsigned char *end, struct crl_tlv *t)
{
	const unsigned char	*q = *p;
	long			 len;
	int			 r;

	if (q >= end)
		return -1;
	r = ASN1_get_object(&q, &len, &t->tag, &t->cls, (long)(end - *p));
	if ((r & 0x80) || (r & 0x01) || len < 0 ||
	    (size_t)len > (size_t)(end - q))
		return -1;
	t->start = *p;
	t->content = q;
	t->len = (size_t)len;
	t->total = (size_t)(q - *p) + (size_t)len;
	t->constructed = (r & V_ASN1_CONSTRUCTED) != 0;
	*p = q + len;
	return 0;
}

static int
crl_tlv_is(const struct crl_tlv *t, int cls, int tag, int constructed)
{
	return t->cls == cls && t->tag == tag && t->constructed == constructed;
}

/* A SEQUENCE header for len content bytes at out (NULL: its size). */
static size_t
crl_seq_header(unsigned char *out, size_t len)
{
	unsigned char	*p = out;
	int		 n;

	n = ASN1_object_size(1, (int)len, V_ASN1_SEQUENCE) - (int)len;
	if (out != NULL)
		ASN1_put_object(&p, 1, (int)len, V_ASN1_SEQUENCE,
		    V_ASN1_UNIVERSAL);
	return (size_t)n;
}

static int
crl_src_split1(struct crl_src *src, const unsigned char *der, size_t len)
{
	struct crl_tlv		 outer, tbs, alg, sig, el[8];
	const unsigned char	*p = der, *q, *qe;
	unsigned char		*skel = NULL, *w;
	size_t			 n = 0, i, k, rev = 0, body = 0, tbsh, outl;
	X509_CRL		*crl = NULL;

	memset(src, 0, sizeof(*src));
	if (len > INT_MAX / 2 || crl_tlv(&p, der + len, &outer) != 0 ||
	    !crl_tlv_is(&outer, V_ASN1_UNIVERSAL, V_ASN1_SEQUENCE, 1) ||
	    outer.total != len)
		return -1;
	q = outer.content;
	qe = q + outer.len;
	if (crl_tlv(&q, qe, &tbs) != 0 || crl_tlv(&q, qe, &alg) != 0 ||
	    crl_tlv(&q, qe, &sig) != 0 || q != qe ||
	    !crl_tlv_is(&tbs, V_ASN1_UNIVERSAL, V_ASN1_SEQUENCE, 1) ||
	    !crl_tlv_is(&alg, V_ASN1_UNIVERSAL, V_ASN1_SEQUENCE, 1) ||
	    !crl_tlv_is(&sig, V_ASN1_UNIVERSAL, V_ASN1_BIT_STRING, 0))
		return -1;
	/*
	 * TBSCertList (RFC 5280 5.1): [version] signature issuer thisUpdate
	 * [nextUpdate] [revokedCertificates] [[0] crlExtensions], in that
	 * order and nothing else; anything else is left to d2i_X509_CRL.
	 */
	for (q = tbs.content, qe = q + tbs.len; q < qe; n++)
		if (n == sizeof(el) / sizeof(el[0]) ||
		    crl_tlv(&q, qe, &el[n]) != 0)
			return -1;
	i = 0;
	if (i < n && crl_tlv_is(&el[i], V_ASN1_UNIVERSAL, V_ASN1_INTEGER, 0))
		i++;
	for (k = 0; k < 2; k++, i++)	/* signature, issuer */
		if (i >= n || !crl_tlv_is(&el[i], V_ASN1_UNIVERSAL,
		    V_ASN1_SEQUENCE, 1))
			return -1;
	/* the signature algorithm inside is the one outside (5.1.1.2) */
	if (el[i - 2].total != alg.total ||
	    memcmp(el[i - 2].start, alg.start, alg.total) != 0)
		return -1;
	for (k = 0; k < 2 && i < n; k++, i++)	/* thisUpdate, nextUpdate */
		if (!crl_tlv_is(&el[i], V_ASN1_UNIVERSAL, V_ASN1_UTCTIME, 0) &&
		    !crl_tlv_is(&el[i], V_ASN1_UNIVERSAL,
		    V_ASN1_GENERALIZEDTIME, 0))
			break;
	if (k == 0 || i >= n || !crl_tlv_is(&el[i], V_ASN1_UNIVERSAL,
	    V_ASN1_SEQUENCE, 1))
		return -1;		/* no entries: nothing to stream */
	rev = i++;
	if (i < n && crl_tlv_is(&el[i], V_ASN1_CONTEXT_SPECIFIC, 0, 1))
		i++;
	if (i != n)
		return -1;
	/* The skeleton: the same CRL without its entries, for its fields. */
	for (i = 0; i < n; i++)
		if (i != rev)
			body += el[i].total;
	tbsh = crl_seq_header(NULL, body);
	outl = tbsh + body + alg.total + sig.total;
	if ((skel = malloc(crl_seq_header(NULL, outl) + outl)) == NULL)
		return -1;
	w = skel + crl_seq_header(skel, outl);
	w += crl_seq_header(w, body);
	for (i = 0; i < n; i++)
		if (i != rev) {
			memcpy(w, el[i].start, el[i].total);
			w += el[i].total;
		}
	memcpy(w, alg.start, alg.total);
	w += alg.total;
	memcpy(w, sig.start, sig.total);
	w += sig.total;
	p = skel;
	crl = d2i_X509_CRL(NULL, &p, (long)(w - skel));
	if (crl != NULL && p != w) {
		X509_CRL_free(crl);
		crl = NULL;
	}
	free(skel);
	if (crl == NULL)
		return -1;
	src->crl = crl;
	src->der = der;
	src->derlen = len;
	src->tbs = tbs.start;
	src->tbslen = tbs.total;
	src->entries = el[rev].content;
	src->entrieslen = el[rev].len;
	return 0;
}

int
crl_src_split(struct crl_src *src, const unsigned char *der, size_t len)
{
	int	 rc;

	/* what could not be split is d2i_X509_CRL's to judge, not an error */
	ERR_set_mark();
	rc = crl_src_split1(src, der, len);
	ERR_pop_to_mark();
	return rc;
}

int
crl_src_read(struct crl_src *src, const unsigned char *der, size_t len)
{
	const unsigned char	*p = der;

	if (crl_src_split(src, der, len) == 0)
		return 0;
	if (len > LONG_MAX || (src->crl = d2i_X509_CRL(NULL, &p,
	    (long)len)) == NULL || p != der + len) {
		X509_CRL_free(src->crl);
		src->crl = NULL;
		return -1;
	}
	return 0;
}

void
crl_src_cleanup(struct crl_src *src)
{
	X509_CRL_free(src->crl);
	memset(src, 0, sizeof(*src));
}

/*
 * Whether pk verifies src's signature: a whole CRL by OpenSSL's own
 * check; a split one over its tbsCertList as signed (the bytes read, not
 * a re-encoding), under the outer algorithm (crl_src_split saw to it that
 * the inner one is the same, as X509_CRL_verify requires).
 */
static int
crl_src_verify(const struct crl_src *src, EVP_PKEY *pk)
{
	const ASN1_BIT_STRING	*sig;
	const X509_ALGOR	*alg;
	ASN1_STRING		 s;
	ASN1_TYPE		 t;
	int			 ok;

	if (src->tbs == NULL)
		return X509_CRL_verify(src->crl, pk) == 1;
	X509_CRL_get0_signature(src->crl, &sig, &alg);
	/* an ANY of type SEQUENCE encodes as its bytes, header included */
	memset(&s, 0, sizeof(s));
	s.type = V_ASN1_SEQUENCE;
	s.length = (int)src->tbslen;
	s.data = (unsigned char *)(uintptr_t)src->tbs;
	t.type = V_ASN1_SEQUENCE;
	t.value.sequence = &s;
	ok = ASN1_item_verify(ASN1_ITEM_rptr(ASN1_ANY), alg, sig, &t, pk) == 1;
	ERR_clear_error();
	return ok;
}

/* The entries of a CRL, one at a time, from its stack or its DER. */
struct crl_entries {
	const STACK_OF(X509_REVOKED)	*sk;
	int				 i;
	const unsigned char		*p, *end;
	X509_REVOKED			*cur;	/* streamed: the last read */
};

static void
crl_entries_init(struct crl_entries *e, const struct crl_src *src)
{
	memset(e, 0, sizeof(*e));
	if (src->tbs == NULL)
		e->sk = X509_CRL_get_REVOKED(src->crl);
	else {
		e->p = src->entries;
		e->end = src->entries + src->entrieslen;
	}
}

/* 1 and *r (valid until the next call), 0 at the end, -1 unreadable. */
static int
crl_entries_next(struct crl_entries *e, X509_REVOKED **r)
{
	const unsigned char	*q = e->p;

	if (e->p == NULL) {
		if (e->i >= sk_X509_REVOKED_num(e->sk))
			return 0;
		*r = sk_X509_REVOKED_value(e->sk, e->i++);
		return 1;
	}
	X509_REVOKED_free(e->cur);
	e->cur = NULL;
	if (e->p >= e->end)
		return 0;
	if ((e->cur = d2i_X509_REVOKED(NULL, &q, (long)(e->end - e->p))) ==
	    NULL || q <= e->p)
		return -1;
	e->p = q;
	*r = e->cur;
	return 1;
}

static void
crl_entries_end(struct crl_entries *e)
{
	X509_REVOKED_free(e->cur);
	e->cur = NULL;
}

/*
 * The signer of a CRL and where its paths end (RFC 5280 6.3.3 (f)): every
 * configured certificate named like the CRL's issuer (and matching its
 * AKID) whose key verifies src's signature and that may sign CRLs, each
 * validated to a trust anchor.  Several certificates may carry one key (a
 * self-signed root and its new-with-old certificate): each adds its
 * anchor.  With src NULL (a CRL checked when first loaded, now from the
 * record), the key of m->issuer stands for the signature.  Fills
 * m->issuer (when NULL) and the anchors; 0, or -1 with *why and buf.
 */
int
crl_signers(struct crl_meta *m, const struct chain_store *chain,
    const struct crl_src *src, enum crl_reject *why, char *buf, size_t len)
{
	X509_CRL	*crl = src != NULL ? src->crl : NULL;
	AUTHORITY_KEYID	*akid = NULL;
	EVP_PKEY	*pk;
	X509		*x, *a;
	time_t		 from, until;
	char		 perr[160] = "";
	size_t		 i, k;
	int		 verified = 0, nocrlsign = 0;

	if (crl != NULL)
		akid = X509_CRL_get_ext_d2i(crl, NID_authority_key_identifier,
		    NULL, NULL);
	for (i = 0; (x = chain_store_ca(chain, i)) != NULL; i++) {
		if (X509_NAME_cmp(X509_get_subject_name(x), m->issuer_name) != 0 ||
		    (pk = X509_get0_pubkey(x)) == NULL)
			continue;
		if (crl != NULL) {
			if (akid != NULL && X509_check_akid(x, akid) != X509_V_OK)
				continue;
			if (!crl_src_verify(src, pk))
				continue;
		} else if (x != m->issuer &&
		    EVP_PKEY_eq(pk, X509_get0_pubkey(m->issuer)) != 1)
			continue;
		verified = 1;
		if ((X509_get_extension_flags(x) & EXFLAG_KUSAGE) &&
		    !(X509_get_key_usage(x) & KU_CRL_SIGN)) {
			nocrlsign = 1;
			continue;
		}
		if (chain_anchor(chain, x, &a, &from, &until, perr,
		    sizeof(perr)) != 0)
			continue;
		if (m->issuer == NULL && X509_up_ref(x) == 1)
			m->issuer = x;
		for (k = 0; k < m->nanchor; k++)
			if (X509_cmp(m->anchor[k], a) == 0)
				break;
		if (k < m->nanchor) {		/* one more path to it */
			if (from < m->anchor_from[k])
				m->anchor_from[k] = from;
			if (until > m->anchor_until[k])
				m->anchor_until[k] = until;
			X509_free(a);
		} else if (k < CRL_ANCHOR_MAX) {
			m->anchor[k] = a;
			m->anchor_from[k] = from;
			m->anchor_until[k] = until;
			m->nanchor++;
		} else
			X509_free(a);
	}
	AUTHORITY_KEYID_free(akid);
	ERR_clear_error();
	if (m->nanchor > 0 && m->issuer != NULL)
		return 0;
	if (!verified) {
		*why = CRL_REJECT_SIGNATURE;
		snprintf(buf, len, "no trust anchor or intermediate signed it "
		    "(unknown issuer or bad signature)");
	} else if (nocrlsign && perr[0] == '\0') {
		*why = CRL_REJECT_NO_CRLSIGN;
		snprintf(buf, len, "its issuer may not sign CRLs (no cRLSign "
		    "in keyUsage)");
	} else {
		*why = CRL_REJECT_SIGNER_PATH;
		snprintf(buf, len, "its signer has no valid path to a trust "
		    "anchor: %s", perr);
	}
	return -1;
}

/* Critical extensions authd understands in a CRL. */
static int
crl_ext_known(int nid)
{
	return nid == NID_issuing_distribution_point ||
	    nid == NID_authority_key_identifier || nid == NID_crl_number ||
	    nid == NID_delta_crl;
}

/* ...and in a CRL entry. */
static int
crl_entry_ext_known(int nid)
{
	return nid == NID_crl_reason || nid == NID_invalidity_date ||
	    nid == NID_hold_instruction_code || nid == NID_certificate_issuer;
}

/*
 * The checks before a CRL is believed (its IDP read into m already): 0, or
 * -1 with *why and the reason in buf.  The signer is checked last: it
 * validates paths.
 */
static int
crl_validate(struct crl_meta *m, const struct chain_store *chain,
    const struct crl_src *src, enum crl_reject *why, char *buf, size_t len)
{
	X509_CRL	*crl = src->crl;
	X509_EXTENSION	*ext;
	time_t		 tu;
	char		 oid[80];
	int		 i, nid;

	for (i = 0; i < X509_CRL_get_ext_count(crl); i++) {
		ext = X509_CRL_get_ext(crl, i);
		nid = OBJ_obj2nid(X509_EXTENSION_get_object(ext));
		if (X509_EXTENSION_get_critical(ext) && !crl_ext_known(nid)) {
			OBJ_obj2txt(oid, (int)sizeof(oid),
			    X509_EXTENSION_get_object(ext), 1);
			*why = CRL_REJECT_CRITICAL;
			snprintf(buf, len, "an unknown critical extension %s",
			    oid);
			return -1;
		}
	}
	if (identity_time(X509_CRL_get0_lastUpdate(crl), &tu) != 0) {
		*why = CRL_REJECT_UNREADABLE;
		snprintf(buf, len, "an unreadable thisUpdate");
		return -1;
	}
	if (tu > time(NULL) + CRL_SKEW) {
		*why = CRL_REJECT_FUTURE;
		snprintf(buf, len, "a thisUpdate in the future");
		return -1;
	}
	return crl_signers(m, chain, src, why, buf, len);
}

/*
 * One entry's extensions (RFC 5280 5.3): none critical that authd does
 * not know, and certificateIssuer only in an indirect CRL.  0, or -1
 * with *why and buf.
 */
static int
crl_entry_check(const struct crl_meta *m, X509_REVOKED *r,
    enum crl_reject *why, char *buf, size_t len)
{
	const STACK_OF(X509_EXTENSION)	*exts;
	X509_EXTENSION			*ext;
	void				*v;
	char				 oid[80];
	int				 j, nid, crit;

	/*
	 * What d2i_X509_CRL decodes of each entry (reasonCode,
	 * certificateIssuer) must decode, once, here too.
	 */
	for (j = 0; j < 2; j++) {
		nid = j == 0 ? NID_crl_reason : NID_certificate_issuer;
		if (X509_REVOKED_get_ext_by_NID(r, nid, -1) < 0)
			continue;
		if ((v = X509_REVOKED_get_ext_d2i(r, nid, &crit, NULL)) ==
		    NULL) {
			ERR_clear_error();
			*why = CRL_REJECT_UNREADABLE;
			snprintf(buf, len, "an entry with an unreadable or "
			    "repeated %s", j == 0 ? "reasonCode" :
			    "certificateIssuer");
			return -1;
		}
		if (j == 0)
			ASN1_ENUMERATED_free(v);
		else
			GENERAL_NAMES_free(v);
	}
	exts = X509_REVOKED_get0_extensions(r);
	for (j = 0; j < sk_X509_EXTENSION_num(exts); j++) {
		ext = sk_X509_EXTENSION_value(exts, j);
		nid = OBJ_obj2nid(X509_EXTENSION_get_object(ext));
		if (X509_EXTENSION_get_critical(ext) &&
		    !crl_entry_ext_known(nid)) {
			OBJ_obj2txt(oid, (int)sizeof(oid),
			    X509_EXTENSION_get_object(ext), 1);
			*why = CRL_REJECT_CRITICAL;
			snprintf(buf, len, "an unknown critical entry "
			    "extension %s", oid);
			return -1;
		}
		if (nid == NID_certificate_issuer && !m->indirect) {
			*why = CRL_REJECT_SCOPE;
			snprintf(buf, len, "a certificateIssuer entry in a CRL "
			    "that is not indirect");
			return -1;
		}
	}
	return 0;
}

/* The ReasonFlags of a bit string, bits 1 to 8. */
static unsigned int
crl_reason_bits(const ASN1_BIT_STRING *bs)
{
	unsigned int	 r = 0;
	int		 i;

	for (i = 1; i <= 8; i++)
		if (ASN1_BIT_STRING_get_bit(bs, i))
			r |= 1u << i;
	return r;
}

/* A directoryName GENERAL_NAME holding a copy of n, appended to gens. */
static int
crl_gens_add_dn(GENERAL_NAMES *gens, const X509_NAME *n)
{
	GENERAL_NAME	*g;
	X509_NAME	*d;

	if ((g = GENERAL_NAME_new()) == NULL)
		return -1;
	if ((d = X509_NAME_dup(n)) == NULL) {
		GENERAL_NAME_free(g);
		return -1;
	}
	GENERAL_NAME_set0_value(g, GEN_DIRNAME, d);
	if (!sk_GENERAL_NAME_push(gens, g)) {
		GENERAL_NAME_free(g);
		return -1;
	}
	return 0;
}

/*
 * The Issuing Distribution Point of a CRL (its DER: the same for a file
 * and for its record) into m: scope flags, reasons, and the names, a name
 * relative to the CRL issuer made whole (RFC 5280 5.2.5).  m->issuer_name
 * must be set.  0, or -1 with *why.
 */
int
crl_meta_idp(struct crl_meta *m, const unsigned char *der, size_t len,
    const char **why)
{
	ISSUING_DIST_POINT	*idp = NULL;
	const unsigned char	*p = der;
	GENERAL_NAME		*g;
	int			 i, rc = -1;

	m->reasons = CRL_REASONS_ALL;
	if (len == 0)
		return 0;
	if ((idp = d2i_ISSUING_DIST_POINT(NULL, &p, (long)len)) == NULL ||
	    p != der + len) {
		*why = "an unreadable Issuing Distribution Point";
		goto end;
	}
	if ((m->idp_der = malloc(len)) == NULL) {
		*why = "out of memory";
		goto end;
	}
	memcpy(m->idp_der, der, len);
	m->idp_len = len;
	m->only_user = idp->onlyuser > 0;
	m->only_ca = idp->onlyCA > 0;
	m->only_attr = idp->onlyattr > 0;
	m->indirect = idp->indirectCRL > 0;
	if (idp->onlysomereasons != NULL &&
	    (m->reasons = crl_reason_bits(idp->onlysomereasons)) == 0) {
		*why = "onlySomeReasons without a reason";
		goto end;
	}
	if (idp->distpoint != NULL) {
		if ((m->dp = GENERAL_NAMES_new()) == NULL) {
			*why = "out of memory";
			goto end;
		}
		if (idp->distpoint->type == 0) {
			if (sk_GENERAL_NAME_num(idp->distpoint->name.fullname) >
			    CRL_IDP_MAX) {
				*why = "more Issuing Distribution Point names "
				    "than authd matches";
				goto end;
			}
			for (i = 0; i < sk_GENERAL_NAME_num(
			    idp->distpoint->name.fullname); i++) {
				g = GENERAL_NAME_dup(sk_GENERAL_NAME_value(
				    idp->distpoint->name.fullname, i));
				if (g == NULL || !sk_GENERAL_NAME_push(m->dp, g)) {
					GENERAL_NAME_free(g);
					*why = "out of memory";
					goto end;
				}
			}
		} else if (DIST_POINT_set_dpname(idp->distpoint,
		    m->issuer_name) != 1 || idp->distpoint->dpname == NULL ||
		    crl_gens_add_dn(m->dp, idp->distpoint->dpname) != 0) {
			*why = "an Issuing Distribution Point name relative to "
			    "the issuer that cannot be made whole";
			goto end;
		}
		if (sk_GENERAL_NAME_num(m->dp) == 0) {
			*why = "an Issuing Distribution Point without a name";
			goto end;
		}
	}
	rc = 0;
end:
	ERR_clear_error();
	ISSUING_DIST_POINT_free(idp);
	return rc;
}

/*
 * In a delta CRL, an entry with reason removeFromCRL takes a serial off
 * the base CRL (a certificate hold released); it is indexed with this bit.
 */
#define CRL_KEY_REMOVED	 0x80

static int
crl_entry_removed(X509_REVOKED *r)
{
	ASN1_ENUMERATED	*reason;
	long		 v = -1;

	if ((reason = X509_REVOKED_get_ext_d2i(r, NID_crl_reason, NULL,
	    NULL)) != NULL) {
		v = ASN1_ENUMERATED_get(reason);
		ASN1_ENUMERATED_free(reason);
	}
	return v == CRL_REASON_REMOVE_FROM_CRL;
}

/* The index of issuer n in an indirect CRL, added if new; -1 when full. */
static int
crl_ind_index(struct crl_meta *m, const X509_NAME *n)
{
	size_t	 i;

	for (i = 0; i < m->nind; i++)
		if (X509_NAME_cmp(m->ind[i], n) == 0)
			return (int)i;
	if (m->nind >= CRL_IND_MAX || (m->ind[m->nind] = X509_NAME_dup(n)) ==
	    NULL)
		return -1;
	return (int)m->nind++;
}

/*
 * An indirect CRL's entries are attributed by certificateIssuer, which
 * carries over to the entries after it (RFC 5280 5.3.3); the first ones
 * belong to the CRL issuer.  Updates *idx; -1 when the extension cannot
 * be used.
 */
static int
crl_entry_issuer(struct crl_meta *m, X509_REVOKED *r, int *idx)
{
	GENERAL_NAMES	*gens;
	GENERAL_NAME	*g;
	int		 i, crit, rc = -1;

	gens = X509_REVOKED_get_ext_d2i(r, NID_certificate_issuer, &crit,
	    NULL);
	if (gens == NULL)
		return crit == -1 ? 0 : -1;	/* absent: carried over */
	for (i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
		g = sk_GENERAL_NAME_value(gens, i);
		if (g->type == GEN_DIRNAME) {
			rc = *idx = crl_ind_index(m, g->d.directoryName);
			break;
		}
	}
	GENERAL_NAMES_free(gens);
	return rc < 0 ? -1 : 0;
}

/*
 * Index the revoked serials: in the store under the CRL's digest, or here.
 * A key is the serial's (sign byte, magnitude), with CRL_KEY_REMOVED for a
 * delta's removeFromCRL; an indirect CRL's keys start with the index of
 * the entry's issuer.
 */
static int
crl_meta_index(struct crl_meta *m, const struct crl_src *src,
    struct store *store, const unsigned char *der, size_t derlen,
    size_t *count, enum crl_reject *why, char *err, size_t errlen)
{
	struct crl_entries		 it;
	struct store_writer		*w = NULL;
	X509_REVOKED			*r;
	unsigned char			 key[STORE_KEY_MAX], md[32], *kp, **nk;
	char				 name[STORE_NAME_MAX];
	size_t				 klen, n, pre, max, kcap = 0;
	int				 idx = 0, got, rc = AUTHD_ENOMEM;

	*count = 0;
	*why = CRL_REJECT_INDEX;
	pre = m->indirect ? 1 : 0;
	if (m->indirect && crl_ind_index(m, m->issuer_name) != 0) {
		snprintf(err, errlen, "out of memory");
		return AUTHD_ENOMEM;
	}
	/* an upper bound: an entry takes at least 16 bytes */
	max = src->tbs != NULL ? src->entrieslen / 16 + 1 :
	    (size_t)sk_X509_REVOKED_num(X509_CRL_get_REVOKED(src->crl)) + 1;
	if (store != NULL) {
		if (identity_sha256(der, derlen, md) != 0)
			return AUTHD_ECRYPTO;
		memcpy(name, "crl:", 4);
		identity_hex(md, name + 4);
		memcpy(m->setname, name, strlen(name) + 1);
		/*
		 * Found: the serials are there, but the entries are read all
		 * the same: their extensions are checked, and an indirect
		 * CRL's issuer table is built from them.
		 */
		if (store_set_find(store, name, &m->set, count) != 0 &&
		    store_writer_new(store, name, max, &w) != 0)
			return AUTHD_ENOMEM;
	}
	crl_entries_init(&it, src);
	while ((got = crl_entries_next(&it, &r)) == 1) {
		if (crl_entry_check(m, r, why, err, errlen) != 0) {
			rc = AUTHD_ECONFIG;
			goto fail;
		}
		if (m->indirect && crl_entry_issuer(m, r, &idx) != 0) {
			*why = idx < 0 || m->nind >= CRL_IND_MAX ?
			    CRL_REJECT_LIMIT : CRL_REJECT_SCOPE;
			snprintf(err, errlen, "a certificateIssuer entry "
			    "without a directoryName, or more than %d issuers",
			    CRL_IND_MAX);
			rc = AUTHD_ERANGE;
			goto fail;
		}
		kp = key + pre;
		key[0] = (unsigned char)idx;
		klen = crl_serial_key(X509_REVOKED_get0_serialNumber(r), kp,
		    sizeof(key) - pre);
		if (klen == 0) {
			snprintf(err, errlen, "a revoked serial longer than "
			    "%d bytes", STORE_KEY_MAX - 2);
			rc = AUTHD_ERANGE;
			goto fail;
		}
		klen += pre;
		if (m->is_delta && crl_entry_removed(r))
			kp[0] |= CRL_KEY_REMOVED;
		if (store != NULL) {
			if (w != NULL && store_writer_add(w, key, klen) != 0)
				goto fail;
			continue;
		}
		if (m->nkeys == kcap) {
			kcap = kcap == 0 ? 1024 : kcap * 2;
			if ((nk = realloc(m->keys, kcap * sizeof(*nk))) == NULL)
				goto fail;
			m->keys = nk;
		}
		if ((m->keys[m->nkeys] = malloc(klen + 1)) == NULL)
			goto fail;
		m->keys[m->nkeys][0] = (unsigned char)klen;
		memcpy(m->keys[m->nkeys] + 1, key, klen);
		m->nkeys++;
	}
	crl_entries_end(&it);
	if (got < 0) {
		*why = CRL_REJECT_UNREADABLE;
		snprintf(err, errlen, "an unreadable revoked entry");
		ERR_clear_error();
		store_writer_free(&w);
		return AUTHD_ECONFIG;
	}
	if (store != NULL) {
		n = *count;		/* found: as store_set_find said */
		if (w != NULL && store_writer_commit(&w, &m->set, &n, err,
		    errlen) != 0)
			return AUTHD_EIO;
		m->store = store;
		*count = n;
		return 0;
	}
	if (m->nkeys > 0)
		qsort(m->keys, m->nkeys, sizeof(*m->keys), crl_key_cmp);
	*count = m->nkeys;
	return 0;
fail:
	crl_entries_end(&it);
	store_writer_free(&w);
	return rc;
}

/*
 * Whether serial (of a certificate issued by issuer) is listed with flag:
 * 1 yes, 0 no, negative when it cannot be looked up (fail closed).
 */
static int
crl_lookup(const struct crl_meta *m, const ASN1_INTEGER *serial,
    const X509_NAME *issuer, int flag)
{
	unsigned char	 key[STORE_KEY_MAX + 1], *kp = key;
	size_t		 klen, pre = m->indirect ? 1 : 0, i;

	if (m->indirect) {
		for (i = 0; i < m->nind; i++)
			if (X509_NAME_cmp(m->ind[i], issuer) == 0)
				break;
		if (i == m->nind)
			return 0;	/* no entry names that issuer */
		key[1] = (unsigned char)i;
	}
	if ((klen = crl_serial_key(serial, key + 1 + pre, sizeof(key) - 1 -
	    pre)) == 0)
		return AUTHD_ERANGE;
	key[1 + pre] |= (unsigned char)flag;
	klen += pre;
	if (m->store != NULL)
		return store_set_contains(m->store, m->set, key + 1, klen);
	key[0] = (unsigned char)klen;
	return m->nkeys > 0 && bsearch(&kp, m->keys, m->nkeys,
	    sizeof(*m->keys), crl_key_cmp) != NULL;
}

/* An INTEGER extension (CRL number, BaseCRLNumber) as hex into out. */
static void
crl_ext_hex(X509_CRL *crl, int nid, char *out, size_t len)
{
	ASN1_INTEGER	*num;
	BIGNUM		*bn;
	char		*hex;

	out[0] = '\0';
	if ((num = X509_CRL_get_ext_d2i(crl, nid, NULL, NULL)) == NULL)
		return;
	if ((bn = ASN1_INTEGER_to_BN(num, NULL)) != NULL &&
	    (hex = BN_bn2hex(bn)) != NULL) {
		snprintf(out, len, "%s", hex);
		OPENSSL_free(hex);
	}
	BN_free(bn);
	ASN1_INTEGER_free(num);
}

/* Compare two hex numbers (BN_bn2hex form: uppercase, no leading zeros). */
int
crl_hex_cmp(const char *a, const char *b)
{
	size_t	 la = strlen(a), lb = strlen(b);

	if (la != lb)
		return la < lb ? -1 : 1;
	return strcmp(a, b);
}

/* The DER of crl's Issuing Distribution Point, or NULL (*len 0). */
static unsigned char *
crl_idp_der(X509_CRL *crl, size_t *len)
{
	X509_EXTENSION		*ext;
	const ASN1_OCTET_STRING	*v;
	unsigned char		*d;
	int			 i;

	*len = 0;
	if ((i = X509_CRL_get_ext_by_NID(crl, NID_issuing_distribution_point,
	    -1)) < 0 || (ext = X509_CRL_get_ext(crl, i)) == NULL ||
	    (v = X509_EXTENSION_get_data(ext)) == NULL ||
	    ASN1_STRING_length(v) <= 0 ||
	    (d = malloc((size_t)ASN1_STRING_length(v))) == NULL)
		return NULL;
	*len = (size_t)ASN1_STRING_length(v);
	memcpy(d, ASN1_STRING_get0_data(v), *len);
	return d;
}

/*
 * Validate, describe and index one CRL into m.  On error, m is empty and
 * err says why (without the file name), *reject the kind.
 */
int
crl_meta_build_src(struct crl_meta *m, const struct chain_store *chain,
    struct store *store, const struct crl_src *src, const char *source,
    size_t *count, enum crl_reject *reject, char *err, size_t errlen)
{
	X509_CRL		*crl = src->crl;
	unsigned char		*der = NULL, *idp;
	const char		*why = NULL;
	char			 buf[256] = "", ierr[256] = "";
	size_t			 idplen;
	int			 derlen, rc;

	memset(m, 0, sizeof(*m));
	snprintf(m->source, sizeof(m->source), "%s", source);
	identity_dn(X509_CRL_get_issuer(crl), m->issuer_dn,
	    sizeof(m->issuer_dn));
	if ((m->issuer_name = X509_NAME_dup(X509_CRL_get_issuer(crl))) ==
	    NULL) {
		snprintf(err, errlen, "out of memory");
		return AUTHD_ENOMEM;
	}
	idp = crl_idp_der(crl, &idplen);
	rc = crl_meta_idp(m, idp, idplen, &why);
	free(idp);
	if (rc != 0) {
		*reject = CRL_REJECT_SCOPE;
		snprintf(buf, sizeof(buf), "%s", why);
	} else
		rc = crl_validate(m, chain, src, reject, buf, sizeof(buf));
	if (rc != 0) {
		snprintf(err, errlen, "CRL of %s refused: %s", m->issuer_dn,
		    buf);
		crl_meta_cleanup(m);
		return AUTHD_ECONFIG;
	}
	identity_time(X509_CRL_get0_lastUpdate(crl), &m->this_update);
	if (X509_CRL_get0_nextUpdate(crl) != NULL)
		identity_time(X509_CRL_get0_nextUpdate(crl), &m->next_update);
	crl_ext_hex(crl, NID_crl_number, m->number, sizeof(m->number));
	if (X509_CRL_get_ext_by_NID(crl, NID_delta_crl, -1) >= 0) {
		m->is_delta = 1;
		crl_ext_hex(crl, NID_delta_crl, m->base_number,
		    sizeof(m->base_number));
		if (m->base_number[0] == '\0') {
			*reject = CRL_REJECT_UNREADABLE;
			snprintf(err, errlen, "delta CRL of %s without a "
			    "readable BaseCRLNumber", m->issuer_dn);
			crl_meta_cleanup(m);
			return AUTHD_ECONFIG;
		}
	}
	*reject = CRL_REJECT_INDEX;
	/* The set's name: the SHA-256 of the CRL as read (or encoded). */
	if (src->der == NULL && (derlen = i2d_X509_CRL(crl, &der)) <= 0) {
		snprintf(err, errlen, "cannot encode the CRL");
		crl_meta_cleanup(m);
		return AUTHD_ECRYPTO;
	}
	rc = crl_meta_index(m, src, store, src->der != NULL ? src->der : der,
	    src->der != NULL ? src->derlen : (size_t)derlen, count, reject,
	    ierr, sizeof(ierr));
	OPENSSL_free(der);
	if (rc == AUTHD_ECONFIG)
		snprintf(err, errlen, "CRL of %s refused: %s", m->issuer_dn,
		    ierr);
	else if (rc != 0)
		snprintf(err, errlen, "CRL of %s: cannot index: %s",
		    m->issuer_dn, ierr[0] ? ierr : err_str(rc));
	if (rc != 0)
		crl_meta_cleanup(m);
	return rc;
}

int
crl_meta_build(struct crl_meta *m, const struct chain_store *chain,
    struct store *store, X509_CRL *crl, const char *source, size_t *count,
    enum crl_reject *reject, char *err, size_t errlen)
{
	struct crl_src	 src;

	memset(&src, 0, sizeof(src));
	src.crl = crl;
	return crl_meta_build_src(m, chain, store, &src, source, count,
	    reject, err, errlen);
}

/*
 * Whether x (issued by issuer) is revoked by base, as changed by delta
 * (NULL: none): 1 yes, 0 no, negative when an index cannot be read.
 */
int
crl_revoked(const struct crl_meta *base, const struct crl_meta *delta,
    const struct crl_cert *c)
{
	const ASN1_INTEGER	*serial = c->serial;
	const X509_NAME		*issuer = c->iname;
	int			 rc;

	if (delta != NULL) {
		if ((rc = crl_lookup(delta, serial, issuer, 0)) != 0)
			return rc;
		if ((rc = crl_lookup(delta, serial, issuer,
		    CRL_KEY_REMOVED)) != 0)
			return rc > 0 ? 0 : rc;
	}
	return crl_lookup(base, serial, issuer, 0);
}

void
crl_cert_init(struct crl_cert *c, STACK_OF(X509) *chain, int i)
{
	memset(c, 0, sizeof(*c));
	c->x = sk_X509_value(chain, i);
	c->issuer = sk_X509_value(chain, i + 1);
	c->anchor = sk_X509_value(chain, sk_X509_num(chain) - 1);
	c->iname = X509_get_issuer_name(c->x);
	c->serial = X509_get0_serialNumber(c->x);
	c->ca = X509_check_ca(c->x) != 0;
}

int
crl_cert_init_kept(struct crl_cert *c, STACK_OF(X509) *chain,
    const struct crl_leaf *leaf)
{
	const unsigned char	*p = leaf->serial_der;

	memset(c, 0, sizeof(*c));
	c->issuer = sk_X509_value(chain, 1);
	c->anchor = sk_X509_value(chain, sk_X509_num(chain) - 1);
	if (c->issuer == NULL)
		return -1;
	/* The name the chain was built on: X509_NAME_cmp equal to the leaf's. */
	c->iname = X509_get_subject_name(c->issuer);
	c->subject = leaf->subject;
	c->ca = leaf->ca != 0;
	c->kept_cdp = leaf->cdp_len > 0 ? leaf->cdp_der : NULL;
	c->kept_cdplen = leaf->cdp_len;
	if ((c->kept_serial = d2i_ASN1_INTEGER(NULL, &p,
	    (long)leaf->serial_len)) == NULL ||
	    p != leaf->serial_der + leaf->serial_len) {
		ERR_clear_error();
		return -1;
	}
	c->serial = c->kept_serial;
	return 0;
}

void
crl_cert_cleanup(struct crl_cert *c)
{
	sk_DIST_POINT_pop_free(c->cdp, DIST_POINT_free);
	c->cdp = NULL;
	ASN1_INTEGER_free(c->kept_serial);
	c->kept_serial = NULL;
}

/* A kept leaf's CRL Distribution Points, as its record has them. */
static STACK_OF(DIST_POINT) *
crl_cert_kept_cdp(const struct crl_cert *c)
{
	STACK_OF(DIST_POINT)	*cdp;
	const unsigned char	*p = c->kept_cdp;

	if (p == NULL || (cdp = d2i_CRL_DIST_POINTS(NULL, &p,
	    (long)c->kept_cdplen)) == NULL)
		return NULL;
	if (p != c->kept_cdp + c->kept_cdplen) {
		sk_DIST_POINT_pop_free(cdp, DIST_POINT_free);
		return NULL;
	}
	return cdp;
}

STACK_OF(DIST_POINT) *
crl_cert_cdp(struct crl_cert *c)
{
	DIST_POINT		*dp;
	const X509_NAME		*iname;
	GENERAL_NAME		*g;
	int			 i, j;

	if (c->cdp_read)
		return c->cdp;
	c->cdp_read = 1;
	/* Most certificates have none: no decoding then. */
	if (c->x == NULL)
		c->cdp = crl_cert_kept_cdp(c);
	else if (X509_get_ext_by_NID(c->x, NID_crl_distribution_points,
	    -1) >= 0)
		c->cdp = X509_get_ext_d2i(c->x, NID_crl_distribution_points,
		    NULL, NULL);
	for (i = 0; c->cdp != NULL && i < sk_DIST_POINT_num(c->cdp); i++) {
		dp = sk_DIST_POINT_value(c->cdp, i);
		if (dp->distpoint == NULL || dp->distpoint->type != 1)
			continue;
		iname = c->iname;
		for (j = 0; dp->CRLissuer != NULL &&
		    j < sk_GENERAL_NAME_num(dp->CRLissuer); j++) {
			g = sk_GENERAL_NAME_value(dp->CRLissuer, j);
			if (g->type == GEN_DIRNAME) {
				iname = g->d.directoryName;
				break;
			}
		}
		(void)DIST_POINT_set_dpname(dp->distpoint, iname);
	}
	ERR_clear_error();
	return c->cdp;
}

/* Whether a name of gens is n (a directoryName). */
static int
crl_gens_have_dn(const GENERAL_NAMES *gens, const X509_NAME *n)
{
	const GENERAL_NAME	*g;
	int			 i;

	for (i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
		g = sk_GENERAL_NAME_value(gens, i);
		if (g->type == GEN_DIRNAME &&
		    X509_NAME_cmp(g->d.directoryName, n) == 0)
			return 1;
	}
	return 0;
}

/* Whether two lists of general names share one. */
static int
crl_gens_meet(const GENERAL_NAMES *a, const GENERAL_NAMES *b)
{
	int	 i, j;

	for (i = 0; i < sk_GENERAL_NAME_num(a); i++)
		for (j = 0; j < sk_GENERAL_NAME_num(b); j++)
			if (GENERAL_NAME_cmp(sk_GENERAL_NAME_value(a, i),
			    sk_GENERAL_NAME_value(b, j)) == 0)
				return 1;
	return 0;
}

/* Whether the CRL's IDP names meet a distribution point's name. */
static int
crl_dpname_meets(const struct crl_meta *m, const DIST_POINT_NAME *dpn)
{
	if (dpn->type == 0)
		return crl_gens_meet(m->dp, dpn->name.fullname);
	return dpn->dpname != NULL && crl_gens_have_dn(m->dp, dpn->dpname);
}

/* Whether the signer of m has a valid path to anchor at time at (f). */
static int
crl_anchored(const struct crl_meta *m, X509 *anchor, time_t at)
{
	size_t	 k;

	for (k = 0; k < m->nanchor; k++)
		if ((m->anchor[k] == anchor || X509_cmp(m->anchor[k],
		    anchor) == 0) && at >= m->anchor_from[k] &&
		    at <= m->anchor_until[k])
			return 1;
	return 0;
}

/*
 * The reasons for which m answers about c at time at, 0 when it does not
 * apply: RFC 5280 6.3.3 (b) the issuer (or, for an indirect CRL, the
 * cRLIssuer of a distribution point) and the scope of its IDP, (d) the
 * reasons, (f) a signer with a valid path to the certificate's anchor.
 * A certificate without CRL Distribution Points has one implicit point:
 * no name, its issuer, all reasons.
 */
unsigned int
crl_applies_why(const struct crl_meta *m, struct crl_cert *c, time_t at,
    enum crl_miss *why)
{
	STACK_OF(DIST_POINT)	*cdp;
	DIST_POINT		*dp;
	unsigned int		 r, reasons = 0;
	int			 i, direct, met = 0;

	*why = CRL_MISS_NONE;
	direct = X509_NAME_cmp(m->issuer_name, c->iname) == 0;
	if (!direct && !m->indirect) {
		*why = CRL_MISS_ISSUER;
		return 0;
	}
	if (m->only_attr || (m->only_user && c->ca) || (m->only_ca && !c->ca)) {
		*why = CRL_MISS_KIND;
		return 0;
	}
	if (!crl_anchored(m, c->anchor, at)) {
		*why = CRL_MISS_ANCHOR;
		return 0;
	}
	if ((cdp = crl_cert_cdp(c)) == NULL || sk_DIST_POINT_num(cdp) == 0) {
		if (direct && m->dp == NULL)
			return m->reasons;
		*why = direct ? CRL_MISS_POINT : CRL_MISS_ISSUER;
		return 0;
	}
	for (i = 0; i < sk_DIST_POINT_num(cdp); i++) {
		dp = sk_DIST_POINT_value(cdp, i);
		if (dp->CRLissuer != NULL) {
			if (!m->indirect ||
			    !crl_gens_have_dn(dp->CRLissuer, m->issuer_name))
				continue;
		} else if (!direct)
			continue;
		if (m->dp != NULL) {
			if (dp->distpoint != NULL) {
				if (!crl_dpname_meets(m, dp->distpoint))
					continue;
			} else if (dp->CRLissuer == NULL ||
			    !crl_gens_meet(m->dp, dp->CRLissuer))
				continue;
		}
		met = 1;
		r = m->reasons;
		if (dp->reasons != NULL)
			r &= crl_reason_bits(dp->reasons);
		reasons |= r;
	}
	if (reasons == 0)
		*why = met ? CRL_MISS_REASONS : CRL_MISS_POINT;
	return reasons;
}

unsigned int
crl_applies(const struct crl_meta *m, struct crl_cert *c, time_t at)
{
	enum crl_miss	 why;

	return crl_applies_why(m, c, at, &why);
}


/* Later thisUpdate, or the same and a higher CRL number. */
int
crl_newer(const struct crl_meta *a, const struct crl_meta *b)
{
	size_t	 la = strlen(a->number), lb = strlen(b->number);

	if (a->this_update != b->this_update)
		return a->this_update > b->this_update;
	if (la != lb)
		return la > lb;
	return strcmp(a->number, b->number) > 0;
}

void
crl_info_call(const struct crl_meta *m, const char *source,
    void (*fn)(void *, const struct crl_info *), void *arg)
{
	struct crl_info		 ci;
	const GENERAL_NAME	*g;
	char			 src[1200], dn[256];

	if (m->dp != NULL && (g = sk_GENERAL_NAME_value(m->dp, 0)) != NULL) {
		if (g->type == GEN_URI)
			snprintf(src, sizeof(src), "%s (%.*s)", source,
			    ASN1_STRING_length(g->d.uniformResourceIdentifier),
			    ASN1_STRING_get0_data(
			    g->d.uniformResourceIdentifier));
		else if (g->type == GEN_DIRNAME) {
			identity_dn(g->d.directoryName, dn, sizeof(dn));
			snprintf(src, sizeof(src), "%s (%s)", source, dn);
		} else
			snprintf(src, sizeof(src), "%s (a partition)", source);
		source = src;
	}
	ci.issuer = m->issuer_dn;
	ci.source = source;
	ci.this_update = m->this_update;
	ci.next_update = m->next_update;
	fn(arg, &ci);
}

