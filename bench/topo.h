/*
 * topo.h: the topology of the benchmarks with real hosts and VMs (bench/storm,
 * bench/evict), on netns.h. Header-only, like cluster.h: each benchmark is one program.
 *
 * An underlay bridge, 192.168.79.0/24, and on it, each in its namespace (netns.h: no
 * names, gone with the run), real processes of this build: a controller (.2; streams
 * in plaintext, as every benchmark runs them), T.ngw gateways (.11, .12: rule-store,
 * syncd and, unless the benchmark plays it, a gateway forwarder) and T.nhost hosts
 * (.21, .22: learner, vswitch forwarder), sync and learn datagrams authenticated (the
 * default). One VM on each host, a namespace on its TAP, routing VPC 10.0.0.0/8 through
 * the VPC's virtual router (which the vswitch answers ARP for). Simulated: destination
 * hosts, registered at the controller with VTEPs 172.21.0.0/16 (host k: VTEP0 + k) that
 * are local addresses of one more namespace (.50; the others route there), where
 * tests/stress/storm_peer recv counts the VXLAN frames each destination gets, by its
 * inner address, via a gateway or direct, and checks the VTEP each went to.
 *
 * The order: topo_net, topo_controller, topo_gateway (each), topo_register, the
 * benchmark's VMs (topo_import), topo_gateways_wait, topo_host (each), topo_hosts_ready,
 * topo_recv_start; topo_close before cluster_end.
 */
#ifndef BENCH_TOPO_H
#define BENCH_TOPO_H

#include "bench/netns.h"
#include "common/addr.h"
#include "common/apiclient.h"
#include "common/clock.h"
#include "common/log.h"
#include "shm/stats.h"
#include "shm/table.h"

#include <sys/wait.h>

#define TOPO_VNI	100
#define TOPO_UL		"192.168.79."
#define TOPO_CTL_PORT	7400
#define TOPO_SIM_NET	"172.21.0.0/16"
#define TOPO_VTEP0	0xac150001u	/* 172.21.0.1: simulated host 0 */
#define TOPO_GW_MAX	2
#define TOPO_HOST_MAX	2
#define TOPO_COUNT_WAIT_S 10		/* until a receiver counted what was sent */

enum { GW_RULE_STORE, GW_SYNCD, GW_FWD };	/* a gateway's processes, in pid[], st[] */
enum { H_LEARNER, H_FWD };			/* a host's */

struct topo_node {
	struct ns ns;
	const char *name;		/* the run's node (cluster_node) */
	char ip[24];
	pid_t pid[3];			/* GW_* or H_* */
	struct stats st[3];
	struct table *t;		/* the rule-store's table, or the learner's cache */
	bool fwd;			/* a gateway: runs its forwarder */
};

struct topo {
	int ngw, nhost;
	struct ns ul, ctl, sim, vm[TOPO_HOST_MAX];
	struct topo_node gw[TOPO_GW_MAX], host[TOPO_HOST_MAX];
	struct stats ctl_st;
	const char *ctl_node;
	struct auth_key secret;
	const char *secret_path;
	char map[300];			/* the receiver's counts */
};

static struct topo T;

struct topo_gen_out {
	uint64_t sent, t0, t1;		/* datagrams; the first and last send, CLOCK_MONOTONIC */
};

struct topo_report {
	uint64_t gw_frames, direct_frames, wrong_vtep, learn_bit, bad, sock_drops;
	uint64_t gw_hist[5], direct_hist[5];	/* destinations that got 0 .. 4+ frames */
};

/* ---- storm_peer ----------------------------------------------------------------------- */

/* $BUILD/tests/storm_peer. */
static inline const char *
topo_peer_bin(void)
{
	static char path[512];
	const char *b = getenv("BUILD");

	snprintf(path, sizeof(path), "%s/tests/storm_peer", b ? b : "build");
	return path;
}

/* Start storm_peer ARGS in n, its output to DIR/<out>; the pid. */
static inline pid_t
topo_peer_start(const struct ns *n, const char *out, char *const args[])
{
	char path[300];
	pid_t pid;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", cluster_dir(), out);
	if ((pid = ns_fork(n)) == 0) {
		if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644)) < 0 ||
		    dup2(fd, 1) < 0)
			_exit(1);
		execv(topo_peer_bin(), args);
		fprintf(stderr, "%s: cannot start %s: %s\n", the_cluster.bench, topo_peer_bin(),
		    strerror(errno));
		_exit(127);
	}
	return pid;
}

/* A generator's end (storm_peer gen): what it sent, when. */
static inline struct topo_gen_out
topo_gen_wait(pid_t pid, const char *out)
{
	char path[300];
	struct topo_gen_out g;
	json_t *j;
	int st;

	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fatalx("%s: a generator failed (see %s/%s)", the_cluster.bench, cluster_dir(),
		    out);
	snprintf(path, sizeof(path), "%s/%s", cluster_dir(), out);
	if ((j = json_load_file(path, 0, NULL)) == NULL)
		fatalx("%s: %s: no generator's report", the_cluster.bench, path);
	g.sent = json_integer_value(json_object_get(j, "sent"));
	g.t0 = json_integer_value(json_object_get(j, "t0_ns"));
	g.t1 = json_integer_value(json_object_get(j, "t1_ns"));
	json_decref(j);
	return g;
}

/* What the receiver counted so far. */
static inline struct topo_report
topo_report(void)
{
	char cmd[1024];
	struct topo_report r = { 0 };
	json_t *j, *v;
	size_t i;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "%s report -m %s", topo_peer_bin(), T.map);
	if ((p = popen(cmd, "r")) == NULL || (j = json_loadf(p, 0, NULL)) == NULL)
		fatalx("%s: %s: no report", the_cluster.bench, cmd);
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

/*
 * Until the receiver counted `want` frames via a gateway (or direct; or both, with
 * TOPO_ANY), or TOPO_COUNT_WAIT_S.
 */
enum { TOPO_VIA_GW, TOPO_DIRECT, TOPO_ANY };

static inline struct topo_report
topo_report_wait(uint64_t want, int which)
{
	struct topo_report r;

	for (int i = 0; i < TOPO_COUNT_WAIT_S * 20; i++) {
		r = topo_report();
		if ((which == TOPO_VIA_GW ? r.gw_frames : which == TOPO_DIRECT ? r.direct_frames :
		    r.gw_frames + r.direct_frames) >= want)
			break;
		usleep(50000);
	}
	return r;
}

/* ---- counters ------------------------------------------------------------------------- */

static inline uint64_t
topo_stat_sum(struct topo_node *nodes, int count, int proc, const char *name)
{
	uint64_t sum = 0;

	for (int i = 0; i < count; i++)
		sum += cluster_stat(&nodes[i].st[proc], name);
	return sum;
}

/* Wait for gauge name of st to reach want (10 s). */
static inline void
topo_gauge_wait(const struct stats *st, const char *name, uint64_t want, const char *what)
{
	for (int i = 0; cluster_stat(st, name) < want; i++) {
		if (i == 1000)
			fatalx("%s: %s: %s stayed below %llu", the_cluster.bench, what, name,
			    (unsigned long long)want);
		usleep(10000);
	}
}

/* ---- set-up --------------------------------------------------------------------------- */

static inline void
topo_node_ns(struct topo_node *nd, const char *name, int octet)
{
	nd->name = cluster_node(name);
	snprintf(nd->ip, sizeof(nd->ip), TOPO_UL "%d", octet);
	ns_new(&nd->ns, name);
	ns_sh(&T.ul, "ip link add %s type veth peer name eth0 netns %s; "
	    "ip link set %s master br0 up", name, nd->ns.path, name);
	ns_sh(&nd->ns, "ip addr add %s/24 dev eth0; ip link set eth0 up", nd->ip);
}

/*
 * The namespaces: the underlay, the controller, ngw gateways, nhost hosts and their
 * VMs (vm_prefix1, vm_prefix2: the namespace's name is its TAP's), the simulated hosts.
 */
static inline void
topo_net(int ngw, int nhost, const char *vm_prefix)
{
	struct topo_node ctl, sim;

	if (ngw < 1 || ngw > TOPO_GW_MAX || nhost < 1 || nhost > TOPO_HOST_MAX)
		fatalx("%s: 1..%d gateways and 1..%d hosts", the_cluster.bench, TOPO_GW_MAX,
		    TOPO_HOST_MAX);
	T.ngw = ngw;
	T.nhost = nhost;
	ns_new(&T.ul, "ul");
	ns_sh(&T.ul, "ip link add br0 type bridge; ip link set br0 up");
	topo_node_ns(&ctl, "ctl", 2);
	T.ctl = ctl.ns;
	T.ctl_node = ctl.name;
	for (int g = 0; g < ngw; g++) {
		char name[16];

		snprintf(name, sizeof(name), "gw%d", g + 1);
		topo_node_ns(&T.gw[g], name, 11 + g);
	}
	for (int h = 0; h < nhost; h++) {
		char name[16];

		snprintf(name, sizeof(name), "h%d", h + 1);
		topo_node_ns(&T.host[h], name, 21 + h);
	}
	topo_node_ns(&sim, "sim", 50);
	T.sim = sim.ns;
	ns_sh(&T.sim, "ip route add local " TOPO_SIM_NET " dev lo");
	for (int g = 0; g < ngw; g++)
		ns_sh(&T.gw[g].ns, "ip route add " TOPO_SIM_NET " via " TOPO_UL "50");
	for (int h = 0; h < nhost; h++) {
		char name[16];

		ns_sh(&T.host[h].ns, "ip route add " TOPO_SIM_NET " via " TOPO_UL "50");
		snprintf(name, sizeof(name), "%s%d", vm_prefix, h + 1);
		ns_new(&T.vm[h], name);
	}
}

/* The controller, and the cluster's authentication secret. */
static inline void
topo_controller(void)
{
	char conf[1024];

	snprintf(conf, sizeof(conf), "node = \"%s\";\ncontroller = {\n"
	    " data_dir = \"%s/data\";\n api_socket = \"%s\";\n listen = \"" TOPO_UL "2:%d\";\n"
	    " tls = false;\n};\n", T.ctl_node, cluster_dir(), the_cluster.api_sock,
	    TOPO_CTL_PORT);
	ns_exec(&T.ctl, "vpcfwd-controller", conf, "controller");
	cluster_stats_wait(&T.ctl_st, T.ctl_node, "controller");
	T.secret_path = cluster_auth_secret(&T.secret);
}

/*
 * Gateway g: rule-store (a table of cap rules), syncd and, with fwd, its forwarder.
 * Without, nothing produces its syncd's learn ring but what the benchmark creates.
 */
static inline void
topo_gateway(int g, uint64_t cap, bool fwd)
{
	struct topo_node *nd = &T.gw[g];
	static const char *procs[3] = { "rule-store", "syncd", "forwarder" };
	char conf[2048], name[32];

	snprintf(conf, sizeof(conf), "node = \"%s\";\n"
	    "rule_store = {\n tls = false;\n controllers = [\"" TOPO_UL "2:%d\"];\n"
	    " table_capacity = %llu;\n table_max_vnis = 16;\n};\n"
	    "syncd = {\n listen = \"%s:4806\";\n learner_port = 4807;\n"
	    " allow = [\"" TOPO_UL "0/24\"];\n auth_secret = \"%s\";\n};\n"
	    "forwarder = {\n mode = \"gateway\";\n listen = \"%s:4789\";\n};\n",
	    nd->name, TOPO_CTL_PORT, (unsigned long long)cap, nd->ip, T.secret_path, nd->ip);
	nd->fwd = fwd;
	for (int p = 0; p < (fwd ? 3 : 2); p++) {
		snprintf(name, sizeof(name), "gw%d-%s", g + 1, procs[p]);
		nd->pid[p] = ns_exec(&nd->ns, p == 0 ? "vpcfwd-rule-store" : p == 1 ?
		    "vpcfwd-syncd" : "vpcfwd-forwarder", conf, name);
		cluster_stats_wait(&nd->st[p], nd->name, procs[p]);
	}
}

/*
 * VPC vpc (VNI TOPO_VNI, 10.0.0.0/8), the real hosts h1.. (their VTEPs) and nsim
 * simulated ones, s00000.. with VTEPs TOPO_VTEP0 + k, the user's way.
 */
static inline void
topo_register(const char *vpc, uint32_t nsim)
{
	char ip[ADDR_IP4_STRLEN];
	struct apiclient c;
	uint64_t t0;

	cluster_api_connect(&c);
	json_decref(cluster_call(&c, json_pack("{s:s, s:s, s:i, s:[s]}", "op", "vpc.create",
	    "name", vpc, "vni", TOPO_VNI, "cidrs", "10.0.0.0/8")));
	for (int h = 0; h < T.nhost; h++) {
		char name[16];

		snprintf(name, sizeof(name), "h%d", h + 1);
		json_decref(cluster_call(&c, json_pack("{s:s, s:s, s:s}", "op", "host.create",
		    "name", name, "vtep", T.host[h].ip)));
	}
	t0 = clock_mono_ns();
	for (uint32_t k = 0; k < nsim; k++) {
		char name[16];

		snprintf(name, sizeof(name), "s%05u", k);
		json_decref(cluster_call(&c, json_pack("{s:s, s:s, s:s}", "op", "host.create",
		    "name", name, "vtep", addr_ip4_format(TOPO_VTEP0 + k, ip))));
	}
	apiclient_close(&c);
	printf("%s: %u simulated hosts registered in %.1f s\n", the_cluster.bench, nsim,
	    (clock_mono_ns() - t0) / 1e9);
}

/* `vpcfwdctl import CSV` (vms VMs in it, for the message). */
static inline void
topo_import(const char *csv, uint64_t vms)
{
	char log[300], *args[6];
	uint64_t t0;
	pid_t pid;
	int st;

	snprintf(log, sizeof(log), "%s/vpcfwdctl.log", cluster_dir());
	args[0] = (char *)bench_bin("vpcfwdctl");
	args[1] = "-s";
	args[2] = the_cluster.api_sock;
	args[3] = "import";
	args[4] = (char *)csv;
	args[5] = NULL;
	t0 = clock_mono_ns();
	pid = bench_spawn(args, log);
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fatalx("%s: vpcfwdctl import failed (see %s)", the_cluster.bench, log);
	printf("%s: %llu VMs imported in %.1f s\n", the_cluster.bench, (unsigned long long)vms,
	    (clock_mono_ns() - t0) / 1e9);
}

/* Until every rule-store applied the controller's whole log (60 s). */
static inline void
topo_gateways_wait(void)
{
	for (int g = 0; g < T.ngw; g++) {
		T.gw[g].t = cluster_table_wait(T.gw[g].name, "rule-store");
		for (int i = 0; table_applied_seq(T.gw[g].t) < cluster_stat(&T.ctl_st,
		    "log_seq"); i++) {
			if (i == 6000)
				fatalx("%s: gateway %d did not catch up in 60 s",
				    the_cluster.bench, g + 1);
			usleep(10000);
		}
	}
}

/*
 * Host h: its learner, with learner_conf (settings of the learner's section, each
 * ending in ";\n": table_capacity, cache_max_rules, ...) and its forwarder.
 */
static inline void
topo_host(int h, const char *learner_conf)
{
	struct topo_node *nd = &T.host[h];
	char conf[4096], name[32], hname[8], gws[128] = "";

	snprintf(hname, sizeof(hname), "h%d", h + 1);
	for (int g = 0; g < T.ngw; g++)
		snprintf(gws + strlen(gws), sizeof(gws) - strlen(gws), "%s\"%s:4806\"",
		    g ? ", " : "", T.gw[g].ip);
	snprintf(conf, sizeof(conf), "node = \"%s\";\n"
	    "learner = {\n tls = false;\n host = \"%s\";\n auth_key = \"%s\";\n"
	    " listen = \"%s:4807\";\n gateways = [%s];\n"
	    " controllers = [\"" TOPO_UL "2:%d\"];\n table_max_vnis = 16;\n%s};\n"
	    "forwarder = {\n mode = \"vswitch\";\n listen = \"%s:4789\";\n"
	    " netns_dir = \"%s/ns\";\n};\n", nd->name, hname,
	    cluster_auth_host(&T.secret, hname), nd->ip, gws, TOPO_CTL_PORT, learner_conf,
	    nd->ip, cluster_dir());
	snprintf(name, sizeof(name), "h%d-learner", h + 1);
	nd->pid[H_LEARNER] = ns_exec(&nd->ns, "vpcfwd-learner", conf, name);
	cluster_stats_wait(&nd->st[H_LEARNER], nd->name, "learner");
	snprintf(name, sizeof(name), "h%d-forwarder", h + 1);
	nd->pid[H_FWD] = ns_exec(&nd->ns, "vpcfwd-forwarder", conf, name);
	cluster_stats_wait(&nd->st[H_FWD], nd->name, "forwarder");
}

/*
 * Until every host's learner has its table and the VTEP list, its forwarder its VM's
 * TAP, and each VM (10.0.0.h+1) its address and route; and every gateway forwarder
 * the VTEP list.
 */
static inline void
topo_hosts_ready(void)
{
	for (int h = 0; h < T.nhost; h++) {
		struct ns *vm = &T.vm[h];

		T.host[h].t = cluster_table_wait(T.host[h].name, "learner");
		topo_gauge_wait(&T.host[h].st[H_LEARNER], "vteps_loaded", 1, "a learner");
		topo_gauge_wait(&T.host[h].st[H_FWD], "ports", 1, "a host forwarder");
		ns_sh(vm, "for i in $(seq 200); do ip link show %s >/dev/null 2>&1 && break; "
		    "sleep 0.05; done; ip addr add 10.0.0.%d/24 dev %s; ip link set %s up; "
		    "ip route add 10.0.0.0/8 via 10.0.0.254", vm->name, h + 1, vm->name,
		    vm->name);
	}
	for (int g = 0; g < T.ngw; g++)
		if (T.gw[g].fwd)
			topo_gauge_wait(&T.gw[g].st[GW_FWD], "vteps_loaded", 1,
			    "a gateway forwarder");
}

/*
 * The receiver in the simulated hosts' namespace: it counts the frames of destinations
 * dst .. dst + n - 1, destination i on simulated host i % nsim.
 */
static inline void
topo_recv_start(uint32_t n, uint32_t dst, uint32_t nsim)
{
	char d[ADDR_IP4_STRLEN], ns_[16], hosts[16], vtep[ADDR_IP4_STRLEN], gws[64] = "";
	char vni[16];

	snprintf(T.map, sizeof(T.map), "%s/storm.map", cluster_dir());
	addr_ip4_format(dst, d);
	snprintf(ns_, sizeof(ns_), "%u", n);
	snprintf(hosts, sizeof(hosts), "%u", nsim);
	addr_ip4_format(TOPO_VTEP0, vtep);
	for (int g = 0; g < T.ngw; g++)
		snprintf(gws + strlen(gws), sizeof(gws) - strlen(gws), "%s%s", g ? "," : "",
		    T.gw[g].ip);
	snprintf(vni, sizeof(vni), "%d", TOPO_VNI);
	{
		char *args[] = { "storm_peer", "recv", "-m", T.map, "-n", ns_, "-d", d, "-H",
		    hosts, "-V", vtep, "-v", vni, "-g", gws, NULL };

		topo_peer_start(&T.sim, "recv.out", args);
	}
	for (int i = 0; access(T.map, R_OK) != 0; i++) {
		if (i == 500)
			fatalx("%s: the receiver did not start", the_cluster.bench);
		usleep(10000);
	}
}

/* The segments this process attached. */
static inline void
topo_close(void)
{
	for (int g = 0; g < T.ngw; g++) {
		if (T.gw[g].t != NULL)
			table_close(T.gw[g].t);
		for (int p = 0; p < (T.gw[g].fwd ? 3 : 2); p++)
			stats_close(&T.gw[g].st[p]);
	}
	for (int h = 0; h < T.nhost; h++) {
		if (T.host[h].t != NULL)
			table_close(T.host[h].t);
		stats_close(&T.host[h].st[H_LEARNER]);
		stats_close(&T.host[h].st[H_FWD]);
	}
	stats_close(&T.ctl_st);
}

#endif
