/*
 * request.c: strict decoding of the certificate nginx forwards.
 *
 * Two steps, each rejecting rather than repairing: URL-unescape (nginx's
 * $ssl_client_escaped_cert), then one PEM CERTIFICATE block to DER.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "request.h"

#define PEM_BEGIN	"-----BEGIN "
#define PEM_DASHES	"-----"
#define PEM_CERT_BEGIN	"-----BEGIN CERTIFICATE-----"
#define PEM_CERT_END	"-----END CERTIFICATE-----"

static int
hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Base64 alphabet value, B64_SPACE for PEM whitespace, B64_BAD otherwise. */
#define B64_BAD		 0xff
#define B64_SPACE	 0xfe
#define B64_PAD		 0xfd
#define B64_DASH	 0xfc

static unsigned char	 b64_table[256];
static pthread_once_t	 b64_once = PTHREAD_ONCE_INIT;

static void
b64_init(void)
{
	static const char	 alpha[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t			 i;

	memset(b64_table, B64_BAD, sizeof(b64_table));
	for (i = 0; i < 64; i++)
		b64_table[(unsigned char)alpha[i]] = (unsigned char)i;
	b64_table[' '] = b64_table['\t'] = B64_SPACE;
	b64_table['\r'] = b64_table['\n'] = B64_SPACE;
	b64_table['='] = B64_PAD;
	b64_table['-'] = B64_DASH;
}

static int
is_pem_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int
starts_with(const char *p, const char *end, const char *lit)
{
	size_t	 n = strlen(lit);

	return (size_t)(end - p) >= n && memcmp(p, lit, n) == 0;
}

/* Name what a non-certificate PEM block is, for the explanation. */
static const char *
pem_label_why(const char *p, const char *end)
{
	static const struct {
		const char	*label, *why;
	} labels[] = {
		{ "-----BEGIN PRIVATE KEY-----", "a private key, not a certificate" },
		{ "-----BEGIN RSA PRIVATE KEY-----", "a private key, not a certificate" },
		{ "-----BEGIN EC PRIVATE KEY-----", "a private key, not a certificate" },
		{ "-----BEGIN ENCRYPTED PRIVATE KEY-----", "a private key, not a certificate" },
		{ "-----BEGIN CERTIFICATE REQUEST-----", "a certificate request, not a certificate" },
		{ "-----BEGIN NEW CERTIFICATE REQUEST-----", "a certificate request, not a certificate" },
		{ "-----BEGIN PUBLIC KEY-----", "a public key, not a certificate" },
		{ "-----BEGIN X509 CRL-----", "a CRL, not a certificate" },
	};
	size_t	 i;

	for (i = 0; i < sizeof(labels) / sizeof(labels[0]); i++)
		if (starts_with(p, end, labels[i].label))
			return labels[i].why;
	return "PEM block is not a CERTIFICATE";
}

enum request_cert_status
request_pem_decode(const char *pem, size_t len, unsigned char *der,
    size_t *derlen, const char **why)
{
	const char	*p = pem, *end = pem + len;
	unsigned int	 acc = 0, nacc = 0, pad = 0;
	size_t		 out = 0;

	while (p < end && is_pem_space((unsigned char)*p))
		p++;
	if (p == end)
		return REQUEST_CERT_ABSENT;
	if (!starts_with(p, end, PEM_CERT_BEGIN)) {
		*why = starts_with(p, end, PEM_BEGIN) ? pem_label_why(p, end) :
		    "not a PEM certificate (no BEGIN CERTIFICATE line)";
		return REQUEST_CERT_MALFORMED;
	}
	p += strlen(PEM_CERT_BEGIN);
	if (p == end || (*p != '\n' && *p != '\r' && *p != ' ' && *p != '\t')) {
		*why = "text after the BEGIN CERTIFICATE line";
		return REQUEST_CERT_MALFORMED;
	}
	pthread_once(&b64_once, b64_init);
	for (; p < end; p++) {
		unsigned char c;

		/* Fast path: four alphabet characters make three bytes. */
		while (nacc == 0 && pad == 0 && end - p >= 4 &&
		    out + 3 <= REQUEST_DER_MAX) {
			unsigned char a = b64_table[(unsigned char)p[0]];
			unsigned char b = b64_table[(unsigned char)p[1]];
			unsigned char d = b64_table[(unsigned char)p[2]];
			unsigned char e = b64_table[(unsigned char)p[3]];

			if ((a | b | d | e) >= 64)
				break;
			acc = (unsigned int)a << 18 | (unsigned int)b << 12 |
			    (unsigned int)d << 6 | e;
			der[out++] = (unsigned char)(acc >> 16);
			der[out++] = (unsigned char)(acc >> 8);
			der[out++] = (unsigned char)acc;
			p += 4;
		}
		if (p == end)
			break;
		c = b64_table[(unsigned char)*p];

		if (c < 64) {
			if (pad > 0)
				goto bad_b64;
			acc = (acc << 6) | c;
			nacc++;
		} else if (c == B64_SPACE)
			continue;
		else if (c == B64_DASH)
			break;
		else if (c == B64_PAD) {
			if (++pad > 2) {
				*why = "bad base64 padding";
				return REQUEST_CERT_MALFORMED;
			}
			acc <<= 6;
			nacc++;
		} else
			goto bad_b64;
		if (nacc == 4) {
			if (out + 3 - pad > REQUEST_DER_MAX) {
				*why = "certificate larger than the limit";
				return REQUEST_CERT_MALFORMED;
			}
			der[out++] = (unsigned char)(acc >> 16);
			if (pad < 2)
				der[out++] = (unsigned char)(acc >> 8);
			if (pad < 1)
				der[out++] = (unsigned char)acc;
			acc = 0;
			nacc = 0;
		}
	}
	if (p == end || !starts_with(p, end, PEM_CERT_END)) {
		*why = "truncated PEM (no END CERTIFICATE line)";
		return REQUEST_CERT_MALFORMED;
	}
	if (nacc != 0 || out == 0) {
		*why = nacc != 0 ? "truncated base64 in certificate" :
		    "empty certificate";
		return REQUEST_CERT_MALFORMED;
	}
	p += strlen(PEM_CERT_END);
	while (p < end && is_pem_space((unsigned char)*p))
		p++;
	if (p != end) {
		*why = starts_with(p, end, PEM_BEGIN) ?
		    "more than one PEM block (send the leaf certificate only)" :
		    "text after the END CERTIFICATE line";
		return REQUEST_CERT_MALFORMED;
	}
	*derlen = out;
	return REQUEST_CERT_OK;
bad_b64:
	*why = *p == '\0' ? "NUL byte in certificate" :
	    "invalid base64 in certificate";
	return REQUEST_CERT_MALFORMED;
}

/* Unescaped header; per thread, so the warm path allocates nothing. */
static _Thread_local char	 request_buf[REQUEST_CERT_HEADER_MAX];

enum request_cert_status
request_cert_decode(const char *hdr, size_t len, unsigned char *der,
    size_t *derlen, const char **why)
{
	enum request_cert_status	 st;
	char				*pem;
	size_t				 i, o = 0;
	int				 hi, lo;

	if (len == 0)
		return REQUEST_CERT_ABSENT;
	if (len > REQUEST_CERT_HEADER_MAX) {
		*why = "certificate header larger than the limit";
		return REQUEST_CERT_MALFORMED;
	}
	pem = request_buf;
	for (i = 0; i < len; i++) {
		const char	*pct;
		size_t		 span;
		unsigned char	 c;

		/* Copy the run up to the next escape in one go. */
		pct = memchr(hdr + i, '%', len - i);
		span = (pct != NULL ? (size_t)(pct - hdr) : len) - i;
		if (span > 0) {
			if (memchr(hdr + i, '\0', span) != NULL) {
				*why = "NUL byte in certificate";
				return REQUEST_CERT_MALFORMED;
			}
			memcpy(pem + o, hdr + i, span);
			o += span;
			i += span;
			if (i == len)
				break;
		}
		if (i + 2 >= len) {
			*why = "truncated %-escape";
			return REQUEST_CERT_MALFORMED;
		}
		if ((hi = hexval((unsigned char)hdr[i + 1])) < 0 ||
		    (lo = hexval((unsigned char)hdr[i + 2])) < 0) {
			*why = "invalid %-escape";
			return REQUEST_CERT_MALFORMED;
		}
		if ((c = (unsigned char)(hi << 4 | lo)) == '\0') {
			*why = "NUL byte in certificate";
			return REQUEST_CERT_MALFORMED;
		}
		pem[o++] = (char)c;
		i += 2;
	}
	st = request_pem_decode(pem, o, der, derlen, why);
	if (st == REQUEST_CERT_ABSENT) {
		/* Whitespace only: the header was sent but says nothing. */
		*why = "certificate header holds only whitespace";
		st = REQUEST_CERT_MALFORMED;
	}
	return st;
}

int
request_path_normalize(const char *uri, char *out, size_t cap,
    const char **why)
{
	const char	*p = uri, *end;
	size_t		 o = 0, seg;
	int		 hi, lo;
	unsigned char	 c;

	if (cap < 2) {
		*why = "no room";
		return -1;
	}
	if (p == NULL || *p == '\0') {
		*why = "no request path (X-Original-URI)";
		return -1;
	}
	if (strncmp(p, "http://", 7) == 0 || strncmp(p, "https://", 8) == 0) {
		p = strchr(p + (p[4] == 's' ? 8 : 7), '/');
		if (p == NULL)
			p = "/";
	}
	if (*p != '/') {
		*why = "request path does not start with /";
		return -1;
	}
	end = p + strcspn(p, "?#");
	/* out[0..o) is always "/" followed by complete segments. */
	out[o++] = '/';
	seg = o;			/* start of the segment being written */
	for (; p < end; p++) {
		c = (unsigned char)*p;
		if (c == '%') {
			if (end - p < 3 ||
			    (hi = hexval((unsigned char)p[1])) < 0 ||
			    (lo = hexval((unsigned char)p[2])) < 0) {
				*why = "invalid %-escape in the request path";
				return -1;
			}
			c = (unsigned char)(hi << 4 | lo);
			p += 2;
		}
		if (c < 0x20 || c == 0x7f) {
			*why = "control byte in the request path";
			return -1;
		}
		if (c != '/') {
			if (o + 1 >= cap) {
				*why = "request path too long";
				return -1;
			}
			out[o++] = (char)c;
			continue;
		}
		/* A segment ended: resolve it. */
		if (o == seg)
			continue;			/* "//" */
		if (o - seg == 1 && out[seg] == '.') {
			o = seg;			/* "/./" */
			continue;
		}
		if (o - seg == 2 && out[seg] == '.' && out[seg + 1] == '.') {
			if (seg == 1) {
				*why = "request path climbs above /";
				return -1;
			}
			o = seg - 1;			/* drop "/.." and the parent */
			while (o > 0 && out[o - 1] != '/')
				o--;
			seg = o;
			continue;
		}
		if (o + 1 >= cap) {
			*why = "request path too long";
			return -1;
		}
		out[o++] = '/';
		seg = o;
	}
	/* The last segment: "." and ".." act on the directory. */
	if (o - seg == 1 && out[seg] == '.')
		o = seg;
	else if (o - seg == 2 && out[seg] == '.' && out[seg + 1] == '.') {
		if (seg == 1) {
			*why = "request path climbs above /";
			return -1;
		}
		o = seg - 1;
		while (o > 0 && out[o - 1] != '/')
			o--;
	}
	out[o] = '\0';
	return 0;
}

/* The first refusal wins: it is the one a log line should name. */
static void
request_refuse(struct request_headers *h, enum request_refusal r,
    const char *why)
{
	if (h->refusal != REQUEST_REFUSED_NONE)
		return;
	h->refusal = r;
	h->refused = why;
}

void
request_headers_add(struct request_headers *h, const char *name,
    size_t name_len, const char *value, size_t value_len)
{
	static const struct {
		const char	*name;
		size_t		 off;		/* of the value pointer in h */
		int		 cert;		/* refusal kind: about the certificate */
		const char	*dup, *nul;
	} known[] = {
#define RQ_HDR(n, field, cert)						\
	{ n, offsetof(struct request_headers, field), cert,		\
	  "duplicate " n " header", "NUL byte in the " n " header" }
		RQ_HDR("X-SSL-Client-Cert", cert, 1),
		RQ_HDR("X-SSL-Client-Verify", client_verify, 1),
		RQ_HDR("X-Original-URI", uri, 0),
		RQ_HDR("X-Original-Method", method, 0),
		RQ_HDR("X-Original-Host", host, 0),
		RQ_HDR("X-Authd-Ruleset", ruleset, 0),
		RQ_HDR("X-Authd-Cache-Scope", cache_scope, 0),
#undef RQ_HDR
	};
	const char	**slot;
	size_t		  i;

	if (memchr(name, '\0', name_len) != NULL) {
		request_refuse(h, REQUEST_REFUSED_OTHER,
		    "NUL byte in a header name");
		return;
	}
	if (name_len == 12 && strncasecmp(name, "X-Request-Id", 12) == 0) {
		/* Not a decision input: the audit log keeps the first. */
		if (h->request_id == NULL) {
			h->request_id = value;
			h->request_id_len = value_len;
		}
		return;
	}
	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strlen(known[i].name) == name_len &&
		    strncasecmp(name, known[i].name, name_len) == 0)
			break;
	if (i == sizeof(known) / sizeof(known[0]))
		return;
	slot = (const char **)(void *)((char *)h + known[i].off);
	if (*slot != NULL)
		request_refuse(h, known[i].cert ? REQUEST_REFUSED_CERT :
		    REQUEST_REFUSED_OTHER, known[i].dup);
	else if (memchr(value, '\0', value_len) != NULL)
		request_refuse(h, known[i].cert ? REQUEST_REFUSED_CERT :
		    REQUEST_REFUSED_OTHER, known[i].nul);
	*slot = value;
	if (known[i].off == offsetof(struct request_headers, cert))
		h->cert_len = value_len;
}
