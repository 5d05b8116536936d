#!/usr/bin/env bash
# The configuration keys three places name must be the same set: config.c's
# table (authd's usage prints it, so the two cannot drift), and the table of
# docs/configuration.md. A key added to one and not the others fails here.
. "$(dirname "$0")/lib.bash"

"$AUTHD_BIN" --help > "$WORK/usage.txt" 2>&1 || true
awk '/^Keys:/ { on = 1 } on { print } on && /\.$/ { exit }' "$WORK/usage.txt" |
    tr '\n' ' ' | sed 's/^Keys: *//; s/\. *$//' | tr ',' '\n' | tr -d ' ' | sed '/^$/d' | sort > "$WORK/keys.usage"
grep -o '^| `[a-z_]*` |' "$REPO/docs/configuration.md" | sed 's/^| `//; s/` |$//' | sort -u > "$WORK/keys.doc"
N=$(wc -l < "$WORK/keys.usage")
if [ "$N" -ge 40 ]; then pass "usage lists $N configuration keys"
else fail "usage lists only $N configuration keys: $(head -c 300 "$WORK/keys.usage")"; fi
check_eq "every key in usage has a row in docs/configuration.md, and every row a key" \
    "$(diff "$WORK/keys.usage" "$WORK/keys.doc" | grep '^[<>]' | tr '\n' ' ')" ""
# each usage key is accepted as a flag: with a bad value, serve -n reports
# the value; a flag it does not know would be `unknown option`
BAD=()
while read -r k; do
    out=$("$AUTHD_BIN" serve -n --"$k" "@@not-a-value@@" 2>&1) || true
    grep -q 'unknown option' <<<"$out" && BAD+=("$k")
done < "$WORK/keys.usage"
check_eq "every key is a flag" "${BAD[*]:-}" ""
out=$("$AUTHD_BIN" serve -n --no-such-key x 2>&1) || true
check_contains "a flag that is no key is refused as such" "$out" 'unknown option "--no-such-key"'
if awk 'length > 79 { exit 1 }' "$WORK/usage.txt"; then pass "usage fits in 79 columns"
else fail "usage has lines over 79 columns"; fi
