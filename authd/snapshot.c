/*
 * snapshot.c: reference-counted immutable snapshots.
 *
 * One mutex guards the current pointer and the counts; it is held for a few
 * instructions per request, never across any work.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sys/stat.h>

#include <dirent.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "err.h"
#include "metrics.h"
#include "snapshot.h"

static pthread_mutex_t	 snapshot_lock = PTHREAD_MUTEX_INITIALIZER;
static struct snapshot	*snapshot_cur;
static unsigned long	 snapshot_gen;
static unsigned long	 snapshot_builds;	/* under snapshot_lock */

static unsigned long long snapshot_mix(unsigned long long, const char *, int);
static unsigned long long snapshot_mix_list(unsigned long long,
		    const struct config_list *);

static void
snapshot_free(struct snapshot *snap)
{
	crl_set_free(&snap->crl);
	sk_X509_pop_free(snap->ocsp_signers, X509_free);
	while (snap->nroutes > 0) {
		snap->nroutes--;
		X509_free(snap->routes[snap->nroutes].issuer);
		free(snap->routes[snap->nroutes].url);
	}
	free(snap->routes);
	policy_free(&snap->policy);
	policy_free(&snap->shadow);
	chain_store_free(&snap->chain);
	config_cleanup(&snap->cfg);
	free(snap);
}

static const char *
snapshot_route(const struct snapshot *snap, X509 *issuer)
{
	size_t	 i;

	for (i = 0; i < snap->nroutes; i++)
		if (X509_cmp(snap->routes[i].issuer, issuer) == 0)
			return snap->routes[i].url;
	return NULL;
}

/*
 * ocsp_responder URL FILE: every certificate in FILE routes to URL.  An
 * issuer given twice is an error.  Returns 0 or AUTHD_ECONFIG/ENOMEM.
 */
static int
snapshot_load_responders(struct snapshot *snap)
{
	struct config_list	*l = &snap->cfg.ocsp_responder;
	struct config_item	 it;
	struct ocsp_route	*r;
	STACK_OF(X509)		*sk;
	const char		*tab;
	size_t			 i, n;
	int			 j, rc = 0;

	for (i = 0; i < l->n; i++) {
		if ((tab = strchr(l->items[i].value, '\t')) == NULL)
			continue;
		if ((sk = sk_X509_new_null()) == NULL)
			return AUTHD_ENOMEM;
		it.value = (char *)(uintptr_t)(tab + 1);
		snprintf(it.origin, sizeof(it.origin), "%s",
		    l->items[i].origin);
		if (chain_bundle_load(&snap->cfg, &it, sk, &n) != 0) {
			sk_X509_pop_free(sk, X509_free);
			rc = AUTHD_ECONFIG;
			continue;
		}
		for (j = 0; j < sk_X509_num(sk); j++) {
			X509	*x = sk_X509_value(sk, j);

			if (snapshot_route(snap, x) != NULL) {
				config_error(&snap->cfg, l->items[i].origin,
				    "ocsp_responder: a certificate in %s is "
				    "routed to a responder already", tab + 1);
				rc = AUTHD_ECONFIG;
				continue;
			}
			if ((r = realloc(snap->routes,
			    (snap->nroutes + 1) * sizeof(*r))) == NULL) {
				rc = AUTHD_ENOMEM;
				break;
			}
			snap->routes = r;
			r += snap->nroutes;
			if ((r->url = strndup(l->items[i].value,
			    (size_t)(tab - l->items[i].value))) == NULL) {
				rc = AUTHD_ENOMEM;
				break;
			}
			X509_up_ref(x);
			r->issuer = x;
			snap->nroutes++;
		}
		sk_X509_pop_free(sk, X509_free);
	}
	return rc;
}

static void
snapshot_hold_cb(void *snap)
{
	snapshot_hold(snap);
}

static void
snapshot_drop_cb(void *snap)
{
	snapshot_release(snap);
}

static unsigned long long
snapshot_mix_num(unsigned long long h, unsigned long long v)
{
	return (h ^ v) * 1099511628211ULL;
}

/*
 * fetch_proxy as fetch_request wants it: NULL (the environment decides),
 * "" (none) or the URL, owned by the snapshot's configuration.
 */
static const char *
snapshot_proxy(const struct config *cfg)
{
	const char	*p = cfg->fetch_proxy.value;

	if (p == NULL)
		return NULL;
	return strcmp(p, "none") == 0 ? "" : p;
}

/*
 * The revocation contexts, from the snapshot's own configuration and
 * trust.  Their generation says which OCSP answers need verifying again:
 * it changes when the trust files, the pinned responders or the settings
 * that judge an answer do (a policy-only reload keeps it), and for every
 * snapshot built around a given chain (authd doctor).
 */
static void
snapshot_revocation(struct snapshot *snap, int given_chain)
{
	const struct config	*cfg = &snap->cfg;
	struct ocsp_settings	*s = &snap->ocsp.set;
	struct fetch_owner	 owner = { snap, snapshot_hold_cb,
				    snapshot_drop_cb };
	unsigned long long	 h = 14695981039346656037ULL;
	size_t			 i;

	s->mode = (enum ocsp_mode)cfg->ocsp_mode;
	s->certid_sha256 = cfg->ocsp_certid_sha256;
	s->nonce = cfg->ocsp_nonce;
	s->skew = cfg->ocsp_skew;
	s->max_age = cfg->ocsp_max_age;
	s->default_ttl = cfg->ocsp_default_ttl;
	s->timeout = cfg->fetch_timeout;
	s->max_size = cfg->ocsp_max_size;
	s->cache_size = cfg->ocsp_cache_size;
	s->proxy = snapshot_proxy(cfg);
	for (i = 0; i < cfg->ocsp_responder.n; i++)
		if (strchr(cfg->ocsp_responder.items[i].value, '\t') == NULL)
			snprintf(s->responder, sizeof(s->responder), "%s",
			    cfg->ocsp_responder.items[i].value);
	snap->ocsp.chain = snap->chain;
	snap->ocsp.signers = snap->ocsp_signers;
	snap->ocsp.routes = snap->routes;
	snap->ocsp.nroutes = snap->nroutes;
	snap->ocsp.owner = owner;
	if (given_chain) {
		pthread_mutex_lock(&snapshot_lock);
		h = snapshot_mix_num(h, ++snapshot_builds);
		pthread_mutex_unlock(&snapshot_lock);
	}
	h = snapshot_mix_list(h, &cfg->trust);
	h = snapshot_mix_list(h, &cfg->intermediates);
	h = snapshot_mix_list(h, &cfg->ocsp_signer);
	h = snapshot_mix_num(h, (unsigned long long)s->certid_sha256);
	h = snapshot_mix_num(h, (unsigned long long)s->nonce);
	h = snapshot_mix_num(h, (unsigned long long)s->skew);
	h = snapshot_mix_num(h, (unsigned long long)s->max_age);
	h = snapshot_mix_num(h, (unsigned long long)s->default_ttl);
	h = snapshot_mix_num(h, (unsigned long long)cfg->purpose);
	h = snapshot_mix_num(h, (unsigned long long)cfg->verify_depth);
	h = snapshot_mix_num(h, (unsigned long long)cfg->trust_partial);
	snap->ocsp.generation = (unsigned long)h;

	snap->crl_fetch.on = snap->crl != NULL && cfg->crl_fetch;
	snap->crl_fetch.timeout = cfg->fetch_timeout;
	snap->crl_fetch.max_size = cfg->crl_max_size;
	snap->crl_fetch.cache_size = cfg->crl_fetch_cache_size;
	snap->crl_fetch.proxy = snapshot_proxy(cfg);
	snap->crl_fetch.chain = snap->chain;
	snap->crl_fetch.owner = owner;

	snap->aia.on = cfg->ca_issuers_fetch;
	snap->aia.allow = cfg->ca_issuers_url.value;
	snap->aia.timeout = cfg->fetch_timeout;
	snap->aia.proxy = snapshot_proxy(cfg);
	snap->aia.owner = owner;
}

static int
snapshot_digest_pcy(EVP_MD_CTX *ctx, const char *name,
    const struct policy_pcy *pcy)
{
	int	 v[4];
	size_t	 i;

	v[0] = (int)pcy->noids;
	v[1] = pcy->explicit_policy;
	v[2] = pcy->inhibit_mapping;
	v[3] = pcy->inhibit_any;
	if (!EVP_DigestUpdate(ctx, name, strlen(name) + 1) ||
	    !EVP_DigestUpdate(ctx, v, sizeof(v)))
		return -1;
	for (i = 0; i < pcy->noids; i++)
		if (!EVP_DigestUpdate(ctx, pcy->oids[i],
		    strlen(pcy->oids[i]) + 1))
			return -1;
	return 0;
}

static int
snapshot_digest_policy(EVP_MD_CTX *ctx, const struct policy *p)
{
	int	 present = p != NULL;
	size_t	 i;

	if (!EVP_DigestUpdate(ctx, &present, sizeof(present)))
		return -1;
	for (i = 0; i < policy_pcy_count(p); i++)
		if (snapshot_digest_pcy(ctx, policy_pcy_name(p, i),
		    policy_pcy_at(p, i)) != 0)
			return -1;
	return 0;
}

/*
 * snap->verified_digest: the trust store, and what the kept identity
 * fields depend on besides the certificate (the certificate policy
 * settings: the valid policy set and each rule set's verdict on it).
 */
static void
snapshot_verified(struct snapshot *snap)
{
	unsigned char	 md[CHAIN_DIGEST_LEN];
	EVP_MD_CTX	*ctx;

	snap->verified_ok = chain_store_digest(snap->chain, md) == 0 &&
	    (ctx = EVP_MD_CTX_new()) != NULL;
	if (!snap->verified_ok)
		return;
	snap->verified_ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) &&
	    EVP_DigestUpdate(ctx, md, sizeof(md)) &&
	    snapshot_digest_pcy(ctx, "", &snap->cfg.pcy) == 0 &&
	    snapshot_digest_policy(ctx, snap->policy) == 0 &&
	    snapshot_digest_policy(ctx, snap->shadow) == 0 &&
	    EVP_DigestFinal_ex(ctx, snap->verified_digest, NULL);
	EVP_MD_CTX_free(ctx);
	ERR_clear_error();
}

int
snapshot_new(struct config *cfg, struct snapshot **out)
{
	return snapshot_new_store(cfg, NULL, out);
}

/* With chain (taken) instead of cfg's trust, when not NULL. */
static int
snapshot_build(struct config *cfg, struct store *store,
    struct chain_store *chain, const struct snapshot *prev,
    struct snapshot **out)
{
	struct snapshot	*snap;
	size_t		 i, n;
	int		 rc = 0;

	*out = NULL;
	if ((snap = calloc(1, sizeof(*snap))) == NULL) {
		chain_store_free(&chain);
		return AUTHD_ENOMEM;
	}
	snap->cfg = *cfg;
	config_init(cfg);	/* ownership moved */
	if (chain != NULL)
		snap->chain = chain;
	else
		rc = chain_store_load(&snap->cfg, &snap->chain);
	if (rc == 0 &&
	    crl_set_load(&snap->cfg, snap->chain, store, prev != NULL ?
	    prev->crl : NULL, &snap->crl) != 0)
		rc = AUTHD_ECONFIG;
	if (snap->cfg.ocsp_signer.n > 0 &&
	    (snap->ocsp_signers = sk_X509_new_null()) == NULL)
		rc = AUTHD_ENOMEM;
	for (i = 0; snap->ocsp_signers != NULL &&
	    i < snap->cfg.ocsp_signer.n; i++)
		if (chain_bundle_load(&snap->cfg, &snap->cfg.ocsp_signer.items[i],
		    snap->ocsp_signers, &n) != 0)
			rc = AUTHD_ECONFIG;
	if (snapshot_load_responders(snap) != 0)
		rc = AUTHD_ECONFIG;
	/* Policies load even when trust failed, so that -n reports it all. */
	if (snap->cfg.policy.value != NULL &&
	    policy_load_store(snap->cfg.policy.value, stderr, store,
	    &snap->policy) != 0) {
		snap->cfg.nerrors++;
		rc = AUTHD_ECONFIG;
	}
	if (snap->cfg.shadow_policy.value != NULL &&
	    policy_load_store(snap->cfg.shadow_policy.value, stderr, store,
	    &snap->shadow) != 0) {
		snap->cfg.nerrors++;
		rc = AUTHD_ECONFIG;
	}
	if (rc != 0) {
		cfg->nerrors = snap->cfg.nerrors;
		snapshot_free(snap);
		return rc;
	}
	snapshot_revocation(snap, chain != NULL);
	if (chain == NULL)
		snapshot_verified(snap);
	snap->refs = 1;
	*out = snap;
	return 0;
}

int
snapshot_new_store(struct config *cfg, struct store *store,
    struct snapshot **out)
{
	return snapshot_build(cfg, store, NULL, NULL, out);
}

int
snapshot_new_chain(struct config *cfg, struct chain_store *chain,
    struct snapshot **out)
{
	return snapshot_build(cfg, NULL, chain, NULL, out);
}

int
snapshot_reload(struct config *cfg, struct store *store,
    const struct snapshot *prev, struct snapshot **out)
{
	return snapshot_build(cfg, store, NULL, prev, out);
}

/* For /metrics: what the snapshot being served holds. */
struct snapshot_crl_walk {
	struct metrics_buf	*b;
	time_t			 now;
	int			 next;	/* 0: age pass, 1: nextUpdate pass */
	size_t			 n;
};

static void
snapshot_crl_rejected(void *arg, const struct crl_rejection *r)
{
	struct snapshot_crl_walk	*w = arg;
	char				 source[METRICS_LABEL_MAX];

	if (w->n >= METRICS_CRL_SERIES)
		return;
	w->n++;
	metrics_label(source, sizeof(source), r->source);
	metrics_printf(w->b, "authd_crl_source_rejected{source=\"%s\","
	    "reason=\"%s\"} 1\n", source, crl_reject_str(r->why));
}

static void
snapshot_crl_one(void *arg, const struct crl_info *ci)
{
	struct snapshot_crl_walk	*w = arg;
	char				 issuer[METRICS_LABEL_MAX];
	char				 source[METRICS_LABEL_MAX];

	if (w->n >= METRICS_CRL_SERIES || (w->next && ci->next_update == 0))
		return;
	w->n++;
	metrics_label(issuer, sizeof(issuer), ci->issuer);
	metrics_label(source, sizeof(source), ci->source);
	metrics_printf(w->b, "%s{issuer=\"%s\",source=\"%s\"} %lld\n",
	    w->next ? "authd_crl_next_update_seconds" : "authd_crl_age_seconds",
	    issuer, source, w->next ? (long long)(ci->next_update - w->now) :
	    (long long)(w->now - ci->this_update));
}

/* The CRLs and the generation of the snapshot being served. */
static void
snapshot_metrics(struct metrics_buf *b, void *arg)
{
	struct snapshot_crl_walk	 w;
	struct snapshot			*snap = snapshot_acquire();
	const struct crl_set		*crl = snap != NULL ? snap->crl : NULL;

	(void)arg;
	memset(&w, 0, sizeof(w));
	w.b = b;
	w.now = time(NULL);
	metrics_head(b, "authd_crl_age_seconds", "gauge", "Seconds since "
	    "the thisUpdate of each CRL in use.");
	crl_foreach(crl, snapshot_crl_one, &w);
	w.next = 1;
	w.n = 0;
	metrics_head(b, "authd_crl_next_update_seconds", "gauge", "Seconds "
	    "until the nextUpdate of each CRL in use (negative: past it).");
	crl_foreach(crl, snapshot_crl_one, &w);
	w.n = 0;
	metrics_head(b, "authd_crl_source_rejected", "gauge", "CRL files "
	    "(or CRLs in them) rejected at the last load, by reason; "
	    "1 while rejected.");
	crl_foreach_rejected(crl, snapshot_crl_rejected, &w);
	metrics_head(b, "authd_policy_generation", "gauge", "Generation of "
	    "the configuration, trust and policy being served (changes with "
	    "every successful reload).");
	metrics_printf(b, "authd_policy_generation %lu\n", snap != NULL ?
	    snap->generation : 0UL);
	snapshot_release(snap);
}

void
snapshot_publish(struct snapshot *snap)
{
	struct snapshot	*old;

	(void)metrics_register(snapshot_metrics, NULL);
	pthread_mutex_lock(&snapshot_lock);
	snap->generation = ++snapshot_gen;
	old = snapshot_cur;
	snapshot_cur = snap;
	pthread_mutex_unlock(&snapshot_lock);
	if (old != NULL)
		snapshot_release(old);
}

void
snapshot_hold(struct snapshot *snap)
{
	pthread_mutex_lock(&snapshot_lock);
	snap->refs++;
	pthread_mutex_unlock(&snapshot_lock);
}

struct snapshot *
snapshot_acquire(void)
{
	struct snapshot	*snap;

	pthread_mutex_lock(&snapshot_lock);
	if ((snap = snapshot_cur) != NULL)
		snap->refs++;
	pthread_mutex_unlock(&snapshot_lock);
	return snap;
}

void
snapshot_release(struct snapshot *snap)
{
	int	 last;

	if (snap == NULL)
		return;
	pthread_mutex_lock(&snapshot_lock);
	last = --snap->refs == 0;
	pthread_mutex_unlock(&snapshot_lock);
	if (last)
		snapshot_free(snap);
}

void
snapshot_shutdown(void)
{
	struct snapshot	*old;

	pthread_mutex_lock(&snapshot_lock);
	old = snapshot_cur;
	snapshot_cur = NULL;
	pthread_mutex_unlock(&snapshot_lock);
	snapshot_release(old);
}


/*
 * A directory (of CRLs): every regular file in it, so that one rewritten
 * in place is noticed too.  Order-independent: readdir's order may change.
 */
static unsigned long long
snapshot_mix_dir(unsigned long long h, const char *dir)
{
	struct dirent		*de;
	DIR			*d;
	char			 path[4096];
	unsigned long long	 sum = 0;

	if ((d = opendir(dir)) == NULL)
		return h;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		sum += snapshot_mix(14695981039346656037ULL, path, 0);
	}
	closedir(d);
	return (h ^ sum) * 1099511628211ULL;
}

/* Name, size, inode and times of path; with dirs, a directory's files too. */
static unsigned long long
snapshot_mix(unsigned long long h, const char *path, int dirs)
{
	struct stat	 sb;
	const char	*p;

	if (path == NULL)
		return h;
	for (p = path; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	if (stat(path, &sb) == 0) {
		h = (h ^ (unsigned long long)sb.st_size) * 1099511628211ULL;
		h = (h ^ (unsigned long long)sb.st_ino) * 1099511628211ULL;
		h = (h ^ (unsigned long long)sb.st_mtim.tv_sec) * 1099511628211ULL;
		h = (h ^ (unsigned long long)sb.st_mtim.tv_nsec) * 1099511628211ULL;
		if (dirs && S_ISDIR(sb.st_mode))
			h = snapshot_mix_dir(h, path);
	} else
		h = (h ^ 0xdeadULL) * 1099511628211ULL;
	return h;
}

/* Each file (or directory) of a repeatable key. */
static unsigned long long
snapshot_mix_list(unsigned long long h, const struct config_list *l)
{
	size_t	 i;

	for (i = 0; i < l->n; i++)
		h = snapshot_mix(h, l->items[i].value, 1);
	return h;
}

unsigned long long
snapshot_stamp(const struct config *cfg, const struct snapshot *snap)
{
	unsigned long long	 h = 14695981039346656037ULL;
	size_t			 i;

	h = snapshot_mix(h, cfg->file, 1);
	h = snapshot_mix_list(h, &cfg->trust);
	h = snapshot_mix_list(h, &cfg->intermediates);
	h = snapshot_mix_list(h, &cfg->crl);
	h = snapshot_mix(h, cfg->policy.value, 1);
	h = snapshot_mix(h, cfg->shadow_policy.value, 1);
	for (i = 0; snap != NULL && snap->policy != NULL &&
	    i < policy_lists(snap->policy); i++)
		h = snapshot_mix(h, policy_list_path(snap->policy, i), 1);
	for (i = 0; snap != NULL && snap->shadow != NULL &&
	    i < policy_lists(snap->shadow); i++)
		h = snapshot_mix(h, policy_list_path(snap->shadow, i), 1);
	return h;
}
