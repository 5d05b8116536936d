/*
 * doctor.c: authd doctor.  Two connections at most: a probe without a
 * client certificate (what the server sends: its chain, whether it asks
 * for a client certificate, the CA names), then, given --cert, a request
 * with it.  The checks in between are offline: OpenSSL's verifier over
 * what was sent, and with an authd configuration authd's own chain, CRL,
 * OCSP and verdict code, as `authd check` uses them.  Without one,
 * revocation follows the certificate: its AIA OCSP responders and CRL
 * distribution points, asked with the same ocsp.c and crl.c, bounded by
 * the timeout.
 *
 * Findings are ok, warn or FAIL; only FAIL changes the exit status.
 * Every connect, read and write is bounded by the timeout.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "chain.h"
#include "crl.h"
#include "aia.h"
#include "doctor.h"
#include "err.h"
#include "explain.h"
#include "fetch.h"
#include "identity.h"
#include "log.h"
#include "ocsp.h"
#include "snapshot.h"
#include "verdict.h"

#define DOCTOR_MAX_FINDINGS	 32
#define DOCTOR_MSG_MAX		 1024
#define DOCTOR_FIX_MAX		 512
#define DOCTOR_DN_MAX		 200	/* a name as printed */
#define DOCTOR_NAMES_SHOWN	 4	/* CA names listed in a finding */
#define DOCTOR_NAMES_MAX	 256	/* CA names kept from the server */
#define DOCTOR_CERTS_MAX	 16	/* certificates read from --cert */
#define DOCTOR_FILE_MAX		 (1024 * 1024)
#define DOCTOR_HTTP_MAX		 8192	/* bytes of the answer read */
#define DOCTOR_SOON		 (30 * 86400)
#define DOCTOR_CRL_MAX		 (16 * 1024 * 1024)	/* a fetched CRL */
#define DOCTOR_OCSP_MAX		 (64 * 1024)	/* an OCSP answer */
#define DOCTOR_CDP_ROUNDS	 8	/* CRL checks while fetching */

enum doctor_level {
	DOCTOR_OK = 0,
	DOCTOR_WARN,
	DOCTOR_FAIL,
};

static const char *const doctor_level_text[] = { "ok", "warn", "FAIL" };
static const char *const doctor_level_json[] = { "ok", "warn", "fail" };

struct doctor_finding {
	enum doctor_level	 level;
	const char		*check;
	char			 msg[DOCTOR_MSG_MAX];
	char			 fix[DOCTOR_FIX_MAX];
};

/* One TLS connection and what the handshake showed. */
struct doctor_conn {
	int			 fd;
	SSL			*ssl;
	int			 requested;	/* a CertificateRequest came */
	STACK_OF(X509_NAME)	*names;		/* the CA names in it */
};

struct doctor {
	const struct doctor_opts *o;
	FILE			*out;
	struct doctor_url	 url;
	struct doctor_finding	 f[DOCTOR_MAX_FINDINGS];
	size_t			 n;
	size_t			 count[3];
	time_t			 now;
	X509_STORE		*ca;		/* --ca, or the system store */
	SSL_CTX			*plain;		/* no client certificate */
	SSL_CTX			*withcert;	/* --cert and --key */
	X509			*leaf;		/* --cert's first certificate */
	STACK_OF(X509)		*extras;	/* the rest of --cert */
	STACK_OF(X509)		*cchain;	/* the client's verified chain */
	int			 requested;
	STACK_OF(X509_NAME)	*names;
};

static void	 doctor_add(struct doctor *, enum doctor_level, const char *,
		    const char *, const char *, ...)
		    __attribute__((format(printf, 5, 6)));

/* ------------------------------------------------------------ output */

static void
doctor_printable(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			*s = '?';
}

static void
doctor_add(struct doctor *d, enum doctor_level level, const char *check,
    const char *fix, const char *fmt, ...)
{
	struct doctor_finding	*f;
	va_list			 ap;

	d->count[level]++;
	if (d->n >= DOCTOR_MAX_FINDINGS)
		return;
	f = &d->f[d->n++];
	f->level = level;
	f->check = check;
	va_start(ap, fmt);
	vsnprintf(f->msg, sizeof(f->msg), fmt, ap);
	va_end(ap);
	snprintf(f->fix, sizeof(f->fix), "%s", fix != NULL && level !=
	    DOCTOR_OK ? fix : "");
	/* Names are escaped already; this catches anything else (a URL). */
	doctor_printable(f->msg);
	doctor_printable(f->fix);
	if (d->o->json)
		return;
	fprintf(d->out, "%-4s  %-15s  %s\n", doctor_level_text[level],
	    check, f->msg);
	if (f->fix[0] != '\0')
		fprintf(d->out, "      fix: %s\n", f->fix);
	fflush(d->out);
}

static void
doctor_json(struct doctor *d)
{
	size_t	 i;

	fprintf(d->out, "{\"url\":");
	explain_json_string(d->out, d->o->url);
	fprintf(d->out, ",\"result\":\"%s\",\"ok\":%zu,\"warn\":%zu,"
	    "\"fail\":%zu,\"checks\":[", d->count[DOCTOR_FAIL] ? "fail" : "ok",
	    d->count[DOCTOR_OK], d->count[DOCTOR_WARN], d->count[DOCTOR_FAIL]);
	for (i = 0; i < d->n; i++) {
		fprintf(d->out, "%s{\"check\":", i ? "," : "");
		explain_json_string(d->out, d->f[i].check);
		fprintf(d->out, ",\"result\":\"%s\",\"message\":",
		    doctor_level_json[d->f[i].level]);
		explain_json_string(d->out, d->f[i].msg);
		fprintf(d->out, ",\"fix\":");
		explain_json_string(d->out, d->f[i].fix);
		fputc('}', d->out);
	}
	fprintf(d->out, "]}\n");
}

/* A name as printed: RFC 2253, sanitised, cut at DOCTOR_DN_MAX. */
static char *
doctor_dn(const X509_NAME *name, char *buf, size_t len)
{
	identity_dn(name, buf, len);
	if (buf[0] == '\0')
		snprintf(buf, len, "(empty name)");
	return buf;
}

static void
doctor_date(const ASN1_TIME *t, char *buf, size_t len, time_t *out)
{
	time_t	 v = 0;

	if (identity_time(t, &v) != 0) {
		snprintf(buf, len, "(unreadable time)");
		v = 0;
	} else
		explain_time(v, buf, len);
	if (out != NULL)
		*out = v;
}

/* ------------------------------------------------------------ URL */

int
doctor_url_parse(const char *url, struct doctor_url *u, char *err,
    size_t errlen)
{
	const char	*h, *hend, *p, *port;
	size_t		 i, hlen, plen;
	unsigned long	 pn;
	unsigned char	 a[16];

	memset(u, 0, sizeof(*u));
	for (i = 0; url[i] != '\0'; i++)
		if ((unsigned char)url[i] <= 0x20 ||
		    (unsigned char)url[i] >= 0x7f) {
			snprintf(err, errlen, "URL: only printable ASCII "
			    "without spaces");
			return -1;
		}
	if (strncasecmp(url, "https://", 8) != 0) {
		snprintf(err, errlen, "URL: expected https://HOST[:PORT][/PATH], "
		    "got \"%.64s\"", url);
		return -1;
	}
	h = url + 8;
	if (*h == '[') {
		if ((hend = strchr(h, ']')) == NULL) {
			snprintf(err, errlen, "URL: unterminated [IPv6 address]");
			return -1;
		}
		h++;
		p = hend + 1;
		u->is_ip = 1;
	} else {
		hend = h + strcspn(h, ":/?#@[]");
		p = hend;
	}
	hlen = (size_t)(hend - h);
	if (hlen == 0 || hlen >= sizeof(u->host)) {
		snprintf(err, errlen, "URL: %s host name", hlen ? "too long a" :
		    "missing");
		return -1;
	}
	memcpy(u->host, h, hlen);
	u->host[hlen] = '\0';
	if (u->is_ip && inet_pton(AF_INET6, u->host, a) != 1) {
		snprintf(err, errlen, "URL: not an IPv6 address in brackets");
		return -1;
	}
	if (!u->is_ip && inet_pton(AF_INET, u->host, a) == 1)
		u->is_ip = 1;
	snprintf(u->port, sizeof(u->port), "443");
	if (*p == ':') {
		port = p + 1;
		plen = strspn(port, "0123456789");
		pn = plen > 0 && plen <= 5 ? strtoul(port, NULL, 10) : 0;
		if (pn == 0 || pn > 65535) {
			snprintf(err, errlen, "URL: the port must be 1..65535");
			return -1;
		}
		snprintf(u->port, sizeof(u->port), "%lu", pn);
		p = port + plen;
	}
	if (*p == '\0')
		snprintf(u->path, sizeof(u->path), "/");
	else if (*p == '/' && strchr(p, '#') == NULL &&
	    strlen(p) < sizeof(u->path))
		snprintf(u->path, sizeof(u->path), "%s", p);
	else {
		snprintf(err, errlen, "URL: after the host and port only a "
		    "/PATH (at most %d bytes, no #fragment) may follow",
		    DOCTOR_PATH_MAX - 1);
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------ setup */

/* Read --cert: the leaf, then any chain certificates after it. */
static int
doctor_load_cert(struct doctor *d)
{
	const char	*kf = d->o->key != NULL ? d->o->key : d->o->cert;
	BIO		*bio = NULL;
	EVP_PKEY	*pkey = NULL;
	X509		*x;
	char		 msg[256] = "";
	int		 rc = -1;

	ERR_clear_error();
	if ((bio = BIO_new_file(d->o->cert, "r")) == NULL) {
		fprintf(stderr, "authd doctor: --cert %s: %s\n", d->o->cert,
		    strerror(errno));
		goto end;
	}
	if ((d->extras = sk_X509_new_null()) == NULL)
		goto end;
	while (sk_X509_num(d->extras) < DOCTOR_CERTS_MAX &&
	    (x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		if (d->leaf == NULL)
			d->leaf = x;
		else if (!sk_X509_push(d->extras, x)) {
			X509_free(x);
			goto end;
		}
	}
	ERR_clear_error();
	if (d->leaf == NULL) {
		fprintf(stderr, "authd doctor: --cert %s: no PEM certificate "
		    "found\n", d->o->cert);
		goto end;
	}
	if ((d->withcert = SSL_CTX_new(TLS_client_method())) == NULL)
		goto end;
	if (SSL_CTX_use_certificate_chain_file(d->withcert, d->o->cert) != 1) {
		fprintf(stderr, "authd doctor: --cert %s: %s\n", d->o->cert,
		    err_openssl(msg, sizeof(msg)));
		goto end;
	}
	BIO_free(bio);
	if ((bio = BIO_new_file(kf, "r")) == NULL ||
	    (pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL)) == NULL) {
		fprintf(stderr, "authd doctor: %s %s: cannot read a private "
		    "key: %s\n", d->o->key != NULL ? "--key" : "--cert (no "
		    "--key given)", kf, bio == NULL ? strerror(errno) :
		    err_openssl(msg, sizeof(msg)));
		goto end;
	}
	if (X509_check_private_key(d->leaf, pkey) != 1) {
		fprintf(stderr, "authd doctor: --key does not belong to the "
		    "certificate in --cert\n");
		goto end;
	}
	if (SSL_CTX_use_PrivateKey(d->withcert, pkey) != 1) {
		fprintf(stderr, "authd doctor: %s: %s\n", kf,
		    err_openssl(msg, sizeof(msg)));
		goto end;
	}
	rc = 0;
end:
	ERR_clear_error();
	EVP_PKEY_free(pkey);
	BIO_free(bio);
	return rc;
}

static int
doctor_setup(struct doctor *d)
{
	char	 msg[256] = "";

	if ((d->ca = X509_STORE_new()) == NULL)
		return -1;
	if (d->o->ca != NULL) {
		if (X509_STORE_load_file(d->ca, d->o->ca) != 1) {
			fprintf(stderr, "authd doctor: --ca %s: cannot read "
			    "certificates: %s\n", d->o->ca,
			    err_openssl(msg, sizeof(msg)));
			return -1;
		}
	} else if (X509_STORE_set_default_paths(d->ca) != 1) {
		fprintf(stderr, "authd doctor: cannot load the system's CA "
		    "store: %s\n", err_openssl(msg, sizeof(msg)));
		return -1;
	}
	if ((d->plain = SSL_CTX_new(TLS_client_method())) == NULL)
		return -1;
	if (d->o->cert != NULL && doctor_load_cert(d) != 0)
		return -1;
	ERR_clear_error();
	return 0;
}

/* ------------------------------------------------------------ network */

static int
doctor_connect_one(struct doctor *d, const struct addrinfo *ai, char *err,
    size_t errlen)
{
	struct pollfd	 pfd;
	struct timeval	 tv;
	socklen_t	 sl = sizeof(int);
	int		 fd, e = 0, r, fl;

	if ((fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, ai->ai_protocol)) == -1) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == -1) {
		if (errno != EINPROGRESS) {
			e = errno;
			goto fail;
		}
		pfd.fd = fd;
		pfd.events = POLLOUT;
		pfd.revents = 0;
		do
			r = poll(&pfd, 1, d->o->timeout * 1000);
		while (r == -1 && errno == EINTR);
		if (r == 0) {
			snprintf(err, errlen, "no answer within %d s",
			    d->o->timeout);
			close(fd);
			return -1;
		}
		if (r == -1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &sl) ==
		    -1)
			e = errno;
		if (e != 0)
			goto fail;
	}
	/* Blocking from here on, every read and write bounded. */
	if ((fl = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) == -1) {
		e = errno;
		goto fail;
	}
	tv.tv_sec = d->o->timeout;
	tv.tv_usec = 0;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) == -1) {
		e = errno;
		goto fail;
	}
	return fd;
fail:
	snprintf(err, errlen, "%s", strerror(e));
	close(fd);
	return -1;
}

static int
doctor_connect(struct doctor *d, char *err, size_t errlen)
{
	struct addrinfo	 hints, *res = NULL, *ai;
	char		 addr[INET6_ADDRSTRLEN + 8], one[256];
	size_t		 off = 0;
	int		 fd = -1, rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = d->url.is_ip ? AI_NUMERICHOST : 0;
	if ((rc = getaddrinfo(d->url.host, d->url.port, &hints, &res)) != 0) {
		snprintf(err, errlen, "cannot resolve %s: %s", d->url.host,
		    gai_strerror(rc));
		return -1;
	}
	err[0] = '\0';
	for (ai = res; ai != NULL && fd == -1; ai = ai->ai_next) {
		if (getnameinfo(ai->ai_addr, ai->ai_addrlen, addr, sizeof(addr),
		    NULL, 0, NI_NUMERICHOST) != 0)
			snprintf(addr, sizeof(addr), "?");
		if ((fd = doctor_connect_one(d, ai, one, sizeof(one))) != -1)
			break;
		rc = strcmp(addr, d->url.host) == 0 ?
		    snprintf(err + off, errlen - off, "%s%s", off ? "; " : "",
		    one) : snprintf(err + off, errlen - off, "%s%s: %s", off ?
		    "; " : "", addr, one);
		if (rc > 0 && (size_t)rc < errlen - off)
			off += (size_t)rc;
	}
	freeaddrinfo(res);
	return fd;
}

static int
doctor_cert_cb(SSL *ssl, void *arg)
{
	struct doctor_conn		*c = arg;
	const STACK_OF(X509_NAME)	*names;
	X509_NAME			*n;
	int				 i;

	c->requested = 1;
	names = SSL_get0_peer_CA_list(ssl);
	if (c->names != NULL || (c->names = sk_X509_NAME_new_null()) == NULL)
		return 1;
	for (i = 0; names != NULL && i < sk_X509_NAME_num(names) &&
	    i < DOCTOR_NAMES_MAX; i++)
		if ((n = X509_NAME_dup(sk_X509_NAME_value(names, i))) != NULL &&
		    !sk_X509_NAME_push(c->names, n))
			X509_NAME_free(n);
	return 1;
}

static void
doctor_conn_close(struct doctor_conn *c)
{
	if (c->ssl != NULL) {
		SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
	sk_X509_NAME_pop_free(c->names, X509_NAME_free);
	c->names = NULL;
}

/* The last TLS error of this thread, for a message. */
static void
doctor_tls_error(const struct doctor *d, SSL *ssl, int r, int saved_errno,
    char *err, size_t errlen)
{
	char	 msg[256] = "";
	int	 e = SSL_get_error(ssl, r);

	err_openssl(msg, sizeof(msg));
	/* SO_RCVTIMEO expired: the socket BIO reports EAGAIN as a retry. */
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE ||
	    (e == SSL_ERROR_SYSCALL && (saved_errno == EAGAIN ||
	    saved_errno == EWOULDBLOCK)))
		snprintf(err, errlen, "no answer within %d s", d->o->timeout);
	else if (msg[0] != '\0')
		snprintf(err, errlen, "%s", msg);
	else if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL &&
	    saved_errno == 0))
		snprintf(err, errlen, "the server closed the connection");
	else
		snprintf(err, errlen, "%s", e == SSL_ERROR_SYSCALL ?
		    strerror(saved_errno) : "TLS error");
}

/* Connect and handshake.  Returns 0, or -1: connect failed, -2: TLS did. */
static int
doctor_tls(struct doctor *d, SSL_CTX *ctx, struct doctor_conn *c, char *err,
    size_t errlen)
{
	int	 r;

	c->fd = -1;
	c->ssl = NULL;
	c->requested = 0;
	c->names = NULL;
	if ((c->fd = doctor_connect(d, err, errlen)) == -1)
		return -1;
	ERR_clear_error();
	if ((c->ssl = SSL_new(ctx)) == NULL || SSL_set_fd(c->ssl, c->fd) != 1 ||
	    (!d->url.is_ip && SSL_set_tlsext_host_name(c->ssl, d->url.host) !=
	    1)) {
		snprintf(err, errlen, "cannot set up TLS");
		return -2;
	}
	SSL_set_verify(c->ssl, SSL_VERIFY_NONE, NULL);	/* checked below */
	SSL_set_cert_cb(c->ssl, doctor_cert_cb, c);
	errno = 0;
	if ((r = SSL_connect(c->ssl)) != 1) {
		doctor_tls_error(d, c->ssl, r, errno, err, errlen);
		return -2;
	}
	return 0;
}

/* ------------------------------------------------------------ server */

/* Is x one of the certificates the server sent? */
static int
doctor_in(STACK_OF(X509) *sk, X509 *x)
{
	int	 i;

	for (i = 0; sk != NULL && i < sk_X509_num(sk); i++)
		if (X509_cmp(sk_X509_value(sk, i), x) == 0)
			return 1;
	return 0;
}

static int
doctor_self_issued(X509 *x)
{
	return X509_NAME_cmp(X509_get_subject_name(x),
	    X509_get_issuer_name(x)) == 0;
}

static void
doctor_server_chain(struct doctor *d, SSL *ssl)
{
	STACK_OF(X509)	*sent = SSL_get_peer_cert_chain(ssl), *chain;
	X509		*leaf = SSL_get0_peer_certificate(ssl), *x;
	X509_STORE_CTX	*ctx = NULL;
	char		 dn[DOCTOR_DN_MAX], dn2[DOCTOR_DN_MAX], fix[DOCTOR_FIX_MAX];
	const char	*src = d->o->ca != NULL ? "--ca" : "the system store";
	int		 ok, err, depth, i, nsent = sent ? sk_X509_num(sent) : 0;

	if (leaf == NULL) {
		doctor_add(d, DOCTOR_FAIL, "server-chain", "give nginx a "
		    "certificate (ssl_certificate)", "the server sent no "
		    "certificate");
		return;
	}
	if ((ctx = X509_STORE_CTX_new()) == NULL ||
	    X509_STORE_CTX_init(ctx, d->ca, leaf, sent) != 1) {
		doctor_add(d, DOCTOR_FAIL, "server-chain", "retry; this is an "
		    "OpenSSL failure", "cannot set up the verification");
		goto end;
	}
	X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_SERVER);
	/* Time is server-expiry's finding. */
	X509_VERIFY_PARAM_set_flags(X509_STORE_CTX_get0_param(ctx),
	    X509_V_FLAG_NO_CHECK_TIME);
	ok = X509_verify_cert(ctx) == 1;
	chain = X509_STORE_CTX_get0_chain(ctx);
	err = X509_STORE_CTX_get_error(ctx);
	depth = X509_STORE_CTX_get_error_depth(ctx);
	if (ok) {
		/*
		 * Verified, but with an intermediate from --ca that the server
		 * did not send: clients without it fail.
		 */
		for (i = 1; i < sk_X509_num(chain); i++) {
			x = sk_X509_value(chain, i);
			if (doctor_in(sent, x) || doctor_self_issued(x))
				continue;
			doctor_dn(X509_get_subject_name(x), dn, sizeof(dn));
			snprintf(fix, sizeof(fix), "append the intermediate "
			    "\"%s\" to the file in nginx's ssl_certificate, "
			    "after the server certificate", dn);
			doctor_add(d, DOCTOR_FAIL, "server-chain", fix,
			    "incomplete: the server did not send the "
			    "intermediate \"%s\" (it verified only because %s "
			    "holds it; other clients will fail)", dn, src);
			goto end;
		}
		doctor_dn(X509_get_subject_name(leaf), dn, sizeof(dn));
		doctor_dn(X509_get_subject_name(sk_X509_value(chain,
		    sk_X509_num(chain) - 1)), dn2, sizeof(dn2));
		doctor_add(d, DOCTOR_OK, "server-chain", NULL, "\"%s\" verified "
		    "up to \"%s\" (%d certificate%s sent, %d in the chain, "
		    "trust from %s)", dn, dn2, nsent, nsent == 1 ? "" : "s",
		    sk_X509_num(chain), src);
		goto end;
	}
	x = chain != NULL && depth >= 0 && depth < sk_X509_num(chain) ?
	    sk_X509_value(chain, depth) : leaf;
	doctor_dn(X509_get_subject_name(x), dn, sizeof(dn));
	doctor_dn(X509_get_issuer_name(x), dn2, sizeof(dn2));
	switch (err) {
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
		snprintf(fix, sizeof(fix), "if \"%s\" is an intermediate CA, "
		    "append it to the file in nginx's ssl_certificate after "
		    "the server certificate (cat server.pem intermediate.pem "
		    "> server-chain.pem); if it is your root CA, give it with "
		    "--ca", dn2);
		doctor_add(d, DOCTOR_FAIL, "server-chain", fix, "incomplete: "
		    "missing \"%s\", the issuer of \"%s\"; the server sent %d "
		    "certificate%s and %s does not have it", dn2, dn, nsent,
		    nsent == 1 ? "" : "s", src);
		break;
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
		snprintf(fix, sizeof(fix), "if you trust it, give \"%s\" with "
		    "--ca (and to your clients); else use a certificate from "
		    "a CA they trust", dn);
		doctor_add(d, DOCTOR_FAIL, "server-chain", fix, "untrusted: "
		    "the chain ends at the self-signed \"%s\", which %s does "
		    "not trust", dn, src);
		break;
	case X509_V_ERR_INVALID_PURPOSE:
		doctor_add(d, DOCTOR_FAIL, "server-chain", "reissue the server "
		    "certificate with extendedKeyUsage serverAuth",
		    "\"%s\" is not for TLS servers (depth %d)", dn, depth);
		break;
	default:
		doctor_add(d, DOCTOR_FAIL, "server-chain", "fix the server "
		    "certificate chain in nginx's ssl_certificate (server "
		    "certificate first, then its intermediates)",
		    "does not verify: %s (depth %d: \"%s\")",
		    X509_verify_cert_error_string(err), depth, dn);
	}
end:
	X509_STORE_CTX_free(ctx);
}

static void
doctor_server_expiry(struct doctor *d, SSL *ssl)
{
	STACK_OF(X509)	*sent = SSL_get_peer_cert_chain(ssl);
	X509		*x, *first = NULL;
	time_t		 na, nb, min = 0;
	char		 dn[DOCTOR_DN_MAX], date[32], fix[DOCTOR_FIX_MAX];
	int		 i;

	for (i = 0; sent != NULL && i < sk_X509_num(sent); i++) {
		x = sk_X509_value(sent, i);
		if (identity_time(X509_get0_notBefore(x), &nb) == 0 &&
		    nb > d->now) {
			doctor_dn(X509_get_subject_name(x), dn, sizeof(dn));
			doctor_date(X509_get0_notBefore(x), date, sizeof(date),
			    NULL);
			doctor_add(d, DOCTOR_FAIL, "server-expiry", "check the "
			    "clocks (timedatectl), or use a certificate valid "
			    "now", "\"%s\" is not valid before %s", dn, date);
			return;
		}
		if (identity_time(X509_get0_notAfter(x), &na) == 0 &&
		    (first == NULL || na < min)) {
			first = x;
			min = na;
		}
	}
	if (first == NULL)
		return;
	doctor_dn(X509_get_subject_name(first), dn, sizeof(dn));
	explain_time(min, date, sizeof(date));
	snprintf(fix, sizeof(fix), "renew \"%s\" and reload nginx "
	    "(nginx -s reload)", dn);
	if (min < d->now)
		doctor_add(d, DOCTOR_FAIL, "server-expiry", fix, "\"%s\" expired "
		    "on %s", dn, date);
	else if (min - d->now < DOCTOR_SOON)
		doctor_add(d, DOCTOR_WARN, "server-expiry", fix, "\"%s\" expires "
		    "in %lld day(s), on %s", dn, (long long)((min - d->now) /
		    86400), date);
	else
		doctor_add(d, DOCTOR_OK, "server-expiry", NULL, "the first to "
		    "expire is \"%s\", on %s (in %lld days)", dn, date,
		    (long long)((min - d->now) / 86400));
}

/* The certificate's DNS and IP names, for a message. */
static void
doctor_sans(X509 *x, char *buf, size_t len)
{
	GENERAL_NAMES	*gens;
	GENERAL_NAME	*g;
	char		 one[80], ip[INET6_ADDRSTRLEN];
	size_t		 off = 0;
	int		 i, n, shown = 0;

	buf[0] = '\0';
	gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	for (i = 0; gens != NULL && i < sk_GENERAL_NAME_num(gens); i++) {
		g = sk_GENERAL_NAME_value(gens, i);
		one[0] = '\0';
		if (g->type == GEN_DNS)
			snprintf(one, sizeof(one), "DNS:%.60s",
			    (const char *)ASN1_STRING_get0_data(g->d.dNSName));
		else if (g->type == GEN_IPADD && (ASN1_STRING_length(
		    g->d.iPAddress) == 4 || ASN1_STRING_length(g->d.iPAddress)
		    == 16) && inet_ntop(ASN1_STRING_length(g->d.iPAddress) ==
		    4 ? AF_INET : AF_INET6, ASN1_STRING_get0_data(
		    g->d.iPAddress), ip, sizeof(ip)) != NULL)
			snprintf(one, sizeof(one), "IP:%s", ip);
		if (one[0] == '\0')
			continue;
		if (shown++ == 8) {
			n = snprintf(buf + off, len - off, ", ...");
			break;
		}
		n = snprintf(buf + off, len - off, "%s%s", off ? ", " : "", one);
		if (n < 0 || (size_t)n >= len - off)
			break;
		off += (size_t)n;
	}
	GENERAL_NAMES_free(gens);
	/* Printable only: a DNS name is whatever the CA wrote. */
	for (off = 0; buf[off] != '\0'; off++)
		if ((unsigned char)buf[off] < 0x20 ||
		    (unsigned char)buf[off] >= 0x7f)
			buf[off] = '?';
	if (buf[0] == '\0')
		snprintf(buf, len, "none");
}

static void
doctor_server_name(struct doctor *d, SSL *ssl)
{
	X509	*leaf = SSL_get0_peer_certificate(ssl);
	char	 names[512], fix[DOCTOR_FIX_MAX];
	int	 ok;

	if (leaf == NULL)
		return;
	ok = d->url.is_ip ? X509_check_ip_asc(leaf, d->url.host, 0) == 1 :
	    X509_check_host(leaf, d->url.host, 0, 0, NULL) == 1;
	if (ok) {
		doctor_add(d, DOCTOR_OK, "server-name", NULL, "the certificate "
		    "is valid for %s", d->url.host);
		return;
	}
	doctor_sans(leaf, names, sizeof(names));
	snprintf(fix, sizeof(fix), "connect with a name the certificate has, "
	    "or reissue it with subjectAltName %s:%s", d->url.is_ip ? "IP" :
	    "DNS", d->url.host);
	doctor_add(d, DOCTOR_FAIL, "server-name", fix, "the certificate is not "
	    "valid for %s (its names: %s)", d->url.host, names);
}

/* "A", "B", ... and N more: the CA names the server sends. */
static void
doctor_names(STACK_OF(X509_NAME) *names, char *buf, size_t len)
{
	char	 dn[DOCTOR_DN_MAX];
	size_t	 off = 0;
	int	 i, n, total = sk_X509_NAME_num(names);

	buf[0] = '\0';
	for (i = 0; i < total && i < DOCTOR_NAMES_SHOWN; i++) {
		doctor_dn(sk_X509_NAME_value(names, i), dn, sizeof(dn));
		n = snprintf(buf + off, len - off, "%s\"%s\"", i ? ", " : "",
		    dn);
		if (n < 0 || (size_t)n >= len - off)
			return;
		off += (size_t)n;
	}
	if (total > DOCTOR_NAMES_SHOWN)
		snprintf(buf + off, len - off, " and %d more",
		    total - DOCTOR_NAMES_SHOWN);
}

static void
doctor_cert_request(struct doctor *d)
{
	char	 names[DOCTOR_MSG_MAX - 128];
	int	 n = d->names != NULL ? sk_X509_NAME_num(d->names) : 0;

	if (!d->requested) {
		doctor_add(d, DOCTOR_FAIL, "cert-request", "set "
		    "ssl_verify_client optional (or on) and ssl_client_certificate "
		    "in nginx's server block", "the server does not ask for a "
		    "client certificate (no CertificateRequest): clients never "
		    "send one");
		return;
	}
	if (n == 0) {
		doctor_add(d, DOCTOR_WARN, "cert-request", "set nginx's "
		    "ssl_client_certificate to the CA(s) that issue your "
		    "client certificates (the roots authd trusts); nginx sends "
		    "the names from ssl_client_certificate and none from "
		    "ssl_trusted_certificate", "the server asks for a client "
		    "certificate but names no CA: clients that choose a "
		    "certificate by its issuer cannot choose");
		return;
	}
	doctor_names(d->names, names, sizeof(names));
	doctor_add(d, DOCTOR_OK, "cert-request", NULL, "the server asks for a "
	    "client certificate and names %d CA%s: %s", n, n == 1 ? "" : "s",
	    names);
}

/* ------------------------------------------------------------ client */

static int
doctor_named(struct doctor *d, const X509_NAME *name)
{
	int	 i;

	for (i = 0; i < sk_X509_NAME_num(d->names); i++)
		if (X509_NAME_cmp(sk_X509_NAME_value(d->names, i), name) == 0)
			return 1;
	return 0;
}

static void
doctor_client_issuer(struct doctor *d)
{
	STACK_OF(X509)	*sk = d->cchain != NULL ? d->cchain : d->extras;
	char		 dn[DOCTOR_DN_MAX], fix[DOCTOR_FIX_MAX];
	const X509_NAME	*name;
	int		 i;

	if (!d->requested || d->names == NULL || sk_X509_NAME_num(d->names) == 0)
		return;		/* cert-request said why */
	name = X509_get_issuer_name(d->leaf);
	if (doctor_named(d, name)) {
		doctor_add(d, DOCTOR_OK, "client-issuer", NULL, "its issuer "
		    "\"%s\" is among the CA names the server sends",
		    doctor_dn(name, dn, sizeof(dn)));
		return;
	}
	/* Clients match the names against the whole chain. */
	for (i = d->cchain != NULL ? 1 : 0; sk != NULL && i < sk_X509_num(sk);
	    i++) {
		name = X509_get_issuer_name(sk_X509_value(sk, i));
		if (doctor_named(d, name)) {
			doctor_add(d, DOCTOR_OK, "client-issuer", NULL, "\"%s\" "
			    "of its chain is among the CA names the server "
			    "sends", doctor_dn(name, dn, sizeof(dn)));
			return;
		}
	}
	doctor_dn(X509_get_issuer_name(d->leaf), dn, sizeof(dn));
	snprintf(fix, sizeof(fix), "add the CA that issued it (or its root) "
	    "to the file in nginx's ssl_client_certificate, or use a "
	    "certificate issued under a CA the server names");
	doctor_add(d, DOCTOR_FAIL, "client-issuer", fix, "its issuer \"%s\" "
	    "(and every CA above it that is known) is not among the %d CA "
	    "name(s) the server sends: clients will not offer it, and nginx "
	    "refuses it unless ssl_verify_client is optional_no_ca", dn, sk_X509_NAME_num(d->names));
}

/* An issuer the --cert file holds but authd does not: a likely fix. */
static X509 *
doctor_issuer_in_file(struct doctor *d, X509 *x)
{
	int	 i;

	for (i = 0; i < sk_X509_num(d->extras); i++)
		if (X509_check_issued(sk_X509_value(d->extras, i), x) ==
		    X509_V_OK)
			return sk_X509_value(d->extras, i);
	return NULL;
}

static void
doctor_client_chain(struct doctor *d)
{
	X509_STORE	*store;
	STACK_OF(X509)	*untrusted;
	X509_STORE_CTX	*ctx = NULL;
	STACK_OF(X509)	*chain;
	X509		*x;
	const char	*src;
	char		 dn[DOCTOR_DN_MAX], dn2[DOCTOR_DN_MAX], fix[DOCTOR_FIX_MAX];
	char		 url[201] = "";	/* a caIssuers URL that fits the fix */
	int		 err, depth, missing;

	if (d->o->snap != NULL) {
		store = chain_store_trust(d->o->snap->chain);
		untrusted = chain_store_untrusted(d->o->snap->chain);
		src = "authd's trust and intermediates";
	} else if (d->o->ca != NULL) {
		store = d->ca;
		untrusted = d->extras;
		src = "--ca and the chain in --cert";
	} else {
		doctor_add(d, DOCTOR_WARN, "client-chain", "give --config "
		    "(authd's configuration) or --ca with the client CA",
		    "not checked: no trust for client certificates given");
		return;
	}
	if ((ctx = X509_STORE_CTX_new()) == NULL ||
	    X509_STORE_CTX_init(ctx, store, d->leaf, untrusted) != 1) {
		doctor_add(d, DOCTOR_FAIL, "client-chain", "retry; this is an "
		    "OpenSSL failure", "cannot set up the verification");
		goto end;
	}
	/* Time and purpose are client-validity's and client-eku's. */
	X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_ANY);
	X509_VERIFY_PARAM_set_flags(X509_STORE_CTX_get0_param(ctx),
	    X509_V_FLAG_NO_CHECK_TIME);
	if (d->o->snap != NULL)
		X509_STORE_CTX_set_depth(ctx,
		    (int)d->o->snap->cfg.verify_depth);
	if (X509_verify_cert(ctx) == 1) {
		d->cchain = X509_STORE_CTX_get1_chain(ctx);
		doctor_dn(X509_get_subject_name(sk_X509_value(d->cchain,
		    sk_X509_num(d->cchain) - 1)), dn, sizeof(dn));
		doctor_add(d, DOCTOR_OK, "client-chain", NULL, "verified up to "
		    "\"%s\" (%d certificates, trust from %s)", dn,
		    sk_X509_num(d->cchain), src);
		goto end;
	}
	err = X509_STORE_CTX_get_error(ctx);
	depth = X509_STORE_CTX_get_error_depth(ctx);
	chain = X509_STORE_CTX_get0_chain(ctx);
	x = chain != NULL && depth >= 0 && depth < sk_X509_num(chain) ?
	    sk_X509_value(chain, depth) : d->leaf;
	doctor_dn(X509_get_subject_name(x), dn, sizeof(dn));
	doctor_dn(X509_get_issuer_name(x), dn2, sizeof(dn2));
	missing = err == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY ||
	    err == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT;
	if (missing && d->o->snap != NULL &&
	    doctor_issuer_in_file(d, x) != NULL)
		snprintf(fix, sizeof(fix), "add \"%s\" (it is in --cert) to "
		    "authd's intermediates: nginx sends authd the leaf only",
		    dn2);
	else if (missing && aia_url(x, url, sizeof(url)))
		/* The certificate says where its issuer is published. */
		snprintf(fix, sizeof(fix), "fetch the missing intermediate "
		    "\"%.150s\" from %s, check it and add it to %s, or set "
		    "ca_issuers_fetch on", dn2, url, d->o->snap != NULL ?
		    "authd's intermediates" : "--cert after the client "
		    "certificate");
	else if (missing ||
	    err == X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN ||
	    err == X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT) {
		if (d->o->snap != NULL)
			snprintf(fix, sizeof(fix), "if this client should get "
			    "in: add the root CA of \"%s\" to authd's trust, "
			    "and its intermediates to intermediates", dn2);
		else
			snprintf(fix, sizeof(fix), "give --ca the root CA of "
			    "\"%s\", and put its intermediates in --cert after "
			    "the client certificate", dn2);
	}
	else
		snprintf(fix, sizeof(fix), "issue the client a certificate "
		    "from a CA %s trusts", d->o->snap != NULL ? "authd" :
		    "--ca");
	doctor_add(d, DOCTOR_FAIL, "client-chain", fix, "does not verify "
	    "against %s: %s (depth %d: \"%s\", issuer \"%s\"%s%s)", src,
	    X509_verify_cert_error_string(err), depth, dn, dn2,
	    missing && url[0] != '\0' ? ", published at " : "", url);
end:
	X509_STORE_CTX_free(ctx);
}

static void
doctor_client_validity(struct doctor *d)
{
	STACK_OF(X509)	*sk = d->cchain;
	X509		*x;
	time_t		 nb, na;
	char		 dn[DOCTOR_DN_MAX], date[32];
	int		 i;

	/* The CAs above it first: an expired CA fails every client. */
	for (i = 1; sk != NULL && i < sk_X509_num(sk); i++) {
		x = sk_X509_value(sk, i);
		doctor_date(X509_get0_notAfter(x), date, sizeof(date), &na);
		if (na < d->now) {
			doctor_add(d, DOCTOR_FAIL, "client-validity", "renew "
			    "the CA certificate and give the new one to "
			    "authd and nginx", "the CA \"%s\" of its chain "
			    "expired on %s", doctor_dn(X509_get_subject_name(x),
			    dn, sizeof(dn)), date);
			return;
		}
	}
	doctor_date(X509_get0_notBefore(d->leaf), date, sizeof(date), &nb);
	if (nb > d->now) {
		doctor_add(d, DOCTOR_FAIL, "client-validity", "wait until then, "
		    "or check the clocks of the CA and of this machine "
		    "(timedatectl)", "not valid before %s", date);
		return;
	}
	doctor_date(X509_get0_notAfter(d->leaf), date, sizeof(date), &na);
	if (na < d->now)
		doctor_add(d, DOCTOR_FAIL, "client-validity", "issue the client "
		    "a new certificate", "expired on %s", date);
	else if (na - d->now < DOCTOR_SOON)
		doctor_add(d, DOCTOR_WARN, "client-validity", "renew it before "
		    "it expires", "expires in %lld day(s), on %s",
		    (long long)((na - d->now) / 86400), date);
	else
		doctor_add(d, DOCTOR_OK, "client-validity", NULL, "valid until "
		    "%s (%lld days)", date, (long long)((na - d->now) / 86400));
}

static void
doctor_client_eku(struct doctor *d)
{
	uint32_t	 fl = X509_get_extension_flags(d->leaf);

	if (fl & EXFLAG_CA)
		doctor_add(d, DOCTOR_FAIL, "client-eku", "use the end-entity "
		    "certificate issued to the client, not its CA", "a CA "
		    "certificate, not a client certificate");
	else if (!(fl & EXFLAG_XKUSAGE))
		doctor_add(d, DOCTOR_OK, "client-eku", NULL, "no "
		    "extendedKeyUsage: valid for any purpose");
	else if (X509_get_extended_key_usage(d->leaf) & XKU_SSL_CLIENT)
		doctor_add(d, DOCTOR_OK, "client-eku", NULL, "extendedKeyUsage "
		    "includes clientAuth");
	else
		doctor_add(d, DOCTOR_FAIL, "client-eku", "reissue it with "
		    "extendedKeyUsage = clientAuth", "extendedKeyUsage lacks "
		    "clientAuth: not a TLS client certificate");
}

/* ------------------------------------------------------------ revocation */

/*
 * Without authd's configuration, revocation is checked the way the
 * certificate asks: its AIA OCSP responders and its CRL distribution
 * points, with authd's own ocsp.c (asked inline, as authd check does) and
 * crl.c (its distribution-point fetcher on a one-thread pool), trusting
 * the client's verified chain: its anchor from --ca, its intermediates.
 */

/* The first http OCSP URL in x's AIA, or 0. */
static int
doctor_aia_ocsp(X509 *x, char *url, size_t len)
{
	STACK_OF(OPENSSL_STRING)	*aia;
	const char			*u;
	int				 i, found = 0;

	url[0] = '\0';
	if ((aia = X509_get1_ocsp(x)) == NULL)
		return 0;
	for (i = 0; i < sk_OPENSSL_STRING_num(aia) && !found; i++) {
		u = sk_OPENSSL_STRING_value(aia, i);
		if (strncmp(u, "http://", 7) == 0 && strlen(u) < len) {
			snprintf(url, len, "%s", u);
			found = 1;
		}
	}
	X509_email_free(aia);
	return found;
}

/* The first http CRL Distribution Point of x, or 0. */
static int
doctor_cdp(X509 *x, char *url, size_t len)
{
	STACK_OF(DIST_POINT)	*cdp;
	DIST_POINT		*dp;
	GENERAL_NAME		*g;
	const char		*u;
	int			 i, j, n, found = 0;

	url[0] = '\0';
	if ((cdp = X509_get_ext_d2i(x, NID_crl_distribution_points, NULL,
	    NULL)) == NULL)
		return 0;
	for (i = 0; i < sk_DIST_POINT_num(cdp) && !found; i++) {
		dp = sk_DIST_POINT_value(cdp, i);
		if (dp->distpoint == NULL || dp->distpoint->type != 0)
			continue;
		for (j = 0; j < sk_GENERAL_NAME_num(dp->distpoint->name.fullname)
		    && !found; j++) {
			g = sk_GENERAL_NAME_value(dp->distpoint->name.fullname, j);
			if (g->type != GEN_URI)
				continue;
			u = (const char *)ASN1_STRING_get0_data(
			    g->d.uniformResourceIdentifier);
			n = ASN1_STRING_length(g->d.uniformResourceIdentifier);
			if (n > 7 && (size_t)n < len &&
			    strncmp(u, "http://", 7) == 0) {
				memcpy(url, u, (size_t)n);
				url[n] = '\0';
				found = 1;
			}
		}
	}
	sk_DIST_POINT_pop_free(cdp, DIST_POINT_free);
	doctor_printable(url);
	return found;
}

/*
 * A snapshot trusting the client's verified chain (anchor and the CAs
 * between), for ocsp.c and crl.c to verify answers with.  Not published:
 * the checks are given it.
 */
static int
doctor_own_snapshot(struct doctor *d, int crl_fetch, struct snapshot **out)
{
	struct config		 cfg;
	struct chain_store	*cs = NULL;
	struct snapshot		*snap = NULL;
	STACK_OF(X509)		*anchors = NULL, *ints = NULL;
	int			 i, n = sk_X509_num(d->cchain), rc = -1;

	config_init(&cfg);
	if ((anchors = sk_X509_new_null()) == NULL ||
	    (ints = sk_X509_new_null()) == NULL ||
	    !sk_X509_push(anchors, sk_X509_value(d->cchain, n - 1)))
		goto end;
	for (i = 1; i < n - 1; i++)
		if (!sk_X509_push(ints, sk_X509_value(d->cchain, i)))
			goto end;
	/* crl_fetch on, set: an empty CRL set that asks the DPs. */
	if (crl_fetch && config_set_flag(&cfg, "crl_fetch", "on") != 0)
		goto end;
	if (chain_store_new(anchors, ints, (unsigned int)n, CONFIG_PURPOSE_ANY,
	    &cs) != 0 || snapshot_new_chain(&cfg, cs, &snap) != 0)
		goto end;
	*out = snap;
	rc = 0;
end:
	/* The stacks borrowed their certificates from d->cchain. */
	sk_X509_free(anchors);
	sk_X509_free(ints);
	config_cleanup(&cfg);
	return rc;
}

static void
doctor_ocsp_own(struct doctor *d, const struct snapshot *snap)
{
	struct ocsp_ctx		 ctx = snap->ocsp;
	struct ocsp_settings	*set = &ctx.set;
	struct ocsp_result	 or;
	char			 url[FETCH_URL_MAX], dn[DOCTOR_DN_MAX],
				 who[DOCTOR_DN_MAX + 40], t[32], date[64],
				 fix[DOCTOR_FIX_MAX];
	int			 i, n = sk_X509_num(d->cchain);

	/* The defaults, with doctor's own timeout and cap. */
	set->mode = OCSP_MODE_LEAF;
	set->timeout = d->o->timeout;
	set->max_size = DOCTOR_OCSP_MAX;
	ocsp_set_inline(1);
	/* The leaf, then each CA below the anchor that names a responder. */
	for (i = 0; i < n - 1; i++) {
		if (!doctor_aia_ocsp(sk_X509_value(d->cchain, i), url,
		    sizeof(url)))
			continue;
		who[0] = '\0';
		if (i > 0)
			snprintf(who, sizeof(who), "the CA \"%s\": ", doctor_dn(
			    X509_get_subject_name(sk_X509_value(d->cchain, i)),
			    dn, sizeof(dn)));
		ocsp_check_depth(&ctx, d->cchain, i, d->now, &or);
		if (or.status == OCSP_OK) {
			date[0] = '\0';
			if (or.this_update != 0) {
				explain_time(or.this_update, t, sizeof(t));
				snprintf(date, sizeof(date), " (thisUpdate %s)",
				    t);
			}
			doctor_add(d, DOCTOR_OK, "ocsp", NULL, "%sgood, says "
			    "%.300s%s", who, or.responder[0] ? or.responder :
			    url, date);
		} else if (or.status == OCSP_REVOKED)
			doctor_add(d, DOCTOR_FAIL, "ocsp", i ? "the CA itself "
			    "is revoked: its clients need certificates from "
			    "another CA" : "issue the client a new certificate "
			    "(or, if revoked by mistake, ask the CA to "
			    "reinstate it)", "%s%s", who, or.detail);
		else {
			snprintf(fix, sizeof(fix), "make %.150s reachable from "
			    "here and from authd, answering for this CA (openssl "
			    "ocsp -issuer ISSUER.pem -cert CERT.pem -url %.150s); "
			    "authd with ocsp and ocsp_failure deny refuses the "
			    "client meanwhile", url, url);
			doctor_add(d, DOCTOR_WARN, "ocsp", fix, "%s%s", who,
			    or.detail);
		}
	}
	ocsp_shutdown();
	ocsp_set_inline(0);
}

/*
 * What doctor_crl_wait sleeps on.  It lives on the heap with a reference
 * for the waiting thread and one per registration with the fetch: a wait
 * that gives up on its backstop leaves, and the fetch that ends later
 * still finds it (the last reference frees it).
 */
struct doctor_wake {
	pthread_mutex_t	 lock;
	pthread_cond_t	 cond;
	int		 done;
	int		 refs;
};

static struct doctor_wake *
doctor_wake_new(void)
{
	struct doctor_wake	*w;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return NULL;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	w->refs = 1;
	return w;
}

/* Drop a reference, locked by the caller; unlocks (and frees at the last). */
static void
doctor_wake_unref(struct doctor_wake *w)
{
	int	 last = --w->refs == 0;

	pthread_mutex_unlock(&w->lock);
	if (!last)
		return;
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->cond);
	free(w);
}

/* On the fetch thread: the CRL fetch we wait for is over. */
static void
doctor_wake(void *arg)
{
	struct doctor_wake	*w = arg;

	pthread_mutex_lock(&w->lock);
	w->done = 1;
	pthread_cond_signal(&w->cond);
	doctor_wake_unref(w);
}

/* The distribution-point CRL that answered, for its dates. */
struct doctor_crlinfo {
	char	 source[FETCH_URL_MAX];
	time_t	 this_update, next_update;
	int	 found;
};

static void
doctor_crl_info(void *arg, const struct crl_info *ci)
{
	struct doctor_crlinfo	*x = arg;

	if (x->found)
		return;
	snprintf(x->source, sizeof(x->source), "%s", ci->source);
	x->this_update = ci->this_update;
	x->next_update = ci->next_update;
	x->found = 1;
}

/* crl_check at depth 0, waiting (bounded) for the fetches it starts. */
static void
doctor_crl_wait(struct doctor *d, const struct snapshot *snap,
    const struct crl_fetch_ctx *fetch, struct crl_result *cr)
{
	struct doctor_wake	*w;
	struct timespec		 until;
	int			 round, r;

	cr->status = CRL_ERROR;
	snprintf(cr->detail, sizeof(cr->detail), "out of memory");
	cr->pending_url[0] = '\0';
	if ((w = doctor_wake_new()) == NULL)
		return;
	for (round = 0; round < DOCTOR_CDP_ROUNDS; round++) {
		crl_check_depth(snap->crl, fetch, d->cchain, 0, NULL,
		    time(NULL), 0, 0, cr);
		if (cr->status != CRL_PENDING)
			break;
		pthread_mutex_lock(&w->lock);
		w->done = 0;
		w->refs++;			/* the registration's */
		pthread_mutex_unlock(&w->lock);
		if ((r = crl_fetch_wait(cr->pending_url, doctor_wake, w)) != 0) {
			pthread_mutex_lock(&w->lock);
			w->refs--;		/* not registered */
			pthread_mutex_unlock(&w->lock);
			if (r == 1)
				continue;
			break;
		}
		/* fetch_http has its own deadline; this one is a backstop. */
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += d->o->timeout + 2;
		pthread_mutex_lock(&w->lock);
		while (!w->done && pthread_cond_timedwait(&w->cond, &w->lock,
		    &until) == 0)
			;
		r = w->done;
		pthread_mutex_unlock(&w->lock);
		if (!r)
			break;		/* still PENDING: said below */
	}
	pthread_mutex_lock(&w->lock);
	doctor_wake_unref(w);
}

static void
doctor_crl_own(struct doctor *d, struct snapshot *snap, const char *url)
{
	struct fetch_pool	*pool = NULL;
	struct crl_result	 cr;
	struct doctor_crlinfo	 info;
	struct crl_fetch_ctx	 fetch;
	char			 t1[32], t2[32], dates[128] = "", fix[DOCTOR_FIX_MAX];
	char			 dn[256];

	memset(&info, 0, sizeof(info));
	if (fetch_pool_new(1, 8, &pool) != 0) {
		doctor_add(d, DOCTOR_FAIL, "crl", "retry; the system is out of "
		    "threads or memory", "cannot start a fetch thread");
		return;
	}
	crl_fetch_init(pool, NULL);
	fetch = snap->crl_fetch;
	fetch.on = 1;
	fetch.timeout = d->o->timeout;
	fetch.max_size = DOCTOR_CRL_MAX;
	doctor_crl_wait(d, snap, &fetch, &cr);
	crl_foreach(snap->crl, doctor_crl_info, &info);
	if (info.found) {
		explain_time(info.this_update, t1, sizeof(t1));
		if (info.next_update != 0)
			explain_time(info.next_update, t2, sizeof(t2));
		snprintf(dates, sizeof(dates), "; thisUpdate %s, nextUpdate %s",
		    t1, info.next_update != 0 ? t2 : "none");
	}
	switch (cr.status) {
	case CRL_GOOD:
		doctor_add(d, DOCTOR_OK, "crl", NULL, "not revoked: not on the "
		    "CRL from %.300s%s", info.found ? info.source : url, dates);
		break;
	case CRL_REVOKED:
		dn[0] = '\0';
		if (d->cchain != NULL && cr.depth >= 0 &&
		    cr.depth < sk_X509_num(d->cchain))
			identity_dn(X509_get_subject_name(sk_X509_value(
			    d->cchain, cr.depth)), dn, sizeof(dn));
		doctor_add(d, DOCTOR_FAIL, "crl", "issue the client a new "
		    "certificate (or, if revoked by mistake, ask the CA to "
		    "publish a CRL without it)", "revoked: %s (depth %d) is "
		    "%s%s", dn, cr.depth, cr.detail, dates);
		break;
	case CRL_EXPIRED:
		snprintf(fix, sizeof(fix), "the CA must publish a fresh CRL at "
		    "%.200s (authd with crl_fetch refuses its clients meanwhile, "
		    "unless crl_grace allows)", info.found ? info.source : url);
		doctor_add(d, DOCTOR_FAIL, "crl", fix, "expired CRL: %s%s",
		    cr.detail, dates);
		break;
	case CRL_PENDING:
		snprintf(fix, sizeof(fix), "check that %.150s answers quickly "
		    "(curl -sS -o crl.der %.150s)", cr.pending_url, cr.pending_url);
		doctor_add(d, DOCTOR_WARN, "crl", fix, "no CRL: %.300s did not "
		    "answer within %d s", cr.pending_url, d->o->timeout);
		break;
	default:
		snprintf(fix, sizeof(fix), "make %.120s reachable and serving "
		    "the issuer's CRL (curl -sS -o crl.der %.120s; openssl crl -inform "
		    "DER -in crl.der -noout -issuer -nextupdate); authd with "
		    "crl_fetch refuses the client meanwhile", url, url);
		doctor_add(d, DOCTOR_WARN, "crl", fix, "no CRL: %s", cr.detail);
	}
	/* Joins the thread: every fetch has a deadline. */
	fetch_pool_free(&pool);
	crl_fetch_shutdown();
}

static void
doctor_revocation_own(struct doctor *d)
{
	char		 ocsp[FETCH_URL_MAX], cdp[FETCH_URL_MAX];
	int		 i, has_ocsp = 0, has_cdp;
	struct snapshot	*snap = NULL;

	has_cdp = doctor_cdp(d->leaf, cdp, sizeof(cdp));
	has_ocsp = doctor_aia_ocsp(d->leaf, ocsp, sizeof(ocsp));
	for (i = 1; d->cchain != NULL && i < sk_X509_num(d->cchain) - 1; i++)
		has_ocsp |= doctor_aia_ocsp(sk_X509_value(d->cchain, i), ocsp,
		    sizeof(ocsp));
	if (!has_ocsp && !has_cdp) {
		doctor_add(d, DOCTOR_WARN, "revocation", "ask the CA for "
		    "certificates naming its OCSP responder (AIA) or CRL "
		    "distribution point, or give authd the CA's CRL (crl FILE "
		    "in authd.conf) and check with --config", "the certificate "
		    "names no OCSP responder or CRL distribution point");
		return;
	}
	if (d->cchain == NULL) {
		doctor_add(d, DOCTOR_WARN, "revocation", d->o->ca == NULL ?
		    "give --ca with the client's root CA (and its "
		    "intermediates in --cert), or --config" : "fix "
		    "client-chain first", "not checked: the issuer's "
		    "answers cannot be verified without a verified chain");
		return;
	}
	if (doctor_own_snapshot(d, has_cdp, &snap) != 0) {
		doctor_add(d, DOCTOR_FAIL, "revocation", "retry; this is an "
		    "OpenSSL or memory failure", "not checked: cannot set up "
		    "the trust to verify answers with");
		return;
	}
	if (has_ocsp)
		doctor_ocsp_own(d, snap);
	if (has_cdp)
		doctor_crl_own(d, snap, cdp);
	snapshot_release(snap);
}

/* CRL and OCSP with authd's own modules, over the verified chain. */
static void
doctor_revocation(struct doctor *d)
{
	const struct snapshot	*s = d->o->snap;
	struct crl_result	 cr;
	struct ocsp_result	 or;
	char			 dn[256];

	if (s == NULL) {
		doctor_revocation_own(d);
		return;
	}
	if (s->crl == NULL && s->cfg.ocsp_mode == 0) {
		doctor_add(d, DOCTOR_WARN, "revocation", "configure crl FILE, "
		    "crl_fetch on or ocsp leaf in authd.conf "
		    "(docs/configuration.md)", "not checked: the configuration "
		    "has no CRL and no OCSP: a revoked certificate is allowed");
		return;
	}
	if (d->cchain == NULL) {
		doctor_add(d, DOCTOR_WARN, "revocation", "fix client-chain "
		    "first", "not checked: the chain does not verify");
		return;
	}
	if (s->crl != NULL) {
		crl_check(s->crl, d->cchain, d->now, (enum crl_scope)
		    s->cfg.crl_scope, s->cfg.crl_missing_allow,
		    s->cfg.crl_grace, &cr);
		switch (cr.status) {
		case CRL_GOOD:
			doctor_add(d, cr.in_grace ? DOCTOR_WARN : DOCTOR_OK,
			    "crl", "publish a fresh CRL", "not revoked (%s "
			    "scope)%s", s->cfg.crl_scope ? "leaf" : "chain",
			    cr.in_grace ? "; a CRL is past nextUpdate "
			    "(crl_grace)" : "");
			break;
		case CRL_REVOKED:
			dn[0] = '\0';
			if (cr.depth >= 0 && cr.depth < sk_X509_num(d->cchain))
				identity_dn(X509_get_subject_name(
				    sk_X509_value(d->cchain, cr.depth)), dn,
				    sizeof(dn));
			doctor_add(d, DOCTOR_FAIL, "crl", "issue the client a "
			    "new certificate (or, if revoked by mistake, "
			    "publish a CRL without it)", "revoked: %s (depth "
			    "%d) is %s", dn, cr.depth, cr.detail);
			break;
		case CRL_EXPIRED:
			doctor_add(d, DOCTOR_FAIL, "crl", "publish a fresh CRL "
			    "(or set crl_grace)", "expired CRL: %s", cr.detail);
			break;
		case CRL_MISSING:
			doctor_add(d, DOCTOR_FAIL, "crl", "add the issuer's CRL "
			    "to crl, or set crl_fetch on, or crl_missing allow",
			    "no CRL: %s", cr.detail);
			break;
		default:
			doctor_add(d, DOCTOR_FAIL, "crl", "see authd's log",
			    "cannot tell: %s", cr.detail[0] ? cr.detail :
			    "a CRL is being fetched");
		}
	}
	if (s->cfg.ocsp_mode != 0) {
		ocsp_check(&s->ocsp, d->cchain, d->now, &or);
		if (or.status == OCSP_OK)
			doctor_add(d, DOCTOR_OK, "ocsp", NULL, "good, says %s",
			    or.responder[0] ? or.responder : "the responder");
		else if (or.status == OCSP_REVOKED)
			doctor_add(d, DOCTOR_FAIL, "ocsp", "issue the client a "
			    "new certificate", "%s", or.detail);
		else
			doctor_add(d, s->cfg.ocsp_failure_allow ? DOCTOR_WARN :
			    DOCTOR_FAIL, "ocsp", "make the responder reachable "
			    "from authd (or set ocsp_responder)", "no answer"
			    "%s: %s", s->cfg.ocsp_failure_allow ? " (allowed "
			    "unchecked: ocsp_failure allow)" : "", or.detail);
	}
}

static const char *
doctor_verdict_fix(enum verdict_reason r)
{
	switch (r) {
	case VERDICT_UNTRUSTED:
		return "add the client's root CA to authd's trust and its "
		    "intermediates to intermediates";
	case VERDICT_EXPIRED:
	case VERDICT_REVOKED:
		return "issue the client a new certificate";
	case VERDICT_NOT_YET_VALID:
		return "check the clocks (timedatectl), or wait";
	case VERDICT_WRONG_PURPOSE:
		return "reissue it with extendedKeyUsage = clientAuth";
	case VERDICT_POLICY_NOT_ACCEPTED:
		return "authd check --config FILE CERT shows the chain's valid "
		    "policies: issue it under an accepted policy, or change "
		    "require_policy";
	case VERDICT_REVOCATION_UNKNOWN:
		return "make the CRL or OCSP responder available to authd "
		    "(or decide to soft-fail: crl_missing / ocsp_failure allow)";
	case VERDICT_CRL_EXPIRED:
		return "publish a fresh CRL (or set crl_grace)";
	case VERDICT_NO_MATCHING_RULE:
	case VERDICT_POLICY_DENY:
		return "authd check --config FILE --uri PATH CERT names the "
		    "rule: change the policy or the path";
	default:
		return "authd check --config FILE CERT explains the decision";
	}
}

/* authd's decision for the certificate, as authd check makes it. */
static void
doctor_decision(struct doctor *d)
{
	struct verdict_input	 in;
	struct verdict		 v;
	STACK_OF(X509)		*chain = NULL;
	BIO			*bio = NULL;
	char			*pem = NULL;
	long			 len;

	if (d->o->snap == NULL)
		return;
	if ((bio = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio_X509(bio, d->leaf) != 1 ||
	    (len = BIO_get_mem_data(bio, &pem)) <= 0) {
		doctor_add(d, DOCTOR_FAIL, "authd", "retry; this is an OpenSSL "
		    "failure", "cannot encode the certificate");
		goto end;
	}
	memset(&in, 0, sizeof(in));
	in.cert = pem;
	in.cert_len = (size_t)len;
	in.cert_is_pem = 1;
	in.uri = d->url.path;
	in.method = "GET";
	in.host = d->url.host;
	verdict_decide(d->o->snap, NULL, &in, d->now, &v, &chain);
	if (v.reason == VERDICT_OK)
		doctor_add(d, v.revocation == REVOCATION_UNCHECKED ?
		    DOCTOR_WARN : DOCTOR_OK,
		    "authd", "make revocation checkable (see ocsp)",
		    "allow (200) for GET %.200s%s%s%s", d->url.path,
		    v.policy_applied ? ", rule " : "", v.rule,
		    v.revocation == REVOCATION_UNCHECKED ?
		    ", revocation unchecked" : "");
	else
		doctor_add(d, DOCTOR_FAIL, "authd", doctor_verdict_fix(v.reason),
		    "deny %s (%d) for GET %.200s%s%s: %s",
		    verdict_reason_text(&v), verdict_reason_status(v.reason),
		    d->url.path, v.rule[0] ? ", rule " : "", v.rule,
		    v.detail[0] ? v.detail : "no detail");
end:
	sk_X509_pop_free(chain, X509_free);
	BIO_free(bio);
	ERR_clear_error();
}

/* ------------------------------------------------------------ request */

/* The value of header name in the answer, escaped, or "". */
static void
doctor_header(const char *buf, const char *name, char *out, size_t len)
{
	const char	*p = strstr(buf, "\r\n"), *end, *v;
	size_t		 nlen = strlen(name);

	out[0] = '\0';
	while (p != NULL && strncmp(p, "\r\n\r\n", 4) != 0) {
		p += 2;
		if ((end = strstr(p, "\r\n")) == NULL)
			return;
		if ((size_t)(end - p) > nlen && strncasecmp(p, name, nlen) == 0 &&
		    p[nlen] == ':') {
			for (v = p + nlen + 1; *v == ' ' || *v == '\t'; v++)
				;
			log_escape(out, len, v, (size_t)(end - v));
			return;
		}
		p = end;
	}
}

static void
doctor_http(struct doctor *d)
{
	struct doctor_conn	 c;
	char			 err[512], req[DOCTOR_PATH_MAX + DOCTOR_HOST_MAX +
				    128], buf[DOCTOR_HTTP_MAX + 1], reason[80];
	const char		*body, *what;
	size_t			 got = 0;
	int			 r, n, status, rc;

	if ((rc = doctor_tls(d, d->withcert, &c, err, sizeof(err))) != 0) {
		doctor_add(d, DOCTOR_FAIL, "http", rc == -1 ? "start nginx, or "
		    "check the host and port" : "see nginx's error.log for the "
		    "reason it gives", "%s with the client certificate: %s",
		    rc == -1 ? "cannot connect" : "handshake failed", err);
		goto end;
	}
	n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s%s%s:%s\r\n"
	    "User-Agent: authd-doctor/%s\r\nConnection: close\r\n\r\n",
	    d->url.path, strchr(d->url.host, ':') ? "[" : "", d->url.host,
	    strchr(d->url.host, ':') ? "]" : "", d->url.port, AUTHD_VERSION);
	if (n < 0 || (size_t)n >= sizeof(req))
		goto end;	/* cannot happen: the URL is bounded */
	errno = 0;
	if ((r = SSL_write(c.ssl, req, n)) <= 0) {
		doctor_tls_error(d, c.ssl, r, errno, err, sizeof(err));
		doctor_add(d, DOCTOR_FAIL, "http", "see nginx's error.log",
		    "cannot send the request: %s", err);
		goto end;
	}
	while (got < DOCTOR_HTTP_MAX) {
		errno = 0;
		if ((r = SSL_read(c.ssl, buf + got, (int)(DOCTOR_HTTP_MAX -
		    got))) <= 0) {
			if (got > 0 || SSL_get_error(c.ssl, r) ==
			    SSL_ERROR_ZERO_RETURN)
				break;
			doctor_tls_error(d, c.ssl, r, errno, err, sizeof(err));
			/* TLS 1.3: a refused client certificate shows here. */
			doctor_add(d, DOCTOR_FAIL, "http", "the server refused "
			    "the client certificate in the handshake: see "
			    "nginx's error.log", "no answer to GET %.200s with "
			    "the client certificate: %s", d->url.path, err);
			goto end;
		}
		got += (size_t)r;
	}
	buf[got] = '\0';
	if (got < 12 || strncmp(buf, "HTTP/1.", 7) != 0 || buf[8] != ' ' ||
	    buf[9] < '1' || buf[9] > '5' || buf[10] < '0' || buf[10] > '9' ||
	    buf[11] < '0' || buf[11] > '9') {
		doctor_add(d, DOCTOR_FAIL, "http", "is this an HTTPS server "
		    "(nginx)?", "no HTTP answer to GET %.200s", d->url.path);
		goto end;
	}
	status = (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0');
	doctor_header(buf, "X-Authd-Reason", reason, sizeof(reason));
	body = strstr(buf, "\r\n\r\n");
	what = body == NULL ? "" : strstr(body, "SSL certificate error") ?
	    ": nginx refused the certificate itself (The SSL certificate "
	    "error)" : strstr(body, "No required SSL certificate") ?
	    ": nginx got no client certificate" : "";
	if (status < 400)
		doctor_add(d, DOCTOR_OK, "http", NULL, "GET %.200s with the "
		    "client certificate: %d", d->url.path, status);
	else if (status == 404)
		doctor_add(d, DOCTOR_WARN, "http", "put a path that authd "
		    "protects in the URL", "GET %.200s with the client "
		    "certificate: 404", d->url.path);
	else if (status == 401 || status == 403 || status == 400)
		doctor_add(d, DOCTOR_FAIL, "http", reason[0] ? "authd refused "
		    "it: see the findings above, or authd check --config FILE "
		    "CERT" : "see nginx's error.log for the reason",
		    "GET %.200s with the client certificate: %d%s%s%s",
		    d->url.path, status, reason[0] ? ", X-Authd-Reason: " : "",
		    reason, what);
	else
		doctor_add(d, DOCTOR_FAIL, "http", status == 500 ? "is authd "
		    "running? nginx answers 500 when the auth subrequest fails"
		    : "see nginx's error.log", "GET %.200s with the client "
		    "certificate: %d", d->url.path, status);
end:
	doctor_conn_close(&c);
	ERR_clear_error();
}

/* ------------------------------------------------------------ main */

int
doctor_run(const struct doctor_opts *o, FILE *out)
{
	struct doctor		 d;
	struct doctor_conn	 c;
	char			 err[512];
	int			 rc = DOCTOR_EXIT_USAGE, r;

	memset(&d, 0, sizeof(d));
	c.fd = -1;
	c.ssl = NULL;
	c.names = NULL;
	d.o = o;
	d.out = out;
	d.now = time(NULL);
	if (doctor_url_parse(o->url, &d.url, err, sizeof(err)) != 0) {
		fprintf(stderr, "authd doctor: %s\n", err);
		goto end;
	}
	if (doctor_setup(&d) != 0)
		goto end;

	if ((r = doctor_tls(&d, d.plain, &c, err, sizeof(err))) != 0) {
		if (r == -1)
			doctor_add(&d, DOCTOR_FAIL, "connect", "start nginx, or "
			    "check the host and port (nginx's listen "
			    "directive; ss -ltn)", "cannot connect to %s port "
			    "%s: %s", d.url.host, d.url.port, err);
		else
			doctor_add(&d, DOCTOR_FAIL, "connect", "is this an HTTPS "
			    "port? (nginx: listen ... ssl)", "TLS handshake "
			    "with %s port %s failed: %s", d.url.host,
			    d.url.port, err);
		goto done;
	}
	doctor_add(&d, DOCTOR_OK, "connect", NULL, "%s port %s: %s, %s",
	    d.url.host, d.url.port, SSL_get_version(c.ssl),
	    SSL_get_cipher_name(c.ssl));
	doctor_server_chain(&d, c.ssl);
	doctor_server_expiry(&d, c.ssl);
	doctor_server_name(&d, c.ssl);
	d.requested = c.requested;
	d.names = c.names;
	c.names = NULL;
	doctor_conn_close(&c);
	doctor_cert_request(&d);

	if (d.leaf == NULL) {
		doctor_add(&d, DOCTOR_WARN, "client-cert", "give --cert (and "
		    "--key) to check a client certificate", "not checked: no "
		    "client certificate given");
		goto done;
	}
	doctor_client_chain(&d);
	doctor_client_issuer(&d);
	doctor_client_validity(&d);
	doctor_client_eku(&d);
	doctor_revocation(&d);
	doctor_decision(&d);
	doctor_http(&d);
done:
	if (o->json)
		doctor_json(&d);
	else
		fprintf(out, "%zu ok, %zu warning%s, %zu failed\n",
		    d.count[DOCTOR_OK], d.count[DOCTOR_WARN],
		    d.count[DOCTOR_WARN] == 1 ? "" : "s", d.count[DOCTOR_FAIL]);
	rc = d.count[DOCTOR_FAIL] ? DOCTOR_EXIT_FAIL : DOCTOR_EXIT_OK;
end:
	doctor_conn_close(&c);
	sk_X509_NAME_pop_free(d.names, X509_NAME_free);
	sk_X509_pop_free(d.cchain, X509_free);
	sk_X509_pop_free(d.extras, X509_free);
	X509_free(d.leaf);
	SSL_CTX_free(d.plain);
	SSL_CTX_free(d.withcert);
	X509_STORE_free(d.ca);
	ERR_clear_error();
	return rc;
}
