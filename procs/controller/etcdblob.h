/*
 * etcdblob: the codec of the etcd store's log value (the `log` key's, docs/cluster.md "How
 * it works"), which every controller of a cluster writes and every view reads back from
 * etcd's watch: input from the network, parsed as hostile. Pure: bytes in, entries out, no
 * I/O, no allocation; every length is checked against what is left before it is read.
 *
 * The value is a run of entries, each a kind (u8), a length (u16 BE) and that many bytes:
 *
 *   ETCDBLOB_PUT     table (u8), the key's length (u8), the key, the value
 *   ETCDBLOB_DEL     table (u8), the key
 *   ETCDBLOB_DELPFX  table (u8), a prefix: every key beginning with it ("": the table)
 *   ETCDBLOB_RECORD  a log record: one wire frame (RULE, VPC or HOST), filling the entry
 *   ETCDBLOB_BIND    the host name's length (u8), the name, a BIND frame whose seq is its
 *                    RULE record's index in this value plus one
 *   ETCDBLOB_ID      the commit's id: its controller's (u64 BE), its own (u64 BE)
 *   ETCDBLOB_EPOCH   a restore's epoch (u64 BE): the history changed
 *
 * A table is a controller table (db.h) but DBI_META and DBI_LOG; a key has 1..255 bytes,
 * a prefix 0..255; a host name 0..ETCDBLOB_HOST_MAX; a bind's seq 1..ETCDBLOB_RECORDS_MAX.
 * A change's value holds its table writes, then its records, binds and id; a restore's,
 * its range deletes, its puts, or its epoch; a tombstone collection's, its deletes.
 * Nothing marks the end: a value cut between two entries is a shorter value.
 */
#ifndef CONTROLLER_ETCDBLOB_H
#define CONTROLLER_ETCDBLOB_H

#include "db.h"
#include "common/wire.h"

#include <stddef.h>
#include <stdint.h>

#define ETCDBLOB_RECORD		0
#define ETCDBLOB_BIND		1
#define ETCDBLOB_ID		2
#define ETCDBLOB_PUT		3
#define ETCDBLOB_DEL		4
#define ETCDBLOB_DELPFX		5
#define ETCDBLOB_EPOCH		6
#define ETCDBLOB_HDR		3		/* kind, length */
#define ETCDBLOB_TABLE_HDR_MAX	5		/* a PUT's: kind, length, table, key length */
#define ETCDBLOB_ENTRY_MAX	0xffff		/* an entry's bytes after its header */
#define ETCDBLOB_KEY_MAX	0xff
#define ETCDBLOB_ID_LEN		16
#define ETCDBLOB_HOST_MAX	(DB_NAME_MAX - 1)	/* a BIND's host name, bytes */
/* Records a value may hold: a record's seq is revision << 24 | its index (etcdstore.c). */
#define ETCDBLOB_RECORDS_MAX	(1u << 24)

/* One entry, decoded; pointers into the value. */
struct etcdblob_ent {
	uint8_t kind;
	/* PUT, DEL, DELPFX */
	enum db_dbi dbi;
	const uint8_t *key, *val;
	size_t klen, vlen;
	/* RECORD: the record (m.type RULE, VPC or HOST); BIND: the bind (m.type BIND) */
	struct wire_msg m;
	uint32_t index;			/* RECORD: its index among the value's records */
	const uint8_t *host;		/* BIND: the host's name, host_len bytes, no NUL */
	size_t host_len;
	uint64_t id_proc, id_txn;	/* ID */
	uint64_t epoch;			/* EPOCH */
};

/* A walk over one value. */
struct etcdblob_reader {
	const uint8_t *p;
	size_t len, off;
	uint32_t records;		/* RECORD entries read so far */
};

void etcdblob_reader_init(struct etcdblob_reader *r, const uint8_t *p, size_t len);
/* The next entry into *e: 1, 0 at the end, -EBADMSG for a malformed one (and after it). */
int etcdblob_next(struct etcdblob_reader *r, struct etcdblob_ent *e);
/* Every entry of the value well formed: 0 or -EBADMSG. Apply nothing of one that fails. */
int etcdblob_check(const uint8_t *p, size_t len);

/*
 * The encoder writes each entry as a header and its bytes. ETCDBLOB_RECORD, BIND, ID and
 * EPOCH: the 3 bytes of a header for n bytes; -EMSGSIZE when n is too long.
 */
int etcdblob_hdr(uint8_t hdr[ETCDBLOB_HDR], uint8_t kind, size_t n);
/*
 * A table write's header (ETCDBLOB_PUT, DEL, DELPFX), which the key, then a PUT's value,
 * follow: its length (5 for a PUT, 4 otherwise), or -EMSGSIZE.
 */
int etcdblob_table_hdr(uint8_t hdr[ETCDBLOB_TABLE_HDR_MAX], uint8_t kind, enum db_dbi dbi,
    size_t klen, size_t vlen);

#endif
