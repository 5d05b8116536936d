#!/usr/bin/env bash
# The mtls-optional.conf example: /public/ open, /api/ behind authd.
. "$(dirname "$0")/lib.bash"

AUTHD_PORT=$(free_port)
TLS_PORT=$(free_port)
BACKEND_PORT=$(free_port)
U="https://localhost:$TLS_PORT"

start_authd authd "127.0.0.1:$AUTHD_PORT" --trust "$PKI/trust.pem" --intermediates "$PKI/intermediates.pem"
nginx_setup "$WORK/nginx" "127.0.0.1:$AUTHD_PORT"
SERVER=$(example_server mtls-optional.conf "$TLS_PORT" "$BACKEND_PORT")
nginx_conf root "$SERVER"
start_nginx "$TLS_PORT" "$BACKEND_PORT"

C=(--cacert "$PKI/root.pem")
ALICE=(--cert "$PKI/client-chain.pem" --key "$PKI/client.key")

req "${C[@]}" "$U/public/page"
check_eq "/public/ without certificate: status" "$CODE" 200
check_eq "/public/ without certificate: backend uri" "$(body_field uri)" "/public/page"

req "${C[@]}" -H "X-Authd-Subject: CN=admin" -H "X-SSL-Client-Cert: forged" "$U/public/page"
check_eq "/public/ with forged identity headers: status" "$CODE" 200
check_eq "/public/ with forged identity headers: backend subject empty" "$(body_field subject)" ""
check_eq "/public/ with forged X-SSL-Client-Cert: removed" "$(body_field ssl_client_cert)" ""

req "${C[@]}" "${ALICE[@]}" "$U/public/page"
check_eq "/public/ with alice: status" "$CODE" 200

req "${C[@]}" "$U/api/items"
check_eq "/api/ without certificate: status" "$CODE" 401
check_eq "/api/ without certificate: X-Authd-Reason" "$(hdr X-Authd-Reason)" "no-certificate"

ESC=$(escape_pem "$PKI/client.pem")
req "${C[@]}" -H "X-SSL-Client-Cert: $ESC" -H "X-SSL-Client-Verify: SUCCESS" -H "X-Authd-Subject: CN=admin" "$U/api/items"
check_eq "/api/ without certificate, forged headers: status" "$CODE" 401

req "${C[@]}" "${ALICE[@]}" "$U/api/items?id=7"
check_eq "/api/ with alice: status" "$CODE" 200
check_eq "/api/ with alice: backend uri" "$(body_field uri)" "/api/items?id=7"
check_eq "/api/ with alice: backend subject" "$(body_field subject)" "CN=alice,OU=Engineering,O=Example Corp"
check_eq "/api/ with alice: backend fingerprint" "$(body_field fingerprint)" "$(cert_fingerprint "$PKI/client.pem")"

req "${C[@]}" --cert "$PKI/other-client.pem" --key "$PKI/other-client.key" "$U/api/items"
check_eq "/api/ with foreign CA: status" "$CODE" 401
check_eq "/api/ with foreign CA: X-Authd-Reason" "$(hdr X-Authd-Reason)" "untrusted"

# nginx checks a presented certificate before choosing a location: a bad
# certificate is refused on /public/ too (documented in mtls-optional.conf).
req "${C[@]}" --cert "$(chain expired)" --key "$PKI/expired.key" "$U/public/page"
check_eq "/public/ with an expired certificate (nginx refuses it server-wide): status" "$CODE" 401
check_eq "/public/ with an expired certificate: X-Authd-Reason" "$(hdr X-Authd-Reason)" "expired"

req "${C[@]}" "${ALICE[@]}" "$U/other"
check_eq "unlisted path: status" "$CODE" 404

stop_authd
req "${C[@]}" "$U/public/page"
check_eq "authd stopped: /public/ still served" "$CODE" 200
req "${C[@]}" "${ALICE[@]}" "$U/api/items"
check_eq "authd stopped: /api/ fails closed" "$CODE" 500
