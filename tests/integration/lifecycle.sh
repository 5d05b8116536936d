#!/usr/bin/env bash
# Lifecycle (issue 6): SIGTERM drains, SIGHUP reloads or keeps the old state,
# `user` drops root, `listen_owner` owns the unix socket.
#
#  1  SIGTERM under load (TCP): six threads, one connection per request, and
#     four requests suspended in authd on a slow OCSP responder (1.5 s) when
#     SIGTERM arrives.  Every attempt is a complete answer or a refused
#     connect (nothing sent); the suspended ones are answered 200 after
#     SIGTERM with "Connection: close"; authd exits 0 and logs the drain.
#  2  shutdown_timeout: a request suspended on a responder that never answers
#     is answered 401 revocation-unknown at the deadline, not dropped;
#     authd exits 0 soon after (the hanging fetch is abandoned).
#  3  SIGHUP with a broken file of each kind (config syntax, garbage trust
#     bundle, missing trust bundle, broken policy): "reload failed" naming
#     the problem, the old state keeps serving; a broken CRL file is
#     rejected by itself (its last good version serves); then a good file
#     of each kind takes effect (policy, CRL, trust).
#  4  `user nobody` (started as root): /proc/PID/status shows uid and gid
#     nobody/nogroup, real, effective, saved and fs; it serves, and a reload
#     writes a policy list into its LMDB data_dir; data_dir belongs to
#     nobody.  An unknown user is a configuration error.
#  5  `listen_owner nobody:nogroup` with listen_mode 0660 on a unix socket;
#     the socket is gone after SIGTERM; listen_owner on TCP is an error.
#  6  contrib/systemd/authd.service and authd.socket pass systemd-analyze
#     verify silently.
# About 20 s.
. "$(dirname "$0")/lib.bash"

command -v cc >/dev/null || { echo "$TEST_NAME: no C compiler (cc)" >&2; exit 2; }
command -v python3 >/dev/null || { echo "$TEST_NAME: python3 not found" >&2; exit 2; }
command -v systemd-analyze >/dev/null || { echo "$TEST_NAME: systemd-analyze not found (Debian package systemd)" >&2; exit 2; }
ROOT=0; [ "$(id -u)" -eq 0 ] && ROOT=1
make_pki_copy
K="$WORK/pki-copy"
BASE=(--trust "$K/trust.pem" --intermediates "$K/intermediates.pem")
now() { date +%s.%N; }
count_log() { grep -c -- "$1" "${2:-$AUTHD_LOG}" || true; }
# wait_log PATTERN N [FILE]: until PATTERN occurs N times (10 s)
wait_log() {
    local i
    for i in $(seq 1 100); do
        [ "$(count_log "$1" "${3:-$AUTHD_LOG}")" -ge "$2" ] && return 0
        sleep 0.1
    done
    return 1
}
# decide CERT [ADDR]: "STATUS REASON" straight from authd
decide() {
    local a=${2:-$AUTHD_ADDR} out
    out=$(curl -s -o /dev/null --max-time 10 -D - -H "X-SSL-Client-Cert: $(escape_pem "$K/$1")" \
        -H "X-Original-URI: /x" -H "X-Original-Method: GET" "http://$a/auth" | tr -d '\r') || true
    printf '%s %s' "$(printf '%s\n' "$out" | awk 'NR==1 { print $2 }')" \
        "$(printf '%s\n' "$out" | sed -n 's/^[Xx]-[Aa]uthd-[Rr]eason: //p')"
}
# wait_exit PID SECONDS: sets EXIT_RC (or "running")
wait_exit() {
    local i
    for i in $(seq 1 $(( $2 * 10 ))); do
        kill -0 "$1" 2>/dev/null || { wait "$1" 2>/dev/null && EXIT_RC=0 || EXIT_RC=$?; return 0; }
        sleep 0.1
    done
    EXIT_RC=running
}
forget_pid() {      # the test waited for it itself
    local n=() p
    for p in "${PIDS[@]:-}"; do [ -n "$p" ] && [ "$p" != "$1" ] && n+=("$p"); done
    PIDS=("${n[@]:-}")
    scan_log "${PID_NAME[$1]:-$1}" "${PID_LOG[$1]:-}"
}

# ---------------------------------------------------------------- the slow responder
if ! cc -O2 -Wall -o "$WORK/ocsp-responder" "$REPO/tests/integration/ocsp-responder.c" \
        -lcrypto -lssl -pthread 2>"$WORK/cc.log"; then
    echo "$TEST_NAME: cannot build ocsp-responder.c:" >&2; cat "$WORK/cc.log" >&2; exit 2
fi
FLOG="$WORK/responder.log"
bg responder "$FLOG" "$WORK/ocsp-responder" 0 "$PKI/intermediate.pem" "$PKI/intermediate.key" \
    "$PKI/ocsp-signer.pem" "$PKI/ocsp-signer.key" "$PKI/ocsp-bad-signer.pem" "$PKI/ocsp-bad-signer.key" \
    "$PKI/ocsp-unrelated.pem" "$PKI/ocsp-unrelated.key"
for i in $(seq 1 50); do grep -q '^listening ' "$FLOG" 2>/dev/null && break; sleep 0.1; done
FPORT=$(awk '/^listening /{ print $2; exit }' "$FLOG")
[ -n "$FPORT" ] || { echo "$TEST_NAME: ocsp-responder did not start:" >&2; cat "$FLOG" >&2; exit 2; }
for c in client client2; do
    printf 'X-SSL-Client-Cert: %s\n' "$(escape_pem "$K/$c.pem")" > "$WORK/$c.hdr"
done

# ---------------------------------------------------------------- 1: SIGTERM under load
P1=$(free_port)
start_authd drain "127.0.0.1:$P1" "${BASE[@]}" --threads 2 --ocsp leaf \
    --ocsp-responder "http://127.0.0.1:$FPORT/slow1500" --fetch-timeout 5s --data-dir "$WORK/d1"
DRAIN_PID=$AUTHD_PID
python3 "$REPO/tests/integration/lifecycle-load.py" 127.0.0.1 "$P1" "$DRAIN_PID" \
    "$WORK/client.hdr" "$WORK/client2.hdr" > "$WORK/load.out" 2>&1 || true
sed 's/^/    /' "$WORK/load.out"
val() { sed -n "s/^$1=//p" "$WORK/load.out" | head -n 1; }
wait_exit "$DRAIN_PID" 15
forget_pid "$DRAIN_PID"; AUTHD_PID=
check_eq "1: authd exits 0 after draining" "$EXIT_RC" 0
check_eq "1: no request lost (reset, EOF or timeout after connecting)" "$(val errors)" 0
check_eq "1: load requests answered 200 only" "$(val load_ok_status)" "ok 200"
if [ "$(val load_ok)" -ge 20 ] 2>/dev/null; then pass "1: load ran ($(val load_ok) answered, $(val load_refused) refused before sending)"
else fail "1: load did not run (load_ok=$(val load_ok))"; fi
check_eq "1: the 4 suspended requests are answered 200 ok" "$(val slow_answers)" "ok 200/ok,ok 200/ok,ok 200/ok,ok 200/ok"
check_eq "1: ... after SIGTERM" "$(val slow_after_sigterm)" 4
check_eq "1: ... with Connection: close, and the connection closed" "$(val slow_connection_close)" 4
if [ "$(val load_refused)" -ge 1 ] 2>/dev/null; then pass "1: new connections refused once stopped"
else fail "1: no load thread saw a refused connection"; fi
check_contains "1: the log says the drain waited" "$(cat "$WORK/drain.log")" "shutdown: no new connections;"
check_contains "1: the log says every request was answered" "$(cat "$WORK/drain.log")" "shutdown: every request answered"

# ---------------------------------------------------------------- 2: shutdown_timeout
P2=$(free_port)
start_authd deadline "127.0.0.1:$P2" "${BASE[@]}" --ocsp leaf --shutdown-timeout 2s \
    --ocsp-responder "http://127.0.0.1:$FPORT/hang" --fetch-timeout 30s --data-dir "$WORK/d2"
DL_PID=$AUTHD_PID
( curl -s -o /dev/null --max-time 40 -D "$WORK/hang.hdr" -H "@$WORK/client.hdr" \
      -H "X-Original-URI: /x" "http://127.0.0.1:$P2/auth"; echo "curl=$?" > "$WORK/hang.rc" ) &
CURL_PID=$!
sleep 0.7
T0=$(now)
kill -TERM "$DL_PID"
wait "$CURL_PID" || true
T1=$(now)
wait_exit "$DL_PID" 10
T2=$(now)
forget_pid "$DL_PID"; AUTHD_PID=
check_eq "2: the suspended request is answered at the deadline" \
    "$(awk 'NR==1 { print $2 }' "$WORK/hang.hdr" | tr -d '\r') $(sed -n 's/^[Xx]-[Aa]uthd-[Rr]eason: //p' "$WORK/hang.hdr" | tr -d '\r')" \
    "401 revocation-unknown"
if awk -v a="$T0" -v b="$T1" 'BEGIN { d = b - a; exit !(d >= 1.8 && d <= 4.5) }'; then
    pass "2: ... after shutdown_timeout 2s ($(awk -v a="$T0" -v b="$T1" 'BEGIN { printf "%.1f", b - a }') s)"
else fail "2: answered $(awk -v a="$T0" -v b="$T1" 'BEGIN { printf "%.1f", b - a }') s after SIGTERM, expected ~2 s"; fi
check_eq "2: authd exits 0" "$EXIT_RC" 0
if awk -v a="$T0" -v b="$T2" 'BEGIN { exit !(b - a <= 6) }'; then pass "2: exit without waiting out fetch_timeout 30s"
else fail "2: exit took $(awk -v a="$T0" -v b="$T2" 'BEGIN { printf "%.1f", b - a }') s"; fi
check_contains "2: the log says they were decided without revocation data" "$(cat "$WORK/deadline.log")" \
    "still in flight after 2s; 1 waiting for revocation data are decided without it"

# ---------------------------------------------------------------- 3: SIGHUP
R="$WORK/reload"
mkdir -p "$R"
cp "$K/trust.pem" "$R/trust.pem"
cp "$K/intermediates.pem" "$R/intermediates.pem"
cat "$PKI/crl/root.crl.pem" "$PKI/crl/int.crl.pem" > "$R/crl.pem"
cat > "$R/allow.policy" <<'EOF'
ruleset default {
  allow subject.CN == "alice"
}
EOF
cat > "$R/deny.policy" <<'EOF'
ruleset default {
  deny subject.CN == "alice" reason "alice-denied"
}
EOF
cp "$R/allow.policy" "$R/policy"
cat > "$R/authd.conf" <<EOF
trust          trust.pem
intermediates  intermediates.pem
crl            crl.pem
policy         policy
data_dir       $WORK/d3
watch_interval 0s
EOF
P3=$(free_port)
start_authd reload "127.0.0.1:$P3" --config "$R/authd.conf"
check_eq "3: start: alice allowed" "$(decide client.pem)" "200 ok"
check_eq "3: start: revoked.pem revoked by the CRL" "$(decide revoked.pem)" "401 revoked"
# broken KIND DESCRIPTION LOGTEXT: after SIGHUP, reload refused, old state serves
broken() {
    local n
    n=$(count_log 'reload failed')
    kill -HUP "$AUTHD_PID"
    if wait_log 'reload failed' $((n + 1)); then pass "3: $1: reload refused"
    else fail "3: $1: no 'reload failed' within 10 s"; fi
    check_contains "3: $1: the log says why" "$(cat "$AUTHD_LOG")" "$2"
    check_eq "3: $1: alice still allowed (old policy and trust)" "$(decide client.pem)" "200 ok"
    check_eq "3: $1: revoked.pem still revoked (old CRL)" "$(decide revoked.pem)" "401 revoked"
    kill -0 "$AUTHD_PID" 2>/dev/null && pass "3: $1: still running" || fail "3: $1: authd died"
}
cp "$R/authd.conf" "$R/authd.conf.good"
echo "trust_anchors $R/trust.pem" >> "$R/authd.conf"
broken "config syntax error" "$R/authd.conf:7: unknown key \"trust_anchors\""
cp "$R/authd.conf.good" "$R/authd.conf"
echo "this is not a certificate" > "$R/trust.pem"
broken "garbage trust bundle" "$R/trust.pem"
rm -f "$R/trust.pem"
broken "missing trust bundle" "$R/trust.pem"
cp "$K/trust.pem" "$R/trust.pem"
# a broken CRL file is no failed reload: it is rejected by itself, and its
# last good version (in data_dir) stays in use
cp "$PKI/crl/corrupt.crl.pem" "$R/crl.pem"
n=$(count_log 'reloaded:')
kill -HUP "$AUTHD_PID"
if wait_log 'reloaded:' $((n + 1)); then pass "3: broken CRL: the reload goes through"
else fail "3: broken CRL: no 'reloaded:' within 10 s"; fi
check_contains "3: broken CRL: the log names it, rejected" "$(cat "$AUTHD_LOG")" "$R/crl.pem: CRL rejected (unreadable)"
check_eq "3: broken CRL: alice still allowed" "$(decide client.pem)" "200 ok"
check_eq "3: broken CRL: revoked.pem still revoked (its last good version)" "$(decide revoked.pem)" "401 revoked"
cat "$PKI/crl/root.crl.pem" "$PKI/crl/int.crl.pem" > "$R/crl.pem"
printf 'ruleset default {\n  allow subject.CN ==\n}\n' > "$R/policy"
broken "broken policy" "$R/policy:3:1: expected a quoted string"
# good files take effect
good() {
    local n
    n=$(count_log 'reloaded:')
    kill -HUP "$AUTHD_PID"
    if wait_log 'reloaded:' $((n + 1)); then pass "3: $1: reloaded"
    else fail "3: $1: no 'reloaded:' within 10 s"; fi
}
cp "$R/deny.policy" "$R/policy"
good "good policy (denies alice)"
check_eq "3: new policy: alice denied" "$(decide client.pem)" "403 alice-denied"
cp "$R/allow.policy" "$R/policy"
cat "$PKI/crl/root.crl.pem" "$PKI/crl/int-revokes-alice.crl.pem" > "$R/crl.pem"
good "good CRL (revokes alice)"
check_eq "3: new CRL: alice revoked" "$(decide client.pem)" "401 revoked"
cat "$PKI/crl/root.crl.pem" "$PKI/crl/int.crl.pem" > "$R/crl.pem"
cp "$K/other-root.pem" "$R/trust.pem"
cp "$R/authd.conf.good" "$R/authd.conf"
sed -i '/^crl /d' "$R/authd.conf"      # the CRLs' issuers are no longer trusted
good "good trust bundle (another root)"
check_eq "3: new trust: alice's chain no longer verifies" "$(decide client.pem | cut -d' ' -f1)" "401"
check_contains "3: a good reload is logged" "$(cat "$AUTHD_LOG")" "reloaded: 1 trust anchor(s)"
stop_authd

# ---------------------------------------------------------------- 4: user nobody
out=$("$AUTHD_BIN" serve -n "${BASE[@]}" --user no-such-user-authd 2>&1) && rc=0 || rc=$?
check_eq "4: unknown user: serve -n exit status" "$rc" 2
check_contains "4: unknown user: the error" "$out" "--user: user: no such user \"no-such-user-authd\""
if [ "$ROOT" = 1 ] && id nobody >/dev/null 2>&1; then
    NUID=$(id -u nobody); NGID=$(id -g nobody)
    mkdir -p "$WORK/lists"
    cp "$REPO/policies/lists/lost-devices.sha256" "$WORK/lists/"
    printf '%s\n' 'list lost file "lists/lost-devices.sha256"' 'ruleset default {' \
        '  deny  fingerprint in lost reason "reported-lost"' '  allow subject.CN == "alice"' '}' > "$WORK/u.policy"
    chmod 0644 "$WORK/u.policy" "$WORK/lists/"*; chmod 0755 "$WORK/lists"
    # a root-owned file hard-linked into data_dir is not handed to nobody
    mkdir -p "$WORK/d4"; echo secret > "$WORK/root-secret"; chmod 0600 "$WORK/root-secret"
    ln "$WORK/root-secret" "$WORK/d4/linked"
    P4=$(free_port)
    start_authd user "127.0.0.1:$P4" "${BASE[@]}" --user nobody --policy "$WORK/u.policy" \
        --data-dir "$WORK/d4" --watch-interval 0s
    st=$(grep -E '^(Uid|Gid|Groups):' "/proc/$AUTHD_PID/status" | tr -s '\t ' ' ')
    check_contains "4: Uid real/effective/saved/fs" "$st" "Uid: $NUID $NUID $NUID $NUID"
    check_contains "4: Gid real/effective/saved/fs" "$st" "Gid: $NGID $NGID $NGID $NGID"
    check_not_contains "4: no root group left" "$(grep '^Groups:' "/proc/$AUTHD_PID/status" | tr '\t' ' ') " " 0 "
    check_eq "4: serves as nobody: alice allowed" "$(decide client.pem)" "200 ok"
    check_eq "4: serves as nobody: bob has no rule" "$(decide client2.pem)" "403 no-matching-rule"
    check_eq "4: data_dir belongs to nobody" "$(stat -c %u:%g "$WORK/d4")" "$NUID:$NGID"
    check_eq "4: data.mdb belongs to nobody" "$(stat -c %u:%g "$WORK/d4/data.mdb")" "$NUID:$NGID"
    check_eq "4: a root file hard-linked into data_dir stays root's" "$(stat -c %u:%g "$WORK/root-secret")" "0:0"
    # a reload stores a changed list in LMDB, written as nobody
    fp=$(cert_fingerprint "$K/client.pem")
    echo "$fp" >> "$WORK/lists/lost-devices.sha256"
    sed -i 's/^  allow subject.CN == "alice"$/&\n  allow subject.CN == "bob"/' "$WORK/u.policy"
    n=$(count_log 'reloaded:')
    kill -HUP "$AUTHD_PID"
    if wait_log 'reloaded:' $((n + 1)); then pass "4: reload as nobody (list written to LMDB)"
    else fail "4: reload as nobody failed: $(tail -n 3 "$AUTHD_LOG")"; fi
    check_eq "4: the new list entry is used (alice reported lost)" "$(decide client.pem)" "403 reported-lost"
    check_eq "4: the new rule is used (bob allowed)" "$(decide client2.pem)" "200 ok"
    check_not_contains "4: no LMDB error" "$(cat "$AUTHD_LOG")" "Permission denied"
    stop_authd
else
    skip "4: user drop needs root and a 'nobody' user"
fi

# ---------------------------------------------------------------- 5: listen_owner
out=$("$AUTHD_BIN" serve -n "${BASE[@]}" --listen 127.0.0.1:1 --listen-owner nobody 2>&1) && rc=0 || rc=$?
check_eq "5: listen_owner with TCP: serve -n exit status" "$rc" 2
check_contains "5: listen_owner with TCP: the error" "$out" "listen_owner: needs a unix socket"
if [ "$ROOT" = 1 ] && id nobody >/dev/null 2>&1; then
    G=$(id -gn nobody)
    SOCK="$WORK/authd.sock"
    start_authd owner "unix:$SOCK" "${BASE[@]}" --listen-owner "nobody:$G" --listen-mode 0660
    check_eq "5: socket owner, group and mode" "$(stat -c '%U:%G %a' "$SOCK")" "nobody:$G 660"
    code=$(authd_curl -s -o /dev/null -w '%{http_code}' -H "@$WORK/client.hdr" -H "X-Original-URI: /x" /auth)
    check_eq "5: serves on the socket" "$code" 200
    stop_authd
    [ -e "$SOCK" ] && fail "5: socket left behind after SIGTERM" || pass "5: socket removed on SIGTERM"
    # After `user`, the socket's root-owned directory cannot lose the name:
    # the drain must still refuse new connections (the listener is shut).
    SOCK2="$WORK/rootdir/authd.sock"; mkdir -p "$WORK/rootdir"; chmod 0755 "$WORK/rootdir"
    start_authd owner2 "unix:$SOCK2" "${BASE[@]}" --user nobody --listen-mode 0666 \
        --data-dir "$WORK/d5" --shutdown-timeout 3s
    code=$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$SOCK2" -H "@$WORK/client.hdr" http://authd/auth)
    check_eq "5: user nobody on a unix socket: serves" "$code" 200
    # an idle connection that never sends keeps the drain going
    # (SIGTERM only once it is connected: python may take longer than any
    # fixed sleep to start on a loaded machine)
    python3 -c 'import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); open(sys.argv[2], "w").close(); time.sleep(6)' \
        "$SOCK2" "$WORK/idle.connected" &
    IDLE=$!
    for _ in $(seq 1 100); do [ -e "$WORK/idle.connected" ] && break; sleep 0.05; done
    [ -e "$WORK/idle.connected" ] || fail "5: the idle client did not connect within 5 s"
    sleep 0.2
    kill -TERM "$AUTHD_PID"
    sleep 0.5
    kill -0 "$AUTHD_PID" 2>/dev/null && pass "5: still draining (an idle connection)" || fail "5: authd did not wait for the idle connection"
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 --unix-socket "$SOCK2" -H "@$WORK/client.hdr" http://authd/auth || true)
    check_eq "5: a new connection during the drain is refused (the name could not be removed)" "$code" 000
    stop_authd
    kill "$IDLE" 2>/dev/null || true; wait "$IDLE" 2>/dev/null || true
    check_contains "5: the log says the socket file stays" "$(cat "$AUTHD_LOG")" "cannot remove $SOCK2"
else
    skip "5: listen_owner needs root and a 'nobody' user"
fi

# ---------------------------------------------------------------- 6: the systemd unit
# systemd-analyze verify works without systemd running; it exits 0 even for
# unknown settings, so any message at all is a failure.  Paths point at the
# binary under test (verify checks that ExecStart exists).
# --man=no: the Documentation= pages are installed by the package
# (tests/package.sh verifies the installed units with them).
UNIT="$REPO/contrib/systemd/authd.service"
mkdir -p "$WORK/unit"
sed "s#/usr/sbin/authd#$AUTHD_BIN#g" "$UNIT" > "$WORK/unit/authd.service"
cp "$REPO/contrib/systemd/authd.socket" "$WORK/unit/authd.socket"
out=$(systemd-analyze verify --man=no "$WORK/unit/authd.socket" "$WORK/unit/authd.service" 2>&1) && rc=0 || rc=$?
check_eq "6: systemd-analyze verify authd.socket authd.service: exit status" "$rc" 0
check_eq "6: systemd-analyze verify authd.socket authd.service: no complaints" "$out" ""
check_eq "6: the socket unit passes one listener" "$(grep -c "^ListenStream=" "$WORK/unit/authd.socket")" 1
check_contains "6: the unit reloads with SIGHUP" "$(cat "$UNIT")" 'ExecReload=/bin/kill -HUP $MAINPID'
check_contains "6: the unit waits longer than shutdown_timeout + 1s" "$(cat "$UNIT")" "TimeoutStopSec=30s"
