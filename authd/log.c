/* log.c: leveled diagnostics on stderr, one line per call. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "log.h"

static _Atomic enum log_level	 log_cur = LOG_LEVEL_INFO;

static const char *const log_names[] = {
	[LOG_LEVEL_ERROR] = "error",
	[LOG_LEVEL_WARN] = "warn",
	[LOG_LEVEL_INFO] = "info",
	[LOG_LEVEL_DEBUG] = "debug",
};

void
log_init(enum log_level level)
{
	log_cur = level;
}

int
log_level_parse(const char *s, enum log_level *out)
{
	size_t	 i;

	for (i = 0; i < sizeof(log_names) / sizeof(log_names[0]); i++) {
		if (strcasecmp(s, log_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

int
log_enabled(enum log_level level)
{
	return level <= log_cur;
}

static void
log_vwrite(enum log_level level, int with_errno, const char *fmt, va_list ap)
{
	char		 msg[1024], ts[32];
	struct tm	 tm;
	time_t		 now;
	int		 saved = errno;

	if (!log_enabled(level))
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	now = time(NULL);
	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (with_errno)
		fprintf(stderr, "%s authd %s: %s: %s\n", ts, log_names[level],
		    msg, strerror(saved));
	else
		fprintf(stderr, "%s authd %s: %s\n", ts, log_names[level], msg);
	errno = saved;
}

#define LOG_BODY(level, with_errno) do {		\
	va_list ap;					\
	va_start(ap, fmt);				\
	log_vwrite((level), (with_errno), fmt, ap);	\
	va_end(ap);					\
} while (0)

void log_error(const char *fmt, ...) { LOG_BODY(LOG_LEVEL_ERROR, 0); }
void log_warn(const char *fmt, ...) { LOG_BODY(LOG_LEVEL_WARN, 1); }
void log_warnx(const char *fmt, ...) { LOG_BODY(LOG_LEVEL_WARN, 0); }
void log_info(const char *fmt, ...) { LOG_BODY(LOG_LEVEL_INFO, 0); }
void log_debug(const char *fmt, ...) { LOG_BODY(LOG_LEVEL_DEBUG, 0); }

void
fatalx(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_ERROR, 0);
	exit(1);
}

char *
log_escape(char *dst, size_t len, const char *src, size_t srclen)
{
	static const char	 hex[] = "0123456789abcdef";
	size_t			 i, o = 0;
	unsigned char		 c;

	if (len == 0)
		return dst;
	for (i = 0; i < srclen; i++) {
		c = (unsigned char)src[i];
		if (c >= 0x20 && c < 0x7f && c != '\\' && c != '"') {
			if (o + 1 >= len)
				goto cut;
			dst[o++] = (char)c;
		} else {
			if (o + 4 >= len)
				goto cut;
			dst[o++] = '\\';
			dst[o++] = 'x';
			dst[o++] = hex[c >> 4];
			dst[o++] = hex[c & 0xf];
		}
	}
	dst[o] = '\0';
	return dst;
cut:
	if (len >= 4) {
		o = o < len - 4 ? o : len - 4;
		memcpy(dst + o, "...", 3);
		o += 3;
	}
	dst[o < len ? o : len - 1] = '\0';
	return dst;
}
