/*
 * test_doctor.c: doctor_url_parse, and cli_parse for authd doctor.
 * (The checks themselves need a server: tests/integration/doctor.sh.)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "doctor.h"
#include "t.h"

static void
test_url(void)
{
	static const struct {
		const char	*in;
		int		 ok;
		const char	*host, *port, *path;
		int		 is_ip;
	} cases[] = {
		{ "https://example.org", 1, "example.org", "443", "/", 0 },
		{ "https://example.org/", 1, "example.org", "443", "/", 0 },
		{ "HTTPS://example.org:8443/api/x?y=1", 1, "example.org", "8443",
		    "/api/x?y=1", 0 },
		{ "https://127.0.0.1:1", 1, "127.0.0.1", "1", "/", 1 },
		{ "https://127.0.0.1:65535/a", 1, "127.0.0.1", "65535", "/a", 1 },
		{ "https://[::1]:443/", 1, "::1", "443", "/", 1 },
		{ "https://[2001:db8::1]", 1, "2001:db8::1", "443", "/", 1 },
		{ "https://localhost:08443", 1, "localhost", "8443", "/", 0 },
		{ "http://example.org", 0, NULL, NULL, NULL, 0 },
		{ "example.org:443", 0, NULL, NULL, NULL, 0 },
		{ "https://", 0, NULL, NULL, NULL, 0 },
		{ "https:///path", 0, NULL, NULL, NULL, 0 },
		{ "https://:443/", 0, NULL, NULL, NULL, 0 },
		{ "https://host:0/", 0, NULL, NULL, NULL, 0 },
		{ "https://host:65536/", 0, NULL, NULL, NULL, 0 },
		{ "https://host:123456/", 0, NULL, NULL, NULL, 0 },
		{ "https://host:/", 0, NULL, NULL, NULL, 0 },
		{ "https://host:44x/", 0, NULL, NULL, NULL, 0 },
		{ "https://host?x", 0, NULL, NULL, NULL, 0 },
		{ "https://host/#frag", 0, NULL, NULL, NULL, 0 },
		{ "https://user@host/", 0, NULL, NULL, NULL, 0 },
		{ "https://[::1/", 0, NULL, NULL, NULL, 0 },
		{ "https://[example.org]/", 0, NULL, NULL, NULL, 0 },
		{ "https://ho st/", 0, NULL, NULL, NULL, 0 },
		{ "https://host/a\r\nX-Evil: 1", 0, NULL, NULL, NULL, 0 },
		{ "https://host/\x80", 0, NULL, NULL, NULL, 0 },
	};
	struct doctor_url	 u;
	char			 err[256], longurl[2200];
	size_t			 i;
	int			 rc;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		rc = doctor_url_parse(cases[i].in, &u, err, sizeof(err));
		CHECK((rc == 0) == cases[i].ok, "%s: rc %d (%s)",
		    t_show(cases[i].in, strlen(cases[i].in)), rc, err);
		if (rc != 0) {
			CHECK(err[0] != '\0', "%s: no message", cases[i].in);
			continue;
		}
		if (!cases[i].ok)
			continue;
		CHECK(strcmp(u.host, cases[i].host) == 0, "%s: host %s",
		    cases[i].in, u.host);
		CHECK(strcmp(u.port, cases[i].port) == 0, "%s: port %s",
		    cases[i].in, u.port);
		CHECK(strcmp(u.path, cases[i].path) == 0, "%s: path %s",
		    cases[i].in, u.path);
		CHECK(u.is_ip == cases[i].is_ip, "%s: is_ip %d", cases[i].in,
		    u.is_ip);
	}
	/* bounds: a host of 256 bytes, a path of 1024 */
	memset(longurl, 0, sizeof(longurl));
	snprintf(longurl, sizeof(longurl), "https://%0256d/", 0);
	CHECK(doctor_url_parse(longurl, &u, err, sizeof(err)) != 0,
	    "a 256-byte host is refused");
	snprintf(longurl, sizeof(longurl), "https://%0255d/", 0);
	CHECK(doctor_url_parse(longurl, &u, err, sizeof(err)) == 0,
	    "a 255-byte host is fine: %s", err);
	snprintf(longurl, sizeof(longurl), "https://h/%01023d", 0);
	CHECK(doctor_url_parse(longurl, &u, err, sizeof(err)) != 0,
	    "a 1024-byte path is refused");
	snprintf(longurl, sizeof(longurl), "https://h/%01022d", 0);
	CHECK(doctor_url_parse(longurl, &u, err, sizeof(err)) == 0 &&
	    strlen(u.path) == 1023, "a 1023-byte path is fine: %s", err);
}

static void
test_cli(void)
{
	static const struct {
		const char	*argv[10];
		int		 ok;
	} cases[] = {
		{ { "authd", "doctor", "https://h/" }, 1 },
		{ { "authd", "doctor", "--cert", "c", "--key", "k", "--ca", "a",
		    "--json", "https://h/" }, 1 },
		{ { "authd", "doctor", "https://h/", "--timeout", "120" }, 1 },
		{ { "authd", "doctor", "https://h/", "--trust", "t.pem" }, 1 },
		{ { "authd", "doctor" }, 0 },
		{ { "authd", "doctor", "--cert", "c" }, 0 },
		{ { "authd", "doctor", "https://h/", "https://i/" }, 0 },
		{ { "authd", "doctor", "https://h/", "--key", "k" }, 0 },
		{ { "authd", "doctor", "https://h/", "--timeout", "0" }, 0 },
		{ { "authd", "doctor", "https://h/", "--timeout", "121" }, 0 },
		{ { "authd", "doctor", "https://h/", "--timeout", "5s" }, 0 },
		{ { "authd", "doctor", "https://h/", "--uri", "/x" }, 0 },
		{ { "authd", "doctor", "https://h/", "--cert" }, 0 },
		{ { "authd", "check", "--ca", "a", "c.pem" }, 0 },
	};
	struct cli	 cli;
	char		 err[256];
	size_t		 i;
	int		 argc, rc;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (argc = 0; argc < 10 && cases[i].argv[argc] != NULL; argc++)
			;
		err[0] = '\0';
		rc = cli_parse(argc, (char **)(uintptr_t)cases[i].argv, &cli,
		    err, sizeof(err));
		CHECK((rc == 0) == cases[i].ok, "case %zu: rc %d (%s)", i, rc,
		    err);
	}
	rc = cli_parse(10, (char **)(uintptr_t)cases[1].argv, &cli, err,
	    sizeof(err));
	CHECK(rc == 0 && cli.command == CLI_DOCTOR && cli.json == 1 &&
	    strcmp(cli.cert, "c") == 0 && strcmp(cli.key, "k") == 0 &&
	    strcmp(cli.ca, "a") == 0 && strcmp(cli.url, "https://h/") == 0 &&
	    cli.timeout == 10, "doctor fields");
}

int
main(void)
{
	test_url();
	test_cli();
	return t_done();
}
