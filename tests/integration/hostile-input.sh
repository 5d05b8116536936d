#!/usr/bin/env bash
# Hostile X-SSL-Client-Cert values and decision headers sent straight to
# authd (no nginx). Every one must get 401 (malformed-certificate,
# malformed-request for a duplicate or NUL-holding decision header, or
# no-certificate when empty), never a 5xx, a hang or a crash; authd must
# keep answering.
# The one exception: a header block larger than max_request_size (64k by
# default) gets 431 from libmicrohttpd before authd sees it (nginx's
# authd.conf turns that 431 into 401 malformed-certificate; see
# nginx-mandatory.sh). With --max-request-size 256k the same 200 kB header
# reaches authd, whose own 64 KiB bound on the certificate header answers 401.
. "$(dirname "$0")/lib.bash"

AUTHD_PORT=$(free_port)
start_authd authd "127.0.0.1:$AUTHD_PORT" --trust "$PKI/trust.pem" --intermediates "$PKI/intermediates.pem"

H="$WORK/headers"
mkdir -p "$H"
# hfile VALUE...: a curl header file with one X-SSL-Client-Cert line (VALUE
# written with printf %s, so it may be any length)
hfile() {
    local f
    f=$(mktemp "$H/h.XXXXXX")
    { printf 'X-SSL-Client-Cert: '; printf '%s' "$@"; printf '\r\n'; } > "$f"
    printf '%s' "$f"
}
# ask HEADERFILE [CURL-ARGS...]: a decision request as nginx would send it
# (X-SSL-Client-Verify: $VERIFY, SUCCESS unless set)
ask() {
    local f=$1; shift
    req -H "@$f" -H "X-SSL-Client-Verify: ${VERIFY:-SUCCESS}" -H "X-Original-URI: ${URI:-/x}" \
        -H "X-Original-Method: GET" -H "X-Original-Host: localhost" "$@" "http://127.0.0.1:$AUTHD_PORT/auth"
}
# expect NAME STATUS REASON HEADERFILE [CURL-ARGS...]
expect() {
    local name=$1 status=$2 reason=$3; shift 3
    ask "$@"
    if [ "$CODE" = "$status" ] && [ "$(hdr X-Authd-Reason)" = "$reason" ]; then
        pass "$name ($CODE $reason)"
    else
        fail "$name: got $CODE '$(hdr X-Authd-Reason)', expected $status '$reason'"
    fi
}

ESC=$(escape_pem "$PKI/client.pem")
ESC2=$(escape_pem "$PKI/client2.pem")
B64=$(sed '/-----/d' "$PKI/client.pem" | tr -d '\n')

# --- sanity: the direct path works and identity headers are right
expect "valid certificate" 200 ok "$(hfile "$ESC")"
check_eq "valid: X-Authd-Subject" "$(hdr X-Authd-Subject)" "$(cert_subject "$PKI/client.pem")"
check_eq "valid: X-Authd-Issuer" "$(hdr X-Authd-Issuer)" "$(cert_issuer "$PKI/client.pem")"
check_eq "valid: X-Authd-Serial" "$(hdr X-Authd-Serial)" "$(cert_serial "$PKI/client.pem")"
check_eq "valid: X-Authd-Fingerprint" "$(hdr X-Authd-Fingerprint)" "$(cert_fingerprint "$PKI/client.pem")"
ask "$(hfile "$ESC")" -X POST
check_eq "valid, method POST: status" "$CODE" 200
ask "$(hfile "$ESC")" -I
check_eq "valid, method HEAD: status" "$CODE" 200
URI="/$(head -c 7000 /dev/zero | tr '\0' a)" ask "$(hfile "$ESC")"
check_eq "valid, 7 kB X-Original-URI: status" "$CODE" 200

# --- the verify header is never trusted alone
VERIFY=NONE expect "valid certificate but X-SSL-Client-Verify: NONE" 401 no-certificate "$(hfile "$ESC")"
# nginx's verdict is not authd's: authd verifies the (good) chain itself
VERIFY="FAILED:certificate has expired" expect "valid certificate, X-SSL-Client-Verify: FAILED:...: authd decides" 200 ok "$(hfile "$ESC")"
expect "two X-SSL-Client-Verify header lines" 401 malformed-certificate "$(hfile "$ESC")" -H "X-SSL-Client-Verify: NONE"
expect "foreign certificate with X-SSL-Client-Verify: SUCCESS" 401 untrusted "$(hfile "$(escape_pem "$PKI/other-client.pem")")"
expect "expired certificate with X-SSL-Client-Verify: SUCCESS" 401 expired "$(hfile "$(escape_pem "$PKI/expired.pem")")"
expect "CA certificate as leaf" 401 wrong-purpose "$(hfile "$(escape_pem "$PKI/intermediate.pem")")"

# --- no certificate
expect "empty header" 401 no-certificate "$(hfile "")"
: > "$H/none.txt"
expect "header absent" 401 no-certificate "$H/none.txt"

# --- malformed escapes
expect "invalid escape %ZZ" 401 malformed-certificate "$(hfile "${ESC:0:40}%ZZ${ESC:40}")"
expect "invalid escape %G0" 401 malformed-certificate "$(hfile "${ESC:0:40}%G0${ESC:40}")"
expect "truncated escape at end (%)" 401 malformed-certificate "$(hfile "$ESC%")"
expect "truncated escape at end (%0)" 401 malformed-certificate "$(hfile "$ESC%0")"
expect "encoded NUL (%00) inside the PEM" 401 malformed-certificate "$(hfile "${ESC:0:30}%00${ESC:30}")"
expect "encoded NUL (%00) after the PEM" 401 malformed-certificate "$(hfile "$ESC%00")"
expect "encoded NUL (%00) as the whole value" 401 malformed-certificate "$(hfile "%00")"

# --- not one certificate
expect "truncated PEM (first half)" 401 malformed-certificate "$(hfile "${ESC:0:$(( ${#ESC} / 2 ))}")"
expect "PEM without END line" 401 malformed-certificate "$(hfile "${ESC%%-----END*}")"
expect "two certificates (alice + bob)" 401 malformed-certificate "$(hfile "$ESC$ESC2")"
expect "private key PEM" 401 malformed-certificate "$(hfile "$(escape_pem "$PKI/client.key")")"
expect "CSR PEM" 401 malformed-certificate "$(hfile "$(escape_pem "$PKI/csr.pem")")"
BAD64="${B64:0:100}!${B64:101}"
expect "corrupted base64" 401 malformed-certificate "$(hfile "-----BEGIN%20CERTIFICATE-----%0A$BAD64%0A-----END%20CERTIFICATE-----%0A")"
GARB64=$(head -c 600 /dev/urandom | base64 -w 64 | sed ':a;N;$!ba;s/\n/%0A/g; s/+/%2B/g; s/\//%2F/g; s/=/%3D/g')
expect "PEM armour around random bytes" 401 malformed-certificate "$(hfile "-----BEGIN%20CERTIFICATE-----%0A$GARB64%0A-----END%20CERTIFICATE-----%0A")"
TRAIL64=$( { openssl x509 -in "$PKI/client.pem" -outform DER; printf 'TRAILINGJUNK'; } | base64 -w 64 | sed ':a;N;$!ba;s/\n/%0A/g; s/+/%2B/g; s/\//%2F/g; s/=/%3D/g')
expect "certificate DER followed by trailing bytes" 401 malformed-certificate "$(hfile "-----BEGIN%20CERTIFICATE-----%0A$TRAIL64%0A-----END%20CERTIFICATE-----%0A")"
expect "base64 DER without PEM armour" 401 malformed-certificate "$(hfile "$B64")"
expect "garbage text" 401 malformed-certificate "$(hfile 'hello world; <script>alert(1)</script> $(id) %s%n')"
{ printf 'X-SSL-Client-Cert: '; head -c 3000 /dev/urandom | tr -d '\r\n\000' ; printf '\r\n'; } > "$H/binary.txt"
expect "binary garbage" 401 malformed-certificate "$H/binary.txt"
BIG200=$(hfile "$(head -c 204800 /dev/zero | tr '\0' A)")
BIG200PEM=$(hfile "-----BEGIN%20CERTIFICATE-----%0A$(head -c 204800 /dev/zero | tr '\0' A)%0A-----END%20CERTIFICATE-----%0A")
# above the default max_request_size (64k): libmicrohttpd's 431, no reason
expect "200 kB header (max_request_size 64k)" 431 "" "$BIG200"
expect "200 kB inside PEM armour (max_request_size 64k)" 431 "" "$BIG200PEM"
req "http://127.0.0.1:$AUTHD_PORT/healthz"
check_eq "/healthz right after the 431s" "$CODE" 200
expect "valid certificate right after the 431s" 200 ok "$(hfile "$ESC")"
expect "two X-SSL-Client-Cert header lines" 401 malformed-certificate "$(hfile "$ESC")" -H "X-SSL-Client-Cert: $ESC2"
# every other decision header, twice: the second must not silently win
expect "two X-Original-URI header lines" 401 malformed-request "$(hfile "$ESC")" -H "X-Original-URI: /admin/x"
expect "two X-Original-Method header lines" 401 malformed-request "$(hfile "$ESC")" -H "X-Original-Method: POST"
expect "two X-Original-Host header lines" 401 malformed-request "$(hfile "$ESC")" -H "X-Original-Host: other"
expect "two X-Authd-Ruleset header lines" 401 malformed-request "$(hfile "$ESC")" -H "X-Authd-Ruleset: a" -H "X-Authd-Ruleset: b"
ask "$(hfile "$ESC")" -H "X-Request-Id: one" -H "X-Request-Id: two"
check_eq "two X-Request-Id header lines (not a decision input): status" "$CODE" 200

# --- raw NUL bytes inside header values: nginx never sends them, but
# authd's listener must not read "/public\0/../admin/x" as "/public".
# raw NAME STATUS REASON 'Header: value\0...': one request, byte for byte
# (Python escapes in the header lines), answered status and reason checked
raw() {
    local name=$1 status=$2 reason=$3 out; shift 3
    out=$(python3 - "$AUTHD_PORT" "$ESC" "$@" <<'PY'
import socket, sys
port, esc, extra = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
lines = {"X-SSL-Client-Cert": esc, "X-SSL-Client-Verify": "SUCCESS",
         "X-Original-URI": "/x", "X-Original-Method": "GET",
         "X-Original-Host": "localhost"}
head = b"GET /auth HTTP/1.1\r\nHost: authd\r\nConnection: close\r\n"
for e in extra:
    k = e.split(":", 1)[0]
    lines.pop(k, None)
    head += e.encode("latin-1").decode("unicode_escape").encode("latin-1") + b"\r\n"
for k, v in lines.items():
    head += (k + ": " + v + "\r\n").encode()
s = socket.create_connection(("127.0.0.1", port), timeout=10)
s.sendall(head + b"\r\n")
data = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    data += b
status = data.split(b" ", 2)[1].decode() if data.startswith(b"HTTP/") else "none"
reason = ""
for l in data.split(b"\r\n\r\n", 1)[0].split(b"\r\n")[1:]:
    if l.lower().startswith(b"x-authd-reason:"):
        reason = l.split(b":", 1)[1].strip().decode()
print(status, reason)
PY
)
    check_eq "$name" "$out" "$status $reason"
}
raw "NUL inside X-Original-URI" 401 malformed-request 'X-Original-URI: /public\0/../admin/x'
raw "NUL inside X-Original-Method" 401 malformed-request 'X-Original-Method: GET\0POST'
raw "NUL inside X-Original-Host" 401 malformed-request 'X-Original-Host: a\0b'
raw "NUL inside X-Authd-Ruleset" 401 malformed-request 'X-Authd-Ruleset: default\0admin'
raw "NUL inside X-SSL-Client-Verify" 401 malformed-request 'X-SSL-Client-Verify: SUCCESS\0'
raw "NUL inside a header that is not read" 401 malformed-request 'User-Agent: a\0b'
raw "NUL after a folded decision header" 401 malformed-request 'X-Original-URI: /public' ' \0/../admin/x'
# a name cut by a NUL has no ':' for libmicrohttpd: its own 400, before authd
raw "NUL inside a header name" 400 "" 'X-Original-URI\0x: /y'
raw "the same request without NUL bytes" 200 ok 'X-Original-URI: /public/../admin/x'

# --- a burst of concurrent good, bad and too-large (100 kB) requests
GOOD=$(hfile "$ESC"); BAD=$(hfile "${ESC:0:300}"); BIG=$(hfile "$(head -c 100000 /dev/zero | tr '\0' B)")
# burst NAME: 30 of each at once; checks the answer counts (BIG_WANT is
# what the 100 kB requests must get: 431 at 64k, 401 at 256k)
burst() {
    local out="$WORK/burst-$1.txt" p i f
    local pids=()
    : > "$out"
    for i in $(seq 1 30); do
        for f in "$GOOD" "$BAD" "$BIG"; do
            curl -s -o /dev/null --max-time 20 -w '%{http_code}\n' -H "@$f" -H "X-SSL-Client-Verify: SUCCESS" \
                "http://127.0.0.1:$AUTHD_PORT/auth" >> "$out" &
            pids+=($!)
        done
    done
    for p in "${pids[@]}"; do wait "$p" || true; done
    local n200 n401 n431 other
    n200=$(grep -c '^200$' "$out" || true)
    n401=$(grep -c '^401$' "$out" || true)
    n431=$(grep -c '^431$' "$out" || true)
    other=$(grep -cvE '^(200|401|431)$' "$out" || true)
    check_eq "90 concurrent mixed requests ($1): answers other than 200/401/431" "$other" 0
    check_eq "90 concurrent mixed requests ($1): 200 answers" "$n200" 30
    if [ "$BIG_WANT" = 431 ]; then
        check_eq "90 concurrent mixed requests ($1): 401 answers" "$n401" 30
        check_eq "90 concurrent mixed requests ($1): 431 answers" "$n431" 30
    else
        check_eq "90 concurrent mixed requests ($1): 401 answers" "$n401" 60
        check_eq "90 concurrent mixed requests ($1): 431 answers" "$n431" 0
    fi
}
BIG_WANT=431 burst "max_request_size 64k"

# --- still alive and well
req "http://127.0.0.1:$AUTHD_PORT/healthz"
check_eq "/healthz after hostile input" "$CODE" 200
expect "valid certificate after hostile input" 200 ok "$GOOD"
stop_authd

# --- max_request_size 256k: the 200 kB headers now reach authd, whose own
# 64 KiB bound on X-SSL-Client-Cert answers 401 malformed-certificate
AUTHD_PORT=$(free_port)
start_authd authd-256k "127.0.0.1:$AUTHD_PORT" --trust "$PKI/trust.pem" --intermediates "$PKI/intermediates.pem" \
    --max-request-size 256k
expect "valid certificate (max_request_size 256k)" 200 ok "$GOOD"
expect "200 kB header (max_request_size 256k)" 401 malformed-certificate "$BIG200"
expect "200 kB inside PEM armour (max_request_size 256k)" 401 malformed-certificate "$BIG200PEM"
BIG_WANT=401 burst "max_request_size 256k"
req "http://127.0.0.1:$AUTHD_PORT/healthz"
check_eq "/healthz after hostile input (max_request_size 256k)" "$CODE" 200
expect "valid certificate after hostile input (max_request_size 256k)" 200 ok "$GOOD"
stop_authd
