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
 * One CRL's validation, index and applicability are crlmeta.c; a file's
 * record for the next start is crlrec.c; CRLs fetched from distribution
 * points are crldp.c (their headers are private to the CRL files).
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
#include "crlrec.h"
#include "err.h"
#include "identity.h"
#include "log.h"
#include "metrics.h"
#include "store.h"


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
    struct store *store, const struct crl_src *src)
{
	X509_CRL	*crl = src->crl;
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
	if ((rc = crl_meta_build_src(&s->m[s->n], chain, store, src, path,
	    &count, &why, err, sizeof(err))) != 0) {
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
 * One CRL's DER: split and streamed when it can be (its entries never all
 * in memory at once), else parsed whole.  As crl_add; -2 when it is not a
 * CRL at all (the error queue says why).
 */
static int
crl_add_der(struct crl_set *s, const char *path,
    const struct chain_store *chain, struct store *store,
    const unsigned char *der, size_t len)
{
	struct crl_src	 src;
	int		 r;

	if (crl_src_read(&src, der, len) != 0)
		return -2;
	r = crl_add(s, path, chain, store, &src);
	crl_src_cleanup(&src);
	return r;
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
	FILE		*f;
	unsigned char	*buf = NULL, *der = NULL;
	const unsigned char *p, *q;
	long		 len, derlen, olen;
	size_t		 elen;
	int		 tag, cls;
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
		while (PEM_bytes_read_bio(&der, &derlen, NULL,
		    PEM_STRING_X509_CRL, bio, NULL, NULL) == 1) {
			r = crl_add_der(s, path, chain, store, der,
			    (size_t)derlen);
			OPENSSL_free(der);
			der = NULL;
			if (r == -2)
				break;
			n++;
			if (r < 0) {
				rc = r;
				goto end;
			}
			rejected |= r;
		}
		if (ERR_GET_REASON(ERR_peek_last_error()) == PEM_R_NO_START_LINE)
			ERR_clear_error();
	} else {
		for (p = buf; p < buf + len; p += elen) {
			/* one element: its header says how long */
			q = p;
			if ((ASN1_get_object(&q, &olen, &tag, &cls, (long)(buf +
			    len - p)) & 0x81) != 0 || olen < 0) {
				if (ERR_peek_error() == 0)
					ERR_raise(ERR_LIB_ASN1,
					    ASN1_R_WRONG_TAG);
				break;
			}
			elen = (size_t)(q - p) + (size_t)olen;
			r = crl_add_der(s, path, chain, store, p, elen);
			if (r == -2)
				break;
			n++;
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
    STACK_OF(X509) *chain, int i, const struct crl_leaf *leaf, time_t at,
    int missing_allow, time_t grace, struct crl_result *res)
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

	if (leaf != NULL && i == 0) {
		if (crl_cert_init_kept(&c, chain, leaf) != 0) {
			res->status = CRL_ERROR;
			res->depth = i;
			snprintf(res->detail, sizeof(res->detail), "the kept "
			    "chain's serial number is unreadable");
			goto end;
		}
	} else
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
		if ((rc = crl_revoked(p->base, p->delta, &c)) != 0) {
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
	if (c.x != NULL)
		identity_dn(X509_get_subject_name(c.x), dn, sizeof(dn));
	else
		snprintf(dn, sizeof(dn), "%s", c.subject != NULL ? c.subject :
		    "?");
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
		if (crl_check_one(s, NULL, chain, i, NULL, at, missing_allow,
		    grace, res))
			return;
}

void
crl_check_depth(const struct crl_set *s, const struct crl_fetch_ctx *fetch,
    STACK_OF(X509) *chain, int depth, const struct crl_leaf *leaf, time_t at,
    int missing_allow, time_t grace, struct crl_result *res)
{
	crl_result_init(res);
	if (s == NULL)
		return;
	if (chain == NULL || depth < 0 || depth + 1 >= sk_X509_num(chain)) {
		res->status = CRL_ERROR;
		snprintf(res->detail, sizeof(res->detail), "no chain to check");
		return;
	}
	if (leaf == NULL && sk_X509_value(chain, depth) == NULL) {
		res->status = CRL_ERROR;
		snprintf(res->detail, sizeof(res->detail), "no certificate "
		    "at depth %d to check", depth);
		return;
	}
	crl_check_one(s, fetch, chain, depth, leaf, at, missing_allow, grace,
	    res);
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
