/*
 * explain.c: the human and machine readable account of one decision.
 *
 * OpenSSL stops at the first failure, in this order: build the chain to a
 * trust anchor, check purposes, then signatures and validity from the top
 * down.  The checks listed here follow that order, so a check after the
 * failing one is "not reached" rather than a guess.
 */
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "chain.h"
#include "crl.h"
#include "ocsp.h"
#include "explain.h"
#include "identity.h"

enum explain_step {
	STEP_PARSE,
	STEP_CHAIN,
	STEP_PURPOSE,
	STEP_VALIDITY,
	STEP_REVOCATION,
	STEP_POLICY,
	STEP_COUNT
};

static const char *const explain_step_names[STEP_COUNT] = {
	"parse", "chain", "purpose", "validity", "revocation", "policy",
};

struct explain_check {
	const char	*result;	/* ok, fail, not reached, skipped */
	char		 detail[CHAIN_DETAIL_MAX + 64];
};

void
explain_time(time_t t, char *buf, size_t len)
{
	struct tm	 tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "@%lld", (long long)t);
}

static const char *
explain_purpose(enum config_purpose p)
{
	switch (p) {
	case CONFIG_PURPOSE_CLIENT:
		return "client (clientAuth when the certificate has an EKU)";
	case CONFIG_PURPOSE_SERVER:
		return "server (serverAuth when the certificate has an EKU)";
	default:
		return "any (purpose not checked)";
	}
}

static void
explain_policy(const struct explain_ctx *ctx, const struct verdict *v,
    struct explain_check *c)
{
	const char	*rs = ctx->in->ruleset != NULL && ctx->in->ruleset[0] ?
			    ctx->in->ruleset : "default";

	if (!v->policy_applied) {
		c->result = "skipped";
		snprintf(c->detail, sizeof(c->detail), "no policy configured: "
		    "a valid certificate is allowed");
		return;
	}
	if (v->reason == VERDICT_OK)
		snprintf(c->detail, sizeof(c->detail), "rule set %s: allowed by "
		    "%s", rs, v->rule);
	else if (v->rule[0] != '\0')
		snprintf(c->detail, sizeof(c->detail), "rule set %s: denied by "
		    "%s (%s)", rs, v->rule, verdict_reason_text(v));
	else if (v->reason == VERDICT_NO_MATCHING_RULE)
		snprintf(c->detail, sizeof(c->detail), "rule set %s: no rule "
		    "matched (no-matching-rule)", rs);
	else
		snprintf(c->detail, sizeof(c->detail), "rule set %s: %s (%s)",
		    rs, verdict_reason_text(v), v->detail[0] ? v->detail :
		    "no such rule set");
}

/* Which step failed, from the reason. */
/* Which source answered for each certificate, for the revocation step. */
static void
explain_revocation(const struct explain_ctx *ctx, const struct verdict *v,
    char *buf, size_t len)
{
	static const char *const orders[] = { "crl,ocsp", "ocsp,crl", "crl",
	    "ocsp" };
	const struct config	*cfg = &ctx->snap->cfg;
	enum revocation_source	 by;
	size_t			 o;
	int			 depth;

	if (v->revocation == REVOCATION_UNCHECKED) {
		snprintf(buf, len, "NOT CHECKED: %s", v->detail);
		return;
	}
	o = (size_t)snprintf(buf, len, "not revoked; answered by");
	for (depth = 0; depth < REVOCATION_BY_DEPTHS && o < len; depth++) {
		if ((by = REVOCATION_BY(v->rev_by, depth)) == REVOCATION_NONE)
			break;
		o += (size_t)snprintf(buf + o, len - o, "%s depth %d %s",
		    depth ? "," : "", depth, by == REVOCATION_CRL ? "CRL" :
		    "OCSP");
	}
	if (o < len && v->rev_by == 0)
		o += (size_t)snprintf(buf + o, len - o, " nothing in scope "
		    "(crl_missing allow)");
	if (o < len && ctx->snap->crl != NULL && cfg->ocsp_mode != 0)
		snprintf(buf + o, len - o, " (revocation_order %s)",
		    orders[cfg->revocation_order & 3]);
}

static void
explain_checks(const struct explain_ctx *ctx, const struct verdict *v,
    STACK_OF(X509) *chain, struct explain_check *c)
{
	enum explain_step	 failed;
	int			 i, n = chain != NULL ? sk_X509_num(chain) : 0;

	switch (v->reason) {
	case VERDICT_OK:
		failed = STEP_COUNT;
		break;
	case VERDICT_NO_CERTIFICATE:
	case VERDICT_MALFORMED:
	case VERDICT_MALFORMED_REQUEST:
	case VERDICT_INTERNAL_ERROR:
		failed = STEP_PARSE;
		break;
	case VERDICT_WRONG_PURPOSE:
		failed = STEP_PURPOSE;
		break;
	case VERDICT_EXPIRED:
	case VERDICT_NOT_YET_VALID:
		failed = STEP_VALIDITY;
		break;
	case VERDICT_REVOKED:
	case VERDICT_REVOCATION_UNKNOWN:
	case VERDICT_CRL_EXPIRED:
		failed = STEP_REVOCATION;
		break;
	case VERDICT_NO_MATCHING_RULE:
	case VERDICT_POLICY_DENY:
		failed = STEP_POLICY;
		break;
	default:
		failed = STEP_CHAIN;
	}
	for (i = 0; i < STEP_COUNT; i++) {
		c[i].detail[0] = '\0';
		c[i].result = i < (int)failed ? "ok" : i == (int)failed ?
		    "fail" : "not reached";
	}
	if (failed < STEP_COUNT)
		snprintf(c[failed].detail, sizeof(c[failed].detail), "%s",
		    v->detail);
	if (failed > STEP_PARSE)
		snprintf(c[STEP_PARSE].detail, sizeof(c[STEP_PARSE].detail),
		    "one X.509 certificate");
	if (failed > STEP_CHAIN && n == 0)
		c[STEP_CHAIN].result = "skipped";
	if (failed > STEP_CHAIN && n > 0)
		snprintf(c[STEP_CHAIN].detail, sizeof(c[STEP_CHAIN].detail),
		    "%d certificate%s up to a trust anchor, signatures checked",
		    n, n == 1 ? "" : "s");
	if (failed > STEP_PURPOSE)
		snprintf(c[STEP_PURPOSE].detail, sizeof(c[STEP_PURPOSE].detail),
		    "%s", explain_purpose(ctx->snap->cfg.purpose));
	if (failed > STEP_VALIDITY)
		snprintf(c[STEP_VALIDITY].detail,
		    sizeof(c[STEP_VALIDITY].detail),
		    "every certificate valid at the decision time");
	if (failed > STEP_REVOCATION) {
		const struct config *cfg = &ctx->snap->cfg;

		if (ctx->snap->crl == NULL && cfg->ocsp_mode == 0) {
			c[STEP_REVOCATION].result = "skipped";
			snprintf(c[STEP_REVOCATION].detail,
			    sizeof(c[STEP_REVOCATION].detail), "no CRL or OCSP "
			    "configured");
		} else
			explain_revocation(ctx, v, c[STEP_REVOCATION].detail,
			    sizeof(c[STEP_REVOCATION].detail));
	}
	if (failed >= STEP_POLICY)
		explain_policy(ctx, v, &c[STEP_POLICY]);
}

static int
explain_is_anchor(STACK_OF(X509) *chain, int i)
{
	return i == sk_X509_num(chain) - 1 &&
	    X509_check_issued(sk_X509_value(chain, i),
	    sk_X509_value(chain, i)) == X509_V_OK;
}


/* A rejected CRL source, under "crls": why the issuer may have none. */
static void
explain_rejected(void *arg, const struct crl_rejection *r)
{
	fprintf(arg, "  rejected: %s (%s): %s%s\n", r->source,
	    crl_reject_str(r->why), r->detail, r->kept > 0 ?
	    "; its last good version is used" : "");
}

/*
 * The leaf's fields as the policy sees them (chain[0]), for the smart-card
 * identities; 0, or -1 without a chain (f is then empty).  Cleaned up by
 * the caller either way.
 */
static int
explain_fields(STACK_OF(X509) *chain, time_t at, struct identity_fields *f)
{
	unsigned char	 md[EVP_MAX_MD_SIZE];
	unsigned int	 n = 0;
	X509		*x;

	memset(f, 0, sizeof(*f));
	if (chain == NULL || sk_X509_num(chain) == 0)
		return -1;
	x = sk_X509_value(chain, 0);
	if (X509_digest(x, EVP_sha256(), md, &n) != 1 ||
	    n != IDENTITY_SHA256_LEN)
		return -1;
	return identity_fields_load(x, md, at, f) == 0 ? 0 : -1;
}

/* The smart-card identities, one "  NAME VALUE" line each. */
static void
explain_cards_text(FILE *out, const struct identity_fields *f)
{
	const struct {
		const char		*name;
		const char *const	*v;
		size_t			 n;
	} l[] = {
		{ "upn", f->san_upn, f->nsan_upn },
		{ "fascn", f->san_fascn, f->nsan_fascn },
		{ "uuid", f->san_uuid, f->nsan_uuid },
	};
	size_t	 i, j;

	for (i = 0; i < sizeof(l) / sizeof(l[0]); i++)
		for (j = 0; j < l[i].n; j++)
			fprintf(out, "  %-10s %s\n", l[i].name, l[i].v[j]);
}

static void	 explain_json_kv(FILE *, const char *, const char *, int);

static const char *
explain_pcy_status(enum chain_pcy_status st)
{
	switch (st) {
	case CHAIN_PCY_OK:
		return "accepted";
	case CHAIN_PCY_NOT_ACCEPTED:
		return "not accepted";
	case CHAIN_PCY_INVALID:
		return "invalid policy extension";
	default:
		return "error";
	}
}

/*
 * The chain's certificate policies (RFC 5280 6.1) under the global
 * settings, and what each rule set with settings of its own makes of it.
 */
static void
explain_policies_text(FILE *f, const struct explain_ctx *ctx,
    STACK_OF(X509) *chain)
{
	const struct policy	*pol = ctx->snap->policy;
	struct chain_pcy_result	 pr;
	size_t			 i;

	if (chain == NULL || sk_X509_num(chain) == 0)
		return;
	chain_policy(chain, &ctx->snap->cfg.pcy, NULL, &pr);
	fprintf(f, "policies     %s", explain_pcy_status(pr.status));
	if (pr.explicit_required)
		fprintf(f, ", an explicit policy required");
	fputc('\n', f);
	for (i = 0; i < pr.nset; i++)
		fprintf(f, "  valid      %s\n", pr.set[i]);
	if (pr.truncated)
		fprintf(f, "  valid      ... (more than %d)\n", CHAIN_PCY_SET_MAX);
	for (i = 0; i < policy_pcy_count(pol); i++) {
		chain_policy(chain, &ctx->snap->cfg.pcy, policy_pcy_at(pol, i),
		    &pr);
		fprintf(f, "  rule set %s: %s\n", policy_pcy_name(pol, i),
		    explain_pcy_status(pr.status));
	}
}

static void
explain_policies_json(FILE *f, const struct explain_ctx *ctx,
    STACK_OF(X509) *chain)
{
	const struct policy	*pol = ctx->snap->policy;
	struct chain_pcy_result	 pr;
	size_t			 i;

	fprintf(f, "\"policies\":");
	if (chain == NULL || sk_X509_num(chain) == 0) {
		fprintf(f, "null,");
		return;
	}
	chain_policy(chain, &ctx->snap->cfg.pcy, NULL, &pr);
	fputc('{', f);
	explain_json_kv(f, "result", explain_pcy_status(pr.status), 1);
	fprintf(f, "\"explicit_required\":%s,\"truncated\":%s,\"valid\":[",
	    pr.explicit_required ? "true" : "false",
	    pr.truncated ? "true" : "false");
	for (i = 0; i < pr.nset; i++) {
		if (i)
			fputc(',', f);
		explain_json_string(f, pr.set[i]);
	}
	fprintf(f, "],\"rulesets\":[");
	for (i = 0; i < policy_pcy_count(pol); i++) {
		chain_policy(chain, &ctx->snap->cfg.pcy, policy_pcy_at(pol, i),
		    &pr);
		fprintf(f, "%s{", i ? "," : "");
		explain_json_kv(f, "name", policy_pcy_name(pol, i), 1);
		explain_json_kv(f, "result", explain_pcy_status(pr.status), 0);
		fputc('}', f);
	}
	fprintf(f, "]},");
}

/*
 * Every candidate path from the leaf to an anchor, when there is more than
 * one: which OpenSSL's own choice failed on, and which one verified.
 */
static void
explain_paths_text(FILE *f, const struct explain_ctx *ctx,
    STACK_OF(X509) *chain)
{
	char	 buf[4096], *line, *save = NULL;

	if (chain == NULL || sk_X509_num(chain) == 0 ||
	    chain_describe_paths(ctx->snap->chain, sk_X509_value(chain, 0),
	    ctx->at, ctx->snap->cfg.purpose, buf, sizeof(buf)) < 2)
		return;
	fprintf(f, "paths\n");
	for (line = strtok_r(buf, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save))
		fprintf(f, "  %s\n", line);
}

void
explain_text(FILE *f, const struct explain_ctx *ctx, const struct verdict *v,
    STACK_OF(X509) *chain)
{
	struct identity_fields	 fields;
	struct explain_check	 c[STEP_COUNT];
	char			 t1[32], t2[32], dn[IDENTITY_DN_MAX];
	time_t			 nb, na;
	int			 i;

	if (v->reason == VERDICT_OK)
		fprintf(f, "allow\n");
	else
		fprintf(f, "deny %s\n", verdict_reason_text(v));
	fprintf(f, "status       %d\n", verdict_reason_status(v->reason));
	fprintf(f, "certificate  %s\n", ctx->cert_path);
	if (v->has_identity) {
		explain_time(v->id.not_before, t1, sizeof(t1));
		explain_time(v->id.not_after, t2, sizeof(t2));
		fprintf(f, "  subject    %s\n", v->id.subject);
		fprintf(f, "  issuer     %s\n", v->id.issuer);
		fprintf(f, "  serial     %s\n", v->id.serial);
		fprintf(f, "  sha256     %s\n", v->id.fingerprint);
		fprintf(f, "  validity   %s to %s\n", t1, t2);
		if (explain_fields(chain, ctx->at, &fields) == 0)
			explain_cards_text(f, &fields);
		identity_fields_cleanup(&fields);
	}
	explain_time(ctx->at, t1, sizeof(t1));
	fprintf(f, "time         %s (%s)\n", t1, ctx->at_given ? "--at" : "now");
	fprintf(f, "trust        %zu anchor%s, %zu intermediate%s\n",
	    chain_store_anchors(ctx->snap->chain),
	    chain_store_anchors(ctx->snap->chain) == 1 ? "" : "s",
	    chain_store_intermediates(ctx->snap->chain),
	    chain_store_intermediates(ctx->snap->chain) == 1 ? "" : "s");
	if (chain != NULL && sk_X509_num(chain) > 0) {
		fprintf(f, "chain\n");
		for (i = 0; i < sk_X509_num(chain); i++) {
			X509 *x = sk_X509_value(chain, i);

			identity_dn(X509_get_subject_name(x), dn, sizeof(dn));
			t1[0] = t2[0] = '\0';
			if (identity_time(X509_get0_notBefore(x), &nb) == 0)
				explain_time(nb, t1, sizeof(t1));
			if (identity_time(X509_get0_notAfter(x), &na) == 0)
				explain_time(na, t2, sizeof(t2));
			fprintf(f, "  %d  %s\n      valid %s to %s%s\n", i, dn,
			    t1, t2, explain_is_anchor(chain, i) ?
			    ", trust anchor" : "");
		}
	}
	explain_paths_text(f, ctx, chain);
	explain_policies_text(f, ctx, chain);
	if (ctx->snap->crl != NULL && chain != NULL) {
		char	 crls[2048];

		char	*line, *save = NULL;

		crl_describe(ctx->snap->crl, chain, ctx->at, crls, sizeof(crls));
		if (crls[0] != '\0' || crl_set_rejected(ctx->snap->crl) > 0)
			fprintf(f, "crls\n");
		for (line = strtok_r(crls, "\n", &save); line != NULL;
		    line = strtok_r(NULL, "\n", &save))
			fprintf(f, "  %s\n", line);
		crl_foreach_rejected(ctx->snap->crl, explain_rejected, f);
	}
	if (ctx->snap->cfg.ocsp_mode != 0 && chain != NULL) {
		char	 lines[2048], *line, *save = NULL;

		ocsp_describe(&ctx->snap->ocsp, chain, lines, sizeof(lines));
		if (lines[0] != '\0')
			fprintf(f, "ocsp\n");
		for (line = strtok_r(lines, "\n", &save); line != NULL;
		    line = strtok_r(NULL, "\n", &save))
			fprintf(f, "  %s\n", line);
	}
	explain_checks(ctx, v, chain, c);
	fprintf(f, "checks\n");
	for (i = 0; i < STEP_COUNT; i++)
		fprintf(f, "  %-10s  %s%s%s\n", explain_step_names[i],
		    c[i].result, c[i].detail[0] ? ": " : "", c[i].detail);
}

void
explain_json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20 || ch >= 0x7f)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

static void
explain_json_kv(FILE *f, const char *k, const char *v, int comma)
{
	explain_json_string(f, k);
	fputc(':', f);
	explain_json_string(f, v);
	if (comma)
		fputc(',', f);
}

struct explain_list {
	FILE	*f;
	int	 n;
};

static void
explain_json_rejected(void *arg, const struct crl_rejection *r)
{
	struct explain_list	*l = arg;
	FILE			*f = l->f;

	fputs(l->n++ ? ",{" : "{", f);
	explain_json_kv(f, "source", r->source, 1);
	explain_json_kv(f, "reason", crl_reject_str(r->why), 1);
	explain_json_kv(f, "detail", r->detail, 1);
	fprintf(f, "\"last_good_kept\":%zu}", r->kept);
}

static void
explain_json_list(FILE *f, const char *k, const char *const *v, size_t n)
{
	size_t	 i;

	explain_json_string(f, k);
	fputs(":[", f);
	for (i = 0; i < n; i++) {
		if (i > 0)
			fputc(',', f);
		explain_json_string(f, v[i]);
	}
	fputs("],", f);
}

void
explain_json(FILE *f, const struct explain_ctx *ctx, const struct verdict *v,
    STACK_OF(X509) *chain)
{
	struct identity_fields	 fields;
	struct explain_check	 c[STEP_COUNT];
	struct explain_list	 rl;
	char			 t1[32], t2[32], dn[IDENTITY_DN_MAX];
	time_t			 nb, na;
	int			 i;

	fputc('{', f);
	explain_json_kv(f, "decision", v->reason == VERDICT_OK ? "allow" :
	    "deny", 1);
	explain_json_kv(f, "reason", verdict_reason_text(v), 1);
	explain_json_kv(f, "rule", v->rule, 1);
	fprintf(f, "\"status\":%d,", verdict_reason_status(v->reason));
	explain_json_kv(f, "detail", v->detail, 1);
	explain_time(ctx->at, t1, sizeof(t1));
	explain_json_kv(f, "time", t1, 1);
	explain_json_kv(f, "time_source", ctx->at_given ? "--at" : "now", 1);
	explain_json_kv(f, "file", ctx->cert_path, 1);
	fprintf(f, "\"certificate\":");
	if (v->has_identity) {
		explain_time(v->id.not_before, t1, sizeof(t1));
		explain_time(v->id.not_after, t2, sizeof(t2));
		fputc('{', f);
		explain_json_kv(f, "subject", v->id.subject, 1);
		explain_json_kv(f, "issuer", v->id.issuer, 1);
		explain_json_kv(f, "serial", v->id.serial, 1);
		explain_json_kv(f, "sha256", v->id.fingerprint, 1);
		/* the smart-card identities: empty without a chain */
		explain_fields(chain, ctx->at, &fields);
		explain_json_list(f, "upn", fields.san_upn, fields.nsan_upn);
		explain_json_list(f, "fascn", fields.san_fascn,
		    fields.nsan_fascn);
		explain_json_list(f, "uuid", fields.san_uuid, fields.nsan_uuid);
		identity_fields_cleanup(&fields);
		explain_json_kv(f, "not_before", t1, 1);
		explain_json_kv(f, "not_after", t2, 0);
		fputc('}', f);
	} else
		fprintf(f, "null");
	fprintf(f, ",\"chain\":[");
	for (i = 0; chain != NULL && i < sk_X509_num(chain); i++) {
		X509 *x = sk_X509_value(chain, i);

		identity_dn(X509_get_subject_name(x), dn, sizeof(dn));
		t1[0] = t2[0] = '\0';
		if (identity_time(X509_get0_notBefore(x), &nb) == 0)
			explain_time(nb, t1, sizeof(t1));
		if (identity_time(X509_get0_notAfter(x), &na) == 0)
			explain_time(na, t2, sizeof(t2));
		fprintf(f, "%s{\"depth\":%d,", i ? "," : "", i);
		explain_json_kv(f, "subject", dn, 1);
		explain_json_kv(f, "not_before", t1, 1);
		explain_json_kv(f, "not_after", t2, 1);
		fprintf(f, "\"trust_anchor\":%s}",
		    explain_is_anchor(chain, i) ? "true" : "false");
	}
	fprintf(f, "],");
	explain_policies_json(f, ctx, chain);
	fprintf(f, "\"crl_rejected\":[");
	rl.f = f;
	rl.n = 0;
	crl_foreach_rejected(ctx->snap->crl, explain_json_rejected, &rl);
	fprintf(f, "],\"ocsp\":[");
	if (ctx->snap->cfg.ocsp_mode != 0 && chain != NULL) {
		char	 lines[2048], *line, *save = NULL;

		ocsp_describe(&ctx->snap->ocsp, chain, lines, sizeof(lines));
		for (i = 0, line = strtok_r(lines, "\n", &save); line != NULL;
		    line = strtok_r(NULL, "\n", &save), i++) {
			if (i)
				fputc(',', f);
			explain_json_string(f, line);
		}
	}
	fprintf(f, "],\"checks\":[");
	explain_checks(ctx, v, chain, c);
	for (i = 0; i < STEP_COUNT; i++) {
		fprintf(f, "%s{", i ? "," : "");
		explain_json_kv(f, "check", explain_step_names[i], 1);
		explain_json_kv(f, "result", c[i].result, 1);
		explain_json_kv(f, "detail", c[i].detail, 0);
		fputc('}', f);
	}
	fprintf(f, "]}\n");
}
