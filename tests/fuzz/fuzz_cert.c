/*
 * fuzz_cert: a certificate as DER, from a client (nginx passes whatever
 * the TLS handshake carried under ssl_verify_client optional).  It goes
 * through d2i_X509, identity_extract (the identity headers),
 * identity_fields_load (what the policy sees), pack and unpack (the
 * verdict cache), which must give the same fields and the same decision,
 * policy_eval of data/fuzz.policy (every field read), chain_verify
 * against the fuzz PKI (pki/root.pem, pki/ca.pem) and certificate policy
 * processing of the chain built (chain_policy, with settings), its
 * caIssuers URL (aia_url); and the input as a caIssuers answer
 * (aia_parse: DER certificate or PKCS#7 bundle).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <openssl/x509.h>

#include "aia.h"
#include "chain.h"
#include "config.h"
#include "identity.h"
#include "policy.h"
#include "fuzz_pki.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int	LLVMFuzzerInitialize(int *argc, char ***argv);

static struct policy		*fuzz_policy;
static struct chain_store	*fuzz_chain;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct config	 cfg;
	char		 path[512];

	(void)argc;
	(void)argv;
	snprintf(path, sizeof(path), "%s/data/fuzz.policy", FUZZ_DIR);
	if (policy_load(path, stderr, &fuzz_policy) != 0)
		abort();
	config_init(&cfg);
	fuzz_pki_trust(&cfg);
	if (chain_store_load(&cfg, &fuzz_chain) != 0 || cfg.nerrors != 0)
		abort();
	config_cleanup(&cfg);
	return 0;
}

/* The same decision for the same fields, however they were stored. */
static void
fuzz_same(const struct policy_decision *a, const struct policy_decision *b)
{
	size_t	 i;

	if (a->reason == NULL || b->reason == NULL)
		__builtin_trap();
	if (a->allow != b->allow || strcmp(a->reason, b->reason) != 0 ||
	    a->line != b->line || a->nheaders != b->nheaders)
		__builtin_trap();
	for (i = 0; i < a->nheaders; i++)
		if (strcmp(a->headers[i].value, b->headers[i].value) != 0)
			__builtin_trap();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static unsigned char		 blob[256 * 1024];
	static const struct policy_request rq = {
		"GET", "/admin/x", "alice.example.org" };
	static const char *const	 rulesets[] = { NULL, "admin" };
	unsigned char			 md[IDENTITY_SHA256_LEN];
	const unsigned char		*p = data;
	struct identity			 id;
	struct identity_fields		 f, u;
	struct policy_identity		 pf, pu;
	struct policy_decision		 df, du;
	struct chain_result		 cr;
	struct chain_pcy_result		 pr;
	struct policy_pcy		 pcy;
	STACK_OF(X509)			*got;
	char				 url[FETCH_URL_MAX], why[256];
	size_t				 n, i;
	X509				*x;

	if (size > 64 * 1024)
		return 0;
	fuzz_quiet(1);
	got = aia_parse(data, size, why, sizeof(why));
	if (got != NULL && (sk_X509_num(got) == 0 ||
	    sk_X509_num(got) > AIA_MAX_CERTS))
		__builtin_trap();
	sk_X509_pop_free(got, X509_free);
	fuzz_quiet(0);
	if ((x = d2i_X509(NULL, &p, (long)size)) == NULL)
		return 0;
	if (identity_sha256(data, (size_t)(p - data), md) != 0)
		abort();
	fuzz_quiet(1);
	memset(&id, 0, sizeof(id));
	(void)identity_extract(x, md, &id);
	if (identity_fields_load(x, md, FUZZ_AT, &f) == 0) {
		n = identity_fields_pack(&f, blob, sizeof(blob));
		if (n == 0 || identity_fields_unpack(blob, n, &u) != 0)
			__builtin_trap();
		if (u.nsubject_attrs != f.nsubject_attrs ||
		    u.truncated != f.truncated ||
		    u.unreadable != f.unreadable ||
		    strcmp(u.id.subject, f.id.subject) != 0 ||
		    strcmp(u.id.issuer, f.id.issuer) != 0 ||
		    strcmp(u.id.serial, f.id.serial) != 0)
			__builtin_trap();
		identity_fields_view(&f, &pf);
		identity_fields_view(&u, &pu);
		/* the cache keeps no days_left: verdict.c counts it anew */
		pu.days_left = pf.days_left;
		for (i = 0; i < 2; i++) {
			policy_eval(fuzz_policy, rulesets[i], &pf, &rq, &df);
			policy_eval(fuzz_policy, rulesets[i], &pu, &rq, &du);
			fuzz_same(&df, &du);
		}
	}
	identity_fields_cleanup(&f);
	memset(&cr, 0, sizeof(cr));
	(void)chain_verify(fuzz_chain, x, FUZZ_AT, CONFIG_PURPOSE_CLIENT,
	    CHAIN_WANT_CHAIN, &cr);
	if (cr.chain != NULL && sk_X509_num(cr.chain) > 0) {
		memset(&pcy, 0, sizeof(pcy));
		chain_policy(cr.chain, NULL, NULL, &pr);
		snprintf(pcy.oids[0], sizeof(pcy.oids[0]), "1.2.3.4");
		pcy.noids = 1;
		pcy.inhibit_mapping = pcy.inhibit_any = 1;
		chain_policy(cr.chain, &pcy, NULL, &pr);
		if (pr.nset > CHAIN_PCY_SET_MAX)
			__builtin_trap();
	}
	chain_result_cleanup(&cr);
	if (aia_url(x, url, sizeof(url)) &&
	    (strncmp(url, "http://", 7) != 0 || strlen(url) >= sizeof(url)))
		__builtin_trap();
	X509_free(x);
	fuzz_quiet(0);
	return 0;
}
