#!/usr/bin/env bash
# Revocation by CRL files (issue 4), real nginx + real authd + real curl,
# with the shipped contrib snippets and the mtls-mandatory.conf example.
#
# Clients loop through nginx as alice and bob while the CRL file is
# replaced (atomic mv, no SIGHUP) with one revoking alice: within a few
# seconds alice gets 401 revoked, bob keeps getting 200, no answer is an
# error, authd is the same process. Then: a broken CRL swapped in is
# rejected (a warning, not a failed reload) and its last good version
# stays; an expired CRL gives crl-expired;
# revoked.pem is refused; SIGHUP with the watcher off; a CRL directory
# whose file is rewritten in place; `serve -n` and `check` with --crl.
# CRL fixtures: tests/pki/README.md.
. "$(dirname "$0")/lib.bash"

AUTHD_PORT=$(free_port)
TLS_PORT=$(free_port)
BACKEND_PORT=$(free_port)
U="https://localhost:$TLS_PORT"
WORKERS_ALICE=2
WORKERS_BOB=1

[ -f "$PKI/crl/int.crl.pem" ] || { echo "$TEST_NAME: $PKI has no crl/ (tests/pki/gen.sh too old?)" >&2; exit 2; }
CRLS="$PKI/crl"

# ---------------------------------------------------------------- CRL files
mkdir -p "$WORK/crl" "$WORK/data" "$WORK/versions"
CUR="$WORK/crl/current.crl.pem"
# versions of the one CRL file authd reads (root's CRL + intermediate's)
cat "$CRLS/root.crl.pem" "$CRLS/int.crl.pem"               > "$WORK/versions/good"
cat "$CRLS/root.crl.pem" "$CRLS/int-revokes-alice.crl.pem" > "$WORK/versions/revokes-alice"
cat "$CRLS/root.crl.pem" "$CRLS/int-expired.crl.pem"       > "$WORK/versions/expired"
cp  "$CRLS/corrupt.crl.pem"                                  "$WORK/versions/corrupt"
cat "$CRLS/root.crl.pem" "$CRLS/int-badsig.crl.pem"        > "$WORK/versions/badsig"
cat "$CRLS/root.crl.pem" "$CRLS/int-future.crl.pem"        > "$WORK/versions/future"
# install VERSION [FILE]: replace FILE (default the current CRL) atomically
install_crl() {
    local dst=${2:-$CUR}
    cp "$WORK/versions/$1" "$dst.tmp"
    mv -f "$dst.tmp" "$dst"
}
install_crl good

start_authd authd "127.0.0.1:$AUTHD_PORT" --trust "$PKI/trust.pem" --intermediates "$PKI/intermediates.pem" \
    --crl "$CUR" --data-dir "$WORK/data"
AUTHD_START=$(awk '{print $22}' "/proc/$AUTHD_PID/stat" 2>/dev/null || echo unknown)

nginx_setup "$WORK/nginx" "127.0.0.1:$AUTHD_PORT"
SERVER=$(example_server mtls-mandatory.conf "$TLS_PORT" "$BACKEND_PORT")
nginx_conf root "$SERVER"
start_nginx "$TLS_PORT" "$BACKEND_PORT"

C=(--cacert "$PKI/root.pem")
ALICE=(--cert "$PKI/client-chain.pem" --key "$PKI/client.key")
BOB=(--cert "$(chain client2)" --key "$PKI/client2.key")
REVOKED=(--cert "$(chain revoked)" --key "$PKI/revoked.key")

# decide CERT [ADDR]: a decision straight from authd, "CODE REASON REVOCATION"
declare -A ESC=()
decide() {
    local cert=$1 addr=${2:-127.0.0.1:$AUTHD_PORT} out
    [ -n "${ESC[$cert]:-}" ] || ESC[$cert]=$(escape_pem "$PKI/$cert")
    out=$(curl -sS --max-time 5 -o /dev/null -D - -w 'code=%{http_code}\n' \
        -H "X-SSL-Client-Cert: ${ESC[$cert]}" -H "X-SSL-Client-Verify: SUCCESS" \
        -H "X-Original-URI: /crl" -H "X-Original-Method: GET" -H "X-Original-Host: localhost" \
        "http://$addr/auth" 2>/dev/null | tr -d '\r') || true
    printf '%s %s %s' "$(printf '%s\n' "$out" | sed -n 's/^code=//p')" \
        "$(printf '%s\n' "$out" | sed -n 's/^[Xx]-[Aa]uthd-[Rr]eason: *//p' | tail -n 1)" \
        "$(printf '%s\n' "$out" | sed -n 's/^[Xx]-[Aa]uthd-[Rr]evocation: *//p' | tail -n 1)"
}
# wait_decision CERT WANT SECONDS [ADDR]: poll until decide prints WANT;
# sets GOT and WAITED (seconds, one decimal)
wait_decision() {
    local cert=$1 want=$2 n=$(( $3 * 10 )) addr=${4:-} i t0
    t0=$(date +%s.%N)
    for i in $(seq 1 "$n"); do
        GOT=$(decide "$cert" $addr)
        WAITED=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
        [ "$GOT" == "$want" ] && return 0
        sleep 0.1
    done
    return 1
}
count_log() { grep -cE "$1" "${2:-$AUTHD_LOG}" || true; }
# wait_log PATTERN MIN [LOG]: until PATTERN occurs MIN times (10 s)
wait_log() {
    local i
    for i in $(seq 1 100); do
        [ "$(count_log "$1" "${3:-}")" -ge "$2" ] && return 0
        sleep 0.1
    done
    return 1
}
# ng CURL-ARGS...: a request through nginx; NG="CODE REASON" (and req's
# CODE, BODY, HDRS)
ng() {
    req "${C[@]}" "$@" "$U/crl"
    NG="$CODE $(hdr X-Authd-Reason)"
}

# ---------------------------------------------------------------- before
ng "${ALICE[@]}"; check_eq "good CRLs: alice through nginx" "$NG" "200 ok"
ng "${BOB[@]}"; check_eq "good CRLs: bob through nginx" "$NG" "200 ok"
ng "${REVOKED[@]}"; check_eq "good CRLs: revoked.pem through nginx" "$NG" "401 revoked"
check_eq "good CRLs: revoked.pem straight from authd (X-Authd-Revocation)" "$(decide revoked.pem)" "401 revoked crl"
check_eq "good CRLs: alice straight from authd" "$(decide client.pem)" "200 ok "
# nginx refuses nothing here (no ssl_crl): the refusal is authd's
check_not_contains "revoked.pem: backend not reached" "$BODY" "subject="
# a second request for the same certificate (the verdict cache) is the same
ng "${REVOKED[@]}"; check_eq "revoked.pem again (cached verdict)" "$NG" "401 revoked"
check_contains "authd log: CRLs loaded" "$(cat "$AUTHD_LOG")" "authd info: loaded:"

# ---------------------------------------------------------------- load + swap
HEADER_FMT='%header{x-authd-reason}'
curl_ok=$(curl --version | awk 'NR==1 { split($2, v, "."); print (v[1] > 7 || (v[1] == 7 && v[2] >= 84)) }')
[ "$curl_ok" = 1 ] || HEADER_FMT='-'        # curl < 7.84: status only
# worker OUT CURL-ARGS...: one line per request, "CODE REASON"
worker() {
    local out=$1; shift
    while [ ! -e "$WORK/stop" ]; do
        curl -s -o /dev/null --max-time 10 "${C[@]}" "$@" \
            -w "%{http_code} $HEADER_FMT\n" "$U/load" >> "$out" 2>/dev/null || echo "000 curl-failed" >> "$out"
    done
}
WPIDS=()
for w in $(seq 1 "$WORKERS_ALICE"); do
    worker "$WORK/load-alice-$w.txt" "${ALICE[@]}" &
    WPIDS+=("$!"); PIDS+=("$!"); PID_NAME[$!]="alice loop $w"
done
for w in $(seq 1 "$WORKERS_BOB"); do
    worker "$WORK/load-bob-$w.txt" "${BOB[@]}" &
    WPIDS+=("$!"); PIDS+=("$!"); PID_NAME[$!]="bob loop $w"
done
sleep 1

changed_before=$(count_log 'changed: reloading')
install_crl revokes-alice
if wait_decision client.pem "401 revoked crl" 10; then
    pass "no SIGHUP: alice revoked ${WAITED} s after the CRL file was replaced"
    if awk -v w="$WAITED" 'BEGIN { exit !(w <= 6) }'; then pass "alice revoked within 6 s (watch_interval 2 s)"
    else fail "alice revoked only after $WAITED s (watch_interval is 2 s)"; fi
else
    fail "no SIGHUP: alice still '$GOT' 10 s after the CRL revoking her was installed"
fi
check_eq "after the swap: bob straight from authd" "$(decide client2.pem)" "200 ok "
sleep 1.5
touch "$WORK/stop"
for p in "${WPIDS[@]}"; do stop_pid "$p"; done
rm -f "$WORK/stop"
if [ "$(count_log 'changed: reloading')" -gt "$changed_before" ]; then
    pass "authd log: the watcher noticed the CRL file"
else
    fail "authd log: no 'changed: reloading' after the CRL file was replaced"
fi

cat "$WORK"/load-alice-*.txt > "$WORK/load-alice.txt"
cat "$WORK"/load-bob-*.txt > "$WORK/load-bob.txt"
NA=$(wc -l < "$WORK/load-alice.txt")
NB=$(wc -l < "$WORK/load-bob.txt")
echo "    load: alice $NA requests: $(cut -d' ' -f1,2 "$WORK/load-alice.txt" | sort | uniq -c | tr -s ' ' | tr '\n' ',')"
echo "    load: bob $NB requests: $(cut -d' ' -f1,2 "$WORK/load-bob.txt" | sort | uniq -c | tr -s ' ' | tr '\n' ',')"
if [ "$NA" -ge 20 ] && [ "$NB" -ge 10 ]; then pass "client loops ran (alice $NA, bob $NB requests)"
else fail "client loops made too few requests (alice $NA, bob $NB)"; fi
BAD=$(cat "$WORK/load-alice.txt" "$WORK/load-bob.txt" | grep -cvE '^(200|401) ' || true)
check_eq "load: answers other than 200/401 (500, 502, 000, ...)" "$BAD" 0
[ "$BAD" -eq 0 ] || cat "$WORK/load-alice.txt" "$WORK/load-bob.txt" | grep -vE '^(200|401) ' | sort | uniq -c | head -5 | sed 's/^/    /'
if [ "$curl_ok" = 1 ]; then
    check_eq "load: bob's answers other than '200 ok'" "$(grep -cvx '200 ok' "$WORK/load-bob.txt" || true)" 0
    check_eq "load: alice's answers other than '200 ok' / '401 revoked'" \
        "$(grep -cvxE '200 ok|401 revoked' "$WORK/load-alice.txt" || true)" 0
    N200=$(grep -cx '200 ok' "$WORK/load-alice.txt" || true)
    N401=$(grep -cx '401 revoked' "$WORK/load-alice.txt" || true)
    if [ "$N200" -gt 0 ] && [ "$N401" -gt 0 ]; then pass "alice's loop saw both ($N200 x 200 ok, $N401 x 401 revoked)"
    else fail "alice's loop saw $N200 x 200 ok, $N401 x 401 revoked (expected both)"; fi
    # per loop: once revoked, never allowed again
    flip=0
    for f in "$WORK"/load-alice-*.txt; do
        awk '$1 == 401 { r = 1 } $1 == 200 && r { bad = 1 } END { exit bad }' "$f" || flip=1
    done
    check_eq "alice's loops: no 200 after a 401 revoked" "$flip" 0
    check_eq "alice's loops: the last answer is 401 revoked" \
        "$(for f in "$WORK"/load-alice-*.txt; do tail -n 1 "$f"; done | sort -u)" "401 revoked"
else
    skip "reason of each load answer (curl older than 7.84 has no %header{})"
fi
ng "${ALICE[@]}"; check_eq "after the swap: alice through nginx" "$NG" "401 revoked"
ng "${BOB[@]}"; check_eq "after the swap: bob through nginx" "$NG" "200 ok"

# ---------------------------------------------------------------- broken CRLs at runtime
# Each is rejected (a warning naming the file and why, not a failed
# reload), the last good version of the file (alice revoked) stays in
# force from the store, bob still passes.
declare -A WHY=([corrupt]=unreadable [badsig]=signature [future]=not-yet-valid)
for v in corrupt badsig future; do
    rejected_before=$(count_log "CRL rejected \\(${WHY[$v]}\\)")
    reloaded_before=$(count_log 'authd info: reloaded:')
    install_crl "$v"
    if wait_log "CRL rejected \\(${WHY[$v]}\\)" $((rejected_before + 1)); then
        pass "broken CRL ($v) swapped in: rejected as ${WHY[$v]}"
    else
        fail "broken CRL ($v) swapped in: no 'CRL rejected (${WHY[$v]})' in the log within 10 s"
    fi
    wait_log 'authd info: reloaded:' $((reloaded_before + 1)) >/dev/null
    check_eq "broken CRL ($v): the reload itself went through" "$(count_log 'authd info: reloaded:')" $((reloaded_before + 1))
    check_contains "broken CRL ($v): the warning names the file" "$(grep 'CRL rejected' "$AUTHD_LOG" | tail -n 1)" "$CUR"
    check_contains "broken CRL ($v): the warning says the last good version stays" \
        "$(grep 'CRL rejected' "$AUTHD_LOG" | tail -n 1)" "last good"
    check_eq "broken CRL ($v): alice still revoked" "$(decide client.pem)" "401 revoked crl"
    check_eq "broken CRL ($v): bob still allowed" "$(decide client2.pem)" "200 ok "
    check_eq "broken CRL ($v): revoked.pem still revoked" "$(decide revoked.pem)" "401 revoked crl"
done
check_eq "broken CRLs: no reload failed" "$(count_log 'reload failed')" 0
ng "${ALICE[@]}"; check_eq "broken CRLs: alice through nginx" "$NG" "401 revoked"
ng "${BOB[@]}"; check_eq "broken CRLs: bob through nginx" "$NG" "200 ok"
# the file being broken for a while must not make authd reload it in a loop
sleep 3
n1=$(count_log 'CRL rejected')
sleep 4.5
check_eq "a broken CRL file is reported once, not every watch_interval" "$(count_log 'CRL rejected')" "$n1"

# ---------------------------------------------------------------- expired CRL
install_crl expired
if wait_decision client.pem "401 crl-expired " 10; then pass "expired CRL: alice 401 crl-expired (${WAITED} s)"
else fail "expired CRL: alice '$GOT', expected '401 crl-expired '"; fi
ng "${ALICE[@]}"; check_eq "expired CRL: alice through nginx" "$NG" "401 crl-expired"
ng "${BOB[@]}"; check_eq "expired CRL: bob through nginx" "$NG" "401 crl-expired"
check_not_contains "expired CRL: backend not reached" "$BODY" "subject="

# ---------------------------------------------------------------- back to good
install_crl good
if wait_decision client.pem "200 ok " 10; then pass "good CRLs again: alice 200 (${WAITED} s)"
else fail "good CRLs again: alice '$GOT', expected '200 ok '"; fi
check_eq "good CRLs again: revoked.pem" "$(decide revoked.pem)" "401 revoked crl"

# ---------------------------------------------------------------- the CRL file removed
failed_before=$(count_log 'reload failed')
rm -f "$CUR"
if wait_log 'reload failed' $((failed_before + 1)); then pass "CRL file removed: reload refused"
else fail "CRL file removed: no 'reload failed' within 10 s"; fi
check_eq "CRL file removed: alice still allowed (last good CRLs)" "$(decide client.pem)" "200 ok "
check_eq "CRL file removed: revoked.pem still revoked" "$(decide revoked.pem)" "401 revoked crl"
install_crl good

# ---------------------------------------------------------------- authd survived
if kill -0 "$AUTHD_PID" 2>/dev/null; then pass "authd still running"; else fail "authd is gone"; fi
check_eq "authd pid unchanged (same process start time)" \
    "$(awk '{print $22}' "/proc/$AUTHD_PID/stat" 2>/dev/null || echo gone)" "$AUTHD_START"
check_eq "authd loaded once (no restart)" "$(count_log 'authd info: loaded:')" 1
stop_authd

# ---------------------------------------------------------------- SIGHUP, watcher off
AUTHD2_PORT=$(free_port)
A2="127.0.0.1:$AUTHD2_PORT"
install_crl good
start_authd authd-hup "$A2" --trust "$PKI/trust.pem" --intermediates "$PKI/intermediates.pem" \
    --crl "$CUR" --watch-interval 0s --data-dir "$WORK/data-hup"
check_eq "watcher off: alice allowed" "$(decide client.pem "$A2")" "200 ok "
install_crl revokes-alice
sleep 3
check_eq "watcher off: the new CRL file is not read by itself" "$(decide client.pem "$A2")" "200 ok "
kill -HUP "$AUTHD_PID"
if wait_decision client.pem "401 revoked crl" 5 "$A2"; then pass "SIGHUP: alice revoked (${WAITED} s)"
else fail "SIGHUP: alice '$GOT', expected '401 revoked crl'"; fi
check_eq "SIGHUP: bob allowed" "$(decide client2.pem "$A2")" "200 ok "
stop_authd

# ---------------------------------------------------------------- a CRL directory
# Files added, and a file rewritten in place (same inode: the directory's
# own mtime does not change).
AUTHD3_PORT=$(free_port)
A3="127.0.0.1:$AUTHD3_PORT"
D="$WORK/crldir"
mkdir -p "$D"
cp "$CRLS/root.crl.pem" "$D/root.crl.pem"
cp "$CRLS/int.crl.der" "$D/int.crl"
start_authd authd-dir "$A3" --trust "$PKI/trust.pem" --intermediates "$PKI/intermediates.pem" \
    --crl "$D" --data-dir "$WORK/data-dir"
check_eq "CRL directory: alice allowed" "$(decide client.pem "$A3")" "200 ok "
check_eq "CRL directory: revoked.pem revoked" "$(decide revoked.pem "$A3")" "401 revoked crl"
cat "$CRLS/int-revokes-alice.crl.pem" > "$D/int.crl"      # in place
if wait_decision client.pem "401 revoked crl" 10 "$A3"; then pass "CRL directory, file rewritten in place: alice revoked (${WAITED} s)"
else fail "CRL directory, file rewritten in place: alice still '$GOT' after 10 s (is only the directory's mtime watched?)"; fi
cp "$CRLS/int.crl.pem" "$D/.int.tmp" && mv -f "$D/.int.tmp" "$D/int.crl"   # atomic
if wait_decision client.pem "200 ok " 10 "$A3"; then pass "CRL directory, file replaced by mv: alice allowed again (${WAITED} s)"
else fail "CRL directory, file replaced by mv: alice '$GOT' after 10 s"; fi
# Broken files dropped in beside the good ones: each rejected by itself,
# and an update of a good file beside them is applied all the same.  Bob
# asks all along (bounded: 60 s, 3000 requests) and is never refused.
( n=0; end=$((SECONDS + 60))
  while [ ! -e "$WORK/bob-dir.stop" ] && [ "$n" -lt 3000 ] && [ "$SECONDS" -lt "$end" ]; do
      decide client2.pem "$A3" >> "$WORK/bob-dir.txt"; echo >> "$WORK/bob-dir.txt"; n=$((n + 1))
  done ) &
BOBLOOP=$!
i=0
for bad in corrupt.crl.pem truncated int-badsig.crl.pem other-root.crl.pem; do
    i=$((i + 1))
    if [ "$bad" = truncated ]; then
        head -c 200 "$CRLS/int.crl.der" > "$D/zz-$i.crl"; why=unreadable
    else
        cp "$CRLS/$bad" "$D/zz-$i.crl"
        case $bad in corrupt*) why=unreadable;; *) why=signature;; esac
    fi
    if wait_log "$D/zz-$i.crl: CRL rejected \\($why\\)" 1 "$AUTHD_LOG"; then pass "CRL directory, $bad added: rejected as $why"
    else fail "CRL directory, $bad added: no '$D/zz-$i.crl: CRL rejected ($why)' within 10 s"; fi
    check_eq "CRL directory, $bad added: revoked.pem still revoked" "$(decide revoked.pem "$A3")" "401 revoked crl"
    if [ $((i % 2)) = 1 ]; then next=int-revokes-alice.crl.pem want="401 revoked crl"; else next=int.crl.pem want="200 ok "; fi
    cp "$CRLS/$next" "$D/.int.tmp" && mv -f "$D/.int.tmp" "$D/int.crl"
    if wait_decision client.pem "$want" 10 "$A3"; then pass "CRL directory, beside $bad: int.crl updated to $next applies (${WAITED} s)"
    else fail "CRL directory, beside $bad: alice '$GOT' after 10 s, expected '$want' ($next)"; fi
done
touch "$WORK/bob-dir.stop"; wait "$BOBLOOP" 2>/dev/null || true
NBOB=$(grep -c . "$WORK/bob-dir.txt" || true)
if [ "$NBOB" -ge 20 ]; then pass "CRL directory: bob's loop ran ($NBOB requests)"; else fail "CRL directory: bob's loop made $NBOB requests"; fi
check_eq "CRL directory: bob's answers while files broke and changed: all 200" \
    "$(grep -v '^$' "$WORK/bob-dir.txt" | sort | uniq -c | awk '{print $2}' | tr '\n' ' ')" "200 "
check_eq "CRL directory, broken files: no reload failed" "$(count_log 'reload failed' "$AUTHD_LOG")" 0
if kill -0 "$AUTHD_PID" 2>/dev/null; then pass "CRL directory: authd still running"; else fail "CRL directory: authd is gone"; fi
MET=$(curl -s "http://$A3/metrics")
check_contains "CRL directory: /metrics names a rejected file" "$MET" "authd_crl_source_rejected{source=\"$D/zz-1.crl\",reason=\"unreadable\"} 1"
check_contains "CRL directory: /metrics counts signature rejections" "$MET" 'authd_crl_rejected_total{reason="signature"} 2'
stop_authd

# ...and at start: broken files beside good ones, authd starts and uses the good ones
start_authd authd-dir2 "$A3" --trust "$PKI/trust.pem" --intermediates "$PKI/intermediates.pem" \
    --crl "$D" --data-dir "$WORK/data-dir2"
check_eq "CRL directory with broken files, at start: alice allowed" "$(decide client.pem "$A3")" "200 ok "
check_eq "CRL directory with broken files, at start: revoked.pem revoked" "$(decide revoked.pem "$A3")" "401 revoked crl"
check_eq "CRL directory with broken files, at start: 4 rejections logged" "$(count_log 'CRL rejected' "$AUTHD_LOG")" 4
stop_authd

# ---------------------------------------------------------------- serve -n
BASE=(--trust "$PKI/trust.pem" --intermediates "$PKI/intermediates.pem")
# A CRL that cannot be used is a warning naming the file; only a path that
# cannot be read is an error.
declare -A NWHY=([corrupt.crl.pem]=unreadable [int-badsig.crl.pem]=signature [int-by-other.crl.pem]=signature
                 [other-root.crl.pem]=signature [int-future.crl.pem]=not-yet-valid
                 [int-unknown-critical.crl.pem]=critical-extension)
for f in "${!NWHY[@]}"; do
    out=$("$AUTHD_BIN" serve -n "${BASE[@]}" --crl "$CRLS/root.crl.pem" --crl "$CRLS/$f" 2>/dev/null) && rc=0 || rc=$?
    check_eq "serve -n --crl $f: exit status (a warning)" "$rc" 0
    check_contains "serve -n --crl $f: warns, naming the file and why" "$out" "warning: $CRLS/$f: CRL rejected (${NWHY[$f]})"
done
out=$("$AUTHD_BIN" serve -n "${BASE[@]}" --crl "$CRLS/root.crl.pem" --crl "$CRLS/does-not-exist.crl.pem" 2>&1) && rc=0 || rc=$?
check_eq "serve -n --crl does-not-exist.crl.pem: exit status" "$rc" 2
check_contains "serve -n --crl does-not-exist.crl.pem: names the file" "$out" "$CRLS/does-not-exist.crl.pem:"
out=$("$AUTHD_BIN" serve -n "${BASE[@]}" --intermediates "$PKI/intermediate-nocrlsign.pem" \
    --crl "$CRLS/nocrlsign.crl.pem" 2>/dev/null) && rc=0 || rc=$?
check_eq "serve -n --crl nocrlsign.crl.pem (issuer without cRLSign): exit status" "$rc" 0
check_contains "serve -n --crl nocrlsign.crl.pem: names the file and the reason" "$out" "warning: $CRLS/nocrlsign.crl.pem: CRL rejected (no-crlsign)"
check_contains "serve -n --crl nocrlsign.crl.pem: says cRLSign" "$out" "cRLSign"
for f in both.crl.pem dir int.crl.der; do
    out=$("$AUTHD_BIN" serve -n "${BASE[@]}" --crl "$CRLS/$f" 2>&1) && rc=0 || rc=$?
    check_eq "serve -n --crl $f: exit status" "$rc" 0
done
printf 'trust %s\nintermediates %s\ncrl %s\ncrl %s\ncrl_scope leaf\ncrl_missing allow\ncrl_grace 3d\n' \
    "$PKI/trust.pem" "$PKI/intermediates.pem" "$CRLS/root.crl.pem" "$CRLS/int.crl.pem" > "$WORK/authd.conf"
out=$("$AUTHD_BIN" serve -n --config "$WORK/authd.conf" 2>&1) && rc=0 || rc=$?
check_eq "serve -n with crl keys in a config file: exit status" "$rc" 0
printf 'trust %s\ncrl %s\ncrl_scope everything\ncrl_missing maybe\ncrl_grace soon\n' \
    "$PKI/trust.pem" "$CRLS/root.crl.pem" > "$WORK/bad.conf"
out=$("$AUTHD_BIN" serve -n --config "$WORK/bad.conf" 2>&1) && rc=0 || rc=$?
check_eq "serve -n with bad crl_* values: exit status" "$rc" 2
check_contains "bad crl_scope at file:line" "$out" "$WORK/bad.conf:3:"
check_contains "bad crl_missing at file:line" "$out" "$WORK/bad.conf:4:"
check_contains "bad crl_grace at file:line" "$out" "$WORK/bad.conf:5:"

# ---------------------------------------------------------------- check --crl
SCAN_LOGS+=("$WORK/check.err")
# chk ARGS...: authd check; CHK the first line of its output, CHK_OUT the
# whole, CHK_RC its exit status
chk() {
    CHK_OUT=$("$AUTHD_BIN" check "${BASE[@]}" "$@" 2>>"$WORK/check.err") && CHK_RC=0 || CHK_RC=$?
    CHK=$(head -n 1 <<<"$CHK_OUT")
}
chk --crl "$CRLS/both.crl.pem" "$PKI/revoked.pem"; check_eq "check: revoked.pem" "$CHK" "deny revoked"
check_eq "check: revoked.pem exit status" "$CHK_RC" 1
chk --crl "$CRLS/both.crl.pem" "$PKI/client.pem"; check_eq "check: alice" "$CHK" "allow"
check_contains "check: explanation names the intermediate's CRL" "$CHK_OUT" "CRL of CN=authd Test Intermediate CA,O=authd tests, number 10"
check_contains "check: explanation names the root's CRL" "$CHK_OUT" "CRL of CN=authd Test Root CA,O=authd tests, number 12"
check_contains "check: explanation names the source file" "$CHK_OUT" "from $CRLS/both.crl.pem"
check_contains "check: explanation gives thisUpdate" "$CHK_OUT" "thisUpdate $(openssl crl -in "$CRLS/int.crl.pem" -noout -lastupdate -dateopt iso_8601 2>/dev/null | sed 's/^lastUpdate=//; s/ /T/' || echo '?')"
chk --crl "$CRLS/int.crl.pem" "$PKI/client.pem"; check_eq "check: alice, only the intermediate's CRL" "$CHK" "deny revocation-unknown"
chk --crl "$CRLS/int-badsig.crl.pem" --crl "$CRLS/root.crl.pem" "$PKI/client.pem"
check_eq "check: alice, the intermediate's CRL rejected" "$CHK" "deny revocation-unknown"
check_contains "check: explanation lists the rejected CRL and why" "$CHK_OUT" "rejected: $CRLS/int-badsig.crl.pem (signature)"
check_contains "check: the reason names the rejected CRL" "$CHK_OUT" "$CRLS/int-badsig.crl.pem was rejected (signature)"
chk --crl "$CRLS/int.crl.pem" --crl-missing allow "$PKI/client.pem"; check_eq "check: ... with --crl-missing allow" "$CHK" "allow"
chk --crl "$CRLS/int.crl.pem" --crl-scope leaf "$PKI/client.pem"; check_eq "check: ... with --crl-scope leaf" "$CHK" "allow"
chk --crl "$CRLS/int.crl.pem" --crl "$CRLS/root-revokes-int.crl.pem" "$PKI/client.pem"; check_eq "check: revoked intermediate" "$CHK" "deny revoked"
chk --crl "$CRLS/int.crl.pem" --crl "$CRLS/root-revokes-int.crl.pem" --crl-scope leaf "$PKI/client.pem"; check_eq "check: revoked intermediate, --crl-scope leaf" "$CHK" "allow"
chk --crl "$CRLS/int-expired.crl.pem" --crl "$CRLS/root.crl.pem" "$PKI/client.pem"; check_eq "check: expired CRL" "$CHK" "deny crl-expired"
chk --crl "$CRLS/int-expired.crl.pem" --crl "$CRLS/root.crl.pem" --crl-grace 1d "$PKI/client.pem"; check_eq "check: expired CRL, --crl-grace 1d" "$CHK" "deny crl-expired"
chk --crl "$CRLS/int-expired.crl.pem" --crl "$CRLS/root.crl.pem" --crl-grace 3d "$PKI/client.pem"; check_eq "check: expired CRL, --crl-grace 3d" "$CHK" "allow"
# --at moves the clock for CRL times too (the leaf is valid from now-1d)
AT_12H=$(date -u -d '-12 hours' +%Y-%m-%dT%H:%M:%SZ)
AT_P8D=$(date -u -d '+8 days' +%Y-%m-%dT%H:%M:%SZ)
chk --crl "$CRLS/both.crl.pem" --at "$AT_12H" "$PKI/client.pem"; check_eq "check --at now-12h: the intermediate's CRL not yet issued" "$CHK" "deny revocation-unknown"
chk --crl "$CRLS/both.crl.pem" --at "$AT_P8D" "$PKI/client.pem"; check_eq "check --at now+8d: the intermediate's CRL expired" "$CHK" "deny crl-expired"
chk --crl "$CRLS/both.crl.pem" --at "$AT_P8D" --crl-grace 2d "$PKI/client.pem"; check_eq "check --at now+8d, --crl-grace 2d" "$CHK" "allow"
chk --crl "$CRLS/int-part1.crl.pem" --crl "$CRLS/root.crl.pem" "$PKI/partitioned.pem"; check_eq "check: partition match (part1)" "$CHK" "deny revoked"
chk --crl "$CRLS/int-part2.crl.pem" --crl "$CRLS/root.crl.pem" "$PKI/partitioned.pem"; check_eq "check: partition mismatch (part2)" "$CHK" "deny revocation-unknown"
out=$("$AUTHD_BIN" check "${BASE[@]}" --crl "$CRLS/corrupt.crl.pem" "$PKI/client.pem" 2>&1) && rc=0 || rc=$?
check_eq "check --crl corrupt: exit status (a denial, not a configuration error)" "$rc" 1
check_eq "check --crl corrupt: the issuers have no CRL" "$(grep -v -m 1 ' authd ' <<<"$out")" "deny revocation-unknown"
check_contains "check --crl corrupt: names the file and why" "$out" "rejected: $CRLS/corrupt.crl.pem (unreadable)"
