#!/usr/bin/env bash
# Real nginx + real authd + real curl, with the shipped contrib snippets
# (contrib/nginx/authd*.conf) and the mtls-mandatory.conf example server.
. "$(dirname "$0")/lib.bash"

AUTHD_PORT=$(free_port)
TLS_PORT=$(free_port)
BACKEND_PORT=$(free_port)
U="https://localhost:$TLS_PORT"

start_authd authd "127.0.0.1:$AUTHD_PORT" --trust "$PKI/trust.pem" --intermediates "$PKI/intermediates.pem"
nginx_setup "$WORK/nginx" "127.0.0.1:$AUTHD_PORT"
SERVER=$(example_server mtls-mandatory.conf "$TLS_PORT" "$BACKEND_PORT")
# A second server: the same example without ssl_trusted_certificate, so that
# nginx refuses leaf-only clients which authd (holding the intermediates)
# would allow. nginx's refusal must stand.
TLS_PORT2=$(free_port)
sed -e "s#listen 127.0.0.1:$TLS_PORT ssl;#listen 127.0.0.1:$TLS_PORT2 ssl;#" \
    -e '/^\s*ssl_trusted_certificate/d' "$SERVER" > "$NGX/no-intermediates.conf"
nginx_conf root "$SERVER" "$NGX/no-intermediates.conf"
start_nginx "$TLS_PORT" "$TLS_PORT2" "$BACKEND_PORT"

C=(--cacert "$PKI/root.pem")

# --- a valid client: 200, and the backend sees authd's identity
req "${C[@]}" --cert "$PKI/client-chain.pem" --key "$PKI/client.key" "$U/hello?x=1"
check_eq "alice (with chain): status" "$CODE" 200
check_eq "alice: backend got the request" "$(body_field uri)" "/hello?x=1"
check_eq "alice: backend subject" "$(body_field subject)" "CN=alice,OU=Engineering,O=Example Corp"
check_eq "alice: subject as openssl prints it" "$(body_field subject)" "$(cert_subject "$PKI/client.pem")"
check_eq "alice: backend issuer" "$(body_field issuer)" "CN=authd Test Intermediate CA,O=authd tests"
check_eq "alice: backend serial" "$(body_field serial)" "$(cert_serial "$PKI/client.pem")"
check_eq "alice: backend fingerprint" "$(body_field fingerprint)" "$(cert_fingerprint "$PKI/client.pem")"
check_eq "alice: backend sees no X-SSL-Client-Cert" "$(body_field ssl_client_cert)" ""

req "${C[@]}" --cert "$PKI/client.pem" --key "$PKI/client.key" "$U/leaf-only"
check_eq "alice (leaf only, nginx uses ssl_trusted_certificate): status" "$CODE" 200

req "${C[@]}" --cert "$(chain client2)" --key "$PKI/client2.key" "$U/"
check_eq "bob: status" "$CODE" 200
check_eq "bob: backend subject" "$(body_field subject)" "CN=bob,OU=Admins,O=Example Corp"

req "${C[@]}" --cert "$(chain noeku)" --key "$PKI/noeku.key" "$U/"
check_eq "carol (no EKU extension): status" "$CODE" 200
check_eq "carol: backend subject" "$(body_field subject)" "CN=carol,O=Example Corp"

# --- refusals: 401 with authd's reason visible to the client
req "${C[@]}" "$U/"
check_eq "no certificate: status" "$CODE" 401
check_eq "no certificate: X-Authd-Reason" "$(hdr X-Authd-Reason)" "no-certificate"

req "${C[@]}" --cert "$PKI/other-client.pem" --key "$PKI/other-client.key" "$U/"
check_eq "foreign CA (mallory): status" "$CODE" 401
check_eq "foreign CA: X-Authd-Reason" "$(hdr X-Authd-Reason)" "untrusted"

req "${C[@]}" --cert "$(chain expired)" --key "$PKI/expired.key" "$U/"
check_eq "expired: status" "$CODE" 401
check_eq "expired: X-Authd-Reason" "$(hdr X-Authd-Reason)" "expired"

req "${C[@]}" --cert "$(chain notyet)" --key "$PKI/notyet.key" "$U/"
check_eq "not yet valid: status" "$CODE" 401
check_eq "not yet valid: X-Authd-Reason" "$(hdr X-Authd-Reason)" "not-yet-valid"

req "${C[@]}" --cert "$(chain server-only)" --key "$PKI/server-only.key" "$U/"
check_eq "server-only EKU: status" "$CODE" 401
check_eq "server-only EKU: X-Authd-Reason" "$(hdr X-Authd-Reason)" "wrong-purpose"

req "${C[@]}" --cert "$PKI/intermediate.pem" --key "$PKI/intermediate.key" "$U/"
check_eq "CA certificate as client certificate: status" "$CODE" 401
check_eq "CA certificate as client certificate: X-Authd-Reason" "$(hdr X-Authd-Reason)" "wrong-purpose"

# --- a very large certificate (~95 kB DER, under OpenSSL's 100 kB limit for
# the client's Certificate message): its escaped PEM is ~140 kB of header
# to authd, more than authd's max_request_size (64k), so authd answers 431.
# authd.conf turns that into 401 malformed-certificate: whatever the client
# sends, the answer must be 401, never 500.
mkdir -p "$WORK/big"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$WORK/big/big.key" 2>/dev/null
printf '[ext]\nbasicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n1.2.3.4=ASN1:UTF8String:%s\n' \
    "$(head -c 95000 /dev/zero | tr '\0' x)" > "$WORK/big/ext.cnf"
openssl req -new -key "$WORK/big/big.key" -subj "/CN=big" -out "$WORK/big/big.csr" 2>/dev/null
openssl x509 -req -in "$WORK/big/big.csr" -CA "$PKI/other-root.pem" -CAkey "$PKI/other-root.key" \
    -set_serial 4242 -days 30 -extfile "$WORK/big/ext.cnf" -extensions ext -out "$WORK/big/big.pem" 2>/dev/null
# nginx refuses it (495, unknown CA): @authd_rejected asks authd
req "${C[@]}" --cert "$WORK/big/big.pem" --key "$WORK/big/big.key" "$U/"
check_eq "95 kB certificate (foreign CA): status" "$CODE" 401
check_eq "95 kB certificate (foreign CA): X-Authd-Reason" "$(hdr X-Authd-Reason)" "malformed-certificate"
# the same size from the trusted intermediate: nginx accepts it, so the
# protected location itself (authd-protect.conf) asks authd
openssl x509 -req -in "$WORK/big/big.csr" -CA "$PKI/intermediate.pem" -CAkey "$PKI/intermediate.key" \
    -set_serial 4243 -days 30 -extfile "$WORK/big/ext.cnf" -extensions ext -out "$WORK/big/big-trusted.pem" 2>/dev/null
req "${C[@]}" --cert "$WORK/big/big-trusted.pem" --key "$WORK/big/big.key" "$U/"
check_eq "95 kB certificate (trusted CA): status" "$CODE" 401
check_eq "95 kB certificate (trusted CA): X-Authd-Reason" "$(hdr X-Authd-Reason)" "malformed-certificate"
check_not_contains "95 kB certificate (trusted CA): backend not reached" "$BODY" "subject="
# authd refused it with 431 and kept serving: the next client is fine
req "${C[@]}" --cert "$PKI/client-chain.pem" --key "$PKI/client.key" "$U/after-big"
check_eq "alice after the 95 kB certificates: status" "$CODE" 200
check_eq "alice after the 95 kB certificates: X-Authd-Reason" "$(hdr X-Authd-Reason)" "ok"

# --- nginx refused (495), authd would allow: the refusal stands
req "${C[@]}" --cert "$PKI/client.pem" --key "$PKI/client.key" "https://localhost:$TLS_PORT2/"
check_eq "nginx refuses, authd allows (leaf only, nginx without intermediates): status" "$CODE" 400
check_not_contains "nginx refuses, authd allows: backend not reached" "$BODY" "subject="
req "${C[@]}" --cert "$PKI/client-chain.pem" --key "$PKI/client.key" "https://localhost:$TLS_PORT2/"
check_eq "same server, alice with chain: status" "$CODE" 200

# --- smuggling: headers a client sends must never reach authd or the backend
ESC=$(escape_pem "$PKI/client.pem")
req "${C[@]}" -H "X-SSL-Client-Cert: $ESC" -H "X-SSL-Client-Verify: SUCCESS" \
    -H "X-Authd-Subject: CN=admin" -H "X-Authd-Ruleset: admin" "$U/"
check_eq "no cert + forged X-SSL-Client-Cert/Verify: status" "$CODE" 401
check_eq "no cert + forged X-SSL-Client-Cert/Verify: X-Authd-Reason" "$(hdr X-Authd-Reason)" "no-certificate"
check_not_contains "no cert + forged headers: backend never reached" "$BODY" "subject="

req "${C[@]}" --cert "$PKI/client-chain.pem" --key "$PKI/client.key" \
    -H "X-Authd-Subject: CN=admin" -H "X-Authd-Issuer: CN=evil" -H "X-Authd-Serial: 01" \
    -H "X-Authd-Fingerprint: 00" -H "X-Authd-Reason: forged" -H "X-Authd-Ruleset: admin" \
    -H "X-SSL-Client-Cert: forged" -H "X-SSL-Client-Verify: forged" "$U/"
check_eq "alice + forged identity headers: status" "$CODE" 200
check_eq "alice + forged: backend subject is authd's" "$(body_field subject)" "CN=alice,OU=Engineering,O=Example Corp"
check_eq "alice + forged: backend issuer is authd's" "$(body_field issuer)" "CN=authd Test Intermediate CA,O=authd tests"
check_eq "alice + forged: backend fingerprint is authd's" "$(body_field fingerprint)" "$(cert_fingerprint "$PKI/client.pem")"
check_eq "alice + forged: no X-Authd-Ruleset at backend" "$(body_field ruleset)" ""
check_eq "alice + forged: no X-SSL-Client-Cert at backend" "$(body_field ssl_client_cert)" ""
check_eq "alice + forged: no X-SSL-Client-Verify at backend" "$(body_field ssl_client_verify)" ""
check_not_contains "alice + forged: CN=admin nowhere in backend view" "$BODY" "CN=admin"

# --- methods and bodies: the auth subrequest carries no body
req "${C[@]}" --cert "$PKI/client-chain.pem" --key "$PKI/client.key" -X POST --data-binary "@$PKI/client.pem" "$U/post"
check_eq "alice POST with body: status" "$CODE" 200

# --- keep-alive to authd: 40 requests should not open 40 connections
if command -v ss >/dev/null; then
    for i in $(seq 1 40); do
        curl -s -o /dev/null "${C[@]}" --cert "$PKI/client-chain.pem" --key "$PKI/client.key" "$U/ka"
    done
    TW=$(ss -Htan state time-wait "( sport = :$AUTHD_PORT or dport = :$AUTHD_PORT )" | wc -l)
    if [ "$TW" -le 5 ]; then pass "keep-alive to authd ($TW connections in TIME-WAIT after 40 requests)"
    else fail "keep-alive to authd: $TW connections in TIME-WAIT after 40 requests (expected <= 5)"; fi
else
    skip "keep-alive check (ss not installed)"
fi

# --- SIGHUP reloads the trust store without dropping service
kill -HUP "$AUTHD_PID"
sleep 0.5
req "${C[@]}" --cert "$PKI/client-chain.pem" --key "$PKI/client.key" "$U/"
check_eq "after SIGHUP: alice status" "$CODE" 200
req "${C[@]}" --cert "$PKI/other-client.pem" --key "$PKI/other-client.key" "$U/"
check_eq "after SIGHUP: mallory status" "$CODE" 401
if kill -0 "$AUTHD_PID" 2>/dev/null; then pass "authd alive after SIGHUP"; else fail "authd died on SIGHUP"; fi

# --- fail closed: authd down -> nginx answers 500, never the backend
stop_authd
req "${C[@]}" --cert "$PKI/client-chain.pem" --key "$PKI/client.key" "$U/"
check_eq "authd stopped: alice gets" "$CODE" 500
check_not_contains "authd stopped: backend not reached" "$BODY" "subject="
req "${C[@]}" --cert "$(chain expired)" --key "$PKI/expired.key" "$U/"
check_eq "authd stopped: expired (nginx-rejected path) gets" "$CODE" 500

# --- authd back on the same port: service resumes (stale keep-alive
# connections in nginx are retried)
start_authd authd2 "127.0.0.1:$AUTHD_PORT" --trust "$PKI/trust.pem" --intermediates "$PKI/intermediates.pem"
req "${C[@]}" --cert "$PKI/client-chain.pem" --key "$PKI/client.key" "$U/"
check_eq "authd restarted: alice status" "$CODE" 200
stop_authd
