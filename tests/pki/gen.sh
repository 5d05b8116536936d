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
vfy sslclient client.pem client2.pem noeku.pem
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

rm -rf "$CA"
# Private keys: readable by nginx workers (www-data) in tests; these are
# throwaway test keys, never use them for anything else.
chmod 0644 "$OUT"/*.pem "$OUT"/*.key
chmod 0755 "$OUT"
