/*
 * storm_peer: both ends of a learn storm (tests/e2e/storm.sh, bench/storm), outside the
 * product: what sends the first packets and what plays the destination hosts.
 *
 *  gen	in a VM's namespace: one UDP datagram (to port 9) to each destination
 *	DST + i, i = FIRST, FIRST + STRIDE, ... < N, at RATE datagrams a second (0: as
 *	fast as the socket takes them), with sendmmsg. With -x, VXLAN frames instead
 *	(learn bit clear, the same inner UDP frame a VM would send) to the gateways'
 *	VTEPs, each destination to the gateway a host would pick (its hash), from a
 *	socket on SRC: the gateways' load without learning. Prints one JSON line:
 *	{"sent", "t0_ns", "t1_ns"} (CLOCK_MONOTONIC, the first and last send).
 *  recv	in a namespace holding the simulated hosts' VTEPs (any local address):
 *	counts the VXLAN frames on port 4789 per inner destination, from a gateway
 *	(-g) or from anyone else (a host, direct), in MAP (a file it makes, mmap'ed:
 *	the counts stay readable after it is gone). Destination i lives on host
 *	i % HOSTS, whose VTEP is VTEP + i % HOSTS: a frame sent to another VTEP counts
 *	as wrong_vtep, one still carrying the learn bit as learn_bit, one of another
 *	VNI or outside [DST, DST + N) as other. Runs until killed.
 *  report	prints MAP as one JSON object: the counters, and for the destinations how
 *	many got 0, 1, 2, 3 and 4 or more frames via a gateway (gw_hist) and directly
 *	(direct_hist), with the first few that got none via a gateway (missing_gw).
 *
 *	With -l (bench/evict: flows in use), over and over, from FIRST again after the
 *	last, until SIGTERM; the JSON line then.
 *
 *	storm_peer gen -n N -d DST [-r RATE] [-o FIRST] [-s STRIDE] [-l]
 *	    [-x GW[,GW...] -S SRC -v VNI]
 *	storm_peer recv -m MAP -n N -d DST -H HOSTS -V VTEP -v VNI -g GW[,GW...]
 *	storm_peer report -m MAP
 */
#include "common/addr.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/mix.h"
#include "common/vxlan.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH		64
#define GW_MAX		8
#define PAYLOAD		16		/* the UDP payload: the destination's index */
#define FRAME_LEN	(FRAME_ETH_HLEN + FRAME_IPV4_HLEN + 8 + PAYLOAD)
#define DGRAM_MAX	2048
#define RCVBUF		(64 << 20)	/* the receiver's socket: many hosts' worth */
#define MAP_MAGIC	0x73746f726d6d6170ull	/* "stormmap" */
#define HIST		5		/* 0, 1, 2, 3, 4 or more */
#define MISSING_SHOWN	8

struct map_hdr {
	uint64_t magic;
	uint32_t n, hosts;
	uint32_t dst, vtep, vni;
	uint32_t ready;			/* 1 once the socket is bound */
	uint64_t rx;			/* datagrams */
	uint64_t bad;			/* not VXLAN + Ethernet + IPv4 */
	uint64_t other;			/* another VNI, or outside [dst, dst + n) */
	uint64_t wrong_vtep;		/* to another host's VTEP than the destination's */
	uint64_t learn_bit;		/* the learn bit still set */
	uint64_t sock_drops;		/* the kernel's, at the socket (buffer full) */
	uint64_t gw_frames, direct_frames;
	/* then uint32_t gw[n], direct[n] */
};

static const uint8_t vm_mac[6] = { 2, 0x5e, 0, 0, 0, 1 };
static const uint8_t router_mac[6] = { 2, 0, 0, 0, 0, 1 };

static void
usage(void)
{
	fatalx("usage: storm_peer gen -n N -d DST [-r RATE] [-o FIRST] [-s STRIDE] [-l] "
	    "[-x GW[,GW...] -S SRC -v VNI]\n"
	    "       storm_peer recv -m MAP -n N -d DST -H HOSTS -V VTEP -v VNI -g GW[,GW...]\n"
	    "       storm_peer report -m MAP");
}

static uint32_t
num(const char *s, uint32_t max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *s == '\0' || *end != '\0' || v > max)
		fatalx("storm_peer: %s: a number 0..%u expected", s, max);
	return (uint32_t)v;
}

static uint32_t
ip_arg(const char *s)
{
	uint32_t ip;

	if (addr_ip4_parse(s, &ip) < 0)
		fatalx("storm_peer: %s: an IPv4 address expected", s);
	return ip;
}

/* "a.b.c.d,a.b.c.d": into ips, how many. */
static uint32_t
ip_list(char *s, uint32_t *ips)
{
	uint32_t n = 0;

	for (char *tok = strtok(s, ","); tok != NULL; tok = strtok(NULL, ",")) {
		if (n == GW_MAX)
			fatalx("storm_peer: at most %d gateways", GW_MAX);
		ips[n++] = ip_arg(tok);
	}
	if (n == 0)
		fatalx("storm_peer: no gateway given");
	return n;
}

static struct sockaddr_in
sin_of(uint32_t ip, uint16_t port)
{
	return (struct sockaddr_in){ .sin_family = AF_INET, .sin_port = htons(port),
	    .sin_addr.s_addr = htonl(ip) };
}

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* What a VM at src sends to dst: Ethernet (to its router) + IPv4 + UDP to port 9. */
static void
frame_write(uint8_t *f, uint32_t src, uint32_t dst, uint32_t index)
{
	uint8_t *ip = f + FRAME_ETH_HLEN, *udp = ip + FRAME_IPV4_HLEN;
	uint32_t sum = 0;

	memset(f, 0, FRAME_LEN);
	memcpy(f, router_mac, 6);
	memcpy(f + 6, vm_mac, 6);
	f[12] = 0x08;
	ip[0] = 0x45;
	ip[3] = FRAME_LEN - FRAME_ETH_HLEN;
	ip[6] = 0x40;
	ip[8] = 64;
	ip[9] = IPPROTO_UDP;
	put32(ip + 12, src);
	put32(ip + 16, dst);
	for (int i = 0; i < FRAME_IPV4_HLEN; i += 2)
		sum += (uint32_t)ip[i] << 8 | ip[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	ip[10] = (uint8_t)(~sum >> 8);
	ip[11] = (uint8_t)~sum;
	udp[0] = 0x9c;		/* port 40000 */
	udp[1] = 0x40;
	udp[3] = 9;
	udp[5] = 8 + PAYLOAD;
	put32(udp + 8, index);
}

/* ---- gen ------------------------------------------------------------------------------ */

static volatile sig_atomic_t stop;

static void
on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static int
gen(int argc, char **argv)
{
	static uint8_t bufs[BATCH][VXLAN_HLEN + FRAME_LEN];
	struct mmsghdr msg[BATCH];
	struct iovec iov[BATCH];
	struct sockaddr_in to[BATCH];
	uint32_t n = 0, dst = 0, rate = 0, first = 0, stride = 1, gws[GW_MAX], ngw = 0;
	uint32_t src = 0, vni = 0, i;
	uint64_t sent = 0, t0 = 0, t1 = 0, start;
	bool have_n = false, have_dst = false, loop = false;
	int ch, fd, one = 1;

	while ((ch = getopt(argc, argv, "n:d:r:o:s:x:S:v:l")) != -1)
		switch (ch) {
		case 'n': n = num(optarg, 1u << 24); have_n = true; break;
		case 'd': dst = ip_arg(optarg); have_dst = true; break;
		case 'r': rate = num(optarg, 100000000); break;
		case 'o': first = num(optarg, 1u << 24); break;
		case 's': stride = num(optarg, 1u << 24); break;
		case 'x': ngw = ip_list(optarg, gws); break;
		case 'S': src = ip_arg(optarg); break;
		case 'v': vni = num(optarg, VXLAN_VNI_MAX); break;
		case 'l': loop = true; break;
		default: usage();
		}
	if (!have_n || !have_dst || stride == 0 || (ngw && (src == 0 || vni == 0)) ||
	    (loop && first >= n))
		usage();
	if (loop) {
		signal(SIGTERM, on_term);
		signal(SIGINT, on_term);
	}
	if ((fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		fatal("storm_peer: socket");
	/* A full device queue says so (ENOBUFS) instead of dropping the datagram silently. */
	(void)setsockopt(fd, IPPROTO_IP, IP_RECVERR, &one, sizeof(one));
	if (ngw) {
		struct sockaddr_in me = sin_of(src, 0);

		if (bind(fd, (struct sockaddr *)&me, sizeof(me)) < 0)
			fatal("storm_peer: bind to the source VTEP");
	}
	memset(msg, 0, sizeof(msg));
	start = clock_mono_ns();
	i = first;
	while (!stop && (i < n || loop)) {
		uint32_t k = 0, due;
		int r;

		if (i >= n)
			i = first;	/* -l: the flows again */

		if (rate) {
			uint64_t ok = (clock_mono_ns() - start) * rate / 1000000000ull;

			if (ok <= sent) {
				struct timespec ts = { 0, 20000 };

				nanosleep(&ts, NULL);
				continue;
			}
			due = ok - sent < BATCH ? (uint32_t)(ok - sent) : BATCH;
		} else
			due = BATCH;
		for (uint32_t j = i; k < due && j < n; j += stride, k++) {
			uint32_t ip = dst + j;

			if (ngw) {
				/* The gateway a host picks (procs/forwarder/dp.c). */
				uint64_t h = mix64((uint64_t)vni << 32 | ip);
				uint32_t g = (uint32_t)(h >> 32) % ngw;

				vxlan_write(bufs[k], &(struct vxlan_hdr){ .vni = vni });
				frame_write(bufs[k] + VXLAN_HLEN, 0x0a000001u, ip, j);
				iov[k] = (struct iovec){ bufs[k], VXLAN_HLEN + FRAME_LEN };
				to[k] = sin_of(gws[g], VXLAN_PORT);
			} else {
				memset(bufs[k], 0, PAYLOAD);
				put32(bufs[k], j);
				iov[k] = (struct iovec){ bufs[k], PAYLOAD };
				to[k] = sin_of(ip, 9);
			}
			msg[k].msg_hdr = (struct msghdr){ .msg_iov = &iov[k], .msg_iovlen = 1,
			    .msg_name = &to[k], .msg_namelen = sizeof(to[k]) };
		}
		for (uint32_t done = 0; done < k;) {
			if ((r = sendmmsg(fd, msg + done, k - done, 0)) < 0) {
				struct timespec ts = { 0, 50000 };

				if (errno != ENOBUFS && errno != EAGAIN && errno != EINTR)
					fatal("storm_peer: sendmmsg");
				nanosleep(&ts, NULL);	/* the device queue is full: wait */
				continue;
			}
			if (t0 == 0)
				t0 = clock_mono_ns();
			done += (uint32_t)r;
		}
		t1 = clock_mono_ns();
		sent += k;
		i += k * stride;
	}
	printf("{\"sent\": %llu, \"t0_ns\": %llu, \"t1_ns\": %llu}\n", (unsigned long long)sent,
	    (unsigned long long)t0, (unsigned long long)t1);
	return 0;
}

/* ---- recv ----------------------------------------------------------------------------- */

static size_t
map_size(uint32_t n)
{
	return sizeof(struct map_hdr) + 2 * (size_t)n * sizeof(uint32_t);
}

static void
count(struct map_hdr *m, uint32_t *gw, uint32_t *direct, const uint8_t *d, size_t len,
    uint32_t from, uint32_t to, const uint32_t *gws, uint32_t ngw)
{
	struct vxlan_hdr vh;
	const uint8_t *f = d + VXLAN_HLEN, *ip = f + FRAME_ETH_HLEN;
	uint32_t dst, i;
	bool via_gw = false;

	m->rx++;
	if (len < VXLAN_HLEN + FRAME_MIN || d[0] != VXLAN_FLAG_I ||
	    f[12] != 0x08 || f[13] != 0x00 || (ip[0] >> 4) != 4) {
		m->bad++;
		return;
	}
	vh.vni = get32(d + 4) >> 8;
	vh.learn = (d[VXLAN_LEARN_BYTE] & VXLAN_LEARN_BIT) != 0;
	dst = get32(ip + 16);
	if (vh.vni != m->vni || dst - m->dst >= m->n) {
		m->other++;
		return;
	}
	i = dst - m->dst;
	if (vh.learn)
		m->learn_bit++;
	if (to != m->vtep + i % m->hosts) {
		m->wrong_vtep++;
		return;
	}
	for (uint32_t g = 0; g < ngw; g++)
		via_gw |= gws[g] == from;
	if (via_gw) {
		__atomic_store_n(&gw[i], gw[i] + 1, __ATOMIC_RELAXED);
		m->gw_frames++;
	} else {
		__atomic_store_n(&direct[i], direct[i] + 1, __ATOMIC_RELAXED);
		m->direct_frames++;
	}
}

static int
recv_main(int argc, char **argv)
{
	static uint8_t bufs[BATCH][DGRAM_MAX];
	static uint8_t ctl[BATCH][CMSG_SPACE(sizeof(struct in_pktinfo))];
	struct sockaddr_in from[BATCH], me = sin_of(0, VXLAN_PORT);
	struct mmsghdr msg[BATCH];
	struct iovec iov[BATCH];
	struct timeval tv = { 0, 100000 };
	uint32_t n = 0, hosts = 0, dst = 0, vtep = 0, vni = 0, gws[GW_MAX], ngw = 0, *gw, *direct;
	const char *path = NULL;
	struct map_hdr *m;
	int ch, fd, mfd, one = 1, sz = RCVBUF;

	while ((ch = getopt(argc, argv, "m:n:d:H:V:v:g:")) != -1)
		switch (ch) {
		case 'm': path = optarg; break;
		case 'n': n = num(optarg, 1u << 24); break;
		case 'd': dst = ip_arg(optarg); break;
		case 'H': hosts = num(optarg, 1u << 24); break;
		case 'V': vtep = ip_arg(optarg); break;
		case 'v': vni = num(optarg, VXLAN_VNI_MAX); break;
		case 'g': ngw = ip_list(optarg, gws); break;
		default: usage();
		}
	if (path == NULL || n == 0 || hosts == 0 || dst == 0 || vtep == 0 || vni == 0 || ngw == 0)
		usage();
	if ((mfd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0 ||
	    ftruncate(mfd, (off_t)map_size(n)) < 0)
		fatal("storm_peer: %s", path);
	m = mmap(NULL, map_size(n), PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	if (m == MAP_FAILED)
		fatal("storm_peer: mmap %s", path);
	close(mfd);
	*m = (struct map_hdr){ .magic = MAP_MAGIC, .n = n, .hosts = hosts, .dst = dst,
	    .vtep = vtep, .vni = vni };
	gw = (uint32_t *)(m + 1);
	direct = gw + n;
	if ((fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		fatal("storm_peer: socket");
	/* Past rmem_max as root: the simulated hosts share one socket. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	if (setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    bind(fd, (struct sockaddr *)&me, sizeof(me)) < 0)
		fatal("storm_peer: the VXLAN socket");
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	__atomic_store_n(&m->ready, 1, __ATOMIC_RELEASE);
	while (!stop) {
		uint32_t mi[SK_MEMINFO_VARS];
		socklen_t mlen = sizeof(mi);
		int r;

		for (int k = 0; k < BATCH; k++) {
			iov[k] = (struct iovec){ bufs[k], DGRAM_MAX };
			msg[k].msg_hdr = (struct msghdr){ .msg_name = &from[k],
			    .msg_namelen = sizeof(from[k]), .msg_iov = &iov[k], .msg_iovlen = 1,
			    .msg_control = ctl[k], .msg_controllen = sizeof(ctl[k]) };
		}
		r = recvmmsg(fd, msg, BATCH, MSG_WAITFORONE, NULL);
		for (int k = 0; k < r; k++) {
			uint32_t to = 0;

			for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg[k].msg_hdr); c != NULL;
			    c = CMSG_NXTHDR(&msg[k].msg_hdr, c))
				if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO)
					to = ntohl(((struct in_pktinfo *)CMSG_DATA(c))->
					    ipi_addr.s_addr);
			count(m, gw, direct, bufs[k], msg[k].msg_len,
			    ntohl(from[k].sin_addr.s_addr), to, gws, ngw);
		}
		if (getsockopt(fd, SOL_SOCKET, SO_MEMINFO, mi, &mlen) == 0 &&
		    mlen > SK_MEMINFO_DROPS * sizeof(mi[0]))
			m->sock_drops = mi[SK_MEMINFO_DROPS];
	}
	return 0;
}

/* ---- report --------------------------------------------------------------------------- */

static int
report(int argc, char **argv)
{
	uint64_t gh[HIST] = { 0 }, dh[HIST] = { 0 };
	const char *path = NULL;
	struct map_hdr h, *m;
	uint32_t *gw, *direct, shown = 0;
	char ip[ADDR_IP4_STRLEN];
	int ch, fd;

	while ((ch = getopt(argc, argv, "m:")) != -1)
		if (ch == 'm')
			path = optarg;
		else
			usage();
	if (path == NULL)
		usage();
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || read(fd, &h, sizeof(h)) !=
	    (ssize_t)sizeof(h) || h.magic != MAP_MAGIC)
		fatalx("storm_peer: %s: not a receiver's map", path);
	m = mmap(NULL, map_size(h.n), PROT_READ, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		fatal("storm_peer: mmap %s", path);
	close(fd);
	gw = (uint32_t *)(m + 1);
	direct = gw + m->n;
	printf("{\"n\": %u, \"rx\": %llu, \"bad\": %llu, \"other\": %llu, \"wrong_vtep\": %llu, "
	    "\"learn_bit\": %llu, \"sock_drops\": %llu, \"gw_frames\": %llu, "
	    "\"direct_frames\": %llu, \"missing_gw\": [", m->n, (unsigned long long)m->rx,
	    (unsigned long long)m->bad, (unsigned long long)m->other,
	    (unsigned long long)m->wrong_vtep, (unsigned long long)m->learn_bit,
	    (unsigned long long)m->sock_drops, (unsigned long long)m->gw_frames,
	    (unsigned long long)m->direct_frames);
	for (uint32_t i = 0; i < m->n; i++) {
		uint32_t g = __atomic_load_n(&gw[i], __ATOMIC_RELAXED);
		uint32_t d = __atomic_load_n(&direct[i], __ATOMIC_RELAXED);

		gh[g < HIST ? g : HIST - 1]++;
		dh[d < HIST ? d : HIST - 1]++;
		if (g == 0 && shown < MISSING_SHOWN)
			printf("%s\"%s\"", shown++ ? ", " : "", addr_ip4_format(m->dst + i, ip));
	}
	printf("], \"gw_hist\": [");
	for (int k = 0; k < HIST; k++)
		printf("%s%llu", k ? ", " : "", (unsigned long long)gh[k]);
	printf("], \"direct_hist\": [");
	for (int k = 0; k < HIST; k++)
		printf("%s%llu", k ? ", " : "", (unsigned long long)dh[k]);
	printf("]}\n");
	return 0;
}

int
main(int argc, char **argv)
{
	log_init("storm_peer", LOG_LVL_INFO);
	if (argc < 2)
		usage();
	optind = 2;
	if (strcmp(argv[1], "gen") == 0)
		return gen(argc, argv);
	if (strcmp(argv[1], "recv") == 0)
		return recv_main(argc, argv);
	if (strcmp(argv[1], "report") == 0)
		return report(argc, argv);
	usage();
}
