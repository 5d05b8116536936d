/*
 * test_metrics.c: label escaping and bounds, and the exposition's shape
 * (counters move, histograms are cumulative) without a running server.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exposition.h"
#include "metrics.h"
#include "verdict.h"
#include "t.h"

static void
test_label(void)
{
	static const struct {
		const char	*in;
		size_t		 cap;
		const char	*want;
	} cases[] = {
		{ "CN=Devices CA,O=Example", 64, "CN=Devices CA,O=Example" },
		{ "a\"b", 64, "a\\\"b" },
		{ "a\\b", 64, "a\\\\b" },
		{ "a\nb", 64, "a\\\\x0ab" },
		{ "h\xc3\xa9", 64, "h\\\\xc3\\\\xa9" },
		{ "", 64, "" },
		{ "abcdefghij", 8, "abcd..." },
		{ "\n\n\n\n", 10, "\\\\x0a..." },
	};
	char	 buf[64];
	size_t	 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		metrics_label(buf, cases[i].cap, cases[i].in);
		CHECK(strcmp(buf, cases[i].want) == 0 &&
		    strlen(buf) < cases[i].cap, "label %s cap %zu: want %s, got %s",
		    t_show(cases[i].in, strlen(cases[i].in)), cases[i].cap,
		    cases[i].want, buf);
	}
}

/* The value of the sample line starting with name (exact), or -1. */
static double
sample(const char *text, const char *name)
{
	const char	*p = text;
	size_t		 n = strlen(name);

	while ((p = strstr(p, name)) != NULL) {
		if ((p == text || p[-1] == '\n') && p[n] == ' ')
			return strtod(p + n + 1, NULL);
		p += n;
	}
	return -1;
}

/* What modules register is rendered while registered, once each. */
static void
owned_a(struct metrics_buf *b, void *arg)
{
	metrics_printf(b, "test_owned_%s 1\n", (const char *)arg);
}

static char	 owned_x[] = "x", owned_y[] = "y";

static void
test_owned(void)
{
	static char	 names[METRICS_OWNED_MAX + 1][8];
	char		*text = NULL;
	size_t		 len = 0, i;
	int		 full = 0;

	CHECK(metrics_register(owned_a, owned_x) == 0 &&
	    metrics_register(owned_a, owned_x) == 0, "register");
	CHECK(exposition_render(&text, &len) == 0 && text != NULL, "render");
	CHECK(text != NULL && strstr(text, "test_owned_x 1\n") != NULL &&
	    strstr(strstr(text, "test_owned_x 1\n") + 1, "test_owned_x")
	    == NULL, "a registered series missing or twice");
	free(text);
	metrics_unregister(owned_a, owned_x);
	metrics_unregister(owned_a, owned_x);	/* twice: harmless */
	CHECK(exposition_render(&text, &len) == 0 && text != NULL &&
	    strstr(text, "test_owned_x") == NULL, "unregistered still shown");
	free(text);
	for (i = 0; i < METRICS_OWNED_MAX + 1; i++) {
		snprintf(names[i], sizeof(names[i]), "n%zu", i);
		full += metrics_register(owned_a, names[i]) != 0;
	}
	CHECK(full >= 1, "more than METRICS_OWNED_MAX registered");
	for (i = 0; i < METRICS_OWNED_MAX + 1; i++)
		metrics_unregister(owned_a, names[i]);
	CHECK(metrics_register(owned_a, owned_y) == 0, "room after unregistering");
	metrics_unregister(owned_a, owned_y);
}

static void
test_render(void)
{
	char	*text = NULL;
	size_t	 len = 0;

	metrics_decision(VERDICT_OK, 10, 0);
	metrics_decision(VERDICT_OK, 2000, 1);
	metrics_decision(VERDICT_EXPIRED, 20000000, 0);
	metrics_decision(9999, 1, 0);		/* out of range: internal-error */
	metrics_crl_fetch(METRICS_CRL_FETCHED, 12);
	metrics_ocsp_query(METRICS_OCSP_ERROR, 40000);
	metrics_reload(1);			/* the start: not a reload */
	metrics_reload(0);
	CHECK(exposition_render(&text, &len) == 0 && text != NULL &&
	    len == strlen(text), "render");
	if (text == NULL)
		return;
	CHECK(sample(text, "authd_decisions_total{status=\"200\",reason=\"ok\"}")
	    == 2, "ok count");
	CHECK(sample(text, "authd_decisions_total{status=\"401\","
	    "reason=\"expired\"}") == 1, "expired count");
	CHECK(sample(text, "authd_decisions_total{status=\"401\","
	    "reason=\"internal-error\"}") == 1, "out of range reason");
	CHECK(sample(text, "authd_revocation_unchecked_total") == 1,
	    "unchecked");
	CHECK(sample(text, "authd_decision_duration_seconds_bucket{le=\"5e-05\"}")
	    == 2 && sample(text, "authd_decision_duration_seconds_bucket"
	    "{le=\"0.0025\"}") == 3 && sample(text,
	    "authd_decision_duration_seconds_bucket{le=\"10\"}") == 3 &&
	    sample(text, "authd_decision_duration_seconds_bucket{le=\"+Inf\"}")
	    == 4 && sample(text, "authd_decision_duration_seconds_count") == 4,
	    "cumulative buckets");
	CHECK(sample(text, "authd_decision_duration_seconds_sum") > 20.00201 &&
	    sample(text, "authd_decision_duration_seconds_sum") < 20.00202,
	    "sum in seconds");
	CHECK(sample(text, "authd_crl_fetches_total{outcome=\"fetched\"}") == 1 &&
	    sample(text, "authd_crl_fetch_duration_seconds_bucket{le=\"0.025\"}")
	    == 1, "crl fetch");
	CHECK(sample(text, "authd_ocsp_queries_total{outcome=\"error\"}") == 1 &&
	    sample(text, "authd_ocsp_query_duration_seconds_bucket{le=\"30\"}")
	    == 0 && sample(text, "authd_ocsp_query_duration_seconds_bucket"
	    "{le=\"+Inf\"}") == 1, "ocsp query over the last bucket");
	CHECK(sample(text, "authd_reloads_total{result=\"failure\"}") == 1 &&
	    sample(text, "authd_reloads_total{result=\"success\"}") == 0 &&
	    sample(text, "authd_reload_last_success") == 0, "reloads");
	CHECK(strstr(text, "# TYPE authd_decisions_total counter\n") != NULL &&
	    strstr(text, "# TYPE authd_decision_duration_seconds histogram\n")
	    != NULL, "TYPE lines");
	free(text);
}

int
main(void)
{
	test_label();
	test_render();
	test_owned();
	return t_done();
}
