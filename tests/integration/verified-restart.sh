#!/usr/bin/env bash
# Verified chains kept across restarts (issue 14, item 4): authd serve with
# a data_dir keeps each chain that verified; after a restart a certificate
# seen before is answered without verifying its chain again
# (authd_verified_chain_hits_total), with the same identity and policy
# headers, while revocation is still decided afresh (a CRL revoking it since
# wins) and a changed trust store makes every kept chain a miss.
#
#  1  first run: alice and bob allowed, two chains written
#  2  restart: alice allowed from the kept chain, her identity and the
#     policy's header as before; the audit-free log says so
#  3  restart with a CRL revoking alice: the kept chain, revoked
#  4  restart with another intermediates bundle: verified again (no hit)
#  5  verified_cache_size 0: nothing written
#  6  OCSP on a kept chain (a real responder, openssl ocsp): the record's
#     leaf gives the CertID, so bob, revoked at the responder, is revoked
#     and alice is good, both from their kept chains
. "$(dirname "$0")/lib.bash"

PORT=$(free_port)
A="127.0.0.1:$PORT"
mkdir -p "$WORK/policy" "$WORK/crl"
cat > "$WORK/policy/p.policy" <<'POLICY'
ruleset default { allow subject.O == "Example Corp" set X-Who = subject.CN }
POLICY
printf 'X-SSL-Client-Cert: %s\n' "$(escape_pem "$PKI/client.pem")" > "$WORK/alice.hdr"
printf 'X-SSL-Client-Cert: %s\n' "$(escape_pem "$PKI/client2.pem")" > "$WORK/bob.hdr"
cat "$PKI/intermediates.pem" "$PKI/aia/ica.pem" > "$WORK/more-intermediates.pem"

# serve RUN CRL-FILE INTERMEDIATES [ARGS...]
serve() {
    local run=$1 crl=$2 ints=$3; shift 3
    start_authd "run$run" "$A" --trust "$PKI/trust.pem" --intermediates "$ints" \
        --crl "$crl" --crl "$PKI/crl/root.crl.pem" --crl-fetch off \
        --policy "$WORK/policy/p.policy" --data-dir "$WORK/data" --log-level debug "$@"
}
metric() { authd_curl -sS --max-time 5 "/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }
# ask HDRFILE: D="CODE REASON REVOCATION", WHO = X-Who
ask() {
    local out
    out=$(curl -sS --max-time 10 -o /dev/null -D - -H "@$1" -H "X-SSL-Client-Verify: SUCCESS" \
        -H "X-Original-URI: /x" -H "X-Original-Method: GET" -H "X-Original-Host: localhost" \
        "http://$A/auth" 2>/dev/null | tr -d '\r')
    D="$(head -n 1 <<<"$out" | cut -d' ' -f2) $(sed -n 's/^[Xx]-[Aa]uthd-[Rr]eason: *//p' <<<"$out")"
    WHO=$(sed -n 's/^[Xx]-[Ww]ho: *//p' <<<"$out")
    SUBJ=$(sed -n 's/^[Xx]-[Aa]uthd-[Ss]ubject: *//p' <<<"$out")
}

# ---------------------------------------------------------------- 1 first run
serve 1 "$PKI/crl/int.crl.pem" "$PKI/intermediates.pem"
ask "$WORK/alice.hdr"; check_eq "run 1: alice" "$D $WHO" "200 ok alice"
SUBJ1=$SUBJ
ask "$WORK/bob.hdr"; check_eq "run 1: bob" "$D $WHO" "200 ok bob"
check_eq "run 1: two chains written" "$(metric authd_verified_chain_writes_total)" 2
check_eq "run 1: none taken from data_dir" "$(metric authd_verified_chain_hits_total)" 0
stop_authd

# ---------------------------------------------------------------- 2 restart
serve 2 "$PKI/crl/int.crl.pem" "$PKI/intermediates.pem"
check_eq "run 2: two chains kept" "$(metric authd_verified_chains)" 2
ask "$WORK/alice.hdr"; check_eq "run 2: alice, from the kept chain" "$D $WHO" "200 ok alice"
check_eq "run 2: her identity as before" "$SUBJ" "$SUBJ1"
check_eq "run 2: one chain taken from data_dir" "$(metric authd_verified_chain_hits_total)" 1
check_eq "run 2: nothing written again" "$(metric authd_verified_chain_writes_total)" 0
check_contains "run 2: the log says it was not verified again" "$(cat "$AUTHD_LOG")" \
    "chain verified before (kept in data_dir), not checked again"
stop_authd

# ---------------------------------------------------------------- 3 revoked since
serve 3 "$PKI/crl/int-revokes-alice.crl.pem" "$PKI/intermediates.pem"
ask "$WORK/alice.hdr"; check_eq "run 3: alice revoked since: revoked" "$D" "401 revoked"
check_eq "run 3: decided on the kept chain" "$(metric authd_verified_chain_hits_total)" 1
ask "$WORK/bob.hdr"; check_eq "run 3: bob" "$D $WHO" "200 ok bob"
stop_authd

# ---------------------------------------------------------------- 4 another trust store
serve 4 "$PKI/crl/int.crl.pem" "$WORK/more-intermediates.pem"
ask "$WORK/alice.hdr"; check_eq "run 4: alice" "$D $WHO" "200 ok alice"
check_eq "run 4: another trust store: verified again" "$(metric authd_verified_chain_hits_total)" 0
check_eq "run 4: and written" "$(metric authd_verified_chain_writes_total)" 1
stop_authd

# ---------------------------------------------------------------- 5 off
rm -rf "$WORK/data"
serve 5 "$PKI/crl/int.crl.pem" "$PKI/intermediates.pem" --verified-cache-size 0
ask "$WORK/alice.hdr"; check_eq "run 5 (verified_cache_size 0): alice" "$D" "200 ok"
check_eq "run 5: nothing written" "$(metric authd_verified_chain_writes_total)" ""
stop_authd

# ---------------------------------------------------------------- 6 OCSP on kept chains
rm -rf "$WORK/data"
serve 6 "$PKI/crl/int.crl.pem" "$PKI/intermediates.pem"
ask "$WORK/alice.hdr"; ask "$WORK/bob.hdr"
check_eq "run 6: both chains written" "$(metric authd_verified_chain_writes_total)" 2
stop_authd
mkdir -p "$WORK/ocsp"
EXP=$(date -u -d '+30 days' +%y%m%d%H%M%SZ)
REVAT=$(date -u -d '-1 day' +%y%m%d%H%M%SZ)
serial() { openssl x509 -in "$1" -noout -serial | sed 's/^serial=//'; }
{ printf 'V\t%s\t\t%s\tunknown\t/CN=alice\n' "$EXP" "$(serial "$PKI/client.pem")"
  printf 'R\t%s\t%s,keyCompromise\t%s\tunknown\t/CN=bob\n' "$EXP" "$REVAT" "$(serial "$PKI/client2.pem")"
} > "$WORK/ocsp/index.txt"
OPORT=$(free_port)
bg responder "$WORK/responder.log" openssl ocsp -index "$WORK/ocsp/index.txt" -port "$OPORT" -ndays 1 \
    -rsigner "$PKI/ocsp-signer.pem" -rkey "$PKI/ocsp-signer.key" -CA "$PKI/intermediate.pem"
for i in $(seq 1 50); do grep -q 'waiting for OCSP client connections' "$WORK/responder.log" && break; sleep 0.1; done
start_authd run6b "$A" --trust "$PKI/trust.pem" --intermediates "$PKI/intermediates.pem" \
    --ocsp leaf --ocsp-responder "http://127.0.0.1:$OPORT" --policy "$WORK/policy/p.policy" \
    --data-dir "$WORK/data" --log-level debug
ask "$WORK/alice.hdr"; check_eq "run 6: OCSP on alice's kept chain: good" "$D $WHO" "200 ok alice"
ask "$WORK/bob.hdr"; check_eq "run 6: OCSP on bob's kept chain: revoked at the responder" "$D" "401 revoked"
# two passes each: before the OCSP fetch and after it (a restored chain is
# not held across the wait; the second pass takes it from data_dir again)
check_eq "run 6: both decided on their kept chains (no CRL: only the responder knows bob)" \
    "$(metric authd_verified_chain_hits_total)" 4
check_eq "run 6: no chain verified again" "$(metric authd_verified_chain_writes_total)" 0
stop_authd
