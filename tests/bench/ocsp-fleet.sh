#!/usr/bin/env bash
# The OCSP table and store at fleet scale (issue 12): ocspbench.c through
# the library authd is built from.  Not a test; a few minutes for a
# million CertIDs (most of it signing and verifying them once).
#
#   tests/bench/ocsp-fleet.sh [N [TABLE]]   defaults 1000000 and 100000
#
# Needs build/ (cmake, as tests/run.sh makes it) and a PKI from
# tests/pki/gen.sh (made here when BENCH_PKI is unset).  The store lives in
# /dev/shm (every put commits; on a disk that is an fsync each).  Targets
# (issue 12): no failure; RSS growth <= 100 MB; a stored answer read back
# in <= 10 us.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
N=${1:-1000000}
TABLE=${2:-100000}
T=$(mktemp -d /dev/shm/authd-ocspbench.XXXXXX)
trap 'rm -rf "$T"' EXIT
[ -f "$ROOT/build/libauthd_core.a" ] || { echo "ocsp-fleet: build/ first (cmake)" >&2; exit 2; }
PKI=${BENCH_PKI:-$T/pki}
[ -n "${BENCH_PKI:-}" ] || bash "$ROOT/tests/pki/gen.sh" "$PKI" >/dev/null
cc -O2 -Wall -Wextra -I "$ROOT/authd" -o "$T/ocspbench" "$HERE/ocspbench.c" \
    "$ROOT/build/libauthd_core.a" -lmicrohttpd -lssl -lcrypto -lpcre2-8 -lcurl -llmdb -lpthread
mkdir "$T/store"
"$T/ocspbench" "$PKI" "$N" "$TABLE" "$T/store" | tee "$T/out.txt"
# ratios within this run: the reference is verifying an answer (what a
# read back cost before records), and signing one (the responder's side)
awk '/phase=verify/ { for (i = 2; i <= NF; i++) if ($i ~ /^us_per=/) { split($i, a, "="); v = a[2] } }
     /phase=read/   { for (i = 2; i <= NF; i++) if ($i ~ /^us_per=/) { split($i, a, "="); r = a[2] } }
     /phase=seed/   { for (i = 2; i <= NF; i++) if ($i ~ /^sign_us_per=/) { split($i, a, "="); s = a[2] } }
     /when=start/   { split($4, a, "="); a0 = a[2] }
     /when=end/     { split($4, a, "="); a1 = a[2] }
     END { printf "OCSPBENCH ratio read/verify=%.3f read/sign=%.3f rss_anon_growth_mb=%.1f\n",
           r / v, r / s, (a1 - a0) / 1024 }' "$T/out.txt"
