#!/usr/bin/env bash
# Enterprise and federal PKIs (issue 13). Certificate policies (RFC 5280
# 6.1) through real nginx, with the pcy/ fixtures of tests/pki/gen.sh: the chain's own requireExplicitPolicy,
# require_policy and explicit_policy in rule sets (checked in addition to
# the global settings), the processed policy set handed to the backend
# with `set`, the same certificate under two rule sets (the verdict cache
# must not mix them), and a bridge-like PKI: a cross-certificate whose
# policyMappings turn PIV Authentication into the bridge's own policy,
# with global require_policy and inhibit_policy_mapping; and an issuing
# CA alone as the trust anchor, with and without trust_partial; and two
# candidate issuers (paths/), the first of which fails.
. "$(dirname "$0")/lib.bash"

PIV_AUTH=2.16.840.1.101.3.2.1.3.13
PCY_LOW=1.3.6.1.4.1.99999.2.1
BRIDGE_MED=1.3.6.1.4.1.99999.9.1
P="$PKI/pcy"

AUTHD_PORT=$(free_port)
BRIDGE_PORT=$(free_port)
TLS_PORT=$(free_port)
BACKEND_PORT=$(free_port)   # lib.bash's echo backend (unused here)
ECHO_PORT=$(free_port)
U="https://localhost:$TLS_PORT"

mkdir -p "$WORK/policy"
POL="$WORK/policy/authd.policy"
cat > "$POL" <<POLICY
# nginx-cert-policies.sh
ruleset default {
  allow true
        set X-Cert-Policy = policy
}
ruleset piv {
  require_policy $PIV_AUTH
  allow true
        set X-Cert-Policy = policy
}
ruleset strict {
  explicit_policy on
  allow true
}
ruleset low {
  allow policy == "$PCY_LOW"
}
POLICY
SCAN_LOGS+=("$WORK/policy-check.err")
if "$AUTHD_BIN" policy check "$POL" >"$WORK/policy-check.out" 2>"$WORK/policy-check.err"; then
    pass "authd policy check accepts require_policy and explicit_policy in rule sets"
else
    fail "authd policy check rejects the test policy: $(cat "$WORK/policy-check.err")"
fi

# the bridge: anchored at the bridge root only, the policy root reached
# through its cross-certificate
start_authd bridge "127.0.0.1:$BRIDGE_PORT" --trust "$P/bridge-root.pem" \
    --intermediates "$P/bridge-intermediates.pem" --require-policy "$BRIDGE_MED"
BRIDGE_PID=$AUTHD_PID
start_authd authd "127.0.0.1:$AUTHD_PORT" --trust "$P/root.pem" --intermediates "$P/intermediates.pem" \
    --policy "$POL" --audit-log "$WORK/audit.jsonl"

nginx_setup "$WORK/nginx" "127.0.0.1:$AUTHD_PORT"
A="$NGX/authd"
location() {  # location PATH RULESET
    cat <<LOCATION
    location $1 {
        set \$authd_ruleset $2;
        include $A/authd-protect.conf;
        auth_request_set \$authd_h_x_cert_policy \$upstream_http_x_cert_policy;
        proxy_set_header X-Cert-Policy \$authd_h_x_cert_policy;
        proxy_pass http://127.0.0.1:$ECHO_PORT;
    }
LOCATION
}
cat > "$NGX/pcy.conf" <<SERVER
server {
    listen 127.0.0.1:$TLS_PORT ssl;
    ssl_certificate     $PKI/server-chain.pem;
    ssl_certificate_key $PKI/server.key;
    ssl_client_certificate $P/root.pem;
    ssl_trusted_certificate $P/intermediates.pem;
    ssl_verify_client optional;
    ssl_verify_depth  5;
    include $A/authd.conf;
$(location /open/ default)
$(location /piv/ piv)
$(location /strict/ strict)
$(location /low/ low)
}
server {
    listen 127.0.0.1:$ECHO_PORT;
    location / {
        return 200 "policy=\$http_x_cert_policy\nsubject=\$http_x_authd_subject\n";
    }
}
SERVER
nginx_conf root "$NGX/pcy.conf"
start_nginx "$TLS_PORT" "$ECHO_PORT"

C=(--cacert "$PKI/root.pem")
who() { echo --cert "$(cat "$P/$1.pem" "$P/$2.pem" > "$WORK/$1-chain.pem"; echo "$WORK/$1-chain.pem")" --key "$P/$1.key"; }
# expect NAME CLIENT ISSUER PATH STATUS REASON [POLICY]
expect() {
    local name=$1 client=$2 issuer=$3 path=$4 status=$5 reason=$6
    # shellcheck disable=SC2046
    req "${C[@]}" $(who "$client" "$issuer") "$U$path"
    check_eq "$name: status" "$CODE" "$status"
    check_eq "$name: X-Authd-Reason" "$(hdr X-Authd-Reason)" "$reason"
    if [ $# -ge 7 ]; then
        check_eq "$name: backend X-Cert-Policy" "$(body_field policy)" "$7"
    fi
}

# ---------------------------------------------------------------- the chain's own constraints
expect "piv, default rule set"               piv ca /open/x 200 ok "$PIV_AUTH"
expect "low, default rule set"               low ca /open/x 200 ok "$PCY_LOW"
expect "no policy, default rule set"         none ca /open/x 200 ok ""
expect "PIV under requireExplicitPolicy CA"  strict-piv strict-ca /open/x 200 ok "$PIV_AUTH"
expect "no policy under requireExplicitPolicy CA" strict-none strict-ca /open/x 401 policy-not-accepted

# ---------------------------------------------------------------- rule sets' own settings
expect "piv, require_policy PIV"             piv ca /piv/x 200 ok "$PIV_AUTH"
expect "low, require_policy PIV"             low ca /piv/x 401 policy-not-accepted
expect "no policy, require_policy PIV"       none ca /piv/x 401 policy-not-accepted
# asked again: from the verdict cache, and another rule set in between
expect "low, require_policy PIV, again"      low ca /piv/x 401 policy-not-accepted
expect "low, default rule set, after piv"    low ca /open/x 200 ok "$PCY_LOW"
expect "low, require_policy PIV, third time" low ca /piv/x 401 policy-not-accepted
expect "low, explicit_policy on"             low ca /strict/x 200 ok
expect "no policy, explicit_policy on"       none ca /strict/x 401 policy-not-accepted
expect "low, rule on the policy field"       low ca /low/x 200 ok
expect "piv, rule on the policy field"       piv ca /low/x 403 no-matching-rule

# the audit log names the valid policy
sleep 0.2   # the audit writer flushes every 20 ms
check_contains "audit log: the valid policy of erin's chain" \
    "$(grep '"subject":"CN=erin,' "$WORK/audit.jsonl" | head -n 1)" "\"policy\":\"$PIV_AUTH\""
check_not_contains "audit log: none for grace (no policy)" \
    "$(grep '"subject":"CN=grace,' "$WORK/audit.jsonl" | head -n 1)" "\"policy\":"

# ---------------------------------------------------------------- the bridge, straight to authd
ask() {  # ask NAME LEAF STATUS REASON
    escape_pem "$P/$2.pem" | sed 's/^/X-SSL-Client-Cert: /' > "$WORK/$2.hdr"
    decide "$WORK/$2.hdr" "127.0.0.1:$BRIDGE_PORT"
    check_eq "$1" "${D% *}" "$3 $4"
}
ask "bridge: PIV maps to bridge-medium, require_policy bridge-medium" piv 200 ok
ask "bridge: low has no mapping" low 401 policy-not-accepted
ask "bridge: no policy" none 401 policy-not-accepted
AUTHD_PID=$BRIDGE_PID
stop_authd
start_authd bridge2 "127.0.0.1:$BRIDGE_PORT" --trust "$P/bridge-root.pem" \
    --intermediates "$P/bridge-intermediates.pem" --require-policy "$BRIDGE_MED" \
    --inhibit-policy-mapping on
ask "bridge with inhibit_policy_mapping: PIV no longer maps" piv 401 policy-not-accepted
stop_authd

# ---------------------------------------------------------------- an issuing CA as the anchor
start_authd partial-off "127.0.0.1:$BRIDGE_PORT" --trust "$P/ca.pem"
check_contains "trust_partial off: the load names the anchor that cannot end a chain" \
    "$(cat "$WORK/partial-off.log")" "trust anchor CN=authd Policy Issuing CA,O=authd tests is not self-signed"
ask "issuing CA alone, trust_partial off" piv 401 untrusted
stop_authd
start_authd partial-on "127.0.0.1:$BRIDGE_PORT" --trust "$P/ca.pem" --trust-partial on
ask "issuing CA alone, trust_partial on: its leaf" piv 200 ok
ask "issuing CA alone, trust_partial on: its other leaf" low 200 ok
ask "issuing CA alone, trust_partial on: a leaf of its sibling CA" strict-piv 401 untrusted
stop_authd

# ---------------------------------------------------------------- two candidate issuers
# paths/twins.pem: the same CA name and key certified twice; the first
# certificate's name constraints exclude the leaf, which OpenSSL alone
# would refuse.
escape_pem "$PKI/paths/leaf.pem" | sed 's/^/X-SSL-Client-Cert: /' > "$WORK/twin-leaf.hdr"
start_authd twins "127.0.0.1:$BRIDGE_PORT" --trust "$PKI/root.pem" --intermediates "$PKI/paths/twins.pem"
decide "$WORK/twin-leaf.hdr" "127.0.0.1:$BRIDGE_PORT"
check_eq "two candidate issuers, the first name-constrained: the second path verifies" "${D% *}" "200 ok"
decide "$WORK/twin-leaf.hdr" "127.0.0.1:$BRIDGE_PORT"
check_eq "two candidate issuers: again, from the cache" "${D% *}" "200 ok"
stop_authd
start_authd twin-nc "127.0.0.1:$BRIDGE_PORT" --trust "$PKI/root.pem" --intermediates "$PKI/paths/twin-nc.pem"
decide "$WORK/twin-leaf.hdr" "127.0.0.1:$BRIDGE_PORT"
check_eq "the name-constrained issuer alone: refused" "${D% *}" "401 untrusted"
stop_authd
