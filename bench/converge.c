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
 *		it. syncd and the echo take turns, -r (5) rounds of -d (0.5) s each after
 *		0.2 s of warm-up; each reports its median round, so a burst of load from
 *		elsewhere on the machine hits one round, not one side. With two CPUs, one
 *		for the server and one for the load generator, the idle case is bound by
 *		the generator: there CPU time per answer is the figure to compare.
 *
 * Both phases run twice, against two gateways on one controller: without authentication
 * (the rows above, as before) and with it (common/auth.h: syncd holds a cluster secret;
 * learner i is host "hNNNNN" with its key derived from the secret, and MACs its
 * requests; in converge it checks each answer's MAC as the real learner does, in serve
 * every request is sealed beforehand, so the load generator's work is the same both
 * ways). Every learner names its host in both, as procs/learner does. converge's -c
 * changes take turns in blocks of 5, without then with; serve's rounds take turns:
 * syncd without, syncd with, the echo. Rows converge_auth_*: with against without, ratio off / on for latencies
 * and CPU per answer, on / off for answers a second (issue 11's goal: >= 0.9). serve's
 * auth ratios are paired: each round's with against the same round's without (run one
 * after the other), the median over rounds, so load from elsewhere that comes and goes
 * between rounds does not land on one side; the rows' values are the median rounds.
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
#define AUTH_SYNCD	"127.0.14.3"	/* the gateway with authentication */
#define KEY_ID		1		/* cluster_auth_secret's */
#define REQ_MAX		(SYNC_HDR_SIZE + 16 + 12 + 28 * SYNC_VNIS_MAX + SYNC_MAC_SIZE)
#define ECHO_ADDR	0x7f000e02u	/* 127.0.14.2 */
#define LEARNER_NET	0x7f0e0000u	/* 127.14.0.0/16 */
#define ENTS_MAX	4096
#define CV_BLOCK	5		/* converge's changes on one gateway in a row */
#define MMSG		16		/* datagrams a socket reads or writes a call (serve) */
#define LOST_NS		(200 * 1000000ull)
#define ROUNDS_MAX	15
#define RESEND_NS	((WAIT_MS + 500) * 1000000ull)	/* the learner's sync_timeout */
#define TABLE_NAP_NS	20000

struct learner {
	int fd;
	char name[16];		/* its host's: "hNNNNN", all of one length */
	struct auth_mackey key;	/* the host's, derived from the secret */
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
	uint64_t malformed, bad_mac, stale, unexpected, wrong, expired, resent;
};

/* One converge run's latencies and what syncd did meanwhile. */
struct cv_result {
	int changes;
	uint64_t *tab;			/* commit -> gateway table, one a change */
	uint64_t *lat_k, *lat_u;	/* [sample * nlearners + learner], ns after t0 */
	struct cv_counts cv;
	uint64_t cpu_wait, req_rx, park_full, tx_nobuf;
};

/* A gateway (rule-store and syncd), without authentication or with. */
struct side {
	bool auth;
	const char *label;
	pid_t syncd;
	struct sockaddr_in addr;
	struct stats st;
	struct table *gw;
	uint32_t c_gen, idle_gen[IDLE_VPCS];
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

static int nlearners = 1000;
static uint32_t max_parked;
static struct learner *ln;
static int ep = -1;
static struct side sides[2];	/* without authentication, with */
static struct side *cur;	/* the one the learners speak to */
static struct auth *mac;
static struct sync_entry ents[ENTS_MAX];

/* converge: the sample in progress */
static int sample = -1;
static uint64_t target, want_vtep, t0;
static bool repark;
static uint64_t *lat_k, *lat_u;	/* [sample * nlearners + learner], ns after t0 */
static int arrived;
static struct cv_counts cv;

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


/* The learners' sockets, and their hosts' names and keys (from secret). */
static void
learners_open(const struct auth_key *secret)
{
	struct auth_key k;
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
		snprintf(ln[i].name, sizeof(ln[i].name), "h%05d", i);
		if (auth_derive(secret, ln[i].name, strlen(ln[i].name), &k) < 0)
			fatalx("converge: cannot derive the key of %s", ln[i].name);
		auth_mackey_set(&ln[i].key, k.key);
	}
}

static void
send_to(int fd, const void *buf, size_t len, const struct sockaddr_in *to)
{
	if (sendto(fd, buf, len, 0, (const struct sockaddr *)to, sizeof(*to)) < 0)
		log_warnx("sendto: %s", strerror(errno));
}

/* A learner asks for the changes of the VPC after its version, as the real one does. */
/*
 * Encode r as learner l's request to the current gateway, with its host's name, MACed
 * with its key when that gateway checks them; the length.
 */
static size_t
req_seal(const struct learner *l, struct sync_req *r, uint8_t *buf, size_t cap)
{
	int n;

	sync_hdr_set_name(&r->h, l->name);
	r->h.key_id = KEY_ID;
	r->h.flags = cur->auth ? SYNC_H_MAC : 0;
	r->h.ts_ns = clock_real_ns();
	if ((n = sync_req_encode(r, buf, cap)) < 0)
		fatalx("converge: cannot encode a request: %s", strerror(-n));
	if (cur->auth && auth_seal(mac, &l->key, buf, (size_t)n) < 0)
		fatalx("converge: auth_seal failed");
	return (size_t)n;
}

/* Does an answer to l carry l's name and, from a gateway that MACs, l's MAC? */
static bool
answer_authentic(const struct learner *l, const uint8_t *buf, size_t len)
{
	struct sync_hdr h;

	if (!cur->auth)
		return true;
	return sync_hdr_decode(buf, len, &h) >= 0 && (h.flags & SYNC_H_MAC) &&
	    h.key_id == KEY_ID && strcmp(h.name, l->name) == 0 &&
	    auth_check(mac, &l->key, buf, len);
}

static void
ask(struct learner *l, uint16_t wait_ms)
{
	struct sync_req r = { .id = ++l->id, .wait_ms = wait_ms, .count = 1 };
	uint8_t buf[REQ_MAX];
	size_t n;

	r.items[0] = (struct sync_item){ .vni = C_VNI, .gen = cur->c_gen,
	    .version = l->version, .cursor_version = l->cur_v, .cursor_ip = l->cur_ip };
	n = req_seal(l, &r, buf, sizeof(buf));
	send_to(l->fd, buf, n, &cur->addr);
	l->sent_ns = clock_mono_ns();
	l->waiting = true;
}

static void
on_answer(struct learner *l, const uint8_t *buf, size_t len, uint64_t kern, uint64_t user)
{
	const struct sync_section *sec = NULL;
	struct sync_resp r;

	if (!answer_authentic(l, buf, len)) {
		cv.bad_mac++;
		return;
	}
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
	if (sec == NULL || sec->status != SYNC_OK || sec->gen != cur->c_gen ||
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

/* Room in each side's cvr for changes samples. */
static void
converge_alloc(int changes)
{
	for (int si = 0; si < 2; si++) {
		struct cv_result *r = &sides[si].cvr;

		*r = (struct cv_result){ .tab = calloc((size_t)changes, sizeof(*r->tab)),
		    .lat_k = calloc((size_t)changes * nlearners, sizeof(*r->lat_k)),
		    .lat_u = calloc((size_t)changes * nlearners, sizeof(*r->lat_u)) };
		if (r->tab == NULL || r->lat_k == NULL || r->lat_u == NULL)
			fatalx("out of memory");
	}
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
	struct table *gw = cur->gw;
	uint64_t cpu_wait, req_rx, park_full, tx_nobuf;
	struct table_vni_info vi;

	lat_k = res->lat_k;
	lat_u = res->lat_u;
	if (table_vni_get(gw, C_VNI, &vi) < 0)
		fatalx("converge: VNI %d is not in the gateway's table", C_VNI);
	cv = res->cv;
	for (int i = 0; i < nlearners; i++) {
		ln[i].version = vi.version;
		ln[i].cur_v = 0;
		ln[i].cur_ip = 0;
		ln[i].waiting = false;
		ln[i].seen = -1;
	}
	cpu_wait = bench_schedstat(cur->syncd, 1);
	req_rx = stat_get("req_rx");
	park_full = stat_get("park_full");
	tx_nobuf = stat_get("tx_nobuf");
	repark = true;
	for (int i = 0; i < nlearners; i++)
		ask(&ln[i], WAIT_MS);
	for (int k = 0; k < n; k++) {
		int s = res->changes + k;
		const char *host = *moves % 2 == 0 ? "h2" : "h1";
		struct table_rule r;
		uint64_t deadline;

		/* Beyond max_parked, syncd answers at once and the learner asks again. */
		wait_parked((uint64_t)nlearners < max_parked ? (uint64_t)nlearners : max_parked);
		want_vtep = *moves % 2 == 0 ? VTEP_H2 : VTEP_H1;
		++*moves;
		target = UINT64_MAX;	/* until the table tells the change's version */
		arrived = 0;
		sample = s;
		repark = k + 1 < n;
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
	res->changes += n;
	res->cv = cv;
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

/* Send n copies of learner l's request (reqs + its index * REQ_MAX). */
static void
load_send(struct learner *l, const uint8_t *reqs, size_t len, const struct sockaddr_in *to,
    uint32_t n)
{
	struct mmsghdr m[MMSG];
	struct iovec iov = { .iov_base = (void *)(reqs + (size_t)(l - ln) * REQ_MAX),
	    .iov_len = len };

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
 * last secs. req: the learners' requests, REQ_MAX bytes apart, each len long. server:
 * the pid whose CPU time is counted; is_syncd: read the current gateway's counters.
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

/* One answer from syncd to req, from learner 0; its length, and r decoded. */
static size_t
probe(const uint8_t *req, size_t len, struct sync_resp *r)
{
	uint8_t buf[4096];

	for (int tries = 0; tries < 20; tries++) {
		uint64_t deadline;

		send_to(ln[0].fd, req, len, &cur->addr);
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
			if (!answer_authentic(&ln[0], buf, (size_t)n))
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
	/* Not an id learner 0 uses in converge, where a late answer could land. */
	struct sync_req r = { .id = 0x80000000u, .wait_ms = 0 };
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
	    (sc->reqs[si] = calloc((size_t)nlearners, REQ_MAX)) == NULL)
		fatalx("out of memory");
	/* Names of one length: every learner's request is as long. */
	for (int i = 0; i < nlearners; i++)
		sc->len[si] = req_seal(&ln[i], &r, sc->reqs[si] + (size_t)i * REQ_MAX, REQ_MAX);
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
			load_run(&cur->addr, sc->reqs[si], sc->len[si], k, secs, cur->syncd,
			    true, &sc->sd[si][r]);
		}
		load_run(&ea, sc->reqs[0], sc->len[0], k, secs, echo_pid, false,
		    &sc->echo[r]);
	}
	cluster_stop(echo_pid);
	for (int si = 0; si < 2; si++)
		sc->sd_med[si] = median_round(sc->sd[si], rounds, true);
	sc->echo_med = median_round(sc->echo, rounds, false);
}

/*
 * Gateway si (sides[]): its node, a rule-store and a syncd, with the cluster secret at
 * secret_path when it authenticates; its syncd's address, pid, table and counters.
 */
static void
start_gw(int si, int port, uint32_t parked_max, const char *secret_path)
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
	if (sd->auth)
		snprintf(auth, sizeof(auth), " auth = true;\n auth_secret = \"%s\";\n",
		    secret_path);
	else
		snprintf(auth, sizeof(auth), " auth = false;\n");
	snprintf(conf, sizeof(conf), "node = \"%s\";\nrule_store = {\n tls = false;\n"
	    " controllers = "
	    "[\"127.0.0.1:%d\"];\n table_capacity = 100000;\n};\nsyncd = {\n listen = \""
	    "%s:0\";\n allow = [\"127.14.0.0/16\"];\n rate = 100000;\n burst = 10000;\n"
	    " max_wait = \"2s\";\n max_parked = %u;\n%s};\n", node, port, addr, parked_max,
	    auth);
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

/* converge's percentiles, ms: at a learner, and at the last learner of a change. */
struct cv_pct {
	double p50, p99, last_p50, last_p99;
};

/* The converge table of gateway sd; its rows to res (NULL: none). */
static struct cv_pct
converge_report(json_t *res, struct side *sd)
{
	int changes = sd->cvr.changes;
	uint64_t *tab = sd->cvr.tab, *lk = sd->cvr.lat_k, *lu = sd->cvr.lat_u;
	const struct cv_counts *cc = &sd->cvr.cv;
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
			uint64_t v = lk[(size_t)s * nlearners + i];

			if (v > last[s])
				last[s] = v;
			if (v < first[s])
				first[s] = v;
			fan[(size_t)s * nlearners + i] = v > tab[s] ? v - tab[s] : 0;
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
	tp50 = bench_pct_ms(tab, (size_t)changes, 0.5);
	tp99 = bench_pct_ms(tab, (size_t)changes, 0.99);
	tmax = bench_pct_ms(tab, (size_t)changes, 1.0);

	printf("converge (%s): a VM migrates (API call) -> the answer carrying it reaches "
	    "each of %d learners\nparked at syncd; %d changes, one at a time\n",
	    sd->auth ? "with authentication" : "without authentication", nlearners,
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
	    "bad MAC %llu, stale %llu, unexpected %llu, wrong %llu, expired %llu, "
	    "resent %llu\n", sd->cvr.cpu_wait / 1e6, (unsigned long long)cc->malformed,
	    (unsigned long long)cc->bad_mac, (unsigned long long)cc->stale,
	    (unsigned long long)cc->unexpected, (unsigned long long)cc->wrong,
	    (unsigned long long)cc->expired, (unsigned long long)cc->resent);
	printf("syncd received %llu requests (%.2f a learner a change), park_full %llu, "
	    "tx_nobuf %llu\n", (unsigned long long)sd->cvr.req_rx,
	    (double)sd->cvr.req_rx / nlearners / changes,
	    (unsigned long long)sd->cvr.park_full, (unsigned long long)sd->cvr.tx_nobuf);
	free(last);
	free(first);
	free(fan);
	if (res == NULL)
		return (struct cv_pct){ kp50, kp99, lp50, lp99 };

	bench_add(res, "converge_p50_ms", kp50, "ms", "API call -> in the gateway table "
	    "p50", tp50);
	bench_add(res, "converge_p99_ms", kp99, "ms", "API call -> in the gateway table "
	    "p99", tp99);
	bench_add(res, "converge_last_p50_ms", lp50, "ms", "API call -> in the gateway "
	    "table p50", tp50);
	bench_add(res, "converge_last_p99_ms", lp99, "ms", "API call -> in the gateway "
	    "table p99", tp99);
	return (struct cv_pct){ kp50, kp99, lp50, lp99 };
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
	    "median of %d rounds of %.1f s\n", nlearners, k, rounds, secs);
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
	int changes = 40, ch, port, moves = 0;
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
	if ((mac = auth_new()) == NULL)
		fatalx("converge: auth_new (no AES-GCM in libsodium or libcrypto?)");

	port = cluster_controller();
	if (max_parked == 0)
		max_parked = (uint32_t)(2 * nlearners > 8192 ? 2 * nlearners : 8192);
	secret_path = cluster_auth_secret(&secret);
	start_gw(0, port, max_parked, NULL);
	start_gw(1, port, max_parked, secret_path);
	cluster_api_connect(&c);
	setup_vpcs(&c);
	for (int si = 0; si < 2; si++)
		wait_table(&sides[si]);
	learners_open(&secret);

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
	cp[1] = converge_report(NULL, &sides[1]);
	printf("auth: off / on p50 %.3f, p99 %.3f, last p50 %.3f, last p99 %.3f "
	    "(goal: >= 0.9)\n", cp[0].p50 / cp[1].p50, cp[0].p99 / cp[1].p99,
	    cp[0].last_p50 / cp[1].last_p50, cp[0].last_p99 / cp[1].last_p99);
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

	for (int i = 0; i < nlearners; i++)
		close(ln[i].fd);
	close(ep);
	for (int si = 0; si < 2; si++) {
		table_close(sides[si].gw);
		stats_close(&sides[si].st);
		free(sides[si].cvr.tab);
		free(sides[si].cvr.lat_k);
		free(sides[si].cvr.lat_u);
	}
	for (int i = 0; i < 3; i++)
		for (int si = 0; si < 2; si++)
			free(sc[i].reqs[si]);
	auth_free(mac);
	apiclient_close(&c);
	cluster_end();
	return bench_write(res, "converge") < 0;
}
