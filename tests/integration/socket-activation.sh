#!/usr/bin/env bash
# systemd socket activation (issue 15): authd serves on a listening socket
# passed as descriptor 3 with LISTEN_FDS/LISTEN_PID, and is restarted under
# load without a failed request: socket-holder.py holds the socket as
# systemd does, stops authd (which drains), waits 2 s with no process
# accepting (the kernel queues the connections) and starts the next one,
# which answers them.  (2 s: a restart shorter than a second is invisible
# to a client one request at a time even without activation, since the
# draining authd drops SYNs and TCP retries them a second later.)
#
#  1  TCP, through real nginx: a client loop across a restart, every
#     request 200; the second authd answered some of them
#  2  the same restart without activation (authd binds the port itself):
#     requests fail meanwhile (nginx 500): what this solves
#  3  a unix socket, straight to authd: a loop across a restart, every
#     request answered
#  4  refused: two sockets passed, or descriptor 3 not a listening socket;
#     LISTEN_PID of another process: ignored (authd binds `listen`)
. "$(dirname "$0")/lib.bash"

AUTHD_PORT=$(free_port)
TLS_PORT=$(free_port)
BACKEND_PORT=$(free_port)
U="https://localhost:$TLS_PORT"
HOLDER="$REPO/tests/integration/socket-holder.py"
AUTHD_ARGS=(serve --trust "$PKI/trust.pem" --intermediates "$PKI/intermediates.pem" --data-dir "$WORK/data")
mkdir -p "$WORK/h1" "$WORK/h2"
# the holder's authd processes: their logs are scanned for sanitizer reports
SCAN_LOGS+=("$WORK/h1/authd-1.log" "$WORK/h1/authd-2.log" "$WORK/h2/authd-1.log" "$WORK/h2/authd-2.log")

# wait_up URL-CURL-ARGS...: until authd answers /healthz (10 s)
wait_up() {
    local i
    for i in $(seq 1 200); do
        curl -s -o /dev/null --max-time 1 "$@" && return 0
        sleep 0.05
    done
    return 1
}
# loop N OUT CURL-ARGS...: N requests one after the other, "STATUS SECONDS" a line
loop() {
    local n=$1 out=$2 i; shift 2
    : > "$out"
    for i in $(seq 1 "$n"); do
        curl -s -o /dev/null -w '%{http_code} %{time_total}\n' --max-time 10 "$@" >> "$out" 2>/dev/null ||
            echo "000 0" >> "$out"
        sleep 0.01
    done
}
codes() { cut -d' ' -f1 "$1" | sort | uniq -c | awk '{ printf "%s%s x%s", (NR > 1 ? ", " : ""), $2, $1 }'; }
longest() { sort -k2 -g "$1" | tail -n 1 | cut -d' ' -f2; }
decisions() {
    curl -s --max-time 5 "$@" | awk '/^authd_decisions_total\{/ { s += $2 } END { print s + 0 }'
}

# ---------------------------------------------------------------- 1 TCP through nginx
bg holder "$WORK/holder1.log" python3 -u "$HOLDER" tcp "$AUTHD_PORT" "$WORK/h1" 2 "$AUTHD_BIN" "${AUTHD_ARGS[@]}"
HOLDER_PID=$LAST_PID
wait_up "http://127.0.0.1:$AUTHD_PORT/healthz" || fail "authd did not come up on the passed socket"
check_contains "authd serves on the socket it was passed" "$(cat "$WORK/h1/authd-1.log")" \
    "listening on 127.0.0.1:$AUTHD_PORT"
nginx_setup "$WORK/nginx" "127.0.0.1:$AUTHD_PORT"
SERVER=$(example_server mtls-optional.conf "$TLS_PORT" "$BACKEND_PORT")
nginx_conf root "$SERVER"
start_nginx "$TLS_PORT" "$BACKEND_PORT"
C=(--cacert "$PKI/root.pem" --cert "$PKI/client-chain.pem" --key "$PKI/client.key")
req "${C[@]}" "$U/api/x"
check_eq "before: alice through nginx" "$CODE" 200

loop 150 "$WORK/loop1" "${C[@]}" "$U/api/x" &
LOOP=$!
sleep 0.5
kill -USR1 "$HOLDER_PID"
wait "$LOOP"
check_eq "a restart under a client loop: every request 200" "$(codes "$WORK/loop1")" "200 x150"
L=$(longest "$WORK/loop1")
if awk -v l="$L" 'BEGIN { exit !(l >= 1.5) }'; then pass "a request waited through the restart (${L} s, in the kernel's queue)"
else fail "no request waited through the restart (longest ${L} s): the loop missed the gap"; fi
check_contains "the first authd drained" "$(cat "$WORK/h1/authd-1.log")" "shutdown: every request answered"
check_contains "the holder restarted it" "$(cat "$WORK/holder1.log")" "started 2"
check_contains "the second serves on the same socket" "$(cat "$WORK/h1/authd-2.log" 2>/dev/null)" \
    "listening on 127.0.0.1:$AUTHD_PORT"
N2=$(decisions "http://127.0.0.1:$AUTHD_PORT/metrics")
if [ "$N2" -gt 0 ]; then pass "the second authd answered $N2 of the loop's requests"
else fail "the second authd answered none of the loop's requests"; fi
stop_pid "$HOLDER_PID"
check_eq "the holder's authd exits 0 on SIGTERM" "$STOP_RC" 0

# ---------------------------------------------------------------- 2 without activation
start_authd plain "127.0.0.1:$AUTHD_PORT" --trust "$PKI/trust.pem" --intermediates "$PKI/intermediates.pem"
loop 150 "$WORK/loop2" "${C[@]}" "$U/api/x" &
LOOP=$!
sleep 0.5
stop_authd
sleep 2
start_authd plain2 "127.0.0.1:$AUTHD_PORT" --trust "$PKI/trust.pem" --intermediates "$PKI/intermediates.pem"
wait "$LOOP"
FAILED=$(grep -vc "^200 " "$WORK/loop2" || true)
if [ "$FAILED" -gt 0 ]; then pass "without activation, the same restart failed $FAILED request(s): $(codes "$WORK/loop2")"
else fail "without activation no request failed: the loop does not span the restart, so case 1 proves nothing"; fi
stop_authd

# ---------------------------------------------------------------- 3 unix socket
SOCK="$WORK/authd.sock"
bg holder2 "$WORK/holder2.log" python3 -u "$HOLDER" unix "$SOCK" "$WORK/h2" 2 "$AUTHD_BIN" "${AUTHD_ARGS[@]}"
HOLDER_PID=$LAST_PID
wait_up --unix-socket "$SOCK" "http://authd/healthz" || fail "authd did not come up on the passed unix socket"
check_contains "authd serves on the unix socket it was passed" "$(cat "$WORK/h2/authd-1.log")" "listening on unix:$SOCK"
loop 150 "$WORK/loop3" --unix-socket "$SOCK" -H "X-SSL-Client-Cert: $(escape_pem "$PKI/client.pem")" \
    -H "X-SSL-Client-Verify: SUCCESS" -H "X-Original-URI: /x" "http://authd/auth" &
LOOP=$!
sleep 0.5
kill -USR1 "$HOLDER_PID"
wait "$LOOP"
check_eq "unix: a restart under a loop: every request 200" "$(codes "$WORK/loop3")" "200 x150"
check_eq "unix: the socket file stays (systemd's)" "$([ -S "$SOCK" ] && echo socket)" socket
stop_pid "$HOLDER_PID"

# ---------------------------------------------------------------- 4 refused, ignored
P2=$(free_port)
OUT=$(python3 -c '
import os, socket, subprocess, sys
a = socket.socket(); a.bind(("127.0.0.1", 0)); a.listen(8)
b = socket.socket(); b.bind(("127.0.0.1", 0)); b.listen(8)
os.dup2(a.fileno(), 3); os.dup2(b.fileno(), 4)
r = subprocess.run(["sh", "-c", "LISTEN_PID=$$ LISTEN_FDS=2 exec \"$@\"", "sh"] + sys.argv[1:],
                   pass_fds=(3, 4), capture_output=True, text=True, timeout=20)
print(r.returncode); print(r.stderr)
' "$AUTHD_BIN" "${AUTHD_ARGS[@]}" --listen "127.0.0.1:$P2" 2>&1)
check_eq "two sockets passed: authd refuses to start" "$(head -n 1 <<<"$OUT")" 1
check_contains "two sockets passed: says why" "$OUT" "LISTEN_FDS is 2; authd serves on exactly one socket"
OUT=$(python3 -c '
import os, subprocess, sys
f = os.open("/dev/null", os.O_RDONLY); os.dup2(f, 3)
r = subprocess.run(["sh", "-c", "LISTEN_PID=$$ LISTEN_FDS=1 exec \"$@\"", "sh"] + sys.argv[1:],
                   pass_fds=(3,), capture_output=True, text=True, timeout=20)
print(r.returncode); print(r.stderr)
' "$AUTHD_BIN" "${AUTHD_ARGS[@]}" --listen "127.0.0.1:$P2" 2>&1)
check_eq "descriptor 3 not a socket: authd refuses to start" "$(head -n 1 <<<"$OUT")" 1
check_contains "descriptor 3 not a socket: says why" "$OUT" "descriptor 3 is not a listening stream socket"
LISTEN_PID=1 LISTEN_FDS=1 start_authd other "127.0.0.1:$P2" --trust "$PKI/trust.pem" --intermediates "$PKI/intermediates.pem"
check_contains "LISTEN_PID of another process: ignored, authd binds listen" "$(cat "$AUTHD_LOG")" "listening on 127.0.0.1:$P2"
stop_authd
