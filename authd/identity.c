/* identity.c: what the backend learns about a verified client. */
#include <arpa/inet.h>
#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

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
void
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

/* ------------------------------------------------------------ policy fields */

/* A sanitised copy of src in f's arena, or NULL (and truncated) when full. */
static const char *
identity_arena_put(struct identity_fields *f, const char *src, size_t len)
{
	size_t	 room = IDENTITY_ARENA_MAX - f->arena_len, n, i;
	char	*dst = f->arena + f->arena_len;

	if (room > IDENTITY_VALUE_MAX)
		room = IDENTITY_VALUE_MAX;
	if (room < 4) {
		f->truncated = 1;
		return NULL;
	}
	for (n = 0, i = 0; i < len; i++)
		n += (unsigned char)src[i] >= 0x20 &&
		    (unsigned char)src[i] < 0x7f ? 1 : 3;
	if (n >= room)			/* identity_sanitize cuts it */
		f->truncated = 1;
	n = identity_sanitize(dst, room, src, len);
	f->arena_len += n + 1;
	return dst;
}

/* An object as its short name when OpenSSL knows it, else dotted. */
static const char *
identity_obj(struct identity_fields *f, const ASN1_OBJECT *obj, int dotted)
{
	char	 buf[128];
	int	 nid = OBJ_obj2nid(obj), n;

	if (!dotted && nid != NID_undef)
		return OBJ_nid2sn(nid);
	n = OBJ_obj2txt(buf, sizeof(buf), obj, 1);
	if (n <= 0 || (size_t)n >= sizeof(buf))
		return NULL;
	return identity_arena_put(f, buf, (size_t)n);
}

/* "#" and the uppercase hex of the DER of s, as RFC 2253 writes it. */
static const char *
identity_der_hex(struct identity_fields *f, const ASN1_STRING *s)
{
	static const char	 hex[] = "0123456789ABCDEF";
	ASN1_TYPE		 t;
	unsigned char		*der = NULL;
	char			 buf[IDENTITY_VALUE_MAX];
	const char		*v = NULL;
	size_t			 i, o = 0;
	int			 n;

	t.type = ASN1_STRING_type(s);
	t.value.asn1_string = (ASN1_STRING *)(uintptr_t)s;
	if ((n = i2d_ASN1_TYPE(&t, &der)) <= 0)
		return NULL;
	if ((size_t)n * 2 + 2 > sizeof(buf)) {
		f->truncated = 1;	/* cut, like any value too long */
		n = (int)(sizeof(buf) - 2) / 2;
	}
	buf[o++] = '#';
	for (i = 0; i < (size_t)n; i++) {
		buf[o++] = hex[der[i] >> 4];
		buf[o++] = hex[der[i] & 0xf];
	}
	v = identity_arena_put(f, buf, o);
	OPENSSL_free(der);
	return v;
}

static void
identity_attrs(struct identity_fields *f, const X509_NAME *name,
    struct policy_attr *attrs, size_t *nattrs)
{
	const X509_NAME_ENTRY	*e;
	unsigned char		*utf8;
	const char		*type, *value;
	int			 i, count = X509_NAME_entry_count(name), n;

	for (i = 0; i < count; i++) {
		if (*nattrs >= IDENTITY_ATTRS_MAX) {
			f->truncated = 1;
			return;
		}
		e = X509_NAME_get_entry(name, i);
		type = identity_obj(f, X509_NAME_ENTRY_get_object(e), 0);
		utf8 = NULL;
		if ((n = ASN1_STRING_to_UTF8(&utf8,
		    X509_NAME_ENTRY_get_data(e))) < 0) {
			/*
			 * A type OpenSSL cannot turn into text (an
			 * ObjectDescriptor, a BIT STRING): kept as nginx shows
			 * it, "#" and the hex of its DER, and flagged, so that
			 * a rule on its text cannot be passed by the encoding.
			 */
			f->unreadable = 1;
			value = type != NULL ? identity_der_hex(f,
			    X509_NAME_ENTRY_get_data(e)) : NULL;
		} else {
			value = type != NULL ? identity_arena_put(f,
			    (char *)utf8, (size_t)n) : NULL;
			OPENSSL_free(utf8);
		}
		if (value == NULL)
			continue;
		attrs[*nattrs].type = type;
		attrs[(*nattrs)++].value = value;
	}
}

static void
identity_push(struct identity_fields *f, const char **arr, size_t *n,
    size_t max, const char *v)
{
	if (v == NULL)
		return;
	if (*n >= max) {
		f->truncated = 1;
		return;
	}
	arr[(*n)++] = v;
}

/* FASC-N: otherName 2.16.840.1.101.3.6.6 (FIPS 201 PIV), an OCTET STRING */
static const unsigned char identity_fascn_oid[] = {
	0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x06, 0x06
};

/*
 * A smart card's otherNames: the user principal name (Microsoft,
 * 1.3.6.1.4.1.311.20.2.3, a UTF8String: how Active Directory maps a
 * certificate to an account) and the PIV FASC-N (kept as lowercase hex).
 * Other otherNames, or these with another value type, are not kept.
 */
static void
identity_othername(struct identity_fields *f, const OTHERNAME *on)
{
	const ASN1_STRING	*s;
	const unsigned char	*d;
	char			 hex[2 * 64 + 1];
	int			 i, len;

	if (on == NULL || on->type_id == NULL || on->value == NULL)
		return;
	if (OBJ_obj2nid(on->type_id) == NID_ms_upn) {
		if (on->value->type != V_ASN1_UTF8STRING)
			return;
		s = on->value->value.utf8string;
		identity_push(f, f->san_upn, &f->nsan_upn, IDENTITY_SANS_MAX,
		    identity_arena_put(f, (const char *)ASN1_STRING_get0_data(s),
		    (size_t)ASN1_STRING_length(s)));
		return;
	}
	if (OBJ_length(on->type_id) != sizeof(identity_fascn_oid) ||
	    memcmp(OBJ_get0_data(on->type_id), identity_fascn_oid,
	    sizeof(identity_fascn_oid)) != 0 ||
	    on->value->type != V_ASN1_OCTET_STRING)
		return;
	s = on->value->value.octet_string;
	d = ASN1_STRING_get0_data(s);
	if ((len = ASN1_STRING_length(s)) <= 0)
		return;
	if (len > 64) {		/* a FASC-N is 25 bytes */
		f->truncated = 1;
		return;
	}
	for (i = 0; i < len; i++)
		snprintf(hex + 2 * i, 3, "%02x", d[i]);
	identity_push(f, f->san_fascn, &f->nsan_fascn, IDENTITY_SANS_MAX,
	    identity_arena_put(f, hex, (size_t)(2 * len)));
}

/*
 * A URI urn:uuid:UUID (RFC 4122; a PIV card's UUID, RFC 4530's form): the
 * UUID in lowercase, when it is one (8-4-4-4-12 hex digits).
 */
static void
identity_uuid(struct identity_fields *f, const ASN1_STRING *s)
{
	const char	*u = (const char *)ASN1_STRING_get0_data(s);
	char		 out[37];
	int		 i;

	if (ASN1_STRING_length(s) != 9 + 36 || strncasecmp(u, "urn:uuid:",
	    9) != 0)
		return;
	u += 9;
	for (i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (u[i] != '-')
				return;
		} else if (!isxdigit((unsigned char)u[i]))
			return;
		out[i] = (char)tolower((unsigned char)u[i]);
	}
	out[36] = '\0';
	identity_push(f, f->san_uuid, &f->nsan_uuid, IDENTITY_SANS_MAX,
	    identity_arena_put(f, out, 36));
}

static void
identity_sans(struct identity_fields *f, X509 *x)
{
	GENERAL_NAMES		*gens;
	const GENERAL_NAME	*g;
	const ASN1_STRING	*s;
	char			 ip[INET6_ADDRSTRLEN];
	int			 i, crit = 0, len;

	if ((gens = X509_get_ext_d2i(x, NID_subject_alt_name, &crit,
	    NULL)) == NULL)
		return;
	for (i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
		g = sk_GENERAL_NAME_value(gens, i);
		switch (g->type) {
		case GEN_DNS:
		case GEN_EMAIL:
		case GEN_URI:
			s = g->d.ia5;
			if (g->type == GEN_DNS)
				identity_push(f, f->san_dns, &f->nsan_dns,
				    IDENTITY_SANS_MAX, identity_arena_put(f,
				    (const char *)ASN1_STRING_get0_data(s),
				    (size_t)ASN1_STRING_length(s)));
			else if (g->type == GEN_EMAIL)
				identity_push(f, f->san_email, &f->nsan_email,
				    IDENTITY_SANS_MAX, identity_arena_put(f,
				    (const char *)ASN1_STRING_get0_data(s),
				    (size_t)ASN1_STRING_length(s)));
			else {
				identity_push(f, f->san_uri, &f->nsan_uri,
				    IDENTITY_SANS_MAX, identity_arena_put(f,
				    (const char *)ASN1_STRING_get0_data(s),
				    (size_t)ASN1_STRING_length(s)));
				identity_uuid(f, s);
			}
			break;
		case GEN_OTHERNAME:
			identity_othername(f, g->d.otherName);
			break;
		case GEN_IPADD:
			s = g->d.ip;
			len = ASN1_STRING_length(s);
			if ((len != 4 && len != 16) || inet_ntop(len == 4 ?
			    AF_INET : AF_INET6, ASN1_STRING_get0_data(s), ip,
			    sizeof(ip)) == NULL)
				break;
			identity_push(f, f->san_ip, &f->nsan_ip,
			    IDENTITY_SANS_MAX, identity_arena_put(f, ip,
			    strlen(ip)));
			break;
		default:
			break;
		}
	}
	GENERAL_NAMES_free(gens);
}

static void
identity_oids(struct identity_fields *f, X509 *x)
{
	EXTENDED_KEY_USAGE	*eku;
	CERTIFICATEPOLICIES	*pols;
	int			 i, crit = 0;

	if ((eku = X509_get_ext_d2i(x, NID_ext_key_usage, &crit, NULL)) !=
	    NULL) {
		for (i = 0; i < sk_ASN1_OBJECT_num(eku); i++)
			identity_push(f, f->eku, &f->neku, IDENTITY_OIDS_MAX,
			    identity_obj(f, sk_ASN1_OBJECT_value(eku, i), 0));
		EXTENDED_KEY_USAGE_free(eku);
	}
	if ((pols = X509_get_ext_d2i(x, NID_certificate_policies, &crit,
	    NULL)) != NULL) {
		for (i = 0; i < sk_POLICYINFO_num(pols); i++)
			identity_push(f, f->policy_oids, &f->npolicy_oids,
			    IDENTITY_OIDS_MAX, identity_obj(f,
			    sk_POLICYINFO_value(pols, i)->policyid, 1));
		CERTIFICATEPOLICIES_free(pols);
	}
}

int
identity_fields_load(X509 *x, const unsigned char md[IDENTITY_SHA256_LEN],
    time_t at, struct identity_fields *f)
{
	time_t	 left;
	int	 rc;

	memset(f, 0, sizeof(*f));
	if ((f->arena = malloc(IDENTITY_ARENA_MAX)) == NULL)
		return AUTHD_ENOMEM;
	if ((rc = identity_extract(x, md, &f->id)) != 0)
		goto fail;
	/* floor division: an hour past notAfter is day -1, not 0 */
	left = f->id.not_after - at;
	f->days_left = (long)(left >= 0 ? left / 86400 :
	    -((-left + 86399) / 86400));
	identity_attrs(f, X509_get_subject_name(x), f->subject_attrs,
	    &f->nsubject_attrs);
	identity_attrs(f, X509_get_issuer_name(x), f->issuer_attrs,
	    &f->nissuer_attrs);
	identity_sans(f, x);
	identity_oids(f, x);
	ERR_clear_error();
	return 0;
fail:
	identity_fields_cleanup(f);
	return rc;
}

void
identity_fields_add_policy(struct identity_fields *f, const char *oid)
{
	if (f->arena == NULL) {
		f->truncated = 1;
		return;
	}
	identity_push(f, f->policies, &f->npolicies, IDENTITY_OIDS_MAX,
	    identity_arena_put(f, oid, strlen(oid)));
}

void
identity_fields_cleanup(struct identity_fields *f)
{
	free(f->arena);
	memset(f, 0, sizeof(*f));
}

void
identity_fields_view(const struct identity_fields *f,
    struct policy_identity *out)
{
	memset(out, 0, sizeof(*out));
	out->subject = f->id.subject;
	out->issuer = f->id.issuer;
	out->serial = f->id.serial;
	out->fingerprint = f->id.fingerprint;
	out->subject_attrs = f->subject_attrs;
	out->nsubject_attrs = f->nsubject_attrs;
	out->issuer_attrs = f->issuer_attrs;
	out->nissuer_attrs = f->nissuer_attrs;
	out->san_dns = f->san_dns;
	out->nsan_dns = f->nsan_dns;
	out->san_email = f->san_email;
	out->nsan_email = f->nsan_email;
	out->san_uri = f->san_uri;
	out->nsan_uri = f->nsan_uri;
	out->san_ip = f->san_ip;
	out->nsan_ip = f->nsan_ip;
	out->san_upn = f->san_upn;
	out->nsan_upn = f->nsan_upn;
	out->san_fascn = f->san_fascn;
	out->nsan_fascn = f->nsan_fascn;
	out->san_uuid = f->san_uuid;
	out->nsan_uuid = f->nsan_uuid;
	out->eku = f->eku;
	out->neku = f->neku;
	out->policy_oids = f->policy_oids;
	out->npolicy_oids = f->npolicy_oids;
	out->policies = f->policies;
	out->npolicies = f->npolicies;
	out->days_left = f->days_left;
}

/* ---- packing for the verdict cache ---- */

#define IDENTITY_PACK_MAGIC	 0xa3
#define IDENTITY_PACK_HDR	 14	/* magic, 12 counts, flags */

struct identity_pack {
	unsigned char	*buf;
	size_t		 cap, len;
	int		 full;
};

static void
identity_pack_bytes(struct identity_pack *pk, const void *p, size_t n)
{
	if (pk->full || pk->cap - pk->len < n) {
		pk->full = 1;
		return;
	}
	memcpy(pk->buf + pk->len, p, n);
	pk->len += n;
}

static void
identity_pack_str(struct identity_pack *pk, const char *s)
{
	identity_pack_bytes(pk, s != NULL ? s : "", strlen(s != NULL ? s :
	    "") + 1);
}

static void
identity_pack_strs(struct identity_pack *pk, const char *const *v, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		identity_pack_str(pk, v[i]);
}

size_t
identity_fields_pack(const struct identity_fields *f, unsigned char *buf,
    size_t cap)
{
	struct identity_pack	 pk = { buf, cap, 0, 0 };
	unsigned char		 hdr[IDENTITY_PACK_HDR];
	int64_t			 t[2];
	uint32_t		 m[2];
	size_t			 i;

	hdr[0] = IDENTITY_PACK_MAGIC;
	hdr[1] = (unsigned char)f->nsubject_attrs;
	hdr[2] = (unsigned char)f->nissuer_attrs;
	hdr[3] = (unsigned char)f->nsan_dns;
	hdr[4] = (unsigned char)f->nsan_email;
	hdr[5] = (unsigned char)f->nsan_uri;
	hdr[6] = (unsigned char)f->nsan_ip;
	hdr[7] = (unsigned char)f->neku;
	hdr[8] = (unsigned char)f->npolicy_oids;
	hdr[9] = (unsigned char)((f->truncated != 0) | (f->unreadable != 0) << 1);
	hdr[10] = (unsigned char)f->nsan_upn;
	hdr[11] = (unsigned char)f->nsan_fascn;
	hdr[12] = (unsigned char)f->nsan_uuid;
	hdr[13] = (unsigned char)f->npolicies;
	identity_pack_bytes(&pk, hdr, sizeof(hdr));
	t[0] = (int64_t)f->id.not_before;
	t[1] = (int64_t)f->id.not_after;
	identity_pack_bytes(&pk, t, sizeof(t));
	m[0] = f->pcy_reject;
	m[1] = f->pcy_reject_shadow;
	identity_pack_bytes(&pk, m, sizeof(m));
	identity_pack_str(&pk, f->id.subject);
	identity_pack_str(&pk, f->id.issuer);
	identity_pack_str(&pk, f->id.serial);
	identity_pack_str(&pk, f->id.fingerprint);
	for (i = 0; i < f->nsubject_attrs; i++) {
		identity_pack_str(&pk, f->subject_attrs[i].type);
		identity_pack_str(&pk, f->subject_attrs[i].value);
	}
	for (i = 0; i < f->nissuer_attrs; i++) {
		identity_pack_str(&pk, f->issuer_attrs[i].type);
		identity_pack_str(&pk, f->issuer_attrs[i].value);
	}
	identity_pack_strs(&pk, f->san_dns, f->nsan_dns);
	identity_pack_strs(&pk, f->san_email, f->nsan_email);
	identity_pack_strs(&pk, f->san_uri, f->nsan_uri);
	identity_pack_strs(&pk, f->san_ip, f->nsan_ip);
	identity_pack_strs(&pk, f->san_upn, f->nsan_upn);
	identity_pack_strs(&pk, f->san_fascn, f->nsan_fascn);
	identity_pack_strs(&pk, f->san_uuid, f->nsan_uuid);
	identity_pack_strs(&pk, f->eku, f->neku);
	identity_pack_strs(&pk, f->policy_oids, f->npolicy_oids);
	identity_pack_strs(&pk, f->policies, f->npolicies);
	return pk.full ? 0 : pk.len;
}

/* The next NUL-terminated string of the blob, or NULL past its end. */
static const char *
identity_unpack_str(const unsigned char *buf, size_t len, size_t *off)
{
	const unsigned char	*nul;
	const char		*s;

	if (*off >= len ||
	    (nul = memchr(buf + *off, '\0', len - *off)) == NULL)
		return NULL;
	s = (const char *)buf + *off;
	*off = (size_t)(nul - buf) + 1;
	return s;
}

static int
identity_unpack_strs(const unsigned char *buf, size_t len, size_t *off,
    const char **v, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if ((v[i] = identity_unpack_str(buf, len, off)) == NULL)
			return -1;
	return 0;
}

static int
identity_unpack_copy(char *dst, size_t cap, const unsigned char *buf,
    size_t len, size_t *off)
{
	const char	*s = identity_unpack_str(buf, len, off);

	if (s == NULL || strlen(s) >= cap)
		return -1;
	memcpy(dst, s, strlen(s) + 1);
	return 0;
}

int
identity_fields_unpack(const unsigned char *buf, size_t len,
    struct identity_fields *f)
{
	int64_t	 t[2];
	uint32_t m[2];
	size_t	 off = IDENTITY_PACK_HDR + sizeof(t) + sizeof(m), i;

	if (len < off || buf[0] != IDENTITY_PACK_MAGIC ||
	    buf[1] > IDENTITY_ATTRS_MAX || buf[2] > IDENTITY_ATTRS_MAX ||
	    buf[3] > IDENTITY_SANS_MAX || buf[4] > IDENTITY_SANS_MAX ||
	    buf[5] > IDENTITY_SANS_MAX || buf[6] > IDENTITY_SANS_MAX ||
	    buf[7] > IDENTITY_OIDS_MAX || buf[8] > IDENTITY_OIDS_MAX ||
	    buf[10] > IDENTITY_SANS_MAX || buf[11] > IDENTITY_SANS_MAX ||
	    buf[12] > IDENTITY_SANS_MAX || buf[13] > IDENTITY_OIDS_MAX)
		return -1;
	f->arena = NULL;
	f->arena_len = 0;
	f->nsubject_attrs = buf[1];
	f->nissuer_attrs = buf[2];
	f->nsan_dns = buf[3];
	f->nsan_email = buf[4];
	f->nsan_uri = buf[5];
	f->nsan_ip = buf[6];
	f->neku = buf[7];
	f->npolicy_oids = buf[8];
	f->truncated = buf[9] & 1;
	f->unreadable = (buf[9] >> 1) & 1;
	f->nsan_upn = buf[10];
	f->nsan_fascn = buf[11];
	f->nsan_uuid = buf[12];
	f->npolicies = buf[13];
	memcpy(t, buf + IDENTITY_PACK_HDR, sizeof(t));
	memcpy(m, buf + IDENTITY_PACK_HDR + sizeof(t), sizeof(m));
	f->pcy_reject = m[0];
	f->pcy_reject_shadow = m[1];
	f->id.not_before = (time_t)t[0];
	f->id.not_after = (time_t)t[1];
	f->days_left = 0;
	if (identity_unpack_copy(f->id.subject, sizeof(f->id.subject), buf,
	    len, &off) != 0 ||
	    identity_unpack_copy(f->id.issuer, sizeof(f->id.issuer), buf, len,
	    &off) != 0 ||
	    identity_unpack_copy(f->id.serial, sizeof(f->id.serial), buf, len,
	    &off) != 0 ||
	    identity_unpack_copy(f->id.fingerprint, sizeof(f->id.fingerprint),
	    buf, len, &off) != 0)
		return -1;
	for (i = 0; i < f->nsubject_attrs; i++)
		if ((f->subject_attrs[i].type = identity_unpack_str(buf, len,
		    &off)) == NULL || (f->subject_attrs[i].value =
		    identity_unpack_str(buf, len, &off)) == NULL)
			return -1;
	for (i = 0; i < f->nissuer_attrs; i++)
		if ((f->issuer_attrs[i].type = identity_unpack_str(buf, len,
		    &off)) == NULL || (f->issuer_attrs[i].value =
		    identity_unpack_str(buf, len, &off)) == NULL)
			return -1;
	if (identity_unpack_strs(buf, len, &off, f->san_dns, f->nsan_dns) ||
	    identity_unpack_strs(buf, len, &off, f->san_email, f->nsan_email) ||
	    identity_unpack_strs(buf, len, &off, f->san_uri, f->nsan_uri) ||
	    identity_unpack_strs(buf, len, &off, f->san_ip, f->nsan_ip) ||
	    identity_unpack_strs(buf, len, &off, f->san_upn, f->nsan_upn) ||
	    identity_unpack_strs(buf, len, &off, f->san_fascn,
	    f->nsan_fascn) ||
	    identity_unpack_strs(buf, len, &off, f->san_uuid, f->nsan_uuid) ||
	    identity_unpack_strs(buf, len, &off, f->eku, f->neku) ||
	    identity_unpack_strs(buf, len, &off, f->policy_oids,
	    f->npolicy_oids) ||
	    identity_unpack_strs(buf, len, &off, f->policies, f->npolicies) ||
	    off != len)
		return -1;
	return 0;
}
