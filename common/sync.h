/*
 * sync: the sync and learn protocol between a host's learner and a gateway's syncd,
 * over UDP (DESIGN.md §3, §4; docs/protocol.md draws each message byte by byte). One
 * codec for both ends: pure functions, no I/O, no allocation, every length checked
 * before it is read, every field validated.
 *
 * Every datagram starts with: magic "VS" (0x5653), version 1, type, request id (u32),
 * all integers big-endian.
 *
 *   SYNC_REQ   learner -> syncd: for up to 64 VNIs, (vni, gen, version, cursor):
 *              "the changes after version (and after the cursor, when paging)"; the
 *              gateway may park it up to wait_ms when nothing is new.
 *   SYNC_RESP  syncd -> learner: one section a VNI: a status (OK, RELEARN, RETRY,
 *              UNKNOWN), the versions the entries go from and to, MORE and a resume
 *              cursor when a page ends inside the changes, and the entries.
 *   LEARN      syncd -> learner: one section with the one rule a host's first packet
 *              asked for, and the VPC's generation and version (upto).
 *
 * Entries are compressed (a rule costs 3-5 bytes, not 23): sorted by (version, ip),
 * each gives its IP as a delta from the previous one, its version as a delta (or none:
 * the same), its VTEP as an index into the section's table of VTEPs, and its MAC only
 * when it is not the default 02:00:<ip> (addr_default_mac).
 */
#ifndef COMMON_SYNC_H
#define COMMON_SYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SYNC_MAGIC		0x5653u	/* "VS" */
#define SYNC_VERSION		1
#define SYNC_HDR_SIZE		8
#define SYNC_VNIS_MAX		64	/* VNIs in one request */
#define SYNC_SECTIONS_MAX	64	/* sections in one response */
#define SYNC_VTEPS_MAX		64	/* VTEPs in one section's table */
#define SYNC_DGRAM_MAX		65507	/* largest UDP payload */
#define SYNC_ENTRY_MIN		2	/* bytes of the smallest entry: a DEL one IP on */
/* Entries one datagram may carry: a decoder's array this size always suffices. */
#define SYNC_ENTRIES_MAX	(SYNC_DGRAM_MAX / SYNC_ENTRY_MIN)

enum sync_type { SYNC_REQ = 1, SYNC_RESP = 2, SYNC_LEARN = 3 };

enum sync_status {
	SYNC_OK = 1,		/* entries follow (maybe none: nothing new) */
	SYNC_RELEARN = 2,	/* (gen, version) is not valid here: flush, start from 0 */
	SYNC_RETRY = 3,		/* the asker is ahead of this gateway: ask another */
	SYNC_UNKNOWN = 4,	/* this gateway has no such VPC */
};

#define SYNC_F_MORE		0x01	/* section flag: a page ends here, resume at cursor */

enum sync_op { SYNC_SET = 1, SYNC_DEL = 2 };

/* One VNI of a request. cursor_version 0: no cursor (the first page). */
struct sync_item {
	uint32_t vni;
	uint32_t gen;
	uint64_t version;	/* the asker's version: changes after it */
	uint64_t cursor_version;/* paging: resume after (cursor_version, cursor_ip) */
	uint32_t cursor_ip;
};

struct sync_req {
	uint32_t id;
	uint16_t wait_ms;	/* how long it may be parked when nothing is new */
	uint8_t count;		/* 1..SYNC_VNIS_MAX, no VNI twice */
	struct sync_item items[SYNC_VNIS_MAX];
};

struct sync_entry {
	uint32_t ip;		/* host byte order */
	uint32_t vtep;		/* 0 for a delete */
	uint8_t mac[6];		/* zero for a delete */
	uint8_t op;		/* enum sync_op */
	uint64_t version;
};

struct sync_section {
	uint32_t vni;
	uint32_t gen;
	uint8_t status;		/* enum sync_status */
	uint8_t flags;		/* SYNC_F_MORE */
	uint64_t since;		/* the entries are the changes after this version... */
	uint64_t upto;		/* ...up to this one (LEARN: the VPC's version) */
	uint64_t cursor_version;/* with MORE: where the next page starts */
	uint32_t cursor_ip;
	uint32_t first;		/* decoded: its entries are entries[first .. first+count) */
	uint32_t count;
};

/* A decoded SYNC_RESP or LEARN. */
struct sync_resp {
	uint8_t type;		/* SYNC_RESP or SYNC_LEARN */
	uint32_t id;		/* the request's (LEARN: 0) */
	uint8_t count;		/* sections */
	struct sync_section sections[SYNC_SECTIONS_MAX];
};

/* The type of a datagram (after checking magic and version), or -EPROTO. */
int sync_type(const uint8_t *buf, size_t len);

/* Requests. Encode: bytes written, -ENOSPC, or -EINVAL (not what decode accepts). */
int sync_req_encode(const struct sync_req *r, uint8_t *buf, size_t len);
int sync_req_decode(const uint8_t *buf, size_t len, struct sync_req *r);

/*
 * Responses and LEARNs are built in place, a section at a time, so a page ends where
 * the datagram is full:
 *
 *	sync_build_begin(&b, buf, cap, SYNC_RESP, id);
 *	sync_build_section(&b, vni, gen, SYNC_OK, since, upto);
 *	while (more changes && sync_build_entry(&b, &e) == 0) ...;
 *	sync_build_section_end(&b, full, cursor_version, cursor_ip);
 *	len = sync_build_finish(&b);
 *
 * Entries of a section must come in increasing (version, ip) order, each version >
 * since and <= upto. A section and an entry fail with -ENOSPC when they do not fit
 * (room for the section's end, its cursor and VTEP table, is kept back; an OK section
 * opens only with room for one entry, so its first entry always fits), a 65th section
 * and an entry with a 65th VTEP too; a status other than OK takes no entry.
 */
struct sync_builder {
	uint8_t *buf;
	size_t cap, len;
	uint8_t type;
	uint8_t nsections;
	/* the open section */
	bool open;
	size_t sec_off;		/* its header */
	size_t ent_off;		/* its first entry */
	uint8_t status;
	uint16_t nentries;
	uint64_t since, last_version;
	uint32_t last_ip;
	uint8_t nvtep;
	uint32_t vteps[SYNC_VTEPS_MAX];
};

void sync_build_begin(struct sync_builder *b, uint8_t *buf, size_t cap, uint8_t type,
    uint32_t id);
int sync_build_section(struct sync_builder *b, uint32_t vni, uint32_t gen, uint8_t status,
    uint64_t since, uint64_t upto);
int sync_build_entry(struct sync_builder *b, const struct sync_entry *e);
void sync_build_section_end(struct sync_builder *b, bool more, uint64_t cursor_version,
    uint32_t cursor_ip);
/* The datagram's length. */
size_t sync_build_finish(struct sync_builder *b);

/*
 * Decode a SYNC_RESP or LEARN. Entries go to entries[0..max); 0, -EPROTO when malformed,
 * -ENOSPC when it holds more than max entries.
 */
int sync_resp_decode(const uint8_t *buf, size_t len, struct sync_resp *r,
    struct sync_entry *entries, size_t max);

#endif
