/*
 * xsk: the forwarder's AF_XDP underlay (xsk.h). xsk_open loads the embedded XDP program
 * with libbpf (bpffs is not mounted here, so not libxdp's dispatcher), makes one XSK a
 * receive queue with libxdp, all on the caller's UMEM and each with its own fill and
 * completion rings, puts them in the program's XSKMAP and attaches the program last,
 * through a BPF link: a failure before leaves nothing attached, and the link goes with
 * the process however it ends.
 */
#include "procs/forwarder/xsk.h"

#include "common/log.h"
#include "common/clock.h"
#include "procs/forwarder/fastrules.h"
#include "procs/forwarder/xdp_vxlan.h"
#include "procs/forwarder/xdp_vxlan_obj.h"	/* generated: the program's object */

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/ethtool.h>
#include <linux/if_link.h>
#include <linux/if_xdp.h>
#include <linux/sockios.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>
#include <xdp/xsk.h>

#define XSK_QUEUES_MAX	256	/* the XSKMAP's entries (xdp_vxlan.bpf.c) */
#define XSK_RING_MAX	(1u << 16)
#define XSK_KICKS_MAX	64	/* sendto calls a kick makes while the kernel progresses */
#define XSK_BUSY_TRIES	50	/* binds to a busy queue, XSK_BUSY_WAIT_US apart */
#define XSK_BUSY_WAIT_US	10000
/*
 * Linux 6.17's: in copy mode, how many frames one kick sends (32 before, and without
 * it). Debian 12's headers predate it; an older kernel refuses it, and 32 it is.
 */
#ifndef XDP_MAX_TX_SKB_BUDGET
#define XDP_MAX_TX_SKB_BUDGET	9
#endif

struct xsk_queue {
	struct xsk_socket *sock;
	int fd;
	struct xsk_ring_cons rx;
	struct xsk_ring_prod tx;
	struct xsk_ring_prod fill;
	struct xsk_ring_cons comp;
};

/* The program's maps of the rule cache (xdp_vxlan.bpf.c), by their slot in fast_fd. */
enum { FAST_RULES, FAST_VNIS, FAST_SRCS, FAST_GEN, FAST_HOPS, FAST_NMAPS };

struct xsk {
	char ifname[IF_NAMESIZE];
	int ifindex;
	struct bpf_object *obj;
	int link_fd;
	int counters_fd;
	int fast_fd[FAST_NMAPS];	/* by FAST_*; -1 when the cache is off */
	bool fast;
	struct fastrules rules;		/* fast_rules, mapped (b: NULL when not) */
	size_t rules_len;
	int ethtool_fd;		/* a socket for the driver's counters */
	uint32_t tx_err_n;	/* the driver's counters named *xdp_tx_err*: how many */
	uint32_t *tx_err_at;	/* ... and where in its list */
	uint32_t nstats;	/* ... of how many: the driver's when they were found */
	struct ethtool_stats *estats;	/* room for nstats */
	uint64_t tx_err_raw;	/* their sum at the last read */
	uint64_t tx_err_total;	/* what xsk_xdp_tx_errors says: never less */
	bool tx_err_rebase;	/* found (again): the next sum is the new raw, not counted */
	int ncpus;
	uint64_t *percpu;	/* ncpus values: one counter read from the map */
	struct xsk_umem *umem;
	uint32_t ring_size;
	uint32_t nq;
	uint32_t rx_next;	/* the queue xsk_rx starts with: none starves */
	uint32_t fill_next;
	const char *mode;
	struct xsk_queue q[];
};

/*
 * libbpf's warnings go to the log, and the first since xsk_open began into its error
 * message (the cause, e.g. "prog 'xdp_vxlan': BPF program load failed: Invalid argument").
 */
static char libbpf_first[160];

static int
libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char line[512];
	size_t n;

	if (level != LIBBPF_WARN)
		return 0;
	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == ' '))
		line[--n] = '\0';
	if (n == 0)
		return 0;
	if (libbpf_first[0] == '\0')
		snprintf(libbpf_first, sizeof(libbpf_first), "%s", line);
	log_warnx("%s", line);
	return 0;
}

static int
open_fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

static bool
pow2(uint32_t v)
{
	return v != 0 && (v & (v - 1)) == 0;
}

/*
 * The interface's receive queues, from its driver (netns-aware, unlike /sys/class/net,
 * which shows the namespace sysfs was mounted in). No ETHTOOL_GCHANNELS: one queue.
 */
static int
queues_count(const char *ifname, uint32_t *nq)
{
	struct ethtool_channels ch = { .cmd = ETHTOOL_GCHANNELS };
	struct ifreq ifr = { 0 };
	int s, rc = 0;

	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_data = (void *)&ch;
	if (ioctl(s, SIOCETHTOOL, &ifr) == 0) {
		*nq = ch.rx_count + ch.combined_count;
		if (*nq == 0)
			*nq = 1;
	} else if (errno == EOPNOTSUPP) {
		*nq = 1;
	} else {
		rc = -errno;
	}
	close(s);
	return rc;
}

static int
params_check(const struct xsk_params *p, char *err, size_t errlen)
{
	if (!p->ifname || p->ifname[0] == '\0' || strlen(p->ifname) >= IF_NAMESIZE)
		return open_fail(err, errlen, -EINVAL,
		    "AF_XDP: interface name missing or too long");
	if (p->ip == 0 || p->port == 0)
		return open_fail(err, errlen, -EINVAL, "AF_XDP on %s: no VTEP address or port",
		    p->ifname);
	if (p->frame_size != 2048 && p->frame_size != 4096)
		return open_fail(err, errlen, -EINVAL,
		    "AF_XDP on %s: frame_size %u is not 2048 or 4096",
		    p->ifname, p->frame_size);
	if (!p->umem || ((uintptr_t)p->umem & 4095) != 0 || p->n_frames == 0)
		return open_fail(err, errlen, -EINVAL,
		    "AF_XDP on %s: the UMEM is empty or not page aligned",
		    p->ifname);
	if (!pow2(p->ring_size) || p->ring_size > XSK_RING_MAX)
		return open_fail(err, errlen, -EINVAL,
		    "AF_XDP on %s: ring_size %u is not a power of 2 "
		    "up to %u", p->ifname, p->ring_size, XSK_RING_MAX);
	if (p->mode != XSK_MODE_AUTO && p->mode != XSK_MODE_NATIVE && p->mode != XSK_MODE_SKB)
		return open_fail(err, errlen, -EINVAL, "AF_XDP on %s: unknown mode %d", p->ifname,
		    p->mode);
	return 0;
}

static void tx_err_find(struct xsk *x);

static const char *const fast_maps[FAST_NMAPS] = { "fast_rules", "fast_vnis", "fast_srcs",
    "fast_gen", "fast_hops" };

/* The program, configured and loaded; its counters' fd. */
static int
prog_load(struct xsk *x, const struct xsk_params *p, char *err, size_t errlen)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo, .object_name = "xdp_vxlan");
	struct xdp_vxlan_cfg cfg = {
		.ip = p->ip,
		.port = htons(p->port),
		.max_len = (uint16_t)(p->frame_size - XSK_RX_HEADROOM),
		.fast = p->fast_rules > 0,
		.fast_buckets = p->fast_rules > 0 ? fastrules_buckets(p->fast_rules) : 1,
	};
	struct bpf_map *m;
	void *b;
	int rc;

	if (cfg.fast && getrandom(&cfg.fast_seed, sizeof(cfg.fast_seed), 0) !=
	    sizeof(cfg.fast_seed))
		return open_fail(err, errlen, -errno, "the XDP program's rule cache: getrandom: %s",
		    strerror(errno));

	x->obj = bpf_object__open_mem(xdp_vxlan_obj, sizeof(xdp_vxlan_obj), &oo);
	if (!x->obj) {
		rc = -errno;
		x->obj = NULL;
		return open_fail(err, errlen, rc, "open the XDP program: %s%s%s", strerror(-rc),
		    libbpf_first[0] ? ": " : "", libbpf_first);
	}
	m = bpf_object__find_map_by_name(x->obj, ".rodata.cfg");
	if (!m || bpf_map__set_initial_value(m, &cfg, sizeof(cfg)) != 0)
		return open_fail(err, errlen, -EINVAL,
		    "configure the XDP program: no .rodata.cfg of "
		    "%zu bytes", sizeof(cfg));
	for (int i = 0; i < FAST_NMAPS; i++) {
		const uint32_t sizes[FAST_NMAPS] = { cfg.fast_buckets, p->fast_vnis,
		    p->fast_srcs, 0, p->fast_hops };
		uint32_t n = p->fast_rules == 0 ? 1 : sizes[i];

		if (i == FAST_GEN)	/* an ARRAY the program sizes */
			continue;

		if ((m = bpf_object__find_map_by_name(x->obj, fast_maps[i])) == NULL ||
		    bpf_map__set_max_entries(m, n ? n : 1) != 0)
			return open_fail(err, errlen, -EINVAL,
			    "configure the XDP program: no map %s", fast_maps[i]);
	}
	rc = bpf_object__load(x->obj);
	if (rc < 0)
		return open_fail(err, errlen, rc, "load the XDP program: %s%s%s", strerror(-rc),
		    libbpf_first[0] ? ": " : "", libbpf_first);
	x->counters_fd = bpf_object__find_map_fd_by_name(x->obj, "counters");
	if (x->counters_fd < 0)
		return open_fail(err, errlen, -ENOENT, "the XDP program has no counters map");
	for (int i = 0; i < FAST_NMAPS; i++)
		if ((x->fast_fd[i] = bpf_object__find_map_fd_by_name(x->obj, fast_maps[i])) < 0)
			return open_fail(err, errlen, -ENOENT, "the XDP program has no map %s",
			    fast_maps[i]);
	x->fast = p->fast_rules > 0;
	if (!x->fast)
		return 0;
	/* An ARRAY's values are contiguous, each rounded up to 8 bytes: a bucket is 128. */
	x->rules_len = (size_t)cfg.fast_buckets * sizeof(struct xdp_fast_bucket);
	b = mmap(NULL, x->rules_len, PROT_READ | PROT_WRITE, MAP_SHARED,
	    x->fast_fd[FAST_RULES], 0);
	if (b == MAP_FAILED)
		return open_fail(err, errlen, -errno, "the XDP program's rule cache: map %zu "
		    "bytes: %s", x->rules_len, strerror(errno));
	x->rules = (struct fastrules){ .b = b, .n = cfg.fast_buckets, .seed = cfg.fast_seed };
	if (xsk_fast_gen_set(x, XDP_FAST_ON, 1) < 0)
		return open_fail(err, errlen, -errno, "the XDP program's rule cache: %s",
		    strerror(errno));
	return 0;
}

/* One XSK a queue on the shared UMEM, each in the XSKMAP at its queue's index. */
static int
socks_create(struct xsk *x, const struct xsk_params *p, char *err, size_t errlen)
{
	struct xsk_umem_config uc = {
		.fill_size = p->ring_size,
		.comp_size = p->ring_size,
		.frame_size = p->frame_size,
		.frame_headroom = 0,
	};
	struct xsk_socket_config sc = {
		.rx_size = p->ring_size,
		.tx_size = p->ring_size,
		.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD,
		/* No XDP_ZEROCOPY: the kernel takes zero-copy where the driver has it. */
		.bind_flags = XDP_USE_NEED_WAKEUP | (p->mode == XSK_MODE_SKB ? XDP_COPY : 0),
	};
	unsigned int budget;
	int map_fd, rc;

	map_fd = bpf_object__find_map_fd_by_name(x->obj, "xsks");
	if (map_fd < 0)
		return open_fail(err, errlen, -ENOENT, "the XDP program has no xsks map");
	/* Queue 0's XSK takes the UMEM's own fill and completion rings. */
	rc = xsk_umem__create(&x->umem, p->umem, (uint64_t)p->n_frames * p->frame_size,
	    &x->q[0].fill, &x->q[0].comp, &uc);
	if (rc < 0) {
		x->umem = NULL;
		return open_fail(err, errlen, rc, "register the UMEM (%u frames of %u) for %s: %s",
		    p->n_frames, p->frame_size, p->ifname, strerror(-rc));
	}
	for (uint32_t i = 0; i < x->nq; i++) {
		struct xsk_queue *q = &x->q[i];

		/*
		 * The kernel frees a closed XSK's hold on its queue later, in a work item: a
		 * queue just let go (a failed open, a forwarder restarted) is busy a moment.
		 */
		for (int t = 0; ; t++) {
			rc = xsk_socket__create_shared(&q->sock, p->ifname, i, x->umem, &q->rx,
			    &q->tx, &q->fill, &q->comp, &sc);
			if (rc != -EBUSY || t == XSK_BUSY_TRIES)
				break;
			usleep(XSK_BUSY_WAIT_US);
		}
		if (rc < 0) {
			q->sock = NULL;
			return open_fail(err, errlen, rc, "create the XSK of %s queue %u: %s%s",
			    p->ifname, i, strerror(-rc),
			    rc == -EBUSY ? " (another XSK holds the queue)" : "");
		}
		q->fd = xsk_socket__fd(q->sock);
		/* A batch of the forwarder's (up to a ring) sent by one kick, not 32. */
		budget = p->ring_size;
		(void)setsockopt(q->fd, SOL_XDP, XDP_MAX_TX_SKB_BUDGET, &budget, sizeof(budget));
		if (bpf_map_update_elem(map_fd, &i, &q->fd, 0) != 0) {
			rc = -errno;
			return open_fail(err, errlen, rc,
			    "put the XSK of %s queue %u in the XSKMAP: %s",
			    p->ifname, i, strerror(-rc));
		}
	}
	return 0;
}

static int
link_attach(int prog_fd, int ifindex, uint32_t flags)
{
	LIBBPF_OPTS(bpf_link_create_opts, lo, .flags = flags);
	int fd = bpf_link_create(prog_fd, ifindex, BPF_XDP, &lo);

	return fd < 0 ? -errno : fd;
}

static const char *
attach_why(int rc)
{
	if (rc == -EBUSY || rc == -EEXIST)
		return " (another XDP program is attached)";
	return "";
}

/* The program on the interface, native first unless told: the last step of xsk_open. */
static int
prog_attach(struct xsk *x, const struct xsk_params *p, char *err, size_t errlen)
{
	struct bpf_program *prog = bpf_object__find_program_by_name(x->obj, "xdp_vxlan");
	int prog_fd, native = -EOPNOTSUPP, fd;
	struct xdp_options opt = { 0 };
	socklen_t optlen = sizeof(opt);
	bool zc;

	if (!prog || (prog_fd = bpf_program__fd(prog)) < 0)
		return open_fail(err, errlen, -ENOENT, "the XDP program has no xdp_vxlan");
	if (p->mode != XSK_MODE_SKB) {
		fd = link_attach(prog_fd, x->ifindex, XDP_FLAGS_DRV_MODE);
		if (fd >= 0) {
			x->link_fd = fd;
			x->mode = "native";
		} else if (p->mode == XSK_MODE_NATIVE) {
			return open_fail(err, errlen, fd,
			    "attach XDP to %s (native): %s%s", p->ifname,
			    strerror(-fd), attach_why(fd));
		}
		native = fd;
	}
	if (x->link_fd < 0) {
		fd = link_attach(prog_fd, x->ifindex, XDP_FLAGS_SKB_MODE);
		if (fd < 0 && p->mode == XSK_MODE_AUTO)
			return open_fail(err, errlen, fd,
			    "attach XDP to %s: native: %s%s, generic: %s%s",
			    p->ifname, strerror(-native), attach_why(native), strerror(-fd),
			    attach_why(fd));
		if (fd < 0)
			return open_fail(err, errlen, fd,
			    "attach XDP to %s (generic): %s%s", p->ifname,
			    strerror(-fd), attach_why(fd));
		x->link_fd = fd;
		x->mode = "generic";
	}
	zc = getsockopt(x->q[0].fd, SOL_XDP, XDP_OPTIONS, &opt, &optlen) == 0 &&
	    (opt.flags & XDP_OPTIONS_ZEROCOPY);
	if (strcmp(x->mode, "native") == 0)
		x->mode = zc ? "native zero-copy" : "native copy";
	else
		x->mode = "generic copy";
	return 0;
}

int
xsk_open(struct xsk **out, const struct xsk_params *p, char *err, size_t errlen)
{
	struct xsk *x;
	uint32_t nq = 1;
	int ifindex, rc;

	if (err && errlen > 0)
		err[0] = '\0';
	if (!out || !p)
		return open_fail(err, errlen, -EINVAL, "AF_XDP: no parameters");
	*out = NULL;
	rc = params_check(p, err, errlen);
	if (rc < 0)
		return rc;
	ifindex = (int)if_nametoindex(p->ifname);
	if (ifindex == 0)
		return open_fail(err, errlen, -ENODEV,
		    "AF_XDP on %s: no such interface", p->ifname);
	rc = queues_count(p->ifname, &nq);
	if (rc < 0)
		return open_fail(err, errlen, rc, "count the queues of %s: %s", p->ifname,
		    strerror(-rc));
	if (nq > XSK_QUEUES_MAX)
		return open_fail(err, errlen, -E2BIG,
		    "AF_XDP on %s: %u queues, at most %u", p->ifname,
		    nq, XSK_QUEUES_MAX);
	if (p->n_frames < 2 * p->ring_size)
		return open_fail(err, errlen, -EINVAL, "AF_XDP on %s: %u frames for rings of %u",
		    p->ifname, p->n_frames, p->ring_size);

	x = calloc(1, sizeof(*x) + nq * sizeof(x->q[0]));
	if (!x)
		return open_fail(err, errlen, -ENOMEM, "AF_XDP on %s: out of memory", p->ifname);
	snprintf(x->ifname, sizeof(x->ifname), "%s", p->ifname);
	x->ifindex = ifindex;
	x->link_fd = -1;
	x->counters_fd = -1;
	x->ethtool_fd = -1;
	for (int i = 0; i < FAST_NMAPS; i++)
		x->fast_fd[i] = -1;
	x->nq = nq;
	x->ring_size = p->ring_size;
	x->ncpus = libbpf_num_possible_cpus();
	x->percpu = x->ncpus > 0 ? calloc((size_t)x->ncpus, sizeof(uint64_t)) : NULL;
	if (!x->percpu) {
		rc = open_fail(err, errlen, x->ncpus < 0 ? x->ncpus : -ENOMEM,
		    "AF_XDP on %s: cannot count the CPUs", p->ifname);
		goto out;
	}
	libbpf_set_print(libbpf_print);
	libbpf_first[0] = '\0';
	rc = prog_load(x, p, err, errlen);
	if (rc == 0)
		rc = socks_create(x, p, err, errlen);
	if (rc == 0)
		rc = prog_attach(x, p, err, errlen);
	if (rc == 0 && x->fast) {
		tx_err_find(x);
		xsk_xdp_tx_errors(x);	/* the driver's count so far: xsk_xdp_tx_errors' 0 */
	}
out:
	if (rc < 0) {
		xsk_close(x);
		return rc;
	}
	*out = x;
	return 0;
}

void
xsk_close(struct xsk *x)
{
	if (!x)
		return;
	/* The program first: nothing redirects to a closed XSK. */
	if (x->link_fd >= 0)
		close(x->link_fd);
	for (uint32_t i = 0; i < x->nq; i++)
		if (x->q[i].sock)
			xsk_socket__delete(x->q[i].sock);
	if (x->umem)
		xsk_umem__delete(x->umem);
	if (x->rules.b)
		munmap(x->rules.b, x->rules_len);
	bpf_object__close(x->obj);
	if (x->ethtool_fd >= 0)
		close(x->ethtool_fd);
	free(x->tx_err_at);
	free(x->estats);
	free(x->percpu);
	free(x);
}

uint32_t
xsk_nqueues(const struct xsk *x)
{
	return x->nq;
}

int
xsk_fd(const struct xsk *x, uint32_t q)
{
	return q < x->nq ? x->q[q].fd : -1;
}

uint32_t
xsk_rx(struct xsk *x, struct xsk_desc *d, uint32_t max)
{
	uint32_t got = 0;

	for (uint32_t k = 0; k < x->nq && got < max; k++) {
		struct xsk_queue *q = &x->q[(x->rx_next + k) % x->nq];
		uint32_t idx, n = xsk_ring_cons__peek(&q->rx, max - got, &idx);

		for (uint32_t i = 0; i < n; i++) {
			const struct xdp_desc *r = xsk_ring_cons__rx_desc(&q->rx, idx + i);

			d[got].addr = r->addr;
			d[got].len = r->len;
			got++;
		}
		if (n > 0)
			xsk_ring_cons__release(&q->rx, n);
	}
	x->rx_next = x->nq > 0 ? (x->rx_next + 1) % x->nq : 0;
	return got;
}

/* Free entries of a producer ring, without touching its cached indexes. */
static uint32_t
prod_free(const struct xsk_ring_prod *r, uint32_t size)
{
	return size - (r->cached_prod - __atomic_load_n(r->consumer, __ATOMIC_ACQUIRE));
}

uint32_t
xsk_fill_want(const struct xsk *x)
{
	uint32_t want = 0;

	for (uint32_t i = 0; i < x->nq; i++)
		want += prod_free(&x->q[i].fill, x->ring_size);
	return want;
}

static uint32_t
fill_one(struct xsk_queue *q, uint32_t size, const uint64_t *addrs, uint32_t n)
{
	uint32_t idx, free = prod_free(&q->fill, size);

	if (n > free)
		n = free;
	if (n == 0 || xsk_ring_prod__reserve(&q->fill, n, &idx) != n)
		return 0;
	for (uint32_t i = 0; i < n; i++)
		*xsk_ring_prod__fill_addr(&q->fill, idx + i) = addrs[i];
	xsk_ring_prod__submit(&q->fill, n);
	return n;
}

uint32_t
xsk_fill(struct xsk *x, const uint64_t *addrs, uint32_t n)
{
	uint32_t share = (n + x->nq - 1) / x->nq, done = 0;

	/* An even share to each queue first, then what is left to any with room. */
	for (uint32_t k = 0; k < x->nq && done < n; k++) {
		uint32_t q = (x->fill_next + k) % x->nq, m = n - done;

		done += fill_one(&x->q[q], x->ring_size, addrs + done, m < share ? m : share);
	}
	for (uint32_t q = 0; q < x->nq && done < n; q++)
		done += fill_one(&x->q[q], x->ring_size, addrs + done, n - done);
	x->fill_next = (x->fill_next + 1) % x->nq;
	return done;
}

uint32_t
xsk_tx(struct xsk *x, const struct xsk_desc *d, uint32_t n)
{
	struct xsk_queue *q = &x->q[0];
	uint32_t idx, free = prod_free(&q->tx, x->ring_size);

	if (n > free)
		n = free;
	if (n == 0 || xsk_ring_prod__reserve(&q->tx, n, &idx) != n)
		return 0;
	for (uint32_t i = 0; i < n; i++) {
		struct xdp_desc *t = xsk_ring_prod__tx_desc(&q->tx, idx + i);

		t->addr = d[i].addr;
		t->len = d[i].len;
		t->options = 0;
	}
	xsk_ring_prod__submit(&q->tx, n);
	return n;
}

/* Frames queued on q's TX ring that the kernel has not taken yet. */
static uint32_t
tx_ring_pending(const struct xsk_queue *q)
{
	return q->tx.cached_prod - __atomic_load_n(q->tx.consumer, __ATOMIC_ACQUIRE);
}

bool
xsk_tx_needs_kick(const struct xsk *x, uint32_t q)
{
	return q < x->nq && tx_ring_pending(&x->q[q]) > 0 &&
	    xsk_ring_prod__needs_wakeup(&x->q[q].tx);
}

int
xsk_kick(struct xsk *x)
{
	for (uint32_t i = 0; i < x->nq; i++) {
		struct xsk_queue *q = &x->q[i];

		/* Zero-copy drivers may want a wakeup to take the fill ring too. */
		if (xsk_ring_prod__needs_wakeup(&q->fill))
			(void)recvfrom(q->fd, NULL, 0, MSG_DONTWAIT, NULL, NULL);
		/*
		 * Copy mode sends a batch a call and says EAGAIN while frames remain: call
		 * again while the kernel takes some. Zero-copy only wakes the driver.
		 */
		for (int k = 0; k < XSK_KICKS_MAX && xsk_tx_needs_kick(x, i); k++) {
			uint32_t before = tx_ring_pending(q);

			if (sendto(q->fd, NULL, 0, MSG_DONTWAIT, NULL, 0) >= 0)
				break;
			if (errno != EAGAIN)
				return -errno;
			if (tx_ring_pending(q) == before)
				break;
		}
	}
	return 0;
}

uint32_t
xsk_complete(struct xsk *x, uint64_t *addrs, uint32_t max)
{
	uint32_t got = 0;

	for (uint32_t i = 0; i < x->nq && got < max; i++) {
		struct xsk_queue *q = &x->q[i];
		uint32_t idx, n = xsk_ring_cons__peek(&q->comp, max - got, &idx);

		for (uint32_t k = 0; k < n; k++)
			addrs[got++] = *xsk_ring_cons__comp_addr(&q->comp, idx + k);
		if (n > 0)
			xsk_ring_cons__release(&q->comp, n);
	}
	return got;
}

/* ---- the rule cache ------------------------------------------------------------------ */

bool
xsk_fast_on(const struct xsk *x)
{
	return x->fast;
}

int
xsk_fast_put(struct xsk *x, const struct xdp_fast_key *k, const struct xdp_fast_rule *r,
    uint32_t n)
{
	uint64_t now = clock_mono_ns();
	int evicted = 0;

	if (!x->fast)
		return -ENOTCONN;
	for (uint32_t i = 0; i < n; i++)
		evicted += fastrules_put(&x->rules, &k[i], &r[i], now) == FASTRULES_EVICTED;
	return evicted;
}

int
xsk_fast_del(struct xsk *x, const struct xdp_fast_key *k)
{
	if (!x->fast)
		return -ENOTCONN;
	(void)fastrules_del(&x->rules, k);
	return 0;
}

int
xsk_fast_hop_put(struct xsk *x, uint32_t vtep, const struct xdp_fast_hop *h)
{
	if (!x->fast)
		return -ENOTCONN;
	return bpf_map_update_elem(x->fast_fd[FAST_HOPS], &vtep, h, BPF_ANY) == 0 ? 0 : -errno;
}

int
xsk_fast_gen_set(struct xsk *x, uint32_t slot, uint32_t gen)
{
	return bpf_map_update_elem(x->fast_fd[FAST_GEN], &slot, &gen, BPF_ANY) == 0 ? 0 : -errno;
}

int
xsk_fast_vni_set(struct xsk *x, uint32_t vni, uint32_t gen)
{
	if (!x->fast)
		return -ENOTCONN;
	return bpf_map_update_elem(x->fast_fd[FAST_VNIS], &vni, &gen, BPF_ANY) == 0 ? 0 : -errno;
}

int
xsk_fast_vni_del(struct xsk *x, uint32_t vni)
{
	if (!x->fast)
		return -ENOTCONN;
	return bpf_map_delete_elem(x->fast_fd[FAST_VNIS], &vni) == 0 || errno == ENOENT ? 0 : -errno;
}

int
xsk_fast_srcs_put(struct xsk *x, const uint32_t *ips, uint32_t n, uint32_t gen)
{
	LIBBPF_OPTS(bpf_map_batch_opts, o);
	uint32_t vals[256];

	if (!x->fast)
		return -ENOTCONN;
	for (uint32_t i = 0; i < 256; i++)
		vals[i] = gen;
	/* A batch a call: a list of thousands must not cost as many system calls. */
	for (uint32_t at = 0; at < n; ) {
		uint32_t k = n - at < 256 ? n - at : 256, count = k;

		if (bpf_map_update_batch(x->fast_fd[FAST_SRCS], &ips[at], vals, &count, &o) != 0)
			return -errno;
		at += k;
	}
	return 0;
}

int
xsk_fast_srcs_prune(struct xsk *x, uint32_t gen)
{
	uint32_t key, next, g;
	bool first = true;
	int rc = 0;

	if (!x->fast)
		return -ENOTCONN;
	/* Deleting the key just read makes the walk restart: keep the one before. */
	while (bpf_map_get_next_key(x->fast_fd[FAST_SRCS], first ? NULL : &key, &next) == 0) {
		if (bpf_map_lookup_elem(x->fast_fd[FAST_SRCS], &next, &g) == 0 && g != gen) {
			if (bpf_map_delete_elem(x->fast_fd[FAST_SRCS], &next) != 0)
				rc = -errno;
			continue;
		}
		key = next;
		first = false;
	}
	return rc;
}

/* How many stats the driver has now (they change with its queues): 0, none or unknown. */
static uint32_t
stats_count(const struct xsk *x)
{
	struct ethtool_drvinfo di = { .cmd = ETHTOOL_GDRVINFO };
	struct ifreq ifr = { 0 };

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", x->ifname);
	ifr.ifr_data = (void *)&di;
	if (ioctl(x->ethtool_fd, SIOCETHTOOL, &ifr) != 0 || di.n_stats > 65536)
		return 0;
	return di.n_stats;
}

/*
 * Where the driver's ethtool counters of XDP_TX failures are, if it has any; again
 * whenever the number of its stats changed (ethtool -L: a driver has some a queue).
 */
static void
tx_err_find(struct xsk *x)
{
	struct ethtool_gstrings *gs = NULL;
	struct ifreq ifr = { 0 };
	uint32_t n;

	free(x->tx_err_at);
	free(x->estats);
	x->tx_err_at = NULL;
	x->estats = NULL;
	x->tx_err_n = 0;
	x->nstats = 0;
	x->tx_err_rebase = true;
	if (x->ethtool_fd < 0 &&
	    (x->ethtool_fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return;
	if ((n = stats_count(x)) == 0)
		return;
	gs = calloc(1, sizeof(*gs) + (size_t)n * ETH_GSTRING_LEN);
	x->tx_err_at = calloc(n, sizeof(*x->tx_err_at));
	x->estats = calloc(1, sizeof(*x->estats) + (size_t)n * sizeof(uint64_t));
	if (!gs || !x->tx_err_at || !x->estats)
		goto out;
	gs->cmd = ETHTOOL_GSTRINGS;
	gs->string_set = ETH_SS_STATS;
	gs->len = n;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", x->ifname);
	ifr.ifr_data = (void *)gs;
	/* Changed again since stats_count: the next read finds them again. */
	if (ioctl(x->ethtool_fd, SIOCETHTOOL, &ifr) != 0 || gs->len != n)
		goto out;
	for (uint32_t i = 0; i < n; i++) {
		char name[ETH_GSTRING_LEN + 1];

		memcpy(name, gs->data + (size_t)i * ETH_GSTRING_LEN, ETH_GSTRING_LEN);
		name[ETH_GSTRING_LEN] = '\0';
		if (strstr(name, "xdp_tx_err"))
			x->tx_err_at[x->tx_err_n++] = i;
	}
	x->nstats = n;
out:
	free(gs);
}

/*
 * The kernel fills as many stats as the driver has at the time, whatever the buffer was
 * sized for: past its end on older kernels, none at all on newer ones. So their number
 * is checked first (as ethtool(8) does), and their places found again when it changed.
 * The sum read from the driver may go back (its counters reset, or others found): the
 * total counts what each read adds, and a read that fails adds nothing.
 */
uint64_t
xsk_xdp_tx_errors(struct xsk *x)
{
	struct ifreq ifr = { 0 };
	uint64_t sum = 0;

	if (x->ethtool_fd < 0)
		return x->tx_err_total;
	if (stats_count(x) != x->nstats)
		tx_err_find(x);
	if (x->tx_err_n == 0)
		return x->tx_err_total;
	x->estats->cmd = ETHTOOL_GSTATS;
	x->estats->n_stats = x->nstats;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", x->ifname);
	ifr.ifr_data = (void *)x->estats;
	if (ioctl(x->ethtool_fd, SIOCETHTOOL, &ifr) != 0 || x->estats->n_stats != x->nstats)
		return x->tx_err_total;
	for (uint32_t i = 0; i < x->tx_err_n; i++)
		sum += x->estats->data[x->tx_err_at[i]];
	if (!x->tx_err_rebase && sum > x->tx_err_raw)
		x->tx_err_total += sum - x->tx_err_raw;
	x->tx_err_raw = sum;
	x->tx_err_rebase = false;
	return x->tx_err_total;
}

static uint64_t
counter_read(const struct xsk *x, uint32_t slot)
{
	uint64_t sum = 0;

	if (bpf_map_lookup_elem(x->counters_fd, &slot, x->percpu) != 0)
		return 0;
	for (int c = 0; c < x->ncpus; c++)
		sum += x->percpu[c];
	return sum;
}

void
xsk_fast_counters(const struct xsk *x, uint64_t *frames, uint64_t *bytes, uint64_t *miss)
{
	*frames = counter_read(x, XDP_VXLAN_FAST);
	*bytes = counter_read(x, XDP_VXLAN_FAST_BYTES);
	*miss = counter_read(x, XDP_VXLAN_FAST_MISS);
}

void
xsk_stats_read(const struct xsk *x, struct xsk_stats *s)
{
	memset(s, 0, sizeof(*s));
	s->prog_redirect = counter_read(x, XDP_VXLAN_REDIRECT);
	s->prog_pass = counter_read(x, XDP_VXLAN_PASS);
	s->prog_pass_frags = counter_read(x, XDP_VXLAN_PASS_FRAGS);
	s->prog_no_xsk = counter_read(x, XDP_VXLAN_NO_XSK);
	s->prog_pass_big = counter_read(x, XDP_VXLAN_PASS_BIG);
	s->prog_fast = counter_read(x, XDP_VXLAN_FAST);
	s->prog_fast_bytes = counter_read(x, XDP_VXLAN_FAST_BYTES);
	s->prog_fast_miss = counter_read(x, XDP_VXLAN_FAST_MISS);
	for (uint32_t i = 0; i < x->nq; i++) {
		struct xdp_statistics st = { 0 };
		socklen_t len = sizeof(st);

		if (getsockopt(x->q[i].fd, SOL_XDP, XDP_STATISTICS, &st, &len) != 0)
			continue;
		s->rx_dropped += st.rx_dropped;
		s->rx_ring_full += st.rx_ring_full;
		s->fill_empty += st.rx_fill_ring_empty_descs;
		s->rx_invalid += st.rx_invalid_descs;
		s->tx_invalid += st.tx_invalid_descs;
		s->tx_ring_empty += st.tx_ring_empty_descs;
	}
}

const char *
xsk_mode_name(const struct xsk *x)
{
	return x->mode;
}
