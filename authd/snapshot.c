/*
 * snapshot.c: reference-counted immutable snapshots.
 *
 * One mutex guards the current pointer and the counts; it is held for a few
 * instructions per request, never across any work.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "snapshot.h"

static pthread_mutex_t	 snapshot_lock = PTHREAD_MUTEX_INITIALIZER;
static struct snapshot	*snapshot_cur;
static unsigned long	 snapshot_gen;

static void
snapshot_free(struct snapshot *snap)
{
	chain_store_free(&snap->chain);
	config_cleanup(&snap->cfg);
	free(snap);
}

int
snapshot_new(struct config *cfg, struct snapshot **out)
{
	struct snapshot	*snap;
	int		 rc;

	*out = NULL;
	if ((snap = calloc(1, sizeof(*snap))) == NULL)
		return AUTHD_ENOMEM;
	snap->cfg = *cfg;
	config_init(cfg);	/* ownership moved */
	if ((rc = chain_store_load(&snap->cfg, &snap->chain)) != 0) {
		cfg->nerrors = snap->cfg.nerrors;
		snapshot_free(snap);
		return rc;
	}
	snap->refs = 1;
	*out = snap;
	return 0;
}

void
snapshot_publish(struct snapshot *snap)
{
	struct snapshot	*old;

	pthread_mutex_lock(&snapshot_lock);
	snap->generation = ++snapshot_gen;
	old = snapshot_cur;
	snapshot_cur = snap;
	pthread_mutex_unlock(&snapshot_lock);
	if (old != NULL)
		snapshot_release(old);
}

struct snapshot *
snapshot_acquire(void)
{
	struct snapshot	*snap;

	pthread_mutex_lock(&snapshot_lock);
	if ((snap = snapshot_cur) != NULL)
		snap->refs++;
	pthread_mutex_unlock(&snapshot_lock);
	return snap;
}

void
snapshot_release(struct snapshot *snap)
{
	int	 last;

	if (snap == NULL)
		return;
	pthread_mutex_lock(&snapshot_lock);
	last = --snap->refs == 0;
	pthread_mutex_unlock(&snapshot_lock);
	if (last)
		snapshot_free(snap);
}

void
snapshot_shutdown(void)
{
	struct snapshot	*old;

	pthread_mutex_lock(&snapshot_lock);
	old = snapshot_cur;
	snapshot_cur = NULL;
	pthread_mutex_unlock(&snapshot_lock);
	snapshot_release(old);
}
