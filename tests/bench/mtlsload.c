/*
 * mtlsload.c: an HTTPS load generator that presents a client certificate
 * (wrk cannot), for tests/bench/e2e.sh.  Loopback benchmarks only.
 *
 *   mtlsload HOST PORT PATH CERT KEY CA THREADS SECONDS keepalive|new
 *
 * THREADS threads each keep one connection and send GET PATH on it, one
 * request at a time, for SECONDS: `keepalive` reuses the connection (HTTP/1.1
 * keep-alive), `new` makes a new TLS connection, with a full handshake (no
 * session resumption), for every request.  CERT is the client certificate
 * (with its chain), KEY its key, CA the roots the server's certificate is
 * checked against.  Responses are read by Content-Length.  Prints one line:
 *
 *   MTLS requests=N seconds=S rps=X p50_us=N p99_us=N non200=N errors=N
 *
 * and exits 1 if no request succeeded.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#define SAMPLES_MAX	 (4 * 1024 * 1024)	/* latencies kept per thread */

static const char	*host, *path;
static int		 port, keepalive;
static double		 deadline;
static SSL_CTX		*ctx;

struct worker {
	pthread_t	 tid;
	unsigned int	*lat;		/* microseconds */
	size_t		 n;
	unsigned long	 non200, errors;
};

static double
now_s(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static SSL *
dial(void)
{
	struct sockaddr_in	 sin;
	SSL			*ssl;
	int			 fd, one = 1;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)port);
	if (inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr) != 1)
		return NULL;
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return NULL;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    (ssl = SSL_new(ctx)) == NULL) {
		close(fd);
		return NULL;
	}
	SSL_set_fd(ssl, fd);
	SSL_set_tlsext_host_name(ssl, host);
	if (SSL_connect(ssl) != 1) {
		ERR_clear_error();
		SSL_free(ssl);
		close(fd);
		return NULL;
	}
	return ssl;
}

static void
hangup(SSL *ssl)
{
	int	 fd;

	if (ssl == NULL)
		return;
	fd = SSL_get_fd(ssl);
	SSL_free(ssl);
	close(fd);
}

/* One request on ssl: its status, or -1 when the connection failed. */
static int
exchange(SSL *ssl, const char *req, size_t reqlen)
{
	char	 buf[16384], *hdr_end, *cl;
	size_t	 have = 0, body = 0, need;
	int	 r, status;

	if (SSL_write(ssl, req, (int)reqlen) != (int)reqlen)
		return -1;
	for (;;) {
		if (have == sizeof(buf) - 1)
			return -1;
		if ((r = SSL_read(ssl, buf + have, (int)(sizeof(buf) - 1 -
		    have))) <= 0)
			return -1;
		have += (size_t)r;
		buf[have] = '\0';
		if ((hdr_end = strstr(buf, "\r\n\r\n")) != NULL)
			break;
	}
	if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1)
		return -1;
	need = 0;
	if ((cl = strcasestr(buf, "\r\ncontent-length:")) != NULL &&
	    cl < hdr_end)
		need = strtoul(cl + 17, NULL, 10);
	body = have - (size_t)(hdr_end + 4 - buf);
	while (body < need) {
		if ((r = SSL_read(ssl, buf, (int)sizeof(buf))) <= 0)
			return -1;
		body += (size_t)r;
	}
	return status;
}

static void *
work(void *arg)
{
	struct worker	*w = arg;
	char		 req[1024];
	SSL		*ssl = NULL;
	double		 t0, t1;
	int		 len, status;

	len = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s\r\n%s"
	    "\r\n", path, host, keepalive ? "" : "Connection: close\r\n");
	while ((t0 = now_s()) < deadline) {
		if (ssl == NULL && (ssl = dial()) == NULL) {
			w->errors++;
			usleep(1000);
			continue;
		}
		status = exchange(ssl, req, (size_t)len);
		t1 = now_s();
		if (status < 0) {
			w->errors++;
			hangup(ssl);
			ssl = NULL;
			continue;
		}
		if (status != 200)
			w->non200++;
		if (w->n < SAMPLES_MAX)
			w->lat[w->n++] = (unsigned int)((t1 - t0) * 1e6);
		if (!keepalive) {
			hangup(ssl);
			ssl = NULL;
		}
	}
	hangup(ssl);
	return NULL;
}

static int
cmp_uint(const void *a, const void *b)
{
	unsigned int	 x = *(const unsigned int *)a, y = *(const unsigned int *)b;

	return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
	struct worker	*ws;
	unsigned int	*all;
	size_t		 total = 0, i, k;
	unsigned long	 non200 = 0, errors = 0;
	double		 secs, start;
	int		 nthreads, t;

	if (argc != 10) {
		fprintf(stderr, "usage: mtlsload HOST PORT PATH CERT KEY CA "
		    "THREADS SECONDS keepalive|new\n");
		return 2;
	}
	host = argv[1];
	port = atoi(argv[2]);
	path = argv[3];
	nthreads = atoi(argv[7]);
	secs = atof(argv[8]);
	keepalive = strcmp(argv[9], "keepalive") == 0;
	if (nthreads < 1 || nthreads > 256 || secs <= 0 || secs > 600 ||
	    (!keepalive && strcmp(argv[9], "new") != 0)) {
		fprintf(stderr, "mtlsload: bad arguments\n");
		return 2;
	}
	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL ||
	    SSL_CTX_use_certificate_chain_file(ctx, argv[4]) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, argv[5], SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_load_verify_locations(ctx, argv[6], NULL) != 1) {
		ERR_print_errors_fp(stderr);
		return 2;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	/* Every new connection a full handshake, as a client seen first. */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	if ((ws = calloc((size_t)nthreads, sizeof(*ws))) == NULL)
		return 2;
	start = now_s();
	deadline = start + secs;
	for (t = 0; t < nthreads; t++) {
		if ((ws[t].lat = malloc(SAMPLES_MAX * sizeof(unsigned int))) ==
		    NULL || pthread_create(&ws[t].tid, NULL, work, &ws[t]) != 0)
			return 2;
	}
	for (t = 0; t < nthreads; t++) {
		pthread_join(ws[t].tid, NULL);
		total += ws[t].n;
		non200 += ws[t].non200;
		errors += ws[t].errors;
	}
	secs = now_s() - start;
	if ((all = malloc((total > 0 ? total : 1) * sizeof(*all))) == NULL)
		return 2;
	for (t = 0, k = 0; t < nthreads; t++)
		for (i = 0; i < ws[t].n; i++)
			all[k++] = ws[t].lat[i];
	qsort(all, total, sizeof(*all), cmp_uint);
	printf("MTLS requests=%zu seconds=%.2f rps=%.0f p50_us=%u p99_us=%u "
	    "non200=%lu errors=%lu\n", total, secs, (double)total / secs,
	    total > 0 ? all[total / 2] : 0,
	    total > 0 ? all[total * 99 / 100] : 0, non200, errors);
	return total > non200 ? 0 : 1;
}
