#!/usr/bin/env bash
# Idle connections (issue 10 #6): 5,000 connections held open to authd
# without a request (more than the 4,096 it once allowed, with a 120 s
# timeout) must not keep a new nginx connection from being served; authd
# closes connections that never send a request after 10 s, and keeps a
# keep-alive connection that has sent one open past that (nginx's upstream
# keepalive must not be broken).
. "$(dirname "$0")/lib.bash"

AUTHD_PORT=$(free_port)
TLS_PORT=$(free_port)
BACKEND_PORT=$(free_port)
U="https://localhost:$TLS_PORT"

start_authd authd "127.0.0.1:$AUTHD_PORT" --trust "$PKI/trust.pem" --intermediates "$PKI/intermediates.pem"
nginx_setup "$WORK/nginx" "127.0.0.1:$AUTHD_PORT"
SERVER=$(example_server mtls-optional.conf "$TLS_PORT" "$BACKEND_PORT")
nginx_conf root "$SERVER"
start_nginx "$TLS_PORT" "$BACKEND_PORT"

ESC=$(escape_pem "$PKI/client.pem")
OUT="$WORK/flood.out"
python3 - "$AUTHD_PORT" "$ESC" "$U/api/items" "$PKI" > "$OUT" 2>"$WORK/flood.err" <<'PY'
import resource, socket, subprocess, sys, time
port, esc, url, pki = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 20000), hard))
N = 5000
req = ("GET /auth HTTP/1.1\r\nHost: authd\r\nX-SSL-Client-Cert: %s\r\n"
       "X-SSL-Client-Verify: SUCCESS\r\nX-Original-URI: /x\r\n\r\n" % esc).encode()

def answer(s):
    data = b""
    while b"\r\n\r\n" not in data:
        b = s.recv(65536)
        if not b:
            return "closed"
        data += b
    return data.split(b" ", 2)[1].decode()

# a keep-alive client that asks once, then stays idle (like nginx)
ka = socket.create_connection(("127.0.0.1", port), timeout=10)
ka.sendall(req)
print("keepalive-first", answer(ka))
flood = []
for i in range(N):
    flood.append(socket.create_connection(("127.0.0.1", port), timeout=10))
print("flood", len(flood))
time.sleep(0.5)
t0 = time.monotonic()
r = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                    "--max-time", "8", "--cacert", pki + "/root.pem",
                    "--cert", pki + "/client-chain.pem", "--key",
                    pki + "/client.key", url], capture_output=True, text=True)
print("nginx-status", r.stdout)
print("nginx-fast", "yes" if time.monotonic() - t0 < 3 else
      "no(%.1fs)" % (time.monotonic() - t0))
# past the 10 s given to a connection that has sent nothing
time.sleep(12)
closed = 0
for s in flood:
    s.settimeout(0.01)
    try:
        if s.recv(1) == b"":
            closed += 1
    except (socket.timeout, BlockingIOError):
        pass
    except OSError:
        closed += 1
print("flood-closed", "all" if closed == N else "%d of %d" % (closed, N))
ka.sendall(req)
print("keepalive-after-12s", answer(ka))
PY
field() { sed -n "s/^$1 //p" "$OUT"; }
check_eq "keep-alive client, first request" "$(field keepalive-first)" 200
check_eq "5000 idle connections opened" "$(field flood)" 5000
check_eq "through nginx during the flood: status" "$(field nginx-status)" 200
check_eq "through nginx during the flood: answered within 3 s" "$(field nginx-fast)" yes
check_eq "idle connections without a request closed after 10 s" "$(field flood-closed)" all
check_eq "keep-alive connection still served after 12 s idle" "$(field keepalive-after-12s)" 200
[ -s "$WORK/flood.err" ] && sed 's/^/    /' "$WORK/flood.err"
req --cacert "$PKI/root.pem" --cert "$PKI/client-chain.pem" --key "$PKI/client.key" "$U/api/items"
check_eq "through nginx after the flood" "$CODE" 200
