#!/usr/bin/env bash
# Manual pages (issue 15): docs/man/*.[1-8] are clean under `mandoc -T lint`
# (no warning), render with `man -l`, and authd(8) names every command the
# usage prints and every signal main.c handles.
. "$(dirname "$0")/lib.bash"

command -v mandoc >/dev/null || { echo "$TEST_NAME: mandoc not found (Debian package mandoc)" >&2; exit 2; }
PAGES=("$REPO"/docs/man/*.[1-8])
[ -f "${PAGES[0]}" ] || { fail "no manual page in docs/man/"; exit 1; }
for p in "${PAGES[@]}"; do
    out=$(mandoc -T lint -W warning "$p" 2>&1) && rc=0 || rc=$?
    check_eq "$(basename "$p"): mandoc -T lint -W warning" "$rc $out" "0 "
    out=$(MANWIDTH=80 man -l "$p" 2>&1) && rc=0 || rc=$?
    check_eq "$(basename "$p"): man -l renders" "$rc" 0
    check_contains "$(basename "$p"): has a NAME section" "$out" "NAME"
done

PAGE=$(MANWIDTH=200 man -l "$REPO/docs/man/authd.8" 2>/dev/null | sed "s/.\x08//g")
SYN=$(sed -n '/^SYNOPSIS/,/^DESCRIPTION/p' <<<"$PAGE")
"$AUTHD_BIN" --help > "$WORK/usage.txt" 2>&1 || true
while read -r cmd; do
    check_contains "authd(8) SYNOPSIS has 'authd $cmd'" "$SYN" "authd $cmd"
done < <(sed -n 's/^\(usage:\)\{0,1\} *authd \([a-z]\+\( check\)\{0,1\}\).*/\2/p' "$WORK/usage.txt" | sort -u)
for sig in SIGHUP SIGTERM SIGINT SIGUSR1; do
    grep -q "$sig" "$REPO/authd/main.c" && check_contains "authd(8) documents $sig" "$PAGE" "$sig"
done
check_contains "authd(8) documents socket activation" "$PAGE" "LISTEN_FDS"
