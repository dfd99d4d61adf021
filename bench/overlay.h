/*
 * overlay.h: two hosts with a VM each on an underlay, in network namespaces of their
 * own (bench/netns.h), as the data-plane benchmarks of a vswitch build them (forward,
 * latency): through vpcfwd-forwarder vswitches (direct, or every frame via a gateway
 * forwarder), or through the Linux kernel's vxlan (with a bridge, or the vxlan device in
 * the VM). Header-only, like netns.h: each benchmark is one program.
 *
 * The layout of every topology (p: its prefix in the namespaces' and nodes' names):
 *  - p-ul: the underlay, a bridge; hosts p-h1, p-h2 on it by veth (eth0, 192.168.77.1
 *    and .2/24, MTU 1500), a gateway p-gw (.3) when asked for; known MACs and static
 *    neighbours everywhere (no ARP on any path).
 *  - p-v1, p-v2: the VMs' namespaces (10.77.0.1 and .2/24 on VNI 77, MTU 1450, a static
 *    neighbour entry for the other VM).
 *  - p-sk, when asked for: a sink on the underlay holding OVL_VTEPS VTEP addresses
 *    (10.99.0.1 ...), standing for many other hosts: a UDP socket on the VXLAN port
 *    there, never read, takes what reaches them (ovl_sink_datagrams counts it). Rule k
 *    of a many-destination table (OVL_RULE_IP(k), MAC gen_rule_mac(ovl_rule_mac_prefix,
 *    k)) is a VM behind VTEP OVL_VTEP_IP(k % OVL_VTEPS).
 *
 * vpcfwd: each host runs vpcfwd-forwarder (vswitch, `io` as asked) which makes the VM's
 * TAP in the VM's namespace; no learner: this program writes each host's rule table,
 * port table and VTEP allow-list as a learner would. Direct: host 1's table holds VM
 * 2's rule (and the many-destination rules), host 2's VM 1's. Via a gateway: the hosts'
 * tables hold no rule and name the gateway as their peer, the gateway's table (as its
 * rule-store would write it) holds both VMs: every frame goes VM -> host -> gateway ->
 * host -> VM, and stays so (no syncd: nothing is learned).
 *
 * kernel: each host's vxlan device (VNI 77, nolearning, static fdb entries) on a bridge
 * with a veth to the VM (the usual kernel hypervisor switch), or moved into the VM's
 * namespace as its eth0 (its socket stays in the host's: the cheapest kernel path). RPS
 * on every receive queue of the topology's namespaces when asked for, so that the
 * kernel's path, which runs in softirq, may use every CPU as the forwarders' processes
 * do. The many
 * destinations are vxlan fdb entries (the bridge floods an unknown MAC to its one other
 * port, the vxlan device, without an entry of its own).
 */
#ifndef BENCH_OVERLAY_H
#define BENCH_OVERLAY_H

#include "bench/netns.h"
#include "shm/ports.h"
#include "shm/stats.h"
#include "shm/table.h"
#include "shm/vtepset.h"

#define OVL_VNI		77
#define OVL_GEN		0x7a11u				/* the tables' generation */
#define OVL_VM_IP(i)	(0x0a4d0001u + (uint32_t)(i))	/* 10.77.0.1, .2 */
#define OVL_HOST_IP(i)	(0xc0a84d01u + (uint32_t)(i))	/* 192.168.77.1, .2; .3 the gateway */
#define OVL_GW		2				/* the gateway's index in fwd[], st[] */
#define OVL_VTEPS	256
#define OVL_VTEP_IP(k)	(0x0a630001u + (uint32_t)(k))	/* 10.99.0.1 ... */
#define OVL_RULE_IP(k)	(0x0a800000u + (uint32_t)(k))	/* 10.128.0.0 ... */
#define OVL_RULES_MAX	(1u << 23)
#define OVL_PORT	4789

static const uint8_t ovl_vm_mac[2][6] = { { 2, 0x77, 0, 0, 0, 1 }, { 2, 0x77, 0, 0, 0, 2 } };
static const uint8_t ovl_rule_mac_prefix[2] = { 2, 0x7d };

struct ovl {
	bool on;
	char p[4];			/* the prefix */
	struct ns ul, h[2], v[2], gw, sink;
	bool has_gw, has_sink;
	char vif[2][16];		/* the VM's interface in v[i] */
	pid_t fwd[3];			/* vpcfwd: the hosts' forwarders, the gateway's */
	struct stats st[3];
	struct table *tab[3];
	struct ports *ports[2];
	struct vtepset *vteps[3];
};

static inline void
ovl_ip_str(uint32_t a, char *buf, size_t len)
{
	snprintf(buf, len, "%u.%u.%u.%u", a >> 24, a >> 16 & 255, a >> 8 & 255, a & 255);
}

static inline void
ovl_mac_str(const uint8_t *m, char *buf, size_t len)
{
	snprintf(buf, len, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

/*
 * RPS on every receive queue of n's devices, to every CPU. Its own sysfs (a mount
 * namespace of the command's) shows n's devices, not the benchmark's.
 */
static inline void
ovl_rps(const struct ns *n)
{
	ns_sh(n, "unshare -m sh -ec 'mount -t sysfs sysfs /sys; m=$(printf %%x $(( (1 << "
	    "$(nproc)) - 1 ))); for f in /sys/class/net/*/queues/rx-*/rps_cpus; do "
	    "echo $m >$f; done'");
}

/* Run `tool -batch FILE` in n, FILE being DIR/name.batch, written by the caller. */
static inline void
ovl_batch(const struct ns *n, const char *tool, const char *name)
{
	ns_sh(n, "%s -batch %s/%s.batch", tool, the_cluster.dir, name);
}

static inline FILE *
ovl_batch_open(const char *name)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.batch", the_cluster.dir, name);
	if ((f = fopen(path, "w")) == NULL)
		fatal("%s: %s", the_cluster.bench, path);
	return f;
}

static inline void
ovl_batch_close(FILE *f)
{
	if (fclose(f) != 0)
		fatal("%s: writing a batch file", the_cluster.bench);
}

/* The namespace of p's topology named p-what. */
static inline void
ovl_ns(struct ovl *t, struct ns *n, const char *what)
{
	char name[16];

	snprintf(name, sizeof(name), "%.3s-%.8s", t->p, what);
	ns_new(n, name);
}

/*
 * The underlay, the two hosts on it, the VMs' namespaces (empty), the gateway's (gw)
 * and the sink (sink) when asked for.
 */
static inline void
ovl_base(struct ovl *t, const char *p, bool gw, bool sink)
{
	char name[16], ip[32];
	FILE *f;

	snprintf(t->p, sizeof(t->p), "%s", p);
	t->has_gw = gw;
	t->has_sink = sink;
	ovl_ns(t, &t->ul, "ul");
	ns_sh(&t->ul, "ip link add br0 type bridge; ip link set br0 up");
	for (int i = 0; i < (gw ? 3 : 2); i++) {
		struct ns *h = i < 2 ? &t->h[i] : &t->gw;

		snprintf(name, sizeof(name), i < 2 ? "h%d" : "gw", i + 1);
		ovl_ns(t, h, name);
		if (i < 2) {
			snprintf(name, sizeof(name), "v%d", i + 1);
			ovl_ns(t, &t->v[i], name);
		}
		ovl_ip_str(OVL_HOST_IP(i), ip, sizeof(ip));
		ns_sh(&t->ul, "ip link add h%d type veth peer name eth0 netns %s; "
		    "ip link set h%d master br0 up", i + 1, h->path, i + 1);
		ns_sh(h, "ip link set eth0 address 02:aa:00:00:00:0%d; ip addr add %s/24 dev "
		    "eth0; ip link set eth0 up", i + 1, ip);
	}
	/*
	 * Known MACs and static neighbours on the underlay: no ARP on any path. The
	 * underlay's bridge knows each MAC's port from the start: a host that only
	 * receives (or the sink) sends nothing it could learn from, and its frames would
	 * be flooded to every port.
	 */
	for (int i = 0; i < (gw ? 3 : 2); i++)
		ns_sh(&t->ul, "bridge fdb replace 02:aa:00:00:00:0%d dev h%d master static",
		    i + 1, i + 1);
	for (int i = 0; i < (gw ? 3 : 2); i++)
		for (int j = 0; j < (gw ? 3 : 2); j++) {
			if (i == j)
				continue;
			ovl_ip_str(OVL_HOST_IP(j), ip, sizeof(ip));
			ns_sh(i < 2 ? &t->h[i] : &t->gw, "ip neigh replace %s lladdr "
			    "02:aa:00:00:00:0%d dev eth0 nud permanent", ip, j + 1);
		}
	if (!sink)
		return;
	ovl_ns(t, &t->sink, "sk");
	ns_sh(&t->ul, "ip link add sk type veth peer name eth0 netns %s; "
	    "ip link set sk master br0 up; "
	    "bridge fdb replace 02:aa:00:00:00:09 dev sk master static", t->sink.path);
	snprintf(name, sizeof(name), "%s-sk", p);
	f = ovl_batch_open(name);
	for (uint32_t k = 0; k < OVL_VTEPS; k++) {
		ovl_ip_str(OVL_VTEP_IP(k), ip, sizeof(ip));
		fprintf(f, "addr add %s/16 dev eth0\n", ip);
	}
	ovl_batch_close(f);
	ns_sh(&t->sink, "ip link set eth0 address 02:aa:00:00:00:09 up");
	ovl_batch(&t->sink, "ip", name);
	ns_sh(&t->sink, "ip route add default dev eth0");
	/* Host 1 sends to them: a route, and their neighbours known. */
	snprintf(name, sizeof(name), "%s-h1n", p);
	f = ovl_batch_open(name);
	for (uint32_t k = 0; k < OVL_VTEPS; k++) {
		ovl_ip_str(OVL_VTEP_IP(k), ip, sizeof(ip));
		fprintf(f, "neigh replace %s lladdr 02:aa:00:00:00:09 dev eth0 nud permanent\n",
		    ip);
	}
	ovl_batch_close(f);
	ns_sh(&t->h[0], "ip route add 10.99.0.0/16 dev eth0");
	ovl_batch(&t->h[0], "ip", name);
	(void)ns_udp_sink(&t->sink, OVL_PORT);
	/* The sink stands for many hosts: every topology's may use every CPU. */
	ovl_rps(&t->sink);
}

/* Datagrams that reached the sink's socket, taken or dropped there. */
static inline uint64_t
ovl_sink_datagrams(const struct ovl *t)
{
	return ns_udp_stat(&t->sink, "InDatagrams") + ns_udp_stat(&t->sink, "InErrors");
}

/* In VM i's namespace, on its interface: address, MTU, static neighbour of the other. */
static inline void
ovl_vm_addr(struct ovl *t, int i)
{
	char ip[32], peer[32], mac[32];

	ovl_ip_str(OVL_VM_IP(i), ip, sizeof(ip));
	ovl_ip_str(OVL_VM_IP(1 - i), peer, sizeof(peer));
	ovl_mac_str(ovl_vm_mac[1 - i], mac, sizeof(mac));
	ns_sh(&t->v[i], "ip link set %s mtu 1450 up; ip addr add %s/24 dev %s; "
	    "ip neigh replace %s lladdr %s dev %s nud permanent", t->vif[i], ip, t->vif[i],
	    peer, mac, t->vif[i]);
}

/*
 * The kernel's topology p: each host's vxlan device on a bridge with a veth to the VM
 * (in_vm false), or moved into the VM's namespace as its eth0 (in_vm true); host 1's
 * vxlan device with an fdb entry for each of rules many-destination rules (needs sink);
 * RPS on every receive queue (rps), for throughput on every CPU.
 */
static inline void
ovl_kernel(struct ovl *t, const char *p, bool in_vm, uint32_t rules, bool sink, bool rps)
{
	char hip[32], peer[32], mac[32], me[32];

	ovl_base(t, p, false, sink);
	for (int i = 0; i < 2; i++) {
		ovl_ip_str(OVL_HOST_IP(i), hip, sizeof(hip));
		ovl_ip_str(OVL_HOST_IP(1 - i), peer, sizeof(peer));
		ovl_mac_str(ovl_vm_mac[1 - i], mac, sizeof(mac));
		ovl_mac_str(ovl_vm_mac[i], me, sizeof(me));
		if (in_vm) {
			ns_sh(&t->h[i], "ip link add vx0 type vxlan id %d local %s dstport %d "
			    "nolearning; ip link set vx0 netns %s", OVL_VNI, hip, OVL_PORT,
			    t->v[i].path);
			ns_sh(&t->v[i], "ip link set vx0 name eth0; ip link set eth0 address %s; "
			    "bridge fdb append %s dev eth0 dst %s", me, mac, peer);
		} else {
			ns_sh(&t->h[i], "ip link add vx0 type vxlan id %d local %s dstport %d "
			    "nolearning; ip link add br0 type bridge; ip link set vx0 master "
			    "br0; ip link add vm type veth peer name eth0 netns %s; ip link set "
			    "vm mtu 1450 master br0; ip link set vx0 up; ip link set vm up; ip "
			    "link set br0 up; bridge fdb append %s dev vx0 dst %s; bridge fdb "
			    "replace %s dev vx0 master static", OVL_VNI, hip, OVL_PORT,
			    t->v[i].path, mac, peer, mac);
			ns_sh(&t->v[i], "ip link set eth0 address %s", me);
		}
		snprintf(t->vif[i], sizeof(t->vif[i]), "eth0");
		ovl_vm_addr(t, i);
	}
	if (rules > 0) {
		char name[16], vtep[32];
		uint8_t m[6];
		FILE *f;

		snprintf(name, sizeof(name), "%s-fdb", p);
		f = ovl_batch_open(name);
		for (uint32_t k = 0; k < rules; k++) {
			gen_rule_mac(ovl_rule_mac_prefix, k, m);
			ovl_mac_str(m, mac, sizeof(mac));
			ovl_ip_str(OVL_VTEP_IP(k % OVL_VTEPS), vtep, sizeof(vtep));
			fprintf(f, "fdb append %s dev %s dst %s\n", mac, in_vm ? "eth0" : "vx0",
			    vtep);
		}
		ovl_batch_close(f);
		ovl_batch(in_vm ? &t->v[0] : &t->h[0], "bridge", name);
	}
	if (!rps)
		return;
	ovl_rps(&t->ul);
	for (int i = 0; i < 2; i++) {
		ovl_rps(&t->h[i]);
		ovl_rps(&t->v[i]);
	}
}

/* vpcfwd-forwarder's config for node (mode, VTEP ip), with `io = "io"` unless io NULL. */
static inline void
ovl_fwd_conf(char *buf, size_t len, const char *node, const char *mode, uint32_t ip,
    const char *io)
{
	char vtep[32], iol[64] = "";

	ovl_ip_str(ip, vtep, sizeof(vtep));
	if (io != NULL)
		snprintf(iol, sizeof(iol), " io = \"%s\";\n", io);
	snprintf(buf, len, "node = \"%s\";\nforwarder = {\n mode = \"%s\";\n listen = "
	    "\"%s:%d\";\n netns_dir = \"%s/ns\";\n%s};\n", node, mode, vtep, OVL_PORT,
	    the_cluster.dir, iol);
}

/*
 * Whether this build's forwarder takes `io = "io"` (its config checked, -n): a build
 * before the setting has only the socket.
 */
static inline bool
ovl_io_supported(const char *io)
{
	char conf[1024], path[256], cmd[700];

	ovl_fwd_conf(conf, sizeof(conf), "probe", "vswitch", OVL_HOST_IP(0), io);
	snprintf(path, sizeof(path), "%s/io-probe.conf", the_cluster.dir);
	cluster_write_file(path, conf);
	snprintf(cmd, sizeof(cmd), "%s -n -c %s >/dev/null 2>&1", bench_bin("vpcfwd-forwarder"),
	    path);
	return system(cmd) == 0;
}

/* A VTEP allow-list of the hosts, loaded, as node's proc writes it. */
static inline struct vtepset *
ovl_vteps(const char *node, const char *proc)
{
	struct vtepset *v;
	char err[512];

	if (vtepset_create(&v, node, proc, 64, err, sizeof(err)) < 0)
		fatalx("%s: %s", the_cluster.bench, err);
	for (int i = 0; i < 2; i++)
		if (vtepset_add(v, OVL_HOST_IP(i)) < 0)
			fatalx("%s: cannot write the VTEP list of %s", the_cluster.bench, node);
	vtepset_set_loaded(v);
	return v;
}

/*
 * A table of capacity rules + 64 for node's proc: the rules of the VMs given (vm[i]:
 * VM i's), and the many-destination rules 0 .. rules.
 */
static inline struct table *
ovl_table(const char *node, const char *proc, uint32_t mode, const bool vm[2],
    uint32_t rules)
{
	struct table_params tp;
	struct table *tab;
	char err[512];

	table_params_default(&tp, mode);
	tp.capacity = rules + 64;
	tp.max_vnis = 16;
	if (table_create(&tab, node, proc, &tp, err, sizeof(err)) < 0)
		fatalx("%s: %s", the_cluster.bench, err);
	for (int i = 0; i < 2; i++) {
		struct table_rule r = { .vni = OVL_VNI, .ip = OVL_VM_IP(i),
		    .vtep = OVL_HOST_IP(i), .version = 1 };

		memcpy(r.mac, ovl_vm_mac[i], 6);
		if (vm[i] && table_set(tab, &r) != TABLE_APPLIED)
			fatalx("%s: cannot write the rule table of %s", the_cluster.bench, node);
	}
	for (uint32_t k = 0; k < rules; k++) {
		struct table_rule r = { .vni = OVL_VNI, .ip = OVL_RULE_IP(k),
		    .vtep = OVL_VTEP_IP(k % OVL_VTEPS), .version = 1 };

		gen_rule_mac(ovl_rule_mac_prefix, k, r.mac);
		if (table_set(tab, &r) != TABLE_APPLIED)
			fatalx("%s: cannot write rule %u of %s's table", the_cluster.bench, k,
			    node);
	}
	if (table_vni_advance(tab, OVL_VNI, OVL_GEN, 1) != TABLE_APPLIED)
		fatalx("%s: cannot advance the table of %s", the_cluster.bench, node);
	return tab;
}

/*
 * The forwarder fwd[i]'s counters, waited for until ready (the hosts': their TAP open),
 * and its underlay the one asked for (io "xdp": AF_XDP, else the socket; NULL: any).
 */
static inline void
ovl_fwd_wait(struct ovl *t, int i, const char *node, const char *io)
{
	cluster_stats_wait(&t->st[i], node, "forwarder");
	for (int k = 0; cluster_stat(&t->st[i], "table_attached") != 1 ||
	    cluster_stat(&t->st[i], "vteps_loaded") != 1 ||
	    (i < 2 && cluster_stat(&t->st[i], "ports") != 1); k++) {
		if (k == CLUSTER_WAIT_TRIES)
			fatalx("%s: the forwarder of %s is not ready (its log: %s)",
			    the_cluster.bench, node, the_cluster.dir);
		usleep(10000);
	}
	if (io != NULL && cluster_stat(&t->st[i], "io_xdp") != (strcmp(io, "xdp") == 0))
		fatalx("%s: the forwarder of %s does not run io = \"%s\" (its log: %s)",
		    the_cluster.bench, node, io, the_cluster.dir);
}

/*
 * The vpcfwd topology p, forwarders with `io = "io"` (NULL: the default): hosts that
 * forward direct (gw false; host 1 with the many-destination rules 0 .. rules, which
 * needs sink), or whose every frame goes via a gateway (gw true).
 */
static inline void
ovl_vpcfwd(struct ovl *t, const char *p, const char *io, bool gw, uint32_t rules, bool sink)
{
	char conf[1024], role[16];
	const char *node[3];

	ovl_base(t, p, gw, sink);
	for (int i = 0; i < (gw ? 3 : 2); i++) {
		snprintf(role, sizeof(role), i < 2 ? "%sh%d" : "%sgw", p, i + 1);
		node[i] = cluster_node(role);
	}
	for (int i = 0; i < 2; i++) {
		bool vm[2] = { !gw && i == 1, !gw && i == 0 };
		struct port port = { .vni = OVL_VNI, .ip = OVL_VM_IP(i) };
		char err[512];

		/* The learner's segments, as a learner would make them. */
		t->tab[i] = ovl_table(node[i], "learner", TABLE_HOST, vm, i == 0 ? rules : 0);
		if (gw) {
			struct table_peer peer = { .addr = OVL_HOST_IP(OVL_GW), .port = OVL_PORT,
			    .up = 1 };

			table_set_peers(t->tab[i], &peer, 1);
		}
		t->vteps[i] = ovl_vteps(node[i], "learner");
		if (ports_create(&t->ports[i], node[i], 4, err, sizeof(err)) < 0)
			fatalx("%s: %s", the_cluster.bench, err);
		memcpy(port.mac, ovl_vm_mac[i], 6);
		/* The TAP is named as the VM's namespace, whose link is in DIR/ns. */
		snprintf(port.tap, sizeof(port.tap), "%s", t->v[i].name);
		if (ports_set(t->ports[i], &port) < 0)
			fatalx("%s: cannot write the port table of %s", the_cluster.bench,
			    node[i]);
		snprintf(t->vif[i], sizeof(t->vif[i]), "%s", t->v[i].name);
		ovl_fwd_conf(conf, sizeof(conf), node[i], "vswitch", OVL_HOST_IP(i), io);
		snprintf(role, sizeof(role), "%s-fwd%d", p, i + 1);
		t->fwd[i] = ns_exec(&t->h[i], "vpcfwd-forwarder", conf, role);
	}
	if (gw) {
		bool vm[2] = { true, true };

		/* The rule-store's segments, as a rule-store would make them. */
		t->tab[OVL_GW] = ovl_table(node[OVL_GW], "rule-store", TABLE_GATEWAY, vm, 0);
		t->vteps[OVL_GW] = ovl_vteps(node[OVL_GW], "rule-store");
		ovl_fwd_conf(conf, sizeof(conf), node[OVL_GW], "gateway", OVL_HOST_IP(OVL_GW),
		    io);
		snprintf(role, sizeof(role), "%s-fwdgw", p);
		/*
		 * What its XDP program relays itself (XDP_TX, the rule cache) crosses the
		 * veth only to an end with an XDP program, as a NIC's frames reach the wire.
		 */
		if (io && strcmp(io, "xdp") == 0)
			ns_sh(&t->ul, "ip link set h%d xdpdrv obj %s/tests/e2e/xdp_pass.bpf.o "
			    "sec xdp.frags", OVL_GW + 1, getenv("BUILD") ? getenv("BUILD") :
			    "build");
		t->fwd[OVL_GW] = ns_exec(&t->gw, "vpcfwd-forwarder", conf, role);
	}
	for (int i = 0; i < (gw ? 3 : 2); i++) {
		ovl_fwd_wait(t, i, node[i], io);
		if (i < 2)
			ovl_vm_addr(t, i);
	}
}

/* CPU time of the topology's forwarders together, ns. */
static inline uint64_t
ovl_fwd_cpu_ns(const struct ovl *t)
{
	uint64_t ns = 0;

	for (int i = 0; i < 3; i++)
		if (t->fwd[i] > 0)
			ns += proc_cpu_ns(t->fwd[i]);
	return ns;
}

/* A counter summed over the topology's forwarders. */
static inline uint64_t
ovl_fwd_stat(const struct ovl *t, const char *name)
{
	uint64_t v = 0;

	for (int i = 0; i < 3; i++)
		if (t->st[i].hdr != NULL)
			v += cluster_stat(&t->st[i], name);
	return v;
}

/* The segments this program holds (the processes and namespaces go at the cleanup). */
static inline void
ovl_close(struct ovl *t)
{
	for (int i = 0; i < 3; i++) {
		if (t->tab[i])
			table_close(t->tab[i]);
		if (i < 2 && t->ports[i])
			ports_close(t->ports[i]);
		if (t->vteps[i])
			vtepset_close(t->vteps[i]);
		if (t->st[i].hdr)
			stats_close(&t->st[i]);
	}
}

#endif
