#!/usr/bin/env bash
# Real clients, as people using mTLS run them, through real nginx (the
# contrib mtls-mandatory.conf example) and authd with a CRL: each allowed
# with a good certificate and refused with a revoked one (authd: CRL) and a
# foreign one (nginx: unknown CA, 495, decided by authd), reading the
# refusal page of contrib/nginx/authd.conf (@authd_denied):
#   curl              HTML page, and JSON with Accept: application/json
#   openssl s_client  a raw HTTP/1.1 request, the status line
#   Python requests   cert=(chain, key), verify=root (python3-requests)
#   headless Chromium the client certificate imported from PKCS#12 into an
#                     NSS database in a throw-away HOME, chosen without a
#                     prompt by the AutoSelectCertificateForUrls policy
#
# Chromium reads policies only from /etc/chromium/policies/managed/ (there
# is no per-profile policy file and no command-line switch that selects a
# client certificate), so this test writes one policy file there, named
# after its own pid and restricted to its own https://127.0.0.1:PORT, and
# removes it on exit, whatever happens. Chromium offers only certificates
# issued under the CA names nginx sends (ssl_client_certificate): with the
# foreign certificate as its only one it sends none, and the refusal is
# no-certificate; that is what a browser does.
. "$(dirname "$0")/lib.bash"

for tool in python3 chromium certutil pk12util; do
    command -v "$tool" >/dev/null || { echo "$TEST_NAME: $tool not found (tests/run.sh PACKAGES: chromium libnss3-tools python3-requests)" >&2; exit 2; }
done
python3 -c 'import requests' 2>/dev/null || { echo "$TEST_NAME: python3 requests not importable (python3-requests)" >&2; exit 2; }

AUTHD_PORT=$(free_port)
TLS_PORT=$(free_port)
BACKEND_PORT=$(free_port)
U="https://127.0.0.1:$TLS_PORT"

start_authd authd "127.0.0.1:$AUTHD_PORT" --trust "$PKI/trust.pem" --intermediates "$PKI/intermediates.pem" \
    --crl "$PKI/crl/both.crl.pem" --data-dir "$WORK/data"
nginx_setup "$WORK/nginx" "127.0.0.1:$AUTHD_PORT"
SERVER=$(example_server mtls-mandatory.conf "$TLS_PORT" "$BACKEND_PORT")
nginx_conf root "$SERVER"
start_nginx "$TLS_PORT" "$BACKEND_PORT"

# who: certificate (with its intermediate when it has one), key, what to expect
ALICE_CRT=$(chain client); ALICE_KEY=$PKI/client.key
REVOKED_CRT=$(chain revoked); REVOKED_KEY=$PKI/revoked.key
FOREIGN_CRT=$PKI/other-client.pem; FOREIGN_KEY=$PKI/other-client.key
ALICE_SUBJECT="subject=CN=alice,OU=Engineering,O=Example Corp"

# ---------------------------------------------------------------- curl
C=(--cacert "$PKI/root.pem")
req "${C[@]}" --cert "$ALICE_CRT" --key "$ALICE_KEY" "$U/curl"
check_eq "curl, alice: status" "$CODE" 200
check_contains "curl, alice: the backend saw her" "$BODY" "$ALICE_SUBJECT"
for who in revoked foreign; do
    case $who in
        revoked) crt=$REVOKED_CRT key=$REVOKED_KEY reason=revoked detail="revoked by its issuer";;
        foreign) crt=$FOREIGN_CRT key=$FOREIGN_KEY reason=untrusted detail="not issued by a certificate authority this site trusts";;
    esac
    req "${C[@]}" --cert "$crt" --key "$key" "$U/curl"
    check_eq "curl, $who: status" "$CODE" 401
    check_eq "curl, $who: content type" "$(hdr Content-Type)" "text/html; charset=utf-8"
    check_contains "curl, $who: the page's reason" "$BODY" "Reason: <code>$reason</code>"
    check_contains "curl, $who: the page's explanation" "$BODY" "$detail"
    check_not_contains "curl, $who: backend not reached" "$BODY" "subject="
    req "${C[@]}" --cert "$crt" --key "$key" -H 'Accept: application/json' "$U/curl"
    check_eq "curl, $who, JSON: status" "$CODE" 401
    check_eq "curl, $who, JSON: content type" "$(hdr Content-Type)" "application/json"
    got=$(printf '%s' "$BODY" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["status"], d["reason"], d["detail"], sorted(d))' 2>&1)
    check_eq "curl, $who, JSON: body" "$got" "401 $reason your certificate $( [ $who = revoked ] && echo 'has been revoked by its issuer' || echo 'was not issued by a certificate authority this site trusts') ['detail', 'reason', 'status']"
done

# ---------------------------------------------------------------- openssl s_client
# s_client STATUS-LINE-VAR CERT KEY: a raw request over s_client; S the
# status line, SOUT the whole output
s_client() {
    local crt=$1 key=$2 extra=()
    # send the intermediate too when the file holds one
    [ "$(grep -c 'BEGIN CERTIFICATE' "$crt")" -gt 1 ] && extra=(-cert_chain "$crt")
    SOUT=$(printf 'GET /s_client HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' |
        timeout 20 openssl s_client -connect "127.0.0.1:$TLS_PORT" -servername localhost \
            -CAfile "$PKI/root.pem" -verify_return_error -cert "$crt" -key "$key" "${extra[@]}" \
            -quiet -ign_eof 2>"$WORK/s_client.err") || true
    # a here-string, not printf | head: head leaving early must not SIGPIPE
    # a writer (pipefail: exit 141)
    S=$(head -n 1 <<<"$SOUT" | tr -d '\r')
}
s_client "$ALICE_CRT" "$ALICE_KEY"
check_eq "s_client, alice: status line" "$S" "HTTP/1.1 200 OK"
check_contains "s_client, alice: the backend saw her" "$SOUT" "$ALICE_SUBJECT"
s_client "$REVOKED_CRT" "$REVOKED_KEY"
check_eq "s_client, revoked: status line" "$S" "HTTP/1.1 401 Unauthorized"
check_contains "s_client, revoked: X-Authd-Reason" "$SOUT" "X-Authd-Reason: revoked"
s_client "$FOREIGN_CRT" "$FOREIGN_KEY"
check_eq "s_client, foreign: status line" "$S" "HTTP/1.1 401 Unauthorized"
check_contains "s_client, foreign: X-Authd-Reason" "$SOUT" "X-Authd-Reason: untrusted"

# ---------------------------------------------------------------- Python requests
py_requests() {
    python3 - "$U/requests" "$1" "$2" "$PKI/root.pem" <<'PY' 2>&1
import json, sys
import requests
url, crt, key, ca = sys.argv[1:5]
r = requests.get(url, cert=(crt, key), verify=ca, timeout=20,
                 headers={"Accept": "application/json"})
if r.status_code == 200:
    print(200, [l for l in r.text.splitlines() if l.startswith("subject=")][0])
else:
    d = r.json()
    print(r.status_code, d["status"], d["reason"], r.headers.get("X-Authd-Reason"))
PY
}
check_eq "requests, alice" "$(py_requests "$ALICE_CRT" "$ALICE_KEY")" "200 $ALICE_SUBJECT"
check_eq "requests, revoked" "$(py_requests "$REVOKED_CRT" "$REVOKED_KEY")" "401 401 revoked revoked"
check_eq "requests, foreign" "$(py_requests "$FOREIGN_CRT" "$FOREIGN_KEY")" "401 401 untrusted untrusted"
got=$(python3 - "$U/requests" "$PKI/root.pem" <<'PY' 2>&1
import sys, requests
r = requests.get(sys.argv[1], verify=sys.argv[2], timeout=20)
print(r.status_code, r.headers.get("Content-Type"), "<code>no-certificate</code>" in r.text)
PY
)
check_eq "requests, no certificate: the HTML page" "$got" "401 text/html; charset=utf-8 True"

# ---------------------------------------------------------------- headless Chromium
POLICY_DIR=/etc/chromium/policies/managed
POLICY_FILE="$POLICY_DIR/authd-test-clients-$$.json"
trap 'rc=$?; rm -f "$POLICY_FILE"; (exit $rc); cleanup' EXIT
mkdir -p "$POLICY_DIR"
# Select, without asking, the (only) certificate of the profile for this
# test's origin; nothing else on this machine is affected.
printf '{"AutoSelectCertificateForUrls": ["{\\"pattern\\":\\"%s\\",\\"filter\\":{}}"]}\n' "$U" > "$POLICY_FILE"
python3 -c 'import json,sys; json.loads(json.load(open(sys.argv[1]))["AutoSelectCertificateForUrls"][0])' "$POLICY_FILE" \
    || { fail "chromium policy file is not valid JSON"; exit 1; }

# nss_home NAME CERT KEY: a HOME whose NSS database trusts the test root for
# TLS servers and holds NAME's certificate and key, imported from PKCS#12
nss_home() {
    local h="$WORK/home-$1"
    mkdir -p "$h/.pki/nssdb"
    certutil -N -d "sql:$h/.pki/nssdb" --empty-password
    certutil -A -d "sql:$h/.pki/nssdb" -n "authd test root" -t "C,," -i "$PKI/root.pem"
    openssl pkcs12 -export -in "$2" -inkey "$3" -name "$1" -out "$WORK/$1.p12" -passout pass:p12pass
    pk12util -i "$WORK/$1.p12" -d "sql:$h/.pki/nssdb" -W p12pass >/dev/null
    certutil -L -d "sql:$h/.pki/nssdb" | grep -q "^$1 " || { echo "$TEST_NAME: $1 not in the NSS db" >&2; return 1; }
    printf '%s' "$h"
}
# chromium_dom NAME URL: DOM the page as headless Chromium renders it, as NAME
chromium_dom() {
    local h="$WORK/home-$1"
    DOM=$(HOME=$h timeout 60 chromium --headless=new --no-sandbox --disable-gpu --no-first-run \
        --disable-extensions --disable-background-networking --disable-sync \
        --user-data-dir="$h/profile" --dump-dom "$2" 2>"$WORK/chromium-$1.err") || {
        echo "$TEST_NAME: chromium failed (exit $?):" >&2; tail -n 20 "$WORK/chromium-$1.err" >&2; DOM=; }
}
# The PKCS#12 files hold the intermediate too, as a user's bundle would:
# Chromium offers a certificate only when it can chain it to a CA name the
# server sent.
nss_home alice   "$ALICE_CRT"   "$ALICE_KEY" >/dev/null
nss_home revoked "$REVOKED_CRT" "$REVOKED_KEY" >/dev/null
nss_home foreign "$FOREIGN_CRT" "$FOREIGN_KEY" >/dev/null

t0=$(date +%s)
chromium_dom alice "$U/chromium"
[ -n "$DOM" ] || { fail "chromium could not run: see above"; exit 1; }
check_contains "chromium, alice: the backend's answer" "$DOM" "$ALICE_SUBJECT"
check_contains "chromium, alice: uri" "$DOM" "uri=/chromium"
chromium_dom revoked "$U/chromium"
check_contains "chromium, revoked: the refusal page" "$DOM" "<h1>401 Unauthorized</h1>"
check_contains "chromium, revoked: its reason" "$DOM" "Reason: <code>revoked</code>"
check_contains "chromium, revoked: its explanation" "$DOM" "Your certificate has been revoked by its issuer."
check_not_contains "chromium, revoked: backend not reached" "$DOM" "subject="
chromium_dom foreign "$U/chromium"
check_contains "chromium, foreign (not offered: nginx asks for the test root's names): the refusal page" "$DOM" "<h1>401 Unauthorized</h1>"
check_contains "chromium, foreign: reason" "$DOM" "Reason: <code>no-certificate</code>"
check_not_contains "chromium, foreign: backend not reached" "$DOM" "subject="
echo "$TEST_NAME: chromium runs took $(( $(date +%s) - t0 )) s"

stop_authd
