/*
 * test_fields.c PKI_DIR: identity_fields_pack and identity_fields_unpack,
 * the verdict cache's blob: round trips for the fixtures of
 * tests/pki/gen.sh and for fields filled to every cap, every buffer too
 * small, and blobs that are not pack's (wrong magic, counts above the
 * caps, every prefix, trailing bytes, a missing NUL).  Every buffer handed
 * over is allocated to its exact size, so that ASan sees any read or
 * write past it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "identity.h"
#include "t.h"

#define HDR_LEN		 (14 + 2 * sizeof(int64_t) + 2 * sizeof(uint32_t))
				/* magic, counts, times, rule set policy masks */

static const char	*pki;

static X509 *
fixture_x509(const char *name)
{
	char	 path[512], *pem;
	size_t	 len;
	BIO	*bio;
	X509	*x;

	snprintf(path, sizeof(path), "%s/%s", pki, name);
	if ((pem = t_read(path, &len)) == NULL) {
		fprintf(stderr, "cannot read fixture %s\n", path);
		exit(2);
	}
	bio = BIO_new_mem_buf(pem, (int)len);
	x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	BIO_free(bio);
	free(pem);
	if (x == NULL) {
		fprintf(stderr, "cannot parse fixture %s\n", path);
		exit(2);
	}
	return x;
}

/* identity_fields_load on a fixture; 0 or its error. */
static int
load_fixture(const char *name, struct identity_fields *f)
{
	X509		*x = fixture_x509(name);
	unsigned char	*der = NULL, md[IDENTITY_SHA256_LEN];
	unsigned int	 mdlen = 0;
	int		 n, rc;

	n = i2d_X509(x, &der);
	EVP_Digest(der, (size_t)n, md, &mdlen, EVP_sha256(), NULL);
	rc = identity_fields_load(x, md, time(NULL), f);
	OPENSSL_free(der);
	X509_free(x);
	return rc;
}

/* A copy of len bytes in a buffer of exactly len bytes. */
static unsigned char *
exact_copy(const unsigned char *p, size_t len)
{
	unsigned char	*b = malloc(len);	/* malloc(0): nothing readable */

	if (b == NULL && len > 0) {
		perror("malloc");
		exit(2);
	}
	if (len > 0)
		memcpy(b, p, len);
	return b;
}

static int
str_eq(const char *a, const char *b)
{
	return a != NULL && b != NULL && strcmp(a, b) == 0;
}

static int
strs_eq(const char *const *a, size_t na, const char *const *b, size_t nb)
{
	size_t	 i;

	if (na != nb)
		return 0;
	for (i = 0; i < na; i++)
		if (!str_eq(a[i], b[i]))
			return 0;
	return 1;
}

static int
attrs_eq(const struct policy_attr *a, size_t na, const struct policy_attr *b,
    size_t nb)
{
	size_t	 i;

	if (na != nb)
		return 0;
	for (i = 0; i < na; i++)
		if (!str_eq(a[i].type, b[i].type) ||
		    !str_eq(a[i].value, b[i].value))
			return 0;
	return 1;
}

/*
 * Every field pack carries, compared; names the first that differs.
 * days_left is not carried: the verdict computes it per request.
 */
static const char *
fields_diff(const struct identity_fields *a, const struct identity_fields *b)
{
	if (strcmp(a->id.subject, b->id.subject) != 0)
		return "subject";
	if (strcmp(a->id.issuer, b->id.issuer) != 0)
		return "issuer";
	if (strcmp(a->id.serial, b->id.serial) != 0)
		return "serial";
	if (strcmp(a->id.fingerprint, b->id.fingerprint) != 0)
		return "fingerprint";
	if (a->id.not_before != b->id.not_before)
		return "not_before";
	if (a->id.not_after != b->id.not_after)
		return "not_after";
	if (!attrs_eq(a->subject_attrs, a->nsubject_attrs, b->subject_attrs,
	    b->nsubject_attrs))
		return "subject attributes";
	if (!attrs_eq(a->issuer_attrs, a->nissuer_attrs, b->issuer_attrs,
	    b->nissuer_attrs))
		return "issuer attributes";
	if (!strs_eq(a->san_dns, a->nsan_dns, b->san_dns, b->nsan_dns))
		return "san.dns";
	if (!strs_eq(a->san_email, a->nsan_email, b->san_email, b->nsan_email))
		return "san.email";
	if (!strs_eq(a->san_uri, a->nsan_uri, b->san_uri, b->nsan_uri))
		return "san.uri";
	if (!strs_eq(a->san_ip, a->nsan_ip, b->san_ip, b->nsan_ip))
		return "san.ip";
	if (!strs_eq(a->san_upn, a->nsan_upn, b->san_upn, b->nsan_upn))
		return "san.upn";
	if (!strs_eq(a->san_fascn, a->nsan_fascn, b->san_fascn, b->nsan_fascn))
		return "san.fascn";
	if (!strs_eq(a->san_uuid, a->nsan_uuid, b->san_uuid, b->nsan_uuid))
		return "san.uuid";
	if (!strs_eq(a->eku, a->neku, b->eku, b->neku))
		return "eku";
	if (!strs_eq(a->policy_oids, a->npolicy_oids, b->policy_oids,
	    b->npolicy_oids))
		return "policy OIDs";
	if (!strs_eq(a->policies, a->npolicies, b->policies, b->npolicies))
		return "valid policies";
	if (a->pcy_reject != b->pcy_reject ||
	    a->pcy_reject_shadow != b->pcy_reject_shadow)
		return "rule set policy masks";
	if ((a->truncated != 0) != (b->truncated != 0))
		return "truncated";
	return NULL;
}

/* Whether every string of f points into [buf, buf + len). */
static int
inside(const struct identity_fields *f, const unsigned char *buf, size_t len)
{
	const char *const	*lists[] = { f->san_dns, f->san_email,
	    f->san_uri, f->san_ip, f->san_upn, f->san_fascn, f->san_uuid,
	    f->eku, f->policy_oids, f->policies };
	const size_t		 ns[] = { f->nsan_dns, f->nsan_email,
	    f->nsan_uri, f->nsan_ip, f->nsan_upn, f->nsan_fascn,
	    f->nsan_uuid, f->neku, f->npolicy_oids, f->npolicies };
	const char		*lo = (const char *)buf, *hi = lo + len;
	size_t			 i, j;

	for (i = 0; i < f->nsubject_attrs; i++)
		if (f->subject_attrs[i].type < lo ||
		    f->subject_attrs[i].type >= hi ||
		    f->subject_attrs[i].value < lo ||
		    f->subject_attrs[i].value >= hi)
			return 0;
	for (i = 0; i < f->nissuer_attrs; i++)
		if (f->issuer_attrs[i].type < lo ||
		    f->issuer_attrs[i].type >= hi ||
		    f->issuer_attrs[i].value < lo ||
		    f->issuer_attrs[i].value >= hi)
			return 0;
	for (i = 0; i < sizeof(ns) / sizeof(ns[0]); i++)
		for (j = 0; j < ns[i]; j++)
			if (lists[i][j] < lo || lists[i][j] >= hi)
				return 0;
	return 1;
}

/* pack into an exact buffer; the blob (caller frees) and its length. */
static unsigned char *
pack(const struct identity_fields *f, size_t *len)
{
	unsigned char	*big = malloc(IDENTITY_ARENA_MAX * 4), *b;

	*len = identity_fields_pack(f, big, IDENTITY_ARENA_MAX * 4);
	b = exact_copy(big, *len);
	free(big);
	return b;
}

/* What a fixture must hold, written out from tests/pki/README.md. */
struct fixture_case {
	const char	*file;
	const char	*subject;
	const char	*cn;		/* subject.CN */
	const char	*email;		/* first san.email, or NULL */
	const char	*uri;		/* first san.uri, or NULL */
	const char	*dns;		/* first san.dns, or NULL */
	const char	*ip;		/* first san.ip, or NULL */
	const char	*eku;		/* first EKU, or NULL for none */
};

static const struct fixture_case fixtures[] = {
	{ "client.pem", "CN=alice,OU=Engineering,O=Example Corp", "alice",
	    "alice@example.com", "spiffe://example.org/ns/prod/sa/alice", NULL,
	    NULL, "clientAuth" },
	{ "client2.pem", "CN=bob,OU=Admins,O=Example Corp", "bob",
	    "bob@example.com", "spiffe://example.org/ns/prod/sa/bob", NULL, NULL,
	    "clientAuth" },
	{ "noeku.pem", "CN=carol,O=Example Corp", "carol", NULL, NULL, NULL,
	    NULL, NULL },
	{ "server.pem", "CN=localhost,O=authd tests", "localhost", NULL, NULL,
	    "localhost", "127.0.0.1", "serverAuth" },
	{ "expired.pem", "CN=expired-client,O=Example Corp", "expired-client",
	    NULL, NULL, NULL, NULL, "clientAuth" },
	{ "smartcard.pem", "CN=dave,OU=Smart Cards,O=Example Corp", "dave",
	    "dave@corp.example.com",
	    "urn:uuid:F81D4FAE-7DEC-11D0-A765-00A0C91E6BF6", NULL, NULL,
	    "clientAuth" },
	{ "root.pem", "CN=authd Test Root CA,O=authd tests",
	    "authd Test Root CA", NULL, NULL, NULL, NULL, NULL },
};

static const char *
first(const char *const *v, size_t n)
{
	return n > 0 ? v[0] : NULL;
}

static int
opt_eq(const char *want, const char *got)
{
	return want == NULL ? got == NULL : str_eq(want, got);
}

static const char *
attr_of(const struct identity_fields *f, const char *type)
{
	size_t	 i;

	for (i = 0; i < f->nsubject_attrs; i++)
		if (strcmp(f->subject_attrs[i].type, type) == 0)
			return f->subject_attrs[i].value;
	return NULL;
}

static void
test_fixtures(void)
{
	const struct fixture_case *c;
	struct identity_fields	 f, u, t;
	unsigned char		*blob, *cut, *buf;
	const char		*diff;
	size_t			 i, len, n, cap, wrong;
	int			 rc;

	for (i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++) {
		c = &fixtures[i];
		rc = load_fixture(c->file, &f);
		CHECK(rc == 0, "%s: identity_fields_load: %d", c->file, rc);
		if (rc != 0) {
			identity_fields_cleanup(&f);
			continue;
		}
		/* the fixture is what the README says */
		CHECK(strcmp(f.id.subject, c->subject) == 0 &&
		    opt_eq(c->cn, attr_of(&f, "CN")) &&
		    opt_eq(c->email, first(f.san_email, f.nsan_email)) &&
		    opt_eq(c->uri, first(f.san_uri, f.nsan_uri)) &&
		    opt_eq(c->dns, first(f.san_dns, f.nsan_dns)) &&
		    opt_eq(c->ip, first(f.san_ip, f.nsan_ip)) &&
		    opt_eq(c->eku, first(f.eku, f.neku)) && !f.truncated,
		    "%s: loaded %s CN %s email %s uri %s dns %s ip %s eku %s "
		    "truncated %d", c->file, f.id.subject,
		    T_STR(attr_of(&f, "CN")),
		    T_STR(first(f.san_email, f.nsan_email)),
		    T_STR(first(f.san_uri, f.nsan_uri)),
		    T_STR(first(f.san_dns, f.nsan_dns)),
		    T_STR(first(f.san_ip, f.nsan_ip)),
		    T_STR(first(f.eku, f.neku)), f.truncated);

		/* round trip */
		blob = pack(&f, &len);
		CHECK(len > HDR_LEN, "%s: pack returned %zu", c->file, len);
		memset(&u, 0x5a, sizeof(u));
		rc = identity_fields_unpack(blob, len, &u);
		diff = rc == 0 ? fields_diff(&f, &u) : "unpack failed";
		CHECK(rc == 0 && diff == NULL, "%s: round trip of %zu bytes: "
		    "rc %d, %s differs", c->file, len, rc, diff);
		CHECK(rc != 0 || (u.arena == NULL && inside(&u, blob, len)),
		    "%s: unpacked fields own memory or point outside the blob",
		    c->file);

		/* the same bytes at an exact cap, and from a second pack */
		buf = malloc(len);
		n = identity_fields_pack(&f, buf, len);
		CHECK(n == len && memcmp(buf, blob, len) == 0,
		    "%s: pack into exactly %zu bytes returned %zu", c->file,
		    len, n);
		free(buf);

		/* every smaller buffer: 0, and no write past it (ASan) */
		for (cap = 0, wrong = 0; cap < len; cap++) {
			buf = malloc(cap > 0 ? cap : 1);
			if (identity_fields_pack(&f, cap > 0 ? buf : NULL,
			    cap) != 0)
				wrong++;
			free(buf);
		}
		CHECK(wrong == 0, "%s: pack into 0..%zu bytes: %zu sizes did "
		    "not return 0", c->file, len - 1, wrong);

		/* every prefix is refused, read inside its own bounds */
		for (n = 0, wrong = 0; n < len; n++) {
			cut = exact_copy(blob, n);
			if (identity_fields_unpack(cut, n, &t) != -1)
				wrong++;
			free(cut);
		}
		CHECK(wrong == 0, "%s: unpack of the %zu prefixes: %zu "
		    "accepted", c->file, len, wrong);

		/* the truncated flag survives */
		f.truncated = 1;
		free(blob);
		blob = pack(&f, &len);
		CHECK(identity_fields_unpack(blob, len, &u) == 0 &&
		    u.truncated == 1, "%s: truncated flag lost: got %d",
		    c->file, u.truncated);
		free(blob);
		identity_fields_cleanup(&f);
	}
}

/* Fields at every cap, by hand (no certificate reaches them all). */
static struct identity_fields	 full;
static char			 full_vals[4096][24];

static void
fill_full(void)
{
	size_t	 i, k = 0;

	memset(&full, 0, sizeof(full));
	snprintf(full.id.subject, sizeof(full.id.subject), "CN=%0*d",
	    IDENTITY_DN_MAX - 4, 7);	/* the longest subject there is */
	snprintf(full.id.issuer, sizeof(full.id.issuer), "CN=full issuer");
	snprintf(full.id.serial, sizeof(full.id.serial), "-%0*X",
	    IDENTITY_SERIAL_MAX - 2, 0xAB);
	memset(full.id.fingerprint, 'f', IDENTITY_FP_MAX - 1);
	full.id.not_before = -631152000;	/* 1950 */
	full.id.not_after = 253402300799;	/* 9999 */
	for (i = 0; i < IDENTITY_ATTRS_MAX; i++) {
		snprintf(full_vals[k], sizeof(full_vals[k]), "s%zu", i);
		full.subject_attrs[i].type = i % 2 ? "OU" : "1.2.3.4";
		full.subject_attrs[i].value = full_vals[k++];
		snprintf(full_vals[k], sizeof(full_vals[k]), "i%zu", i);
		full.issuer_attrs[i].type = "O";
		full.issuer_attrs[i].value = i == 3 ? "" : full_vals[k++];
	}
	full.nsubject_attrs = full.nissuer_attrs = IDENTITY_ATTRS_MAX;
	for (i = 0; i < IDENTITY_SANS_MAX; i++) {
		snprintf(full_vals[k], sizeof(full_vals[k]), "h%zu.example", i);
		full.san_dns[i] = full_vals[k++];
		snprintf(full_vals[k], sizeof(full_vals[k]), "u%zu@example", i);
		full.san_email[i] = full_vals[k++];
		snprintf(full_vals[k], sizeof(full_vals[k]), "urn:x:%zu", i);
		full.san_uri[i] = full_vals[k++];
		snprintf(full_vals[k], sizeof(full_vals[k]), "192.0.2.%zu", i);
		full.san_ip[i] = full_vals[k++];
		snprintf(full_vals[k], sizeof(full_vals[k]), "u%zu@corp", i);
		full.san_upn[i] = full_vals[k++];
		snprintf(full_vals[k], sizeof(full_vals[k]), "d4e7%04zx", i);
		full.san_fascn[i] = full_vals[k++];
		snprintf(full_vals[k], sizeof(full_vals[k]), "f81d4fae-%04zx", i);
		full.san_uuid[i] = full_vals[k++];
	}
	full.nsan_dns = full.nsan_email = full.nsan_uri = full.nsan_ip =
	    full.nsan_upn = full.nsan_fascn = full.nsan_uuid =
	    IDENTITY_SANS_MAX;
	for (i = 0; i < IDENTITY_OIDS_MAX; i++) {
		snprintf(full_vals[k], sizeof(full_vals[k]), "1.3.6.1.4.1.%zu", i);
		full.eku[i] = full_vals[k++];
		snprintf(full_vals[k], sizeof(full_vals[k]), "2.5.29.32.%zu", i);
		full.policy_oids[i] = full_vals[k++];
		snprintf(full_vals[k], sizeof(full_vals[k]), "2.16.840.%zu", i);
		full.policies[i] = full_vals[k++];
	}
	full.neku = full.npolicy_oids = full.npolicies = IDENTITY_OIDS_MAX;
	full.pcy_reject = 0x80000001u;
	full.pcy_reject_shadow = 0x40000002u;
	full.truncated = 1;
}

static void
test_full(void)
{
	struct identity_fields	 u;
	unsigned char		*blob;
	const char		*diff;
	size_t			 len;
	int			 rc;

	fill_full();
	blob = pack(&full, &len);
	rc = identity_fields_unpack(blob, len, &u);
	diff = rc == 0 ? fields_diff(&full, &u) : "unpack failed";
	CHECK(len > 0 && rc == 0 && diff == NULL && inside(&u, blob, len),
	    "fields at every cap: pack %zu bytes, unpack rc %d, %s differs",
	    len, rc, T_STR(diff));
	free(blob);

	/* an empty identity_fields: no values at all */
	memset(&full, 0, sizeof(full));
	blob = pack(&full, &len);
	rc = identity_fields_unpack(blob, len, &u);
	diff = rc == 0 ? fields_diff(&full, &u) : "unpack failed";
	CHECK(len == HDR_LEN + 4 && rc == 0 && diff == NULL,
	    "empty fields: pack %zu bytes (expected %zu), unpack rc %d, %s "
	    "differs", len, HDR_LEN + 4, rc, T_STR(diff));
	free(blob);
}

/*
 * Blobs that are not pack's, made from alice's: each edit at an offset
 * (or a change of length) must be refused.
 */
enum edit {
	E_SET,		/* buf[off] = val */
	E_XOR,		/* buf[off] ^= val */
	E_APPEND,	/* one more byte, val */
	E_DROP_NUL,	/* the last NUL becomes val */
	E_NUL_AT,	/* the NUL ending string number off becomes val */
};

struct bad_case {
	const char	*name;
	enum edit	 edit;
	size_t		 off;
	unsigned char	 val;
};

static const struct bad_case bad_cases[] = {
	{ "magic 0", E_SET, 0, 0x00 },
	{ "magic flipped", E_XOR, 0, 0xff },
	{ "magic +1", E_XOR, 0, 0x01 },
	{ "subject attrs above cap", E_SET, 1, IDENTITY_ATTRS_MAX + 1 },
	{ "subject attrs 255", E_SET, 1, 255 },
	{ "issuer attrs above cap", E_SET, 2, IDENTITY_ATTRS_MAX + 1 },
	{ "san.dns above cap", E_SET, 3, IDENTITY_SANS_MAX + 1 },
	{ "san.email above cap", E_SET, 4, IDENTITY_SANS_MAX + 1 },
	{ "san.uri above cap", E_SET, 5, IDENTITY_SANS_MAX + 1 },
	{ "san.ip above cap", E_SET, 6, IDENTITY_SANS_MAX + 1 },
	{ "eku above cap", E_SET, 7, IDENTITY_OIDS_MAX + 1 },
	{ "policy OIDs above cap", E_SET, 8, IDENTITY_OIDS_MAX + 1 },
	{ "policy OIDs 255", E_SET, 8, 255 },
	{ "san.upn above cap", E_SET, 10, IDENTITY_SANS_MAX + 1 },
	{ "san.fascn above cap", E_SET, 11, IDENTITY_SANS_MAX + 1 },
	{ "san.uuid above cap", E_SET, 12, IDENTITY_SANS_MAX + 1 },
	{ "one more san.uuid", E_SET, 12, 1 },
	{ "valid policies above cap", E_SET, 13, IDENTITY_OIDS_MAX + 1 },
	{ "one more valid policy", E_SET, 13, 1 },
	/* within the caps but not what the strings say */
	{ "subject attrs at cap", E_SET, 1, IDENTITY_ATTRS_MAX },
	{ "san.dns at cap", E_SET, 3, IDENTITY_SANS_MAX },
	{ "eku at cap", E_SET, 7, IDENTITY_OIDS_MAX },
	{ "one more policy OID", E_SET, 8, 1 },
	{ "one EKU fewer", E_SET, 7, 0 },
	{ "no subject attrs", E_SET, 1, 0 },
	/* the length */
	{ "trailing byte", E_APPEND, 0, 'x' },
	{ "trailing NUL", E_APPEND, 0, '\0' },
	{ "last NUL missing", E_DROP_NUL, 0, 'x' },
	{ "subject NUL missing", E_NUL_AT, 0, 'x' },
	{ "issuer NUL missing", E_NUL_AT, 1, 'x' },
	{ "serial NUL missing", E_NUL_AT, 2, 'x' },
	{ "fingerprint NUL missing", E_NUL_AT, 3, 'x' },
	{ "first attribute type NUL missing", E_NUL_AT, 4, 'x' },
};

/* Offset of the NUL ending the k-th string after the header, or len. */
static size_t
nul_of(const unsigned char *b, size_t len, size_t k)
{
	size_t	 off = HDR_LEN;

	for (; off < len; off++)
		if (b[off] == '\0' && k-- == 0)
			return off;
	return len;
}

static void
test_bad(void)
{
	const struct bad_case	*c;
	struct identity_fields	 f, u;
	unsigned char		*blob, *bad;
	size_t			 i, len, blen, off;
	int			 rc;

	if (load_fixture("client.pem", &f) != 0) {
		CHECK(0, "alice: identity_fields_load failed");
		identity_fields_cleanup(&f);
		return;
	}
	blob = pack(&f, &len);
	rc = identity_fields_unpack(blob, len, &u);
	CHECK(rc == 0, "alice's own blob refused: %d", rc);
	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		c = &bad_cases[i];
		blen = c->edit == E_APPEND ? len + 1 : len;
		bad = malloc(blen);
		memcpy(bad, blob, len);
		switch (c->edit) {
		case E_SET:
			bad[c->off] = c->val;
			break;
		case E_XOR:
			bad[c->off] ^= c->val;
			break;
		case E_APPEND:
			bad[len] = c->val;
			break;
		case E_DROP_NUL:
			bad[len - 1] = c->val;
			break;
		case E_NUL_AT:
			off = nul_of(bad, len, c->off);
			if (off < len)
				bad[off] = c->val;
			break;
		}
		CHECK(memcmp(bad, blob, len) != 0 || blen != len,
		    "%s: the edit changed nothing", c->name);
		memset(&u, 0, sizeof(u));
		rc = identity_fields_unpack(bad, blen, &u);
		CHECK(rc == -1, "%s: expected -1, got %d", c->name, rc);
		free(bad);
	}

	/* a subject longer than struct identity holds */
	bad = malloc(HDR_LEN + IDENTITY_DN_MAX + 8);
	memcpy(bad, blob, HDR_LEN);
	memset(bad + 1, 0, 8);			/* no lists */
	memset(bad + HDR_LEN, 'A', IDENTITY_DN_MAX);
	bad[HDR_LEN + IDENTITY_DN_MAX] = '\0';	/* subject: 1024 bytes */
	memcpy(bad + HDR_LEN + IDENTITY_DN_MAX + 1, "i\0s\0f\0", 6);
	rc = identity_fields_unpack(bad, HDR_LEN + IDENTITY_DN_MAX + 7, &u);
	CHECK(rc == -1, "subject of %d bytes: expected -1, got %d",
	    IDENTITY_DN_MAX, rc);
	/* one byte shorter fits exactly */
	bad[HDR_LEN + IDENTITY_DN_MAX - 1] = '\0';
	memcpy(bad + HDR_LEN + IDENTITY_DN_MAX, "i\0s\0f\0", 6);
	rc = identity_fields_unpack(bad, HDR_LEN + IDENTITY_DN_MAX + 6, &u);
	CHECK(rc == 0 && strlen(u.id.subject) == IDENTITY_DN_MAX - 1 &&
	    strcmp(u.id.fingerprint, "f") == 0, "subject of %d bytes: "
	    "expected 0, got %d", IDENTITY_DN_MAX - 1, rc);
	free(bad);

	/* a fingerprint longer than IDENTITY_FP_MAX - 1 */
	bad = malloc(HDR_LEN + 8 + IDENTITY_FP_MAX);
	memcpy(bad, blob, HDR_LEN);
	memset(bad + 1, 0, 8);
	memcpy(bad + HDR_LEN, "s\0i\0n\0", 6);
	memset(bad + HDR_LEN + 6, 'f', IDENTITY_FP_MAX);
	bad[HDR_LEN + 6 + IDENTITY_FP_MAX] = '\0';
	rc = identity_fields_unpack(bad, HDR_LEN + 7 + IDENTITY_FP_MAX, &u);
	CHECK(rc == -1, "fingerprint of %d bytes: expected -1, got %d",
	    IDENTITY_FP_MAX, rc);
	free(bad);

	/* nothing at all */
	CHECK(identity_fields_unpack(blob, 0, &u) == -1, "empty blob accepted");
	free(blob);
	identity_fields_cleanup(&f);
}

/*
 * The smart-card identities (issue 13): the UPN and FASC-N otherNames,
 * the urn:uuid: URI as a UUID in lowercase; an unknown otherName and a
 * urn:uuid: that is not a UUID are not kept (the latter stays in san.uri).
 */
static void
test_smartcard(void)
{
	struct identity_fields	 f;
	int			 rc;

	rc = load_fixture("smartcard.pem", &f);
	CHECK(rc == 0, "smartcard.pem: identity_fields_load: %d", rc);
	CHECK(f.nsan_upn == 1 && strcmp(f.san_upn[0],
	    "dave@corp.example.com") == 0, "san.upn: %zu, %s", f.nsan_upn,
	    T_STR(first(f.san_upn, f.nsan_upn)));
	CHECK(f.nsan_fascn == 1 && strcmp(f.san_fascn[0],
	    "d4e739da739ced39ce739d836858210842108421c84210c3eb") == 0,
	    "san.fascn: %zu, %s", f.nsan_fascn,
	    T_STR(first(f.san_fascn, f.nsan_fascn)));
	CHECK(f.nsan_uuid == 1 && strcmp(f.san_uuid[0],
	    "f81d4fae-7dec-11d0-a765-00a0c91e6bf6") == 0, "san.uuid: %zu, %s",
	    f.nsan_uuid, T_STR(first(f.san_uuid, f.nsan_uuid)));
	CHECK(f.nsan_uri == 2 && strcmp(f.san_uri[1], "urn:uuid:not-a-uuid") ==
	    0, "san.uri keeps both URIs: %zu", f.nsan_uri);
	CHECK(!f.truncated && !f.unreadable, "smartcard.pem: flags %d %d",
	    f.truncated, f.unreadable);
	identity_fields_cleanup(&f);
}

/*
 * A certificate whose DNS names pass the cap (fields truncated: policies
 * fail closed) and that also carries an empty FASC-N: the empty value is
 * not kept, and must not clear the truncation.
 */
static void
test_truncated_stays(void)
{
	GENERAL_NAMES		*gens = GENERAL_NAMES_new();
	GENERAL_NAME		*g;
	OTHERNAME		*on;
	struct identity_fields	 f;
	unsigned char		 md[IDENTITY_SHA256_LEN] = { 0 };
	char			 dns[32];
	X509			*x = X509_new();
	size_t			 i;
	int			 rc;

	if (gens == NULL || x == NULL ||
	    X509_gmtime_adj(X509_getm_notBefore(x), 0) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(x), 86400) == NULL)
		exit(2);
	for (i = 0; i <= IDENTITY_SANS_MAX; i++) {
		snprintf(dns, sizeof(dns), "h%zu.example", i);
		if ((g = GENERAL_NAME_new()) == NULL ||
		    (g->d.dNSName = ASN1_IA5STRING_new()) == NULL ||
		    ASN1_STRING_set(g->d.dNSName, dns, -1) != 1)
			exit(2);
		g->type = GEN_DNS;
		sk_GENERAL_NAME_push(gens, g);
	}
	if ((g = GENERAL_NAME_new()) == NULL || (on = OTHERNAME_new()) == NULL)
		exit(2);
	ASN1_OBJECT_free(on->type_id);	/* OTHERNAME_new may fill both */
	if ((on->type_id = OBJ_txt2obj("2.16.840.1.101.3.6.6", 1)) == NULL ||
	    (on->value == NULL && (on->value = ASN1_TYPE_new()) == NULL))
		exit(2);
	ASN1_TYPE_set(on->value, V_ASN1_OCTET_STRING, ASN1_OCTET_STRING_new());
	g->type = GEN_OTHERNAME;
	g->d.otherName = on;
	sk_GENERAL_NAME_push(gens, g);
	if (X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, 0) != 1)
		exit(2);
	rc = identity_fields_load(x, md, time(NULL), &f);
	CHECK(rc == 0 && f.nsan_dns == IDENTITY_SANS_MAX && f.nsan_fascn == 0 &&
	    f.truncated, "65 DNS names and an empty FASC-N: rc %d, %zu names, "
	    "%zu FASC-Ns, truncated %d", rc, f.nsan_dns, f.nsan_fascn,
	    f.truncated);
	identity_fields_cleanup(&f);
	GENERAL_NAMES_free(gens);
	X509_free(x);
}

int
main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s PKI_DIR\n", argv[0]);
		return 2;
	}
	pki = argv[1];
	test_fixtures();
	test_smartcard();
	test_truncated_stays();
	test_full();
	test_bad();
	return t_done();
}
