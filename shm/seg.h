/*
 * seg: named shared-memory segments under /dev/shm, one per (node, process, thing):
 * "vpcfwd.<node>.<proc>.<what>", e.g. vpcfwd.gw1.rule-store.table.
 *
 * Every segment starts with struct seg_hdr. The owner (the one process that writes the
 * segment's header and heartbeat) holds an OFD write lock on the segment file for its
 * whole life, so a second owner is refused and a dead owner is visible to anyone who
 * asks (seg_owner_alive) without trusting a pid that may have been reused. An owner
 * that restarts re-attaches its segment and keeps its contents; an attacher checks the
 * whole header and refuses a segment of another kind, layout or size. Tools find the
 * segments by their file names alone (seg_list), without attaching.
 */
#ifndef SHM_SEG_H
#define SHM_SEG_H

#include "common/addr.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SEG_MAGIC	0x46435056u	/* "VPCF" */
#define SEG_DIR		"/dev/shm"
#define SEG_PREFIX	"vpcfwd."
#define SEG_NAME_MAX	128		/* "vpcfwd.<node>.<proc>.<what>" */
#define SEG_PART_MAX	ADDR_PART_MAX	/* node, proc and what: addr_part_valid */

/* Per-kind magics: the second word of every header. */
#define SEG_KIND_TABLE	0x4c425354u	/* "TSBL" */
#define SEG_KIND_RING	0x474e4952u	/* "RING" */
#define SEG_KIND_STATS	0x54415453u	/* "STAT" */
#define SEG_KIND_PORTS	0x54524f50u	/* "PORT" */
#define SEG_KIND_VTEPS	0x50455456u	/* "VTEP" */
#define SEG_KIND_TEST	0x54534554u	/* "TEST", unit tests only */

struct seg_hdr {
	uint32_t magic;		/* SEG_MAGIC, stored last (release) when created */
	uint32_t kind;		/* SEG_KIND_* */
	uint32_t layout;	/* layout version of that kind */
	uint32_t hdr_size;	/* sizeof(struct seg_hdr) */
	uint64_t size;		/* whole segment, bytes */
	int32_t owner_pid;
	uint32_t owner_starts;	/* how many times an owner attached (1 = never restarted) */
	uint64_t created_ns;	/* CLOCK_REALTIME when first created */
	uint64_t start_ns;	/* CLOCK_REALTIME when the current owner attached */
	uint64_t heartbeat_ns;	/* CLOCK_MONOTONIC, stored by the owner (relaxed) */
	char node[SEG_PART_MAX + 1];
	char proc[SEG_PART_MAX + 1];
	char what[SEG_PART_MAX + 1];
	uint8_t _pad[8];
};
_Static_assert(sizeof(struct seg_hdr) == 160, "seg_hdr layout changed");

struct seg {
	struct seg_hdr *hdr;	/* == base */
	void *base;
	size_t size;
	int fd;
	bool owner;		/* we hold the owner lock */
	bool created;		/* owner only: contents are new (zeroed), not re-attached */
	bool readonly;
	char name[SEG_NAME_MAX];
	char err[256];		/* why the last call failed, one line, names the segment */
};

/* A segment found in SEG_DIR, named by its file: "vpcfwd.<node>.<proc>.<what>". */
struct seg_ent {
	char name[SEG_NAME_MAX];
	char node[SEG_PART_MAX + 1];
	char proc[SEG_PART_MAX + 1];
	char what[SEG_PART_MAX + 1];
};

/*
 * Build "vpcfwd.<node>.<proc>.<what>": -EINVAL when a part is not valid, -ENAMETOOLONG when
 * buf is too short.
 */
int seg_name(char *buf, size_t len, const char *node, const char *proc, const char *what);
/* Split "vpcfwd.<node>.<proc>.<what>" into e; false (e untouched) for any other name. */
bool seg_name_parse(const char *name, struct seg_ent *e);
/*
 * Every segment in SEG_DIR (a regular file with a valid name) of node and of what (NULL:
 * any), sorted by node, then proc, then what. Returns how many, with *out malloc'd for the
 * caller to free (NULL when none), or a negative errno when SEG_DIR cannot be read.
 */
int seg_list(const char *node, const char *what, struct seg_ent **out);

/*
 * Become the owner of a segment: create it (zeroed, created = true) or re-attach an
 * existing one of the same kind, layout and size, keeping its contents. Refused with
 * -EBUSY when a live owner holds it and -EPROTO when it has another kind, layout or size.
 * The owner's pid, start time and heartbeat are set; the magic is published last.
 */
int seg_create(struct seg *s, const char *node, const char *proc, const char *what,
    uint32_t kind, uint32_t layout, size_t size);

#define SEG_RDONLY	0x1	/* map read-only (stats readers, dumps) */

/*
 * Attach as a non-owner. size 0 accepts any size the header declares (the caller then
 * checks its own layout); otherwise the segment must be exactly that size.
 */
int seg_attach(struct seg *s, const char *name, uint32_t kind, uint32_t layout, size_t size,
    int flags);
void seg_detach(struct seg *s);
/*
 * The kind (SEG_KIND_*) a segment's header declares, read from the file without mapping
 * it: for tools that look at segments of every kind. 0, or a negative errno (-EPROTO: no
 * vpcfwd header, -ENOENT: gone). Attach it afterwards to trust anything else.
 */
int seg_kind_read(const char *name, uint32_t *kind);
int seg_unlink_name(const char *name);

/* Owner only: store the heartbeat (monotonic ns). */
void seg_heartbeat(struct seg *s);
/* 1 when some process holds the owner lock, 0 when none, negative errno on error. */
int seg_owner_alive(const struct seg *s);
/*
 * For tools: "running" when the owner lock is held, "STALE" when nobody holds it (its owner
 * died), "unknown" after saying why on stderr (warnx) when seg_owner_alive fails.
 */
const char *seg_owner_state(const struct seg *s);
/* Nanoseconds from the last heartbeat to now (CLOCK_MONOTONIC ns); 0 when now is earlier. */
uint64_t seg_heartbeat_age(const struct seg *s, uint64_t now);
/* Offset from the base of the segment <-> pointer, for layouts that hold offsets. */
static inline void *
seg_ptr(const struct seg *s, uint64_t off)
{
	return (char *)s->base + off;
}

#endif
