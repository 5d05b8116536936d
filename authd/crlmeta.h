/*
 * crlmeta.h: one CRL (validation, index, lookup, applicability), the
 * types the CRL files share, bottom up: crlmeta.c, then crlrec.c (the
 * LMDB record of a CRL file) and crldp.c (distribution points, fetched),
 * then crl.c (the set in use, the check of a chain).  Private to them:
 * everything else goes through crl.h.
 */
#ifndef AUTHD_CRLMETA_H
#define AUTHD_CRLMETA_H

#include <stdatomic.h>
#include <time.h>

#include <openssl/x509v3.h>

#include "chain.h"
#include "store.h"

/* --- public through crl.h */

#define CRL_DETAIL_MAX	 512

/* Why a CRL, or a whole file, was not used: one list, one name each. */
#define CRL_REJECTS(X)							\
	X(CRL_REJECT_UNREADABLE, "unreadable")	/* not CRLs: garbage, cut, too big */ \
	X(CRL_REJECT_SIGNATURE,	 "signature")	/* no configured CA's key verifies it */ \
	X(CRL_REJECT_NO_CRLSIGN, "no-crlsign")	/* its signer may not sign CRLs */ \
	X(CRL_REJECT_SIGNER_PATH, "signer-untrusted") /* no valid path for its signer */ \
	X(CRL_REJECT_CRITICAL,	 "critical-extension") /* one authd does not know */ \
	X(CRL_REJECT_FUTURE,	 "not-yet-valid") /* thisUpdate in the future */ \
	X(CRL_REJECT_SCOPE,	 "scope")	/* a scope authd cannot match */ \
	X(CRL_REJECT_INDEX,	 "index")	/* its serials cannot be indexed */ \
	X(CRL_REJECT_LIMIT,	 "limit")	/* more CRLs than authd holds */

#define CRL_REJECT_ENUM(e, s)	 e,
enum crl_reject {
	CRL_REJECTS(CRL_REJECT_ENUM)
	CRL_REJECT_N
};
#undef CRL_REJECT_ENUM

const char	*crl_reject_str(enum crl_reject r);

/*
 * A CRL in use, for /metrics and doctor (crl_foreach).  next_update 0:
 * the CRL has none.
 */
struct crl_info {
	const char	*issuer;	/* RFC 2253, sanitised */
	const char	*source;
	time_t		 this_update, next_update;
};

/* --- private to the CRL files */

struct crl_src;

#define CRL_FILE_MAX	 (512L * 1024 * 1024)	/* bytes per CRL file */
#define CRL_MAX		 1024			/* CRLs in all */
#define CRL_IDP_MAX	 8			/* distribution point names */
#define CRL_SKEW	 300			/* thisUpdate may be this early */
#define CRL_REJECT_MAX	 256			/* rejected sources listed */
#define CRL_ANCHOR_MAX	 4			/* anchors a signer chains to */
#define CRL_IND_MAX	 64			/* issuers in an indirect CRL */
#define CRL_PICK_MAX	 16			/* CRLs answering for one cert */
/* ReasonFlags (RFC 5280 5.2.5): bits 1 to 8; bit 0 is unused. */
#define CRL_REASONS_ALL	 0x1feu

/*
 * One CRL, checked and indexed: everything RFC 5280 6.3.3 needs of it,
 * without the list of entries (in the store, or in keys).
 */
struct crl_meta {
	X509		*issuer;		/* its signer, a configured cert */
	X509_NAME	*issuer_name;		/* the CRL's issuer field */
	/* where the signer's paths end, and when they are valid (f) */
	X509		*anchor[CRL_ANCHOR_MAX];
	time_t		 anchor_from[CRL_ANCHOR_MAX];
	time_t		 anchor_until[CRL_ANCHOR_MAX];
	size_t		 nanchor;
	time_t		 this_update, next_update;	/* 0: none */
	char		 number[80];		/* CRL number, hex, or "" */
	int		 is_delta;		/* a delta CRL: changes to a base */
	char		 base_number[80];	/* its BaseCRLNumber, hex */
	char		 source[512];		/* file it came from */
	char		 issuer_dn[256];
	/* its Issuing Distribution Point */
	int		 only_user, only_ca, only_attr, indirect;
	unsigned int	 reasons;		/* onlySomeReasons, or all */
	GENERAL_NAMES	*dp;			/* its names (relative made
						   whole), NULL: none */
	unsigned char	*idp_der;		/* as found, for the record */
	size_t		 idp_len;
	/* indirect: the issuers its entries name; the index starts a key */
	X509_NAME	*ind[CRL_IND_MAX];
	size_t		 nind;
	/* the revoked serials: a store set, or a sorted array in memory */
	struct store	*store;
	store_set_t	 set;
	char		 setname[STORE_NAME_MAX];	/* "crl:<sha256>" */
	unsigned char	**keys;			/* length-prefixed */
	size_t		 nkeys;
};

/* A rejected source (crl.h, struct crl_rejection). */
struct crl_rej {
	char		 source[512];
	enum crl_reject	 why;
	char		 detail[CRL_DETAIL_MAX];
	char		 issuer_dn[256];
	size_t		 kept;
};

struct crl_set {
	struct crl_meta	*m;
	size_t		 n;
	size_t		 entries;
	struct crl_rej	*rej;			/* CRL_REJECT_MAX of them */
	size_t		 nrej;
	size_t		 nrej_more;		/* rejections not listed */
};

/*
 * A leaf known by what a kept chain recorded of it (verified.h), not as a
 * certificate: all that CRL checking reads of it.  Points into the
 * record; the subject is the identity's, for messages.
 */
struct crl_leaf {
	const unsigned char	*serial_der;	/* its INTEGER */
	size_t			 serial_len;
	const unsigned char	*cdp_der;	/* CRLDistributionPoints, or NULL */
	size_t			 cdp_len;
	int			 ca;		/* X509_check_ca of it */
	const char		*subject;
};

/*
 * What the checks need of one certificate of a verified chain, its CRL
 * Distribution Points parsed at most once: from the certificate
 * (crl_cert_init), or for a kept leaf from its record (crl_cert_init_kept;
 * x is NULL then).
 */
struct crl_cert {
	X509			*x;		/* NULL: a kept leaf */
	X509			*issuer;	/* its issuer in the chain */
	X509			*anchor;	/* the chain's trust anchor */
	const X509_NAME		*iname;		/* its issuer's name */
	const ASN1_INTEGER	*serial;
	const char		*subject;	/* a kept leaf's, for messages */
	int			 ca;
	int			 cdp_read;
	STACK_OF(DIST_POINT)	*cdp;		/* NULL: none */
	/* a kept leaf's, decoded from its record; freed by cleanup */
	ASN1_INTEGER		*kept_serial;
	const unsigned char	*kept_cdp;	/* DER, or NULL */
	size_t			 kept_cdplen;
};

/* Why a CRL does not answer for a certificate (authd check explains). */
enum crl_miss {
	CRL_MISS_NONE = 0,
	CRL_MISS_KIND,		/* onlyContains... another kind */
	CRL_MISS_ANCHOR,	/* its signer's path ends elsewhere, or not now */
	CRL_MISS_ISSUER,	/* another issuer, and not an indirect CRL */
	CRL_MISS_POINT,		/* another distribution point or cRLIssuer */
	CRL_MISS_REASONS,	/* none of the reasons the point asks for */
};

void	 crl_meta_cleanup(struct crl_meta *m);
/*
 * m->issuer set: find the paths of the CRL's signer (src NULL: the
 * signature was checked before, when the record was written).
 */
int	 crl_signers(struct crl_meta *m, const struct chain_store *chain,
	    const struct crl_src *src, enum crl_reject *why, char *buf,
	    size_t len);
/* The Issuing Distribution Point (DER, len 0: none) into m. */
int	 crl_meta_idp(struct crl_meta *m, const unsigned char *der, size_t len,
	    const char **why);
/*
 * A CRL as read: whole (crl, with its entries; the rest NULL), or split
 * for streaming (crl_src_split: crl a skeleton without the entries, which
 * are read from their DER one at a time, and the signature checked over
 * tbs as read): a million-entry CRL then never exists as a million
 * X509_REVOKED at once.  der, tbs and entries point into the caller's
 * buffer, which must outlive src.
 */
struct crl_src {
	X509_CRL		*crl;
	const unsigned char	*der;		/* the CRL as read, or NULL */
	size_t			 derlen;
	const unsigned char	*tbs;		/* tbsCertList, whole element */
	size_t			 tbslen;
	const unsigned char	*entries;	/* revokedCertificates' content */
	size_t			 entrieslen;
};

/*
 * Split the DER of one CRL (exactly len bytes): 0 and src ready (free
 * with crl_src_cleanup), or -1 when it has no entries or is not laid out
 * as RFC 5280 5.1 says (then d2i_X509_CRL judges it; nothing is left on
 * the error queue).
 */
int	 crl_src_split(struct crl_src *src, const unsigned char *der,
	    size_t len);
/*
 * The DER of one CRL (exactly len bytes): split when it can be, else
 * parsed whole.  0 and src ready (free with crl_src_cleanup), or -1: not
 * a CRL (the error queue says why).
 */
int	 crl_src_read(struct crl_src *src, const unsigned char *der,
	    size_t len);
/* What crl_src_split or crl_src_read made. */
void	 crl_src_cleanup(struct crl_src *src);

/*
 * Validate, describe and index crl into m (its serials in store, or in
 * memory without one; *count of them).  0, or -1 with m empty, err and
 * *reject saying why.
 */
int	 crl_meta_build(struct crl_meta *m, const struct chain_store *chain,
	    struct store *store, X509_CRL *crl, const char *source,
	    size_t *count, enum crl_reject *reject, char *err, size_t errlen);
/* The same from a CRL as read, whole or split. */
int	 crl_meta_build_src(struct crl_meta *m,
	    const struct chain_store *chain, struct store *store,
	    const struct crl_src *src, const char *source, size_t *count,
	    enum crl_reject *reject, char *err, size_t errlen);
/* The reasons (RFC 5280 ReasonFlags bits) m answers for c at at; 0: none. */
unsigned int crl_applies(const struct crl_meta *m, struct crl_cert *c,
	    time_t at);
/* The same, and why not when it does not (0). */
unsigned int crl_applies_why(const struct crl_meta *m, struct crl_cert *c,
	    time_t at, enum crl_miss *why);
/* a is newer than b: a later thisUpdate, or the same and a higher number. */
int	 crl_newer(const struct crl_meta *a, const struct crl_meta *b);
/* Two hex numbers (BN_bn2hex form): <0, 0, >0. */
int	 crl_hex_cmp(const char *a, const char *b);
/*
 * Whether c is revoked by base, as changed by delta (NULL: none): 1 yes,
 * 0 no, negative when an index cannot be read.
 */
int	 crl_revoked(const struct crl_meta *base, const struct crl_meta *delta,
	    const struct crl_cert *c);
/* chain[i], its issuer and the chain's anchor; cleanup frees its CDPs. */
void	 crl_cert_init(struct crl_cert *c, STACK_OF(X509) *chain, int i);
/*
 * chain[0] known by its record (leaf; chain[0] itself may be NULL): 0, or
 * -1 when the record's serial cannot be read.  Cleanup as above.
 */
int	 crl_cert_init_kept(struct crl_cert *c, STACK_OF(X509) *chain,
	    const struct crl_leaf *leaf);
void	 crl_cert_cleanup(struct crl_cert *c);
/*
 * Its CRL Distribution Points, decoded once (NULL: none), each relative
 * name made whole against its cRLIssuer or the certificate's issuer.
 */
STACK_OF(DIST_POINT) *crl_cert_cdp(struct crl_cert *c);
/* m, as /metrics and doctor list it, to fn. */
void	 crl_info_call(const struct crl_meta *m, const char *source,
	    void (*fn)(void *, const struct crl_info *), void *arg);

#endif
