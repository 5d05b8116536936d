/*
 * crl.c: CRL files, checked once at load, serials indexed, looked up per
 * new certificate.
 *
 * Load: every CRL is matched to the CA certificate that signed it (name
 * and, when present, authority key identifier; then the signature decides),
 * checked (cRLSign, thisUpdate, critical extensions, no indirect
 * CRL), and its revoked serials written to the store under the SHA-256 of
 * the CRL.  Only the small metadata stays in memory; the X509_CRL, with
 * its list of revoked entries, is freed at once.
 *
 * Check: for each certificate in scope, the newest CRL of its issuer that
 * applies to it (Issuing Distribution Point), its times, then the serial.
 *
 * A file's record for the next start is crlrec.c; CRLs fetched from
 * distribution points are crldp.c; crl_int.h is what the three share.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "crl_int.h"
#include "err.h"
#include "identity.h"
#include "log.h"
#include "metrics.h"
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

void
crl_set_free(struct crl_set **ps)
{
	struct crl_set	*s = *ps;
	size_t		 i;

	if (s == NULL)
		return;
	for (i = 0; i < s->n; i++)
		crl_meta_cleanup(&s->m[i]);
	free(s->m);
	free(s->rej);
	free(s);
	*ps = NULL;
}

size_t
crl_set_count(const struct crl_set *s)
{
	return s != NULL ? s->n : 0;
}

const char *
crl_set_name(const struct crl_set *s, size_t i)
{
	return s != NULL && i < s->n && s->m[i].store != NULL ?
	    s->m[i].setname : NULL;
}

size_t
crl_set_entries(const struct crl_set *s)
{
	return s != NULL ? s->entries : 0;
}

/*
 * The signer of a CRL and where its paths end (RFC 5280 6.3.3 (f)): every
 * configured certificate named like the CRL's issuer (and matching its
 * AKID) whose key verifies crl's signature and that may sign CRLs, each
 * validated to a trust anchor.  Several certificates may carry one key (a
 * self-signed root and its new-with-old certificate): each adds its
 * anchor.  With crl NULL (a CRL checked when first loaded, now from the
 * record), the key of m->issuer stands for the signature.  Fills
 * m->issuer (when NULL) and the anchors; 0, or -1 with *why and buf.
 */
int
crl_signers(struct crl_meta *m, const struct chain_store *chain,
    X509_CRL *crl, enum crl_reject *why, char *buf, size_t len)
{
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
			if (X509_CRL_verify(crl, pk) != 1)
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
    X509_CRL *crl, enum crl_reject *why, char *buf, size_t len)
{
	const STACK_OF(X509_REVOKED)	*rev;
	const STACK_OF(X509_EXTENSION)	*exts;
	X509_EXTENSION			*ext;
	time_t				 tu;
	char				 oid[80];
	int				 i, j, nid;

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
	rev = X509_CRL_get_REVOKED(crl);
	for (i = 0; i < sk_X509_REVOKED_num(rev); i++) {
		exts = X509_REVOKED_get0_extensions(sk_X509_REVOKED_value(rev,
		    i));
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
				snprintf(buf, len, "a certificateIssuer entry in "
				    "a CRL that is not indirect");
				return -1;
			}
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
	return crl_signers(m, chain, crl, why, buf, len);
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
crl_meta_index(struct crl_meta *m, X509_CRL *crl, struct store *store,
    const unsigned char *der, size_t derlen, size_t *count,
    enum crl_reject *why, char *err, size_t errlen)
{
	const STACK_OF(X509_REVOKED)	*rev = X509_CRL_get_REVOKED(crl);
	struct store_writer		*w = NULL;
	X509_REVOKED			*r;
	unsigned char			 key[STORE_KEY_MAX], md[32], *kp;
	char				 name[STORE_NAME_MAX];
	size_t				 klen, i, n, pre;
	int				 nrev = sk_X509_REVOKED_num(rev), idx = 0;

	*count = 0;
	*why = CRL_REJECT_INDEX;
	pre = m->indirect ? 1 : 0;
	if (m->indirect && crl_ind_index(m, m->issuer_name) != 0) {
		snprintf(err, errlen, "out of memory");
		return AUTHD_ENOMEM;
	}
	if (store != NULL) {
		if (identity_sha256(der, derlen, md) != 0)
			return AUTHD_ECRYPTO;
		memcpy(name, "crl:", 4);
		identity_hex(md, name + 4);
		memcpy(m->setname, name, strlen(name) + 1);
		/*
		 * Found: the serials are there, but an indirect CRL's issuer
		 * table is built from the entries all the same.
		 */
		if (!m->indirect && store_set_find(store, name, &m->set,
		    count) == 0) {
			m->store = store;
			return 0;
		}
		if (store_set_find(store, name, &m->set, count) != 0 &&
		    store_writer_new(store, name, (size_t)(nrev > 0 ? nrev :
		    1), &w) != 0)
			return AUTHD_ENOMEM;
	} else if (nrev > 0 &&
	    (m->keys = calloc((size_t)nrev, sizeof(*m->keys))) == NULL)
		return AUTHD_ENOMEM;
	for (i = 0; i < (size_t)(nrev > 0 ? nrev : 0); i++) {
		r = sk_X509_REVOKED_value(rev, (int)i);
		if (m->indirect && crl_entry_issuer(m, r, &idx) != 0) {
			*why = idx < 0 || m->nind >= CRL_IND_MAX ?
			    CRL_REJECT_LIMIT : CRL_REJECT_SCOPE;
			snprintf(err, errlen, "a certificateIssuer entry "
			    "without a directoryName, or more than %d issuers",
			    CRL_IND_MAX);
			store_writer_free(&w);
			return AUTHD_ERANGE;
		}
		kp = key + pre;
		key[0] = (unsigned char)idx;
		klen = crl_serial_key(X509_REVOKED_get0_serialNumber(r), kp,
		    sizeof(key) - pre);
		if (klen == 0) {
			snprintf(err, errlen, "a revoked serial longer than "
			    "%d bytes", STORE_KEY_MAX - 2);
			store_writer_free(&w);
			return AUTHD_ERANGE;
		}
		klen += pre;
		if (m->is_delta && crl_entry_removed(r))
			kp[0] |= CRL_KEY_REMOVED;
		if (store != NULL) {
			if (w != NULL && store_writer_add(w, key, klen) != 0)
				goto fail;
			continue;
		}
		if ((m->keys[m->nkeys] = malloc(klen + 1)) == NULL)
			goto fail;
		m->keys[m->nkeys][0] = (unsigned char)klen;
		memcpy(m->keys[m->nkeys] + 1, key, klen);
		m->nkeys++;
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
	store_writer_free(&w);
	return AUTHD_ENOMEM;
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
static int
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
crl_meta_build(struct crl_meta *m, const struct chain_store *chain,
    struct store *store, X509_CRL *crl, const char *source, size_t *count,
    enum crl_reject *reject, char *err, size_t errlen)
{
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
		rc = crl_validate(m, chain, crl, reject, buf, sizeof(buf));
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
	if ((derlen = i2d_X509_CRL(crl, &der)) <= 0) {
		snprintf(err, errlen, "cannot encode the CRL");
		crl_meta_cleanup(m);
		return AUTHD_ECRYPTO;
	}
	rc = crl_meta_index(m, crl, store, der, (size_t)derlen, count, reject,
	    ierr, sizeof(ierr));
	OPENSSL_free(der);
	if (rc != 0) {
		snprintf(err, errlen, "CRL of %s: cannot index: %s",
		    m->issuer_dn, ierr[0] ? ierr : err_str(rc));
		crl_meta_cleanup(m);
	}
	return rc;
}

/*
 * Whether x (issued by issuer) is revoked by base, as changed by delta
 * (NULL: none): 1 yes, 0 no, negative when an index cannot be read.
 */
static int
crl_revoked(const struct crl_meta *base, const struct crl_meta *delta,
    X509 *x)
{
	const ASN1_INTEGER	*serial = X509_get0_serialNumber(x);
	const X509_NAME		*issuer = X509_get_issuer_name(x);
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

/* Note a rejected source; the caller logs them all at the end. */
static void
crl_reject(struct crl_set *s, const char *source, enum crl_reject why,
    const char *issuer_dn, const char *detail)
{
	struct crl_rej	*r;

	if (s->rej == NULL &&
	    (s->rej = calloc(CRL_REJECT_MAX, sizeof(*s->rej))) == NULL) {
		s->nrej_more++;
		return;
	}
	if (s->nrej >= CRL_REJECT_MAX) {
		s->nrej_more++;
		return;
	}
	r = &s->rej[s->nrej++];
	snprintf(r->source, sizeof(r->source), "%s", source);
	r->why = why;
	snprintf(r->detail, sizeof(r->detail), "%s", detail);
	snprintf(r->issuer_dn, sizeof(r->issuer_dn), "%s",
	    issuer_dn != NULL ? issuer_dn : "");
	r->kept = 0;
}

/*
 * Take one CRL from a file: 0 when built and added, 1 when rejected (noted
 * in s), or AUTHD_ENOMEM.
 */
static int
crl_add(struct crl_set *s, const char *path, const struct chain_store *chain,
    struct store *store, X509_CRL *crl)
{
	enum crl_reject	 why = CRL_REJECT_UNREADABLE;
	char		 err[CRL_DETAIL_MAX], dn[256];
	size_t		 count;
	int		 rc;

	if (s->n >= CRL_MAX) {
		identity_dn(X509_CRL_get_issuer(crl), dn, sizeof(dn));
		snprintf(err, sizeof(err), "more than %d CRLs in all", CRL_MAX);
		crl_reject(s, path, CRL_REJECT_LIMIT, dn, err);
		return 1;
	}
	if ((rc = crl_meta_build(&s->m[s->n], chain, store, crl, path, &count,
	    &why, err, sizeof(err))) != 0) {
		if (rc == AUTHD_ENOMEM)
			return rc;
		identity_dn(X509_CRL_get_issuer(crl), dn, sizeof(dn));
		crl_reject(s, path, why, dn, err);
		return 1;
	}
	s->entries += count;
	s->n++;
	return 0;
}

/*
 * Every CRL in one file: PEM blocks, or DER one after another.  Returns 0
 * (whatever was rejected is noted in s), AUTHD_ECONFIG when the file cannot
 * be opened or read, AUTHD_ENOMEM.
 */
static int
crl_load_file(struct crl_set *s, struct config *cfg, const char *origin,
    const char *path, const struct chain_store *chain, struct store *store)
{
	BIO		*bio = NULL;
	X509_CRL	*crl;
	FILE		*f;
	unsigned char	*buf = NULL;
	const unsigned char *p;
	long		 len;
	int		 rc = 0, n = 0, r, rejected = 0;
	char		 ossl[256] = "", name[STORE_NAME_MAX] = "";
	char		 detail[CRL_DETAIL_MAX];
	unsigned char	 md[IDENTITY_SHA256_LEN];
	size_t		 first, entries, firstrej = s->nrej, kept, i;

	if ((f = fopen(path, "rb")) == NULL) {
		config_error(cfg, origin, "cannot read %s: %s", path,
		    strerror(errno));
		return AUTHD_ECONFIG;
	}
	if (fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0) {
		config_error(cfg, origin, "cannot read %s: %s", path,
		    strerror(errno));
		fclose(f);
		return AUTHD_ECONFIG;
	}
	if (len > CRL_FILE_MAX) {
		snprintf(detail, sizeof(detail), "larger than %ld bytes",
		    CRL_FILE_MAX);
		crl_reject(s, path, CRL_REJECT_UNREADABLE, NULL, detail);
		fclose(f);
		goto keep;
	}
	if ((buf = malloc((size_t)len + 1)) == NULL) {
		fclose(f);
		return AUTHD_ENOMEM;
	}
	if (fread(buf, 1, (size_t)len, f) != (size_t)len) {
		config_error(cfg, origin, "%s: read error", path);
		fclose(f);
		rc = AUTHD_ECONFIG;
		goto end;
	}
	fclose(f);
	buf[len] = '\0';
	first = s->n;
	entries = s->entries;
	if (store != NULL && identity_sha256(buf, (size_t)len, md) == 0) {
		memcpy(name, "crlfile:", 8);
		identity_hex(md, name + 8);
		if ((n = crl_rec_load(s, store, name, chain, path)) > 0) {
			log_info("%s: %d CRL(s) unchanged since checked: not "
			    "parsed again", path, n);
			crl_path_store(store, path, name);
			goto end;
		}
		n = 0;
		s->entries = entries;
	}
	ERR_clear_error();
	if (memmem(buf, (size_t)len, "-----BEGIN X509 CRL-----", 24) != NULL) {
		if ((bio = BIO_new_mem_buf(buf, (int)len)) == NULL) {
			rc = AUTHD_ENOMEM;
			goto end;
		}
		while ((crl = PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL)) !=
		    NULL) {
			n++;
			r = crl_add(s, path, chain, store, crl);
			X509_CRL_free(crl);
			if (r < 0) {
				rc = r;
				goto end;
			}
			rejected |= r;
		}
		if (ERR_GET_REASON(ERR_peek_last_error()) == PEM_R_NO_START_LINE)
			ERR_clear_error();
	} else {
		for (p = buf; p < buf + len;) {
			if ((crl = d2i_X509_CRL(NULL, &p, (long)(buf + len -
			    p))) == NULL)
				break;
			n++;
			r = crl_add(s, path, chain, store, crl);
			X509_CRL_free(crl);
			if (r < 0) {
				rc = r;
				goto end;
			}
			rejected |= r;
		}
	}
	if (ERR_peek_error() != 0) {
		snprintf(detail, sizeof(detail), "not a valid CRL file (after "
		    "%d CRL(s)): %s", n, err_openssl(ossl, sizeof(ossl)));
		crl_reject(s, path, CRL_REJECT_UNREADABLE, NULL, detail);
		rejected = 1;
	} else if (n == 0) {
		crl_reject(s, path, CRL_REJECT_UNREADABLE, NULL,
		    "no CRL found");
		rejected = 1;
	}
	if (!rejected) {
		if (store != NULL && name[0] != '\0') {
			crl_rec_store(store, name, &s->m[first], s->n - first);
			crl_path_store(store, path, name);
		}
		goto end;
	}
keep:
	if (store != NULL && (kept = crl_path_keep(s, store, path, chain)) > 0)
		for (i = firstrej; i < s->nrej; i++)
			s->rej[i].kept = kept;
end:
	ERR_clear_error();
	BIO_free(bio);
	free(buf);
	return rc;
}

static int
crl_name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A file, or every regular file of a directory (sorted, dotfiles skipped). */
static int
crl_load_path(struct crl_set *s, struct config *cfg,
    const struct config_item *it, const struct chain_store *chain,
    struct store *store)
{
	struct stat	 sb;
	struct dirent	*de;
	DIR		*d;
	char		**names = NULL, path[4096];
	size_t		 n = 0, cap = 0, i;
	int		 rc = 0, r;
	void		*p;

	if (stat(it->value, &sb) != 0) {
		config_error(cfg, it->origin, "cannot read %s: %s", it->value,
		    strerror(errno));
		return AUTHD_ECONFIG;
	}
	if (!S_ISDIR(sb.st_mode))
		return crl_load_file(s, cfg, it->origin, it->value, chain,
		    store);
	if ((d = opendir(it->value)) == NULL) {
		config_error(cfg, it->origin, "cannot read %s: %s", it->value,
		    strerror(errno));
		return AUTHD_ECONFIG;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", it->value, de->d_name);
		if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			if ((p = realloc(names, cap * sizeof(*names))) == NULL) {
				rc = AUTHD_ENOMEM;
				goto end;
			}
			names = p;
		}
		if ((names[n] = strdup(path)) == NULL) {
			rc = AUTHD_ENOMEM;
			goto end;
		}
		n++;
	}
	if (n > 0)
		qsort(names, n, sizeof(*names), crl_name_cmp);
	for (i = 0; i < n && rc != AUTHD_ENOMEM; i++)
		if ((r = crl_load_file(s, cfg, it->origin, names[i], chain,
		    store)) != 0)
			rc = r;
	/* Nothing to read is not unreadable: the issuers have no CRL. */
	if (n == 0)
		crl_reject(s, it->value, CRL_REJECT_UNREADABLE, NULL,
		    "no files in the directory");
end:
	closedir(d);
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}

/* Whether prev rejected r's source the same way (then it was logged). */
static int
crl_rejected_before(const struct crl_set *prev, const struct crl_rej *r)
{
	size_t	 i;

	for (i = 0; prev != NULL && i < prev->nrej; i++)
		if (prev->rej[i].why == r->why &&
		    strcmp(prev->rej[i].source, r->source) == 0 &&
		    strcmp(prev->rej[i].detail, r->detail) == 0)
			return 1;
	return 0;
}

static void
crl_log_rejected(const struct crl_set *s, const struct crl_set *prev)
{
	const struct crl_rej	*r;
	char			 kept[128] = "";
	size_t			 i;

	for (i = 0; i < s->nrej; i++) {
		r = &s->rej[i];
		if (r->kept > 0)
			snprintf(kept, sizeof(kept), "; its last good %zu CRL(s) "
			    "stay in use until their nextUpdate", r->kept);
		else
			snprintf(kept, sizeof(kept), "; nothing of it is used");
		if (crl_rejected_before(prev, r)) {
			log_info("%s: CRL still rejected (%s): %s%s", r->source,
			    crl_reject_str(r->why), r->detail, kept);
			continue;
		}
		log_warnx("%s: CRL rejected (%s): %s%s", r->source,
		    crl_reject_str(r->why), r->detail, kept);
		metrics_crl_rejected((unsigned int)r->why);
	}
	if (s->nrej_more > 0)
		log_warnx("%zu more CRL(s) rejected, not listed", s->nrej_more);
}

int
crl_set_load(struct config *cfg, const struct chain_store *chain,
    struct store *store, const struct crl_set *prev, struct crl_set **out)
{
	struct crl_set	*s;
	size_t		 i;
	int		 rc = 0, r;

	*out = NULL;
	/*
	 * CRL checking is on with CRL files, or with crl_fetch set on
	 * explicitly (distribution points only); by default it is off.
	 */
	if (cfg->crl.n == 0 && !(cfg->crl_fetch &&
	    config_is_set(cfg, "crl_fetch")))
		return 0;
	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->m = calloc(CRL_MAX, sizeof(*s->m))) == NULL) {
		free(s);
		return AUTHD_ENOMEM;
	}
	for (i = 0; i < cfg->crl.n && rc != AUTHD_ENOMEM; i++)
		if ((r = crl_load_path(s, cfg, &cfg->crl.items[i], chain,
		    store)) != 0)
			rc = r;
	/* A big CRL leaves freed heap behind: give it back. */
	malloc_trim(0);
	if (rc != 0) {
		crl_set_free(&s);
		return rc;
	}
	crl_log_rejected(s, prev);
	*out = s;
	return 0;
}

size_t
crl_set_rejected(const struct crl_set *s)
{
	return s != NULL ? s->nrej + s->nrej_more : 0;
}

void
crl_foreach_rejected(const struct crl_set *s,
    void (*fn)(void *, const struct crl_rejection *), void *arg)
{
	struct crl_rejection	 r;
	size_t			 i;

	for (i = 0; s != NULL && i < s->nrej; i++) {
		r.source = s->rej[i].source;
		r.why = s->rej[i].why;
		r.detail = s->rej[i].detail;
		r.issuer = s->rej[i].issuer_dn;
		r.kept = s->rej[i].kept;
		fn(arg, &r);
	}
}

static void
crl_cert_init(struct crl_cert *c, STACK_OF(X509) *chain, int i)
{
	memset(c, 0, sizeof(*c));
	c->x = sk_X509_value(chain, i);
	c->issuer = sk_X509_value(chain, i + 1);
	c->anchor = sk_X509_value(chain, sk_X509_num(chain) - 1);
	c->ca = X509_check_ca(c->x) != 0;
}

static void
crl_cert_cleanup(struct crl_cert *c)
{
	sk_DIST_POINT_pop_free(c->cdp, DIST_POINT_free);
	c->cdp = NULL;
}

/*
 * The certificate's distribution points, each relative name made whole
 * against its cRLIssuer, else the certificate's issuer (RFC 5280 4.2.1.13).
 */
static STACK_OF(DIST_POINT) *
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
	if (X509_get_ext_by_NID(c->x, NID_crl_distribution_points, -1) < 0)
		return NULL;
	c->cdp = X509_get_ext_d2i(c->x, NID_crl_distribution_points, NULL,
	    NULL);
	for (i = 0; c->cdp != NULL && i < sk_DIST_POINT_num(c->cdp); i++) {
		dp = sk_DIST_POINT_value(c->cdp, i);
		if (dp->distpoint == NULL || dp->distpoint->type != 1)
			continue;
		iname = X509_get_issuer_name(c->x);
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
/* Why a CRL does not answer for a certificate (authd check explains). */
enum crl_miss {
	CRL_MISS_NONE = 0,
	CRL_MISS_KIND,		/* onlyContains... another kind */
	CRL_MISS_ANCHOR,	/* its signer's path ends elsewhere, or not now */
	CRL_MISS_ISSUER,	/* another issuer, and not an indirect CRL */
	CRL_MISS_POINT,		/* another distribution point or cRLIssuer */
	CRL_MISS_REASONS,	/* none of the reasons the point asks for */
};

static unsigned int
crl_applies_why(const struct crl_meta *m, struct crl_cert *c, time_t at,
    enum crl_miss *why)
{
	STACK_OF(DIST_POINT)	*cdp;
	DIST_POINT		*dp;
	unsigned int		 r, reasons = 0;
	int			 i, direct, met = 0;

	*why = CRL_MISS_NONE;
	direct = X509_NAME_cmp(m->issuer_name,
	    X509_get_issuer_name(c->x)) == 0;
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

/*
 * Two CRLs of one series: the same issuer, signer key and scope.  Of a
 * series, only the newest counts (a hold released drops an entry).
 */
static int
crl_same_series(const struct crl_meta *a, const struct crl_meta *b)
{
	int	 i;

	if (a->reasons != b->reasons || a->indirect != b->indirect ||
	    a->only_user != b->only_user || a->only_ca != b->only_ca ||
	    a->only_attr != b->only_attr || (a->dp == NULL) != (b->dp == NULL) ||
	    X509_NAME_cmp(a->issuer_name, b->issuer_name) != 0)
		return 0;
	if (a->issuer != b->issuer && EVP_PKEY_eq(X509_get0_pubkey(a->issuer),
	    X509_get0_pubkey(b->issuer)) != 1)
		return 0;
	if (a->dp == NULL)
		return 1;
	if (sk_GENERAL_NAME_num(a->dp) != sk_GENERAL_NAME_num(b->dp))
		return 0;
	for (i = 0; i < sk_GENERAL_NAME_num(a->dp); i++)
		if (GENERAL_NAME_cmp(sk_GENERAL_NAME_value(a->dp, i),
		    sk_GENERAL_NAME_value(b->dp, i)) != 0)
			return 0;
	return 1;
}

/* A CRL that answers for a certificate, with its delta and reasons. */
struct crl_pick {
	const struct crl_meta	*base, *delta;
	unsigned int		 reasons;
};

/*
 * The CRLs of s that answer for c at time at (RFC 5280 6.3.3): of each
 * series that applies, the newest complete CRL in force (not issued after
 * at), and the newest delta that builds on it (5.2.4: its BaseCRLNumber
 * not above the base's number, issued after it).  Several series answer
 * together: each key of a renewed CA, each reason partition.  Returns how
 * many, at most max.
 */
static size_t
crl_pick(const struct crl_set *s, struct crl_cert *c, time_t at,
    struct crl_pick *out, size_t max)
{
	const struct crl_meta	*m;
	struct crl_pick		*p;
	unsigned int		 r;
	size_t			 i, k, n = 0;

	for (i = 0; s != NULL && i < s->n; i++) {
		m = &s->m[i];
		if (m->is_delta || m->this_update > at + CRL_SKEW ||
		    (r = crl_applies(m, c, at)) == 0)
			continue;
		for (k = 0; k < n && !crl_same_series(out[k].base, m); k++)
			;
		if (k < n) {
			if (crl_newer(m, out[k].base)) {
				out[k].base = m;
				out[k].reasons = r;
			}
		} else if (n < max) {
			out[n].base = m;
			out[n].delta = NULL;
			out[n].reasons = r;
			n++;
		}
	}
	for (i = 0; s != NULL && i < s->n; i++) {
		m = &s->m[i];
		if (!m->is_delta || m->this_update > at + CRL_SKEW)
			continue;
		for (k = 0; k < n; k++) {
			p = &out[k];
			if (!crl_same_series(p->base, m) ||
			    m->this_update < p->base->this_update ||
			    p->base->number[0] == '\0' ||
			    crl_hex_cmp(m->base_number, p->base->number) > 0 ||
			    crl_applies(m, c, at) == 0)
				continue;
			if (p->delta == NULL || crl_newer(m, p->delta))
				p->delta = m;
		}
	}
	return n;
}

/* Whether a CRL is past nextUpdate and the grace at time at. */
static int
crl_expired(const struct crl_meta *m, time_t at, time_t grace)
{
	return m != NULL && m->next_update != 0 && at > m->next_update + grace;
}

/* The reasons of a mask, for a message. */
static void
crl_reasons_str(unsigned int mask, char *buf, size_t len)
{
	static const char *const names[] = { "unused", "keyCompromise",
	    "cACompromise", "affiliationChanged", "superseded",
	    "cessationOfOperation", "certificateHold", "privilegeWithdrawn",
	    "aACompromise" };
	size_t	 o = 0;
	int	 i, n;

	buf[0] = '\0';
	for (i = 1; i <= 8; i++) {
		if (!(mask & (1u << i)))
			continue;
		n = snprintf(buf + o, len - o, "%s%s", o ? "," : "", names[i]);
		if (n < 0 || (size_t)n >= len - o)
			break;
		o += (size_t)n;
	}
}

/*
 * A rejection that may be why issuer has no CRL: one whose CRL names it as
 * issuer, else one that could not be read at all (no issuer known).
 */
static const struct crl_rej *
crl_rejected_for(const struct crl_set *s, X509 *issuer)
{
	const struct crl_rej	*unread = NULL;
	char			 dn[256];
	size_t			 i;

	if (s->nrej == 0)
		return NULL;
	identity_dn(X509_get_subject_name(issuer), dn, sizeof(dn));
	for (i = 0; i < s->nrej; i++) {
		if (strcmp(s->rej[i].issuer_dn, dn) == 0)
			return &s->rej[i];
		if (s->rej[i].issuer_dn[0] == '\0' && unread == NULL)
			unread = &s->rej[i];
	}
	return unread;
}

/*
 * The certificate at depth i of chain against the CRLs that answer for it
 * (RFC 5280 6.3.3): revoked when any in-force CRL lists it; not revoked
 * only when the CRLs in force cover every reason.  Returns 0 when it is
 * not revoked (or its CRLs are missing and missing_allow), else 1 with
 * res filled.
 */
static int
crl_check_one(const struct crl_set *s, const struct crl_fetch_ctx *fetch,
    STACK_OF(X509) *chain, int i, time_t at, int missing_allow, time_t grace,
    struct crl_result *res)
{
	struct crl_pick		 picks[CRL_PICK_MAX + 1];
	const struct crl_pick	*p, *expired = NULL;
	const struct crl_rej	*r;
	struct crl_cert		 c;
	struct crldp_crl	*fetched = NULL;
	char			 dn[256], why[512] = "", rs[160];
	unsigned int		 covered = 0, fr;
	size_t			 n, k;
	time_t			 t;
	int			 rc, stop = 1, grace_used = 0;

	crl_cert_init(&c, chain, i);
	n = crl_pick(s, &c, at, picks, CRL_PICK_MAX);
	for (k = 0; ; k++) {
		if (k == n) {
			/* The files leave reasons open: the DPs, once. */
			if (covered == CRL_REASONS_ALL || fetched != NULL ||
			    res->pending_url[0] != '\0')
				break;
			fetched = crldp_for(fetch, &c, at, grace, res->pending_url,
			    sizeof(res->pending_url), why, sizeof(why));
			if (res->pending_url[0] != '\0') {
				res->status = CRL_PENDING;
				res->depth = i;
				snprintf(res->detail, sizeof(res->detail),
				    "fetching %.400s", res->pending_url);
				goto end;
			}
			if (fetched == NULL || (fr = crl_applies(&fetched->m,
			    &c, at)) == 0)
				break;
			picks[n].base = &fetched->m;
			picks[n].delta = NULL;
			picks[n].reasons = fr;
			n++;
		}
		p = &picks[k];
		if ((rc = crl_revoked(p->base, p->delta, c.x)) != 0) {
			/*
			 * Without the certificate's name: the caller has it
			 * (formatting a DN costs more than the lookup).
			 */
			res->status = rc > 0 ? CRL_REVOKED : CRL_ERROR;
			res->depth = i;
			snprintf(res->detail, sizeof(res->detail), rc > 0 ?
			    "revoked by the %sCRL of %.200s (%.200s)" :
			    "cannot read the index of the %sCRL of %.200s "
			    "(%.200s)", p->delta != NULL && rc > 0 ? "delta " :
			    "", p->base->issuer_dn, p->base->source);
			goto end;
		}
		if (crl_expired(p->base, at, grace) ||
		    crl_expired(p->delta, at, grace)) {
			if (expired == NULL)
				expired = p;
			continue;
		}
		covered |= p->reasons;
		if ((p->base->next_update != 0 && at > p->base->next_update) ||
		    (p->delta != NULL && p->delta->next_update != 0 &&
		    at > p->delta->next_update))
			grace_used = 1;
		if (p->base->next_update != 0 &&
		    p->base->next_update + grace < res->valid_until)
			res->valid_until = p->base->next_update + grace;
		if (p->delta != NULL && p->delta->next_update != 0 &&
		    p->delta->next_update + grace < res->valid_until)
			res->valid_until = p->delta->next_update + grace;
		/* How fresh the answer is: its oldest CRL (a delta's time). */
		t = p->delta != NULL ? p->delta->this_update :
		    p->base->this_update;
		if (res->this_update == 0 || t < res->this_update)
			res->this_update = t;
	}
	if (covered == CRL_REASONS_ALL) {
		res->in_grace = res->in_grace || grace_used;
		stop = 0;
		goto end;
	}
	if (expired != NULL) {
		res->status = CRL_EXPIRED;
		res->depth = i;
		p = expired;
		snprintf(res->detail, sizeof(res->detail), "the %sCRL of %.200s "
		    "(%.200s) is past its nextUpdate",
		    crl_expired(p->base, at, grace) ? "" : "delta ",
		    p->base->issuer_dn, crl_expired(p->base, at, grace) ?
		    p->base->source : p->delta->source);
		goto end;
	}
	if (missing_allow) {
		stop = 0;
		goto end;
	}
	/* Names only for the answers that show them. */
	identity_dn(X509_get_subject_name(c.x), dn, sizeof(dn));
	res->status = CRL_MISSING;
	res->depth = i;
	if (covered != 0) {
		crl_reasons_str(CRL_REASONS_ALL & ~covered, rs, sizeof(rs));
		snprintf(why, sizeof(why), "its CRLs do not cover every reason "
		    "(none for %s)", rs);
	} else if ((r = crl_rejected_for(s, c.issuer)) != NULL)
		snprintf(why, sizeof(why), "%.200s was rejected (%s): %.200s",
		    r->source, crl_reject_str(r->why), r->detail);
	else if (why[0] == '\0')
		snprintf(why, sizeof(why), "none applies");
	snprintf(res->detail, sizeof(res->detail), "no CRL from the "
	    "issuer of %.200s (depth %d): %.250s", dn, i, why);
end:
	crl_cert_cleanup(&c);
	crldp_release(fetched);
	return stop;
}

static void
crl_result_init(struct crl_result *res)
{
	res->status = CRL_GOOD;
	res->depth = -1;
	res->detail[0] = '\0';
	res->valid_until = (time_t)1 << 62;
	res->in_grace = 0;
	res->this_update = 0;
	res->pending_url[0] = '\0';
}

void
crl_check(const struct crl_set *s, STACK_OF(X509) *chain, time_t at,
    enum crl_scope scope, int missing_allow, time_t grace,
    struct crl_result *res)
{
	int	 i, last;

	crl_result_init(res);
	if (s == NULL)
		return;
	if (chain == NULL) {		/* no memory for the chain: fail closed */
		res->status = CRL_ERROR;
		snprintf(res->detail, sizeof(res->detail), "no chain to check");
		return;
	}
	/* The anchor is trusted as configured: nothing above it to ask. */
	last = scope == CRL_SCOPE_LEAF ? 1 : sk_X509_num(chain) - 1;
	for (i = 0; i < last && i + 1 < sk_X509_num(chain); i++)
		if (crl_check_one(s, NULL, chain, i, at, missing_allow, grace,
		    res))
			return;
}

void
crl_check_depth(const struct crl_set *s, const struct crl_fetch_ctx *fetch,
    STACK_OF(X509) *chain, int depth, time_t at, int missing_allow,
    time_t grace, struct crl_result *res)
{
	crl_result_init(res);
	if (s == NULL)
		return;
	if (chain == NULL || depth < 0 || depth + 1 >= sk_X509_num(chain)) {
		res->status = CRL_ERROR;
		snprintf(res->detail, sizeof(res->detail), "no chain to check");
		return;
	}
	crl_check_one(s, fetch, chain, depth, at, missing_allow, grace, res);
}

static void
crl_time(time_t t, char *buf, size_t len)
{
	struct tm	 tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "@%lld", (long long)t);
}

/* One line about a CRL into buf at *o; -1 when it does not fit. */
static int
crl_describe_one(const struct crl_meta *m, unsigned int reasons,
    X509 *issuer, int depth, char *buf, size_t len, size_t *o)
{
	char	 t1[32], t2[32], base[100] = "", signer[400] = "", rs[160];
	char	 part[200] = "";
	int	 n;

	crl_time(m->this_update, t1, sizeof(t1));
	if (m->next_update != 0)
		crl_time(m->next_update, t2, sizeof(t2));
	else
		snprintf(t2, sizeof(t2), "none");
	if (m->is_delta)
		snprintf(base, sizeof(base), " (delta on base %s)",
		    m->base_number);
	/* The signer, when it is not the issuer's own certificate. */
	if (m->issuer != issuer && X509_cmp(m->issuer, issuer) != 0) {
		char	 by[200], serial[80];

		identity_dn(X509_get_issuer_name(m->issuer), by, sizeof(by));
		identity_serial(X509_get0_serialNumber(m->issuer), serial,
		    sizeof(serial));
		snprintf(signer, sizeof(signer), ", signed by another "
		    "certificate of that name (serial %s, issued by %s)",
		    serial, by);
	}
	if (reasons != CRL_REASONS_ALL) {
		crl_reasons_str(reasons, rs, sizeof(rs));
		snprintf(part, sizeof(part), ", reasons %s", rs);
	}
	n = snprintf(buf + *o, len - *o, "%sdepth %d: %s%sCRL of %s, number "
	    "%s%s, thisUpdate %s, nextUpdate %s, from %s%s%s", *o ? "\n" : "",
	    depth, m->indirect ? "indirect " : "", m->is_delta ? "delta " : "",
	    m->issuer_dn, m->number[0] ? m->number : "-", base, t1, t2,
	    m->source, part, signer);
	if (n < 0 || (size_t)n >= len - *o)
		return -1;
	*o += (size_t)n;
	return 0;
}

/*
 * One line about a CRL of the certificate's issuer (or an indirect one)
 * that does not answer for it, and why; -1 when it does not fit.
 */
static int
crl_describe_unused(const struct crl_meta *m, struct crl_cert *c, time_t at,
    int depth, char *buf, size_t len, size_t *o)
{
	enum crl_miss	 miss;
	const char	*why;
	int		 n;

	if (crl_applies_why(m, c, at, &miss) != 0)
		why = m->this_update > at + CRL_SKEW ? "issued after the "
		    "decision time" : m->is_delta ? "a delta for another "
		    "base" : "an older CRL of the same series";
	else {
		switch (miss) {
		case CRL_MISS_KIND:
			why = "for another kind of certificate "
			    "(onlyContainsUserCerts/CACerts/AttributeCerts)";
			break;
		case CRL_MISS_ANCHOR:
			why = "its signer's path ends at another trust anchor, "
			    "or is not valid at the decision time";
			break;
		case CRL_MISS_POINT:
			why = "another distribution point (partition or "
			    "cRLIssuer) than the certificate's";
			break;
		case CRL_MISS_REASONS:
			why = "none of the reasons the certificate's "
			    "distribution point asks for";
			break;
		default:
			return 0;	/* another issuer: not a candidate */
		}
	}
	n = snprintf(buf + *o, len - *o, "%sdepth %d: not used: %s%sCRL of "
	    "%s, number %s, from %s: %s", *o ? "\n" : "", depth,
	    m->indirect ? "indirect " : "", m->is_delta ? "delta " : "",
	    m->issuer_dn, m->number[0] ? m->number : "-", m->source, why);
	if (n < 0 || (size_t)n >= len - *o)
		return -1;
	*o += (size_t)n;
	return 0;
}

void
crl_describe(const struct crl_set *s, STACK_OF(X509) *chain, time_t at,
    char *buf, size_t len)
{
	struct crl_pick		 picks[CRL_PICK_MAX];
	struct crl_cert		 c;
	const struct crl_meta	*m;
	size_t			 o = 0, n, k, j;
	int			 i, full = 0;

	if (len == 0)
		return;
	buf[0] = '\0';
	for (i = 0; s != NULL && chain != NULL && !full &&
	    i + 1 < sk_X509_num(chain); i++) {
		crl_cert_init(&c, chain, i);
		n = crl_pick(s, &c, at, picks, CRL_PICK_MAX);
		for (k = 0; k < n && !full; k++)
			full = crl_describe_one(picks[k].base, picks[k].reasons,
			    c.issuer, i, buf, len, &o) != 0 ||
			    (picks[k].delta != NULL && crl_describe_one(
			    picks[k].delta, picks[k].reasons, c.issuer, i, buf,
			    len, &o) != 0);
		/* The other candidates, and why each does not answer. */
		for (j = 0; j < s->n && !full; j++) {
			m = &s->m[j];
			for (k = 0; k < n; k++)
				if (picks[k].base == m || picks[k].delta == m)
					break;
			if (k == n)
				full = crl_describe_unused(m, &c, at, i, buf,
				    len, &o) != 0;
		}
		crl_cert_cleanup(&c);
	}
}

/* ------------------------------------------------ for /metrics */

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

void
crl_foreach(const struct crl_set *s, void (*fn)(void *,
    const struct crl_info *), void *arg)
{
	const struct crl_meta	*m, *o;
	size_t			 i, j;
	int			 newest;

	for (i = 0; s != NULL && i < s->n; i++) {
		m = &s->m[i];
		if (m->is_delta)
			continue;
		for (j = 0, newest = 1; j < s->n && newest; j++) {
			o = &s->m[j];
			if (j == i || o->is_delta || !crl_same_series(m, o))
				continue;
			/* The newer one wins; of two equal, the first. */
			if (crl_newer(o, m) || (j < i && !crl_newer(m, o)))
				newest = 0;
		}
		if (newest)
			crl_info_call(m, m->source, fn, arg);
	}
	crldp_foreach(fn, arg);
}
