#!/usr/bin/env bash
# nginx reusing authd's answers (issue 14): contrib/nginx/authd-cache.conf
# in http {}, `set $authd_cache authd;` in protected locations, the keys
# authd-upstream.conf builds, through real nginx with real mTLS clients.
# Requests that reach authd are counted in its /metrics
# (authd_decisions_total); X-Test-Cache shows the client nginx's
# $authd_cache_status (test only).
#
#  1  a cached allow is served without reaching authd, with the identity
#     headers for the backend; the query is not part of the key
#  2  one certificate, two paths with different verdicts (an allow and a
#     deny rule's 403), both kept, never confused; another client is asked
#     about; a POST and a PUT are kept apart from the GET
#  3  per-client key ($authd_cache_scope client) for a rule set that reads
#     no request field: one answer for every path; the same key for a rule
#     set that reads the path: authd refuses reuse (X-Accel-Expires: 0) and
#     says so in its log
#  4  no certificate: asked every time
#  5  a client's own headers (X-Authd-*, X-Original-*, X-SSL-*,
#     X-Accel-Expires) change neither the key nor the answer
#  6  a request path of 4,000 bytes: the key fits (no 500)
#  7  a revocation (CRL replaced, SIGHUP) under a rule set with
#     decision_max_age 3s: the kept allow is served until it expires, then
#     401 revoked, within the rule set's 3 s
#  8  concurrent first requests (OCSP responder slow by 1.5 s): one request
#     to authd (proxy_cache_lock), every client allowed
#  9  revocation unchecked (ocsp_failure allow) and revocation-unknown
#     (responder down): asked every time
. "$(dirname "$0")/lib.bash"

AUTHD_PORT=$(free_port)
TLS_PORT=$(free_port)
BACKEND_PORT=$(free_port)
ECHO_PORT=$(free_port)
DEAD_PORT=$(free_port)
U="https://localhost:$TLS_PORT"
mkdir -p "$WORK/policy" "$WORK/crl"

POL="$WORK/policy/cache.policy"
cat > "$POL" <<'POLICY'
# nginx-cache.sh
ruleset default {
  deny  path prefix "/api/private/" reason "private"
  allow true
}
# reads no request field: its answers may be kept per client
ruleset people { allow subject.O == "Example Corp" }
ruleset quick {
  decision_max_age 3s
  allow true
}
ruleset soft {
  ocsp_failure allow
  allow true
}
POLICY
"$AUTHD_BIN" policy check "$POL" >"$WORK/policy-check.out" 2>"$WORK/policy-check.err"
SCAN_LOGS+=("$WORK/policy-check.err")
check_contains "policy check: default reads the path" "$(cat "$WORK/policy-check.out")" \
    "rule set default: reads the request's path: nginx may reuse its answers per request only (\$authd_cache_scope request)"
check_contains "policy check: people reads no request field" "$(cat "$WORK/policy-check.out")" \
    "rule set people: reads no request field: nginx may reuse its answers per client (\$authd_cache_scope client)"

CUR="$WORK/crl/current.pem"
cat "$PKI/crl/int.crl.pem" "$PKI/crl/root.crl.pem" > "$CUR"
authd_crl() {
    start_authd authd "127.0.0.1:$AUTHD_PORT" --trust "$PKI/trust.pem" --intermediates "$PKI/intermediates.pem" \
        --policy "$POL" --decision-max-age 60s --crl "$CUR" --crl-fetch off --watch-interval 0s \
        --data-dir "$WORK/data1"
}
authd_crl

# ---------------------------------------------------------------- nginx
nginx_setup "$WORK/nginx" "127.0.0.1:$AUTHD_PORT"
A="$NGX/authd"
# location PATH EXTRA: protected, answers kept (EXTRA: rule set, scope)
location() {
    cat <<LOCATION
    location $1 {
        set \$authd_cache authd;
$2
        include $A/authd-protect.conf;
        add_header X-Test-Cache "\$authd_cache_status" always;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_pass http://127.0.0.1:$ECHO_PORT;
    }
LOCATION
}
cat > "$NGX/cache-server.conf" <<SERVER
server {
    listen 127.0.0.1:$TLS_PORT ssl;
    ssl_certificate     $PKI/server-chain.pem;
    ssl_certificate_key $PKI/server.key;
    ssl_client_certificate $PKI/trust.pem;
    ssl_trusted_certificate $PKI/intermediates.pem;
    ssl_verify_client optional;
    ssl_verify_depth  5;
    include $A/authd.conf;
    add_header X-Test-Cache "\$authd_cache_status" always;

$(location /api/ "")
$(location /me/ "        set \$authd_ruleset people;
        set \$authd_cache_scope client;")
$(location /wrong/ "        set \$authd_cache_scope client;")
$(location /quick/ "        set \$authd_ruleset quick;")
$(location /lock/ "")
$(location /soft/ "        set \$authd_ruleset soft;")
}
server {
    listen 127.0.0.1:$ECHO_PORT;
    location / {
        return 200 "uri=\$request_uri\nsubject=\$http_x_authd_subject\nrevocation=\$http_x_authd_revocation\n";
    }
}
SERVER
nginx_conf root "$A/authd-cache.conf" "$NGX/cache-server.conf"
start_nginx "$TLS_PORT" "$ECHO_PORT"

C=(--cacert "$PKI/root.pem")
ALICE=(--cert "$PKI/client-chain.pem" --key "$PKI/client.key")
BOB=(--cert "$(chain client2)" --key "$PKI/client2.key")
DAVE=(--cert "$(chain smartcard)" --key "$PKI/smartcard.key")
ALICE_SUBJECT="CN=alice,OU=Engineering,O=Example Corp"

# decisions: how many requests authd has decided since it started
decisions() {
    authd_curl -sS --max-time 5 "/metrics" | awk '/^authd_decisions_total\{/ { s += $2 } END { print s + 0 }'
}
# got: "CODE REASON CACHE-STATUS" of the last req
got() { printf '%s %s %s' "$CODE" "$(hdr X-Authd-Reason)" "$(hdr X-Test-Cache)"; }

# ---------------------------------------------------------------- 1 a kept allow
N0=$(decisions)
req "${C[@]}" "${ALICE[@]}" "$U/api/a"
check_eq "alice /api/a: asked" "$(got)" "200 ok MISS"
req "${C[@]}" "${ALICE[@]}" "$U/api/a"
check_eq "alice /api/a again: kept" "$(got)" "200 ok HIT"
check_eq "alice /api/a kept: the backend gets the identity" "$(body_field subject)" "$ALICE_SUBJECT"
req "${C[@]}" "${ALICE[@]}" "$U/api/a?page=2"
check_eq "alice /api/a?page=2: the query is not in the key" "$(got)" "200 ok HIT"
check_eq "three requests, one reached authd" "$(( $(decisions) - N0 ))" 1

# ---------------------------------------------------------------- 2 paths, clients, methods
N0=$(decisions)
req "${C[@]}" "${ALICE[@]}" "$U/api/private/x"
check_eq "alice /api/private/x: the deny rule" "$(got)" "403 private MISS"
req "${C[@]}" "${ALICE[@]}" "$U/api/private/x"
check_eq "alice /api/private/x again: the refusal is kept too" "$(got)" "403 private HIT"
req "${C[@]}" "${ALICE[@]}" "$U/api/a"
check_eq "alice /api/a after it: still the allow" "$(got)" "200 ok HIT"
req "${C[@]}" "${BOB[@]}" "$U/api/a"
check_eq "bob /api/a: another certificate, asked" "$(got)" "200 ok MISS"
check_eq "bob /api/a: his own identity" "$(body_field subject)" "CN=bob,OU=Admins,O=Example Corp"
req "${C[@]}" "${ALICE[@]}" -X POST --data x=1 "$U/api/a"
check_eq "alice POST /api/a: not the GET's answer" "$(got)" "200 ok MISS"
req "${C[@]}" "${ALICE[@]}" -X POST --data x=1 "$U/api/a"
check_eq "alice POST /api/a again: kept" "$(got)" "200 ok HIT"
# nginx's auth subrequest is a GET whatever the client's method (so every
# method's answer can be kept); the key holds the client's method
req "${C[@]}" "${ALICE[@]}" -X PUT --data x=1 "$U/api/a"
check_eq "alice PUT /api/a: its own key" "$(got)" "200 ok MISS"
req "${C[@]}" "${ALICE[@]}" -X PUT --data x=1 "$U/api/a"
check_eq "alice PUT /api/a again: kept" "$(got)" "200 ok HIT"
check_eq "eight requests, four reached authd" "$(( $(decisions) - N0 ))" 4

# ---------------------------------------------------------------- 3 per-client key
N0=$(decisions)
req "${C[@]}" "${ALICE[@]}" "$U/me/1"
check_eq "alice /me/1 (client key): asked" "$(got)" "200 ok MISS"
req "${C[@]}" "${ALICE[@]}" "$U/me/2"
check_eq "alice /me/2: the same answer, kept" "$(got)" "200 ok HIT"
req "${C[@]}" "${BOB[@]}" "$U/me/1"
check_eq "bob /me/1: his own key" "$(got)" "200 ok MISS"
check_eq "bob /me/1: his own identity" "$(body_field subject)" "CN=bob,OU=Admins,O=Example Corp"
check_eq "/me/: three requests, two reached authd" "$(( $(decisions) - N0 ))" 2
N0=$(decisions)
req "${C[@]}" "${ALICE[@]}" "$U/wrong/1"
check_eq "alice /wrong/1 (client key, rule set reads the path): allowed" "$(got)" "200 ok MISS"
req "${C[@]}" "${ALICE[@]}" "$U/wrong/1"
check_eq "alice /wrong/1 again: not kept (X-Accel-Expires: 0)" "$(got)" "200 ok MISS"
check_eq "/wrong/: both reached authd" "$(( $(decisions) - N0 ))" 2
check_eq "authd says why, once" "$(grep -c "rule set \"default\": nginx caches its answers per \"client\"" "$AUTHD_LOG")" 1

# ---------------------------------------------------------------- 4 no certificate
N0=$(decisions)
req "${C[@]}" "$U/api/a"
check_eq "no certificate: refused, asked" "$(got)" "401 no-certificate MISS"
req "${C[@]}" "$U/api/a"
check_eq "no certificate again: asked again" "$(got)" "401 no-certificate MISS"
check_eq "no certificate: both reached authd" "$(( $(decisions) - N0 ))" 2

# ---------------------------------------------------------------- 5 a client's own headers
N0=$(decisions)
req "${C[@]}" "${ALICE[@]}" -H "X-Authd-Ruleset: people" -H "X-Authd-Cache-Scope: client" \
    -H "X-Accel-Expires: 99999" -H "X-Original-URI: /api/private/y" -H "X-SSL-Client-Verify: NONE" \
    -H "X-SSL-Client-Cert: x" "$U/api/c"
check_eq "alice /api/c with forged headers: her own answer" "$(got)" "200 ok MISS"
req "${C[@]}" "${ALICE[@]}" "$U/api/private/y"
check_eq "alice /api/private/y after it: its own key, refused" "$(got)" "403 private MISS"
req "${C[@]}" "${ALICE[@]}" -H "X-Authd-Cache-Scope: client" "$U/me/3"
check_eq "alice /me/3 with her own X-Authd-Cache-Scope: the location's key (kept)" "$(got)" "200 ok HIT"
check_eq "forged headers: two reached authd" "$(( $(decisions) - N0 ))" 2

# ---------------------------------------------------------------- 6 a long path
LONG="/api/$(printf 'x%.0s' $(seq 1 4000))"
req "${C[@]}" "${ALICE[@]}" "$U$LONG"
check_eq "alice, a 4,000-byte path: asked" "$(got)" "200 ok MISS"
req "${C[@]}" "${ALICE[@]}" "$U$LONG"
check_eq "alice, the 4,000-byte path again: kept" "$(got)" "200 ok HIT"

# ---------------------------------------------------------------- 7 a revocation
req "${C[@]}" "${ALICE[@]}" "$U/quick/x"
T0=$(date +%s.%N)
check_eq "alice /quick/x (decision_max_age 3s): asked" "$(got)" "200 ok MISS"
cat "$PKI/crl/int-revokes-alice.crl.pem" "$PKI/crl/root.crl.pem" > "$CUR.new" && mv "$CUR.new" "$CUR"
kill -HUP "$AUTHD_PID"
printf 'X-SSL-Client-Cert: %s\n' "$(escape_pem "$PKI/client.pem")" > "$WORK/alice.hdr"
for i in $(seq 1 50); do
    decide "$WORK/alice.hdr" "127.0.0.1:$AUTHD_PORT"
    [ "$D" = "401 revoked crl" ] && break
    sleep 0.05
done
check_eq "authd itself: alice revoked" "$D" "401 revoked crl"
req "${C[@]}" "${ALICE[@]}" "$U/quick/x"
HELD=$(awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
if awk -v h="$HELD" 'BEGIN { exit !(h < 1.8) }'; then
    check_eq "alice /quick/x ${HELD} s after: the kept allow until it expires" "$(got)" "200 ok HIT"
else
    fail "the CRL swap took ${HELD} s: too slow to see the kept answer (machine overloaded?)"
fi
GOT=
for i in $(seq 1 60); do
    req "${C[@]}" "${ALICE[@]}" "$U/quick/x"
    GOT=$(got)
    [ "$CODE" = 401 ] && break
    sleep 0.1
done
WAITED=$(awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
check_eq "alice /quick/x once the kept answer expired: revoked" "$GOT" "401 revoked EXPIRED"
if awk -v w="$WAITED" 'BEGIN { exit !(w >= 1.9 && w <= 4.5) }'; then
    pass "the revocation reached alice ${WAITED} s after her answer was kept (decision_max_age 3s)"
else
    fail "the revocation reached alice ${WAITED} s after her answer was kept, expected 2-4 s"
fi
stop_authd

# ---------------------------------------------------------------- 8 concurrent first requests
FLOG="$WORK/fault.log"
start_fault_responder fault "$FLOG" "$PKI/intermediate"
start_authd authd-ocsp "127.0.0.1:$AUTHD_PORT" --trust "$PKI/trust.pem" --intermediates "$PKI/intermediates.pem" \
    --policy "$POL" --decision-max-age 60s --ocsp leaf --ocsp-responder "http://127.0.0.1:$FAULT_PORT/slow1500" \
    --data-dir "$WORK/data2"
N0=$(decisions)
PIDS=()
for i in 1 2 3 4 5 6; do
    curl -sS --max-time 20 -o /dev/null -w '%{http_code}\n' "${C[@]}" "${DAVE[@]}" "$U/lock/x" > "$WORK/lock.$i" &
    PIDS+=($!)
done
wait "${PIDS[@]}"
check_eq "six concurrent first requests: all allowed" "$(cat "$WORK"/lock.? | sort | uniq -c | tr -s ' ')" " 6 200"
check_eq "six concurrent first requests: one reached authd" "$(( $(decisions) - N0 ))" 1
stop_authd

# ---------------------------------------------------------------- 9 unchecked, unknown
start_authd authd-dead "127.0.0.1:$AUTHD_PORT" --trust "$PKI/trust.pem" --intermediates "$PKI/intermediates.pem" \
    --policy "$POL" --decision-max-age 60s --ocsp leaf --ocsp-responder "http://127.0.0.1:$DEAD_PORT/" \
    --fetch-timeout 1s --data-dir "$WORK/data3"
N0=$(decisions)
req "${C[@]}" "${BOB[@]}" "$U/soft/x"
check_eq "bob /soft/x, responder down, ocsp_failure allow: allowed" "$(got)" "200 ok MISS"
check_eq "bob /soft/x: unchecked" "$(body_field revocation)" "unchecked"
req "${C[@]}" "${BOB[@]}" "$U/soft/x"
check_eq "bob /soft/x again: asked again" "$(got)" "200 ok MISS"
req "${C[@]}" "${BOB[@]}" "$U/api/unknown"
check_eq "bob /api/unknown, responder down: revocation-unknown" "$(got)" "401 revocation-unknown MISS"
req "${C[@]}" "${BOB[@]}" "$U/api/unknown"
check_eq "bob /api/unknown again: asked again" "$(got)" "401 revocation-unknown MISS"
check_eq "unchecked and unknown: all four reached authd" "$(( $(decisions) - N0 ))" 4
stop_authd

