/*
 * test_request.c: request_cert_decode and request_pem_decode.
 *
 * Decoding does not parse DER, so small bodies ("QUJD" is "ABC") stand in
 * for certificates.  Every MALFORMED case names a substring of its why.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "request.h"
#include "t.h"

/* nginx's $ssl_client_escaped_cert spelling of the armour */
#define B	"-----BEGIN%20CERTIFICATE-----%0A"
#define E	"-----END%20CERTIFICATE-----%0A"
/* the same in a PEM file */
#define PB	"-----BEGIN CERTIFICATE-----\n"
#define PE	"-----END CERTIFICATE-----\n"

enum which { HDR, PEM };

struct rcase {
	const char			*name;
	enum which			 fn;
	const char			*in;
	size_t				 len;	/* 0: strlen(in) */
	enum request_cert_status	 want;
	const char			*out;	/* OK: DER bytes; MALFORMED: why */
	size_t				 outlen;
};

#define OK(name, fn, in, der)	{ name, fn, in, 0, REQUEST_CERT_OK, der, sizeof(der) - 1 }
#define BAD(name, fn, in, why)	{ name, fn, in, 0, REQUEST_CERT_MALFORMED, why, 0 }

static const struct rcase cases[] = {
	/* absent */
	{ "empty header", HDR, "", 0, REQUEST_CERT_ABSENT, NULL, 0 },
	{ "empty pem", PEM, "", 0, REQUEST_CERT_ABSENT, NULL, 0 },
	{ "whitespace-only pem file", PEM, " \n\t\r\n", 0, REQUEST_CERT_ABSENT, NULL, 0 },

	/* good */
	OK("escaped", HDR, B "QUJD%0A" E, "ABC"),
	OK("escaped, no final newline", HDR, B "QUJD%0A-----END%20CERTIFICATE-----", "ABC"),
	OK("escaped + / =", HDR, B "%2B%2F8%3D%0A" E, "\xfb\xff"),
	OK("lowercase escapes", HDR, B "%2b%2f8%3d%0a" E, "\xfb\xff"),
	OK("unescaped + / =", HDR, B "+/8=%0A" E, "\xfb\xff"),
	OK("one pad", HDR, B "QUI%3D%0A" E, "AB"),
	OK("two pads", HDR, B "QQ%3D%3D%0A" E, "A"),
	OK("raw spaces in armour", HDR, "-----BEGIN CERTIFICATE-----%0AQUJD%0A-----END CERTIFICATE-----", "ABC"),
	OK("CRLF", HDR, "-----BEGIN%20CERTIFICATE-----%0D%0AQUJD%0D%0A-----END%20CERTIFICATE-----%0D%0A", "ABC"),
	OK("nginx tab continuation, raw", HDR, "-----BEGIN CERTIFICATE-----\n\tQUJD\n\tQUJD\n\t-----END CERTIFICATE-----\n", "ABCABC"),
	OK("nginx tab continuation, escaped", HDR, B "%09QUJD%0A%09-----END%20CERTIFICATE-----%0A", "ABC"),
	OK("base64 split across lines", HDR, B "QU%0AJD%0AQU%0AJD%0A" E, "ABCABC"),
	OK("leading and trailing whitespace", HDR, "%0A%20" B "QUJD%0A" E "%0A%0A%20", "ABC"),
	OK("pem file", PEM, PB "QUJD\n" PE, "ABC"),
	OK("pem file CRLF", PEM, "-----BEGIN CERTIFICATE-----\r\nQUJD\r\n-----END CERTIFICATE-----\r\n", "ABC"),
	OK("pem file + / =", PEM, PB "+/8=\n" PE, "\xfb\xff"),

	/* escapes */
	BAD("% at end", HDR, B "QUJD%0A" E "%", "truncated %-escape"),
	BAD("%4 truncated", HDR, B "QUJD%0A" E "%4", "truncated %-escape"),
	BAD("% alone", HDR, "%", "truncated %-escape"),
	BAD("%ZZ", HDR, B "QU%ZZJD%0A" E, "invalid %-escape"),
	BAD("%G0", HDR, B "%G0QUJD%0A" E, "invalid %-escape"),
	BAD("%0 then non-hex", HDR, B "QUJD%0" "Z" E, "invalid %-escape"),
	BAD("%00", HDR, B "QUJD%00%0A" E, "NUL"),
	BAD("%00 alone", HDR, "%00", "NUL"),
	{ "raw NUL in header", HDR, B "QU\0JD%0A" E, sizeof(B "QU\0JD%0A" E) - 1,
	    REQUEST_CERT_MALFORMED, "NUL", 0 },
	{ "raw NUL in pem", PEM, PB "QU\0JD\n" PE, sizeof(PB "QU\0JD\n" PE) - 1,
	    REQUEST_CERT_MALFORMED, "NUL", 0 },
	BAD("pem file is not URL-decoded", PEM, PB "QUJD%0A" PE, "invalid base64"),

	/* not a certificate */
	BAD("private key", HDR, "-----BEGIN%20PRIVATE%20KEY-----%0AQUJD%0A-----END%20PRIVATE%20KEY-----%0A", "a private key"),
	BAD("EC private key", HDR, "-----BEGIN%20EC%20PRIVATE%20KEY-----%0AQUJD%0A-----END%20EC%20PRIVATE%20KEY-----%0A", "a private key"),
	BAD("RSA private key", PEM, "-----BEGIN RSA PRIVATE KEY-----\nQUJD\n-----END RSA PRIVATE KEY-----\n", "a private key"),
	BAD("encrypted private key", PEM, "-----BEGIN ENCRYPTED PRIVATE KEY-----\nQUJD\n-----END ENCRYPTED PRIVATE KEY-----\n", "a private key"),
	BAD("certificate request", HDR, "-----BEGIN%20CERTIFICATE%20REQUEST-----%0AQUJD%0A-----END%20CERTIFICATE%20REQUEST-----%0A", "a certificate request"),
	BAD("new certificate request", PEM, "-----BEGIN NEW CERTIFICATE REQUEST-----\nQUJD\n-----END NEW CERTIFICATE REQUEST-----\n", "a certificate request"),
	BAD("public key", HDR, "-----BEGIN%20PUBLIC%20KEY-----%0AQUJD%0A-----END%20PUBLIC%20KEY-----%0A", "a public key"),
	BAD("CRL", PEM, "-----BEGIN X509 CRL-----\nQUJD\n-----END X509 CRL-----\n", "a CRL"),
	BAD("trusted certificate", PEM, "-----BEGIN TRUSTED CERTIFICATE-----\nQUJD\n-----END TRUSTED CERTIFICATE-----\n", "not a CERTIFICATE"),
	BAD("no armour", HDR, "QUJD", "no BEGIN CERTIFICATE"),
	BAD("text before BEGIN", HDR, "x" B "QUJD%0A" E, "no BEGIN CERTIFICATE"),
	BAD("DER sent raw", HDR, "%30%82%01%02", "no BEGIN CERTIFICATE"),

	/* shape */
	BAD("two certificates", HDR, B "QUJD%0A" E B "QUJD%0A" E, "more than one"),
	BAD("two certificates in a file", PEM, PB "QUJD\n" PE PB "QUJD\n" PE, "more than one"),
	BAD("certificate then key", HDR, B "QUJD%0A" E "-----BEGIN%20PRIVATE%20KEY-----%0AQUJD%0A-----END%20PRIVATE%20KEY-----%0A", "more than one"),
	BAD("missing END", HDR, B "QUJD%0A", "truncated PEM"),
	BAD("cut inside END", HDR, B "QUJD%0A-----END%20CERTIF", "truncated PEM"),
	BAD("BEGIN only", HDR, "-----BEGIN%20CERTIFICATE-----", ""),
	BAD("text glued to BEGIN", HDR, "-----BEGIN%20CERTIFICATE-----QUJD%0A" E, "text after the BEGIN"),
	BAD("END of another type", HDR, B "QUJD%0A-----END%20PRIVATE%20KEY-----%0A", "truncated PEM"),
	BAD("text after END", HDR, B "QUJD%0A" E "garbage", "text after the END"),
	BAD("text glued to END", HDR, B "QUJD%0A-----END%20CERTIFICATE-----x", "text after the END"),
	BAD("empty body", HDR, B E, "empty certificate"),
	BAD("whitespace only", HDR, "%20%0A%09%0D", "only whitespace"),
	BAD("raw whitespace only", HDR, "   ", "only whitespace"),

	/* base64 */
	BAD("invalid base64 char", HDR, B "QU*D%0A" E, "invalid base64"),
	BAD("base64url char", HDR, B "QU_D%0A" E, "invalid base64"),
	BAD("high byte in base64", HDR, B "QU%C3%A9D%0A" E, "invalid base64"),
	BAD("truncated base64", HDR, B "QUJ%0A" E, "truncated base64"),
	BAD("one extra char", HDR, B "QUJDQ%0A" E, "truncated base64"),
	BAD("A===", HDR, B "A%3D%3D%3D%0A" E, "padding"),
	BAD("====", HDR, B "%3D%3D%3D%3D%0A" E, "padding"),
	BAD("AB=C", HDR, B "AB%3DC%0A" E, "base64"),
	/*
	 * BUG (authd/request.c request_pem_decode, since commit 55407d2):
	 * the four-at-a-time fast path runs whenever nacc == 0 and never
	 * looks at pad, so a full quad after a padded one ("QQ==QUJD") is
	 * decoded (to 41 41 42 43) instead of refused.
	 */
	BAD("data after padding", HDR, B "QQ%3D%3DQUJD%0A" E, "base64"),
	BAD("data after one pad", HDR, B "QUI%3DQUJD%0A" E, "base64"),
	BAD("data after padding, next line", PEM, PB "QQ==\nQUJD\n" PE, "base64"),
	BAD("data after padding, short", HDR, B "QQ%3D%3DQU%0A" E, "base64"),
	BAD("lone pad", HDR, B "QUJD%3D%0A" E, "base64"),
	BAD("pem A===", PEM, PB "A===\n" PE, "padding"),
	BAD("pem AB=C", PEM, PB "AB=C\n" PE, "base64"),
};

/* Base64 of n pattern bytes, 64 per line, each line ending in nl. */
static char *
big_body(size_t n, const char *begin, const char *nl, const char *end)
{
	unsigned char	*raw;
	char		*b64, *out, *p;
	size_t		 b64len, i, lines, cap;

	raw = malloc(n);
	for (i = 0; i < n; i++)
		raw[i] = (unsigned char)(i * 7 + 3);
	b64 = malloc(4 * ((n + 2) / 3) + 1);
	b64len = (size_t)EVP_EncodeBlock((unsigned char *)b64, raw, (int)n);
	lines = (b64len + 63) / 64;
	cap = strlen(begin) + b64len + lines * strlen(nl) + strlen(end) + 1;
	out = malloc(cap);
	p = out;
	p += snprintf(p, cap, "%s", begin);
	for (i = 0; i < b64len; i += 64) {
		size_t k = b64len - i < 64 ? b64len - i : 64;

		memcpy(p, b64 + i, k);
		p += k;
		p += snprintf(p, cap - (size_t)(p - out), "%s", nl);
	}
	snprintf(p, cap - (size_t)(p - out), "%s", end);
	free(raw);
	free(b64);
	return out;
}

static enum request_cert_status
decode(enum which fn, const char *in, size_t len, unsigned char *der,
    size_t *derlen, const char **why)
{
	return fn == HDR ? request_cert_decode(in, len, der, derlen, why) :
	    request_pem_decode(in, len, der, derlen, why);
}

static const char *
st_name(enum request_cert_status st)
{
	switch (st) {
	case REQUEST_CERT_OK: return "OK";
	case REQUEST_CERT_ABSENT: return "ABSENT";
	case REQUEST_CERT_MALFORMED: return "MALFORMED";
	}
	return "?";
}

static void
run_table(unsigned char *der)
{
	const struct rcase	*c;
	enum request_cert_status st;
	const char		*why;
	size_t			 i, len, derlen;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		c = &cases[i];
		len = c->len != 0 ? c->len : strlen(c->in);
		why = NULL;
		derlen = 0;
		st = decode(c->fn, c->in, len, der, &derlen, &why);
		CHECK(st == c->want, "%s: %s: input %s: expected %s, got %s (why %s)",
		    c->name, c->fn == HDR ? "cert" : "pem", t_show(c->in, len),
		    st_name(c->want), st_name(st), T_STR(why));
		if (st != c->want)
			continue;
		if (c->want == REQUEST_CERT_OK)
			CHECK(derlen == c->outlen &&
			    memcmp(der, c->out, derlen) == 0,
			    "%s: expected DER %s, got %s", c->name,
			    t_show(c->out, c->outlen), t_show(der, derlen));
		else if (c->want == REQUEST_CERT_MALFORMED)
			CHECK(t_contains(why, c->out),
			    "%s: expected why containing \"%s\", got %s",
			    c->name, c->out, T_STR(why));
	}
}

/* Bodies around REQUEST_DER_MAX, through both entry points. */
static void
run_sizes(unsigned char *der)
{
	static const struct {
		size_t				 n;
		enum request_cert_status	 want;
	} sizes[] = {
		{ 1, REQUEST_CERT_OK },
		{ 1000, REQUEST_CERT_OK },
		{ REQUEST_DER_MAX - 2, REQUEST_CERT_OK },
		/*
		 * BUG (authd/request.c request_pem_decode): the size check
		 * is "out + 3 > REQUEST_DER_MAX" for every quad, even one
		 * with padding that yields 1 or 2 bytes, so DER of
		 * REQUEST_DER_MAX - 1 and REQUEST_DER_MAX bytes is refused.
		 */
		{ REQUEST_DER_MAX - 1, REQUEST_CERT_OK },
		{ REQUEST_DER_MAX, REQUEST_CERT_OK },
		{ REQUEST_DER_MAX + 1, REQUEST_CERT_MALFORMED },
		{ REQUEST_DER_MAX + 3, REQUEST_CERT_MALFORMED },
		{ REQUEST_DER_MAX + 1000, REQUEST_CERT_MALFORMED },
	};
	enum request_cert_status st;
	const char		*why;
	size_t			 i, j, derlen, bad;
	char			*body;
	int			 fn;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		for (fn = HDR; fn <= PEM; fn++) {
			body = fn == HDR ? big_body(sizes[i].n, B, "%0A", E) :
			    big_body(sizes[i].n, PB, "\n", PE);
			why = NULL;
			derlen = 0;
			st = decode((enum which)fn, body, strlen(body), der,
			    &derlen, &why);
			CHECK(st == sizes[i].want, "%s: %zu DER bytes (%zu "
			    "bytes of input): expected %s, got %s (why %s)",
			    fn == HDR ? "cert" : "pem", sizes[i].n, strlen(body),
			    st_name(sizes[i].want), st_name(st), T_STR(why));
			if (st == REQUEST_CERT_OK && sizes[i].want == st) {
				for (bad = 0, j = 0; j < derlen; j++)
					if (der[j] != (unsigned char)(j * 7 + 3))
						bad++;
				CHECK(derlen == sizes[i].n && bad == 0,
				    "%zu DER bytes: got %zu bytes, %zu wrong",
				    sizes[i].n, derlen, bad);
			}
			if (st == REQUEST_CERT_MALFORMED &&
			    sizes[i].want == st)
				CHECK(t_contains(why, "larger than the limit"),
				    "%zu DER bytes: why %s", sizes[i].n,
				    T_STR(why));
			free(body);
		}
	}
}

/* A header of exactly REQUEST_CERT_HEADER_MAX bytes is read; one more is not. */
static void
run_header_limit(unsigned char *der)
{
	static const char	 pem[] = B "QUJD%0A" E;
	enum request_cert_status st;
	const char		*why;
	size_t			 derlen, n;
	char			*hdr;

	for (n = REQUEST_CERT_HEADER_MAX; n <= REQUEST_CERT_HEADER_MAX + 1;
	    n++) {
		hdr = malloc(n);
		memcpy(hdr, pem, sizeof(pem) - 1);
		memset(hdr + sizeof(pem) - 1, ' ', n - (sizeof(pem) - 1));
		why = NULL;
		st = request_cert_decode(hdr, n, der, &derlen, &why);
		if (n == REQUEST_CERT_HEADER_MAX)
			CHECK(st == REQUEST_CERT_OK && derlen == 3,
			    "header of %zu bytes (the limit): expected OK, "
			    "got %s (why %s)", n, st_name(st), T_STR(why));
		else
			CHECK(st == REQUEST_CERT_MALFORMED &&
			    t_contains(why, "larger than the limit"),
			    "header of %zu bytes: expected MALFORMED larger "
			    "than the limit, got %s (why %s)", n, st_name(st),
			    T_STR(why));
		free(hdr);
	}
	/* 200 kB, as the hostile-input test sends */
	n = 200 * 1024;
	hdr = malloc(n);
	memset(hdr, 'A', n);
	why = NULL;
	st = request_cert_decode(hdr, n, der, &derlen, &why);
	CHECK(st == REQUEST_CERT_MALFORMED && t_contains(why, "larger"),
	    "200 kB header: expected MALFORMED, got %s (why %s)", st_name(st),
	    T_STR(why));
	free(hdr);
}

/* The header need not be NUL-terminated: only len bytes are read. */
static void
run_unterminated(unsigned char *der)
{
	static const char	 pem[] = B "QUJD%0A" E;
	enum request_cert_status st;
	const char		*why = NULL;
	size_t			 derlen = 0, n = sizeof(pem) - 1;
	char			*hdr;

	hdr = malloc(n);	/* exact size: ASan sees any read past it */
	memcpy(hdr, pem, n);
	st = request_cert_decode(hdr, n, der, &derlen, &why);
	CHECK(st == REQUEST_CERT_OK && derlen == 3 &&
	    memcmp(der, "ABC", 3) == 0, "unterminated header: got %s (why %s)",
	    st_name(st), T_STR(why));
	/* the same bytes cut before the final '%0A': "...-----%0" */
	st = request_cert_decode(hdr, n - 1, der, &derlen, &why);
	CHECK(st == REQUEST_CERT_MALFORMED &&
	    t_contains(why, "truncated %-escape"),
	    "header cut inside an escape: got %s (why %s)", st_name(st),
	    T_STR(why));
	free(hdr);
}

/* request_path_normalize: {uri, expected path or NULL for refused, why}. */
static const struct {
	const char	*uri, *want, *why;
} path_cases[] = {
	{ "/a/b",			"/a/b",		NULL },
	{ "/a//b/",			"/a/b/",	NULL },
	{ "/a/./b",			"/a/b",		NULL },
	{ "/a/../b",			"/b",		NULL },
	{ "/a/b/..",			"/a/",		NULL },
	{ "/a/b/.",			"/a/b/",	NULL },
	{ "/a/..//b",			"/b",		NULL },
	{ "/./",			"/",		NULL },
	{ "/",				"/",		NULL },
	{ "/admin/..",			"/",		NULL },
	/* what nginx routes on is decoded: so is what rules see */
	{ "/%61dmin/x",			"/admin/x",	NULL },
	{ "/a/%2e%2e/admin/",		"/admin/",	NULL },
	{ "/public%2f..%2fadmin",	"/admin",	NULL },
	{ "/admin/x?y=/../z#f",		"/admin/x",	NULL },
	{ "/a%20b",			"/a b",		NULL },
	{ "https://h.example/x/../admin", "/admin",	NULL },
	{ "http://h.example",		"/",		NULL },
	{ "/..",			NULL,	"climbs above" },
	{ "/a/../../b",			NULL,	"climbs above" },
	{ "/%2e%2e/",			NULL,	"climbs above" },
	{ "admin",			NULL,	"does not start with /" },
	{ "",				NULL,	"no request path" },
	{ "/a%0ab",			NULL,	"control byte" },
	{ "/a%00b",			NULL,	"control byte" },
	{ "/a%7f",			NULL,	"control byte" },
	{ "/a%zz",			NULL,	"invalid %-escape" },
	{ "/a%4",			NULL,	"invalid %-escape" },
	{ "/a%",			NULL,	"invalid %-escape" },
};

static void
test_path(void)
{
	char		 out[64], big[200];
	const char	*why;
	size_t		 i;
	int		 rc;

	for (i = 0; i < sizeof(path_cases) / sizeof(path_cases[0]); i++) {
		why = "";
		rc = request_path_normalize(path_cases[i].uri, out, sizeof(out),
		    &why);
		if (path_cases[i].want != NULL)
			CHECK(rc == 0 && strcmp(out, path_cases[i].want) == 0,
			    "path %s: want %s, got rc %d %s", path_cases[i].uri,
			    path_cases[i].want, rc, rc == 0 ? out : why);
		else
			CHECK(rc == -1 && strstr(why, path_cases[i].why) != NULL,
			    "path %s: want refusal \"%s\", got rc %d %s",
			    path_cases[i].uri, path_cases[i].why, rc,
			    rc == 0 ? out : why);
	}
	why = "";
	CHECK(request_path_normalize(NULL, out, sizeof(out), &why) == -1,
	    "NULL path must be refused");
	/* longer than the buffer: refused, never cut */
	memset(big, 'a', sizeof(big) - 1);
	big[0] = '/';
	big[sizeof(big) - 1] = '\0';
	CHECK(request_path_normalize(big, out, sizeof(out), &why) == -1 &&
	    strstr(why, "too long") != NULL, "long path: got %s", why);
}

/* request_headers_add: one decision header once, never with a NUL. */
static void
test_headers(void)
{
	static const struct {
		const char	*name;
		const char	*h1, *v1;
		size_t		 v1len;		/* 0: strlen */
		const char	*h2, *v2;	/* NULL: one header only */
		enum request_refusal want;
		const char	*why;
	} hcases[] = {
		{ "one URI", "X-Original-URI", "/a", 0, NULL, NULL,
		  REQUEST_REFUSED_NONE, NULL },
		{ "name case", "x-original-uri", "/a", 0, "X-ORIGINAL-METHOD",
		  "GET", REQUEST_REFUSED_NONE, NULL },
		{ "two URIs", "X-Original-URI", "/public", 0, "X-Original-URI",
		  "/admin", REQUEST_REFUSED_OTHER,
		  "duplicate X-Original-URI header" },
		{ "two rule sets", "X-Authd-Ruleset", "a", 0, "x-authd-ruleset",
		  "b", REQUEST_REFUSED_OTHER, "duplicate X-Authd-Ruleset header" },
		{ "two methods", "X-Original-Method", "GET", 0,
		  "X-Original-Method", "POST", REQUEST_REFUSED_OTHER,
		  "duplicate X-Original-Method header" },
		{ "two hosts", "X-Original-Host", "a", 0, "X-Original-Host", "b",
		  REQUEST_REFUSED_OTHER, "duplicate X-Original-Host header" },
		{ "two certificates", "X-SSL-Client-Cert", "x", 0,
		  "X-SSL-Client-Cert", "y", REQUEST_REFUSED_CERT,
		  "duplicate X-SSL-Client-Cert header" },
		{ "two verify", "X-SSL-Client-Verify", "SUCCESS", 0,
		  "X-SSL-Client-Verify", "NONE", REQUEST_REFUSED_CERT,
		  "duplicate X-SSL-Client-Verify header" },
		{ "NUL in URI", "X-Original-URI", "/public\0/../admin/x", 19,
		  NULL, NULL, REQUEST_REFUSED_OTHER,
		  "NUL byte in the X-Original-URI header" },
		{ "NUL in rule set", "X-Authd-Ruleset", "a\0b", 3, NULL, NULL,
		  REQUEST_REFUSED_OTHER, "NUL byte in the X-Authd-Ruleset header" },
		{ "NUL in certificate", "X-SSL-Client-Cert", "ab\0c", 4, NULL,
		  NULL, REQUEST_REFUSED_CERT,
		  "NUL byte in the X-SSL-Client-Cert header" },
		{ "two request ids: not a decision input", "X-Request-Id", "1",
		  0, "X-Request-Id", "2", REQUEST_REFUSED_NONE, NULL },
		{ "NUL in an unread header", "User-Agent", "a\0b", 3, NULL, NULL,
		  REQUEST_REFUSED_NONE, NULL },
		{ "prefix of a name is not the name", "X-Original-URIx", "/a",
		  0, "X-Original-URI", "/b", REQUEST_REFUSED_NONE, NULL },
	};
	struct request_headers	 h;
	size_t			 i, len;

	for (i = 0; i < sizeof(hcases) / sizeof(hcases[0]); i++) {
		memset(&h, 0, sizeof(h));
		len = hcases[i].v1len != 0 ? hcases[i].v1len :
		    strlen(hcases[i].v1);
		request_headers_add(&h, hcases[i].h1, strlen(hcases[i].h1),
		    hcases[i].v1, len);
		if (hcases[i].h2 != NULL)
			request_headers_add(&h, hcases[i].h2,
			    strlen(hcases[i].h2), hcases[i].v2,
			    strlen(hcases[i].v2));
		CHECK(h.refusal == hcases[i].want, "%s: refusal %d, want %d",
		    hcases[i].name, h.refusal, hcases[i].want);
		CHECK(hcases[i].why == NULL ? h.refused == NULL :
		    h.refused != NULL && strcmp(h.refused, hcases[i].why) == 0,
		    "%s: refused %s, want %s", hcases[i].name, T_STR(h.refused),
		    T_STR(hcases[i].why));
	}
	/* a NUL in a name, and what was collected */
	memset(&h, 0, sizeof(h));
	request_headers_add(&h, "X-Original-URI\0x", 16, "/y", 2);
	CHECK(h.refusal == REQUEST_REFUSED_OTHER && h.uri == NULL,
	    "NUL in a name: refusal %d", h.refusal);
	memset(&h, 0, sizeof(h));
	request_headers_add(&h, "X-SSL-Client-Cert", 17, "abc", 3);
	request_headers_add(&h, "X-Request-Id", 12, "r1", 2);
	request_headers_add(&h, "X-Request-Id", 12, "r2", 2);
	CHECK(h.cert_len == 3 && h.request_id != NULL &&
	    strcmp(h.request_id, "r1") == 0 && h.request_id_len == 2,
	    "collected: cert_len %zu, request id %s", h.cert_len,
	    T_STR(h.request_id));
}

int
main(void)
{
	unsigned char	*der;

	/* exactly the documented capacity, so ASan sees any overrun */
	if ((der = malloc(REQUEST_DER_MAX)) == NULL)
		return 2;
	run_table(der);
	run_sizes(der);
	run_header_limit(der);
	run_unterminated(der);
	free(der);
	test_path();
	test_headers();
	return t_done();
}
