#!/usr/bin/env bash
# authd demo: builds authd, makes a throwaway PKI, starts authd and nginx
# (with the contrib/nginx snippets) and an OCSP responder (openssl ocsp) on
# loopback, and shows what happens to
# a few clients. Everything runs in a temporary directory and is stopped and
# removed on exit. Needs root only to install missing packages.
#
#   contrib/demo.sh
set -euo pipefail

cd "$(dirname "$0")/.."
REPO=$(pwd)

bold() { printf '\n\033[1m%s\033[0m\n' "$*"; }
say()  { printf '%s\n' "$*"; }
die()  { printf '\ndemo failed: %s\n' "$*" >&2; exit 1; }

# ------------------------------------------------------------ packages
PACKAGES=(build-essential cmake pkg-config libmicrohttpd-dev libssl-dev libpcre2-dev
          liblmdb-dev libcurl4-openssl-dev nginx curl openssl ca-certificates)
missing=()
for p in "${PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ "${#missing[@]}" -gt 0 ]; then
    bold "Installing missing packages: ${missing[*]}"
    SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -q >/dev/null
    $SUDO apt-get install -y -q "${missing[@]}" >/dev/null
fi

# ------------------------------------------------------------ build
bold "Building authd (build/)"
BUILD_LOG=$(mktemp /tmp/authd-demo-build.XXXXXX)
if ! { cmake -S "$REPO" -B "$REPO/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo &&
       cmake --build "$REPO/build" --target authd -j "$(nproc 2>/dev/null || echo 2)"; } >"$BUILD_LOG" 2>&1; then
    tail -n 30 "$BUILD_LOG" >&2
    rm -f "$BUILD_LOG"
    die "build failed"
fi
rm -f "$BUILD_LOG"
AUTHD="$REPO/build/authd"
[ -x "$AUTHD" ] || die "build/authd was not built"

# ------------------------------------------------------------ temp dir, cleanup
D=$(mktemp -d /tmp/authd-demo.XXXXXX)
chmod 0755 "$D"
PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]:-}"; do
        [ -n "$p" ] || continue
        kill -TERM "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    rm -rf "$D"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() {
    local p
    while :; do
        p=$(( 10000 + (RANDOM * 32768 + RANDOM) % 22000 ))
        port_busy "$p" || { echo "$p"; return; }
    done
}
AUTHD_PORT=$(free_port)
TLS_PORT=$(free_port)
while [ "$TLS_PORT" = "$AUTHD_PORT" ]; do TLS_PORT=$(free_port); done
BACKEND_PORT=$(free_port)
while [ "$BACKEND_PORT" = "$AUTHD_PORT" ] || [ "$BACKEND_PORT" = "$TLS_PORT" ]; do BACKEND_PORT=$(free_port); done
OCSP_PORT=$(free_port)
while [ "$OCSP_PORT" = "$AUTHD_PORT" ] || [ "$OCSP_PORT" = "$TLS_PORT" ] || [ "$OCSP_PORT" = "$BACKEND_PORT" ]; do OCSP_PORT=$(free_port); done

# ------------------------------------------------------------ PKI
bold "Creating a throwaway PKI in $D/pki"
bash "$REPO/tests/pki/gen.sh" "$D/pki"
P="$D/pki"
cat "$P/expired.pem" "$P/intermediate.pem" > "$P/expired-chain.pem"
cat "$P/revoked.pem" "$P/intermediate.pem" > "$P/revoked-chain.pem"
cat "$P/client2.pem" "$P/intermediate.pem" > "$P/client2-chain.pem"
# Two more clients: dave, whom the CA revoked a minute ago (the OCSP
# responder knows, the CRL does not list him yet), and erin.
printf 'basicConstraints = critical, CA:FALSE\nkeyUsage = critical, digitalSignature\nextendedKeyUsage = clientAuth\n' > "$P/demo-client.ext"
for n in dave erin; do
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$P/$n.key" \
        -subj "/O=Example Corp/OU=Engineering/CN=$n" -out "$P/$n.csr" 2>/dev/null &&
    openssl x509 -req -in "$P/$n.csr" -CA "$P/intermediate.pem" -CAkey "$P/intermediate.key" \
        -set_serial "0x$(openssl rand -hex 8)" -days 30 -sha256 -extfile "$P/demo-client.ext" \
        -out "$P/$n.pem" 2>/dev/null || die "cannot issue a certificate for $n"
    cat "$P/$n.pem" "$P/intermediate.pem" > "$P/$n-chain.pem"
done
# The OCSP responder's database (openssl ca's index.txt format).
serial() { openssl x509 -in "$1" -noout -serial | sed 's/^serial=//'; }
EXP=$(date -u -d '+30 days' +%y%m%d%H%M%SZ)
REVAT=$(date -u -d '-1 minute' +%y%m%d%H%M%SZ)
{ for n in client client2 erin; do printf 'V\t%s\t\t%s\tunknown\t/CN=%s\n' "$EXP" "$(serial "$P/$n.pem")" "$n"; done
  for n in revoked dave; do printf 'R\t%s\t%s,keyCompromise\t%s\tunknown\t/CN=%s\n' "$EXP" "$REVAT" "$(serial "$P/$n.pem")" "$n"; done
} > "$D/ocsp-index.txt"
# The policy: /admin/ for the Admins OU only, everything else for Example Corp.
cat > "$D/demo.policy" <<'POLICY'
ruleset default {
  deny  path prefix "/admin/" and subject.OU != "Admins"   reason "admins-only"
  allow subject.O == "Example Corp"
}
POLICY
say "  root CA:      $(openssl x509 -in "$P/root.pem" -noout -subject -nameopt RFC2253 | sed 's/subject=//')"
say "  intermediate: $(openssl x509 -in "$P/intermediate.pem" -noout -subject -nameopt RFC2253 | sed 's/subject=//')"
say "  clients:      alice (OU=Engineering), bob (OU=Admins), mallory (from a foreign CA),"
say "                expired-client, revoked-client (on the intermediate's CRL),"
say "                dave (revoked a minute ago: only the OCSP responder knows), erin"

# ------------------------------------------------------------ OCSP responder
bold "Starting an OCSP responder (openssl ocsp) on 127.0.0.1:$OCSP_PORT"
say "  openssl ocsp -index ocsp-index.txt -port $OCSP_PORT -CA intermediate.pem -rsigner ocsp-signer.pem ..."
openssl ocsp -index "$D/ocsp-index.txt" -port "$OCSP_PORT" -ndays 1 -CA "$P/intermediate.pem" \
    -rsigner "$P/ocsp-signer.pem" -rkey "$P/ocsp-signer.key" >"$D/ocsp.log" 2>&1 &
OCSP_PID=$!
PIDS+=($OCSP_PID)
# (readiness from its log: openssl ocsp does not like idle probe connections)
for i in $(seq 1 100); do grep -q 'waiting for OCSP client connections' "$D/ocsp.log" && break; sleep 0.1; done
grep -q 'waiting for OCSP client connections' "$D/ocsp.log" || die "openssl ocsp did not start: $(cat "$D/ocsp.log")"
say "  it signs with a delegate certificate (OCSPSigning) issued by the intermediate CA."

# ------------------------------------------------------------ authd
bold "Starting authd on 127.0.0.1:$AUTHD_PORT"
say "  authd serve --listen 127.0.0.1:$AUTHD_PORT --trust trust.pem --intermediates intermediates.pem \\"
say "              --crl crl/both.crl.pem --ocsp leaf --ocsp-responder http://127.0.0.1:$OCSP_PORT/ \\"
say "              --revocation-order ocsp,crl --policy demo.policy --data-dir data --audit-log audit.log"
say "  (OCSP answers first for each client certificate; the CRL stands in when it cannot,"
say "   and covers the intermediate CA)"
say "  demo.policy:"
sed 's/^/    /' "$D/demo.policy"
"$AUTHD" serve --listen "127.0.0.1:$AUTHD_PORT" --trust "$P/trust.pem" \
    --intermediates "$P/intermediates.pem" --crl "$P/crl/both.crl.pem" \
    --ocsp leaf --ocsp-responder "http://127.0.0.1:$OCSP_PORT/" --revocation-order ocsp,crl \
    --policy "$D/demo.policy" --data-dir "$D/data" --audit-log "$D/audit.log" 2>"$D/authd.log" &
PIDS+=($!)
for i in $(seq 1 100); do
    curl -s -o /dev/null "http://127.0.0.1:$AUTHD_PORT/healthz" && break
    kill -0 "${PIDS[0]}" 2>/dev/null || { cat "$D/authd.log" >&2; die "authd did not start"; }
    sleep 0.1
done

# ------------------------------------------------------------ nginx
bold "Starting nginx on https://localhost:$TLS_PORT (contrib/nginx/mtls-mandatory.conf)"
N="$D/nginx"
mkdir -p "$N/authd" "$N/tmp"
cp contrib/nginx/authd.conf contrib/nginx/authd-protect.conf contrib/nginx/authd-upstream.conf "$N/authd/"
sed -i "s#server 127\.0\.0\.1:9180;#server 127.0.0.1:$AUTHD_PORT;#" "$N/authd/authd-upstream.conf"
sed -e "s#listen 443 ssl;#listen 127.0.0.1:$TLS_PORT ssl;#" \
    -e "s#/etc/nginx/snippets/authd/#$N/authd/#g" -e "s#/etc/authd/#$P/#g" -e "s#/etc/nginx/tls/#$P/#g" \
    -e "s#127\.0\.0\.1:8080#127.0.0.1:$BACKEND_PORT#g" contrib/nginx/mtls-mandatory.conf > "$N/server.conf"
USER_LINE=; [ "$(id -u)" -eq 0 ] && USER_LINE="user root;"
cat > "$N/nginx.conf" <<NGINX
$USER_LINE
worker_processes 1;
pid $N/nginx.pid;
error_log $N/error.log;
events { worker_connections 128; }
http {
    access_log $N/access.log;
    client_body_temp_path $N/tmp/body;
    proxy_temp_path $N/tmp/proxy;
    fastcgi_temp_path $N/tmp/fastcgi;
    uwsgi_temp_path $N/tmp/uwsgi;
    scgi_temp_path $N/tmp/scgi;
    default_type text/plain;
    include $N/authd/authd-upstream.conf;
    include $N/server.conf;
    # the "application": shows the identity headers nginx passed to it
    server {
        listen 127.0.0.1:$BACKEND_PORT;
        location / {
            return 200 "backend saw: X-Authd-Subject: \$http_x_authd_subject\n             X-Authd-Issuer:  \$http_x_authd_issuer\n             X-Authd-Serial:  \$http_x_authd_serial\n             X-Authd-Fingerprint: \$http_x_authd_fingerprint\n";
        }
    }
}
NGINX
/usr/sbin/nginx -t -q -p "$N" -c "$N/nginx.conf" -e "$N/error.log" || die "nginx configuration is invalid"
/usr/sbin/nginx -p "$N" -c "$N/nginx.conf" -e "$N/error.log" -g 'daemon off;' &
PIDS+=($!)
for i in $(seq 1 100); do port_busy "$TLS_PORT" && port_busy "$BACKEND_PORT" && break; sleep 0.1; done
port_busy "$TLS_PORT" || die "nginx did not start: $(cat "$N/error.log")"

# ------------------------------------------------------------ the demo
URL="https://localhost:$TLS_PORT/orders"
# show WANT_STATUS CURL-ARGS...: one request, status + reason + backend view
show() {
    local want=$1; shift
    local out code reason rev url=${SHOW_URL:-$URL}
    out=$(curl -sS -D "$D/h" -o "$D/b" -w '%{http_code}' --cacert "$P/root.pem" "$@" "$url") || die "curl failed"
    code=$out
    reason=$(grep -i '^x-authd-reason:' "$D/h" | tail -1 | sed 's/^[^:]*: *//; s/\r$//')
    rev=$(grep -i '^x-authd-revocation:' "$D/h" | tail -1 | sed 's/^[^:]*: *//; s/\r$//' || true)
    say "  -> HTTP $code, X-Authd-Reason: ${reason:-(none)}${rev:+, X-Authd-Revocation: $rev}"
    [ "$code" = 200 ] && sed 's/^/     /' "$D/b"
    [ "$code" = "$want" ] || die "expected HTTP $want, got $code"
}

bold "1. alice presents a valid certificate (issued by our intermediate CA)"
say "  curl --cert client-chain.pem --key client.key $URL"
show 200 --cert "$P/client-chain.pem" --key "$P/client.key"
say "  nginx asked authd, authd verified the chain and answered 200 with alice's"
say "  identity; nginx passed it to the backend in X-Authd-* headers."

bold "2. A client without any certificate"
say "  curl $URL"
show 401
say "  nginx still asks authd (ssl_verify_client optional); authd says 401 no-certificate."
say "  Every refusal gets the same answer, rendered by authd from the reason: a small"
say "  HTML page for browsers, and JSON for API clients:"
say "  curl -H 'Accept: application/json' $URL"
curl -sS --cacert "$P/root.pem" -H 'Accept: application/json' "$URL" | sed 's/^/     /'
echo

bold "3. mallory, with a certificate from a CA we do not trust"
say "  curl --cert other-client.pem --key other-client.key $URL"
show 401 --cert "$P/other-client.pem" --key "$P/other-client.key"
say "  nginx refused the certificate itself (495); contrib/nginx/authd.conf routes that"
say "  refusal to authd, so the client learns why: untrusted."

bold "4. A certificate that expired 30 days ago"
say "  curl --cert expired-chain.pem --key expired.key $URL"
show 401 --cert "$P/expired-chain.pem" --key "$P/expired.key"

bold "5. Asking authd offline why a certificate is refused"
say "  authd check --trust trust.pem --intermediates intermediates.pem expired.pem"
set +e
"$AUTHD" check --trust "$P/trust.pem" --intermediates "$P/intermediates.pem" "$P/expired.pem" | sed 's/^/     /'
rc=${PIPESTATUS[0]}
set -e
say "  (exit status $rc: 0 allow, 1 deny, 2 usage error)"
[ "$rc" = 1 ] || die "authd check should exit 1 for an expired certificate"

bold "6. A certificate revoked by its CA"
say "  curl --cert revoked-chain.pem --key revoked.key $URL"
show 401 --cert "$P/revoked-chain.pem" --key "$P/revoked.key"
say "  nginx itself accepts it (it checks no revocation here); authd asked the OCSP"
say "  responder named in its configuration: 401 revoked."

bold "7. dave was revoked a minute ago: the CRL does not list him yet, OCSP does"
say "  curl --cert dave-chain.pem --key dave.key $URL"
show 401 --cert "$P/dave-chain.pem" --key "$P/dave.key"
say "  authd check shows where the answer came from:"
set +e
"$AUTHD" check --trust "$P/trust.pem" --intermediates "$P/intermediates.pem" --crl "$P/crl/both.crl.pem" \
    --ocsp leaf --ocsp-responder "http://127.0.0.1:$OCSP_PORT/" --revocation-order ocsp,crl "$P/dave.pem" 2>/dev/null |
    sed -n '1p;/^ocsp$/,/^checks$/p;/^  revocation/p' | grep -v '^checks$' | sed 's/^/     /'
set -e
say "  The answer is verified (signer delegated by the CA, our CertID, thisUpdate and"
say "  nextUpdate), kept in LMDB until its nextUpdate and refreshed ahead of it; nginx"
say "  gets X-Authd-Revocation: ocsp with the 401."

bold "8. The OCSP responder goes down"
kill -TERM "$OCSP_PID" 2>/dev/null || true
wait "$OCSP_PID" 2>/dev/null || true
say "  (responder stopped)"
say "  alice again: her OCSP answer is cached, nothing to ask"
show 200 --cert "$P/client-chain.pem" --key "$P/client.key"
say "  erin, never seen before: the responder cannot be reached, so the CRL stands in"
say "  (revocation_order ocsp,crl); she is not on it:"
show 200 --cert "$P/erin-chain.pem" --key "$P/erin.key"
say "  Without a CRL to fall back on, ocsp_failure decides: deny (the default, 401"
say "  revocation-unknown) or allow (200 with X-Authd-Revocation: unchecked), globally"
say "  or per rule set."
say "  authd check, offline, with the same settings:"
set +e
"$AUTHD" check --trust "$P/trust.pem" --intermediates "$P/intermediates.pem" --crl "$P/crl/both.crl.pem" \
    --ocsp leaf --ocsp-responder "http://127.0.0.1:$OCSP_PORT/" --revocation-order ocsp,crl "$P/erin.pem" 2>/dev/null |
    sed -n '1p;/^ocsp$/,/^checks$/p;/^  revocation/p' | grep -v '^checks$' | sed 's/^/     /'
set -e

bold "9. The policy: /admin/ is for the Admins OU"
say "  curl --cert client-chain.pem ... https://localhost:$TLS_PORT/admin/users   (alice, Engineering)"
SHOW_URL="https://localhost:$TLS_PORT/admin/users" show 403 --cert "$P/client-chain.pem" --key "$P/client.key"
say "  curl --cert client2-chain.pem ... https://localhost:$TLS_PORT/admin/users  (bob, Admins)"
SHOW_URL="https://localhost:$TLS_PORT/admin/users" show 200 --cert "$P/client2-chain.pem" --key "$P/client2.key"
say "  Same certificate chain, different answers by path: 403 with the deny rule's own"
say "  reason (admins-only) and X-Authd-Rule naming the rule's file:line."

bold "10. What operators see: the audit log, /metrics, and authd doctor"
sleep 0.1   # lines reach the file within 20 ms (a writer thread)
say "  audit.log, one JSON line per decision (the last two):"
tail -n 2 "$D/audit.log" | sed 's/^/     /'
say "  curl http://127.0.0.1:$AUTHD_PORT/metrics   (decisions by reason, a few lines)"
curl -sS "http://127.0.0.1:$AUTHD_PORT/metrics" | grep '^authd_decisions_total' | sed 's/^/     /'
say "  authd doctor --ca root.pem --cert client-chain.pem --key client.key \\"
say "      --trust trust.pem --intermediates intermediates.pem --crl crl/both.crl.pem https://localhost:$TLS_PORT/orders"
say "  (the configuration flags make it check the client as authd does, and show authd's decision)"
set +e
"$AUTHD" doctor --ca "$P/root.pem" --cert "$P/client-chain.pem" --key "$P/client.key" \
    --trust "$P/trust.pem" --intermediates "$P/intermediates.pem" --crl "$P/crl/both.crl.pem" \
    "https://localhost:$TLS_PORT/orders" 2>&1 | cut -c1-150 | sed 's/^/     /'
set -e
say "  (docs/operations.md: the audit fields and every metric; docs/troubleshooting.md: doctor)"

bold "Done: stopping nginx and authd, removing $D"
