/*
 * config.c: "key value" files with # comments and include, and long flags
 * with the same names.  Every error names its origin; parsing continues so
 * that one run shows them all.
 */
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "err.h"
#include "fetch.h"
#include "priv.h"

enum config_type {
	CT_STRING,	/* one value */
	CT_PATHS,	/* repeatable path, relative to the file that names it */
	CT_PATH,	/* one path */
	CT_LOGFILE,	/* "off", "stderr", or a path */
	CT_UINT,
	CT_SIZE,
	CT_BYTES,	/* a size with an optional k or m suffix */
	CT_MODE,
	CT_DURATION,
	CT_PURPOSE,
	CT_LOGLEVEL,
	CT_CRL_SCOPE,
	CT_DENYALLOW,
	CT_ONOFF,
	CT_OCSP,
	CT_CERTID,
	CT_REVORDER,
	CT_RESPONDER,	/* repeatable "URL" or "URL ISSUER-FILE" */
	CT_PROXY,	/* "none" or http://host[:port][/] */
	CT_OIDS,	/* dotted OIDs separated by blanks */
	CT_PREFIXES,	/* http:// URL prefixes separated by blanks */
};

struct config_key {
	const char		*name;
	enum config_type	 type;
	size_t			 off;
	unsigned long		 min, max;
};

#define OFF(f) offsetof(struct config, f)

static const struct config_key config_keys[] = {
	{ "listen",		CT_STRING,	OFF(listen),		0, 0 },
	{ "listen_mode",	CT_MODE,	OFF(listen_mode),	0, 0777 },
	{ "listen_owner",	CT_STRING,	OFF(listen_owner),	0, 0 },
	{ "user",		CT_STRING,	OFF(user),		0, 0 },
	{ "shutdown_timeout",	CT_DURATION,	OFF(shutdown_timeout),	0, 3600 },
	{ "threads",		CT_UINT,	OFF(threads),		1, 256 },
	{ "trust",		CT_PATHS,	OFF(trust),		0, 0 },
	{ "trust_partial",	CT_ONOFF,	OFF(trust_partial),	0, 0 },
	{ "ca_issuers_fetch",	CT_ONOFF,	OFF(ca_issuers_fetch),	0, 0 },
	{ "ca_issuers_url",	CT_PREFIXES,	OFF(ca_issuers_url),	0, 0 },
	{ "intermediates",	CT_PATHS,	OFF(intermediates),	0, 0 },
	{ "crl",		CT_PATHS,	OFF(crl),		0, 0 },
	{ "policy",		CT_PATH,	OFF(policy),		0, 0 },
	{ "crl_scope",		CT_CRL_SCOPE,	OFF(crl_scope),		0, 0 },
	{ "crl_missing",	CT_DENYALLOW,	OFF(crl_missing_allow),	0, 0 },
	{ "crl_grace",		CT_DURATION,	OFF(crl_grace),		0, 365 * 86400 },
	{ "crl_fetch",		CT_ONOFF,	OFF(crl_fetch),		0, 0 },
	{ "crl_max_size",	CT_BYTES,	OFF(crl_max_size),	1024, 1073741824 },
	{ "fetch_timeout",	CT_DURATION,	OFF(fetch_timeout),	1, 120 },
	{ "fetch_threads",	CT_UINT,	OFF(fetch_threads),	1, 16 },
	{ "fetch_proxy",	CT_PROXY,	OFF(fetch_proxy),	0, 0 },
	{ "ocsp",		CT_OCSP,	OFF(ocsp_mode),		0, 0 },
	{ "ocsp_responder",	CT_RESPONDER,	OFF(ocsp_responder),	0, 0 },
	{ "ocsp_certid",	CT_CERTID,	OFF(ocsp_certid_sha256), 0, 0 },
	{ "ocsp_skew",		CT_DURATION,	OFF(ocsp_skew),		0, 86400 },
	{ "ocsp_max_age",	CT_DURATION,	OFF(ocsp_max_age),	0, 365 * 86400 },
	{ "ocsp_default_ttl",	CT_DURATION,	OFF(ocsp_default_ttl),	1, 7 * 86400 },
	{ "ocsp_nonce",		CT_ONOFF,	OFF(ocsp_nonce),	0, 0 },
	{ "ocsp_failure",	CT_DENYALLOW,	OFF(ocsp_failure_allow), 0, 0 },
	{ "ocsp_max_size",	CT_BYTES,	OFF(ocsp_max_size),	1024, 4194304 },
	{ "ocsp_signer",	CT_PATHS,	OFF(ocsp_signer),	0, 0 },
	{ "ocsp_cache_size",	CT_SIZE,	OFF(ocsp_cache_size),	100, 10000000 },
	{ "crl_fetch_cache_size", CT_SIZE,	OFF(crl_fetch_cache_size), 16, 1000000 },
	{ "revocation_order",	CT_REVORDER,	OFF(revocation_order),	0, 0 },
	{ "shadow_policy",	CT_PATH,	OFF(shadow_policy),	0, 0 },
	{ "watch_interval",	CT_DURATION,	OFF(watch_interval),	0, 3600 },
	{ "data_dir",		CT_PATH,	OFF(data_dir),		0, 0 },
	{ "verify_depth",	CT_UINT,	OFF(verify_depth),	1, 16 },
	{ "max_request_size",	CT_BYTES,	OFF(max_request_size),	16384, 4194304 },
	{ "cache_size",		CT_SIZE,	OFF(cache_size),	0, 10000000 },
	{ "cache_ttl",		CT_DURATION,	OFF(cache_ttl),		0, 7 * 86400 },
	{ "verified_cache_size", CT_SIZE,	OFF(verified_cache_size), 0, 100000000 },
	{ "decision_max_age",	CT_DURATION,	OFF(decision_max_age),	0, 86400 },
	{ "purpose",		CT_PURPOSE,	OFF(purpose),		0, 0 },
	{ "require_policy",	CT_OIDS,	OFF(pcy),		0, 0 },
	{ "explicit_policy",	CT_ONOFF,	OFF(pcy.explicit_policy), 0, 0 },
	{ "inhibit_policy_mapping", CT_ONOFF,	OFF(pcy.inhibit_mapping), 0, 0 },
	{ "inhibit_any_policy",	CT_ONOFF,	OFF(pcy.inhibit_any),	0, 0 },
	{ "log_level",		CT_LOGLEVEL,	OFF(log_level),		0, 0 },
	{ "audit_log",		CT_LOGFILE,	OFF(audit_log),		0, 0 },
};

#define NKEYS (sizeof(config_keys) / sizeof(config_keys[0]))

const char *
config_key_name(size_t i)
{
	return i < NKEYS ? config_keys[i].name : NULL;
}

void
config_init(struct config *cfg)
{
	long	 n;

	memset(cfg, 0, sizeof(*cfg));
	n = sysconf(_SC_NPROCESSORS_ONLN);
	cfg->threads = n > 0 && n <= 256 ? (unsigned int)n : 1;
	cfg->listen_mode = 0666;
	cfg->verify_depth = 4;
	cfg->cache_size = 100000;
	cfg->max_request_size = 64 * 1024;
	cfg->watch_interval = 2;
	cfg->shutdown_timeout = 10;
	cfg->crl_fetch = 1;
	cfg->crl_max_size = 64 * 1024 * 1024;
	cfg->fetch_timeout = 5;
	cfg->fetch_threads = 2;
	cfg->ocsp_skew = 300;
	cfg->ocsp_default_ttl = 3600;
	cfg->ocsp_max_size = 64 * 1024;
	cfg->ocsp_cache_size = 100000;
	cfg->crl_fetch_cache_size = 4096;
	cfg->cache_ttl = 600;
	cfg->verified_cache_size = 1000000;
	cfg->decision_max_age = 60;
	cfg->purpose = CONFIG_PURPOSE_CLIENT;
	cfg->log_level = LOG_LEVEL_INFO;
}

static void
config_item_cleanup(struct config_item *it)
{
	free(it->value);
	it->value = NULL;
}

static void
config_list_cleanup(struct config_list *l)
{
	size_t	 i;

	for (i = 0; i < l->n; i++)
		config_item_cleanup(&l->items[i]);
	free(l->items);
	l->items = NULL;
	l->n = 0;
}

void
config_cleanup(struct config *cfg)
{
	config_item_cleanup(&cfg->listen);
	config_item_cleanup(&cfg->listen_owner);
	config_item_cleanup(&cfg->user);
	config_item_cleanup(&cfg->fetch_proxy);
	config_item_cleanup(&cfg->ca_issuers_url);
	config_list_cleanup(&cfg->trust);
	config_list_cleanup(&cfg->intermediates);
	config_list_cleanup(&cfg->crl);
	config_list_cleanup(&cfg->ocsp_signer);
	config_item_cleanup(&cfg->policy);
	config_item_cleanup(&cfg->shadow_policy);
	config_list_cleanup(&cfg->ocsp_responder);
	config_item_cleanup(&cfg->data_dir);
	config_item_cleanup(&cfg->audit_log);
	free(cfg->file);
	cfg->file = NULL;
}

void
config_error(struct config *cfg, const char *origin, const char *fmt, ...)
{
	va_list	 ap;

	fprintf(stderr, "%s: ", origin);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	cfg->nerrors++;
}

static const struct config_key *
config_find(const char *name)
{
	char	 norm[64];
	size_t	 i, len = strlen(name);

	if (len >= sizeof(norm))
		return NULL;
	for (i = 0; i <= len; i++)
		norm[i] = name[i] == '-' ? '_' : name[i];
	for (i = 0; i < NKEYS; i++)
		if (strcmp(config_keys[i].name, norm) == 0)
			return &config_keys[i];
	return NULL;
}

int
config_is_set(const struct config *cfg, const char *key)
{
	const struct config_key	*k = config_find(key);
	size_t			 idx;

	if (k == NULL)
		return 0;
	idx = (size_t)(k - config_keys);
	return cfg->seen[idx] || cfg->flagged[idx];
}

int
config_is_key(const char *key)
{
	return config_find(key) != NULL;
}

int
config_parse_duration(const char *s, time_t *out, const char **why)
{
	unsigned long long	 v = 0;
	const char		*p = s;
	time_t			 unit;

	if (!isdigit((unsigned char)*p)) {
		*why = "expected a number with a unit (30s, 10m, 12h, 7d)";
		return AUTHD_EINVAL;
	}
	for (; isdigit((unsigned char)*p); p++) {
		v = v * 10 + (unsigned long long)(*p - '0');
		if (v > 100000000ULL) {
			*why = "duration too large";
			return AUTHD_EINVAL;
		}
	}
	switch (*p) {
	case 's': unit = 1; break;
	case 'm': unit = 60; break;
	case 'h': unit = 3600; break;
	case 'd': unit = 86400; break;
	case '\0':
		*why = "missing unit (write 30s, 10m, 12h or 7d)";
		return AUTHD_EINVAL;
	default:
		*why = "unknown unit (use s, m, h or d)";
		return AUTHD_EINVAL;
	}
	if (p[1] != '\0') {
		*why = "unexpected text after the unit";
		return AUTHD_EINVAL;
	}
	if (v > (unsigned long long)(100 * 365 * 86400LL) / (unsigned long long)unit) {
		*why = "duration too large";
		return AUTHD_EINVAL;
	}
	*out = (time_t)v * unit;
	return 0;
}

static int
config_parse_ulong(const char *s, int base, unsigned long *out)
{
	char		*end;
	unsigned long	 v;

	if (*s == '\0' || *s == '-' || *s == '+' || isspace((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoul(s, &end, base);
	if (errno != 0 || *end != '\0')
		return -1;
	*out = v;
	return 0;
}

/* 65536, 64k, 1m */
static int
config_parse_bytes(const char *s, unsigned long *out)
{
	char		 num[32];
	size_t		 n = strlen(s);
	unsigned long	 mul = 1;

	if (n == 0 || n >= sizeof(num))
		return -1;
	memcpy(num, s, n + 1);
	if (num[n - 1] == 'k' || num[n - 1] == 'K')
		mul = 1024;
	else if (num[n - 1] == 'm' || num[n - 1] == 'M')
		mul = 1024 * 1024;
	if (mul != 1)
		num[n - 1] = '\0';
	if (config_parse_ulong(num, 10, out) != 0 || *out > ULONG_MAX / mul)
		return -1;
	*out *= mul;
	return 0;
}

/* Resolve a relative path against the directory of the file naming it. */
static char *
config_resolve(const char *path, const char *relto)
{
	const char	*slash;
	char		*out;
	size_t		 dlen;

	if (path[0] == '/' || relto == NULL ||
	    (slash = strrchr(relto, '/')) == NULL)
		return strdup(path);
	dlen = (size_t)(slash - relto);
	if ((out = malloc(dlen + 1 + strlen(path) + 1)) == NULL)
		return NULL;
	memcpy(out, relto, dlen);
	out[dlen] = '/';
	memcpy(out + dlen + 1, path, strlen(path) + 1);
	return out;
}

static int
config_item_set(struct config_item *it, const char *value, const char *origin)
{
	char	*v;

	if ((v = strdup(value)) == NULL)
		return AUTHD_ENOMEM;
	free(it->value);
	it->value = v;
	snprintf(it->origin, sizeof(it->origin), "%s", origin);
	return 0;
}

static int
config_list_add(struct config_list *l, char *value, const char *origin)
{
	struct config_item	*n;

	if (l->n >= 64) {
		free(value);
		return AUTHD_ERANGE;
	}
	n = realloc(l->items, (l->n + 1) * sizeof(*n));
	if (n == NULL) {
		free(value);
		return AUTHD_ENOMEM;
	}
	l->items = n;
	l->items[l->n].value = value;
	snprintf(l->items[l->n].origin, sizeof(l->items[l->n].origin), "%s",
	    origin);
	l->n++;
	return 0;
}

/* Apply one key.  relto is the file a path is relative to (NULL: cwd). */
static int
config_apply(struct config *cfg, const struct config_key *k,
    const char *value, const char *origin, const char *relto)
{
	void		*field = (char *)cfg + k->off;
	unsigned long	 u;
	time_t		 d;
	const char	*why;
	char		*path;
	int		 rc;

	if (*value == '\0') {
		config_error(cfg, origin, "%s: missing value", k->name);
		return AUTHD_ECONFIG;
	}
	switch (k->type) {
	case CT_STRING:
		rc = config_item_set(field, value, origin);
		break;
	case CT_LOGFILE:
		if (strcmp(value, "off") == 0 || strcmp(value, "stderr") == 0) {
			rc = config_item_set(field, value, origin);
			break;
		}
		/* FALLTHROUGH */
	case CT_PATH:
	case CT_PATHS:
		if ((path = config_resolve(value, relto)) == NULL)
			return AUTHD_ENOMEM;
		if (k->type != CT_PATHS) {
			rc = config_item_set(field, path, origin);
			free(path);
		} else if ((rc = config_list_add(field, path, origin)) ==
		    AUTHD_ERANGE) {
			config_error(cfg, origin, "%s: more than 64 files",
			    k->name);
			return AUTHD_ECONFIG;
		}
		break;
	case CT_UINT:
	case CT_SIZE:
	case CT_MODE:
		if (config_parse_ulong(value, k->type == CT_MODE ? 8 : 10,
		    &u) != 0 || u < k->min || u > k->max) {
			config_error(cfg, origin, "%s: expected %s from %lu to "
			    "%lu%s, got \"%s\"", k->name,
			    k->type == CT_MODE ? "an octal mode" : "a number",
			    k->min, k->max, k->type == CT_MODE ? " (octal)" :
			    "", value);
			return AUTHD_ECONFIG;
		}
		if (k->type == CT_SIZE)
			*(size_t *)field = u;
		else
			*(unsigned int *)field = (unsigned int)u;
		rc = 0;
		break;
	case CT_BYTES:
		if (config_parse_bytes(value, &u) != 0 || u < k->min ||
		    u > k->max) {
			config_error(cfg, origin, "%s: expected a size from %luk "
			    "to %lum (bytes, or with a k or m suffix), got \"%s\"",
			    k->name, k->min / 1024, k->max / (1024 * 1024), value);
			return AUTHD_ECONFIG;
		}
		*(size_t *)field = u;
		rc = 0;
		break;
	case CT_DURATION:
		if (config_parse_duration(value, &d, &why) != 0) {
			config_error(cfg, origin, "%s: %s, got \"%s\"",
			    k->name, why, value);
			return AUTHD_ECONFIG;
		}
		if ((unsigned long)d > k->max) {
			config_error(cfg, origin, "%s: at most %lus, got \"%s\"",
			    k->name, k->max, value);
			return AUTHD_ECONFIG;
		}
		*(time_t *)field = d;
		rc = 0;
		break;
	case CT_PURPOSE:
		if (strcmp(value, "client") == 0)
			cfg->purpose = CONFIG_PURPOSE_CLIENT;
		else if (strcmp(value, "server") == 0)
			cfg->purpose = CONFIG_PURPOSE_SERVER;
		else if (strcmp(value, "any") == 0)
			cfg->purpose = CONFIG_PURPOSE_ANY;
		else {
			config_error(cfg, origin, "%s: expected client, server "
			    "or any, got \"%s\"", k->name, value);
			return AUTHD_ECONFIG;
		}
		rc = 0;
		break;
	case CT_CRL_SCOPE:
		if (strcmp(value, "chain") == 0 || strcmp(value, "leaf") == 0) {
			*(int *)field = value[0] == 'l';
			rc = 0;
			break;
		}
		config_error(cfg, origin, "%s: expected chain or leaf, got "
		    "\"%s\"", k->name, value);
		return AUTHD_ECONFIG;
	case CT_DENYALLOW:
		if (strcmp(value, "deny") == 0 || strcmp(value, "allow") == 0) {
			*(int *)field = value[0] == 'a';
			rc = 0;
			break;
		}
		config_error(cfg, origin, "%s: expected deny or allow, got "
		    "\"%s\"", k->name, value);
		return AUTHD_ECONFIG;
	case CT_ONOFF:
		if (strcmp(value, "on") == 0 || strcmp(value, "off") == 0) {
			*(int *)field = value[1] == 'n';
			rc = 0;
			break;
		}
		config_error(cfg, origin, "%s: expected on or off, got \"%s\"",
		    k->name, value);
		return AUTHD_ECONFIG;
	case CT_OCSP:
		if (strcmp(value, "off") == 0)
			*(int *)field = 0;
		else if (strcmp(value, "leaf") == 0)
			*(int *)field = 1;
		else if (strcmp(value, "chain") == 0)
			*(int *)field = 2;
		else {
			config_error(cfg, origin, "%s: expected off, leaf or "
			    "chain, got \"%s\"", k->name, value);
			return AUTHD_ECONFIG;
		}
		rc = 0;
		break;
	case CT_PROXY: {
		char	 host[256], port[8], upath[FETCH_URL_MAX + 2];

		if (strcmp(value, "none") != 0 && (fetch_parse_url(value, host,
		    sizeof(host), port, sizeof(port), upath,
		    sizeof(upath)) != 0 || strcmp(upath, "/") != 0)) {
			config_error(cfg, origin, "%s: expected \"none\" or "
			    "http://host[:port] (no user, no path), got "
			    "\"%.200s\"", k->name, value);
			return AUTHD_ECONFIG;
		}
		rc = config_item_set(field, value, origin);
		break;
	}
	case CT_CERTID:
		if (strcmp(value, "sha1") == 0 || strcmp(value, "sha256") == 0) {
			*(int *)field = value[3] == '2';
			rc = 0;
			break;
		}
		config_error(cfg, origin, "%s: expected sha1 or sha256, got "
		    "\"%s\"", k->name, value);
		return AUTHD_ECONFIG;
	case CT_RESPONDER: {
		const char	*file, *end;
		char		*v;
		size_t		 ulen, vlen;

		ulen = strcspn(value, " \t");
		file = value + ulen;
		while (*file == ' ' || *file == '\t')
			file++;
		if (strncmp(value, "http://", 7) != 0 || ulen <= 7 ||
		    ulen >= OCSP_URL_MAX) {
			config_error(cfg, origin, "%s: expected an http:// URL "
			    "(shorter than %d bytes), then optionally the file "
			    "of the issuing CA it is for, got \"%.200s\"",
			    k->name, OCSP_URL_MAX, value);
			return AUTHD_ECONFIG;
		}
		if (*file != '\0') {
			end = file + strcspn(file, " \t");
			if (*end != '\0') {
				config_error(cfg, origin, "%s: expected URL [FILE], "
				    "got more after \"%.200s\"", k->name, file);
				return AUTHD_ECONFIG;
			}
			if ((path = config_resolve(file, relto)) == NULL)
				return AUTHD_ENOMEM;
			vlen = ulen + 1 + strlen(path) + 1;
			if ((v = malloc(vlen)) != NULL)
				snprintf(v, vlen, "%.*s\t%s", (int)ulen, value,
				    path);
			free(path);
		} else
			v = strdup(value);
		if (v == NULL)
			return AUTHD_ENOMEM;
		if ((rc = config_list_add(field, v, origin)) == AUTHD_ERANGE) {
			config_error(cfg, origin, "%s: more than 64", k->name);
			return AUTHD_ECONFIG;
		}
		break;
	}
	case CT_REVORDER: {
		static const char *const orders[] = { "crl,ocsp", "ocsp,crl",
		    "crl", "ocsp" };
		char	 norm[32];
		size_t	 i, o = 0;

		/* "crl, ocsp" and "crl,ocsp" alike */
		for (i = 0; value[i] != '\0' && o + 1 < sizeof(norm); i++)
			if (value[i] != ' ' && value[i] != '\t')
				norm[o++] = value[i];
		norm[o] = '\0';
		for (i = 0; i < sizeof(orders) / sizeof(orders[0]); i++)
			if (strcmp(norm, orders[i]) == 0)
				break;
		if (i == sizeof(orders) / sizeof(orders[0])) {
			config_error(cfg, origin, "%s: expected crl,ocsp, "
			    "ocsp,crl, crl or ocsp, got \"%.64s\"", k->name,
			    value);
			return AUTHD_ECONFIG;
		}
		*(int *)field = (int)i;
		snprintf(cfg->revorder_origin, sizeof(cfg->revorder_origin),
		    "%s", origin);
		rc = 0;
		break;
	}
	case CT_OIDS: {
		struct policy_pcy	*pcy = field;
		char			 oid[POLICY_OID_MAX];
		const char		*p = value;
		size_t			 n;

		pcy->noids = 0;
		for (;;) {
			p += strspn(p, " \t");
			if (*p == '\0')
				break;
			n = strcspn(p, " \t");
			if (n >= sizeof(oid) - 1) {
				config_error(cfg, origin, "%s: OID longer than "
				    "%zu bytes", k->name, sizeof(oid) - 2);
				return AUTHD_ECONFIG;
			}
			memcpy(oid, p, n);
			oid[n] = '\0';
			if (!policy_is_dotted_oid(oid)) {
				config_error(cfg, origin, "%s: expected dotted "
				    "OIDs like 2.16.840.1.101.3.2.1.3.13, got "
				    "\"%.64s\"", k->name, oid);
				return AUTHD_ECONFIG;
			}
			if (pcy->noids >= POLICY_PCY_OIDS_MAX) {
				config_error(cfg, origin, "%s: more than %d "
				    "OIDs", k->name, POLICY_PCY_OIDS_MAX);
				return AUTHD_ECONFIG;
			}
			memcpy(pcy->oids[pcy->noids++], oid, n + 1);
			p += n;
		}
		if (pcy->noids == 0) {
			config_error(cfg, origin, "%s: expected one or more "
			    "dotted OIDs", k->name);
			return AUTHD_ECONFIG;
		}
		rc = 0;
		break;
	}
	case CT_PREFIXES: {
		const char	*p = value;
		size_t		 n, count = 0;

		for (;;) {
			p += strspn(p, " \t");
			if (*p == '\0')
				break;
			n = strcspn(p, " \t");
			if (n <= 7 || n >= FETCH_URL_MAX ||
			    strncmp(p, "http://", 7) != 0) {
				config_error(cfg, origin, "%s: expected http:// "
				    "URL prefixes, got \"%.*s\"", k->name,
				    (int)(n < 200 ? n : 200), p);
				return AUTHD_ECONFIG;
			}
			count++;
			p += n;
		}
		if (count == 0) {
			config_error(cfg, origin, "%s: expected one or more "
			    "http:// URL prefixes", k->name);
			return AUTHD_ECONFIG;
		}
		rc = config_item_set(field, value, origin);
		break;
	}
	case CT_LOGLEVEL:
		if (log_level_parse(value, &cfg->log_level) != 0) {
			config_error(cfg, origin, "%s: expected error, warn, "
			    "info or debug, got \"%s\"", k->name, value);
			return AUTHD_ECONFIG;
		}
		rc = 0;
		break;
	default:
		rc = AUTHD_EINVAL;
	}
	if (rc == AUTHD_ENOMEM)
		config_error(cfg, origin, "%s: out of memory", k->name);
	return rc;
}

int
config_set_flag(struct config *cfg, const char *key, const char *value)
{
	const struct config_key	*k;
	char			 origin[80];
	size_t			 idx;

	if ((k = config_find(key)) == NULL)
		return AUTHD_EINVAL;
	idx = (size_t)(k - config_keys);
	snprintf(origin, sizeof(origin), "--%s", key);
	if ((k->type == CT_PATHS || k->type == CT_RESPONDER) &&
	    !cfg->flagged[idx])
		config_list_cleanup((struct config_list *)(void *)
		    ((char *)cfg + k->off));
	cfg->flagged[idx] = 1;
	return config_apply(cfg, k, value, origin, NULL) == 0 ? 0 :
	    AUTHD_ECONFIG;
}

/* Split a line into key and value; strips comments and optional quotes. */
static int
config_split(char *line, char **key, char **value, const char **why)
{
	char	*p = line, *v, *end;

	while (isspace((unsigned char)*p))
		p++;
	if (*p == '\0' || *p == '#') {
		*key = NULL;
		return 0;
	}
	*key = p;
	while (*p != '\0' && !isspace((unsigned char)*p))
		p++;
	if (*p != '\0')
		*p++ = '\0';
	while (isspace((unsigned char)*p))
		p++;
	v = p;
	if (*v == '"') {
		v++;
		if ((end = strchr(v, '"')) == NULL) {
			*why = "unterminated quoted value";
			return -1;
		}
		*end++ = '\0';
		while (isspace((unsigned char)*end))
			end++;
		if (*end != '\0' && *end != '#') {
			*why = "unexpected text after the quoted value";
			return -1;
		}
	} else {
		/* A '#' after whitespace starts a comment. */
		for (end = v; *end != '\0'; end++)
			if (*end == '#' && end > v &&
			    isspace((unsigned char)end[-1]))
				break;
		*end = '\0';
		while (end > v && isspace((unsigned char)end[-1]))
			*--end = '\0';
	}
	*value = v;
	return 0;
}

/*
 * Read one line (without its newline) into buf.  A line that does not fit
 * is consumed to its end and flagged; so is a NUL byte, which fgets would
 * hide.  Returns 0 at the end of the file.
 */
static int
config_read_line(FILE *f, char *buf, size_t cap, int *toolong, int *nul)
{
	size_t	 n = 0;
	int	 c, any = 0;

	*toolong = *nul = 0;
	while ((c = getc(f)) != EOF) {
		any = 1;
		if (c == '\n')
			break;
		if (c == '\0')
			*nul = 1;
		if (n + 1 < cap)
			buf[n++] = (char)c;
		else
			*toolong = 1;
	}
	buf[n] = '\0';
	return any;
}

/*
 * What one config_load has read so far: the files open now (to see an
 * include cycle where it closes) and how many were opened in all, so that
 * a file including another many times cannot cost N^depth reads.
 */
struct config_walk {
	dev_t		 dev[CONFIG_INCLUDE_DEPTH + 1];
	ino_t		 ino[CONFIG_INCLUDE_DEPTH + 1];
	int		 depth;		/* files open now, the main one too */
	unsigned int	 files;		/* opened in all */
	int		 over;		/* CONFIG_INCLUDE_FILES_MAX reported */
};

static int	 config_load_file(struct config *, struct config_walk *,
		    const char *, const char *);

/* One include line: followed unless it closes a cycle or is one too many. */
static void
config_include(struct config *cfg, struct config_walk *w, const char *value,
    const char *path, const char *origin)
{
	struct stat	 sb;
	char		*inc;
	int		 i;

	if (*value == '\0') {
		config_error(cfg, origin, "include: missing file");
		return;
	}
	if ((inc = config_resolve(value, path)) == NULL) {
		config_error(cfg, origin, "out of memory");
		return;
	}
	if (stat(inc, &sb) == 0) {
		for (i = 0; i < w->depth; i++)
			if (w->dev[i] == sb.st_dev && w->ino[i] == sb.st_ino)
				break;
		if (i < w->depth) {
			config_error(cfg, origin, "include: %s is already "
			    "being read (an include cycle): not followed", inc);
			goto end;
		}
	}
	if (w->depth > CONFIG_INCLUDE_DEPTH) {
		config_error(cfg, origin, "include: nested more than %d deep",
		    CONFIG_INCLUDE_DEPTH);
		goto end;
	}
	if (w->files >= CONFIG_INCLUDE_FILES_MAX) {
		if (!w->over)
			config_error(cfg, origin, "include: more than %d files "
			    "read in all: this and later includes not "
			    "followed", CONFIG_INCLUDE_FILES_MAX);
		w->over = 1;
		goto end;
	}
	config_load_file(cfg, w, inc, origin);
end:
	free(inc);
}

static int
config_load_file(struct config *cfg, struct config_walk *w, const char *path,
    const char *from)
{
	struct stat		 sb;
	FILE			*f;
	char			 line[CONFIG_LINE_MAX + 1], origin[CONFIG_ORIGIN_MAX];
	char			*key, *value;
	const char		*why;
	const struct config_key	*k;
	size_t			 idx;
	int			 lineno = 0, toolong, nul;

	if ((f = fopen(path, "r")) == NULL) {
		config_error(cfg, from, "cannot open %s: %s", path,
		    strerror(errno));
		return AUTHD_ECONFIG;
	}
	w->files++;
	if (fstat(fileno(f), &sb) == 0) {
		w->dev[w->depth] = sb.st_dev;
		w->ino[w->depth] = sb.st_ino;
	} else
		w->dev[w->depth] = w->ino[w->depth] = 0;
	w->depth++;
	while (config_read_line(f, line, sizeof(line), &toolong, &nul)) {
		lineno++;
		snprintf(origin, sizeof(origin), "%s:%d", path, lineno);
		if (toolong) {
			config_error(cfg, origin, "line longer than %d bytes",
			    CONFIG_LINE_MAX);
			continue;
		}
		if (nul) {
			config_error(cfg, origin, "NUL byte in line");
			continue;
		}
		if (config_split(line, &key, &value, &why) != 0) {
			config_error(cfg, origin, "%s", why);
			continue;
		}
		if (key == NULL)
			continue;
		if (strcmp(key, "include") == 0) {
			config_include(cfg, w, value, path, origin);
			continue;
		}
		if ((k = config_find(key)) == NULL) {
			config_error(cfg, origin, "unknown key \"%.64s\"", key);
			continue;
		}
		idx = (size_t)(k - config_keys);
		if (cfg->flagged[idx])
			continue;	/* the flag wins */
		if (cfg->seen[idx] && k->type != CT_PATHS &&
		    k->type != CT_RESPONDER) {
			config_error(cfg, origin, "%s: set twice (only %s may "
			    "be repeated)", k->name, "trust, intermediates, crl, "
			    "ocsp_signer and ocsp_responder");
			continue;
		}
		cfg->seen[idx] = 1;
		config_apply(cfg, k, value, origin, path);
	}
	if (ferror(f))
		config_error(cfg, from, "error reading %s", path);
	fclose(f);
	w->depth--;
	return cfg->nerrors ? AUTHD_ECONFIG : 0;
}

int
config_load(struct config *cfg, const char *path)
{
	struct config_walk	 w;

	memset(&w, 0, sizeof(w));
	free(cfg->file);
	if ((cfg->file = strdup(path)) == NULL)
		return AUTHD_ENOMEM;
	return config_load_file(cfg, &w, path, "--config");
}

/* An explicit revocation_order must name exactly the sources that are on. */
static void
config_check_revorder(struct config *cfg)
{
	const char	*origin = cfg->revorder_origin;
	int		 crl_on, ocsp_on, want_crl, want_ocsp;

	crl_on = cfg->crl.n > 0 || (cfg->crl_fetch &&
	    config_is_set(cfg, "crl_fetch"));
	ocsp_on = cfg->ocsp_mode != 0;
	want_crl = cfg->revocation_order != CONFIG_REVORDER_OCSP;
	want_ocsp = cfg->revocation_order != CONFIG_REVORDER_CRL;
	if (want_crl && !crl_on)
		config_error(cfg, origin, "revocation_order: names crl, but "
		    "CRL checking is off (set \"crl FILE\" or \"crl_fetch on\")");
	if (want_ocsp && !ocsp_on)
		config_error(cfg, origin, "revocation_order: names ocsp, but "
		    "ocsp is off (set \"ocsp leaf\" or \"ocsp chain\")");
	if (!want_crl && crl_on)
		config_error(cfg, origin, "revocation_order: CRLs are "
		    "configured but would never be consulted (add crl to the "
		    "order, or remove crl and crl_fetch)");
	if (!want_ocsp && ocsp_on)
		config_error(cfg, origin, "revocation_order: ocsp is on but "
		    "would never be consulted (add ocsp to the order, or set "
		    "ocsp off)");
}

/* user and listen_owner name accounts that exist; their ids are kept. */
static void
config_check_ids(struct config *cfg)
{
	char	 err[256];

	if (cfg->user.value != NULL && priv_lookup(cfg->user.value, 0,
	    &cfg->user_uid, &cfg->user_gid, err, sizeof(err)) != 0)
		config_error(cfg, cfg->user.origin, "user: %s", err);
	if (cfg->listen_owner.value == NULL)
		return;
	if (cfg->listen.value == NULL ||
	    strncmp(cfg->listen.value, "unix:", 5) != 0)
		config_error(cfg, cfg->listen_owner.origin, "listen_owner: "
		    "needs a unix socket (listen unix:/path)");
	else if (priv_lookup(cfg->listen_owner.value, 1, &cfg->listen_uid,
	    &cfg->listen_gid, err, sizeof(err)) != 0)
		config_error(cfg, cfg->listen_owner.origin, "listen_owner: %s",
		    err);
}

int
config_check(struct config *cfg, int need_trust)
{
	const char		*where = cfg->file != NULL ? cfg->file : "authd";
	const struct config_item *global;
	size_t			 i;

	if (need_trust && cfg->trust.n == 0)
		config_error(cfg, where, "trust: no trust anchors configured "
		    "(set \"trust FILE\" or --trust FILE)");
	for (i = 0, global = NULL; i < cfg->ocsp_responder.n; i++) {
		if (strchr(cfg->ocsp_responder.items[i].value, '\t') != NULL)
			continue;
		if (global != NULL)
			config_error(cfg, cfg->ocsp_responder.items[i].origin,
			    "ocsp_responder: a second responder for every "
			    "issuer (the first is at %s); add the issuer's "
			    "file to route by issuer", global->origin);
		else
			global = &cfg->ocsp_responder.items[i];
	}
	if (config_is_set(cfg, "revocation_order"))
		config_check_revorder(cfg);
	if (cfg->shadow_policy.value != NULL && cfg->policy.value == NULL)
		config_error(cfg, cfg->shadow_policy.origin, "shadow_policy: "
		    "needs a policy to compare with (set \"policy FILE\")");
	if (cfg->listen.value != NULL &&
	    strncmp(cfg->listen.value, "unix:", 5) == 0 &&
	    cfg->listen.value[5] != '/')
		config_error(cfg, cfg->listen.origin, "listen: unix socket "
		    "path must be absolute: %s", cfg->listen.value);
	config_check_ids(cfg);
	return cfg->nerrors ? AUTHD_ECONFIG : 0;
}
