/*
 * aia.c: issuers fetched from caIssuers URLs, one entry per URL in the
 * fetch engine's table (fetchtab.c): started when a chain lacks an issuer
 * and the certificate names where it is published, parsed (DER
 * certificate or PKCS#7 certs-only), kept in memory, and in LMDB once it
 * completed a chain (aia_keep), refreshed after AIA_TTL, backed off after
 * failures.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pkcs7.h>
#include <openssl/x509v3.h>

#include <stdatomic.h>

#include "aia.h"
#include "chain.h"
#include "fetchtab.h"
#include "log.h"
#include "store.h"

#define AIA_CACHE	 256		/* URLs in memory */
#define AIA_BODIES_MAX	 (16 * 1024 * 1024)	/* answers held until kept */
#define AIA_BACKOFF_MIN	 30		/* seconds after a first failure */
#define AIA_BACKOFF_MAX	 600
#define AIA_STAMP	 8		/* the LMDB record: fetch time, body */

/* A fetched issuer verified as a fast start, shared by the checks. */
struct aia_fast {
	atomic_int		 refs;
	unsigned long		 gen;		/* the snapshot it was made under */
	struct chain_fast	*f;
};

struct aia_entry {
	struct fetchtab_entry	 fe;		/* first */
	struct aia_fast		*fast;		/* or NULL */
	STACK_OF(X509)		*certs;		/* the last good answer, or NULL */
	time_t			 fetched;	/* when it was fetched */
	unsigned char		*body;		/* its bytes, until kept */
	size_t			 len;
	int			 kept;		/* in LMDB */
	int			 stored_checked;	/* LMDB looked at */
	char			 error[256];
};

struct aia_job {
	struct aia_entry	*e;
	struct aia_ctx		 ctx;		/* its owner held while it runs */
	struct fetch_request	 rq;
	char			 url[FETCH_URL_MAX];
};

static void		 aia_cleanup(struct fetchtab_entry *);
static struct fetchtab	 aia_tab = FETCHTAB_INITIALIZER(struct aia_entry,
			    aia_cleanup);
static struct fetch_pool *aia_pool;
static struct store	*aia_store;
static store_set_t	 aia_dbi;	/* url -> stamp, the answer as fetched */
static int		 aia_have_dbi;
static int		 aia_inline;	/* no pool: fetch on the caller's thread */
static size_t		 aia_body_bytes;	/* e->body of every entry */

void
aia_fast_release(struct aia_fast *af)
{
	if (af != NULL && atomic_fetch_sub(&af->refs, 1) == 1) {
		chain_fast_free(af->f);
		free(af);
	}
}

const struct chain_fast *
aia_fast_chain(const struct aia_fast *af)
{
	return af->f;
}

/* Drop an entry's answer bytes (kept, replaced or the entry gone).  Locked. */
static void
aia_body_drop(struct aia_entry *e)
{
	aia_body_bytes -= e->body != NULL ? e->len : 0;
	free(e->body);
	e->body = NULL;
	e->len = 0;
}

static void
aia_cleanup(struct fetchtab_entry *fe)
{
	struct aia_entry	*e = (struct aia_entry *)fe;

	aia_fast_release(e->fast);
	e->fast = NULL;
	sk_X509_pop_free(e->certs, X509_free);
	e->certs = NULL;
	aia_body_drop(e);
}

void
aia_init(struct fetch_pool *pool, struct store *store)
{
	fetchtab_lock(&aia_tab);
	aia_pool = pool;
	aia_store = store;
	aia_have_dbi = store != NULL && store_kv_open(store, "aia",
	    &aia_dbi) == 0;
	fetchtab_unlock(&aia_tab);
}

void
aia_set_inline(int on)
{
	fetchtab_lock(&aia_tab);
	aia_inline = on;
	fetchtab_unlock(&aia_tab);
}

void
aia_shutdown(void)
{
	fetchtab_clear(&aia_tab);
	fetchtab_lock(&aia_tab);
	aia_pool = NULL;
	aia_store = NULL;
	aia_have_dbi = 0;
	fetchtab_unlock(&aia_tab);
}

/* URLs go into requests and logs: printable ASCII, no spaces. */
static int
aia_printable(const unsigned char *s, size_t len)
{
	size_t	 i;

	for (i = 0; i < len; i++)
		if (s[i] <= 0x20 || s[i] >= 0x7f)
			return 0;
	return 1;
}

int
aia_url(X509 *x, char *url, size_t len)
{
	AUTHORITY_INFO_ACCESS	*aia;
	ACCESS_DESCRIPTION	*ad;
	const unsigned char	*u;
	size_t			 n;
	int			 i, found = 0;

	url[0] = '\0';
	if ((aia = X509_get_ext_d2i(x, NID_info_access, NULL, NULL)) == NULL) {
		ERR_clear_error();
		return 0;
	}
	for (i = 0; i < sk_ACCESS_DESCRIPTION_num(aia) && !found; i++) {
		ad = sk_ACCESS_DESCRIPTION_value(aia, i);
		if (OBJ_obj2nid(ad->method) != NID_ad_ca_issuers ||
		    ad->location->type != GEN_URI)
			continue;
		u = ASN1_STRING_get0_data(ad->location->d.uniformResourceIdentifier);
		n = (size_t)ASN1_STRING_length(
		    ad->location->d.uniformResourceIdentifier);
		if (n <= 7 || n >= len || n >= FETCH_URL_MAX ||
		    strncmp((const char *)u, "http://", 7) != 0 ||
		    !aia_printable(u, n))
			continue;
		memcpy(url, u, n);
		url[n] = '\0';
		found = 1;
	}
	AUTHORITY_INFO_ACCESS_free(aia);
	return found;
}

/*
 * Push x (a reference taken) when it is a CA certificate and room is left:
 * AIA_MAX_CERTS certificates, AIA_KEPT_BYTES of DER (*bytes so far).
 */
static void
aia_push_ca(STACK_OF(X509) *sk, X509 *x, size_t *bytes)
{
	int	 n;

	if (sk_X509_num(sk) >= AIA_MAX_CERTS || X509_check_ca(x) == 0 ||
	    (n = i2d_X509(x, NULL)) <= 0 ||
	    *bytes + (size_t)n > AIA_KEPT_BYTES || X509_up_ref(x) != 1)
		return;
	if (!sk_X509_push(sk, x)) {
		X509_free(x);
		return;
	}
	*bytes += (size_t)n;
}

STACK_OF(X509) *
aia_parse(const unsigned char *body, size_t len, char *why, size_t wlen)
{
	STACK_OF(X509)		*sk = NULL, *certs;
	const unsigned char	*p;
	PKCS7			*p7 = NULL;
	X509			*x = NULL;
	size_t			 bytes = 0;
	int			 i;

	if (len == 0 || len > AIA_MAX_SIZE) {
		snprintf(why, wlen, "%zu bytes", len);
		return NULL;
	}
	if ((sk = sk_X509_new_null()) == NULL) {
		snprintf(why, wlen, "out of memory");
		return NULL;
	}
	p = body;
	if ((x = d2i_X509(NULL, &p, (long)len)) != NULL &&
	    p == body + len) {
		aia_push_ca(sk, x, &bytes);
		goto end;
	}
	X509_free(x);
	x = NULL;
	p = body;
	if ((p7 = d2i_PKCS7(NULL, &p, (long)len)) == NULL ||
	    p != body + len || !PKCS7_type_is_signed(p7) ||
	    p7->d.sign == NULL) {
		snprintf(why, wlen, "neither a DER certificate nor a DER "
		    "PKCS#7 bundle (%zu bytes)", len);
		sk_X509_free(sk);
		sk = NULL;
		goto end;
	}
	certs = p7->d.sign->cert;
	for (i = 0; i < sk_X509_num(certs); i++)
		aia_push_ca(sk, sk_X509_value(certs, i), &bytes);
end:
	if (sk != NULL && sk_X509_num(sk) == 0) {
		snprintf(why, wlen, "no CA certificate in it");
		sk_X509_free(sk);
		sk = NULL;
	}
	X509_free(x);
	PKCS7_free(p7);
	ERR_clear_error();
	return sk;
}

/* On a worker: the answer, parsed and swapped in; the waiters woken. */
static void
aia_fetched(void *arg, struct fetch_result *resp)
{
	struct aia_job		*job = arg;
	struct aia_entry	*e = job->e;
	struct fetch_waiter	*w;
	struct aia_fast		*oldfast = NULL;
	STACK_OF(X509)		*fresh = NULL, *old = NULL;
	unsigned char		*body = NULL;
	char			 err[256] = "";
	size_t			 len = 0;
	time_t			 now = time(NULL);

	if (!resp->ok)
		snprintf(err, sizeof(err), "%s", resp->error);
	else if (resp->status != 200)
		snprintf(err, sizeof(err), "HTTP status %d", resp->status);
	else if ((fresh = aia_parse(resp->body, resp->len, err,
	    sizeof(err))) != NULL) {
		if ((body = malloc(resp->len)) != NULL) {
			memcpy(body, resp->body, resp->len);
			len = resp->len;
		}
	}
	fetchtab_lock(&aia_tab);
	w = fetchtab_done(&e->fe, fresh != NULL, now, AIA_BACKOFF_MIN,
	    AIA_BACKOFF_MAX);
	if (fresh != NULL) {
		old = e->certs;
		e->certs = fresh;
		oldfast = e->fast;
		e->fast = NULL;
		e->fetched = now;
		aia_body_drop(e);
		/* Held until it completes a chain, within a budget for all. */
		if (body != NULL && aia_body_bytes + len <= AIA_BODIES_MAX) {
			e->body = body;
			e->len = len;
			aia_body_bytes += len;
			body = NULL;
		}
		e->kept = 0;
		e->error[0] = '\0';
	} else
		snprintf(e->error, sizeof(e->error), "%s", err);
	fetchtab_unlock(&aia_tab);
	free(body);
	if (fresh != NULL)
		log_info("caIssuers %s: %d CA certificate%s in %ld ms",
		    job->url, sk_X509_num(fresh), sk_X509_num(fresh) == 1 ?
		    "" : "s", resp->elapsed_ms);
	else
		log_warnx("caIssuers %s: %s", job->url, err);
	sk_X509_pop_free(old, X509_free);
	aia_fast_release(oldfast);
	fetch_owner_drop(&job->ctx.owner);
	free(job);
	fetch_waiter_wake(w);
}

/*
 * Start a fetch of e unless one runs.  Locked.  Inline (authd check: no
 * fetch threads), the fetch runs here, unlocked, and has ended on return.
 */
static void
aia_start(const struct aia_ctx *ctx, struct aia_entry *e)
{
	struct fetch_result	 res;
	struct aia_job		*job;
	time_t			 timeout = ctx->timeout > 0 ? ctx->timeout : 5;

	if (e->fe.running || (aia_pool == NULL && !aia_inline) ||
	    (job = calloc(1, sizeof(*job))) == NULL)
		return;
	job->e = e;
	job->ctx = *ctx;
	fetch_owner_hold(&job->ctx.owner);
	snprintf(job->url, sizeof(job->url), "%s", e->fe.key);
	job->rq.url = job->url;
	job->rq.connect_timeout_ms = (int)(timeout * 1000);
	job->rq.timeout_ms = (int)(timeout * 1000);
	job->rq.max_size = AIA_MAX_SIZE;
	job->rq.proxy = ctx->proxy;
	if (aia_pool == NULL) {
		e->fe.running = 1;
		e->fe.pins++;		/* still ours when the fetch is done */
		fetchtab_unlock(&aia_tab);
		fetch_http(&job->rq, &res);
		aia_fetched(job, &res);
		fetch_result_cleanup(&res);
		fetchtab_lock(&aia_tab);
		e->fe.pins--;
		return;
	}
	if (fetch_start(aia_pool, &job->rq, aia_fetched, job) != 0) {
		fetch_owner_drop(&job->ctx.owner);
		free(job);
		return;
	}
	e->fe.running = 1;
}

/* An answer an earlier run kept, from LMDB.  Unlocked: it parses. */
static STACK_OF(X509) *
aia_from_store(const char *url, time_t *fetched)
{
	STACK_OF(X509)	*sk = NULL;
	unsigned char	*buf;
	int64_t		 t;
	size_t		 len = 0;
	char		 why[128];

	if (!aia_have_dbi ||
	    (buf = malloc(AIA_STAMP + AIA_MAX_SIZE)) == NULL)
		return NULL;
	if (store_kv_get(aia_store, aia_dbi, url, strlen(url), buf,
	    AIA_STAMP + AIA_MAX_SIZE, &len) == 1 && len > AIA_STAMP &&
	    (sk = aia_parse(buf + AIA_STAMP, len - AIA_STAMP, why,
	    sizeof(why))) != NULL) {
		memcpy(&t, buf, sizeof(t));
		*fetched = (time_t)t;
	}
	free(buf);
	return sk;
}

int
aia_allowed(const char *allow, const char *url)
{
	const char	*p = allow;
	size_t		 n;

	if (allow == NULL)
		return 1;
	for (;;) {
		p += strspn(p, " \t");
		if (*p == '\0')
			return 0;
		n = strcspn(p, " \t");
		if (strncmp(url, p, n) == 0)
			return 1;
		p += n;
	}
}

STACK_OF(X509) *
aia_get(const struct aia_ctx *ctx, const char *url, int *pending, char *why,
    size_t wlen)
{
	struct aia_entry	*e;
	STACK_OF(X509)		*got = NULL, *st;
	time_t			 now = time(NULL), fetched = 0;

	*pending = 0;
	why[0] = '\0';
	if (ctx == NULL || !ctx->on) {
		snprintf(why, wlen, "ca_issuers_fetch is off");
		return NULL;
	}
	if (strlen(url) >= FETCH_URL_MAX) {
		snprintf(why, wlen, "URL too long");
		return NULL;
	}
	if (!aia_allowed(ctx->allow, url)) {
		snprintf(why, wlen, "not under a ca_issuers_url prefix");
		return NULL;
	}
	fetchtab_lock(&aia_tab);
	if ((e = (struct aia_entry *)fetchtab_get(&aia_tab, url,
	    AIA_CACHE)) == NULL) {
		snprintf(why, wlen, "out of memory");
		goto end;
	}
	if (e->certs == NULL && !e->stored_checked && !e->fe.running) {
		e->stored_checked = 1;
		e->fe.pins++;		/* not evicted while unlocked */
		fetchtab_unlock(&aia_tab);
		st = aia_from_store(url, &fetched);
		fetchtab_lock(&aia_tab);
		e->fe.pins--;
		if (st != NULL && e->certs == NULL) {
			e->certs = st;
			e->fetched = fetched;
			e->kept = 1;
			st = NULL;
		}
		sk_X509_pop_free(st, X509_free);
	}
	if (e->certs != NULL) {
		got = X509_chain_up_ref(e->certs);
		/* Asked again after a day, in the background. */
		if (now - e->fetched > AIA_TTL && now >= e->fe.next_try)
			aia_start(ctx, e);
		goto end;
	}
	if (!e->fe.running && now >= e->fe.next_try)
		aia_start(ctx, e);
	if (e->certs != NULL) {		/* fetched inline (authd check) */
		got = X509_chain_up_ref(e->certs);
		goto end;
	}
	if (e->fe.running) {
		*pending = 1;
		goto end;
	}
	snprintf(why, wlen, "%.200s", e->error[0] != '\0' ? e->error :
	    aia_pool == NULL ? "not fetched (no fetch threads here)" :
	    "cannot fetch");
end:
	fetchtab_unlock(&aia_tab);
	return got;
}

void
aia_keep(const char *url)
{
	struct aia_entry	*e;
	unsigned char		*rec = NULL;
	int64_t			 t;
	size_t			 len = 0;

	fetchtab_lock(&aia_tab);
	if ((e = (struct aia_entry *)fetchtab_get(&aia_tab, url, 0)) != NULL &&
	    !e->kept && e->body != NULL && aia_have_dbi &&
	    (rec = malloc(AIA_STAMP + e->len)) != NULL) {
		t = (int64_t)e->fetched;
		memcpy(rec, &t, sizeof(t));
		memcpy(rec + AIA_STAMP, e->body, e->len);
		len = AIA_STAMP + e->len;
		e->kept = 1;
		aia_body_drop(e);	/* in LMDB now */
	}
	fetchtab_unlock(&aia_tab);
	if (rec != NULL) {
		store_kv_put(aia_store, aia_dbi, url, strlen(url), rec, len);
		free(rec);
	}
}

struct aia_fast *
aia_fast_get(const char *url, unsigned long gen)
{
	struct aia_entry	*e;
	struct aia_fast		*af = NULL;

	fetchtab_lock(&aia_tab);
	if ((e = (struct aia_entry *)fetchtab_get(&aia_tab, url, 0)) != NULL &&
	    e->fast != NULL && e->fast->gen == gen) {
		af = e->fast;
		atomic_fetch_add(&af->refs, 1);
	}
	fetchtab_unlock(&aia_tab);
	return af;
}

void
aia_fast_set(const char *url, unsigned long gen, struct chain_fast *f)
{
	struct aia_entry	*e;
	struct aia_fast		*af, *old = NULL;

	if ((af = calloc(1, sizeof(*af))) == NULL) {
		chain_fast_free(f);
		return;
	}
	atomic_init(&af->refs, 1);
	af->gen = gen;
	af->f = f;
	fetchtab_lock(&aia_tab);
	if ((e = (struct aia_entry *)fetchtab_get(&aia_tab, url, 0)) != NULL) {
		old = e->fast;
		e->fast = af;
		af = NULL;
	}
	fetchtab_unlock(&aia_tab);
	aia_fast_release(old);
	aia_fast_release(af);
}

int
aia_wait(const char *url, void (*resume)(void *), void *arg)
{
	return fetchtab_wait(&aia_tab, url, resume, arg);
}

size_t
aia_wake_all(void)
{
	return fetchtab_wake_all(&aia_tab);
}
