/*
 * crlrec.h: the record of a CRL file in LMDB, for the next start (private
 * to the CRL files; see crlmeta.h).
 */
#ifndef AUTHD_CRLREC_H
#define AUTHD_CRLREC_H

#include "crlmeta.h"

/* Write the record of m[0..n), the CRLs of one file (all indexed). */
void	 crl_rec_store(struct store *store, const char *name,
	    const struct crl_meta *m, size_t n);
/*
 * Rebuild a file's CRLs from its record into s, their signers found and
 * validated again: how many were added, or -1 when no record is usable.
 */
int	 crl_rec_load(struct crl_set *s, struct store *store, const char *name,
	    const struct chain_store *chain, const char *path);
/* path's last good version is the record name. */
void	 crl_path_store(struct store *store, const char *path,
	    const char *name);
/* path was rejected: its last good version's CRLs into s; how many. */
size_t	 crl_path_keep(struct crl_set *s, struct store *store,
	    const char *path, const struct chain_store *chain);

#endif
