#!/usr/bin/env bash
# A fleet larger than the OCSP table (issue 12): ocsp_cache_size 1000,
# 5,000 distinct client certificates, each with OCSP, none refused.
#
# The leaves are issued here by the PKI's intermediate (one key, 5,000
# serials; every tenth is revoked at the responder), their AIA naming the
# fault responder of ocsp-responder.c.  authd runs with the verdict cache
# off (cache_size 0), so that every request reaches the OCSP table.
#
#  1  5,000 certificates, 4 keep-alive clients: every good one 200, every
#     revoked one 401 revoked; the responder asked once per certificate;
#     the table at most 1,000 CertIDs (plus fetches in flight), evictions
#     counted in /metrics
#  2  the 5,000 again, same process: the same answers and no query (the
#     evicted answers are read back from data_dir)
#  3  restart with the same data_dir: the same answers and no query
. "$(dirname "$0")/lib.bash"

N=5000
PORT=$(free_port); A="127.0.0.1:$PORT"
/usr/bin/python3 -c 'import cryptography' 2>/dev/null ||
    { echo "$TEST_NAME: python3-cryptography is not installed" >&2; exit 2; }
mkdir -p "$WORK/d" "$WORK/certs"

FLOG="$WORK/fault.log"
start_fault_responder fault "$FLOG" "$PKI/intermediate" "$PKI/ocsp-signer" "$PKI/ocsp-bad-signer" \
    "$PKI/ocsp-unrelated"
FPORT=$FAULT_PORT

# ---------------------------------------------------------------- the fleet
# certs/list: one line per leaf, "SERIAL-HEX EXPECT HEADER-VALUE"
/usr/bin/python3 "$REPO/tests/integration/fleet-certs.py" "$PKI" "$N" "$WORK/certs/list" \
    --serial-base 100000 --ocsp "http://127.0.0.1:$FPORT" --revoked-every 10 || exit 2

# ---------------------------------------------------------------- the client
# run PASS: every leaf once, 4 keep-alive connections; prints mismatches
# ("SERIAL expected E got CODE REASON") and a last line "asked N wrong W"
run() { timeout 300 /usr/bin/python3 "$REPO/tests/integration/fleet-client.py" 127.0.0.1 "$PORT" "$WORK/certs/list" 2>&1 || true; }
queries() { grep -c '^ocsp ' "$FLOG" || true; }
distinct() { sed -n 's/^ocsp .* serial=\([0-9A-F]*\) .*/\1/p' "$FLOG" | sort -u | wc -l; }
metric() { authd_curl -s --max-time 5 /metrics | awk -v m="$1" '$1 == m { print $2 }'; }

ARGS=(--trust "$PKI/trust.pem" --intermediates "$PKI/intermediates.pem" --ocsp leaf
      --ocsp-cache-size 1000 --cache-size 0 --data-dir "$WORK/d" --ocsp-failure deny)
start_authd authd "$A" "${ARGS[@]}"

# ---------------------------------------------------------------- 1
out=$(run)
check_eq "1: $N certificates, table of 1000: every answer right" "$(tail -n 1 <<<"$out")" "asked $N wrong 0"
[ "$(tail -n 1 <<<"$out")" = "asked $N wrong 0" ] || printf '%s\n' "$out" | head -10 | sed 's/^/    /'
check_eq "1: the responder asked once per certificate (queries, distinct serials)" \
    "$(queries) $(distinct)" "$N $N"
entries=$(metric authd_ocsp_cache_entries); evicted=$(metric authd_ocsp_cache_evictions_total)
if [ -n "$entries" ] && [ "$entries" -le 1010 ]; then pass "1: the table holds $entries CertIDs (<= 1000 + fetches in flight)"
else fail "1: the table holds '${entries}' CertIDs, more than ocsp_cache_size 1000"; fi
if [ -n "$evicted" ] && [ "$evicted" -ge $((N - 1010)) ]; then pass "1: $evicted evictions counted"
else fail "1: evictions '${evicted}', expected at least $((N - 1010))"; fi

# ---------------------------------------------------------------- 2
out=$(run)
check_eq "2: the $N again, same process: every answer right" "$(tail -n 1 <<<"$out")" "asked $N wrong 0"
check_eq "2: ... no new query (evicted answers read back from data_dir)" "$(queries)" "$N"

# ---------------------------------------------------------------- 3
stop_authd
start_authd authd-restarted "$A" "${ARGS[@]}"
out=$(run)
check_eq "3: after a restart: every answer right" "$(tail -n 1 <<<"$out")" "asked $N wrong 0"
check_eq "3: ... no new query" "$(queries)" "$N"
stop_authd
