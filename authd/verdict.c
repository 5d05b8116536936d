/*
 * verdict.c: one decision, start to finish (DESIGN.md section 3).
 *
 * The warm path is decode, hash, cache hit: no certificate parsing and no
 * signature.  Everything else is the cold path.  Each step that fails
 * sets the reason and stops; there is no way out of this file that
 * allows without a verified chain.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include <stddef.h>

#include "aia.h"
#include "cache.h"
#include "crl.h"
#include "log.h"
#include "ocsp.h"
#include "err.h"
#include "request.h"
#include "revocation.h"
#include "snapshot.h"
#include "verdict.h"
#include "verified.h"

/* Denies are cached briefly: they are cheap to recompute and may be fixed. */
#define VERDICT_DENY_TTL	 60

static const struct {
	const char	*str;
	int		 status;
} verdict_reasons[] = {
#define VERDICT_ROW(name, str, status) { (str), (status) },
	VERDICT_REASON_LIST(VERDICT_ROW)
#undef VERDICT_ROW
};

const char *
verdict_reason_str(enum verdict_reason r)
{
	if ((unsigned int)r >= VERDICT_NREASONS)
		return "internal-error";
	return verdict_reasons[r].str;
}

int
verdict_reason_status(enum verdict_reason r)
{
	if ((unsigned int)r >= VERDICT_NREASONS)
		return 401;
	return verdict_reasons[r].status;
}

static enum verdict_reason
verdict_of_chain(enum chain_status st)
{
	switch (st) {
	case CHAIN_OK:
		return VERDICT_OK;
	case CHAIN_EXPIRED:
		return VERDICT_EXPIRED;
	case CHAIN_NOT_YET_VALID:
		return VERDICT_NOT_YET_VALID;
	case CHAIN_WRONG_PURPOSE:
		return VERDICT_WRONG_PURPOSE;
	case CHAIN_UNTRUSTED:
		return VERDICT_UNTRUSTED;
	case CHAIN_POLICY:
		return VERDICT_POLICY_NOT_ACCEPTED;
	default:
		return VERDICT_INTERNAL_ERROR;
	}
}

static void
verdict_set(struct verdict *out, enum verdict_reason r, const char *detail)
{
	out->reason = r;
	snprintf(out->detail, sizeof(out->detail), "%s", detail);
}

/* nginx says NONE when the client sent no certificate at all. */
static int
verdict_nginx_says_none(const struct verdict_input *in)
{
	return in->client_verify != NULL &&
	    strcasecmp(in->client_verify, "NONE") == 0;
}

/* Per thread, so that the warm path allocates nothing. */
static _Thread_local unsigned char	 verdict_der[REQUEST_DER_MAX];
static _Thread_local unsigned char	 verdict_blob[CACHE_BLOB_MAX];
static _Thread_local struct identity_fields verdict_fields;
static _Thread_local char		 verdict_path[REQUEST_PATH_MAX];

const char *
verdict_reason_text(const struct verdict *v)
{
	if (v->reason_text[0] != '\0')
		return v->reason_text;
	return verdict_reason_str(v->reason);
}

/* Whole days from now to notAfter, rounded down (0 on the last day). */
static long
verdict_days_left(time_t not_after, time_t now)
{
	long long	 d = (long long)not_after - (long long)now;

	return (long)(d >= 0 ? d / 86400 : -((-d + 86399) / 86400));
}

/*
 * Whether decisions need the chain's certificate policy processing: global
 * settings, a rule set's own, or a rule that reads the policy field.
 */
static int
verdict_pcy_needed(const struct snapshot *snap)
{
	return chain_policy_set(&snap->cfg.pcy) ||
	    policy_pcy_count(snap->policy) > 0 ||
	    policy_pcy_used(snap->policy) ||
	    policy_pcy_count(snap->shadow) > 0 ||
	    policy_pcy_used(snap->shadow);
}

/* Which of pol's rule sets with policy settings of their own refuse chain. */
static uint32_t
verdict_pcy_rejects(const struct snapshot *snap, const struct policy *pol,
    STACK_OF(X509) *chain)
{
	struct chain_pcy_result	 pr;
	uint32_t		 mask = 0;
	size_t			 i;

	for (i = 0; i < policy_pcy_count(pol) && i < 32; i++) {
		chain_policy(chain, &snap->cfg.pcy, policy_pcy_at(pol, i), &pr);
		if (pr.status != CHAIN_PCY_OK)
			mask |= (uint32_t)1 << i;
	}
	return mask;
}

/* Why a chain's policies were refused, for the detail. */
static void
verdict_pcy_detail(char *buf, size_t len, const struct chain_pcy_result *pr,
    const char *ruleset)
{
	const char	*why;

	switch (pr->status) {
	case CHAIN_PCY_NOT_ACCEPTED:
		why = "no certificate policy valid for the whole chain is "
		    "acceptable";
		break;
	case CHAIN_PCY_INVALID:
		why = "a certificate policy extension of the chain is invalid";
		break;
	default:
		why = "certificate policy processing failed (out of memory)";
	}
	if (ruleset != NULL)
		snprintf(buf, len, "%s to rule set '%s' (its require_policy "
		    "or policy settings)", why, ruleset);
	else
		snprintf(buf, len, "%s (require_policy, explicit_policy, "
		    "inhibit_policy_mapping, inhibit_any_policy)", why);
}

/* Decide with one policy; fills the rule and reason text it gives. */
static enum verdict_reason
verdict_policy_eval(const struct policy *pol, const struct verdict_input *in,
    const struct policy_identity *pid, const char *path,
    struct policy_decision *d, char *rule, size_t rulelen, char *reason,
    size_t reasonlen)
{
	struct policy_request	 rq;

	rq.method = in->method;
	rq.path = path;
	rq.host = in->host;
	policy_eval(pol, in->ruleset, pid, &rq, d);
	rule[0] = reason[0] = '\0';
	if (d->file != NULL)
		snprintf(rule, rulelen, "%s:%d", d->file, d->line);
	switch (d->outcome) {
	case POLICY_ALLOWED:
		return VERDICT_OK;
	case POLICY_NO_MATCH:
		return VERDICT_NO_MATCHING_RULE;
	case POLICY_NO_RULESET:
		return VERDICT_POLICY_DENY;
	default:
		/* A deny rule's own reason, or policy-error. */
		if (strcmp(d->reason, "policy-deny") != 0)
			identity_sanitize(reason, reasonlen, d->reason,
			    strlen(d->reason));
		return VERDICT_POLICY_DENY;
	}
}

/*
 * Step 6: the policy, over the certificate's fields and the request.  Runs
 * for every request with a good chain, cached or not: the request differs.
 */
static void
verdict_policy(const struct snapshot *snap, const struct verdict_input *in,
    const struct identity_fields *f, time_t now, struct verdict *out)
{
	struct policy_identity	 pid;
	struct policy_decision	 shadow;
	enum verdict_reason	 r, sr;
	const char		*path = NULL, *why = "";
	int			 pidx;

	identity_fields_view(f, &pid);
	pid.days_left = verdict_days_left(f->id.not_after, now);
	out->policy_applied = 1;
	/* The smart-card identities and the policy, for the audit log. */
	if (f->nsan_upn > 0)
		snprintf(out->upn, sizeof(out->upn), "%s", f->san_upn[0]);
	if (f->nsan_fascn > 0)
		snprintf(out->fascn, sizeof(out->fascn), "%s", f->san_fascn[0]);
	if (f->nsan_uuid > 0)
		snprintf(out->uuid, sizeof(out->uuid), "%s", f->san_uuid[0]);
	if (f->npolicies > 0)
		snprintf(out->cert_policy, sizeof(out->cert_policy), "%s",
		    f->policies[0]);
	if (f->truncated || f->unreadable) {
		/* A rule could miss a value authd did not keep: fail closed. */
		out->reason = VERDICT_POLICY_DENY;
		out->policy_error = 1;
		snprintf(out->reason_text, sizeof(out->reason_text),
		    "policy-error");
		snprintf(out->detail, sizeof(out->detail), "%s", f->truncated ?
		    "the certificate has more names or longer values than "
		    "authd keeps" : "a name attribute of the certificate is "
		    "not text (kept as #hex, as nginx shows it)");
		return;
	}
	if (request_path_normalize(in->uri, verdict_path, sizeof(verdict_path),
	    &why) == 0)
		path = verdict_path;
	r = verdict_policy_eval(snap->policy, in, &pid, path, &out->decision,
	    out->rule, sizeof(out->rule), out->reason_text,
	    sizeof(out->reason_text));
	out->unknown_ruleset = out->decision.outcome == POLICY_NO_RULESET;
	out->policy_error = out->decision.outcome == POLICY_UNDECIDABLE;
	if (path == NULL && r == VERDICT_OK) {
		/* A rule that ignores the path may allow; one that looks may not. */
		r = VERDICT_POLICY_DENY;
		out->decision.nheaders = 0;
		snprintf(out->detail, sizeof(out->detail), "%s", why);
	}
	pidx = policy_pcy_index(snap->policy, in->ruleset);
	if (pidx >= 0 && (f->pcy_reject >> pidx) & 1) {
		/* The rule set's own certificate policy settings refuse it. */
		r = VERDICT_POLICY_NOT_ACCEPTED;
		out->decision.nheaders = 0;
		out->rule[0] = out->reason_text[0] = '\0';
		snprintf(out->detail, sizeof(out->detail), "no certificate "
		    "policy valid for the whole chain is acceptable to rule "
		    "set '%s' (its require_policy or policy settings)",
		    in->ruleset != NULL && in->ruleset[0] != '\0' ?
		    in->ruleset : "default");
	}
	out->reason = r;
	if (snap->shadow == NULL)
		return;
	sr = verdict_policy_eval(snap->shadow, in, &pid, path, &shadow,
	    out->shadow_rule, sizeof(out->shadow_rule), out->shadow_reason,
	    sizeof(out->shadow_reason));
	if (path == NULL && sr == VERDICT_OK)
		sr = VERDICT_POLICY_DENY;
	pidx = policy_pcy_index(snap->shadow, in->ruleset);
	if (pidx >= 0 && (f->pcy_reject_shadow >> pidx) & 1) {
		sr = VERDICT_POLICY_NOT_ACCEPTED;
		out->shadow_rule[0] = out->shadow_reason[0] = '\0';
	}
	if (out->shadow_reason[0] == '\0')
		snprintf(out->shadow_reason, sizeof(out->shadow_reason), "%s",
		    verdict_reason_str(sr));
	/* Different when the client would get another status or reason. */
	out->shadow_differs = (sr == VERDICT_OK) != (r == VERDICT_OK) ||
	    strcmp(verdict_reason_text(out), out->shadow_reason) != 0;
}

/*
 * Step 5, revocation.c's answer carried into the verdict.  Returns the
 * depth of the certificate found revoked, or 0.
 */
static int
verdict_revocation(const struct snapshot *snap, const struct verdict_input *in,
    const struct crl_leaf *leaf, struct chain_result *res, time_t now,
    struct verdict *out)
{
	static _Thread_local struct revocation_result rr;

	revocation_check(snap, in->ruleset, out->has_identity ?
	    out->id.subject : NULL, leaf, res, now, &rr);
	out->revocation = rr.source;
	out->rev_by = rr.by;
	out->rev_time = rr.rev_time;
	out->pending = rr.pending;
	if (rr.pending)
		snprintf(out->pending_url, sizeof(out->pending_url), "%s",
		    rr.pending_key);
	switch (rr.outcome) {
	case REVOCATION_GOOD:
		if (rr.detail[0] != '\0')	/* allowed unchecked: why */
			snprintf(out->detail, sizeof(out->detail), "%s",
			    rr.detail);
		return 0;
	case REVOCATION_REVOKED:
		out->reason = VERDICT_REVOKED;
		snprintf(out->detail, sizeof(out->detail), "%s", rr.detail);
		return rr.revoked_depth;
	case REVOCATION_CRL_EXPIRED:
		out->reason = VERDICT_CRL_EXPIRED;
		break;
	default:
		out->reason = VERDICT_REVOCATION_UNKNOWN;
	}
	snprintf(out->detail, sizeof(out->detail), "%s", rr.detail);
	return 0;
}

/*
 * A CA on the chain verified is revoked: another path through the
 * configured certificates that avoids every CA found revoked so far (a
 * renewed or cross-certified CA beside it), revocation checked again on
 * it; at most CHAIN_PATHS_MAX times.  res becomes the path that stands.
 */
static void
verdict_avoid_revoked(const struct snapshot *snap,
    const struct verdict_input *in, X509 *x, time_t at, time_t now,
    int flags, int depth, struct chain_result *res, struct verdict *out)
{
	STACK_OF(X509)		*avoid;
	struct chain_result	 alt;
	X509			*ca;
	int			 tries;

	if ((avoid = sk_X509_new_null()) == NULL)
		return;
	for (tries = 0; tries < CHAIN_PATHS_MAX && depth > 0 &&
	    res->chain != NULL && depth < sk_X509_num(res->chain); tries++) {
		ca = sk_X509_value(res->chain, depth);
		if (!sk_X509_push(avoid, ca))
			break;
		X509_up_ref(ca);
		if (!chain_verify_avoiding(snap->chain, x, at, snap->cfg.purpose,
		    flags | CHAIN_WANT_CHAIN, avoid, &alt))
			break;
		chain_result_cleanup(res);
		*res = alt;
		out->reason = VERDICT_OK;
		snprintf(out->detail, sizeof(out->detail), "chain verified "
		    "along candidate path %d (a CA of the first path is "
		    "revoked)", res->alternative);
		out->revocation = REVOCATION_NONE;
		out->rev_by = 0;
		out->rev_time = 0;
		depth = verdict_revocation(snap, in, NULL, res, now, out);
		if (out->reason != VERDICT_REVOKED)
			break;
	}
	sk_X509_pop_free(avoid, X509_free);
}

static void
verdict_init(struct verdict *out)
{
	/* Not a memset: struct verdict is large and this is the warm path. */
	out->reason = VERDICT_INTERNAL_ERROR;
	out->has_identity = 0;
	out->cached = 0;
	out->id.subject[0] = out->id.issuer[0] = out->id.serial[0] = '\0';
	out->id.fingerprint[0] = '\0';
	out->id.not_before = out->id.not_after = 0;
	out->detail[0] = '\0';
	out->policy_applied = 0;
	out->unknown_ruleset = 0;
	out->revocation = REVOCATION_NONE;
	out->rev_by = 0;
	out->rev_time = 0;
	out->pending = 0;
	out->pending_url[0] = '\0';
	out->rule[0] = out->reason_text[0] = '\0';
	out->decision.nheaders = 0;
	out->shadow_differs = 0;
	out->shadow_rule[0] = out->shadow_reason[0] = '\0';
	out->upn[0] = out->fascn[0] = out->uuid[0] = out->cert_policy[0] = '\0';
	out->reuse_until = 0;
	out->reuse = 0;
}

void
verdict_deny(struct verdict *v, enum verdict_reason r, const char *detail)
{
	verdict_init(v);
	verdict_set(v, r, detail);
}

int
verdict_input_headers(const struct request_headers *h,
    struct verdict_input *in, struct verdict *out)
{
	memset(in, 0, sizeof(*in));
	switch (h->refusal) {
	case REQUEST_REFUSED_NONE:
		break;
	case REQUEST_REFUSED_CERT:
		verdict_deny(out, VERDICT_MALFORMED, h->refused);
		return 0;
	default:
		verdict_deny(out, VERDICT_MALFORMED_REQUEST, h->refused);
		return 0;
	}
	in->cert = h->cert;
	in->cert_len = h->cert_len;
	in->client_verify = h->client_verify;
	in->uri = h->uri;
	in->method = h->method;
	in->host = h->host;
	in->ruleset = h->ruleset;
	if (h->cache_scope == NULL || strcmp(h->cache_scope, "request") == 0)
		in->cache_scope = VERDICT_SCOPE_REQUEST;
	else if (strcmp(h->cache_scope, "client") == 0)
		in->cache_scope = VERDICT_SCOPE_CLIENT;
	else
		in->cache_scope = VERDICT_SCOPE_UNKNOWN;
	return 1;
}

void
verdict_hold_cleanup(struct verdict_hold *hold)
{
	if (hold->x == NULL)
		return;
	chain_result_cleanup(&hold->res);
	X509_free(hold->x);
	hold->x = NULL;
}

/*
 * The chain the first pass of this request verified, when it is still
 * the answer: same certificate, same snapshot, chain still in its
 * validity.  Moves it into x and res; returns 1, else 0 (hold emptied).
 */
static int
verdict_hold_take(struct verdict_hold *hold, const struct snapshot *snap,
    const unsigned char *md, time_t now, X509 **x, struct chain_result *res,
    time_t *chain_until)
{
	if (hold == NULL || hold->x == NULL)
		return 0;
	if (hold->generation != snap->generation || now > hold->chain_until ||
	    memcmp(hold->md, md, sizeof(hold->md)) != 0) {
		verdict_hold_cleanup(hold);
		return 0;
	}
	*x = hold->x;
	*res = hold->res;
	*chain_until = res->valid_until = hold->chain_until;
	hold->x = NULL;
	memset(&hold->res, 0, sizeof(hold->res));
	return 1;
}

/*
 * The chain lacks an issuer: fetch it from the caIssuers URL of the
 * certificate that lacks one (ca_issuers_fetch), a level at a time up to
 * AIA_LEVELS_MAX, and verify again with what came, which only ever adds
 * intermediates.  res is replaced by the last verification; out->pending
 * is set when a fetch runs (the request waits for it, then starts over).
 */
static void
verdict_aia(const struct snapshot *snap, X509 *x, time_t at, int flags,
    struct chain_result *res, struct verdict *out)
{
	STACK_OF(X509)	*extra = NULL, *got;
	struct chain_fast *fast;
	X509		*top;
	char		 url[FETCH_URL_MAX], why[256];
	char		 used[AIA_LEVELS_MAX][FETCH_URL_MAX];
	int		 level, pending, nused = 0, i, leaf_url = 0;

	for (level = 0; level < AIA_LEVELS_MAX &&
	    chain_missing_issuer(res); level++) {
		top = res->chain != NULL && sk_X509_num(res->chain) > 0 ?
		    sk_X509_value(res->chain, sk_X509_num(res->chain) - 1) : x;
		if (level == 0)
			leaf_url = X509_cmp(top, x) == 0;
		got = NULL;
		pending = 0;
		if (!aia_url(top, url, sizeof(url))) {
			if (level == 0)
				break;	/* nothing was fetched: OpenSSL's reason */
			snprintf(why, sizeof(why), "the issuer fetched names no "
			    "caIssuers URL for its own");
			snprintf(url, sizeof(url), "%s", used[nused - 1]);
		} else
			got = aia_get(&snap->aia, url, &pending, why,
			    sizeof(why));
		if (pending) {
			out->pending = REVOCATION_WAIT_AIA;
			snprintf(out->pending_url, sizeof(out->pending_url),
			    "%s", url);
			break;
		}
		if (got == NULL) {
			snprintf(res->detail + strlen(res->detail),
			    sizeof(res->detail) - strlen(res->detail),
			    "; caIssuers %.200s: %s", url, why);
			break;
		}
		if (extra == NULL)
			extra = got;
		else {
			for (i = 0; i < sk_X509_num(got); i++)
				if (sk_X509_push(extra, sk_X509_value(got, i)))
					X509_up_ref(sk_X509_value(got, i));
			sk_X509_pop_free(got, X509_free);
		}
		memcpy(used[nused++], url, strlen(url) + 1);
		chain_result_cleanup(res);
		if (chain_verify_extra(snap->chain, x, extra, at,
		    snap->cfg.purpose, flags | CHAIN_WANT_CHAIN, res) != 0)
			res->status = CHAIN_ERROR;
	}
	if (res->status == CHAIN_OK && nused > 0) {
		/* Worth keeping for the next start: it completed a chain. */
		for (i = 0; i < nused; i++)
			aia_keep(used[i]);
		res->fetched = 1;
		/*
		 * The leaf's issuer, fetched, as a fast start for the next
		 * leaves naming the same URL: one signature each, as for a
		 * configured intermediate.
		 */
		if (leaf_url && res->chain != NULL &&
		    sk_X509_num(res->chain) >= 3 &&
		    (fast = chain_fast_new(snap->chain,
		    sk_X509_value(res->chain, 1), extra)) != NULL)
			aia_fast_set(used[0], snap->generation, fast);
	}
	sk_X509_pop_free(extra, X509_free);
}

/*
 * A leaf whose issuer was fetched and verified before, under this
 * snapshot: verified at it, one signature.  1 with res filled, else 0.
 */
static int
verdict_aia_fast(const struct snapshot *snap, X509 *x, time_t at, int flags,
    struct chain_result *res)
{
	struct chain_result	 alt;
	struct aia_fast		*af;
	char			 url[FETCH_URL_MAX];
	int			 ok;

	if (!aia_url(x, url, sizeof(url)) ||
	    !aia_allowed(snap->aia.allow, url) ||
	    (af = aia_fast_get(url, snap->generation)) == NULL)
		return 0;
	ok = chain_verify_via(snap->chain, aia_fast_chain(af), x, at,
	    snap->cfg.purpose, flags, &alt);
	aia_fast_release(af);
	if (!ok)
		return 0;
	chain_result_cleanup(res);
	*res = alt;
	res->fetched = 1;
	return 1;
}

/*
 * Until when a decision about the certificate holds, whoever asks again
 * (X-Accel-Expires): an allow until its chain leaves its validity or a
 * revocation source it used is due for refresh (res.valid_until); a
 * revoked certificate stays revoked; a chain refused for what it is stays
 * refused under the same configuration; a certificate not yet valid until
 * it is.  0: not reusable (an answer that depends on the moment: a
 * revocation source that did not answer, an issuer still to be fetched).
 */
static time_t
verdict_holds_until(const struct snapshot *snap, const struct verdict *out,
    const struct chain_result *res)
{
	const time_t	 forever = (time_t)1 << 62;

	if (out->pending || out->revocation == REVOCATION_UNCHECKED)
		return 0;
	switch (out->reason) {
	case VERDICT_OK:
		return res->valid_until;
	case VERDICT_REVOKED:
		return out->id.not_after;
	case VERDICT_UNTRUSTED:
		/* ca_issuers_fetch: a later fetch may complete the chain */
		return snap->aia.on && chain_missing_issuer(res) ? 0 : forever;
	case VERDICT_EXPIRED:
	case VERDICT_WRONG_PURPOSE:
	case VERDICT_POLICY_NOT_ACCEPTED:
		return forever;
	case VERDICT_NOT_YET_VALID:
		return out->id.not_before;
	default:
		return 0;
	}
}

int
verdict_scope_ok(const struct snapshot *snap, const struct verdict_input *in,
    const struct verdict *v)
{
	switch (in->cache_scope) {
	case VERDICT_SCOPE_REQUEST:
		return 1;
	case VERDICT_SCOPE_CLIENT:
		/* Only the policy reads the request, and only if it says so. */
		return !v->policy_applied ||
		    policy_ruleset_reads(snap->policy, in->ruleset) == 0;
	default:
		return 0;
	}
}

long
verdict_reuse_seconds(const struct snapshot *snap,
    const struct verdict_input *in, const struct verdict *v, time_t now)
{
	long long	 secs, max, day;
	long		 rs;

	if (snap == NULL || v->pending || v->reuse_until <= now ||
	    v->revocation == REVOCATION_UNCHECKED)
		return 0;
	switch (v->reason) {
	case VERDICT_OK:
	case VERDICT_REVOKED:
	case VERDICT_UNTRUSTED:
	case VERDICT_EXPIRED:
	case VERDICT_NOT_YET_VALID:
	case VERDICT_WRONG_PURPOSE:
	case VERDICT_POLICY_NOT_ACCEPTED:
	case VERDICT_NO_MATCHING_RULE:
		break;
	case VERDICT_POLICY_DENY:
		/* a rule that could not be evaluated is asked again */
		if (v->policy_error)
			return 0;
		break;
	default:
		return 0;
	}
	if (!verdict_scope_ok(snap, in, v))
		return 0;
	max = (long long)snap->cfg.decision_max_age;
	if (v->policy_applied && (rs = policy_decision_max_age(snap->policy,
	    in->ruleset)) >= 0 && rs < max)
		max = rs;
	secs = (long long)v->reuse_until - (long long)now;
	if (secs > max)
		secs = max;
	/* days_left, which rules may read, changes at the day's turn */
	if (v->policy_applied && v->id.not_after > now) {
		day = ((long long)v->id.not_after - (long long)now) % 86400 + 1;
		if (secs > day)
			secs = day;
	}
	return secs > 0 ? (long)secs : 0;
}

/*
 * A chain verified by an earlier run (verified.h): the identity and the
 * fields from its record into out and verdict_blob (*bloblen), res as a
 * verified chain until the record says.  Only when revocation needs it,
 * the chain is rebuilt from the snapshot's certificates (res->chain) with
 * the leaf as the record has it, never parsed: for CRLs alone its facts
 * (*leaf, and the chain's leaf NULL), for OCSP a certificate made of them
 * (verified_leaf, *xp; else NULL).  Returns 1, or 0 to verify afresh.
 */
static int
verdict_restore(const struct snapshot *snap, const unsigned char *md,
    time_t now, X509 **xp, struct crl_leaf *leaf, struct chain_result *res,
    struct verdict *out, size_t *bloblen)
{
	struct verified		 v;
	X509			*x = NULL, *issuer;

	if (!snap->verified_ok || !verified_get(snap->verified_digest, md, now,
	    &v, verdict_blob, sizeof(verdict_blob)))
		return 0;
	if (snap->policy != NULL && v.blob == NULL)
		return 0;		/* kept before a policy read fields */
	if (snap->crl != NULL || snap->cfg.ocsp_mode != 0) {
		if (v.nissuers == 0 || (issuer = chain_store_find(snap->chain,
		    v.issuer_sha1[0])) == NULL ||
		    (snap->cfg.ocsp_mode != 0 &&
		    (x = verified_leaf(&v, issuer)) == NULL) ||
		    (res->chain = verified_chain(&v, x, snap->chain)) == NULL) {
			ERR_clear_error();
			X509_free(x);
			return 0;
		}
		leaf->serial_der = v.serial_der;
		leaf->serial_len = v.serial_len;
		leaf->cdp_der = v.cdp_der;
		leaf->cdp_len = v.cdp_len;
		leaf->ca = v.leaf_ca;
		leaf->subject = out->id.subject;
	}
	out->id = v.id;
	out->has_identity = 1;
	res->status = CHAIN_OK;
	res->error_depth = -1;
	res->valid_until = v.chain_until;
	*bloblen = v.bloblen;
	*xp = x;
	return 1;
}

/*
 * A CA of the chain is revoked and verdict_avoid_revoked will look for
 * another path: that verifies the leaf, so a restored chain's leaf (the
 * record's, verified_leaf) is replaced by the certificate itself.  0 when
 * it cannot be parsed: the revoked answer stands.
 */
static int
verdict_real_leaf(const unsigned char *der, size_t derlen, int restored,
    X509 **x)
{
	const unsigned char	*p = der;
	X509			*leaf;

	if (!restored)
		return 1;
	if ((leaf = d2i_X509(NULL, &p, (long)derlen)) == NULL ||
	    p != der + derlen) {
		ERR_clear_error();
		X509_free(leaf);
		return 0;
	}
	X509_free(*x);
	*x = leaf;
	return 1;
}

static void
verdict_run(const struct snapshot *snap, struct cache *cache,
    const struct verdict_input *in, time_t at, struct verdict *out,
    STACK_OF(X509) **chainp, struct verdict_hold *hold)
{
	unsigned char			*der = verdict_der, md[IDENTITY_SHA256_LEN];
	const unsigned char		*p;
	struct chain_result		 res;
	struct identity_fields		*f = NULL;
	enum request_cert_status	 st;
	const char			*why = "";
	X509				*x = NULL;
	size_t				 derlen = 0, bloblen = 0;
	time_t				 now, expires, chain_until = 0;
	struct cache_gen		 gen;
	struct chain_pcy_result		 pcy;
	size_t				 i;
	int				 use_cache, loaded = 0, pcy_done = 0;
	int				 restored = 0;
	struct crl_leaf			 kept, *keptp = NULL;
	int				 flags = CHAIN_WANT_CHAIN;
	int				 rdepth;

	verdict_init(out);
	memset(&res, 0, sizeof(res));
	now = at != 0 ? at : time(NULL);
	use_cache = at == 0 && chainp == NULL;

	if (snap == NULL || snap->chain == NULL) {
		verdict_set(out, VERDICT_INTERNAL_ERROR, "no trust configuration loaded");
		goto end;
	}
	if (verdict_nginx_says_none(in) || in->cert == NULL) {
		verdict_set(out, VERDICT_NO_CERTIFICATE, "no client certificate was sent");
		goto end;
	}
	st = in->cert_is_pem ?
	    request_pem_decode(in->cert, in->cert_len, der, &derlen, &why) :
	    request_cert_decode(in->cert, in->cert_len, der, &derlen, &why);
	if (st == REQUEST_CERT_ABSENT) {
		verdict_set(out, VERDICT_NO_CERTIFICATE, "no client certificate was sent");
		goto end;
	}
	if (st != REQUEST_CERT_OK) {
		verdict_set(out, VERDICT_MALFORMED, why);
		goto end;
	}
	if (identity_sha256(der, derlen, md) != 0) {
		verdict_set(out, VERDICT_INTERNAL_ERROR, "SHA-256 failed");
		goto end;
	}
	gen.snapshot = snap->generation;
	gen.crl_fetch = crl_fetch_generation();
	gen.ocsp = ocsp_generation();
	if (use_cache && cache_lookup_blob(cache, md, &gen, now,
	    out, verdict_blob, sizeof(verdict_blob), &bloblen)) {

		if (out->reason != VERDICT_OK || snap->policy == NULL)
			goto end;
		f = &verdict_fields;
		if (bloblen > 0 && identity_fields_unpack(verdict_blob, bloblen,
		    f) == 0) {
			verdict_policy(snap, in, f, now, out);
			goto end;
		}
		/* Cached without fields (policy added since): decide afresh. */
		verdict_init(out);
		f = NULL;
	}

	if (verdict_hold_take(hold, snap, md, now, &x, &res, &chain_until)) {
		/* Parsed and verified by this request's first pass. */
		if (identity_extract(x, md, &out->id) != 0) {
			verdict_set(out, VERDICT_MALFORMED,
			    "unreadable validity dates");
			goto end;
		}
		out->has_identity = 1;
		goto verified;
	}
	if (use_cache && verdict_restore(snap, md, now, &x, &kept, &res, out,
	    &bloblen)) {
		/* Verified by an earlier run: no signature check. */
		restored = 1;
		if (x == NULL && res.chain != NULL)
			keptp = &kept;	/* CRLs read the record's leaf */
		chain_until = res.valid_until;
		goto verified;
	}
	p = der;
	if ((x = d2i_X509(NULL, &p, (long)derlen)) == NULL ||
	    p != der + derlen) {
		ERR_clear_error();
		identity_hex(md, out->id.fingerprint);
		verdict_set(out, VERDICT_MALFORMED, x == NULL ?
		    "not a valid X.509 certificate" :
		    "data after the certificate");
		goto end;
	}
	if (identity_extract(x, md, &out->id) != 0) {
		verdict_set(out, VERDICT_MALFORMED, "unreadable validity dates");
		goto end;
	}
	out->has_identity = 1;
	flags = chainp != NULL ? CHAIN_WANT_CHAIN : snap->crl != NULL ||
	    snap->cfg.ocsp_mode != 0 || verdict_pcy_needed(snap) ||
	    snap->aia.on ? CHAIN_FAST | CHAIN_WANT_CHAIN : CHAIN_FAST;
	if (chain_verify(snap->chain, x, at, snap->cfg.purpose, flags,
	    &res) != 0)
		res.status = CHAIN_ERROR;
	if (snap->aia.on && chain_missing_issuer(&res) &&
	    !verdict_aia_fast(snap, x, at, flags, &res))
		verdict_aia(snap, x, at, flags, &res, out);
	chain_until = res.valid_until;
verified:
	out->reason = verdict_of_chain(res.status);
	if (out->pending == REVOCATION_WAIT_AIA) {
		/* Waiting for an issuer: decided again once it is here. */
		verdict_set(out, VERDICT_UNTRUSTED, "waiting for the issuer "
		    "from its caIssuers URL");
		goto end;
	}
	if (restored)
		snprintf(out->detail, sizeof(out->detail), "chain verified "
		    "before (kept in data_dir), not checked again");
	else if (res.status == CHAIN_OK && res.fetched)
		snprintf(out->detail, sizeof(out->detail), "chain verified "
		    "with an issuer fetched from its caIssuers URL");
	else if (res.status == CHAIN_OK && res.alternative > 0)
		snprintf(out->detail, sizeof(out->detail), "chain verified "
		    "along candidate path %d (the first path built failed)",
		    res.alternative);
	else
		snprintf(out->detail, sizeof(out->detail), "%s",
		    res.status == CHAIN_OK ? (res.fast ? "chain verified "
		    "(issuer verified at load)" : "chain verified") :
		    res.detail);
	/* A kept chain passed the global settings it was kept under. */
	if (out->reason == VERDICT_OK && !restored &&
	    chain_policy_set(&snap->cfg.pcy)) {
		/* The global certificate policy settings: part of the chain. */
		chain_policy(res.chain, &snap->cfg.pcy, NULL, &pcy);
		pcy_done = 1;
		if (pcy.status != CHAIN_PCY_OK) {
			out->reason = pcy.status == CHAIN_PCY_ERROR ?
			    VERDICT_INTERNAL_ERROR : VERDICT_POLICY_NOT_ACCEPTED;
			verdict_pcy_detail(out->detail, sizeof(out->detail),
			    &pcy, NULL);
		}
	}
	if (out->reason == VERDICT_OK && (rdepth = verdict_revocation(snap, in,
	    keptp, &res, now, out)) > 0 &&
	    verdict_real_leaf(der, derlen, restored, &x)) {
		verdict_avoid_revoked(snap, in, x, at, now, flags, rdepth, &res,
		    out);
		chain_until = res.valid_until;
	}
	if (restored && out->reason == VERDICT_OK && snap->policy != NULL) {
		/* The fields (and certificate policy verdicts) kept with it. */
		f = &verdict_fields;
		if (identity_fields_unpack(verdict_blob, bloblen, f) != 0) {
			verdict_set(out, VERDICT_INTERNAL_ERROR,
			    "a kept chain's fields are unreadable");
			goto end;
		}
	} else if (!restored)
		bloblen = 0;
	if (!restored && out->reason == VERDICT_OK && snap->policy != NULL) {
		f = &verdict_fields;
		if (identity_fields_load(x, md, now, f) != 0) {
			identity_fields_cleanup(f);
			verdict_set(out, VERDICT_INTERNAL_ERROR,
			    "cannot read the certificate's fields");
			goto end;
		}
		loaded = 1;
		if (verdict_pcy_needed(snap)) {
			/* What the policy sees of the chain's policies. */
			if (!pcy_done)
				chain_policy(res.chain, &snap->cfg.pcy, NULL,
				    &pcy);
			if (pcy.status != CHAIN_PCY_OK) {
				identity_fields_cleanup(f);
				verdict_set(out, VERDICT_INTERNAL_ERROR,
				    "certificate policy processing failed");
				goto end;
			}
			for (i = 0; i < pcy.nset; i++)
				identity_fields_add_policy(f, pcy.set[i]);
			if (pcy.truncated)
				f->truncated = 1;
			f->pcy_reject = verdict_pcy_rejects(snap, snap->policy,
			    res.chain);
			f->pcy_reject_shadow = verdict_pcy_rejects(snap,
			    snap->shadow, res.chain);
		}
		bloblen = identity_fields_pack(f, verdict_blob,
		    sizeof(verdict_blob));
	}
	if (chainp != NULL) {
		*chainp = res.chain;
		res.chain = NULL;
	}
	out->reuse_until = verdict_holds_until(snap, out, &res);
	/*
	 * Not cached: internal errors, and revocation-unknown, which must be
	 * asked again as soon as the fetch back-off allows.
	 */
	if (use_cache && out->reason != VERDICT_INTERNAL_ERROR &&
	    out->reason != VERDICT_REVOCATION_UNKNOWN &&
	    !out->pending && out->revocation != REVOCATION_UNCHECKED &&
	    (f == NULL || bloblen > 0)) {
		expires = now + snap->cfg.cache_ttl;
		if (out->reason == VERDICT_OK) {
			if (res.valid_until < expires)
				expires = res.valid_until + 1;
		} else if (now + VERDICT_DENY_TTL < expires)
			expires = now + VERDICT_DENY_TTL;
		if (expires > now)
			cache_store_blob(cache, md, &gen, expires, out,
			    verdict_blob, bloblen);
	}
	/* Kept across restarts: a chain of the trust store's own that verified. */
	if (use_cache && !restored && out->reason == VERDICT_OK &&
	    snap->verified_ok && !res.fetched &&
	    (snap->policy == NULL || bloblen > 0))
		verified_put(snap->verified_digest, md, &out->id, chain_until,
		    x, res.chain, f != NULL ? verdict_blob : NULL, bloblen);
	if (f != NULL && out->reason == VERDICT_OK)
		verdict_policy(snap, in, f, now, out);
end:
	if (loaded)
		identity_fields_cleanup(f);
	if (hold != NULL && out->pending && x != NULL && res.chain != NULL &&
	    res.status == CHAIN_OK && !restored) {
		/*
		 * The next pass, after the wait, starts from here (a restored
		 * chain's leaf is the record's: that pass restores it again).
		 */
		verdict_hold_cleanup(hold);
		hold->x = x;
		hold->res = res;
		hold->chain_until = chain_until;
		hold->generation = snap->generation;
		memcpy(hold->md, md, sizeof(hold->md));
		return;
	}
	if (hold != NULL)
		verdict_hold_cleanup(hold);
	chain_result_cleanup(&res);
	X509_free(x);
}

void
verdict_decide(const struct snapshot *snap, struct cache *cache,
    const struct verdict_input *in, time_t at, struct verdict *out,
    STACK_OF(X509) **chainp)
{
	verdict_run(snap, cache, in, at, out, chainp, NULL);
	out->reuse = verdict_reuse_seconds(snap, in, out, at != 0 ? at :
	    time(NULL));
}

void
verdict_decide_held(const struct snapshot *snap, struct cache *cache,
    const struct verdict_input *in, struct verdict *out,
    struct verdict_hold *hold)
{
	verdict_run(snap, cache, in, 0, out, NULL, hold);
	out->reuse = verdict_reuse_seconds(snap, in, out, time(NULL));
}
