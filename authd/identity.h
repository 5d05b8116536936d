/*
 * identity.h: the verified identity handed to nginx and the backend.
 *
 * Every string is printable ASCII, NUL-terminated and bounded, so it can
 * go into an HTTP header or a log line as is: a DN is attacker-chosen text.
 */
#ifndef AUTHD_IDENTITY_H
#define AUTHD_IDENTITY_H

#include <stddef.h>
#include <time.h>

#include <openssl/x509.h>

#define IDENTITY_DN_MAX		 1024
#define IDENTITY_SERIAL_MAX	 132	/* 64 octets in hex, '-' and NUL */
#define IDENTITY_SHA256_LEN	 32
#define IDENTITY_FP_MAX		 (IDENTITY_SHA256_LEN * 2 + 1)

struct identity {
	char	 subject[IDENTITY_DN_MAX];	/* RFC 2253, like nginx */
	char	 issuer[IDENTITY_DN_MAX];
	char	 serial[IDENTITY_SERIAL_MAX];	/* uppercase hex, like nginx */
	char	 fingerprint[IDENTITY_FP_MAX];	/* SHA-256 of DER, lowercase */
	time_t	 not_before;
	time_t	 not_after;
};

/* SHA-256 of the DER, raw.  Returns 0 or AUTHD_ECRYPTO. */
int	 identity_sha256(const unsigned char *der, size_t len,
	    unsigned char out[IDENTITY_SHA256_LEN]);

/* Lowercase hex of a SHA-256 digest into out (IDENTITY_FP_MAX bytes). */
void	 identity_hex(const unsigned char md[IDENTITY_SHA256_LEN], char *out);

/*
 * Fill id from a parsed certificate; md is the SHA-256 of its DER.
 * Returns 0 or a negative authd_err.
 */
int	 identity_extract(X509 *x, const unsigned char md[IDENTITY_SHA256_LEN],
	    struct identity *id);

/* RFC 2253 text of a name, sanitised and bounded, into out. */
void	 identity_dn(const X509_NAME *name, char *out, size_t len);

/* ASN1_TIME to seconds since the epoch; returns 0 or AUTHD_EINVAL. */
int	 identity_time(const ASN1_TIME *t, time_t *out);

/*
 * Make src safe as a header value: bytes outside printable ASCII become
 * \HH (as RFC 2253 escapes them), at most len-1 bytes are written, a cut
 * value ends in "...".  Returns the length written.
 */
size_t	 identity_sanitize(char *dst, size_t len, const char *src,
	    size_t srclen);

#endif
