/*
 * test_chain.c PKI_DIR: chain_store_load and chain_verify against the
 * fixtures of tests/pki/gen.sh.  Every case runs the full way and the
 * fast way, which must agree.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "chain.h"
#include "config.h"
#include "err.h"
#include "identity.h"
#include "t.h"

#define DAY	 86400

static const char	*pki;
static time_t		 now;
static int		 store_partial;	/* trust_partial of the next store_of */

static X509 *
load_cert(const char *name)
{
	char	 path[512];
	FILE	*f;
	X509	*x;

	snprintf(path, sizeof(path), "%s/%s", pki, name);
	if ((f = fopen(path, "r")) == NULL) {
		fprintf(stderr, "cannot open fixture %s\n", path);
		exit(2);
	}
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (x == NULL) {
		fprintf(stderr, "cannot parse fixture %s\n", path);
		exit(2);
	}
	return x;
}

static void
validity(X509 *x, time_t *nb, time_t *na)
{
	if (identity_time(X509_get0_notBefore(x), nb) != 0 ||
	    identity_time(X509_get0_notAfter(x), na) != 0) {
		fprintf(stderr, "fixture without validity\n");
		exit(2);
	}
}

/*
 * A store from trust files and intermediates files (space-separated
 * fixture names, NULL for none), with purpose; stderr is captured into
 * *err (may be NULL to discard).  Returns chain_store_load's rc.
 */
static int
store_of(const char *trust, const char *ints, enum config_purpose purpose,
    struct config *cfg, struct chain_store **st, char **err)
{
	struct t_capture	 cap;
	const char		*lists[2] = { trust, ints };
	const char		*keys[2] = { "trust", "intermediates" };
	char			 path[512], name[128];
	const char		*p, *sp;
	size_t			 len;
	int			 i, rc;
	char			*text;

	config_init(cfg);
	cfg->purpose = purpose;
	cfg->trust_partial = store_partial;
	for (i = 0; i < 2; i++) {
		for (p = lists[i]; p != NULL && *p != '\0'; p = *sp ? sp + 1 : sp) {
			if ((sp = strchr(p, ' ')) == NULL)
				sp = p + strlen(p);
			len = (size_t)(sp - p);
			snprintf(name, sizeof(name), "%.*s", (int)len, p);
			if (name[0] == '/')
				snprintf(path, sizeof(path), "%s", name);
			else
				snprintf(path, sizeof(path), "%s/%s", pki, name);
			config_set_flag(cfg, keys[i], path);
		}
	}
	t_capture_start(&cap);
	rc = chain_store_load(cfg, st);
	text = t_capture_end(&cap);
	if (err != NULL)
		*err = text;
	else
		free(text);
	return rc;
}

static const char *
status_name(enum chain_status s)
{
	switch (s) {
	case CHAIN_OK: return "OK";
	case CHAIN_UNTRUSTED: return "UNTRUSTED";
	case CHAIN_EXPIRED: return "EXPIRED";
	case CHAIN_NOT_YET_VALID: return "NOT_YET_VALID";
	case CHAIN_WRONG_PURPOSE: return "WRONG_PURPOSE";
	case CHAIN_POLICY: return "POLICY";
	case CHAIN_ERROR: return "ERROR";
	}
	return "?";
}

static const char *
purpose_name(enum config_purpose p)
{
	return p == CONFIG_PURPOSE_CLIENT ? "client" :
	    p == CONFIG_PURPOSE_SERVER ? "server" : "any";
}

/* when to verify, relative to the leaf or to now */
enum when {
	NOW,
	PLUS_2Y,		/* now + 730 days */
	LEAF_NB_MINUS_1D,	/* the leaf's notBefore - 1 day */
	LEAF_NB_PLUS_1D,
	LEAF_NA_MINUS_1S,
	LEAF_NA_PLUS_1S,
	CA_NB_MINUS_1D,		/* before the CAs (now - 800d) */
};

struct vcase {
	const char		*file;
	enum config_purpose	 purpose;
	enum when		 when;
	enum chain_status	 want;
	const char		*detail;	/* substring of res.detail, or NULL */
	int			 via_int;	/* issued by the intermediate */
};

static const struct vcase vcases[] = {
	{ "client.pem", CONFIG_PURPOSE_CLIENT, NOW, CHAIN_OK, NULL, 1 },
	{ "client2.pem", CONFIG_PURPOSE_CLIENT, NOW, CHAIN_OK, NULL, 1 },
	{ "noeku.pem", CONFIG_PURPOSE_CLIENT, NOW, CHAIN_OK, NULL, 1 },
	{ "noeku.pem", CONFIG_PURPOSE_SERVER, NOW, CHAIN_OK, NULL, 1 },
	{ "noeku.pem", CONFIG_PURPOSE_ANY, NOW, CHAIN_OK, NULL, 1 },
	{ "client.pem", CONFIG_PURPOSE_ANY, NOW, CHAIN_OK, NULL, 1 },
	{ "client.pem", CONFIG_PURPOSE_SERVER, NOW, CHAIN_WRONG_PURPOSE, "purpose", 1 },
	{ "expired.pem", CONFIG_PURPOSE_CLIENT, NOW, CHAIN_EXPIRED, "expired", 1 },
	{ "expired.pem", CONFIG_PURPOSE_ANY, NOW, CHAIN_EXPIRED, "expired", 1 },
	{ "notyet.pem", CONFIG_PURPOSE_CLIENT, NOW, CHAIN_NOT_YET_VALID, "not yet valid", 1 },
	{ "server-only.pem", CONFIG_PURPOSE_CLIENT, NOW, CHAIN_WRONG_PURPOSE, "purpose", 1 },
	{ "server-only.pem", CONFIG_PURPOSE_SERVER, NOW, CHAIN_OK, NULL, 1 },
	{ "server-only.pem", CONFIG_PURPOSE_ANY, NOW, CHAIN_OK, NULL, 1 },
	{ "server.pem", CONFIG_PURPOSE_CLIENT, NOW, CHAIN_WRONG_PURPOSE, "purpose", 1 },
	{ "server.pem", CONFIG_PURPOSE_SERVER, NOW, CHAIN_OK, NULL, 1 },
	{ "other-client.pem", CONFIG_PURPOSE_CLIENT, NOW, CHAIN_UNTRUSTED, "local issuer", 0 },
	{ "other-client.pem", CONFIG_PURPOSE_ANY, NOW, CHAIN_UNTRUSTED, NULL, 0 },
	{ "intermediate.pem", CONFIG_PURPOSE_CLIENT, NOW, CHAIN_WRONG_PURPOSE, "a CA certificate", 0 },
	/* purpose any checks no purpose: a CA may be the end entity */
	{ "intermediate.pem", CONFIG_PURPOSE_ANY, NOW, CHAIN_OK, NULL, 0 },
	{ "root.pem", CONFIG_PURPOSE_CLIENT, NOW, CHAIN_WRONG_PURPOSE, "a CA certificate", 0 },
	{ "root.pem", CONFIG_PURPOSE_ANY, NOW, CHAIN_OK, NULL, 0 },
	{ "other-root.pem", CONFIG_PURPOSE_CLIENT, NOW, CHAIN_WRONG_PURPOSE, "a CA certificate", 0 },
	/* the clock moved */
	{ "client.pem", CONFIG_PURPOSE_CLIENT, PLUS_2Y, CHAIN_EXPIRED, "expired", 1 },
	{ "client.pem", CONFIG_PURPOSE_CLIENT, LEAF_NB_MINUS_1D, CHAIN_NOT_YET_VALID, "not yet valid", 1 },
	{ "client.pem", CONFIG_PURPOSE_CLIENT, LEAF_NB_PLUS_1D, CHAIN_OK, NULL, 1 },
	{ "client.pem", CONFIG_PURPOSE_CLIENT, LEAF_NA_MINUS_1S, CHAIN_OK, NULL, 1 },
	{ "client.pem", CONFIG_PURPOSE_CLIENT, LEAF_NA_PLUS_1S, CHAIN_EXPIRED, "expired", 1 },
	{ "client.pem", CONFIG_PURPOSE_CLIENT, CA_NB_MINUS_1D, CHAIN_NOT_YET_VALID, NULL, 1 },
	{ "expired.pem", CONFIG_PURPOSE_CLIENT, LEAF_NB_PLUS_1D, CHAIN_OK, NULL, 1 },
	{ "expired.pem", CONFIG_PURPOSE_CLIENT, LEAF_NA_MINUS_1S, CHAIN_OK, NULL, 1 },
	{ "expired.pem", CONFIG_PURPOSE_CLIENT, LEAF_NB_MINUS_1D, CHAIN_NOT_YET_VALID, NULL, 1 },
	{ "notyet.pem", CONFIG_PURPOSE_CLIENT, LEAF_NB_PLUS_1D, CHAIN_OK, NULL, 1 },
	{ "notyet.pem", CONFIG_PURPOSE_CLIENT, PLUS_2Y, CHAIN_EXPIRED, NULL, 1 },
	{ "server-only.pem", CONFIG_PURPOSE_CLIENT, LEAF_NB_PLUS_1D, CHAIN_WRONG_PURPOSE, NULL, 1 },
	{ "other-client.pem", CONFIG_PURPOSE_CLIENT, LEAF_NB_PLUS_1D, CHAIN_UNTRUSTED, NULL, 0 },
	{ "intermediate.pem", CONFIG_PURPOSE_CLIENT, PLUS_2Y, CHAIN_WRONG_PURPOSE, NULL, 0 },
};

static const char *
when_name(enum when w)
{
	static const char *const names[] = { "now", "now+730d",
	    "leaf notBefore-1d", "leaf notBefore+1d", "leaf notAfter-1s",
	    "leaf notAfter+1s", "CA notBefore-1d" };

	return names[w];
}

static time_t
when_of(enum when w, X509 *leaf, time_t ca_nb)
{
	time_t	 nb, na;

	validity(leaf, &nb, &na);
	switch (w) {
	case NOW: return 0;
	case PLUS_2Y: return now + 730 * DAY;
	case LEAF_NB_MINUS_1D: return nb - DAY;
	case LEAF_NB_PLUS_1D: return nb + DAY;
	case LEAF_NA_MINUS_1S: return na - 1;
	case LEAF_NA_PLUS_1S: return na + 1;
	case CA_NB_MINUS_1D: return ca_nb - DAY;
	}
	return 0;
}

/* The table against a store whose own purpose is store_purpose. */
static void
test_table(enum config_purpose store_purpose)
{
	const struct vcase	*c;
	struct config		 cfg;
	struct chain_store	*st = NULL;
	struct chain_result	 full, fast;
	X509			*leaf, *root;
	time_t			 at, nb, na, ca_nb, ca_na, t;
	char			*err;
	size_t			 i;
	int			 rc1, rc2, want_fast;

	root = load_cert("root.pem");
	validity(root, &ca_nb, &ca_na);
	X509_free(root);
	rc1 = store_of("trust.pem", "intermediates.pem", store_purpose, &cfg,
	    &st, &err);
	CHECK(rc1 == 0 && st != NULL && cfg.nerrors == 0 && err[0] == '\0',
	    "store (purpose %s): rc %d, %d errors: %s",
	    purpose_name(store_purpose), rc1, cfg.nerrors, err);
	free(err);
	if (st == NULL) {
		config_cleanup(&cfg);
		return;
	}
	CHECK(chain_store_anchors(st) == 1 && chain_store_intermediates(st) == 1 &&
	    chain_store_fast(st) == 1, "store counts: anchors %zu "
	    "intermediates %zu fast %zu, expected 1 1 1",
	    chain_store_anchors(st), chain_store_intermediates(st),
	    chain_store_fast(st));

	for (i = 0; i < sizeof(vcases) / sizeof(vcases[0]); i++) {
		c = &vcases[i];
		leaf = load_cert(c->file);
		at = when_of(c->when, leaf, ca_nb);
		rc1 = chain_verify(st, leaf, at, c->purpose, 0, &full);
		rc2 = chain_verify(st, leaf, at, c->purpose, CHAIN_FAST, &fast);
		CHECK(rc1 == 0 && full.status == c->want,
		    "[store %s] %s, purpose %s, at %s: expected %s, got rc %d "
		    "%s (%s)", purpose_name(store_purpose), c->file,
		    purpose_name(c->purpose), when_name(c->when),
		    status_name(c->want), rc1, status_name(full.status),
		    full.detail);
		CHECK(rc2 == 0 && fast.status == full.status,
		    "[store %s] %s, purpose %s, at %s: CHAIN_FAST gave %s, the "
		    "full way %s (%s / %s)", purpose_name(store_purpose),
		    c->file, purpose_name(c->purpose), when_name(c->when),
		    status_name(fast.status), status_name(full.status),
		    fast.detail, full.detail);
		if (c->detail != NULL)
			CHECK(t_contains(full.detail, c->detail) &&
			    t_contains(fast.detail, c->detail),
			    "%s at %s: detail expected to contain \"%s\", got "
			    "\"%s\" / fast \"%s\"", c->file, when_name(c->when),
			    c->detail, full.detail, fast.detail);
		want_fast = c->want == CHAIN_OK && c->via_int &&
		    c->purpose == store_purpose;
		CHECK(full.fast == 0 && fast.fast == want_fast,
		    "[store %s] %s, purpose %s, at %s: fast flag expected 0 "
		    "(full) and %d (CHAIN_FAST), got %d and %d",
		    purpose_name(store_purpose), c->file,
		    purpose_name(c->purpose), when_name(c->when), want_fast,
		    full.fast, fast.fast);
		if (full.status == CHAIN_OK) {
			validity(leaf, &nb, &na);
			t = at != 0 ? at : time(NULL);
			CHECK(full.valid_from == nb && full.valid_until == na &&
			    fast.valid_from == nb && fast.valid_until == na,
			    "%s at %s: valid window expected the leaf's "
			    "%lld..%lld, got %lld..%lld (fast %lld..%lld)",
			    c->file, when_name(c->when), (long long)nb,
			    (long long)na, (long long)full.valid_from,
			    (long long)full.valid_until,
			    (long long)fast.valid_from,
			    (long long)fast.valid_until);
			CHECK(full.valid_from <= t && t <= full.valid_until,
			    "%s at %s: decision time outside the window",
			    c->file, when_name(c->when));
			CHECK(full.x509_error == 0 && full.error_depth == -1,
			    "%s: OK with x509_error %d depth %d", c->file,
			    full.x509_error, full.error_depth);
		} else {
			CHECK(full.x509_error != 0 && full.detail[0] != '\0',
			    "%s: %s without x509_error or detail", c->file,
			    status_name(full.status));
		}
		CHECK(full.chain == NULL && fast.chain == NULL,
		    "%s: a chain without CHAIN_WANT_CHAIN", c->file);
		chain_result_cleanup(&full);
		chain_result_cleanup(&fast);
		X509_free(leaf);
	}
	chain_store_free(&st);
	CHECK(st == NULL, "chain_store_free sets NULL");
	chain_store_free(&st);
	config_cleanup(&cfg);
}

static void
test_want_chain(void)
{
	struct config		 cfg;
	struct chain_store	*st = NULL;
	struct chain_result	 res;
	X509			*leaf, *inter, *root;
	int			 n, rc;

	store_of("trust.pem", "intermediates.pem", CONFIG_PURPOSE_CLIENT, &cfg,
	    &st, NULL);
	if (st == NULL) {
		CHECK(0, "want_chain: no store");
		config_cleanup(&cfg);
		return;
	}
	leaf = load_cert("client.pem");
	inter = load_cert("intermediate.pem");
	root = load_cert("root.pem");

	rc = chain_verify(st, leaf, 0, CONFIG_PURPOSE_CLIENT, CHAIN_WANT_CHAIN,
	    &res);
	n = res.chain != NULL ? sk_X509_num(res.chain) : -1;
	CHECK(rc == 0 && res.status == CHAIN_OK && n == 3,
	    "CHAIN_WANT_CHAIN: expected OK and 3 certificates, got %s and %d",
	    status_name(res.status), n);
	if (n == 3)
		CHECK(X509_cmp(sk_X509_value(res.chain, 0), leaf) == 0 &&
		    X509_cmp(sk_X509_value(res.chain, 1), inter) == 0 &&
		    X509_cmp(sk_X509_value(res.chain, 2), root) == 0,
		    "CHAIN_WANT_CHAIN: expected client, intermediate, root");
	/* res may be reused after cleanup */
	chain_result_cleanup(&res);
	CHECK(res.chain == NULL, "chain_result_cleanup leaves chain NULL");
	chain_result_cleanup(&res);

	rc = chain_verify(st, leaf, 0, CONFIG_PURPOSE_CLIENT,
	    CHAIN_WANT_CHAIN | CHAIN_FAST, &res);
	n = res.chain != NULL ? sk_X509_num(res.chain) : -1;
	CHECK(rc == 0 && res.status == CHAIN_OK && res.fast == 1 && n >= 2 &&
	    X509_cmp(sk_X509_value(res.chain, 0), leaf) == 0,
	    "CHAIN_WANT_CHAIN|CHAIN_FAST: expected OK, fast, a chain from the "
	    "leaf; got %s fast %d, %d certificates", status_name(res.status),
	    res.fast, n);
	chain_result_cleanup(&res);

	/* a failed verification may return a chain too: it must be freeable */
	X509_free(leaf);
	leaf = load_cert("expired.pem");
	rc = chain_verify(st, leaf, 0, CONFIG_PURPOSE_CLIENT, CHAIN_WANT_CHAIN,
	    &res);
	CHECK(rc == 0 && res.status == CHAIN_EXPIRED && res.error_depth == 0,
	    "expired, CHAIN_WANT_CHAIN: got %s depth %d",
	    status_name(res.status), res.error_depth);
	chain_result_cleanup(&res);

	X509_free(leaf);
	X509_free(inter);
	X509_free(root);
	chain_store_free(&st);
	config_cleanup(&cfg);
}

/* stores built differently */
static void
test_stores(void)
{
	static const struct {
		const char		*name;
		const char		*trust, *ints;
		const char		*leaf;
		enum chain_status	 want;
		size_t			 anchors, nints, nfast;
		const char		*stderr_has;	/* or NULL: silent */
	} cases[] = {
		{ "no intermediates", "trust.pem", NULL, "client.pem",
		    CHAIN_UNTRUSTED, 1, 0, 0, NULL },
		{ "no intermediates, noeku", "trust.pem", NULL, "noeku.pem",
		    CHAIN_UNTRUSTED, 1, 0, 0, NULL },
		{ "intermediate as anchor only", "intermediate.pem", NULL,
		    "client.pem", CHAIN_UNTRUSTED, 1, 0, 0,
		    "is not self-signed: no chain ends at it" },
		{ "foreign root only", "other-root.pem", "intermediates.pem",
		    "client.pem", CHAIN_UNTRUSTED, 1, 1, 0,
		    "does not verify" },
		{ "foreign root: its client", "other-root.pem", NULL,
		    "other-client.pem", CHAIN_OK, 1, 0, 0, NULL },
		{ "two roots: ours", "trust.pem other-root.pem",
		    "intermediates.pem", "client.pem", CHAIN_OK, 2, 1, 1, NULL },
		{ "two roots: theirs", "trust.pem other-root.pem",
		    "intermediates.pem", "other-client.pem", CHAIN_OK, 2, 1, 1,
		    NULL },
		{ "two trust files", "root.pem other-root.pem", NULL,
		    "other-client.pem", CHAIN_OK, 2, 0, 0, NULL },
		{ "the chain file as intermediates", "trust.pem",
		    "client-chain.pem", "client2.pem", CHAIN_OK, 1, 2, 1,
		    "take the full path" },
		{ "a foreign root as intermediate", "trust.pem",
		    "intermediates.pem other-root.pem", "other-client.pem",
		    CHAIN_UNTRUSTED, 1, 2, 1, "does not verify" },
	};
	struct config		 cfg;
	struct chain_store	*st;
	struct chain_result	 full, fast;
	X509			*leaf;
	char			*err;
	size_t			 i;
	int			 rc;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		st = NULL;
		rc = store_of(cases[i].trust, cases[i].ints,
		    CONFIG_PURPOSE_CLIENT, &cfg, &st, &err);
		CHECK(rc == 0 && st != NULL, "%s: store rc %d: %s",
		    cases[i].name, rc, err);
		if (st == NULL) {
			free(err);
			config_cleanup(&cfg);
			continue;
		}
		CHECK(cases[i].stderr_has != NULL ?
		    t_contains(err, cases[i].stderr_has) : err[0] == '\0',
		    "%s: stderr expected %s%s, got: %s", cases[i].name,
		    cases[i].stderr_has ? "to contain " : "empty",
		    cases[i].stderr_has ? cases[i].stderr_has : "", err);
		CHECK(chain_store_anchors(st) == cases[i].anchors &&
		    chain_store_intermediates(st) == cases[i].nints &&
		    chain_store_fast(st) == cases[i].nfast,
		    "%s: anchors/intermediates/fast expected %zu %zu %zu, got "
		    "%zu %zu %zu", cases[i].name, cases[i].anchors,
		    cases[i].nints, cases[i].nfast, chain_store_anchors(st),
		    chain_store_intermediates(st), chain_store_fast(st));
		leaf = load_cert(cases[i].leaf);
		chain_verify(st, leaf, 0, CONFIG_PURPOSE_CLIENT, 0, &full);
		chain_verify(st, leaf, 0, CONFIG_PURPOSE_CLIENT, CHAIN_FAST,
		    &fast);
		CHECK(full.status == cases[i].want && fast.status == full.status,
		    "%s: %s expected %s, got %s (fast %s): %s", cases[i].name,
		    cases[i].leaf, status_name(cases[i].want),
		    status_name(full.status), status_name(fast.status),
		    full.detail);
		X509_free(leaf);
		free(err);
		chain_store_free(&st);
		config_cleanup(&cfg);
	}
}

/* files that are not trust stores */
static void
test_load_errors(void)
{
	static const struct {
		const char	*name;
		const char	*file;		/* written to the temp dir */
		const char	*content;	/* NULL: do not create */
		int		 as_ints;	/* as intermediates, not trust */
		const char	*msg;
	} cases[] = {
		{ "missing trust file", "none.pem", NULL, 0, "cannot read " },
		{ "empty trust file", "empty.pem", "", 0,
		    "no PEM certificates found" },
		{ "garbage trust file", "garbage.pem",
		    "this is not a certificate\n\x01\x02\xff\n", 0,
		    "no PEM certificates found" },
		{ "armoured garbage", "armoured.pem",
		    "-----BEGIN CERTIFICATE-----\nQUJD\n-----END CERTIFICATE-----\n",
		    0, "bad certificate after 0 good ones" },
		{ "bad base64", "badb64.pem",
		    "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n",
		    0, "bad certificate after 0 good ones" },
		{ "truncated PEM", "trunc.pem",
		    "-----BEGIN CERTIFICATE-----\nMIIB\n", 0,
		    "bad certificate after 0 good ones" },
		{ "a key, not a certificate", "key.pem", "@client.key", 0,
		    "no PEM certificates found" },
		{ "missing intermediates file", "none.pem", NULL, 1,
		    "cannot read " },
		{ "empty intermediates file", "empty.pem", "", 1,
		    "no PEM certificates found" },
		{ "good certificate, then garbage", "half.pem", "@root.pem+", 0,
		    "bad certificate after 1 good ones" },
	};
	char			 tmp[64], path[512], want[700], *err, *data;
	struct config		 cfg;
	struct chain_store	*st;
	size_t			 i, len;
	int			 rc;

	t_tmpdir(tmp, sizeof(tmp));
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", tmp, cases[i].file);
		if (cases[i].content != NULL && cases[i].content[0] == '@') {
			/* a fixture's content, "+": with armoured garbage after */
			char	 fx[512], *plus;

			snprintf(fx, sizeof(fx), "%s/%s", pki, cases[i].content + 1);
			if ((plus = strchr(fx, '+')) != NULL)
				*plus = '\0';
			data = t_read(fx, &len);
			if (data == NULL) {
				CHECK(0, "cannot read fixture %s", fx);
				continue;
			}
			if (plus != NULL) {
				static const char g[] = "-----BEGIN CERTIFICATE-----\n"
				    "QUJD\n-----END CERTIFICATE-----\n";
				char *n = malloc(len + sizeof(g));

				memcpy(n, data, len);
				memcpy(n + len, g, sizeof(g));
				free(data);
				data = n;
				len += sizeof(g) - 1;
			}
			t_write(tmp, cases[i].file, data, len, path, sizeof(path));
			free(data);
		} else if (cases[i].content != NULL)
			t_write(tmp, cases[i].file, cases[i].content,
			    strlen(cases[i].content), path, sizeof(path));
		st = NULL;
		rc = store_of(cases[i].as_ints ? "trust.pem" : path,
		    cases[i].as_ints ? path : NULL, CONFIG_PURPOSE_CLIENT, &cfg,
		    &st, &err);
		snprintf(want, sizeof(want), "--%s: ", cases[i].as_ints ?
		    "intermediates" : "trust");
		CHECK(rc != 0 && st == NULL && cfg.nerrors > 0 &&
		    t_contains(err, want) && t_contains(err, cases[i].msg),
		    "%s: expected rc != 0, no store, errors, stderr with \"%s\" "
		    "and \"%s\"; got rc %d, store %p, %d errors, stderr: %s",
		    cases[i].name, want, cases[i].msg, rc, (void *)st,
		    cfg.nerrors, err);
		free(err);
		chain_store_free(&st);
		config_cleanup(&cfg);
	}

	/* every bad file is reported, not only the first */
	snprintf(path, sizeof(path), "%s/none.pem", tmp);
	snprintf(want, sizeof(want), "%s/empty.pem", tmp);
	config_init(&cfg);
	config_set_flag(&cfg, "trust", path);
	config_set_flag(&cfg, "trust", want);
	snprintf(want, sizeof(want), "%s/garbage.pem", tmp);
	config_set_flag(&cfg, "intermediates", want);
	{
		struct t_capture cap;

		t_capture_start(&cap);
		rc = chain_store_load(&cfg, &st);
		err = t_capture_end(&cap);
	}
	CHECK(rc != 0 && st == NULL && cfg.nerrors == 3 &&
	    t_count(err, "\n") == 3, "three bad files: expected 3 errors, got "
	    "rc %d, %d errors: %s", rc, cfg.nerrors, err);
	free(err);
	config_cleanup(&cfg);
	t_rmtree(tmp);
}

/* chain_store_new: the same store from certificates in memory (doctor). */
static void
test_store_new(void)
{
	static const struct {
		const char	*anchor, *intermediate, *leaf;
		enum chain_status want;
	} cases[] = {
		{ "root.pem", "intermediate.pem", "client.pem", CHAIN_OK },
		{ "root.pem", NULL, "client.pem", CHAIN_UNTRUSTED },
		{ "other-root.pem", "intermediate.pem", "client.pem",
		    CHAIN_UNTRUSTED },
		{ "root.pem", "intermediate.pem", "other-client.pem",
		    CHAIN_UNTRUSTED },
	};
	struct chain_store	*st;
	struct chain_result	 res;
	STACK_OF(X509)		*a, *m;
	X509			*leaf;
	size_t			 i;
	int			 rc;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		a = sk_X509_new_null();
		m = sk_X509_new_null();
		sk_X509_push(a, load_cert(cases[i].anchor));
		if (cases[i].intermediate != NULL)
			sk_X509_push(m, load_cert(cases[i].intermediate));
		rc = chain_store_new(a, cases[i].intermediate ? m : NULL, 4,
		    CONFIG_PURPOSE_CLIENT, &st);
		/* Copied: the caller's stacks go, the store stays usable. */
		sk_X509_pop_free(a, X509_free);
		sk_X509_pop_free(m, X509_free);
		CHECK(rc == 0 && st != NULL, "case %zu: chain_store_new rc %d",
		    i, rc);
		if (st == NULL)
			continue;
		CHECK(chain_store_anchors(st) == 1 &&
		    chain_store_intermediates(st) ==
		    (cases[i].intermediate ? 1u : 0u), "case %zu: counts %zu "
		    "%zu", i, chain_store_anchors(st),
		    chain_store_intermediates(st));
		leaf = load_cert(cases[i].leaf);
		memset(&res, 0, sizeof(res));
		rc = chain_verify(st, leaf, now, CONFIG_PURPOSE_CLIENT, 0, &res);
		CHECK(rc == 0 && res.status == cases[i].want, "case %zu: %s "
		    "under %s: expected status %d, got %d (%s)", i,
		    cases[i].leaf, cases[i].anchor, cases[i].want, res.status,
		    res.detail);
		chain_result_cleanup(&res);
		X509_free(leaf);
		chain_store_free(&st);
	}
}

/* chain_store_find: each anchor and intermediate by its SHA-1, nothing else. */
static void
test_store_find(void)
{
	static const char *const anchors[] = { "root.pem", "other-root.pem" };
	static const char *const ints[] = { "intermediate.pem",
	    "intermediate-nocrlsign.pem", "aia/ica.pem" };
	static const char *const others[] = { "client.pem", "server.pem" };
	unsigned char		 sha1[CHAIN_SHA1_LEN];
	struct chain_store	*st = NULL;
	STACK_OF(X509)		*a, *m;
	X509			*x, *found;
	size_t			 i;

	a = sk_X509_new_null();
	m = sk_X509_new_null();
	for (i = 0; i < sizeof(anchors) / sizeof(anchors[0]); i++)
		sk_X509_push(a, load_cert(anchors[i]));
	for (i = 0; i < sizeof(ints) / sizeof(ints[0]); i++)
		sk_X509_push(m, load_cert(ints[i]));
	CHECK(chain_store_new(a, m, 4, CONFIG_PURPOSE_CLIENT, &st) == 0 &&
	    st != NULL, "find: chain_store_new");
	for (i = 0; st != NULL && i < (size_t)sk_X509_num(a) +
	    (size_t)sk_X509_num(m); i++) {
		x = i < (size_t)sk_X509_num(a) ? sk_X509_value(a, (int)i) :
		    sk_X509_value(m, (int)(i - (size_t)sk_X509_num(a)));
		X509_digest(x, EVP_sha1(), sha1, NULL);
		found = chain_store_find(st, sha1);
		CHECK(found != NULL && X509_cmp(found, x) == 0, "find: "
		    "certificate %zu of the store by its SHA-1", i);
	}
	for (i = 0; st != NULL && i < sizeof(others) / sizeof(others[0]);
	    i++) {
		x = load_cert(others[i]);
		X509_digest(x, EVP_sha1(), sha1, NULL);
		CHECK(chain_store_find(st, sha1) == NULL, "find: %s is not in "
		    "the store", others[i]);
		X509_free(x);
	}
	memset(sha1, 0, sizeof(sha1));
	CHECK(st == NULL || chain_store_find(st, sha1) == NULL, "find: zeros");
	sk_X509_pop_free(a, X509_free);
	sk_X509_pop_free(m, X509_free);
	chain_store_free(&st);
}

#define PIV_AUTH	 "2.16.840.1.101.3.2.1.3.13"
#define PCY_LOW		 "1.3.6.1.4.1.99999.2.1"
#define BRIDGE_MED	 "1.3.6.1.4.1.99999.9.1"
#define ANY_POLICY	 "2.5.29.32.0"

static void
pcy_of(struct policy_pcy *p, const char *oids, int expl, int map, int any)
{
	const char	*s, *sp;

	memset(p, 0, sizeof(*p));
	for (s = oids; s != NULL && *s != '\0'; s = *sp ? sp + 1 : sp) {
		if ((sp = strchr(s, ' ')) == NULL)
			sp = s + strlen(s);
		snprintf(p->oids[p->noids++], POLICY_OID_MAX, "%.*s",
		    (int)(sp - s), s);
	}
	p->explicit_policy = expl;
	p->inhibit_mapping = map;
	p->inhibit_any = any;
}

/*
 * RFC 5280 6.1 with the pcy/ fixtures: the chain's own requireExplicitPolicy
 * in chain_verify, then chain_policy with settings, the valid set after
 * mapping, and base + add.
 */
static void
test_policies(void)
{
	static const struct {
		const char	*trust, *ints, *leaf;
		const char	*oids;		/* add's user set, "" none */
		int		 expl, map, any;
		enum chain_pcy_status want;
		const char	*set;		/* the valid set, joined by ' ' */
	} cases[] = {
		/* no settings: any policy, the leaf's own in the set */
		{ "pcy/root.pem", "pcy/intermediates.pem", "pcy/piv.pem", "", 0, 0, 0, CHAIN_PCY_OK, PIV_AUTH },
		{ "pcy/root.pem", "pcy/intermediates.pem", "pcy/none.pem", "", 0, 0, 0, CHAIN_PCY_OK, "" },
		/* require_policy PIV */
		{ "pcy/root.pem", "pcy/intermediates.pem", "pcy/piv.pem", PIV_AUTH, 0, 0, 0, CHAIN_PCY_OK, PIV_AUTH },
		{ "pcy/root.pem", "pcy/intermediates.pem", "pcy/low.pem", PIV_AUTH, 0, 0, 0, CHAIN_PCY_NOT_ACCEPTED, "" },
		{ "pcy/root.pem", "pcy/intermediates.pem", "pcy/none.pem", PIV_AUTH, 0, 0, 0, CHAIN_PCY_NOT_ACCEPTED, "" },
		{ "pcy/root.pem", "pcy/intermediates.pem", "pcy/low.pem", PIV_AUTH " " PCY_LOW, 0, 0, 0, CHAIN_PCY_OK, PCY_LOW },
		/* explicit_policy alone: any valid policy will do */
		{ "pcy/root.pem", "pcy/intermediates.pem", "pcy/low.pem", "", 1, 0, 0, CHAIN_PCY_OK, PCY_LOW },
		{ "pcy/root.pem", "pcy/intermediates.pem", "pcy/none.pem", "", 1, 0, 0, CHAIN_PCY_NOT_ACCEPTED, "" },
		/* under anyPolicy with requireExplicitPolicy: the leaf's */
		{ "pcy/root.pem", "pcy/intermediates.pem", "pcy/strict-piv.pem", "", 0, 0, 0, CHAIN_PCY_OK, PIV_AUTH },
		{ "pcy/root.pem", "pcy/intermediates.pem", "pcy/strict-piv.pem", PIV_AUTH, 0, 0, 0, CHAIN_PCY_OK, PIV_AUTH },
		/* inhibit_any_policy: the CA's anyPolicy no longer matches PIV */
		{ "pcy/root.pem", "pcy/intermediates.pem", "pcy/strict-piv.pem", "", 0, 0, 1, CHAIN_PCY_NOT_ACCEPTED, "" },
		/* the bridge: PIV in the leaf's domain is bridge-medium in the anchor's */
		{ "pcy/bridge-root.pem", "pcy/bridge-intermediates.pem", "pcy/piv.pem", "", 0, 0, 0, CHAIN_PCY_OK, BRIDGE_MED },
		{ "pcy/bridge-root.pem", "pcy/bridge-intermediates.pem", "pcy/piv.pem", BRIDGE_MED, 0, 0, 0, CHAIN_PCY_OK, BRIDGE_MED },
		{ "pcy/bridge-root.pem", "pcy/bridge-intermediates.pem", "pcy/piv.pem", PIV_AUTH, 0, 0, 0, CHAIN_PCY_NOT_ACCEPTED, "" },
		{ "pcy/bridge-root.pem", "pcy/bridge-intermediates.pem", "pcy/piv.pem", BRIDGE_MED, 0, 1, 0, CHAIN_PCY_NOT_ACCEPTED, "" },
		{ "pcy/bridge-root.pem", "pcy/bridge-intermediates.pem", "pcy/low.pem", BRIDGE_MED, 0, 0, 0, CHAIN_PCY_NOT_ACCEPTED, "" },
	};
	struct config		 cfg;
	struct chain_store	*st;
	struct chain_result	 res;
	struct chain_pcy_result	 pr;
	struct policy_pcy	 add, base;
	char			 set[512];
	size_t			 i, j;
	X509			*x;
	int			 fl;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (store_of(cases[i].trust, cases[i].ints, CONFIG_PURPOSE_CLIENT,
		    &cfg, &st, NULL) != 0) {
			CHECK(0, "policies %zu: store", i);
			config_cleanup(&cfg);
			continue;
		}
		x = load_cert(cases[i].leaf);
		for (fl = 0; fl <= CHAIN_FAST; fl += CHAIN_FAST) {
			CHECK(chain_verify(st, x, 0, CONFIG_PURPOSE_CLIENT,
			    fl | CHAIN_WANT_CHAIN, &res) == 0 &&
			    res.status == CHAIN_OK, "policies %zu (%s, fast %d): "
			    "chain %s: %s", i, cases[i].leaf, fl,
			    status_name(res.status), res.detail);
			pcy_of(&add, cases[i].oids, cases[i].expl, cases[i].map,
			    cases[i].any);
			chain_policy(res.chain, NULL, &add, &pr);
			set[0] = '\0';
			for (j = 0; j < pr.nset; j++)
				snprintf(set + strlen(set), sizeof(set) -
				    strlen(set), "%s%s", j ? " " : "", pr.set[j]);
			CHECK(pr.status == cases[i].want &&
			    strcmp(set, cases[i].set) == 0, "policies %zu (%s, "
			    "%s, fast %d): got status %d set \"%s\", want %d "
			    "\"%s\"", i, cases[i].leaf, cases[i].oids, fl,
			    (int)pr.status, set, (int)cases[i].want,
			    cases[i].set);
			/* the same settings as base, or split between the two */
			chain_policy(res.chain, &add, NULL, &pr);
			CHECK(pr.status == cases[i].want, "policies %zu as base",
			    i);
			pcy_of(&base, "", cases[i].expl, cases[i].map,
			    cases[i].any);
			pcy_of(&add, cases[i].oids, 0, 0, 0);
			chain_policy(res.chain, &base, &add, &pr);
			CHECK(pr.status == cases[i].want, "policies %zu split", i);
			chain_result_cleanup(&res);
		}
		X509_free(x);
		chain_store_free(&st);
		config_cleanup(&cfg);
	}

	/* the add's user set replaces base's; indicators add up */
	if (store_of("pcy/root.pem", "pcy/intermediates.pem",
	    CONFIG_PURPOSE_CLIENT, &cfg, &st, NULL) == 0) {
		x = load_cert("pcy/low.pem");
		CHECK(chain_verify(st, x, 0, CONFIG_PURPOSE_CLIENT,
		    CHAIN_WANT_CHAIN, &res) == 0 && res.status == CHAIN_OK,
		    "low: chain");
		pcy_of(&base, PIV_AUTH, 0, 0, 0);
		pcy_of(&add, PCY_LOW, 0, 0, 0);
		chain_policy(res.chain, &base, &add, &pr);
		CHECK(pr.status == CHAIN_PCY_OK, "add's set replaces base's");
		pcy_of(&add, "", 1, 0, 0);
		chain_policy(res.chain, &base, &add, &pr);
		CHECK(pr.status == CHAIN_PCY_NOT_ACCEPTED, "base's set when add "
		    "has none");
		chain_result_cleanup(&res);
		X509_free(x);
		/* the chain's own requireExplicitPolicy, in chain_verify */
		x = load_cert("pcy/strict-none.pem");
		for (fl = 0; fl <= CHAIN_FAST; fl += CHAIN_FAST) {
			CHECK(chain_verify(st, x, 0, CONFIG_PURPOSE_CLIENT, fl,
			    &res) == 0 && res.status == CHAIN_POLICY &&
			    strstr(res.detail, "requireExplicitPolicy") != NULL,
			    "strict-none (fast %d): got %s: %s", fl,
			    status_name(res.status), res.detail);
			chain_result_cleanup(&res);
		}
		X509_free(x);
		chain_store_free(&st);
	} else
		CHECK(0, "pcy store");
	config_cleanup(&cfg);
}

/*
 * trust_partial: an issuing CA alone as the anchor.  Without it the chain
 * cannot end there (and the load warns); with it the chain is the leaf and
 * that CA, and leaves of other CAs are still refused.
 */
static void
test_partial(void)
{
	struct config		 cfg;
	struct chain_store	*st;
	struct chain_result	 res;
	X509			*x, *anchor = NULL;
	char			*err = NULL, why[128] = "";
	time_t			 from, until;
	int			 fl;

	x = load_cert("pcy/piv.pem");
	store_partial = 0;
	if (store_of("pcy/ca.pem", NULL, CONFIG_PURPOSE_CLIENT, &cfg, &st,
	    &err) == 0) {
		CHECK(err != NULL && strstr(err, "is not self-signed") != NULL,
		    "partial off: the load warns about the anchor: %s",
		    T_STR(err));
		for (fl = 0; fl <= CHAIN_FAST; fl += CHAIN_FAST) {
			CHECK(chain_verify(st, x, 0, CONFIG_PURPOSE_CLIENT, fl,
			    &res) == 0 && res.status == CHAIN_UNTRUSTED,
			    "partial off (fast %d): got %s: %s", fl,
			    status_name(res.status), res.detail);
			chain_result_cleanup(&res);
		}
		chain_store_free(&st);
	} else
		CHECK(0, "partial off: store");
	free(err);
	err = NULL;
	config_cleanup(&cfg);

	store_partial = 1;
	if (store_of("pcy/ca.pem", NULL, CONFIG_PURPOSE_CLIENT, &cfg, &st,
	    &err) == 0) {
		CHECK(err == NULL || strstr(err, "not self-signed") == NULL,
		    "partial on: no warning: %s", T_STR(err));
		for (fl = 0; fl <= CHAIN_FAST; fl += CHAIN_FAST) {
			CHECK(chain_verify(st, x, 0, CONFIG_PURPOSE_CLIENT,
			    fl | CHAIN_WANT_CHAIN, &res) == 0 &&
			    res.status == CHAIN_OK && res.chain != NULL &&
			    sk_X509_num(res.chain) == 2, "partial on (fast %d): "
			    "got %s: %s, %d certificates", fl,
			    status_name(res.status), res.detail,
			    res.chain != NULL ? sk_X509_num(res.chain) : -1);
			chain_result_cleanup(&res);
		}
		/* a leaf of another CA, and of the CA's sibling */
		X509_free(x);
		x = load_cert("client.pem");
		CHECK(chain_verify(st, x, 0, CONFIG_PURPOSE_CLIENT, 0, &res) ==
		    0 && res.status == CHAIN_UNTRUSTED, "partial on: alice "
		    "(another CA) got %s", status_name(res.status));
		X509_free(x);
		x = load_cert("pcy/strict-piv.pem");
		CHECK(chain_verify(st, x, 0, CONFIG_PURPOSE_CLIENT, 0, &res) ==
		    0 && res.status == CHAIN_UNTRUSTED, "partial on: a leaf "
		    "of the sibling CA got %s", status_name(res.status));
		/* the anchor a CRL signer's path ends at: the CA itself */
		X509_free(x);
		x = load_cert("pcy/ca.pem");
		CHECK(chain_anchor(st, x, &anchor, &from, &until, why,
		    sizeof(why)) == 0 && anchor != NULL &&
		    X509_cmp(anchor, x) == 0, "partial on: chain_anchor of "
		    "the CA: %s", why);
		X509_free(anchor);
		chain_store_free(&st);
	} else
		CHECK(0, "partial on: store");
	store_partial = 0;
	free(err);
	config_cleanup(&cfg);
	X509_free(x);
}

/*
 * Path building: paths/twins.pem holds two certificates of one CA (same
 * name and key), the first name-constrained so that the leaf fails under
 * it.  X509_verify_cert takes the first; chain_verify goes on to the
 * second, the full way and the fast way alike.
 */
static void
test_paths(void)
{
	struct config		 cfg;
	struct chain_store	*st;
	struct chain_result	 res;
	X509			*x;
	char			 buf[2048];
	int			 fl;

	x = load_cert("paths/leaf.pem");
	if (store_of("root.pem", "paths/twins.pem", CONFIG_PURPOSE_CLIENT, &cfg,
	    &st, NULL) == 0) {
		for (fl = 0; fl <= CHAIN_FAST; fl += CHAIN_FAST) {
			CHECK(chain_verify(st, x, 0, CONFIG_PURPOSE_CLIENT,
			    fl | CHAIN_WANT_CHAIN, &res) == 0 &&
			    res.status == CHAIN_OK && res.chain != NULL &&
			    sk_X509_num(res.chain) == 3, "twins (fast %d): "
			    "got %s: %s", fl, status_name(res.status),
			    res.detail);
			CHECK(fl != 0 || res.alternative == 2, "twins, full: "
			    "verified along path %d, expected 2",
			    res.alternative);
			chain_result_cleanup(&res);
		}
		/* avoiding a CA (found revoked): the other path, or none */
		{
			STACK_OF(X509)	*avoid = sk_X509_new_null();
			X509		*nc = load_cert("paths/twin-nc.pem");
			X509		*ok = load_cert("paths/twin-ok.pem");

			sk_X509_push(avoid, nc);
			CHECK(chain_verify_avoiding(st, x, 0,
			    CONFIG_PURPOSE_CLIENT, CHAIN_WANT_CHAIN, avoid,
			    &res) == 1 && res.status == CHAIN_OK &&
			    res.alternative == 2 && res.chain != NULL &&
			    X509_cmp(sk_X509_value(res.chain, 1), ok) == 0,
			    "avoiding twin-nc: path 2 (got %d)", res.alternative);
			chain_result_cleanup(&res);
			sk_X509_push(avoid, ok);
			CHECK(chain_verify_avoiding(st, x, 0,
			    CONFIG_PURPOSE_CLIENT, 0, avoid, &res) == 0,
			    "avoiding both twins: no path");
			chain_result_cleanup(&res);
			sk_X509_pop_free(avoid, X509_free);
		}
		CHECK(chain_describe_paths(st, x, 0, CONFIG_PURPOSE_CLIENT,
		    buf, sizeof(buf)) == 2 && strstr(buf, "path 1: ") == buf &&
		    strstr(buf, "permitted subtree violation") != NULL &&
		    strstr(buf, ": ok\n") != NULL, "twins: paths described: %s",
		    buf);
		chain_store_free(&st);
	} else
		CHECK(0, "twins: store");
	config_cleanup(&cfg);
	if (store_of("root.pem", "paths/twin-nc.pem", CONFIG_PURPOSE_CLIENT,
	    &cfg, &st, NULL) == 0) {
		CHECK(chain_verify(st, x, 0, CONFIG_PURPOSE_CLIENT, CHAIN_FAST,
		    &res) == 0 && res.status == CHAIN_UNTRUSTED &&
		    strstr(res.detail, "permitted subtree") != NULL,
		    "the constrained twin alone: got %s: %s",
		    status_name(res.status), res.detail);
		CHECK(chain_describe_paths(st, x, 0, CONFIG_PURPOSE_CLIENT,
		    buf, sizeof(buf)) == 1, "the constrained twin: one path");
		chain_store_free(&st);
	} else
		CHECK(0, "twin-nc: store");
	config_cleanup(&cfg);
	/* a leaf no configured CA issued: no candidate path at all */
	X509_free(x);
	x = load_cert("other-client.pem");
	if (store_of("root.pem", "paths/twins.pem", CONFIG_PURPOSE_CLIENT, &cfg,
	    &st, NULL) == 0) {
		CHECK(chain_describe_paths(st, x, 0, CONFIG_PURPOSE_CLIENT,
		    buf, sizeof(buf)) == 0 && buf[0] == '\0',
		    "mallory: no paths: %s", buf);
		chain_store_free(&st);
	}
	config_cleanup(&cfg);
	X509_free(x);
}

int
main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s PKI_DIR\n", argv[0]);
		return 2;
	}
	pki = argv[1];
	now = time(NULL);
	test_table(CONFIG_PURPOSE_CLIENT);
	test_table(CONFIG_PURPOSE_SERVER);
	test_want_chain();
	test_stores();
	test_load_errors();
	test_store_new();
	test_store_find();
	test_policies();
	test_partial();
	test_paths();
	return t_done();
}
