/*
 * table_writer: the writer of the table stress test. Applies the change sequence of
 * stress_model.h to a gateway table of NKEYS keys as fast as it can (or at -r changes
 * a second), recording the last change applied in the table, so that a writer killed
 * with SIGKILL and started again resumes where the table says it stopped. Every
 * STRESS_CHURN_EVERY changes it also makes a VNI and drops an older one (VNI churn,
 * stress_model.h). --verify recomputes the state after that change and compares every
 * key and which churn VNIs are held.
 *
 *	table_writer NODE NKEYS [-n CHANGES] [-r RATE] [--verify]
 */
#include "stress_model.h"
#include "common/clock.h"
#include "common/log.h"
#include "shm/stats.h"
#include "shm/table.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define WRITER_COUNTERS(X)						\
	X(changes,        COUNTER, "changes applied by this process")	\
	X(applied_seq,    GAUGE,   "last change in the table")		\
	X(rules,          GAUGE,   "rules and tombstones held")		\
	X(limbo,          GAUGE,   "entries waiting for readers")	\
	X(free,           GAUGE,   "entries free to use")		\
	X(refused,        COUNTER, "changes refused: table full or no free entry") \
	X(vni_waits,      COUNTER, "churn VNIs refused: readers hold the dropped VNIs' slots") \
	X(vnis_freed,     GAUGE,   "VNI slots given back after their grace period") \
	X(readers_reaped, GAUGE,   "reader slots freed after their process died") \
	X(recoveries,     GAUGE,   "restarts that rebuilt the writer state")
STATS_DECLARE(writer, WRITER_COUNTERS)

static volatile sig_atomic_t stop;

static void
on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static void
params(struct table_params *p, uint32_t nkeys)
{
	table_params_default(p, TABLE_GATEWAY);
	p->capacity = nkeys;
	p->max_vnis = 64;
	p->version_window = 256;
	p->max_readers = 16;
}

/* Churn step j at change op; replaying it is harmless (stale sets, a VNI gone). */
static int
churn(struct table *t, uint64_t j, uint64_t op)
{
	uint32_t vni = stress_churn_vni(j);
	int e;

	for (uint32_t i = 0; i < STRESS_CHURN_RULES; i++) {
		struct table_rule r = { .vni = vni, .ip = STRESS_CHURN_IP + i, .version = op };

		stress_churn_value(vni, r.ip, op, r.mac, &r.vtep);
		if ((e = table_set(t, &r)) < 0)
			return e == -ENOSPC ? -EAGAIN : e;
	}
	if ((e = table_vni_advance(t, vni, STRESS_GEN, op)) < 0)
		return e == -ENOSPC ? -EAGAIN : e;
	if (j > STRESS_CHURN_LIVE)
		table_vni_drop(t, stress_churn_vni(j - STRESS_CHURN_LIVE));
	return 0;
}

static int
apply(struct table *t, uint64_t op, uint32_t nkeys)
{
	uint32_t key = stress_key(op, nkeys);
	struct table_rule r = { .vni = stress_vni(key), .ip = stress_ip(key), .version = op };
	int e;

	if (stress_is_delete(op)) {
		e = table_delete(t, r.vni, r.ip, op);
	} else {
		stress_value(key, op, r.mac, &r.vtep);
		e = table_set(t, &r);
	}
	if (e < 0)
		return e;
	/* TABLE_STALE is fine: a restarted writer may replay its last change. */
	table_vni_advance(t, r.vni, STRESS_GEN, op);
	return op % STRESS_CHURN_EVERY == 0 ? churn(t, op / STRESS_CHURN_EVERY, op) : 0;
}

/* Does the table hold what change `op` (0: none) left for key? */
static bool
holds(struct table *t, uint32_t key, uint64_t op)
{
	struct table_rule r;
	bool have = table_get(t, stress_vni(key), stress_ip(key), &r);
	uint8_t mac[6];
	uint32_t vtep;

	if (op == 0 || stress_is_delete(op))	/* absent, or that delete (maybe purged) */
		return !have || ((r.flags & TABLE_F_TOMBSTONE) && r.version == op);
	stress_value(key, op, mac, &vtep);
	return have && r.version == op && !(r.flags & TABLE_F_TOMBSTONE) && r.vtep == vtep &&
	    memcmp(r.mac, mac, 6) == 0;
}

/*
 * Churn VNIs: the last STRESS_CHURN_LIVE steps up to change upto are held, each with its
 * rules, and no other; the step of the change after upto may be half in.
 */
static uint32_t
verify_churn(struct table *t, uint64_t upto, uint32_t *rules)
{
	uint64_t last = upto / STRESS_CHURN_EVERY;
	uint64_t first = last > STRESS_CHURN_LIVE ? last - STRESS_CHURN_LIVE + 1 : 1;
	uint32_t bad = 0, n, *vnis = calloc(65536, sizeof(*vnis));

	if (vnis == NULL)
		fatal("calloc");
	n = table_vnis(t, vnis, 65536);
	for (uint32_t k = 0; k < n; k++) {
		uint64_t j = vnis[k] - STRESS_CHURN_BASE;
		struct table_vni_info vi;

		if (vnis[k] < STRESS_CHURN_BASE)
			continue;
		if (table_vni_get(t, vnis[k], &vi) == 0)
			*rules += vi.live;
		if ((j < first || j > last) && !(j == first - 1 || j == last + 1) && bad++ < 10)
			log_warnx("churn VNI %u held, steps %llu..%llu expected", vnis[k],
			    (unsigned long long)first, (unsigned long long)last);
	}
	free(vnis);
	for (uint64_t j = first + 1; j <= last; j++) {
		uint32_t vni = stress_churn_vni(j);

		for (uint32_t i = 0; i < STRESS_CHURN_RULES; i++) {
			struct table_rule r;
			uint8_t mac[6];
			uint32_t vtep;

			stress_churn_value(vni, STRESS_CHURN_IP + i, j * STRESS_CHURN_EVERY, mac,
			    &vtep);
			if ((!table_lookup(t, vni, STRESS_CHURN_IP + i, &r) || r.vtep != vtep ||
			    memcmp(r.mac, mac, 6) != 0) && bad++ < 10)
				log_warnx("churn VNI %u lacks rule %u", vni, i);
		}
	}
	return bad;
}

/*
 * The table must hold the state after change applied_seq, except that the change
 * after it may be in too: a writer killed between applying a change and recording it
 * leaves it so (the next writer replays it, and the replay is refused as stale).
 */
static int
verify(struct table *t, uint32_t nkeys)
{
	uint64_t upto = table_applied_seq(t), next = upto + 1, *last;
	uint32_t bad = 0, live = 0, next_key = stress_key(next, nkeys), churn_rules = 0;
	bool next_in = false;
	char err[512];

	if ((last = calloc(nkeys, sizeof(*last))) == NULL)
		fatal("calloc");
	for (uint64_t op = 1; op <= upto; op++)
		last[stress_key(op, nkeys)] = op;
	for (uint32_t key = 0; key < nkeys; key++) {
		uint64_t op = last[key];

		if (key == next_key && !holds(t, key, op) && holds(t, key, next)) {
			next_in = true;
			op = next;
		} else if (!holds(t, key, op) && bad++ < 10) {
			log_warnx("key %u: the table does not hold change %llu", key,
			    (unsigned long long)op);
		}
		live += op != 0 && !stress_is_delete(op);
	}
	free(last);
	bad += verify_churn(t, upto, &churn_rules);
	if (table_check(t, err, sizeof(err)) < 0) {
		log_warnx("table check: %s", err);
		bad++;
	}
	if (table_live(t) - churn_rules != live) {
		log_warnx("table holds %u rules, the model %u", table_live(t) - churn_rules, live);
		bad++;
	}
	printf("verified %u keys after change %llu%s: %u rules, %u problems\n", nkeys,
	    (unsigned long long)upto, next_in ? " (and the next, applied unrecorded)" : "",
	    live, bad);
	return bad ? 1 : 0;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "verify", no_argument, NULL, 'V' }, { NULL, 0, NULL, 0 } };
	uint64_t max_ops = UINT64_MAX, rate = 0, op, t0;
	struct writer_counters *c;
	struct table_params p;
	struct stats st;
	struct table *t;
	bool do_verify = false;
	uint32_t nkeys, limbo, free_now;
	char err[512];
	int ch, e;

	log_init("table_writer", LOG_LVL_INFO);
	while ((ch = getopt_long(argc, argv, "n:r:", opts, NULL)) != -1) {
		switch (ch) {
		case 'n': max_ops = strtoull(optarg, NULL, 10); break;
		case 'r': rate = strtoull(optarg, NULL, 10); break;
		case 'V': do_verify = true; break;
		default: fatalx("usage: table_writer NODE NKEYS [-n CHANGES] [-r RATE] [--verify]");
		}
	}
	if (argc - optind != 2)
		fatalx("usage: table_writer NODE NKEYS [-n CHANGES] [-r RATE] [--verify]");
	nkeys = strtoul(argv[optind + 1], NULL, 10);
	if (nkeys < 16)
		fatalx("NKEYS must be at least 16");
	params(&p, nkeys);
	t0 = clock_mono_ns();
	if (table_create(&t, argv[optind], "writer", &p, err, sizeof(err)) < 0)
		fatalx("%s", err);
	log_info("table ready in %.1f ms", (clock_mono_ns() - t0) / 1e6);
	if (do_verify) {
		int r = verify(t, nkeys);

		table_close(t);
		return r;
	}
	if ((c = stats_create(&st, argv[optind], "writer", writer_stats_defs,
	    writer_stats_count)) == NULL)
		fatalx("%s", st.seg.err);
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	op = table_applied_seq(t) + 1;
	log_info("starting at change %llu (%llu recoveries)", (unsigned long long)op,
	    (unsigned long long)table_counters(t)->recoveries);
	printf("ready\n");
	fflush(stdout);
	t0 = clock_mono_ns();
	for (uint64_t n = 0; !stop && op <= max_ops; n++) {
		if ((e = apply(t, op, nkeys)) < 0) {
			/* Readers hold every free entry or VNI slot: give them a moment. */
			if (e == -EAGAIN)
				STATS_INC(c, vni_waits);
			else
				STATS_INC(c, refused);
			table_maintain(t);
			usleep(1000);
			continue;
		}
		table_set_applied_seq(t, op);
		op++;
		STATS_INC(c, changes);
		if ((n & 1023) == 0) {
			table_maintain(t);
			table_limbo(t, &limbo, &free_now);
			STATS_SET(c, applied_seq, op - 1);
			STATS_SET(c, rules, table_count(t));
			STATS_SET(c, limbo, limbo);
			STATS_SET(c, free, free_now);
			STATS_SET(c, readers_reaped, table_counters(t)->readers_reaped);
			STATS_SET(c, recoveries, table_counters(t)->recoveries);
			STATS_SET(c, vnis_freed, table_counters(t)->vnis_freed);
			stats_heartbeat(&st);
			if (rate) {
				uint64_t due = t0 + n * 1000000000ull / rate;
				uint64_t now = clock_mono_ns();

				if (due > now)
					usleep((due - now) / 1000);
			}
		}
	}
	STATS_SET(c, applied_seq, op - 1);
	table_close(t);
	stats_close(&st);
	return 0;
}
