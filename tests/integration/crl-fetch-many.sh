#!/usr/bin/env bash
# More distribution-point URLs than authd keeps in memory (issue 12): 5,000
# certificates, each naming its own CRL distribution point, against a table
# of 4,096 URLs.  Before, the 1,025th URL was never fetched ("cannot
# fetch", then crl_missing denied); now the least recently used URL that
# nobody waits on leaves memory and its CRL is read back from data_dir.
#
# The leaves are issued here by the PKI's intermediate (one key, serials
# 0x200000 + i, none of them on its CRL), each with the distribution point
# http://127.0.0.1:PORT/crl/<i>.crl; a Python HTTP server answers every
# such path with the intermediate's CRL (DER) and logs each request.
# authd: crl_fetch on, no crl file, crl_scope leaf, the verdict cache off
# (every request reaches the CRL check), data_dir.
#
#  1  5,000 certificates, 4 keep-alive clients: every one 200; each URL
#     fetched once
#  2  the 5,000 again, same process: all 200, no new fetch (the URLs that
#     left memory read back from data_dir)
#  3  restart with the same data_dir: all 200, no new fetch
. "$(dirname "$0")/lib.bash"

N=5000
PORT=$(free_port); A="127.0.0.1:$PORT"
SPORT=$(free_port)
/usr/bin/python3 -c 'import cryptography' 2>/dev/null ||
    { echo "$TEST_NAME: python3-cryptography is not installed" >&2; exit 2; }
[ -f "$PKI/crl/int.crl.der" ] || { echo "$TEST_NAME: $PKI has no crl/int.crl.der" >&2; exit 2; }
mkdir -p "$WORK/d"

# ---------------------------------------------------------------- the server
cat > "$WORK/crlserver.py" <<'PY'
import http.server, sys
port, der, log = int(sys.argv[1]), open(sys.argv[2], "rb").read(), open(sys.argv[3], "a", buffering=1)
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        log.write("GET %s\n" % self.path)
        self.send_response(200)
        self.send_header("Content-Type", "application/pkix-crl")
        self.send_header("Content-Length", str(len(der)))
        self.end_headers()
        self.wfile.write(der)
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
PY
SLOG="$WORK/server.log"
: > "$SLOG"
bg crlserver "$WORK/crlserver.out" /usr/bin/python3 "$WORK/crlserver.py" "$SPORT" "$PKI/crl/int.crl.der" "$SLOG"
for i in $(seq 1 50); do port_busy "$SPORT" && break; sleep 0.1; done
port_busy "$SPORT" || { echo "$TEST_NAME: the CRL server did not start" >&2; cat "$WORK/crlserver.out" >&2; exit 2; }

# ---------------------------------------------------------------- the leaves
/usr/bin/python3 - "$PKI" "http://127.0.0.1:$SPORT/crl" "$N" "$WORK/list" <<'PY' || exit 2
import datetime, sys, urllib.parse
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
pki, base, n, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
issuer = x509.load_pem_x509_certificate(open(pki + "/intermediate.pem", "rb").read())
ikey = serialization.load_pem_private_key(open(pki + "/intermediate.key", "rb").read(), None)
key = ec.generate_private_key(ec.SECP256R1())
now = datetime.datetime.now(datetime.timezone.utc)
aki = x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.public_key())
with open(out, "w") as f:
    for i in range(n):
        dp = x509.DistributionPoint([x509.UniformResourceIdentifier("%s/%d.crl" % (base, i))], None, None, None)
        cert = (x509.CertificateBuilder()
                .subject_name(x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Many DPs"),
                                         x509.NameAttribute(NameOID.COMMON_NAME, "dp-%05d" % i)]))
                .issuer_name(issuer.subject).public_key(key.public_key()).serial_number(0x200000 + i)
                .not_valid_before(now - datetime.timedelta(hours=1))
                .not_valid_after(now + datetime.timedelta(days=30))
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True)
                .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
                .add_extension(aki, critical=False)
                .add_extension(x509.CRLDistributionPoints([dp]), critical=False)
                .sign(ikey, hashes.SHA256()))
        f.write("%d %s\n" % (i, urllib.parse.quote(cert.public_bytes(serialization.Encoding.PEM).decode(), safe="-_.~")))
PY

# ---------------------------------------------------------------- the client
cat > "$WORK/client.py" <<'PY'
import http.client, sys, threading
host, port, listfile = sys.argv[1], int(sys.argv[2]), sys.argv[3]
rows = [l.split(" ", 1) for l in open(listfile).read().splitlines()]
wrong, lock = [], threading.Lock()
def worker(part):
    c = http.client.HTTPConnection(host, port, timeout=30)
    for i, hdr in part:
        c.request("GET", "/auth", headers={"X-SSL-Client-Cert": hdr, "X-SSL-Client-Verify": "SUCCESS",
                  "X-Original-URI": "/", "X-Original-Method": "GET", "X-Original-Host": "many"})
        r = c.getresponse(); r.read()
        if r.status != 200:
            with lock: wrong.append("%s got %d %s" % (i, r.status, r.getheader("X-Authd-Reason", "-")))
    c.close()
ts = [threading.Thread(target=worker, args=(rows[k::4],)) for k in range(4)]
for t in ts: t.start()
for t in ts: t.join()
for w in wrong[:10]: print(w)
print("asked %d wrong %d" % (len(rows), len(wrong)))
PY
run() { timeout 600 /usr/bin/python3 "$WORK/client.py" 127.0.0.1 "$PORT" "$WORK/list" 2>&1 || true; }
fetches() { grep -c '^GET /crl/' "$SLOG" || true; }
distinct() { grep '^GET /crl/' "$SLOG" | sort -u | wc -l; }

ARGS=(--trust "$PKI/trust.pem" --intermediates "$PKI/intermediates.pem" --crl-fetch on
      --crl-scope leaf --cache-size 0 --data-dir "$WORK/d" --fetch-timeout 5s)
start_authd authd "$A" "${ARGS[@]}"

# ---------------------------------------------------------------- 1
out=$(run)
check_eq "1: $N certificates, $N distribution points: every one allowed" "$(tail -n 1 <<<"$out")" "asked $N wrong 0"
[ "$(tail -n 1 <<<"$out")" = "asked $N wrong 0" ] || printf '%s\n' "$out" | head -10 | sed 's/^/    /'
check_eq "1: each URL fetched once (fetches, distinct URLs)" "$(fetches) $(distinct)" "$N $N"

# ---------------------------------------------------------------- 2
out=$(run)
check_eq "2: the $N again, same process: every one allowed" "$(tail -n 1 <<<"$out")" "asked $N wrong 0"
check_eq "2: ... no new fetch (the URLs out of memory read back from data_dir)" "$(fetches)" "$N"

# ---------------------------------------------------------------- 3
stop_authd
start_authd authd-restarted "$A" "${ARGS[@]}"
out=$(run)
check_eq "3: after a restart: every one allowed" "$(tail -n 1 <<<"$out")" "asked $N wrong 0"
check_eq "3: ... no new fetch" "$(fetches)" "$N"
stop_authd
