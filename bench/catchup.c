/*
 * bench/catchup: a learner cut off while a VPC it holds changed a lot catches up by
 * incremental sync (DESIGN.md §3.5): how long it takes, how many bytes a rule costs on
 * the wire, and how many round trips it makes.
 *
 * A controller, one gateway node (rule-store + syncd) and one host node (learner), on
 * loopback, from this build. The learner learns -k VMs of a VPC (through the gateway's
 * learn ring, this program playing the forwarder) and syncs to the VPC's version. Then
 * it is stopped (SIGSTOP) while -n changes are committed to the VPC: vm.import of new
 * VMs in batches of -b (one version each), and, between the batches, -m migrations of
 * the held VMs (one version each), so that the learner has real updates to apply and
 * not only rules to skip. Once the gateway's table holds all of it, SIGCONT, and:
 *
 *  time	from SIGCONT until the learner's table says the VPC is at the controller's
 *		version and every held rule has its VM's current VTEP (polled every few us).
 *		Baseline: table_set of as many rules as were sent, into a host table, in
 *		one process: the cost of the rules alone, no network, no protocol. But the
 *		learner sets only the rules it holds and looks the others up, so a second
 *		baseline, "work": the same catch-up done in one process, as syncd and the
 *		learner do it (table_changes and the page builder on the gateway's table,
 *		sync_resp_decode, table_get, table_set on a copy of the learner's rules),
 *		with no datagram and no wake-up: what is above it is the round trips.
 *  bytes	syncd's resp_bytes (UDP payload) over the catch-up divided by its entries_tx
 *		(rules sent), both as deltas from just before the cut: every answer of the
 *		catch-up, the one to the request parked when the learner stopped included.
 *		Baseline: a raw entry, ip 4 + mac 6 + vtep 4 + version 8 + op 1 = 23 B.
 *		But most rules sent are skipped (the learner holds few of the VPC's), so
 *		also: the same bytes over the rules the learner holds once caught up (its
 *		table's live rules of the VPC). Baseline: 23 B, a raw entry a held rule:
 *		what a catch-up that sent each held rule once, raw, would cost.
 *  rounds	the answers the learner took in (sync_rx: each a round trip, the one to the
 *		request parked at the cut included) and the pages among them (MORE), over
 *		the catch-up. Baseline: the datagrams the bytes need at syncd's page_bytes
 *		(-p, default 1400 as syncd's), i.e. a perfectly packed catch-up.
 *
 *	catchup [-n CHANGES] [-b BATCH] [-k HELD] [-m MIGRATIONS] [-p PAGE_BYTES] [-r]
 *	(-r: imported VMs get scattered IPs instead of consecutive ones)
 */
#include "bench/cluster.h"
#include "common/apiclient.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/sync.h"
#include "shm/events.h"
#include "shm/ring.h"
#include "shm/stats.h"
#include "shm/table.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>

#define VNI		7
#define HELD_BASE	0x0a000001u	/* 10.0.0.1: the VMs the learner holds */
#define NEW_BASE	0x0a100000u	/* 10.16.0.0/12: the imported ones */
#define HOST_VTEP	"127.0.13.4"	/* the learner listens here: LEARNs go to the VTEP */
#define SYNCD_ADDR	"127.0.13.3"
#define VTEP_A		0xc0a80002u	/* 192.168.0.2, host h2 */
#define VTEP_B		0xc0a80003u	/* 192.168.0.3, host h3 */
#define ENTRY_RAW	23		/* ip 4 + mac 6 + vtep 4 + version 8 + op 1 */
#define CATCHUP_MAX_NS	(30 * 1000000000ull)

static void
nap(void)
{
	struct timespec ts = { 0, 5000 };

	nanosleep(&ts, NULL);
}

static void
ip_str(uint32_t a, char *buf, size_t len)
{
	snprintf(buf, len, "%u.%u.%u.%u", a >> 24, a >> 16 & 255, a >> 8 & 255, a & 255);
}

static uint64_t
vpc_version(struct apiclient *c)
{
	json_t *resp = cluster_call(c, json_pack("{s:s, s:s}", "op", "vpc.show", "name", "v"));
	uint64_t v = (uint64_t)json_integer_value(json_object_get(json_object_get(resp, "vpc"),
	    "version"));

	json_decref(resp);
	return v;
}

/* The learner's version of the VPC, 0 while it holds none. */
static uint64_t
held_version(struct table *t)
{
	struct table_vni_info vi;

	return table_vni_get(t, VNI, &vi) == 0 ? vi.version : 0;
}

/* Does the learner hold every one of the k VMs, each with the VTEP in want[]? */
static bool
held_match(struct table *t, const uint32_t *want, uint64_t k)
{
	struct table_rule r;

	for (uint64_t i = 0; i < k; i++)
		if (!table_lookup(t, VNI, HELD_BASE + (uint32_t)i, &r) || r.vtep != want[i])
			return false;
	return true;
}

/* The counters a catch-up is measured by, from syncd and from the learner. */
#define SNAP_SYNCD(X)							\
	X(resp_bytes) X(entries_tx) X(resp_tx) X(req_rx) X(pages_more)	\
	X(req_limited) X(tx_nobuf)
#define SNAP_LEARNER(X)							\
	X(sync_tx) X(sync_rx) X(sync_bytes) X(pages) X(versions)	\
	X(rules_updated) X(sync_timeouts) X(sync_stale) X(retries)	\
	X(relearns) X(tx_nobuf)

#define SNAP_FIELD_(n) uint64_t n;
struct snap {
	struct { SNAP_SYNCD(SNAP_FIELD_) } s;
	struct { SNAP_LEARNER(SNAP_FIELD_) } l;
};
#undef SNAP_FIELD_

static void
snap_take(struct snap *x, const struct stats *sst, const struct stats *lst)
{
#define SNAP_S_(n) x->s.n = cluster_stat(sst, #n);
#define SNAP_L_(n) x->l.n = cluster_stat(lst, #n);
	SNAP_SYNCD(SNAP_S_)
	SNAP_LEARNER(SNAP_L_)
#undef SNAP_S_
#undef SNAP_L_
}

/* The baseline: n rules set into a host table in one process, batch a version. */
static uint64_t
set_floor(uint64_t n, uint64_t batch)
{
	struct table_params p;
	struct table *t;
	uint64_t t0, ns;
	char err[512];

	table_params_default(&p, TABLE_HOST);
	p.capacity = (uint32_t)n + 16;
	p.max_vnis = 16;
	if (table_create(&t, cluster_node("base"), "bench", &p, err, sizeof(err)) < 0)
		fatalx("catchup: %s", err);
	t0 = clock_mono_ns();
	for (uint64_t i = 0; i < n; i++) {
		struct table_rule r = { .vni = VNI, .ip = NEW_BASE + (uint32_t)i, .vtep = VTEP_A,
		    .mac = { 2, 0, 10, 16, (uint8_t)(i >> 8), (uint8_t)i },
		    .version = 2 + i / batch };

		table_set(t, &r);
	}
	table_vni_advance(t, VNI, 1, 2 + n / batch);
	ns = clock_mono_ns() - t0;
	table_close(t);
	return ns;
}

/*
 * One page of the changes of VNI after `since`, resuming after (cur_v, cur_ip) when cur_v
 * is not 0, built as syncd builds an OK section (procs/syncd/serve.c). Its length.
 */
static size_t
page_build(struct table *gw, uint32_t gen, uint64_t since, uint64_t cur_v, uint32_t cur_ip,
    uint8_t *buf, size_t cap)
{
	struct table_cursor cur = { cur_v, cur_ip, cur_v != 0 };
	struct table_rule rules[64];
	struct sync_builder b;
	uint64_t upto = since, upto2, last_v = 0;
	uint32_t last_ip = 0;
	bool more = true, full = false;
	int got;

	sync_build_begin(&b, buf, cap, SYNC_RESP, 1, NULL);
	table_read_begin(gw);
	got = table_changes(gw, VNI, since, &cur, rules, 64, &upto, &more);
	sync_build_section(&b, VNI, gen, SYNC_OK, since, upto);
	while (got > 0) {
		for (int i = 0; i < got && !full; i++) {
			const struct table_rule *r = &rules[i];
			struct sync_entry e = { .ip = r->ip, .version = r->version, .op = SYNC_SET,
			    .vtep = r->vtep };

			if (r->version > upto)
				goto done;
			memcpy(e.mac, r->mac, 6);
			if (r->flags & TABLE_F_TOMBSTONE)
				e = (struct sync_entry){ .ip = r->ip, .version = r->version,
				    .op = SYNC_DEL };
			if (sync_build_entry(&b, &e) < 0) {
				full = true;
			} else {
				last_v = e.version;
				last_ip = e.ip;
			}
		}
		if (full || !more)
			break;
		got = table_changes(gw, VNI, since, &cur, rules, 64, &upto2, &more);
	}
done:
	sync_build_section_end(&b, full, last_v, last_ip);
	table_read_end(gw);
	return sync_build_finish(&b);
}

/* Apply a page's entries to the rules h holds, as the learner does (procs/learner/). */
static void
page_apply(struct table *h, const struct sync_section *sec, const struct sync_entry *ents)
{
	struct table_rule r;

	for (uint32_t i = 0; i < sec->count; i++) {
		const struct sync_entry *e = &ents[sec->first + i];

		if (!table_get(h, VNI, e->ip, &r))
			continue;
		if (e->op == SYNC_DEL) {
			table_delete(h, VNI, e->ip, e->version);
			continue;
		}
		r = (struct table_rule){ .vni = VNI, .ip = e->ip, .vtep = e->vtep,
		    .version = e->version };
		memcpy(r.mac, e->mac, 6);
		table_set(h, &r);
	}
	if (!(sec->flags & SYNC_F_MORE))
		table_vni_advance(h, VNI, sec->gen, sec->upto);
}

/*
 * The catch-up's work in one process: pages built from the gateway's table, decoded and
 * applied to a host table holding the k rules as they were at `since`. Nanoseconds from
 * the first page to the last applied.
 */
static uint64_t
work_floor(struct table *gw, uint64_t since, uint64_t page, uint64_t k, uint64_t *npages)
{
	static uint8_t buf[SYNC_DGRAM_MAX];
	struct sync_entry *ents = calloc(SYNC_DGRAM_MAX, sizeof(*ents));
	struct table_vni_info vi;
	struct table_params p;
	struct table *h;
	struct sync_resp resp;
	uint64_t cur_v = 0, t0, ns;
	uint32_t cur_ip = 0;
	char err[512];

	if (ents == NULL || table_vni_get(gw, VNI, &vi) < 0)
		fatalx("catchup: work floor: no memory or no VPC");
	table_params_default(&p, TABLE_HOST);
	p.capacity = (uint32_t)(2 * k + 1024);
	p.max_vnis = 16;
	if (table_create(&h, cluster_node("base"), "work", &p, err, sizeof(err)) < 0)
		fatalx("catchup: %s", err);
	for (uint64_t i = 0; i < k; i++) {
		struct table_rule r = { .vni = VNI, .ip = HELD_BASE + (uint32_t)i,
		    .vtep = VTEP_A, .mac = { 2, 0, 10, 0, (uint8_t)(i >> 8), (uint8_t)i },
		    .version = 1 };

		table_set(h, &r);
	}
	table_vni_advance(h, VNI, vi.gen, since);
	*npages = 0;
	t0 = clock_mono_ns();
	do {
		size_t len = page_build(gw, vi.gen, since, cur_v, cur_ip, buf, page);

		if (sync_resp_decode(buf, len, &resp, ents, SYNC_DGRAM_MAX) < 0)
			fatalx("catchup: work floor: a page does not decode");
		page_apply(h, &resp.sections[0], ents);
		cur_v = resp.sections[0].cursor_version;
		cur_ip = resp.sections[0].cursor_ip;
		(*npages)++;
	} while (resp.sections[0].flags & SYNC_F_MORE);
	ns = clock_mono_ns() - t0;
	table_close(h);
	free(ents);
	return ns;
}

/*
 * The changes made while the learner is away: `rounds` imports of up to `batch` new VMs,
 * with the migrations spread between them; want[] follows the held VMs' VTEPs.
 */
static void
commit_changes(struct apiclient *c, uint64_t imported, uint64_t batch, uint64_t rounds,
    uint64_t migr, uint64_t k, bool scatter, uint32_t *want)
{
	uint64_t done = 0, moved = 0;
	char name[32], ip[32];

	for (uint64_t r = 0; r < rounds; r++) {
		json_t *list = json_array();
		uint64_t end = done + batch < imported ? done + batch : imported;

		for (; done < end; done++) {
			/* An odd multiplier is a bijection of the 2^20 addresses of NEW_BASE. */
			uint32_t off = scatter ? (uint32_t)(done * 0x9e3779b1u) & 0xfffff :
			    (uint32_t)done;

			snprintf(name, sizeof(name), "new%llu", (unsigned long long)done);
			ip_str(NEW_BASE + off, ip, sizeof(ip));
			json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:s}", "name", name,
			    "vpc", "v", "ip", ip, "host", "h2"));
		}
		json_decref(cluster_call(c, json_pack("{s:s, s:o}", "op", "vm.import", "vms",
		    list)));
		for (; moved < migr * (r + 1) / rounds; moved++) {
			uint64_t i = moved % k;

			want[i] = want[i] == VTEP_A ? VTEP_B : VTEP_A;
			snprintf(name, sizeof(name), "held%llu", (unsigned long long)i);
			json_decref(cluster_call(c, json_pack("{s:s, s:s, s:s}", "op",
			    "vm.migrate", "name", name, "host", want[i] == VTEP_A ? "h2" : "h3")));
		}
	}
}

int
main(int argc, char **argv)
{
	uint64_t changes = 100000, batch = 1000, k = 1000, migr = 1000, imported, rounds;
	uint64_t target, t0, t_commit, t_ver = 0, t_done = 0, base_ns, entries, bytes, packed;
	uint64_t since, work_ns, work_pages, page = 1400, held;
	uint32_t *want, ip_host;
	char conf[2048], what[64];
	const char *node_gw, *node_host;
	pid_t learner_pid;
	struct ring learn_ring;
	struct stats sst, lst, cst;
	struct snap a, b;
	struct table *gw, *lt;
	struct apiclient c;
	bool scatter = false;
	int ch, port, syncd_port, learner_port, st;
	uint32_t window;
	json_t *res;

	log_init("bench-catchup", LOG_LVL_INFO);
	while ((ch = getopt(argc, argv, "n:b:k:m:p:r")) != -1) {
		if (ch == 'n')
			changes = strtoull(optarg, NULL, 10);
		else if (ch == 'b')
			batch = strtoull(optarg, NULL, 10);
		else if (ch == 'k')
			k = strtoull(optarg, NULL, 10);
		else if (ch == 'm')
			migr = strtoull(optarg, NULL, 10);
		else if (ch == 'p')
			page = strtoull(optarg, NULL, 10);
		else if (ch == 'r')
			scatter = true;
		else
			fatalx("usage: catchup [-n CHANGES] [-b BATCH] [-k HELD] [-m MIGRATIONS] "
			    "[-p PAGE_BYTES] [-r]");
	}
	if (k == 0 || k > 60000 || batch == 0 || batch > 100000 || migr > changes ||
	    changes - migr > 1000000 || (migr > 0 && changes - migr < batch) || page < 512 ||
	    page > 65000)
		fatalx("catchup: need 1 <= HELD <= 60000, 1 <= BATCH <= 100000, MIGRATIONS <= "
		    "CHANGES, CHANGES - MIGRATIONS in BATCH..1000000 (when migrating), "
		    "PAGE_BYTES 512..65000");
	imported = changes - migr;
	rounds = (imported + batch - 1) / batch;
	/* The learner's version must still be valid at the gateway: 3/4 of the window. */
	for (window = 64; window < 65536 && window / 4 * 3 < rounds + migr + 64; window *= 2)
		;
	cluster_init("catchup");
	node_gw = cluster_node("gw");
	node_host = cluster_node("h1");
	/* Polling naps of a few microseconds, not the default 50 us of slack. */
	prctl(PR_SET_TIMERSLACK, 1000UL);
	inet_pton(AF_INET, HOST_VTEP, &ip_host);
	ip_host = ntohl(ip_host);

	port = cluster_controller();
	syncd_port = cluster_free_port(SYNCD_ADDR);
	learner_port = cluster_free_port(HOST_VTEP);
	snprintf(conf, sizeof(conf), "node = \"%s\";\nrule_store = {\n tls = false;\n"
	    " controllers = "
	    "[\"127.0.0.1:%d\"];\n table_capacity = %llu;\n table_max_vnis = 16;\n"
	    " table_version_window = %u;\n};\n"
	    "syncd = {\n listen = \"%s:%d\";\n learner_port = %d;\n allow = [\"127.0.0.0/8\"];\n auth = false;\n"
	    " page_bytes = %llu;\n};\n", node_gw, port, (unsigned long long)(2 * (k + imported) +
	    1024), window, SYNCD_ADDR, syncd_port, learner_port, (unsigned long long)page);
	cluster_start("vpcfwd-rule-store", conf, "gw");
	cluster_start("vpcfwd-syncd", conf, "gw-syncd");
	snprintf(conf, sizeof(conf), "node = \"%s\";\nlearner = {\n tls = false;\n"
	    " host = \"h1\";\n auth = false;\n"
	    " listen = \"%s:%d\";\n gateways = [\"%s:%d\"];\n controllers = [\"127.0.0.1:%d\"];\n"
	    " table_capacity = %llu;\n table_max_vnis = 16;\n};\n", node_host, HOST_VTEP,
	    learner_port, SYNCD_ADDR, syncd_port, port, (unsigned long long)(2 * k + 1024));
	learner_pid = cluster_start("vpcfwd-learner", conf, "learner");

	cluster_api_connect(&c);
	json_decref(cluster_call(&c, json_pack("{s:s, s:s, s:i, s:[s]}", "op", "vpc.create",
	    "name", "v", "vni", VNI, "cidrs", "10.0.0.0/8")));
	json_decref(cluster_call(&c, json_pack("{s:s, s:s, s:s}", "op", "host.create", "name",
	    "h1", "vtep", HOST_VTEP)));
	json_decref(cluster_call(&c, json_pack("{s:s, s:s, s:s}", "op", "host.create", "name",
	    "h2", "vtep", "192.168.0.2")));
	json_decref(cluster_call(&c, json_pack("{s:s, s:s, s:s}", "op", "host.create", "name",
	    "h3", "vtep", "192.168.0.3")));
	want = calloc(k, sizeof(*want));
	if (want == NULL)
		fatalx("catchup: out of memory");
	{
		json_t *list = json_array();

		for (uint64_t i = 0; i < k; i++) {
			char name[32], ip[32];

			snprintf(name, sizeof(name), "held%llu", (unsigned long long)i);
			ip_str(HELD_BASE + (uint32_t)i, ip, sizeof(ip));
			json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:s}", "name", name,
			    "vpc", "v", "ip", ip, "host", "h2"));
			want[i] = VTEP_A;
		}
		json_decref(cluster_call(&c, json_pack("{s:s, s:o}", "op", "vm.import", "vms",
		    list)));
	}
	cluster_stats_wait(&cst, cluster_node("ctl"), "controller");
	gw = cluster_table_wait(node_gw, "rule-store");
	cluster_applied_wait(gw, &cst);
	cluster_stats_wait(&sst, node_gw, "syncd");
	cluster_stats_wait(&lst, node_host, "learner");
	lt = cluster_table_wait(node_host, "learner");

	/*
	 * Learn the held VMs, this process playing the gateway's forwarder, a hundred at a
	 * time: a thousand LEARNs at once would overflow the learner's socket buffer.
	 */
	if (learn_req_ring_create(&learn_ring, node_gw, "forwarder", EV_LEARN_REQ_RING,
	    1024, 0) < 0)
		fatalx("catchup: %s", learn_ring.seg.err);
	for (uint64_t i = 0; i < k; i += 100) {
		uint64_t end = i + 100 < k ? i + 100 : k;
		struct table_rule r;

		for (int tries = 0;; tries++) {
			uint64_t missing = 0;

			for (uint64_t j = i; j < end; j++) {
				struct ev_learn_req ev = { .vni = VNI,
				    .ip = HELD_BASE + (uint32_t)j, .src_vtep = ip_host };

				if (!table_get(lt, VNI, ev.ip, &r)) {
					learn_req_ring_push(&learn_ring, &ev, 1);
					missing++;
				}
			}
			if (missing == 0)
				break;
			if (tries == 500)
				fatalx("catchup: %llu VMs still not learned",
				    (unsigned long long)missing);
			usleep(20000);
		}
	}
	target = vpc_version(&c);
	for (int i = 0; held_version(lt) != target || cluster_stat(&sst, "parked") == 0; i++) {
		if (i == 1000)
			fatalx("catchup: the learner did not settle at version %llu (at %llu)",
			    (unsigned long long)target, (unsigned long long)held_version(lt));
		usleep(10000);
	}

	/* Cut off, then change the VPC a lot. */
	since = held_version(lt);
	snap_take(&a, &sst, &lst);
	if (kill(learner_pid, SIGSTOP) < 0 || waitpid(learner_pid, &st, WUNTRACED) < 0 ||
	    !WIFSTOPPED(st))
		fatalx("catchup: cannot stop the learner");
	t0 = clock_mono_ns();
	commit_changes(&c, imported, batch, rounds, migr, k, scatter, want);
	target = vpc_version(&c);
	for (int i = 0;; i++) {
		struct table_vni_info vi;

		if (table_applied_seq(gw) >= cluster_stat(&cst, "log_seq") &&
		    table_vni_get(gw, VNI, &vi) == 0 && vi.version == target)
			break;
		if (i == 3000)
			fatalx("catchup: the rule-store did not catch up");
		usleep(10000);
	}
	t_commit = clock_mono_ns() - t0;

	/* Let it go, and watch its table. */
	t0 = clock_mono_ns();
	if (kill(learner_pid, SIGCONT) < 0)
		fatal("catchup: SIGCONT");
	for (;;) {
		uint64_t now = clock_mono_ns();

		if (t_ver == 0 && held_version(lt) == target)
			t_ver = now - t0;
		if (t_ver && held_match(lt, want, k)) {
			t_done = clock_mono_ns() - t0;
			break;
		}
		if (now - t0 > CATCHUP_MAX_NS)
			fatalx("catchup: the learner is at version %llu of %llu after %llu s, "
			    "held rules %s", (unsigned long long)held_version(lt),
			    (unsigned long long)target, CATCHUP_MAX_NS / 1000000000ull,
			    held_match(lt, want, k) ? "match" : "do not match");
		nap();
	}
	snap_take(&b, &sst, &lst);
	{
		struct table_vni_info vi;

		if (table_vni_get(lt, VNI, &vi) < 0 || vi.live == 0)
			fatalx("catchup: the learner holds no rule of the VPC");
		held = vi.live;
	}
	entries = b.s.entries_tx - a.s.entries_tx;
	bytes = b.s.resp_bytes - a.s.resp_bytes;
	if (entries == 0)
		fatalx("catchup: syncd sent no rule");
	packed = (bytes + page - 1) / page;

	base_ns = set_floor(entries, batch);
	work_ns = work_floor(gw, since, page, k, &work_pages);

	printf("catchup: a learner holding %llu VMs, stopped while %llu changes were committed "
	    "to their VPC (%llu imported in %llu versions%s, %llu migrations of held VMs)\n",
	    (unsigned long long)k, (unsigned long long)changes, (unsigned long long)imported,
	    (unsigned long long)rounds, scatter ? ", scattered IPs" : "",
	    (unsigned long long)migr);
	printf("  committed and in the gateway's table in %.2f s; the VPC at version %llu\n",
	    t_commit / 1e9, (unsigned long long)target);
	printf("%-46s %12s %12s %8s\n", "", "value", "baseline", "ratio");
	printf("%-46s %10.2f ms %10.2f ms %7.2fx\n", "time: SIGCONT -> caught up (table_set)",
	    t_done / 1e6, base_ns / 1e6, (double)t_done / base_ns);
	printf("%-46s %10.2f ms %10.2f ms %7.2fx\n",
	    "time: SIGCONT -> caught up (work, 1 process)", t_done / 1e6, work_ns / 1e6,
	    (double)t_done / work_ns);
	printf("%-46s %10.2f B  %10d B  %7.2fx\n", "bytes a rule sent (raw entry)",
	    (double)bytes / entries, ENTRY_RAW, (double)bytes / entries / ENTRY_RAW);
	printf("%-46s %10.2f B  %10d B  %7.2fx\n", "bytes a rule held (raw entry)",
	    (double)bytes / held, ENTRY_RAW, (double)bytes / held / ENTRY_RAW);
	printf("%-46s %12llu %12llu %7.2fx\n", "round trips: answers (packed datagrams)",
	    (unsigned long long)(b.l.sync_rx - a.l.sync_rx),
	    (unsigned long long)packed, (double)(b.l.sync_rx - a.l.sync_rx) / packed);
	printf("  version reached %.2f ms after SIGCONT; %llu rules sent in %llu bytes "
	    "(%.2f MB/s), %llu rules held; the work floor built %llu pages\n", t_ver / 1e6,
	    (unsigned long long)entries, (unsigned long long)bytes, bytes / (t_done / 1e3),
	    (unsigned long long)held, (unsigned long long)work_pages);
	printf("  syncd: responses %llu, requests %llu, pages (MORE) %llu, limited %llu, "
	    "tx_nobuf %llu\n", (unsigned long long)(b.s.resp_tx - a.s.resp_tx),
	    (unsigned long long)(b.s.req_rx - a.s.req_rx),
	    (unsigned long long)(b.s.pages_more - a.s.pages_more),
	    (unsigned long long)(b.s.req_limited - a.s.req_limited),
	    (unsigned long long)(b.s.tx_nobuf - a.s.tx_nobuf));
	printf("  learner: requests %llu, answers %llu (%llu bytes), pages %llu, versions %llu, "
	    "rules updated %llu, timeouts %llu, stale %llu, retries %llu, relearns %llu, "
	    "tx_nobuf %llu\n", (unsigned long long)(b.l.sync_tx - a.l.sync_tx),
	    (unsigned long long)(b.l.sync_rx - a.l.sync_rx),
	    (unsigned long long)(b.l.sync_bytes - a.l.sync_bytes),
	    (unsigned long long)(b.l.pages - a.l.pages),
	    (unsigned long long)(b.l.versions - a.l.versions),
	    (unsigned long long)(b.l.rules_updated - a.l.rules_updated),
	    (unsigned long long)(b.l.sync_timeouts - a.l.sync_timeouts),
	    (unsigned long long)(b.l.sync_stale - a.l.sync_stale),
	    (unsigned long long)(b.l.retries - a.l.retries),
	    (unsigned long long)(b.l.relearns - a.l.relearns),
	    (unsigned long long)(b.l.tx_nobuf - a.l.tx_nobuf));

	res = bench_results();
	bench_add(res, "catchup_ms", t_done / 1e6, "ms", "table_set of as many rules, one process",
	    base_ns / 1e6);
	bench_add(res, "catchup_vs_work_ms", t_done / 1e6, "ms",
	    "the same pages built, decoded and applied in one process", work_ns / 1e6);
	bench_add(res, "catchup_bytes_per_rule", (double)bytes / entries, "B/rule",
	    "raw entry: ip 4 + mac 6 + vtep 4 + version 8 + op 1", ENTRY_RAW);
	bench_add(res, "catchup_bytes_per_rule_held", (double)bytes / held, "B/rule",
	    "raw entry a held rule: each rule the learner holds sent once, 23 B", ENTRY_RAW);
	snprintf(what, sizeof(what), "datagrams the bytes need at page_bytes %llu",
	    (unsigned long long)page);
	bench_add(res, "catchup_round_trips", (double)(b.l.sync_rx - a.l.sync_rx), "answers",
	    what, (double)packed);
	bench_add(res, "catchup_pages", (double)(b.l.pages - a.l.pages), "pages", what,
	    (double)packed);

	ring_close(&learn_ring);
	table_close(gw);
	table_close(lt);
	stats_close(&sst);
	stats_close(&lst);
	stats_close(&cst);
	apiclient_close(&c);
	free(want);
	cluster_end();
	return bench_write(res, "catchup") < 0;
}
