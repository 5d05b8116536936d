/*
 * main.c: authd serve | check | policy check | doctor | version.
 *
 * The only file outside the library: it wires the modules together and
 * owns the process (signals, exit codes).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/ssl.h>

#include <curl/curl.h>
#include <lmdb.h>
#include <microhttpd.h>
#define PCRE2_CODE_UNIT_WIDTH	 8
#include <pcre2.h>

#include "aia.h"
#include "audit.h"
#include "cache.h"
#include "cli.h"
#include "config.h"
#include "doctor.h"
#include "err.h"
#include "explain.h"
#include "fetch.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "ocsp.h"
#include "policy.h"
#include "priv.h"
#include "request.h"
#include "snapshot.h"
#include "store.h"
#include "verdict.h"
#include "verified.h"

#define EXIT_DENY	 1
#define EXIT_USAGE	 2
#define CHECK_FILE_MAX	 (1024 * 1024)
#define MAIN_DATA_DIR	 "/var/lib/authd"

/*
 * Read the configuration the way the command line says: file first, then
 * the flags over it.  Returns 0 or AUTHD_ECONFIG with every error printed.
 */
static int
main_config(const struct cli *cli, struct config *cfg, int need_trust)
{
	size_t	 i;

	config_init(cfg);
	/* Flags first, marked, so that the file cannot override them. */
	for (i = 0; i < cli->nflags; i++)
		config_set_flag(cfg, cli->flags[i].key, cli->flags[i].value);
	if (cli->config != NULL)
		config_load(cfg, cli->config);
	if (cfg->nerrors == 0)
		config_check(cfg, need_trust);
	return cfg->nerrors ? AUTHD_ECONFIG : 0;
}

/* The LMDB store, opened once, by the first snapshot that needs it. */
static struct store	*main_store;

static int
main_store_open(const struct config *cfg)
{
	const char	*dir = cfg->data_dir.value != NULL ?
			    cfg->data_dir.value : MAIN_DATA_DIR;
	char		 err[512];

	if (main_store != NULL)
		return 0;
	if (store_open(dir, STORE_DEFAULT_MAPSIZE, &main_store, err,
	    sizeof(err)) != 0) {
		fprintf(stderr, "%s: data_dir: %s\n", cfg->data_dir.value !=
		    NULL ? cfg->data_dir.origin : "authd", err);
		return AUTHD_ECONFIG;
	}
	return 0;
}

/*
 * Build a snapshot from the command line and files.  With use_store
 * (authd serve), policy lists live in LMDB under data_dir; otherwise in
 * memory (check, serve -n: no side effects).  The store opens when state
 * needs it (lists, CRLs, OCSP, fetched issuers) or data_dir is given,
 * which also keeps verified chains (verified.h).
 */
static int
main_load(const struct cli *cli, const struct snapshot *prev,
    struct snapshot **snap, int use_store)
{
	struct config	 cfg;
	int		 rc;

	*snap = NULL;
	if ((rc = main_config(cli, &cfg, 1)) == 0 && use_store &&
	    (cfg.policy.value != NULL || cfg.shadow_policy.value != NULL ||
	    cfg.crl.n > 0 || cfg.ocsp_mode != 0 || cfg.ca_issuers_fetch ||
	    (cfg.crl_fetch && config_is_set(&cfg, "crl_fetch")) ||
	    (config_is_set(&cfg, "data_dir") && cfg.verified_cache_size > 0)))
		rc = main_store_open(&cfg);
	if (rc == 0)
		rc = snapshot_reload(&cfg, use_store ? main_store : NULL, prev,
		    snap);
	config_cleanup(&cfg);
	return rc;
}

/*
 * Drop the sets (policy lists, CRL indexes) neither snapshot uses: LMDB
 * space, not memory.  The old snapshot's stay until the next reload, since
 * requests may still be using them.
 */
static void
main_store_retain(const struct snapshot *a, const struct snapshot *b)
{
	const char		**keep;
	const struct snapshot	*s[2] = { a, b };
	const struct policy	*p[2];
	size_t			 n = 0, cap, i, j, k;
	int			 dropped = 0, d;

	if (main_store == NULL)
		return;
	cap = 2 * (2 * POLICY_MAX_LISTS + crl_set_count(a != NULL ? a->crl :
	    NULL) + crl_set_count(b != NULL ? b->crl : NULL)) + 1;
	if ((keep = calloc(cap, sizeof(*keep))) == NULL)
		return;
	for (i = 0; i < 2; i++) {
		if (s[i] == NULL)
			continue;
		p[0] = s[i]->policy;
		p[1] = s[i]->shadow;
		for (j = 0; j < 2; j++)
			for (k = 0; p[j] != NULL && k < policy_lists(p[j]); k++)
				if (policy_list_setname(p[j], k) != NULL)
					keep[n++] = policy_list_setname(p[j], k);
		for (k = 0; k < crl_set_count(s[i]->crl); k++)
			if (crl_set_name(s[i]->crl, k) != NULL)
				keep[n++] = crl_set_name(s[i]->crl, k);
	}
	if ((d = store_set_retain(main_store, "list:", keep, n)) > 0)
		dropped += d;
	/*
	 * CRL sets only at start: distribution-point CRLs live outside any
	 * snapshot, and a dropped set's handle must never be looked up again.
	 */
	if (b == NULL && (d = store_set_retain(main_store, "crl:", keep, n)) > 0)
		dropped += d;
	if (dropped > 0)
		log_info("store: dropped %d set(s) no policy or CRL uses",
		    dropped);
	free(keep);
}

static void
main_log_snapshot(const char *what, const struct snapshot *s)
{
	log_info("%s: %zu trust anchor(s), %zu intermediate(s) (%zu verified "
	    "for the fast path); %zu CRL(s) with %zu revoked; policy %s%s%s",
	    what, chain_store_anchors(s->chain),
	    chain_store_intermediates(s->chain), chain_store_fast(s->chain),
	    crl_set_count(s->crl), crl_set_entries(s->crl), s->policy != NULL ?
	    s->cfg.policy.value : "none (a valid certificate is allowed)",
	    s->shadow != NULL ? ", shadow policy " : "",
	    s->shadow != NULL ? s->cfg.shadow_policy.value : "");
}

/* serve -n: a rejected CRL is a warning, not a configuration error. */
static void
main_print_rejected(void *arg, const struct crl_rejection *r)
{
	(void)arg;
	printf("warning: %s: CRL rejected (%s): %s%s\n", r->source,
	    crl_reject_str(r->why), r->detail, r->kept > 0 ?
	    " (its last good version stays in use)" : "");
}

/* What a reload cannot change without a restart. */
static void
main_reload_warn(const struct snapshot *fresh)
{
	struct snapshot	*cur = snapshot_acquire();
	const char	*a, *b;

	if (cur == NULL)
		return;
	a = cur->cfg.listen.value != NULL ? cur->cfg.listen.value : "";
	b = fresh->cfg.listen.value != NULL ? fresh->cfg.listen.value : "";
	if (strcmp(a, b) != 0 || cur->cfg.threads != fresh->cfg.threads ||
	    cur->cfg.cache_size != fresh->cfg.cache_size ||
	    cur->cfg.max_request_size != fresh->cfg.max_request_size ||
	    cur->cfg.listen_mode != fresh->cfg.listen_mode)
		log_warnx("listen, listen_mode, threads, cache_size and "
		    "max_request_size change only on restart; keeping the "
		    "running values");
	a = cur->cfg.user.value != NULL ? cur->cfg.user.value : "";
	b = fresh->cfg.user.value != NULL ? fresh->cfg.user.value : "";
	if (strcmp(a, b) != 0 || (cur->cfg.listen_owner.value != NULL) !=
	    (fresh->cfg.listen_owner.value != NULL) ||
	    (cur->cfg.listen_owner.value != NULL &&
	    strcmp(cur->cfg.listen_owner.value,
	    fresh->cfg.listen_owner.value) != 0))
		log_warnx("user and listen_owner change only on restart");
	snapshot_release(cur);
}

/*
 * After binding, as root: hand data_dir to the user, then become it for
 * good.  Returns 0 or -1 with the reason logged.
 */
static int
main_drop_privileges(const struct config *cfg)
{
	const char	*dir = cfg->data_dir.value != NULL ?
			    cfg->data_dir.value : MAIN_DATA_DIR;
	char		 err[512];

	if (cfg->user.value == NULL)
		return 0;
	if (priv_prepare_dir(dir, cfg->user_uid, cfg->user_gid, err,
	    sizeof(err)) != 0) {
		log_error("data_dir: %s (it must belong to user %s)", err,
		    cfg->user.value);
		return -1;
	}
	if (priv_drop(cfg->user.value, cfg->user_uid, cfg->user_gid, err,
	    sizeof(err)) != 0) {
		log_error("user %s: %s", cfg->user.value, err);
		return -1;
	}
	log_info("running as %s (uid %lu, gid %lu)", cfg->user.value,
	    (unsigned long)cfg->user_uid, (unsigned long)cfg->user_gid);
	return 0;
}

static double
main_elapsed(const struct timespec *t0)
{
	struct timespec	 now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t0->tv_sec) +
	    (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

#define MAIN_DRAIN_MIN	 0.1	/* s: handshakes under way get accepted */
#define MAIN_DRAIN_LAST	 1.0	/* s: for the answers after stop-waiting */

/*
 * SIGTERM: stop accepting, let what was accepted finish, at most timeout
 * seconds; then requests still waiting for revocation data are decided
 * without it (and answered), and what is left after that is cut.  A second
 * SIGTERM or SIGINT cuts at once.
 */
static void
main_drain(struct http_server *srv, const sigset_t *set, time_t timeout)
{
	struct timespec	 t0, tick = { 0, 20 * 1000 * 1000 };
	unsigned long	 req, fresh;
	double		 t;
	int		 sig, nowait = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	http_quiesce(srv);
	http_busy(srv, &req, &fresh);
	log_info("shutdown: no new connections; %lu request(s) in flight, "
	    "%lu new connection(s); waiting up to %llds", req, fresh,
	    (long long)timeout);
	for (;;) {
		http_busy(srv, &req, &fresh);
		t = main_elapsed(&t0);
		if (req == 0 && fresh == 0 && t >= MAIN_DRAIN_MIN)
			break;
		if (!nowait && t >= (double)timeout) {
			nowait = 1;
			log_warnx("shutdown: %lu request(s) still in flight "
			    "after %llds; %zu waiting for revocation data are "
			    "decided without it", req, (long long)timeout,
			    http_stop_waiting(srv));
		} else if (nowait && t >= (double)timeout + MAIN_DRAIN_LAST) {
			log_warnx("shutdown: cutting %lu request(s) and %lu "
			    "connection(s) that sent none", req, fresh);
			return;
		}
		sig = sigtimedwait(set, NULL, &tick);
		if (sig == SIGTERM || sig == SIGINT) {
			http_busy(srv, &req, &fresh);
			log_warnx("signal %d again: cutting %lu request(s) and "
			    "%lu connection(s) that sent none", sig, req, fresh);
			return;
		}
	}
	log_info("shutdown: every request answered (%.2fs)", t);
}

static int
main_serve(const struct cli *cli)
{
	struct snapshot		*snap = NULL, *fresh, *cur;
	struct http_server	*srv = NULL;
	struct cache		*cache = NULL;
	struct fetch_pool	*pool = NULL;
	struct timespec		 ts;
	unsigned long long	 stamp, failed, now, pre;
	time_t			 interval;
	sigset_t		 set;
	int			 sig, rc = 1, reload;

	if (main_load(cli, NULL, &snap, !cli->check_only) != 0) {
		fprintf(stderr, "authd: configuration has errors\n");
		return EXIT_USAGE;
	}
	log_init(snap->cfg.log_level);
	if (cli->check_only) {
		printf("configuration OK: %zu trust anchor(s), %zu "
		    "intermediate(s)", chain_store_anchors(snap->chain),
		    chain_store_intermediates(snap->chain));
		if (snap->policy != NULL)
			printf(", policy: %zu rule set(s), %zu rule(s)",
			    policy_rulesets(snap->policy),
			    policy_rules(snap->policy));
		if (snap->crl != NULL)
			printf(", %zu CRL(s)", crl_set_count(snap->crl));
		printf("\n");
		crl_foreach_rejected(snap->crl, main_print_rejected, NULL);
		snapshot_release(snap);
		return 0;
	}

	/* Threads started from here on inherit the blocked set. */
	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (snap->cfg.cache_size > 0 &&
	    (cache = cache_new(snap->cfg.cache_size)) == NULL) {
		log_error("cannot allocate the verdict cache");
		goto end;
	}
	if ((snap->crl != NULL && snap->cfg.crl_fetch) ||
	    snap->cfg.ocsp_mode != 0 || snap->cfg.ca_issuers_fetch) {
		if (fetch_pool_new(snap->cfg.fetch_threads, 4096, &pool) != 0) {
			log_error("cannot start the fetch threads");
			goto end;
		}
		crl_fetch_init(pool, main_store);
		ocsp_init(pool, main_store);
		aia_init(pool, main_store);
	}
	if (audit_configure(snap->cfg.audit_log.value) != 0) {
		log_error("%s: audit_log: cannot write the audit log",
		    snap->cfg.audit_log.origin);
		goto end;
	}
	verified_init(main_store, snap->cfg.verified_cache_size,
	    snap->verified_digest, time(NULL));
	main_log_snapshot("loaded", snap);
	metrics_reload(1);
	main_store_retain(snap, NULL);
	stamp = failed = snapshot_stamp(&snap->cfg, snap);
	interval = snap->cfg.watch_interval;
	snapshot_publish(snap);
	snap = NULL;
	cur = snapshot_acquire();
	if ((sig = http_start(&cur->cfg, cache, &srv)) == 0 &&
	    main_drop_privileges(&cur->cfg) != 0)
		sig = -1;
	snapshot_release(cur);
	if (sig != 0)
		goto end;
	for (;;) {
		reload = 0;
		if (interval > 0) {
			ts.tv_sec = interval;
			ts.tv_nsec = 0;
			sig = sigtimedwait(&set, NULL, &ts);
		} else
			sig = sigwaitinfo(&set, NULL);
		if (sig == -1) {
			if (errno != EAGAIN)
				continue;
			/* Poll: reload when a file changed since the last try. */
			cur = snapshot_acquire();
			now = snapshot_stamp(&cur->cfg, cur);
			snapshot_release(cur);
			if (now != stamp && now != failed) {
				log_info("a configuration, trust or policy file "
				    "changed: reloading");
				reload = 1;
			}
		} else if (sig == SIGUSR1) {
			/* logrotate moved the audit log: start a new file */
			audit_reopen();
			continue;
		} else if (sig == SIGHUP) {
			log_info("SIGHUP: reloading configuration, trust and "
			    "policy");
			reload = 1;
		} else {
			log_info("signal %d: stopping", sig);
			cur = snapshot_acquire();
			interval = cur->cfg.shutdown_timeout;
			snapshot_release(cur);
			main_drain(srv, &set, interval);
			break;
		}
		if (!reload)
			continue;
		/*
		 * Stamp the files before reading them and again after: a file
		 * replaced while the reload ran is read again next time.
		 */
		cur = snapshot_acquire();
		pre = snapshot_stamp(&cur->cfg, cur);
		rc = main_load(cli, cur, &fresh, 1);
		now = snapshot_stamp(&cur->cfg, cur);
		snapshot_release(cur);
		if (rc != 0) {
			failed = pre;
			rc = 1;
			log_error("reload failed; still serving the previous "
			    "configuration and policy");
			metrics_reload(0);
			continue;
		}
		log_init(fresh->cfg.log_level);
		main_reload_warn(fresh);
		cur = snapshot_acquire();
		main_store_retain(cur, fresh);
		snapshot_release(cur);
		stamp = failed = now != pre ? 0 :
		    snapshot_stamp(&fresh->cfg, fresh);
		interval = fresh->cfg.watch_interval;
		main_log_snapshot("reloaded", fresh);
		if (pool == NULL && ((fresh->crl != NULL &&
		    fresh->cfg.crl_fetch) || fresh->cfg.ocsp_mode != 0 ||
		    fresh->cfg.ca_issuers_fetch))
			log_warnx("crl_fetch, ocsp and ca_issuers_fetch need a "
			    "restart to start the fetch threads");
		/* A bad audit_log keeps the old destination (logged). */
		audit_configure(fresh->cfg.audit_log.value);
		snapshot_publish(fresh);
		cache_clear(cache);
		metrics_reload(1);
	}
	rc = 0;
end:
	/*
	 * Fetches end first: they wake suspended requests, which MHD needs.
	 * No new fetch starts (no pool), but OCSP and CRL stay on: a request
	 * still decided on an open connection gets the configured failure
	 * (ocsp_failure, crl_missing), never a skipped check.
	 */
	http_stop_waiting(srv);
	if (pool != NULL) {
		crl_fetch_init(NULL, main_store);
		ocsp_init(NULL, main_store);
		aia_init(NULL, main_store);
		fetch_abort();
	}
	fetch_pool_free(&pool);
	http_stop(&srv);
	crl_fetch_shutdown();
	ocsp_shutdown();
	aia_shutdown();
	verified_shutdown();
	snapshot_release(snap);
	snapshot_shutdown();
	cache_free(&cache);
	audit_shutdown();
	store_close(&main_store);
	return rc;
}

static int
main_read_file(const char *path, char **buf, size_t *len)
{
	FILE	*f;
	size_t	 n;

	*buf = NULL;
	if (strcmp(path, "-") == 0)
		f = stdin;
	else if ((f = fopen(path, "rb")) == NULL) {
		fprintf(stderr, "authd: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if ((*buf = malloc(CHECK_FILE_MAX + 1)) == NULL) {
		fprintf(stderr, "authd: out of memory\n");
		goto fail;
	}
	n = fread(*buf, 1, CHECK_FILE_MAX + 1, f);
	if (ferror(f)) {
		fprintf(stderr, "authd: %s: read error\n", path);
		goto fail;
	}
	if (n > CHECK_FILE_MAX) {
		fprintf(stderr, "authd: %s: larger than %d bytes\n", path,
		    CHECK_FILE_MAX);
		goto fail;
	}
	if (f != stdin)
		fclose(f);
	*len = n;
	return 0;
fail:
	if (f != stdin)
		fclose(f);
	free(*buf);
	*buf = NULL;
	return -1;
}

/*
 * A DER file (starts with a SEQUENCE, no PEM armour) is wrapped in PEM so
 * that check decides it exactly as a PEM file.  Returns 0, or -1 when buf
 * is left as it is.
 */
static int
main_der_to_pem(char **buf, size_t *len)
{
	const unsigned char	*der = (const unsigned char *)*buf;
	char			*pem;
	size_t			 cap;
	int			 n;

	if (*len < 2 || der[0] != 0x30 || memmem(*buf, *len, "-----BEGIN", 10)
	    != NULL || *len > REQUEST_DER_MAX)
		return -1;
	cap = 64 + (*len + 2) / 3 * 4 + 1;
	if ((pem = malloc(cap)) == NULL)
		return -1;
	n = snprintf(pem, cap, "-----BEGIN CERTIFICATE-----\n");
	n += EVP_EncodeBlock((unsigned char *)pem + n, der, (int)*len);
	n += snprintf(pem + n, cap - (size_t)n, "\n-----END CERTIFICATE-----\n");
	free(*buf);
	*buf = pem;
	*len = (size_t)n;
	return 0;
}

/*
 * check and doctor: the configuration loaded, without fetch threads: OCSP
 * answers are fetched right here, in the foreground, and verified with the
 * snapshot's own trust.
 */
static int
main_load_inline(const struct cli *cli, struct snapshot **snap)
{
	if (main_load(cli, NULL, snap, 0) != 0) {
		fprintf(stderr, "authd: configuration has errors\n");
		return -1;
	}
	log_init((*snap)->cfg.log_level);
	ocsp_set_inline(1);
	aia_set_inline(1);
	return 0;
}

static int
main_check(const struct cli *cli)
{
	struct snapshot		*snap = NULL;
	struct verdict_input	 in;
	struct explain_ctx	 ctx;
	struct verdict		 v;
	STACK_OF(X509)		*chain = NULL;
	char			*pem = NULL;
	size_t			 len, i;
	int			 rc = EXIT_USAGE;

	if (main_load_inline(cli, &snap) != 0)
		return EXIT_USAGE;
	for (i = 0; i < cli->nocsp_response; i++) {
		char	*der;
		size_t	 dlen;

		if (main_read_file(cli->ocsp_response[i], &der, &dlen) != 0)
			goto end;
		ocsp_add_offline_response((unsigned char *)der, dlen);
		free(der);
	}
	snapshot_publish(snap);
	snap = snapshot_acquire();
	if (main_read_file(cli->cert, &pem, &len) != 0)
		goto end;
	main_der_to_pem(&pem, &len);
	memset(&in, 0, sizeof(in));
	in.cert = pem;
	in.cert_len = len;
	in.cert_is_pem = 1;
	in.uri = cli->uri != NULL ? cli->uri : "/";
	in.method = cli->method != NULL ? cli->method : "GET";
	in.host = cli->host;
	in.ruleset = cli->ruleset;

	memset(&ctx, 0, sizeof(ctx));
	ctx.cert_path = cli->cert;
	ctx.at = cli->have_at ? cli->at : time(NULL);
	ctx.at_given = cli->have_at;
	ctx.snap = snap;
	ctx.in = &in;
	verdict_decide(snap, NULL, &in, ctx.at, &v, &chain);
	if (cli->json)
		explain_json(stdout, &ctx, &v, chain);
	else
		explain_text(stdout, &ctx, &v, chain);
	ocsp_shutdown();
	aia_shutdown();
	rc = v.reason == VERDICT_OK ? 0 : EXIT_DENY;
end:
	sk_X509_pop_free(chain, X509_free);
	free(pem);
	snapshot_release(snap);
	snapshot_shutdown();
	return rc;
}

/*
 * authd doctor: with an authd configuration (--config or --KEY flags) the
 * client certificate is also decided as authd check would.
 */
static int
main_doctor(const struct cli *cli)
{
	struct doctor_opts	 o;
	struct snapshot		*snap = NULL;
	int			 rc;

	memset(&o, 0, sizeof(o));
	if (cli->config != NULL || cli->nflags > 0) {
		if (main_load_inline(cli, &snap) != 0)
			return EXIT_USAGE;
		snapshot_publish(snap);
		o.snap = snap = snapshot_acquire();
	} else
		/* Revocation from the certificate itself: doctor reports
		 * every fetch's outcome, the modules' log lines would repeat it. */
		log_init(LOG_LEVEL_ERROR);
	o.url = cli->url;
	o.cert = cli->cert;
	o.key = cli->key;
	o.ca = cli->ca;
	o.timeout = cli->timeout;
	o.json = cli->json;
	signal(SIGPIPE, SIG_IGN);
	rc = doctor_run(&o, stdout);
	if (snap != NULL) {
		ocsp_shutdown();
		snapshot_release(snap);
		snapshot_shutdown();
	}
	return rc;
}

/*
 * Lint a policy: every error on stderr; on stdout a one-line summary, then
 * one line per rule set saying which nginx cache key it allows.
 */
static int
main_policy_check(const struct cli *cli)
{
	struct policy	*p = NULL;
	const char	*name;
	unsigned	 reads;
	size_t		 i;
	int		 rc;

	if ((rc = policy_load(cli->policy, stderr, &p)) != 0) {
		fprintf(stderr, "authd: %s: %s\n", cli->policy,
		    rc == AUTHD_ECONFIG ? "policy has errors" : err_str(rc));
		return EXIT_USAGE;
	}
	printf("policy OK: %zu rule set(s), %zu rule(s), %zu list(s), %zu "
	    "list entries\n", policy_rulesets(p), policy_rules(p),
	    policy_lists(p), policy_list_entries(p));
	/* Which cache key nginx may reuse each rule set's answers under. */
	for (i = 0; i < policy_rulesets(p); i++) {
		name = policy_ruleset_name(p, i);
		reads = policy_ruleset_reads(p, name);
		if (reads == 0) {
			printf("rule set %s: reads no request field: nginx may "
			    "reuse its answers per client "
			    "($authd_cache_scope client)\n", name);
			continue;
		}
		printf("rule set %s: reads the request's%s%s%s: nginx may "
		    "reuse its answers per request only "
		    "($authd_cache_scope request)\n", name,
		    reads & POLICY_READS_METHOD ? " method" : "",
		    reads & POLICY_READS_PATH ? " path" : "",
		    reads & POLICY_READS_HOST ? " host" : "");
	}
	policy_free(&p);
	return 0;
}

/*
 * authd version: the version, how it was built, and each library's
 * version as loaded at run time (with the headers it was built against
 * where they differ).
 */
static void
main_version(void)
{
	char	 pcre[64] = "";
	int	 maj, min, patch;

	printf("authd %s\n", AUTHD_VERSION);
	printf("build: %s, %s, sanitizers %s%s\n", AUTHD_BUILD_TYPE,
	    AUTHD_BUILD_CC, AUTHD_BUILD_SANITIZE, AUTHD_BUILD_FUZZ);
	printf("%s", OpenSSL_version(OPENSSL_VERSION));
	if (OpenSSL_version_num() != OPENSSL_VERSION_NUMBER)
		printf(" (built with %s)", OPENSSL_VERSION_TEXT);
	printf("\nlibmicrohttpd %s\n", MHD_get_version());
	if (pcre2_config(PCRE2_CONFIG_VERSION, pcre) < 0)
		snprintf(pcre, sizeof(pcre), "?");
	printf("PCRE2 %s\n", pcre);
	(void)mdb_version(&maj, &min, &patch);
	printf("LMDB %d.%d.%d", maj, min, patch);
	if (maj != MDB_VERSION_MAJOR || min != MDB_VERSION_MINOR ||
	    patch != MDB_VERSION_PATCH)
		printf(" (built with %d.%d.%d)", MDB_VERSION_MAJOR,
		    MDB_VERSION_MINOR, MDB_VERSION_PATCH);
	printf("\nlibcurl %s", curl_version_info(CURLVERSION_NOW)->version);
	if (strcmp(curl_version_info(CURLVERSION_NOW)->version,
	    LIBCURL_VERSION) != 0)
		printf(" (built with %s)", LIBCURL_VERSION);
	printf("\n");
}

int
main(int argc, char *argv[])
{
	struct cli	 cli;
	char		 err[256];

	if (cli_parse(argc, argv, &cli, err, sizeof(err)) != 0) {
		fprintf(stderr, "authd: %s\n", err);
		cli_usage(stderr);
		return EXIT_USAGE;
	}
	switch (cli.command) {
	case CLI_SERVE:
		return main_serve(&cli);
	case CLI_CHECK:
		return main_check(&cli);
	case CLI_POLICY_CHECK:
		return main_policy_check(&cli);
	case CLI_DOCTOR:
		return main_doctor(&cli);
	case CLI_VERSION:
		main_version();
		return 0;
	default:
		cli_usage(stdout);
		return 0;
	}
}
