#!/usr/bin/env python3
"""lifecycle-load.py: SIGTERM under load, for tests/integration/lifecycle.sh.

  lifecycle-load.py HOST PORT PID FAST.hdr SLOW.hdr

FAST.hdr and SLOW.hdr hold one "X-SSL-Client-Cert: ..." line each: FAST a
certificate whose OCSP answer authd has cached, SLOW one whose OCSP query
takes the slow responder ~1.5 s (so its requests are suspended in authd).

Load threads open one connection per request and read the whole answer, until
a connection is refused.  Slow requests (keep-alive) go out, and while they
are suspended in authd the script sends SIGTERM to PID.  Every attempt ends
as exactly one of:

  ok STATUS     a complete HTTP answer (status line, headers, the body its
                Content-Length announces)
  refused       connect() refused: nothing was sent
  error WHY     anything else (reset, EOF or timeout after the connection
                was made): a request authd lost

Prints key=value lines for the shell test to check, and the first errors.
"""
import os
import signal
import socket
import sys
import threading
import time

HOST, PORT, PID = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
FAST = open(sys.argv[4], "rb").read().strip()
SLOW = open(sys.argv[5], "rb").read().strip()
LOAD_THREADS = 6
SLOW_REQUESTS = 4
DEADLINE = time.monotonic() + 45    # safety net: the test stays bounded


def request(hdr, keepalive):
    return (b"GET /load HTTP/1.1\r\nHost: authd\r\nX-Original-URI: /load\r\n"
            b"X-Original-Method: GET\r\n" + hdr + b"\r\n" +
            (b"" if keepalive else b"Connection: close\r\n") + b"\r\n")


def read_answer(s):
    """(status, headers dict) of one complete answer, or raise."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        b = s.recv(65536)
        if not b:
            raise EOFError("EOF after %d bytes of the answer" % len(buf))
        buf += b
    head, body = buf.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    if not lines[0].startswith("HTTP/1.1 "):
        raise ValueError("bad status line %r" % lines[0][:40])
    hdrs = {}
    for ln in lines[1:]:
        k, _, v = ln.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    need = int(hdrs.get("content-length", "0"))
    while len(body) < need:
        b = s.recv(65536)
        if not b:
            raise EOFError("EOF inside the body")
        body += b
    return int(lines[0][9:12]), hdrs


def attempt(hdr, keepalive=False):
    """One request on a new connection: (outcome, t_start, t_end, extra)."""
    t0 = time.monotonic()
    try:
        s = socket.create_connection((HOST, PORT), timeout=20)
    except ConnectionRefusedError:
        return ("refused", t0, time.monotonic(), None)
    except OSError as e:
        return ("error connect: %s" % e, t0, time.monotonic(), None)
    try:
        s.sendall(request(hdr, keepalive))
        status, hdrs = read_answer(s)
        extra = {"status": status, "connection": hdrs.get("connection", ""),
                 "reason": hdrs.get("x-authd-reason", "")}
        if keepalive:
            # Draining: authd said close, so it must close.
            s.settimeout(5)
            extra["closed_after"] = s.recv(1) == b""
        return ("ok %d" % status, t0, time.monotonic(), extra)
    except Exception as e:          # noqa: BLE001 - every failure counts
        return ("error %s: %s" % (type(e).__name__, e), t0, time.monotonic(),
                None)
    finally:
        s.close()


results = []
lock = threading.Lock()


def loader():
    while time.monotonic() < DEADLINE:
        r = attempt(FAST)
        with lock:
            results.append(("load",) + r)
        if r[0] == "refused" or r[0].startswith("error connect"):
            return


def slow():
    r = attempt(SLOW, keepalive=True)
    with lock:
        results.append(("slow",) + r)


# Warm: FAST must be answered (its OCSP answer is then cached).
w = attempt(FAST)
if w[0] != "ok 200":
    print("warmup=%s" % w[0])
    sys.exit(1)
threads = [threading.Thread(target=loader) for _ in range(LOAD_THREADS)]
for t in threads:
    t.start()
time.sleep(0.5)
slows = [threading.Thread(target=slow) for _ in range(SLOW_REQUESTS)]
for t in slows:
    t.start()
time.sleep(0.4)                     # they are now waiting for the responder
t_sig = time.monotonic()
os.kill(PID, signal.SIGTERM)
for t in threads + slows:
    t.join()

load = [r for r in results if r[0] == "load"]
sl = [r for r in results if r[0] == "slow"]
errors = [r for r in results if r[1].startswith("error")]
ok_load = [r for r in load if r[1].startswith("ok")]
print("load_ok=%d" % len(ok_load))
print("load_ok_status=%s" % ",".join(sorted({r[1] for r in ok_load})))
print("load_refused=%d" % sum(1 for r in load if r[1] == "refused"))
# started before SIGTERM, answered after it: what the drain is for
print("load_across=%d" % sum(1 for r in ok_load if r[2] < t_sig < r[3]))
print("load_ok_after=%d" % sum(1 for r in ok_load if r[2] > t_sig))
print("errors=%d" % len(errors))
print("slow_answers=%s" % ",".join(
    "%s/%s" % (r[1], r[4]["reason"]) if r[4] else r[1] for r in sl))
print("slow_after_sigterm=%d" % sum(1 for r in sl if r[3] > t_sig))
print("slow_connection_close=%d" % sum(
    1 for r in sl if r[4] and r[4]["connection"].lower() == "close"
    and r[4]["closed_after"]))
for r in errors[:5]:
    print("error_detail=%s (%s, started %+.3fs from SIGTERM)" %
          (r[1], r[0], r[2] - t_sig))
