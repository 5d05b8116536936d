#!/usr/bin/env bash
# RFC 5280 6.3 CRL processing (issue 11), every case of
# tests/pki/gen-rfc5280.py (README-rfc5280.md says what each is for):
# CA key renewal, a separate CRL signer, self-issued root rollover, IDP
# names in every form, reason partitions, indirect CRLs, critical
# extensions, a CA without cRLSign.  Each case, good and revoked
# certificates, three ways that must agree:
#   1. authd check (CRLs in memory)
#   2. authd serve with a data_dir (CRLs indexed in LMDB), asked directly
#   3. the same serve restarted on that data_dir: the CRLs come from the
#      records of the first run, their signers validated again, and every
#      chain allowed in the first run is the one kept there (the CRL checks
#      read the kept leaf's facts, not the certificate: verified.h)
. "$(dirname "$0")/lib.bash"

PY=/usr/bin/python3
"$PY" -c 'import cryptography' 2>/dev/null || { echo "$TEST_NAME: python3-cryptography is missing" >&2; exit 2; }
F="$WORK/rfc5280"
"$PY" "$REPO/tests/pki/gen-rfc5280.py" "$F" || { echo "$TEST_NAME: fixture generation failed" >&2; exit 2; }
[ -s "$F/cases.tsv" ] || { echo "$TEST_NAME: no cases" >&2; exit 2; }

declare -A ESC=()
# decide ADDR CERT: "CODE REASON" straight from authd
decide() {
    local addr=$1 cert=$2 out
    [ -n "${ESC[$cert]:-}" ] || ESC[$cert]=$(escape_pem "$cert")
    out=$(curl -sS --max-time 5 -o /dev/null -D - -w 'code=%{http_code}\n' \
        -H "X-SSL-Client-Cert: ${ESC[$cert]}" -H "X-SSL-Client-Verify: SUCCESS" \
        -H "X-Original-URI: /crl" -H "X-Original-Method: GET" -H "X-Original-Host: localhost" \
        "http://$addr/auth" 2>/dev/null | tr -d '\r') || true
    printf '%s %s' "$(printf '%s\n' "$out" | sed -n 's/^code=//p')" \
        "$(printf '%s\n' "$out" | sed -n 's/^[Xx]-[Aa]uthd-[Rr]eason: *//p' | tail -n 1)"
}
# what `authd check` prints first for each answer
check_word() {
    case "$1" in
        "200 ok") echo allow;;
        "401 revoked") echo "deny revoked";;
        "401 revocation-unknown") echo "deny revocation-unknown";;
        *) echo "? $1";;
    esac
}

# One configuration per distinct (family, trust, ints, crls, scope): its
# certificates and expectations gathered, so each serve starts once.
declare -A CONF_ROWS=()
declare -a CONFS=()
ncases=0
while IFS=$'\t' read -r case fam cert scope expect crls trust ints what; do
    key="$fam|$trust|$ints|$crls|$scope"
    if [ -z "${CONF_ROWS[$key]:-}" ]; then CONFS+=("$key"); CONF_ROWS[$key]=""; fi
    CONF_ROWS[$key]+="$case"$'\t'"$cert"$'\t'"$expect"$'\t'"$what"$'\n'
    ncases=$((ncases + 1))
done < "$F/cases.tsv"
echo "$TEST_NAME: $ncases cases in ${#CONFS[@]} configurations"

SCAN_LOGS+=("$WORK/check.err")
n=0
for key in "${CONFS[@]}"; do
    IFS='|' read -r fam trust ints crls scope <<<"$key"
    D="$F/$fam"
    args=(--trust "$D/$trust" --intermediates "$D/$ints" --crl-scope "$scope")
    for c in $crls; do args+=(--crl "$D/$c"); done
    n=$((n + 1))
    port=$(free_port)
    data="$WORK/data-$n"
    for run in 1 2; do
        start_authd "authd-$n-$run" "127.0.0.1:$port" "${args[@]}" --data-dir "$data"
        while IFS=$'\t' read -r case cert expect what; do
            [ -n "$case" ] || continue
            got=$(decide "127.0.0.1:$port" "$D/$cert")
            if [ "$run" = 1 ]; then
                check_eq "$case $cert, serve: $what" "$got" "$expect"
                out=$("$AUTHD_BIN" check "${args[@]}" "$D/$cert" 2>>"$WORK/check.err" | head -n 1) || true
                check_eq "$case $cert, check" "$out" "$(check_word "$expect")"
            else
                check_eq "$case $cert, serve again from the store" "$got" "$expect"
            fi
        done <<<"${CONF_ROWS[$key]}"
        if [ "$run" = 2 ]; then
            # each certificate allowed in the first run was decided on its
            # kept chain (no parse, no signature), and decided the same
            nok=$(grep -c $'\t200 ok\t' <<<"${CONF_ROWS[$key]}" || true)
            check_eq "$fam ($crls): restarted, the allowed certificates' chains come from data_dir" \
                "$(curl -sS --max-time 5 "http://127.0.0.1:$port/metrics" |
                   awk '$1 == "authd_verified_chain_hits_total" { print $2 }')" "$nok"
            # the second run read the first run's records, not the files
            nfiles=$(wc -w <<<"$crls")
            # (a rejected file has no record: it is read, and rejected, again)
            check_eq "$fam ($crls): restarted, every CRL file comes from its record" \
                "$(( $(grep -c 'unchanged since checked' "$AUTHD_LOG" || true) +
                     $(grep -c 'CRL rejected' "$AUTHD_LOG" || true) ))" "$nfiles"
        fi
        stop_authd
    done
done

# ---------------------------------------------------------------- explanations
# check names the CRL that answered and its signer when it is another
# certificate than the CA's own
D="$F/signer"
out=$("$AUTHD_BIN" check --trust "$D/trust.pem" --intermediates "$D/ints.pem" --crl "$D/by-signer.crl" \
    "$D/revoked.pem" 2>>"$WORK/check.err") || true
check_contains "check: the separate signer's CRL is named" "$out" "CRL of CN=Signer CA,O=authd rfc5280 tests"
# the signer is the second certificate of ints.pem
awk '/-----BEGIN/{n++} n==2' "$D/ints.pem" > "$WORK/signer.pem"
serial=$(openssl x509 -in "$WORK/signer.pem" -noout -serial | sed 's/serial=//')
check_contains "check: ... and its signer, another certificate of the CA's name, by serial" "$out" \
    "signed by another certificate of that name (serial $serial, issued by CN=Signer Root,O=authd rfc5280 tests)"
out=$("$AUTHD_BIN" check --trust "$D/trust2.pem" --intermediates "$D/ints-other.pem" --crl "$D/by-other.crl" \
    "$D/good.pem" 2>>"$WORK/check.err") || true
check_contains "check: a candidate that is not used, and why (another anchor)" "$out" \
    "depth 0: not used: CRL of CN=Signer CA,O=authd rfc5280 tests, number 01, from $D/by-other.crl: its signer's path ends at another trust anchor"
check_not_contains "check: ... not listed for the CA (another issuer)" "$out" "depth 1: not used"
D="$F/idp"
out=$("$AUTHD_BIN" check --trust "$D/trust.pem" --intermediates "$D/ints.pem" --crl "$D/uri-p2.crl" --crl "$D/cas.crl" \
    --crl "$D/uri-p1.crl" "$D/uri-good.pem" 2>>"$WORK/check.err") || true
check_contains "check: another partition is not used, and says so" "$out" "from $D/uri-p2.crl: another distribution point"
check_contains "check: a CA-only CRL is not used, and says so" "$out" "from $D/cas.crl: for another kind of certificate"
check_contains "check: the matching partition answers" "$out" "from $D/uri-p1.crl"
D="$F/reasons"
out=$("$AUTHD_BIN" check --trust "$D/trust.pem" --intermediates "$D/ints.pem" --crl "$D/part-a.crl" \
    "$D/good.pem" 2>>"$WORK/check.err") || true
check_contains "check: an incomplete partition says which reasons are not covered" "$out" \
    "none for affiliationChanged,superseded,cessationOfOperation,certificateHold,privilegeWithdrawn,aACompromise"
check_contains "check: the partition's reasons are shown" "$out" "reasons keyCompromise,cACompromise"
D="$F/critical"
out=$("$AUTHD_BIN" check --trust "$D/trust.pem" --intermediates "$D/ints.pem" --crl "$D/crit-entry.crl" \
    "$D/good.pem" 2>>"$WORK/check.err") || true
check_contains "check: a critical entry extension is named as such" "$out" \
    "rejected: $D/crit-entry.crl (critical-extension): CRL of CN=Critical CA,O=authd rfc5280 tests refused: an unknown critical entry extension 1.3.6.1.4.1.55555.2"
D="$F/signer"
out=$("$AUTHD_BIN" check --trust "$D/trust.pem" --intermediates "$D/ints-nocrlsign.pem" --crl "$D/by-nocrlsign.crl" \
    "$D/good.pem" 2>>"$WORK/check.err") || true
check_contains "check: a signer without cRLSign is named as such" "$out" "(no-crlsign)"

