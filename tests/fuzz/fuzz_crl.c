/*
 * fuzz_crl: CRL files, as an administrator's directory or a distribution
 * point (plain HTTP: anyone on the path) could hand them over.  The input
 * is one or two DER CRLs back to back (a base and a delta).  Each one that
 * parses and names a CA of the fuzz PKI as its issuer is re-signed with
 * that CA's key (X509_CRL_sign re-encodes what was parsed), so mutations
 * get past the signature check; others are kept as they are.  They are
 * written to one PEM file and loaded by crl_set_load, with the trust store
 * of pki/root.pem and pki/ca.pem, then every chain of the PKI is checked
 * with crl_check in both scopes, crl_describe and crl_foreach.  First the
 * input is split as authd streams a CRL and compared with the whole parse.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "chain.h"
#include "config.h"
#include "crl.h"
#include "crlmeta.h"
#include "fuzz_pki.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int	LLVMFuzzerInitialize(int *argc, char ***argv);

#define NCHAINS	 3

static struct chain_store	*fuzz_chain;
static X509			*root, *ca;
static EVP_PKEY			*root_key, *ca_key;
static STACK_OF(X509)		*chains[NCHAINS];

static STACK_OF(X509) *
fuzz_chain_of(X509 *a, X509 *b, X509 *c)
{
	STACK_OF(X509)	*sk;

	if ((sk = sk_X509_new_null()) == NULL || !sk_X509_push(sk, a) ||
	    !sk_X509_push(sk, b) || (c != NULL && !sk_X509_push(sk, c)))
		abort();
	return sk;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct config	 cfg;
	char		 path[512];

	(void)argc;
	(void)argv;
	root = fuzz_pki_cert("root.pem");
	ca = fuzz_pki_cert("ca.pem");
	root_key = fuzz_pki_key("root.key");
	ca_key = fuzz_pki_key("ca.key");
	chains[0] = fuzz_chain_of(fuzz_pki_cert("leaf.pem"), ca, root);
	chains[1] = fuzz_chain_of(fuzz_pki_cert("revoked.pem"), ca, root);
	chains[2] = fuzz_chain_of(ca, root, NULL);
	config_init(&cfg);
	fuzz_pki_trust(&cfg);
	if (chain_store_load(&cfg, &fuzz_chain) != 0 || cfg.nerrors != 0)
		abort();
	config_cleanup(&cfg);
	return 0;
}

/* Re-sign crl when its issuer is one of ours; then append it as PEM. */
static int
fuzz_add(BIO *out, X509_CRL *crl)
{
	const X509_NAME	*issuer = X509_CRL_get_issuer(crl);

	if (X509_NAME_cmp(issuer, X509_get_subject_name(ca)) == 0)
		(void)X509_CRL_sign(crl, ca_key, EVP_sha256());
	else if (X509_NAME_cmp(issuer, X509_get_subject_name(root)) == 0)
		(void)X509_CRL_sign(crl, root_key, EVP_sha256());
	return PEM_write_bio_X509_CRL(out, crl) == 1 ? 0 : -1;
}

static void
fuzz_info(void *arg, const struct crl_info *ci)
{
	(void)arg;
	if (ci->issuer == NULL || ci->source == NULL)
		__builtin_trap();
}

/*
 * The input as one DER CRL, split for streaming (crl_src_split) and, when
 * OpenSSL's whole parse takes it too, compared with that: the skeleton
 * holds the same issuer, times and extensions, and the entries, read one
 * at a time, are the same serials in the same order.
 */
static void
fuzz_split(const uint8_t *data, size_t size)
{
	struct crl_src		 src;
	const unsigned char	*p = data, *e;
	X509_CRL		*whole;
	X509_REVOKED		*r;
	STACK_OF(X509_REVOKED)	*rev;
	int			 i = 0;

	if (crl_src_split(&src, data, size) != 0)
		return;
	if (src.tbs < data || src.tbs + src.tbslen > data + size ||
	    src.entries < src.tbs ||
	    src.entries + src.entrieslen > src.tbs + src.tbslen)
		__builtin_trap();
	whole = d2i_X509_CRL(NULL, &p, (long)size);
	if (whole == NULL || p != data + size) {
		X509_CRL_free(whole);
		crl_src_cleanup(&src);
		ERR_clear_error();
		return;
	}
	if (X509_NAME_cmp(X509_CRL_get_issuer(whole),
	    X509_CRL_get_issuer(src.crl)) != 0 ||
	    ASN1_STRING_cmp(X509_CRL_get0_lastUpdate(whole),
	    X509_CRL_get0_lastUpdate(src.crl)) != 0 ||
	    X509_CRL_get_ext_count(whole) != X509_CRL_get_ext_count(src.crl))
		__builtin_trap();
	rev = X509_CRL_get_REVOKED(whole);
	for (p = src.entries, e = p + src.entrieslen; p < e; i++) {
		if ((r = d2i_X509_REVOKED(NULL, &p, (long)(e - p))) == NULL ||
		    i >= sk_X509_REVOKED_num(rev) ||
		    ASN1_INTEGER_cmp(X509_REVOKED_get0_serialNumber(r),
		    X509_REVOKED_get0_serialNumber(sk_X509_REVOKED_value(rev,
		    i))) != 0)
			__builtin_trap();
		X509_REVOKED_free(r);
	}
	if (i != sk_X509_REVOKED_num(rev))
		__builtin_trap();
	X509_CRL_free(whole);
	crl_src_cleanup(&src);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum crl_scope	 scopes[] = {
		CRL_SCOPE_CHAIN, CRL_SCOPE_LEAF };
	const unsigned char	*p = data, *end = data + size;
	struct config		 cfg;
	struct crl_set		*set = NULL;
	struct crl_result	 res;
	X509_CRL		*crl;
	BIO			*out;
	char			*pem, path[128], root_crl[512], desc[4096];
	long			 pemlen;
	int			 n = 0, i, j;

	if (size > 256 * 1024 || (out = BIO_new(BIO_s_mem())) == NULL)
		return 0;
	fuzz_split(data, size);
	while (n < 2 && p < end &&
	    (crl = d2i_X509_CRL(NULL, &p, (long)(end - p))) != NULL) {
		if (fuzz_add(out, crl) != 0)
			abort();
		X509_CRL_free(crl);
		n++;
	}
	if (n == 0) {
		BIO_free(out);
		return 0;
	}
	pemlen = BIO_get_mem_data(out, &pem);
	if (fuzz_scratch_write("crl", pem, (size_t)pemlen, path,
	    sizeof(path)) != 0)
		abort();
	BIO_free(out);

	fuzz_quiet(1);
	config_init(&cfg);
	config_set_flag(&cfg, "crl", path);
	/* the root's CRL, so that CRL_SCOPE_CHAIN gets past the CA */
	fuzz_pki_path("crl/root.crl.pem", root_crl, sizeof(root_crl));
	config_set_flag(&cfg, "crl", root_crl);
	if (crl_set_load(&cfg, fuzz_chain, NULL, NULL, &set) == 0 && set != NULL) {
		for (i = 0; i < NCHAINS; i++) {
			for (j = 0; j < 2; j++) {
				crl_check(set, chains[i], FUZZ_AT, scopes[j],
				    j, 3600, &res);
				if ((int)res.status < CRL_GOOD ||
				    res.status > CRL_PENDING ||
				    memchr(res.detail, '\0',
				    sizeof(res.detail)) == NULL)
					__builtin_trap();
				if (getenv("FUZZ_VERBOSE") != NULL)
					fprintf(stderr, "chain %d scope %d: "
					    "status %d depth %d %s\n", i, j,
					    (int)res.status, res.depth,
					    res.detail);
				if (res.status == CRL_REVOKED &&
				    (res.depth < 0 || res.depth >=
				    sk_X509_num(chains[i]) - 1))
					__builtin_trap();
			}
			crl_describe(set, chains[i], FUZZ_AT, desc,
			    sizeof(desc));
		}
		crl_foreach(set, fuzz_info, NULL);
	}
	crl_set_free(&set);
	config_cleanup(&cfg);
	fuzz_quiet(0);
	return 0;
}
