/*
 * ocsp-responder.c: a fault-injecting OCSP responder for tests/integration/
 * ocsp.sh (loopback only, test use only).
 *
 *   ocsp-responder PORT ISSUER.pem ISSUER.key DELEGATE.pem DELEGATE.key \
 *       BADDELEGATE.pem BADDELEGATE.key UNRELATED.pem UNRELATED.key
 *
 * PORT 0 picks a free port.  Prints "listening PORT" once ready, then one
 * line per OCSP request:
 *
 *   ocsp MODE METHOD serial=HEX hash=sha1|sha256 nonce=0|1 n=COUNT
 *
 * and "count N" on SIGTERM (then exits 0).  GET /count answers the number
 * of OCSP requests so far.
 *
 * The mode is the first segment of the request path: an AIA URL
 * http://127.0.0.1:PORT/MODE gives GET /MODE/<url-encoded base64 request>
 * (RFC 6960 A.1) or POST /MODE with the DER request.  Responses are built
 * with OpenSSL's OCSP API for the CertIDs of the request (whatever hash it
 * used), echoing its nonce unless the mode says otherwise:
 *
 *   good             good, signed by the issuer (its certificate included)
 *   good-nocerts     good, signed by the issuer, no certificates included
 *   revoked          revoked (keyCompromise, a day ago), by the issuer
 *   unknown          unknown, by the issuer
 *   delegate         good, signed by DELEGATE (OCSPSigning, issued by the issuer)
 *   delegate-revoked revoked, signed by DELEGATE
 *   baddelegate      good, signed by BADDELEGATE (issued by the issuer, no OCSPSigning)
 *   unrelated        good, signed by UNRELATED (a self-signed certificate with
 *                    the issuer's name and another key), its certificate included
 *   forged           as unrelated, no certificates (the responder ID names the issuer)
 *   badsig           good, by the issuer, one bit of the signature flipped
 *   wrongid          good, but for the serial with its last bit flipped
 *   expired          good, thisUpdate now-2d, nextUpdate now-1d
 *   future           good, thisUpdate now+1h, nextUpdate now+2h
 *   future-skew      good, thisUpdate now+60s (inside a 300 s skew), nextUpdate now+1h
 *   old              good, thisUpdate now-3d, nextUpdate now+1d
 *   nearexp          good, thisUpdate now-1h, nextUpdate now+5m (inside the
 *                    refresh-ahead window from the start)
 *   revoked-stale    revoked, thisUpdate now-1h, nextUpdate now-295s (inside a
 *                    300 s skew when fetched, past it 5 s later)
 *   flaky            HTTP 500 to the first request for a serial, good afterwards
 *   nonext           good, no nextUpdate
 *   nonce-bad        good, with a nonce other than the request's (16 random bytes)
 *   nonce-none       good, never a nonce
 *   big              good, with a 100 kB non-critical extension (body > 64 kB)
 *   trylater         responseStatus tryLater (no body)
 *   unauthorized     responseStatus unauthorized
 *   malformed        HTTP 200, application/ocsp-response, a body that is not DER
 *   http500          HTTP 500
 *   slowN            as good, after N milliseconds (e.g. slow4000)
 *   hang             reads the request, never answers (holds the connection)
 *
 * Responses are valid from thisUpdate now-60 s to nextUpdate now+1 h unless
 * said otherwise.  One thread per connection; HTTP/1.x, Connection: close,
 * except with OCSP_RESPONDER_KEEPALIVE=1 in the environment (the benchmarks,
 * as a production responder would): then a connection whose OCSP request
 * was answered 200 stays open for the next request.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#define REQ_MAX		(256 * 1024)

static X509	*issuer, *delegate, *baddelegate, *unrelated;
static EVP_PKEY	*issuer_key, *delegate_key, *baddelegate_key, *unrelated_key;
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;
static int	 keepalive;		/* OCSP_RESPONDER_KEEPALIVE=1 */
static __thread int keep_this;		/* this answer keeps the connection */
static unsigned long n_requests;

static void
say(const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&out_lock);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fflush(stdout);
	pthread_mutex_unlock(&out_lock);
}

static void
die(const char *what)
{
	fprintf(stderr, "ocsp-responder: %s\n", what);
	ERR_print_errors_fp(stderr);
	exit(2);
}

static X509 *
load_cert(const char *path)
{
	FILE *f = fopen(path, "r");
	X509 *x;

	if (f == NULL)
		die(path);
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (x == NULL)
		die(path);
	return x;
}

static EVP_PKEY *
load_key(const char *path)
{
	FILE *f = fopen(path, "r");
	EVP_PKEY *k;

	if (f == NULL)
		die(path);
	k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (k == NULL)
		die(path);
	return k;
}

static int
write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void
http_answer(int fd, int status, const char *ctype, const void *body, size_t len)
{
	char head[256];
	int n;

	n = snprintf(head, sizeof(head), "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
	    "Content-Length: %zu\r\nConnection: %s\r\n\r\n", status,
	    status == 200 ? "OK" : status == 404 ? "Not Found" :
	    status == 400 ? "Bad Request" : "Internal Server Error", ctype, len,
	    keep_this ? "keep-alive" : "close");
	if (write_all(fd, head, (size_t)n) == 0 && len > 0)
		write_all(fd, body, len);
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decode s in place. */
static void
url_decode(char *s)
{
	char *o = s;

	for (; *s != '\0'; s++) {
		if (*s == '%' && hexval(s[1]) >= 0 && hexval(s[2]) >= 0) {
			*o++ = (char)(hexval(s[1]) * 16 + hexval(s[2]));
			s += 2;
		} else
			*o++ = *s;
	}
	*o = '\0';
}

/* base64 (with or without padding) to DER; returns length or -1. */
static int
b64_decode(const char *in, unsigned char **out)
{
	EVP_ENCODE_CTX *ctx = EVP_ENCODE_CTX_new();
	size_t len = strlen(in);
	int n = 0, m = 0;

	*out = malloc(len + 4);
	if (ctx == NULL || *out == NULL)
		return -1;
	EVP_DecodeInit(ctx);
	if (EVP_DecodeUpdate(ctx, *out, &n, (const unsigned char *)in, (int)len) < 0 ||
	    EVP_DecodeFinal(ctx, *out + n, &m) < 0) {
		EVP_ENCODE_CTX_free(ctx);
		return -1;
	}
	EVP_ENCODE_CTX_free(ctx);
	return n + m;
}

static const char *
hash_name(ASN1_OBJECT *md)
{
	int nid = OBJ_obj2nid(md);

	return nid == NID_sha1 ? "sha1" : nid == NID_sha256 ? "sha256" :
	    nid == NID_undef ? "?" : OBJ_nid2sn(nid);
}

static int
mode_is(const char *mode, const char *name)
{
	return strcmp(mode, name) == 0;
}

static const char *known_modes[] = {
	"good", "good-nocerts", "revoked", "unknown", "delegate",
	"delegate-revoked", "baddelegate", "unrelated", "forged", "badsig",
	"wrongid", "expired", "future", "future-skew", "old", "nonext", "nearexp",
	"nonce-bad", "nonce-none", "big", "trylater", "unauthorized",
	"malformed", "http500", "hang", "revoked-stale", "flaky", NULL
};

static int
mode_known(const char *mode)
{
	int i;

	if (strncmp(mode, "slow", 4) == 0 && mode[4] >= '0' && mode[4] <= '9')
		return 1;
	for (i = 0; known_modes[i] != NULL; i++)
		if (strcmp(known_modes[i], mode) == 0)
			return 1;
	return 0;
}

/* The DER OCSPResponse for req in mode; NULL on error. */
static unsigned char *
build_response(const char *mode, OCSP_REQUEST *req, int *outlen)
{
	OCSP_BASICRESP *bs = NULL;
	OCSP_RESPONSE *resp = NULL;
	ASN1_TIME *thisupd = NULL, *nextupd = NULL, *revtime = NULL;
	X509 *signer = issuer;
	EVP_PKEY *key = issuer_key;
	unsigned long flags = 0;
	long this_off = -60, next_off = 3600;
	int status = V_OCSP_CERTSTATUS_GOOD, has_next = 1, i, n;
	unsigned char *der = NULL;

	*outlen = 0;
	if (mode_is(mode, "trylater") || mode_is(mode, "unauthorized")) {
		resp = OCSP_response_create(mode_is(mode, "trylater") ?
		    OCSP_RESPONSE_STATUS_TRYLATER :
		    OCSP_RESPONSE_STATUS_UNAUTHORIZED, NULL);
		goto encode;
	}
	if (mode_is(mode, "revoked") || mode_is(mode, "delegate-revoked") ||
	    mode_is(mode, "revoked-stale"))
		status = V_OCSP_CERTSTATUS_REVOKED;
	else if (mode_is(mode, "unknown"))
		status = V_OCSP_CERTSTATUS_UNKNOWN;
	if (strncmp(mode, "delegate", 8) == 0) {
		signer = delegate;
		key = delegate_key;
	} else if (mode_is(mode, "baddelegate")) {
		signer = baddelegate;
		key = baddelegate_key;
	} else if (mode_is(mode, "unrelated") || mode_is(mode, "forged")) {
		signer = unrelated;
		key = unrelated_key;
	}
	if (mode_is(mode, "good-nocerts") || mode_is(mode, "forged"))
		flags |= OCSP_NOCERTS;
	if (mode_is(mode, "expired")) {
		this_off = -2 * 86400;
		next_off = -86400;
	} else if (mode_is(mode, "future")) {
		this_off = 3600;
		next_off = 7200;
	} else if (mode_is(mode, "future-skew")) {
		this_off = 60;
		next_off = 3600;
	} else if (mode_is(mode, "revoked-stale")) {
		this_off = -3600;
		next_off = -295;
	} else if (mode_is(mode, "nearexp")) {
		this_off = -3600;
		next_off = 300;
	} else if (mode_is(mode, "old")) {
		this_off = -3 * 86400;
		next_off = 86400;
	} else if (mode_is(mode, "nonext"))
		has_next = 0;

	if ((bs = OCSP_BASICRESP_new()) == NULL ||
	    (thisupd = X509_gmtime_adj(NULL, this_off)) == NULL ||
	    (has_next && (nextupd = X509_gmtime_adj(NULL, next_off)) == NULL) ||
	    (revtime = X509_gmtime_adj(NULL, -86400)) == NULL)
		goto err;
	n = OCSP_request_onereq_count(req);
	for (i = 0; i < n; i++) {
		OCSP_CERTID *cid = OCSP_CERTID_dup(
		    OCSP_onereq_get0_id(OCSP_request_onereq_get0(req, i)));
		ASN1_INTEGER *serial = NULL;

		if (cid == NULL)
			goto err;
		if (mode_is(mode, "wrongid")) {
			OCSP_id_get0_info(NULL, NULL, NULL, &serial, cid);
			if (serial != NULL && serial->length > 0)
				serial->data[serial->length - 1] ^= 1;
		}
		if (OCSP_basic_add1_status(bs, cid, status,
		    OCSP_REVOKED_STATUS_KEYCOMPROMISE, revtime, thisupd,
		    nextupd) == NULL) {
			OCSP_CERTID_free(cid);
			goto err;
		}
		OCSP_CERTID_free(cid);
	}
	if (mode_is(mode, "nonce-bad")) {
		if (!OCSP_basic_add1_nonce(bs, NULL, 16))
			goto err;
	} else if (!mode_is(mode, "nonce-none")) {
		if (OCSP_copy_nonce(bs, req) <= 0)
			goto err;
	}
	if (mode_is(mode, "big")) {
		/* a private, non-critical extension of 100 kB */
		ASN1_OBJECT *obj = OBJ_txt2obj("1.3.6.1.4.1.55555.2", 1);
		ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
		X509_EXTENSION *ext = NULL;
		unsigned char *pad = calloc(1, 100 * 1024);

		if (obj == NULL || os == NULL || pad == NULL ||
		    !ASN1_OCTET_STRING_set(os, pad, 100 * 1024) ||
		    (ext = X509_EXTENSION_create_by_OBJ(NULL, obj, 0, os)) == NULL ||
		    !OCSP_BASICRESP_add_ext(bs, ext, -1)) {
			free(pad);
			goto err;
		}
		free(pad);
		X509_EXTENSION_free(ext);
		ASN1_OCTET_STRING_free(os);
		ASN1_OBJECT_free(obj);
	}
	if (!OCSP_basic_sign(bs, signer, key, EVP_sha256(), NULL, flags))
		goto err;
	if (mode_is(mode, "badsig")) {
		ASN1_BIT_STRING *sig = (ASN1_BIT_STRING *)OCSP_resp_get0_signature(bs);

		if (sig == NULL || sig->length < 1)
			goto err;
		sig->data[sig->length - 1] ^= 0x01;
	}
	resp = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, bs);

encode:
	if (resp == NULL || (*outlen = i2d_OCSP_RESPONSE(resp, &der)) <= 0) {
		der = NULL;
		goto err;
	}
	goto out;
err:
	ERR_print_errors_fp(stderr);
	der = NULL;
out:
	OCSP_RESPONSE_free(resp);
	OCSP_BASICRESP_free(bs);
	ASN1_TIME_free(thisupd);
	ASN1_TIME_free(nextupd);
	ASN1_TIME_free(revtime);
	return der;
}

/* "serial=HEX hash=NAME nonce=0|1" of the request's first CertID. */
static void
describe(OCSP_REQUEST *req, char *buf, size_t len)
{
	OCSP_ONEREQ *one = OCSP_request_onereq_get0(req, 0);
	ASN1_OBJECT *md = NULL;
	ASN1_INTEGER *serial = NULL;
	BIGNUM *bn = NULL;
	char *hex = NULL;
	int nonce = OCSP_REQUEST_get_ext_by_NID(req, NID_id_pkix_OCSP_Nonce, -1) >= 0;

	if (one != NULL)
		OCSP_id_get0_info(NULL, &md, NULL, &serial, OCSP_onereq_get0_id(one));
	if (serial != NULL && (bn = ASN1_INTEGER_to_BN(serial, NULL)) != NULL)
		hex = BN_bn2hex(bn);
	snprintf(buf, len, "serial=%s hash=%s nonce=%d ids=%d", hex ? hex : "?",
	    md ? hash_name(md) : "?", nonce, OCSP_request_onereq_count(req));
	OPENSSL_free(hex);
	BN_free(bn);
}

/* One request on fd; returns 1 when the connection stays open. */
static int
serve_one(int fd)
{
	char *buf = malloc(REQ_MAX + 1), *hdr_end, *line_end, *p, *path, *mode;
	char method[16], target[8192], desc[256];
	size_t got = 0, clen = 0, need;
	unsigned char *der = NULL, *resp = NULL;
	const unsigned char *dp;
	OCSP_REQUEST *req = NULL;
	unsigned long count;
	int derlen = -1, resplen = 0;

	if (buf == NULL)
		goto done;
	/* the head */
	for (;;) {
		ssize_t n = recv(fd, buf + got, REQ_MAX - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			goto done;
		got += (size_t)n;
		buf[got] = '\0';
		if ((hdr_end = strstr(buf, "\r\n\r\n")) != NULL)
			break;
		if (got == REQ_MAX)
			goto done;
	}
	if (sscanf(buf, "%15s %8191s", method, target) != 2)
		goto done;
	line_end = strstr(buf, "\r\n");
	for (p = line_end + 2; p < hdr_end; p = strstr(p, "\r\n") + 2)
		if (strncasecmp(p, "Content-Length:", 15) == 0)
			clen = strtoul(p + 15, NULL, 10);
	need = (size_t)(hdr_end + 4 - buf) + clen;
	if (need > REQ_MAX)
		goto done;
	while (got < need) {
		ssize_t n = recv(fd, buf + got, need - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			goto done;
		got += (size_t)n;
	}

	if (strcmp(target, "/count") == 0) {
		char out[64];
		pthread_mutex_lock(&out_lock);
		count = n_requests;
		pthread_mutex_unlock(&out_lock);
		snprintf(out, sizeof(out), "%lu\n", count);
		http_answer(fd, 200, "text/plain", out, strlen(out));
		goto done;
	}
	/* /MODE[/<request>] */
	path = target;
	while (*path == '/')
		path++;
	mode = path;
	if ((p = strchr(path, '/')) != NULL) {
		*p++ = '\0';
		while (*p == '/')
			p++;
	} else
		p = path + strlen(path);
	if (!mode_known(mode)) {
		say("error unknown mode '%s' (%s %s)\n", mode, method, target);
		http_answer(fd, 404, "text/plain", "unknown mode\n", 13);
		goto done;
	}
	if (strcmp(method, "GET") == 0) {
		url_decode(p);
		derlen = b64_decode(p, &der);
	} else if (strcmp(method, "POST") == 0) {
		derlen = (int)clen;
		der = malloc(clen + 1);
		if (der != NULL)
			memcpy(der, hdr_end + 4, clen);
	}
	dp = der;
	if (derlen <= 0 || der == NULL ||
	    (req = d2i_OCSP_REQUEST(NULL, &dp, derlen)) == NULL ||
	    OCSP_request_onereq_count(req) < 1) {
		say("error %s %s: not an OCSP request (%s)\n", method, mode,
		    strlen(target) > 200 ? "long target" : target);
		http_answer(fd, 400, "text/plain", "bad request\n", 12);
		goto done;
	}
	describe(req, desc, sizeof(desc));
	pthread_mutex_lock(&out_lock);
	count = ++n_requests;
	pthread_mutex_unlock(&out_lock);
	say("ocsp %s %s %s n=%lu\n", mode, method, desc, count);

	if (mode_is(mode, "hang")) {
		char sink[256];
		/* hold the connection until the peer gives up */
		for (;;) {
			ssize_t n = recv(fd, sink, sizeof(sink), 0);
			if (n == 0 || (n < 0 && errno != EINTR))
				break;
		}
		say("hang: peer closed (%s)\n", desc);
		goto done;
	}
	if (mode_is(mode, "flaky")) {
		/* remembers the serials it failed once (up to 64) */
		static char seen[64][80];
		static int nseen;
		char serial[80] = "";
		int i, first = 1;

		sscanf(desc, "serial=%79s", serial);
		pthread_mutex_lock(&out_lock);
		for (i = 0; i < nseen; i++)
			if (strcmp(seen[i], serial) == 0)
				first = 0;
		if (first && nseen < 64)
			snprintf(seen[nseen++], sizeof(seen[0]), "%s", serial);
		pthread_mutex_unlock(&out_lock);
		if (first) {
			http_answer(fd, 500, "text/plain", "responder broken\n", 17);
			goto done;
		}
		mode = "good";
	}
	if (mode_is(mode, "http500")) {
		http_answer(fd, 500, "text/plain", "responder broken\n", 17);
		goto done;
	}
	if (mode_is(mode, "malformed")) {
		static const char junk[] = "this is not an OCSP response\n";
		http_answer(fd, 200, "application/ocsp-response", junk, sizeof(junk) - 1);
		goto done;
	}
	if (strncmp(mode, "slow", 4) == 0) {
		long ms = strtol(mode + 4, NULL, 10);
		struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
		while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
			;
		mode = "good";
	}
	if ((resp = build_response(mode, req, &resplen)) == NULL) {
		say("error building the %s response\n", mode);
		http_answer(fd, 500, "text/plain", "internal error\n", 15);
		goto done;
	}
	keep_this = keepalive && got == need;
	http_answer(fd, 200, "application/ocsp-response", resp, (size_t)resplen);
done:
	OCSP_REQUEST_free(req);
	OPENSSL_free(resp);
	free(der);
	free(buf);
	return keep_this;
}

static void *
serve(void *arg)
{
	int fd = (int)(long)arg;

	do
		keep_this = 0;
	while (serve_one(fd));
	shutdown(fd, SHUT_WR);
	close(fd);
	return NULL;
}

static volatile sig_atomic_t stop;

static void
on_term(int sig)
{
	(void)sig;
	stop = 1;
}

int
main(int argc, char **argv)
{
	struct sockaddr_in sa;
	socklen_t salen = sizeof(sa);
	struct sigaction act;
	int s, one = 1;

	if (argc != 10) {
		fprintf(stderr, "usage: %s PORT ISSUER.pem ISSUER.key DELEGATE.pem "
		    "DELEGATE.key BADDELEGATE.pem BADDELEGATE.key UNRELATED.pem "
		    "UNRELATED.key\n", argv[0]);
		return 2;
	}
	keepalive = getenv("OCSP_RESPONDER_KEEPALIVE") != NULL &&
	    strcmp(getenv("OCSP_RESPONDER_KEEPALIVE"), "1") == 0;
	issuer = load_cert(argv[2]);
	issuer_key = load_key(argv[3]);
	delegate = load_cert(argv[4]);
	delegate_key = load_key(argv[5]);
	baddelegate = load_cert(argv[6]);
	baddelegate_key = load_key(argv[7]);
	unrelated = load_cert(argv[8]);
	unrelated_key = load_key(argv[9]);

	memset(&act, 0, sizeof(act));
	act.sa_handler = on_term;		/* no SA_RESTART: accept returns */
	sigaction(SIGTERM, &act, NULL);
	sigaction(SIGINT, &act, NULL);
	signal(SIGPIPE, SIG_IGN);

	if ((s = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		die("socket");
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons((unsigned short)atoi(argv[1]));
	if (bind(s, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(s, 512) != 0 ||
	    getsockname(s, (struct sockaddr *)&sa, &salen) != 0)
		die("bind/listen");
	say("listening %d\n", ntohs(sa.sin_port));

	while (!stop) {
		pthread_t t;
		pthread_attr_t attr;
		int c = accept(s, NULL, NULL);

		if (c < 0)
			continue;
		/* header and body are two writes: no Nagle wait between them */
		setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		if (pthread_create(&t, &attr, serve, (void *)(long)c) != 0)
			close(c);
		pthread_attr_destroy(&attr);
	}
	pthread_mutex_lock(&out_lock);
	printf("count %lu\n", n_requests);
	fflush(stdout);
	pthread_mutex_unlock(&out_lock);
	_exit(0);
}
