/*
 * log: see log.h. Each line is formatted into one buffer and written with a single
 * write(2), so lines from several processes sharing a log file never interleave.
 */
#include "common/log.h"
#include "common/clock.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

static char log_name[32] = "vpcfwd";
static enum log_level log_level = LOG_LVL_INFO;
static int log_syslog;
static int log_stderr = 1;

static const char *const level_names[] = { "error", "warn", "info", "debug" };

void
log_init(const char *procname, enum log_level level)
{
	snprintf(log_name, sizeof(log_name), "%s", procname);
	log_level = level;
}

void
log_set_level(enum log_level level)
{
	log_level = level;
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

static void
log_vemit(enum log_level lvl, int errnum, const char *fmt, va_list ap)
{
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	struct timespec ts;
	struct tm tm;
	char buf[1024];
	int n, msg;

	if (lvl > log_level)
		return;
	/* The stderr prefix; syslog adds its own time, name and pid. */
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	msg = snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s[%d] %s: ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
	    tm.tm_sec, ts.tv_nsec / 1000000, log_name, (int)getpid(), level_names[lvl]);
	n = msg + vsnprintf(buf + msg, sizeof(buf) - msg, fmt, ap);
	if (n >= (int)sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	if (errnum)
		n += snprintf(buf + n, sizeof(buf) - n, ": %s", strerror(errnum));
	if (n >= (int)sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	buf[n] = '\0';
	if (log_syslog)
		syslog(prio[lvl], "%s: %s", level_names[lvl], buf + msg);
	if (log_stderr) {
		buf[n++] = '\n';
		(void)!write(STDERR_FILENO, buf, n);
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
