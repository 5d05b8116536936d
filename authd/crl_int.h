/*
 * crl_int.h: what crl.c (validation, index, lookup), crlrec.c (the LMDB
 * record of a CRL file) and crldp.c (distribution points, fetched) share.
 * Private to those three: everything else goes through crl.h.
 */
#ifndef AUTHD_CRL_INT_H
#define AUTHD_CRL_INT_H

#include <stdatomic.h>
#include <time.h>

#include <openssl/x509v3.h>

#include "crl.h"
#include "store.h"

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
 * What the checks need of one certificate of a verified chain, its CRL
 * Distribution Points parsed at most once.
 */
struct crl_cert {
	X509			*x;
	X509			*issuer;	/* its issuer in the chain */
	X509			*anchor;	/* the chain's trust anchor */
	int			 ca;
	int			 cdp_read;
	STACK_OF(DIST_POINT)	*cdp;		/* NULL: none */
};


/* A fetched CRL, shared by the table and the checks using it. */
struct crldp_crl {
	struct crl_meta		 m;
	atomic_int		 refs;
};

/* crl.c */
void	 crl_meta_cleanup(struct crl_meta *m);
/*
 * m->issuer set: find the paths of the CRL's signer (crl NULL: the
 * signature was checked before, when the record was written).
 */
int	 crl_signers(struct crl_meta *m, const struct chain_store *chain,
	    X509_CRL *crl, enum crl_reject *why, char *buf, size_t len);
/* The Issuing Distribution Point (DER, len 0: none) into m. */
int	 crl_meta_idp(struct crl_meta *m, const unsigned char *der, size_t len,
	    const char **why);
int	 crl_meta_build(struct crl_meta *m, const struct chain_store *chain,
	    struct store *store, X509_CRL *crl, const char *source,
	    size_t *count, enum crl_reject *reject, char *err, size_t errlen);
unsigned int crl_applies(const struct crl_meta *m, struct crl_cert *c,
	    time_t at);
int	 crl_newer(const struct crl_meta *a, const struct crl_meta *b);
void	 crl_info_call(const struct crl_meta *m, const char *source,
	    void (*fn)(void *, const struct crl_info *), void *arg);

/* crlrec.c */
void	 crl_rec_store(struct store *store, const char *name,
	    const struct crl_meta *m, size_t n);
int	 crl_rec_load(struct crl_set *s, struct store *store, const char *name,
	    const struct chain_store *chain, const char *path);
void	 crl_path_store(struct store *store, const char *path,
	    const char *name);
size_t	 crl_path_keep(struct crl_set *s, struct store *store,
	    const char *path, const struct chain_store *chain);

/* crldp.c */
struct crldp_crl *crldp_for(const struct crl_fetch_ctx *ctx,
	    struct crl_cert *cc, time_t at, time_t grace, char *pending,
	    size_t plen, char *why, size_t wlen);
void	 crldp_release(struct crldp_crl *c);
void	 crldp_foreach(void (*fn)(void *, const struct crl_info *), void *arg);

#endif
