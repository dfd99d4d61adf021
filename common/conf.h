/*
 * conf: typed access to a node's libconfig file. One file holds the settings of all of
 * a node's processes, one group per process ("syncd = { port = 4790; };") plus a few
 * top-level settings every process reads (node, log_level, log_format).
 *
 * Getters take a full path ("syncd.port"), a default and a range. A missing setting
 * yields the default; a setting of the wrong type or out of range is an error that
 * names the file, the line and the setting. The conf_* forms exit through fatalx() on
 * an error (what a process wants at start-up, before it touches any state); the
 * conf_get_* forms return -1 and leave the message in conf_error() (for tests, tools).
 * conf_done() then refuses settings in the process's group that nothing read, and a
 * top-level group that is no process's, so a typo is an error instead of a silently
 * ignored tunable.
 *
 * Loading is strict too (conf_scan.h): a file that is not a regular file or is larger
 * than CONF_SIZE_MAX, a comment or string never closed, an integer past 64 bits, a
 * setting named twice in a group and @include are refused with the file and line. An
 * integer is read with its true value whatever its size (libconfig would wrap one past
 * 32 bits written without an L), so the getters' range checks see what the file says.
 */
#ifndef COMMON_CONF_H
#define COMMON_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct conf;

/* A node's file is a few KiB; libconfig takes seconds on a few hundred. */
#define CONF_SIZE_MAX	(256 * 1024)

/* NULL with conf_load_error() set when the file cannot be read or parsed. */
struct conf *conf_load(const char *path);
const char *conf_load_error(void);
/* Parse a configuration held in memory (tests). name is used in messages. */
struct conf *conf_load_string(const char *text, const char *name);
void conf_free(struct conf *c);
const char *conf_error(const struct conf *c);
const char *conf_path(const struct conf *c);

int conf_get_int(struct conf *c, const char *path, int64_t def, int64_t min, int64_t max,
    int64_t *out);
int conf_get_bool(struct conf *c, const char *path, bool def, bool *out);
/* *out points into the configuration; valid until conf_free(). */
int conf_get_str(struct conf *c, const char *path, const char *def, const char **out);
/*
 * A list of strings: ["a", "b"] (or one string, taken as a list of one). Up to max
 * pointers into the configuration go to out; *n gets how many. A missing setting
 * leaves *n = 0.
 */
int conf_get_str_list(struct conf *c, const char *path, const char **out, size_t max,
    size_t *n);
/*
 * A duration: an integer (seconds) or a string of a number and a unit: "250ms", "5s",
 * "10m", "2h", "5d", "100us". Result and range in nanoseconds.
 */
int conf_get_duration(struct conf *c, const char *path, uint64_t def_ns, uint64_t min_ns,
    uint64_t max_ns, uint64_t *out_ns);
/*
 * Record an error about setting `path` that the getters cannot see (a rule between
 * settings, a power of two): "file:line: <message>". Returns -1.
 */
int conf_error_at(struct conf *c, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/*
 * A process's list setting of "a.b.c.d:port" endpoints into addrs (max at most): their
 * count, never 0. Fatal when it is not such a list or is empty, the message showing
 * `example` (`controllers = ["10.0.0.1:7400"];`).
 */
struct sockaddr_in;
size_t conf_endpoints(struct conf *c, const char *path, struct sockaddr_in *addrs,
    size_t max, const char *example);
/* conf_error_at, then fatalx with the message: a process's settings that cannot be. */
void conf_fatal_at(struct conf *c, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), noreturn));
/*
 * Settings of group `section` (and top-level scalars) that no getter asked for, and
 * top-level groups that no process of a node reads.
 */
int conf_check_unused(struct conf *c, const char *section);

int64_t conf_int(struct conf *c, const char *path, int64_t def, int64_t min, int64_t max);
bool conf_bool(struct conf *c, const char *path, bool def);
const char *conf_str(struct conf *c, const char *path, const char *def);
uint64_t conf_duration(struct conf *c, const char *path, uint64_t def_ns, uint64_t min_ns,
    uint64_t max_ns);
void conf_done(struct conf *c, const char *section);

/* Settings every process of a node reads: node name, log level and format. */
struct conf_common {
	const char *node;	/* [a-z0-9_-], names the node's shm segments */
	int log_level;		/* enum log_level */
	int log_format;		/* enum log_format: "text" (default) or "json" */
};
void conf_read_common(struct conf *c, struct conf_common *out);

#endif
