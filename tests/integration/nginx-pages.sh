#!/usr/bin/env bash
# Every refusal answered the same way (contrib/nginx/authd.conf
# @authd_denied, authd's GET /page): authd's own 401/403 from auth_request
# and the certificates nginx refuses itself (495; 496 under
# `ssl_verify_client on`) give the same status, the same X-Authd-Reason and
# the same body: an HTML page, or JSON for `Accept: application/json`, with
# no certificate contents and a policy reason escaped. The 495 path is
# decided (and logged) by authd like any other refusal; the page is not a
# second decision.
. "$(dirname "$0")/lib.bash"

AUTHD_PORT=$(free_port)
TLS_PORT=$(free_port)
TLS_ON_PORT=$(free_port)
BACKEND_PORT=$(free_port)
U="https://localhost:$TLS_PORT"
UON="https://localhost:$TLS_ON_PORT"

# A deny rule whose reason is full of markup: it must come out escaped.
HOSTILE="<b>bob & 'co'</b>"
mkdir -p "$WORK/data"
POL="$WORK/pages.policy"
cat > "$POL" <<POLICY
ruleset default {
  deny  subject.CN == "bob"   reason "$HOSTILE"
  allow subject.O == "Example Corp"
}
POLICY
start_authd authd "127.0.0.1:$AUTHD_PORT" --trust "$PKI/trust.pem" --intermediates "$PKI/intermediates.pem" \
    --crl "$PKI/crl/both.crl.pem" --policy "$POL" --data-dir "$WORK/data" --log-level debug

nginx_setup "$WORK/nginx" "127.0.0.1:$AUTHD_PORT"
SERVER=$(example_server mtls-mandatory.conf "$TLS_PORT" "$BACKEND_PORT")
# the same example with `ssl_verify_client on`: no certificate is nginx's 496
sed -e "s#listen 127.0.0.1:$TLS_PORT ssl;#listen 127.0.0.1:$TLS_ON_PORT ssl;#" \
    -e 's#^\(\s*ssl_verify_client\s\+\)optional;#\1on;#' "$SERVER" > "$NGX/verify-on.conf"
grep -q 'ssl_verify_client on;' "$NGX/verify-on.conf" || { echo "could not make the verify-on server" >&2; exit 2; }
nginx_conf root "$SERVER" "$NGX/verify-on.conf"
start_nginx "$TLS_PORT" "$TLS_ON_PORT" "$BACKEND_PORT"

C=(--cacert "$PKI/root.pem")
JSON=(-H 'Accept: application/json')
# json_fields: the last body as "status|reason|detail|keys", or "not JSON"
json_fields() {
    printf '%s' "$BODY" | python3 -c '
import json, sys
try:
    d = json.load(sys.stdin)
except ValueError:
    print("not JSON"); sys.exit(0)
print("%s|%s|%s|%s" % (d.get("status"), d.get("reason"), d.get("detail"), ",".join(sorted(d))))'
}
n_decisions() { grep -c "decision $1" "$AUTHD_LOG" || true; }

# refused NAME STATUS REASON DETAIL HTML-REASON CURL-ARGS...: the HTML page,
# then the JSON object, for the same request
refused() {
    local name=$1 status=$2 reason=$3 detail=$4 html_reason=$5; shift 5
    req "${C[@]}" "$@" "$U_REQ"
    check_eq "$name (HTML): status" "$CODE" "$status"
    check_eq "$name (HTML): X-Authd-Reason" "$(hdr X-Authd-Reason)" "$reason"
    check_eq "$name (HTML): Content-Type" "$(hdr Content-Type)" "text/html; charset=utf-8"
    check_contains "$name (HTML): the reason" "$BODY" "Reason: <code>$html_reason</code>"
    check_contains "$name (HTML): the explanation" "$BODY" "$detail"
    check_contains "$name (HTML): a whole page" "$BODY" "</html>"
    check_not_contains "$name (HTML): no certificate in it" "$BODY" "CERTIFICATE"
    check_not_contains "$name (HTML): not the backend" "$BODY" "subject="
    check_eq "$name (HTML): no-store" "$(hdr Cache-Control)" "no-store"
    req "${C[@]}" "${JSON[@]}" "$@" "$U_REQ"
    check_eq "$name (JSON): status" "$CODE" "$status"
    check_eq "$name (JSON): Content-Type" "$(hdr Content-Type)" "application/json"
    local f
    f=$(json_fields)
    check_eq "$name (JSON): status, reason, keys" "$(cut -d'|' -f1,2,4 <<<"$f")" "$status|$reason|detail,reason,status"
    check_contains "$name (JSON): detail" "$(cut -d'|' -f3 <<<"$f")" "$(tr 'A-Z' 'a-z' <<<"${detail:0:1}")${detail:1}"
}

U_REQ="$U/x"
req "${C[@]}" --cert "$PKI/client-chain.pem" --key "$PKI/client.key" "$U/x"
check_eq "alice: allowed" "$CODE" 200
check_contains "alice: the backend answered" "$BODY" "subject=CN=alice"

# --- authd's own refusals (auth_request 401/403)
refused "revoked (CRL)" 401 revoked "revoked by its issuer" revoked \
    --cert "$(chain revoked)" --key "$PKI/revoked.key"
refused "no certificate" 401 no-certificate "No client certificate was presented" no-certificate
refused "bob (policy deny with markup in its reason)" 403 "$HOSTILE" "access policy refuses" \
    "&lt;b&gt;bob &amp; &#39;co&#39;&lt;/b&gt;" --cert "$(chain client2)" --key "$PKI/client2.key"
check_not_contains "policy reason: no raw markup in the page" "$(req "${C[@]}" --cert "$(chain client2)" --key "$PKI/client2.key" "$U/x"; echo "$BODY")" "<b>bob"

# --- nginx's own refusals (495), decided by authd
refused "foreign CA (495)" 401 untrusted "not issued by a certificate authority" untrusted \
    --cert "$PKI/other-client.pem" --key "$PKI/other-client.key"
refused "expired (495)" 401 expired "has expired" expired \
    --cert "$(chain expired)" --key "$PKI/expired.key"
# --- and 496: no certificate under `ssl_verify_client on`
U_REQ="$UON/x"
refused "no certificate, ssl_verify_client on (496)" 401 no-certificate "No client certificate" no-certificate
req "${C[@]}" --cert "$PKI/client-chain.pem" --key "$PKI/client.key" "$UON/x"
check_eq "ssl_verify_client on: alice allowed" "$CODE" 200
U_REQ="$U/x"

# --- the 495 path is one decision in authd's log, the page is none
before=$(n_decisions "401 untrusted")
req "${C[@]}" --cert "$PKI/other-client.pem" --key "$PKI/other-client.key" "$U/once"
check_eq "495 once: status" "$CODE" 401
sleep 0.2
check_eq "495 once: exactly one decision logged by authd" "$(( $(n_decisions "401 untrusted") - before ))" 1
before=$(n_decisions "401 revoked")
req "${C[@]}" "${JSON[@]}" --cert "$(chain revoked)" --key "$PKI/revoked.key" "$U/once"
sleep 0.2
check_eq "authd 401 once: exactly one decision logged" "$(( $(n_decisions "401 revoked") - before ))" 1

# --- methods: a POST with a body and a HEAD get the same refusal
req "${C[@]}" --cert "$(chain revoked)" --key "$PKI/revoked.key" -X POST --data-binary "@$PKI/revoked.pem" "$U/post"
check_eq "revoked POST: status" "$CODE" 401
check_contains "revoked POST: the page" "$BODY" "Reason: <code>revoked</code>"
req "${C[@]}" --cert "$PKI/other-client.pem" --key "$PKI/other-client.key" -I "$U/head"
check_eq "foreign HEAD: status" "$CODE" 401
check_eq "foreign HEAD: X-Authd-Reason" "$(hdr X-Authd-Reason)" untrusted
# (curl -I writes the headers where the body would go)
check_not_contains "foreign HEAD: no page" "$BODY" "<html"

# --- what the client sends cannot change the page
req "${C[@]}" --cert "$(chain revoked)" --key "$PKI/revoked.key" -H 'X-Authd-Reason: <i>forged</i>' \
    -H 'Accept: text/html, application/json;q=0.1, <script>' "$U/x"
check_eq "forged X-Authd-Reason: status" "$CODE" 401
check_eq "forged X-Authd-Reason: the real reason" "$(json_fields | cut -d'|' -f2)" revoked
check_not_contains "forged X-Authd-Reason: not in the answer" "$BODY$(cat "$HDRS")" "forged"

# --- authd's /page on its own: only a reason it could have given
AUTHD_ADDR="127.0.0.1:$AUTHD_PORT"
page() { authd_curl -s -o "$WORK/page.out" -w '%{http_code}' "$@" /page; }
check_eq "/page, no reason: 401" "$(page)" 401
check_contains "/page, no reason: unknown" "$(cat "$WORK/page.out")" "<code>unknown</code>"
check_eq "/page, reason ok: still a refusal" "$(page -H 'X-Authd-Reason: ok')" 401
check_eq "/page, policy-deny: 403" "$(page -H 'X-Authd-Reason: policy-deny' -H 'Accept: application/json')" 403
check_eq "/page, policy-deny: JSON" "$(cat "$WORK/page.out")" \
    '{"status":403,"reason":"policy-deny","detail":"your certificate is valid, but the access policy refuses it here"}'

# --- an oversized certificate (431 from authd) still gets the 401 page
mkdir -p "$WORK/big"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$WORK/big/big.key" 2>/dev/null
printf '[ext]\nbasicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n1.2.3.4=ASN1:UTF8String:%s\n' \
    "$(head -c 95000 /dev/zero | tr '\0' x)" > "$WORK/big/ext.cnf"
openssl req -new -key "$WORK/big/big.key" -subj "/CN=big" -out "$WORK/big/big.csr" 2>/dev/null
for ca in other-root intermediate; do
    openssl x509 -req -in "$WORK/big/big.csr" -CA "$PKI/$ca.pem" -CAkey "$PKI/$ca.key" \
        -set_serial 4242 -days 30 -extfile "$WORK/big/ext.cnf" -extensions ext -out "$WORK/big/$ca.pem" 2>/dev/null
    req "${C[@]}" "${JSON[@]}" --cert "$WORK/big/$ca.pem" --key "$WORK/big/big.key" "$U/big"
    check_eq "95 kB certificate from $ca: status" "$CODE" 401
    check_eq "95 kB certificate from $ca: JSON" "$(json_fields | cut -d'|' -f1,2)" "401|malformed-certificate"
done

stop_authd
