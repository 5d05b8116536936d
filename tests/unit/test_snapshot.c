/*
 * test_snapshot.c PKI_DIR: reference counting across publishes, the
 * revocation contexts a snapshot carries, and the generation that says
 * when OCSP answers must be verified again.
 *
 * Under ASan (tests/run.sh runs the suite again with it) a snapshot used
 * after its last release, or never freed, fails the run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "snapshot.h"
#include "t.h"

static const char	*pki;

/* A snapshot of the PKI's trust, with extra "key value" flags. */
static struct snapshot *
build(const char *k1, const char *v1, const char *k2, const char *v2)
{
	struct config	 cfg;
	struct snapshot	*snap = NULL;
	char		 path[512];

	config_init(&cfg);
	snprintf(path, sizeof(path), "%s/trust.pem", pki);
	config_set_flag(&cfg, "trust", path);
	snprintf(path, sizeof(path), "%s/intermediates.pem", pki);
	config_set_flag(&cfg, "intermediates", path);
	if ((k1 != NULL && config_set_flag(&cfg, k1, v1) != 0) ||
	    (k2 != NULL && config_set_flag(&cfg, k2, v2) != 0) ||
	    snapshot_new(&cfg, &snap) != 0 || snap == NULL) {
		fprintf(stderr, "cannot build a snapshot of %s\n", pki);
		exit(2);
	}
	config_cleanup(&cfg);
	return snap;
}

/*
 * A fetch job holds the snapshot it started under through its owner: a
 * publish in between does not free it, the job's drop does.
 */
static void
test_refs(void)
{
	struct snapshot	*a, *b, *cur;
	struct fetch_owner owner;

	a = build("ocsp", "leaf", NULL, NULL);
	snapshot_publish(a);
	cur = snapshot_acquire();
	CHECK(cur == a, "acquire after publish: another snapshot");
	owner = cur->ocsp.owner;
	CHECK(owner.owner == a && owner.hold != NULL && owner.drop != NULL,
	    "the OCSP context's owner is not its snapshot");
	CHECK(cur->crl_fetch.owner.owner == a, "the CRL fetch context's "
	    "owner is not its snapshot");
	fetch_owner_hold(&owner);	/* a job starts */
	snapshot_release(cur);		/* its request ends */

	b = build("ocsp", "chain", NULL, NULL);
	snapshot_publish(b);		/* a reload: the publish drops a */
	cur = snapshot_acquire();
	CHECK(cur == b, "the new snapshot is not the current one");
	snapshot_release(cur);
	/* The job still reads a's trust and settings. */
	CHECK(a->ocsp.chain == a->chain && a->ocsp.set.mode ==
	    OCSP_MODE_LEAF && chain_store_anchors(a->ocsp.chain) > 0,
	    "the held snapshot changed or lost its trust");
	fetch_owner_drop(&owner);	/* the job ends: a is freed (ASan) */
	snapshot_shutdown();
}

/* The contexts point into their own snapshot and carry its settings. */
static void
test_contexts(void)
{
	struct snapshot	*s = build("ocsp", "chain", "ocsp_cache_size", "1234");

	CHECK(s->ocsp.set.mode == OCSP_MODE_CHAIN && s->ocsp.set.cache_size ==
	    1234 && s->ocsp.set.timeout == s->cfg.fetch_timeout,
	    "OCSP settings: mode %d cache_size %zu", (int)s->ocsp.set.mode,
	    s->ocsp.set.cache_size);
	CHECK(s->ocsp.chain == s->chain && s->ocsp.signers == NULL &&
	    s->ocsp.nroutes == 0, "OCSP context: trust, signers, routes");
	CHECK(s->crl_fetch.on == 0 && s->crl_fetch.chain == s->chain,
	    "CRL fetching on without any CRL configured");
	snapshot_release(s);
}

/*
 * The generation changes with what judges an OCSP answer (trust, pinned
 * signers, the settings that check it), not with the rest.
 */
static void
test_generation(void)
{
	static const struct {
		const char	*name;
		const char	*k, *v;
		int		 same;
	} cases[] = {
		{ "the same configuration", NULL, NULL, 1 },
		{ "another cache_ttl", "cache_ttl", "5m", 1 },
		{ "another fetch_timeout", "fetch_timeout", "9s", 1 },
		{ "ocsp_failure allow", "ocsp_failure", "allow", 1 },
		{ "another ocsp_skew", "ocsp_skew", "10s", 0 },
		{ "another ocsp_max_age", "ocsp_max_age", "1h", 0 },
		{ "ocsp_certid sha256", "ocsp_certid", "sha256", 0 },
		{ "ocsp_nonce on", "ocsp_nonce", "on", 0 },
		{ "a pinned responder", "ocsp_signer", NULL, 0 },
		{ "purpose any", "purpose", "any", 0 },
	};
	struct snapshot	*base, *s;
	char		 signer[512];
	size_t		 i;

	snprintf(signer, sizeof(signer), "%s/ocsp-unrelated.pem", pki);
	base = build("ocsp", "leaf", NULL, NULL);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		s = build("ocsp", "leaf", cases[i].k, cases[i].v != NULL ||
		    cases[i].k == NULL ? cases[i].v : signer);
		CHECK((s->ocsp.generation == base->ocsp.generation) ==
		    cases[i].same, "%s: generation %s", cases[i].name,
		    cases[i].same ? "changed" : "did not change");
		snapshot_release(s);
	}
	snapshot_release(base);
}

int
main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: test_snapshot PKI_DIR\n");
		return 2;
	}
	pki = argv[1];
	log_init(LOG_LEVEL_ERROR);
	test_refs();
	test_contexts();
	test_generation();
	return t_done();
}
