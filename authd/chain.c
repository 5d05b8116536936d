/*
 * chain.c: path validation with OpenSSL's X509_verify_cert.
 *
 * Two ways to the same answer.  The full way builds leaf -> intermediates
 * -> anchor and checks every signature.  The fast way knows which
 * intermediates were already verified (at load) and lets a leaf stop at
 * its issuer: one signature per new client.  The fast way is only taken
 * when it cannot differ from the full one: the intermediate's whole chain
 * is inside its validity, carries no name or policy constraints (they
 * would reach the leaf from above the partial chain), and any failure
 * is re-checked the full way so the reason is always the full answer.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "chain.h"
#include "err.h"
#include "identity.h"
#include "log.h"

struct chain_fast {
	X509		*cert;		/* a verified intermediate */
	X509_STORE	*store;		/* that intermediate alone, partial */
	STACK_OF(X509)	*up;		/* its verified chain, it first */
	time_t		 valid_from;	/* its full chain's validity */
	time_t		 valid_until;
};

struct chain_store {
	X509_STORE		*full;	/* trust anchors */
	STACK_OF(X509)		*anchors;	/* the same, as a list */
	STACK_OF(X509)		*ints;	/* untrusted intermediates */
	size_t			 nanchors;
	struct chain_fast	*fast;
	size_t			 nfast;
	unsigned int		 depth;
	enum config_purpose	 purpose;
	int			 partial;	/* trust_partial: any anchor ends a chain */
	struct chain_sha1	*bysha1;	/* ints and anchors, by SHA-1 */
	size_t			 nbysha1;
};

/* A certificate of the store by its SHA-1 (chain_store_find). */
struct chain_sha1 {
	unsigned char	 sha1[CHAIN_SHA1_LEN];
	X509		*x;
};

static int
chain_purpose_id(enum config_purpose p)
{
	switch (p) {
	case CONFIG_PURPOSE_CLIENT:
		return X509_PURPOSE_SSL_CLIENT;
	case CONFIG_PURPOSE_SERVER:
		return X509_PURPOSE_SSL_SERVER;
	default:
		return 0;
	}
}

/* Read every certificate of a PEM bundle; appends to sk. */
static int
chain_load_bundle(struct config *cfg, const struct config_item *it,
    STACK_OF(X509) *sk, size_t *count)
{
	BIO		*bio = NULL;
	X509		*x;
	unsigned long	 e;
	char		 msg[256] = "";
	int		 rc = AUTHD_EIO;

	*count = 0;
	ERR_clear_error();
	if ((bio = BIO_new_file(it->value, "r")) == NULL) {
		config_error(cfg, it->origin, "cannot read %s: %s", it->value,
		    strerror(errno));
		goto end;
	}
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		if (!sk_X509_push(sk, x)) {
			X509_free(x);
			rc = AUTHD_ENOMEM;
			goto end;
		}
		(*count)++;
	}
	e = ERR_peek_last_error();
	if (ERR_GET_LIB(e) == ERR_LIB_PEM &&
	    ERR_GET_REASON(e) == PEM_R_NO_START_LINE)
		ERR_clear_error();	/* the normal end of the file */
	else if (e != 0) {
		config_error(cfg, it->origin, "%s: bad certificate after %zu "
		    "good ones: %s", it->value, *count,
		    err_openssl(msg, sizeof(msg)));
		goto end;
	}
	if (*count == 0) {
		config_error(cfg, it->origin, "%s: no PEM certificates found",
		    it->value);
		goto end;
	}
	rc = 0;
end:
	BIO_free(bio);
	return rc;
}

static int
chain_has_constraints(X509 *x)
{
	return X509_get_ext_by_NID(x, NID_name_constraints, -1) >= 0 ||
	    X509_get_ext_by_NID(x, NID_policy_constraints, -1) >= 0 ||
	    X509_get_ext_by_NID(x, NID_inhibit_any_policy, -1) >= 0 ||
	    X509_get_ext_by_NID(x, NID_policy_mappings, -1) >= 0;
}

static void
chain_window(STACK_OF(X509) *chain, time_t *from, time_t *until)
{
	time_t	 nb, na;
	int	 i;

	*from = 0;
	*until = (time_t)1 << 62;
	for (i = 0; i < sk_X509_num(chain); i++) {
		X509 *x = sk_X509_value(chain, i);

		if (identity_time(X509_get0_notBefore(x), &nb) != 0 ||
		    identity_time(X509_get0_notAfter(x), &na) != 0) {
			*until = 0;	/* never valid: never cached */
			return;
		}
		if (nb > *from)
			*from = nb;
		if (na < *until)
			*until = na;
	}
}

static enum chain_status
chain_status_of(int err)
{
	switch (err) {
	case X509_V_OK:
		return CHAIN_OK;
	case X509_V_ERR_CERT_HAS_EXPIRED:
		return CHAIN_EXPIRED;
	case X509_V_ERR_CERT_NOT_YET_VALID:
		return CHAIN_NOT_YET_VALID;
	case X509_V_ERR_INVALID_PURPOSE:
		return CHAIN_WRONG_PURPOSE;
	case X509_V_ERR_NO_EXPLICIT_POLICY:
		return CHAIN_POLICY;
	case X509_V_ERR_OUT_OF_MEM:
		return CHAIN_ERROR;
	default:
		return CHAIN_UNTRUSTED;
	}
}

/*
 * { anyPolicy }, the user-initial-policy-set when none is configured.
 * Passed explicitly: OpenSSL 3.0 given no set at all finds no valid policy
 * in a chain whose requireExplicitPolicy applies, even when it has one.
 * Built once and only read (X509_VERIFY_PARAM_set1_policies and
 * X509_policy_check copy or only read it): no allocation per verification.
 */
static STACK_OF(ASN1_OBJECT)	*chain_anypolicy;
static pthread_once_t		 chain_anypolicy_once = PTHREAD_ONCE_INIT;

static void
chain_anypolicy_init(void)
{
	STACK_OF(ASN1_OBJECT)	*sk;
	ASN1_OBJECT		*any;

	if ((sk = sk_ASN1_OBJECT_new_null()) == NULL)
		return;
	if ((any = OBJ_nid2obj(NID_any_policy)) == NULL ||
	    !sk_ASN1_OBJECT_push(sk, any)) {
		sk_ASN1_OBJECT_free(sk);
		return;
	}
	chain_anypolicy = sk;	/* a static object in it: never freed */
}

static STACK_OF(ASN1_OBJECT) *
chain_any_policy(void)
{
	pthread_once(&chain_anypolicy_once, chain_anypolicy_init);
	return chain_anypolicy;
}

/*
 * The store's intermediates and extra ones (fetched from caIssuers URLs),
 * as a new stack borrowing the certificates (sk_X509_free), or NULL.
 */
static STACK_OF(X509) *
chain_untrusted_with(const struct chain_store *st, STACK_OF(X509) *extra)
{
	STACK_OF(X509)	*sk;
	int		 i;

	if ((sk = sk_X509_dup(st->ints)) == NULL)
		return NULL;
	for (i = 0; extra != NULL && i < sk_X509_num(extra); i++)
		if (!sk_X509_push(sk, sk_X509_value(extra, i))) {
			sk_X509_free(sk);
			return NULL;
		}
	return sk;
}

/* One X509_verify_cert run; fills res except the fast flag. */
static int
chain_run(X509_STORE *store, STACK_OF(X509) *untrusted, X509 *x,
    time_t at, int purpose, int depth, int want_chain,
    struct chain_result *res)
{
	X509_STORE_CTX		*ctx = NULL;
	X509_VERIFY_PARAM	*param;
	STACK_OF(X509)		*chain;
	STACK_OF(ASN1_OBJECT)	*any;
	char			 dn[256], ossl[128] = "";
	int			 rc = AUTHD_ECRYPTO, ok, err;

	res->status = CHAIN_ERROR;
	res->x509_error = 0;
	res->error_depth = -1;
	res->detail[0] = '\0';
	if ((ctx = X509_STORE_CTX_new()) == NULL ||
	    X509_STORE_CTX_init(ctx, store, x, untrusted) != 1) {
		snprintf(res->detail, sizeof(res->detail), "cannot set up "
		    "verification: %s", err_openssl(ossl, sizeof(ossl)));
		goto end;
	}
	param = X509_STORE_CTX_get0_param(ctx);
	X509_VERIFY_PARAM_set_depth(param, depth);
	if (at != 0)
		X509_VERIFY_PARAM_set_time(param, at);
	/*
	 * RFC 5280 6.1 policy processing with the chain's own constraints
	 * (requireExplicitPolicy, inhibitPolicyMapping, inhibitAnyPolicy);
	 * the configured settings are chain_policy's, on the chain built.
	 */
	if ((any = chain_any_policy()) == NULL ||
	    X509_VERIFY_PARAM_set1_policies(param, any) != 1) {
		snprintf(res->detail, sizeof(res->detail), "cannot set "
		    "policies: %s", err_openssl(ossl, sizeof(ossl)));
		goto end;
	}
	if (purpose != 0 && X509_STORE_CTX_set_purpose(ctx, purpose) != 1) {
		snprintf(res->detail, sizeof(res->detail), "cannot set "
		    "purpose: %s", err_openssl(ossl, sizeof(ossl)));
		goto end;
	}
	ok = X509_verify_cert(ctx);
	err = X509_STORE_CTX_get_error(ctx);
	if (ok == 1 && err == X509_V_OK) {
		res->status = CHAIN_OK;
		chain_window(X509_STORE_CTX_get0_chain(ctx), &res->valid_from,
		    &res->valid_until);
	} else {
		if (err == X509_V_OK)	/* failed without saying why */
			err = X509_V_ERR_UNSPECIFIED;
		res->status = chain_status_of(err);
		res->x509_error = err;
		res->error_depth = X509_STORE_CTX_get_error_depth(ctx);
		dn[0] = '\0';
		if (X509_STORE_CTX_get_current_cert(ctx) != NULL)
			identity_dn(X509_get_subject_name(
			    X509_STORE_CTX_get_current_cert(ctx)), dn, sizeof(dn));
		if (err == X509_V_ERR_NO_EXPLICIT_POLICY)
			snprintf(res->detail, sizeof(res->detail), "no "
			    "certificate policy is valid for the whole chain, "
			    "and a CA of the chain requires one "
			    "(requireExplicitPolicy)");
		else
			snprintf(res->detail, sizeof(res->detail),
			    "%s (depth %d%s%s)",
			    X509_verify_cert_error_string(err),
			    res->error_depth, dn[0] ? ": " : "", dn);
	}
	if (want_chain) {
		if ((chain = X509_STORE_CTX_get1_chain(ctx)) == NULL) {
			res->status = CHAIN_ERROR;	/* revocation needs it */
			snprintf(res->detail, sizeof(res->detail), "out of "
			    "memory for the chain");
		} else {
			chain_result_cleanup(res);
			res->chain = chain;
		}
	}
	ERR_clear_error();
	rc = 0;
end:
	X509_STORE_CTX_free(ctx);
	return rc;
}

int
chain_policy_set(const struct policy_pcy *pcy)
{
	return pcy != NULL && (pcy->noids > 0 || pcy->explicit_policy ||
	    pcy->inhibit_mapping || pcy->inhibit_any);
}

/* The valid policy set of a tree, dotted and without repeats. */
static void
chain_policy_nodes(X509_POLICY_TREE *tree, struct chain_pcy_result *out)
{
	STACK_OF(X509_POLICY_NODE)	*nodes;
	char				 oid[POLICY_OID_MAX];
	size_t				 j;
	int				 i, n;

	if (tree == NULL ||
	    (nodes = X509_policy_tree_get0_user_policies(tree)) == NULL)
		return;
	for (i = 0; i < sk_X509_POLICY_NODE_num(nodes); i++) {
		n = OBJ_obj2txt(oid, sizeof(oid), X509_policy_node_get0_policy(
		    sk_X509_POLICY_NODE_value(nodes, i)), 1);
		if (n <= 0 || (size_t)n >= sizeof(oid)) {
			out->truncated = 1;
			continue;
		}
		for (j = 0; j < out->nset; j++)
			if (strcmp(out->set[j], oid) == 0)
				break;
		if (j < out->nset)
			continue;
		if (out->nset >= CHAIN_PCY_SET_MAX) {
			out->truncated = 1;
			continue;
		}
		memcpy(out->set[out->nset++], oid, (size_t)n + 1);
	}
}

void
chain_policy(STACK_OF(X509) *chain, const struct policy_pcy *base,
    const struct policy_pcy *add, struct chain_pcy_result *out)
{
	const struct policy_pcy	*user;
	STACK_OF(ASN1_OBJECT)	*oids = NULL;
	X509_POLICY_TREE	*tree = NULL;
	ASN1_OBJECT		*o;
	unsigned long		 flags = 0;
	size_t			 i;
	int			 ret, explicit = 0;

	memset(out, 0, sizeof(*out));
	out->status = CHAIN_PCY_ERROR;
	user = add != NULL && add->noids > 0 ? add : base;
	if (user != NULL && user->noids > 0) {
		if ((oids = sk_ASN1_OBJECT_new_null()) == NULL)
			goto end;
		for (i = 0; i < user->noids; i++)
			if ((o = OBJ_txt2obj(user->oids[i], 1)) == NULL ||
			    !sk_ASN1_OBJECT_push(oids, o)) {
				ASN1_OBJECT_free(o);
				goto end;
			}
		flags |= X509_V_FLAG_EXPLICIT_POLICY;
	} else if ((oids = chain_any_policy()) == NULL)
		goto end;
	if ((base != NULL && base->explicit_policy) ||
	    (add != NULL && add->explicit_policy))
		flags |= X509_V_FLAG_EXPLICIT_POLICY;
	if ((base != NULL && base->inhibit_mapping) ||
	    (add != NULL && add->inhibit_mapping))
		flags |= X509_V_FLAG_INHIBIT_MAP;
	if ((base != NULL && base->inhibit_any) ||
	    (add != NULL && add->inhibit_any))
		flags |= X509_V_FLAG_INHIBIT_ANY;
	ret = X509_policy_check(&tree, &explicit, chain, oids,
	    (unsigned int)flags);
	out->explicit_required = explicit;
	switch (ret) {
	case X509_PCY_TREE_VALID:
		out->status = CHAIN_PCY_OK;
		chain_policy_nodes(tree, out);
		break;
	case X509_PCY_TREE_FAILURE:
		out->status = CHAIN_PCY_NOT_ACCEPTED;
		out->explicit_required = 1;
		break;
	case X509_PCY_TREE_INVALID:
		out->status = CHAIN_PCY_INVALID;
		break;
	default:
		break;
	}
end:
	X509_policy_tree_free(tree);
	if (user != NULL && user->noids > 0)
		sk_ASN1_OBJECT_pop_free(oids, ASN1_OBJECT_free);
	ERR_clear_error();
}

/*
 * Verify one intermediate the full way (with extra untrusted certificates
 * besides the store's, NULL none) and fill f as a fast start if its chain
 * allows: 1 made, 0 not usable (logged with dn when log_it), or a
 * negative authd_err.  A leaf adds one level, hence depth - 1.
 */
static int
chain_fast_make(const struct chain_store *st, X509 *ic, STACK_OF(X509) *extra,
    int log_it, struct chain_fast *f)
{
	struct chain_result	 res;
	STACK_OF(X509)		*untrusted = st->ints;
	char			 dn[256];
	int			 i, rc = 0, pid = chain_purpose_id(st->purpose);

	memset(&res, 0, sizeof(res));
	memset(f, 0, sizeof(*f));
	identity_dn(X509_get_subject_name(ic), dn, sizeof(dn));
	if (st->depth < 1)
		return 0;
	if (extra != NULL &&
	    (untrusted = chain_untrusted_with(st, extra)) == NULL)
		return AUTHD_ENOMEM;
	/*
	 * Verified as a target, the intermediate would be held to a leaf's
	 * purpose rules; what a leaf's chain asks of it (and of every CA
	 * above it) is the CA form of the purpose, checked next.
	 */
	rc = chain_run(st->full, untrusted, ic, 0, 0, (int)st->depth - 1, 1,
	    &res);
	if (rc != 0 || res.status != CHAIN_OK) {
		if (log_it)
			log_warnx("intermediate %s does not verify: %s; leaves "
			    "it issued will be refused", dn, res.detail);
		goto end;
	}
	for (i = 0; i < sk_X509_num(res.chain); i++) {
		X509 *x = sk_X509_value(res.chain, i);

		if (chain_has_constraints(x)) {
			if (log_it)
				log_info("intermediate %s: name or policy "
				    "constraints in its chain; its leaves take "
				    "the full path", dn);
			goto end;
		}
		if (pid != 0 && X509_check_purpose(x, pid, 1) != 1) {
			if (log_it)
				log_info("intermediate %s: its chain is not "
				    "for this purpose; its leaves take the full "
				    "path", dn);
			goto end;
		}
	}
	f->valid_from = res.valid_from;
	f->valid_until = res.valid_until;
	if ((f->store = X509_STORE_new()) == NULL ||
	    X509_STORE_add_cert(f->store, ic) != 1 ||
	    X509_STORE_set_flags(f->store, X509_V_FLAG_PARTIAL_CHAIN) != 1) {
		X509_STORE_free(f->store);
		f->store = NULL;
		rc = AUTHD_ENOMEM;
		goto end;
	}
	X509_up_ref(ic);
	f->cert = ic;
	f->up = res.chain;	/* [ic, ..., anchor] */
	res.chain = NULL;
	rc = 1;
end:
	if (untrusted != st->ints)
		sk_X509_free(untrusted);
	chain_result_cleanup(&res);
	return rc;
}

static void
chain_fast_cleanup(struct chain_fast *f)
{
	X509_STORE_free(f->store);
	X509_free(f->cert);
	sk_X509_pop_free(f->up, X509_free);
	memset(f, 0, sizeof(*f));
}

/* Verify an intermediate at load time and make it a fast start. */
static int
chain_add_fast(struct chain_store *st, X509 *ic)
{
	int	 rc;

	if ((rc = chain_fast_make(st, ic, NULL, 1, &st->fast[st->nfast])) == 1)
		st->nfast++;
	return rc < 0 ? rc : 0;
}

static int
chain_sha1_cmp(const void *a, const void *b)
{
	return memcmp(((const struct chain_sha1 *)a)->sha1,
	    ((const struct chain_sha1 *)b)->sha1, CHAIN_SHA1_LEN);
}

/*
 * Every certificate of the store by its SHA-1, sorted: a kept chain names
 * its issuers so (verified.h), one lookup a certificate per request, and a
 * store may hold many CAs.
 */
static int
chain_index_sha1(struct chain_store *st)
{
	STACK_OF(X509)	*sk[2] = { st->ints, st->anchors };
	unsigned int	 len;
	size_t		 k, n;
	int		 i;

	n = (size_t)sk_X509_num(st->ints) + (size_t)sk_X509_num(st->anchors);
	if (n == 0)
		return 0;
	if ((st->bysha1 = calloc(n, sizeof(*st->bysha1))) == NULL)
		return AUTHD_ENOMEM;
	for (k = 0; k < 2; k++)
		for (i = 0; i < sk_X509_num(sk[k]); i++) {
			st->bysha1[st->nbysha1].x = sk_X509_value(sk[k], i);
			if (!X509_digest(st->bysha1[st->nbysha1].x,
			    EVP_sha1(), st->bysha1[st->nbysha1].sha1, &len) ||
			    len != CHAIN_SHA1_LEN) {
				ERR_clear_error();
				return AUTHD_ECRYPTO;
			}
			st->nbysha1++;
		}
	qsort(st->bysha1, st->nbysha1, sizeof(*st->bysha1), chain_sha1_cmp);
	return 0;
}

/*
 * The store from anchors and intermediates read already; takes both
 * stacks (freed here whatever happens).
 */
static int
chain_store_build(STACK_OF(X509) *anchors, STACK_OF(X509) *ints,
    unsigned int depth, enum config_purpose purpose, int partial,
    struct chain_store **out)
{
	struct chain_store	*st = NULL;
	size_t			 i, n;
	int			 rc = AUTHD_ENOMEM;

	*out = NULL;
	if (anchors == NULL || ints == NULL ||
	    (st = calloc(1, sizeof(*st))) == NULL ||
	    (st->full = X509_STORE_new()) == NULL)
		goto end;
	st->depth = depth;
	st->purpose = purpose;
	st->partial = partial;
	st->ints = ints;
	ints = NULL;
	/*
	 * trust_partial: a chain may end at any configured anchor, not only
	 * at a self-signed one (OpenSSL's partial chains).  Inherited by every
	 * verification made from this store (chain_anchor's for CRL signers).
	 */
	if (partial &&
	    X509_STORE_set_flags(st->full, X509_V_FLAG_PARTIAL_CHAIN) != 1)
		goto end;
	for (i = 0; i < (size_t)sk_X509_num(anchors); i++) {
		X509 *x = sk_X509_value(anchors, (int)i);
		char dn[256];

		if (X509_STORE_add_cert(st->full, x) != 1)
			goto end;
		identity_dn(X509_get_subject_name(x), dn, sizeof(dn));
		if (X509_check_ca(x) == 0)
			log_warnx("trust anchor %s is not a CA certificate", dn);
		if (!partial && X509_self_signed(x, 0) != 1)
			log_warnx("trust anchor %s is not self-signed: no chain "
			    "ends at it unless its issuer is in trust too, or "
			    "trust_partial is on", dn);
	}
	st->nanchors = (size_t)sk_X509_num(anchors);
	st->anchors = anchors;
	anchors = NULL;
	n = (size_t)sk_X509_num(st->ints);
	if (n > 0 && (st->fast = calloc(n, sizeof(*st->fast))) == NULL)
		goto end;
	for (i = 0; i < n; i++)
		if ((rc = chain_add_fast(st, sk_X509_value(st->ints, (int)i))) != 0)
			goto end;
	if ((rc = chain_index_sha1(st)) != 0)
		goto end;
	*out = st;
	st = NULL;
	rc = 0;
end:
	if (rc == AUTHD_ENOMEM)
		log_error("loading trust: out of memory");
	sk_X509_pop_free(anchors, X509_free);
	sk_X509_pop_free(ints, X509_free);
	chain_store_free(&st);
	return rc;
}

int
chain_store_load(struct config *cfg, struct chain_store **out)
{
	STACK_OF(X509)		*anchors = NULL, *ints = NULL;
	size_t			 i, n;
	int			 bad = 0;

	*out = NULL;
	if ((anchors = sk_X509_new_null()) == NULL ||
	    (ints = sk_X509_new_null()) == NULL) {
		sk_X509_free(anchors);
		log_error("loading trust: out of memory");
		return AUTHD_ENOMEM;
	}
	for (i = 0; i < cfg->trust.n; i++)
		if (chain_load_bundle(cfg, &cfg->trust.items[i], anchors, &n) != 0)
			bad = 1;
	for (i = 0; i < cfg->intermediates.n; i++)
		if (chain_load_bundle(cfg, &cfg->intermediates.items[i], ints,
		    &n) != 0)
			bad = 1;
	if (bad) {
		sk_X509_pop_free(anchors, X509_free);
		sk_X509_pop_free(ints, X509_free);
		return AUTHD_ECONFIG;
	}
	return chain_store_build(anchors, ints, cfg->verify_depth,
	    cfg->purpose, cfg->trust_partial, out);
}

int
chain_store_new(STACK_OF(X509) *anchors, STACK_OF(X509) *ints,
    unsigned int depth, enum config_purpose purpose, struct chain_store **out)
{
	STACK_OF(X509)	*a = NULL, *m = NULL;

	*out = NULL;
	if ((a = X509_chain_up_ref(anchors)) == NULL ||
	    (m = ints != NULL ? X509_chain_up_ref(ints) : sk_X509_new_null()) ==
	    NULL) {
		sk_X509_pop_free(a, X509_free);
		return AUTHD_ENOMEM;
	}
	return chain_store_build(a, m, depth, purpose, 0, out);
}

int
chain_anchor(const struct chain_store *st, X509 *x, X509 **anchor,
    time_t *from, time_t *until, char *buf, size_t len)
{
	X509_STORE_CTX	*ctx = NULL;
	STACK_OF(X509)	*chain;
	X509		*top;
	char		 ossl[128] = "";
	int		 rc = -1, err;

	*anchor = NULL;
	if ((ctx = X509_STORE_CTX_new()) == NULL ||
	    X509_STORE_CTX_init(ctx, st->full, x, st->ints) != 1) {
		snprintf(buf, len, "cannot set up verification: %s",
		    err_openssl(ossl, sizeof(ossl)));
		goto end;
	}
	X509_VERIFY_PARAM_set_depth(X509_STORE_CTX_get0_param(ctx),
	    (int)st->depth);
	/* Times are judged by the caller, at its decision time. */
	X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_NO_CHECK_TIME);
	if (X509_verify_cert(ctx) != 1) {
		if ((err = X509_STORE_CTX_get_error(ctx)) == X509_V_OK)
			err = X509_V_ERR_UNSPECIFIED;
		snprintf(buf, len, "%s (depth %d)",
		    X509_verify_cert_error_string(err),
		    X509_STORE_CTX_get_error_depth(ctx));
		goto end;
	}
	chain = X509_STORE_CTX_get0_chain(ctx);
	if (chain == NULL || sk_X509_num(chain) < 1 ||
	    (top = sk_X509_value(chain, sk_X509_num(chain) - 1)) == NULL ||
	    X509_up_ref(top) != 1) {
		snprintf(buf, len, "no chain");
		goto end;
	}
	chain_window(chain, from, until);
	*anchor = top;
	rc = 0;
end:
	ERR_clear_error();
	X509_STORE_CTX_free(ctx);
	return rc;
}

void
chain_store_free(struct chain_store **pst)
{
	struct chain_store	*st = *pst;
	size_t			 i;

	if (st == NULL)
		return;
	for (i = 0; i < st->nfast; i++)
		chain_fast_cleanup(&st->fast[i]);
	sk_X509_pop_free(st->anchors, X509_free);
	free(st->fast);
	sk_X509_pop_free(st->ints, X509_free);
	X509_STORE_free(st->full);
	free(st->bysha1);
	free(st);
	*pst = NULL;
}

int
chain_bundle_load(struct config *cfg, const struct config_item *it,
    STACK_OF(X509) *sk, size_t *count)
{
	return chain_load_bundle(cfg, it, sk, count);
}

static int
chain_digest_certs(EVP_MD_CTX *ctx, STACK_OF(X509) *sk)
{
	unsigned char	 md[EVP_MAX_MD_SIZE];
	unsigned int	 mdlen;
	int		 i;

	for (i = 0; i < sk_X509_num(sk); i++)
		if (!X509_digest(sk_X509_value(sk, i), EVP_sha256(), md,
		    &mdlen) || !EVP_DigestUpdate(ctx, md, mdlen))
			return -1;
	return 0;
}

int
chain_store_digest(const struct chain_store *st,
    unsigned char out[CHAIN_DIGEST_LEN])
{
	EVP_MD_CTX	*ctx;
	long long	 v[4];
	int		 ok;

	v[0] = (long long)sk_X509_num(st->anchors);
	v[1] = (long long)st->depth;
	v[2] = (long long)st->purpose;
	v[3] = (long long)st->partial;
	ok = (ctx = EVP_MD_CTX_new()) != NULL &&
	    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) &&
	    EVP_DigestUpdate(ctx, v, sizeof(v)) &&
	    chain_digest_certs(ctx, st->anchors) == 0 &&
	    chain_digest_certs(ctx, st->ints) == 0 &&
	    EVP_DigestFinal_ex(ctx, out, NULL);
	EVP_MD_CTX_free(ctx);
	if (!ok) {
		ERR_clear_error();
		return AUTHD_ECRYPTO;
	}
	return 0;
}

X509 *
chain_store_find(const struct chain_store *st,
    const unsigned char sha1[CHAIN_SHA1_LEN])
{
	struct chain_sha1	 key, *e;

	memcpy(key.sha1, sha1, CHAIN_SHA1_LEN);
	e = st->nbysha1 == 0 ? NULL : bsearch(&key, st->bysha1, st->nbysha1,
	    sizeof(*st->bysha1), chain_sha1_cmp);
	return e != NULL ? e->x : NULL;
}

size_t
chain_store_anchors(const struct chain_store *st)
{
	return st->nanchors;
}

size_t
chain_store_intermediates(const struct chain_store *st)
{
	return (size_t)sk_X509_num(st->ints);
}

X509_STORE *
chain_store_trust(const struct chain_store *st)
{
	return st->full;
}

X509_STORE *
chain_store_trust_at(const struct chain_store *st, time_t at)
{
	X509_STORE	*x;
	int		 i;

	if ((x = X509_STORE_new()) == NULL)
		return NULL;
	for (i = 0; i < sk_X509_num(st->anchors); i++)
		if (X509_STORE_add_cert(x, sk_X509_value(st->anchors, i)) != 1) {
			X509_STORE_free(x);
			return NULL;
		}
	/* Inherited by the contexts made from it: OCSP_basic_verify's too. */
	X509_VERIFY_PARAM_set_time(X509_STORE_get0_param(x), at);
	if (st->partial &&
	    X509_STORE_set_flags(x, X509_V_FLAG_PARTIAL_CHAIN) != 1) {
		X509_STORE_free(x);
		return NULL;
	}
	return x;
}

STACK_OF(X509) *
chain_store_untrusted(const struct chain_store *st)
{
	return st->ints;
}

X509 *
chain_store_ca(const struct chain_store *st, size_t i)
{
	size_t	 na = (size_t)sk_X509_num(st->anchors);

	if (i < na)
		return sk_X509_value(st->anchors, (int)i);
	i -= na;
	if (i < (size_t)sk_X509_num(st->ints))
		return sk_X509_value(st->ints, (int)i);
	return NULL;
}

size_t
chain_store_fast(const struct chain_store *st)
{
	return st->nfast;
}

void
chain_result_cleanup(struct chain_result *res)
{
	sk_X509_pop_free(res->chain, X509_free);
	res->chain = NULL;
}

/* The leaf and the intermediate's verified chain above it. */
static int
chain_fast_chain(const struct chain_fast *f, X509 *leaf,
    struct chain_result *res)
{
	STACK_OF(X509)	*sk;
	int		 i;

	if ((sk = sk_X509_new_reserve(NULL, sk_X509_num(f->up) + 1)) == NULL)
		return -1;
	X509_up_ref(leaf);
	sk_X509_push(sk, leaf);
	for (i = 0; i < sk_X509_num(f->up); i++) {
		X509_up_ref(sk_X509_value(f->up, i));
		sk_X509_push(sk, sk_X509_value(f->up, i));
	}
	chain_result_cleanup(res);
	res->chain = sk;
	return 0;
}

/* The leaf verified at f, which issued it; 1 when it gave an allow. */
static int
chain_fast_one(const struct chain_fast *f, X509 *leaf, time_t at, int purpose,
    int want_chain, struct chain_result *res)
{
	time_t	 now = at != 0 ? at : time(NULL);

	if (now < f->valid_from || now > f->valid_until)
		return 0;	/* let the full way say why */
	if (chain_run(f->store, NULL, leaf, at, purpose, 1, 0, res) != 0 ||
	    res->status != CHAIN_OK)
		return 0;
	if (want_chain && chain_fast_chain(f, leaf, res) != 0)
		return 0;	/* no memory: the full way will say */
	if (f->valid_from > res->valid_from)
		res->valid_from = f->valid_from;
	if (f->valid_until < res->valid_until)
		res->valid_until = f->valid_until;
	res->fast = 1;
	return 1;
}

/* Try the fast way; returns 1 when it gave a trustworthy allow. */
static int
chain_try_fast(const struct chain_store *st, X509 *leaf, time_t at,
    int purpose, int want_chain, struct chain_result *res)
{
	size_t	 i;

	for (i = 0; i < st->nfast; i++)
		if (X509_check_issued(st->fast[i].cert, leaf) == X509_V_OK)
			return chain_fast_one(&st->fast[i], leaf, at, purpose,
			    want_chain, res);
	return 0;
}

struct chain_fast *
chain_fast_new(const struct chain_store *st, X509 *ic, STACK_OF(X509) *extra)
{
	struct chain_fast	*f;

	if ((f = calloc(1, sizeof(*f))) == NULL)
		return NULL;
	if (chain_fast_make(st, ic, extra, 0, f) != 1) {
		free(f);
		return NULL;
	}
	return f;
}

void
chain_fast_free(struct chain_fast *f)
{
	if (f == NULL)
		return;
	chain_fast_cleanup(f);
	free(f);
}

int
chain_verify_via(const struct chain_store *st, const struct chain_fast *f,
    X509 *leaf, time_t at, enum config_purpose purpose, int flags,
    struct chain_result *res)
{
	memset(res, 0, sizeof(*res));
	if (purpose != st->purpose ||
	    X509_check_issued(f->cert, leaf) != X509_V_OK)
		return 0;
	if (chain_fast_one(f, leaf, at, chain_purpose_id(purpose),
	    flags & CHAIN_WANT_CHAIN, res))
		return 1;
	chain_result_cleanup(res);
	memset(res, 0, sizeof(*res));
	return 0;
}

/* ---- path building across candidate issuers ---- */

struct chain_paths {
	STACK_OF(X509)	*path[CHAIN_PATHS_MAX];	/* leaf first, anchor last */
	size_t		 n;
};

static void
chain_paths_free(struct chain_paths *ps)
{
	size_t	 i;

	for (i = 0; i < ps->n; i++)
		sk_X509_free(ps->path[i]);	/* the store owns the certificates */
	ps->n = 0;
}

/*
 * Every path from path[n - 1] up to an anchor through the configured
 * certificates that could have issued each one (name, key identifier and
 * keyUsage: X509_check_issued), depth first, in configuration order.
 * Bounded: CHAIN_CANDIDATES_MAX issuers per certificate, CHAIN_PATHS_MAX
 * paths, maxn certificates per path, no certificate twice in one path.
 */
static void
chain_paths_walk(const struct chain_store *st, X509 **path, int n, int maxn,
    struct chain_paths *ps)
{
	STACK_OF(X509)	*sk;
	X509		*cur = path[n - 1], *c;
	size_t		 i, na = (size_t)sk_X509_num(st->anchors);
	int		 j, cands = 0, seen;

	for (i = 0; (c = chain_store_ca(st, i)) != NULL &&
	    ps->n < CHAIN_PATHS_MAX; i++) {
		if (X509_check_issued(c, cur) != X509_V_OK)
			continue;
		for (seen = 0, j = 0; j < n; j++)
			if (X509_cmp(path[j], c) == 0)
				seen = 1;
		if (seen)
			continue;
		if (++cands > CHAIN_CANDIDATES_MAX)
			break;
		path[n] = c;
		if (i < na) {
			if ((sk = sk_X509_new_reserve(NULL, n + 1)) == NULL)
				return;
			for (j = 0; j <= n; j++)
				sk_X509_push(sk, path[j]);
			ps->path[ps->n++] = sk;
		} else if (n + 1 < maxn)
			chain_paths_walk(st, path, n + 1, maxn, ps);
	}
}

static void
chain_paths_find(const struct chain_store *st, X509 *leaf,
    struct chain_paths *ps)
{
	X509	*path[CHAIN_PATH_DEPTH_MAX];
	int	 maxn = (int)st->depth + 2;

	ps->n = 0;
	if (maxn > CHAIN_PATH_DEPTH_MAX)
		maxn = CHAIN_PATH_DEPTH_MAX;
	path[0] = leaf;
	chain_paths_walk(st, path, 1, maxn, ps);
}

/* Verify along exactly one path: its anchor alone, its intermediates. */
static int
chain_run_path(const struct chain_store *st, STACK_OF(X509) *path, time_t at,
    int pid, int want_chain, struct chain_result *res)
{
	STACK_OF(X509)	*ints;
	X509_STORE	*store;
	int		 i, n = sk_X509_num(path), rc = AUTHD_ENOMEM;

	if ((store = X509_STORE_new()) == NULL ||
	    (ints = sk_X509_new_reserve(NULL, n)) == NULL) {
		X509_STORE_free(store);
		return rc;
	}
	for (i = 1; i < n - 1; i++)
		sk_X509_push(ints, sk_X509_value(path, i));
	if (X509_STORE_add_cert(store, sk_X509_value(path, n - 1)) == 1 &&
	    (!st->partial ||
	    X509_STORE_set_flags(store, X509_V_FLAG_PARTIAL_CHAIN) == 1))
		rc = chain_run(store, ints, sk_X509_value(path, 0), at, pid,
		    (int)st->depth, want_chain, res);
	sk_X509_free(ints);
	X509_STORE_free(store);
	return rc;
}

/* Whether another path could change the answer: not the leaf's own fault. */
static int
chain_may_retry(const struct chain_result *res)
{
	switch (res->status) {
	case CHAIN_UNTRUSTED:
	case CHAIN_POLICY:
		return 1;
	case CHAIN_EXPIRED:
	case CHAIN_NOT_YET_VALID:
	case CHAIN_WRONG_PURPOSE:
		return res->error_depth > 0;
	default:
		return 0;
	}
}

/*
 * After X509_verify_cert's own path failed: the other candidate paths, in
 * order, until one verifies.  OpenSSL takes one issuer per certificate
 * (the first valid at the time) and does not go back when what is above
 * it fails: a renewed CA beside the old one, or a cross-certificate beside
 * the root, could hide the path that works.  res keeps the first failure
 * when none does.
 */
static void
chain_try_paths(const struct chain_store *st, X509 *leaf, time_t at, int pid,
    int want_chain, struct chain_result *res)
{
	struct chain_paths	 ps;
	struct chain_result	 alt;
	size_t			 i;

	chain_paths_find(st, leaf, &ps);
	if (ps.n < 2) {		/* the one path OpenSSL took, or none */
		chain_paths_free(&ps);
		return;
	}
	for (i = 0; i < ps.n; i++) {
		memset(&alt, 0, sizeof(alt));
		if (chain_run_path(st, ps.path[i], at, pid, want_chain,
		    &alt) == 0 && alt.status == CHAIN_OK) {
			chain_result_cleanup(res);
			*res = alt;
			res->alternative = (int)i + 1;
			break;
		}
		chain_result_cleanup(&alt);
	}
	chain_paths_free(&ps);
}

/* Whether path holds one of the certificates in avoid. */
static int
chain_path_avoided(STACK_OF(X509) *path, STACK_OF(X509) *avoid)
{
	int	 i, j;

	for (i = 1; i < sk_X509_num(path); i++)
		for (j = 0; j < sk_X509_num(avoid); j++)
			if (X509_cmp(sk_X509_value(path, i),
			    sk_X509_value(avoid, j)) == 0)
				return 1;
	return 0;
}

int
chain_verify_avoiding(const struct chain_store *st, X509 *leaf, time_t at,
    enum config_purpose purpose, int flags, STACK_OF(X509) *avoid,
    struct chain_result *res)
{
	struct chain_paths	 ps;
	struct chain_result	 alt;
	size_t			 i;
	int			 found = 0;

	memset(res, 0, sizeof(*res));
	chain_paths_find(st, leaf, &ps);
	for (i = 0; i < ps.n && !found; i++) {
		if (chain_path_avoided(ps.path[i], avoid))
			continue;
		memset(&alt, 0, sizeof(alt));
		if (chain_run_path(st, ps.path[i], at, chain_purpose_id(purpose),
		    flags & CHAIN_WANT_CHAIN, &alt) == 0 &&
		    alt.status == CHAIN_OK) {
			*res = alt;
			res->alternative = (int)i + 1;
			found = 1;
		} else
			chain_result_cleanup(&alt);
	}
	chain_paths_free(&ps);
	return found;
}

size_t
chain_describe_paths(const struct chain_store *st, X509 *leaf, time_t at,
    enum config_purpose purpose, char *buf, size_t len)
{
	struct chain_paths	 ps;
	struct chain_result	 r;
	char			 dn[256];
	size_t			 i, n, off = 0;
	int			 j;

	buf[0] = '\0';
	chain_paths_find(st, leaf, &ps);
	for (i = 0; i < ps.n; i++) {
		memset(&r, 0, sizeof(r));
		if (chain_run_path(st, ps.path[i], at,
		    chain_purpose_id(purpose), 0, &r) != 0) {
			r.status = CHAIN_ERROR;
			snprintf(r.detail, sizeof(r.detail), "out of memory");
		}
		n = (size_t)snprintf(buf + off, len - off, "path %zu:", i + 1);
		off = n < len - off ? off + n : len - 1;
		for (j = 1; j < sk_X509_num(ps.path[i]); j++) {
			X509		*c = sk_X509_value(ps.path[i], j);
			unsigned char	 md[EVP_MAX_MD_SIZE];
			unsigned int	 mdlen = 0;

			/* the name, and enough of the SHA-256 to tell twins apart */
			identity_dn(X509_get_subject_name(c), dn, sizeof(dn));
			if (X509_digest(c, EVP_sha256(), md, &mdlen) != 1 ||
			    mdlen < 4)
				memset(md, 0, 4);
			n = (size_t)snprintf(buf + off, len - off,
			    "%s %s [sha256 %02x%02x%02x%02x]", j > 1 ? " <-" : "",
			    dn, md[0], md[1], md[2], md[3]);
			off = n < len - off ? off + n : len - 1;
		}
		n = (size_t)snprintf(buf + off, len - off, ": %s\n",
		    r.status == CHAIN_OK ? "ok" : r.detail);
		off = n < len - off ? off + n : len - 1;
		chain_result_cleanup(&r);
	}
	n = ps.n;
	chain_paths_free(&ps);
	return n;
}

int
chain_verify(const struct chain_store *st, X509 *leaf, time_t at,
    enum config_purpose purpose, int flags, struct chain_result *res)
{
	int	 pid = chain_purpose_id(purpose), rc;

	memset(res, 0, sizeof(*res));
	/*
	 * A CA certificate is never a client: with the fast way it could even
	 * be its own trust anchor.  Purpose "any" checks no purpose at all, as
	 * X509_PURPOSE_ANY: there a CA certificate may be the end entity.
	 */
	if (purpose != CONFIG_PURPOSE_ANY &&
	    (X509_get_extension_flags(leaf) & EXFLAG_CA)) {
		res->status = CHAIN_WRONG_PURPOSE;
		res->x509_error = X509_V_ERR_INVALID_PURPOSE;
		res->error_depth = 0;
		snprintf(res->detail, sizeof(res->detail), "a CA certificate, "
		    "not an end-entity certificate");
		return 0;
	}
	if ((flags & CHAIN_FAST) && purpose == st->purpose &&
	    chain_try_fast(st, leaf, at, pid, flags & CHAIN_WANT_CHAIN, res))
		return 0;
	chain_result_cleanup(res);
	if ((rc = chain_run(st->full, st->ints, leaf, at, pid, (int)st->depth,
	    flags & CHAIN_WANT_CHAIN, res)) != 0)
		return rc;
	if (chain_may_retry(res))
		chain_try_paths(st, leaf, at, pid, flags & CHAIN_WANT_CHAIN,
		    res);
	return 0;
}

int
chain_missing_issuer(const struct chain_result *res)
{
	return res->status == CHAIN_UNTRUSTED &&
	    (res->x509_error == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY ||
	    res->x509_error == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT);
}

int
chain_verify_extra(const struct chain_store *st, X509 *leaf,
    STACK_OF(X509) *extra, time_t at, enum config_purpose purpose, int flags,
    struct chain_result *res)
{
	STACK_OF(X509)	*untrusted;
	int		 rc;

	memset(res, 0, sizeof(*res));
	if ((untrusted = chain_untrusted_with(st, extra)) == NULL) {
		res->status = CHAIN_ERROR;
		snprintf(res->detail, sizeof(res->detail), "out of memory");
		return AUTHD_ENOMEM;
	}
	rc = chain_run(st->full, untrusted, leaf, at,
	    chain_purpose_id(purpose), (int)st->depth,
	    flags & CHAIN_WANT_CHAIN, res);
	sk_X509_free(untrusted);
	return rc;
}
