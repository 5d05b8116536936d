#!/usr/bin/env bash
# authd on a unix socket, nginx (workers as an unprivileged user, as in
# production) connecting to it through the contrib snippets.
. "$(dirname "$0")/lib.bash"

NGINX_USER=www-data
id "$NGINX_USER" >/dev/null 2>&1 || NGINX_USER=nobody
TLS_PORT=$(free_port)
BACKEND_PORT=$(free_port)
U="https://localhost:$TLS_PORT"

make_pki_copy
mkdir -p "$WORK/run"
chmod 0755 "$WORK/run"
SOCK="$WORK/run/authd.sock"

start_authd authd "unix:$SOCK" --trust "$PKI/trust.pem" --intermediates "$PKI/intermediates.pem"
if [ -S "$SOCK" ]; then pass "socket $SOCK exists"; else fail "no socket at $SOCK"; fi
req --unix-socket "$SOCK" "http://authd/healthz"
check_eq "/healthz over the unix socket" "$CODE" 200

if [ "$(id -u)" = 0 ] && command -v runuser >/dev/null; then
    if runuser -u "$NGINX_USER" -- curl -s -o /dev/null --max-time 5 --unix-socket "$SOCK" http://authd/healthz; then
        pass "socket connectable by $NGINX_USER ($(stat -c %A "$SOCK"))"
    else
        fail "socket not connectable by $NGINX_USER (mode $(stat -c '%A %U:%G' "$SOCK")); nginx workers run as $NGINX_USER"
    fi
fi

nginx_setup "$WORK/nginx" "unix:$SOCK"
SERVER=$(example_server mtls-mandatory.conf "$TLS_PORT" "$BACKEND_PORT" "$WORK/pki-copy")
nginx_conf "$NGINX_USER" "$SERVER"
start_nginx "$TLS_PORT" "$BACKEND_PORT"

C=(--cacert "$PKI/root.pem")
req "${C[@]}" --cert "$PKI/client-chain.pem" --key "$PKI/client.key" "$U/via-unix"
check_eq "alice via unix socket: status" "$CODE" 200
check_eq "alice via unix socket: backend subject" "$(body_field subject)" "CN=alice,OU=Engineering,O=Example Corp"
req "${C[@]}" "$U/"
check_eq "no certificate via unix socket: status" "$CODE" 401
check_eq "no certificate via unix socket: X-Authd-Reason" "$(hdr X-Authd-Reason)" "no-certificate"
req "${C[@]}" --cert "$(chain expired)" --key "$PKI/expired.key" "$U/"
check_eq "expired via unix socket: X-Authd-Reason" "$(hdr X-Authd-Reason)" "expired"

stop_authd
req "${C[@]}" --cert "$PKI/client-chain.pem" --key "$PKI/client.key" "$U/"
check_eq "authd stopped: fails closed" "$CODE" 500

# a socket file possibly left behind must not stop authd from starting again
start_authd authd2 "unix:$SOCK" --trust "$PKI/trust.pem" --intermediates "$PKI/intermediates.pem"
req "${C[@]}" --cert "$PKI/client-chain.pem" --key "$PKI/client.key" "$U/"
check_eq "authd restarted on the same socket path: alice" "$CODE" 200
stop_authd
