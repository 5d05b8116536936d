#!/usr/bin/env bash
# authd check at another decision time, and what issue 11 #3 and #4 add:
#   1  --at judges every time check at that time, the OCSP responder's own
#      chain included: a response signed by a delegated responder whose
#      certificate has expired since is good at a time it was valid, and
#      refused now
#   2  --ocsp-response once per depth: each certificate of the chain uses
#      the response about it, in any order; a depth without one has no
#      answer
#   3  --purpose any checks no purpose: a CA certificate may be the end
#      entity; the default (client) refuses it
# Fixtures: tests/pki/gen-rfc5280.py, family ocsp-at (tests/pki/README.md).
. "$(dirname "$0")/lib.bash"

PY=/usr/bin/python3
"$PY" -c 'import cryptography' 2>/dev/null || { echo "$TEST_NAME: python3-cryptography is missing" >&2; exit 2; }
"$PY" "$REPO/tests/pki/gen-rfc5280.py" "$WORK/f" || { echo "$TEST_NAME: fixture generation failed" >&2; exit 2; }
D="$WORK/f/ocsp-at"
AT=$(date -u -d "@$(cat "$D/at.txt")" +%Y-%m-%dT%H:%M:%SZ)
SCAN_LOGS+=("$WORK/check.err")
BASE=(--trust "$D/trust.pem" --intermediates "$D/ints.pem")
# first ARGS...: the first line of authd check
first() { "$AUTHD_BIN" check "${BASE[@]}" "$@" 2>>"$WORK/check.err" | head -n 1 || true; }

# ---------------------------------------------------------------- 1
check_eq "1: a response from a since-expired responder, --at when it was valid" \
    "$(first --ocsp leaf --ocsp-response "$D/client.resp" --at "$AT" "$D/client.pem")" "allow"
check_eq "1: the same response now: the responder's certificate has expired" \
    "$(first --ocsp leaf --ocsp-response "$D/client.resp" "$D/client.pem")" "deny revocation-unknown"
out=$("$AUTHD_BIN" check "${BASE[@]}" --ocsp leaf --ocsp-response "$D/client.resp" "$D/client.pem" 2>>"$WORK/check.err") || true
check_contains "1: ... and the explanation says why" "$out" "expired"

# ---------------------------------------------------------------- 2
check_eq "2: --ocsp chain, one response per depth (leaf, CA)" \
    "$(first --ocsp chain --ocsp-response "$D/client.resp" --ocsp-response "$D/ca.resp" --at "$AT" "$D/client.pem")" "allow"
check_eq "2: --ocsp chain, the same in the other order" \
    "$(first --ocsp chain --ocsp-response "$D/ca.resp" --ocsp-response "$D/client.resp" --at "$AT" "$D/client.pem")" "allow"
check_eq "2: --ocsp chain, only the leaf's response: the CA has no answer" \
    "$(first --ocsp chain --ocsp-response "$D/client.resp" --at "$AT" "$D/client.pem")" "deny revocation-unknown"
check_eq "2: --ocsp leaf, only the CA's response: the leaf has no answer" \
    "$(first --ocsp leaf --ocsp-response "$D/ca.resp" --at "$AT" "$D/client.pem")" "deny revocation-unknown"
args=()
for i in 1 2 3 4 5 6 7 8 9; do args+=(--ocsp-response "$D/ca.resp"); done
out=$("$AUTHD_BIN" check "${BASE[@]}" --ocsp chain "${args[@]}" "$D/client.pem" 2>&1) && rc=0 || rc=$?
check_eq "2: nine --ocsp-response: a usage error" "$rc" 2
check_contains "2: ... saying the limit" "$out" "at most 8"

# ---------------------------------------------------------------- 3
check_eq "3: a CA certificate as the client, --purpose any" "$(first --purpose any "$D/ca.pem")" "allow"
got=$(first "$D/ca.pem")
if [ -n "$got" ] && [ "$got" != allow ] && [[ "$got" == deny* ]]; then pass "3: a CA certificate as the client, default purpose: refused ($got)"
else fail "3: a CA certificate as the client, default purpose: '$got', expected a denial"; fi
check_eq "3: a client certificate, --purpose any" "$(first --purpose any "$D/client.pem")" "allow"
