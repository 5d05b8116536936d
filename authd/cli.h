/*
 * cli.h: the command line.  Long flags that name configuration keys are
 * collected and applied after the configuration file, so the flag wins.
 */
#ifndef AUTHD_CLI_H
#define AUTHD_CLI_H

#include <stdio.h>
#include <time.h>

#define CLI_MAX_FLAGS	 64

enum cli_command {
	CLI_NONE = 0,
	CLI_SERVE,
	CLI_CHECK,
	CLI_POLICY_CHECK,
	CLI_DOCTOR,
	CLI_VERSION,
	CLI_HELP,
};

struct cli_flag {
	char		 key[64];	/* without the dashes; may use '-' */
	const char	*value;
};

struct cli {
	enum cli_command	 command;
	const char		*config;	/* --config */
	int			 check_only;	/* serve -n */
	int			 json;		/* check, doctor --json */
	int			 have_at;
	time_t			 at;		/* check --at */
	const char		*uri, *method, *host, *ruleset;
	const char		*cert;		/* check: the certificate file;
						   doctor --cert */
#define CLI_OCSP_RESPONSES_MAX	 8
	/* check --ocsp-response, once per depth of the chain */
	const char		*ocsp_response[CLI_OCSP_RESPONSES_MAX];
	size_t			 nocsp_response;
	const char		*policy;	/* policy check: the file */
	const char		*url;		/* doctor: https://HOST:PORT */
	const char		*key, *ca;	/* doctor --key, --ca */
	int			 timeout;	/* doctor --timeout, seconds */
	struct cli_flag		 flags[CLI_MAX_FLAGS];
	size_t			 nflags;
};

/*
 * Parse argv (pointers into it are kept).  Returns 0, or -1 with a message
 * in err (a usage error: exit 2).
 */
int	 cli_parse(int argc, char **argv, struct cli *cli, char *err,
	    size_t errlen);

/* RFC 3339 ("2026-01-02T03:04:05Z", offsets allowed) or Unix seconds. */
int	 cli_parse_time(const char *s, time_t *out);

void	 cli_usage(FILE *f);

#endif
