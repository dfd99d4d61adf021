/*
 * fuzz/sync: a differential round-trip fuzzer of the sync and learn codec (common/sync.c,
 * docs/protocol.md). The input is one datagram, offered to both decoders. A request
 * that decodes must re-encode to the same bytes (the format has one encoding per
 * message) and decode to the same request; a response or LEARN that decodes is rebuilt
 * with the builder from its decoded sections and entries, and must come out as the same
 * bytes, which decode to the same values (the builder asserts what it is given, so a
 * decoded value it refuses aborts too). A datagram one byte shorter must be refused, and
 * a response with entries is -ENOSPC for an array one entry short. Then the request,
 * with one byte of it changed as the input's last two bytes say, must either be refused
 * by the encoder or round-trip. The version 4 header (flags, key id, host name, timestamp)
 * is part of every comparison, and a datagram that decodes has a header that decodes to
 * the same. abort() on any difference, so libFuzzer reports it. (fuzz/auth.c: the MAC.)
 */
#include "common/sync.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ENTRIES_MAX	(SYNC_DGRAM_MAX / 2)	/* an entry takes 2 bytes at least */

/*
 * The builder keeps room back for a cursor and a first entry while it builds, so a
 * datagram within that much of SYNC_DGRAM_MAX may not rebuild; libFuzzer's inputs stay
 * far below.
 */
#define REBUILD_MAX	(SYNC_DGRAM_MAX - 128)

static struct sync_entry entries[ENTRIES_MAX], entries2[ENTRIES_MAX];
static uint8_t out[SYNC_DGRAM_MAX];

/* Field by field: the structs' padding (and a name's bytes past its length) do not count. */
static bool
hdr_equal(const struct sync_hdr *a, const struct sync_hdr *b)
{
	return a->flags == b->flags && a->key_id == b->key_id && a->name_len == b->name_len &&
	    a->ts_ns == b->ts_ns && memcmp(a->name, b->name, a->name_len) == 0;
}

static bool
req_equal(const struct sync_req *a, const struct sync_req *b)
{
	if (a->id != b->id || !hdr_equal(&a->h, &b->h) || a->wait_ms != b->wait_ms ||
	    a->count != b->count)
		return false;
	for (int i = 0; i < a->count; i++) {
		const struct sync_item *x = &a->items[i], *y = &b->items[i];

		if (x->vni != y->vni || x->gen != y->gen || x->version != y->version ||
		    x->cursor_version != y->cursor_version || x->cursor_ip != y->cursor_ip)
			return false;
	}
	return true;
}

static bool
entry_equal(const struct sync_entry *a, const struct sync_entry *b)
{
	return a->ip == b->ip && a->vtep == b->vtep && memcmp(a->mac, b->mac, 6) == 0 &&
	    a->op == b->op && a->version == b->version;
}

static bool
resp_equal(const struct sync_resp *a, const struct sync_entry *ea, const struct sync_resp *b,
    const struct sync_entry *eb)
{
	if (a->type != b->type || a->id != b->id || !hdr_equal(&a->h, &b->h) ||
	    a->count != b->count)
		return false;
	for (int i = 0; i < a->count; i++) {
		const struct sync_section *x = &a->sections[i], *y = &b->sections[i];

		if (x->vni != y->vni || x->gen != y->gen || x->status != y->status ||
		    x->flags != y->flags || x->since != y->since || x->upto != y->upto ||
		    x->cursor_version != y->cursor_version || x->cursor_ip != y->cursor_ip ||
		    x->first != y->first || x->count != y->count)
			return false;
		for (uint32_t k = x->first; k < x->first + x->count; k++)
			if (!entry_equal(&ea[k], &eb[k]))
				return false;
	}
	return true;
}

/* The bytes the codec owns: a MAC's are auth.c's (the encoder leaves them zero). */
static size_t
coded(const struct sync_hdr *h, size_t size)
{
	return size - (h->flags & SYNC_H_MAC ? SYNC_MAC_SIZE : 0);
}

static void
check_req(const struct sync_req *r, const uint8_t *data, size_t size)
{
	struct sync_req d, mut;
	int n;

	n = sync_req_encode(r, out, sizeof(out));
	if (n < 0 || (size_t)n != size || memcmp(out, data, coded(&r->h, size)) != 0)
		abort();
	if (sync_req_decode(out, (size_t)n, &d) != 0 || !req_equal(r, &d))
		abort();
	if (sync_req_decode(out, (size_t)n - 1, &d) != -EPROTO)
		abort();
	if (sync_req_encode(r, out, (size_t)n - 1) != -ENOSPC)
		abort();

	/* whatever the encoder accepts comes back unchanged from the decoder */
	mut = *r;
	((uint8_t *)&mut)[data[size - 2] % sizeof(mut)] ^= data[size - 1];
	n = sync_req_encode(&mut, out, sizeof(out));
	if (n == -EINVAL)
		return;
	if (n <= 0 || sync_req_decode(out, (size_t)n, &d) != 0 || !req_equal(&mut, &d))
		abort();
}

static void
check_resp(const struct sync_resp *r, size_t nentries, const uint8_t *data, size_t size)
{
	struct sync_builder b;
	struct sync_resp d;
	size_t len;

	if (sync_resp_decode(data, size - 1, &d, entries2, ENTRIES_MAX) != -EPROTO)
		abort();
	if (nentries > 0 &&
	    sync_resp_decode(data, size, &d, entries2, nentries - 1) != -ENOSPC)
		abort();
	if (size > REBUILD_MAX)
		return;

	sync_build_begin(&b, out, sizeof(out), r->type, r->id, &r->h);
	for (int i = 0; i < r->count; i++) {
		const struct sync_section *s = &r->sections[i];

		if (sync_build_section(&b, s->vni, s->gen, s->status, s->since, s->upto) != 0)
			abort();
		for (uint32_t k = s->first; k < s->first + s->count; k++)
			if (sync_build_entry(&b, &entries[k]) != 0)
				abort();
		sync_build_section_end(&b, s->flags & SYNC_F_MORE, s->cursor_version,
		    s->cursor_ip);
	}
	len = sync_build_finish(&b);
	if (len != size || memcmp(out, data, coded(&r->h, size)) != 0)
		abort();
	if (sync_resp_decode(out, len, &d, entries2, ENTRIES_MAX) != 0 ||
	    !resp_equal(r, entries, &d, entries2))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct sync_resp resp;
	struct sync_req req;
	int type, rr, rs;
	size_t n = 0;

	type = sync_type(data, size);
	rr = sync_req_decode(data, size, &req);
	rs = sync_resp_decode(data, size, &resp, entries, ENTRIES_MAX);
	if ((rr != 0 && rr != -EPROTO) || (rs != 0 && rs != -EPROTO))
		abort();
	/* a datagram is one type: only its decoder may accept it */
	if ((rr == 0 && type != SYNC_REQ) || (rs == 0 && type != SYNC_RESP && type != SYNC_LEARN))
		abort();
	if (type < 0 && (rr == 0 || rs == 0))
		abort();

	/* what decodes whole has a header that decodes alone, to the same fields */
	if (rr == 0 || rs == 0) {
		struct sync_hdr h;

		if (sync_hdr_decode(data, size, &h) != type ||
		    !hdr_equal(&h, rr == 0 ? &req.h : &resp.h))
			abort();
	}
	if (rr == 0)
		check_req(&req, data, size);
	if (rs == 0) {
		if (resp.type != type)
			abort();
		for (int i = 0; i < resp.count; i++) {
			if (resp.sections[i].first != n)
				abort();
			n += resp.sections[i].count;
		}
		check_resp(&resp, n, data, size);
	}
	return 0;
}
