#!/usr/bin/env bash
# authd benchmark: one command, one table. Not part of tests/run.sh.
#
#   tests/bench/run.sh
#
# Measures, in one run, with wrk on loopback (keep-alive):
#   nginx return 200 (ref)     nginx answering `return 200` to the same bytes
#   authd warm                 one certificate, repeated (verdict cache hits)
#   openssl verify p256 (ref)  `openssl speed ecdsap256` verify/s, one core
#   authd cold                 every request a certificate never seen before
#                              (full chain verification, known intermediate)
#   nginx static file (ref)    } optional (BENCH_PROXY=1, default): the
#   nginx auth_request->authd  } deployment pattern, nginx and authd sharing
#                                the server core
# and, with BENCH_POLICY=1 (default), the policy figures of issue 3:
#   authd warm +URI, no policy } the warm request plus X-Original-URI, against
#   authd warm +URI, P100      } two daemons, one with a generated 100-rule
#                                regex policy every request walks to the end;
#                                measured A B B A, half the duration each
#   in LIST 1M (LMDB/memory)   tests/bench/listbench.c, in-process: ns per
#                              policy_eval of `deny fingerprint in big`
#   serve start, VmRSS         `authd serve --policy P --data-dir D` with a
#                              1M-entry list: first start (imports the list
#                              into LMDB), second start (finds it), and a
#                              tiny list; resident memory after start and
#                              after ~100k warm requests
# and, with BENCH_CRL=1 (default), the CRL figures of issue 4 (tests/bench/
# crlbench.c generates a CRL of the PKI's intermediate with 1M revoked serials):
#   serve start, 1M CRL        `authd serve --crl big.der --data-dir D`: first
#                              start (parses, verifies, indexes into LMDB),
#                              second start (finds the file's record by its
#                              SHA-256: not parsed), the same CRL as PEM, a
#                              tiny CRL; VmRSS after start and after ~50k
#                              warm requests
#   crl_check 1M ...           in-process ns per crl_check (LMDB, memory) and
#                              the references: X509_CRL_get0_by_serial, and
#                              nginx's ssl_crl (X509_verify_cert + CRL check)
#   nginx-style X509_CRL (ref) RSS of a process holding the CRL as ssl_crl does
# The server side (nginx, authd, openssl speed) is pinned to BENCH_SERVER_CPU,
# wrk to BENCH_CLIENT_CPU; the servers get one worker each.
#
# Environment (defaults in brackets):
#   BENCH_DURATION [10]    seconds per measured case
#   BENCH_WARMUP [2]       seconds of warm-up before each case
#   BENCH_CONNECTIONS [32] wrk connections (keep-alive)
#   BENCH_WRK_THREADS [1]  wrk threads
#   BENCH_SERVER_CPU [0]   BENCH_CLIENT_CPU [1]
#   BENCH_SPEED_SECONDS [5] openssl speed duration
#   BENCH_NCERTS [auto]    cold certificates (auto: 1.2 x verify/s x duration;
#                          a cold request costs at least one verify)
#   BENCH_PROXY [1]        0 skips the nginx auth_request rows
#   BENCH_PORT [18480]     first of three loopback ports used
#   AUTHD [build-bench/authd, built with cmake Release if missing or stale]
#   AUTHD_ARGS []          extra arguments for `authd serve`
#   BENCH_PERF [unset]     directory: `perf record --call-graph dwarf` of authd during
#                          the warm and cold runs and the restart cases' warm and
#                          restored runs there (perturbs the figures)
#   BENCH_KEEP [0]         1 keeps the temporary directory
#   BENCH_POLICY [1]       0 skips the policy rows (and ports PORT+3, PORT+4)
#   BENCH_LIST_ENTRIES [1000000]  entries of the big list
#   BENCH_LIST_QUERIES [200000]   policy_eval calls per listbench pass (3 passes)
#   BENCH_CRL [1]          0 skips the CRL rows (and port PORT+5)
#   BENCH_OCSP [1]         0 skips the OCSP warm rows (ports PORT+6..8): authd
#                          with `ocsp leaf` and its answer cached, against authd
#                          without OCSP, A B B A; target >= 0.90 (issue 5)
#   BENCH_OCSP_REFRESH [1] 0 skips the OCSP refreshing rows (ports PORT+11..13):
#                          the warm certificate, OCSP answers that live a
#                          minute (`openssl ocsp -nmin 1`, refreshed while the
#                          load runs), against authd without OCSP, A B B A,
#                          BENCH_OCSP_REFRESH_SECONDS [30] a run so that a
#                          refresh falls inside B; target >= 0.95 (issue 12)
#   BENCH_AUDIT [1]        0 skips the audit rows (ports PORT+9, PORT+10): authd
#                          with `audit_log FILE` against authd without, A B B A
#                          (issue 6; no target, the cost is reported)
#   BENCH_CERTPOLICY [1]   0 skips the certificate policy rows (ports PORT+14,
#                          PORT+15): a warm leaf under tests/pki/gen.sh's
#                          policy CA carrying PIV Authentication, authd with
#                          `require_policy` PIV against authd without, A B B A;
#                          target >= 0.95 (issue 13)
#   BENCH_AIA [1]          0 skips the caIssuers rows (ports PORT+16..18): cold
#                          leaves of tests/pki/gen.sh's aia/ica.pem naming it as
#                          their caIssuers URL, authd with it configured in
#                          `intermediates` against authd with
#                          `ca_issuers_fetch on` (fetched, kept in LMDB, then
#                          restarted), each on leaves of its own; target >=
#                          0.90 (issue 13)
#   BENCH_RESTART [1]      0 skips the restart rows (port PORT+19): authd with
#                          a data_dir sees the cold leaves once (seed, 3 x
#                          duration; against the same daemon keeping
#                          nothing), then again (warm, from memory), then is
#                          restarted and sees them again (restored: each chain
#                          from LMDB, verified_cache_size); plain, and with
#                          the PKI's CRLs (revocation reads the kept leaf);
#                          target: authd's CPU time per request (all its
#                          threads, /proc/PID/task/*/schedstat) restored at
#                          most 1.5x warm (issue 14); req/s restored / warm
#                          shows the same only while the server CPU is
#                          saturated, so it is shown without a target
#   BENCH_RESTART_SECONDS [1]  the warm and restored runs (each line of the
#                          seeded list once: the run must not wrap)
#   BENCH_CRL_ENTRIES [1000000]   revoked serials in the generated CRL
#   BENCH_CRL_QUERIES [100000]    crl_check calls per crlbench pass (3 passes)
#   BENCH_CRL_REQUESTS [50000]    warm requests before the second VmRSS reading
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)

DURATION=${BENCH_DURATION:-10}
HALF=$(( DURATION / 2 > 0 ? DURATION / 2 : 1 ))	# each run of an A B B A pair
WARMUP=${BENCH_WARMUP:-2}
CONNS=${BENCH_CONNECTIONS:-32}
WRK_THREADS=${BENCH_WRK_THREADS:-1}
SCPU=${BENCH_SERVER_CPU:-0}
CCPU=${BENCH_CLIENT_CPU:-1}
SPEED_SECONDS=${BENCH_SPEED_SECONDS:-5}
NCERTS=${BENCH_NCERTS:-auto}
PROXY=${BENCH_PROXY:-1}
PORT=${BENCH_PORT:-18480}
NGINX_PORT=$PORT AUTHD_PORT=$((PORT + 1)) PROXY_PORT=$((PORT + 2))
AUTHD=${AUTHD:-}
AUTHD_ARGS=${AUTHD_ARGS:-}
PERF_DIR=${BENCH_PERF:-}
POLICY=${BENCH_POLICY:-1}
LIST_ENTRIES=${BENCH_LIST_ENTRIES:-1000000}
LIST_QUERIES=${BENCH_LIST_QUERIES:-200000}
POL_PORT_A=$((PORT + 3)) POL_PORT_B=$((PORT + 4))
CRL=${BENCH_CRL:-1}
OCSP=${BENCH_OCSP:-1}
OCSP_REFRESH=${BENCH_OCSP_REFRESH:-1}
OCSP_REFRESH_SECONDS=${BENCH_OCSP_REFRESH_SECONDS:-30}
OCSP_PORT_A=$((PORT + 6)) OCSP_PORT_B=$((PORT + 7)) OCSP_RESP_PORT=$((PORT + 8))
AUDIT=${BENCH_AUDIT:-1}
AUDIT_PORT_A=$((PORT + 9)) AUDIT_PORT_B=$((PORT + 10))
REFRESH_PORT_A=$((PORT + 11)) REFRESH_PORT_B=$((PORT + 12)) REFRESH_RESP_PORT=$((PORT + 13))
CERTPOLICY=${BENCH_CERTPOLICY:-1}
PCY_PORT_A=$((PORT + 14)) PCY_PORT_B=$((PORT + 15))
AIA_BENCH=${BENCH_AIA:-1}
AIA_PORT_A=$((PORT + 16)) AIA_PORT_B=$((PORT + 17)) AIA_WWW_PORT=$((PORT + 18))
RESTART=${BENCH_RESTART:-1}
RESTART_SECONDS=${BENCH_RESTART_SECONDS:-1}
RESTART_PORT=$((PORT + 19))
CRL_ENTRIES=${BENCH_CRL_ENTRIES:-1000000}
CRL_QUERIES=${BENCH_CRL_QUERIES:-100000}
CRL_REQ=${BENCH_CRL_REQUESTS:-50000}
CRL_PORT=$((PORT + 5))

say() { printf '%s\n' "$*" >&2; }
die() { say "bench: $*"; exit 1; }

# ---------------------------------------------------------------- tools
need_pkgs=()
for c in wrk:wrk nginx:nginx cc:build-essential make:build-essential cmake:cmake \
         pkg-config:pkg-config curl:curl openssl:openssl taskset:util-linux ss:iproute2; do
    command -v "${c%%:*}" >/dev/null 2>&1 || need_pkgs+=("${c#*:}")
done
for p in libssl-dev libmicrohttpd-dev libpcre2-dev liblmdb-dev libcurl4-openssl-dev; do
    dpkg -s "$p" >/dev/null 2>&1 || need_pkgs+=("$p")
done
if [ -n "$PERF_DIR" ] && ! command -v perf >/dev/null 2>&1; then
    need_pkgs+=(linux-perf)
fi
if [ ${#need_pkgs[@]} -gt 0 ]; then
    say "bench: installing ${need_pkgs[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq "${need_pkgs[@]}" >/dev/null
fi

NPROC=$(nproc)
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
if [ "$SCPU" -ge "$NPROC" ] || [ "$CCPU" -ge "$NPROC" ]; then
    die "need CPUs $SCPU and $CCPU, this machine has $NPROC"
fi
[ "$SCPU" != "$CCPU" ] || say "bench: WARNING: server and client share CPU $SCPU"

# ---------------------------------------------------------------- authd
if [ -z "$AUTHD" ]; then
    AUTHD=$ROOT/build-bench/authd
    say "bench: building authd (cmake Release, build-bench/)"
    cmake -S "$ROOT" -B "$ROOT/build-bench" -DCMAKE_BUILD_TYPE=Release -DAUTHD_TESTS=OFF >/dev/null ||
        die "cmake configure failed"
    cmake --build "$ROOT/build-bench" -j"$NPROC" --target authd >/dev/null ||
        die "authd build failed"
fi
[ -x "$AUTHD" ] || die "no authd binary at $AUTHD"
# the source measured: HEAD when built, "+dirty" with uncommitted changes to it
AUTHD_REV=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')
if [ -n "$(git -C "$ROOT" status --porcelain -- authd CMakeLists.txt 2>/dev/null)" ]; then AUTHD_REV+="+dirty"; fi
if [ "$POLICY" = 1 ] || [ "$CRL" = 1 ]; then
    # listbench and crlbench link the library the daemon is built from
    if [ ! -f "$ROOT/build-bench/CMakeCache.txt" ]; then
        cmake -S "$ROOT" -B "$ROOT/build-bench" -DCMAKE_BUILD_TYPE=Release -DAUTHD_TESTS=OFF >/dev/null ||
            die "cmake configure failed"
    fi
    cmake --build "$ROOT/build-bench" -j"$NPROC" --target authd_core >/dev/null ||
        die "libauthd_core build failed"
fi

# ---------------------------------------------------------------- temp dir, cleanup
T=$(mktemp -d /tmp/bench-authd.XXXXXX)
chmod 755 "$T"
PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]}"; do
        kill -TERM "$p" 2>/dev/null || true
    done
    for p in "${PIDS[@]}"; do
        wait "$p" 2>/dev/null || true
    done
    if [ "${BENCH_KEEP:-0}" = 1 ]; then say "bench: kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ALL_PORTS=("$NGINX_PORT" "$AUTHD_PORT" "$PROXY_PORT")
[ "$POLICY" != 1 ] || ALL_PORTS+=("$POL_PORT_A" "$POL_PORT_B")
[ "$CRL" != 1 ] || ALL_PORTS+=("$CRL_PORT")
for p in "${ALL_PORTS[@]}"; do
    if ss -Htln "sport = :$p" | grep -q .; then die "port $p is in use (set BENCH_PORT)"; fi
done

# stop PID: TERM it and wait for it to go (it was started by this script)
stop() {
    local pid=$1 i
    kill -TERM "$pid" 2>/dev/null || return 0
    for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    local keep=()
    for i in "${PIDS[@]}"; do [ "$i" = "$pid" ] || keep+=("$i"); done
    PIDS=("${keep[@]}")
}

# wait_http URL: until it answers at all (any status), 10 s at most
wait_http() {
    local i
    for i in $(seq 100); do
        curl -s -o /dev/null --max-time 1 "$1" && return 0
        sleep 0.1
    done
    return 1
}

# ---------------------------------------------------------------- PKI and certificates
say "bench: PKI (tests/pki/gen.sh)"
[ -x "$ROOT/tests/pki/gen.sh" ] || [ -f "$ROOT/tests/pki/gen.sh" ] || die "tests/pki/gen.sh missing"
bash "$ROOT/tests/pki/gen.sh" "$T/pki" || die "gen.sh failed"
PKI=$T/pki
TRUST=$PKI/trust.pem; [ -f "$TRUST" ] || TRUST=$PKI/root.pem
INTER=$PKI/intermediates.pem; [ -f "$INTER" ] || INTER=$PKI/intermediate.pem

cc -O2 -Wall -Wextra -o "$T/gencerts" "$HERE/gencerts.c" -lcrypto || die "cannot build gencerts"

# openssl_speed SECONDS: ECDSA P-256 verify/s on the server CPU
openssl_speed() {
    taskset -c "$SCPU" openssl speed -seconds "$1" -mr ecdsap256 >"$T/speed.txt" 2>&1 ||
        die "openssl speed failed: $(tail -3 "$T/speed.txt")"
    # machine-readable summary: +F4:<n>:<bits>:<sign/s>:<verify/s>
    awk -F: '/^\+F4:/ && $3 == 256 { printf "%.0f", $5 }' "$T/speed.txt"
}

# a first, short estimate only sizes the certificate list
VERIFY_RATE=$(openssl_speed 1)
[ "${VERIFY_RATE:-0}" -gt 0 ] || die "cannot parse openssl speed output"
if [ "$NCERTS" = auto ]; then
    NCERTS=$(( VERIFY_RATE * DURATION * 6 / 5 + 1000 ))
fi
say "bench: generating $NCERTS cold certificates"
# one generator per CPU; each uses its own random serial prefix
jobs_n=$NPROC gpids=()
for j in $(seq 0 $((jobs_n - 1))); do
    n=$(( NCERTS / jobs_n + (j < NCERTS % jobs_n ? 1 : 0) ))
    "$T/gencerts" leaves "$PKI/intermediate.pem" "$PKI/intermediate.key" "$n" "$T/cold.$j" &
    gpids+=($!)
done
for p in "${gpids[@]}"; do wait "$p" || die "gencerts failed"; done
cat "$T"/cold.[0-9]* > "$T/cold.txt"; rm -f "$T"/cold.[0-9]*
"$T/gencerts" leaves "$PKI/intermediate.pem" "$PKI/intermediate.key" 1 "$T/warm.txt" || die "gencerts failed"
"$T/gencerts" leaves "$PKI/intermediate.pem" "$PKI/intermediate.key" 1 "$T/probe.txt" || die "gencerts failed"

# ---------------------------------------------------------------- wrk
# wait_idle: the host is shared; wait (30 s at most) until both CPUs are
# nearly idle so one case does not inherit another process's load
wait_idle() {
    local i a b
    for i in $(seq 60); do
        a=$(awk '/^cpu / { t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, t }' /proc/stat)
        sleep 0.5
        b=$(awk '/^cpu / { t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, t }' /proc/stat)
        awk -v a="$a" -v b="$b" 'BEGIN { split(a, x, " "); split(b, y, " ");
            exit !((y[1] - x[1]) * 100 < 10 * (y[2] - x[2] > 0 ? y[2] - x[2] : 1)) }' && return 0
    done
    say "bench: WARNING: machine still busy after 30 s; figures may be low"
    BUSY_WARN=1
}
# abba NAME_A PORT_A NAME_B PORT_B [ENV...]: warm runs A B B A back to back
# (after waiting for an idle machine once), half of DURATION each; NAME.res
# is the two halves: mean req/s, latency and cpu, counts summed.  ENV goes to
# wrk (BENCH_CERT is the warm certificate).
abba() {
    local a=$1 pa=$2 b=$3 pb=$4 r n p
    shift 4
    wait_idle
    for r in "$a.1 $pa" "$b.1 $pb" "$b.2 $pb" "$a.2 $pa"; do
        n=${r% *}; p=${r#* }
        say "bench: $n"
        [ "$WARMUP" -le 0 ] || run_wrk "$n.warmup" "http://127.0.0.1:$p/auth" "$WARMUP" BENCH_CERT="$T/warm.txt" "$@"
        run_wrk "$n" "http://127.0.0.1:$p/auth" "$HALF" BENCH_CERT="$T/warm.txt" "$@"
    done
    for n in "$a" "$b"; do
        awk '{ for (i = 1; i <= NF; i++) v[i] += $i }
             END { printf "%.1f %.0f %.0f %d %d %d %.0f %.0f\n", v[1] / 2, v[2] / 2, v[3] / 2,
                   v[4], v[5], v[6], v[7] / 2, v[8] / 2 }' "$T/$n.1.res" "$T/$n.2.res" >"$T/$n.res"
    done
}
BUSY_WARN=0

# cpu_sample: "busy total" jiffies of the server CPU, then of the client CPU
cpu_sample() {
    awk -v s="cpu$SCPU" -v c="cpu$CCPU" '$1 == s || $1 == c {
        t = 0; for (i = 2; i <= NF; i++) t += $i; v[$1] = (t - $5 - $6) " " t }
        END { print v[s], v[c] }' /proc/stat
}

# run_wrk NAME URL SECONDS ENV...: leaves
# "rps p50_us p99_us non2xx sock_errors wraps server_cpu% client_cpu%" in $T/NAME.res
run_wrk() {
    local name=$1 url=$2 secs=$3; shift 3
    local sb0 st0 cb0 ct0 sb1 st1 cb1 ct1
    read -r sb0 st0 cb0 ct0 < <(cpu_sample)
    env "$@" BENCH_THREADS="$WRK_THREADS" taskset -c "$CCPU" \
        wrk -t"$WRK_THREADS" -c"$CONNS" -d"${secs}s" --timeout 5s -s "$HERE/bench.lua" "$url" \
        >"$T/$name.wrk" 2>&1 || die "wrk failed ($name): $(tail -5 "$T/$name.wrk")"
    read -r sb1 st1 cb1 ct1 < <(cpu_sample)
    awk -v scpu="$(( (sb1 - sb0) * 100 / (st1 - st0 > 0 ? st1 - st0 : 1) ))" \
        -v ccpu="$(( (cb1 - cb0) * 100 / (ct1 - ct0 > 0 ? ct1 - ct0 : 1) ))" '
        /^BENCH / { for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
                    print v["rps"], v["p50_us"], v["p99_us"], v["non2xx"], v["sock_errors"], v["wraps"], scpu, ccpu }
    ' "$T/$name.wrk" >"$T/$name.res"
    [ -s "$T/$name.res" ] || die "no result from wrk ($name): $(tail -5 "$T/$name.wrk")"
}

# measure NAME URL ENV...: warm-up then the measured run
measure() {
    local name=$1 url=$2; shift 2
    say "bench: $name"
    wait_idle
    if [ "$WARMUP" -gt 0 ]; then
        run_wrk "$name.warmup" "$url" "$WARMUP" BENCH_CERT="$T/warm.txt"
    fi
    run_wrk "$name" "$url" "$DURATION" "$@"
}

# check_200 URL CERTFILE WHAT [CURL_ARGS...]: one request, must be 200
check_200() {
    local code
    code=$(curl -s -o /dev/null -D "$T/check.h" -w '%{http_code}' --max-time 5 \
        -H "X-SSL-Client-Cert: $(head -n1 "$2")" "${@:4}" "$1") || true
    if [ "$code" != 200 ]; then
        say "bench: $3: expected 200, got '${code}'; response headers:"
        sed 's/^/    /' "$T/check.h" >&2 || true
        die "refusing to benchmark non-200 answers"
    fi
}

# ---------------------------------------------------------------- nginx
mkdir -p "$T/nginx/tmp" "$T/www"
: > "$T/www/auth"
nginx_conf() { # nginx_conf PORT SERVER_BLOCK_BODY [HTTP_EXTRA]
    cat <<EOF
user root;
worker_processes 1;
pid $T/nginx/nginx.pid;
error_log $T/nginx/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $T/nginx/tmp/body;
    proxy_temp_path $T/nginx/tmp/proxy;
    fastcgi_temp_path $T/nginx/tmp/fastcgi;
    uwsgi_temp_path $T/nginx/tmp/uwsgi;
    scgi_temp_path $T/nginx/tmp/scgi;
    # the certificate header is ~1 kB: no large-header-buffer path
    client_header_buffer_size 4k;
    keepalive_requests 100000000;
    keepalive_timeout 60s;
    ${3:-}
    server {
        listen 127.0.0.1:$1 backlog=4096;
        $2
    }
}
EOF
}
start_nginx() { # start_nginx CONF
    taskset -c "$SCPU" nginx -p "$T/nginx" -c "$1" -e "$T/nginx/error.log" -g 'daemon off;' \
        2>>"$T/nginx/stderr" &
    NGINX_PID=$!
    PIDS+=("$NGINX_PID")
}

nginx_conf "$NGINX_PORT" 'location / { return 200; }' >"$T/nginx/ref.conf"
start_nginx "$T/nginx/ref.conf"
wait_http "http://127.0.0.1:$NGINX_PORT/" || die "nginx did not start: $(tail -3 "$T/nginx/error.log" "$T/nginx/stderr")"
check_200 "http://127.0.0.1:$NGINX_PORT/auth" "$T/warm.txt" "nginx return 200"
measure nginx "http://127.0.0.1:$NGINX_PORT/auth" BENCH_CERT="$T/warm.txt"
stop "$NGINX_PID"

# ---------------------------------------------------------------- authd
read -ra EXTRA_ARGS <<<"$AUTHD_ARGS"    # a list of words
AUTHD_CMD=("$AUTHD" serve --listen "127.0.0.1:$AUTHD_PORT" --threads 1
           --trust "$TRUST" --intermediates "$INTER" "${EXTRA_ARGS[@]}")
start_authd() {
    taskset -c "$SCPU" "${AUTHD_CMD[@]}" 2>>"$T/authd.log" &
    AUTHD_PID=$!
    PIDS+=("$AUTHD_PID")
    wait_http "http://127.0.0.1:$AUTHD_PORT/healthz" ||
        die "authd did not start: $(tail -5 "$T/authd.log")"
}
start_authd
check_200 "http://127.0.0.1:$AUTHD_PORT/auth" "$T/warm.txt" "authd, warm certificate"
check_200 "http://127.0.0.1:$AUTHD_PORT/auth" "$T/probe.txt" "authd, fresh certificate"

perf_start() { # perf_start NAME [PID]
    [ -n "$PERF_DIR" ] || return 0
    mkdir -p "$PERF_DIR"
    perf record --call-graph dwarf,16384 -F 499 -o "$PERF_DIR/$1.data" -p "${2:-$AUTHD_PID}" >/dev/null 2>&1 &
    PERF_PID=$!
    PIDS+=("$PERF_PID")
}
perf_stop() {
    [ -n "$PERF_DIR" ] || return 0
    kill -INT "$PERF_PID" 2>/dev/null || true
    wait "$PERF_PID" 2>/dev/null || true
    local keep=() i
    for i in "${PIDS[@]}"; do [ "$i" = "$PERF_PID" ] || keep+=("$i"); done
    PIDS=("${keep[@]}")
}

perf_start warm
measure warm "http://127.0.0.1:$AUTHD_PORT/auth" BENCH_CERT="$T/warm.txt"
perf_stop
say "bench: openssl speed ecdsap256 (${SPEED_SECONDS}s, CPU $SCPU)"
wait_idle
VERIFY_RATE=$(openssl_speed "$SPEED_SECONDS")
[ "${VERIFY_RATE:-0}" -gt 0 ] || die "cannot parse openssl speed output"
perf_start cold
measure cold "http://127.0.0.1:$AUTHD_PORT/auth" BENCH_CERTS="$T/cold.txt"
perf_stop
say "bench: OpenSSL floor (d2i_X509 + X509_verify, CPU $SCPU)"
taskset -c "$SCPU" "$T/gencerts" floor "$T/cold.txt" "$PKI/intermediate.pem" 3 >"$T/floor.txt" ||
    die "gencerts floor failed"
read -r FLOOR_RATE FLOOR_PARSE FLOOR_VERIFY < <(awk '/^FLOOR / {
    for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
    print v["per_s"], v["parse_us"], v["verify_us"] }' "$T/floor.txt")
[ -n "${FLOOR_RATE:-}" ] || die "cannot parse gencerts floor output"

# ---------------------------------------------------------------- nginx auth_request -> authd
if [ "$PROXY" = 1 ]; then
    # wrk cannot present a client certificate, so nginx takes the certificate
    # from the request header here instead of from the TLS handshake; the
    # subrequest, the keep-alive upstream and authd's work are the same.
    nginx_conf "$PROXY_PORT" 'location / { root '"$T/www"'; }' >"$T/nginx/static.conf"
    # shellcheck disable=SC2016 # $http_x_ssl_client_cert etc. are nginx's
    nginx_conf "$PROXY_PORT" '
        location = /_authd {
            internal;
            proxy_pass http://authd/auth;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_set_header X-SSL-Client-Cert $http_x_ssl_client_cert;
            proxy_set_header X-Original-URI $request_uri;
            proxy_set_header X-Original-Method $request_method;
            proxy_set_header X-Original-Host $host;
        }
        location / {
            auth_request /_authd;
            root '"$T/www"';
        }' "upstream authd { server 127.0.0.1:$AUTHD_PORT; keepalive 64; }" >"$T/nginx/proxy.conf"

    start_nginx "$T/nginx/static.conf"
    wait_http "http://127.0.0.1:$PROXY_PORT/" || die "nginx did not start: $(tail -3 "$T/nginx/error.log")"
    check_200 "http://127.0.0.1:$PROXY_PORT/auth" "$T/warm.txt" "nginx static file"
    measure static "http://127.0.0.1:$PROXY_PORT/auth" BENCH_CERT="$T/warm.txt"
    stop "$NGINX_PID"

    start_nginx "$T/nginx/proxy.conf"
    wait_http "http://127.0.0.1:$PROXY_PORT/" || die "nginx did not start: $(tail -3 "$T/nginx/error.log")"
    check_200 "http://127.0.0.1:$PROXY_PORT/auth" "$T/warm.txt" "nginx auth_request -> authd"
    measure proxy "http://127.0.0.1:$PROXY_PORT/auth" BENCH_CERT="$T/warm.txt"
    stop "$NGINX_PID"
fi
stop "$AUTHD_PID"

# ---------------------------------------------------------------- daemons for the policy and CRL rows
# start_daemon PORT LOG ARGS...: authd on the server CPU; sets DAEMON_PID
start_daemon() {
    local port=$1 log=$2; shift 2
    taskset -c "$SCPU" "$AUTHD" serve --listen "127.0.0.1:$port" --threads 1 \
        --trust "$TRUST" --intermediates "$INTER" "${EXTRA_ARGS[@]}" "$@" 2>>"$log" &
    DAEMON_PID=$!
    PIDS+=("$DAEMON_PID")
}
# wait_healthz PORT SECONDS: until /healthz answers; prints the seconds since T0_NS
wait_healthz() {
    local end=$(( $(date +%s) + $2 ))
    while [ "$(date +%s)" -le "$end" ]; do
        if curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$1/healthz"; then
            awk -v a="$T0_NS" -v b="$(date +%s%N)" 'BEGIN { printf "%.2f", (b - a) / 1e9 }'
            return 0
        fi
        sleep 0.02
    done
    return 1
}
# rss PID: "VmRSS RssAnon RssFile VmHWM" in kB
rss() {
    awk '/^VmRSS:/ { r = $2 } /^RssAnon:/ { a = $2 } /^RssFile:/ { f = $2 } /^VmHWM:/ { h = $2 }
         END { print r, a, f, h }' "/proc/$1/status"
}

# ---------------------------------------------------------------- policy (issue 3)
if [ "$POLICY" = 1 ]; then
    POL_URI="/api/v1/items/42?view=full"

    # gen_p100 FILE: 99 rules, each with a regex, none of which matches the
    # benchmark request, then `allow true`: every request walks all 100.
    # The leaf is CN=bench-leaf-N,O=authd bench with no SAN, so the 29 san.*
    # rules find no value and run no regex; the 70 subject and path rules do.
    gen_p100() {
        local i
        {
            echo "# generated by tests/bench/run.sh (BENCH_POLICY): 99 rules that"
            echo "# do not match the benchmark request, then a catch-all"
            echo "ruleset default {"
            for i in $(seq 0 98); do
                case $((i % 10)) in
                0) echo "  deny  subject.CN ~ \"^svc-$i-[a-z]+\$\" reason \"r$i\"" ;;
                1) echo "  deny  path ~ \"^/admin/$i/(users|groups)/\"" ;;
                2) echo "  deny  subject ~ \"(^|,)OU=Team$i(,|\$)\" reason \"r$i\"" ;;
                3) echo "  allow san.dns ~ \"^host$i\\.example\\.org\$\" set X-Host = san.dns" ;;
                4) echo "  deny  subject.O ~ \"(?i)^partner-$i\\b\" and path prefix \"/p$i/\"" ;;
                5) echo "  allow san.uri ~ \"^spiffe://example\\.org/ns/n$i/\" and path ~ \"^/api/\"" ;;
                6) echo "  deny  path ~ \"/x$i\\.(php|aspx?|cgi)\$\" reason \"r$i\"" ;;
                7) echo "  deny  subject.CN ~ \"^bench-leaf-x$i\"" ;;
                8) echo "  deny  path ~ \"^/api/v$i/(secret|internal)\" reason \"r$i\"" ;;
                9) echo "  deny  san.email ~ \"@dept$i\\.example\\.com\$\"" ;;
                esac
            done
            echo "  allow true"
            echo "}"
        } >"$1"
    }
    gen_p100 "$T/p100.policy"
    "$AUTHD" policy check "$T/p100.policy" >"$T/p100.check" 2>&1 ||
        die "the generated policy does not compile: $(tail -3 "$T/p100.check")"

    # -- 1. P100 against no policy: two daemons, measured A B B A
    start_daemon "$POL_PORT_A" "$T/authd-nopol.log"
    NOPOL_PID=$DAEMON_PID
    start_daemon "$POL_PORT_B" "$T/authd-p100.log" --policy "$T/p100.policy" --data-dir "$T/data-p100"
    P100_PID=$DAEMON_PID
    T0_NS=$(date +%s%N)
    wait_healthz "$POL_PORT_A" 20 >/dev/null || die "authd did not start: $(tail -5 "$T/authd-nopol.log")"
    wait_healthz "$POL_PORT_B" 20 >/dev/null || die "authd did not start: $(tail -5 "$T/authd-p100.log")"
    check_200 "http://127.0.0.1:$POL_PORT_A/auth" "$T/warm.txt" "authd, no policy" -H "X-Original-URI: $POL_URI"
    check_200 "http://127.0.0.1:$POL_PORT_B/auth" "$T/warm.txt" "authd, P100" -H "X-Original-URI: $POL_URI"
    LAST_RULE=$(grep -n '^  allow true$' "$T/p100.policy" | cut -d: -f1)
    grep -qi "^X-Authd-Rule: .*p100.policy:$LAST_RULE"$'\r'"\?\$" "$T/check.h" ||
        die "P100: the request was not decided by the last rule: $(grep -i '^X-Authd-Rule' "$T/check.h")"
    abba nopol "$POL_PORT_A" p100 "$POL_PORT_B" BENCH_URI="$POL_URI"
    stop "$NOPOL_PID"
    stop "$P100_PID"

    # -- 2. in LIST, in-process
    say "bench: listbench ($LIST_ENTRIES entries, $LIST_QUERIES queries x 3)"
    cc -O2 -Wall -Wextra -I "$ROOT/authd" -o "$T/listbench" "$HERE/listbench.c" \
        "$ROOT/build-bench/libauthd_core.a" -lmicrohttpd -lssl -lcrypto -lpcre2-8 -lcurl -llmdb -lpthread ||
        die "cannot build listbench"
    mkdir -p "$T/lb"
    wait_idle
    taskset -c "$SCPU" "$T/listbench" run "$T/lb" "$LIST_ENTRIES" "$LIST_QUERIES" >"$T/listbench.txt" ||
        die "listbench failed: $(tail -3 "$T/listbench.txt")"
    lb() { awk -v k="$1" '/^(LISTBENCH|EVAL) / { for (i = 2; i <= NF; i++) { split($i, kv, "=");
        if (kv[1] == k) print kv[2] } }' "$T/listbench.txt"; }
    [ -n "$(lb store_ns)" ] || die "cannot parse listbench output"
    # P100 alone, in-process, for the same identity and path (diagnostic)
    taskset -c "$SCPU" "$T/listbench" eval "$T/p100.policy" bench-leaf-0 "${POL_URI%%\?*}" 50000 \
        >>"$T/listbench.txt" || die "listbench eval failed"
    lb decided | grep -q ":$LAST_RULE\$" || die "listbench eval: P100 not decided by its last rule"

    # -- 3. authd serve with the big list: import, restart, memory
    "$T/listbench" gen 10 "$T/tiny.txt"
    for n in big tiny; do
        f=$T/lb/big.txt; [ "$n" = big ] || f=$T/tiny.txt
        printf 'list l file "%s"\nruleset default {\n  deny fingerprint in l reason "listed"\n  allow true\n}\n' \
            "$f" >"$T/$n.policy"
    done
    WARM_REQ=${BENCH_RSS_REQUESTS:-100000}
    # serve_case NAME POLICY DATADIR LOAD: start, time to /healthz, RSS;
    # LOAD=1: then ~WARM_REQ warm requests and RSS again. Leaves
    # "start_s rss anon file hwm [requests rss anon file hwm]" in $T/NAME.serve
    serve_case() {
        local name=$1 pol=$2 dir=$3 load=$4 start done_req i
        say "bench: serve start, $name"
        [ "$name" != tiny ] || wait_idle
        T0_NS=$(date +%s%N)
        start_daemon "$POL_PORT_A" "$T/authd-$name.log" --policy "$pol" --data-dir "$dir"
        start=$(wait_healthz "$POL_PORT_A" 120) || die "authd did not start: $(tail -5 "$T/authd-$name.log")"
        sleep 0.5   # let the loader's memory settle
        echo "$start $(rss "$DAEMON_PID")" >"$T/$name.serve"
        if [ "$load" = 1 ]; then
            check_200 "http://127.0.0.1:$POL_PORT_A/auth" "$T/warm.txt" "authd, $name" -H "X-Original-URI: $POL_URI"
            # 2-second runs until WARM_REQ requests were answered
            done_req=0 i=0
            while [ "$done_req" -lt "$WARM_REQ" ] && [ "$i" -lt 30 ]; do
                run_wrk "rss-$name" "http://127.0.0.1:$POL_PORT_A/auth" 2 \
                    BENCH_CERT="$T/warm.txt" BENCH_URI="$POL_URI"
                done_req=$(( done_req + $(awk '/^BENCH / { sub(/.*requests=/, ""); print $1 + 0 }' "$T/rss-$name.wrk") ))
                [ "$(cut -d' ' -f4 "$T/rss-$name.res")" = 0 ] || die "$name: non-2xx answers under load"
                i=$((i + 1))
            done
            echo "$done_req $(rss "$DAEMON_PID")" >>"$T/$name.serve"
        fi
        stop "$DAEMON_PID"
    }
    serve_case tiny "$T/tiny.policy" "$T/data-tiny" 1
    serve_case big-import "$T/big.policy" "$T/data-big" 0
    serve_case big-store "$T/big.policy" "$T/data-big" 1
    LIST_FILE_BYTES=$(stat -c %s "$T/lb/big.txt")
    # allocated bytes: with MDB_WRITEMAP the map file is sparse, its size the map size
    STORE_BYTES=$(( $(du -k "$T/data-big/data.mdb" | cut -f1) * 1024 ))
fi

# ---------------------------------------------------------------- CRL at scale (issue 4)
# ---------------------------------------------------------------- OCSP (issue 5)
# ocsp_abba TAG RESP_PORT NMIN A B PORT_A PORT_B: a local `openssl ocsp`
# that knows the warm certificate (answers living NMIN minutes), authd
# without OCSP on PORT_A and with `ocsp leaf` asking it on PORT_B, both
# checked, then A B B A; QUERIES the responder's count afterwards.
ocsp_abba() {
    local tag=$1 rport=$2 nmin=$3 a=$4 b=$5 pa=$6 pb=$7 apid bpid
    openssl ocsp -index "$T/ocsp-index.txt" -port "$rport" -rsigner "$PKI/intermediate.pem" \
        -rkey "$PKI/intermediate.key" -CA "$PKI/intermediate.pem" -nmin "$nmin" >"$T/$tag-responder.log" 2>&1 &
    PIDS+=($!)
    for _ in $(seq 1 50); do grep -q 'waiting for OCSP client' "$T/$tag-responder.log" && break; sleep 0.1; done
    start_daemon "$pa" "$T/authd-$a.log"
    apid=$DAEMON_PID
    start_daemon "$pb" "$T/authd-$b.log" --ocsp leaf \
        --ocsp-responder "http://127.0.0.1:$rport" --data-dir "$T/data-$b"
    bpid=$DAEMON_PID
    T0_NS=$(date +%s%N)
    wait_healthz "$pa" 20 >/dev/null || die "authd did not start: $(tail -5 "$T/authd-$a.log")"
    wait_healthz "$pb" 20 >/dev/null || die "authd did not start: $(tail -5 "$T/authd-$b.log")"
    check_200 "http://127.0.0.1:$pa/auth" "$T/warm.txt" "authd, no OCSP"
    check_200 "http://127.0.0.1:$pb/auth" "$T/warm.txt" "authd, OCSP (first answer)"
    abba "$a" "$pa" "$b" "$pb"
    QUERIES=$(grep -c 'Received request' "$T/$tag-responder.log" || true)
    stop "$apid"
    stop "$bpid"
}
# The warm certificate with OCSP on: one answer from a local `openssl ocsp`
# (the first request), then every request is answered from the caches.
if [ "$OCSP" = 1 ]; then
    say "bench: OCSP warm path"
    python3 -c 'import sys, urllib.parse; sys.stdout.write(urllib.parse.unquote(open(sys.argv[1]).readline().strip()))' \
        "$T/warm.txt" >"$T/warm.pem" || die "cannot decode the warm certificate"
    WSER=$(openssl x509 -in "$T/warm.pem" -noout -serial | sed 's/^serial=//')
    printf 'V\t%s\t\t%s\tunknown\t/CN=bench\n' "$(date -u -d '+30 days' +%y%m%d%H%M%SZ)" "$WSER" \
        >"$T/ocsp-index.txt"
    ocsp_abba ocsp "$OCSP_RESP_PORT" 60 noocsp ocsp "$OCSP_PORT_A" "$OCSP_PORT_B"
    OCSP_QUERIES=$QUERIES
fi

# ---------------------------------------------------------------- OCSP refreshing (issue 12)
# The warm certificate with OCSP answers that live a minute: authd decides
# the cached verdict again a tenth of the answer's life before nextUpdate,
# which starts a refresh in the background, and an answer that changes no
# status leaves the other cached verdicts alone.  Runs of
# OCSP_REFRESH_SECONDS, so that the refresh (about 54 s after the first
# answer) falls inside the B runs.
if [ "$OCSP" = 1 ] && [ "$OCSP_REFRESH" = 1 ]; then
    say "bench: OCSP warm path while answers refresh"
    SAVED_HALF=$HALF
    HALF=$OCSP_REFRESH_SECONDS
    ocsp_abba refresh "$REFRESH_RESP_PORT" 1 rnoocsp rocsp "$REFRESH_PORT_A" "$REFRESH_PORT_B"
    HALF=$SAVED_HALF
    REFRESH_QUERIES=$QUERIES
fi

# ---------------------------------------------------------------- certificate policies (issue 13)
# A leaf of the policy CA (pcy/ca.pem, asserting PIV Authentication and a
# low policy) that asserts PIV; one daemon requires PIV, one does not.  The
# policy processing is part of the cold path (the verdict cache keeps the
# result): the warm requests should not see it.
if [ "$CERTPOLICY" = 1 ]; then
    say "bench: certificate policies, warm"
    PIV_AUTH=2.16.840.1.101.3.2.1.3.13
    GENCERTS_POLICY=$PIV_AUTH "$T/gencerts" leaves "$PKI/pcy/ca.pem" "$PKI/pcy/ca.key" 1 "$T/pcy-warm.txt" ||
        die "gencerts (policy leaf) failed"
    start_daemon "$PCY_PORT_A" "$T/authd-nopcy.log" --trust "$PKI/pcy/root.pem" \
        --intermediates "$PKI/pcy/intermediates.pem"
    NOPCY_PID=$DAEMON_PID
    start_daemon "$PCY_PORT_B" "$T/authd-pcy.log" --trust "$PKI/pcy/root.pem" \
        --intermediates "$PKI/pcy/intermediates.pem" --require-policy "$PIV_AUTH"
    PCY_PID=$DAEMON_PID
    T0_NS=$(date +%s%N)
    wait_healthz "$PCY_PORT_A" 20 >/dev/null || die "authd did not start: $(tail -5 "$T/authd-nopcy.log")"
    wait_healthz "$PCY_PORT_B" 20 >/dev/null || die "authd did not start: $(tail -5 "$T/authd-pcy.log")"
    check_200 "http://127.0.0.1:$PCY_PORT_A/auth" "$T/pcy-warm.txt" "authd, no require_policy"
    check_200 "http://127.0.0.1:$PCY_PORT_B/auth" "$T/pcy-warm.txt" "authd, require_policy"
    # the same daemon refuses a leaf of the same CA without PIV
    "$T/gencerts" leaves "$PKI/pcy/ca.pem" "$PKI/pcy/ca.key" 1 "$T/pcy-none.txt" || die "gencerts failed"
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 \
        -H "X-SSL-Client-Cert: $(head -n1 "$T/pcy-none.txt")" "http://127.0.0.1:$PCY_PORT_B/auth") || true
    [ "$code" = 401 ] || die "require_policy: a leaf without the policy got '$code', not 401"
    abba nopcy "$PCY_PORT_A" pcy "$PCY_PORT_B" BENCH_CERT="$T/pcy-warm.txt"
    stop "$NOPCY_PID"
    stop "$PCY_PID"
fi

# ---------------------------------------------------------------- caIssuers (issue 13)
# Cold requests whose issuer authd has configured, against cold requests
# whose issuer authd fetched from their caIssuers URL earlier (kept in
# LMDB, read back after a restart).  Each daemon gets leaves of its own.
if [ "$AIA_BENCH" = 1 ]; then
    say "bench: caIssuers, cold"
    AIA_URL_BENCH=http://aia.authd.test/ica.der
    NA=$(( NCERTS / 2 + 1000 ))
    for set in a b probe; do
        n=$NA; [ "$set" != probe ] || n=1
        GENCERTS_AIA=$AIA_URL_BENCH "$T/gencerts" leaves "$PKI/aia/ica.pem" "$PKI/aia/ica.key" "$n" \
            "$T/aia-$set.txt" || die "gencerts (caIssuers leaves) failed"
    done
    nginx_conf "$AIA_WWW_PORT" 'location / { root '"$PKI/aia/www"'; }' >"$T/nginx/aia.conf"
    start_nginx "$T/nginx/aia.conf"
    AIA_NGINX_PID=$NGINX_PID
    wait_http "http://127.0.0.1:$AIA_WWW_PORT/ica.der" || die "nginx (caIssuers) did not start"
    start_daemon "$AIA_PORT_A" "$T/authd-aia-conf.log" --intermediates "$PKI/aia/ica.pem"
    AIAA_PID=$DAEMON_PID
    aia_b() {
        start_daemon "$AIA_PORT_B" "$T/authd-aia-fetch.log" --ca-issuers-fetch on \
            --fetch-proxy "http://127.0.0.1:$AIA_WWW_PORT" --data-dir "$T/data-aia"
        AIAB_PID=$DAEMON_PID
        T0_NS=$(date +%s%N)
        wait_healthz "$AIA_PORT_B" 20 >/dev/null || die "authd did not start: $(tail -5 "$T/authd-aia-fetch.log")"
    }
    aia_b
    T0_NS=$(date +%s%N)
    wait_healthz "$AIA_PORT_A" 20 >/dev/null || die "authd did not start: $(tail -5 "$T/authd-aia-conf.log")"
    check_200 "http://127.0.0.1:$AIA_PORT_A/auth" "$T/aia-probe.txt" "authd, issuer configured"
    check_200 "http://127.0.0.1:$AIA_PORT_B/auth" "$T/aia-probe.txt" "authd, issuer fetched"
    stop "$AIAB_PID"
    aia_b     # again: the issuer now comes from LMDB
    check_200 "http://127.0.0.1:$AIA_PORT_B/auth" "$T/aia-probe.txt" "authd, issuer from LMDB"
    grep -q "caIssuers $AIA_URL_BENCH: 1 CA certificate" "$T/authd-aia-fetch.log" ||
        die "caIssuers: the issuer was never fetched"
    [ "$(grep -c "caIssuers $AIA_URL_BENCH: 1 CA certificate" "$T/authd-aia-fetch.log")" = 1 ] ||
        die "caIssuers: fetched again after the restart (not read from LMDB)"
    stop "$AIA_NGINX_PID"
    measure aiaconf "http://127.0.0.1:$AIA_PORT_A/auth" BENCH_CERTS="$T/aia-a.txt"
    measure aiafetch "http://127.0.0.1:$AIA_PORT_B/auth" BENCH_CERTS="$T/aia-b.txt"
    stop "$AIAA_PID"
    stop "$AIAB_PID"
fi

# ---------------------------------------------------------------- restart (issue 14)
# Leaves seen before a restart.  One daemon and one data_dir per case:
# seed (cold.txt from its start, each line once: cold), warm (the lines
# the seed reached, again: the verdict cache, sized to hold them all),
# restart, restored (the same lines: each chain from LMDB).  The server
# CPU is saturated in every run, so req/s is the inverse of CPU per request.
declare -A RS_SEEN RS_HIT
if [ "$RESTART" = 1 ]; then
    # task_ns PID: CPU time of all of PID's threads so far, in ns
    task_ns() {
        cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ t += $1 } END { printf "%.0f\n", t }'
    }
    # cpu_run NAME PID URL SECONDS ENV...: run_wrk, and PID's CPU time per
    # request (ns) into $T/NAME.cpu
    cpu_run() {
        local name=$1 pid=$2 c0 c1 n; shift 2
        c0=$(task_ns "$pid")
        run_wrk "$name" "$@"
        c1=$(task_ns "$pid")
        n=$(sed -n 's/^BENCH requests=\([0-9]*\) .*/\1/p' "$T/$name.wrk")
        [ "${n:-0}" -gt 0 ] || die "$name: no requests"
        echo $(( (c1 - c0) / n )) >"$T/$name.cpu"
    }
    restart_case() { # restart_case TAG ARGS...
        local tag=$1 d k url="http://127.0.0.1:$RESTART_PORT/auth"; shift
        d="$T/data-restart-$tag"
        rm -rf "$d"
        say "bench: restart ($tag)"
        start_daemon "$RESTART_PORT" "$T/authd-restart-$tag.log" --data-dir "$d" --cache-size 2000000 "$@"
        RS_PID=$DAEMON_PID
        wait_http "http://127.0.0.1:$RESTART_PORT/healthz" || die "authd (restart) did not start"
        wait_idle
        run_wrk "rs-$tag-seed" "$url" $(( 3 * DURATION )) BENCH_CERTS="$T/cold.txt"
        k=$(sed -n 's/^BENCH requests=\([0-9]*\) .*/\1/p' "$T/rs-$tag-seed.wrk")
        [ "${k:-0}" -gt 0 ] || die "restart: no seed requests"
        head -n "$k" "$T/cold.txt" > "$T/seen-$tag.txt"
        wait_idle
        perf_start "warm-$tag" "$RS_PID"
        cpu_run "rs-$tag-warm" "$RS_PID" "$url" "$RESTART_SECONDS" BENCH_CERTS="$T/seen-$tag.txt"
        perf_stop
        stop "$RS_PID"
        start_daemon "$RESTART_PORT" "$T/authd-restart-$tag.log" --data-dir "$d" --cache-size 2000000 "$@"
        RS_PID=$DAEMON_PID
        wait_http "http://127.0.0.1:$RESTART_PORT/healthz" || die "authd (restart) did not restart"
        wait_idle
        perf_start "restored-$tag" "$RS_PID"
        cpu_run "rs-$tag-restored" "$RS_PID" "$url" "$RESTART_SECONDS" BENCH_CERTS="$T/seen-$tag.txt"
        perf_stop
        RS_HITS=$(curl -s "http://127.0.0.1:$RESTART_PORT/metrics" |
            awk '$1 == "authd_verified_chain_hits_total" { print $2 }')
        RS_SEEN[$tag]=$k
        RS_HIT[$tag]=${RS_HITS:-0}
        stop "$RS_PID"
    }
    # what keeping costs a cold request: the same daemon keeping nothing
    say "bench: restart (cold, nothing kept)"
    rm -rf "$T/data-restart-off"
    start_daemon "$RESTART_PORT" "$T/authd-restart-off.log" --data-dir "$T/data-restart-off" \
        --cache-size 2000000 --verified-cache-size 0
    RS_PID=$DAEMON_PID
    wait_http "http://127.0.0.1:$RESTART_PORT/healthz" || die "authd (restart) did not start"
    wait_idle
    run_wrk "rs-off-seed" "http://127.0.0.1:$RESTART_PORT/auth" "$DURATION" BENCH_CERTS="$T/cold.txt"
    stop "$RS_PID"
    restart_case plain
    restart_case crl --crl "$PKI/crl/int.crl.pem" --crl "$PKI/crl/root.crl.pem" --crl-fetch off
fi

# ---------------------------------------------------------------- audit log (issue 6)
# The warm certificate, with and without one JSON line per decision
# written to a file (the page cache; no fsync).
if [ "$AUDIT" = 1 ]; then
    say "bench: audit log"
    start_daemon "$AUDIT_PORT_A" "$T/authd-noaudit.log"
    NOAUDIT_PID=$DAEMON_PID
    start_daemon "$AUDIT_PORT_B" "$T/authd-audit.log" --audit-log "$T/audit.jsonl"
    AUDIT_PID=$DAEMON_PID
    T0_NS=$(date +%s%N)
    wait_healthz "$AUDIT_PORT_A" 20 >/dev/null || die "authd did not start: $(tail -5 "$T/authd-noaudit.log")"
    wait_healthz "$AUDIT_PORT_B" 20 >/dev/null || die "authd did not start: $(tail -5 "$T/authd-audit.log")"
    check_200 "http://127.0.0.1:$AUDIT_PORT_A/auth" "$T/warm.txt" "authd, no audit log"
    check_200 "http://127.0.0.1:$AUDIT_PORT_B/auth" "$T/warm.txt" "authd, audit log"
    abba noaudit "$AUDIT_PORT_A" audit "$AUDIT_PORT_B"
    AUDIT_LINES=$(wc -l <"$T/audit.jsonl")
    AUDIT_BYTES=$(stat -c %s "$T/audit.jsonl")
    stop "$NOAUDIT_PID"
    stop "$AUDIT_PID"
fi

if [ "$CRL" = 1 ]; then
    CRL_T0=$(date +%s)
    say "bench: crlbench gen ($CRL_ENTRIES revoked serials)"
    cc -O2 -Wall -Wextra -I "$ROOT/authd" -o "$T/crlbench" "$HERE/crlbench.c" \
        "$ROOT/build-bench/libauthd_core.a" -lmicrohttpd -lssl -lcrypto -lpcre2-8 -lcurl -llmdb -lpthread ||
        die "cannot build crlbench"
    mkdir -p "$T/crl"
    "$T/crlbench" gen "$PKI/intermediate.pem" "$PKI/intermediate.key" "$CRL_ENTRIES" "$T/crl/big" \
        >"$T/crlbench.txt" 2>>"$T/crlbench.log" || die "crlbench gen failed: $(tail -3 "$T/crlbench.log")"
    BIG_DER=$T/crl/big.der BIG_PEM=$T/crl/big.pem
    ROOT_CRL=$PKI/crl/root.crl.pem
    [ -f "$ROOT_CRL" ] || die "tests/pki/gen.sh made no crl/root.crl.pem"
    # cb KEY: a value from the CRLGEN / CRLBENCH / HOLD lines
    cb() { awk -v k="$1" '/^(CRLGEN|CRLBENCH|HOLD) / { for (i = 2; i <= NF; i++) { split($i, kv, "=");
        if (kv[1] == k) print kv[2] } }' "$T/crlbench.txt"; }

    # crl_case NAME LOAD ARGS...: authd serve ARGS on CRL_PORT: time to
    # /healthz, RSS; checks the revoked client gets 401 revoked (except
    # tiny) and the warm one 200; LOAD=1: ~CRL_REQ warm requests, RSS again.
    # Leaves "start_s rss anon file hwm [requests rss anon file hwm]" in $T/NAME.serve
    crl_case() {
        local name=$1 load=$2 start done_req i code; shift 2
        say "bench: serve start, $name"
        T0_NS=$(date +%s%N)
        start_daemon "$CRL_PORT" "$T/authd-$name.log" "$@"
        start=$(wait_healthz "$CRL_PORT" 120) || die "authd did not start: $(tail -5 "$T/authd-$name.log")"
        # CPU seconds the start took (user + system): less noisy than the wall time
        awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.2f\n", ($12 + $13) / hz }' \
            "/proc/$DAEMON_PID/stat" >"$T/$name.cpu"
        sleep 0.5   # let the loader's memory settle
        echo "$start $(rss "$DAEMON_PID")" >"$T/$name.serve"
        check_200 "http://127.0.0.1:$CRL_PORT/auth" "$T/warm.txt" "authd, $name"
        if [ "$name" != crl-tiny ]; then
            code=$(curl -s -o /dev/null -D "$T/check.h" -w '%{http_code}' --max-time 5 \
                -H "X-SSL-Client-Cert: $(head -n1 "$T/crl/big.revoked.txt")" \
                "http://127.0.0.1:$CRL_PORT/auth") || true
            if [ "$code" != 401 ] || ! grep -qi '^X-Authd-Revocation: crl' "$T/check.h"; then
                die "$name: a revoked client got '$code', not 401 revoked: $(tr -d '\r' <"$T/check.h" | grep -i '^X-Authd')"
            fi
        fi
        if [ "$load" = 1 ]; then
            done_req=0 i=0
            while [ "$done_req" -lt "$CRL_REQ" ] && [ "$i" -lt 30 ]; do
                run_wrk "rss-$name" "http://127.0.0.1:$CRL_PORT/auth" 2 BENCH_CERT="$T/warm.txt"
                done_req=$(( done_req + $(awk '/^BENCH / { sub(/.*requests=/, ""); print $1 + 0 }' "$T/rss-$name.wrk") ))
                [ "$(cut -d' ' -f4 "$T/rss-$name.res")" = 0 ] || die "$name: non-2xx answers under load"
                i=$((i + 1))
            done
            echo "$done_req $(rss "$DAEMON_PID")" >>"$T/$name.serve"
        fi
        stop "$DAEMON_PID"
    }
    wait_idle
    crl_case crl-tiny 1 --crl "$PKI/crl/int.crl.pem" --crl "$ROOT_CRL" --data-dir "$T/crl/data-tiny"
    crl_case crl-first 1 --crl "$BIG_DER" --crl "$ROOT_CRL" --data-dir "$T/crl/data"
    crl_case crl-second 1 --crl "$BIG_DER" --crl "$ROOT_CRL" --data-dir "$T/crl/data"
    crl_case crl-pem 0 --crl "$BIG_PEM" --crl "$ROOT_CRL" --data-dir "$T/crl/data"
    CRL_STORE_KB=$(du -k "$T/crl/data/data.mdb" | cut -f1)   # allocated: the map file is sparse

    say "bench: crlbench hold (the CRL as nginx's ssl_crl keeps it)"
    taskset -c "$SCPU" "$T/crlbench" hold "$BIG_PEM" >>"$T/crlbench.txt" 2>>"$T/crlbench.log" ||
        die "crlbench hold failed: $(tail -3 "$T/crlbench.log")"
    say "bench: crlbench run ($CRL_QUERIES checks x 3 passes per case)"
    mkdir -p "$T/crl/run"
    wait_idle
    taskset -c "$SCPU" "$T/crlbench" run "$PKI" "$BIG_DER" "$BIG_PEM" "$T/crl/run" "$CRL_QUERIES" \
        >>"$T/crlbench.txt" 2>>"$T/crlbench.log" || die "crlbench run failed: $(tail -3 "$T/crlbench.log")"
    if [ -z "$(cb lmdb_ns)" ] || [ -z "$(cb rss_kb)" ]; then die "cannot parse crlbench output"; fi
    CRL_SECS=$(( $(date +%s) - CRL_T0 ))
fi

# ---------------------------------------------------------------- report
bad=0
row() { # row LABEL NAME [REF_RPS TARGET]
    local label=$1 name=$2 ref=${3:-} target=${4:-}
    local rps p50 p99 non2xx sock wraps cpu ccpu ratio="" tgt="" notes=""
    read -r rps p50 p99 non2xx sock wraps cpu ccpu <"$T/$name.res"
    if [ -n "$ref" ]; then
        ratio=$(awk -v a="$rps" -v b="$ref" 'BEGIN { printf "%.2f", a / b }')
    fi
    if [ -n "$target" ]; then
        if awk -v r="$ratio" -v t="$target" 'BEGIN { exit !(r >= t) }'; then
            tgt=">= $target ok"
        else
            tgt=">= $target MISS"
        fi
    fi
    [ "$non2xx" = 0 ] || { notes+=" $non2xx non-2xx!"; bad=1; }
    [ "$sock" = 0 ] || notes+=" $sock socket errors"
    [ "$wraps" = 0 ] || { notes+=" list wrapped ${wraps}x: not all cold!"; bad=1; }
    if [ "$cpu" -lt 90 ] && [ "$ccpu" -ge 95 ]; then
        notes+=" wrk saturated its CPU: the server was not (client-bound)"
    elif [ "$cpu" -lt 90 ]; then
        notes+=" server CPU not saturated"
    fi
    printf '%-28s %9.0f %8s %8s %6s  %-14s %7s  %s\n' "$label" "$rps" \
        "$(awk -v u="$p50" 'BEGIN { printf "%.2fms", u / 1000 }')" \
        "$(awk -v u="$p99" 'BEGIN { printf "%.2fms", u / 1000 }')" \
        "$ratio" "$tgt" "$cpu/$ccpu" "${notes# }"
}
rps_of() { awk '{ print $1 }' "$T/$1.res"; }
# policy section helpers
prow() { # prow LABEL VALUE TARGET NOTES
    printf '%-34s %9s  %-20s %s\n' "$1" "$2" "$3" "$4"
}
us() { awk -v n="$1" 'BEGIN { printf "%.2fus", n / 1000 }'; }
mb() { awk -v k="$1" 'BEGIN { printf "%.1fMiB", k / 1024 }'; }   # from kB
le_target() { # le_target VALUE LIMIT UNIT: "<= LIMITUNIT ok|MISS"
    if awk -v v="$1" -v l="$2" 'BEGIN { exit !(v <= l) }'; then echo "<= $2$3 ok"; else echo "<= $2$3 MISS"; fi
}

{
    echo
    echo "authd benchmark  $(date -u +%Y-%m-%dT%H:%MZ)  authd $AUTHD_REV"
    echo "machine: $(nproc) CPUs, $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), $(uname -sr), load average $LOAD0 at start"
    echo "versions: $(nginx -v 2>&1 | sed 's/^nginx version: //'), $(openssl version | cut -d' ' -f1-2), $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2)"
    echo "server: CPU $SCPU (nginx worker_processes 1, authd --threads 1, openssl speed)"
    echo "client: CPU $CCPU: wrk -t$WRK_THREADS -c$CONNS -d${DURATION}s (keep-alive, ${WARMUP}s warm-up), GET /auth + X-SSL-Client-Cert (~$(head -n1 "$T/warm.txt" | wc -c) bytes)"
    echo "authd: ${AUTHD_CMD[*]/#$T\//}"
    echo "cold: $NCERTS distinct leaves under one intermediate"
    [ "$POLICY" != 1 ] || echo "policy: P100 = 99 non-matching regex rules + allow true (70 run a regex on subject/path; the leaf has no SAN); X-Original-URI: $POL_URI; A B B A, ${HALF}s each; list target for VmRSS: tiny list + 10% of the list file"
    [ "$CRL" != 1 ] || echo "crl: $CRL_ENTRIES random 16-byte serials, issued by the intermediate; authd serve --crl CRL --crl root.crl.pem --data-dir D (scope chain); crl_check: $CRL_QUERIES checks x 3 passes over 8192 leaves, best pass; VmRSS target: tiny CRL + 100 MB; the CRL rows took ${CRL_SECS}s"
    echo
    printf '%-28s %9s %8s %8s %6s  %-14s %7s  %s\n' case req/s p50 p99 ratio target cpu% notes
    row "nginx return 200 (ref)" nginx
    row "authd warm" warm "$(rps_of nginx)" 0.90
    printf '%-28s %9d %8s %8s %6s  %-14s %7s\n' "openssl verify p256 (ref)" "$VERIFY_RATE" - - "" "" "100/-"
    printf '%-28s %9d %8s %8s %6s  %-14s %7s  %s\n' "openssl parse+verify (ref)" "$FLOOR_RATE" - - "" "" "100/-" \
        "d2i_X509 ${FLOOR_PARSE}us + X509_verify ${FLOOR_VERIFY}us"
    row "authd cold" cold "$VERIFY_RATE" 0.80
    r=$(awk -v a="$(rps_of cold)" -v b="$FLOOR_RATE" 'BEGIN { printf "%.2f", a / b }')
    printf '%-28s %9s %8s %8s %6s  %s\n' "  cold / parse+verify" "" "" "" "$r" \
        "$(awk -v r="$r" 'BEGIN { exit !(r >= 0.90) }' && echo ">= 0.90 ok" || echo ">= 0.90 MISS")"
    if [ "$PROXY" = 1 ]; then
        row "nginx static file (ref)" static
        row "nginx auth_request->authd" proxy "$(rps_of static)"
    fi
    if [ "$OCSP" = 1 ]; then
        row "authd warm, no OCSP" noocsp
        row "authd warm, OCSP cached" ocsp "$(rps_of noocsp)" 0.90
        echo "  (OCSP responder queries during the OCSP rows: ${OCSP_QUERIES:-?}; the first request asked)"
    fi
    if [ "$OCSP" = 1 ] && [ "$OCSP_REFRESH" = 1 ]; then
        row "authd warm, no OCSP (2)" rnoocsp
        row "authd warm, OCSP refreshing" rocsp "$(rps_of rnoocsp)" 0.95
        echo "  (answers living 60 s; responder queries: ${REFRESH_QUERIES:-?}, the first request's and one per refresh)"
    fi
    if [ "$CERTPOLICY" = 1 ]; then
        row "authd warm, no require_policy" nopcy
        row "authd warm, require_policy" pcy "$(rps_of nopcy)" 0.95
    fi
    if [ "$AIA_BENCH" = 1 ]; then
        row "authd cold, issuer configured" aiaconf
        row "authd cold, issuer fetched" aiafetch "$(rps_of aiaconf)" 0.90
    fi
    if [ "$RESTART" = 1 ]; then
        row "cold, nothing kept (ref)" rs-off-seed
        for tag in plain crl; do
            row "restart $tag: seed (cold)" "rs-$tag-seed" "$(rps_of rs-off-seed)"
            row "restart $tag: warm" "rs-$tag-warm"
            row "restart $tag: restored" "rs-$tag-restored" "$(rps_of "rs-$tag-warm")"
            read -r cw <"$T/rs-$tag-warm.cpu"
            read -r cr <"$T/rs-$tag-restored.cpu"
            prow "  authd CPU/request, $tag" "$(us "$cr")" \
                "$(le_target "$(awk -v a="$cr" -v b="$cw" 'BEGIN { printf "%.2f", a / b }')" 1.5 x)" \
                "restored $(us "$cr") / warm $(us "$cw") = $(awk -v a="$cr" -v b="$cw" 'BEGIN { printf "%.2f", a / b }') x"
            echo "  (${RS_SEEN[$tag]} leaves seeded; chains taken from data_dir after the restart: ${RS_HIT[$tag]})"
        done
    fi
    if [ "$AUDIT" = 1 ]; then
        row "authd warm, audit_log off" noaudit
        row "authd warm, audit_log FILE" audit "$(rps_of noaudit)" 0.90
        echo "  (audit lines written: ${AUDIT_LINES:-?}, $(( ${AUDIT_BYTES:-0} / ${AUDIT_LINES:-1} )) bytes each)"
    fi
    if [ "$POLICY" = 1 ]; then
        row "authd warm +URI, no policy" nopol
        row "authd warm +URI, P100" p100 "$(rps_of nopol)" 0.90
        NL=$(awk -v n="$LIST_ENTRIES" 'BEGIN { if (n % 1000000 == 0) printf "%dM", n / 1000000;
            else if (n % 1000 == 0) printf "%dk", n / 1000; else print n }')
        # "start_s rss anon file hwm [requests rss anon file hwm]" per case
        read -r TS TR TA TF _ TN TR2 _ < <(paste -sd' ' "$T/tiny.serve")
        read -r IS IR IA IF IH _ < <(paste -sd' ' "$T/big-import.serve")
        read -r SS SR SA SF _ SN SR2 _ < <(paste -sd' ' "$T/big-store.serve")
        LIMIT_KB=$(( LIST_FILE_BYTES / 1024 / 10 ))
        echo
        prow "policy: lists and start" value target notes
        prow "P100 policy_eval, in-process" "$(us "$(lb ns)")" "" \
            "$(awk -v e="$(lb ns)" -v r="$(rps_of nopol)" 'BEGIN { f = e * r / 1e9;
                printf "= %.0f%% of a no-policy warm request (1/req/s): predicts a ratio of %.2f", f * 100, 1 / (1 + f) }')"
        prow "in LIST $NL, LMDB" "$(us "$(lb store_ns)")" "$(le_target "$(lb store_ns)" 5000 ns | sed 's/5000ns/5us/')" \
            "policy_eval; parts timed apart: store_set_contains $(us "$(lb lmdb_ns)") (hit $(us "$(lb store_hit_ns)"), miss $(us "$(lb store_miss_ns)")), policy_hex_norm $(us "$(lb norm_ns)")"
        prow "in LIST $NL, memory" "$(us "$(lb mem_ns)")" "" \
            "policy_eval, hash set (authd check); fingerprint == instead of in: $(us "$(lb eq_ns)")"
        prow "serve start, $NL list, import" "${IS}s" "$(le_target "$IS" 10 s)" \
            "to /healthz; list file $(mb $((LIST_FILE_BYTES / 1024))), data.mdb $(mb $((STORE_BYTES / 1024))); in-process import $(lb import_ms)ms"
        prow "serve start, $NL list, in store" "${SS}s" "" "in-process find $(lb found_ms)ms (SHA-256 of the list file)"
        prow "serve start, tiny list" "${TS}s" "" "10 entries"
        prow "VmRSS, tiny list" "$(mb "$TR")" "" "anon $(mb "$TA") file $(mb "$TF"); $(mb "$TR2") after $TN warm requests"
        prow "VmRSS, $NL list, import" "$(mb "$IR")" "$(le_target $((IR - TR)) "$LIMIT_KB" kB | sed "s/$LIMIT_KB""kB/tiny+$(mb "$LIMIT_KB")/")" \
            "anon $(mb "$IA") file $(mb "$IF"), peak $(mb "$IH"); first start, list read into LMDB"
        prow "VmRSS, $NL list, in store" "$(mb "$SR")" "$(le_target $((SR - TR)) "$LIMIT_KB" kB | sed "s/$LIMIT_KB""kB/tiny+$(mb "$LIMIT_KB")/")" \
            "anon $(mb "$SA") file $(mb "$SF"); $(mb "$SR2") after $SN warm requests"
    fi
    if [ "$CRL" = 1 ]; then
        NC=$(awk -v n="$CRL_ENTRIES" 'BEGIN { if (n % 1000000 == 0) printf "%dM", n / 1000000;
            else if (n % 1000 == 0) printf "%dk", n / 1000; else print n }')
        # "start_s rss anon file hwm [requests rss anon file hwm]" per case
        read -r CTS CTR CTA CTF _ CTN CTR2 _ < <(paste -sd' ' "$T/crl-tiny.serve")
        read -r C1S C1R C1A C1F C1H C1N C1R2 _ < <(paste -sd' ' "$T/crl-first.serve")
        read -r C2S C2R C2A C2F C2H C2N C2R2 _ < <(paste -sd' ' "$T/crl-second.serve")
        read -r CPS CPR CPA CPF CPH _ < <(paste -sd' ' "$T/crl-pem.serve")
        CRL_LIMIT_KB=97656   # 100 MB
        # crl_rss_target START_KB WARM_KB: the larger growth over the tiny CRL's
        crl_rss_target() {
            local g=$(( $1 - CTR )) g2
            if [ -n "${2:-}" ]; then g2=$(( $2 - CTR2 )); [ "$g2" -le "$g" ] || g=$g2; fi
            le_target "$g" "$CRL_LIMIT_KB" kB | sed "s/$CRL_LIMIT_KB""kB/tiny+100MB/"
        }
        ms_of_us() { awk -v u="$1" 'BEGIN { printf "%.1fms", u / 1000 }'; }
        echo
        prow "crl: $NC revoked serials" value target notes
        prow "CRL file" "$(mb $(( $(cb der_bytes) / 1024 )))" "" \
            "DER (PEM $(mb $(( $(cb pem_bytes) / 1024 )))); crlbench gen: build $(cb build_ms)ms, sign $(cb sign_ms)ms, write $(cb write_ms)ms"
        prow "serve start, $NC CRL, first" "${C1S}s" "$(le_target "$C1S" 10 s)" \
            "to /healthz, empty data dir: parse, verify, index into LMDB (data.mdb $(mb "$CRL_STORE_KB") on disk); cpu $(cat "$T/crl-first.cpu")s; in-process crl_set_load $(cb index_ms)ms: d2i_X509_CRL $(cb d2i_ms)ms, X509_CRL_verify $(cb verify_ms)ms, i2d+SHA-256 $(cb digest_ms)ms"
        prow "serve start, $NC CRL, second" "${C2S}s" "$(le_target "$C2S" 10 s)" \
            "the file's SHA-256 finds its record and index in LMDB (not parsed); cpu $(cat "$T/crl-second.cpu")s; in-process crl_set_load $(cb found_ms)ms (SHA-256 of the file $(cb file_sha_ms)ms)"
        prow "serve start, $NC CRL, PEM" "${CPS}s" "" \
            "the same CRL in a PEM file: parsed and verified, serial index found by the CRL's digest; cpu $(cat "$T/crl-pem.cpu")s; PEM_read_bio_X509_CRL $(cb pem_ms)ms"
        prow "serve start, tiny CRL" "${CTS}s" "" "tests/pki crl/int.crl.pem (1 entry) + crl/root.crl.pem"
        prow "crl_check $NC, LMDB" "$(us "$(cb lmdb_ns)")" "$(le_target "$(cb lmdb_ns)" 5000 ns | sed 's/5000ns/5us/')" \
            "scope chain (default), half revoked; revoked $(us "$(cb hit_ns)"), not $(us "$(cb miss_ns)"); scope leaf $(us "$(cb leaf_ns)"); parts: identity_dn x2 $(us "$(cb dn_ns)"), store_set_contains $(us "$(cb store_hit_ns)")/$(us "$(cb store_miss_ns)")"
        prow "crl_check $NC, memory" "$(us "$(cb mem_ns)")" "" "crl_set_load without a store (authd check); load $(cb mem_load_ms)ms"
        prow "crl_check, tiny CRL" "$(us "$(cb tiny_ns)")" "" "the same checks, the 1-entry CRL: crl_check's cost around the lookup"
        prow "X509_CRL_get0_by_serial (ref)" "$(us "$(cb ossl_ns)")" "" \
            "the same serials on the parsed X509_CRL; revoked $(us "$(cb ossl_hit_ns)"), not $(us "$(cb ossl_miss_ns)")"
        prow "nginx ssl_crl, per handshake (ref)" "$(ms_of_us "$(cb verify_crl_us)")" "" \
            "X509_verify_cert with the CRLs and CRL_CHECK_ALL; without CRLs $(ms_of_us "$(cb verify_plain_us)"); X509_CRL_verify alone $(cb verify_ms)ms"
        prow "VmRSS, tiny CRL" "$(mb "$CTR")" "" "anon $(mb "$CTA") file $(mb "$CTF"); $(mb "$CTR2") after $CTN warm requests"
        prow "VmRSS, $NC CRL, first start" "$(mb "$C1R")" "$(crl_rss_target "$C1R" "$C1R2")" \
            "anon $(mb "$C1A") file $(mb "$C1F"), peak $(mb "$C1H"); $(mb "$C1R2") after $C1N warm requests"
        prow "VmRSS, $NC CRL, second start" "$(mb "$C2R")" "$(crl_rss_target "$C2R" "$C2R2")" \
            "anon $(mb "$C2A") file $(mb "$C2F"), peak $(mb "$C2H"); $(mb "$C2R2") after $C2N warm requests"
        prow "VmRSS, $NC CRL, PEM start" "$(mb "$CPR")" "$(crl_rss_target "$CPR")" "anon $(mb "$CPA") file $(mb "$CPF"), peak $(mb "$CPH")"
        prow "nginx-style X509_CRL (ref)" "+$(mb $(( $(cb rss_kb) - $(cb before_kb) )))" "" \
            "RSS growth of a process holding it as ssl_crl does (X509_load_crl_file PEM, $(cb load_ms)ms): $(mb "$(cb rss_kb)"), peak $(mb "$(cb hwm_kb)")"
    fi
    echo
    echo "ratio: req/s over the reference row above it; cpu%: busy share of the server CPU / the wrk CPU during the run"
    echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
    [ "$BUSY_WARN" = 0 ] || echo "WARNING: the machine was busy before some cases; figures may be low"
} >"$T/report.txt"
cat "$T/report.txt"
if [ -n "$PERF_DIR" ]; then cp "$T/report.txt" "$PERF_DIR/report.txt"; say "bench: perf data in $PERF_DIR"; fi
[ "$bad" = 0 ] || die "some rows are not valid measurements (see notes)"
