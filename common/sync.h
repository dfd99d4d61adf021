/*
 * sync: the sync and learn protocol between a host's learner and a gateway's syncd,
 * over UDP (DESIGN.md §3, §4; docs/protocol.md draws each message byte by byte). One
 * codec for both ends: pure functions, no I/O, no allocation, every length checked
 * before it is read, every field validated.
 *
 * Every datagram starts with a header (magic "VS" 0x5653, version 4, type, request id,
 * key id, flags, the host's name, a timestamp) and, with SYNC_H_MAC, ends with a
 * 28-byte MAC field (nonce and tag) over everything before it (common/auth.h), all
 * integers big-endian. The codec reserves the MAC's room and skips it; common/auth.c
 * computes and checks it.
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
#define SYNC_VERSION		4
#define SYNC_HDR_SIZE		20	/* the header before the host name */
#define SYNC_NAME_MAX		63	/* bytes of a host name */
#define SYNC_MAC_SIZE		28	/* AUTH_MAC_SIZE: nonce and tag */
#define SYNC_H_MAC		0x01	/* header flag: a MAC ends the datagram */
#define SYNC_VNIS_MAX		64	/* VNIs in one request */
#define SYNC_SECTIONS_MAX	64	/* sections in one response */
#define SYNC_VTEPS_MAX		255	/* VTEPs in one section's table */
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

/*
 * The header's fields but type and request id. name: the host whose key MACs the
 * datagram (the sender of a SYNC_REQ, the receiver of a SYNC_RESP or LEARN); 0..63
 * bytes. ts_ns: the sender's CLOCK_REALTIME (a LEARN's is checked against a window).
 */
struct sync_hdr {
	uint8_t flags;		/* SYNC_H_MAC */
	uint8_t key_id;
	uint8_t name_len;
	uint64_t ts_ns;
	char name[SYNC_NAME_MAX + 1];	/* NUL-terminated */
};

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
	struct sync_hdr h;
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
	struct sync_hdr h;
	uint8_t count;		/* sections */
	struct sync_section sections[SYNC_SECTIONS_MAX];
};

/* The type of a datagram (after checking magic and version), or -EPROTO. */
int sync_type(const uint8_t *buf, size_t len);
/*
 * The header alone, all a receiver reads before it checks the MAC (the key id and the
 * name pick the key): its fields into h, and the datagram's type, or -EPROTO (bad magic,
 * version, type, flags, pad, a name of 64 bytes or more, or too short for the header
 * and the MAC its flags announce).
 */
int sync_hdr_decode(const uint8_t *buf, size_t len, struct sync_hdr *h);
/* Set h's name (truncated to SYNC_NAME_MAX) and its length. */
void sync_hdr_set_name(struct sync_hdr *h, const char *name);

/*
 * Requests. Encode: bytes written (with SYNC_H_MAC in r->h, the MAC's 16 bytes at the
 * end, zero, for auth_seal), -ENOSPC, or -EINVAL (not what decode accepts).
 */
int sync_req_encode(const struct sync_req *r, uint8_t *buf, size_t len);
int sync_req_decode(const uint8_t *buf, size_t len, struct sync_req *r);

/*
 * Responses and LEARNs are built in place, a section at a time, so a page ends where
 * the datagram is full:
 *
 *	sync_build_begin(&b, buf, cap, SYNC_RESP, id, &hdr);	(hdr: NULL for none)
 *	sync_build_section(&b, vni, gen, SYNC_OK, since, upto);
 *	while (more changes && sync_build_entry(&b, &e) == 0) ...;
 *	sync_build_section_end(&b, full, cursor_version, cursor_ip);
 *	len = sync_build_finish(&b);
 *
 * Entries of a section must come in increasing (version, ip) order, each version >
 * since and <= upto. A section and an entry fail with -ENOSPC when they do not fit
 * (room for the section's end, its cursor and VTEP table, is kept back; an OK section
 * opens only with room for one entry, so its first entry always fits), a 65th section
 * and an entry with a 256th VTEP too; a status other than OK takes no entry.
 */
struct sync_builder {
	uint8_t *buf;
	size_t cap, len;
	size_t body;		/* where the body starts (after the name) */
	bool mac;		/* the MAC's room is kept at the end */
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
    uint32_t id, const struct sync_hdr *h);
int sync_build_section(struct sync_builder *b, uint32_t vni, uint32_t gen, uint8_t status,
    uint64_t since, uint64_t upto);
int sync_build_entry(struct sync_builder *b, const struct sync_entry *e);
void sync_build_section_end(struct sync_builder *b, bool more, uint64_t cursor_version,
    uint32_t cursor_ip);
/* The datagram's length (the MAC's room included). */
size_t sync_build_finish(struct sync_builder *b);

/*
 * Decode a SYNC_RESP or LEARN. Entries go to entries[0..max); 0, -EPROTO when malformed,
 * -ENOSPC when it holds more than max entries.
 */
int sync_resp_decode(const uint8_t *buf, size_t len, struct sync_resp *r,
    struct sync_entry *entries, size_t max);

#endif
