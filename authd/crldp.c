/*
 * crldp.c: CRLs fetched from the certificates' CRL Distribution Points,
 * one entry per URL in the fetch engine's table (fetchtab.c): started
 * when a certificate needs one, checked like a file's CRL (crl.c), kept
 * in LMDB for the next start, refreshed ahead of nextUpdate with a
 * conditional GET, and backed off after failures.
 */
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "crldp.h"
#include "fetch.h"
#include "fetchtab.h"
#include "log.h"
#include "metrics.h"
#include "store.h"

#define CDP_MAX		 4096		/* URLs in memory when ctx says 0 */
#define CDP_BACKOFF_MIN	 30		/* seconds after a first failure */
#define CDP_BACKOFF_MAX	 600

/* A distribution point, keyed by its URL in the fetch engine's table. */
struct cdp {
	struct fetchtab_entry	 fe;		/* first */
	struct crldp_crl		*crl;		/* the last good one, or NULL */
	char			 error[256];
	char			 etag[FETCH_VALIDATOR_MAX];
	char			 last_modified[FETCH_VALIDATOR_MAX];
	int			 stored_checked;	/* LMDB looked at */
};

struct cdp_job {
	struct cdp		*cdp;
	struct crl_fetch_ctx	 ctx;		/* its owner held while it runs */
	struct fetch_request	 rq;
	char			 url[FETCH_URL_MAX];
	char			 etag[FETCH_VALIDATOR_MAX];
	char			 last_modified[FETCH_VALIDATOR_MAX];
};

static void			 cdp_cleanup(struct fetchtab_entry *);
/*
 * The URLs: past crl_fetch_cache_size the least recently used that nobody
 * holds (no fetch running, no waiter, no caller unlocked) is dropped; its
 * CRL is read back from the store when a certificate names the URL again.
 * No URL is ever refused for want of room.  Its lock also guards the
 * statics below.
 */
static struct fetchtab		 cdp_tab =
    FETCHTAB_INITIALIZER(struct cdp, cdp_cleanup);
static struct fetch_pool	*cdp_pool;
static struct store		*cdp_store;
static atomic_ulong		 cdp_gen;
static store_set_t		 cdp_dbi;	/* url -> the CRL as fetched */
static int			 cdp_have_dbi;

void
crldp_release(struct crldp_crl *c)
{
	if (c != NULL && atomic_fetch_sub(&c->refs, 1) == 1) {
		crl_meta_cleanup(&c->m);
		free(c);
	}
}

void
crl_fetch_init(struct fetch_pool *pool, struct store *store)
{
	fetchtab_lock(&cdp_tab);
	cdp_pool = pool;
	cdp_store = store;
	cdp_have_dbi = store != NULL &&
	    store_kv_open(store, "crldp", &cdp_dbi) == 0;
	fetchtab_unlock(&cdp_tab);
}

unsigned long
crl_fetch_generation(void)
{
	return atomic_load(&cdp_gen);
}

/* What the table's entry carries beyond its own fields. */
static void
cdp_cleanup(struct fetchtab_entry *fe)
{
	crldp_release(((struct cdp *)fe)->crl);
}

/* After the fetch pool is gone: no job can still be running. */
void
crl_fetch_shutdown(void)
{
	fetchtab_clear(&cdp_tab);
	fetchtab_lock(&cdp_tab);
	cdp_pool = NULL;
	cdp_store = NULL;
	cdp_have_dbi = 0;
	fetchtab_unlock(&cdp_tab);
}

/*
 * The entry for url, made if new (NULL: no memory, or too long), keeping
 * at most max in memory (0: CDP_MAX).  Locked.
 */
static struct cdp *
cdp_get(const char *url, size_t max)
{
	if (strlen(url) >= FETCH_URL_MAX)
		return NULL;
	return (struct cdp *)fetchtab_get(&cdp_tab, url,
	    max != 0 ? max : CDP_MAX);
}

/*
 * A fetched body, one CRL, DER or PEM, into src: split to be read one
 * entry at a time when it can be, else parsed whole.  *pem holds the DER
 * of a PEM body (src points into it).  0, or -1: not a CRL.
 */
static int
cdp_parse(const unsigned char *body, size_t len, struct crl_src *src,
    unsigned char **pem)
{
	const unsigned char	*der = body;
	long			 dlen = (long)len;
	BIO			*bio;

	*pem = NULL;
	memset(src, 0, sizeof(*src));
	if (len > INT_MAX)
		return -1;
	if (len == 0 || body[0] != 0x30) {
		if ((bio = BIO_new_mem_buf(body, (int)len)) == NULL)
			return -1;
		if (PEM_bytes_read_bio(pem, &dlen, NULL, PEM_STRING_X509_CRL,
		    bio, NULL, NULL) != 1)
			*pem = NULL;
		BIO_free(bio);
		if (*pem == NULL) {
			ERR_clear_error();
			return -1;
		}
		der = *pem;
	}
	if (crl_src_read(src, der, (size_t)dlen) == 0)
		return 0;
	OPENSSL_free(*pem);
	*pem = NULL;
	ERR_clear_error();
	return -1;
}

/* What cdp_parse made. */
static void
cdp_parse_free(struct crl_src *src, unsigned char *pem)
{
	crl_src_cleanup(src);
	OPENSSL_free(pem);
}

/* On a worker, the distribution point's answer: check, swap in, wake. */
static void
cdp_fetched(void *arg, struct fetch_result *resp)
{
	struct cdp_job		*job = arg;
	struct cdp		*c = job->cdp;
	struct fetch_result	 res = *resp;
	struct crldp_crl	*fresh = NULL, *old = NULL;
	struct fetch_waiter	*w;
	struct crl_src		 src;
	unsigned char		*pem = NULL;
	char			 err[CRL_DETAIL_MAX] = "";
	size_t			 count;
	time_t			 now;
	enum metrics_crl_outcome outcome = METRICS_CRL_REFUSED;
	enum crl_reject		 reject = CRL_REJECT_UNREADABLE;

	memset(&src, 0, sizeof(src));
	if (!res.ok)
		snprintf(err, sizeof(err), "%s", res.error);
	else if (res.not_modified && job->rq.etag == NULL &&
	    job->rq.last_modified == NULL)
		snprintf(err, sizeof(err), "304 Not Modified to an "
		    "unconditional request");
	else if (!res.not_modified) {
		if (cdp_parse(res.body, res.len, &src, &pem) != 0)
			snprintf(err, sizeof(err), "not a CRL (%zu bytes)",
			    res.len);
		else if ((fresh = calloc(1, sizeof(*fresh))) == NULL)
			snprintf(err, sizeof(err), "out of memory");
		else {
			if (job->ctx.chain == NULL)
				snprintf(err, sizeof(err), "no trust");
			else if (crl_meta_build_src(&fresh->m, job->ctx.chain,
			    cdp_store, &src, job->url, &count, &reject, err,
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
		}
	}
	if (src.crl != NULL)
		cdp_parse_free(&src, pem);
	/* Kept for the next start: it does not ask the DP again. */
	if (fresh != NULL && cdp_have_dbi)
		store_kv_put(cdp_store, cdp_dbi, job->url, strlen(job->url),
		    res.body, res.len);
	now = time(NULL);
	fetchtab_lock(&cdp_tab);
	w = fetchtab_done(&c->fe, err[0] == '\0', now, CDP_BACKOFF_MIN,
	    CDP_BACKOFF_MAX);
	if (err[0] != '\0') {
		if (!res.ok || fresh == NULL)
			outcome = res.ok && !res.not_modified ?
			    METRICS_CRL_REFUSED : METRICS_CRL_ERROR;
		snprintf(c->error, sizeof(c->error), "%.255s", err);
	} else {
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
			c->fe.failures++;
			c->fe.next_try = now + CDP_BACKOFF_MIN;
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
			c->fe.next_try = now + CDP_BACKOFF_MIN;
			snprintf(c->error, sizeof(c->error), "still serves a "
			    "CRL past its nextUpdate");
		}
	}
	fetchtab_unlock(&cdp_tab);
	metrics_crl_fetch(outcome, res.elapsed_ms);
	if (outcome == METRICS_CRL_REFUSED && fresh == NULL && old == NULL)
		metrics_crl_rejected((unsigned int)reject);
	if (err[0] != '\0')
		log_warnx("CRL distribution point %s: %s", job->url, err);
	else
		log_info("CRL distribution point %s: %s in %ld ms", job->url,
		    fresh != NULL ? "fetched" : "unchanged", res.elapsed_ms);
	crldp_release(old);
	fetch_owner_drop(&job->ctx.owner);
	free(job);
	fetch_waiter_wake(w);
}

/* Start a fetch of c unless one runs.  Locked. */
static void
cdp_start(const struct crl_fetch_ctx *ctx, struct cdp *c)
{
	struct cdp_job	*job;
	time_t		 timeout = ctx->timeout > 0 ? ctx->timeout : 5;

	if (c->fe.running || cdp_pool == NULL ||
	    (job = calloc(1, sizeof(*job))) == NULL)
		return;
	job->cdp = c;
	job->ctx = *ctx;
	fetch_owner_hold(&job->ctx.owner);
	snprintf(job->url, sizeof(job->url), "%s", c->fe.key);
	memcpy(job->etag, c->etag, sizeof(job->etag));
	memcpy(job->last_modified, c->last_modified,
	    sizeof(job->last_modified));
	job->rq.url = job->url;
	job->rq.etag = c->crl != NULL && job->etag[0] ? job->etag : NULL;
	job->rq.last_modified = c->crl != NULL && job->last_modified[0] ?
	    job->last_modified : NULL;
	job->rq.connect_timeout_ms = (int)(timeout * 1000);
	job->rq.timeout_ms = (int)(timeout * 1000);
	job->rq.max_size = ctx->max_size;
	job->rq.proxy = ctx->proxy;
	if (fetch_start(cdp_pool, &job->rq, cdp_fetched, job) != 0) {
		fetch_owner_drop(&job->ctx.owner);
		free(job);
		return;
	}
	c->fe.running = 1;
}

int
crl_fetch_wait(const char *url, void (*resume)(void *), void *arg)
{
	return fetchtab_wait(&cdp_tab, url, resume, arg);
}

size_t
crl_fetch_wake_all(void)
{
	return fetchtab_wake_all(&cdp_tab);
}

/*
 * The CRL an earlier run fetched from url, from LMDB, checked again (LMDB
 * holds bytes, not trust).  Unlocked: it parses and verifies.
 */
static struct crldp_crl *
cdp_from_store(const struct crl_fetch_ctx *ctx, const char *url)
{
	struct crldp_crl	*c = NULL;
	struct crl_src	 src;
	unsigned char	*buf, *pem = NULL;
	size_t		 len = 0, count, cap = ctx->max_size;
	char		 err[CRL_DETAIL_MAX];
	enum crl_reject	 reject;

	if (!cdp_have_dbi || (buf = malloc(cap)) == NULL)
		return NULL;
	memset(&src, 0, sizeof(src));
	if (store_kv_get(cdp_store, cdp_dbi, url, strlen(url), buf, cap,
	    &len) != 1 || cdp_parse(buf, len, &src, &pem) != 0 ||
	    ctx->chain == NULL || (c = calloc(1, sizeof(*c))) == NULL)
		goto end;
	if (crl_meta_build_src(&c->m, ctx->chain, cdp_store, &src, url,
	    &count, &reject, err, sizeof(err)) != 0 || c->m.is_delta) {
		crl_meta_cleanup(&c->m);
		free(c);
		c = NULL;
		goto end;
	}
	atomic_init(&c->refs, 1);
end:
	if (src.crl != NULL)
		cdp_parse_free(&src, pem);
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

/* The http CRL Distribution Points of cc, in order, at most max. */
static size_t
cdp_urls(struct crl_cert *cc, char urls[][FETCH_URL_MAX], size_t max)
{
	STACK_OF(DIST_POINT)	*cdp;
	DIST_POINT		*dp;
	GENERAL_NAME		*g;
	size_t			 n = 0, len;
	int			 i, j;

	if ((cdp = crl_cert_cdp(cc)) == NULL)
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
	return n;
}

/*
 * A fetched CRL for cc, with a reference, or NULL; *pending names a URL
 * being fetched when there is none yet.  why says what failed.
 */
struct crldp_crl *
crldp_for(const struct crl_fetch_ctx *ctx, struct crl_cert *cc, time_t at,
    time_t grace, char *pending,
    size_t plen, char *why, size_t wlen)
{
	char		 urls[4][FETCH_URL_MAX];
	struct cdp	*c;
	struct crldp_crl	*got = NULL;
	time_t		 now = time(NULL), ahead;
	size_t		 n, i;
	int		 covers, fresh;

	pending[0] = why[0] = '\0';
	if ((n = cdp_urls(cc, urls, 4)) == 0) {
		snprintf(why, wlen, "no http CRL distribution point");
		return NULL;
	}
	fetchtab_lock(&cdp_tab);
	if (ctx == NULL || !ctx->on) {
		snprintf(why, wlen, "CRL fetching is off");
		goto end;
	}
	/*
	 * Without fetch threads (authd check, or a draining daemon) nothing
	 * is fetched, but a CRL already held is still used: a revocation
	 * it lists must not turn into "missing".
	 */
	for (i = 0; i < n && got == NULL; i++) {
		if ((c = cdp_get(urls[i], ctx->cache_size)) == NULL)
			continue;
		if (c->crl == NULL && !c->stored_checked && !c->fe.running) {
			struct crldp_crl	*st;

			c->stored_checked = 1;
			c->fe.pins++;	/* not evicted while unlocked */
			fetchtab_unlock(&cdp_tab);
			st = cdp_from_store(ctx, urls[i]);
			fetchtab_lock(&cdp_tab);
			c->fe.pins--;
			if (st != NULL && c->crl == NULL) {
				c->crl = st;
				st = NULL;
				atomic_fetch_add(&cdp_gen, 1);
			}
			crldp_release(st);
		}
		covers = c->crl != NULL && crl_applies(&c->crl->m, cc, at) != 0;
		fresh = covers && (c->crl->m.next_update == 0 ||
		    at <= c->crl->m.next_update + grace);
		if (fresh) {
			got = c->crl;
			atomic_fetch_add(&got->refs, 1);
			/* Refresh ahead of nextUpdate, in the background. */
			ahead = (got->m.next_update - got->m.this_update) / 10;
			if (ahead > 3600)
				ahead = 3600;
			if (got->m.next_update != 0 && !c->fe.running &&
			    now >= got->m.next_update - ahead &&
			    now >= c->fe.next_try)
				cdp_start(ctx, c);
			break;
		}
		if (c->fe.running) {
			snprintf(pending, plen, "%s", c->fe.key);
			break;
		}
		if (c->crl != NULL && !covers && c->fe.next_try <= now) {
			/* Fetched, trusted, but not for this certificate. */
			c->fe.next_try = now + CDP_BACKOFF_MIN;
			snprintf(c->error, sizeof(c->error), "its CRL does not "
			    "cover this certificate (issuer or partition)");
			log_warnx("CRL distribution point %s: %s", c->fe.key,
			    c->error);
		}
		if (now >= c->fe.next_try) {
			cdp_start(ctx, c);
			if (c->fe.running) {
				snprintf(pending, plen, "%s", c->fe.key);
				break;
			}
		}
		if (covers) {
			/* Expired and nothing newer yet: crl_check says so. */
			got = c->crl;
			atomic_fetch_add(&got->refs, 1);
			break;
		}
		snprintf(why, wlen, "distribution point %.200s: %.150s", c->fe.key,
		    c->error[0] ? c->error : cdp_pool == NULL ? "not fetched "
		    "(no fetch threads here)" : "cannot fetch");
	}
end:
	fetchtab_unlock(&cdp_tab);
	return got;
}

/* The distribution points' CRLs, for /metrics and doctor. */
void
crldp_foreach(void (*fn)(void *, const struct crl_info *), void *arg)
{
	struct fetchtab_entry	*fe;

	fetchtab_lock(&cdp_tab);
	for (fe = cdp_tab.head; fe != NULL; fe = fe->next)
		if (((struct cdp *)fe)->crl != NULL)
			crl_info_call(&((struct cdp *)fe)->crl->m, fe->key, fn,
			    arg);
	fetchtab_unlock(&cdp_tab);
}
