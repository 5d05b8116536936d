/*
 * fuzz_http: what a responder or anyone on the path sends back to a
 * fetch (status line, headers, chunked bodies, size caps), through
 * fetch_parse_response: the libcurl transfer and authd's header, body and
 * status handling that fetch_http uses, served from a loopback socket.
 * Two caps: one the input can exceed, one it cannot.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fetch.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t	 caps[] = { 64, 1024 * 1024 };
	struct fetch_result	 res;
	size_t			 i;

	for (i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		if (fetch_parse_response(data, size, caps[i], &res) == 0) {
			/* a whole answer: a body within the cap, NUL after it */
			if (!res.not_modified && (res.body == NULL ||
			    res.len > caps[i] || res.body[res.len] != '\0'))
				__builtin_trap();
		} else if (res.ok || res.body != NULL || res.error[0] == '\0')
			__builtin_trap();
		fetch_result_cleanup(&res);
	}
	return 0;
}
