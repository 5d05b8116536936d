/*
 * page.c: the HTML or JSON answer a refused client receives; see page.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "page.h"
#include "policy.h"
#include "verdict.h"

/* One line each, read by whoever was refused: say what, not how. */
static const char *const page_details[VERDICT_NREASONS] = {
	[VERDICT_NO_CERTIFICATE] =
	    "no client certificate was presented; this site requires one",
	[VERDICT_MALFORMED] =
	    "your client certificate could not be read",
	[VERDICT_MALFORMED_REQUEST] =
	    "the server received a malformed request and refused it",
	[VERDICT_UNTRUSTED] =
	    "your certificate was not issued by a certificate authority "
	    "this site trusts",
	[VERDICT_EXPIRED] =
	    "your certificate has expired",
	[VERDICT_NOT_YET_VALID] =
	    "your certificate is not valid yet (is your clock right?)",
	[VERDICT_WRONG_PURPOSE] =
	    "your certificate is not meant for client authentication",
	[VERDICT_POLICY_NOT_ACCEPTED] =
	    "your certificate was not issued under a certificate policy "
	    "this site accepts",
	[VERDICT_REVOKED] =
	    "your certificate has been revoked by its issuer",
	[VERDICT_REVOCATION_UNKNOWN] =
	    "the revocation status of your certificate could not be checked "
	    "right now; try again later",
	[VERDICT_CRL_EXPIRED] =
	    "the server's revocation list for your certificate's issuer is "
	    "out of date; try again later",
	[VERDICT_INTERNAL_ERROR] =
	    "the server could not check your certificate; try again later",
	[VERDICT_NO_MATCHING_RULE] =
	    "your certificate is valid, but no rule gives it access here",
	[VERDICT_POLICY_DENY] =
	    "your certificate is valid, but the access policy refuses it "
	    "here",
};

#define PAGE_POLICY_DETAIL \
	"your certificate is valid, but the access policy refuses it here"
#define PAGE_UNKNOWN_DETAIL \
	"the server refused the request"

/* A bounded writer: output that does not fit is cut, never overrun. */
struct page_buf {
	char	*p;
	size_t	 size, len;
};

static void
page_puts(struct page_buf *b, const char *s)
{
	size_t	 n = strlen(s);

	if (b->len + 1 >= b->size)
		return;
	if (n > b->size - 1 - b->len)
		n = b->size - 1 - b->len;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
page_putc(struct page_buf *b, char c)
{
	char	 s[2] = { c, '\0' };

	page_puts(b, s);
}

/* s is printable ASCII (checked by the caller), still escaped in full. */
static void
page_html(struct page_buf *b, const char *s)
{
	for (; *s != '\0'; s++)
		switch (*s) {
		case '&':	page_puts(b, "&amp;");	break;
		case '<':	page_puts(b, "&lt;");	break;
		case '>':	page_puts(b, "&gt;");	break;
		case '"':	page_puts(b, "&quot;");	break;
		case '\'':	page_puts(b, "&#39;");	break;
		default:	page_putc(b, *s);	break;
		}
}

/* A JSON string body; <, > and & too, so it is safe pasted into HTML. */
static void
page_json(struct page_buf *b, const char *s)
{
	char	 u[8];

	for (; *s != '\0'; s++) {
		unsigned char	 c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			page_putc(b, '\\');
			page_putc(b, (char)c);
		} else if (c < 0x20 || c >= 0x7f || c == '<' || c == '>' ||
		    c == '&') {
			snprintf(u, sizeof(u), "\\u%04x", c);
			page_puts(b, u);
		} else
			page_putc(b, (char)c);
	}
}

enum page_format
page_format(const char *accept)
{
	const char	*p;

	if (accept == NULL)
		return PAGE_HTML;
	for (p = accept; *p != '\0'; p++) {
		if (strncasecmp(p, "application/json", 16) == 0)
			return PAGE_JSON;
		if (strncasecmp(p, "+json", 5) == 0)
			return PAGE_JSON;
	}
	return PAGE_HTML;
}

/* A deny rule's own reason could be this: the parser's rules, repeated. */
static int
page_policy_reason(const char *s)
{
	size_t	 i;

	for (i = 0; s[i] != '\0'; i++)
		if (i >= POLICY_REASON_MAX || (unsigned char)s[i] < 0x20 ||
		    (unsigned char)s[i] >= 0x7f)
			return 0;
	return i > 0 && strcmp(s, "ok") != 0;
}

void
page_render(const char *reason, enum page_format fmt, struct page *out)
{
	struct page_buf	 b;
	const char	*detail = NULL, *title;
	char		 num[16];
	int		 r;

	memset(out, 0, sizeof(*out));
	out->status = 401;
	for (r = 0; reason != NULL && r < VERDICT_NREASONS; r++)
		if (r != VERDICT_OK && strcmp(reason,
		    verdict_reason_str((enum verdict_reason)r)) == 0) {
			out->status = verdict_reason_status(
			    (enum verdict_reason)r);
			detail = page_details[r];
			break;
		}
	if (detail != NULL)
		;
	else if (reason != NULL && r == VERDICT_NREASONS &&
	    page_policy_reason(reason)) {
		out->status = 403;
		detail = PAGE_POLICY_DETAIL;
	} else {
		reason = "unknown";
		detail = PAGE_UNKNOWN_DETAIL;
	}
	if (out->status != 403)
		out->status = 401;
	/* Printable ASCII already; fits (POLICY_REASON_MAX < sizeof). */
	snprintf(out->reason, sizeof(out->reason), "%s", reason);
	title = out->status == 403 ? "403 Forbidden" : "401 Unauthorized";
	snprintf(num, sizeof(num), "%d", out->status);

	b.p = out->body;
	b.size = sizeof(out->body);
	b.len = 0;
	if (fmt == PAGE_JSON) {
		out->content_type = "application/json";
		page_puts(&b, "{\"status\":");
		page_puts(&b, num);
		page_puts(&b, ",\"reason\":\"");
		page_json(&b, out->reason);
		page_puts(&b, "\",\"detail\":\"");
		page_json(&b, detail);
		page_puts(&b, "\"}\n");
	} else {
		out->content_type = "text/html; charset=utf-8";
		page_puts(&b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
		    "<meta charset=\"utf-8\">\n"
		    "<meta name=\"viewport\" content=\"width=device-width\">\n"
		    "<title>");
		page_puts(&b, title);
		page_puts(&b, "</title>\n<style>body{font-family:sans-serif;"
		    "max-width:40em;margin:3em auto;padding:0 1em;color:#222}"
		    "code{background:#eee;padding:0 .2em}</style>\n"
		    "</head>\n<body>\n<h1>");
		page_puts(&b, title);
		page_puts(&b, "</h1>\n<p id=\"reason\">Reason: <code>");
		page_html(&b, out->reason);
		page_puts(&b, "</code></p>\n<p id=\"detail\">");
		/* "your ..." starts a sentence here. */
		page_putc(&b, (char)(detail[0] >= 'a' && detail[0] <= 'z' ?
		    detail[0] - 'a' + 'A' : detail[0]));
		page_html(&b, detail + 1);
		page_puts(&b, ".</p>\n<p>If you think this is wrong, tell the "
		    "site's administrators the reason above.</p>\n"
		    "</body>\n</html>\n");
	}
	out->len = b.len;
}
