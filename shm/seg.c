/*
 * seg: see seg.h. Invariant: a segment whose magic is set has a complete header; the
 * owner lock is held by exactly the process named in owner_pid while it runs.
 */
#include "shm/seg.h"
#include "common/clock.h"

#include <ck_pr.h>
#include <dirent.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static int
seg_fail(struct seg *s, int err, const char *fmt, ...)
{
	va_list ap;
	int n;

	n = snprintf(s->err, sizeof(s->err), "%s/%s: ", SEG_DIR, s->name);
	va_start(ap, fmt);
	vsnprintf(s->err + n, sizeof(s->err) - n, fmt, ap);
	va_end(ap);
	return -err;
}

int
seg_name(char *buf, size_t len, const char *node, const char *proc, const char *what)
{
	if (!addr_part_valid(node) || !addr_part_valid(proc) || !addr_part_valid(what))
		return -EINVAL;
	if ((size_t)snprintf(buf, len, SEG_PREFIX "%s.%s.%s", node, proc, what) >= len)
		return -ENAMETOOLONG;
	return 0;
}

bool
seg_name_parse(const char *name, struct seg_ent *e)
{
	struct seg_ent t;
	char *part[] = { t.node, t.proc, t.what };
	const char *p, *end;
	size_t n;

	if (strncmp(name, SEG_PREFIX, strlen(SEG_PREFIX)) != 0 || strlen(name) >= sizeof(t.name))
		return false;
	p = name + strlen(SEG_PREFIX);
	for (int i = 0; i < 3; i++) {
		end = i < 2 ? strchr(p, '.') : p + strlen(p);
		if (end == NULL || (n = end - p) > SEG_PART_MAX)
			return false;
		memcpy(part[i], p, n);
		part[i][n] = '\0';
		/* Also refuses a dot: the last part cannot hide a fourth. */
		if (!addr_part_valid(part[i]))
			return false;
		p = end + 1;
	}
	snprintf(t.name, sizeof(t.name), "%s", name);
	*e = t;
	return true;
}

static int
seg_ent_cmp(const void *a, const void *b)
{
	const struct seg_ent *x = a, *y = b;
	int r;

	if ((r = strcmp(x->node, y->node)) != 0 || (r = strcmp(x->proc, y->proc)) != 0)
		return r;
	return strcmp(x->what, y->what);
}

int
seg_list(const char *node, const char *what, struct seg_ent **out)
{
	struct seg_ent *v = NULL, *nv, e;
	size_t n = 0, cap = 0;
	struct dirent *d;
	DIR *dir;
	int r = 0;

	*out = NULL;
	if ((dir = opendir(SEG_DIR)) == NULL)
		return -errno;
	while ((errno = 0, d = readdir(dir)) != NULL) {
		/* DT_UNKNOWN: a file system that does not say; shm_open makes regular files. */
		if ((d->d_type != DT_REG && d->d_type != DT_UNKNOWN) ||
		    !seg_name_parse(d->d_name, &e) || (node && strcmp(e.node, node) != 0) ||
		    (what && strcmp(e.what, what) != 0))
			continue;
		if (n == INT_MAX) {
			r = -EOVERFLOW;
			break;
		}
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			if ((nv = reallocarray(v, cap, sizeof(*v))) == NULL) {
				r = -ENOMEM;
				break;
			}
			v = nv;
		}
		v[n++] = e;
	}
	if (r == 0 && errno)
		r = -errno;
	closedir(dir);
	if (r < 0) {
		free(v);
		return r;
	}
	if (n)
		qsort(v, n, sizeof(*v), seg_ent_cmp);
	*out = v;
	return (int)n;
}

static int
seg_lock(int fd, short cmd_type, int cmd)
{
	struct flock fl = { .l_type = cmd_type, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1 };

	if (fcntl(fd, cmd, &fl) == -1)
		return -errno;
	if (cmd == F_OFD_GETLK)
		return fl.l_type != F_UNLCK;
	return 0;
}

/* Check every header field against what the caller expects. */
static int
seg_check(struct seg *s, uint32_t kind, uint32_t layout, size_t want_size, size_t file_size)
{
	const struct seg_hdr *h = s->hdr;
	uint64_t now = clock_real_ns();

	if (ck_pr_load_32(&h->magic) != SEG_MAGIC)
		return seg_fail(s, EPROTO, "bad magic %#x (not a vpcfwd segment, or its creator "
		    "died before it was initialised); remove it", h->magic);
	ck_pr_fence_load();	/* pairs with the release store of magic in seg_create */
	if (h->kind != kind)
		return seg_fail(s, EPROTO, "segment kind %#x, expected %#x", h->kind, kind);
	if (h->layout != layout)
		return seg_fail(s, EPROTO, "layout version %u, expected %u (built by another "
		    "version of vpcfwd; stop its owner and remove it)", h->layout, layout);
	if (h->hdr_size != sizeof(struct seg_hdr))
		return seg_fail(s, EPROTO, "header size %u, expected %zu", h->hdr_size,
		    sizeof(struct seg_hdr));
	if (h->size != file_size)
		return seg_fail(s, EPROTO, "header says %llu bytes but the file has %zu",
		    (unsigned long long)h->size, file_size);
	if (want_size && h->size != want_size)
		return seg_fail(s, EPROTO, "size %llu bytes, expected %zu (its configuration "
		    "changed? stop its owner and remove it)", (unsigned long long)h->size,
		    want_size);
	if (h->owner_pid <= 0)
		return seg_fail(s, EPROTO, "no owner pid recorded");
	if (h->start_ns == 0 || h->created_ns == 0 || h->start_ns < h->created_ns ||
	    h->start_ns > now + 60ull * 1000000000u)
		return seg_fail(s, EPROTO, "implausible start time");
	if (h->heartbeat_ns == 0)
		return seg_fail(s, EPROTO, "owner never wrote a heartbeat");
	return 0;
}

static int
seg_map(struct seg *s, size_t size, bool readonly)
{
	void *p = mmap(NULL, size, readonly ? PROT_READ : PROT_READ | PROT_WRITE, MAP_SHARED,
	    s->fd, 0);

	if (p == MAP_FAILED)
		return seg_fail(s, errno, "mmap %zu bytes: %s", size, strerror(errno));
	s->base = p;
	s->hdr = p;
	s->size = size;
	s->readonly = readonly;
	return 0;
}

static void
seg_reset(struct seg *s)
{
	memset(s, 0, sizeof(*s));
	s->fd = -1;
}

int
seg_create(struct seg *s, const char *node, const char *proc, const char *what,
    uint32_t kind, uint32_t layout, size_t size)
{
	struct seg_hdr *h;
	struct stat st;
	char path[SEG_NAME_MAX + 1];
	int r;

	seg_reset(s);
	if (seg_name(s->name, sizeof(s->name), node, proc, what) < 0) {
		snprintf(s->err, sizeof(s->err), "bad segment name parts '%s' '%s' '%s': use "
		    "1..%d of [a-z0-9_-]", node, proc, what, SEG_PART_MAX);
		return -EINVAL;
	}
	if (size < sizeof(struct seg_hdr))
		return seg_fail(s, EINVAL, "size %zu is smaller than the header", size);
	snprintf(path, sizeof(path), "/%s", s->name);
	s->fd = shm_open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (s->fd == -1)
		return seg_fail(s, errno, "open: %s", strerror(errno));
	r = seg_lock(s->fd, F_WRLCK, F_OFD_SETLK);
	if (r < 0) {
		struct seg_hdr peek = { 0 };

		/* Only to name the owner in the error; a short read leaves pid 0. */
		(void)!pread(s->fd, &peek, sizeof(peek), 0);
		close(s->fd);
		s->fd = -1;
		if (r == -EAGAIN || r == -EACCES)
			return seg_fail(s, EBUSY, "owned by a running process (pid %d)",
			    (int)peek.owner_pid);
		return seg_fail(s, -r, "lock: %s", strerror(-r));
	}
	s->owner = true;
	if (fstat(s->fd, &st) == -1) {
		r = seg_fail(s, errno, "fstat: %s", strerror(errno));
		goto fail;
	}
	if (st.st_size == 0) {
		s->created = true;
		if (ftruncate(s->fd, size) == -1) {
			r = seg_fail(s, errno, "grow to %zu bytes: %s", size, strerror(errno));
			goto fail;
		}
	} else if ((size_t)st.st_size != size) {
		r = seg_fail(s, EPROTO, "has %lld bytes, expected %zu (its configuration changed? "
		    "stop its owner and remove it)", (long long)st.st_size, size);
		goto fail;
	}
	if ((r = seg_map(s, size, false)) < 0)
		goto fail;
	h = s->hdr;
	if (!s->created && ck_pr_load_32(&h->magic) != SEG_MAGIC) {
		/* The last creator died before publishing: nothing in it was ever used. */
		memset(s->base, 0, size);
		s->created = true;
	}
	if (!s->created) {
		if ((r = seg_check(s, kind, layout, size, size)) < 0)
			goto fail;
	} else {
		h->kind = kind;
		h->layout = layout;
		h->hdr_size = sizeof(*h);
		h->size = size;
		h->created_ns = clock_real_ns();
		snprintf(h->node, sizeof(h->node), "%s", node);
		snprintf(h->proc, sizeof(h->proc), "%s", proc);
		snprintf(h->what, sizeof(h->what), "%s", what);
	}
	h->owner_pid = getpid();
	h->owner_starts++;
	h->start_ns = clock_real_ns();
	seg_heartbeat(s);
	if (s->created) {
		/* Publish last: an attacher that sees the magic sees a whole header. */
		ck_pr_fence_store();
		ck_pr_store_32(&h->magic, SEG_MAGIC);
	}
	return 0;
fail:
	seg_detach(s);
	return r;
}

int
seg_attach(struct seg *s, const char *name, uint32_t kind, uint32_t layout, size_t size,
    int flags)
{
	bool ro = flags & SEG_RDONLY;
	char path[SEG_NAME_MAX + 1];
	struct stat st;
	int r;

	seg_reset(s);
	snprintf(s->name, sizeof(s->name), "%s", name);
	snprintf(path, sizeof(path), "/%s", name);
	s->fd = shm_open(path, (ro ? O_RDONLY : O_RDWR) | O_CLOEXEC, 0);
	if (s->fd == -1) {
		if (errno == ENOENT)
			return seg_fail(s, ENOENT, "no such segment (is its owner running?)");
		return seg_fail(s, errno, "open: %s", strerror(errno));
	}
	if (fstat(s->fd, &st) == -1) {
		r = seg_fail(s, errno, "fstat: %s", strerror(errno));
		goto fail;
	}
	if ((size_t)st.st_size < sizeof(struct seg_hdr)) {
		r = seg_fail(s, EPROTO, "%lld bytes, too small for a segment header",
		    (long long)st.st_size);
		goto fail;
	}
	if ((r = seg_map(s, st.st_size, ro)) < 0)
		goto fail;
	if ((r = seg_check(s, kind, layout, size, st.st_size)) < 0)
		goto fail;
	return 0;
fail:
	seg_detach(s);
	return r;
}

int
seg_kind_read(const char *name, uint32_t *kind)
{
	char path[SEG_NAME_MAX + 1];
	struct seg_hdr h;
	ssize_t n;
	int fd, e;

	if (snprintf(path, sizeof(path), "/%s", name) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	if ((fd = shm_open(path, O_RDONLY | O_CLOEXEC, 0)) == -1)
		return -errno;
	n = pread(fd, &h, sizeof(h), 0);
	e = errno;
	close(fd);
	if (n < 0)
		return -e;
	if ((size_t)n < sizeof(h) || h.magic != SEG_MAGIC)
		return -EPROTO;
	*kind = h.kind;
	return 0;
}

void
seg_detach(struct seg *s)
{
	if (s->base)
		munmap(s->base, s->size);
	if (s->fd >= 0)
		close(s->fd);	/* drops the owner lock with the last descriptor */
	s->base = NULL;
	s->hdr = NULL;
	s->fd = -1;
	s->owner = false;
}

int
seg_unlink_name(const char *name)
{
	char path[SEG_NAME_MAX + 1];

	snprintf(path, sizeof(path), "/%s", name);
	return shm_unlink(path) == -1 ? -errno : 0;
}

void
seg_heartbeat(struct seg *s)
{
	ck_pr_store_64(&s->hdr->heartbeat_ns, clock_mono_ns());
}

int
seg_owner_alive(const struct seg *s)
{
	if (s->owner)
		return 1;
	return seg_lock(s->fd, F_WRLCK, F_OFD_GETLK);
}

const char *
seg_owner_state(const struct seg *s)
{
	int alive = seg_owner_alive(s);

	if (alive < 0) {
		warnx("%s/%s: cannot tell whether its owner runs: %s", SEG_DIR, s->name,
		    strerror(-alive));
		return "unknown";
	}
	return alive ? "running" : "STALE";
}

uint64_t
seg_heartbeat_age(const struct seg *s, uint64_t now)
{
	/* Relaxed, as seg_heartbeat stores it: an age needs no ordering. */
	uint64_t hb = ck_pr_load_64(&s->hdr->heartbeat_ns);

	return now > hb ? now - hb : 0;
}
