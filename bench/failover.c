/*
 * bench/failover: how long a cluster on etcd (docs/cluster.md) takes to accept a change
 * again, and to have it in every gateway, after a failure made while changes are being
 * made. Each round: a fresh etcd cluster of three members on loopback
 * (bench/etcdcluster.h), two controllers on it (c1, c2: controller.store = "etcd",
 * every other setting its default), two rule-stores (gateways) with controllers
 * [c1, c2], every setting its default; a client (this process, as vpcfwdctl: 5 s
 * timeout) creating VMs through c1 one after the other, moving to c2 when c1's socket
 * fails or times out. At a random moment, 300-500 ms into the stream, one of:
 *
 *  leader	kill -9 of the etcd leader. Rounds alternate the controllers' first
 *		endpoint: the leader itself (its connections die with it), or a follower
 *		(which has to wait for a new leader). Baseline, the same kill: a bare
 *		etcd client (common/etcd.c, the controllers' endpoints and timeout, a
 *		thread of its own) putting a key over and over: its first put sent after
 *		the kill and acknowledged. What any etcd client waits, the controller's
 *		floor; etcd's own election (its members' logs) is reported beside.
 *  controller	kill -9 of c1, which the client and both rule-stores use. Baseline: a
 *		change to every gateway with nothing killed (the p50 of 50 changes just
 *		before, through c1): the failover's floor, as the client and the
 *		rule-stores see c1's sockets close at once and move to c2 at once.
 *  stop	SIGSTOP of c1: a controller that goes silent (a machine lost, a partition)
 *		rather than dies: nothing closes, and the client and the rule-stores can
 *		only time out. Baseline: the longer of those timeouts (the client's 5 s,
 *		rule_store.controller_timeout 3 s), which bound it by design.
 *
 * Measured from the failure: to the acknowledgement of the first change sent after it
 * (a change in flight at the failure holds the client back, as it would any client),
 * and to that change's rule in both gateways' tables. Goal: < 3 s. Each row is the
 * median of -r rounds (default 3); every round is in the row's parts.
 *
 *	failover [-r ROUNDS]		writes bench/results/failover.json
 */
#include "bench/etcdcluster.h"
#include "common/apiclient.h"
#include "common/clock.h"
#include "shm/table.h"

#include <pthread.h>
#include <sys/prctl.h>

#define WARM		50		/* changes before the failure, each to every gateway */
#define CLIENT_MS	5000		/* vpcfwdctl's default timeout */
#define CTL_ETCD_MS	2000		/* controller.etcd.timeout's default */
#define GW_TIMEOUT_S	3.0		/* rule_store.controller_timeout's default */
#define GIVE_UP_NS	(60ull * 1000000000ull)
#define ROUNDS_MAX	15

static struct ec ecl;

enum kind { LEADER, CONTROLLER, STOP, KINDS };
static const char *const kind_name[KINDS] = { "leader", "controller", "stop" };

/* The failure, made by a thread of its own while the client is busy. */
static struct {
	pthread_t th;
	enum kind kind;
	pid_t pid;		/* what to kill or stop */
	uint64_t delay_ns;
	_Atomic uint64_t at;	/* monotonic ns of the failure; 0 before */
	double wall;		/* the same, wall-clock */
} fail;

static void *
fail_main(void *arg)
{
	struct timespec ts = { (time_t)(fail.delay_ns / 1000000000ull),
	    (long)(fail.delay_ns % 1000000000ull) };

	(void)arg;
	nanosleep(&ts, NULL);
	fail.wall = ec_wall();
	atomic_store(&fail.at, clock_mono_ns());
	kill(fail.pid, fail.kind == STOP ? SIGSTOP : SIGKILL);
	return NULL;
}

/* The bare etcd client (LEADER): puts until told to stop. */
static struct {
	pthread_t th;
	atomic_int stop;
	_Atomic uint64_t first_after;	/* ack of the first put sent after the failure */
	uint64_t puts, errors;
} bare;

static void *
bare_main(void *arg)
{
	struct etcd *e = arg;

	while (!atomic_load(&bare.stop)) {
		uint64_t t0 = clock_mono_ns(), at;
		int rc = etcd_put(e, "/bench/bare", 11, "x", 1, NULL);

		at = atomic_load(&fail.at);
		if (rc == 0) {
			bare.puts++;
			if (at != 0 && t0 >= at && atomic_load(&bare.first_after) == 0)
				atomic_store(&bare.first_after, clock_mono_ns());
		} else {
			bare.errors++;
			usleep(10000);
		}
		if (atomic_load(&bare.first_after) == 0)
			continue;
		usleep(1000);	/* done: keep etcd as busy as before, not busier */
	}
	return NULL;
}

struct round {
	double ack_s, gw_s;		/* from the failure */
	double base_s;			/* the baseline, as above */
	double elected_s;		/* LEADER: etcd's log, from the kill; 0 unknown */
	bool leader_first;		/* LEADER: the controllers talked to the leader */
	uint64_t errors;		/* changes refused or lost after the failure */
};

static const char *
sock_of(int c)
{
	static char path[2][256];

	snprintf(path[c], sizeof(path[c]), "%s/c%d.sock", cluster_dir(), c + 1);
	return path[c];
}

static pid_t
start_gw(const char *name, int p1, int p2)
{
	char conf[1024];

	snprintf(conf, sizeof(conf), "node = \"%s\";\nrule_store = {\n controllers = "
	    "[\"127.0.0.1:%d\", \"127.0.0.1:%d\"];\n table_capacity = 65536;\n tls = false;\n"
	    "};\n", cluster_node(name), p1, p2);
	return cluster_start("vpcfwd-rule-store", conf, name);
}

/* One vm.create: 0 acknowledged, 1 refused (ok false), or the transport's -errno. */
static int
change(struct apiclient *c, uint64_t i)
{
	uint32_t ipn = 0x0a010000u + (uint32_t)i + 1;
	char name[32], ip[32];
	json_t *req, *resp = NULL;
	int rc;

	snprintf(name, sizeof(name), "f%llu", (unsigned long long)i);
	snprintf(ip, sizeof(ip), "10.1.%u.%u", (ipn >> 8) & 255, ipn & 255);
	req = json_pack("{s:s, s:s, s:s, s:s, s:s}", "op", "vm.create", "name", name, "vpc",
	    "v", "ip", ip, "host", "h1");
	rc = apiclient_call(c, req, &resp);
	json_decref(req);
	if (rc == 0 && !json_is_true(json_object_get(resp, "ok")))
		rc = 1;
	json_decref(resp);
	return rc;
}

static bool
in_tables(struct table **gw, uint64_t i)
{
	struct table_rule r;
	uint32_t ipn = 0x0a010000u + (uint32_t)i + 1;

	return table_lookup(gw[0], 7, ipn, &r) && table_lookup(gw[1], 7, ipn, &r);
}

/* Until change i is in both tables; the time then, or exit after a minute. */
static uint64_t
wait_tables(struct table **gw, uint64_t i, uint64_t since)
{
	struct timespec ts = { 0, 20000 };

	while (!in_tables(gw, i)) {
		if (clock_mono_ns() - since > GIVE_UP_NS)
			fatalx("failover: change %llu not in every gateway after a minute",
			    (unsigned long long)i);
		nanosleep(&ts, NULL);
	}
	return clock_mono_ns();
}

static void
connect_to(struct apiclient *c, int which)
{
	for (int i = 0; apiclient_connect(c, sock_of(which), CLIENT_MS) < 0; i++) {
		if (i == CLUSTER_WAIT_TRIES)
			fatalx("failover: cannot reach %s", sock_of(which));
		usleep(10000);
	}
}

/* Remove what a round's processes leave (segments, views, logs) for the next. */
static void
round_clean(void)
{
	static const char *const names[] = { "c1", "c2", "gw1", "gw2" };
	char cmd[512];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		cluster_unlink_nodes(cluster_node(names[i]), false);
	snprintf(cmd, sizeof(cmd), "cd '%s' && rm -rf c1-data c2-data c1.log c2.log gw1.log "
	    "gw2.log", cluster_dir());
	if (system(cmd) != 0)
		fatalx("failover: cannot clean %s", cluster_dir());
}

static void
run_round(enum kind k, int r, struct round *out)
{
	struct table *gw[2];
	struct apiclient c;
	struct etcd *be = NULL;
	uint64_t *steady, t_send, t_ack = 0, i, at, deadline;
	pid_t c1, c2;
	int p1, p2, cur = 0, leader;

	memset(out, 0, sizeof(*out));
	ec_start(&ecl);
	leader = ec_leader(&ecl);
	/* LEADER rounds alternate: the leader first, then a follower first. */
	out->leader_first = k == LEADER && r % 2 == 0;
	ec_order(&ecl, k == LEADER && r % 2 == 0 ? leader : (leader + 1) % EC_MEMBERS);
	p1 = ec_controller(&ecl, "c1", &c1);
	p2 = ec_controller(&ecl, "c2", &c2);
	start_gw("gw1", p1, p2);
	start_gw("gw2", p1, p2);
	gw[0] = cluster_table_wait(cluster_node("gw1"), "rule-store");
	gw[1] = cluster_table_wait(cluster_node("gw2"), "rule-store");
	connect_to(&c, 0);
	json_decref(cluster_call(&c, json_pack("{s:s, s:s, s:i, s:[s]}", "op", "vpc.create",
	    "name", "v", "vni", 7, "cidrs", "10.0.0.0/8")));
	json_decref(cluster_call(&c, json_pack("{s:s, s:s, s:s}", "op", "host.create",
	    "name", "h1", "vtep", "192.168.0.1")));

	/* The steady state: each change to every gateway. */
	if ((steady = calloc(WARM, sizeof(*steady))) == NULL)
		fatalx("failover: out of memory");
	for (i = 0; i < WARM; i++) {
		t_send = clock_mono_ns();
		if (change(&c, i) != 0)
			fatalx("failover: change %llu refused before any failure",
			    (unsigned long long)i);
		steady[i] = wait_tables(gw, i, t_send) - t_send;
	}
	if (k == LEADER) {
		struct etcd_conf ec = { .endpoints = ecl.endpoints, .n_endpoints = EC_MEMBERS,
		    .timeout_ms = CTL_ETCD_MS };

		if (etcd_open(&be, &ec, NULL) < 0)
			fatalx("failover: etcd_open");
		memset(&bare, 0, sizeof(bare));
		if (pthread_create(&bare.th, NULL, bare_main, be) != 0)
			fatalx("failover: pthread_create");
	}

	/* The failure, 300-500 ms into a stream of changes through c1. */
	fail.kind = k;
	fail.pid = k == LEADER ? ecl.run.pid[leader] : c1;
	fail.delay_ns = (300 + (uint64_t)(random() % 200)) * 1000000ull;
	atomic_store(&fail.at, 0);
	if (pthread_create(&fail.th, NULL, fail_main, NULL) != 0)
		fatalx("failover: pthread_create");
	deadline = clock_mono_ns() + GIVE_UP_NS;
	for (;; i++) {
		int rc;

		if (clock_mono_ns() > deadline)
			fatalx("failover: no change acknowledged a minute after the %s failure",
			    kind_name[k]);
		t_send = clock_mono_ns();
		rc = change(&c, i);
		t_ack = clock_mono_ns();
		at = atomic_load(&fail.at);
		if (rc != 0) {
			if (at == 0)
				fatalx("failover: change %llu refused before the failure (%d)",
				    (unsigned long long)i, rc);
			out->errors++;
			if (rc < 0) {
				/* The controller is gone or silent: the other one. */
				apiclient_close(&c);
				cur = !cur;
				connect_to(&c, cur);
			} else {
				usleep(10000);
			}
			continue;
		}
		if (at != 0 && t_send >= at)
			break;
	}
	pthread_join(fail.th, NULL);
	if (k == LEADER) {
		/* Reap the member (etcdrun_stop skips it). */
		waitpid(ecl.run.pid[leader], NULL, 0);
		ecl.run.pid[leader] = 0;
	}
	out->ack_s = (t_ack - at) / 1e9;
	out->gw_s = (wait_tables(gw, i, at) - at) / 1e9;
	if (k == LEADER) {
		double el;

		while (atomic_load(&bare.first_after) == 0 && clock_mono_ns() < deadline)
			usleep(1000);
		atomic_store(&bare.stop, 1);
		pthread_join(bare.th, NULL);
		etcd_close(be);
		if (atomic_load(&bare.first_after) == 0)
			fatalx("failover: the bare etcd client got no put through in a minute");
		out->base_s = (atomic_load(&bare.first_after) - at) / 1e9;
		el = ec_elected(&ecl, leader, fail.wall - 0.001);
		out->elected_s = el > 0 ? el - fail.wall : 0;
	} else if (k == CONTROLLER) {
		out->base_s = bench_pct_ms(steady, WARM, 0.5) / 1e3;
	} else {
		out->base_s = CLIENT_MS / 1e3 > GW_TIMEOUT_S ? CLIENT_MS / 1e3 : GW_TIMEOUT_S;
	}
	printf("  %-10s round %d: ack %.3f s, every gateway %.3f s, baseline %.3f s, %llu "
	    "changes refused or lost", kind_name[k], r + 1, out->ack_s, out->gw_s,
	    out->base_s, (unsigned long long)out->errors);
	if (k == LEADER)
		printf("; the controllers' endpoint %s; etcd elected in %.3f s; bare puts %llu, "
		    "errors %llu", out->leader_first ? "was the leader" : "a follower",
		    out->elected_s, (unsigned long long)bare.puts,
		    (unsigned long long)bare.errors);
	printf("\n");
	fflush(stdout);

	apiclient_close(&c);
	table_close(gw[0]);
	table_close(gw[1]);
	free(steady);
	/* Every process of the round (c1 killed or stopped: SIGCONT, then reaped). */
	cluster_stop_all(the_cluster.procs, the_cluster.nprocs);
	the_cluster.nprocs = 0;
	ec_stop(&ecl);
	round_clean();
}

static int
cmp_round_gw(const void *a, const void *b)
{
	double x = ((const struct round *)a)->gw_s, y = ((const struct round *)b)->gw_s;

	return (x > y) - (x < y);
}

static double
median_of(const struct round *rs, int n, size_t off)
{
	double v[ROUNDS_MAX];

	for (int i = 0; i < n; i++)
		v[i] = *(const double *)((const char *)&rs[i] + off);
	return bench_median(v, n);
}

int
main(int argc, char **argv)
{
	struct round rs[KINDS][ROUNDS_MAX];
	int rounds = 3, ch;
	json_t *res;

	log_init("bench-failover", LOG_LVL_INFO);
	while ((ch = getopt(argc, argv, "r:")) != -1) {
		if (ch == 'r')
			rounds = atoi(optarg);
		else
			fatalx("usage: failover [-r ROUNDS]");
	}
	if (rounds < 1 || rounds > ROUNDS_MAX)
		fatalx("failover: -r must be 1..%d", ROUNDS_MAX);
	prctl(PR_SET_TIMERSLACK, 1000UL);
	srandom((unsigned)getpid());
	cluster_init("failover");
	printf("failover: 3 etcd members, 2 controllers, 2 rule-stores on loopback; a "
	    "failure 300-500 ms into a stream of VM creations through c1\n");
	for (int k = 0; k < KINDS; k++)
		for (int r = 0; r < rounds; r++)
			run_round((enum kind)k, r, &rs[k][r]);

	res = bench_results();
	for (int k = 0; k < KINDS; k++) {
		static const char *const row[KINDS] = { "failover_etcd_leader",
		    "failover_controller", "failover_controller_stopped" };
		static const char *const base[KINDS] = {
			"a bare etcd client's first put after the same kill (common/etcd.c)",
			"a change to every gateway with nothing killed (p50 of 50 before)",
			"the longer of the client's timeout (5 s) and the rule-stores' "
			"controller_timeout (3 s)" };
		char parts[1024], name[64];
		size_t off = 0;
		double gw, ack, b;

		qsort(rs[k], (size_t)rounds, sizeof(rs[k][0]), cmp_round_gw);
		gw = median_of(rs[k], rounds, offsetof(struct round, gw_s));
		ack = median_of(rs[k], rounds, offsetof(struct round, ack_s));
		b = median_of(rs[k], rounds, offsetof(struct round, base_s));
		off += (size_t)snprintf(parts, sizeof(parts), "median of %d rounds; each round "
		    "(gateways, ack, baseline%s):", rounds, k == LEADER ? ", etcd's election, "
		    "controllers' endpoint" : "");
		for (int r = 0; r < rounds && off < sizeof(parts); r++) {
			off += (size_t)snprintf(parts + off, sizeof(parts) - off, " %.3f/%.3f/%.3f",
			    rs[k][r].gw_s, rs[k][r].ack_s, rs[k][r].base_s);
			if (k == LEADER && off < sizeof(parts))
				off += (size_t)snprintf(parts + off, sizeof(parts) - off, "/%.3f/%s",
				    rs[k][r].elected_s, rs[k][r].leader_first ? "leader" :
				    "follower");
		}
		snprintf(name, sizeof(name), "%s_s", row[k]);
		bench_row(res, name, "", gw, "s", base[k], b, parts, gw < 3.0 ? NULL :
		    "goal < 3 s not met");
		snprintf(name, sizeof(name), "%s_ack_s", row[k]);
		bench_row(res, name, "", ack, "s", base[k], b, parts, NULL);
	}
	cluster_end();
	return bench_write(res, "failover") < 0;
}
