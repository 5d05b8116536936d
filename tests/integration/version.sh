#!/usr/bin/env bash
# `authd version` (issue 15): authd's own version as CMakeLists.txt sets
# it, how it was built, and the libraries it runs with, each checked
# against what the system says it installed.
. "$(dirname "$0")/lib.bash"

OUT=$("$AUTHD_BIN" version) || fail "authd version exits non-zero"
line() { sed -n "$1p" <<<"$OUT"; }
upstream() { sed 's/^[0-9]*://; s/-[^-]*$//'; }   # Debian version -> upstream

check_eq "authd's version is the project's" "$(line 1)" \
    "authd $(sed -n 's/^project(authd VERSION \([0-9.]*\) .*/\1/p' "$REPO/CMakeLists.txt")"
if ldd "$AUTHD_BIN" | grep -q libasan; then SAN=address,undefined; else SAN=off; fi
check_contains "the build line says the sanitizers this binary has" "$(line 2)" ", sanitizers $SAN"
if [[ "$(line 2)" =~ ^build:\ [^,]+,\ [A-Za-z]+\ [0-9.]+,\ sanitizers ]]; then
    pass "the build line: build type, compiler and its version"
else
    fail "the build line: '$(line 2)'"
fi
check_contains "OpenSSL as installed" "$(line 3)" "OpenSSL $(openssl version | cut -d' ' -f2) "
check_eq "libmicrohttpd as installed" "$(line 4)" "libmicrohttpd $(pkg-config --modversion libmicrohttpd)"
check_contains "PCRE2 as installed" "$(line 5)" "PCRE2 $(pkg-config --modversion libpcre2-8) "
check_eq "LMDB as installed" "$(line 6)" "LMDB $(dpkg-query -W -f '${Version}' liblmdb0 | upstream)"
check_eq "libcurl as installed" "$(line 7)" "libcurl $(pkg-config --modversion libcurl)"
check_eq "seven lines" "$(wc -l <<<"$OUT")" 7
