/*
 * priv.c: dropping root after the privileged set-up.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "priv.h"

#define PRIV_NAME_MAX	 256

/* A decimal id, or -1 when s is not one. */
static long
priv_number(const char *s)
{
	char	*end;
	long	 v;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < 0 || v >= INT_MAX)
		return -1;
	return v;
}

int
priv_lookup(const char *spec, int with_group, uid_t *uid, gid_t *gid,
    char *err, size_t errlen)
{
	char		 user[PRIV_NAME_MAX];
	const char	*colon, *group = NULL;
	struct passwd	*pw;
	struct group	*gr;
	size_t		 ulen;
	long		 n;

	colon = strchr(spec, ':');
	ulen = colon != NULL ? (size_t)(colon - spec) : strlen(spec);
	if (ulen == 0 || ulen >= sizeof(user)) {
		snprintf(err, errlen, "expected USER%s, got \"%.64s\"",
		    with_group ? " or USER:GROUP" : "", spec);
		return AUTHD_EINVAL;
	}
	if (colon != NULL && !with_group) {
		snprintf(err, errlen, "expected a user name, got \"%.64s\" "
		    "(the user's own groups are used)", spec);
		return AUTHD_EINVAL;
	}
	memcpy(user, spec, ulen);
	user[ulen] = '\0';
	if (colon != NULL && *(group = colon + 1) == '\0') {
		snprintf(err, errlen, "empty group in \"%.64s\"", spec);
		return AUTHD_EINVAL;
	}
	errno = 0;
	if ((pw = getpwnam(user)) != NULL) {
		*uid = pw->pw_uid;
		*gid = pw->pw_gid;
	} else if ((n = priv_number(user)) >= 0) {
		*uid = (uid_t)n;
		*gid = (pw = getpwuid(*uid)) != NULL ? pw->pw_gid : (gid_t)n;
	} else {
		snprintf(err, errlen, "no such user \"%.64s\"", user);
		return AUTHD_EINVAL;
	}
	if (group == NULL)
		return 0;
	if ((gr = getgrnam(group)) != NULL)
		*gid = gr->gr_gid;
	else if ((n = priv_number(group)) >= 0)
		*gid = (gid_t)n;
	else {
		snprintf(err, errlen, "no such group \"%.64s\"", group);
		return AUTHD_EINVAL;
	}
	return 0;
}

int
priv_prepare_dir(const char *dir, uid_t uid, gid_t gid, char *err,
    size_t errlen)
{
	static const char *const files[] = { "data.mdb", "lock.mdb" };
	struct stat	 sb;
	size_t		 i;
	int		 fd = -1, ffd, rc = AUTHD_ESYS;

	if (geteuid() != 0) {
		if (access(dir, F_OK) == 0 && access(dir, W_OK | X_OK) != 0) {
			snprintf(err, errlen, "%s: not writable by uid %lu: %s",
			    dir, (unsigned long)geteuid(), strerror(errno));
			return AUTHD_ESYS;
		}
		return 0;
	}
	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create %s: %s", dir,
		    strerror(errno));
		return AUTHD_ESYS;
	}
	/* Opened without following a link: what is chowned is what we checked. */
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1 || fstat(fd, &sb) == -1) {
		snprintf(err, errlen, "cannot open %s: %s", dir,
		    strerror(errno));
		goto end;
	}
	if ((sb.st_uid != uid || sb.st_gid != gid) &&
	    fchown(fd, uid, gid) == -1) {
		snprintf(err, errlen, "cannot chown %s: %s", dir,
		    strerror(errno));
		goto end;
	}
	/*
	 * Only LMDB's own files, opened without following a link and
	 * refused when hard-linked: a file someone linked into data_dir is
	 * never handed to the user by root.
	 */
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		if ((ffd = openat(fd, files[i], O_RDONLY | O_NOFOLLOW |
		    O_NONBLOCK | O_CLOEXEC)) == -1) {
			if (errno == ENOENT)
				continue;
			snprintf(err, errlen, "cannot open %s/%s: %s", dir,
			    files[i], strerror(errno));
			goto end;
		}
		if (fstat(ffd, &sb) == -1 || !S_ISREG(sb.st_mode) ||
		    sb.st_nlink != 1) {
			snprintf(err, errlen, "%s/%s: not a regular file with "
			    "one link: refusing to give it to %lu:%lu", dir,
			    files[i], (unsigned long)uid, (unsigned long)gid);
			close(ffd);
			goto end;
		}
		if ((sb.st_uid != uid || sb.st_gid != gid) &&
		    fchown(ffd, uid, gid) == -1) {
			snprintf(err, errlen, "cannot chown %s/%s: %s", dir,
			    files[i], strerror(errno));
			close(ffd);
			goto end;
		}
		close(ffd);
	}
	rc = 0;
end:
	if (fd != -1)
		close(fd);
	return rc;
}

int
priv_drop(const char *name, uid_t uid, gid_t gid, char *err, size_t errlen)
{
	uid_t	 ru, eu, su;
	gid_t	 rg, eg, sg;

	if (geteuid() != 0) {
		if (getuid() == uid && geteuid() == uid)
			return 0;
		snprintf(err, errlen, "running as uid %lu, cannot switch to "
		    "%.64s (uid %lu): start as root, or remove the user key",
		    (unsigned long)geteuid(), name, (unsigned long)uid);
		return AUTHD_ESYS;
	}
	if (uid == 0) {
		snprintf(err, errlen, "refusing to \"drop\" to %.64s: uid 0",
		    name);
		return AUTHD_ESYS;
	}
	/* Groups first: after setresuid there is no right to change them. */
	if (initgroups(name, gid) == -1 && setgroups(1, &gid) == -1) {
		snprintf(err, errlen, "setgroups: %s", strerror(errno));
		return AUTHD_ESYS;
	}
	if (setresgid(gid, gid, gid) == -1) {
		snprintf(err, errlen, "setresgid(%lu): %s",
		    (unsigned long)gid, strerror(errno));
		return AUTHD_ESYS;
	}
	if (setresuid(uid, uid, uid) == -1) {
		snprintf(err, errlen, "setresuid(%lu): %s",
		    (unsigned long)uid, strerror(errno));
		return AUTHD_ESYS;
	}
	if (getresuid(&ru, &eu, &su) == -1 || getresgid(&rg, &eg, &sg) == -1 ||
	    ru != uid || eu != uid || su != uid || rg != gid || eg != gid ||
	    sg != gid) {
		snprintf(err, errlen, "ids after the switch are not %lu:%lu",
		    (unsigned long)uid, (unsigned long)gid);
		return AUTHD_ESYS;
	}
	if (setuid(0) != -1 || setgid(0) != -1) {
		snprintf(err, errlen, "root can be regained after the switch");
		return AUTHD_ESYS;
	}
	return 0;
}
