/*
 * test_verdict.c PKI_DIR: verdict_decide from header to answer, with the
 * fixtures of tests/pki/gen.sh: identities, every deny reason, hostile
 * input, the verdict cache, decision times and snapshot generations, and
 * a policy (in-memory and store-backed lists, shadow) cold and cached.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "cache.h"
#include "config.h"
#include "crlmeta.h"
#include "identity.h"
#include "ocsp.h"
#include "snapshot.h"
#include "store.h"
#include "verdict.h"
#include "verified.h"
#include "t.h"

#define DAY	 86400

static const char	*pki;

/* helpers */

static char *
fixture(const char *name, size_t *len)
{
	char	 path[512], *s;

	snprintf(path, sizeof(path), "%s/%s", pki, name);
	if ((s = t_read(path, len)) == NULL) {
		fprintf(stderr, "cannot read fixture %s\n", path);
		exit(2);
	}
	return s;
}

static X509 *
fixture_x509(const char *name)
{
	char	*pem;
	size_t	 len;
	BIO	*bio;
	X509	*x;

	pem = fixture(name, &len);
	bio = BIO_new_mem_buf(pem, (int)len);
	x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	BIO_free(bio);
	free(pem);
	if (x == NULL) {
		fprintf(stderr, "cannot parse fixture %s\n", name);
		exit(2);
	}
	return x;
}

/* DER of a fixture (caller frees with OPENSSL_free). */
static unsigned char *
fixture_der(const char *name, size_t *len)
{
	X509		*x = fixture_x509(name);
	unsigned char	*der = NULL;
	int		 n;

	n = i2d_X509(x, &der);
	X509_free(x);
	*len = n > 0 ? (size_t)n : 0;
	return der;
}

/* Every byte outside [A-Za-z0-9-._~] as %XX, as nginx would at worst. */
static char *
url_escape(const char *s, size_t len)
{
	static const char	 hex[] = "0123456789ABCDEF";
	char			*out = malloc(3 * len + 1), *o = out;
	size_t			 i;
	unsigned char		 c;

	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_' || c == '~')
			*o++ = (char)c;
		else {
			*o++ = '%';
			*o++ = hex[c >> 4];
			*o++ = hex[c & 15];
		}
	}
	*o = '\0';
	return out;
}

/* PEM armour around DER, 64 columns. */
static char *
armour(const unsigned char *der, size_t len)
{
	static const char begin[] = "-----BEGIN CERTIFICATE-----\n";
	static const char end[] = "-----END CERTIFICATE-----\n";
	char	*b64 = malloc(4 * ((len + 2) / 3) + 1), *out, *o;
	int	 n = EVP_EncodeBlock((unsigned char *)b64, der, (int)len), i;

	out = malloc((size_t)n + (size_t)n / 64 + sizeof(begin) + sizeof(end) + 1);
	o = out;
	memcpy(o, begin, sizeof(begin) - 1);
	o += sizeof(begin) - 1;
	for (i = 0; i < n; i += 64) {
		int k = n - i < 64 ? n - i : 64;

		memcpy(o, b64 + i, (size_t)k);
		o += k;
		*o++ = '\n';
	}
	memcpy(o, end, sizeof(end));
	free(b64);
	return out;
}

static const char *
reason_name(enum verdict_reason r)
{
	return verdict_reason_str(r);
}

/* The header nginx would send for a fixture, or a made-up input. */
enum input_kind {
	IN_FILE,	/* the fixture, URL-escaped */
	IN_FILE_PEM,	/* the fixture as PEM text (cert_is_pem) */
	IN_CONCAT,	/* two fixtures, URL-escaped */
	IN_TRUNCATED,	/* the first half of the fixture */
	IN_TRAILING,	/* the fixture's DER + 2 bytes, armoured */
	IN_CUT_DER,	/* the fixture's DER without its last 10 bytes */
	IN_FLIP_SIG,	/* the fixture's DER, last byte (signature) changed */
	IN_FLIP_TBS,	/* the fixture's DER, a subject byte changed */
	IN_LITERAL,	/* text as given (already escaped) */
	IN_NULL,	/* cert == NULL */
};

struct input {
	char	*buf;
	size_t	 len;
	int	 is_pem;
};

static void
make_input(enum input_kind kind, const char *a, const char *b,
    struct input *in)
{
	char		*pem, *pem2, *both, *arm;
	unsigned char	*der, *copy, *p;
	size_t		 len, len2, dlen;

	memset(in, 0, sizeof(*in));
	switch (kind) {
	case IN_FILE:
	case IN_FILE_PEM:
		pem = fixture(a, &len);
		if (kind == IN_FILE_PEM) {
			in->buf = pem;
			in->len = len;
			in->is_pem = 1;
			return;
		}
		in->buf = url_escape(pem, len);
		free(pem);
		break;
	case IN_CONCAT:
		pem = fixture(a, &len);
		pem2 = fixture(b, &len2);
		both = malloc(len + len2);
		memcpy(both, pem, len);
		memcpy(both + len, pem2, len2);
		in->buf = url_escape(both, len + len2);
		free(pem);
		free(pem2);
		free(both);
		break;
	case IN_TRUNCATED:
		pem = fixture(a, &len);
		in->buf = url_escape(pem, len / 2);
		free(pem);
		break;
	case IN_TRAILING:
	case IN_CUT_DER:
	case IN_FLIP_SIG:
	case IN_FLIP_TBS:
		der = fixture_der(a, &dlen);
		copy = malloc(dlen + 2);
		memcpy(copy, der, dlen);
		if (kind == IN_TRAILING) {
			copy[dlen] = 0x05;	/* an ASN.1 NULL */
			copy[dlen + 1] = 0x00;
			dlen += 2;
		} else if (kind == IN_CUT_DER)
			dlen -= 10;
		else if (kind == IN_FLIP_SIG)
			copy[dlen - 1] ^= 0x01;
		else if ((p = memmem(copy, dlen, "alice", 5)) != NULL)
			p[0] = 'A';	/* CN=Alice: the signature breaks */
		arm = armour(copy, dlen);
		in->buf = url_escape(arm, strlen(arm));
		free(arm);
		free(copy);
		OPENSSL_free(der);
		break;
	case IN_LITERAL:
		in->buf = strdup(a);
		break;
	case IN_NULL:
		return;
	}
	in->len = strlen(in->buf);
}

static void
decide(const struct snapshot *snap, struct cache *cache,
    const struct input *inp, const char *client_verify, time_t at,
    struct verdict *v)
{
	struct verdict_input	 in;

	memset(&in, 0, sizeof(in));
	in.cert = inp != NULL ? inp->buf : NULL;
	in.cert_len = inp != NULL ? inp->len : 0;
	in.cert_is_pem = inp != NULL ? inp->is_pem : 0;
	in.client_verify = client_verify;
	in.uri = "/";
	in.method = "GET";
	in.host = "example.org";
	verdict_decide(snap, cache, &in, at, v, NULL);
}

/* What identity_extract must give for a fixture, computed independently. */
struct expect_id {
	char	 subject[IDENTITY_DN_MAX];
	char	 serial[IDENTITY_SERIAL_MAX];
	char	 fingerprint[IDENTITY_FP_MAX];
	time_t	 nb, na;
};

static void
expect_identity(const char *name, struct expect_id *e)
{
	X509		*x = fixture_x509(name);
	unsigned char	*der = NULL, md[32];
	unsigned int	 mdlen = 0, i;
	BIGNUM		*bn;
	char		*hex;
	int		 n;

	n = i2d_X509(x, &der);
	EVP_Digest(der, (size_t)n, md, &mdlen, EVP_sha256(), NULL);
	for (i = 0; i < mdlen; i++)
		snprintf(e->fingerprint + 2 * i, 3, "%02x", md[i]);
	bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	hex = BN_bn2hex(bn);
	/* BN_bn2hex drops a leading zero nibble; nginx prints whole octets */
	snprintf(e->serial, sizeof(e->serial), "%s%s",
	    strlen(hex) % 2 ? "0" : "", hex);
	OPENSSL_free(hex);
	BN_free(bn);
	identity_time(X509_get0_notBefore(x), &e->nb);
	identity_time(X509_get0_notAfter(x), &e->na);
	e->subject[0] = '\0';
	OPENSSL_free(der);
	X509_free(x);
}

/* the snapshot */

static struct snapshot *
publish(const char *trust, const char *ints)
{
	struct config	 cfg;
	struct snapshot	*snap = NULL;
	char		 path[512];
	int		 rc;

	config_init(&cfg);
	snprintf(path, sizeof(path), "%s/%s", pki, trust);
	config_set_flag(&cfg, "trust", path);
	if (ints != NULL) {
		snprintf(path, sizeof(path), "%s/%s", pki, ints);
		config_set_flag(&cfg, "intermediates", path);
	}
	rc = snapshot_new(&cfg, &snap);
	CHECK(rc == 0 && snap != NULL, "snapshot_new(trust %s): rc %d", trust,
	    rc);
	config_cleanup(&cfg);
	if (snap == NULL)
		return NULL;
	snapshot_publish(snap);
	return snapshot_acquire();
}

/* the table */

struct vcase {
	const char		*name;
	enum input_kind		 kind;
	const char		*a, *b;
	const char		*client_verify;
	enum verdict_reason	 want;
	const char		*detail;	/* substring, or NULL */
};

static const struct vcase vcases[] = {
	{ "alice", IN_FILE, "client.pem", NULL, NULL, VERDICT_OK, "chain verified" },
	{ "alice, verify SUCCESS", IN_FILE, "client.pem", NULL, "SUCCESS", VERDICT_OK, NULL },
	{ "alice as PEM text", IN_FILE_PEM, "client.pem", NULL, NULL, VERDICT_OK, NULL },
	{ "bob", IN_FILE, "client2.pem", NULL, NULL, VERDICT_OK, NULL },
	{ "carol, no EKU", IN_FILE, "noeku.pem", NULL, NULL, VERDICT_OK, NULL },
	{ "expired", IN_FILE, "expired.pem", NULL, NULL, VERDICT_EXPIRED, "expired" },
	{ "expired, nginx says FAILED", IN_FILE, "expired.pem", NULL,
	    "FAILED:certificate has expired", VERDICT_EXPIRED, "expired" },
	{ "expired as PEM text", IN_FILE_PEM, "expired.pem", NULL, NULL, VERDICT_EXPIRED, NULL },
	{ "not yet valid", IN_FILE, "notyet.pem", NULL, NULL, VERDICT_NOT_YET_VALID, "not yet valid" },
	{ "server only", IN_FILE, "server-only.pem", NULL, NULL, VERDICT_WRONG_PURPOSE, "purpose" },
	{ "server certificate", IN_FILE, "server.pem", NULL, NULL, VERDICT_WRONG_PURPOSE, "purpose" },
	{ "mallory", IN_FILE, "other-client.pem", NULL, NULL, VERDICT_UNTRUSTED, "issuer" },
	{ "foreign root", IN_FILE, "other-root.pem", NULL, NULL, VERDICT_WRONG_PURPOSE, "CA certificate" },
	{ "intermediate as client", IN_FILE, "intermediate.pem", NULL, NULL, VERDICT_WRONG_PURPOSE, "CA certificate" },
	{ "root as client", IN_FILE, "root.pem", NULL, NULL, VERDICT_WRONG_PURPOSE, "CA certificate" },
	{ "root as PEM text", IN_FILE_PEM, "root.pem", NULL, NULL, VERDICT_WRONG_PURPOSE, NULL },
	/* nothing sent */
	{ "verify NONE, valid cert", IN_FILE, "client.pem", NULL, "NONE", VERDICT_NO_CERTIFICATE, NULL },
	{ "verify none", IN_FILE, "client.pem", NULL, "none", VERDICT_NO_CERTIFICATE, NULL },
	{ "cert NULL", IN_NULL, NULL, NULL, NULL, VERDICT_NO_CERTIFICATE, NULL },
	{ "cert NULL, verify SUCCESS", IN_NULL, NULL, NULL, "SUCCESS", VERDICT_NO_CERTIFICATE, NULL },
	{ "empty header", IN_LITERAL, "", NULL, NULL, VERDICT_NO_CERTIFICATE, NULL },
	/* hostile */
	{ "CSR", IN_FILE, "csr.pem", NULL, NULL, VERDICT_MALFORMED, "certificate request" },
	{ "private key", IN_FILE, "client.key", NULL, NULL, VERDICT_MALFORMED, "private key" },
	{ "private key as PEM text", IN_FILE_PEM, "client.key", NULL, NULL, VERDICT_MALFORMED, "private key" },
	{ "two certificates", IN_CONCAT, "client.pem", "client2.pem", NULL, VERDICT_MALFORMED, "more than one" },
	{ "leaf and its issuer", IN_FILE, "client-chain.pem", NULL, NULL, VERDICT_MALFORMED, "more than one" },
	{ "key after the certificate", IN_CONCAT, "client.pem", "client.key", NULL, VERDICT_MALFORMED, "more than one" },
	{ "truncated PEM", IN_TRUNCATED, "client.pem", NULL, NULL, VERDICT_MALFORMED, NULL },
	{ "not X.509", IN_LITERAL, "-----BEGIN%20CERTIFICATE-----%0AQUJD%0A-----END%20CERTIFICATE-----%0A",
	    NULL, NULL, VERDICT_MALFORMED, "not a valid X.509" },
	{ "DER + trailing bytes", IN_TRAILING, "client.pem", NULL, NULL, VERDICT_MALFORMED, "data after the certificate" },
	{ "DER cut short", IN_CUT_DER, "client.pem", NULL, NULL, VERDICT_MALFORMED, "not a valid X.509" },
	{ "%00", IN_LITERAL, "-----BEGIN%20CERTIFICATE-----%0AQUJD%00%0A-----END%20CERTIFICATE-----%0A",
	    NULL, NULL, VERDICT_MALFORMED, "NUL" },
	{ "bad escape", IN_LITERAL, "-----BEGIN%20CERTIFICATE-----%0AQU%ZZ%0A-----END%20CERTIFICATE-----%0A",
	    NULL, NULL, VERDICT_MALFORMED, "escape" },
	{ "whitespace", IN_LITERAL, "%20%0A", NULL, NULL, VERDICT_MALFORMED, "whitespace" },
	{ "garbage", IN_LITERAL, "hello", NULL, NULL, VERDICT_MALFORMED, NULL },
	{ "raw DER bytes", IN_LITERAL, "%30%82%02%10%30%82", NULL, NULL, VERDICT_MALFORMED, "no BEGIN" },
	/* parses, but the signature does not hold */
	{ "signature changed", IN_FLIP_SIG, "client.pem", NULL, NULL, VERDICT_UNTRUSTED, NULL },
	{ "subject changed", IN_FLIP_TBS, "client.pem", NULL, NULL, VERDICT_UNTRUSTED, "signature" },
};

static void
test_table(struct snapshot *snap)
{
	const struct vcase	*c;
	struct verdict		 v;
	struct input		 in;
	size_t			 i;

	for (i = 0; i < sizeof(vcases) / sizeof(vcases[0]); i++) {
		c = &vcases[i];
		make_input(c->kind, c->a, c->b, &in);
		memset(&v, 0x5a, sizeof(v));
		decide(snap, NULL, &in, c->client_verify, 0, &v);
		CHECK(v.reason == c->want, "%s (%s%s%s, verify %s): expected %s, "
		    "got %s (%s)", c->name, c->a ? c->a : "-", c->b ? "+" : "",
		    c->b ? c->b : "", c->client_verify ? c->client_verify : "-",
		    reason_name(c->want), reason_name(v.reason), v.detail);
		if (c->detail != NULL)
			CHECK(t_contains(v.detail, c->detail),
			    "%s: detail expected to contain \"%s\", got \"%s\"",
			    c->name, c->detail, v.detail);
		CHECK(v.cached == 0, "%s: cached without a cache", c->name);
		CHECK(v.has_identity == (c->want != VERDICT_MALFORMED &&
		    c->want != VERDICT_NO_CERTIFICATE),
		    "%s: has_identity %d for %s", c->name, v.has_identity,
		    reason_name(v.reason));
		CHECK(verdict_reason_status(v.reason) ==
		    (c->want == VERDICT_OK ? 200 : 401),
		    "%s: HTTP status %d", c->name,
		    verdict_reason_status(v.reason));
		free(in.buf);
	}
}

/* alice's identity, then the cache */
static void
test_identity_and_cache(struct snapshot *snap)
{
	static const char *const files[] = { "client.pem", "expired.pem",
	    "server-only.pem", "other-client.pem", "notyet.pem" };
	static const enum verdict_reason reasons[] = { VERDICT_OK,
	    VERDICT_EXPIRED, VERDICT_WRONG_PURPOSE, VERDICT_UNTRUSTED,
	    VERDICT_NOT_YET_VALID };
	struct cache		*cache = cache_new(1000);
	struct expect_id	 e;
	struct verdict		 v1, v2;
	struct input		 in;
	size_t			 i, n;

	expect_identity("client.pem", &e);
	make_input(IN_FILE, "client.pem", NULL, &in);
	decide(snap, cache, &in, NULL, 0, &v1);
	CHECK(v1.reason == VERDICT_OK && v1.cached == 0 && v1.has_identity == 1,
	    "alice, first: expected ok, not cached; got %s cached %d",
	    reason_name(v1.reason), v1.cached);
	CHECK(strcmp(v1.id.subject, "CN=alice,OU=Engineering,O=Example Corp") == 0,
	    "alice subject: got %s", T_STR(v1.id.subject));
	CHECK(strcmp(v1.id.issuer,
	    "CN=authd Test Intermediate CA,O=authd tests") == 0,
	    "alice issuer: got %s", T_STR(v1.id.issuer));
	CHECK(strcmp(v1.id.fingerprint, e.fingerprint) == 0,
	    "alice fingerprint: expected %s, got %s", e.fingerprint,
	    v1.id.fingerprint);
	CHECK(strcmp(v1.id.serial, e.serial) == 0 &&
	    strspn(v1.id.serial, "0123456789ABCDEF") == strlen(v1.id.serial),
	    "alice serial: expected %s (uppercase hex), got %s", e.serial,
	    v1.id.serial);
	CHECK(v1.id.not_before == e.nb && v1.id.not_after == e.na,
	    "alice validity: expected %lld..%lld, got %lld..%lld",
	    (long long)e.nb, (long long)e.na, (long long)v1.id.not_before,
	    (long long)v1.id.not_after);
	CHECK(cache_count(cache) == 1, "after alice: %zu cache entries",
	    cache_count(cache));

	decide(snap, cache, &in, NULL, 0, &v2);
	CHECK(v2.reason == VERDICT_OK && v2.cached == 1 && v2.has_identity == 1,
	    "alice, second: expected ok from the cache, got %s cached %d",
	    reason_name(v2.reason), v2.cached);
	CHECK(strcmp(v1.id.subject, v2.id.subject) == 0 &&
	    strcmp(v1.id.issuer, v2.id.issuer) == 0 &&
	    strcmp(v1.id.serial, v2.id.serial) == 0 &&
	    strcmp(v1.id.fingerprint, v2.id.fingerprint) == 0 &&
	    v1.id.not_before == v2.id.not_before &&
	    v1.id.not_after == v2.id.not_after &&
	    strcmp(v1.detail, v2.detail) == 0,
	    "alice from the cache differs: %s / %s / %s / %s", v2.id.subject,
	    v2.id.issuer, v2.id.serial, v2.id.fingerprint);

	/* the same certificate as PEM text is the same key */
	free(in.buf);
	make_input(IN_FILE_PEM, "client.pem", NULL, &in);
	decide(snap, cache, &in, NULL, 0, &v2);
	CHECK(v2.reason == VERDICT_OK && v2.cached == 1,
	    "alice as PEM text: expected a cache hit, got %s cached %d",
	    reason_name(v2.reason), v2.cached);
	/* NONE wins over a cached allow */
	decide(snap, cache, &in, "NONE", 0, &v2);
	CHECK(v2.reason == VERDICT_NO_CERTIFICATE && v2.cached == 0,
	    "cached alice, verify NONE: got %s cached %d",
	    reason_name(v2.reason), v2.cached);
	free(in.buf);

	/* denies are cached too, with their reason */
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		make_input(IN_FILE, files[i], NULL, &in);
		decide(snap, cache, &in, NULL, 0, &v1);
		decide(snap, cache, &in, NULL, 0, &v2);
		CHECK(v1.reason == reasons[i] && v2.reason == reasons[i] &&
		    v2.cached == 1 && strcmp(v1.detail, v2.detail) == 0 &&
		    strcmp(v1.id.subject, v2.id.subject) == 0,
		    "%s twice: expected %s then %s cached, got %s, %s cached %d",
		    files[i], reason_name(reasons[i]), reason_name(reasons[i]),
		    reason_name(v1.reason), reason_name(v2.reason), v2.cached);
		free(in.buf);
	}

	/* malformed input is never cached */
	n = cache_count(cache);
	for (i = 0; i < 2; i++) {
		make_input(i == 0 ? IN_LITERAL : IN_TRAILING, i == 0 ?
		    "-----BEGIN%20CERTIFICATE-----%0AQUJD%0A-----END%20"
		    "CERTIFICATE-----%0A" : "client.pem", NULL, &in);
		decide(snap, cache, &in, NULL, 0, &v1);
		decide(snap, cache, &in, NULL, 0, &v2);
		CHECK(v1.reason == VERDICT_MALFORMED &&
		    v2.reason == VERDICT_MALFORMED && v2.cached == 0 &&
		    cache_count(cache) == n, "malformed %zu twice: got %s, %s "
		    "cached %d, %zu entries (was %zu)", i,
		    reason_name(v1.reason), reason_name(v2.reason), v2.cached,
		    cache_count(cache), n);
		free(in.buf);
	}
	cache_free(&cache);
}

/* a decision time: no cache read or written, the clock moved */
static void
test_at(struct snapshot *snap)
{
	struct cache		*cache = cache_new(1000);
	struct expect_id	 alice, old;
	struct verdict		 v;
	struct input		 client, expired;
	time_t			 now = time(NULL);
	STACK_OF(X509)		*chain = NULL;
	struct verdict_input	 vin;

	expect_identity("client.pem", &alice);
	expect_identity("expired.pem", &old);
	make_input(IN_FILE, "client.pem", NULL, &client);
	make_input(IN_FILE, "expired.pem", NULL, &expired);

	decide(snap, cache, &client, NULL, now, &v);
	CHECK(v.reason == VERDICT_OK && v.cached == 0 && cache_count(cache) == 0,
	    "alice at now: expected ok, nothing cached; got %s, cached %d, %zu "
	    "entries", reason_name(v.reason), v.cached, cache_count(cache));
	decide(snap, cache, &client, NULL, 0, &v);
	CHECK(v.reason == VERDICT_OK && v.cached == 0 && cache_count(cache) == 1,
	    "alice at 0 after at=now: expected ok, not cached, then stored; "
	    "got %s, cached %d, %zu entries", reason_name(v.reason), v.cached,
	    cache_count(cache));

	/* a cached allow does not answer for another time */
	decide(snap, cache, &client, NULL, now + 730 * DAY, &v);
	CHECK(v.reason == VERDICT_EXPIRED && v.cached == 0,
	    "alice 2 years ahead (an allow cached): expected expired, got %s "
	    "cached %d", reason_name(v.reason), v.cached);
	decide(snap, cache, &client, NULL, alice.nb - DAY, &v);
	CHECK(v.reason == VERDICT_NOT_YET_VALID && v.cached == 0,
	    "alice at notBefore-1d: expected not-yet-valid, got %s",
	    reason_name(v.reason));
	decide(snap, cache, &client, NULL, alice.na + 1, &v);
	CHECK(v.reason == VERDICT_EXPIRED, "alice at notAfter+1s: got %s",
	    reason_name(v.reason));
	decide(snap, cache, &client, NULL, alice.na - 1, &v);
	CHECK(v.reason == VERDICT_OK, "alice at notAfter-1s: got %s",
	    reason_name(v.reason));

	/* the expired certificate inside its validity, a cached deny aside */
	decide(snap, cache, &expired, NULL, 0, &v);
	CHECK(v.reason == VERDICT_EXPIRED, "expired now: got %s",
	    reason_name(v.reason));
	decide(snap, cache, &expired, NULL, old.nb + DAY, &v);
	CHECK(v.reason == VERDICT_OK && v.cached == 0,
	    "expired at its notBefore+1d (a deny cached): expected ok, got %s "
	    "cached %d (%s)", reason_name(v.reason), v.cached, v.detail);
	decide(snap, cache, &client, NULL, old.nb + DAY, &v);
	CHECK(v.reason == VERDICT_NOT_YET_VALID,
	    "alice when the expired one was valid: got %s",
	    reason_name(v.reason));

	/* asking for the chain takes the full path, not the cache */
	memset(&vin, 0, sizeof(vin));
	vin.cert = client.buf;
	vin.cert_len = client.len;
	verdict_decide(snap, cache, &vin, 0, &v, &chain);
	CHECK(v.reason == VERDICT_OK && v.cached == 0 && chain != NULL &&
	    sk_X509_num(chain) == 3, "alice with chain: expected ok, not "
	    "cached, 3 certificates; got %s cached %d, %d", reason_name(v.reason),
	    v.cached, chain ? sk_X509_num(chain) : -1);
	sk_X509_pop_free(chain, X509_free);
	chain = NULL;
	vin.cert = expired.buf;
	vin.cert_len = expired.len;
	verdict_decide(snap, cache, &vin, old.nb + DAY, &v, &chain);
	CHECK(v.reason == VERDICT_OK && chain != NULL && sk_X509_num(chain) == 3,
	    "expired at its notBefore+1d with chain: got %s, %d certificates",
	    reason_name(v.reason), chain ? sk_X509_num(chain) : -1);
	sk_X509_pop_free(chain, X509_free);
	chain = NULL;
	vin.cert = "QUJD";
	vin.cert_len = 4;
	verdict_decide(snap, cache, &vin, 0, &v, &chain);
	CHECK(v.reason == VERDICT_MALFORMED && chain == NULL,
	    "malformed with chain: got %s, chain %p", reason_name(v.reason),
	    (void *)chain);

	free(client.buf);
	free(expired.buf);
	cache_free(&cache);
}

/* request threads: shared snapshot and cache, per-thread buffers */
#define NTHREADS	 4
#define NITER		 300

struct worker {
	struct cache	*cache;
	struct input	*inputs;	/* alice, mallory, expired, hostile, big */
	unsigned int	 wrong;
};

static void *
work(void *arg)
{
	static const enum verdict_reason want[] = { VERDICT_OK,
	    VERDICT_UNTRUSTED, VERDICT_EXPIRED, VERDICT_MALFORMED,
	    VERDICT_MALFORMED };
	struct worker	*w = arg;
	struct snapshot	*snap;
	struct verdict	 v;
	unsigned int	 i, k;

	for (i = 0; i < NITER; i++) {
		k = i % 5;
		snap = snapshot_acquire();
		decide(snap, w->cache, &w->inputs[k], NULL, 0, &v);
		if (v.reason != want[k] || (k == 0 && strcmp(v.id.subject,
		    "CN=alice,OU=Engineering,O=Example Corp") != 0))
			w->wrong++;
		snapshot_release(snap);
	}
	return NULL;
}

static void
test_threads(void)
{
	struct worker	 w[NTHREADS];
	pthread_t	 th[NTHREADS];
	struct input	 inputs[5];
	struct cache	*cache = cache_new(1000);
	unsigned int	 wrong = 0;
	int		 i, started = 0;
	size_t		 n = 200 * 1024;

	make_input(IN_FILE, "client.pem", NULL, &inputs[0]);
	make_input(IN_FILE, "other-client.pem", NULL, &inputs[1]);
	make_input(IN_FILE, "expired.pem", NULL, &inputs[2]);
	make_input(IN_CONCAT, "client.pem", "client2.pem", &inputs[3]);
	inputs[4].buf = malloc(n);	/* a 200 kB header */
	memset(inputs[4].buf, 'A', n);
	inputs[4].len = n;
	inputs[4].is_pem = 0;
	for (i = 0; i < NTHREADS; i++) {
		w[i].cache = cache;
		w[i].inputs = inputs;
		w[i].wrong = 0;
		if (pthread_create(&th[i], NULL, work, &w[i]) == 0)
			started++;
	}
	CHECK(started == NTHREADS, "started %d of %d threads", started,
	    NTHREADS);
	for (i = 0; i < started; i++) {
		pthread_join(th[i], NULL);
		wrong += w[i].wrong;
	}
	CHECK(wrong == 0, "threads: %u of %d decisions wrong", wrong,
	    started * NITER);
	for (i = 0; i < 5; i++)
		free(inputs[i].buf);
	cache_free(&cache);
}

/* reasons: strings and statuses from the one list */
static void
test_reasons(void)
{
	static const struct {
		enum verdict_reason	 r;
		const char		*str;
		int			 status;
	} cases[] = {
		{ VERDICT_OK, "ok", 200 },
		{ VERDICT_NO_CERTIFICATE, "no-certificate", 401 },
		{ VERDICT_MALFORMED, "malformed-certificate", 401 },
		{ VERDICT_UNTRUSTED, "untrusted", 401 },
		{ VERDICT_EXPIRED, "expired", 401 },
		{ VERDICT_NOT_YET_VALID, "not-yet-valid", 401 },
		{ VERDICT_WRONG_PURPOSE, "wrong-purpose", 401 },
		{ VERDICT_INTERNAL_ERROR, "internal-error", 401 },
		{ VERDICT_NREASONS, "internal-error", 401 },
		{ (enum verdict_reason)-1, "internal-error", 401 },
		{ (enum verdict_reason)1000, "internal-error", 401 },
	};
	size_t	 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CHECK(strcmp(verdict_reason_str(cases[i].r), cases[i].str) == 0 &&
		    verdict_reason_status(cases[i].r) == cases[i].status,
		    "reason %d: expected %s/%d, got %s/%d", (int)cases[i].r,
		    cases[i].str, cases[i].status,
		    verdict_reason_str(cases[i].r),
		    verdict_reason_status(cases[i].r));
}

/* the policy, enforced per request, cold and from the cache */

/*
 * The enforced policy and its shadow.  Line numbers matter: the table
 * below names rules by them.
 */
static const char policy_text[] =
"# authd test policy: line numbers are part of the test\n"		/* 1 */
"list lost file \"lost.txt\"\n"						/* 2 */
"ruleset default {\n"							/* 3 */
"  deny  fingerprint in lost reason \"reported-lost\"\n"		/* 4 */
"  allow path == \"/days\" set X-Days-Left = days_left\n"		/* 5 */
"  deny  days_left < 30 reason \"renew-soon\"\n"			/* 6 */
"  allow path prefix \"/admin/\" and subject.OU == \"Admins\"\n"	/* 7 */
"        set X-Device-Id = subject.CN set X-Email = san.email\n"	/* 8 */
"  deny  path prefix \"/admin/\" reason \"not-admin\"\n"		/* 9 */
"  allow path prefix \"/api/\" and method == \"GET\" and\n"		/* 10 */
"        san.uri ~ \"^spiffe://example\\.org/ns/prod/\"\n"		/* 11 */
"        set X-Device-Id = subject.CN set X-Spiffe-Id = san.uri\n"	/* 12 */
"  deny  path ~ \"^/(a+)+$\" reason \"never\"\n"			/* 13 */
"  allow path == \"/open\" and host == \"api.example.com\"\n"		/* 14 */
"}\n"									/* 15 */
"ruleset any {\n"							/* 16 */
"  allow true set X-Device-Id = subject.CN\n"				/* 17 */
"}\n"									/* 18 */
"ruleset prime {\n"							/* 19 */
"  deny true reason \"prime\"\n"					/* 20 */
"}\n";									/* 21 */

static const char shadow_text[] =
"list lost file \"lost.txt\"\n"						/* 1 */
"ruleset default {\n"							/* 2 */
"  deny  fingerprint in lost reason \"reported-lost\"\n"		/* 3 */
"  allow path prefix \"/api/\"\n"					/* 4 */
"  deny  path == \"/admin/other\" reason \"shadow-reason\"\n"		/* 5 */
"  deny  path prefix \"/admin/\" reason \"not-admin\"\n"		/* 6 */
"  allow path == \"/days\"\n"						/* 7 */
"}\n"									/* 8 */
"ruleset any {\n"							/* 9 */
"  allow true\n"								/* 10 */
"}\n"									/* 11 */
"ruleset prime {\n"							/* 12 */
"  deny true reason \"prime\"\n"					/* 13 */
"}\n";									/* 14 */

struct phdr {
	const char	*name, *value;
};

struct pcase {
	const char		*name;
	const char		*file;		/* fixture */
	const char		*uri, *method, *host, *ruleset;
	long			 before_na;	/* at = notAfter - this; 0: at 0 */
	enum verdict_reason	 want;
	const char		*text;		/* verdict_reason_text */
	int			 status;
	int			 line;		/* of the rule; 0 none, -1 any */
	int			 applied;	/* policy_applied */
	int			 shadow;	/* shadow_differs */
	struct phdr		 hdr[3];	/* set headers, in order */
};

#define SPIFFE_ALICE	 "spiffe://example.org/ns/prod/sa/alice"
#define AAAB		 "/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab"

static const struct pcase pcases[] = {
	/* allow, with set headers */
	{ "alice GET /api/", "client.pem", "/api/v1", "GET", "api.example.com",
	    NULL, 0, VERDICT_OK, "ok", 200, 10, 1, 0,
	    { { "X-Device-Id", "alice" }, { "X-Spiffe-Id", SPIFFE_ALICE } } },
	{ "alice GET /api/, ruleset \"\"", "client.pem", "/api/v1?x=1", "GET",
	    "api.example.com", "", 0, VERDICT_OK, "ok", 200, 10, 1, 0,
	    { { "X-Device-Id", "alice" }, { "X-Spiffe-Id", SPIFFE_ALICE } } },
	{ "bob GET /api/", "client2.pem", "/api/x", "GET", NULL, "default", 0,
	    VERDICT_OK, "ok", 200, 10, 1, 0,
	    { { "X-Device-Id", "bob" },
	      { "X-Spiffe-Id", "spiffe://example.org/ns/prod/sa/bob" } } },
	{ "bob /admin/", "client2.pem", "/admin/x", "GET", NULL, NULL, 0,
	    VERDICT_OK, "ok", 200, 7, 1, 1,
	    { { "X-Device-Id", "bob" }, { "X-Email", "bob@example.com" } } },
	{ "alice, ruleset any", "client.pem", "/anything", "DELETE", NULL,
	    "any", 0, VERDICT_OK, "ok", 200, 17, 1, 0,
	    { { "X-Device-Id", "alice" } } },
	{ "alice /open, host in another case", "client.pem", "/open", "GET",
	    "API.Example.COM", NULL, 0, VERDICT_OK, "ok", 200, 14, 1, 1, { { 0 } } },
	/* deny rules with their own reason */
	{ "alice /admin/", "client.pem", "/admin/x", "GET", NULL, NULL, 0,
	    VERDICT_POLICY_DENY, "not-admin", 403, 9, 1, 0, { { 0 } } },
	/*
	 * Both deny with 403 but with different reasons ("not-admin"
	 * enforced, "shadow-reason" in the shadow): X-Authd-Reason would
	 * differ, so the shadow differs.
	 */
	{ "alice /admin/other: same status, other reason in the shadow",
	    "client.pem", "/admin/other", "GET", NULL, NULL, 0,
	    VERDICT_POLICY_DENY, "not-admin", 403, 9, 1, 1, { { 0 } } },
	{ "carol, fingerprint in lost", "noeku.pem", "/api/v1", "GET", NULL,
	    NULL, 0, VERDICT_POLICY_DENY, "reported-lost", 403, 4, 1, 0, { { 0 } } },
	{ "carol, fingerprint in lost, ruleset any", "noeku.pem", "/x", "GET",
	    NULL, "any", 0, VERDICT_OK, "ok", 200, 17, 1, 0,
	    { { "X-Device-Id", "carol" } } },
	/* the path as nginx routes it */
	{ "alice /%61dmin/x is /admin/x", "client.pem", "/%61dmin/x", "GET",
	    NULL, NULL, 0, VERDICT_POLICY_DENY, "not-admin", 403, 9, 1, 0, { { 0 } } },
	{ "bob /%61dmin/x is /admin/x", "client2.pem", "/%61dmin/x", "GET",
	    NULL, NULL, 0, VERDICT_OK, "ok", 200, 7, 1, 1,
	    { { "X-Device-Id", "bob" }, { "X-Email", "bob@example.com" } } },
	{ "alice https://host/%61dmin/x", "client.pem",
	    "https://evil.example/%61dmin/x", "GET", NULL, NULL, 0,
	    VERDICT_POLICY_DENY, "not-admin", 403, 9, 1, 0, { { 0 } } },
	{ "alice /public/../admin/x", "client.pem", "/public/../admin/x",
	    "GET", NULL, NULL, 0, VERDICT_POLICY_DENY, "not-admin", 403, 9, 1,
	    0, { { 0 } } },
	{ "alice //api//v1", "client.pem", "//api//v1", "GET", NULL, NULL, 0,
	    VERDICT_OK, "ok", 200, 10, 1, 0,
	    { { "X-Device-Id", "alice" }, { "X-Spiffe-Id", SPIFFE_ALICE } } },
	/* a path that cannot be normalised denies, even past allow true */
	{ "/%zz under allow true", "client.pem", "/%zz", "GET", NULL, "any", 0,
	    VERDICT_POLICY_DENY, "policy-deny", 403, -1, 1, 0, { { 0 } } },
	{ "/.. under allow true", "client.pem", "/..", "GET", NULL, "any", 0,
	    VERDICT_POLICY_DENY, "policy-deny", 403, -1, 1, 0, { { 0 } } },
	{ "/a/../.. under allow true", "client.pem", "/a/../..", "GET", NULL,
	    "any", 0, VERDICT_POLICY_DENY, "policy-deny", 403, -1, 1, 0, { { 0 } } },
	{ "/%00 under allow true", "client.pem", "/%00", "GET", NULL, "any", 0,
	    VERDICT_POLICY_DENY, "policy-deny", 403, -1, 1, 0, { { 0 } } },
	{ "relative path under allow true", "client.pem", "api/v1", "GET",
	    NULL, "any", 0, VERDICT_POLICY_DENY, "policy-deny", 403, -1, 1, 0,
	    { { 0 } } },
	{ "no URI under allow true", "client.pem", NULL, "GET", NULL, "any", 0,
	    VERDICT_POLICY_DENY, "policy-deny", 403, -1, 1, 0, { { 0 } } },
	/* no rule, no rule set */
	{ "alice POST /api/: no rule", "client.pem", "/api/v1", "POST", NULL,
	    NULL, 0, VERDICT_NO_MATCHING_RULE, "no-matching-rule", 403, 0, 1, 1,
	    { { 0 } } },
	{ "alice /open, other host: no rule", "client.pem", "/open", "GET",
	    "evil.example.com", NULL, 0, VERDICT_NO_MATCHING_RULE,
	    "no-matching-rule", 403, 0, 1, 0, { { 0 } } },
	{ "unknown rule set", "client.pem", "/api/v1", "GET", NULL, "nope", 0,
	    VERDICT_POLICY_DENY, "policy-deny", 403, 0, 1, 0, { { 0 } } },
	{ "rule set name case", "client.pem", "/api/v1", "GET", NULL, "Default",
	    0, VERDICT_POLICY_DENY, "policy-deny", 403, 0, 1, 0, { { 0 } } },
	/* a regex past its match limit: fail closed */
	{ "match limit", "client.pem", AAAB, "GET", NULL, NULL, 0,
	    VERDICT_POLICY_DENY, "policy-error", 403, 13, 1, 1, { { 0 } } },
	/* days_left at the decision time */
	{ "days_left 10", "client.pem", "/days", "GET", NULL, NULL,
	    10 * DAY + 1, VERDICT_OK, "ok", 200, 5, 1, 0,
	    { { "X-Days-Left", "10" } } },
	{ "days_left 0, last second", "client.pem", "/days", "GET", NULL, NULL,
	    1, VERDICT_OK, "ok", 200, 5, 1, 0, { { "X-Days-Left", "0" } } },
	{ "days_left 29: renew-soon", "client.pem", "/api/v1", "GET", NULL,
	    NULL, 29 * DAY + 10, VERDICT_POLICY_DENY, "renew-soon", 403, 6, 1,
	    1, { { 0 } } },
	{ "days_left 30: not yet", "client.pem", "/api/v1", "GET", NULL, NULL,
	    30 * DAY + 10, VERDICT_OK, "ok", 200, 10, 1, 0,
	    { { "X-Device-Id", "alice" }, { "X-Spiffe-Id", SPIFFE_ALICE } } },
	/* a bad certificate: the policy is not asked */
	{ "expired", "expired.pem", "/api/v1", "GET", NULL, "any", 0,
	    VERDICT_EXPIRED, "expired", 401, 0, 0, 0, { { 0 } } },
	{ "not yet valid", "notyet.pem", "/api/v1", "GET", NULL, "any", 0,
	    VERDICT_NOT_YET_VALID, "not-yet-valid", 401, 0, 0, 0, { { 0 } } },
	{ "server certificate", "server.pem", "/api/v1", "GET", NULL, "any", 0,
	    VERDICT_WRONG_PURPOSE, "wrong-purpose", 401, 0, 0, 0, { { 0 } } },
	{ "mallory", "other-client.pem", "/api/v1", "GET", NULL, "any", 0,
	    VERDICT_UNTRUSTED, "untrusted", 401, 0, 0, 0, { { 0 } } },
	{ "alice past notAfter", "client.pem", "/days", "GET", NULL, "any",
	    -1, VERDICT_EXPIRED, "expired", 401, 0, 0, 0, { { 0 } } },
};

static size_t
phdr_count(const struct pcase *c)
{
	size_t	 n = 0;

	while (n < sizeof(c->hdr) / sizeof(c->hdr[0]) && c->hdr[n].name != NULL)
		n++;
	return n;
}

/* Everything a row says about v; mode and pass name the run. */
static void
check_pcase(const struct pcase *c, const struct verdict *v,
    const char *polpath, const char *mode, int pass, int want_cached)
{
	char		 rule[600];
	size_t		 i, n = phdr_count(c);

	CHECK(v->reason == c->want && strcmp(verdict_reason_text(v),
	    c->text) == 0, "%s [%s, pass %d]: expected %s \"%s\", got %s \"%s\" "
	    "(rule %s, %s)", c->name, mode, pass, reason_name(c->want), c->text,
	    reason_name(v->reason), verdict_reason_text(v), v->rule, v->detail);
	CHECK(verdict_reason_status(v->reason) == c->status,
	    "%s [%s, pass %d]: expected status %d, got %d", c->name, mode,
	    pass, c->status, verdict_reason_status(v->reason));
	CHECK(v->cached == want_cached, "%s [%s, pass %d]: expected cached %d, "
	    "got %d", c->name, mode, pass, want_cached, v->cached);
	CHECK(v->policy_applied == c->applied, "%s [%s, pass %d]: expected "
	    "policy_applied %d, got %d", c->name, mode, pass, c->applied,
	    v->policy_applied);
	if (c->line > 0)
		snprintf(rule, sizeof(rule), "%s:%d", polpath, c->line);
	else
		rule[0] = '\0';
	if (c->line >= 0)
		CHECK(strcmp(v->rule, rule) == 0, "%s [%s, pass %d]: expected "
		    "rule %s, got %s", c->name, mode, pass, T_STR(rule),
		    T_STR(v->rule));
	CHECK(v->shadow_differs == c->shadow, "%s [%s, pass %d]: expected "
	    "shadow_differs %d, got %d (enforced %s %s, shadow %s %s)",
	    c->name, mode, pass, c->shadow, v->shadow_differs,
	    verdict_reason_text(v), v->rule, v->shadow_reason, v->shadow_rule);
	if (v->reason != VERDICT_OK) {
		CHECK(v->decision.nheaders == 0 || !v->policy_applied,
		    "%s [%s, pass %d]: a deny with %zu set headers", c->name,
		    mode, pass, v->decision.nheaders);
		return;
	}
	CHECK(v->decision.nheaders == n, "%s [%s, pass %d]: expected %zu set "
	    "headers, got %zu", c->name, mode, pass, n, v->decision.nheaders);
	for (i = 0; i < n && i < v->decision.nheaders; i++)
		CHECK(v->decision.headers[i].name != NULL &&
		    strcmp(v->decision.headers[i].name, c->hdr[i].name) == 0 &&
		    strcmp(v->decision.headers[i].value, c->hdr[i].value) == 0,
		    "%s [%s, pass %d]: header %zu expected %s: %s, got %s: %s",
		    c->name, mode, pass, i, c->hdr[i].name, c->hdr[i].value,
		    T_STR(v->decision.headers[i].name),
		    T_STR(v->decision.headers[i].value));
}

static void
pdecide(const struct snapshot *snap, struct cache *cache,
    const struct input *inp, const char *uri, const char *method,
    const char *host, const char *ruleset, time_t at, struct verdict *v)
{
	struct verdict_input	 in;

	memset(&in, 0, sizeof(in));
	in.cert = inp->buf;
	in.cert_len = inp->len;
	in.uri = uri;
	in.method = method;
	in.host = host;
	in.ruleset = ruleset;
	memset(v, 0x5a, sizeof(*v));
	verdict_decide(snap, cache, &in, at, v, NULL);
}

/*
 * Each row twice: cold with an empty cache, then with the certificate
 * cached by a request for another path and rule set ("prime", which
 * denies): the policy must be evaluated again with this request.
 */
static void
test_policy_rows(struct snapshot *snap, const char *polpath, const char *mode)
{
	const struct pcase	*c;
	struct expect_id	 e;
	struct cache		*cache;
	struct verdict		 v;
	struct input		 in;
	time_t			 at;
	size_t			 i;
	int			 pass, valid;

	for (i = 0; i < sizeof(pcases) / sizeof(pcases[0]); i++) {
		c = &pcases[i];
		expect_identity(c->file, &e);
		at = c->before_na != 0 ? e.na - c->before_na : 0;
		make_input(IN_FILE, c->file, NULL, &in);
		for (pass = 0; pass < 2; pass++) {
			cache = cache_new(100);
			if (pass == 1) {
				pdecide(snap, cache, &in, "/prime", "PUT",
				    "prime.example", "prime", 0, &v);
				valid = c->applied && c->before_na == 0;
				CHECK(!valid || (v.reason == VERDICT_POLICY_DENY &&
				    strcmp(verdict_reason_text(&v), "prime") == 0 &&
				    v.cached == 0), "%s [%s]: priming request: "
				    "expected policy-deny \"prime\", got %s %s "
				    "cached %d", c->name, mode,
				    reason_name(v.reason), verdict_reason_text(&v),
				    v.cached);
			}
			pdecide(snap, cache, &in, c->uri, c->method, c->host,
			    c->ruleset, at, &v);
			check_pcase(c, &v, polpath, mode, pass,
			    pass == 1 && at == 0);
			cache_free(&cache);
		}
		free(in.buf);
	}
}

/* A configuration trusting the fixtures' trust.pem and intermediates.pem. */
static void
pki_config(struct config *cfg)
{
	char	 path[512];

	config_init(cfg);
	snprintf(path, sizeof(path), "%s/trust.pem", pki);
	config_set_flag(cfg, "trust", path);
	snprintf(path, sizeof(path), "%s/intermediates.pem", pki);
	config_set_flag(cfg, "intermediates", path);
}

static struct snapshot *
policy_snapshot(const char *pol, const char *shadow, struct store *store)
{
	struct config	 cfg;
	struct snapshot	*snap = NULL;
	int		 rc;

	pki_config(&cfg);
	config_set_flag(&cfg, "policy", pol);
	if (shadow != NULL)
		config_set_flag(&cfg, "shadow_policy", shadow);
	rc = store != NULL ? snapshot_new_store(&cfg, store, &snap) :
	    snapshot_new(&cfg, &snap);
	CHECK(rc == 0 && snap != NULL && snap->policy != NULL &&
	    (shadow == NULL || snap->shadow != NULL),
	    "snapshot with policy %s, shadow %s, %s: rc %d", pol,
	    shadow ? shadow : "-", store ? "store" : "memory", rc);
	config_cleanup(&cfg);
	return snap;
}

static void
test_policy(void)
{
	struct snapshot	*snap;
	struct store	*store = NULL;
	struct expect_id carol;
	struct verdict	 v;
	struct input	 in;
	char		 dir[256], sdir[300], pol[512], shadow[512], lost[512];
	char		 err[256], text[1024];
	const char	*name;
	store_set_t	 set;
	size_t		 count;
	int		 i, n;

	t_tmpdir(dir, sizeof(dir));
	expect_identity("noeku.pem", &carol);
	/* carol's fingerprint upper case with colons: it is normalised */
	n = snprintf(text, sizeof(text), "# lost devices\n\n"
	    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n");
	for (i = 0; i < 32; i++)
		n += snprintf(text + n, sizeof(text) - (size_t)n, "%s%c%c",
		    i ? ":" : "  ", carol.fingerprint[2 * i] - 32 *
		    (carol.fingerprint[2 * i] >= 'a'),
		    carol.fingerprint[2 * i + 1] - 32 *
		    (carol.fingerprint[2 * i + 1] >= 'a'));
	n += snprintf(text + n, sizeof(text) - (size_t)n, "  # carol\n");
	t_write(dir, "lost.txt", text, (size_t)n, lost, sizeof(lost));
	t_write(dir, "enforced.policy", policy_text, sizeof(policy_text) - 1,
	    pol, sizeof(pol));
	t_write(dir, "shadow.policy", shadow_text, sizeof(shadow_text) - 1,
	    shadow, sizeof(shadow));

	/* lists in memory */
	if ((snap = policy_snapshot(pol, shadow, NULL)) != NULL) {
		CHECK(policy_list_setname(snap->policy, 0) == NULL,
		    "memory: list 0 has a store set %s",
		    T_STR(policy_list_setname(snap->policy, 0)));
		test_policy_rows(snap, pol, "memory");
		snapshot_release(snap);
	}

	/* lists in a store */
	snprintf(sdir, sizeof(sdir), "%s/store", dir);
	CHECK(store_open(sdir, (size_t)64 << 20, &store, err, sizeof(err)) == 0,
	    "store_open %s: %s", sdir, err);
	if (store != NULL &&
	    (snap = policy_snapshot(pol, shadow, store)) != NULL) {
		name = policy_list_setname(snap->policy, 0);
		CHECK(name != NULL && strncmp(name, "list:", 5) == 0 &&
		    store_set_find(store, name, &set, &count) == 0 && count == 2,
		    "store: list 0 set %s, expected 2 entries", T_STR(name));
		CHECK(name != NULL && policy_list_setname(snap->shadow, 0) !=
		    NULL && strcmp(name, policy_list_setname(snap->shadow, 0)) ==
		    0, "store: the shadow's list (same file) has another set");
		test_policy_rows(snap, pol, "store");
		snapshot_release(snap);
	}

	/* without a shadow, nothing differs */
	if (store != NULL &&
	    (snap = policy_snapshot(pol, NULL, store)) != NULL) {
		make_input(IN_FILE, "client.pem", NULL, &in);
		pdecide(snap, NULL, &in, "/api/v1", "POST", NULL, NULL, 0, &v);
		CHECK(v.reason == VERDICT_NO_MATCHING_RULE &&
		    v.shadow_differs == 0 && v.shadow_rule[0] == '\0',
		    "no shadow: expected no-matching-rule, not differing; got "
		    "%s, differs %d", reason_name(v.reason), v.shadow_differs);
		free(in.buf);
		snapshot_release(snap);
	}
	store_close(&store);
	t_rmtree(dir);
}

/* A snapshot of trust.pem + intermediates.pem with crls (NULL-ended). */
static struct snapshot *
crl_snapshot(const char *const *crls, const char *pol)
{
	struct config	 cfg;
	struct snapshot	*snap = NULL;
	char		 path[512];
	int		 rc;

	pki_config(&cfg);
	config_set_flag(&cfg, "crl_fetch", "off");
	for (; crls != NULL && *crls != NULL; crls++) {
		snprintf(path, sizeof(path), "%s/crl/%s", pki, *crls);
		config_set_flag(&cfg, "crl", path);
	}
	if (pol != NULL)
		config_set_flag(&cfg, "policy", pol);
	rc = snapshot_new(&cfg, &snap);
	CHECK(rc == 0 && snap != NULL && snap->verified_ok, "crl snapshot: "
	    "rc %d", rc);
	config_cleanup(&cfg);
	return snap;
}

static unsigned long long
verified_hits_now(void)
{
	size_t			 kept;
	unsigned long long	 hits, writes;

	verified_stats(&kept, &hits, &writes);
	return hits;
}

/* decide with a new verdict cache: as after a restart */
static void
decide_fresh(const struct snapshot *snap, const struct input *in,
    struct verdict *v)
{
	struct cache	*c = cache_new(100);

	decide(snap, c, in, NULL, 0, v);
	cache_free(&c);
}

/* Chains kept across restarts in LMDB (verified.h). */
static void
test_verified(void)
{
	static const char *const	 good[] = { "int.crl.pem", "root.crl.pem",
					    NULL };
	static const char *const	 revoking[] = { "int-revokes-alice.crl.pem",
					    "root.crl.pem", NULL };
	char			 dir[] = "/tmp/authd-verified.XXXXXX", err[256];
	char			 pol[600];
	struct store		*st = NULL;
	struct snapshot		*s1, *s2, *s3, *s4;
	struct verdict		 v, cold;
	struct input		 alice, bob;
	unsigned char		*der, md[32], rec[8192];
	size_t			 derlen, n = 0, reclen = 0;
	unsigned long long	 h0;
	store_set_t		 dbi;
	FILE			*f;
	time_t			 now = time(NULL);

	if (mkdtemp(dir) == NULL || store_open(dir, (size_t)64 << 20, &st,
	    err, sizeof(err)) != 0) {
		CHECK(0, "verified: no store: %s", err);
		return;
	}
	make_input(IN_FILE, "client.pem", NULL, &alice);
	make_input(IN_FILE, "client2.pem", NULL, &bob);
	der = fixture_der("client.pem", &derlen);
	EVP_Digest(der, derlen, md, NULL, EVP_sha256(), NULL);
	OPENSSL_free(der);

	s1 = crl_snapshot(good, NULL);
	verified_init(st, 100, s1->verified_digest, now);
	decide_fresh(s1, &alice, &cold);
	store_kv_flush(st);
	CHECK(cold.reason == VERDICT_OK && strstr(cold.detail, "kept") == NULL,
	    "verified: first decision %s (%s)", reason_name(cold.reason),
	    cold.detail);
	h0 = verified_hits_now();
	decide_fresh(s1, &alice, &v);
	CHECK(v.reason == VERDICT_OK && verified_hits_now() == h0 + 1 &&
	    strstr(v.detail, "kept in data_dir") != NULL &&
	    strcmp(v.id.subject, cold.id.subject) == 0 &&
	    strcmp(v.id.issuer, cold.id.issuer) == 0 &&
	    strcmp(v.id.serial, cold.id.serial) == 0 &&
	    strcmp(v.id.fingerprint, cold.id.fingerprint) == 0 &&
	    v.id.not_after == cold.id.not_after &&
	    v.reuse_until == cold.reuse_until, "verified: after a restart "
	    "%s (%s), subject %s", reason_name(v.reason), v.detail,
	    v.id.subject);

	/* Revocation is decided afresh on the kept chain. */
	s2 = crl_snapshot(revoking, NULL);
	CHECK(memcmp(s1->verified_digest, s2->verified_digest, 32) == 0,
	    "verified: CRLs are not part of the digest");
	h0 = verified_hits_now();
	decide_fresh(s2, &alice, &v);
	CHECK(v.reason == VERDICT_REVOKED && verified_hits_now() == h0 + 1,
	    "verified: the kept chain, alice revoked since: %s (%s)",
	    reason_name(v.reason), v.detail);

	/* Another trust store: no record answers. */
	s3 = publish("other-root.pem", NULL);
	h0 = verified_hits_now();
	decide_fresh(s3, &alice, &v);
	CHECK(v.reason == VERDICT_UNTRUSTED && verified_hits_now() == h0 &&
	    memcmp(s1->verified_digest, s3->verified_digest, 32) != 0,
	    "verified: another trust store: %s (%s)", reason_name(v.reason),
	    v.detail);

	/* A policy reads fields: kept with them, the same decision after. */
	snprintf(pol, sizeof(pol), "%s/verified.policy", dir);
	if ((f = fopen(pol, "w")) != NULL) {
		fputs("ruleset default { allow subject.CN == \"alice\" "
		    "set X-Who = subject.CN }\n", f);
		fclose(f);
	}
	s4 = crl_snapshot(good, pol);
	decide_fresh(s4, &alice, &cold);
	store_kv_flush(st);
	h0 = verified_hits_now();
	decide_fresh(s4, &alice, &v);
	CHECK(cold.reason == VERDICT_OK && v.reason == VERDICT_OK &&
	    verified_hits_now() == h0 + 1 && v.decision.nheaders == 1 &&
	    strcmp(v.rule, cold.rule) == 0, "verified: with a policy: cold %s, "
	    "kept %s (%s), %zu header(s)", reason_name(cold.reason),
	    reason_name(v.reason), v.detail, v.decision.nheaders);
	decide_fresh(s4, &bob, &v);
	CHECK(v.reason == VERDICT_NO_MATCHING_RULE, "verified: bob under the "
	    "policy: %s", reason_name(v.reason));

	/* A damaged record is a miss, never a verdict. */
	CHECK(store_kv_open(st, "verified", &dbi) == 0 &&
	    store_kv_get(st, dbi, md, 32, rec, sizeof(rec), &reclen) == 1,
	    "verified: alice's record");
	store_kv_put(st, dbi, md, 32, rec, reclen - 1);
	h0 = verified_hits_now();
	decide_fresh(s4, &alice, &v);
	store_kv_flush(st);
	CHECK(v.reason == VERDICT_OK && verified_hits_now() == h0,
	    "verified: a record one byte short: %s, hits %llu -> %llu",
	    reason_name(v.reason), h0, verified_hits_now());
	store_kv_put(st, dbi, md, 32, "junk", 4);
	decide_fresh(s4, &alice, &v);
	store_kv_flush(st);
	CHECK(v.reason == VERDICT_OK, "verified: a junk record: %s",
	    reason_name(v.reason));

	/* At start, nine tenths full: records of another store go first. */
	decide_fresh(s1, &bob, &v);
	store_kv_flush(st);
	verified_init(st, 2, s1->verified_digest, now);
	CHECK(store_kv_count(st, dbi, &n) == 0 && n == 1, "verified: swept "
	    "to %zu record(s), want bob's alone", n);
	/* Full while serving: new chains are not kept. */
	verified_init(st, 1, s1->verified_digest, now);	/* drops bob's too */
	decide_fresh(s1, &alice, &v);
	decide_fresh(s1, &bob, &v);
	store_kv_flush(st);
	CHECK(v.reason == VERDICT_OK && store_kv_count(st, dbi, &n) == 0 &&
	    n == 1 && store_kv_get(st, dbi, md, 32, rec, sizeof(rec),
	    &reclen) == 1, "verified: full: %zu record(s), want alice's", n);
	/* At start with an expired record: dropped (a second from now on). */
	verified_init(st, 1, s1->verified_digest, now + 3 * 365 * 86400);
	CHECK(store_kv_count(st, dbi, &n) == 0 && n == 0, "verified: expired "
	    "swept: %zu left", n);

	verified_shutdown();
	snapshot_release(s1);
	snapshot_release(s2);
	snapshot_release(s3);
	snapshot_release(s4);
	free(alice.buf);
	free(bob.buf);
	store_close(&st);
	t_rmtree(dir);
}

/* Whether a and b carry the same extension nid (both without: yes). */
static int
same_ext(X509 *a, X509 *b, int nid)
{
	int	 ia = X509_get_ext_by_NID(a, nid, -1);
	int	 ib = X509_get_ext_by_NID(b, nid, -1);

	if (ia < 0 || ib < 0)
		return ia < 0 && ib < 0;
	return X509_EXTENSION_get_critical(X509_get_ext(a, ia)) ==
	    X509_EXTENSION_get_critical(X509_get_ext(b, ib)) &&
	    ASN1_OCTET_STRING_cmp(X509_EXTENSION_get_data(X509_get_ext(a, ia)),
	    X509_EXTENSION_get_data(X509_get_ext(b, ib))) == 0;
}

/*
 * The CRL checks' view of a kept leaf (crl_cert_init_kept, from the record
 * v, the chain's leaf NULL) is their view of the certificate (chain[0]):
 * issuer name, serial, CA or not, the CRL distribution points.
 */
static int
same_crl_cert(STACK_OF(X509) *chain, const struct verified *v,
    const char *subject)
{
	struct crl_leaf		 kl;
	struct crl_cert		 a, b;
	STACK_OF(X509)		*kchain;
	STACK_OF(DIST_POINT)	*pa, *pb;
	unsigned char		*da = NULL, *db = NULL;
	int			 la = 0, lb = 0, ok;

	kl.serial_der = v->serial_der;
	kl.serial_len = v->serial_len;
	kl.cdp_der = v->cdp_der;
	kl.cdp_len = v->cdp_len;
	kl.ca = v->leaf_ca;
	kl.subject = subject;
	if ((kchain = sk_X509_dup(chain)) == NULL)
		return 0;
	(void)sk_X509_set(kchain, 0, NULL);
	crl_cert_init(&a, chain, 0);
	ok = crl_cert_init_kept(&b, kchain, &kl) == 0 && b.x == NULL &&
	    X509_NAME_cmp(a.iname, b.iname) == 0 &&
	    ASN1_INTEGER_cmp(a.serial, b.serial) == 0 && a.ca == b.ca;
	pa = crl_cert_cdp(&a);
	pb = crl_cert_cdp(&b);
	if (pa != NULL)
		la = i2d_CRL_DIST_POINTS(pa, &da);
	if (pb != NULL)
		lb = i2d_CRL_DIST_POINTS(pb, &db);
	ok = ok && (pa == NULL) == (pb == NULL) && la == lb && la >= 0 &&
	    (la == 0 || memcmp(da, db, (size_t)la) == 0);
	OPENSSL_free(da);
	OPENSSL_free(db);
	crl_cert_cleanup(&a);
	crl_cert_cleanup(&b);
	sk_X509_free(kchain);
	return ok;
}

/*
 * client.pem again, its issuer field the intermediate's subject with every
 * value a PrintableString (the intermediate's are UTF8Strings): the same
 * name to X509_NAME_cmp, other bytes; signed by the intermediate.
 */
static X509 *
reencoded_issuer_leaf(X509 *ca)
{
	const X509_NAME		*sn = X509_get_subject_name(ca);
	const X509_NAME_ENTRY	*e;
	const ASN1_STRING	*d;
	X509_NAME		*n = X509_NAME_new();
	EVP_PKEY		*key;
	X509			*x = fixture_x509("client.pem");
	char			*pem;
	size_t			 len;
	BIO			*bio;
	int			 i, ok = n != NULL;

	pem = fixture("intermediate.key", &len);
	bio = BIO_new_mem_buf(pem, (int)len);
	key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	BIO_free(bio);
	free(pem);
	for (i = 0; ok && i < X509_NAME_entry_count(sn); i++) {
		e = X509_NAME_get_entry(sn, i);
		d = X509_NAME_ENTRY_get_data(e);
		ok = X509_NAME_add_entry_by_OBJ(n, X509_NAME_ENTRY_get_object(e),
		    V_ASN1_PRINTABLESTRING, ASN1_STRING_get0_data(d),
		    ASN1_STRING_length(d), -1, 0);
	}
	ok = ok && key != NULL && X509_set_issuer_name(x, n) &&
	    X509_sign(x, key, EVP_sha256()) > 0;
	X509_NAME_free(n);
	EVP_PKEY_free(key);
	if (!ok) {
		X509_free(x);
		return NULL;
	}
	return x;
}

/*
 * verified_leaf's issuer field is the leaf's own bytes, which an OCSP
 * CertID hashes (RFC 6960 4.1.1), also where they differ from the issuer's
 * subject: the CertID of the record's leaf is the certificate's.
 */
static void
test_verified_issuer_field(void)
{
	char			 dir[] = "/tmp/authd-viss.XXXXXX", err[256];
	char			 k1[256], k2[256];
	unsigned char		 digest[CHAIN_DIGEST_LEN], md[32], blob[64];
	const unsigned char	*d1, *d2, *d3;
	size_t			 l1, l2, l3;
	struct identity		 id;
	struct verified		 v;
	struct store		*st = NULL;
	STACK_OF(X509)		*chain;
	X509			*ca = fixture_x509("intermediate.pem"), *leaf, *stub;
	time_t			 now = time(NULL);

	leaf = reencoded_issuer_leaf(ca);
	CHECK(leaf != NULL, "issuer field: no leaf");
	if (leaf == NULL || mkdtemp(dir) == NULL || store_open(dir,
	    (size_t)16 << 20, &st, err, sizeof(err)) != 0) {
		X509_free(leaf);
		X509_free(ca);
		return;
	}
	X509_NAME_get0_der(X509_get_issuer_name(leaf), &d1, &l1);
	X509_NAME_get0_der(X509_get_subject_name(ca), &d2, &l2);
	CHECK(X509_NAME_cmp(X509_get_issuer_name(leaf),
	    X509_get_subject_name(ca)) == 0 && (l1 != l2 ||
	    memcmp(d1, d2, l1) != 0), "issuer field: the same name, other "
	    "bytes");
	memset(digest, 9, sizeof(digest));
	verified_init(st, 100, digest, now);
	memset(&id, 0, sizeof(id));
	X509_digest(leaf, EVP_sha256(), md, NULL);
	CHECK(identity_extract(leaf, md, &id) == 0, "issuer field: identity");
	chain = sk_X509_new_null();
	sk_X509_push(chain, leaf);
	sk_X509_push(chain, ca);
	verified_put(digest, md, &id, now + 3600, leaf, chain, NULL, 0);
	store_kv_flush(st);
	stub = verified_get(digest, md, now, &v, blob, sizeof(blob)) ?
	    verified_leaf(&v, ca) : NULL;
	CHECK(stub != NULL, "issuer field: no record or leaf");
	if (stub != NULL) {
		X509_NAME_get0_der(X509_get_issuer_name(stub), &d3, &l3);
		CHECK(l3 == l1 && memcmp(d3, d1, l1) == 0, "issuer field: "
		    "the leaf's bytes");
		CHECK(ocsp_certid_key(stub, ca, 0, k1, sizeof(k1)) == 0 &&
		    ocsp_certid_key(leaf, ca, 0, k2, sizeof(k2)) == 0 &&
		    strcmp(k1, k2) == 0, "issuer field: the CertID is the "
		    "certificate's");
		X509_free(stub);
	}
	sk_X509_pop_free(chain, X509_free);
	verified_shutdown();
	store_close(&st);
	t_rmtree(dir);
}

/*
 * A kept chain's leaf as revocation reads it (verified_leaf for OCSP,
 * crl_cert_init_kept for CRLs) says what the certificate says: serial,
 * names, validity, CA or not, every extension revocation reads.
 */
static void
test_verified_leaf(void)
{
	static const char *const leaves[] = { "client.pem", "partitioned.pem",
	    "smartcard.pem", "noeku.pem", "aia/der.pem", "intermediate.pem" };
	static const int nids[] = { NID_basic_constraints, NID_key_usage,
	    NID_crl_distribution_points, NID_freshest_crl, NID_info_access,
	    NID_authority_key_identifier, NID_subject_key_identifier };
	char			 dir[] = "/tmp/authd-vleaf.XXXXXX", err[256];
	unsigned char		 digest[CHAIN_DIGEST_LEN], md[32], blob[64];
	struct identity		 id;
	struct verified		 v;
	struct store		*st = NULL;
	STACK_OF(X509)		*chain;
	X509			*leaf, *issuer, *stub;
	size_t			 i, k;
	time_t			 now = time(NULL);

	memset(digest, 7, sizeof(digest));
	if (mkdtemp(dir) == NULL || store_open(dir, (size_t)16 << 20, &st,
	    err, sizeof(err)) != 0) {
		CHECK(0, "verified leaf: no store: %s", err);
		return;
	}
	verified_init(st, 100, digest, now);
	for (i = 0; i < sizeof(leaves) / sizeof(leaves[0]); i++) {
		leaf = fixture_x509(leaves[i]);
		issuer = fixture_x509(strncmp(leaves[i], "aia/", 4) == 0 ?
		    "aia/ica.pem" : strcmp(leaves[i], "intermediate.pem") == 0 ?
		    "root.pem" : "intermediate.pem");
		if (leaf == NULL || issuer == NULL) {
			CHECK(0, "verified leaf: %s: no fixture", leaves[i]);
			X509_free(leaf);
			X509_free(issuer);
			continue;
		}
		memset(&id, 0, sizeof(id));
		CHECK(identity_extract(leaf, md, &id) == 0, "verified leaf: %s: "
		    "identity", leaves[i]);
		X509_digest(leaf, EVP_sha256(), md, NULL);
		chain = sk_X509_new_null();
		sk_X509_push(chain, leaf);
		sk_X509_push(chain, issuer);
		verified_put(digest, md, &id, now + 3600, leaf, chain, NULL, 0);
		store_kv_flush(st);
		if (!verified_get(digest, md, now, &v, blob, sizeof(blob))) {
			CHECK(0, "verified leaf: %s: no record", leaves[i]);
			sk_X509_pop_free(chain, X509_free);
			continue;
		}
		stub = verified_leaf(&v, issuer);
		CHECK(stub != NULL, "verified leaf: %s: made", leaves[i]);
		if (stub == NULL) {
			sk_X509_pop_free(chain, X509_free);
			continue;
		}
		CHECK(ASN1_INTEGER_cmp(X509_get0_serialNumber(stub),
		    X509_get0_serialNumber(leaf)) == 0 &&
		    X509_NAME_cmp(X509_get_subject_name(stub),
		    X509_get_subject_name(leaf)) == 0 &&
		    X509_NAME_cmp(X509_get_issuer_name(stub),
		    X509_get_issuer_name(leaf)) == 0 &&
		    X509_get_version(stub) == X509_get_version(leaf),
		    "verified leaf: %s: serial, names, version", leaves[i]);
		CHECK(ASN1_TIME_compare(X509_get0_notAfter(stub),
		    X509_get0_notAfter(leaf)) == 0 &&
		    ASN1_TIME_compare(X509_get0_notBefore(stub),
		    X509_get0_notBefore(leaf)) == 0,
		    "verified leaf: %s: validity", leaves[i]);
		CHECK(X509_check_ca(stub) == X509_check_ca(leaf),
		    "verified leaf: %s: CA %d, the certificate %d", leaves[i],
		    X509_check_ca(stub), X509_check_ca(leaf));
		for (k = 0; k < sizeof(nids) / sizeof(nids[0]); k++)
			CHECK(same_ext(stub, leaf, nids[k]), "verified leaf: %s: "
			    "extension %s", leaves[i], OBJ_nid2sn(nids[k]));
		CHECK(X509_get_pubkey(stub) == NULL, "verified leaf: %s: no key",
		    leaves[i]);
		CHECK(v.leaf_ca == X509_check_ca(leaf) &&
		    same_crl_cert(chain, &v, id.subject), "verified leaf: %s: "
		    "the CRL checks' view (CA %d, the certificate %d)",
		    leaves[i], v.leaf_ca, X509_check_ca(leaf));
		X509_free(stub);
		sk_X509_pop_free(chain, X509_free);
	}
	verified_shutdown();
	store_close(&st);
	t_rmtree(dir);
}

/*
 * Revocation on a kept chain reads the record's leaf: a partitioned CRL
 * (RFC 5280 5.2.5, the leaf's CRL distribution point against the CRL's
 * issuing distribution point) applies to it as it does to the certificate.
 */
static void
test_verified_partition(void)
{
	static const char *const full[] = { "int.crl.pem", "root.crl.pem",
					    NULL };
	static const char *const part1[] = { "int-part1.crl.pem",
					     "root.crl.pem", NULL };
	static const char *const part2[] = { "int-part2.crl.pem",
					     "root.crl.pem", NULL };
	static const char *const *const sets[] = { part1, part2 };
	char			 dir[] = "/tmp/authd-vpart.XXXXXX", err[256];
	struct store		*st = NULL;
	struct snapshot		*s0, *s;
	struct verdict		 v, cold;
	struct input		 in;
	unsigned long long	 h0;
	size_t			 i;
	time_t			 now = time(NULL);

	if (mkdtemp(dir) == NULL || store_open(dir, (size_t)16 << 20, &st,
	    err, sizeof(err)) != 0) {
		CHECK(0, "verified partition: no store: %s", err);
		return;
	}
	make_input(IN_FILE, "partitioned.pem", NULL, &in);
	s0 = crl_snapshot(full, NULL);
	verified_init(st, 100, s0->verified_digest, now);
	decide_fresh(s0, &in, &v);
	store_kv_flush(st);
	CHECK(v.reason == VERDICT_OK, "verified partition: kept under the "
	    "full CRL: %s (%s)", reason_name(v.reason), v.detail);
	for (i = 0; i < 2; i++) {
		s = crl_snapshot(sets[i], NULL);
		/* the certificate itself: no record answers under NULL */
		verified_shutdown();
		decide_fresh(s, &in, &cold);
		verified_init(st, 100, s0->verified_digest, now);
		h0 = verified_hits_now();
		decide_fresh(s, &in, &v);
		CHECK(verified_hits_now() == h0 + 1 && v.reason == cold.reason &&
		    strcmp(v.detail, cold.detail) == 0 &&
		    v.revocation == cold.revocation,
		    "verified partition: part%zu: kept %s, the certificate %s "
		    "(%s)", i + 1, reason_name(v.reason),
		    reason_name(cold.reason), cold.detail);
		CHECK(cold.reason == (i == 0 ? VERDICT_REVOKED :
		    VERDICT_REVOCATION_UNKNOWN), "verified partition: part%zu: "
		    "%s", i + 1, reason_name(cold.reason));
		snapshot_release(s);
	}
	verified_shutdown();
	snapshot_release(s0);
	free(in.buf);
	store_close(&st);
	t_rmtree(dir);
}

int
main(int argc, char **argv)
{
	struct snapshot	*s1, *s2;
	struct cache	*cache;
	struct verdict	 v;
	struct input	 alice, mallory;

	if (argc != 2) {
		fprintf(stderr, "usage: %s PKI_DIR\n", argv[0]);
		return 2;
	}
	pki = argv[1];

	/* no snapshot: fail closed */
	make_input(IN_FILE, "client.pem", NULL, &alice);
	make_input(IN_FILE, "other-client.pem", NULL, &mallory);
	decide(NULL, NULL, &alice, NULL, 0, &v);
	CHECK(v.reason == VERDICT_INTERNAL_ERROR && snapshot_acquire() == NULL,
	    "no snapshot: expected internal-error, got %s",
	    reason_name(v.reason));

	if ((s1 = publish("trust.pem", "intermediates.pem")) == NULL)
		return t_done();
	test_reasons();
	test_table(s1);
	test_identity_and_cache(s1);
	test_at(s1);
	test_threads();
	test_policy();
	test_verified();
	test_verified_leaf();
	test_verified_issuer_field();
	test_verified_partition();

	/* a new generation: the old entries do not answer */
	cache = cache_new(1000);
	decide(s1, cache, &alice, NULL, 0, &v);
	decide(s1, cache, &alice, NULL, 0, &v);
	CHECK(v.reason == VERDICT_OK && v.cached == 1,
	    "generation 1: alice expected cached ok, got %s cached %d",
	    reason_name(v.reason), v.cached);
	decide(s1, cache, &mallory, NULL, 0, &v);
	CHECK(v.reason == VERDICT_UNTRUSTED, "generation 1: mallory got %s",
	    reason_name(v.reason));

	/* now only the foreign root is trusted */
	s2 = publish("other-root.pem", NULL);
	CHECK(s2 != NULL && s2 != s1 && s2->generation != s1->generation,
	    "second snapshot: expected a new generation");
	if (s2 != NULL) {
		decide(s2, cache, &alice, NULL, 0, &v);
		CHECK(v.reason == VERDICT_UNTRUSTED && v.cached == 0,
		    "generation 2: alice (ok cached in generation 1) expected "
		    "untrusted, not cached; got %s cached %d",
		    reason_name(v.reason), v.cached);
		decide(s2, cache, &mallory, NULL, 0, &v);
		CHECK(v.reason == VERDICT_OK && v.cached == 0,
		    "generation 2: mallory (denied in generation 1) expected "
		    "ok, got %s cached %d", reason_name(v.reason), v.cached);
		decide(s2, cache, &alice, NULL, 0, &v);
		CHECK(v.reason == VERDICT_UNTRUSTED && v.cached == 1,
		    "generation 2, again: alice expected untrusted from the "
		    "cache, got %s cached %d", reason_name(v.reason), v.cached);
		/* a request still holding generation 1 */
		decide(s1, cache, &alice, NULL, 0, &v);
		CHECK(v.reason == VERDICT_OK && v.cached == 0,
		    "generation 1 after 2: alice expected ok, not cached; got "
		    "%s cached %d", reason_name(v.reason), v.cached);
		snapshot_release(s2);
	}
	/* s1 is no longer current: the last release frees it */
	snapshot_release(s1);
	cache_free(&cache);
	free(alice.buf);
	free(mallory.buf);
	snapshot_shutdown();
	CHECK(snapshot_acquire() == NULL, "after shutdown: a snapshot remains");
	snapshot_shutdown();
	return t_done();
}
