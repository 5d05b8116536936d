/*
 * page.h: what a refused client reads.
 *
 * nginx's auth_request throws away the body of authd's 401/403, so the
 * refusal a client sees is asked for separately: the contrib nginx config
 * sends each refused request (authd's own 401/403 and the certificates
 * nginx refused itself, 495/496, which authd decided too) to GET /page
 * with the reason authd gave.  page_render turns that reason into the
 * answer: a small HTML page for browsers, a JSON object for API clients.
 *
 * It never decides anything and never sees a certificate: the decision was
 * made, logged and counted on /auth.  The reason comes from nginx, which
 * copied it from authd's answer; it is still checked (a reason authd knows,
 * or a deny rule's own reason: printable ASCII, bounded) and escaped.
 */
#ifndef AUTHD_PAGE_H
#define AUTHD_PAGE_H

#include <stddef.h>

#define PAGE_BODY_MAX	 4096

enum page_format {
	PAGE_HTML = 0,
	PAGE_JSON,
};

struct page {
	int		 status;	/* 401 or 403 */
	const char	*content_type;	/* static */
	char		 reason[160];	/* for X-Authd-Reason: printable ASCII */
	char		 body[PAGE_BODY_MAX];
	size_t		 len;		/* of body, without the NUL */
};

/*
 * JSON when the Accept header (may be NULL) names application/json or a
 * +json type, else HTML.  Browsers never name JSON; API clients do.
 */
enum page_format	 page_format(const char *accept);

/*
 * Fill out for reason (X-Authd-Reason as authd gave it; may be NULL).  A
 * reason authd knows gets its status and explanation; any other reason
 * that could be a deny rule's own (printable ASCII, 1 to POLICY_REASON_MAX
 * bytes, not "ok") is a 403 from the policy; anything else (missing, "ok",
 * too long, control bytes) becomes 401 "unknown": a page is only ever
 * asked for a refusal, so it always refuses.
 */
void	 page_render(const char *reason, enum page_format fmt,
	    struct page *out);

#endif
