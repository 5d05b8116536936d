/*
 * fetchtab.c: the fetch engine's table (see fetchtab.h): a hash that
 * doubles as it fills, an intrusive LRU list, and the in-flight, waiter
 * and back-off bookkeeping shared by OCSP and distribution points.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fetchtab.h"

#define FETCHTAB_BUCKETS_MIN	 1024
#define FETCHTAB_SHIFT_MAX	 20	/* back-off doubling stops here */

void
fetchtab_lock(struct fetchtab *t)
{
	pthread_mutex_lock(&t->lock);
}

void
fetchtab_unlock(struct fetchtab *t)
{
	pthread_mutex_unlock(&t->lock);
}

/* FNV-1a: keys are digests or URLs, any mixing will do. */
static size_t
fetchtab_hash(const char *key)
{
	uint64_t	 h = 14695981039346656037ULL;

	for (; *key != '\0'; key++)
		h = (h ^ (unsigned char)*key) * 1099511628211ULL;
	return (size_t)h;
}

/* Double the buckets when the table outgrows them (no memory: keep). */
static void
fetchtab_grow(struct fetchtab *t)
{
	struct fetchtab_entry	**nb, *e;
	size_t			 n, b;

	if (t->n < t->nbuckets)
		return;
	n = t->nbuckets != 0 ? t->nbuckets * 2 : FETCHTAB_BUCKETS_MIN;
	if ((nb = calloc(n, sizeof(*nb))) == NULL)
		return;
	for (e = t->head; e != NULL; e = e->next) {
		b = fetchtab_hash(e->key) & (n - 1);
		e->hnext = nb[b];
		nb[b] = e;
	}
	free(t->buckets);
	t->buckets = nb;
	t->nbuckets = n;
}

static void
fetchtab_unlink(struct fetchtab *t, struct fetchtab_entry *e)
{
	if (e->prev != NULL)
		e->prev->next = e->next;
	else
		t->head = e->next;
	if (e->next != NULL)
		e->next->prev = e->prev;
	else
		t->tail = e->prev;
	e->prev = e->next = NULL;
}

static void
fetchtab_touch(struct fetchtab *t, struct fetchtab_entry *e)
{
	if (e == t->head)
		return;
	if (e->prev != NULL)		/* in the list, not first: take out */
		fetchtab_unlink(t, e);
	e->next = t->head;
	if (t->head != NULL)
		t->head->prev = e;
	t->head = e;
	if (t->tail == NULL)
		t->tail = e;
}

static void
fetchtab_free(struct fetchtab *t, struct fetchtab_entry *e)
{
	fetch_waiter_free(e->waiters);
	if (t->cleanup != NULL)
		t->cleanup(e);
	free(e);
}

/* Out of the hash and the list, and freed. */
static void
fetchtab_remove(struct fetchtab *t, struct fetchtab_entry *e)
{
	struct fetchtab_entry	**pp;

	for (pp = &t->buckets[fetchtab_hash(e->key) & (t->nbuckets - 1)];
	    *pp != NULL; pp = &(*pp)->hnext)
		if (*pp == e) {
			*pp = e->hnext;
			break;
		}
	fetchtab_unlink(t, e);
	t->n--;
	fetchtab_free(t, e);
}

static void
fetchtab_evict(struct fetchtab *t, size_t max)
{
	struct fetchtab_entry	*e, *prev;

	for (e = t->tail; e != NULL && t->n > max; e = prev) {
		prev = e->prev;
		if (e->running || e->pins > 0 || e->waiters != NULL)
			continue;
		fetchtab_remove(t, e);
		t->evictions++;
	}
}

struct fetchtab_entry *
fetchtab_get(struct fetchtab *t, const char *key, size_t max)
{
	struct fetchtab_entry	*e;
	size_t			 h = fetchtab_hash(key), klen, b;
	char			*k;

	if (t->nbuckets > 0)
		for (e = t->buckets[h & (t->nbuckets - 1)]; e != NULL;
		    e = e->hnext)
			if (strcmp(e->key, key) == 0) {
				fetchtab_touch(t, e);
				return e;
			}
	if (max == 0)
		return NULL;
	fetchtab_grow(t);
	klen = strlen(key);
	if (t->nbuckets == 0 || klen > SIZE_MAX - t->entry_size - 1 ||
	    (e = calloc(1, t->entry_size + klen + 1)) == NULL)
		return NULL;
	k = (char *)e + t->entry_size;
	memcpy(k, key, klen + 1);
	e->key = k;
	b = h & (t->nbuckets - 1);
	e->hnext = t->buckets[b];
	t->buckets[b] = e;
	t->n++;
	fetchtab_touch(t, e);
	e->pins++;			/* not the one evicted */
	fetchtab_evict(t, max);
	e->pins--;
	return e;
}

struct fetch_waiter *
fetchtab_done(struct fetchtab_entry *e, int ok, time_t now,
    time_t backoff_min, time_t backoff_max)
{
	struct fetch_waiter	*w = e->waiters;
	time_t			 wait;
	int			 shift;

	e->running = 0;
	e->waiters = NULL;
	if (ok) {
		e->failures = 0;
		return w;
	}
	if (e->failures < INT32_MAX)
		e->failures++;
	shift = e->failures - 1 < FETCHTAB_SHIFT_MAX ? e->failures - 1 :
	    FETCHTAB_SHIFT_MAX;
	wait = backoff_min << shift;
	if (wait > backoff_max || wait < backoff_min)
		wait = backoff_max;
	e->next_try = now + wait;
	return w;
}

int
fetchtab_wait(struct fetchtab *t, const char *key, void (*fn)(void *),
    void *arg)
{
	struct fetchtab_entry	*e;
	int			 rc = 1;

	fetchtab_lock(t);
	if ((e = fetchtab_get(t, key, 0)) != NULL && e->running)
		rc = fetch_waiter_add(&e->waiters, fn, arg);
	fetchtab_unlock(t);
	return rc;
}

size_t
fetchtab_wake_all(struct fetchtab *t)
{
	struct fetch_waiter	*all = NULL, *w;
	struct fetchtab_entry	*e;
	size_t			 n = 0;

	fetchtab_lock(t);
	for (e = t->head; e != NULL; e = e->next)
		fetch_waiter_move(&all, &e->waiters);
	fetchtab_unlock(t);
	for (w = all; w != NULL; w = w->next)
		n++;
	fetch_waiter_wake(all);
	return n;
}

size_t
fetchtab_count(struct fetchtab *t)
{
	size_t	 n;

	fetchtab_lock(t);
	n = t->n;
	fetchtab_unlock(t);
	return n;
}

unsigned long long
fetchtab_evictions(struct fetchtab *t)
{
	unsigned long long	 n;

	fetchtab_lock(t);
	n = t->evictions;
	fetchtab_unlock(t);
	return n;
}

void
fetchtab_clear(struct fetchtab *t)
{
	struct fetchtab_entry	*e, *next;

	fetchtab_lock(t);
	for (e = t->head; e != NULL; e = next) {
		next = e->next;
		fetchtab_free(t, e);
	}
	free(t->buckets);
	t->buckets = NULL;
	t->nbuckets = t->n = 0;
	t->head = t->tail = NULL;
	t->evictions = 0;
	fetchtab_unlock(t);
}
