#!/usr/bin/env bash
# More distribution-point URLs than authd keeps in memory (issue 12): 300
# certificates, each naming its own CRL distribution point, against
# crl_fetch_cache_size 50.  Before, a table of 1024 URLs never evicted and
# the next URL was never fetched ("cannot fetch", then crl_missing denied:
# 3,976 of 5,000 such certificates refused on 7906a98); now the least
# recently used URL that nobody waits on leaves memory and its CRL is read
# back from data_dir.
#
# The leaves are issued here by the PKI's intermediate (one key, serials
# 0x200000 + i, none of them on its CRL), each with the distribution point
# http://127.0.0.1:PORT/crl/<i>.crl; a Python HTTP server answers every
# such path with the intermediate's CRL (DER) and logs each request.
# authd: crl_fetch on, no crl file, crl_scope leaf, the verdict cache off
# (every request reaches the CRL check), data_dir.
#
#  1  300 certificates, 4 keep-alive clients: every one 200; each URL
#     fetched once; at most 50 in memory (the CRLs /metrics lists)
#  2  the 300 again, same process: all 200, no new fetch (the URLs that
#     left memory read back from data_dir)
#  3  restart with the same data_dir: all 200, no new fetch
. "$(dirname "$0")/lib.bash"

N=300
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
/usr/bin/python3 "$REPO/tests/integration/fleet-certs.py" "$PKI" "$N" "$WORK/list" \
    --serial-base 200000 --crl-dp "http://127.0.0.1:$SPORT/crl" || exit 2

# ---------------------------------------------------------------- the client
run() { timeout 600 /usr/bin/python3 "$REPO/tests/integration/fleet-client.py" 127.0.0.1 "$PORT" "$WORK/list" 2>&1 || true; }
fetches() { grep -c '^GET /crl/' "$SLOG" || true; }
distinct() { grep '^GET /crl/' "$SLOG" | sort -u | wc -l; }

ARGS=(--trust "$PKI/trust.pem" --intermediates "$PKI/intermediates.pem" --crl-fetch on
      --crl-scope leaf --cache-size 0 --data-dir "$WORK/d" --fetch-timeout 5s
      --crl-fetch-cache-size 50)
start_authd authd "$A" "${ARGS[@]}"

# ---------------------------------------------------------------- 1
out=$(run)
check_eq "1: $N certificates, $N distribution points: every one allowed" "$(tail -n 1 <<<"$out")" "asked $N wrong 0"
[ "$(tail -n 1 <<<"$out")" = "asked $N wrong 0" ] || printf '%s\n' "$out" | head -10 | sed 's/^/    /'
check_eq "1: each URL fetched once (fetches, distinct URLs)" "$(fetches) $(distinct)" "$N $N"
# /metrics lists the distribution-point CRLs in memory (up to 256 series)
held=$(authd_curl -s --max-time 5 /metrics | grep -c "^authd_crl_age_seconds{.*source=\"http://127.0.0.1:$SPORT/crl/" || true)
if [ "$held" -ge 1 ] && [ "$held" -le 50 ]; then pass "1: $held distribution points in memory (crl_fetch_cache_size 50)"
else fail "1: $held distribution points in memory, expected 1 to 50"; fi

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
