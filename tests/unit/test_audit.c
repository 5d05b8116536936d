/*
 * test_audit.c: JSON string escaping and its bounds, request id checks,
 * and whole lines written to a file, reopened after a rename (logrotate);
 * many threads through the writer's queue (full buffers, shutdown): every
 * line once, whole, in each thread's order.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "t.h"

static void
test_json_str(void)
{
	static const struct {
		const char	*in;
		size_t		 len;	/* 0: strlen(in) */
		size_t		 max;
		const char	*want;
	} cases[] = {
		{ "plain", 0, 100, "\"plain\"" },
		{ "", 0, 100, "\"\"" },
		{ "a\"b", 0, 100, "\"a\\\"b\"" },
		{ "a\\b", 0, 100, "\"a\\\\b\"" },
		{ "line\r\nnext", 0, 100, "\"line\\u000d\\u000anext\"" },
		{ "tab\there", 0, 100, "\"tab\\u0009here\"" },
		{ "nul\0after", 9, 100, "\"nul\\u0000after\"" },
		{ "del\x7f", 0, 100, "\"del\\u007f\"" },
		{ "h\xc3\xa9", 0, 100, "\"h\\u00e9\"" },
		{ "\xe2\x82\xac", 0, 100, "\"\\u20ac\"" },
		{ "\xf0\x9f\x98\x80!", 0, 100, "\"\\ud83d\\ude00!\"" },
		{ "\xff\xfe", 0, 100, "\"\\ufffd\\ufffd\"" },
		{ "\xc0\xaf", 0, 100, "\"\\ufffd\\ufffd\"" },
		{ "\xed\xa0\x80", 0, 100, "\"\\ufffd\\ufffd\\ufffd\"" },
		{ "\xe2\x82", 0, 100, "\"\\ufffd\\ufffd\"" },
		{ "\xf4\x90\x80\x80", 0, 100,
		    "\"\\ufffd\\ufffd\\ufffd\\ufffd\"" },
		{ "a\xc3\xa9" "b", 0, 2, "\"a\\ufffd...\"" },
		{ "</script>", 0, 100, "\"</script>\"" },
		/* bounded: at most max source bytes, then "..." */
		{ "abcdefgh", 0, 3, "\"abc...\"" },
		{ "abc", 0, 3, "\"abc\"" },
		{ "\"\"\"\"", 0, 2, "\"\\\"\\\"...\"" },
		{ "-----BEGIN CERTIFICATE-----\nMIIB", 0, 10,
		    "\"-----BEGIN...\"" },
	};
	char	 buf[256];
	size_t	 i, off, len;
	int	 rc;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		len = cases[i].len ? cases[i].len : strlen(cases[i].in);
		off = 0;
		rc = audit_json_str(buf, sizeof(buf), &off, cases[i].in, len,
		    cases[i].max);
		CHECK(rc == 0 && strcmp(buf, cases[i].want) == 0 &&
		    off == strlen(buf), "json %s: want %s, got rc %d %s",
		    t_show(cases[i].in, len), cases[i].want, rc,
		    t_show(buf, off));
	}

	/* Appends after what is there; a value that does not fit is not cut
	 * silently: -1, and the buffer is left as it was. */
	strcpy(buf, "{\"k\":");
	off = strlen(buf);
	rc = audit_json_str(buf, sizeof(buf), &off, "v", 1, 10);
	CHECK(rc == 0 && strcmp(buf, "{\"k\":\"v\"") == 0, "append: got %s",
	    buf);
	{
		char	 small[8] = "ab";
		size_t	 o = 2;

		rc = audit_json_str(small, sizeof(small), &o, "\n\n", 2, 10);
		CHECK(rc == -1 && o == 2 && strcmp(small, "ab") == 0,
		    "too small: rc %d off %zu buf %s", rc, o, small);
		o = 2;
		rc = audit_json_str(small, sizeof(small), &o, "xyz", 3, 10);
		CHECK(rc == 0 && strcmp(small, "ab\"xyz\"") == 0,
		    "exact fit: rc %d buf %s", rc, small);
		o = 2;
		rc = audit_json_str(small, sizeof(small), &o, "wxyz", 4, 10);
		CHECK(rc == -1 && strcmp(small, "ab") == 0,
		    "one byte over: rc %d buf %s", rc, small);
	}
}

static void
test_request_id(void)
{
	static const struct {
		const char	*id;
		int		 ok;
	} cases[] = {
		{ "0123456789abcdef0123456789abcdef", 1 },	/* nginx */
		{ "req-1.2_3:4", 1 },
		{ "A", 1 },
		{ "", 0 },
		{ "has space", 0 },
		{ "quote\"", 0 },
		{ "back\\slash", 0 },
		{ "new\nline", 0 },
		{ "h\xc3\xa9", 0 },
		{ "{\"json\":1}", 0 },
		{ "0123456789012345678901234567890123456789012345678901234567890123",
		    1 },	/* 64 */
		{ "01234567890123456789012345678901234567890123456789012345678901234",
		    0 },	/* 65 */
	};
	size_t	 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CHECK(audit_request_id_ok(cases[i].id, strlen(cases[i].id)) ==
		    cases[i].ok, "request id %s: want %d",
		    t_show(cases[i].id, strlen(cases[i].id)), cases[i].ok);
	CHECK(audit_request_id_ok(NULL, 0) == 0, "NULL id");
}

static size_t
count_lines(const char *path, char *last, size_t lastcap)
{
	FILE	*f;
	char	 line[AUDIT_LINE_MAX + 2];
	size_t	 n = 0;

	if ((f = fopen(path, "r")) == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		n++;
		snprintf(last, lastcap, "%s", line);
	}
	fclose(f);
	return n;
}

static void
test_write(void)
{
	struct audit_record	 r;
	char			 dir[] = "/tmp/test_audit.XXXXXX";
	char			 path[256], moved[256], last[AUDIT_LINE_MAX + 2];
	char			*uri;
	size_t			 n;

	if (mkdtemp(dir) == NULL) {
		CHECK(0, "mkdtemp: %s", strerror(errno));
		return;
	}
	snprintf(path, sizeof(path), "%s/audit.log", dir);
	snprintf(moved, sizeof(moved), "%s/audit.log.1", dir);

	/* Off: nothing is written, nothing is created. */
	CHECK(audit_configure("off") == 0 && !audit_enabled(), "off");
	CHECK(audit_configure("/nonexistent-dir/x/audit.log") == -1 &&
	    !audit_enabled(), "unwritable path refused, still off");

	memset(&r, 0, sizeof(r));
	r.when.tv_sec = 1767225600;		/* 2026-01-01T00:00:00Z */
	r.when.tv_nsec = 42000000;
	r.status = 403;
	r.reason = "reported-lost";
	r.rule = "policy.conf:7";
	r.ruleset = "default";
	r.fingerprint = "00ff";
	r.revocation = "crl";
	r.revocation_age = -1;
	r.latency_us = 17;
	r.uri = "/a\"b";
	r.request_id = "rid-1";
	CHECK(audit_configure(path) == 0 && audit_enabled(), "file");
	audit_write(&r);
	audit_flush();
	n = count_lines(path, last, sizeof(last));
	CHECK(n == 1 && strcmp(last, "{\"time\":\"2026-01-01T00:00:00.042Z\","
	    "\"request_id\":\"rid-1\",\"status\":403,\"reason\":\"reported-lost\","
	    "\"rule\":\"policy.conf:7\",\"ruleset\":\"default\",\"subject\":null,"
	    "\"issuer\":null,\"serial\":null,\"fingerprint\":\"00ff\","
	    "\"revocation\":\"crl\",\"cached\":false,\"latency_us\":17,"
	    "\"method\":null,\"uri\":\"/a\\\"b\",\"host\":null,"
	    "\"client_verify\":null}\n") == 0, "line: %zu lines, last %s", n,
	    last);

	/* Generated ids when none is given; age when known. */
	r.request_id = NULL;
	r.revocation_age = 3600;
	audit_write(&r);
	audit_flush();
	n = count_lines(path, last, sizeof(last));
	CHECK(n == 2 && strstr(last, "\"request_id\":\"authd-") != NULL &&
	    strstr(last, "\"revocation_age\":3600,") != NULL,
	    "generated id, age: %s", last);

	/* The largest fields still make one whole line. */
	if ((uri = malloc(70000)) != NULL) {
		memset(uri, '\n', 69999);
		uri[69999] = '\0';
		r.uri = uri;
		r.host = uri;
		r.method = uri;
		r.ruleset = uri;
		r.client_verify = uri;
		audit_write(&r);
		audit_flush();
		n = count_lines(path, last, sizeof(last));
		CHECK(n == 3 && strlen(last) < AUDIT_LINE_MAX &&
		    last[strlen(last) - 1] == '\n' &&
		    strstr(last, "...\",\"host\"") != NULL && audit_errors() == 0,
		    "huge fields: %zu lines, %zu bytes, errors %llu", n,
		    strlen(last), (unsigned long long)audit_errors());
		free(uri);
		r.uri = "/after";
		r.host = r.method = r.client_verify = NULL;
		r.ruleset = "default";
	}

	/* logrotate: rename, reopen, new lines in a new file. */
	CHECK(rename(path, moved) == 0, "rename: %s", strerror(errno));
	audit_write(&r);
	audit_flush();
	CHECK(count_lines(moved, last, sizeof(last)) == 4,
	    "before reopen, lines go to the renamed file");
	CHECK(audit_reopen() == 0, "reopen");
	audit_write(&r);
	audit_flush();
	CHECK(count_lines(path, last, sizeof(last)) == 1 &&
	    strstr(last, "\"uri\":\"/after\"") != NULL &&
	    count_lines(moved, last, sizeof(last)) == 4,
	    "after reopen, lines go to the new file");

	/* A smart card's identities and the valid policy, when known. */
	r.upn = "dave@corp.example.com";
	r.fascn = "d4e7";
	r.uuid = "f81d4fae-7dec-11d0-a765-00a0c91e6bf6";
	r.cert_policy = "2.16.840.1.101.3.2.1.3.13";
	audit_write(&r);
	r.upn = r.fascn = r.uuid = r.cert_policy = "";
	audit_write(&r);
	audit_flush();
	n = count_lines(path, last, sizeof(last));
	CHECK(n == 3 && strstr(last, "\"upn\"") == NULL &&
	    strstr(last, "\"policy\"") == NULL, "empty card fields written: "
	    "%s", last);
	r.upn = r.fascn = r.uuid = r.cert_policy = NULL;
	{
		FILE	*f = fopen(path, "r");
		char	 line[4096];
		int	 k = 0, ok = 0;

		while (f != NULL && fgets(line, sizeof(line), f) != NULL)
			if (++k == 2)
				ok = strstr(line, "\"client_verify\":null,"
				    "\"upn\":\"dave@corp.example.com\",\"fascn\":"
				    "\"d4e7\",\"uuid\":\"f81d4fae-7dec-11d0-a765-"
				    "00a0c91e6bf6\",\"policy\":\"2.16.840.1.101.3."
				    "2.1.3.13\"}\n") != NULL;
		if (f != NULL)
			fclose(f);
		CHECK(ok, "card fields: line 2 lacks them");
	}

	/* The same path again changes nothing; off stops writing. */
	CHECK(audit_configure(path) == 0, "same path");
	audit_configure("off");
	audit_write(&r);
	audit_flush();
	CHECK(count_lines(path, last, sizeof(last)) == 3, "off writes nothing");
	audit_shutdown();
	unlink(path);
	unlink(moved);
	rmdir(dir);
}

#define TH_N		 4
#define TH_LINES	 3000

static void *
th_write(void *arg)
{
	struct audit_record	 r;
	char			 uri[1200];
	int			 t = (int)(intptr_t)arg, i;

	memset(&r, 0, sizeof(r));
	r.status = 200;
	r.reason = "ok";
	r.request_id = "rid";
	r.revocation_age = -1;
	for (i = 0; i < TH_LINES; i++) {
		clock_gettime(CLOCK_REALTIME, &r.when);
		/* ~1 KiB lines: 12,000 of them fill the 512 KiB buffers often */
		snprintf(uri, sizeof(uri), "/t%d/%06d/%0900d", t, i, 0);
		r.uri = uri;
		audit_write(&r);
	}
	return NULL;
}

static void
test_threads(void)
{
	char		 dir[] = "/tmp/test_audit.XXXXXX", path[256];
	char		 line[AUDIT_LINE_MAX + 2];
	pthread_t	 th[TH_N];
	int		 next[TH_N] = { 0 }, t, seq, bad = 0, whole = 1;
	size_t		 n = 0;
	FILE		*f;

	if (mkdtemp(dir) == NULL) {
		CHECK(0, "mkdtemp: %s", strerror(errno));
		return;
	}
	snprintf(path, sizeof(path), "%s/audit.log", dir);
	CHECK(audit_configure(path) == 0, "threads: configure");
	for (t = 0; t < TH_N; t++)
		pthread_create(&th[t], NULL, th_write, (void *)(intptr_t)t);
	for (t = 0; t < TH_N; t++)
		pthread_join(th[t], NULL);
	audit_shutdown();		/* the writer drains the queue first */
	if ((f = fopen(path, "r")) != NULL) {
		while (fgets(line, sizeof(line), f) != NULL) {
			const char	*u = strstr(line, "\"uri\":\"/t");

			n++;
			if (line[0] != '{' || strlen(line) < 3 ||
			    strcmp(line + strlen(line) - 2, "}\n") != 0)
				whole = 0;
			if (u == NULL || sscanf(u, "\"uri\":\"/t%d/%d/", &t,
			    &seq) != 2 || t < 0 || t >= TH_N ||
			    seq != next[t]++)
				bad++;
		}
		fclose(f);
	}
	CHECK(n == (size_t)TH_N * TH_LINES && whole && bad == 0 &&
	    audit_errors() == 0, "threads: %zu lines of %d, whole %d, out of "
	    "order or unknown %d, errors %llu", n, TH_N * TH_LINES, whole, bad,
	    (unsigned long long)audit_errors());
	unlink(path);
	rmdir(dir);
}

int
main(void)
{
	test_json_str();
	test_request_id();
	test_write();
	test_threads();
	return t_done();
}
