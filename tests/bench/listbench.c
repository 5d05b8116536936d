/*
 * listbench: the cost of `fingerprint in LIST` on a big list, in-process.
 * Part of tests/bench/run.sh (issue 3, "Performance"); not a test.
 *
 *   listbench gen N FILE
 *       write N random SHA-256 fingerprints (lowercase hex, one a line)
 *   listbench eval POLICY CN PATH N
 *       ns per policy_eval of POLICY (rule set default) for the benchmark
 *       leaf (CN=CN,O=authd bench, EKU clientAuth, no SAN) and request path
 *       PATH, best of 3 passes of N calls, hot caches; prints
 *       "EVAL ns=X decided=FILE:LINE allow=0|1"
 *   listbench run DIR N QUERIES [PASSES]
 *       in DIR: write a list of N random fingerprints (big.txt), a policy
 *       `list big file "big.txt"` + `ruleset default { deny fingerprint in
 *       big }` (big.policy), then
 *         - policy_load_store into a store in DIR/store, twice: the first
 *           imports the list into LMDB, the second finds it there;
 *         - QUERIES calls of policy_eval, alternately a fingerprint from
 *           the list (hit: deny) and a random one (miss: no-matching-rule),
 *           timed PASSES times (default 3), best pass reported;
 *         - the same queries straight to store_set_contains (the LMDB
 *           lookup alone, no policy);
 *         - the same with the list in memory (policy_load, a hash set);
 *         - the same policy_eval with `fingerprint == "..."` instead of the
 *           list: what policy_eval costs around any lookup;
 *         - policy_hex_norm alone on the queries.
 *       Every pass checks that exactly the hits were denied.
 *
 * Output, one line for run.sh:
 *   LISTBENCH entries=N queries=Q file_bytes=B import_ms=X found_ms=X
 *       mem_load_ms=X store_ns=X lmdb_ns=X mem_ns=X eq_ns=X
 *       store_hit_ns=X store_miss_ns=X norm_ns=X
 * (ns: per lookup, best of PASSES; store_ns/mem_ns/eq_ns are policy_eval,
 * lmdb_ns and store_hit/miss_ns store_set_contains alone (the hits and the
 * misses timed apart), norm_ns policy_hex_norm of one query, which every
 * `in` and fingerprint `==` does first).
 *
 * Built by run.sh against the static library:
 *   cc -O2 -I authd listbench.c build-bench/libauthd_core.a -lmicrohttpd \
 *      -lssl -lcrypto -lpcre2-8 -llmdb -lpthread
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/rand.h>

#include "policy.h"
#include "store.h"

#define FP_BYTES	 32
#define FP_HEX		 (2 * FP_BYTES + 1)

static void
die(const char *what)
{
	fprintf(stderr, "listbench: %s\n", what);
	exit(1);
}

static double
now_ns(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void
hex(const unsigned char *b, char *out)
{
	static const char	 digits[] = "0123456789abcdef";
	int			 i;

	for (i = 0; i < FP_BYTES; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 15];
	}
	out[2 * FP_BYTES] = '\0';
}

/* N random fingerprints, kept in *raw (N * FP_BYTES) when raw is set. */
static void
gen_list(size_t n, const char *path, unsigned char **raw)
{
	unsigned char	*b;
	char		 line[FP_HEX + 1];
	FILE		*f;
	size_t		 i;

	if ((b = malloc(n * FP_BYTES)) == NULL)
		die("out of memory");
	if (RAND_bytes(b, (int)(n * FP_BYTES)) != 1)
		die("RAND_bytes");
	if ((f = fopen(path, "w")) == NULL)
		die(path);
	fprintf(f, "# listbench: %zu random SHA-256 fingerprints\n", n);
	for (i = 0; i < n; i++) {
		hex(b + i * FP_BYTES, line);
		line[2 * FP_BYTES] = '\n';
		fwrite(line, 1, FP_HEX, f);
	}
	if (fclose(f) != 0)
		die(path);
	if (raw != NULL)
		*raw = b;
	else
		free(b);
}

static void
write_file(const char *path, const char *text)
{
	FILE	*f;

	if ((f = fopen(path, "w")) == NULL || fputs(text, f) == EOF ||
	    fclose(f) != 0)
		die(path);
}

/*
 * Best-of-passes ns per policy_eval over queries q[0..nq); hits are the
 * even indices (the rest must not be denied by a list rule).
 */
static double
time_eval(const struct policy *p, char *const *q, size_t nq, int passes,
    size_t expect_denied)
{
	static struct policy_decision	 d;
	struct policy_identity		 id;
	struct policy_request		 rq = { "GET", "/", NULL };
	double				 best = 0, t0, t;
	size_t				 i, denied;
	int				 k;

	memset(&id, 0, sizeof(id));
	id.days_left = 100;
	for (k = 0; k < passes; k++) {
		denied = 0;
		t0 = now_ns();
		for (i = 0; i < nq; i++) {
			id.fingerprint = q[i];
			policy_eval(p, NULL, &id, &rq, &d);
			denied += d.file != NULL;	/* the list rule decided */
		}
		t = (now_ns() - t0) / (double)nq;
		if (denied != expect_denied) {
			fprintf(stderr, "listbench: %zu denied, expected %zu\n",
			    denied, expect_denied);
			die("wrong decisions");
		}
		if (k == 0 || t < best)
			best = t;
	}
	return best;
}

/* Best-of-passes ns per store_set_contains (keys already normalised). */
static double
time_lmdb(struct store *st, store_set_t set, char *const *q, size_t nq,
    int passes, size_t expect)
{
	double	 best = 0, t0, t;
	size_t	 i, found;
	int	 k, rc;

	for (k = 0; k < passes; k++) {
		found = 0;
		t0 = now_ns();
		for (i = 0; i < nq; i++) {
			if ((rc = store_set_contains(st, set, q[i],
			    strlen(q[i]))) < 0)
				die("store_set_contains failed");
			found += (size_t)rc;
		}
		t = (now_ns() - t0) / (double)nq;
		if (found != expect)
			die("store_set_contains: wrong answers");
		if (k == 0 || t < best)
			best = t;
	}
	return best;
}

/* Best-of-passes ns per policy_hex_norm of a raw query (on any lookup). */
static double
time_norm(char *const *q, size_t nq, int passes)
{
	char		 norm[POLICY_HEX_MAX];
	double		 best = 0, t0, t;
	size_t		 i, sum;
	int		 k;

	for (k = 0; k < passes; k++) {
		sum = 0;
		t0 = now_ns();
		for (i = 0; i < nq; i++)
			sum += (size_t)policy_hex_norm(q[i], strlen(q[i]), norm);
		t = (now_ns() - t0) / (double)nq;
		if (sum == 0)
			die("policy_hex_norm");
		if (k == 0 || t < best)
			best = t;
	}
	return best;
}

static double
load_ms(const char *path, struct store *st, struct policy **out)
{
	double	 t0 = now_ns();
	int	 rc;

	rc = st != NULL ? policy_load_store(path, stderr, st, out) :
	    policy_load(path, stderr, out);
	if (rc != 0)
		die("policy did not load");
	return (now_ns() - t0) / 1e6;
}

static int
run(const char *dir, size_t n, size_t nq, int passes)
{
	char		 path[4096], listpath[4096], storedir[4096], err[512];
	char		 policy_text[512], eqpath[4096];
	char		*arena, *normarena, **q, **qn, **qs;
	unsigned char	*raw, miss[FP_BYTES];
	struct store	*st = NULL;
	struct policy	*p = NULL;
	struct stat	 sb;
	store_set_t	 set;
	size_t		 i, count, j;
	double		 import_ms, found_ms, mem_ms, store_ns, lmdb_ns;
	double		 mem_ns, eq_ns, hit_ns, miss_ns, norm_ns;
	uint64_t	 x;

	if (nq < 2 || n < 1)
		die("need N >= 1 and QUERIES >= 2");
	snprintf(listpath, sizeof(listpath), "%s/big.txt", dir);
	snprintf(path, sizeof(path), "%s/big.policy", dir);
	snprintf(eqpath, sizeof(eqpath), "%s/eq.policy", dir);
	snprintf(storedir, sizeof(storedir), "%s/store", dir);
	gen_list(n, listpath, &raw);
	if (stat(listpath, &sb) != 0)
		die(listpath);
	write_file(path, "list big file \"big.txt\"\n"
	    "ruleset default {\n  deny fingerprint in big\n}\n");

	/* Queries: even = an entry of the list, odd = a random miss. */
	if ((arena = malloc(nq * FP_HEX)) == NULL ||
	    (normarena = malloc(nq * POLICY_HEX_MAX)) == NULL ||
	    (q = malloc(nq * sizeof(*q))) == NULL ||
	    (qn = malloc(nq * sizeof(*qn))) == NULL ||
	    (qs = malloc(nq * sizeof(*qs))) == NULL)
		die("out of memory");
	if (RAND_bytes((unsigned char *)&x, sizeof(x)) != 1)
		die("RAND_bytes");
	for (i = 0; i < nq; i++) {
		q[i] = arena + i * FP_HEX;
		if (i % 2 == 0) {
			/* xorshift64: a random entry, not in list order */
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			hex(raw + (x % n) * FP_BYTES, q[i]);
		} else {
			if (RAND_bytes(miss, sizeof(miss)) != 1)
				die("RAND_bytes");
			hex(miss, q[i]);
		}
		qn[i] = normarena + i * POLICY_HEX_MAX;
		if (policy_hex_norm(q[i], strlen(q[i]), qn[i]) < 0)
			die("policy_hex_norm");
	}
	/* Hits first, then misses: timed separately below. */
	for (i = 0, j = 0; i < nq; i += 2)
		qs[j++] = qn[i];
	for (i = 1; i < nq; i += 2)
		qs[j++] = qn[i];

	/* LMDB: import, then found. */
	if (store_open(storedir, STORE_DEFAULT_MAPSIZE, &st, err,
	    sizeof(err)) != 0)
		die(err);
	import_ms = load_ms(path, st, &p);
	policy_free(&p);
	found_ms = load_ms(path, st, &p);
	if (policy_list_entries(p) != n)
		die("the list lost entries");
	store_ns = time_eval(p, q, nq, passes, (nq + 1) / 2);
	if (store_set_find(st, policy_list_setname(p, 0), &set, &count) != 0)
		die("store_set_find");
	lmdb_ns = time_lmdb(st, set, qn, nq, passes, (nq + 1) / 2);
	hit_ns = time_lmdb(st, set, qs, (nq + 1) / 2, passes, (nq + 1) / 2);
	miss_ns = time_lmdb(st, set, qs + (nq + 1) / 2, nq / 2, passes, 0);
	policy_free(&p);
	store_close(&st);

	/* In memory (authd check): a hash set. */
	if (n <= POLICY_LIST_MAX_ENTRIES) {
		mem_ms = load_ms(path, NULL, &p);
		mem_ns = time_eval(p, q, nq, passes, (nq + 1) / 2);
		policy_free(&p);
	} else
		mem_ms = mem_ns = -1;

	/* The same evaluation without a list: one == comparison. */
	snprintf(policy_text, sizeof(policy_text), "ruleset default {\n"
	    "  deny fingerprint == \"%s\"\n}\n", q[0]);
	write_file(eqpath, policy_text);
	(void)load_ms(eqpath, NULL, &p);
	eq_ns = time_eval(p, q, nq, passes, 1);
	policy_free(&p);
	norm_ns = time_norm(q, nq, passes);

	printf("LISTBENCH entries=%zu queries=%zu file_bytes=%lld "
	    "import_ms=%.0f found_ms=%.1f mem_load_ms=%.0f store_ns=%.0f "
	    "lmdb_ns=%.0f mem_ns=%.0f eq_ns=%.0f store_hit_ns=%.0f "
	    "store_miss_ns=%.0f norm_ns=%.0f\n", n, nq, (long long)sb.st_size,
	    import_ms, found_ms, mem_ms, store_ns, lmdb_ns, mem_ns, eq_ns,
	    hit_ns, miss_ns, norm_ns);
	free(raw);
	free(arena);
	free(normarena);
	free(q);
	free(qn);
	free(qs);
	return 0;
}

/* The benchmark leaf of gencerts, as authd's identity extraction shows it. */
static int
eval_policy(const char *path, const char *cn, const char *uri, size_t n)
{
	static struct policy_decision	 d;
	struct policy_attr		 subj[2], iss[2];
	const char			*eku[1] = { "clientAuth" };
	char				 subject[256];
	struct policy_identity		 id;
	struct policy_request		 rq = { "GET", uri, "127.0.0.1" };
	struct policy			*p = NULL;
	double				 best = 0, t0, t;
	size_t				 i;
	int				 k;

	(void)load_ms(path, NULL, &p);
	snprintf(subject, sizeof(subject), "CN=%s,O=authd bench", cn);
	subj[0].type = "O";
	subj[0].value = "authd bench";
	subj[1].type = "CN";
	subj[1].value = cn;
	iss[0].type = "O";
	iss[0].value = "authd test";
	iss[1].type = "CN";
	iss[1].value = "authd test intermediate";
	memset(&id, 0, sizeof(id));
	id.subject = subject;
	id.issuer = "CN=authd test intermediate,O=authd test";
	id.serial = "3A5F0C7D2E9B4A61";
	id.fingerprint = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
	id.subject_attrs = subj;
	id.nsubject_attrs = 2;
	id.issuer_attrs = iss;
	id.nissuer_attrs = 2;
	id.eku = eku;
	id.neku = 1;
	id.days_left = 364;
	for (k = 0; k < 3; k++) {
		t0 = now_ns();
		for (i = 0; i < n; i++)
			policy_eval(p, NULL, &id, &rq, &d);
		t = (now_ns() - t0) / (double)n;
		if (k == 0 || t < best)
			best = t;
	}
	printf("EVAL ns=%.0f decided=%s:%d allow=%d\n", best,
	    d.file != NULL ? d.file : "-", d.line, d.allow);
	policy_free(&p);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "gen") == 0) {
		gen_list(strtoul(argv[2], NULL, 10), argv[3], NULL);
		return 0;
	}
	if (argc == 6 && strcmp(argv[1], "eval") == 0)
		return eval_policy(argv[2], argv[3], argv[4],
		    strtoul(argv[5], NULL, 10));
	if ((argc == 5 || argc == 6) && strcmp(argv[1], "run") == 0)
		return run(argv[2], strtoul(argv[3], NULL, 10),
		    strtoul(argv[4], NULL, 10),
		    argc == 6 ? atoi(argv[5]) : 3);
	fprintf(stderr, "usage: listbench gen N FILE\n"
	    "       listbench eval POLICY CN PATH N\n"
	    "       listbench run DIR N QUERIES [PASSES]\n");
	return 2;
}
