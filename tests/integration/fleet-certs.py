#!/usr/bin/python3
"""Many client certificates for the fleet tests (ocsp-fleet.sh,
crl-fetch-many.sh): N leaves issued by tests/pki/gen.sh's intermediate, one
key, serials BASE + i, each naming its own revocation source.

  fleet-certs.py PKI N OUT --serial-base HEX --ocsp URL [--revoked-every K]
      AIA OCSP URL/good, or URL/revoked for every K-th (the fault
      responder's modes: ocsp-responder.c)
  fleet-certs.py PKI N OUT --serial-base HEX --crl-dp PREFIX
      a CRL distribution point PREFIX/<i>.crl each

OUT gets one line per leaf: "SERIAL-HEX EXPECT HEADER", EXPECT good or
revoked, HEADER the PEM URL-escaped as nginx's $ssl_client_escaped_cert.
"""
import argparse
import datetime
import urllib.parse

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID

ap = argparse.ArgumentParser()
ap.add_argument("pki")
ap.add_argument("n", type=int)
ap.add_argument("out")
ap.add_argument("--serial-base", required=True)
src = ap.add_mutually_exclusive_group(required=True)
src.add_argument("--ocsp")
src.add_argument("--crl-dp")
ap.add_argument("--revoked-every", type=int, default=0)
a = ap.parse_args()

issuer = x509.load_pem_x509_certificate(open(a.pki + "/intermediate.pem", "rb").read())
ikey = serialization.load_pem_private_key(open(a.pki + "/intermediate.key", "rb").read(), None)
key = ec.generate_private_key(ec.SECP256R1())
now = datetime.datetime.now(datetime.timezone.utc)
aki = x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.public_key())
base = int(a.serial_base, 16)
with open(a.out, "w") as f:
    for i in range(a.n):
        revoked = a.revoked_every > 0 and i % a.revoked_every == a.revoked_every - 1
        serial = base + i
        b = (x509.CertificateBuilder()
             .subject_name(x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Fleet"),
                                      x509.NameAttribute(NameOID.COMMON_NAME, "device-%05d" % i)]))
             .issuer_name(issuer.subject).public_key(key.public_key()).serial_number(serial)
             .not_valid_before(now - datetime.timedelta(hours=1))
             .not_valid_after(now + datetime.timedelta(days=30))
             .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
             .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False),
                            critical=True)
             .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
             .add_extension(aki, critical=False))
        if a.ocsp:
            b = b.add_extension(x509.AuthorityInformationAccess([x509.AccessDescription(
                AuthorityInformationAccessOID.OCSP,
                x509.UniformResourceIdentifier(a.ocsp + ("/revoked" if revoked else "/good")))]),
                critical=False)
        else:
            b = b.add_extension(x509.CRLDistributionPoints([x509.DistributionPoint(
                [x509.UniformResourceIdentifier("%s/%d.crl" % (a.crl_dp, i))], None, None, None)]),
                critical=False)
        pem = b.sign(ikey, hashes.SHA256()).public_bytes(serialization.Encoding.PEM).decode()
        f.write("%X %s %s\n" % (serial, "revoked" if revoked else "good",
                                urllib.parse.quote(pem, safe="-_.~")))
