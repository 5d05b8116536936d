/*
 * verdict.h: the decision for one request, from header to answer.
 *
 * verdict_decide runs the request path of DESIGN.md section 3: decode,
 * verdict cache, chain, (revocation and policy in later versions), answer.
 * A deny is a verdict with a reason, never an error; anything that goes
 * wrong inside becomes internal-error, which denies.
 */
#ifndef AUTHD_VERDICT_H
#define AUTHD_VERDICT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "chain.h"
#include "identity.h"
#include "policy.h"
#include "revocation.h"

/* reason, the X-Authd-Reason text, the HTTP status nginx gets */
#define VERDICT_REASON_LIST(X)						\
	X(VERDICT_OK,			"ok",			200)	\
	X(VERDICT_NO_CERTIFICATE,	"no-certificate",	401)	\
	X(VERDICT_MALFORMED,		"malformed-certificate", 401)	\
	X(VERDICT_MALFORMED_REQUEST,	"malformed-request",	401)	\
	X(VERDICT_UNTRUSTED,		"untrusted",		401)	\
	X(VERDICT_EXPIRED,		"expired",		401)	\
	X(VERDICT_NOT_YET_VALID,	"not-yet-valid",	401)	\
	X(VERDICT_WRONG_PURPOSE,	"wrong-purpose",	401)	\
	X(VERDICT_POLICY_NOT_ACCEPTED,	"policy-not-accepted",	401)	\
	X(VERDICT_REVOKED,		"revoked",		401)	\
	X(VERDICT_REVOCATION_UNKNOWN,	"revocation-unknown",	401)	\
	X(VERDICT_CRL_EXPIRED,		"crl-expired",		401)	\
	X(VERDICT_INTERNAL_ERROR,	"internal-error",	401)	\
	X(VERDICT_NO_MATCHING_RULE,	"no-matching-rule",	403)	\
	X(VERDICT_POLICY_DENY,		"policy-deny",		403)

enum verdict_reason {
#define VERDICT_ENUM(name, str, status) name,
	VERDICT_REASON_LIST(VERDICT_ENUM)
#undef VERDICT_ENUM
	VERDICT_NREASONS
};

const char	*verdict_reason_str(enum verdict_reason r);
int		 verdict_reason_status(enum verdict_reason r);

struct snapshot;
struct cache;

struct request_headers;

/* What nginx sent; pointers borrowed for the call, need not be terminated. */
/*
 * The key nginx keeps authd's answer under, should it cache it
 * (X-Authd-Cache-Scope, set by contrib/nginx/authd.conf): per request (the
 * certificate, rule set, method, host and path: the default), per client
 * (the certificate and rule set only), or a value authd does not know.
 */
enum verdict_cache_scope {
	VERDICT_SCOPE_REQUEST = 0,
	VERDICT_SCOPE_CLIENT,
	VERDICT_SCOPE_UNKNOWN
};

struct verdict_input {
	const char	*cert;		/* X-SSL-Client-Cert, or NULL */
	size_t		 cert_len;
	int		 cert_is_pem;	/* a PEM file, not URL-escaped */
	const char	*client_verify;	/* X-SSL-Client-Verify, or NULL */
	const char	*uri, *method, *host, *ruleset;
	enum verdict_cache_scope cache_scope;
};

/*
 * The input of a request whose headers were collected by request_headers_add:
 * in is filled from h, or, when h refused the request, out is the verdict
 * (malformed-certificate or malformed-request) and 0 is returned.  Returns
 * 1 when in is ready for verdict_decide.
 */
struct verdict;
int	 verdict_input_headers(const struct request_headers *h,
	    struct verdict_input *in, struct verdict *out);

struct verdict {
	enum verdict_reason	 reason;
	int			 has_identity;	/* a certificate was parsed */
	int			 cached;	/* the chain verdict came from the cache */
	struct identity		 id;
	char			 detail[CHAIN_DETAIL_MAX];	/* why, for logs */
	enum revocation_source	 revocation;	/* X-Authd-Revocation */
	uint32_t		 rev_by;	/* sources that answered: VERDICT_REV_BY */
	time_t			 rev_time;	/* oldest thisUpdate of those answers, 0 none */
	/*
	 * How long nginx may reuse the answer (X-Accel-Expires): the decision
	 * holds until reuse_until (0: not at all; kept with cached verdicts),
	 * and reuse is the seconds given, bounded by decision_max_age and a
	 * rule set's own (verdict_reuse_seconds).
	 */
	time_t			 reuse_until;
	long			 reuse;
	/* revocation data is being fetched: wait for pending_url, decide again */
	int			 pending;	/* 0, REVOCATION_WAIT_CRL or _OCSP */
	char			 pending_url[1024];
	/*
	 * The policy's part, when one is configured and the chain is good:
	 * the deciding rule ("file:line", or "" when none matched), a deny
	 * rule's own reason (else ""), and an allow rule's set headers.
	 * Header names point into the snapshot's policy: use them before
	 * releasing the snapshot.
	 */
	int			 policy_applied;
	int			 policy_error;	/* a rule could not be evaluated */
	int			 unknown_ruleset;	/* asked for one it lacks */
	char			 rule[512];
	char			 reason_text[POLICY_REASON_MAX];
	struct policy_decision	 decision;
	/*
	 * For the audit log, when a policy read the certificate's fields: the
	 * first UPN, FASC-N (hex), card UUID and valid certificate policy,
	 * "" when none.
	 */
	char			 upn[256];
	char			 fascn[132];
	char			 uuid[40];
	char			 cert_policy[POLICY_OID_MAX];
	/* shadow policy: 1 when it would have decided otherwise */
	int			 shadow_differs;
	char			 shadow_rule[512];
	char			 shadow_reason[POLICY_REASON_MAX];
};

/* A verdict that denies for reason r without looking at anything. */
void		 verdict_deny(struct verdict *v, enum verdict_reason r,
		    const char *detail);

/* The X-Authd-Reason text: a deny rule's own reason, else the reason's. */
const char	*verdict_reason_text(const struct verdict *v);

/*
 * Decide.  at is the decision time (0: now; the cache is used only then).
 * cache may be NULL.  With chain != NULL the built chain is handed back
 * (caller frees with sk_X509_pop_free(chain, X509_free)) and the full path is taken.
 */
void	 verdict_decide(const struct snapshot *snap, struct cache *cache,
	    const struct verdict_input *in, time_t at, struct verdict *out,
	    STACK_OF(X509) **chain);

/*
 * What a request that waits for revocation data keeps between its passes:
 * the certificate as parsed and the chain as verified by the first pass,
 * so that the pass after the wait decides revocation and policy only.
 * Used only for the same certificate under the same snapshot generation,
 * and while every certificate of the chain is still in its validity;
 * otherwise the pass starts over.  Zeroed to begin with.
 */
struct verdict_hold {
	X509			*x;		/* NULL: nothing held */
	struct chain_result	 res;
	time_t			 chain_until;	/* res.valid_until of the chain alone */
	unsigned long		 generation;	/* the snapshot's */
	unsigned char		 md[IDENTITY_SHA256_LEN];
};

/*
 * verdict_decide at the current time, for a request that may wait: when
 * the verdict is pending, hold keeps the parsed chain for the next pass;
 * otherwise hold is emptied.
 */
void	 verdict_decide_held(const struct snapshot *snap, struct cache *cache,
	    const struct verdict_input *in, struct verdict *out,
	    struct verdict_hold *hold);
void	 verdict_hold_cleanup(struct verdict_hold *hold);

/*
 * Whether nginx's cache key for in (its cache_scope) holds everything v
 * was decided on: a per-client key does not hold the request, so it only
 * fits a decision no rule read the method, path or host for.  An unknown
 * scope fits nothing.
 */
int	 verdict_scope_ok(const struct snapshot *snap,
	    const struct verdict_input *in, const struct verdict *v);

/*
 * The seconds nginx may reuse v for in (X-Accel-Expires; verdict_decide
 * and verdict_decide_held set v->reuse with it): 0 for an answer that
 * depends on the moment (revocation unchecked or unknown, a fetch still
 * running, an internal error, a policy rule that could not be evaluated,
 * no or a malformed certificate), else until the decision stops holding
 * (reuse_until), at most decision_max_age and the rule set's own, and
 * with a policy at most until days_left changes; 0 too when the cache key
 * nginx uses leaves out something the decision read (verdict_scope_ok).
 */
long	 verdict_reuse_seconds(const struct snapshot *snap,
	    const struct verdict_input *in, const struct verdict *v,
	    time_t now);

#endif
