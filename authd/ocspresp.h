/*
 * ocspresp.h: the basic response inside an OCSP response, its certificates
 * parsed once for all the responses that carry them.
 */
#ifndef AUTHD_OCSPRESP_H
#define AUTHD_OCSPRESP_H

#include <stddef.h>

#include <openssl/ocsp.h>

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

/* Forget the cached certificates. */
void		 ocspresp_cleanup(void);

#endif
