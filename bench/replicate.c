/*
 * bench/replicate: how fast the controller's changes reach a gateway's table.
 *
 *  latency	a VM created through the API (durable when answered) until its rule is in
 *		the rule-store's table, seen by a reader of the table: p50 and p99 over
 *		-n changes, one at a time. Baseline in the same run: a read-only API round
 *		trip (vpc.show), the floor of any answer from the controller.
 *  snapshot	a fresh rule-store loading the whole state (-s VMs): rules a second from
 *		its start to the last record applied. Baseline in the same run: table_set of
 *		the same number of rules in one process, nothing else.
 *
 *	replicate [-n CHANGES] [-s SNAPSHOT_VMS]
 */
#include "bench/cluster.h"
#include "common/apiclient.h"
#include "common/clock.h"
#include "common/log.h"
#include "shm/stats.h"
#include "shm/table.h"

#include <sys/prctl.h>
#include <time.h>

static pid_t
start_gw(const char *name, int port)
{
	char conf[512];

	snprintf(conf, sizeof(conf), "node = \"%s\";\nrule_store = {\n controllers = "
	    "[\"127.0.0.1:%d\"];\n table_capacity = 2000000;\n};\n", cluster_node(name), port);
	return cluster_start("vpcfwd-rule-store", conf, name);
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

static double
pct(uint64_t *v, size_t n, double p)
{
	return v[(size_t)((n - 1) * p)] / 1000.0;
}

static void
nap(void)
{
	struct timespec ts = { 0, 5000 };

	nanosleep(&ts, NULL);
}

int
main(int argc, char **argv)
{
	uint64_t n = 2000, snap_vms = 500000, *ack, *total, *rtt, t0, t1;
	char seg[SEG_NAME_MAX];
	struct table *gw1, *gw2;
	struct apiclient c;
	struct stats cst;
	struct table_rule r;
	json_t *res;
	double snap_rate, base_rate;
	int ch, port;

	log_init("bench-replicate", LOG_LVL_INFO);
	while ((ch = getopt(argc, argv, "n:s:")) != -1) {
		if (ch == 'n')
			n = strtoull(optarg, NULL, 10);
		else if (ch == 's')
			snap_vms = strtoull(optarg, NULL, 10);
		else
			fatalx("usage: replicate [-n CHANGES] [-s SNAPSHOT_VMS]");
	}
	/* Polling naps of a few microseconds, not the default 50 us of slack. */
	prctl(PR_SET_TIMERSLACK, 1000UL);
	cluster_init("replicate");
	port = cluster_controller();
	start_gw("gw1", port);
	gw1 = cluster_table_wait(cluster_node("gw1"), "rule-store");
	cluster_api_connect(&c);
	json_decref(cluster_call(&c, json_pack("{s:s, s:s, s:i, s:[s]}", "op", "vpc.create",
	    "name", "v", "vni", 7, "cidrs", "10.0.0.0/8")));
	json_decref(cluster_call(&c, json_pack("{s:s, s:s, s:s}", "op", "host.create", "name",
	    "h1", "vtep", "192.168.0.1")));

	/* Latency: one change at a time, from the API's answer to the reader seeing it. */
	ack = calloc(n, sizeof(*ack));
	total = calloc(n, sizeof(*total));
	rtt = calloc(n, sizeof(*rtt));
	for (uint64_t i = 0; i < n; i++) {
		char name[32], ip[32];
		uint32_t ipn = 0x0a010000u + (uint32_t)i + 1;

		snprintf(name, sizeof(name), "lat%llu", (unsigned long long)i);
		snprintf(ip, sizeof(ip), "10.1.%u.%u", (ipn >> 8) & 255, ipn & 255);
		t0 = clock_mono_ns();
		json_decref(cluster_call(&c, json_pack("{s:s, s:s, s:s, s:s, s:s}", "op",
		    "vm.create", "name", name, "vpc", "v", "ip", ip, "host", "h1")));
		t1 = clock_mono_ns();
		while (!table_lookup(gw1, 7, ipn, &r))
			nap();
		ack[i] = clock_mono_ns() - t1;
		total[i] = clock_mono_ns() - t0;
		t0 = clock_mono_ns();
		json_decref(cluster_call(&c, json_pack("{s:s, s:s}", "op", "vpc.show", "name",
		    "v")));
		rtt[i] = clock_mono_ns() - t0;
	}
	qsort(ack, n, sizeof(*ack), cmp_u64);
	qsort(total, n, sizeof(*total), cmp_u64);
	qsort(rtt, n, sizeof(*rtt), cmp_u64);

	/* Snapshot: a fresh rule-store loads all of it. */
	{
		json_t *vms = json_array();

		for (uint64_t i = 0; i < snap_vms; i++) {
			char name[32], ip[32];
			uint32_t ipn = 0x0a400000u + (uint32_t)i + 1;

			snprintf(name, sizeof(name), "s%llu", (unsigned long long)i);
			snprintf(ip, sizeof(ip), "10.%u.%u.%u", ipn >> 16 & 255, ipn >> 8 & 255,
			    ipn & 255);
			json_array_append_new(vms, json_pack("{s:s, s:s, s:s, s:s}", "name", name,
			    "vpc", "v", "ip", ip, "host", "h1"));
			if (json_array_size(vms) == 10000 || i + 1 == snap_vms) {
				json_decref(cluster_call(&c, json_pack("{s:s, s:o}", "op",
				    "vm.import", "vms", vms)));
				vms = json_array();
			}
		}
		json_decref(vms);
	}
	cluster_stats_wait(&cst, cluster_node("ctl"), "controller");
	uint64_t last = cluster_stat(&cst, "log_seq");

	t0 = clock_mono_ns();
	start_gw("gw2", port);
	gw2 = cluster_table_wait(cluster_node("gw2"), "rule-store");
	while (table_applied_seq(gw2) < last)
		nap();
	t1 = clock_mono_ns() - t0;
	snap_rate = table_count(gw2) * 1e9 / t1;
	{
		/* The baseline: the same number of rules set in one process. */
		struct table_params p;
		struct table *t;
		char err[512];

		table_params_default(&p, TABLE_GATEWAY);
		p.capacity = table_count(gw2) + 16;
		if (table_create(&t, cluster_node("base"), "bench", &p, err, sizeof(err)) < 0)
			fatalx("replicate: %s", err);
		t0 = clock_mono_ns();
		for (uint32_t i = 0; i < table_count(gw2); i++) {
			struct table_rule br = { .vni = 7, .ip = 0x0a400000u + i, .vtep = 1,
			    .mac = { 2, 0, 1, 2, 3, 4 }, .version = 1 };

			table_set(t, &br);
		}
		table_vni_advance(t, 7, 1, 1);
		base_rate = table_count(t) * 1e9 / (clock_mono_ns() - t0);
		snprintf(seg, sizeof(seg), "%s", table_seg(t)->name);
		table_close(t);
		seg_unlink_name(seg);
	}

	printf("replicate: commit -> applied in a rule-store's table, %llu changes one at a "
	    "time\n", (unsigned long long)n);
	printf("%-34s %10s %10s\n", "", "p50 us", "p99 us");
	printf("%-34s %10.0f %10.0f\n", "API answer -> in the table", pct(ack, n, 0.5),
	    pct(ack, n, 0.99));
	printf("%-34s %10.0f %10.0f\n", "API request -> in the table", pct(total, n, 0.5),
	    pct(total, n, 0.99));
	printf("%-34s %10.0f %10.0f\n", "baseline: read-only API round trip", pct(rtt, n, 0.5),
	    pct(rtt, n, 0.99));
	printf("snapshot: %u rules loaded by a fresh rule-store at %.0f rules/s "
	    "(table_set alone: %.0f/s, %.2fx)\n", table_count(gw2), snap_rate, base_rate,
	    snap_rate / base_rate);
	res = bench_results();
	bench_add(res, "commit_to_table_p50_us", pct(ack, n, 0.5), "us",
	    "read-only API round trip p50", pct(rtt, n, 0.5));
	bench_add(res, "commit_to_table_p99_us", pct(ack, n, 0.99), "us",
	    "read-only API round trip p99", pct(rtt, n, 0.99));
	bench_add(res, "request_to_table_p50_us", pct(total, n, 0.5), "us",
	    "read-only API round trip p50", pct(rtt, n, 0.5));
	bench_add(res, "request_to_table_p99_us", pct(total, n, 0.99), "us",
	    "read-only API round trip p99", pct(rtt, n, 0.99));
	bench_add(res, "snapshot_rules_per_s", snap_rate, "rules/s", "table_set in one process",
	    base_rate);
	table_close(gw1);
	table_close(gw2);
	stats_close(&cst);
	apiclient_close(&c);
	cluster_end();
	return bench_write(res, "replicate") < 0;
}
