/*
 * fuzz_pki.h: what the certificate, CRL, OCSP and request harnesses share:
 * the committed PKI of gen-corpus.sh (tests/fuzz/pki, FUZZ_PKI_DIR set by
 * CMake), the decision time, a scratch file in /dev/shm and a quiet stderr.
 * Static functions: each harness is one translation unit.
 */
#ifndef AUTHD_FUZZ_PKI_H
#define AUTHD_FUZZ_PKI_H

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "config.h"

#ifndef FUZZ_PKI_DIR
#error "FUZZ_PKI_DIR: the directory of tests/fuzz/pki"
#endif

/* 2027-01-01T00:00:00Z: inside every validity period of the fuzz PKI */
#define FUZZ_AT		 ((time_t)1798761600)

static void
fuzz_pki_path(const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", FUZZ_PKI_DIR, name);
}

/* cfg trusts pki/root.pem, with pki/ca.pem as intermediate. */
static void
fuzz_pki_trust(struct config *cfg)
{
	char	 path[512];

	fuzz_pki_path("root.pem", path, sizeof(path));
	config_set_flag(cfg, "trust", path);
	fuzz_pki_path("ca.pem", path, sizeof(path));
	config_set_flag(cfg, "intermediates", path);
}

static X509 *
fuzz_pki_cert(const char *name)
{
	char	 path[512];
	FILE	*f;
	X509	*x;

	fuzz_pki_path(name, path, sizeof(path));
	if ((f = fopen(path, "r")) == NULL ||
	    (x = PEM_read_X509(f, NULL, NULL, NULL)) == NULL) {
		fprintf(stderr, "fuzz: cannot read %s (tests/fuzz/gen-corpus.sh "
		    "makes it)\n", path);
		abort();
	}
	fclose(f);
	return x;
}

static EVP_PKEY *
fuzz_pki_key(const char *name)
{
	char		 path[512];
	FILE		*f;
	EVP_PKEY	*k;

	fuzz_pki_path(name, path, sizeof(path));
	if ((f = fopen(path, "r")) == NULL ||
	    (k = PEM_read_PrivateKey(f, NULL, NULL, NULL)) == NULL) {
		fprintf(stderr, "fuzz: cannot read %s\n", path);
		abort();
	}
	fclose(f);
	return k;
}

/* Write data to /dev/shm/authd-fuzz-<tag>-<pid>; the path in buf. */
static int
fuzz_scratch_write(const char *tag, const void *data, size_t size, char *buf,
    size_t len)
{
	FILE	*f;

	snprintf(buf, len, "/dev/shm/authd-fuzz-%s-%ld", tag, (long)getpid());
	if ((f = fopen(buf, "w")) == NULL)
		return -1;
	if (size > 0 && fwrite(data, 1, size, f) != size) {
		fclose(f);
		return -1;
	}
	return fclose(f);
}

/*
 * Load errors are printed to stderr ("origin: message"), thousands a
 * second under the fuzzer: fuzz_quiet(1) sends them to /dev/null until
 * fuzz_quiet(0).  FUZZ_VERBOSE=1 in the environment keeps them.
 */
static void
fuzz_quiet(int on)
{
	static int	 saved = -1;
	int		 devnull;

	if (getenv("FUZZ_VERBOSE") != NULL)
		return;
	fflush(stderr);
	if (on && saved < 0) {
		saved = dup(2);
		if ((devnull = open("/dev/null", O_WRONLY)) >= 0) {
			dup2(devnull, 2);
			close(devnull);
		}
	} else if (!on && saved >= 0) {
		dup2(saved, 2);
		close(saved);
		saved = -1;
	}
}

#endif
