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

#include "crl.h"
#include "err.h"
#include "identity.h"
#include "log.h"
#include "fetch.h"
#include "metrics.h"
#include "snapshot.h"
#include "store.h"

#define CRL_FILE_MAX	 (512L * 1024 * 1024)	/* bytes per CRL file */
#define CRL_MAX		 1024			/* CRLs in all */
#define CRL_IDP_MAX	 8			/* distribution point names */
#define CRL_SKEW	 300			/* thisUpdate may be this early */
#define CRL_REJECT_MAX	 256			/* rejected sources listed */

struct crl_meta {
	X509		*issuer;		/* the CA that signed it */
	time_t		 this_update, next_update;	/* 0: none */
	char		 number[80];		/* CRL number, hex, or "" */
	int		 is_delta;		/* a delta CRL: changes to a base */
	char		 base_number[80];	/* its BaseCRLNumber, hex */
	char		 source[512];		/* file it came from */
	char		 issuer_dn[256];
	int		 only_user, only_ca;
	char		*idp[CRL_IDP_MAX];	/* IDP fullName URIs */
	size_t		 nidp;
	/* the revoked serials: a store set, or a sorted array in memory */
	struct store	*store;
	store_set_t	 set;
	char		 setname[STORE_NAME_MAX];	/* "crl:<sha256>" */
	unsigned char	**keys;			/* length-prefixed */
	size_t		 nkeys;
};

/* A rejected source (crl.h, struct crl_rejection). */
struct crl_rej {
	char		 source[512];
	enum crl_reject	 why;
	char		 detail[CRL_DETAIL_MAX];
	char		 issuer_dn[256];
	size_t		 kept;
};

struct crl_set {
	struct crl_meta	*m;
	size_t		 n;
	size_t		 entries;
	struct crl_rej	*rej;			/* CRL_REJECT_MAX of them */
	size_t		 nrej;
	size_t		 nrej_more;		/* rejections not listed */
};

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

static void
crl_meta_cleanup(struct crl_meta *m)
{
	size_t	 i;

	X509_free(m->issuer);
	for (i = 0; i < m->nidp; i++)
		free(m->idp[i]);
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

/* The CA certificate whose key signed crl, or NULL. */
static X509 *
crl_find_issuer(const struct chain_store *chain, X509_CRL *crl)
{
	AUTHORITY_KEYID	*akid;
	X509		*x;
	EVP_PKEY	*pk;
	size_t		 i;

	akid = X509_CRL_get_ext_d2i(crl, NID_authority_key_identifier, NULL,
	    NULL);
	for (i = 0; (x = chain_store_ca(chain, i)) != NULL; i++) {
		if (X509_NAME_cmp(X509_get_subject_name(x),
		    X509_CRL_get_issuer(crl)) != 0)
			continue;
		if (akid != NULL && X509_check_akid(x, akid) != X509_V_OK)
			continue;
		if ((pk = X509_get0_pubkey(x)) != NULL &&
		    X509_CRL_verify(crl, pk) == 1)
			break;
	}
	AUTHORITY_KEYID_free(akid);
	ERR_clear_error();
	return x;
}

/* Critical extensions authd understands in a CRL. */
static int
crl_ext_known(int nid)
{
	return nid == NID_issuing_distribution_point ||
	    nid == NID_authority_key_identifier || nid == NID_crl_number ||
	    nid == NID_delta_crl;
}

/*
 * The checks before a CRL is believed: 0, or -1 with *why and the reason in
 * buf.
 */
static int
crl_validate(const struct chain_store *chain, X509_CRL *crl, X509 **issuer,
    enum crl_reject *why, char *buf, size_t len)
{
	const STACK_OF(X509_REVOKED)	*rev;
	X509_EXTENSION			*ext;
	time_t				 tu;
	char				 oid[80];
	int				 i, j, nid;

	*issuer = NULL;
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
		const STACK_OF(X509_EXTENSION) *exts =
		    X509_REVOKED_get0_extensions(sk_X509_REVOKED_value(rev, i));

		for (j = 0; j < sk_X509_EXTENSION_num(exts); j++)
			if (X509_EXTENSION_get_critical(
			    sk_X509_EXTENSION_value(exts, j))) {
				*why = CRL_REJECT_SCOPE;
				snprintf(buf, len, "a critical entry extension "
				    "(an indirect CRL: not supported)");
				return -1;
			}
	}
	if ((*issuer = crl_find_issuer(chain, crl)) == NULL) {
		*why = CRL_REJECT_SIGNATURE;
		snprintf(buf, len, "no trust anchor or intermediate signed it "
		    "(unknown issuer or bad signature)");
		return -1;
	}
	if ((X509_get_extension_flags(*issuer) & EXFLAG_KUSAGE) &&
	    !(X509_get_key_usage(*issuer) & KU_CRL_SIGN)) {
		*why = CRL_REJECT_NO_CRLSIGN;
		snprintf(buf, len, "its issuer may not sign CRLs (no cRLSign "
		    "in keyUsage)");
		return -1;
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
	return 0;
}

static int
crl_meta_idp(struct crl_meta *m, X509_CRL *crl, const char **why)
{
	ISSUING_DIST_POINT	*idp;
	GENERAL_NAME		*g;
	int			 i, rc = 0;

	idp = X509_CRL_get_ext_d2i(crl, NID_issuing_distribution_point, NULL,
	    NULL);
	if (idp == NULL)
		return 0;
	if (idp->indirectCRL || idp->onlysomereasons != NULL) {
		*why = "an indirect or reason-partitioned CRL (not supported)";
		rc = -1;
		goto end;
	}
	m->only_user = idp->onlyuser > 0;
	m->only_ca = idp->onlyCA > 0;
	if (idp->onlyattr > 0) {
		*why = "an attribute-certificate CRL (onlyContainsAttributeCerts)";
		rc = -1;
		goto end;
	}
	if (idp->distpoint != NULL && idp->distpoint->type != 0) {
		*why = "a partitioned CRL named relative to its issuer (not "
		    "supported)";
		rc = -1;
		goto end;
	}
	if (idp->distpoint != NULL && idp->distpoint->type == 0) {
		for (i = 0; i < sk_GENERAL_NAME_num(idp->distpoint->name.fullname);
		    i++) {
			g = sk_GENERAL_NAME_value(idp->distpoint->name.fullname, i);
			if (g->type != GEN_URI || m->nidp >= CRL_IDP_MAX)
				continue;
			if ((m->idp[m->nidp] = strndup((const char *)
			    ASN1_STRING_get0_data(g->d.uniformResourceIdentifier),
			    (size_t)ASN1_STRING_length(
			    g->d.uniformResourceIdentifier))) != NULL)
				m->nidp++;
		}
	}
	if (rc == 0 && idp->distpoint != NULL && m->nidp == 0) {
		/* A partition we could not match would pass for complete. */
		*why = "a partitioned CRL without an http URI to match";
		rc = -1;
	}
end:
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

/* Index the revoked serials: in the store under the CRL's digest, or here. */
static int
crl_meta_index(struct crl_meta *m, X509_CRL *crl, struct store *store,
    const unsigned char *der, size_t derlen, size_t *count, char *err,
    size_t errlen)
{
	const STACK_OF(X509_REVOKED)	*rev = X509_CRL_get_REVOKED(crl);
	struct store_writer		*w = NULL;
	unsigned char			 key[STORE_KEY_MAX], md[32];
	char				 name[STORE_NAME_MAX];
	size_t				 klen, i, n;
	int				 nrev = sk_X509_REVOKED_num(rev);

	*count = 0;
	if (store != NULL) {
		if (identity_sha256(der, derlen, md) != 0)
			return AUTHD_ECRYPTO;
		memcpy(name, "crl:", 4);
		identity_hex(md, name + 4);
		memcpy(m->setname, name, strlen(name) + 1);
		if (store_set_find(store, name, &m->set, count) == 0) {
			m->store = store;
			return 0;
		}
		if (store_writer_new(store, name, (size_t)(nrev > 0 ? nrev : 1),
		    &w) != 0)
			return AUTHD_ENOMEM;
	} else if (nrev > 0 &&
	    (m->keys = calloc((size_t)nrev, sizeof(*m->keys))) == NULL)
		return AUTHD_ENOMEM;
	for (i = 0; i < (size_t)(nrev > 0 ? nrev : 0); i++) {
		klen = crl_serial_key(X509_REVOKED_get0_serialNumber(
		    sk_X509_REVOKED_value(rev, (int)i)), key, sizeof(key));
		if (klen == 0) {
			snprintf(err, errlen, "a revoked serial longer than "
			    "%d bytes", STORE_KEY_MAX - 1);
			store_writer_free(&w);
			return AUTHD_ERANGE;
		}
		if (m->is_delta && crl_entry_removed(sk_X509_REVOKED_value(rev,
		    (int)i)))
			key[0] |= CRL_KEY_REMOVED;
		if (w != NULL) {
			if (store_writer_add(w, key, klen) != 0)
				goto fail;
			continue;
		}
		if ((m->keys[m->nkeys] = malloc(klen + 1)) == NULL)
			goto fail;
		m->keys[m->nkeys][0] = (unsigned char)klen;
		memcpy(m->keys[m->nkeys] + 1, key, klen);
		m->nkeys++;
	}
	if (w != NULL) {
		if (store_writer_commit(&w, &m->set, &n, err, errlen) != 0)
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

static int
crl_lookup(const struct crl_meta *m, const ASN1_INTEGER *serial, int flag)
{
	unsigned char	 key[STORE_KEY_MAX + 1], *kp = key;
	size_t		 klen;

	if ((klen = crl_serial_key(serial, key + 1, sizeof(key) - 1)) == 0)
		return AUTHD_ERANGE;	/* cannot be looked up: fail closed */
	key[1] |= (unsigned char)flag;
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

/*
 * Validate, describe and index one CRL into m.  On error, m is empty and
 * err says why (without the file name).
 */
static int
crl_meta_build(struct crl_meta *m, const struct chain_store *chain,
    struct store *store, X509_CRL *crl, const char *source, size_t *count,
    enum crl_reject *reject, char *err, size_t errlen)
{
	unsigned char		*der = NULL;
	const char		*why;
	char			 buf[256] = "", ierr[256] = "";
	int			 derlen, rc;

	memset(m, 0, sizeof(*m));
	snprintf(m->source, sizeof(m->source), "%s", source);
	identity_dn(X509_CRL_get_issuer(crl), m->issuer_dn,
	    sizeof(m->issuer_dn));
	rc = crl_validate(chain, crl, &m->issuer, reject, buf, sizeof(buf));
	if (rc == 0 && crl_meta_idp(m, crl, &why) != 0) {
		*reject = CRL_REJECT_SCOPE;
		snprintf(buf, sizeof(buf), "%s", why);
		rc = -1;
	}
	if (rc != 0) {
		snprintf(err, errlen, "CRL of %s refused: %s", m->issuer_dn,
		    buf);
		m->issuer = NULL;	/* not referenced */
		crl_meta_cleanup(m);
		return AUTHD_ECONFIG;
	}
	X509_up_ref(m->issuer);
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
	rc = crl_meta_index(m, crl, store, der, (size_t)derlen, count, ierr,
	    sizeof(ierr));
	OPENSSL_free(der);
	if (rc != 0) {
		snprintf(err, errlen, "CRL of %s: cannot index: %s",
		    m->issuer_dn, ierr[0] ? ierr : err_str(rc));
		crl_meta_cleanup(m);
	}
	return rc;
}

/*
 * Whether serial is revoked by base, as changed by delta (NULL: none):
 * 1 yes, 0 no, negative when an index cannot be read.
 */
static int
crl_revoked(const struct crl_meta *base, const struct crl_meta *delta,
    const ASN1_INTEGER *serial)
{
	int	 rc;

	if (delta != NULL) {
		if ((rc = crl_lookup(delta, serial, 0)) != 0)
			return rc;
		if ((rc = crl_lookup(delta, serial, CRL_KEY_REMOVED)) != 0)
			return rc > 0 ? 0 : rc;
	}
	return crl_lookup(base, serial, 0);
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
 * A file's CRLs, described for the next start: a record in LMDB under
 * "crlfile:" and the file's SHA-256, holding each CRL's metadata and the
 * set of its serials.  An unchanged file is then not parsed again (a
 * million-entry CRL takes seconds to parse); its signature was checked when
 * the record was written, and its issuer must still be a configured CA
 * with the same certificate (by SHA-256).
 */
#define CRL_REC_MAX	 (1024 * 1024)

struct crl_rec {
	unsigned char	*p;
	size_t		 len, cap;
	int		 bad;
};

static void
crl_rec_put(struct crl_rec *r, const void *v, size_t n)
{
	if (r->bad || r->cap - r->len < n) {
		r->bad = 1;
		return;
	}
	memcpy(r->p + r->len, v, n);
	r->len += n;
}

static void
crl_rec_str(struct crl_rec *r, const char *v)
{
	crl_rec_put(r, v, strlen(v) + 1);
}

static int
crl_rec_get(struct crl_rec *r, void *v, size_t n)
{
	if (r->bad || r->len - r->cap < n) {	/* cap: read position */
		r->bad = 1;
		return -1;
	}
	memcpy(v, r->p + r->cap, n);
	r->cap += n;
	return 0;
}

static int
crl_rec_getstr(struct crl_rec *r, char *v, size_t n)
{
	const unsigned char	*nul;
	size_t			 l;

	if (r->bad || (nul = memchr(r->p + r->cap, '\0', r->len - r->cap)) ==
	    NULL || (l = (size_t)(nul - (r->p + r->cap))) >= n) {
		r->bad = 1;
		return -1;
	}
	memcpy(v, r->p + r->cap, l + 1);
	r->cap += l + 1;
	return 0;
}

static int
crl_cert_sha256(X509 *x, unsigned char md[IDENTITY_SHA256_LEN])
{
	unsigned char	*der = NULL;
	int		 n, rc;

	if ((n = i2d_X509(x, &der)) <= 0)
		return -1;
	rc = identity_sha256(der, (size_t)n, md);
	OPENSSL_free(der);
	return rc;
}

/* Write the record of metas m[0..n) (all indexed in the store). */
static void
crl_rec_store(struct store *store, const char *name, const struct crl_meta *m,
    size_t n)
{
	struct crl_rec	 r;
	unsigned char	 md[IDENTITY_SHA256_LEN];
	uint32_t	 cnt = (uint32_t)n;
	int64_t		 t;
	unsigned char	 b[4];
	store_set_t	 dbi;
	size_t		 i, k;

	if (store_kv_open(store, "crlfiles", &dbi) != 0 ||
	    (r.p = malloc(CRL_REC_MAX)) == NULL)
		return;
	r.len = 0;
	r.cap = CRL_REC_MAX;
	r.bad = 0;
	crl_rec_put(&r, &cnt, sizeof(cnt));
	for (i = 0; i < n; i++) {
		if (m[i].store == NULL || crl_cert_sha256(m[i].issuer, md) != 0) {
			r.bad = 1;
			break;
		}
		crl_rec_put(&r, md, sizeof(md));
		t = (int64_t)m[i].this_update;
		crl_rec_put(&r, &t, sizeof(t));
		t = (int64_t)m[i].next_update;
		crl_rec_put(&r, &t, sizeof(t));
		b[0] = (unsigned char)m[i].is_delta;
		b[1] = (unsigned char)m[i].only_user;
		b[2] = (unsigned char)m[i].only_ca;
		b[3] = (unsigned char)m[i].nidp;
		crl_rec_put(&r, b, sizeof(b));
		crl_rec_str(&r, m[i].number);
		crl_rec_str(&r, m[i].base_number);
		crl_rec_str(&r, m[i].setname);
		crl_rec_str(&r, m[i].issuer_dn);
		for (k = 0; k < m[i].nidp; k++)
			crl_rec_str(&r, m[i].idp[k]);
	}
	if (!r.bad)
		store_kv_put(store, dbi, name, strlen(name), r.p, r.len);
	free(r.p);
}

/*
 * Rebuild a file's metas from its record into s.  Returns the number of
 * CRLs added, or -1 when there is no usable record (then nothing added).
 */
static int
crl_rec_load(struct crl_set *s, struct store *store, const char *name,
    const struct chain_store *chain, const char *path)
{
	struct crl_rec	 r;
	struct crl_meta	*m;
	unsigned char	 md[IDENTITY_SHA256_LEN], cmd[IDENTITY_SHA256_LEN];
	unsigned char	 b[4];
	uint32_t	 cnt, i;
	int64_t		 t;
	size_t		 first = s->n, count, k, len = 0;
	store_set_t	 dbi;
	X509		*x;

	if (store_kv_open(store, "crlfiles", &dbi) != 0 ||
	    (r.p = malloc(CRL_REC_MAX)) == NULL)
		return -1;
	r.bad = 0;
	if (store_kv_get(store, dbi, name, strlen(name), r.p, CRL_REC_MAX,
	    &len) != 1 || crl_rec_get((r.len = len, r.cap = 0, &r), &cnt,
	    sizeof(cnt)) != 0 || cnt == 0 || cnt > CRL_MAX - s->n)
		goto fail;
	for (i = 0; i < cnt; i++) {
		m = &s->m[s->n];
		memset(m, 0, sizeof(*m));
		snprintf(m->source, sizeof(m->source), "%s", path);
		if (crl_rec_get(&r, md, sizeof(md)) != 0 ||
		    crl_rec_get(&r, &t, sizeof(t)) != 0)
			goto fail;
		m->this_update = (time_t)t;
		if (crl_rec_get(&r, &t, sizeof(t)) != 0 ||
		    crl_rec_get(&r, b, sizeof(b)) != 0 || b[3] > CRL_IDP_MAX)
			goto fail;
		m->next_update = (time_t)t;
		m->is_delta = b[0];
		m->only_user = b[1];
		m->only_ca = b[2];
		if (crl_rec_getstr(&r, m->number, sizeof(m->number)) != 0 ||
		    crl_rec_getstr(&r, m->base_number,
		    sizeof(m->base_number)) != 0 ||
		    crl_rec_getstr(&r, m->setname, sizeof(m->setname)) != 0 ||
		    crl_rec_getstr(&r, m->issuer_dn, sizeof(m->issuer_dn)) != 0)
			goto fail;
		for (k = 0; k < b[3]; k++) {
			char	 u[FETCH_URL_MAX];

			if (crl_rec_getstr(&r, u, sizeof(u)) != 0 ||
			    (m->idp[k] = strdup(u)) == NULL)
				goto fail;
			m->nidp++;
		}
		/* The issuer must still be configured, the same certificate. */
		for (k = 0; (x = chain_store_ca(chain, k)) != NULL; k++)
			if (crl_cert_sha256(x, cmd) == 0 &&
			    memcmp(cmd, md, sizeof(md)) == 0)
				break;
		if (x == NULL || store_set_find(store, m->setname, &m->set,
		    &count) != 0)
			goto fail;
		X509_up_ref(x);
		m->issuer = x;
		m->store = store;
		s->entries += count;
		s->n++;
	}
	if (r.cap != r.len)
		goto fail;
	free(r.p);
	return (int)cnt;
fail:
	if (s->n < CRL_MAX)
		crl_meta_cleanup(&s->m[s->n]);
	while (s->n > first) {		/* the caller restores s->entries */
		s->n--;
		crl_meta_cleanup(&s->m[s->n]);
	}
	free(r.p);
	return -1;
}

/*
 * The record of a file's last good version: "crlpath:" and the SHA-256 of
 * its path (LMDB keys are short) -> "crlfile:<sha256>" of its contents.
 */
static void
crl_path_key(const char *path, char *key, size_t len)
{
	unsigned char	 md[IDENTITY_SHA256_LEN];
	char		 hex[2 * IDENTITY_SHA256_LEN + 1];

	if (identity_sha256((const unsigned char *)path, strlen(path), md) != 0) {
		key[0] = '\0';
		return;
	}
	identity_hex(md, hex);
	snprintf(key, len, "crlpath:%s", hex);
}

static void
crl_path_store(struct store *store, const char *path, const char *name)
{
	store_set_t	 dbi;
	char		 key[STORE_NAME_MAX], cur[STORE_NAME_MAX];
	size_t		 len = 0;

	crl_path_key(path, key, sizeof(key));
	if (key[0] == '\0' || store_kv_open(store, "crlfiles", &dbi) != 0)
		return;
	/* Written only when it changes: most loads find the file as it was. */
	if (store_kv_get(store, dbi, key, strlen(key), cur, sizeof(cur),
	    &len) == 1 && len == strlen(name) + 1 &&
	    memcmp(cur, name, len) == 0)
		return;
	store_kv_put(store, dbi, key, strlen(key), name, strlen(name) + 1);
}

/*
 * path was rejected (in whole or in part): use the CRLs of its last good
 * version, when the store has them and their issuers are still configured.
 * Returns how many were added.
 */
static size_t
crl_path_keep(struct crl_set *s, struct store *store, const char *path,
    const struct chain_store *chain)
{
	store_set_t	 dbi;
	char		 key[STORE_NAME_MAX], name[STORE_NAME_MAX];
	size_t		 len = 0, entries = s->entries;
	int		 n;

	crl_path_key(path, key, sizeof(key));
	if (key[0] == '\0' || store_kv_open(store, "crlfiles", &dbi) != 0 ||
	    store_kv_get(store, dbi, key, strlen(key), name, sizeof(name),
	    &len) != 1 || len == 0 || memchr(name, '\0', len) == NULL)
		return 0;
	if ((n = crl_rec_load(s, store, name, chain, path)) <= 0) {
		s->entries = entries;
		return 0;
	}
	return (size_t)n;
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

/* Whether the CRL's Issuing Distribution Point covers x. */
static int
crl_applies(const struct crl_meta *m, X509 *x)
{
	STACK_OF(DIST_POINT)	*cdp;
	DIST_POINT		*dp;
	GENERAL_NAME		*g;
	int			 ca = X509_check_ca(x) != 0, i, j, hit = 0;
	size_t			 k;

	if ((m->only_user && ca) || (m->only_ca && !ca))
		return 0;
	if (m->nidp == 0)
		return 1;
	if ((cdp = X509_get_ext_d2i(x, NID_crl_distribution_points, NULL,
	    NULL)) == NULL)
		return 0;
	for (i = 0; !hit && i < sk_DIST_POINT_num(cdp); i++) {
		dp = sk_DIST_POINT_value(cdp, i);
		if (dp->distpoint == NULL || dp->distpoint->type != 0)
			continue;
		for (j = 0; !hit && j < sk_GENERAL_NAME_num(
		    dp->distpoint->name.fullname); j++) {
			g = sk_GENERAL_NAME_value(dp->distpoint->name.fullname, j);
			if (g->type != GEN_URI)
				continue;
			for (k = 0; !hit && k < m->nidp; k++)
				hit = (size_t)ASN1_STRING_length(
				    g->d.uniformResourceIdentifier) ==
				    strlen(m->idp[k]) && memcmp(
				    ASN1_STRING_get0_data(
				    g->d.uniformResourceIdentifier), m->idp[k],
				    strlen(m->idp[k])) == 0;
		}
	}
	sk_DIST_POINT_pop_free(cdp, DIST_POINT_free);
	return hit;
}

static int crl_newer(const struct crl_meta *, const struct crl_meta *);

/* ------------------------------------------------ distribution points */

#define CDP_MAX		 1024		/* URLs remembered */
#define CDP_BACKOFF_MIN	 30		/* seconds after a first failure */
#define CDP_BACKOFF_MAX	 600

/* A fetched CRL, shared by the table and the checks using it. */
struct cdp_crl {
	struct crl_meta		 m;
	atomic_int		 refs;
};

struct cdp {
	char			 url[FETCH_URL_MAX];
	int			 running;
	struct cdp_crl		*crl;		/* the last good one, or NULL */
	time_t			 next_try;	/* after a failure */
	int			 failures;
	char			 error[256];
	char			 etag[FETCH_VALIDATOR_MAX];
	char			 last_modified[FETCH_VALIDATOR_MAX];
	int			 stored_checked;	/* LMDB looked at */
	struct fetch_waiter	*waiters;
};

struct cdp_job {
	struct cdp		*cdp;
	struct fetch_request	 rq;
	char			 url[FETCH_URL_MAX];
	char			 etag[FETCH_VALIDATOR_MAX];
	char			 last_modified[FETCH_VALIDATOR_MAX];
};

static pthread_mutex_t		 cdp_lock = PTHREAD_MUTEX_INITIALIZER;
static struct cdp		*cdp_table[CDP_MAX];
static size_t			 cdp_n;
static struct fetch_pool	*cdp_pool;
static struct store		*cdp_store;
static int			 cdp_on;
static time_t			 cdp_timeout = 5;
static size_t			 cdp_max_size = 64 * 1024 * 1024;
static atomic_ulong		 cdp_gen;
static store_set_t		 cdp_dbi;	/* url -> the CRL as fetched */
static int			 cdp_have_dbi;

static void
cdp_crl_release(struct cdp_crl *c)
{
	if (c != NULL && atomic_fetch_sub(&c->refs, 1) == 1) {
		crl_meta_cleanup(&c->m);
		free(c);
	}
}

void
crl_fetch_init(struct fetch_pool *pool, struct store *store)
{
	pthread_mutex_lock(&cdp_lock);
	cdp_pool = pool;
	cdp_store = store;
	cdp_have_dbi = store != NULL &&
	    store_kv_open(store, "crldp", &cdp_dbi) == 0;
	pthread_mutex_unlock(&cdp_lock);
}

void
crl_fetch_config(int on, time_t timeout, size_t max_size)
{
	pthread_mutex_lock(&cdp_lock);
	cdp_on = on;
	cdp_timeout = timeout > 0 ? timeout : 5;
	cdp_max_size = max_size;
	pthread_mutex_unlock(&cdp_lock);
}

unsigned long
crl_fetch_generation(void)
{
	return atomic_load(&cdp_gen);
}

/* After the fetch pool is gone: no job can still be running. */
void
crl_fetch_shutdown(void)
{
	size_t			 i;

	pthread_mutex_lock(&cdp_lock);
	for (i = 0; i < cdp_n; i++) {
		fetch_waiter_free(cdp_table[i]->waiters);
		cdp_crl_release(cdp_table[i]->crl);
		free(cdp_table[i]);
		cdp_table[i] = NULL;
	}
	cdp_n = 0;
	cdp_pool = NULL;
	cdp_store = NULL;
	cdp_have_dbi = 0;
	pthread_mutex_unlock(&cdp_lock);
}

/* The entry for url, made if new; NULL when the table is full.  Locked. */
static struct cdp *
cdp_get(const char *url)
{
	struct cdp	*c;
	size_t		 i;

	for (i = 0; i < cdp_n; i++)
		if (strcmp(cdp_table[i]->url, url) == 0)
			return cdp_table[i];
	if (cdp_n >= CDP_MAX || strlen(url) >= FETCH_URL_MAX ||
	    (c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	memcpy(c->url, url, strlen(url) + 1);
	cdp_table[cdp_n++] = c;
	return c;
}

/* Parse a fetched body: one CRL, DER or PEM. */
static X509_CRL *
cdp_parse(const unsigned char *body, size_t len)
{
	const unsigned char	*p = body;
	X509_CRL		*crl = NULL;
	BIO			*bio;

	if (len > 0 && body[0] == 0x30) {
		crl = d2i_X509_CRL(NULL, &p, (long)len);
		if (crl != NULL && p != body + len) {
			X509_CRL_free(crl);
			crl = NULL;
		}
	} else if ((bio = BIO_new_mem_buf(body, (int)len)) != NULL) {
		crl = PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL);
		BIO_free(bio);
	}
	ERR_clear_error();
	return crl;
}

/* On a fetch thread: fetch, check, swap in, wake the waiters. */
static void
cdp_run(void *arg)
{
	struct cdp_job		*job = arg;
	struct cdp		*c = job->cdp;
	struct fetch_result	 res;
	struct cdp_crl		*fresh = NULL, *old = NULL;
	struct fetch_waiter	*w;
	struct snapshot		*snap;
	X509_CRL		*crl = NULL;
	char			 err[CRL_DETAIL_MAX] = "";
	size_t			 count;
	time_t			 now;
	enum metrics_crl_outcome outcome = METRICS_CRL_REFUSED;
	enum crl_reject		 reject = CRL_REJECT_UNREADABLE;

	memset(&res, 0, sizeof(res));
	if (fetch_http(&job->rq, &res) != 0)
		snprintf(err, sizeof(err), "%s", res.error);
	else if (res.not_modified && job->rq.etag == NULL &&
	    job->rq.last_modified == NULL)
		snprintf(err, sizeof(err), "304 Not Modified to an "
		    "unconditional request");
	else if (!res.not_modified) {
		if ((crl = cdp_parse(res.body, res.len)) == NULL)
			snprintf(err, sizeof(err), "not a CRL (%zu bytes)",
			    res.len);
		else if ((fresh = calloc(1, sizeof(*fresh))) == NULL)
			snprintf(err, sizeof(err), "out of memory");
		else {
			snap = snapshot_acquire();
			if (snap == NULL)
				snprintf(err, sizeof(err), "no trust");
			else if (crl_meta_build(&fresh->m, snap->chain,
			    cdp_store, crl, job->url, &count, &reject, err,
			    sizeof(err)) == 0 && fresh->m.is_delta) {
				reject = CRL_REJECT_SCOPE;
				snprintf(err, sizeof(err), "a delta CRL where a "
				    "complete one was expected");
			}
			if (err[0] != '\0') {
				crl_meta_cleanup(&fresh->m);
				free(fresh);
				fresh = NULL;
			} else
				atomic_init(&fresh->refs, 1);
			snapshot_release(snap);
		}
	}
	X509_CRL_free(crl);
	/* Kept for the next start: it does not ask the DP again. */
	if (fresh != NULL && cdp_have_dbi)
		store_kv_put(cdp_store, cdp_dbi, job->url, strlen(job->url),
		    res.body, res.len);
	now = time(NULL);
	pthread_mutex_lock(&cdp_lock);
	c->running = 0;
	if (err[0] != '\0') {
		if (!res.ok || fresh == NULL)
			outcome = res.ok && !res.not_modified ?
			    METRICS_CRL_REFUSED : METRICS_CRL_ERROR;
		c->failures++;
		c->next_try = now + (c->failures >= 5 ? CDP_BACKOFF_MAX :
		    CDP_BACKOFF_MIN << (c->failures - 1));
		if (c->next_try > now + CDP_BACKOFF_MAX)
			c->next_try = now + CDP_BACKOFF_MAX;
		snprintf(c->error, sizeof(c->error), "%.255s", err);
	} else {
		c->failures = 0;
		c->error[0] = '\0';
		outcome = fresh != NULL ? METRICS_CRL_FETCHED :
		    METRICS_CRL_UNCHANGED;
		if (fresh != NULL && c->crl != NULL &&
		    fresh->m.this_update == c->crl->m.this_update &&
		    strcmp(fresh->m.number, c->crl->m.number) == 0 &&
		    X509_cmp(fresh->m.issuer, c->crl->m.issuer) == 0) {
			old = fresh;	/* the same CRL again: keep ours */
			fresh = NULL;
			outcome = METRICS_CRL_UNCHANGED;
		} else if (fresh != NULL && c->crl != NULL &&
		    !crl_newer(&fresh->m, &c->crl->m)) {
			/* An older CRL than ours (a replay): refuse it. */
			old = fresh;
			fresh = NULL;
			c->failures++;
			c->next_try = now + CDP_BACKOFF_MIN;
			snprintf(c->error, sizeof(c->error), "served a CRL older "
			    "than the one in use (refused)");
			outcome = METRICS_CRL_REFUSED;
		} else if (fresh != NULL) {
			old = c->crl;
			c->crl = fresh;
			atomic_fetch_add(&cdp_gen, 1);
		}
		/* A 304 need not repeat the validators: keep the old ones. */
		if (res.etag[0] != '\0' || !res.not_modified)
			snprintf(c->etag, sizeof(c->etag), "%s", res.etag);
		if (res.last_modified[0] != '\0' || !res.not_modified)
			snprintf(c->last_modified, sizeof(c->last_modified),
			    "%s", res.last_modified);
		/*
		 * Still nothing newer than what expired: ask again only after
		 * a back-off, not on every request.
		 */
		if (c->crl != NULL && c->crl->m.next_update != 0 &&
		    now > c->crl->m.next_update) {
			c->next_try = now + CDP_BACKOFF_MIN;
			snprintf(c->error, sizeof(c->error), "still serves a "
			    "CRL past its nextUpdate");
		}
	}
	w = c->waiters;
	c->waiters = NULL;
	pthread_mutex_unlock(&cdp_lock);
	metrics_crl_fetch(outcome, res.elapsed_ms);
	if (outcome == METRICS_CRL_REFUSED && fresh == NULL && old == NULL)
		metrics_crl_rejected((unsigned int)reject);
	if (err[0] != '\0')
		log_warnx("CRL distribution point %s: %s", job->url, err);
	else
		log_info("CRL distribution point %s: %s in %ld ms", job->url,
		    fresh != NULL ? "fetched" : "unchanged", res.elapsed_ms);
	cdp_crl_release(old);
	fetch_result_cleanup(&res);
	free(job);
	fetch_waiter_wake(w);
}

/* Start a fetch of c unless one runs.  Locked. */
static void
cdp_start(struct cdp *c)
{
	struct cdp_job	*job;

	if (c->running || cdp_pool == NULL ||
	    (job = calloc(1, sizeof(*job))) == NULL)
		return;
	job->cdp = c;
	memcpy(job->url, c->url, sizeof(job->url));
	memcpy(job->etag, c->etag, sizeof(job->etag));
	memcpy(job->last_modified, c->last_modified,
	    sizeof(job->last_modified));
	job->rq.url = job->url;
	job->rq.etag = c->crl != NULL && job->etag[0] ? job->etag : NULL;
	job->rq.last_modified = c->crl != NULL && job->last_modified[0] ?
	    job->last_modified : NULL;
	job->rq.connect_timeout_ms = (int)(cdp_timeout * 1000);
	job->rq.timeout_ms = (int)(cdp_timeout * 1000);
	job->rq.max_size = cdp_max_size;
	if (fetch_submit(cdp_pool, cdp_run, job) != 0) {
		free(job);
		return;
	}
	c->running = 1;
}

int
crl_fetch_wait(const char *url, void (*resume)(void *), void *arg)
{
	struct cdp		*c;
	size_t			 i;
	int			 rc = 1;

	pthread_mutex_lock(&cdp_lock);
	for (i = 0, c = NULL; i < cdp_n && c == NULL; i++)
		if (strcmp(cdp_table[i]->url, url) == 0)
			c = cdp_table[i];
	if (c != NULL && c->running)
		rc = fetch_waiter_add(&c->waiters, resume, arg);
	pthread_mutex_unlock(&cdp_lock);
	return rc;
}

size_t
crl_fetch_wake_all(void)
{
	struct fetch_waiter	*all = NULL, *w;
	size_t			 i, n = 0;

	pthread_mutex_lock(&cdp_lock);
	for (i = 0; i < cdp_n; i++)
		fetch_waiter_move(&all, &cdp_table[i]->waiters);
	pthread_mutex_unlock(&cdp_lock);
	for (w = all; w != NULL; w = w->next)
		n++;
	fetch_waiter_wake(all);
	return n;
}

/*
 * The CRL an earlier run fetched from url, from LMDB, checked again (LMDB
 * holds bytes, not trust).  Unlocked: it parses and verifies.
 */
static struct cdp_crl *
cdp_from_store(const char *url)
{
	struct cdp_crl	*c = NULL;
	struct snapshot	*snap = NULL;
	X509_CRL	*crl = NULL;
	unsigned char	*buf;
	size_t		 len = 0, count, cap = cdp_max_size;
	char		 err[CRL_DETAIL_MAX];
	enum crl_reject	 reject;

	if (!cdp_have_dbi || (buf = malloc(cap)) == NULL)
		return NULL;
	if (store_kv_get(cdp_store, cdp_dbi, url, strlen(url), buf, cap,
	    &len) != 1 || (crl = cdp_parse(buf, len)) == NULL ||
	    (snap = snapshot_acquire()) == NULL ||
	    (c = calloc(1, sizeof(*c))) == NULL)
		goto end;
	if (crl_meta_build(&c->m, snap->chain, cdp_store, crl, url, &count,
	    &reject, err, sizeof(err)) != 0 || c->m.is_delta) {
		crl_meta_cleanup(&c->m);
		free(c);
		c = NULL;
		goto end;
	}
	atomic_init(&c->refs, 1);
end:
	snapshot_release(snap);
	X509_CRL_free(crl);
	free(buf);
	return c;
}

/* URLs go into requests and logs: printable ASCII, no spaces. */
static int
cdp_printable(const char *s, size_t len)
{
	size_t	 i;

	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return 0;
	return 1;
}

/* The http CRL Distribution Points of x, in order, at most max. */
static size_t
cdp_urls(X509 *x, char urls[][FETCH_URL_MAX], size_t max)
{
	STACK_OF(DIST_POINT)	*cdp;
	DIST_POINT		*dp;
	GENERAL_NAME		*g;
	size_t			 n = 0, len;
	int			 i, j;

	if ((cdp = X509_get_ext_d2i(x, NID_crl_distribution_points, NULL,
	    NULL)) == NULL)
		return 0;
	for (i = 0; i < sk_DIST_POINT_num(cdp) && n < max; i++) {
		dp = sk_DIST_POINT_value(cdp, i);
		if (dp->distpoint == NULL || dp->distpoint->type != 0)
			continue;
		for (j = 0; j < sk_GENERAL_NAME_num(dp->distpoint->name.fullname)
		    && n < max; j++) {
			g = sk_GENERAL_NAME_value(dp->distpoint->name.fullname, j);
			if (g->type != GEN_URI)
				continue;
			len = (size_t)ASN1_STRING_length(
			    g->d.uniformResourceIdentifier);
			if (len < 8 || len >= FETCH_URL_MAX || strncmp(
			    (const char *)ASN1_STRING_get0_data(
			    g->d.uniformResourceIdentifier), "http://", 7) != 0)
				continue;
			memcpy(urls[n], ASN1_STRING_get0_data(
			    g->d.uniformResourceIdentifier), len);
			urls[n][len] = '\0';
			if (cdp_printable(urls[n], len))
				n++;
		}
	}
	sk_DIST_POINT_pop_free(cdp, DIST_POINT_free);
	return n;
}

/*
 * A fetched CRL for x (issued by issuer), with a reference, or NULL; *pending
 * names a URL being fetched when there is none yet.  why says what failed.
 */
static struct cdp_crl *
cdp_for(X509 *x, X509 *issuer, time_t at, time_t grace, char *pending,
    size_t plen, char *why, size_t wlen)
{
	char		 urls[4][FETCH_URL_MAX];
	struct cdp	*c;
	struct cdp_crl	*got = NULL;
	time_t		 now = time(NULL), ahead;
	size_t		 n, i;
	int		 covers, fresh;

	pending[0] = why[0] = '\0';
	if ((n = cdp_urls(x, urls, 4)) == 0) {
		snprintf(why, wlen, "no http CRL distribution point");
		return NULL;
	}
	pthread_mutex_lock(&cdp_lock);
	if (!cdp_on) {
		snprintf(why, wlen, "CRL fetching is off");
		goto end;
	}
	/*
	 * Without fetch threads (authd check, or a draining daemon) nothing
	 * is fetched, but a CRL already held is still used: a revocation
	 * it lists must not turn into "missing".
	 */
	for (i = 0; i < n && got == NULL; i++) {
		if ((c = cdp_get(urls[i])) == NULL)
			continue;
		if (c->crl == NULL && !c->stored_checked && !c->running) {
			struct cdp_crl	*st;

			c->stored_checked = 1;
			pthread_mutex_unlock(&cdp_lock);
			st = cdp_from_store(urls[i]);
			pthread_mutex_lock(&cdp_lock);
			if (st != NULL && c->crl == NULL) {
				c->crl = st;
				st = NULL;
				atomic_fetch_add(&cdp_gen, 1);
			}
			cdp_crl_release(st);
		}
		covers = c->crl != NULL && (c->crl->m.issuer == issuer ||
		    X509_cmp(c->crl->m.issuer, issuer) == 0) &&
		    crl_applies(&c->crl->m, x);
		fresh = covers && (c->crl->m.next_update == 0 ||
		    at <= c->crl->m.next_update + grace);
		if (fresh) {
			got = c->crl;
			atomic_fetch_add(&got->refs, 1);
			/* Refresh ahead of nextUpdate, in the background. */
			ahead = (got->m.next_update - got->m.this_update) / 10;
			if (ahead > 3600)
				ahead = 3600;
			if (got->m.next_update != 0 && !c->running &&
			    now >= got->m.next_update - ahead &&
			    now >= c->next_try)
				cdp_start(c);
			break;
		}
		if (c->running) {
			snprintf(pending, plen, "%s", c->url);
			break;
		}
		if (c->crl != NULL && !covers && c->next_try <= now) {
			/* Fetched, trusted, but not for this certificate. */
			c->next_try = now + CDP_BACKOFF_MIN;
			snprintf(c->error, sizeof(c->error), "its CRL does not "
			    "cover this certificate (issuer or partition)");
			log_warnx("CRL distribution point %s: %s", c->url,
			    c->error);
		}
		if (now >= c->next_try) {
			cdp_start(c);
			if (c->running) {
				snprintf(pending, plen, "%s", c->url);
				break;
			}
		}
		if (covers) {
			/* Expired and nothing newer yet: crl_check says so. */
			got = c->crl;
			atomic_fetch_add(&got->refs, 1);
			break;
		}
		snprintf(why, wlen, "distribution point %.200s: %.150s", c->url,
		    c->error[0] ? c->error : cdp_pool == NULL ? "not fetched "
		    "(no fetch threads here)" : "cannot fetch");
	}
end:
	pthread_mutex_unlock(&cdp_lock);
	return got;
}

/* Later thisUpdate, or the same and a higher CRL number. */
static int
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
 * The newest complete CRL by issuer that applies to x and is in force at
 * at, and the newest delta CRL that builds on it (RFC 5280 5.2.4: its
 * BaseCRLNumber not above the base's number, issued after it), or NULL.
 */
static const struct crl_meta *
crl_for(const struct crl_set *s, X509 *x, X509 *issuer, time_t at,
    const struct crl_meta **delta)
{
	const struct crl_meta	*best = NULL, *m;
	size_t			 i;

	if (delta != NULL)
		*delta = NULL;
	for (i = 0; i < s->n; i++) {
		m = &s->m[i];
		if (m->is_delta ||
		    (m->issuer != issuer && X509_cmp(m->issuer, issuer) != 0) ||
		    m->this_update > at + CRL_SKEW || !crl_applies(m, x))
			continue;
		if (best == NULL || crl_newer(m, best))
			best = m;
	}
	for (i = 0; best != NULL && delta != NULL && i < s->n; i++) {
		m = &s->m[i];
		if (!m->is_delta ||
		    (m->issuer != issuer && X509_cmp(m->issuer, issuer) != 0) ||
		    m->this_update > at + CRL_SKEW || !crl_applies(m, x) ||
		    m->this_update < best->this_update ||
		    best->number[0] == '\0' ||
		    crl_hex_cmp(m->base_number, best->number) > 0)
			continue;
		if (*delta == NULL || crl_newer(m, *delta))
			*delta = m;
	}
	return best;
}

/* A CRL's times at at: 0 when usable (perhaps in the grace), else expired. */
static int
crl_fresh(const struct crl_meta *m, time_t at, time_t grace,
    struct crl_result *res, int depth)
{
	if (m->next_update != 0 && at > m->next_update) {
		if (at > m->next_update + grace) {
			res->status = CRL_EXPIRED;
			res->depth = depth;
			snprintf(res->detail, sizeof(res->detail), "the %sCRL "
			    "of %.200s (%.200s) is past its nextUpdate",
			    m->is_delta ? "delta " : "", m->issuer_dn,
			    m->source);
			return -1;
		}
		res->in_grace = 1;
	}
	if (m->next_update != 0 && m->next_update + grace < res->valid_until)
		res->valid_until = m->next_update + grace;
	return 0;
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
 * The certificate at depth i of chain against its issuer's CRL.  Returns
 * 0 when it is not revoked (or its CRL is missing and missing_allow),
 * else 1 with res filled.
 */
static int
crl_check_one(const struct crl_set *s, STACK_OF(X509) *chain, int i,
    time_t at, int missing_allow, time_t grace, struct crl_result *res)
{
	const struct crl_meta	*m, *d = NULL;
	const struct crl_rej	*r;
	struct cdp_crl		*fetched = NULL;
	char			 dn[256], why[512];
	X509			*x = sk_X509_value(chain, i);
	int			 rc, stop = 1;

	if ((m = crl_for(s, x, sk_X509_value(chain, i + 1), at, &d)) == NULL) {
		fetched = cdp_for(x, sk_X509_value(chain, i + 1), at, grace,
		    res->pending_url, sizeof(res->pending_url), why,
		    sizeof(why));
		if (res->pending_url[0] != '\0') {
			res->status = CRL_PENDING;
			res->depth = i;
			snprintf(res->detail, sizeof(res->detail),
			    "fetching %.400s", res->pending_url);
			goto end;
		}
		if (fetched != NULL)
			m = &fetched->m;
	}
	if (m == NULL) {
		if (missing_allow) {
			stop = 0;
			goto end;
		}
		/* Names only for the answers that show them. */
		identity_dn(X509_get_subject_name(x), dn, sizeof(dn));
		res->status = CRL_MISSING;
		res->depth = i;
		if ((r = crl_rejected_for(s, sk_X509_value(chain, i + 1))) !=
		    NULL)
			snprintf(why, sizeof(why), "%.200s was rejected (%s): "
			    "%.200s", r->source, crl_reject_str(r->why),
			    r->detail);
		snprintf(res->detail, sizeof(res->detail), "no CRL from the "
		    "issuer of %.200s (depth %d): %.250s", dn, i, why);
		goto end;
	}
	if (crl_fresh(m, at, grace, res, i) != 0 ||
	    (d != NULL && crl_fresh(d, at, grace, res, i) != 0))
		goto end;
	/* How fresh the answer is: the delta's time when one applies. */
	res->this_update = d != NULL ? d->this_update : m->this_update;
	if ((rc = crl_revoked(m, d, X509_get0_serialNumber(x))) != 0) {
		identity_dn(X509_get_subject_name(x), dn, sizeof(dn));
		res->status = rc > 0 ? CRL_REVOKED : CRL_ERROR;
		res->depth = i;
		snprintf(res->detail, sizeof(res->detail), rc > 0 ?
		    "%.160s (depth %d) is revoked by the CRL of %.160s "
		    "(%.160s)" : "cannot read the index for %.160s "
		    "(depth %d), CRL of %.160s (%.160s)", dn, i,
		    m->issuer_dn, m->source);
		goto end;
	}
	stop = 0;
end:
	cdp_crl_release(fetched);
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
		if (crl_check_one(s, chain, i, at, missing_allow, grace, res))
			return;
}

void
crl_check_depth(const struct crl_set *s, STACK_OF(X509) *chain, int depth,
    time_t at, int missing_allow, time_t grace, struct crl_result *res)
{
	crl_result_init(res);
	if (s == NULL)
		return;
	if (chain == NULL || depth < 0 || depth + 1 >= sk_X509_num(chain)) {
		res->status = CRL_ERROR;
		snprintf(res->detail, sizeof(res->detail), "no chain to check");
		return;
	}
	crl_check_one(s, chain, depth, at, missing_allow, grace, res);
}

static void
crl_time(time_t t, char *buf, size_t len)
{
	struct tm	 tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "@%lld", (long long)t);
}

/* One line about m into buf at *o; -1 when it does not fit. */
static int
crl_describe_one(const struct crl_meta *m, int depth, char *buf, size_t len,
    size_t *o)
{
	char	 t1[32], t2[32], base[100] = "";
	int	 n;

	crl_time(m->this_update, t1, sizeof(t1));
	if (m->next_update != 0)
		crl_time(m->next_update, t2, sizeof(t2));
	else
		snprintf(t2, sizeof(t2), "none");
	if (m->is_delta)
		snprintf(base, sizeof(base), " (delta on base %s)",
		    m->base_number);
	n = snprintf(buf + *o, len - *o, "%sdepth %d: %sCRL of %s, number %s%s, "
	    "thisUpdate %s, nextUpdate %s, from %s", *o ? "\n" : "", depth,
	    m->is_delta ? "delta " : "", m->issuer_dn, m->number[0] ?
	    m->number : "-", base, t1, t2, m->source);
	if (n < 0 || (size_t)n >= len - *o)
		return -1;
	*o += (size_t)n;
	return 0;
}

void
crl_describe(const struct crl_set *s, STACK_OF(X509) *chain, time_t at,
    char *buf, size_t len)
{
	const struct crl_meta	*m, *d;
	size_t			 o = 0;
	int			 i;

	if (len == 0)
		return;
	buf[0] = '\0';
	for (i = 0; s != NULL && chain != NULL &&
	    i + 1 < sk_X509_num(chain); i++) {
		if ((m = crl_for(s, sk_X509_value(chain, i),
		    sk_X509_value(chain, i + 1), at, &d)) == NULL)
			continue;
		if (crl_describe_one(m, i, buf, len, &o) != 0 ||
		    (d != NULL && crl_describe_one(d, i, buf, len, &o) != 0))
			break;
	}
}

/* ------------------------------------------------ for /metrics */

/* Same issuer and same partition (first IDP name): one CRL is in use. */
static int
crl_same_scope(const struct crl_meta *a, const struct crl_meta *b)
{
	if (X509_cmp(a->issuer, b->issuer) != 0 || a->nidp != b->nidp)
		return 0;
	return a->nidp == 0 || strcmp(a->idp[0], b->idp[0]) == 0;
}

static void
crl_info_call(const struct crl_meta *m, const char *source,
    void (*fn)(void *, const struct crl_info *), void *arg)
{
	struct crl_info	 ci;
	char		 src[1200];

	if (m->nidp > 0) {
		snprintf(src, sizeof(src), "%s (%s)", source, m->idp[0]);
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
			if (j == i || o->is_delta || !crl_same_scope(m, o))
				continue;
			/* The newer one wins; of two equal, the first. */
			if (crl_newer(o, m) || (j < i && !crl_newer(m, o)))
				newest = 0;
		}
		if (newest)
			crl_info_call(m, m->source, fn, arg);
	}
	pthread_mutex_lock(&cdp_lock);
	for (i = 0; i < cdp_n; i++)
		if (cdp_table[i]->crl != NULL)
			crl_info_call(&cdp_table[i]->crl->m, cdp_table[i]->url,
			    fn, arg);
	pthread_mutex_unlock(&cdp_lock);
}
