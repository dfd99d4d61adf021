/*
 * etcdcluster.h: what the benchmarks of cluster mode (docs/cluster.md) share: an etcd
 * cluster of three members on loopback (tests/unit/etcdrun.h), started with the limits
 * docs/cluster.md has a deployment raise (as tests/lib.sh t_etcd does) and etcd's own
 * election timing (heartbeat 100 ms, election timeout 1 s: what a deployment gets
 * unless it tunes them); controllers with controller.store = "etcd" on it; the leader;
 * and the CPU a process used, all its threads (etcd is Go: many).
 * Header-only, on top of cluster.h (the processes, the scratch directory, the cleanup).
 *
 * A run may have up to EC_MAX clusters at once, each a struct ec. The members are
 * etcdrun's, not the cluster's processes: ec_stop() kills them and removes their data;
 * it runs at exit and on a signal too (before cluster.h's cleanup), and they die with
 * the benchmark whatever happens (PR_SET_PDEATHSIG).
 */
#ifndef BENCH_ETCDCLUSTER_H
#define BENCH_ETCDCLUSTER_H

#include "bench/cluster.h"
#include "common/etcd.h"
#include "tests/unit/etcdrun.h"

#define EC_MEMBERS		3
#define EC_MAX_TXN_OPS		65536
#define EC_MAX_REQUEST_BYTES	33554432

/* One etcd cluster of the run. */
struct ec {
	struct etcdrun run;
	bool on;
	/* The members' client URLs in the order controllers and clients are given them. */
	const char *endpoints[EC_MEMBERS];
	char conf_list[EC_MEMBERS * 72];	/* the same as a libconfig list */
};

#define EC_MAX	4			/* clusters of a run at once */
static struct ec *ec_all[EC_MAX];	/* the started ones, for the cleanup */
static bool ec_atexit;

static inline void
ec_stop(struct ec *c)
{
	if (!c->on || getpid() != the_cluster.main_pid)
		return;
	etcdrun_stop(&c->run);
	c->on = false;
	for (int i = 0; i < EC_MAX; i++)
		if (ec_all[i] == c)
			ec_all[i] = NULL;
}

static inline void
ec_stop_all(void)
{
	for (int i = 0; i < EC_MAX; i++)
		if (ec_all[i] != NULL)
			ec_stop(ec_all[i]);
}

/* Endpoint order: member first, the others in their order. */
static inline void
ec_order(struct ec *c, int first)
{
	size_t off = 0;

	for (int i = 0; i < EC_MEMBERS; i++) {
		int m = (first + i) % EC_MEMBERS;

		c->endpoints[i] = c->run.endpoint[m];
		off += (size_t)snprintf(c->conf_list + off, sizeof(c->conf_list) - off,
		    "%s\"%s\"", i ? ", " : "", c->run.endpoint[m]);
	}
}

/* A signal ends the run: the members go too (their data with them), then the rest. */
static inline void
ec_on_signal(int sig)
{
	ec_stop_all();
	cluster_on_signal(sig);
}

/*
 * A fresh cluster of three members (etcd's logs as zap JSON, whose timestamps are to
 * the millisecond: ec_elected reads them). Endpoints in member order.
 */
static inline void
ec_start(struct ec *c)
{
	static const char *const flags[] = { "--max-txn-ops=65536",
	    "--max-request-bytes=33554432", "--quota-backend-bytes=4294967296",
	    "--logger=zap", NULL };
	int rc, slot;

	if (!ec_atexit) {
		atexit(ec_stop_all);
		signal(SIGINT, ec_on_signal);
		signal(SIGTERM, ec_on_signal);
		signal(SIGHUP, ec_on_signal);
		ec_atexit = true;
	}
	for (slot = 0; slot < EC_MAX && ec_all[slot] != NULL; slot++)
		;
	if (slot == EC_MAX)
		fatalx("%s: more than %d etcd clusters at once", the_cluster.bench, EC_MAX);
	if ((rc = etcdrun_start(&c->run, EC_MEMBERS, flags)) != 0)
		fatalx("%s: no etcd cluster: %s", the_cluster.bench,
		    rc == -ENOENT ? "etcd is not installed (make deps)" : c->run.why);
	c->on = true;
	ec_all[slot] = c;
	ec_order(c, 0);
}

/*
 * A handle on the cluster (every endpoint, in c's order); resp_max 0: common/etcd.c's
 * default.
 */
static inline struct etcd *
ec_handle(const struct ec *c, unsigned timeout_ms, size_t resp_max)
{
	struct etcd_conf conf = { .endpoints = c->endpoints, .n_endpoints = EC_MEMBERS,
	    .timeout_ms = timeout_ms, .resp_max = resp_max };
	char why[ETCD_ERROR_MAX];
	struct etcd *e;

	if (etcd_open(&e, &conf, why) < 0)
		fatalx("%s: etcd: %s", the_cluster.bench, why);
	return e;
}

/* The member that leads now (asked of each member in turn, up to 10 s), or exit. */
static inline int
ec_leader(const struct ec *c)
{
	for (int tries = 0; tries < 100; tries++) {
		for (int i = 0; i < EC_MEMBERS; i++) {
			const char *ep[1] = { c->run.endpoint[i] };
			struct etcd_conf conf = { .endpoints = ep, .n_endpoints = 1,
			    .timeout_ms = 1000 };
			struct etcd_status st;
			struct etcd *e;
			int rc = -1;

			if (c->run.pid[i] <= 0 || etcd_open(&e, &conf, NULL) < 0)
				continue;
			rc = etcd_status(e, &st);
			etcd_close(e);
			if (rc == 0 && st.leader != 0 && st.leader == st.member_id)
				return i;
		}
		usleep(100000);
	}
	fatalx("%s: no etcd member says it leads", the_cluster.bench);
}

/*
 * Start a controller named name (node cluster_node(name)) on cluster c: its data in
 * DIR/<name>-data, its API on DIR/<name>.sock, streams on a port of the kernel's
 * choice, plaintext, every other setting its default. Its stream port, once it listens.
 */
static inline int
ec_controller(const struct ec *c, const char *name, pid_t *pid)
{
	const char *d = cluster_dir();
	char conf[2048];

	snprintf(conf, sizeof(conf), "node = \"%s\";\ncontroller = {\n data_dir = \"%s/%s-data\";\n"
	    " api_socket = \"%s/%s.sock\";\n listen = \"127.0.0.1:0\";\n tls = false;\n"
	    " store = \"etcd\";\n etcd = {\n  endpoints = [%s];\n  max_txn_ops = %d;\n"
	    "  max_request_bytes = %d;\n };\n};\n", cluster_node(name), d, name, d, name,
	    c->conf_list, EC_MAX_TXN_OPS, EC_MAX_REQUEST_BYTES);
	*pid = cluster_start("vpcfwd-controller", conf, name);
	return cluster_log_port(name, "streams on port ");
}

/* Connect a to controller name's API (DIR/<name>.sock), waiting for it to listen. */
static inline void
ec_api_connect(struct apiclient *a, const char *name, unsigned timeout_ms)
{
	char sock[256];

	snprintf(sock, sizeof(sock), "%s/%s.sock", cluster_dir(), name);
	for (int i = 0; apiclient_connect(a, sock, timeout_ms) < 0; i++) {
		if (i == CLUSTER_WAIT_TRIES)
			fatalx("%s: cannot reach controller %s at %s", the_cluster.bench, name,
			    sock);
		usleep(10000);
	}
}

/*
 * ns of CPU pid has run, all its threads: the sum of /proc/PID/task/<tid>/schedstat
 * (exact, where /proc/PID/stat counts in clock ticks, too coarse for one change; a
 * thread that exited is not counted, which etcd's Go runtime and our processes do not
 * do while measured). 0 when pid is gone.
 */
static inline uint64_t
ec_cpu_ns(pid_t pid)
{
	char path[64];
	struct dirent *t;
	uint64_t ns = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	if ((d = opendir(path)) == NULL)
		return 0;
	while ((t = readdir(d)) != NULL) {
		char sp[320];
		unsigned long long v;
		FILE *f;

		if (t->d_name[0] == '.')
			continue;
		snprintf(sp, sizeof(sp), "/proc/%d/task/%s/schedstat", (int)pid, t->d_name);
		if ((f = fopen(sp, "r")) == NULL)
			continue;
		if (fscanf(f, "%llu", &v) == 1)
			ns += v;
		fclose(f);
	}
	closedir(d);
	return ns;
}

/* CPU of every live member of c, summed. */
static inline uint64_t
ec_members_cpu_ns(const struct ec *c)
{
	uint64_t ns = 0;

	for (int i = 0; i < EC_MEMBERS; i++)
		if (c->run.pid[i] > 0)
			ns += ec_cpu_ns(c->run.pid[i]);
	return ns;
}

/*
 * The first time a member of c other than dead says in its log that it sees a leader
 * elected after wall-clock time after (seconds since the epoch): seconds since the
 * epoch, or 0 when none did. etcd's zap lines carry "ts" to the millisecond and raft's
 * "elected leader" message.
 */
static inline double
ec_elected(const struct ec *c, int dead, double after)
{
	double first = 0;

	for (int i = 0; i < EC_MEMBERS; i++) {
		char path[128], line[4096];
		FILE *f;

		if (i == dead)
			continue;
		snprintf(path, sizeof(path), "%s/m%d.log", c->run.dir, i);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		while (fgets(line, sizeof(line), f) != NULL) {
			struct tm tm = { 0 };
			char *ts = strstr(line, "\"ts\":\""), *end;
			double frac, t;

			if (ts == NULL || strstr(line, "elected leader") == NULL)
				continue;
			end = strptime(ts + 6, "%Y-%m-%dT%H:%M:%S", &tm);
			if (end == NULL)
				continue;
			frac = *end == '.' ? strtod(end, NULL) : 0;
			/* Then "Z", or an offset from UTC (zap's ISO 8601 in local time). */
			t = (double)timegm(&tm) + frac;
			end += strspn(end, ".0123456789");
			if (*end == '+' || *end == '-') {
				int h = 0, m = 0;

				/* "+hh:mm" or "+hhmm" */
				if (sscanf(end + 1, "%2d:%2d", &h, &m) < 2)
					sscanf(end + 1, "%2d%2d", &h, &m);
				t -= (*end == '+' ? 1 : -1) * (h * 3600 + m * 60);
			}
			if (t > after && (first == 0 || t < first))
				first = t;
		}
		fclose(f);
	}
	return first;
}

static inline double
ec_wall(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

#endif
