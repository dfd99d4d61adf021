/*
 * bench/learn: how soon a learn request becomes a rule a host can use (DESIGN.md §3.2-4).
 *
 * A controller, one gateway node (rule-store + syncd) and one host node (learner), on
 * loopback, from this build; a VPC of -v VMs on another host. This program plays the
 * gateway's forwarder: for each sample it pushes one learn request (shm/events.h
 * ev_learn_req, for a VM the learner does not hold yet) on the gateway's learn ring and
 * reads the learner's table (table_get, in a loop) until the rule is there. So a
 * sample is: ring push, syncd woken (io_uring futex wait), table lookup, LEARN encoded
 * and sent, the learner woken by the datagram, decoded, table_set. p50 and p99 over -n
 * learns, each of another VM, one at a time. Between looks at the table this process
 * yields its CPU (-w, below), so that it does not take a CPU from the path it measures.
 *
 * The path runs twice, side by side from one controller: without authentication (the
 * learn_p*, learn_vs_hops_p* rows) and with it (common/auth.h: syncd holds a cluster
 * secret, the learner its host key, every datagram is MACed and checked), another
 * gateway node and another host. Each learn is made on both, one after the other
 * (which goes first alternates), the same VM, so both share the same noise: the
 * learn_auth_p* rows are p50 and p99 with authentication against without, ratio off /
 * on (issue 11's goal: >= 0.9).
 *
 * Every sample starts once the processes on its path are asleep (/proc/PID/stat), as
 * when a learn comes on its own. Baselines, measured in the same run, one sample of
 * each after every learn so that they share its noise; their children block in the
 * kernel, as syncd and the learner do:
 *  udp		a datagram from this process to a child blocked in recv(2), which stores
 *		its sequence number in shared memory, polled as the table is: the floor of
 *		any message between two processes, one UDP hop on loopback.
 *  hops	the learn path's shape with no work: a record pushed on a shm/ring.h ring,
 *		a child woken from ring_wait (a futex) sends a datagram to a second child
 *		blocked in recv(2), which stores the sequence number in shared memory. Two
 *		wake-ups and a datagram, as the real path; what is left above it is syncd's
 *		and the learner's own work (and io_uring against plain system calls).
 *
 *	learn [-n LEARNS] [-v VMS] [-w yield|spin|nap]
 */
#include "bench/cluster.h"
#include "common/apiclient.h"
#include "common/clock.h"
#include "common/log.h"
#include "shm/events.h"
#include "shm/ring.h"
#include "shm/stats.h"
#include "shm/table.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>

#define VNI		7
#define VM_BASE		0x0a000001u	/* 10.0.0.1 */
#define HOST_VTEP	"127.0.13.2"	/* the learner listens here: LEARNs go to the VTEP */
#define SYNCD_ADDR	"127.0.13.1"
#define AUTH_VTEP	"127.0.13.4"	/* the same, with authentication */
#define AUTH_SYNCD	"127.0.13.3"
#define BASE_ADDR	"127.0.13.5"	/* the baselines' receiver */
#define WARMUP		100
#define SAMPLE_MAX_NS	(1000 * 1000000ull)	/* a sample not done by then is lost */

/*
 * -w: what this process does between two looks at the table (or the baselines' word).
 * yield, the default: it never sleeps, yet a process woken on its CPU runs at once. On
 * this 2-CPU machine a pure spin holds one CPU while the path needs two processes
 * (syncd, then the learner) woken one after the other: the second then waits for the
 * spinner's time slice: p99 rose from 0.15-0.17 ms to 0.2-0.45 ms (to 1-3 ms when the
 * samples ran back to back), and the two-hop baseline's with it, not the one-hop one's.
 * nap sleeps 2 us a time and pays a timer wake-up on every sample.
 */
enum poll_mode { POLL_SPIN, POLL_YIELD, POLL_NAP };
static enum poll_mode poll_mode = POLL_YIELD;

static void
poll_pause(void)
{
	struct timespec ts = { 0, 2000 };

	if (poll_mode == POLL_YIELD) {
		sched_yield();
	} else if (poll_mode == POLL_NAP) {
		nanosleep(&ts, NULL);
	} else {
#if defined(__x86_64__) || defined(__i386__)
		__builtin_ia32_pause();
#endif
	}
}

/* A baseline datagram: which word to store, and what. */
struct base_msg {
	uint32_t kind;
	uint32_t seq;
};

/* The words the baselines' receiver stores, one cache line each. */
struct base_shared {
	uint32_t seq[2][16];
};

#define BASE_UDP	0
#define BASE_HOPS	1

static int
udp_socket(const struct sockaddr_in *bind_to)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	if (fd < 0 || (bind_to && bind(fd, (const struct sockaddr *)bind_to,
	    sizeof(*bind_to)) < 0))
		fatal("learn: baseline socket");
	return fd;
}

/* Child: the baselines' receiver, blocked in recv(2) like a process with nothing to do. */
static void __attribute__((noreturn))
base_receiver(int fd, struct base_shared *sh)
{
	struct base_msg m;

	for (;;) {
		if (recv(fd, &m, sizeof(m), 0) != sizeof(m) || m.kind > BASE_HOPS)
			continue;
		/* Release: pairs with the acquire load of the polling parent. */
		__atomic_store_n(&sh->seq[m.kind][0], m.seq, __ATOMIC_RELEASE);
	}
}

/* Child: the middle hop of "hops": woken by the ring, sends a datagram on. */
static void __attribute__((noreturn))
base_relay(const char *ring_seg, const struct sockaddr_in *to)
{
	struct ring r;
	uint32_t rec[4];
	int fd;

	if (ring_attach(&r, ring_seg, sizeof(rec), EV_LEARN_REQ_TAG) < 0) {
		fprintf(stderr, "learn: baseline relay: %s\n", r.seg.err);
		_exit(1);
	}
	fd = udp_socket(NULL);
	for (;;) {
		while (ring_pop(&r, rec, 1) == 1) {
			struct base_msg m = { BASE_HOPS, rec[0] };

			sendto(fd, &m, sizeof(m), 0, (const struct sockaddr *)to, sizeof(*to));
		}
		ring_wait(&r, -1);
	}
}

static double
pct(const uint64_t *v, size_t n, double p)
{
	return v[(size_t)((n - 1) * p)] / 1000.0;
}

/* Poll until the receiver stored seq in word kind; ns from t0, 0 when lost. */
static uint64_t
base_wait(struct base_shared *sh, int kind, uint32_t seq, uint64_t t0)
{
	for (;;) {
		/* Acquire: pairs with the receiver's release store. */
		if (__atomic_load_n(&sh->seq[kind][0], __ATOMIC_ACQUIRE) == seq)
			return clock_mono_ns() - t0;
		if (clock_mono_ns() - t0 > SAMPLE_MAX_NS)
			return 0;
		poll_pause();
	}
}

/* A process whose state this program watches: its /proc/PID/stat, kept open. */
struct watched {
	int fd;
};

static void
watch(struct watched *w, pid_t pid)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((w->fd = open(path, O_RDONLY)) < 0)
		fatal("learn: %s", path);
}

static bool
asleep(const struct watched *w)
{
	char buf[512], *p;
	ssize_t n = pread(w->fd, buf, sizeof(buf) - 1, 0);

	if (n <= 0)
		return true;	/* gone: the sample will say so */
	buf[n] = '\0';
	/* The state follows the command's closing parenthesis. */
	return (p = strrchr(buf, ')')) != NULL && p[1] == ' ' && p[2] == 'S';
}

/*
 * Before a sample: every process on its path is asleep, waiting for work, as when a
 * learn comes on its own. Back to back, a sample would often find the last one's
 * processes still awake (going to sleep takes syncd a membarrier(2) and an io_uring
 * wait), and a baseline made of simpler processes would gain more from it.
 */
static void
wait_asleep(const struct watched *w, int n)
{
	uint64_t t0 = clock_mono_ns();

	for (int i = 0; i < n; i++)
		while (!asleep(&w[i]) && clock_mono_ns() - t0 < SAMPLE_MAX_NS)
			sched_yield();
}

/* A gateway's syncd and a host's learner, the path a learn takes; with or without auth. */
struct lpath {
	bool auth;
	const char *node_gw, *node_host;
	uint32_t vtep;			/* the host's, host byte order */
	struct watched w[2];		/* syncd, learner */
	struct stats sst, lst;
	struct table *gw, *lt;
	struct ring ring;		/* the learn ring: this process is the forwarder */
};

/*
 * Start p's rule-store, syncd and learner (host `host` at vtep). With auth: the
 * cluster secret for syncd, the host's key for the learner (cluster.h).
 */
static void
lpath_start(struct lpath *p, bool auth, int port, uint64_t cap, const char *syncd_addr,
    const char *vtep, const char *host, const struct auth_key *secret,
    const char *secret_path)
{
	char conf[2048], sauth[512], lauth[512], name[64];
	int syncd_port, learner_port;

	p->auth = auth;
	p->node_gw = cluster_node(auth ? "gwa" : "gw");
	p->node_host = cluster_node(auth ? "h1a" : "h1");
	inet_pton(AF_INET, vtep, &p->vtep);
	p->vtep = ntohl(p->vtep);
	syncd_port = cluster_free_port(syncd_addr);
	learner_port = cluster_free_port(vtep);
	if (auth) {
		snprintf(sauth, sizeof(sauth), " auth = true;\n auth_secret = \"%s\";\n",
		    secret_path);
		snprintf(lauth, sizeof(lauth), " auth = true;\n auth_key = \"%s\";\n",
		    cluster_auth_host(secret, host));
	} else {
		snprintf(sauth, sizeof(sauth), " auth = false;\n");
		snprintf(lauth, sizeof(lauth), " auth = false;\n");
	}
	snprintf(conf, sizeof(conf), "node = \"%s\";\nrule_store = {\n tls = false;\n"
	    " controllers = "
	    "[\"127.0.0.1:%d\"];\n table_capacity = %llu;\n table_max_vnis = 16;\n};\n"
	    "syncd = {\n listen = \"%s:%d\";\n learner_port = %d;\n allow = [\"127.0.0.0/8\"];\n"
	    "%s};\n", p->node_gw, port, (unsigned long long)cap, syncd_addr, syncd_port,
	    learner_port, sauth);
	snprintf(name, sizeof(name), "%s", auth ? "gw-auth" : "gw");
	cluster_start("vpcfwd-rule-store", conf, name);
	snprintf(name, sizeof(name), "%s", auth ? "gw-auth-syncd" : "gw-syncd");
	watch(&p->w[0], cluster_start("vpcfwd-syncd", conf, name));
	snprintf(conf, sizeof(conf), "node = \"%s\";\nlearner = {\n tls = false;\n"
	    " host = \"%s\";\n%s"
	    " listen = \"%s:%d\";\n gateways = [\"%s:%d\"];\n controllers = [\"127.0.0.1:%d\"];\n"
	    " table_capacity = %llu;\n table_max_vnis = 16;\n};\n", p->node_host, host, lauth,
	    vtep, learner_port, syncd_addr, syncd_port, port, (unsigned long long)cap);
	watch(&p->w[1], cluster_start("vpcfwd-learner", conf, auth ? "learner-auth" :
	    "learner"));
}

/* Once the controller has the VPC: p's tables and counters, and its learn ring. */
static void
lpath_attach(struct lpath *p, const struct stats *cst)
{
	p->gw = cluster_table_wait(p->node_gw, "rule-store");
	cluster_applied_wait(p->gw, cst);
	cluster_stats_wait(&p->sst, p->node_gw, "syncd");
	cluster_stats_wait(&p->lst, p->node_host, "learner");
	p->lt = cluster_table_wait(p->node_host, "learner");
	if (learn_req_ring_create(&p->ring, p->node_gw, "forwarder", EV_LEARN_REQ_RING,
	    1024, 0) < 0)
		fatalx("learn: %s", p->ring.seg.err);
}

/*
 * The first learn: syncd attaches the ring within its retry interval, and the learner
 * starts syncing the VPC (with auth, syncd sends a LEARN only once the host's own
 * requests told it who is at that VTEP: learn_no_host until then).
 */
static void
lpath_first(struct lpath *p, uint32_t ip)
{
	struct ev_learn_req ev = { .vni = VNI, .ip = ip, .src_vtep = p->vtep };
	struct table_rule r;
	uint64_t t0 = clock_mono_ns();

	while (!table_get(p->lt, VNI, ip, &r)) {
		if (clock_mono_ns() - t0 > 10000000000ull)
			fatalx("learn: the first learn never reached the learner%s",
			    p->auth ? " (with auth)" : "");
		learn_req_ring_push(&p->ring, &ev, 1);
		usleep(20000);
	}
}

static void
lpath_print_counters(const struct lpath *p)
{
	printf("%s: syncd: learn_rx %llu learn_tx %llu learn_miss %llu learn_racing %llu "
	    "learn_no_host %llu tx_nobuf %llu auth_failed %llu; learner: learn_rx %llu "
	    "learn_installed %llu learn_stale %llu auth_failed %llu\n",
	    p->auth ? "auth" : "no auth",
	    (unsigned long long)cluster_stat(&p->sst, "learn_rx"),
	    (unsigned long long)cluster_stat(&p->sst, "learn_tx"),
	    (unsigned long long)cluster_stat(&p->sst, "learn_miss"),
	    (unsigned long long)cluster_stat(&p->sst, "learn_racing"),
	    (unsigned long long)cluster_stat(&p->sst, "learn_no_host"),
	    (unsigned long long)cluster_stat(&p->sst, "tx_nobuf"),
	    (unsigned long long)cluster_stat(&p->sst, "auth_failed"),
	    (unsigned long long)cluster_stat(&p->lst, "learn_rx"),
	    (unsigned long long)cluster_stat(&p->lst, "learn_installed"),
	    (unsigned long long)cluster_stat(&p->lst, "learn_stale"),
	    (unsigned long long)cluster_stat(&p->lst, "auth_failed"));
}

static void
lpath_close(struct lpath *p)
{
	ring_close(&p->ring);
	table_close(p->gw);
	table_close(p->lt);
	stats_close(&p->sst);
	stats_close(&p->lst);
	close(p->w[0].fd);
	close(p->w[1].fd);
}

/* One learn: pushed on the learn ring, until the learner's table has it. 0: lost. */
static uint64_t
learn_sample(struct ring *lr, struct table *lt, uint32_t ip, uint32_t src_vtep)
{
	struct ev_learn_req ev = { .vni = VNI, .ip = ip, .src_vtep = src_vtep };
	struct table_rule r;
	uint64_t t0 = clock_mono_ns();

	if (learn_req_ring_push(lr, &ev, 1) != 1)
		fatalx("learn: the learn ring is full: is syncd reading it?");
	for (;;) {
		if (table_get(lt, VNI, ip, &r))
			return clock_mono_ns() - t0;
		if (clock_mono_ns() - t0 > SAMPLE_MAX_NS)
			return 0;
		poll_pause();
	}
}

static uint64_t
udp_sample(int fd, const struct sockaddr_in *to, struct base_shared *sh, uint32_t seq)
{
	struct base_msg m = { BASE_UDP, seq };
	uint64_t t0 = clock_mono_ns();

	sendto(fd, &m, sizeof(m), 0, (const struct sockaddr *)to, sizeof(*to));
	return base_wait(sh, BASE_UDP, seq, t0);
}

static uint64_t
hops_sample(struct ring *r, struct base_shared *sh, uint32_t seq)
{
	uint32_t rec[4] = { seq };
	uint64_t t0 = clock_mono_ns();

	ring_push(r, rec, 1);
	return base_wait(sh, BASE_HOPS, seq, t0);
}

/* Sample i of a kind: kept past the warm-up, a lost one counted at the bound. */
static void
record(uint64_t *v, uint64_t i, uint64_t ns, uint64_t *lost)
{
	if (i < WARMUP)
		return;
	if (ns == 0)
		(*lost)++;
	v[i - WARMUP] = ns ? ns : SAMPLE_MAX_NS;
}

int
main(int argc, char **argv)
{
	uint64_t n = 4000, vms = 20000, *lat, *alat, *udp, *hops, lost = 0, alost = 0;
	uint64_t lost_base = 0;
	uint32_t *order;
	const char *node_ctl, *node_base, *secret_path;
	struct sockaddr_in recv_addr = { .sin_family = AF_INET };
	struct watched base_path[2];	/* relay, receiver */
	struct lpath lp[2];		/* without auth, with */
	struct auth_key secret;
	pid_t pid;
	struct base_shared *sh;
	struct stats cst;
	struct ring base_ring;
	struct apiclient c;
	int ch, port, send_fd, recv_fd;
	json_t *res;

	log_init("bench-learn", LOG_LVL_INFO);
	while ((ch = getopt(argc, argv, "n:v:w:")) != -1) {
		if (ch == 'n')
			n = strtoull(optarg, NULL, 10);
		else if (ch == 'v')
			vms = strtoull(optarg, NULL, 10);
		else if (ch == 'w' && strcmp(optarg, "spin") == 0)
			poll_mode = POLL_SPIN;
		else if (ch == 'w' && strcmp(optarg, "yield") == 0)
			poll_mode = POLL_YIELD;
		else if (ch == 'w' && strcmp(optarg, "nap") == 0)
			poll_mode = POLL_NAP;
		else
			fatalx("usage: learn [-n LEARNS] [-v VMS] [-w yield|spin|nap]");
	}
	/* -w nap: naps of 2 us, not the default 50 us of slack. */
	prctl(PR_SET_TIMERSLACK, 1000UL);
	if (n == 0 || vms < n + WARMUP + 1 || vms > 100000)
		fatalx("learn: need 1 <= LEARNS and LEARNS + %d < VMS <= 100000", WARMUP);
	cluster_init("learn");
	node_ctl = cluster_node("ctl");
	node_base = cluster_node("base");

	/* The baselines' children first, before any descriptor they should not inherit. */
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		fatal("learn: mmap");
	memset(sh, 0xff, sizeof(*sh));
	inet_pton(AF_INET, BASE_ADDR, &recv_addr.sin_addr);
	recv_fd = udp_socket(&recv_addr);
	{
		socklen_t len = sizeof(recv_addr);

		getsockname(recv_fd, (struct sockaddr *)&recv_addr, &len);
	}
	if ((pid = cluster_fork()) == 0)
		base_receiver(recv_fd, sh);
	watch(&base_path[1], pid);
	close(recv_fd);
	/* The same ring type as the learn ring, so the relay's wake-up is syncd's. */
	if (learn_req_ring_create(&base_ring, node_base, "bench", "ring", 1024, 0) < 0)
		fatalx("learn: %s", base_ring.seg.err);
	if ((pid = cluster_fork()) == 0)
		base_relay(base_ring.seg.name, &recv_addr);
	watch(&base_path[0], pid);
	send_fd = udp_socket(NULL);

	port = cluster_controller();
	secret_path = cluster_auth_secret(&secret);
	lpath_start(&lp[0], false, port, 2 * vms, SYNCD_ADDR, HOST_VTEP, "h1", NULL, NULL);
	lpath_start(&lp[1], true, port, 2 * vms, AUTH_SYNCD, AUTH_VTEP, "h3", &secret,
	    secret_path);

	cluster_api_connect(&c);
	json_decref(cluster_call(&c, json_pack("{s:s, s:s, s:i, s:[s]}", "op", "vpc.create",
	    "name", "v", "vni", VNI, "cidrs", "10.0.0.0/8")));
	json_decref(cluster_call(&c, json_pack("{s:s, s:s, s:s}", "op", "host.create", "name",
	    "h1", "vtep", HOST_VTEP)));
	json_decref(cluster_call(&c, json_pack("{s:s, s:s, s:s}", "op", "host.create", "name",
	    "h2", "vtep", "192.168.0.2")));
	json_decref(cluster_call(&c, json_pack("{s:s, s:s, s:s}", "op", "host.create", "name",
	    "h3", "vtep", AUTH_VTEP)));
	{
		json_t *list = json_array();

		for (uint64_t i = 0; i < vms; i++) {
			char name[32], ip[32];
			uint32_t a = VM_BASE + (uint32_t)i;

			snprintf(name, sizeof(name), "vm%llu", (unsigned long long)i);
			snprintf(ip, sizeof(ip), "%u.%u.%u.%u", a >> 24, a >> 16 & 255,
			    a >> 8 & 255, a & 255);
			json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:s}", "name", name,
			    "vpc", "v", "ip", ip, "host", "h2"));
		}
		json_decref(cluster_call(&c, json_pack("{s:s, s:o}", "op", "vm.import", "vms",
		    list)));
	}
	cluster_stats_wait(&cst, node_ctl, "controller");
	for (int k = 0; k < 2; k++)
		lpath_attach(&lp[k], &cst);

	/* A random order of the VMs, so no sample gains from its neighbour's cache lines. */
	order = calloc(vms, sizeof(*order));
	lat = calloc(n, sizeof(*lat));
	alat = calloc(n, sizeof(*alat));
	udp = calloc(n, sizeof(*udp));
	hops = calloc(n, sizeof(*hops));
	if (order == NULL || lat == NULL || alat == NULL || udp == NULL || hops == NULL)
		fatalx("learn: out of memory");
	for (uint64_t i = 0; i < vms; i++)
		order[i] = VM_BASE + (uint32_t)i;
	srandom((unsigned)getpid());
	for (uint64_t i = vms - 1; i > 0; i--) {
		uint64_t j = (uint64_t)random() % (i + 1);
		uint32_t x = order[i];

		order[i] = order[j];
		order[j] = x;
	}

	/* The first learn on each path, then WARMUP samples to settle caches, not counted. */
	for (int k = 0; k < 2; k++)
		lpath_first(&lp[k], order[0]);
	for (uint64_t i = 0; i < WARMUP + n; i++) {
		/* The same VM on both paths; which goes first alternates. */
		for (int j = 0; j < 2; j++) {
			struct lpath *p = &lp[(i + (uint64_t)j) % 2];

			wait_asleep(p->w, 2);
			record(p->auth ? alat : lat, i, learn_sample(&p->ring, p->lt,
			    order[1 + i], p->vtep), p->auth ? &alost : &lost);
		}
		wait_asleep(&base_path[1], 1);
		record(udp, i, udp_sample(send_fd, &recv_addr, sh, (uint32_t)i), &lost_base);
		wait_asleep(base_path, 2);
		record(hops, i, hops_sample(&base_ring, sh, (uint32_t)i), &lost_base);
	}
	qsort(lat, n, sizeof(*lat), bench_cmp_u64);
	qsort(alat, n, sizeof(*alat), bench_cmp_u64);
	qsort(udp, n, sizeof(*udp), bench_cmp_u64);
	qsort(hops, n, sizeof(*hops), bench_cmp_u64);

	printf("learn: learn request on the gateway's ring -> rule in the learner's table, "
	    "%llu learns one at a time (VPC of %llu VMs)\n", (unsigned long long)n,
	    (unsigned long long)vms);
	printf("%-44s %8s %8s %8s %8s\n", "", "p50 us", "p90 us", "p99 us", "max us");
	printf("%-44s %8.1f %8.1f %8.1f %8.1f\n", "learn request -> rule at the learner",
	    pct(lat, n, 0.5), pct(lat, n, 0.9), pct(lat, n, 0.99), pct(lat, n, 1));
	printf("%-44s %8.1f %8.1f %8.1f %8.1f\n", "the same with authentication",
	    pct(alat, n, 0.5), pct(alat, n, 0.9), pct(alat, n, 0.99), pct(alat, n, 1));
	printf("%-44s %8.1f %8.1f %8.1f %8.1f\n", "baseline udp: one UDP hop, 2 processes",
	    pct(udp, n, 0.5), pct(udp, n, 0.9), pct(udp, n, 0.99), pct(udp, n, 1));
	printf("%-44s %8.1f %8.1f %8.1f %8.1f\n", "baseline hops: ring wake + UDP hop, no work",
	    pct(hops, n, 0.5), pct(hops, n, 0.9), pct(hops, n, 0.99), pct(hops, n, 1));
	printf("ratio p50: %.2fx udp, %.2fx hops; p99: %.2fx udp, %.2fx hops "
	    "(goal: p50 < 200 us, p99 < 1000 us)\n", pct(lat, n, 0.5) / pct(udp, n, 0.5),
	    pct(lat, n, 0.5) / pct(hops, n, 0.5), pct(lat, n, 0.99) / pct(udp, n, 0.99),
	    pct(lat, n, 0.99) / pct(hops, n, 0.99));
	printf("auth: off / on p50 %.3f, p99 %.3f (goal: >= 0.9)\n",
	    pct(lat, n, 0.5) / pct(alat, n, 0.5), pct(lat, n, 0.99) / pct(alat, n, 0.99));
	for (int k = 0; k < 2; k++)
		lpath_print_counters(&lp[k]);
	if (lost || alost || lost_base)
		printf("LOST: %llu learns (%llu with auth) and %llu baseline samples not seen "
		    "within %llu ms (counted at that bound)\n", (unsigned long long)lost,
		    (unsigned long long)alost, (unsigned long long)lost_base,
		    SAMPLE_MAX_NS / 1000000);

	res = bench_results();
	bench_add(res, "learn_p50_us", pct(lat, n, 0.5), "us", "UDP one-way p50",
	    pct(udp, n, 0.5));
	bench_add(res, "learn_p99_us", pct(lat, n, 0.99), "us", "UDP one-way p99",
	    pct(udp, n, 0.99));
	bench_add(res, "learn_vs_hops_p50_us", pct(lat, n, 0.5), "us",
	    "ring wake + UDP hop, no work, p50", pct(hops, n, 0.5));
	bench_add(res, "learn_vs_hops_p99_us", pct(lat, n, 0.99), "us",
	    "ring wake + UDP hop, no work, p99", pct(hops, n, 0.99));
	bench_add(res, "learn_lost", (double)lost, "learns", "learns sent", (double)n);
	bench_add_auth(res, "learn_auth_p50_us", pct(alat, n, 0.5), "us", "learn p50",
	    pct(lat, n, 0.5), false);
	bench_add_auth(res, "learn_auth_p99_us", pct(alat, n, 0.99), "us", "learn p99",
	    pct(lat, n, 0.99), false);
	bench_add(res, "learn_auth_lost", (double)alost, "learns", "learns sent", (double)n);

	for (int k = 0; k < 2; k++)
		lpath_close(&lp[k]);
	ring_close(&base_ring);
	stats_close(&cst);
	apiclient_close(&c);
	close(send_fd);
	for (int i = 0; i < 2; i++)
		close(base_path[i].fd);
	cluster_end();
	return bench_write(res, "learn") < 0;
}
