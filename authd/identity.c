/* identity.c: what the backend learns about a verified client. */
#include <pthread.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/evp.h>

#include "err.h"
#include "identity.h"

static EVP_MD		*identity_md;
static pthread_once_t	 identity_md_once = PTHREAD_ONCE_INIT;

/*
 * Fetch SHA-256 once: EVP_sha256() makes OpenSSL 3 look the implementation
 * up again on every digest, a visible share of a cached decision.
 */
static void
identity_md_init(void)
{
	identity_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

int
identity_sha256(const unsigned char *der, size_t len,
    unsigned char out[IDENTITY_SHA256_LEN])
{
	unsigned int	 mdlen = 0;

	pthread_once(&identity_md_once, identity_md_init);
	if (identity_md == NULL ||
	    EVP_Digest(der, len, out, &mdlen, identity_md, NULL) != 1 ||
	    mdlen != IDENTITY_SHA256_LEN)
		return AUTHD_ECRYPTO;
	return 0;
}

void
identity_hex(const unsigned char md[IDENTITY_SHA256_LEN], char *out)
{
	static const char	 hex[] = "0123456789abcdef";
	size_t			 i;

	for (i = 0; i < IDENTITY_SHA256_LEN; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 0xf];
	}
	out[2 * IDENTITY_SHA256_LEN] = '\0';
}

size_t
identity_sanitize(char *dst, size_t len, const char *src, size_t srclen)
{
	static const char	 hex[] = "0123456789ABCDEF";
	size_t			 i, o = 0, need = 0, room;
	unsigned char		 c;

	if (len == 0)
		return 0;
	for (i = 0; i < srclen; i++) {
		c = (unsigned char)src[i];
		need += c >= 0x20 && c < 0x7f ? 1 : 3;
	}
	/* When it does not all fit, stop early enough for "...", never mid-escape. */
	room = need < len ? len - 1 : (len >= 4 ? len - 4 : 0);
	for (i = 0; i < srclen; i++) {
		c = (unsigned char)src[i];
		if (c >= 0x20 && c < 0x7f) {
			if (o + 1 > room)
				break;
			dst[o++] = (char)c;
		} else {
			if (o + 3 > room)
				break;
			dst[o++] = '\\';
			dst[o++] = hex[c >> 4];
			dst[o++] = hex[c & 0xf];
		}
	}
	if (need >= len && len >= 4) {
		memcpy(dst + o, "...", 3);
		o += 3;
	}
	dst[o] = '\0';
	return o;
}

/* Print through a memory BIO, then sanitise into out. */
static void
identity_bio_out(BIO *bio, char *out, size_t len)
{
	char	*data = NULL;
	long	 n;

	n = BIO_get_mem_data(bio, &data);
	if (n <= 0 || data == NULL)
		out[0] = '\0';
	else
		identity_sanitize(out, len, data, (size_t)n);
}

void
identity_dn(const X509_NAME *name, char *out, size_t len)
{
	BIO	*bio;

	out[0] = '\0';
	if (name == NULL || (bio = BIO_new(BIO_s_mem())) == NULL)
		return;
	/* The flags nginx uses for $ssl_client_s_dn. */
	if (X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253) >= 0)
		identity_bio_out(bio, out, len);
	BIO_free(bio);
}

int
identity_time(const ASN1_TIME *t, time_t *out)
{
	struct tm	 tm;

	memset(&tm, 0, sizeof(tm));
	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return AUTHD_EINVAL;
	*out = timegm(&tm);
	return 0;
}

/*
 * Uppercase hex, two digits per octet, "-" for a negative serial: what
 * nginx prints for $ssl_client_serial, without i2a_ASN1_INTEGER's line
 * breaks in very long values.
 */
static void
identity_serial(const ASN1_INTEGER *serial, char *out, size_t len)
{
	static const char	 hex[] = "0123456789ABCDEF";
	const unsigned char	*p = ASN1_STRING_get0_data(serial);
	int			 n = ASN1_STRING_length(serial), i;
	size_t			 o = 0;

	if (ASN1_STRING_type(serial) == V_ASN1_NEG_INTEGER && o + 1 < len)
		out[o++] = '-';
	if (n <= 0 && o + 2 < len) {
		out[o++] = '0';
		out[o++] = '0';
	}
	for (i = 0; i < n && o + 2 < len; i++) {
		out[o++] = hex[p[i] >> 4];
		out[o++] = hex[p[i] & 0xf];
	}
	out[o] = '\0';
}

int
identity_extract(X509 *x, const unsigned char md[IDENTITY_SHA256_LEN],
    struct identity *id)
{
	memset(id, 0, sizeof(*id));
	identity_dn(X509_get_subject_name(x), id->subject, sizeof(id->subject));
	identity_dn(X509_get_issuer_name(x), id->issuer, sizeof(id->issuer));
	identity_hex(md, id->fingerprint);
	identity_serial(X509_get0_serialNumber(x), id->serial,
	    sizeof(id->serial));
	if (identity_time(X509_get0_notBefore(x), &id->not_before) != 0 ||
	    identity_time(X509_get0_notAfter(x), &id->not_after) != 0)
		return AUTHD_EINVAL;
	return 0;
}
