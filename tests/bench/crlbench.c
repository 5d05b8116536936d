/*
 * crlbench: revocation by a CRL with a million entries, in-process.
 * Part of tests/bench/run.sh (issue 4, "Scale (benchmark)"); not a test.
 *
 *   crlbench gen INT.pem INT.key N OUT
 *       Writes OUT.der and OUT.pem: a v2 CRL issued by the intermediate
 *       with N revoked entries (random positive 16-byte serials, one
 *       revocation date, no entry extensions), authorityKeyIdentifier and
 *       cRLNumber, thisUpdate now-1h, nextUpdate now+7d, entries sorted by
 *       serial (as `openssl ca -gencrl` writes them), signed ECDSA-SHA256.
 *       Also OUT.revoked.txt: a client certificate issued by the
 *       intermediate whose serial is on the CRL, one line in nginx's
 *       $ssl_client_escaped_cert form (run.sh checks authd says 401).
 *       Prints "CRLGEN entries=N build_ms=X sign_ms=X write_ms=X
 *       der_bytes=B pem_bytes=B".
 *
 *   crlbench run PKIDIR BIG.der BIG.pem DIR QUERIES [PASSES]
 *       PKIDIR is tests/pki/gen.sh's output (root, intermediate and its
 *       key, crl/root.crl.pem, crl/int.crl.pem).  Times:
 *         - what authd does with a CRL file it has not seen: d2i_X509_CRL
 *           of the DER, the PEM read of the same CRL, X509_CRL_verify with
 *           the intermediate's key, i2d_X509_CRL + SHA-256 (the serial
 *           set's name); and with one it has: SHA-256 of the file (the
 *           name of its record in the store);
 *         - crl_set_load (BIG.der and the root's CRL) through a store in
 *           DIR/store twice (the first parses and indexes, the second
 *           finds the file's record and set), and without a store (in
 *           memory, as `authd check`);
 *         - crl_check over a pool of leaves signed by the intermediate
 *           (half with a serial on the CRL, picked at random over the whole
 *           CRL; half not), chain [leaf, intermediate, root] as the fast
 *           path of chain_verify builds it, QUERIES checks per pass, best
 *           of PASSES (default 3): LMDB index with scope chain (the
 *           default: the leaf against the big CRL, the intermediate
 *           against the root's) and leaf, hits and misses apart; the
 *           in-memory index; and the same checks with gen.sh's small
 *           intermediate CRL (the cost of crl_check around the lookup);
 *         - the reference: X509_CRL_get0_by_serial on the parsed
 *           X509_CRL, the same serials;
 *         - and what nginx's ssl_crl does per full handshake:
 *           X509_verify_cert with the CRLs in the X509_STORE and
 *           X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL, against the
 *           same verification without CRLs.
 *       Every pass checks the answers (hits revoked, misses not).
 *       Prints one line "CRLBENCH key=value ..." (ms for loads, ns per
 *       check, us per X509_verify_cert).
 *
 *   crlbench hold BIG.pem
 *       What nginx's `ssl_crl BIG.pem` keeps in each process: an X509_STORE
 *       with a file lookup, X509_load_crl_file(PEM), one lookup (which
 *       sorts the entries once).  Prints "HOLD load_ms=X before_kb=R
 *       rss_kb=R anon_kb=R file_kb=R hwm_kb=R" (VmRSS before loading and
 *       after, /proc/self/status).
 *
 * Built by run.sh against the static library:
 *   cc -O2 -I authd crlbench.c build-bench/libauthd_core.a -lmicrohttpd \
 *      -lssl -lcrypto -lpcre2-8 -llmdb -lpthread
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "chain.h"
#include "config.h"
#include "crl.h"
#include "identity.h"
#include "store.h"

#define SERIAL_BYTES	 16
#define POOL_DEFAULT	 8192		/* leaves: half revoked, half not */

static void
die(const char *what)
{
	fprintf(stderr, "crlbench: %s\n", what);
	ERR_print_errors_fp(stderr);
	exit(1);
}

static double
now_ns(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static X509 *
load_cert(const char *path)
{
	FILE	*f = fopen(path, "r");
	X509	*x;

	if (f == NULL)
		die(path);
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (x == NULL)
		die(path);
	return x;
}

static EVP_PKEY *
load_key(const char *path)
{
	FILE		*f = fopen(path, "r");
	EVP_PKEY	*k;

	if (f == NULL)
		die(path);
	k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (k == NULL)
		die(path);
	return k;
}

static unsigned char *
read_file(const char *path, size_t *len)
{
	struct stat	 sb;
	unsigned char	*b;
	FILE		*f;

	if ((f = fopen(path, "rb")) == NULL || fstat(fileno(f), &sb) != 0)
		die(path);
	if ((b = malloc((size_t)sb.st_size + 1)) == NULL ||
	    fread(b, 1, (size_t)sb.st_size, f) != (size_t)sb.st_size)
		die(path);
	fclose(f);
	*len = (size_t)sb.st_size;
	return b;
}

/* A random positive serial of SERIAL_BYTES bytes, no leading zero. */
static ASN1_INTEGER *
random_serial(void)
{
	unsigned char	 b[SERIAL_BYTES];
	ASN1_INTEGER	*s;

	if (RAND_bytes(b, sizeof(b)) != 1)
		die("RAND_bytes");
	b[0] = (unsigned char)(b[0] % 127 + 1);
	if ((s = ASN1_INTEGER_new()) == NULL ||
	    ASN1_STRING_set(s, b, sizeof(b)) != 1)
		die("ASN1_INTEGER");
	return s;
}

static int
unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
	    c == '~';
}

/* The PEM of x as nginx's $ssl_client_escaped_cert, one line, to path. */
static void
write_escaped(const char *path, X509 *x)
{
	static const char	 hex[] = "0123456789ABCDEF";
	const unsigned char	*pem;
	BIO			*mem = BIO_new(BIO_s_mem());
	FILE			*out = fopen(path, "w");
	long			 len, i;

	if (mem == NULL || out == NULL || PEM_write_bio_X509(mem, x) != 1)
		die(path);
	len = BIO_get_mem_data(mem, (char **)&pem);
	for (i = 0; i < len; i++) {
		if (unreserved(pem[i]))
			fputc(pem[i], out);
		else
			fprintf(out, "%%%c%c", hex[pem[i] >> 4],
			    hex[pem[i] & 15]);
	}
	fputc('\n', out);
	if (fclose(out) != 0)
		die(path);
	BIO_free(mem);
}

/*
 * Leaf factory: one template (key, extensions, validity, subject), a new
 * serial and signature per leaf, handed back parsed from its DER like a
 * certificate authd receives.
 */
struct leafgen {
	X509		*tmpl;
	EVP_PKEY	*ikey;
};

static void
leafgen_init(struct leafgen *g, X509 *ica, EVP_PKEY *ikey)
{
	static const struct { int nid; const char *v; } ext[] = {
		{ NID_basic_constraints, "critical,CA:FALSE" },
		{ NID_key_usage, "critical,digitalSignature" },
		{ NID_ext_key_usage, "clientAuth" },
		{ NID_subject_key_identifier, "hash" },
		{ NID_authority_key_identifier, "keyid:always" },
	};
	X509V3_CTX	 ctx;
	X509_EXTENSION	*e;
	X509_NAME	*name = X509_NAME_new();
	EVP_PKEY	*lkey = EVP_EC_gen("P-256");
	time_t		 now = time(NULL);
	size_t		 i;

	g->ikey = ikey;
	if ((g->tmpl = X509_new()) == NULL || name == NULL || lkey == NULL ||
	    X509_set_version(g->tmpl, X509_VERSION_3) != 1 ||
	    X509_set_pubkey(g->tmpl, lkey) != 1 ||
	    X509_set_issuer_name(g->tmpl, X509_get_subject_name(ica)) != 1 ||
	    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
	    (const unsigned char *)"authd bench", -1, -1, 0) != 1 ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)"crlbench-leaf", -1, -1, 0) != 1 ||
	    X509_set_subject_name(g->tmpl, name) != 1 ||
	    X509_time_adj_ex(X509_getm_notBefore(g->tmpl), -1, 0, &now) ==
	    NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(g->tmpl), 365, 0, &now) ==
	    NULL)
		die("leaf template");
	for (i = 0; i < sizeof(ext) / sizeof(ext[0]); i++) {
		X509V3_set_ctx(&ctx, ica, g->tmpl, NULL, NULL, 0);
		if ((e = X509V3_EXT_conf_nid(NULL, &ctx, ext[i].nid,
		    ext[i].v)) == NULL || X509_add_ext(g->tmpl, e, -1) != 1)
			die("leaf extension");
		X509_EXTENSION_free(e);
	}
	X509_NAME_free(name);
	EVP_PKEY_free(lkey);
}

static X509 *
leafgen_make(struct leafgen *g, const ASN1_INTEGER *serial)
{
	unsigned char		*der = NULL;
	const unsigned char	*p;
	X509			*x;
	int			 len;

	if (X509_set_serialNumber(g->tmpl, (ASN1_INTEGER *)serial) != 1 ||
	    X509_sign(g->tmpl, g->ikey, EVP_sha256()) <= 0 ||
	    (len = i2d_X509(g->tmpl, &der)) <= 0)
		die("leaf signature");
	p = der;
	if ((x = d2i_X509(NULL, &p, len)) == NULL)
		die("d2i_X509 of a leaf");
	OPENSSL_free(der);
	/* chain_verify has cached the extensions by the time crl_check runs */
	(void)X509_check_purpose(x, -1, 0);
	return x;
}

/* ---------------------------------------------------------------- gen */

static int
serial_cmp(const void *a, const void *b)
{
	return memcmp(a, b, SERIAL_BYTES);
}

/*
 * A CRL of ica with n entries into OUT.der; with full, also OUT.pem and
 * OUT.revoked.txt, and the timings printed.
 */
static void
gen_crl(X509 *ica, EVP_PKEY *ikey, long n, const char *out, int full)
{
	X509_CRL		*crl = X509_CRL_new();
	ASN1_TIME		*rdate = ASN1_TIME_new(), *t = ASN1_TIME_new();
	ASN1_INTEGER		*num = ASN1_INTEGER_new(), *s;
	X509_REVOKED		*r;
	unsigned char		*raw;
	X509V3_CTX		 ctx;
	X509_EXTENSION		*e;
	struct leafgen		 lg;
	unsigned char		*der = NULL;
	char			 path[4096];
	FILE			*f;
	struct stat		 sb;
	double			 t0, t1, t2, t3;
	time_t			 now = time(NULL);
	long			 i;
	int			 derlen;

	if (n < 1 || crl == NULL || rdate == NULL || t == NULL || num == NULL)
		die("gen: setup");
	t0 = now_ns();
	if (X509_CRL_set_version(crl, X509_CRL_VERSION_2) != 1 ||
	    X509_CRL_set_issuer_name(crl, X509_get_subject_name(ica)) != 1 ||
	    X509_time_adj_ex(t, 0, -3600, &now) == NULL ||
	    X509_CRL_set1_lastUpdate(crl, t) != 1 ||
	    X509_time_adj_ex(t, 7, 0, &now) == NULL ||
	    X509_CRL_set1_nextUpdate(crl, t) != 1 ||
	    X509_time_adj_ex(rdate, -20, 0, &now) == NULL ||
	    ASN1_INTEGER_set(num, 0x1000) != 1 ||
	    X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, 0) != 1)
		die("gen: CRL fields");
	X509V3_set_ctx(&ctx, ica, NULL, NULL, crl, 0);
	if ((e = X509V3_EXT_conf_nid(NULL, &ctx, NID_authority_key_identifier,
	    "keyid:always")) == NULL || X509_CRL_add_ext(crl, e, -1) != 1)
		die("gen: authorityKeyIdentifier");
	X509_EXTENSION_free(e);
	/*
	 * The serials: random, positive, no leading zero, all SERIAL_BYTES
	 * long, so that byte order is numeric order: sorted here with memcmp
	 * (X509_CRL_sort below then finds them in order).
	 */
	if ((raw = malloc((size_t)n * SERIAL_BYTES)) == NULL ||
	    (s = ASN1_INTEGER_new()) == NULL)
		die("gen: out of memory");
	for (i = 0; i < n; i += 65536)
		if (RAND_bytes(raw + i * SERIAL_BYTES, (int)((n - i < 65536 ?
		    n - i : 65536) * SERIAL_BYTES)) != 1)
			die("RAND_bytes");
	for (i = 0; i < n; i++)
		raw[i * SERIAL_BYTES] = (unsigned char)(raw[i * SERIAL_BYTES] %
		    127 + 1);
	qsort(raw, (size_t)n, SERIAL_BYTES, serial_cmp);
	for (i = 0; i < n; i++) {
		if ((r = X509_REVOKED_new()) == NULL ||
		    ASN1_STRING_set(s, raw + i * SERIAL_BYTES,
		    SERIAL_BYTES) != 1 ||
		    X509_REVOKED_set_serialNumber(r, s) != 1 ||
		    X509_REVOKED_set_revocationDate(r, rdate) != 1 ||
		    X509_CRL_add0_revoked(crl, r) != 1)
			die("gen: revoked entry");
	}
	ASN1_INTEGER_free(s);
	free(raw);
	if (X509_CRL_sort(crl) != 1)
		die("gen: X509_CRL_sort");
	t1 = now_ns();
	if (X509_CRL_sign(crl, ikey, EVP_sha256()) <= 0)
		die("gen: X509_CRL_sign");
	t2 = now_ns();
	if ((derlen = i2d_X509_CRL(crl, &der)) <= 0)
		die("gen: i2d_X509_CRL");
	snprintf(path, sizeof(path), "%s.der", out);
	if ((f = fopen(path, "wb")) == NULL ||
	    fwrite(der, 1, (size_t)derlen, f) != (size_t)derlen ||
	    fclose(f) != 0)
		die(path);
	if (!full) {
		OPENSSL_free(der);
		X509_CRL_free(crl);
		ASN1_TIME_free(rdate);
		ASN1_TIME_free(t);
		ASN1_INTEGER_free(num);
		return;
	}
	snprintf(path, sizeof(path), "%s.pem", out);
	if ((f = fopen(path, "w")) == NULL ||
	    PEM_write(f, PEM_STRING_X509_CRL, "", der, derlen) <= 0 ||
	    fclose(f) != 0 || stat(path, &sb) != 0)
		die(path);
	t3 = now_ns();

	/* A client the CRL revokes: its serial, the middle entry's. */
	leafgen_init(&lg, ica, ikey);
	snprintf(path, sizeof(path), "%s.revoked.txt", out);
	{
		X509 *x = leafgen_make(&lg, X509_REVOKED_get0_serialNumber(
		    sk_X509_REVOKED_value(X509_CRL_get_REVOKED(crl),
		    (int)(n / 2))));

		write_escaped(path, x);
		X509_free(x);
	}
	printf("CRLGEN entries=%ld build_ms=%.0f sign_ms=%.0f write_ms=%.0f "
	    "der_bytes=%d pem_bytes=%lld\n", n, (t1 - t0) / 1e6,
	    (t2 - t1) / 1e6, (t3 - t2) / 1e6, derlen, (long long)sb.st_size);
	OPENSSL_free(der);
	X509_free(lg.tmpl);
	X509_CRL_free(crl);
	ASN1_TIME_free(rdate);
	ASN1_TIME_free(t);
	ASN1_INTEGER_free(num);
}

static int
cmd_gen(const char *ica_path, const char *ikey_path, long n, const char *out)
{
	X509		*ica = load_cert(ica_path);
	EVP_PKEY	*ikey = load_key(ikey_path);

	gen_crl(ica, ikey, n, out, 1);
	EVP_PKEY_free(ikey);
	X509_free(ica);
	return 0;
}

/* ---------------------------------------------------------------- run */

struct pool {
	STACK_OF(X509)	**chains;	/* [leaf, intermediate, root] */
	ASN1_INTEGER	**serials;
	size_t		 n;		/* even: revoked, odd: not */
};

/*
 * Best-of-passes ns per crl_check over q checks cycling through the
 * leaves of pool from first, step step (1: all; 2: the revoked or the not
 * revoked ones).  expect: how many of the q must come back revoked.
 */
static double
time_check(const struct crl_set *set, const struct pool *pl, size_t first,
    size_t step, size_t q, int passes, enum crl_scope scope, size_t expect)
{
	struct crl_result	 res;
	double			 best = 0, t0, t;
	time_t			 at = time(NULL);
	size_t			 i, j, revoked;
	int			 k;

	for (k = 0; k < passes; k++) {
		revoked = 0;
		t0 = now_ns();
		for (i = 0, j = first; i < q; i++) {
			crl_check(set, pl->chains[j], at, scope, 0, 0, &res);
			revoked += res.status == CRL_REVOKED;
			if (res.status != CRL_GOOD && res.status != CRL_REVOKED) {
				fprintf(stderr, "crlbench: crl_check: %d %s\n",
				    (int)res.status, res.detail);
				die("unexpected crl_check status");
			}
			if ((j += step) >= pl->n)
				j = first;
		}
		t = (now_ns() - t0) / (double)q;
		if (revoked != expect) {
			fprintf(stderr, "crlbench: %zu revoked, expected %zu\n",
			    revoked, expect);
			die("wrong answers from crl_check");
		}
		if (k == 0 || t < best)
			best = t;
	}
	return best;
}

/* The same serials, straight to X509_CRL_get0_by_serial. */
static double
time_ossl(X509_CRL *crl, const struct pool *pl, size_t q, int passes,
    size_t expect)
{
	X509_REVOKED	*r;
	double		 best = 0, t0, t;
	size_t		 i, j, found;
	int		 k;

	for (k = 0; k < passes; k++) {
		found = 0;
		t0 = now_ns();
		for (i = 0, j = 0; i < q; i++) {
			found += X509_CRL_get0_by_serial(crl, &r,
			    pl->serials[j]) == 1;
			if (++j >= pl->n)
				j = 0;
		}
		t = (now_ns() - t0) / (double)q;
		if (found != expect)
			die("wrong answers from X509_CRL_get0_by_serial");
		if (k == 0 || t < best)
			best = t;
	}
	return best;
}

/*
 * us per X509_verify_cert of leaves from pool (alternately revoked and
 * not) with store; crl: the CRL flags are set and revoked leaves must fail
 * with X509_V_ERR_CERT_REVOKED.  At least n calls and 0.5 s.
 */
static double
time_verify(X509_STORE *store, STACK_OF(X509) *untrusted,
    const struct pool *pl, int crl, size_t n)
{
	X509_STORE_CTX	*ctx = X509_STORE_CTX_new();
	double		 t0 = now_ns(), t;
	size_t		 i;
	int		 ok, err;

	if (ctx == NULL)
		die("X509_STORE_CTX_new");
	for (i = 0; i < n || now_ns() - t0 < 5e8; i++) {
		X509 *leaf = sk_X509_value(pl->chains[i % pl->n], 0);

		if (X509_STORE_CTX_init(ctx, store, leaf, untrusted) != 1)
			die("X509_STORE_CTX_init");
		if (crl)
			X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_CRL_CHECK |
			    X509_V_FLAG_CRL_CHECK_ALL);
		ok = X509_verify_cert(ctx);
		err = X509_STORE_CTX_get_error(ctx);
		X509_STORE_CTX_cleanup(ctx);
		if (crl && i % 2 == 0 ? err != X509_V_ERR_CERT_REVOKED :
		    ok != 1) {
			fprintf(stderr, "crlbench: X509_verify_cert: %s\n",
			    X509_verify_cert_error_string(err));
			die("unexpected X509_verify_cert answer");
		}
	}
	t = (now_ns() - t0) / (double)i / 1e3;
	X509_STORE_CTX_free(ctx);
	ERR_clear_error();
	return t;
}

/* Best-of-passes ns per identity_dn of the leaf and the intermediate. */
static double
time_dn(const struct pool *pl, size_t q, int passes)
{
	char	 dn[256];
	double	 best = 0, t0, t;
	size_t	 i, j, sum;
	int	 k;

	for (k = 0; k < passes; k++) {
		sum = 0;
		t0 = now_ns();
		for (i = 0, j = 0; i < q; i++) {
			identity_dn(X509_get_subject_name(
			    sk_X509_value(pl->chains[j], 0)), dn, sizeof(dn));
			sum += strlen(dn);
			identity_dn(X509_get_subject_name(
			    sk_X509_value(pl->chains[j], 1)), dn, sizeof(dn));
			sum += strlen(dn);
			if (++j >= pl->n)
				j = 0;
		}
		t = (now_ns() - t0) / (double)q;
		if (sum == 0)
			die("identity_dn");
		if (k == 0 || t < best)
			best = t;
	}
	return best;
}

/*
 * Best-of-passes ns per store_set_contains of the serials of pool from
 * first, step step, keyed as crl.c keys them (sign byte, magnitude).
 */
static double
time_store(struct store *st, store_set_t set, const struct pool *pl,
    size_t first, size_t step, size_t q, int passes, size_t expect)
{
	unsigned char	 key[SERIAL_BYTES + 2];
	double		 best = 0, t0, t;
	size_t		 i, j, found;
	int		 k, n, rc;

	for (k = 0; k < passes; k++) {
		found = 0;
		t0 = now_ns();
		for (i = 0, j = first; i < q; i++) {
			n = ASN1_STRING_length(pl->serials[j]);
			if (n <= 0 || n > SERIAL_BYTES + 1)
				die("serial length");
			key[0] = 0;
			memcpy(key + 1, ASN1_STRING_get0_data(pl->serials[j]),
			    (size_t)n);
			if ((rc = store_set_contains(st, set, key,
			    (size_t)n + 1)) < 0)
				die("store_set_contains");
			found += (size_t)rc;
			if ((j += step) >= pl->n)
				j = first;
		}
		t = (now_ns() - t0) / (double)q;
		if (found != expect)
			die("wrong answers from store_set_contains");
		if (k == 0 || t < best)
			best = t;
	}
	return best;
}

static void
config_for(struct config *cfg, const char *pki, const char *crl1,
    const char *crl2)
{
	char	 path[4096];

	config_init(cfg);
	snprintf(path, sizeof(path), "%s/root.pem", pki);
	if (config_set_flag(cfg, "trust", path) != 0)
		die("config trust");
	snprintf(path, sizeof(path), "%s/intermediate.pem", pki);
	if (config_set_flag(cfg, "intermediates", path) != 0 ||
	    config_set_flag(cfg, "crl", crl1) != 0 ||
	    config_set_flag(cfg, "crl", crl2) != 0)
		die("config intermediates, crl");
}

static double
load_ms(struct config *cfg, const struct chain_store *chain,
    struct store *st, struct crl_set **out, size_t expect)
{
	double	 t0 = now_ns();

	if (crl_set_load(cfg, chain, st, NULL, out) != 0 || *out == NULL)
		die("crl_set_load");
	t0 = (now_ns() - t0) / 1e6;
	if (expect != 0 && crl_set_entries(*out) != expect) {
		fprintf(stderr, "crlbench: %zu entries, expected %zu\n",
		    crl_set_entries(*out), expect);
		die("the CRL set lost entries");
	}
	return t0;
}

static int
cmd_run(const char *pki, const char *der_path, const char *pem_path,
    const char *dir, size_t q, int passes)
{
	char			 path[4096], rootcrl[4096], intcrl[4096];
	char			 storedir[4096], err[512];
	unsigned char		*der, *pem, *der2 = NULL, md[32];
	const unsigned char	*p;
	size_t			 derlen, pemlen, i, nrev, pool_n = POOL_DEFAULT;
	X509_CRL		*crl, *crl2, *rcrl;
	X509_REVOKED		*r;
	X509			*ica, *root, *sroot, *sica;
	EVP_PKEY		*ikey;
	BIO			*bio;
	FILE			*f;
	struct config		 cfg_big, cfg_tiny;
	struct chain_store	*chain = NULL;
	struct store		*st = NULL;
	struct crl_set		*big_lmdb = NULL, *big_mem = NULL, *tiny = NULL;
	struct leafgen		 lg;
	struct pool		 pl;
	X509_STORE		*xs_crl, *xs_plain;
	STACK_OF(X509)		*untrusted;
	double			 t0, d2i_ms, pem_ms, verify_ms, digest_ms;
	double			 index_ms, found_ms, mem_ms, tiny_ms, leaves_ms;
	double			 lmdb_ns, hit_ns, miss_ns, leaf_ns, mem_ns;
	double			 tiny_ns, ossl_ns, ossl_hit_ns, ossl_miss_ns;
	double			 ngx_us, plain_us, dn_ns, store_hit_ns;
	double			 store_miss_ns, file_sha_ms;
	store_set_t		 set;
	size_t			 count;
	int			 len2;
	uint64_t		 x;

	snprintf(path, sizeof(path), "%s/intermediate.pem", pki);
	ica = load_cert(path);
	snprintf(path, sizeof(path), "%s/intermediate.key", pki);
	ikey = load_key(path);
	snprintf(path, sizeof(path), "%s/root.pem", pki);
	root = load_cert(path);
	snprintf(rootcrl, sizeof(rootcrl), "%s/crl/root.crl.pem", pki);
	snprintf(intcrl, sizeof(intcrl), "%s/crl/int.crl.pem", pki);
	snprintf(storedir, sizeof(storedir), "%s/store", dir);

	/* 1. What a start does with the file before the store is asked. */
	der = read_file(der_path, &derlen);
	pem = read_file(pem_path, &pemlen);
	p = der;
	t0 = now_ns();
	if ((crl = d2i_X509_CRL(NULL, &p, (long)derlen)) == NULL)
		die("d2i_X509_CRL");
	d2i_ms = (now_ns() - t0) / 1e6;
	t0 = now_ns();
	if ((bio = BIO_new_mem_buf(pem, (int)pemlen)) == NULL ||
	    (crl2 = PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL)) == NULL)
		die("PEM_read_bio_X509_CRL");
	pem_ms = (now_ns() - t0) / 1e6;
	X509_CRL_free(crl2);
	BIO_free(bio);
	free(pem);
	t0 = now_ns();
	if (X509_CRL_verify(crl, X509_get0_pubkey(ica)) != 1)
		die("X509_CRL_verify");
	verify_ms = (now_ns() - t0) / 1e6;
	t0 = now_ns();
	if ((len2 = i2d_X509_CRL(crl, &der2)) <= 0 ||
	    identity_sha256(der2, (size_t)len2, md) != 0)
		die("i2d_X509_CRL + SHA-256");
	digest_ms = (now_ns() - t0) / 1e6;
	OPENSSL_free(der2);
	/* a later start: the file's SHA-256 finds its record (crl.c) */
	t0 = now_ns();
	if (identity_sha256(der, derlen, md) != 0)
		die("SHA-256");
	file_sha_ms = (now_ns() - t0) / 1e6;
	free(der);
	nrev = (size_t)sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl));
	if (nrev == 0)
		die("the CRL is empty");

	/* 2. Loads: LMDB (index, then found), memory, the small CRL. */
	config_for(&cfg_big, pki, der_path, rootcrl);
	config_for(&cfg_tiny, pki, intcrl, rootcrl);
	if (chain_store_load(&cfg_big, &chain) != 0)
		die("chain_store_load");
	if (store_open(storedir, STORE_DEFAULT_MAPSIZE, &st, err,
	    sizeof(err)) != 0)
		die(err);
	index_ms = load_ms(&cfg_big, chain, st, &big_lmdb, 0);
	crl_set_free(&big_lmdb);
	found_ms = load_ms(&cfg_big, chain, st, &big_lmdb, 0);
	mem_ms = load_ms(&cfg_big, chain, NULL, &big_mem, 0);
	tiny_ms = load_ms(&cfg_tiny, chain, st, &tiny, 0);
	if (crl_set_entries(big_lmdb) < nrev ||
	    crl_set_entries(big_mem) != crl_set_entries(big_lmdb))
		die("the CRL sets lost entries");

	/* 3. The pool: even = a serial on the CRL, odd = one that is not. */
	sroot = chain_store_ca(chain, 0);
	sica = chain_store_ca(chain, 1);
	if (sroot == NULL || sica == NULL || X509_cmp(sroot, root) != 0 ||
	    X509_cmp(sica, ica) != 0)
		die("the chain store does not hold root, intermediate");
	pl.n = pool_n;
	if ((pl.chains = calloc(pl.n, sizeof(*pl.chains))) == NULL ||
	    (pl.serials = calloc(pl.n, sizeof(*pl.serials))) == NULL)
		die("out of memory");
	if (RAND_bytes((unsigned char *)&x, sizeof(x)) != 1)
		die("RAND_bytes");
	leafgen_init(&lg, ica, ikey);
	t0 = now_ns();
	for (i = 0; i < pl.n; i++) {
		if (i % 2 == 0) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			pl.serials[i] = ASN1_INTEGER_dup(
			    X509_REVOKED_get0_serialNumber(
			    sk_X509_REVOKED_value(X509_CRL_get_REVOKED(crl),
			    (int)(x % nrev))));
		} else {
			do {
				ASN1_INTEGER_free(pl.serials[i]);
				pl.serials[i] = random_serial();
			} while (X509_CRL_get0_by_serial(crl, &r,
			    pl.serials[i]) == 1);
		}
		if (pl.serials[i] == NULL ||
		    (pl.chains[i] = sk_X509_new_null()) == NULL ||
		    !sk_X509_push(pl.chains[i], leafgen_make(&lg,
		    pl.serials[i])) || !sk_X509_push(pl.chains[i], sica) ||
		    !sk_X509_push(pl.chains[i], sroot))
			die("pool");
	}
	leaves_ms = (now_ns() - t0) / 1e6;

	/* 4. crl_check and the reference lookup. */
	lmdb_ns = time_check(big_lmdb, &pl, 0, 1, q, passes, CRL_SCOPE_CHAIN,
	    (q + 1) / 2);
	hit_ns = time_check(big_lmdb, &pl, 0, 2, q / 2, passes,
	    CRL_SCOPE_CHAIN, q / 2);
	miss_ns = time_check(big_lmdb, &pl, 1, 2, q / 2, passes,
	    CRL_SCOPE_CHAIN, 0);
	leaf_ns = time_check(big_lmdb, &pl, 0, 1, q, passes, CRL_SCOPE_LEAF,
	    (q + 1) / 2);
	mem_ns = time_check(big_mem, &pl, 0, 1, q, passes, CRL_SCOPE_CHAIN,
	    (q + 1) / 2);
	tiny_ns = time_check(tiny, &pl, 0, 1, q, passes, CRL_SCOPE_CHAIN, 0);
	ossl_ns = time_ossl(crl, &pl, q, passes, (q + 1) / 2);
	dn_ns = time_dn(&pl, q, passes);
	for (i = 0; i < crl_set_count(big_lmdb); i++)
		if (crl_set_name(big_lmdb, i) != NULL &&
		    store_set_find(st, crl_set_name(big_lmdb, i), &set,
		    &count) == 0 && count == nrev)
			break;
	if (i == crl_set_count(big_lmdb))
		die("the big CRL's set is not in the store");
	store_hit_ns = time_store(st, set, &pl, 0, 2, q / 2, passes, q / 2);
	store_miss_ns = time_store(st, set, &pl, 1, 2, q / 2, passes, 0);
	{
		/* hits and misses apart: two pools sharing the arrays */
		struct pool	 h, m;
		ASN1_INTEGER	**hs, **ms;

		if ((hs = calloc(pl.n / 2, sizeof(*hs))) == NULL ||
		    (ms = calloc(pl.n / 2, sizeof(*ms))) == NULL)
			die("out of memory");
		for (i = 0; i < pl.n / 2; i++) {
			hs[i] = pl.serials[2 * i];
			ms[i] = pl.serials[2 * i + 1];
		}
		h.serials = hs;
		h.n = pl.n / 2;
		m.serials = ms;
		m.n = pl.n / 2;
		ossl_hit_ns = time_ossl(crl, &h, q / 2, passes, q / 2);
		ossl_miss_ns = time_ossl(crl, &m, q / 2, passes, 0);
		free(hs);
		free(ms);
	}

	/* 5. nginx's ssl_crl: X509_verify_cert with the CRLs in the store. */
	if ((xs_crl = X509_STORE_new()) == NULL ||
	    (xs_plain = X509_STORE_new()) == NULL ||
	    (untrusted = sk_X509_new_null()) == NULL ||
	    X509_STORE_add_cert(xs_crl, root) != 1 ||
	    X509_STORE_add_cert(xs_plain, root) != 1 ||
	    X509_STORE_add_crl(xs_crl, crl) != 1 ||
	    !sk_X509_push(untrusted, ica))
		die("X509_STORE");
	if ((f = fopen(rootcrl, "r")) == NULL ||
	    (rcrl = PEM_read_X509_CRL(f, NULL, NULL, NULL)) == NULL ||
	    X509_STORE_add_crl(xs_crl, rcrl) != 1)
		die(rootcrl);
	fclose(f);
	X509_CRL_free(rcrl);
	plain_us = time_verify(xs_plain, untrusted, &pl, 0, 200);
	ngx_us = time_verify(xs_crl, untrusted, &pl, 1, 6);

	printf("CRLBENCH entries=%zu queries=%zu passes=%d pool=%zu "
	    "d2i_ms=%.0f pem_ms=%.0f verify_ms=%.0f digest_ms=%.0f "
	    "file_sha_ms=%.0f "
	    "index_ms=%.0f found_ms=%.0f mem_load_ms=%.0f tiny_load_ms=%.1f "
	    "leaves_ms=%.0f lmdb_ns=%.0f hit_ns=%.0f miss_ns=%.0f "
	    "leaf_ns=%.0f mem_ns=%.0f tiny_ns=%.0f ossl_ns=%.0f "
	    "ossl_hit_ns=%.0f ossl_miss_ns=%.0f dn_ns=%.0f store_hit_ns=%.0f "
	    "store_miss_ns=%.0f verify_plain_us=%.1f verify_crl_us=%.0f\n",
	    nrev, q, passes, pl.n, d2i_ms, pem_ms, verify_ms, digest_ms,
	    file_sha_ms, index_ms, found_ms, mem_ms, tiny_ms, leaves_ms, lmdb_ns, hit_ns,
	    miss_ns, leaf_ns, mem_ns, tiny_ns, ossl_ns, ossl_hit_ns,
	    ossl_miss_ns, dn_ns, store_hit_ns, store_miss_ns, plain_us,
	    ngx_us);

	for (i = 0; i < pl.n; i++) {
		X509_free(sk_X509_value(pl.chains[i], 0));
		sk_X509_free(pl.chains[i]);
		ASN1_INTEGER_free(pl.serials[i]);
	}
	free(pl.chains);
	free(pl.serials);
	X509_STORE_free(xs_crl);
	X509_STORE_free(xs_plain);
	sk_X509_free(untrusted);
	crl_set_free(&big_lmdb);
	crl_set_free(&big_mem);
	crl_set_free(&tiny);
	store_close(&st);
	chain_store_free(&chain);
	config_cleanup(&cfg_big);
	config_cleanup(&cfg_tiny);
	X509_free(lg.tmpl);
	X509_CRL_free(crl);
	X509_free(ica);
	X509_free(root);
	EVP_PKEY_free(ikey);
	return 0;
}

/* ---------------------------------------------------------------- hold */

/* "VmRSS RssAnon RssFile VmHWM" of this process, kB. */
static void
rss(long v[4])
{
	static const char	*k[4] = { "VmRSS:", "RssAnon:", "RssFile:",
				    "VmHWM:" };
	char			 line[256];
	FILE			*f = fopen("/proc/self/status", "r");
	int			 i;

	v[0] = v[1] = v[2] = v[3] = -1;
	if (f == NULL)
		die("/proc/self/status");
	while (fgets(line, sizeof(line), f) != NULL)
		for (i = 0; i < 4; i++)
			if (strncmp(line, k[i], strlen(k[i])) == 0)
				v[i] = strtol(line + strlen(k[i]), NULL, 10);
	fclose(f);
}

static int
cmd_hold(const char *pem_path)
{
	X509_STORE		*xs = X509_STORE_new();
	X509_LOOKUP		*lk;
	STACK_OF(X509_OBJECT)	*objs;
	X509_CRL		*crl = NULL;
	X509_REVOKED		*r;
	ASN1_INTEGER		*s = random_serial();
	long			 before[4], after[4];
	double			 t0, ms;
	int			 i;

	rss(before);
	t0 = now_ns();
	/* ngx_ssl_crl(): a file lookup, X509_load_crl_file(PEM), CRL flags */
	if (xs == NULL ||
	    (lk = X509_STORE_add_lookup(xs, X509_LOOKUP_file())) == NULL ||
	    X509_load_crl_file(lk, pem_path, X509_FILETYPE_PEM) < 1 ||
	    X509_STORE_set_flags(xs, X509_V_FLAG_CRL_CHECK |
	    X509_V_FLAG_CRL_CHECK_ALL) != 1)
		die(pem_path);
	ms = (now_ns() - t0) / 1e6;
	objs = X509_STORE_get0_objects(xs);
	for (i = 0; i < sk_X509_OBJECT_num(objs) && crl == NULL; i++)
		crl = X509_OBJECT_get0_X509_CRL(sk_X509_OBJECT_value(objs, i));
	if (crl == NULL)
		die("no CRL in the store");
	(void)X509_CRL_get0_by_serial(crl, &r, s);	/* sorts, once */
	rss(after);
	printf("HOLD load_ms=%.0f entries=%d before_kb=%ld rss_kb=%ld "
	    "anon_kb=%ld file_kb=%ld hwm_kb=%ld\n", ms,
	    sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)), before[0],
	    after[0], after[1], after[2], after[3]);
	fflush(stdout);
	ASN1_INTEGER_free(s);
	X509_STORE_free(xs);
	return 0;
}

/* ---------------------------------------------------------------- federal */

/*
 * An issuing CA under root (EC P-256, CA:TRUE, keyCertSign and cRLSign),
 * its key in *key.
 */
static X509 *
fed_ca(X509 *root, EVP_PKEY *rkey, int i, EVP_PKEY **key)
{
	static const struct { int nid; const char *v; } ext[] = {
		{ NID_basic_constraints, "critical,CA:TRUE,pathlen:0" },
		{ NID_key_usage, "critical,keyCertSign,cRLSign" },
		{ NID_subject_key_identifier, "hash" },
		{ NID_authority_key_identifier, "keyid:always" },
	};
	X509		*x = X509_new();
	X509_NAME	*name = X509_NAME_new();
	X509V3_CTX	 ctx;
	X509_EXTENSION	*e;
	ASN1_INTEGER	*serial = random_serial();
	char		 cn[64];
	time_t		 now = time(NULL);
	size_t		 k;

	snprintf(cn, sizeof(cn), "authd bench issuing CA %02d", i);
	if ((*key = EVP_EC_gen("P-256")) == NULL || x == NULL ||
	    name == NULL ||
	    X509_set_version(x, X509_VERSION_3) != 1 ||
	    X509_set_serialNumber(x, serial) != 1 ||
	    X509_set_pubkey(x, *key) != 1 ||
	    X509_set_issuer_name(x, X509_get_subject_name(root)) != 1 ||
	    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
	    (const unsigned char *)"authd bench", -1, -1, 0) != 1 ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0) != 1 ||
	    X509_set_subject_name(x, name) != 1 ||
	    X509_time_adj_ex(X509_getm_notBefore(x), -1, 0, &now) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(x), 365, 0, &now) == NULL)
		die("issuing CA");
	for (k = 0; k < sizeof(ext) / sizeof(ext[0]); k++) {
		X509V3_set_ctx(&ctx, root, x, NULL, NULL, 0);
		if ((e = X509V3_EXT_conf_nid(NULL, &ctx, ext[k].nid,
		    ext[k].v)) == NULL || X509_add_ext(x, e, -1) != 1)
			die("issuing CA extension");
		X509_EXTENSION_free(e);
	}
	if (X509_sign(x, rkey, EVP_sha256()) <= 0)
		die("issuing CA signature");
	X509_NAME_free(name);
	ASN1_INTEGER_free(serial);
	return x;
}

/*
 * crlbench fedgen PKIDIR NCAS ENTRIES BIG OUT: NCAS issuing CAs under
 * the PKI's root with a CRL of ENTRIES serials each, and one more with a
 * CRL of BIG (the US DoD publishes about 50 CRLs, over 230 MB together).
 * Writes OUT/cas.pem (every issuing CA), OUT/crl/caNN.der.
 */
static int
cmd_fedgen(const char *pki, int ncas, long entries, long big,
    const char *out)
{
	X509		*root, *ca;
	EVP_PKEY	*rkey, *key;
	FILE		*f;
	char		 path[4096];
	double		 t0 = now_ns();
	int		 i;

	snprintf(path, sizeof(path), "%s/root.pem", pki);
	root = load_cert(path);
	snprintf(path, sizeof(path), "%s/root.key", pki);
	rkey = load_key(path);
	snprintf(path, sizeof(path), "%s/crl", out);
	if (mkdir(out, 0700) != 0 || mkdir(path, 0700) != 0)
		die("fedgen: OUT must not exist");
	snprintf(path, sizeof(path), "%s/cas.pem", out);
	if ((f = fopen(path, "w")) == NULL)
		die(path);
	for (i = 0; i <= ncas; i++) {
		ca = fed_ca(root, rkey, i, &key);
		if (PEM_write_X509(f, ca) != 1)
			die("cas.pem");
		snprintf(path, sizeof(path), "%s/crl/ca%02d", out, i);
		gen_crl(ca, key, i == ncas ? big : entries, path, 0);
		X509_free(ca);
		EVP_PKEY_free(key);
	}
	if (fclose(f) != 0)
		die("cas.pem");
	printf("FEDGEN cas=%d entries=%ld big=%ld ms=%.0f\n", ncas + 1,
	    entries, big, (now_ns() - t0) / 1e6);
	X509_free(root);
	EVP_PKEY_free(rkey);
	return 0;
}

/*
 * crlbench fedload PKIDIR OUT STOREDIR: crl_set_load of OUT's CRLs, as
 * authd serve starts: through the store in STOREDIR (a first start
 * parses and indexes; with the same STOREDIR again, a second start finds
 * the files' records).  One start per process, for its peak RSS.  Prints
 * "FEDLOAD ms=X crls=N entries=E hwm_kb=K anon_kb=A file_kb=F".
 */
static int
cmd_fedload(const char *pki, const char *out, const char *storedir)
{
	struct config		 cfg;
	struct chain_store	*chain = NULL;
	struct store		*st = NULL;
	struct crl_set		*set = NULL;
	char			 path[4096], err[256];
	long			 v[4];
	double			 ms;

	config_init(&cfg);
	snprintf(path, sizeof(path), "%s/root.pem", pki);
	if (config_set_flag(&cfg, "trust", path) != 0)
		die("config trust");
	snprintf(path, sizeof(path), "%s/cas.pem", out);
	if (config_set_flag(&cfg, "intermediates", path) != 0)
		die("config intermediates");
	snprintf(path, sizeof(path), "%s/crl", out);
	if (config_set_flag(&cfg, "crl", path) != 0)
		die("config crl");
	if (chain_store_load(&cfg, &chain) != 0)
		die("chain_store_load");
	if (store_open(storedir, STORE_DEFAULT_MAPSIZE, &st, err,
	    sizeof(err)) != 0)
		die(err);
	ms = load_ms(&cfg, chain, st, &set, 0);
	rss(v);
	printf("FEDLOAD ms=%.0f crls=%zu entries=%zu rejected=%zu hwm_kb=%ld "
	    "anon_kb=%ld file_kb=%ld\n", ms, crl_set_count(set),
	    crl_set_entries(set), crl_set_rejected(set), v[3], v[1], v[2]);
	crl_set_free(&set);
	store_close(&st);
	chain_store_free(&chain);
	config_cleanup(&cfg);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc == 6 && strcmp(argv[1], "gen") == 0)
		return cmd_gen(argv[2], argv[3], strtol(argv[4], NULL, 10),
		    argv[5]);
	if ((argc == 7 || argc == 8) && strcmp(argv[1], "run") == 0)
		return cmd_run(argv[2], argv[3], argv[4], argv[5],
		    strtoul(argv[6], NULL, 10), argc == 8 ? atoi(argv[7]) : 3);
	if (argc == 3 && strcmp(argv[1], "hold") == 0)
		return cmd_hold(argv[2]);
	if (argc == 7 && strcmp(argv[1], "fedgen") == 0)
		return cmd_fedgen(argv[2], atoi(argv[3]), strtol(argv[4], NULL,
		    10), strtol(argv[5], NULL, 10), argv[6]);
	if (argc == 5 && strcmp(argv[1], "fedload") == 0)
		return cmd_fedload(argv[2], argv[3], argv[4]);
	fprintf(stderr, "usage: crlbench gen INT.pem INT.key N OUT\n"
	    "       crlbench run PKIDIR BIG.der BIG.pem DIR QUERIES [PASSES]\n"
	    "       crlbench hold BIG.pem\n"
	    "       crlbench fedgen PKIDIR NCAS ENTRIES BIG OUT\n"
	    "       crlbench fedload PKIDIR OUT STOREDIR\n");
	return 2;
}
