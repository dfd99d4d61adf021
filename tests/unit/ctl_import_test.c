/*
 * ctl_import_test: vpcfwdctl's import (tools/vpcfwdctl/impfile.c and import.c, built
 * into this test since they belong to the tool alone). Each VM comes out of the file as
 * the vm.create argument object the controller would be sent, with the number of the
 * line it came from; a bad line is refused with its number and the controller's words,
 * in either format. The batches go to a fake controller (the client functions below):
 * each is one vm.import request within a frame, the VMs in file order, and an element
 * the controller refuses is named by its file line.
 */
#include "tools/vpcfwdctl/impfile.c"
#include "tools/vpcfwdctl/import.c"

#include <criterion/criterion.h>
#include <setjmp.h>
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#define lsan_disable()	__lsan_disable()
#define lsan_enable()	__lsan_enable()
#else
#define lsan_disable()	((void)0)
#define lsan_enable()	((void)0)
#endif

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
	/* Bytes that are no printable ASCII are escaped: the error stays one clean line. */
	expect_bad("\xd1\xce.1.3,h,x,v\n", 1, "unknown column \"\\xd1\\xce.1.3\"");
	expect_bad("{\"name\":\"a\",\"\\u00e9\\n\":\"b\"}\n", 1,
	    "unknown argument '\"\\xc3\\xa9\\x0a\"'");
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

/*
 * A file of a header, a 4 MiB line and a good line: the long line is refused at its
 * number, after reading no more of it than the limit (the FILE's position says so),
 * where it used to be read whole into memory (a 1 GB line took 3 GB).
 */
Test(ctl_import, a_line_past_the_limit_is_refused_without_reading_it_whole)
{
	static const char head[] = "name,vpc,ip,host\nweb1,blue,10.0.0.5,";
	size_t n = 4u << 20, len = strlen(head) + n + 64;
	size_t line2 = strlen("name,vpc,ip,host\n");	/* where line 2 starts */
	char *text = malloc(len);
	struct reader r;
	json_t *vm = NULL;

	cr_assert_not_null(text);
	memcpy(text, head, strlen(head));
	memset(text + strlen(head), 'h', n);
	strcpy(text + strlen(head) + n, "\nweb2,blue,10.0.0.6,host1\n");
	open_text(&r, text, strlen(text));
	cr_assert_eq(impfile_next(&r.im, &vm), -1);
	cr_assert_eq(r.im.line, 2);
	cr_assert_str_eq(r.im.err, "a line must be at most 4096 bytes (a VM's takes a few "
	    "hundred)");
	cr_assert_leq(ftell(r.f), (long)(sizeof(head) + IMPFILE_LINE_MAX + 1),
	    "%ld bytes read to refuse the line", ftell(r.f));
	close_text(&r);

	/* The line of exactly the limit is read, and its value refused for what it is. */
	memset(text + strlen(head), 'h', IMPFILE_LINE_MAX - (strlen(head) - line2));
	strcpy(text + line2 + IMPFILE_LINE_MAX, "\n");
	open_text(&r, text, strlen(text));
	cr_assert_eq(impfile_next(&r.im, &vm), -1);
	cr_assert_eq(r.im.line, 2);
	cr_assert_not_null(strstr(r.im.err, "host must be 1..63"), "%s", r.im.err);
	cr_assert_lt(strlen(r.im.err), 300, "the value is cut in the message");
	close_text(&r);
	text[line2 + IMPFILE_LINE_MAX] = 'h';
	strcpy(text + line2 + IMPFILE_LINE_MAX + 1, "\n");
	expect_bad(text, 2, "a line must be at most 4096 bytes");
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

/* Read for names only: the text must give these names from these lines. */
static void
expect_names(const char *text, const char *const *names, const uint64_t *lines, size_t n)
{
	struct reader r;

	r.f = fmemopen((void *)text, strlen(text), "r");
	cr_assert_not_null(r.f);
	impfile_init_names(&r.im, r.f);
	for (size_t i = 0; i < n; i++) {
		char want[96];

		snprintf(want, sizeof(want), "{\"name\":\"%s\"}", names[i]);
		expect_vm(&r, lines[i], want);
	}
	expect_end(&r);
	close_text(&r);
}

Test(ctl_import, names_come_from_a_list_a_csv_name_column_or_json_lines)
{
	static const char *const names[] = { "web1", "web2" };
	static const uint64_t lines12[] = { 1, 2 }, lines23[] = { 2, 3 }, lines24[] = { 2, 4 };

	expect_names("web1\nweb2\n", names, lines12, 2);
	expect_names("\xef\xbb\xbf web1 \r\n\n\tweb2", names, (const uint64_t[]){ 1, 3 }, 2);
	/* An import file: its other columns, even bad ones, are not the delete's concern. */
	expect_names("host,name,ip\nh1,web1,no ip\n\nh2,web2,10.0.0.6\n", names, lines24, 2);
	expect_names("name,tap\nweb1,\nweb2,t2\n", names, lines23, 2);
	expect_names("{\"name\":\"web1\",\"vpc\":\"blue\"}\n{\"name\":\"web2\"}\n", names,
	    lines12, 2);
}

/* The whole text, read for names, must fail at line `line` with `words`. */
static void
expect_bad_names(const char *text, uint64_t line, const char *words)
{
	struct reader r;
	json_t *vm = NULL;
	int rc;

	r.f = fmemopen((void *)text, strlen(text), "r");
	cr_assert_not_null(r.f);
	impfile_init_names(&r.im, r.f);
	while ((rc = impfile_next(&r.im, &vm)) == 1)
		json_decref(vm);
	cr_assert_eq(rc, -1, "'%s' accepted", text);
	cr_assert_eq(r.im.line, line, "'%s' failed at line %llu: %s", text,
	    (unsigned long long)r.im.line, r.im.err);
	cr_assert_not_null(strstr(r.im.err, words), "error '%s' lacks '%s'", r.im.err, words);
	close_text(&r);
}

Test(ctl_import, a_bad_name_is_refused_at_its_line_never_skipped)
{
	expect_bad_names("web1\nno way\n", 2, "name must");
	expect_bad_names("web1\nweb,2\n", 2, "name must");
	expect_bad_names("vpc,ip\nblue,10.0.0.5\n", 1, "lacks column name");
	expect_bad_names("name,vpc\n,blue\n", 2, "name is missing");
	expect_bad_names("{\"vpc\":\"blue\"}\n", 1, "name is missing");
	expect_bad_names("{\"name\":5}\n", 1, "name must be a string");
}

/*
 * The fake controller: every request sent is kept; each is answered ok, imported in
 * full, unless refuse_at names a request (from 1) and refuse_index an element of it.
 */
static json_t *sent;		/* the requests, parsed */
static int refuse_at = 0, refuse_index;
static size_t nrecv;
static jmp_buf failed;
static char fail_msg[1024];
static int fail_status;

const struct ctl_optdef ctl_opts[CTL_O_NUM] = {
	[CTL_O_BATCH] = { "batch", "batch", "N", CTL_V_BATCH, false },
};

void
ctl_fail(int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(fail_msg, sizeof(fail_msg), fmt, ap);
	va_end(ap);
	fail_status = status;
	longjmp(failed, 1);
}

const char *
ctl_oneline(char *buf, size_t len, const char *s)
{
	snprintf(buf, len, "%s", s);
	return buf;
}

int64_t
cmd_check(const char *key, enum ctl_val v, const char *s)
{
	(void)key;
	(void)v;
	return strtoll(s, NULL, 10);
}

void
client_connect(struct ctl *c)
{
	(void)c;
}

int
client_send(struct ctl *c, const void *payload, size_t len)
{
	json_error_t e;
	json_t *req;

	(void)c;
	cr_assert_leq(len, WIRE_JSON_MAX, "a request of %zu bytes passes a frame", len);
	cr_assert_eq(strlen(payload), len);
	req = json_loadb(payload, len, JSON_REJECT_DUPLICATES, &e);
	cr_assert_not_null(req, "request %zu is not JSON: %s", json_array_size(sent) + 1,
	    e.text);
	json_array_append_new(sent, req);
	return 0;
}

int
client_recv(struct ctl *c, json_t **resp, const char **why)
{
	json_t *req = json_array_get(sent, nrecv++);
	bool del = json_object_get(req, "names") != NULL;
	size_t n = json_array_size(json_object_get(req, del ? "names" : "vms"));

	(void)c;
	*why = NULL;
	cr_assert_not_null(req, "a response awaited before its request was sent");
	if ((int)nrecv == refuse_at) {
		char err[128];

		if (del)
			snprintf(err, sizeof(err), "names[%d]: unknown VM x", refuse_index);
		else
			snprintf(err, sizeof(err), "vms[%d]: ip 10.0.0.0 is the network address "
			    "of 10.0.0.0/16", refuse_index);
		*resp = json_pack("{s:b, s:s}", "ok", 0, "error", err);
	} else
		*resp = json_pack("{s:b, s:I}", "ok", 1, del ? "deleted" : "imported",
		    (json_int_t)n);
	return 0;
}

/* gateway.list: the gateways the fake controller reports (none unless a test sets them). */
static json_t *gateways;

json_t *
client_call(struct ctl *c, json_t *req)
{
	(void)c;
	cr_assert_str_eq(json_string_value(json_object_get(req, "op")), "gateway.list");
	json_decref(req);
	return json_pack("{s:b, s:o}", "ok", 1, "gateways", gateways ? json_incref(gateways) :
	    json_array());
}

const char *
client_lost(const struct ctl *c, int r, char *buf, size_t len)
{
	snprintf(buf, len, "lost the connection to %s: %s", c->socket, strerror(-r));
	return buf;
}

const char *
client_error(json_t *resp, char *buf, size_t len)
{
	snprintf(buf, len, "%s", json_string_value(json_object_get(resp, "error")));
	return buf;
}

static char imp_path[64];

/* A CSV file of n VMs (line i + 2 holds VM i), names padded to `wide` characters. */
static void
write_vms(size_t n, int wide)
{
	FILE *f;

	snprintf(imp_path, sizeof(imp_path), "/tmp/ctl_import_test.%d.csv", (int)getpid());
	cr_assert_not_null(f = fopen(imp_path, "w"));
	fprintf(f, "name,vpc,ip,host\n");
	for (size_t i = 0; i < n; i++)
		fprintf(f, "vm%0*zu,vpc%0*d,10.%zu.%zu.%zu,host%0*d\n", wide - 2, i, wide - 3, 1,
		    (i + 1) >> 16 & 255, (i + 1) >> 8 & 255, (i + 1) & 255, wide - 4, 2);
	cr_assert_eq(fclose(f), 0);
}

/* vpcfwdctl import (or delete) [--batch batch] FILE against the fake; its exit status. */
static int
run_file(int (*run)(struct ctl *, const struct ctl_args *), const char *batch)
{
	struct ctl c = { .socket = "fake.sock", .api.fd = -1 };
	char *pos[] = { imp_path, NULL };
	struct ctl_args a = { .pos = pos, .npos = 1 };

	a.opt[CTL_O_BATCH] = batch;
	json_decref(sent);
	sent = json_array();
	nrecv = 0;
	fail_status = 0;
	/*
	 * A refusal ends vpcfwdctl (ctl_fail exits) with the import's memory still held;
	 * here ctl_fail jumps back instead, so that memory is left behind on purpose.
	 */
	if (refuse_at)
		lsan_disable();
	if (setjmp(failed) == 0)
		run(&c, &a);
	if (refuse_at)
		lsan_enable();
	return fail_status;
}

/* Every request is vm.import and nothing else; their VMs are the file's n, in order. */
static void
expect_sent_in_order(size_t n)
{
	size_t i, next = 0;
	json_t *req;

	json_array_foreach(sent, i, req) {
		json_t *vms = json_object_get(req, "vms"), *vm;
		size_t j;
		char want[32];

		cr_assert_str_eq(json_string_value(json_object_get(req, "op")), "vm.import");
		cr_assert_eq(json_object_size(req), 2, "request %zu has more than op and vms", i);
		cr_assert(json_array_size(vms) > 0, "request %zu is empty", i);
		json_array_foreach(vms, j, vm) {
			const char *name = json_string_value(json_object_get(vm, "name"));

			snprintf(want, sizeof(want), "%zu", next++);
			cr_assert_not_null(name);
			cr_assert_eq(strtoull(name + 2, NULL, 10), next - 1,
			    "request %zu element %zu is %s, not VM %s", i, j, name, want);
		}
	}
	cr_assert_eq(next, n, "%zu VMs sent, not %zu", next, n);
}

Test(ctl_import, a_file_larger_than_the_smallest_gateways_room_imports_nothing)
{
	gateways = json_pack("[{s:s, s:i}, {s:s, s:i}, {s:s}]", "node", "gw1", "room", 1000,
	    "node", "gw2", "room", 6, "node", "gw3");
	write_vms(25, 8);
	lsan_disable();		/* ctl_fail jumps back here with the import's memory held */
	cr_assert_eq(run_file(import_run, "10"), CTL_EXIT_ERROR);
	lsan_enable();
	cr_assert_str_eq(fail_msg, "import would need 25 more rules; gateway gw2 has room for 6 "
	    "(nothing imported)");
	cr_assert_eq(json_array_size(sent), 0, "no batch was sent");
	json_decref(gateways);
	/* With room for all of it (a gateway that has not reported is not asked): imported. */
	gateways = json_pack("[{s:s, s:i}, {s:s}]", "node", "gw1", "room", 25, "node", "gw3");
	cr_assert_eq(run_file(import_run, "10"), 0, "%s", fail_msg);
	expect_sent_in_order(25);
	json_decref(gateways);
	gateways = NULL;
	unlink(imp_path);
}

Test(ctl_import, batches_are_vm_import_requests_of_the_file_in_order)
{
	write_vms(25, 8);
	cr_assert_eq(run_file(import_run, "10"), 0, "%s", fail_msg);
	cr_assert_eq(json_array_size(sent), 3, "25 VMs in batches of 10");
	cr_assert_eq(json_array_size(json_object_get(json_array_get(sent, 2), "vms")), 5);
	expect_sent_in_order(25);
	unlink(imp_path);
}

/*
 * 90000 VMs of long names make a batch of 100000 larger than the API's 16 MiB: each
 * request is cut to fit, the rest going first into the next, and an element the
 * controller refuses in a later request is still named by its own line.
 */
Test(ctl_import, a_batch_past_a_frame_is_cut_and_the_rest_sent_next_in_order)
{
	size_t n = 90000, first;

	write_vms(n, 63);
	cr_assert_eq(run_file(import_run, "100000"), 0, "%s", fail_msg);
	cr_assert_geq(json_array_size(sent), 2, "one request of %zu VMs passes a frame", n);
	expect_sent_in_order(n);
	first = json_array_size(json_object_get(json_array_get(sent, 0), "vms"));
	cr_assert_lt(first, n);

	refuse_at = 2;
	refuse_index = 3;
	cr_assert_eq(run_file(import_run, "100000"), CTL_EXIT_ERROR, "the refusal was not reported");
	refuse_at = 0;
	/* Element 3 of the second request is VM first + 3, on line first + 3 + 2. */
	char want[128];

	snprintf(want, sizeof(want), "%s:%zu: ip 10.0.0.0 is the network address", imp_path,
	    first + 3 + 2);
	cr_assert_not_null(strstr(fail_msg, want), "'%s' lacks '%s'", fail_msg, want);
	snprintf(want, sizeof(want), "(import stopped; %zu VMs imported before this batch)",
	    first);
	cr_assert_not_null(strstr(fail_msg, want), "'%s' lacks '%s'", fail_msg, want);
	unlink(imp_path);
}

/* delete: the names of the file, in order, in vm.delete requests of "names" alone. */
static void
expect_names_sent_in_order(size_t n)
{
	size_t i, next = 0;
	json_t *req;

	json_array_foreach(sent, i, req) {
		json_t *names = json_object_get(req, "names"), *nm;
		size_t j;

		cr_assert_str_eq(json_string_value(json_object_get(req, "op")), "vm.delete");
		cr_assert_eq(json_object_size(req), 2, "request %zu has more than op and names", i);
		cr_assert(json_array_size(names) > 0, "request %zu is empty", i);
		json_array_foreach(names, j, nm) {
			cr_assert(json_is_string(nm), "request %zu element %zu is no name", i, j);
			cr_assert_eq(strtoull(json_string_value(nm) + 2, NULL, 10), next,
			    "request %zu element %zu is %s, not VM %zu", i, j,
			    json_string_value(nm), next);
			next++;
		}
	}
	cr_assert_eq(next, n, "%zu names sent, not %zu", next, n);
}

Test(ctl_import, delete_sends_the_files_names_in_batches_and_names_a_refused_line)
{
	char want[256];

	write_vms(25, 8);
	cr_assert_eq(run_file(delete_run, "10"), 0, "%s", fail_msg);
	cr_assert_eq(json_array_size(sent), 3, "25 names in batches of 10");
	cr_assert_eq(json_array_size(json_object_get(json_array_get(sent, 2), "names")), 5);
	expect_names_sent_in_order(25);

	/* Element 4 of the second batch: VM 14, on line 16. */
	refuse_at = 2;
	refuse_index = 4;
	cr_assert_eq(run_file(delete_run, "10"), CTL_EXIT_ERROR, "the refusal was not reported");
	refuse_at = 0;
	snprintf(want, sizeof(want), "%s:16: unknown VM x (delete stopped; 10 VMs deleted "
	    "before this batch)", imp_path);
	cr_assert_str_eq(fail_msg, want);
	unlink(imp_path);
}
