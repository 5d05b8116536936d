/*
 * test_fetchtab.c: the fetch engine's table on its own: one entry per key
 * (coalescing), the owner's fields zeroed and cleaned up, LRU eviction
 * that passes over entries in use (running, waited on, pinned), the
 * back-off, waiters woken once (by the end of a fetch or by a wake-all,
 * never both), the hash growing far past its first size, and clear
 * (shutdown) with waiters still registered.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fetchtab.h"
#include "t.h"

struct obj {
	struct fetchtab_entry	 fe;
	int			 value;
	char			*owned;
};

static int	 cleaned;

static void
obj_cleanup(struct fetchtab_entry *fe)
{
	struct obj	*o = (struct obj *)fe;

	cleaned++;
	free(o->owned);
}

static struct fetchtab	 tab = FETCHTAB_INITIALIZER(struct obj, obj_cleanup);

static int	 woken[8];

static void
wake(void *arg)
{
	woken[*(int *)arg]++;
}

static struct obj *
get(const char *key, size_t max)
{
	return (struct obj *)fetchtab_get(&tab, key, max);
}

static void
test_coalesce(void)
{
	struct obj	*a, *b;

	fetchtab_lock(&tab);
	CHECK(get("k1", 0) == NULL, "lookup without create made an entry");
	a = get("k1", 10);
	CHECK(a != NULL && strcmp(a->fe.key, "k1") == 0 && a->value == 0 &&
	    a->owned == NULL && !a->fe.running && a->fe.failures == 0,
	    "new entry not zeroed");
	a->value = 7;
	a->owned = strdup("x");
	b = get("k1", 10);
	CHECK(a == b && b->value == 7, "second get of k1: another entry");
	CHECK(get("k1", 0) == a, "lookup of k1 missed");
	CHECK(get("k10", 0) == NULL && get("k", 0) == NULL, "prefix matched");
	fetchtab_unlock(&tab);
	CHECK(fetchtab_count(&tab) == 1, "count %zu", fetchtab_count(&tab));
}

static void
test_backoff(void)
{
	struct obj		*a;
	struct fetch_waiter	*w;
	static const time_t	 want[] = { 30, 60, 120, 240, 480, 600, 600 };
	size_t			 i;

	fetchtab_lock(&tab);
	a = get("bo", 10);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		a->fe.running = 1;
		w = fetchtab_done(&a->fe, 0, 1000, 30, 600);
		CHECK(w == NULL && !a->fe.running && a->fe.failures ==
		    (int)i + 1 && a->fe.next_try == 1000 + want[i],
		    "failure %zu: failures %d, next try +%lld, want +%lld",
		    i + 1, a->fe.failures, (long long)(a->fe.next_try - 1000),
		    (long long)want[i]);
	}
	for (i = 0; i < 100; i++)
		(void)fetchtab_done(&a->fe, 0, 1000, 30, 600);
	CHECK(a->fe.next_try == 1600, "after 107 failures: +%lld",
	    (long long)(a->fe.next_try - 1000));
	(void)fetchtab_done(&a->fe, 1, 2000, 30, 600);
	CHECK(a->fe.failures == 0, "success kept %d failures", a->fe.failures);
	fetchtab_unlock(&tab);
}

static void
test_waiters(void)
{
	struct obj		*a;
	struct fetch_waiter	*w;
	static int		 ids[] = { 0, 1, 2, 3 };

	memset(woken, 0, sizeof(woken));
	CHECK(fetchtab_wait(&tab, "nothing", wake, &ids[0]) == 1,
	    "wait on an unknown key registered");
	CHECK(fetchtab_wait(&tab, "k1", wake, &ids[0]) == 1,
	    "wait on a key not running registered");
	fetchtab_lock(&tab);
	a = get("w", 10);
	a->fe.running = 1;
	fetchtab_unlock(&tab);
	CHECK(fetchtab_wait(&tab, "w", wake, &ids[0]) == 0 &&
	    fetchtab_wait(&tab, "w", wake, &ids[1]) == 0, "wait refused");
	fetchtab_lock(&tab);
	w = fetchtab_done(&a->fe, 1, 0, 30, 600);
	CHECK(a->fe.waiters == NULL, "done left the waiters in the entry");
	fetchtab_unlock(&tab);
	CHECK(woken[0] == 0 && woken[1] == 0, "woken under the lock");
	fetch_waiter_wake(w);
	CHECK(woken[0] == 1 && woken[1] == 1, "done: woken %d %d", woken[0],
	    woken[1]);

	/* a wake-all takes them; the fetch ending later wakes nobody twice */
	fetchtab_lock(&tab);
	a->fe.running = 1;
	fetchtab_unlock(&tab);
	CHECK(fetchtab_wait(&tab, "w", wake, &ids[2]) == 0, "wait refused");
	CHECK(fetchtab_wake_all(&tab) == 1, "wake_all count");
	CHECK(woken[2] == 1, "wake_all did not wake");
	fetchtab_lock(&tab);
	w = fetchtab_done(&a->fe, 1, 0, 30, 600);
	fetchtab_unlock(&tab);
	fetch_waiter_wake(w);
	CHECK(woken[2] == 1 && w == NULL, "woken twice");
}

static void
test_evict(void)
{
	struct obj	*o;
	char		 key[32];
	int		 i, before = cleaned;
	unsigned long long ev = fetchtab_evictions(&tab);
	static int	 id = 4;

	fetchtab_clear(&tab);
	CHECK(fetchtab_count(&tab) == 0 && fetchtab_evictions(&tab) == 0,
	    "clear left %zu entries", fetchtab_count(&tab));
	before = cleaned;
	ev = 0;
	fetchtab_lock(&tab);
	for (i = 0; i < 5; i++) {
		snprintf(key, sizeof(key), "e%d", i);
		o = get(key, 5);
		o->owned = strdup(key);
	}
	/* e0 is the oldest: running; e1 waited on; e2 pinned */
	get("e0", 0)->fe.running = 1;
	get("e1", 0)->fe.running = 1;
	fetchtab_unlock(&tab);
	CHECK(fetchtab_wait(&tab, "e1", wake, &id) == 0, "wait e1");
	fetchtab_lock(&tab);
	get("e1", 0)->fe.running = 0;	/* the waiter alone holds it */
	get("e2", 0)->fe.pins = 1;
	/* e0, e1, e2 were just touched: e3 and e4 are the oldest now */
	o = get("e5", 5);
	CHECK(o != NULL && tab.n == 5 && get("e3", 0) == NULL,
	    "e5 did not push out e3 (n %zu)", tab.n);
	/* all but e4 and e5 held: a bound of 2 drops those two, no more */
	o = get("e6", 2);
	CHECK(o != NULL && get("e0", 0) != NULL && get("e1", 0) != NULL &&
	    get("e2", 0) != NULL && get("e4", 0) == NULL &&
	    get("e5", 0) == NULL && tab.n == 4,
	    "held entries evicted, or free ones kept (n %zu)", tab.n);
	ev = tab.evictions;
	fetchtab_unlock(&tab);
	CHECK(ev == 3 && cleaned - before == 3, "evictions %llu, cleaned %d",
	    ev, cleaned - before);

	/* 100,000 keys against a bound of 1,000: found while held */
	fetchtab_clear(&tab);
	fetchtab_lock(&tab);
	for (i = 0; i < 100000; i++) {
		snprintf(key, sizeof(key), "fleet-%d", i);
		if ((o = get(key, 1000)) == NULL)
			break;
		o->value = i;
	}
	CHECK(i == 100000 && tab.n == 1000 && tab.evictions == 99000,
	    "100,000 keys: stopped at %d, n %zu, evictions %llu", i, tab.n,
	    tab.evictions);
	for (i = 99000; i < 100000; i++) {
		snprintf(key, sizeof(key), "fleet-%d", i);
		o = get(key, 0);
		if (o == NULL || o->value != i)
			break;
	}
	CHECK(i == 100000, "the last 1,000 keys: %d not found", i);
	fetchtab_unlock(&tab);
}

static void
test_clear_with_waiters(void)
{
	struct obj	*o;
	static int	 id = 5;

	fetchtab_lock(&tab);
	o = get("shut", 10);
	o->fe.running = 1;
	fetchtab_unlock(&tab);
	CHECK(fetchtab_wait(&tab, "shut", wake, &id) == 0, "wait");
	woken[5] = 0;
	fetchtab_clear(&tab);
	CHECK(woken[5] == 0 && fetchtab_count(&tab) == 0, "clear woke %d, "
	    "left %zu", woken[5], fetchtab_count(&tab));
	/* usable again */
	fetchtab_lock(&tab);
	CHECK(get("again", 1) != NULL, "get after clear");
	fetchtab_unlock(&tab);
	fetchtab_clear(&tab);
}

int
main(void)
{
	test_coalesce();
	test_backoff();
	test_waiters();
	test_evict();
	test_clear_with_waiters();
	return t_done();
}
