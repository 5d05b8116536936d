#!/usr/bin/env bash
# The audit log and GET /metrics (issue 6), through real nginx with the
# shipped contrib snippets (mtls-mandatory.conf), a policy and a CRL.
#
#  1  audit lines are JSON (python3 json) with every field, for 200, 401
#     (no certificate; expired, refused by nginx itself with 495 and routed
#     to authd by @authd_rejected) and 403 (a deny rule, with file:line);
#     nginx's $request_id is the request id; a hostile X-Request-Id is
#     replaced, hostile URIs are escaped and round-trip; nothing
#     certificate-like or header-like is logged
#  2  /metrics parsed by prometheus_client's parser: decisions, cache hits
#     and misses move exactly with requests; CRL gauges match the CRL's own
#     thisUpdate/nextUpdate; reloads counted (success and failure)
#  3  SIGUSR1 after mv: new lines go to a new file, none are lost
#  4  contrib/prometheus/authd.rules.yml is valid rules YAML and uses only
#     metrics authd exports
. "$(dirname "$0")/lib.bash"

# Debian's python3 (the packages python3-prometheus-client, python3-yaml),
# not whatever python3 comes first in PATH.
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
"$PY" -c 'import prometheus_client.parser, yaml' 2>/dev/null || {
    echo "$TEST_NAME: needs python3-prometheus-client and python3-yaml (tests/run.sh installs them)" >&2; exit 2; }

AUTHD_PORT=$(free_port)
TLS_PORT=$(free_port)
BACKEND_PORT=$(free_port)
U="https://localhost:$TLS_PORT"
C=(--cacert "$PKI/root.pem")
ALICE=(--cert "$PKI/client-chain.pem" --key "$PKI/client.key")
AUDIT="$WORK/audit.log"

mkdir -p "$WORK/data"
cat "$PKI/crl/root.crl.pem" "$PKI/crl/int.crl.pem" > "$WORK/crl.pem"
cat > "$WORK/test.policy" <<'POLICY'
ruleset default {
  deny  path prefix "/forbidden/"          reason "test-forbidden"
  allow subject.O == "Example Corp"
}
POLICY
cp "$WORK/test.policy" "$WORK/good.policy"
cat > "$WORK/authd.conf" <<CONF
trust          $PKI/trust.pem
intermediates  $PKI/intermediates.pem
crl            $WORK/crl.pem
policy         $WORK/test.policy
data_dir       $WORK/data
watch_interval 0s
audit_log      $AUDIT
CONF
start_authd authd "127.0.0.1:$AUTHD_PORT" --config "$WORK/authd.conf"

nginx_setup "$WORK/nginx" "127.0.0.1:$AUTHD_PORT"
SERVER=$(example_server mtls-mandatory.conf "$TLS_PORT" "$BACKEND_PORT")
nginx_conf root "$SERVER"
start_nginx "$TLS_PORT" "$BACKEND_PORT"

metrics() { authd_curl -sS --max-time 5 "/metrics" > "$WORK/metrics.$1"; }
# value FILE 'name{label="v",...}' -> the sample's value, parsed by
# prometheus_client (fails the whole parse on any format error)
value() {
    "$PY" - "$WORK/metrics.$1" "$2" <<'EOF'
import sys
from prometheus_client.parser import text_string_to_metric_families
text = open(sys.argv[1]).read()
want = sys.argv[2]
name, _, rest = want.partition('{')
labels = {}
for kv in filter(None, rest.rstrip('}').split('",')):
    k, _, v = kv.partition('=')
    labels[k.strip(',')] = v.strip('"')
for fam in text_string_to_metric_families(text):
    for s in fam.samples:
        if s.name == name and s.labels == labels:
            v = s.value
            print(int(v) if v == int(v) else v)
            sys.exit(0)
print("absent")
EOF
}
lines() { wc -l < "$1" | tr -d ' '; }
# wait_reload RESULT: until authd has counted one more reload with RESULT
# (a reload under load may take a while; the counters are checked after)
wait_reload() {
    local before i
    before=$(authd_curl -s "/metrics" | grep "^authd_reloads_total{result=\"$1\"}")
    kill -HUP "$AUTHD_PID"
    for i in $(seq 1 100); do
        [ "$(authd_curl -s "/metrics" | grep "^authd_reloads_total{result=\"$1\"}")" != "$before" ] && return 0
        sleep 0.1
    done
}

# ---------------------------------------------------------------- 1 audit
metrics m0
N=5
for i in $(seq 1 $N); do req "${C[@]}" "${ALICE[@]}" "$U/ok/$i?q=1"; done
check_eq "alice x$N: last status" "$CODE" 200
req "${C[@]}" "${ALICE[@]}" "$U/forbidden/x"
check_eq "alice on /forbidden/: status" "$CODE" 403
check_eq "alice on /forbidden/: reason" "$(hdr X-Authd-Reason)" "test-forbidden"
req "${C[@]}" "$U/nocert"
check_eq "no certificate: status" "$CODE" 401
req "${C[@]}" --cert "$(chain expired)" --key "$PKI/expired.key" "$U/expired"
check_eq "expired (nginx 495 -> @authd_rejected): status" "$CODE" 401
check_eq "expired: reason" "$(hdr X-Authd-Reason)" "expired"
metrics m1

# Hostile values straight to authd (nginx would never send these).
ESC=$(escape_pem "$PKI/client.pem")
authd_curl -s -o /dev/null -H "X-SSL-Client-Cert: $ESC" -H 'X-Request-Id: bad"id{}' \
    -H $'X-Original-URI: /q?"\\\x01\t\xc3\xa9</x>' -H 'X-Original-Method: GET' "/auth"
authd_curl -s -o /dev/null -H "X-SSL-Client-Cert: $ESC" -H "X-Request-Id: $(printf 'a%.0s' $(seq 1 100))" \
    -H 'X-Original-URI: /long-id' "/auth"
authd_curl -s -o /dev/null -H "X-SSL-Client-Cert: $ESC" -H "X-Original-URI: /$(head -c 5000 /dev/zero | tr '\0' 'u')" "/auth"
sleep 0.2

RC=0
# the oldest thisUpdate of the two CRLs a good decision rests on (chain scope)
CRL_OLDEST=$(for f in root int; do date -d "$(openssl crl -in "$PKI/crl/$f.crl.pem" -noout -lastupdate | sed 's/^lastUpdate=//')" +%s; done | sort -n | head -n 1)
"$PY" - "$AUDIT" "$(cert_fingerprint "$PKI/client.pem")" "$(cert_serial "$PKI/client.pem")" \
    "$(cert_fingerprint "$PKI/expired.pem")" "$WORK/test.policy" "$CRL_OLDEST" > "$WORK/audit-check.out" 2>&1 <<'EOF' || RC=$?
import json, re, sys, time
path, fp, serial, expired_fp, policy, crl_oldest = sys.argv[1:7]
raw = open(path, 'rb').read()
ok = True
def check(cond, what):
    global ok
    print(("PASS " if cond else "FAIL ") + what)
    ok &= bool(cond)
lines = raw.decode('ascii').splitlines()   # ASCII only: fails on any other byte
recs = [json.loads(l) for l in lines]
check(len(recs) == 11, "audit: %d lines (5 allow, 403, 401, 401 expired, 3 direct)" % len(recs))
fields = ["time", "request_id", "status", "reason", "rule", "ruleset", "subject", "issuer",
          "serial", "fingerprint", "revocation", "cached", "latency_us", "method", "uri",
          "host", "client_verify"]
check(all(all(f in r for f in fields) for r in recs), "audit: every line has every field")
check(all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", r["time"]) for r in recs),
      "audit: time is RFC 3339 UTC with milliseconds")
check(all(isinstance(r["latency_us"], int) and 0 <= r["latency_us"] < 10**7 for r in recs),
      "audit: latency_us is a number")
via_nginx = recs[:8]
check(all(re.fullmatch(r"[0-9a-f]{32}", r["request_id"]) for r in via_nginx),
      "audit: nginx's $request_id is the request id")
check(len({r["request_id"] for r in via_nginx}) == 8, "audit: request ids differ per request")
allow = recs[:5]
check(all(r["status"] == 200 and r["reason"] == "ok" for r in allow), "audit: 5 x 200 ok")
check([r["uri"] for r in allow] == ["/ok/%d?q=1" % i for i in range(1, 6)], "audit: original URIs")
check(all(r["method"] == "GET" and r["host"] == "localhost" for r in allow), "audit: method and host")
check(all(r["fingerprint"] == fp and r["serial"] == serial for r in allow), "audit: fingerprint and serial")
check(allow[0]["subject"] == "CN=alice,OU=Engineering,O=Example Corp" and
      allow[0]["issuer"] == "CN=authd Test Intermediate CA,O=authd tests", "audit: subject and issuer")
check(all(r["revocation"] == "crl" for r in allow), "audit: revocation source crl")
ages = [r.get("revocation_age") for r in allow]
want = time.time() - int(crl_oldest)
check(all(isinstance(x, int) and abs(x - want) <= 30 for x in ages),
      "audit: revocation_age = now - the oldest CRL thisUpdate (%s, want ~%d), cached ones too" % (ages, want))
check(all(r["client_verify"] == "SUCCESS" for r in allow), "audit: client_verify")
check(all(r["ruleset"] == "default" for r in recs), "audit: rule set")
check(allow[0]["rule"] == policy + ":3", "audit: allow rule file:line (%s)" % allow[0]["rule"])
check(all(r["cached"] for r in allow[1:]), "audit: later allows are cached")
f = recs[5]
check(f["status"] == 403 and f["reason"] == "test-forbidden" and f["rule"] == policy + ":2"
      and f["uri"] == "/forbidden/x", "audit: 403 with the deny rule's reason and file:line")
n = recs[6]
check(n["status"] == 401 and n["reason"] == "no-certificate" and n["fingerprint"] is None
      and n["client_verify"] == "NONE" and n["revocation"] == "none", "audit: 401 no-certificate")
e = recs[7]
check(e["status"] == 401 and e["reason"] == "expired" and e["fingerprint"] == expired_fp
      and e["client_verify"].startswith("FAILED") and e["uri"] == "/expired",
      "audit: nginx's 495 is audited by authd as 401 expired (%s)" % e["client_verify"])
h = recs[8]
check(h["uri"] == '/q?"\\\x01\t\u00e9</x>', "audit: hostile URI escaped and round-trips (UTF-8 kept)")
check(h["request_id"].startswith("authd-") and recs[9]["request_id"].startswith("authd-")
      and h["request_id"] != recs[9]["request_id"], "audit: bad X-Request-Id replaced by a generated id")
check(len(recs[10]["uri"]) < 1100 and recs[10]["uri"].endswith("..."), "audit: long URI cut")
for bad in [b"BEGIN CERTIFICATE", b"MII", b"%0A", b"-----", b"X-SSL", b"X-Original"]:
    check(bad not in raw, "audit: no %r in the log" % bad)
sys.exit(0 if ok else 1)
EOF
while IFS= read -r l; do
    case "$l" in PASS\ *) pass "${l#PASS }";; FAIL\ *) fail "${l#FAIL }";; *) fail "audit check: $l";; esac
done < "$WORK/audit-check.out"
[ "$RC" -eq 0 ] || fail "audit check exited $RC"

# ---------------------------------------------------------------- 2 metrics
d() { echo $(( $(value m1 "$1") - $(value m0 "$1") )); }
check_eq "metrics: ok +$N" "$(d 'authd_decisions_total{status="200",reason="ok"}')" "$N"
check_eq "metrics: 403 test-forbidden counted as policy-deny" "$(d 'authd_decisions_total{status="403",reason="policy-deny"}')" 1
check_eq "metrics: 401 no-certificate +1" "$(d 'authd_decisions_total{status="401",reason="no-certificate"}')" 1
check_eq "metrics: 401 expired +1 (the 495 path)" "$(d 'authd_decisions_total{status="401",reason="expired"}')" 1
check_eq "metrics: decision latency count +8" "$(d 'authd_decision_duration_seconds_count')" 8
# alice: the first request is a miss (then cached), the other four and the
# 403 hit; the expired certificate is a miss.
check_eq "metrics: cache hits +5" "$(d 'authd_verdict_cache_hits_total')" 5
check_eq "metrics: cache misses +2" "$(d 'authd_verdict_cache_misses_total')" 2

metrics m2
for i in 1 2 3; do req "${C[@]}" "${ALICE[@]}" "$U/again"; done
metrics m3
check_eq "metrics: 3 more allows" "$(( $(value m3 'authd_decisions_total{status="200",reason="ok"}') - $(value m2 'authd_decisions_total{status="200",reason="ok"}') ))" 3
check_eq "metrics: 3 more hits" "$(( $(value m3 authd_verdict_cache_hits_total) - $(value m2 authd_verdict_cache_hits_total) ))" 3
check_eq "metrics: no more misses" "$(( $(value m3 authd_verdict_cache_misses_total) - $(value m2 authd_verdict_cache_misses_total) ))" 0

# CRL gauges against the CRLs' own dates (openssl, independently of authd).
NOW=$(date +%s)
INT_ISSUER=$(openssl crl -in "$PKI/crl/int.crl.pem" -noout -issuer -nameopt RFC2253 | sed 's/^issuer=//')
INT_LAST=$(date -d "$(openssl crl -in "$PKI/crl/int.crl.pem" -noout -lastupdate | sed 's/^lastUpdate=//')" +%s)
INT_NEXT=$(date -d "$(openssl crl -in "$PKI/crl/int.crl.pem" -noout -nextupdate | sed 's/^nextUpdate=//')" +%s)
AGE=$(value m3 "authd_crl_age_seconds{issuer=\"$INT_ISSUER\",source=\"$WORK/crl.pem\"}")
NEXT=$(value m3 "authd_crl_next_update_seconds{issuer=\"$INT_ISSUER\",source=\"$WORK/crl.pem\"}")
if [ "$AGE" != absent ] && [ $(( AGE - (NOW - INT_LAST) )) -ge -5 ] && [ $(( AGE - (NOW - INT_LAST) )) -le 5 ]; then
    pass "metrics: intermediate CRL age $AGE s (thisUpdate $INT_LAST)"
else fail "metrics: intermediate CRL age: got $AGE, expected about $(( NOW - INT_LAST ))"; fi
if [ "$NEXT" != absent ] && [ $(( NEXT - (INT_NEXT - NOW) )) -ge -5 ] && [ $(( NEXT - (INT_NEXT - NOW) )) -le 5 ]; then
    pass "metrics: intermediate CRL next update in $NEXT s"
else fail "metrics: intermediate CRL next update: got $NEXT, expected about $(( INT_NEXT - NOW ))"; fi
ROOT_ISSUER=$(openssl crl -in "$PKI/crl/root.crl.pem" -noout -issuer -nameopt RFC2253 | sed 's/^issuer=//')
check_eq "metrics: the root's CRL has its series too" \
    "$(value m3 "authd_crl_next_update_seconds{issuer=\"$ROOT_ISSUER\",source=\"$WORK/crl.pem\"}" | grep -c '^[0-9]')" 1
check_eq "metrics: ocsp cache size (OCSP off)" "$(value m3 authd_ocsp_cache_entries)" 0
check_eq "metrics: content type" \
    "$(authd_curl -s -o /dev/null -w '%{content_type}' /metrics)" "text/plain; version=0.0.4; charset=utf-8"

# Reloads: a good one, then a broken policy (refused, the old one serves).
GEN0=$(value m3 authd_policy_generation)
wait_reload success
metrics m4
check_eq "metrics: reload success +1" "$(( $(value m4 'authd_reloads_total{result="success"}') - $(value m3 'authd_reloads_total{result="success"}') ))" 1
check_eq "metrics: generation moved" "$(( $(value m4 authd_policy_generation) > GEN0 ))" 1
check_eq "metrics: last reload succeeded" "$(value m4 authd_reload_last_success)" 1
echo 'ruleset default { allow subject.O ==' > "$WORK/test.policy"
wait_reload failure
metrics m5
check_eq "metrics: reload failure +1" "$(( $(value m5 'authd_reloads_total{result="failure"}') - $(value m4 'authd_reloads_total{result="failure"}') ))" 1
check_eq "metrics: last reload failed" "$(value m5 authd_reload_last_success)" 0
check_eq "metrics: generation kept on failure" "$(value m5 authd_policy_generation)" "$(value m4 authd_policy_generation)"
STAMP=$(value m5 authd_reload_last_timestamp_seconds)
check_eq "metrics: reload timestamp is recent" "$(( STAMP >= NOW - 5 && STAMP <= $(date +%s) + 1 ))" 1
cp "$WORK/good.policy" "$WORK/test.policy"
req "${C[@]}" "${ALICE[@]}" "$U/after-bad-reload"
check_eq "still serving after the failed reload" "$CODE" 200

# ---------------------------------------------------------------- 3 SIGUSR1
# lines reach the file within 20 ms of the decision (the writer thread)
sleep 0.2
BEFORE=$(lines "$AUDIT")
mv "$AUDIT" "$AUDIT.1"
req "${C[@]}" "${ALICE[@]}" "$U/before-usr1"
kill -USR1 "$AUTHD_PID"
for i in $(seq 1 50); do [ -f "$AUDIT" ] && break; sleep 0.1; done
for i in 1 2 3; do req "${C[@]}" "${ALICE[@]}" "$U/after-usr1/$i"; done
for i in $(seq 1 20); do [ "$(lines "$AUDIT" 2>/dev/null || echo 0)" -ge 3 ] && break; sleep 0.05; done
check_eq "SIGUSR1: the line before it went to the moved file" "$(lines "$AUDIT.1")" "$((BEFORE + 1))"
check_eq "SIGUSR1: new lines go to a new file" "$(lines "$AUDIT" 2>/dev/null || echo 0)" 3
check_contains "SIGUSR1: new file has the new requests" "$(cat "$AUDIT" 2>/dev/null)" '"uri":"/after-usr1/3"'
check_eq "SIGUSR1: authd still serves" "$(authd_curl -s -o /dev/null -w '%{http_code}' /healthz)" 200
check_eq "no audit write errors" "$(value m5 authd_audit_errors_total)" 0

# ---------------------------------------------------------------- 4 rules
metrics final
if "$PY" - "$REPO/contrib/prometheus/authd.rules.yml" "$WORK/metrics.final" > "$WORK/rules.out" 2>&1 <<'EOF'
import re, sys, yaml
from prometheus_client.parser import text_string_to_metric_families
doc = yaml.safe_load(open(sys.argv[1]))
names = set()
for fam in text_string_to_metric_families(open(sys.argv[2]).read()):
    names.add(fam.name)     # declared, even with no series right now
    for s in fam.samples:
        names.add(s.name)
assert isinstance(doc, dict) and list(doc) == ["groups"], "top level must be {groups: [...]}"
alerts = []
for g in doc["groups"]:
    assert set(g) <= {"name", "interval", "rules", "limit"} and g["name"] and g["rules"], g
    for r in g["rules"]:
        assert set(r) <= {"alert", "expr", "for", "labels", "annotations", "keep_firing_for"}, r
        assert isinstance(r["alert"], str) and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", r["alert"]), r
        assert isinstance(r["expr"], str) and r["expr"].strip()
        if "for" in r:
            assert re.fullmatch(r"\d+[smhdwy]", str(r["for"])), r["for"]
        assert r.get("labels", {}).get("severity") in ("warning", "critical", "page", "info"), r
        assert r.get("annotations", {}).get("summary"), r
        used = set(re.findall(r"\bauthd_[a-z_]+", r["expr"]))
        missing = used - names
        assert not missing, "%s uses metrics authd does not export: %s" % (r["alert"], missing)
        alerts.append(r["alert"])
print(" ".join(alerts))
for want in ("CRL", "Responder", "Reload", "Deny"):
    assert any(want.lower() in a.lower() for a in alerts), "no alert about " + want
EOF
then pass "rules file: valid, uses only exported metrics ($(cat "$WORK/rules.out"))"
else fail "rules file: $(cat "$WORK/rules.out")"; fi
if command -v promtool >/dev/null; then
    if promtool check rules "$REPO/contrib/prometheus/authd.rules.yml" > "$WORK/promtool.out" 2>&1; then
        pass "promtool check rules"
    else fail "promtool check rules: $(cat "$WORK/promtool.out")"; fi
    if promtool check metrics < "$WORK/metrics.final" > "$WORK/promtool.out" 2>&1; then
        pass "promtool check metrics"
    else fail "promtool check metrics: $(cat "$WORK/promtool.out")"; fi
else
    echo "$TEST_NAME: promtool not installed (Debian package prometheus): rules checked with python3-yaml only"
fi

stop_authd
