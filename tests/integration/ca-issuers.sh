#!/usr/bin/env bash
# ca_issuers_fetch (issue 13): issuers published only at the caIssuers URL
# of the certificate that lacks one (tests/pki/gen.sh's aia/). The URLs name
# aia.authd.test; authd reaches it through fetch_proxy, which is this
# test's nginx serving aia/www (DER certificate, PKCS#7 bundle, garbage, a
# body over the size cap, a slow one behind a server that never answers,
# a 404), plus a dead address reached directly. Checks the verdicts, that
# the first request waits for the fetch and later ones do not fetch again,
# that a fetched certificate never becomes an anchor, the URL allow-list,
# LMDB across a restart (and that what completed no chain is not kept),
# authd check (which fetches in the foreground), and clients behind real
# nginx: one whose chain nginx verifies (authd gets the leaf alone), one
# that sends its leaf alone (refused by nginx under optional, decided by
# authd under optional_no_ca).
. "$(dirname "$0")/lib.bash"

AUTHD_PORT=$(free_port)
AIA_PORT=$(free_port)
HOLE_PORT=$(free_port)
TLS_PORT=$(free_port)
TLS_PORT2=$(free_port)
BACKEND_PORT=$(free_port)
A="$PKI/aia"

mkdir -p "$WORK/www" "$WORK/data"
cp -r "$A/www/." "$WORK/www/"
chmod -R a+rX "$WORK/www"

# the slow server: accepts and never answers
start_hole hole "$HOLE_PORT"

AIA_LOG="$WORK/aia-access.log"
nginx_setup "$WORK/nginx" "127.0.0.1:$AUTHD_PORT"
cat > "$WORK/nginx-aia.conf" <<NGINX
log_format aia '\$host \$uri \$status';
server {
    listen 127.0.0.1:$AIA_PORT;
    server_name aia.authd.test;
    access_log $AIA_LOG aia;
    root $WORK/www;
    location /slow/ {
        proxy_pass http://127.0.0.1:$HOLE_PORT;
        proxy_read_timeout 60s;
    }
}
NGINX
# mtls_server PORT VERIFY-MODE: a protected server, ssl_verify_client as given
mtls_server() {
    cat <<NGINX
server {
    listen 127.0.0.1:$1 ssl;
    ssl_certificate     $PKI/server-chain.pem;
    ssl_certificate_key $PKI/server.key;
    ssl_client_certificate $PKI/root.pem;
    ssl_verify_client $2;
    ssl_verify_depth 5;
    include $NGX/authd/authd.conf;
    location / {
        include $NGX/authd/authd-protect.conf;
        proxy_pass http://127.0.0.1:$BACKEND_PORT;
    }
}
NGINX
}
{ mtls_server "$TLS_PORT" optional; mtls_server "$TLS_PORT2" optional_no_ca; } > "$WORK/nginx-mtls.conf"
nginx_conf root "$WORK/nginx-aia.conf" "$WORK/nginx-mtls.conf"
start_nginx "$AIA_PORT" "$TLS_PORT" "$TLS_PORT2" "$BACKEND_PORT"

# requests for PATH at the caIssuers server
gets() { grep -c " $1 " "$AIA_LOG" || true; }
hdr_of() { escape_pem "$A/$1.pem" | sed 's/^/X-SSL-Client-Cert: /' > "$WORK/$1.hdr"; printf '%s' "$WORK/$1.hdr"; }
# ask NAME LEAF WANT ("CODE REASON")
ask() { decide "$(hdr_of "$2")" "127.0.0.1:$AUTHD_PORT"; check_eq "$1" "${D% *}" "$3"; }

# authd reaches the dead address directly: no_proxy
AUTHD_ARGS=(--trust "$PKI/root.pem" --ca-issuers-fetch on --fetch-proxy "http://127.0.0.1:$AIA_PORT"
            --fetch-timeout 2s --data-dir "$WORK/data")
export no_proxy=127.0.0.1
start_authd authd "127.0.0.1:$AUTHD_PORT" "${AUTHD_ARGS[@]}"

# ---------------------------------------------------------------- behind nginx: the leaf only
# The client sends its chain, nginx verifies it and hands authd the leaf
# alone; authd has no intermediates configured: the first request of the
# test, which waits for the fetch.
cat "$A/der.pem" "$A/ica.pem" > "$WORK/der-chain.pem"
req --cacert "$PKI/root.pem" --cert "$WORK/der-chain.pem" --key "$A/der.key" "https://localhost:$TLS_PORT/x"
check_eq "behind nginx: the client's chain verified by nginx, the leaf alone to authd: allowed" "$CODE" 200
req --cacert "$PKI/root.pem" --cert "$A/der.pem" --key "$A/der.key" "https://localhost:$TLS_PORT/x"
check_eq "behind nginx: the leaf alone, which nginx cannot verify: nginx's refusal stands" "$CODE" 400
req --cacert "$PKI/root.pem" --cert "$A/p7c.pem" --key "$A/p7c.key" "https://localhost:$TLS_PORT2/x"
check_eq "behind nginx with optional_no_ca: the leaf alone, its issuer fetched by authd: allowed" "$CODE" 200
req --cacert "$PKI/root.pem" --cert "$A/garbage.pem" --key "$A/garbage.key" "https://localhost:$TLS_PORT2/x"
check_eq "behind nginx with optional_no_ca: a leaf whose issuer cannot be fetched: authd's 401" "$CODE $(hdr X-Authd-Reason)" "401 untrusted"

# ---------------------------------------------------------------- fetched issuers
check_eq "DER: one fetch" "$(gets /ica.der)" 1
ask "DER: again, straight to authd, from the cache" der "200 ok"
check_eq "DER: still one fetch" "$(gets /ica.der)" 1
ask "another leaf naming the same URL: verified at the fetched issuer" der2 "200 ok"
check_eq "another leaf naming the same URL: no new fetch" "$(gets /ica.der)" 1
ask "a leaf of a sub-CA of the same issuer" two "200 ok"
check_eq "two levels: the sub-CA fetched, its issuer already here" "$(gets /sub.der) $(gets /ica.der)" "1 1"
ask "PKCS#7 certs-only at the caIssuers URL" p7c "200 ok"
check_eq "PKCS#7: one fetch" "$(gets /ica.p7c)" 1
ask "garbage at the caIssuers URL" garbage "401 untrusted"
ask "a body over the size cap" large "401 untrusted"
ask "404 at the caIssuers URL" 404 "401 untrusted"
ask "404: asked again within the back-off" 404 "401 untrusted"
check_eq "404: fetched once (back-off)" "$(gets /missing.der)" 1
T0=$(date +%s%N)
ask "a server that never answers: refused after fetch_timeout" slow "401 untrusted"
T1=$(( ($(date +%s%N) - T0) / 1000000 ))
if [ "$T1" -ge 1500 ] && [ "$T1" -lt 6000 ]; then pass "slow: answered in ${T1} ms (fetch_timeout 2s)"
else fail "slow: answered in ${T1} ms, expected about 2 s"; fi
ask "a dead address" dead "401 untrusted"
ask "a fetched issuer that chains to a foreign root (sent with it)" foreign-leaf "401 untrusted"
check_contains "the log names the caIssuers failures" "$(cat "$AUTHD_LOG")" "caIssuers http://aia.authd.test/garbage.bin: neither a DER certificate nor a DER PKCS#7 bundle"
check_contains "the log names the size cap" "$(cat "$AUTHD_LOG")" "caIssuers http://aia.authd.test/large.bin: "

# ---------------------------------------------------------------- restart: LMDB
stop_authd
mv "$WORK/www" "$WORK/www.gone"
mkdir -p "$WORK/www"
start_authd authd2 "127.0.0.1:$AUTHD_PORT" "${AUTHD_ARGS[@]}"
N_ICA=$(gets /ica.der)
ask "after a restart, the caIssuers server gone: DER from LMDB" der "200 ok"
ask "after a restart: PKCS#7 from LMDB" p7c "200 ok"
ask "after a restart: two levels from LMDB" two "200 ok"
check_eq "after a restart: nothing fetched again" "$(gets /ica.der)" "$N_ICA"
ask "after a restart: the foreign bundle was not kept" foreign-leaf "401 untrusted"
check_eq "after a restart: foreign.p7c asked again (404 now)" "$(grep -c ' /foreign.p7c 404' "$AIA_LOG" || true)" 1
stop_authd
mv "$WORK/www.gone"/* "$WORK/www/"

# ---------------------------------------------------------------- the allow-list, off
start_authd authd3 "127.0.0.1:$AUTHD_PORT" "${AUTHD_ARGS[@]}" --data-dir "$WORK/data3" \
    --ca-issuers-url "http://pki.example.com/ http://other.authd.test/"
ask "a URL outside ca_issuers_url: not fetched" der "401 untrusted"
stop_authd
start_authd authd4 "127.0.0.1:$AUTHD_PORT" --trust "$PKI/root.pem" --data-dir "$WORK/data"
ask "ca_issuers_fetch off: untrusted" der "401 untrusted"
stop_authd

# ---------------------------------------------------------------- authd check
run_check() {
    RC=0
    OUT=$(timeout 30 "$AUTHD_BIN" check "$@" 2>"$WORK/check.err") || RC=$?
    SCAN_LOGS+=("$WORK/check.err")
}
run_check --trust "$PKI/root.pem" --ca-issuers-fetch on --fetch-proxy "http://127.0.0.1:$AIA_PORT" "$A/der.pem"
check_eq "authd check fetches in the foreground: allow" "$RC $(head -n 1 <<<"$OUT")" "0 allow"
check_contains "authd check: the chain has the fetched issuer" "$OUT" "  1  CN=authd AIA Issuing CA,O=authd tests"
run_check --trust "$PKI/root.pem" "$A/der.pem"
check_eq "authd check, ca_issuers_fetch off" "$RC $(head -n 1 <<<"$OUT")" "1 deny untrusted"
run_check --trust "$PKI/root.pem" --ca-issuers-fetch on --fetch-proxy "http://127.0.0.1:$AIA_PORT" "$A/garbage.pem"
check_contains "authd check: why the caIssuers answer was refused" "$OUT" "caIssuers http://aia.authd.test/garbage.bin: neither a DER certificate"
