#!/usr/bin/env bash
# X-Accel-Expires (issue 14, item 1): how long nginx may reuse each of
# authd's answers. Asked straight from authd: an allow for decision_max_age
# (and a rule set's own decision_max_age, and again from the verdict
# cache), a revoked certificate and a refused chain too, a certificate not
# yet valid until it is, and never an answer that depends on the moment:
# revocation unknown, revocation allowed unchecked, no certificate, a
# malformed one, a policy rule that could not be evaluated; nor one whose
# rule set reads the request when nginx keys it per client.
. "$(dirname "$0")/lib.bash"

PORT=$(free_port)
PORT2=$(free_port)
PORT3=$(free_port)
mkdir -p "$WORK/policy"
cat > "$WORK/policy/reuse.policy" <<'POLICY'
ruleset default { allow true }
ruleset short {
  decision_max_age 5s
  allow true
}
ruleset long {
  decision_max_age 1h
  allow true
}
ruleset odd { deny subject.CN == "bob" reason "no-bob"  allow true }
ruleset bypath { deny path prefix "/no/" reason "no"  allow true }
POLICY

# ask NAME ADDR CERT-FILE|- [HEADER...]: XA = the X-Accel-Expires value ("-": none)
ask() {
    local name=$1 addr=$2 cert=$3 out
    shift 3
    local hdrs=(-H "X-Original-URI: /x" -H "X-Original-Method: GET" -H "X-Original-Host: localhost")
    [ "$cert" = - ] || hdrs+=(-H "X-SSL-Client-Cert: $(escape_pem "$cert")" -H "X-SSL-Client-Verify: SUCCESS")
    out=$(curl -sS --max-time 10 -o /dev/null -D - "${hdrs[@]}" "$@" "http://$addr/auth" 2>/dev/null | tr -d '\r')
    XA=$(sed -n 's/^[Xx]-[Aa]ccel-[Ee]xpires: *//p' <<<"$out" | tail -n 1)
    XA=${XA:--}
    CODE=$(head -n 1 <<<"$out" | cut -d' ' -f2)
    REASON=$(sed -n 's/^[Xx]-[Aa]uthd-[Rr]eason: *//p' <<<"$out" | tail -n 1)
}
expect() {  # expect NAME WANT-CODE WANT-REASON WANT-XA
    check_eq "$1" "$CODE $REASON $XA" "$2 $3 $4"
}

# ---------------------------------------------------------------- no revocation, a policy
start_authd plain "127.0.0.1:$PORT" --trust "$PKI/trust.pem" --intermediates "$PKI/intermediates.pem" \
    --decision-max-age 30s --policy "$WORK/policy/reuse.policy"
# days_left may be read by a rule: at most until it changes (alice's
# certificate ends at a time of day: the bound is the seconds to that time)
END=$(date -u -d "$(openssl x509 -in "$PKI/client.pem" -noout -enddate | sed 's/^notAfter=//')" +%s)
DAYB=$(( (END - $(date +%s)) % 86400 + 1 ))
want() { local w=$1; [ "$DAYB" -lt "$w" ] && w=$DAYB; echo "$w"; }
ask "allow" "127.0.0.1:$PORT" "$PKI/client.pem"
W=$(want 30)
if [ "$XA" -le "$W" ] && [ "$XA" -ge $((W - 2)) ]; then pass "allow: X-Accel-Expires $XA (decision_max_age 30s)"
else fail "allow: X-Accel-Expires $XA, expected $W"; fi
ask "allow, again (the verdict cache)" "127.0.0.1:$PORT" "$PKI/client.pem"
if [ "$XA" -le "$W" ] && [ "$XA" -ge $((W - 3)) ] && [ "$CODE" = 200 ]; then pass "allow, cached: X-Accel-Expires $XA"
else fail "allow, cached: $CODE X-Accel-Expires $XA, expected about $W"; fi
ask "rule set with decision_max_age 5s" "127.0.0.1:$PORT" "$PKI/client.pem" -H "X-Authd-Ruleset: short"
expect "rule set with decision_max_age 5s" 200 ok "$(want 5)"
ask "rule set with decision_max_age 1h: the global 30s wins" "127.0.0.1:$PORT" "$PKI/client.pem" -H "X-Authd-Ruleset: long"
if [ "$XA" -le "$W" ] && [ "$XA" -ge $((W - 3)) ]; then pass "a rule set cannot raise decision_max_age ($XA)"
else fail "a rule set raised decision_max_age: $XA"; fi
ask "a deny rule" "127.0.0.1:$PORT" "$PKI/client2.pem" -H "X-Authd-Ruleset: odd"
if [ "$CODE $REASON" = "403 no-bob" ] && [ "$XA" -ge 1 ] && [ "$XA" -le 30 ]; then pass "a deny rule: reusable ($XA)"
else fail "a deny rule: $CODE $REASON $XA"; fi
# the key nginx keeps the answer under (X-Authd-Cache-Scope)
ask "client scope, a rule set reading no request field" "127.0.0.1:$PORT" "$PKI/client.pem" \
    -H "X-Authd-Ruleset: odd" -H "X-Authd-Cache-Scope: client"
if [ "$CODE" = 200 ] && [ "$XA" -le "$W" ] && [ "$XA" -ge $((W - 3)) ]; then pass "client scope, rule set reads the certificate only: reusable ($XA)"
else fail "client scope, rule set reads the certificate only: $CODE $XA, expected about $W"; fi
ask "client scope, a rule set reading the path" "127.0.0.1:$PORT" "$PKI/client.pem" \
    -H "X-Authd-Ruleset: bypath" -H "X-Authd-Cache-Scope: client"
expect "client scope, a rule set reading the path: never" 200 ok 0
ask "request scope, a rule set reading the path" "127.0.0.1:$PORT" "$PKI/client.pem" \
    -H "X-Authd-Ruleset: bypath" -H "X-Authd-Cache-Scope: request"
if [ "$CODE" = 200 ] && [ "$XA" -ge $((W - 3)) ]; then pass "request scope, rule set reads the path: reusable ($XA)"
else fail "request scope, rule set reads the path: $CODE $XA"; fi
ask "a scope authd does not know" "127.0.0.1:$PORT" "$PKI/client.pem" -H "X-Authd-Cache-Scope: url"
expect "a scope authd does not know: never" 200 ok 0
ask "untrusted" "127.0.0.1:$PORT" "$PKI/other-client.pem"
expect "untrusted: reusable for decision_max_age" 401 untrusted 30
ask "expired" "127.0.0.1:$PORT" "$PKI/expired.pem"
expect "expired: reusable" 401 expired 30
ask "not yet valid" "127.0.0.1:$PORT" "$PKI/notyet.pem"
expect "not yet valid (30 days ahead): reusable for decision_max_age" 401 not-yet-valid 30
ask "no certificate" "127.0.0.1:$PORT" -
expect "no certificate: never" 401 no-certificate 0
printf 'not a certificate' > "$WORK/junk.pem"
ask "malformed" "127.0.0.1:$PORT" "$WORK/junk.pem"
expect "malformed: never" 401 malformed-certificate 0
stop_authd

# ---------------------------------------------------------------- CRLs
start_authd crl "127.0.0.1:$PORT2" --trust "$PKI/trust.pem" --intermediates "$PKI/intermediates.pem" \
    --crl "$PKI/crl/int.crl.pem" --crl "$PKI/crl/root.crl.pem" --decision-max-age 30s --data-dir "$WORK/data2"
ask "revoked" "127.0.0.1:$PORT2" "$PKI/revoked.pem"
expect "revoked: reusable" 401 revoked 30
ask "allow with CRLs" "127.0.0.1:$PORT2" "$PKI/client.pem"
expect "allow with CRLs" 200 ok 30
stop_authd
start_authd crl-missing "127.0.0.1:$PORT2" --trust "$PKI/trust.pem" --intermediates "$PKI/intermediates.pem" \
    --crl "$PKI/crl/root.crl.pem" --crl-fetch off --decision-max-age 30s --data-dir "$WORK/data3"
ask "revocation unknown" "127.0.0.1:$PORT2" "$PKI/client.pem"
expect "revocation unknown: never" 401 revocation-unknown 0
stop_authd

# ---------------------------------------------------------------- OCSP soft-fail
DEAD=$(free_port)
start_authd ocsp "127.0.0.1:$PORT3" --trust "$PKI/trust.pem" --intermediates "$PKI/intermediates.pem" \
    --ocsp leaf --ocsp-responder "http://127.0.0.1:$DEAD/" --ocsp-failure allow --fetch-timeout 1s \
    --decision-max-age 30s --data-dir "$WORK/data4"
ask "unchecked" "127.0.0.1:$PORT3" "$PKI/client.pem"
check_eq "revocation unchecked (ocsp_failure allow): allowed, never reused" "$CODE $XA" "200 0"
stop_authd

# decision_max_age 0s: nothing is reusable
start_authd zero "127.0.0.1:$PORT" --trust "$PKI/trust.pem" --intermediates "$PKI/intermediates.pem" \
    --decision-max-age 0s
ask "decision_max_age 0s" "127.0.0.1:$PORT" "$PKI/client.pem"
expect "decision_max_age 0s: an allow is not reused" 200 ok 0
stop_authd
