/*
 * doctor.h: authd doctor, the troubleshooting guide in one command.
 *
 * Connects to an HTTPS server (nginx in front of authd) with OpenSSL and
 * reports one finding per check: the server's chain, expiry and name;
 * whether it asks for a client certificate and which CA names it sends;
 * and, given a client certificate, whether its issuer is named, its chain,
 * validity, EKU, revocation (authd's settings with an authd
 * configuration, else what the certificate names: AIA OCSP, CRL
 * distribution points), authd's decision (with an authd configuration)
 * and what a request with it gets.  Each finding that is
 * not ok carries a concrete fix.  Everything printed is bounded and
 * escaped: names come from certificates someone else made.
 */
#ifndef AUTHD_DOCTOR_H
#define AUTHD_DOCTOR_H

#include <stdio.h>

#define DOCTOR_EXIT_OK		 0	/* nothing failed (warnings allowed) */
#define DOCTOR_EXIT_FAIL	 1	/* at least one check failed */
#define DOCTOR_EXIT_USAGE	 2	/* bad URL or unreadable file */

#define DOCTOR_TIMEOUT_DEFAULT	 10	/* seconds, per connect/read */

struct snapshot;

struct doctor_opts {
	const char		*url;		/* https://HOST[:PORT][/PATH] */
	const char		*cert;		/* client certificate (+ chain), or NULL */
	const char		*key;		/* its key; NULL: in the cert file */
	const char		*ca;		/* server CA file; NULL: system store */
	int			 timeout;	/* seconds, 1..120 */
	int			 json;		/* one JSON document instead */
	/* authd's configuration (--config), or NULL: borrowed for the call */
	const struct snapshot	*snap;
};

#define DOCTOR_HOST_MAX		 256
#define DOCTOR_PATH_MAX		 1024

struct doctor_url {
	char	 host[DOCTOR_HOST_MAX];	/* without brackets for IPv6 */
	char	 port[8];		/* "443" when not given */
	char	 path[DOCTOR_PATH_MAX];	/* "/" when not given */
	int	 is_ip;			/* host is an IP literal (no SNI) */
};

/*
 * Split an https URL.  Only printable ASCII without spaces is accepted;
 * the port must be 1..65535.  Returns 0, or -1 with a message in err.
 */
int	 doctor_url_parse(const char *url, struct doctor_url *u, char *err,
	    size_t errlen);

/*
 * Run every check and print the findings to out (errors about the
 * command line itself go to stderr).  Returns a DOCTOR_EXIT_* code.
 */
int	 doctor_run(const struct doctor_opts *o, FILE *out);

#endif
