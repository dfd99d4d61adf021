/*
 * bench/scale: vpcfwd at the patent's scale (issue 12), as real processes: a controller
 * holding one VPC of -s VMs (10k, 100k or 1m; at 1m nine more VPCs of 111,112: 2 M VMs
 * in all) on 10,000 hosts, and a gateway's rule-store replicating it. Each figure says what
 * ran: every process here is real, nothing is simulated.
 *
 *  controller	hosts and VMs created the user's way (host.create calls, `vpcfwdctl
 *		import` of a CSV file, durable); the data file's size and the controller's
 *		RSS; then kill -9 and a restart on the same data until the API answers
 *		(controller_restart_s) and until a change made then reaches a rule-store
 *		that was connected before (controller_restart_resume_s).
 *		Baseline, in the same run: bare LMDB opening the same data file and reading
 *		every record, the least a restart that reads its state could do.
 *  gateway	a rule-store started empty until its table holds every rule
 *		(gateway_fill_s), against table_set of the same number of rules in this
 *		process; the table's bytes per rule (gateway_bytes_per_rule: the segment's
 *		resident bytes plus the rule-store's private RSS, over the rules; goal <=
 *		128) against a rule's raw size; kill -9 of the rule-store and its restart
 *		until a change made then is in its table (gateway_resume_s).
 *
 *  fanout	a second gateway (rule-store and syncd) and a syncd on the first, each
 *		checking MACs; 10,000 learners, one a host: 4 real learner processes
 *		(bench/real.h: each learns a VM of VPC 1 through the first gateway's
 *		learn ring, as a gateway forwarder asks, then syncs VPC 1 from both
 *		gateways) and 9,996 simulated ones (bench/fleet.h: one socket, address,
 *		name and key each, the real protocol), half long-polling each syncd for
 *		VPC 1. -c (20) migrations of a VM of VPC 1, one at a time: from the API
 *		call (t0) to the kernel's receive stamp of the answer bringing it, at
 *		every learner: fanout_p50_ms, fanout_p99_ms over every (learner, change)
 *		of the simulated ones, fanout_last_ms the slowest change's last;
 *		fanout_real_*: the real learners, the change seen in their tables
 *		(polled between pumps of the fleet: within ~1 ms). Baseline, the same
 *		changes: t0 to the rule in the first gateway's table (what every
 *		gateway pays anyway).
 *  failover	the second gateway's syncd killed (-9): the time until every learner
 *		that polled it is parked at the first (failover_s), against the
 *		learner's timeout (sync_wait + sync_timeout, 2.5 s: what a learner waits
 *		before it moves); the survivor's peak requests a second over 100 ms
 *		windows (failover_peak_requests_per_s) against its rate limit summed
 *		over the learners (syncd.rate x learners).
 *
 * Writes bench/results/scale.json (rows named for the size: e.g. controller_restart_s
 * at -s 1m, controller_restart_s_100k at -s 100k).
 *
 *	scale [-s 10k|100k|1m] [-c CHANGES] [-H HOSTS] [-o FILE]
 *
 * Without -s: the three sizes one after the other, each a run of its own, then
 * bench/scale-report writes their table into docs/scale.md and plots them.
 * -H: hosts, and simulated learners (10,000); -o: write the rows to FILE alone
 * (tests/scale.sh), not into bench/results/scale.json. The run fails (exit 1, with the
 * processes' logs) when a change does not reach every learner in 10 s, a failover
 * does not move every learner in 15 s, or a rule-store does not catch up in 60 s.
 */
#include "bench/cluster.h"
#include "bench/fleet.h"
#include "bench/real.h"
#include "common/apiclient.h"
#include "common/clock.h"
#include "common/log.h"
#include "shm/events.h"
#include "shm/ring.h"
#include "shm/stats.h"
#include "shm/table.h"

#include <lmdb.h>
#include <spawn.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <sys/wait.h>

#define HOSTS_DEFAULT	10000
#define BIG_VNI		1
#define SMALL_VPCS	9		/* at 1m: nine more VPCs of SMALL_VMS, 2 M VMs */
#define SMALL_VMS	111112
#define RULE_RAW	18		/* VNI 4, IP 4, MAC 6, VTEP 4 */
#define BATCH		10000		/* vpcfwdctl import's: a version a batch */
#define REAL		4		/* real learner processes, hosts beside the fleet */
#define M_IP		0x0a000002u	/* 10.0.0.2: v0m0000001, the VM that migrates */

static struct {
	const char *name;	/* "10k", "100k", "1m" */
	uint64_t big;		/* VMs in VPC 1 */
	int small;		/* more VPCs of SMALL_VMS */
} size;

static int ctl_port, changes = 20, hosts = HOSTS_DEFAULT, learner_port;
static const char *out_path;	/* -o: results there, not bench/results/scale.json */
static struct auth_key secret;
static const char *secret_path;
static struct real_conf real_conf = { .secret = &secret };	/* ports: fanout() */
static char ctl_conf[1024];
static struct stats ctl_st;

/* A TCP port free on 127.0.0.1 now, for the controller to listen on across restarts. */
static int
tcp_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) < 0)
		fatal("scale: a free TCP port");
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

static pid_t
controller_start(void)
{
	pid_t pid = cluster_start("vpcfwd-controller", ctl_conf, "controller");

	cluster_stats_wait(&ctl_st, cluster_node("ctl"), "controller");
	return pid;
}

/* ns until the API answers a request, polled every ms. */
static uint64_t
api_wait(uint64_t t0)
{
	struct apiclient c;
	char sock[300];

	snprintf(sock, sizeof(sock), "%s/api.sock", cluster_dir());
	for (int i = 0; i < 60000; i++) {
		json_t *resp = NULL;

		if (apiclient_connect(&c, sock, 0) == 0) {
			json_t *req = json_pack("{s:s}", "op", "vpc.list");
			bool ok = apiclient_call(&c, req, &resp) == 0 &&
			    json_is_true(json_object_get(resp, "ok"));

			json_decref(req);	/* apiclient_call does not take it */
			json_decref(resp);
			apiclient_close(&c);
			if (ok)
				return clock_mono_ns() - t0;
		}
		usleep(1000);
	}
	fatalx("scale: the controller's API did not answer in 60 s");
}

static double
file_bytes(const char *path)
{
	struct stat st;

	if (stat(path, &st) == -1)
		fatal("scale: %s", path);
	return (double)st.st_blocks * 512;
}

/* host.create for hosts hosts, VTEP 172.16.0.0 + i + 1. */
static void
create_hosts(struct apiclient *c)
{
	for (int h = 0; h < hosts; h++) {
		char name[16], vtep[20];

		snprintf(name, sizeof(name), "h%05d", h);
		snprintf(vtep, sizeof(vtep), "172.16.%d.%d", (h + 1) >> 8, (h + 1) & 255);
		json_decref(cluster_call(c, json_pack("{s:s, s:s, s:s}", "op", "host.create",
		    "name", name, "vtep", vtep)));
	}
}

/* The VPCs and the CSV of every VM (spread over the hosts round robin); VMs in all. */
static uint64_t
write_vms(struct apiclient *c, const char *csv)
{
	FILE *f = fopen(csv, "w");
	uint64_t n = 0;

	if (f == NULL)
		fatal("scale: %s", csv);
	fprintf(f, "name,vpc,ip,host\n");
	for (int v = 0; v <= size.small; v++) {
		uint64_t vms = v == 0 ? size.big : SMALL_VMS;
		char vpc[16];

		snprintf(vpc, sizeof(vpc), "vpc%d", v);
		json_decref(cluster_call(c, json_pack("{s:s, s:s, s:i, s:[s]}", "op",
		    "vpc.create", "name", vpc, "vni", BIG_VNI + v, "cidrs", "10.0.0.0/8")));
		for (uint64_t i = 0; i < vms; i++, n++)
			fprintf(f, "v%dm%07llu,%s,10.%llu.%llu.%llu,h%05llu\n", v,
			    (unsigned long long)i, vpc, (unsigned long long)((i + 1) >> 16 & 255),
			    (unsigned long long)((i + 1) >> 8 & 255),
			    (unsigned long long)((i + 1) & 255), (unsigned long long)(n % hosts));
	}
	if (fclose(f) != 0)
		fatal("scale: %s", csv);
	return n;
}

/* `vpcfwdctl import csv`: ns, or exit. */
static uint64_t
import(const char *csv)
{
	char log[300], sock[300], *args[6];
	uint64_t t0 = clock_mono_ns();
	pid_t pid;
	int st;

	snprintf(sock, sizeof(sock), "%s/api.sock", cluster_dir());
	snprintf(log, sizeof(log), "%s/vpcfwdctl.log", cluster_dir());
	args[0] = (char *)bench_bin("vpcfwdctl");
	args[1] = "-s";
	args[2] = sock;
	args[3] = "import";
	args[4] = (char *)csv;
	args[5] = NULL;
	pid = bench_spawn(args, log);
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fatalx("scale: vpcfwdctl import failed (see %s)", log);
	return clock_mono_ns() - t0;
}

/* The baseline of a restart: open the data file and read every record. */
static uint64_t
lmdb_read_all(const char *dir, uint64_t *records)
{
	uint64_t t0 = clock_mono_ns();
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_cursor *cur;
	MDB_val k, v, name;

	*records = 0;
	if (mdb_env_create(&env) || mdb_env_set_maxdbs(env, 64) ||
	    mdb_env_open(env, dir, MDB_RDONLY, 0600) || mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) ||
	    mdb_dbi_open(txn, NULL, 0, &dbi) || mdb_cursor_open(txn, dbi, &cur))
		fatalx("scale: cannot read the controller's data in %s", dir);
	/* The main DB names the others: read each whole. */
	while (mdb_cursor_get(cur, &name, &v, *records ? MDB_NEXT : MDB_FIRST) == 0) {
		char db[128];
		MDB_dbi sub;
		MDB_cursor *sc;
		int op = MDB_FIRST;

		++*records;
		if (name.mv_size >= sizeof(db))
			continue;
		memcpy(db, name.mv_data, name.mv_size);
		db[name.mv_size] = '\0';
		if (mdb_dbi_open(txn, db, 0, &sub) != 0 || mdb_cursor_open(txn, sub, &sc) != 0)
			continue;
		while (mdb_cursor_get(sc, &k, &v, op) == 0) {
			volatile uint8_t touch = ((const uint8_t *)v.mv_data)[0];

			(void)touch;
			op = MDB_NEXT;
			++*records;
		}
		mdb_cursor_close(sc);
	}
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	mdb_env_close(env);
	return clock_mono_ns() - t0;
}

/* The rule-store of gateway role ("gw", "gw2"), its log in DIR/name.log. */
static pid_t
rule_store_start(const char *role, const char *name, uint64_t capacity)
{
	char conf[1024];

	snprintf(conf, sizeof(conf), "node = \"%s\";\nrule_store = {\n tls = false;\n"
	    " controllers = [\"127.0.0.1:%d\"];\n table_capacity = %llu;\n"
	    " table_max_vnis = 64;\n};\n", cluster_node(role), ctl_port,
	    (unsigned long long)capacity);
	return cluster_start("vpcfwd-rule-store", conf, name);
}

/* ns from t0 until the rule-store's table has applied the controller's whole log. */
static uint64_t
caught_up(struct table *t, uint64_t t0)
{
	for (int i = 0; table_applied_seq(t) < cluster_stat(&ctl_st, "log_seq"); i++) {
		if (i == 600000)
			fatalx("scale: the rule-store did not catch up in 60 s");
		usleep(100);
	}
	return clock_mono_ns() - t0;
}

/* Migrate VM vm to host hNNNNN (number h) through the API. */
static void
vm_move(const char *vm, int h)
{
	struct apiclient c;
	char host[16];

	cluster_api_connect(&c);
	snprintf(host, sizeof(host), "h%05d", h);
	json_decref(cluster_call(&c, json_pack("{s:s, s:s, s:s}", "op", "vm.migrate",
	    "name", vm, "host", host)));
	apiclient_close(&c);
}

/*
 * ns from t0 until a change made now through the API (a VM of VPC 1 moved to another
 * host) is in the rule-store's table: the controller and the rule-store stream again.
 */
static uint64_t
change_applied(struct table *t, uint64_t t0)
{
	static int moves;

	vm_move("v0m0000000", hosts - 1 - moves++ % 2);
	return caught_up(t, t0);
}

/* The baseline of a fill: n rules table_set in this process into a fresh table. */
static uint64_t
table_set_baseline(uint64_t n)
{
	struct table_params p;
	struct table *t;
	char err[256];
	uint64_t t0;

	table_params_default(&p, TABLE_GATEWAY);
	p.capacity = (uint32_t)(n + n / 4 + 1000);	/* the rule-store's */
	p.max_vnis = 64;
	if (table_create(&t, cluster_node("base"), "bench", &p, err, sizeof(err)) < 0)
		fatalx("scale: %s", err);
	t0 = clock_mono_ns();
	for (uint64_t i = 0; i < n; i++) {
		struct table_rule r = { .vni = BIG_VNI + (uint32_t)(i / 1000000),
		    .ip = 0x0a000001u + (uint32_t)(i % 1000000), .vtep = 0xac100001u +
		    (uint32_t)(i % hosts), .mac = { 2, 0, 10, (uint8_t)(i >> 16),
		    (uint8_t)(i >> 8), (uint8_t)i }, .version = 2 + i % 1000000 / BATCH };

		if (table_set(t, &r) < 0)
			fatalx("scale: table_set baseline failed at %llu", (unsigned long long)i);
	}
	for (uint32_t v = 0; v <= n / 1000000; v++)
		table_vni_advance(t, BIG_VNI + v, 1, 2 + 1000000 / BATCH);
	t0 = clock_mono_ns() - t0;
	table_close(t);
	return t0;
}

/* node's syncd on addr (a free port), checking MACs with the cluster secret. */
static pid_t
syncd_start(const char *node, const char *addr, struct sockaddr_in *sa)
{
	char conf[1024], name[64];
	int port = cluster_free_port(addr);

	snprintf(conf, sizeof(conf), "node = \"%s\";\nsyncd = {\n listen = \"%s:%d\";\n"
	    " allow = [\"127.14.0.0/16\", \"127.0.15.0/24\"];\n auth = true;\n"
	    " auth_secret = \"%s\";\n learner_port = %d;\n};\n", node, addr, port,
	    secret_path, learner_port);
	snprintf(name, sizeof(name), "%s-syncd", node);
	*sa = (struct sockaddr_in){ .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	inet_pton(AF_INET, addr, &sa->sin_addr);
	return cluster_start("vpcfwd-syncd", conf, name);
}


/* Until both syncds hold want parked requests between them (pumping the fleet). */
static void
parked_wait(struct fleet *f, struct stats *sd, int nsd, uint64_t want)
{
	uint64_t deadline = clock_mono_ns() + 10000000000ull, have = 0;

	while (clock_mono_ns() < deadline) {
		have = 0;
		for (int i = 0; i < nsd; i++)
			have += cluster_stat(&sd[i], "parked");
		if (have == want)
			return;
		fleet_pump(f, 1);
	}
	fatalx("scale: %llu of %llu learners parked after 10 s", (unsigned long long)have,
	    (unsigned long long)want);
}

static void
row(json_t *res, const char *name, double v, const char *unit, const char *baseline,
    double bv)
{
	char suffix[16] = "";

	if (strcmp(size.name, "1m") != 0)
		snprintf(suffix, sizeof(suffix), "_%s", size.name);
	bench_row(res, name, suffix, v, unit, baseline, bv, NULL, NULL);
}

/* Migrate VM v0m0000001 to the other of two hosts; its rule's new VTEP's host. */
static void
migrate(void)
{
	static int moves;

	vm_move("v0m0000001", hosts - 3 - moves++ % 2);
}

/*
 * relearn: a real learner holding every rule of VPC 1 (each learned by a LEARN, pushed
 * on the first gateway's learn ring as fast as it takes them) until vpc.reset draws the
 * VPC a new generation: RELEARN, and the learner resyncs the IPs it held from version 0
 * of the new generation. relearn_1m_s: from when the gateway holds the new generation
 * whole (the reset's commit and replication are printed apart) until it holds them all,
 * against the same rules learned by LEARNs earlier in the run; and the sync answers'
 * bytes that learner took in meanwhile over the rules held (relearn_bytes_per_rule).
 */
static void
relearn_phase(json_t *res, const struct sockaddr_in *gw, struct table *gt, pid_t syncd)
{
	uint64_t cpu_l, cpu_s;
	pid_t lpid;
	char node[64];
	uint64_t t0, t_learn, t_resync, t_gw, bytes0, n = size.big, relearned = 0;
	struct table_vni_info gv;
	uint32_t gen0;
	const char *host = "h00000";	/* the fleet is done: its name is free again */
	struct table_vni_info vi;
	struct apiclient c;
	struct ring ring;
	struct stats st;
	struct table *lt;
	uint32_t vtep = 0x7f000f10u;	/* 127.0.15.16 */

	snprintf(node, sizeof(node), "%s", cluster_node("rlbig"));
	lpid = real_learner_start(&real_conf, node, "learner-big", host, REAL_NET + 16, gw, 1,
	    n + 1000);
	lt = cluster_table_wait(node, "learner");
	cluster_stats_wait(&st, node, "learner");
	if (learn_req_ring_create(&ring, cluster_node("gw"), "forwarder", EV_LEARN_REQ_RING,
	    1024, 0) < 0)
		fatalx("scale: %s", ring.seg.err);
	/* The first learn: syncd must hear from the host before it sends it LEARNs. */
	t0 = clock_mono_ns();
	for (uint64_t i = 0; i < n; ) {
		struct ev_learn_req ev[64];
		uint32_t k = 0, pushed;

		for (; k < 64 && i + k < n; k++)
			ev[k] = (struct ev_learn_req){ .vni = BIG_VNI,
			    .ip = 0x0a000001u + (uint32_t)(i + k), .src_vtep = vtep };
		pushed = learn_req_ring_push(&ring, ev, k);
		if (i == 0 && (table_vni_get(lt, BIG_VNI, &vi) < 0 || vi.live == 0)) {
			if (clock_mono_ns() - t0 > 20000000000ull)
				fatalx("scale: the big learner never learned");
			usleep(20000);	/* re-pushed until the first lands */
			continue;
		}
		i += pushed;
		if (pushed < k)
			usleep(200);
	}
	/*
	 * LEARNs are datagrams: one lost leaves its destination unlearned, and a forwarder
	 * sets the learn bit again after learn_interval. So here: every 200 ms, the IPs
	 * still missing are asked again.
	 */
	for (uint64_t next = clock_mono_ns() + 200000000ull;;) {
		if (table_vni_get(lt, BIG_VNI, &vi) == 0 && vi.live >= n)
			break;
		if (clock_mono_ns() - t0 > 120000000000ull)
			fatalx("scale: the big learner holds %u of %llu rules after 120 s",
			    table_vni_get(lt, BIG_VNI, &vi) == 0 ? vi.live : 0,
			    (unsigned long long)n);
		if (clock_mono_ns() >= next) {
			for (uint64_t i = 0; i < n; i++) {
				struct ev_learn_req ev = { .vni = BIG_VNI,
				    .ip = 0x0a000001u + (uint32_t)i, .src_vtep = vtep };
				struct table_rule r;

				if (table_get(lt, BIG_VNI, ev.ip, &r))
					continue;
				relearned++;
				while (learn_req_ring_push(&ring, &ev, 1) != 1)
					usleep(200);
			}
			next = clock_mono_ns() + 200000000ull;
		}
		usleep(1000);
	}
	t_learn = clock_mono_ns() - t0;
	ring_close(&ring);

	bytes0 = cluster_stat(&st, "sync_bytes");
	if (table_vni_get(gt, BIG_VNI, &gv) < 0)
		fatalx("scale: VPC 1 left the gateway's table");
	gen0 = gv.gen;
	t0 = clock_mono_ns();
	cluster_api_connect(&c);
	json_decref(cluster_call(&c, json_pack("{s:s, s:s}", "op", "vpc.reset", "name",
	    "vpc0")));
	apiclient_close(&c);
	/* The clock starts when the gateway holds the new generation whole: then it tells
	 * the learner RELEARN. */
	for (;;) {
		if (table_vni_get(gt, BIG_VNI, &gv) == 0 && gv.gen != gen0 && gv.live >= n &&
		    !(gv.flags & TABLE_VNI_INCOMPLETE))
			break;
		if (clock_mono_ns() - t0 > 60000000000ull)
			fatalx("scale: the gateway lacks VPC 1's new generation 60 s after the reset");
		usleep(200);
	}
	t_gw = clock_mono_ns() - t0;
	t0 = clock_mono_ns();
	cpu_l = bench_schedstat(lpid, 0);
	cpu_s = bench_schedstat(syncd, 0);
	for (;;) {
		if (cluster_stat(&st, "resyncs_done") >= 1 &&
		    table_vni_get(lt, BIG_VNI, &vi) == 0 && vi.live >= n)
			break;
		if (cluster_stat(&st, "resyncs_abandoned") > 0)
			fatalx("scale: the big learner gave its resync up");
		if (clock_mono_ns() - t0 > 60000000000ull)
			fatalx("scale: the big learner holds %u of %llu rules 60 s after the reset",
			    table_vni_get(lt, BIG_VNI, &vi) == 0 ? vi.live : 0,
			    (unsigned long long)n);
		usleep(1000);
	}
	t_resync = clock_mono_ns() - t0;
	cpu_l = bench_schedstat(lpid, 0) - cpu_l;
	cpu_s = bench_schedstat(syncd, 0) - cpu_s;
	printf("relearn CPU: the learner %.1f us, the syncd %.1f us a page (%llu pages)\n",
	    cpu_l / 1e3 / (double)cluster_stat(&st, "pages"),
	    cpu_s / 1e3 / (double)cluster_stat(&st, "pages"),
	    (unsigned long long)cluster_stat(&st, "pages"));
	printf("relearn: a real learner holding %llu rules of VPC 1 (learned in %.2f s, "
	    "%.0f LEARNs/s, %llu asked again, %llu dropped at its full socket), vpc.reset: in the "
	    "gateway's table %.3f s after the API call, "
	    "resynced %.3f s after that, %llu rules set, %llu entries scanned\n",
	    (unsigned long long)n, t_learn / 1e9, n / (t_learn / 1e9),
	    (unsigned long long)relearned, (unsigned long long)cluster_stat(&st, "rx_sock_drops"),
	    t_gw / 1e9,
	    t_resync / 1e9, (unsigned long long)cluster_stat(&st, "resync_rules"),
	    (unsigned long long)cluster_stat(&st, "resync_scanned"));
	row(res, "relearn_1m_s", t_resync / 1e9, "s", "the same rules learned one LEARN each "
	    "(first packets), earlier in the run", t_learn / 1e9);
	row(res, "relearn_bytes_per_rule", (double)(cluster_stat(&st, "sync_bytes") - bytes0) /
	    (double)n, "B", "a rule's raw size", RULE_RAW);
	table_close(lt);
	stats_close(&st);
}

/* The fan-out and failover phases, against the first gateway (table t) and a second. */
static void
fanout(json_t *res, struct table *t, uint64_t vms)
{
	struct sockaddr_in sa[2];
	struct table_vni_info vi;
	struct stats sd[2];
	struct table *t2;
	struct fleet f;
	uint64_t *lat, *tab, *last, worst = 0, t0, peak = 0, prev_rx, prev_ns, failover;
	uint64_t t_start, timeouts, unreach, syncd_cpu = 0, fleet_cpu = 0;
	pid_t syncd[2];
	size_t nlat = 0, nreal = 0;
	struct real rl[REAL];
	uint64_t *real_lat;

	secret_path = cluster_auth_secret(&secret);
	learner_port = cluster_free_port("127.0.15.1");
	real_conf.ctl_port = ctl_port;
	real_conf.learner_port = learner_port;
	syncd[0] = syncd_start(cluster_node("gw"), "127.0.14.1", &sa[0]);
	rule_store_start("gw2", "rule-store-2", vms + vms / 4 + 1000);
	t2 = cluster_table_wait(cluster_node("gw2"), "rule-store");
	caught_up(t2, clock_mono_ns());
	syncd[1] = syncd_start(cluster_node("gw2"), "127.0.14.2", &sa[1]);
	cluster_stats_wait(&sd[0], cluster_node("gw"), "syncd");
	cluster_stats_wait(&sd[1], cluster_node("gw2"), "syncd");
	if (table_vni_get(t, BIG_VNI, &vi) < 0)
		fatalx("scale: VPC %d is not in the gateway's table", BIG_VNI);

	for (int i = 0; i < REAL; i++) {
		char host[16];

		snprintf(host, sizeof(host), "h%05d", hosts - REAL + i);
		real_start(&rl[i], &real_conf, i, host, sa, 2);
	}
	real_learn(rl, REAL, cluster_node("gw"), BIG_VNI, M_IP);
	fleet_open(&f, hosts - REAL, &secret, sa, 2);
	fleet_start(&f, BIG_VNI, vi.gen, vi.version);
	t_start = clock_mono_ns();
	if ((lat = calloc((size_t)changes * hosts, sizeof(*lat))) == NULL ||
	    (real_lat = calloc((size_t)changes * REAL, sizeof(*real_lat))) == NULL ||
	    (tab = calloc((size_t)changes, sizeof(*tab))) == NULL ||
	    (last = calloc((size_t)changes, sizeof(*last))) == NULL)
		fatalx("scale: out of memory");
	for (int c = 0; c < changes; c++) {
		uint64_t deadline, cpu0[3];

		parked_wait(&f, sd, 2, hosts);
		cpu0[0] = bench_schedstat(syncd[0], 0);
		cpu0[1] = bench_schedstat(syncd[1], 0);
		cpu0[2] = bench_self_cpu_ns();
		if (table_vni_get(t, BIG_VNI, &vi) < 0)
			fatalx("scale: VPC %d left the table", BIG_VNI);
		fleet_target(&f, vi.version + 1);
		t0 = clock_real_ns();
		migrate();
		/* Polled every 20 us: a spinning reader would take a CPU from the path. */
		for (struct table_vni_info now = vi; now.version == vi.version; ) {
			struct timespec nap = { 0, 20000 };

			if (table_vni_get(t, BIG_VNI, &now) < 0)
				fatalx("scale: VPC %d left the table", BIG_VNI);
			nanosleep(&nap, NULL);
		}
		tab[c] = clock_real_ns() - t0;
		deadline = clock_mono_ns() + 10000000000ull;
		real_reset(rl, REAL);
		for (int real_has = 0; f.has < f.n || real_has < REAL; ) {
			if (clock_mono_ns() > deadline)
				fatalx("scale: change %d reached %d of %d simulated and %d of %d real "
				    "learners in 10 s", c, f.has, f.n, real_has, REAL);
			fleet_pump(&f, 1);
			/* Polled between pumps: a real learner's figure is within ~1 ms. */
			real_has = real_poll(rl, REAL, BIG_VNI, M_IP, f.target);
		}
		for (int k = 0; k < REAL; k++)
			real_lat[nreal++] = rl[k].at_ns - t0;
		syncd_cpu += bench_schedstat(syncd[0], 0) - cpu0[0] + bench_schedstat(syncd[1], 0) - cpu0[1];
		fleet_cpu += bench_self_cpu_ns() - cpu0[2];
		last[c] = 0;
		for (int i = 0; i < f.n; i++) {
			uint64_t d = f.l[i].at_ns - t0;

			lat[nlat++] = d;
			last[c] = d > last[c] ? d : last[c];
		}
		worst = last[c] > worst ? last[c] : worst;
	}
	printf("fan-out: %d simulated learners (real protocol, MACs, one socket each) and %d "
	    "real learner processes, 2 real syncds, %d changes, %llu answers, %llu timeouts, "
	    "%llu retries, %.0f probes a second a gateway\n", f.n, REAL, changes,
	    (unsigned long long)f.answers,
	    (unsigned long long)f.timeouts, (unsigned long long)f.retries,
	    f.probes / ((clock_mono_ns() - t_start) / 1e9) / 2);
	row(res, "fanout_p50_ms", bench_pct_ms(lat, nlat, 0.5), "ms", "API call -> the first "
	    "gateway's table, p50", bench_pct_ms(tab, (size_t)changes, 0.5));
	row(res, "fanout_p99_ms", bench_pct_ms(lat, nlat, 0.99), "ms", "API call -> the first "
	    "gateway's table, p99", bench_pct_ms(tab, (size_t)changes, 0.99));
	row(res, "fanout_last_ms", worst / 1e6, "ms", "API call -> the first gateway's "
	    "table, the slowest change", bench_pct_ms(tab, (size_t)changes, 1.0));
	printf("fan-out CPU, the two syncds: %.2f us an answer; the simulated learners "
	    "(this process, sharing the 2 CPUs): %.2f us an answer\n",
	    syncd_cpu / 1e3 / ((double)changes * f.n), fleet_cpu / 1e3 / ((double)changes * f.n));
	row(res, "fanout_real_p50_ms", bench_pct_ms(real_lat, nreal, 0.5), "ms", "API call -> the "
	    "first gateway's table, p50", bench_pct_ms(tab, (size_t)changes, 0.5));
	row(res, "fanout_real_last_ms", bench_pct_ms(real_lat, nreal, 1.0), "ms", "API call -> "
	    "the first gateway's table, the slowest change", bench_pct_ms(tab, (size_t)changes, 1.0));
	row(res, "fanout_last_p50_ms", bench_pct_ms(last, (size_t)changes, 0.5), "ms", "API call "
	    "-> the first gateway's table, p50", bench_pct_ms(tab, (size_t)changes, 0.5));

	/* failover: the second syncd dies; its learners move to the first */
	parked_wait(&f, sd, 2, hosts);
	timeouts = f.timeouts;
	unreach = f.unreach;
	prev_rx = cluster_stat(&sd[0], "req_rx");
	t0 = prev_ns = clock_mono_ns();
	kill(syncd[1], SIGKILL);
	waitpid(syncd[1], NULL, 0);
	while (cluster_stat(&sd[0], "parked") < (uint64_t)f.n) {
		uint64_t now = clock_mono_ns();

		if (now - t0 > 15000000000ull)
			fatalx("scale: %llu of %d learners at the surviving syncd 15 s after the "
			    "other died", (unsigned long long)cluster_stat(&sd[0], "parked"), f.n);
		if (now - prev_ns >= 100000000ull) {
			uint64_t rx = cluster_stat(&sd[0], "req_rx");
			uint64_t rate = (rx - prev_rx) * 1000000000ull / (now - prev_ns);

			peak = rate > peak ? rate : peak;
			prev_rx = rx;
			prev_ns = now;
		}
		fleet_pump(&f, 1);
	}
	failover = clock_mono_ns() - t0;
	row(res, "failover_s", failover / 1e9, "s", "the learner's timeout before it moves "
	    "(sync_wait + sync_timeout)", FLEET_TIMEOUT_NS / 1e9);
	row(res, "failover_peak_requests_per_s", (double)peak, "requests/s", "the survivor's "
	    "rate limit summed over the learners (syncd.rate 20000 x learners)",
	    20000.0 * hosts);
	printf("failover: survivor req_limited %llu, park_full %llu; meanwhile ICMP errors "
	    "seen by the learners %llu, requests timed out %llu\n",
	    (unsigned long long)cluster_stat(&sd[0], "req_limited"),
	    (unsigned long long)cluster_stat(&sd[0], "park_full"),
	    (unsigned long long)(f.unreach - unreach),
	    (unsigned long long)(f.timeouts - timeouts));
	for (int k = 0; k < REAL; k++)
		table_close(rl[k].t);
	free(real_lat);
	free(lat);
	free(tab);
	free(last);
	fleet_close(&f);
	relearn_phase(res, &sa[0], t, syncd[0]);
	table_close(t2);
	stats_close(&sd[0]);
	stats_close(&sd[1]);
}

/* No -s: each size in a run of its own, then docs/scale.md and its plots. */
static int
all_sizes(const char *self)
{
	static const char *const sizes[] = { "10k", "100k", "1m" };
	char c[16], h[16];

	snprintf(c, sizeof(c), "%d", changes);
	snprintf(h, sizeof(h), "%d", hosts);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		char *args[] = { (char *)self, "-s", (char *)sizes[i], "-c", c, "-H", h, NULL };
		pid_t pid;
		int st;

		if (posix_spawn(&pid, self, NULL, NULL, args, environ) != 0 ||
		    waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			fprintf(stderr, "scale: -s %s failed\n", sizes[i]);
			return 1;
		}
	}
	execl("bench/scale-report", "bench/scale-report", (char *)NULL);
	fprintf(stderr, "scale: bench/scale-report: %s\n", strerror(errno));
	return 1;
}

int
main(int argc, char **argv)
{
	char csv[300], data[300], mdb[320], seg[SEG_NAME_MAX], segpath[300];
	uint64_t vms, t0, t_hosts, t_import, t_api, t_resume, t_base, recs, t_fill, t_set;
	uint64_t t_gw_resume, rules;
	struct apiclient c;
	struct stats rs_st;
	struct table *t;
	pid_t ctl, rs;
	json_t *res;
	int ch;

	size.name = NULL;
	while ((ch = getopt(argc, argv, "s:c:H:o:")) != -1) {
		if (ch == 's')
			size.name = optarg;
		else if (ch == 'c')
			changes = atoi(optarg);
		else if (ch == 'H')
			hosts = atoi(optarg);
		else if (ch == 'o')
			out_path = optarg;
		else
			fatalx("usage: scale [-s 10k|100k|1m] [-c CHANGES] [-H HOSTS] [-o FILE]");
	}
	if (changes < 1 || changes > 1000 || hosts < 4 || hosts > 60000)
		fatalx("scale: -c 1..1000, -H 4..60000");
	if (size.name == NULL)
		return all_sizes(argv[0]);
	if (strcmp(size.name, "10k") == 0)
		size.big = 10000;
	else if (strcmp(size.name, "100k") == 0)
		size.big = 100000;
	else if (strcmp(size.name, "1m") == 0) {
		size.big = 1000000;
		size.small = SMALL_VPCS;
	} else
		fatalx("scale: -s 10k, 100k or 1m");
	cluster_init("scale");
	ctl_port = tcp_port();
	snprintf(ctl_conf, sizeof(ctl_conf), "node = \"%s\";\ncontroller = {\n"
	    " data_dir = \"%s/data\";\n api_socket = \"%s/api.sock\";\n"
	    " listen = \"127.0.0.1:%d\";\n tls = false;\n log_retention = %llu;\n};\n",
	    cluster_node("ctl"), cluster_dir(), cluster_dir(), ctl_port,
	    (unsigned long long)(size.big + (uint64_t)size.small * SMALL_VMS + hosts + 100));
	ctl = controller_start();
	cluster_api_connect(&c);
	res = bench_results();
	printf("scale -s %s: a real controller and rule-store; %d hosts\n", size.name, hosts);

	/* controller */
	t0 = clock_mono_ns();
	create_hosts(&c);
	t_hosts = clock_mono_ns() - t0;
	snprintf(csv, sizeof(csv), "%s/vms.csv", cluster_dir());
	vms = write_vms(&c, csv);
	apiclient_close(&c);
	t_import = import(csv);
	snprintf(data, sizeof(data), "%s/data", cluster_dir());
	printf("%llu VMs in %d VPCs on %d hosts: hosts %.1f s (%.0f/s), import %.1f s "
	    "(%.0f VMs/s)\n", (unsigned long long)vms, 1 + size.small, hosts, t_hosts / 1e9,
	    hosts / (t_hosts / 1e9), t_import / 1e9, vms / (t_import / 1e9));

	/* gateway: an empty rule-store until full */
	t0 = clock_mono_ns();
	rs = rule_store_start("gw", "rule-store", vms + vms / 4 + 1000);
	t = cluster_table_wait(cluster_node("gw"), "rule-store");
	t_fill = caught_up(t, t0);
	cluster_stats_wait(&rs_st, cluster_node("gw"), "rule-store");
	rules = cluster_stat(&rs_st, "rules");
	t_set = table_set_baseline(rules);
	seg_name(seg, sizeof(seg), cluster_node("gw"), "rule-store", "table");
	snprintf(segpath, sizeof(segpath), "/dev/shm/%s", seg);
	row(res, "gateway_fill_s", t_fill / 1e9, "s", "table_set of as many rules in one "
	    "process", t_set / 1e9);
	row(res, "gateway_bytes_per_rule", (file_bytes(segpath) +
	    bench_status_kb(rs, "RssAnon") * 1024.0) / rules, "B", "a rule's raw size (VNI, IP, "
	    "MAC, VTEP)", RULE_RAW);

	/* controller: data, RSS, kill -9 and restart */
	snprintf(mdb, sizeof(mdb), "%s/data.mdb", data);
	row(res, "controller_data_bytes_per_vm", file_bytes(mdb) / vms, "B", "a rule's raw "
	    "size", RULE_RAW);
	row(res, "controller_rss_bytes_per_vm", bench_status_kb(ctl, "VmRSS") * 1024.0 / vms, "B",
	    "a rule's raw size", RULE_RAW);
	kill(ctl, SIGKILL);
	waitpid(ctl, NULL, 0);
	t0 = clock_mono_ns();
	ctl = controller_start();
	t_api = api_wait(t0);
	t_resume = change_applied(t, t0);
	t_base = lmdb_read_all(data, &recs);
	row(res, "controller_restart_s", t_api / 1e9, "s", "bare LMDB: open the data and "
	    "read every record", t_base / 1e9);
	row(res, "controller_restart_resume_s", t_resume / 1e9, "s", "bare LMDB: open the "
	    "data and read every record", t_base / 1e9);

	/* gateway: kill -9 of the rule-store, restart until caught up */
	kill(rs, SIGKILL);
	waitpid(rs, NULL, 0);
	table_close(t);
	t0 = clock_mono_ns();
	rs = rule_store_start("gw", "rule-store", vms + vms / 4 + 1000);
	t = cluster_table_wait(cluster_node("gw"), "rule-store");
	t_gw_resume = change_applied(t, t0);
	row(res, "gateway_resume_s", t_gw_resume / 1e9, "s", "gateway_fill_s (empty to "
	    "full)", t_fill / 1e9);
	printf("(%llu records read by the LMDB baseline)\n", (unsigned long long)recs);

	fanout(res, t, vms);
	table_close(t);
	stats_close(&rs_st);
	stats_close(&ctl_st);
	cluster_end();
	if (out_path != NULL)
		return bench_write_to(res, "scale", out_path) < 0;
	return bench_write_merged(res, "scale") < 0;
}
