/* cli.c: argv to struct cli, with nothing applied yet. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "config.h"

/* "Keys: a, b, ..." from config.c's table, wrapped at 72 columns. */
static void
cli_usage_keys(FILE *f)
{
	const char	*k;
	size_t		 i, col = 5;

	fputs("Keys:", f);
	for (i = 0; (k = config_key_name(i)) != NULL; i++) {
		if (col + 2 + strlen(k) > 72) {
			fputs(i > 0 ? ",\n" : "\n", f);
			col = 0;
		} else if (i > 0) {
			fputs(", ", f);
			col += 2;
		} else {
			fputc(' ', f);
			col++;
		}
		fputs(k, f);
		col += strlen(k);
	}
	fputs(".\n", f);
}

void
cli_usage(FILE *f)
{
	fprintf(f,
"usage: authd serve [--config FILE] [-n] [--KEY VALUE ...]\n"
"       authd check [--config FILE] [--KEY VALUE ...] [--uri PATH]\n"
"                   [--method M] [--host H] [--ruleset R] [--at TIME]\n"
"                   [--purpose client|server|any] [--ocsp-response DER]...\n"
"                   [--json] CERT.pem\n"
"       authd policy check FILE\n"
"       authd doctor [--cert C.pem [--key K.pem]] [--ca FILE]\n"
"                    [--config FILE] [--timeout S] [--json]\n"
"                    https://HOST[:PORT][/PATH]\n"
"       authd version\n"
"\n"
"Every configuration key is also a flag: \"trust FILE\" in the file is\n"
"--trust FILE here (dashes and underscores are the same); the flag wins.\n");
	cli_usage_keys(f);
	fprintf(f,
"See docs/configuration.md and docs/policy.md.\n"
"\n"
"serve -n     check the configuration and exit (0 good, 2 bad)\n"
"check        decide offline; first line \"allow\" or \"deny REASON\";\n"
"             exit 0 allow, 1 deny, 2 usage or configuration error\n"
"policy check compile a policy file and its lists, print every error as\n"
"             file:line:col: message; exit 0 good, 2 bad (docs/policy.md)\n"
"doctor       connect to nginx and check its mTLS setup, one line per\n"
"             finding (ok, warn, FAIL) with a fix; exit 0 nothing failed,\n"
"             1 something failed, 2 usage (docs/troubleshooting.md)\n");
}

/* Days from the civil date, proleptic Gregorian (Howard Hinnant's method). */
static long long
cli_days_from_civil(long long y, unsigned m, unsigned d)
{
	long long	 era;
	unsigned	 yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? (unsigned)-3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (long long)doe - 719468;
}

static int
cli_month_days(int y, int m)
{
	static const int	 days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30,
				    31, 30, 31 };
	int			 leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : days[m - 1];
}

static int
cli_digits(const char **p, int n, int *out)
{
	int	 v = 0, i;

	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return -1;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

int
cli_parse_time(const char *s, time_t *out)
{
	const char	*p = s;
	int		 y, mo, d, h, mi, sec, oh, om, sign;
	long long	 t;
	char		*end;

	if (*s == '\0')
		return -1;
	if (strspn(s, "0123456789") == strlen(s)) {
		errno = 0;
		t = strtoll(s, &end, 10);
		if (errno != 0 || *end != '\0')
			return -1;
		*out = (time_t)t;
		return 0;
	}
	if (cli_digits(&p, 4, &y) || *p++ != '-' || cli_digits(&p, 2, &mo) ||
	    *p++ != '-' || cli_digits(&p, 2, &d) ||
	    (*p != 'T' && *p != 't' && *p != ' ') || !*p++ ||
	    cli_digits(&p, 2, &h) || *p++ != ':' || cli_digits(&p, 2, &mi) ||
	    *p++ != ':' || cli_digits(&p, 2, &sec))
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > cli_month_days(y, mo) ||
	    h > 23 || mi > 59 || sec > 60)
		return -1;
	if (*p == '.') {		/* fractional seconds are ignored */
		p++;
		if (!isdigit((unsigned char)*p))
			return -1;
		while (isdigit((unsigned char)*p))
			p++;
	}
	t = cli_days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400LL +
	    h * 3600LL + mi * 60LL + sec;
	if (*p == 'Z' || *p == 'z')
		p++;
	else if (*p == '+' || *p == '-') {
		sign = *p++ == '+' ? 1 : -1;
		if (cli_digits(&p, 2, &oh) || *p++ != ':' ||
		    cli_digits(&p, 2, &om) || oh > 23 || om > 59)
			return -1;
		t -= sign * (oh * 3600LL + om * 60LL);
	} else
		return -1;
	if (*p != '\0')
		return -1;
	*out = (time_t)t;
	return 0;
}

/* --name=value or --name value; returns the value or NULL. */
static const char *
cli_value(int argc, char **argv, int *i, const char *eq)
{
	if (eq != NULL)
		return eq + 1;
	if (*i + 1 >= argc)
		return NULL;
	return argv[++*i];
}

int
cli_parse(int argc, char **argv, struct cli *cli, char *err, size_t errlen)
{
	const char	*arg, *eq, *val, *cmd;
	char		 name[64];
	size_t		 nlen;
	int		 i;

	memset(cli, 0, sizeof(*cli));
	if (argc < 2) {
		snprintf(err, errlen, "missing command");
		return -1;
	}
	cmd = argv[1];
	if (strcmp(cmd, "serve") == 0)
		cli->command = CLI_SERVE;
	else if (strcmp(cmd, "check") == 0)
		cli->command = CLI_CHECK;
	else if (strcmp(cmd, "doctor") == 0) {
		cli->command = CLI_DOCTOR;
		cli->timeout = 10;
	}
	else if (strcmp(cmd, "policy") == 0) {
		if (argc < 3 || strcmp(argv[2], "check") != 0) {
			snprintf(err, errlen, "policy: expected \"policy check "
			    "FILE\"");
			return -1;
		}
		if (argc != 4 || argv[3][0] == '\0' || (argv[3][0] == '-' &&
		    argv[3][1] == '-')) {
			snprintf(err, errlen, "policy check: expected one FILE");
			return -1;
		}
		cli->command = CLI_POLICY_CHECK;
		cli->policy = argv[3];
		return 0;
	} else if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0)
		cli->command = CLI_VERSION;
	else if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 ||
	    strcmp(cmd, "-h") == 0)
		cli->command = CLI_HELP;
	else {
		snprintf(err, errlen, "unknown command \"%.64s\"", cmd);
		return -1;
	}
	for (i = 2; i < argc; i++) {
		arg = argv[i];
		if (strcmp(arg, "-n") == 0 && cli->command == CLI_SERVE) {
			cli->check_only = 1;
			continue;
		}
		if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
			cli->command = CLI_HELP;
			return 0;
		}
		if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0') {
			if (cli->command == CLI_CHECK && cli->cert == NULL &&
			    (arg[0] != '-' || arg[1] == '\0')) {
				cli->cert = arg;
				continue;
			}
			if (cli->command == CLI_DOCTOR && cli->url == NULL &&
			    arg[0] != '-') {
				cli->url = arg;
				continue;
			}
			snprintf(err, errlen, "unexpected argument \"%.64s\"", arg);
			return -1;
		}
		eq = strchr(arg, '=');
		nlen = eq != NULL ? (size_t)(eq - arg - 2) : strlen(arg + 2);
		if (nlen >= sizeof(name)) {
			snprintf(err, errlen, "unknown option \"%.64s\"", arg);
			return -1;
		}
		memcpy(name, arg + 2, nlen);
		name[nlen] = '\0';
		if (strcmp(name, "json") == 0 && (cli->command == CLI_CHECK ||
		    cli->command == CLI_DOCTOR) && eq == NULL) {
			cli->json = 1;
			continue;
		}
		if ((val = cli_value(argc, argv, &i, eq)) == NULL) {
			snprintf(err, errlen, "--%s needs a value", name);
			return -1;
		}
		if (strcmp(name, "config") == 0)
			cli->config = val;
		else if (cli->command == CLI_CHECK && strcmp(name, "uri") == 0)
			cli->uri = val;
		else if (cli->command == CLI_CHECK && strcmp(name, "method") == 0)
			cli->method = val;
		else if (cli->command == CLI_CHECK && strcmp(name, "host") == 0)
			cli->host = val;
		else if (cli->command == CLI_CHECK && strcmp(name, "ruleset") == 0)
			cli->ruleset = val;
		else if (cli->command == CLI_CHECK &&
		    strcmp(name, "ocsp-response") == 0) {
			if (cli->nocsp_response >= CLI_OCSP_RESPONSES_MAX) {
				snprintf(err, errlen, "--ocsp-response: at most "
				    "%d (one per depth)", CLI_OCSP_RESPONSES_MAX);
				return -1;
			}
			cli->ocsp_response[cli->nocsp_response++] = val;
		}
		else if (cli->command == CLI_DOCTOR && strcmp(name, "cert") == 0)
			cli->cert = val;
		else if (cli->command == CLI_DOCTOR && strcmp(name, "key") == 0)
			cli->key = val;
		else if (cli->command == CLI_DOCTOR && strcmp(name, "ca") == 0)
			cli->ca = val;
		else if (cli->command == CLI_DOCTOR &&
		    strcmp(name, "timeout") == 0) {
			char	*end;
			long	 t;

			errno = 0;
			t = strtol(val, &end, 10);
			if (errno != 0 || end == val || *end != '\0' || t < 1 ||
			    t > 120) {
				snprintf(err, errlen, "--timeout: expected "
				    "seconds, 1..120, got \"%.64s\"", val);
				return -1;
			}
			cli->timeout = (int)t;
		} else if (cli->command == CLI_CHECK && strcmp(name, "at") == 0) {
			if (cli_parse_time(val, &cli->at) != 0) {
				snprintf(err, errlen, "--at: expected RFC 3339 "
				    "(2026-01-02T03:04:05Z) or Unix seconds, got "
				    "\"%.64s\"", val);
				return -1;
			}
			cli->have_at = 1;
		} else if (config_is_key(name)) {
			if (cli->nflags >= CLI_MAX_FLAGS) {
				snprintf(err, errlen, "too many options");
				return -1;
			}
			memcpy(cli->flags[cli->nflags].key, name, nlen + 1);
			cli->flags[cli->nflags].value = val;
			cli->nflags++;
		} else {
			snprintf(err, errlen, "unknown option \"--%s\"", name);
			return -1;
		}
	}
	if (cli->command == CLI_CHECK && cli->cert == NULL) {
		snprintf(err, errlen, "check: missing CERT.pem");
		return -1;
	}
	if (cli->command == CLI_DOCTOR && cli->url == NULL) {
		snprintf(err, errlen, "doctor: missing https://HOST:PORT");
		return -1;
	}
	if (cli->command == CLI_DOCTOR && cli->key != NULL && cli->cert == NULL) {
		snprintf(err, errlen, "doctor: --key needs --cert");
		return -1;
	}
	return 0;
}
