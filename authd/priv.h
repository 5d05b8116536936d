/*
 * priv.h: running as an unprivileged user after the privileged set-up
 * (binding the listener, opening data_dir).
 *
 * authd serve binds and opens as the user it was started as; with `user`
 * set it then gives up root for good: supplementary groups, gid and uid,
 * real, effective and saved, and checks that root cannot be taken back.
 */
#ifndef AUTHD_PRIV_H
#define AUTHD_PRIV_H

#include <sys/types.h>

#include <stddef.h>

/*
 * Resolve "USER" or "USER:GROUP" (names or numeric ids).  Without a group,
 * gid is the user's primary group.  with_group 0 refuses ":GROUP".  Returns
 * 0, or AUTHD_EINVAL with the reason in err (no such user, no such group).
 */
int	 priv_lookup(const char *spec, int with_group, uid_t *uid, gid_t *gid,
	    char *err, size_t errlen);

/*
 * Make dir usable by uid:gid before dropping to them: created (0700) when
 * missing, then the directory and LMDB's data.mdb and lock.mdb handed to
 * uid:gid, and nothing else in it.  Only when running as root; otherwise it
 * checks that dir, if it exists, is writable.  Symbolic links are not
 * followed, and a file with more than one link is refused (it could be
 * anyone's).  Returns 0 or AUTHD_ESYS with the reason in err.
 */
int	 priv_prepare_dir(const char *dir, uid_t uid, gid_t gid, char *err,
	    size_t errlen);

/*
 * Become name (uid, gid, name's supplementary groups) for good.  When
 * already running as uid (and not root) there is nothing to do.  Returns 0,
 * or AUTHD_ESYS with the reason in err (not root, a call failed, or root
 * could be regained afterwards).
 */
int	 priv_drop(const char *name, uid_t uid, gid_t gid, char *err,
	    size_t errlen);

#endif
