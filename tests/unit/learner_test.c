/*
 * learner_test: the host learner's side of sync (procs/learner/syncer.c, gateways.c)
 * against gateways played by plain UDP sockets that decode its requests and answer with
 * the protocol's builder (common/sync.h). A LEARN installs its rule and starts the VPC
 * at its version, unless it comes from a stranger or is older than what sync went past;
 * OK answers update only rules the cache holds and move the version only when a version
 * is complete (paging); nothing older, late, duplicated or not asked for is applied;
 * RELEARN and UNKNOWN flush the VPC, and a RELEARN of a VPC held by many rules walks it
 * from version 0 for the IPs held (resync), given up when they are rare; RETRY moves it to the other gateway and backs off
 * once all said it; an unanswering gateway is marked down (in the table too), probed and
 * taken back; a VPC whose rules were all evicted stops syncing; many VPCs share a
 * request; a learner killed with -9 resumes from the versions in its cache.
 *
 * No timing is asserted: every wait is for a condition, bounded only to fail instead of
 * hanging. The one time compared is a least one, which the learner's own clock makes
 * certain (the RETRY back-off: a slow machine only makes it longer). Addresses are in
 * 127.0.12.0/24, ports ephemeral, segments "lrt<pid>".
 */
#include "procs/learner/gateways.c"
#include "procs/learner/syncer.c"
#include "common/auth.h"
#include "common/clock.h"
#include "shm/seg.h"
#include "tests/unit/ut.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <dirent.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#define MS		(1000ull * 1000)
#define HANG_NS		(10000 * MS)	/* a test that gets nowhere fails instead of hanging */
#define PARK_NS		(10 * MS)	/* a parking gateway answers "nothing new" after this */
#define QMAX		512		/* requests a gateway keeps for the test */
#define TRACK_MAX	64		/* VNIs a gateway counts requests of */
#define PROBE_VNI	1		/* what syncer.c probes a down gateway with */

#define LEARNER_IP	"127.0.12.1"
#define GEN		0x0abc0001u
#define GEN2		0x0abc0002u
#define GEN3		0x0abc0003u
#define VTEP1		0xc0a8000bu	/* 192.168.0.11 */
#define VTEP2		0xc0a8000cu
#define VTEP3		0xc0a8000du
#define IP(x)		(0x0a000000u | (x))	/* 10.0.0.x */
/* RUN_UNTIL runs the learner (and the gateways) until its condition holds. */
#define RUN_STEP()	step()

#include "tests/unit/looptest.h"

/* A gateway played by the test, or a stranger sending from an unconfigured address. */
struct tgw {
	int fd;
	struct sockaddr_in addr;
	bool park;		/* answer every request itself: OK, nothing new */
	bool answer_probes;	/* answer probes at once, as a syncd that came back */
	struct qreq {
		struct sync_req r;
		uint64_t at;	/* when the test read it (CLOCK_MONOTONIC) */
		struct sockaddr_in from;
	} q[QMAX];
	uint32_t nq;
	struct {
		uint32_t vni, n;
		uint64_t downs;	/* gateway_downs when the first came */
	} asked[TRACK_MAX];	/* items received, by VNI */
	uint32_t nasked;
	uint32_t probes;
};

struct params {
	uint32_t ngw;
	uint64_t wait_ns, timeout_ns, probe_ns;
	uint32_t batch, down_after;
	uint32_t resync_min_rules;	/* 0: RELEARN always relearns on use */
};

/*
 * Answers come promptly unless a test withholds them, so the default timeout is long:
 * a test that does not test timeouts never sees one, however loaded the machine.
 */
static const struct params P = { .ngw = 1, .wait_ns = 100 * MS, .timeout_ns = 10000 * MS,
    .probe_ns = 100 * MS, .batch = 32, .down_after = 3 };

static char node[SEG_PART_MAX + 1];
static struct table *T;
static struct gateways GW;
static struct learner_counters C;
static struct syncer *S;
static struct sockaddr_in learner;
static struct tgw G[4];		/* G[0..ngw) are configured; the rest are strangers */
static uint32_t ngw;
static pid_t child;
static char err[512];

/* The auth tests' learner (learner_sync_auth): MACs on, this host's key. */
#define HOST		"host1"
#define WINDOW_NS	(5000 * MS)
static bool auth_on;
static struct auth_keys host_keys;

/* What a test builds and sends, kept for a resend. */
static struct sync_builder B;
static uint8_t dgram[SYNC_DGRAM_MAX];
static size_t dgram_len;

static struct sockaddr_in
endpoint(const char *ip, int port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };

	/* No assertion: the killed learner's process uses it too. */
	sin.sin_addr.s_addr = inet_addr(ip);
	return sin;
}

static void
tgw_open(struct tgw *g, const char *ip)
{
	struct sockaddr_in sin = endpoint(ip, 0);
	socklen_t sl = sizeof(g->addr);

	memset(g, 0, sizeof(*g));
	g->fd = socket(AF_INET, SOCK_DGRAM, 0);
	cr_assert_geq(g->fd, 0);
	cr_assert_eq(bind(g->fd, (struct sockaddr *)&sin, sizeof(sin)), 0, "bind %s: %s", ip,
	    strerror(errno));
	cr_assert_eq(getsockname(g->fd, (struct sockaddr *)&g->addr, &sl), 0);
}

static void
tgws_open(uint32_t n)
{
	static const char *ip[] = { "127.0.12.2", "127.0.12.3" };

	ngw = n;
	for (uint32_t i = 0; i < n; i++)
		tgw_open(&G[i], ip[i]);
}

/* The host's rule cache, small. */
static void
cache_params(struct table_params *tp)
{
	table_params_default(tp, TABLE_HOST);
	tp->capacity = 4096;
	tp->max_vnis = 128;
	tp->version_window = 16;
	tp->max_readers = 4;
}

static void
cache_open(void)
{
	struct table_params tp;

	cache_params(&tp);
	cr_assert_eq(table_create(&T, node, "learner", &tp, err, sizeof(err)), 0, "%s", err);
}

static void
learner_start(const struct params *p)
{
	struct syncer_params sp = { .listen = endpoint(LEARNER_IP, 0), .wait_ns = p->wait_ns,
	    .timeout_ns = p->timeout_ns, .batch = p->batch, .host = HOST,
	    .auth = auth_on, .keys = host_keys, .learn_window_ns = WINDOW_NS,
	    .resync_min_rules = p->resync_min_rules };
	struct sockaddr_in addrs[GATEWAYS_MAX];

	new_loop();
	for (uint32_t i = 0; i < ngw; i++)
		addrs[i] = G[i].addr;
	gateways_init(&GW, addrs, ngw, p->down_after, p->probe_ns, T, &C);
	S = syncer_new(L, &sp, T, &GW, &C, err, sizeof(err));
	cr_assert_not_null(S, "%s", err);
	/* What main.c does next: a restarted learner resumes from its cache. */
	syncer_load(S);
	learner = endpoint(LEARNER_IP, syncer_port(S));
}

/* Table, gateways and a syncer: what most tests start from. */
static void
start(const struct params *p)
{
	cache_open();
	tgws_open(p->ngw);
	learner_start(p);
}

static void
setup(void)
{
	snprintf(node, sizeof(node), "lrt%d", (int)getpid());
}

static void
teardown(void)
{
	char prefix[SEG_NAME_MAX];
	struct dirent *de;
	DIR *d;
	size_t n;

	if (child > 0)
		ut_kill(child);
	if (S != NULL) {
		syncer_free(S);
		loop_settle(L, 20 * MS, 1000 * MS);	/* the cancels complete: all is freed */
	}
	loop_free(L);
	if (T != NULL)
		table_close(T);
	for (size_t i = 0; i < sizeof(G) / sizeof(G[0]); i++)
		if (G[i].fd > 0)
			close(G[i].fd);
	n = (size_t)snprintf(prefix, sizeof(prefix), SEG_PREFIX "%s.", node);
	if ((d = opendir(SEG_DIR)) == NULL)
		return;
	while ((de = readdir(d)) != NULL)
		if (strncmp(de->d_name, prefix, n) == 0)
			seg_unlink_name(de->d_name);
	closedir(d);
}

TestSuite(learner_sync, .init = setup, .fini = teardown);

static bool
is_probe(const struct sync_req *r)
{
	return r->count == 1 && r->items[0].vni == PROBE_VNI && r->items[0].version == 1 &&
	    r->items[0].gen == 0;
}

static void
count_asked(struct tgw *g, uint32_t vni)
{
	uint32_t i;

	for (i = 0; i < g->nasked && g->asked[i].vni != vni; i++)
		;
	cr_assert_lt(i, TRACK_MAX, "too many VNIs to count");
	if (i == g->nasked)
		g->asked[g->nasked++] = (typeof(g->asked[0])){ .vni = vni,
		    .downs = C.gateway_downs };
	g->asked[i].n++;
}

static uint32_t
asked(const struct tgw *g, uint32_t vni)
{
	for (uint32_t i = 0; i < g->nasked; i++)
		if (g->asked[i].vni == vni)
			return g->asked[i].n;
	return 0;
}

/* How many gateways had been marked down when g was first asked for vni. */
static uint64_t
downs_when_first_asked(const struct tgw *g, uint32_t vni)
{
	for (uint32_t i = 0; i < g->nasked; i++)
		if (g->asked[i].vni == vni)
			return g->asked[i].downs;
	cr_assert_fail("gateway never asked for VNI %u", vni);
	return 0;
}

static void
tgw_forget(struct tgw *g)
{
	g->nq = 0;
	g->nasked = 0;
	g->probes = 0;
}

static void
send_from(const struct tgw *g, const uint8_t *buf, size_t len)
{
	ssize_t n = sendto(g->fd, buf, len, 0, (const struct sockaddr *)&learner,
	    sizeof(learner));

	cr_assert_eq(n, (ssize_t)len, "sendto: %s", strerror(errno));
}

/* What a syncd answers when nothing is new: OK with no entries; a probe: UNKNOWN. */
static void
answer_nothing_new(const struct tgw *g, const struct sync_req *r)
{
	static uint8_t buf[SYNC_DGRAM_MAX];
	struct sync_builder b;

	sync_build_begin(&b, buf, sizeof(buf), SYNC_RESP, r->id, NULL);
	for (uint8_t i = 0; i < r->count; i++) {
		const struct sync_item *it = &r->items[i];

		cr_assert_eq(sync_build_section(&b, it->vni, it->gen,
		    it->vni == PROBE_VNI ? SYNC_UNKNOWN : SYNC_OK, it->version, it->version), 0);
		sync_build_section_end(&b, false, 0, 0);
	}
	send_from(g, buf, sync_build_finish(&b));
}

/* Take what reached the gateways; the parking ones answer what waited long enough. */
static void
pump(void)
{
	uint8_t buf[SYNC_DGRAM_MAX];

	for (uint32_t k = 0; k < ngw; k++) {
		struct tgw *g = &G[k];
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		ssize_t n;

		if (g->fd < 0)
			continue;	/* closed: its syncd died */
		while ((n = recvfrom(g->fd, buf, sizeof(buf), MSG_DONTWAIT,
		    (struct sockaddr *)&from, &fl)) >= 0) {
			struct qreq *q;

			cr_assert_lt(g->nq, QMAX, "gateway %u: too many requests kept", k);
			q = &g->q[g->nq++];
			cr_assert_eq(sync_req_decode(buf, (size_t)n, &q->r), 0,
			    "gateway %u got a request that does not decode", k);
			q->at = clock_mono_ns();
			q->from = from;
			if (is_probe(&q->r))
				g->probes++;
			else
				for (uint8_t i = 0; i < q->r.count; i++)
					count_asked(g, q->r.items[i].vni);
			fl = sizeof(from);
		}
		cr_assert(errno == EAGAIN || errno == EWOULDBLOCK, "recvfrom: %s",
		    strerror(errno));
		for (uint32_t i = 0; i < g->nq;) {
			struct qreq *q = &g->q[i];

			if ((g->park && clock_mono_ns() - q->at >= PARK_NS) ||
			    (g->answer_probes && is_probe(&q->r))) {
				answer_nothing_new(g, &q->r);
				memmove(q, q + 1, (g->nq - i - 1) * sizeof(*q));
				g->nq--;
			} else
				i++;
		}
	}
}

static void
step(void)
{
	/* No loop while the learner runs in a process of its own. */
	if (L != NULL)
		run_for(1);
	else
		usleep(1000);
	pump();
}

/* The next request that reached g (and when the test read it). */
static struct sync_req
expect_req_at(struct tgw *g, uint64_t *at)
{
	struct sync_req r;

	RUN_UNTIL(g->nq > 0);
	r = g->q[0].r;
	if (at != NULL)
		*at = g->q[0].at;
	cr_assert_eq(g->q[0].from.sin_addr.s_addr, learner.sin_addr.s_addr);
	cr_assert_eq(g->q[0].from.sin_port, learner.sin_port,
	    "requests come from the port LEARNs and answers go to");
	memmove(&g->q[0], &g->q[1], --g->nq * sizeof(g->q[0]));
	return r;
}

static struct sync_req
expect_req(struct tgw *g)
{
	return expect_req_at(g, NULL);
}

static const struct sync_item *
item_of(const struct sync_req *r, uint32_t vni)
{
	for (uint8_t i = 0; i < r->count; i++)
		if (r->items[i].vni == vni)
			return &r->items[i];
	return NULL;
}

/* A request holding exactly one item, this one. */
static void
expect_only(const struct sync_req *r, uint32_t vni, uint32_t gen, uint64_t version,
    uint64_t cursor_version, uint32_t cursor_ip)
{
	const struct sync_item *it = &r->items[0];

	cr_assert_eq(r->count, 1, "a request for %u VPCs, not just VNI %u", r->count, vni);
	cr_assert_eq(it->vni, vni, "VNI %u asked, not %u", it->vni, vni);
	cr_assert_eq(it->gen, gen, "VNI %u: generation %#x, not %#x", vni, it->gen, gen);
	cr_assert_eq(it->version, version, "VNI %u asked from version %llu, not %llu", vni,
	    (unsigned long long)it->version, (unsigned long long)version);
	cr_assert_eq(it->cursor_version, cursor_version, "VNI %u: cursor version %llu, not %llu",
	    vni, (unsigned long long)it->cursor_version, (unsigned long long)cursor_version);
	cr_assert_eq(it->cursor_ip, cursor_ip, "VNI %u: cursor ip %#x, not %#x", vni,
	    it->cursor_ip, cursor_ip);
}

/* Each rule's MAC tells its IP and version apart: a mix-up shows. */
static void
mac_of(uint32_t ip, uint64_t version, uint8_t mac[6])
{
	mac[0] = 0x02;
	mac[1] = 0x12;
	mac[2] = (uint8_t)(ip >> 16);
	mac[3] = (uint8_t)(ip >> 8);
	mac[4] = (uint8_t)ip;
	mac[5] = (uint8_t)version;
}

static void
resp_begin(uint32_t id)
{
	sync_build_begin(&B, dgram, sizeof(dgram), SYNC_RESP, id, NULL);
}

static void
resp_section(uint32_t vni, uint32_t gen, uint8_t status, uint64_t since, uint64_t upto)
{
	cr_assert_eq(sync_build_section(&B, vni, gen, status, since, upto), 0);
}

static void
resp_set(uint32_t ip, uint64_t version, uint32_t vtep)
{
	struct sync_entry e = { .ip = ip, .vtep = vtep, .op = SYNC_SET, .version = version };

	mac_of(ip, version, e.mac);
	cr_assert_eq(sync_build_entry(&B, &e), 0);
}

static void
resp_del(uint32_t ip, uint64_t version)
{
	struct sync_entry e = { .ip = ip, .op = SYNC_DEL, .version = version };

	cr_assert_eq(sync_build_entry(&B, &e), 0);
}

static void
resp_end(bool more, uint64_t cursor_version, uint32_t cursor_ip)
{
	sync_build_section_end(&B, more, cursor_version, cursor_ip);
}

static void
resp_send(const struct tgw *g)
{
	dgram_len = sync_build_finish(&B);
	send_from(g, dgram, dgram_len);
}

/* A one-section answer without entries (RELEARN, RETRY, UNKNOWN, or nothing new). */
static void
answer(const struct tgw *g, uint32_t id, uint32_t vni, uint32_t gen, uint8_t status,
    uint64_t since, uint64_t upto)
{
	resp_begin(id);
	resp_section(vni, gen, status, since, upto);
	resp_end(false, 0, 0);
	resp_send(g);
}

static void
send_learn(const struct tgw *g, uint32_t vni, uint32_t gen, uint64_t upto, uint32_t ip,
    uint64_t version, uint32_t vtep)
{
	struct sync_entry e = { .ip = ip, .vtep = vtep, .op = SYNC_SET, .version = version };

	mac_of(ip, version, e.mac);
	sync_build_begin(&B, dgram, sizeof(dgram), SYNC_LEARN, 0, NULL);
	cr_assert_eq(sync_build_section(&B, vni, gen, SYNC_OK, 0, upto), 0);
	cr_assert_eq(sync_build_entry(&B, &e), 0);
	sync_build_section_end(&B, false, 0, 0);
	resp_send(g);
}

/* A LEARN the learner installs, and the wait for it. */
static void
learn(const struct tgw *g, uint32_t vni, uint32_t gen, uint64_t upto, uint32_t ip,
    uint64_t version, uint32_t vtep)
{
	uint64_t rx = C.learn_rx, installed = C.learn_installed;

	send_learn(g, vni, gen, upto, ip, version, vtep);
	RUN_UNTIL(C.learn_rx == rx + 1);
	cr_assert_eq(C.learn_installed, installed + 1, "a LEARN at (%#x, %llu) was not installed",
	    gen, (unsigned long long)upto);
}

/* A LEARN the learner takes in but ignores: stale. */
static void
learn_ignored(const struct tgw *g, uint32_t vni, uint32_t gen, uint64_t upto, uint32_t ip,
    uint64_t version, uint32_t vtep)
{
	uint64_t rx = C.learn_rx, stale = C.learn_stale, installed = C.learn_installed;

	send_learn(g, vni, gen, upto, ip, version, vtep);
	RUN_UNTIL(C.learn_rx == rx + 1);
	cr_assert_eq(C.learn_stale, stale + 1, "a LEARN at (%#x, %llu) was not found stale",
	    gen, (unsigned long long)upto);
	cr_assert_eq(C.learn_installed, installed);
}

static void
expect_rule(uint32_t vni, uint32_t ip, uint64_t version, uint32_t vtep)
{
	struct table_rule r;
	uint8_t mac[6];

	cr_assert(table_lookup(T, vni, ip, &r), "VNI %u: no rule for 10.0.0.%u", vni, ip & 255);
	cr_assert_eq(r.version, version, "VNI %u, 10.0.0.%u: version %llu, not %llu", vni,
	    ip & 255, (unsigned long long)r.version, (unsigned long long)version);
	cr_assert_eq(r.vtep, vtep, "VNI %u, 10.0.0.%u: VTEP %#x, not %#x", vni, ip & 255,
	    r.vtep, vtep);
	mac_of(ip, version, mac);
	cr_assert_eq(memcmp(r.mac, mac, 6), 0, "VNI %u, 10.0.0.%u: not the MAC of version %llu",
	    vni, ip & 255, (unsigned long long)version);
}

static void
expect_no_rule(uint32_t vni, uint32_t ip)
{
	struct table_rule r;

	cr_assert_not(table_get(T, vni, ip, &r), "VNI %u: a rule for 10.0.0.%u (version %llu)",
	    vni, ip & 255, (unsigned long long)r.version);
}

/* The (generation, version) the cache publishes for a VNI. */
static void
expect_vni(uint32_t vni, uint32_t gen, uint64_t version)
{
	struct table_vni_info vi;

	cr_assert_eq(table_vni_get(T, vni, &vi), 0, "VNI %u is not in the cache", vni);
	cr_assert_eq(vi.gen, gen, "VNI %u: generation %#x in the cache, not %#x", vni, vi.gen,
	    gen);
	cr_assert_eq(vi.version, version, "VNI %u: version %llu in the cache, not %llu", vni,
	    (unsigned long long)vi.version, (unsigned long long)version);
}

/* 1. LEARN */

Test(learner_sync, learn_installs_the_rule_and_sync_starts_from_its_upto)
{
	struct sync_req r;

	start(&P);
	learn(&G[0], 100, GEN, 7, IP(5), 5, VTEP1);
	expect_rule(100, IP(5), 5, VTEP1);
	expect_vni(100, GEN, 7);
	cr_assert_eq(C.learn_rx, 1);
	cr_assert_eq(C.vnis, 1);
	cr_assert_eq(C.rules, 1);
	r = expect_req(&G[0]);
	expect_only(&r, 100, GEN, 7, 0, 0);
	cr_assert_eq(r.wait_ms, 100, "sync_wait goes to the gateway as wait_ms");

	/* A later LEARN adds its rule; the VPC's version stays sync's to move. */
	learn(&G[0], 100, GEN, 9, IP(6), 8, VTEP2);
	expect_rule(100, IP(6), 8, VTEP2);
	expect_vni(100, GEN, 7);
	answer(&G[0], r.id, 100, GEN, SYNC_OK, 7, 7);
	r = expect_req(&G[0]);
	expect_only(&r, 100, GEN, 7, 0, 0);
	cr_assert_eq(C.vnis, 1);
}

Test(learner_sync, learn_from_an_address_not_configured_is_dropped)
{
	struct sync_req r;

	start(&P);
	/* Another host, and the gateway's own address from another port. */
	tgw_open(&G[2], "127.0.12.9");
	tgw_open(&G[3], "127.0.12.2");
	cr_assert_neq(G[3].addr.sin_port, G[0].addr.sin_port);
	send_learn(&G[2], 100, GEN, 5, IP(5), 5, VTEP1);
	send_learn(&G[3], 200, GEN, 5, IP(5), 5, VTEP1);
	RUN_UNTIL(C.dgram_denied == 2);
	cr_assert_eq(C.learn_rx, 0);
	expect_no_rule(100, IP(5));
	expect_no_rule(200, IP(5));
	cr_assert_eq(table_vni_get(T, 100, &(struct table_vni_info){ 0 }), -ENOENT);
	cr_assert_eq(table_vni_get(T, 200, &(struct table_vni_info){ 0 }), -ENOENT);
	cr_assert_eq(C.vnis, 0);
	/* Had either been taken, it would be asked with this one. */
	learn(&G[0], 300, GEN, 5, IP(5), 5, VTEP1);
	r = expect_req(&G[0]);
	expect_only(&r, 300, GEN, 5, 0, 0);
}

Test(learner_sync, datagrams_that_do_not_decode_are_counted_and_dropped)
{
	struct sync_req q = { .id = 9, .count = 1, .items = { { .vni = 100, .gen = GEN } } };
	uint8_t buf[64];
	int n;

	start(&P);
	memset(buf, 0x56, sizeof(buf));
	send_from(&G[0], buf, sizeof(buf));
	/* A request is no answer. */
	n = sync_req_encode(&q, buf, sizeof(buf));
	cr_assert_gt(n, 0);
	send_from(&G[0], buf, (size_t)n);
	/* A LEARN cut short. */
	send_learn(&G[0], 100, GEN, 5, IP(5), 5, VTEP1);
	send_from(&G[0], dgram, dgram_len - 1);
	RUN_UNTIL(C.dgram_malformed + C.learn_rx == 4);
	cr_assert_eq(C.dgram_malformed, 3);
	cr_assert_eq(C.learn_rx, 1, "only the whole LEARN counts");
	expect_rule(100, IP(5), 5, VTEP1);
}

Test(learner_sync, learn_older_than_what_sync_went_past_or_of_another_generation_is_ignored)
{
	struct sync_req r;

	start(&P);
	learn(&G[0], 100, GEN, 5, IP(5), 3, VTEP1);
	r = expect_req(&G[0]);
	resp_begin(r.id);
	resp_section(100, GEN, SYNC_OK, 5, 9);
	resp_set(IP(5), 8, VTEP2);
	resp_end(false, 0, 0);
	resp_send(&G[0]);
	RUN_UNTIL(C.versions == 1);
	expect_rule(100, IP(5), 8, VTEP2);
	r = expect_req(&G[0]);
	expect_only(&r, 100, GEN, 9, 0, 0);

	/* Sent before that answer, arriving after it: the rule stays at version 8. */
	learn_ignored(&G[0], 100, GEN, 6, IP(5), 4, VTEP1);
	expect_rule(100, IP(5), 8, VTEP2);
	/* A rule not held: sync went past versions where it may have changed. */
	learn_ignored(&G[0], 100, GEN, 8, IP(6), 2, VTEP1);
	expect_no_rule(100, IP(6));
	/* Another generation, however new, is not the VPC the cache follows. */
	learn_ignored(&G[0], 100, GEN2, 20, IP(7), 15, VTEP1);
	expect_no_rule(100, IP(7));
	expect_vni(100, GEN, 9);
	cr_assert_eq(C.learn_installed, 1);

	/* At the version sync reached, it is taken. */
	learn(&G[0], 100, GEN, 9, IP(6), 2, VTEP1);
	expect_rule(100, IP(6), 2, VTEP1);
	/* And one that passes that check still never replaces a newer rule. */
	send_learn(&G[0], 100, GEN, 9, IP(5), 7, VTEP1);
	RUN_UNTIL(C.learn_rx == 6);
	cr_assert_eq(C.learn_installed, 2);
	expect_rule(100, IP(5), 8, VTEP2);
	expect_vni(100, GEN, 9);
	cr_assert_eq(C.learn_stale, 3);
}

/* 2. Incremental sync */

Test(learner_sync, ok_updates_and_deletes_held_rules_only_and_advances_the_version)
{
	struct table_vni_info vi;
	struct sync_req r;

	start(&P);
	learn(&G[0], 100, GEN, 5, IP(5), 3, VTEP1);
	r = expect_req(&G[0]);
	expect_only(&r, 100, GEN, 5, 0, 0);
	learn(&G[0], 100, GEN, 5, IP(6), 4, VTEP1);
	resp_begin(r.id);
	resp_section(100, GEN, SYNC_OK, 5, 8);
	resp_set(IP(5), 6, VTEP2);
	resp_del(IP(6), 7);
	resp_set(IP(7), 8, VTEP3);	/* never learned: not the cache's */
	resp_end(false, 0, 0);
	resp_send(&G[0]);
	RUN_UNTIL(C.versions == 1);
	expect_rule(100, IP(5), 6, VTEP2);
	expect_no_rule(100, IP(6));
	expect_no_rule(100, IP(7));
	cr_assert_eq(C.rules_updated, 1);
	cr_assert_eq(C.rules_deleted, 1);
	cr_assert_eq(C.rules_older, 0);
	cr_assert_eq(C.sync_rx, 1);
	cr_assert_eq(table_vni_get(T, 100, &vi), 0);
	cr_assert_eq(vi.version, 8, "the cache records version %llu, not 8",
	    (unsigned long long)vi.version);
	cr_assert_eq(vi.live, 1);
	r = expect_req(&G[0]);
	expect_only(&r, 100, GEN, 8, 0, 0);

	/* Nothing new: the version stays where it is. */
	answer(&G[0], r.id, 100, GEN, SYNC_OK, 8, 8);
	r = expect_req(&G[0]);
	expect_only(&r, 100, GEN, 8, 0, 0);
	cr_assert_eq(C.versions, 1);
	expect_vni(100, GEN, 8);
}

/* 3. Paging */

Test(learner_sync, a_page_with_more_keeps_the_version_and_sends_its_cursor_back)
{
	struct sync_req r;

	start(&P);
	learn(&G[0], 100, GEN, 4, IP(5), 2, VTEP1);
	r = expect_req(&G[0]);
	learn(&G[0], 100, GEN, 4, IP(9), 3, VTEP1);

	resp_begin(r.id);
	resp_section(100, GEN, SYNC_OK, 4, 10);
	resp_set(IP(5), 6, VTEP2);
	resp_end(true, 6, IP(5));
	resp_send(&G[0]);
	RUN_UNTIL(C.pages == 1);
	expect_rule(100, IP(5), 6, VTEP2);
	expect_vni(100, GEN, 4);
	cr_assert_eq(C.versions, 0);
	r = expect_req(&G[0]);
	expect_only(&r, 100, GEN, 4, 6, IP(5));

	/* The page went past version 5: a LEARN at 5 may miss a change sync skipped. */
	learn_ignored(&G[0], 100, GEN, 5, IP(20), 5, VTEP1);
	expect_no_rule(100, IP(20));

	resp_begin(r.id);
	resp_section(100, GEN, SYNC_OK, 4, 10);
	resp_set(IP(9), 8, VTEP3);
	resp_end(true, 8, IP(9));
	resp_send(&G[0]);
	RUN_UNTIL(C.pages == 2);
	expect_rule(100, IP(9), 8, VTEP3);
	expect_vni(100, GEN, 4);
	r = expect_req(&G[0]);
	expect_only(&r, 100, GEN, 4, 8, IP(9));

	/* The last page completes version 10. */
	resp_begin(r.id);
	resp_section(100, GEN, SYNC_OK, 4, 10);
	resp_del(IP(5), 10);
	resp_end(false, 0, 0);
	resp_send(&G[0]);
	RUN_UNTIL(C.versions == 1);
	cr_assert_eq(C.pages, 2);
	expect_no_rule(100, IP(5));
	expect_rule(100, IP(9), 8, VTEP3);
	expect_vni(100, GEN, 10);
	r = expect_req(&G[0]);
	expect_only(&r, 100, GEN, 10, 0, 0);
}

/* 4. Never older */

Test(learner_sync, nothing_older_late_or_not_asked_for_is_applied)
{
	uint8_t late[SYNC_DGRAM_MAX];
	size_t late_len;
	struct sync_req r, r1;

	start(&P);
	learn(&G[0], 100, GEN, 5, IP(5), 3, VTEP1);
	r1 = expect_req(&G[0]);
	learn(&G[0], 100, GEN, 5, IP(6), 1, VTEP1);
	/* A newer LEARN of a held rule, while the answer to r1 is on its way. */
	learn(&G[0], 100, GEN, 8, IP(5), 8, VTEP3);
	expect_rule(100, IP(5), 8, VTEP3);
	expect_vni(100, GEN, 5);

	resp_begin(r1.id);
	resp_section(100, GEN, SYNC_OK, 5, 8);
	resp_set(IP(6), 6, VTEP2);
	resp_set(IP(5), 7, VTEP2);	/* older than the cache's */
	resp_end(false, 0, 0);
	resp_send(&G[0]);
	memcpy(late, dgram, dgram_len);
	late_len = dgram_len;
	RUN_UNTIL(C.versions == 1);
	cr_assert_eq(C.rules_older, 1);
	cr_assert_eq(C.rules_updated, 1);
	expect_rule(100, IP(5), 8, VTEP3);
	expect_rule(100, IP(6), 6, VTEP2);
	expect_vni(100, GEN, 8);
	r = expect_req(&G[0]);
	expect_only(&r, 100, GEN, 8, 0, 0);

	/* The same answer again, late. */
	send_from(&G[0], late, late_len);
	RUN_UNTIL(C.sync_stale == 1);
	/* An answer to r1 that would be new: r1 is no longer in flight. */
	resp_begin(r1.id);
	resp_section(100, GEN, SYNC_OK, 8, 9);
	resp_set(IP(6), 9, VTEP3);
	resp_end(false, 0, 0);
	resp_send(&G[0]);
	RUN_UNTIL(C.sync_stale == 2);
	expect_rule(100, IP(6), 6, VTEP2);
	expect_vni(100, GEN, 8);
	cr_assert_eq(C.rules_older, 1);
	cr_assert_eq(C.sync_rx, 1);

	/* The request in flight, answered from a version it did not ask from. */
	resp_begin(r.id);
	resp_section(100, GEN, SYNC_OK, 5, 12);
	resp_set(IP(6), 11, VTEP3);
	resp_end(false, 0, 0);
	resp_send(&G[0]);
	RUN_UNTIL(C.sync_rx == 2);
	expect_rule(100, IP(6), 6, VTEP2);
	expect_vni(100, GEN, 8);
	r = expect_req(&G[0]);
	expect_only(&r, 100, GEN, 8, 0, 0);

	/* From another generation. */
	resp_begin(r.id);
	resp_section(100, GEN2, SYNC_OK, 8, 12);
	resp_set(IP(6), 11, VTEP3);
	resp_end(false, 0, 0);
	resp_send(&G[0]);
	RUN_UNTIL(C.sync_rx == 3);
	expect_rule(100, IP(6), 6, VTEP2);
	expect_vni(100, GEN, 8);
	r = expect_req(&G[0]);
	expect_only(&r, 100, GEN, 8, 0, 0);

	/* What was refused above was refused for its reason: a right answer goes in. */
	resp_begin(r.id);
	resp_section(100, GEN, SYNC_OK, 8, 12);
	resp_set(IP(6), 11, VTEP3);
	resp_end(false, 0, 0);
	resp_send(&G[0]);
	RUN_UNTIL(C.versions == 2);
	expect_rule(100, IP(6), 11, VTEP3);
	expect_rule(100, IP(5), 8, VTEP3);
	expect_vni(100, GEN, 12);
	cr_assert_eq(C.rules_older, 1);
	cr_assert_eq(C.sync_stale, 2);
}

/* 5. RELEARN and UNKNOWN */

Test(learner_sync, relearn_and_unknown_drop_the_vpc_until_a_new_learn)
{
	struct table_vni_info vi;
	struct sync_req r100, r200;
	uint32_t used, retired;

	start(&P);
	learn(&G[0], 100, GEN, 5, IP(5), 3, VTEP1);
	r100 = expect_req(&G[0]);
	learn(&G[0], 100, GEN, 5, IP(6), 4, VTEP1);
	learn(&G[0], 200, GEN, 5, IP(5), 2, VTEP2);
	r200 = expect_req(&G[0]);
	expect_only(&r200, 200, GEN, 5, 0, 0);
	cr_assert_eq(C.vnis, 2);

	answer(&G[0], r100.id, 100, GEN, SYNC_RELEARN, 5, 5);
	RUN_UNTIL(C.relearns == 1);
	expect_no_rule(100, IP(5));
	expect_no_rule(100, IP(6));
	cr_assert_eq(table_vni_get(T, 100, &vi), -ENOENT,
	    "a VPC relearned holds nothing until a LEARN: its VNI slot is given back");
	table_vni_slots(T, &used, &retired);
	cr_assert_eq(used, 1);
	cr_assert_eq(retired, 1);
	cr_assert_eq(C.vnis, 1);
	expect_rule(200, IP(5), 2, VTEP2);
	expect_vni(200, GEN, 5);
	/* Were VNI 100 still followed, it would be asked with 200 now. */
	answer(&G[0], r200.id, 200, GEN, SYNC_OK, 5, 5);
	r200 = expect_req(&G[0]);
	expect_only(&r200, 200, GEN, 5, 0, 0);

	/* A LEARN starts it again, here in a new generation (its history was reset). */
	learn(&G[0], 100, GEN2, 3, IP(6), 2, VTEP3);
	expect_rule(100, IP(6), 2, VTEP3);
	expect_vni(100, GEN2, 3);
	r100 = expect_req(&G[0]);
	expect_only(&r100, 100, GEN2, 3, 0, 0);
	cr_assert_eq(C.learn_stale, 0);

	/* UNKNOWN: the gateway has no such VPC. */
	answer(&G[0], r200.id, 200, GEN, SYNC_UNKNOWN, 5, 5);
	RUN_UNTIL(C.relearns == 2);
	expect_no_rule(200, IP(5));
	cr_assert_eq(table_vni_get(T, 200, &vi), -ENOENT);
	cr_assert_eq(C.vnis, 1);
	answer(&G[0], r100.id, 100, GEN2, SYNC_OK, 3, 3);
	r100 = expect_req(&G[0]);
	expect_only(&r100, 100, GEN2, 3, 0, 0);
	cr_assert_eq(C.rules_deleted, 0, "a flush is no delete");
}

/* 5b. Resync: RELEARN of a VPC held by many rules */

/* A cache that held these rules of a VPC at (gen, version) before the learner started. */
static void
cache_hold(uint32_t vni, uint32_t gen, uint64_t version, uint32_t from, uint32_t to,
    uint32_t step_)
{
	for (uint32_t x = from; x <= to; x += step_) {
		struct table_rule r = { .vni = vni, .ip = IP(x), .vtep = VTEP1, .version = 3 };

		mac_of(IP(x), 3, r.mac);
		cr_assert_eq(table_set(T, &r), TABLE_APPLIED);
	}
	cr_assert_eq(table_vni_advance(T, vni, gen, version), TABLE_APPLIED);
}

/* A page of a full walk, in (version, ip) order: a DEL of del (below from), SETs. */
static void
walk_page(const struct tgw *g, uint32_t id, uint32_t vni, uint32_t gen, uint64_t upto,
    uint32_t from, uint32_t to, uint64_t version, uint32_t del, bool more)
{
	resp_begin(id);
	resp_section(vni, gen, SYNC_OK, 0, upto);
	if (del)
		resp_del(IP(del), version);
	for (uint32_t x = from; x <= to; x++)
		resp_set(IP(x), version, VTEP2);
	resp_end(more, version, IP(to));
	resp_send(g);
}

Test(learner_sync, relearn_of_a_vpc_held_by_many_rules_walks_it_for_the_ips_held)
{
	struct params p = P;
	struct sync_req r;
	uint64_t before;

	p.resync_min_rules = 64;
	cache_open();
	cache_hold(100, GEN, 5, 2, 200, 2);	/* 100 rules: the even IPs 2..200 */
	tgws_open(p.ngw);
	learner_start(&p);
	r = expect_req(&G[0]);
	expect_only(&r, 100, GEN, 5, 0, 0);

	/* The VPC was reset: RELEARN in GEN2. The rules go, the walk from 0 starts. */
	before = C.sync_tx;
	answer(&G[0], r.id, 100, GEN2, SYNC_RELEARN, 5, 5);
	RUN_UNTIL(C.relearns == 1);
	cr_assert_eq(C.resyncs, 1, "100 rules held: RELEARN walks the VPC");
	expect_no_rule(100, IP(2));
	expect_no_rule(100, IP(200));
	r = expect_req(&G[0]);
	cr_assert_gt(C.sync_tx, before);
	expect_only(&r, 100, GEN2, 0, 0, 0);

	/* Page 1: IPs 1..60 at version 7. Only the even ones were held. */
	walk_page(&G[0], r.id, 100, GEN2, 9, 1, 60, 7, 0, true);
	r = expect_req(&G[0]);
	expect_only(&r, 100, GEN2, 0, 7, IP(60));
	expect_rule(100, IP(2), 7, VTEP2);
	expect_rule(100, IP(60), 7, VTEP2);
	expect_no_rule(100, IP(1));
	expect_no_rule(100, IP(59));
	cr_assert_eq(C.versions, 0, "a version moves only when the walk is complete");

	/* A LEARN during the walk installs as usual, unless older than the walk went. */
	learn_ignored(&G[0], 100, GEN2, 6, IP(203), 6, VTEP3);
	learn(&G[0], 100, GEN2, 7, IP(201), 7, VTEP3);
	expect_rule(100, IP(201), 7, VTEP3);

	/* Page 2: 61..120 at 8, and IP 10 (held, set by page 1) deleted since. */
	walk_page(&G[0], r.id, 100, GEN2, 9, 61, 120, 8, 10, true);
	r = expect_req(&G[0]);
	expect_only(&r, 100, GEN2, 0, 8, IP(120));
	cr_assert_not(table_lookup(T, 100, IP(10), &(struct table_rule){ 0 }),
	    "a delete in the walk deletes the held rule");

	/* Page 3, the last: 121..180 and the learned 201 at 9. */
	resp_begin(r.id);
	resp_section(100, GEN2, SYNC_OK, 0, 9);
	for (uint32_t x = 121; x <= 180; x++)
		resp_set(IP(x), 9, VTEP2);
	resp_set(IP(201), 9, VTEP2);
	resp_end(false, 0, 0);
	resp_send(&G[0]);
	RUN_UNTIL(C.resyncs_done == 1);
	expect_vni(100, GEN2, 9);
	for (uint32_t x = 1; x <= 200; x++) {
		if (x % 2 == 1 || x > 180 || x == 10)
			cr_assert_not(table_lookup(T, 100, IP(x), &(struct table_rule){ 0 }),
			    "10.0.0.%u: not held, or not in the new walk, or deleted", x);
		else
			expect_rule(100, IP(x), x <= 60 ? 7 : x <= 120 ? 8 : 9, VTEP2);
	}
	expect_rule(100, IP(201), 9, VTEP2);
	/* 90 held IPs set by the walk (10 deleted after); the learned one is a LEARN's. */
	cr_assert_eq(C.resync_rules, 90, "%llu", (unsigned long long)C.resync_rules);
	cr_assert_eq(C.resync_scanned, 60 + 61 + 61);
	cr_assert_eq(C.resyncs_abandoned, 0);
	cr_assert_eq(C.rules, 89 + 1);

	/* It syncs on from the walk's upto. */
	r = expect_req(&G[0]);
	expect_only(&r, 100, GEN2, 9, 0, 0);
	cr_assert_eq(C.vnis, 1);
}

Test(learner_sync, relearn_of_a_vpc_held_by_few_rules_relearns_on_use)
{
	struct params p = P;
	struct table_vni_info vi;
	struct sync_req r100, r200;

	p.resync_min_rules = 64;
	cache_open();
	cache_hold(100, GEN, 5, 1, 63, 1);	/* one short */
	cache_hold(200, GEN, 5, 1, 100, 1);
	tgws_open(p.ngw);
	learner_start(&p);
	r100 = expect_req(&G[0]);
	cr_assert_eq(r100.count, 2);
	cr_assert_not_null(item_of(&r100, 100));
	cr_assert_not_null(item_of(&r100, 200));

	resp_begin(r100.id);
	resp_section(100, GEN2, SYNC_RELEARN, 5, 5);
	resp_end(false, 0, 0);
	resp_section(200, GEN, SYNC_OK, 5, 5);
	resp_end(false, 0, 0);
	resp_send(&G[0]);
	RUN_UNTIL(C.relearns == 1);
	cr_assert_eq(C.resyncs, 0, "63 rules held: relearned on use");
	cr_assert_eq(table_vni_get(T, 100, &vi), -ENOENT);
	cr_assert_eq(C.vnis, 1);
	/* Only 200 is followed: 100 is not asked from version 0, nor at all. */
	r200 = expect_req(&G[0]);
	expect_only(&r200, 200, GEN, 5, 0, 0);
	expect_rule(200, IP(1), 3, VTEP1);
}

Test(learner_sync, a_resync_where_the_held_ips_are_rare_is_abandoned)
{
	struct params p = P;
	struct table_vni_info vi;
	struct sync_req r;

	p.resync_min_rules = 64;
	cache_open();
	cache_hold(100, GEN, 5, 1, 64, 1);	/* 64 of a big VPC */
	cache_hold(200, GEN, 5, 1, 1, 1);
	tgws_open(p.ngw);
	learner_start(&p);
	r = expect_req(&G[0]);
	cr_assert_eq(r.count, 2);
	resp_begin(r.id);
	resp_section(100, GEN2, SYNC_RELEARN, 5, 5);
	resp_end(false, 0, 0);
	resp_section(200, GEN, SYNC_OK, 5, 5);
	resp_end(false, 0, 0);
	resp_send(&G[0]);
	RUN_UNTIL(C.resyncs == 1);
	r = expect_req(&G[0]);
	cr_assert_eq(r.count, 2);
	cr_assert_eq(item_of(&r, 100)->version, 0);
	cr_assert_eq(item_of(&r, 100)->gen, GEN2);

	/* 2,200 entries, 64 held: under 4,096 scanned, the walk goes on. */
	resp_begin(r.id);
	resp_section(100, GEN2, SYNC_OK, 0, 9);
	for (uint32_t x = 1; x <= 2200; x++)
		resp_set(IP(x), 7, VTEP2);
	resp_end(true, 7, IP(2200));
	resp_section(200, GEN, SYNC_OK, 5, 5);
	resp_end(false, 0, 0);
	resp_send(&G[0]);
	r = expect_req(&G[0]);
	cr_assert_eq(item_of(&r, 100)->cursor_version, 7);
	cr_assert_eq(item_of(&r, 100)->cursor_ip, IP(2200));
	expect_rule(100, IP(64), 7, VTEP2);
	cr_assert_eq(C.resyncs_abandoned, 0);

	/* 4,400 scanned, 64 held (under 1 in 32): given up, relearn on use. */
	resp_begin(r.id);
	resp_section(100, GEN2, SYNC_OK, 0, 9);
	for (uint32_t x = 2201; x <= 4400; x++)
		resp_set(IP(x), 8, VTEP2);
	resp_end(true, 8, IP(4400));
	resp_section(200, GEN, SYNC_OK, 5, 5);
	resp_end(false, 0, 0);
	resp_send(&G[0]);
	RUN_UNTIL(C.resyncs_abandoned == 1);
	cr_assert_eq(C.resync_scanned, 4400);
	cr_assert_eq(C.resyncs_done, 0);
	cr_assert_eq(table_vni_get(T, 100, &vi), -ENOENT, "nothing of it kept, unsynced");
	expect_no_rule(100, IP(64));
	cr_assert_eq(C.vnis, 1);
	r = expect_req(&G[0]);
	expect_only(&r, 200, GEN, 5, 0, 0);
}

Test(learner_sync, eviction_during_a_resync_does_not_stop_it)
{
	struct params p = P;
	struct sync_req r;

	p.resync_min_rules = 64;
	cache_open();
	cache_hold(100, GEN, 5, 1, 64, 1);
	tgws_open(p.ngw);
	learner_start(&p);
	r = expect_req(&G[0]);
	answer(&G[0], r.id, 100, GEN2, SYNC_RELEARN, 5, 5);
	RUN_UNTIL(C.resyncs == 1);
	r = expect_req(&G[0]);
	expect_only(&r, 100, GEN2, 0, 0, 0);
	walk_page(&G[0], r.id, 100, GEN2, 9, 1, 32, 7, 0, true);
	r = expect_req(&G[0]);
	expect_only(&r, 100, GEN2, 0, 7, IP(32));

	/* Eviction takes all the walk installed: the VPC holds nothing, for now. */
	cr_assert_eq(table_evict(T, 0, 0, 1000, NULL), 32);
	syncer_prune(S);
	cr_assert_eq(C.vnis, 1, "a resync's end decides, not prune");

	walk_page(&G[0], r.id, 100, GEN2, 9, 33, 64, 9, 0, false);
	RUN_UNTIL(C.resyncs_done == 1);
	expect_no_rule(100, IP(32));
	expect_rule(100, IP(33), 9, VTEP2);
	expect_rule(100, IP(64), 9, VTEP2);
	expect_vni(100, GEN2, 9);
	r = expect_req(&G[0]);
	expect_only(&r, 100, GEN2, 9, 0, 0);
}

/* 6. RETRY */

Test(learner_sync, retry_asks_the_other_gateway_then_backs_off_when_all_said_it)
{
	struct params p = P;
	uint64_t ts, tr;
	struct sync_req r;
	int home, other;

	p.ngw = 2;
	start(&p);
	home = gateways_pick(&GW, 100, 0);
	cr_assert(home == 0 || home == 1);
	other = !home;
	/* Any configured gateway may send a LEARN; the VPC is asked of its own. */
	learn(&G[other], 100, GEN, 5, IP(5), 3, VTEP1);
	r = expect_req(&G[home]);
	expect_only(&r, 100, GEN, 5, 0, 0);

	answer(&G[home], r.id, 100, GEN, SYNC_RETRY, 5, 5);
	RUN_UNTIL(C.retries == 1);
	expect_rule(100, IP(5), 3, VTEP1);
	expect_vni(100, GEN, 5);
	r = expect_req(&G[other]);
	expect_only(&r, 100, GEN, 5, 0, 0);

	/* Only the gateway asked may answer. */
	resp_begin(r.id);
	resp_section(100, GEN, SYNC_OK, 5, 6);
	resp_set(IP(5), 6, VTEP2);
	resp_end(false, 0, 0);
	resp_send(&G[home]);
	RUN_UNTIL(C.sync_stale == 1);
	expect_rule(100, IP(5), 3, VTEP1);

	/*
	 * Every gateway said RETRY: the next request waits RETRY_PAUSE_NS after the answer
	 * at least. Not a timing assertion: the learner cannot send it earlier, however slow
	 * or fast the machine, unless it does not back off.
	 */
	ts = clock_mono_ns();
	answer(&G[other], r.id, 100, GEN, SYNC_RETRY, 5, 5);
	r = expect_req_at(&G[home], &tr);
	expect_only(&r, 100, GEN, 5, 0, 0);
	cr_assert_geq(tr - ts, RETRY_PAUSE_NS, "asked again %llu us after the second RETRY: "
	    "no back-off", (unsigned long long)(tr - ts) / 1000);
	cr_assert_eq(G[other].nq, 0, "asked the other gateway meanwhile");
	cr_assert_eq(C.retries, 2);
	expect_rule(100, IP(5), 3, VTEP1);

	/* A gateway that caught up answers. */
	resp_begin(r.id);
	resp_section(100, GEN, SYNC_OK, 5, 7);
	resp_set(IP(5), 7, VTEP2);
	resp_end(false, 0, 0);
	resp_send(&G[home]);
	RUN_UNTIL(C.versions == 1);
	expect_rule(100, IP(5), 7, VTEP2);
	r = expect_req(&G[home]);
	expect_only(&r, 100, GEN, 7, 0, 0);
}

/* 7. Failover */

static void
expect_peers(int up0, int up1)
{
	struct table_peer pe[TABLE_PEERS_MAX];

	cr_assert_eq(table_peers(T, pe, TABLE_PEERS_MAX), 2);
	for (int i = 0; i < 2; i++) {
		cr_assert_eq(pe[i].addr, ntohl(G[i].addr.sin_addr.s_addr));
		cr_assert_eq(pe[i].port, ntohs(G[i].addr.sin_port));
	}
	cr_assert_eq(pe[0].up, up0, "gateway 0 published %s", pe[0].up ? "up" : "down");
	cr_assert_eq(pe[1].up, up1, "gateway 1 published %s", pe[1].up ? "up" : "down");
}

/* A VNI that the hash sends to gateway gi while both are up. */
static uint32_t
vni_homed_at(int gi, uint32_t from)
{
	for (uint32_t vni = from; vni < from + 1000; vni++)
		if (vni != PROBE_VNI && gateways_pick(&GW, vni, 0) == gi)
			return vni;
	cr_assert_fail("no VNI goes to gateway %d", gi);
	return 0;
}

Test(learner_sync, an_unanswering_gateway_is_marked_down_probed_and_taken_back)
{
	struct params p = P;
	uint32_t a, b, n;

	p.ngw = 2;
	p.wait_ns = 0;
	p.timeout_ns = 100 * MS;
	p.probe_ns = 100 * MS;
	p.down_after = 2;
	start(&p);
	a = vni_homed_at(0, 100);
	b = vni_homed_at(1, 100);
	expect_peers(1, 1);
	cr_assert_eq(C.gateways_up, 2);
	/* Gateway 1 parks and answers as a syncd would; gateway 0 says nothing. */
	G[1].park = true;
	learn(&G[1], a, GEN, 5, IP(5), 3, VTEP1);
	learn(&G[1], b, GEN, 5, IP(6), 4, VTEP2);

	/* A timeout moves the VPC to the other gateway at once, before any is down. */
	RUN_UNTIL(asked(&G[1], a) >= 1);
	cr_assert_eq(downs_when_first_asked(&G[1], a), 0);
	RUN_UNTIL(C.gateway_downs == 1);
	cr_assert_not(GW.g[0].up);
	cr_assert(GW.g[1].up);
	cr_assert_eq(C.gateways_up, 1);
	expect_peers(0, 1);
	/* Its requests' timeouts, and maybe a keepalive probe left unanswered. */
	cr_assert_geq(C.sync_timeouts, 1);
	cr_assert_eq(asked(&G[0], b), 0, "gateway 0 was asked for VNI %u, not its own", b);
	expect_rule(a, IP(5), 3, VTEP1);
	expect_rule(b, IP(6), 4, VTEP2);

	/* Its VPCs go to the other; it only gets probes. */
	n = asked(&G[1], a);
	tgw_forget(&G[0]);
	RUN_UNTIL(asked(&G[1], a) >= n + 3 && G[0].probes >= 2);
	for (uint32_t i = 0; i < G[0].nq; i++)
		cr_assert(is_probe(&G[0].q[i].r), "a down gateway was asked for VNI %u",
		    G[0].q[i].r.items[0].vni);
	cr_assert_eq(asked(&G[0], a) + asked(&G[0], b), 0);
	cr_assert_eq(C.gateway_downs, 1);

	/* It answers a probe: up again, and its VPCs come back to it. */
	G[0].answer_probes = true;
	RUN_UNTIL(C.gateways_up == 2);
	cr_assert(GW.g[0].up);
	expect_peers(1, 1);
	RUN_UNTIL(asked(&G[0], a) >= 1);
	cr_assert_eq(asked(&G[0], b), 0);
	cr_assert_eq(C.gateway_downs, 1);
	expect_vni(a, GEN, 5);
	expect_vni(b, GEN, 5);
}

/*
 * A gateway whose syncd died answers with ICMP port unreachable: the learner's next
 * datagram there (a keepalive probe, as its request is parked) marks it down at once,
 * and the parked request goes to the other gateway long before its timeout.
 */
Test(learner_sync, a_gateway_answering_icmp_unreachable_is_down_at_once)
{
	struct params p = P;
	uint64_t t0;
	uint32_t a;

	p.ngw = 2;
	p.wait_ns = 2000 * MS;
	p.timeout_ns = 10000 * MS;
	p.probe_ns = 100 * MS;
	p.down_after = 3;
	start(&p);
	a = vni_homed_at(0, 100);
	learn(&G[0], a, GEN, 5, IP(5), 3, VTEP1);
	RUN_UNTIL(asked(&G[0], a) >= 1);	/* parked there: the test does not answer */
	t0 = clock_mono_ns();
	close(G[0].fd);				/* its syncd dies */
	G[0].fd = -1;
	G[1].park = true;
	RUN_UNTIL(asked(&G[1], a) >= 1);
	cr_assert_lt(clock_mono_ns() - t0, 1000 * MS, "moved after %llu ms",
	    (unsigned long long)((clock_mono_ns() - t0) / MS));
	cr_assert_geq(C.gateway_unreachable, 1);
	cr_assert_eq(C.gateway_downs, 1);
	cr_assert_not(GW.g[0].up);
	cr_assert_eq(C.sync_timeouts, 0, "nothing waited for its timeout");
	expect_peers(0, 1);
	expect_vni(a, GEN, 5);
}

/*
 * A gateway no VPC held syncs from still gets the forwarder's unlearned traffic: its
 * death must be noticed all the same (keepalive probes after probe_ns of silence).
 */
Test(learner_sync, a_silent_gateway_no_vpc_syncs_from_is_probed_and_marked_down)
{
	struct params p = P;
	uint32_t b;

	p.ngw = 2;
	p.wait_ns = 0;
	p.timeout_ns = 50 * MS;
	p.probe_ns = 50 * MS;
	p.down_after = 2;
	start(&p);
	b = vni_homed_at(1, 100);
	G[1].park = true;
	learn(&G[1], b, GEN, 5, IP(6), 4, VTEP2);
	RUN_UNTIL(asked(&G[1], b) >= 1);
	/* Gateway 0 says nothing, and nothing held is homed there. */
	RUN_UNTIL(C.gateway_downs == 1);
	cr_assert_not(GW.g[0].up);
	cr_assert(GW.g[1].up);
	expect_peers(0, 1);
	cr_assert_geq(G[0].probes, 2);
	for (uint32_t i = 0; i < G[0].nq; i++)
		cr_assert(is_probe(&G[0].q[i].r), "gateway 0 was asked for VNI %u",
		    G[0].q[i].r.items[0].vni);
	cr_assert_eq(C.sync_timeouts, 0, "no VPC's request went unanswered");
	/* It answers again: up. */
	G[0].answer_probes = true;
	RUN_UNTIL(C.gateways_up == 2);
	expect_peers(1, 1);
}

/* Eviction */

Test(learner_sync, a_vpc_left_without_rules_by_eviction_stops_syncing)
{
	struct table_vni_info vi;
	struct sync_req r;

	start(&P);
	learn(&G[0], 100, GEN, 5, IP(5), 3, VTEP1);
	r = expect_req(&G[0]);
	cr_assert_eq(C.vnis, 1);
	/* As main.c does; with long polls a VPC nearly always has a request in flight. */
	cr_assert_eq(table_evict(T, 0, 0, 100, NULL), 1);
	syncer_prune(S);
	cr_assert_eq(C.vnis, 0, "a VPC with no rule left is still followed");
	/* Nor does it stay in the cache: a restart would resume it, and its slot is back. */
	cr_assert_eq(table_vni_get(T, 100, &vi), -ENOENT);

	/* Its late answer changes nothing; were it followed, it would be asked with 200. */
	resp_begin(r.id);
	resp_section(100, GEN, SYNC_OK, 5, 6);
	resp_set(IP(5), 6, VTEP2);
	resp_end(false, 0, 0);
	resp_send(&G[0]);
	RUN_UNTIL(C.sync_rx == 1);
	expect_no_rule(100, IP(5));
	learn(&G[0], 200, GEN, 5, IP(5), 3, VTEP1);
	r = expect_req(&G[0]);
	expect_only(&r, 200, GEN, 5, 0, 0);
	cr_assert_eq(C.versions, 0);

	/* A new LEARN follows it again, from its version. */
	learn(&G[0], 100, GEN, 7, IP(6), 7, VTEP1);
	r = expect_req(&G[0]);
	expect_only(&r, 100, GEN, 7, 0, 0);
	expect_vni(100, GEN, 7);
}

/* 8. Batching */

/* What a learner left in its cache: VPC i at its own generation and version. */
static void
fill_cache(uint32_t nvpc)
{
	for (uint32_t i = 0; i < nvpc; i++) {
		struct table_rule rl = { .vni = 1000 + i, .ip = IP(i + 1), .vtep = VTEP1,
		    .version = 10 + i };

		mac_of(rl.ip, rl.version, rl.mac);
		cr_assert_eq(table_set(T, &rl), TABLE_APPLIED);
		cr_assert_eq(table_vni_advance(T, 1000 + i, 0x100 + i, 20 + i), TABLE_APPLIED);
	}
}

Test(learner_sync, many_vpcs_go_in_one_request_up_to_sync_batch_each_with_its_own_item)
{
	enum { NVPC = 40, BATCH = 32 };
	struct sync_req r[2];
	bool seen[NVPC] = { 0 };

	cache_open();
	fill_cache(NVPC);
	tgws_open(1);
	learner_start(&P);
	cr_assert_eq(C.vnis, NVPC);
	RUN_UNTIL(G[0].nq >= 2);
	r[0] = expect_req(&G[0]);
	r[1] = expect_req(&G[0]);
	cr_assert_eq(r[0].count + r[1].count, NVPC, "%u VPCs asked, not %u",
	    r[0].count + r[1].count, NVPC);
	cr_assert_eq(r[0].count > r[1].count ? r[0].count : r[1].count, BATCH,
	    "no request of %u (sync_batch) VPCs", BATCH);
	for (int k = 0; k < 2; k++)
		for (uint8_t i = 0; i < r[k].count; i++) {
			const struct sync_item *it = &r[k].items[i];
			uint32_t j = it->vni - 1000;

			cr_assert_lt(j, NVPC, "VNI %u asked", it->vni);
			cr_assert_not(seen[j], "VNI %u asked twice", it->vni);
			seen[j] = true;
			cr_assert_eq(it->gen, 0x100 + j);
			cr_assert_eq(it->version, 20 + j, "VNI %u asked from %llu, not %u",
			    it->vni, (unsigned long long)it->version, 20 + j);
			cr_assert_eq(it->cursor_version, 0);
		}

	/* One answer a request, a section each: every VPC moves to its own version. */
	for (int k = 0; k < 2; k++) {
		resp_begin(r[k].id);
		for (uint8_t i = 0; i < r[k].count; i++) {
			const struct sync_item *it = &r[k].items[i];

			resp_section(it->vni, it->gen, SYNC_OK, it->version, it->version + 5);
			resp_end(false, 0, 0);
		}
		resp_send(&G[0]);
	}
	RUN_UNTIL(C.versions == NVPC);
	memset(seen, 0, sizeof(seen));
	for (uint32_t got = 0; got < NVPC;) {
		struct sync_req q = expect_req(&G[0]);

		cr_assert_leq(q.count, BATCH);
		for (uint8_t i = 0; i < q.count; i++) {
			uint32_t j = q.items[i].vni - 1000;

			cr_assert_lt(j, NVPC);
			cr_assert_not(seen[j], "VNI %u asked twice", q.items[i].vni);
			seen[j] = true;
			cr_assert_eq(q.items[i].version, 25 + j);
			expect_vni(1000 + j, 0x100 + j, 25 + j);
			got++;
		}
	}
}

/* 9. Resume */

struct shared {
	int port;
};

/* A learner as main.c runs it, in a process of its own, until it is killed. */
static int
learner_child(void *arg)
{
	struct shared *sh = arg;
	struct syncer_params sp = { .listen = endpoint(LEARNER_IP, 0), .wait_ns = P.wait_ns,
	    .timeout_ns = P.timeout_ns, .batch = P.batch };
	struct loop_timer hang = { .fn = stop_fire };
	struct table_params tp;

	cache_params(&tp);
	if (table_create(&T, node, "learner", &tp, err, sizeof(err)) < 0)
		return 2;
	if ((L = loop_new(256, err, sizeof(err))) == NULL)
		return 3;
	gateways_init(&GW, &G[0].addr, 1, P.down_after, P.probe_ns, T, &C);
	if ((S = syncer_new(L, &sp, T, &GW, &C, err, sizeof(err))) == NULL)
		return 4;
	syncer_load(S);
	sh->port = syncer_port(S);
	ut_ready();
	stop = 0;
	loop_timer_set(L, &hang, HANG_NS);
	loop_run(L, &stop);
	return 5;	/* not killed in time */
}

Test(learner_sync, a_learner_killed_with_minus_9_resumes_from_the_versions_in_its_cache)
{
	struct shared *sh;
	struct sync_req r;

	sh = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	cr_assert_neq(sh, MAP_FAILED);
	tgws_open(1);
	child = ut_spawn(learner_child, sh);
	cr_assert_gt(child, 0);
	if (sh->port <= 0)
		cr_assert_fail("the learner did not start (exit %d)", ut_wait(child));
	learner = endpoint(LEARNER_IP, sh->port);

	send_learn(&G[0], 100, GEN, 5, IP(5), 3, VTEP1);
	r = expect_req(&G[0]);
	expect_only(&r, 100, GEN, 5, 0, 0);
	resp_begin(r.id);
	resp_section(100, GEN, SYNC_OK, 5, 9);
	resp_set(IP(5), 8, VTEP2);
	resp_end(false, 0, 0);
	resp_send(&G[0]);
	/* Asked from 9: the cache holds 9 (it is recorded before the request goes). */
	r = expect_req(&G[0]);
	expect_only(&r, 100, GEN, 9, 0, 0);

	send_learn(&G[0], 200, GEN2, 2, IP(7), 2, VTEP1);
	r = expect_req(&G[0]);
	expect_only(&r, 200, GEN2, 2, 0, 0);

	send_learn(&G[0], 300, GEN3, 4, IP(9), 4, VTEP1);
	r = expect_req(&G[0]);
	expect_only(&r, 300, GEN3, 4, 0, 0);
	resp_begin(r.id);
	resp_section(300, GEN3, SYNC_OK, 4, 10);
	resp_set(IP(9), 6, VTEP2);
	resp_end(true, 6, IP(9));
	resp_send(&G[0]);
	r = expect_req(&G[0]);
	expect_only(&r, 300, GEN3, 4, 6, IP(9));

	ut_kill(child);
	child = 0;
	pump();		/* what it sent before it died */
	tgw_forget(&G[0]);
	munmap(sh, 4096);

	cache_open();
	cr_assert_geq(table_counters(T)->recoveries, 1, "the table was closed, not killed");
	/* A VPC whose rules all went (evicted) is not followed any more. */
	cr_assert_eq(table_vni_advance(T, 400, GEN, 7), TABLE_APPLIED);
	learner_start(&P);
	cr_assert_eq(C.vnis, 3);
	cr_assert_eq(C.rules, 3);
	expect_rule(100, IP(5), 8, VTEP2);
	expect_rule(200, IP(7), 2, VTEP1);
	expect_rule(300, IP(9), 6, VTEP2);
	r = expect_req(&G[0]);
	cr_assert_eq(r.count, 3, "the VPCs held are asked together, %u of them", r.count);
	cr_assert_eq(item_of(&r, 400), NULL);
	{
		const struct sync_item *a = item_of(&r, 100), *b = item_of(&r, 200),
		    *c = item_of(&r, 300);

		cr_assert(a != NULL && b != NULL && c != NULL);
		cr_assert(a->gen == GEN && a->version == 9 && a->cursor_version == 0);
		cr_assert(b->gen == GEN2 && b->version == 2 && b->cursor_version == 0);
		/* A page in progress is not kept: version 4 starts over. */
		cr_assert(c->gen == GEN3 && c->version == 4 && c->cursor_version == 0,
		    "VNI 300 resumed at %llu, cursor %llu", (unsigned long long)c->version,
		    (unsigned long long)c->cursor_version);
	}

	/* And sync goes on from there. */
	resp_begin(r.id);
	resp_section(100, GEN, SYNC_OK, 9, 11);
	resp_set(IP(5), 11, VTEP3);
	resp_end(false, 0, 0);
	resp_section(200, GEN2, SYNC_OK, 2, 2);
	resp_end(false, 0, 0);
	resp_section(300, GEN3, SYNC_OK, 4, 10);
	resp_set(IP(9), 6, VTEP2);
	resp_end(false, 0, 0);
	resp_send(&G[0]);
	RUN_UNTIL(C.versions == 2);
	expect_rule(100, IP(5), 11, VTEP3);
	expect_rule(300, IP(9), 6, VTEP2);
	expect_vni(100, GEN, 11);
	expect_vni(200, GEN2, 2);
	expect_vni(300, GEN3, 10);
	cr_assert_eq(C.rules_older, 1, "the page seen before the kill comes again");
}

/*
 * Authentication (docs/protocol.md "Authentication"): a gateway's datagram is taken only
 * when it is MACed with this host's key and names this host; a LEARN only within
 * learn_window of its timestamp; an answer only to a request in flight, whose id the
 * learner drew at random.
 */
static struct auth_key secret = { .id = 7 };
static struct auth *mac_ctx;

static void
auth_setup(void)
{
	setup();
	for (int i = 0; i < AUTH_KEY_SIZE; i++)
		secret.key[i] = (uint8_t)(0x5a ^ i);
	host_keys.n = 1;
	cr_assert_eq(auth_derive(&secret, HOST, strlen(HOST), &host_keys.k[0]), 0);
	auth_on = true;
	mac_ctx = auth_new();
	cr_assert_not_null(mac_ctx);
}

static void
auth_teardown(void)
{
	auth_free(mac_ctx);
	auth_on = false;
	teardown();
}

TestSuite(learner_sync_auth, .init = auth_setup, .fini = auth_teardown);

/* Build a LEARN of VNI for NAME, stamped at ts, MACed with KEY_HOST's key (NULL: none). */
static void
build_learn_as(uint32_t vni, const char *name, const char *key_host, uint64_t ts,
    uint32_t ip, uint64_t version)
{
	struct sync_entry e = { .ip = ip, .vtep = VTEP1, .op = SYNC_SET, .version = version };
	struct sync_hdr h = { .flags = key_host ? SYNC_H_MAC : 0, .key_id = secret.id,
	    .ts_ns = ts };
	struct auth_mackey mk;
	struct auth_key k;

	sync_hdr_set_name(&h, name);
	mac_of(ip, version, e.mac);
	sync_build_begin(&B, dgram, sizeof(dgram), SYNC_LEARN, 0, &h);
	cr_assert_eq(sync_build_section(&B, vni, GEN, SYNC_OK, 0, version), 0);
	cr_assert_eq(sync_build_entry(&B, &e), 0);
	sync_build_section_end(&B, false, 0, 0);
	dgram_len = sync_build_finish(&B);
	if (key_host != NULL) {
		cr_assert_eq(auth_derive(&secret, key_host, strlen(key_host), &k), 0);
		auth_mackey_set(&mk, k.key);
		cr_assert_eq(auth_seal(mac_ctx, &mk, dgram, dgram_len), 0);
	}
}

static void
send_learn_as(const struct tgw *g, const char *name, const char *key_host, uint64_t ts,
    uint32_t ip, uint64_t version)
{
	build_learn_as(100, name, key_host, ts, ip, version);
	send_from(g, dgram, dgram_len);
}

/* Send, then let the learner take it: one of its counters moves, the rule stays out. */
static void
expect_dropped(uint64_t *counter, uint64_t before, uint32_t ip, const char *what)
{
	struct table_rule r;

	RUN_UNTIL(*counter == before + 1 || C.learn_rx > 0 || C.sync_rx > 0);
	cr_assert_eq(*counter, before + 1, "%s: not counted", what);
	cr_assert_eq(C.learn_installed, 0, "%s: installed", what);
	cr_assert(!table_lookup(T, 100, ip, &r), "%s: the rule is in the cache", what);
}

Test(learner_sync_auth, a_learn_with_this_hosts_key_and_name_is_installed)
{
	start(&P);
	send_learn_as(&G[0], HOST, HOST, clock_real_ns(), IP(1), 3);
	RUN_UNTIL(C.learn_rx == 1);
	cr_assert_eq(C.learn_installed, 1);
	cr_assert_eq(C.auth_failed, 0);
	expect_rule(100, IP(1), 3, VTEP1);
}

Test(learner_sync_auth, a_learn_macd_with_another_hosts_key_is_dropped)
{
	start(&P);
	/* host2's key, naming host1: a stolen host key forging to another host. */
	send_learn_as(&G[0], HOST, "host2", clock_real_ns(), IP(1), 3);
	expect_dropped(&C.auth_failed, 0, IP(1), "host2's key, host1's name");
	/* host2's key and name: valid for host2, not here. */
	send_learn_as(&G[0], "host2", "host2", clock_real_ns(), IP(1), 3);
	expect_dropped(&C.auth_failed, 1, IP(1), "host2's key and name");
	/* No MAC at all. */
	send_learn_as(&G[0], HOST, NULL, clock_real_ns(), IP(1), 3);
	expect_dropped(&C.auth_failed, 2, IP(1), "no MAC");
	cr_assert_eq(C.learn_rx, 0);
}

Test(learner_sync_auth, a_learn_outside_learn_window_is_dropped_as_replayed)
{
	uint64_t now = clock_real_ns();

	start(&P);
	send_learn_as(&G[0], HOST, HOST, now - 2 * WINDOW_NS, IP(1), 3);
	expect_dropped(&C.learn_replayed, 0, IP(1), "a LEARN from two windows ago");
	send_learn_as(&G[0], HOST, HOST, now + 2 * WINDOW_NS, IP(1), 3);
	expect_dropped(&C.learn_replayed, 1, IP(1), "a LEARN from two windows ahead");
	cr_assert_eq(C.auth_failed, 0);
}

Test(learner_sync_auth, a_learn_with_a_truncated_mac_is_dropped)
{
	start(&P);
	build_learn_as(100, HOST, HOST, clock_real_ns(), IP(1), 3);
	/* A valid LEARN, its MAC's last byte, then all of it, cut off. */
	send_from(&G[0], dgram, dgram_len - 1);
	expect_dropped(&C.auth_failed, 0, IP(1), "a MAC a byte short");
	send_from(&G[0], dgram, dgram_len - AUTH_MAC_SIZE);
	RUN_UNTIL(C.auth_failed + C.dgram_malformed == 2);
	cr_assert_eq(C.learn_rx, 0, "a LEARN without its MAC was taken");
	cr_assert_eq(C.learn_installed, 0);
}

Test(learner_sync_auth, an_answer_to_no_request_in_flight_is_dropped_and_ids_are_random)
{
	struct sync_hdr h = { .flags = SYNC_H_MAC, .key_id = secret.id };
	struct params p = P;
	struct auth_mackey mk;
	struct sync_req r;
	uint32_t ids[8];
	bool counted = true;

	/* One VPC a request: eight VPCs learned, eight requests, eight ids. */
	p.batch = 1;
	start(&p);
	for (uint32_t i = 0; i < 8; i++) {
		build_learn_as(100 + i, HOST, HOST, clock_real_ns(), IP(1), 3);
		send_from(&G[0], dgram, dgram_len);
	}
	RUN_UNTIL(C.learn_installed == 8);
	for (uint32_t i = 0; i < 8; i++) {
		r = expect_req(&G[0]);
		ids[i] = r.id;
		if (i > 0 && ids[i] != ids[i - 1] + 1 && ids[i] != ids[i - 1] - 1)
			counted = false;
	}
	/* Ids nobody can guess: not one after the other, as a counter gives them. */
	cr_assert(!counted, "request ids %u, %u, %u... follow each other", ids[0], ids[1],
	    ids[2]);
	/* A well-MACed answer, but to an id no request in flight has. */
	h.ts_ns = clock_real_ns();
	sync_hdr_set_name(&h, HOST);
	sync_build_begin(&B, dgram, sizeof(dgram), SYNC_RESP, ids[7] ^ 0x5a5a5a5au, &h);
	cr_assert_eq(sync_build_section(&B, 100, GEN, SYNC_OK, 3, 9), 0);
	resp_set(IP(2), 9, VTEP2);
	sync_build_section_end(&B, false, 0, 0);
	dgram_len = sync_build_finish(&B);
	auth_mackey_set(&mk, host_keys.k[0].key);
	cr_assert_eq(auth_seal(mac_ctx, &mk, dgram, dgram_len), 0);
	send_from(&G[0], dgram, dgram_len);
	RUN_UNTIL(C.sync_stale == 1);
	cr_assert_eq(C.sync_rx, 0);
	cr_assert_eq(C.rules_updated, 0);
	cr_assert(!table_lookup(T, 100, IP(2), &(struct table_rule){ 0 }));
}
