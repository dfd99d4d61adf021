/*
 * wire: the controller's streams, one codec for both ends (controller, rule-store,
 * learner). A frame is a 32-bit big-endian length and that many bytes; every frame of
 * the log stream and the binding feed is one record: version, type, zero, then the
 * type's fields in network byte order (docs/protocol.md draws each one). The control
 * API uses the same framing with a JSON object inside (wire_frame).
 *
 * Version 2 (WIRE_VERSION) added the epoch, the history a seq belongs to, to HELLO,
 * SNAP_BEGIN and PART_BEGIN: a record of version 1 is refused (-EPROTONOSUPPORT), and
 * the controller tells such a subscriber why in an ERROR of its own version.
 *
 * Pure functions: bytes in, struct out (or an error), no I/O, no allocation; every
 * length is checked before it is read, every enum and string validated.
 */
#ifndef COMMON_WIRE_H
#define COMMON_WIRE_H

#include <stddef.h>
#include <stdint.h>

#define WIRE_VERSION		2
/* The oldest version whose RULE, VPC, HOST and BIND records read as this one's. */
#define WIRE_LOG_VERSION_MIN	1
#define WIRE_LEN_SIZE		4		/* the length prefix */
#define WIRE_RECORD_MAX		512		/* largest record body */
#define WIRE_JSON_MAX		(16u << 20)	/* largest control API message */
#define WIRE_NAME_MAX		32		/* node and host names, NUL included */
#define WIRE_TAP_MAX		16		/* IFNAMSIZ */
#define WIRE_ERROR_MAX		200		/* error text, NUL included */
#define WIRE_VNI_MAX		0xffffffu
#define WIRE_STATUS_VNIS	64		/* incomplete VPCs a STATUS names */

enum wire_type {
	WIRE_HELLO = 1,		/* subscriber -> controller: which stream, from where */
	WIRE_RULE,		/* a rule changed (set or delete) at a version */
	WIRE_VPC,		/* a VPC reached a version, was deleted, or ends a snapshot */
	WIRE_SNAP_BEGIN,	/* a snapshot of the state after seq follows */
	WIRE_SNAP_END,		/* the snapshot is complete */
	WIRE_HEARTBEAT,		/* nothing new; the controller's newest seq */
	WIRE_BIND,		/* a VM was bound to / unbound from the subscriber's host */
	WIRE_ERROR,		/* the controller refuses the subscription; it closes next */
	WIRE_STATUS,		/* rule-store -> controller: its table's room and gaps */
	WIRE_WANT,		/* rule-store -> controller: send me a snapshot of a VPC */
	WIRE_PART_BEGIN,	/* a snapshot of one VPC after seq follows (a WANT's answer) */
	WIRE_HOST,		/* a host (its VTEP) was created or deleted at the controller */
	WIRE_TYPE_MAX = WIRE_HOST,
};

enum wire_stream { WIRE_STREAM_RULES = 1, WIRE_STREAM_BINDINGS = 2 };
enum wire_rule_op { WIRE_RULE_SET = 1, WIRE_RULE_DEL = 2 };
enum wire_vpc_op {
	WIRE_VPC_ADVANCE = 1,	/* the VPC is at (gen, version); its rules for it came before */
	WIRE_VPC_DELETE = 2,	/* the VPC is gone: drop its rules */
	WIRE_VPC_SNAPSHOT = 3,	/* in a snapshot: the VPC's rules came before, complete */
};
enum wire_bind_op { WIRE_BIND_ADD = 1, WIRE_BIND_DEL = 2 };
enum wire_host_op { WIRE_HOST_ADD = 1, WIRE_HOST_DEL = 2 };
enum wire_host_kind { WIRE_HOST_VSWITCH = 1, WIRE_HOST_EXTERNAL = 2 };

/* rule flags */
#define WIRE_RULE_F_EXTERNAL	0x01	/* the VTEP is an external host (no learner there) */

struct wire_hello {
	uint8_t stream;			/* enum wire_stream */
	uint64_t last_seq;		/* last record applied; 0: nothing yet */
	/*
	 * The history last_seq belongs to (the SNAP_BEGIN it last loaded said it); 0: not
	 * known (a new table, a learner). The log resumes only within one history.
	 */
	uint64_t epoch;
	char node[WIRE_NAME_MAX];	/* who asks, for the controller's log */
	char host[WIRE_NAME_MAX];	/* bindings: the host whose VMs to send; else "" */
};

struct wire_rule {
	uint64_t seq;
	uint32_t vni;
	uint32_t ip;			/* host byte order in the struct */
	uint32_t vtep;
	uint8_t mac[6];
	uint8_t op;			/* enum wire_rule_op */
	uint8_t flags;			/* WIRE_RULE_F_* */
	uint64_t version;
};

struct wire_vpc {
	uint64_t seq;
	uint32_t vni;
	uint32_t gen;
	uint64_t version;
	uint8_t op;			/* enum wire_vpc_op */
};

struct wire_snap {
	uint64_t seq;			/* the state after this record (0: before any) */
	uint64_t count;			/* BEGIN: records that follow before END; END: 0 */
	uint64_t epoch;			/* BEGIN: the controller's history, != 0; END: 0 */
};

/*
 * A gateway's table as its rule-store sees it, sent when it changes and every second:
 * what the controller admits changes against, and which VPCs the gateway does not hold
 * whole (a rule its table refused; DESIGN.md §7, docs/controller.md "Admission").
 */
struct wire_status {
	uint64_t applied_seq;
	uint32_t capacity;		/* rules and tombstones the table can hold */
	uint32_t used;			/* rules and tombstones it holds */
	uint32_t tombs;			/* of which tombstones */
	uint32_t max_vnis;
	uint32_t vnis;			/* VNI slots in use */
	uint32_t incomplete;		/* VPCs not held whole; the first nlisted below */
	uint8_t nlisted;
	uint32_t vni[WIRE_STATUS_VNIS];	/* incomplete VPCs, nlisted of them */
};

/* PART_BEGIN: count records of VPC vni at the state after seq, then SNAP_END at seq. */
struct wire_part {
	uint64_t seq;
	uint64_t count;
	uint32_t vni;
	uint64_t epoch;			/* the controller's history, != 0 */
};

struct wire_bind {
	uint64_t seq;
	uint32_t vni;
	uint32_t ip;
	uint8_t mac[6];
	uint8_t op;			/* enum wire_bind_op */
	char tap[WIRE_TAP_MAX];		/* the VM's TAP device on the host */
};

/*
 * A host's VTEP, the data plane's allow-lists (DESIGN.md §9, docs/forwarder.md): in the
 * log (a rule-store's, seq the record's) and on every binding feed; a snapshot of either
 * names every host (ADD, seq the snapshot's: 0 when the log is empty).
 */
struct wire_host {
	uint64_t seq;
	uint32_t vtep;			/* host byte order in the struct */
	uint8_t kind;			/* enum wire_host_kind */
	uint8_t op;			/* enum wire_host_op */
};

struct wire_error {
	uint16_t code;			/* an errno value */
	char msg[WIRE_ERROR_MAX];
};

struct wire_msg {
	uint8_t type;			/* enum wire_type */
	union {
		struct wire_hello hello;
		struct wire_rule rule;
		struct wire_vpc vpc;
		struct wire_snap snap;	/* SNAP_BEGIN, SNAP_END */
		uint64_t heartbeat_seq;	/* HEARTBEAT */
		struct wire_bind bind;
		struct wire_error error;
		struct wire_status status;
		uint32_t want_vni;	/* WANT: a VPC; 0: the whole state */
		struct wire_part part;	/* PART_BEGIN */
		struct wire_host host;
	} u;
};

/*
 * Encode m as one whole frame (length prefix included) at buf. Returns its size, or
 * -ENOSPC when len is too small, -EINVAL when m is not valid (what the decoder would
 * refuse: the encoder never produces a frame the decoder rejects).
 */
int wire_encode(const struct wire_msg *m, uint8_t *buf, size_t len);
/*
 * Decode the frame at the start of buf[0..len). Returns the bytes it took (> 0), 0 when
 * the frame is not complete yet, -EMSGSIZE when its length exceeds WIRE_RECORD_MAX,
 * -EPROTONOSUPPORT when the record is of another version than WIRE_VERSION
 * (wire_payload_version says which), or -EPROTO when it is malformed (type, length for
 * the type, enum, range or string). A negative result means the stream cannot be
 * trusted any more: close it.
 */
int wire_decode(const uint8_t *buf, size_t len, struct wire_msg *m);
/* The same for a frame's payload alone (what conn.h hands over): 0 or as above. */
int wire_decode_payload(const uint8_t *payload, uint32_t len, struct wire_msg *m);
/*
 * A frame a controller's store kept (its log's RULE, VPC and HOST records, an etcd
 * store's BIND records), written by this version or an older one down to
 * WIRE_LOG_VERSION_MIN: those records read the same in each. Any other type is -EPROTO;
 * otherwise as wire_decode.
 */
int wire_decode_log(const uint8_t *buf, size_t len, struct wire_msg *m);
/* The version a record's payload says it is of (its first byte); 0 for an empty one. */
uint8_t wire_payload_version(const uint8_t *payload, uint32_t len);
/*
 * Encode an ERROR as a peer of stream version `version` (1..WIRE_VERSION) reads it:
 * ERROR is the same in every version so far, so a subscriber of an older version can
 * be told why it is refused. As wire_encode; -EINVAL for a version not in 1..WIRE_VERSION.
 */
int wire_encode_error_v(uint8_t version, const struct wire_error *e, uint8_t *buf,
    size_t len);
/*
 * The framing alone: when buf starts with a complete frame of at most max bytes of
 * payload, point *payload at it, set *plen, and return the frame's total size; 0 when
 * more bytes are needed; -EMSGSIZE when the announced length exceeds max.
 */
int wire_frame(const uint8_t *buf, size_t len, size_t max, const uint8_t **payload,
    uint32_t *plen);
/* Write a frame's length prefix for a payload of plen bytes. */
void wire_frame_header(uint8_t *buf, uint32_t plen);
const char *wire_type_name(uint8_t type);

#endif
