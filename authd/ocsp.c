/*
 * ocsp.c: OCSP for the certificates of a verified chain.
 *
 * The same shape as the CRL distribution points in crl.c: a table of
 * entries, here one per CertID; a fetch job per entry at a time, on the
 * fetch pool; requests that need an answer wait (suspended) on the entry.
 * The job asks the responders in order, verifies what comes back in the
 * way curl's verifystatus() does (response status, basic response,
 * nonce, OCSP_basic_verify, our CertID, thisUpdate and nextUpdate at the
 * decision time with a named skew, unknown is a failure), keeps the answer
 * in LMDB as a record (ocsp_record_put), and wakes the waiters.  A job
 * holds the snapshot it was started under (ocsp_ctx.owner) and verifies
 * with that trust.  The table is bounded (ocsp_cache_size, LRU); a miss
 * reads the record back, and verifies its DER again when the trust
 * generation it was verified under is not the caller's.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/x509v3.h>

#include "chain.h"
#include "err.h"
#include "fetch.h"
#include "fetchtab.h"
#include "identity.h"
#include "log.h"
#include "metrics.h"
#include "ocsp.h"
#include "ocspresp.h"
#include "store.h"

#define OCSP_BACKOFF_MIN 30
#define OCSP_BACKOFF_MAX 600
#define OCSP_GET_MAX	 255		/* RFC 5019: GET when this short */
#define OCSP_URLS_MAX	 4
#define OCSP_DER_MAX	 (256 * 1024)

#define OCSP_SRC_ASKED	 1		/* a responder, by this process */
#define OCSP_SRC_STORED	 2		/* LMDB, from an earlier run */
#define OCSP_SRC_GIVEN	 3		/* check --ocsp-response */

/*
 * One CertID, keyed by the hex SHA-256 of its DER, in the fetch engine's
 * table (in flight, waiters, back-off, LRU): at most ocsp_cache_size in
 * memory, least recently used first out; an entry being fetched, read
 * from the store or waited on is never evicted.  An evicted answer is
 * read back from the store (and verified again) when its certificate
 * comes back.
 */
struct ocsp_entry {
	struct fetchtab_entry	 fe;		/* first */
	unsigned char		 have;		/* an answer below */
	unsigned char		 revoked;
	unsigned char		 stored_checked; /* LMDB looked at */
	unsigned char		 source;	/* OCSP_SRC_* of the answer */
	time_t			 this_update, next_update;
	time_t			 use_until;	/* the answer holds until */
	time_t			 refresh_after;	/* paces refreshes ahead */
	unsigned long		 gen;		/* ocsp_ctx.generation it was verified in */
	char			*error;		/* owned, NULL: none */
	char			*responder;	/* owned, NULL: none */
	char			*signer;	/* subject of the signer, owned */
};

/* What a verification found, before it goes into an entry. */
struct ocsp_answer {
	int			 revoked;
	time_t			 this_update, next_update, use_until;
	char			 signer[256];
};

struct ocsp_job {
	struct ocsp_entry	*e;
	X509			*cert, *issuer;
	struct ocsp_ctx		 ctx;		/* its owner held while it runs */
	/* check --ocsp-response: borrowed, check only (no threads) */
	unsigned char *const	*offline;
	const size_t		*offline_len;
	size_t			 noffline;
	time_t			 at;		/* decision time; 0: now */
	struct fetch_pool	*pool;		/* NULL: ask on this thread */
	/* while it runs */
	STACK_OF(OPENSSL_STRING) *aia;
	const char		*urls[OCSP_URLS_MAX];
	size_t			 nurls, next;	/* next: the one to ask next */
	OCSP_REQUEST		*req;
	unsigned char		*der;
	int			 len;
	int			 ok, stored;
	struct ocsp_answer	 ans;
	char			 err[512];
	char			 used[256];
};

static void			 ocsp_entry_cleanup(struct fetchtab_entry *);
/* The CertIDs; its lock also guards the statics below. */
static struct fetchtab		 ocsp_tab =
    FETCHTAB_INITIALIZER(struct ocsp_entry, ocsp_entry_cleanup);
static struct fetch_pool	*ocsp_pool;
static struct store		*ocsp_store;
static store_set_t		 ocsp_dbi;
static int			 ocsp_have_dbi;
static atomic_ulong		 ocsp_gen;
static int			 ocsp_inline;	/* no pool: ask on this thread */
#define OCSP_OFFLINE_MAX 8		/* --ocsp-response, one per depth */
static unsigned char		*ocsp_offline[OCSP_OFFLINE_MAX];
static size_t			 ocsp_offline_len[OCSP_OFFLINE_MAX];
static size_t			 ocsp_noffline;

/* A copy sharing the certificates (each up-referenced). */
static STACK_OF(X509) *
ocsp_dup(STACK_OF(X509) *sk)
{
	STACK_OF(X509)	*d;
	int		 i;

	if (sk == NULL || (d = sk_X509_new_null()) == NULL)
		return NULL;
	for (i = 0; i < sk_X509_num(sk); i++)
		if (X509_up_ref(sk_X509_value(sk, i)) == 1 &&
		    !sk_X509_push(d, sk_X509_value(sk, i)))
			X509_free(sk_X509_value(sk, i));
	return d;
}

const char *
ocsp_route(const struct ocsp_ctx *ctx, X509 *issuer)
{
	size_t	 i;

	for (i = 0; ctx != NULL && issuer != NULL && i < ctx->nroutes; i++)
		if (X509_cmp(ctx->routes[i].issuer, issuer) == 0)
			return ctx->routes[i].url;
	return NULL;
}

int
ocsp_add_offline_response(const unsigned char *der, size_t len)
{
	unsigned char	*p;
	int		 rc = -1;

	if ((p = malloc(len > 0 ? len : 1)) == NULL)
		return -1;
	memcpy(p, der, len);
	fetchtab_lock(&ocsp_tab);
	if (ocsp_noffline < OCSP_OFFLINE_MAX) {
		ocsp_offline[ocsp_noffline] = p;
		ocsp_offline_len[ocsp_noffline++] = len;
		p = NULL;
		rc = 0;
	}
	fetchtab_unlock(&ocsp_tab);
	free(p);
	return rc;
}

int
ocsp_set_offline_response(const unsigned char *der, size_t len)
{
	fetchtab_lock(&ocsp_tab);
	while (ocsp_noffline > 0)
		free(ocsp_offline[--ocsp_noffline]);
	fetchtab_unlock(&ocsp_tab);
	return der != NULL ? ocsp_add_offline_response(der, len) : 0;
}

void
ocsp_set_inline(int on)
{
	fetchtab_lock(&ocsp_tab);
	ocsp_inline = on;
	fetchtab_unlock(&ocsp_tab);
}

static void
ocsp_metrics(struct metrics_buf *b, void *arg)
{
	(void)arg;
	metrics_head(b, "authd_ocsp_cache_entries", "gauge",
	    "CertIDs in the OCSP table (answers and remembered failures).");
	metrics_printf(b, "authd_ocsp_cache_entries %zu\n",
	    fetchtab_count(&ocsp_tab));
	metrics_head(b, "authd_ocsp_cache_evictions_total", "counter",
	    "CertIDs dropped from memory to keep within ocsp_cache_size.");
	metrics_printf(b, "authd_ocsp_cache_evictions_total %llu\n",
	    fetchtab_evictions(&ocsp_tab));
}

void
ocsp_init(struct fetch_pool *pool, struct store *store)
{
	(void)metrics_register(ocsp_metrics, NULL);
	fetchtab_lock(&ocsp_tab);
	ocsp_pool = pool;
	ocsp_store = store;
	ocsp_have_dbi = store != NULL &&
	    store_kv_open(store, "ocsp", &ocsp_dbi) == 0;
	fetchtab_unlock(&ocsp_tab);
}


unsigned long
ocsp_generation(void)
{
	return atomic_load(&ocsp_gen);
}

/* What the table's entry carries beyond its own fields. */
static void
ocsp_entry_cleanup(struct fetchtab_entry *fe)
{
	struct ocsp_entry	*e = (struct ocsp_entry *)fe;

	free(e->error);
	free(e->responder);
	free(e->signer);
}

static void	 ocsp_prefix_cleanup(void);

void
ocsp_shutdown(void)
{
	if (ocsp_store != NULL)
		store_kv_flush(ocsp_store);	/* every answer kept is written */
	ocspresp_cleanup();
	ocsp_prefix_cleanup();
	fetchtab_clear(&ocsp_tab);
	fetchtab_lock(&ocsp_tab);
	ocsp_pool = NULL;
	ocsp_store = NULL;
	ocsp_have_dbi = 0;
	while (ocsp_noffline > 0)
		free(ocsp_offline[--ocsp_noffline]);
	fetchtab_unlock(&ocsp_tab);
}

/* Replace an owned string; "" and no memory leave NULL. */
static void
ocsp_setstr(char **dst, const char *src)
{
	free(*dst);
	*dst = src != NULL && src[0] != '\0' ? strdup(src) : NULL;
}

static const char *
ocsp_str(const char *s, const char *none)
{
	return s != NULL ? s : none;
}

/* Locked.  create: the table's bound (ocsp_cache_size), else 0. */
static struct ocsp_entry *
ocsp_get(const char *key, size_t create)
{
	return (struct ocsp_entry *)fetchtab_get(&ocsp_tab, key, create);
}

static OCSP_CERTID *
ocsp_certid(X509 *cert, X509 *issuer, int sha256)
{
	return OCSP_cert_to_id(sha256 ? EVP_sha256() : EVP_sha1(), cert,
	    issuer);
}

/* The table key: SHA-256 of the CertID's DER, in hex. */
static int
ocsp_key(OCSP_CERTID *id, char *key, size_t len)
{
	unsigned char	*der = NULL, md[IDENTITY_SHA256_LEN];
	char		 hex[IDENTITY_FP_MAX];
	int		 n;

	if ((n = i2d_OCSP_CERTID(id, &der)) <= 0)
		return -1;
	n = identity_sha256(der, (size_t)n, md);
	OPENSSL_free(der);
	if (n != 0)
		return -1;
	identity_hex(md, hex);
	snprintf(key, len, "%s", hex);
	return 0;
}

/*
 * A CertID is its hash algorithm, the hashes of the issuer's name (as the
 * certificate writes it) and of its key, then the certificate's serial:
 * all but the serial is the same for every certificate of one issuer.  So
 * the DER before the serial is kept per issuer, and a key is that, the
 * serial, and one SHA-256 (no hashing of the name and key per request).
 */
#define OCSP_PREFIXES		 16
#define OCSP_PREFIX_NAME_MAX	 512	/* longer issuer names: not kept */
#define OCSP_PREFIX_MAX		 160	/* alg + two hashes of at most 64 */
#define OCSP_SERIAL_DER_MAX	 72

struct ocsp_prefix {
	X509		*issuer;	/* NULL: a free slot */
	int		 sha256;
	size_t		 namelen, len;
	unsigned char	 name[OCSP_PREFIX_NAME_MAX];	/* cert's issuer DN */
	unsigned char	 der[OCSP_PREFIX_MAX];
};

static pthread_mutex_t		 ocsp_prefix_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ocsp_prefix	 ocsp_prefixes[OCSP_PREFIXES];
static size_t			 ocsp_prefix_next;

static void
ocsp_prefix_cleanup(void)
{
	size_t	 i;

	pthread_mutex_lock(&ocsp_prefix_lock);
	for (i = 0; i < OCSP_PREFIXES; i++) {
		X509_free(ocsp_prefixes[i].issuer);
		ocsp_prefixes[i].issuer = NULL;
	}
	ocsp_prefix_next = 0;
	pthread_mutex_unlock(&ocsp_prefix_lock);
}

/* The key of cert's CertID from a kept prefix; 1, or 0 when none is kept. */
static int
ocsp_key_fast(X509 *cert, X509 *issuer, int sha256, const unsigned char *name,
    size_t namelen, char *key, size_t len)
{
	unsigned char	 buf[8 + OCSP_PREFIX_MAX + OCSP_SERIAL_DER_MAX], *p;
	unsigned char	 md[IDENTITY_SHA256_LEN];
	char		 hex[IDENTITY_FP_MAX];
	struct ocsp_prefix *e;
	size_t		 i, plen = 0;
	int		 slen, hlen, found = 0;

	slen = i2d_ASN1_INTEGER(X509_get0_serialNumber(cert), NULL);
	if (slen <= 0 || slen > OCSP_SERIAL_DER_MAX)
		return 0;
	pthread_mutex_lock(&ocsp_prefix_lock);
	for (i = 0; i < OCSP_PREFIXES && !found; i++) {
		e = &ocsp_prefixes[i];
		if (e->issuer != NULL && e->sha256 == sha256 &&
		    e->namelen == namelen &&
		    memcmp(e->name, name, namelen) == 0 &&
		    (e->issuer == issuer || X509_cmp(e->issuer, issuer) == 0)) {
			plen = e->len;
			memcpy(buf + 8, e->der, plen);
			found = 1;
		}
	}
	pthread_mutex_unlock(&ocsp_prefix_lock);
	if (!found)
		return 0;
	p = buf + 8 + plen;
	if (i2d_ASN1_INTEGER(X509_get0_serialNumber(cert), &p) != slen)
		return 0;
	/* The SEQUENCE's header, right before its contents. */
	hlen = ASN1_object_size(1, (int)plen + slen, V_ASN1_SEQUENCE) -
	    ((int)plen + slen);
	if (hlen <= 0 || hlen > 8)
		return 0;
	p = buf + 8 - hlen;
	ASN1_put_object(&p, 1, (int)plen + slen, V_ASN1_SEQUENCE,
	    V_ASN1_UNIVERSAL);
	if (identity_sha256(buf + 8 - hlen, (size_t)(hlen + (int)plen + slen),
	    md) != 0)
		return 0;
	identity_hex(md, hex);
	snprintf(key, len, "%s", hex);
	return 1;
}

/* Keep the DER of id before its serial (cert's), for issuer. */
static void
ocsp_prefix_add(OCSP_CERTID *id, X509 *cert, X509 *issuer, int sha256,
    const unsigned char *name, size_t namelen)
{
	struct ocsp_prefix	*e;
	unsigned char		*der = NULL, *sder = NULL;
	const unsigned char	*p;
	long			 clen;
	int			 n, sl, tag, cls;

	if (namelen > OCSP_PREFIX_NAME_MAX ||
	    (n = i2d_OCSP_CERTID(id, &der)) <= 0)
		return;
	p = der;
	sl = i2d_ASN1_INTEGER(X509_get0_serialNumber(cert), &sder);
	/* SEQUENCE { prefix, serial }: the serial's DER ends it */
	if (sl > 0 && (ASN1_get_object(&p, &clen, &tag, &cls, n) & 0x80) == 0 &&
	    tag == V_ASN1_SEQUENCE && p + clen == der + n && clen > sl &&
	    clen - sl <= OCSP_PREFIX_MAX &&
	    memcmp(p + clen - sl, sder, (size_t)sl) == 0 &&
	    X509_up_ref(issuer) == 1) {
		pthread_mutex_lock(&ocsp_prefix_lock);
		e = &ocsp_prefixes[ocsp_prefix_next];
		ocsp_prefix_next = (ocsp_prefix_next + 1) % OCSP_PREFIXES;
		X509_free(e->issuer);
		e->issuer = issuer;
		e->sha256 = sha256;
		e->namelen = namelen;
		memcpy(e->name, name, namelen);
		e->len = (size_t)(clen - sl);
		memcpy(e->der, p, e->len);
		pthread_mutex_unlock(&ocsp_prefix_lock);
	}
	OPENSSL_free(sder);
	OPENSSL_free(der);
}

/* From a kept prefix, else computed by OpenSSL and the prefix kept. */
int
ocsp_certid_key(X509 *cert, X509 *issuer, int sha256, char *key, size_t len)
{
	OCSP_CERTID		*id;
	const unsigned char	*name;
	size_t			 namelen;
	int			 rc;

	if (!X509_NAME_get0_der(X509_get_issuer_name(cert), &name, &namelen))
		return -1;
	if (ocsp_key_fast(cert, issuer, sha256, name, namelen, key, len))
		return 0;
	if ((id = ocsp_certid(cert, issuer, sha256)) == NULL)
		return -1;
	if ((rc = ocsp_key(id, key, len)) == 0)
		ocsp_prefix_add(id, cert, issuer, sha256, name, namelen);
	OCSP_CERTID_free(id);
	return rc;
}

/*
 * Signed by a pinned responder (ocsp_signer)?  Only the configured
 * certificates are considered as signers (NOINTERN: not the ones the
 * response carries), they are trusted as configured (TRUSTOTHER), and
 * they need no delegation from the issuer (NOCHECKS): that is what
 * pinning means.
 */
static int
ocsp_pinned(OCSP_BASICRESP *bs, STACK_OF(X509) *pinned, X509_STORE *trust)
{
	STACK_OF(X509)	*signers;
	int		 ok;

	signers = ocsp_dup(pinned);	/* OpenSSL takes it non-const */
	if (signers == NULL || sk_X509_num(signers) == 0) {
		sk_X509_pop_free(signers, X509_free);
		return 0;
	}
	ERR_clear_error();
	ok = OCSP_basic_verify(bs, signers, trust,
	    OCSP_NOINTERN | OCSP_TRUSTOTHER | OCSP_NOCHECKS) > 0;
	sk_X509_pop_free(signers, X509_free);
	return ok;
}

static void
ocsp_time(time_t t, char *buf, size_t len)
{
	struct tm	 tm;

	if (t == 0)
		snprintf(buf, len, "none");
	else if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "@%lld", (long long)t);
}

/*
 * thisUpdate and nextUpdate at the decision time at (not the wall clock,
 * as OCSP_check_validity would: authd check --at), within the skew;
 * thisUpdate no older than ocsp_max_age.  Returns 0, or -1 with err.
 */
static int
ocsp_window(time_t t, int has_next, time_t n, time_t at,
    const struct ocsp_settings *set, char *err, size_t errlen)
{
	char	 ts[32], ns[32];

	ocsp_time(t, ts, sizeof(ts));
	ocsp_time(n, ns, sizeof(ns));
	if (t > at + set->skew)
		snprintf(err, errlen, "not yet valid: thisUpdate %s is after "
		    "the decision time (skew %llds)", ts, (long long)set->skew);
	else if (has_next && at > n + set->skew)
		snprintf(err, errlen, "expired: nextUpdate %s is before the "
		    "decision time (skew %llds)", ns, (long long)set->skew);
	else if (has_next && n < t)
		snprintf(err, errlen, "nextUpdate %s is before thisUpdate %s",
		    ns, ts);
	else if (set->max_age > 0 && at - t > set->max_age)
		snprintf(err, errlen, "too old: thisUpdate %s, ocsp_max_age "
		    "%llds", ts, (long long)set->max_age);
	else
		return 0;
	return -1;
}

static int
ocsp_times(const ASN1_GENERALIZEDTIME *thisupd,
    const ASN1_GENERALIZEDTIME *nextupd, time_t at,
    const struct ocsp_settings *set, char *err, size_t errlen)
{
	time_t	 t, n = 0;

	if (identity_time(thisupd, &t) != 0 || (nextupd != NULL &&
	    identity_time(nextupd, &n) != 0)) {
		snprintf(err, errlen, "unreadable thisUpdate or nextUpdate");
		return -1;
	}
	return ocsp_window(t, nextupd != NULL, n, at, set, err, errlen);
}

/*
 * Verify a DER response for (cert, issuer) with the trust of ctx.
 * Fills the entry's answer fields on success; returns 0, or -1 with err.
 */
static int
ocsp_verify(const unsigned char *der, size_t len, X509 *cert, X509 *issuer,
    const struct ocsp_ctx *ctx, OCSP_REQUEST *req, time_t at,
    struct ocsp_answer *out, char *err, size_t errlen)
{
	OCSP_RESPONSE		*resp = NULL;
	OCSP_BASICRESP		*bs = NULL;
	OCSP_CERTID		*id = NULL;
	STACK_OF(X509)		*certs = NULL;
	ASN1_GENERALIZEDTIME	*thisupd = NULL, *nextupd = NULL, *revtime;
	const struct ocsp_settings *set = &ctx->set;
	STACK_OF(X509)		*untrusted;
	X509_STORE		*trust = NULL;
	X509			*known;
	const unsigned char	*p = der;
	char			 ossl[200] = "";
	int			 rc = -1, st, status = -1, reason, i;

	ERR_clear_error();
	if ((resp = d2i_OCSP_RESPONSE(NULL, &p, (long)len)) == NULL ||
	    p != der + len) {
		snprintf(err, errlen, "malformed OCSP response");
		goto end;
	}
	if ((st = OCSP_response_status(resp)) !=
	    OCSP_RESPONSE_STATUS_SUCCESSFUL) {
		snprintf(err, errlen, "responder says %s",
		    OCSP_response_status_str(st));
		goto end;
	}
	if ((bs = ocspresp_basic(der, len, resp)) == NULL) {
		snprintf(err, errlen, "no basic OCSP response");
		goto end;
	}
	if (req != NULL && set->nonce && OCSP_check_nonce(req, bs) <= 0) {
		snprintf(err, errlen, "nonce missing or not ours");
		goto end;
	}
	if (ctx->chain == NULL || (certs = sk_X509_new_null()) == NULL ||
	    !sk_X509_push(certs, issuer)) {
		snprintf(err, errlen, "no trust loaded");
		goto end;
	}
	X509_up_ref(issuer);
	untrusted = chain_store_untrusted(ctx->chain);
	for (i = 0; i < sk_X509_num(untrusted); i++)
		if (X509_up_ref(sk_X509_value(untrusted, i)) == 1 &&
		    !sk_X509_push(certs, sk_X509_value(untrusted, i)))
			X509_free(sk_X509_value(untrusted, i));
	/*
	 * The signer must chain to our anchors and be the issuer or its
	 * delegate with OCSPSigning (OpenSSL checks both here).  The reason
	 * is taken before the pinned responders are tried: theirs would
	 * hide it.
	 */
	/*
	 * A signer whose authority over this issuer was verified before, under
	 * this trust, needs only its signature checked (ocspresp.h).  The
	 * responder's chain is judged at the decision time too.
	 */
	if (ocspresp_signer_known(bs, certs, issuer, ctx->chain,
	    ctx->generation, at, &known))
		X509_free(known);
	else if ((trust = chain_store_trust_at(ctx->chain, at)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto end;
	} else if (OCSP_basic_verify(bs, certs, trust, 0) > 0)
		ocspresp_signer_add(bs, certs, issuer, ctx->chain,
		    ctx->generation);
	else {
		err_openssl(ossl, sizeof(ossl));
		if (!ocsp_pinned(bs, ctx->signers, trust)) {
			snprintf(err, errlen, "signature does not verify "
			    "(signer is not the issuer, an OCSPSigning "
			    "delegate or an ocsp_signer): %s", ossl);
			goto end;
		}
	}
	{
		X509	*signer = NULL;

		out->signer[0] = '\0';
		if (OCSP_resp_get0_signer(bs, &signer, certs) == 1 &&
		    signer != NULL)
			identity_dn(X509_get_subject_name(signer), out->signer,
			    sizeof(out->signer));
		else
			snprintf(out->signer, sizeof(out->signer), "a pinned "
			    "ocsp_signer (not in the response)");
	}
	if ((id = ocsp_certid(cert, issuer, set->certid_sha256)) == NULL ||
	    OCSP_resp_find_status(bs, id, &status, &reason, &revtime,
	    &thisupd, &nextupd) != 1) {
		rc = -2;
		snprintf(err, errlen, "the response is not about this "
		    "certificate");
		goto end;
	}
	/*
	 * A revocation read back from the store stays true until the
	 * certificate expires, whatever the response's own window says.
	 */
	if (!(req == NULL && status == V_OCSP_CERTSTATUS_REVOKED) &&
	    ocsp_times(thisupd, nextupd, at, set, err, errlen) != 0)
		goto end;
	if (status == V_OCSP_CERTSTATUS_UNKNOWN) {
		snprintf(err, errlen, "the responder does not know the "
		    "certificate (unknown)");
		goto end;
	}
	out->revoked = status == V_OCSP_CERTSTATUS_REVOKED;
	identity_time(thisupd, &out->this_update);
	out->next_update = 0;
	if (nextupd != NULL)
		identity_time(nextupd, &out->next_update);
	if (out->revoked)
		identity_time(X509_get0_notAfter(cert), &out->use_until);
	else if (out->next_update != 0)
		out->use_until = out->next_update;
	else
		out->use_until = at + set->default_ttl;
	rc = 0;
end:
	ERR_clear_error();
	X509_STORE_free(trust);
	sk_X509_pop_free(certs, X509_free);
	OCSP_CERTID_free(id);
	OCSP_BASICRESP_free(bs);
	OCSP_RESPONSE_free(resp);
	return rc;
}

/*
 * What the store keeps per CertID: the answer as verified, the trust
 * generation it was verified under, and the DER it came from.  A record of
 * the generation the caller runs under is used as it is, its times checked
 * at the decision time (the store lives in data_dir, authd's own, as the
 * CRL index does); under another generation, or a bare DER from an older
 * authd, the DER is verified again and the record rewritten.
 */
#define OCSP_REC_MAGIC	 "OCR1"
#define OCSP_REC_SMALL	 8192		/* read without a heap buffer */

struct ocsp_rec {
	char		 magic[4];
	uint8_t		 revoked;
	uint8_t		 pad;
	uint16_t	 signer_len;
	int64_t		 this_update, next_update, use_until;
	uint64_t	 gen;
};

/* Keep ans (verified under gen) and its DER for key.  Unlocked. */
static int
ocsp_record_put(const char *key, const struct ocsp_answer *ans,
    unsigned long gen, const unsigned char *der, size_t len)
{
	struct ocsp_rec	 h;
	unsigned char	*buf;
	size_t		 sl = strnlen(ans->signer, sizeof(ans->signer) - 1);
	int		 rc;

	if (!ocsp_have_dbi || len > OCSP_DER_MAX ||
	    (buf = malloc(sizeof(h) + sl + len)) == NULL)
		return -1;
	memset(&h, 0, sizeof(h));
	memcpy(h.magic, OCSP_REC_MAGIC, sizeof(h.magic));
	h.revoked = (uint8_t)ans->revoked;
	h.signer_len = (uint16_t)sl;
	h.this_update = ans->this_update;
	h.next_update = ans->next_update;
	h.use_until = ans->use_until;
	h.gen = gen;
	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), ans->signer, sl);
	memcpy(buf + sizeof(h) + sl, der, len);
	rc = store_kv_put_queued(ocsp_store, ocsp_dbi, key, strlen(key), buf,
	    sizeof(h) + sl + len);
	free(buf);
	return rc;
}

/*
 * A stored answer for key, from an earlier run or evicted from the table.
 * Called unlocked (LMDB read, maybe a signature check); the caller merges
 * the result.  Returns 0 with ans filled, or -1.
 */
static int
ocsp_from_store(const char *key, X509 *cert, X509 *issuer,
    const struct ocsp_ctx *ctx, time_t at, struct ocsp_answer *ans)
{
	unsigned char	 small[OCSP_REC_SMALL], *buf = small, *heap = NULL;
	const unsigned char *der;
	struct ocsp_rec	 h;
	size_t		 len = 0, dlen;
	char		 err[256];
	int		 rc = -1, r;

	if (!ocsp_have_dbi)
		return -1;
	r = store_kv_get(ocsp_store, ocsp_dbi, key, strlen(key), small,
	    sizeof(small), &len);
	if (r == 0 && len > sizeof(small) && len <= sizeof(h) + 65535 +
	    OCSP_DER_MAX && (heap = malloc(len)) != NULL) {
		buf = heap;
		r = store_kv_get(ocsp_store, ocsp_dbi, key, strlen(key), buf,
		    len, &len);
	}
	if (r != 1)
		goto end;
	der = buf;
	dlen = len;
	if (len >= sizeof(h) && memcmp(buf, OCSP_REC_MAGIC, 4) == 0) {
		memcpy(&h, buf, sizeof(h));
		if (sizeof(h) + h.signer_len > len)
			goto end;
		der = buf + sizeof(h) + h.signer_len;
		dlen = len - sizeof(h) - h.signer_len;
		if (h.gen == (uint64_t)ctx->generation) {
			ans->revoked = h.revoked != 0;
			ans->this_update = (time_t)h.this_update;
			ans->next_update = (time_t)h.next_update;
			ans->use_until = (time_t)h.use_until;
			snprintf(ans->signer, sizeof(ans->signer), "%.*s",
			    (int)h.signer_len, (const char *)buf + sizeof(h));
			/* As ocsp_verify: a revocation stays true. */
			rc = ans->revoked || ocsp_window(ans->this_update,
			    ans->next_update != 0, ans->next_update, at,
			    &ctx->set, err, sizeof(err)) == 0 ? 0 : -1;
			goto end;
		}
	}
	if ((rc = ocsp_verify(der, dlen, cert, issuer, ctx, NULL, at, ans,
	    err, sizeof(err))) == 0)
		ocsp_record_put(key, ans, ctx->generation, der, dlen);
end:
	free(heap);
	return rc;
}

/* base64 of der, URL-escaped, into out; -1 when it does not fit. */
static int
ocsp_get_path(const unsigned char *der, size_t len, char *out, size_t cap)
{
	unsigned char	 b64[2048];
	size_t		 i, o = 0;
	int		 n;

	if (len > 1500 || (n = EVP_EncodeBlock(b64, der, (int)len)) <= 0)
		return -1;
	for (i = 0; i < (size_t)n; i++) {
		if (o + 4 > cap)
			return -1;
		if (b64[i] == '+' || b64[i] == '/' || b64[i] == '=') {
			o += (size_t)snprintf(out + o, cap - o, "%%%02X", b64[i]);
			continue;
		}
		out[o++] = (char)b64[i];
	}
	out[o] = '\0';
	return 0;
}

/* The request to one responder: GET when short enough, else POST. */
static void
ocsp_request(const struct ocsp_job *job, const char *url,
    struct fetch_request *rq, char *full, size_t fullcap)
{
	const struct ocsp_settings *set = &job->ctx.set;
	char			 path[1200];

	memset(rq, 0, sizeof(*rq));
	rq->connect_timeout_ms = (int)(set->timeout * 1000);
	rq->timeout_ms = (int)(set->timeout * 1000);
	rq->max_size = set->max_size;
	rq->proxy = set->proxy;
	if (ocsp_get_path(job->der, (size_t)job->len, path,
	    sizeof(path)) == 0 && strlen(url) + 1 + strlen(path) <= OCSP_GET_MAX) {
		/* Both fit: GET only when they add up to OCSP_GET_MAX. */
		snprintf(full, fullcap, "%.255s%s%.255s", url,
		    url[strlen(url) - 1] == '/' ? "" : "/", path);
		rq->url = full;
	} else {
		rq->url = url;
		rq->body = job->der;
		rq->body_len = (size_t)job->len;
		rq->content_type = "application/ocsp-request";
	}
}

/* What one responder said (res), into the job: ok, or the next error. */
static void
ocsp_answered(struct ocsp_job *job, const char *url, struct fetch_result *res)
{
	char	 tmp[512];

	snprintf(job->used, sizeof(job->used), "%s", url);
	if (!res->ok) {
		snprintf(job->err, sizeof(job->err), "%s: %s", url, res->error);
		metrics_ocsp_query(METRICS_OCSP_ERROR, res->elapsed_ms);
	} else if (ocsp_verify(res->body, res->len, job->cert, job->issuer,
	    &job->ctx, job->req, job->at, &job->ans, job->err,
	    sizeof(job->err)) == 0) {
		job->ok = 1;
		metrics_ocsp_query(job->ans.revoked ? METRICS_OCSP_REVOKED :
		    METRICS_OCSP_GOOD, res->elapsed_ms);
		job->stored = ocsp_record_put(job->e->fe.key, &job->ans,
		    job->ctx.generation, res->body, res->len) == 0;
	} else {
		metrics_ocsp_query(METRICS_OCSP_INVALID, res->elapsed_ms);
		snprintf(tmp, sizeof(tmp), "%.200s: %.300s", url, job->err);
		memcpy(job->err, tmp, sizeof(job->err));
	}
}

static void	 ocsp_next(struct ocsp_job *);
static void	 ocsp_finish(struct ocsp_job *);

/* On a worker: a responder's answer came back. */
static void
ocsp_fetched(void *arg, struct fetch_result *res)
{
	struct ocsp_job	*job = arg;

	ocsp_answered(job, job->urls[job->next - 1], res);
	ocsp_next(job);
}

/*
 * Ask the responders in turn until one gives a usable answer: through the
 * pool's transfer thread (the answer comes back to ocsp_fetched), or here
 * for authd check, which has no pool.
 */
static void
ocsp_next(struct ocsp_job *job)
{
	struct fetch_request	 rq;
	struct fetch_result	 res;
	char			 full[FETCH_URL_MAX];
	const char		*url;

	while (!job->ok && job->next < job->nurls) {
		url = job->urls[job->next++];
		ocsp_request(job, url, &rq, full, sizeof(full));
		if (job->pool != NULL) {
			if (fetch_start(job->pool, &rq, ocsp_fetched, job) == 0)
				return;
			snprintf(job->used, sizeof(job->used), "%s", url);
			snprintf(job->err, sizeof(job->err), "%.300s: cannot "
			    "start the fetch (shutting down or out of memory)",
			    url);
			continue;
		}
		memset(&res, 0, sizeof(res));
		fetch_http(&rq, &res);
		ocsp_answered(job, url, &res);
		fetch_result_cleanup(&res);
	}
	ocsp_finish(job);
}

/*
 * On a worker (or the caller, for authd check): build the request, then
 * ask.  The responders: ocsp_responder for this issuer, then for all,
 * then the certificate's AIA.
 */
static void
ocsp_run(void *arg)
{
	struct ocsp_job		*job = arg;
	const struct ocsp_settings *set = &job->ctx.set;
	OCSP_CERTID		*id = NULL;
	const char		*route;
	char			 oerr[512];
	size_t			 i, k;
	int			 r, about;

	snprintf(job->err, sizeof(job->err),
	    "no OCSP responder (no AIA OCSP URL)");
	if (job->at == 0)
		job->at = time(NULL);
	if ((route = ocsp_route(&job->ctx, job->issuer)) != NULL)
		job->urls[job->nurls++] = route;
	else if (set->responder[0] != '\0')
		job->urls[job->nurls++] = set->responder;
	else if ((job->aia = X509_get1_ocsp(job->cert)) != NULL)
		for (i = 0; i < (size_t)sk_OPENSSL_STRING_num(job->aia) &&
		    job->nurls < OCSP_URLS_MAX; i++)
			if (strncmp(sk_OPENSSL_STRING_value(job->aia, (int)i),
			    "http://", 7) == 0)
				job->urls[job->nurls++] =
				    sk_OPENSSL_STRING_value(job->aia, (int)i);
	if ((id = ocsp_certid(job->cert, job->issuer,
	    set->certid_sha256)) == NULL ||
	    (job->req = OCSP_REQUEST_new()) == NULL ||
	    OCSP_request_add0_id(job->req, id) == NULL) {
		snprintf(job->err, sizeof(job->err), "cannot build the request");
		OCSP_CERTID_free(id);
		ocsp_finish(job);
		return;
	}
	if (set->nonce && OCSP_request_add1_nonce(job->req, NULL, -1) != 1) {
		snprintf(job->err, sizeof(job->err), "cannot add a nonce");
		ocsp_finish(job);
		return;
	}
	if ((job->len = i2d_OCSP_REQUEST(job->req, &job->der)) <= 0) {
		snprintf(job->err, sizeof(job->err),
		    "cannot encode the request");
		ocsp_finish(job);
		return;
	}
	if (job->noffline > 0) {
		/*
		 * check --ocsp-response: these answers, no network; the one
		 * about this certificate decides (its error, if it fails).
		 */
		snprintf(job->used, sizeof(job->used), "--ocsp-response");
		for (k = 0, about = 0; k < job->noffline && !job->ok; k++) {
			r = ocsp_verify(job->offline[k], job->offline_len[k],
			    job->cert, job->issuer, &job->ctx, NULL, job->at,
			    &job->ans, about ? oerr : job->err,
			    sizeof(job->err));
			if (r == 0)
				job->ok = 1;
			else if (r != -2)
				about = 1;
		}
		ocsp_finish(job);
		return;
	}
	ocsp_next(job);
}

/* The job's outcome into its entry; wake the waiters; free the job. */
static void
ocsp_finish(struct ocsp_job *job)
{
	struct ocsp_entry	*e = job->e;
	struct ocsp_answer	*ans = &job->ans;
	struct fetch_waiter	*w;
	char			 key[IDENTITY_FP_MAX];
	time_t			 now;

	now = time(NULL);
	fetchtab_lock(&ocsp_tab);
	w = fetchtab_done(&e->fe, job->ok, now, OCSP_BACKOFF_MIN,
	    OCSP_BACKOFF_MAX);
	if (job->ok) {
		/*
		 * Cached verdicts depend on the status only: a refresh that
		 * says the same again leaves them be (each is bounded by the
		 * nextUpdate it was decided under).
		 */
		if (ans->revoked != (e->have && e->revoked))
			atomic_fetch_add(&ocsp_gen, 1);
		e->have = 1;
		e->gen = job->ctx.generation;
		e->revoked = (unsigned char)ans->revoked;
		e->this_update = ans->this_update;
		e->next_update = ans->next_update;
		e->use_until = ans->use_until;
		/*
		 * Refreshes ahead of nextUpdate are paced: a responder that
		 * keeps serving the same pre-signed answer is asked again
		 * after the short back-off, not on every request.
		 */
		e->refresh_after = now + OCSP_BACKOFF_MIN;
		ocsp_setstr(&e->error, NULL);
		ocsp_setstr(&e->responder, job->used);
		ocsp_setstr(&e->signer, ans->signer);
		e->source = job->noffline > 0 ? OCSP_SRC_GIVEN :
		    OCSP_SRC_ASKED;
	} else {
		job->err[255] = '\0';
		ocsp_setstr(&e->error, job->err);
	}
	/* e may go once unlocked */
	snprintf(key, sizeof(key), "%s", e->fe.key);
	fetchtab_unlock(&ocsp_tab);
	if (job->ok)
		log_debug("OCSP %s: %s from %s%s", key, ans->revoked ?
		    "revoked" : "good", job->used, job->stored ?
		    " (stored)" : "");
	else
		log_warnx("OCSP for CertID %.16s...: %s", key, job->err);
	OPENSSL_free(job->der);
	OCSP_REQUEST_free(job->req);
	X509_email_free(job->aia);
	X509_free(job->cert);
	X509_free(job->issuer);
	fetch_owner_drop(&job->ctx.owner);
	free(job);
	fetch_waiter_wake(w);
}

size_t
ocsp_cache_entries(void)
{
	return fetchtab_count(&ocsp_tab);
}

unsigned long long
ocsp_cache_evictions(void)
{
	return fetchtab_evictions(&ocsp_tab);
}

/* Locked. */
static void
ocsp_start(const struct ocsp_ctx *ctx, struct ocsp_entry *e, X509 *cert,
    X509 *issuer)
{
	struct ocsp_job	*job;

	if (e->fe.running || ocsp_pool == NULL ||
	    (job = calloc(1, sizeof(*job))) == NULL)
		return;
	job->e = e;
	job->ctx = *ctx;
	fetch_owner_hold(&job->ctx.owner);
	X509_up_ref(cert);
	X509_up_ref(issuer);
	job->cert = cert;
	job->issuer = issuer;
	job->pool = ocsp_pool;
	if (fetch_submit(ocsp_pool, ocsp_run, job) != 0) {
		X509_free(cert);
		X509_free(issuer);
		fetch_owner_drop(&job->ctx.owner);
		free(job);
		return;
	}
	e->fe.running = 1;
}

int
ocsp_wait(const char *key, void (*resume)(void *), void *arg)
{
	return fetchtab_wait(&ocsp_tab, key, resume, arg);
}

size_t
ocsp_wake_all(void)
{
	return fetchtab_wake_all(&ocsp_tab);
}

/* One certificate: 0 good, 1 revoked, -1 failed, 2 wait. */
static int
ocsp_one(const struct ocsp_ctx *ctx, X509 *cert, X509 *issuer, time_t at,
    struct ocsp_result *res, int depth)
{
	const struct ocsp_settings *set = &ctx->set;
	struct ocsp_entry	*e;
	struct ocsp_answer	 ans;
	struct ocsp_job		*job;
	char			 key[IDENTITY_FP_MAX];
	time_t			 now = time(NULL), ahead;
	int			 rc = -1, fromstore = 0;

	if (ocsp_certid_key(cert, issuer, set->certid_sha256, key,
	    sizeof(key)) != 0) {
		snprintf(res->detail, sizeof(res->detail), "cannot compute the "
		    "CertID (depth %d)", depth);
		return -1;
	}

	fetchtab_lock(&ocsp_tab);
	e = ocsp_get(key, set->cache_size > 0 ? set->cache_size : 100000);
	if (e != NULL && e->have && e->gen != ctx->generation &&
	    !e->fe.running) {
		/*
		 * Verified under other trust (a reload since): not used until
		 * verified again under this one, from the store if it holds
		 * the answer, else by asking.
		 */
		e->have = 0;
		e->stored_checked = 0;
	}
	if (e != NULL && !e->have && !e->stored_checked && !e->fe.running) {
		e->stored_checked = 1;
		e->fe.pins++;		/* not evicted while unlocked */
		fetchtab_unlock(&ocsp_tab);
		memset(&ans, 0, sizeof(ans));
		fromstore = ocsp_from_store(key, cert, issuer, ctx, at,
		    &ans) == 0;
		fetchtab_lock(&ocsp_tab);
		e->fe.pins--;
		if (fromstore && !e->have) {
			e->have = 1;
			e->gen = ctx->generation;
			e->revoked = (unsigned char)ans.revoked;
			e->this_update = ans.this_update;
			e->next_update = ans.next_update;
			e->use_until = ans.use_until;
			ocsp_setstr(&e->responder, "(stored)");
			ocsp_setstr(&e->signer, ans.signer);
			e->source = OCSP_SRC_STORED;
		}
	}
	if (e == NULL) {
		snprintf(res->detail, sizeof(res->detail), "out of memory for "
		    "the OCSP table");
		goto end;
	}
	/*
	 * authd check: no fetch threads, ask here; the answer, if any, is
	 * then taken as a cached one.
	 */
	if (!(e->have && at <= e->use_until + set->skew) && !e->fe.running &&
	    now >= e->fe.next_try && ocsp_pool == NULL && ocsp_inline &&
	    (job = calloc(1, sizeof(*job))) != NULL) {
		job->e = e;
		job->ctx = *ctx;
		fetch_owner_hold(&job->ctx.owner);
		job->offline = ocsp_offline;
		job->offline_len = ocsp_offline_len;
		job->noffline = ocsp_noffline;
		job->at = at;
		X509_up_ref(cert);
		X509_up_ref(issuer);
		job->cert = cert;
		job->issuer = issuer;
		e->fe.running = 1;
		e->fe.pins++;		/* still ours when ocsp_run is done */
		fetchtab_unlock(&ocsp_tab);
		ocsp_run(job);
		fetchtab_lock(&ocsp_tab);
		e->fe.pins--;
	}
	/* nextUpdate may have passed by the skew, as in ocsp_times. */
	if (e->have && at <= e->use_until + set->skew) {
		rc = e->revoked ? 1 : 0;
		snprintf(res->responder, sizeof(res->responder), "%s",
		    ocsp_str(e->responder, ""));
		res->this_update = e->this_update;
		if (e->use_until < res->valid_until)
			res->valid_until = e->use_until;
		/* Refresh ahead of nextUpdate, in the background. */
		ahead = e->next_update > e->this_update ?
		    (e->next_update - e->this_update) / 10 : 0;
		if (ahead > 3600)
			ahead = 3600;
		/*
		 * A verdict that used this answer is decided again when the
		 * refresh is due, so that a certificate in constant use is
		 * what starts it, before nextUpdate.
		 */
		if (!e->revoked && e->next_update != 0 &&
		    now < e->next_update - ahead &&
		    e->next_update - ahead < res->valid_until)
			res->valid_until = e->next_update - ahead;
		if (!e->revoked && e->next_update != 0 && !e->fe.running &&
		    now >= e->next_update - ahead && now >= e->fe.next_try &&
		    now >= e->refresh_after)
			ocsp_start(ctx, e, cert, issuer);
		if (rc == 1)
			snprintf(res->detail, sizeof(res->detail), "revoked "
			    "(depth %d), says %s", depth,
			    ocsp_str(e->responder, "?"));
		res->from_cache = !fromstore ? res->from_cache : 1;
		goto end;
	}
	if (!e->fe.running && now >= e->fe.next_try)
		ocsp_start(ctx, e, cert, issuer);
	if (e->fe.running) {
		snprintf(res->pending_key, sizeof(res->pending_key), "%s", key);
		rc = 2;
		goto end;
	}
	snprintf(res->detail, sizeof(res->detail), "no OCSP answer (depth "
	    "%d): %.400s", depth, ocsp_str(e->error, "responder not asked "
	    "yet"));
end:
	fetchtab_unlock(&ocsp_tab);
	return rc;
}

static void
ocsp_result_init(struct ocsp_result *res)
{
	res->status = OCSP_OK;
	res->depth = -1;
	res->detail[0] = '\0';
	res->valid_until = (time_t)1 << 62;
	res->from_cache = 0;
	res->pending_key[0] = '\0';
	res->responder[0] = '\0';
	res->this_update = 0;
}

/* The certificate at depth i; 0 when good, else res says why not. */
static int
ocsp_check_one(const struct ocsp_ctx *ctx, STACK_OF(X509) *chain, int i,
    time_t at, struct ocsp_result *res)
{
	int	 rc;

	rc = ocsp_one(ctx, sk_X509_value(chain, i), sk_X509_value(chain, i + 1),
	    at, res, i);
	if (rc == 0)
		return 0;
	res->depth = i;
	res->status = rc == 1 ? OCSP_REVOKED : rc == 2 ? OCSP_WAIT :
	    OCSP_FAILED;
	return 1;
}

void
ocsp_check(const struct ocsp_ctx *ctx, STACK_OF(X509) *chain, time_t at,
    struct ocsp_result *res)
{
	int	 i, last;

	ocsp_result_init(res);
	if (ctx->set.mode == OCSP_MODE_OFF || chain == NULL)
		return;
	last = ctx->set.mode == OCSP_MODE_LEAF ? 1 : sk_X509_num(chain) - 1;
	for (i = 0; i < last && i + 1 < sk_X509_num(chain); i++)
		if (ocsp_check_one(ctx, chain, i, at, res))
			return;
}

void
ocsp_check_depth(const struct ocsp_ctx *ctx, STACK_OF(X509) *chain,
    int depth, time_t at, struct ocsp_result *res)
{
	ocsp_result_init(res);
	if (chain == NULL || depth < 0 || depth + 1 >= sk_X509_num(chain)) {
		res->status = OCSP_FAILED;
		snprintf(res->detail, sizeof(res->detail), "no chain to check");
		return;
	}
	ocsp_check_one(ctx, chain, depth, at, res);
}

void
ocsp_describe(const struct ocsp_ctx *ctx, STACK_OF(X509) *chain, char *buf,
    size_t len)
{
	const struct ocsp_settings *set = &ctx->set;
	struct ocsp_entry	*e;
	char			 key[IDENTITY_FP_MAX], t1[32], t2[32];
	size_t			 o = 0;
	int			 i, last, n;

	if (len == 0)
		return;
	buf[0] = '\0';
	if (chain == NULL || set->mode == OCSP_MODE_OFF)
		return;
	last = set->mode == OCSP_MODE_LEAF ? 1 : sk_X509_num(chain) - 1;
	for (i = 0; i < last && i + 1 < sk_X509_num(chain) && o < len; i++) {
		if (ocsp_certid_key(sk_X509_value(chain, i),
		    sk_X509_value(chain, i + 1), set->certid_sha256, key,
		    sizeof(key)) != 0)
			continue;
		fetchtab_lock(&ocsp_tab);
		if ((e = ocsp_get(key, 0)) == NULL)
			n = snprintf(buf + o, len - o, "depth %d: not asked "
			    "(another source answered)\n", i);
		else if (!e->have)
			n = snprintf(buf + o, len - o, "depth %d: no answer: "
			    "%.300s\n", i, ocsp_str(e->error, "not asked"));
		else {
			ocsp_time(e->this_update, t1, sizeof(t1));
			ocsp_time(e->next_update, t2, sizeof(t2));
			n = snprintf(buf + o, len - o, "depth %d: %s, %s %.200s, "
			    "signed by %.200s, thisUpdate %s, nextUpdate %s\n",
			    i, e->revoked ? "revoked" : "good",
			    e->source == OCSP_SRC_STORED ? "from the cache in "
			    "data_dir, first asked of" : e->source ==
			    OCSP_SRC_GIVEN ? "from" : "asked",
			    e->source == OCSP_SRC_STORED ? "a responder" :
			    ocsp_str(e->responder, "?"), ocsp_str(e->signer,
			    "?"),
			    t1, t2);
		}
		fetchtab_unlock(&ocsp_tab);
		if (n < 0 || (size_t)n >= len - o) {
			buf[o] = '\0';
			break;
		}
		o += (size_t)n;
	}
}
