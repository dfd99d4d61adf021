/*
 * log: the lines common/log.c writes on stderr, captured in a temporary file and parsed
 * back: the text line of old unchanged, and with log_format json each line one JSON
 * object (parsed with jansson, as a log search tool would) whose msg is the message
 * whatever bytes it held. fatal() is run in a child, whose stderr is the test's file.
 */
#include "common/json.h"
#include "common/log.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static int cap_fd = -1;

/* From now on stderr goes to a temporary file; the suite's processes are the test's. */
static void
capture(void)
{
	char path[] = "/tmp/log_test.XXXXXX";

	cap_fd = mkstemp(path);
	cr_assert(cap_fd >= 0);
	unlink(path);
	cr_assert(dup2(cap_fd, STDERR_FILENO) == STDERR_FILENO);
	log_init("syncd", LOG_LVL_DEBUG);
	log_set_format(LOG_FMT_TEXT);
	log_set_node(NULL);
}

/* Everything written to stderr since capture(), NUL-terminated; the caller frees it. */
static char *
captured(void)
{
	static const size_t max = 1 << 20;
	char *buf = malloc(max);
	ssize_t n;

	cr_assert(buf);
	n = pread(cap_fd, buf, max - 1, 0);
	cr_assert(n >= 0);
	buf[n] = '\0';
	return buf;
}

/* The lines of s (modified in place), at most max; how many. */
static int
lines(char *s, char **out, int max)
{
	int n = 0;
	char *nl;

	while (*s && n < max) {
		nl = strchr(s, '\n');
		cr_assert(nl, "a line without its newline: %s", s);
		*nl = '\0';
		out[n++] = s;
		s = nl + 1;
	}
	return n;
}

/* line as a JSON object with the six fields of a log line, written by pid; decref it. */
static json_t *
parse_line_of(const char *line, const char *level, pid_t pid)
{
	json_error_t e;
	json_t *o = json_loads(line, JSON_REJECT_DUPLICATES, &e);
	regex_t re;

	cr_assert(o, "not JSON (%s): %s", e.text, line);
	cr_assert(json_is_object(o), "not an object: %s", line);
	cr_assert_eq(json_object_size(o), 6, "not six fields: %s", line);
	cr_assert(regcomp(&re, "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}"
	    "\\.[0-9]{3}Z$", REG_EXTENDED | REG_NOSUB) == 0);
	cr_assert(json_is_string(json_object_get(o, "time")), "%s", line);
	cr_assert(regexec(&re, json_string_value(json_object_get(o, "time")), 0, NULL, 0) == 0,
	    "time is not RFC 3339 UTC with ms: %s", line);
	regfree(&re);
	cr_assert_str_eq(json_string_value(json_object_get(o, "level")), level, "%s", line);
	cr_assert_str_eq(json_string_value(json_object_get(o, "process")), "syncd", "%s",
	    line);
	cr_assert_eq(json_integer_value(json_object_get(o, "pid")), pid, "%s", line);
	cr_assert(json_is_string(json_object_get(o, "msg")), "%s", line);
	return o;
}

static json_t *
parse_line(const char *line, const char *level)
{
	return parse_line_of(line, level, getpid());
}

static const char *
msg_of(json_t *o)
{
	return json_string_value(json_object_get(o, "msg"));
}

Test(log, text_line_is_unchanged)
{
	char *out, *l[4];
	regex_t re;

	capture();
	log_set_node("gw1");	/* the text line does not carry it */
	errno = ENOENT;
	log_warn("open %s", "/x");
	log_info("plain");
	out = captured();
	cr_assert_eq(lines(out, l, 4), 2, "%s", out);
	cr_assert(regcomp(&re, "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}"
	    "\\.[0-9]{3}Z syncd\\[[0-9]+\\] warn: open /x: No such file or directory$",
	    REG_EXTENDED | REG_NOSUB) == 0);
	cr_assert(regexec(&re, l[0], 0, NULL, 0) == 0, "%s", l[0]);
	regfree(&re);
	cr_assert(strstr(l[1], "] info: plain") && l[1][strlen(l[1]) - 1] == 'n', "%s", l[1]);
	free(out);
}

Test(log, json_line_has_every_field)
{
	char *out, *l[4];
	json_t *o;

	capture();
	log_set_format(LOG_FMT_JSON);
	log_set_node("gw1");
	log_info("started %d", 42);
	out = captured();
	cr_assert_eq(lines(out, l, 4), 1, "%s", out);
	o = parse_line(l[0], "info");
	cr_assert_str_eq(json_string_value(json_object_get(o, "node")), "gw1");
	cr_assert_str_eq(msg_of(o), "started 42");
	json_decref(o);
	free(out);
}

Test(log, json_node_is_null_until_set)
{
	char *out, *l[2];
	json_t *o;

	capture();
	log_set_format(LOG_FMT_JSON);
	log_warnx("early");
	out = captured();
	cr_assert_eq(lines(out, l, 2), 1, "%s", out);
	o = parse_line(l[0], "warn");
	cr_assert(json_is_null(json_object_get(o, "node")), "%s", l[0]);
	json_decref(o);
	free(out);
}

Test(log, json_levels_and_errno_text)
{
	char *out, *l[8];
	json_t *o;

	capture();
	log_set_format(LOG_FMT_JSON);
	log_set_node("h1");
	errno = EACCES;
	log_warn("bind %s", "x");
	cr_assert_eq(errno, EACCES, "errno kept");
	log_warnx("w");
	log_info("i");
	log_debug("d");
	log_set_level(LOG_LVL_INFO);
	log_debug("not shown");
	out = captured();
	cr_assert_eq(lines(out, l, 8), 4, "%s", out);
	o = parse_line(l[0], "warn");
	cr_assert_str_eq(msg_of(o), "bind x: Permission denied");
	json_decref(o);
	json_decref(parse_line(l[1], "warn"));
	json_decref(parse_line(l[2], "info"));
	json_decref(parse_line(l[3], "debug"));
	free(out);
}

/* Bytes a peer could put in a name: each comes back as it was, or as U+FFFD. */
Test(log, json_hostile_bytes_parse_back)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
		{ "quote \" backslash \\ slash /", "quote \" backslash \\ slash /" },
		{ "nl\ncr\rtab\tesc\x1b" "bel\x07 del\x7f",
		    "nl\ncr\rtab\tesc\x1b" "bel\x07 del\x7f" },
		{ "\x01\x02\x1f", "\x01\x02\x1f" },
		{ "utf8 \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80",
		    "utf8 \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80" },
		{ "bad \xff\xfe end", "bad \xef\xbf\xbd\xef\xbf\xbd end" },
		{ "stray \x80 cont", "stray \xef\xbf\xbd cont" },
		{ "overlong \xc0\xaf", "overlong \xef\xbf\xbd\xef\xbf\xbd" },
		{ "surrogate \xed\xa0\x80", "surrogate \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },
		{ "too big \xf4\x90\x80\x80",
		    "too big \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },
		{ "cut \xe2\x82", "cut \xef\xbf\xbd\xef\xbf\xbd" },
		{ "}{\"level\":\"error\"", "}{\"level\":\"error\"" },
	};
	size_t n = sizeof(cases) / sizeof(cases[0]);
	char *out, *l[16];

	capture();
	log_set_format(LOG_FMT_JSON);
	log_set_node("gw1");
	for (size_t i = 0; i < n; i++)
		log_warnx("peer said %s", cases[i].in);
	out = captured();
	cr_assert_eq(lines(out, l, 16), (int)n, "%s", out);
	for (size_t i = 0; i < n; i++) {
		json_t *o = parse_line(l[i], "warn");
		char want[128];

		snprintf(want, sizeof(want), "peer said %s", cases[i].want);
		cr_assert_str_eq(msg_of(o), want, "case %zu: %s", i, l[i]);
		json_decref(o);
	}
	free(out);
}

/* The longest message, every byte escaped to six: still one whole object. */
Test(log, json_longest_message_stays_one_object)
{
	char big[4096], *out, *l[2];
	json_t *o;

	memset(big, 0x01, sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	capture();
	log_set_format(LOG_FMT_JSON);
	log_warnx("%s", big);
	out = captured();
	cr_assert_eq(lines(out, l, 2), 1);
	o = parse_line(l[0], "warn");
	cr_assert_gt(strlen(msg_of(o)), 900, "the message was cut to %zu", strlen(msg_of(o)));
	json_decref(o);
	free(out);
}

Test(log, json_rate_limited_warnings)
{
	struct log_ratelimit rl = LOG_RATELIMIT_INIT(60000, 2);
	char *out, *l[8];

	capture();
	log_set_format(LOG_FMT_JSON);
	for (int i = 0; i < 5; i++)
		log_warnx_rl(&rl, "bad packet %d", i);
	rl.window_start_ns -= 61000ull * 1000000;	/* the window is over */
	log_warnx_rl(&rl, "bad packet again");
	out = captured();
	cr_assert_eq(lines(out, l, 8), 4, "%s", out);
	for (int i = 0; i < 4; i++) {
		static const char *const want[] = { "bad packet 0", "bad packet 1",
			"3 similar messages suppressed", "bad packet again" };
		json_t *o = parse_line(l[i], "warn");

		cr_assert_str_eq(msg_of(o), want[i]);
		json_decref(o);
	}
	free(out);
}

/* fatal() in a child: its one line is JSON, level error, errno's text in msg; exit 1. */
Test(log, json_fatal_line_and_exit)
{
	char *out, *l[4];
	json_t *o;
	pid_t pid;
	int st, n;

	capture();
	log_set_format(LOG_FMT_JSON);
	log_set_node("gw1");
	fflush(NULL);
	if ((pid = fork()) == 0) {
		errno = EADDRINUSE;
		fatal("listen %s", "0.0.0.0:4790");
	}
	cr_assert(pid > 0);
	cr_assert(waitpid(pid, &st, 0) == pid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 1);
	out = captured();
	/*
	 * Under SANITIZE=1 the child's exit may add LeakSanitizer's own note ("==pid==...
	 * not suspended", Criterion's threads): not a log line.
	 */
	n = lines(out, l, 4);
	while (n > 1 && strncmp(l[n - 1], "==", 2) == 0)
		n--;
	cr_assert_eq(n, 1, "%s", out);
	o = parse_line_of(l[0], "error", pid);
	cr_assert_str_eq(msg_of(o), "listen 0.0.0.0:4790: Address already in use");
	json_decref(o);
	free(out);
}

/* JOURNAL_STREAM naming stderr (the file capture() made), as systemd would set it. */
static void
journal_is_stderr(const char *suffix)
{
	struct stat st;
	char v[64];

	cr_assert(fstat(STDERR_FILENO, &st) == 0);
	snprintf(v, sizeof(v), "%llu:%llu%s", (unsigned long long)st.st_dev,
	    (unsigned long long)st.st_ino, suffix);
	cr_assert(setenv("JOURNAL_STREAM", v, 1) == 0);
}

Test(log, journal_lines_carry_their_priority)
{
	char *out, *l[4];
	json_t *o;

	capture();
	journal_is_stderr("");
	log_init("syncd", LOG_LVL_DEBUG);	/* where it looks */
	log_warnx("w");
	log_info("i");
	log_set_format(LOG_FMT_JSON);
	errno = EPERM;
	log_warn("j");
	out = captured();
	cr_assert_eq(lines(out, l, 4), 3, "%s", out);
	cr_assert(strncmp(l[0], "<4>2", 4) == 0 && strstr(l[0], "] warn: w"), "%s", l[0]);
	cr_assert(strncmp(l[1], "<6>2", 4) == 0 && strstr(l[1], "] info: i"), "%s", l[1]);
	cr_assert(strncmp(l[2], "<4>{", 4) == 0, "%s", l[2]);
	o = json_loads(l[2] + 3, 0, NULL);
	cr_assert(o, "%s", l[2]);
	cr_assert_str_eq(msg_of(o), "j: Operation not permitted");
	json_decref(o);
	free(out);
}

Test(log, journal_prefix_only_when_stderr_is_the_stream)
{
	static const char *const other[] = { "1:2", "", "x:y", NULL };
	char *out, *l[8];
	int n;

	capture();
	for (int i = 0; other[i]; i++) {
		cr_assert(setenv("JOURNAL_STREAM", other[i], 1) == 0);
		log_init("syncd", LOG_LVL_DEBUG);
		log_info("plain %d", i);
	}
	journal_is_stderr("junk");	/* ours, but not only a dev:ino */
	log_init("syncd", LOG_LVL_DEBUG);
	log_info("plain junk");
	out = captured();
	n = lines(out, l, 8);
	cr_assert_eq(n, 4, "%s", out);
	for (int i = 0; i < n; i++)
		cr_assert(l[i][0] == '2', "a prefix without the journal: %s", l[i]);
	free(out);
}

Test(log, format_parse)
{
	cr_assert_eq(log_format_parse("text"), LOG_FMT_TEXT);
	cr_assert_eq(log_format_parse("json"), LOG_FMT_JSON);
	cr_assert_eq(log_format_parse("JSON"), -1);
	cr_assert_eq(log_format_parse(""), -1);
}

Test(json, utf8_repair_cuts_between_characters)
{
	char out[8];

	/* "aé€" is 1 + 2 + 3 = 6 bytes; in 6 (5 + NUL) the euro sign does not fit. */
	cr_assert_eq(json_utf8_repair(out, 6, "a\xc3\xa9\xe2\x82\xac"), 3);
	cr_assert_str_eq(out, "a\xc3\xa9");
	cr_assert_eq(json_utf8_repair(out, sizeof(out), "a\xc3\xa9\xe2\x82\xac"), 6);
	cr_assert_eq(json_utf8_repair(out, 1, "abc"), 0);
	cr_assert_str_eq(out, "");
}
