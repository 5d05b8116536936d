/*
 * identity.h: the verified identity handed to nginx and the backend.
 *
 * Every string is printable ASCII, NUL-terminated and bounded, so it can
 * go into an HTTP header or a log line as is: a DN is attacker-chosen text.
 */
#ifndef AUTHD_IDENTITY_H
#define AUTHD_IDENTITY_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/x509.h>

#include "policy.h"

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
/* A serial as nginx prints it ($ssl_client_serial): uppercase hex. */
void	 identity_serial(const ASN1_INTEGER *serial, char *out, size_t len);

/* ASN1_TIME to seconds since the epoch; returns 0 or AUTHD_EINVAL. */
int	 identity_time(const ASN1_TIME *t, time_t *out);

/*
 * Make src safe as a header value: bytes outside printable ASCII become
 * \HH (as RFC 2253 escapes them), at most len-1 bytes are written, a cut
 * value ends in "...".  Returns the length written.
 */
size_t	 identity_sanitize(char *dst, size_t len, const char *src,
	    size_t srclen);

/*
 * Everything a policy can test about a certificate (struct
 * policy_identity), owned and bounded.  Values are sanitised like the
 * identity headers (identity_sanitize: non-printable bytes as \HH, cut
 * values end in "...").  A certificate with more than a cap holds (DN
 * attributes, SANs per type, EKUs, policies, bytes in all) is extracted up
 * to the cap and flagged truncated.
 */
#define IDENTITY_ATTRS_MAX	 32	/* per DN */
#define IDENTITY_SANS_MAX	 64	/* per SAN type */
#define IDENTITY_OIDS_MAX	 32	/* EKUs, certificate policies */
#define IDENTITY_VALUE_MAX	 1024	/* bytes per value, with the NUL */
#define IDENTITY_ARENA_MAX	 65536	/* bytes of all values */

struct identity_fields {
	struct identity		 id;
	long			 days_left;
	struct policy_attr	 subject_attrs[IDENTITY_ATTRS_MAX];
	size_t			 nsubject_attrs;
	struct policy_attr	 issuer_attrs[IDENTITY_ATTRS_MAX];
	size_t			 nissuer_attrs;
	const char		*san_dns[IDENTITY_SANS_MAX];
	size_t			 nsan_dns;
	const char		*san_email[IDENTITY_SANS_MAX];
	size_t			 nsan_email;
	const char		*san_uri[IDENTITY_SANS_MAX];
	size_t			 nsan_uri;
	const char		*san_ip[IDENTITY_SANS_MAX];
	size_t			 nsan_ip;
	/* smart cards: UPN and FASC-N otherNames, urn:uuid: URIs */
	const char		*san_upn[IDENTITY_SANS_MAX];
	size_t			 nsan_upn;
	const char		*san_fascn[IDENTITY_SANS_MAX];	/* hex */
	size_t			 nsan_fascn;
	const char		*san_uuid[IDENTITY_SANS_MAX];	/* lowercase */
	size_t			 nsan_uuid;
	const char		*eku[IDENTITY_OIDS_MAX];
	size_t			 neku;
	const char		*policy_oids[IDENTITY_OIDS_MAX];
	size_t			 npolicy_oids;
	/*
	 * From the verified chain, not the certificate alone: the valid
	 * policy set under the global settings (identity_fields_add_policy),
	 * and which rule sets' own policy settings refuse the chain (bit i:
	 * policy_pcy_at(i) of the policy, and of the shadow policy).
	 */
	const char		*policies[IDENTITY_OIDS_MAX];
	size_t			 npolicies;
	uint32_t		 pcy_reject;
	uint32_t		 pcy_reject_shadow;
	int			 truncated;	/* a cap was hit */
	int			 unreadable;	/* a DN value not text: kept as #hex */
	/* private: the values, IDENTITY_ARENA_MAX bytes */
	char			*arena;
	size_t			 arena_len;
};

/*
 * Fill f from a parsed certificate; md is the SHA-256 of its DER, at the
 * time days_left counts from (floor((notAfter - at) / 1 day): 0 on the
 * last day, negative once expired).  Returns 0, or a negative authd_err
 * with f left empty.  Either way f must be released with
 * identity_fields_cleanup.
 */
int	 identity_fields_load(X509 *x, const unsigned char md[IDENTITY_SHA256_LEN],
	    time_t at, struct identity_fields *f);
void	 identity_fields_cleanup(struct identity_fields *f);
/* Add a valid policy (dotted) to a loaded f; a cap hit marks it truncated. */
void	 identity_fields_add_policy(struct identity_fields *f, const char *oid);

/* A view of f for policy_eval; valid while f is neither changed nor cleaned. */
void	 identity_fields_view(const struct identity_fields *f,
	    struct policy_identity *out);

/*
 * identity_fields as one flat blob, for the verdict cache: pack returns
 * the bytes written to buf (0 if cap is too small); unpack fills f with
 * pointers into buf, which must outlive f's use (f owns nothing then;
 * identity_fields_cleanup is not needed).  Returns 0, or -1 for a blob
 * that is not one of pack's.
 */
size_t	 identity_fields_pack(const struct identity_fields *f,
	    unsigned char *buf, size_t cap);
int	 identity_fields_unpack(const unsigned char *buf, size_t len,
	    struct identity_fields *f);

#endif
