/*
 * ocspresp.h: the basic response inside an OCSP response, its certificates
 * parsed once for all the responses that carry them, and the responders
 * whose authority is already verified.
 */
#ifndef AUTHD_OCSPRESP_H
#define AUTHD_OCSPRESP_H

#include <stddef.h>
#include <time.h>

#include <openssl/ocsp.h>
#include <openssl/x509.h>

/* Certificates kept parsed (a responder's signer, its issuer, ...). */
#define OCSPRESP_CERTS	 32

/*
 * The BasicOCSPResponse of resp, which was parsed from der: split when its
 * DER allows (ocspresp_split), else unpacked whole (OpenSSL's
 * OCSP_response_get1_basic).  NULL when it is not there or not readable.
 */
OCSP_BASICRESP	*ocspresp_basic(const unsigned char *der, size_t len,
		    OCSP_RESPONSE *resp);

/*
 * The split alone: the BasicOCSPResponse read without its certificates,
 * which are then taken from the cache (by SHA-256 of their DER) or parsed
 * and added to it.  NULL when the DER is anything but a successful
 * OCSPResponse of type basic in plain DER, or a part fails to parse; the
 * caller then unpacks it whole, which accepts or refuses it as OpenSSL
 * does.  fuzz_ocsp checks that a split response re-encodes as the whole
 * one does.
 */
OCSP_BASICRESP	*ocspresp_split(const unsigned char *der, size_t len);

/*
 * Responders whose authority was verified.  OCSP_basic_verify checks a
 * response's signature, then builds the signer's chain to an anchor and
 * checks that the signer is the certificate's issuer or its delegate
 * (OCSPSigning, issued by it): three signatures for every answer, the
 * last two the same for every answer that signer gives.
 *
 * ocspresp_signer_add records, after OCSP_basic_verify(bs, certs, ...)
 * succeeded with no flags, which certificate signed (found as OpenSSL
 * finds it: by the responder ID, in certs first, then in the response)
 * for issuer, under trust (the chain store, with its generation).
 * ocspresp_signer_known then accepts a response for the same issuer and
 * trust when the certificate OpenSSL would take as its signer (by the
 * same search, with the same certs) is a recorded signer, every answer in it
 * is about that issuer's certificates (as OpenSSL's issuer check
 * requires), the decision time is inside both its and the issuer's
 * validity, the record is younger than OCSPRESP_SIGNER_TTL, and the
 * response's signature verifies with that signer's key.  It returns 1 then (the signer in *signer, to be freed),
 * else 0: the caller verifies in full, as if nothing were recorded.  It
 * never refuses.
 */
#define OCSPRESP_SIGNERS	 16
#define OCSPRESP_SIGNER_TTL	 3600

void		 ocspresp_signer_add(OCSP_BASICRESP *bs, STACK_OF(X509) *certs,
		    X509 *issuer, const void *trust, unsigned long gen);
int		 ocspresp_signer_known(OCSP_BASICRESP *bs,
		    STACK_OF(X509) *certs, X509 *issuer, const void *trust,
		    unsigned long gen, time_t at, X509 **signer);
/* Responses accepted by ocspresp_signer_known so far (tests). */
unsigned long	 ocspresp_signer_hits(void);

/* Forget the cached certificates and signers. */
void		 ocspresp_cleanup(void);

#endif
