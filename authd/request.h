/*
 * request.h: turning what nginx sent into something to decide on.
 *
 * nginx sends the leaf certificate as $ssl_client_escaped_cert: PEM,
 * URL-escaped.  Decoding is strict: anything but exactly one well-formed
 * certificate is malformed, and every size is bounded before it is read.
 */
#ifndef AUTHD_REQUEST_H
#define AUTHD_REQUEST_H

#include <stddef.h>

/* Largest X-SSL-Client-Cert value read, escaped. */
#define REQUEST_CERT_HEADER_MAX	 (64 * 1024)
/* Largest DER certificate accepted. */
#define REQUEST_DER_MAX		 (32 * 1024)

enum request_cert_status {
	REQUEST_CERT_OK = 0,
	REQUEST_CERT_ABSENT,		/* empty or missing header */
	REQUEST_CERT_MALFORMED,
};

/*
 * Decode an X-SSL-Client-Cert value (len bytes, need not be terminated)
 * into DER in der (capacity REQUEST_DER_MAX).  On REQUEST_CERT_MALFORMED,
 * *why is a static explanation safe to log.  Does not parse the DER.
 */
enum request_cert_status request_cert_decode(const char *hdr, size_t len,
	    unsigned char *der, size_t *derlen, const char **why);

/*
 * The same for a PEM file's contents (authd check): no URL escapes, but
 * still exactly one certificate.
 */
enum request_cert_status request_pem_decode(const char *pem, size_t len,
	    unsigned char *der, size_t *derlen, const char **why);

/* Longest request path considered, decoded. */
#define REQUEST_PATH_MAX	 4096

/*
 * The path of X-Original-URI as nginx routes it, so that a policy's path
 * rules see what nginx's locations saw: the query is cut, %XX escapes are
 * decoded (%2F too), repeated slashes merged, "." and ".." resolved.  An
 * absolute URI ("https://host/p") yields its path.  Returns 0 with out
 * filled, or -1 with *why set when the path is unusable: not starting with
 * '/', a bad escape, a control byte, ".." above the root, longer than cap.
 * A deny is the only safe answer then.
 */
int	 request_path_normalize(const char *uri, char *out, size_t cap,
	    const char **why);

#endif
