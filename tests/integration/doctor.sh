#!/usr/bin/env bash
# authd doctor against real nginx (three server blocks built from the
# contrib mtls-optional.conf example) and a real authd with CRLs:
#   right      nginx as documented: ssl_client_certificate = the root
#   noca       ssl_trusted_certificate only (and optional_no_ca, which
#              nginx 1.22 needs without ssl_client_certificate): nginx
#              sends no CA names
#   nochain    ssl_certificate without the intermediate: incomplete chain
#   tls13      right, TLS 1.3 only
# plus a revoked client (with --config holding the CRLs, and with OCSP
# from a real responder), revocation without --config from what leaves
# name (AIA OCSP: a real responder, good/revoked/down/silent; CRL
# distribution point: python http.server, listed/not/expired/down), a foreign
# client, connection refused, a server that never answers (timeout), a
# plain HTTP port, --json, and usage errors.  Findings are asserted line
# by line, exit codes exactly.
. "$(dirname "$0")/lib.bash"

[ -f "$PKI/crl/int.crl.pem" ] || { echo "$TEST_NAME: $PKI has no crl/" >&2; exit 2; }

AUTHD_PORT=$(free_port)
PORT_RIGHT=$(free_port)
PORT_NOCA=$(free_port)
PORT_NOCHAIN=$(free_port)
PORT_TLS13=$(free_port)
BACKEND_PORT=$(free_port)

# authd's configuration, used by authd serve and by doctor --config alike.
mkdir -p "$WORK/data"
cat "$PKI/crl/root.crl.pem" "$PKI/crl/int.crl.pem" > "$WORK/crls.pem"
cat > "$WORK/authd.conf" <<EOF
trust $PKI/trust.pem
intermediates $PKI/intermediates.pem
crl $WORK/crls.pem
data_dir $WORK/data
EOF
start_authd authd "127.0.0.1:$AUTHD_PORT" --config "$WORK/authd.conf"

nginx_setup "$WORK/nginx" "127.0.0.1:$AUTHD_PORT"
RIGHT=$(example_server mtls-optional.conf "$PORT_RIGHT" "$BACKEND_PORT")
# nginx needs the root and the intermediate to verify clients itself.
cat "$PKI/root.pem" "$PKI/intermediate.pem" > "$WORK/client-cas.pem"
sed -e "s#listen 127.0.0.1:$PORT_RIGHT ssl;#listen 127.0.0.1:$PORT_NOCA ssl;#" \
    -e '/^\s*ssl_client_certificate/d' \
    -e 's#^\(\s*ssl_verify_client\s\+\)optional;#\1optional_no_ca;#' \
    -e "s#^\(\s*ssl_trusted_certificate\s\+\).*#\1$WORK/client-cas.pem;#" \
    "$RIGHT" > "$NGX/noca.conf"
sed -e "s#listen 127.0.0.1:$PORT_RIGHT ssl;#listen 127.0.0.1:$PORT_NOCHAIN ssl;#" \
    -e "s#^\(\s*ssl_certificate\s\+\).*#\1$PKI/server.pem;#" \
    "$RIGHT" > "$NGX/nochain.conf"
grep -q 'ssl_verify_client\s\+optional_no_ca;' "$NGX/noca.conf" || { echo "$TEST_NAME: noca.conf not adapted" >&2; exit 2; }
grep -q 'ssl_client_certificate' "$NGX/noca.conf" && { echo "$TEST_NAME: noca.conf still names CAs" >&2; exit 2; }
grep -q "ssl_certificate\s\+$PKI/server.pem;" "$NGX/nochain.conf" || { echo "$TEST_NAME: nochain.conf not adapted" >&2; exit 2; }
# nginx 1.22 offers TLS 1.3 only when told: the CA names then travel in
# the certificate_authorities extension instead of the TLS 1.2 message.
sed -e "s#listen 127.0.0.1:$PORT_RIGHT ssl;#listen 127.0.0.1:$PORT_TLS13 ssl;\n    ssl_protocols TLSv1.3;#" \
    "$RIGHT" > "$NGX/tls13.conf"
grep -q 'ssl_protocols TLSv1.3;' "$NGX/tls13.conf" || { echo "$TEST_NAME: tls13.conf not adapted" >&2; exit 2; }
nginx_conf root "$RIGHT" "$NGX/noca.conf" "$NGX/nochain.conf" "$NGX/tls13.conf"
start_nginx "$PORT_RIGHT" "$PORT_NOCA" "$PORT_NOCHAIN" "$PORT_TLS13" "$BACKEND_PORT"

DLOG="$WORK/doctor.stderr"
SCAN_LOGS+=("$DLOG")
# doctor ARGS...: runs authd doctor; sets OUT and RC
doctor() {
    RC=0
    OUT=$(timeout 60 "$AUTHD_BIN" doctor "$@" 2>>"$DLOG") || RC=$?
    [ -z "${SHOW:-}" ] || printf "\n$ authd doctor %s\n%s\n(exit %s)\n" "$*" "$OUT" "$RC" >&2
}
# has_line NAME LINE: OUT has exactly this line
has_line() {
    # a here-string, not a pipe: grep -q leaving early would SIGPIPE printf
    # and pipefail turn a match into a failure
    if grep -Fxq -- "$2" <<<"$OUT"; then pass "$1"; else
        fail "$1: no line '$2' in:"; printf '%s\n' "$OUT" | sed 's/^/    /'; fi
}
# has_prefix NAME PREFIX: OUT has a line starting with PREFIX
has_prefix() {
    if awk -v p="$2" 'index($0, p) == 1 { f = 1 } END { exit !f }' <<<"$OUT"; then
        pass "$1"; else fail "$1: no line starting '$2' in:"; printf '%s\n' "$OUT" | sed 's/^/    /'; fi
}
ROOT='CN=authd Test Root CA,O=authd tests'
INT='CN=authd Test Intermediate CA,O=authd tests'
SRV='CN=localhost,O=authd tests'
ALICE=(--cert "$PKI/client-chain.pem" --key "$PKI/client.key")

# ---------------------------------------------------------------- (a) right
doctor --ca "$PKI/root.pem" "${ALICE[@]}" --config "$WORK/authd.conf" "https://localhost:$PORT_RIGHT/api/items"
check_eq "(a) right: exit" "$RC" 0
has_prefix "(a) connect ok" "ok    connect          localhost port $PORT_RIGHT: TLSv1."
has_line "(a) server-chain ok" "ok    server-chain     \"$SRV\" verified up to \"$ROOT\" (2 certificates sent, 3 in the chain, trust from --ca)"
has_prefix "(a) server-expiry ok" "ok    server-expiry    the first to expire is \"$SRV\", on "
has_line "(a) server-name ok" "ok    server-name      the certificate is valid for localhost"
has_line "(a) cert-request names the root" "ok    cert-request     the server asks for a client certificate and names 1 CA: \"$ROOT\""
has_line "(a) client-chain ok (authd's trust)" "ok    client-chain     verified up to \"$ROOT\" (3 certificates, trust from authd's trust and intermediates)"
has_line "(a) client-issuer: the root of its chain is named" "ok    client-issuer    \"$ROOT\" of its chain is among the CA names the server sends"
has_prefix "(a) client-validity ok" "ok    client-validity  valid until "
has_line "(a) client-eku ok" "ok    client-eku       extendedKeyUsage includes clientAuth"
has_line "(a) crl ok" "ok    crl              not revoked (chain scope)"
has_line "(a) authd allows" "ok    authd            allow (200) for GET /api/items"
has_line "(a) http 200" "ok    http             GET /api/items with the client certificate: 200"
has_line "(a) summary: all ok" "12 ok, 0 warnings, 0 failed"
check_not_contains "(a) no fix lines" "$OUT" "fix:"

# the same by IP, without --config: alice names no OCSP responder and no
# CRL distribution point, so revocation cannot be checked (a warning, exit 0)
doctor --ca "$PKI/root.pem" "${ALICE[@]}" "https://127.0.0.1:$PORT_RIGHT/api/items"
check_eq "(a) without --config: exit" "$RC" 0
has_line "(a) by IP: server-name ok" "ok    server-name      the certificate is valid for 127.0.0.1"
has_line "(a) without --config: client-chain from --ca and --cert" "ok    client-chain     verified up to \"$ROOT\" (3 certificates, trust from --ca and the chain in --cert)"
has_line "(a) without --config: no AIA/CDP: revocation warns" "warn  revocation       the certificate names no OCSP responder or CRL distribution point"
has_line "(a) without --config: its fix" "      fix: ask the CA for certificates naming its OCSP responder (AIA) or CRL distribution point, or give authd the CA's CRL (crl FILE in authd.conf) and check with --config"
check_not_contains "(a) without --config: no authd line" "$OUT" "authd            "

# --json: one document that parses, with the same findings
doctor --json --ca "$PKI/root.pem" "${ALICE[@]}" --config "$WORK/authd.conf" "https://localhost:$PORT_RIGHT/api/items"
check_eq "(a) --json: exit" "$RC" 0
J=$(printf '%s' "$OUT" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["result"], d["ok"], d["warn"], d["fail"], ",".join(c["check"]+"="+c["result"] for c in d["checks"]))' 2>&1) || true
check_eq "(a) --json parses" "$J" "ok 12 0 0 connect=ok,server-chain=ok,server-expiry=ok,server-name=ok,cert-request=ok,client-chain=ok,client-issuer=ok,client-validity=ok,client-eku=ok,crl=ok,authd=ok,http=ok"

# the same over TLS 1.3
doctor --ca "$PKI/root.pem" "${ALICE[@]}" --config "$WORK/authd.conf" "https://localhost:$PORT_TLS13/api/items"
check_eq "(a) TLS 1.3: exit" "$RC" 0
has_prefix "(a) TLS 1.3: connect" "ok    connect          localhost port $PORT_TLS13: TLSv1.3, "
has_line "(a) TLS 1.3: cert-request names the root" "ok    cert-request     the server asks for a client certificate and names 1 CA: \"$ROOT\""
has_line "(a) TLS 1.3: http 200" "ok    http             GET /api/items with the client certificate: 200"
has_line "(a) TLS 1.3: summary" "12 ok, 0 warnings, 0 failed"
doctor --ca "$PKI/root.pem" --cert "$(chain revoked)" --key "$PKI/revoked.key" --config "$WORK/authd.conf" "https://localhost:$PORT_TLS13/api/items"
check_eq "(d) TLS 1.3 revoked: exit" "$RC" 1
has_line "(d) TLS 1.3: http 401 revoked" "FAIL  http             GET /api/items with the client certificate: 401, X-Authd-Reason: revoked"

# no client certificate: the server side only
doctor --ca "$PKI/root.pem" "https://localhost:$PORT_RIGHT/"
check_eq "no --cert: exit" "$RC" 0
has_line "no --cert: client checks skipped, said so" "warn  client-cert      not checked: no client certificate given"

# ---------------------------------------------------------------- (b) no CA names
doctor --ca "$PKI/root.pem" "${ALICE[@]}" --config "$WORK/authd.conf" "https://127.0.0.1:$PORT_NOCA/api/items"
check_eq "(b) trusted_certificate only: exit (a warning, not a failure)" "$RC" 0
has_line "(b) cert-request warns: no CA names" "warn  cert-request     the server asks for a client certificate but names no CA: clients that choose a certificate by its issuer cannot choose"
has_line "(b) the fix names ssl_client_certificate" "      fix: set nginx's ssl_client_certificate to the CA(s) that issue your client certificates (the roots authd trusts); nginx sends the names from ssl_client_certificate and none from ssl_trusted_certificate"
check_not_contains "(b) no client-issuer line without names" "$OUT" "client-issuer"
has_line "(b) http still 200" "ok    http             GET /api/items with the client certificate: 200"
has_line "(b) summary" "10 ok, 1 warning, 0 failed"

# ---------------------------------------------------------------- (c) incomplete chain
doctor --ca "$PKI/root.pem" "${ALICE[@]}" --config "$WORK/authd.conf" "https://127.0.0.1:$PORT_NOCHAIN/api/items"
check_eq "(c) incomplete server chain: exit" "$RC" 1
has_line "(c) server-chain FAIL names the missing intermediate" "FAIL  server-chain     incomplete: missing \"$INT\", the issuer of \"$SRV\"; the server sent 1 certificate and --ca does not have it"
has_line "(c) the fix" "      fix: if \"$INT\" is an intermediate CA, append it to the file in nginx's ssl_certificate after the server certificate (cat server.pem intermediate.pem > server-chain.pem); if it is your root CA, give it with --ca"
has_line "(c) the rest is fine" "ok    http             GET /api/items with the client certificate: 200"
has_line "(c) summary" "11 ok, 0 warnings, 1 failed"

# --ca holding the intermediate too: verified, but still incomplete
cat "$PKI/root.pem" "$PKI/intermediate.pem" > "$WORK/ca-with-int.pem"
doctor --ca "$WORK/ca-with-int.pem" "https://127.0.0.1:$PORT_NOCHAIN/"
check_eq "(c) --ca with the intermediate: exit" "$RC" 1
has_line "(c) --ca with the intermediate: still FAIL" "FAIL  server-chain     incomplete: the server did not send the intermediate \"$INT\" (it verified only because --ca holds it; other clients will fail)"

# ---------------------------------------------------------------- (d) revoked
doctor --ca "$PKI/root.pem" --cert "$(chain revoked)" --key "$PKI/revoked.key" --config "$WORK/authd.conf" "https://localhost:$PORT_RIGHT/api/items"
check_eq "(d) revoked: exit" "$RC" 1
has_prefix "(d) crl FAIL revoked" "FAIL  crl              revoked: "
has_line "(d) crl fix" "      fix: issue the client a new certificate (or, if revoked by mistake, publish a CRL without it)"
has_prefix "(d) authd denies revoked" "FAIL  authd            deny revoked (401) for GET /api/items: "
has_line "(d) http 401 revoked" "FAIL  http             GET /api/items with the client certificate: 401, X-Authd-Reason: revoked"
has_line "(d) chain and names still ok" "ok    client-chain     verified up to \"$ROOT\" (3 certificates, trust from authd's trust and intermediates)"

# ---------------------------------------------------------------- OCSP
# authd's OCSP code, asked inline: a real responder (openssl ocsp) that
# knows alice as good and revoked.pem as revoked, named by ocsp_responder.
OCSP_PORT=$(free_port)
mkdir -p "$WORK/ocsp"
EXP=$(date -u -d '+30 days' +%y%m%d%H%M%SZ)
REVAT=$(date -u -d '-1 day' +%y%m%d%H%M%SZ)
{ printf 'V\t%s\t\t%s\tunknown\t/CN=alice\n' "$EXP" "$(cert_serial "$PKI/client.pem")"
  printf 'R\t%s\t%s,keyCompromise\t%s\tunknown\t/CN=revoked-client\n' "$EXP" "$REVAT" "$(cert_serial "$PKI/revoked.pem")"
} > "$WORK/ocsp/index.txt"
# (readiness from its log: openssl 3.0's responder spins on a connection
# that sends nothing, so it is never probed)
bg ocsp "$WORK/ocsp.log" openssl ocsp -index "$WORK/ocsp/index.txt" -port "$OCSP_PORT" -ndays 1 \
    -rsigner "$PKI/ocsp-signer.pem" -rkey "$PKI/ocsp-signer.key" -CA "$PKI/intermediate.pem"
OCSP_PID=$LAST_PID
for i in $(seq 1 50); do grep -q 'waiting for OCSP client connections' "$WORK/ocsp.log" && break; sleep 0.1; done
grep -q 'waiting for OCSP client connections' "$WORK/ocsp.log" || { echo "$TEST_NAME: openssl ocsp did not start" >&2; exit 2; }
printf '%s\n' "trust $PKI/trust.pem" "intermediates $PKI/intermediates.pem" "ocsp leaf" \
    "ocsp_responder http://127.0.0.1:$OCSP_PORT/" "fetch_timeout 5s" > "$WORK/authd-ocsp.conf"
doctor --ca "$PKI/root.pem" "${ALICE[@]}" --config "$WORK/authd-ocsp.conf" "https://localhost:$PORT_RIGHT/api/items"
check_eq "OCSP good: exit" "$RC" 0
has_line "OCSP good: ocsp ok" "ok    ocsp             good, says http://127.0.0.1:$OCSP_PORT/"
check_not_contains "OCSP good: no crl line" "$OUT" "crl    "
doctor --ca "$PKI/root.pem" --cert "$(chain revoked)" --key "$PKI/revoked.key" --config "$WORK/authd-ocsp.conf" "https://localhost:$PORT_RIGHT/api/items"
check_eq "OCSP revoked: exit" "$RC" 1
has_prefix "OCSP revoked: ocsp FAIL" "FAIL  ocsp             revoked (depth 0), says http://127.0.0.1:$OCSP_PORT/"
has_prefix "OCSP revoked: authd denies revoked" "FAIL  authd            deny revoked (401) for GET /api/items: revoked (depth 0)"
check_eq "OCSP: one query per certificate (the decision reuses the answer)" "$(grep -c 'Received request' "$WORK/ocsp.log" || true)" 2
stop_pid "$OCSP_PID"

# ---------------------------------------------------------------- revocation without --config
# Leaves issued here by the PKI's intermediate, naming an OCSP responder
# (AIA) or a CRL distribution point (CDP): doctor asks what they name, with
# authd's ocsp.c and crl.c, trusting --ca and the chain in --cert.
#   og/orv     AIA -> a real openssl ocsp that says good / revoked
#   odown      AIA -> a port nobody listens on
#   cg/crv     CDP -> python http.server serving the intermediate's CRL,
#              which lists crv and not cg
#   cold       CDP -> a CRL past its nextUpdate
#   cdown      CDP -> a port nobody listens on
R_OCSP_PORT=$(free_port)
DP_PORT=$(free_port)
NOBODY=$(free_port)
RO="http://127.0.0.1:$R_OCSP_PORT"
DP="http://127.0.0.1:$DP_PORT"
RW="$WORK/rev"
mkdir -p "$RW/certs" "$RW/dp" "$RW/ocsp"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$RW/certs/leaf.key" 2>/dev/null
declare -A SERIAL=()
# mkleaf NAME EXT: a clientAuth leaf of the intermediate with extension EXT
mkleaf() {
    local n=$1 d="$RW/certs"
    SERIAL[$n]="1$(openssl rand -hex 8 | cut -c1-15 | tr a-f A-F)"
    printf '[v3]\nbasicConstraints = critical, CA:FALSE\nkeyUsage = critical, digitalSignature\nextendedKeyUsage = clientAuth\nsubjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid:always\n%s\n' "$2" > "$d/$n.ext"
    { openssl req -new -key "$d/leaf.key" -subj "/O=authd tests/CN=rev-$n" -out "$d/$n.csr" &&
      openssl x509 -req -in "$d/$n.csr" -CA "$PKI/intermediate.pem" -CAkey "$PKI/intermediate.key" \
        -set_serial "0x${SERIAL[$n]}" -days 30 -sha256 -extfile "$d/$n.ext" -extensions v3 -out "$d/$n.pem"
    } 2>"$d/$n.err" || { echo "$TEST_NAME: cannot issue $n:" >&2; cat "$d/$n.err" >&2; exit 2; }
    cat "$d/$n.pem" "$PKI/intermediate.pem" > "$d/$n-chain.pem"
}
mkleaf og    "authorityInfoAccess = OCSP;URI:$RO/"
mkleaf orv   "authorityInfoAccess = OCSP;URI:$RO/"
mkleaf odown "authorityInfoAccess = OCSP;URI:http://127.0.0.1:$NOBODY/"
mkleaf cg    "crlDistributionPoints = URI:$DP/int.crl"
mkleaf crv   "crlDistributionPoints = URI:$DP/int.crl"
mkleaf cold  "crlDistributionPoints = URI:$DP/old.crl"
mkleaf cdown "crlDistributionPoints = URI:http://127.0.0.1:$NOBODY/int.crl"
HOLE=$(free_port)      # accepts, never answers
mkleaf hang  "$(printf 'authorityInfoAccess = OCSP;URI:http://127.0.0.1:%s/\ncrlDistributionPoints = URI:http://127.0.0.1:%s/int.crl' "$HOLE" "$HOLE")"
# mkcrl OUT LASTUPDATE NEXTUPDATE [SERIAL...]: the intermediate's CRL (DER)
cat > "$RW/crl.cnf" <<'CNF'
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
CNF
mkcrl() {
    local out=$1 last=$2 next=$3 s db
    shift 3
    db=$(mktemp -d "$RW/db.XXXXXX")
    : > "$db/index.txt"; echo 01 > "$db/crlnumber"
    for s in "$@"; do printf 'R\t%s\t%s,keyCompromise\t%s\tunknown\t/CN=%s\n' "$EXP" "$REVAT" "$s" "$s" >> "$db/index.txt"; done
    CRLDB=$db openssl ca -gencrl -batch -config "$RW/crl.cnf" -cert "$PKI/intermediate.pem" -keyfile "$PKI/intermediate.key" \
        -crlexts crl_std -crl_lastupdate "$last" -crl_nextupdate "$next" -out "$db/crl.pem" >"$db/log" 2>&1 &&
    openssl crl -in "$db/crl.pem" -outform DER -out "$out" 2>>"$db/log" ||
        { echo "$TEST_NAME: cannot make $out:" >&2; cat "$db/log" >&2; exit 2; }
}
ts() { date -u -d "$1" +%Y%m%d%H%M%SZ; }
mkcrl "$RW/dp/int.crl" "$(ts '-1 hour')" "$(ts '+7 days')" "${SERIAL[crv]}"
mkcrl "$RW/dp/old.crl" "$(ts '-3 days')" "$(ts '-1 day')"
# the distribution point: python's http.server (readiness: it logs nothing
# before serving, so the port is probed; it serves idle connections fine)
bg dp "$RW/dp.log" python3 -m http.server --bind 127.0.0.1 --directory "$RW/dp" "$DP_PORT"
DP_PID=$LAST_PID
for i in $(seq 1 50); do port_busy "$DP_PORT" && break; sleep 0.1; done
port_busy "$DP_PORT" || { echo "$TEST_NAME: http.server did not start" >&2; cat "$RW/dp.log" >&2; exit 2; }
# the responder: openssl ocsp, ready when its log says so (never probed)
{ printf 'V\t%s\t\t%s\tunknown\t/CN=rev-og\n' "$EXP" "${SERIAL[og]}"
  printf 'R\t%s\t%s,keyCompromise\t%s\tunknown\t/CN=rev-orv\n' "$EXP" "$REVAT" "${SERIAL[orv]}"
} > "$RW/ocsp/index.txt"
bg rocsp "$RW/ocsp.log" openssl ocsp -index "$RW/ocsp/index.txt" -port "$R_OCSP_PORT" -ndays 1 \
    -rsigner "$PKI/ocsp-signer.pem" -rkey "$PKI/ocsp-signer.key" -CA "$PKI/intermediate.pem"
R_OCSP_PID=$LAST_PID
for i in $(seq 1 50); do grep -q 'waiting for OCSP client connections' "$RW/ocsp.log" && break; sleep 0.1; done
grep -q 'waiting for OCSP client connections' "$RW/ocsp.log" || { echo "$TEST_NAME: openssl ocsp did not start" >&2; exit 2; }
# rev NAME: doctor without --config for leaf NAME
rev() { doctor --timeout 3 --ca "$PKI/root.pem" --cert "$RW/certs/$1-chain.pem" --key "$RW/certs/leaf.key" "https://localhost:$PORT_RIGHT/api/items"; }

# (1) OCSP good
rev og
check_eq "rev (1) OCSP good: exit" "$RC" 0
has_prefix "rev (1) OCSP good: ocsp ok, the responder named" "ok    ocsp             good, says $RO/ (thisUpdate "
check_not_contains "rev (1) no crl line (no CDP)" "$OUT" "crl    "
check_not_contains "rev (1) no revocation warning" "$OUT" "revocation"
# (2) OCSP revoked
rev orv
check_eq "rev (2) OCSP revoked: exit" "$RC" 1
has_line "rev (2) OCSP revoked: FAIL" "FAIL  ocsp             revoked (depth 0), says $RO/"
has_line "rev (2) its fix" "      fix: issue the client a new certificate (or, if revoked by mistake, ask the CA to reinstate it)"
check_eq "rev (1)(2): the responder was asked twice" "$(grep -c 'Received request' "$RW/ocsp.log" || true)" 2
# (3) OCSP responder down: a warning naming the URL and the reason
T0=$(date +%s%N)
rev odown
T1=$(date +%s%N)
check_eq "rev (3) responder down: exit (a warning)" "$RC" 0
has_prefix "rev (3) responder down: warn with the URL" "warn  ocsp             no OCSP answer (depth 0): http://127.0.0.1:$NOBODY/: "
check_contains "rev (3) responder down: the reason" "$OUT" "refused"
has_prefix "rev (3) responder down: a fix naming the URL" "      fix: make http://127.0.0.1:$NOBODY/ reachable from here and from authd"
check_eq "rev (3) responder down: no hang (< 10 s)" "$(( (T1 - T0) / 1000000000 < 10 ))" 1
# (4) CRL distribution point: not listed, listed, expired, down
rev cg
check_eq "rev (4) CDP, not on the CRL: exit" "$RC" 0
has_prefix "rev (4) CDP good: crl ok with its dates" "ok    crl              not revoked: not on the CRL from $DP/int.crl; thisUpdate "
check_not_contains "rev (4) CDP good: no ocsp line (no AIA)" "$OUT" "ocsp   "
rev crv
check_eq "rev (4) CDP, on the CRL: exit" "$RC" 1
has_prefix "rev (4) CDP revoked: FAIL" "FAIL  crl              revoked: CN=rev-crv,O=authd tests (depth 0) is revoked by the CRL of $INT ($DP/int.crl); thisUpdate "
has_line "rev (4) CDP revoked: its fix" "      fix: issue the client a new certificate (or, if revoked by mistake, ask the CA to publish a CRL without it)"
rev cold
check_eq "rev (4) expired CRL: exit" "$RC" 1
has_prefix "rev (4) expired CRL: FAIL" "FAIL  crl              expired CRL: the CRL of $INT ($DP/old.crl) is past its nextUpdate; thisUpdate "
has_line "rev (4) expired CRL: its fix" "      fix: the CA must publish a fresh CRL at $DP/old.crl (authd with crl_fetch refuses its clients meanwhile, unless crl_grace allows)"
rev cdown
check_eq "rev (4) DP down: exit (a warning)" "$RC" 0
has_prefix "rev (4) DP down: warn with the URL" "warn  crl              no CRL: no CRL from the issuer of CN=rev-cdown,O=authd tests (depth 0): distribution point http://127.0.0.1:$NOBODY/int.crl: "
check_eq "rev (4) the DP was asked once per good/revoked leaf" "$(grep -c 'GET /int.crl' "$RW/dp.log" || true)" 2
# a responder and a distribution point that accept and never answer:
# each bounded by --timeout 3 (the nginx connections are fast)
bg hole "$RW/hole.log" python3 -c 'import socket,sys
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(8)
c=[]
while True: c.append(s.accept()[0])' "$HOLE"
HOLE_PID=$LAST_PID
for i in $(seq 1 50); do port_busy "$HOLE" && break; sleep 0.1; done
T0=$(date +%s%N)
rev hang
T1=$(date +%s%N)
check_eq "rev silent responder and DP: exit (warnings)" "$RC" 0
has_prefix "rev silent responder: warn with the URL" "warn  ocsp             no OCSP answer (depth 0): http://127.0.0.1:$HOLE/: "
has_prefix "rev silent DP: warn with the URL" "warn  crl              no CRL: "
check_contains "rev silent DP: names the URL" "$OUT" "http://127.0.0.1:$HOLE/int.crl"
check_eq "rev silent responder and DP: bounded (< 10 s for two 3 s timeouts)" "$(( (T1 - T0) / 1000000000 < 10 ))" 1
stop_pid "$HOLE_PID"
# (5) no AIA/CDP: alice, above ("(a) without --config")
# without --ca the answers cannot be verified: said, not guessed
doctor --cert "$RW/certs/orv-chain.pem" --key "$RW/certs/leaf.key" "https://localhost:$PORT_RIGHT/api/items"
has_line "rev: no --ca: revocation not checked" "warn  revocation       not checked: the issuer's answers cannot be verified without a verified chain"
stop_pid "$R_OCSP_PID"
stop_pid "$DP_PID"

# ---------------------------------------------------------------- foreign client
doctor --ca "$PKI/root.pem" --cert "$PKI/other-client.pem" --key "$PKI/other-client.key" --config "$WORK/authd.conf" "https://localhost:$PORT_RIGHT/api/items"
check_eq "foreign client: exit" "$RC" 1
has_line "foreign client: issuer not named" "FAIL  client-issuer    its issuer \"CN=Other Root CA,O=elsewhere\" (and every CA above it that is known) is not among the 1 CA name(s) the server sends: clients will not offer it, and nginx refuses it unless ssl_verify_client is optional_no_ca"
has_prefix "foreign client: chain FAIL" "FAIL  client-chain     does not verify against authd's trust and intermediates: "
has_line "foreign client: revocation not reached" "warn  revocation       not checked: the chain does not verify"
has_prefix "foreign client: authd says untrusted" "FAIL  authd            deny untrusted (401)"
has_line "foreign client: nginx refused it itself" "FAIL  http             GET /api/items with the client certificate: 401, X-Authd-Reason: untrusted"

# a client whose issuer authd lacks, published at its caIssuers URL (issue 13)
doctor --ca "$PKI/root.pem" --cert "$PKI/aia/der.pem" --key "$PKI/aia/der.key" --config "$WORK/authd.conf" "https://localhost:$PORT_RIGHT/api/items"
check_eq "issuer at caIssuers: exit" "$RC" 1
has_line "issuer at caIssuers: client-chain names the intermediate and where it is published" "FAIL  client-chain     does not verify against authd's trust and intermediates: unable to get local issuer certificate (depth 0: \"CN=kim,OU=AIA,O=Example Corp\", issuer \"CN=authd AIA Issuing CA,O=authd tests\", published at http://aia.authd.test/ica.der)"
check_contains "issuer at caIssuers: the fix" "$OUT" "fetch the missing intermediate \"CN=authd AIA Issuing CA,O=authd tests\" from http://aia.authd.test/ica.der, check it and add it to authd's intermediates, or set ca_issuers_fetch on"

# an expired client: validity and authd
doctor --ca "$PKI/root.pem" --cert "$(chain expired)" --key "$PKI/expired.key" --config "$WORK/authd.conf" "https://localhost:$PORT_RIGHT/api/items"
check_eq "expired client: exit" "$RC" 1
has_prefix "expired client: client-validity FAIL" "FAIL  client-validity  expired on "
has_prefix "expired client: authd denies expired" "FAIL  authd            deny expired (401)"

# ---------------------------------------------------------------- failures to connect
DEAD=$(free_port)
T0=$(date +%s%N)
doctor --ca "$PKI/root.pem" "https://127.0.0.1:$DEAD/"
T1=$(date +%s%N)
check_eq "connection refused: exit" "$RC" 1
has_line "connection refused: finding" "FAIL  connect          cannot connect to 127.0.0.1 port $DEAD: Connection refused"
has_line "connection refused: fix" "      fix: start nginx, or check the host and port (nginx's listen directive; ss -ltn)"
has_line "connection refused: summary" "0 ok, 0 warnings, 1 failed"
check_eq "connection refused: no hang (< 3 s)" "$(( (T1 - T0) / 1000000000 < 3 ))" 1

# a server that accepts and never speaks: bounded by --timeout
SILENT=$(free_port)
bg silent "$WORK/silent.log" python3 -c 'import socket,sys,time
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(8)
c=[]
while True: c.append(s.accept()[0])' "$SILENT"
SILENT_PID=$LAST_PID
for i in $(seq 1 50); do port_busy "$SILENT" && break; sleep 0.1; done
T0=$(date +%s%N)
doctor --timeout 1 --ca "$PKI/root.pem" "https://127.0.0.1:$SILENT/"
T1=$(date +%s%N)
check_eq "silent server: exit" "$RC" 1
has_line "silent server: timeout finding" "FAIL  connect          TLS handshake with 127.0.0.1 port $SILENT failed: no answer within 1 s"
check_eq "silent server: bounded (< 4 s)" "$(( (T1 - T0) / 1000000000 < 4 ))" 1
stop_pid "$SILENT_PID"

# a plain HTTP port
doctor --ca "$PKI/root.pem" "https://127.0.0.1:$BACKEND_PORT/"
check_eq "plain HTTP port: exit" "$RC" 1
has_prefix "plain HTTP port: handshake fails" "FAIL  connect          TLS handshake with 127.0.0.1 port $BACKEND_PORT failed: "
has_line "plain HTTP port: fix" "      fix: is this an HTTPS port? (nginx: listen ... ssl)"

# ---------------------------------------------------------------- usage
doctor
check_eq "usage: no URL: exit" "$RC" 2
doctor "http://127.0.0.1:$PORT_RIGHT/"
check_eq "usage: http:// URL: exit" "$RC" 2
doctor "https://127.0.0.1:99999/"
check_eq "usage: bad port: exit" "$RC" 2
doctor --cert "$WORK/missing.pem" "https://127.0.0.1:$PORT_RIGHT/"
check_eq "usage: unreadable --cert: exit" "$RC" 2
doctor --cert "$PKI/client.pem" --key "$PKI/client2.key" "https://127.0.0.1:$PORT_RIGHT/"
check_eq "usage: --key of another certificate: exit" "$RC" 2
doctor --timeout 0 "https://127.0.0.1:$PORT_RIGHT/"
check_eq "usage: --timeout 0: exit" "$RC" 2
check_contains "usage errors are explained" "$(cat "$DLOG")" "authd doctor: --key does not belong to the certificate in --cert"

stop_authd
