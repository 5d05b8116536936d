/*
 * fuzz_ocsp: OCSP responses, as any responder a certificate names (or
 * anyone between, over plain HTTP) could send them.  The input is a DER
 * OCSPResponse.  When it is a successful basic response, it is re-signed
 * (OCSP_basic_sign, keeping its producedAt, its certificates and the kind
 * of its responder ID) by the fuzz PKI's delegated responder when it
 * carries that responder's certificate, else by the issuing CA, so that
 * mutations get past the signature; anything else is used as it is.  The
 * result goes to authd's verifier the way authd check --ocsp-response
 * does (ocsp_set_offline_response, inline), for the leaf and for the
 * revoked certificate, under two sets of settings; then ocsp_describe.
 * Before that, ocspresp_split (the basic response read with its
 * certificates apart) is compared with OpenSSL's whole unpacking, on the
 * input and on the re-signed response.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <openssl/ocsp.h>
#include <openssl/x509.h>

#include "config.h"
#include "ocsp.h"
#include "ocspresp.h"
#include "snapshot.h"
#include "fuzz_pki.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int	LLVMFuzzerInitialize(int *argc, char ***argv);

static X509		*ca, *responder;
static EVP_PKEY		*ca_key, *responder_key;
static STACK_OF(X509)	*chains[2];
static struct snapshot	*snap;		/* the trust the answers are verified with */

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct config	 cfg;
	X509		*root;
	char		 path[512];
	int		 i;

	(void)argc;
	(void)argv;
	root = fuzz_pki_cert("root.pem");
	ca = fuzz_pki_cert("ca.pem");
	responder = fuzz_pki_cert("ocsp.pem");
	ca_key = fuzz_pki_key("ca.key");
	responder_key = fuzz_pki_key("ocsp.key");
	for (i = 0; i < 2; i++) {
		if ((chains[i] = sk_X509_new_null()) == NULL ||
		    !sk_X509_push(chains[i], fuzz_pki_cert(i == 0 ?
		    "leaf.pem" : "revoked.pem")) ||
		    !sk_X509_push(chains[i], ca) ||
		    !sk_X509_push(chains[i], root))
			abort();
	}
	/* the verifier takes the anchors from this snapshot's context */
	config_init(&cfg);
	fuzz_pki_trust(&cfg);
	if (snapshot_new(&cfg, &snap) != 0)
		abort();
	config_cleanup(&cfg);
	return 0;
}

/* DER of resp re-signed as described above, or NULL to use the input. */
static unsigned char *
fuzz_resign(const uint8_t *data, size_t size, int *len)
{
	const unsigned char	*p = data;
	const ASN1_OCTET_STRING	*byid = NULL;
	const X509_NAME		*byname = NULL;
	const STACK_OF(X509)	*certs;
	OCSP_RESPONSE		*resp, *out = NULL;
	OCSP_BASICRESP		*bs = NULL;
	unsigned char		*der = NULL;
	unsigned long		 flags = OCSP_NOCERTS | OCSP_NOTIME;
	X509			*signer = ca;
	EVP_PKEY		*key = ca_key;

	if ((resp = d2i_OCSP_RESPONSE(NULL, &p, (long)size)) == NULL)
		return NULL;
	if (OCSP_response_status(resp) != OCSP_RESPONSE_STATUS_SUCCESSFUL ||
	    (bs = OCSP_response_get1_basic(resp)) == NULL)
		goto end;
	certs = OCSP_resp_get0_certs(bs);
	if (sk_X509_num(certs) > 0 && X509_cmp(sk_X509_value(certs, 0),
	    responder) == 0) {
		signer = responder;
		key = responder_key;
	}
	if (OCSP_resp_get0_id(bs, &byid, &byname) == 1 && byid != NULL)
		flags |= OCSP_RESPID_KEY;
	if (OCSP_basic_sign(bs, signer, key, EVP_sha256(), NULL, flags) != 1 ||
	    (out = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL,
	    bs)) == NULL || (*len = i2d_OCSP_RESPONSE(out, &der)) <= 0)
		der = NULL;
end:
	OCSP_RESPONSE_free(out);
	OCSP_BASICRESP_free(bs);
	OCSP_RESPONSE_free(resp);
	return der;
}

static void
fuzz_settings(struct ocsp_settings *s, int pass)
{
	memset(s, 0, sizeof(*s));
	s->mode = OCSP_MODE_LEAF;
	s->certid_sha256 = pass;
	s->nonce = pass;
	s->skew = pass ? 0 : 300;
	s->max_age = pass ? 90 * 86400 : 0;	/* seeds: 2026-12 */
	s->default_ttl = 3600;
	s->timeout = 1;
	s->max_size = 64 * 1024;
}

/*
 * ocspresp_split against OpenSSL's whole unpacking: what the split reads
 * must be there whole too, and re-encode to the same DER.
 */
static void
fuzz_split(const unsigned char *der, size_t len)
{
	const unsigned char	*p = der;
	OCSP_RESPONSE		*resp;
	OCSP_BASICRESP		*split, *whole = NULL;
	unsigned char		*a = NULL, *b = NULL;
	int			 alen, blen;

	if ((split = ocspresp_split(der, len)) == NULL)
		return;
	if ((resp = d2i_OCSP_RESPONSE(NULL, &p, (long)len)) == NULL ||
	    p != der + len ||
	    (whole = OCSP_response_get1_basic(resp)) == NULL)
		__builtin_trap();	/* split read what OpenSSL refuses */
	alen = i2d_OCSP_BASICRESP(split, &a);
	blen = i2d_OCSP_BASICRESP(whole, &b);
	if (alen <= 0 || alen != blen || memcmp(a, b, (size_t)alen) != 0)
		__builtin_trap();	/* split read something else */
	OPENSSL_free(a);
	OPENSSL_free(b);
	OCSP_BASICRESP_free(whole);
	OCSP_BASICRESP_free(split);
	OCSP_RESPONSE_free(resp);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ocsp_ctx		 ctx = snap->ocsp;
	struct ocsp_result	 res;
	unsigned char		*der;
	const unsigned char	*use = data;
	size_t			 uselen = size;
	char			 desc[2048];
	int			 len = 0, pass, i;

	if (size > 64 * 1024)
		return 0;
	if ((der = fuzz_resign(data, size, &len)) != NULL) {
		use = der;
		uselen = (size_t)len;
	}
	fuzz_quiet(1);
	fuzz_split(data, size);
	if (use != data)
		fuzz_split(use, uselen);
	for (pass = 0; pass < 2; pass++) {
		fuzz_settings(&ctx.set, pass);
		for (i = 0; i < 2; i++) {
			ocsp_shutdown();
			ocsp_set_inline(1);
			if (ocsp_set_offline_response(use, uselen) != 0)
				abort();
			ocsp_check_depth(&ctx, chains[i], 0, FUZZ_AT, &res);
			if ((int)res.status < OCSP_OK ||
			    res.status > OCSP_WAIT ||
			    memchr(res.detail, '\0', sizeof(res.detail)) ==
			    NULL)
				__builtin_trap();
			if (getenv("FUZZ_VERBOSE") != NULL)
				fprintf(stderr, "pass %d chain %d: status %d "
				    "%s\n", pass, i, (int)res.status,
				    res.detail);
			/* an answer is never "wait" offline */
			if (res.status == OCSP_WAIT)
				__builtin_trap();
			ocsp_describe(&ctx, chains[i], desc, sizeof(desc));
		}
	}
	fuzz_quiet(0);
	ocsp_set_offline_response(NULL, 0);
	ocsp_shutdown();
	OPENSSL_free(der);
	return 0;
}
