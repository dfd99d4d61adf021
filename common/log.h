/*
 * log: one line per event on stderr ("2026-11-25T12:00:00.123Z syncd[42] warn: ..."),
 * and to syslog once a process detaches (-d): both while it starts, so a failed start
 * is seen where it was launched, then syslog only. fatal() adds strerror(errno);
 * both fatal forms exit non-zero. Rate-limited warnings keep bad input from flooding
 * the log: at most `burst` lines per interval, then one summary of what was suppressed.
 * Under systemd (JOURNAL_STREAM names stderr) each stderr line starts with its syslog
 * priority, "<4>", which journald strips and keeps, so `journalctl -p warning` works.
 */
#ifndef COMMON_LOG_H
#define COMMON_LOG_H

#include <stdint.h>

enum log_level { LOG_LVL_ERROR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };
enum log_format { LOG_FMT_TEXT, LOG_FMT_JSON };

void log_init(const char *procname, enum log_level level);
void log_set_level(enum log_level level);
void log_set_format(enum log_format fmt);
/* The node's name for the JSON "node" field (null until set); copied. */
void log_set_node(const char *node);
/* Send further lines to syslog (LOG_DAEMON) as well. */
void log_to_syslog(void);
/* Stop writing to stderr (a detached daemon's stderr is /dev/null). */
void log_stderr_off(void);
/* Parse "error", "warn", "info", "debug"; -1 when unknown. */
int log_level_parse(const char *s);
/* Parse "text", "json"; -1 when unknown. */
int log_format_parse(const char *s);
const char *log_procname(void);

void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));   /* + errno */
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

struct log_ratelimit {
	uint64_t window_start_ns;
	uint32_t interval_ms;	/* window length */
	uint32_t burst;		/* lines allowed per window */
	uint32_t printed;	/* in this window */
	uint64_t suppressed;	/* in this window */
};

#define LOG_RATELIMIT_INIT(ms, n) { .interval_ms = (ms), .burst = (n) }

void log_warnx_rl(struct log_ratelimit *rl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
