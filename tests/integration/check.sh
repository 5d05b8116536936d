#!/usr/bin/env bash
# `authd check` (offline decision on a certificate file) and
# `authd serve -n` (configuration check).
. "$(dirname "$0")/lib.bash"

# run_check NAME ARGS...: runs authd check, sets RC, OUT (stdout), FIRST
# (its first line), ERR (stderr)
nc=0
run_check() {
    nc=$((nc + 1))
    local name=$1; shift
    local out="$WORK/check-$nc.out" err="$WORK/check-$nc.err"
    SCAN_LOGS+=("$err")
    RC=0
    timeout 30 "$AUTHD_BIN" "$@" >"$out" 2>"$err" || RC=$?
    OUT=$(cat "$out"); ERR=$(cat "$err")
    FIRST=$(head -n 1 "$out")
}
# expect_check NAME RC FIRSTLINE ARGS...
expect_check() {
    local name=$1 rc=$2 first=$3; shift 3
    run_check "$name" "$@"
    if [ "$RC" = "$rc" ] && [ "$FIRST" = "$first" ]; then
        pass "$name (exit $RC, '$FIRST')"
    else
        fail "$name: got exit $RC, first line '$FIRST', expected exit $rc, '$first'; stderr: $(head -c 400 <<<"$ERR")"
    fi
}
T=(--trust "$PKI/trust.pem" --intermediates "$PKI/intermediates.pem")

expect_check "check alice"              0 "allow"                        check "${T[@]}" "$PKI/client.pem"
expect_check "check bob"                0 "allow"                        check "${T[@]}" "$PKI/client2.pem"
expect_check "check carol (no EKU)"     0 "allow"                        check "${T[@]}" "$PKI/noeku.pem"
expect_check "check mallory (other CA)" 1 "deny untrusted"               check "${T[@]}" "$PKI/other-client.pem"
expect_check "check expired"            1 "deny expired"                 check "${T[@]}" "$PKI/expired.pem"
expect_check "check notyet"             1 "deny not-yet-valid"           check "${T[@]}" "$PKI/notyet.pem"
expect_check "check server-only"        1 "deny wrong-purpose"           check "${T[@]}" "$PKI/server-only.pem"
expect_check "check CA as leaf"         1 "deny wrong-purpose"           check "${T[@]}" "$PKI/intermediate.pem"
expect_check "check alice without intermediates" 1 "deny untrusted"      check --trust "$PKI/trust.pem" "$PKI/client.pem"
openssl x509 -in "$PKI/client.pem" -outform DER -out "$WORK/client.der"
expect_check "check alice as DER"       0 "allow"                        check "${T[@]}" "$WORK/client.der"
openssl x509 -in "$PKI/expired.pem" -outform DER -out "$WORK/expired.der"
expect_check "check expired as DER"     1 "deny expired"                 check "${T[@]}" "$WORK/expired.der"
head -c 700 /dev/urandom > "$WORK/junk.bin"
expect_check "check junk file"          1 "deny malformed-certificate"   check "${T[@]}" "$WORK/junk.bin"
expect_check "check private key file"   1 "deny malformed-certificate"   check "${T[@]}" "$PKI/client.key"
expect_check "check CSR file"           1 "deny malformed-certificate"   check "${T[@]}" "$PKI/csr.pem"
: > "$WORK/empty.pem"
run_check "check empty file" check "${T[@]}" "$WORK/empty.pem"
if [ "$RC" = 1 ] && [[ "$FIRST" == "deny "* ]]; then pass "check empty file (exit 1, '$FIRST')"; else fail "check empty file: got exit $RC '$FIRST', expected exit 1 'deny ...'"; fi

# purposes
expect_check "check server cert, --purpose server" 0 "allow"             check "${T[@]}" --purpose server "$PKI/server.pem"
expect_check "check server cert, default purpose"  1 "deny wrong-purpose" check "${T[@]}" "$PKI/server.pem"
expect_check "check alice, --purpose server"       1 "deny wrong-purpose" check "${T[@]}" --purpose server "$PKI/client.pem"
expect_check "check server-only, --purpose any"    0 "allow"             check "${T[@]}" --purpose any "$PKI/server-only.pem"

# --at moves the clock
epoch_of() { date -u -d "$(openssl x509 -in "$1" -noout "-$2" | sed 's/^[^=]*=//')" +%s; }
ALICE_END=$(epoch_of "$PKI/client.pem" enddate)
EXP_START=$(epoch_of "$PKI/expired.pem" startdate)
NOTYET_START=$(epoch_of "$PKI/notyet.pem" startdate)
rfc3339() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }
expect_check "check alice --at notAfter+1d (unix seconds)" 1 "deny expired"   check "${T[@]}" --at "$((ALICE_END + 86400))" "$PKI/client.pem"
expect_check "check alice --at notAfter+1d (RFC 3339)"     1 "deny expired"   check "${T[@]}" --at "$(rfc3339 $((ALICE_END + 86400)))" "$PKI/client.pem"
expect_check "check alice --at notAfter-1h"                0 "allow"          check "${T[@]}" --at "$(rfc3339 $((ALICE_END - 3600)))" "$PKI/client.pem"
expect_check "check expired --at a day inside its validity" 0 "allow"         check "${T[@]}" --at "$((EXP_START + 86400))" "$PKI/expired.pem"
expect_check "check notyet --at a day after its notBefore" 0 "allow"          check "${T[@]}" --at "$(rfc3339 $((NOTYET_START + 86400)))" "$PKI/notyet.pem"
expect_check "check alice --at 2 days ago (before notBefore)" 1 "deny not-yet-valid" check "${T[@]}" --at "$(( $(date +%s) - 2 * 86400 ))" "$PKI/client.pem"
run_check "check --at garbage" check "${T[@]}" --at "yesterday-ish" "$PKI/client.pem"
check_eq "check --at garbage: exit" "$RC" 2

# explanation and JSON
run_check "check expired (explanation)" check "${T[@]}" "$PKI/expired.pem"
if [ "$(printf '%s\n' "$OUT" | wc -l)" -ge 2 ]; then pass "check expired: explanation after the first line"
else fail "check expired: no explanation after the first line: $OUT"; fi
for f in client expired other-client; do
    run_check "check --json $f" check "${T[@]}" --json "$PKI/$f.pem"
    if command -v python3 >/dev/null; then
        if printf '%s' "$OUT" | python3 -m json.tool >/dev/null 2>&1; then pass "check --json $f: valid JSON (exit $RC)"
        else fail "check --json $f: not valid JSON: $(head -c 300 <<<"$OUT")"; fi
    else
        skip "check --json $f (python3 not installed)"
    fi
done
run_check "check --json alice" check "${T[@]}" --json "$PKI/client.pem"
check_eq "check --json alice: exit" "$RC" 0
run_check "check --json mallory" check "${T[@]}" --json "$PKI/other-client.pem"
check_eq "check --json mallory: exit" "$RC" 1
check_contains "check --json mallory mentions the reason" "$OUT" "untrusted"

# smart-card identities (issue 13): what the policy sees as san.upn,
# san.fascn and san.uuid
run_check "check smartcard" check "${T[@]}" "$PKI/smartcard.pem"
check_eq "check smartcard: exit" "$RC" 0
check_contains "check smartcard: the UPN" "$OUT" "  upn        dave@corp.example.com"
check_contains "check smartcard: the FASC-N, hex" "$OUT" \
    "  fascn      d4e739da739ced39ce739d836858210842108421c84210c3eb"
check_contains "check smartcard: the card's UUID, lowercase" "$OUT" "  uuid       f81d4fae-7dec-11d0-a765-00a0c91e6bf6"
check_not_contains "check alice: no smart-card lines" "$(timeout 30 "$AUTHD_BIN" check "${T[@]}" "$PKI/client.pem" 2>/dev/null)" "  upn "
run_check "check --json smartcard" check "${T[@]}" --json "$PKI/smartcard.pem"
check_eq "check --json smartcard: upn, fascn, uuid" \
    "$(printf '%s' "$OUT" | python3 -c 'import json, sys; c = json.load(sys.stdin)["certificate"]; print(c["upn"], c["fascn"], c["uuid"])')" \
    "['dave@corp.example.com'] ['d4e739da739ced39ce739d836858210842108421c84210c3eb'] ['f81d4fae-7dec-11d0-a765-00a0c91e6bf6']"

# certificate policies (issue 13, RFC 5280 6.1): tests/pki/gen.sh's pcy/
PIV_AUTH=2.16.840.1.101.3.2.1.3.13
BRIDGE_MED=1.3.6.1.4.1.99999.9.1
PT=(--trust "$PKI/pcy/root.pem" --intermediates "$PKI/pcy/intermediates.pem")
BT=(--trust "$PKI/pcy/bridge-root.pem" --intermediates "$PKI/pcy/bridge-intermediates.pem")
expect_check "check pcy: PIV leaf, no settings"        0 "allow" check "${PT[@]}" "$PKI/pcy/piv.pem"
expect_check "check pcy: no policy under requireExplicitPolicy" 1 "deny policy-not-accepted" \
    check "${PT[@]}" "$PKI/pcy/strict-none.pem"
expect_check "check pcy: PIV under requireExplicitPolicy" 0 "allow" check "${PT[@]}" "$PKI/pcy/strict-piv.pem"
expect_check "check pcy: require_policy PIV, PIV leaf" 0 "allow" check "${PT[@]}" --require-policy "$PIV_AUTH" "$PKI/pcy/piv.pem"
expect_check "check pcy: require_policy PIV, low leaf" 1 "deny policy-not-accepted" \
    check "${PT[@]}" --require-policy "$PIV_AUTH" "$PKI/pcy/low.pem"
expect_check "check pcy: explicit_policy, no policy"   1 "deny policy-not-accepted" \
    check "${PT[@]}" --explicit-policy on "$PKI/pcy/none.pem"
expect_check "check pcy: explicit_policy, low leaf"    0 "allow" check "${PT[@]}" --explicit-policy on "$PKI/pcy/low.pem"
expect_check "check pcy: inhibit_any_policy, PIV under an anyPolicy CA" 1 "deny policy-not-accepted" \
    check "${PT[@]}" --inhibit-any-policy on --explicit-policy on "$PKI/pcy/strict-piv.pem"
run_check "check pcy: the valid set" check "${PT[@]}" "$PKI/pcy/piv.pem"
check_contains "check pcy: the valid set is PIV" "$OUT" "policies     accepted"$'\n'"  valid      $PIV_AUTH"
expect_check "check bridge: require_policy bridge-medium, PIV leaf" 0 "allow" \
    check "${BT[@]}" --require-policy "$BRIDGE_MED" "$PKI/pcy/piv.pem"
check_contains "check bridge: PIV mapped to bridge-medium" "$OUT" "  valid      $BRIDGE_MED"
check_contains "check bridge: four certificates, the cross-certificate among them" "$OUT" \
    "  2  CN=authd Policy Root CA,O=authd tests"
expect_check "check bridge: require_policy PIV (the leaf's domain), PIV leaf" 1 "deny policy-not-accepted" \
    check "${BT[@]}" --require-policy "$PIV_AUTH" "$PKI/pcy/piv.pem"
expect_check "check bridge: inhibit_policy_mapping" 1 "deny policy-not-accepted" \
    check "${BT[@]}" --require-policy "$BRIDGE_MED" --inhibit-policy-mapping on "$PKI/pcy/piv.pem"
run_check "check --json bridge" check "${BT[@]}" --json --require-policy "$BRIDGE_MED" "$PKI/pcy/piv.pem"
check_eq "check --json bridge: policies" \
    "$(printf '%s' "$OUT" | python3 -c 'import json, sys; p = json.load(sys.stdin)["policies"]; print(p["result"], p["explicit_required"], p["valid"])')" \
    "accepted True ['$BRIDGE_MED']"
cat > "$WORK/pcy.policy" <<POLICY
ruleset default { allow true }
ruleset piv { require_policy $PIV_AUTH allow true }
POLICY
run_check "check pcy: rule sets' own settings" check "${PT[@]}" --policy "$WORK/pcy.policy" "$PKI/pcy/low.pem"
check_contains "check pcy: rule set piv refuses the low leaf" "$OUT" "  rule set piv: not accepted"

# an issuing CA as the only anchor (issue 13): trust_partial
expect_check "check issuing CA as anchor, trust_partial off" 1 "deny untrusted" \
    check --trust "$PKI/pcy/ca.pem" "$PKI/pcy/piv.pem"
check_contains "check issuing CA as anchor, trust_partial off: says why" "$ERR" "is not self-signed"
expect_check "check issuing CA as anchor, trust_partial on" 0 "allow" \
    check --trust "$PKI/pcy/ca.pem" --trust-partial on "$PKI/pcy/piv.pem"
check_contains "check issuing CA as anchor: the chain ends at it" "$OUT" \
    "  1  CN=authd Policy Issuing CA,O=authd tests"
expect_check "check issuing CA as anchor: its sibling's leaf" 1 "deny untrusted" \
    check --trust "$PKI/pcy/ca.pem" --trust-partial on --intermediates "$PKI/pcy/intermediates.pem" "$PKI/pcy/strict-piv.pem"

# two candidate issuers, the first name-constrained (issue 13): paths/
expect_check "check twins: the second candidate path verifies" 0 "allow" \
    check --trust "$PKI/root.pem" --intermediates "$PKI/paths/twins.pem" "$PKI/paths/leaf.pem"
check_contains "check twins: path 1 fails on the name constraint" "$OUT" "  path 1: CN=authd Twin CA,O=authd tests [sha256 "
check_contains "check twins: path 1's reason" "$OUT" "permitted subtree violation"
check_contains "check twins: path 2 verifies" "$OUT" "O=authd tests [sha256 $(openssl x509 -in "$PKI/root.pem" -outform DER | sha256sum | cut -c1-8)]: ok"
expect_check "check twins: the name-constrained one alone" 1 "deny untrusted" \
    check --trust "$PKI/root.pem" --intermediates "$PKI/paths/twin-nc.pem" "$PKI/paths/leaf.pem"
check_not_contains "check twins: one candidate, no paths section" "$OUT" "path 1:"

# a CA certificate revoked, the same CA certified again beside it (issue 13)
TWIN_CRLS=(--crl "$PKI/paths/root-revokes-twin.crl.pem" --crl "$PKI/paths/twin.crl.pem")
expect_check "check twins-rev: the revoked twin first, the other path stands" 0 "allow" \
    check --trust "$PKI/root.pem" --intermediates "$PKI/paths/twins-rev.pem" "${TWIN_CRLS[@]}" "$PKI/paths/leaf.pem"
expect_check "check twins-rev: the revoked twin alone" 1 "deny revoked" \
    check --trust "$PKI/root.pem" --intermediates "$PKI/paths/twin-rev.pem" "${TWIN_CRLS[@]}" "$PKI/paths/leaf.pem"
check_contains "check twins-rev: the revoked one named" "$OUT" "CN=authd Twin CA,O=authd tests (depth 1) is revoked"

# usage and configuration errors: exit 2
run_check "check missing trust file" check --trust "$WORK/nonexistent.pem" "$PKI/client.pem"
check_eq "check with a missing trust file: exit" "$RC" 2
run_check "check missing certificate file" check "${T[@]}" "$WORK/nonexistent-cert.pem"
check_eq "check with a missing certificate file: exit" "$RC" 2
run_check "check no certificate argument" check "${T[@]}"
check_eq "check without a certificate argument: exit" "$RC" 2
run_check "check unknown option" check "${T[@]}" --no-such-option "$PKI/client.pem"
check_eq "check with an unknown option: exit" "$RC" 2
run_check "check bad purpose" check "${T[@]}" --purpose email "$PKI/client.pem"
check_eq "check --purpose email: exit" "$RC" 2

# check --config
cat > "$WORK/check.conf" <<CONF
# trust store for authd check
trust $PKI/trust.pem
intermediates $PKI/intermediates.pem
CONF
expect_check "check --config alice" 0 "allow"          check --config "$WORK/check.conf" "$PKI/client.pem"
expect_check "check --config mallory" 1 "deny untrusted" check --config "$WORK/check.conf" "$PKI/other-client.pem"

# ------------------------------------------------------------ serve -n
cat > "$WORK/good.conf" <<CONF
# a good configuration
listen 127.0.0.1:9180      # trailing comment
threads 2
trust $PKI/trust.pem
intermediates $PKI/intermediates.pem
verify-depth 5
cache_size 1000
cache-ttl 10m
log-level info
CONF
run_check "serve -n good" serve --config "$WORK/good.conf" -n
check_eq "serve -n with a good config: exit" "$RC" 0

cat > "$WORK/inc.conf" <<CONF
intermediates $PKI/intermediates.pem
CONF
cat > "$WORK/good-include.conf" <<CONF
trust $PKI/trust.pem
include $WORK/inc.conf
CONF
run_check "serve -n good with include" serve --config "$WORK/good-include.conf" -n
check_eq "serve -n with include: exit" "$RC" 0

run_check "serve -n command-line only" serve -n --trust "$PKI/trust.pem" --cache-ttl 30s --verify_depth 4
check_eq "serve -n with options only (dash/underscore mix): exit" "$RC" 0

# bad_config NAME LINE CONTENT...: config whose line LINE is wrong
bad_config() {
    local name=$1 line=$2; shift 2
    local f="$WORK/bad-$name.conf"
    printf '%s\n' "$@" > "$f"
    run_check "serve -n $name" serve --config "$f" -n
    check_eq "serve -n $name: exit" "$RC" 2
    check_contains "serve -n $name: message names $f:$line:" "$ERR$OUT" "$f:$line:"
}
bad_config unknown-key   3 "trust $PKI/trust.pem" "# comment" "no-such-key 1"
bad_config bad-duration  2 "trust $PKI/trust.pem" "cache-ttl 10x"
bad_config missing-trust 2 "# trust store" "trust $WORK/nonexistent.pem"
bad_config bad-number    2 "trust $PKI/trust.pem" "cache-size lots"
bad_config missing-value 2 "trust $PKI/trust.pem" "threads"
bad_config bad-log-level 2 "trust $PKI/trust.pem" "log-level chatty"
bad_config bad-policy-oid 2 "trust $PKI/trust.pem" "require_policy 2.16.840.1.101.3.2.1.3.13 PIV"
bad_config no-policy-oid 2 "trust $PKI/trust.pem" "require_policy \"\""
bad_config bad-explicit  2 "trust $PKI/trust.pem" "explicit_policy yes"

printf '%s\n' "# included" "" "cache-ttl forever" > "$WORK/inc-bad.conf"
printf '%s\n' "trust $PKI/trust.pem" "include $WORK/inc-bad.conf" > "$WORK/bad-include.conf"
run_check "serve -n error in included file" serve --config "$WORK/bad-include.conf" -n
check_eq "serve -n error in included file: exit" "$RC" 2
check_contains "serve -n error in included file: names $WORK/inc-bad.conf:3:" "$ERR$OUT" "$WORK/inc-bad.conf:3:"

printf '%s\n' "include $WORK/self.conf" > "$WORK/self.conf"
run_check "serve -n include loop" serve --config "$WORK/self.conf" -n
check_eq "serve -n include loop: exit" "$RC" 2

run_check "serve -n missing config file" serve --config "$WORK/nonexistent.conf" -n
check_eq "serve -n missing config file: exit" "$RC" 2
run_check "serve -n unknown option" serve -n --trust "$PKI/trust.pem" --no-such-option 1
check_eq "serve -n unknown command-line option: exit" "$RC" 2
run_check "serve -n bad duration option" serve -n --trust "$PKI/trust.pem" --cache-ttl 10x
check_eq "serve -n --cache-ttl 10x: exit" "$RC" 2
printf 'not a certificate\n' > "$WORK/junk-trust.pem"
run_check "serve -n junk trust file" serve -n --trust "$WORK/junk-trust.pem"
check_eq "serve -n with a trust file holding no certificate: exit" "$RC" 2
