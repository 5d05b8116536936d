#!/usr/bin/env bash
# Bash completion (issue 15): contrib/bash-completion/authd completes the
# commands, each command's flags, every configuration key as a flag (the
# keys come from `authd --help`, so a new key completes without editing
# the file), and the values of the enumerated keys, which must be the ones
# authd accepts.
. "$(dirname "$0")/lib.bash"

COMP="$REPO/contrib/bash-completion/authd"
# complete WORD...: the completions bash offers for the last word
complete_words() {
    bash -c '
        . "$1"; shift
        COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 ))
        _authd
        printf "%s\n" "${COMPREPLY[@]}" | sort
    ' bash "$COMP" "$AUTHD_BIN" "$@"
}
one_line() { tr '\n' ' ' | sed 's/ $//'; }

check_eq "commands" "$(complete_words "" | one_line)" "check doctor policy serve version"
check_eq "policy: check" "$(complete_words policy "" | one_line)" "check"
check_eq "serve --dec" "$(complete_words serve --dec | one_line)" "--decision-max-age"
check_eq "serve --verified" "$(complete_words serve --verified | one_line)" "--verified-cache-size"
check_eq "check --me" "$(complete_words check --me | one_line)" "--method"
check_eq "doctor --ti" "$(complete_words doctor --ti | one_line)" "--timeout"

# every configuration key, as a flag, for serve and check
"$AUTHD_BIN" --help > "$WORK/usage.txt" 2>&1 || true
sed -n '/^Keys:/,/\.$/p' "$WORK/usage.txt" | sed 's/^Keys://; s/\.$//' | tr ',' '\n' |
    sed 's/^ *//; s/ *$//; /^$/d; s/_/-/g; s/^/--/' | sort > "$WORK/keys"
complete_words serve -- > "$WORK/serve"
check_eq "serve --: every key ($(wc -l < "$WORK/keys"))" "$(comm -23 "$WORK/keys" "$WORK/serve" | one_line)" ""
complete_words check -- > "$WORK/check"
check_eq "check --: every key" "$(comm -23 "$WORK/keys" "$WORK/check" | one_line)" ""

# enumerated values: each one offered is accepted by authd
for flag in --purpose --ocsp --crl-missing --ocsp-failure --log-level; do
    vals=$(complete_words serve "$flag" "" | one_line)
    refused=
    for v in $vals; do
        "$AUTHD_BIN" serve -n --trust "$PKI/trust.pem" "$flag" "$v" >/dev/null 2>&1 || refused+=" $v"
    done
    if [ -n "$vals" ] && [ -z "$refused" ]; then pass "$flag: $vals, each accepted"
    else fail "$flag: offered '$vals', authd refused:${refused:- (none offered)}"; fi
done
mkdir -p "$WORK/files"; : > "$WORK/files/trust.pem"
check_eq "--trust completes files" "$(complete_words serve --trust "$WORK/files/tr" | one_line)" "$WORK/files/trust.pem"
