#!/usr/bin/env bash
# Outbound fetches through an HTTP proxy, and a deadline on name
# resolution: real authd, real curl, the fault responder of
# ocsp-responder.c, a CRL distribution point (python3 -m http.server) and
# http-proxy.py (a loopback forward proxy that maps host names to loopback
# ports and logs "METHOD ABSOLUTE-URL STATUS" per request).
#
# Leaves are issued here by the PKI's intermediate (one shared key), their
# AIA OCSP URL or CRL distribution point naming either a host under .test
# that does not resolve (only the proxy knows it: an answer from behind it
# proves the request went through the proxy) or a loopback IP literal (the
# proxy forwards those too, so only its log tells whether it was used).
# Every authd runs with fetch_timeout 2s and ocsp_failure deny, from a
# configuration file, with no *_proxy variable in its environment unless
# a check sets one.
#
#  a  fetch_proxy http://127.0.0.1:PROXY: an OCSP responder named
#     ocsp.proxied.test answers good (200 ok, no X-Authd-Revocation) and
#     revoked (401 revoked ocsp); the proxy logged exactly one GET to the
#     AIA URL for each, the responder one query each, /metrics counts one
#     good and one revoked query; a CRL distribution point named
#     crl.proxied.test: 200 ok for one leaf, 401 revoked crl for a leaf
#     with a serial on that CRL, the proxy logged exactly one GET of the
#     CRL, the DP served it once, /metrics counts one fetch
#  b  no fetch_proxy, http_proxy=http://127.0.0.1:PROXY in authd's
#     environment: a leaf naming ocsp.envproxy.test is 200 ok, one GET
#     through the proxy; a loopback-literal responder goes through it as
#     well (so that the next check means something); with also
#     no_proxy=127.0.0.1 a loopback-literal responder is 200 ok, asked
#     once, and the proxy log gains no line
#  c  fetch_proxy none, http_proxy set in the environment: a
#     loopback-literal responder is 200 ok, asked once, the proxy log gains
#     no line
#  d  DNS deadline: authd in its own mount namespace (unshare -m) where
#     /etc/resolv.conf names 127.0.0.9 (timeout:30 attempts:1), a UDP
#     listener there that never answers; a leaf naming ocsp.blackhole.test:
#     the first request is 401 revocation-unknown after fetch_timeout (not
#     before 1.7 s, not after 3.5 s), the black hole saw the query, authd's
#     log names the URL and a resolution failure; a loopback-literal
#     responder is answered within 1 s both while that name is being
#     resolved and right after its deadline (nothing waits on the resolver
#     thread, still blocked for 30 s); /metrics counts two good queries and
#     one error; authd stops within 3 s while the resolver's query is still
#     unanswered.  A self-check first proves that a lookup in the namespace
#     reaches the black hole and waits.  unshare -m needs root: without it
#     this FAILS (it is never skipped).
# About 12 s (more under ASan); a resolver that is waited for makes it ~45 s.
. "$(dirname "$0")/lib.bash"

# Nothing from the caller's environment decides where fetches go.
unset http_proxy HTTP_PROXY https_proxy HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY

FTO=2                               # fetch_timeout, seconds
A1_PORT=$(free_port); A2_PORT=$(free_port); B1_PORT=$(free_port)
B2_PORT=$(free_port); C_PORT=$(free_port); D_PORT=$(free_port)
DP_PORT=$(free_port)
HOLE_IP=127.0.0.9                   # the black-hole name server
PYM=/usr/bin/python3; [ -x "$PYM" ] || PYM=python3
now() { date +%s.%N; }
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a <= b) }'; }
mkdir -p "$WORK/certs" "$WORK/dp"

# ---------------------------------------------------------------- responder, DP, proxy
FLOG="$WORK/fault.log"
start_fault_responder fault "$FLOG" "$PKI/intermediate"
FPORT=$FAULT_PORT

cp "$PKI/crl/int.crl.pem" "$WORK/dp/int.crl"      # the intermediate's CRL: revokes revoked.pem
DP_LOG="$WORK/dp.log"
bg dp "$DP_LOG" "$PYM" -u -m http.server --bind 127.0.0.1 --directory "$WORK/dp" "$DP_PORT"
for _ in $(seq 1 100); do port_busy "$DP_PORT" && break; sleep 0.1; done
port_busy "$DP_PORT" || { echo "$TEST_NAME: the CRL distribution point did not start:" >&2; cat "$DP_LOG" >&2; exit 2; }
dp_gets() { grep -c "\"GET $1 HTTP/1.1\" 200" "$DP_LOG" || true; }

PLOG="$WORK/proxy-requests.log"
: > "$PLOG"
bg proxy "$WORK/proxy.log" "$PYM" -u "$REPO/tests/integration/http-proxy.py" --log "$PLOG" --timeout 10 \
    --map "ocsp.proxied.test=127.0.0.1:$FPORT" --map "ocsp.envproxy.test=127.0.0.1:$FPORT" \
    --map "crl.proxied.test=127.0.0.1:$DP_PORT"
for _ in $(seq 1 100); do grep -q '^listening ' "$WORK/proxy.log" && break; sleep 0.1; done
PP=$(awk '/^listening /{ print $2; exit }' "$WORK/proxy.log")
[ -n "$PP" ] || { echo "$TEST_NAME: http-proxy.py did not start:" >&2; cat "$WORK/proxy.log" >&2; exit 2; }
PROXY="http://127.0.0.1:$PP"
# the fixture itself: the proxy reaches the responder by its mapped name
COUNT=$(curl -sS --max-time 5 --noproxy '' -x "$PROXY" "http://ocsp.proxied.test:$FPORT/count" 2>&1) || true
[[ "$COUNT" =~ ^[0-9]+ ]] || { echo "$TEST_NAME: the proxy does not reach the responder: '$COUNT'" >&2; cat "$WORK/proxy.log" >&2; exit 2; }

# pmark; pnew: the proxy's log lines since pmark, the OCSP request in a
# GET URL (after /MODE/) shown as <req>
PM=0
pmark() { PM=$(wc -l < "$PLOG"); }
pnew() { tail -n +$((PM + 1)) "$PLOG" | sed -E 's#^([A-Z]+ http://[^/ ]+/[a-z0-9-]+/)[^ ]+ #\1<req> #'; }

# ---------------------------------------------------------------- leaves
# mkleaf NAME EXTENSION [SERIAL]: SERIAL[NAME] its serial (hex), NAME.hdr
# the X-SSL-Client-Cert header
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$WORK/certs/leaf.key" 2>/dev/null
declare -A SERIAL=()
mkleaf() {
    local n=$1 ext=$2 d="$WORK/certs"
    SERIAL[$n]=${3:-1$(openssl rand -hex 8 | cut -c1-15 | tr a-f A-F)}
    printf '[v3]\nbasicConstraints = critical, CA:FALSE\nkeyUsage = critical, digitalSignature\nextendedKeyUsage = clientAuth\nsubjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid:always\n%s\n' \
        "$ext" > "$d/$n.ext"
    openssl req -new -key "$d/leaf.key" -subj "/O=Example Corp/CN=proxy-$n" -out "$d/$n.csr" 2>"$d/$n.err" &&
    openssl x509 -req -in "$d/$n.csr" -CA "$PKI/intermediate.pem" -CAkey "$PKI/intermediate.key" \
        -set_serial "0x${SERIAL[$n]}" -days 30 -sha256 -extfile "$d/$n.ext" -extensions v3 \
        -out "$d/$n.pem" 2>>"$d/$n.err" ||
        { echo "$TEST_NAME: cannot issue $n:" >&2; cat "$d/$n.err" >&2; exit 2; }
    printf 'X-SSL-Client-Cert: %s\n' "$(escape_pem "$d/$n.pem")" > "$d/$n.hdr"
}
aia() { printf 'authorityInfoAccess = OCSP;URI:%s' "$1"; }
mkleaf a-good "$(aia "http://ocsp.proxied.test:$FPORT/good")"
mkleaf a-rev  "$(aia "http://ocsp.proxied.test:$FPORT/revoked")"
CDP="http://crl.proxied.test:$DP_PORT/int.crl"
mkleaf a-crl  "crlDistributionPoints = URI:$CDP"
# the serial of revoked.pem, which int.crl lists: on this CRL (a CA never
# reuses a serial; here it tells a CRL answer from any other)
mkleaf a-crlrev "crlDistributionPoints = URI:$CDP" "$(cert_serial "$PKI/revoked.pem")"
mkleaf b-env  "$(aia "http://ocsp.envproxy.test:$FPORT/good")"
mkleaf b-lit  "$(aia "http://127.0.0.1:$FPORT/good")"
mkleaf b-noproxy "$(aia "http://127.0.0.1:$FPORT/good")"
mkleaf c-none "$(aia "http://127.0.0.1:$FPORT/good")"
mkleaf d-hole "$(aia "http://ocsp.blackhole.test:$FPORT/good")"
mkleaf d-lit  "$(aia "http://127.0.0.1:$FPORT/good")"
mkleaf d-lit2 "$(aia "http://127.0.0.1:$FPORT/good")"

# ---------------------------------------------------------------- helpers
# conf NAME LINE...: WORK/NAME.conf, the common keys and these lines
conf() {
    local n=$1; shift
    mkdir -p "$WORK/d-$n"
    { printf 'trust %s\nintermediates %s\ndata_dir %s\nwatch_interval 0s\nfetch_timeout %ss\n' \
        "$PKI/trust.pem" "$PKI/intermediates.pem" "$WORK/d-$n" "$FTO"
      printf '%s\n' "$@"; } > "$WORK/$n.conf"
    printf '%s' "$WORK/$n.conf"
}
OCSP=("ocsp leaf" "ocsp_failure deny")
# wrapper FILE CMD...: FILE execs CMD... AUTHD_BIN "$@" (the same pid all
# along: SIGTERM and the sanitizer log reach authd itself)
wrapper() {
    local f=$1; shift
    { printf '#!/bin/sh\nexec'; printf ' %q' "$@" "$AUTHD_BIN"; printf ' "$@"\n'; } > "$f"
    chmod 0755 "$f"
}
# start_via WRAPPER NAME ADDR ARGS...: start_authd with authd run by WRAPPER
start_via() {
    local real=$AUTHD_BIN rc=0
    AUTHD_BIN=$1; shift
    start_authd "$@" || rc=$?
    AUTHD_BIN=$real
    return "$rc"
}
# dec NAME ADDR: decide (lib.bash) with NAME's certificate
dec() { decide "$WORK/certs/$1.hdr" "$2" /proxy; }
# queries NAME: "MODE METHOD" of each fault-responder query about leaf NAME
queries() { awk -v s="serial=${SERIAL[$1]}" '$1 == "ocsp" && $4 == s { print $2, $3 }' "$FLOG"; }
# mvals ADDR METRIC OUTCOME...: "OUTCOME=VALUE ..." from /metrics
# (prometheus_client's parser; -1 when absent)
mvals() {
    local addr=$1; shift
    curl -sS --max-time 5 "http://$addr/metrics" | "$PYM" -c '
import sys
from prometheus_client.parser import text_string_to_metric_families
name, outcomes, v = sys.argv[1], sys.argv[2:], {}
for fam in text_string_to_metric_families(sys.stdin.read()):
    for s in fam.samples:
        if s.name == name:
            v[s.labels.get("outcome", "")] = int(s.value)
print(" ".join("%s=%d" % (o, v.get(o, -1)) for o in outcomes))
' "$@" 2>&1
}

# authd knows fetch_proxy?
for v in "$PROXY" none; do
    c=$(conf check "${OCSP[@]}" "fetch_proxy $v")
    if ! out=$("$AUTHD_BIN" serve -n --config "$c" 2>&1); then
        echo "$TEST_NAME: authd serve -n refused 'fetch_proxy $v':" >&2
        printf '%s\n' "$out" | sed 's/^/    /' >&2
        exit 2
    fi
done

# ---------------------------------------------------------------- a: fetch_proxy URL
A1="127.0.0.1:$A1_PORT"; A2="127.0.0.1:$A2_PORT"
start_authd authd-a1 "$A1" --config "$(conf a1 "${OCSP[@]}" "fetch_proxy $PROXY")"
A1_PID=$AUTHD_PID
pmark
dec a-good "$A1"
check_eq "a: fetch_proxy, AIA ocsp.proxied.test (resolves nowhere), good" "$D" "200 ok -"
check_eq "a: ... the proxy log: one GET to the AIA URL" "$(pnew)" "GET http://ocsp.proxied.test:$FPORT/good/<req> 200"
check_eq "a: ... the responder asked once, by GET" "$(queries a-good)" "good GET"
pmark
dec a-rev "$A1"
check_eq "a: fetch_proxy, AIA ocsp.proxied.test, revoked" "$D" "401 revoked ocsp"
check_eq "a: ... the proxy log: one GET to the AIA URL" "$(pnew)" "GET http://ocsp.proxied.test:$FPORT/revoked/<req> 200"
check_eq "a: ... the responder asked once, by GET" "$(queries a-rev)" "revoked GET"
check_eq "a: /metrics: OCSP queries by outcome" "$(mvals "$A1" authd_ocsp_queries_total good revoked invalid error)" \
    "good=1 revoked=1 invalid=0 error=0"
stop_pid "$A1_PID"; check_eq "a: authd-a1 exits 0 on SIGTERM" "$STOP_RC" 0

start_authd authd-a2 "$A2" --config "$(conf a2 "crl_scope leaf" "crl_fetch on" "fetch_proxy $PROXY")"
A2_PID=$AUTHD_PID
pmark
dec a-crl "$A2"
check_eq "a: fetch_proxy, CRL DP crl.proxied.test (resolves nowhere), not revoked" "$D" "200 ok -"
check_eq "a: ... the proxy log: one GET of the CRL" "$(pnew)" "GET $CDP 200"
check_eq "a: ... the DP served it once" "$(dp_gets /int.crl)" 1
pmark
dec a-crlrev "$A2"
check_eq "a: fetch_proxy, CRL DP crl.proxied.test, a serial on the CRL" "$D" "401 revoked crl"
check_eq "a: ... answered from the CRL fetched before: the proxy log gains no line" "$(pnew | wc -l)" 0
check_eq "a: /metrics: CRL fetches by outcome" "$(mvals "$A2" authd_crl_fetches_total fetched unchanged refused error)" \
    "fetched=1 unchanged=0 refused=0 error=0"
stop_pid "$A2_PID"; check_eq "a: authd-a2 exits 0 on SIGTERM" "$STOP_RC" 0

# ---------------------------------------------------------------- b: http_proxy, no_proxy
B1="127.0.0.1:$B1_PORT"; B2="127.0.0.1:$B2_PORT"
wrapper "$WORK/authd-env" env "http_proxy=$PROXY"
wrapper "$WORK/authd-env-noproxy" env "http_proxy=$PROXY" "no_proxy=127.0.0.1"
start_via "$WORK/authd-env" authd-b1 "$B1" --config "$(conf b1 "${OCSP[@]}")"
B1_PID=$AUTHD_PID
pmark
dec b-env "$B1"
check_eq "b: no fetch_proxy, http_proxy in the environment, AIA ocsp.envproxy.test" "$D" "200 ok -"
check_eq "b: ... the proxy log: one GET to the AIA URL" "$(pnew)" "GET http://ocsp.envproxy.test:$FPORT/good/<req> 200"
check_eq "b: ... the responder asked once" "$(queries b-env)" "good GET"
pmark
dec b-lit "$B1"
check_eq "b: the same, a loopback-literal responder" "$D" "200 ok -"
check_eq "b: ... through the proxy too (no implicit exception for 127.0.0.1)" "$(pnew)" \
    "GET http://127.0.0.1:$FPORT/good/<req> 200"
stop_pid "$B1_PID"; check_eq "b: authd-b1 exits 0 on SIGTERM" "$STOP_RC" 0

start_via "$WORK/authd-env-noproxy" authd-b2 "$B2" --config "$(conf b2 "${OCSP[@]}")"
B2_PID=$AUTHD_PID
pmark
dec b-noproxy "$B2"
check_eq "b: http_proxy and no_proxy=127.0.0.1, a loopback-literal responder" "$D" "200 ok -"
check_eq "b: ... the responder asked once" "$(queries b-noproxy)" "good GET"
check_eq "b: ... the proxy log gains no line" "$(pnew | wc -l)" 0
stop_pid "$B2_PID"; check_eq "b: authd-b2 exits 0 on SIGTERM" "$STOP_RC" 0

# ---------------------------------------------------------------- c: fetch_proxy none
C="127.0.0.1:$C_PORT"
start_via "$WORK/authd-env" authd-c "$C" --config "$(conf c "${OCSP[@]}" "fetch_proxy none")"
C_PID=$AUTHD_PID
pmark
dec c-none "$C"
check_eq "c: fetch_proxy none, http_proxy in the environment, a loopback-literal responder" "$D" "200 ok -"
check_eq "c: ... the responder asked once" "$(queries c-none)" "good GET"
check_eq "c: ... the proxy log gains no line" "$(pnew | wc -l)" 0
stop_pid "$C_PID"; check_eq "c: authd-c exits 0 on SIGTERM" "$STOP_RC" 0

# ---------------------------------------------------------------- d: DNS deadline
# The name server: reads queries, logs "query NAME QTYPE", never answers.
HOLE_LOG="$WORK/blackhole.log"
bg blackhole "$HOLE_LOG" "$PYM" -u -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 53))
print("ready", flush=True)
while True:
    d, _ = s.recvfrom(4096)
    i, labels = 12, []
    while i < len(d) and d[i] and len(labels) < 64:
        labels.append(d[i + 1:i + 1 + d[i]].decode("ascii", "replace")); i += 1 + d[i]
    qtype = int.from_bytes(d[i + 1:i + 3], "big") if i + 3 <= len(d) else 0
    print("query %s %d" % (".".join(labels), qtype), flush=True)
' "$HOLE_IP"
printf 'nameserver %s\noptions timeout:30 attempts:1\n' "$HOLE_IP" > "$WORK/resolv.conf"
NS=(unshare -m sh -c 'mount --bind "$0" /etc/resolv.conf && exec "$@"' "$WORK/resolv.conf")
for _ in $(seq 1 50); do grep -q '^ready' "$HOLE_LOG" && break; sleep 0.1; done
D_OK=1
if ! out=$(unshare -m true 2>&1); then
    fail "d: 'unshare -m true' failed (root with CAP_SYS_ADMIN needed), the DNS deadline is NOT tested: $out"
    D_OK=0
elif ! grep -q '^ready' "$HOLE_LOG"; then
    fail "d: the black-hole name server did not start on $HOLE_IP:53, the DNS deadline is NOT tested: $(head -c 400 "$HOLE_LOG")"
    D_OK=0
else
    # the fixture: in such a namespace a lookup reaches the black hole and
    # waits there
    "${NS[@]}" getent hosts selfcheck.blackhole.test > "$WORK/getent.out" 2>&1 &
    G=$!
    for _ in $(seq 1 50); do grep -q '^query selfcheck\.blackhole\.test ' "$HOLE_LOG" && break; sleep 0.1; done
    if grep -q '^query selfcheck\.blackhole\.test ' "$HOLE_LOG" && kill -0 "$G" 2>/dev/null; then
        pass "d: fixture: in the namespace a lookup reaches $HOLE_IP and is never answered"
    else
        fail "d: fixture: a lookup in the namespace did not reach $HOLE_IP or returned ($(head -c 300 "$WORK/getent.out")), the DNS deadline is NOT tested"
        D_OK=0
    fi
    kill "$G" 2>/dev/null || true
    wait "$G" 2>/dev/null || true
fi
if [ "$D_OK" = 1 ]; then
    D_ADDR="127.0.0.1:$D_PORT"
    wrapper "$WORK/authd-ns" "${NS[@]}"
    start_via "$WORK/authd-ns" authd-d "$D_ADDR" --config "$(conf d "${OCSP[@]}")"
    D_LOG=$AUTHD_LOG
    # d-hole in the background; meanwhile a loopback-literal responder
    ( dec d-hole "$D_ADDR"; printf '%s\n%s\n' "$D" "$DT" > "$WORK/d-hole.out" ) &
    HP=$!
    sleep 0.3
    dec d-lit "$D_ADDR"
    check_eq "d: while ocsp.blackhole.test is being resolved, a loopback-literal responder" "$D" "200 ok -"
    if le "$DT" 1; then pass "d: ... answered in ${DT} s"; else fail "d: ... took ${DT} s (expected <= 1 s)"; fi
    wait "$HP" || true
    { read -r D; read -r DT; } < "$WORK/d-hole.out" || { D="000 - -"; DT=99; }
    check_eq "d: AIA ocsp.blackhole.test, the name server never answers: first request" "${D% *}" "401 revocation-unknown"
    # not before fetch_timeout (a quick failure would prove nothing), not
    # much after it
    LO=$(awk -v f="$FTO" 'BEGIN { print f - 0.3 }'); HI=$(awk -v f="$FTO" 'BEGIN { print f + 1.5 }')
    if le "$LO" "$DT" && le "$DT" "$HI"; then
        pass "d: ... answered after ${DT} s (fetch_timeout ${FTO}s; the resolver alone would wait 30 s)"
    else
        fail "d: ... answered after ${DT} s (fetch_timeout ${FTO}s: expected $LO-$HI s)"
    fi
    check_contains "d: ... the black hole was asked for ocsp.blackhole.test" "$(cat "$HOLE_LOG")" "query ocsp.blackhole.test "
    line=$(grep -F "http://ocsp.blackhole.test:$FPORT/good: " "$D_LOG" | head -n 1 || true)
    check_contains "d: ... authd's log names the URL and a resolution failure" "${line,,}" "resolv"
    # once the deadline has passed, nothing waits on the resolver thread
    # (still blocked in getaddrinfo for 30 s): the next fetch goes at once
    dec d-lit2 "$D_ADDR"
    check_eq "d: right after the resolution timed out, a loopback-literal responder" "$D" "200 ok -"
    if le "$DT" 1; then pass "d: ... answered in ${DT} s"; else fail "d: ... took ${DT} s (expected <= 1 s: is the resolver thread waited for?)"; fi
    check_eq "d: /metrics: OCSP queries by outcome" "$(mvals "$D_ADDR" authd_ocsp_queries_total good error)" "good=2 error=1"
    # the resolver's query is still unanswered (30 s): stopping must not wait for it
    t0=$(now)
    stop_authd
    T_STOP=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }')
    if le "$T_STOP" 3; then pass "d: authd stopped in ${T_STOP} s with a lookup still unanswered"
    else fail "d: authd took ${T_STOP} s to stop (a lookup still unanswered: expected <= 3 s)"; fi
fi

stop_pid "$FAULT_PID"
if grep -q '^error ' "$FLOG"; then
    fail "fault responder saw requests it could not parse:"; grep '^error ' "$FLOG" | head -5 | sed 's/^/    /'
else pass "fault responder: every request was a valid OCSP request"; fi
