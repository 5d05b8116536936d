/*
 * gencerts: bench fixture generator (not part of the daemon, not built by
 * CMake; tests/bench/run.sh builds it with `cc -O2 gencerts.c -lcrypto`).
 *
 *   gencerts leaves INTERMEDIATE.pem INTERMEDIATE.key N OUT.txt
 *       Writes N distinct client certificates issued by the intermediate,
 *       one per line, each in nginx's $ssl_client_escaped_cert form.  With
 *       GENCERTS_POLICY=OID in the environment they carry that certificate
 *       policy; with GENCERTS_AIA=URL, that caIssuers URL.
 *   gencerts escape CERT.pem OUT.txt
 *       Writes the first certificate of CERT.pem in that form (one line).
 *   gencerts floor LEAVES.txt INTERMEDIATE.pem SECONDS
 *       The library's floor for one cold request: d2i_X509 of a leaf's DER
 *       plus X509_verify with the intermediate's key, over distinct leaves
 *       from LEAVES.txt (decoded up front, not timed). Prints
 *       "FLOOR per_s=X parse_us=X verify_us=X". `openssl speed` measures the
 *       bare signature check; this adds what OpenSSL 3 spends parsing a
 *       certificate and setting up a verification, which authd cannot skip.
 *
 * Leaves share ONE P-256 key (a fresh key per leaf would dominate the run
 * time); serial and CN differ, so every leaf has its own DER, fingerprint and
 * signature, which is what defeats authd's verdict cache. Serials carry a
 * random 8-byte prefix so that two runs never produce the same certificate.
 *
 * The escaping matches nginx's ngx_escape_uri(NGX_ESCAPE_URI_COMPONENT):
 * every byte that is not ALPHA / DIGIT / "-" / "." / "_" / "~" becomes %XX
 * with upper-case hex.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <ctype.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

static void
die(const char *what)
{
	fprintf(stderr, "gencerts: %s\n", what);
	ERR_print_errors_fp(stderr);
	exit(1);
}

static int
unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
	    c == '~';
}

/* Writes the PEM of x, escaped, followed by '\n'. */
static void
write_escaped(FILE *out, BIO *mem, X509 *x)
{
	static const char hex[] = "0123456789ABCDEF";
	char buf[16384], *p = buf;
	const unsigned char *pem;
	long len, i;

	(void)BIO_reset(mem);
	if (PEM_write_bio_X509(mem, x) != 1)
		die("PEM_write_bio_X509");
	len = BIO_get_mem_data(mem, (char **)&pem);
	if (len <= 0 || len * 3 + 2 > (long)sizeof(buf))
		die("certificate PEM too large");
	for (i = 0; i < len; i++) {
		unsigned char c = pem[i];
		if (unreserved(c)) {
			*p++ = (char)c;
		} else {
			*p++ = '%';
			*p++ = hex[c >> 4];
			*p++ = hex[c & 0xf];
		}
	}
	*p++ = '\n';
	if (fwrite(buf, 1, (size_t)(p - buf), out) != (size_t)(p - buf))
		die("write failed");
}

static X509 *
load_cert(const char *path)
{
	FILE *f = fopen(path, "r");
	X509 *x;

	if (f == NULL)
		die(path);
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (x == NULL)
		die("cannot read certificate");
	return x;
}

static EVP_PKEY *
load_key(const char *path)
{
	FILE *f = fopen(path, "r");
	EVP_PKEY *k;

	if (f == NULL)
		die(path);
	k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (k == NULL)
		die("cannot read private key");
	return k;
}

static X509_EXTENSION *
make_ext(X509 *issuer, X509 *subject, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;

	X509V3_set_ctx(&ctx, issuer, subject, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (ext == NULL)
		die("X509V3_EXT_conf_nid");
	return ext;
}

/* certificatePolicies with the one dotted OID, no qualifiers. */
static X509_EXTENSION *
make_policy_ext(const char *oid)
{
	CERTIFICATEPOLICIES *pols = CERTIFICATEPOLICIES_new();
	POLICYINFO *pi = POLICYINFO_new();
	X509_EXTENSION *ext;

	if (pols == NULL || pi == NULL ||
	    (pi->policyid = OBJ_txt2obj(oid, 1)) == NULL ||
	    !sk_POLICYINFO_push(pols, pi))
		die("certificatePolicies");
	ext = X509V3_EXT_i2d(NID_certificate_policies, 0, pols);
	CERTIFICATEPOLICIES_free(pols);
	if (ext == NULL)
		die("X509V3_EXT_i2d");
	return ext;
}

static int
cmd_leaves(const char *ica_path, const char *ikey_path, long n,
    const char *out_path)
{
	X509 *ica = load_cert(ica_path);
	EVP_PKEY *ikey = load_key(ikey_path);
	EVP_PKEY *lkey = EVP_EC_gen("P-256");
	X509 *tmpl = X509_new();
	X509_EXTENSION *exts[7];
	const char *policy = getenv("GENCERTS_POLICY");
	const char *aia = getenv("GENCERTS_AIA");
	char aiaval[1100];
	unsigned char prefix[8];
	BIO *mem = BIO_new(BIO_s_mem());
	FILE *out = fopen(out_path, "w");
	time_t now = time(NULL);
	EVP_MD_CTX *mdctx = NULL, *work = NULL;
	size_t e, nexts;
	long i;

	if (lkey == NULL || tmpl == NULL || mem == NULL)
		die("allocation");
	if (out == NULL)
		die(out_path);
	if (RAND_bytes(prefix, sizeof(prefix)) != 1)
		die("RAND_bytes");
	prefix[0] &= 0x7f; /* keep the serial positive */
	if (prefix[0] == 0)
		prefix[0] = 1;

	/* Extensions are the same for every leaf: build them once. */
	if (X509_set_pubkey(tmpl, lkey) != 1)
		die("X509_set_pubkey");
	exts[0] = make_ext(ica, tmpl, NID_basic_constraints, "critical,CA:FALSE");
	exts[1] = make_ext(ica, tmpl, NID_key_usage, "critical,digitalSignature");
	exts[2] = make_ext(ica, tmpl, NID_ext_key_usage, "clientAuth");
	exts[3] = make_ext(ica, tmpl, NID_subject_key_identifier, "hash");
	exts[4] = make_ext(ica, tmpl, NID_authority_key_identifier, "keyid:always");
	nexts = 5;
	if (policy != NULL && *policy != '\0')
		exts[nexts++] = make_policy_ext(policy);
	if (aia != NULL && *aia != '\0') {
		snprintf(aiaval, sizeof(aiaval), "caIssuers;URI:%s", aia);
		exts[nexts++] = make_ext(ica, tmpl, NID_info_access, aiaval);
	}

	/*
	 * One X509 object serves every leaf: only serial and subject change.
	 * Setting the public key is expensive in OpenSSL 3 (it goes through the
	 * encoder machinery), so it is done once.
	 */
	if (X509_set_version(tmpl, X509_VERSION_3) != 1 ||
	    X509_set_issuer_name(tmpl, X509_get_subject_name(ica)) != 1 ||
	    X509_time_adj_ex(X509_getm_notBefore(tmpl), -1, 0, &now) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(tmpl), 365, 0, &now) == NULL)
		die("building leaf template");
	for (e = 0; e < nexts; e++)
		if (X509_add_ext(tmpl, exts[e], -1) != 1)
			die("X509_add_ext");
	if ((mdctx = EVP_MD_CTX_new()) == NULL ||
	    (work = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit(mdctx, NULL, EVP_sha256(), NULL, ikey) != 1)
		die("EVP_DigestSignInit");

	for (i = 0; i < n; i++) {
		X509_NAME *name = X509_NAME_new();
		unsigned char sbytes[16];
		BIGNUM *bn;
		ASN1_INTEGER *serial;
		char cn[64];

		if (name == NULL)
			die("allocation");
		memcpy(sbytes, prefix, 8);
		for (e = 0; e < 8; e++)
			sbytes[8 + e] = (unsigned char)((unsigned long)i >> (56 - 8 * e));
		bn = BN_bin2bn(sbytes, sizeof(sbytes), NULL);
		serial = bn != NULL ? BN_to_ASN1_INTEGER(bn, NULL) : NULL;
		if (serial == NULL)
			die("serial");
		snprintf(cn, sizeof(cn), "bench-leaf-%ld", i);
		if (X509_set_serialNumber(tmpl, serial) != 1 ||
		    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
			(const unsigned char *)"authd bench", -1, -1, 0) != 1 ||
		    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
			(const unsigned char *)cn, -1, -1, 0) != 1 ||
		    X509_set_subject_name(tmpl, name) != 1)
			die("building leaf");
		/* A signing context is single-use; copying a fresh one is cheap. */
		if (EVP_MD_CTX_copy_ex(work, mdctx) != 1 ||
		    X509_sign_ctx(tmpl, work) <= 0)
			die("X509_sign_ctx");
		write_escaped(out, mem, tmpl);
		ASN1_INTEGER_free(serial);
		BN_free(bn);
		X509_NAME_free(name);
	}
	if (fclose(out) != 0)
		die("close failed");
	for (e = 0; e < nexts; e++)
		X509_EXTENSION_free(exts[e]);
	EVP_MD_CTX_free(work);
	EVP_MD_CTX_free(mdctx);
	BIO_free(mem);
	X509_free(tmpl);
	EVP_PKEY_free(lkey);
	EVP_PKEY_free(ikey);
	X509_free(ica);
	return 0;
}

static int
cmd_escape(const char *cert_path, const char *out_path)
{
	X509 *x = load_cert(cert_path);
	BIO *mem = BIO_new(BIO_s_mem());
	FILE *out = fopen(out_path, "w");

	if (mem == NULL || out == NULL)
		die(out_path);
	write_escaped(out, mem, x);
	if (fclose(out) != 0)
		die("close failed");
	BIO_free(mem);
	X509_free(x);
	return 0;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

#define FLOOR_MAX_LEAVES 20000

static int
cmd_floor(const char *leaves_path, const char *ica_path, double seconds)
{
	X509 *ica = load_cert(ica_path);
	EVP_PKEY *ipub = X509_get0_pubkey(ica);
	FILE *in = fopen(leaves_path, "r");
	unsigned char **der = calloc(FLOOR_MAX_LEAVES, sizeof(*der));
	int *derlen = calloc(FLOOR_MAX_LEAVES, sizeof(*derlen));
	char line[16384], pem[8192];
	double t0, t1, t2, tparse = 0, tverify = 0, end;
	long n = 0, i, done = 0;

	if (ipub == NULL || in == NULL || der == NULL || derlen == NULL)
		die("floor: setup");
	while (n < FLOOR_MAX_LEAVES && fgets(line, sizeof(line), in) != NULL) {
		size_t k, m = 0;
		BIO *b;
		X509 *x;

		for (k = 0; line[k] != '\0' && line[k] != '\n'; k++) {
			if (m + 1 >= sizeof(pem))
				die("floor: line too long");
			if (line[k] == '%' && hexval(line[k + 1]) >= 0 &&
			    hexval(line[k + 2]) >= 0) {
				pem[m++] = (char)(hexval(line[k + 1]) * 16 +
				    hexval(line[k + 2]));
				k += 2;
			} else {
				pem[m++] = line[k];
			}
		}
		if ((b = BIO_new_mem_buf(pem, (int)m)) == NULL ||
		    (x = PEM_read_bio_X509(b, NULL, NULL, NULL)) == NULL)
			die("floor: bad leaf");
		der[n] = NULL;
		if ((derlen[n] = i2d_X509(x, &der[n])) <= 0)
			die("floor: i2d_X509");
		X509_free(x);
		BIO_free(b);
		n++;
	}
	fclose(in);
	if (n == 0)
		die("floor: no leaves");

	end = now_s() + seconds;
	for (i = 0; now_s() < end; i = (i + 1) % n) {
		const unsigned char *p = der[i];
		X509 *x;

		t0 = now_s();
		if ((x = d2i_X509(NULL, &p, derlen[i])) == NULL)
			die("floor: d2i_X509");
		t1 = now_s();
		if (X509_verify(x, ipub) != 1)
			die("floor: X509_verify");
		t2 = now_s();
		X509_free(x);
		tparse += t1 - t0;
		tverify += t2 - t1;
		done++;
	}
	printf("FLOOR per_s=%.0f parse_us=%.1f verify_us=%.1f\n",
	    (double)done / (tparse + tverify), tparse / (double)done * 1e6,
	    tverify / (double)done * 1e6);
	for (i = 0; i < n; i++)
		OPENSSL_free(der[i]);
	free(der);
	free(derlen);
	X509_free(ica);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc == 6 && strcmp(argv[1], "leaves") == 0) {
		char *end;
		long n = strtol(argv[4], &end, 10);
		if (*end != '\0' || n <= 0)
			die("N must be a positive integer");
		return cmd_leaves(argv[2], argv[3], n, argv[5]);
	}
	if (argc == 4 && strcmp(argv[1], "escape") == 0)
		return cmd_escape(argv[2], argv[3]);
	if (argc == 5 && strcmp(argv[1], "floor") == 0) {
		char *end;
		double secs = strtod(argv[4], &end);
		if (*end != '\0' || secs <= 0)
			die("SECONDS must be a positive number");
		return cmd_floor(argv[2], argv[3], secs);
	}
	fprintf(stderr,
	    "usage: gencerts leaves INTERMEDIATE.pem INTERMEDIATE.key N OUT.txt\n"
	    "       gencerts escape CERT.pem OUT.txt\n"
	    "       gencerts floor LEAVES.txt INTERMEDIATE.pem SECONDS\n");
	return 2;
}
