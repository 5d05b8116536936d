/*
 * crlrec.c: the record of a CRL file in LMDB, so that the next start does
 * not parse it again: each CRL's metadata (its signer by SHA-256, times,
 * numbers, issuer, Issuing Distribution Point, indirect issuers) and the
 * name of the store set holding its serials; and which record is a
 * path's last good version.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "crlrec.h"
#include "identity.h"

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
	if (n == 0)
		return;		/* v may be NULL: an empty blob */
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

/* A length-prefixed blob. */
static void
crl_rec_blob(struct crl_rec *r, const void *v, size_t n)
{
	uint32_t	 l = (uint32_t)n;

	crl_rec_put(r, &l, sizeof(l));
	crl_rec_put(r, v, n);
}

static void
crl_rec_name(struct crl_rec *r, const X509_NAME *n)
{
	const unsigned char	*der;
	size_t			 len;

	if (X509_NAME_get0_der(n, &der, &len) != 1) {
		r->bad = 1;
		return;
	}
	crl_rec_blob(r, der, len);
}

/* A blob in place: *p points into the record. */
static int
crl_rec_getblob(struct crl_rec *r, const unsigned char **p, size_t *n)
{
	uint32_t	 l;

	if (crl_rec_get(r, &l, sizeof(l)) != 0 || r->len - r->cap < l) {
		r->bad = 1;
		return -1;
	}
	*p = r->p + r->cap;
	*n = l;
	r->cap += l;
	return 0;
}

static X509_NAME *
crl_rec_getname(struct crl_rec *r)
{
	const unsigned char	*p, *q;
	size_t			 n;
	X509_NAME		*x;

	if (crl_rec_getblob(r, &p, &n) != 0)
		return NULL;
	q = p;
	if ((x = d2i_X509_NAME(NULL, &q, (long)n)) == NULL || q != p + n) {
		X509_NAME_free(x);
		r->bad = 1;
		return NULL;
	}
	return x;
}

/* Records written by another layout are not read: the file is parsed. */
#define CRL_REC_MAGIC	 0x32524c43u		/* "CLR2" */

/* Write the record of metas m[0..n) (all indexed in the store). */
void
crl_rec_store(struct store *store, const char *name, const struct crl_meta *m,
    size_t n)
{
	struct crl_rec	 r;
	unsigned char	 md[IDENTITY_SHA256_LEN];
	uint32_t	 cnt = (uint32_t)n, magic = CRL_REC_MAGIC, nind;
	int64_t		 t;
	unsigned char	 b;
	store_set_t	 dbi;
	size_t		 i, k;

	if (store_kv_open(store, "crlfiles", &dbi) != 0 ||
	    (r.p = malloc(CRL_REC_MAX)) == NULL)
		return;
	r.len = 0;
	r.cap = CRL_REC_MAX;
	r.bad = 0;
	crl_rec_put(&r, &magic, sizeof(magic));
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
		b = (unsigned char)m[i].is_delta;
		crl_rec_put(&r, &b, sizeof(b));
		crl_rec_str(&r, m[i].number);
		crl_rec_str(&r, m[i].base_number);
		crl_rec_str(&r, m[i].setname);
		crl_rec_name(&r, m[i].issuer_name);
		crl_rec_blob(&r, m[i].idp_der, m[i].idp_len);
		nind = (uint32_t)m[i].nind;
		crl_rec_put(&r, &nind, sizeof(nind));
		for (k = 0; k < m[i].nind; k++)
			crl_rec_name(&r, m[i].ind[k]);
	}
	if (!r.bad)
		store_kv_put(store, dbi, name, strlen(name), r.p, r.len);
	free(r.p);
}

/*
 * Rebuild a file's metas from its record into s, their signers found and
 * validated again against chain.  Returns the number of CRLs added, or -1
 * when there is no usable record (then nothing added).
 */
int
crl_rec_load(struct crl_set *s, struct store *store, const char *name,
    const struct chain_store *chain, const char *path)
{
	struct crl_rec		 r;
	struct crl_meta		*m;
	const unsigned char	*idp;
	unsigned char		 md[IDENTITY_SHA256_LEN], cmd[IDENTITY_SHA256_LEN];
	unsigned char		 b;
	uint32_t		 cnt, i, magic, nind, k;
	int64_t			 t;
	size_t			 first = s->n, count, idplen, j, len = 0;
	const char		*why;
	char			 err[256];
	enum crl_reject		 rj;
	store_set_t		 dbi;
	X509			*x;

	if (store_kv_open(store, "crlfiles", &dbi) != 0 ||
	    (r.p = malloc(CRL_REC_MAX)) == NULL)
		return -1;
	r.bad = 0;
	if (store_kv_get(store, dbi, name, strlen(name), r.p, CRL_REC_MAX,
	    &len) != 1 || crl_rec_get((r.len = len, r.cap = 0, &r), &magic,
	    sizeof(magic)) != 0 || magic != CRL_REC_MAGIC ||
	    crl_rec_get(&r, &cnt, sizeof(cnt)) != 0 || cnt == 0 ||
	    cnt > CRL_MAX - s->n)
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
		    crl_rec_get(&r, &b, sizeof(b)) != 0)
			goto fail;
		m->next_update = (time_t)t;
		m->is_delta = b;
		if (crl_rec_getstr(&r, m->number, sizeof(m->number)) != 0 ||
		    crl_rec_getstr(&r, m->base_number,
		    sizeof(m->base_number)) != 0 ||
		    crl_rec_getstr(&r, m->setname, sizeof(m->setname)) != 0 ||
		    (m->issuer_name = crl_rec_getname(&r)) == NULL ||
		    crl_rec_getblob(&r, &idp, &idplen) != 0 ||
		    crl_meta_idp(m, idp, idplen, &why) != 0 ||
		    crl_rec_get(&r, &nind, sizeof(nind)) != 0 ||
		    nind > CRL_IND_MAX)
			goto fail;
		for (k = 0; k < nind; k++) {
			if ((m->ind[k] = crl_rec_getname(&r)) == NULL)
				goto fail;
			m->nind++;
		}
		identity_dn(m->issuer_name, m->issuer_dn, sizeof(m->issuer_dn));
		/* The signer must still be configured, the same certificate. */
		for (j = 0; (x = chain_store_ca(chain, j)) != NULL; j++)
			if (crl_cert_sha256(x, cmd) == 0 &&
			    memcmp(cmd, md, sizeof(md)) == 0)
				break;
		if (x == NULL || X509_up_ref(x) != 1)
			goto fail;
		m->issuer = x;
		if (crl_signers(m, chain, NULL, &rj, err, sizeof(err)) != 0 ||
		    store_set_find(store, m->setname, &m->set, &count) != 0)
			goto fail;
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

void
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
size_t
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

