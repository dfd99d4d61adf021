/*
 * fuzz/api: the controller's control API (procs/controller/api.c, docs/api.md) on a real
 * database, without the socket: the input is one request's bytes. The database (on
 * tmpfs, in /dev/shm) starts with a VPC, two hosts and two VMs and keeps what inputs
 * change, so later inputs meet a varied state. Every response must be a JSON object
 * with a boolean "ok"; a refusal must carry a code and an error of one printable ASCII
 * line, and must change nothing (the database's entries and log are as before). The
 * streams are not here: stream_committed, stream_admit and stream_gateways are stubs. abort() on any difference.
 */
#include "procs/controller/db.c"
#include "procs/controller/model.c"
#include "procs/controller/api.c"
#include "procs/controller/backup.c"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct db db;
static struct controller_counters counters;
static struct api api;
static char dir[64];

void
stream_committed(struct stream *s, const struct model_txn *t)
{
	(void)s;
	(void)t;
}

/* No gateway is connected: every change is admitted, none is incomplete anywhere. */
int
stream_admit(struct stream *s, const struct stream_need *n, char *err, size_t errlen)
{
	(void)s;
	(void)n;
	(void)err;
	(void)errlen;
	return 0;
}

size_t
stream_gateways(struct stream *s, struct stream_gateway *out, size_t max)
{
	(void)s;
	(void)out;
	(void)max;
	return 0;
}

static int
rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static void
cleanup(void)
{
	db_close(&db);
	nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

/* Every entry of every table, and the log's ends: what a refusal must leave alone. */
static void
state(uint64_t *out)
{
	MDB_txn *txn;
	MDB_stat st;

	if (mdb_txn_begin(db.env, NULL, MDB_RDONLY, &txn) != 0)
		abort();
	for (int i = 0; i < DBI_COUNT; i++) {
		if (mdb_stat(txn, db.dbi[i], &st) != 0)
			abort();
		out[i] = st.ms_entries;
	}
	mdb_txn_abort(txn);
	out[DBI_COUNT] = db.last_seq;
	out[DBI_COUNT + 1] = db.log_first;
}

static json_t *
call(const char *req)
{
	return api_handle(&api, NULL, (const uint8_t *)req, strlen(req));
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char *const world[] = {
		"{\"op\":\"vpc.create\",\"name\":\"blue\",\"vni\":100,\"cidrs\":[\"10.0.0.0/16\"]}",
		"{\"op\":\"host.create\",\"name\":\"h1\",\"vtep\":\"192.168.0.1\"}",
		"{\"op\":\"host.create\",\"name\":\"h2\",\"vtep\":\"192.168.0.2\","
		    "\"kind\":\"external\"}",
		"{\"op\":\"vm.create\",\"name\":\"a\",\"vpc\":\"blue\",\"ip\":\"10.0.0.5\","
		    "\"host\":\"h1\"}",
		"{\"op\":\"vm.create\",\"name\":\"b\",\"vpc\":\"blue\",\"ip\":\"10.0.0.6\","
		    "\"host\":\"h2\"}",
	};
	char err[512];

	(void)argc;
	(void)argv;
	log_init("fuzz-api", LOG_LVL_ERROR);
	snprintf(dir, sizeof(dir), "/dev/shm/vpcfwd-fuzz-api.%d", (int)getpid());
	nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
	if (db_open(&db, dir, 256ull << 20, 1000, err, sizeof(err)) < 0) {
		fprintf(stderr, "fuzz/api: %s\n", err);
		abort();
	}
	atexit(cleanup);
	api = (struct api){ .db = &db, .version_step = 1, .c = &counters };
	for (size_t i = 0; i < sizeof(world) / sizeof(world[0]); i++) {
		json_t *r = call(world[i]);

		if (!json_is_true(json_object_get(r, "ok")))
			abort();
		json_decref(r);
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t before[DBI_COUNT + 2], after[DBI_COUNT + 2];
	const char *err, *code;
	json_t *r, *ok;

	state(before);
	r = api_handle(&api, NULL, data, size);
	if (!json_is_object(r) || !json_is_boolean(ok = json_object_get(r, "ok")))
		abort();
	if (json_is_false(ok)) {
		err = json_string_value(json_object_get(r, "error"));
		code = json_string_value(json_object_get(r, "code"));
		if (err == NULL || err[0] == '\0' || code == NULL || code[0] == '\0')
			abort();
		for (const char *p = err; *p; p++)
			if (*p < 0x20 || *p > 0x7e)
				abort();
		state(after);
		if (memcmp(before, after, sizeof(before)) != 0)
			abort();
	}
	json_decref(r);
	return 0;
}
