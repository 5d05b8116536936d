/*
 * audit.h: the audit log, one JSON line per decision (docs/operations.md).
 *
 * `audit_log FILE|stderr|off`.  Lines are built on the request thread in a
 * bounded buffer and queued; a writer thread writes the queue with one
 * write(2) on a file opened O_APPEND at most 20 ms later, so lines never
 * interleave and a request pays no system call for its line.  SIGUSR1 reopens the file
 * (logrotate): the new file takes the place of the old descriptor with
 * dup2, so a thread writing at that moment writes to one file or the other,
 * never to a closed or reused descriptor.
 *
 * What a client chose (URI, host, method, request id, rule set) is
 * JSON-escaped and cut to a bound; certificates and raw headers are never
 * written.
 */
#ifndef AUTHD_AUDIT_H
#define AUTHD_AUDIT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Longest line written; fields are cut to fit their own bounds first. */
#define AUDIT_LINE_MAX		 16384
/* Longest request id taken from X-Request-Id (nginx's $request_id is 32). */
#define AUDIT_REQUEST_ID_MAX	 64

/*
 * Set the destination: "off" (or NULL), "stderr", or a file path (created
 * mode 0640, appended to).  Called at start and at every reload; a path
 * that did not change is left alone.  Returns 0, or -1 with the reason
 * logged (the previous destination stays).
 */
int	 audit_configure(const char *dest);

/* Reopen the file (SIGUSR1).  Returns 0, or -1 (logged; old file kept). */
int	 audit_reopen(void);

/* Whether lines are being written: cheap, for the request path. */
int	 audit_enabled(void);

/*
 * Close the file at shutdown (no thread may write any more), after the
 * writer thread has written every queued line.
 */
void	 audit_shutdown(void);

/* Wait until every line written so far is in the file (tests, reopen). */
void	 audit_flush(void);

/*
 * One decision.  Strings may be NULL (written as null); subject, issuer,
 * serial and fingerprint come from authd's own sanitised identity, the
 * request fields from nginx's headers.  revocation_age < 0: unknown
 * (omitted).
 */
struct audit_record {
	struct timespec	 when;		/* CLOCK_REALTIME of the answer */
	const char	*request_id;	/* sane id, or NULL: one is made */
	int		 status;
	const char	*reason;
	const char	*rule;		/* "file:line", or NULL */
	const char	*ruleset;
	const char	*subject, *issuer, *serial, *fingerprint;
	const char	*revocation;	/* crl, ocsp, crl+ocsp, unchecked, none */
	long long	 revocation_age;
	int		 cached;
	uint64_t	 latency_us;
	const char	*method, *uri, *host;
	const char	*client_verify;	/* nginx's $ssl_client_verify */
	/* smart cards and certificate policies: written when not NULL or "" */
	const char	*upn, *fascn, *uuid, *cert_policy;
};

/* Write r as one line.  Never fails the request: errors are counted. */
void	 audit_write(const struct audit_record *r);

/*
 * Whether id (len bytes, need not be terminated) is a request id worth
 * logging as is: 1 to AUDIT_REQUEST_ID_MAX bytes of letters, digits and
 * "-._:".  Anything else is replaced by a generated id.
 */
int	 audit_request_id_ok(const char *id, size_t len);

/*
 * Append src (srclen bytes) to dst as a JSON string, quotes included:
 * '"', '\\' and control bytes escaped; well-formed UTF-8 written as the
 * \u escapes of its code points, any other byte >= 0x7f as \ufffd (so the
 * line is ASCII and valid JSON whatever the client sent).  At most max
 * source bytes are taken; a longer value ends in "...".  dst has room for
 * cap bytes including the NUL; *off is the current length and is advanced.
 * Returns 0, or -1 when it did not fit (dst is left terminated at *off as
 * it was).
 */
int	 audit_json_str(char *dst, size_t cap, size_t *off, const char *src,
	    size_t srclen, size_t max);

/* Lines not written (write errors, short writes), for /metrics. */
uint64_t audit_errors(void);

#endif
