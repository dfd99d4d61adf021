/*
 * conf_test: typed settings. A bad setting is refused with "file:line: path ..." so an
 * operator can find it; a missing one takes its default; a setting in the process's
 * own section (or at top level) that nothing read is an error, and so is a group that
 * is no process's, while other processes' sections are left alone. A file that does not
 * mean what it says (a comment never closed, an integer libconfig would wrap, a name
 * set twice, @include, a directory, megabytes) is refused at load, with file and line.
 */
#include "common/conf.h"
#include "common/conf_scan.h"
#include "common/log.h"

#include <criterion/criterion.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define NS_MS	1000000ull
#define NS_S	1000000000ull

static const char *const sample =
    "# a node's configuration\n"			/* 1 */
    "node = \"gw1\";\n"					/* 2 */
    "log_level = \"debug\";\n"				/* 3 */
    "syncd = {\n"						/* 4 */
    "  port = 4790;\n"					/* 5 */
    "  big = 10000000000L;\n"				/* 6 */
    "  name = \"east\";\n"				/* 7 */
    "  tls = true;\n"					/* 8 */
    "  park = \"250ms\";\n"				/* 9 */
    "  idle = \"5s\";\n"				/* 10 */
    "  keep = \"5d\";\n"				/* 11 */
    "  grace = 3;\n"					/* 12 */
    "  tiny = \"100us\";\n"				/* 13 */
    "  mins = \"10m\";\n"				/* 14 */
    "  hours = \"2h\";\n"				/* 15 */
    "  bad_unit = \"5 s\";\n"				/* 16 */
    "  bad_unit2 = \"5x\";\n"				/* 17 */
    "  neg = -1;\n"					/* 18 */
    "  ratio = 0.5;\n"					/* 19 */
    "};\n"						/* 20 */
    "learner = { max = 7; };\n";				/* 21 */

static struct conf *
load(const char *text)
{
	struct conf *c = conf_load_string(text, "ut.conf");

	cr_assert_not_null(c, "parse: %s", conf_load_error());
	return c;
}

/* The last error must contain every one of the given words. */
static void
expect_err(struct conf *c, const char *a, const char *b)
{
	cr_assert_not_null(strstr(conf_error(c), a), "error '%s' lacks '%s'", conf_error(c), a);
	if (b)
		cr_assert_not_null(strstr(conf_error(c), b), "error '%s' lacks '%s'",
		    conf_error(c), b);
}

Test(conf, integer_in_range_is_read)
{
	struct conf *c = load(sample);
	int64_t v = 0;

	cr_assert_eq(conf_get_int(c, "syncd.port", 1, 1, 65535, &v), 0, "%s", conf_error(c));
	cr_assert_eq(v, 4790);
	cr_assert_eq(conf_get_int(c, "syncd.big", 0, 0, INT64_MAX, &v), 0, "%s",
	    conf_error(c));
	cr_assert_eq(v, 10000000000ll);
	cr_assert_eq(conf_int(c, "syncd.port", 1, 4790, 4790), 4790, "bounds are inclusive");
	cr_assert_str_eq(conf_path(c), "ut.conf");
	conf_free(c);
}

Test(conf, integer_out_of_range_names_file_line_and_setting)
{
	struct conf *c = load(sample);
	int64_t v = 99;

	cr_assert_eq(conf_get_int(c, "syncd.port", 1, 1, 1024, &v), -1);
	expect_err(c, "ut.conf:5:", "syncd.port must be 1..1024, not 4790");
	cr_assert_eq(v, 99, "the output is left alone on error");
	cr_assert_eq(conf_get_int(c, "syncd.neg", 0, 0, 10, &v), -1);
	expect_err(c, "ut.conf:18:", "syncd.neg");
	conf_free(c);
}

Test(conf, integer_of_wrong_type_names_file_line_and_setting)
{
	struct conf *c = load(sample);
	int64_t v;

	cr_assert_eq(conf_get_int(c, "syncd.name", 1, 1, 10, &v), -1);
	expect_err(c, "ut.conf:7:", "syncd.name must be an integer in 1..10");
	cr_assert_eq(conf_get_int(c, "syncd.ratio", 1, 1, 10, &v), -1);
	expect_err(c, "ut.conf:19:", "syncd.ratio");
	cr_assert_eq(conf_get_int(c, "syncd.tls", 1, 1, 10, &v), -1);
	expect_err(c, "ut.conf:8:", "syncd.tls");
	conf_free(c);
}

Test(conf, integer_error_exits_through_fatalx, .exit_code = 1)
{
	struct conf *c = load(sample);

	conf_int(c, "syncd.port", 1, 1, 1024);
	cr_assert_fail("conf_int returned for an out-of-range setting");
}

Test(conf, missing_settings_take_their_defaults)
{
	struct conf *c = load(sample);
	const char *s = NULL;
	uint64_t ns = 0;
	int64_t v = 0;
	bool b = false;

	cr_assert_eq(conf_get_int(c, "syncd.nothere", 42, 1, 100, &v), 0);
	cr_assert_eq(v, 42);
	cr_assert_eq(conf_get_int(c, "nogroup.port", 7, 1, 100, &v), 0);
	cr_assert_eq(v, 7);
	cr_assert_eq(conf_get_bool(c, "syncd.nothere", true, &b), 0);
	cr_assert(b);
	cr_assert_eq(conf_get_str(c, "syncd.nothere", "dflt", &s), 0);
	cr_assert_str_eq(s, "dflt");
	cr_assert_eq(conf_get_duration(c, "syncd.nothere", 3 * NS_S, 0, UINT64_MAX, &ns), 0);
	cr_assert_eq(ns, 3 * NS_S);
	cr_assert_eq(conf_duration(c, "syncd.nothere", 9, 0, 10), 9);
	cr_assert_str_eq(conf_str(c, "learner.nothere", "x"), "x");
	cr_assert(!conf_bool(c, "learner.nothere", false));
	conf_free(c);
}

Test(conf, durations_with_units_and_integer_seconds)
{
	static const struct {
		const char *path;
		uint64_t ns;
	} want[] = {
		{ "syncd.park", 250 * NS_MS },
		{ "syncd.idle", 5 * NS_S },
		{ "syncd.keep", 5 * 86400 * NS_S },
		{ "syncd.grace", 3 * NS_S },
		{ "syncd.tiny", 100000 },
		{ "syncd.mins", 600 * NS_S },
		{ "syncd.hours", 7200 * NS_S },
	};
	struct conf *c = load(sample);
	uint64_t ns;

	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		ns = 0;
		cr_assert_eq(conf_get_duration(c, want[i].path, 0, 0, UINT64_MAX, &ns), 0,
		    "%s", conf_error(c));
		cr_assert_eq(ns, want[i].ns, "%s: %llu ns, expected %llu", want[i].path,
		    (unsigned long long)ns, (unsigned long long)want[i].ns);
	}
	conf_free(c);
}

Test(conf, durations_with_bad_units_are_refused)
{
	static const char *const bad[] = {
		"syncd.bad_unit", "syncd.bad_unit2", "syncd.name", "syncd.neg", "syncd.tls",
		"syncd.ratio",
	};
	struct conf *c = load(sample);
	uint64_t ns = 77;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(conf_get_duration(c, bad[i], 0, 0, UINT64_MAX, &ns), -1,
		    "%s accepted", bad[i]);
		expect_err(c, bad[i], "must be a duration");
		expect_err(c, "ut.conf:", NULL);
	}
	cr_assert_eq(conf_get_duration(c, "syncd.bad_unit", 0, 0, UINT64_MAX, &ns), -1);
	expect_err(c, "ut.conf:16:", NULL);
	cr_assert_eq(ns, 77);
	conf_free(c);
}

Test(conf, duration_out_of_range_names_file_line_and_setting)
{
	struct conf *c = load(sample);
	uint64_t ns;

	cr_assert_eq(conf_get_duration(c, "syncd.idle", 0, 0, NS_S, &ns), -1);
	expect_err(c, "ut.conf:10:", "syncd.idle must be between 0ms and 1000ms");
	cr_assert_eq(conf_get_duration(c, "syncd.park", 0, NS_S, 2 * NS_S, &ns), -1);
	expect_err(c, "ut.conf:9:", "syncd.park");
	conf_free(c);
}

Test(conf, duration_overflow_is_refused)
{
	struct conf *c = load("d = \"99999999999999999999s\";\ne = \"300000000000d\";\n");
	uint64_t ns;

	cr_assert_eq(conf_get_duration(c, "d", 0, 0, UINT64_MAX, &ns), -1);
	expect_err(c, "ut.conf:1:", "d must be a duration");
	cr_assert_eq(conf_get_duration(c, "e", 0, 0, UINT64_MAX, &ns), -1);
	expect_err(c, "ut.conf:2:", NULL);
	conf_free(c);
}

Test(conf, bool_and_string_are_read_and_type_checked)
{
	struct conf *c = load(sample);
	const char *s = NULL;
	bool b = false;

	cr_assert_eq(conf_get_bool(c, "syncd.tls", false, &b), 0, "%s", conf_error(c));
	cr_assert(b);
	cr_assert_eq(conf_get_str(c, "syncd.name", NULL, &s), 0, "%s", conf_error(c));
	cr_assert_str_eq(s, "east");
	cr_assert_str_eq(conf_str(c, "node", NULL), "gw1");
	cr_assert(conf_bool(c, "syncd.tls", false));

	cr_assert_eq(conf_get_bool(c, "syncd.port", false, &b), -1);
	expect_err(c, "ut.conf:5:", "syncd.port must be true or false");
	cr_assert_eq(conf_get_str(c, "syncd.port", NULL, &s), -1);
	expect_err(c, "ut.conf:5:", "syncd.port must be a string");
	conf_free(c);
}

Test(conf, unused_setting_in_section_is_flagged_with_line)
{
	struct conf *c = load(
	    "node = \"gw1\";\n"
	    "syncd = {\n"
	    "  port = 4790;\n"
	    "  prot = 4791;\n"	/* typo */
	    "};\n");
	struct conf_common cc;
	int64_t v;

	conf_read_common(c, &cc);
	cr_assert_eq(conf_get_int(c, "syncd.port", 1, 1, 65535, &v), 0);
	cr_assert_eq(conf_check_unused(c, "syncd"), -1);
	expect_err(c, "ut.conf:4:", "unknown setting 'syncd.prot'");
	cr_assert_eq(conf_get_int(c, "syncd.prot", 1, 1, 65535, &v), 0);
	cr_assert_eq(conf_check_unused(c, "syncd"), 0, "%s", conf_error(c));
	conf_free(c);
}

Test(conf, unknown_top_level_scalar_is_flagged_with_line)
{
	struct conf *c = load(
	    "node = \"gw1\";\n"
	    "log_level = \"info\";\n"
	    "log_levle = \"debug\";\n"
	    "syncd = { port = 1; };\n");
	struct conf_common cc;
	int64_t v;

	conf_read_common(c, &cc);
	cr_assert_eq(conf_get_int(c, "syncd.port", 1, 1, 65535, &v), 0);
	cr_assert_eq(conf_check_unused(c, "syncd"), -1);
	expect_err(c, "ut.conf:3:", "unknown setting 'log_levle'");
	conf_free(c);
}

Test(conf, other_processes_sections_are_ignored)
{
	struct conf *c = load(sample);
	struct conf_common cc;
	int64_t v;

	conf_read_common(c, &cc);
	cr_assert_eq(conf_get_int(c, "learner.max", 1, 1, 10, &v), 0);
	cr_assert_eq(conf_check_unused(c, "learner"), 0, "syncd's settings are not learner's "
	    "business: %s", conf_error(c));
	cr_assert_eq(conf_check_unused(c, "absent"), 0, "%s", conf_error(c));
	cr_assert_eq(conf_check_unused(c, "syncd"), -1, "nothing read syncd's settings");
	conf_free(c);
}

Test(conf, section_that_is_not_a_group_is_refused)
{
	struct conf *c = load("node = \"gw1\";\nsyncd = 5;\n");

	conf_read_common(c, &(struct conf_common){ 0 });
	cr_assert_eq(conf_check_unused(c, "syncd"), -1);
	expect_err(c, "ut.conf:2:", "syncd must be a group");
	conf_free(c);
}

Test(conf, nested_group_read_by_full_path_is_used)
{
	struct conf *c = load(
	    "node = \"gw1\";\n"
	    "syncd = {\n"
	    "  port = 1;\n"
	    "  tls = { cert = \"/etc/c.pem\"; ciphers = \"x\"; };\n"
	    "};\n");
	struct conf_common cc;

	conf_read_common(c, &cc);
	cr_assert_str_eq(conf_str(c, "syncd.tls.cert", NULL), "/etc/c.pem");
	conf_int(c, "syncd.port", 1, 1, 10);
	cr_assert_eq(conf_check_unused(c, "syncd"), -1, "syncd.tls.ciphers was not read");
	expect_err(c, "ut.conf:4:", "unknown setting 'syncd.tls.ciphers'");
	conf_str(c, "syncd.tls.ciphers", NULL);
	cr_assert_eq(conf_check_unused(c, "syncd"), 0, "%s", conf_error(c));
	conf_free(c);
}

Test(conf, unused_setting_exits_through_conf_done, .exit_code = 1)
{
	struct conf *c = load("node = \"gw1\";\nsyncd = { prot = 1; };\n");

	conf_read_common(c, &(struct conf_common){ 0 });
	conf_done(c, "syncd");
	cr_assert_fail("conf_done returned with an unread setting");
}

Test(conf, parse_error_gives_name_and_line)
{
	cr_assert_null(conf_load_string("node = \"gw1\";\nport = ;\n", "bad.conf"));
	cr_assert_not_null(strstr(conf_load_error(), "bad.conf:2:"), "%s", conf_load_error());
	cr_assert_null(conf_load_string("a = 1;\nb = 2;\nc = {\n", "open.conf"));
	cr_assert_not_null(strstr(conf_load_error(), "open.conf:"), "%s", conf_load_error());
}

Test(conf, missing_file_is_reported)
{
	cr_assert_null(conf_load("/nonexistent/vpcfwd-ut.conf"));
	cr_assert_not_null(strstr(conf_load_error(), "/nonexistent/vpcfwd-ut.conf: cannot read"),
	    "%s", conf_load_error());
}

Test(conf, read_common_reads_node_and_log_level)
{
	struct conf *c = load(sample);
	struct conf_common cc = { 0 };

	conf_read_common(c, &cc);
	cr_assert_str_eq(cc.node, "gw1");
	cr_assert_eq(cc.log_level, LOG_LVL_DEBUG);
	conf_free(c);

	c = load("node = \"h-2_x\";\n");
	conf_read_common(c, &cc);
	cr_assert_str_eq(cc.node, "h-2_x");
	cr_assert_eq(cc.log_level, LOG_LVL_INFO, "log_level defaults to info");
	cr_assert_eq(cc.log_format, LOG_FMT_TEXT, "log_format defaults to text");
	conf_free(c);
}

Test(conf, read_common_reads_log_format)
{
	struct conf *c = load("node = \"gw1\";\nlog_format = \"json\";\n");
	struct conf_common cc = { 0 };

	conf_read_common(c, &cc);
	cr_assert_eq(cc.log_format, LOG_FMT_JSON);
	/* Read, so not an unknown setting. */
	cr_assert_eq(conf_check_unused(c, "syncd"), 0, "%s", conf_error(c));
	conf_free(c);
	c = load("node = \"gw1\";\nlog_format = \"text\";\n");
	conf_read_common(c, &cc);
	cr_assert_eq(cc.log_format, LOG_FMT_TEXT);
	conf_free(c);
}

/* fatalx's line on stderr names the file's line: the test's stderr is a pipe it reads. */
Test(conf, read_common_refuses_unknown_log_format)
{
	struct conf *c = load("node = \"gw1\";\n\nlog_format = \"xml\";\n");
	struct conf_common cc;
	char buf[512] = "";
	ssize_t n;
	pid_t pid;
	int p[2], st;

	cr_assert(pipe(p) == 0);
	fflush(NULL);
	if ((pid = fork()) == 0) {
		dup2(p[1], STDERR_FILENO);
		conf_read_common(c, &cc);
		_exit(0);
	}
	close(p[1]);
	n = read(p[0], buf, sizeof(buf) - 1);
	cr_assert(n > 0);
	buf[n] = '\0';
	cr_assert(waitpid(pid, &st, 0) == pid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 1, "log_format \"xml\" accepted");
	cr_assert(strstr(buf, ":3: log_format must be text or json"), "%s", buf);
	close(p[0]);
	conf_free(c);
}

Test(conf, read_common_requires_node, .exit_code = 1)
{
	struct conf *c = load("log_level = \"info\";\n");
	struct conf_common cc;

	conf_read_common(c, &cc);
	cr_assert_fail("conf_read_common returned without a node");
}

Test(conf, read_common_refuses_bad_node_name, .exit_code = 1)
{
	struct conf *c = load("node = \"GW.1\";\n");
	struct conf_common cc;

	conf_read_common(c, &cc);
	cr_assert_fail("conf_read_common accepted node \"GW.1\"");
}

Test(conf, read_common_refuses_unknown_log_level, .exit_code = 1)
{
	struct conf *c = load("node = \"gw1\";\nlog_level = \"loud\";\n");
	struct conf_common cc;

	conf_read_common(c, &cc);
	cr_assert_fail("conf_read_common accepted log_level \"loud\"");
}

/* The load must fail with an error holding both words. */
static void
expect_load_err(const char *text, const char *a, const char *b)
{
	struct conf *c = conf_load_string(text, "ut.conf");

	cr_assert_null(c, "accepted: %s", text);
	cr_assert_not_null(strstr(conf_load_error(), a), "error '%s' lacks '%s'",
	    conf_load_error(), a);
	if (b)
		cr_assert_not_null(strstr(conf_load_error(), b), "error '%s' lacks '%s'",
		    conf_load_error(), b);
}

/* A temporary file holding len bytes of text; its path in path (PATH_MAX). */
static void
write_temp(char *path, const char *text, size_t len)
{
	int fd;

	strcpy(path, "/tmp/vpcfwd-conf-ut.XXXXXX");
	fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, text, len), (ssize_t)len);
	close(fd);
}

Test(conf, misspelt_group_is_refused_by_every_process)
{
	static const char *const procs[] = {
		"controller", "rule_store", "syncd", "learner", "forwarder",
	};
	struct conf *c;

	for (size_t i = 0; i < sizeof(procs) / sizeof(procs[0]); i++) {
		c = load("node = \"gw1\";\ncontroler = {\n  version_step = 2;\n};\n");
		conf_read_common(c, &(struct conf_common){ 0 });
		cr_assert_eq(conf_check_unused(c, procs[i]), -1, "%s ran on its defaults",
		    procs[i]);
		expect_err(c, "ut.conf:2:", "unknown group 'controler'");
		conf_free(c);
	}
}

Test(conf, every_group_of_a_node_file_is_known)
{
	struct conf *c = load(
	    "node = \"gw1\";\n"
	    "controller = { };\nrule_store = { };\nsyncd = { };\n"
	    "learner = { };\nforwarder = { };\nsupervise = { run_dir = \"/x\"; };\n");

	conf_read_common(c, &(struct conf_common){ 0 });
	cr_assert_eq(conf_check_unused(c, "syncd"), 0, "%s", conf_error(c));
	conf_free(c);
	c = load("node = \"gw1\";\nlearner = 5;\n");
	conf_read_common(c, &(struct conf_common){ 0 });
	cr_assert_eq(conf_check_unused(c, "syncd"), -1);
	expect_err(c, "ut.conf:2:", "learner must be a group");
	conf_free(c);
}

Test(conf, unclosed_comment_or_string_is_refused_with_its_line)
{
	expect_load_err("node = \"gw1\";\n/* the rest\nsyncd = { port = 1; };\n",
	    "ut.conf:2:", "comment (/*) is not closed");
	expect_load_err("node = \"gw1\";\nsyncd = { name = \"a\\\";\n};\n", "ut.conf:2:",
	    "string is not closed");
}

Test(conf, comments_and_strings_hide_what_is_in_them)
{
	struct conf *c = load(
	    "# 99999999999999999999 /* @include \"x\"\n"
	    "// a = 1; a = 1; \"\n"
	    "/* 99999999999999999999\n   @include */ node = \"gw1\";\n"
	    "syncd = { name = \"/* 99999999999999999999 \\\" @include\";\n"
	    "  f = 1e300; g = -1.5e-99999999999; h = .5; };\n");

	cr_assert_str_eq(conf_str(c, "syncd.name", NULL),
	    "/* 99999999999999999999 \" @include");
	cr_assert_str_eq(conf_str(c, "node", NULL), "gw1");
	conf_free(c);
}

Test(conf, integer_past_32_bits_keeps_its_value)
{
	struct conf *c = load(
	    "controller = {\n"
	    "  db_map_size = 4328521728;\n"		/* 2^32 + 33554432 */
	    "  top = 0x80000000;\n"
	    "  low = -2147483649;\n"
	    "  min = -2147483648;\n"
	    "  wide = 0xFFFFFFFFF;\n"
	    "  long = 4328521728L;\n"
	    "  list = [ 4294967296, 1 ];\n"
	    "};\n");
	int64_t v = 0;

	cr_assert_eq(conf_get_int(c, "controller.db_map_size", 0, 0, INT64_MAX, &v), 0);
	cr_assert_eq(v, 4328521728ll);
	cr_assert_eq(conf_get_int(c, "controller.top", 0, 0, INT64_MAX, &v), 0);
	cr_assert_eq(v, 2147483648ll);
	cr_assert_eq(conf_get_int(c, "controller.low", 0, INT64_MIN, 0, &v), 0);
	cr_assert_eq(v, -2147483649ll);
	cr_assert_eq(conf_get_int(c, "controller.min", 0, INT64_MIN, 0, &v), 0);
	cr_assert_eq(v, INT32_MIN);
	cr_assert_eq(conf_get_int(c, "controller.wide", 0, 0, INT64_MAX, &v), 0);
	cr_assert_eq(v, 0xFFFFFFFFFll);
	cr_assert_eq(conf_get_int(c, "controller.long", 0, 0, INT64_MAX, &v), 0);
	cr_assert_eq(v, 4328521728ll);
	/* The range check sees, and names, the value written. */
	cr_assert_eq(conf_get_int(c, "controller.db_map_size", 0, 1, 1ll << 32, &v), -1);
	expect_err(c, "ut.conf:2:", "controller.db_map_size must be 1..4294967296, "
	    "not 4328521728");
	conf_free(c);
}

Test(conf, integer_past_64_bits_is_refused_with_its_setting)
{
	expect_load_err("node = \"gw1\";\ncontroller = {\n  db_map_size = 99999999999999999999;\n"
	    "};\n", "ut.conf:3:", "controller.db_map_size: 99999999999999999999 does not fit");
	expect_load_err("a = 9223372036854775808L;\n", "ut.conf:1:", "a: 9223372036854775808");
	expect_load_err("a = { b = ( { c = 0x10000000000000000; } ); };\n", "ut.conf:1:",
	    "a.b.c: 0x10000000000000000");
	expect_load_err("a = 0x8000000000000000L;\n", "ut.conf:1:", "does not fit in 64 bits");
	expect_load_err("a = [1, -9223372036854775809];\n", "ut.conf:1:", "a: -92233");
	conf_free(load("a = -9223372036854775808L; b = 9223372036854775807;\n"
	    "c = 0x7FFFFFFFFFFFFFFF;\n"));
}

Test(conf, duplicate_setting_is_refused_by_name)
{
	expect_load_err("node = \"gw1\";\nsyncd = {\n  port = 1;\n  tls = { a = 1; };\n"
	    "  tls = { b = 2; };\n};\n", "ut.conf:5:", "syncd.tls is set twice");
	expect_load_err("a = ( { b = 1; }, { c = 1; c = 2; } );\n", "ut.conf:1:",
	    "a.c is set twice");
	/* libconfig adds a setting at its name, before any '=' (found by fuzz/conf_scan). */
	expect_load_err("a = { };\na\n", "ut.conf:2:", "a is set twice");
	/* The same name in two groups is two settings; true and false are values. */
	conf_free(load("a = { x = 1; };\nb = { x = 1; };\nl = ( { x = 1; }, { x = 2; } );\n"
	    "t = [ true, TRUE, false ];\n"));
}

Test(conf, include_is_refused_with_its_line)
{
	char path[PATH_MAX], text[PATH_MAX + 64];

	write_temp(path, "syncd = { port = 1; };\n", 23);
	snprintf(text, sizeof(text), "node = \"gw1\";\n@include \"%s\"\n", path);
	expect_load_err(text, "ut.conf:2:", "@include is not supported");
	unlink(path);
}

Test(conf, directory_and_fifo_are_refused_with_their_own_error, .timeout = 60)
{
	char path[] = "/tmp/vpcfwd-conf-ut.XXXXXX", fifo[PATH_MAX];

	cr_assert_null(conf_load("/tmp"));
	cr_assert_not_null(strstr(conf_load_error(), "/tmp: cannot read: a directory"), "%s",
	    conf_load_error());
	/* Opening a FIFO without a writer must not wait for one. */
	cr_assert_not_null(mkdtemp(path));
	snprintf(fifo, sizeof(fifo), "%s/fifo", path);
	cr_assert_eq(mkfifo(fifo, 0600), 0);
	cr_assert_null(conf_load(fifo));
	cr_assert_not_null(strstr(conf_load_error(), "cannot read: not a regular file"), "%s",
	    conf_load_error());
	unlink(fifo);
	rmdir(path);
}

Test(conf, file_and_string_past_the_size_cap_are_refused)
{
	size_t len = CONF_SIZE_MAX + 1;
	char *text = malloc(len + 1), path[PATH_MAX];

	/* A valid configuration: one long string. */
	memset(text, 'x', len);
	memcpy(text, "a = \"", 5);
	memcpy(text + len - 3, "\";\n", 3);
	text[len] = '\0';
	expect_load_err(text, "ut.conf: larger than 256 KiB", NULL);
	write_temp(path, text, len);
	cr_assert_null(conf_load(path));
	cr_assert_not_null(strstr(conf_load_error(), "larger than 256 KiB"), "%s",
	    conf_load_error());
	unlink(path);
	/* One byte less is a configuration. */
	memcpy(text + len - 4, "\";\n", 4);
	conf_free(load(text));
	free(text);
}

Test(conf, group_of_too_many_settings_is_refused)
{
	size_t cap = 16 * (CONF_SCAN_GROUP_MAX + 2), n = 0;
	char *text = malloc(cap);

	n += (size_t)snprintf(text + n, cap - n, "syncd = {\n");
	for (int i = 0; i <= CONF_SCAN_GROUP_MAX; i++)
		n += (size_t)snprintf(text + n, cap - n, "s%d = 1;\n", i);
	snprintf(text + n, cap - n, "};\n");
	expect_load_err(text, "ut.conf:1026:", "group syncd holds more than 1024 settings");
	free(text);
}

Test(conf, nul_byte_is_refused_with_its_line)
{
	static const char text[] = "node = \"gw1\";\n\nsyncd = { };\0rule_store = 5;\n";
	char path[PATH_MAX];

	write_temp(path, text, sizeof(text) - 1);
	cr_assert_null(conf_load(path));
	cr_assert_not_null(strstr(conf_load_error(), ":3: a NUL byte"), "%s", conf_load_error());
	unlink(path);
}
