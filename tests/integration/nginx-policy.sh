#!/usr/bin/env bash
# Policy through real nginx: two rule sets chosen per location with
# `set $authd_ruleset NAME;` (contrib/nginx/authd.conf), deny reasons and the
# deciding rule (X-Authd-Rule file:line), a policy `set` header handed to the
# backend, an unknown rule set, path normalisation, a client that tries
# to choose its own rule set, and a smart card's UPN, FASC-N and UUID.
. "$(dirname "$0")/lib.bash"

AUTHD_PORT=$(free_port)
TLS_PORT=$(free_port)
TLS_PORT2=$(free_port)
BACKEND_PORT=$(free_port)   # lib.bash's echo backend (unused here)
ECHO_PORT=$(free_port)      # this test's echo backend
U="https://localhost:$TLS_PORT"
U2="https://localhost:$TLS_PORT2"

# ---------------------------------------------------------------- policy
mkdir -p "$WORK/policy" "$WORK/data"
POL="$WORK/policy/authd.policy"
{
    echo "# carol's certificate is reported lost"
    cert_fingerprint "$PKI/noeku.pem"
} > "$WORK/policy/lost.sha256"
cat > "$POL" <<'POLICY'
# nginx-policy.sh: rule set per nginx location
list lost file "lost.sha256"

ruleset default {
  deny  fingerprint in lost                                   reason "reported-lost"
  deny  subject.CN == "bob" and path prefix "/api/private/"   reason "bob-not-private"
  deny  path prefix "/via-try-files/no/"                      reason "client-uri"
  allow subject.O == "Example Corp"
}

ruleset admin {
  allow subject.OU == "Admins"
        set X-Device-Id = subject.CN
  allow subject.CN == "alice" and path prefix "/admin/open/"
}

# smart cards (issue 13): the account's UPN, the FASC-N, the card's UUID
ruleset cards {
  allow san.upn ~ "@corp\.example\.com$" and san.fascn prefix "D4E7"
        set X-Device-Id = san.uuid
}
POLICY
# line_of TEXT: "POL:LINE" of the first policy line containing TEXT
line_of() { printf '%s:%s' "$POL" "$(grep -nF -- "$1" "$POL" | head -n 1 | cut -d: -f1)"; }
RULE_LOST=$(line_of 'reason "reported-lost"')
RULE_BOB=$(line_of 'reason "bob-not-private"')
RULE_ORG=$(line_of 'allow subject.O == "Example Corp"')
RULE_ADMINS=$(line_of 'allow subject.OU == "Admins"')
RULE_OPEN=$(line_of 'allow subject.CN == "alice"')
RULE_CARDS=$(line_of 'allow san.upn')

SCAN_LOGS+=("$WORK/policy-check.err")
if "$AUTHD_BIN" policy check "$POL" >"$WORK/policy-check.out" 2>"$WORK/policy-check.err"; then
    pass "authd policy check accepts the test policy"
else
    fail "authd policy check rejects the test policy: $(cat "$WORK/policy-check.err")"
fi

start_authd authd "127.0.0.1:$AUTHD_PORT" --trust "$PKI/trust.pem" --intermediates "$PKI/intermediates.pem" \
    --policy "$POL" --data-dir "$WORK/data"

# ---------------------------------------------------------------- nginx
nginx_setup "$WORK/nginx" "127.0.0.1:$AUTHD_PORT"
A="$NGX/authd"
# protected_location PATH EXTRA: a location behind authd; EXTRA goes first
# (a `set $authd_ruleset`, the X-Device-Id pass-through). X-Test-Authd-Rule
# shows the client the deciding rule (test only: the contrib snippets keep
# the policy's file:line from clients).
protected_location() {
    cat <<LOCATION
    location $1 {
$2
        include $A/authd-protect.conf;
        add_header X-Test-Authd-Rule \$authd_rule always;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Host \$host;
        proxy_pass http://127.0.0.1:$ECHO_PORT;
    }
LOCATION
}
DEVICE_ID='        auth_request_set $authd_h_x_device_id $upstream_http_x_device_id;
        proxy_set_header X-Device-Id $authd_h_x_device_id;'
# policy_server PORT TRUSTED-INTERMEDIATES-LINE
policy_server() {
    cat <<SERVER
server {
    listen 127.0.0.1:$1 ssl;
    ssl_certificate     $PKI/server-chain.pem;
    ssl_certificate_key $PKI/server.key;
    ssl_client_certificate $PKI/trust.pem;
    $2
    ssl_verify_client optional;
    ssl_verify_depth  5;

    include $A/authd.conf;
    # Refusals are answered by authd.conf's @authd_denied, which inherits
    # add_header from here (not from the protected location).
    add_header X-Test-Authd-Rule \$authd_rule always;

$(protected_location /api/ "")
$(protected_location /admin/ "        set \$authd_ruleset admin;
$DEVICE_ID")
$(protected_location /nope/ "        set \$authd_ruleset nosuch;")
$(protected_location /cards/ "        set \$authd_ruleset cards;
$DEVICE_ID")

    # README pitfalls: \`rewrite ... last\` keeps the rule set chosen so far,
    # an internal redirect (try_files fallback) starts again from default.
    location /via-rewrite/ {
        set \$authd_ruleset admin;
        rewrite ^/via-rewrite/(.*)\$ /api/\$1 last;
    }
    location /via-try-files/ {
        set \$authd_ruleset admin;
        try_files /nonexistent /api/from-try-files;
    }
}
SERVER
}
policy_server "$TLS_PORT" "ssl_trusted_certificate $PKI/intermediates.pem;" > "$NGX/policy.conf"
# The same server without the intermediates: nginx refuses leaf-only
# clients (495) and @authd_rejected asks authd, which holds them and so
# gets as far as the policy.
policy_server "$TLS_PORT2" "" > "$NGX/policy-no-intermediates.conf"
cat > "$NGX/echo.conf" <<ECHO
server {
    listen 127.0.0.1:$ECHO_PORT;
    location / {
        return 200 "uri=\$request_uri\nsubject=\$http_x_authd_subject\nrule=\$http_x_authd_rule\nreason=\$http_x_authd_reason\nruleset=\$http_x_authd_ruleset\ndevice=\$http_x_device_id\n";
    }
}
ECHO
nginx_conf root "$NGX/policy.conf" "$NGX/policy-no-intermediates.conf" "$NGX/echo.conf"
start_nginx "$TLS_PORT" "$TLS_PORT2" "$ECHO_PORT" "$BACKEND_PORT"

C=(--cacert "$PKI/root.pem")
ALICE=(--cert "$PKI/client-chain.pem" --key "$PKI/client.key")
BOB=(--cert "$(chain client2)" --key "$PKI/client2.key")
CAROL=(--cert "$(chain noeku)" --key "$PKI/noeku.key")
DAVE=(--cert "$(chain smartcard)" --key "$PKI/smartcard.key")

# ---------------------------------------------------------------- default rule set
req "${C[@]}" "${ALICE[@]}" "$U/api/items"
check_eq "alice /api/ (default): status" "$CODE" 200
check_eq "alice /api/: backend subject" "$(body_field subject)" "CN=alice,OU=Engineering,O=Example Corp"
check_eq "alice /api/: backend X-Authd-Rule" "$(body_field rule)" "$RULE_ORG"
check_eq "alice /api/: backend X-Authd-Reason" "$(body_field reason)" "ok"

req "${C[@]}" "${BOB[@]}" "$U/api/items"
check_eq "bob /api/items (default): status" "$CODE" 200

req "${C[@]}" "${BOB[@]}" "$U/api/private/x"
check_eq "bob /api/private/x: status" "$CODE" 403
check_eq "bob /api/private/x: X-Authd-Reason" "$(hdr X-Authd-Reason)" "bob-not-private"
check_eq "bob /api/private/x: deciding rule" "$(hdr X-Test-Authd-Rule)" "$RULE_BOB"
check_not_contains "bob /api/private/x: backend not reached" "$BODY" "subject="

req "${C[@]}" "${ALICE[@]}" "$U/api/private/x"
check_eq "alice /api/private/x: status" "$CODE" 200

req "${C[@]}" "${CAROL[@]}" "$U/api/items"
check_eq "carol (listed lost): status" "$CODE" 403
check_eq "carol: X-Authd-Reason" "$(hdr X-Authd-Reason)" "reported-lost"
check_eq "carol: deciding rule" "$(hdr X-Test-Authd-Rule)" "$RULE_LOST"

# ---------------------------------------------------------------- admin rule set
req "${C[@]}" "${ALICE[@]}" "$U/admin/panel"
check_eq "alice /admin/ (admin): status" "$CODE" 403
check_eq "alice /admin/: X-Authd-Reason" "$(hdr X-Authd-Reason)" "no-matching-rule"
check_eq "alice /admin/: no deciding rule" "$(hdr X-Test-Authd-Rule)" ""

req "${C[@]}" "${BOB[@]}" -H "X-Device-Id: forged" "$U/admin/panel"
check_eq "bob /admin/ (admin): status" "$CODE" 200
check_eq "bob /admin/: backend X-Device-Id from the policy (client's overwritten)" "$(body_field device)" "bob"
check_eq "bob /admin/: backend X-Authd-Rule" "$(body_field rule)" "$RULE_ADMINS"
check_eq "bob /admin/: backend sees no X-Authd-Ruleset" "$(body_field ruleset)" ""

req "${C[@]}" "${ALICE[@]}" -H "X-Device-Id: forged" "$U/admin/open/page"
check_eq "alice /admin/open/ (allow without set): status" "$CODE" 200
check_eq "alice /admin/open/: client's X-Device-Id removed" "$(body_field device)" ""
check_eq "alice /admin/open/: backend X-Authd-Rule" "$(body_field rule)" "$RULE_OPEN"

# Documents why the backend must not trust X-Device-Id elsewhere: a location
# without the pass-through forwards the client's header unchanged.
req "${C[@]}" "${ALICE[@]}" -H "X-Device-Id: forged" "$U/api/items"
check_eq "alice /api/ (no X-Device-Id pass-through): client's header reaches the backend" "$(body_field device)" "forged"

# ---------------------------------------------------------------- smart cards
req "${C[@]}" "${DAVE[@]}" -H "X-Device-Id: forged" "$U/cards/door"
check_eq "dave /cards/ (UPN, FASC-N): status" "$CODE" 200
check_eq "dave /cards/: backend X-Device-Id is the card's UUID, lowercase" "$(body_field device)" \
    "f81d4fae-7dec-11d0-a765-00a0c91e6bf6"
check_eq "dave /cards/: backend X-Authd-Rule" "$(body_field rule)" "$RULE_CARDS"
req "${C[@]}" "${ALICE[@]}" "$U/cards/door"
check_eq "alice /cards/ (no UPN): status" "$CODE" 403
check_eq "alice /cards/: X-Authd-Reason" "$(hdr X-Authd-Reason)" "no-matching-rule"

# ---------------------------------------------------------------- unknown rule set
req "${C[@]}" "${ALICE[@]}" "$U/nope/x"
check_eq "/nope/ (rule set nosuch): status" "$CODE" 403
check_eq "/nope/: X-Authd-Reason" "$(hdr X-Authd-Reason)" "policy-deny"
check_eq "/nope/: no deciding rule" "$(hdr X-Test-Authd-Rule)" ""
req "${C[@]}" "${BOB[@]}" -H "X-Authd-Ruleset: default" "$U/nope/x"
check_eq "/nope/ with a client-sent X-Authd-Ruleset: default: status" "$CODE" 403
check_eq "/nope/ with a client-sent X-Authd-Ruleset: X-Authd-Reason" "$(hdr X-Authd-Reason)" "policy-deny"

# ---------------------------------------------------------------- the client cannot choose
req "${C[@]}" "${ALICE[@]}" -H "X-Authd-Ruleset: admin" "$U/api/items"
check_eq "alice /api/ sending X-Authd-Ruleset: admin: still default (200)" "$CODE" 200
check_eq "alice /api/ sending X-Authd-Ruleset: admin: deciding rule" "$(body_field rule)" "$RULE_ORG"
check_eq "alice /api/ sending X-Authd-Ruleset: backend sees none" "$(body_field ruleset)" ""
req "${C[@]}" "${BOB[@]}" -H "X-Authd-Ruleset: admin" "$U/api/private/x"
check_eq "bob /api/private/x sending X-Authd-Ruleset: admin: status" "$CODE" 403
check_eq "bob /api/private/x sending X-Authd-Ruleset: admin: X-Authd-Reason" "$(hdr X-Authd-Reason)" "bob-not-private"
req "${C[@]}" "${ALICE[@]}" -H "X-Authd-Ruleset: default" "$U/admin/panel"
check_eq "alice /admin/ sending X-Authd-Ruleset: default: still admin (403)" "$CODE" 403
check_eq "alice /admin/ sending X-Authd-Ruleset: default: X-Authd-Reason" "$(hdr X-Authd-Reason)" "no-matching-rule"

# ---------------------------------------------------------------- rewrites
# Both end in /api/ (no `set`); authd sees the client's URI ($request_uri).
req "${C[@]}" "${ALICE[@]}" "$U/via-rewrite/x"
check_eq "alice /via-rewrite/ (set admin, rewrite ... last to /api/): admin rule set kept (403)" "$CODE" 403
check_eq "alice /via-rewrite/: X-Authd-Reason" "$(hdr X-Authd-Reason)" "no-matching-rule"
req "${C[@]}" "${ALICE[@]}" "$U/via-try-files/x"
check_eq "alice /via-try-files/ (set admin, try_files to /api/): back to default (200)" "$CODE" 200
check_eq "alice /via-try-files/: deciding rule" "$(body_field rule)" "$RULE_ORG"
# authd decides on the client's URI, the backend gets the redirected one
check_eq "alice /via-try-files/: backend uri is the redirected one" "$(body_field uri)" "/api/from-try-files"
req "${C[@]}" "${ALICE[@]}" "$U/via-try-files/no/x"
check_eq "alice /via-try-files/no/x: authd saw the client's URI (403)" "$CODE" 403
check_eq "alice /via-try-files/no/x: X-Authd-Reason" "$(hdr X-Authd-Reason)" "client-uri"

# ---------------------------------------------------------------- path normalisation
# nginx routes on the normalised path; authd normalises X-Original-URI
# ($request_uri, as the client sent it) the same way.
for p in "/api/private/../private/x" "/api/%70rivate/x" "/api//private/x" "/api/./private/x" \
         "/api/private%2Fx" "/api/public/..%2Fprivate/x" "/api/private/x?y=/../../z"; do
    req "${C[@]}" "${BOB[@]}" --path-as-is "$U$p"
    check_eq "bob $p: status" "$CODE" 403
    check_eq "bob $p: X-Authd-Reason" "$(hdr X-Authd-Reason)" "bob-not-private"
done
req "${C[@]}" "${ALICE[@]}" --path-as-is "$U/admin/x/../open/page"
check_eq "alice /admin/x/../open/page: status (admin rule set, path /admin/open/page)" "$CODE" 200
req "${C[@]}" "${ALICE[@]}" --path-as-is "$U/admin/open/../panel"
check_eq "alice /admin/open/../panel: status (path /admin/panel)" "$CODE" 403

# ---------------------------------------------------------------- no certificate
for p in /api/items /admin/panel /nope/x; do
    req "${C[@]}" "$U$p"
    check_eq "no certificate $p: status" "$CODE" 401
    check_eq "no certificate $p: X-Authd-Reason (policy not reached)" "$(hdr X-Authd-Reason)" "no-certificate"
    check_eq "no certificate $p: no deciding rule" "$(hdr X-Test-Authd-Rule)" ""
done
req "${C[@]}" -H "X-Authd-Ruleset: admin" -H "X-SSL-Client-Verify: SUCCESS" "$U/admin/panel"
check_eq "no certificate + forged headers: status" "$CODE" 401

# ---------------------------------------------------------------- error_page 495 path
# Leaf-only clients on the server without intermediates: nginx refuses them
# before choosing a location, @authd_rejected asks authd with the default
# rule set (no location's `set` ran), and nginx's 400 stands.
req "${C[@]}" --cert "$PKI/client.pem" --key "$PKI/client.key" "$U2/admin/panel"
check_eq "495 path, alice on /admin/: status (nginx's refusal)" "$CODE" 400
check_eq "495 path, alice on /admin/: authd used the default rule set" "$(hdr X-Authd-Reason)" "ok"
req "${C[@]}" --cert "$PKI/client.pem" --key "$PKI/client.key" "$U2/nope/x"
check_eq "495 path, alice on /nope/: authd used the default rule set" "$(hdr X-Authd-Reason)" "ok"
req "${C[@]}" --cert "$PKI/client.pem" --key "$PKI/client.key" -H "X-Authd-Ruleset: nosuch" "$U2/api/items"
check_eq "495 path, alice sending X-Authd-Ruleset: nosuch: default rule set" "$(hdr X-Authd-Reason)" "ok"
req "${C[@]}" --cert "$PKI/noeku.pem" --key "$PKI/noeku.key" "$U2/api/items"
check_eq "495 path, carol: status" "$CODE" 403
check_eq "495 path, carol: X-Authd-Reason" "$(hdr X-Authd-Reason)" "reported-lost"
req "${C[@]}" --cert "$(chain expired)" --key "$PKI/expired.key" "$U/admin/panel"
check_eq "expired on /admin/: status" "$CODE" 401
check_eq "expired on /admin/: X-Authd-Reason" "$(hdr X-Authd-Reason)" "expired"

# ---------------------------------------------------------------- authd directly
# The answer nginx copies: X-Authd-Rule and the policy's `set` header.
ESC_BOB=$(escape_pem "$PKI/client2.pem")
AUTHD_HDRS=(-H "X-SSL-Client-Cert: $ESC_BOB" -H "X-SSL-Client-Verify: SUCCESS" -H "X-Original-Method: GET" -H "X-Original-Host: localhost")
direct() {
    N_REQ=$((N_REQ + 1)); HDRS="$WORK/req-$N_REQ.hdr"
    CODE=$(authd_curl -sS --max-time 10 -o /dev/null -D "$HDRS" -w '%{http_code}' "$@" /auth 2>/dev/null) || CODE=000
}
direct "${AUTHD_HDRS[@]}" -H "X-Original-URI: /admin/panel" -H "X-Authd-Ruleset: admin"
check_eq "authd: bob, rule set admin: status" "$CODE" 200
check_eq "authd: bob, rule set admin: X-Device-Id" "$(hdr X-Device-Id)" "bob"
check_eq "authd: bob, rule set admin: X-Authd-Rule" "$(hdr X-Authd-Rule)" "$RULE_ADMINS"
direct "${AUTHD_HDRS[@]}" -H "X-Original-URI: /admin/panel"
check_eq "authd: bob, no rule set header: status" "$CODE" 200
check_eq "authd: bob, no rule set header (default): no X-Device-Id" "$(hdr X-Device-Id)" ""
check_eq "authd: bob, no rule set header: X-Authd-Rule" "$(hdr X-Authd-Rule)" "$RULE_ORG"
direct "${AUTHD_HDRS[@]}" -H "X-Original-URI: /api/private/x" -H "X-Authd-Ruleset: admin"
check_eq "authd: bob /api/private/x with rule set admin: status" "$CODE" 200
direct "${AUTHD_HDRS[@]}" -H "X-Original-URI: /api/private/x"
check_eq "authd: bob /api/private/x: status" "$CODE" 403
check_eq "authd: bob /api/private/x: X-Authd-Rule" "$(hdr X-Authd-Rule)" "$RULE_BOB"
check_eq "authd: bob /api/private/x: no X-Device-Id on a deny" "$(hdr X-Device-Id)" ""

# ---------------------------------------------------------------- logs
check_contains "authd log names the unknown rule set" "$(cat "$AUTHD_LOG")" "nosuch"
if grep -q "uninitialized" "$NGX/error.log"; then
    fail "nginx warned about an uninitialized variable: $(grep uninitialized "$NGX/error.log" | head -n 3)"
else
    pass "nginx: no uninitialized-variable warnings"
fi
stop_authd
