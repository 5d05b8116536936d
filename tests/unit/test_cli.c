/*
 * test_cli.c: cli_parse_time and cli_parse.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "t.h"

static void
test_time(void)
{
	static const struct {
		const char	*in;
		int		 ok;
		long long	 want;
	} cases[] = {
		{ "2026-01-02T03:04:05Z", 1, 1767323045 },
		{ "2026-01-02t03:04:05z", 1, 1767323045 },
		{ "2026-01-02 03:04:05Z", 1, 1767323045 },
		{ "2026-01-02T03:04:05.123Z", 1, 1767323045 },
		{ "2026-01-02T03:04:05.999999999Z", 1, 1767323045 },
		{ "2026-01-02T04:04:05+01:00", 1, 1767323045 },
		{ "2026-01-01T21:34:05-05:30", 1, 1767323045 },
		{ "2026-01-02T03:04:05+00:00", 1, 1767323045 },
		{ "2026-01-02T03:04:05-00:00", 1, 1767323045 },
		{ "2026-01-02T03:04:05.5+01:00", 1, 1767323045 - 3600 },
		{ "1970-01-01T00:00:00Z", 1, 0 },
		{ "1969-12-31T23:59:59Z", 1, -1 },
		{ "2000-02-29T12:00:00Z", 1, 951825600 },
		{ "2024-12-31T23:59:59Z", 1, 1735689599 },
		{ "2038-01-19T03:14:08Z", 1, 2147483648LL },
		{ "2016-12-31T23:59:60Z", 1, 1483228800 },	/* leap second */
		{ "0", 1, 0 },
		{ "1767323045", 1, 1767323045 },
		{ "01767323045", 1, 1767323045 },
		{ "", 0, 0 },
		{ "2026-13-01T00:00:00Z", 0, 0 },
		{ "2026-00-01T00:00:00Z", 0, 0 },
		{ "2026-01-00T00:00:00Z", 0, 0 },
		{ "2026-01-32T00:00:00Z", 0, 0 },
		{ "2026-01-02T24:00:00Z", 0, 0 },
		{ "2026-01-02T03:60:00Z", 0, 0 },
		{ "2026-01-02T03:04:61Z", 0, 0 },
		/*
		 * BUG (authd/cli.c cli_parse_time): the day is only checked
		 * against 31, so February 30 and April 31 are accepted and
		 * silently become March 2 and May 1.
		 */
		{ "2026-02-30T00:00:00Z", 0, 0 },
		{ "2026-04-31T00:00:00Z", 0, 0 },
		{ "2025-02-29T00:00:00Z", 0, 0 },
		{ "2026-01-02", 0, 0 },
		{ "2026-01-02T", 0, 0 },
		{ "2026-01-02T03:04", 0, 0 },
		{ "2026-01-02T03:04:05", 0, 0 },
		{ "2026-01-02T03:04:05.Z", 0, 0 },
		{ "2026-01-02T03:04:05+0100", 0, 0 },
		{ "2026-01-02T03:04:05+01", 0, 0 },
		{ "2026-01-02T03:04:05+1:00", 0, 0 },
		{ "2026-01-02T03:04:05+24:00", 0, 0 },
		{ "2026-01-02T03:04:05+01:60", 0, 0 },
		{ "2026-01-02T03:04:05ZZ", 0, 0 },
		{ "2026-01-02T03:04:05Z ", 0, 0 },
		{ " 2026-01-02T03:04:05Z", 0, 0 },
		{ "2026-1-02T03:04:05Z", 0, 0 },
		{ "26-01-02T03:04:05Z", 0, 0 },
		{ "2026/01/02T03:04:05Z", 0, 0 },
		{ "2026-01-02X03:04:05Z", 0, 0 },
		{ "abc", 0, 0 },
		{ "12x", 0, 0 },
		{ "-1", 0, 0 },
		{ "+5", 0, 0 },
		{ " 5", 0, 0 },
		{ "5 ", 0, 0 },
		{ "1.5", 0, 0 },
		{ "99999999999999999999", 0, 0 },
	};
	size_t		 i;
	time_t		 out;
	int		 rc;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		out = (time_t)-12345;
		rc = cli_parse_time(cases[i].in, &out);
		if (cases[i].ok)
			CHECK(rc == 0 && (long long)out == cases[i].want,
			    "cli_parse_time(%s): expected %lld, got rc %d, %lld",
			    T_STR(cases[i].in), cases[i].want, rc,
			    (long long)out);
		else
			CHECK(rc != 0 && out == (time_t)-12345,
			    "cli_parse_time(%s): expected an error (out "
			    "untouched), got rc %d, %lld", T_STR(cases[i].in),
			    rc, (long long)out);
	}
}

/* argv from a space-separated string; "_" stands for an empty argument. */
static char **
argv_of(const char *s, int *argc)
{
	char		**argv;
	const char	 *p = s, *sp;
	size_t		  len;
	int		  n = 0;

	argv = calloc(CLI_MAX_FLAGS * 2 + 8, sizeof(*argv));
	while (*p != '\0') {
		if ((sp = strchr(p, ' ')) == NULL)
			sp = p + strlen(p);
		len = (size_t)(sp - p);
		if (len > 0)
			argv[n++] = len == 1 && *p == '_' ? strdup("") :
			    strndup(p, len);
		p = *sp == ' ' ? sp + 1 : sp;
	}
	*argc = n;
	return argv;
}

static void
argv_free(char **argv, int argc)
{
	int	 i;

	for (i = 0; i < argc; i++)
		free(argv[i]);
	free(argv);
}

struct ok_case {
	const char		*args;
	enum cli_command	 cmd;
	int			 check_only, json, have_at;
	long long		 at;
	const char		*cert, *uri, *config;
	const char		*flags;	/* "k=v k=v" in order */
};

static const struct ok_case ok_cases[] = {
	{ "authd serve --trust a --trust=b --data-dir x -n", CLI_SERVE, 1, 0, 0, 0,
	    NULL, NULL, NULL, "trust=a trust=b data-dir=x" },
	{ "authd serve", CLI_SERVE, 0, 0, 0, 0, NULL, NULL, NULL, "" },
	{ "authd serve -n --config /etc/authd.conf --threads=4 --log_level debug",
	    CLI_SERVE, 1, 0, 0, 0, NULL, NULL, "/etc/authd.conf",
	    "threads=4 log_level=debug" },
	{ "authd serve --listen=unix:/run/a=b.sock", CLI_SERVE, 0, 0, 0, 0,
	    NULL, NULL, NULL, "listen=unix:/run/a=b.sock" },
	{ "authd check --at 2026-01-02T03:04:05Z --json --uri /admin cert.pem",
	    CLI_CHECK, 0, 1, 1, 1767323045, "cert.pem", "/admin", NULL, "" },
	{ "authd check cert.pem --at=1767323045 --trust t.pem --purpose server",
	    CLI_CHECK, 0, 0, 1, 1767323045, "cert.pem", NULL, NULL,
	    "trust=t.pem purpose=server" },
	{ "authd check -", CLI_CHECK, 0, 0, 0, 0, "-", NULL, NULL, "" },
	{ "authd check --uri=/x?a=b c.pem", CLI_CHECK, 0, 0, 0, 0, "c.pem",
	    "/x?a=b", NULL, "" },
	{ "authd check --uri _ c.pem", CLI_CHECK, 0, 0, 0, 0, "c.pem", "",
	    NULL, "" },
	{ "authd version", CLI_VERSION, 0, 0, 0, 0, NULL, NULL, NULL, "" },
	{ "authd --version", CLI_VERSION, 0, 0, 0, 0, NULL, NULL, NULL, "" },
	{ "authd help", CLI_HELP, 0, 0, 0, 0, NULL, NULL, NULL, "" },
	{ "authd -h", CLI_HELP, 0, 0, 0, 0, NULL, NULL, NULL, "" },
	{ "authd serve --help", CLI_HELP, 0, 0, 0, 0, NULL, NULL, NULL, "" },
	{ "authd check -h", CLI_HELP, 0, 0, 0, 0, NULL, NULL, NULL, "" },
};

static void
test_parse_ok(void)
{
	const struct ok_case	*c;
	struct cli		 cli;
	char			 err[256], got[1024], **argv;
	size_t			 i, j, o;
	int			 argc, rc;

	for (i = 0; i < sizeof(ok_cases) / sizeof(ok_cases[0]); i++) {
		c = &ok_cases[i];
		argv = argv_of(c->args, &argc);
		err[0] = '\0';
		rc = cli_parse(argc, argv, &cli, err, sizeof(err));
		CHECK(rc == 0, "cli_parse(%s): expected 0, got %d: %s", c->args,
		    rc, err);
		if (rc != 0) {
			argv_free(argv, argc);
			continue;
		}
		CHECK(cli.command == c->cmd && cli.check_only == c->check_only &&
		    cli.json == c->json && cli.have_at == c->have_at &&
		    (!c->have_at || (long long)cli.at == c->at),
		    "cli_parse(%s): expected command %d -n %d json %d at %d/%lld; "
		    "got %d %d %d %d/%lld", c->args, (int)c->cmd, c->check_only,
		    c->json, c->have_at, c->at, (int)cli.command,
		    cli.check_only, cli.json, cli.have_at, (long long)cli.at);
#define SAME(a, b) ((a) == NULL ? (b) == NULL : (b) != NULL && strcmp((a), (b)) == 0)
		CHECK(SAME(c->cert, cli.cert) && SAME(c->uri, cli.uri) &&
		    SAME(c->config, cli.config), "cli_parse(%s): cert/uri/config "
		    "expected %s %s %s, got %s %s %s", c->args, T_STR(c->cert),
		    T_STR(c->uri), T_STR(c->config), T_STR(cli.cert),
		    T_STR(cli.uri), T_STR(cli.config));
		for (o = 0, got[0] = '\0', j = 0; j < cli.nflags; j++)
			o += (size_t)snprintf(got + o, sizeof(got) - o, "%s%s=%s",
			    j ? " " : "", cli.flags[j].key, cli.flags[j].value);
		if (cli.command != CLI_HELP)
			CHECK(strcmp(got, c->flags) == 0,
			    "cli_parse(%s): flags expected \"%s\", got \"%s\"",
			    c->args, c->flags, got);
		argv_free(argv, argc);
	}
}

static const struct {
	const char	*args;
	const char	*err;
} bad_cases[] = {
	{ "authd", "missing command" },
	{ "authd frob", "unknown command \"frob\"" },
	{ "authd Serve", "unknown command" },
	{ "authd _", "unknown command" },
	{ "authd serve --bogus 1", "unknown option \"--bogus\"" },
	{ "authd serve --bogus=1", "unknown option \"--bogus\"" },
	{ "authd serve --uri /x", "unknown option \"--uri\"" },
	{ "authd serve --json", "--json needs a value" },
	{ "authd check --json=yes c.pem", "unknown option \"--json\"" },
	{ "authd serve --trust", "--trust needs a value" },
	{ "authd check c.pem --uri", "--uri needs a value" },
	{ "authd check c.pem --at", "--at needs a value" },
	{ "authd serve cert.pem", "unexpected argument \"cert.pem\"" },
	{ "authd serve -x", "unexpected argument \"-x\"" },
	{ "authd serve --", "unexpected argument \"--\"" },
	{ "authd check -n c.pem", "unexpected argument \"-n\"" },
	{ "authd check", "check: missing CERT.pem" },
	{ "authd check --json --uri /x", "check: missing CERT.pem" },
	{ "authd check a.pem b.pem", "unexpected argument \"b.pem\"" },
	{ "authd check --at tomorrow c.pem", "--at: expected RFC 3339" },
	{ "authd check --at 2026-01-02 c.pem", "--at: expected RFC 3339" },
	{ "authd check --at=_ c.pem", "--at: expected RFC 3339" },
	{ "authd check --xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx=1 c.pem",
	    "unknown option" },
};

static void
test_parse_bad(void)
{
	struct cli	 cli;
	char		 err[256], **argv, many[16 * (CLI_MAX_FLAGS + 2)];
	size_t		 i, o;
	int		 argc, rc;

	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		argv = argv_of(bad_cases[i].args, &argc);
		snprintf(err, sizeof(err), "(untouched)");
		rc = cli_parse(argc, argv, &cli, err, sizeof(err));
		CHECK(rc == -1 && t_contains(err, bad_cases[i].err),
		    "cli_parse(%s): expected -1 with \"%s\", got %d: %s",
		    bad_cases[i].args, bad_cases[i].err, rc, err);
		argv_free(argv, argc);
	}

	/* CLI_MAX_FLAGS flags fit, one more is an error */
	o = (size_t)snprintf(many, sizeof(many), "authd serve");
	for (i = 0; i < CLI_MAX_FLAGS; i++)
		o += (size_t)snprintf(many + o, sizeof(many) - o, " --trust=%zu", i);
	argv = argv_of(many, &argc);
	rc = cli_parse(argc, argv, &cli, err, sizeof(err));
	CHECK(rc == 0 && cli.nflags == CLI_MAX_FLAGS,
	    "%d flags: expected accepted, got %d (%zu flags): %s",
	    CLI_MAX_FLAGS, rc, cli.nflags, rc ? err : "");
	argv_free(argv, argc);
	snprintf(many + o, sizeof(many) - o, " --trust=last");
	argv = argv_of(many, &argc);
	rc = cli_parse(argc, argv, &cli, err, sizeof(err));
	CHECK(rc == -1 && t_contains(err, "too many options"),
	    "%d flags: expected \"too many options\", got %d: %s",
	    CLI_MAX_FLAGS + 1, rc, err);
	argv_free(argv, argc);

	/* a small err buffer is not overrun */
	{
		char	 small[8];

		memset(small, 'Z', sizeof(small));
		argv = argv_of("authd frobnicate-a-very-long-command", &argc);
		rc = cli_parse(argc, argv, &cli, small, 4);
		CHECK(rc == -1 && small[3] == '\0' && small[4] == 'Z',
		    "err of 4 bytes: rc %d, %s", rc, t_show(small, 8));
		argv_free(argv, argc);
	}
}

int
main(void)
{
	test_time();
	test_parse_ok();
	test_parse_bad();
	return t_done();
}
