/*
 * t.h: the unit tests' whole harness.
 *
 * CHECK(cond, fmt, ...) counts a case and, when cond is false, prints the
 * location, the condition and a message naming input, expected and got.
 * A program ends with "return t_done();": 0 when every case passed.
 * The helpers below keep files in one mkdtemp directory under /tmp.
 */
#ifndef AUTHD_TEST_T_H
#define AUTHD_TEST_T_H

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int	 t_cases;
static int	 t_failures;

#define CHECK(cond, ...) do {						\
	t_cases++;							\
	if (!(cond)) {							\
		t_failures++;						\
		fprintf(stderr, "%s:%d: FAIL (%s): ", __FILE__,	\
		    __LINE__, #cond);					\
		fprintf(stderr, __VA_ARGS__);				\
		fputc('\n', stderr);					\
	}								\
} while (0)

static inline int
t_done(void)
{
	fprintf(stderr, "%d cases, %d failed\n", t_cases, t_failures);
	return t_failures == 0 ? 0 : 1;
}

/* Printable form of len bytes of s for failure messages (cut at 200). */
static inline const char *
t_show(const void *s, size_t len)
{
	static char	 bufs[4][1024];
	static int	 which;
	const unsigned char *p = s;
	char		*b = bufs[which++ & 3];
	size_t		 i, o = 0;

	if (s == NULL)
		return "(null)";
	b[o++] = '"';
	for (i = 0; i < len && o < 900; i++) {
		if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '"' && p[i] != '\\')
			b[o++] = (char)p[i];
		else
			o += (size_t)snprintf(b + o, 8, "\\x%02x", p[i]);
		if (i == 200 && len > 240) {
			o += (size_t)snprintf(b + o, 40, "...(%zu bytes)", len);
			break;
		}
	}
	b[o++] = '"';
	b[o] = '\0';
	return b;
}

#define T_STR(s)	t_show((s), (s) != NULL ? strlen(s) : 0)

/* Whether needle occurs in hay (NULL never matches). */
static inline int
t_contains(const char *hay, const char *needle)
{
	return hay != NULL && needle != NULL && strstr(hay, needle) != NULL;
}

/* A fresh directory under /tmp; aborts the program if none can be made. */
static inline char *
t_tmpdir(char *buf, size_t len)
{
	snprintf(buf, len, "/tmp/authd-unit-XXXXXX");
	if (mkdtemp(buf) == NULL) {
		perror("mkdtemp");
		exit(2);
	}
	return buf;
}

static inline int
t_rm_one(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)type;
	(void)ftw;
	return remove(path);
}

static inline void
t_rmtree(const char *dir)
{
	nftw(dir, t_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Write len bytes to dir/name; the path goes into out. */
static inline void
t_write(const char *dir, const char *name, const void *data, size_t len,
    char *out, size_t outlen)
{
	FILE	*f;

	snprintf(out, outlen, "%s/%s", dir, name);
	if ((f = fopen(out, "w")) == NULL || fwrite(data, 1, len, f) != len ||
	    fclose(f) != 0) {
		perror(out);
		exit(2);
	}
}

/* Whole file, NUL-terminated, length in *len; NULL when unreadable. */
static inline char *
t_read(const char *path, size_t *len)
{
	FILE	*f;
	char	*buf = NULL, *n;
	size_t	 cap = 0, got = 0, r;

	if ((f = fopen(path, "rb")) == NULL)
		return NULL;
	for (;;) {
		if (got + 4096 + 1 > cap) {
			cap = (got + 4096 + 1) * 2;
			if ((n = realloc(buf, cap)) == NULL) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = n;
		}
		if ((r = fread(buf + got, 1, 4096, f)) == 0)
			break;
		got += r;
	}
	fclose(f);
	buf[got] = '\0';
	if (len != NULL)
		*len = got;
	return buf;
}

/*
 * Capture what a call prints on stderr: t_capture_start, the call,
 * t_capture_end returns the text (caller frees).
 */
struct t_capture {
	int	 saved;
	char	 path[64];
};

static inline void
t_capture_start(struct t_capture *c)
{
	int	 fd;

	fflush(stderr);
	snprintf(c->path, sizeof(c->path), "/tmp/authd-unit-err-XXXXXX");
	if ((fd = mkstemp(c->path)) < 0 || (c->saved = dup(2)) < 0 ||
	    dup2(fd, 2) < 0) {
		perror("capture");
		exit(2);
	}
	close(fd);
}

static inline char *
t_capture_end(struct t_capture *c)
{
	char	*text;

	fflush(stderr);
	dup2(c->saved, 2);
	close(c->saved);
	text = t_read(c->path, NULL);
	unlink(c->path);
	if (text == NULL)
		text = strdup("");
	return text;
}

/* Number of times needle occurs in hay. */
static inline int
t_count(const char *hay, const char *needle)
{
	int	 n = 0;

	while (hay != NULL && (hay = strstr(hay, needle)) != NULL) {
		n++;
		hay += strlen(needle);
	}
	return n;
}

#endif
