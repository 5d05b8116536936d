/*
 * revocation.c: CRL and OCSP, per certificate of a verified chain, in the
 * order the configuration gives (revocation.h).
 *
 * The pass never stops at a fetch in progress: it goes on to the other
 * certificates, so that every fetch the chain needs is started at once and
 * a request waits for the slowest of them, not for their sum.  It stops at
 * the first definite answer that denies (revoked, or a failure that its
 * setting does not allow): waiting would not change it.
 */
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <openssl/x509.h>

#include "chain.h"
#include "crl.h"
#include "identity.h"
#include "log.h"
#include "ocsp.h"
#include "policy.h"
#include "aia.h"
#include "revocation.h"
#include "snapshot.h"

enum rev_answer {
	REV_GOOD,
	REV_REVOKED,	/* out says so */
	REV_PENDING,	/* the pending slot says what to wait for */
	REV_FAILED,	/* no answer: see the failure */
};

/* The sources, as rev_by records them. */
enum rev_source {
	REV_CRL = REVOCATION_CRL,
	REV_OCSP = REVOCATION_OCSP,
};

struct rev_failure {
	enum revocation_outcome	 outcome;
	int			 allow;		/* its failure setting allows */
	enum rev_source		 src;
	char			 detail[CRL_DETAIL_MAX];
};

/* The first fetch in progress the pass met: what the request waits for. */
struct rev_pending {
	int			 kind;		/* 0, REVOCATION_WAIT_CRL or _OCSP */
	char			 key[REVOCATION_KEY_MAX];
	char			 detail[CRL_DETAIL_MAX];
	int			 count;		/* fetches in progress */
};

/* A CRL used past its nextUpdate, in the grace: warn, at most once a minute. */
static void
revocation_warn_grace(void)
{
	static _Atomic time_t	 last;
	time_t			 now = time(NULL), prev = last;

	if (now - prev < 60 || !atomic_compare_exchange_strong(&last, &prev,
	    now))
		return;
	log_warnx("a CRL past its nextUpdate is in use (crl_grace): "
	    "publish a fresh one");
}

/* "SUBJECT (depth N) is " before what crl_check says of it. */
static void
revocation_crl_who(struct revocation_result *out, const char *leaf_subject,
    STACK_OF(X509) *chain, int depth, const char *detail)
{
	char	 dn[256];

	if (depth == 0 && leaf_subject != NULL)
		snprintf(dn, sizeof(dn), "%.250s", leaf_subject);
	else if (chain != NULL && depth >= 0 && depth < sk_X509_num(chain) &&
	    sk_X509_value(chain, depth) != NULL)
		identity_dn(X509_get_subject_name(sk_X509_value(chain, depth)),
		    dn, sizeof(dn));
	else
		snprintf(dn, sizeof(dn), "?");
	snprintf(out->detail, sizeof(out->detail), "%.180s (depth %d) is "
	    "%.290s", dn, depth, detail);
}

static void
revocation_pending(struct rev_pending *p, int kind, const char *key,
    const char *detail)
{
	if (p->count++ > 0)
		return;
	p->kind = kind;
	snprintf(p->key, sizeof(p->key), "%s", key);
	snprintf(p->detail, sizeof(p->detail), "%s", detail);
}

/* The oldest thisUpdate among the answers used. */
static void
revocation_age(struct revocation_result *out, time_t this_update)
{
	if (this_update != 0 && (out->rev_time == 0 ||
	    this_update < out->rev_time))
		out->rev_time = this_update;
}

static enum rev_answer
revocation_crl_at(const struct snapshot *snap, struct chain_result *res,
    const char *leaf_subject, const struct crl_leaf *leaf, int depth,
    time_t now, struct revocation_result *out, struct rev_pending *p,
    struct rev_failure *f)
{
	struct crl_result	 cr;

	/*
	 * A missing CRL is a failure like any other: crl_missing decides
	 * with the others, never as an answer (missing_allow 0 here).
	 */
	crl_check_depth(snap->crl, &snap->crl_fetch, res->chain, depth, leaf,
	    now, 0, snap->cfg.crl_grace, &cr);
	if (cr.valid_until < res->valid_until)
		res->valid_until = cr.valid_until;	/* bounds the cache */
	f->src = REV_CRL;
	f->allow = 0;
	f->outcome = REVOCATION_UNKNOWN;
	if (cr.status == CRL_GOOD || cr.status == CRL_REVOKED)
		revocation_age(out, cr.this_update);
	switch (cr.status) {
	case CRL_GOOD:
		if (cr.in_grace)
			revocation_warn_grace();
		return REV_GOOD;
	case CRL_REVOKED:
		out->outcome = REVOCATION_REVOKED;
		out->source = REVOCATION_CRL;
		revocation_crl_who(out, leaf_subject, res->chain, cr.depth,
		    cr.detail);
		return REV_REVOKED;
	case CRL_PENDING:
		revocation_pending(p, REVOCATION_WAIT_CRL, cr.pending_url,
		    cr.detail);
		return REV_PENDING;
	case CRL_EXPIRED:
		f->outcome = REVOCATION_CRL_EXPIRED;
		break;
	case CRL_MISSING:
		f->allow = snap->cfg.crl_missing_allow;
		break;
	default:
		break;
	}
	snprintf(f->detail, sizeof(f->detail), "%s", cr.detail);
	return REV_FAILED;
}

static enum rev_answer
revocation_ocsp_at(const struct snapshot *snap, struct chain_result *res,
    int depth, time_t now,
    int failure_allow, struct revocation_result *out, struct rev_pending *p,
    struct rev_failure *f)
{
	struct ocsp_result	 or;
	char			 why[64];

	if (sk_X509_value(res->chain, depth) == NULL) {
		/* a kept leaf without its certificate: fail closed */
		f->src = REV_OCSP;
		f->allow = 0;
		f->outcome = REVOCATION_UNKNOWN;
		snprintf(f->detail, sizeof(f->detail), "OCSP: no certificate "
		    "at depth %d to ask about", depth);
		return REV_FAILED;
	}
	ocsp_check_depth(&snap->ocsp, res->chain, depth, now, &or);
	if (or.valid_until < res->valid_until)
		res->valid_until = or.valid_until;	/* bounds the cache */
	if (or.status == OCSP_OK || or.status == OCSP_REVOKED)
		revocation_age(out, or.this_update);
	f->src = REV_OCSP;
	f->allow = failure_allow;
	f->outcome = REVOCATION_UNKNOWN;
	switch (or.status) {
	case OCSP_OK:
		return REV_GOOD;
	case OCSP_REVOKED:
		out->outcome = REVOCATION_REVOKED;
		out->source = REVOCATION_OCSP;
		snprintf(out->detail, sizeof(out->detail), "%s", or.detail);
		return REV_REVOKED;
	case OCSP_WAIT:
		snprintf(why, sizeof(why), "waiting for the OCSP responder "
		    "(depth %d)", depth);
		revocation_pending(p, REVOCATION_WAIT_OCSP, or.pending_key, why);
		return REV_PENDING;
	default:
		snprintf(f->detail, sizeof(f->detail), "%s", or.detail);
		return REV_FAILED;
	}
}

static int
revocation_covers(const struct snapshot *snap, enum rev_source src, int depth)
{
	if (src == REV_CRL)
		return snap->crl != NULL && (depth == 0 ||
		    snap->cfg.crl_scope == CRL_SCOPE_CHAIN);
	return snap->cfg.ocsp_mode != 0 && (depth == 0 ||
	    snap->cfg.ocsp_mode == OCSP_MODE_CHAIN);
}

/* The sources in the order revocation_order gives; returns how many. */
static size_t
revocation_order(const struct config *cfg, enum rev_source order[2])
{
	switch (cfg->revocation_order) {
	case CONFIG_REVORDER_OCSP_CRL:
		order[0] = REV_OCSP, order[1] = REV_CRL;
		return 2;
	case CONFIG_REVORDER_CRL:
		order[0] = REV_CRL;
		return 1;
	case CONFIG_REVORDER_OCSP:
		order[0] = REV_OCSP;
		return 1;
	default:
		order[0] = REV_CRL, order[1] = REV_OCSP;
		return 2;
	}
}

/* src answered for the certificate at depth: rev_by gets it. */
static void
revocation_by(struct revocation_result *out, int depth, enum rev_source src)
{
	if (depth < REVOCATION_BY_DEPTHS)
		out->by |= (uint32_t)src << (2 * depth);
}

void
revocation_check(const struct snapshot *snap, const char *ruleset,
    const char *leaf_subject, const struct crl_leaf *leaf,
    struct chain_result *res, time_t now, struct revocation_result *out)
{
	struct rev_failure	 fail[2];
	struct rev_pending	 pend;
	enum rev_source		 order[2];
	enum rev_answer		 ans;
	size_t			 o, nfail, k, nsrc;
	int			 depth, n, ocsp_allow, rs, unchecked = 0;
	char			 why[sizeof(out->detail)] = "";

	memset(out, 0, offsetof(struct revocation_result, pending_key));
	out->pending_key[0] = out->detail[0] = '\0';
	if (snap->crl == NULL && snap->cfg.ocsp_mode == 0)
		return;
	if (res->chain == NULL) {		/* no memory: fail closed */
		out->outcome = REVOCATION_UNKNOWN;
		snprintf(out->detail, sizeof(out->detail), "no chain to check "
		    "revocation on");
		return;
	}
	nsrc = revocation_order(&snap->cfg, order);
	ocsp_allow = snap->cfg.ocsp_failure_allow;
	if ((rs = policy_ocsp_failure(snap->policy, ruleset)) != -1)
		ocsp_allow = rs;
	memset(&pend, 0, sizeof(pend));

	n = sk_X509_num(res->chain);
	for (depth = 0; depth + 1 < n; depth++) {
		ans = REV_GOOD;
		nfail = 0;
		for (o = 0; o < nsrc; o++) {
			if (!revocation_covers(snap, order[o], depth))
				continue;
			ans = order[o] == REV_CRL ?
			    revocation_crl_at(snap, res, leaf_subject, leaf,
			    depth, now, out, &pend, &fail[nfail]) :
			    revocation_ocsp_at(snap, res, depth, now, ocsp_allow,
			    out, &pend, &fail[nfail]);
			if (ans != REV_FAILED) {
				if (ans == REV_GOOD)
					revocation_by(out, depth, order[o]);
				break;
			}
			nfail++;
		}
		if (ans == REV_REVOKED) {
			out->revoked_depth = depth;
			return;
		}
		/* Pending: the next depths' fetches start in this pass too. */
		if (ans == REV_GOOD || ans == REV_PENDING)
			continue;
		/* No source answered for this certificate. */
		for (k = 0; k < nfail && fail[k].allow; k++)
			;
		if (k < nfail) {
			out->outcome = fail[k].outcome;
			snprintf(out->detail, sizeof(out->detail), "%.250s%s%.240s",
			    fail[0].detail, nfail > 1 ? "; then " : "",
			    nfail > 1 ? fail[1].detail : "");
			return;
		}
		for (k = 0; k < nfail; k++)
			if (fail[k].src == REV_OCSP && why[0] == '\0') {
				unchecked = 1;
				snprintf(why, sizeof(why), "%s", fail[k].detail);
			}
	}
	if (pend.count > 0) {
		/* Denied unless the caller waits and decides again. */
		out->outcome = REVOCATION_UNKNOWN;
		out->pending = pend.kind;
		snprintf(out->pending_key, sizeof(out->pending_key), "%s",
		    pend.key);
		if (pend.count > 1)
			snprintf(out->detail, sizeof(out->detail), "%.400s "
			    "(and %d more fetches)", pend.detail,
			    pend.count - 1);
		else
			snprintf(out->detail, sizeof(out->detail), "%s",
			    pend.detail);
		return;
	}
	if (unchecked) {
		/* Soft-fail, visibly: never cached, always marked. */
		out->source = REVOCATION_UNCHECKED;
		snprintf(out->detail, sizeof(out->detail), "allowed unchecked "
		    "(ocsp_failure allow%s%s): %.300s", rs != -1 ?
		    " in rule set " : "", rs != -1 ? (ruleset != NULL &&
		    ruleset[0] != '\0' ? ruleset : "default") : "", why);
	}
}

const char *
revocation_source_str(enum revocation_source s)
{
	switch (s) {
	case REVOCATION_CRL:
		return "crl";
	case REVOCATION_OCSP:
		return "ocsp";
	case REVOCATION_UNCHECKED:
		return "unchecked";
	default:
		return NULL;
	}
}

int
revocation_wait(int pending, const char *key, void (*resume)(void *),
    void *arg)
{
	switch (pending) {
	case REVOCATION_WAIT_OCSP:
		return ocsp_wait(key, resume, arg);
	case REVOCATION_WAIT_CRL:
		return crl_fetch_wait(key, resume, arg);
	case REVOCATION_WAIT_AIA:
		return aia_wait(key, resume, arg);
	default:
		return 1;
	}
}

time_t
revocation_wait_max(const struct config *cfg)
{
	enum rev_source	 order[2];

	/* An issuer from caIssuers first (one level; deeper ones are rare). */
	return cfg->fetch_timeout * ((time_t)revocation_order(cfg, order) +
	    (cfg->ca_issuers_fetch ? 1 : 0)) + 1;
}

size_t
revocation_wake_all(void)
{
	return ocsp_wake_all() + crl_fetch_wake_all() + aia_wake_all();
}
