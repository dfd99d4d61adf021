/*
 * ctldb: a controller database of its own for a test (procs/controller/db.c, included
 * by the test before this file), in /tmp/ctldb.<pid> (each Criterion test runs in a
 * process of its own), removed by the suite's .fini: ctldb_teardown. Its history is
 * CTLDB_EPOCH (db.epoch, which the controller's main sets from the store).
 */
#ifndef TESTS_UNIT_CTLDB_H
#define TESTS_UNIT_CTLDB_H

#include "common/addr.h"
#include "tests/unit/ip4.h"

#include <criterion/criterion.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define CTLDB_EPOCH	0x5eedc0de0e90c401ull

static char dir[64];
static struct db db;
static char err[512];

static int
rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

/* A new, empty database keeping `retention` log records. */
static void
open_db(uint64_t retention)
{
	snprintf(dir, sizeof(dir), "/tmp/ctldb.%d", (int)getpid());
	nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
	cr_assert_eq(db_open(&db, dir, 1 << 26, retention, err, sizeof(err)), 0, "%s", err);
	db.epoch = CTLDB_EPOCH;
}

static void
ctldb_teardown(void)
{
	db_close(&db);
	nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

#endif
