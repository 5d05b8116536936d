/*
 * ocspbench: a fleet of distinct OCSP CertIDs through authd's OCSP table
 * and store, in-process (issue 12, "Performance").  Not a test.
 *
 *   ocspbench PKIDIR N TABLE STOREDIR
 *
 * PKIDIR is tests/pki/gen.sh's output.  N certificates issued by its
 * intermediate (client.pem with serial 0x70000000 + i; OCSP reads only the
 * serial and the issuer, so they are not re-signed), each with its own
 * "good" OCSP response signed by the intermediate, as a responder would
 * send it.  The store lives in STOREDIR (use a tmpfs: every put commits).
 *
 *   seed    N responses signed and put in the store as bare DER, the way
 *           an older authd left them (the reference: what signing costs)
 *   verify  ocsp_check_depth for each certificate, ocsp_cache_size TABLE:
 *           a table miss, read back from the store, the signature and the
 *           responder's chain verified, kept as a record
 *   read    the same again: a table miss (LRU over N > TABLE), the record
 *           read back and used as it is (same trust generation)
 *   warm    the last TABLE/2 certificates again: answered by the table
 *
 * Prints one line per phase, "OCSPBENCH phase=P n=N ok=K fail=F us_per=X
 * p99_us=Y", and the process's RSS before and after ("rss_anon_kb",
 * "rss_file_kb": the store's pages are file-backed and shared).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "config.h"
#include "identity.h"
#include "log.h"
#include "ocsp.h"
#include "snapshot.h"
#include "store.h"

static X509	*inter, *root, *leaf;
static EVP_PKEY	*inter_key;

static void *
load(const char *dir, const char *name, int key)
{
	char	 path[1024];
	FILE	*f;
	void	*p;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "r")) == NULL) {
		fprintf(stderr, "ocspbench: cannot open %s\n", path);
		exit(2);
	}
	p = key ? (void *)PEM_read_PrivateKey(f, NULL, NULL, NULL) :
	    (void *)PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (p == NULL) {
		fprintf(stderr, "ocspbench: cannot read %s\n", path);
		exit(2);
	}
	return p;
}

static double
now_us(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* The leaf with serial i (a copy the caller frees). */
static X509 *
cert_of(size_t i)
{
	X509		*x;
	ASN1_INTEGER	*sn;

	if ((x = X509_dup(leaf)) == NULL || (sn = ASN1_INTEGER_new()) == NULL ||
	    ASN1_INTEGER_set_uint64(sn, 0x70000000ULL + i) != 1 ||
	    X509_set_serialNumber(x, sn) != 1)
		exit(2);
	ASN1_INTEGER_free(sn);
	return x;
}

/* The store key of (x, inter): hex SHA-256 of the SHA-1 CertID's DER. */
static void
key_of(X509 *x, char key[IDENTITY_FP_MAX])
{
	OCSP_CERTID	*id;
	unsigned char	*der = NULL, md[IDENTITY_SHA256_LEN];
	int		 n;

	if ((id = OCSP_cert_to_id(EVP_sha1(), x, inter)) == NULL ||
	    (n = i2d_OCSP_CERTID(id, &der)) <= 0 ||
	    identity_sha256(der, (size_t)n, md) != 0)
		exit(2);
	identity_hex(md, key);
	OCSP_CERTID_free(id);
	OPENSSL_free(der);
}

/* A good response for x, signed by the intermediate; DER in *der. */
static int
response_of(X509 *x, unsigned char **der)
{
	OCSP_BASICRESP	*bs;
	OCSP_RESPONSE	*resp;
	OCSP_CERTID	*id;
	ASN1_TIME	*thisupd, *nextupd;
	time_t		 t = time(NULL);
	int		 n;

	if ((bs = OCSP_BASICRESP_new()) == NULL ||
	    (id = OCSP_cert_to_id(EVP_sha1(), x, inter)) == NULL ||
	    (thisupd = ASN1_TIME_set(NULL, t - 3600)) == NULL ||
	    (nextupd = ASN1_TIME_set(NULL, t + 7 * 86400)) == NULL ||
	    OCSP_basic_add1_status(bs, id, V_OCSP_CERTSTATUS_GOOD, 0, NULL,
	    thisupd, nextupd) == NULL ||
	    OCSP_basic_sign(bs, inter, inter_key, EVP_sha256(), NULL, 0) != 1 ||
	    (resp = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL,
	    bs)) == NULL)
		exit(2);
	*der = NULL;
	n = i2d_OCSP_RESPONSE(resp, der);
	OCSP_RESPONSE_free(resp);
	OCSP_BASICRESP_free(bs);
	OCSP_CERTID_free(id);
	ASN1_TIME_free(thisupd);
	ASN1_TIME_free(nextupd);
	return n;
}

static void
rss(const char *when)
{
	FILE	*f = fopen("/proc/self/status", "r");
	char	 line[256];
	long	 anon = -1, file = -1;

	while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
		sscanf(line, "RssAnon: %ld", &anon);
		sscanf(line, "RssFile: %ld", &file);
	}
	if (f != NULL)
		fclose(f);
	printf("OCSPBENCH rss when=%s rss_anon_kb=%ld rss_file_kb=%ld\n", when,
	    anon, file);
	fflush(stdout);
}

static int
cmp_double(const void *a, const void *b)
{
	double	 x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* ocsp_check_depth for certificates from..to-1; one line of figures. */
static void
phase(const char *name, const struct ocsp_ctx *ctx, STACK_OF(X509) *chain,
    size_t from, size_t to, double *lat)
{
	struct ocsp_result	 res;
	X509			*x;
	size_t			 i, n = to - from, ok = 0;
	double			 t0, sum = 0;
	time_t			 at = time(NULL);

	for (i = from; i < to; i++) {
		x = cert_of(i);
		(void)sk_X509_set(chain, 0, x);
		t0 = now_us();
		ocsp_check_depth(ctx, chain, 0, at, &res);
		lat[i - from] = now_us() - t0;
		sum += lat[i - from];
		ok += res.status == OCSP_OK;
		if (res.status != OCSP_OK && n - ok <= 3)
			fprintf(stderr, "ocspbench: %s: serial %zu: %s\n", name,
			    i, res.detail);
		X509_free(x);
	}
	qsort(lat, n, sizeof(*lat), cmp_double);
	printf("OCSPBENCH phase=%s n=%zu ok=%zu fail=%zu us_per=%.2f "
	    "p50_us=%.2f p99_us=%.2f table=%zu\n", name, n, ok, n - ok,
	    sum / (double)n, lat[n / 2], lat[n * 99 / 100],
	    ocsp_cache_entries());
	fflush(stdout);
}

int
main(int argc, char **argv)
{
	struct config	 cfg;
	struct snapshot	*snap = NULL;
	struct store	*st = NULL;
	struct ocsp_ctx	 ctx;
	store_set_t	 dbi;
	STACK_OF(X509)	*chain;
	unsigned char	*der;
	char		 path[1024], key[IDENTITY_FP_MAX], err[256];
	size_t		 n, table, i, reads;
	double		*lat, t0, sign_us = 0, put_us = 0;
	X509		*x;
	int		 len;

	if (argc != 5) {
		fprintf(stderr, "usage: ocspbench PKIDIR N TABLE STOREDIR\n");
		return 2;
	}
	n = strtoul(argv[2], NULL, 10);
	table = strtoul(argv[3], NULL, 10);
	if (n == 0 || table == 0 || (lat = calloc(n, sizeof(*lat))) == NULL)
		return 2;
	log_init(LOG_LEVEL_ERROR);
	inter = load(argv[1], "intermediate.pem", 0);
	root = load(argv[1], "root.pem", 0);
	leaf = load(argv[1], "client.pem", 0);
	inter_key = load(argv[1], "intermediate.key", 1);

	config_init(&cfg);
	snprintf(path, sizeof(path), "%s/trust.pem", argv[1]);
	config_set_flag(&cfg, "trust", path);
	snprintf(path, sizeof(path), "%s/intermediates.pem", argv[1]);
	config_set_flag(&cfg, "intermediates", path);
	config_set_flag(&cfg, "ocsp", "leaf");
	if (snapshot_new(&cfg, &snap) != 0)
		return 2;
	config_cleanup(&cfg);
	ctx = snap->ocsp;
	ctx.set.cache_size = table;
	if (store_open(argv[4], (size_t)8 << 30, &st, err, sizeof(err)) != 0 ||
	    store_kv_open(st, "ocsp", &dbi) != 0) {
		fprintf(stderr, "ocspbench: store: %s\n", err);
		return 2;
	}
	ocsp_init(NULL, st);
	ocsp_set_inline(0);		/* nothing is asked: the store answers */
	if ((chain = sk_X509_new_null()) == NULL ||
	    !sk_X509_push(chain, leaf) || !sk_X509_push(chain, inter) ||
	    !sk_X509_push(chain, root))
		return 2;
	rss("start");

	for (i = 0; i < n; i++) {
		x = cert_of(i);
		key_of(x, key);
		t0 = now_us();
		len = response_of(x, &der);
		sign_us += now_us() - t0;
		t0 = now_us();
		if (len <= 0 || store_kv_put(st, dbi, key, strlen(key), der,
		    (size_t)len) != 0)
			return 2;
		put_us += now_us() - t0;
		OPENSSL_free(der);
		X509_free(x);
	}
	printf("OCSPBENCH phase=seed n=%zu sign_us_per=%.2f put_us_per=%.2f\n",
	    n, sign_us / (double)n, put_us / (double)n);
	rss("seeded");
	phase("verify", &ctx, chain, 0, n, lat);
	rss("verified");
	/* OCSPBENCH_READS=K: the read pass K times (to profile one of them). */
	reads = getenv("OCSPBENCH_READS") != NULL ?
	    strtoul(getenv("OCSPBENCH_READS"), NULL, 10) : 1;
	for (i = 0; i < reads || i == 0; i++)
		phase("read", &ctx, chain, 0, n, lat);
	rss("read");
	phase("warm", &ctx, chain, n - (table / 2 < n ? table / 2 : n), n, lat);
	rss("end");

	(void)sk_X509_set(chain, 0, leaf);
	sk_X509_free(chain);
	ocsp_shutdown();
	store_close(&st);
	snapshot_release(snap);
	free(lat);
	return 0;
}
