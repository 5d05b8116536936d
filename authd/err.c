/* err.c: error strings from the one list in err.h. */
#include <stddef.h>
#include <string.h>

#include <openssl/err.h>

#include "err.h"

const char *
err_str(int err)
{
	switch (err) {
#define AUTHD_ERR_CASE(name, val, str) case (val): return (str);
	AUTHD_ERR_LIST(AUTHD_ERR_CASE)
#undef AUTHD_ERR_CASE
	}
	return "unknown error";
}

char *
err_openssl(char *buf, size_t len)
{
	unsigned long	 e;
	size_t		 off, n;
	const char	*data;
	char		 one[256];
	int		 flags;

	if (len == 0)
		return buf;
	off = strlen(buf);
	while ((e = ERR_get_error_all(NULL, NULL, NULL, &data, &flags)) != 0) {
		ERR_error_string_n(e, one, sizeof(one));
		/* The detail OpenSSL adds ("Verify error: certificate has expired"). */
		n = strlen(one);
		if ((flags & ERR_TXT_STRING) && data != NULL && data[0] != '\0')
			snprintf(one + n, sizeof(one) - n, " (%s)", data);
		if (off + 2 + strlen(one) + 1 > len)
			continue;	/* keep draining, drop what does not fit */
		if (off > 0) {
			memcpy(buf + off, "; ", 2);
			off += 2;
		}
		memcpy(buf + off, one, strlen(one) + 1);
		off += strlen(one);
	}
	return buf;
}
