/*
 * policy_eval.c: one decision over a compiled policy.
 *
 * Read-only on the policy, so any number of threads share one.  Nothing
 * is allocated per request: regex matches use one pcre2 match data per
 * thread, made on the thread's first match and freed when it exits.
 * What a request learns of the rule set's prefilters is kept in its
 * struct eval, on the stack.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define POLICY_INTERNAL
#include "identity.h"
#include "policy.h"
#include "store.h"

#define RULESET_DEFAULT	 "default"

static pthread_key_t	 eval_key;
static pthread_once_t	 eval_once = PTHREAD_ONCE_INIT;
static int		 eval_key_ok;

static void
eval_md_free(void *md)
{
	pcre2_match_data_free(md);
}

static void
eval_key_init(void)
{
	eval_key_ok = pthread_key_create(&eval_key, eval_md_free) == 0;
}

/*
 * This thread's match data.  One ovector pair is enough: rules ask
 * whether a value matches, never what.  Also keeps pcre2's heap frames
 * between matches.
 */
static pcre2_match_data *
eval_match_data(void)
{
	pcre2_match_data	*md;

	pthread_once(&eval_once, eval_key_init);
	if (!eval_key_ok)
		return NULL;
	if ((md = pthread_getspecific(eval_key)) == NULL) {
		if ((md = pcre2_match_data_create(1, NULL)) == NULL)
			return NULL;
		if (pthread_setspecific(eval_key, md) != 0) {
			pcre2_match_data_free(md);
			return NULL;
		}
	}
	return md;
}

int
policy_hex_norm(const char *s, size_t len, char out[POLICY_HEX_MAX])
{
	size_t	 i = 0, o = 0, digits = 0;
	int	 c, lead = 1;

	if (len > 0 && s[0] == '-')
		out[o++] = s[i++];
	for (; i < len; i++) {
		c = (unsigned char)s[i];
		if (c == ':')
			continue;
		if (c >= 'A' && c <= 'F')
			c += 'a' - 'A';
		else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return -1;
		if (++digits > POLICY_HEX_MAX - 2)
			return -1;
		if (lead && c == '0')
			continue;
		lead = 0;
		out[o++] = (char)c;
	}
	if (digits == 0)
		return -1;
	if (lead)			/* all zeros */
		out[o++] = '0';
	out[o] = '\0';
	return (int)o;
}

/* FNV-1a: list entries are hex chosen by the policy author, not clients. */
size_t
policy_list_hash(const char *norm)
{
	unsigned long long	 h = 1469598103934665603ULL;

	for (; *norm != '\0'; norm++) {
		h ^= (unsigned char)*norm;
		h *= 1099511628211ULL;
	}
	return (size_t)h;
}

/*
 * The one place lists are read: the LMDB set when the policy was loaded
 * with a store (authd serve), else the in-memory hash set (policy check,
 * authd check).  Returns 1, 0, or a negative authd_err.
 */
int
policy_list_lookup(const struct policy_list *l, const char *norm)
{
	size_t	 h, mask;

	if (l->store != NULL)
		return store_set_contains(l->store, l->set, norm, strlen(norm));

	if (l->nslots == 0)
		return 0;
	mask = l->nslots - 1;
	for (h = policy_list_hash(norm) & mask; l->slots[h] != 0;
	    h = (h + 1) & mask)
		if (strcmp(l->arena + l->slots[h] - 1, norm) == 0)
			return 1;
	return 0;
}

/* The values of a field: a string array, attributes of a type, or one. */
struct vals {
	const char *const		*v;
	size_t				 n;
	const struct policy_attr	*a;
	const char			*type;
	const char			*one;
};

static void
field_vals(enum policy_field f, const char *attr,
    const struct policy_identity *id, const struct policy_request *rq,
    struct vals *out)
{
	memset(out, 0, sizeof(*out));
	switch (f) {
	case PF_SUBJECT: out->one = id->subject; break;
	case PF_ISSUER: out->one = id->issuer; break;
	case PF_SERIAL: out->one = id->serial; break;
	case PF_FINGERPRINT: out->one = id->fingerprint; break;
	case PF_SUBJECT_ATTR:
		out->a = id->subject_attrs;
		out->n = id->nsubject_attrs;
		out->type = attr;
		break;
	case PF_ISSUER_ATTR:
		out->a = id->issuer_attrs;
		out->n = id->nissuer_attrs;
		out->type = attr;
		break;
	case PF_SAN_DNS: out->v = id->san_dns; out->n = id->nsan_dns; break;
	case PF_SAN_EMAIL:
		out->v = id->san_email;
		out->n = id->nsan_email;
		break;
	case PF_SAN_URI: out->v = id->san_uri; out->n = id->nsan_uri; break;
	case PF_SAN_IP: out->v = id->san_ip; out->n = id->nsan_ip; break;
	case PF_SAN_UPN: out->v = id->san_upn; out->n = id->nsan_upn; break;
	case PF_SAN_FASCN:
		out->v = id->san_fascn;
		out->n = id->nsan_fascn;
		break;
	case PF_SAN_UUID: out->v = id->san_uuid; out->n = id->nsan_uuid; break;
	case PF_EKU: out->v = id->eku; out->n = id->neku; break;
	case PF_POLICY_OID:
		out->v = id->policy_oids;
		out->n = id->npolicy_oids;
		break;
	case PF_POLICY: out->v = id->policies; out->n = id->npolicies; break;
	case PF_METHOD: out->one = rq != NULL ? rq->method : NULL; break;
	case PF_PATH: out->one = rq != NULL ? rq->path : NULL; break;
	case PF_HOST: out->one = rq != NULL ? rq->host : NULL; break;
	case PF_DAYS_LEFT: break;
	}
	if (out->v == NULL && out->a == NULL)
		out->n = 0;
}

/* Value i of vals, or NULL when it has no more. */
static const char *
vals_get(const struct vals *vs, size_t *i)
{
	const char	*v;

	if (vs->one != NULL)
		return (*i)++ == 0 ? vs->one : NULL;
	while (*i < vs->n) {
		if (vs->a != NULL) {
			v = vs->a[*i].type != NULL &&
			    strcmp(vs->a[*i].type, vs->type) == 0 ?
			    vs->a[*i].value : NULL;
		} else
			v = vs->v[*i];
		(*i)++;
		if (v != NULL)
			return v;
	}
	return NULL;
}

/* DNS names and hosts compare without regard to case. */
static int
field_nocase(enum policy_field f)
{
	return f == PF_HOST || f == PF_SAN_DNS;
}

/* What one evaluation knows of a prefilter (policy.h). */
enum pf_state { PFS_UNKNOWN = 0, PFS_NONE, PFS_RUN };

/*
 * One evaluation: the policy stays read-only, what this request learns
 * lives here, on the evaluating thread's stack.
 */
struct eval {
	const struct policy		*p;
	const struct policy_identity	*id;
	const struct policy_request	*rq;
	int				 err;		/* undecidable */
	size_t				 nmatches;
	unsigned char			 pf[POLICY_MAX_PREFILTERS];
};

/*
 * One value against one comparison.  A comparison that cannot be decided
 * (a regex past its limits, a list that cannot be read) sets ev->err: the
 * request is then denied, whatever the rule says (fail closed).
 */
static int
test_one(struct eval *ev, const struct policy_node *n, const char *v)
{
	const struct policy	*p = ev->p;
	pcre2_match_data	*md;
	char			 norm[POLICY_HEX_MAX];
	int			 rc;

	switch (n->op) {
	case PO_EQ:
	case PO_NE:
		if (n->field == PF_SERIAL || n->field == PF_FINGERPRINT)
			return policy_hex_norm(v, strlen(v), norm) >= 0 &&
			    strcmp(norm, n->str) == 0;
		return field_nocase(n->field) ? strcasecmp(v, n->str) == 0 :
		    strcmp(v, n->str) == 0;
	case PO_PREFIX:
		return field_nocase(n->field) ?
		    strncasecmp(v, n->str, n->len) == 0 :
		    strncmp(v, n->str, n->len) == 0;
	case PO_IN:
		if (policy_hex_norm(v, strlen(v), norm) < 0)
			return 0;
		if ((rc = policy_list_lookup(n->list, norm)) < 0)
			ev->err = 1;
		return rc == 1;
	case PO_MATCH:
		if ((md = eval_match_data()) == NULL) {
			atomic_fetch_add_explicit(p->match_errors, 1,
			    memory_order_relaxed);
			ev->err = 1;
			return 0;
		}
		ev->nmatches++;
		rc = pcre2_match(n->re, (PCRE2_SPTR)v, strlen(v), 0, 0, md,
		    p->mctx);
		if (rc >= 0)
			return 1;
		if (rc != PCRE2_ERROR_NOMATCH) {
			atomic_fetch_add_explicit(p->match_errors, 1,
			    memory_order_relaxed);
			ev->err = 1;
		}
		return 0;
	default:
		return 0;
	}
}

static int
test_days(const struct policy_node *n, long d)
{
	switch (n->op) {
	case PO_EQ: return d == n->num;
	case PO_NE: return d != n->num;
	case PO_LT: return d < n->num;
	case PO_LE: return d <= n->num;
	case PO_GT: return d > n->num;
	case PO_GE: return d >= n->num;
	default: return 0;
	}
}

/*
 * Whether regex n is false by its prefilter: the prefilter matched none
 * of the field's values.  Matched once per evaluation, when a member is
 * first reached.  A match or a failure (a limit) leaves every member to
 * its own regex, which then reports any error as it would alone.
 */
static int
prefilter_none(struct eval *ev, const struct policy_node *n)
{
	const struct policy_prefilter	*pf = n->pf;
	pcre2_match_data		*md;
	struct vals			 vs;
	const char			*v;
	size_t				 i = 0;
	int				 rc = PCRE2_ERROR_NOMATCH;

	if (ev->pf[pf->i] != PFS_UNKNOWN)
		return ev->pf[pf->i] == PFS_NONE;
	if ((md = eval_match_data()) == NULL) {
		ev->pf[pf->i] = PFS_RUN;
		return 0;
	}
	field_vals(n->field, n->attr, ev->id, ev->rq, &vs);
	while (rc == PCRE2_ERROR_NOMATCH && (v = vals_get(&vs, &i)) != NULL) {
		ev->nmatches++;
		rc = pcre2_match(pf->re, (PCRE2_SPTR)v, strlen(v), 0, 0, md,
		    ev->p->mctx);
	}
	ev->pf[pf->i] = rc == PCRE2_ERROR_NOMATCH ? PFS_NONE : PFS_RUN;
	return ev->pf[pf->i] == PFS_NONE;
}

/*
 * A comparison over a multi-valued field holds if any value matches;
 * != holds if no value equals (so a field without values is != anything).
 */
static int
test_eval(struct eval *ev, const struct policy_node *n)
{
	struct vals	 vs;
	const char	*v;
	size_t		 i = 0;

	if (n->field == PF_DAYS_LEFT)
		return test_days(n, ev->id->days_left);
	if (n->pf != NULL && prefilter_none(ev, n))
		return 0;				/* n->op is ~ */
	field_vals(n->field, n->attr, ev->id, ev->rq, &vs);
	while ((v = vals_get(&vs, &i)) != NULL)
		if (test_one(ev, n, v))
			return n->op != PO_NE;
	return n->op == PO_NE;
}

/* Recursion is bounded by POLICY_MAX_DEPTH: and/or are n-ary. */
static int
node_eval(struct eval *ev, const struct policy_node *n)
{
	size_t	 i;

	switch (n->kind) {
	case PN_TRUE:
		return 1;
	case PN_TEST:
		return test_eval(ev, n);
	case PN_NOT:
		return !node_eval(ev, n->kids[0]);
	case PN_AND:
		for (i = 0; i < n->nkids; i++)
			if (!node_eval(ev, n->kids[i]))
				return 0;
		return 1;
	case PN_OR:
		for (i = 0; i < n->nkids; i++)
			if (node_eval(ev, n->kids[i]))
				return 1;
		return 0;
	}
	return 0;
}

static const struct policy_ruleset *
ruleset_get(const struct policy *p, const char *name)
{
	size_t	 i;

	if (name == NULL || name[0] == '\0')
		name = RULESET_DEFAULT;
	for (i = 0; i < p->nrulesets; i++)
		if (strcmp(p->rulesets[i].name, name) == 0)
			return &p->rulesets[i];
	return NULL;
}

int
policy_has_ruleset(const struct policy *p, const char *name)
{
	return ruleset_get(p, name) != NULL;
}

int
policy_ocsp_failure(const struct policy *p, const char *ruleset)
{
	const struct policy_ruleset	*rs;

	if (p == NULL || (rs = ruleset_get(p, ruleset)) == NULL ||
	    rs->ocsp_failure == 0)
		return -1;
	return rs->ocsp_failure == 2;
}

long
policy_decision_max_age(const struct policy *p, const char *ruleset)
{
	const struct policy_ruleset	*rs;

	if (p == NULL || (rs = ruleset_get(p, ruleset)) == NULL)
		return -1;
	return rs->max_age;
}

unsigned
policy_ruleset_reads(const struct policy *p, const char *ruleset)
{
	const struct policy_ruleset	*rs;

	if (p == NULL || (rs = ruleset_get(p, ruleset)) == NULL)
		return 0;
	return rs->reads;
}

const char *
policy_ruleset_name(const struct policy *p, size_t i)
{
	return p != NULL && i < p->nrulesets ? p->rulesets[i].name : NULL;
}

size_t
policy_pcy_count(const struct policy *p)
{
	return p != NULL ? p->npcy : 0;
}

const struct policy_pcy *
policy_pcy_at(const struct policy *p, size_t i)
{
	return p != NULL && i < p->npcy ? p->pcy[i]->pcy : NULL;
}

const char *
policy_pcy_name(const struct policy *p, size_t i)
{
	return p != NULL && i < p->npcy ? p->pcy[i]->name : NULL;
}

int
policy_pcy_index(const struct policy *p, const char *ruleset)
{
	const struct policy_ruleset	*rs;

	if (p == NULL || (rs = ruleset_get(p, ruleset)) == NULL)
		return -1;
	return rs->pcy_index;
}

int
policy_pcy_used(const struct policy *p)
{
	return p != NULL && p->pcy_used;
}

/* The first value of a field for a set header; 0 when it has none. */
static int
set_value(const struct policy_set *s, const struct policy_identity *id,
    const struct policy_request *rq, char *out, size_t len)
{
	struct vals	 vs;
	const char	*v;
	char		 num[32];
	size_t		 i = 0;

	if (s->field == PF_DAYS_LEFT) {
		snprintf(num, sizeof(num), "%ld", id->days_left);
		v = num;
	} else {
		field_vals(s->field, s->attr, id, rq, &vs);
		if ((v = vals_get(&vs, &i)) == NULL)
			return 0;
	}
	identity_sanitize(out, len, v, strlen(v));
	return 1;
}

void
policy_eval(const struct policy *p, const char *ruleset,
    const struct policy_identity *id, const struct policy_request *rq,
    struct policy_decision *out)
{
	const struct policy_ruleset	*rs;
	const struct policy_rule	*r;
	struct eval			 ev;
	size_t				 i, j;
	int				 match;

	out->allow = 0;
	out->outcome = POLICY_NO_RULESET;
	out->reason = "policy-deny";
	out->file = NULL;
	out->line = 0;
	out->nmatches = 0;
	out->nheaders = 0;
	if ((rs = ruleset_get(p, ruleset)) == NULL)
		return;
	out->outcome = POLICY_NO_MATCH;
	out->reason = "no-matching-rule";
	ev.p = p;
	ev.id = id;
	ev.rq = rq;
	ev.nmatches = 0;
	memset(ev.pf, PFS_UNKNOWN, rs->npf);
	for (i = 0; i < rs->nrules; i++) {
		r = &rs->rules[i];
		ev.err = 0;
		match = node_eval(&ev, r->cond);
		out->nmatches = ev.nmatches;
		if (ev.err) {
			/* Undecidable: deny, naming the rule. */
			out->outcome = POLICY_UNDECIDABLE;
			out->reason = "policy-error";
			out->file = p->file;
			out->line = r->line;
			return;
		}
		if (!match)
			continue;
		out->allow = r->allow;
		out->outcome = r->allow ? POLICY_ALLOWED : POLICY_DENIED;
		out->reason = r->allow ? "ok" : r->reason != NULL ? r->reason :
		    "policy-deny";
		out->file = p->file;
		out->line = r->line;
		for (j = 0; j < r->nsets; j++) {
			out->headers[out->nheaders].name = r->sets[j].name;
			if (set_value(&r->sets[j], id, rq,
			    out->headers[out->nheaders].value,
			    sizeof(out->headers[0].value)))
				out->nheaders++;
		}
		return;
	}
}

size_t
policy_rulesets(const struct policy *p)
{
	return p->nrulesets;
}

size_t
policy_rules(const struct policy *p)
{
	size_t	 i, n = 0;

	for (i = 0; i < p->nrulesets; i++)
		n += p->rulesets[i].nrules;
	return n;
}

size_t
policy_lists(const struct policy *p)
{
	return p->nlists;
}

const char *
policy_list_path(const struct policy *p, size_t i)
{
	return i < p->nlists ? p->lists[i].path : NULL;
}

const char *
policy_list_setname(const struct policy *p, size_t i)
{
	return i < p->nlists && p->lists[i].store != NULL ?
	    p->lists[i].setname : NULL;
}

size_t
policy_list_entries(const struct policy *p)
{
	size_t	 i, n = 0;

	for (i = 0; i < p->nlists; i++)
		n += p->lists[i].n;
	return n;
}

static void
prefilter_detach(struct policy_node *n)
{
	size_t	 i;

	n->pf = NULL;
	for (i = 0; i < n->nkids; i++)
		prefilter_detach(n->kids[i]);
}

void
policy_prefilters_detach(struct policy *p)
{
	size_t	 i, j;

	for (i = 0; i < p->nrulesets; i++)
		for (j = 0; j < p->rulesets[i].nrules; j++)
			prefilter_detach(p->rulesets[i].rules[j].cond);
}

size_t
policy_prefilters(const struct policy *p, size_t *members)
{
	size_t	 i, j, n = 0;

	if (members != NULL)
		*members = 0;
	for (i = 0; i < p->nrulesets; i++) {
		n += p->rulesets[i].npf;
		for (j = 0; members != NULL && j < p->rulesets[i].npf; j++)
			*members += p->rulesets[i].pf[j].nmembers;
	}
	return n;
}

unsigned long
policy_match_errors(const struct policy *p)
{
	return atomic_load_explicit(p->match_errors, memory_order_relaxed);
}
