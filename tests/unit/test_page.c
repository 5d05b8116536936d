/*
 * test_page.c: the refusal a client reads, for every reason authd knows,
 * for deny rules' own reasons, and for what nginx should never send.
 */
#include <string.h>

#include "page.h"
#include "t.h"
#include "verdict.h"

static const struct {
	const char	*accept;
	enum page_format want;
} formats[] = {
	{ NULL,					PAGE_HTML },
	{ "",					PAGE_HTML },
	{ "*/*",				PAGE_HTML },
	{ "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
						PAGE_HTML },
	{ "application/json",			PAGE_JSON },
	{ "Application/JSON; charset=utf-8",	PAGE_JSON },
	{ "text/plain, application/json;q=0.5",	PAGE_JSON },
	{ "application/problem+json",		PAGE_JSON },
	{ "application/jso",			PAGE_HTML },
};

static const struct {
	const char	*reason;
	int		 status;
	const char	*want_reason;	/* in the page and X-Authd-Reason */
	const char	*detail;	/* a piece of the explanation */
} cases[] = {
	{ "no-certificate",	  401, "no-certificate", "no client certificate" },
	{ "malformed-certificate", 401, "malformed-certificate", "could not be read" },
	{ "untrusted",		  401, "untrusted",	"not issued by a certificate authority" },
	{ "expired",		  401, "expired",	"has expired" },
	{ "not-yet-valid",	  401, "not-yet-valid",	"not valid yet" },
	{ "wrong-purpose",	  401, "wrong-purpose",	"not meant for client authentication" },
	{ "revoked",		  401, "revoked",	"revoked by its issuer" },
	{ "revocation-unknown",	  401, "revocation-unknown", "could not be checked" },
	{ "crl-expired",	  401, "crl-expired",	"out of date" },
	{ "internal-error",	  401, "internal-error", "could not check" },
	{ "no-matching-rule",	  403, "no-matching-rule", "no rule gives it access" },
	{ "policy-deny",	  403, "policy-deny",	"access policy refuses" },
	/* a deny rule's own reason */
	{ "reported-lost",	  403, "reported-lost",	"access policy refuses" },
	{ "x",			  403, "x",		"access policy refuses" },
	/* never a refusal: still refused, as unknown */
	{ NULL,			  401, "unknown",	"refused the request" },
	{ "",			  401, "unknown",	"refused the request" },
	{ "ok",			  401, "unknown",	"refused the request" },
	{ "bad\r\nX-Injected: 1", 401, "unknown",	"refused the request" },
	{ "caf\xc3\xa9",	  401, "unknown",	"refused the request" },
};

/* Count case-insensitive occurrences of needle in hay. */
static int
count(const char *hay, const char *needle)
{
	int	 n = 0;

	for (; (hay = strstr(hay, needle)) != NULL; hay++)
		n++;
	return n;
}

int
main(void)
{
	static struct page	 p;
	char			 want[512], longr[300];
	size_t			 i;
	int			 r;

	for (i = 0; i < sizeof(formats) / sizeof(formats[0]); i++)
		CHECK(page_format(formats[i].accept) == formats[i].want,
		    "Accept '%s': want %s", formats[i].accept ?
		    formats[i].accept : "(none)",
		    formats[i].want == PAGE_JSON ? "json" : "html");

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *in = cases[i].reason ? cases[i].reason : "(null)";

		page_render(cases[i].reason, PAGE_JSON, &p);
		CHECK(p.status == cases[i].status, "%s: json status %d",
		    in, p.status);
		CHECK(strcmp(p.reason, cases[i].want_reason) == 0,
		    "%s: reason '%s'", in, p.reason);
		CHECK(strcmp(p.content_type, "application/json") == 0,
		    "%s: content type %s", in, p.content_type);
		snprintf(want, sizeof(want), "{\"status\":%d,\"reason\":\"%s\","
		    "\"detail\":\"", cases[i].status, cases[i].want_reason);
		CHECK(strncmp(p.body, want, strlen(want)) == 0,
		    "%s: json body '%s'", in, p.body);
		CHECK(strstr(p.body, cases[i].detail) != NULL,
		    "%s: json detail in '%s'", in, p.body);
		CHECK(p.len == strlen(p.body) && p.body[p.len - 1] == '\n' &&
		    p.body[p.len - 2] == '}', "%s: json ends in }\\n", in);

		page_render(cases[i].reason, PAGE_HTML, &p);
		CHECK(p.status == cases[i].status, "%s: html status", in);
		CHECK(strcmp(p.content_type, "text/html; charset=utf-8") == 0,
		    "%s: html content type", in);
		snprintf(want, sizeof(want), "<h1>%d %s</h1>", cases[i].status,
		    cases[i].status == 403 ? "Forbidden" : "Unauthorized");
		CHECK(strstr(p.body, want) != NULL, "%s: html title", in);
		snprintf(want, sizeof(want), "Reason: <code>%s</code>",
		    cases[i].want_reason);
		CHECK(strstr(p.body, want) != NULL, "%s: html reason", in);
		/* a sentence there: its first letter is capitalised */
		CHECK(strstr(p.body, cases[i].detail + 1) != NULL,
		    "%s: html detail", in);
		CHECK(strncmp(p.body, "<!DOCTYPE html>", 15) == 0 &&
		    strstr(p.body, "</html>\n") != NULL, "%s: whole page", in);
		CHECK(strchr(p.reason, '\r') == NULL &&
		    strchr(p.reason, '\n') == NULL, "%s: header-safe reason",
		    in);
	}

	/* every reason authd can give has its own explanation */
	for (r = 1; r < VERDICT_NREASONS; r++) {
		const char *s = verdict_reason_str((enum verdict_reason)r);

		page_render(s, PAGE_JSON, &p);
		CHECK(strcmp(p.reason, s) == 0, "%s: known", s);
		CHECK(strstr(p.body, "access policy refuses") == NULL ||
		    r == VERDICT_POLICY_DENY, "%s: has its own detail", s);
		CHECK(p.status == verdict_reason_status((enum verdict_reason)r),
		    "%s: status %d", s, p.status);
	}

	/* a deny rule's reason is anything printable: escaped, both ways */
	page_render("<script>alert(\"x\")</script> & 'y' \\", PAGE_HTML, &p);
	CHECK(strstr(p.body, "<script>") == NULL, "html: no raw <script>");
	CHECK(strstr(p.body, "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"
	    " &amp; &#39;y&#39; \\") != NULL, "html: escaped: %s", p.body);
	CHECK(p.status == 403, "html: policy reason is 403");
	page_render("<script>alert(\"x\")</script> & 'y' \\", PAGE_JSON, &p);
	CHECK(strstr(p.body, "\"reason\":\"\\u003cscript\\u003ealert(\\\"x\\\")"
	    "\\u003c/script\\u003e \\u0026 'y' \\\\\"") != NULL,
	    "json: escaped: %s", p.body);
	CHECK(count(p.body, "\"") == 12, "json: only its own quotes: %s",
	    p.body);

	/* the longest reason a policy allows, and one byte more */
	memset(longr, 'a', sizeof(longr));
	longr[128] = '\0';
	page_render(longr, PAGE_HTML, &p);
	CHECK(p.status == 403 && strlen(p.reason) == 128, "128-byte reason");
	longr[128] = 'a';
	longr[129] = '\0';
	page_render(longr, PAGE_HTML, &p);
	CHECK(p.status == 401 && strcmp(p.reason, "unknown") == 0,
	    "129-byte reason: '%s'", p.reason);
	CHECK(p.len < PAGE_BODY_MAX - 1, "page fits: %zu", p.len);
	return t_done();
}
