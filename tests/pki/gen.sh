#!/usr/bin/env bash
# Generate a throwaway test PKI for authd (ECDSA P-256, SHA-256).
#
#   tests/pki/gen.sh OUTDIR
#
# OUTDIR is wiped and recreated. Only errors are printed (stderr).
# Exit status is non-zero on any failure. See tests/pki/README.md.
set -euo pipefail

if [ $# -ne 1 ] || [ -z "$1" ]; then
    echo "usage: $0 OUTDIR" >&2
    exit 2
fi
OUT=$1
case "$OUT" in
    /|/usr|/usr/*|/etc|/etc/*|/bin|/sbin|/lib|/home|/root) echo "gen.sh: refusing to wipe $OUT" >&2; exit 2;;
esac

command -v openssl >/dev/null 2>&1 || { echo "gen.sh: openssl not found" >&2; exit 1; }

rm -rf -- "$OUT"
mkdir -p -- "$OUT"
OUT=$(cd "$OUT" && pwd)
CA="$OUT/.ca"
mkdir -p "$CA/newcerts"
: > "$CA/index.txt"
echo "unique_subject = no" > "$CA/index.txt.attr"

LOG="$CA/openssl.log"
# Run openssl quietly; on failure show its output and abort.
ossl() {
    if ! openssl "$@" >"$LOG" 2>&1; then
        echo "gen.sh: openssl $* failed:" >&2
        cat "$LOG" >&2
        exit 1
    fi
}

# UTC timestamps for openssl ca -startdate/-enddate (GeneralizedTime).
ts() { date -u -d "$1" +%Y%m%d%H%M%SZ; }
NOW_M1D=$(ts '-1 day')
NOW_M800D=$(ts '-800 days')
NOW_P365D=$(ts '+365 days')
NOW_P3650D=$(ts '+3650 days')
NOW_M400D=$(ts '-400 days')
NOW_M30D=$(ts '-30 days')
NOW_P30D=$(ts '+30 days')
NOW_P400D=$(ts '+400 days')

cat > "$CA/ca.cnf" <<CNF
[ ca ]
default_ca = testca

[ testca ]
dir              = $CA
database         = \$dir/index.txt
new_certs_dir    = \$dir/newcerts
serial           = \$dir/serial
default_md       = sha256
policy           = policy_any
preserve         = yes
unique_subject   = no
email_in_dn      = no
copy_extensions  = none
default_days     = 365

[ policy_any ]
commonName             = supplied
organizationName       = optional
organizationalUnitName = optional

[ req ]
distinguished_name = req_dn
prompt             = no
[ req_dn ]
CN = placeholder

[ v3_root ]
basicConstraints       = critical, CA:TRUE
keyUsage               = critical, keyCertSign, cRLSign
subjectKeyIdentifier   = hash

[ v3_intermediate ]
basicConstraints       = critical, CA:TRUE, pathlen:0
keyUsage               = critical, keyCertSign, cRLSign
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always

[ v3_client_alice ]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, digitalSignature
extendedKeyUsage       = clientAuth
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always
subjectAltName         = email:alice@example.com, URI:spiffe://example.org/ns/prod/sa/alice

[ v3_client_bob ]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, digitalSignature
extendedKeyUsage       = clientAuth
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always
subjectAltName         = email:bob@example.com, URI:spiffe://example.org/ns/prod/sa/bob

[ v3_client_smartcard ]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, digitalSignature
extendedKeyUsage       = clientAuth
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always
subjectAltName         = @smartcard_san

[ smartcard_san ]
otherName.1            = 1.3.6.1.4.1.311.20.2.3;UTF8:dave@corp.example.com
otherName.2            = 2.16.840.1.101.3.6.6;FORMAT:HEX,OCT:D4E739DA739CED39CE739D836858210842108421C84210C3EB
otherName.3            = 1.3.6.1.4.1.99999.7;UTF8:not-kept
URI.1                  = urn:uuid:F81D4FAE-7DEC-11D0-A765-00A0C91E6BF6
URI.2                  = urn:uuid:not-a-uuid
email.1                = dave@corp.example.com

[ v3_client ]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, digitalSignature
extendedKeyUsage       = clientAuth
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always

[ v3_noeku ]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, digitalSignature
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always

[ v3_serveronly ]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, digitalSignature
extendedKeyUsage       = serverAuth
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always

[ v3_intermediate_nocrlsign ]
basicConstraints       = critical, CA:TRUE, pathlen:0
keyUsage               = critical, keyCertSign
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always

[ v3_client_partitioned ]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, digitalSignature
extendedKeyUsage       = clientAuth
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always
crlDistributionPoints  = URI:http://crl.example/part1.crl

[ v3_server ]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, digitalSignature
extendedKeyUsage       = serverAuth
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always
subjectAltName         = DNS:localhost, IP:127.0.0.1
CNF

# newkey NAME: P-256 key in NAME.key (PKCS#8 PEM)
newkey() {
    ossl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -pkeyopt ec_param_enc:named_curve -out "$OUT/$1.key"
}

# csr NAME SUBJECT
csr() {
    ossl req -new -config "$CA/ca.cnf" -key "$OUT/$1.key" -subj "$2" -out "$CA/$1.csr"
}

# random positive 128-bit serial
newserial() {
    local r
    r=$(openssl rand -hex 16 | tr a-f A-F)
    printf '%X%s\n' $(( (RANDOM % 7) + 1 )) "${r:1}" > "$CA/serial"
}

# sign NAME ISSUER EXT START END  (ISSUER = "self" for a self-signed cert)
sign() {
    local name=$1 issuer=$2 ext=$3 start=$4 end=$5
    newserial
    cp "$CA/serial" "$CA/$name.serial"
    if [ "$issuer" = self ]; then
        ossl ca -batch -notext -preserveDN -config "$CA/ca.cnf" -selfsign -keyfile "$OUT/$name.key" \
            -extensions "$ext" -startdate "$start" -enddate "$end" \
            -in "$CA/$name.csr" -out "$OUT/$name.pem"
    else
        ossl ca -batch -notext -preserveDN -config "$CA/ca.cnf" -cert "$OUT/$issuer.pem" -keyfile "$OUT/$issuer.key" \
            -extensions "$ext" -startdate "$start" -enddate "$end" \
            -in "$CA/$name.csr" -out "$OUT/$name.pem"
    fi
}

# leaf NAME ISSUER EXT SUBJECT [START END]
leaf() {
    newkey "$1"
    csr "$1" "$4"
    sign "$1" "$2" "$3" "${5:-$NOW_M1D}" "${6:-$NOW_P365D}"
}

# Subjects are given in X.500 order (most significant first); their RFC 2253
# form (as nginx's $ssl_client_s_dn prints it) is the reverse, e.g.
# /O=Example Corp/OU=Engineering/CN=alice  ->  CN=alice,OU=Engineering,O=Example Corp

# CAs are valid from now-800d, so that `authd check --at` can move the clock
# into the expired leaf's validity period (now-400d .. now-30d).

# Root CA
newkey root
csr root "/O=authd tests/CN=authd Test Root CA"
sign root self v3_root "$NOW_M800D" "$NOW_P3650D"

# Intermediate CA
newkey intermediate
csr intermediate "/O=authd tests/CN=authd Test Intermediate CA"
sign intermediate root v3_intermediate "$NOW_M800D" "$NOW_P3650D"

# Clients issued by the intermediate
leaf client       intermediate v3_client_alice "/O=Example Corp/OU=Engineering/CN=alice"
leaf client2      intermediate v3_client_bob   "/O=Example Corp/OU=Admins/CN=bob"
leaf noeku        intermediate v3_noeku        "/O=Example Corp/CN=carol"
leaf smartcard    intermediate v3_client_smartcard "/O=Example Corp/OU=Smart Cards/CN=dave"
leaf expired      intermediate v3_client       "/O=Example Corp/CN=expired-client" "$NOW_M400D" "$NOW_M30D"
leaf notyet       intermediate v3_client       "/O=Example Corp/CN=future-client"  "$NOW_P30D"  "$NOW_P400D"
leaf server-only  intermediate v3_serveronly   "/O=Example Corp/CN=server-only"

# nginx server certificate
leaf server       intermediate v3_server       "/O=authd tests/CN=localhost"

# A foreign CA and a client it issued
newkey other-root
csr other-root "/O=elsewhere/CN=Other Root CA"
sign other-root self v3_root "$NOW_M800D" "$NOW_P3650D"
leaf other-client other-root   v3_client       "/O=elsewhere/CN=mallory"

# A CSR (hostile-input fixture: PEM that is not a certificate)
cp "$CA/client2.csr" "$OUT/csr.pem"

# Bundles
cp "$OUT/root.pem" "$OUT/trust.pem"
cp "$OUT/intermediate.pem" "$OUT/intermediates.pem"
cat "$OUT/client.pem" "$OUT/intermediate.pem" > "$OUT/client-chain.pem"
cat "$OUT/server.pem" "$OUT/intermediate.pem" > "$OUT/server-chain.pem"

# Self-check
vfy() {
    local purpose=$1; shift
    local f
    for f in "$@"; do
        ossl verify -CAfile "$OUT/root.pem" -untrusted "$OUT/intermediate.pem" -purpose "$purpose" "$OUT/$f"
    done
}
vfy sslclient client.pem client2.pem noeku.pem smartcard.pem
vfy sslserver server.pem
ossl verify -CAfile "$OUT/other-root.pem" -purpose sslclient "$OUT/other-client.pem"
# the negative fixtures must fail for the intended reason
neg() {
    local file=$1 purpose=$2 want=$3 out
    out=$(openssl verify -CAfile "$OUT/root.pem" -untrusted "$OUT/intermediate.pem" -purpose "$purpose" "$OUT/$file" 2>&1) && {
        echo "gen.sh: $file unexpectedly verified" >&2; exit 1; }
    case "$out" in *"$want"*) ;; *) echo "gen.sh: $file: expected '$want', got: $out" >&2; exit 1;; esac
}
neg expired.pem      sslclient "certificate has expired"
neg notyet.pem       sslclient "certificate is not yet valid"
neg server-only.pem  sslclient "unsuitable certificate purpose"
neg other-client.pem sslclient "unable to get local issuer certificate"

# ---------------------------------------------------------------- CRLs
# Revocation fixtures (issue 4), all CRLs in OUTDIR/crl/. Each CRL gets its
# own little database (only the serials it revokes) and a distinct CRL
# number (hex, from 0x10 up, in the order below).

# More certificates: a leaf to revoke, a leaf in a CRL partition, and a
# second intermediate that may not sign CRLs (keyUsage keyCertSign only).
leaf revoked      intermediate v3_client             "/O=Example Corp/CN=revoked-client"
leaf partitioned  intermediate v3_client_partitioned "/O=Example Corp/CN=partitioned-client"
newkey intermediate-nocrlsign
csr intermediate-nocrlsign "/O=authd tests/CN=authd Test Intermediate CA without cRLSign"
sign intermediate-nocrlsign root v3_intermediate_nocrlsign "$NOW_M800D" "$NOW_P3650D"
leaf nocrlsign-client intermediate-nocrlsign v3_client   "/O=Example Corp/CN=nocrlsign-client"

cat > "$CA/crl.cnf" <<'CNF'
[ ca ]
default_ca = crlca
[ crlca ]
dir        = $ENV::CRLDB
database   = $dir/index.txt
crlnumber  = $dir/crlnumber
default_md = sha256
unique_subject = no
[ crl_std ]
authorityKeyIdentifier = keyid:always
[ crl_noakid ]
# no authorityKeyIdentifier: found by issuer name only
[ crl_delta ]
authorityKeyIdentifier = keyid:always
# deltaCRLIndicator (2.5.29.27): BaseCRLNumber 0x10; openssl has no
# config syntax for it, hence the generic form
2.5.29.27              = critical, ASN1:INTEGER:16
[ crl_unknown_critical ]
authorityKeyIdentifier = keyid:always
1.3.6.1.4.1.55555.1    = critical, ASN1:UTF8String:must be understood
[ crl_indirect ]
authorityKeyIdentifier   = keyid:always
issuingDistributionPoint = critical, @idp_indirect
[ idp_indirect ]
indirectCRL = TRUE
[ crl_part1 ]
authorityKeyIdentifier   = keyid:always
issuingDistributionPoint = critical, @idp_part1
[ idp_part1 ]
fullname = URI:http://crl.example/part1.crl
[ crl_part2 ]
authorityKeyIdentifier   = keyid:always
issuingDistributionPoint = critical, @idp_part2
[ idp_part2 ]
fullname = URI:http://crl.example/part2.crl
CNF

mkdir -p "$OUT/crl"
utc() { date -u -d "$1" +%y%m%d%H%M%SZ; }   # UTCTime, as index.txt wants
REVOKED_AT=$(utc '-20 days')
CRL_EXPIRY=$(utc '+365 days')
CRLNUM=16
# mkcrl NAME CERT KEY LASTUPDATE NEXTUPDATE EXTSECTION [REVOKED-CERT-NAME...]
# -> OUTDIR/crl/NAME.crl.pem, issued as CERT (OUTDIR/CERT.pem, KEY.key)
mkcrl() {
    local name=$1 cert=$2 key=$3 last=$4 next=$5 ext=$6 r
    shift 6
    local db="$CA/crldb-$name"
    mkdir -p "$db"
    : > "$db/index.txt"
    printf '%X\n' "$CRLNUM" > "$db/crlnumber"
    CRLNUM=$((CRLNUM + 1))
    for r in "$@"; do
        printf 'R\t%s\t%s,%s\t%s\tunknown\t/CN=%s\n' \
            "$CRL_EXPIRY" "$REVOKED_AT" "${REASON:-keyCompromise}" "$(cat "$CA/$r.serial")" "$r" >> "$db/index.txt"
    done
    # in the background (each has its own database and log): see jobs_wait
    ( LOG="$db/openssl.log"
      CRLDB=$db ossl ca -gencrl -batch -config "$CA/crl.cnf" -cert "$OUT/$cert.pem" -keyfile "$OUT/$key.key" \
        -crlexts "$ext" -crl_lastupdate "$last" -crl_nextupdate "$next" -out "$OUT/crl/$name.crl.pem" ) &
    JOBS+=($!)
}
# jobs_wait: wait for every background job; abort if one failed (it has
# printed why)
JOBS=()
jobs_wait() {
    local j rc=0
    for j in "${JOBS[@]}"; do wait "$j" || rc=1; done
    JOBS=()
    [ "$rc" -eq 0 ] || exit 1
}
NOW_M1H=$(ts '-1 hour')
NOW_P7D=$(ts '+7 days')
NOW_M10D=$(ts '-10 days')
NOW_P30D_=$(ts '+30 days')

mkcrl int                intermediate intermediate "$NOW_M1H" "$NOW_P7D" crl_std revoked
mkcrl int-empty          intermediate intermediate "$NOW_M1H" "$NOW_P7D" crl_std
mkcrl root               root root                 "$NOW_M10D" "$NOW_P30D_" crl_std
mkcrl root-revokes-int   root root                 "$NOW_M1H" "$NOW_P7D" crl_std intermediate
mkcrl int-expired        intermediate intermediate "$(ts '-9 days')" "$(ts '-2 days')" crl_std revoked
mkcrl int-future         intermediate intermediate "$(ts '+2 days')" "$(ts '+9 days')" crl_std revoked
mkcrl int-revokes-alice  intermediate intermediate "$NOW_M1H" "$NOW_P7D" crl_std revoked client
mkcrl int-delta          intermediate intermediate "$NOW_M1H" "$NOW_P7D" crl_delta revoked
mkcrl int-delta-alice    intermediate intermediate "$NOW_M1H" "$NOW_P7D" crl_delta client
REASON=removeFromCRL mkcrl int-delta-remove intermediate intermediate "$NOW_M1H" "$NOW_P7D" crl_delta revoked
mkcrl int-unknown-critical intermediate intermediate "$NOW_M1H" "$NOW_P7D" crl_unknown_critical revoked
mkcrl int-indirect       intermediate intermediate "$NOW_M1H" "$NOW_P7D" crl_indirect revoked
mkcrl int-part1          intermediate intermediate "$NOW_M1H" "$NOW_P7D" crl_part1 partitioned
mkcrl int-part2          intermediate intermediate "$NOW_M1H" "$NOW_P7D" crl_part2 partitioned
mkcrl nocrlsign          intermediate-nocrlsign intermediate-nocrlsign "$NOW_M1H" "$NOW_P7D" crl_std nocrlsign-client
mkcrl other-root         other-root other-root     "$NOW_M1H" "$NOW_P7D" crl_std other-client
# The intermediate's name, signed by another key (an impostor CA
# certificate with the same subject and other-root's key).
ossl req -new -x509 -config "$CA/ca.cnf" -key "$OUT/other-root.key" -days 30 \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -addext "subjectKeyIdentifier=hash" -subj "/O=authd tests/CN=authd Test Intermediate CA" -out "$CA/impostor.pem"
cp "$CA/impostor.pem" "$OUT/impostor-int.pem"
mkcrl int-by-other       impostor-int other-root   "$NOW_M1H" "$NOW_P7D" crl_noakid
jobs_wait
rm -f "$OUT/impostor-int.pem"

# Derived files
ossl crl -in "$OUT/crl/int.crl.pem" -outform DER -out "$OUT/crl/int.crl.der"
cat "$OUT/crl/root.crl.pem" "$OUT/crl/int.crl.pem" > "$OUT/crl/both.crl.pem"
mkdir -p "$OUT/crl/dir"
cp "$OUT/crl/root.crl.pem" "$OUT/crl/int.crl.der" "$OUT/crl/dir/"
# int.crl with one byte of the signature flipped (the last byte of the DER
# is the last byte of ECDSA's s), re-armored
cp "$OUT/crl/int.crl.der" "$CA/badsig.der"
BS_LEN=$(stat -c %s "$CA/badsig.der")
BS_LAST=$(tail -c 1 "$CA/badsig.der" | od -An -tu1 | tr -d ' ')
printf "\\$(printf '%03o' $(( BS_LAST ^ 0x01 )))" | dd of="$CA/badsig.der" bs=1 seek=$((BS_LEN - 1)) conv=notrunc status=none
ossl crl -inform DER -in "$CA/badsig.der" -out "$OUT/crl/int-badsig.crl.pem"
# valid base64 inside CRL armor, but not DER
{ echo '-----BEGIN X509 CRL-----'
  printf 'this is not a certificate revocation list, only text in armor %.0s' 1 2 3 | base64 -w 64
  echo '-----END X509 CRL-----'; } > "$OUT/crl/corrupt.crl.pem"

# Self-check: openssl agrees with what each CRL is for.
V=(-CAfile "$OUT/root.pem" -untrusted "$OUT/intermediate.pem" -purpose sslclient)
# (in the background, two at a time at most being the usual core count)
crlok() {   # crlok CERT CRLFILE...: verifies with -crl_check_all
    local cert=$1 f args=(); shift
    for f in "$@"; do args+=(-CRLfile "$OUT/crl/$f"); done
    ( LOG="$CA/verify-${#JOBS[@]}.log"
      ossl verify "${V[@]}" -crl_check_all "${args[@]}" "$OUT/$cert" ) &
    JOBS+=($!)
}
crlneg() {  # crlneg CERT WANT CRLFILE...: fails with WANT
    local cert=$1 want=$2 f args=(); shift 2
    for f in "$@"; do args+=(-CRLfile "$OUT/crl/$f"); done
    ( out=$(openssl verify "${V[@]}" -untrusted "$OUT/intermediate-nocrlsign.pem" -crl_check_all "${args[@]}" "$OUT/$cert" 2>&1) && {
        echo "gen.sh: $cert with $* unexpectedly verified" >&2; exit 1; }
      case "$out" in *"$want"*) ;; *) echo "gen.sh: $cert with $*: expected '$want', got: $out" >&2; exit 1;; esac ) &
    JOBS+=($!)
}
crlok  client.pem                           int.crl.pem root.crl.pem
crlok  client.pem                           both.crl.pem
crlok  client.pem                           int-empty.crl.pem root.crl.pem
crlok  client.pem                           int.crl.der root.crl.pem
crlok  client2.pem                          int-revokes-alice.crl.pem root.crl.pem
crlneg revoked.pem   "certificate revoked"  int.crl.pem root.crl.pem
crlneg client.pem    "certificate revoked"  int-revokes-alice.crl.pem root.crl.pem
crlneg client.pem    "certificate revoked"  int.crl.pem root-revokes-int.crl.pem
crlneg client.pem    "unable to get certificate CRL" int.crl.pem
crlneg client.pem    "CRL has expired"      int-expired.crl.pem root.crl.pem
crlneg client.pem    "CRL is not yet valid" int-future.crl.pem root.crl.pem
crlneg client.pem    "CRL signature failure" int-badsig.crl.pem root.crl.pem
crlneg client.pem    "CRL signature failure" int-by-other.crl.pem root.crl.pem
crlneg client.pem    "unable to get certificate CRL" other-root.crl.pem root.crl.pem
crlneg nocrlsign-client.pem "key usage does not include CRL signing" nocrlsign.crl.pem root.crl.pem
crlneg partitioned.pem "certificate revoked" int-part1.crl.pem root.crl.pem
crlneg partitioned.pem "different CRL scope" int-part2.crl.pem root.crl.pem
crlneg client.pem    "unhandled critical CRL extension" int-unknown-critical.crl.pem root.crl.pem
# (openssl verify would take a lone delta CRL as complete: look at it instead)
case "$(openssl crl -in "$OUT/crl/int-delta.crl.pem" -noout -text 2>&1)" in
    *"Delta CRL Indicator: critical"*) ;;
    *) echo "gen.sh: int-delta.crl.pem has no critical Delta CRL Indicator" >&2; exit 1;;
esac
if openssl crl -in "$OUT/crl/corrupt.crl.pem" -noout >/dev/null 2>&1; then
    echo "gen.sh: corrupt.crl.pem parses" >&2; exit 1
fi
jobs_wait
chmod 0755 "$OUT/crl" "$OUT/crl/dir"
chmod 0644 "$OUT"/crl/*.crl.* "$OUT"/crl/dir/*

# ---------------------------------------------------------------- OCSP
# Responder certificates for OCSP tests (issue 5): a delegate of the
# intermediate with the OCSPSigning EKU, one without it, and an unrelated
# self-signed certificate bearing the intermediate's name (another key).
cat >> "$CA/ca.cnf" <<'CNF'

[ v3_ocsp_signer ]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, digitalSignature
extendedKeyUsage       = OCSPSigning
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always
noCheck                = ignored

[ v3_ocsp_bad_signer ]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, digitalSignature
extendedKeyUsage       = clientAuth
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always

[ v3_ocsp_unrelated ]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, digitalSignature
extendedKeyUsage       = OCSPSigning
subjectKeyIdentifier   = hash
CNF
leaf ocsp-signer     intermediate v3_ocsp_signer     "/O=authd tests/CN=authd Test OCSP Responder"
leaf ocsp-bad-signer intermediate v3_ocsp_bad_signer "/O=authd tests/CN=authd Test OCSP Responder without OCSPSigning"
newkey ocsp-unrelated
csr ocsp-unrelated "/O=authd tests/CN=authd Test Intermediate CA"
sign ocsp-unrelated self v3_ocsp_unrelated "$NOW_M1D" "$NOW_P365D"
ossl verify -CAfile "$OUT/root.pem" -untrusted "$OUT/intermediate.pem" "$OUT/ocsp-signer.pem"
ossl verify -CAfile "$OUT/root.pem" -untrusted "$OUT/intermediate.pem" "$OUT/ocsp-bad-signer.pem"
ekus() { openssl x509 -in "$OUT/$1" -noout -ext extendedKeyUsage 2>/dev/null | tail -n +2 | tr -d ' '; }
[ "$(ekus ocsp-signer.pem)" = "OCSPSigning" ] || { echo "gen.sh: ocsp-signer.pem: EKU is not OCSPSigning" >&2; exit 1; }
[ "$(ekus ocsp-bad-signer.pem)" = "TLSWebClientAuthentication" ] || { echo "gen.sh: ocsp-bad-signer.pem: EKU is not clientAuth only" >&2; exit 1; }
[ "$(openssl x509 -in "$OUT/ocsp-unrelated.pem" -noout -subject -nameopt RFC2253)" = \
  "$(openssl x509 -in "$OUT/intermediate.pem" -noout -subject -nameopt RFC2253)" ] ||
    { echo "gen.sh: ocsp-unrelated.pem does not bear the intermediate's name" >&2; exit 1; }
if openssl verify -CAfile "$OUT/root.pem" -untrusted "$OUT/intermediate.pem" "$OUT/ocsp-unrelated.pem" >/dev/null 2>&1; then
    echo "gen.sh: ocsp-unrelated.pem unexpectedly verified" >&2; exit 1
fi

# ---------------------------------------------------------------- policies
# Certificate policies (RFC 5280 6.1, issue 13), in pcy/: a root and two
# issuing CAs under it, one asserting PIV Authentication and a low policy,
# one asserting anyPolicy with requireExplicitPolicy:0; and a bridge-like
# root whose cross-certificate for the policy root maps its own policy
# (bridge-medium) to PIV Authentication.
PIV_AUTH=2.16.840.1.101.3.2.1.3.13
PCY_LOW=1.3.6.1.4.1.99999.2.1
BRIDGE_MED=1.3.6.1.4.1.99999.9.1
cat >> "$CA/ca.cnf" <<CNF

[ v3_pcy_ca ]
basicConstraints       = critical, CA:TRUE, pathlen:0
keyUsage               = critical, keyCertSign, cRLSign
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always
certificatePolicies    = $PIV_AUTH, $PCY_LOW

[ v3_pcy_strict_ca ]
basicConstraints       = critical, CA:TRUE, pathlen:0
keyUsage               = critical, keyCertSign, cRLSign
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always
certificatePolicies    = 2.5.29.32.0
policyConstraints      = requireExplicitPolicy:0

[ v3_bridge_cross ]
basicConstraints       = critical, CA:TRUE
keyUsage               = critical, keyCertSign, cRLSign
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always
certificatePolicies    = $BRIDGE_MED
policyMappings         = $BRIDGE_MED:$PIV_AUTH

[ v3_client_piv ]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, digitalSignature
extendedKeyUsage       = clientAuth
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always
certificatePolicies    = $PIV_AUTH

[ v3_client_low ]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, digitalSignature
extendedKeyUsage       = clientAuth
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always
certificatePolicies    = $PCY_LOW
CNF
newkey pcy-root
csr pcy-root "/O=authd tests/CN=authd Policy Root CA"
sign pcy-root self v3_root "$NOW_M800D" "$NOW_P3650D"
newkey pcy-ca
csr pcy-ca "/O=authd tests/CN=authd Policy Issuing CA"
sign pcy-ca pcy-root v3_pcy_ca "$NOW_M800D" "$NOW_P3650D"
newkey pcy-strict-ca
csr pcy-strict-ca "/O=authd tests/CN=authd Explicit Policy CA"
sign pcy-strict-ca pcy-root v3_pcy_strict_ca "$NOW_M800D" "$NOW_P3650D"
leaf pcy-piv        pcy-ca        v3_client_piv "/O=Example Agency/OU=PIV/CN=erin"
leaf pcy-low        pcy-ca        v3_client_low "/O=Example Agency/OU=Contractors/CN=frank"
leaf pcy-none       pcy-ca        v3_client     "/O=Example Agency/CN=grace"
leaf pcy-strict-piv  pcy-strict-ca v3_client_piv "/O=Example Agency/OU=PIV/CN=heidi"
leaf pcy-strict-none pcy-strict-ca v3_client     "/O=Example Agency/CN=ivan"
newkey bridge-root
csr bridge-root "/O=authd tests/CN=authd Bridge Root CA"
sign bridge-root self v3_root "$NOW_M800D" "$NOW_P3650D"
# the policy root's name and key, certified by the bridge root
cp "$OUT/pcy-root.key" "$OUT/pcy-cross.key"
csr pcy-cross "/O=authd tests/CN=authd Policy Root CA"
sign pcy-cross bridge-root v3_bridge_cross "$NOW_M800D" "$NOW_P3650D"
rm -f "$OUT/pcy-cross.key"
mkdir -p "$OUT/pcy"
for f in pcy-root pcy-ca pcy-strict-ca pcy-piv pcy-low pcy-none pcy-strict-piv \
    pcy-strict-none bridge-root pcy-cross; do
    mv "$OUT/$f.pem" "$OUT/pcy/${f#pcy-}.pem"
    [ -f "$OUT/$f.key" ] && mv "$OUT/$f.key" "$OUT/pcy/${f#pcy-}.key"
done
cat "$OUT/pcy/ca.pem" "$OUT/pcy/strict-ca.pem" > "$OUT/pcy/intermediates.pem"
cat "$OUT/pcy/cross.pem" "$OUT/pcy/ca.pem" > "$OUT/pcy/bridge-intermediates.pem"
# Self-check with openssl verify: what each fixture is for.
pv() {  # pv WANT(ok|fail) ANCHOR UNTRUSTED LEAF [verify options]
    local want=$1 anchor=$2 unt=$3 leafc=$4; shift 4
    if openssl verify -CAfile "$OUT/pcy/$anchor" -untrusted "$OUT/pcy/$unt" \
        -policy_check "$@" "$OUT/pcy/$leafc" >"$LOG" 2>&1; then got=ok; else got=fail; fi
    if [ "$got" != "$want" ]; then
        echo "gen.sh: pcy/$leafc under $anchor ($*): expected $want, got $got" >&2
        cat "$LOG" >&2; exit 1
    fi
}
pv ok   root.pem intermediates.pem piv.pem
pv ok   root.pem intermediates.pem none.pem
pv ok   root.pem intermediates.pem piv.pem -policy $PIV_AUTH -explicit_policy
pv fail root.pem intermediates.pem low.pem -policy $PIV_AUTH -explicit_policy
pv fail root.pem intermediates.pem none.pem -explicit_policy -policy 2.5.29.32.0
pv ok   root.pem intermediates.pem strict-piv.pem -policy 2.5.29.32.0
pv fail root.pem intermediates.pem strict-none.pem -policy 2.5.29.32.0
pv ok   bridge-root.pem bridge-intermediates.pem piv.pem -policy $BRIDGE_MED -explicit_policy
pv fail bridge-root.pem bridge-intermediates.pem piv.pem -policy $PIV_AUTH -explicit_policy
pv fail bridge-root.pem bridge-intermediates.pem piv.pem -policy $BRIDGE_MED -explicit_policy -inhibit_map

# ---------------------------------------------------------------- paths
# Two candidate issuers (issue 13), in paths/: the same name and key,
# certified twice by the root; the first one's nameConstraints exclude the
# leaf's e-mail address. OpenSSL takes the first and does not go back.
cat >> "$CA/ca.cnf" <<'CNF'

[ v3_twin_nc ]
basicConstraints       = critical, CA:TRUE, pathlen:0
keyUsage               = critical, keyCertSign, cRLSign
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always
nameConstraints        = critical, permitted;email:elsewhere.example
CNF
newkey twin
csr twin "/O=authd tests/CN=authd Twin CA"
sign twin root v3_twin_nc "$NOW_M800D" "$NOW_P3650D"
mv "$OUT/twin.pem" "$OUT/twin-nc.pem"
sign twin root v3_intermediate "$NOW_M800D" "$NOW_P3650D"
mv "$OUT/twin.pem" "$OUT/twin-rev.pem"
cp "$CA/twin.serial" "$CA/twin-rev.serial"
sign twin root v3_intermediate "$NOW_M800D" "$NOW_P3650D"
mv "$OUT/twin.pem" "$OUT/twin-ok.pem"
cp "$OUT/twin-ok.pem" "$OUT/twin.pem"
leaf twin-leaf twin v3_client_alice "/O=Example Corp/OU=Twins/CN=judy"
# a third certificate of the twin CA, revoked by the root: its CRL, and the
# twin CA's own (nothing revoked)
JOBS=()
mkcrl root-revokes-twin root root "$NOW_M1H" "$NOW_P7D" crl_std twin-rev
mkcrl twin              twin-ok twin "$NOW_M1H" "$NOW_P7D" crl_std
jobs_wait
mkdir -p "$OUT/paths"
mv "$OUT/twin-nc.pem" "$OUT/paths/twin-nc.pem"
mv "$OUT/twin-ok.pem" "$OUT/paths/twin-ok.pem"
mv "$OUT/twin-rev.pem" "$OUT/paths/twin-rev.pem"
mv "$OUT/crl/root-revokes-twin.crl.pem" "$OUT/crl/twin.crl.pem" "$OUT/paths/"
mv "$OUT/twin-leaf.pem" "$OUT/paths/leaf.pem"
mv "$OUT/twin-leaf.key" "$OUT/paths/leaf.key"
rm -f "$OUT/twin.pem" "$OUT/twin.key"
cat "$OUT/paths/twin-nc.pem" "$OUT/paths/twin-ok.pem" > "$OUT/paths/twins.pem"
cat "$OUT/paths/twin-rev.pem" "$OUT/paths/twin-ok.pem" > "$OUT/paths/twins-rev.pem"
ossl verify -CAfile "$OUT/root.pem" -untrusted "$OUT/paths/twin-ok.pem" "$OUT/paths/leaf.pem"
if openssl verify -CAfile "$OUT/root.pem" -untrusted "$OUT/paths/twin-nc.pem" "$OUT/paths/leaf.pem" >/dev/null 2>&1; then
    echo "gen.sh: paths/leaf.pem verified under the name-constrained twin" >&2; exit 1
fi
if openssl verify -CAfile "$OUT/root.pem" -untrusted "$OUT/paths/twins.pem" "$OUT/paths/leaf.pem" >/dev/null 2>&1; then
    echo "gen.sh: OpenSSL now tries the second twin: paths/ no longer shows path building" >&2; exit 1
fi
cat "$OUT/paths/root-revokes-twin.crl.pem" "$OUT/paths/twin.crl.pem" > "$CA/twin-crls.pem"
ossl verify -CAfile "$OUT/root.pem" -untrusted "$OUT/paths/twin-ok.pem" -crl_check_all \
    -CRLfile "$CA/twin-crls.pem" "$OUT/paths/leaf.pem"
case "$(openssl verify -CAfile "$OUT/root.pem" -untrusted "$OUT/paths/twins-rev.pem" -crl_check_all \
    -CRLfile "$CA/twin-crls.pem" "$OUT/paths/leaf.pem" 2>&1)" in
    *"certificate revoked"*) ;;
    *) echo "gen.sh: with twins-rev.pem OpenSSL does not stop at the revoked twin" >&2; exit 1;;
esac

# ---------------------------------------------------------------- caIssuers
# Issuers published only at their caIssuers URL (issue 13), in aia/. The
# URLs name the host aia.authd.test: tests reach it through fetch_proxy
# (their nginx), so the certificates need not know a port. dead.pem's
# URL is 127.0.0.1:9 (discard: nothing listens), reached directly.
cat >> "$CA/ca.cnf" <<'CNF'

[ v3_aia_ca ]
basicConstraints       = critical, CA:TRUE
keyUsage               = critical, keyCertSign, cRLSign
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always
authorityInfoAccess    = caIssuers;URI:$ENV::AIA_URL

[ v3_aia_leaf ]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, digitalSignature
extendedKeyUsage       = clientAuth
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always
authorityInfoAccess    = caIssuers;URI:$ENV::AIA_URL
CNF
AIA=http://aia.authd.test
export AIA_URL=$AIA/none
newkey aia-ica
csr aia-ica "/O=authd tests/CN=authd AIA Issuing CA"
AIA_URL=$AIA/root.der sign aia-ica root v3_aia_ca "$NOW_M800D" "$NOW_P3650D"
newkey aia-sub
csr aia-sub "/O=authd tests/CN=authd AIA Sub CA"
AIA_URL=$AIA/ica.der sign aia-sub aia-ica v3_aia_ca "$NOW_M800D" "$NOW_P3650D"
newkey aia-foreign
csr aia-foreign "/O=elsewhere/CN=Foreign Issuing CA"
sign aia-foreign other-root v3_intermediate "$NOW_M800D" "$NOW_P3650D"
aialeaf() {  # aialeaf NAME ISSUER URL CN
    AIA_URL=$3 leaf "$1" "$2" v3_aia_leaf "/O=Example Corp/OU=AIA/CN=$4"
}
aialeaf aia-der     aia-ica     "$AIA/ica.der"      kim
aialeaf aia-der2    aia-ica     "$AIA/ica.der"      kay
aialeaf aia-p7c     aia-ica     "$AIA/ica.p7c"      lee
aialeaf aia-garbage aia-ica     "$AIA/garbage.bin"  mia
aialeaf aia-large   aia-ica     "$AIA/large.bin"    ned
aialeaf aia-slow    aia-ica     "$AIA/slow/ica.der" oda
aialeaf aia-dead    aia-ica     "http://127.0.0.1:9/ica.der" pat
aialeaf aia-404     aia-ica     "$AIA/missing.der"  quinn
aialeaf aia-two     aia-sub     "$AIA/sub.der"      ray
aialeaf aia-foreign-leaf aia-foreign "$AIA/foreign.p7c" sam
mkdir -p "$OUT/aia/www/slow"
for f in aia-ica aia-sub aia-foreign aia-der aia-der2 aia-p7c aia-garbage aia-large aia-slow aia-dead \
    aia-404 aia-two aia-foreign-leaf; do
    mv "$OUT/$f.pem" "$OUT/aia/${f#aia-}.pem"
    mv "$OUT/$f.key" "$OUT/aia/${f#aia-}.key"
done
# what the URLs serve (the test copies www/ into its nginx)
openssl x509 -in "$OUT/aia/ica.pem" -outform DER -out "$OUT/aia/www/ica.der"
cp "$OUT/aia/www/ica.der" "$OUT/aia/www/slow/ica.der"
openssl x509 -in "$OUT/aia/sub.pem" -outform DER -out "$OUT/aia/www/sub.der"
ossl crl2pkcs7 -nocrl -certfile "$OUT/aia/ica.pem" -outform DER -out "$OUT/aia/www/ica.p7c"
cat "$OUT/aia/foreign.pem" "$OUT/other-root.pem" > "$CA/foreign-bundle.pem"
ossl crl2pkcs7 -nocrl -certfile "$CA/foreign-bundle.pem" -outform DER -out "$OUT/aia/www/foreign.p7c"
head -c 3000 /dev/urandom > "$OUT/aia/www/garbage.bin"
{ head -c 20 "$OUT/aia/www/ica.der"; head -c 300000 /dev/zero; } > "$OUT/aia/www/large.bin"
ossl verify -CAfile "$OUT/root.pem" -untrusted "$OUT/aia/ica.pem" "$OUT/aia/der.pem"
cat "$OUT/aia/sub.pem" "$OUT/aia/ica.pem" > "$CA/two.pem"
ossl verify -CAfile "$OUT/root.pem" -untrusted "$CA/two.pem" "$OUT/aia/two.pem"
if openssl verify -CAfile "$OUT/root.pem" "$OUT/aia/der.pem" >/dev/null 2>&1; then
    echo "gen.sh: aia/der.pem verified without its issuer" >&2; exit 1
fi
[ "$(openssl x509 -in "$OUT/aia/der.pem" -noout -ext authorityInfoAccess | grep -c "CA Issuers - URI:$AIA/ica.der")" = 1 ] ||
    { echo "gen.sh: aia/der.pem has no caIssuers URL" >&2; exit 1; }
unset AIA_URL

rm -rf "$CA"
# Private keys: readable by nginx workers (www-data) in tests; these are
# throwaway test keys, never use them for anything else.
chmod 0644 "$OUT"/*.pem "$OUT"/*.key "$OUT"/pcy/* "$OUT"/paths/* "$OUT"/aia/*.* "$OUT"/aia/www/*.* "$OUT"/aia/www/slow/*
chmod 0755 "$OUT/pcy" "$OUT/paths" "$OUT/aia" "$OUT/aia/www" "$OUT/aia/www/slow"
chmod 0755 "$OUT"
