#!/usr/bin/env bash
# Regenerate the fuzzers' PKI (tests/fuzz/pki/) and the seeds that are
# certificates, CRLs or OCSP responses (tests/fuzz/corpus/fuzz_{cert,crl,
# ocsp,request}/), with the openssl CLI.  The output is committed: the
# harnesses re-sign what the fuzzer mutates with these keys, and an OCSP
# CertID carries the hash of the issuing CA's key, so seeds and keys must
# come from the same run.  Everything is valid from 2026-01-01 to 2126: the
# harnesses decide at 2027-01-01 (FUZZ_AT in fuzz_pki.h).
#
#   tests/fuzz/gen-corpus.sh        rewrites tests/fuzz/pki and the seeds
set -euo pipefail
cd "$(dirname "$0")"
FZ=$(pwd)
P=$FZ/pki
C=$FZ/corpus
W=$(mktemp -d /tmp/authd-fuzz-gen.XXXXXX)
trap 'rm -rf "$W"' EXIT
rm -rf "$P"
mkdir -p "$P" "$C/fuzz_cert" "$C/fuzz_crl" "$C/fuzz_ocsp" "$C/fuzz_request"
rm -f "$C"/fuzz_cert/* "$C"/fuzz_crl/* "$C"/fuzz_ocsp/* "$C"/fuzz_request/fuzz-*

START=20260101000000Z
END=21260101000000Z

cat > "$W/ca.cnf" <<'CNF'
[ ca ]
default_ca = fz
[ fz ]
dir            = $ENV::DB
database       = $dir/index.txt
crlnumber      = $dir/crlnumber
new_certs_dir  = $dir
serial         = $dir/serial
default_md     = sha256
policy         = anything
unique_subject = no
copy_extensions = none
[ anything ]
commonName             = optional
organizationName       = optional
organizationalUnitName = optional
[ req ]
distinguished_name = dn
[ dn ]
[ v3_root ]
basicConstraints       = critical, CA:TRUE
keyUsage               = critical, keyCertSign, cRLSign
subjectKeyIdentifier   = hash
[ v3_ca ]
basicConstraints       = critical, CA:TRUE, pathlen:0
keyUsage               = critical, keyCertSign, cRLSign
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always
certificatePolicies    = 2.16.840.1.101.3.2.1.3.13, 2.5.29.32.0
nameConstraints        = permitted;DNS:example.org, permitted;email:example.org, permitted;URI:example.org, excluded;IP:10.0.0.0/255.0.0.0
crlDistributionPoints  = URI:http://127.0.0.1:1/root.crl
[ v3_leaf ]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, digitalSignature
extendedKeyUsage       = clientAuth, emailProtection
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always
subjectAltName         = DNS:alice.example.org, email:alice@example.org, URI:spiffe://example.org/ns/prod/sa/alice, IP:192.0.2.1, otherName:1.3.6.1.4.1.311.20.2.3;UTF8:alice@example.org
certificatePolicies    = 2.16.840.1.101.3.2.1.3.13
crlDistributionPoints  = URI:http://127.0.0.1:1/ca.crl
authorityInfoAccess    = OCSP;URI:http://127.0.0.1:1/ocsp, caIssuers;URI:http://127.0.0.1:1/ca.der
[ v3_ocsp ]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, digitalSignature
extendedKeyUsage       = OCSPSigning
noCheck                = ignored
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always
[ crl_std ]
authorityKeyIdentifier = keyid:always
[ crl_idp ]
authorityKeyIdentifier   = keyid:always
issuingDistributionPoint = critical, @idp
[ idp ]
fullname          = URI:http://127.0.0.1:1/ca.crl
onlysomereasons   = keyCompromise, superseded
onlyuser          = TRUE
[ crl_delta ]
authorityKeyIdentifier = keyid:always
2.5.29.27              = critical, ASN1:INTEGER:16
CNF
export DB=$W/db
mkdir -p "$DB"
: > "$DB/index.txt"
echo 1000 > "$DB/serial"
ossl() { openssl "$@" >>"$W/log" 2>&1 || { cat "$W/log" >&2; exit 1; }; }

# cert NAME ISSUER EXT SUBJECT: NAME.pem, NAME.key (P-256) in pki/
cert() {
    local name=$1 issuer=$2 ext=$3 subj=$4
    ossl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$P/$name.key"
    ossl req -new -config "$W/ca.cnf" -key "$P/$name.key" -subj "$subj" -out "$W/$name.csr"
    if [ "$issuer" = self ]; then
        ossl ca -batch -notext -preserveDN -config "$W/ca.cnf" -selfsign -keyfile "$P/$name.key" \
            -extensions "$ext" -startdate $START -enddate $END -in "$W/$name.csr" -out "$P/$name.pem"
    else
        ossl ca -batch -notext -preserveDN -config "$W/ca.cnf" -cert "$P/$issuer.pem" -keyfile "$P/$issuer.key" \
            -extensions "$ext" -startdate $START -enddate $END -in "$W/$name.csr" -out "$P/$name.pem"
    fi
}
cert root self v3_root "/O=authd fuzz/CN=Fuzz Root"
cert ca   root v3_ca   "/O=authd fuzz/CN=Fuzz CA"
cert leaf ca   v3_leaf "/O=authd fuzz/OU=Admins/CN=alice"
cert ocsp ca   v3_ocsp "/O=authd fuzz/CN=Fuzz OCSP"
cert revoked ca v3_leaf "/O=authd fuzz/OU=Contractors/CN=mallory"
rm -f "$P"/*.csr "$P"/leaf.key "$P"/revoked.key   # no harness signs as a leaf

# certificates, DER
for n in root ca leaf ocsp revoked; do
    openssl x509 -in "$P/$n.pem" -outform DER -out "$C/fuzz_cert/$n.der"
done

# CRLs, DER: each with its own database of revoked serials
# mkcrl NAME ISSUER EXT [REVOKED-NAME[,REASON]...]
num=16
mkcrl() {
    local name=$1 issuer=$2 ext=$3 r s reason
    shift 3
    local db=$W/crl-$name
    mkdir -p "$db"
    : > "$db/index.txt"
    printf '%X\n' $num > "$db/crlnumber"
    num=$((num + 1))
    for r in "$@"; do
        reason=${r#*,}; [ "$reason" = "$r" ] && reason=keyCompromise
        s=$(openssl x509 -in "$P/${r%%,*}.pem" -noout -serial | sed 's/serial=//')
        printf 'R\t21250101000000Z\t260601000000Z,%s\t%s\tunknown\t/CN=%s\n' \
            "$reason" "$s" "${r%%,*}" >> "$db/index.txt"
    done
    DB=$db ossl ca -gencrl -batch -config "$W/ca.cnf" -cert "$P/$issuer.pem" -keyfile "$P/$issuer.key" \
        -crlexts "$ext" -crl_lastupdate 20260601000000Z -crl_nextupdate 21250101000000Z -out "$W/$name.pem"
    openssl crl -in "$W/$name.pem" -outform DER -out "$C/fuzz_crl/$name.der"
}
mkcrl ca-empty    ca   crl_std
mkcrl ca          ca   crl_std revoked
mkcrl ca-leaf     ca   crl_std leaf,superseded revoked,cessationOfOperation
mkcrl ca-idp      ca   crl_idp revoked
mkcrl root        root crl_std
mkcrl root-ca     root crl_std ca,cACompromise
mkcrl ca-delta    ca   crl_delta leaf,certificateHold
mkcrl ca-delta-rm ca   crl_delta revoked,removeFromCRL
# the CRLs fuzz_request's snapshot loads (a directory, as `crl` allows)
mkdir -p "$P/crl"
cp "$W/ca.pem" "$P/crl/ca.crl.pem"
cp "$W/root.pem" "$P/crl/root.crl.pem"
# a base and its delta in one input (the harness loads both)
cat "$C/fuzz_crl/ca.der" "$C/fuzz_crl/ca-delta.der" > "$C/fuzz_crl/ca+delta.der"
cat "$C/fuzz_crl/ca.der" "$C/fuzz_crl/ca-delta-rm.der" > "$C/fuzz_crl/ca+delta-rm.der"
rm "$C/fuzz_crl/ca-delta.der" "$C/fuzz_crl/ca-delta-rm.der"

# OCSP responses, DER, for the leaf (SHA-1 CertID, as authd asks by default)
odb=$W/ocsp-db
mkdir -p "$odb"
for n in leaf revoked; do
    s=$(openssl x509 -in "$P/$n.pem" -noout -serial | sed 's/serial=//')
    st=V; rv=
    [ "$n" = revoked ] && { st=R; rv=260601000000Z,keyCompromise; }
    printf '%s\t21260101000000Z\t%s\t%s\tunknown\t/CN=%s\n' "$st" "$rv" "$s" "$n" >> "$odb/index.txt"
done
# ocspresp NAME CERT SIGNER [options]
ocspresp() {
    local name=$1 cert=$2 signer=$3
    shift 3
    ossl ocsp "$@" -issuer "$P/ca.pem" -cert "$P/$cert.pem" -reqout "$W/$name.req"
    ossl ocsp -index "$odb/index.txt" -CA "$P/ca.pem" -rsigner "$P/$signer.pem" -rkey "$P/$signer.key" \
        -reqin "$W/$name.req" -ndays 36500 -respout "$C/fuzz_ocsp/$name.der"
}
ocspresp good-by-ca        leaf    ca   -no_nonce
ocspresp good-by-delegate  leaf    ocsp -no_nonce
ocspresp good-nonce        leaf    ocsp
ocspresp revoked-by-ca     revoked ca   -no_nonce
ocspresp good-sha256       leaf    ca   -sha256 -no_nonce

# the request target: nginx's headers with the leaf, URL-escaped as nginx does
python3 - "$P/leaf.pem" "$C/fuzz_request/fuzz-alice" <<'PY'
import sys, urllib.parse
pem = open(sys.argv[1]).read()
with open(sys.argv[2], "w") as f:
    f.write("X-SSL-Client-Cert: %s\n" % urllib.parse.quote(pem, safe=""))
    f.write("X-SSL-Client-Verify: SUCCESS\nX-Original-URI: /admin/x?y=1\n"
            "X-Original-Method: GET\nX-Original-Host: alice.example.org\n"
            "X-Authd-Ruleset: admin\n")
PY
echo "gen-corpus.sh: wrote $P and the seeds in $C/fuzz_{cert,crl,ocsp,request}"
