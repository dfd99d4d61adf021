/*
 * fuzz/etcd_blob: the etcd store's log value (procs/controller/etcdblob.c), as a view reads
 * it back from etcd's watch: any controller of the cluster wrote it, so it is hostile. The
 * input is one value. Checked, abort() on any break:
 *
 *   - etcdblob_check and a walk with etcdblob_next agree; a walk only moves forward, ends
 *     exactly at the value's end when it accepts, and stays refused once refused;
 *   - every entry lies within the value, and the encoder (etcdblob_hdr, etcdblob_table_hdr,
 *     wire_encode) writes it again to the very bytes it was read from: nothing of an
 *     entry is left unread or read twice (a record an older controller wrote re-encodes
 *     as this version's: its version byte aside);
 *   - an entry is one a view can apply: a record is a RULE, VPC or HOST, a bind a BIND of
 *     seq 1..ETCDBLOB_RECORDS_MAX, a table write names a table the views keep in etcd
 *     with a key of 1..255 bytes (a prefix 0..255), records are numbered 0, 1, ...;
 *   - a value cut short is accepted exactly when the cut falls between two entries.
 *
 * The input ends where libFuzzer's buffer does, so ASan reports any read past it.
 */
#include "procs/controller/etcdblob.c"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)	do { if (!(c)) abort(); } while (0)

static const uint8_t *base;
static size_t base_len;

static void
check_within(const uint8_t *p, size_t n)
{
	CHECK(p != NULL && p >= base && n <= base_len && (size_t)(p - base) <= base_len - n);
}

/* The frame at p, n bytes, is m written again by this version. */
static void
check_frame(const struct wire_msg *m, const uint8_t *p, size_t n)
{
	uint8_t f[WIRE_LEN_SIZE + WIRE_RECORD_MAX];
	int fl = wire_encode(m, f, sizeof(f));

	CHECK(fl > WIRE_LEN_SIZE && (size_t)fl == n);
	CHECK(memcmp(f, p, WIRE_LEN_SIZE) == 0);
	CHECK(memcmp(f + WIRE_LEN_SIZE + 1, p + WIRE_LEN_SIZE + 1, n - WIRE_LEN_SIZE - 1) == 0);
}

/* Entry e, read from the n bytes at p (its header included), written again. */
static void
check_entry(const struct etcdblob_ent *e, const uint8_t *p, size_t n, uint32_t index)
{
	uint8_t h[ETCDBLOB_TABLE_HDR_MAX], b[16];
	int hl;

	CHECK(n >= ETCDBLOB_HDR);
	switch (e->kind) {
	case ETCDBLOB_RECORD:
		CHECK(e->m.type == WIRE_RULE || e->m.type == WIRE_VPC || e->m.type == WIRE_HOST);
		CHECK(e->index == index && index < ETCDBLOB_RECORDS_MAX);
		CHECK(etcdblob_hdr(h, e->kind, n - ETCDBLOB_HDR) == 0);
		CHECK(memcmp(h, p, ETCDBLOB_HDR) == 0);
		check_frame(&e->m, p + ETCDBLOB_HDR, n - ETCDBLOB_HDR);
		break;
	case ETCDBLOB_BIND:
		CHECK(e->m.type == WIRE_BIND);
		CHECK(e->m.u.bind.seq >= 1 && e->m.u.bind.seq <= ETCDBLOB_RECORDS_MAX);
		CHECK(e->host_len <= ETCDBLOB_HOST_MAX && n >= ETCDBLOB_HDR + 1 + e->host_len);
		check_within(e->host, e->host_len);
		CHECK(etcdblob_hdr(h, e->kind, n - ETCDBLOB_HDR) == 0);
		CHECK(memcmp(h, p, ETCDBLOB_HDR) == 0);
		CHECK(p[ETCDBLOB_HDR] == e->host_len && e->host == p + ETCDBLOB_HDR + 1);
		check_frame(&e->m, p + ETCDBLOB_HDR + 1 + e->host_len,
		    n - ETCDBLOB_HDR - 1 - e->host_len);
		break;
	case ETCDBLOB_ID:
	case ETCDBLOB_EPOCH:
		if (e->kind == ETCDBLOB_ID) {
			bytes_put64(b, e->id_proc);
			bytes_put64(b + 8, e->id_txn);
		} else {
			bytes_put64(b, e->epoch);
		}
		CHECK(n == ETCDBLOB_HDR + (e->kind == ETCDBLOB_ID ? 16u : 8u));
		CHECK(etcdblob_hdr(h, e->kind, n - ETCDBLOB_HDR) == 0);
		CHECK(memcmp(h, p, ETCDBLOB_HDR) == 0);
		CHECK(memcmp(b, p + ETCDBLOB_HDR, n - ETCDBLOB_HDR) == 0);
		break;
	case ETCDBLOB_PUT:
	case ETCDBLOB_DEL:
	case ETCDBLOB_DELPFX:
		CHECK(e->dbi < DBI_COUNT && e->dbi != DBI_META && e->dbi != DBI_LOG);
		CHECK(e->klen <= ETCDBLOB_KEY_MAX && (e->klen > 0 || e->kind == ETCDBLOB_DELPFX));
		check_within(e->key, e->klen);
		if (e->kind == ETCDBLOB_PUT)
			check_within(e->val, e->vlen);
		else
			CHECK(e->val == NULL && e->vlen == 0);
		hl = etcdblob_table_hdr(h, e->kind, e->dbi, e->klen, e->vlen);
		CHECK(hl > 0 && (size_t)hl + e->klen + e->vlen == n);
		CHECK(memcmp(h, p, (size_t)hl) == 0);
		CHECK(e->key == p + hl);
		CHECK(e->kind != ETCDBLOB_PUT || e->val == e->key + e->klen);
		break;
	default:
		abort();
	}
}

/* Walk the value: its answer; *ends at every entry's end, *nends of them. */
static int
walk(const uint8_t *p, size_t len, size_t *ends, size_t *nends)
{
	struct etcdblob_reader r;
	struct etcdblob_ent e;
	uint32_t records = 0;
	size_t off = 0;
	int rc;

	*nends = 0;
	etcdblob_reader_init(&r, p, len);
	while ((rc = etcdblob_next(&r, &e)) > 0) {
		CHECK(r.off > off && r.off <= len);
		check_entry(&e, p + off, r.off - off, records);
		if (e.kind == ETCDBLOB_RECORD)
			records++;
		off = r.off;
		if (ends)
			ends[(*nends)++] = off;
	}
	CHECK(rc == 0 || rc == -EBADMSG);
	if (rc == 0)
		CHECK(off == len && r.records == records);
	else
		CHECK(etcdblob_next(&r, &e) == -EBADMSG && r.off == off);
	CHECK(etcdblob_check(p, len) == rc);
	return rc;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t *ends, nends, n2, step, i, cut;
	int rc;

	base = data;
	base_len = size;
	/* An entry is at least its header: at most size / 3 of them. */
	if ((ends = malloc((size / ETCDBLOB_HDR + 1) * sizeof(*ends))) == NULL)
		return 0;
	rc = walk(data, size, ends, &nends);
	if (rc == 0) {
		/* Every cut of an accepted value: accepted at an entry's end alone. */
		step = size > 512 ? size / 256 : 1;
		for (cut = 0, i = 0; cut < size; cut += step) {
			while (i < nends && ends[i] < cut)
				i++;
			base_len = cut;
			CHECK((walk(data, cut, NULL, &n2) == 0) == (cut == 0 || (i < nends &&
			    ends[i] == cut)));
		}
	}
	free(ends);
	return 0;
}
