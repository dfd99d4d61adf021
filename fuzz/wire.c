/*
 * fuzz/wire: a differential round-trip fuzzer of the controller stream codec
 * (common/wire.c, docs/protocol.md). The input is a byte stream cut into frames as a
 * subscriber would: for each frame that decodes, re-encoding the message must give the
 * same bytes (the format has one encoding per message) and decode back to the same
 * message; a frame cut short must ask for more. Then the message, with one byte of it
 * changed as the input's last two bytes say, must either be refused by the encoder or
 * round-trip: the encoder never writes what the decoder refuses. A log record (RULE,
 * VPC, HOST, BIND) reads the same through wire_decode_log, also with the version byte
 * of an older controller's store (WIRE_LOG_VERSION_MIN), which wire_decode refuses as
 * another version. abort() on any difference, so libFuzzer reports it.
 */
#include "common/wire.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FRAME_MAX	(WIRE_LEN_SIZE + WIRE_RECORD_MAX)

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
		    strncmp(a->u.hello.node, b->u.hello.node, WIRE_NAME_MAX) == 0 &&
		    strncmp(a->u.hello.host, b->u.hello.host, WIRE_NAME_MAX) == 0;
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
		    a->u.bind.op == b->u.bind.op &&
		    strncmp(a->u.bind.tap, b->u.bind.tap, WIRE_TAP_MAX) == 0;
	case WIRE_ERROR:
		return a->u.error.code == b->u.error.code &&
		    strncmp(a->u.error.msg, b->u.error.msg, WIRE_ERROR_MAX) == 0;
	case WIRE_STATUS:
		/* Field by field: the struct has padding after nlisted. */
		return a->u.status.applied_seq == b->u.status.applied_seq &&
		    a->u.status.capacity == b->u.status.capacity &&
		    a->u.status.used == b->u.status.used &&
		    a->u.status.tombs == b->u.status.tombs &&
		    a->u.status.max_vnis == b->u.status.max_vnis &&
		    a->u.status.vnis == b->u.status.vnis &&
		    a->u.status.incomplete == b->u.status.incomplete &&
		    a->u.status.nlisted == b->u.status.nlisted &&
		    memcmp(a->u.status.vni, b->u.status.vni, sizeof(a->u.status.vni)) == 0;
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

/* m decoded from frame[0..n): its encoding is those bytes and decodes to m again. */
static void
check_canonical(const struct wire_msg *m, const uint8_t *frame, int n)
{
	uint8_t buf[FRAME_MAX];
	struct wire_msg d;

	if (wire_encode(m, buf, sizeof(buf)) != n || memcmp(buf, frame, (size_t)n) != 0)
		abort();
	if (wire_decode(buf, (size_t)n, &d) != n || !msg_equal(m, &d))
		abort();
	if (wire_decode(buf, (size_t)n - 1, &d) != 0)
		abort();
	if (wire_encode(m, buf, (size_t)n - 1) != -ENOSPC)
		abort();
}

/* frame[0..n) decoded to m: the log decoder agrees, for this version and the oldest. */
static void
check_log(const struct wire_msg *m, const uint8_t *frame, int n)
{
	bool log = m->type == WIRE_RULE || m->type == WIRE_VPC || m->type == WIRE_HOST ||
	    m->type == WIRE_BIND;
	uint8_t buf[FRAME_MAX];
	struct wire_msg d;

	memcpy(buf, frame, (size_t)n);
	if (wire_decode_log(buf, (size_t)n, &d) != (log ? n : -EPROTO) ||
	    (log && !msg_equal(m, &d)))
		abort();
	buf[WIRE_LEN_SIZE] = WIRE_LOG_VERSION_MIN;
	if (wire_decode(buf, (size_t)n, &d) != -EPROTONOSUPPORT ||
	    wire_decode_log(buf, (size_t)n, &d) != (log ? n : -EPROTO) ||
	    (log && !msg_equal(m, &d)))
		abort();
}

/* Whatever the encoder accepts must come back unchanged from the decoder. */
static void
check_encoder(const struct wire_msg *m)
{
	uint8_t buf[FRAME_MAX];
	struct wire_msg d;
	int n;

	n = wire_encode(m, buf, sizeof(buf));
	if (n == -EINVAL)
		return;
	if (n <= WIRE_LEN_SIZE || wire_decode(buf, (size_t)n, &d) != n || !msg_equal(m, &d))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wire_msg m, mut;
	const uint8_t *p;
	uint32_t plen;
	size_t off = 0;
	int n;

	while ((n = wire_decode(data + off, size - off, &m)) > 0) {
		/* the record framing agrees with the bare framing */
		if (wire_frame(data + off, size - off, WIRE_RECORD_MAX, &p, &plen) != n ||
		    p != data + off + WIRE_LEN_SIZE || plen + WIRE_LEN_SIZE != (uint32_t)n)
			abort();
		check_canonical(&m, data + off, n);
		check_log(&m, data + off, n);
		if (size >= 2) {
			mut = m;
			((uint8_t *)&mut)[data[size - 2] % sizeof(mut)] ^= data[size - 1];
			check_encoder(&mut);
		}
		off += (size_t)n;
	}
	if (n != 0 && n != -EPROTO && n != -EMSGSIZE && n != -EPROTONOSUPPORT)
		abort();
	/* What the subscriber's stream refused, the log decoder refuses too. */
	if (n < 0 && wire_decode_log(data + off, size - off, &m) > 0 &&
	    (size - off <= WIRE_LEN_SIZE || data[off + WIRE_LEN_SIZE] == WIRE_VERSION))
		abort();
	if (wire_type_name(size > 0 ? data[0] : 0) == NULL)
		abort();
	return 0;
}
