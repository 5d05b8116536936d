#!/usr/bin/env bash
# A fleet larger than the OCSP table (issue 12): ocsp_cache_size 1000,
# 5,000 distinct client certificates, each with OCSP, none refused.
#
# The leaves are issued here by the PKI's intermediate (one key, 5,000
# serials; every tenth is revoked at the responder), their AIA naming the
# fault responder of ocsp-responder.c.  authd runs with the verdict cache
# off (cache_size 0), so that every request reaches the OCSP table.
#
#  1  5,000 certificates, 4 keep-alive clients: every good one 200, every
#     revoked one 401 revoked; the responder asked once per certificate;
#     the table at most 1,000 CertIDs (plus fetches in flight), evictions
#     counted in /metrics
#  2  the 5,000 again, same process: the same answers and no query (the
#     evicted answers are read back from data_dir)
#  3  restart with the same data_dir: the same answers and no query
. "$(dirname "$0")/lib.bash"

N=5000
PORT=$(free_port); A="127.0.0.1:$PORT"
command -v cc >/dev/null || { echo "$TEST_NAME: no C compiler (cc)" >&2; exit 2; }
/usr/bin/python3 -c 'import cryptography' 2>/dev/null ||
    { echo "$TEST_NAME: python3-cryptography is not installed" >&2; exit 2; }
mkdir -p "$WORK/d" "$WORK/certs"

if ! cc -O2 -Wall -o "$WORK/ocsp-responder" "$REPO/tests/integration/ocsp-responder.c" \
        -lcrypto -lssl -pthread 2>"$WORK/cc.log"; then
    echo "$TEST_NAME: cannot build ocsp-responder.c:" >&2; cat "$WORK/cc.log" >&2; exit 2
fi
FLOG="$WORK/fault.log"
bg fault "$FLOG" "$WORK/ocsp-responder" 0 "$PKI/intermediate.pem" "$PKI/intermediate.key" \
    "$PKI/ocsp-signer.pem" "$PKI/ocsp-signer.key" "$PKI/ocsp-bad-signer.pem" "$PKI/ocsp-bad-signer.key" \
    "$PKI/ocsp-unrelated.pem" "$PKI/ocsp-unrelated.key"
for i in $(seq 1 50); do grep -q '^listening ' "$FLOG" 2>/dev/null && break; sleep 0.1; done
FPORT=$(awk '/^listening /{ print $2; exit }' "$FLOG")
[ -n "$FPORT" ] || { echo "$TEST_NAME: ocsp-responder did not start:" >&2; cat "$FLOG" >&2; exit 2; }

# ---------------------------------------------------------------- the fleet
# certs/list: one line per leaf, "SERIAL-HEX EXPECT HEADER-VALUE"
/usr/bin/python3 - "$PKI" "http://127.0.0.1:$FPORT" "$N" "$WORK/certs/list" <<'PY' || exit 2
import datetime, sys, urllib.parse
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID

pki, url, n, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
issuer = x509.load_pem_x509_certificate(open(pki + "/intermediate.pem", "rb").read())
ikey = serialization.load_pem_private_key(open(pki + "/intermediate.key", "rb").read(), None)
key = ec.generate_private_key(ec.SECP256R1())
now = datetime.datetime.now(datetime.timezone.utc)
aki = x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.public_key())
with open(out, "w") as f:
    for i in range(n):
        revoked = i % 10 == 9
        serial = 0x100000 + i
        mode = "revoked" if revoked else "good"
        cert = (x509.CertificateBuilder()
                .subject_name(x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Fleet"),
                                         x509.NameAttribute(NameOID.COMMON_NAME, "device-%05d" % i)]))
                .issuer_name(issuer.subject).public_key(key.public_key()).serial_number(serial)
                .not_valid_before(now - datetime.timedelta(hours=1))
                .not_valid_after(now + datetime.timedelta(days=30))
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True)
                .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
                .add_extension(aki, critical=False)
                .add_extension(x509.AuthorityInformationAccess([x509.AccessDescription(
                    AuthorityInformationAccessOID.OCSP,
                    x509.UniformResourceIdentifier(url + "/" + mode))]), critical=False)
                .sign(ikey, hashes.SHA256()))
        pem = cert.public_bytes(serialization.Encoding.PEM).decode()
        f.write("%X %s %s\n" % (serial, "revoked" if revoked else "good",
                                urllib.parse.quote(pem, safe="-_.~")))
PY

# ---------------------------------------------------------------- the client
# run PASS: every leaf once, 4 keep-alive connections; prints mismatches
# ("SERIAL expected E got CODE REASON") and a last line "asked N wrong W"
cat > "$WORK/client.py" <<'PY'
import http.client, sys, threading
host, port, listfile = sys.argv[1], int(sys.argv[2]), sys.argv[3]
rows = [l.split(" ", 2) for l in open(listfile).read().splitlines()]
wrong, lock = [], threading.Lock()
def worker(part):
    c = http.client.HTTPConnection(host, port, timeout=30)
    for serial, expect, hdr in part:
        c.request("GET", "/auth", headers={"X-SSL-Client-Cert": hdr, "X-SSL-Client-Verify": "SUCCESS",
                  "X-Original-URI": "/", "X-Original-Method": "GET", "X-Original-Host": "fleet"})
        r = c.getresponse(); r.read()
        got = "%d %s" % (r.status, r.getheader("X-Authd-Reason", "-"))
        want = "200 ok" if expect == "good" else "401 revoked"
        if got != want:
            with lock: wrong.append("%s expected %s got %s" % (serial, want, got))
    c.close()
ts = [threading.Thread(target=worker, args=(rows[i::4],)) for i in range(4)]
for t in ts: t.start()
for t in ts: t.join()
for w in wrong[:10]: print(w)
print("asked %d wrong %d" % (len(rows), len(wrong)))
PY
run() { timeout 300 /usr/bin/python3 "$WORK/client.py" 127.0.0.1 "$PORT" "$WORK/certs/list" 2>&1 || true; }
queries() { grep -c '^ocsp ' "$FLOG" || true; }
distinct() { sed -n 's/^ocsp .* serial=\([0-9A-F]*\) .*/\1/p' "$FLOG" | sort -u | wc -l; }
metric() { authd_curl -s --max-time 5 /metrics | awk -v m="$1" '$1 == m { print $2 }'; }

ARGS=(--trust "$PKI/trust.pem" --intermediates "$PKI/intermediates.pem" --ocsp leaf
      --ocsp-cache-size 1000 --cache-size 0 --data-dir "$WORK/d" --ocsp-failure deny)
start_authd authd "$A" "${ARGS[@]}"

# ---------------------------------------------------------------- 1
out=$(run)
check_eq "1: $N certificates, table of 1000: every answer right" "$(tail -n 1 <<<"$out")" "asked $N wrong 0"
[ "$(tail -n 1 <<<"$out")" = "asked $N wrong 0" ] || printf '%s\n' "$out" | head -10 | sed 's/^/    /'
check_eq "1: the responder asked once per certificate (queries, distinct serials)" \
    "$(queries) $(distinct)" "$N $N"
entries=$(metric authd_ocsp_cache_entries); evicted=$(metric authd_ocsp_cache_evictions_total)
if [ -n "$entries" ] && [ "$entries" -le 1010 ]; then pass "1: the table holds $entries CertIDs (<= 1000 + fetches in flight)"
else fail "1: the table holds '${entries}' CertIDs, more than ocsp_cache_size 1000"; fi
if [ -n "$evicted" ] && [ "$evicted" -ge $((N - 1010)) ]; then pass "1: $evicted evictions counted"
else fail "1: evictions '${evicted}', expected at least $((N - 1010))"; fi

# ---------------------------------------------------------------- 2
out=$(run)
check_eq "2: the $N again, same process: every answer right" "$(tail -n 1 <<<"$out")" "asked $N wrong 0"
check_eq "2: ... no new query (evicted answers read back from data_dir)" "$(queries)" "$N"

# ---------------------------------------------------------------- 3
stop_authd
start_authd authd-restarted "$A" "${ARGS[@]}"
out=$(run)
check_eq "3: after a restart: every answer right" "$(tail -n 1 <<<"$out")" "asked $N wrong 0"
check_eq "3: ... no new query" "$(queries)" "$N"
stop_authd
