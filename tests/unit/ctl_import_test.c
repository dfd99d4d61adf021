/*
 * ctl_import_test: the reader of vpcfwdctl's import files (tools/vpcfwdctl/impfile.c,
 * built into this test since it belongs to the tool alone). Each VM comes out as the
 * vm.create argument object the controller would be sent, with the number of the
 * line it came from; a bad line is refused with its number and the controller's words,
 * in either format.
 */
#include "tools/vpcfwdctl/impfile.c"

#include <criterion/criterion.h>

struct reader {
	FILE *f;
	struct impfile im;
};

static void
open_text(struct reader *r, const char *text, size_t len)
{
	r->f = fmemopen((void *)text, len, "r");
	cr_assert_not_null(r->f);
	impfile_init(&r->im, r->f);
}

static void
close_text(struct reader *r)
{
	impfile_fini(&r->im);
	fclose(r->f);
}

/* The next VM must come from line `line` and dump (compact JSON) as `want`. */
static void
expect_vm(struct reader *r, uint64_t line, const char *want)
{
	json_t *vm = NULL;
	char *got;
	int rc = impfile_next(&r->im, &vm);

	cr_assert_eq(rc, 1, "line %llu: rc %d, %s", (unsigned long long)r->im.line, rc,
	    r->im.err);
	cr_assert_eq(r->im.line, line);
	got = json_dumps(vm, JSON_COMPACT);
	cr_assert_str_eq(got, want);
	free(got);
	json_decref(vm);
}

static void
expect_end(struct reader *r)
{
	json_t *vm = NULL;

	cr_assert_eq(impfile_next(&r->im, &vm), 0, "%s", r->im.err);
}

/* The whole text must fail at line `line` with an error containing `words`. */
static void
expect_bad(const char *text, uint64_t line, const char *words)
{
	struct reader r;
	json_t *vm = NULL;
	int rc;

	open_text(&r, text, strlen(text));
	while ((rc = impfile_next(&r.im, &vm)) == 1)
		json_decref(vm);
	cr_assert_eq(rc, -1, "'%s' accepted", text);
	cr_assert_eq(r.im.line, line, "'%s' failed at line %llu: %s", text,
	    (unsigned long long)r.im.line, r.im.err);
	cr_assert_not_null(strstr(r.im.err, words), "error '%s' lacks '%s'", r.im.err, words);
	close_text(&r);
}

Test(ctl_import, csv_rows_become_vm_create_objects_in_api_order)
{
	static const char text[] =
	    "name,vpc,ip,host,mac,tap\n"				/* 1 */
	    "web1,blue,10.0.0.5,host1,,\n"				/* 2 */
	    "\n"							/* 3 */
	    "web2,blue,10.0.0.6,host2,02:00:00:00:00:06,tapweb2\n";	/* 4 */
	struct reader r;

	open_text(&r, text, sizeof(text) - 1);
	expect_vm(&r, 2, "{\"name\":\"web1\",\"vpc\":\"blue\",\"ip\":\"10.0.0.5\","
	    "\"host\":\"host1\"}");
	expect_vm(&r, 4, "{\"name\":\"web2\",\"vpc\":\"blue\",\"ip\":\"10.0.0.6\","
	    "\"host\":\"host2\",\"mac\":\"02:00:00:00:00:06\",\"tap\":\"tapweb2\"}");
	expect_end(&r);
	cr_assert_eq(r.im.format, IMPFILE_CSV);
	close_text(&r);
}

Test(ctl_import, csv_takes_columns_in_any_order_quotes_bom_and_crlf)
{
	static const char text[] =
	    "\xef\xbb\xbf Host ,\"IP\",name,vpc\r\n"
	    "host1, 10.0.0.5 ,\"web1\",blue\r\n"
	    "   \r\n"
	    "\"host1\",\"10.0.0.6\",\"we\"\"b2\",blue\r\n";
	struct reader r;
	json_t *vm = NULL;

	open_text(&r, text, sizeof(text) - 1);
	expect_vm(&r, 2, "{\"name\":\"web1\",\"vpc\":\"blue\",\"ip\":\"10.0.0.5\","
	    "\"host\":\"host1\"}");
	/* "" inside quotes is one quote: a name the rules then refuse, at its line. */
	cr_assert_eq(impfile_next(&r.im, &vm), -1);
	cr_assert_eq(r.im.line, 4);
	cr_assert_not_null(strstr(r.im.err, "name must be"), "%s", r.im.err);
	cr_assert_not_null(strstr(r.im.err, "we\\\"b2"), "%s", r.im.err);
	close_text(&r);
}

Test(ctl_import, json_lines_keep_their_objects_and_line_numbers)
{
	static const char text[] =
	    "{\"name\":\"web1\",\"vpc\":\"blue\",\"ip\":\"10.0.0.5\",\"host\":\"host1\"}\n"
	    "\n"
	    "  {\"host\":\"host1\",\"tap\":\"t2\",\"name\":\"web2\",\"vpc\":\"blue\","
	    "\"ip\":\"10.0.0.6\"}\r\n"
	    "{\"name\":\"web3\",\"vpc\":\"blue\",\"ip\":\"10.0.0.7\",\"host\":\"host1\"}";
	struct reader r;

	open_text(&r, text, sizeof(text) - 1);
	expect_vm(&r, 1, "{\"name\":\"web1\",\"vpc\":\"blue\",\"ip\":\"10.0.0.5\","
	    "\"host\":\"host1\"}");
	expect_vm(&r, 3, "{\"host\":\"host1\",\"tap\":\"t2\",\"name\":\"web2\",\"vpc\":\"blue\","
	    "\"ip\":\"10.0.0.6\"}");
	expect_vm(&r, 4, "{\"name\":\"web3\",\"vpc\":\"blue\",\"ip\":\"10.0.0.7\","
	    "\"host\":\"host1\"}");
	expect_end(&r);
	cr_assert_eq(r.im.format, IMPFILE_JSONL);
	close_text(&r);
}

Test(ctl_import, empty_file_and_header_alone_hold_no_vm)
{
	struct reader r;

	open_text(&r, "\n\n", 2);
	expect_end(&r);
	close_text(&r);
	open_text(&r, "name,vpc,ip,host\n", 17);
	expect_end(&r);
	cr_assert_eq(r.im.format, IMPFILE_CSV);
	close_text(&r);
}

Test(ctl_import, bad_csv_header_is_named_at_its_line)
{
	expect_bad("\n\nname,vpc,ip,hots\n", 3, "unknown column hots (want name,vpc,ip,host");
	expect_bad("name,vpc,ip\n", 1, "lacks column host");
	expect_bad("name,vpc,ip,host,Name\n", 1, "names column name twice");
	expect_bad("name,vpc,ip,host,mac,tap,name\n", 1, "more than 6 columns");
	expect_bad("name,vpc,,ip,host\n", 1, "unknown column \"\"");
}

Test(ctl_import, bad_csv_rows_are_named_at_their_lines)
{
	expect_bad("name,vpc,ip,host\nweb1,blue,10.0.0.5\n", 2, "the row has 3 fields, the "
	    "CSV header 4");
	expect_bad("name,vpc,ip,host\nweb1,blue,10.0.0.5,host1,x\n", 2, "5 fields");
	expect_bad("name,vpc,ip,host\nweb1,blue,,host1\n", 2, "ip is missing");
	expect_bad("name,vpc,ip,host\nweb1,blue,10.0.0.256,host1\n", 2,
	    "ip must be a dotted IPv4 address");
	expect_bad("name,vpc,ip,host,mac\nweb1,blue,10.0.0.5,host1,01:00:00:00:00:01\n", 2,
	    "mac must be a unicast MAC address");
	expect_bad("name,vpc,ip,host,tap\nweb1,blue,10.0.0.5,host1,a-very-long-tap-name\n", 2,
	    "tap must be 1..15 characters");
	expect_bad("name,vpc,ip,host\nok1,blue,10.0.0.5,host1\n-web,blue,10.0.0.6,host1\n", 3,
	    "name must be 1..63 characters");
	expect_bad("name,vpc,ip,host\nweb1,blue,\"10.0.0.5,host1\n", 2,
	    "a quoted field is not closed");
	expect_bad("name,vpc,ip,host\nweb1,blue,\"10.0.0.5\"x,host1\n", 2,
	    "a closing quote must end its field");
}

Test(ctl_import, bad_json_lines_are_named_at_their_lines)
{
	static const char ok[] =
	    "{\"name\":\"web1\",\"vpc\":\"blue\",\"ip\":\"10.0.0.5\",\"host\":\"host1\"}\n";
	char text[512];

	snprintf(text, sizeof(text), "%s%s", ok, "{\"name\":\"web2\",\n");
	expect_bad(text, 2, "bad JSON");
	snprintf(text, sizeof(text), "%s%s", ok, "[1,2]\n");
	expect_bad(text, 2, "a line must be one JSON object");
	snprintf(text, sizeof(text), "%s%s", ok, "{\"name\":\"w\",\"vpc\":\"b\",\"ip\":"
	    "\"10.0.0.1\",\"host\":\"h\",\"colour\":\"red\"}\n");
	expect_bad(text, 2, "unknown argument 'colour'");
	snprintf(text, sizeof(text), "%s\n\n%s", ok, "{\"name\":\"w\",\"vpc\":\"b\","
	    "\"ip\":\"10.0.0.1\"}\n");
	expect_bad(text, 4, "host is missing");
	expect_bad("{\"name\":\"w\",\"vpc\":\"b\",\"ip\":\"10.0.0.1\",\"host\":5}\n", 1,
	    "host must be a string");
	expect_bad("{\"name\":\"w\",\"vpc\":\"b\",\"ip\":\"10.0.0.1\",\"host\":\"h\","
	    "\"mac\":null}\n", 1, "mac must be a string");
	expect_bad("{\"name\":\"w\",\"name\":\"v\",\"vpc\":\"b\",\"ip\":\"10.0.0.1\","
	    "\"host\":\"h\"}\n", 1, "duplicate");
	expect_bad("{\"name\":\"w\",\"vpc\":\"b\",\"ip\":\"10.0.0.1\",\"host\":\"h\"} {}\n", 1,
	    "bad JSON");
	/* The first line decides: JSON lines, so a CSV line later is bad JSON. */
	snprintf(text, sizeof(text), "%s%s", ok, "web2,blue,10.0.0.6,host1\n");
	expect_bad(text, 2, "bad JSON");
}

Test(ctl_import, a_nul_byte_is_refused_not_cut)
{
	static const char text[] = "name,vpc,ip,host\nweb1,blue,10.0.0.5,host1\0junk\n";
	struct reader r;
	json_t *vm = NULL;

	open_text(&r, text, sizeof(text) - 1);
	cr_assert_eq(impfile_next(&r.im, &vm), -1);
	cr_assert_eq(r.im.line, 2);
	cr_assert_not_null(strstr(r.im.err, "NUL"), "%s", r.im.err);
	close_text(&r);
}

Test(ctl_import, long_lines_are_read_whole)
{
	size_t n = 100000;
	char *text = malloc(n + 64);
	struct reader r;
	json_t *vm = NULL;

	cr_assert_not_null(text);
	strcpy(text, "name,vpc,ip,host\nweb1,blue,10.0.0.5,");
	memset(text + strlen(text), 'h', n);
	strcpy(text + strlen("name,vpc,ip,host\nweb1,blue,10.0.0.5,") + n, "\n");
	open_text(&r, text, strlen(text));
	cr_assert_eq(impfile_next(&r.im, &vm), -1);
	cr_assert_eq(r.im.line, 2);
	cr_assert_not_null(strstr(r.im.err, "host must be 1..63"), "%s", r.im.err);
	cr_assert_lt(strlen(r.im.err), 300, "the value is cut in the message");
	close_text(&r);
	free(text);
}

Test(ctl_import, vm_check_names_the_argument)
{
	char err[IMPFILE_ERR_MAX];
	json_t *vm = json_pack("{s:s, s:s, s:s, s:s}", "name", "web1", "vpc", "blue", "ip",
	    "10.0.0.5", "host", "host1");

	cr_assert_eq(impfile_vm_check(vm, err), 0, "%s", err);
	json_object_set_new(vm, "vpc", json_string("no way"));
	cr_assert_eq(impfile_vm_check(vm, err), -EINVAL);
	cr_assert_not_null(strstr(err, "vpc must be"), "%s", err);
	json_object_set_new(vm, "vpc", json_string("blue"));
	json_object_set_new(vm, "op", json_string("vm.create"));
	cr_assert_eq(impfile_vm_check(vm, err), -EINVAL);
	cr_assert_str_eq(err, "unknown argument 'op'");
	json_decref(vm);
}
