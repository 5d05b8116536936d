#!/usr/bin/env python3
"""http-proxy.py: a loopback HTTP/1.1 forward proxy for tests/integration
(fetch-proxy.sh).  Python 3 standard library only; test use only.

    http-proxy.py --log FILE [--map HOST[:PORT]=127.0.0.1:PORT]...
                  [--max-body BYTES] [--timeout SECONDS]

Listens on 127.0.0.1 on an ephemeral port and prints "listening PORT" as
the first line on stdout (flushed) once it accepts connections, like
ocsp-responder.c, so a test reads the port from the log it gave bg().

Each request must carry an absolute URI ("GET http://host:port/path
HTTP/1.1", what libcurl sends to an HTTP proxy).  The upstream is:

  - the --map target for "host:port" if there is one, else for "host"
    (host names compare case-insensitively): certificates can name hosts
    that do not resolve here (under .test or .invalid), so an answer proves
    the request went through this proxy;
  - else host:port itself when host is a loopback IP literal;
  - else nothing: 502.

One line per request goes to the --log file, written and flushed before
the answer is sent back (so once a client has its answer, its line is in
the file):

    METHOD ABSOLUTE-URL STATUS

STATUS is the upstream's status, or the proxy's own: 400 (not an
absolute http:// URI, bad request syntax), 413 (body over --max-body),
501 (CONNECT, chunked request bodies), 502 (unmapped non-loopback host,
upstream refused or sent garbage), 504 (upstream timed out).  A request
too broken to have a method and URL is logged as "- - 400".

Methods: anything with an optional Content-Length body (GET, POST, HEAD,
...); "Expect: 100-continue" is answered with 100 before the body is read.
Client connections are kept alive (HTTP/1.1 unless "Connection: close";
HTTP/1.0 only with "Connection: keep-alive"), several requests each.  Each
request opens its own upstream connection ("Connection: close"); the
upstream's body (Content-Length, chunked or until close) is read whole,
up to --max-body, and returned with a Content-Length.

Bounds: request and header lines 8 KiB, 100 header lines, bodies
--max-body (default 8 MiB) each way, --timeout (default 10 s) on every
socket read and write, idle client connections included.  One thread
per client connection.  SIGTERM exits 0.
"""

import argparse
import ipaddress
import signal
import socket
import socketserver
import sys
import threading
import urllib.parse

LINE_MAX = 8192
HEADERS_MAX = 100
HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "proxy-authorization",
              "proxy-authenticate", "te", "trailer", "transfer-encoding", "upgrade", "expect"}
REASONS = {100: "Continue", 400: "Bad Request", 413: "Payload Too Large",
           501: "Not Implemented", 502: "Bad Gateway", 504: "Gateway Timeout"}


class ProxyError(Exception):
    """An answer the proxy gives itself (status, and whether the client
    connection can be kept)."""

    def __init__(self, status, why, keep=True):
        super().__init__(why)
        self.status = status
        self.keep = keep


def read_line(f):
    line = f.readline(LINE_MAX + 1)
    if len(line) > LINE_MAX:
        raise ProxyError(400, "line too long", keep=False)
    return line


def read_headers(f):
    """[(name, value)] up to the empty line; raises ProxyError."""
    headers = []
    while True:
        line = read_line(f)
        if not line:
            raise ProxyError(400, "connection closed inside the headers", keep=False)
        if line in (b"\r\n", b"\n"):
            return headers
        if len(headers) >= HEADERS_MAX:
            raise ProxyError(400, "too many header lines", keep=False)
        name, sep, value = line.decode("latin-1").partition(":")
        if not sep or not name or name != name.strip():
            raise ProxyError(400, "bad header line", keep=False)
        headers.append((name, value.strip()))


def header(headers, name):
    """The last value of header name, or None."""
    v = None
    for n, val in headers:
        if n.lower() == name:
            v = val
    return v


def content_length(headers):
    """Content-Length as an int, None when absent; ProxyError when bad."""
    vals = {v for n, v in headers if n.lower() == "content-length"}
    if not vals:
        return None
    if len(vals) != 1:
        raise ProxyError(400, "conflicting Content-Length", keep=False)
    v = vals.pop()
    if not v.isdigit():
        raise ProxyError(400, "bad Content-Length", keep=False)
    return int(v)


def read_exact(f, n, what):
    data = f.read(n)
    if len(data) != n:
        raise ProxyError(502 if what == "upstream" else 400,
                         "%s closed inside the body" % what, keep=False)
    return data


def read_chunked(f, limit):
    body = bytearray()
    while True:
        line = read_line(f)
        try:
            size = int(line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise ProxyError(502, "bad chunk size from upstream", keep=False)
        if size == 0:
            read_headers(f)                     # trailers, dropped
            return bytes(body)
        if len(body) + size > limit:
            raise ProxyError(502, "upstream body over --max-body", keep=False)
        body += read_exact(f, size, "upstream")
        if read_line(f) not in (b"\r\n", b"\n"):
            raise ProxyError(502, "bad chunk end from upstream", keep=False)


class Handler(socketserver.StreamRequestHandler):
    timeout = None          # set from the options in main()
    opts = None
    log_lock = threading.Lock()
    log_file = None

    def log(self, method, url, status):
        with self.log_lock:
            self.log_file.write("%s %s %d\n" % (method, url, status))
            self.log_file.flush()

    def send(self, status, reason, headers, body, keep, length=None):
        """length: the Content-Length to announce when it is not len(body)
        (the upstream's, for HEAD)."""
        out = ["HTTP/1.1 %d %s\r\n" % (status, reason)]
        for n, v in headers:
            out.append("%s: %s\r\n" % (n, v))
        out.append("Content-Length: %d\r\n" % (len(body) if length is None else length))
        out.append("Connection: %s\r\n\r\n" % ("keep-alive" if keep else "close"))
        self.wfile.write("".join(out).encode("latin-1") + body)
        self.wfile.flush()

    def send_own(self, method, url, e, keep):
        self.log(method, url, e.status)
        body = ("%d %s: %s\n" % (e.status, REASONS.get(e.status, ""), e)).encode()
        self.send(e.status, REASONS.get(e.status, "Error"), [("Content-Type", "text/plain")],
                  body, keep and e.keep)

    def handle(self):
        try:
            while self.one_request():
                pass
        except (OSError, socket.timeout):
            pass                                # client gone or idle too long

    def upstream_of(self, host, port):
        mapped = self.opts.map.get("%s:%d" % (host.lower(), port)) or self.opts.map.get(host.lower())
        if mapped:
            return mapped
        try:
            if ipaddress.ip_address(host).is_loopback:
                return (host, port)
        except ValueError:
            pass
        raise ProxyError(502, "host %s is not mapped and not a loopback literal" % host)

    def one_request(self):
        """Serve one request; True to read another on this connection."""
        method, url = "-", "-"
        try:
            line = read_line(self.rfile)
            if not line:
                return False                    # closed between requests
            parts = line.decode("latin-1").rstrip("\r\n").split(" ")
            if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
                raise ProxyError(400, "bad request line", keep=False)
            method, url, version = parts
            headers = read_headers(self.rfile)
        except ProxyError as e:
            self.send_own(method, url, e, False)
            return False
        conn = (header(headers, "connection") or "").lower()
        keep = ("close" not in conn) if version == "HTTP/1.1" else ("keep-alive" in conn)
        try:
            if method == "CONNECT":
                raise ProxyError(501, "CONNECT is not supported", keep=False)
            if header(headers, "transfer-encoding") is not None:
                raise ProxyError(501, "chunked request bodies are not supported", keep=False)
            n = content_length(headers) or 0
            if n > self.opts.max_body:
                raise ProxyError(413, "request body over --max-body", keep=False)
            # the body is read before anything else can refuse the request:
            # a refusal must not leave it unread on a kept connection
            if n and (header(headers, "expect") or "").lower() == "100-continue":
                self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                self.wfile.flush()
            body = read_exact(self.rfile, n, "client") if n else b""
            u = urllib.parse.urlsplit(url)
            if u.scheme != "http" or not u.hostname or u.username is not None:
                raise ProxyError(400, "not an absolute http:// URI")
            try:
                port = u.port or 80
            except ValueError:
                raise ProxyError(400, "bad port")
            target = self.upstream_of(u.hostname, port)
            status, reason, rheaders, rbody, length = self.forward(method, u, headers, body, target)
        except ProxyError as e:
            self.send_own(method, url, e, keep)
            return keep and e.keep
        self.log(method, url, status)
        self.send(status, reason, rheaders, rbody, keep, length)
        return keep

    def forward(self, method, u, headers, body, target):
        path = u.path or "/"
        if u.query:
            path += "?" + u.query
        out = ["%s %s HTTP/1.1\r\n" % (method, path)]
        if header(headers, "host") is None:
            out.append("Host: %s\r\n" % u.netloc)
        for n, v in headers:
            if n.lower() not in HOP_BY_HOP and n.lower() != "content-length":
                out.append("%s: %s\r\n" % (n, v))
        if body or method in ("POST", "PUT", "PATCH"):
            out.append("Content-Length: %d\r\n" % len(body))
        out.append("Connection: close\r\n\r\n")
        try:
            s = socket.create_connection(target, timeout=self.opts.timeout)
        except socket.timeout:
            raise ProxyError(504, "upstream %s:%d: connect timed out" % target)
        except OSError as e:
            raise ProxyError(502, "upstream %s:%d: %s" % (target[0], target[1], e.strerror or e))
        try:
            s.sendall("".join(out).encode("latin-1") + body)
            f = s.makefile("rb")
            for _ in range(10):                 # 1xx answers, then the final one
                line = read_line(f)
                parts = line.decode("latin-1").rstrip("\r\n").split(" ", 2)
                if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
                    raise ProxyError(502, "upstream sent no HTTP status line", keep=True)
                status = int(parts[1])
                reason = parts[2] if len(parts) > 2 else ""
                rheaders = read_headers(f)
                if not 100 <= status < 200:
                    break
            else:
                raise ProxyError(502, "upstream sent only 1xx answers")
            length = None
            if method == "HEAD" or status in (204, 304):
                rbody = b""
                if method == "HEAD" and status not in (204, 304):
                    length = content_length(rheaders)
            elif (header(rheaders, "transfer-encoding") or "").lower().endswith("chunked"):
                rbody = read_chunked(f, self.opts.max_body)
            else:
                n = content_length(rheaders)
                if n is not None:
                    if n > self.opts.max_body:
                        raise ProxyError(502, "upstream body over --max-body")
                    rbody = read_exact(f, n, "upstream")
                else:
                    rbody = f.read(self.opts.max_body + 1)
                    if len(rbody) > self.opts.max_body:
                        raise ProxyError(502, "upstream body over --max-body")
        except socket.timeout:
            raise ProxyError(504, "upstream %s:%d: timed out" % target)
        except ProxyError as e:
            e.status = 502 if e.status == 400 else e.status     # the upstream's fault
            e.keep = True
            raise
        except OSError as e:
            raise ProxyError(502, "upstream %s:%d: %s" % (target[0], target[1], e.strerror or e))
        finally:
            s.close()
        rheaders = [(n, v) for n, v in rheaders
                    if n.lower() not in HOP_BY_HOP and n.lower() != "content-length"]
        return status, reason, rheaders, rbody, length


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64


def parse_map(s):
    name, sep, target = s.partition("=")
    host, sep2, port = target.rpartition(":")
    if not sep or not name or not sep2 or not port.isdigit():
        raise argparse.ArgumentTypeError("expected HOST[:PORT]=IP:PORT, got %r" % s)
    try:
        if not ipaddress.ip_address(host.strip("[]")).is_loopback:
            raise ValueError
    except ValueError:
        raise argparse.ArgumentTypeError("%r: the target must be a loopback IP literal" % s)
    return name.lower(), (host.strip("[]"), int(port))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--log", required=True, help="one line per request: METHOD URL STATUS")
    ap.add_argument("--map", action="append", type=parse_map, default=[],
                    help="HOST[:PORT]=127.0.0.1:PORT (repeatable)")
    ap.add_argument("--max-body", type=int, default=8 * 1024 * 1024)
    ap.add_argument("--timeout", type=float, default=10.0)
    opts = ap.parse_args()
    opts.map = dict(opts.map)
    Handler.opts = opts
    Handler.timeout = opts.timeout
    Handler.log_file = open(opts.log, "a", encoding="latin-1")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    srv = Server(("127.0.0.1", 0), Handler)
    print("listening %d" % srv.server_address[1], flush=True)
    try:
        srv.serve_forever()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        srv.server_close()


if __name__ == "__main__":
    main()
