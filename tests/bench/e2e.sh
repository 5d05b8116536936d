#!/usr/bin/env bash
# End to end through real nginx with real mTLS clients (issue 14). Not part
# of tests/run.sh.
#
#   tests/bench/e2e.sh
#
# tests/bench/mtlsload.c presents a client certificate (wrk cannot) from
# E2E_THREADS threads, one request at a time each, for E2E_SECONDS per row,
# first on keep-alive connections, then with a new TLS connection (a full
# handshake) for every request. Rows, all serving one small static file:
#
#   native           ssl_verify_client on + ssl_crl (nginx alone decides)
#   floor            ssl_verify_client optional + auth_request to an
#                    upstream that does nothing (nginx `return 200`)
#   floor, cached    the same with proxy_cache on the auth location (key:
#                    the client's fingerprint; the upstream says 60 s)
#   authd            contrib/nginx/authd.conf + authd-protect.conf, authd
#                    with the PKI's CRLs
#   authd, cached    the same plus authd-cache.conf, `set $authd_cache authd;`
#
# and two rows that say where authd's share goes (no target):
#
#   floor, own process   the floor with its no-op upstream in a second
#                        nginx (one worker, on the server CPU too): what
#                        any upstream of its own costs, authd or not
#   authd's snippets,    authd.conf + authd-protect.conf as in the authd row,
#     no-op authd        their upstream that second nginx answering 200
#                        with the headers authd answered for the client
#
# Ratios: authd / floor and authd cached / floor cached (keep-alive; target
# 0.95 each), and authd / native with new connections (target 0.95); for
# keep-alive also authd / each of the two rows above. nginx and authd share
# the server CPU (E2E_SERVER_CPU, nginx worker_processes 1, authd --threads
# 1, the second nginx 1 worker); the clients run on E2E_CLIENT_CPU.
#
# Environment (defaults in brackets):
#   E2E_SECONDS [10]  E2E_THREADS [8]  E2E_PORT [18600] (and the next 9)
#   E2E_SERVER_CPU [0]  E2E_CLIENT_CPU [1]
#   AUTHD [build-bench/authd, built with cmake Release if missing]
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
SECS=${E2E_SECONDS:-10}
THREADS=${E2E_THREADS:-8}
PORT=${E2E_PORT:-18600}
SCPU=${E2E_SERVER_CPU:-0}
CCPU=${E2E_CLIENT_CPU:-1}
AUTHD=${AUTHD:-}
say() { printf '%s\n' "$*" >&2; }
die() { say "e2e: $*"; exit 1; }

need=()
for c in nginx:nginx cc:build-essential cmake:cmake curl:curl openssl:openssl taskset:util-linux; do
    command -v "${c%%:*}" >/dev/null 2>&1 || need+=("${c#*:}")
done
for p in libssl-dev libmicrohttpd-dev libpcre2-dev liblmdb-dev libcurl4-openssl-dev pkg-config; do
    dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
    say "e2e: installing ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq "${need[@]}" >/dev/null
fi
if [ -z "$AUTHD" ]; then
    AUTHD=$ROOT/build-bench/authd
    say "e2e: building authd (cmake Release, build-bench/)"
    cmake -S "$ROOT" -B "$ROOT/build-bench" -DCMAKE_BUILD_TYPE=Release -DAUTHD_TESTS=OFF >/dev/null ||
        die "cmake configure failed"
    cmake --build "$ROOT/build-bench" -j"$(nproc)" --target authd >/dev/null || die "authd build failed"
fi

T=$(mktemp -d /tmp/e2e-authd.XXXXXX)
chmod 755 "$T"
PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    [ "${E2E_KEEP:-0}" = 1 ] || rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say "e2e: PKI (tests/pki/gen.sh)"
bash "$ROOT/tests/pki/gen.sh" "$T/pki" >/dev/null || die "gen.sh failed"
PKI=$T/pki
cc -O2 -Wall -Wextra -o "$T/mtlsload" "$HERE/mtlsload.c" -lssl -lcrypto -pthread || die "cannot build mtlsload"

P_NATIVE=$PORT P_FLOOR=$((PORT + 1)) P_FLOORC=$((PORT + 2)) P_AUTHD=$((PORT + 3))
P_AUTHDC=$((PORT + 4)) P_NOOP=$((PORT + 5)) P_DAEMON=$((PORT + 6))
P_FLOOR2=$((PORT + 7)) P_FAKE=$((PORT + 8)) P_NOOP2=$((PORT + 9))
N=$T/nginx
N2=$T/nginx2
mkdir -p "$N/authd" "$N/fake" "$N/tmp" "$N/www" "$N/cache" "$N2/tmp"
printf 'ok\n' > "$N/www/ok"
cp "$ROOT"/contrib/nginx/authd.conf "$ROOT"/contrib/nginx/authd-protect.conf \
    "$ROOT"/contrib/nginx/authd-upstream.conf "$ROOT"/contrib/nginx/authd-cache.conf "$N/authd/"
sed -i "s#127\.0\.0\.1:9180;#127.0.0.1:$P_DAEMON;#" "$N/authd/authd-upstream.conf"
sed -i "s#/run/nginx-authd-cache #$N/cache/authd #" "$N/authd/authd-cache.conf"
# the snippets once more, their upstream the no-op authd of the second nginx
cp "$ROOT"/contrib/nginx/authd.conf "$N/fake/"
sed -i 's#http://authd\b#http://fakeauthd#' "$N/fake/authd.conf"
grep -q 'http://fakeauthd/auth;' "$N/fake/authd.conf" || die "authd.conf: no proxy_pass to rewrite"
cat "$PKI/crl/int.crl.pem" "$PKI/crl/root.crl.pem" > "$T/crls.pem"

tls() { # the server part every row shares
    cat <<EOF
        ssl_certificate     $PKI/server-chain.pem;
        ssl_certificate_key $PKI/server.key;
        ssl_client_certificate $PKI/trust.pem;
        ssl_trusted_certificate $PKI/intermediates.pem;
        ssl_verify_depth 5;
        ssl_session_cache off;
        ssl_session_tickets off;
        root $N/www;
EOF
}
authd_server() { # authd_server PORT DIR [EXTRA]: the contrib snippets, DIR's authd.conf
    cat <<EOF
    server {
        listen 127.0.0.1:$1 ssl;
$(tls)
        ssl_verify_client optional;
        include $2/authd.conf;
        location / { ${3:-} include $N/authd/authd-protect.conf; try_files /ok =404; }
    }
EOF
}
nginx_head() { # nginx_head DIR CONNECTIONS: both nginx instances' configuration up to http {
    cat <<EOF
worker_processes 1;
pid $1/nginx.pid;
error_log $1/error.log warn;
events { worker_connections $2; }
http {
    access_log off;
    client_body_temp_path $1/tmp/body;
    proxy_temp_path $1/tmp/proxy;
    fastcgi_temp_path $1/tmp/fastcgi;
    uwsgi_temp_path $1/tmp/uwsgi;
    scgi_temp_path $1/tmp/scgi;
    keepalive_requests 100000000;
EOF
}
floor() { # floor PORT EXTRA [UPSTREAM]: auth_request to a no-op upstream, EXTRA in it
    cat <<EOF
    server {
        listen 127.0.0.1:$1 ssl;
$(tls)
        ssl_verify_client optional;
        location / { auth_request /_noop; try_files /ok =404; }
        location = /_noop {
            internal;
            proxy_pass http://${3:-noop};
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_set_header X-SSL-Client-Cert \$ssl_client_escaped_cert;
            $2
        }
    }
EOF
}
cat > "$N/nginx.conf" <<EOF
user root;
$(nginx_head "$N" 4096)
    include $N/authd/authd-upstream.conf;
    include $N/authd/authd-cache.conf;
    proxy_cache_path $N/cache/noop levels=1:2 keys_zone=noop:16m max_size=256m inactive=10m use_temp_path=off;
    upstream noop { server 127.0.0.1:$P_NOOP; keepalive 32; }
    upstream noop2 { server 127.0.0.1:$P_NOOP2; keepalive 32; }
    upstream fakeauthd { server 127.0.0.1:$P_NOOP2; keepalive 32; }
    server {
        listen 127.0.0.1:$P_NOOP;
        location / { add_header X-Accel-Expires 60; return 200; }
    }
    server {
        listen 127.0.0.1:$P_NATIVE ssl;
$(tls)
        ssl_verify_client on;
        ssl_crl $T/crls.pem;
        location / { try_files /ok =404; }
    }
$(floor "$P_FLOOR" "")
$(floor "$P_FLOOR2" "" noop2)
$(floor "$P_FLOORC" 'proxy_cache noop;
            proxy_cache_key "$ssl_client_fingerprint $ssl_client_verify";
            proxy_cache_lock on;')
$(authd_server "$P_AUTHD" "$N/authd")
$(authd_server "$P_FAKE" "$N/fake")
$(authd_server "$P_AUTHDC" "$N/authd" 'set $authd_cache authd;')
}
EOF
nginx -t -q -p "$N" -c "$N/nginx.conf" -e "$N/error.log" || die "nginx -t failed"
taskset -c "$SCPU" nginx -p "$N" -c "$N/nginx.conf" -e "$N/error.log" -g 'daemon off;' 2>>"$N/stderr" &
PIDS+=($!)
taskset -c "$SCPU" "$AUTHD" serve --listen "127.0.0.1:$P_DAEMON" --threads 1 --trust "$PKI/trust.pem" \
    --intermediates "$PKI/intermediates.pem" --crl "$PKI/crl/int.crl.pem" --crl "$PKI/crl/root.crl.pem" \
    --crl-fetch off --data-dir "$T/data" 2>>"$T/authd.log" &
PIDS+=($!)
for i in $(seq 100); do
    curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$P_DAEMON/healthz" &&
        curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$P_NOOP/" && break
    sleep 0.1
done

# The second nginx: a no-op upstream of its own, and a no-op authd that
# answers every /auth with the headers authd answers for the client.
esc=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(open(sys.argv[1]).read(), safe=""))' \
    "$PKI/client.pem")
curl -sS --max-time 5 -o /dev/null -D "$T/authd-200.h" -H "X-SSL-Client-Cert: $esc" \
    -H "X-SSL-Client-Verify: SUCCESS" -H "X-Original-URI: /x" -H "X-Original-Method: GET" \
    -H "X-Original-Host: localhost" "http://127.0.0.1:$P_DAEMON/auth" || die "authd did not answer"
grep -q '^HTTP/1.1 200' "$T/authd-200.h" || die "authd did not allow the client: $(head -1 "$T/authd-200.h")"
fake_headers=$(tr -d '\r' <"$T/authd-200.h" | awk -F': ' '/^[Xx]-/ {
    v = substr($0, length($1) + 3); gsub(/[\\"$]/, "\\\\&", v)
    printf "            add_header %s \"%s\" always;\n", $1, v }')
[ -n "$fake_headers" ] || die "authd answered no X- header"
cat > "$N2/nginx.conf" <<EOF
$(nginx_head "$N2" 1024)
    server {
        listen 127.0.0.1:$P_NOOP2;
        location / { return 200; }
        location = /auth {
$fake_headers
            return 200;
        }
    }
}
EOF
nginx -t -q -p "$N2" -c "$N2/nginx.conf" -e "$N2/error.log" || die "nginx -t failed (second nginx)"
taskset -c "$SCPU" nginx -p "$N2" -c "$N2/nginx.conf" -e "$N2/error.log" -g 'daemon off;' 2>>"$N2/stderr" &
PIDS+=($!)
for i in $(seq 100); do
    curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$P_NOOP2/" && break
    sleep 0.1
done

CLIENT=("$PKI/client-chain.pem" "$PKI/client.key" "$PKI/root.pem")
# check PORT [NOCERT-CODE]: a good client gets 200 (and one without a
# certificate NOCERT-CODE: the no-op rows allow anyone)
check() {
    local code
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 --cacert "$PKI/root.pem" \
        --cert "$PKI/client-chain.pem" --key "$PKI/client.key" "https://localhost:$1/x") || true
    [ "$code" = 200 ] || die "port $1: a good client got '$code'"
    [ -n "${2:-}" ] || return 0
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 --cacert "$PKI/root.pem" \
        "https://localhost:$1/x") || true
    [ "$code" = "$2" ] || die "port $1: a client without a certificate got '$code', not $2"
}
check "$P_NATIVE" 400
check "$P_FLOOR"
check "$P_FLOORC"
check "$P_FLOOR2"
check "$P_FAKE"
check "$P_AUTHD" 401
check "$P_AUTHDC" 401
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 --cacert "$PKI/root.pem" \
    --cert "$(cat "$PKI/revoked.pem" "$PKI/intermediate.pem" > "$T/revoked-chain.pem"; echo "$T/revoked-chain.pem")" \
    --key "$PKI/revoked.key" "https://localhost:$P_AUTHD/x") || true
[ "$code" = 401 ] || die "authd: a revoked client got '$code', not 401"

# run NAME PORT MODE: one row into T/NAME.res ("rps p50 p99 non200 errors")
run() {
    local out
    say "e2e: $1"
    out=$(taskset -c "$CCPU" "$T/mtlsload" localhost "$2" /x "${CLIENT[@]}" "$THREADS" "$SECS" "$3") ||
        die "$1: mtlsload failed: $out"
    awk '/^MTLS / { for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
        print v["rps"], v["p50_us"], v["p99_us"], v["non200"], v["errors"] }' <<<"$out" > "$T/$1.res"
}
for mode in keepalive new; do
    run "native-$mode" "$P_NATIVE" "$mode"
    run "floor-$mode" "$P_FLOOR" "$mode"
    run "floorc-$mode" "$P_FLOORC" "$mode"
    run "floor2-$mode" "$P_FLOOR2" "$mode"
    run "fake-$mode" "$P_FAKE" "$mode"
    run "authd-$mode" "$P_AUTHD" "$mode"
    run "authdc-$mode" "$P_AUTHDC" "$mode"
done

rps() { awk '{ print $1 }' "$T/$1.res"; }
row() { # row LABEL NAME [REF TARGET]
    local rps p50 p99 non200 errors ratio="" tgt=""
    read -r rps p50 p99 non200 errors < "$T/$2.res"
    if [ -n "${3:-}" ]; then
        ratio=$(awk -v a="$rps" -v b="$(rps "$3")" 'BEGIN { printf "%.2f", a / b }')
        if [ -n "${4:-}" ]; then
            if awk -v r="$ratio" -v t="$4" 'BEGIN { exit !(r >= t) }'; then tgt=">= $4 ok"; else tgt=">= $4 MISS"; fi
        fi
    fi
    printf '%-30s %8s %8s %8s %6s  %-12s %s\n' "$1" "$rps" "${p50}us" "${p99}us" "$ratio" "$tgt" \
        "$( [ "$non200$errors" = 00 ] || echo "non-200 $non200, errors $errors")"
}
{
    echo
    echo "authd end to end  $(date -u +%Y-%m-%dT%H:%MZ)  authd $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')"
    echo "machine: $(nproc) CPUs, $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo); $(nginx -v 2>&1 | sed 's/^nginx version: //'), $(openssl version | cut -d' ' -f1-2)"
    echo "server CPU $SCPU (nginx 1 worker, authd 1 thread), clients CPU $CCPU: $THREADS threads, ${SECS}s a row, GET /x (a 3-byte file)"
    for mode in keepalive new; do
        echo
        [ "$mode" = keepalive ] && echo "keep-alive connections" || echo "a new TLS connection per request (full handshake, no resumption)"
        printf '%-30s %8s %8s %8s %6s  %s\n' case req/s p50 p99 ratio target
        row "nginx native (ref)" "native-$mode"
        row "auth_request, no-op (floor)" "floor-$mode" "native-$mode"
        row "auth_request, no-op, cached" "floorc-$mode" "native-$mode"
        row "  no-op, own process" "floor2-$mode" "native-$mode"
        row "  authd's snippets, no-op authd" "fake-$mode" "native-$mode"
        if [ "$mode" = keepalive ]; then
            row "authd" "authd-$mode" "floor-$mode" 0.95
            row "authd, authd-cache.conf" "authdc-$mode" "floorc-$mode" 0.95
            printf '  authd / no-op in its own process %.2f, authd / its snippets with a no-op authd %.2f\n' \
                "$(awk -v a="$(rps "authd-$mode")" -v b="$(rps "floor2-$mode")" 'BEGIN { print a / b }')" \
                "$(awk -v a="$(rps "authd-$mode")" -v b="$(rps "fake-$mode")" 'BEGIN { print a / b }')"
        else
            row "authd" "authd-$mode" "native-$mode" 0.95
            row "authd, authd-cache.conf" "authdc-$mode" "native-$mode"
        fi
    done
    echo
    echo "ratios: no-op rows to native; authd rows to the no-op row of their kind (keep-alive) or to native (new connections)"
}
