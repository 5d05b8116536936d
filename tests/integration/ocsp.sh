#!/usr/bin/env bash
# Revocation by OCSP (issue 5): real authd, real nginx with the contrib
# snippets, a real responder (`openssl ocsp -index`) and a fault-injecting
# one written for this test (ocsp-responder.c, built here, on loopback).
#
# Client leaves are issued here by the PKI's intermediate, with an AIA OCSP
# URL naming a responder port known only now; the intermediate has no AIA,
# so authd runs with `ocsp leaf`. Four authd instances:
#   A   ocsp_failure deny   (behind nginx #1)
#   B   ocsp_failure allow  (behind nginx #2)
#   N   deny,  ocsp_nonce on, ocsp_certid sha256
#   NA  allow, ocsp_nonce on, ocsp_certid sha256
# all with fetch_timeout 4s and ocsp_max_age 1d.
#
#  1  real responder: good 200, revoked 401 revoked (X-Authd-Revocation:
#     ocsp), straight to authd and through nginx, both failure modes; one
#     query per certificate and instance; an AIA URL ending in '/'
#  2  fault responder: every fault under deny (401 revocation-unknown) and
#     allow (200, X-Authd-Revocation: unchecked); good variants (delegate,
#     no certificates, no nextUpdate, thisUpdate inside the skew) 200;
#     revoked variants 401 revoked; AIA URLs tried in order; GET for short
#     requests; failures backed off (asked again: no new query, no wait)
#     and asked again once the 30 s back-off is over; nonce and SHA-256
#     CertIDs (N, NA)
#  3  200 concurrent first requests for one certificate: one query
#  4  two responders hanging (both fetch threads busy, 60 requests
#     suspended): p99 of cached decisions at most 2x the p99 before; the
#     hanging requests end after ~fetch_timeout with revocation-unknown
#  5  restart A with the same data_dir, the real responder stopped: cached
#     certificates (revoked ones past nextUpdate too) answered as before
#     with zero queries; responder down through nginx: 401
#     revocation-unknown (deny), 200 unchecked (allow)
#  6  serve -n with the ocsp keys
#  7  pinned responders (ocsp_signer) and check --ocsp-response
#  8  revocation_order with CRLs and OCSP both on (the first source that
#     answers decides; the other stands in when it cannot), ocsp_failure
#     per rule set (check and served), and their configuration errors
#  9  ocsp_responder per issuer: routing, precedence, configuration errors
# 10  refreshes ahead of nextUpdate are paced (no verdict cache: every
#     request reaches the OCSP table; one query for 12 requests)
# About 40 s, most of it waiting for the back-off to end.
. "$(dirname "$0")/lib.bash"

AUTHD_PORT=$(free_port)         # A
ALLOW_PORT=$(free_port)         # B
NONCE_PORT=$(free_port)         # N
NONCE_ALLOW_PORT=$(free_port)   # NA
TLS_PORT=$(free_port)
TLS2_PORT=$(free_port)
BACKEND1_PORT=$(free_port)
BACKEND2_PORT=$(free_port)
REAL_PORT=$(free_port)          # openssl ocsp
DEAD_PORT=$(free_port)          # nothing ever listens here
A="127.0.0.1:$AUTHD_PORT"; B="127.0.0.1:$ALLOW_PORT"
N="127.0.0.1:$NONCE_PORT"; NA="127.0.0.1:$NONCE_ALLOW_PORT"
FTO=4                           # fetch_timeout, seconds
C=(--cacert "$PKI/root.pem")
now() { date +%s.%N; }
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a <= b) }'; }

for f in ocsp-signer ocsp-bad-signer ocsp-unrelated; do
    [ -f "$PKI/$f.pem" ] && [ -f "$PKI/$f.key" ] || {
        echo "$TEST_NAME: $PKI has no $f.pem/.key (tests/pki/gen.sh too old?)" >&2; exit 2; }
done
command -v cc >/dev/null || { echo "$TEST_NAME: no C compiler (cc)" >&2; exit 2; }

# ---------------------------------------------------------------- authd knows OCSP?
BASE=(--trust "$PKI/trust.pem" --intermediates "$PKI/intermediates.pem")
if ! out=$("$AUTHD_BIN" serve -n "${BASE[@]}" --ocsp leaf 2>&1); then
    echo "$TEST_NAME: authd serve -n --ocsp leaf refused:" >&2
    printf '%s\n' "$out" | sed 's/^/    /' >&2
    exit 2
fi

# ---------------------------------------------------------------- the fault responder
mkdir -p "$WORK/certs" "$WORK/real" "$WORK/mx" "$WORK/dA" "$WORK/dB" "$WORK/dN" "$WORK/dNA"
FLOG="$WORK/fault.log"
start_fault_responder fault "$FLOG" "$PKI/intermediate" "$PKI/ocsp-signer" "$PKI/ocsp-bad-signer" \
    "$PKI/ocsp-unrelated"
FPORT=$FAULT_PORT
F="http://127.0.0.1:$FPORT"
R="http://127.0.0.1:$REAL_PORT"

# ---------------------------------------------------------------- leaves
# mkcert NAME URL...: a clientAuth leaf issued by the intermediate whose AIA
# lists these OCSP URLs in order (all leaves share one key); SERIAL[NAME]
# its serial (hex). Run in the background; jobs_wait collects them.
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$WORK/certs/leaf.key" 2>/dev/null
declare -A SERIAL=()
JOBS=()
mkcert() {
    local n=$1 d="$WORK/certs" aia="" u; shift
    SERIAL[$n]="1$(openssl rand -hex 8 | cut -c1-15 | tr a-f A-F)"
    for u in "$@"; do aia+="${aia:+, }OCSP;URI:$u"; done
    printf '[v3]\nbasicConstraints = critical, CA:FALSE\nkeyUsage = critical, digitalSignature\nextendedKeyUsage = clientAuth\nsubjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid:always\nauthorityInfoAccess = %s\n' \
        "$aia" > "$d/$n.ext"
    ( openssl req -new -key "$d/leaf.key" -subj "/O=Example Corp/CN=ocsp-$n" -out "$d/$n.csr" 2>"$d/$n.err" &&
      openssl x509 -req -in "$d/$n.csr" -CA "$PKI/intermediate.pem" -CAkey "$PKI/intermediate.key" \
        -set_serial "0x${SERIAL[$n]}" -days 30 -sha256 -extfile "$d/$n.ext" -extensions v3 \
        -out "$d/$n.pem" 2>>"$d/$n.err" &&
      cat "$d/$n.pem" "$PKI/intermediate.pem" > "$d/$n-chain.pem" &&
      printf 'X-SSL-Client-Cert: %s\n' "$(escape_pem "$d/$n.pem")" > "$d/$n.hdr" ) ||
        { echo "$TEST_NAME: cannot issue $n:" >&2; cat "$d/$n.err" >&2; exit 1; } &
    JOBS+=($!)
}
jobs_wait() {
    local p rc=0
    for p in "${JOBS[@]}"; do wait "$p" || rc=1; done
    JOBS=()
    [ "$rc" = 0 ] || exit 2
}

# the real responder's
mkcert rgood "$R"; mkcert rrev "$R"; mkcert rslash "$R/"; mkcert rlate "$R"
# the fault matrix: f-MODE asks $F/MODE
MODES_OK=(good good-nocerts delegate future-skew nonext)
MODES_REVOKED=(revoked delegate-revoked revoked-stale)
MODES_FAIL=(unknown trylater unauthorized malformed http500 unrelated forged baddelegate badsig
            wrongid expired future old big slow$((FTO + 2))000 refused)
declare -A WHAT=(
    [good]="good, signed by the issuer" [good-nocerts]="good, by the issuer, no certificates in the response"
    [delegate]="good, by a delegate with OCSPSigning" [future-skew]="thisUpdate now+60s (inside the 300 s skew)"
    [nonext]="good without nextUpdate" [revoked]="revoked, by the issuer" [delegate-revoked]="revoked, by the delegate"
    [revoked-stale]="revoked, nextUpdate now-295s (inside the skew)"
    [unknown]="unknown" [trylater]="tryLater" [unauthorized]="unauthorized" [malformed]="malformed body"
    [http500]="HTTP 500" [unrelated]="signed by an unrelated key (self-signed, the issuer's name)"
    [forged]="unrelated key, responder ID naming the issuer, no certificates"
    [baddelegate]="signed by a delegate without OCSPSigning" [badsig]="signature bit flipped"
    [wrongid]="answer for another serial (CertID mismatch)" [expired]="expired (nextUpdate now-1d)"
    [future]="thisUpdate in the future (now+1h)" [old]="thisUpdate now-3d (ocsp_max_age 1d)"
    [big]="body > ocsp_max_size (100 kB)" [slow$((FTO + 2))000]="answer $((FTO + 2)) s late (fetch_timeout ${FTO}s)"
    [refused]="connection refused (no listener)"
)
for m in "${MODES_OK[@]}" "${MODES_REVOKED[@]}" "${MODES_FAIL[@]}"; do
    if [ "$m" = refused ]; then mkcert "f-$m" "http://127.0.0.1:$DEAD_PORT/good"
    else mkcert "f-$m" "$F/$m"; fi
done
mkcert order "http://127.0.0.1:$DEAD_PORT/good" "$F/good"     # AIA: dead first
for m in good revoked nonce-bad nonce-none; do mkcert "n-$m" "$F/$m"; done
mkcert n-flaky "$F/flaky"; mkcert na-flaky "$F/flaky"     # one each for N, NA
mkcert conc "$F/slow2500"
mkcert refused2 "http://127.0.0.1:$DEAD_PORT/good"
mkcert hang1 "$F/hang"; mkcert hang2 "$F/hang"
mkcert nearexp "$F/nearexp"
jobs_wait

# ---------------------------------------------------------------- the real responder
# index.txt in `openssl ca` database form
EXP=$(date -u -d '+30 days' +%y%m%d%H%M%SZ)
REVAT=$(date -u -d '-1 day' +%y%m%d%H%M%SZ)
{ for n in rgood rslash rlate; do printf 'V\t%s\t\t%s\tunknown\t/CN=ocsp-%s\n' "$EXP" "${SERIAL[$n]}" "$n"; done
  printf 'R\t%s\t%s,keyCompromise\t%s\tunknown\t/CN=ocsp-rrev\n' "$EXP" "$REVAT" "${SERIAL[rrev]}"
} > "$WORK/real/index.txt"
RLOG="$WORK/real.log"
# (no -ignore_err, no -multi, and never a connection that sends nothing:
# openssl 3.0's responder then spins on the dead connection at 100% CPU;
# so readiness is read from its log, not probed)
bg real "$RLOG" openssl ocsp -index "$WORK/real/index.txt" -port "$REAL_PORT" -ndays 1 \
    -rsigner "$PKI/ocsp-signer.pem" -rkey "$PKI/ocsp-signer.key" -CA "$PKI/intermediate.pem"
REAL_PID=$LAST_PID
for i in $(seq 1 50); do grep -q 'waiting for OCSP client connections' "$RLOG" && break; sleep 0.1; done
grep -q 'waiting for OCSP client connections' "$RLOG" || { echo "$TEST_NAME: openssl ocsp did not start:" >&2; cat "$RLOG" >&2; exit 2; }
# self-check: openssl's own client agrees with the index
v=$(timeout 10 openssl ocsp -issuer "$PKI/intermediate.pem" -cert "$WORK/certs/rrev.pem" -url "$R" -CAfile "$PKI/root.pem" \
    -verify_other "$PKI/intermediate.pem" 2>&1 | grep -F "rrev.pem:" || true)
[[ "$v" == *revoked* ]] || { echo "$TEST_NAME: openssl ocsp self-check failed: $v" >&2; cat "$RLOG" >&2; exit 2; }
real_count() { grep -c 'Received request' "$RLOG" || true; }
REAL0=$(real_count)

# ---------------------------------------------------------------- authd x4
COMMON=("${BASE[@]}" --ocsp leaf --fetch-timeout "${FTO}s" --ocsp-max-age 1d)
start_authd authd-allow "$B" "${COMMON[@]}" --ocsp-failure allow --data-dir "$WORK/dB"
B_PID=$AUTHD_PID; B_LOG=$AUTHD_LOG
start_authd authd-nonce "$N" "${COMMON[@]}" --ocsp-failure deny --ocsp-nonce on --ocsp-certid sha256 --data-dir "$WORK/dN"
N_PID=$AUTHD_PID
start_authd authd-nonce-allow "$NA" "${COMMON[@]}" --ocsp-failure allow --ocsp-nonce on --ocsp-certid sha256 --data-dir "$WORK/dNA"
NA_PID=$AUTHD_PID
start_authd authd "$A" "${COMMON[@]}" --ocsp-failure deny --data-dir "$WORK/dA"
A_PID=$AUTHD_PID; A_LOG=$AUTHD_LOG

# ---------------------------------------------------------------- nginx x2
# nginx #1 -> A (deny), nginx #2 -> B (allow); the backend also echoes
# X-Authd-Revocation (authd-protect.conf passes it on).
setup_nginx() {   # DIR UPSTREAM TLS_PORT BACKEND_PORT
    BACKEND_PORT=$4
    nginx_setup "$1" "$2"
    local server
    server=$(example_server mtls-mandatory.conf "$3" "$4")
    nginx_conf root "$server"
    sed -i 's#ssl_client_verify=\$http_x_ssl_client_verify\\n#&revocation=$http_x_authd_revocation\\n#' "$NGX/nginx.conf"
    grep -q 'revocation=\$http_x_authd_revocation' "$NGX/nginx.conf" || { echo "$TEST_NAME: cannot patch the echo backend" >&2; exit 2; }
    start_nginx "$3" "$4"
}
setup_nginx "$WORK/nginx1" "$A" "$TLS_PORT" "$BACKEND1_PORT"
setup_nginx "$WORK/nginx2" "$B" "$TLS2_PORT" "$BACKEND2_PORT"

# ---------------------------------------------------------------- helpers
# ng PORT NAME: through nginx with leaf NAME; NG="CODE REASON", BODY
ng() {
    local d="$WORK/certs" out
    N_REQ=$((N_REQ + 1))
    HDRS="$WORK/req-$N_REQ.hdr"
    out=$(curl -sS --max-time 20 -o "$WORK/req-$N_REQ.body" -D "$HDRS" -w '%{http_code}' "${C[@]}" \
        --cert "$d/$2-chain.pem" --key "$d/leaf.key" "https://localhost:$1/ocsp/$2" 2>"$WORK/req-$N_REQ.err") || true
    CODE=${out:-000}
    BODY=$(cat "$WORK/req-$N_REQ.body" 2>/dev/null || true)
    NG="$CODE $(hdr X-Authd-Reason)"
}
# dec NAME ADDR: straight to authd; prints "CODE REASON REVOCATION TIME"
# ("-" for an absent header)
dec() {
    local out code t reason rev
    out=$(curl -sS --max-time 20 -o /dev/null -D - -w 'code=%{http_code}\ntime=%{time_total}\n' \
        -H "@$WORK/certs/$1.hdr" -H "X-SSL-Client-Verify: SUCCESS" -H "X-Original-URI: /ocsp" \
        -H "X-Original-Method: GET" -H "X-Original-Host: localhost" "http://$2/auth" 2>/dev/null | tr -d '\r') || true
    code=$(printf '%s\n' "$out" | sed -n 's/^code=//p')
    t=$(printf '%s\n' "$out" | sed -n 's/^time=//p')
    reason=$(printf '%s\n' "$out" | sed -n 's/^[Xx]-[Aa]uthd-[Rr]eason: *//p' | tail -n 1)
    rev=$(printf '%s\n' "$out" | sed -n 's/^[Xx]-[Aa]uthd-[Rr]evocation: *//p' | tail -n 1)
    printf '%s %s %s %s\n' "${code:-000}" "${reason:--}" "${rev:--}" "${t:-99}"
}
# d3 NAME ADDR: D3="CODE REASON REVOCATION" of dec, DT its time
d3() { local o c r v t; o=$(dec "$1" "$2"); read -r c r v t <<<"$o"; DT=$t; D3="$c $r $v"; }
# queries at the fault responder for leaf NAME
qcount() { grep -c "^ocsp .* serial=${SERIAL[$1]} " "$FLOG" || true; }
qlines() { grep "^ocsp .* serial=${SERIAL[$1]} " "$FLOG" || true; }
qtotal() { grep -c '^ocsp ' "$FLOG" || true; }
# verdict strings: "CODE REASON REVOCATION"
V_GOOD_RE='^200 ok [^ ]+$'
V_REVOKED="401 revoked ocsp"
V_DENY="401 revocation-unknown"
# expect NAME GOT KIND: KIND good | revoked | deny | allow
expect() {
    local name=$1 got=$2 kind=$3
    case "$kind" in
        good)    if [[ "$got" =~ $V_GOOD_RE ]] && [[ "$got" != *" unchecked" ]]; then pass "$name ($got)"; else fail "$name: got '$got', expected 200 ok (not unchecked)"; fi;;
        revoked) check_eq "$name" "$got" "$V_REVOKED";;
        deny)    check_eq "$name" "${got% *}" "$V_DENY";;
        allow)   check_eq "$name" "$(awk '{ print $1, $3 }' <<<"$got")" "200 unchecked";;
    esac
}

# ---------------------------------------------------------------- 1: real responder
ng "$TLS_PORT" rgood;  check_eq "1: real responder, good, nginx -> A (deny)" "$NG" "200 ok"
ng "$TLS_PORT" rrev;   check_eq "1: real responder, revoked, nginx -> A" "$NG" "401 revoked"
check_not_contains "1: revoked: backend not reached" "$BODY" "subject="
ng "$TLS2_PORT" rgood; check_eq "1: real responder, good, nginx -> B (allow)" "$NG" "200 ok"
check_eq "1: good via B: X-Authd-Revocation at the backend is not 'unchecked'" \
    "$([ "$(body_field revocation)" = unchecked ] && echo unchecked || echo fine)" fine
ng "$TLS2_PORT" rrev;  check_eq "1: real responder, revoked, nginx -> B" "$NG" "401 revoked"
d3 rgood "$A"; expect "1: good straight from A" "$D3" good
d3 rrev "$A";  expect "1: revoked straight from A (X-Authd-Revocation: ocsp)" "$D3" revoked
d3 rgood "$B"; expect "1: good straight from B" "$D3" good
d3 rrev "$B";  expect "1: revoked straight from B" "$D3" revoked
check_eq "1: real responder asked once per certificate and instance" "$(( $(real_count) - REAL0 ))" 4
d3 rslash "$A"; expect "1: AIA URL with a trailing '/' ($R/)" "$D3" good
RSLASH_OK=0; [[ "$D3" =~ $V_GOOD_RE ]] && RSLASH_OK=1
[ "$RSLASH_OK" = 1 ] || grep 'Received request' "$RLOG" | tail -n 1 | sed 's/^/    real responder: /'

# nonce and SHA-256 CertIDs (first: nothing else is asked at N and NA
# until the flaky check at the end, whose verdicts must not be helped by
# another answer changing the OCSP generation)
for x in "N:$N:deny" "NA:$NA:allow"; do
    IFS=: read -r tag addr port kind <<<"$x"; addr="$addr:$port"
    d3 n-good "$addr";       expect "2: nonce on ($tag): good, nonce echoed" "$D3" good
    d3 n-revoked "$addr";    expect "2: nonce on ($tag): revoked, nonce echoed" "$D3" revoked
    d3 n-nonce-bad "$addr";  expect "2: nonce on ($tag): nonce mismatch" "$D3" "$kind"
    d3 n-nonce-none "$addr"; expect "2: nonce on ($tag): no nonce in the answer" "$D3" "$kind"
done
check_eq "2: nonce on: requests carry a nonce and a SHA-256 CertID" \
    "$(qlines n-good | awk '{ print $5, $6 }' | sort -u | tr '\n' ' ')" "hash=sha256 nonce=1 "
check_eq "2: nonce on: one query per instance for the good certificate" "$(qcount n-good)" 2
# a responder failing once (HTTP 500), fine afterwards: asked again at the
# end, once the 30 s back-off is over
d3 n-flaky "$N";  expect "2: flaky responder, first answer HTTP 500 (N, deny)" "$D3" deny
d3 na-flaky "$NA"; expect "2: flaky responder, first answer HTTP 500 (NA, allow)" "$D3" allow
T_FLAKY=$(now)

# ---------------------------------------------------------------- 2: fault matrix
# every f-MODE at A and at B at once
T_MX=$(now)
P=()
for m in "${MODES_OK[@]}" "${MODES_REVOKED[@]}" "${MODES_FAIL[@]}"; do
    dec "f-$m" "$A" > "$WORK/mx/A-$m" & P+=($!)
    dec "f-$m" "$B" > "$WORK/mx/B-$m" & P+=($!)
done
dec order "$A" > "$WORK/mx/A-order" & P+=($!)
for p in "${P[@]}"; do wait "$p" || true; done
echo "    fault matrix: $(awk -v a="$T_MX" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }') s"
mx() { read -r c r v t < "$WORK/mx/$1-$2"; MX="$c $r $v"; MXT=$t; }
for m in "${MODES_OK[@]}"; do
    mx A "$m"; expect "2: ${WHAT[$m]}: deny" "$MX" good
    mx B "$m"; expect "2: ${WHAT[$m]}: allow" "$MX" good
    check_eq "2: ${WHAT[$m]}: one query per instance" "$(qcount "f-$m")" 2
done
for m in "${MODES_REVOKED[@]}"; do
    mx A "$m"; expect "2: ${WHAT[$m]}: deny" "$MX" revoked
    mx B "$m"; expect "2: ${WHAT[$m]}: allow" "$MX" revoked
    check_eq "2: ${WHAT[$m]}: one query per instance" "$(qcount "f-$m")" 2
done
for m in "${MODES_FAIL[@]}"; do
    mx A "$m"; expect "2: ${WHAT[$m]}: deny" "$MX" deny
    mx B "$m"; expect "2: ${WHAT[$m]}: allow" "$MX" allow
    if [ "$m" != refused ]; then
        q=$(qcount "f-$m")
        if [ "$q" -ge 2 ]; then pass "2: ${WHAT[$m]}: the responder was asked ($q queries)"
        else fail "2: ${WHAT[$m]}: $q queries at the responder (expected >= 1 per instance)"; fi
    fi
done
d3 refused2 "$A"; expect "2: connection refused, alone" "$D3" deny
if le "$DT" 0.5; then pass "2: ... answered at once (${DT} s)"; else fail "2: ... took ${DT} s (expected < 0.5 s)"; fi
SLOW=slow$((FTO + 2))000
for i in A B; do
    mx "$i" "$SLOW"
    if le "$MXT" $((FTO + 1)); then pass "2: late answer ($i): verdict after ${MXT} s (fetch_timeout ${FTO}s)"
    else fail "2: late answer ($i): verdict after ${MXT} s (fetch_timeout ${FTO}s: expected <= $((FTO + 1)) s)"; fi
done
mx A order; expect "2: AIA lists a dead URL, then a good responder: tried in order" "$MX" good
check_eq "2: ... the second URL asked once" "$(qcount order)" 1
check_eq "2: short requests go out as GET (RFC 5019)" "$(qlines f-good | awk '{ print $3 }' | sort -u | tr '\n' ' ')" "GET "
check_eq "2: default CertID hash SHA-1, no nonce" "$(qlines f-good | awk '{ print $5, $6 }' | sort -u | tr '\n' ' ')" "hash=sha1 nonce=0 "

# back-off: asked again at once, every failure is answered from the
# failure cache: no new query, no wait
declare -A QB=()
for m in "${MODES_FAIL[@]}"; do QB[$m]=$(qcount "f-$m"); done
P=()
for m in "${MODES_FAIL[@]}"; do
    dec "f-$m" "$A" > "$WORK/mx/A2-$m" & P+=($!)
    dec "f-$m" "$B" > "$WORK/mx/B2-$m" & P+=($!)
done
for p in "${P[@]}"; do wait "$p" || true; done
slowest=0; requeried=""
for m in "${MODES_FAIL[@]}"; do
    mx A2 "$m"; expect "2: again at once: ${WHAT[$m]}: deny" "$MX" deny
    le "$MXT" "$slowest" || slowest=$MXT
    mx B2 "$m"; expect "2: again at once: ${WHAT[$m]}: allow" "$MX" allow
    le "$MXT" "$slowest" || slowest=$MXT
    [ "$(qcount "f-$m")" = "${QB[$m]}" ] || requeried+=" $m(${QB[$m]}->$(qcount "f-$m"))"
done
check_eq "2: failures backed off: faulty responders not asked again" "${requeried:-none}" none
if le "$slowest" 0.5; then pass "2: failures backed off: answered without waiting (slowest ${slowest} s)"
else fail "2: failures backed off: slowest answer ${slowest} s (expected < 0.5 s: no new fetch)"; fi

# ---------------------------------------------------------------- 3: 200 concurrent first requests
t0=$(now)
seq 1 200 | xargs -P 200 -I{} curl -s -o /dev/null --max-time 20 -H "@$WORK/certs/conc.hdr" \
    -H "X-SSL-Client-Verify: SUCCESS" -H "X-Original-URI: /conc/{}" -H "X-Original-Method: GET" \
    -H "X-Original-Host: localhost" -w '%{http_code} %header{x-authd-reason} %{time_total}\n' \
    "http://$A/auth" > "$WORK/conc.txt" 2>&1 || true
echo "    200 concurrent: $(cut -d' ' -f1,2 "$WORK/conc.txt" | sort | uniq -c | tr -s ' ' | tr '\n' ',')" \
     "in $(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }') s;" \
     "$(awk '$3 >= 1.0' "$WORK/conc.txt" | wc -l) waited >= 1 s for the 2.5 s answer"
check_eq "3: 200 concurrent first requests: answers '200 ok'" "$(grep -c '^200 ok ' "$WORK/conc.txt" || true)" 200
check_eq "3: one responder query for them" "$(qcount conc)" 1

# ---------------------------------------------------------------- 4: responders hanging
# measure OUT: 200 decisions for the cached f-good at A, a new connection each
measure() {
    local args=() i
    for i in $(seq 1 200); do args+=(-o /dev/null "http://$A/auth"); done
    curl -s --max-time 20 -H "Connection: close" -H "@$WORK/certs/f-good.hdr" -H "X-SSL-Client-Verify: SUCCESS" \
        -H "X-Original-URI: /lat" -H "X-Original-Method: GET" -H "X-Original-Host: localhost" \
        -w '%{http_code} %{time_total}\n' "${args[@]}" > "$1" 2>/dev/null || true
}
p99() { awk '{ print $2 }' "$1" | sort -n | awk '{ a[NR] = $1 } END { i = int(NR * 0.99); if (i < 1) i = 1; printf "%.6f", a[i] }'; }
measure "$WORK/lat-warm.txt"          # warm-up
measure "$WORK/lat-before.txt"
P99B=$(p99 "$WORK/lat-before.txt")
HW=()
HANG_T0=$(now)
( curl -s -o /dev/null --max-time 20 -H "@$WORK/certs/hang1.hdr" -H "X-SSL-Client-Verify: SUCCESS" \
    -H "X-Original-URI: /hang" -H "X-Original-Method: GET" -H "X-Original-Host: localhost" \
    -w '%{http_code} %header{x-authd-reason} %{time_total}\n' "http://$A/auth" > "$WORK/hang-first.txt" 2>&1 || true ) &
HP=$!
sleep 0.2
for h in hang1 hang2; do
    seq 1 30 | xargs -P 30 -I{} curl -s -o /dev/null --max-time 20 -H "@$WORK/certs/$h.hdr" \
        -H "X-SSL-Client-Verify: SUCCESS" -H "X-Original-URI: /hang/{}" -H "X-Original-Method: GET" \
        -H "X-Original-Host: localhost" -w '%{http_code} %header{x-authd-reason}\n' \
        "http://$A/auth" > "$WORK/hang-$h.txt" 2>&1 &
    HW+=($!)
done
# Measure once the 61 clients are connected and waiting (their processes
# started): what is measured is authd with requests suspended, not 60 curl
# processes starting on a 2-core machine.  Bounded: 3 s.
APORT=${A##*:}
for _ in $(seq 1 60); do
    [ "$(ss -Htn state established "( dport = :$APORT )" 2>/dev/null | wc -l)" -ge 61 ] && break
    sleep 0.05
done
echo "    clients connected to authd before measuring: $(ss -Htn state established "( dport = :$APORT )" 2>/dev/null | wc -l)"
sleep 0.2
measure "$WORK/lat-during.txt"
T_MEAS_END=$(now)
P99D=$(p99 "$WORK/lat-during.txt")
in_hang=$(awk -v a="$HANG_T0" -v b="$T_MEAS_END" -v f="$FTO" 'BEGIN { print (b - a < f) ? 1 : 0 }')
echo "    cached decisions: p99 $(awk -v x="$P99B" 'BEGIN { printf "%.2f", x * 1000 }') ms before," \
     "$(awk -v x="$P99D" 'BEGIN { printf "%.2f", x * 1000 }') ms while 2 responders hang" \
     "(60 requests suspended; measured within the hang: $([ "$in_hang" = 1 ] && echo yes || echo NO))"
check_eq "4: cached decisions during the hang: all 200" "$(grep -c '^200 ' "$WORK/lat-during.txt" || true)" 200
# 2x the p99 before, with a 1 ms floor for timer noise on sub-ms baselines
LIMIT=$(awk -v b="$P99B" 'BEGIN { if (b < 0.001) b = 0.001; printf "%.6f", 2 * b }')
if le "$P99D" "$LIMIT"; then pass "4: p99 during the hang ${P99D} s <= 2 x ${P99B} s"
else fail "4: p99 during the hang ${P99D} s > 2 x before (${P99B} s)"; fi
if [ "$in_hang" = 1 ]; then pass "4: the measurement ran while the responders hung"
else fail "4: the measurement outlasted the hang (authd too slow?)"; fi
wait "$HP" || true
for p in "${HW[@]}"; do wait "$p" || true; done
read -r h_code h_reason h_time < "$WORK/hang-first.txt" || true
check_eq "4: hanging responder: verdict" "${h_code:-} ${h_reason:-}" "$V_DENY"
if le $((FTO - 1)) "${h_time:-0}" && le "${h_time:-99}" $((FTO + 1)); then
    pass "4: hanging responder: answered after ${h_time} s (fetch_timeout ${FTO}s)"
else fail "4: hanging responder: answered after ${h_time:-?} s (expected ~${FTO} s)"; fi
check_eq "4: the 60 suspended requests: all 401 revocation-unknown" \
    "$(cat "$WORK/hang-hang1.txt" "$WORK/hang-hang2.txt" | grep -c "^$V_DENY\$" || true)" 60
check_eq "4: one query per hanging certificate" "$(qcount hang1) $(qcount hang2)" "1 1"
d3 f-good "$A"; expect "4: after the hang: cached certificate" "$D3" good

# ---------------------------------------------------------------- 5: restart with a warm cache
stop_pid "$REAL_PID"              # the real responder is gone from here on
stop_pid "$A_PID"
check_eq "5: A exits 0 on SIGTERM" "$STOP_RC" 0
Q0=$(qtotal)
start_authd authd-restarted "$A" "${COMMON[@]}" --ocsp-failure deny --data-dir "$WORK/dA"
A_PID=$AUTHD_PID
WARM_GOOD=(rgood f-good f-good-nocerts f-delegate f-future-skew f-nonext order conc)
WARM_REV=(rrev f-revoked f-delegate-revoked f-revoked-stale)
[ "$RSLASH_OK" = 1 ] && WARM_GOOD+=(rslash)
for n in "${WARM_GOOD[@]}"; do d3 "$n" "$A"; expect "5: after restart, cached: $n" "$D3" good; done
for n in "${WARM_REV[@]}"; do d3 "$n" "$A"; expect "5: after restart, cached: $n" "$D3" revoked; done
requeried=$(awk -v q0="$Q0" '$1 == "ocsp" && ++n > q0 { print $2 }' "$FLOG" | sort | uniq -c | tr -s ' ' | tr '\n' ',')
check_eq "5: after restart: queries at the fault responder (by mode)" "${requeried:-none}" none
ng "$TLS_PORT" rgood; check_eq "5: after restart: good through nginx" "$NG" "200 ok"
ng "$TLS_PORT" rrev;  check_eq "5: after restart: revoked through nginx" "$NG" "401 revoked"
# responder down (the real one, stopped), a certificate never asked for
ng "$TLS_PORT" rlate;  check_eq "5: responder down, nginx -> A (deny)" "$NG" "401 revocation-unknown"
check_not_contains "5: responder down, deny: backend not reached" "$BODY" "subject="
ng "$TLS2_PORT" rlate; check_eq "5: responder down, nginx -> B (allow)" "$NG" "200 ok"
check_eq "5: responder down, allow: the backend got X-Authd-Revocation" "$(body_field revocation)" unchecked
check_eq "5: responder down, allow: the backend got the identity" "$(body_field subject)" "CN=ocsp-rlate,O=Example Corp"
ng "$TLS2_PORT" rgood; check_eq "5: B, good (cached) through nginx" "$NG" "200 ok"

# ---------------------------------------------------------------- 2 (end): back-off over
w=$(awk -v t="$T_FLAKY" -v n="$(now)" 'BEGIN { w = t + 32 - n; printf "%.1f", (w > 0 ? w : 0) }')
echo "    waiting ${w} s for the 30 s back-off of the flaky responder to end"
sleep "$w"
d3 n-flaky "$N";  expect "2: flaky responder after the back-off (N, deny): asked again" "$D3" good
d3 na-flaky "$NA"; expect "2: flaky responder after the back-off (NA, allow): asked again" "$D3" good
check_eq "2: flaky responder: queries (one failed, one good, per instance)" "$(qcount n-flaky) $(qcount na-flaky)" "2 2"

# ---------------------------------------------------------------- 6: serve -n
printf 'trust %s\nintermediates %s\nocsp chain\nocsp_responder http://127.0.0.1:%s/\nocsp_certid sha256\nocsp_skew 60s\nocsp_max_age 2d\nocsp_default_ttl 30m\nocsp_nonce on\nocsp_failure allow\nocsp_max_size 128k\n' \
    "$PKI/trust.pem" "$PKI/intermediates.pem" "$FPORT" > "$WORK/ok.conf"
out=$("$AUTHD_BIN" serve -n --config "$WORK/ok.conf" 2>&1) && rc=0 || rc=$?
check_eq "6: serve -n with every ocsp key: exit status" "$rc" 0
[ "$rc" = 0 ] || printf '%s\n' "$out" | head -5 | sed 's/^/    /'
printf 'trust %s\nocsp everything\nocsp_certid md5\nocsp_failure maybe\nocsp_nonce perhaps\nocsp_skew soon\nocsp_max_size 1\n' \
    "$PKI/trust.pem" > "$WORK/bad.conf"
out=$("$AUTHD_BIN" serve -n --config "$WORK/bad.conf" 2>&1) && rc=0 || rc=$?
check_eq "6: serve -n with bad ocsp values: exit status" "$rc" 2
for l in 2 3 4 5 6 7; do check_contains "6: bad ocsp value at $WORK/bad.conf:$l" "$out" "$WORK/bad.conf:$l:"; done
printf 'trust %s\nocsp leaf\nocsp_responder ftp://x/\n' "$PKI/trust.pem" > "$WORK/bad2.conf"
out=$("$AUTHD_BIN" serve -n --config "$WORK/bad2.conf" 2>&1) && rc=0 || rc=$?
check_eq "6: serve -n with ocsp_responder ftp://: exit status" "$rc" 2
check_contains "6: ocsp_responder ftp:// at file:line" "$out" "$WORK/bad2.conf:3:"

# ---------------------------------------------------------------- 7: pinned responder, offline response (authd check)
# check asks the responder itself (no fetch threads); stdout is the
# decision, the log goes to check7.err (scanned for sanitizer reports).
# The unrelated key's answers are refused unless that certificate is
# pinned with ocsp_signer.
SCAN_LOGS+=("$WORK/check7.err")
CK=(check --trust "$PKI/trust.pem" --intermediates "$PKI/intermediates.pem" --ocsp leaf)
out=$("$AUTHD_BIN" "${CK[@]}" --ocsp-responder "$F/unrelated" "$WORK/certs/rgood.pem" 2>>"$WORK/check7.err") && rc=0 || rc=$?
check_eq "7: check, unrelated signer, not pinned: exit" "$rc" 1
check_eq "7: check, unrelated signer, not pinned: first line" "$(head -n 1 <<<"$out")" "deny revocation-unknown"
out=$("$AUTHD_BIN" "${CK[@]}" --ocsp-responder "$F/unrelated" --ocsp-signer "$PKI/ocsp-unrelated.pem" \
    "$WORK/certs/rgood.pem" 2>>"$WORK/check7.err") && rc=0 || rc=$?
check_eq "7: check, unrelated signer pinned with ocsp_signer: exit" "$rc" 0
out=$("$AUTHD_BIN" "${CK[@]}" --ocsp-responder "$F/revoked" --ocsp-signer "$PKI/ocsp-unrelated.pem" \
    "$WORK/certs/rgood.pem" 2>>"$WORK/check7.err") && rc=0 || rc=$?
check_eq "7: check, revoked by the issuer while a signer is pinned: first line" "$(head -n 1 <<<"$out")" "deny revoked"
# --ocsp-response: a response made offline by openssl ocsp, no network.
openssl ocsp -issuer "$PKI/intermediate.pem" -cert "$WORK/certs/rrev.pem" -no_nonce -reqout "$WORK/rrev.req" >/dev/null 2>&1
openssl ocsp -index "$WORK/real/index.txt" -CA "$PKI/intermediate.pem" -rsigner "$PKI/ocsp-signer.pem" \
    -rkey "$PKI/ocsp-signer.key" -reqin "$WORK/rrev.req" -respout "$WORK/rrev.resp" -ndays 1 >/dev/null 2>&1
out=$("$AUTHD_BIN" "${CK[@]}" --ocsp-responder "http://127.0.0.1:$DEAD_PORT/" --ocsp-response "$WORK/rrev.resp" \
    "$WORK/certs/rrev.pem" 2>>"$WORK/check7.err") && rc=0 || rc=$?
check_eq "7: check --ocsp-response (revoked, made offline): first line" "$(head -n 1 <<<"$out")" "deny revoked"
check_contains "7: check --ocsp-response: the explanation names it" "$out" "--ocsp-response"
out=$("$AUTHD_BIN" "${CK[@]}" --ocsp-response "$WORK/rrev.resp" "$WORK/certs/rgood.pem" 2>>"$WORK/check7.err") && rc=0 || rc=$?
check_eq "7: check --ocsp-response about another certificate: first line" "$(head -n 1 <<<"$out")" "deny revocation-unknown"
out=$("$AUTHD_BIN" "${CK[@]}" --ocsp-response /nonexistent "$WORK/certs/rgood.pem" 2>>"$WORK/check7.err") && rc=0 || rc=$?
check_eq "7: check --ocsp-response with a missing file: exit" "$rc" 2

# ---------------------------------------------------------------- 8: revocation_order, ocsp_failure per rule set
# authd check with CRLs (scope leaf) and OCSP both on; --ocsp-responder
# points every certificate at one fault mode. int.crl.pem is the
# intermediate's current CRL (our leaves are not on it); root.crl.pem alone
# leaves the intermediate without a CRL (missing).
SCAN_LOGS+=("$WORK/check8.err")
CK8=(check --trust "$PKI/trust.pem" --intermediates "$PKI/intermediates.pem" --ocsp leaf --crl-scope leaf)
ck8() { out=$("$AUTHD_BIN" "${CK8[@]}" "$@" 2>>"$WORK/check8.err") && rc=0 || rc=$?; first=$(head -n 1 <<<"$out"); }
ck8 --crl "$PKI/crl/int.crl.pem" --ocsp-responder "$F/revoked" "$WORK/certs/rgood.pem"
check_eq "8: crl,ocsp (default): a current CRL decides, OCSP's 'revoked' not asked" "$rc $first" "0 allow"
check_contains "8: crl,ocsp: the explanation says the CRL answered" "$out" "answered by depth 0 CRL (revocation_order crl,ocsp)"
check_contains "8: crl,ocsp: the ocsp section says it was not asked" "$out" "depth 0: not asked"
ck8 --crl "$PKI/crl/int.crl.pem" --ocsp-responder "$F/revoked" --revocation-order "ocsp, crl" "$WORK/certs/rgood.pem"
check_eq "8: ocsp,crl: OCSP decides first: revoked" "$rc $first" "1 deny revoked"
check_contains "8: ocsp,crl: the explanation shows the responder, signer and times" "$out" "depth 0: revoked, asked $F/revoked, signed by"
check_contains "8: ocsp,crl: ... thisUpdate and nextUpdate" "$out" "nextUpdate 20"
ck8 --crl "$PKI/crl/int.crl.pem" --ocsp-responder "$F/http500" --revocation-order ocsp,crl "$WORK/certs/rgood.pem"
check_eq "8: ocsp,crl, responder failing (ocsp_failure deny): the CRL stands in" "$rc $first" "0 allow"
check_contains "8: ... and the explanation says so" "$out" "answered by depth 0 CRL"
ck8 --crl "$PKI/crl/root.crl.pem" --ocsp-responder "$F/good" "$WORK/certs/rgood.pem"
check_eq "8: crl,ocsp, no CRL from the issuer: OCSP stands in" "$rc $first" "0 allow"
check_contains "8: ... answered by OCSP" "$out" "answered by depth 0 OCSP"
ck8 --crl "$PKI/crl/int-expired.crl.pem" --ocsp-responder "$F/good" "$WORK/certs/rgood.pem"
check_eq "8: crl,ocsp, the CRL past nextUpdate: OCSP stands in" "$rc $first" "0 allow"
ck8 --crl "$PKI/crl/int-expired.crl.pem" --ocsp-responder "$F/http500" "$WORK/certs/rgood.pem"
check_eq "8: CRL expired and responder failing: the first source's reason" "$rc $first" "1 deny crl-expired"
ck8 --crl "$PKI/crl/root.crl.pem" --ocsp-responder "$F/http500" --ocsp-failure allow "$WORK/certs/rgood.pem"
check_eq "8: no CRL (crl_missing deny), responder failing (ocsp_failure allow): deny" "$rc $first" "1 deny revocation-unknown"
check_contains "8: ... both failures explained" "$out" "; then "
ck8 --crl "$PKI/crl/root.crl.pem" --ocsp-responder "$F/http500" --revocation-order ocsp,crl --crl-missing allow "$WORK/certs/rgood.pem"
check_eq "8: ocsp,crl: responder failing (ocsp_failure deny), no CRL (crl_missing allow): deny" "$rc $first" "1 deny revocation-unknown"
ck8 --crl "$PKI/crl/root.crl.pem" --ocsp-responder "$F/http500" --crl-missing allow "$WORK/certs/rgood.pem"
check_eq "8: crl,ocsp: the same failures the other way round: deny" "$rc $first" "1 deny revocation-unknown"
ck8 --crl "$PKI/crl/root.crl.pem" --ocsp-responder "$F/http500" --ocsp-failure allow --crl-missing allow "$WORK/certs/rgood.pem"
check_eq "8: both failures allowed: allow" "$rc $first" "0 allow"
check_contains "8: ... marked NOT CHECKED" "$out" "NOT CHECKED: allowed unchecked (ocsp_failure allow)"
ck8 --crl "$PKI/crl/int.crl.pem" --ocsp-responder "$F/revoked" --revocation-order crl,ocsp "$WORK/certs/rgood.pem"
check_eq "8: explicit crl,ocsp with both on: accepted" "$rc $first" "0 allow"
# per rule set
printf 'ruleset api { ocsp_failure allow\n  allow true }\nruleset admin { allow true }\nruleset strict {\n  ocsp_failure deny\n  allow true\n}\n' > "$WORK/rs.policy"
CK8=(check --trust "$PKI/trust.pem" --intermediates "$PKI/intermediates.pem" --ocsp leaf --policy "$WORK/rs.policy" --data-dir "$WORK/d8")
ck8 --ocsp-responder "$F/http500" --ruleset api "$WORK/certs/rgood.pem"
check_eq "8: ocsp_failure allow in rule set api (global deny): allow" "$rc $first" "0 allow"
check_contains "8: ... the explanation names the rule set" "$out" "(ocsp_failure allow in rule set api)"
ck8 --ocsp-responder "$F/http500" --ruleset admin "$WORK/certs/rgood.pem"
check_eq "8: rule set admin without its own setting: the global deny" "$rc $first" "1 deny revocation-unknown"
ck8 --ocsp-responder "$F/http500" --ruleset strict --ocsp-failure allow "$WORK/certs/rgood.pem"
check_eq "8: ocsp_failure deny in rule set strict (global allow): deny" "$rc $first" "1 deny revocation-unknown"
ck8 --ocsp-responder "$F/http500" --ocsp-failure allow "$WORK/certs/rgood.pem"
check_eq "8: no rule set asked (default, not defined): the global allow, then the policy" "$rc $first" "1 deny policy-deny"
ck8 --ocsp-responder "$F/revoked" --ruleset api "$WORK/certs/rgood.pem"
check_eq "8: rule set api, a revoked answer: still revoked" "$rc $first" "1 deny revoked"
# served: the rule set comes from X-Authd-Ruleset
RS_PORT=$(free_port); RS="127.0.0.1:$RS_PORT"
start_authd authd-rs "$RS" --trust "$PKI/trust.pem" --intermediates "$PKI/intermediates.pem" --ocsp leaf \
    --ocsp-responder "$F/http500" --policy "$WORK/rs.policy" --data-dir "$WORK/dRS" --fetch-timeout ${FTO}s
RS_PID=$LAST_PID
rsdec() {
    curl -sS --max-time 20 -o /dev/null -D - -H "@$WORK/certs/rgood.hdr" -H "X-SSL-Client-Verify: SUCCESS" \
        -H "X-Original-URI: /x" -H "X-Authd-Ruleset: $1" "http://$RS/auth" 2>/dev/null | tr -d '\r' |
        awk 'NR == 1 { c = $2 } tolower($1) == "x-authd-reason:" { r = $2 } tolower($1) == "x-authd-revocation:" { v = $2 }
             END { printf "%s %s %s\n", c, r, v ? v : "-" }'
}
check_eq "8: served, rule set api, responder failing: 200 unchecked" "$(rsdec api)" "200 ok unchecked"
check_eq "8: served, rule set admin, responder failing: 401" "$(rsdec admin)" "401 revocation-unknown -"
check_eq "8: served, rule set api again (soft-fail never cached)" "$(rsdec api)" "200 ok unchecked"
stop_pid "$RS_PID"; check_eq "8: authd-rs exits 0 on SIGTERM" "$STOP_RC" 0
# configuration errors
printf 'trust %s\nocsp leaf\ncrl %s\nrevocation_order ocsp\n' "$PKI/trust.pem" "$PKI/crl/int.crl.pem" > "$WORK/ro1.conf"
out=$("$AUTHD_BIN" serve -n --config "$WORK/ro1.conf" 2>&1) && rc=0 || rc=$?
check_eq "8: revocation_order ocsp with CRLs configured: exit" "$rc" 2
check_contains "8: ... at file:line" "$out" "$WORK/ro1.conf:4: revocation_order: CRLs are configured but would never be consulted"
printf 'trust %s\ncrl %s\nrevocation_order crl,ocsp\n' "$PKI/trust.pem" "$PKI/crl/int.crl.pem" > "$WORK/ro2.conf"
out=$("$AUTHD_BIN" serve -n --config "$WORK/ro2.conf" 2>&1) && rc=0 || rc=$?
check_contains "8: revocation_order naming ocsp while it is off" "$rc $out" "2 $WORK/ro2.conf:3: revocation_order: names ocsp, but ocsp is off"
printf 'trust %s\nocsp leaf\nrevocation_order sideways\n' "$PKI/trust.pem" > "$WORK/ro3.conf"
out=$("$AUTHD_BIN" serve -n --config "$WORK/ro3.conf" 2>&1) && rc=0 || rc=$?
check_contains "8: revocation_order with a bad value" "$rc $out" "2 $WORK/ro3.conf:3: revocation_order: expected crl,ocsp, ocsp,crl, crl or ocsp"
printf 'ruleset a { ocsp_failure sometimes allow true }\nruleset b { ocsp_failure deny ocsp_failure allow allow true }\n' > "$WORK/bad-rs.policy"
out=$("$AUTHD_BIN" policy check "$WORK/bad-rs.policy" 2>&1) && rc=0 || rc=$?
check_contains "8: policy check: ocsp_failure with a bad value" "$rc $out" "2 $WORK/bad-rs.policy:1:26: ocsp_failure: expected allow or deny"
check_contains "8: policy check: ocsp_failure twice" "$out" "$WORK/bad-rs.policy:2:31: ocsp_failure set twice in rule set 'b'"

# ---------------------------------------------------------------- 9: ocsp_responder per issuer
# refused2's AIA names a dead port; a responder routed by its issuer (the
# intermediate) answers instead; one routed for another CA does not apply.
CK9=(check --trust "$PKI/trust.pem" --intermediates "$PKI/intermediates.pem" --ocsp leaf)
ck9() { out=$("$AUTHD_BIN" "${CK9[@]}" "$@" 2>>"$WORK/check8.err") && rc=0 || rc=$?; first=$(head -n 1 <<<"$out"); }
ck9 --ocsp-responder "$F/good $PKI/intermediate.pem" "$WORK/certs/refused2.pem"
check_eq "9: ocsp_responder URL ISSUER: the issuer's responder answers" "$rc $first" "0 allow"
check_contains "9: ... and the explanation names it" "$out" "asked $F/good"
ck9 --ocsp-responder "$F/good $PKI/root.pem" "$WORK/certs/refused2.pem"
check_eq "9: a responder routed for another CA does not apply (AIA: dead)" "$rc $first" "1 deny revocation-unknown"
check_contains "9: ... the AIA URL was asked" "$out" "127.0.0.1:$DEAD_PORT"
mkdir -p "$WORK/conf9"; cp "$PKI/intermediate.pem" "$WORK/conf9/int.pem"
printf 'trust %s\nintermediates %s\nocsp leaf\nocsp_responder %s/revoked\nocsp_responder %s/good   int.pem\n' \
    "$PKI/trust.pem" "$PKI/intermediates.pem" "$F" "$F" > "$WORK/conf9/authd.conf"
out=$("$AUTHD_BIN" check --config "$WORK/conf9/authd.conf" "$WORK/certs/refused2.pem" 2>>"$WORK/check8.err") && rc=0 || rc=$?
check_eq "9: a per-issuer responder (file relative to the config) wins over the one for all" "$rc $(head -n 1 <<<"$out")" "0 allow"
# values refused while reading the file
printf 'trust %s\nocsp leaf\nocsp_responder gopher://x/\nocsp_responder %s/good a.pem b.pem\n' "$PKI/trust.pem" "$F" > "$WORK/conf9/bad1.conf"
out=$("$AUTHD_BIN" serve -n --config "$WORK/conf9/bad1.conf" 2>&1) && rc=0 || rc=$?
check_eq "9: bad ocsp_responder values: exit" "$rc" 2
check_contains "9: not an http URL, at file:line" "$out" "$WORK/conf9/bad1.conf:3: ocsp_responder: expected an http:// URL"
# refused when the configuration is put together
printf 'trust %s\nocsp leaf\nocsp_responder %s/revoked\nocsp_responder %s/good\n' "$PKI/trust.pem" "$F" "$F" > "$WORK/conf9/bad2.conf"
out2=$("$AUTHD_BIN" serve -n --config "$WORK/conf9/bad2.conf" 2>&1) && rc=0 || rc=$?
check_eq "9: two responders for every issuer: exit" "$rc" 2
check_contains "9: a second responder for every issuer, at file:line" "$out2" "$WORK/conf9/bad2.conf:4: ocsp_responder: a second responder for every issuer (the first is at $WORK/conf9/bad2.conf:3)"
printf 'trust %s\nocsp leaf\nocsp_responder %s/good missing.pem\nocsp_responder %s/good %s\nocsp_responder %s/good %s\n' \
    "$PKI/trust.pem" "$F" "$F" "$PKI/intermediate.pem" "$F" "$PKI/intermediate.pem" > "$WORK/conf9/bad3.conf"
out3=$("$AUTHD_BIN" serve -n --config "$WORK/conf9/bad3.conf" 2>&1) && rc=0 || rc=$?
check_eq "9: bad issuer files: exit" "$rc" 2
check_contains "9: a missing issuer file, at file:line" "$out3" "$WORK/conf9/bad3.conf:3: cannot read $WORK/conf9/missing.pem"
check_contains "9: the same issuer routed twice, at file:line" "$out3" "$WORK/conf9/bad3.conf:5: ocsp_responder: a certificate in $PKI/intermediate.pem is routed to a responder already"

# ---------------------------------------------------------------- 10: refresh ahead is paced
# An answer inside its refresh-ahead window from the start (the responder
# serves the same pre-signed kind of answer every time); no verdict cache,
# so every request reaches the OCSP table: the refresh is asked for at most
# once per back-off period, not on every request.
NC_PORT=$(free_port); NC="127.0.0.1:$NC_PORT"
start_authd authd-nocache "$NC" "${COMMON[@]}" --ocsp-failure deny --cache-size 0 --data-dir "$WORK/dNC"
NC_PID=$LAST_PID
ok10=0
for i in $(seq 1 12); do d3 nearexp "$NC"; [[ "$D3" =~ ^200\ ok ]] && ok10=$((ok10 + 1)); sleep 0.2; done
check_eq "10: 12 requests, answer near its nextUpdate, no verdict cache: all allowed" "$ok10" 12
check_eq "10: ... one query in the first 30 s (the refresh is paced)" "$(qcount nearexp)" 1
# /metrics (prometheus_client's parser): the same one query, by outcome
PYM=/usr/bin/python3; [ -x "$PYM" ] || PYM=python3
mout=$(curl -sS --max-time 5 "http://$NC/metrics" | "$PYM" -c '
import sys
from prometheus_client.parser import text_string_to_metric_families
v = {}
for fam in text_string_to_metric_families(sys.stdin.read()):
    for s in fam.samples:
        if s.name in ("authd_ocsp_queries_total", "authd_ocsp_query_duration_seconds_count", "authd_ocsp_cache_entries"):
            v[(s.name, s.labels.get("outcome", ""))] = int(s.value)
print("good=%d revoked=%d invalid=%d error=%d count=%d entries=%d" % (
    v.get(("authd_ocsp_queries_total", "good"), -1), v.get(("authd_ocsp_queries_total", "revoked"), -1),
    v.get(("authd_ocsp_queries_total", "invalid"), -1), v.get(("authd_ocsp_queries_total", "error"), -1),
    v.get(("authd_ocsp_query_duration_seconds_count", ""), -1), v.get(("authd_ocsp_cache_entries", ""), -1)))
' 2>&1)
check_eq "10: /metrics: OCSP queries by outcome, their latency count, the table size" "$mout" \
    "good=1 revoked=0 invalid=0 error=0 count=1 entries=1"
stop_pid "$NC_PID"; check_eq "10: authd-nocache exits 0 on SIGTERM" "$STOP_RC" 0

# ---------------------------------------------------------------- the end
for p in "$A_PID" "$B_PID" "$N_PID" "$NA_PID"; do
    if kill -0 "$p" 2>/dev/null; then :; else fail "authd ${PID_NAME[$p]} is gone"; fi
done
stop_authd
for p in "$B_PID" "$N_PID" "$NA_PID"; do
    stop_pid "$p"; check_eq "${PID_NAME[$p]} exits 0 on SIGTERM" "$STOP_RC" 0
done
stop_pid "$FAULT_PID"
echo "    fault responder: $(grep '^count ' "$FLOG" || echo 'no count'); modes asked: $(awk '$1 == "ocsp" { print $2 }' "$FLOG" | sort | uniq -c | tr -s ' ' | tr '\n' ',')"
if grep -q '^error ' "$FLOG"; then
    fail "fault responder saw requests it could not parse:"; grep '^error ' "$FLOG" | head -5 | sed 's/^/    /'
else pass "fault responder: every request was a valid OCSP request"; fi
