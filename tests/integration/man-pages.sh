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

# authd.conf(5) documents exactly the configuration keys the usage prints
# (config.c's table, extracted as usage.sh does): the `.It Ic NAME` tags of
# its KEYS section, each once.
CONF5="$REPO/docs/man/authd.conf.5"
awk '/^Keys:/ { on = 1 } on { print } on && /\.$/ { exit }' "$WORK/usage.txt" |
    tr '\n' ' ' | sed 's/^Keys: *//; s/\. *$//' | tr ',' '\n' | tr -d ' ' | sed '/^$/d' |
    LC_ALL=C sort > "$WORK/keys.usage"
sed -n '/^\.Sh KEYS$/,/^\.Sh /s/^\.It Ic \([a-z_]*\).*/\1/p' "$CONF5" | LC_ALL=C sort > "$WORK/keys.man.all"
LC_ALL=C sort -u "$WORK/keys.man.all" > "$WORK/keys.man"
N=$(wc -l < "$WORK/keys.usage")
if [ "$N" -ge 40 ]; then pass "usage lists $N configuration keys"
else fail "usage lists only $N configuration keys: $(head -c 300 "$WORK/keys.usage")"; fi
check_eq "authd.conf(5) documents every key of the usage (missing keys)" \
    "$(LC_ALL=C comm -23 "$WORK/keys.usage" "$WORK/keys.man" | tr '\n' ' ')" ""
check_eq "authd.conf(5) documents no key the usage lacks (extra keys)" \
    "$(LC_ALL=C comm -13 "$WORK/keys.usage" "$WORK/keys.man" | tr '\n' ' ')" ""
check_eq "authd.conf(5) documents each key once (keys twice)" \
    "$(uniq -d "$WORK/keys.man.all" | tr '\n' ' ')" ""

# authd-policy(5) documents every field and operator of docs/policy.md's
# Fields and Operators tables (the backquoted names of their first column)
# as the `.It` tags of its FIELDS and OPERATORS sections, and nothing else.
POL5="$REPO/docs/man/authd-policy.5"
# man_tags SECTION: the items of the .It tags of SECTION, as they render
# (macro names dropped, Ns joins, "," separates items), one per line
man_tags() {
    sed -n "/^\.Sh $1\$/,/^\.Sh /{/^\.It /p}" "$POL5" | awk '{
        out = ""; join = 0
        for (i = 2; i <= NF; i++) {
            t = $i; gsub(/\\&/, "", t)
            if (t == "Ns") { join = 1; continue }
            if (t ~ /^[A-Z][a-z]$/) continue
            if (t == ",") { print out; out = ""; join = 0; continue }
            out = out ((out == "" || join) ? "" : " ") t; join = 0
        }
        print out }' | sed '/^$/d' | LC_ALL=C sort -u
}
# doc_table HEADING: the backquoted names in the first column of the table
# under "## HEADING" in docs/policy.md, one per line
doc_table() {
    sed -n "/^## $1\$/,/^## /p" "$REPO/docs/policy.md" | grep '^| `' | cut -d'|' -f2 |
        grep -o '`[^`]*`' | tr -d '`' | LC_ALL=C sort -u
}
for what in Fields:FIELDS:15 Operators:OPERATORS:8; do
    IFS=: read -r head sec min <<<"$what"
    doc_table "$head" > "$WORK/$sec.doc"
    man_tags "$sec" > "$WORK/$sec.man"
    N=$(wc -l < "$WORK/$sec.doc")
    if [ "$N" -ge "$min" ]; then pass "docs/policy.md's $head table has $N names"
    else fail "docs/policy.md's $head table: only $N names extracted: $(tr '\n' ' ' < "$WORK/$sec.doc")"; fi
    check_eq "authd-policy(5) $sec documents every name of policy.md's $head table (missing)" \
        "$(LC_ALL=C comm -23 "$WORK/$sec.doc" "$WORK/$sec.man" | tr '\n' ' ')" ""
    check_eq "authd-policy(5) $sec documents nothing policy.md's $head table lacks (extra)" \
        "$(LC_ALL=C comm -13 "$WORK/$sec.doc" "$WORK/$sec.man" | tr '\n' ' ')" ""
done
# and authd compiles a rule with each documented field and operator
printf '0a\n' > "$WORK/tags.list"
{
    echo "list L file \"$WORK/tags.list\""
    echo "ruleset default {"
    sed 's/\.X$/.CN/' "$WORK/FIELDS.man" | while read -r f; do
        case "$f" in
            days_left) echo "  allow days_left == 0";;
            *)         echo "  allow $f ~ \"^a\"";;
        esac
    done
    while read -r op; do
        case "$op" in
            "in "*)           echo "  allow serial in L";;
            "<"|"<="|">"|">=") echo "  allow days_left $op 0";;
            *)                echo "  allow subject.CN $op \"a\"";;
        esac
    done < "$WORK/OPERATORS.man"
    echo "}"
} > "$WORK/tags.policy"
NR=$(grep -c '^  allow ' "$WORK/tags.policy")
out=$("$AUTHD_BIN" policy check "$WORK/tags.policy" 2>&1) && rc=0 || rc=$?
check_eq "authd policy check accepts a rule with each field and operator authd-policy(5) documents" \
    "$rc $(head -n 1 <<<"$out")" "0 policy OK: 1 rule set(s), $NR rule(s), 1 list(s), 1 list entries"
