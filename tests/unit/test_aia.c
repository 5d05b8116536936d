/*
 * test_aia.c PKI_DIR: caIssuers answers (aia_parse), the URL a certificate
 * names (aia_url) and the ca_issuers_url allow-list (aia_allowed), with the
 * aia/ fixtures of tests/pki/gen.sh.  The fetching itself is
 * tests/integration/ca-issuers.sh's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>

#include "aia.h"
#include "t.h"

static const char	*pki;

/* The bytes of a fixture file; exits when missing. */
static unsigned char *
slurp(const char *name, size_t *len)
{
	char		 path[512];
	unsigned char	*buf;
	FILE		*f;
	long		 n;

	snprintf(path, sizeof(path), "%s/%s", pki, name);
	if ((f = fopen(path, "rb")) == NULL || fseek(f, 0, SEEK_END) != 0 ||
	    (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0 ||
	    (buf = malloc((size_t)n + 1)) == NULL ||
	    fread(buf, 1, (size_t)n, f) != (size_t)n) {
		fprintf(stderr, "cannot read fixture %s\n", path);
		exit(2);
	}
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static X509 *
load_cert(const char *name)
{
	char	 path[512];
	FILE	*f;
	X509	*x;

	snprintf(path, sizeof(path), "%s/%s", pki, name);
	if ((f = fopen(path, "r")) == NULL ||
	    (x = PEM_read_X509(f, NULL, NULL, NULL)) == NULL) {
		fprintf(stderr, "cannot read fixture %s\n", path);
		exit(2);
	}
	fclose(f);
	return x;
}

/* DER of a PEM fixture, malloc'd. */
static unsigned char *
der_of(const char *name, size_t *len)
{
	X509		*x = load_cert(name);
	unsigned char	*der = NULL;
	int		 n = i2d_X509(x, &der);

	X509_free(x);
	if (n <= 0)
		exit(2);
	*len = (size_t)n;
	return der;
}

static void
test_parse(void)
{
	static const struct {
		const char	*file;		/* under PKI_DIR */
		int		 der_of_pem;	/* convert a PEM fixture */
		int		 want;		/* certificates kept, 0: refused */
		const char	*why;		/* part of the reason */
	} cases[] = {
		{ "aia/www/ica.der", 0, 1, NULL },
		{ "aia/www/ica.p7c", 0, 1, NULL },
		{ "aia/www/foreign.p7c", 0, 2, NULL },
		{ "aia/www/garbage.bin", 0, 0, "neither a DER certificate" },
		{ "aia/www/large.bin", 0, 0, "300020 bytes" },
		{ "aia/der.pem", 0, 0, "neither a DER certificate" },	/* PEM */
		{ "aia/der.pem", 1, 0, "no CA certificate" },	/* a leaf */
		{ "aia/ica.pem", 1, 1, NULL },
	};
	STACK_OF(X509)	*sk;
	unsigned char	*buf, *trail;
	char		 why[256];
	size_t		 i, len;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		buf = cases[i].der_of_pem ? der_of(cases[i].file, &len) :
		    slurp(cases[i].file, &len);
		why[0] = '\0';
		sk = aia_parse(buf, len, why, sizeof(why));
		CHECK((cases[i].want == 0 && sk == NULL &&
		    strstr(why, cases[i].why) != NULL) ||
		    (cases[i].want > 0 && sk != NULL &&
		    sk_X509_num(sk) == cases[i].want), "%s%s: got %d "
		    "certificates (%s), want %d", cases[i].file,
		    cases[i].der_of_pem ? " as DER" : "", sk != NULL ?
		    sk_X509_num(sk) : 0, why, cases[i].want);
		sk_X509_pop_free(sk, X509_free);
		if (cases[i].want > 0) {
			/* the same with a byte after it, or one short */
			if ((trail = malloc(len + 1)) == NULL)
				exit(2);
			memcpy(trail, buf, len);
			trail[len] = 0;
			sk = aia_parse(trail, len + 1, why, sizeof(why));
			CHECK(sk == NULL, "%s with a trailing byte: accepted",
			    cases[i].file);
			sk_X509_pop_free(sk, X509_free);
			sk = aia_parse(trail, len - 1, why, sizeof(why));
			CHECK(sk == NULL, "%s one byte short: accepted",
			    cases[i].file);
			sk_X509_pop_free(sk, X509_free);
			free(trail);
		}
		if (cases[i].der_of_pem)
			OPENSSL_free(buf);
		else
			free(buf);
	}
	sk = aia_parse((const unsigned char *)"", 0, why, sizeof(why));
	CHECK(sk == NULL && strstr(why, "0 bytes") != NULL, "empty: %s", why);
}

/* A bundle of more CA certificates than are kept: the first AIA_MAX_CERTS. */
static void
test_caps(void)
{
	STACK_OF(X509)	*sk;
	PKCS7		*p7;
	X509		*ica = load_cert("aia/ica.pem");
	unsigned char	*der = NULL;
	char		 why[256] = "";
	int		 i, n;

	if ((p7 = PKCS7_new()) == NULL ||
	    PKCS7_set_type(p7, NID_pkcs7_signed) != 1 ||
	    PKCS7_content_new(p7, NID_pkcs7_data) != 1)
		exit(2);
	for (i = 0; i < AIA_MAX_CERTS + 8; i++)
		if (PKCS7_add_certificate(p7, ica) != 1)
			exit(2);
	if ((n = i2d_PKCS7(p7, &der)) <= 0)
		exit(2);
	sk = aia_parse(der, (size_t)n, why, sizeof(why));
	CHECK(sk != NULL && sk_X509_num(sk) == AIA_MAX_CERTS, "%d copies: kept "
	    "%d (%s), want %d", AIA_MAX_CERTS + 8, sk != NULL ?
	    sk_X509_num(sk) : 0, why, AIA_MAX_CERTS);
	sk_X509_pop_free(sk, X509_free);
	OPENSSL_free(der);
	PKCS7_free(p7);
	X509_free(ica);
}

static void
test_url(void)
{
	static const struct {
		const char	*file;
		const char	*want;	/* "" none */
		size_t		 len;	/* buffer */
	} cases[] = {
		{ "aia/der.pem", "http://aia.authd.test/ica.der", 256 },
		{ "aia/dead.pem", "http://127.0.0.1:9/ica.der", 256 },
		{ "aia/sub.pem", "http://aia.authd.test/ica.der", 256 },
		{ "client.pem", "", 256 },
		{ "aia/der.pem", "", 20 },	/* does not fit: not used */
	};
	char	 url[256];
	size_t	 i;
	X509	*x;
	int	 got;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		x = load_cert(cases[i].file);
		got = aia_url(x, url, cases[i].len);
		CHECK(got == (cases[i].want[0] != '\0') &&
		    strcmp(url, cases[i].want) == 0, "%s: got %d \"%s\", want "
		    "\"%s\"", cases[i].file, got, url, cases[i].want);
		X509_free(x);
	}
}

static void
test_allowed(void)
{
	static const struct {
		const char	*allow, *url;
		int		 want;
	} cases[] = {
		{ NULL, "http://anything/x", 1 },
		{ "http://pki.example.com/", "http://pki.example.com/ca.der", 1 },
		{ "http://pki.example.com/", "http://pki.example.com.evil/ca", 0 },
		{ "http://a/ http://pki.example.com/", "http://pki.example.com/x", 1 },
		{ "  http://a/\thttp://b/  ", "http://b/c", 1 },
		{ "http://a/", "http://b/c", 0 },
	};
	size_t	 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CHECK(aia_allowed(cases[i].allow, cases[i].url) ==
		    cases[i].want, "allow \"%s\", url %s: want %d",
		    cases[i].allow != NULL ? cases[i].allow : "(none)",
		    cases[i].url, cases[i].want);
}

int
main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: test_aia PKI_DIR\n");
		return 2;
	}
	pki = argv[1];
	test_parse();
	test_caps();
	test_url();
	test_allowed();
	return t_done();
}
