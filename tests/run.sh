#!/usr/bin/env bash
# The one test command: installs what is missing, builds authd twice
# (build/: RelWithDebInfo, build-asan/: AUTHD_SANITIZE=ON, i.e. ASan+UBSan),
# and runs the unit tests (ctest) and every tests/integration/*.sh against
# each build, then the fuzzers' smoke run (tests/fuzz/run.sh: build-fuzz/,
# clang with libFuzzer, ASan + UBSan), then the Debian package
# (tests/package.sh: build, lintian, install, upgrade, purge).
#
#   tests/run.sh            everything
#   tests/run.sh --no-asan  skip the sanitizer build
#   tests/run.sh --no-build use existing build trees as they are
#
# Exit status is non-zero if anything failed; a summary is printed last.
set -uo pipefail

cd "$(dirname "$0")/.." || exit 2
REPO=$(pwd)

RUN_ASAN=1
DO_BUILD=1
for a in "$@"; do
    case "$a" in
        --no-asan)  RUN_ASAN=0;;
        --no-build) DO_BUILD=0;;
        -h|--help)  sed -n '2,12p' "$0"; exit 0;;
        *) echo "run.sh: unknown option $a" >&2; exit 2;;
    esac
done

JOBS=$(nproc 2>/dev/null || echo 2)
START=$(date +%s)
declare -a RESULTS=()
FAILED=0

say() { printf '\n=== %s\n' "$*"; }
# step NAME CMD...: run, record PASS/FAIL and duration
step() {
    local name=$1; shift
    local t0 rc
    t0=$(date +%s)
    say "$name"
    "$@"
    rc=$?
    local dt=$(( $(date +%s) - t0 ))
    if [ "$rc" -eq 0 ]; then
        RESULTS+=("PASS  $(printf '%4ss' "$dt")  $name")
    else
        RESULTS+=("FAIL  $(printf '%4ss' "$dt")  $name (exit $rc)")
        FAILED=$((FAILED + 1))
    fi
    return "$rc"
}

summary() {
    printf '\n=== summary (%ss)\n' "$(( $(date +%s) - START ))"
    local r
    for r in "${RESULTS[@]}"; do echo "  $r"; done
    if [ "$FAILED" -eq 0 ]; then echo "ALL PASSED"; else echo "$FAILED FAILED"; fi
}

# ------------------------------------------------------------ packages
PACKAGES=(build-essential cmake pkg-config libmicrohttpd-dev libssl-dev libpcre2-dev
          liblmdb-dev libcurl4-openssl-dev nginx curl openssl ca-certificates python3 iproute2 systemd
          python3-requests chromium libnss3-tools python3-prometheus-client
          python3-yaml python3-cryptography clang libclang-rt-14-dev mandoc man-db
          debhelper lintian logrotate)
install_packages() {
    local missing=() p
    for p in "${PACKAGES[@]}"; do
        dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
    done
    [ "${#missing[@]}" -eq 0 ] && { echo "all packages present"; return 0; }
    echo "installing: ${missing[*]}"
    local SUDO=
    [ "$(id -u)" -eq 0 ] || SUDO=sudo
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -q && $SUDO apt-get install -y -q "${missing[@]}"
}
step "install missing packages" install_packages || { summary; exit 1; }

# ------------------------------------------------------------ PKI
TMP=$(mktemp -d /tmp/authd-run.XXXXXX)
chmod 0755 "$TMP"
trap 'rm -rf "$TMP"' EXIT
export PKI_DIR="$TMP/pki"
step "generate test PKI" bash tests/pki/gen.sh "$PKI_DIR" || { summary; exit 1; }

# ------------------------------------------------------------ per tree
build_tree() {
    local tree=$1; shift
    cmake -S "$REPO" -B "$REPO/$tree" "$@" && cmake --build "$REPO/$tree" -j "$JOBS"
}
run_tree() {
    local tree=$1 label=$2; shift 2
    if [ "$DO_BUILD" = 1 ]; then
        step "[$label] build $tree" build_tree "$tree" "$@" || return 1
    fi
    if [ ! -x "$REPO/$tree/authd" ]; then
        RESULTS+=("FAIL     -   [$label] $tree/authd missing"); FAILED=$((FAILED + 1)); return 1
    fi
    step "[$label] unit tests (ctest)" ctest --test-dir "$REPO/$tree" --output-on-failure --no-tests=error -j "$JOBS"
    local t
    for t in "$REPO"/tests/integration/*.sh; do
        step "[$label] integration $(basename "$t" .sh)" env AUTHD_BIN="$REPO/$tree/authd" bash "$t"
    done
}

run_tree build release -DCMAKE_BUILD_TYPE=RelWithDebInfo -DAUTHD_TESTS=ON

if [ "$RUN_ASAN" = 1 ]; then
    export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
    export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
    run_tree build-asan asan -DCMAKE_BUILD_TYPE=Debug -DAUTHD_SANITIZE=ON -DAUTHD_TESTS=ON
    unset ASAN_OPTIONS UBSAN_OPTIONS
fi

# ------------------------------------------------------------ fuzzers
# the committed corpus and every regression input replayed, then a short
# run per target, 10 s (the whole suite stays within 20 minutes; campaigns:
# tests/fuzz/run.sh SECONDS)
if [ "$DO_BUILD" = 1 ]; then
    step "fuzz smoke (tests/fuzz/run.sh 10)" bash tests/fuzz/run.sh 10
fi

# ------------------------------------------------------------ the package
# built from a clean export, installed, used through nginx, upgraded under
# load and purged (system-wide: last, after every test that shares
# /var/lib/authd)
step "package (tests/package.sh)" bash tests/package.sh

summary
[ "$FAILED" -eq 0 ]
