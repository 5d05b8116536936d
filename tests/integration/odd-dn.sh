#!/usr/bin/env bash
# Issue 10, finding 3, end to end: a CA-signed leaf whose OU=Contractors is
# encoded as an ObjectDescriptor (tag 7: OpenSSL accepts it and prints
# #070B...).  The OU must not vanish from what the policy sees, so
#   deny subject.OU == "Contractors" / allow true
# must not allow it: 403 policy-error, through authd check and authd
# serve; the same leaf with a UTF8String OU is denied by the rule itself.
# Fixture: tests/pki/gen-rfc5280.py, family odd-dn.
. "$(dirname "$0")/lib.bash"

PY=/usr/bin/python3
"$PY" -c 'import cryptography' 2>/dev/null || { echo "$TEST_NAME: python3-cryptography is missing" >&2; exit 2; }
"$PY" "$REPO/tests/pki/gen-rfc5280.py" "$WORK/f" || { echo "$TEST_NAME: fixture generation failed" >&2; exit 2; }
D="$WORK/f/odd-dn"
check_contains "the fixture's OU is an ObjectDescriptor" \
    "$(openssl x509 -in "$D/contractor.pem" -noout -subject)" "OU = #070B436F6E74726163746F7273"
printf 'ruleset default {\n  deny  subject.OU == "Contractors" reason "contractor"\n  allow true\n}\n' > "$WORK/p.policy"
BASE=(--trust "$D/trust.pem" --intermediates "$D/ints.pem" --policy "$WORK/p.policy")
SCAN_LOGS+=("$WORK/check.err")
check_eq "check: ObjectDescriptor OU" "$("$AUTHD_BIN" check "${BASE[@]}" "$D/contractor.pem" 2>>"$WORK/check.err" | head -n 1 || true)" \
    "deny policy-error"
check_eq "check: UTF8String OU" "$("$AUTHD_BIN" check "${BASE[@]}" "$D/plain.pem" 2>>"$WORK/check.err" | head -n 1 || true)" \
    "deny contractor"

PORT=$(free_port)
start_authd authd "127.0.0.1:$PORT" "${BASE[@]}"
ask() {
    curl -sS --max-time 5 -o /dev/null -D - -w 'code=%{http_code}\n' \
        -H "X-SSL-Client-Cert: $(escape_pem "$1")" -H "X-SSL-Client-Verify: SUCCESS" \
        -H "X-Original-URI: /x" -H "X-Original-Method: GET" -H "X-Original-Host: localhost" \
        "http://127.0.0.1:$PORT/auth" 2>/dev/null | tr -d '\r' |
        awk '/^code=/ { c = substr($0, 6) } tolower($0) ~ /^x-authd-reason:/ { r = $2 } END { print c, r }'
}
check_eq "serve: ObjectDescriptor OU" "$(ask "$D/contractor.pem")" "403 policy-error"
check_eq "serve: ObjectDescriptor OU, again (from the verdict cache)" "$(ask "$D/contractor.pem")" "403 policy-error"
check_eq "serve: UTF8String OU" "$(ask "$D/plain.pem")" "403 contractor"
stop_authd
