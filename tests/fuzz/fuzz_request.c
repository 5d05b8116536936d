/*
 * fuzz_request: what nginx's subrequest carries, as a client or anything
 * in front of authd's listener could shape it.  The input is header lines
 * ("Name: value", LF-separated, NUL bytes allowed); they go through
 * request_headers_add and verdict_input_headers as http.c does, then the
 * certificate header through request_cert_decode and, when it decodes,
 * the DER through d2i_X509 and identity_fields_load/pack/unpack, and the
 * URI through request_path_normalize.  Then the whole request is decided
 * by verdict_decide under a snapshot of the fuzz PKI (pki/: trust root.pem,
 * intermediates ca.pem, the CRLs of pki/crl/, the policy data/fuzz.policy),
 * as authd serve would, without the verdict cache.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "config.h"
#include "identity.h"
#include "request.h"
#include "snapshot.h"
#include "verdict.h"
#include "fuzz_pki.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int	LLVMFuzzerInitialize(int *argc, char ***argv);

static struct snapshot	*fuzz_snap;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct config	 cfg;
	char		 path[512];

	(void)argc;
	(void)argv;
	config_init(&cfg);
	fuzz_pki_trust(&cfg);
	fuzz_pki_path("crl", path, sizeof(path));
	config_set_flag(&cfg, "crl", path);
	snprintf(path, sizeof(path), "%s/data/fuzz.policy", FUZZ_DIR);
	config_set_flag(&cfg, "policy", path);
	if (snapshot_new(&cfg, &fuzz_snap) != 0 || fuzz_snap->crl == NULL ||
	    fuzz_snap->policy == NULL)
		abort();
	config_cleanup(&cfg);
	return 0;
}

/* The decision: a reason of the list, and a status that goes with it. */
static void
fuzz_decide(const struct verdict_input *in, struct verdict *v)
{
	int	 status;

	verdict_decide(fuzz_snap, NULL, in, FUZZ_AT, v, NULL);
	if ((int)v->reason < 0 || v->reason >= VERDICT_NREASONS)
		__builtin_trap();
	status = verdict_reason_status(v->reason);
	if (getenv("FUZZ_VERBOSE") != NULL)
		fprintf(stderr, "verdict %s (%s) %s\n",
		    verdict_reason_str(v->reason), verdict_reason_text(v),
		    v->detail);
	if ((v->reason == VERDICT_OK) != (status == 200) ||
	    verdict_reason_text(v) == NULL || v->pending != 0)
		__builtin_trap();
}

static void
fuzz_cert(const struct verdict_input *in)
{
	static unsigned char	 der[REQUEST_DER_MAX], blob[256 * 1024];
	unsigned char		 md[IDENTITY_SHA256_LEN];
	const unsigned char	*p = der;
	struct identity_fields	 f, u;
	const char		*why = NULL;
	size_t			 derlen = 0, n;
	X509			*x;

	if (in->cert == NULL || request_cert_decode(in->cert, in->cert_len,
	    der, &derlen, &why) != REQUEST_CERT_OK)
		return;
	if (derlen > REQUEST_DER_MAX)
		__builtin_trap();
	if ((x = d2i_X509(NULL, &p, (long)derlen)) == NULL)
		return;
	if (identity_sha256(der, derlen, md) == 0 &&
	    identity_fields_load(x, md, 1700000000, &f) == 0) {
		n = identity_fields_pack(&f, blob, sizeof(blob));
		if (n == 0 || identity_fields_unpack(blob, n, &u) != 0 ||
		    u.nsubject_attrs != f.nsubject_attrs ||
		    u.truncated != f.truncated ||
		    u.unreadable != f.unreadable ||
		    strcmp(u.id.subject, f.id.subject) != 0)
			__builtin_trap();
	}
	identity_fields_cleanup(&f);
	X509_free(x);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char		 path[REQUEST_PATH_MAX];
	struct request_headers	 h;
	struct verdict_input	 in;
	struct verdict		*v;
	char			*buf, *line, *end, *colon, *value;
	const char		*why = NULL;

	/* NUL-terminated lines, as an HTTP server hands values over */
	if ((buf = malloc(size + 1)) == NULL)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	memset(&h, 0, sizeof(h));
	for (line = buf; line < buf + size; line = end + 1) {
		if ((end = memchr(line, '\n', (size_t)(buf + size - line))) ==
		    NULL)
			end = buf + size;
		*end = '\0';
		if ((colon = memchr(line, ':', (size_t)(end - line))) == NULL)
			continue;
		value = colon + 1;
		while (*value == ' ')
			value++;
		request_headers_add(&h, line, (size_t)(colon - line), value,
		    (size_t)(end - value));
	}
	fuzz_quiet(1);
	if ((v = malloc(sizeof(*v))) == NULL)
		goto end;
	if (verdict_input_headers(&h, &in, v)) {
		fuzz_cert(&in);
		fuzz_decide(&in, v);
		if (in.uri != NULL && request_path_normalize(in.uri, path,
		    sizeof(path), &why) == 0 && path[0] != '/')
			__builtin_trap();
	} else if (h.refused == NULL)
		__builtin_trap();
	free(v);
end:
	fuzz_quiet(0);
	free(buf);
	return 0;
}
