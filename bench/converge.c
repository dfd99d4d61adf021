/*
 * bench/converge: how fast one change reaches the learners that hold its VPC through a
 * gateway's syncd, and how many sync requests one syncd answers. Real processes: a
 * controller; two gateways on it, each a rule-store and a syncd (one without
 * authentication, one with: below); and at each gateway -R (4) real learner processes
 * (procs/learner, bench/real.h: each a host of its own on 127.0.15.N, which learns the
 * VM that migrates by a LEARN, its learn request pushed through the gateway
 * forwarder's learn ring as a first packet would, then long-polls that gateway's syncd
 * for the VPC). Simulated, in this process: at each gateway -l (1000) learners
 * (bench/fleet.h, the same fleet as bench/scale's: each a UDP socket bound to its own
 * address in 127.14.0.0/16, so syncd's per-source admission sees that many sources as
 * in production, a host name and key, and the real protocol with the learner's state:
 * versions, paging, long polls, timeouts, probes). So each syncd serves -l + -R
 * learners (1004), of which -R are real.
 *
 *  converge	each learner keeps one request parked at syncd (wait_ms 2000) for a VPC of
 *		1000 VMs, and asks again from its new version after every answer. Each
 *		sample (-c of them, 40): once every learner of the gateway is parked
 *		(syncd's `parked` gauge), a VM of that VPC migrates through the API; t0
 *		just before the call. Baseline in the same run, for the same changes: t0
 *		until the new rule is in the gateway rule-store's table (polled every 20 us
 *		by a reader of the table, as bench/replicate measures), so each ratio is
 *		what the sync fan-out adds to what every gateway pays anyway. Latencies:
 *		- simulated learners (converge_p50_ms, _p99_ms over every (learner,
 *		  change); converge_last_p50_ms, _p99_ms: per change, when the last of them
 *		  has it): t0 to the kernel's receive timestamp (SO_TIMESTAMPNS) of the
 *		  answer carrying the change (checked: the VM's new VTEP at the new
 *		  version), i.e. when syncd's send reached the learner's socket, not
 *		  counting what this one process adds by reading 1000 sockets (printed
 *		  apart, as "read by this process"; also printed: "first", and "fan-out",
 *		  from the table to each learner);
 *		- real learners (converge_real_p50_ms over every (learner, change),
 *		  converge_real_last_ms the slowest of them): t0 to the new rule (VTEP and
 *		  version checked) in the learner's own table, the one its forwarder
 *		  reads: the learner's wake-up, checks and table write included. Polled
 *		  by this process after every 8 sockets of answers it reads (~0.1 ms of
 *		  its work), then every ~0.14 ms once every simulated learner has the
 *		  change (a poll thread or 20 us naps would take half a CPU of the two
 *		  from the path measured): up to that much, and any wait for a CPU, on
 *		  top.
 *  serve	every simulated learner keeps -k (2) requests in flight with wait_ms 0 and
 *		asks again as each answer arrives: a VPC with nothing new (idle), 32 such
 *		VPCs a request (idle32, the learner's default sync_batch), and a VPC asked
 *		from version 0, whose answer is a full page (page). This is a load
 *		generator on the fleet's sockets, not learners: it sends prepared requests
 *		as fast as answers come. Value: answers a second by syncd's own counter
 *		(resp_tx), and syncd's CPU time per answer (/proc/PID/schedstat). Baseline
 *		in the same run, on the same sockets and load generator: a trivial echo
 *		server (recvmmsg, sendmmsg, 64 at a time) answering each request with a
 *		datagram of the size of syncd's answer to it. syncd and the echo take
 *		turns, -r (5) rounds of -d (0.5) s each after 0.2 s of warm-up; each
 *		reports its median round, so a burst of load from elsewhere on the machine
 *		hits one round, not one side. With two CPUs, one for the server and one for
 *		the load generator, the idle case is bound by the generator: there CPU
 *		time per answer is the figure to compare. The real learners stay parked
 *		meanwhile (4 requests among thousands).
 *
 * Both phases run against both gateways: without authentication (the rows above) and
 * with it (common/auth.h: that syncd holds a cluster secret; each learner is a host
 * "hNNNNN" with its key derived from the secret, and MACs its requests; the simulated
 * ones in converge check each answer's MAC as the real learner does, in serve every
 * request is sealed beforehand, so the load generator's work is the same both ways).
 * converge's -c changes take turns in blocks of 5, without then with: the simulated
 * learners of the gateway not being measured are quiet (nothing parked), its real
 * learners stay parked and take each change too (4 answers a change, on both sides
 * alike). serve's rounds take turns: syncd without, syncd with, the echo. Rows
 * converge_auth_*: with against without, ratio off / on for latencies and CPU per
 * answer, on / off for answers a second (issue 11's goal: >= 0.9). serve's auth ratios
 * are paired: each round's with against the same round's without (run one after the
 * other), the median over rounds, so load from elsewhere that comes and goes between
 * rounds does not land on one side; the rows' values are the median rounds. Rows
 * converge_real_auth_p50_ms and _last_ms: the real learners with authentication, against
 * the authenticating gateway's table in the same changes (like every converge_real_*
 * row, not against the rows without).
 *
 *	converge [-l SIMULATED] [-R REAL] [-c CHANGES] [-k IN_FLIGHT] [-r ROUNDS]
 *	    [-d SECONDS] [-p MAX_PARKED]  (-l and -R a gateway; -R 1..6; -p: syncd.max_parked,
 *	    default 2 x (SIMULATED + REAL), at least 8192)
 */
#include "bench/cluster.h"
#include "bench/fleet.h"
#include "bench/real.h"
#include "common/apiclient.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/sync.h"
#include "shm/stats.h"
#include "shm/table.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>

#define C_VNI		7		/* the VPC the learners hold */
#define C_VMS		1000
#define M_IP		0x0a00c801u	/* 10.0.200.1: the VM that migrates */
#define VTEP_H1		0xc0a80001u
#define VTEP_H2		0xc0a80002u
#define IDLE_VNI	100		/* the first of IDLE_VPCS VPCs, one VM each */
#define IDLE_VPCS	32
#define SYNCD_ADDR	"127.0.14.1"
#define AUTH_SYNCD	"127.0.14.3"	/* the gateway with authentication */
#define REQ_MAX		(SYNC_HDR_SIZE + 16 + 12 + 28 * SYNC_VNIS_MAX + SYNC_MAC_SIZE)
#define SERVE_ID	(FLEET_PROBE_ID | 0x100)	/* serve's: a fleet takes a late
							   answer for a probe's */
#define ECHO_ADDR	0x7f000e02u	/* 127.0.14.2 */
#define REAL_MAX	6		/* real learners a gateway: a node each, of 16 */
#define CV_BLOCK	5		/* converge's changes on one gateway in a row */
#define MMSG		16		/* datagrams a socket reads or writes a call */
#define LOST_NS		(200 * 1000000ull)
#define ROUNDS_MAX	15
#define TABLE_NAP_NS	20000
#define REAL_BATCH	8		/* sockets the fleet reads between polls of the real
					   learners' tables (~0.1 ms of its work) */
#define REAL_NAP_NS	100000		/* then, between polls: ~136 us here, ~19 % of a
					   CPU (20 us naps: ~55 us, ~50 %) */

/* One converge run's latencies and what syncd did meanwhile. */
struct cv_result {
	int changes;
	uint64_t *tab;			/* commit -> gateway table, one a change */
	uint64_t *lat_k, *lat_u;	/* [sample * nsim + learner], ns after t0 */
	uint64_t *lat_real;		/* [sample * nreal + learner], ns after t0 */
	uint64_t real_wrong;		/* a real learner's rule not the change's */
	uint64_t cpu_wait, req_rx, park_full, tx_nobuf;
};

/* A gateway (rule-store and syncd), without authentication or with, and its learners. */
struct side {
	bool auth;
	const char *label;
	const char *node;
	pid_t syncd;
	struct sockaddr_in addr;
	struct stats st;
	struct table *gw;
	uint32_t c_gen, idle_gen[IDLE_VPCS];
	struct fleet fleet;		/* its simulated learners */
	struct real real[REAL_MAX];	/* its real learners */
	struct cv_result cvr;
};

/* One serve run's window. */
struct window {
	double secs;
	uint64_t answers;	/* read by the load generator */
	uint64_t lost;		/* requests given up after LOST_NS */
	uint64_t server_cpu_ns, gen_cpu_ns;
	uint64_t server_wait_ns, gen_wait_ns;	/* runnable, waiting for a CPU */
	uint64_t resp_tx, req_rx, resp_bytes, req_limited, tx_nobuf;	/* syncd only */
};

/* serve's load generator's state of a simulated learner's socket. */
struct slot {
	uint32_t inflight;
	uint64_t last_ns;
};

static int nsim = 1000, nreal = 4;
static uint32_t max_parked;
static struct side sides[2];	/* without authentication, with */
static struct side *cur;	/* the one being measured */
static struct slot *slots;	/* [nsim] */

static uint64_t
stat_get(const char *name)
{
	return cluster_stat(&cur->st, name);
}

static void
nap(uint64_t ns)
{
	struct timespec ts = { 0, (long)ns };

	nanosleep(&ts, NULL);
}

/* Until the current gateway's syncd holds want parked requests, pumping its fleet. */
static void
wait_parked(uint64_t want)
{
	uint64_t deadline = clock_mono_ns() + 5000000000ull;

	while (stat_get("parked") != want) {
		if (clock_mono_ns() > deadline)
			fatalx("converge: syncd holds %llu parked requests, not %llu, after 5 s "
			    "(req_rx %llu, req_limited %llu, park_full %llu, tx_nobuf %llu)",
			    (unsigned long long)stat_get("parked"), (unsigned long long)want,
			    (unsigned long long)stat_get("req_rx"),
			    (unsigned long long)stat_get("req_limited"),
			    (unsigned long long)stat_get("park_full"),
			    (unsigned long long)stat_get("tx_nobuf"));
		fleet_pump(&cur->fleet, 1);
	}
}

/* Room in each side's cvr for changes samples. */
static void
converge_alloc(int changes)
{
	for (int si = 0; si < 2; si++) {
		struct cv_result *r = &sides[si].cvr;

		*r = (struct cv_result){ .tab = calloc((size_t)changes, sizeof(*r->tab)),
		    .lat_k = calloc((size_t)changes * nsim, sizeof(*r->lat_k)),
		    .lat_u = calloc((size_t)changes * nsim, sizeof(*r->lat_u)),
		    .lat_real = calloc((size_t)changes * nreal, sizeof(*r->lat_real)) };
		if (r->tab == NULL || r->lat_k == NULL || r->lat_u == NULL ||
		    r->lat_real == NULL)
			fatalx("out of memory");
	}
}

/* parked requests that mean every learner of the current gateway waits for a change */
static uint64_t
all_parked(void)
{
	uint64_t n = (uint64_t)nsim + (uint64_t)nreal;

	/* Beyond max_parked, syncd answers at once and the learner asks again. */
	return n < max_parked ? n : max_parked;
}

/*
 * n more samples of converge against the current gateway, appended to cur->cvr.
 * moves: the migrations made so far (the VM goes to h2 and back, so each one changes
 * its rule); n more on return.
 */
static void
converge_run(struct apiclient *c, int n, int *moves)
{
	struct cv_result *res = &cur->cvr;
	struct fleet *f = &cur->fleet;
	struct table *gw = cur->gw;
	uint64_t cpu_wait, req_rx, park_full, tx_nobuf;
	struct table_vni_info vi;

	if (table_vni_get(gw, C_VNI, &vi) < 0)
		fatalx("converge: VNI %d is not in the gateway's table", C_VNI);
	cpu_wait = bench_schedstat(cur->syncd, 1);
	req_rx = stat_get("req_rx");
	park_full = stat_get("park_full");
	tx_nobuf = stat_get("tx_nobuf");
	fleet_start(f, C_VNI, cur->c_gen, vi.version);
	for (int k = 0; k < n; k++) {
		int s = res->changes + k;
		const char *host = *moves % 2 == 0 ? "h2" : "h1";
		uint32_t want_vtep = *moves % 2 == 0 ? VTEP_H2 : VTEP_H1;
		struct table_rule r;
		uint64_t deadline, t0;
		int real_has = 0;

		wait_parked(all_parked());
		++*moves;
		if (table_vni_get(gw, C_VNI, &vi) < 0)
			fatalx("converge: VNI %d left the gateway's table", C_VNI);
		real_reset(cur->real, nreal);
		t0 = clock_real_ns();
		json_decref(cluster_call(c, json_pack("{s:s, s:s, s:s}", "op", "vm.migrate",
		    "name", "m", "host", host)));
		deadline = clock_mono_ns() + 5000000000ull;
		while (!table_lookup(gw, C_VNI, M_IP, &r) || r.vtep != want_vtep) {
			if (clock_mono_ns() > deadline)
				fatalx("converge: change %d not in the gateway's table after 5 s",
				    s);
			nap(TABLE_NAP_NS);
		}
		res->tab[s] = clock_real_ns() - t0;
		/* The fleet's answers wait in its sockets until now: none is missed. */
		fleet_target(f, r.version);
		fleet_expect(f, M_IP, want_vtep);
		/* After the block's last change, a learner stops asking once it has it. */
		if (k + 1 == n)
			fleet_settle(f);
		/*
		 * Time for a lost answer to be asked again (FLEET_TIMEOUT_NS) and answered.
		 * The real learners' tables are polled after every few sockets the fleet
		 * reads (REAL_BATCH), then every REAL_NAP_NS once the fleet has the change. (A
		 * real learner cannot have it before the gateway's table: its syncd serves
		 * from there. Any version after the VPC's at t0 is the change's: checked
		 * below.)
		 */
		deadline = clock_mono_ns() + 6000000000ull;
		while ((real_has = real_poll(cur->real, nreal, C_VNI, M_IP, vi.version + 1)) <
		    nreal || f->has < f->n) {
			if (clock_mono_ns() > deadline)
				fatalx("converge: change %d reached %d of %d simulated and %d "
				    "of %d real learners in 6 s (park_woken %llu, tx_nobuf "
				    "%llu, req_limited %llu; the fleet's relearns %llu, "
				    "timeouts %llu)",
				    s, f->has, f->n, real_has, nreal,
				    (unsigned long long)stat_get("park_woken"),
				    (unsigned long long)stat_get("tx_nobuf"),
				    (unsigned long long)stat_get("req_limited"),
				    (unsigned long long)f->relearns,
				    (unsigned long long)f->timeouts);
			if (f->has < f->n)
				fleet_pump(f, 10);
			else
				nap(REAL_NAP_NS);
		}
		for (int i = 0; i < nsim; i++) {
			res->lat_k[(size_t)s * nsim + i] = f->l[i].at_ns - t0;
			res->lat_u[(size_t)s * nsim + i] = f->l[i].read_ns - t0;
		}
		for (int i = 0; i < nreal; i++) {
			const struct real *rl = &cur->real[i];

			res->lat_real[(size_t)s * nreal + i] = rl->at_ns - t0;
			res->real_wrong += rl->rule.vtep != want_vtep ||
			    rl->rule.version != r.version;
		}
		/* A latency of the wrong answer would not be one. */
		if (f->wrong != 0 || res->real_wrong != 0)
			fatalx("converge: change %d: %llu simulated and %llu real learners got "
			    "other than the VM's new VTEP at the change's version", s,
			    (unsigned long long)f->wrong, (unsigned long long)res->real_wrong);
	}
	/* The fleet is quiet now; the real learners park again. */
	wait_parked((uint64_t)nreal < max_parked ? (uint64_t)nreal : max_parked);
	res->changes += n;
	res->cpu_wait += bench_schedstat(cur->syncd, 1) - cpu_wait;
	res->req_rx += stat_get("req_rx") - req_rx;
	res->park_full += stat_get("park_full") - park_full;
	res->tx_nobuf += stat_get("tx_nobuf") - tx_nobuf;
}

/* The echo baseline's loop: each datagram answered with reply_len bytes. */
static void __attribute__((noreturn))
echo_serve(int fd, size_t reply_len)
{
	static uint8_t in[64][2048], out[64][4096];
	static struct mmsghdr rm[64], sm[64];
	static struct iovec riov[64], siov[64];
	static struct sockaddr_in from[64];

	if (reply_len > sizeof(out[0]))
		_exit(1);
	for (;;) {
		int n;

		for (int i = 0; i < 64; i++) {
			riov[i] = (struct iovec){ .iov_base = in[i], .iov_len = sizeof(in[i]) };
			rm[i].msg_hdr = (struct msghdr){ .msg_name = &from[i],
			    .msg_namelen = sizeof(from[i]), .msg_iov = &riov[i], .msg_iovlen = 1 };
		}
		if ((n = recvmmsg(fd, rm, 64, MSG_WAITFORONE, NULL)) <= 0)
			continue;
		for (int i = 0; i < n; i++) {
			size_t k = rm[i].msg_len < reply_len ? rm[i].msg_len : reply_len;

			memcpy(out[i], in[i], k);
			siov[i] = (struct iovec){ .iov_base = out[i], .iov_len = reply_len };
			sm[i].msg_hdr = (struct msghdr){ .msg_name = &from[i],
			    .msg_namelen = sizeof(from[i]), .msg_iov = &siov[i], .msg_iovlen = 1 };
		}
		for (int done = 0, r; done < n; done += r)
			if ((r = sendmmsg(fd, sm + done, (unsigned)(n - done), 0)) <= 0)
				break;
	}
}

/*
 * The echo baseline: answers each datagram with reply_len bytes (the request, then
 * zeros), 64 datagrams a system call each way. A child process, so it runs beside the
 * load generator as syncd does.
 */
static pid_t
echo_start(size_t reply_len, struct sockaddr_in *addr)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t alen = sizeof(a);
	int fd, sz = 4 << 20;
	pid_t pid;

	a.sin_addr.s_addr = htonl(ECHO_ADDR);
	if ((fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		fatal("socket");
	/* As common/udp.c sizes syncd's socket. */
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == -1 ||
	    getsockname(fd, (struct sockaddr *)&a, &alen) == -1)
		fatal("echo socket");
	*addr = a;
	/* The child: only the parent cleans up, and the child dies with it. */
	if ((pid = cluster_fork()) > 0) {
		close(fd);
		return pid;
	}
	echo_serve(fd, reply_len);
}

/* The counters at the window's start (w from memset), then what the window added. */
static void
syncd_snap(struct window *w, bool end)
{
	struct window now = { .resp_tx = stat_get("resp_tx"), .req_rx = stat_get("req_rx"),
	    .resp_bytes = stat_get("resp_bytes"), .req_limited = stat_get("req_limited"),
	    .tx_nobuf = stat_get("tx_nobuf") };

	w->resp_tx = end ? now.resp_tx - w->resp_tx : now.resp_tx;
	w->req_rx = end ? now.req_rx - w->req_rx : now.req_rx;
	w->resp_bytes = end ? now.resp_bytes - w->resp_bytes : now.resp_bytes;
	w->req_limited = end ? now.req_limited - w->req_limited : now.req_limited;
	w->tx_nobuf = end ? now.tx_nobuf - w->tx_nobuf : now.tx_nobuf;
}

/* Send n copies of learner i's request (reqs + i * REQ_MAX) from its socket in f. */
static void
load_send(struct fleet *f, int i, const uint8_t *reqs, size_t len,
    const struct sockaddr_in *to, uint32_t n)
{
	struct mmsghdr m[MMSG];
	struct iovec iov = { .iov_base = (void *)(reqs + (size_t)i * REQ_MAX), .iov_len = len };

	while (n > 0) {
		uint32_t k = n < MMSG ? n : MMSG;
		int r;

		for (uint32_t j = 0; j < k; j++)
			m[j].msg_hdr = (struct msghdr){ .msg_name = (void *)to,
			    .msg_namelen = sizeof(*to), .msg_iov = &iov, .msg_iovlen = 1 };
		if ((r = sendmmsg(f->l[i].fd, m, k, 0)) <= 0)
			return;	/* counted as lost later */
		slots[i].inflight += (uint32_t)r;
		n -= (uint32_t)r;
	}
}

/*
 * From each socket of fleet f, k requests in flight to `to` for warm + secs seconds; w
 * gets the last secs. req: the requests, one a socket, REQ_MAX bytes apart, each len
 * long. server: the pid whose CPU time is counted; is_syncd: read the current
 * gateway's counters.
 */
static void
load_run(struct fleet *f, const struct sockaddr_in *to, const uint8_t *req, size_t len,
    uint32_t k, double secs, pid_t server, bool is_syncd, struct window *w)
{
	static uint8_t scratch[MMSG][4096];
	struct mmsghdr m[MMSG];
	struct iovec iov[MMSG];
	struct epoll_event ev[256];
	uint64_t start = clock_mono_ns(), now, win_start = 0, next_check = 0, rx = 0, lost = 0;
	uint64_t warm_ns = 200000000ull, win_ns = (uint64_t)(secs * 1e9), quiet = 0;
	bool sending = true, in_window = false;

	memset(w, 0, sizeof(*w));
	for (int i = 0; i < f->n; i++) {
		slots[i] = (struct slot){ .last_ns = start };
		load_send(f, i, req, len, to, k);
	}
	for (;;) {
		int n = epoll_wait(f->ep, ev, 256, 5);

		now = clock_mono_ns();
		for (int e = 0; e < n; e++) {
			int li = (int)ev[e].data.u32, got;
			struct slot *l = &slots[li];

			for (int i = 0; i < MMSG; i++) {
				iov[i] = (struct iovec){ .iov_base = scratch[i],
				    .iov_len = sizeof(scratch[i]) };
				m[i].msg_hdr = (struct msghdr){ .msg_iov = &iov[i],
				    .msg_iovlen = 1 };
			}
			if ((got = recvmmsg(f->l[li].fd, m, MMSG, MSG_DONTWAIT, NULL)) <= 0)
				continue;
			rx += (uint64_t)got;
			l->inflight -= (uint32_t)got < l->inflight ? (uint32_t)got : l->inflight;
			l->last_ns = now;
			if (sending)
				load_send(f, li, req, len, to, (uint32_t)got);
		}
		if (!sending) {
			if (n > 0)
				quiet = now;
			if (now - quiet > 50000000ull || now - win_start > 2000000000ull + win_ns)
				break;
			continue;
		}
		/* A request dropped on the way is given up and replaced, or k would shrink. */
		if (now >= next_check) {
			for (int i = 0; i < f->n; i++) {
				if (slots[i].inflight > 0 && now - slots[i].last_ns > LOST_NS) {
					lost += slots[i].inflight;
					slots[i] = (struct slot){ .last_ns = now };
					load_send(f, i, req, len, to, k);
				}
			}
			next_check = now + 20000000ull;
		}
		if (!in_window && now - start >= warm_ns) {
			in_window = true;
			win_start = now;
			w->answers = rx;
			w->lost = lost;
			w->server_cpu_ns = bench_schedstat(server, 0);
			w->server_wait_ns = bench_schedstat(server, 1);
			w->gen_cpu_ns = bench_self_cpu_ns();
			w->gen_wait_ns = bench_schedstat(getpid(), 1);
			if (is_syncd)
				syncd_snap(w, false);
		} else if (in_window && now - win_start >= win_ns) {
			w->secs = (now - win_start) / 1e9;
			w->answers = rx - w->answers;
			w->lost = lost - w->lost;
			w->server_cpu_ns = bench_schedstat(server, 0) - w->server_cpu_ns;
			w->server_wait_ns = bench_schedstat(server, 1) - w->server_wait_ns;
			w->gen_cpu_ns = bench_self_cpu_ns() - w->gen_cpu_ns;
			w->gen_wait_ns = bench_schedstat(getpid(), 1) - w->gen_wait_ns;
			if (is_syncd)
				syncd_snap(w, true);
			sending = false;
			quiet = now;
		}
	}
}

/*
 * One answer from the current syncd to req (id SERVE_ID), from its fleet's learner 0;
 * its length, and r decoded (entries in the fleet's).
 */
static size_t
probe(const uint8_t *req, size_t len, struct sync_resp *r)
{
	struct fleet *f = &cur->fleet;
	uint8_t buf[4096];

	for (int tries = 0; tries < 20; tries++) {
		uint64_t deadline;

		if (sendto(f->l[0].fd, req, len, 0, (const struct sockaddr *)&cur->addr,
		    sizeof(cur->addr)) < 0)
			log_warnx("sendto: %s", strerror(errno));
		deadline = clock_mono_ns() + 100000000ull;
		while (clock_mono_ns() < deadline) {
			ssize_t n = recv(f->l[0].fd, buf, sizeof(buf), MSG_DONTWAIT);

			if (n < 0) {
				nap(200000);
				continue;
			}
			if (sync_type(buf, (size_t)n) != SYNC_RESP ||
			    sync_resp_decode(buf, (size_t)n, r, f->ents, FLEET_ENTS) < 0)
				fatalx("converge: a malformed answer from syncd");
			if (r->id != SERVE_ID)
				continue;	/* a fleet's answer, late */
			if (!fleet_authentic(f, &f->l[0], buf, (size_t)n))
				fatalx("converge: an answer from %s fails authentication",
				    cur->label);
			return (size_t)n;
		}
	}
	fatalx("converge: %s did not answer in 2 s (see its log in %s)", cur->label,
	    cluster_dir());
}

/* A serve case; [2]: against each gateway (sides[]). */
struct serve_case {
	const char *name, *what;
	uint8_t *reqs[2];	/* each learner's request, REQ_MAX bytes apart */
	size_t len[2], answer_len[2];
	uint32_t entries;	/* rules in the answer */
	int rounds;
	struct window sd[2][ROUNDS_MAX], echo[ROUNDS_MAX];
	struct window sd_med[2], echo_med;	/* the median round of each, by answers */
};

/* sc's requests to the current gateway (side si), checked against one answer. */
static void
serve_case_side(struct serve_case *sc, int si, uint64_t c_version)
{
	struct sync_req r = { .id = SERVE_ID, .wait_ms = 0 };
	struct sync_resp resp;
	const char *name = sc->name;

	if (strcmp(name, "idle32") == 0) {
		for (int i = 0; i < IDLE_VPCS; i++)
			r.items[r.count++] = (struct sync_item){ .vni = IDLE_VNI + i,
			    .gen = cur->idle_gen[i], .version = 1 };
	} else {
		r.count = 1;
		r.items[0] = (struct sync_item){ .vni = C_VNI, .gen = cur->c_gen,
		    .version = strcmp(name, "page") == 0 ? 0 : c_version };
	}
	if (sc->reqs[si] == NULL &&
	    (sc->reqs[si] = calloc((size_t)nsim, REQ_MAX)) == NULL)
		fatalx("out of memory");
	/* Names of one length: every learner's request is as long. */
	for (int i = 0; i < nsim; i++)
		sc->len[si] = fleet_seal(&cur->fleet, &cur->fleet.l[i], &r,
		    sc->reqs[si] + (size_t)i * REQ_MAX, REQ_MAX);
	/* What the load will get: check it is what the case means. */
	sc->answer_len[si] = probe(sc->reqs[si], sc->len[si], &resp);
	sc->entries = 0;
	if (resp.count != r.count)
		fatalx("converge: %s: %u sections for %u VPCs", name, resp.count, r.count);
	for (uint8_t i = 0; i < resp.count; i++) {
		const struct sync_section *s = &resp.sections[i];
		bool page = strcmp(name, "page") == 0;

		sc->entries += s->count;
		if (s->status != SYNC_OK || (page && !(s->flags & SYNC_F_MORE)) ||
		    (!page && s->count != 0))
			fatalx("converge: %s: section %u: status %u flags %u, %u entries", name,
			    i, s->status, s->flags, s->count);
	}
}

static void
use_side(int si)
{
	cur = &sides[si];
}

static void
serve_case_init(struct serve_case *sc, const char *name, const char *what)
{
	struct table_vni_info vi;

	sc->name = name;
	sc->what = what;
	for (int si = 0; si < 2; si++) {
		use_side(si);
		if (table_vni_get(cur->gw, C_VNI, &vi) < 0)
			fatalx("converge: VNI %d left %s's table", C_VNI, cur->label);
		serve_case_side(sc, si, vi.version);
	}
}

static double
rate(const struct window *w, bool is_syncd)
{
	return (is_syncd ? w->resp_tx : w->answers) / w->secs;
}

static double
cpu_per_answer_us(const struct window *w, bool is_syncd)
{
	uint64_t n = is_syncd ? w->resp_tx : w->answers;

	return w->server_cpu_ns / 1e3 / (n ? n : 1);
}

static struct window
median_round(const struct window *w, int n, bool is_syncd)
{
	int best = 0;

	/* The round whose rate has as many rounds above it as below. */
	for (int i = 0; i < n; i++) {
		int below = 0, above = 0;

		for (int j = 0; j < n; j++) {
			below += rate(&w[j], is_syncd) < rate(&w[i], is_syncd);
			above += rate(&w[j], is_syncd) > rate(&w[i], is_syncd);
		}
		if (below <= n / 2 && above <= n / 2)
			best = i;
	}
	return w[best];
}

/* Rounds of syncd without auth, syncd with, and the echo (answering as the first). */
static void
serve_run(struct serve_case *sc, uint32_t k, int rounds, double secs)
{
	struct sockaddr_in ea;
	pid_t echo_pid;

	echo_pid = echo_start(sc->answer_len[0], &ea);
	sc->rounds = rounds;
	for (int r = 0; r < rounds; r++) {
		for (int si = 0; si < 2; si++) {
			use_side(si);
			load_run(&cur->fleet, &cur->addr, sc->reqs[si], sc->len[si], k, secs,
			    cur->syncd, true, &sc->sd[si][r]);
		}
		load_run(&sides[0].fleet, &ea, sc->reqs[0], sc->len[0], k, secs, echo_pid, false,
		    &sc->echo[r]);
	}
	cluster_stop(echo_pid);
	for (int si = 0; si < 2; si++)
		sc->sd_med[si] = median_round(sc->sd[si], rounds, true);
	sc->echo_med = median_round(sc->echo, rounds, false);
}

/*
 * Gateway si (sides[]): its node, a rule-store and a syncd, with the cluster secret at
 * secret_path when it authenticates, sending LEARNs to learner_port; its syncd's
 * address, pid, table and counters.
 */
static void
start_gw(int si, int port, uint32_t parked_max, const char *secret_path, int learner_port)
{
	struct side *sd = &sides[si];
	const char *node = cluster_node(si ? "gwa" : "gw");
	const char *addr = si ? AUTH_SYNCD : SYNCD_ADDR;
	char conf[1536], auth[512], name[64];

	/*
	 * The serve phase asks far faster than a learner would (hundreds of requests a
	 * second from each address): the rate limit is not what it measures, so it is set
	 * out of the way; req_limited shows it stayed there.
	 */
	sd->auth = si == 1;
	sd->label = si ? "syncd with auth" : "syncd";
	sd->node = node;
	if (sd->auth)
		snprintf(auth, sizeof(auth), " auth = true;\n auth_secret = \"%s\";\n",
		    secret_path);
	else
		snprintf(auth, sizeof(auth), " auth = false;\n");
	snprintf(conf, sizeof(conf), "node = \"%s\";\nrule_store = {\n tls = false;\n"
	    " controllers = "
	    "[\"127.0.0.1:%d\"];\n table_capacity = 100000;\n};\nsyncd = {\n listen = \""
	    "%s:0\";\n allow = [\"127.14.0.0/16\", \"127.0.15.0/24\"];\n rate = 100000;\n"
	    " burst = 10000;\n max_wait = \"2s\";\n max_parked = %u;\n learner_port = %d;\n"
	    "%s};\n", node, port, addr, parked_max, learner_port, auth);
	snprintf(name, sizeof(name), "rule-store%s", si ? "-auth" : "");
	cluster_start("vpcfwd-rule-store", conf, name);
	snprintf(name, sizeof(name), "syncd%s", si ? "-auth" : "");
	sd->syncd = cluster_start("vpcfwd-syncd", conf, name);
	sd->addr = (struct sockaddr_in){ .sin_family = AF_INET,
	    .sin_port = htons((uint16_t)cluster_log_port(name, "sync on port ")) };
	inet_pton(AF_INET, addr, &sd->addr.sin_addr);
	sd->gw = cluster_table_wait(node, "rule-store");
	cluster_stats_wait(&sd->st, node, "syncd");
}

static void
setup_vpcs(struct apiclient *c)
{
	json_t *vms = json_array();
	char name[32], ip[32], cidr[32];

	json_decref(cluster_call(c, json_pack("{s:s, s:s, s:i, s:[s]}", "op", "vpc.create", "name",
	    "c", "vni", C_VNI, "cidrs", "10.0.0.0/16")));
	for (int k = 0; k < IDLE_VPCS; k++) {
		snprintf(name, sizeof(name), "i%d", k);
		snprintf(cidr, sizeof(cidr), "10.%d.0.0/16", k + 1);
		json_decref(cluster_call(c, json_pack("{s:s, s:s, s:i, s:[s]}", "op", "vpc.create",
		    "name", name, "vni", IDLE_VNI + k, "cidrs", cidr)));
	}
	json_decref(cluster_call(c, json_pack("{s:s, s:s, s:s}", "op", "host.create", "name", "h1",
	    "vtep", "192.168.0.1")));
	json_decref(cluster_call(c, json_pack("{s:s, s:s, s:s}", "op", "host.create", "name", "h2",
	    "vtep", "192.168.0.2")));
	for (int i = 0; i < C_VMS; i++) {
		uint32_t a = 0x0a000001u + (uint32_t)i;

		snprintf(name, sizeof(name), "c%d", i);
		snprintf(ip, sizeof(ip), "10.0.%u.%u", a >> 8 & 255, a & 255);
		json_array_append_new(vms, json_pack("{s:s, s:s, s:s, s:s}", "name", name, "vpc",
		    "c", "ip", ip, "host", "h1"));
	}
	json_array_append_new(vms, json_pack("{s:s, s:s, s:s, s:s}", "name", "m", "vpc", "c",
	    "ip", "10.0.200.1", "host", "h1"));
	for (int k = 0; k < IDLE_VPCS; k++) {
		char vpc[32];

		snprintf(name, sizeof(name), "i%dv", k);
		snprintf(vpc, sizeof(vpc), "i%d", k);
		snprintf(ip, sizeof(ip), "10.%d.0.1", k + 1);
		json_array_append_new(vms, json_pack("{s:s, s:s, s:s, s:s}", "name", name, "vpc",
		    vpc, "ip", ip, "host", "h1"));
	}
	json_decref(cluster_call(c, json_pack("{s:s, s:o}", "op", "vm.import", "vms", vms)));
}

/* Until sd's table holds every VPC at its first version; their generations. */
static void
wait_table(struct side *sd)
{
	struct table_vni_info vi;

	for (int i = 0;; i++) {
		bool all = table_vni_get(sd->gw, C_VNI, &vi) == 0 && vi.version >= 1;

		sd->c_gen = vi.gen;
		for (int k = 0; k < IDLE_VPCS && all; k++) {
			all = table_vni_get(sd->gw, IDLE_VNI + k, &vi) == 0 && vi.version >= 1;
			sd->idle_gen[k] = vi.gen;
		}
		if (all)
			return;
		if (i == 1000)
			fatalx("converge: the VPCs are not in the gateway's table after 10 s");
		usleep(10000);
	}
}

/* The median round, and each round's rate. */
static void
print_rounds(const char *who, const struct window *w, const struct window *med, int n,
    bool is_syncd)
{
	printf("  %-18s %8.0f/s %6.2f us %5.0f%% %5.0f%% %5.0f%% %5.0f%%  ", who,
	    rate(med, is_syncd), cpu_per_answer_us(med, is_syncd),
	    med->server_cpu_ns / 1e7 / med->secs, med->server_wait_ns / 1e7 / med->secs,
	    med->gen_cpu_ns / 1e7 / med->secs, med->gen_wait_ns / 1e7 / med->secs);
	for (int i = 0; i < n; i++)
		printf("%s%.0f", i ? " " : "", rate(&w[i], is_syncd));
	printf("\n");
}

/*
 * converge's percentiles, ms: at a simulated learner, at the last of them per change,
 * and in a real learner's table.
 */
struct cv_pct {
	double p50, p99, last_p50, last_p99, real_p50, real_max;
};

/*
 * The converge table of gateway sd, and its rows to res: without authentication the
 * simulated learners' and the real ones', with it the real ones' (the simulated ones'
 * are the converge_auth_* rows, against the rows without).
 */
static struct cv_pct
converge_report(json_t *res, struct side *sd)
{
	int changes = sd->cvr.changes;
	uint64_t *tab = sd->cvr.tab, *lk = sd->cvr.lat_k, *lu = sd->cvr.lat_u;
	uint64_t *lr = sd->cvr.lat_real;
	const struct fleet *f = &sd->fleet;
	size_t nl = (size_t)changes * nsim, nr = (size_t)changes * nreal;
	uint64_t *last = calloc((size_t)changes, sizeof(*last));
	uint64_t *first = calloc((size_t)changes, sizeof(*first));
	uint64_t *fan = calloc(nl, sizeof(*fan));
	double kp50, kp99, kmax, up50, up99, lp50, lp99, tp50, tp99, tmax, fp50, fp99;
	double f1p50, f1p99, rp50, rp99, rmax;
	const char *rname[2];

	if (last == NULL || first == NULL || fan == NULL)
		fatalx("out of memory");
	for (int s = 0; s < changes; s++) {
		first[s] = UINT64_MAX;
		for (int i = 0; i < nsim; i++) {
			uint64_t v = lk[(size_t)s * nsim + i];

			if (v > last[s])
				last[s] = v;
			if (v < first[s])
				first[s] = v;
			fan[(size_t)s * nsim + i] = v > tab[s] ? v - tab[s] : 0;
		}
	}
	kp50 = bench_pct_ms(lk, nl, 0.5);
	kp99 = bench_pct_ms(lk, nl, 0.99);
	kmax = bench_pct_ms(lk, nl, 1.0);
	up50 = bench_pct_ms(lu, nl, 0.5);
	up99 = bench_pct_ms(lu, nl, 0.99);
	lp50 = bench_pct_ms(last, (size_t)changes, 0.5);
	lp99 = bench_pct_ms(last, (size_t)changes, 0.99);
	f1p50 = bench_pct_ms(first, (size_t)changes, 0.5);
	f1p99 = bench_pct_ms(first, (size_t)changes, 0.99);
	fp50 = bench_pct_ms(fan, nl, 0.5);
	fp99 = bench_pct_ms(fan, nl, 0.99);
	rp50 = bench_pct_ms(lr, nr, 0.5);
	rp99 = bench_pct_ms(lr, nr, 0.99);
	rmax = bench_pct_ms(lr, nr, 1.0);
	tp50 = bench_pct_ms(tab, (size_t)changes, 0.5);
	tp99 = bench_pct_ms(tab, (size_t)changes, 0.99);
	tmax = bench_pct_ms(tab, (size_t)changes, 1.0);

	printf("converge (%s): a VM migrates (API call) -> each of %d simulated and %d "
	    "real learners\nparked at syncd; %d changes, one at a time\n",
	    sd->auth ? "with authentication" : "without authentication", nsim, nreal,
	    changes);
	printf("%-50s %9s %9s %9s\n", "", "p50 ms", "p99 ms", "max ms");
	printf("%-50s %9.3f %9.3f %9.3f\n", "API call -> at a learner (kernel rx stamp)",
	    kp50, kp99, kmax);
	printf("%-50s %9.3f %9.3f\n", "API call -> read by this process", up50, up99);
	printf("%-50s %9.3f %9.3f\n", "API call -> at the first learner, per change",
	    f1p50, f1p99);
	printf("%-50s %9.3f %9.3f\n", "API call -> at the last learner, per change",
	    lp50, lp99);
	printf("%-50s %9.3f %9.3f\n", "in the gateway table -> at a learner (fan-out)",
	    fp50, fp99);
	printf("%-50s %9.3f %9.3f %9.3f\n", "API call -> in a real learner's table", rp50,
	    rp99, rmax);
	printf("%-50s %9.3f %9.3f %9.3f\n", "baseline: API call -> in the gateway table",
	    tp50, tp99, tmax);
	printf("syncd waited %.1f ms for a CPU during these changes; the simulated learners: "
	    "malformed %llu, bad MAC %llu, stale %llu, retries %llu, relearns %llu, wrong "
	    "%llu, expired %llu, timeouts %llu, probes %llu; the real ones' rules wrong "
	    "%llu\n", sd->cvr.cpu_wait / 1e6, (unsigned long long)f->malformed,
	    (unsigned long long)f->bad_mac, (unsigned long long)f->stale,
	    (unsigned long long)f->retries, (unsigned long long)f->relearns,
	    (unsigned long long)f->wrong, (unsigned long long)f->expired,
	    (unsigned long long)f->timeouts, (unsigned long long)f->probes,
	    (unsigned long long)sd->cvr.real_wrong);
	printf("syncd received %llu requests (%.2f a learner a change), park_full %llu, "
	    "tx_nobuf %llu\n", (unsigned long long)sd->cvr.req_rx,
	    (double)sd->cvr.req_rx / (nsim + nreal) / changes,
	    (unsigned long long)sd->cvr.park_full, (unsigned long long)sd->cvr.tx_nobuf);
	free(last);
	free(first);
	free(fan);

	if (!sd->auth) {
		bench_add(res, "converge_p50_ms", kp50, "ms", "API call -> in the gateway "
		    "table p50", tp50);
		bench_add(res, "converge_p99_ms", kp99, "ms", "API call -> in the gateway "
		    "table p99", tp99);
		bench_add(res, "converge_last_p50_ms", lp50, "ms", "API call -> in the "
		    "gateway table p50", tp50);
		bench_add(res, "converge_last_p99_ms", lp99, "ms", "API call -> in the "
		    "gateway table p99", tp99);
	}
	rname[0] = sd->auth ? "converge_real_auth_p50_ms" : "converge_real_p50_ms";
	rname[1] = sd->auth ? "converge_real_auth_last_ms" : "converge_real_last_ms";
	bench_add(res, rname[0], rp50, "ms", sd->auth ? "API call -> in the authenticating "
	    "gateway's table p50" : "API call -> in the gateway table p50", tp50);
	bench_add(res, rname[1], rmax, "ms", sd->auth ? "API call -> in the authenticating "
	    "gateway's table, the slowest change" : "API call -> in the gateway table, the "
	    "slowest change", tmax);
	return (struct cv_pct){ kp50, kp99, lp50, lp99, rp50, rmax };
}

struct spread {
	double med, min, max;
};

/*
 * Auth's ratios of sc, paired: round r with auth against round r without, which ran
 * just before it. rate: on / off answers a second; cpu: off / on CPU an answer.
 */
static void
auth_ratios(const struct serve_case *sc, struct spread *rate_r, struct spread *cpu_r)
{
	double r[ROUNDS_MAX], c[ROUNDS_MAX];
	int n = sc->rounds;

	for (int i = 0; i < n; i++) {
		r[i] = rate(&sc->sd[1][i], true) / rate(&sc->sd[0][i], true);
		c[i] = cpu_per_answer_us(&sc->sd[0][i], true) /
		    cpu_per_answer_us(&sc->sd[1][i], true);
	}
	rate_r->med = bench_median(r, n);	/* sorts: min and max after */
	rate_r->min = r[0];
	rate_r->max = r[n - 1];
	cpu_r->med = bench_median(c, n);
	cpu_r->min = c[0];
	cpu_r->max = c[n - 1];
}

static void
serve_report(json_t *res, struct serve_case *sc, uint32_t k, int rounds, double secs)
{
	struct spread rr, rc;

	printf("\nserve: requests with wait_ms 0 from %d learners, %u in flight each; "
	    "median of %d rounds of %.1f s\n", nsim, k, rounds, secs);
	printf("  %-18s %10s %9s %6s %6s %6s %6s  %s\n", "", "answers", "CPU/ans",
	    "CPU", "wait", "gen", "wait", "each round, answers/s");
	for (int i = 0; i < 3; i++) {
		printf("%s (%s): request %zu B (%zu with auth), answer %zu B (%zu) with %u "
		    "rules\n", sc[i].name, sc[i].what, sc[i].len[0], sc[i].len[1],
		    sc[i].answer_len[0], sc[i].answer_len[1], sc[i].entries);
		for (int si = 0; si < 2; si++)
			print_rounds(sides[si].label, sc[i].sd[si], &sc[i].sd_med[si], rounds,
			    true);
		print_rounds("baseline: echo", sc[i].echo, &sc[i].echo_med, rounds, false);
		for (int si = 0; si < 2; si++) {
			const struct window *m = &sc[i].sd_med[si];

			printf("  %s's median round: req_rx %.0f/s, read by the generator "
			    "%.0f/s, %.0f B an answer, req_limited %llu, tx_nobuf %llu, "
			    "lost %llu\n", sides[si].label,
			    m->req_rx / m->secs, m->answers / m->secs,
			    (double)m->resp_bytes / (m->resp_tx ? m->resp_tx : 1),
			    (unsigned long long)m->req_limited, (unsigned long long)m->tx_nobuf,
			    (unsigned long long)m->lost);
		}
		auth_ratios(&sc[i], &rr, &rc);
		printf("  auth, paired rounds: answers/s on / off %.3f (%.3f-%.3f), CPU an "
		    "answer off / on %.3f (%.3f-%.3f) (goal: >= 0.9)\n", rr.med, rr.min, rr.max,
		    rc.med, rc.min, rc.max);
	}
	printf("  (CPU: the server's, share of one CPU; wait: runnable but not running; "
	    "gen: the load generator)\n");

	for (int i = 0; i < 3; i++) {
		char name[64];
		struct window *s = &sc[i].sd_med[0], *e = &sc[i].echo_med;

		snprintf(name, sizeof(name), "serve_%s_answers_per_s", sc[i].name);
		bench_add(res, name, rate(s, true), "answers/s", "UDP echo server, same "
		    "load, same answer size", rate(e, false));
		snprintf(name, sizeof(name), "serve_%s_cpu_us_per_answer", sc[i].name);
		bench_add(res, name, cpu_per_answer_us(s, true), "us", "UDP echo server, "
		    "same load, same answer size", cpu_per_answer_us(e, false));
	}
	for (int i = 0; i < 3; i++) {
		char name[64], what[160];
		struct window *on = &sc[i].sd_med[1], *off = &sc[i].sd_med[0];

		auth_ratios(&sc[i], &rr, &rc);
		snprintf(name, sizeof(name), "converge_auth_%s_answers_per_s", sc[i].name);
		snprintf(what, sizeof(what), "syncd answers/s (%s) without authentication; "
		    "ratio: median of paired rounds", sc[i].name);
		bench_add_ratio(res, name, rate(on, true), "answers/s", what, rate(off, true),
		    rr.med);
		snprintf(name, sizeof(name), "converge_auth_%s_cpu_us_per_answer", sc[i].name);
		snprintf(what, sizeof(what), "syncd CPU an answer (%s) without "
		    "authentication; ratio: off / on, median of paired rounds", sc[i].name);
		bench_add_ratio(res, name, cpu_per_answer_us(on, true), "us", what,
		    cpu_per_answer_us(off, true), rc.med);
	}
}

/* The counters of the gateway in use, over the whole run. */
static void
print_syncd_counters(void)
{
	printf("%s in all: req_rx %llu resp_tx %llu req_limited %llu tx_nobuf %llu "
	    "park_full %llu park_woken %llu park_expired %llu req_malformed %llu "
	    "auth_failed %llu\n", cur->label,
	    (unsigned long long)stat_get("req_rx"), (unsigned long long)stat_get("resp_tx"),
	    (unsigned long long)stat_get("req_limited"), (unsigned long long)stat_get("tx_nobuf"),
	    (unsigned long long)stat_get("park_full"), (unsigned long long)stat_get("park_woken"),
	    (unsigned long long)stat_get("park_expired"),
	    (unsigned long long)stat_get("req_malformed"),
	    (unsigned long long)stat_get("auth_failed"));
}

int
main(int argc, char **argv)
{
	int changes = 40, ch, port, moves = 0, learner_port;
	uint32_t k = 2;
	int rounds = 5;
	double secs = 0.5;
	struct serve_case sc[3] = { 0 };
	struct cv_pct cp[2];
	struct auth_key secret;
	const char *secret_path;
	struct apiclient c;
	json_t *res;

	log_init("bench-converge", LOG_LVL_INFO);
	while ((ch = getopt(argc, argv, "l:R:c:k:r:d:p:")) != -1) {
		if (ch == 'l')
			nsim = atoi(optarg);
		else if (ch == 'R')
			nreal = atoi(optarg);
		else if (ch == 'c')
			changes = atoi(optarg);
		else if (ch == 'k')
			k = (uint32_t)atoi(optarg);
		else if (ch == 'r')
			rounds = atoi(optarg);
		else if (ch == 'd')
			secs = atof(optarg);
		else if (ch == 'p')
			max_parked = (uint32_t)atoi(optarg);
		else
			fatalx("usage: converge [-l SIMULATED] [-R REAL] [-c CHANGES] "
			    "[-k IN_FLIGHT] [-r ROUNDS] [-d SECONDS] [-p MAX_PARKED]");
	}
	if (nsim < 1 || nsim > FLEET_MAX || nreal < 1 || nreal > REAL_MAX || changes < 1 ||
	    k < 1 || k > 64 || rounds < 1 || rounds > ROUNDS_MAX || secs <= 0)
		fatalx("converge: -l 1..%d, -R 1..%d, -c >= 1, -k 1..64, -r 1..%d, -d > 0",
		    FLEET_MAX, REAL_MAX, ROUNDS_MAX);
	/* Table polling naps of 20 us, not the default 50 us of slack. */
	prctl(PR_SET_TIMERSLACK, 1000UL);
	cluster_init("converge");
	if ((slots = calloc((size_t)nsim, sizeof(*slots))) == NULL)
		fatalx("out of memory");

	port = cluster_controller();
	if (max_parked == 0)
		max_parked = (uint32_t)(2 * (nsim + nreal) > 8192 ? 2 * (nsim + nreal) : 8192);
	secret_path = cluster_auth_secret(&secret);
	learner_port = cluster_free_port("127.0.15.1");
	start_gw(0, port, max_parked, NULL, learner_port);
	start_gw(1, port, max_parked, secret_path, learner_port);
	cluster_api_connect(&c);
	setup_vpcs(&c);
	for (int si = 0; si < 2; si++)
		wait_table(&sides[si]);
	/*
	 * Each gateway's learners: the real ones hosts hNNNNN after the simulated ones'
	 * (h00000...), 127.0.15.1... without authentication, then those with.
	 */
	for (int si = 0; si < 2; si++) {
		struct side *sd = &sides[si];
		struct real_conf rc = { .ctl_port = port, .learner_port = learner_port,
		    .secret = sd->auth ? &secret : NULL };

		for (int i = 0; i < nreal; i++) {
			char host[16];

			snprintf(host, sizeof(host), "h%05d", nsim + si * nreal + i);
			real_start(&sd->real[i], &rc, si * nreal + i, host, &sd->addr, 1);
		}
	}
	for (int si = 0; si < 2; si++) {
		struct side *sd = &sides[si];

		real_learn(sd->real, nreal, sd->node, C_VNI, M_IP);
		fleet_open(&sd->fleet, nsim, sd->auth ? &secret : NULL, &sd->addr, 1);
		sd->fleet.batch = REAL_BATCH;
	}

	/* Each syncd is serving (and authenticating, or not) before anything is timed. */
	serve_case_init(&sc[0], "idle", "1 VPC, nothing new");

	/*
	 * converge: blocks of CV_BLOCK changes without authentication and with, taking
	 * turns, so that load from elsewhere that comes and goes hits both alike.
	 */
	converge_alloc(changes);
	for (int done = 0; done < changes; done += CV_BLOCK)
		for (int si = 0; si < 2; si++) {
			use_side(si);
			converge_run(&c, changes - done < CV_BLOCK ? changes - done : CV_BLOCK,
			    &moves);
		}

	/* serve */
	serve_case_init(&sc[0], "idle", "1 VPC, nothing new");
	serve_case_init(&sc[1], "idle32", "32 VPCs, nothing new");
	serve_case_init(&sc[2], "page", "1 VPC from version 0: a page");
	for (int i = 0; i < 3; i++)
		serve_run(&sc[i], k, rounds, secs);

	res = bench_results();
	cp[0] = converge_report(res, &sides[0]);
	printf("\n");
	cp[1] = converge_report(res, &sides[1]);
	printf("auth: off / on p50 %.3f, p99 %.3f, last p50 %.3f, last p99 %.3f; real "
	    "learners p50 %.3f, max %.3f (goal: >= 0.9)\n", cp[0].p50 / cp[1].p50,
	    cp[0].p99 / cp[1].p99, cp[0].last_p50 / cp[1].last_p50,
	    cp[0].last_p99 / cp[1].last_p99, cp[0].real_p50 / cp[1].real_p50,
	    cp[0].real_max / cp[1].real_max);
	bench_add_auth(res, "converge_auth_p50_ms", cp[1].p50, "ms", "API call -> at a "
	    "learner p50", cp[0].p50, false);
	bench_add_auth(res, "converge_auth_p99_ms", cp[1].p99, "ms", "API call -> at a "
	    "learner p99", cp[0].p99, false);
	bench_add_auth(res, "converge_auth_last_p99_ms", cp[1].last_p99, "ms", "API call -> "
	    "at the last learner p99", cp[0].last_p99, false);
	serve_report(res, sc, k, rounds, secs);
	for (int si = 0; si < 2; si++) {
		use_side(si);
		print_syncd_counters();
		if (cur->auth && stat_get("auth_failed") != 0)
			fatalx("converge: %s refused requests: auth_failed %llu", cur->label,
			    (unsigned long long)stat_get("auth_failed"));
	}

	for (int si = 0; si < 2; si++) {
		fleet_close(&sides[si].fleet);
		for (int i = 0; i < nreal; i++)
			table_close(sides[si].real[i].t);
		table_close(sides[si].gw);
		stats_close(&sides[si].st);
		free(sides[si].cvr.tab);
		free(sides[si].cvr.lat_k);
		free(sides[si].cvr.lat_u);
		free(sides[si].cvr.lat_real);
	}
	for (int i = 0; i < 3; i++)
		for (int si = 0; si < 2; si++)
			free(sc[i].reqs[si]);
	free(slots);
	apiclient_close(&c);
	cluster_end();
	return bench_write(res, "converge") < 0;
}
