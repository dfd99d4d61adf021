/*
 * wire: the codec of the controller's streams; docs/protocol.md, "Controller streams",
 * draws every record byte by byte and lists the rules checked here.
 *
 * Invariant: encoder and decoder accept exactly the same messages, and the format has
 * one encoding per message. Both run msg_valid() on the struct; the decoder checks in
 * addition what only bytes can get wrong (version, type, reserved and pad bytes, exact
 * length, strings terminated with zeros after the NUL), and the encoder writes those
 * parts in their one valid form. So every frame the encoder writes decodes to the
 * message it was given, and a frame that decodes re-encodes to the same bytes. (A log
 * record an older controller stored, which wire_decode_log reads, re-encodes as this
 * version's: the same bytes but the version's.)
 */
#include "common/wire.h"
#include "common/addr.h"
#include "common/bytes.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <string.h>

/* The wire layout fixes these sizes: changing the header must not change the format. */
_Static_assert(WIRE_NAME_MAX == 32 && WIRE_TAP_MAX == 16, "wire string field sizes");
_Static_assert(WIRE_ERROR_MAX - 1 <= UINT16_MAX, "error length is a u16");
_Static_assert(8 + WIRE_ERROR_MAX - 1 <= WIRE_RECORD_MAX, "an error record fits");

/* Offsets in the body (after the length prefix); docs/protocol.md draws them. */
enum {
	OFF_VERSION = 0,
	OFF_TYPE = 1,
	OFF_RESERVED = 2,			/* 2 bytes */
	HDR_SIZE = 4,

	HELLO_STREAM = 4,
	HELLO_PAD = 5,				/* 3 bytes */
	HELLO_LAST_SEQ = 8,
	HELLO_EPOCH = 16,
	HELLO_NODE = 24,
	HELLO_HOST = 56,
	HELLO_SIZE = 88,

	RULE_SEQ = 4,
	RULE_VNI = 12,
	RULE_IP = 16,
	RULE_VTEP = 20,
	RULE_MAC = 24,
	RULE_OP = 30,
	RULE_FLAGS = 31,
	RULE_VERSION = 32,
	RULE_SIZE = 40,

	VPC_SEQ = 4,
	VPC_VNI = 12,
	VPC_GEN = 16,
	VPC_VERSION = 20,
	VPC_OP = 28,
	VPC_PAD = 29,				/* 3 bytes */
	VPC_SIZE = 32,

	SNAP_SEQ = 4,
	SNAP_COUNT = 12,
	SNAP_END_SIZE = 20,
	SNAP_EPOCH = 20,			/* BEGIN only */
	SNAP_BEGIN_SIZE = 28,

	HEARTBEAT_SEQ = 4,
	HEARTBEAT_SIZE = 12,

	BIND_SEQ = 4,
	BIND_VNI = 12,
	BIND_IP = 16,
	BIND_MAC = 20,
	BIND_OP = 26,
	BIND_PAD = 27,				/* 1 byte */
	BIND_TAP = 28,
	BIND_SIZE = 44,

	ERROR_CODE = 4,
	ERROR_LEN = 6,
	ERROR_MSG = 8,				/* ERROR_LEN bytes, no NUL */

	STATUS_SEQ = 4,
	STATUS_CAPACITY = 12,
	STATUS_USED = 16,
	STATUS_TOMBS = 20,
	STATUS_MAX_VNIS = 24,
	STATUS_VNIS = 28,
	STATUS_INCOMPLETE = 32,
	STATUS_NLISTED = 36,
	STATUS_PAD = 37,			/* 3 bytes */
	STATUS_LIST = 40,			/* WIRE_STATUS_VNIS u32, unlisted ones 0 */
	STATUS_SIZE = STATUS_LIST + 4 * WIRE_STATUS_VNIS,

	WANT_VNI = 4,
	WANT_SIZE = 8,

	PART_SEQ = 4,
	PART_COUNT = 12,
	PART_VNI = 20,
	PART_EPOCH = 24,
	PART_SIZE = 32,

	HOST_SEQ = 4,
	HOST_VTEP = 12,
	HOST_KIND = 16,
	HOST_OP = 17,
	HOST_PAD = 18,				/* 2 bytes */
	HOST_SIZE = 20,
};
_Static_assert(STATUS_SIZE <= WIRE_RECORD_MAX, "a status record fits");

/* The exact body size of each type; ERROR's is 8 plus its text. */
static const uint16_t body_size[WIRE_TYPE_MAX + 1] = {
	[WIRE_HELLO] = HELLO_SIZE,
	[WIRE_RULE] = RULE_SIZE,
	[WIRE_VPC] = VPC_SIZE,
	[WIRE_SNAP_BEGIN] = SNAP_BEGIN_SIZE,
	[WIRE_SNAP_END] = SNAP_END_SIZE,
	[WIRE_HEARTBEAT] = HEARTBEAT_SIZE,
	[WIRE_BIND] = BIND_SIZE,
	[WIRE_ERROR] = ERROR_MSG,
	[WIRE_STATUS] = STATUS_SIZE,
	[WIRE_WANT] = WANT_SIZE,
	[WIRE_PART_BEGIN] = PART_SIZE,
	[WIRE_HOST] = HOST_SIZE,
};

static const char *const type_names[WIRE_TYPE_MAX + 1] = {
	[WIRE_HELLO] = "hello",
	[WIRE_RULE] = "rule",
	[WIRE_VPC] = "vpc",
	[WIRE_SNAP_BEGIN] = "snap_begin",
	[WIRE_SNAP_END] = "snap_end",
	[WIRE_HEARTBEAT] = "heartbeat",
	[WIRE_BIND] = "bind",
	[WIRE_ERROR] = "error",
	[WIRE_STATUS] = "status",
	[WIRE_WANT] = "want",
	[WIRE_PART_BEGIN] = "part_begin",
	[WIRE_HOST] = "host",
};

/* Node names: [a-z0-9_-]. */
static bool
node_char(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

/* Host and TAP names: [A-Za-z0-9._-]. */
static bool
name_char(int c)
{
	return (c >= 'A' && c <= 'Z') || node_char(c) || c == '.';
}

static bool
print_char(int c)
{
	return c >= 0x20 && c <= 0x7e;
}

/* s is NUL-terminated within size bytes, has at least min characters, all ok. */
static bool
str_valid(const char *s, size_t size, size_t min, bool (*ok)(int))
{
	size_t n = strnlen(s, size);

	if (n == size || n < min)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!ok((unsigned char)s[i]))
			return false;
	return true;
}

static bool
vni_valid(uint32_t vni)
{
	return vni >= 1 && vni <= WIRE_VNI_MAX;
}

/* A VM's MAC: unicast and not all zero. */
static bool
mac_valid(const uint8_t mac[6])
{
	return (mac[0] & 1) == 0 && !bytes_zero(mac, 6);
}

/* Counts that cannot be (more used than room, listed VPCs past the count or invalid). */
static bool
status_valid(const struct wire_status *st)
{
	if (st->used > st->capacity || st->tombs > st->used || st->vnis > st->max_vnis ||
	    st->nlisted > WIRE_STATUS_VNIS || st->nlisted > st->incomplete)
		return false;
	for (uint32_t i = 0; i < WIRE_STATUS_VNIS; i++)
		if (i < st->nlisted ? !vni_valid(st->vni[i]) : st->vni[i] != 0)
			return false;
	return true;
}

/* Everything the struct itself can get wrong; shared by encoder and decoder. */
static bool
msg_valid(const struct wire_msg *m)
{
	const struct wire_hello *h = &m->u.hello;
	const struct wire_rule *r = &m->u.rule;
	const struct wire_vpc *v = &m->u.vpc;
	const struct wire_bind *b = &m->u.bind;

	switch (m->type) {
	case WIRE_HELLO:
		if (!str_valid(h->node, sizeof(h->node), 1, node_char))
			return false;
		if (h->stream == WIRE_STREAM_RULES)
			return h->host[0] == '\0';
		if (h->stream == WIRE_STREAM_BINDINGS)
			return str_valid(h->host, sizeof(h->host), 1, name_char);
		return false;
	case WIRE_RULE:
		return r->seq >= 1 && vni_valid(r->vni) && r->version >= 1 &&
		    (r->flags & ~WIRE_RULE_F_EXTERNAL) == 0 &&
		    (r->op == WIRE_RULE_DEL || (r->op == WIRE_RULE_SET && mac_valid(r->mac)));
	case WIRE_VPC:
		if (v->seq < 1 || !vni_valid(v->vni))
			return false;
		if (v->op == WIRE_VPC_DELETE)
			return true;
		return (v->op == WIRE_VPC_ADVANCE || v->op == WIRE_VPC_SNAPSHOT) && v->gen != 0;
	case WIRE_SNAP_BEGIN:
		/* seq 0: the state before any record (an empty log); it names its history. */
		return m->u.snap.epoch != 0;
	case WIRE_SNAP_END:
		return m->u.snap.count == 0 && m->u.snap.epoch == 0;
	case WIRE_HEARTBEAT:
		return true;
	case WIRE_BIND:
		return b->seq >= 1 && vni_valid(b->vni) &&
		    str_valid(b->tap, sizeof(b->tap), 1, name_char) &&
		    (b->op == WIRE_BIND_DEL || (b->op == WIRE_BIND_ADD && mac_valid(b->mac)));
	case WIRE_ERROR:
		return str_valid(m->u.error.msg, sizeof(m->u.error.msg), 0, print_char);
	case WIRE_STATUS:
		return status_valid(&m->u.status);
	case WIRE_WANT:
		return m->u.want_vni == 0 || vni_valid(m->u.want_vni);
	case WIRE_PART_BEGIN:
		return vni_valid(m->u.part.vni) && m->u.part.epoch != 0;
	case WIRE_HOST:
		/* What addr_vtep_valid lets a host have; seq 0: a snapshot of an empty log. */
		return addr_vtep_valid(NULL, m->u.host.vtep, NULL) == 0 &&
		    (m->u.host.kind == WIRE_HOST_VSWITCH ||
		    m->u.host.kind == WIRE_HOST_EXTERNAL) &&
		    (m->u.host.op == WIRE_HOST_ADD || m->u.host.op == WIRE_HOST_DEL);
	default:
		return false;
	}
}

/* Write a valid string into its field: the characters, then zeros to the end. */
static void
put_str(uint8_t *p, const char *s, size_t size)
{
	size_t n = strnlen(s, size);

	memcpy(p, s, n);
	memset(p + n, 0, size - n);
}

/* A string field on the wire: NUL within it, only zeros after the NUL. */
static bool
get_str(char *s, const uint8_t *p, size_t size)
{
	const uint8_t *nul = memchr(p, '\0', size);

	if (nul == NULL || !bytes_zero(nul, size - (size_t)(nul - p)))
		return false;
	memcpy(s, p, size);
	return true;
}

int
wire_encode(const struct wire_msg *m, uint8_t *buf, size_t len)
{
	size_t blen;
	uint8_t *b;

	if (!msg_valid(m))
		return -EINVAL;
	blen = body_size[m->type];
	if (m->type == WIRE_ERROR)
		blen += strlen(m->u.error.msg);
	if (len < WIRE_LEN_SIZE + blen)
		return -ENOSPC;

	/* Zero first: reserved bytes, pads and the tails of strings stay so. */
	memset(buf, 0, WIRE_LEN_SIZE + blen);
	wire_frame_header(buf, (uint32_t)blen);
	b = buf + WIRE_LEN_SIZE;
	b[OFF_VERSION] = WIRE_VERSION;
	b[OFF_TYPE] = m->type;
	switch (m->type) {
	case WIRE_HELLO:
		b[HELLO_STREAM] = m->u.hello.stream;
		bytes_put64(b + HELLO_LAST_SEQ, m->u.hello.last_seq);
		bytes_put64(b + HELLO_EPOCH, m->u.hello.epoch);
		put_str(b + HELLO_NODE, m->u.hello.node, WIRE_NAME_MAX);
		put_str(b + HELLO_HOST, m->u.hello.host, WIRE_NAME_MAX);
		break;
	case WIRE_RULE:
		bytes_put64(b + RULE_SEQ, m->u.rule.seq);
		bytes_put32(b + RULE_VNI, m->u.rule.vni);
		bytes_put32(b + RULE_IP, m->u.rule.ip);
		bytes_put32(b + RULE_VTEP, m->u.rule.vtep);
		memcpy(b + RULE_MAC, m->u.rule.mac, 6);
		b[RULE_OP] = m->u.rule.op;
		b[RULE_FLAGS] = m->u.rule.flags;
		bytes_put64(b + RULE_VERSION, m->u.rule.version);
		break;
	case WIRE_VPC:
		bytes_put64(b + VPC_SEQ, m->u.vpc.seq);
		bytes_put32(b + VPC_VNI, m->u.vpc.vni);
		bytes_put32(b + VPC_GEN, m->u.vpc.gen);
		bytes_put64(b + VPC_VERSION, m->u.vpc.version);
		b[VPC_OP] = m->u.vpc.op;
		break;
	case WIRE_SNAP_BEGIN:
	case WIRE_SNAP_END:
		bytes_put64(b + SNAP_SEQ, m->u.snap.seq);
		bytes_put64(b + SNAP_COUNT, m->u.snap.count);
		if (m->type == WIRE_SNAP_BEGIN)
			bytes_put64(b + SNAP_EPOCH, m->u.snap.epoch);
		break;
	case WIRE_HEARTBEAT:
		bytes_put64(b + HEARTBEAT_SEQ, m->u.heartbeat_seq);
		break;
	case WIRE_BIND:
		bytes_put64(b + BIND_SEQ, m->u.bind.seq);
		bytes_put32(b + BIND_VNI, m->u.bind.vni);
		bytes_put32(b + BIND_IP, m->u.bind.ip);
		memcpy(b + BIND_MAC, m->u.bind.mac, 6);
		b[BIND_OP] = m->u.bind.op;
		put_str(b + BIND_TAP, m->u.bind.tap, WIRE_TAP_MAX);
		break;
	case WIRE_ERROR:
		bytes_put16(b + ERROR_CODE, m->u.error.code);
		bytes_put16(b + ERROR_LEN, (uint16_t)(blen - ERROR_MSG));
		memcpy(b + ERROR_MSG, m->u.error.msg, blen - ERROR_MSG);
		break;
	case WIRE_STATUS:
		bytes_put64(b + STATUS_SEQ, m->u.status.applied_seq);
		bytes_put32(b + STATUS_CAPACITY, m->u.status.capacity);
		bytes_put32(b + STATUS_USED, m->u.status.used);
		bytes_put32(b + STATUS_TOMBS, m->u.status.tombs);
		bytes_put32(b + STATUS_MAX_VNIS, m->u.status.max_vnis);
		bytes_put32(b + STATUS_VNIS, m->u.status.vnis);
		bytes_put32(b + STATUS_INCOMPLETE, m->u.status.incomplete);
		b[STATUS_NLISTED] = m->u.status.nlisted;
		for (uint32_t i = 0; i < WIRE_STATUS_VNIS; i++)
			bytes_put32(b + STATUS_LIST + 4 * i, m->u.status.vni[i]);
		break;
	case WIRE_WANT:
		bytes_put32(b + WANT_VNI, m->u.want_vni);
		break;
	case WIRE_PART_BEGIN:
		bytes_put64(b + PART_SEQ, m->u.part.seq);
		bytes_put64(b + PART_COUNT, m->u.part.count);
		bytes_put32(b + PART_VNI, m->u.part.vni);
		bytes_put64(b + PART_EPOCH, m->u.part.epoch);
		break;
	case WIRE_HOST:
		bytes_put64(b + HOST_SEQ, m->u.host.seq);
		bytes_put32(b + HOST_VTEP, m->u.host.vtep);
		b[HOST_KIND] = m->u.host.kind;
		b[HOST_OP] = m->u.host.op;
		break;
	}
	return (int)(WIRE_LEN_SIZE + blen);
}

/* The records a controller's store keeps: the same from WIRE_LOG_VERSION_MIN on. */
static bool
log_type(uint8_t type)
{
	return type == WIRE_RULE || type == WIRE_VPC || type == WIRE_HOST || type == WIRE_BIND;
}

/*
 * Parse a body of blen bytes into m: 0; -EPROTONOSUPPORT for a record of another
 * version (with `log`, a log record of an older version reads as this one's);
 * -EPROTO when it is malformed.
 */
static int
decode_body(const uint8_t *b, uint32_t blen, struct wire_msg *m, bool log)
{
	uint16_t n;

	memset(m, 0, sizeof(*m));
	if (blen < HDR_SIZE || (log && !log_type(b[OFF_TYPE])))
		return -EPROTO;
	if (b[OFF_VERSION] != WIRE_VERSION && !(log && b[OFF_VERSION] >= WIRE_LOG_VERSION_MIN &&
	    b[OFF_VERSION] < WIRE_VERSION))
		return -EPROTONOSUPPORT;
	if (b[OFF_TYPE] == 0 || b[OFF_TYPE] > WIRE_TYPE_MAX || !bytes_zero(b + OFF_RESERVED, 2))
		return -EPROTO;
	m->type = b[OFF_TYPE];
	if (m->type != WIRE_ERROR && blen != body_size[m->type])
		return -EPROTO;

	switch (m->type) {
	case WIRE_HELLO:
		m->u.hello.stream = b[HELLO_STREAM];
		m->u.hello.last_seq = bytes_get64(b + HELLO_LAST_SEQ);
		m->u.hello.epoch = bytes_get64(b + HELLO_EPOCH);
		if (!bytes_zero(b + HELLO_PAD, 3) ||
		    !get_str(m->u.hello.node, b + HELLO_NODE, WIRE_NAME_MAX) ||
		    !get_str(m->u.hello.host, b + HELLO_HOST, WIRE_NAME_MAX))
			return -EPROTO;
		break;
	case WIRE_RULE:
		m->u.rule.seq = bytes_get64(b + RULE_SEQ);
		m->u.rule.vni = bytes_get32(b + RULE_VNI);
		m->u.rule.ip = bytes_get32(b + RULE_IP);
		m->u.rule.vtep = bytes_get32(b + RULE_VTEP);
		memcpy(m->u.rule.mac, b + RULE_MAC, 6);
		m->u.rule.op = b[RULE_OP];
		m->u.rule.flags = b[RULE_FLAGS];
		m->u.rule.version = bytes_get64(b + RULE_VERSION);
		break;
	case WIRE_VPC:
		m->u.vpc.seq = bytes_get64(b + VPC_SEQ);
		m->u.vpc.vni = bytes_get32(b + VPC_VNI);
		m->u.vpc.gen = bytes_get32(b + VPC_GEN);
		m->u.vpc.version = bytes_get64(b + VPC_VERSION);
		m->u.vpc.op = b[VPC_OP];
		if (!bytes_zero(b + VPC_PAD, 3))
			return -EPROTO;
		break;
	case WIRE_SNAP_BEGIN:
	case WIRE_SNAP_END:
		m->u.snap.seq = bytes_get64(b + SNAP_SEQ);
		m->u.snap.count = bytes_get64(b + SNAP_COUNT);
		if (m->type == WIRE_SNAP_BEGIN)
			m->u.snap.epoch = bytes_get64(b + SNAP_EPOCH);
		break;
	case WIRE_HEARTBEAT:
		m->u.heartbeat_seq = bytes_get64(b + HEARTBEAT_SEQ);
		break;
	case WIRE_BIND:
		m->u.bind.seq = bytes_get64(b + BIND_SEQ);
		m->u.bind.vni = bytes_get32(b + BIND_VNI);
		m->u.bind.ip = bytes_get32(b + BIND_IP);
		memcpy(m->u.bind.mac, b + BIND_MAC, 6);
		m->u.bind.op = b[BIND_OP];
		if (!bytes_zero(b + BIND_PAD, 1) || !get_str(m->u.bind.tap, b + BIND_TAP, WIRE_TAP_MAX))
			return -EPROTO;
		break;
	case WIRE_ERROR:
		if (blen < ERROR_MSG)
			return -EPROTO;
		n = bytes_get16(b + ERROR_LEN);
		if (n > WIRE_ERROR_MAX - 1 || blen != (uint32_t)ERROR_MSG + n ||
		    memchr(b + ERROR_MSG, '\0', n) != NULL)
			return -EPROTO;
		m->u.error.code = bytes_get16(b + ERROR_CODE);
		memcpy(m->u.error.msg, b + ERROR_MSG, n);	/* the memset terminated it */
		break;
	case WIRE_STATUS:
		m->u.status.applied_seq = bytes_get64(b + STATUS_SEQ);
		m->u.status.capacity = bytes_get32(b + STATUS_CAPACITY);
		m->u.status.used = bytes_get32(b + STATUS_USED);
		m->u.status.tombs = bytes_get32(b + STATUS_TOMBS);
		m->u.status.max_vnis = bytes_get32(b + STATUS_MAX_VNIS);
		m->u.status.vnis = bytes_get32(b + STATUS_VNIS);
		m->u.status.incomplete = bytes_get32(b + STATUS_INCOMPLETE);
		m->u.status.nlisted = b[STATUS_NLISTED];
		for (uint32_t i = 0; i < WIRE_STATUS_VNIS; i++)
			m->u.status.vni[i] = bytes_get32(b + STATUS_LIST + 4 * i);
		if (!bytes_zero(b + STATUS_PAD, 3))
			return -EPROTO;
		break;
	case WIRE_WANT:
		m->u.want_vni = bytes_get32(b + WANT_VNI);
		break;
	case WIRE_PART_BEGIN:
		m->u.part.seq = bytes_get64(b + PART_SEQ);
		m->u.part.count = bytes_get64(b + PART_COUNT);
		m->u.part.vni = bytes_get32(b + PART_VNI);
		m->u.part.epoch = bytes_get64(b + PART_EPOCH);
		break;
	case WIRE_HOST:
		m->u.host.seq = bytes_get64(b + HOST_SEQ);
		m->u.host.vtep = bytes_get32(b + HOST_VTEP);
		m->u.host.kind = b[HOST_KIND];
		m->u.host.op = b[HOST_OP];
		if (!bytes_zero(b + HOST_PAD, 2))
			return -EPROTO;
		break;
	}
	return msg_valid(m) ? 0 : -EPROTO;
}

int
wire_decode(const uint8_t *buf, size_t len, struct wire_msg *m)
{
	const uint8_t *body;
	uint32_t blen;
	int n, rc;

	if ((n = wire_frame(buf, len, WIRE_RECORD_MAX, &body, &blen)) <= 0)
		return n;
	rc = decode_body(body, blen, m, false);
	return rc < 0 ? rc : n;
}

int
wire_decode_payload(const uint8_t *payload, uint32_t len, struct wire_msg *m)
{
	if (len > WIRE_RECORD_MAX)
		return -EMSGSIZE;
	return decode_body(payload, len, m, false);
}

int
wire_decode_log(const uint8_t *buf, size_t len, struct wire_msg *m)
{
	const uint8_t *body;
	uint32_t blen;
	int n, rc;

	if ((n = wire_frame(buf, len, WIRE_RECORD_MAX, &body, &blen)) <= 0)
		return n;
	rc = decode_body(body, blen, m, true);
	return rc < 0 ? rc : n;
}

uint8_t
wire_payload_version(const uint8_t *payload, uint32_t len)
{
	return len > OFF_VERSION ? payload[OFF_VERSION] : 0;
}

int
wire_encode_error_v(uint8_t version, const struct wire_error *e, uint8_t *buf, size_t len)
{
	struct wire_msg m = { .type = WIRE_ERROR, .u.error = *e };
	int n;

	if (version < 1 || version > WIRE_VERSION)
		return -EINVAL;
	if ((n = wire_encode(&m, buf, len)) > 0)
		buf[WIRE_LEN_SIZE + OFF_VERSION] = version;
	return n;
}

/*
 * The result is an int, so a frame larger than INT_MAX is refused like one larger
 * than max (WIRE_JSON_MAX, the largest max in use, is far below).
 */
int
wire_frame(const uint8_t *buf, size_t len, size_t max, const uint8_t **payload,
    uint32_t *plen)
{
	uint32_t n;

	if (len < WIRE_LEN_SIZE)
		return 0;
	n = bytes_get32(buf);
	if (n > max || n > INT_MAX - WIRE_LEN_SIZE)
		return -EMSGSIZE;
	if (len - WIRE_LEN_SIZE < n)
		return 0;
	*payload = buf + WIRE_LEN_SIZE;
	*plen = n;
	return (int)(WIRE_LEN_SIZE + n);
}

void
wire_frame_header(uint8_t *buf, uint32_t plen)
{
	bytes_put32(buf, plen);
}

const char *
wire_type_name(uint8_t type)
{
	if (type == 0 || type > WIRE_TYPE_MAX)
		return "unknown";
	return type_names[type];
}
