/*
 * etcdblob: see etcdblob.h. The decoder takes an entry only whole and well formed: its
 * length within the value, its kind known, its fields filling it exactly, a record one
 * that a view can log, a key one the encoder could have written; so a view checks a
 * value before it applies any of it.
 */
#include "etcdblob.h"
#include "common/bytes.h"

#include <errno.h>
#include <string.h>

void
etcdblob_reader_init(struct etcdblob_reader *r, const uint8_t *p, size_t len)
{
	memset(r, 0, sizeof(*r));
	r->p = p;
	r->len = len;
}

/*
 * The n bytes at p are one log frame, whole: not 0, which wire_decode_log answers for
 * "more bytes needed", leaving m as it was.
 */
static bool
frame_fills(const uint8_t *p, size_t n, struct wire_msg *m)
{
	int rc = wire_decode_log(p, n, m);

	return rc > 0 && (size_t)rc == n;
}

/* A table write's n bytes at p: a table the views keep in etcd, then the key (and value). */
static int
dec_table(struct etcdblob_ent *e, const uint8_t *p, size_t n)
{
	if (n < 1 || p[0] >= DBI_COUNT || p[0] == DBI_META || p[0] == DBI_LOG)
		return -EBADMSG;
	e->dbi = p[0];
	/*
	 * Keys as the encoder writes them: a record's has 1..255 bytes (LMDB has no empty
	 * key), a prefix 0..255 ("": the whole table).
	 */
	if (e->kind != ETCDBLOB_PUT) {
		e->key = p + 1;
		e->klen = n - 1;
		if (e->klen > ETCDBLOB_KEY_MAX || (e->klen == 0 && e->kind == ETCDBLOB_DEL))
			return -EBADMSG;
		return 0;
	}
	if (n < 2 || p[1] == 0 || p[1] > n - 2)
		return -EBADMSG;
	e->klen = p[1];
	e->key = p + 2;
	e->val = p + 2 + e->klen;
	e->vlen = n - 2 - e->klen;
	return 0;
}

/* A BIND's n bytes at p: the host's name, then a BIND frame filling the rest. */
static int
dec_bind(struct etcdblob_ent *e, const uint8_t *p, size_t n)
{
	size_t hl;

	if (n < 1 || (hl = p[0]) > ETCDBLOB_HOST_MAX || hl > n - 1 ||
	    !frame_fills(p + 1 + hl, n - 1 - hl, &e->m) ||
	    e->m.type != WIRE_BIND || e->m.u.bind.seq > ETCDBLOB_RECORDS_MAX)
		return -EBADMSG;
	e->host = p + 1;
	e->host_len = hl;
	return 0;
}

static int
dec_entry(struct etcdblob_reader *r, struct etcdblob_ent *e, const uint8_t *p, size_t n)
{
	switch (e->kind) {
	case ETCDBLOB_RECORD:
		/* A BIND reads as a log frame too (wire.h), but a view logs none. */
		if (r->records >= ETCDBLOB_RECORDS_MAX || !frame_fills(p, n, &e->m) ||
		    (e->m.type != WIRE_RULE && e->m.type != WIRE_VPC && e->m.type != WIRE_HOST))
			return -EBADMSG;
		e->index = r->records++;
		return 0;
	case ETCDBLOB_BIND:
		return dec_bind(e, p, n);
	case ETCDBLOB_ID:
		if (n != ETCDBLOB_ID_LEN)
			return -EBADMSG;
		e->id_proc = bytes_get64(p);
		e->id_txn = bytes_get64(p + 8);
		return 0;
	case ETCDBLOB_PUT:
	case ETCDBLOB_DEL:
	case ETCDBLOB_DELPFX:
		return dec_table(e, p, n);
	case ETCDBLOB_EPOCH:
		if (n != 8)
			return -EBADMSG;
		e->epoch = bytes_get64(p);
		return 0;
	default:
		return -EBADMSG;
	}
}

int
etcdblob_next(struct etcdblob_reader *r, struct etcdblob_ent *e)
{
	size_t left = r->len - r->off, n;
	const uint8_t *p = r->p + r->off;

	memset(e, 0, sizeof(*e));
	if (left == 0)
		return 0;
	if (left < ETCDBLOB_HDR || (n = bytes_get16(p + 1)) > left - ETCDBLOB_HDR)
		goto bad;
	e->kind = p[0];
	if (dec_entry(r, e, p + ETCDBLOB_HDR, n) < 0)
		goto bad;
	r->off += ETCDBLOB_HDR + n;
	return 1;
bad:
	/* Stuck on it: a caller that walks on gets the same answer. */
	memset(e, 0, sizeof(*e));
	return -EBADMSG;
}

int
etcdblob_check(const uint8_t *p, size_t len)
{
	struct etcdblob_reader r;
	struct etcdblob_ent e;
	int rc;

	etcdblob_reader_init(&r, p, len);
	while ((rc = etcdblob_next(&r, &e)) > 0)
		;
	return rc;
}

int
etcdblob_hdr(uint8_t hdr[ETCDBLOB_HDR], uint8_t kind, size_t n)
{
	if (n > ETCDBLOB_ENTRY_MAX)
		return -EMSGSIZE;
	hdr[0] = kind;
	bytes_put16(hdr + 1, (uint16_t)n);
	return 0;
}

int
etcdblob_table_hdr(uint8_t hdr[ETCDBLOB_TABLE_HDR_MAX], uint8_t kind, enum db_dbi dbi,
    size_t klen, size_t vlen)
{
	size_t n = 1 + (kind == ETCDBLOB_PUT ? 1 + klen + vlen : klen);

	if (klen > ETCDBLOB_KEY_MAX || vlen > ETCDBLOB_ENTRY_MAX || n > ETCDBLOB_ENTRY_MAX)
		return -EMSGSIZE;
	hdr[0] = kind;
	bytes_put16(hdr + 1, (uint16_t)n);
	hdr[3] = (uint8_t)dbi;
	if (kind != ETCDBLOB_PUT)
		return 4;
	hdr[4] = (uint8_t)klen;
	return 5;
}
