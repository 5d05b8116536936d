/*
 * metrics.c: counters kept per thread, summed and printed on a scrape.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "metrics.h"

#define METRICS_SLOTS	 64	/* request threads with a slot of their own */

typedef atomic_uint_least64_t	 metrics_ctr;

/* Upper bounds of the decision latency buckets, in microseconds. */
static const uint64_t	 metrics_dec_le[] = {
	50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000,
	250000, 500000, 1000000, 2500000, 5000000, 10000000,
};
#define METRICS_DEC_NB	 (sizeof(metrics_dec_le) / sizeof(metrics_dec_le[0]))

/* Upper bounds of the fetch latency buckets, in milliseconds. */
static const long	 metrics_fetch_le[] = {
	5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000,
};
#define METRICS_FETCH_NB (sizeof(metrics_fetch_le) / sizeof(metrics_fetch_le[0]))

/* One request thread's counters; buckets are not cumulative here. */
struct metrics_slot {
	_Alignas(64) metrics_ctr decisions[METRICS_REASONS];
	metrics_ctr		 dec_bucket[METRICS_DEC_NB + 1];
	metrics_ctr		 dec_sum_us;
	metrics_ctr		 unchecked;
};

static struct metrics_slot		 metrics_slots[METRICS_SLOTS];
static atomic_uint			 metrics_nslots;
static _Thread_local struct metrics_slot *metrics_mine;

/* Fetches: few, from fetch threads; shared counters are cheap enough. */
struct metrics_fetch {
	metrics_ctr	 outcome[4];
	metrics_ctr	 bucket[METRICS_FETCH_NB + 1];
	metrics_ctr	 sum_ms;
};
static struct metrics_fetch	 metrics_crl, metrics_ocsp;

static metrics_ctr		 metrics_crl_rejects[METRICS_CRL_REJECTS];
static metrics_ctr		 metrics_reloads_ok, metrics_reloads_failed;
static atomic_int		 metrics_reload_last_ok = 1;
static atomic_llong		 metrics_reload_time;

static const char *const metrics_crl_names[] = {
#define METRICS_STR(name, str) str,
	METRICS_CRL_OUTCOMES(METRICS_STR)
};
static const char *const metrics_ocsp_names[] = {
	METRICS_OCSP_OUTCOMES(METRICS_STR)
#undef METRICS_STR
};

#define METRICS_ADD(c, n) \
	atomic_fetch_add_explicit(&(c), (n), memory_order_relaxed)
#define METRICS_GET(c)	atomic_load_explicit(&(c), memory_order_relaxed)

static struct metrics_slot *
metrics_slot(void)
{
	unsigned int	 i;

	if (metrics_mine == NULL) {
		/* Threads beyond the slots share the last one (still atomic). */
		i = atomic_fetch_add(&metrics_nslots, 1);
		metrics_mine = &metrics_slots[i < METRICS_SLOTS ? i :
		    METRICS_SLOTS - 1];
	}
	return metrics_mine;
}

void
metrics_decision(int reason, uint64_t latency_us, int unchecked)
{
	struct metrics_slot	*s = metrics_slot();
	size_t			 b;

	if ((unsigned int)reason >= METRICS_REASONS)
		reason = METRICS_REASONS - 1;	/* shown as names->fallback */
	METRICS_ADD(s->decisions[reason], 1);
	for (b = 0; b < METRICS_DEC_NB && latency_us > metrics_dec_le[b]; b++)
		;
	METRICS_ADD(s->dec_bucket[b], 1);
	METRICS_ADD(s->dec_sum_us, latency_us);
	if (unchecked)
		METRICS_ADD(s->unchecked, 1);
}

static void
metrics_fetch_add(struct metrics_fetch *f, unsigned int o, long ms)
{
	size_t	 b;

	if (ms < 0)
		ms = 0;
	METRICS_ADD(f->outcome[o & 3], 1);
	for (b = 0; b < METRICS_FETCH_NB && ms > metrics_fetch_le[b]; b++)
		;
	METRICS_ADD(f->bucket[b], 1);
	METRICS_ADD(f->sum_ms, (uint64_t)ms);
}

void
metrics_crl_fetch(enum metrics_crl_outcome o, long ms)
{
	metrics_fetch_add(&metrics_crl, (unsigned int)o, ms);
}

void
metrics_ocsp_query(enum metrics_ocsp_outcome o, long ms)
{
	metrics_fetch_add(&metrics_ocsp, (unsigned int)o, ms);
}

void
metrics_crl_rejected(unsigned int reason)
{
	METRICS_ADD(metrics_crl_rejects[reason < METRICS_CRL_REJECTS ? reason :
	    METRICS_CRL_REJECTS - 1], 1);
}

void
metrics_reload(int ok)
{
	static atomic_int	 started;

	if (atomic_exchange(&started, 1) != 0) {
		if (ok)
			METRICS_ADD(metrics_reloads_ok, 1);
		else
			METRICS_ADD(metrics_reloads_failed, 1);
	}
	atomic_store(&metrics_reload_last_ok, ok ? 1 : 0);
	atomic_store(&metrics_reload_time, (long long)time(NULL));
}

char *
metrics_label(char *dst, size_t cap, const char *src)
{
	static const char	 hex[] = "0123456789abcdef";
	size_t			 o = 0, need;
	unsigned char		 c;
	char			 esc[6];

	if (cap == 0)
		return dst;
	for (; *src != '\0'; src++) {
		c = (unsigned char)*src;
		if (c == '\\' || c == '"') {
			esc[0] = '\\';
			esc[1] = (char)c;
			need = 2;
		} else if (c < 0x20 || c >= 0x7f) {
			/* \xHH as text: the backslash itself escaped */
			memcpy(esc, "\\\\x", 3);
			esc[3] = hex[c >> 4];
			esc[4] = hex[c & 0xf];
			need = 5;
		} else {
			esc[0] = (char)c;
			need = 1;
		}
		if (o + need + 3 >= cap) {
			if (cap > 3 && o + 3 < cap) {
				memcpy(dst + o, "...", 3);
				o += 3;
			}
			break;
		}
		memcpy(dst + o, esc, need);
		o += need;
	}
	dst[o] = '\0';
	return dst;
}

/* ------------------------------------------------ rendering */

int
metrics_buf_init(struct metrics_buf *b)
{
	memset(b, 0, sizeof(*b));
	b->cap = 16384;
	if ((b->p = malloc(b->cap)) == NULL)
		return -1;
	b->p[0] = '\0';
	return 0;
}

void
metrics_printf(struct metrics_buf *b, const char *fmt, ...)
{
	va_list	 ap;
	char	*np;
	size_t	 ncap;
	int	 n;

	for (;;) {
		if (b->failed)
			return;
		va_start(ap, fmt);
		n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->failed = 1;
			return;
		}
		if ((size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		ncap = b->cap * 2 + (size_t)n;
		if ((np = realloc(b->p, ncap)) == NULL) {
			b->failed = 1;
			return;
		}
		b->p = np;
		b->cap = ncap;
	}
}

void
metrics_head(struct metrics_buf *b, const char *name, const char *type,
    const char *help)
{
	metrics_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
	    type);
}

/* Cumulative buckets from per-bucket counts; sum already in seconds. */
void
metrics_histogram(struct metrics_buf *b, const char *name,
    const uint64_t *counts, const double *le, size_t nb, double sum)
{
	uint64_t	 cum = 0;
	size_t		 i;

	for (i = 0; i < nb; i++) {
		cum += counts[i];
		metrics_printf(b, "%s_bucket{le=\"%g\"} %llu\n", name, le[i],
		    (unsigned long long)cum);
	}
	cum += counts[nb];
	metrics_printf(b, "%s_bucket{le=\"+Inf\"} %llu\n", name,
	    (unsigned long long)cum);
	metrics_printf(b, "%s_sum %.6f\n%s_count %llu\n", name, sum, name,
	    (unsigned long long)cum);
}

static void
metrics_fetches(struct metrics_buf *b, const char *what, const char *one,
    const char *noun, struct metrics_fetch *f, const char *const *names)
{
	uint64_t	 counts[METRICS_FETCH_NB + 1];
	double		 le[METRICS_FETCH_NB];
	char		 name[96];
	size_t		 i;

	snprintf(name, sizeof(name), "authd_%s_total", what);
	metrics_printf(b, "# HELP %s %s, by outcome.\n# TYPE %s counter\n",
	    name, noun, name);
	for (i = 0; i < 4; i++)
		metrics_printf(b, "%s{outcome=\"%s\"} %llu\n", name, names[i],
		    (unsigned long long)METRICS_GET(f->outcome[i]));
	for (i = 0; i <= METRICS_FETCH_NB; i++)
		counts[i] = METRICS_GET(f->bucket[i]);
	for (i = 0; i < METRICS_FETCH_NB; i++)
		le[i] = (double)metrics_fetch_le[i] / 1000.0;
	snprintf(name, sizeof(name), "authd_%s_duration_seconds", one);
	metrics_printf(b, "# HELP %s How long %s took, any outcome.\n"
	    "# TYPE %s histogram\n", name, noun, name);
	metrics_histogram(b, name, counts, le, METRICS_FETCH_NB,
	    (double)METRICS_GET(f->sum_ms) / 1000.0);
}

static void
metrics_decisions(struct metrics_buf *b, const struct metrics_names *nm)
{
	uint64_t	 dec[METRICS_REASONS], bucket[METRICS_DEC_NB + 1];
	uint64_t	 sum_us = 0, unchecked = 0;
	double		 le[METRICS_DEC_NB];
	unsigned int	 n = atomic_load(&metrics_nslots), s;
	size_t		 i;

	memset(dec, 0, sizeof(dec));
	memset(bucket, 0, sizeof(bucket));
	for (s = 0; s < n && s < METRICS_SLOTS; s++) {
		for (i = 0; i < METRICS_REASONS; i++)
			dec[i] += METRICS_GET(metrics_slots[s].decisions[i]);
		for (i = 0; i <= METRICS_DEC_NB; i++)
			bucket[i] += METRICS_GET(metrics_slots[s].dec_bucket[i]);
		sum_us += METRICS_GET(metrics_slots[s].dec_sum_us);
		unchecked += METRICS_GET(metrics_slots[s].unchecked);
	}
	metrics_head(b, "authd_decisions_total", "counter", "Decisions "
	    "answered, by HTTP status and reason (a deny rule's own reason "
	    "counts as policy-deny).");
	/* Out-of-range reasons were counted in the last slot. */
	if (nm->fallback < METRICS_REASONS - 1 &&
	    nm->nreasons < METRICS_REASONS)
		dec[nm->fallback] += dec[METRICS_REASONS - 1];
	for (i = 0; i < nm->nreasons && i < METRICS_REASONS - 1; i++)
		metrics_printf(b, "authd_decisions_total{status=\"%d\","
		    "reason=\"%s\"} %llu\n", nm->reason_status[i],
		    nm->reasons[i], (unsigned long long)dec[i]);
	metrics_head(b, "authd_revocation_unchecked_total", "counter",
	    "Requests allowed although revocation could not be checked "
	    "(ocsp_failure allow).");
	metrics_printf(b, "authd_revocation_unchecked_total %llu\n",
	    (unsigned long long)unchecked);
	for (i = 0; i < METRICS_DEC_NB; i++)
		le[i] = (double)metrics_dec_le[i] / 1e6;
	metrics_head(b, "authd_decision_duration_seconds", "histogram",
	    "Time from a request's headers to authd's answer, waits for "
	    "revocation fetches included.");
	metrics_histogram(b, "authd_decision_duration_seconds", bucket, le,
	    METRICS_DEC_NB, (double)sum_us / 1e6);
}

void
metrics_render_counters(struct metrics_buf *b, const struct metrics_names *nm)
{
	size_t	 i;

	metrics_decisions(b, nm);
	metrics_fetches(b, "crl_fetches", "crl_fetch",
	    "CRL distribution point fetches", &metrics_crl, metrics_crl_names);
	metrics_fetches(b, "ocsp_queries", "ocsp_query", "OCSP queries (one "
	    "per responder asked)", &metrics_ocsp, metrics_ocsp_names);
	metrics_head(b, "authd_crl_rejected_total", "counter", "CRLs and "
	    "CRL files rejected (each change once, files and distribution "
	    "points), by reason.");
	for (i = 0; i < nm->ncrl_rejects && i < METRICS_CRL_REJECTS; i++)
		metrics_printf(b, "authd_crl_rejected_total{reason=\"%s\"} "
		    "%llu\n", nm->crl_rejects[i],
		    (unsigned long long)METRICS_GET(metrics_crl_rejects[i]));
	metrics_head(b, "authd_reloads_total", "counter", "Reloads, by "
	    "result.");
	metrics_printf(b, "authd_reloads_total{result=\"success\"} %llu\n"
	    "authd_reloads_total{result=\"failure\"} %llu\n",
	    (unsigned long long)METRICS_GET(metrics_reloads_ok),
	    (unsigned long long)METRICS_GET(metrics_reloads_failed));
	metrics_head(b, "authd_reload_last_success", "gauge", "1 when the "
	    "last reload (or the start) succeeded, 0 when it failed and the "
	    "previous state is still served.");
	metrics_printf(b, "authd_reload_last_success %d\n",
	    atomic_load(&metrics_reload_last_ok));
	metrics_head(b, "authd_reload_last_timestamp_seconds", "gauge",
	    "Unix time of the last reload attempt (or the start).");
	metrics_printf(b, "authd_reload_last_timestamp_seconds %lld\n",
	    atomic_load(&metrics_reload_time));
}

/* The registry of what other modules show. */
static pthread_mutex_t	 metrics_owned_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	metrics_owned_fn	 fn;
	void			*arg;
} metrics_owned[METRICS_OWNED_MAX];
static size_t		 metrics_nowned;

int
metrics_register(metrics_owned_fn fn, void *arg)
{
	size_t	 i;
	int	 rc = -1;

	pthread_mutex_lock(&metrics_owned_lock);
	for (i = 0; i < metrics_nowned; i++)
		if (metrics_owned[i].fn == fn && metrics_owned[i].arg == arg)
			break;
	if (i < metrics_nowned)
		rc = 0;
	else if (metrics_nowned < METRICS_OWNED_MAX) {
		metrics_owned[metrics_nowned].fn = fn;
		metrics_owned[metrics_nowned++].arg = arg;
		rc = 0;
	}
	pthread_mutex_unlock(&metrics_owned_lock);
	return rc;
}

void
metrics_unregister(metrics_owned_fn fn, void *arg)
{
	size_t	 i;

	pthread_mutex_lock(&metrics_owned_lock);
	for (i = 0; i < metrics_nowned; i++)
		if (metrics_owned[i].fn == fn && metrics_owned[i].arg == arg) {
			memmove(&metrics_owned[i], &metrics_owned[i + 1],
			    (metrics_nowned - i - 1) * sizeof(metrics_owned[0]));
			metrics_nowned--;
			break;
		}
	pthread_mutex_unlock(&metrics_owned_lock);
}

void
metrics_render_owned(struct metrics_buf *b)
{
	size_t	 i;

	pthread_mutex_lock(&metrics_owned_lock);
	for (i = 0; i < metrics_nowned; i++)
		metrics_owned[i].fn(b, metrics_owned[i].arg);
	pthread_mutex_unlock(&metrics_owned_lock);
}
