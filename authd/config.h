/*
 * config.h: the configuration, from a file of "key value" lines and from
 * long flags of the same names (docs/configuration.md).
 *
 * A struct config is built once by the loader, then only read.  Strings
 * and lists it holds are owned by it and freed by config_cleanup.
 */
#ifndef AUTHD_CONFIG_H
#define AUTHD_CONFIG_H

#include <sys/types.h>

#include <stddef.h>
#include <time.h>

#include "log.h"
#include "policy.h"

#define CONFIG_ORIGIN_MAX	 512
#define CONFIG_INCLUDE_DEPTH	 8	/* files open at once below the main one */
#define CONFIG_INCLUDE_FILES_MAX 64	/* files read by one load, in all */
#define CONFIG_LINE_MAX		 4096
#define OCSP_URL_MAX		 1024

enum config_purpose {
	CONFIG_PURPOSE_CLIENT = 0,
	CONFIG_PURPOSE_SERVER,
	CONFIG_PURPOSE_ANY,
};

/* revocation_order: which source is asked first, or the only one. */
enum config_revorder {
	CONFIG_REVORDER_CRL_OCSP = 0,
	CONFIG_REVORDER_OCSP_CRL,
	CONFIG_REVORDER_CRL,
	CONFIG_REVORDER_OCSP,
};

/* A value with the place it was set, for "file:line: message" errors. */
struct config_item {
	char	*value;
	char	 origin[CONFIG_ORIGIN_MAX];	/* "file:line" or "--flag" */
};

struct config_list {
	struct config_item	*items;
	size_t			 n;
};

struct config {
	struct config_item	 listen;
	unsigned int		 listen_mode;
	struct config_item	 listen_owner;	/* USER[:GROUP] of the socket */
	uid_t			 listen_uid;	/* resolved by config_check */
	gid_t			 listen_gid;
	struct config_item	 user;		/* run as, after binding */
	uid_t			 user_uid;	/* resolved by config_check */
	gid_t			 user_gid;
	time_t			 shutdown_timeout;	/* drain on SIGTERM */
	unsigned int		 threads;
	struct config_list	 trust;
	int			 trust_partial;	/* any anchor may end a chain */
	int			 ca_issuers_fetch;	/* AIA caIssuers */
	struct config_item	 ca_issuers_url;	/* allowed URL prefixes */
	struct config_list	 intermediates;
	struct config_list	 crl;
	int			 crl_scope;		/* enum crl_scope */
	int			 crl_missing_allow;
	time_t			 crl_grace;
	int			 crl_fetch;		/* distribution points */
	size_t			 crl_max_size;
	time_t			 fetch_timeout;
	unsigned int		 fetch_threads;
	struct config_item	 fetch_proxy;	/* unset, "none" or a URL */
	int			 ocsp_mode;		/* enum ocsp_mode */
	/* "URL" for every issuer, or "URL\tISSUER-FILE" (resolved) */
	struct config_list	 ocsp_responder;
	int			 ocsp_certid_sha256;
	time_t			 ocsp_skew;
	time_t			 ocsp_max_age;
	time_t			 ocsp_default_ttl;
	int			 ocsp_nonce;
	int			 ocsp_failure_allow;
	size_t			 ocsp_max_size;
	size_t			 ocsp_cache_size;	/* CertIDs in memory */
	size_t			 crl_fetch_cache_size;	/* DP URLs in memory */
	struct config_list	 ocsp_signer;	/* pinned responder certificates */
	int			 revocation_order;	/* enum config_revorder */
	char			 revorder_origin[CONFIG_ORIGIN_MAX];
	struct config_item	 policy;
	struct config_item	 shadow_policy;	/* evaluated, logged, not enforced */
	time_t			 watch_interval;	/* poll files for changes; 0 off */
	struct config_item	 data_dir;
	unsigned int		 verify_depth;
	size_t			 cache_size;
	size_t			 max_request_size;	/* per-connection buffer */
	time_t			 cache_ttl;
	size_t			 verified_cache_size;	/* chains kept in data_dir */
	time_t			 decision_max_age;	/* X-Accel-Expires bound */
	enum config_purpose	 purpose;
	/* require_policy, explicit_policy, inhibit_policy_mapping, _any_ */
	struct policy_pcy	 pcy;
	enum log_level		 log_level;
	struct config_item	 audit_log;	/* "off", "stderr" or a file */

	char			*file;		/* main config file, or NULL */
	int			 nerrors;	/* errors printed so far */
	unsigned char		 seen[64];	/* per key: set in a file */
	unsigned char		 flagged[64];	/* per key: set by a flag */
};

void	 config_init(struct config *cfg);
void	 config_cleanup(struct config *cfg);

/*
 * Read a configuration file (and what it includes).  Every error is
 * printed to stderr as "file:line: message" and counted in cfg->nerrors;
 * reading goes on after an error.  Keys already set by a flag are skipped,
 * so the flag wins.  Returns 0 or AUTHD_ECONFIG.
 */
int	 config_load(struct config *cfg, const char *path);

/*
 * Set one key from a long flag: key may use '-' or '_'.  The first flag for
 * a repeatable key replaces what a file gave.  Errors are printed and
 * counted as for config_load.  Returns 0, AUTHD_ECONFIG, or AUTHD_EINVAL when
 * the key is unknown (the caller decides whether that is a usage error).
 */
int	 config_set_flag(struct config *cfg, const char *key, const char *value);

/* Whether key was set by the file or a flag (not left at its default). */
int	 config_is_set(const struct config *cfg, const char *key);

/* Whether key (either spelling) names a configuration key. */
int	 config_is_key(const char *key);
/* The i-th configuration key (the table's order), NULL past the last. */
const char	*config_key_name(size_t i);

/*
 * Checks that need the whole configuration (required keys, keys that
 * need others, features not in this version).  need_trust is 0 for tools that can run without it.
 * Returns 0 or AUTHD_ECONFIG, printing every problem.
 */
int	 config_check(struct config *cfg, int need_trust);

/*
 * Parse a duration with a unit: 30s, 10m, 12h, 7d.  Returns 0 or
 * AUTHD_EINVAL with *why set to a static explanation.
 */
int	 config_parse_duration(const char *s, time_t *out, const char **why);

/* Report one error against an origin ("file:line" or "--flag"). */
void	 config_error(struct config *cfg, const char *origin,
	    const char *fmt, ...) LOG_PRINTF(3, 4);

#endif
