/*
 * log: see log.h. Each line is formatted into one buffer and written with a single
 * write(2), so lines from several processes sharing a log file never interleave. A JSON
 * line is built with jansson (its escaper, no second one here) and dumped into a buffer
 * on the stack; when jansson cannot (out of memory) the text line is written instead,
 * so a line is never lost to the format.
 */
#include "common/log.h"
#include "common/clock.h"
#include "common/json.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

static char log_name[32] = "vpcfwd";
static enum log_level log_level = LOG_LVL_INFO;
static int log_syslog;
static int log_stderr = 1;
static enum log_format log_format = LOG_FMT_TEXT;
static char log_node[64];	/* "" until log_set_node */
static int log_journal;		/* stderr is systemd's journal stream: "<prio>" a line */

/*
 * The message part of a line (vsnprintf's buffer): a JSON line holds it escaped, each
 * byte as at most 6 ("\u001b"), plus the other fields.
 */
#define LOG_MSG_MAX	1024
#define LOG_JSON_MAX	(6 * LOG_MSG_MAX + 512)

static const char *const level_names[] = { "error", "warn", "info", "debug" };

/*
 * systemd sets JOURNAL_STREAM to the device and inode of the stream it connected to
 * stdout/stderr; a line on it that starts "<N>" has syslog priority N in the journal
 * (journalctl -p), else every line would be "info". Only while stderr is still that
 * stream: a shell under the unit may have redirected it.
 */
static int
log_stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	int end = 0;

	if (js == NULL || sscanf(js, "%llu:%llu%n", &dev, &ino, &end) != 2 || js[end] != '\0')
		return 0;
	if (fstat(STDERR_FILENO, &st) == -1)
		return 0;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void
log_init(const char *procname, enum log_level level)
{
	snprintf(log_name, sizeof(log_name), "%s", procname);
	log_level = level;
	log_journal = log_stderr_is_journal();
}

void
log_set_level(enum log_level level)
{
	log_level = level;
}

void
log_set_format(enum log_format fmt)
{
	log_format = fmt;
}

void
log_set_node(const char *node)
{
	snprintf(log_node, sizeof(log_node), "%s", node ? node : "");
}

const char *
log_procname(void)
{
	return log_name;
}

void
log_to_syslog(void)
{
	openlog(log_name, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	log_syslog = 1;
}

void
log_stderr_off(void)
{
	log_stderr = 0;
}

int
log_level_parse(const char *s)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (strcmp(s, level_names[i]) == 0)
			return (int)i;
	return -1;
}

int
log_format_parse(const char *s)
{
	if (strcmp(s, "text") == 0)
		return LOG_FMT_TEXT;
	if (strcmp(s, "json") == 0)
		return LOG_FMT_JSON;
	return -1;
}

/*
 * The JSON object of a line into out (no newline), its length; -1 when jansson could
 * not build it. stamp is the RFC 3339 time, msg the message with errno's text.
 */
static int
log_json(char *out, size_t len, const char *stamp, enum log_level lvl, const char *msg)
{
	char clean[3 * LOG_MSG_MAX];	/* each bad byte may become U+FFFD, 3 bytes */
	json_t *o;
	size_t n;

	json_utf8_repair(clean, sizeof(clean), msg);
	o = json_pack("{s:s, s:s, s:s, s:o, s:i, s:s}", "time", stamp, "level",
	    level_names[lvl], "process", log_name, "node",
	    log_node[0] ? json_string(log_node) : json_null(), "pid", (int)getpid(),
	    "msg", clean);
	if (o == NULL)
		return -1;
	n = json_dumpb(o, out, len, JSON_COMPACT);
	json_decref(o);
	if (n == 0 || n >= len)
		return -1;
	out[n] = '\0';
	return (int)n;
}

static void
log_vemit(enum log_level lvl, int errnum, const char *fmt, va_list ap)
{
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	struct timespec ts;
	struct tm tm;
	char buf[LOG_MSG_MAX], json[LOG_JSON_MAX], stamp[64];
	int n, msg, jn = -1;

	if (lvl > log_level)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(stamp, sizeof(stamp), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
	    tm.tm_sec, ts.tv_nsec / 1000000);
	/* The stderr prefix; syslog adds its own time, name and pid. */
	msg = snprintf(buf, sizeof(buf), "%s %s[%d] %s: ", stamp, log_name, (int)getpid(),
	    level_names[lvl]);
	n = msg + vsnprintf(buf + msg, sizeof(buf) - msg, fmt, ap);
	if (n >= (int)sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	if (errnum)
		n += snprintf(buf + n, sizeof(buf) - n, ": %s", strerror(errnum));
	if (n >= (int)sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	buf[n] = '\0';
	if (log_format == LOG_FMT_JSON)
		jn = log_json(json, sizeof(json) - 1, stamp, lvl, buf + msg);
	if (log_syslog) {
		if (jn >= 0)
			syslog(prio[lvl], "%s", json);
		else
			syslog(prio[lvl], "%s: %s", level_names[lvl], buf + msg);
	}
	if (log_stderr) {
		char pri[8];
		struct iovec iov[2] = { { pri, 0 } };

		if (log_journal)
			iov[0].iov_len = snprintf(pri, sizeof(pri), "<%d>", prio[lvl]);
		if (jn >= 0) {
			json[jn++] = '\n';
			iov[1] = (struct iovec){ json, jn };
		} else {
			buf[n++] = '\n';
			iov[1] = (struct iovec){ buf, n };
		}
		/* One writev: a line is still one write. */
		(void)!writev(STDERR_FILENO, iov, 2);
	}
}

#define LOG_FN(fn, lvl, witherr)					\
	void fn(const char *fmt, ...)					\
	{								\
		int e = errno;						\
		va_list ap;						\
		va_start(ap, fmt);					\
		log_vemit(lvl, witherr ? e : 0, fmt, ap);		\
		va_end(ap);						\
		errno = e;						\
	}

LOG_FN(log_warn, LOG_LVL_WARN, 1)
LOG_FN(log_warnx, LOG_LVL_WARN, 0)
LOG_FN(log_info, LOG_LVL_INFO, 0)
LOG_FN(log_debug, LOG_LVL_DEBUG, 0)

void
fatal(const char *fmt, ...)
{
	int e = errno;
	va_list ap;

	va_start(ap, fmt);
	log_vemit(LOG_LVL_ERROR, e, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vemit(LOG_LVL_ERROR, 0, fmt, ap);
	va_end(ap);
	exit(1);
}

void
log_warnx_rl(struct log_ratelimit *rl, const char *fmt, ...)
{
	uint64_t now = clock_mono_ns();
	va_list ap;

	if (now - rl->window_start_ns >= (uint64_t)rl->interval_ms * 1000000) {
		if (rl->suppressed)
			log_warnx("%llu similar messages suppressed",
			    (unsigned long long)rl->suppressed);
		rl->window_start_ns = now;
		rl->printed = 0;
		rl->suppressed = 0;
	}
	if (rl->printed >= rl->burst) {
		rl->suppressed++;
		return;
	}
	rl->printed++;
	va_start(ap, fmt);
	log_vemit(LOG_LVL_WARN, 0, fmt, ap);
	va_end(ap);
}
