/*
 * etcdblob_test: the etcd store's log value codec (procs/controller/etcdblob.c), whose input
 * any controller of a cluster wrote. A value the encoder wrote reads back entry by entry;
 * hostile values are refused, each made from a valid one by one change, so that exactly
 * that check is shown: cut inside an entry at every byte, a length past the end, an
 * unknown kind, trailing bytes, more records than a revision has seqs, a bind outside
 * them, a table the views do not keep, a key too long or empty, a record that is no log
 * record or does not fill its entry, an id or epoch of the wrong size. A value cut
 * between two entries is a shorter value (nothing in the format marks the end).
 */
#include "procs/controller/etcdblob.c"

#include <criterion/criterion.h>
#include <stdlib.h>

#define VAL_MAX		4096

struct val {
	uint8_t p[VAL_MAX];
	size_t len;
	size_t ends[32];		/* each entry's end */
	uint8_t kinds[32];
	size_t n;
};

static void
add(struct val *v, uint8_t kind, const void *p, size_t n)
{
	cr_assert_eq(etcdblob_hdr(v->p + v->len, kind, n), 0);
	if (n > 0)
		memcpy(v->p + v->len + ETCDBLOB_HDR, p, n);
	v->len += ETCDBLOB_HDR + n;
	v->kinds[v->n] = kind;
	v->ends[v->n++] = v->len;
}

static void
add_table(struct val *v, uint8_t kind, enum db_dbi dbi, const void *k, size_t kl,
    const void *val, size_t vl)
{
	int hl = etcdblob_table_hdr(v->p + v->len, kind, dbi, kl, vl);

	cr_assert_gt(hl, 0);
	if (kl > 0)
		memcpy(v->p + v->len + hl, k, kl);
	if (vl > 0)
		memcpy(v->p + v->len + hl + kl, val, vl);
	v->len += (size_t)hl + kl + vl;
	v->kinds[v->n] = kind;
	v->ends[v->n++] = v->len;
}

static void
add_record(struct val *v, const struct wire_msg *m)
{
	uint8_t f[WIRE_LEN_SIZE + WIRE_RECORD_MAX];
	int n = wire_encode(m, f, sizeof(f));

	cr_assert_gt(n, 0);
	add(v, ETCDBLOB_RECORD, f, (size_t)n);
}

static void
add_bind(struct val *v, const char *host, uint64_t seq)
{
	struct wire_msg m = { .type = WIRE_BIND, .u.bind = { .seq = seq ? seq : 1, .vni = 100,
	    .ip = 0x0a000005, .mac = { 2, 0, 0, 0, 0, 5 }, .op = WIRE_BIND_ADD,
	    .tap = "vfweb1" } };
	uint8_t b[1 + DB_NAME_MAX + WIRE_LEN_SIZE + WIRE_RECORD_MAX];
	size_t hl = strlen(host);
	int n;

	b[0] = (uint8_t)hl;
	memcpy(b + 1, host, hl);
	n = wire_encode(&m, b + 1 + hl, sizeof(b) - 1 - hl);
	cr_assert_gt(n, 0);
	/* The seq as asked, 0 too (which the wire encoder refuses): after the header. */
	bytes_put64(b + 1 + hl + WIRE_LEN_SIZE + 4, seq);
	add(v, ETCDBLOB_BIND, b, 1 + hl + (size_t)n);
}

static const struct wire_msg rule_msg = { .type = WIRE_RULE, .u.rule = { .seq = 1, .vni = 100,
    .ip = 0x0a000005, .vtep = 0xc0a8000b, .mac = { 2, 0, 0, 0, 0, 5 },
    .op = WIRE_RULE_SET, .version = 3 } };
static const struct wire_msg host_msg = { .type = WIRE_HOST, .u.host = { .seq = 1,
    .vtep = 0xc0a8000b, .kind = WIRE_HOST_VSWITCH, .op = WIRE_HOST_ADD } };

/* A change's value, as es_commit writes it: table writes, records, a bind, the id. */
static void
change(struct val *v)
{
	static const uint8_t id[ETCDBLOB_ID_LEN] = { 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 0, 0, 0,
	    0, 9 };
	static const uint8_t rk[8] = { 0, 0, 0, 100, 10, 0, 0, 5 };

	memset(v, 0, sizeof(*v));
	add_table(v, ETCDBLOB_PUT, DBI_VPCS, "blue", 4, "vpc record", 10);
	add_table(v, ETCDBLOB_PUT, DBI_RULES, rk, 8, "rule record", 11);
	add_table(v, ETCDBLOB_DEL, DBI_VMS, "web0", 4, NULL, 0);
	add_table(v, ETCDBLOB_DELPFX, DBI_RULES, rk, 4, NULL, 0);
	add_record(v, &rule_msg);
	add_record(v, &host_msg);
	add_bind(v, "h1", 1);
	add(v, ETCDBLOB_ID, id, sizeof(id));
}

static void
epoch_value(struct val *v)
{
	static const uint8_t e[8] = { 0, 0, 0, 0, 0, 0, 0x12, 0x34 };

	memset(v, 0, sizeof(*v));
	add(v, ETCDBLOB_EPOCH, e, sizeof(e));
}

/* The offset of entry i's first byte. */
static size_t
entry_start(const struct val *v, size_t i)
{
	return i == 0 ? 0 : v->ends[i - 1];
}

/*
 * etcdblob_check on a copy of the value of its size alone: a read past its end is one
 * past the allocation (reported in the sanitized build, make SANITIZE=1).
 */
static int
check(const struct val *v)
{
	uint8_t *p = malloc(v->len ? v->len : 1);
	int rc;

	cr_assert_not_null(p);
	memcpy(p, v->p, v->len);
	rc = etcdblob_check(p, v->len);
	free(p);
	return rc;
}

Test(etcdblob, a_value_the_encoder_wrote_reads_back_entry_by_entry)
{
	struct etcdblob_reader r;
	struct etcdblob_ent e;
	struct val v;

	change(&v);
	cr_assert_eq(check(&v), 0);
	etcdblob_reader_init(&r, v.p, v.len);
	for (size_t i = 0; i < v.n; i++) {
		cr_assert_eq(etcdblob_next(&r, &e), 1, "entry %zu", i);
		cr_expect_eq(e.kind, v.kinds[i]);
		cr_expect_eq(r.off, v.ends[i]);
	}
	cr_expect_eq(etcdblob_next(&r, &e), 0);
	/* The fields of a few. */
	etcdblob_reader_init(&r, v.p, v.len);
	cr_assert_eq(etcdblob_next(&r, &e), 1);
	cr_expect(e.dbi == DBI_VPCS && e.klen == 4 && memcmp(e.key, "blue", 4) == 0 &&
	    e.vlen == 10 && memcmp(e.val, "vpc record", 10) == 0);
	for (int i = 0; i < 4; i++)
		cr_assert_eq(etcdblob_next(&r, &e), 1);
	cr_expect(e.kind == ETCDBLOB_RECORD && e.index == 0 && e.m.type == WIRE_RULE &&
	    e.m.u.rule.ip == 0x0a000005);
	cr_assert_eq(etcdblob_next(&r, &e), 1);
	cr_expect(e.index == 1 && e.m.type == WIRE_HOST);
	cr_assert_eq(etcdblob_next(&r, &e), 1);
	cr_expect(e.kind == ETCDBLOB_BIND && e.host_len == 2 && memcmp(e.host, "h1", 2) == 0 &&
	    e.m.u.bind.seq == 1);
	cr_assert_eq(etcdblob_next(&r, &e), 1);
	cr_expect(e.id_proc == 0x0102030405060708ull && e.id_txn == 9);
	epoch_value(&v);
	etcdblob_reader_init(&r, v.p, v.len);
	cr_assert_eq(etcdblob_next(&r, &e), 1);
	cr_expect(e.kind == ETCDBLOB_EPOCH && e.epoch == 0x1234);
	cr_expect_eq(etcdblob_check(v.p, 0), 0, "an empty value says nothing, and is one");
}

Test(etcdblob, a_value_cut_inside_an_entry_is_refused_at_every_byte)
{
	struct val v;
	size_t i = 0;

	change(&v);
	for (size_t cut = 1; cut < v.len; cut++) {
		bool boundary;

		while (v.ends[i] < cut)
			i++;
		boundary = v.ends[i] == cut;
		if (boundary)
			cr_expect_eq(etcdblob_check(v.p, cut), 0, "cut after entry %zu", i);
		else
			cr_expect_eq(etcdblob_check(v.p, cut), -EBADMSG, "cut at %zu, entry %zu",
			    cut, i);
	}
}

Test(etcdblob, a_length_past_the_end_is_refused)
{
	struct val v;

	for (size_t i = 0; i < 8; i++) {
		size_t s;

		change(&v);
		s = entry_start(&v, i);
		/* One byte more than the value has, then the most a length can say. */
		bytes_put16(v.p + s + 1, (uint16_t)(v.len - s - ETCDBLOB_HDR + 1));
		cr_expect_eq(check(&v), -EBADMSG, "entry %zu one byte long", i);
		bytes_put16(v.p + s + 1, 0xffff);
		cr_expect_eq(check(&v), -EBADMSG, "entry %zu 0xffff long", i);
	}
	/* A PUT's key longer than its entry. */
	change(&v);
	v.p[4] = 0xff;
	cr_expect_eq(check(&v), -EBADMSG);
}

Test(etcdblob, an_unknown_kind_is_refused)
{
	struct val v;

	for (unsigned k = ETCDBLOB_EPOCH + 1; k <= 0xff; k++) {
		change(&v);
		v.p[entry_start(&v, v.n - 1)] = (uint8_t)k;	/* the id's */
		cr_expect_eq(check(&v), -EBADMSG, "kind %u", k);
	}
}

Test(etcdblob, trailing_bytes_are_refused)
{
	static const uint8_t tails[][3] = {
		{ 0 }, { 0, 0 },		/* shorter than a header */
		{ ETCDBLOB_RECORD, 0, 0 },	/* a record of nothing */
		{ ETCDBLOB_BIND, 0, 0 },
		{ ETCDBLOB_ID, 0, 0 },
		{ ETCDBLOB_PUT, 0, 0 },
		{ ETCDBLOB_DEL, 0, 0 },
		{ ETCDBLOB_DELPFX, 0, 0 },
		{ ETCDBLOB_EPOCH, 0, 0 },
	};
	static const size_t lens[] = { 1, 2, 3, 3, 3, 3, 3, 3, 3 };
	struct val v;

	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		change(&v);
		memcpy(v.p + v.len, tails[i], lens[i]);
		v.len += lens[i];
		cr_expect_eq(check(&v), -EBADMSG, "tail %zu", i);
	}
	/* A header cut short, whose entry (the id) follows past the value's end. */
	for (size_t cut = 1; cut < ETCDBLOB_HDR; cut++) {
		struct etcdblob_reader r;
		struct etcdblob_ent e;

		change(&v);
		etcdblob_reader_init(&r, v.p, entry_start(&v, v.n - 1) + cut);
		for (size_t i = 0; i < v.n - 1; i++)
			cr_assert_eq(etcdblob_next(&r, &e), 1);
		cr_expect_eq(etcdblob_next(&r, &e), -EBADMSG, "a header of %zu bytes", cut);
	}
}

Test(etcdblob, more_records_than_a_revision_has_seqs_are_refused)
{
	struct etcdblob_reader r;
	struct etcdblob_ent e;
	struct val v;

	change(&v);
	/* Records 0 .. MAX - 1 read; the next is one too many (2^24 records: 600 MB). */
	etcdblob_reader_init(&r, v.p, v.len);
	for (int i = 0; i < 4; i++)
		cr_assert_eq(etcdblob_next(&r, &e), 1);
	r.records = ETCDBLOB_RECORDS_MAX - 1;
	cr_assert_eq(etcdblob_next(&r, &e), 1);
	cr_expect_eq(e.index, ETCDBLOB_RECORDS_MAX - 1);
	cr_expect_eq(etcdblob_next(&r, &e), -EBADMSG, "record 2^24 is past the seqs");
	cr_expect_eq(etcdblob_next(&r, &e), -EBADMSG, "refused once, refused after");
}

Test(etcdblob, a_bind_outside_the_values_records_is_refused)
{
	static const uint64_t seqs[] = { 0, ETCDBLOB_RECORDS_MAX + 1, UINT64_MAX };
	char name[ETCDBLOB_HOST_MAX + 2];
	struct val v;

	for (size_t i = 0; i < 3; i++) {
		change(&v);
		v.n = v.len = 0;
		add_bind(&v, "h1", seqs[i]);
		cr_expect_eq(check(&v), -EBADMSG, "seq %llu", (unsigned long long)seqs[i]);
	}
	change(&v);
	v.n = v.len = 0;
	add_bind(&v, "h1", ETCDBLOB_RECORDS_MAX);
	cr_expect_eq(check(&v), 0, "the last seq of a revision");
	/* A host's name longer than a name may be, or than its entry. */
	v.p[ETCDBLOB_HDR] = ETCDBLOB_HOST_MAX + 1;
	cr_expect_eq(check(&v), -EBADMSG);
	memset(name, 'h', sizeof(name));
	name[ETCDBLOB_HOST_MAX] = '\0';
	v.n = v.len = 0;
	add_bind(&v, name, 1);
	cr_expect_eq(check(&v), 0, "a name of %d bytes", ETCDBLOB_HOST_MAX);
	name[ETCDBLOB_HOST_MAX] = 'h';
	name[ETCDBLOB_HOST_MAX + 1] = '\0';
	v.n = v.len = 0;
	add_bind(&v, name, 1);
	cr_expect_eq(check(&v), -EBADMSG, "a name of %d bytes", ETCDBLOB_HOST_MAX + 1);
	v.n = v.len = 0;
	add(&v, ETCDBLOB_BIND, "\x05" "ab", 3);
	cr_expect_eq(check(&v), -EBADMSG);
	/* A name and no frame after it. */
	v.n = v.len = 0;
	add(&v, ETCDBLOB_BIND, "\x02h1", 3);
	cr_expect_eq(check(&v), -EBADMSG);
	/* A bind whose frame is a RULE. */
	{
		uint8_t f[WIRE_LEN_SIZE + WIRE_RECORD_MAX];
		int n = wire_encode(&rule_msg, f, sizeof(f));

		v.len = 0;
		v.p[0] = ETCDBLOB_BIND;
		bytes_put16(v.p + 1, (uint16_t)(1 + 2 + n));
		v.p[3] = 2;
		memcpy(v.p + 4, "h1", 2);
		memcpy(v.p + 6, f, (size_t)n);
		v.len = 6 + (size_t)n;
		cr_expect_eq(check(&v), -EBADMSG);
	}
}

Test(etcdblob, a_table_write_the_views_cannot_apply_is_refused)
{
	static const int bad[] = { DBI_META, DBI_LOG, DBI_COUNT, 0xff };
	uint8_t key[300];
	struct val v;

	for (size_t i = 0; i < 4; i++)
		for (uint8_t kind = ETCDBLOB_PUT; kind <= ETCDBLOB_DELPFX; kind++) {
			change(&v);
			v.n = v.len = 0;
			add_table(&v, kind, DBI_VMS, "web1", 4, "x", kind == ETCDBLOB_PUT);
			cr_assert_eq(check(&v), 0);
			v.p[3] = (uint8_t)bad[i];
			cr_expect_eq(check(&v), -EBADMSG, "table %d, kind %u", bad[i], kind);
		}
	/* No table at all. */
	v.len = 0;
	add(&v, ETCDBLOB_DEL, NULL, 0);
	cr_expect_eq(check(&v), -EBADMSG);
	/* An empty key is no record's; an empty prefix is the whole table's. */
	for (uint8_t kind = ETCDBLOB_PUT; kind <= ETCDBLOB_DELPFX; kind++) {
		v.n = v.len = 0;
		add_table(&v, kind, DBI_VMS, "", 0, "x", kind == ETCDBLOB_PUT);
		cr_expect_eq(check(&v), kind == ETCDBLOB_DELPFX ? 0 : -EBADMSG, "kind %u", kind);
	}
	/* A key longer than the encoder writes (it refuses past 255 bytes). */
	memset(key, 'k', sizeof(key));
	for (uint8_t kind = ETCDBLOB_DEL; kind <= ETCDBLOB_DELPFX; kind++) {
		v.n = v.len = 0;
		add_table(&v, kind, DBI_VMS, key, ETCDBLOB_KEY_MAX, NULL, 0);
		cr_expect_eq(check(&v), 0);
		v.n = v.len = 0;
		key[0] = DBI_VMS;
		add(&v, kind, key, 1 + ETCDBLOB_KEY_MAX + 1);
		cr_expect_eq(check(&v), -EBADMSG, "kind %u", kind);
	}
	cr_expect_eq(etcdblob_table_hdr(v.p, ETCDBLOB_DEL, DBI_VMS, 256, 0), -EMSGSIZE);
}

Test(etcdblob, a_record_that_is_no_log_record_is_refused)
{
	struct wire_msg bind = { .type = WIRE_BIND, .u.bind = { .seq = 1, .vni = 100,
	    .mac = { 2, 0, 0, 0, 0, 5 }, .op = WIRE_BIND_ADD, .tap = "vf" } };
	struct wire_msg hello = { .type = WIRE_HELLO, .u.hello = { .stream =
	    WIRE_STREAM_RULES, .node = "n" } };
	uint8_t f[WIRE_LEN_SIZE + WIRE_RECORD_MAX + 1];
	struct val v;
	int n;

	memset(&v, 0, sizeof(v));
	add_record(&v, &bind);
	cr_expect_eq(check(&v), -EBADMSG, "a BIND is not logged");
	v.n = v.len = 0;
	add_record(&v, &hello);
	cr_expect_eq(check(&v), -EBADMSG, "a HELLO is not logged");
	/* A frame with a byte after it, in its entry; one byte short of its frame. */
	n = wire_encode(&rule_msg, f, sizeof(f));
	cr_assert_gt(n, 0);
	f[n] = 0;
	v.n = v.len = 0;
	add(&v, ETCDBLOB_RECORD, f, (size_t)n + 1);
	cr_expect_eq(check(&v), -EBADMSG);
	v.n = v.len = 0;
	add(&v, ETCDBLOB_RECORD, f, (size_t)n - 1);
	cr_expect_eq(check(&v), -EBADMSG);
	v.n = v.len = 0;
	add(&v, ETCDBLOB_RECORD, f, (size_t)n);
	cr_expect_eq(check(&v), 0);
}

Test(etcdblob, an_id_or_epoch_of_the_wrong_size_is_refused)
{
	uint8_t b[32] = { 0 };
	struct val v;

	memset(&v, 0, sizeof(v));
	for (size_t n = 0; n < sizeof(b); n++) {
		v.n = v.len = 0;
		add(&v, ETCDBLOB_ID, b, n);
		cr_expect_eq(check(&v), n == ETCDBLOB_ID_LEN ? 0 : -EBADMSG, "id of %zu", n);
		v.n = v.len = 0;
		add(&v, ETCDBLOB_EPOCH, b, n);
		cr_expect_eq(check(&v), n == 8 ? 0 : -EBADMSG, "epoch of %zu", n);
	}
}
