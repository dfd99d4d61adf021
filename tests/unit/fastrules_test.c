/*
 * fastrules_test: the XDP rule cache's table (procs/forwarder/fastrules), in plain
 * memory: a put is found, updated in place and deleted; a table 80 % full holds every
 * rule put but the few evicted, some in their second bucket and some moved there; with
 * both buckets full the rule relayed by least lately goes; a slot being rewritten is
 * not read; and a reader racing the writer never takes half of one rule and half of
 * another.
 */
#include "procs/forwarder/fastrules.c"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdlib.h>

#define SEC_NS(s)	((uint64_t)(s) << XDP_FAST_USED_SHIFT)	/* a `used` unit each */

static struct fastrules
table(uint32_t rules, uint64_t seed)
{
	struct fastrules t = { .n = fastrules_buckets(rules), .seed = seed };

	t.b = calloc(t.n, sizeof(*t.b));
	cr_assert_not_null(t.b);
	return t;
}

/* A rule whose every field follows from its key: a torn read shows. */
static struct xdp_fast_rule
rule_of(const struct xdp_fast_key *k, uint32_t gen)
{
	struct xdp_fast_rule r = { .port = htons(4789), .vtep = k->ip ^ 0x5a5a5a5a,
	    .vgen = gen };

	for (int i = 0; i < 6; i++)
		r.mac[i] = (uint8_t)(k->ip >> (i % 4 * 8)) ^ (uint8_t)gen;
	return r;
}

static bool
rule_eq(const struct xdp_fast_rule *a, const struct xdp_fast_rule *b)
{
	return memcmp(a->mac, b->mac, 6) == 0 && a->port == b->port && a->vtep == b->vtep &&
	    a->vgen == b->vgen;
}

Test(fastrules, put_get_update_delete)
{
	struct fastrules t = table(64, 7);
	struct xdp_fast_key k = { .vni = 100, .ip = htonl(0x0a000001) };
	struct xdp_fast_key other = { .vni = 101, .ip = k.ip };
	struct xdp_fast_rule r1 = rule_of(&k, 1), r2 = rule_of(&k, 2), got;

	cr_assert_eq(t.n, 16);
	cr_assert(!fastrules_get(&t, &k, &got));
	cr_assert_eq(fastrules_put(&t, &k, &r1, SEC_NS(5)), FASTRULES_NEW);
	cr_assert(fastrules_get(&t, &k, &got));
	cr_assert(rule_eq(&got, &r1));
	cr_assert(!fastrules_get(&t, &other, &got), "the same address in another VNI");
	cr_assert_eq(fastrules_put(&t, &k, &r2, SEC_NS(6)), FASTRULES_UPDATED);
	cr_assert(fastrules_get(&t, &k, &got));
	cr_assert(rule_eq(&got, &r2));
	cr_assert(fastrules_del(&t, &k));
	cr_assert(!fastrules_get(&t, &k, &got));
	cr_assert(!fastrules_del(&t, &k), "deleted twice");
	free(t.b);
}

Test(fastrules, sizes)
{
	cr_assert_eq(fastrules_buckets(0), 1);
	cr_assert_eq(fastrules_buckets(1), 1);
	cr_assert_eq(fastrules_buckets(4), 1);
	cr_assert_eq(fastrules_buckets(5), 2);
	cr_assert_eq(fastrules_buckets(12500000), 3125000);
	cr_assert_eq(sizeof(struct xdp_fast_bucket), 128);
}

/*
 * 80 % full, as a mirror of 10 M rules in 12.5 M slots is: nearly every rule stays, and
 * what the header says of where they sit holds.
 */
Test(fastrules, eighty_percent_full_keeps_nearly_all)
{
	const uint32_t slots = 1u << 20, n = slots / 5 * 4;
	struct fastrules t = table(slots, 0x1234567890abcdefull);
	uint32_t counts[4] = { 0 }, found = 0, second = 0;

	for (uint32_t i = 0; i < n; i++) {
		struct xdp_fast_key k = { .vni = 1 + i % 3, .ip = htonl(0x0b000000 + i) };
		struct xdp_fast_rule r = rule_of(&k, 9);

		counts[fastrules_put(&t, &k, &r, SEC_NS(1))]++;
	}
	for (uint32_t i = 0; i < n; i++) {
		struct xdp_fast_key k = { .vni = 1 + i % 3, .ip = htonl(0x0b000000 + i) };
		struct xdp_fast_rule want = rule_of(&k, 9), got;
		struct xdp_fast_bucket *b0 = bucket(&t, k.vni, k.ip, 0);
		bool in0 = false;

		if (!fastrules_get(&t, &k, &got))
			continue;
		cr_assert(rule_eq(&got, &want), "rule %u", i);
		found++;
		for (int w = 0; w < XDP_FAST_WAYS; w++)
			in0 |= b0->slot[w].vni == k.vni && b0->slot[w].ip == k.ip;
		second += !in0;
	}
	cr_log_info("80 %%: %u new, %u moved, %u evicted; %u found, %u in their second bucket",
	    counts[FASTRULES_NEW], counts[FASTRULES_MOVED], counts[FASTRULES_EVICTED], found,
	    second);
	cr_assert_eq(counts[FASTRULES_UPDATED], 0);
	cr_assert_gt(counts[FASTRULES_MOVED], 0, "no rule moved to its other bucket");
	cr_assert_eq(found, n - counts[FASTRULES_EVICTED], "a rule lost without an eviction");
	cr_assert_lt(counts[FASTRULES_EVICTED], n / 500, "over 0.2 %% evicted");
	cr_assert_lt(second, n / 5, "over 20 %% in their second bucket");
	cr_assert_gt(second, n / 20, "the second bucket hardly used: the hashes are not two");
	free(t.b);
}

/* One bucket (both of every key's): the fifth rule takes the least lately used's slot. */
Test(fastrules, full_buckets_evict_the_least_lately_used)
{
	struct fastrules t = table(4, 3);
	struct xdp_fast_key k[5];
	struct xdp_fast_rule r, got;

	for (uint32_t i = 0; i < 5; i++) {
		k[i] = (struct xdp_fast_key){ .vni = 7, .ip = htonl(0x0c000000 + i) };
		r = rule_of(&k[i], 1);
		cr_assert_eq(fastrules_put(&t, &k[i], &r, SEC_NS(10 + i)),
		    i < 4 ? FASTRULES_NEW : FASTRULES_EVICTED, "rule %u", i);
		if (i == 1)	/* the program relayed by rule 0 since: rule 1 is the oldest */
			for (int w = 0; w < XDP_FAST_WAYS; w++)
				if (t.b[0].slot[w].ip == k[0].ip)
					t.b[0].slot[w].used = 20;
	}
	cr_assert(fastrules_get(&t, &k[0], &got));
	cr_assert(!fastrules_get(&t, &k[1], &got), "the least lately used stayed");
	for (uint32_t i = 2; i < 5; i++)
		cr_assert(fastrules_get(&t, &k[i], &got), "rule %u", i);
	free(t.b);
}

Test(fastrules, a_slot_being_written_is_not_read)
{
	struct fastrules t = table(4, 3);
	struct xdp_fast_key k = { .vni = 7, .ip = htonl(0x0c000001) };
	struct xdp_fast_rule r = rule_of(&k, 1), got;

	fastrules_put(&t, &k, &r, SEC_NS(1));
	for (int w = 0; w < XDP_FAST_WAYS; w++)
		if (t.b[0].slot[w].vni == k.vni)
			t.b[0].slot[w].seq++;	/* odd: a write in progress */
	cr_assert(!fastrules_get(&t, &k, &got));
	free(t.b);
}

/*
 * A writer that rewrites, evicts and moves rules in a small table as fast as it can, and
 * a reader on the other CPU that checks every rule it takes against its key.
 */
struct race {
	struct fastrules t;
	volatile bool stop;
	uint64_t reads, taken;
	uint32_t torn;		/* a rule read torn: its index + 1 (asserts belong to the main thread) */
};

static void *
race_reader(void *arg)
{
	struct race *ra = arg;

	while (!ra->stop && !ra->torn)
		for (uint32_t i = 0; i < 64; i++) {
			struct xdp_fast_key k = { .vni = 5, .ip = htonl(0x0d000000 + i) };
			struct xdp_fast_rule got, want;

			ra->reads++;
			if (!fastrules_get(&ra->t, &k, &got))
				continue;
			ra->taken++;
			want = rule_of(&k, got.vgen);
			if (!rule_eq(&got, &want))
				ra->torn = i + 1;
		}
	return NULL;
}

Test(fastrules, readers_never_see_a_torn_rule)
{
	struct race ra = { .t = table(32, 11) };
	pthread_t th;

	cr_assert_eq(pthread_create(&th, NULL, race_reader, &ra), 0);
	for (uint32_t round = 0; round < 200000; round++)
		for (uint32_t i = round % 7; i < 64; i += 7) {
			struct xdp_fast_key k = { .vni = 5, .ip = htonl(0x0d000000 + i) };
			struct xdp_fast_rule r = rule_of(&k, round);

			if (round % 5 == 0)
				fastrules_del(&ra.t, &k);
			else
				fastrules_put(&ra.t, &k, &r, SEC_NS(round));
		}
	ra.stop = true;
	pthread_join(th, NULL);
	cr_log_info("race: %llu reads, %llu took a rule", (unsigned long long)ra.reads,
	    (unsigned long long)ra.taken);
	cr_assert_eq(ra.torn, 0, "a torn read of rule %u", ra.torn - 1);
	cr_assert_gt(ra.taken, 0);
	free(ra.t.b);
}
