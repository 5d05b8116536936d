#!/usr/bin/env bash
# A federal-scale CRL set (issue 12): 50 issuing CAs with a CRL of 150,000
# entries each and one with 1,000,000 (the US DoD publishes about 50 CRLs,
# over 230 MB together), loaded by crl_set_load as `authd serve` starts,
# through crlbench.c linked with the library authd is built from.  Not a
# test; about two minutes.
#
#   tests/bench/crl-federal.sh [RUNS [NCAS ENTRIES BIG]]
#       defaults 3, and 50 150000 1000000
#
# Each run: a first start (a new data_dir: every CRL parsed, verified and
# indexed) and a second (the same data_dir: the files' records found),
# each in its own process for its peak RSS (VmHWM).  The reference,
# measured in the same run: `openssl crl -noout` over the same files (what
# OpenSSL needs just to parse them), and its peak RSS on the largest.
# Targets (issue 12): first start <= 60 s, second <= 2 s, peak RSS
# <= 256 MB.  The lookup (<= 5 us at a million entries) is crlbench run's
# (tests/bench/run.sh).  Needs build/ (cmake, as tests/run.sh makes it).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
RUNS=${1:-3}
NCAS=${2:-50}; ENTRIES=${3:-150000}; BIG=${4:-1000000}
[ -f "$ROOT/build/libauthd_core.a" ] || { echo "crl-federal: build/ first (cmake)" >&2; exit 2; }
T=$(mktemp -d /var/tmp/authd-crlfed.XXXXXX)
trap 'rm -rf "$T"' EXIT
bash "$ROOT/tests/pki/gen.sh" "$T/pki" >/dev/null
cc -O2 -Wall -Wextra -I "$ROOT/authd" -o "$T/crlbench" "$HERE/crlbench.c" \
    "$ROOT/build/libauthd_core.a" -lmicrohttpd -lssl -lcrypto -lpcre2-8 -lcurl -llmdb -lpthread
"$T/crlbench" fedgen "$T/pki" "$NCAS" "$ENTRIES" "$BIG" "$T/set"
echo "files: $(ls "$T/set/crl" | wc -l), $(du -sm "$T/set/crl" | cut -f1) MB"
kv() { sed -n "s/.*[ ]$1=\([0-9]*\).*/\1/p" <<<"$2"; }
for run in $(seq 1 "$RUNS"); do
    rm -rf "$T/store"
    first=$("$T/crlbench" fedload "$T/pki" "$T/set" "$T/store" 2>/dev/null | grep FEDLOAD)
    second=$("$T/crlbench" fedload "$T/pki" "$T/set" "$T/store" 2>/dev/null | grep FEDLOAD)
    s0=$(date +%s%N)
    for f in "$T/set/crl"/*.der; do openssl crl -inform DER -in "$f" -noout; done
    ref_ms=$(( ($(date +%s%N) - s0) / 1000000 ))
    big=$(ls -S "$T/set/crl"/*.der | head -1)
    ref_kb=$(python3 -c 'import resource, subprocess, sys
subprocess.run(sys.argv[1:], check=True)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)' openssl crl -inform DER -in "$big" -noout)
    f_ms=$(kv ms "$first"); f_kb=$(kv hwm_kb "$first")
    s_ms=$(kv ms "$second"); s_kb=$(kv hwm_kb "$second")
    echo "run $run: first start ${f_ms} ms, peak ${f_kb} kB; second start ${s_ms} ms, peak ${s_kb} kB;" \
        "openssl crl -noout over the files ${ref_ms} ms (first start / it: $(awk -v a="$f_ms" -v b="$ref_ms" 'BEGIN { printf "%.2f", a / b }')), its peak on the largest ${ref_kb} kB" \
        "(authd's peak / it: $(awk -v a="$f_kb" -v b="$ref_kb" 'BEGIN { printf "%.2f", a / b }'))"
    echo "  $first"
    echo "  $second"
done
