#!/usr/bin/python3
"""Generate the RFC 5280 section 6.3 CRL fixtures (tests/pki/README.md says
what each case is for).

    /usr/bin/python3 tests/pki/gen-rfc5280.py OUTDIR

OUTDIR is wiped and recreated.  One small PKI per case family (key
renewal, separate CRL signer, self-issued rollover, distribution point
names, reason partitions, indirect CRLs, critical extensions, a CA
without cRLSign), and OUTDIR/cases.tsv, one line per case and
certificate:

    case  family  cert  scope  expect  crls  trust  ints  what

family: the directory under OUTDIR holding the certificates and CRLs;
crls: space-separated file names there; trust and ints: the bundles
of trust anchors and intermediates to configure (there); scope:
chain or leaf (crl_scope); expect: the decision authd must give, "200 ok",
"401 revoked" or "401 revocation-unknown".  Written with python3-
cryptography (Debian's), because openssl ca cannot write indirect CRLs,
certificateIssuer entries or unknown critical extensions.
"""
import datetime
import os
import shutil
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

NOW = datetime.datetime.utcnow().replace(microsecond=0)
DAY = datetime.timedelta(days=1)
HOUR = datetime.timedelta(hours=1)
ORG = "authd rfc5280 tests"
R = x509.ReasonFlags
ALL_REASONS = [R.key_compromise, R.ca_compromise, R.affiliation_changed,
               R.superseded, R.cessation_of_operation, R.certificate_hold,
               R.privilege_withdrawn, R.aa_compromise]

OUT = None
CASES = []
_serial = [0x1000]


def serial():
    _serial[0] += 1
    return _serial[0]


def key():
    return ec.generate_private_key(ec.SECP256R1())


def name(cn, *more):
    attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORG),
             x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    attrs += [x509.NameAttribute(NameOID.COMMON_NAME, m) for m in more]
    return x509.Name(attrs)


def dn_plus_rdn(base, cn):
    """base followed by the RDN CN=cn (a name relative to a CRL issuer)."""
    return x509.Name(list(base.rdns) + [x509.RelativeDistinguishedName(
        [x509.NameAttribute(NameOID.COMMON_NAME, cn)])])


def ski(k):
    return x509.SubjectKeyIdentifier.from_public_key(k.public_key())


def aki(k):
    return x509.AuthorityKeyIdentifier.from_issuer_public_key(k.public_key())


def cert(subject, k, issuer, ik, ca=False, ku=None, cdp=None, days=365,
         eku=True, pathlen=None, nb=None, na=None):
    """A certificate for k's public key, signed by ik as issuer; valid from
    two days ago for days, or from nb to na; eku True (clientAuth), False
    or a list."""
    b = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
         .public_key(k.public_key()).serial_number(serial())
         .not_valid_before(nb or NOW - 2 * DAY).not_valid_after(na or NOW + days * DAY))
    b = b.add_extension(x509.BasicConstraints(ca=ca, path_length=pathlen if ca else None),
                        critical=True)
    if ku is None:
        ku = ["cert", "crl"] if ca else ["sig"]
    b = b.add_extension(x509.KeyUsage(
        digital_signature="sig" in ku, content_commitment=False,
        key_encipherment=False, data_encipherment=False, key_agreement=False,
        key_cert_sign="cert" in ku, crl_sign="crl" in ku,
        encipher_only=False, decipher_only=False), critical=True)
    if not ca and eku:
        b = b.add_extension(x509.ExtendedKeyUsage(
            eku if isinstance(eku, list) else [ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
    b = b.add_extension(ski(k), critical=False)
    if ik is not k:
        b = b.add_extension(aki(ik), critical=False)
    if cdp is not None:
        b = b.add_extension(x509.CRLDistributionPoints(cdp), critical=False)
    return b.sign(ik, hashes.SHA256())


def selfsigned(subject, k, days=3650):
    return cert(subject, k, subject, k, ca=True, days=days)


def entry(c_or_serial, *exts):
    s = c_or_serial if isinstance(c_or_serial, int) else c_or_serial.serial_number
    b = x509.RevokedCertificateBuilder().serial_number(s).revocation_date(NOW - 3 * HOUR)
    for e, crit in exts:
        b = b.add_extension(e, critical=crit)
    return b.build()


def crl(issuer, signer, revoked=(), number=1, this=None, nxt=None, idp=None,
        exts=(), akid=True):
    this = this or NOW - HOUR
    nxt = nxt or NOW + 7 * DAY
    b = (x509.CertificateRevocationListBuilder().issuer_name(issuer)
         .last_update(this).next_update(nxt))
    b = b.add_extension(x509.CRLNumber(number), critical=False)
    if akid:
        b = b.add_extension(aki(signer), critical=False)
    if idp is not None:
        b = b.add_extension(idp, critical=True)
    for e, crit in exts:
        b = b.add_extension(e, critical=crit)
    for r in revoked:
        b = b.add_revoked_certificate(r if isinstance(r, x509.RevokedCertificate) else entry(r))
    return b.sign(signer, hashes.SHA256())


def idp(full=None, rel=None, reasons=None, indirect=False, user=False,
        ca=False, attr=False):
    return x509.IssuingDistributionPoint(
        full_name=full, relative_name=rel, only_contains_user_certs=user,
        only_contains_ca_certs=ca,
        only_some_reasons=frozenset(reasons) if reasons else None,
        indirect_crl=indirect, only_contains_attribute_certs=attr)


def rdn(cn):
    return x509.RelativeDistinguishedName([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


class Family:
    def __init__(self, fam):
        self.fam = fam
        self.dir = os.path.join(OUT, fam)
        os.makedirs(self.dir)

    def write(self, fname, *objs):
        with open(os.path.join(self.dir, fname), "wb") as f:
            for o in objs:
                f.write(o.public_bytes(serialization.Encoding.PEM))

    def case(self, case, cert, expect, crls, what, scope="leaf",
             trust="trust.pem", ints="ints.pem"):
        for c in crls.split() + [trust, ints, cert]:
            assert os.path.exists(os.path.join(self.dir, c)), c
        CASES.append((case, self.fam, cert, scope, expect, crls, trust, ints, what))


GOOD, REV, UNK = "200 ok", "401 revoked", "401 revocation-unknown"


def renewal():
    """AD CS after a CA key renewal: two CA certificates, one name, two keys."""
    f = Family("renewal")
    rk, k1, k2 = key(), key(), key()
    root = selfsigned(name("Renewal Root"), rk)
    ca1 = cert(name("Renewal CA"), k1, root.subject, rk, ca=True)
    ca2 = cert(name("Renewal CA"), k2, root.subject, rk, ca=True)
    old_good = cert(name("old-good"), key(), ca1.subject, k1)
    old_rev = cert(name("old-revoked"), key(), ca1.subject, k1)
    new_good = cert(name("new-good"), key(), ca2.subject, k2)
    new_rev = cert(name("new-revoked"), key(), ca2.subject, k2)
    f.write("trust.pem", root)
    f.write("ints.pem", ca1, ca2)
    for n, c in (("old-good", old_good), ("old-revoked", old_rev),
                 ("new-good", new_good), ("new-revoked", new_rev)):
        f.write(n + ".pem", c)
    # each key signs its own CRL ("CA(0)" and "CA(1)"); the new key's is newer
    f.write("k1.crl", crl(ca1.subject, k1, [old_rev], number=10, this=NOW - 2 * HOUR))
    f.write("k2.crl", crl(ca2.subject, k2, [new_rev], number=11))
    f.write("k2-all.crl", crl(ca2.subject, k2, [old_rev, new_rev], number=12))
    f.write("k1-expired.crl", crl(ca1.subject, k1, [], number=5,
                                  this=NOW - 30 * DAY, nxt=NOW - 20 * DAY))
    for c, e in (("old-good", GOOD), ("old-revoked", REV), ("new-good", GOOD), ("new-revoked", REV)):
        f.case("renewal-both", c + ".pem", e, "k1.crl k2.crl",
               "each key's CRL; a certificate is revoked by its own key's CRL though the other key's is newer")
    for c, e in (("old-good", GOOD), ("old-revoked", REV), ("new-revoked", REV)):
        f.case("renewal-new-key-only", c + ".pem", e, "k2-all.crl",
               "the old key stopped publishing: the new key's CRL answers for certificates of the old key")
    for c, e in (("old-good", GOOD), ("old-revoked", REV)):
        f.case("renewal-old-key-expired", c + ".pem", e, "k1-expired.crl k2-all.crl",
               "the old key's last CRL expired; the new key's current CRL answers")
    for c, e in (("old-good", GOOD), ("old-revoked", REV), ("new-good", GOOD), ("new-revoked", GOOD)):
        f.case("renewal-old-key-only", c + ".pem", e, "k1.crl",
               "only the old key's CRL: it is the CA's CRL for both keys' certificates")


def signer():
    """A separate CRL-signing certificate: same issuer name, its own key."""
    f = Family("signer")
    rk, r2k, ck = key(), key(), key()
    sk, snk, sok = key(), key(), key()
    root = selfsigned(name("Signer Root"), rk)
    root2 = selfsigned(name("Signer Other Root"), r2k)
    ca = cert(name("Signer CA"), ck, root.subject, rk, ca=True)
    s = cert(name("Signer CA"), sk, root.subject, rk, ku=["crl"], eku=False)
    s_nocrl = cert(name("Signer CA"), snk, root.subject, rk, ku=["sig"], eku=False)
    s_other = cert(name("Signer CA"), sok, root2.subject, r2k, ku=["crl"], eku=False)
    good = cert(name("good"), key(), ca.subject, ck)
    rev = cert(name("revoked"), key(), ca.subject, ck)
    f.write("trust.pem", root)
    f.write("trust2.pem", root, root2)
    f.write("ints.pem", ca, s)
    f.write("ints-nocrlsign.pem", ca, s_nocrl)
    f.write("ints-other.pem", ca, s_other)
    f.write("ints-ca-only.pem", ca)
    f.write("good.pem", good)
    f.write("revoked.pem", rev)
    f.write("by-signer.crl", crl(ca.subject, sk, [rev]))
    f.write("by-nocrlsign.crl", crl(ca.subject, snk, [rev]))
    f.write("by-other.crl", crl(ca.subject, sok, [rev]))
    for c, e in (("good", GOOD), ("revoked", REV)):
        f.case("signer-separate-key", c + ".pem", e, "by-signer.crl",
               "the CRL is signed by a certificate of its own (cRLSign) issued by the same root")
    for c in ("good", "revoked"):
        f.case("signer-without-crlsign", c + ".pem", UNK, "by-nocrlsign.crl",
               "the signing certificate's keyUsage lacks cRLSign: the CRL is rejected",
               ints="ints-nocrlsign.pem")
        f.case("signer-other-anchor", c + ".pem", UNK, "by-other.crl",
               "the signer chains to another trust anchor: not the CRL of this path (6.3.3 f)",
               trust="trust2.pem", ints="ints-other.pem")
        f.case("signer-not-configured", c + ".pem", UNK, "by-signer.crl",
               "the signing certificate is not configured: nothing verifies the CRL",
               ints="ints-ca-only.pem")


def rollover():
    """Self-issued key rollover of a root: old-with-new and new-with-old."""
    f = Family("rollover")
    ko, kn, cak, caok = key(), key(), key(), key()
    rname = name("Rollover Root")
    old = selfsigned(rname, ko)
    new = selfsigned(rname, kn)
    new_with_old = cert(rname, kn, rname, ko, ca=True, days=3000)   # new key, old signs
    old_with_new = cert(rname, ko, rname, kn, ca=True, days=3000)   # old key, new signs
    ca_new = cert(name("Rollover CA"), cak, rname, kn, ca=True)      # issued by the new key
    ca_old = cert(name("Rollover Old CA"), caok, rname, ko, ca=True)  # issued by the old key
    g_new = cert(name("good"), key(), ca_new.subject, cak)
    r_new = cert(name("revoked"), key(), ca_new.subject, cak)
    g_old = cert(name("good-old"), key(), ca_old.subject, caok)
    r_old = cert(name("revoked-old"), key(), ca_old.subject, caok)
    f.write("trust-old.pem", old)
    f.write("trust-new.pem", new)
    f.write("ints-nwo.pem", new_with_old, ca_new)
    f.write("ints-own.pem", old_with_new, ca_old)
    for n, c in (("good", g_new), ("revoked", r_new), ("good-old", g_old), ("revoked-old", r_old)):
        f.write(n + ".pem", c)
    f.write("ca.crl", crl(ca_new.subject, cak, [r_new]))
    f.write("ca-old.crl", crl(ca_old.subject, caok, [r_old]))
    f.write("root-by-new.crl", crl(rname, kn, [], number=20))
    f.write("root-by-new-revokes-ca.crl", crl(rname, kn, [ca_new], number=21))
    f.write("root-by-old.crl", crl(rname, ko, [], number=22))
    f.write("root-by-old-revokes-ca.crl", crl(rname, ko, [ca_old], number=23))
    for c, e in (("good", GOOD), ("revoked", REV)):
        f.case("rollover-new-with-old", c + ".pem", e, "ca.crl root-by-new.crl",
               "anchor the old root; the CA and the root's CRL come from the new key, "
               "whose new-with-old certificate chains to the old root", scope="chain",
               trust="trust-old.pem", ints="ints-nwo.pem")
    f.case("rollover-new-with-old-revokes-ca", "good.pem", REV, "ca.crl root-by-new-revokes-ca.crl",
           "the same, the root's CRL (new key) revokes the CA", scope="chain",
           trust="trust-old.pem", ints="ints-nwo.pem")
    for c, e in (("good-old", GOOD), ("revoked-old", REV)):
        f.case("rollover-old-with-new", c + ".pem", e, "ca-old.crl root-by-old.crl",
               "anchor the new root; the CA and the root's CRL come from the old key, "
               "whose old-with-new certificate chains to the new root", scope="chain",
               trust="trust-new.pem", ints="ints-own.pem")
    f.case("rollover-old-with-new-revokes-ca", "good-old.pem", REV, "ca-old.crl root-by-old-revokes-ca.crl",
           "the same, the root's CRL (old key) revokes the CA", scope="chain",
           trust="trust-new.pem", ints="ints-own.pem")
    f.case("rollover-anchor-signs", "good-old.pem", GOOD, "ca-old.crl root-by-new.crl",
           "anchor the new root; the root's CRL is signed by the anchor's own key", scope="chain",
           trust="trust-new.pem", ints="ints-own.pem")


def idps():
    """Issuing Distribution Point names, in every form, against the CDP."""
    f = Family("idp")
    rk, ck = key(), key()
    root = selfsigned(name("IDP Root"), rk)
    ca = cert(name("IDP CA"), ck, root.subject, rk, ca=True)
    p1_dn = dn_plus_rdn(ca.subject, "Part 1")
    uri_p1 = x509.UniformResourceIdentifier("http://crl.example/part1.crl")
    uri_p2 = x509.UniformResourceIdentifier("http://crl.example/part2.crl")
    dp = lambda full=None, rel=None: [x509.DistributionPoint(full, rel, None, None)]
    certs = {
        "uri": dp(full=[uri_p1]),
        "dirname": dp(full=[x509.DirectoryName(p1_dn)]),
        "relative": dp(rel=rdn("Part 1")),
        "none": None,
    }
    f.write("trust.pem", root)
    f.write("ints.pem", ca)
    made = {}
    for n, d in certs.items():
        made[n] = (cert(name(n + "-good"), key(), ca.subject, ck, cdp=d),
                   cert(name(n + "-revoked"), key(), ca.subject, ck, cdp=d))
        f.write(n + "-good.pem", made[n][0])
        f.write(n + "-revoked.pem", made[n][1])
    rev = [m[1] for m in made.values()]
    f.write("uri-p1.crl", crl(ca.subject, ck, rev, idp=idp(full=[uri_p1])))
    f.write("uri-p2.crl", crl(ca.subject, ck, rev, idp=idp(full=[uri_p2])))
    f.write("dirname-p1.crl", crl(ca.subject, ck, rev, idp=idp(full=[x509.DirectoryName(p1_dn)])))
    f.write("relative-p1.crl", crl(ca.subject, ck, rev, idp=idp(rel=rdn("Part 1"))))
    f.write("relative-p2.crl", crl(ca.subject, ck, rev, idp=idp(rel=rdn("Part 2"))))
    f.write("users.crl", crl(ca.subject, ck, rev, idp=idp(user=True)))
    f.write("cas.crl", crl(ca.subject, ck, rev, idp=idp(ca=True)))
    f.write("attrs.crl", crl(ca.subject, ck, rev, idp=idp(attr=True)))
    for leaf, crls, applies, what in (
            ("uri", "uri-p1.crl", True, "IDP URI matches the CDP URI"),
            ("uri", "uri-p2.crl", False, "IDP URI of another partition"),
            ("dirname", "dirname-p1.crl", True, "IDP directoryName matches the CDP directoryName"),
            ("dirname", "relative-p1.crl", True, "IDP nameRelativeToCRLIssuer (issuer + RDN) matches the CDP directoryName"),
            ("relative", "dirname-p1.crl", True, "IDP directoryName matches the CDP nameRelativeToCRLIssuer"),
            ("relative", "relative-p1.crl", True, "both relative to the issuer, same RDN"),
            ("relative", "relative-p2.crl", False, "both relative, another RDN"),
            ("dirname", "uri-p1.crl", False, "a URI against a directoryName"),
            ("none", "uri-p1.crl", False, "a partitioned CRL for a certificate without CDP"),
            ("uri", "users.crl", True, "onlyContainsUserCerts: a user certificate is in scope"),
            ("uri", "cas.crl", False, "onlyContainsCACerts: a user certificate is not in scope"),
            ("uri", "attrs.crl", False, "onlyContainsAttributeCerts: answers for no public-key certificate"),
            ("uri", "uri-p2.crl uri-p1.crl", True, "two partitions configured, the matching one answers")):
        case = "idp-%s-%s" % (leaf, crls.split()[-1].replace(".crl", ""))
        if len(crls.split()) > 1:
            case += "-among-two"
        f.case(case, leaf + "-good.pem", GOOD if applies else UNK, crls, what)
        f.case(case, leaf + "-revoked.pem", REV if applies else UNK, crls, what)


def reasons():
    """onlySomeReasons partitions: complete only together."""
    f = Family("reasons")
    rk, ck = key(), key()
    root = selfsigned(name("Reasons Root"), rk)
    ca = cert(name("Reasons CA"), ck, root.subject, rk, ca=True)
    good = cert(name("good"), key(), ca.subject, ck)
    rev_a = cert(name("revoked-a"), key(), ca.subject, ck)
    rev_b = cert(name("revoked-b"), key(), ca.subject, ck)
    f.write("trust.pem", root)
    f.write("ints.pem", ca)
    for n, c in (("good", good), ("revoked-a", rev_a), ("revoked-b", rev_b)):
        f.write(n + ".pem", c)
    part_a = [R.key_compromise, R.ca_compromise]
    part_b = [r for r in ALL_REASONS if r not in part_a]
    f.write("part-a.crl", crl(ca.subject, ck, [rev_a], idp=idp(reasons=part_a)))
    f.write("part-b.crl", crl(ca.subject, ck, [rev_b], idp=idp(reasons=part_b)))
    f.write("full-empty.crl", crl(ca.subject, ck, [], number=30))
    for c, e in (("good", GOOD), ("revoked-a", REV), ("revoked-b", REV)):
        f.case("reasons-complete", c + ".pem", e, "part-a.crl part-b.crl",
               "two reason partitions that together cover every reason")
    for c, e in (("good", UNK), ("revoked-a", REV), ("revoked-b", UNK)):
        f.case("reasons-incomplete", c + ".pem", e, "part-a.crl",
               "one partition only: not revoked for its reasons is no answer for the others")
    for c, e in (("good", GOOD), ("revoked-a", REV)):
        f.case("reasons-partition-and-full", c + ".pem", e, "part-a.crl full-empty.crl",
               "a partition and a complete CRL: a revocation in either counts")


def indirect():
    """Indirect CRLs: entries attributed by certificateIssuer."""
    f = Family("indirect")
    rk, ck, ok, ak = key(), key(), key(), key()
    root = selfsigned(name("Indirect Root"), rk)
    ca = cert(name("Indirect CA"), ck, root.subject, rk, ca=True)
    other = cert(name("Indirect Other CA"), ok, root.subject, rk, ca=True)
    auth = cert(name("CRL Authority"), ak, root.subject, rk, ku=["crl"], eku=False)
    uri = x509.UniformResourceIdentifier("http://crl.example/indirect.crl")
    dp = [x509.DistributionPoint([uri], None, None, [x509.DirectoryName(auth.subject)])]
    good = cert(name("good"), key(), ca.subject, ck, cdp=dp)
    rev = cert(name("revoked"), key(), ca.subject, ck, cdp=dp)
    plain = cert(name("plain-revoked"), key(), ca.subject, ck)
    f.write("trust.pem", root)
    f.write("ints.pem", ca, other, auth)
    for n, c in (("good", good), ("revoked", rev), ("plain-revoked", plain)):
        f.write(n + ".pem", c)
    ci = lambda c: (x509.CertificateIssuer([x509.DirectoryName(c.subject)]), True)
    ind = idp(full=[uri], indirect=True)
    f.write("ind.crl", crl(auth.subject, ak, [
        entry(0x77, ci(other)), entry(rev, ci(ca)), entry(0x78), entry(plain)], idp=ind))
    f.write("ind-other.crl", crl(auth.subject, ak, [entry(rev, ci(other)), entry(plain, ci(other))], idp=ind))
    f.write("ind-noext.crl", crl(auth.subject, ak, [entry(rev), entry(plain)], idp=ind))
    f.write("ind-inherit.crl", crl(auth.subject, ak, [
        entry(0x79, ci(other)), entry(0x80, ci(ca)), entry(rev)], idp=ind))
    f.write("not-indirect.crl", crl(auth.subject, ak, [rev], idp=idp(full=[uri])))
    f.write("ca.crl", crl(ca.subject, ck, [plain]))
    for c, e in (("good", GOOD), ("revoked", REV)):
        f.case("indirect", c + ".pem", e, "ind.crl",
               "the CRL authority's indirect CRL; the entry names the CA in certificateIssuer")
        f.case("indirect-inherited", c + ".pem", e, "ind-inherit.crl",
               "the entry has no certificateIssuer: it carries over from the entry before")
    f.case("indirect-other-issuer", "revoked.pem", GOOD, "ind-other.crl",
           "the serial is listed for another CA: not this certificate")
    f.case("indirect-no-issuer-ext", "revoked.pem", GOOD, "ind-noext.crl",
           "entries without certificateIssuer belong to the CRL issuer itself")
    f.case("indirect-not-flagged", "revoked.pem", UNK, "not-indirect.crl",
           "the DP names a cRLIssuer but the CRL has no indirectCRL: it does not apply")
    f.case("indirect-no-crlissuer", "plain-revoked.pem", UNK, "ind.crl",
           "a certificate whose DP names no cRLIssuer: the indirect CRL does not apply")
    f.case("indirect-and-direct", "plain-revoked.pem", REV, "ind.crl ca.crl",
           "the same certificate, with the CA's own CRL beside")


def critical():
    """Critical extensions authd does not know: the CRL is unusable."""
    f = Family("critical")
    rk, ck, nk = key(), key(), key()
    root = selfsigned(name("Critical Root"), rk)
    ca = cert(name("Critical CA"), ck, root.subject, rk, ca=True)
    noc = cert(name("No cRLSign CA"), nk, root.subject, rk, ca=True, ku=["cert"])
    good = cert(name("good"), key(), ca.subject, ck)
    rev = cert(name("revoked"), key(), ca.subject, ck)
    ngood = cert(name("nocrlsign-good"), key(), noc.subject, nk)
    f.write("trust.pem", root)
    f.write("ints.pem", ca, noc)
    for n, c in (("good", good), ("revoked", rev), ("nocrlsign-good", ngood)):
        f.write(n + ".pem", c)
    odd = lambda oid: x509.UnrecognizedExtension(ObjectIdentifier(oid), b"\x05\x00")
    f.write("crit-ext.crl", crl(ca.subject, ck, [rev], exts=[(odd("1.3.6.1.4.1.55555.1"), True)]))
    f.write("crit-entry.crl", crl(ca.subject, ck, [entry(0x99, (odd("1.3.6.1.4.1.55555.2"), True)), rev]))
    f.write("noncrit-ext.crl", crl(ca.subject, ck, [entry(rev, (odd("1.3.6.1.4.1.55555.3"), False))],
                                   exts=[(odd("1.3.6.1.4.1.55555.4"), False)]))
    f.write("nocrlsign.crl", crl(noc.subject, nk, []))
    for c in ("good", "revoked"):
        f.case("critical-crl-extension", c + ".pem", UNK, "crit-ext.crl",
               "an unknown critical CRL extension: the CRL is unusable")
        f.case("critical-entry-extension", c + ".pem", UNK, "crit-entry.crl",
               "an unknown critical entry extension: the CRL is unusable")
    for c, e in (("good", GOOD), ("revoked", REV)):
        f.case("noncritical-unknown", c + ".pem", e, "noncrit-ext.crl",
               "unknown non-critical extensions are ignored")
    f.case("ca-without-crlsign", "nocrlsign-good.pem", UNK, "nocrlsign.crl",
           "a CA whose keyUsage lacks cRLSign cannot sign a CRL that counts")


def ocsp_at():
    """An OCSP answer judged at an earlier decision time (authd check --at):
    responses signed by a delegated responder whose certificate expired
    since, one response per depth.  Not in cases.tsv: check-time.sh uses
    the files directly (at.txt holds the decision time, Unix seconds)."""
    from cryptography.x509 import ocsp
    f = Family("ocsp-at")
    rk, ck, dk = key(), key(), key()
    at = NOW - 4 * DAY - 12 * HOUR
    root = cert(name("At Root"), rk, name("At Root"), rk, ca=True, nb=NOW - 30 * DAY, days=3650)
    ca = cert(name("At CA"), ck, root.subject, rk, ca=True, nb=NOW - 30 * DAY)
    leaf = cert(name("at-client"), key(), ca.subject, ck, nb=NOW - 20 * DAY)
    resp = cert(name("At OCSP Responder"), dk, ca.subject, ck, nb=NOW - 10 * DAY, na=NOW - DAY,
                eku=[ExtendedKeyUsageOID.OCSP_SIGNING])
    f.write("trust.pem", root)
    f.write("ints.pem", ca)
    f.write("client.pem", leaf)
    f.write("ca.pem", ca)
    f.write("responder.pem", resp)
    def answer(c, issuer, signer_cert, signer_key, extra):
        b = ocsp.OCSPResponseBuilder().add_response(
            cert=c, issuer=issuer, algorithm=hashes.SHA1(),
            cert_status=ocsp.OCSPCertStatus.GOOD, this_update=NOW - 5 * DAY,
            next_update=NOW - 4 * DAY, revocation_time=None, revocation_reason=None)
        b = b.responder_id(ocsp.OCSPResponderEncoding.HASH, signer_cert)
        if extra:
            b = b.certificates(extra)
        return b.sign(signer_key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)
    with open(os.path.join(f.dir, "client.resp"), "wb") as o:
        o.write(answer(leaf, ca, resp, dk, [resp]))
    with open(os.path.join(f.dir, "ca.resp"), "wb") as o:
        o.write(answer(ca, root, root, rk, None))
    with open(os.path.join(f.dir, "at.txt"), "w") as o:
        o.write("%d\n" % int(at.replace(tzinfo=datetime.timezone.utc).timestamp()))


def _der_len(n):
    if n < 0x80:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(b)]) + b


def _der(tag, body):
    return bytes([tag]) + _der_len(len(body)) + body


def odd_dn():
    """A CA-signed leaf whose OU is an ObjectDescriptor (tag 7), which
    OpenSSL accepts and prints as #070B...: issue 10 finding 3.  Not in
    cases.tsv (odd-dn.sh uses it).  Made with OU as a UTF8String, the tag
    patched in the TBSCertificate, and signed again."""
    from cryptography.hazmat.primitives.asymmetric import ec as _ec
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
    f = Family("odd-dn")
    rk, ck, lk = key(), key(), key()
    root = selfsigned(name("Odd Root"), rk)
    ca = cert(name("Odd CA"), ck, root.subject, rk, ca=True)
    subject = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORG),
                         x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Contractors"),
                         x509.NameAttribute(NameOID.COMMON_NAME, "odd-contractor")])
    plain = cert(subject, lk, ca.subject, ck)
    tbs = plain.tbs_certificate_bytes
    utf8 = b"\x0c\x0bContractors"
    assert tbs.count(utf8) == 1
    tbs = tbs.replace(utf8, b"\x07\x0bContractors")
    sig = ck.sign(tbs, _ec.ECDSA(hashes.SHA256()))
    alg = _der(0x30, _der(0x06, bytes.fromhex("2a8648ce3d040302")))   # ecdsa-with-SHA256
    der = _der(0x30, tbs + alg + _der(0x03, b"\x00" + sig))
    odd = x509.load_der_x509_certificate(der)
    odd.public_key()   # parses
    f.write("trust.pem", root)
    f.write("ints.pem", ca)
    f.write("contractor.pem", odd)
    f.write("plain.pem", plain)
    with open(os.path.join(f.dir, "contractor.der"), "wb") as o:
        o.write(der)


def main():
    global OUT
    if len(sys.argv) != 2 or not sys.argv[1]:
        sys.exit("usage: gen-rfc5280.py OUTDIR")
    OUT = os.path.abspath(sys.argv[1])
    if OUT in ("/", "/usr", "/etc", "/root", "/home"):
        sys.exit("gen-rfc5280.py: refusing to wipe " + OUT)
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT)
    for fam in (renewal, signer, rollover, idps, reasons, indirect, critical, ocsp_at,
                odd_dn):
        fam()
    with open(os.path.join(OUT, "cases.tsv"), "w") as f:
        for c in CASES:
            f.write("\t".join(c) + "\n")


if __name__ == "__main__":
    main()
