#!/usr/bin/env bash
# `authd policy check FILE`: every shipped policy compiles (exit 0, one
# summary line); a broken one exits 2 with file:line:col: messages.
. "$(dirname "$0")/lib.bash"

# run_policy NAME ARGS...: sets RC, OUT, ERR
np=0
run_policy() {
    np=$((np + 1)); shift
    local out="$WORK/policy-$np.out" err="$WORK/policy-$np.err"
    SCAN_LOGS+=("$err")
    RC=0
    timeout 30 "$AUTHD_BIN" "$@" >"$out" 2>"$err" || RC=$?
    OUT=$(cat "$out"); ERR=$(cat "$err")
}

for f in "$REPO"/policies/*.policy; do
    run_policy "$f" policy check "$f"
    check_eq "policy check $(basename "$f"): exit" "$RC" 0
    check_contains "policy check $(basename "$f"): summary" "$OUT" "policy OK: "
    check_eq "policy check $(basename "$f"): nothing on stderr" "$ERR" ""
done

run_policy example policy check "$REPO/policies/example.policy"
check_eq "example.policy summary and cache key" "$OUT" \
    "policy OK: 1 rule set(s), 5 rule(s), 1 list(s), 2 list entries
rule set default: reads the request's path: nginx may reuse its answers per request only (\$authd_cache_scope request)"

mkdir -p "$WORK/p/lists"
printf '%s\n' "# lost" "00ff" "not-hex!" > "$WORK/p/lists/bad.txt"
cat > "$WORK/p/broken.policy" <<'POLICY'
list bad file "lists/bad.txt"
list gone file "lists/missing.txt"
ruleset default {
  allow subjct.CN == "x"
  deny  days_left ~ "x"
  allow san.uri ~ "^(spiffe"
  allow path == "/unterminated
  allow true
}
ruleset default {
  allow true
POLICY
run_policy broken policy check "$WORK/p/broken.policy"
B="$WORK/p/broken.policy"
check_eq "broken policy: exit" "$RC" 2
check_eq "broken policy: nothing on stdout" "$OUT" ""
check_contains "malformed list line"  "$ERR" "$WORK/p/lists/bad.txt:3:1: malformed entry"
check_contains "list file missing"    "$ERR" "$B:2:16: list 'gone': cannot open"
check_contains "unknown field"        "$ERR" "$B:4:9: unknown field 'subjct.CN' (did you mean 'subject.CN'?)"
check_contains "operator for field"   "$ERR" "$B:5:19: operator '~' is not valid for days_left"
check_contains "bad regex"            "$ERR" "$B:6:28: bad regular expression: missing closing parenthesis"
check_contains "unterminated string"  "$ERR" "$B:7:17: unterminated string"
check_contains "duplicate rule set"   "$ERR" "$B:10:9: duplicate rule set 'default'"
check_contains "missing brace"        "$ERR" "$B:12:1: missing '}'"
check_contains "summary line"         "$ERR" "authd: $B: policy has errors"

run_policy missing policy check "$WORK/p/nope.policy"
check_eq "missing policy file: exit" "$RC" 2
check_contains "missing policy file: message" "$ERR" "$WORK/p/nope.policy: cannot open"

run_policy usage policy check
check_eq "policy check without FILE: exit" "$RC" 2
run_policy usage2 policy lint "$B"
check_eq "policy lint (unknown subcommand): exit" "$RC" 2
