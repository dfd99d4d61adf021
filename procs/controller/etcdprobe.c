/*
 * etcdprobe: see etcdprobe.h. The thread only reads etcd and records what it read under
 * a mutex; the loop thread decides, and alone talks to the stream and the view.
 *
 * Invariant: `cut` is true exactly while the stream was told the state is not current.
 */
#include "etcdprobe.h"
#include "common/clock.h"
#include "common/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct etcdprobe {
	struct etcd *e;			/* the thread's own handle */
	struct etcdstore *es;
	struct loop *l;
	struct stream *st;
	struct controller_counters *c;
	uint8_t key[ETCDSTORE_PREFIX_MAX + 8];
	size_t klen;
	uint64_t interval_ns, cut_ns;
	pthread_t thread;
	bool thread_on;
	pthread_mutex_t mu;
	pthread_cond_t cv;		/* stop */
	/* Under mu: the thread's. */
	bool stop;
	uint64_t ok_ns;			/* when the last read that succeeded was sent */
	int64_t newest;			/* the newest change it read */
	char why[ETCD_ERROR_MAX];	/* the last read's failure */
	/* The loop's. */
	struct loop_timer tm;
	int64_t lag_rev;		/* a change read that the view had not applied... */
	uint64_t lag_at;		/* ...at this tick; lag_rev 0: none */
	bool cut;
};

static void *
probe_main(void *arg)
{
	struct etcdprobe *p = arg;

	pthread_mutex_lock(&p->mu);
	while (!p->stop) {
		uint64_t t0 = clock_mono_ns(), until = t0 + p->interval_ns, now;
		struct timespec ts;
		struct etcd_kv kv;
		int rc;

		pthread_mutex_unlock(&p->mu);
		rc = etcd_get(p->e, p->key, p->klen, &kv, NULL);
		pthread_mutex_lock(&p->mu);
		if (rc == 0 || rc == -ENOENT) {
			/* The state as of the read's start, at least: a quorum answered. */
			p->ok_ns = t0;
			p->newest = rc == 0 ? kv.mod_revision : 0;
		} else {
			snprintf(p->why, sizeof(p->why), "%s", etcd_error(p->e));
			STATS_INC(p->c, etcd_probe_fails);
		}
		/* pthread_cond_timedwait takes CLOCK_REALTIME: the rest of the interval. */
		if ((now = clock_mono_ns()) < until) {
			uint64_t ns;

			clock_gettime(CLOCK_REALTIME, &ts);
			ns = (uint64_t)ts.tv_nsec + (until - now);
			ts.tv_sec += (time_t)(ns / 1000000000ull);
			ts.tv_nsec = (long)(ns % 1000000000ull);
			while (!p->stop && pthread_cond_timedwait(&p->cv, &p->mu, &ts) == 0)
				;
		}
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

static void
on_tick(struct loop_timer *tm)
{
	struct etcdprobe *p = tm->arg;
	int64_t applied = etcdstore_applied(p->es), newest;
	uint64_t now = clock_mono_ns(), ok;
	char why[ETCD_ERROR_MAX], msg[WIRE_ERROR_MAX];
	bool cut, lagging;

	pthread_mutex_lock(&p->mu);
	ok = p->ok_ns;
	newest = p->newest;
	memcpy(why, p->why, sizeof(why));
	pthread_mutex_unlock(&p->mu);
	/*
	 * A change read, still not in the view cut_ns after a tick first saw it missing: the
	 * watch stopped following. From the tick, not the read: a loop busy for long (a
	 * commit settling) has not drained what the watch queued meanwhile.
	 */
	if (p->lag_rev && applied >= p->lag_rev)
		p->lag_rev = 0;
	if (p->lag_rev == 0 && applied < newest) {
		p->lag_rev = newest;
		p->lag_at = now;
	}
	lagging = p->lag_rev && now - p->lag_at > p->cut_ns;
	cut = now - ok > p->cut_ns || lagging;
	if (cut != p->cut) {
		p->cut = cut;
		STATS_SET(p->c, etcd_cut_off, cut ? 1 : 0);
		if (!cut) {
			log_info("etcd's quorum reached and the view current again");
		} else if (lagging) {
			snprintf(msg, sizeof(msg), "this controller's view of etcd has not "
			    "applied revision %lld for %llu ms (it holds %lld)",
			    (long long)p->lag_rev,
			    (unsigned long long)((now - p->lag_at) / 1000000), (long long)applied);
		} else {
			snprintf(msg, sizeof(msg), "this controller has not reached etcd's quorum "
			    "for %llu ms (%.100s)", (unsigned long long)((now - ok) / 1000000), why);
		}
		stream_set_current(p->st, !cut, msg);
	}
	loop_timer_set(p->l, &p->tm, p->interval_ns);
}

int
etcdprobe_start(struct etcdprobe **out, const struct etcd_conf *conf,
    struct etcdstore *es, struct loop *l, struct stream *st, struct controller_counters *c,
    char *err, size_t errlen)
{
	struct etcdprobe *p = calloc(1, sizeof(*p));
	char why[ETCD_ERROR_MAX];
	int rc;

	*out = NULL;
	if (p == NULL)
		return -ENOMEM;
	p->es = es;
	p->l = l;
	p->st = st;
	p->c = c;
	p->klen = etcdstore_log_key(es, p->key, sizeof(p->key));
	p->interval_ns = (uint64_t)conf->timeout_ms * 1000000ull / 2;
	p->cut_ns = ETCDPROBE_CUT_TIMEOUTS * (uint64_t)conf->timeout_ms * 1000000ull;
	/* The view was caught up with etcd's quorum just now (etcdstore_open). */
	p->ok_ns = clock_mono_ns();
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	if ((rc = etcd_open(&p->e, conf, why)) < 0) {
		snprintf(err, errlen, "controller.etcd: %s", why);
		etcdprobe_stop(p);
		return rc;
	}
	if ((rc = pthread_create(&p->thread, NULL, probe_main, p)) != 0) {
		snprintf(err, errlen, "etcd probe thread: %s", strerror(rc));
		etcdprobe_stop(p);
		return -rc;
	}
	p->thread_on = true;
	p->tm = (struct loop_timer){ .fn = on_tick, .arg = p };
	loop_timer_set(l, &p->tm, p->interval_ns);
	*out = p;
	return 0;
}

void
etcdprobe_stop(struct etcdprobe *p)
{
	if (p == NULL)
		return;
	if (p->thread_on) {
		/* The thread ends after its read in progress, if any (a timeout at most). */
		pthread_mutex_lock(&p->mu);
		p->stop = true;
		pthread_cond_broadcast(&p->cv);
		pthread_mutex_unlock(&p->mu);
		pthread_join(p->thread, NULL);
		loop_timer_cancel(p->l, &p->tm);
	}
	etcd_close(p->e);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	free(p);
}
