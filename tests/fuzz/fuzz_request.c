/*
 * fuzz_request: what nginx's subrequest carries, as a client or anything
 * in front of authd's listener could shape it.  The input is header lines
 * ("Name: value", LF-separated, NUL bytes allowed); they go through
 * request_headers_add and verdict_input_headers as http.c does, then the
 * certificate header through request_cert_decode and, when it decodes,
 * the DER through d2i_X509 and identity_fields_load/pack/unpack, and the
 * URI through request_path_normalize.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "identity.h"
#include "request.h"
#include "verdict.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
	if ((v = malloc(sizeof(*v))) == NULL)
		goto end;
	if (verdict_input_headers(&h, &in, v)) {
		fuzz_cert(&in);
		if (in.uri != NULL && request_path_normalize(in.uri, path,
		    sizeof(path), &why) == 0 && path[0] != '/')
			__builtin_trap();
	} else if (h.refused == NULL)
		__builtin_trap();
	free(v);
end:
	free(buf);
	return 0;
}
