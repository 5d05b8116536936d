/*
 * policy.h: the policy language (docs/policy.md), compiled by
 * policy_parse.c and evaluated by policy_eval.c.
 *
 * A struct policy is built once by policy_load, then only read: any number
 * of threads may call policy_eval on it at the same time without locks.
 * It owns every string it hands out (reasons, header names, file names),
 * which stay valid until policy_free.
 *
 * Everything a policy author controls is bounded by the POLICY_* limits
 * below; exceeding one is a load error with its position, never a
 * truncation.
 */
#ifndef AUTHD_POLICY_H
#define AUTHD_POLICY_H

#include <stddef.h>
#include <stdio.h>

#define POLICY_FILE_MAX		 (1024 * 1024)	/* bytes of a policy file */
#define POLICY_LINE_MAX		 4096		/* bytes per line, policy and list */
#define POLICY_NAME_MAX		 64		/* rule set, list, header names */
#define POLICY_STRING_MAX	 1024		/* a quoted string, after escapes */
#define POLICY_REGEX_MAX	 512		/* a regular expression */
#define POLICY_REASON_MAX	 128		/* a deny reason */
#define POLICY_MAX_RULESETS	 256
#define POLICY_MAX_RULES	 4096		/* per rule set */
#define POLICY_MAX_LISTS	 64
#define POLICY_MAX_TESTS	 64		/* comparisons per rule */
#define POLICY_MAX_DEPTH	 16		/* nested parentheses and not */
#define POLICY_MAX_ERRORS	 100		/* reported before giving up */
#define POLICY_MAX_SET_HEADERS	 8		/* set clauses per rule */
#define POLICY_HEADER_VALUE_MAX	 1024
/* In-memory lists for now: the LMDB-backed store will raise this. */
#define POLICY_LIST_MAX_ENTRIES	 1000000	/* per list */
#define POLICY_HEX_MAX		 130		/* normalised entry, with '-', NUL */
/* PCRE2 limits for every match: beyond them the comparison is false. */
#define POLICY_MATCH_LIMIT	 100000
#define POLICY_DEPTH_LIMIT	 1000
#define POLICY_HEAP_LIMIT_KIB	 1024

struct policy;

/*
 * Certificate policy settings (RFC 5280 6.1.1 (c), (e) to (g)): the
 * user-initial-policy-set (dotted OIDs; none is anyPolicy) and the three
 * initial indicators.  A user set makes an explicit policy required: a set
 * that need not match would constrain nothing.  Globally in authd.conf;
 * a rule set's own settings are checked in addition to the global ones.
 */
#define POLICY_PCY_OIDS_MAX	 16
#define POLICY_OID_MAX		 128	/* dotted text, with the NUL */
#define POLICY_MAX_PCY		 32	/* rule sets with their own settings */
struct policy_pcy {
	char		 oids[POLICY_PCY_OIDS_MAX][POLICY_OID_MAX];
	size_t		 noids;
	int		 explicit_policy;
	int		 inhibit_mapping;
	int		 inhibit_any;
};

/* Whether s is a dotted OID (digits and single dots, two arcs or more). */
int		 policy_is_dotted_oid(const char *s);

/* One attribute of a DN: type is an OpenSSL short name or a dotted OID. */
struct policy_attr {
	const char	*type;
	const char	*value;
};

/*
 * What a rule can test about the client.  Everything is borrowed and must
 * stay valid during the call; a NULL string or an empty array is a field
 * without a value (see identity_fields_view for a filled one).
 */
struct policy_identity {
	const char			*subject, *issuer;	/* RFC 2253 */
	const char			*serial;	/* uppercase hex */
	const char			*fingerprint;	/* lowercase hex SHA-256 */
	const struct policy_attr	*subject_attrs;
	size_t				 nsubject_attrs;
	const struct policy_attr	*issuer_attrs;
	size_t				 nissuer_attrs;
	const char *const		*san_dns;
	size_t				 nsan_dns;
	const char *const		*san_email;
	size_t				 nsan_email;
	const char *const		*san_uri;
	size_t				 nsan_uri;
	const char *const		*san_ip;	/* 192.0.2.1, 2001:db8::1 */
	size_t				 nsan_ip;
	const char *const		*san_upn;	/* otherName 1.3.6.1.4.1.311.20.2.3 */
	size_t				 nsan_upn;
	const char *const		*san_fascn;	/* otherName 2.16.840.1.101.3.6.6, hex */
	size_t				 nsan_fascn;
	const char *const		*san_uuid;	/* URI urn:uuid:, lowercase */
	size_t				 nsan_uuid;
	const char *const		*eku;		/* clientAuth or dotted OID */
	size_t				 neku;
	const char *const		*policy_oids;	/* dotted */
	size_t				 npolicy_oids;
	/* the valid policies after RFC 5280 6.1 processing, dotted */
	const char *const		*policies;
	size_t				 npolicies;
	long				 days_left;
};

/* The request; a NULL member has no value (== never matches it). */
struct policy_request {
	const char	*method, *path, *host;
};

/* How a decision came about (the reason text alone is not parsed back). */
enum policy_outcome {
	POLICY_ALLOWED = 0,	/* an allow rule matched */
	POLICY_DENIED,		/* a deny rule matched (reason: its own or policy-deny) */
	POLICY_NO_MATCH,	/* no rule matched: no-matching-rule */
	POLICY_NO_RULESET,	/* the rule set asked for does not exist */
	POLICY_UNDECIDABLE,	/* a rule could not be evaluated: policy-error */
};

struct policy_decision {
	int		 allow;		/* 1 allow, 0 deny */
	enum policy_outcome outcome;
	/* "ok", "no-matching-rule", "policy-deny" or the rule's reason */
	const char	*reason;
	const char	*file;		/* the deciding rule, NULL/0 if none */
	int		 line;
	size_t		 nmatches;	/* regex matches run, prefilters too */
	size_t		 nheaders;	/* set by the deciding allow rule */
	struct {
		const char	*name;	/* owned by the policy */
		char		 value[POLICY_HEADER_VALUE_MAX];  /* sanitised */
	}		 headers[POLICY_MAX_SET_HEADERS];
};

/*
 * Read and compile the policy file at path, with the lists it names.
 * Every error is printed to errf (stderr if NULL) as
 * "file:line:col: message" and reading goes on, so that one run reports
 * them all (up to POLICY_MAX_ERRORS).  Returns 0 with *out set, or
 * AUTHD_ECONFIG (errors printed) or AUTHD_ENOMEM with *out NULL.
 */
int		 policy_load(const char *path, FILE *errf, struct policy **out);
void		 policy_free(struct policy **p);

/* Whether the policy has a rule set of that name. */
int		 policy_has_ruleset(const struct policy *p, const char *name);

/*
 * The rule set's own ocsp_failure (NULL or "" is "default"): 1 allow,
 * 0 deny, -1 when it has none or there is no such rule set.
 */
int		 policy_ocsp_failure(const struct policy *p, const char *ruleset);

/*
 * The rule set's own decision_max_age in seconds (how long nginx may reuse
 * its answers, at most the global one): -1 when it has none or there is no
 * such rule set.
 */
long		 policy_decision_max_age(const struct policy *p,
		    const char *ruleset);

/*
 * The request fields a rule set reads (method, path, host), as
 * POLICY_READS_* bits: 0 when its decisions depend on the certificate
 * alone, so that nginx may reuse them per client rather than per request
 * (authd-cache.conf).  No such rule set: 0.
 */
#define POLICY_READS_METHOD	0x1u
#define POLICY_READS_PATH	0x2u
#define POLICY_READS_HOST	0x4u
unsigned	 policy_ruleset_reads(const struct policy *p,
		    const char *ruleset);
/* The i-th rule set's name (i < policy_rulesets(p)), in file order. */
const char	*policy_ruleset_name(const struct policy *p, size_t i);

/*
 * Rule sets with certificate policy settings of their own: there are
 * policy_pcy_count of them, the i-th one's settings are policy_pcy_at(i),
 * and policy_pcy_index gives a rule set's i (-1: none of its own, or no
 * such rule set).  policy_pcy_used: a rule reads or sets the policy field.
 */
size_t		 policy_pcy_count(const struct policy *p);
const struct policy_pcy *policy_pcy_at(const struct policy *p, size_t i);
const char	*policy_pcy_name(const struct policy *p, size_t i);
int		 policy_pcy_index(const struct policy *p, const char *ruleset);
int		 policy_pcy_used(const struct policy *p);

/*
 * Decide for one request with the rule set named ruleset (NULL or "" is
 * "default").  First matching rule decides; none: deny no-matching-rule;
 * unknown rule set: deny policy-deny (the caller logs it).  Never fails,
 * never allocates after the first call on a thread.  Pointers in out are
 * valid as long as p.
 */
void		 policy_eval(const struct policy *p, const char *ruleset,
		    const struct policy_identity *id,
		    const struct policy_request *rq, struct policy_decision *out);

/* Counts, for "authd policy check" and explanations. */
size_t		 policy_rulesets(const struct policy *p);
size_t		 policy_rules(const struct policy *p);
size_t		 policy_lists(const struct policy *p);
size_t		 policy_list_entries(const struct policy *p);
/* The file of list i (0 <= i < policy_lists), for noticing changes. */
const char	*policy_list_path(const struct policy *p, size_t i);
/* The store set holding list i ("list:<sha256>"), NULL when in memory. */
const char	*policy_list_setname(const struct policy *p, size_t i);

struct store;
/*
 * policy_load with the lists in store (authd serve): a list whose file is
 * unchanged since an earlier run is found there by its SHA-256 and not
 * read again; a new one is read, checked and written in one transaction.
 * Lists may then hold up to POLICY_STORE_LIST_MAX entries.
 */
#define POLICY_STORE_LIST_MAX	 20000000
int		 policy_load_store(const char *path, FILE *errf,
		    struct store *store, struct policy **out);

/* Regex matches that failed (match/depth/heap limit) since load. */
unsigned long	 policy_match_errors(const struct policy *p);

/*
 * Normalise a serial or fingerprint for comparison: ':' separators
 * dropped, hex lowercased, leading zeros dropped ("0" stays), an optional
 * leading '-' kept.  Writes at most POLICY_HEX_MAX bytes to out.  Returns
 * the length, or -1 when s is not such a value.
 */
int		 policy_hex_norm(const char *s, size_t len,
		    char out[POLICY_HEX_MAX]);

/* ---------------------------------------------------------------------
 * Internal to policy_parse.c and policy_eval.c: the compiled form.
 */
#ifdef POLICY_INTERNAL
#include <stdatomic.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

enum policy_field {
	PF_SUBJECT, PF_ISSUER, PF_SUBJECT_ATTR, PF_ISSUER_ATTR, PF_SERIAL,
	PF_FINGERPRINT, PF_SAN_DNS, PF_SAN_EMAIL, PF_SAN_URI, PF_SAN_IP,
	PF_SAN_UPN, PF_SAN_FASCN, PF_SAN_UUID,
	PF_EKU, PF_POLICY_OID, PF_POLICY, PF_DAYS_LEFT, PF_METHOD, PF_PATH, PF_HOST,
};

enum policy_op {
	PO_EQ, PO_NE, PO_MATCH, PO_PREFIX, PO_IN, PO_LT, PO_LE, PO_GT, PO_GE,
};

enum policy_node_kind { PN_TEST, PN_AND, PN_OR, PN_NOT, PN_TRUE };

/*
 * A set of normalised hex values (see policy_hex_norm): in LMDB when
 * store is set, else an in-memory hash set.
 */
struct policy_list {
	struct store	*store;		/* borrowed; NULL: the hash set */
	unsigned int	 set;		/* store_set_t */
	char		 setname[128];	/* "list:" and the file's SHA-256 */
	char		*name;
	int		 line;		/* of its declaration */
	char		*path;
	char		*arena;		/* NUL-terminated entries */
	size_t		 arena_len, arena_cap;
	unsigned int	*slots;		/* arena offset + 1; 0 is empty */
	size_t		 nslots;	/* power of two */
	size_t		 n;
};

/*
 * A prefilter: the plain regexes of a rule set on one value (field and
 * attribute), in file order, as one pattern (?:r1)|(?:r2)|...  A request
 * whose values it matches none of has every member false for one match
 * per value; any other outcome (a match, a limit) runs each member on its
 * own as if there were no prefilter.  "Plain": see policy_parse.c.
 */
#define POLICY_PREFILTER_MEMBERS 64	/* regexes per prefilter */
#define POLICY_PREFILTER_LEN	 8192	/* bytes of its pattern */
#define POLICY_MAX_PREFILTERS	 32	/* per rule set; past it, alone */
struct policy_prefilter {
	pcre2_code		*re;
	size_t			 i;		/* in the rule set's array */
	size_t			 nmembers;
};

struct policy_node {
	enum policy_node_kind	 kind;
	struct policy_node	**kids;		/* AND, OR (n), NOT (1) */
	size_t			 nkids;
	enum policy_field	 field;
	char			*attr;		/* PF_*_ATTR: canonical type */
	enum policy_op		 op;
	char			*str;		/* literal, normalised per field;
						   ~: the regex's text */
	size_t			 len;
	long			 num;
	pcre2_code		*re;
	const struct policy_prefilter *pf;	/* ~: its prefilter, or NULL */
	const struct policy_list *list;
};

struct policy_set {
	char			*name;
	enum policy_field	 field;
	char			*attr;
};

struct policy_rule {
	int			 allow;
	int			 line;
	struct policy_node	*cond;
	char			*reason;	/* deny, or NULL */
	struct policy_set	 sets[POLICY_MAX_SET_HEADERS];
	size_t			 nsets;
};

struct policy_ruleset {
	char			*name;
	int			 line;
	int			 ocsp_failure;	/* 0 unset, 1 deny, 2 allow */
	long			 max_age;	/* decision_max_age, -1 unset */
	unsigned		 reads;		/* POLICY_READS_* */
	struct policy_pcy	*pcy;		/* its own, or NULL */
	int			 pcy_index;	/* among those with one, or -1 */
	struct policy_rule	*rules;
	size_t			 nrules;
	struct policy_prefilter	*pf;
	size_t			 npf;
};

struct policy {
	char			*file;
	struct policy_ruleset	*rulesets;
	size_t			 nrulesets;
	struct policy_list	*lists;
	size_t			 nlists;
	/* rule sets with certificate policy settings, in pcy_index order */
	const struct policy_ruleset *pcy[POLICY_MAX_PCY];
	size_t			 npcy;
	int			 pcy_used;	/* the policy field is read */
	pcre2_match_context	*mctx;		/* limits; read-only once built */
	atomic_ulong		*match_errors;	/* separate: counted via const p */
};

/*
 * policy_eval.c, shared with the parser.  Every list lookup goes through
 * policy_list_lookup, so that the LMDB-backed store can replace the hash
 * set without touching the evaluator.
 */
size_t	 policy_list_hash(const char *norm);
int	 policy_list_lookup(const struct policy_list *l, const char *norm);
void	 policy_node_free(struct policy_node *n);
/* Prefilters of all rule sets; *members (if not NULL): their regexes. */
size_t	 policy_prefilters(const struct policy *p, size_t *members);
/*
 * Detach every regex of p from its prefilter: p then decides as it would
 * without them (the tests and the fuzzer compare the two).  The prefilters
 * stay allocated until policy_free.
 */
void	 policy_prefilters_detach(struct policy *p);
#endif

#endif
