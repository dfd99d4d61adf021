/*
 * netns.h: network namespaces and packet generators for the data-plane benchmarks
 * (forward, gateway), on cluster.h. Header-only, like cluster.h: each benchmark is one
 * program.
 *
 * The rules:
 *  - A namespace here has no name in /run/netns: the benchmark unshare(2)s it, keeps a
 *    descriptor of it and goes back to its own. So nothing is left behind whatever ends
 *    the run, SIGKILL included: a namespace lives only as long as that descriptor and
 *    the processes in it, which are all the benchmark's children and die with it
 *    (cluster_fork: PR_SET_PDEATHSIG); its devices (veths, bridges, vxlan, persistent
 *    TAPs) go with it. For the programs that want a namespace by path (ip's
 *    "netns PATH", the forwarder's netns_dir), DIR/ns/NAME is a symbolic link to
 *    /proc/<benchmark>/fd/<descriptor>; the scratch directory goes at the cleanup.
 *    Only the segments and the scratch directory of a run killed by SIGKILL stay;
 *    ns_sweep_stale() removes them at the next run.
 *  - ns_sh(ns, cmd) runs a shell command in a namespace; its failure ends the run.
 *  - ns_fork(ns) is cluster_fork() with the child in the namespace; ns_exec starts a
 *    program of this build there (stopped at the cleanup, dies with the benchmark).
 *  - ns_link_stats reads an interface's counters (rtnetlink, IFLA_STATS64) from a
 *    netlink socket opened in the namespace.
 *  - A gen is a child that sends frames (AF_PACKET on an interface, or UDP datagrams
 *    to the address in its shared memory) with sendmmsg, as fast as it can or at a
 *    rate, while told to (gen_run, gen_idle); what it sent is counted in that memory.
 */
#ifndef BENCH_NETNS_H
#define BENCH_NETNS_H

#include "bench/cluster.h"
#include "common/clock.h"
#include "common/proc.h"

#include <linux/if_link.h>
#include <linux/if_packet.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <sched.h>
#include <stdarg.h>
#include <sys/mman.h>

#define GEN_BATCH	64
#define GEN_VARIANTS	1024	/* distinct payloads a UDP gen cycles through */
#define GEN_FRAME_MAX	2048

struct ns {
	char name[16];
	char path[256];		/* DIR/ns/NAME */
	int fd;			/* the namespace, O_CLOEXEC */
	int nl;			/* rtnetlink socket in it, or -1 */
	uint32_t nlseq;
};

static int ns_home = -1;	/* the benchmark's own namespace */

static inline void
ns_enter(const struct ns *n)
{
	if (setns(n->fd, CLONE_NEWNET) < 0)
		fatal("%s: setns %s", the_cluster.bench, n->name);
}

static inline void
ns_leave(void)
{
	if (setns(ns_home, CLONE_NEWNET) < 0)
		fatal("%s: setns back home", the_cluster.bench);
}

/*
 * What a run of this benchmark killed with SIGKILL left, the only end its own cleanup
 * cannot see: the segments of its nodes (NAME<pid>-*) and its scratch directory (whose
 * DIR/ns links name the pid), when that pid is not running any more. Call after
 * cluster_init.
 */
static inline void
ns_sweep_stale(void)
{
	size_t blen = strlen(the_cluster.bench);
	struct dirent *e;
	DIR *d;

	if ((d = opendir(SEG_DIR)) != NULL) {
		while ((e = readdir(d)) != NULL) {
			char path[512];
			const char *p = e->d_name;
			long pid;

			if (strncmp(p, "vpcfwd.", 7) != 0 ||
			    strncmp(p + 7, the_cluster.bench, blen) != 0)
				continue;
			p += 7 + blen;
			if (*p < '0' || *p > '9' || (pid = strtol(p, (char **)&p, 10)) <= 0 ||
			    *p != '-' || pid == getpid() || kill((pid_t)pid, 0) == 0 ||
			    errno != ESRCH)
				continue;
			snprintf(path, sizeof(path), "%s/%s", SEG_DIR, e->d_name);
			if (unlink(path) == 0)
				fprintf(stderr, "%s: removed %s, left by a killed run\n",
				    the_cluster.bench, path);
		}
		closedir(d);
	}
	if ((d = opendir("/tmp")) != NULL) {
		char prefix[64];

		snprintf(prefix, sizeof(prefix), "vpcfwd-bench-%s.", the_cluster.bench);
		while ((e = readdir(d)) != NULL) {
			char dir[128], link[256], target[128];
			ssize_t n;
			DIR *nd;
			struct dirent *ne;
			long pid = 0;

			if (strncmp(e->d_name, prefix, strlen(prefix)) != 0)
				continue;
			if (strlen(e->d_name) > 64)
				continue;
			snprintf(dir, sizeof(dir), "/tmp/%.64s", e->d_name);
			if (strcmp(dir, the_cluster.dir) == 0)
				continue;
			snprintf(link, sizeof(link), "%s/ns", dir);
			if ((nd = opendir(link)) == NULL)
				continue;
			while ((ne = readdir(nd)) != NULL && pid == 0) {
				snprintf(link, sizeof(link), "%s/ns/%.64s", dir, ne->d_name);
				if ((n = readlink(link, target, sizeof(target) - 1)) > 0) {
					target[n] = '\0';
					if (sscanf(target, "/proc/%ld/", &pid) != 1)
						pid = 0;
				}
			}
			closedir(nd);
			if (pid > 0 && pid != getpid() && kill((pid_t)pid, 0) < 0 &&
			    errno == ESRCH) {
				bench_rmdir(dir);
				fprintf(stderr, "%s: removed %s, left by a killed run\n",
				    the_cluster.bench, dir);
			}
		}
		closedir(d);
	}
}

/* A new namespace, with lo up and IPv6 off (no router solicitations, MLD, DAD). */
static inline void ns_sh(const struct ns *n, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static inline void
ns_new(struct ns *n, const char *name)
{
	char dir[200], target[64];

	if (ns_home < 0 && (ns_home = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC)) < 0)
		fatal("%s: /proc/self/ns/net", the_cluster.bench);
	memset(n, 0, sizeof(*n));
	snprintf(n->name, sizeof(n->name), "%s", name);
	n->nl = -1;
	if (unshare(CLONE_NEWNET) < 0)
		fatal("%s: unshare(CLONE_NEWNET) (root needed)", the_cluster.bench);
	if ((n->fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC)) < 0)
		fatal("%s: /proc/self/ns/net", the_cluster.bench);
	ns_leave();
	snprintf(dir, sizeof(dir), "%s/ns", the_cluster.dir);
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		fatal("%s: %s", the_cluster.bench, dir);
	snprintf(n->path, sizeof(n->path), "%s/%s", dir, name);
	snprintf(target, sizeof(target), "/proc/%d/fd/%d", (int)getpid(), n->fd);
	if (symlink(target, n->path) < 0)
		fatal("%s: symlink %s", the_cluster.bench, n->path);
	/*
	 * Bridges here switch only: when br_netfilter is loaded (docker does), a new
	 * namespace's bridges would pass every frame through the iptables hooks.
	 */
	ns_sh(n, "ip link set lo up; echo 1 >/proc/sys/net/ipv6/conf/all/disable_ipv6; "
	    "echo 1 >/proc/sys/net/ipv6/conf/default/disable_ipv6; "
	    "for f in iptables ip6tables arptables; do p=/proc/sys/net/bridge/bridge-nf-call-$f; "
	    "if [ -e $p ]; then echo 0 >$p; fi; done");
}

/*
 * A UDP socket in n on port (any address) that is never read, with the smallest receive
 * buffer: a receiver that drops what it gets at the socket, without the ICMP port
 * unreachable a closed port would cost. Left open until the run ends.
 */
static inline int
ns_udp_sink(const struct ns *n, uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd, v = 1;

	ns_enter(n);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ns_leave();
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v)) < 0 ||
	    bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		fatal("%s: a sink socket on port %u in %s", the_cluster.bench, port, n->name);
	return fd;
}

/* fork(), the child in n (and stopped, dying, as cluster_fork's). */
static inline pid_t
ns_fork(const struct ns *n)
{
	pid_t pid = cluster_fork();

	if (pid == 0 && setns(n->fd, CLONE_NEWNET) < 0) {
		perror("setns");
		_exit(1);
	}
	return pid;
}

static inline void
ns_sh(const struct ns *n, const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	pid_t pid;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	fflush(NULL);
	if ((pid = fork()) < 0)
		fatal("%s: fork", the_cluster.bench);
	if (pid == 0) {
		if (setns(n->fd, CLONE_NEWNET) < 0)
			_exit(126);
		execl("/bin/sh", "sh", "-ec", cmd, (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fatalx("%s: in namespace %s, failed: %s", the_cluster.bench, n->name, cmd);
}

/* Start $BUILD/bin/<bin> -c DIR/<name>.conf (conf_text) in n, output in DIR/<name>.log. */
static inline pid_t
ns_exec(const struct ns *n, const char *bin, const char *conf_text, const char *name)
{
	char conf[256], log[256];
	const char *path = bench_bin(bin);
	pid_t pid;
	int fd;

	snprintf(conf, sizeof(conf), "%s/%s.conf", the_cluster.dir, name);
	snprintf(log, sizeof(log), "%s/%s.log", the_cluster.dir, name);
	cluster_write_file(conf, conf_text);
	if ((pid = ns_fork(n)) == 0) {
		if ((fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644)) < 0 ||
		    dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(1);
		execl(path, path, "-c", conf, (char *)NULL);
		fprintf(stderr, "%s: cannot start %s: %s\n", the_cluster.bench, path,
		    strerror(errno));
		_exit(127);
	}
	return pid;
}

/* The counters of interface ifname in n. */
static inline void
ns_link_stats(struct ns *n, const char *ifname, struct rtnl_link_stats64 *out)
{
	struct {
		struct nlmsghdr nh;
		struct ifinfomsg ifi;
		char attrs[64];
	} req;
	static char buf[32768];
	struct rtattr *rta;
	ssize_t len;
	size_t nlen = strlen(ifname) + 1;

	if (n->nl < 0) {
		ns_enter(n);
		n->nl = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
		ns_leave();
		if (n->nl < 0)
			fatal("%s: netlink socket", the_cluster.bench);
	}
	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_type = RTM_GETLINK;
	req.nh.nlmsg_flags = NLM_F_REQUEST;
	req.nh.nlmsg_seq = ++n->nlseq;
	req.ifi.ifi_family = AF_UNSPEC;
	rta = (struct rtattr *)((char *)&req + NLMSG_ALIGN(NLMSG_LENGTH(sizeof(req.ifi))));
	rta->rta_type = IFLA_IFNAME;
	rta->rta_len = (unsigned short)RTA_LENGTH(nlen);
	memcpy(RTA_DATA(rta), ifname, nlen);
	req.nh.nlmsg_len = NLMSG_ALIGN(NLMSG_LENGTH(sizeof(req.ifi))) + RTA_ALIGN(rta->rta_len);
	if (send(n->nl, &req, req.nh.nlmsg_len, 0) < 0)
		fatal("%s: netlink send", the_cluster.bench);
	for (;;) {
		if ((len = recv(n->nl, buf, sizeof(buf), 0)) < 0)
			fatal("%s: netlink recv", the_cluster.bench);
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)len);
		    h = NLMSG_NEXT(h, len)) {
			struct ifinfomsg *ifi;
			int alen;

			if (h->nlmsg_seq != n->nlseq)
				continue;
			if (h->nlmsg_type == NLMSG_ERROR)
				fatalx("%s: %s in %s: %s", the_cluster.bench, ifname, n->name,
				    strerror(-((struct nlmsgerr *)NLMSG_DATA(h))->error));
			if (h->nlmsg_type != RTM_NEWLINK)
				continue;
			ifi = NLMSG_DATA(h);
			alen = (int)IFLA_PAYLOAD(h);
			for (rta = IFLA_RTA(ifi); RTA_OK(rta, alen); rta = RTA_NEXT(rta, alen))
				if (rta->rta_type == IFLA_STATS64) {
					memcpy(out, RTA_DATA(rta), sizeof(*out));
					return;
				}
			fatalx("%s: %s in %s: no IFLA_STATS64", the_cluster.bench, ifname,
			    n->name);
		}
	}
}

static inline uint64_t
ns_rx_packets(struct ns *n, const char *ifname)
{
	struct rtnl_link_stats64 s;

	ns_link_stats(n, ifname, &s);
	return s.rx_packets;
}

/* ---- CPU time ------------------------------------------------------------------------ */

/* The "cpu" line of /proc/stat, its first 8 fields (user .. steal), ns. */
static inline void
cpu_stat_ns(uint64_t v[8])
{
	unsigned long long t[8] = { 0 };
	FILE *f = fopen("/proc/stat", "r");

	if (f == NULL || fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &t[0], &t[1],
	    &t[2], &t[3], &t[4], &t[5], &t[6], &t[7]) != 8)
		fatalx("%s: /proc/stat", the_cluster.bench);
	fclose(f);
	for (int i = 0; i < 8; i++)
		v[i] = t[i] * (1000000000ull / (uint64_t)sysconf(_SC_CLK_TCK));
}

/*
 * Idle time of every CPU together (idle + iowait), ns. Unlike the busy fields, which
 * are ticks sampled (and a tickless idle CPU's short bursts of softirq go mostly
 * unsampled), the kernel computes these from its idle clock when NO_HZ is on: to
 * USER_HZ's 10 ms, and precise.
 */
static inline uint64_t
cpu_idle_ns(void)
{
	uint64_t v[8];

	cpu_stat_ns(v);
	return v[3] + v[4];
}

/* CPUs busy over dt_ns by the idle clock, idle_ns the difference of two cpu_idle_ns. */
static inline double
cpu_busy_cores(uint64_t idle_ns, uint64_t dt_ns)
{
	return (double)sysconf(_SC_NPROCESSORS_ONLN) - (double)idle_ns / (double)dt_ns;
}

/* Busy time of every CPU together (all but idle and iowait), ns: tick-sampled. */
static inline uint64_t
cpu_busy_ns(void)
{
	uint64_t v[8], busy = 0;

	cpu_stat_ns(v);
	for (int i = 0; i < 8; i++)
		if (i != 3 && i != 4)
			busy += v[i];
	return busy;
}

/*
 * A paced generator's next batch: how many to send now, at most max, to keep rate a
 * second since t0 with done sent (rate 0: max, as fast as it can); 0 after a 20 us sleep
 * when it is ahead.
 */
static inline uint32_t
gen_pace(uint64_t rate, uint64_t t0, uint64_t done, uint32_t max)
{
	uint64_t due;

	if (rate == 0)
		return max;
	due = (clock_mono_ns() - t0) * rate / 1000000000ull;
	if (due <= done) {
		struct timespec ts = { 0, 20000 };

		nanosleep(&ts, NULL);
		return 0;
	}
	return due - done < max ? (uint32_t)(due - done) : max;
}

/*
 * Softirq time of every CPU together (/proc/stat), ns: where the kernel's own packet
 * path runs (NAPI, the backlog, bridge, vxlan), whichever process it interrupted.
 */
static inline uint64_t
cpu_softirq_ns(void)
{
	uint64_t v[8];

	cpu_stat_ns(v);
	return v[6];
}

/* utime + stime of a process, ns (0 when it is gone). */
static inline uint64_t
proc_cpu_ns(pid_t pid)
{
	char buf[1024];
	const char *p = proc_stat_fields(pid, buf, sizeof(buf));
	unsigned long long ut = 0, st = 0;

	/* The state, then fields 4..13, then utime, stime. */
	if (p == NULL || sscanf(p, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
	    &ut, &st) != 2)
		return 0;
	return (ut + st) * (1000000000ull / (uint64_t)sysconf(_SC_CLK_TCK));
}

/* Context switches of a process (voluntary + involuntary): its wake-ups, roughly. */
static inline uint64_t
proc_switches(pid_t pid)
{
	char path[64], line[256];
	unsigned long long v, total = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "voluntary_ctxt_switches: %llu", &v) == 1 ||
		    sscanf(line, "nonvoluntary_ctxt_switches: %llu", &v) == 1)
			total += v;
	fclose(f);
	return total;
}

/* A field of the Udp: lines of an snmp file (/proc/.../net/snmp): UDP counters. */
static inline uint64_t
udp_stat_at(const char *path, const char *field)
{
	char names[1024], vals[1024], *np, *vp, *n, *v;
	FILE *f;

	if ((f = fopen(path, "r")) == NULL)
		return 0;
	while (fgets(names, sizeof(names), f))
		if (strncmp(names, "Udp: ", 5) == 0 && fgets(vals, sizeof(vals), f))
			break;
	fclose(f);
	if (strncmp(names, "Udp: ", 5) != 0)
		return 0;
	np = names + 5;
	vp = vals + 5;
	while ((n = strsep(&np, " \n")) != NULL && (v = strsep(&vp, " \n")) != NULL)
		if (strcmp(n, field) == 0)
			return strtoull(v, NULL, 10);
	return 0;
}

/* PID's namespace's UDP counter. */
static inline uint64_t
proc_udp_stat(pid_t pid, const char *field)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/net/snmp", (int)pid);
	return udp_stat_at(path, field);
}

/* n's UDP counter (read from inside it). */
static inline uint64_t
ns_udp_stat(const struct ns *n, const char *field)
{
	uint64_t v;

	ns_enter(n);
	v = udp_stat_at("/proc/thread-self/net/snmp", field);
	ns_leave();
	return v;
}

/* ---- frames -------------------------------------------------------------------------- */

static inline void
ip_csum(uint8_t *ip)
{
	uint32_t sum = 0;

	ip[10] = ip[11] = 0;
	for (int i = 0; i < 20; i += 2)
		sum += (uint32_t)ip[i] << 8 | ip[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	ip[10] = (uint8_t)(~sum >> 8);
	ip[11] = (uint8_t)~sum;
}

/*
 * An Ethernet + IPv4 + UDP frame of len bytes (no FCS; at least 42) in f: dst, src MACs;
 * src, dst IPv4 (host order); UDP ports sport -> 9 (discard), checksum 0.
 */
static inline void
frame_udp(uint8_t *f, size_t len, const uint8_t dst[6], const uint8_t src[6], uint32_t sip,
    uint32_t dip, uint16_t sport)
{
	uint8_t *ip = f + 14, *udp = ip + 20;
	size_t iplen = len - 14;

	memset(f, 0, len);
	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	f[12] = 0x08;
	f[13] = 0x00;
	ip[0] = 0x45;
	ip[2] = (uint8_t)(iplen >> 8);
	ip[3] = (uint8_t)iplen;
	ip[6] = 0x40;		/* DF */
	ip[8] = 64;
	ip[9] = IPPROTO_UDP;
	for (int i = 0; i < 4; i++) {
		ip[12 + i] = (uint8_t)(sip >> (24 - 8 * i));
		ip[16 + i] = (uint8_t)(dip >> (24 - 8 * i));
	}
	ip_csum(ip);
	udp[0] = (uint8_t)(sport >> 8);
	udp[1] = (uint8_t)sport;
	udp[3] = 9;
	udp[4] = (uint8_t)((iplen - 20) >> 8);
	udp[5] = (uint8_t)(iplen - 20);
}

/* ---- generators ---------------------------------------------------------------------- */

enum { GEN_IDLE, GEN_RUN, GEN_EXIT };

/* Shared with the generator child; the benchmark writes cmd and the payloads. */
struct gen_shared {
	uint32_t cmd;			/* GEN_* */
	uint32_t state;			/* the child's: GEN_IDLE or GEN_RUN */
	uint64_t rate;			/* datagrams/frames a second, 0: as fast as it can */
	uint64_t sent;			/* accepted by the kernel, since the start */
	uint32_t nvar;			/* payloads to cycle through, 1..GEN_VARIANTS */
	uint32_t len;			/* bytes of each */
	struct sockaddr_in to;		/* UDP: where to, read at each batch */
	/*
	 * Many destinations (spread != 0): before each send, the frame at spread_off in
	 * the payload gets the destination of rule k, k drawn at random in [0, spread):
	 * IPv4 spread_ip + k, MAC gen_rule_mac(spread_mac, k) (header checksum redone).
	 * Needs nvar >= GEN_BATCH, so that a batch's frames are distinct buffers.
	 */
	uint32_t spread, spread_ip, spread_off;
	uint8_t spread_mac[2];
	uint16_t lens[GEN_VARIANTS];	/* a payload's own length (IMIX), 0: len */
	uint8_t data[GEN_VARIANTS][GEN_FRAME_MAX];
};

struct gen {
	struct gen_shared *sh;
	pid_t pid;
};

/* The MAC of rule k of a generator's spread: prefix p, then k's four bytes. */
static inline void
gen_rule_mac(const uint8_t p[2], uint32_t k, uint8_t mac[6])
{
	mac[0] = p[0];
	mac[1] = p[1];
	for (int i = 0; i < 4; i++)
		mac[2 + i] = (uint8_t)(k >> (24 - 8 * i));
}

/* Frame f (Ethernet + IPv4) to rule k of sh's spread. */
static inline void
gen_spread_frame(const struct gen_shared *sh, uint8_t *f, uint32_t k)
{
	uint32_t ip = sh->spread_ip + k;

	gen_rule_mac(sh->spread_mac, k, f);
	for (int i = 0; i < 4; i++)
		f[14 + 16 + i] = (uint8_t)(ip >> (24 - 8 * i));
	ip_csum(f + 14);
}

static inline void __attribute__((noreturn))
gen_child(struct gen_shared *sh, int fd, bool udp)
{
	struct mmsghdr msg[GEN_BATCH];
	struct iovec iov[GEN_BATCH];
	uint32_t next = 0;
	uint64_t x = 0x9e3779b97f4a7c15ull ^ (uint64_t)getpid();

	memset(msg, 0, sizeof(msg));
	for (;;) {
		uint32_t cmd = __atomic_load_n(&sh->cmd, __ATOMIC_ACQUIRE);
		uint64_t t0, done = 0;

		if (cmd == GEN_EXIT)
			_exit(0);
		if (cmd == GEN_IDLE) {
			__atomic_store_n(&sh->state, GEN_IDLE, __ATOMIC_RELEASE);
			usleep(1000);
			continue;
		}
		__atomic_store_n(&sh->state, GEN_RUN, __ATOMIC_RELEASE);
		t0 = clock_mono_ns();
		while (__atomic_load_n(&sh->cmd, __ATOMIC_ACQUIRE) == GEN_RUN) {
			uint32_t n = gen_pace(sh->rate, t0, done, GEN_BATCH);
			int r;

			if (n == 0)
				continue;
			for (uint32_t i = 0; i < n; i++) {
				uint32_t spread = sh->spread;

				if (spread != 0) {
					/* xorshift64: cheap, and no pattern the lookups could use. */
					x ^= x << 13;
					x ^= x >> 7;
					x ^= x << 17;
					gen_spread_frame(sh, sh->data[next] + sh->spread_off,
					    (uint32_t)((x >> 11) % spread));
				}
				iov[i] = (struct iovec){ sh->data[next],
				    sh->lens[next] ? sh->lens[next] : sh->len };
				msg[i].msg_hdr = (struct msghdr){ .msg_iov = &iov[i],
				    .msg_iovlen = 1, .msg_name = udp ? &sh->to : NULL,
				    .msg_namelen = udp ? sizeof(sh->to) : 0 };
				if (++next >= sh->nvar)	/* nvar may have shrunk since */
					next = 0;
			}
			if ((r = sendmmsg(fd, msg, n, 0)) > 0) {
				done += (uint64_t)r;
				__atomic_fetch_add(&sh->sent, (uint64_t)r, __ATOMIC_RELAXED);
			}
		}
	}
}

static inline struct gen_shared *
gen_shared_new(void)
{
	struct gen_shared *sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (sh == MAP_FAILED)
		fatal("%s: mmap", the_cluster.bench);
	return sh;
}

/* A generator in n writing frames to interface ifname (AF_PACKET, no qdisc). */
static inline void
gen_packet(struct gen *g, const struct ns *n, const char *ifname)
{
	g->sh = gen_shared_new();
	if ((g->pid = ns_fork(n)) == 0) {
		struct sockaddr_ll ll = { .sll_family = AF_PACKET };
		int fd = socket(AF_PACKET, SOCK_RAW, 0), one = 1;

		if (fd < 0 || (ll.sll_ifindex = (int)if_nametoindex(ifname)) == 0 ||
		    bind(fd, (struct sockaddr *)&ll, sizeof(ll)) < 0) {
			fprintf(stderr, "%s: generator on %s: %s\n", the_cluster.bench, ifname,
			    strerror(errno));
			_exit(1);
		}
		(void)setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one));
		gen_child(g->sh, fd, false);
	}
}

/* A generator in n sending UDP datagrams from `from` (port 0: any) to g->sh->to. */
static inline void
gen_udp(struct gen *g, const struct ns *n, const struct sockaddr_in *from)
{
	g->sh = gen_shared_new();
	if ((g->pid = ns_fork(n)) == 0) {
		int fd = socket(AF_INET, SOCK_DGRAM, 0), v = 4 << 20;

		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v));
		if (fd < 0 || bind(fd, (const struct sockaddr *)from, sizeof(*from)) < 0) {
			fprintf(stderr, "%s: UDP generator: %s\n", the_cluster.bench,
			    strerror(errno));
			_exit(1);
		}
		gen_child(g->sh, fd, true);
	}
}

static inline void
gen_wait_state(struct gen *g, uint32_t state)
{
	for (int i = 0; __atomic_load_n(&g->sh->state, __ATOMIC_ACQUIRE) != state; i++) {
		int st = 0;
		pid_t r;

		if ((r = waitpid(g->pid, &st, WNOHANG)) != 0)
			fatalx("%s: the generator %s", the_cluster.bench, r < 0 ? strerror(errno) :
			    WIFSIGNALED(st) ? strsignal(WTERMSIG(st)) : "exited");
		if (i == 5000)
			fatalx("%s: the generator does not answer", the_cluster.bench);
		usleep(1000);
	}
}

static inline void
gen_run(struct gen *g)
{
	__atomic_store_n(&g->sh->cmd, GEN_RUN, __ATOMIC_RELEASE);
	gen_wait_state(g, GEN_RUN);
}

/* Stop sending; returns once the generator is idle. */
static inline void
gen_idle(struct gen *g)
{
	__atomic_store_n(&g->sh->cmd, GEN_IDLE, __ATOMIC_RELEASE);
	gen_wait_state(g, GEN_IDLE);
}

static inline uint64_t
gen_sent(const struct gen *g)
{
	return __atomic_load_n(&g->sh->sent, __ATOMIC_RELAXED);
}

static inline void
ns_sleep_ms(uint64_t ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/*
 * The options forward and gateway share, and what they make of them:
 *	-n ROUNDS -t SECONDS -s SIZE[,SIZE...] -r RATE -w
 * A run writes its results (full) only with the default sizes, as fast as the generator
 * can, at least 3 rounds of at least 2 s.
 */
#define PKT_SIZES_MAX	4

/*
 * A size of 0 (-s imix) is the simple IMIX, frames of 64, 594 and 1464 bytes 7:4:1 in
 * a cycle of 12 (1464: the classic 1518 less FCS, cut to a 1450-byte MTU's frame).
 */
#define PKT_IMIX	0
#define PKT_IMIX_CYCLE	12

/* The i-th frame's length in the IMIX cycle. */
static inline uint32_t
pkt_imix_len(uint32_t i)
{
	i %= PKT_IMIX_CYCLE;
	return i < 7 ? 64 : i < 11 ? 594 : 1464;
}

/* A size as a name: "64", "imix". */
static inline const char *
pkt_size_name(uint32_t size, char *buf, size_t len)
{
	if (size == PKT_IMIX)
		snprintf(buf, len, "imix");
	else
		snprintf(buf, len, "%u", size);
	return buf;
}

struct pkt_opts {
	uint32_t sizes[PKT_SIZES_MAX], nsizes;	/* frame sizes, bytes (PKT_IMIX) */
	uint64_t rounds, rate;			/* rate: frames a second, 0 as fast as it can */
	double secs;				/* a measurement's window */
	double full_secs;			/* the shortest window of a full run */
	bool wait_key;				/* -w: wait for a key after set-up */
	bool full;				/* the run writes its results */
};

static inline void
pkt_opts_init(struct pkt_opts *o)
{
	*o = (struct pkt_opts){ .sizes = { 64, 1400 }, .nsizes = 2, .rounds = 3, .secs = 2,
	    .full_secs = 2, .full = true };
}

/* One option of getopt: true when it is one of the shared ones (then taken), else false. */
static inline bool
pkt_opt(struct pkt_opts *o, int ch, char *arg)
{
	if (ch == 'n') {
		o->rounds = strtoull(arg, NULL, 10);
	} else if (ch == 't') {
		o->secs = strtod(arg, NULL);
	} else if (ch == 's') {
		char *s = arg, *tok;

		o->nsizes = 0;
		while ((tok = strsep(&s, ",")) != NULL && o->nsizes < PKT_SIZES_MAX)
			o->sizes[o->nsizes++] = strcmp(tok, "imix") == 0 ? PKT_IMIX :
			    (uint32_t)strtoul(tok, NULL, 10);
		o->full = false;
	} else if (ch == 'r') {
		o->rate = strtoull(arg, NULL, 10);
		o->full = false;
	} else if (ch == 'w') {
		o->wait_key = true;
	} else {
		return false;
	}
	return true;
}

/* The options make sense (else the caller prints its usage). */
static inline bool
pkt_opts_valid(const struct pkt_opts *o)
{
	return o->rounds != 0 && o->secs >= 0.1 && o->nsizes != 0;
}

/*
 * After the options: each size 42..1464 bytes (size_why: why, in the message), a short
 * run not full, root (root_why: what for). bench names the messages.
 */
static inline void
pkt_opts_check(struct pkt_opts *o, const char *bench, const char *size_why,
    const char *root_why)
{
	for (uint32_t i = 0; i < o->nsizes; i++)
		if (o->sizes[i] != PKT_IMIX && (o->sizes[i] < 42 || o->sizes[i] > 1464))
			fatalx("%s: a frame is 42..1464 bytes or imix (%s)", bench, size_why);
	if (o->rounds < 3 || o->secs < o->full_secs)
		o->full = false;
	if (geteuid() != 0)
		fatalx("%s: needs root (%s)", bench, root_why);
}

/* The end of a run: res to bench/results/BENCH.json if the run is full, else dropped. */
static inline int
pkt_results_write(const struct pkt_opts *o, json_t *res, const char *bench)
{
	if (!o->full) {
		printf("%s: a partial run (options): bench/results/%s.json not written\n",
		    bench, bench);
		json_decref(res);
		return 0;
	}
	return bench_write(res, bench) < 0;
}

#endif
