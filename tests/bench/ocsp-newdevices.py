#!/usr/bin/python3
"""The fault responder alone (ocsp-responder.c), for ocsp-newdevices.sh:
an OCSP request per leaf of a fleet-certs.py list, POSTed over 4
keep-alive connections, as fast as this client goes.

  ocsp-newdevices.py PKI HOST PORT LIST

Prints "responder asked N good G seconds S rate R".
"""
import http.client
import sys
import threading
import time
import urllib.parse

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

pki, host, port, listfile = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
issuer = x509.load_pem_x509_certificate(open(pki + "/intermediate.pem", "rb").read())
reqs = []
for line in open(listfile).read().splitlines():
    serial, expect, hdr = line.split(" ", 2)
    if expect != "good":
        continue
    cert = x509.load_pem_x509_certificate(urllib.parse.unquote(hdr).encode())
    reqs.append(ocsp.OCSPRequestBuilder().add_certificate(cert, issuer, hashes.SHA1())
                .build().public_bytes(serialization.Encoding.DER))
good, lock = [0], threading.Lock()


def worker(part):
    n = 0
    c = http.client.HTTPConnection(host, port, timeout=30)
    for der in part:
        c.request("POST", "/good", body=der, headers={"Content-Type": "application/ocsp-request"})
        r = c.getresponse()
        body = r.read()
        if r.status == 200 and ocsp.load_der_ocsp_response(body).certificate_status == \
                ocsp.OCSPCertStatus.GOOD:
            n += 1
        if r.getheader("Connection", "").lower() == "close":
            c.close()
            c = http.client.HTTPConnection(host, port, timeout=30)
    c.close()
    with lock:
        good[0] += n


ts = [threading.Thread(target=worker, args=(reqs[i::4],)) for i in range(4)]
t0 = time.monotonic()
for t in ts:
    t.start()
for t in ts:
    t.join()
s = time.monotonic() - t0
print("responder asked %d good %d seconds %.2f rate %.0f" % (len(reqs), good[0], s, len(reqs) / s))
