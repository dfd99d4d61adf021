/*
 * wire_test: the controller stream codec. Every type round-trips at its edge values and
 * is laid out as docs/protocol.md draws it; the encoder refuses (and writes nothing for)
 * every message the decoder would refuse; an incomplete frame asks for more bytes at
 * every split point; and each malformed record, made from a valid one by changing one
 * thing, is refused, which shows that exactly that thing is checked. A record of
 * another version (version 1, before the epoch) is refused as such, but for the log
 * records a store kept, which read the same; an ERROR can be written in version 1.
 */
#include "common/wire.h"
#include "common/bytes.h"
#include "tests/unit/bytes.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define FRAME_MAX	(WIRE_LEN_SIZE + WIRE_RECORD_MAX + 16)

/* Frame offsets (length prefix included) of the fields docs/protocol.md draws. */
enum {
	F_LEN = 0, F_VERSION = 4, F_TYPE = 5, F_RSV = 6,
	HELLO_STREAM = 8, HELLO_PAD = 9, HELLO_LAST = 12, HELLO_EPOCH = 20, HELLO_NODE = 28,
	HELLO_HOST = 60,
	RULE_SEQ = 8, RULE_VNI = 16, RULE_IP = 20, RULE_VTEP = 24, RULE_MAC = 28,
	RULE_OP = 34, RULE_FLAGS = 35, RULE_VERSION = 36,
	VPC_SEQ = 8, VPC_VNI = 16, VPC_GEN = 20, VPC_VERSION = 24, VPC_OP = 32, VPC_PAD = 33,
	SNAP_SEQ = 8, SNAP_COUNT = 16, SNAP_EPOCH = 24,
	BIND_SEQ = 8, BIND_VNI = 16, BIND_IP = 20, BIND_MAC = 24, BIND_OP = 30, BIND_PAD = 31,
	BIND_TAP = 32,
	ERROR_CODE = 8, ERROR_LEN = 10, ERROR_MSG = 12,
	STATUS_SEQ = 8, STATUS_CAPACITY = 16, STATUS_USED = 20, STATUS_TOMBS = 24,
	STATUS_MAX_VNIS = 28, STATUS_VNIS = 32, STATUS_INCOMPLETE = 36, STATUS_NLISTED = 40,
	STATUS_PAD = 41, STATUS_LIST = 44,
	WANT_VNI = 8,
	PART_SEQ = 8, PART_COUNT = 16, PART_VNI = 24, PART_EPOCH = 28,
	HOST_SEQ = 8, HOST_VTEP = 16, HOST_KIND = 20, HOST_OP = 21, HOST_PAD = 22,
};

/* A gateway's STATUS: a table of 1000 with 2 incomplete VPCs, 100 and 200, listed. */
static struct wire_msg
status_two(void)
{
	struct wire_msg m = { .type = WIRE_STATUS };

	m.u.status = (struct wire_status){ .applied_seq = 77, .capacity = 1000, .used = 1000,
	    .tombs = 10, .max_vnis = 64, .vnis = 3, .incomplete = 2, .nlisted = 2,
	    .vni = { 100, 200 } };
	return m;
}

static const uint8_t mac_vm[6] = { 0x02, 0x00, 0x00, 0x64, 0x00, 0x05 };
static const uint8_t mac_top[6] = { 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t mac_zero[6];

#define EPOCH		0x5eedc0de0e90c401ull	/* a controller's history */

static const char name31[] = "abcdefghijklmnopqrstuvwxyz0_-19";
static const char host31[] = "Host-01.rack_7.Example.COM.a-z9";
static const char tap15[] = "vf.Web_01-aZ.x9";

/* --- messages ------------------------------------------------------------------- */

static struct wire_msg
mk_hello(uint8_t stream, uint64_t last_seq, const char *node, const char *host)
{
	struct wire_msg m = { .type = WIRE_HELLO };

	m.u.hello.stream = stream;
	m.u.hello.last_seq = last_seq;
	snprintf(m.u.hello.node, sizeof(m.u.hello.node), "%s", node);
	snprintf(m.u.hello.host, sizeof(m.u.hello.host), "%s", host);
	return m;
}

static struct wire_msg
mk_rule(uint64_t seq, uint32_t vni, uint32_t ip, uint32_t vtep, const uint8_t *mac, uint8_t op,
    uint8_t flags, uint64_t version)
{
	struct wire_msg m = { .type = WIRE_RULE };

	m.u.rule = (struct wire_rule){ .seq = seq, .vni = vni, .ip = ip, .vtep = vtep, .op = op,
		.flags = flags, .version = version };
	memcpy(m.u.rule.mac, mac, 6);
	return m;
}

static struct wire_msg
mk_vpc(uint64_t seq, uint32_t vni, uint32_t gen, uint64_t version, uint8_t op)
{
	struct wire_msg m = { .type = WIRE_VPC };

	m.u.vpc = (struct wire_vpc){ .seq = seq, .vni = vni, .gen = gen, .version = version,
		.op = op };
	return m;
}

/* BEGIN names the history (EPOCH); END carries none. */
static struct wire_msg
mk_snap(uint8_t type, uint64_t seq, uint64_t count)
{
	struct wire_msg m = { .type = type };

	m.u.snap = (struct wire_snap){ .seq = seq, .count = count,
		.epoch = type == WIRE_SNAP_BEGIN ? EPOCH : 0 };
	return m;
}

static struct wire_msg
mk_heartbeat(uint64_t seq)
{
	struct wire_msg m = { .type = WIRE_HEARTBEAT };

	m.u.heartbeat_seq = seq;
	return m;
}

static struct wire_msg
mk_bind(uint64_t seq, uint32_t vni, uint32_t ip, const uint8_t *mac, uint8_t op, const char *tap)
{
	struct wire_msg m = { .type = WIRE_BIND };

	m.u.bind = (struct wire_bind){ .seq = seq, .vni = vni, .ip = ip, .op = op };
	memcpy(m.u.bind.mac, mac, 6);
	snprintf(m.u.bind.tap, sizeof(m.u.bind.tap), "%s", tap);
	return m;
}

static struct wire_msg
mk_error(uint16_t code, const char *msg)
{
	struct wire_msg m = { .type = WIRE_ERROR };

	m.u.error.code = code;
	snprintf(m.u.error.msg, sizeof(m.u.error.msg), "%s", msg);
	return m;
}

/* The longest error text: 199 characters, every printable one among them. */
static const char *
error_text_max(void)
{
	static char s[WIRE_ERROR_MAX];

	for (int i = 0; i < WIRE_ERROR_MAX - 1; i++)
		s[i] = (char)(0x20 + i % (0x7f - 0x20));
	s[WIRE_ERROR_MAX - 1] = '\0';
	return s;
}

/* Typical valid messages: the bases the malformed cases change one thing of. */
static struct wire_msg
hello_rules(void)
{
	return mk_hello(WIRE_STREAM_RULES, 41, "gw1", "");
}

static struct wire_msg
hello_bindings(void)
{
	return mk_hello(WIRE_STREAM_BINDINGS, 0, "host1", "host1");
}

static struct wire_msg
rule_set(void)
{
	return mk_rule(7, 100, 0x0a000005, 0xc0a8000b, mac_vm, WIRE_RULE_SET, 0, 3);
}

static struct wire_msg
vpc_advance(void)
{
	return mk_vpc(8, 100, 0xdeadbeef, 3, WIRE_VPC_ADVANCE);
}

static struct wire_msg
bind_add(void)
{
	return mk_bind(9, 100, 0x0a000005, mac_vm, WIRE_BIND_ADD, "vfweb1");
}

/* Field by field: the struct's padding and the bytes after a string's NUL do not count. */
static bool
msg_equal(const struct wire_msg *a, const struct wire_msg *b)
{
	if (a->type != b->type)
		return false;
	switch (a->type) {
	case WIRE_HELLO:
		return a->u.hello.stream == b->u.hello.stream &&
		    a->u.hello.last_seq == b->u.hello.last_seq &&
		    a->u.hello.epoch == b->u.hello.epoch &&
		    strcmp(a->u.hello.node, b->u.hello.node) == 0 &&
		    strcmp(a->u.hello.host, b->u.hello.host) == 0;
	case WIRE_RULE:
		return a->u.rule.seq == b->u.rule.seq && a->u.rule.vni == b->u.rule.vni &&
		    a->u.rule.ip == b->u.rule.ip && a->u.rule.vtep == b->u.rule.vtep &&
		    memcmp(a->u.rule.mac, b->u.rule.mac, 6) == 0 &&
		    a->u.rule.op == b->u.rule.op && a->u.rule.flags == b->u.rule.flags &&
		    a->u.rule.version == b->u.rule.version;
	case WIRE_VPC:
		return a->u.vpc.seq == b->u.vpc.seq && a->u.vpc.vni == b->u.vpc.vni &&
		    a->u.vpc.gen == b->u.vpc.gen && a->u.vpc.version == b->u.vpc.version &&
		    a->u.vpc.op == b->u.vpc.op;
	case WIRE_SNAP_BEGIN:
	case WIRE_SNAP_END:
		return a->u.snap.seq == b->u.snap.seq && a->u.snap.count == b->u.snap.count &&
		    a->u.snap.epoch == b->u.snap.epoch;
	case WIRE_HEARTBEAT:
		return a->u.heartbeat_seq == b->u.heartbeat_seq;
	case WIRE_BIND:
		return a->u.bind.seq == b->u.bind.seq && a->u.bind.vni == b->u.bind.vni &&
		    a->u.bind.ip == b->u.bind.ip &&
		    memcmp(a->u.bind.mac, b->u.bind.mac, 6) == 0 &&
		    a->u.bind.op == b->u.bind.op && strcmp(a->u.bind.tap, b->u.bind.tap) == 0;
	case WIRE_ERROR:
		return a->u.error.code == b->u.error.code &&
		    strcmp(a->u.error.msg, b->u.error.msg) == 0;
	case WIRE_STATUS:
		return memcmp(&a->u.status, &b->u.status, sizeof(a->u.status)) == 0;
	case WIRE_WANT:
		return a->u.want_vni == b->u.want_vni;
	case WIRE_PART_BEGIN:
		return a->u.part.seq == b->u.part.seq && a->u.part.count == b->u.part.count &&
		    a->u.part.vni == b->u.part.vni && a->u.part.epoch == b->u.part.epoch;
	case WIRE_HOST:
		return a->u.host.seq == b->u.host.seq && a->u.host.vtep == b->u.host.vtep &&
		    a->u.host.kind == b->u.host.kind && a->u.host.op == b->u.host.op;
	}
	return false;
}

/* Change the frame's body length by delta (new bytes zero), announcing the new length. */
static void
resize(uint8_t *f, size_t *n, int delta)
{
	if (delta > 0)
		memset(f + *n, 0, (size_t)delta);
	*n = (size_t)((int)*n + delta);
	put32(f + F_LEN, (uint32_t)(*n - WIRE_LEN_SIZE));
}

/* Encode a valid message; it must decode back as it is before a case changes it. */
static size_t
encode_ok(const struct wire_msg *m, uint8_t *f, size_t len)
{
	struct wire_msg d;
	int n;

	memset(f, 0, len);
	n = wire_encode(m, f, len);
	cr_assert_gt(n, 0, "encode of a valid %s returned %d", wire_type_name(m->type), n);
	cr_assert_eq(wire_decode(f, (size_t)n, &d), n, "the valid %s does not decode",
	    wire_type_name(m->type));
	return (size_t)n;
}

/*
 * One malformed case: encode msg, run the statements that change one thing of the
 * frame f of n bytes, and expect the decoder to refuse the result with want.
 */
#define DECODE_REFUSES(want, msg, what, ...)					\
	do {									\
		struct wire_msg m_ = (msg), d_;					\
		uint8_t f[FRAME_MAX];						\
		size_t n = encode_ok(&m_, f, sizeof(f));			\
		int r_;								\
										\
		__VA_ARGS__;							\
		r_ = wire_decode(f, n, &d_);					\
		cr_expect_eq(r_, want, "%s: decode returned %d, want %d", what, r_, want); \
	} while (0)
#define MALFORMED(msg, what, ...)	DECODE_REFUSES(-EPROTO, msg, what, __VA_ARGS__)

/* --- round trips and layout ----------------------------------------------------- */

static void
expect_round_trip(const struct wire_msg *m, size_t body)
{
	uint8_t f[FRAME_MAX];
	struct wire_msg d;
	int n, r;

	memset(&d, 0xa5, sizeof(d));
	n = wire_encode(m, f, sizeof(f));
	cr_assert_eq(n, (int)(WIRE_LEN_SIZE + body), "%s: encode returned %d, want %zu",
	    wire_type_name(m->type), n, WIRE_LEN_SIZE + body);
	r = wire_decode(f, (size_t)n, &d);
	cr_assert_eq(r, n, "%s: decode returned %d, want %d", wire_type_name(m->type), r, n);
	cr_assert(msg_equal(m, &d), "%s does not round-trip", wire_type_name(m->type));
}

Test(wire, every_type_round_trips_with_edge_values)
{
	struct wire_msg ms[] = {
		mk_hello(WIRE_STREAM_RULES, 0, "a", ""),
		mk_hello(WIRE_STREAM_RULES, UINT64_MAX, name31, ""),
		mk_hello(WIRE_STREAM_BINDINGS, 1, name31, host31),
		mk_hello(WIRE_STREAM_BINDINGS, 0, "h", "H"),
		mk_rule(1, 1, 0, 0, mac_vm, WIRE_RULE_SET, 0, 1),
		mk_rule(UINT64_MAX, WIRE_VNI_MAX, UINT32_MAX, UINT32_MAX, mac_top, WIRE_RULE_SET,
		    WIRE_RULE_F_EXTERNAL, UINT64_MAX),
		mk_rule(2, 100, 0x0a000005, 0xc0a8000b, mac_zero, WIRE_RULE_DEL, 0, 5),
		mk_vpc(1, 1, 1, 0, WIRE_VPC_ADVANCE),
		mk_vpc(UINT64_MAX, WIRE_VNI_MAX, UINT32_MAX, UINT64_MAX, WIRE_VPC_SNAPSHOT),
		mk_vpc(3, 100, 0, 0, WIRE_VPC_DELETE),
		mk_snap(WIRE_SNAP_BEGIN, 1, 0),
		mk_snap(WIRE_SNAP_BEGIN, 0, 0),
		mk_snap(WIRE_SNAP_BEGIN, UINT64_MAX, UINT64_MAX),
		mk_snap(WIRE_SNAP_END, 1, 0),
		mk_snap(WIRE_SNAP_END, UINT64_MAX, 0),
		mk_heartbeat(0),
		mk_heartbeat(1),
		mk_heartbeat(UINT64_MAX),
		mk_bind(1, 1, 0, mac_vm, WIRE_BIND_ADD, "a"),
		mk_bind(UINT64_MAX, WIRE_VNI_MAX, UINT32_MAX, mac_top, WIRE_BIND_ADD, tap15),
		mk_bind(4, 100, 0x0a000005, mac_zero, WIRE_BIND_DEL, "vfweb1"),
	};
	static const size_t size[WIRE_TYPE_MAX + 1] = {
		[WIRE_HELLO] = 88, [WIRE_RULE] = 40, [WIRE_VPC] = 32, [WIRE_SNAP_BEGIN] = 28,
		[WIRE_SNAP_END] = 20, [WIRE_HEARTBEAT] = 12, [WIRE_BIND] = 44,
	};
	struct wire_msg e;

	for (size_t i = 0; i < sizeof(ms) / sizeof(ms[0]); i++)
		expect_round_trip(&ms[i], size[ms[i].type]);
	/* The epoch's edges: a HELLO's any value (0: not known), a SNAP_BEGIN's 1..max. */
	e = mk_hello(WIRE_STREAM_RULES, 7, "gw1", "");
	e.u.hello.epoch = UINT64_MAX;
	expect_round_trip(&e, 88);
	e.u.hello.epoch = 1;
	expect_round_trip(&e, 88);
	e = mk_snap(WIRE_SNAP_BEGIN, 7, 1);
	e.u.snap.epoch = 1;
	expect_round_trip(&e, 28);
	e.u.snap.epoch = UINT64_MAX;
	expect_round_trip(&e, 28);

	e = status_two();
	expect_round_trip(&e, 296);
	e = (struct wire_msg){ .type = WIRE_STATUS };
	expect_round_trip(&e, 296);
	e.u.status = (struct wire_status){ .applied_seq = UINT64_MAX, .capacity = UINT32_MAX,
	    .used = UINT32_MAX, .tombs = UINT32_MAX, .max_vnis = UINT32_MAX,
	    .vnis = UINT32_MAX, .incomplete = UINT32_MAX, .nlisted = WIRE_STATUS_VNIS };
	for (int i = 0; i < WIRE_STATUS_VNIS; i++)
		e.u.status.vni[i] = i % 2 ? WIRE_VNI_MAX : 1;
	expect_round_trip(&e, 296);
	e = (struct wire_msg){ .type = WIRE_WANT, .u.want_vni = 0 };
	expect_round_trip(&e, 8);
	e.u.want_vni = WIRE_VNI_MAX;
	expect_round_trip(&e, 8);
	e = (struct wire_msg){ .type = WIRE_PART_BEGIN, .u.part = { .seq = 0, .count = 0,
	    .vni = 1, .epoch = 1 } };
	expect_round_trip(&e, 32);
	e.u.part = (struct wire_part){ .seq = UINT64_MAX, .count = UINT64_MAX,
	    .vni = WIRE_VNI_MAX, .epoch = UINT64_MAX };
	expect_round_trip(&e, 32);

	e = mk_error(0, "");
	expect_round_trip(&e, 8);
	e = mk_error(UINT16_MAX, "vni 100 is not known");
	expect_round_trip(&e, 8 + strlen("vni 100 is not known"));
	e = mk_error(EPROTO, error_text_max());
	expect_round_trip(&e, 8 + WIRE_ERROR_MAX - 1);
}

Test(wire, encoding_matches_the_documented_layout)
{
	static const uint8_t want_rule[] = {
		0, 0, 0, 40, 2, WIRE_RULE, 0, 0,
		0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,		/* seq */
		0x00, 0xab, 0xcd, 0xef,					/* vni */
		0x0a, 0x00, 0x00, 0x05,					/* ip */
		0xc0, 0xa8, 0x00, 0x0b,					/* vtep */
		0x02, 0x00, 0x00, 0x64, 0x00, 0x05,			/* mac */
		WIRE_RULE_SET, WIRE_RULE_F_EXTERNAL,
		0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18,		/* version */
	};
	static const uint8_t want_error[] = {
		0, 0, 0, 10, 2, WIRE_ERROR, 0, 0,
		0x00, 0x5a, 0x00, 0x02, 'n', 'o',
	};
	struct wire_msg m;
	uint8_t f[FRAME_MAX];
	int n;

	m = mk_rule(0x0102030405060708, 0xabcdef, 0x0a000005, 0xc0a8000b, mac_vm, WIRE_RULE_SET,
	    WIRE_RULE_F_EXTERNAL, 0x1112131415161718);
	n = wire_encode(&m, f, sizeof(f));
	cr_assert_eq(n, (int)sizeof(want_rule));
	cr_assert_arr_eq(f, want_rule, sizeof(want_rule), "rule bytes differ from the doc");

	m = mk_error(90, "no");
	n = wire_encode(&m, f, sizeof(f));
	cr_assert_eq(n, (int)sizeof(want_error));
	cr_assert_arr_eq(f, want_error, sizeof(want_error), "error bytes differ from the doc");

	m = mk_hello(WIRE_STREAM_BINDINGS, 0x0102030405060708, "n1", "H1");
	m.u.hello.epoch = 0x2122232425262728;
	n = wire_encode(&m, f, sizeof(f));
	cr_assert_eq(n, 92);
	cr_assert_eq(f[HELLO_STREAM], WIRE_STREAM_BINDINGS);
	cr_assert_eq(f[HELLO_LAST], 0x01);
	cr_assert_eq(f[HELLO_LAST + 7], 0x08);
	cr_assert_eq(bytes_get64(f + HELLO_EPOCH), 0x2122232425262728);
	cr_assert_arr_eq(f + HELLO_NODE, "n1\0", 3);
	cr_assert_arr_eq(f + HELLO_HOST, "H1\0", 3);

	m = mk_bind(1, 100, 0x0a000005, mac_vm, WIRE_BIND_ADD, "tap0");
	n = wire_encode(&m, f, sizeof(f));
	cr_assert_eq(n, 48);
	cr_assert_eq(f[BIND_VNI + 3], 100);
	cr_assert_arr_eq(f + BIND_MAC, mac_vm, 6);
	cr_assert_eq(f[BIND_OP], WIRE_BIND_ADD);
	cr_assert_arr_eq(f + BIND_TAP, "tap0\0", 5);

	m = mk_vpc(1, 100, 0xdeadbeef, 9, WIRE_VPC_SNAPSHOT);
	n = wire_encode(&m, f, sizeof(f));
	cr_assert_eq(n, 36);
	cr_assert_eq(f[VPC_GEN], 0xde);
	cr_assert_eq(f[VPC_VERSION + 7], 9);
	cr_assert_eq(f[VPC_OP], WIRE_VPC_SNAPSHOT);

	m = mk_snap(WIRE_SNAP_BEGIN, 0x0102030405060708, 3);
	n = wire_encode(&m, f, sizeof(f));
	cr_assert_eq(n, 32);
	cr_assert_eq(bytes_get64(f + SNAP_SEQ), 0x0102030405060708);
	cr_assert_eq(bytes_get64(f + SNAP_COUNT), 3);
	cr_assert_eq(bytes_get64(f + SNAP_EPOCH), EPOCH);
	m = mk_snap(WIRE_SNAP_END, 5, 0);
	cr_assert_eq(wire_encode(&m, f, sizeof(f)), 24, "END has no epoch");

	m = (struct wire_msg){ .type = WIRE_PART_BEGIN, .u.part = { .seq = 9, .count = 4,
	    .vni = 0xabcdef, .epoch = EPOCH } };
	n = wire_encode(&m, f, sizeof(f));
	cr_assert_eq(n, 36);
	cr_assert_eq(bytes_get32(f + PART_VNI), 0xabcdef);
	cr_assert_eq(bytes_get64(f + PART_EPOCH), EPOCH);
}

Test(wire, encoder_writes_zeros_after_a_string_whatever_the_struct_holds)
{
	struct wire_msg m = hello_bindings(), d;
	uint8_t f[FRAME_MAX];
	int n;

	memset(m.u.hello.node + strlen(m.u.hello.node) + 1, 'x', 10);
	memset(m.u.hello.host + strlen(m.u.hello.host) + 1, 'y', 10);
	n = wire_encode(&m, f, sizeof(f));
	cr_assert_eq(n, 92);
	/* node and host are both "host1": 5 characters */
	for (int i = HELLO_NODE + 5; i < 92; i++)
		if (i < HELLO_HOST || i >= HELLO_HOST + 5)
			cr_assert_eq(f[i], 0, "byte %d after a string's NUL is 0x%02x", i, f[i]);
	memset(&d, 0xa5, sizeof(d));
	cr_assert_eq(wire_decode(f, (size_t)n, &d), n);
	for (size_t i = strlen("host1"); i < WIRE_NAME_MAX; i++)
		cr_assert_eq(d.u.hello.node[i], 0, "decoded node not zero-filled at %zu", i);

	m = mk_error(1, "abc");
	n = wire_encode(&m, f, sizeof(f));
	memset(&d, 0xa5, sizeof(d));
	cr_assert_eq(wire_decode(f, (size_t)n, &d), n);
	cr_assert_str_eq(d.u.error.msg, "abc", "the decoded text is NUL-terminated");
}

/* --- encode refusals ------------------------------------------------------------ */

static bool
untouched(const uint8_t *f, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (f[i] != 0xee)
			return false;
	return true;
}

#define ENCODE_REFUSES(msg, what, ...)						\
	do {									\
		struct wire_msg m_ = (msg), *m = &m_;				\
		uint8_t f_[FRAME_MAX];						\
		int r_;								\
										\
		__VA_ARGS__;							\
		memset(f_, 0xee, sizeof(f_));					\
		r_ = wire_encode(m, f_, sizeof(f_));				\
		cr_expect_eq(r_, -EINVAL, "%s: encode returned %d", what, r_);	\
		cr_expect(untouched(f_, sizeof(f_)), "%s: a refused encode wrote", what); \
	} while (0)

Test(wire, encode_refuses_each_invalid_field_and_writes_nothing)
{
	struct wire_msg unknown = mk_heartbeat(1);

	unknown.type = 0;
	ENCODE_REFUSES(unknown, "type 0");
	unknown.type = WIRE_TYPE_MAX + 1;
	ENCODE_REFUSES(unknown, "type 9");

	ENCODE_REFUSES(hello_rules(), "hello stream 0", m->u.hello.stream = 0);
	ENCODE_REFUSES(hello_rules(), "hello stream 3", m->u.hello.stream = 3);
	ENCODE_REFUSES(hello_rules(), "hello node empty", m->u.hello.node[0] = '\0');
	ENCODE_REFUSES(hello_rules(), "hello node unterminated",
	    memset(m->u.hello.node, 'a', WIRE_NAME_MAX));
	ENCODE_REFUSES(hello_rules(), "hello node uppercase", m->u.hello.node[0] = 'G');
	ENCODE_REFUSES(hello_rules(), "hello node dot", m->u.hello.node[1] = '.');
	ENCODE_REFUSES(hello_rules(), "hello node space", m->u.hello.node[2] = ' ');
	ENCODE_REFUSES(hello_rules(), "hello node 8-bit", m->u.hello.node[0] = (char)0xe9);
	ENCODE_REFUSES(hello_rules(), "hello rules with a host", strcpy(m->u.hello.host, "h1"));
	ENCODE_REFUSES(hello_bindings(), "hello bindings without host",
	    m->u.hello.host[0] = '\0');
	ENCODE_REFUSES(hello_bindings(), "hello host unterminated",
	    memset(m->u.hello.host, 'a', WIRE_NAME_MAX));
	ENCODE_REFUSES(hello_bindings(), "hello host slash", m->u.hello.host[1] = '/');
	ENCODE_REFUSES(hello_bindings(), "hello host space", m->u.hello.host[1] = ' ');

	ENCODE_REFUSES(rule_set(), "rule seq 0", m->u.rule.seq = 0);
	ENCODE_REFUSES(rule_set(), "rule vni 0", m->u.rule.vni = 0);
	ENCODE_REFUSES(rule_set(), "rule vni 0x1000000", m->u.rule.vni = WIRE_VNI_MAX + 1);
	ENCODE_REFUSES(rule_set(), "rule op 0", m->u.rule.op = 0);
	ENCODE_REFUSES(rule_set(), "rule op 3", m->u.rule.op = 3);
	ENCODE_REFUSES(rule_set(), "rule flag 0x02", m->u.rule.flags = 0x02);
	ENCODE_REFUSES(rule_set(), "rule flag 0x80", m->u.rule.flags = 0x81);
	ENCODE_REFUSES(rule_set(), "rule version 0", m->u.rule.version = 0);
	ENCODE_REFUSES(rule_set(), "rule set zero mac", memset(m->u.rule.mac, 0, 6));
	ENCODE_REFUSES(rule_set(), "rule set multicast mac", m->u.rule.mac[0] = 0x01);
	ENCODE_REFUSES(rule_set(), "rule set broadcast mac", memset(m->u.rule.mac, 0xff, 6));

	ENCODE_REFUSES(vpc_advance(), "vpc seq 0", m->u.vpc.seq = 0);
	ENCODE_REFUSES(vpc_advance(), "vpc vni 0", m->u.vpc.vni = 0);
	ENCODE_REFUSES(vpc_advance(), "vpc vni 0x1000000", m->u.vpc.vni = WIRE_VNI_MAX + 1);
	ENCODE_REFUSES(vpc_advance(), "vpc op 0", m->u.vpc.op = 0);
	ENCODE_REFUSES(vpc_advance(), "vpc op 4", m->u.vpc.op = 4);
	ENCODE_REFUSES(vpc_advance(), "vpc advance gen 0", m->u.vpc.gen = 0);
	ENCODE_REFUSES(vpc_advance(), "vpc snapshot gen 0",
	    m->u.vpc.op = WIRE_VPC_SNAPSHOT; m->u.vpc.gen = 0);

	ENCODE_REFUSES(mk_snap(WIRE_SNAP_END, 5, 0), "snap end count 1", m->u.snap.count = 1);
	ENCODE_REFUSES(mk_snap(WIRE_SNAP_END, 5, 0), "snap end with an epoch",
	    m->u.snap.epoch = EPOCH);
	ENCODE_REFUSES(mk_snap(WIRE_SNAP_BEGIN, 5, 0), "snap begin of no history",
	    m->u.snap.epoch = 0);
	ENCODE_REFUSES(((struct wire_msg){ .type = WIRE_PART_BEGIN, .u.part = { .seq = 5,
	    .vni = 100, .epoch = EPOCH } }), "part of no history", m->u.part.epoch = 0);

	ENCODE_REFUSES(bind_add(), "bind seq 0", m->u.bind.seq = 0);
	ENCODE_REFUSES(bind_add(), "bind vni 0", m->u.bind.vni = 0);
	ENCODE_REFUSES(bind_add(), "bind vni 0x1000000", m->u.bind.vni = WIRE_VNI_MAX + 1);
	ENCODE_REFUSES(bind_add(), "bind op 0", m->u.bind.op = 0);
	ENCODE_REFUSES(bind_add(), "bind op 3", m->u.bind.op = 3);
	ENCODE_REFUSES(bind_add(), "bind add zero mac", memset(m->u.bind.mac, 0, 6));
	ENCODE_REFUSES(bind_add(), "bind add multicast mac", m->u.bind.mac[0] = 0x33);
	ENCODE_REFUSES(bind_add(), "bind tap empty", m->u.bind.tap[0] = '\0');
	ENCODE_REFUSES(bind_add(), "bind tap unterminated",
	    memset(m->u.bind.tap, 'a', WIRE_TAP_MAX));
	ENCODE_REFUSES(bind_add(), "bind tap slash", m->u.bind.tap[2] = '/');
	ENCODE_REFUSES(bind_add(), "bind tap colon", m->u.bind.tap[2] = ':');

	ENCODE_REFUSES(mk_error(1, "x"), "error text unterminated",
	    memset(m->u.error.msg, 'a', WIRE_ERROR_MAX));
	ENCODE_REFUSES(mk_error(1, "x"), "error text newline", strcpy(m->u.error.msg, "a\nb"));
	ENCODE_REFUSES(mk_error(1, "x"), "error text DEL", strcpy(m->u.error.msg, "a\x7f"));
	ENCODE_REFUSES(mk_error(1, "x"), "error text 8-bit", strcpy(m->u.error.msg, "caf\xc3\xa9"));
}

Test(wire, deletes_need_no_mac_and_vpc_delete_no_gen)
{
	struct wire_msg ok[] = {
		mk_rule(2, 100, 1, 2, mac_zero, WIRE_RULE_DEL, 0, 5),
		mk_rule(2, 100, 1, 2, (const uint8_t[6]){ 0x01, 0, 0x5e, 0, 0, 1 }, WIRE_RULE_DEL,
		    0, 5),
		mk_bind(2, 100, 1, mac_zero, WIRE_BIND_DEL, "t"),
		mk_vpc(2, 100, 0, 0, WIRE_VPC_DELETE),
	};
	uint8_t f[FRAME_MAX];

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		encode_ok(&ok[i], f, sizeof(f));
}

Test(wire, encode_refuses_a_short_buffer_and_writes_nothing)
{
	struct wire_msg ms[] = {
		hello_bindings(), rule_set(), vpc_advance(), mk_snap(WIRE_SNAP_BEGIN, 1, 2),
		mk_snap(WIRE_SNAP_END, 1, 0), mk_heartbeat(3), bind_add(), mk_error(5, "refused"),
	};
	uint8_t f[FRAME_MAX];

	for (size_t i = 0; i < sizeof(ms) / sizeof(ms[0]); i++) {
		int n = wire_encode(&ms[i], f, sizeof(f));

		cr_assert_gt(n, 0);
		for (size_t len = 0; len < (size_t)n; len++) {
			memset(f, 0xee, sizeof(f));
			cr_expect_eq(wire_encode(&ms[i], f, len), -ENOSPC, "%s in %zu bytes",
			    wire_type_name(ms[i].type), len);
			cr_expect(untouched(f, sizeof(f)), "%s: a refused encode wrote",
			    wire_type_name(ms[i].type));
		}
		cr_expect_eq(wire_encode(&ms[i], f, (size_t)n), n, "exactly enough room");
	}
}

/* --- framing -------------------------------------------------------------------- */

Test(wire, incomplete_frame_decodes_to_zero_at_every_split_point)
{
	struct wire_msg ms[] = {
		hello_rules(), hello_bindings(), rule_set(), vpc_advance(),
		mk_snap(WIRE_SNAP_BEGIN, 1, 2), mk_snap(WIRE_SNAP_END, 1, 0), mk_heartbeat(3), bind_add(),
		mk_error(5, ""), mk_error(5, error_text_max()),
	};
	struct wire_msg d;
	uint8_t f[FRAME_MAX];

	for (size_t i = 0; i < sizeof(ms) / sizeof(ms[0]); i++) {
		size_t n = encode_ok(&ms[i], f, sizeof(f));

		for (size_t k = 0; k < n; k++)
			cr_expect_eq(wire_decode(f, k, &d), 0, "%s cut at %zu of %zu",
			    wire_type_name(ms[i].type), k, n);
		cr_expect_eq(wire_decode(f, n, &d), (int)n);
		cr_expect(msg_equal(&ms[i], &d));
	}
}

Test(wire, decode_takes_one_frame_of_a_stream)
{
	struct wire_msg a = mk_snap(WIRE_SNAP_BEGIN, 10, 1), b = rule_set(), c = mk_snap(WIRE_SNAP_END,
	    10, 0), d;
	uint8_t buf[3 * FRAME_MAX];
	size_t len = 0, off = 0;
	int n;

	len += (size_t)wire_encode(&a, buf + len, sizeof(buf) - len);
	len += (size_t)wire_encode(&b, buf + len, sizeof(buf) - len);
	len += (size_t)wire_encode(&c, buf + len, sizeof(buf) - len);

	n = wire_decode(buf + off, len - off, &d);
	cr_assert_eq(n, 32);
	cr_assert(msg_equal(&a, &d));
	off += (size_t)n;
	n = wire_decode(buf + off, len - off, &d);
	cr_assert_eq(n, 44);
	cr_assert(msg_equal(&b, &d));
	off += (size_t)n;
	n = wire_decode(buf + off, len - off - 1, &d);
	cr_assert_eq(n, 0, "the last frame is one byte short");
	n = wire_decode(buf + off, len - off, &d);
	cr_assert_eq(n, 24);
	cr_assert(msg_equal(&c, &d));
	cr_assert_eq(off + (size_t)n, len);
}

Test(wire, record_longer_than_max_is_emsgsize_before_its_body_arrives)
{
	uint8_t buf[FRAME_MAX + 8] = { 0 };
	struct wire_msg d;

	put32(buf, WIRE_RECORD_MAX + 1);
	cr_expect_eq(wire_decode(buf, 4, &d), -EMSGSIZE, "with only the length");
	cr_expect_eq(wire_decode(buf, sizeof(buf), &d), -EMSGSIZE, "with the whole body");
	put32(buf, UINT32_MAX);
	cr_expect_eq(wire_decode(buf, 4, &d), -EMSGSIZE);
	put32(buf, 0x80000000u);
	cr_expect_eq(wire_decode(buf, sizeof(buf), &d), -EMSGSIZE);

	/* WIRE_RECORD_MAX itself is framed: refused as malformed, not as too long. */
	DECODE_REFUSES(-EPROTO, mk_error(1, "x"), "a record of WIRE_RECORD_MAX bytes",
	    resize(f, &n, (int)(WIRE_RECORD_MAX - (n - WIRE_LEN_SIZE))));
	DECODE_REFUSES(-EMSGSIZE, mk_error(1, "x"), "a record of WIRE_RECORD_MAX + 1 bytes",
	    resize(f, &n, (int)(WIRE_RECORD_MAX + 1 - (n - WIRE_LEN_SIZE))));
	DECODE_REFUSES(-EMSGSIZE, rule_set(), "a rule announcing 0xffffffff bytes",
	    put32(f, UINT32_MAX));
}

Test(wire, frame_finds_the_payload_and_refuses_more_than_max)
{
	uint8_t f[64];
	const uint8_t *p = NULL;
	uint32_t plen = 0;

	wire_frame_header(f, 5);
	memcpy(f + 4, "{}xyz?", 6);
	cr_assert_arr_eq(f, ((uint8_t[]){ 0, 0, 0, 5 }), 4);
	for (size_t k = 0; k < 9; k++)
		cr_expect_eq(wire_frame(f, k, 5, &p, &plen), 0, "cut at %zu", k);
	cr_assert_eq(wire_frame(f, 10, 5, &p, &plen), 9);
	cr_assert_eq(p, f + 4);
	cr_assert_eq(plen, 5);
	cr_assert_eq(wire_frame(f, 3, 4, &p, &plen), 0, "no length yet: no verdict");
	cr_assert_eq(wire_frame(f, 4, 4, &p, &plen), -EMSGSIZE, "refused before the payload");

	wire_frame_header(f, 0);
	cr_assert_eq(wire_frame(f, 4, 0, &p, &plen), 4, "an empty payload is a frame");
	cr_assert_eq(plen, 0);

	/* The result is an int: a length it cannot return is too large whatever max is. */
	wire_frame_header(f, UINT32_MAX);
	cr_assert_eq(wire_frame(f, 4, SIZE_MAX, &p, &plen), -EMSGSIZE);
	wire_frame_header(f, WIRE_JSON_MAX);
	cr_assert_eq(wire_frame(f, 64, WIRE_JSON_MAX, &p, &plen), 0);
	wire_frame_header(f, WIRE_JSON_MAX + 1);
	cr_assert_eq(wire_frame(f, 64, WIRE_JSON_MAX, &p, &plen), -EMSGSIZE);
}

Test(wire, type_names)
{
	static const char *const want[] = { "unknown", "hello", "rule", "vpc", "snap_begin",
		"snap_end", "heartbeat", "bind", "error", "status", "want", "part_begin",
		"host", "unknown" };

	for (int t = 0; t <= WIRE_TYPE_MAX + 1; t++)
		cr_expect_str_eq(wire_type_name((uint8_t)t), want[t]);
	cr_expect_str_eq(wire_type_name(255), "unknown");
}

/* --- malformed records ---------------------------------------------------------- */

Test(wire, malformed_header_or_length_is_eproto)
{
	struct wire_msg all[] = {
		hello_rules(), rule_set(), vpc_advance(), mk_snap(WIRE_SNAP_BEGIN, 1, 2),
		mk_snap(WIRE_SNAP_END, 1, 0), mk_heartbeat(3), bind_add(),
	};

	DECODE_REFUSES(-EPROTONOSUPPORT, rule_set(), "version 0", f[F_VERSION] = 0);
	DECODE_REFUSES(-EPROTONOSUPPORT, rule_set(), "version 1", f[F_VERSION] = 1);
	DECODE_REFUSES(-EPROTONOSUPPORT, hello_rules(), "a hello of version 1",
	    f[F_VERSION] = 1);
	DECODE_REFUSES(-EPROTONOSUPPORT, rule_set(), "version 3", f[F_VERSION] = 3);
	DECODE_REFUSES(-EPROTONOSUPPORT, rule_set(), "version 255", f[F_VERSION] = 255);
	MALFORMED(mk_heartbeat(1), "type 0", f[F_TYPE] = 0);
	MALFORMED(mk_heartbeat(1), "type 9", f[F_TYPE] = WIRE_TYPE_MAX + 1);
	MALFORMED(mk_heartbeat(1), "type 255", f[F_TYPE] = 255);
	MALFORMED(rule_set(), "reserved byte 2", f[F_RSV] = 1);
	MALFORMED(rule_set(), "reserved byte 3", f[F_RSV + 1] = 0x80);
	MALFORMED(mk_heartbeat(1), "body of 0 bytes", resize(f, &n, -12));
	MALFORMED(mk_heartbeat(1), "body of 3 bytes", resize(f, &n, -9));
	MALFORMED(mk_heartbeat(1), "body of 4 bytes", resize(f, &n, -8));
	MALFORMED(mk_heartbeat(1), "a heartbeat retyped as a rule", f[F_TYPE] = WIRE_RULE);
	MALFORMED(rule_set(), "a rule retyped as a bind", f[F_TYPE] = WIRE_BIND);
	MALFORMED(mk_snap(WIRE_SNAP_BEGIN, 1, 0), "a snapshot begin retyped as a heartbeat",
	    f[F_TYPE] = WIRE_HEARTBEAT);

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		char what[64];

		snprintf(what, sizeof(what), "%s one byte long", wire_type_name(all[i].type));
		MALFORMED(all[i], what, resize(f, &n, 1));
		snprintf(what, sizeof(what), "%s one byte short", wire_type_name(all[i].type));
		MALFORMED(all[i], what, resize(f, &n, -1));
		snprintf(what, sizeof(what), "%s 8 bytes long", wire_type_name(all[i].type));
		MALFORMED(all[i], what, resize(f, &n, 8));
	}
}

Test(wire, malformed_hello_is_eproto)
{
	MALFORMED(hello_rules(), "stream 0", f[HELLO_STREAM] = 0);
	MALFORMED(hello_rules(), "stream 3", f[HELLO_STREAM] = 3);
	MALFORMED(hello_rules(), "pad byte 0", f[HELLO_PAD] = 1);
	MALFORMED(hello_rules(), "pad byte 1", f[HELLO_PAD + 1] = 1);
	MALFORMED(hello_rules(), "pad byte 2", f[HELLO_PAD + 2] = 0x80);
	MALFORMED(hello_rules(), "node empty", memset(f + HELLO_NODE, 0, WIRE_NAME_MAX));
	MALFORMED(mk_hello(WIRE_STREAM_RULES, 1, name31, ""), "node unterminated",
	    f[HELLO_NODE + 31] = 'a');
	MALFORMED(hello_rules(), "node garbage after NUL", f[HELLO_NODE + 4] = 'x');
	MALFORMED(hello_rules(), "node garbage in its last byte", f[HELLO_NODE + 31] = 1);
	MALFORMED(hello_rules(), "node uppercase", f[HELLO_NODE] = 'G');
	MALFORMED(hello_rules(), "node dot", f[HELLO_NODE + 1] = '.');
	MALFORMED(hello_rules(), "node space", f[HELLO_NODE + 1] = ' ');
	MALFORMED(hello_rules(), "node slash", f[HELLO_NODE + 1] = '/');
	MALFORMED(hello_rules(), "node 8-bit", f[HELLO_NODE + 1] = 0xe9);
	MALFORMED(hello_rules(), "rules stream with a host", memcpy(f + HELLO_HOST, "h1", 2));
	MALFORMED(hello_rules(), "rules stream host garbage after NUL", f[HELLO_HOST + 5] = 1);
	MALFORMED(hello_bindings(), "bindings stream without host",
	    memset(f + HELLO_HOST, 0, WIRE_NAME_MAX));
	MALFORMED(mk_hello(WIRE_STREAM_BINDINGS, 1, "n", host31), "host unterminated",
	    f[HELLO_HOST + 31] = 'a');
	MALFORMED(hello_bindings(), "host garbage after NUL", f[HELLO_HOST + 6] = 'x');
	MALFORMED(hello_bindings(), "host slash", f[HELLO_HOST + 1] = '/');
	MALFORMED(hello_bindings(), "host space", f[HELLO_HOST + 1] = ' ');
	MALFORMED(hello_bindings(), "host colon", f[HELLO_HOST + 1] = ':');
	MALFORMED(hello_bindings(), "host DEL", f[HELLO_HOST + 1] = 0x7f);
}

Test(wire, malformed_rule_is_eproto)
{
	MALFORMED(rule_set(), "seq 0", put64(f + RULE_SEQ, 0));
	MALFORMED(rule_set(), "vni 0", put32(f + RULE_VNI, 0));
	MALFORMED(rule_set(), "vni 0x1000000", put32(f + RULE_VNI, WIRE_VNI_MAX + 1));
	MALFORMED(rule_set(), "vni 0xffffffff", put32(f + RULE_VNI, UINT32_MAX));
	MALFORMED(rule_set(), "op 0", f[RULE_OP] = 0);
	MALFORMED(rule_set(), "op 3", f[RULE_OP] = 3);
	MALFORMED(rule_set(), "op 255", f[RULE_OP] = 255);
	MALFORMED(rule_set(), "flag 0x02", f[RULE_FLAGS] = 0x02);
	MALFORMED(rule_set(), "flag 0x80", f[RULE_FLAGS] = 0x81);
	MALFORMED(rule_set(), "version 0", put64(f + RULE_VERSION, 0));
	MALFORMED(rule_set(), "set with zero mac", memset(f + RULE_MAC, 0, 6));
	MALFORMED(rule_set(), "set with multicast mac", f[RULE_MAC] = 0x01);
	MALFORMED(rule_set(), "set with broadcast mac", memset(f + RULE_MAC, 0xff, 6));
}

Test(wire, malformed_vpc_is_eproto)
{
	MALFORMED(vpc_advance(), "seq 0", put64(f + VPC_SEQ, 0));
	MALFORMED(vpc_advance(), "vni 0", put32(f + VPC_VNI, 0));
	MALFORMED(vpc_advance(), "vni 0x1000000", put32(f + VPC_VNI, WIRE_VNI_MAX + 1));
	MALFORMED(vpc_advance(), "op 0", f[VPC_OP] = 0);
	MALFORMED(vpc_advance(), "op 4", f[VPC_OP] = 4);
	MALFORMED(vpc_advance(), "advance with gen 0", put32(f + VPC_GEN, 0));
	MALFORMED(mk_vpc(8, 100, 7, 3, WIRE_VPC_SNAPSHOT), "snapshot with gen 0",
	    put32(f + VPC_GEN, 0));
	MALFORMED(vpc_advance(), "pad byte 0", f[VPC_PAD] = 1);
	MALFORMED(vpc_advance(), "pad byte 1", f[VPC_PAD + 1] = 1);
	MALFORMED(vpc_advance(), "pad byte 2", f[VPC_PAD + 2] = 0xff);
}

Test(wire, malformed_status_want_and_part_are_eproto)
{
	struct wire_msg w = { .type = WIRE_WANT, .u.want_vni = 5 };
	struct wire_msg p = { .type = WIRE_PART_BEGIN, .u.part = { .seq = 9, .vni = 5,
	    .epoch = EPOCH } };

	MALFORMED(status_two(), "more used than capacity", put32(f + STATUS_USED, 1001));
	MALFORMED(status_two(), "more tombstones than used", put32(f + STATUS_TOMBS, 1001));
	MALFORMED(status_two(), "more VNIs than max", put32(f + STATUS_VNIS, 65));
	MALFORMED(status_two(), "more listed than incomplete", f[STATUS_NLISTED] = 3);
	MALFORMED(status_two(), "more listed than the list holds",
	    put32(f + STATUS_INCOMPLETE, 1000); f[STATUS_NLISTED] = WIRE_STATUS_VNIS + 1);
	MALFORMED(status_two(), "a listed VNI 0", put32(f + STATUS_LIST + 4, 0));
	MALFORMED(status_two(), "a listed VNI past 24 bits",
	    put32(f + STATUS_LIST, WIRE_VNI_MAX + 1));
	MALFORMED(status_two(), "a VNI past the listed ones", put32(f + STATUS_LIST + 8, 300));
	MALFORMED(status_two(), "pad byte", f[STATUS_PAD + 2] = 1);
	MALFORMED(w, "want VNI past 24 bits", put32(f + WANT_VNI, WIRE_VNI_MAX + 1));
	MALFORMED(p, "part of VNI 0", put32(f + PART_VNI, 0));
	MALFORMED(p, "part of no history", put64(f + PART_EPOCH, 0));
}

static struct wire_msg
mk_host(uint64_t seq, uint32_t vtep, uint8_t kind, uint8_t op)
{
	return (struct wire_msg){ .type = WIRE_HOST, .u.host = { .seq = seq, .vtep = vtep,
	    .kind = kind, .op = op } };
}

Test(wire, host_round_trips_with_edge_values_and_its_layout)
{
	struct wire_msg e = mk_host(0, 0x01000000u, WIRE_HOST_VSWITCH, WIRE_HOST_ADD);
	uint8_t f[FRAME_MAX];

	expect_round_trip(&e, 20);		/* seq 0: a snapshot of an empty log */
	e = mk_host(UINT64_MAX, 0xdfffffffu, WIRE_HOST_EXTERNAL, WIRE_HOST_DEL);
	expect_round_trip(&e, 20);
	e = mk_host(0x0102030405060708ull, 0xc0a8640bu, WIRE_HOST_EXTERNAL, WIRE_HOST_ADD);
	cr_assert_eq(wire_encode(&e, f, sizeof(f)), 24);
	cr_assert_eq(bytes_get32(f + F_LEN), 20);
	cr_assert_eq(f[F_VERSION], WIRE_VERSION);
	cr_assert_eq(f[F_TYPE], 12);
	cr_assert_eq(bytes_get64(f + HOST_SEQ), 0x0102030405060708ull);
	cr_assert_eq(bytes_get32(f + HOST_VTEP), 0xc0a8640bu);
	cr_assert_eq(f[HOST_KIND], 2);
	cr_assert_eq(f[HOST_OP], 1);
	cr_assert_eq(f[HOST_PAD] | f[HOST_PAD + 1], 0);
}

Test(wire, malformed_host_is_eproto_and_the_encoder_refuses_it_too)
{
	struct wire_msg h = mk_host(5, 0xc0a8640bu, WIRE_HOST_VSWITCH, WIRE_HOST_ADD);
	static const uint32_t bad_vtep[] = { 0, 0x00ffffffu, 0xe0000001u, 0xefffffffu,
		0xf0000001u, UINT32_MAX };
	uint8_t buf[FRAME_MAX];

	for (size_t i = 0; i < sizeof(bad_vtep) / sizeof(bad_vtep[0]); i++) {
		struct wire_msg e = mk_host(5, bad_vtep[i], WIRE_HOST_VSWITCH, WIRE_HOST_ADD);

		MALFORMED(h, "not a host's VTEP", put32(f + HOST_VTEP, bad_vtep[i]));
		cr_expect_eq(wire_encode(&e, buf, sizeof(buf)), -EINVAL, "VTEP %08x",
		    bad_vtep[i]);
	}
	MALFORMED(h, "kind 0", f[HOST_KIND] = 0);
	MALFORMED(h, "kind 3", f[HOST_KIND] = 3);
	MALFORMED(h, "op 0", f[HOST_OP] = 0);
	MALFORMED(h, "op 3", f[HOST_OP] = 3);
	MALFORMED(h, "pad byte", f[HOST_PAD + 1] = 1);
	MALFORMED(h, "one byte short", resize(f, &n, -1));
	MALFORMED(h, "one byte long", resize(f, &n, 1));
}

Test(wire, malformed_snap_is_eproto)
{
	MALFORMED(mk_snap(WIRE_SNAP_END, 5, 0), "end count 1", f[SNAP_COUNT + 7] = 1);
	MALFORMED(mk_snap(WIRE_SNAP_END, 5, 0), "end count 2^63", f[SNAP_COUNT] = 0x80);
	MALFORMED(mk_snap(WIRE_SNAP_BEGIN, 5, 0), "begin of no history", put64(f + SNAP_EPOCH, 0));
	MALFORMED(mk_snap(WIRE_SNAP_END, 5, 0), "end with begin's size (an epoch)",
	    resize(f, &n, 8); put64(f + SNAP_EPOCH, EPOCH));
}

Test(wire, malformed_bind_is_eproto)
{
	MALFORMED(bind_add(), "seq 0", put64(f + BIND_SEQ, 0));
	MALFORMED(bind_add(), "vni 0", put32(f + BIND_VNI, 0));
	MALFORMED(bind_add(), "vni 0x1000000", put32(f + BIND_VNI, WIRE_VNI_MAX + 1));
	MALFORMED(bind_add(), "op 0", f[BIND_OP] = 0);
	MALFORMED(bind_add(), "op 3", f[BIND_OP] = 3);
	MALFORMED(bind_add(), "pad byte", f[BIND_PAD] = 1);
	MALFORMED(bind_add(), "add with zero mac", memset(f + BIND_MAC, 0, 6));
	MALFORMED(bind_add(), "add with multicast mac", f[BIND_MAC] = 0x33);
	MALFORMED(bind_add(), "tap empty", memset(f + BIND_TAP, 0, WIRE_TAP_MAX));
	MALFORMED(mk_bind(9, 100, 1, mac_vm, WIRE_BIND_ADD, tap15), "tap unterminated",
	    f[BIND_TAP + 15] = 'a');
	MALFORMED(bind_add(), "tap garbage after NUL", f[BIND_TAP + 7] = 'x');
	MALFORMED(bind_add(), "tap garbage in its last byte", f[BIND_TAP + 15] = 1);
	MALFORMED(bind_add(), "tap slash", f[BIND_TAP + 2] = '/');
	MALFORMED(bind_add(), "tap space", f[BIND_TAP + 2] = ' ');
	MALFORMED(bind_add(), "tap colon", f[BIND_TAP + 2] = ':');
	MALFORMED(bind_add(), "tap 8-bit", f[BIND_TAP + 2] = 0xc3);
}

Test(wire, malformed_error_is_eproto)
{
	MALFORMED(mk_error(1, "abcde"), "text length one more than the body",
	    put16(f + ERROR_LEN, 6));
	MALFORMED(mk_error(1, "abcde"), "text length one less than the body",
	    put16(f + ERROR_LEN, 4));
	MALFORMED(mk_error(1, "abcde"), "body one byte long", resize(f, &n, 1));
	MALFORMED(mk_error(1, "abcde"), "body one byte short", resize(f, &n, -1));
	MALFORMED(mk_error(1, ""), "body without the text length", resize(f, &n, -2));
	MALFORMED(mk_error(1, error_text_max()), "text of 200 bytes",
	    resize(f, &n, 1); f[n - 1] = 'a'; put16(f + ERROR_LEN, WIRE_ERROR_MAX));
	MALFORMED(mk_error(1, "abcde"), "NUL in the text", f[ERROR_MSG + 2] = '\0');
	MALFORMED(mk_error(1, "abcde"), "NUL ending the text", f[ERROR_MSG + 4] = '\0');
	MALFORMED(mk_error(1, "abcde"), "newline in the text", f[ERROR_MSG + 2] = '\n');
	MALFORMED(mk_error(1, "abcde"), "0x1f in the text", f[ERROR_MSG] = 0x1f);
	MALFORMED(mk_error(1, "abcde"), "DEL in the text", f[ERROR_MSG + 4] = 0x7f);
	MALFORMED(mk_error(1, "abcde"), "8-bit byte in the text", f[ERROR_MSG + 1] = 0xc3);
}

Test(wire, a_snapshot_of_an_empty_log_is_at_seq_0)
{
	uint8_t buf[WIRE_LEN_SIZE + WIRE_RECORD_MAX];
	struct wire_msg in = mk_snap(WIRE_SNAP_BEGIN, 0, 0), out;
	int n = wire_encode(&in, buf, sizeof(buf));

	cr_assert_gt(n, 0);
	cr_assert_eq(wire_decode(buf, n, &out), n);
	cr_assert_eq(out.u.snap.seq, 0);
	cr_assert_eq(wire_decode_payload(buf + WIRE_LEN_SIZE, n - WIRE_LEN_SIZE, &out), 0,
	    "the payload alone decodes the same");
	buf[WIRE_LEN_SIZE] = 9;	/* another version */
	cr_assert_eq(wire_decode_payload(buf + WIRE_LEN_SIZE, n - WIRE_LEN_SIZE, &out),
	    -EPROTONOSUPPORT);
	cr_assert_eq(wire_payload_version(buf + WIRE_LEN_SIZE, n - WIRE_LEN_SIZE), 9);
	cr_assert_eq(wire_payload_version(buf + WIRE_LEN_SIZE, 0), 0, "an empty payload");
}

/* --- versions ------------------------------------------------------------------- */

/* A HELLO as version 1 wrote it: 80 bytes, last_seq at 8, node at 16, no epoch. */
Test(wire, a_hello_of_version_1_is_refused_as_another_version)
{
	uint8_t v1[4 + 80] = { 0, 0, 0, 80, 1, WIRE_HELLO, 0, 0, WIRE_STREAM_RULES };
	struct wire_msg m;

	v1[4 + 15] = 41;
	memcpy(v1 + 4 + 16, "gw1", 3);
	cr_assert_eq(wire_decode(v1, sizeof(v1), &m), -EPROTONOSUPPORT);
	cr_assert_eq(wire_decode_payload(v1 + 4, 80, &m), -EPROTONOSUPPORT);
	cr_assert_eq(wire_payload_version(v1 + 4, 80), 1, "which version it is");
	cr_assert_eq(wire_decode_log(v1, sizeof(v1), &m), -EPROTO, "a HELLO is no log record");
	v1[4] = WIRE_VERSION;
	cr_assert_eq(wire_decode(v1, sizeof(v1), &m), -EPROTO,
	    "as version 2 it is one field short: no guess");
}

Test(wire, an_error_is_written_in_an_older_version_for_an_older_peer)
{
	struct wire_error e = { .code = EPROTONOSUPPORT };
	struct wire_msg m = mk_error(EPROTONOSUPPORT, "upgrade"), d;
	uint8_t ours[FRAME_MAX], v1[FRAME_MAX];
	int n = wire_encode(&m, ours, sizeof(ours));

	snprintf(e.msg, sizeof(e.msg), "upgrade");
	cr_assert_eq(wire_encode_error_v(1, &e, v1, sizeof(v1)), n);
	cr_assert_eq(v1[F_VERSION], 1);
	cr_assert_arr_eq(v1 + F_TYPE, ours + F_TYPE, (size_t)n - F_TYPE,
	    "the same ERROR but its version byte");
	cr_assert_eq(wire_decode(v1, (size_t)n, &d), -EPROTONOSUPPORT, "not ours to read");
	cr_assert_eq(wire_encode_error_v(WIRE_VERSION, &e, v1, sizeof(v1)), n);
	cr_assert_arr_eq(v1, ours, (size_t)n, "in our version: wire_encode's");
	cr_assert_eq(wire_encode_error_v(0, &e, v1, sizeof(v1)), -EINVAL);
	cr_assert_eq(wire_encode_error_v(WIRE_VERSION + 1, &e, v1, sizeof(v1)), -EINVAL,
	    "a newer version's ERROR is not known here");
	cr_assert_eq(wire_encode_error_v(1, &e, v1, (size_t)n - 1), -ENOSPC);
	e.msg[0] = '\n';
	cr_assert_eq(wire_encode_error_v(1, &e, v1, sizeof(v1)), -EINVAL);
}

Test(wire, log_records_a_version_1_controller_stored_still_decode)
{
	struct wire_msg logs[] = {
		rule_set(), mk_rule(2, 100, 1, 2, mac_zero, WIRE_RULE_DEL, 0, 5), vpc_advance(),
		mk_vpc(3, 100, 0, 0, WIRE_VPC_DELETE), bind_add(),
		mk_host(5, 0xc0a8640bu, WIRE_HOST_VSWITCH, WIRE_HOST_ADD),
	};
	struct wire_msg others[] = {
		hello_rules(), mk_snap(WIRE_SNAP_BEGIN, 1, 2), mk_snap(WIRE_SNAP_END, 1, 0),
		mk_heartbeat(3), mk_error(1, "x"), status_two(),
	};
	struct wire_msg d;
	uint8_t f[FRAME_MAX];

	for (size_t i = 0; i < sizeof(logs) / sizeof(logs[0]); i++) {
		size_t n = encode_ok(&logs[i], f, sizeof(f));
		const char *what = wire_type_name(logs[i].type);

		cr_expect_eq(wire_decode_log(f, n, &d), (int)n, "%s of this version", what);
		cr_expect(msg_equal(&logs[i], &d));
		f[F_VERSION] = WIRE_LOG_VERSION_MIN;
		cr_expect_eq(wire_decode(f, n, &d), -EPROTONOSUPPORT, "%s of version 1", what);
		cr_expect_eq(wire_decode_log(f, n, &d), (int)n, "%s of version 1 from a log",
		    what);
		cr_expect(msg_equal(&logs[i], &d), "%s reads as this version's", what);
		for (size_t k = 0; k < n; k++)
			cr_expect_eq(wire_decode_log(f, k, &d), 0, "%s cut at %zu", what, k);
		f[F_VERSION] = WIRE_VERSION + 1;
		cr_expect_eq(wire_decode_log(f, n, &d), -EPROTONOSUPPORT, "%s of version 3",
		    what);
		f[F_VERSION] = 0;
		cr_expect_eq(wire_decode_log(f, n, &d), -EPROTONOSUPPORT, "%s of version 0",
		    what);
	}
	/* A malformed log record is malformed whatever its version. */
	{
		struct wire_msg r = rule_set();
		size_t n = encode_ok(&r, f, sizeof(f));

		put64(f + RULE_SEQ, 0);
		f[F_VERSION] = 1;
		cr_expect_eq(wire_decode_log(f, n, &d), -EPROTO, "a version 1 rule of seq 0");
	}
	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
		size_t n = encode_ok(&others[i], f, sizeof(f));

		cr_expect_eq(wire_decode_log(f, n, &d), -EPROTO, "%s is no log record",
		    wire_type_name(others[i].type));
	}
}
