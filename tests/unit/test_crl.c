/*
 * test_crl.c PKI_DIR: crl_set_load and crl_check against the CRLs of
 * tests/pki/gen.sh (PKI_DIR/crl/, see tests/pki/README.md).  Every check
 * case runs three ways, which must agree: serials in memory (no store),
 * in a fresh LMDB store, and in the same store again (the sets are found,
 * not rebuilt).  A refused CRL or file is a rejection naming its file and
 * why, and never stops the others; only an unreadable path is an error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "chain.h"
#include "config.h"
#include "crl.h"
#include "err.h"
#include "store.h"
#include "t.h"

#define DAY	 86400
#define HOUR	 3600

static const char	*pki;
static time_t		 now;

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

/* "a b c" -> each word: a path under PKI_DIR/crl/ unless absolute. */
static void
add_words(struct config *cfg, const char *key, const char *words,
    const char *under)
{
	char		 name[512], path[1024];
	const char	*p, *sp;

	for (p = words; p != NULL && *p != '\0'; p = *sp ? sp + 1 : sp) {
		if ((sp = strchr(p, ' ')) == NULL)
			sp = p + strlen(p);
		snprintf(name, sizeof(name), "%.*s", (int)(sp - p), p);
		if (name[0] == '/')
			snprintf(path, sizeof(path), "%s", name);
		else
			snprintf(path, sizeof(path), "%s/%s%s", pki, under, name);
		config_set_flag(cfg, key, path);
	}
}

/*
 * Trust root.pem, the intermediates ints (NULL: intermediates.pem), the
 * CRLs crls; load the chain store and the CRL set into *chain and *set.
 * stderr of the CRL load goes into *err (caller frees).  Returns
 * crl_set_load's rc (exits if the chain store cannot be loaded).
 */
static int
load(struct config *cfg, const char *crls, const char *ints,
    struct store *st, struct chain_store **chain, struct crl_set **set,
    char **err)
{
	struct t_capture	 cap;
	int			 rc;

	config_init(cfg);
	add_words(cfg, "trust", "root.pem", "");
	add_words(cfg, "intermediates", ints != NULL ? ints :
	    "intermediates.pem", "");
	add_words(cfg, "crl", crls, "crl/");
	if (chain_store_load(cfg, chain) != 0 || cfg->nerrors != 0) {
		fprintf(stderr, "chain store for %s does not load\n", crls);
		exit(2);
	}
	*set = NULL;
	t_capture_start(&cap);
	rc = crl_set_load(cfg, *chain, st, NULL, set);
	*err = t_capture_end(&cap);
	return rc;
}

static const char *
status_name(enum crl_status s)
{
	switch (s) {
	case CRL_GOOD: return "GOOD";
	case CRL_REVOKED: return "REVOKED";
	case CRL_MISSING: return "MISSING";
	case CRL_EXPIRED: return "EXPIRED";
	case CRL_ERROR: return "ERROR";
	default: return "?";
	}
}

#define CHAIN	 CRL_SCOPE_CHAIN
#define LEAF	 CRL_SCOPE_LEAF

struct ccase {
	const char	*crls;		/* under crl/, space-separated */
	const char	*cert;
	enum crl_scope	 scope;
	int		 missing_allow;
	time_t		 grace;
	time_t		 at;		/* offset from now */
	enum crl_status	 want;
	int		 depth;		/* -1: none */
	int		 in_grace;
};

static const struct ccase ccases[] = {
	/* delta CRLs: on top of their base (number 0x10), never alone */
	{ "int.crl.pem int-delta-alice.crl.pem root.crl.pem", "client.pem", CHAIN, 0, 0, 0, CRL_REVOKED, 0, 0 },
	{ "int.crl.pem int-delta-alice.crl.pem root.crl.pem", "revoked.pem", CHAIN, 0, 0, 0, CRL_REVOKED, 0, 0 },
	{ "int.crl.pem int-delta-alice.crl.pem root.crl.pem", "client2.pem", CHAIN, 0, 0, 0, CRL_GOOD, -1, 0 },
	{ "int.crl.pem int-delta-remove.crl.pem root.crl.pem", "revoked.pem", CHAIN, 0, 0, 0, CRL_GOOD, -1, 0 },
	{ "int.crl.pem int-delta.crl.pem root.crl.pem", "revoked.pem", CHAIN, 0, 0, 0, CRL_REVOKED, 0, 0 },
	{ "int-delta-alice.crl.pem root.crl.pem", "client.pem", CHAIN, 0, 0, 0, CRL_MISSING, 0, 0 },
	{ "int-delta-alice.crl.pem root.crl.pem", "client2.pem", CHAIN, 1, 0, 0, CRL_GOOD, -1, 0 },
	/* a complete, current set */
	{ "int.crl.pem root.crl.pem", "client.pem", CHAIN, 0, 0, 0, CRL_GOOD, -1, 0 },
	{ "int.crl.pem root.crl.pem", "client2.pem", CHAIN, 0, 0, 0, CRL_GOOD, -1, 0 },
	{ "int.crl.pem root.crl.pem", "noeku.pem", LEAF, 0, 0, 0, CRL_GOOD, -1, 0 },
	{ "int.crl.pem root.crl.pem", "revoked.pem", CHAIN, 0, 0, 0, CRL_REVOKED, 0, 0 },
	{ "int.crl.pem root.crl.pem", "revoked.pem", LEAF, 0, 0, 0, CRL_REVOKED, 0, 0 },
	/* missing_allow does not soften a revocation */
	{ "int.crl.pem root.crl.pem", "revoked.pem", CHAIN, 1, 0, 0, CRL_REVOKED, 0, 0 },
	{ "int.crl.pem root.crl.pem", "revoked.pem", CHAIN, 0, 30 * DAY, 0, CRL_REVOKED, 0, 0 },
	{ "int-empty.crl.pem root.crl.pem", "revoked.pem", CHAIN, 0, 0, 0, CRL_GOOD, -1, 0 },
	/* a revoked intermediate: depth 1 with scope chain only */
	{ "int.crl.pem root-revokes-int.crl.pem", "client.pem", CHAIN, 0, 0, 0, CRL_REVOKED, 1, 0 },
	{ "int.crl.pem root-revokes-int.crl.pem", "client.pem", CHAIN, 1, 0, 0, CRL_REVOKED, 1, 0 },
	{ "int.crl.pem root-revokes-int.crl.pem", "client.pem", LEAF, 0, 0, 0, CRL_GOOD, -1, 0 },
	{ "int.crl.pem root-revokes-int.crl.pem", "revoked.pem", LEAF, 0, 0, 0, CRL_REVOKED, 0, 0 },
	/* two CRLs of the root: the newer (revoking the intermediate) wins */
	{ "both.crl.pem root-revokes-int.crl.pem", "client.pem", CHAIN, 0, 0, 0, CRL_REVOKED, 1, 0 },
	{ "root-revokes-int.crl.pem both.crl.pem", "client.pem", CHAIN, 0, 0, 0, CRL_REVOKED, 1, 0 },
	/* two CRLs of the intermediate, same thisUpdate: the higher number wins */
	{ "int.crl.pem int-revokes-alice.crl.pem root.crl.pem", "client.pem", CHAIN, 0, 0, 0, CRL_REVOKED, 0, 0 },
	{ "int-revokes-alice.crl.pem int.crl.pem root.crl.pem", "client.pem", CHAIN, 0, 0, 0, CRL_REVOKED, 0, 0 },
	{ "int-revokes-alice.crl.pem int.crl.pem root.crl.pem", "client2.pem", CHAIN, 0, 0, 0, CRL_GOOD, -1, 0 },
	/* an issuer without a CRL */
	{ "int.crl.pem", "client.pem", CHAIN, 0, 0, 0, CRL_MISSING, 1, 0 },
	{ "int.crl.pem", "client.pem", CHAIN, 1, 0, 0, CRL_GOOD, -1, 0 },
	{ "int.crl.pem", "client.pem", LEAF, 0, 0, 0, CRL_GOOD, -1, 0 },
	{ "int.crl.pem", "revoked.pem", CHAIN, 1, 0, 0, CRL_REVOKED, 0, 0 },
	{ "root.crl.pem", "client.pem", CHAIN, 0, 0, 0, CRL_MISSING, 0, 0 },
	{ "root.crl.pem", "client.pem", LEAF, 0, 0, 0, CRL_MISSING, 0, 0 },
	{ "root.crl.pem", "client.pem", LEAF, 1, 0, 0, CRL_GOOD, -1, 0 },
	{ "root.crl.pem", "client.pem", CHAIN, 1, 0, 0, CRL_GOOD, -1, 0 },
	{ "root-revokes-int.crl.pem", "client.pem", CHAIN, 1, 0, 0, CRL_REVOKED, 1, 0 },
	/* expired (nextUpdate now-2d), with and without grace */
	{ "int-expired.crl.pem root.crl.pem", "client.pem", CHAIN, 0, 0, 0, CRL_EXPIRED, 0, 0 },
	{ "int-expired.crl.pem root.crl.pem", "client.pem", CHAIN, 1, 0, 0, CRL_EXPIRED, 0, 0 },
	{ "int-expired.crl.pem root.crl.pem", "client.pem", CHAIN, 0, DAY, 0, CRL_EXPIRED, 0, 0 },
	{ "int-expired.crl.pem root.crl.pem", "client.pem", CHAIN, 0, 3 * DAY, 0, CRL_GOOD, -1, 1 },
	{ "int-expired.crl.pem root.crl.pem", "client.pem", LEAF, 0, 3 * DAY, 0, CRL_GOOD, -1, 1 },
	{ "int-expired.crl.pem root.crl.pem", "revoked.pem", CHAIN, 0, 3 * DAY, 0, CRL_REVOKED, 0, 1 },
	/* the clock moved: inside the grace, before nextUpdate */
	{ "int-expired.crl.pem root.crl.pem", "client.pem", CHAIN, 0, 2 * DAY, -DAY, CRL_GOOD, -1, 1 },
	{ "int-expired.crl.pem root.crl.pem", "client.pem", CHAIN, 0, 0, -DAY, CRL_EXPIRED, 0, 0 },
	{ "int-expired.crl.pem root.crl.pem", "client.pem", CHAIN, 0, 0, -3 * DAY, CRL_GOOD, -1, 0 },
	{ "int-expired.crl.pem root.crl.pem", "revoked.pem", CHAIN, 0, 0, -3 * DAY, CRL_REVOKED, 0, 0 },
	/* the current CRLs: expired in 8 days, not in force a day ago */
	{ "int.crl.pem root.crl.pem", "client.pem", CHAIN, 0, 0, 8 * DAY, CRL_EXPIRED, 0, 0 },
	{ "int.crl.pem root.crl.pem", "client.pem", CHAIN, 0, 2 * DAY, 8 * DAY, CRL_GOOD, -1, 1 },
	{ "int.crl.pem root.crl.pem", "client.pem", LEAF, 0, 0, 8 * DAY, CRL_EXPIRED, 0, 0 },
	{ "int.crl.pem root.crl.pem", "client.pem", CHAIN, 0, 0, -DAY, CRL_MISSING, 0, 0 },
	/* DER, two issuers in one file, a directory */
	{ "int.crl.der root.crl.pem", "client.pem", CHAIN, 0, 0, 0, CRL_GOOD, -1, 0 },
	{ "int.crl.der root.crl.pem", "revoked.pem", CHAIN, 0, 0, 0, CRL_REVOKED, 0, 0 },
	{ "both.crl.pem", "client.pem", CHAIN, 0, 0, 0, CRL_GOOD, -1, 0 },
	{ "both.crl.pem", "revoked.pem", CHAIN, 0, 0, 0, CRL_REVOKED, 0, 0 },
	{ "dir", "client.pem", CHAIN, 0, 0, 0, CRL_GOOD, -1, 0 },
	{ "dir", "revoked.pem", CHAIN, 0, 0, 0, CRL_REVOKED, 0, 0 },
	{ "dir both.crl.pem", "revoked.pem", CHAIN, 0, 0, 0, CRL_REVOKED, 0, 0 },
	/* partitions: part1 matches partitioned.pem's CRL DP, part2 does not */
	{ "int-part1.crl.pem root.crl.pem", "partitioned.pem", CHAIN, 0, 0, 0, CRL_REVOKED, 0, 0 },
	{ "int-part1.crl.pem root.crl.pem", "client.pem", CHAIN, 0, 0, 0, CRL_MISSING, 0, 0 },
	{ "int-part2.crl.pem root.crl.pem", "partitioned.pem", CHAIN, 0, 0, 0, CRL_MISSING, 0, 0 },
	{ "int-part2.crl.pem root.crl.pem", "partitioned.pem", CHAIN, 1, 0, 0, CRL_GOOD, -1, 0 },
	{ "int-part2.crl.pem int.crl.pem root.crl.pem", "partitioned.pem", CHAIN, 0, 0, 0, CRL_GOOD, -1, 0 },
	{ "int-part2.crl.pem int.crl.pem root.crl.pem", "revoked.pem", CHAIN, 0, 0, 0, CRL_REVOKED, 0, 0 },
	{ "int-part1.crl.pem int-empty.crl.pem root.crl.pem", "partitioned.pem", CHAIN, 0, 0, 0, CRL_REVOKED, 0, 0 },
	/* a rejected file beside good ones: the good ones decide */
	{ "int.crl.pem root.crl.pem int-badsig.crl.pem", "revoked.pem", CHAIN, 0, 0, 0, CRL_REVOKED, 0, 0 },
	{ "int.crl.pem root.crl.pem int-badsig.crl.pem", "client.pem", CHAIN, 0, 0, 0, CRL_GOOD, -1, 0 },
	{ "corrupt.crl.pem int.crl.pem root.crl.pem", "revoked.pem", CHAIN, 0, 0, 0, CRL_REVOKED, 0, 0 },
	{ "int-future.crl.pem both.crl.pem", "revoked.pem", LEAF, 0, 0, 0, CRL_REVOKED, 0, 0 },
	/* an indirect CRL: entries without certificateIssuer are its issuer's */
	{ "int-indirect.crl.pem root.crl.pem", "revoked.pem", CHAIN, 0, 0, 0, CRL_REVOKED, 0, 0 },
	{ "int-indirect.crl.pem root.crl.pem", "client.pem", CHAIN, 0, 0, 0, CRL_GOOD, -1, 0 },
	/* an issuer whose only CRL was rejected has none: never "not revoked" */
	{ "int-badsig.crl.pem root.crl.pem", "client.pem", CHAIN, 0, 0, 0, CRL_MISSING, 0, 0 },
	{ "int-badsig.crl.pem root.crl.pem", "revoked.pem", CHAIN, 0, 0, 0, CRL_MISSING, 0, 0 },
	{ "int-unknown-critical.crl.pem root.crl.pem", "revoked.pem", LEAF, 0, 0, 0, CRL_MISSING, 0, 0 },
	{ "corrupt.crl.pem root.crl.pem", "revoked.pem", CHAIN, 0, 0, 0, CRL_MISSING, 0, 0 },
};

/*
 * Sources that are rejected (reason >= 0: loaded with the others, listed
 * with that reason, logged naming the file) or a configuration error
 * (reason -1: only a path that cannot be read).
 */
struct lcase {
	const char	*crls;
	const char	*ints;		/* NULL: intermediates.pem */
	const char	*file;		/* under crl/: named */
	const char	*why;		/* substring of the reason, or NULL */
	int		 reason;	/* enum crl_reject, -1 config error */
	size_t		 used;		/* CRLs in use despite the rejection */
};

static const struct lcase lcases[] = {
	{ "int-badsig.crl.pem", NULL, "int-badsig.crl.pem", "signature", CRL_REJECT_SIGNATURE, 0 },
	{ "int-by-other.crl.pem", NULL, "int-by-other.crl.pem", NULL, CRL_REJECT_SIGNATURE, 0 },
	{ "other-root.crl.pem", NULL, "other-root.crl.pem", NULL, CRL_REJECT_SIGNATURE, 0 },
	{ "nocrlsign.crl.pem", "intermediates.pem intermediate-nocrlsign.pem", "nocrlsign.crl.pem", "cRLSign", CRL_REJECT_NO_CRLSIGN, 0 },
	{ "nocrlsign.crl.pem", NULL, "nocrlsign.crl.pem", NULL, CRL_REJECT_SIGNATURE, 0 },
	{ "int-future.crl.pem", NULL, "int-future.crl.pem", "future", CRL_REJECT_FUTURE, 0 },
	{ "corrupt.crl.pem", NULL, "corrupt.crl.pem", "not a valid CRL file", CRL_REJECT_UNREADABLE, 0 },
	{ "int-unknown-critical.crl.pem", NULL, "int-unknown-critical.crl.pem", "critical", CRL_REJECT_CRITICAL, 0 },
	/* a certificate is not a CRL */
	{ "../client.pem", NULL, "client.pem", "not a valid CRL file", CRL_REJECT_UNREADABLE, 0 },
	/* one bad file never spoils the others */
	{ "int.crl.pem root.crl.pem int-badsig.crl.pem", NULL, "int-badsig.crl.pem", NULL, CRL_REJECT_SIGNATURE, 2 },
	{ "int-future.crl.pem both.crl.pem", NULL, "int-future.crl.pem", NULL, CRL_REJECT_FUTURE, 2 },
	{ "dir corrupt.crl.pem", NULL, "corrupt.crl.pem", NULL, CRL_REJECT_UNREADABLE, 2 },
	/* only a path that cannot be read is a configuration error */
	{ "does-not-exist.crl.pem", NULL, "does-not-exist.crl.pem", NULL, -1, 0 },
	{ "int.crl.pem does-not-exist.crl.pem", NULL, "does-not-exist.crl.pem", NULL, -1, 0 },
};

/* The rejection of a source named file, with reason, into *out. */
struct lfind {
	const char		*file;
	int			 reason;
	int			 found;
	char			 detail[CRL_DETAIL_MAX];
};

static void
lfind_one(void *arg, const struct crl_rejection *r)
{
	struct lfind	*l = arg;

	if (l->found || !t_contains(r->source, l->file) ||
	    (int)r->why != l->reason)
		return;
	l->found = 1;
	snprintf(l->detail, sizeof(l->detail), "%s", r->detail);
}

/* Three ways to index: 0 in memory, 1 a fresh store, 2 the same again. */
static const char *const mode_name[] = { "memory", "store", "store again" };

static void
run_ccases(struct store *stores[3])
{
	struct config		 cfg;
	struct chain_store	*chain;
	struct crl_set		*set;
	struct chain_result	 res;
	struct crl_result	 cr;
	const struct ccase	*c;
	X509			*x;
	size_t			 i;
	int			 mode, rc;
	char			*err;

	for (i = 0; i < sizeof(ccases) / sizeof(ccases[0]); i++) {
		c = &ccases[i];
		x = load_cert(c->cert);
		for (mode = 0; mode < 3; mode++) {
			chain = NULL;
			rc = load(&cfg, c->crls, NULL, stores[mode], &chain,
			    &set, &err);
			CHECK(rc == 0 && set != NULL && cfg.nerrors == 0,
			    "[%s] load %s: rc %d, errors %d: %s",
			    mode_name[mode], c->crls, rc, cfg.nerrors, err);
			free(err);
			if (rc != 0 || set == NULL)
				goto next;
			memset(&res, 0, sizeof(res));
			rc = chain_verify(chain, x, now, CONFIG_PURPOSE_CLIENT,
			    CHAIN_WANT_CHAIN, &res);
			if (rc != 0 || res.status != CHAIN_OK ||
			    res.chain == NULL) {
				fprintf(stderr, "%s does not verify: %s\n",
				    c->cert, res.detail);
				exit(2);
			}
			memset(&cr, 0x5a, sizeof(cr));
			crl_check(set, res.chain, now + c->at, c->scope,
			    c->missing_allow, c->grace, &cr);
			CHECK(cr.status == c->want && cr.depth == c->depth,
			    "[%s] %s with %s, scope %s, missing %s, grace %lld, "
			    "at now%+lld: expected %s depth %d, got %s depth "
			    "%d (%s)", mode_name[mode], c->cert, c->crls,
			    c->scope == CHAIN ? "chain" : "leaf",
			    c->missing_allow ? "allow" : "deny",
			    (long long)c->grace, (long long)c->at,
			    status_name(c->want), c->depth,
			    status_name(cr.status), cr.depth, cr.detail);
			CHECK(cr.status != CRL_GOOD || cr.in_grace == c->in_grace,
			    "[%s] %s with %s at now%+lld grace %lld: in_grace "
			    "%d, expected %d", mode_name[mode], c->cert,
			    c->crls, (long long)c->at, (long long)c->grace,
			    cr.in_grace, c->in_grace);
			CHECK(cr.status == CRL_GOOD ||
			    (memchr(cr.detail, '\0', sizeof(cr.detail)) != NULL &&
			    cr.detail[0] != '\0'),
			    "[%s] %s with %s: a verdict %s without a detail",
			    mode_name[mode], c->cert, c->crls,
			    status_name(cr.status));
			/* a GOOD answer must not be trusted past a nextUpdate */
			CHECK(cr.status != CRL_GOOD || cr.valid_until > now + c->at,
			    "[%s] %s with %s: GOOD valid only until %lld, "
			    "before the time asked (%lld)", mode_name[mode],
			    c->cert, c->crls, (long long)cr.valid_until,
			    (long long)(now + c->at));
			CHECK(cr.status != CRL_GOOD || c->at != 0 || c->grace != 0 ||
			    c->missing_allow || cr.valid_until <= now + 31 * DAY,
			    "[%s] %s with %s: GOOD valid until %lld, after "
			    "every nextUpdate", mode_name[mode], c->cert,
			    c->crls, (long long)cr.valid_until);
			chain_result_cleanup(&res);
next:
			crl_set_free(&set);
			CHECK(set == NULL, "crl_set_free sets NULL");
			chain_store_free(&chain);
			config_cleanup(&cfg);
		}
		X509_free(x);
	}
}

static void
run_lcases(struct store *stores[3])
{
	struct config		 cfg;
	struct chain_store	*chain;
	struct crl_set		*set;
	const struct lcase	*c;
	struct lfind		 lf;
	size_t			 i;
	int			 mode, rc;
	char			*err;

	for (i = 0; i < sizeof(lcases) / sizeof(lcases[0]); i++) {
		c = &lcases[i];
		for (mode = 0; mode < 2; mode++) {
			chain = NULL;
			rc = load(&cfg, c->crls, c->ints, stores[mode], &chain,
			    &set, &err);
			CHECK(t_contains(err, c->file),
			    "[%s] load %s: the log should name %s: %s",
			    mode_name[mode], c->crls, c->file, T_STR(err));
			if (c->reason < 0) {
				CHECK(rc != 0 && set == NULL && cfg.nerrors > 0,
				    "[%s] load %s: expected an error, got rc "
				    "%d, set %p, %d errors: %s",
				    mode_name[mode], c->crls, rc, (void *)set,
				    cfg.nerrors, T_STR(err));
				goto next;
			}
			CHECK(rc == 0 && set != NULL && cfg.nerrors == 0,
			    "[%s] load %s: a rejection is no load error: rc "
			    "%d, %d errors: %s", mode_name[mode], c->crls, rc,
			    cfg.nerrors, T_STR(err));
			memset(&lf, 0, sizeof(lf));
			lf.file = c->file;
			lf.reason = c->reason;
			crl_foreach_rejected(set, lfind_one, &lf);
			CHECK(lf.found, "[%s] load %s: %s should be rejected "
			    "as %s (%zu rejected): %s", mode_name[mode],
			    c->crls, c->file, crl_reject_str(
			    (enum crl_reject)c->reason),
			    crl_set_rejected(set), T_STR(err));
			CHECK(c->why == NULL || t_contains(lf.detail, c->why),
			    "[%s] load %s: the reason should say '%s': %s",
			    mode_name[mode], c->crls, c->why, lf.detail);
			CHECK(t_contains(err, "CRL rejected") &&
			    t_contains(err, crl_reject_str(
			    (enum crl_reject)c->reason)),
			    "[%s] load %s: logged as a rejection: %s",
			    mode_name[mode], c->crls, T_STR(err));
			CHECK(crl_set_count(set) == c->used,
			    "[%s] load %s: %zu CRL(s) in use, expected %zu",
			    mode_name[mode], c->crls, crl_set_count(set),
			    c->used);
next:
			free(err);
			crl_set_free(&set);
			chain_store_free(&chain);
			config_cleanup(&cfg);
		}
	}
}

/* Whether set rejected a source containing file, for reason. */
static int
rejected(const struct crl_set *set, const char *file, enum crl_reject reason)
{
	struct lfind	 lf;

	memset(&lf, 0, sizeof(lf));
	lf.file = file;
	lf.reason = (int)reason;
	crl_foreach_rejected(set, lfind_one, &lf);
	return lf.found;
}

/* crl_check of cert at now; the result in *cr. */
static void
check_now(struct chain_store *chain, struct crl_set *set, const char *cert,
    struct crl_result *cr)
{
	struct chain_result	 res;
	X509			*x = load_cert(cert);

	memset(&res, 0, sizeof(res));
	if (chain_verify(chain, x, now, CONFIG_PURPOSE_CLIENT,
	    CHAIN_WANT_CHAIN, &res) != 0 || res.chain == NULL) {
		fprintf(stderr, "%s does not verify: %s\n", cert, res.detail);
		exit(2);
	}
	crl_check(set, res.chain, now, CHAIN, 0, 0, cr);
	chain_result_cleanup(&res);
	X509_free(x);
}

static void
unload(struct crl_set **set, struct chain_store **chain, struct config *cfg,
    char **err)
{
	free(*err);
	*err = NULL;
	crl_set_free(set);
	chain_store_free(chain);
	config_cleanup(cfg);
}

/* Files the fixtures do not have: empty, DER + garbage, PEM + garbage. */
static void
run_made(const char *tmp, struct store *st)
{
	struct config		 cfg;
	struct chain_store	*chain;
	struct crl_set		*set;
	struct crl_result	 cr;
	char			 path[1024], in[1024], *data, *err;
	char			 good[2048], bad[2048], list[4096];
	size_t			 len;
	int			 rc;

	t_write(tmp, "empty.crl", "", 0, path, sizeof(path));
	rc = load(&cfg, path, NULL, st, &chain, &set, &err);
	CHECK(rc == 0 && set != NULL && crl_set_count(set) == 0 &&
	    rejected(set, "empty.crl", CRL_REJECT_UNREADABLE),
	    "empty CRL file: rejected, not an error: rc %d: %s", rc,
	    T_STR(err));
	unload(&set, &chain, &cfg, &err);

	/* a good CRL followed by garbage (DER and PEM) */
	snprintf(in, sizeof(in), "%s/crl/int.crl.der", pki);
	if ((data = t_read(in, &len)) == NULL) {
		fprintf(stderr, "cannot read %s\n", in);
		exit(2);
	}
	data = realloc(data, len + 16);
	if (data == NULL)
		exit(2);
	memcpy(data + len, "\x30\x82\x7f\xff" "garbage!", 12);
	t_write(tmp, "der-trailing.crl", data, len + 12, bad, sizeof(bad));
	free(data);
	snprintf(in, sizeof(in), "%s/crl/root.crl.pem", pki);
	snprintf(good, sizeof(good), "%s", in);
	snprintf(list, sizeof(list), "%s %s", good, bad);
	rc = load(&cfg, list, NULL, st, &chain, &set, &err);
	CHECK(rc == 0 && set != NULL && cfg.nerrors == 0 &&
	    rejected(set, "der-trailing.crl", CRL_REJECT_UNREADABLE) &&
	    t_contains(err, "der-trailing.crl"),
	    "DER CRL with trailing garbage: rejected: rc %d: %s", rc,
	    T_STR(err));
	/* the whole CRL before the garbage is signed and used */
	CHECK(crl_set_count(set) == 2, "DER CRL with trailing garbage: %zu "
	    "CRLs in use, expected 2 (root, and int before the garbage)",
	    crl_set_count(set));
	unload(&set, &chain, &cfg, &err);

	snprintf(in, sizeof(in), "%s/crl/both.crl.pem", pki);
	if ((data = t_read(in, &len)) == NULL)
		exit(2);
	data = realloc(data, len + 128);
	if (data == NULL)
		exit(2);
	memcpy(data + len, "-----BEGIN X509 CRL-----\nMIIB\n-----END X509 "
	    "CRL-----\n", 51);
	t_write(tmp, "pem-trailing.crl", data, len + 51, bad, sizeof(bad));
	free(data);
	rc = load(&cfg, bad, NULL, st, &chain, &set, &err);
	CHECK(rc == 0 && set != NULL &&
	    rejected(set, "pem-trailing.crl", CRL_REJECT_UNREADABLE),
	    "PEM CRLs followed by a truncated one: rejected: rc %d: %s", rc,
	    T_STR(err));
	unload(&set, &chain, &cfg, &err);

	/* an empty directory: nothing to use, nothing unreadable */
	snprintf(path, sizeof(path), "%s/emptydir", tmp);
	mkdir(path, 0755);
	rc = load(&cfg, path, NULL, st, &chain, &set, &err);
	CHECK(rc == 0 && set != NULL && rejected(set, "emptydir",
	    CRL_REJECT_UNREADABLE), "empty CRL directory: rc %d: %s", rc,
	    T_STR(err));
	unload(&set, &chain, &cfg, &err);

	/*
	 * The reason an issuer has no CRL names the file rejected: by its
	 * issuer, or a file that could not be read at all.
	 */
	rc = load(&cfg, "int-badsig.crl.pem root.crl.pem", NULL, st, &chain,
	    &set, &err);
	check_now(chain, set, "client.pem", &cr);
	CHECK(rc == 0 && cr.status == CRL_MISSING &&
	    t_contains(cr.detail, "int-badsig.crl.pem") &&
	    t_contains(cr.detail, "signature"),
	    "missing because rejected: the detail names the file and why: %s",
	    cr.detail);
	unload(&set, &chain, &cfg, &err);
	rc = load(&cfg, "corrupt.crl.pem root.crl.pem", NULL, st, &chain,
	    &set, &err);
	check_now(chain, set, "client.pem", &cr);
	CHECK(rc == 0 && cr.status == CRL_MISSING &&
	    t_contains(cr.detail, "corrupt.crl.pem"),
	    "missing, an unreadable file beside: the detail names it: %s",
	    cr.detail);
	unload(&set, &chain, &cfg, &err);
}

/*
 * A CRL of the intermediate, made here: n entries (serials 1..n); entry
 * bad (1-based, 0: none) with a reasonCode that is not an ENUMERATED;
 * with badalg, the outer signature algorithm made to differ from the
 * inner one after signing.  Written as DER to tmp/name; its path in out.
 */
static void
make_crl(const char *tmp, const char *name, int n, int bad, int badalg,
    char *out, size_t outlen)
{
	X509			*ica = load_cert("intermediate.pem");
	EVP_PKEY		*key;
	X509_CRL		*crl = X509_CRL_new();
	X509_REVOKED		*r;
	ASN1_INTEGER		*sn = ASN1_INTEGER_new();
	ASN1_TIME		*t = ASN1_TIME_new();
	ASN1_OCTET_STRING	*junk = ASN1_OCTET_STRING_new();
	X509_EXTENSION		*ext;
	unsigned char		*der = NULL, *q;
	char			 path[1024];
	FILE			*f;
	int			 i, len;

	snprintf(path, sizeof(path), "%s/intermediate.key", pki);
	if ((f = fopen(path, "r")) == NULL ||
	    (key = PEM_read_PrivateKey(f, NULL, NULL, NULL)) == NULL)
		exit(2);
	fclose(f);
	if (crl == NULL || sn == NULL || t == NULL || junk == NULL ||
	    X509_CRL_set_version(crl, X509_CRL_VERSION_2) != 1 ||
	    X509_CRL_set_issuer_name(crl, X509_get_subject_name(ica)) != 1 ||
	    X509_gmtime_adj(t, -HOUR) == NULL ||
	    X509_CRL_set1_lastUpdate(crl, t) != 1 ||
	    X509_gmtime_adj(t, DAY) == NULL ||
	    X509_CRL_set1_nextUpdate(crl, t) != 1 ||
	    ASN1_OCTET_STRING_set(junk, (const unsigned char *)"\x05\x00",
	    2) != 1)
		exit(2);
	for (i = 1; i <= n; i++) {
		if ((r = X509_REVOKED_new()) == NULL ||
		    ASN1_INTEGER_set(sn, 0x100000 + i) != 1 ||
		    X509_REVOKED_set_serialNumber(r, sn) != 1 ||
		    X509_REVOKED_set_revocationDate(r, t) != 1)
			exit(2);
		if (i == bad && ((ext = X509_EXTENSION_create_by_NID(NULL,
		    NID_crl_reason, 0, junk)) == NULL ||
		    X509_REVOKED_add_ext(r, ext, -1) != 1))
			exit(2);
		if (i == bad)
			X509_EXTENSION_free(ext);
		if (X509_CRL_add0_revoked(crl, r) != 1)
			exit(2);
	}
	if (X509_CRL_sign(crl, key, EVP_sha256()) <= 0 ||
	    (len = i2d_X509_CRL(crl, &der)) <= 0)
		exit(2);
	if (badalg) {
		/* the outer ecdsa-with-SHA256 (...04 03 02) made SHA384 */
		for (q = der + len - 1; q > der + 9; q--)
			if (q[-9] == 0x06 && q[-8] == 0x08 && q[-7] == 0x2a &&
			    q[0] == 0x02 && q[-1] == 0x03 && q[-2] == 0x04)
				break;
		if (q <= der + 9)
			exit(2);
		*q = 0x03;
	}
	t_write(tmp, name, (char *)der, (size_t)len, out, outlen);
	OPENSSL_free(der);
	X509_CRL_free(crl);
	X509_free(ica);
	EVP_PKEY_free(key);
	ASN1_INTEGER_free(sn);
	ASN1_TIME_free(t);
	ASN1_OCTET_STRING_free(junk);
}

/*
 * A CRL with entries is read one entry at a time (crl_src_split): the
 * checks OpenSSL's whole parse makes of an entry hold there too, and what
 * cannot be split is judged by the whole parse.
 */
static void
run_stream(const char *tmp, struct store *st)
{
	struct config		 cfg;
	struct chain_store	*chain;
	struct crl_set		*set;
	char			 path[1024], list[2048], *err;
	int			 rc;

	make_crl(tmp, "many.crl", 5000, 0, 0, path, sizeof(path));
	snprintf(list, sizeof(list), "%s root.crl.pem", path);
	rc = load(&cfg, list, NULL, st, &chain, &set, &err);
	CHECK(rc == 0 && crl_set_count(set) == 2 &&
	    crl_set_entries(set) >= 5000 && crl_set_rejected(set) == 0,
	    "a CRL of 5,000 entries: rc %d, %zu CRLs, %zu entries: %s", rc,
	    crl_set_count(set), crl_set_entries(set), T_STR(err));
	unload(&set, &chain, &cfg, &err);

	make_crl(tmp, "badreason.crl", 50, 17, 0, path, sizeof(path));
	rc = load(&cfg, path, NULL, st, &chain, &set, &err);
	CHECK(rc == 0 && set != NULL && crl_set_count(set) == 0 &&
	    rejected(set, "badreason.crl", CRL_REJECT_UNREADABLE) &&
	    t_contains(err, "an entry with an unreadable or repeated "
	    "reasonCode"), "an entry's reasonCode not an ENUMERATED: rc %d: "
	    "%s", rc, T_STR(err));
	unload(&set, &chain, &cfg, &err);

	make_crl(tmp, "badalg.crl", 50, 0, 1, path, sizeof(path));
	rc = load(&cfg, path, NULL, st, &chain, &set, &err);
	CHECK(rc == 0 && set != NULL && crl_set_count(set) == 0 &&
	    rejected(set, "badalg.crl", CRL_REJECT_SIGNATURE),
	    "outer signature algorithm not the inner one: rc %d: %s", rc,
	    T_STR(err));
	unload(&set, &chain, &cfg, &err);
}

/*
 * A file replaced by a broken version keeps its last good CRLs, when the
 * store has them (authd serve); in memory (check) there is nothing to keep.
 */
static void
run_keep(const char *tmp, struct store *st)
{
	struct config		 cfg;
	struct chain_store	*chain;
	struct crl_set		*set;
	struct crl_result	 cr;
	struct lfind		 lf;
	char			 in[1024], path[1024], list[2100], *data, *err;
	size_t			 len;
	int			 rc;

	snprintf(in, sizeof(in), "%s/crl/int.crl.pem", pki);
	if ((data = t_read(in, &len)) == NULL)
		exit(2);
	t_write(tmp, st != NULL ? "keep-store.crl" : "keep-mem.crl", data, len,
	    path, sizeof(path));
	free(data);
	snprintf(list, sizeof(list), "%s root.crl.pem", path);
	rc = load(&cfg, list, NULL, st, &chain, &set, &err);
	CHECK(rc == 0 && crl_set_rejected(set) == 0, "keep: the good "
	    "version loads: %s", T_STR(err));
	check_now(chain, set, "revoked.pem", &cr);
	CHECK(cr.status == CRL_REVOKED, "keep: revoked by the good version: "
	    "%s", cr.detail);
	unload(&set, &chain, &cfg, &err);

	/* the same path, now garbage */
	t_write(tmp, st != NULL ? "keep-store.crl" : "keep-mem.crl",
	    "garbage\n", 8, path, sizeof(path));
	rc = load(&cfg, list, NULL, st, &chain, &set, &err);
	memset(&lf, 0, sizeof(lf));
	CHECK(rc == 0 && crl_set_rejected(set) == 1, "keep: the broken "
	    "version is rejected, no error: rc %d: %s", rc, T_STR(err));
	check_now(chain, set, "revoked.pem", &cr);
	if (st != NULL) {
		CHECK(cr.status == CRL_REVOKED, "keep: with the store, the "
		    "last good version still revokes: %s", cr.detail);
		CHECK(t_contains(err, "last good"), "keep: the log says the "
		    "last good version stays in use: %s", T_STR(err));
	} else
		CHECK(cr.status == CRL_MISSING, "keep: in memory, nothing "
		    "to keep: missing, never good: %s", cr.detail);
	unload(&set, &chain, &cfg, &err);
}

/* Counts and the description authd check prints. */
static void
run_describe(struct store *st)
{
	struct config		 cfg;
	struct chain_store	*chain;
	struct crl_set		*set;
	struct chain_result	 res;
	X509			*x;
	char			 buf[2048], *err;
	int			 rc;

	rc = load(&cfg, "both.crl.pem", NULL, st, &chain, &set, &err);
	CHECK(rc == 0 && set != NULL, "load both.crl.pem: %s", err);
	free(err);
	CHECK(crl_set_count(set) == 2, "both.crl.pem: %zu CRLs, expected 2",
	    crl_set_count(set));
	CHECK(crl_set_entries(set) == 1, "both.crl.pem: %zu entries, "
	    "expected 1", crl_set_entries(set));
	x = load_cert("client.pem");
	memset(&res, 0, sizeof(res));
	if (chain_verify(chain, x, now, CONFIG_PURPOSE_CLIENT,
	    CHAIN_WANT_CHAIN, &res) != 0 || res.chain == NULL)
		exit(2);
	crl_describe(set, res.chain, time(NULL), buf, sizeof(buf));
	CHECK(t_count(buf, "both.crl.pem") == 2,
	    "describe names the source of both CRLs: %s", T_STR(buf));
	CHECK(t_contains(buf, "CN=authd Test Intermediate CA") &&
	    t_contains(buf, "CN=authd Test Root CA"),
	    "describe names both issuers: %s", T_STR(buf));
	CHECK(t_contains(buf, "number 10") && t_contains(buf, "number 12"),
	    "describe gives the CRL numbers (int 0x10, root 0x12): %s",
	    T_STR(buf));
	CHECK(t_contains(buf, "thisUpdate") && t_contains(buf, "nextUpdate"),
	    "describe gives the times: %s", T_STR(buf));
	/* short buffers: always terminated, never overrun */
	memset(buf, 'x', sizeof(buf));
	crl_describe(set, res.chain, time(NULL), buf, 10);
	CHECK(memchr(buf, '\0', 10) != NULL && buf[10] == 'x',
	    "describe into 10 bytes: terminated, within bounds");
	buf[0] = 'x';
	crl_describe(set, res.chain, time(NULL), buf, 0);
	CHECK(buf[0] == 'x', "describe into 0 bytes writes nothing");
	chain_result_cleanup(&res);
	X509_free(x);
	crl_set_free(&set);
	chain_store_free(&chain);
	config_cleanup(&cfg);

	rc = load(&cfg, "dir", NULL, st, &chain, &set, &err);
	CHECK(rc == 0 && crl_set_count(set) == 2 && crl_set_entries(set) == 1,
	    "dir: rc %d, %zu CRLs, %zu entries: %s", rc, crl_set_count(set),
	    crl_set_entries(set), err);
	free(err);
	crl_set_free(&set);
	chain_store_free(&chain);
	config_cleanup(&cfg);

	/* no crl configured: no set, no error */
	config_init(&cfg);
	add_words(&cfg, "trust", "root.pem", "");
	if (chain_store_load(&cfg, &chain) != 0)
		exit(2);
	set = (struct crl_set *)&cfg;
	rc = crl_set_load(&cfg, chain, st, NULL, &set);
	CHECK(rc == 0 && set == NULL, "no crl: rc %d, set %p", rc,
	    (void *)set);
	memset(&res, 0, sizeof(res));
	{
		struct crl_result	 cr;

		crl_check(NULL, NULL, now, CHAIN, 0, 0, &cr);
		CHECK(cr.status == CRL_GOOD, "crl_check without a set: %s",
		    status_name(cr.status));
	}
	chain_store_free(&chain);
	config_cleanup(&cfg);
}

int
main(int argc, char **argv)
{
	struct store	*stores[3] = { NULL, NULL, NULL };
	char		 tmp[64], dir[128], err[256];

	if (argc != 2) {
		fprintf(stderr, "usage: %s PKI_DIR\n", argv[0]);
		return 2;
	}
	pki = argv[1];
	now = time(NULL);
	t_tmpdir(tmp, sizeof(tmp));
	snprintf(dir, sizeof(dir), "%s/store", tmp);
	if (store_open(dir, (size_t)64 << 20, &stores[1], err,
	    sizeof(err)) != 0) {
		fprintf(stderr, "store_open %s: %s\n", dir, err);
		return 2;
	}
	stores[2] = stores[1];

	run_ccases(stores);
	run_lcases(stores);
	run_made(tmp, NULL);
	run_made(tmp, stores[1]);
	run_stream(tmp, NULL);
	run_stream(tmp, stores[1]);
	run_keep(tmp, NULL);
	run_keep(tmp, stores[1]);
	run_describe(NULL);
	run_describe(stores[1]);

	store_close(&stores[1]);
	t_rmtree(tmp);
	return t_done();
}
