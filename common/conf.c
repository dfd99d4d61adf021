/*
 * conf: see conf.h. A setting that a getter has read is marked through libconfig's
 * per-setting hook, which is how conf_check_unused() tells typos from tunables.
 */
#include "common/conf.h"
#include "common/addr.h"
#include "common/conf_scan.h"
#include "common/log.h"
#include "common/net.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libconfig.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct conf {
	config_t cf;
	char name[256];
	char err[512];
};

static char load_err[512];
static char used_mark;	/* the hook value of a setting that was read */

/* text[0..len): conf_scan first (its errors name the line and setting), then libconfig. */
static struct conf *
conf_parse(const char *text, size_t len, const char *name)
{
	struct conf_scan_err se;
	struct conf *c;
	char *scanned;

	if (len > CONF_SIZE_MAX) {
		snprintf(load_err, sizeof(load_err), "%s: larger than %d KiB: not a node's "
		    "configuration", name, CONF_SIZE_MAX / 1024);
		return NULL;
	}
	if (conf_scan(text, len, &scanned, &se) < 0) {
		if (se.line > 0)
			snprintf(load_err, sizeof(load_err), "%s:%d: %s", name, se.line, se.msg);
		else
			snprintf(load_err, sizeof(load_err), "%s: %s", name, se.msg);
		return NULL;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		snprintf(load_err, sizeof(load_err), "%s: out of memory", name);
		free(scanned);
		return NULL;
	}
	snprintf(c->name, sizeof(c->name), "%s", name);
	config_init(&c->cf);
	if (config_read_string(&c->cf, scanned) != CONFIG_TRUE) {
		snprintf(load_err, sizeof(load_err), "%s:%d: %s", name,
		    config_error_line(&c->cf), config_error_text(&c->cf));
		config_destroy(&c->cf);
		free(c);
		c = NULL;
	}
	free(scanned);
	return c;
}

/*
 * The file is read here rather than by libconfig: a directory or a FIFO gets its own
 * error (libconfig says "Success" for a directory), and a file past CONF_SIZE_MAX is
 * refused before libconfig spends minutes on it.
 */
struct conf *
conf_load(const char *path)
{
	struct conf *c = NULL;
	struct stat st;
	char *text = NULL;
	size_t len = 0;
	ssize_t n;
	int fd;

	/* O_NONBLOCK: opening a FIFO must not wait for a writer. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) < 0 || fstat(fd, &st) < 0) {
		snprintf(load_err, sizeof(load_err), "%s: cannot read: %s", path,
		    strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(load_err, sizeof(load_err), "%s: cannot read: %s", path,
		    S_ISDIR(st.st_mode) ? "a directory" : "not a regular file");
		goto out;
	}
	if (st.st_size > CONF_SIZE_MAX) {
		snprintf(load_err, sizeof(load_err), "%s: larger than %d KiB: not a node's "
		    "configuration", path, CONF_SIZE_MAX / 1024);
		goto out;
	}
	/* One byte more than allowed: a file that grew since fstat is caught too. */
	if ((text = malloc(CONF_SIZE_MAX + 1)) == NULL) {
		snprintf(load_err, sizeof(load_err), "%s: out of memory", path);
		goto out;
	}
	while (len <= CONF_SIZE_MAX &&
	    (n = read(fd, text + len, CONF_SIZE_MAX + 1 - len)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(load_err, sizeof(load_err), "%s: cannot read: %s", path,
			    strerror(errno));
			goto out;
		}
		len += (size_t)n;
	}
	c = conf_parse(text, len, path);
out:
	free(text);
	if (fd >= 0)
		close(fd);
	return c;
}

struct conf *
conf_load_string(const char *text, const char *name)
{
	return conf_parse(text, strnlen(text, CONF_SIZE_MAX + 1), name);
}

const char *
conf_load_error(void)
{
	return load_err;
}

void
conf_free(struct conf *c)
{
	if (c == NULL)
		return;
	config_destroy(&c->cf);
	free(c);
}

const char *
conf_error(const struct conf *c)
{
	return c->err;
}

const char *
conf_path(const struct conf *c)
{
	return c->name;
}

static int
conf_fail(struct conf *c, const config_setting_t *s, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (s)
		n = snprintf(c->err, sizeof(c->err), "%s:%d: ", c->name,
		    config_setting_source_line(s));
	else
		n = snprintf(c->err, sizeof(c->err), "%s: ", c->name);
	va_start(ap, fmt);
	vsnprintf(c->err + n, sizeof(c->err) - n, fmt, ap);
	va_end(ap);
	return -1;
}

static config_setting_t *
conf_find(struct conf *c, const char *path)
{
	config_setting_t *s = config_lookup(&c->cf, path);

	/* The groups on the path were used too ("syncd.tls.cert" uses syncd.tls). */
	for (config_setting_t *p = s; p && !config_setting_is_root(p);
	    p = config_setting_parent(p))
		config_setting_set_hook(p, &used_mark);
	return s;
}

static int
conf_verror_at(struct conf *c, const char *path, const char *fmt, va_list ap)
{
	char msg[384];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	return conf_fail(c, config_lookup(&c->cf, path), "%s", msg);
}

int
conf_error_at(struct conf *c, const char *path, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = conf_verror_at(c, path, fmt, ap);
	va_end(ap);
	return rc;
}

size_t
conf_endpoints(struct conf *c, const char *path, struct sockaddr_in *addrs, size_t max,
    const char *example)
{
	const char **list = calloc(max, sizeof(*list));
	size_t n;

	if (list == NULL)
		fatalx("%s: %s: out of memory", c->name, path);
	if (conf_get_str_list(c, path, list, max, &n) < 0)
		fatalx("%s", conf_error(c));
	if (n == 0)
		fatalx("%s: %s must list at least one \"a.b.c.d:port\": %s", c->name, path,
		    example);
	for (size_t i = 0; i < n; i++)
		if (net_endpoint_parse(list[i], &addrs[i], 0) < 0)
			conf_fatal_at(c, path, "%s[%zu] must be \"a.b.c.d:port\", not \"%s\"",
			    path, i, list[i]);
	free(list);
	return n;
}

void
conf_fatal_at(struct conf *c, const char *path, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)conf_verror_at(c, path, fmt, ap);
	va_end(ap);
	fatalx("%s", conf_error(c));
}

int
conf_get_int(struct conf *c, const char *path, int64_t def, int64_t min, int64_t max,
    int64_t *out)
{
	config_setting_t *s = conf_find(c, path);
	int64_t v;

	if (s == NULL) {
		*out = def;
		return 0;
	}
	if (config_setting_type(s) != CONFIG_TYPE_INT &&
	    config_setting_type(s) != CONFIG_TYPE_INT64)
		return conf_fail(c, s, "%s must be an integer in %" PRId64 "..%" PRId64, path,
		    min, max);
	v = config_setting_get_int64(s);
	if (v < min || v > max)
		return conf_fail(c, s, "%s must be %" PRId64 "..%" PRId64 ", not %" PRId64,
		    path, min, max, v);
	*out = v;
	return 0;
}

int
conf_get_bool(struct conf *c, const char *path, bool def, bool *out)
{
	config_setting_t *s = conf_find(c, path);

	if (s == NULL) {
		*out = def;
		return 0;
	}
	if (config_setting_type(s) != CONFIG_TYPE_BOOL)
		return conf_fail(c, s, "%s must be true or false", path);
	*out = config_setting_get_bool(s);
	return 0;
}

int
conf_get_str(struct conf *c, const char *path, const char *def, const char **out)
{
	config_setting_t *s = conf_find(c, path);

	if (s == NULL) {
		*out = def;
		return 0;
	}
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return conf_fail(c, s, "%s must be a string", path);
	*out = config_setting_get_string(s);
	return 0;
}

int
conf_get_str_list(struct conf *c, const char *path, const char **out, size_t max,
    size_t *n)
{
	config_setting_t *s = conf_find(c, path);
	int len;

	*n = 0;
	if (s == NULL)
		return 0;
	if (config_setting_type(s) == CONFIG_TYPE_STRING) {
		out[(*n)++] = config_setting_get_string(s);
		return 0;
	}
	if (config_setting_type(s) != CONFIG_TYPE_ARRAY &&
	    config_setting_type(s) != CONFIG_TYPE_LIST)
		return conf_fail(c, s, "%s must be a list of strings: [\"a\", \"b\"]", path);
	len = config_setting_length(s);
	if (len < 1 || (size_t)len > max)
		return conf_fail(c, s, "%s must hold 1..%zu strings", path, max);
	for (int i = 0; i < len; i++) {
		config_setting_t *e = config_setting_get_elem(s, i);

		if (config_setting_type(e) != CONFIG_TYPE_STRING)
			return conf_fail(c, s, "%s must be a list of strings", path);
		out[(*n)++] = config_setting_get_string(e);
	}
	return 0;
}

/* "250ms" -> ns; -1 when not a number with a known unit (or it overflows). */
static int
duration_parse(const char *str, uint64_t *ns)
{
	static const struct { const char *unit; uint64_t ns; } units[] = {
		{ "ns", 1 }, { "us", 1000 }, { "ms", 1000000 }, { "s", 1000000000ull },
		{ "m", 60000000000ull }, { "h", 3600000000000ull }, { "d", 86400000000000ull },
	};
	char *end;
	unsigned long long v;

	if (*str < '0' || *str > '9')
		return -1;
	errno = 0;
	v = strtoull(str, &end, 10);
	if (errno)
		return -1;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(end, units[i].unit) == 0) {
			if (v > UINT64_MAX / units[i].ns)
				return -1;
			*ns = v * units[i].ns;
			return 0;
		}
	}
	return -1;
}

int
conf_get_duration(struct conf *c, const char *path, uint64_t def_ns, uint64_t min_ns,
    uint64_t max_ns, uint64_t *out_ns)
{
	config_setting_t *s = conf_find(c, path);
	uint64_t v;

	if (s == NULL) {
		*out_ns = def_ns;
		return 0;
	}
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64: {
		int64_t secs = config_setting_get_int64(s);

		if (secs < 0 || (uint64_t)secs > UINT64_MAX / 1000000000ull)
			goto bad;
		v = (uint64_t)secs * 1000000000ull;
		break;
	}
	case CONFIG_TYPE_STRING:
		if (duration_parse(config_setting_get_string(s), &v) < 0)
			goto bad;
		break;
	default:
		goto bad;
	}
	if (v < min_ns || v > max_ns)
		return conf_fail(c, s, "%s must be between %" PRIu64 "ms and %" PRIu64 "ms",
		    path, min_ns / 1000000, max_ns / 1000000);
	*out_ns = v;
	return 0;
bad:
	return conf_fail(c, s, "%s must be a duration such as \"250ms\", \"5s\", \"5d\" "
	    "(or an integer number of seconds)", path);
}

/* Settings in g (named prefix) and in the groups inside it that no getter read. */
static int
check_group(struct conf *c, config_setting_t *g, const char *prefix, bool scalars_only)
{
	int n = config_setting_length(g);
	char path[256];

	for (int i = 0; i < n; i++) {
		config_setting_t *s = config_setting_get_elem(g, i);

		if (scalars_only && config_setting_is_group(s))
			continue;
		snprintf(path, sizeof(path), "%s%s%s", prefix, *prefix ? "." : "",
		    config_setting_name(s));
		if (config_setting_get_hook(s) != &used_mark)
			return conf_fail(c, s, "unknown setting '%s'", path);
		if (config_setting_is_group(s) && check_group(c, s, path, false) < 0)
			return -1;
	}
	return 0;
}

/*
 * The groups of a node's file: one per process (procs/<proc>/main.c reads its own) and
 * vpcfwd-supervise's. A process refuses any other, so that a misspelt group is an error
 * in every process instead of one process running on its defaults.
 */
static const char *const conf_groups[] = {
	"controller", "rule_store", "syncd", "learner", "forwarder", "supervise",
};

static int
check_top_groups(struct conf *c)
{
	config_setting_t *root = config_root_setting(&c->cf);
	int n = config_setting_length(root);

	for (int i = 0; i < n; i++) {
		config_setting_t *s = config_setting_get_elem(root, i);
		const char *name = config_setting_name(s);
		bool known = false;

		for (size_t k = 0; k < sizeof(conf_groups) / sizeof(conf_groups[0]); k++)
			known |= strcmp(name, conf_groups[k]) == 0;
		if (known && !config_setting_is_group(s))
			return conf_fail(c, s, "%s must be a group: %s = { ... };", name, name);
		if (!known && config_setting_is_group(s))
			return conf_fail(c, s, "unknown group '%s' (a node's groups are "
			    "controller, rule_store, syncd, learner, forwarder, supervise)", name);
	}
	return 0;
}

int
conf_check_unused(struct conf *c, const char *section)
{
	config_setting_t *g = section ? config_lookup(&c->cf, section) : NULL;

	/* Before the top-level scalars, which would call it an unknown setting. */
	if (g && !config_setting_is_group(g))
		return conf_fail(c, g, "%s must be a group: %s = { ... };", section, section);
	if (check_top_groups(c) < 0)
		return -1;
	if (check_group(c, config_root_setting(&c->cf), "", true) < 0)
		return -1;
	return g ? check_group(c, g, section, false) : 0;
}

int64_t
conf_int(struct conf *c, const char *path, int64_t def, int64_t min, int64_t max)
{
	int64_t v = def;

	if (conf_get_int(c, path, def, min, max, &v) < 0)
		fatalx("%s", c->err);
	return v;
}

bool
conf_bool(struct conf *c, const char *path, bool def)
{
	bool v = def;

	if (conf_get_bool(c, path, def, &v) < 0)
		fatalx("%s", c->err);
	return v;
}

const char *
conf_str(struct conf *c, const char *path, const char *def)
{
	const char *v = def;

	if (conf_get_str(c, path, def, &v) < 0)
		fatalx("%s", c->err);
	return v;
}

uint64_t
conf_duration(struct conf *c, const char *path, uint64_t def_ns, uint64_t min_ns,
    uint64_t max_ns)
{
	uint64_t v = def_ns;

	if (conf_get_duration(c, path, def_ns, min_ns, max_ns, &v) < 0)
		fatalx("%s", c->err);
	return v;
}

void
conf_done(struct conf *c, const char *section)
{
	if (conf_check_unused(c, section) < 0)
		fatalx("%s", c->err);
}

void
conf_read_common(struct conf *c, struct conf_common *out)
{
	config_setting_t *s;
	const char *lvl;

	out->node = conf_str(c, "node", NULL);
	if (out->node == NULL)
		fatalx("%s: node must be set: node = \"gw1\";", c->name);
	if (!addr_part_valid(out->node)) {
		s = config_lookup(&c->cf, "node");
		fatalx("%s:%d: node must be 1..%d characters of [a-z0-9_-]", c->name,
		    config_setting_source_line(s), ADDR_PART_MAX);
	}
	lvl = conf_str(c, "log_level", "info");
	out->log_level = log_level_parse(lvl);
	if (out->log_level < 0) {
		s = config_lookup(&c->cf, "log_level");
		fatalx("%s:%d: log_level must be error, warn, info or debug", c->name,
		    config_setting_source_line(s));
	}
	out->log_format = log_format_parse(conf_str(c, "log_format", "text"));
	if (out->log_format < 0) {
		s = config_lookup(&c->cf, "log_format");
		fatalx("%s:%d: log_format must be text or json", c->name,
		    config_setting_source_line(s));
	}
}
