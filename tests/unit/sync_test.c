/*
 * sync_test: the sync and learn codec. Requests, responses of every status and LEARNs
 * round-trip at their edge values and are laid out as docs/protocol.md draws them (the
 * worked example there is the datagram below); a page ends where the datagram is full
 * and resumes at its cursor; entries cost at most 5 bytes; each malformed datagram,
 * made from a valid one by changing one thing, is refused, which shows that exactly that
 * thing is checked; every truncation is refused; and invalid uses of the builder abort.
 */
#include "common/addr.h"
#include "common/sync.h"
#include "tests/unit/bytes.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#define DGRAM		1400		/* the page size syncd uses on an Ethernet path */
#define ENTRIES_MAX	32768		/* more than a datagram of SYNC_DGRAM_MAX holds */
#define BIG_ENTRY	27		/* the largest entry (23 bytes) and a new VTEP */

/* --- bytes ---------------------------------------------------------------------- */

/* Insert k bytes at off of the datagram f of *n bytes. */
static void
ins(uint8_t *f, size_t *n, size_t off, const uint8_t *bytes, size_t k)
{
	memmove(f + off + k, f + off, *n - off);
	memcpy(f + off, bytes, k);
	*n += k;
}

/* Remove k bytes at off. */
static void
del(uint8_t *f, size_t *n, size_t off, size_t k)
{
	memmove(f + off, f + off + k, *n - off - k);
	*n -= k;
}

/* Add delta to the u16 at p (a section's nentries or entries_len). */
static void
add16(uint8_t *p, int delta)
{
	put16(p, (uint16_t)(get16(p) + delta));
}

/* --- messages ------------------------------------------------------------------- */

static struct sync_entry
set_mac(uint32_t ip, uint32_t vtep, const uint8_t mac[6], uint64_t version)
{
	struct sync_entry e = { .ip = ip, .vtep = vtep, .op = SYNC_SET, .version = version };

	memcpy(e.mac, mac, 6);
	return e;
}

static struct sync_entry
set_def(uint32_t ip, uint32_t vtep, uint64_t version)
{
	struct sync_entry e = { .ip = ip, .vtep = vtep, .op = SYNC_SET, .version = version };

	addr_default_mac(ip, e.mac);
	return e;
}

static struct sync_entry
del_entry(uint32_t ip, uint64_t version)
{
	return (struct sync_entry){ .ip = ip, .op = SYNC_DEL, .version = version };
}

static bool
entry_equal(const struct sync_entry *a, const struct sync_entry *b)
{
	return a->ip == b->ip && a->vtep == b->vtep && memcmp(a->mac, b->mac, 6) == 0 &&
	    a->op == b->op && a->version == b->version;
}

/* A section to build: its fields and its entries. */
struct spec {
	uint32_t vni, gen;
	uint8_t status;
	uint64_t since, upto;
	const struct sync_entry *e;
	size_t n;
	bool more;
	uint64_t cursor_version;
	uint32_t cursor_ip;
};

/* Build a datagram of every section of s; each must fit. */
static size_t
build(uint8_t *buf, size_t cap, uint8_t type, uint32_t id, const struct spec *s, size_t ns)
{
	struct sync_builder b;

	sync_build_begin(&b, buf, cap, type, id, NULL);
	for (size_t i = 0; i < ns; i++) {
		cr_assert_eq(sync_build_section(&b, s[i].vni, s[i].gen, s[i].status, s[i].since,
		    s[i].upto), 0, "section %zu does not fit", i);
		for (size_t k = 0; k < s[i].n; k++)
			cr_assert_eq(sync_build_entry(&b, &s[i].e[k]), 0,
			    "entry %zu of section %zu does not fit", k, i);
		sync_build_section_end(&b, s[i].more, s[i].cursor_version, s[i].cursor_ip);
	}
	return sync_build_finish(&b);
}

/* The datagram decodes to exactly the sections of s. */
static void
expect_decodes_to(const uint8_t *buf, size_t len, uint8_t type, uint32_t id,
    const struct spec *s, size_t ns)
{
	static struct sync_entry d[ENTRIES_MAX];
	struct sync_resp r;
	uint32_t first = 0;
	int rc;

	memset(&r, 0xa5, sizeof(r));
	rc = sync_resp_decode(buf, len, &r, d, ENTRIES_MAX);
	cr_assert_eq(rc, 0, "decode returned %d", rc);
	cr_assert_eq(r.type, type);
	cr_assert_eq(r.id, id);
	cr_assert_eq(r.count, ns);
	for (size_t i = 0; i < ns; i++) {
		const struct sync_section *sec = &r.sections[i];

		cr_assert_eq(sec->vni, s[i].vni, "section %zu", i);
		cr_assert_eq(sec->gen, s[i].gen, "section %zu", i);
		cr_assert_eq(sec->status, s[i].status, "section %zu", i);
		cr_assert_eq(sec->flags, s[i].more ? SYNC_F_MORE : 0, "section %zu", i);
		cr_assert_eq(sec->since, s[i].since, "section %zu", i);
		cr_assert_eq(sec->upto, s[i].upto, "section %zu", i);
		cr_assert_eq(sec->cursor_version, s[i].more ? s[i].cursor_version : 0);
		cr_assert_eq(sec->cursor_ip, s[i].more ? s[i].cursor_ip : 0);
		cr_assert_eq(sec->first, first, "section %zu", i);
		cr_assert_eq(sec->count, s[i].n, "section %zu", i);
		for (size_t k = 0; k < s[i].n; k++)
			cr_assert(entry_equal(&d[first + k], &s[i].e[k]),
			    "entry %zu of section %zu differs", k, i);
		first += (uint32_t)s[i].n;
	}
}

/*
 * The worked example of docs/protocol.md: a response to request 0x01020304 with VNI 100
 * at gen 0xdeadbeef going from version 6 to 8 (three entries), and VNI 200 told to
 * RELEARN.
 */
static const uint8_t mac_x[6] = { 0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee };

static const struct sync_entry doc_entries[] = {
	{ .ip = 0x0a000005, .vtep = 0xc0a8000b, .mac = { 2, 0, 0x0a, 0, 0, 5 }, .op = SYNC_SET,
	    .version = 7 },
	{ .ip = 0x0a000006, .vtep = 0xc0a8000c, .mac = { 2, 0xaa, 0xbb, 0xcc, 0xdd, 0xee },
	    .op = SYNC_SET, .version = 7 },
	{ .ip = 0x0a000002, .op = SYNC_DEL, .version = 8 },
};

static const struct spec doc_spec[] = {
	{ .vni = 100, .gen = 0xdeadbeef, .status = SYNC_OK, .since = 6, .upto = 8,
	    .e = doc_entries, .n = 3 },
	{ .vni = 200, .gen = 0x11223344, .status = SYNC_RELEARN, .since = 5, .upto = 9 },
};

/*
 * The rest of a version 4 header (version 2's 20 bytes: only the MAC grew) with no host
 * name and no MAC (docs/protocol.md): key id 0, no flag, name length 0, pad, timestamp
 * 0. Every body starts X bytes later than in version 1.
 */
#define HDR_REST	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
#define X		12

static const uint8_t doc_dgram[] = {
	0x56, 0x53, 0x04, 0x02, 0x01, 0x02, 0x03, 0x04,		/* header: RESP, id */
	HDR_REST,
	0x02, 0x00, 0x00, 0x00,					/* 2 sections, pad */
	/* 12: section 1 */
	0x00, 0x00, 0x00, 0x64,					/* vni 100 */
	0xde, 0xad, 0xbe, 0xef,					/* gen */
	0x01, 0x00, 0x02, 0x00,					/* OK, flags, nvtep 2 */
	0x00, 0x03, 0x00, 0x14,					/* 3 entries, 20 bytes */
	0, 0, 0, 0, 0, 0, 0, 6,					/* since */
	0, 0, 0, 0, 0, 0, 0, 8,					/* upto */
	/* 44: entries */
	0x06, 0x8a, 0x80, 0x80, 0xa0, 0x01, 0x01, 0x00,		/* 10.0.0.5 v7 vtep 0 */
	0x00, 0x02, 0x01, 0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee,	/* 10.0.0.6 v7 vtep 1 */
	0x05, 0x07, 0x01,					/* del 10.0.0.2 v8 */
	/* 64: VTEPs */
	0xc0, 0xa8, 0x00, 0x0b, 0xc0, 0xa8, 0x00, 0x0c,
	/* 72: section 2 */
	0x00, 0x00, 0x00, 0xc8,					/* vni 200 */
	0x11, 0x22, 0x33, 0x44,					/* gen */
	0x02, 0x00, 0x00, 0x00,					/* RELEARN */
	0x00, 0x00, 0x00, 0x00,
	0, 0, 0, 0, 0, 0, 0, 5,					/* since */
	0, 0, 0, 0, 0, 0, 0, 9,					/* upto */
	/* 104 */
};

/* Offsets in doc_dgram. */
enum {
	D_MAGIC = 0, D_VERSION = 2, D_TYPE = 3, D_ID = 4, D_COUNT = X + 8, D_PAD = X + 9,
	S1 = X + 12, S2 = X + 72,
	S_VNI = 0, S_GEN = 4, S_STATUS = 8, S_FLAGS = 9, S_NVTEP = 10, S_PAD = 11,
	S_NENTRIES = 12, S_ELEN = 14, S_SINCE = 16, S_UPTO = 24, S_SIZE = 32,
	E1 = X + 44, E1_IP = X + 45, E1_VER = X + 50, E1_VTEP = X + 51,
	E2 = X + 52, E2_IP = X + 53, E2_VTEP = X + 54, E2_MAC = X + 55,
	E3 = X + 61, E3_IP = X + 62, E3_VER = X + 63,
	VTEPS = X + 64,
};

/* A LEARN: VNI 100 is at version 7; 10.0.0.9 changed at 5, on 192.168.0.11. */
static const struct sync_entry learn_entry[] = {
	{ .ip = 0x0a000009, .vtep = 0xc0a8000b, .mac = { 2, 0, 0x0a, 0, 0, 9 }, .op = SYNC_SET,
	    .version = 5 },
};

static const struct spec learn_spec[] = {
	{ .vni = 100, .gen = 0xdeadbeef, .status = SYNC_OK, .since = 0, .upto = 7,
	    .e = learn_entry, .n = 1 },
};

static const uint8_t learn_dgram[] = {
	0x56, 0x53, 0x04, 0x03, 0x00, 0x00, 0x00, 0x00,		/* header: LEARN, id 0 */
	HDR_REST,
	0x01, 0x00, 0x00, 0x00,					/* 1 section */
	0x00, 0x00, 0x00, 0x64, 0xde, 0xad, 0xbe, 0xef,
	0x01, 0x00, 0x01, 0x00, 0x00, 0x01, 0x00, 0x08,		/* OK, 1 VTEP, 1 entry */
	0, 0, 0, 0, 0, 0, 0, 0,					/* since 0 */
	0, 0, 0, 0, 0, 0, 0, 7,					/* upto 7 */
	0x06, 0x92, 0x80, 0x80, 0xa0, 0x01, 0x05, 0x00,		/* 10.0.0.9 v5 vtep 0 */
	0xc0, 0xa8, 0x00, 0x0b,
};

/* A request: two VNIs, the second paging. */
static struct sync_req
req2(void)
{
	struct sync_req r = { .id = 0x0a0b0c0d, .wait_ms = 500, .count = 2 };

	r.items[0] = (struct sync_item){ .vni = 100, .gen = 0xdeadbeef, .version = 6 };
	r.items[1] = (struct sync_item){ .vni = 200, .gen = 7, .version = 9,
		.cursor_version = 11, .cursor_ip = 0x0a000102 };
	return r;
}

static const uint8_t req2_dgram[] = {
	0x56, 0x53, 0x04, 0x01, 0x0a, 0x0b, 0x0c, 0x0d,		/* header: REQ, id */
	HDR_REST,
	0x01, 0xf4, 0x02, 0x00,					/* wait 500, 2 items */
	0x00, 0x00, 0x00, 0x64, 0xde, 0xad, 0xbe, 0xef,		/* vni 100, gen */
	0, 0, 0, 0, 0, 0, 0, 6,					/* version */
	0, 0, 0, 0, 0, 0, 0, 0,					/* no cursor */
	0, 0, 0, 0,
	0x00, 0x00, 0x00, 0xc8, 0x00, 0x00, 0x00, 0x07,		/* vni 200, gen */
	0, 0, 0, 0, 0, 0, 0, 9,					/* version */
	0, 0, 0, 0, 0, 0, 0, 11,				/* cursor */
	0x0a, 0x00, 0x01, 0x02,
};

enum { R_WAIT = X + 8, R_COUNT = X + 10, R_PAD = X + 11, I1 = X + 12, I2 = X + 40, I_VNI = 0, I_GEN = 4,
	I_VERSION = 8, I_CURSOR = 16, I_CURSOR_IP = 24 };

static bool
req_equal(const struct sync_req *a, const struct sync_req *b)
{
	if (a->id != b->id || a->wait_ms != b->wait_ms || a->count != b->count)
		return false;
	for (int i = 0; i < a->count; i++) {
		const struct sync_item *x = &a->items[i], *y = &b->items[i];

		if (x->vni != y->vni || x->gen != y->gen || x->version != y->version ||
		    x->cursor_version != y->cursor_version || x->cursor_ip != y->cursor_ip)
			return false;
	}
	return true;
}

/* --- requests ------------------------------------------------------------------- */

static void
expect_req_round_trip(const struct sync_req *r)
{
	uint8_t buf[SYNC_DGRAM_MAX];
	struct sync_req d;
	int n;

	n = sync_req_encode(r, buf, sizeof(buf));
	cr_assert_eq(n, X + 12 + 28 * r->count, "encode returned %d", n);
	cr_assert_eq(sync_type(buf, (size_t)n), SYNC_REQ);
	memset(&d, 0xa5, sizeof(d));
	cr_assert_eq(sync_req_decode(buf, (size_t)n, &d), 0);
	cr_assert(req_equal(r, &d), "the request does not round-trip");
}

Test(sync, requests_round_trip_with_1_and_64_items_at_edge_values)
{
	struct sync_req r = { .id = 0, .wait_ms = 0, .count = 1 };

	r.items[0] = (struct sync_item){ .vni = 1 };
	expect_req_round_trip(&r);
	r = (struct sync_req){ .id = UINT32_MAX, .wait_ms = UINT16_MAX, .count = 1 };
	r.items[0] = (struct sync_item){ .vni = 0xffffff, .gen = UINT32_MAX,
		.version = UINT64_MAX - 1, .cursor_version = UINT64_MAX, .cursor_ip = UINT32_MAX };
	expect_req_round_trip(&r);
	r.items[0] = (struct sync_item){ .vni = 5, .version = 0, .cursor_version = 1 };
	expect_req_round_trip(&r);

	r = (struct sync_req){ .id = 77, .wait_ms = 1000, .count = SYNC_VNIS_MAX };
	for (int i = 0; i < SYNC_VNIS_MAX; i++)
		r.items[i] = (struct sync_item){ .vni = 0xffffff - (uint32_t)i * 1000,
			.gen = (uint32_t)i * 0x01010101u, .version = (uint64_t)i << 40,
			.cursor_version = i % 2 ? ((uint64_t)i << 40) + 1 : 0,
			.cursor_ip = i % 2 ? 0x0a000000u + (uint32_t)i : 0 };
	expect_req_round_trip(&r);
}

Test(sync, request_layout_matches_the_doc)
{
	struct sync_req r = req2(), d;
	uint8_t buf[256];
	int n = sync_req_encode(&r, buf, sizeof(buf));

	cr_assert_eq(n, (int)sizeof(req2_dgram));
	cr_assert_arr_eq(buf, req2_dgram, sizeof(req2_dgram), "request bytes differ from the doc");
	cr_assert_eq(sync_req_decode(req2_dgram, sizeof(req2_dgram), &d), 0);
	cr_assert(req_equal(&r, &d));
}

static bool
untouched(const uint8_t *f, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (f[i] != 0xee)
			return false;
	return true;
}

#define REQ_ENCODE_REFUSES(what, ...)						\
	do {									\
		struct sync_req m_ = req2(), *m = &m_;				\
		uint8_t f_[2048];						\
		int r_;								\
										\
		__VA_ARGS__;							\
		memset(f_, 0xee, sizeof(f_));					\
		r_ = sync_req_encode(m, f_, sizeof(f_));			\
		cr_expect_eq(r_, -EINVAL, "%s: encode returned %d", what, r_);	\
		cr_expect(untouched(f_, sizeof(f_)), "%s: a refused encode wrote", what); \
	} while (0)

Test(sync, request_encode_refuses_what_decode_would_and_writes_nothing)
{
	struct sync_req r = req2();
	uint8_t f[256];

	REQ_ENCODE_REFUSES("count 0", m->count = 0);
	REQ_ENCODE_REFUSES("count 65", m->count = SYNC_VNIS_MAX + 1);
	REQ_ENCODE_REFUSES("vni 0", m->items[1].vni = 0);
	REQ_ENCODE_REFUSES("vni 0x1000000", m->items[0].vni = 0x1000000);
	REQ_ENCODE_REFUSES("a VNI twice", m->items[1].vni = 100);
	REQ_ENCODE_REFUSES("cursor at the version", m->items[1].cursor_version = 9);
	REQ_ENCODE_REFUSES("cursor before the version", m->items[1].cursor_version = 8);
	REQ_ENCODE_REFUSES("cursor IP without a cursor", m->items[0].cursor_ip = 1);
	/* fuzz/sync.c found it: a name_len past the name's NUL, which decode refuses */
	REQ_ENCODE_REFUSES("a NUL in the name", m->h.name_len = (uint8_t)(m->h.name_len + 3));

	for (size_t len = 0; len < sizeof(req2_dgram); len++) {
		memset(f, 0xee, sizeof(f));
		cr_expect_eq(sync_req_encode(&r, f, len), -ENOSPC, "in %zu bytes", len);
		cr_expect(untouched(f, sizeof(f)), "a refused encode wrote");
	}
}

#define REQ_MALFORMED(what, ...)						\
	do {									\
		uint8_t f[2048];						\
		size_t n = sizeof(req2_dgram);					\
		struct sync_req d_;						\
		int r_;								\
										\
		memset(f, 0, sizeof(f));					\
		memcpy(f, req2_dgram, n);					\
		__VA_ARGS__;							\
		r_ = sync_req_decode(f, n, &d_);				\
		cr_expect_eq(r_, -EPROTO, "%s: decode returned %d", what, r_);	\
	} while (0)

Test(sync, malformed_requests_are_eproto)
{
	static const uint8_t item[28] = { 0, 0, 1, 0 };	/* vni 256, version 0, no cursor */
	struct sync_req d;
	uint8_t g[2048];
	size_t gn = sizeof(req2_dgram);

	/* the base and the helpers' own changes decode */
	memcpy(g, req2_dgram, gn);
	ins(g, &gn, gn, item, sizeof(item));
	g[R_COUNT] = 3;
	cr_assert_eq(sync_req_decode(g, gn, &d), 0, "a third item");

	REQ_MALFORMED("magic", f[D_MAGIC + 1] = 0x54);
	REQ_MALFORMED("version 0", f[D_VERSION] = 0);
	REQ_MALFORMED("version 1", f[D_VERSION] = 1);
	REQ_MALFORMED("version 2 (a 16-byte MAC)", f[D_VERSION] = 2);
	REQ_MALFORMED("version 3 (64 VTEPs a section)", f[D_VERSION] = 3);
	REQ_MALFORMED("version 5", f[D_VERSION] = 5);
	REQ_MALFORMED("type 0", f[D_TYPE] = 0);
	REQ_MALFORMED("type RESP", f[D_TYPE] = SYNC_RESP);
	REQ_MALFORMED("type LEARN", f[D_TYPE] = SYNC_LEARN);
	REQ_MALFORMED("type 4", f[D_TYPE] = 4);
	REQ_MALFORMED("pad", f[R_PAD] = 1);
	REQ_MALFORMED("count 0", f[R_COUNT] = 0; n = X + 12);
	REQ_MALFORMED("count 65", f[R_COUNT] = 65; n = X + 12 + 28 * 65);
	REQ_MALFORMED("count 3 for two items", f[R_COUNT] = 3);
	REQ_MALFORMED("count 1 for two items", f[R_COUNT] = 1);
	REQ_MALFORMED("a byte too many", f[n++] = 0);
	REQ_MALFORMED("a byte short", n--);
	REQ_MALFORMED("28 bytes too many", ins(f, &n, n, item, sizeof(item)));
	REQ_MALFORMED("vni 0", put32(f + I1 + I_VNI, 0));
	REQ_MALFORMED("vni 0x1000000", put32(f + I2 + I_VNI, 0x1000000));
	REQ_MALFORMED("a VNI twice", put32(f + I2 + I_VNI, 100));
	REQ_MALFORMED("cursor at the version", put64(f + I2 + I_CURSOR, 9));
	REQ_MALFORMED("cursor before the version", put64(f + I2 + I_CURSOR, 3));
	REQ_MALFORMED("cursor IP without a cursor", put32(f + I1 + I_CURSOR_IP, 1));
}

/* --- responses ------------------------------------------------------------------ */

Test(sync, response_layout_matches_the_doc)
{
	uint8_t buf[DGRAM];
	size_t n = build(buf, sizeof(buf), SYNC_RESP, 0x01020304, doc_spec, 2);

	cr_assert_eq(n, sizeof(doc_dgram));
	cr_assert_arr_eq(buf, doc_dgram, sizeof(doc_dgram), "response bytes differ from the doc");
	cr_assert_eq(sync_type(buf, n), SYNC_RESP);
	expect_decodes_to(doc_dgram, sizeof(doc_dgram), SYNC_RESP, 0x01020304, doc_spec, 2);

	n = build(buf, sizeof(buf), SYNC_LEARN, 0, learn_spec, 1);
	cr_assert_eq(n, sizeof(learn_dgram));
	cr_assert_arr_eq(buf, learn_dgram, sizeof(learn_dgram), "LEARN bytes differ from the doc");
	cr_assert_eq(sync_type(buf, n), SYNC_LEARN);
	expect_decodes_to(learn_dgram, sizeof(learn_dgram), SYNC_LEARN, 0, learn_spec, 1);
}

Test(sync, a_cursor_sits_between_the_section_header_and_its_entries)
{
	static const uint8_t want[] = {
		0x56, 0x53, 0x04, 0x02, 0x00, 0x00, 0x00, 0x09, HDR_REST,
		0x01, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x64, 0x00, 0x00, 0x00, 0x01,
		0x01, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x04,		/* OK, MORE, 1, 1, 4 */
		0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 4,
		0, 0, 0, 0, 0, 0, 0, 3, 0x0a, 0x00, 0x00, 0x05,		/* cursor */
		0x06, 0x0a, 0x01, 0x00,				/* 0.0.0.5 v3 vtep 0 */
		0x0a, 0x00, 0x00, 0x01,
	};
	const struct sync_entry e = set_def(5, 0x0a000001, 3);
	const struct spec s = { .vni = 100, .gen = 1, .status = SYNC_OK, .since = 2, .upto = 4,
		.e = &e, .n = 1, .more = true, .cursor_version = 3, .cursor_ip = 0x0a000005 };
	uint8_t buf[DGRAM];
	size_t n = build(buf, sizeof(buf), SYNC_RESP, 9, &s, 1);

	cr_assert_eq(n, sizeof(want));
	cr_assert_arr_eq(buf, want, sizeof(want));
	expect_decodes_to(buf, n, SYNC_RESP, 9, &s, 1);
}

Test(sync, responses_of_64_sections_of_every_status_round_trip)
{
	static uint8_t buf[SYNC_DGRAM_MAX];
	static struct sync_entry e[SYNC_SECTIONS_MAX][8];
	struct spec s[SYNC_SECTIONS_MAX];
	size_t n;

	for (int i = 0; i < SYNC_SECTIONS_MAX; i++) {
		uint8_t status = (uint8_t)(SYNC_OK + i % 4);
		uint64_t since = i == 0 ? 0 : (uint64_t)i * 1000;
		size_t k = 0;

		s[i] = (struct spec){ .vni = i == 0 ? 1 : i == 1 ? 0xffffff : 1000 + (uint32_t)i,
			.gen = (uint32_t)i * 0x9e3779b9u, .status = status, .since = since,
			.upto = since + (status == SYNC_OK ? 7 : (uint64_t)i % 3) };
		if (i == 2) {
			s[i].since = UINT64_MAX;	/* a section of nothing at the top */
			s[i].upto = UINT64_MAX;
		}
		if (status != SYNC_OK || i % 8 == 4)
			continue;		/* i % 8 == 4: OK with nothing new */
		e[i][k++] = set_def(0, 0x0a000001, since + 1);
		e[i][k++] = set_mac(0xffffffff, 0x0a000002, mac_x, since + 1);
		e[i][k++] = del_entry(0x0a000003, since + 2);
		e[i][k++] = set_def(0x0a000004, 0x0a000001, since + 2);
		e[i][k++] = set_mac(0x0a000005, 0x0a000003, (const uint8_t[6]){ 0xfe, 0xff, 0xff,
		    0xff, 0xff, 0xff }, since + 2);
		e[i][k++] = del_entry(0x0a000005 + (uint32_t)i, since + 6);
		if (i % 3 == 0)
			e[i][k++] = set_def(0x0a000001, 0x0a000002, since + 7);
		s[i].e = e[i];
		s[i].n = k;
		if (i % 8 == 0) {
			s[i].more = true;
			s[i].cursor_version = e[i][k - 1].version;
			s[i].cursor_ip = e[i][k - 1].ip;
		}
	}
	n = build(buf, sizeof(buf), SYNC_RESP, 0xfeedf00d, s, SYNC_SECTIONS_MAX);
	expect_decodes_to(buf, n, SYNC_RESP, 0xfeedf00d, s, SYNC_SECTIONS_MAX);

	n = build(buf, sizeof(buf), SYNC_RESP, 0, s, 0);
	cr_assert_eq(n, X + 12, "a response of no section");
	expect_decodes_to(buf, n, SYNC_RESP, 0, s, 0);
}

Test(sync, varints_reach_the_ends_of_their_ranges)
{
	/* the first version delta is 2^64 - 1 (10 bytes); IPs jump across the whole range */
	static const struct sync_entry e[] = {
		{ .ip = UINT32_MAX, .op = SYNC_DEL, .version = UINT64_MAX - 1 },
		{ .ip = 0, .vtep = 1, .mac = { 2, 0, 0, 0, 0, 1 }, .op = SYNC_SET,
		    .version = UINT64_MAX },
		{ .ip = UINT32_MAX, .vtep = 2, .mac = { 2, 0, 0, 0, 0, 2 }, .op = SYNC_SET,
		    .version = UINT64_MAX },
	};
	const struct spec s = { .vni = 9, .gen = 9, .status = SYNC_OK, .since = 0,
		.upto = UINT64_MAX, .e = e, .n = 3 };
	uint8_t buf[DGRAM], f[DGRAM];
	struct sync_resp r;
	struct sync_entry d[4];
	size_t n = build(buf, sizeof(buf), SYNC_RESP, 1, &s, 1), m;
	/* entry 1: flags, IP delta 2^32 - 1 (zigzag 2^33 - 2: 5 bytes), version (10 bytes) */
	const size_t v10 = X + 44 + 1 + 5 + 9;

	expect_decodes_to(buf, n, SYNC_RESP, 1, &s, 1);
	cr_assert_eq(buf[X + 44], 0x05);
	cr_assert_eq(buf[X + 44 + 1 + 4], 0x1f, "the IP delta's last byte");
	cr_assert_eq(buf[v10], 0x01, "the version delta's tenth byte");

	memcpy(f, buf, n);
	f[v10] = 0x02;
	cr_expect_eq(sync_resp_decode(f, n, &r, d, 4), -EPROTO, "a varint beyond 64 bits");
	memcpy(f, buf, n);
	m = n;
	f[v10] = 0x81;
	ins(f, &m, v10 + 1, (const uint8_t[]){ 0x00 }, 1);
	add16(f + S1 + S_ELEN, 1);
	cr_expect_eq(sync_resp_decode(f, m, &r, d, 4), -EPROTO, "an 11-byte varint");
	memcpy(f, buf, n);
	f[X + 44 + 1 + 4] = 0x20;	/* IP delta +2^32: beyond 32 bits */
	cr_expect_eq(sync_resp_decode(f, n, &r, d, 4), -EPROTO, "an IP beyond 32 bits");
}

Test(sync, learn_round_trips_at_edge_values)
{
	const struct sync_entry e[] = {
		set_mac(UINT32_MAX, UINT32_MAX, mac_x, UINT64_MAX),
		set_def(0, 0, 1),
	};
	struct spec s = { .vni = 0xffffff, .gen = UINT32_MAX, .status = SYNC_OK, .since = 0,
		.upto = UINT64_MAX, .e = &e[0], .n = 1 };
	uint8_t buf[DGRAM];
	size_t n = build(buf, sizeof(buf), SYNC_LEARN, 0, &s, 1);

	expect_decodes_to(buf, n, SYNC_LEARN, 0, &s, 1);
	s = (struct spec){ .vni = 1, .gen = 0, .status = SYNC_OK, .since = 0, .upto = 1,
		.e = &e[1], .n = 1 };
	n = build(buf, sizeof(buf), SYNC_LEARN, 0, &s, 1);
	expect_decodes_to(buf, n, SYNC_LEARN, 0, &s, 1);
}

/*
 * Changes of VNI 7 after version 10, up to 30: every IP once, in (version, ip) order,
 * one in five a delete, one in three with its own MAC, on 8 VTEPs.
 */
static size_t
changes(struct sync_entry *e, size_t n)
{
	size_t k = 0;

	for (uint64_t v = 11; v <= 30 && k < n; v++)
		for (uint32_t i = 0; i < n / 20 && k < n; i++) {
			uint32_t ip = 0x0a000000u + (uint32_t)(v * 7919 % 97) * 256 + i * 3;

			if (k % 5 == 2)
				e[k] = del_entry(ip, v);
			else if (k % 3 == 1)
				e[k] = set_mac(ip, 0xc0a80001u + (uint32_t)(k % 8),
				    (const uint8_t[6]){ 0x06, 1, 2, 3, (uint8_t)k, 5 }, v);
			else
				e[k] = set_def(ip, 0xc0a80001u + (uint32_t)(k % 8), v);
			k++;
		}
	return k;
}

/*
 * Send e[0..n) of one VNI in pages of cap bytes as syncd does: fill a page until an
 * entry does not fit, end it with MORE and the last entry as the cursor, start the next
 * page after it. Each page is decoded and compared. Returns the pages; *bytes their sum.
 */
static int
send_pages(const struct sync_entry *e, size_t n, uint64_t since, uint64_t upto, size_t cap,
    size_t *bytes)
{
	static uint8_t buf[SYNC_DGRAM_MAX + 64];
	struct sync_builder b;
	size_t i = 0, len;
	int pages = 0;

	*bytes = 0;
	do {
		size_t start = i;
		struct spec s = { .vni = 7, .gen = 3, .status = SYNC_OK, .since = since,
			.upto = upto, .e = e + i };

		memset(buf, 0xee, sizeof(buf));
		sync_build_begin(&b, buf, cap, SYNC_RESP, (uint32_t)pages, NULL);
		cr_assert_eq(sync_build_section(&b, s.vni, s.gen, s.status, since, upto), 0);
		while (i < n && sync_build_entry(&b, &e[i]) == 0)
			i++;
		cr_assert_gt(i, start, "a page holds at least one entry");
		if (i < n) {
			/* the refused entry wrote nothing, and the page is full */
			cr_assert(untouched(buf + b.len, sizeof(buf) - b.len),
			    "a refused entry wrote");
			cr_assert_gt(b.len + 12 + 4 * (size_t)b.nvtep + BIG_ENTRY, cap,
			    "the page ended with room left");
		}
		s.n = i - start;
		s.more = i < n;
		s.cursor_version = s.more ? e[i - 1].version : 0;
		s.cursor_ip = s.more ? e[i - 1].ip : 0;
		sync_build_section_end(&b, s.more, s.cursor_version, s.cursor_ip);
		len = sync_build_finish(&b);
		cr_assert_leq(len, cap);
		expect_decodes_to(buf, len, SYNC_RESP, (uint32_t)pages, &s, 1);
		*bytes += len;
		pages++;
	} while (i < n);
	return pages;
}

Test(sync, a_page_ends_where_the_datagram_is_full_and_resumes_at_its_cursor)
{
	static struct sync_entry e[4000];
	size_t n = changes(e, 4000), bytes;
	int pages;

	cr_assert_eq(n, 4000);
	pages = send_pages(e, n, 10, 30, DGRAM, &bytes);
	cr_assert_gt(pages, 4, "4000 entries take several pages of %d bytes", DGRAM);
	printf("sync: 4000 mixed entries: %d pages of <= %d bytes, %.2f bytes an entry\n",
	    pages, DGRAM, (double)bytes / (double)n);

	/* one large datagram: the builder keeps to SYNC_DGRAM_MAX whatever its buffer */
	pages = send_pages(e, n, 10, 30, SYNC_DGRAM_MAX + 64, &bytes);
	cr_assert_eq(pages, 1);
}

Test(sync, sequential_ips_cost_at_most_5_bytes_an_entry)
{
	static struct sync_entry e[1000];
	const uint32_t vteps[4] = { 0xc0a80001, 0xc0a80002, 0xc0a80003, 0xc0a80004 };
	size_t bytes, one;
	double per, per_one;
	int pages;

	for (uint32_t i = 0; i < 1000; i++)
		e[i] = set_def(0x0a010001u + i, vteps[i % 4], 5);
	pages = send_pages(e, 1000, 4, 5, DGRAM, &bytes);
	per = (double)bytes / 1000.0;
	send_pages(e, 1000, 4, 5, SYNC_DGRAM_MAX, &one);
	per_one = (double)one / 1000.0;
	printf("sync: 1000 sequential IPs, 1 version, 4 VTEPs, default MACs: %.2f bytes an "
	    "entry in %d datagrams of <= %d bytes (headers included), %.2f in one datagram\n",
	    per, pages, DGRAM, per_one);
	cr_assert_leq(per, 5.0, "%.2f bytes an entry", per);
	cr_assert_leq(per_one, 5.0, "%.2f bytes an entry", per_one);
}

/* --- malformed responses -------------------------------------------------------- */

/*
 * One malformed case: copy the valid datagram base, run the statements that change one
 * thing of the datagram f of n bytes, and expect the decoder to refuse it with want.
 */
#define RESP_DECODES(want, base, what, ...)					\
	do {									\
		static struct sync_entry d_[64];				\
		struct sync_resp r_;						\
		uint8_t f[DGRAM];						\
		size_t n = sizeof(base);					\
		int rc_;							\
										\
		memcpy(f, base, n);						\
		__VA_ARGS__;							\
		rc_ = sync_resp_decode(f, n, &r_, d_, 64);			\
		cr_expect_eq(rc_, want, "%s: decode returned %d, want %d", what, rc_, want); \
	} while (0)
#define MALFORMED(base, what, ...)	RESP_DECODES(-EPROTO, base, what, __VA_ARGS__)
#define VALID(base, what, ...)		RESP_DECODES(0, base, what, __VA_ARGS__)

/* With MORE: set the flag and put a cursor (version v, IP 0x0a000005) after the header. */
static void
more(uint8_t *f, size_t *n, size_t sec, uint64_t v)
{
	uint8_t c[12] = { 0 };

	put64(c, v);
	put32(c + 8, 0x0a000005);
	f[sec + S_FLAGS] = SYNC_F_MORE;
	ins(f, n, sec + S_SIZE, c, sizeof(c));
}

Test(sync, malformed_response_header_is_eproto)
{
	VALID(doc_dgram, "the base");
	MALFORMED(doc_dgram, "magic", f[D_MAGIC] = 0x57);
	MALFORMED(doc_dgram, "version 0", f[D_VERSION] = 0);
	MALFORMED(doc_dgram, "version 1", f[D_VERSION] = 1);
	MALFORMED(doc_dgram, "version 2 (a 16-byte MAC)", f[D_VERSION] = 2);
	MALFORMED(doc_dgram, "version 3 (64 VTEPs a section)", f[D_VERSION] = 3);
	MALFORMED(doc_dgram, "version 5", f[D_VERSION] = 5);
	MALFORMED(doc_dgram, "type 0", f[D_TYPE] = 0);
	MALFORMED(doc_dgram, "type REQ", f[D_TYPE] = SYNC_REQ);
	MALFORMED(doc_dgram, "type 4", f[D_TYPE] = 4);
	MALFORMED(doc_dgram, "pad byte 9", f[D_PAD] = 1);
	MALFORMED(doc_dgram, "pad byte 10", f[D_PAD + 1] = 0x80);
	MALFORMED(doc_dgram, "pad byte 11", f[D_PAD + 2] = 1);
	MALFORMED(doc_dgram, "count 3 for 2 sections", f[D_COUNT] = 3);
	MALFORMED(doc_dgram, "count 1 for 2 sections", f[D_COUNT] = 1);
	MALFORMED(doc_dgram, "count 0 for 2 sections", f[D_COUNT] = 0);
	MALFORMED(doc_dgram, "count 65", f[D_COUNT] = 65);
	MALFORMED(doc_dgram, "a byte after the last section", f[n++] = 0);
	MALFORMED(doc_dgram, "a header alone", n = 8);
}

Test(sync, malformed_section_is_eproto)
{
	/* the helpers' own changes, and the other statuses, decode */
	VALID(doc_dgram, "MORE with a cursor", more(f, &n, S1, 7));
	VALID(doc_dgram, "MORE with a cursor at upto", more(f, &n, S1, 8));
	VALID(doc_dgram, "RETRY", f[S2 + S_STATUS] = SYNC_RETRY);
	VALID(doc_dgram, "UNKNOWN", f[S2 + S_STATUS] = SYNC_UNKNOWN);
	VALID(doc_dgram, "since == upto", put64(f + S2 + S_SINCE, 9));

	MALFORMED(doc_dgram, "vni 0", put32(f + S1 + S_VNI, 0));
	MALFORMED(doc_dgram, "vni 0x1000000", put32(f + S2 + S_VNI, 0x1000000));
	MALFORMED(doc_dgram, "status 0", f[S2 + S_STATUS] = 0);
	MALFORMED(doc_dgram, "status 5", f[S2 + S_STATUS] = 5);
	MALFORMED(doc_dgram, "flag 0x02", f[S1 + S_FLAGS] = 0x02);
	MALFORMED(doc_dgram, "flag 0x80", f[S1 + S_FLAGS] = 0x80);
	MALFORMED(doc_dgram, "pad", f[S1 + S_PAD] = 1);
	MALFORMED(doc_dgram, "upto < since", put64(f + S2 + S_SINCE, 10));
	MALFORMED(doc_dgram, "MORE without its cursor", f[S1 + S_FLAGS] = SYNC_F_MORE);
	MALFORMED(doc_dgram, "MORE with the cursor at since", more(f, &n, S1, 6));
	MALFORMED(doc_dgram, "MORE with the cursor after upto", more(f, &n, S1, 9));
	MALFORMED(doc_dgram, "MORE with the cursor at 0", more(f, &n, S1, 0));
	MALFORMED(doc_dgram, "MORE on RELEARN", more(f, &n, S2, 6));
	MALFORMED(doc_dgram, "RELEARN with a VTEP",
	    f[S2 + S_NVTEP] = 1; ins(f, &n, n, (const uint8_t[]){ 10, 0, 0, 1 }, 4));
	MALFORMED(doc_dgram, "RELEARN with an entry",
	    f[S2 + S_NENTRIES + 1] = 1; f[S2 + S_ELEN + 1] = 3;
	    ins(f, &n, n, (const uint8_t[]){ 0x05, 0x07, 0x01 }, 3));
	MALFORMED(doc_dgram, "nentries one more", add16(f + S1 + S_NENTRIES, 1));
	MALFORMED(doc_dgram, "nentries one less", add16(f + S1 + S_NENTRIES, -1));
	MALFORMED(doc_dgram, "entries_len one more", add16(f + S1 + S_ELEN, 1));
	MALFORMED(doc_dgram, "entries_len one less", add16(f + S1 + S_ELEN, -1));
	MALFORMED(doc_dgram, "entries_len beyond the datagram", put16(f + S1 + S_ELEN, 0xffff));
	MALFORMED(doc_dgram, "nvtep one more", f[S1 + S_NVTEP] = 3);
	MALFORMED(doc_dgram, "nvtep one less", f[S1 + S_NVTEP] = 1);
	MALFORMED(doc_dgram, "nvtep 255: a table past the datagram", f[S1 + S_NVTEP] = 255);
	MALFORMED(doc_dgram, "a VTEP never used",
	    f[S1 + S_NVTEP] = 3; ins(f, &n, S2, (const uint8_t[]){ 10, 0, 0, 1 }, 4));
	MALFORMED(doc_dgram, "a VTEP twice", put32(f + VTEPS + 4, 0xc0a8000b));
}

Test(sync, malformed_entry_is_eproto)
{
	/* the helpers' own changes decode: an explicit MAC, a longer version delta */
	VALID(doc_dgram, "10.0.0.5 with its own MAC",
	    f[E1] = 0x04; ins(f, &n, E1_VTEP + 1, mac_x, 6); add16(f + S1 + S_ELEN, 6));

	MALFORMED(doc_dgram, "flag 0x08", f[E1] |= 0x08);
	MALFORMED(doc_dgram, "flag 0x80", f[E2] |= 0x80);
	MALFORMED(doc_dgram, "a delete with MAC_DEFAULT", f[E3] |= 0x02);
	MALFORMED(doc_dgram, "the first entry without a version",
	    f[E1] = 0x02; del(f, &n, E1_VER, 1); add16(f + S1 + S_ELEN, -1));
	MALFORMED(doc_dgram, "a version delta of 0",
	    f[E2] = 0x04; ins(f, &n, E2_IP + 1, (const uint8_t[]){ 0 }, 1);
	    add16(f + S1 + S_ELEN, 1));
	MALFORMED(doc_dgram, "a version after upto", f[E3_VER] = 0x02);
	MALFORMED(doc_dgram, "the first version after upto", f[E1_VER] = 0x03);
	MALFORMED(doc_dgram, "the same (version, ip) twice", f[E2_IP] = 0x00);
	MALFORMED(doc_dgram, "a lower IP in the same version", f[E2_IP] = 0x01);
	MALFORMED(doc_dgram, "an IP below 0", f[E1_IP] = 0x8b);
	MALFORMED(doc_dgram, "an IP above 32 bits", f[E1_IP + 4] = 0x3f);
	MALFORMED(doc_dgram, "an overlong IP delta",
	    f[E2_IP] = 0x82; ins(f, &n, E2_IP + 1, (const uint8_t[]){ 0 }, 1);
	    add16(f + S1 + S_ELEN, 1));
	MALFORMED(doc_dgram, "an overlong version delta",
	    f[E3_VER] = 0x81; ins(f, &n, E3_VER + 1, (const uint8_t[]){ 0 }, 1);
	    add16(f + S1 + S_ELEN, 1));
	MALFORMED(doc_dgram, "a varint cut by the end of the entries",
	    f[E3_VER] = 0x81);
	MALFORMED(doc_dgram, "a VTEP index past the table", f[E2_VTEP] = 2);
	MALFORMED(doc_dgram, "a VTEP index out of first-use order", f[E1_VTEP] = 1);
	MALFORMED(doc_dgram, "a VTEP of the table left unused", f[E2_VTEP] = 0);
	MALFORMED(doc_dgram, "an explicit MAC that is the default",
	    memcpy(f + E2_MAC, (const uint8_t[6]){ 2, 0, 0x0a, 0, 0, 6 }, 6));
	MALFORMED(doc_dgram, "a multicast MAC", f[E2_MAC] = 0x03);
	MALFORMED(doc_dgram, "a zero MAC", memset(f + E2_MAC, 0, 6));
	MALFORMED(doc_dgram, "a SET without its MAC", f[E2] = 0x02);
	MALFORMED(doc_dgram, "a delete read as a SET", f[E3] = 0x04);
}

Test(sync, a_vtep_table_in_another_order_is_eproto)
{
	/* 0.0.0.1 on A, 0.0.0.2 on B, 0.0.0.3 on A: indexes 0, 1, 0, table A, B */
	const struct sync_entry e[] = {
		set_def(1, 0x0a00000a, 1), set_def(2, 0x0a00000b, 1), set_def(3, 0x0a00000a, 1),
	};
	const struct spec sp = { .vni = 5, .gen = 1, .status = SYNC_OK, .since = 0, .upto = 1,
		.e = e, .n = 3 };
	uint8_t f[DGRAM];
	struct sync_resp r;
	struct sync_entry d[3];
	size_t n = build(f, sizeof(f), SYNC_RESP, 1, &sp, 1);

	cr_assert_eq(n, X + 44 + 10 + 8);
	cr_assert_arr_eq(f + X + 44, ((uint8_t[]){ 0x06, 0x02, 0x01, 0x00, 0x02, 0x02, 0x01,
	    0x02, 0x02, 0x00, 0x0a, 0, 0, 0x0a, 0x0a, 0, 0, 0x0b }), 18);
	/* the same message with the table B, A: indexes 1, 0, 1 */
	f[47] = 1;
	f[50] = 0;
	f[53] = 1;
	put32(f + 54, 0x0a00000b);
	put32(f + 58, 0x0a00000a);
	cr_expect_eq(sync_resp_decode(f, n, &r, d, 3), -EPROTO, "VTEPs not in first-use order");
}

/* A RESP the shape of a LEARN (id 0, one section since 0, one entry). */
static const uint8_t resp_del[] = {
	0x56, 0x53, 0x04, 0x02, 0, 0, 0, 0, HDR_REST, 0x01, 0, 0, 0,
	0x00, 0x00, 0x00, 0x64, 0xde, 0xad, 0xbe, 0xef,
	0x01, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x03,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7,
	0x05, 0x12, 0x05,					/* del 0.0.0.9 v5 */
};

Test(sync, malformed_learn_is_eproto)
{
	uint8_t second[] = { 0x02, 0x02, 0x00 };	/* 10.0.0.10 at v5, vtep 0 */

	VALID(learn_dgram, "the base");
	VALID(learn_dgram, "a LEARN retyped RESP", f[D_TYPE] = SYNC_RESP);
	VALID(resp_del, "a delete in a RESP");
	MALFORMED(resp_del, "a delete in a LEARN", f[D_TYPE] = SYNC_LEARN);

	MALFORMED(learn_dgram, "id 1", f[D_ID + 3] = 1);
	MALFORMED(learn_dgram, "count 0", f[D_COUNT] = 0);
	MALFORMED(learn_dgram, "count 2", f[D_COUNT] = 2);
	MALFORMED(learn_dgram, "status RELEARN", f[S1 + S_STATUS] = SYNC_RELEARN);
	MALFORMED(learn_dgram, "since 1", f[S1 + S_SINCE + 7] = 1);
	MALFORMED(learn_dgram, "MORE", more(f, &n, S1, 7));
	MALFORMED(learn_dgram, "two entries",
	    add16(f + S1 + S_NENTRIES, 1); add16(f + S1 + S_ELEN, 3);
	    ins(f, &n, X + 44 + 8, second, sizeof(second)));
	MALFORMED(learn_dgram, "no entry",
	    put16(f + S1 + S_NENTRIES, 0); put16(f + S1 + S_ELEN, 0); f[S1 + S_NVTEP] = 0;
	    n = X + 44);
}

Test(sync, every_truncation_is_refused)
{
	static struct sync_entry e[3000], d[3000];
	static uint8_t big[SYNC_DGRAM_MAX];
	struct spec s = { .vni = 7, .gen = 1, .status = SYNC_OK, .since = 10, .upto = 30,
		.e = e, .n = changes(e, 3000), .more = true, .cursor_version = 30,
		.cursor_ip = e[2999].ip };
	struct sync_req r = { .count = SYNC_VNIS_MAX }, dr;
	struct sync_resp resp;
	uint8_t req[2048];
	size_t n;
	int rn;

	for (size_t k = 0; k < sizeof(doc_dgram); k++)
		cr_expect_eq(sync_resp_decode(doc_dgram, k, &resp, d, 3000), -EPROTO,
		    "the doc's response cut at %zu", k);
	for (size_t k = 0; k < sizeof(learn_dgram); k++)
		cr_expect_eq(sync_resp_decode(learn_dgram, k, &resp, d, 3000), -EPROTO,
		    "a LEARN cut at %zu", k);
	n = build(big, sizeof(big), SYNC_RESP, 1, &s, 1);
	cr_assert_eq(sync_resp_decode(big, n, &resp, d, 3000), 0);
	for (size_t k = 0; k < n; k++)
		cr_assert_eq(sync_resp_decode(big, k, &resp, d, 3000), -EPROTO,
		    "a response of 3000 entries cut at %zu", k);

	for (int i = 0; i < SYNC_VNIS_MAX; i++)
		r.items[i] = (struct sync_item){ .vni = (uint32_t)i + 1, .version = 3 };
	rn = sync_req_encode(&r, req, sizeof(req));
	cr_assert_eq(rn, X + 12 + 28 * 64);
	for (int k = 0; k < rn; k++)
		cr_expect_eq(sync_req_decode(req, (size_t)k, &dr), -EPROTO, "cut at %d", k);
	for (size_t k = 0; k < SYNC_HDR_SIZE; k++)
		cr_expect_eq(sync_type(doc_dgram, k), -EPROTO, "a header cut at %zu", k);
}

Test(sync, more_entries_than_the_array_holds_is_enospc)
{
	struct sync_resp r;
	struct sync_entry d[3];
	uint8_t f[sizeof(doc_dgram)];

	cr_expect_eq(sync_resp_decode(doc_dgram, sizeof(doc_dgram), &r, d, 3), 0);
	cr_expect_eq(sync_resp_decode(doc_dgram, sizeof(doc_dgram), &r, d, 2), -ENOSPC);
	cr_expect_eq(sync_resp_decode(doc_dgram, sizeof(doc_dgram), &r, NULL, 0), -ENOSPC);
	cr_expect_eq(sync_resp_decode(learn_dgram, sizeof(learn_dgram), &r, NULL, 0), -ENOSPC);
	/* a datagram both too large and malformed is malformed */
	memcpy(f, doc_dgram, sizeof(f));
	f[E3] |= 0x02;
	cr_expect_eq(sync_resp_decode(f, sizeof(f), &r, d, 2), -EPROTO,
	    "a bad last entry, 3 entries for 2");
}

Test(sync, type_checks_magic_version_and_size)
{
	static uint8_t big[SYNC_DGRAM_MAX + 1];

	cr_expect_eq(sync_type(req2_dgram, sizeof(req2_dgram)), SYNC_REQ);
	cr_expect_eq(sync_type(doc_dgram, SYNC_HDR_SIZE), SYNC_RESP);
	cr_expect_eq(sync_type(learn_dgram, sizeof(learn_dgram)), SYNC_LEARN);
	memcpy(big, doc_dgram, sizeof(doc_dgram));
	cr_expect_eq(sync_type(big, SYNC_DGRAM_MAX), SYNC_RESP);
	cr_expect_eq(sync_type(big, SYNC_DGRAM_MAX + 1), -EPROTO, "larger than a datagram");
	big[0] = 0x53;
	cr_expect_eq(sync_type(big, 64), -EPROTO, "magic");
	big[0] = 0x56;
	big[2] = 1;
	cr_expect_eq(sync_type(big, 64), -EPROTO, "version");
	big[2] = 2;
	big[3] = 0;
	cr_expect_eq(sync_type(big, 64), -EPROTO, "type 0");
	big[3] = 4;
	cr_expect_eq(sync_type(big, 64), -EPROTO, "type 4");
}

/* --- builder limits ------------------------------------------------------------- */

Test(sync, builder_refuses_what_does_not_fit_and_writes_nothing)
{
	static uint8_t buf[SYNC_DGRAM_MAX];
	const size_t ok_min = X + 12 + 32 + 12 + 23 + 4;
	struct sync_builder b;
	struct sync_entry e;
	size_t len;

	/* an OK section opens with room for its first entry, whatever it is */
	memset(buf, 0xee, sizeof(buf));
	sync_build_begin(&b, buf, ok_min - 1, SYNC_RESP, 1, NULL);
	cr_expect_eq(sync_build_section(&b, 5, 1, SYNC_OK, 0, UINT64_MAX), -ENOSPC);
	cr_expect(untouched(buf + X + 12, sizeof(buf) - X - 12), "a refused section wrote");
	cr_expect_eq(sync_build_section(&b, 5, 1, SYNC_RETRY, 0, 0), 0, "RETRY takes 32");
	sync_build_section_end(&b, false, 0, 0);
	cr_expect_eq(sync_build_finish(&b), X + 44);

	sync_build_begin(&b, buf, ok_min, SYNC_RESP, 1, NULL);
	cr_assert_eq(sync_build_section(&b, 5, 1, SYNC_OK, 0, UINT64_MAX), 0);
	e = set_mac(UINT32_MAX, 1, mac_x, UINT64_MAX);
	cr_assert_eq(sync_build_entry(&b, &e), 0, "the largest entry fits");
	sync_build_section_end(&b, true, UINT64_MAX, UINT32_MAX);
	cr_assert_eq(sync_build_finish(&b), ok_min);

	sync_build_begin(&b, buf, X + 12 + 31, SYNC_RESP, 1, NULL);
	cr_expect_eq(sync_build_section(&b, 5, 1, SYNC_UNKNOWN, 0, 0), -ENOSPC);

	/* 64 sections, not 65 */
	sync_build_begin(&b, buf, sizeof(buf), SYNC_RESP, 1, NULL);
	for (int i = 0; i < SYNC_SECTIONS_MAX; i++) {
		cr_assert_eq(sync_build_section(&b, (uint32_t)i + 1, 0, SYNC_UNKNOWN, 0, 0), 0);
		sync_build_section_end(&b, false, 0, 0);
	}
	cr_expect_eq(sync_build_section(&b, 100, 0, SYNC_UNKNOWN, 0, 0), -ENOSPC);
	len = sync_build_finish(&b);
	cr_expect_eq(len, X + 12 + 32 * 64);
	cr_expect_eq(buf[X + 8], 64);

	/* 255 VTEPs (nvtep is a u8), not 256; an entry on a known VTEP and a delete fit */
	sync_build_begin(&b, buf, sizeof(buf), SYNC_RESP, 1, NULL);
	cr_assert_eq(sync_build_section(&b, 5, 1, SYNC_OK, 0, 9), 0);
	for (uint32_t i = 0; i < SYNC_VTEPS_MAX; i++) {
		e = set_def(i, 1000 + i, 1);
		cr_assert_eq(sync_build_entry(&b, &e), 0);
	}
	len = b.len;
	e = set_def(300, 2000, 1);
	cr_expect_eq(sync_build_entry(&b, &e), -ENOSPC, "a 256th VTEP");
	cr_expect_eq(b.len, len);
	e = set_def(300, 1063, 1);
	cr_expect_eq(sync_build_entry(&b, &e), 0, "a known VTEP");
	e = del_entry(301, 1);
	cr_expect_eq(sync_build_entry(&b, &e), 0, "a delete");
	sync_build_section_end(&b, false, 0, 0);
	len = sync_build_finish(&b);
	{
		static struct sync_entry d[300];
		struct sync_resp r;

		cr_assert_eq(sync_resp_decode(buf, len, &r, d, 300), 0);
		cr_expect_eq(r.sections[0].count, SYNC_VTEPS_MAX + 2);
		cr_expect_eq(d[SYNC_VTEPS_MAX].vtep, 1063);
	}

	/* a new VTEP needs room for its table entry too */
	sync_build_begin(&b, buf, ok_min + 3, SYNC_RESP, 1, NULL);
	cr_assert_eq(sync_build_section(&b, 5, 1, SYNC_OK, 0, 9), 0);
	e = set_def(1, 1, 1);
	cr_assert_eq(sync_build_entry(&b, &e), 0);		/* 4 bytes + its VTEP */
	len = b.len;
	while (b.cap - b.len >= 3 + 12 + 4 * 2) {		/* until a new VTEP cannot fit */
		e = set_def(b.last_ip + 1, 1, 1);
		cr_assert_eq(sync_build_entry(&b, &e), 0);
	}
	e = set_def(b.last_ip + 1, 2, 1);
	len = b.len;
	cr_expect_eq(sync_build_entry(&b, &e), -ENOSPC, "no room for a new VTEP");
	cr_expect_eq(b.len, len);
	e.vtep = 1;
	cr_expect_eq(sync_build_entry(&b, &e), 0, "the same entry on a known VTEP");
}

/* --- invalid builder uses abort ------------------------------------------------- */

static uint8_t abuf[DGRAM];

static void
open_ok(struct sync_builder *b, uint8_t status)
{
	sync_build_begin(b, abuf, sizeof(abuf), SYNC_RESP, 1, NULL);
	cr_assert_eq(sync_build_section(b, 5, 1, status, 3, 9), 0);
}

Test(sync, an_entry_out_of_order_aborts, .signal = SIGABRT)
{
	struct sync_builder b;
	struct sync_entry e = set_def(10, 1, 5);

	open_ok(&b, SYNC_OK);
	cr_assert_eq(sync_build_entry(&b, &e), 0);
	sync_build_entry(&b, &e);
}

Test(sync, an_entry_at_since_aborts, .signal = SIGABRT)
{
	struct sync_builder b;
	struct sync_entry e = set_def(10, 1, 3);

	open_ok(&b, SYNC_OK);
	sync_build_entry(&b, &e);
}

Test(sync, an_entry_after_upto_aborts, .signal = SIGABRT)
{
	struct sync_builder b;
	struct sync_entry e = set_def(10, 1, 10);

	open_ok(&b, SYNC_OK);
	sync_build_entry(&b, &e);
}

Test(sync, an_entry_in_a_relearn_section_aborts, .signal = SIGABRT)
{
	struct sync_builder b;
	struct sync_entry e = set_def(10, 1, 5);

	open_ok(&b, SYNC_RELEARN);
	sync_build_entry(&b, &e);
}

Test(sync, more_on_a_retry_section_aborts, .signal = SIGABRT)
{
	struct sync_builder b;

	open_ok(&b, SYNC_RETRY);
	sync_build_section_end(&b, true, 5, 0);
}

Test(sync, a_cursor_outside_the_section_aborts, .signal = SIGABRT)
{
	struct sync_builder b;

	open_ok(&b, SYNC_OK);
	sync_build_section_end(&b, true, 3, 0);
}

Test(sync, a_section_inside_a_section_aborts, .signal = SIGABRT)
{
	struct sync_builder b;

	open_ok(&b, SYNC_OK);
	sync_build_section(&b, 6, 1, SYNC_OK, 3, 9);
}

Test(sync, a_delete_in_a_learn_aborts, .signal = SIGABRT)
{
	struct sync_builder b;
	struct sync_entry e = del_entry(10, 5);

	sync_build_begin(&b, abuf, sizeof(abuf), SYNC_LEARN, 0, NULL);
	cr_assert_eq(sync_build_section(&b, 5, 1, SYNC_OK, 0, 9), 0);
	sync_build_entry(&b, &e);
}

Test(sync, an_invalid_mac_aborts, .signal = SIGABRT)
{
	struct sync_builder b;
	struct sync_entry e = set_mac(10, 1, (const uint8_t[6]){ 1, 0, 0x5e, 0, 0, 1 }, 5);

	open_ok(&b, SYNC_OK);
	sync_build_entry(&b, &e);
}
