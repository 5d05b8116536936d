/*
 * log.h: diagnostics on stderr.
 *
 * log_warn appends strerror(errno); log_warnx does not.  fatalx logs and
 * exits 1.  Messages must never contain whole certificates or raw headers:
 * pass client-chosen text through log_escape first.
 */
#ifndef AUTHD_LOG_H
#define AUTHD_LOG_H

#include <stddef.h>

enum log_level {
	LOG_LEVEL_ERROR = 0,
	LOG_LEVEL_WARN,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
};

#define LOG_PRINTF(a, b) __attribute__((format(printf, a, b)))

void	 log_init(enum log_level level);
int	 log_level_parse(const char *s, enum log_level *out);
int	 log_enabled(enum log_level level);
void	 log_error(const char *fmt, ...) LOG_PRINTF(1, 2);
void	 log_warn(const char *fmt, ...) LOG_PRINTF(1, 2);
void	 log_warnx(const char *fmt, ...) LOG_PRINTF(1, 2);
void	 log_info(const char *fmt, ...) LOG_PRINTF(1, 2);
void	 log_debug(const char *fmt, ...) LOG_PRINTF(1, 2);
void	 fatalx(const char *fmt, ...) LOG_PRINTF(1, 2) __attribute__((noreturn));

/*
 * Copy at most len-1 bytes of src into dst, replacing control bytes, DEL,
 * backslash, double quote and bytes >= 0x80 with \xHH so that the result is
 * printable ASCII safe for a log line or an HTTP header.  Output longer than
 * the buffer is cut and ends in "...".  Returns dst.
 */
char	*log_escape(char *dst, size_t len, const char *src, size_t srclen);

#endif
