/*
 * sync: the codec of the sync and learn protocol between learners and syncd (UDP);
 * docs/protocol.md, "Sync and learn (UDP)", draws every message byte by byte and lists
 * the rules checked here.
 *
 * Invariant: the encoders write only what the decoders accept, and every message has
 * exactly one encoding. Requests: encoder and decoder both run req_valid() on the
 * struct; the decoder checks in addition what only bytes can get wrong (magic, version,
 * type, pad, exact length). Responses: the builder asserts the rules the decoder checks
 * (the same predicates), and makes every choice the format leaves the one way the
 * decoder accepts: MAC_DEFAULT whenever the MAC is the default one, VERSION_DELTA only
 * when the version changes, the VTEP table in the order of first use with no VTEP twice
 * and none unused, varints in their shortest form. So a datagram that decodes rebuilds
 * to the same bytes (fuzz/sync.c checks it).
 */
#include "common/sync.h"

#include "common/addr.h"
#include "common/bytes.h"

#include <assert.h>
#include <errno.h>
#include <string.h>

/* Offsets; docs/protocol.md draws them. */
enum {
	HDR_MAGIC = 0,
	HDR_VERSION = 2,
	HDR_TYPE = 3,
	HDR_ID = 4,
	HDR_KEY_ID = 8,
	HDR_FLAGS = 9,
	HDR_NAME_LEN = 10,
	HDR_PAD = 11,
	HDR_TS = 12,
	HDR_NAME = 20,		/* SYNC_HDR_SIZE: the name follows, then the body */

	/* the body, from its start (after the name) */
	REQ_WAIT = 0,
	REQ_COUNT = 2,
	REQ_PAD = 3,
	REQ_ITEMS = 4,

	ITEM_VNI = 0,
	ITEM_GEN = 4,
	ITEM_VERSION = 8,
	ITEM_CURSOR_VERSION = 16,
	ITEM_CURSOR_IP = 24,
	ITEM_SIZE = 28,

	RESP_COUNT = 0,
	RESP_PAD = 1,			/* 3 bytes */
	RESP_SECTIONS = 4,

	/* a section, from its start */
	SEC_VNI = 0,
	SEC_GEN = 4,
	SEC_STATUS = 8,
	SEC_FLAGS = 9,
	SEC_NVTEP = 10,
	SEC_PAD = 11,
	SEC_NENTRIES = 12,
	SEC_ENTRIES_LEN = 14,
	SEC_SINCE = 16,
	SEC_UPTO = 24,
	SEC_SIZE = 32,

	/* with MORE, right after the section header */
	CURSOR_VERSION = 0,
	CURSOR_IP = 8,
	CURSOR_SIZE = 12,

	VTEP_SIZE = 4,
	VARINT_MAX = 10,
	/* flags, IP delta (zigzag of +-(2^32 - 1): 5 bytes), version delta, VTEP, MAC */
	ENTRY_MAX = 1 + 5 + VARINT_MAX + 1 + 6,
};

/* An entry's flags byte. */
#define ENT_DEL		0x01	/* a delete: no VTEP, no MAC follow */
#define ENT_MAC_DEFAULT	0x02	/* the MAC is addr_default_mac(ip): no MAC follows */
#define ENT_VERSION	0x04	/* a version delta follows; else the previous version */
#define ENT_FLAGS	(ENT_DEL | ENT_MAC_DEFAULT | ENT_VERSION)

#define VNI_MAX		0xffffffu

_Static_assert(HDR_NAME == SYNC_HDR_SIZE, "the header's fixed part");
_Static_assert(HDR_NAME + SYNC_NAME_MAX + REQ_ITEMS + ITEM_SIZE * SYNC_VNIS_MAX +
    SYNC_MAC_SIZE <= SYNC_DGRAM_MAX, "a request fits");
/* entries_len and nentries are u16: a datagram cannot hold more */
_Static_assert(SYNC_DGRAM_MAX <= UINT16_MAX, "entries_len fits its field");
_Static_assert(SYNC_VTEPS_MAX == UINT8_MAX, "nvtep is a u8: every value of it is a valid count");

static bool
vni_valid(uint32_t vni)
{
	return vni >= 1 && vni <= VNI_MAX;
}

/* A VM's MAC: unicast and not all zero. */
static bool
mac_valid(const uint8_t mac[6])
{
	return (mac[0] & 1) == 0 && !bytes_zero(mac, 6);
}

static const struct sync_hdr no_hdr;

static size_t
hdr_len(const struct sync_hdr *h)
{
	return HDR_NAME + h->name_len;
}

static size_t
mac_len(const struct sync_hdr *h)
{
	return h->flags & SYNC_H_MAC ? SYNC_MAC_SIZE : 0;
}

static bool
hdr_valid(const struct sync_hdr *h)
{
	return (h->flags & ~SYNC_H_MAC) == 0 && h->name_len <= SYNC_NAME_MAX;
}

/* What an encoder may send: what the decoder takes back (no NUL in the name). */
static bool
hdr_sendable(const struct sync_hdr *h)
{
	return hdr_valid(h) && memchr(h->name, '\0', h->name_len) == NULL;
}

/* The header; its length (where the body starts). */
static size_t
put_hdr(uint8_t *buf, uint8_t type, uint32_t id, const struct sync_hdr *h)
{
	bytes_put16(buf + HDR_MAGIC, SYNC_MAGIC);
	buf[HDR_VERSION] = SYNC_VERSION;
	buf[HDR_TYPE] = type;
	bytes_put32(buf + HDR_ID, id);
	buf[HDR_KEY_ID] = h->key_id;
	buf[HDR_FLAGS] = h->flags;
	buf[HDR_NAME_LEN] = h->name_len;
	buf[HDR_PAD] = 0;
	bytes_put64(buf + HDR_TS, h->ts_ns);
	memcpy(buf + HDR_NAME, h->name, h->name_len);
	return hdr_len(h);
}

void
sync_hdr_set_name(struct sync_hdr *h, const char *name)
{
	size_t n = strnlen(name, SYNC_NAME_MAX);

	memcpy(h->name, name, n);
	h->name[n] = '\0';
	h->name_len = (uint8_t)n;
}

int
sync_type(const uint8_t *buf, size_t len)
{
	if (len < SYNC_HDR_SIZE || len > SYNC_DGRAM_MAX || bytes_get16(buf + HDR_MAGIC) != SYNC_MAGIC ||
	    buf[HDR_VERSION] != SYNC_VERSION || buf[HDR_TYPE] < SYNC_REQ ||
	    buf[HDR_TYPE] > SYNC_LEARN)
		return -EPROTO;
	return buf[HDR_TYPE];
}

int
sync_hdr_decode(const uint8_t *buf, size_t len, struct sync_hdr *h)
{
	int type;

	memset(h, 0, sizeof(*h));
	if ((type = sync_type(buf, len)) < 0)
		return type;
	h->key_id = buf[HDR_KEY_ID];
	h->flags = buf[HDR_FLAGS];
	h->name_len = buf[HDR_NAME_LEN];
	h->ts_ns = bytes_get64(buf + HDR_TS);
	if (!hdr_valid(h) || buf[HDR_PAD] != 0 || len < hdr_len(h) + mac_len(h))
		return -EPROTO;
	memcpy(h->name, buf + HDR_NAME, h->name_len);
	if (memchr(h->name, '\0', h->name_len) != NULL)
		return -EPROTO;
	return type;
}

/* --- varints ------------------------------------------------------------------- */

static size_t
varint_len(uint64_t v)
{
	size_t n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

static size_t
put_varint(uint8_t *p, uint64_t v)
{
	size_t n = 0;

	while (v >= 0x80) {
		p[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (uint8_t)v;
	return n;
}

/* The zigzag code of the signed difference ip - prev: 0, -1, 1, -2, ... -> 0, 1, 2, 3. */
static uint64_t
ip_delta(uint32_t prev, uint32_t ip)
{
	if (ip >= prev)
		return (uint64_t)(ip - prev) << 1;
	return ((uint64_t)(prev - ip) << 1) - 1;
}

/* prev plus the difference zigzag-coded in z, when it stays within 32 bits. */
static bool
ip_apply(uint32_t prev, uint64_t z, uint32_t *ip)
{
	uint64_t m = z >> 1;

	if (z & 1) {
		if (m + 1 > prev)
			return false;
		*ip = prev - (uint32_t)(m + 1);
	} else {
		if (m > UINT32_MAX - prev)
			return false;
		*ip = prev + (uint32_t)m;
	}
	return true;
}

/* A reader over bytes whose length is known: every read checks what is left. */
struct rd {
	const uint8_t *p;
	size_t left;
};

static bool
rd_u8(struct rd *r, uint8_t *v)
{
	if (r->left < 1)
		return false;
	*v = *r->p++;
	r->left--;
	return true;
}

static bool
rd_bytes(struct rd *r, uint8_t *dst, size_t n)
{
	if (r->left < n)
		return false;
	memcpy(dst, r->p, n);
	r->p += n;
	r->left -= n;
	return true;
}

/*
 * Unsigned LEB128: 7 bits a byte, low group first, the high bit set on every byte but
 * the last. At most 10 bytes, the tenth at most 1 (64 bits), and no overlong form: a
 * last byte of 0 is refused unless it is the only one.
 */
static bool
rd_varint(struct rd *r, uint64_t *v)
{
	uint64_t x = 0;
	uint8_t c;

	for (int i = 0; i < VARINT_MAX; i++) {
		if (!rd_u8(r, &c) || (i == VARINT_MAX - 1 && c > 1))
			return false;
		x |= (uint64_t)(c & 0x7f) << (7 * i);
		if ((c & 0x80) == 0) {
			if (c == 0 && i > 0)
				return false;
			*v = x;
			return true;
		}
	}
	return false;	/* not reached: a tenth byte with its high bit set is > 1 */
}

/* --- requests ------------------------------------------------------------------ */

/* Everything the struct can get wrong; shared by encoder and decoder. */
static bool
req_valid(const struct sync_req *r)
{
	if (r->count < 1 || r->count > SYNC_VNIS_MAX)
		return false;
	for (int i = 0; i < r->count; i++) {
		const struct sync_item *it = &r->items[i];

		if (!vni_valid(it->vni))
			return false;
		/* no cursor: no cursor IP either; a cursor lies after the asker's version */
		if (it->cursor_version == 0 ? it->cursor_ip != 0 :
		    it->cursor_version <= it->version)
			return false;
		for (int j = 0; j < i; j++)
			if (r->items[j].vni == it->vni)
				return false;
	}
	return true;
}

int
sync_req_encode(const struct sync_req *r, uint8_t *buf, size_t len)
{
	size_t size, body;
	uint8_t *b;

	if (!req_valid(r) || !hdr_sendable(&r->h))
		return -EINVAL;
	body = hdr_len(&r->h);
	size = body + REQ_ITEMS + (size_t)ITEM_SIZE * r->count + mac_len(&r->h);
	if (len < size)
		return -ENOSPC;
	put_hdr(buf, SYNC_REQ, r->id, &r->h);
	b = buf + body;
	bytes_put16(b + REQ_WAIT, r->wait_ms);
	b[REQ_COUNT] = r->count;
	b[REQ_PAD] = 0;
	memset(buf + size - mac_len(&r->h), 0, mac_len(&r->h));
	for (int i = 0; i < r->count; i++) {
		const struct sync_item *it = &r->items[i];
		uint8_t *p = b + REQ_ITEMS + ITEM_SIZE * i;

		bytes_put32(p + ITEM_VNI, it->vni);
		bytes_put32(p + ITEM_GEN, it->gen);
		bytes_put64(p + ITEM_VERSION, it->version);
		bytes_put64(p + ITEM_CURSOR_VERSION, it->cursor_version);
		bytes_put32(p + ITEM_CURSOR_IP, it->cursor_ip);
	}
	return (int)size;
}

int
sync_req_decode(const uint8_t *buf, size_t len, struct sync_req *r)
{
	const uint8_t *b;
	size_t body;

	memset(r, 0, sizeof(*r));
	if (sync_hdr_decode(buf, len, &r->h) != SYNC_REQ)
		return -EPROTO;
	body = hdr_len(&r->h);
	len -= mac_len(&r->h);
	b = buf + body;
	if (len < body + REQ_ITEMS || b[REQ_PAD] != 0)
		return -EPROTO;
	r->id = bytes_get32(buf + HDR_ID);
	r->wait_ms = bytes_get16(b + REQ_WAIT);
	r->count = b[REQ_COUNT];
	if (r->count > SYNC_VNIS_MAX || len != body + REQ_ITEMS + (size_t)ITEM_SIZE * r->count)
		return -EPROTO;
	for (int i = 0; i < r->count; i++) {
		struct sync_item *it = &r->items[i];
		const uint8_t *p = b + REQ_ITEMS + ITEM_SIZE * i;

		it->vni = bytes_get32(p + ITEM_VNI);
		it->gen = bytes_get32(p + ITEM_GEN);
		it->version = bytes_get64(p + ITEM_VERSION);
		it->cursor_version = bytes_get64(p + ITEM_CURSOR_VERSION);
		it->cursor_ip = bytes_get32(p + ITEM_CURSOR_IP);
	}
	return req_valid(r) ? 0 : -EPROTO;
}

/* --- responses: rules shared by builder and decoder ----------------------------- */

/* A section's own fields (its cursor and entries aside). */
static bool
section_valid(uint8_t type, uint32_t vni, uint8_t status, uint64_t since, uint64_t upto)
{
	if (!vni_valid(vni) || status < SYNC_OK || status > SYNC_UNKNOWN || since > upto)
		return false;
	return type != SYNC_LEARN || (status == SYNC_OK && since == 0);
}

/* With MORE: the next page starts inside the versions this section spans. */
static bool
cursor_valid(uint64_t since, uint64_t upto, uint64_t cursor_version)
{
	return cursor_version > since && cursor_version <= upto;
}

/* (version, ip) comes strictly after (last_version, last_ip). */
static bool
entry_after(uint64_t version, uint32_t ip, uint64_t last_version, uint32_t last_ip)
{
	return version > last_version || (version == last_version && ip > last_ip);
}

/* --- responses: the builder ---------------------------------------------------- */

void
sync_build_begin(struct sync_builder *b, uint8_t *buf, size_t cap, uint8_t type,
    uint32_t id, const struct sync_hdr *h)
{
	if (h == NULL)
		h = &no_hdr;
	assert(type == SYNC_RESP || (type == SYNC_LEARN && id == 0));
	assert(hdr_valid(h));
	/* no larger than a UDP payload: so entries_len and nentries fit their u16 */
	if (cap > SYNC_DGRAM_MAX)
		cap = SYNC_DGRAM_MAX;
	assert(cap >= hdr_len(h) + RESP_SECTIONS + mac_len(h));
	memset(b, 0, sizeof(*b));
	b->buf = buf;
	b->cap = cap - mac_len(h);	/* the MAC's room is kept back */
	b->mac = mac_len(h) != 0;
	b->type = type;
	b->body = put_hdr(buf, type, id, h);
	memset(buf + b->body + RESP_COUNT, 0, RESP_SECTIONS - RESP_COUNT);
	b->len = b->body + RESP_SECTIONS;
}

/*
 * An OK section opens only with room for its header, a cursor and one entry of the
 * largest size with a VTEP: so its first entry always fits, and a section never has to
 * end without entries and without MORE while changes are left (which would tell the
 * learner it is complete). A section of another status is its header alone.
 */
int
sync_build_section(struct sync_builder *b, uint32_t vni, uint32_t gen, uint8_t status,
    uint64_t since, uint64_t upto)
{
	size_t need = SEC_SIZE;
	uint8_t *p;

	assert(!b->open);
	assert(section_valid(b->type, vni, status, since, upto));
	assert(b->type != SYNC_LEARN || b->nsections == 0);
	if (status == SYNC_OK)
		need += CURSOR_SIZE + ENTRY_MAX + VTEP_SIZE;
	if (b->nsections == SYNC_SECTIONS_MAX || b->cap - b->len < need)
		return -ENOSPC;

	p = b->buf + b->len;
	memset(p, 0, SEC_SIZE);	/* pad; nvtep, nentries, entries_len, flags until the end */
	bytes_put32(p + SEC_VNI, vni);
	bytes_put32(p + SEC_GEN, gen);
	p[SEC_STATUS] = status;
	bytes_put64(p + SEC_SINCE, since);
	bytes_put64(p + SEC_UPTO, upto);

	b->open = true;
	b->sec_off = b->len;
	b->len += SEC_SIZE;
	b->ent_off = b->len;
	b->status = status;
	b->nentries = 0;
	b->since = since;
	b->last_version = since;	/* the first entry's version is a delta from since */
	b->last_ip = 0;			/* its IP a delta from 0 */
	b->nvtep = 0;
	return 0;
}

int
sync_build_entry(struct sync_builder *b, const struct sync_entry *e)
{
	uint64_t upto, dip, dver = 0;
	uint8_t flags = 0, *p;
	size_t size, vi = 0;
	bool set = e->op == SYNC_SET;

	assert(b->open && b->status == SYNC_OK);
	assert(b->type != SYNC_LEARN || (b->nentries == 0 && set));
	assert(set || e->op == SYNC_DEL);
	upto = bytes_get64(b->buf + b->sec_off + SEC_UPTO);	/* the header keeps it */
	assert(e->version > b->since && e->version <= upto);
	assert(entry_after(e->version, e->ip, b->last_version, b->last_ip));

	dip = ip_delta(b->last_ip, e->ip);
	size = 1 + varint_len(dip);
	if (e->version != b->last_version) {
		flags |= ENT_VERSION;
		dver = e->version - b->last_version;
		size += varint_len(dver);
	}
	if (set) {
		assert(mac_valid(e->mac));
		while (vi < b->nvtep && b->vteps[vi] != e->vtep)
			vi++;
		if (vi == SYNC_VTEPS_MAX)
			return -ENOSPC;		/* a 65th VTEP: the page ends here */
		if (addr_default_mac_is(e->ip, e->mac))
			flags |= ENT_MAC_DEFAULT;
		size += 1 + (flags & ENT_MAC_DEFAULT ? 0 : 6);
	} else
		flags |= ENT_DEL;
	/* keep back the section's end: a cursor and the VTEP table, a new VTEP included */
	if (b->cap - b->len < size + CURSOR_SIZE + VTEP_SIZE * ((size_t)b->nvtep +
	    (vi == b->nvtep && set)))
		return -ENOSPC;

	p = b->buf + b->len;
	*p++ = flags;
	p += put_varint(p, dip);
	if (flags & ENT_VERSION)
		p += put_varint(p, dver);
	if (set) {
		*p++ = (uint8_t)vi;
		if (!(flags & ENT_MAC_DEFAULT)) {
			memcpy(p, e->mac, 6);
			p += 6;
		}
		if (vi == b->nvtep)
			b->vteps[b->nvtep++] = e->vtep;
	}
	assert((size_t)(p - (b->buf + b->len)) == size);
	b->len += size;
	b->nentries++;
	b->last_version = e->version;
	b->last_ip = e->ip;
	return 0;
}

/*
 * The entries were written right after the header; a cursor goes between the two, so
 * with MORE they move 12 bytes on (the room was kept back). Most sections end without
 * MORE: only the last one of a full page moves.
 */
void
sync_build_section_end(struct sync_builder *b, bool more, uint64_t cursor_version,
    uint32_t cursor_ip)
{
	uint8_t *sec = b->buf + b->sec_off;
	size_t elen = b->len - b->ent_off;

	assert(b->open);
	assert(b->type != SYNC_LEARN || b->nentries == 1);
	if (more) {
		assert(b->status == SYNC_OK && b->type != SYNC_LEARN);
		assert(cursor_valid(b->since, bytes_get64(sec + SEC_UPTO), cursor_version));
		memmove(sec + SEC_SIZE + CURSOR_SIZE, sec + SEC_SIZE, elen);
		bytes_put64(sec + SEC_SIZE + CURSOR_VERSION, cursor_version);
		bytes_put32(sec + SEC_SIZE + CURSOR_IP, cursor_ip);
		sec[SEC_FLAGS] = SYNC_F_MORE;
		b->len += CURSOR_SIZE;
	}
	for (int i = 0; i < b->nvtep; i++) {
		bytes_put32(b->buf + b->len, b->vteps[i]);
		b->len += VTEP_SIZE;
	}
	assert(b->len <= b->cap);
	sec[SEC_NVTEP] = b->nvtep;
	bytes_put16(sec + SEC_NENTRIES, b->nentries);
	bytes_put16(sec + SEC_ENTRIES_LEN, (uint16_t)elen);
	b->open = false;
	b->nsections++;
}

size_t
sync_build_finish(struct sync_builder *b)
{
	assert(!b->open);
	assert(b->type != SYNC_LEARN || b->nsections == 1);
	b->buf[b->body + RESP_COUNT] = b->nsections;
	if (b->mac) {
		memset(b->buf + b->len, 0, SYNC_MAC_SIZE);
		return b->len + SYNC_MAC_SIZE;
	}
	return b->len;
}

/* --- responses: the decoder ---------------------------------------------------- */

/* Where a section's entries stand while they are decoded. */
struct sec_rd {
	struct rd r;			/* the entries' bytes */
	uint64_t upto;
	uint64_t version;		/* the previous entry's (the first: since) */
	uint32_t ip;			/* the previous entry's (the first: 0) */
	bool first;
	uint8_t nvtep;
	uint8_t used;			/* VTEPs used so far: the next new one is this index */
	uint32_t vteps[SYNC_VTEPS_MAX];
};

static bool
decode_entry(struct sec_rd *s, struct sync_entry *e)
{
	uint8_t flags, vi;
	uint64_t d;

	memset(e, 0, sizeof(*e));
	if (!rd_u8(&s->r, &flags) || (flags & ~ENT_FLAGS) != 0 ||
	    (flags & (ENT_DEL | ENT_MAC_DEFAULT)) == (ENT_DEL | ENT_MAC_DEFAULT))
		return false;
	if (!rd_varint(&s->r, &d) || !ip_apply(s->ip, d, &e->ip))
		return false;
	if (flags & ENT_VERSION) {
		if (!rd_varint(&s->r, &d) || d == 0 || d > s->upto - s->version)
			return false;
		e->version = s->version + d;
	} else {
		/* the first entry's version is > since: it needs a delta */
		if (s->first || e->ip <= s->ip)
			return false;
		e->version = s->version;
	}
	if (flags & ENT_DEL) {
		e->op = SYNC_DEL;
	} else {
		e->op = SYNC_SET;
		/* the table is in the order of first use: an index is a known one or the next */
		if (!rd_u8(&s->r, &vi) || vi >= s->nvtep || vi > s->used)
			return false;
		if (vi == s->used)
			s->used++;
		e->vtep = s->vteps[vi];
		if (flags & ENT_MAC_DEFAULT)
			addr_default_mac(e->ip, e->mac);
		else if (!rd_bytes(&s->r, e->mac, 6) || !mac_valid(e->mac) ||
		    addr_default_mac_is(e->ip, e->mac))
			return false;
	}
	s->version = e->version;
	s->ip = e->ip;
	s->first = false;
	return true;
}

/*
 * The section at buf[*off..len) into sec; its entries to entries[*n..max), and counted
 * beyond max, so that a datagram too large for the caller's array is still checked
 * whole (-ENOSPC only for a valid one).
 */
static bool
decode_section(const uint8_t *buf, size_t len, size_t *off, uint8_t type,
    struct sync_section *sec, struct sync_entry *entries, size_t max, size_t *n)
{
	const uint8_t *h = buf + *off, *vt;
	struct sec_rd s;
	struct sync_entry spare;
	uint16_t nentries, elen;

	if (len - *off < SEC_SIZE)
		return false;
	sec->vni = bytes_get32(h + SEC_VNI);
	sec->gen = bytes_get32(h + SEC_GEN);
	sec->status = h[SEC_STATUS];
	sec->flags = h[SEC_FLAGS];
	sec->since = bytes_get64(h + SEC_SINCE);
	sec->upto = bytes_get64(h + SEC_UPTO);
	s.nvtep = h[SEC_NVTEP];
	nentries = bytes_get16(h + SEC_NENTRIES);
	elen = bytes_get16(h + SEC_ENTRIES_LEN);
	if (!section_valid(type, sec->vni, sec->status, sec->since, sec->upto) ||
	    h[SEC_PAD] != 0 || (sec->flags & ~SYNC_F_MORE) != 0)
		return false;
	if (sec->status != SYNC_OK && (sec->flags != 0 || s.nvtep != 0 || nentries != 0 ||
	    elen != 0))
		return false;
	if (type == SYNC_LEARN && (sec->flags != 0 || nentries != 1))
		return false;
	*off += SEC_SIZE;

	if (sec->flags & SYNC_F_MORE) {
		if (len - *off < CURSOR_SIZE)
			return false;
		sec->cursor_version = bytes_get64(buf + *off + CURSOR_VERSION);
		sec->cursor_ip = bytes_get32(buf + *off + CURSOR_IP);
		if (!cursor_valid(sec->since, sec->upto, sec->cursor_version))
			return false;
		*off += CURSOR_SIZE;
	}

	if (len - *off < elen || len - *off - elen < (size_t)VTEP_SIZE * s.nvtep)
		return false;
	vt = buf + *off + elen;
	for (int i = 0; i < s.nvtep; i++) {
		s.vteps[i] = bytes_get32(vt + VTEP_SIZE * i);
		for (int j = 0; j < i; j++)
			if (s.vteps[j] == s.vteps[i])
				return false;
	}
	s.r = (struct rd){ buf + *off, elen };
	s.upto = sec->upto;
	s.version = sec->since;
	s.ip = 0;
	s.first = true;
	s.used = 0;

	sec->first = (uint32_t)*n;
	sec->count = nentries;
	for (int i = 0; i < nentries; i++) {
		struct sync_entry *e = *n < max ? &entries[*n] : &spare;

		if (!decode_entry(&s, e))
			return false;
		if (type == SYNC_LEARN && e->op != SYNC_SET)
			return false;
		(*n)++;
	}
	/* exactly entries_len bytes, and every VTEP of the table used */
	if (s.r.left != 0 || s.used != s.nvtep)
		return false;
	*off += elen + (size_t)VTEP_SIZE * s.nvtep;
	return true;
}

int
sync_resp_decode(const uint8_t *buf, size_t len, struct sync_resp *r,
    struct sync_entry *entries, size_t max)
{
	size_t off, n = 0, body;
	int type;

	memset(r, 0, sizeof(*r));
	type = sync_hdr_decode(buf, len, &r->h);
	if (type != SYNC_RESP && type != SYNC_LEARN)
		return -EPROTO;
	body = hdr_len(&r->h);
	len -= mac_len(&r->h);
	if (len < body + RESP_SECTIONS ||
	    !bytes_zero(buf + body + RESP_PAD, RESP_SECTIONS - RESP_PAD))
		return -EPROTO;
	off = body + RESP_SECTIONS;
	r->type = (uint8_t)type;
	r->id = bytes_get32(buf + HDR_ID);
	r->count = buf[body + RESP_COUNT];
	if (r->count > SYNC_SECTIONS_MAX ||
	    (type == SYNC_LEARN && (r->id != 0 || r->count != 1)))
		return -EPROTO;
	for (int i = 0; i < r->count; i++)
		if (!decode_section(buf, len, &off, r->type, &r->sections[i], entries, max, &n))
			return -EPROTO;
	if (off != len)
		return -EPROTO;
	return n > max ? -ENOSPC : 0;
}
