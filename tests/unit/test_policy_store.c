/*
 * test_policy_store.c: policy lists kept in the LMDB store
 * (policy_load_store): the set is named "list:" and the SHA-256 of the
 * file, an unchanged file is found again (in the same store and after a
 * reopen) without being parsed, a changed one gets a new set, a list with
 * an error leaves no set, and lookups through policy_eval answer as the
 * in-memory list does: hits, misses, case, ':' and leading zeros, and
 * serials longer than 64 hex digits.
 */
#include <sys/inotify.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "err.h"
#include "policy.h"
#include "store.h"
#include "t.h"

static char	 dir[256], sdir[300];

/* 100 and 128 hex digits: longer than any SHA-256, the longest allowed. */
#define S100	"1234567890ABCDEF1234567890ABCDEF1234567890ABCDEF" \
		"1234567890ABCDEF1234567890ABCDEF1234567890ABCDEF1234"
#define S100_LOWER_COLON "12:34:56:78:90:ab:cd:ef:1234567890abcdef" \
		"1234567890abcdef1234567890abcdef1234567890abcdef1234567890abcdef1234"
#define S100_OTHER "1234567890ABCDEF1234567890ABCDEF1234567890ABCDEF" \
		"1234567890ABCDEF1234567890ABCDEF1234567890ABCDEF1235"
#define S128	"FEDCBA9876543210FEDCBA9876543210FEDCBA9876543210FEDCBA9876543210" \
		"FEDCBA9876543210FEDCBA9876543210FEDCBA9876543210FEDCBA9876543210"
#define FP	"3f1c9a0e5b7d2c4f6a8e0b1d3c5f7a9e1b3d5f7a9c1e3b5d7f9a1c3e5b7d9f1a"
#define FP_UPPER_COLON \
	"3F:1C:9A:0E:5B:7D:2C:4F:6A:8E:0B:1D:3C:5F:7A:9E:" \
	"1B:3D:5F:7A:9C:1E:3B:5D:7F:9A:1C:3E:5B:7D:9F:1A"
#define FP_OTHER "3f1c9a0e5b7d2c4f6a8e0b1d3c5f7a9e1b3d5f7a9c1e3b5d7f9a1c3e5b7d9f1b"

static const char list_text[] =
"# serials and fingerprints, in every spelling\n"
"\n"
"0A1B2C\n"
"  00:0a:1B:2d   # colons, leading zeros, mixed case\n"
"DEADBEEF\n"
"\t" FP_UPPER_COLON "\n"
"-0102\n"
S100 "\n"
S128 "\n"
"0000\n"
"deadbeef # again\n";
#define LIST_DISTINCT	 8	/* a1b2c a1b2d deadbeef FP -102 S100 S128 0 */

static const char policy_text[] =
"list l file \"l.txt\"\n"
"list empty file \"empty.txt\"\n"
"ruleset default {\n"
"  deny  serial in empty reason \"never\"\n"
"  deny  serial in l reason \"serial-listed\"\n"
"  deny  fingerprint in l reason \"fp-listed\"\n"
"  allow true\n"
"}\n";

struct lookup_case {
	const char	*serial;	/* NULL: no value */
	const char	*fingerprint;
	const char	*want;		/* decision reason */
};

static const struct lookup_case lookups[] = {
	{ "0A1B2C", NULL, "serial-listed" },
	{ "0a1b2c", NULL, "serial-listed" },
	{ "0A:1B:2C", NULL, "serial-listed" },
	{ "00000A1B2C", NULL, "serial-listed" },
	{ "A1B2D", NULL, "serial-listed" },	/* listed as 00:0a:1B:2d */
	{ "DEADBEEF", NULL, "serial-listed" },
	{ "de:ad:be:ef", NULL, "serial-listed" },
	{ "-0102", NULL, "serial-listed" },
	{ "-102", NULL, "serial-listed" },
	{ "0", NULL, "serial-listed" },		/* listed as 0000 */
	{ "00", NULL, "serial-listed" },
	{ S100, NULL, "serial-listed" },
	{ S100_LOWER_COLON, NULL, "serial-listed" },
	{ "00" S100, NULL, "serial-listed" },
	{ S128, NULL, "serial-listed" },
	{ FP, NULL, "serial-listed" },		/* a list mixes both kinds */
	/* misses */
	{ "0A1B2E", NULL, "ok" },
	{ "A1B2", NULL, "ok" },			/* a prefix of an entry */
	{ "A1B2C0", NULL, "ok" },		/* an entry is a prefix */
	{ "0102", NULL, "ok" },			/* only -0102 is listed */
	{ "-0", NULL, "ok" },
	{ "1", NULL, "ok" },
	{ S100_OTHER, NULL, "ok" },
	{ "1234567890ABCDEF1234567890ABCDEF1234567890ABCDEF1234567890ABCDEF",
	    NULL, "ok" },			/* S100 cut at 64 digits */
	{ S128 "0", NULL, "ok" },		/* 129 digits: not a serial */
	{ "", NULL, "ok" },
	{ "xyz", NULL, "ok" },
	{ "DEAD BEEF", NULL, "ok" },
	{ NULL, NULL, "ok" },
	/* fingerprints */
	{ "01", FP, "fp-listed" },
	{ "01", FP_UPPER_COLON, "fp-listed" },
	{ NULL, "00" FP, "fp-listed" },
	{ "01", FP_OTHER, "ok" },
	{ "01", "deadbeef", "fp-listed" },
	{ "01", "3f1c9a0e", "ok" },
	{ "DEADBEEF", FP, "serial-listed" },	/* the first rule decides */
};

static void
sha256_name(const char *path, char *out, size_t len)
{
	unsigned char	 md[EVP_MAX_MD_SIZE];
	unsigned int	 mdlen = 0, i;
	size_t		 n;
	char		*data = t_read(path, &n);

	if (data == NULL || EVP_Digest(data, n, md, &mdlen, EVP_sha256(),
	    NULL) != 1 || len < 5 + 2 * (size_t)mdlen + 1) {
		fprintf(stderr, "cannot hash %s\n", path);
		exit(2);
	}
	memcpy(out, "list:", 5);
	for (i = 0; i < mdlen; i++)
		snprintf(out + 5 + 2 * i, 3, "%02x", md[i]);
	free(data);
}

/* policy_load_store (store NULL: policy_load), errors into *errs. */
static int
load(const char *path, struct store *store, struct policy **p, char **errs)
{
	size_t	 len;
	FILE	*f;
	int	 rc;

	*errs = NULL;
	if ((f = open_memstream(errs, &len)) == NULL) {
		perror("open_memstream");
		exit(2);
	}
	rc = store != NULL ? policy_load_store(path, f, store, p) :
	    policy_load(path, f, p);
	fclose(f);
	return rc;
}

static void
check_lookups(const struct policy *p, const char *mode)
{
	struct policy_identity	 id;
	struct policy_request	 rq = { "GET", "/", "example.org" };
	struct policy_decision	 d;
	size_t			 i;

	for (i = 0; i < sizeof(lookups) / sizeof(lookups[0]); i++) {
		memset(&id, 0, sizeof(id));
		id.serial = lookups[i].serial;
		id.fingerprint = lookups[i].fingerprint;
		policy_eval(p, NULL, &id, &rq, &d);
		CHECK(strcmp(d.reason, lookups[i].want) == 0 &&
		    d.allow == (strcmp(lookups[i].want, "ok") == 0),
		    "%s: serial %s fingerprint %s: expected %s, got %s (allow "
		    "%d)", mode, T_STR(lookups[i].serial),
		    T_STR(lookups[i].fingerprint), lookups[i].want, d.reason,
		    d.allow);
	}
}

/* Opens of the watched file since the last call (inotify IN_OPEN). */
static int
opens(int fd)
{
	char				 buf[4096]
	    __attribute__((aligned(__alignof__(struct inotify_event))));
	const struct inotify_event	*ev;
	ssize_t				 n;
	char				*q;
	int				 count = 0;

	while ((n = read(fd, buf, sizeof(buf))) > 0)
		for (q = buf; q < buf + n; q += sizeof(*ev) + ev->len) {
			ev = (const struct inotify_event *)(void *)q;
			if (ev->mask & IN_OPEN)
				count++;
		}
	return count;
}

static void
test_lists(void)
{
	struct policy	*mem = NULL, *p1 = NULL, *p2 = NULL, *p3 = NULL;
	struct store	*st = NULL;
	store_set_t	 set1, set2;
	size_t		 count1, count2;
	char		 pol[512], lpath[512], epath[512], want[128];
	char		 wantempty[128], err[256], *errs;
	const char	*name;
	int		 rc, ino, o1, o2, o3;

	t_write(dir, "l.txt", list_text, sizeof(list_text) - 1, lpath,
	    sizeof(lpath));
	t_write(dir, "empty.txt", "# nothing yet\n", 14, epath, sizeof(epath));
	t_write(dir, "p.policy", policy_text, sizeof(policy_text) - 1, pol,
	    sizeof(pol));
	sha256_name(lpath, want, sizeof(want));
	sha256_name(epath, wantempty, sizeof(wantempty));
	ino = inotify_init1(IN_NONBLOCK);
	/* with the closes, two opens in a row are not merged into one event */
	CHECK(ino >= 0 && inotify_add_watch(ino, lpath, IN_OPEN |
	    IN_CLOSE_NOWRITE) >= 0,
	    "inotify on %s: %s", lpath, strerror(errno));

	/* in memory: the reference */
	rc = load(pol, NULL, &mem, &errs);
	CHECK(rc == 0 && mem != NULL, "memory: %s: %s", err_str(rc), errs);
	free(errs);
	if (mem == NULL)
		return;
	CHECK(policy_lists(mem) == 2 && policy_list_setname(mem, 0) == NULL &&
	    policy_list_setname(mem, 1) == NULL &&
	    policy_list_entries(mem) == LIST_DISTINCT, "memory: %zu lists, "
	    "%zu entries (expected %d), set name %s", policy_lists(mem),
	    policy_list_entries(mem), LIST_DISTINCT,
	    T_STR(policy_list_setname(mem, 0)));
	check_lookups(mem, "memory");
	opens(ino);

	/* into the store */
	CHECK(store_open(sdir, (size_t)64 << 20, &st, err, sizeof(err)) == 0,
	    "store_open: %s", err);
	if (st == NULL)
		goto end;
	CHECK(store_set_find(st, want, &set1, &count1) == 1,
	    "a fresh store already has %s", want);
	rc = load(pol, st, &p1, &errs);
	o1 = opens(ino);
	CHECK(rc == 0 && p1 != NULL && errs[0] == '\0', "store: %s: %s",
	    err_str(rc), errs);
	free(errs);
	if (p1 == NULL)
		goto end;
	name = policy_list_setname(p1, 0);
	CHECK(name != NULL && strcmp(name, want) == 0, "store: set name "
	    "expected %s, got %s", want, T_STR(name));
	name = policy_list_setname(p1, 1);
	CHECK(name != NULL && strcmp(name, wantempty) == 0, "store: empty "
	    "list's set name expected %s, got %s", wantempty, T_STR(name));
	CHECK(policy_list_setname(p1, 2) == NULL, "store: a set name for list 2 "
	    "of 2");
	CHECK(policy_list_entries(p1) == LIST_DISTINCT, "store: %zu entries, "
	    "expected %d", policy_list_entries(p1), LIST_DISTINCT);
	rc = store_set_find(st, want, &set1, &count1);
	CHECK(rc == 0 && count1 == LIST_DISTINCT, "store: find %s: rc %d, "
	    "count %zu (expected %d)", want, rc, count1, LIST_DISTINCT);
	rc = store_set_find(st, wantempty, &set2, &count2);
	CHECK(rc == 0 && count2 == 0, "store: the empty list: rc %d, count "
	    "%zu", rc, count2);
	check_lookups(p1, "store");

	/* the same file again, same store: found by its digest, not parsed */
	rc = load(pol, st, &p2, &errs);
	o2 = opens(ino);
	CHECK(rc == 0 && p2 != NULL, "store, again: %s: %s", err_str(rc), errs);
	free(errs);
	CHECK(p2 != NULL && policy_list_setname(p2, 0) != NULL &&
	    strcmp(policy_list_setname(p2, 0), want) == 0 &&
	    policy_list_entries(p2) == LIST_DISTINCT,
	    "store, again: set %s, %zu entries", p2 ?
	    T_STR(policy_list_setname(p2, 0)) : "-", p2 ?
	    policy_list_entries(p2) : 0);
	rc = store_set_find(st, want, &set2, &count2);
	CHECK(rc == 0 && set2 == set1 && count2 == count1,
	    "store, again: set %u/%zu, expected %u/%zu", set2, count2, set1,
	    count1);
	/* hashing opens the file once; parsing it would open it again */
	CHECK(o1 >= 2 && o2 == 1, "store: the list was opened %d times on "
	    "the first load, %d on the second (expected 1: hash only)", o1, o2);
	if (p2 != NULL)
		check_lookups(p2, "store, again");
	policy_free(&p2);
	policy_free(&p1);
	store_close(&st);

	/* after a restart */
	CHECK(store_open(sdir, (size_t)64 << 20, &st, err, sizeof(err)) == 0,
	    "store reopen: %s", err);
	if (st == NULL)
		goto end;
	rc = load(pol, st, &p3, &errs);
	o3 = opens(ino);
	CHECK(rc == 0 && p3 != NULL && o3 == 1, "store, reopened: %s, opened "
	    "%d times (expected 1): %s", err_str(rc), o3, errs);
	free(errs);
	rc = store_set_find(st, want, &set2, &count2);
	CHECK(rc == 0 && count2 == LIST_DISTINCT, "store, reopened: find rc "
	    "%d count %zu", rc, count2);
	if (p3 != NULL) {
		name = policy_list_setname(p3, 0);
		CHECK(name != NULL && strcmp(name, want) == 0 &&
		    policy_list_entries(p3) == LIST_DISTINCT, "store, "
		    "reopened: set %s, %zu entries", T_STR(name),
		    policy_list_entries(p3));
		check_lookups(p3, "store, reopened");
	}
	policy_free(&p3);

	/* a changed file: a new set, the new content */
	t_write(dir, "l.txt", "0A1B2C\n", 7, lpath, sizeof(lpath));
	rc = load(pol, st, &p3, &errs);
	CHECK(rc == 0 && p3 != NULL, "store, changed list: %s: %s",
	    err_str(rc), errs);
	free(errs);
	if (p3 != NULL) {
		name = policy_list_setname(p3, 0);
		sha256_name(lpath, err, sizeof(err));
		CHECK(name != NULL && strcmp(name, err) == 0 &&
		    strcmp(name, want) != 0 && policy_list_entries(p3) == 1,
		    "store, changed list: set %s (expected %s), %zu entries",
		    T_STR(name), err, policy_list_entries(p3));
		CHECK(store_set_find(st, err, &set2, &count2) == 0 &&
		    count2 == 1, "store, changed list: the new set");
		CHECK(store_set_find(st, want, &set2, &count2) == 0 &&
		    count2 == LIST_DISTINCT, "store, changed list: the old set "
		    "is dropped only by store_set_retain");
	}
	policy_free(&p3);
end:
	policy_free(&mem);
	store_close(&st);
	if (ino >= 0)
		close(ino);
}

/*
 * Lists with errors: reported at list-file:line:col, the policy refused,
 * and (with a store) no set left under the file's digest.
 */
struct bad_list {
	const char	*name;
	const char	*text;		/* NULL: a 5000-byte line */
	const char	*want[2];	/* after "<dir>/bad.txt:" */
};

static const struct bad_list bad_lists[] = {
	{ "malformed", "0A\n# c\n  not-hex!\nBEEF\n",
	    { "3:3: malformed entry \"not-hex!\": expected a hex serial or "
	      "SHA-256 fingerprint", NULL } },
	{ "two errors", "0A\nzz\nBEEF\n0x12\n",
	    { "2:1: malformed entry \"zz\"", "4:1: malformed entry \"0x12\"" } },
	{ "129 hex digits", "0A\n" S128 "0\n", { "2:1: malformed entry", NULL } },
	{ "a lone minus", "-\n", { "1:1: malformed entry \"-\"", NULL } },
	{ "colon only", "0A\n:\n", { "2:1: malformed entry \":\"", NULL } },
	{ "space inside", "DE AD\n", { "1:1: malformed entry \"DE AD\"", NULL } },
	{ "a long line", NULL, { "1:4097: line longer than 4096 bytes", NULL } },
	{ "bad last line, no newline", "0A\nBEEF\nxx", { "3:1: malformed "
	    "entry \"xx\"", NULL } },
};

static void
test_bad_lists(void)
{
	const struct bad_list	*c;
	struct policy		*p = NULL;
	struct store		*st = NULL;
	store_set_t		 set;
	size_t			 count, i, j, len;
	char			 pol[512], lpath[512], name[128], err[256];
	char			*errs, *text, want[600];
	int			 rc, mode;

	static const char btext[] = "list b file \"bad.txt\"\n"
	    "ruleset default {\n  deny serial in b\n  allow true\n}\n";

	t_write(dir, "b.policy", btext, sizeof(btext) - 1, pol, sizeof(pol));
	CHECK(store_open(sdir, (size_t)64 << 20, &st, err, sizeof(err)) == 0,
	    "store_open: %s", err);
	if (st == NULL)
		return;
	for (i = 0; i < sizeof(bad_lists) / sizeof(bad_lists[0]); i++) {
		c = &bad_lists[i];
		if (c->text == NULL) {
			len = 5000;
			text = malloc(len + 1);
			memset(text, 'a', len);
			text[len] = '\n';
			t_write(dir, "bad.txt", text, len + 1, lpath,
			    sizeof(lpath));
			free(text);
		} else
			t_write(dir, "bad.txt", c->text, strlen(c->text),
			    lpath, sizeof(lpath));
		sha256_name(lpath, name, sizeof(name));
		for (mode = 0; mode < 2; mode++) {
			rc = load(pol, mode ? st : NULL, &p, &errs);
			CHECK(rc == AUTHD_ECONFIG && p == NULL, "%s [%s]: "
			    "expected AUTHD_ECONFIG, got %s", c->name,
			    mode ? "store" : "memory", err_str(rc));
			for (j = 0; j < 2 && c->want[j] != NULL; j++) {
				snprintf(want, sizeof(want), "%s:%s", lpath,
				    c->want[j]);
				CHECK(t_contains(errs, want), "%s [%s]: "
				    "expected %s in %s", c->name, mode ?
				    "store" : "memory", want, T_STR(errs));
			}
			free(errs);
			policy_free(&p);
		}
		rc = store_set_find(st, name, &set, &count);
		CHECK(rc == 1, "%s: a set %s was left in the store (rc %d, "
		    "%zu entries)", c->name, name, rc, count);
	}

	/* fixed: loads, and the set appears */
	t_write(dir, "bad.txt", "0A\nBEEF\n", 8, lpath, sizeof(lpath));
	sha256_name(lpath, name, sizeof(name));
	rc = load(pol, st, &p, &errs);
	CHECK(rc == 0 && p != NULL && store_set_find(st, name, &set, &count) ==
	    0 && count == 2, "fixed list: %s, %s", err_str(rc), T_STR(errs));
	free(errs);
	policy_free(&p);

	/* a list file that is not there */
	unlink(lpath);
	rc = load(pol, st, &p, &errs);
	CHECK(rc == AUTHD_ECONFIG && p == NULL && t_contains(errs, "1:") &&
	    t_contains(errs, "list 'b': cannot open") &&
	    t_contains(errs, "No such file"), "missing list: %s, %s",
	    err_str(rc), T_STR(errs));
	free(errs);
	policy_free(&p);
	store_close(&st);
}

int
main(void)
{
	t_tmpdir(dir, sizeof(dir));
	snprintf(sdir, sizeof(sdir), "%s/store", dir);
	test_lists();
	test_bad_lists();
	t_rmtree(dir);
	return t_done();
}
