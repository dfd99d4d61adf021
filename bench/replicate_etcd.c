/*
 * bench/replicate_etcd: how fast a change reaches a gateway's table when the controller
 * is on etcd (controller.store = "etcd", three members on loopback), against the same
 * on LMDB, in the same run: as bench/replicate, a VM created through the API, from the
 * request until its rule is in the rule-store's table, seen by a reader of the table,
 * p50 and p99 over -n changes, one at a time, the two controllers in turn.
 *
 * On etcd a change is acknowledged once etcd committed it and the controller's view
 * applied it (from its watch); the rule-store streams from the view. For what etcd
 * itself takes, each round also sends one bare etcd txn of a vm.create's shape (6
 * compares, 8 puts, ~700 bytes of keys and values, as etcdstore.c makes it) through
 * common/etcd.c on the same cluster. CPU per change: the etcd controller's and the
 * members' (measured around the etcd changes only), against the LMDB controller's.
 * The controller and the bare client talk to the leader first.
 *
 *	replicate_etcd [-n CHANGES]		writes bench/results/replicate_etcd.json
 */
#include "bench/etcdcluster.h"
#include "common/apiclient.h"
#include "common/clock.h"
#include "shm/table.h"

#include <sys/prctl.h>

static struct ec ecl;

struct side {
	const char *name;	/* "LMDB", "etcd" */
	pid_t ctl;
	struct apiclient c;
	struct table *gw;
	uint64_t *total;
	uint64_t ctl_cpu, members_cpu;
};

static pid_t
start_gw(const char *name, int port)
{
	char conf[1024];

	snprintf(conf, sizeof(conf), "node = \"%s\";\nrule_store = {\n controllers = "
	    "[\"127.0.0.1:%d\"];\n table_capacity = 65536;\n tls = false;\n};\n",
	    cluster_node(name), port);
	return cluster_start("vpcfwd-rule-store", conf, name);
}

static void
side_setup(struct side *sd, const char *gw, int port, uint64_t n)
{
	start_gw(gw, port);
	sd->gw = cluster_table_wait(cluster_node(gw), "rule-store");
	json_decref(cluster_call(&sd->c, json_pack("{s:s, s:s, s:i, s:[s]}", "op",
	    "vpc.create", "name", "v", "vni", 7, "cidrs", "10.0.0.0/8")));
	json_decref(cluster_call(&sd->c, json_pack("{s:s, s:s, s:s}", "op", "host.create",
	    "name", "h1", "vtep", "192.168.0.1")));
	if ((sd->total = calloc(n, sizeof(*sd->total))) == NULL)
		fatalx("replicate_etcd: out of memory");
}

static void
nap(void)
{
	struct timespec ts = { 0, 5000 };

	nanosleep(&ts, NULL);
}

/* Change i through sd: from the request to the reader seeing it. */
static void
side_change(struct side *sd, uint64_t i, bool etcd)
{
	struct table_rule r;
	char name[32], ip[32];
	uint32_t ipn = 0x0a010000u + (uint32_t)i + 1;
	uint64_t t0, c0 = ec_cpu_ns(sd->ctl), m0 = etcd ? ec_members_cpu_ns(&ecl) : 0;

	snprintf(name, sizeof(name), "lat%llu", (unsigned long long)i);
	snprintf(ip, sizeof(ip), "10.1.%u.%u", (ipn >> 8) & 255, ipn & 255);
	t0 = clock_mono_ns();
	json_decref(cluster_call(&sd->c, json_pack("{s:s, s:s, s:s, s:s, s:s}", "op",
	    "vm.create", "name", name, "vpc", "v", "ip", ip, "host", "h1")));
	while (!table_lookup(sd->gw, 7, ipn, &r))
		nap();
	sd->total[i] = clock_mono_ns() - t0;
	sd->ctl_cpu += ec_cpu_ns(sd->ctl) - c0;
	if (etcd)
		sd->members_cpu += ec_members_cpu_ns(&ecl) - m0;
}

/*
 * A bare txn of a vm.create's shape (etcdstore.c): "absent" compares on the VM's
 * record and its IP, MAC and TAP indexes, value compares on its VPC's and host's
 * records; puts of those six, the rule and the log key. Sizes as the controller's.
 */
static uint64_t
bare_txn(struct etcd *e, uint64_t i, uint8_t *vpc, uint8_t *host)
{
	static const struct { const char *t; size_t vlen; } rec[] = {
		{ "vms", 150 }, { "vm_ip", 8 }, { "vm_mac", 8 }, { "host_tap", 12 },
		{ "rules", 32 },
	};
	char keys[8][64];
	uint8_t val[160], nvpc[96], nhost[24], log[72];
	struct etcd_cmp cmps[6];
	struct etcd_op ops[8];
	struct etcd_txn_result res;
	size_t nc = 0, no = 0;
	uint64_t t0;
	int rc;

	memset(val, 0x5a, sizeof(val));
	memset(log, 0x11, sizeof(log));
	for (size_t k = 0; k < 5; k++) {
		size_t kl = (size_t)snprintf(keys[k], sizeof(keys[k]), "/vpcfwd/b/%s/lat%llu",
		    rec[k].t, (unsigned long long)i);

		if (k < 4)
			cmps[nc++] = (struct etcd_cmp){ .target = ETCD_CMP_ABSENT,
			    .key = keys[k], .key_len = kl };
		ops[no++] = (struct etcd_op){ .kind = ETCD_OP_PUT, .key = keys[k], .key_len = kl,
		    .value = val, .value_len = rec[k].vlen };
	}
	memcpy(nvpc, vpc, sizeof(nvpc));
	memcpy(nhost, host, sizeof(nhost));
	memcpy(nvpc, &i, sizeof(i));
	memcpy(nhost, &i, sizeof(i));
	cmps[nc++] = (struct etcd_cmp){ .target = ETCD_CMP_VALUE, .key = "/vpcfwd/b/vpcs/v",
	    .key_len = 16, .value = vpc, .value_len = 96 };
	cmps[nc++] = (struct etcd_cmp){ .target = ETCD_CMP_VALUE, .key = "/vpcfwd/b/hosts/h1",
	    .key_len = 18, .value = host, .value_len = 24 };
	ops[no++] = (struct etcd_op){ .kind = ETCD_OP_PUT, .key = "/vpcfwd/b/vpcs/v",
	    .key_len = 16, .value = nvpc, .value_len = 96 };
	ops[no++] = (struct etcd_op){ .kind = ETCD_OP_PUT, .key = "/vpcfwd/b/hosts/h1",
	    .key_len = 18, .value = nhost, .value_len = 24 };
	ops[no++] = (struct etcd_op){ .kind = ETCD_OP_PUT, .key = "/vpcfwd/b/log",
	    .key_len = 13, .value = log, .value_len = sizeof(log) };
	t0 = clock_mono_ns();
	if ((rc = etcd_txn(e, cmps, nc, ops, no, &res)) < 0 || !res.succeeded)
		fatalx("replicate_etcd: a bare txn: %s", rc < 0 ? etcd_error(e) :
		    "a compare failed");
	t0 = clock_mono_ns() - t0;
	memcpy(vpc, nvpc, sizeof(nvpc));
	memcpy(host, nhost, sizeof(nhost));
	return t0;
}

static double
us(uint64_t *v, uint64_t n, double p)
{
	return bench_pct_ms(v, n, p) * 1000;
}

int
main(int argc, char **argv)
{
	uint64_t n = 1000, *bare;
	struct side sides[2] = { { .name = "LMDB" }, { .name = "etcd" } };
	uint8_t vpc[96], host[24];
	struct etcd *e;
	char what[256];
	double p[2][2], b50, b99;
	json_t *res;
	int ch, port;

	log_init("bench-replicate_etcd", LOG_LVL_INFO);
	while ((ch = getopt(argc, argv, "n:")) != -1) {
		if (ch == 'n')
			n = strtoull(optarg, NULL, 10);
		else
			fatalx("usage: replicate_etcd [-n CHANGES]");
	}
	if (n < 10 || n > 60000)
		fatalx("replicate_etcd: -n must be 10..60000");
	prctl(PR_SET_TIMERSLACK, 1000UL);
	cluster_init("replicate_etcd");
	port = cluster_controller();
	sides[0].ctl = the_cluster.procs[the_cluster.nprocs - 1];
	cluster_api_connect(&sides[0].c);
	side_setup(&sides[0], "gw", port, n);
	ec_start(&ecl);
	ec_order(&ecl, ec_leader(&ecl));
	port = ec_controller(&ecl, "ectl", &sides[1].ctl);
	ec_api_connect(&sides[1].c, "ectl", 0);
	side_setup(&sides[1], "egw", port, n);
	e = ec_handle(&ecl, 5000, 0);
	memset(vpc, 1, sizeof(vpc));
	memset(host, 2, sizeof(host));
	if (etcd_put(e, "/vpcfwd/b/vpcs/v", 16, vpc, sizeof(vpc), NULL) < 0 ||
	    etcd_put(e, "/vpcfwd/b/hosts/h1", 18, host, sizeof(host), NULL) < 0)
		fatalx("replicate_etcd: %s", etcd_error(e));
	if ((bare = calloc(n, sizeof(*bare))) == NULL)
		fatalx("replicate_etcd: out of memory");

	for (uint64_t i = 0; i < n; i++) {
		side_change(&sides[0], i, false);
		side_change(&sides[1], i, true);
		bare[i] = bare_txn(e, i, vpc, host);
	}
	for (int k = 0; k < 2; k++) {
		p[k][0] = us(sides[k].total, n, 0.5);
		p[k][1] = us(sides[k].total, n, 0.99);
	}
	b50 = us(bare, n, 0.5);
	b99 = us(bare, n, 0.99);
	printf("replicate_etcd: API request -> in a rule-store's table, %llu changes one at a "
	    "time, LMDB and etcd (3 members) in turn\n", (unsigned long long)n);
	printf("%-40s %10s %10s %12s\n", "", "p50 us", "p99 us", "CPU us/chg");
	printf("%-40s %10.0f %10.0f %12.0f\n", "controller on LMDB", p[0][0], p[0][1],
	    sides[0].ctl_cpu / 1e3 / n);
	printf("%-40s %10.0f %10.0f %12.0f   (controller %.0f, members %.0f)\n",
	    "controller on etcd", p[1][0], p[1][1],
	    (sides[1].ctl_cpu + sides[1].members_cpu) / 1e3 / n, sides[1].ctl_cpu / 1e3 / n,
	    sides[1].members_cpu / 1e3 / n);
	printf("%-40s %10.0f %10.0f\n", "bare etcd txn of a vm.create's shape", b50, b99);

	res = bench_results();
	for (int q = 0; q < 2; q++) {
		char name[64];

		snprintf(name, sizeof(name), "replicate_etcd_request_to_table_p%d_us",
		    q ? 99 : 50);
		snprintf(what, sizeof(what), "the same on a controller on LMDB, same run, p%d",
		    q ? 99 : 50);
		bench_row(res, name, "", p[1][q], "us", what, p[0][q], NULL, NULL);
	}
	for (int q = 0; q < 2; q++) {
		char name[64];

		snprintf(name, sizeof(name), "replicate_etcd_vs_bare_txn_p%d_us", q ? 99 : 50);
		snprintf(what, sizeof(what), "one bare etcd txn of a vm.create's shape (6 "
		    "compares, 8 puts) through common/etcd.c, same cluster, p%d", q ? 99 : 50);
		bench_row(res, name, "", p[1][q], "us", what, q ? b99 : b50, NULL, NULL);
	}
	snprintf(what, sizeof(what), "controller %.0f + members %.0f us a change",
	    sides[1].ctl_cpu / 1e3 / n, sides[1].members_cpu / 1e3 / n);
	bench_row(res, "replicate_etcd_cpu_us_per_change", "",
	    (sides[1].ctl_cpu + sides[1].members_cpu) / 1e3 / n, "us",
	    "the LMDB controller's CPU a change", sides[0].ctl_cpu / 1e3 / n, what, NULL);
	etcd_close(e);
	for (int k = 0; k < 2; k++) {
		table_close(sides[k].gw);
		apiclient_close(&sides[k].c);
		free(sides[k].total);
	}
	free(bare);
	cluster_end();
	ec_stop(&ecl);
	return bench_write(res, "replicate_etcd") < 0;
}
