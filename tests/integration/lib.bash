# Shared helpers for tests/integration/*.sh -- sourced, not run (hence not *.sh).
#
# Environment:
#   AUTHD_BIN   path to the authd binary (required)
#   PKI_DIR     a directory made by tests/pki/gen.sh (optional: generated
#               into the work directory when unset)
#   NGINX_BIN   nginx binary (default /usr/sbin/nginx)
#   KEEP_WORK=1 keep the work directory (it is also kept when a check fails)
#
# Every test runs its own nginx and authd on free loopback ports inside a
# fresh `mktemp -d` directory and stops them on exit, whatever happens.

set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CONTRIB="$REPO/contrib/nginx"
TEST_NAME=$(basename "$0" .sh)
NGINX_BIN=${NGINX_BIN:-/usr/sbin/nginx}

# LIB_NO_AUTHD_BIN=1: the caller brings its own authd (tests/package.sh
# installs one), so AUTHD_BIN is neither needed nor checked.
if [ "${LIB_NO_AUTHD_BIN:-0}" != 1 ]; then
    if [ -z "${AUTHD_BIN:-}" ]; then
        echo "$TEST_NAME: AUTHD_BIN is not set (path to the authd binary)" >&2
        exit 2
    fi
    case "$AUTHD_BIN" in /*) ;; *) AUTHD_BIN="$PWD/$AUTHD_BIN";; esac
    if [ ! -x "$AUTHD_BIN" ]; then
        echo "$TEST_NAME: AUTHD_BIN=$AUTHD_BIN is not executable" >&2
        exit 2
    fi
fi
for tool in curl openssl; do
    command -v "$tool" >/dev/null || { echo "$TEST_NAME: $tool not found" >&2; exit 2; }
done

WORK=$(mktemp -d "/tmp/authd-$TEST_NAME.XXXXXX")
chmod 0755 "$WORK"          # nginx workers (www-data) may need to traverse it

PASS=0
FAIL=0
SKIP=0
declare -a PIDS=()          # background processes to stop on exit
declare -A PID_NAME=()      # pid -> name (for messages)
declare -A PID_LOG=()       # pid -> log file to scan for sanitizer reports
declare -a SCAN_LOGS=()     # extra stderr logs to scan (authd check runs)

pass() { PASS=$((PASS + 1)); echo "PASS $TEST_NAME: $1"; }
fail() { FAIL=$((FAIL + 1)); echo "FAIL $TEST_NAME: $1"; }
skip() { SKIP=$((SKIP + 1)); echo "SKIP $TEST_NAME: $1"; }

# check_eq NAME GOT WANT
check_eq() {
    if [ "$2" == "$3" ]; then pass "$1 ($2)"; else fail "$1: got '$2', expected '$3'"; fi
}
# check_contains NAME HAYSTACK NEEDLE
check_contains() {
    if [[ "$2" == *"$3"* ]]; then pass "$1"; else fail "$1: expected to contain '$3', got: $(printf '%s' "$2" | head -c 600)"; fi
}
# check_not_contains NAME HAYSTACK NEEDLE
check_not_contains() {
    if [[ "$2" != *"$3"* ]]; then pass "$1"; else fail "$1: must not contain '$3', got: $(printf '%s' "$2" | head -c 600)"; fi
}

# ---------------------------------------------------------------- PKI
if [ -n "${PKI_DIR:-}" ]; then
    PKI=$(cd "$PKI_DIR" && pwd)
    [ -f "$PKI/client.pem" ] || { echo "$TEST_NAME: PKI_DIR=$PKI_DIR has no client.pem" >&2; exit 2; }
else
    PKI="$WORK/pki"
    bash "$REPO/tests/pki/gen.sh" "$PKI"
fi

# A copy of the PKI inside WORK (0755 dirs, 0644 files) for nginx workers
# that do not run as root, plus the client chains curl sends.
make_pki_copy() {
    if [ ! -d "$WORK/pki-copy" ]; then
        mkdir -p "$WORK/pki-copy"
        cp "$PKI"/*.pem "$PKI"/*.key "$WORK/pki-copy/"
        chmod 0755 "$WORK/pki-copy"
        chmod 0644 "$WORK/pki-copy"/*
    fi
}
# chain NAME -> path of NAME.pem + intermediate.pem (what a client sends)
chain() {
    local f="$WORK/chains/$1-chain.pem"
    if [ ! -f "$f" ]; then
        mkdir -p "$WORK/chains"
        cat "$PKI/$1.pem" "$PKI/intermediate.pem" > "$f"
    fi
    printf '%s' "$f"
}

# Expected identity values, computed with openssl (independently of authd).
cert_subject()     { openssl x509 -in "$1" -noout -subject -nameopt RFC2253 | sed 's/^subject=//'; }
cert_issuer()      { openssl x509 -in "$1" -noout -issuer  -nameopt RFC2253 | sed 's/^issuer=//'; }
cert_serial()      { openssl x509 -in "$1" -noout -serial | sed 's/^serial=//'; }
cert_fingerprint() { openssl x509 -in "$1" -noout -fingerprint -sha256 | sed 's/^.*=//; s/://g' | tr 'A-F' 'a-f'; }
# URL-escape a PEM file the way nginx's $ssl_client_escaped_cert does.
# (od and awk: a python3 start costs a third of a second on these machines,
# and the tests escape hundreds of certificates)
escape_pem() {
    od -An -v -tx1 "$1" | awk '
        BEGIN { for (i = 0; i < 256; i++) code[sprintf("%02x", i)] = i }
        { for (i = 1; i <= NF; i++) { c = code[$i]
            if ((c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) ||
                c == 45 || c == 46 || c == 95 || c == 126) printf "%c", c
            else printf "%%%s", toupper($i) } }'
}

# ---------------------------------------------------------------- ports
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# free_port: prints a loopback TCP port nobody listens on (and that this
# test has not handed out before: recorded in a file, since callers use $())
free_port() {
    local p i
    touch "$WORK/.ports"
    for i in $(seq 1 200); do
        p=$(( 10000 + (RANDOM * 32768 + RANDOM) % 22000 ))   # below the ephemeral range
        grep -qx "$p" "$WORK/.ports" && continue
        if ! port_busy "$p"; then echo "$p" >> "$WORK/.ports"; printf '%s' "$p"; return 0; fi
    done
    echo "$TEST_NAME: no free port found" >&2
    return 1
}

# ---------------------------------------------------------------- processes
# bg NAME LOGFILE CMD...: start CMD in the background, stdout+stderr to LOGFILE
bg() {
    local name=$1 log=$2; shift 2
    "$@" >"$log" 2>&1 &
    local pid=$!
    PIDS+=("$pid"); PID_NAME[$pid]=$name; PID_LOG[$pid]=$log
    LAST_PID=$pid
}

# stop_pid PID [expect_zero]: SIGTERM, wait up to 10 s, then SIGKILL.
# Sets STOP_RC to the exit status.
stop_pid() {
    local pid=$1 i
    STOP_RC=0
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for i in $(seq 1 500); do       # 10 s, in steps short beside a stop
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.02
        done
        if kill -0 "$pid" 2>/dev/null; then
            echo "$TEST_NAME: ${PID_NAME[$pid]:-$pid} did not exit on SIGTERM, killing" >&2
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    wait "$pid" 2>/dev/null || STOP_RC=$?
    local n=() p
    for p in "${PIDS[@]:-}"; do [ -n "$p" ] && [ "$p" != "$pid" ] && n+=("$p"); done
    PIDS=("${n[@]:-}")
    scan_log "${PID_NAME[$pid]:-$pid}" "${PID_LOG[$pid]:-}"
}

# scan_log NAME FILE: fail on sanitizer reports in FILE
scan_log() {
    local name=$1 log=$2
    [ -n "$log" ] && [ -f "$log" ] || return 0
    if grep -qE 'ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:|ThreadSanitizer' "$log"; then
        fail "$name: sanitizer report in $log:"
        grep -E -A30 'ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:|ThreadSanitizer' "$log" | head -60 | sed 's/^/    /'
    fi
}

cleanup() {
    local rc=$? pid
    set +e
    for pid in "${PIDS[@]:-}"; do
        [ -n "$pid" ] && stop_pid "$pid"
    done
    local f
    for f in "${SCAN_LOGS[@]:-}"; do [ -n "$f" ] && scan_log "authd check" "$f"; done
    if [ "$FAIL" -gt 0 ] || [ "$rc" -ne 0 ] || [ "${KEEP_WORK:-0}" = 1 ]; then
        echo "$TEST_NAME: work directory kept: $WORK"
        if [ "$FAIL" -gt 0 ] || [ "$rc" -ne 0 ]; then
            for f in "$WORK"/*.log "$WORK"/nginx*/error.log; do
                [ -s "$f" ] || continue
                echo "---- last lines of $f"
                tail -n 15 "$f" | sed 's/^/    /'
            done
        fi
    else
        rm -rf "$WORK"
    fi
    if [ "$rc" -ne 0 ]; then
        echo "$TEST_NAME: ABORTED (exit $rc) after $PASS passed, $FAIL failed, $SKIP skipped"
        exit "$rc"
    fi
    echo "$TEST_NAME: $PASS passed, $FAIL failed, $SKIP skipped"
    [ "$FAIL" -eq 0 ] || exit 1
    exit 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- authd
AUTHD_PID=
AUTHD_LOG=
# start_authd NAME ADDR ARGS...: ADDR is host:port or unix:/path
start_authd() {
    local name=$1 addr=$2; shift 2
    AUTHD_LOG="$WORK/$name.log"
    bg "$name" "$AUTHD_LOG" "$AUTHD_BIN" serve --listen "$addr" "$@"
    AUTHD_PID=$LAST_PID
    AUTHD_ADDR=$addr
    local i
    for i in $(seq 1 500); do           # 15 s
        if authd_curl -s -o /dev/null --max-time 1 "/healthz"; then return 0; fi
        if ! kill -0 "$AUTHD_PID" 2>/dev/null; then
            echo "$TEST_NAME: authd exited during start-up; log:" >&2
            sed 's/^/    /' "$AUTHD_LOG" >&2
            return 1
        fi
        sleep 0.03
    done
    echo "$TEST_NAME: authd did not answer /healthz within 15 s; log:" >&2
    sed 's/^/    /' "$AUTHD_LOG" >&2
    return 1
}
# authd_curl CURL-ARGS... PATH: request straight to authd
authd_curl() {
    local args=("$@") path=${args[-1]}
    unset 'args[-1]'
    case "$AUTHD_ADDR" in
        unix:*) curl --unix-socket "${AUTHD_ADDR#unix:}" "${args[@]}" "http://authd$path";;
        *)      curl "${args[@]}" "http://$AUTHD_ADDR$path";;
    esac
}
# stop_authd: SIGTERM; checks that authd exits 0 and logged no sanitizer report
stop_authd() {
    [ -n "$AUTHD_PID" ] || return 0
    stop_pid "$AUTHD_PID"
    check_eq "authd exits 0 on SIGTERM" "$STOP_RC" 0
    AUTHD_PID=
}

# ---------------------------------------------------------------- nginx
NGX=
NGINX_PID=
# nginx_setup DIR AUTHD_UPSTREAM: a prefix directory with a copy of the
# contrib snippets (only the upstream address and the cache directory
# changed) in DIR/authd/
nginx_setup() {
    NGX=$1
    local upstream=$2
    mkdir -p "$NGX/authd" "$NGX/tmp" "$NGX/logs"
    chmod 0755 "$NGX" "$NGX/authd"
    cp "$CONTRIB"/authd.conf "$CONTRIB"/authd-protect.conf "$CONTRIB"/authd-upstream.conf \
        "$CONTRIB"/authd-cache.conf "$NGX/authd/"
    # the cache's directory (a tmpfs in /run in production) under NGX
    sed -i "s#/run/nginx-authd-cache #$NGX/cache #" "$NGX/authd/authd-cache.conf"
    grep -q "^proxy_cache_path $NGX/cache " "$NGX/authd/authd-cache.conf" || {
        echo "$TEST_NAME: could not set the cache path in authd-cache.conf" >&2; return 1; }
    sed -i "s#^\(\s*server\s\+\)127\.0\.0\.1:9180;#\1$upstream;#" "$NGX/authd/authd-upstream.conf"
    grep -q "server $upstream;" "$NGX/authd/authd-upstream.conf" || {
        echo "$TEST_NAME: could not set the upstream in authd-upstream.conf (does it still say 'server 127.0.0.1:9180;'?)" >&2
        return 1; }
}
# example_server FILE PORT BACKEND_PORT: the contrib example server block
# with only listen address, paths and backend address replaced
example_server() {
    local src="$CONTRIB/$1" port=$2 backend=$3 pki=${4:-$PKI}
    local dst="$NGX/$1"
    sed -e "s#listen 443 ssl;#listen 127.0.0.1:$port ssl;#" \
        -e "s#/etc/nginx/snippets/authd/#$NGX/authd/#g" \
        -e "s#/etc/authd/#$pki/#g" \
        -e "s#/etc/nginx/tls/#$pki/#g" \
        -e "s#127\.0\.0\.1:8080#127.0.0.1:$backend#g" "$src" > "$dst"
    grep -q "listen 127.0.0.1:$port ssl;" "$dst" && ! grep -v '^\s*#' "$dst" | grep -q '/etc/' || {
        echo "$TEST_NAME: could not adapt $src (listen/paths changed?)" >&2; return 1; }
    printf '%s' "$dst"
}
# nginx_conf USER SERVER-FILES...: write NGX/nginx.conf with an echo backend
# on BACKEND_PORT (set by the caller); the upstream snippet is NGX's copy,
# or NGINX_UPSTREAM_CONF (tests/package.sh: the installed one)
nginx_conf() {
    local user=$1; shift
    local inc="" f
    for f in "$@"; do inc+="    include $f;"$'\n'; done
    cat > "$NGX/nginx.conf" <<NGINX
user $user;
worker_processes 1;
pid $NGX/nginx.pid;
error_log $NGX/error.log info;
events { worker_connections 512; }
http {
    access_log $NGX/access.log;
    client_body_temp_path $NGX/tmp/body;
    proxy_temp_path       $NGX/tmp/proxy;
    fastcgi_temp_path     $NGX/tmp/fastcgi;
    uwsgi_temp_path       $NGX/tmp/uwsgi;
    scgi_temp_path        $NGX/tmp/scgi;
    default_type text/plain;

    include ${NGINX_UPSTREAM_CONF:-$NGX/authd/authd-upstream.conf};
$inc
    # The backend: echoes the identity headers it received (no auth_request
    # here, so return is fine).
    server {
        listen 127.0.0.1:$BACKEND_PORT;
        location / {
            return 200 "uri=\$request_uri\nsubject=\$http_x_authd_subject\nissuer=\$http_x_authd_issuer\nserial=\$http_x_authd_serial\nfingerprint=\$http_x_authd_fingerprint\nreason=\$http_x_authd_reason\nruleset=\$http_x_authd_ruleset\nssl_client_cert=\$http_x_ssl_client_cert\nssl_client_verify=\$http_x_ssl_client_verify\n";
        }
    }
}
NGINX
}
start_nginx() {
    if ! "$NGINX_BIN" -t -q -p "$NGX" -c "$NGX/nginx.conf" -e "$NGX/error.log" >"$NGX/nginx-t.log" 2>&1; then
        echo "$TEST_NAME: nginx -t failed:" >&2
        sed 's/^/    /' "$NGX/nginx-t.log" >&2
        return 1
    fi
    bg nginx "$NGX/nginx.out" "$NGINX_BIN" -p "$NGX" -c "$NGX/nginx.conf" -e "$NGX/error.log" -g 'daemon off;'
    NGINX_PID=$LAST_PID
    local i p
    for i in $(seq 1 100); do
        local ok=1
        for p in "$@"; do port_busy "$p" || ok=0; done
        [ "$ok" = 1 ] && return 0
        kill -0 "$NGINX_PID" 2>/dev/null || break
        sleep 0.1
    done
    echo "$TEST_NAME: nginx did not start; error.log:" >&2
    sed 's/^/    /' "$NGX/error.log" "$NGX/nginx.out" >&2 2>/dev/null || true
    return 1
}

# ---------------------------------------------------------------- a server that never answers
# start_hole NAME PORT: accepts and holds every connection on PORT, never
# answers; one "accept" line per connection in WORK/NAME.log
start_hole() {
    bg "$1" "$WORK/$1.log" python3 -u -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(64); held = []
while True:
    c, _ = s.accept(); held.append(c); print("accept", flush=True)
' "$2"
}

# ---------------------------------------------------------------- OCSP fault responder
# start_fault_responder NAME LOG ISSUER [DELEGATE BADDELEGATE UNRELATED]:
# tests/integration/ocsp-responder.c (built once per test), signing as
# ISSUER, each argument a path without .pem/.key (the three others default
# to ISSUER); its modes are listed at the top of ocsp-responder.c.  Sets
# FAULT_PORT and FAULT_PID; one line per OCSP request goes to LOG.
start_fault_responder() {
    local name=$1 log=$2 iss=$3 del=${4:-$3} bad=${5:-$3} unr=${6:-$3} i
    command -v cc >/dev/null || { echo "$TEST_NAME: no C compiler (cc)" >&2; exit 2; }
    if [ ! -x "$WORK/ocsp-responder" ] && ! cc -O2 -Wall -o "$WORK/ocsp-responder" \
            "$REPO/tests/integration/ocsp-responder.c" -lcrypto -lssl -pthread 2>"$WORK/cc.log"; then
        echo "$TEST_NAME: cannot build ocsp-responder.c:" >&2; cat "$WORK/cc.log" >&2; exit 2
    fi
    bg "$name" "$log" "$WORK/ocsp-responder" 0 "$iss.pem" "$iss.key" "$del.pem" "$del.key" \
        "$bad.pem" "$bad.key" "$unr.pem" "$unr.key"
    FAULT_PID=$LAST_PID
    for i in $(seq 1 50); do grep -q '^listening ' "$log" 2>/dev/null && break; sleep 0.1; done
    FAULT_PORT=$(awk '/^listening /{ print $2; exit }' "$log")
    [ -n "$FAULT_PORT" ] || { echo "$TEST_NAME: ocsp-responder $name did not start:" >&2; cat "$log" >&2; exit 2; }
}

# ---------------------------------------------------------------- requests
# req CURL-ARGS... URL: sets CODE, BODY (text), and header file HDRS
N_REQ=0
req() {
    N_REQ=$((N_REQ + 1))
    HDRS="$WORK/req-$N_REQ.hdr"
    local bodyf="$WORK/req-$N_REQ.body"
    CODE=$(curl -sS --max-time 20 -o "$bodyf" -D "$HDRS" -w '%{http_code}' "$@" 2>"$WORK/req-$N_REQ.err") || true
    [ -n "$CODE" ] || CODE=000
    BODY=$(cat "$bodyf" 2>/dev/null || true)
}
# decide HDRFILE ADDR [URI]: ask authd at ADDR directly, the client's
# certificate header from HDRFILE; D="CODE REASON REVOCATION" ("-" for an
# absent header), DT the seconds it took
decide() {
    local out code reason rev
    out=$(curl -sS --max-time 20 -o /dev/null -D - -w 'code=%{http_code}\ntime=%{time_total}\n' \
        -H "@$1" -H "X-SSL-Client-Verify: SUCCESS" -H "X-Original-URI: ${3:-/x}" \
        -H "X-Original-Method: GET" -H "X-Original-Host: localhost" "http://$2/auth" 2>/dev/null | tr -d '\r') || true
    code=$(sed -n 's/^code=//p' <<<"$out")
    DT=$(sed -n 's/^time=//p' <<<"$out")
    reason=$(sed -n 's/^[Xx]-[Aa]uthd-[Rr]eason: *//p' <<<"$out" | tail -n 1)
    rev=$(sed -n 's/^[Xx]-[Aa]uthd-[Rr]evocation: *//p' <<<"$out" | tail -n 1)
    D="${code:-000} ${reason:--} ${rev:--}"
    DT=${DT:-99}
}
# hdr NAME: value of response header NAME from the last req (last one wins)
hdr() {
    { grep -i "^$1:" "$HDRS" 2>/dev/null || true; } | tail -n 1 | sed 's/^[^:]*:[[:space:]]*//; s/\r$//'
}
# body_field NAME: value of "NAME=..." line in the last backend echo body
body_field() {
    printf '%s\n' "$BODY" | { grep "^$1=" || true; } | head -n 1 | sed "s/^$1=//"
}
