/*
 * bench/storm: a learn storm (issue 12, item 4; DESIGN.md §3.1-6). VMs on real hosts send
 * the first packet of a flow to each of -n distinct destinations (100,000) within a few
 * seconds; every one must reach its destination's host, the learners must end holding
 * every rule, and the flows must then go direct.
 *
 * What runs (bench/netns.h: namespaces without names, gone with the run): an underlay
 * bridge, 192.168.79.0/24, and on it, each in its namespace, as real processes of this
 * build: a controller (.2; streams in plaintext, as every benchmark runs them), two
 * gateways (.11, .12: rule-store, syncd, gateway forwarder) and two hosts (.21, .22:
 * learner, vswitch forwarder), sync and learn datagrams authenticated (the default).
 * One VM on each host, a namespace on its TAP, routing VPC 10.0.0.0/8 through the VPC's
 * virtual router (which the vswitch answers ARP for). Simulated: the destinations' -H
 * hosts (1,000), registered at the controller with VTEPs 172.21.0.0/16 that are local
 * addresses of one more namespace (.50; the others route there), where
 * tests/stress/storm_peer counts the VXLAN frames each destination gets, by its inner
 * address, via a gateway or direct, and checks the VTEP each went to. Destination i is
 * VM 10.1.0.0 + i on simulated host i % H, imported with `vpcfwdctl import`; VM 1 sends
 * to the even ones, VM 2 to the odd ones, each a UDP datagram at -r/2 a second.
 *
 * Measured, in one run:
 *  storm	the storm: the first packets lost (destinations whose host counted no
 *		frame of it: storm_first_packets_lost, goal 0, against the first packets
 *		sent); the time from the first first packet until the learners' caches
 *		hold every destination's rule (polled each ms), from when on every flow
 *		goes direct (storm_all_direct_s, against the storm's own length, first to
 *		last packet sent); LEARNs a second, the rules installed over that time
 *		(storm_learns_per_s, against the first packets sent a second); the
 *		gateways' CPU (forwarder and syncd of both, sum of their threads'
 *		run time, /proc/PID/task/N/schedstat) over the storm per LEARN sent
 *		(storm_gateway_cpu_us_per_learn).
 *  baseline	the gateways' forwarders' CPU per frame they relay without the learn
 *		bit: the same inner frames to the same destinations at the same rate, as
 *		VXLAN from host 1's VTEP to the gateway each destination hashes to (what
 *		a host sends before it has a rule, minus the learn bit), once before the
 *		storm and once after; the two together.
 *  direct	one more datagram from each VM to each of its destinations: each must be
 *		counted at its host as direct, the hosts must send none via a gateway.
 * Every rule the learners hold is checked against the destination's VTEP. A property
 * that does not hold fails the run (exit 1) once the figures are printed, with the
 * counters that moved in the storm (where the frames went); the rows are written either
 * way (a loss is a figure too), each with a "note" saying what failed.
 *
 * Writes its rows into bench/results/scale.json, keeping the rows other runs wrote
 * (bench_write_merged); with -n other than 100000 the names end in _<n/1000>k.
 *
 *	storm [-n DESTINATIONS] [-H HOSTS] [-r RATE]
 */
#include "bench/netns.h"
#include "common/addr.h"
#include "common/apiclient.h"
#include "common/clock.h"
#include "common/log.h"
#include "shm/stats.h"
#include "shm/table.h"

#include <getopt.h>
#include <sys/wait.h>

#define VNI		100
#define UL		"192.168.79."
#define CTL_PORT	7400
#define SIM_NET		"172.21.0.0/16"
#define VTEP0		0xac150001u	/* 172.21.0.1: simulated host 0 */
#define DST0		0x0a010000u	/* 10.1.0.0: destination 0 */
#define NGW		2
#define NHOST		2
#define LEARN_QUIET_S	5		/* after the storm: no rule more for this long, give up */
#define COUNT_WAIT_S	10		/* from a pass's end until its frames are counted */

enum { GW_RULE_STORE, GW_SYNCD, GW_FWD };	/* a gateway's processes, in pid[], st[] */
enum { H_LEARNER, H_FWD };			/* a host's */

struct node {
	struct ns ns;
	const char *name;		/* the run's node (cluster_node) */
	char ip[20];
	pid_t pid[3];			/* GW_* or H_* */
	struct stats st[3];
	struct table *t;		/* the rule-store's table, or the learner's cache */
};

static struct {
	uint32_t n, hosts, rate;
	struct ns ul, ctl, sim, vm[NHOST];
	struct node gw[NGW], host[NHOST];
	struct stats ctl_st;
	char map[300];
	const char *suffix;
	char note[256];		/* a failed run's rows say what failed */
} S;

struct gen_out {
	uint64_t sent, t0, t1;
};

struct report {
	uint64_t gw_frames, direct_frames, wrong_vtep, learn_bit, bad, sock_drops;
	uint64_t gw_hist[5], direct_hist[5];
};

/* Run time of every thread of pid, ns (0 when it is gone): finer than clock ticks. */
static uint64_t
task_cpu_ns(pid_t pid)
{
	char path[64];
	struct dirent *e;
	uint64_t sum = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	if ((d = opendir(path)) == NULL)
		return 0;
	while ((e = readdir(d)) != NULL) {
		char f[400];
		unsigned long long run;
		FILE *fp;

		if (e->d_name[0] == '.')
			continue;
		snprintf(f, sizeof(f), "%s/%s/schedstat", path, e->d_name);
		if ((fp = fopen(f, "r")) == NULL)
			continue;
		if (fscanf(fp, "%llu", &run) == 1)
			sum += run;
		fclose(fp);
	}
	closedir(d);
	return sum;
}

/* Run time of both gateways' process proc (GW_*), ns. */
static uint64_t
gw_cpu_ns(int proc)
{
	uint64_t sum = 0;

	for (int g = 0; g < NGW; g++)
		sum += task_cpu_ns(S.gw[g].pid[proc]);
	return sum;
}

static uint64_t
stat_sum(struct node *nodes, int count, int proc, const char *name)
{
	uint64_t sum = 0;

	for (int i = 0; i < count; i++)
		sum += cluster_stat(&nodes[i].st[proc], name);
	return sum;
}

/* Every counter of the cluster's gateways and hosts, in the order where() prints them. */
#define SNAP_MAX	1024

struct snap {
	uint64_t v[SNAP_MAX];
};

static void
snap_take(struct snap *sn)
{
	uint32_t k = 0;

	for (int g = 0; g < NGW; g++)
		for (int p = GW_SYNCD; p <= GW_FWD; p++)
			for (uint32_t i = 0; i < S.gw[g].st[p].hdr->count && k < SNAP_MAX; i++)
				sn->v[k++] = stats_value(&S.gw[g].st[p], i);
	for (int h = 0; h < NHOST; h++)
		for (int p = H_LEARNER; p <= H_FWD; p++)
			for (uint32_t i = 0; i < S.host[h].st[p].hdr->count && k < SNAP_MAX; i++)
				sn->v[k++] = stats_value(&S.host[h].st[p], i);
}

/* What moved from a to b on the data and learn paths, a node a line: where frames went. */
static void
where(const char *what, const struct snap *a, const struct snap *b)
{
	static const char *pre[] = { "rx_", "tx_", "drop_", "learn", "req_", "auth_", "sync_" };
	uint32_t k = 0;

	printf("storm: %s, counters that moved:\n", what);
	for (int x = 0; x < NGW + NHOST; x++) {
		struct node *nd = x < NGW ? &S.gw[x] : &S.host[x - NGW];

		printf("  %s%d:", x < NGW ? "gw" : "h", x < NGW ? x + 1 : x - NGW + 1);
		for (int p = x < NGW ? GW_SYNCD : H_LEARNER; p <= (x < NGW ? GW_FWD : H_FWD);
		    p++)
			for (uint32_t i = 0; i < nd->st[p].hdr->count && k < SNAP_MAX; i++, k++) {
				bool show = false;

				for (size_t j = 0; j < sizeof(pre) / sizeof(pre[0]); j++)
					show |= strncmp(nd->st[p].desc[i].name, pre[j],
					    strlen(pre[j])) == 0;
				if (show && b->v[k] != a->v[k])
					printf(" %s.%s +%llu", x < NGW ? (p == GW_SYNCD ? "syncd" :
					    "fwd") : (p == H_LEARNER ? "learner" : "fwd"),
					    nd->st[p].desc[i].name,
					    (unsigned long long)(b->v[k] - a->v[k]));
			}
		printf("\n");
	}
	fflush(stdout);
	for (int h = 0; h < NHOST; h++) {
		char cmd[600];

		snprintf(cmd, sizeof(cmd), "nsenter --net=%s ip -s -o link show dev %s | "
		    "sed 's/^/  /'", S.vm[h].path, S.vm[h].name);
		if (system(cmd) != 0)
			printf("  (no link counters of %s)\n", S.vm[h].name);
	}
}

/* $BUILD/tests/storm_peer. */
static const char *
peer_bin(void)
{
	static char path[512];
	const char *b = getenv("BUILD");

	snprintf(path, sizeof(path), "%s/tests/storm_peer", b ? b : "build");
	return path;
}

/* Start storm_peer ARGS in n, its output to DIR/<out>; the pid. */
static pid_t
peer_start(const struct ns *n, const char *out, char *const args[])
{
	char path[300];
	pid_t pid;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", cluster_dir(), out);
	if ((pid = ns_fork(n)) == 0) {
		if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644)) < 0 ||
		    dup2(fd, 1) < 0)
			_exit(1);
		execv(peer_bin(), args);
		fprintf(stderr, "storm: cannot start %s: %s\n", peer_bin(), strerror(errno));
		_exit(127);
	}
	return pid;
}

/* A generator's end: what it sent, when. */
static struct gen_out
gen_wait(pid_t pid, const char *out)
{
	char path[300];
	struct gen_out g;
	json_t *j;
	int st;

	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fatalx("storm: a generator failed (see %s/%s)", cluster_dir(), out);
	snprintf(path, sizeof(path), "%s/%s", cluster_dir(), out);
	if ((j = json_load_file(path, 0, NULL)) == NULL)
		fatalx("storm: %s: no generator's report", path);
	g.sent = json_integer_value(json_object_get(j, "sent"));
	g.t0 = json_integer_value(json_object_get(j, "t0_ns"));
	g.t1 = json_integer_value(json_object_get(j, "t1_ns"));
	json_decref(j);
	return g;
}

struct gens {
	pid_t pid[NHOST];
	char out[NHOST][64];
	int n;
};

/* Each VM sends one datagram to each of its destinations (VM k: DST0 + k, + 2, ...). */
static void
gen_vms_start(struct gens *gs, const char *tag)
{
	char n[16], dst[ADDR_IP4_STRLEN], first[NHOST][16], r[16];

	addr_ip4_format(DST0, dst);
	snprintf(n, sizeof(n), "%u", S.n);
	snprintf(r, sizeof(r), "%u", S.rate / NHOST);
	gs->n = NHOST;
	for (int k = 0; k < NHOST; k++) {
		char *args[] = { "storm_peer", "gen", "-n", n, "-d", dst, "-o", first[k], "-s",
		    "2", "-r", r, NULL };

		snprintf(first[k], sizeof(first[k]), "%d", k);
		snprintf(gs->out[k], sizeof(gs->out[k]), "gen-%s-vm%d.json", tag, k + 1);
		gs->pid[k] = peer_start(&S.vm[k], gs->out[k], args);
	}
}

/* Whether every generator of gs has exited (without reaping them). */
static bool
gen_vms_done(const struct gens *gs)
{
	for (int k = 0; k < gs->n; k++) {
		siginfo_t si = { 0 };

		if (waitid(P_PID, (id_t)gs->pid[k], &si, WEXITED | WNOHANG | WNOWAIT) < 0 ||
		    si.si_pid == 0)
			return false;
	}
	return true;
}

/* Both done: the first send and the last of both, and what they sent. */
static struct gen_out
gen_vms_wait(struct gens *gs)
{
	struct gen_out all = { 0 };

	for (int k = 0; k < gs->n; k++) {
		struct gen_out g = gen_wait(gs->pid[k], gs->out[k]);

		all.sent += g.sent;
		if (all.t0 == 0 || g.t0 < all.t0)
			all.t0 = g.t0;
		if (g.t1 > all.t1)
			all.t1 = g.t1;
	}
	return all;
}

/* The gateways' load without learning: VXLAN frames from host 1's VTEP, learn bit clear. */
static struct gen_out
gen_relay(const char *tag)
{
	char ns_[16], dst[ADDR_IP4_STRLEN], r[16], gws[64], vni[16], out[64];
	char *args[] = { "storm_peer", "gen", "-n", ns_, "-d", dst, "-r", r, "-x", gws, "-S",
	    S.host[0].ip, "-v", vni, NULL };

	addr_ip4_format(DST0, dst);
	snprintf(ns_, sizeof(ns_), "%u", S.n);
	snprintf(r, sizeof(r), "%u", S.rate);
	snprintf(gws, sizeof(gws), "%s,%s", S.gw[0].ip, S.gw[1].ip);
	snprintf(vni, sizeof(vni), "%d", VNI);
	snprintf(out, sizeof(out), "gen-%s.json", tag);
	return gen_wait(peer_start(&S.host[0].ns, out, args), out);
}

static struct report
report(void)
{
	char cmd[1024];
	struct report r = { 0 };
	json_t *j, *v;
	size_t i;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "%s report -m %s", peer_bin(), S.map);
	if ((p = popen(cmd, "r")) == NULL || (j = json_loadf(p, 0, NULL)) == NULL)
		fatalx("storm: %s: no report", cmd);
	pclose(p);
#define F(x) r.x = json_integer_value(json_object_get(j, #x))
	F(gw_frames);
	F(direct_frames);
	F(wrong_vtep);
	F(learn_bit);
	F(bad);
	F(sock_drops);
#undef F
	json_array_foreach(json_object_get(j, "gw_hist"), i, v)
		r.gw_hist[i] = json_integer_value(v);
	json_array_foreach(json_object_get(j, "direct_hist"), i, v)
		r.direct_hist[i] = json_integer_value(v);
	json_decref(j);
	return r;
}

/* Until the receiver counted `want` frames via a gateway (or direct), or COUNT_WAIT_S. */
static struct report
report_wait(uint64_t want, bool direct)
{
	struct report r;

	for (int i = 0; i < COUNT_WAIT_S * 20; i++) {
		r = report();
		if ((direct ? r.direct_frames : r.gw_frames) >= want)
			break;
		usleep(50000);
	}
	return r;
}

/* Rules of the learner caches (the warm-up's included). */
static uint64_t
learned(void)
{
	uint64_t sum = 0;

	for (int h = 0; h < NHOST; h++)
		sum += table_count(S.host[h].t);
	return sum;
}

/* ---- set-up --------------------------------------------------------------------------- */

static void
node_ns(struct node *nd, const char *name, int octet)
{
	nd->name = cluster_node(name);
	snprintf(nd->ip, sizeof(nd->ip), UL "%d", octet);
	ns_new(&nd->ns, name);
	ns_sh(&S.ul, "ip link add %s type veth peer name eth0 netns %s; "
	    "ip link set %s master br0 up", name, nd->ns.path, name);
	ns_sh(&nd->ns, "ip addr add %s/24 dev eth0; ip link set eth0 up", nd->ip);
}

static void
start_gateway(int g, const char *secret, uint64_t cap)
{
	struct node *nd = &S.gw[g];
	static const char *procs[3] = { "rule-store", "syncd", "forwarder" };
	char conf[2048], name[32];

	snprintf(conf, sizeof(conf), "node = \"%s\";\n"
	    "rule_store = {\n tls = false;\n controllers = [\"" UL "2:%d\"];\n"
	    " table_capacity = %llu;\n table_max_vnis = 16;\n};\n"
	    "syncd = {\n listen = \"%s:4806\";\n learner_port = 4807;\n"
	    " allow = [\"" UL "0/24\"];\n auth_secret = \"%s\";\n};\n"
	    "forwarder = {\n mode = \"gateway\";\n listen = \"%s:4789\";\n};\n",
	    nd->name, CTL_PORT, (unsigned long long)cap, nd->ip, secret, nd->ip);
	for (int p = 0; p < 3; p++) {
		snprintf(name, sizeof(name), "gw%d-%s", g + 1, procs[p]);
		nd->pid[p] = ns_exec(&nd->ns, p == 0 ? "vpcfwd-rule-store" : p == 1 ?
		    "vpcfwd-syncd" : "vpcfwd-forwarder", conf, name);
		cluster_stats_wait(&nd->st[p], nd->name, procs[p]);
	}
}

static void
start_host(int h, const struct auth_key *secret, uint64_t cap)
{
	struct node *nd = &S.host[h];
	char conf[2048], name[32], hname[8];

	snprintf(hname, sizeof(hname), "h%d", h + 1);
	snprintf(conf, sizeof(conf), "node = \"%s\";\n"
	    "learner = {\n tls = false;\n host = \"%s\";\n auth_key = \"%s\";\n"
	    " listen = \"%s:4807\";\n gateways = [\"%s:4806\", \"%s:4806\"];\n"
	    " controllers = [\"" UL "2:%d\"];\n table_capacity = %llu;\n"
	    " cache_max_rules = %llu;\n table_max_vnis = 16;\n};\n"
	    "forwarder = {\n mode = \"vswitch\";\n listen = \"%s:4789\";\n"
	    " netns_dir = \"%s/ns\";\n};\n", nd->name, hname, cluster_auth_host(secret, hname),
	    nd->ip, S.gw[0].ip, S.gw[1].ip, CTL_PORT, (unsigned long long)cap,
	    (unsigned long long)cap, nd->ip, cluster_dir());
	snprintf(name, sizeof(name), "h%d-learner", h + 1);
	nd->pid[H_LEARNER] = ns_exec(&nd->ns, "vpcfwd-learner", conf, name);
	cluster_stats_wait(&nd->st[H_LEARNER], nd->name, "learner");
	snprintf(name, sizeof(name), "h%d-forwarder", h + 1);
	nd->pid[H_FWD] = ns_exec(&nd->ns, "vpcfwd-forwarder", conf, name);
	cluster_stats_wait(&nd->st[H_FWD], nd->name, "forwarder");
}

/* The VPC, the hosts (real and simulated) and every VM, the user's way. */
static void
populate(void)
{
	char csv[300], log[300], ip[ADDR_IP4_STRLEN], *args[6];
	struct apiclient c;
	uint64_t t0;
	pid_t pid;
	FILE *f;
	int st;

	cluster_api_connect(&c);
	json_decref(cluster_call(&c, json_pack("{s:s, s:s, s:i, s:[s]}", "op", "vpc.create",
	    "name", "storm", "vni", VNI, "cidrs", "10.0.0.0/8")));
	for (int h = 0; h < NHOST; h++) {
		char name[8];

		snprintf(name, sizeof(name), "h%d", h + 1);
		json_decref(cluster_call(&c, json_pack("{s:s, s:s, s:s}", "op", "host.create",
		    "name", name, "vtep", S.host[h].ip)));
	}
	t0 = clock_mono_ns();
	for (uint32_t k = 0; k < S.hosts; k++) {
		char name[16];

		snprintf(name, sizeof(name), "s%05u", k);
		json_decref(cluster_call(&c, json_pack("{s:s, s:s, s:s}", "op", "host.create",
		    "name", name, "vtep", addr_ip4_format(VTEP0 + k, ip))));
	}
	apiclient_close(&c);
	printf("storm: %u simulated hosts registered in %.1f s\n", S.hosts,
	    (clock_mono_ns() - t0) / 1e9);
	snprintf(csv, sizeof(csv), "%s/vms.csv", cluster_dir());
	if ((f = fopen(csv, "w")) == NULL)
		fatal("storm: %s", csv);
	fprintf(f, "name,vpc,ip,host,tap\n");
	for (int h = 0; h < NHOST; h++)
		fprintf(f, "v%d,storm,10.0.0.%d,h%d,%s\n", h + 1, h + 1, h + 1, S.vm[h].name);
	/* One warm-up destination a VM, outside the storm's. */
	for (int h = 0; h < NHOST; h++)
		fprintf(f, "w%d,storm,10.0.1.%d,s%05d,\n", h + 1, h + 1, h % (int)S.hosts);
	for (uint32_t i = 0; i < S.n; i++)
		fprintf(f, "d%u,storm,%s,s%05u,\n", i, addr_ip4_format(DST0 + i, ip),
		    i % S.hosts);
	if (fclose(f) != 0)
		fatal("storm: %s", csv);
	snprintf(log, sizeof(log), "%s/vpcfwdctl.log", cluster_dir());
	args[0] = (char *)bench_bin("vpcfwdctl");
	args[1] = "-s";
	args[2] = the_cluster.api_sock;
	args[3] = "import";
	args[4] = csv;
	args[5] = NULL;
	t0 = clock_mono_ns();
	pid = bench_spawn(args, log);
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fatalx("storm: vpcfwdctl import failed (see %s)", log);
	printf("storm: %u VMs imported in %.1f s\n", S.n + 2 * NHOST,
	    (clock_mono_ns() - t0) / 1e9);
}

/* Wait for gauge name of st to reach want (10 s). */
static void
gauge_wait(const struct stats *st, const char *name, uint64_t want, const char *what)
{
	for (int i = 0; cluster_stat(st, name) < want; i++) {
		if (i == 1000)
			fatalx("storm: %s: %s stayed below %llu", what, name,
			    (unsigned long long)want);
		usleep(10000);
	}
}

/* Until each host's learner holds its warm-up destination: the whole path is up. */
static void
warm_up(void)
{
	for (int h = 0; h < NHOST; h++) {
		uint32_t ip = 0x0a000100u + (uint32_t)h + 1;	/* 10.0.1.h+1 */
		struct table_rule r;
		int tries = 0;

		while (!table_get(S.host[h].t, VNI, ip, &r)) {
			char dst[ADDR_IP4_STRLEN], out[32];
			char *args[] = { "storm_peer", "gen", "-n", "1", "-d", dst, NULL };

			if (++tries == 75)
				fatalx("storm: host %d never learned its warm-up destination",
				    h + 1);
			addr_ip4_format(ip, dst);
			snprintf(out, sizeof(out), "gen-warm-vm%d.json", h + 1);
			gen_wait(peer_start(&S.vm[h], out, args), out);
			for (int i = 0; i < 200 && !table_get(S.host[h].t, VNI, ip, &r); i++)
				usleep(1000);
		}
	}
}

static void
setup(void)
{
	struct auth_key secret;
	const char *secret_path;
	char ctl_conf[1024], dst[ADDR_IP4_STRLEN], n[16], hosts[16], vtep[ADDR_IP4_STRLEN];
	char gws[64], vni[16];
	uint64_t cap = S.n + S.n / 4 + 1000;
	struct node ctl_node;

	ns_new(&S.ul, "ul");
	ns_sh(&S.ul, "ip link add br0 type bridge; ip link set br0 up");
	node_ns(&ctl_node, "ctl", 2);
	S.ctl = ctl_node.ns;
	node_ns(&S.gw[0], "gw1", 11);
	node_ns(&S.gw[1], "gw2", 12);
	node_ns(&S.host[0], "h1", 21);
	node_ns(&S.host[1], "h2", 22);
	{
		struct node sim;

		node_ns(&sim, "sim", 50);
		S.sim = sim.ns;
	}
	ns_sh(&S.sim, "ip route add local " SIM_NET " dev lo");
	for (int g = 0; g < NGW; g++)
		ns_sh(&S.gw[g].ns, "ip route add " SIM_NET " via " UL "50");
	for (int h = 0; h < NHOST; h++) {
		char name[16];

		ns_sh(&S.host[h].ns, "ip route add " SIM_NET " via " UL "50");
		snprintf(name, sizeof(name), "stv%d", h + 1);	/* the TAP's name too */
		ns_new(&S.vm[h], name);
	}

	snprintf(ctl_conf, sizeof(ctl_conf), "node = \"%s\";\ncontroller = {\n"
	    " data_dir = \"%s/data\";\n api_socket = \"%s\";\n listen = \"" UL "2:%d\";\n"
	    " tls = false;\n};\n", ctl_node.name, cluster_dir(), the_cluster.api_sock,
	    CTL_PORT);
	ns_exec(&S.ctl, "vpcfwd-controller", ctl_conf, "controller");
	cluster_stats_wait(&S.ctl_st, ctl_node.name, "controller");
	secret_path = cluster_auth_secret(&secret);
	for (int g = 0; g < NGW; g++)
		start_gateway(g, secret_path, cap);
	populate();
	for (int g = 0; g < NGW; g++) {
		S.gw[g].t = cluster_table_wait(S.gw[g].name, "rule-store");
		for (int i = 0; table_applied_seq(S.gw[g].t) < cluster_stat(&S.ctl_st,
		    "log_seq"); i++) {
			if (i == 6000)
				fatalx("storm: gateway %d did not catch up in 60 s", g + 1);
			usleep(10000);
		}
	}
	for (int h = 0; h < NHOST; h++)
		start_host(h, &secret, cap);
	for (int h = 0; h < NHOST; h++) {
		S.host[h].t = cluster_table_wait(S.host[h].name, "learner");
		gauge_wait(&S.host[h].st[H_LEARNER], "vteps_loaded", 1, "a learner");
		gauge_wait(&S.host[h].st[H_FWD], "ports", 1, "a host forwarder");
		ns_sh(&S.vm[h], "for i in $(seq 200); do ip link show %s >/dev/null 2>&1 && break; "
		    "sleep 0.05; done; ip addr add 10.0.0.%d/24 dev %s; ip link set %s up; "
		    "ip route add 10.0.0.0/8 via 10.0.0.254", S.vm[h].name, h + 1, S.vm[h].name,
		    S.vm[h].name);
	}
	for (int g = 0; g < NGW; g++)
		gauge_wait(&S.gw[g].st[GW_FWD], "vteps_loaded", 1, "a gateway forwarder");

	snprintf(S.map, sizeof(S.map), "%s/storm.map", cluster_dir());
	addr_ip4_format(DST0, dst);
	snprintf(n, sizeof(n), "%u", S.n);
	snprintf(hosts, sizeof(hosts), "%u", S.hosts);
	addr_ip4_format(VTEP0, vtep);
	snprintf(gws, sizeof(gws), "%s,%s", S.gw[0].ip, S.gw[1].ip);
	snprintf(vni, sizeof(vni), "%d", VNI);
	{
		char *args[] = { "storm_peer", "recv", "-m", S.map, "-n", n, "-d", dst, "-H",
		    hosts, "-V", vtep, "-v", vni, "-g", gws, NULL };

		peer_start(&S.sim, "recv.out", args);
	}
	for (int i = 0; access(S.map, R_OK) != 0; i++) {
		if (i == 500)
			fatalx("storm: the receiver did not start");
		usleep(10000);
	}
	warm_up();
}

/* ---- measuring ------------------------------------------------------------------------ */

struct relay {
	uint64_t frames, cpu_ns;
};

/* One baseline pass: the gateways relay every destination's frame, learn bit clear. */
static struct relay
relay_pass(const char *tag, uint64_t want_total)
{
	uint64_t c0, c1, r0, r1;
	struct report rep;
	struct gen_out g;

	r0 = stat_sum(S.gw, NGW, GW_FWD, "tx_relayed");
	c0 = gw_cpu_ns(GW_FWD);
	g = gen_relay(tag);
	rep = report_wait(want_total, false);
	c1 = gw_cpu_ns(GW_FWD);
	r1 = stat_sum(S.gw, NGW, GW_FWD, "tx_relayed");
	printf("storm: baseline %s: %llu frames sent in %.2f s, %llu relayed, receiver at "
	    "%llu\n", tag, (unsigned long long)g.sent, (g.t1 - g.t0) / 1e9,
	    (unsigned long long)(r1 - r0), (unsigned long long)rep.gw_frames);
	return (struct relay){ r1 - r0, c1 - c0 };
}

static void
row(json_t *res, const char *name, double v, const char *unit, const char *baseline,
    double bv, const char *parts)
{
	char full[96];

	snprintf(full, sizeof(full), "%s%s", name, S.suffix);
	bench_add(res, full, v, unit, baseline, bv);
	json_object_set_new(json_array_get(res, json_array_size(res) - 1), "parts",
	    json_string(parts));
	if (S.note[0])
		json_object_set_new(json_array_get(res, json_array_size(res) - 1), "note",
		    json_string(S.note));
	printf("%-38s %12.3f %-8s baseline %12.3f (%s)\n", full, v, unit, bv, baseline);
}

static void
usage(void)
{
	fatalx("usage: storm [-n DESTINATIONS] [-H HOSTS] [-r RATE]");
}

int
main(int argc, char **argv)
{
	uint64_t learns0, learns1, inst0, inst1, c0, c1, s0, s1, t_last, lc0, lc1;
	uint64_t tx_gw0[NHOST], tx_dir0[NHOST], gw_rx0, lost, bad_rules = 0;
	struct relay b1, b2;
	static struct snap sn0, sn1;
	struct gen_out storm, direct;
	struct report rep, drep;
	char suffix[16] = "", parts[512];
	bool ok = true;
	json_t *res;
	int ch;

	S.n = 100000;
	S.hosts = 1000;
	S.rate = 20000;
	log_init("bench-storm", LOG_LVL_INFO);
	while ((ch = getopt(argc, argv, "n:H:r:")) != -1) {
		if (ch == 'n')
			S.n = (uint32_t)strtoul(optarg, NULL, 10);
		else if (ch == 'H')
			S.hosts = (uint32_t)strtoul(optarg, NULL, 10);
		else if (ch == 'r')
			S.rate = (uint32_t)strtoul(optarg, NULL, 10);
		else
			usage();
	}
	if (S.n < NHOST || S.n > 4000000 || S.hosts == 0 || S.hosts > 65000 || S.rate < NHOST)
		usage();
	if (geteuid() != 0)
		fatalx("storm: needs root (network namespaces, TAPs)");
	if (access(peer_bin(), X_OK) != 0)
		fatalx("storm: %s not built (make)", peer_bin());
	if (S.n != 100000)
		snprintf(suffix, sizeof(suffix), "_%uk", S.n / 1000);
	S.suffix = suffix;
	snprintf(parts, sizeof(parts), "real: a controller, 2 gateways (rule-store, syncd, "
	    "forwarder), 2 hosts (learner, forwarder), 2 VMs (namespaces on TAPs); simulated: "
	    "%u destination hosts (one receiver counting their frames), %u destination VMs",
	    S.hosts, S.n);

	cluster_init("storm");
	ns_sweep_stale();
	printf("storm: %u destinations on %u simulated hosts, first packets at %u/s from 2 "
	    "VMs on 2 real hosts, 2 real gateways\n", S.n, S.hosts, S.rate);
	setup();

	/* Baseline, before. */
	b1 = relay_pass("relay-before", S.n);

	/* The storm. */
	learns0 = stat_sum(S.gw, NGW, GW_SYNCD, "learn_tx");
	inst0 = learned();
	snap_take(&sn0);
	c0 = gw_cpu_ns(GW_SYNCD);
	s0 = gw_cpu_ns(GW_FWD);
	lc0 = task_cpu_ns(S.host[0].pid[H_LEARNER]) + task_cpu_ns(S.host[1].pid[H_LEARNER]);
	{
		struct gens gs;
		uint64_t have = inst0, now;

		/*
		 * The VMs send; this process watches the caches meanwhile, every ms: t_last,
		 * when the last rule came in. Every flow goes direct from when the caches
		 * hold every rule (the forwarders read them at each frame).
		 */
		t_last = clock_mono_ns();
		gen_vms_start(&gs, "storm");
		while (have < inst0 + S.n) {
			uint64_t l = learned();

			now = clock_mono_ns();
			if (l > have) {
				have = l;
				t_last = now;
			} else if (now - t_last > LEARN_QUIET_S * 1000000000ull &&
			    gen_vms_done(&gs)) {
				break;
			}
			usleep(1000);
		}
		storm = gen_vms_wait(&gs);
	}
	c1 = gw_cpu_ns(GW_SYNCD);
	s1 = gw_cpu_ns(GW_FWD);
	lc1 = task_cpu_ns(S.host[0].pid[H_LEARNER]) + task_cpu_ns(S.host[1].pid[H_LEARNER]);
	learns1 = stat_sum(S.gw, NGW, GW_SYNCD, "learn_tx");
	inst1 = learned();
	rep = report_wait(2 * (uint64_t)S.n, false);
	snap_take(&sn1);
	lost = rep.gw_hist[0] + rep.gw_hist[1];
	printf("storm: %llu first packets sent in %.2f s; %llu LEARNs sent, %llu rules "
	    "installed; receiver: gw_hist %llu %llu %llu %llu %llu (2 = baseline + storm), "
	    "wrong VTEP %llu, learn bit %llu, socket drops %llu\n",
	    (unsigned long long)storm.sent, (storm.t1 - storm.t0) / 1e9,
	    (unsigned long long)(learns1 - learns0), (unsigned long long)(inst1 - inst0),
	    (unsigned long long)rep.gw_hist[0], (unsigned long long)rep.gw_hist[1],
	    (unsigned long long)rep.gw_hist[2], (unsigned long long)rep.gw_hist[3],
	    (unsigned long long)rep.gw_hist[4], (unsigned long long)rep.wrong_vtep,
	    (unsigned long long)rep.learn_bit, (unsigned long long)rep.sock_drops);
	if (lost) {
		printf("storm: FAIL: %llu first packets never reached their host\n",
		    (unsigned long long)lost);
		ok = false;
	}
	if (rep.wrong_vtep || rep.learn_bit || rep.bad) {
		printf("storm: FAIL: frames to a wrong VTEP, with the learn bit, or malformed\n");
		ok = false;
	}
	if (inst1 - inst0 < S.n) {
		printf("storm: FAIL: the learners hold %llu of %u rules; none more came in the "
		    "%d s after the last one\n", (unsigned long long)(inst1 - inst0), S.n,
		    LEARN_QUIET_S);
		ok = false;
	}

	/* Every rule, with the destination's VTEP, at the host whose VM sent to it. */
	for (uint32_t i = 0; i < S.n; i++) {
		struct table_rule r;

		if (!table_get(S.host[i % 2].t, VNI, DST0 + i, &r) || r.vtep != VTEP0 +
		    i % S.hosts)
			bad_rules++;
	}
	if (bad_rules) {
		printf("storm: FAIL: %llu destinations without their rule (or a wrong VTEP)\n",
		    (unsigned long long)bad_rules);
		ok = false;
	}
	if (!ok)
		where("the storm", &sn0, &sn1);

	/* Then direct. */
	gw_rx0 = stat_sum(S.gw, NGW, GW_FWD, "rx_vxlan");
	for (int h = 0; h < NHOST; h++) {
		tx_gw0[h] = cluster_stat(&S.host[h].st[H_FWD], "tx_gateway");
		tx_dir0[h] = cluster_stat(&S.host[h].st[H_FWD], "tx_direct");
	}
	{
		struct gens gs;

		gen_vms_start(&gs, "direct");
		direct = gen_vms_wait(&gs);
	}
	drep = report_wait(S.n, true);
	for (int h = 0; h < NHOST; h++) {
		uint64_t g = cluster_stat(&S.host[h].st[H_FWD], "tx_gateway") - tx_gw0[h];
		uint64_t d = cluster_stat(&S.host[h].st[H_FWD], "tx_direct") - tx_dir0[h];

		printf("storm: direct: host %d tx_direct +%llu, tx_gateway +%llu\n", h + 1,
		    (unsigned long long)d, (unsigned long long)g);
		if (g != 0 || d != S.n / 2 + (h == 0 ? S.n % 2 : 0))
			ok = false;
	}
	if (drep.direct_hist[1] != S.n || stat_sum(S.gw, NGW, GW_FWD, "rx_vxlan") != gw_rx0) {
		printf("storm: FAIL: then direct: %llu of %u destinations got one direct frame; "
		    "the gateways received %llu\n", (unsigned long long)drep.direct_hist[1],
		    S.n, (unsigned long long)(stat_sum(S.gw, NGW, GW_FWD, "rx_vxlan") - gw_rx0));
		ok = false;
	}
	printf("storm: then direct: %llu datagrams in %.2f s, %llu destinations got exactly "
	    "one direct frame\n", (unsigned long long)direct.sent,
	    (direct.t1 - direct.t0) / 1e9, (unsigned long long)drep.direct_hist[1]);

	/* Baseline, after. */
	b2 = relay_pass("relay-after", 3 * (uint64_t)S.n);

	{
		double learns = (double)(learns1 - learns0);
		double all_s = (t_last - storm.t0) / 1e9;

		if (!ok)
			snprintf(S.note, sizeof(S.note), "a failed run: %llu first packets lost, "
			    "%llu rules never learned (storm_all_direct_s: until the last one "
			    "learned)", (unsigned long long)lost,
			    (unsigned long long)(S.n - (inst1 - inst0)));
		double sent_s = (storm.t1 - storm.t0) / 1e9;
		double relay_us = (double)(b1.cpu_ns + b2.cpu_ns) / 1e3 / (double)(b1.frames +
		    b2.frames);
		char base[256];

		printf("storm: gateway CPU in the storm: syncd %.2f s, forwarder %.2f s; per "
		    "LEARN %.2f us + %.2f us; learners %.2f us per rule installed; baseline "
		    "relay %.2f us/frame (before %.2f, after %.2f)\n", (c1 - c0) / 1e9,
		    (s1 - s0) / 1e9, (c1 - c0) / 1e3 / learns, (s1 - s0) / 1e3 / learns,
		    (lc1 - lc0) / 1e3 / (double)(inst1 - inst0), relay_us,
		    b1.cpu_ns / 1e3 / (double)b1.frames, b2.cpu_ns / 1e3 / (double)b2.frames);
		res = bench_results();
		row(res, "storm_first_packets_lost", (double)lost, "packets", "first packets "
		    "sent", (double)storm.sent, parts);
		row(res, "storm_all_direct_s", all_s, "s", "the storm's length, first to last "
		    "first packet sent", sent_s, parts);
		row(res, "storm_learns_per_s", (double)(inst1 - inst0) / all_s, "rules/s",
		    "first packets sent a second", (double)storm.sent / sent_s, parts);
		snprintf(base, sizeof(base), "gateway forwarders' CPU per frame relayed without "
		    "the learn bit, same %u destinations at %u/s", S.n, S.rate);
		row(res, "storm_gateway_cpu_us_per_learn", (double)(c1 - c0 + s1 - s0) / 1e3 /
		    learns, "us", base, relay_us, parts);
	}
	for (int g = 0; g < NGW; g++) {
		table_close(S.gw[g].t);
		for (int p = 0; p < 3; p++)
			stats_close(&S.gw[g].st[p]);
	}
	for (int h = 0; h < NHOST; h++) {
		table_close(S.host[h].t);
		stats_close(&S.host[h].st[H_LEARNER]);
		stats_close(&S.host[h].st[H_FWD]);
	}
	stats_close(&S.ctl_st);
	cluster_end();
	if (bench_write_merged(res, "scale") < 0)
		return 1;
	if (!ok)
		fprintf(stderr, "storm: a property did not hold (above)\n");
	return ok ? 0 : 1;
}
