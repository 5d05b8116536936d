#!/usr/bin/env bash
# A reload that changes the OCSP signers and the policy together, under
# load (issue 12): every answer is the old configuration's or the new
# one's, never a mix of the two.
#
# Two leaves issued here by the PKI's intermediate, their AIA naming the
# fault responder of ocsp-responder.c:
#   U  answered "good" by a responder outside the CA hierarchy (mode
#      unrelated): acceptable only while its certificate is pinned
#      (ocsp_signer)
#   G  answered "good" by the intermediate itself: always acceptable
#
#   old  ocsp_signer ocsp-unrelated.pem, policy: allow true
#   new  no ocsp_signer,                 policy: deny true reason "new-policy"
#
# Under old, both are 200.  Under new, U is 401 revocation-unknown (its
# answer no longer verifies) and G is 403 new-policy.  A mix shows as U
# 403 new-policy (the new policy, with an answer only the old trust
# accepts) or G/U 200 after the new policy answered once.
#
#  1  before: U and G 200 (the answers are in the OCSP table)
#  2  4 clients ask U and G in a loop; the configuration is replaced and
#     SIGHUP sent: every answer is an old one or a new one, and once a
#     client saw a new answer it never sees an old one again
#  3  after: U 401 revocation-unknown, G 403 new-policy
#  4  a request waiting for a slow responder (S, slow1500) across a reload
#     that replaces the trust: the pass after the wait decides under the
#     new trust (401 untrusted), not with the chain its first pass verified
#     under the old one
. "$(dirname "$0")/lib.bash"

PORT=$(free_port); A="127.0.0.1:$PORT"
mkdir -p "$WORK/d" "$WORK/certs"

FLOG="$WORK/fault.log"
start_fault_responder fault "$FLOG" "$PKI/intermediate" "$PKI/ocsp-signer" "$PKI/ocsp-bad-signer" \
    "$PKI/ocsp-unrelated"
FPORT=$FAULT_PORT

# leaf NAME MODE: issued by the intermediate, AIA OCSP at the fault responder
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$WORK/certs/leaf.key" 2>/dev/null
leaf() {
    local n=$1 d="$WORK/certs"
    printf '[v3]\nbasicConstraints = critical, CA:FALSE\nkeyUsage = critical, digitalSignature\nextendedKeyUsage = clientAuth\nauthorityKeyIdentifier = keyid:always\nauthorityInfoAccess = OCSP;URI:http://127.0.0.1:%s/%s\n' \
        "$FPORT" "$2" > "$d/$n.ext"
    openssl req -new -key "$d/leaf.key" -subj "/O=Example Corp/CN=reload-$n" -out "$d/$n.csr" 2>/dev/null &&
    openssl x509 -req -in "$d/$n.csr" -CA "$PKI/intermediate.pem" -CAkey "$PKI/intermediate.key" \
        -set_serial "0x$(openssl rand -hex 8)" -days 30 -sha256 -extfile "$d/$n.ext" -extensions v3 \
        -out "$d/$n.pem" 2>/dev/null || { echo "$TEST_NAME: cannot issue $n" >&2; exit 2; }
    escape_pem "$d/$n.pem" > "$d/$n.esc"
}
leaf U unrelated
leaf G good
leaf S slow1500

printf 'ruleset default {\n  allow true\n}\n' > "$WORK/old.policy"
printf 'ruleset default {\n  deny true reason "new-policy"\n}\n' > "$WORK/new.policy"
conf() {   # FILE POLICY [SIGNER]
    {
        printf 'trust %s\nintermediates %s\nocsp leaf\nocsp_failure deny\n' "$PKI/trust.pem" "$PKI/intermediates.pem"
        printf 'data_dir %s\nwatch_interval 0s\npolicy %s\nfetch_timeout 4s\n' "$WORK/d" "$2"
        if [ -n "${3:-}" ]; then printf 'ocsp_signer %s\n' "$3"; fi
    } > "$1"
}
conf "$WORK/old.conf" "$WORK/old.policy" "$PKI/ocsp-unrelated.pem"
conf "$WORK/new.conf" "$WORK/new.policy"
cp "$WORK/old.conf" "$WORK/authd.conf"
start_authd authd "$A" --config "$WORK/authd.conf"

# decide NAME: "CODE REASON" straight from authd
decide() {
    local out
    out=$(authd_curl -sS --max-time 10 -o /dev/null -D - -w 'code=%{http_code}\n' \
        -H "X-SSL-Client-Cert: $(cat "$WORK/certs/$1.esc")" -H "X-SSL-Client-Verify: SUCCESS" \
        -H "X-Original-URI: /x" -H "X-Original-Method: GET" -H "X-Original-Host: localhost" \
        /auth 2>/dev/null | tr -d '\r') || true
    printf '%s %s' "$(sed -n 's/^code=//p' <<<"$out")" \
        "$(sed -n 's/^[Xx]-[Aa]uthd-[Rr]eason: *//p' <<<"$out" | tail -n 1)"
}

# ---------------------------------------------------------------- 1
check_eq "1: old configuration: U (pinned responder)" "$(decide U)" "200 ok"
check_eq "1: old configuration: G (the issuer's responder)" "$(decide G)" "200 ok"

# ---------------------------------------------------------------- 2
# Each worker writes "NAME CODE REASON" lines, in order, for 6 s at most.
cat > "$WORK/load.py" <<'PY'
import http.client, sys, time
host, port, out, stop = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
certs = {n: open(sys.argv[5] + "/" + n + ".esc").read() for n in ("U", "G")}
c = http.client.HTTPConnection(host, port, timeout=10)
end = time.time() + 6
with open(out, "w") as f:
    while time.time() < end:
        for n in ("U", "G"):
            c.request("GET", "/auth", headers={"X-SSL-Client-Cert": certs[n], "X-SSL-Client-Verify": "SUCCESS",
                      "X-Original-URI": "/x", "X-Original-Method": "GET", "X-Original-Host": "localhost"})
            r = c.getresponse(); r.read()
            f.write("%s %d %s\n" % (n, r.status, r.getheader("X-Authd-Reason", "-")))
        try:
            open(stop).close(); break
        except OSError:
            pass
PY
P=()
for w in 1 2 3 4; do
    /usr/bin/python3 "$WORK/load.py" 127.0.0.1 "$PORT" "$WORK/load-$w.txt" "$WORK/stop" "$WORK/certs" &
    P+=($!)
done
sleep 1
cp "$WORK/new.conf" "$WORK/authd.conf"
kill -HUP "$AUTHD_PID"
for i in $(seq 1 100); do grep -q 'reloaded:' "$AUTHD_LOG" && break; sleep 0.05; done
check_contains "2: authd reloaded" "$(cat "$AUTHD_LOG")" "reloaded:"
sleep 1.5
touch "$WORK/stop"
for p in "${P[@]}"; do wait "$p" || true; done

# classify: old = U/G 200; new = U 401 revocation-unknown, G 403 new-policy
total=0; mixed=""; nmixed=0; back=""; news=0
for w in 1 2 3 4; do
    seen_new=0
    while read -r n code reason; do
        total=$((total + 1))
        case "$n $code $reason" in
            "U 200 ok"|"G 200 ok") if [ "$seen_new" = 1 ] && [ "${#back}" -lt 100 ]; then back+=" worker$w:$n"; fi;;
            "U 401 revocation-unknown"|"G 403 new-policy") seen_new=1; news=$((news + 1));;
            *) nmixed=$((nmixed + 1)); [ "$nmixed" -le 5 ] && mixed+=" [$n $code $reason]";;
        esac
    done < "$WORK/load-$w.txt"
done
echo "    $total answers under load, $news of them the new configuration's"
if [ "$total" -ge 20 ] && [ "$news" -ge 4 ]; then pass "2: load ran across the reload ($total answers, $news new)"
else fail "2: too little load across the reload: $total answers, $news new"; fi
check_eq "2: no answer mixes the two configurations (count, the first 5)" "$nmixed${mixed}" 0
check_eq "2: no old answer after a new one" "${back:-none}" none

# ---------------------------------------------------------------- 3
check_eq "3: new configuration: U (responder no longer pinned)" "$(decide U)" "401 revocation-unknown"
check_eq "3: new configuration: G" "$(decide G)" "403 new-policy"

# ---------------------------------------------------------------- 4
# reload FILE: make it the configuration and wait for the reload to be done
reload() {
    local before
    before=$(grep -c 'reloaded:' "$AUTHD_LOG" || true)
    cp "$1" "$WORK/authd.conf"
    kill -HUP "$AUTHD_PID"
    for _ in $(seq 1 100); do
        [ "$(grep -c 'reloaded:' "$AUTHD_LOG" || true)" -gt "$before" ] && return 0
        sleep 0.05
    done
    fail "4: reload to $1 not done: $(tail -n 2 "$AUTHD_LOG")"
}
conf "$WORK/held.conf" "$WORK/old.policy"
# The other root alone: S has no chain to it.
sed -e "s|^trust .*|trust $PKI/other-root.pem|" -e '/^intermediates /d' "$WORK/held.conf" > "$WORK/moved.conf"
reload "$WORK/held.conf"
asked=$(grep -c 'slow1500' "$FLOG" || true)
decide S > "$WORK/s.out" &
SP=$!
for _ in $(seq 1 100); do
    [ "$(grep -c 'slow1500' "$FLOG" || true)" -gt "$asked" ] && break
    sleep 0.02
done
check_eq "4: S's first pass asked the slow responder" "$(grep -c 'slow1500' "$FLOG" || true)" "$((asked + 1))"
reload "$WORK/moved.conf"
wait "$SP" || true
check_eq "4: the pass after the wait decides under the new trust" "$(cat "$WORK/s.out")" "401 untrusted"
stop_authd
