/*
 * bench/converge: how fast one change reaches the learners that hold its VPC through a
 * gateway's syncd, and how many sync requests one syncd answers. A controller, and a
 * gateway's rule-store and syncd, run as processes; this process simulates -l learners
 * (1000), each a UDP socket bound to its own address in 127.14.0.0/16, so syncd's
 * per-source admission sees that many sources as in production.
 *
 *  converge	each learner keeps one request parked at syncd (wait_ms 2000) for a VPC of
 *		1000 VMs, and asks again from its new version after every answer, as
 *		procs/learner/syncer.c does. Each sample (-c of them, 40): once every
 *		learner is parked (syncd's `parked` gauge), a VM of that VPC migrates
 *		through the API; t0 just before the call. A learner's latency: t0 to the
 *		kernel's receive timestamp (SO_TIMESTAMPNS) of the answer carrying the
 *		change (checked: the VM's new VTEP at the new version): when syncd's send
 *		handed it to the learner's socket, not counting what this one process
 *		adds by reading 1000 sockets (printed apart). p50 and p99 over every
 *		(learner, change); "last": per change, when the last learner has it (also
 *		"first", and "fan-out": from the table to each learner, printed only). Baseline in
 *		the same run, for the same changes: t0 until the new rule is in the
 *		rule-store's table (polled every 20 us by a reader of the table, as
 *		bench/replicate measures), so the ratio is what the sync fan-out adds to
 *		what every gateway pays anyway.
 *  serve	every learner keeps -k (2) requests in flight with wait_ms 0 and asks again
 *		as each answer arrives: a VPC with nothing new (idle), 32 such VPCs a
 *		request (idle32, the learner's default sync_batch), and a VPC asked from
 *		version 0, whose answer is a full page (page). Value: answers a second by
 *		syncd's own counter (resp_tx), and syncd's CPU time per answer
 *		(/proc/PID/schedstat). Baseline in the same run, on the same sockets and
 *		load generator: a trivial echo server (recvmmsg, sendmmsg, 64 at a time)
 *		answering each request with a datagram of the size of syncd's answer to
 *		it. syncd and the echo take turns, -r (3) rounds of -d (0.5) s each after
 *		0.2 s of warm-up; each reports its median round, so a burst of load from
 *		elsewhere on the machine hits one round, not one side. With two CPUs, one
 *		for the server and one for the load generator, the idle case is bound by
 *		the generator: there CPU time per answer is the figure to compare.
 *
 *	converge [-l LEARNERS] [-c CHANGES] [-k IN_FLIGHT] [-r ROUNDS] [-d SECONDS]
 *	    [-p MAX_PARKED]	(syncd.max_parked; default 2 x LEARNERS, at least 8192)
 */
#include "bench/cluster.h"
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
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>

#define C_VNI		7		/* the VPC the learners hold */
#define C_VMS		1000
#define M_IP		0x0a00c801u	/* 10.0.200.1: the VM that migrates */
#define VTEP_H1		0xc0a80001u
#define VTEP_H2		0xc0a80002u
#define IDLE_VNI	100		/* the first of IDLE_VPCS VPCs, one VM each */
#define IDLE_VPCS	32
#define WAIT_MS		2000
#define SYNCD_ADDR	"127.0.14.1"
#define ECHO_ADDR	0x7f000e02u	/* 127.0.14.2 */
#define LEARNER_NET	0x7f0e0000u	/* 127.14.0.0/16 */
#define ENTS_MAX	4096
#define MMSG		16		/* datagrams a socket reads or writes a call (serve) */
#define LOST_NS		(200 * 1000000ull)
#define ROUNDS_MAX	15
#define RESEND_NS	((WAIT_MS + 500) * 1000000ull)	/* the learner's sync_timeout */
#define TABLE_NAP_NS	20000

struct learner {
	int fd;
	/* converge */
	uint64_t version;	/* reached */
	uint64_t cur_v;		/* paging cursor, 0: none */
	uint32_t cur_ip;
	uint32_t id;		/* of the request in flight */
	bool waiting;
	uint64_t sent_ns;
	int seen;		/* the last sample whose change arrived */
	/* serve */
	uint32_t inflight;
	uint64_t last_ns;
};

/* What a converge run saw besides the latencies. */
struct cv_counts {
	uint64_t malformed, stale, unexpected, wrong, expired, resent;
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

static int nlearners = 1000;
static uint32_t max_parked;
static struct learner *ln;
static int ep = -1;
static struct sockaddr_in syncd_addr;
static uint32_t c_gen, idle_gen[IDLE_VPCS];
static struct stats sst;	/* syncd's counters */
static struct sync_entry ents[ENTS_MAX];

/* converge: the sample in progress */
static int sample = -1;
static uint64_t target, want_vtep, t0;
static bool repark;
static uint64_t *lat_k, *lat_u;	/* [sample * nlearners + learner], ns after t0 */
static int arrived;
static struct cv_counts cv;
/* syncd over the whole converge phase */
static uint64_t cv_cpu_wait, cv_req_rx, cv_park_full, cv_tx_nobuf;

static uint64_t
stat_get(const char *name)
{
	return cluster_stat(&sst, name);
}

/* ns a process has run (or waited to run: field 2) since it started. */
static uint64_t
schedstat(pid_t pid, int field)
{
	char path[64];
	unsigned long long v[2] = { 0, 0 };
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/schedstat", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	if (fscanf(f, "%llu %llu", &v[0], &v[1]) != 2)
		v[0] = v[1] = 0;
	fclose(f);
	return v[field];
}

static uint64_t
self_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void
nap(uint64_t ns)
{
	struct timespec ts = { 0, (long)ns };

	nanosleep(&ts, NULL);
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* Sorts v; ms. */
static double
pct_ms(uint64_t *v, size_t n, double p)
{
	qsort(v, n, sizeof(*v), cmp_u64);
	return v[(size_t)((n - 1) * p)] / 1e6;
}

static void
learners_open(void)
{
	struct rlimit rl;
	int one = 1;

	/* A socket a learner, and the processes' own. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)nlearners + 64) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		fatal("epoll_create1");
	ln = calloc((size_t)nlearners, sizeof(*ln));
	if (ln == NULL)
		fatalx("out of memory");
	for (int i = 0; i < nlearners; i++) {
		struct sockaddr_in a = { .sin_family = AF_INET };
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)i };

		/* 127.14.h.l with l 1..250: no .0 or .255 among them. */
		a.sin_addr.s_addr = htonl(LEARNER_NET | (uint32_t)(1 + i / 250) << 8 |
		    (uint32_t)(1 + i % 250));
		ln[i].fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (ln[i].fd == -1)
			fatal("socket (learner %d)", i);
		if (setsockopt(ln[i].fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one)) == -1)
			fatal("SO_TIMESTAMPNS");
		if (bind(ln[i].fd, (struct sockaddr *)&a, sizeof(a)) == -1)
			fatal("bind learner %d", i);
		if (epoll_ctl(ep, EPOLL_CTL_ADD, ln[i].fd, &ev) == -1)
			fatal("epoll_ctl");
		ln[i].seen = -1;
	}
}

static void
send_to(int fd, const void *buf, size_t len, const struct sockaddr_in *to)
{
	if (sendto(fd, buf, len, 0, (const struct sockaddr *)to, sizeof(*to)) < 0)
		log_warnx("sendto: %s", strerror(errno));
}

/* A learner asks for the changes of the VPC after its version, as the real one does. */
static void
ask(struct learner *l, uint16_t wait_ms)
{
	struct sync_req r = { .id = ++l->id, .wait_ms = wait_ms, .count = 1 };
	uint8_t buf[64];
	int n;

	r.items[0] = (struct sync_item){ .vni = C_VNI, .gen = c_gen, .version = l->version,
	    .cursor_version = l->cur_v, .cursor_ip = l->cur_ip };
	if ((n = sync_req_encode(&r, buf, sizeof(buf))) < 0)
		fatalx("converge: cannot encode a request: %s", strerror(-n));
	send_to(l->fd, buf, (size_t)n, &syncd_addr);
	l->sent_ns = clock_mono_ns();
	l->waiting = true;
}

static void
on_answer(struct learner *l, const uint8_t *buf, size_t len, uint64_t kern, uint64_t user)
{
	const struct sync_section *sec = NULL;
	struct sync_resp r;

	if (sync_type(buf, len) != SYNC_RESP || sync_resp_decode(buf, len, &r, ents,
	    ENTS_MAX) < 0) {
		cv.malformed++;
		return;
	}
	if (!l->waiting || r.id != l->id) {
		cv.stale++;
		return;
	}
	l->waiting = false;
	for (uint8_t i = 0; i < r.count; i++)
		if (r.sections[i].vni == C_VNI)
			sec = &r.sections[i];
	if (sec == NULL || sec->status != SYNC_OK || sec->gen != c_gen ||
	    sec->since != l->version) {
		cv.unexpected++;
		goto again;
	}
	if (sec->flags & SYNC_F_MORE) {
		l->cur_v = sec->cursor_version;
		l->cur_ip = sec->cursor_ip;
		goto again;
	}
	if (sample >= 0 && sec->upto >= target && l->seen != sample) {
		bool ok = false;

		for (uint32_t i = 0; i < sec->count; i++) {
			const struct sync_entry *e = &ents[sec->first + i];

			if (e->ip == M_IP && e->op == SYNC_SET && e->vtep == want_vtep &&
			    e->version == target)
				ok = true;
		}
		if (!ok)
			cv.wrong++;
		lat_k[(size_t)sample * nlearners + (size_t)(l - ln)] = kern - t0;
		lat_u[(size_t)sample * nlearners + (size_t)(l - ln)] = user - t0;
		l->seen = sample;
		arrived++;
	}
	if (sec->upto == l->version)
		cv.expired++;
	l->version = sec->upto;
	l->cur_v = 0;
	l->cur_ip = 0;
again:
	/* After the last change, a learner stops asking once it has it. */
	if (repark || (sample >= 0 && l->seen != sample))
		ask(l, WAIT_MS);
}

static void
converge_rx(struct learner *l)
{
	uint8_t buf[2048];
	char cbuf[CMSG_SPACE(sizeof(struct timespec))];

	for (;;) {
		struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
		    .msg_controllen = sizeof(cbuf) };
		uint64_t user, kern;
		ssize_t n;

		if ((n = recvmsg(l->fd, &mh, MSG_DONTWAIT)) < 0) {
			if (errno != EAGAIN && errno != EINTR)
				log_warnx("recvmsg: %s", strerror(errno));
			return;
		}
		user = kern = clock_real_ns();
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
			if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
				struct timespec ts;

				memcpy(&ts, CMSG_DATA(c), sizeof(ts));
				kern = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
			}
		}
		on_answer(l, buf, (size_t)n, kern, user);
	}
}

static void
converge_pump(int timeout_ms)
{
	struct epoll_event ev[256];
	uint64_t now;
	int n;

	n = epoll_wait(ep, ev, 256, timeout_ms);
	for (int i = 0; i < n; i++)
		converge_rx(&ln[ev[i].data.u32]);
	/* An answer lost on the way (or never sent): ask again, as the learner would. */
	now = clock_mono_ns();
	for (int i = 0; i < nlearners; i++)
		if (ln[i].waiting && now - ln[i].sent_ns > RESEND_NS) {
			cv.resent++;
			ask(&ln[i], WAIT_MS);
		}
}

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
		converge_pump(1);
	}
}

/* Samples of converge; returns the commit -> table latencies (ns), one a change. */
static uint64_t *
converge_run(struct apiclient *c, struct table *gw, int changes)
{
	uint64_t *tab = calloc((size_t)changes, sizeof(*tab));
	struct table_vni_info vi;

	lat_k = calloc((size_t)changes * nlearners, sizeof(*lat_k));
	lat_u = calloc((size_t)changes * nlearners, sizeof(*lat_u));
	if (tab == NULL || lat_k == NULL || lat_u == NULL)
		fatalx("out of memory");
	if (table_vni_get(gw, C_VNI, &vi) < 0)
		fatalx("converge: VNI %d is not in the gateway's table", C_VNI);
	for (int i = 0; i < nlearners; i++)
		ln[i].version = vi.version;
	repark = true;
	for (int i = 0; i < nlearners; i++)
		ask(&ln[i], WAIT_MS);
	for (int s = 0; s < changes; s++) {
		const char *host = s % 2 == 0 ? "h2" : "h1";
		struct table_rule r;
		uint64_t deadline;

		/* Beyond max_parked, syncd answers at once and the learner asks again. */
		wait_parked((uint64_t)nlearners < max_parked ? (uint64_t)nlearners : max_parked);
		want_vtep = s % 2 == 0 ? VTEP_H2 : VTEP_H1;
		target = UINT64_MAX;	/* until the table tells the change's version */
		arrived = 0;
		sample = s;
		repark = s + 1 < changes;
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
		tab[s] = clock_real_ns() - t0;
		target = r.version;
		/* Time for a lost answer to be asked again (RESEND_NS) and answered. */
		deadline = clock_mono_ns() + 6000000000ull;
		while (arrived < nlearners) {
			if (clock_mono_ns() > deadline)
				fatalx("converge: change %d reached %d of %d learners in 6 s "
				    "(park_woken %llu, tx_nobuf %llu, req_limited %llu)", s,
				    arrived, nlearners,
				    (unsigned long long)stat_get("park_woken"),
				    (unsigned long long)stat_get("tx_nobuf"),
				    (unsigned long long)stat_get("req_limited"));
			converge_pump(10);
		}
	}
	sample = -1;
	wait_parked(0);
	return tab;
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

/* Send n copies of req from learner l. */
static void
load_send(struct learner *l, const uint8_t *req, size_t len, const struct sockaddr_in *to,
    uint32_t n)
{
	struct mmsghdr m[MMSG];
	struct iovec iov = { .iov_base = (void *)req, .iov_len = len };

	while (n > 0) {
		uint32_t k = n < MMSG ? n : MMSG;
		int r;

		for (uint32_t i = 0; i < k; i++)
			m[i].msg_hdr = (struct msghdr){ .msg_name = (void *)to,
			    .msg_namelen = sizeof(*to), .msg_iov = &iov, .msg_iovlen = 1 };
		if ((r = sendmmsg(l->fd, m, k, 0)) <= 0)
			return;	/* counted as lost later */
		l->inflight += (uint32_t)r;
		n -= (uint32_t)r;
	}
}

/*
 * Every learner keeps k requests in flight to `to` for warm + secs seconds; w gets the
 * last secs. server: the pid whose CPU time is counted; is_syncd: read its counters.
 */
static void
load_run(const struct sockaddr_in *to, const uint8_t *req, size_t len, uint32_t k,
    double secs, pid_t server, bool is_syncd, struct window *w)
{
	static uint8_t scratch[MMSG][4096];
	struct mmsghdr m[MMSG];
	struct iovec iov[MMSG];
	struct epoll_event ev[256];
	uint64_t start = clock_mono_ns(), now, win_start = 0, next_check = 0, rx = 0, lost = 0;
	uint64_t warm_ns = 200000000ull, win_ns = (uint64_t)(secs * 1e9), quiet = 0;
	bool sending = true, in_window = false;

	memset(w, 0, sizeof(*w));
	for (int i = 0; i < nlearners; i++) {
		ln[i].inflight = 0;
		ln[i].last_ns = start;
		load_send(&ln[i], req, len, to, k);
	}
	for (;;) {
		int n = epoll_wait(ep, ev, 256, 5);

		now = clock_mono_ns();
		for (int e = 0; e < n; e++) {
			struct learner *l = &ln[ev[e].data.u32];
			int got;

			for (int i = 0; i < MMSG; i++) {
				iov[i] = (struct iovec){ .iov_base = scratch[i],
				    .iov_len = sizeof(scratch[i]) };
				m[i].msg_hdr = (struct msghdr){ .msg_iov = &iov[i],
				    .msg_iovlen = 1 };
			}
			if ((got = recvmmsg(l->fd, m, MMSG, MSG_DONTWAIT, NULL)) <= 0)
				continue;
			rx += (uint64_t)got;
			l->inflight -= (uint32_t)got < l->inflight ? (uint32_t)got : l->inflight;
			l->last_ns = now;
			if (sending)
				load_send(l, req, len, to, (uint32_t)got);
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
			for (int i = 0; i < nlearners; i++) {
				if (ln[i].inflight > 0 && now - ln[i].last_ns > LOST_NS) {
					lost += ln[i].inflight;
					ln[i].inflight = 0;
					ln[i].last_ns = now;
					load_send(&ln[i], req, len, to, k);
				}
			}
			next_check = now + 20000000ull;
		}
		if (!in_window && now - start >= warm_ns) {
			in_window = true;
			win_start = now;
			w->answers = rx;
			w->lost = lost;
			w->server_cpu_ns = schedstat(server, 0);
			w->server_wait_ns = schedstat(server, 1);
			w->gen_cpu_ns = self_cpu_ns();
			w->gen_wait_ns = schedstat(getpid(), 1);
			if (is_syncd)
				syncd_snap(w, false);
		} else if (in_window && now - win_start >= win_ns) {
			w->secs = (now - win_start) / 1e9;
			w->answers = rx - w->answers;
			w->lost = lost - w->lost;
			w->server_cpu_ns = schedstat(server, 0) - w->server_cpu_ns;
			w->server_wait_ns = schedstat(server, 1) - w->server_wait_ns;
			w->gen_cpu_ns = self_cpu_ns() - w->gen_cpu_ns;
			w->gen_wait_ns = schedstat(getpid(), 1) - w->gen_wait_ns;
			if (is_syncd)
				syncd_snap(w, true);
			sending = false;
			quiet = now;
		}
	}
}

/* One answer from syncd to req, from learner 0; its length, and r decoded. */
static size_t
probe(const uint8_t *req, size_t len, struct sync_resp *r)
{
	uint8_t buf[4096];

	for (int tries = 0; tries < 20; tries++) {
		uint64_t deadline;

		send_to(ln[0].fd, req, len, &syncd_addr);
		deadline = clock_mono_ns() + 100000000ull;
		while (clock_mono_ns() < deadline) {
			ssize_t n = recv(ln[0].fd, buf, sizeof(buf), MSG_DONTWAIT);

			if (n < 0) {
				nap(200000);
				continue;
			}
			if (sync_type(buf, (size_t)n) != SYNC_RESP ||
			    sync_resp_decode(buf, (size_t)n, r, ents, ENTS_MAX) < 0)
				fatalx("converge: a malformed answer from syncd");
			return (size_t)n;
		}
	}
	fatalx("converge: syncd did not answer in 2 s (see %s/syncd.log)", cluster_dir());
}

struct serve_case {
	const char *name, *what;
	uint8_t req[12 + 28 * SYNC_VNIS_MAX];
	size_t len, answer_len;
	uint32_t entries;	/* rules in the answer */
	int rounds;
	struct window sd[ROUNDS_MAX], echo[ROUNDS_MAX];
	struct window sd_med, echo_med;	/* the median round of each, by answers */
};

static void
serve_case_init(struct serve_case *sc, const char *name, const char *what, uint64_t c_version)
{
	/* Not an id learner 0 uses in converge, where a late answer could land. */
	struct sync_req r = { .id = 0x80000000u, .wait_ms = 0 };
	struct sync_resp resp;
	int n;

	sc->name = name;
	sc->what = what;
	if (strcmp(name, "idle32") == 0) {
		for (int i = 0; i < IDLE_VPCS; i++)
			r.items[r.count++] = (struct sync_item){ .vni = IDLE_VNI + i,
			    .gen = idle_gen[i], .version = 1 };
	} else {
		r.count = 1;
		r.items[0] = (struct sync_item){ .vni = C_VNI, .gen = c_gen,
		    .version = strcmp(name, "page") == 0 ? 0 : c_version };
	}
	if ((n = sync_req_encode(&r, sc->req, sizeof(sc->req))) < 0)
		fatalx("converge: cannot encode the %s request", name);
	sc->len = (size_t)n;
	/* What the load will get: check it is what the case means. */
	sc->answer_len = probe(sc->req, sc->len, &resp);
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

static void
serve_run(struct serve_case *sc, uint32_t k, int rounds, double secs, pid_t syncd)
{
	struct sockaddr_in ea;
	pid_t echo_pid;

	echo_pid = echo_start(sc->answer_len, &ea);
	sc->rounds = rounds;
	for (int r = 0; r < rounds; r++) {
		load_run(&syncd_addr, sc->req, sc->len, k, secs, syncd, true, &sc->sd[r]);
		load_run(&ea, sc->req, sc->len, k, secs, echo_pid, false, &sc->echo[r]);
	}
	cluster_stop(echo_pid);
	sc->sd_med = median_round(sc->sd, rounds, true);
	sc->echo_med = median_round(sc->echo, rounds, false);
}

/* The gateway's node, a rule-store and a syncd; syncd's pid. */
static pid_t
start_gw(int port, uint32_t parked_max)
{
	char conf[1024];

	/*
	 * The serve phase asks far faster than a learner would (hundreds of requests a
	 * second from each address): the rate limit is not what it measures, so it is set
	 * out of the way; req_limited shows it stayed there.
	 */
	snprintf(conf, sizeof(conf), "node = \"%s\";\nrule_store = {\n tls = false;\n"
	    " controllers = "
	    "[\"127.0.0.1:%d\"];\n table_capacity = 100000;\n};\nsyncd = {\n listen = \""
	    SYNCD_ADDR ":0\";\n allow = [\"127.14.0.0/16\"];\n rate = 100000;\n burst = 10000;\n"
	    " max_wait = \"2s\";\n max_parked = %u;\n auth = false;\n};\n", cluster_node("gw"), port, parked_max);
	cluster_start("vpcfwd-rule-store", conf, "rule-store");
	return cluster_start("vpcfwd-syncd", conf, "syncd");
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

/* Until the gateway's table holds every VPC at its first version; their generations. */
static void
wait_table(struct table *gw)
{
	struct table_vni_info vi;

	for (int i = 0;; i++) {
		bool all = table_vni_get(gw, C_VNI, &vi) == 0 && vi.version >= 1;

		c_gen = vi.gen;
		for (int k = 0; k < IDLE_VPCS && all; k++) {
			all = table_vni_get(gw, IDLE_VNI + k, &vi) == 0 && vi.version >= 1;
			idle_gen[k] = vi.gen;
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

/* The converge table and rows; tab: commit -> table, one a change. */
static void
converge_report(json_t *res, uint64_t *tab, int changes)
{
	size_t nl = (size_t)changes * nlearners;
	uint64_t *last = calloc((size_t)changes, sizeof(*last));
	uint64_t *first = calloc((size_t)changes, sizeof(*first));
	uint64_t *fan = calloc(nl, sizeof(*fan));
	double kp50, kp99, kmax, up50, up99, lp50, lp99, tp50, tp99, tmax, fp50, fp99;
	double f1p50, f1p99;

	if (last == NULL || first == NULL || fan == NULL)
		fatalx("out of memory");
	for (int s = 0; s < changes; s++) {
		first[s] = UINT64_MAX;
		for (int i = 0; i < nlearners; i++) {
			uint64_t v = lat_k[(size_t)s * nlearners + i];

			if (v > last[s])
				last[s] = v;
			if (v < first[s])
				first[s] = v;
			fan[(size_t)s * nlearners + i] = v > tab[s] ? v - tab[s] : 0;
		}
	}
	kp50 = pct_ms(lat_k, nl, 0.5);
	kp99 = pct_ms(lat_k, nl, 0.99);
	kmax = pct_ms(lat_k, nl, 1.0);
	up50 = pct_ms(lat_u, nl, 0.5);
	up99 = pct_ms(lat_u, nl, 0.99);
	lp50 = pct_ms(last, (size_t)changes, 0.5);
	lp99 = pct_ms(last, (size_t)changes, 0.99);
	f1p50 = pct_ms(first, (size_t)changes, 0.5);
	f1p99 = pct_ms(first, (size_t)changes, 0.99);
	fp50 = pct_ms(fan, nl, 0.5);
	fp99 = pct_ms(fan, nl, 0.99);
	tp50 = pct_ms(tab, (size_t)changes, 0.5);
	tp99 = pct_ms(tab, (size_t)changes, 0.99);
	tmax = pct_ms(tab, (size_t)changes, 1.0);

	printf("converge: a VM migrates (API call) -> the answer carrying it reaches each "
	    "of %d learners\nparked at syncd; %d changes, one at a time\n", nlearners,
	    changes);
	printf("%-50s %9s %9s %9s\n", "", "p50 ms", "p99 ms", "max ms");
	printf("%-50s %9.3f %9.3f %9.3f\n", "API call -> at a learner (kernel rx stamp)",
	    kp50, kp99, kmax);
	printf("%-50s %9.3f %9.3f\n", "API call -> read by the load generator", up50,
	    up99);
	printf("%-50s %9.3f %9.3f\n", "API call -> at the first learner, per change",
	    f1p50, f1p99);
	printf("%-50s %9.3f %9.3f\n", "API call -> at the last learner, per change",
	    lp50, lp99);
	printf("%-50s %9.3f %9.3f\n", "in the gateway table -> at a learner (fan-out)",
	    fp50, fp99);
	printf("%-50s %9.3f %9.3f %9.3f\n", "baseline: API call -> in the gateway table",
	    tp50, tp99, tmax);
	printf("syncd waited %.1f ms for a CPU during these changes; malformed %llu, "
	    "stale %llu, unexpected %llu, wrong %llu, expired %llu, resent %llu\n",
	    cv_cpu_wait / 1e6, (unsigned long long)cv.malformed, (unsigned long long)cv.stale,
	    (unsigned long long)cv.unexpected, (unsigned long long)cv.wrong,
	    (unsigned long long)cv.expired, (unsigned long long)cv.resent);
	printf("syncd received %llu requests (%.2f a learner a change), park_full %llu, "
	    "tx_nobuf %llu\n", (unsigned long long)cv_req_rx,
	    (double)cv_req_rx / nlearners / changes, (unsigned long long)cv_park_full,
	    (unsigned long long)cv_tx_nobuf);

	bench_add(res, "converge_p50_ms", kp50, "ms", "API call -> in the gateway table "
	    "p50", tp50);
	bench_add(res, "converge_p99_ms", kp99, "ms", "API call -> in the gateway table "
	    "p99", tp99);
	bench_add(res, "converge_last_p50_ms", lp50, "ms", "API call -> in the gateway "
	    "table p50", tp50);
	bench_add(res, "converge_last_p99_ms", lp99, "ms", "API call -> in the gateway "
	    "table p99", tp99);
	free(last);
	free(first);
	free(fan);
}

static void
serve_report(json_t *res, struct serve_case *sc, uint32_t k, int rounds, double secs)
{
	printf("\nserve: requests with wait_ms 0 from %d learners, %u in flight each; "
	    "median of %d rounds of %.1f s\n", nlearners, k, rounds, secs);
	printf("  %-18s %10s %9s %6s %6s %6s %6s  %s\n", "", "answers", "CPU/ans",
	    "CPU", "wait", "gen", "wait", "each round, answers/s");
	for (int i = 0; i < 3; i++) {
		const struct window *m = &sc[i].sd_med;

		printf("%s (%s): request %zu B, answer %zu B with %u rules\n", sc[i].name,
		    sc[i].what, sc[i].len, sc[i].answer_len, sc[i].entries);
		print_rounds("syncd", sc[i].sd, m, rounds, true);
		print_rounds("baseline: echo", sc[i].echo, &sc[i].echo_med, rounds, false);
		printf("  syncd's median round: req_rx %.0f/s, read by the generator "
		    "%.0f/s, %.0f B an answer, req_limited %llu, tx_nobuf %llu, "
		    "lost %llu\n",
		    m->req_rx / m->secs, m->answers / m->secs,
		    (double)m->resp_bytes / (m->resp_tx ? m->resp_tx : 1),
		    (unsigned long long)m->req_limited, (unsigned long long)m->tx_nobuf,
		    (unsigned long long)m->lost);
	}
	printf("  (CPU: the server's, share of one CPU; wait: runnable but not running; "
	    "gen: the load generator)\n");

	for (int i = 0; i < 3; i++) {
		char name[64];
		struct window *s = &sc[i].sd_med, *e = &sc[i].echo_med;

		snprintf(name, sizeof(name), "serve_%s_answers_per_s", sc[i].name);
		bench_add(res, name, rate(s, true), "answers/s", "UDP echo server, same "
		    "load, same answer size", rate(e, false));
		snprintf(name, sizeof(name), "serve_%s_cpu_us_per_answer", sc[i].name);
		bench_add(res, name, cpu_per_answer_us(s, true), "us", "UDP echo server, "
		    "same load, same answer size", cpu_per_answer_us(e, false));
	}
}

int
main(int argc, char **argv)
{
	int changes = 40, ch, port;
	uint32_t k = 2;
	int rounds = 3;
	double secs = 0.5;
	struct serve_case sc[3];
	struct table *gw;
	pid_t syncd;
	struct table_vni_info vi;
	struct apiclient c;
	uint64_t *tab;
	json_t *res;

	log_init("bench-converge", LOG_LVL_INFO);
	while ((ch = getopt(argc, argv, "l:c:k:r:d:p:")) != -1) {
		if (ch == 'l')
			nlearners = atoi(optarg);
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
			fatalx("usage: converge [-l LEARNERS] [-c CHANGES] [-k IN_FLIGHT] "
			    "[-r ROUNDS] [-d SECONDS] [-p MAX_PARKED]");
	}
	if (nlearners < 1 || nlearners > 250 * 250 || changes < 1 || k < 1 || k > 64 ||
	    rounds < 1 || rounds > ROUNDS_MAX || secs <= 0)
		fatalx("converge: -l 1..62500, -c >= 1, -k 1..64, -r 1..%d, -d > 0",
		    ROUNDS_MAX);
	/* Table polling naps of 20 us, not the default 50 us of slack. */
	prctl(PR_SET_TIMERSLACK, 1000UL);
	cluster_init("converge");

	port = cluster_controller();
	if (max_parked == 0)
		max_parked = (uint32_t)(2 * nlearners > 8192 ? 2 * nlearners : 8192);
	syncd = start_gw(port, max_parked);
	syncd_addr = (struct sockaddr_in){ .sin_family = AF_INET,
	    .sin_port = htons((uint16_t)cluster_log_port("syncd", "sync on port ")) };
	inet_pton(AF_INET, SYNCD_ADDR, &syncd_addr.sin_addr);
	gw = cluster_table_wait(cluster_node("gw"), "rule-store");
	cluster_stats_wait(&sst, cluster_node("gw"), "syncd");
	cluster_api_connect(&c);
	setup_vpcs(&c);
	wait_table(gw);
	learners_open();

	/* converge */
	serve_case_init(&sc[0], "idle", "1 VPC, nothing new", 1);	/* syncd is serving */
	cv_cpu_wait = schedstat(syncd, 1);
	cv_req_rx = stat_get("req_rx");
	cv_park_full = stat_get("park_full");
	cv_tx_nobuf = stat_get("tx_nobuf");
	tab = converge_run(&c, gw, changes);
	cv_cpu_wait = schedstat(syncd, 1) - cv_cpu_wait;
	cv_req_rx = stat_get("req_rx") - cv_req_rx;
	cv_park_full = stat_get("park_full") - cv_park_full;
	cv_tx_nobuf = stat_get("tx_nobuf") - cv_tx_nobuf;

	/* serve */
	if (table_vni_get(gw, C_VNI, &vi) < 0)
		fatalx("converge: VNI %d left the gateway's table", C_VNI);
	serve_case_init(&sc[0], "idle", "1 VPC, nothing new", vi.version);
	serve_case_init(&sc[1], "idle32", "32 VPCs, nothing new", 0);
	serve_case_init(&sc[2], "page", "1 VPC from version 0: a page", 0);
	for (int i = 0; i < 3; i++)
		serve_run(&sc[i], k, rounds, secs, syncd);

	res = bench_results();
	converge_report(res, tab, changes);
	serve_report(res, sc, k, rounds, secs);
	printf("syncd in all: req_rx %llu resp_tx %llu req_limited %llu tx_nobuf %llu "
	    "park_full %llu park_woken %llu park_expired %llu req_malformed %llu\n",
	    (unsigned long long)stat_get("req_rx"), (unsigned long long)stat_get("resp_tx"),
	    (unsigned long long)stat_get("req_limited"), (unsigned long long)stat_get("tx_nobuf"),
	    (unsigned long long)stat_get("park_full"), (unsigned long long)stat_get("park_woken"),
	    (unsigned long long)stat_get("park_expired"),
	    (unsigned long long)stat_get("req_malformed"));

	for (int i = 0; i < nlearners; i++)
		close(ln[i].fd);
	close(ep);
	table_close(gw);
	stats_close(&sst);
	apiclient_close(&c);
	cluster_end();
	return bench_write(res, "converge") < 0;
}
