/*
 * table_reader: a reader of the table stress test. Looks up random keys in batches
 * and walks change lists, checking that every entry it sees is whole (its value is the
 * one derived from its key and version, and its version is a change of that key) and
 * that no key's version ever goes back; and walks churn VNIs (stress_model.h) in one
 * read section across the writer's drops and slot reuses, checking every entry is of
 * the VNI asked and whole. Exits 1 at the first violation.
 * --hang-after N enters a read section after N lookups and stays there, to be killed.
 *
 *	table_reader NODE ID NKEYS [--hang-after N]
 */
#include "stress_model.h"
#include "common/log.h"
#include "shm/seg.h"
#include "shm/stats.h"
#include "shm/table.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <string.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define READER_COUNTERS(X)						\
	X(lookups,  COUNTER, "keys looked up")				\
	X(hits,     COUNTER, "lookups that found a rule")		\
	X(walks,    COUNTER, "change walks done")			\
	X(walked,   COUNTER, "entries returned by change walks")	\
	X(relearns, COUNTER, "walks refused: version no longer valid")	\
	X(churn_walks, COUNTER, "walks of churn VNIs (made and dropped by the writer)")
STATS_DECLARE(reader, READER_COUNTERS)

#define BATCH 32

static volatile sig_atomic_t stop;
static uint64_t *seen;	/* highest version seen per key */

static void
on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static void
check_entry(const struct table_rule *r, uint32_t nkeys, const char *where)
{
	uint32_t key = stress_key_of(r->vni, r->ip), vtep;
	uint8_t mac[6];

	if (r->vni < 1 || r->vni > STRESS_VNIS || key >= nkeys)
		fatalx("%s: entry for unknown key %u/%#x", where, r->vni, r->ip);
	if (stress_key(r->version, nkeys) != key)
		fatalx("%s: key %u at version %llu, which changed key %u", where, key,
		    (unsigned long long)r->version, stress_key(r->version, nkeys));
	if (!!(r->flags & TABLE_F_TOMBSTONE) != stress_is_delete(r->version))
		fatalx("%s: key %u version %llu: tombstone flag %d is wrong", where, key,
		    (unsigned long long)r->version, r->flags & TABLE_F_TOMBSTONE);
	if (!(r->flags & TABLE_F_TOMBSTONE)) {
		stress_value(key, r->version, mac, &vtep);
		if (vtep != r->vtep || memcmp(mac, r->mac, 6) != 0)
			fatalx("%s: key %u version %llu: torn value", where, key,
			    (unsigned long long)r->version);
	}
}

static void
check_monotonic(const struct table_rule *r, uint32_t nkeys)
{
	uint32_t key = stress_key_of(r->vni, r->ip);

	if (r->version < seen[key])
		fatalx("key %u went back from version %llu to %llu", key,
		    (unsigned long long)seen[key], (unsigned long long)r->version);
	seen[key] = r->version;
	(void)nkeys;
}

static void
walk_one(struct table *t, uint32_t vni, uint32_t nkeys, struct reader_counters *c)
{
	struct table_cursor cur = { 0 };
	struct table_rule buf[64];
	struct table_vni_info vi;
	uint64_t upto, since;
	bool more;
	int n;

	if (table_vni_get(t, vni, &vi) < 0 || vi.version == 0)
		return;
	since = vi.oldest;
	n = table_changes(t, vni, since, &cur, buf, 64, &upto, &more);
	STATS_INC(c, walks);
	if (n == -ESTALE) {
		/* The window moved between the two calls: what a learner sees too. */
		STATS_INC(c, relearns);
		return;
	}
	if (n < 0)
		fatalx("walk of VNI %u from %llu: %s", vni, (unsigned long long)since,
		    strerror(-n));
	for (int i = 0; i < n; i++) {
		check_entry(&buf[i], nkeys, "walk");
		if (buf[i].vni != vni || buf[i].version <= since || buf[i].version > upto)
			fatalx("walk of VNI %u from %llu to %llu returned %u version %llu", vni,
			    (unsigned long long)since, (unsigned long long)upto, buf[i].vni,
			    (unsigned long long)buf[i].version);
		if (i > 0 && (buf[i].version < buf[i - 1].version ||
		    (buf[i].version == buf[i - 1].version && buf[i].ip <= buf[i - 1].ip)))
			fatalx("walk of VNI %u out of order at %d", vni, i);
	}
	STATS_ADD(c, walked, n);
}

/*
 * A churn VNI walked in pages within one section, with lookups in between so the
 * writer drops and reuses slots meanwhile: every entry must be of that VNI, whole.
 */
static void
walk_churn(struct table *t, uint64_t rnd, uint32_t nkeys, struct reader_counters *c)
{
	struct table_cursor cur = { 0 };
	struct table_key keys[BATCH];
	struct table_rule buf[2], out[BATCH];
	uint32_t vnis[64], n, vni, vtep;
	bool more = true, hit[BATCH];
	uint64_t upto;
	uint8_t mac[6];
	int got;

	table_read_begin(t);
	n = table_vnis(t, vnis, 64);
	vni = 0;
	for (uint32_t k = 0; k < n && vni == 0; k++)
		if (vnis[(rnd + k) % n] >= STRESS_CHURN_BASE)
			vni = vnis[(rnd + k) % n];
	if (vni == 0) {
		table_read_end(t);
		return;
	}
	while (more && (got = table_changes(t, vni, 0, &cur, buf, 2, &upto, &more)) > 0) {
		for (int i = 0; i < got; i++) {
			stress_churn_value(vni, buf[i].ip, buf[i].version, mac, &vtep);
			if (buf[i].vni != vni || buf[i].ip - STRESS_CHURN_IP >= STRESS_CHURN_RULES ||
			    buf[i].vtep != vtep || memcmp(buf[i].mac, mac, 6) != 0)
				fatalx("walk of churn VNI %u returned %u/%#x version %llu: another "
				    "VNI's, or torn", vni, buf[i].vni, buf[i].ip,
				    (unsigned long long)buf[i].version);
		}
		/* Give the writer time to drop this VNI and reuse slots under us. */
		for (int k = 0; k < 64; k++) {
			for (int i = 0; i < BATCH; i++) {
				rnd = mix64(rnd);
				keys[i] = (struct table_key){ .vni = stress_vni(rnd % nkeys),
				    .ip = stress_ip(rnd % nkeys) };
			}
			table_lookup_batch(t, keys, BATCH, out, hit);
		}
	}
	table_read_end(t);
	STATS_INC(c, churn_walks);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "hang-after", required_argument, NULL, 'H' }, { NULL, 0, NULL, 0 } };
	uint64_t hang_after = 0, rnd, lookups = 0;
	struct reader_counters *c;
	struct table_key keys[BATCH];
	struct table_rule out[BATCH];
	bool hit[BATCH];
	char segname[SEG_NAME_MAX], err[512], proc[32];
	struct stats st;
	struct table *t;
	uint32_t nkeys;
	int ch;

	log_init("table_reader", LOG_LVL_INFO);
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch != 'H')
			fatalx("usage: table_reader NODE ID NKEYS [--hang-after N]");
		hang_after = strtoull(optarg, NULL, 10);
	}
	if (argc - optind != 3)
		fatalx("usage: table_reader NODE ID NKEYS [--hang-after N]");
	nkeys = strtoul(argv[optind + 2], NULL, 10);
	snprintf(proc, sizeof(proc), "reader%s", argv[optind + 1]);
	if (seg_name(segname, sizeof(segname), argv[optind], "writer", "table") < 0)
		fatalx("bad node name");
	if (table_attach(&t, segname, err, sizeof(err)) < 0)
		fatalx("%s", err);
	if ((c = stats_create(&st, argv[optind], proc, reader_stats_defs,
	    reader_stats_count)) == NULL)
		fatalx("%s", st.seg.err);
	if ((seen = calloc(nkeys, sizeof(*seen))) == NULL)
		fatal("calloc");
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	rnd = mix64(getpid());
	printf("ready\n");
	fflush(stdout);
	while (!stop) {
		for (int i = 0; i < BATCH; i++) {
			uint32_t key;

			rnd = mix64(rnd);
			key = rnd % nkeys;
			keys[i] = (struct table_key){ .vni = stress_vni(key), .ip = stress_ip(key) };
		}
		uint32_t hits = table_lookup_batch(t, keys, BATCH, out, hit);
		for (int i = 0; i < BATCH; i++) {
			if (!hit[i])
				continue;
			check_entry(&out[i], nkeys, "lookup");
			check_monotonic(&out[i], nkeys);
		}
		lookups += BATCH;
		STATS_ADD(c, lookups, BATCH);
		STATS_ADD(c, hits, hits);
		if ((lookups & 0xfff) == 0) {
			walk_one(t, 1 + rnd % STRESS_VNIS, nkeys, c);
			walk_churn(t, rnd, nkeys, c);
			stats_heartbeat(&st);
		}
		if (hang_after && lookups >= hang_after) {
			table_read_begin(t);
			printf("hanging\n");
			fflush(stdout);
			for (;;)
				pause();
		}
	}
	printf("%llu lookups, no violation\n", (unsigned long long)lookups);
	table_close(t);
	stats_close(&st);
	return 0;
}
