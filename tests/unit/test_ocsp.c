/*
 * test_ocsp.c PKI_DIR: ocsp_check_depth, ocsp_check and ocsp_describe on
 * responses built here with OpenSSL from the keys of tests/pki/gen.sh, fed
 * as authd check does (ocsp_set_inline, ocsp_set_offline_response): no
 * network.  A table of {response, settings, decision time} -> {status,
 * detail, valid_until, describe line}, with the negative cases: response
 * statuses, malformed DER, wrong signers, wrong CertIDs, times around the
 * skew, and the decision time of check --at.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/bn.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "chain.h"
#include "config.h"
#include "identity.h"
#include "log.h"
#include "ocsp.h"
#include "ocspresp.h"
#include "snapshot.h"
#include "store.h"
#include "t.h"

#define DAY	 86400
#define HOUR	 3600
#define SKEW	 300
#define TTL	 3600

static const char	*pki;
static time_t		 now;

/* Fixtures. */
static X509		*root, *inter, *client, *client2, *revoked_leaf;
static X509		*delegate, *bad_delegate, *unrelated;
static EVP_PKEY		*root_key, *inter_key, *delegate_key;
static EVP_PKEY		*bad_delegate_key, *unrelated_key;

static FILE *
fixture_open(const char *name)
{
	char	 path[512];
	FILE	*f;

	snprintf(path, sizeof(path), "%s/%s", pki, name);
	if ((f = fopen(path, "r")) == NULL) {
		fprintf(stderr, "cannot open fixture %s\n", path);
		exit(2);
	}
	return f;
}

static X509 *
load_cert(const char *name)
{
	FILE	*f = fixture_open(name);
	X509	*x = PEM_read_X509(f, NULL, NULL, NULL);

	fclose(f);
	if (x == NULL) {
		fprintf(stderr, "cannot parse fixture %s\n", name);
		exit(2);
	}
	return x;
}

static EVP_PKEY *
load_key(const char *name)
{
	FILE		*f = fixture_open(name);
	EVP_PKEY	*k = PEM_read_PrivateKey(f, NULL, NULL, NULL);

	fclose(f);
	if (k == NULL) {
		fprintf(stderr, "cannot parse key %s\n", name);
		exit(2);
	}
	return k;
}

/* Responses. */

enum signer {
	BY_ISSUER = 0,		/* the intermediate itself */
	BY_DELEGATE,		/* ocsp-signer: OCSPSigning, by the issuer */
	BY_BAD_DELEGATE,	/* ocsp-bad-signer: clientAuth only */
	BY_UNRELATED,		/* self-signed, the issuer's name, other key */
	BY_ROOT,		/* the issuer's issuer */
};

enum about {
	ABOUT_OURS = 0,		/* one SingleResponse: client.pem */
	ABOUT_OTHER,		/* one: client2.pem (another serial) */
	ABOUT_MANY,		/* client2 good, revoked.pem revoked, ours */
	ABOUT_NONE,		/* no SingleResponse at all */
	ABOUT_INTER,		/* the intermediate, issued by the root */
};

enum garble {
	G_NONE = 0,
	G_TRAILING,		/* one byte after the DER */
	G_TRUNCATED,		/* the DER without its last byte */
	G_NOT_DER,		/* text */
	G_BAD_SIG,		/* last byte flipped: the signature's */
	G_ABSENT,		/* no offline response at all */
};

struct rspec {
	int		 rstatus;	/* OCSP_RESPONSE_STATUS_* */
	enum signer	 signer;
	int		 nocerts;	/* signer certificate not included */
	int		 by_key;	/* ResponderID by key hash */
	int		 sha256;	/* CertID hash of the response */
	enum about	 about;
	int		 cstatus;	/* V_OCSP_CERTSTATUS_* of ours */
	long		 this_off;	/* thisUpdate: now + this_off */
	long		 next_off;	/* nextUpdate: now + next_off */
	int		 no_next;	/* no nextUpdate */
	int		 nonce;
	enum garble	 garble;
};

static int
add_status(OCSP_BASICRESP *bs, X509 *cert, X509 *issuer, const EVP_MD *md,
    int cstatus, const struct rspec *r)
{
	OCSP_CERTID	*id;
	ASN1_TIME	*thisupd, *nextupd = NULL, *revtime = NULL;
	int		 ok;

	id = OCSP_cert_to_id(md, cert, issuer);
	thisupd = ASN1_TIME_adj(NULL, now, 0, r->this_off);
	if (!r->no_next)
		nextupd = ASN1_TIME_adj(NULL, now, 0, r->next_off);
	if (cstatus == V_OCSP_CERTSTATUS_REVOKED)
		revtime = ASN1_TIME_adj(NULL, now, -20, 0);
	ok = id != NULL && thisupd != NULL && OCSP_basic_add1_status(bs, id,
	    cstatus, cstatus == V_OCSP_CERTSTATUS_REVOKED ?
	    OCSP_REVOKED_STATUS_KEYCOMPROMISE : 0, revtime, thisupd,
	    nextupd) != NULL;
	OCSP_CERTID_free(id);
	ASN1_TIME_free(thisupd);
	ASN1_TIME_free(nextupd);
	ASN1_TIME_free(revtime);
	return ok ? 0 : -1;
}

/* DER of the response r describes (caller frees); exits on failure. */
static unsigned char *
make_response(const struct rspec *r, size_t *len)
{
	OCSP_BASICRESP	*bs = NULL;
	OCSP_RESPONSE	*resp = NULL;
	const EVP_MD	*md = r->sha256 ? EVP_sha256() : EVP_sha1();
	X509		*scert;
	EVP_PKEY	*skey;
	unsigned char	*der = NULL, *out;
	unsigned long	 flags;
	int		 n, ok = 1;

	if (r->garble == G_NOT_DER) {
		out = (unsigned char *)strdup("this is not an OCSP response");
		*len = strlen((char *)out);
		return out;
	}
	if (r->rstatus != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
		resp = OCSP_response_create(r->rstatus, NULL);
		goto encode;
	}
	if ((bs = OCSP_BASICRESP_new()) == NULL)
		goto fail;
	switch (r->about) {
	case ABOUT_OURS:
		ok = add_status(bs, client, inter, md, r->cstatus, r) == 0;
		break;
	case ABOUT_OTHER:
		ok = add_status(bs, client2, inter, md, r->cstatus, r) == 0;
		break;
	case ABOUT_MANY:
		ok = add_status(bs, client2, inter, md,
		    V_OCSP_CERTSTATUS_GOOD, r) == 0 &&
		    add_status(bs, revoked_leaf, inter, md,
		    V_OCSP_CERTSTATUS_REVOKED, r) == 0 &&
		    add_status(bs, client, inter, md, r->cstatus, r) == 0;
		break;
	case ABOUT_NONE:
		break;
	case ABOUT_INTER:
		ok = add_status(bs, inter, root, md, r->cstatus, r) == 0;
		break;
	}
	if (!ok || (r->nonce && OCSP_basic_add1_nonce(bs, NULL, -1) != 1))
		goto fail;
	switch (r->signer) {
	case BY_DELEGATE:
		scert = delegate, skey = delegate_key;
		break;
	case BY_BAD_DELEGATE:
		scert = bad_delegate, skey = bad_delegate_key;
		break;
	case BY_UNRELATED:
		scert = unrelated, skey = unrelated_key;
		break;
	case BY_ROOT:
		scert = root, skey = root_key;
		break;
	default:
		scert = inter, skey = inter_key;
		break;
	}
	flags = (r->nocerts ? OCSP_NOCERTS : 0) | (r->by_key ? OCSP_RESPID_KEY :
	    0);
	if (OCSP_basic_sign(bs, scert, skey, EVP_sha256(), NULL, flags) != 1)
		goto fail;
	resp = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, bs);
encode:
	if (resp == NULL || (n = i2d_OCSP_RESPONSE(resp, &der)) <= 0)
		goto fail;
	OCSP_RESPONSE_free(resp);
	OCSP_BASICRESP_free(bs);
	if ((out = malloc((size_t)n + 1)) == NULL)
		exit(2);
	memcpy(out, der, (size_t)n);
	OPENSSL_free(der);
	*len = (size_t)n;
	if (r->garble == G_TRAILING)
		out[(*len)++] = 0;
	else if (r->garble == G_TRUNCATED)
		(*len)--;
	else if (r->garble == G_BAD_SIG)
		out[*len - 1] ^= 0x01;
	return out;
fail:
	fprintf(stderr, "cannot build the OCSP response\n");
	ERR_print_errors_fp(stderr);
	exit(2);
}

/* The table. */

enum vu {
	VU_ANY = 0,
	VU_NEXT,		/* nextUpdate, or the refresh point before */
	VU_TTL,			/* decision time + ocsp_default_ttl */
	VU_NOTAFTER,		/* client.pem's notAfter */
};

struct ocase {
	const char		*name;
	struct rspec		 r;
	/* settings */
	int			 set_sha256, set_nonce, pin_unrelated;
	long			 skew;		/* 0: SKEW */
	long			 max_age;
	long			 at_off;	/* decision time: now + it */
	/* expected */
	enum ocsp_status	 want;
	const char		*detail;	/* substring of res.detail */
	const char		*why;		/* and another one */
	enum vu			 vu;
	const char		*describe;	/* substring, "" for none */
};

#define FRESH		.this_off = -HOUR, .next_off = HOUR
#define GOOD		.cstatus = V_OCSP_CERTSTATUS_GOOD
#define REVOKED		.cstatus = V_OCSP_CERTSTATUS_REVOKED
#define UNKNOWN		.cstatus = V_OCSP_CERTSTATUS_UNKNOWN
#define INTER_DN	"CN=authd Test Intermediate CA,O=authd tests"
#define DELEGATE_DN	"CN=authd Test OCSP Responder,O=authd tests"
#define NOT_SIGNED	"signature does not verify"
#define NOT_OURS	"the response is not about this certificate"

static const struct ocase ocases[] = {
	/* who signed */
	{ "good by the issuer", { GOOD, FRESH }, .want = OCSP_OK,
	    .vu = VU_NEXT, .describe = "depth 0: good, from --ocsp-response, "
	    "signed by " INTER_DN ", thisUpdate " },
	{ "good by the issuer, ResponderID by key, no certs",
	    { GOOD, FRESH, .by_key = 1, .nocerts = 1 }, .want = OCSP_OK,
	    .vu = VU_NEXT, .describe = "signed by " INTER_DN "," },
	{ "good by a delegate with OCSPSigning",
	    { GOOD, FRESH, .signer = BY_DELEGATE }, .want = OCSP_OK,
	    .vu = VU_NEXT, .describe = "depth 0: good, from --ocsp-response, "
	    "signed by " DELEGATE_DN "," },
	{ "delegate not in the response (cannot be found)",
	    { GOOD, FRESH, .signer = BY_DELEGATE, .nocerts = 1 },
	    .want = OCSP_FAILED, .detail = NOT_SIGNED,
	    .why = "signer certificate not found" },
	{ "delegate without OCSPSigning",
	    { GOOD, FRESH, .signer = BY_BAD_DELEGATE }, .want = OCSP_FAILED,
	    .detail = NOT_SIGNED,
	    .why = "missing ocspsigning usage",
	    .describe = "depth 0: no answer: " },
	{ "revoked by a delegate without OCSPSigning",
	    { REVOKED, FRESH, .signer = BY_BAD_DELEGATE }, .want = OCSP_FAILED,
	    .detail = NOT_SIGNED,
	    .why = "missing ocspsigning usage" },
	{ "signed by the root (not the issuer)",
	    { GOOD, FRESH, .signer = BY_ROOT }, .want = OCSP_FAILED,
	    .detail = NOT_SIGNED,
	    .why = "root ca not trusted" },
	{ "unrelated key, the issuer's name, by name",
	    { GOOD, FRESH, .signer = BY_UNRELATED }, .want = OCSP_FAILED,
	    .detail = NOT_SIGNED,
	    .why = "signature failure" },
	{ "unrelated key, by key hash, its cert included",
	    { GOOD, FRESH, .signer = BY_UNRELATED, .by_key = 1 },
	    .want = OCSP_FAILED, .detail = NOT_SIGNED,
	    .why = "certificate verify error" },
	{ "unrelated key, pinned with ocsp_signer",
	    { GOOD, FRESH, .signer = BY_UNRELATED, .by_key = 1,
	    .nocerts = 1 }, .pin_unrelated = 1, .want = OCSP_OK,
	    .vu = VU_NEXT, .describe = "signed by a pinned ocsp_signer" },
	{ "unrelated key, pinned, ResponderID by name",
	    { GOOD, FRESH, .signer = BY_UNRELATED }, .pin_unrelated = 1,
	    .want = OCSP_OK, .vu = VU_NEXT },
	{ "pinned signer does not excuse the issuer's bad delegate",
	    { GOOD, FRESH, .signer = BY_BAD_DELEGATE }, .pin_unrelated = 1,
	    .want = OCSP_FAILED, .detail = NOT_SIGNED,
	    .why = "missing ocspsigning usage" },
	/* (no certificates: the signature is the last thing in the DER) */
	{ "signature flipped", { GOOD, FRESH, .nocerts = 1,
	    .garble = G_BAD_SIG },
	    .want = OCSP_FAILED, .detail = NOT_SIGNED,
	    .why = "signature failure" },

	/* what it says */
	{ "revoked by the issuer", { REVOKED, FRESH }, .want = OCSP_REVOKED,
	    .detail = "revoked (depth 0), says --ocsp-response",
	    .vu = VU_NOTAFTER, .describe = "depth 0: revoked, from "
	    "--ocsp-response, signed by " INTER_DN },
	{ "revoked by a delegate", { REVOKED, FRESH, .signer = BY_DELEGATE },
	    .want = OCSP_REVOKED, .detail = "revoked (depth 0)",
	    .vu = VU_NOTAFTER },
	{ "revoked, the response expired (a revocation stays)",
	    { REVOKED, .this_off = -10 * DAY, .next_off = -3 * DAY },
	    .want = OCSP_REVOKED, .vu = VU_NOTAFTER },
	{ "unknown is a failure", { UNKNOWN, FRESH }, .want = OCSP_FAILED,
	    .detail = "does not know the certificate (unknown)",
	    .describe = "depth 0: no answer: " },
	{ "several SingleResponses, ours good", { GOOD, FRESH,
	    .about = ABOUT_MANY }, .want = OCSP_OK, .vu = VU_NEXT },
	{ "several SingleResponses, ours revoked", { REVOKED, FRESH,
	    .about = ABOUT_MANY }, .want = OCSP_REVOKED, .vu = VU_NOTAFTER },
	{ "several SingleResponses, ours unknown", { UNKNOWN, FRESH,
	    .about = ABOUT_MANY }, .want = OCSP_FAILED, .detail = "unknown" },
	{ "CertID for another serial", { GOOD, FRESH, .about = ABOUT_OTHER },
	    .want = OCSP_FAILED, .detail = NOT_OURS },
	{ "empty basic response", { GOOD, FRESH, .about = ABOUT_NONE },
	    .want = OCSP_FAILED, .detail = NOT_SIGNED,
	    .why = "no revocation data" },
	{ "empty basic response by a pinned signer", { GOOD, FRESH,
	    .about = ABOUT_NONE, .signer = BY_UNRELATED, .by_key = 1 },
	    .pin_unrelated = 1, .want = OCSP_FAILED, .detail = NOT_OURS },
	{ "CertID SHA-256, settings SHA-1", { GOOD, FRESH, .sha256 = 1 },
	    .want = OCSP_FAILED, .detail = NOT_OURS },
	{ "CertID SHA-1, settings SHA-256", { GOOD, FRESH },
	    .set_sha256 = 1, .want = OCSP_FAILED, .detail = NOT_OURS },
	{ "CertID SHA-256, settings SHA-256", { GOOD, FRESH, .sha256 = 1 },
	    .set_sha256 = 1, .want = OCSP_OK, .vu = VU_NEXT },

	/* response status and encoding */
	{ "tryLater", { .rstatus = OCSP_RESPONSE_STATUS_TRYLATER },
	    .want = OCSP_FAILED, .detail = "responder says trylater" },
	{ "unauthorized", { .rstatus = OCSP_RESPONSE_STATUS_UNAUTHORIZED },
	    .want = OCSP_FAILED, .detail = "responder says unauthorized" },
	{ "malformedRequest",
	    { .rstatus = OCSP_RESPONSE_STATUS_MALFORMEDREQUEST },
	    .want = OCSP_FAILED, .detail = "responder says malformedrequest" },
	{ "internalError", { .rstatus = OCSP_RESPONSE_STATUS_INTERNALERROR },
	    .want = OCSP_FAILED, .detail = "responder says internalerror" },
	{ "not DER", { .garble = G_NOT_DER }, .want = OCSP_FAILED,
	    .detail = "malformed OCSP response" },
	{ "truncated DER", { GOOD, FRESH, .garble = G_TRUNCATED },
	    .want = OCSP_FAILED, .detail = "malformed OCSP response" },
	{ "trailing garbage after the DER", { GOOD, FRESH,
	    .garble = G_TRAILING }, .want = OCSP_FAILED,
	    .detail = "malformed OCSP response" },
	{ "no response given, no AIA OCSP URL", { .garble = G_ABSENT },
	    .want = OCSP_FAILED, .detail = "no OCSP responder (no AIA OCSP "
	    "URL)", .describe = "depth 0: no answer: no OCSP responder" },

	/* nonce: an offline answer has no request to echo */
	{ "nonce on, offline answer without nonce", { GOOD, FRESH },
	    .set_nonce = 1, .want = OCSP_OK, .vu = VU_NEXT },
	{ "nonce on, offline answer with some nonce", { GOOD, FRESH,
	    .nonce = 1 }, .set_nonce = 1, .want = OCSP_OK, .vu = VU_NEXT },

	/* times, decision at now */
	{ "thisUpdate in the future beyond the skew", { GOOD,
	    .this_off = 2 * SKEW, .next_off = DAY }, .want = OCSP_FAILED,
	    .detail = "not yet valid: thisUpdate" },
	{ "thisUpdate in the future within the skew", { GOOD,
	    .this_off = SKEW / 2, .next_off = DAY }, .want = OCSP_OK,
	    .vu = VU_NEXT },
	{ "nextUpdate past beyond the skew", { GOOD, .this_off = -DAY,
	    .next_off = -2 * SKEW }, .want = OCSP_FAILED,
	    .detail = "expired: nextUpdate" },
	{ "nextUpdate past within the skew", { GOOD, .this_off = -DAY,
	    .next_off = -SKEW / 3 }, .want = OCSP_OK, .vu = VU_NEXT },
	{ "skew 0: nextUpdate a minute ago", { GOOD, .this_off = -DAY,
	    .next_off = -60 }, .skew = -1, .want = OCSP_FAILED,
	    .detail = "expired: nextUpdate" },
	{ "no nextUpdate: held for ocsp_default_ttl", { GOOD, .this_off = -HOUR,
	    .no_next = 1 }, .want = OCSP_OK, .vu = VU_TTL,
	    .describe = "nextUpdate none" },
	{ "ocsp_max_age exceeded", { GOOD, .this_off = -2 * HOUR,
	    .next_off = DAY }, .max_age = HOUR, .want = OCSP_FAILED,
	    .detail = "too old: thisUpdate" },
	{ "ocsp_max_age respected", { GOOD, .this_off = -HOUR / 2,
	    .next_off = DAY }, .max_age = HOUR, .want = OCSP_OK,
	    .vu = VU_NEXT },

	/* times, judged at the decision time (check --at) */
	{ "valid now, judged after nextUpdate", { GOOD, FRESH },
	    .at_off = 2 * HOUR, .want = OCSP_FAILED,
	    .detail = "expired: nextUpdate" },
	{ "valid now, judged after nextUpdate within the skew", { GOOD,
	    FRESH }, .at_off = HOUR + SKEW / 2, .want = OCSP_OK,
	    .vu = VU_NEXT },
	{ "valid now, judged before thisUpdate", { GOOD, FRESH },
	    .at_off = -DAY, .want = OCSP_FAILED,
	    .detail = "not yet valid: thisUpdate" },
	{ "expired now, judged while it was valid", { GOOD,
	    .this_off = -10 * DAY, .next_off = -3 * DAY }, .at_off = -5 * DAY,
	    .want = OCSP_OK, .vu = VU_NEXT },
	{ "max_age judged at the decision time", { GOOD,
	    .this_off = -10 * DAY, .next_off = -3 * DAY }, .at_off = -5 * DAY,
	    .max_age = DAY, .want = OCSP_FAILED,
	    .detail = "too old: thisUpdate" },
	{ "no nextUpdate, judged later: ttl from the decision time", { GOOD,
	    .this_off = -HOUR, .no_next = 1 }, .at_off = 30 * DAY,
	    .want = OCSP_OK, .vu = VU_TTL },
	{ "revoked, judged later", { REVOKED, FRESH }, .at_off = 30 * DAY,
	    .want = OCSP_REVOKED, .vu = VU_NOTAFTER },
};

static const char *
status_name(enum ocsp_status s)
{
	switch (s) {
	case OCSP_OK:
		return "OK";
	case OCSP_REVOKED:
		return "REVOKED";
	case OCSP_FAILED:
		return "FAILED";
	case OCSP_WAIT:
		return "WAIT";
	}
	return "?";
}

static void
settings(struct ocsp_settings *s, enum ocsp_mode mode, int sha256, int nonce,
    long skew, long max_age)
{
	memset(s, 0, sizeof(*s));
	s->mode = mode;
	s->certid_sha256 = sha256;
	s->nonce = nonce;
	s->skew = skew;
	s->max_age = max_age;
	s->default_ttl = TTL;
	s->timeout = 1;
	s->max_size = 64 * 1024;
}

/*
 * What the checks run under, as a snapshot would give it: the PKI's trust
 * (set in main), the settings and pinned signers of each case.
 */
static struct ocsp_ctx		 ctx;
static STACK_OF(X509)		*pinned;

/* Fresh module state: settings, inline, the answer, pinned signers. */
static void
prepare(const struct ocsp_settings *s, const unsigned char *der,
    size_t len, int pin)
{
	ocsp_shutdown();
	ctx.set = *s;
	ctx.signers = NULL;
	ocsp_set_inline(1);
	if (pin) {
		if (pinned == NULL && ((pinned = sk_X509_new_null()) == NULL ||
		    !sk_X509_push(pinned, unrelated)))
			exit(2);
		ctx.signers = pinned;
	}
	if (der != NULL && ocsp_set_offline_response(der, len) != 0)
		exit(2);
}

static int
near(time_t got, time_t want)
{
	return got >= want - 5 && got <= want + 5;
}

static void
run_case(const struct ocase *c, STACK_OF(X509) *chain)
{
	struct ocsp_settings	 s;
	struct ocsp_result	 res, again;
	unsigned char		*der = NULL;
	size_t			 len = 0;
	time_t			 at = now + c->at_off, want_vu = 0, notafter;
	char			 desc[2048];
	unsigned long		 gen;

	if (c->r.garble != G_ABSENT)
		der = make_response(&c->r, &len);
	settings(&s, OCSP_MODE_LEAF, c->set_sha256, c->set_nonce,
	    c->skew == 0 ? SKEW : c->skew < 0 ? 0 : c->skew, c->max_age);
	prepare(&s, der, len, c->pin_unrelated);

	gen = ocsp_generation();
	ocsp_check_depth(&ctx, chain, 0, at, &res);
	/*
	 * Cached verdicts depend on the status: a first answer that says
	 * good (or none) leaves them be, one that says revoked does not.
	 */
	CHECK((ocsp_generation() != gen) == (res.status == OCSP_REVOKED),
	    "%s: %s changed the OCSP generation from %lu to %lu", c->name,
	    status_name(res.status), gen, ocsp_generation());
	CHECK(res.status == c->want, "%s: expected %s, got %s (%s)", c->name,
	    status_name(c->want), status_name(res.status), T_STR(res.detail));
	if (c->detail != NULL)
		CHECK(t_contains(res.detail, c->detail), "%s: detail %s lacks "
		    "%s", c->name, T_STR(res.detail), T_STR(c->detail));
	if (c->why != NULL)
		CHECK(t_contains(res.detail, c->why), "%s: detail %s lacks %s",
		    c->name, T_STR(res.detail), T_STR(c->why));
	if (c->want == OCSP_OK)
		CHECK(res.detail[0] == '\0', "%s: OK with detail %s", c->name,
		    T_STR(res.detail));
	else
		CHECK(res.depth == 0, "%s: depth %d, expected 0", c->name,
		    res.depth);

	switch (c->vu) {
	case VU_NEXT:
		/*
		 * A verdict is decided again when the refresh is due, a tenth
		 * of the answer's life (at most an hour) before nextUpdate.
		 */
		want_vu = (c->r.next_off - c->r.this_off) / 10;
		want_vu = c->r.next_off - (want_vu > 3600 ? 3600 : want_vu);
		want_vu = now + (want_vu > 0 ? want_vu : c->r.next_off);
		break;
	case VU_TTL:
		want_vu = at + TTL;
		break;
	case VU_NOTAFTER:
		if (identity_time(X509_get0_notAfter(client), &notafter) != 0)
			exit(2);
		want_vu = notafter;
		break;
	default:
		break;
	}
	if (c->vu != VU_ANY)
		CHECK(near(res.valid_until, want_vu), "%s: valid_until %lld, "
		    "expected %lld (now %lld)", c->name,
		    (long long)res.valid_until, (long long)want_vu,
		    (long long)now);
	else
		CHECK(res.valid_until > now + 300 * DAY, "%s: no answer, yet "
		    "valid_until %lld is bounded", c->name,
		    (long long)res.valid_until);

	/* Asked again: the table answers, the same way, without asking. */
	ocsp_check_depth(&ctx, chain, 0, at, &again);
	CHECK(again.status == res.status && again.valid_until ==
	    res.valid_until, "%s: asked again: %s valid_until %lld, first %s "
	    "%lld (%s)", c->name, status_name(again.status),
	    (long long)again.valid_until, status_name(res.status),
	    (long long)res.valid_until, T_STR(again.detail));

	ocsp_describe(&ctx, chain, desc, sizeof(desc));
	CHECK(t_count(desc, "\n") == 1 && strncmp(desc, "depth 0: ", 9) == 0,
	    "%s: describe: %s, expected one line for depth 0", c->name,
	    T_STR(desc));
	if (c->want == OCSP_FAILED)
		CHECK(t_contains(desc, "depth 0: no answer: ") &&
		    (c->detail == NULL || t_contains(desc, c->detail)),
		    "%s: describe %s, expected no answer (%s)", c->name,
		    T_STR(desc), T_STR(c->detail));
	else
		CHECK(t_contains(desc, c->want == OCSP_OK ? "depth 0: good, "
		    "from --ocsp-response" : "depth 0: revoked, from "
		    "--ocsp-response"), "%s: describe %s", c->name,
		    T_STR(desc));
	if (c->describe != NULL)
		CHECK(t_contains(desc, c->describe), "%s: describe %s lacks %s",
		    c->name, T_STR(desc), T_STR(c->describe));
	free(der);
}

/* thisUpdate and nextUpdate as describe prints them. */
static void
iso(time_t t, char *buf, size_t len)
{
	struct tm	 tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void
test_describe_times(STACK_OF(X509) *chain)
{
	struct rspec		 r = { GOOD, FRESH };
	struct ocsp_settings	 s;
	struct ocsp_result	 res;
	unsigned char		*der;
	size_t			 len;
	char			 desc[2048], want[256], t1[32], t2[32];

	der = make_response(&r, &len);
	settings(&s, OCSP_MODE_LEAF, 0, 0, SKEW, 0);
	prepare(&s, der, len, 0);
	ocsp_describe(&ctx, chain, desc, sizeof(desc));
	CHECK(strcmp(desc, "depth 0: not asked (another source answered)\n")
	    == 0, "describe before asking: %s", T_STR(desc));
	ocsp_check_depth(&ctx, chain, 0, now, &res);
	ocsp_describe(&ctx, chain, desc, sizeof(desc));
	iso(now - HOUR, t1, sizeof(t1));
	iso(now + HOUR, t2, sizeof(t2));
	snprintf(want, sizeof(want), "depth 0: good, from --ocsp-response, "
	    "signed by %s, thisUpdate %s, nextUpdate %s\n", INTER_DN, t1, t2);
	CHECK(res.status == OCSP_OK && strcmp(desc, want) == 0,
	    "describe: %s, expected %s", T_STR(desc), T_STR(want));

	/* A buffer too small for the line: cut, still a string. */
	ocsp_describe(&ctx, chain, desc, 20);
	CHECK(strlen(desc) < 20, "describe into 20 bytes: %s", T_STR(desc));

	/* Off: nothing to describe, nothing checked. */
	s.mode = OCSP_MODE_OFF;
	ctx.set = s;
	ocsp_describe(&ctx, chain, desc, sizeof(desc));
	CHECK(desc[0] == '\0', "describe, ocsp off: %s", T_STR(desc));
	ocsp_check(&ctx, chain, now, &res);
	CHECK(res.status == OCSP_OK && res.depth == -1, "ocsp_check, off: %s "
	    "depth %d", status_name(res.status), res.depth);
	free(der);
}

/* ocsp_check by mode, and depth 1 (the intermediate, by the root). */
static void
test_modes(STACK_OF(X509) *chain)
{
	struct rspec		 leaf = { GOOD, FRESH };
	struct rspec		 inter_r = { GOOD, FRESH, .about = ABOUT_INTER,
				    .signer = BY_ROOT };
	struct rspec		 inter_rev = { REVOKED, FRESH,
				    .about = ABOUT_INTER, .signer = BY_ROOT };
	struct rspec		 inter_bad = { GOOD, FRESH,
				    .about = ABOUT_INTER };
	struct ocsp_settings	 s;
	struct ocsp_result	 res;
	unsigned char		*der;
	size_t			 len;
	char			 desc[2048];

	der = make_response(&leaf, &len);
	settings(&s, OCSP_MODE_LEAF, 0, 0, SKEW, 0);
	prepare(&s, der, len, 0);
	ocsp_check(&ctx, chain, now, &res);
	CHECK(res.status == OCSP_OK, "leaf mode, good leaf: %s (%s)",
	    status_name(res.status), T_STR(res.detail));

	/* chain: the one answer given is not about the intermediate. */
	s.mode = OCSP_MODE_CHAIN;
	prepare(&s, der, len, 0);
	ocsp_check(&ctx, chain, now, &res);
	CHECK(res.status == OCSP_FAILED && res.depth == 1 &&
	    t_contains(res.detail, "(depth 1)") &&
	    t_contains(res.detail, NOT_OURS), "chain mode, answer for the "
	    "leaf only: %s depth %d (%s)", status_name(res.status), res.depth,
	    T_STR(res.detail));
	ocsp_describe(&ctx, chain, desc, sizeof(desc));
	CHECK(t_count(desc, "\n") == 2 && t_contains(desc, "depth 0: good") &&
	    t_contains(desc, "depth 1: no answer: "), "chain mode describe: "
	    "%s", T_STR(desc));
	free(der);

	/* depth 1 alone: answered by the root for the intermediate. */
	der = make_response(&inter_r, &len);
	prepare(&s, der, len, 0);
	ocsp_check_depth(&ctx, chain, 1, now, &res);
	CHECK(res.status == OCSP_OK, "depth 1, good by the root: %s (%s)",
	    status_name(res.status), T_STR(res.detail));
	free(der);
	der = make_response(&inter_rev, &len);
	prepare(&s, der, len, 0);
	ocsp_check_depth(&ctx, chain, 1, now, &res);
	CHECK(res.status == OCSP_REVOKED && res.depth == 1 &&
	    t_contains(res.detail, "revoked (depth 1)"), "depth 1, revoked by "
	    "the root: %s depth %d (%s)", status_name(res.status), res.depth,
	    T_STR(res.detail));
	free(der);
	/* The intermediate may not answer for itself. */
	der = make_response(&inter_bad, &len);
	prepare(&s, der, len, 0);
	ocsp_check_depth(&ctx, chain, 1, now, &res);
	CHECK(res.status == OCSP_FAILED && t_contains(res.detail, NOT_SIGNED),
	    "depth 1 by the intermediate itself: %s (%s)",
	    status_name(res.status), T_STR(res.detail));
	free(der);
}

/*
 * Answers stored in LMDB by an earlier run (data_dir), keyed by the hex
 * SHA-256 of the CertID's DER: verified again when read back, since the
 * store holds bytes, not trust.  No responder here (no pool, not inline).
 */
struct scase {
	const char		*name;
	struct rspec		 r;
	enum ocsp_status	 want;
	const char		*describe;
};

static const struct scase scases[] = {
	{ "stored good", { GOOD, FRESH }, OCSP_OK, "depth 0: good, from the "
	    "cache in data_dir, first asked of a responder, signed by "
	    INTER_DN },
	{ "stored revoked, its nextUpdate past (a revocation stays)",
	    { REVOKED, .this_off = -10 * DAY, .next_off = -3 * DAY },
	    OCSP_REVOKED, "depth 0: revoked, from the cache in data_dir" },
	{ "stored good, expired since", { GOOD, .this_off = -10 * DAY,
	    .next_off = -3 * DAY }, OCSP_FAILED, "depth 0: no answer: " },
	{ "stored, signature flipped", { GOOD, FRESH, .nocerts = 1,
	    .garble = G_BAD_SIG }, OCSP_FAILED, "depth 0: no answer: " },
	{ "stored, by an unrelated key", { GOOD, FRESH,
	    .signer = BY_UNRELATED }, OCSP_FAILED, "depth 0: no answer: " },
	{ "stored, about another serial", { GOOD, FRESH,
	    .about = ABOUT_OTHER }, OCSP_FAILED, "depth 0: no answer: " },
};

/*
 * A good answer read back once is kept as a record of the generation it
 * was verified under: read again under that generation it is used as it
 * is (here without any trust: its signature is not checked again), under
 * another one it is verified again (and, without trust, refused).
 */
static void
test_store_record(STACK_OF(X509) *chain, struct store *st, store_set_t dbi,
    const char *key, const struct ocsp_settings *s)
{
	struct rspec		 r = { GOOD, FRESH };
	struct ocsp_result	 res;
	struct ocsp_ctx		 saved = ctx;
	unsigned char		*der, rec[8192];
	size_t			 len, rlen = 0;

	der = make_response(&r, &len);
	ocsp_shutdown();	/* the last rewrite is written */
	if (store_kv_put(st, dbi, key, strlen(key), der, len) != 0)
		exit(2);
	ocsp_init(NULL, st);
	ctx.set = *s;
	ctx.generation = 7;
	ocsp_check_depth(&ctx, chain, 0, now, &res);
	CHECK(res.status == OCSP_OK, "record: a bare DER read back: %s (%s)",
	    status_name(res.status), T_STR(res.detail));
	store_kv_flush(st);	/* the record is queued for the store's writer */
	CHECK(store_kv_get(st, dbi, key, strlen(key), rec, sizeof(rec),
	    &rlen) == 1 && rlen > len && memcmp(rec, "OCR1", 4) == 0 &&
	    memcmp(rec + rlen - len, der, len) == 0, "record: not rewritten "
	    "as a record ending in the DER (%zu bytes)", rlen);

	ocsp_shutdown();
	ocsp_init(NULL, st);
	ctx.chain = NULL;		/* nothing could verify it now */
	ocsp_check_depth(&ctx, chain, 0, now, &res);
	CHECK(res.status == OCSP_OK && res.from_cache, "record: same "
	    "generation, read back without verifying: %s (%s)",
	    status_name(res.status), T_STR(res.detail));
	ocsp_check_depth(&ctx, chain, 0, now + 2 * DAY, &res);
	CHECK(res.status == OCSP_FAILED, "record: same generation, past its "
	    "nextUpdate: %s", status_name(res.status));

	ocsp_shutdown();
	ocsp_init(NULL, st);
	ctx.generation = 8;
	ocsp_check_depth(&ctx, chain, 0, now, &res);
	CHECK(res.status == OCSP_FAILED, "record: another generation is "
	    "verified again (no trust here: refused), got %s",
	    status_name(res.status));
	ctx = saved;
	free(der);
}

static void
test_store(STACK_OF(X509) *chain)
{
	const struct scase	*c;
	struct ocsp_settings	 s;
	struct ocsp_result	 res;
	struct store		*st = NULL;
	store_set_t		 dbi;
	OCSP_CERTID		*id;
	unsigned char		*der, *idder = NULL, md[IDENTITY_SHA256_LEN];
	char			 tmp[256], dir[300], err[256], key[80], desc[2048];
	size_t			 len, i;
	int			 n;

	t_tmpdir(tmp, sizeof(tmp));
	snprintf(dir, sizeof(dir), "%s/store", tmp);
	if (store_open(dir, (size_t)16 << 20, &st, err, sizeof(err)) != 0 ||
	    store_kv_open(st, "ocsp", &dbi) != 0) {
		fprintf(stderr, "store_open %s: %s\n", dir, err);
		exit(2);
	}
	if ((id = OCSP_cert_to_id(EVP_sha1(), client, inter)) == NULL ||
	    (n = i2d_OCSP_CERTID(id, &idder)) <= 0 ||
	    identity_sha256(idder, (size_t)n, md) != 0)
		exit(2);
	identity_hex(md, key);
	OCSP_CERTID_free(id);
	OPENSSL_free(idder);
	settings(&s, OCSP_MODE_LEAF, 0, 0, SKEW, 0);
	for (i = 0; i < sizeof(scases) / sizeof(scases[0]); i++) {
		c = &scases[i];
		der = make_response(&c->r, &len);
		ocsp_shutdown();	/* the last case's rewrite is written */
		if (store_kv_put(st, dbi, key, strlen(key), der, len) != 0)
			exit(2);
		ocsp_init(NULL, st);
		ctx.set = s;
		ocsp_set_inline(0);
		ocsp_check_depth(&ctx, chain, 0, now, &res);
		CHECK(res.status == c->want && res.from_cache ==
		    (c->want != OCSP_FAILED), "%s: expected %s, got %s "
		    "from_cache %d (%s)", c->name, status_name(c->want),
		    status_name(res.status), res.from_cache,
		    T_STR(res.detail));
		ocsp_describe(&ctx, chain, desc, sizeof(desc));
		CHECK(t_contains(desc, c->describe), "%s: describe %s lacks %s",
		    c->name, T_STR(desc), T_STR(c->describe));
		free(der);
	}
	test_store_record(chain, st, dbi, key, &s);
	ocsp_shutdown();
	store_close(&st);
	t_rmtree(tmp);
}

/* Depths with no issuer in the chain, and no chain: fail closed. */
static void
test_depth_range(STACK_OF(X509) *chain)
{
	static const int	 depths[] = { -1, 2, 3, 1000, -1000 };
	struct rspec		 r = { GOOD, FRESH };
	struct ocsp_settings	 s;
	struct ocsp_result	 res;
	unsigned char		*der;
	size_t			 len, i;

	der = make_response(&r, &len);
	settings(&s, OCSP_MODE_CHAIN, 0, 0, SKEW, 0);
	prepare(&s, der, len, 0);
	for (i = 0; i < sizeof(depths) / sizeof(depths[0]); i++) {
		ocsp_check_depth(&ctx, chain, depths[i], now, &res);
		CHECK(res.status == OCSP_FAILED && t_contains(res.detail,
		    "no chain to check"), "depth %d of a chain of %d: %s (%s)",
		    depths[i], sk_X509_num(chain), status_name(res.status),
		    T_STR(res.detail));
	}
	ocsp_check_depth(&ctx, NULL, 0, now, &res);
	CHECK(res.status == OCSP_FAILED, "no chain: %s",
	    status_name(res.status));
	ocsp_check(&ctx, NULL, now, &res);
	CHECK(res.status == OCSP_OK && res.depth == -1, "ocsp_check without "
	    "a chain: %s", status_name(res.status));
	free(der);
}

static void
publish(void)
{
	struct config	 cfg;
	struct snapshot	*snap = NULL;
	char		 path[512];

	config_init(&cfg);
	snprintf(path, sizeof(path), "%s/trust.pem", pki);
	config_set_flag(&cfg, "trust", path);
	snprintf(path, sizeof(path), "%s/intermediates.pem", pki);
	config_set_flag(&cfg, "intermediates", path);
	if (snapshot_new(&cfg, &snap) != 0 || snap == NULL) {
		fprintf(stderr, "cannot load the trust of %s\n", pki);
		exit(2);
	}
	config_cleanup(&cfg);
	snapshot_publish(snap);
}

/* The key as OpenSSL computes it: SHA-256 of i2d_OCSP_CERTID, in hex. */
static void
reference_key(X509 *cert, X509 *issuer, int sha256, char *key)
{
	OCSP_CERTID	*id;
	unsigned char	*der = NULL, md[IDENTITY_SHA256_LEN];
	int		 n;

	if ((id = OCSP_cert_to_id(sha256 ? EVP_sha256() : EVP_sha1(), cert,
	    issuer)) == NULL || (n = i2d_OCSP_CERTID(id, &der)) <= 0 ||
	    identity_sha256(der, (size_t)n, md) != 0)
		exit(2);
	identity_hex(md, key);
	OCSP_CERTID_free(id);
	OPENSSL_free(der);
}

/*
 * ocsp_certid_key: the first key of an issuer computed by OpenSSL, the
 * next ones from its kept prefix; every one as OpenSSL computes it, for
 * serials short and long, with the high bit set (a leading zero) or not.
 */
static void
test_certid_key(void)
{
	static const char	*serials[] = { "01", "7f", "80", "00ff",
				    "0123456789abcdef0123456789abcdef0123",
				    "ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00" };
	X509		*certs[3 + sizeof(serials) / sizeof(serials[0])];
	X509		*issuers[sizeof(certs) / sizeof(certs[0])];
	BIGNUM		*bn = NULL;
	char		 got[IDENTITY_FP_MAX], want[IDENTITY_FP_MAX];
	size_t		 i, n = 0, round;
	int		 sha256;

	certs[n] = client, issuers[n++] = inter;
	certs[n] = client2, issuers[n++] = inter;
	certs[n] = inter, issuers[n++] = root;
	for (i = 0; i < sizeof(serials) / sizeof(serials[0]); i++) {
		/* client.pem with another serial: only the serial is hashed */
		if ((certs[n] = X509_dup(client)) == NULL ||
		    BN_hex2bn(&bn, serials[i]) == 0 ||
		    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(certs[n])) ==
		    NULL)
			exit(2);
		issuers[n++] = inter;
	}
	ocsp_shutdown();	/* no prefix kept */
	for (sha256 = 0; sha256 < 2; sha256++)
		for (round = 0; round < 2; round++)
			for (i = 0; i < n; i++) {
				reference_key(certs[i], issuers[i], sha256,
				    want);
				CHECK(ocsp_certid_key(certs[i], issuers[i],
				    sha256, got, sizeof(got)) == 0 &&
				    strcmp(got, want) == 0, "certid key %zu, "
				    "%s, %s: %s, want %s", i, sha256 ?
				    "sha256" : "sha1", round ? "kept prefix" :
				    "first", got, want);
			}
	for (i = 3; i < n; i++)
		X509_free(certs[i]);
	BN_free(bn);
}

/* DER of bs (caller frees), or NULL. */
static unsigned char *
basic_der(OCSP_BASICRESP *bs, int *len)
{
	unsigned char	*der = NULL;

	*len = bs != NULL ? i2d_OCSP_BASICRESP(bs, &der) : -1;
	return *len > 0 ? der : NULL;
}

/*
 * ocspresp_split: the basic response it reads re-encodes as OpenSSL's
 * whole unpacking does; the signer's certificate is parsed once for two
 * responses; what is not a successful basic response in DER is declined.
 */
static void
test_split(void)
{
	static const struct {
		const char	*name;
		struct rspec	 r;
		int		 ncerts;
	} cases[] = {
		{ "by the delegate", { .signer = BY_DELEGATE }, 1 },
		{ "by the issuer", { .signer = BY_ISSUER }, 1 },
		{ "no certificates", { .signer = BY_DELEGATE, .nocerts = 1 }, 0 },
		{ "three SingleResponses, a nonce",
		    { .signer = BY_DELEGATE, .about = ABOUT_MANY, .nonce = 1 }, 1 },
	};
	const struct rspec	 trailing = { .signer = BY_DELEGATE,
				    .garble = G_TRAILING };
	const struct rspec	 refused = { .rstatus =
				    OCSP_RESPONSE_STATUS_TRYLATER };
	OCSP_BASICRESP		*split, *whole, *again;
	OCSP_RESPONSE		*resp;
	const unsigned char	*p;
	unsigned char		*der, *a, *b;
	size_t			 len, i;
	int			 alen, blen, n;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		der = make_response(&cases[i].r, &len);
		p = der;
		resp = d2i_OCSP_RESPONSE(NULL, &p, (long)len);
		whole = resp != NULL ? OCSP_response_get1_basic(resp) : NULL;
		split = ocspresp_split(der, len);
		a = basic_der(split, &alen);
		b = basic_der(whole, &blen);
		CHECK(a != NULL && b != NULL && alen == blen &&
		    memcmp(a, b, (size_t)alen) == 0, "split, %s: re-encodes "
		    "as the whole (%d and %d bytes)", cases[i].name, alen,
		    blen);
		n = split == NULL ? -1 : OCSP_resp_get0_certs(split) == NULL ?
		    0 : sk_X509_num(OCSP_resp_get0_certs(split));
		CHECK(n == cases[i].ncerts, "split, %s: %d certificates, got "
		    "%d", cases[i].name, cases[i].ncerts, n);
		if (cases[i].ncerts > 0 && split != NULL) {
			again = ocspresp_split(der, len);
			CHECK(again != NULL && sk_X509_value(
			    OCSP_resp_get0_certs(again), 0) == sk_X509_value(
			    OCSP_resp_get0_certs(split), 0), "split, %s: the "
			    "second time the certificate parsed before",
			    cases[i].name);
			OCSP_BASICRESP_free(again);
		}
		OPENSSL_free(a);
		OPENSSL_free(b);
		OCSP_BASICRESP_free(split);
		OCSP_BASICRESP_free(whole);
		OCSP_RESPONSE_free(resp);
		free(der);
	}
	der = make_response(&trailing, &len);
	CHECK(ocspresp_split(der, len) == NULL, "split: a byte after the "
	    "response is declined");
	free(der);
	der = make_response(&refused, &len);
	CHECK(ocspresp_split(der, len) == NULL, "split: tryLater has no "
	    "basic response");
	free(der);
	der = make_response(&cases[0].r, &len);
	CHECK(ocspresp_split(der, len - 1) == NULL, "split: truncated");
	free(der);
}

/* The basic response of the response r describes; exits on failure. */
static OCSP_BASICRESP *
make_basic(const struct rspec *r)
{
	OCSP_RESPONSE		*resp;
	OCSP_BASICRESP		*bs;
	const unsigned char	*p;
	unsigned char		*der;
	size_t			 len;

	der = make_response(r, &len);
	p = der;
	if ((resp = d2i_OCSP_RESPONSE(NULL, &p, (long)len)) == NULL ||
	    (bs = OCSP_response_get1_basic(resp)) == NULL)
		exit(2);
	OCSP_RESPONSE_free(resp);
	free(der);
	return bs;
}

/*
 * ocspresp_signer_known: after OCSP_basic_verify accepted the delegate for
 * the intermediate, its next response needs only the signature; anything
 * else goes the full way (0), whatever it is.
 */
static void
test_signers(STACK_OF(X509) *chain)
{
	static const struct rspec	 good = { .signer = BY_DELEGATE };
	static const struct rspec	 bare = { .signer = BY_DELEGATE,
					    .nocerts = 1 };
	static const struct rspec	 bare_bad = { .signer = BY_DELEGATE,
					    .nocerts = 1, .garble = G_BAD_SIG };
	static const struct {
		const char	*name;
		struct rspec	 r;
	} others[] = {
		{ "another signer (no OCSPSigning)", { .signer = BY_BAD_DELEGATE } },
		{ "the issuer itself, not recorded", { .signer = BY_ISSUER } },
		{ "the delegate's certificate in it damaged",
		    { .signer = BY_DELEGATE, .garble = G_BAD_SIG } },
		{ "about another issuer's certificate", { .signer = BY_DELEGATE,
		    .about = ABOUT_INTER } },
		{ "no answer in it", { .signer = BY_DELEGATE,
		    .about = ABOUT_NONE } },
	};
	OCSP_BASICRESP	*bs, *next;
	STACK_OF(X509)	*certs;
	X509_STORE	*trust;
	X509		*signer = NULL;
	time_t		 na;
	unsigned long	 hits;
	size_t		 i;
	int		 ok;

	(void)chain;
	ocspresp_cleanup();
	certs = sk_X509_new_null();
	sk_X509_push(certs, inter);
	trust = chain_store_trust_at(ctx.chain, now);
	bs = make_basic(&good);
	next = make_basic(&good);
	CHECK(ocspresp_signer_known(bs, certs, inter, ctx.chain, 1, now, &signer) ==
	    0 && signer == NULL, "signers: nothing recorded yet");
	ok = OCSP_basic_verify(bs, certs, trust, 0);
	CHECK(ok == 1, "signers: the delegate's response verifies in full");
	ocspresp_signer_add(bs, certs, inter, ctx.chain, 1);
	hits = ocspresp_signer_hits();
	CHECK(ocspresp_signer_known(next, certs, inter, ctx.chain, 1, now, &signer) ==
	    1 && signer != NULL && X509_cmp(signer, delegate) == 0,
	    "signers: the delegate's next response is known");
	X509_free(signer);
	CHECK(ocspresp_signer_hits() == hits + 1, "signers: counted");
	CHECK(ocspresp_signer_known(next, certs, inter, ctx.chain, 2, now, &signer) ==
	    0, "signers: another generation");
	CHECK(ocspresp_signer_known(next, certs, inter, (const void *)trust, 1, now,
	    &signer) == 0, "signers: another trust");
	CHECK(ocspresp_signer_known(next, certs, root, ctx.chain, 1, now, &signer) ==
	    0, "signers: another issuer");
	identity_time(X509_get0_notAfter(delegate), &na);
	CHECK(ocspresp_signer_known(next, certs, inter, ctx.chain, 1, na + 1,
	    &signer) == 0, "signers: after the delegate's notAfter");
	for (i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
		OCSP_BASICRESP_free(next);
		next = make_basic(&others[i].r);
		CHECK(ocspresp_signer_known(next, certs, inter, ctx.chain, 1, now,
		    &signer) == 0 && signer == NULL, "signers: %s",
		    others[i].name);
	}
	/* The delegate offered by the caller, not in the response. */
	sk_X509_push(certs, delegate);
	OCSP_BASICRESP_free(next);
	next = make_basic(&bare);
	CHECK(ocspresp_signer_known(next, certs, inter, ctx.chain, 1, now,
	    &signer) == 1, "signers: the delegate from certs");
	X509_free(signer);
	OCSP_BASICRESP_free(next);
	next = make_basic(&bare_bad);
	CHECK(ocspresp_signer_known(next, certs, inter, ctx.chain, 1, now,
	    &signer) == 0 && signer == NULL, "signers: a broken signature");
	ocspresp_cleanup();
	OCSP_BASICRESP_free(next);
	next = make_basic(&good);
	CHECK(ocspresp_signer_known(next, certs, inter, ctx.chain, 1, now, &signer) ==
	    0, "signers: forgotten by ocspresp_cleanup");
	OCSP_BASICRESP_free(next);
	OCSP_BASICRESP_free(bs);
	X509_STORE_free(trust);
	sk_X509_free(certs);
}

int
main(int argc, char **argv)
{
	struct snapshot		*snap;
	struct chain_result	 cr;
	size_t			 i;

	if (argc != 2) {
		fprintf(stderr, "usage: test_ocsp PKI_DIR\n");
		return 2;
	}
	pki = argv[1];
	now = time(NULL);
	log_init(LOG_LEVEL_ERROR);	/* every failure here is intended */
	root = load_cert("root.pem");
	inter = load_cert("intermediate.pem");
	client = load_cert("client.pem");
	client2 = load_cert("client2.pem");
	revoked_leaf = load_cert("revoked.pem");
	delegate = load_cert("ocsp-signer.pem");
	bad_delegate = load_cert("ocsp-bad-signer.pem");
	unrelated = load_cert("ocsp-unrelated.pem");
	root_key = load_key("root.key");
	inter_key = load_key("intermediate.key");
	delegate_key = load_key("ocsp-signer.key");
	bad_delegate_key = load_key("ocsp-bad-signer.key");
	unrelated_key = load_key("ocsp-unrelated.key");

	/* As authd check: the snapshot published, the chain verified. */
	publish();
	snap = snapshot_acquire();
	memset(&cr, 0, sizeof(cr));
	if (chain_verify(snap->chain, client, now, CONFIG_PURPOSE_CLIENT,
	    CHAIN_WANT_CHAIN, &cr) != 0 || cr.status != CHAIN_OK ||
	    cr.chain == NULL || sk_X509_num(cr.chain) != 3) {
		fprintf(stderr, "client.pem does not verify: %s\n", cr.detail);
		return 2;
	}
	ctx.chain = snap->chain;	/* published: kept until the end */
	ctx.generation = 1;
	snapshot_release(snap);

	for (i = 0; i < sizeof(ocases) / sizeof(ocases[0]); i++)
		run_case(&ocases[i], cr.chain);
	test_describe_times(cr.chain);
	test_modes(cr.chain);
	test_depth_range(cr.chain);
	test_store(cr.chain);
	test_split();
	test_signers(cr.chain);
	test_certid_key();

	ocsp_shutdown();
	sk_X509_free(pinned);
	chain_result_cleanup(&cr);
	snapshot_shutdown();
	X509_free(root);
	X509_free(inter);
	X509_free(client);
	X509_free(client2);
	X509_free(revoked_leaf);
	X509_free(delegate);
	X509_free(bad_delegate);
	X509_free(unrelated);
	EVP_PKEY_free(root_key);
	EVP_PKEY_free(inter_key);
	EVP_PKEY_free(delegate_key);
	EVP_PKEY_free(bad_delegate_key);
	EVP_PKEY_free(unrelated_key);
	return t_done();
}
