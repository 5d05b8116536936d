/*
 * verdict.c: one decision, start to finish (DESIGN.md section 3).
 *
 * The warm path is decode, hash, cache hit: no certificate parsing and no
 * signature.  Everything else is the cold path.  Each step that fails
 * sets the reason and stops; there is no way out of this file that
 * allows without a verified chain.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "cache.h"
#include "err.h"
#include "request.h"
#include "snapshot.h"
#include "verdict.h"

/* Denies are cached briefly: they are cheap to recompute and may be fixed. */
#define VERDICT_DENY_TTL	 60

static const struct {
	const char	*str;
	int		 status;
} verdict_reasons[] = {
#define VERDICT_ROW(name, str, status) { (str), (status) },
	VERDICT_REASON_LIST(VERDICT_ROW)
#undef VERDICT_ROW
};

const char *
verdict_reason_str(enum verdict_reason r)
{
	if ((unsigned int)r >= VERDICT_NREASONS)
		return "internal-error";
	return verdict_reasons[r].str;
}

int
verdict_reason_status(enum verdict_reason r)
{
	if ((unsigned int)r >= VERDICT_NREASONS)
		return 401;
	return verdict_reasons[r].status;
}

static enum verdict_reason
verdict_of_chain(enum chain_status st)
{
	switch (st) {
	case CHAIN_OK:
		return VERDICT_OK;
	case CHAIN_EXPIRED:
		return VERDICT_EXPIRED;
	case CHAIN_NOT_YET_VALID:
		return VERDICT_NOT_YET_VALID;
	case CHAIN_WRONG_PURPOSE:
		return VERDICT_WRONG_PURPOSE;
	case CHAIN_UNTRUSTED:
		return VERDICT_UNTRUSTED;
	default:
		return VERDICT_INTERNAL_ERROR;
	}
}

static void
verdict_set(struct verdict *out, enum verdict_reason r, const char *detail)
{
	out->reason = r;
	snprintf(out->detail, sizeof(out->detail), "%s", detail);
}

/* nginx says NONE when the client sent no certificate at all. */
static int
verdict_nginx_says_none(const struct verdict_input *in)
{
	return in->client_verify != NULL &&
	    strcasecmp(in->client_verify, "NONE") == 0;
}

/* Decoded certificate; per thread, so the warm path allocates nothing. */
static _Thread_local unsigned char	 verdict_der[REQUEST_DER_MAX];

void
verdict_decide(const struct snapshot *snap, struct cache *cache,
    const struct verdict_input *in, time_t at, struct verdict *out,
    STACK_OF(X509) **chainp)
{
	unsigned char			*der = verdict_der, md[IDENTITY_SHA256_LEN];
	const unsigned char		*p;
	struct chain_result		 res;
	enum request_cert_status	 st;
	const char			*why = "";
	X509				*x = NULL;
	size_t				 derlen = 0;
	time_t				 now, expires;
	int				 use_cache;

	memset(out, 0, sizeof(*out));
	memset(&res, 0, sizeof(res));
	now = at != 0 ? at : time(NULL);
	use_cache = at == 0 && chainp == NULL;

	if (snap == NULL || snap->chain == NULL) {
		verdict_set(out, VERDICT_INTERNAL_ERROR, "no trust configuration loaded");
		goto end;
	}
	if (verdict_nginx_says_none(in) || in->cert == NULL) {
		verdict_set(out, VERDICT_NO_CERTIFICATE, "no client certificate was sent");
		goto end;
	}
	st = in->cert_is_pem ?
	    request_pem_decode(in->cert, in->cert_len, der, &derlen, &why) :
	    request_cert_decode(in->cert, in->cert_len, der, &derlen, &why);
	if (st == REQUEST_CERT_ABSENT) {
		verdict_set(out, VERDICT_NO_CERTIFICATE, "no client certificate was sent");
		goto end;
	}
	if (st != REQUEST_CERT_OK) {
		verdict_set(out, VERDICT_MALFORMED, why);
		goto end;
	}
	if (identity_sha256(der, derlen, md) != 0) {
		verdict_set(out, VERDICT_INTERNAL_ERROR, "SHA-256 failed");
		goto end;
	}
	if (use_cache && cache_lookup(cache, md, snap->generation, now, out))
		goto end;

	p = der;
	if ((x = d2i_X509(NULL, &p, (long)derlen)) == NULL ||
	    p != der + derlen) {
		ERR_clear_error();
		identity_hex(md, out->id.fingerprint);
		verdict_set(out, VERDICT_MALFORMED, x == NULL ?
		    "not a valid X.509 certificate" :
		    "data after the certificate");
		goto end;
	}
	if (identity_extract(x, md, &out->id) != 0) {
		verdict_set(out, VERDICT_MALFORMED, "unreadable validity dates");
		goto end;
	}
	out->has_identity = 1;
	if (chain_verify(snap->chain, x, at, snap->cfg.purpose,
	    chainp != NULL ? CHAIN_WANT_CHAIN : CHAIN_FAST, &res) != 0)
		res.status = CHAIN_ERROR;
	out->reason = verdict_of_chain(res.status);
	snprintf(out->detail, sizeof(out->detail), "%s", res.status == CHAIN_OK ?
	    (res.fast ? "chain verified (issuer verified at load)" :
	    "chain verified") : res.detail);
	if (chainp != NULL) {
		*chainp = res.chain;
		res.chain = NULL;
	}
	/* Policy comes in a later version: until then a valid chain allows. */

	if (use_cache && out->reason != VERDICT_INTERNAL_ERROR) {
		expires = now + snap->cfg.cache_ttl;
		if (out->reason == VERDICT_OK) {
			if (res.valid_until < expires)
				expires = res.valid_until + 1;
		} else if (now + VERDICT_DENY_TTL < expires)
			expires = now + VERDICT_DENY_TTL;
		if (expires > now)
			cache_store(cache, md, snap->generation, expires, out);
	}
end:
	chain_result_cleanup(&res);
	X509_free(x);
}
