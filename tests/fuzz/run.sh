#!/usr/bin/env bash
# Build the libFuzzer targets (build-fuzz/: clang, ASan + UBSan) and fuzz
# each one, starting from its committed corpus (copied: the tree stays
# clean).  Every committed corpus file and regression input is replayed
# first.  Non-zero on any crash, leak, timeout or out-of-memory.
#
#   tests/fuzz/run.sh             replay, then 20 s per target (the smoke run)
#   tests/fuzz/run.sh SECONDS     replay, then SECONDS per target
#   FUZZ_TARGETS="http config" tests/fuzz/run.sh 600   some targets only
#   FUZZ_RUNS=10000000 tests/fuzz/run.sh   a number of executions per target
#                                          instead of a time (a campaign)
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 2
REPO=$(pwd)
SECS=${1:-20}
case "$SECS${FUZZ_RUNS:-}" in ''|*[!0-9]*) echo "run.sh: SECONDS and FUZZ_RUNS must be numbers" >&2; exit 2;; esac

need=()
for p in clang libclang-rt-14-dev cmake libmicrohttpd-dev libssl-dev libpcre2-dev liblmdb-dev libcurl4-openssl-dev pkg-config; do
    dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ "${#need[@]}" -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q && apt-get install -y -q "${need[@]}" || exit 1
fi

B="$REPO/build-fuzz"
CC=clang cmake -S "$REPO" -B "$B" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DAUTHD_FUZZ=ON \
    -DAUTHD_TESTS=OFF >/dev/null || exit 1
cmake --build "$B" -j "$(nproc 2>/dev/null || echo 2)" >/dev/null || { cmake --build "$B"; exit 1; }

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
TARGETS=${FUZZ_TARGETS:-http request cert policy config crl ocsp verified}
SCRATCH=$(mktemp -d /tmp/authd-fuzz.XXXXXX)
trap 'rm -rf "$SCRATCH"' EXIT
failed=0
for t in $TARGETS; do
    bin="$B/tests/fuzz/fuzz_$t"
    corpus="$REPO/tests/fuzz/corpus/fuzz_$t"
    regress="$REPO/tests/fuzz/regressions/fuzz_$t"
    dict="$REPO/tests/fuzz/fuzz_$t.dict"
    work="$SCRATCH/$t"
    mkdir -p "$work"
    [ -d "$corpus" ] && cp "$corpus"/* "$work"/ 2>/dev/null
    files=()
    for d in "$corpus" "$regress"; do
        [ -d "$d" ] && for f in "$d"/*; do [ -f "$f" ] && files+=("$f"); done
    done
    if [ "${#files[@]}" -gt 0 ] && ! "$bin" -timeout=10 -rss_limit_mb=2048 "${files[@]}" >"$SCRATCH/$t.replay" 2>&1; then
        echo "FAIL fuzz_$t: replaying the corpus and regressions"; tail -40 "$SCRATCH/$t.replay"; failed=$((failed + 1)); continue
    fi
    # libFuzzer's per-input leak check runs LeakSanitizer after every input
    # whose mallocs and frees differ, which OpenSSL's lazy caches make most
    # of them (20x slower): fuzz without it, then replay everything the run
    # kept with it on, so a leak is still found (and at exit in any case).
    if [ -n "${FUZZ_RUNS:-}" ]; then limit=(-runs="$FUZZ_RUNS"); else limit=(-max_total_time="$SECS"); fi
    args=("${limit[@]}" -timeout=10 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1
          -detect_leaks=0 -artifact_prefix="$SCRATCH/$t-")
    [ -f "$dict" ] && args+=(-dict="$dict")
    t0=$(date +%s)
    if ! "$bin" "${args[@]}" "$work" >"$SCRATCH/$t.log" 2>&1; then
        echo "FAIL fuzz_$t: finding (input kept in $SCRATCH? copy it from the log below)"
        tail -60 "$SCRATCH/$t.log"; failed=$((failed + 1)); trap - EXIT; continue
    fi
    t1=$(date +%s)
    if ! "$bin" -timeout=10 -rss_limit_mb=2048 -runs=0 -artifact_prefix="$SCRATCH/$t-leak-" "$work" \
            >"$SCRATCH/$t.leaks" 2>&1; then
        echo "FAIL fuzz_$t: replaying the run's corpus with leak checks"
        tail -60 "$SCRATCH/$t.leaks"; failed=$((failed + 1)); trap - EXIT; continue
    fi
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$SCRATCH/$t.log")
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$SCRATCH/$t.log")
    cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$SCRATCH/$t.log" | tail -1)
    kept=$(find "$work" -type f | wc -l)
    echo "PASS fuzz_$t: replayed ${#files[@]} inputs; ${runs:-?} runs in $((t1 - t0))s (${rate:-?}/s), $cov; $kept inputs replayed with leak checks"
done
[ "$failed" -eq 0 ]
