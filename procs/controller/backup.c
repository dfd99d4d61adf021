/*
 * backup: see backup.h. Invariants: a backup's PATH is renamed into place only once its
 * copy is synced and reads back as a controller's data file; a restore changes the data
 * directory in one rename, from the old data.mdb to the backup already regenerated (new
 * generations, empty log, new epoch), so a controller never starts on a half-restored
 * directory.
 */
#include "backup.h"
#include "model.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/mix.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#define BACKUP_POLL_NS	(20 * NS_PER_MS)	/* how often the loop looks for the thread's end */
#define COPY_BUF	(1 << 20)
#define PROG		"vpcfwd-controller"

struct backup {
	struct loop *l;
	struct db *db;
	struct controller_counters *c;
	backup_done_fn *done;
	void *arg;
	struct loop_timer poll;
	pthread_t thread;
	int fd;			/* PATH.tmp, the thread's until it ends */
	bool force;
	uint64_t start_ns;
	char path[PATH_MAX];
	char tmp[PATH_MAX + 8];
	/* The thread's results: read only after `finished` says it is done. */
	int rc;
	char err[PATH_MAX + 256];
	struct backup_info info;
	atomic_bool finished;
};

/* LMDB's errors are positive and its own; ours are negative errno (as db.c's). */
static int
lmdb_errno(int rc)
{
	if (rc == MDB_SUCCESS)
		return 0;
	if (rc == MDB_NOTFOUND)
		return -ENOENT;
	if (rc == MDB_MAP_FULL)
		return -ENOSPC;
	return rc > 0 && rc < 1000 ? -rc : -EIO;
}

static const char *
lmdb_strerror(int rc)
{
	return rc > 0 && rc < 1000 ? strerror(rc) : mdb_strerror(rc);
}

/* meta's integers are 8 bytes in host order (db.h). */
static int
meta_get(MDB_txn *txn, MDB_dbi meta, const char *name, uint64_t def, uint64_t *out)
{
	MDB_val k = { strlen(name), (void *)name }, v;
	int rc = mdb_get(txn, meta, &k, &v);

	if (rc == MDB_NOTFOUND) {
		*out = def;
		return 0;
	}
	if (rc != 0)
		return lmdb_errno(rc);
	if (v.mv_size != 8)
		return -EUCLEAN;
	memcpy(out, v.mv_data, 8);
	return 0;
}

static int
meta_put(MDB_txn *txn, MDB_dbi meta, const char *name, uint64_t val)
{
	MDB_val k = { strlen(name), (void *)name }, v = { 8, &val };

	return lmdb_errno(mdb_put(txn, meta, &k, &v, 0));
}

/* A random, non-zero epoch; without getrandom, something no other start repeats. */
static uint64_t
draw_epoch(void)
{
	uint64_t e = 0;

	while (e == 0)
		if (getrandom(&e, sizeof(e), 0) != sizeof(e))
			e = mix64(clock_real_ns() ^ (uint64_t)getpid() << 32 ^ e);
	return e;
}

int
backup_epoch(struct db *db, uint64_t *epoch)
{
	struct db_txn t;
	MDB_txn *txn;
	int rc;

	if ((rc = db_read(db, &txn)) < 0)
		return rc;
	rc = meta_get(txn, db->dbi[DBI_META], "epoch", 0, epoch);
	mdb_txn_abort(txn);
	if (rc < 0 || *epoch != 0)
		return rc;
	/* A new store, or one from before epochs: its history gets a name now. */
	if ((rc = db_begin(db, &t)) < 0)
		return rc;
	*epoch = draw_epoch();
	if ((rc = meta_put(t.txn, db->dbi[DBI_META], "epoch", *epoch)) < 0) {
		db_abort(&t);
		return rc;
	}
	return db_commit(&t);
}

/*
 * Every entry of every table read once: a page LMDB cannot find or read is an error
 * here rather than in the controller that would serve it.
 */
static int
file_walk(MDB_txn *txn)
{
	MDB_cursor *names, *cur;
	MDB_val k, v, dk, dv;
	MDB_dbi main, dbi;
	int rc, rc2;

	if ((rc = mdb_dbi_open(txn, NULL, 0, &main)) != 0 ||
	    (rc = mdb_cursor_open(txn, main, &names)) != 0)
		return rc;
	while ((rc = mdb_cursor_get(names, &k, &v, MDB_NEXT)) == 0) {
		char name[64];

		if (k.mv_size == 0 || k.mv_size >= sizeof(name))
			continue;
		memcpy(name, k.mv_data, k.mv_size);
		name[k.mv_size] = '\0';
		if ((rc = mdb_dbi_open(txn, name, 0, &dbi)) != 0 ||
		    (rc = mdb_cursor_open(txn, dbi, &cur)) != 0)
			break;
		while ((rc2 = mdb_cursor_get(cur, &dk, &dv, MDB_NEXT)) == 0)
			;
		mdb_cursor_close(cur);
		if (rc2 != MDB_NOTFOUND) {
			rc = rc2;
			break;
		}
	}
	mdb_cursor_close(names);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

/*
 * What the controller data file at path holds, opened read-only without a lock file
 * (walked whole when walk): 0, or a negative errno with err saying why it is not a
 * controller's backup.
 */
static int
file_info(const char *path, bool walk, struct backup_info *in, char *err, size_t errlen)
{
	/* The tables db.h lists, by the names db.c gives them. */
	static const char *const counted[] = { "vpcs", "hosts", "vms", "rules" };
	uint64_t *counts[] = { &in->vpcs, &in->hosts, &in->vms, &in->rules };
	MDB_env *env = NULL;
	MDB_txn *txn = NULL;
	MDB_dbi meta, dbi;
	MDB_envinfo ei;
	MDB_stat ms;
	struct stat st;
	uint64_t schema, need;
	int rc;

	memset(in, 0, sizeof(*in));
	snprintf(in->path, sizeof(in->path), "%s", path);
	if (stat(path, &st) == -1) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return rc;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s is not a regular file (a backup is one file, a "
		    "data.mdb)", path);
		return -EINVAL;
	}
	in->bytes = (uint64_t)st.st_size;
	if ((rc = mdb_env_create(&env)) != 0 || (rc = mdb_env_set_maxdbs(env, DBI_COUNT)) != 0)
		goto fail_rc;
	rc = mdb_env_open(env, path, MDB_NOSUBDIR | MDB_RDONLY | MDB_NOLOCK, 0600);
	if (rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH) {
		snprintf(err, errlen, "%s is not a controller backup: %s", path,
		    rc == MDB_INVALID ? "not an LMDB data file" : "another LMDB version's file");
		rc = -EINVAL;
		goto out;
	}
	if (rc != 0 || (rc = mdb_env_info(env, &ei)) != 0 || (rc = mdb_env_stat(env, &ms)) != 0)
		goto fail_rc;
	/* A file cut short is mapped past its end: reading there would be SIGBUS. */
	need = ((uint64_t)ei.me_last_pgno + 1) * ms.ms_psize;
	if (in->bytes < need) {
		snprintf(err, errlen, "%s is cut short: %llu bytes of the %llu its pages take",
		    path, (unsigned long long)in->bytes, (unsigned long long)need);
		rc = -EINVAL;
		goto out;
	}
	if ((rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn)) != 0)
		goto fail_rc;
	if (walk && (rc = file_walk(txn)) != 0) {
		snprintf(err, errlen, "%s is damaged: %s", path, lmdb_strerror(rc));
		rc = -EINVAL;
		goto out;
	}
	if ((rc = mdb_dbi_open(txn, "meta", 0, &meta)) == MDB_NOTFOUND) {
		snprintf(err, errlen, "%s is an LMDB file but not a controller backup (no meta "
		    "table)", path);
		rc = -EINVAL;
		goto out;
	}
	if (rc != 0)
		goto fail_rc;
	if ((rc = meta_get(txn, meta, "schema", 0, &schema)) < 0 ||
	    (rc = meta_get(txn, meta, "next_seq", 1, &in->next_seq)) < 0 ||
	    (rc = meta_get(txn, meta, "log_first", 1, &in->log_first)) < 0 ||
	    (rc = meta_get(txn, meta, "epoch", 0, &in->epoch)) < 0) {
		snprintf(err, errlen, "%s is not a controller backup: its meta table does not "
		    "read (%s)", path, strerror(-rc));
		goto out;
	}
	if (schema != DB_SCHEMA) {
		snprintf(err, errlen, "%s is not a backup this controller reads: schema %llu, not "
		    "%u", path, (unsigned long long)schema, DB_SCHEMA);
		rc = -EINVAL;
		goto out;
	}
	for (size_t i = 0; i < sizeof(counted) / sizeof(counted[0]); i++) {
		if ((rc = mdb_dbi_open(txn, counted[i], 0, &dbi)) == MDB_NOTFOUND) {
			snprintf(err, errlen, "%s is not a controller backup: no %s table", path,
			    counted[i]);
			rc = -EINVAL;
			goto out;
		}
		if (rc != 0 || (rc = mdb_stat(txn, dbi, &ms)) != 0)
			goto fail_rc;
		*counts[i] = ms.ms_entries;
	}
	rc = 0;
	goto out;
fail_rc:
	snprintf(err, errlen, "%s: %s", path, lmdb_strerror(rc));
	rc = lmdb_errno(rc);
out:
	if (txn)
		mdb_txn_abort(txn);
	if (env)
		mdb_env_close(env);
	return rc;
}

int
backup_file_check(const char *file, char *err, size_t errlen)
{
	struct backup_info in;

	return file_info(file, true, &in, err, errlen);
}

/* The directory of path, synced: a rename in it is durable once this returns 0. */
static int
sync_dir_of(const char *path)
{
	char copy[PATH_MAX];
	int fd, rc = 0;

	snprintf(copy, sizeof(copy), "%s", path);
	if ((fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -errno;
	if (fsync(fd) == -1)
		rc = -errno;
	close(fd);
	return rc;
}

static int
sync_dir(const char *dir)
{
	char inside[PATH_MAX + 8];

	snprintf(inside, sizeof(inside), "%s/.", dir);
	return sync_dir_of(inside);
}

/* tmp onto path: replacing it (force), or only when there is none. */
static int
publish(const char *tmp, const char *path, bool force)
{
	if (force)
		return rename(tmp, path) == -1 ? -errno : 0;
	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -errno;
	/* A filesystem without RENAME_NOREPLACE: link refuses a taken name too. */
	if (link(tmp, path) == -1)
		return -errno;
	unlink(tmp);
	return 0;
}

/* The thread: copy, sync, read back, rename. Blocking I/O, none of it on the loop. */
static void *
backup_thread(void *arg)
{
	struct backup *b = arg;
	const char *path = b->path;
	int rc;

	if ((rc = mdb_env_copyfd2(b->db->env, b->fd, MDB_CP_COMPACT)) != 0) {
		snprintf(b->err, sizeof(b->err), "cannot copy the database to %s: %s", b->tmp,
		    lmdb_strerror(rc));
		b->rc = lmdb_errno(rc);
		goto out;
	}
	if (fsync(b->fd) == -1) {
		b->rc = -errno;
		snprintf(b->err, sizeof(b->err), "%s: %s", b->tmp, strerror(errno));
		goto out;
	}
	close(b->fd);
	b->fd = -1;
	/* Read back: the file is a controller's, and says which seq it holds. */
	if ((b->rc = file_info(b->tmp, false, &b->info, b->err, sizeof(b->err))) < 0)
		goto out;
	snprintf(b->info.path, sizeof(b->info.path), "%s", path);
	if ((rc = publish(b->tmp, path, b->force)) < 0) {
		b->rc = rc;
		snprintf(b->err, sizeof(b->err), rc == -EEXIST ? "%s appeared while the backup "
		    "was written (force replaces it)" : "cannot rename the backup to %s: %s",
		    path, strerror(-rc));
		goto out;
	}
	if ((rc = sync_dir_of(path)) < 0) {
		/* Named, but perhaps not durably: say so, leave the file. */
		b->rc = rc;
		snprintf(b->err, sizeof(b->err), "%s written but its directory not synced: %s",
		    path, strerror(-rc));
	}
out:
	if (b->fd >= 0)
		close(b->fd);
	b->fd = -1;
	if (b->rc < 0)
		unlink(b->tmp);
	/* Pairs with the acquire loads in backup_poll and backup_wait. */
	atomic_store_explicit(&b->finished, true, memory_order_release);
	return NULL;
}

static void
backup_end(struct backup *b)
{
	double secs = (double)(clock_mono_ns() - b->start_ns) / NS_PER_S;

	pthread_join(b->thread, NULL);
	if (b->rc < 0) {
		STATS_INC(b->c, backups_failed);
		log_warnx("backup to %s failed after %.1f s: %s", b->path, secs, b->err);
		return;
	}
	STATS_INC(b->c, backups);
	STATS_ADD(b->c, backup_bytes, b->info.bytes);
	log_info("backup written to %s in %.1f s: %llu bytes, log seq %llu, epoch %016llx",
	    b->info.path, secs, (unsigned long long)b->info.bytes,
	    (unsigned long long)(b->info.next_seq - 1), (unsigned long long)b->info.epoch);
}

static void
backup_poll(struct loop_timer *t)
{
	struct backup *b = t->arg;

	/* Pairs with the thread's release store: rc, err and info are whole. */
	if (!atomic_load_explicit(&b->finished, memory_order_acquire)) {
		loop_timer_set(b->l, t, BACKUP_POLL_NS);
		return;
	}
	backup_end(b);
	b->done(b->arg, b->rc, &b->info, b->err);
	free(b);
}

int
backup_start(struct loop *l, struct db *db, const char *path, bool force,
    struct controller_counters *c, backup_done_fn *done, void *arg, struct backup **out,
    char *err, size_t errlen)
{
	struct backup *b;
	struct stat st;
	int rc;

	*out = NULL;
	if (path[0] != '/') {
		snprintf(err, errlen, "path must be absolute (the controller's own view of "
		    "the file system), not %s", path);
		return -EINVAL;
	}
	if (strlen(path) + 5 > PATH_MAX) {
		snprintf(err, errlen, "path is longer than %d bytes", PATH_MAX - 5);
		return -EINVAL;
	}
	if (stat(path, &st) == 0 && (S_ISDIR(st.st_mode) || !force)) {
		snprintf(err, errlen, S_ISDIR(st.st_mode) ? "%s is a directory" :
		    "%s exists (force replaces it)", path);
		return -EEXIST;
	}
	if ((b = calloc(1, sizeof(*b))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	*b = (struct backup){ .l = l, .db = db, .c = c, .done = done, .arg = arg,
	    .force = force, .start_ns = clock_mono_ns() };
	snprintf(b->path, sizeof(b->path), "%s", path);
	snprintf(b->info.path, sizeof(b->info.path), "%s", path);
	snprintf(b->tmp, sizeof(b->tmp), "%s.tmp", path);
	/* 0600: the whole state of the cloud's network is in it. */
	b->fd = open(b->tmp, O_WRONLY | O_CREAT | O_CLOEXEC | (force ? O_TRUNC : O_EXCL), 0600);
	if (b->fd == -1 || fchmod(b->fd, 0600) == -1) {
		rc = -errno;
		snprintf(err, errlen, rc == -EEXIST ? "%s exists: a backup being written there, "
		    "or left by one that failed (remove it, or give force)" : "cannot create %s: %s", b->tmp,
		    strerror(-rc));
		if (b->fd >= 0) {
			close(b->fd);
			unlink(b->tmp);
		}
		free(b);
		return rc;
	}
	atomic_init(&b->finished, false);
	if ((rc = pthread_create(&b->thread, NULL, backup_thread, b)) != 0) {
		snprintf(err, errlen, "cannot start the backup's thread: %s", strerror(rc));
		close(b->fd);
		unlink(b->tmp);
		free(b);
		return -rc;
	}
	b->poll = (struct loop_timer){ .fn = backup_poll, .arg = b };
	loop_timer_set(l, &b->poll, BACKUP_POLL_NS);
	log_info("backup to %s started", path);
	*out = b;
	return 0;
}

const char *
backup_path(const struct backup *b)
{
	return b->path;
}

void
backup_wait(struct backup *b)
{
	if (b == NULL)
		return;
	loop_timer_cancel(b->l, &b->poll);
	if (!atomic_load_explicit(&b->finished, memory_order_acquire))
		log_info("waiting for the backup to %s to finish", b->path);
	backup_end(b);
	free(b);
}

/* Restore. */

static void __attribute__((noreturn))
restore_usage(const char *why)
{
	fprintf(stderr, "%s: %s\nusage: %s --restore FILE -c CONF   (LMDB store: offline; "
	    "etcd: live; not with -n or -d)\n", PROG, why, PROG);
	exit(2);
}

const char *
backup_restore_arg(int *argc, char **argv)
{
	const char *file = NULL;
	bool detach_or_check = false;
	int i, out = 1;

	for (i = 1; i < *argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--") == 0)
			break;
		if (strcmp(a, "--restore") == 0 || strncmp(a, "--restore=", 10) == 0) {
			if (file)
				restore_usage("--restore is given twice");
			if (a[9] == '=')
				file = a + 10;
			else if (i + 1 < *argc)
				file = argv[++i];
			if (file == NULL || file[0] == '\0')
				restore_usage("--restore needs a FILE");
			continue;
		}
		argv[out++] = argv[i];
		/* Short options as common/daemon's getopt reads them: -c takes a value. */
		if (a[0] != '-' || a[1] == '-')
			continue;
		for (const char *p = a + 1; *p; p++) {
			if (*p == 'c') {
				if (p[1] == '\0' && i + 1 < *argc)
					argv[out++] = argv[++i];
				break;
			}
			detach_or_check |= *p == 'n' || *p == 'd';
		}
	}
	for (; i < *argc; i++)
		argv[out++] = argv[i];
	argv[out] = NULL;
	*argc = out;
	if (file && detach_or_check)
		restore_usage("--restore runs in the foreground and changes the data directory: "
		    "not with -n or -d");
	return file;
}

/* Copy src into dst (made, mode 0600), synced. */
static int
copy_file(const char *src, const char *dst, char *err, size_t errlen)
{
	int in = -1, out = -1, rc = 0;
	char *buf = malloc(COPY_BUF);
	ssize_t n;

	if (buf == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if ((in = open(src, O_RDONLY | O_CLOEXEC)) == -1) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", src, strerror(errno));
		goto out;
	}
	if ((out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) == -1)
		goto fail_dst;
	while ((n = read(in, buf, COPY_BUF)) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			rc = -errno;
			snprintf(err, errlen, "%s: %s", src, strerror(errno));
			goto out;
		}
		for (ssize_t off = 0, w; off < n; off += w)
			if ((w = write(out, buf + off, (size_t)(n - off))) == -1) {
				if (errno == EINTR) {
					w = 0;
					continue;
				}
				goto fail_dst;
			}
	}
	if (fsync(out) == -1)
		goto fail_dst;
	goto out;
fail_dst:
	rc = -errno;
	snprintf(err, errlen, "%s: %s", dst, strerror(errno));
out:
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	free(buf);
	return rc;
}

struct restored {
	uint64_t vpcs;		/* each given a new generation */
	uint64_t tombstones;	/* dropped with the log that made them */
	uint64_t seq;		/* the log's first seq from now on */
	uint64_t epoch;
};

/*
 * In one write transaction of the restored copy: every VPC a new generation (its
 * version kept), tombstones dropped (the log records that made them are gone, and a
 * snapshot's walk deletes what a table holds beyond the VPC's rules anyway), the log
 * emptied, next_seq = log_first = seq, and a new epoch.
 */
static int
regenerate(struct db *db, uint64_t seq, struct restored *r, char *err, size_t errlen)
{
	struct db_iter it;
	struct db_txn t;
	int rc, n;

	if ((rc = db_begin(db, &t)) < 0)
		goto fail;
	if ((rc = db_iter_open(t.txn, db, DBI_VPCS, NULL, 0, &it)) < 0)
		goto fail_txn;
	while ((n = db_iter_next(&it)) > 0) {
		struct db_vpc v;
		MDB_val val = { sizeof(v), &v };

		if (it.val.mv_size != sizeof(v)) {
			rc = -EUCLEAN;
			break;
		}
		memcpy(&v, it.val.mv_data, sizeof(v));
		v.gen = model_draw_gen(v.gen);
		if ((rc = mdb_cursor_put(it.cur, &it.key, &val, MDB_CURRENT)) != 0) {
			rc = lmdb_errno(rc);
			break;
		}
		r->vpcs++;
	}
	db_iter_close(&it);
	if (n < 0)
		rc = n;
	if (rc < 0 || (rc = db_iter_open(t.txn, db, DBI_RULES, NULL, 0, &it)) < 0)
		goto fail_txn;
	while ((n = db_iter_next(&it)) > 0) {
		struct db_rule rule;

		if (it.val.mv_size != sizeof(rule)) {
			rc = -EUCLEAN;
			break;
		}
		memcpy(&rule, it.val.mv_data, sizeof(rule));
		if (rule.op != WIRE_RULE_DEL)
			continue;
		if ((rc = mdb_cursor_del(it.cur, 0)) != 0) {
			rc = lmdb_errno(rc);
			break;
		}
		r->tombstones++;
	}
	db_iter_close(&it);
	if (n < 0)
		rc = n;
	if (rc < 0)
		goto fail_txn;
	r->epoch = draw_epoch();
	r->seq = seq;
	if ((rc = lmdb_errno(mdb_drop(t.txn, db->dbi[DBI_LOG], 0))) < 0 ||
	    (rc = meta_put(t.txn, db->dbi[DBI_META], "next_seq", seq)) < 0 ||
	    (rc = meta_put(t.txn, db->dbi[DBI_META], "log_first", seq)) < 0 ||
	    (rc = meta_put(t.txn, db->dbi[DBI_META], "epoch", r->epoch)) < 0)
		goto fail_txn;
	/* What db_commit publishes: an empty log starting at seq. */
	t.next_seq = t.log_first = seq;
	if ((rc = db_commit(&t)) < 0)
		goto fail;
	return 0;
fail_txn:
	db_abort(&t);
fail:
	snprintf(err, errlen, "cannot regenerate the restored copy: %s", strerror(-rc));
	return rc;
}

/* A file of dir, removed if there (a leftover of a restore that failed). */
static void
remove_in(const char *dir, const char *name)
{
	char p[PATH_MAX + 64];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	unlink(p);
}

int
backup_restore_run(const char *file, const char *dir, uint64_t map_size,
    uint64_t log_retention)
{
	char lock[PATH_MAX + 32], tmpdir[PATH_MAX + 32], tmpdata[PATH_MAX + 64];
	char data[PATH_MAX + 32], err[PATH_MAX + 512];
	struct backup_info in;
	struct restored r = { 0 };
	struct db tdb;
	int lock_fd;

	if (strlen(dir) + 32 > PATH_MAX)
		fatalx("%s: the data directory's path is too long", dir);
	if (mkdir(dir, 0700) == -1 && errno != EEXIST)
		fatal("%s", dir);
	/* The controller's own lock (db_open): held from here to the end. */
	snprintf(lock, sizeof(lock), "%s/controller.lock", dir);
	if ((lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) == -1)
		fatal("%s", lock);
	if (flock(lock_fd, LOCK_EX | LOCK_NB) == -1) {
		if (errno == EWOULDBLOCK)
			fatalx("%s: a controller is running on this data directory (it holds "
			    "%s): stop it before restoring", dir, lock);
		fatal("%s", lock);
	}
	if (file_info(file, true, &in, err, sizeof(err)) < 0)
		fatalx("%s", err);
	snprintf(data, sizeof(data), "%s/data.mdb", dir);

	/* The copy is regenerated aside, then renamed over data.mdb in one step. */
	snprintf(tmpdir, sizeof(tmpdir), "%s/restore.tmp", dir);
	snprintf(tmpdata, sizeof(tmpdata), "%s/data.mdb", tmpdir);
	remove_in(tmpdir, "data.mdb");
	remove_in(tmpdir, "lock.mdb");
	remove_in(tmpdir, "controller.lock");
	if (mkdir(tmpdir, 0700) == -1 && errno != EEXIST)
		fatal("%s", tmpdir);
	if (copy_file(file, tmpdata, err, sizeof(err)) < 0)
		fatalx("%s", err);
	if (db_open(&tdb, tmpdir, map_size, log_retention, err, sizeof(err)) < 0)
		fatalx("%s", err);
	/*
	 * The log goes on at the backup's next seq: seqs a lost history handed out come
	 * again, of another epoch, and a rule-store that applied them gets a snapshot for
	 * its epoch, whatever its seq (docs/controller.md says why the seq no longer jumps).
	 */
	if (regenerate(&tdb, in.next_seq, &r, err, sizeof(err)) < 0) {
		db_close(&tdb);
		fatalx("%s", err);
	}
	db_close(&tdb);
	remove_in(tmpdir, "lock.mdb");
	remove_in(tmpdir, "controller.lock");
	if (rename(tmpdata, data) == -1)
		fatal("cannot rename %s to %s", tmpdata, data);
	/* The old environment's reader table: the next controller makes it anew. */
	remove_in(dir, "lock.mdb");
	rmdir(tmpdir);
	if (sync_dir(dir) < 0)
		fatal("%s: cannot sync the directory", dir);
	close(lock_fd);

	printf("restored %s into %s (the backup: log seq %llu, epoch %016llx):\n", file, dir,
	    (unsigned long long)(in.next_seq - 1), (unsigned long long)in.epoch);
	printf("  %llu VPC%s, each with a new generation and its version kept: a learner "
	    "holding one relearns it\n", (unsigned long long)r.vpcs, r.vpcs == 1 ? "" : "s");
	printf("  %llu hosts, %llu VMs, %llu rules (%llu tombstones dropped with the log)\n",
	    (unsigned long long)in.hosts, (unsigned long long)in.vms,
	    (unsigned long long)(in.rules - r.tombstones), (unsigned long long)r.tombstones);
	printf("  log emptied, going on at seq %llu\n", (unsigned long long)r.seq);
	printf("  epoch %016llx: the history this data directory holds from now on (a "
	    "rule-store of another loads a snapshot)\n", (unsigned long long)r.epoch);
	return 0;
}
