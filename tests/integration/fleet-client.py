#!/usr/bin/python3
"""Ask authd about every leaf of a fleet-certs.py list, once, over 4
keep-alive connections (as nginx's upstream keep-alive would), and check
each answer: "good" must be 200 ok, "revoked" 401 revoked.

  fleet-client.py HOST PORT LIST

Prints up to 10 mismatches ("SERIAL expected E got CODE REASON"), then
"asked N wrong W".
"""
import http.client
import sys
import threading

host, port, listfile = sys.argv[1], int(sys.argv[2]), sys.argv[3]
rows = [l.split(" ", 2) for l in open(listfile).read().splitlines()]
wrong, lock = [], threading.Lock()


def worker(part):
    c = http.client.HTTPConnection(host, port, timeout=30)
    for serial, expect, hdr in part:
        c.request("GET", "/auth", headers={"X-SSL-Client-Cert": hdr, "X-SSL-Client-Verify": "SUCCESS",
                                           "X-Original-URI": "/", "X-Original-Method": "GET",
                                           "X-Original-Host": "fleet"})
        r = c.getresponse()
        r.read()
        got = "%d %s" % (r.status, r.getheader("X-Authd-Reason", "-"))
        want = "200 ok" if expect == "good" else "401 revoked"
        if got != want:
            with lock:
                wrong.append("%s expected %s got %s" % (serial, want, got))
    c.close()


ts = [threading.Thread(target=worker, args=(rows[i::4],)) for i in range(4)]
for t in ts:
    t.start()
for t in ts:
    t.join()
for w in wrong[:10]:
    print(w)
print("asked %d wrong %d" % (len(rows), len(wrong)))
