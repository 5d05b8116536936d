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

/*
 * The headers of one auth subrequest that a decision reads, collected one
 * at a time as the HTTP server hands them over.  Values point into the
 * server's buffers and live as long as the request.  Each decision header
 * may appear once and its value may not hold a NUL byte: a value read as a
 * C string would otherwise be decided on up to the NUL ("/public\0/../x"),
 * and a second copy would silently win.  The first such problem is kept in
 * refused (a static text, safe to log); the request is then refused whole.
 */
enum request_refusal {
	REQUEST_REFUSED_NONE = 0,
	REQUEST_REFUSED_CERT,		/* about X-SSL-Client-Cert / -Verify */
	REQUEST_REFUSED_OTHER,		/* about another decision header */
};

struct request_headers {
	const char		*cert;		/* X-SSL-Client-Cert */
	size_t			 cert_len;
	const char		*client_verify;	/* X-SSL-Client-Verify */
	const char		*uri;		/* X-Original-URI */
	const char		*method;	/* X-Original-Method */
	const char		*host;		/* X-Original-Host */
	const char		*ruleset;	/* X-Authd-Ruleset */
	const char		*cache_scope;	/* X-Authd-Cache-Scope */
	const char		*request_id;	/* X-Request-Id, the first */
	size_t			 request_id_len;
	enum request_refusal	 refusal;
	const char		*refused;	/* why, when refusal != NONE */
};

/*
 * Add one header: name is name_len bytes, value value_len bytes (both may
 * hold NUL bytes; value must be NUL-terminated after value_len, as HTTP
 * servers hand them over).  Names compare without case.  Headers authd
 * does not read are ignored, but a NUL in any name is refused.  Start
 * from a zeroed struct.
 */
void	 request_headers_add(struct request_headers *h, const char *name,
	    size_t name_len, const char *value, size_t value_len);

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
