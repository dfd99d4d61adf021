/*
 * syncd_test: the gateway's sync server (procs/syncd: serve, park, admit) answering over
 * loopback UDP from a gateway table that the test writes as the rule-store would.
 * Changes come in pages that end with MORE and a cursor, resume right after it, and
 * hold every change once, in (version, ip) order, deletes as DEL entries; each VNI of a
 * request gets its own status; a request with nothing new is parked until its VPC
 * advances or its (capped) wait runs out, or told to RETRY at once when the park is
 * full; answers that find every send buffer in flight wait for one, in order, and none
 * is lost; the park expires by deadline; sources outside the allow networks, over their
 * rate (a burst of any size) or sending garbage are dropped and counted; LEARNs reach
 * the source VTEP's learner; and every counter agrees with what the clients received
 * (checked at the end of each test).
 *
 * No timing is asserted: each wait is bounded by HANG_NS, so a test that gets nowhere
 * fails instead of hanging. Addresses: syncd on 127.0.11.1, clients on 127.11.1.0/24
 * (allowed), 127.11.2.0/24 (not), ephemeral ports everywhere.
 */
#include "procs/syncd/admit.c"
#include "procs/syncd/park.c"
#include "procs/syncd/serve.c"

#include "common/addr.h"
#include "common/clock.h"
#include "common/loop.h"
#include "common/sync.h"
#include "common/udp.h"
#include "shm/seg.h"
#include "shm/table.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MS		(1000ull * 1000)
#define HANG_NS		(20000 * MS)	/* longer than any wait a passing test makes */
#define SERVER_IP	"127.0.11.1"
#define CLIENT_NET	"127.11.1.0"	/* /24, the allow network */
#define CLIENTS_MAX	4
#define CLIENT_DGRAM	2048		/* more than any page the tests ask for */
#define RX_MAX		256		/* datagrams a client keeps */
#define ENT_MAX		8192
#define MODEL_IPS	1024
#define GEN		0x5eed0001u

#include "tests/unit/looptest.h"
#include "tests/unit/ip4.h"

static char node[SEG_PART_MAX + 1];
static char segname[SEG_NAME_MAX];

static void
setup(void)
{
	snprintf(node, sizeof(node), "sdt%d", (int)getpid());
	seg_name(segname, sizeof(segname), node, "rule-store", "table");
	/* A test that crashed skips .fini: its pid, reused, must not find its table. */
	seg_unlink_name(segname);
}

static void
teardown(void)
{
	seg_unlink_name(segname);
}

/* No Criterion .timeout (see conn_test.c): RUN_UNTIL bounds every wait. */
TestSuite(syncd, .init = setup, .fini = teardown);

/* --- addresses (the loop: looptest.h) ------------------------------------------- */

/* --- the table: written here as the rule-store does, read by syncd --------------- */

static struct table *W, *R;

static void
table_open(uint32_t window)
{
	struct table_params p;
	char err[512];

	table_params_default(&p, TABLE_GATEWAY);
	p.capacity = 8192;
	p.max_vnis = 64;
	p.version_window = window;
	p.max_readers = 4;
	cr_assert_eq(table_create(&W, node, "rule-store", &p, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(table_attach(&R, segname, err, sizeof(err)), 0, "%s", err);
}

/*
 * One VNI's rules as the test wrote them, IPs base + 0 .. MODEL_IPS - 1: the entries a
 * change walk must return, in their latest state (op 0: never written).
 */
struct model {
	uint32_t vni, gen, base;
	uint64_t version;
	struct sync_entry e[MODEL_IPS];
};

static void
model_init(struct model *m, uint32_t vni, uint32_t gen, const char *base)
{
	memset(m, 0, sizeof(*m));
	m->vni = vni;
	m->gen = gen;
	m->base = ip4(base);
}

/* Values derived from the IP and the version, so a mix-up shows; some own MACs. */
static void
model_put(struct model *m, uint32_t i, uint64_t version)
{
	struct table_rule r = { .vni = m->vni, .ip = m->base + i, .version = version };
	struct sync_entry *e = &m->e[i];

	cr_assert_lt(i, MODEL_IPS);
	r.vtep = ip4("192.168.0.1") + (uint32_t)((i + version) % 6);
	if ((i + version) % 3 == 0) {
		uint8_t mac[6] = { 0x0a, 0x11, (uint8_t)(r.ip >> 8), (uint8_t)r.ip,
		    (uint8_t)(version >> 8), (uint8_t)version };

		memcpy(r.mac, mac, 6);
	} else {
		addr_default_mac(r.ip, r.mac);
	}
	cr_assert_eq(table_set(W, &r), TABLE_APPLIED, "set %u/%u v%llu", m->vni, r.ip,
	    (unsigned long long)version);
	*e = (struct sync_entry){ .ip = r.ip, .vtep = r.vtep, .op = SYNC_SET,
	    .version = version };
	memcpy(e->mac, r.mac, 6);
}

static void
model_del(struct model *m, uint32_t i, uint64_t version)
{
	cr_assert_eq(table_delete(W, m->vni, m->base + i, version), TABLE_APPLIED);
	m->e[i] = (struct sync_entry){ .ip = m->base + i, .op = SYNC_DEL, .version = version };
}

/* The VPC reached version: the rule-store publishes it after setting its rules. */
static void
model_advance(struct model *m, uint64_t version)
{
	cr_assert_eq(table_vni_advance(W, m->vni, m->gen, version), TABLE_APPLIED);
	m->version = version;
}

static int
entry_cmp(const void *a, const void *b)
{
	const struct sync_entry *x = a, *y = b;

	if (x->version != y->version)
		return x->version < y->version ? -1 : 1;
	return x->ip < y->ip ? -1 : x->ip > y->ip;
}

/* What "the changes after since" must be: from 0 the live rules alone. */
static uint32_t
model_expect(const struct model *m, uint64_t since, struct sync_entry *out)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < MODEL_IPS; i++) {
		const struct sync_entry *e = &m->e[i];

		if (e->op != 0 && e->version > since && (since > 0 || e->op == SYNC_SET))
			out[n++] = *e;
	}
	qsort(out, n, sizeof(*out), entry_cmp);
	return n;
}

static void
assert_entries(const struct sync_entry *got, uint32_t ngot, const struct sync_entry *want,
    uint32_t nwant)
{
	for (uint32_t i = 1; i < ngot; i++)
		cr_assert_lt(entry_cmp(&got[i - 1], &got[i]), 0, "entry %u is not after entry "
		    "%u in (version, ip) order: a rule twice or out of order", i, i - 1);
	cr_assert_eq(ngot, nwant, "%u entries, want %u", ngot, nwant);
	for (uint32_t i = 0; i < ngot; i++) {
		const struct sync_entry *g = &got[i], *w = &want[i];

		cr_assert(g->ip == w->ip && g->version == w->version && g->op == w->op &&
		    g->vtep == w->vtep && memcmp(g->mac, w->mac, 6) == 0,
		    "entry %u: ip %08x v%llu op %u vtep %08x, want ip %08x v%llu op %u vtep %08x",
		    i, g->ip, (unsigned long long)g->version, g->op, g->vtep, w->ip,
		    (unsigned long long)w->version, w->op, w->vtep);
	}
}

/* --- clients: learners' sockets, each keeping what syncd sends it ----------------- */

/* Everything every client got from syncd, to hold the counters against. */
static struct {
	uint64_t resp, bytes, ok, relearn, retry, unknown, entries, more, learns, bad;
} got;

static struct sync_resp scratch_resp;
static struct sync_entry scratch_ent[ENT_MAX];

static void
tally(const uint8_t *data, size_t len)
{
	const struct sync_resp *r = &scratch_resp;

	if (sync_resp_decode(data, len, &scratch_resp, scratch_ent, ENT_MAX) < 0) {
		got.bad++;
		return;
	}
	if (r->type == SYNC_LEARN) {
		got.learns++;
		return;
	}
	got.resp++;
	got.bytes += len;
	for (uint8_t i = 0; i < r->count; i++) {
		const struct sync_section *sec = &r->sections[i];

		got.ok += sec->status == SYNC_OK;
		got.relearn += sec->status == SYNC_RELEARN;
		got.retry += sec->status == SYNC_RETRY;
		got.unknown += sec->status == SYNC_UNKNOWN;
		got.entries += sec->count;
		got.more += (sec->flags & SYNC_F_MORE) != 0;
	}
}

struct client {
	struct udp *u;
	struct sockaddr_in addr;	/* where it is bound */
	uint32_t n, taken;		/* datagrams from syncd; those the test looked at */
	uint32_t foreign;		/* datagrams from anyone else */
	size_t len[RX_MAX];
	uint8_t data[RX_MAX][CLIENT_DGRAM];
};

static struct client CL[CLIENTS_MAX];
static struct sockaddr_in server;
static uint32_t next_id = 1;

static void
client_rx(struct udp *u, const uint8_t *data, size_t len, const struct sockaddr_in *from,
    void *arg)
{
	struct client *c = arg;

	(void)u;
	if (from->sin_addr.s_addr != server.sin_addr.s_addr ||
	    from->sin_port != server.sin_port) {
		c->foreign++;
		return;
	}
	tally(data, len);
	if (c->n < RX_MAX) {
		memcpy(c->data[c->n], data, len);
		c->len[c->n] = len;
	}
	c->n++;
}

/* Client k, bound to ip (a 127.11.x.y) on an ephemeral port. */
static struct client *
client_open(int k, const char *ip)
{
	struct udp_params p = { .nrecv = 16, .nsend = 64, .dgram_max = CLIENT_DGRAM };
	struct client *c = &CL[k];
	struct sockaddr_in sin = sin_of(ip, 0);
	char err[256];

	memset(c, 0, sizeof(*c));
	c->u = udp_new(L, &sin, &p, client_rx, c, err, sizeof(err));
	cr_assert_not_null(c->u, "%s", err);
	c->addr = sin;
	c->addr.sin_port = htons((uint16_t)udp_port(c->u));
	return c;
}

static void
send_raw(struct client *c, const void *data, size_t len)
{
	uint8_t *b = udp_buf(c->u);

	cr_assert_not_null(b);
	memcpy(b, data, len);
	udp_send(c->u, b, len, &server);
}

static struct sync_item
item(uint32_t vni, uint32_t gen, uint64_t version)
{
	return (struct sync_item){ .vni = vni, .gen = gen, .version = version };
}

/* Send a SYNC_REQ for items[0..n); returns its id. */
static uint32_t
ask(struct client *c, uint16_t wait_ms, const struct sync_item *items, uint8_t n)
{
	struct sync_req r = { .id = next_id++, .wait_ms = wait_ms, .count = n };
	uint8_t buf[128 + 28 * SYNC_VNIS_MAX];
	int len;

	memcpy(r.items, items, n * sizeof(*items));
	len = sync_req_encode(&r, buf, sizeof(buf));
	cr_assert_gt(len, 0, "encode: %d", len);
	send_raw(c, buf, (size_t)len);
	return r.id;
}

/* The client's next datagram from syncd (waiting for it), decoded; returns its length. */
static size_t
take(struct client *c, struct sync_resp *r, struct sync_entry *e)
{
	uint32_t i;

	RUN_UNTIL(c->n > c->taken);
	cr_assert_lt(c->taken, RX_MAX, "more datagrams than a client keeps");
	i = c->taken++;
	cr_assert_eq(sync_resp_decode(c->data[i], c->len[i], r, e, ENT_MAX), 0,
	    "datagram %u from syncd does not decode", i);
	return c->len[i];
}

static void
assert_section(const struct sync_section *s, uint32_t vni, uint32_t gen, uint8_t status,
    uint64_t since, uint64_t upto)
{
	cr_assert_eq(s->vni, vni);
	cr_assert_eq(s->status, status, "vni %u: status %u, want %u", vni, s->status, status);
	cr_assert_eq(s->gen, gen, "vni %u: gen %08x, want %08x", vni, s->gen, gen);
	cr_assert_eq(s->since, since, "vni %u: since %llu, want %llu", vni,
	    (unsigned long long)s->since, (unsigned long long)since);
	cr_assert_eq(s->upto, upto, "vni %u: upto %llu, want %llu", vni,
	    (unsigned long long)s->upto, (unsigned long long)upto);
}

/* An OK section with nothing new: where the asker is, no entry, no MORE. */
static void
assert_nothing_new(const struct sync_section *s, uint32_t vni, uint32_t gen, uint64_t version)
{
	assert_section(s, vni, gen, SYNC_OK, version, version);
	cr_assert_eq(s->count, 0);
	cr_assert_eq(s->flags, 0);
}

/* --- syncd ---------------------------------------------------------------------- */

static struct admit A;
static struct syncd_counters C;
static struct serve *S;
static struct serve_params P;
static struct loop_timer ticker;

static struct serve_params
params(void)
{
	return (struct serve_params){ .listen = sin_of(SERVER_IP, 0), .learner_port = 9,
	    .page_bytes = 1400, .max_wait_ns = 10000 * MS, .max_parked = 64,
	    .recv_depth = 16, .send_buffers = 64 };
}

/* Admit CLIENT_NET/24 at rate requests a second a source, burst at once. */
static void
allow(uint32_t rate, uint32_t burst)
{
	struct addr_cidr net = { .net = ip4(CLIENT_NET), .len = 24 };

	admit_init(&A, &net, 1, rate, burst);
}

static void
serve_start(const struct serve_params *p)
{
	char err[256];

	P = *p;
	memset(&C, 0, sizeof(C));
	S = serve_new(L, p, &A, &C, err, sizeof(err));
	cr_assert_not_null(S, "%s", err);
	server = sin_of(SERVER_IP, serve_port(S));
}

/* A loop, a table (version_window), one client, and syncd serving from the table. */
static struct client *
start(const struct serve_params *p, uint32_t window)
{
	struct client *c;

	new_loop();
	table_open(window);
	c = client_open(0, "127.11.1.1");
	allow(1000000, 1000000);
	serve_start(p);
	serve_set_table(S, R);
	return c;
}

static void
tick_fire(struct loop_timer *t)
{
	serve_tick(S);
	loop_timer_set(L, t, 10 * MS);
}

/* Call serve_tick every 10 ms, as syncd's main loop does. */
static void
start_ticking(void)
{
	ticker = (struct loop_timer){ .fn = tick_fire };
	loop_timer_set(L, &ticker, 10 * MS);
}

static void
advance_event(uint32_t vni, uint32_t gen, uint64_t version)
{
	struct ev_vni_advance ev = { .vni = vni, .gen = gen, .version = version };

	serve_advance(S, &ev);
}

static uint64_t want_nobuf;	/* answers a test makes syncd drop */

/*
 * Every answer and LEARN syncd counted has arrived whole and is what its counters say.
 * Loopback loses nothing at these rates, so the wait for the last ones is bounded.
 */
static void
check_counters(void)
{
	RUN_UNTIL(park_due(S->park) == 0);
	RUN_UNTIL(got.resp + got.bad >= C.resp_tx && got.learns >= C.learn_tx);
	cr_assert_eq(got.bad, 0, "a datagram from syncd failed to decode");
	cr_assert_eq(C.resp_tx, got.resp);
	cr_assert_eq(C.resp_bytes, got.bytes);
	cr_assert_eq(C.sections_ok, got.ok);
	cr_assert_eq(C.sections_relearn, got.relearn);
	cr_assert_eq(C.sections_retry, got.retry);
	cr_assert_eq(C.sections_unknown, got.unknown);
	cr_assert_eq(C.entries_tx, got.entries);
	cr_assert_eq(C.pages_more, got.more);
	cr_assert_eq(C.learn_tx, got.learns);
	cr_assert_eq(C.parked, park_waiting(S->park));
	cr_assert_eq(C.tx_backlog, 0);
	cr_assert_eq(C.tx_nobuf, want_nobuf);
	cr_assert_eq(udp_counters(S->udp)->tx_errors, 0);
	for (int k = 0; k < CLIENTS_MAX; k++) {
		if (CL[k].u == NULL)
			continue;
		cr_assert_eq(CL[k].foreign, 0);
		cr_assert_eq(udp_counters(CL[k].u)->rx_truncated, 0);
	}
}

/* Check the counters, then free everything (the ASan build checks the frees). */
static void
finish(void)
{
	check_counters();
	loop_timer_cancel(L, &ticker);
	serve_free(S);
	for (int k = 0; k < CLIENTS_MAX; k++)
		if (CL[k].u != NULL)
			udp_free(CL[k].u);
	run_for(50);	/* the cancels complete, and the sockets are freed */
	loop_free(L);
	table_close(R);
	table_close(W);
}

/*
 * Send it and then each cursor back (with the same since) until a section comes without
 * MORE, as a learner does. Each page must be one OK section from since to the VPC's
 * version, no larger than a page, ending with MORE at its last entry or not at all. The
 * entries go to out; returns how many, and the datagrams in *pages.
 */
static uint32_t
fetch_pages(struct client *c, const struct model *m, struct sync_item it,
    struct sync_entry *out, uint32_t *pages)
{
	static struct sync_resp r;
	static struct sync_entry e[ENT_MAX];
	uint32_t n = 0;

	for (*pages = 1;; (*pages)++) {
		const struct sync_section *s = &r.sections[0];
		const struct sync_entry *last;
		uint32_t id;
		size_t len;

		cr_assert_lt(*pages, 1000, "the pages never end");
		id = ask(c, 0, &it, 1);
		len = take(c, &r, e);
		cr_assert_leq(len, P.page_bytes);
		cr_assert_eq(r.type, SYNC_RESP);
		cr_assert_eq(r.id, id);
		cr_assert_eq(r.count, 1);
		assert_section(s, m->vni, m->gen, SYNC_OK, it.version, m->version);
		cr_assert_leq(n + s->count, ENT_MAX);
		memcpy(out + n, e + s->first, s->count * sizeof(*e));
		n += s->count;
		if (!(s->flags & SYNC_F_MORE))
			return n;
		cr_assert_gt(s->count, 0, "page %u: MORE without an entry", *pages);
		last = &e[s->first + s->count - 1];
		cr_assert(s->cursor_version == last->version && s->cursor_ip == last->ip,
		    "page %u: the cursor is not its last entry", *pages);
		it.cursor_version = s->cursor_version;
		it.cursor_ip = s->cursor_ip;
	}
}

/* Every change of m's VNI after since, page by page from the first. */
static uint32_t
fetch_all(struct client *c, const struct model *m, uint64_t since, struct sync_entry *out,
    uint32_t *pages)
{
	return fetch_pages(c, m, item(m->vni, m->gen, since), out, pages);
}

/* --- paging --------------------------------------------------------------------- */

static struct model m1, m2;
static struct sync_entry got_e[ENT_MAX], want_e[ENT_MAX];

Test(syncd, a_version_larger_than_a_page_comes_in_pages_each_rule_once_in_order)
{
	struct serve_params p = params();
	struct client *c;
	uint32_t n, pages;

	p.page_bytes = 512;
	c = start(&p, 16);
	model_init(&m1, 100, GEN, "10.1.0.1");
	for (uint32_t i = 0; i < 400; i++)
		model_put(&m1, i, 1);
	model_advance(&m1, 1);

	n = fetch_all(c, &m1, 0, got_e, &pages);
	cr_log_info("400 rules of one version in %u pages of 512 bytes", pages);
	cr_assert_geq(pages, 3, "400 rules fit %u pages of 512 bytes?", pages);
	assert_entries(got_e, n, want_e, model_expect(&m1, 0, want_e));
	cr_assert_eq(C.pages_more, pages - 1, "MORE on every page but the last");
	cr_assert_eq(C.entries_tx, 400);
	finish();
}

Test(syncd, changes_of_several_versions_page_in_order_with_deletes_as_del_entries)
{
	struct serve_params p = params();
	struct client *c;
	uint32_t n, pages, dels = 0;

	p.page_bytes = 512;
	c = start(&p, 16);
	model_init(&m1, 101, GEN, "10.2.0.1");
	for (uint32_t i = 0; i < 200; i++)
		model_put(&m1, i, 1);
	model_advance(&m1, 1);
	for (uint32_t i = 200; i < 320; i++)		/* new rules */
		model_put(&m1, i, 2);
	model_advance(&m1, 2);
	for (uint32_t i = 0; i < 40; i++)		/* deletes of version 1's */
		model_del(&m1, i, 3);
	model_advance(&m1, 3);
	for (uint32_t i = 100; i < 160; i++)		/* moves (a new VTEP or MAC) */
		model_put(&m1, i, 4);
	model_advance(&m1, 4);
	for (uint32_t i = 200; i < 220; i++)		/* deletes of version 2's */
		model_del(&m1, i, 5);
	model_advance(&m1, 5);
	for (uint32_t i = 0; i < 10; i++)		/* deleted ones back */
		model_put(&m1, i, 6);
	model_advance(&m1, 6);

	/* From 1: every change, each IP once in its latest state, deletes as DEL. */
	n = fetch_all(c, &m1, 1, got_e, &pages);
	cr_log_info("%u changes of 5 versions in %u pages", n, pages);
	cr_assert_geq(pages, 3);
	for (uint32_t i = 0; i < n; i++)
		dels += got_e[i].op == SYNC_DEL;
	cr_assert_eq(dels, 30 + 20, "the deletes of versions 3 and 5 not undone at 6");
	assert_entries(got_e, n, want_e, model_expect(&m1, 1, want_e));
	/* Paging from a version in the middle of the history works the same. */
	n = fetch_all(c, &m1, 3, got_e, &pages);
	assert_entries(got_e, n, want_e, model_expect(&m1, 3, want_e));
	/*
	 * From 0 (nothing held): the live rules; pages after the first may add deletes
	 * newer than their cursor (shm/table.h), never of a live rule.
	 */
	n = fetch_all(c, &m1, 0, got_e, &pages);
	{
		uint32_t nwant = model_expect(&m1, 0, want_e), k = 0;

		for (uint32_t i = 0; i < n; i++) {
			if (got_e[i].op != SYNC_DEL) {
				got_e[k++] = got_e[i];
				continue;
			}
			for (uint32_t j = 0; j < nwant; j++)
				cr_assert_neq(want_e[j].ip, got_e[i].ip, "a DEL of a live rule");
		}
		assert_entries(got_e, k, want_e, nwant);
		cr_assert_eq(k, 320 - 40 - 20 + 10);
	}
	finish();
}

Test(syncd, a_page_resumes_after_its_cursor_when_the_cursors_rule_changed_meanwhile)
{
	static struct sync_resp r;
	static struct sync_entry e[ENT_MAX];
	struct serve_params p = params();
	const struct sync_section *s = &r.sections[0];
	struct sync_item it;
	struct client *c;
	uint32_t n, nwant = 0, pages, k;

	p.page_bytes = 512;
	c = start(&p, 16);
	model_init(&m1, 105, GEN, "10.2.8.1");
	for (uint32_t i = 500; i < 510; i++)
		model_put(&m1, i, 1);
	model_advance(&m1, 1);
	for (uint32_t i = 0; i < 400; i++)
		model_put(&m1, i, 2);
	model_advance(&m1, 2);
	it = item(105, GEN, 1);
	ask(c, 0, &it, 1);
	take(c, &r, e);
	cr_assert(s->flags & SYNC_F_MORE);
	cr_assert_eq(s->cursor_version, 2);
	k = s->cursor_ip - m1.base;
	cr_assert(k > 0 && k < 399);

	/* The cursor's own rule moves on, and one the asker has is deleted. */
	model_put(&m1, k, 3);
	model_del(&m1, 0, 3);
	model_advance(&m1, 3);
	it.cursor_version = s->cursor_version;
	it.cursor_ip = s->cursor_ip;
	n = fetch_pages(c, &m1, it, got_e, &pages);
	/* The rest of version 2 after the cursor, then version 3: nothing twice, none lost. */
	for (uint32_t i = 0, m = model_expect(&m1, 1, want_e); i < m; i++)
		if (want_e[i].version > it.cursor_version ||
		    (want_e[i].version == it.cursor_version && want_e[i].ip > it.cursor_ip))
			want_e[nwant++] = want_e[i];
	assert_entries(got_e, n, want_e, nwant);
	cr_assert_eq(got_e[n - 2].op, SYNC_DEL, "the delete at 3 comes before the move (ip)");
	cr_assert_eq(got_e[n - 1].ip, m1.base + k);
	finish();
}

Test(syncd, a_full_page_leaves_the_later_vnis_out_to_be_asked_again)
{
	static struct sync_resp r;
	static struct sync_entry e[ENT_MAX];
	struct serve_params p = params();
	struct sync_item items[3];
	struct client *c;
	uint32_t id;

	p.page_bytes = 512;
	c = start(&p, 16);
	model_init(&m1, 110, GEN, "10.3.0.1");
	for (uint32_t i = 0; i < 400; i++)
		model_put(&m1, i, 1);
	model_advance(&m1, 1);
	items[0] = item(110, GEN, 0);
	items[1] = item(111, GEN, 0);	/* unknown: a 32-byte answer */
	items[2] = item(112, GEN, 0);
	id = ask(c, 0, items, 3);
	take(c, &r, e);
	cr_assert_eq(r.id, id);
	cr_assert_eq(r.count, 1, "the page was full after VNI 110: %u sections", r.count);
	cr_assert(r.sections[0].flags & SYNC_F_MORE);
	/* The VNIs left out are answered when asked again. */
	id = ask(c, 0, items + 1, 2);
	take(c, &r, e);
	cr_assert_eq(r.id, id);
	cr_assert_eq(r.count, 2);
	assert_section(&r.sections[0], 111, GEN, SYNC_UNKNOWN, 0, 0);
	assert_section(&r.sections[1], 112, GEN, SYNC_UNKNOWN, 0, 0);
	finish();
}

/* --- statuses ------------------------------------------------------------------- */

/* VNI vni at GEN through versions 1, 3, ..., 29 (step 2), one new rule each. */
static void
odd_history(struct model *m, uint32_t vni)
{
	char base[16];

	snprintf(base, sizeof(base), "10.4.%u.1", vni & 0xff);
	model_init(m, vni, GEN, base);
	for (uint64_t v = 1; v <= 29; v += 2) {
		model_put(m, (uint32_t)v, v);
		model_advance(m, v);
	}
}


/* A section that is not OK: the status alone, at the asker's version. */
static void
assert_status(const struct sync_section *s, uint32_t vni, uint32_t gen, uint8_t status,
    uint64_t since)
{
	cr_assert_eq(s->vni, vni);
	cr_assert_eq(s->status, status, "vni %u: status %u, want %u", vni, s->status, status);
	cr_assert_eq(s->gen, gen, "vni %u: gen %08x, want %08x", vni, s->gen, gen);
	cr_assert_eq(s->since, since);
	cr_assert_eq(s->flags, 0);
	cr_assert_eq(s->count, 0);
}

Test(syncd, each_vni_of_a_request_gets_its_own_status)
{
	static struct model m[9];
	static struct sync_resp r;
	static struct sync_entry e[ENT_MAX];
	struct serve_params p = params();
	struct table_vni_info vi;
	struct sync_item items[9];
	struct client *c;
	uint32_t id, n;
	uint64_t old;

	c = start(&p, 8);
	for (uint32_t k = 0; k < 9; k++)
		odd_history(&m[k], 201 + k);
	cr_assert_eq(table_vni_get(R, 202, &vi), 0);
	old = vi.oldest;
	cr_assert_gt(old, 1, "versions 1..29 fill a window of 8");

	items[0] = item(201, GEN ^ 1, 29);	/* another generation */
	items[1] = item(202, GEN, old - 2);	/* was a version, older than the window */
	items[2] = item(203, GEN, 28);		/* never a version (step 2) */
	items[3] = item(204, GEN, 31);		/* ahead of this gateway */
	items[4] = item(999, GEN, 5);		/* no such VPC here */
	items[5] = item(206, 77, 0);		/* holds nothing: any generation */
	items[6] = item(207, GEN, 25);
	items[7] = item(208, GEN, old);		/* the oldest still valid */
	items[8] = item(209, GEN, 29);		/* up to date */
	id = ask(c, 0, items, 9);
	take(c, &r, e);
	cr_assert_eq(r.id, id);
	cr_assert_eq(r.count, 9, "one section an item");

	assert_status(&r.sections[0], 201, GEN, SYNC_RELEARN, 29);
	assert_status(&r.sections[1], 202, GEN, SYNC_RELEARN, old - 2);
	assert_status(&r.sections[2], 203, GEN, SYNC_RELEARN, 28);
	assert_status(&r.sections[3], 204, GEN, SYNC_RETRY, 31);
	assert_status(&r.sections[4], 999, GEN, SYNC_UNKNOWN, 5);
	/* The section names the VPC's generation, which the asker at 0 did not know. */
	assert_section(&r.sections[5], 206, GEN, SYNC_OK, 0, 29);
	n = model_expect(&m[5], 0, want_e);
	cr_assert_eq(n, 15);
	assert_entries(e + r.sections[5].first, r.sections[5].count, want_e, n);
	assert_section(&r.sections[6], 207, GEN, SYNC_OK, 25, 29);
	assert_entries(e + r.sections[6].first, r.sections[6].count, want_e,
	    model_expect(&m[6], 25, want_e));
	cr_assert_eq(r.sections[6].count, 2, "versions 27 and 29");
	assert_section(&r.sections[7], 208, GEN, SYNC_OK, old, 29);
	assert_entries(e + r.sections[7].first, r.sections[7].count, want_e,
	    model_expect(&m[7], old, want_e));
	assert_nothing_new(&r.sections[8], 209, GEN, 29);

	cr_assert_eq(C.sections_relearn, 3);
	cr_assert_eq(C.sections_retry, 1);
	cr_assert_eq(C.sections_unknown, 1);
	cr_assert_eq(C.sections_ok, 4);
	finish();
}

/* --- long poll ------------------------------------------------------------------ */

/* VNI vni at GEN, version 1 with a few rules. */
static void
at_version_1(struct model *m, uint32_t vni, const char *base)
{
	model_init(m, vni, GEN, base);
	for (uint32_t i = 0; i < 5; i++)
		model_put(m, i, 1);
	model_advance(m, 1);
}

Test(syncd, a_vpc_the_gateway_does_not_hold_whole_is_answered_retry_even_from_zero)
{
	static struct model m[2];
	static struct sync_resp r;
	static struct sync_entry e[ENT_MAX];
	struct serve_params p = params();
	struct sync_item items[4];
	struct client *c;
	uint32_t id;

	c = start(&p, 8);
	at_version_1(&m[0], 301, "10.3.0.0");
	at_version_1(&m[1], 302, "10.4.0.0");
	/* The rule-store's table refused a rule of 301: it is not held whole. */
	cr_assert_eq(table_vni_set_incomplete(W, 301, true), 0);
	items[0] = item(301, GEN, 1);
	items[1] = item(302, GEN, 1);		/* the other VPC is served as ever */
	items[2] = item(999, GEN, 1);		/* unknown, no VPC without a slot: UNKNOWN */
	items[3] = item(301, GEN, 0);		/* a full dump would lack rules too */
	id = ask(c, 0, items, 3);
	take(c, &r, e);
	cr_assert_eq(r.id, id);
	assert_status(&r.sections[0], 301, GEN, SYNC_RETRY, 1);
	assert_nothing_new(&r.sections[1], 302, GEN, 1);
	assert_status(&r.sections[2], 999, GEN, SYNC_UNKNOWN, 1);
	id = ask(c, 0, &items[3], 1);
	take(c, &r, e);
	cr_assert_eq(r.id, id);
	assert_status(&r.sections[0], 301, GEN, SYNC_RETRY, 0);
	cr_assert_eq(C.sections_incomplete, 2);

	/* Some VPC got no slot at all: one this gateway does not know may be it. */
	table_set_homeless(W, 1);
	id = ask(c, 0, &items[2], 1);
	take(c, &r, e);
	assert_status(&r.sections[0], 999, GEN, SYNC_RETRY, 1);
	cr_assert_eq(C.sections_incomplete, 3);
	finish();
}

Test(syncd, a_request_with_news_or_without_wait_is_answered_at_once)
{
	static struct sync_resp r;
	static struct sync_entry e[ENT_MAX];
	struct serve_params p = params();
	struct sync_item items[2];
	struct client *c;

	c = start(&p, 16);
	at_version_1(&m1, 300, "10.5.0.1");
	model_put(&m1, 7, 2);
	model_advance(&m1, 2);

	items[0] = item(300, GEN, 1);			/* version 2 is news */
	ask(c, 5000, items, 1);
	take(c, &r, e);
	assert_section(&r.sections[0], 300, GEN, SYNC_OK, 1, 2);
	cr_assert_eq(r.sections[0].count, 1);
	items[0] = item(300, GEN, 2);			/* nothing new, but no wait */
	ask(c, 0, items, 1);
	take(c, &r, e);
	assert_nothing_new(&r.sections[0], 300, GEN, 2);
	items[1] = item(301, GEN, 1);			/* unknown is news too */
	ask(c, 5000, items, 2);
	take(c, &r, e);
	assert_nothing_new(&r.sections[0], 300, GEN, 2);
	assert_status(&r.sections[1], 301, GEN, SYNC_UNKNOWN, 1);
	items[0] = item(300, GEN, 3);			/* so is a retry, or a relearn */
	ask(c, 5000, items, 1);
	take(c, &r, e);
	assert_status(&r.sections[0], 300, GEN, SYNC_RETRY, 3);
	items[0] = item(300, GEN ^ 1, 2);
	ask(c, 5000, items, 1);
	take(c, &r, e);
	assert_status(&r.sections[0], 300, GEN, SYNC_RELEARN, 2);

	cr_assert_eq(C.req_rx, 5);
	cr_assert_eq(C.resp_tx, 5);
	cr_assert_eq(C.parked, 0);
	cr_assert_eq(park_waiting(S->park), 0, "nothing was parked");
	finish();
}

Test(syncd, a_request_with_nothing_new_is_parked_until_its_vpc_advances)
{
	static struct sync_resp r;
	static struct sync_entry e[ENT_MAX];
	struct serve_params p = params();
	struct sync_item it;
	struct client *c;
	uint32_t id;

	c = start(&p, 16);
	at_version_1(&m1, 310, "10.6.0.1");
	it = item(310, GEN, 1);
	id = ask(c, 5000, &it, 1);
	RUN_UNTIL(C.parked == 1);
	cr_assert_eq(C.req_rx, 1);
	cr_assert_eq(C.resp_tx, 0, "answered instead of parked");
	/* An advance of another VPC leaves it parked. */
	at_version_1(&m2, 311, "10.6.1.1");
	advance_event(311, GEN, 1);
	cr_assert_eq(C.parked, 1);
	cr_assert_eq(C.resp_tx, 0);

	for (uint32_t i = 10; i < 13; i++)
		model_put(&m1, i, 2);
	model_advance(&m1, 2);
	advance_event(310, GEN, 2);
	/* Answered in the call, not at the next tick. */
	cr_assert_eq(C.park_woken, 1);
	cr_assert_eq(C.parked, 0);
	cr_assert_eq(C.resp_tx, 1);
	take(c, &r, e);
	cr_assert_eq(r.id, id);
	cr_assert_eq(r.count, 1);
	assert_section(&r.sections[0], 310, GEN, SYNC_OK, 1, 2);
	assert_entries(e + r.sections[0].first, r.sections[0].count, want_e,
	    model_expect(&m1, 1, want_e));
	cr_assert_eq(r.sections[0].count, 3);
	cr_assert_eq(C.advances_rx, 2);
	cr_assert_eq(C.park_expired, 0);
	cr_assert_eq(c->n, 1, "one answer");
	finish();
}

Test(syncd, a_parked_request_gets_empty_ok_sections_when_its_wait_runs_out)
{
	static struct sync_resp r;
	static struct sync_entry e[ENT_MAX];
	struct serve_params p = params();
	struct sync_item items[2];
	struct client *c;
	uint32_t id;

	c = start(&p, 16);
	at_version_1(&m1, 320, "10.7.0.1");
	at_version_1(&m2, 321, "10.7.1.1");
	items[0] = item(320, GEN, 1);
	items[1] = item(321, GEN, 1);
	id = ask(c, 50, items, 2);
	RUN_UNTIL(C.parked == 1);
	cr_assert_eq(C.resp_tx, 0);
	start_ticking();
	take(c, &r, e);
	cr_assert_eq(r.id, id);
	cr_assert_eq(r.count, 2);
	assert_nothing_new(&r.sections[0], 320, GEN, 1);
	assert_nothing_new(&r.sections[1], 321, GEN, 1);
	cr_assert_eq(C.park_expired, 1);
	cr_assert_eq(C.park_woken, 0);
	cr_assert_eq(C.parked, 0);
	finish();
}

Test(syncd, a_wait_longer_than_max_wait_is_cut_to_it)
{
	static struct sync_resp r;
	static struct sync_entry e[ENT_MAX];
	struct serve_params p = params();
	struct sync_item it;
	struct client *c;
	uint32_t id;

	/* 65.5 s asked, 0.1 s allowed: waiting it out would outlast HANG_NS. */
	p.max_wait_ns = 100 * MS;
	c = start(&p, 16);
	at_version_1(&m1, 330, "10.8.0.1");
	it = item(330, GEN, 1);
	id = ask(c, UINT16_MAX, &it, 1);
	RUN_UNTIL(C.parked == 1);
	start_ticking();
	take(c, &r, e);
	cr_assert_eq(r.id, id);
	assert_nothing_new(&r.sections[0], 330, GEN, 1);
	cr_assert_eq(C.park_expired, 1);
	finish();
}

Test(syncd, with_max_parked_held_a_request_is_told_to_retry_at_once)
{
	static struct sync_resp r;
	static struct sync_entry e[ENT_MAX];
	struct serve_params p = params();
	struct sync_item it, items[2];
	struct client *c;
	uint32_t id[3];
	bool seen[2] = { false, false };

	p.max_parked = 2;
	c = start(&p, 16);
	at_version_1(&m1, 340, "10.9.0.1");
	at_version_1(&m2, 341, "10.9.1.1");
	it = item(340, GEN, 1);
	id[0] = ask(c, 5000, &it, 1);
	id[1] = ask(c, 5000, &it, 1);
	RUN_UNTIL(C.parked == 2);
	id[2] = ask(c, 5000, &it, 1);
	RUN_UNTIL(C.park_full == 1);
	take(c, &r, e);
	cr_assert_eq(r.id, id[2], "the request over max_parked is the one answered");
	/* Not an empty OK, which would bring it straight back: elsewhere, or later. */
	assert_status(&r.sections[0], 340, GEN, SYNC_RETRY, 1);
	cr_assert_eq(r.sections[0].upto, 1);
	/* Every VNI of it, each at the asker's version. */
	items[0] = item(341, GEN, 1);
	items[1] = item(340, GEN, 1);
	ask(c, 5000, items, 2);
	take(c, &r, e);
	cr_assert_eq(r.count, 2);
	assert_status(&r.sections[0], 341, GEN, SYNC_RETRY, 1);
	assert_status(&r.sections[1], 340, GEN, SYNC_RETRY, 1);
	cr_assert_eq(C.park_full, 2);
	cr_assert_eq(C.sections_retry, 3);
	cr_assert_eq(C.parked, 2);

	/* The two held are still there, and leave when their VPC advances. */
	model_put(&m1, 20, 2);
	model_advance(&m1, 2);
	advance_event(340, GEN, 2);
	cr_assert_eq(C.park_woken, 2);
	cr_assert_eq(C.parked, 0);
	for (int k = 0; k < 2; k++) {
		take(c, &r, e);
		cr_assert(r.id == id[0] || r.id == id[1]);
		seen[r.id == id[1]] = true;
		assert_section(&r.sections[0], 340, GEN, SYNC_OK, 1, 2);
		cr_assert_eq(r.sections[0].count, 1);
	}
	cr_assert(seen[0] && seen[1]);
	finish();
}

/* --- send buffers ---------------------------------------------------------------- */

#define MANY		100	/* requests, against SEND_BUFS send buffers */
#define SEND_BUFS	16

/* n requests for it from c, parked: c's own send buffers come back as syncd reads them. */
static uint32_t
park_many(struct client *c, struct sync_item it, uint16_t wait_ms, uint32_t n)
{
	uint32_t id0 = next_id;

	for (uint32_t k = 0; k < n; k++) {
		ask(c, wait_ms, &it, 1);
		if (k % 32 == 31)
			RUN_UNTIL(C.parked == k + 1);
	}
	RUN_UNTIL(C.parked == n);
	return id0;
}

/* n answers to the requests id0 .. id0 + n - 1, each once, each as check says. */
static void
take_each_once(struct client *c, uint32_t id0, uint32_t n,
    void (*check)(const struct sync_resp *r))
{
	static struct sync_resp r;
	static struct sync_entry e[ENT_MAX];
	static bool seen[MANY];

	cr_assert_leq(n, MANY);
	memset(seen, 0, sizeof(seen));
	for (uint32_t k = 0; k < n; k++) {
		take(c, &r, e);
		cr_assert(r.id >= id0 && r.id < id0 + n, "an answer to request %u", r.id);
		cr_assert(!seen[r.id - id0], "request %u answered twice", r.id);
		seen[r.id - id0] = true;
		cr_assert_eq(r.count, 1);
		check(&r);
	}
	run_for(20);
	cr_assert_eq(c->n, n, "%u answers to %u requests", c->n, n);
}

static void
check_woken(const struct sync_resp *r)
{
	assert_section(&r->sections[0], 360, GEN, SYNC_OK, 1, 2);
	cr_assert_eq(r->sections[0].count, 1);
}

Test(syncd, more_parked_requests_than_send_buffers_all_get_the_change)
{
	struct serve_params p = params();
	struct client *c;
	uint32_t id0;

	p.send_buffers = SEND_BUFS;
	p.max_parked = 2 * MANY;
	c = start(&p, 16);
	at_version_1(&m1, 360, "10.18.0.1");
	id0 = park_many(c, item(360, GEN, 1), 5000, MANY);

	model_put(&m1, 20, 2);
	model_advance(&m1, 2);
	advance_event(360, GEN, 2);
	/* As many as there are buffers go at once; the others wait for them. */
	cr_assert_eq(C.park_woken, MANY);
	cr_assert_eq(C.parked, 0);
	cr_assert_eq(C.resp_tx, SEND_BUFS);
	cr_assert_eq(C.tx_backlog, MANY - SEND_BUFS);
	cr_assert_eq(C.tx_backlogged, MANY - SEND_BUFS);
	cr_assert_eq(park_due(S->park), MANY - SEND_BUFS);
	/* No tick: the sends that complete free buffers for the rest. */
	take_each_once(c, id0, MANY, check_woken);
	cr_assert_eq(C.resp_tx, MANY);
	cr_assert_eq(C.tx_backlog, 0);
	cr_assert_eq(C.tx_backlogged, MANY - SEND_BUFS);
	finish();	/* and tx_nobuf is 0: nothing was dropped */
}

static void
check_expired(const struct sync_resp *r)
{
	assert_nothing_new(&r->sections[0], 370, GEN, 1);
}

Test(syncd, more_expired_requests_than_send_buffers_all_get_their_answer)
{
	struct serve_params p = params();
	struct client *c;
	uint32_t id0;

	p.send_buffers = SEND_BUFS;
	p.max_parked = 2 * MANY;
	c = start(&p, 16);
	at_version_1(&m1, 370, "10.19.0.1");
	id0 = park_many(c, item(370, GEN, 1), 30, MANY);
	run_for(40);	/* past every deadline; nothing ticks yet */
	cr_assert_eq(C.parked, MANY);
	serve_tick(S);
	cr_assert_eq(C.park_expired, MANY);
	cr_assert_eq(C.parked, 0);
	cr_assert_eq(C.resp_tx, SEND_BUFS);
	cr_assert_eq(C.tx_backlog, MANY - SEND_BUFS);
	take_each_once(c, id0, MANY, check_expired);
	cr_assert_eq(C.tx_backlogged, MANY - SEND_BUFS);
	finish();
}

static void
check_full_answer(const struct sync_resp *r)
{
	assert_section(&r->sections[0], 380, GEN, SYNC_OK, 0, 1);
	cr_assert_eq(r->sections[0].count, 5);
}

Test(syncd, answers_finding_no_send_buffer_wait_in_the_park_and_drop_only_past_it)
{
	struct serve_params p = params();
	struct sync_req req = { .count = 1 };
	struct client *c;
	uint32_t i;

	p.send_buffers = SEND_BUFS;
	p.max_parked = 8;
	c = start(&p, 16);
	at_version_1(&m1, 380, "10.20.0.1");
	req.items[0] = item(380, GEN, 0);
	/*
	 * Straight in, as if one batch of receives brought them all: none of their sends
	 * has completed when the next comes.
	 */
	for (i = 0; i < SEND_BUFS + 8 + 3; i++) {
		req.id = 1000 + i;
		on_request(S, &req, &c->addr);
	}
	cr_assert_eq(C.resp_tx, SEND_BUFS);
	cr_assert_eq(C.tx_backlogged, 8, "as many wait as the park holds");
	cr_assert_eq(C.tx_backlog, 8);
	cr_assert_eq(C.tx_nobuf, 3, "the rest is dropped and counted");
	want_nobuf = 3;
	/* A request with nothing new finds the park full too: RETRY, also dropped. */
	req.id = 2000;
	req.items[0] = item(380, GEN, 1);
	req.wait_ms = 5000;
	on_request(S, &req, &c->addr);
	cr_assert_eq(C.park_full, 1);
	cr_assert_eq(C.tx_nobuf, 4);
	want_nobuf = 4;
	take_each_once(c, 1000, SEND_BUFS + 8, check_full_answer);
	cr_assert_eq(C.tx_backlog, 0);
	finish();
}

/* --- the park, alone ------------------------------------------------------------------ */

static uint32_t answered[64], nanswered, answer_limit;

static int
record(void *arg, const struct sync_req *req, const struct sockaddr_in *from)
{
	(void)arg;
	(void)from;
	if (nanswered == answer_limit)
		return -ENOBUFS;
	answered[nanswered++] = req->id;
	return 0;
}

static struct sync_req
req_on(uint32_t id, uint32_t vni)
{
	return (struct sync_req){ .id = id, .count = 1, .items = { item(vni, GEN, 1) } };
}

Test(park, expires_by_deadline_whatever_the_order_they_came_in)
{
	struct sockaddr_in from = sin_of(SERVER_IP, 1);
	struct park *p = park_new(48);
	uint64_t dl[40];

	cr_assert_not_null(p);
	/* Deadlines 10 .. 400 in a scrambled order (37 is prime to 40), on VNIs 1..4. */
	for (uint32_t k = 0; k < 40; k++) {
		struct sync_req r = req_on(k, 1 + k % 4);

		dl[k] = 10 + (k * 37 % 40) * 10;
		cr_assert_eq(park_add(p, &r, &from, dl[k]), 0);
	}
	/* Those on VNI 2 leave by their VNI, in the order they came; the heap lets go. */
	cr_assert_eq(park_wake(p, 2), 10);
	cr_assert_eq(park_waiting(p), 30);
	answer_limit = UINT32_MAX;
	cr_assert_eq(park_answer(p, record, NULL), 10);
	for (uint32_t j = 0; j < 10; j++)
		cr_assert_eq(answered[j], 1 + 4 * j);
	nanswered = 0;
	/* The others one at a time, each at its own deadline, never one of VNI 2. */
	for (uint64_t t = 0; t <= 410; t += 5) {
		uint32_t want = UINT32_MAX;

		for (uint32_t k = 0; k < 40; k++)
			if (k % 4 != 1 && dl[k] == t)
				want = k;
		cr_assert_eq(park_expire(p, t), want != UINT32_MAX, "at %llu",
		    (unsigned long long)t);
		if (want != UINT32_MAX) {
			cr_assert_eq(park_answer(p, record, NULL), 1);
			cr_assert_eq(answered[nanswered - 1], want, "at %llu: request %u, want %u",
			    (unsigned long long)t, answered[nanswered - 1], want);
		}
	}
	cr_assert_eq(nanswered, 30);
	cr_assert_eq(park_waiting(p) + park_due(p), 0);
	cr_assert_eq(park_wake(p, 1), 0, "a VNI's requests that expired are not woken");
	park_free(p);
}

Test(park, due_requests_leave_oldest_first_and_stay_while_there_is_no_buffer)
{
	struct sockaddr_in from = sin_of(SERVER_IP, 1);
	struct park *p = park_new(6);
	struct sync_req r;

	cr_assert_not_null(p);
	for (uint32_t k = 0; k < 5; k++) {
		r = req_on(k, 7);
		cr_assert_eq(park_add(p, &r, &from, 1000 + k), 0);
	}
	r = req_on(10, 8);
	cr_assert_eq(park_add_due(p, &r, &from), 0);
	cr_assert_eq(park_wake(p, 7), 5);
	cr_assert_eq(park_due(p), 6);

	/* Two buffers: the two oldest; the rest stay, in order, and hold their slots. */
	answer_limit = 2;
	cr_assert_eq(park_answer(p, record, NULL), 2);
	cr_assert_eq(answered[0], 10);
	cr_assert_eq(answered[1], 0);
	cr_assert_eq(park_due(p), 4);
	r = req_on(20, 7);
	cr_assert_eq(park_add(p, &r, &from, 5), 0);
	r = req_on(21, 9);
	cr_assert_eq(park_add(p, &r, &from, 1), 0);
	cr_assert_eq(park_add(p, &r, &from, 1), -ENOSPC, "due requests count against max");
	cr_assert_eq(park_add_due(p, &r, &from), -ENOSPC);
	cr_assert_eq(park_answer(p, record, NULL), 0, "no buffer: nothing leaves");
	cr_assert_eq(park_expire(p, 1000000), 2);
	cr_assert_eq(park_wake(p, 7), 0, "a due request is not woken again");

	answer_limit = UINT32_MAX;
	cr_assert_eq(park_answer(p, record, NULL), 6);
	for (uint32_t j = 0; j < 4; j++)
		cr_assert_eq(answered[2 + j], 1 + j);
	cr_assert_eq(answered[6], 21, "expired by deadline: 21 (at 1) before 20 (at 5)");
	cr_assert_eq(answered[7], 20);
	cr_assert_eq(park_waiting(p) + park_due(p), 0);
	park_free(p);
}

Test(syncd, a_request_parked_on_two_vnis_is_answered_once)
{
	static struct model m3;
	static struct sync_resp r;
	static struct sync_entry e[ENT_MAX];
	struct serve_params p = params();
	struct sync_item items[2], it3;
	struct client *c;
	uint32_t id;

	p.max_wait_ns = 300 * MS;
	c = start(&p, 16);
	at_version_1(&m1, 350, "10.10.0.1");
	at_version_1(&m2, 351, "10.10.1.1");
	items[0] = item(350, GEN, 1);
	items[1] = item(351, GEN, 1);
	id = ask(c, 5000, items, 2);
	RUN_UNTIL(C.parked == 1);

	model_put(&m1, 30, 2);
	model_advance(&m1, 2);
	advance_event(350, GEN, 2);
	take(c, &r, e);
	cr_assert_eq(r.id, id);
	cr_assert_eq(r.count, 2);
	assert_section(&r.sections[0], 350, GEN, SYNC_OK, 1, 2);
	cr_assert_eq(r.sections[0].count, 1);
	assert_nothing_new(&r.sections[1], 351, GEN, 1);

	/* Its deadline does not answer it again. */
	run_for(400);
	serve_tick(S);	/* 400 ms on: past its 300 ms deadline, whatever the loop did */
	cr_assert_eq(C.park_expired, 0);
	cr_assert_eq(C.resp_tx, 1);

	/*
	 * Nor does the other VNI's advance, even once a request on a third VNI holds the
	 * slot it left: that VNI's advance wakes the newcomer, and nothing else does.
	 */
	at_version_1(&m3, 352, "10.10.2.1");
	it3 = item(352, GEN, 1);
	id = ask(c, 5000, &it3, 1);
	RUN_UNTIL(C.parked == 1);
	model_put(&m2, 30, 2);
	model_advance(&m2, 2);
	advance_event(351, GEN, 2);
	cr_assert_eq(C.park_woken, 1, "woken through the VNI of a request that left");
	cr_assert_eq(C.parked, 1);
	cr_assert_eq(C.resp_tx, 1);
	model_put(&m3, 30, 2);
	model_advance(&m3, 2);
	advance_event(352, GEN, 2);
	cr_assert_eq(C.park_woken, 2);
	take(c, &r, e);
	cr_assert_eq(r.id, id);
	assert_section(&r.sections[0], 352, GEN, SYNC_OK, 1, 2);
	cr_assert_eq(r.sections[0].count, 1);
	run_for(50);
	cr_assert_eq(c->n, 2, "two requests, two answers");
	finish();
}

/* --- admission ------------------------------------------------------------------ */

Test(syncd, sources_outside_the_allow_networks_are_dropped_and_counted)
{
	static struct sync_resp r;
	static struct sync_entry e[ENT_MAX];
	struct serve_params p = params();
	struct client *c, *out;
	struct sync_item it;

	c = start(&p, 16);
	out = client_open(1, "127.11.2.1");
	at_version_1(&m1, 400, "10.11.0.1");
	it = item(400, GEN, 0);
	for (int i = 0; i < 3; i++)
		ask(out, 0, &it, 1);
	RUN_UNTIL(C.req_denied == 3);
	ask(c, 0, &it, 1);
	take(c, &r, e);
	assert_section(&r.sections[0], 400, GEN, SYNC_OK, 0, 1);
	run_for(50);
	cr_assert_eq(out->n, 0, "a denied source got an answer");
	cr_assert_eq(C.req_denied, 3);
	cr_assert_eq(C.req_rx, 1, "denied datagrams are not requests received");
	cr_assert_eq(C.req_limited + C.req_malformed, 0);
	finish();
}

Test(syncd, a_source_over_its_rate_is_dropped_and_counted)
{
	static struct sync_resp r;
	static struct sync_entry e[ENT_MAX];
	struct serve_params p = params();
	struct client *c, *other;
	struct sync_item it;
	uint64_t t0, bound, secs;

	new_loop();
	table_open(16);
	c = client_open(0, "127.11.1.2");
	other = client_open(1, "127.11.1.3");
	allow(1, 2);	/* a request a second, two at once */
	serve_start(&p);
	serve_set_table(S, R);
	at_version_1(&m1, 410, "10.12.0.1");
	it = item(410, GEN, 1);

	t0 = clock_mono_ns();
	for (int i = 0; i < 20; i++)
		ask(c, 0, &it, 1);
	RUN_UNTIL(C.req_rx + C.req_limited == 20);
	/* At most 2 at once and 1 a second after that: most of 20 are over the rate. */
	secs = (clock_mono_ns() - t0) / 1000000000 + 1;
	bound = 20 - 2 - (secs < 18 ? secs : 18);
	cr_log_info("%llu of 20 limited in under %llu s", (unsigned long long)C.req_limited,
	    (unsigned long long)secs);
	cr_assert_geq(C.req_limited, bound);
	cr_assert_geq(C.req_limited, 1);
	RUN_UNTIL(c->n == C.req_rx);	/* every request admitted is answered */
	for (uint64_t i = 0; i < C.req_rx; i++) {
		take(c, &r, e);
		assert_nothing_new(&r.sections[0], 410, GEN, 1);
	}

	/* Another source has its own bucket. */
	ask(other, 0, &it, 1);
	take(other, &r, e);
	assert_nothing_new(&r.sections[0], 410, GEN, 1);
	cr_assert_eq(C.req_denied + C.req_malformed, 0);
	finish();
}

Test(admit, a_burst_past_what_32_bits_of_thousandths_hold_is_whole)
{
	static struct admit a;
	struct addr_cidr net = { .net = ip4("10.0.0.0"), .len = 8 };
	uint32_t ip = ip4("10.0.0.1"), n;

	/* 5e6 requests are 5e9 thousandths: past 2^32. The bucket starts full. */
	admit_init(&a, &net, 1, 10000000, 5000000);
	for (n = 0; n <= 5000000 && admit_take(&a, ip, 1000); n++)
		;
	cr_assert_eq(n, 5000000, "a burst of 5000000 let %u through", n);
	/* A second at 1e7 a second fills it again, to the burst and no further. */
	for (n = 0; n <= 5000000 && admit_take(&a, ip, 1000 + 1000000000); n++)
		;
	cr_assert_eq(n, 5000000, "refilled to %u, want 5000000", n);
}

/*
 * 10,000 hosts (addressed as bench/fleet.h addresses them) each get a bucket of their own:
 * with burst 1, nearly every host's second request is over its rate. Sources sharing a
 * bucket each start it full, so every one of them passes: with 4096 buckets, 9,739 of
 * the 10,000 did.
 */
Test(admit, ten_thousand_hosts_are_limited_each)
{
	static struct admit a;
	struct addr_cidr net = { .net = ip4("127.14.0.0"), .len = 16 };
	uint32_t passed = 0;

	admit_init(&a, &net, 1, 1, 1);
	for (int round = 0; round < 2; round++)
		for (uint32_t i = 0; i < 10000; i++) {
			uint32_t ip = ip4("127.14.0.0") | (1 + i / 250) << 8 | (1 + i % 250);
			bool ok = admit_take(&a, ip, 1000);

			cr_assert(round == 1 || ok, "a first request is within any rate");
			passed += round == 1 && ok;
		}
	cr_assert_leq(passed, 100, "%u of 10000 hosts' second requests passed", passed);
}

Test(syncd, malformed_datagrams_are_dropped_and_counted)
{
	static struct sync_resp r;
	static struct sync_entry e[ENT_MAX];
	struct serve_params p = params();
	struct sync_req req = { .count = 1 };
	struct sync_builder b;
	uint8_t buf[256], resp[256];
	struct client *c;
	int len;

	c = start(&p, 16);
	at_version_1(&m1, 420, "10.13.0.1");
	req.items[0] = item(420, GEN, 1);
	len = sync_req_encode(&req, buf, sizeof(buf));
	cr_assert_gt(len, 0);

	send_raw(c, "not a sync request", 18);
	send_raw(c, buf, (size_t)len - 1);		/* truncated */
	buf[22] = 2;					/* count says 2, holds 1 */
	send_raw(c, buf, (size_t)len);
	buf[22] = 1;
	buf[2] = 9;					/* another protocol version */
	send_raw(c, buf, (size_t)len);
	buf[2] = SYNC_VERSION;
	sync_build_begin(&b, resp, sizeof(resp), SYNC_RESP, 7, NULL);	/* an answer, not a request */
	send_raw(c, resp, sync_build_finish(&b));
	RUN_UNTIL(C.req_malformed == 5);
	cr_assert_eq(C.req_rx, 0);
	cr_assert_eq(C.resp_tx, 0);

	send_raw(c, buf, (size_t)len);			/* the request as it was */
	take(c, &r, e);
	assert_nothing_new(&r.sections[0], 420, GEN, 1);
	cr_assert_eq(C.req_rx, 1);
	cr_assert_eq(C.req_malformed, 5);
	finish();
}

Test(syncd, requests_before_the_table_exists_are_dropped_and_counted)
{
	static struct sync_resp r;
	static struct sync_entry e[ENT_MAX];
	struct serve_params p = params();
	struct ev_learn_req lr = { .vni = 430, .ip = 1, .src_vtep = ip4("127.11.1.1") };
	struct sync_item it;
	struct client *c;

	new_loop();
	table_open(16);
	c = client_open(0, "127.11.1.1");
	allow(1000000, 1000000);
	serve_start(&p);
	at_version_1(&m1, 430, "10.14.0.1");
	it = item(430, GEN, 0);
	ask(c, 0, &it, 1);
	ask(c, 5000, &it, 1);
	RUN_UNTIL(C.req_not_ready == 2);
	cr_assert_eq(C.req_rx, 2);
	/* Nothing else has a table to work on either. */
	advance_event(430, GEN, 1);
	serve_tick(S);
	serve_learn(S, &lr);
	cr_assert_eq(C.learn_miss, 1);
	cr_assert_eq(C.resp_tx + C.learn_tx + C.parked, 0);

	serve_set_table(S, R);
	ask(c, 0, &it, 1);
	take(c, &r, e);
	assert_section(&r.sections[0], 430, GEN, SYNC_OK, 0, 1);
	cr_assert_eq(r.sections[0].count, 5);
	cr_assert_eq(c->n, 1, "a request dropped before the table was answered later");
	cr_assert_eq(C.req_not_ready, 2);
	finish();
}

/* --- learn ---------------------------------------------------------------------- */

/* syncd with its LEARNs going to the port of a learner client on 127.11.1.9. */
static struct client *
start_with_learner(void)
{
	struct serve_params p = params();
	struct client *lrn;

	new_loop();
	table_open(16);
	lrn = client_open(0, "127.11.1.9");
	p.learner_port = ntohs(lrn->addr.sin_port);
	allow(1000000, 1000000);
	serve_start(&p);
	serve_set_table(S, R);
	return lrn;
}

static void
learn(uint32_t vni, uint32_t ip)
{
	struct ev_learn_req ev = { .vni = vni, .ip = ip, .src_vtep = ip4("127.11.1.9") };

	serve_learn(S, &ev);
}

/* The LEARN of model entry i: one OK section, since 0, upto the VPC's version. */
static void
assert_learn(struct client *lrn, const struct model *m, uint32_t i)
{
	static struct sync_resp r;
	static struct sync_entry e[ENT_MAX];
	const struct sync_entry *w = &m->e[i];

	take(lrn, &r, e);
	cr_assert_eq(r.type, SYNC_LEARN);
	cr_assert_eq(r.id, 0);
	cr_assert_eq(r.count, 1);
	assert_section(&r.sections[0], m->vni, m->gen, SYNC_OK, 0, m->version);
	cr_assert_eq(r.sections[0].flags, 0);
	cr_assert_eq(r.sections[0].count, 1);
	assert_entries(e, 1, w, 1);
}

Test(syncd, learn_sends_the_rule_to_the_learner_of_the_source_vtep)
{
	struct client *lrn = start_with_learner();

	model_init(&m1, 500, GEN, "10.15.0.1");
	for (uint64_t v = 1; v <= 5; v++) {
		model_put(&m1, (uint32_t)v, v);
		model_advance(&m1, v);
	}
	learn(500, m1.base + 3);	/* set at 3, own MAC */
	learn(500, m1.base + 4);	/* set at 4, default MAC */
	assert_learn(lrn, &m1, 3);
	assert_learn(lrn, &m1, 4);
	cr_assert_eq(C.learn_rx, 2);
	cr_assert_eq(C.learn_tx, 2);
	cr_assert_eq(C.resp_tx, 0, "a LEARN is not a response");
	finish();
}

Test(syncd, learn_skips_missing_rules_and_rules_ahead_of_their_vpc)
{
	struct client *lrn = start_with_learner();

	model_init(&m1, 510, GEN, "10.16.0.1");
	for (uint64_t v = 1; v <= 5; v++) {
		model_put(&m1, (uint32_t)v, v);
		model_advance(&m1, v);
	}
	model_del(&m1, 2, 6);
	model_put(&m1, 7, 6);	/* version 6 is set, not yet published */

	learn(510, m1.base + 100);	/* never set */
	learn(511, m1.base + 1);	/* no such VPC */
	learn(510, m1.base + 2);	/* deleted */
	cr_assert_eq(C.learn_miss, 3);
	learn(510, m1.base + 7);	/* a learner at 5 would miss the rest of 6 */
	cr_assert_eq(C.learn_racing, 1);
	cr_assert_eq(C.learn_tx, 0);

	/* Once the VPC is at 6, the same rule is learned, with 6 as the VPC's version. */
	model_advance(&m1, 6);
	learn(510, m1.base + 7);
	assert_learn(lrn, &m1, 7);
	run_for(50);
	cr_assert_eq(lrn->n, 1, "a LEARN for a skipped request");
	cr_assert_eq(C.learn_rx, 5);
	cr_assert_eq(C.learn_tx, 1);
	finish();
}

Test(syncd, learn_skips_a_vpc_the_gateway_does_not_hold_whole)
{
	struct client *lrn = start_with_learner();

	model_init(&m1, 530, GEN, "10.18.0.1");
	model_put(&m1, 1, 1);
	model_advance(&m1, 1);
	/* A change of this very rule may be what the table refused: it could be stale. */
	cr_assert_eq(table_vni_set_incomplete(W, 530, true), 0);
	learn(530, m1.base + 1);
	run_for(50);
	cr_assert_eq(lrn->n, 0, "no LEARN from a VPC held incomplete");
	cr_assert_eq(C.learn_incomplete, 1);
	cr_assert_eq(table_vni_set_incomplete(W, 530, false), 0);
	learn(530, m1.base + 1);
	assert_learn(lrn, &m1, 1);
	finish();
}

Test(syncd, learn_goes_only_to_sources_inside_allow)
{
	struct client *lrn = start_with_learner();
	struct ev_learn_req ev;

	model_init(&m1, 520, GEN, "10.17.0.1");
	model_put(&m1, 1, 1);
	model_advance(&m1, 1);
	/* Anyone reaching the VXLAN port may set the bit: no LEARN aimed at a stranger. */
	ev = (struct ev_learn_req){ .vni = 520, .ip = m1.base + 1,
	    .src_vtep = ip4("127.12.1.9") };
	serve_learn(S, &ev);
	cr_assert_eq(C.learn_denied, 1);
	cr_assert_eq(C.learn_tx, 0);
	learn(520, m1.base + 1);
	assert_learn(lrn, &m1, 1);
	cr_assert_eq(C.learn_rx, 2);
	cr_assert_eq(C.learn_tx, 1);
	finish();
}

/*
 * A learn storm: more learn requests in the forwarder's ring than syncd has send
 * buffers. Driven as the ringwatch drives it (a call, then a pass through the loop):
 * every request becomes a LEARN, none is dropped for want of a buffer, and the rest
 * wait in the ring meanwhile.
 */
Test(syncd, a_learn_storm_past_the_send_buffers_waits_for_them_and_loses_no_learn)
{
	static struct sync_resp r;
	static struct sync_entry e[ENT_MAX];
	struct serve_params p = params();
	char ringseg[SEG_NAME_MAX];
	struct ring prod, cons;
	struct client *lrn;
	bool seen[MANY] = { false };
	uint64_t deadline;

	p.send_buffers = SEND_BUFS;
	new_loop();
	table_open(16);
	lrn = client_open(0, "127.11.1.9");
	p.learner_port = ntohs(lrn->addr.sin_port);
	allow(1000000, 1000000);
	serve_start(&p);
	serve_set_table(S, R);
	model_init(&m1, 540, GEN, "10.21.0.0");
	for (uint32_t i = 0; i < MANY; i++)
		model_put(&m1, i, 1);
	model_advance(&m1, 1);
	cr_assert_eq(learn_req_ring_create(&prod, node, "forwarder", EV_LEARN_REQ_RING, 256, 0),
	    0, "%s", prod.seg.err);
	seg_name(ringseg, sizeof(ringseg), node, "forwarder", EV_LEARN_REQ_RING);
	cr_assert_eq(learn_req_ring_attach(&cons, ringseg), 0, "%s", cons.seg.err);
	for (uint32_t i = 0; i < MANY; i++) {
		struct ev_learn_req ev = { .vni = 540, .ip = m1.base + i,
		    .src_vtep = ip4("127.11.1.9") };

		cr_assert_eq(learn_req_ring_push(&prod, &ev, 1), 1);
	}
	/* As the ringwatch does: called while records wait, the loop run in between. */
	deadline = clock_mono_ns() + HANG_NS;
	while (ring_count(&cons) > 0 || S->lq_at < S->lq_n) {
		cr_assert_lt(clock_mono_ns(), deadline, "the ring never emptied");
		serve_learn_ring(S, &cons);
		run_for(1);
	}
	cr_assert_gt(C.learn_waited, 0, "%u requests never waited for %u buffers", MANY,
	    SEND_BUFS);
	for (uint32_t i = 0; i < MANY; i++) {
		uint32_t k;

		take(lrn, &r, e);
		cr_assert_eq(r.type, SYNC_LEARN);
		k = e[0].ip - m1.base;
		cr_assert_lt(k, MANY);
		cr_assert(!seen[k], "the LEARN of rule %u twice", k);
		seen[k] = true;
		assert_entries(e, 1, &m1.e[k], 1);
	}
	cr_assert_eq(C.learn_rx, MANY);
	cr_assert_eq(C.learn_tx, MANY);
	ring_close(&cons);
	ring_close(&prod);
	seg_unlink_name(ringseg);
	finish();	/* and tx_nobuf is 0 */
}

/* --- counters ------------------------------------------------------------------- */

Test(syncd, counters_add_up_over_a_mixed_session)
{
	static struct sync_resp r;
	static struct sync_entry e[ENT_MAX];
	struct serve_params p = params();
	struct sync_item items[3];
	struct client *c;
	uint32_t n, pages;

	p.page_bytes = 512;
	c = start(&p, 16);
	model_init(&m1, 600, GEN, "10.17.0.1");
	for (uint32_t i = 0; i < 300; i++)
		model_put(&m1, i, 1);
	model_advance(&m1, 1);
	at_version_1(&m2, 601, "10.17.1.1");

	n = fetch_all(c, &m1, 0, got_e, &pages);
	cr_assert_eq(n, 300);
	items[0] = item(601, GEN, 1);
	items[1] = item(602, GEN, 1);
	items[2] = item(600, GEN ^ 1, 1);
	ask(c, 0, items, 3);
	take(c, &r, e);
	ask(c, 5000, items, 1);
	RUN_UNTIL(C.parked == 1);
	model_put(&m2, 40, 2);
	model_advance(&m2, 2);
	advance_event(601, GEN, 2);
	take(c, &r, e);

	cr_assert_eq(C.req_rx, pages + 2);
	cr_assert_eq(C.resp_tx, pages + 2);
	cr_assert_eq(C.sections_ok, pages + 2);
	cr_assert_eq(C.sections_unknown, 1);
	cr_assert_eq(C.sections_relearn, 1);
	cr_assert_eq(C.sections_retry, 0);
	cr_assert_eq(C.entries_tx, 300 + 1);
	cr_assert_eq(C.pages_more, pages - 1);
	cr_assert_eq(C.park_woken, 1);
	finish();	/* and each of them is what the client got, resp_bytes included */
}

/* --- authentication (DESIGN.md §9) --------------------------------------------- */

static struct auth *T_MAC;

/* The secrets {ids[0..n)} with distinct keys; auth on. */
static struct serve_params
auth_params(const uint8_t *ids, uint32_t n)
{
	struct serve_params p = params();

	p.auth = true;
	p.secrets.n = n;
	for (uint32_t i = 0; i < n; i++) {
		p.secrets.k[i].id = ids[i];
		memset(p.secrets.k[i].key, 0x40 + ids[i], AUTH_KEY_SIZE);
	}
	if (T_MAC == NULL)
		T_MAC = auth_new();
	cr_assert_not_null(T_MAC);
	return p;
}

/* host's key of secret id, as the host's key file would hold it, ready for the MAC. */
static struct auth_mackey
host_key_of(const struct serve_params *p, uint8_t id, const char *host)
{
	struct auth_mackey mk;
	struct auth_key k;

	cr_assert_eq(auth_derive(auth_keys_find(&p->secrets, id), host, strlen(host), &k), 0);
	auth_mackey_set(&mk, k.key);
	return mk;
}

/* A request for VNI 420 at version 1 from host, key id kid, MACed with key (or not). */
static int
auth_req(uint8_t *buf, size_t cap, const char *host, uint8_t kid,
    const struct auth_mackey *key)
{
	struct sync_req r = { .id = next_id++, .count = 1 };
	int len;

	r.items[0] = item(420, GEN, 1);
	sync_hdr_set_name(&r.h, host);
	r.h.key_id = kid;
	r.h.flags = key ? SYNC_H_MAC : 0;
	len = sync_req_encode(&r, buf, cap);
	cr_assert_gt(len, 0);
	if (key)
		cr_assert_eq(auth_seal(T_MAC, key, buf, (size_t)len), 0);
	return len;
}

Test(syncd, requests_failing_authentication_are_dropped_and_counted)
{
	static struct sync_resp r;
	static struct sync_entry e[ENT_MAX];
	static const uint8_t ids[] = { 1 };
	struct serve_params p = auth_params(ids, 1);
	struct auth_mackey h1 = host_key_of(&p, 1, "host1"), h2 = host_key_of(&p, 1, "host2");
	uint8_t buf[512];
	struct client *c;
	int len;

	c = start(&p, 16);
	at_version_1(&m1, 420, "10.13.0.1");
	len = auth_req(buf, sizeof(buf), "host1", 1, NULL);
	send_raw(c, buf, (size_t)len);			/* no MAC at all */
	len = auth_req(buf, sizeof(buf), "host1", 1, &h1);
	buf[len - 1] ^= 1;
	send_raw(c, buf, (size_t)len);			/* a forged MAC */
	buf[len - 1] ^= 1;
	send_raw(c, buf, (size_t)len - 1);		/* a truncated MAC */
	buf[30] ^= 1;
	send_raw(c, buf, (size_t)len);			/* a byte changed under the MAC */
	len = auth_req(buf, sizeof(buf), "host1", 1, &h2);
	send_raw(c, buf, (size_t)len);			/* "host1" with host2's key */
	len = auth_req(buf, sizeof(buf), "host1", 9, &h1);
	send_raw(c, buf, (size_t)len);			/* a key id with no secret */
	RUN_UNTIL(C.auth_failed == 6);
	cr_assert_eq(C.req_rx, 0);
	cr_assert_eq(C.resp_tx, 0);
	cr_assert_eq(C.req_malformed, 0);

	len = auth_req(buf, sizeof(buf), "host1", 1, &h1);
	send_raw(c, buf, (size_t)len);			/* genuine */
	len = (int)take(c, &r, e);
	assert_nothing_new(&r.sections[0], 420, GEN, 1);
	cr_assert_str_eq(r.h.name, "host1");
	cr_assert(r.h.flags & SYNC_H_MAC);
	cr_assert(auth_check(T_MAC, &h1, c->data[0], (size_t)len), "answer MACed for host1");
	cr_assert_not(auth_check(T_MAC, &h2, c->data[0], (size_t)len));
	cr_assert_eq(C.req_rx, 1);
	cr_assert_eq(C.auth_failed, 6);
	finish();
}

/*
 * Ten thousand hosts asking twice: each key derived once and kept. With sets of 4, the
 * sets that drew more than 4 of the names (about 1 % of 8192) evicted and derived again
 * on every round: 11,937 derivations for 10,000 hosts in bench/scale.
 */
Test(syncd, ten_thousand_hosts_keys_are_derived_once_each)
{
	static const uint8_t ids[] = { 1 };
	struct serve_params p = auth_params(ids, 1);
	uint8_t buf[512];
	struct client *c;
	char host[16];

	c = start(&p, 16);
	at_version_1(&m1, 420, "10.13.0.1");
	for (int round = 0; round < 2; round++)
		for (int i = 0; i < 10000; i++) {
			struct auth_mackey k;
			int len;

			snprintf(host, sizeof(host), "h%05d", i);
			k = host_key_of(&p, 1, host);
			len = auth_req(buf, sizeof(buf), host, 1, &k);
			send_raw(c, buf, (size_t)len);
			if (i % 8 == 7)
				RUN_UNTIL(C.req_rx + C.auth_failed >= (uint64_t)(round * 10000 + i + 1));
		}
	cr_assert_eq(C.auth_failed, 0);
	cr_assert_eq(C.req_rx, 20000);
	cr_assert_eq(C.host_keys_derived, 10000, "a key a host, kept: %llu derived",
	    (unsigned long long)C.host_keys_derived);
	finish();
}

Test(syncd, two_secrets_are_both_accepted_and_answered_in_kind)
{
	static struct sync_resp r;
	static struct sync_entry e[ENT_MAX];
	static const uint8_t ids[] = { 1, 2 };
	struct serve_params p = auth_params(ids, 2);
	struct auth_mackey old = host_key_of(&p, 1, "host1"), new = host_key_of(&p, 2, "host1");
	uint8_t buf[512];
	struct client *c;
	int len;

	c = start(&p, 16);
	at_version_1(&m1, 420, "10.13.0.1");
	len = auth_req(buf, sizeof(buf), "host1", 1, &old);
	send_raw(c, buf, (size_t)len);
	len = (int)take(c, &r, e);
	cr_assert_eq(r.h.key_id, 1);
	cr_assert(auth_check(T_MAC, &old, c->data[0], (size_t)len));
	len = auth_req(buf, sizeof(buf), "host1", 2, &new);
	send_raw(c, buf, (size_t)len);
	len = (int)take(c, &r, e);
	cr_assert_eq(r.h.key_id, 2);
	cr_assert(auth_check(T_MAC, &new, c->data[1], (size_t)len));
	cr_assert_eq(C.auth_failed, 0);
	cr_assert_eq(C.req_rx, 2);
	finish();
}

Test(syncd, learn_goes_only_to_an_authenticated_host_with_its_key)
{
	static struct sync_resp r;
	static struct sync_entry e[ENT_MAX];
	static const uint8_t ids[] = { 3 };
	struct serve_params p = auth_params(ids, 1);
	struct auth_mackey k = host_key_of(&p, 3, "host9");
	struct client *lrn;
	uint8_t buf[512];
	int len;

	new_loop();
	table_open(16);
	lrn = client_open(0, "127.11.1.9");
	p.learner_port = ntohs(lrn->addr.sin_port);
	allow(1000000, 1000000);
	serve_start(&p);
	serve_set_table(S, R);
	model_init(&m1, 500, GEN, "10.15.0.1");
	model_put(&m1, 1, 1);
	model_advance(&m1, 1);

	learn(500, m1.base + 1);	/* nobody at 127.11.1.9 asked yet: no key to use */
	cr_assert_eq(C.learn_no_host, 1);
	cr_assert_eq(C.learn_tx, 0);

	len = auth_req(buf, sizeof(buf), "host9", 3, &k);
	send_raw(lrn, buf, (size_t)len);
	take(lrn, &r, e);
	learn(500, m1.base + 1);
	len = (int)take(lrn, &r, e);
	cr_assert_eq(r.type, SYNC_LEARN);
	cr_assert_str_eq(r.h.name, "host9");
	cr_assert(auth_check(T_MAC, &k, lrn->data[1], (size_t)len), "LEARN MACed for host9");
	cr_assert_eq(C.learn_tx, 1);
	finish();
}
