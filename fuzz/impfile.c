/*
 * fuzz/impfile: vpcfwdctl's import file reader (tools/vpcfwdctl/impfile.c: JSON lines or
 * CSV, docs/cli.md). The input is a whole file. Every call must return 1, 0 or -1;
 * every VM handed out must pass the controller's checks again and hold only string
 * values under known keys; every error is one printable line naming nothing past
 * IMPFILE_ERR_MAX; line numbers only grow. What was read is then written out again, in
 * the other format (CSV with every field quoted, "" for a quote, in the reverse column
 * order; or JSON lines), and read back: the same VMs, in the same order. abort() on any
 * difference; ASan and LeakSanitizer catch the rest.
 */
#include "tools/vpcfwdctl/impfile.c"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define VMS_MAX	64

static void
check_err(const char *err)
{
	size_t n = strnlen(err, IMPFILE_ERR_MAX);

	if (n == 0 || n == IMPFILE_ERR_MAX)
		abort();
	for (size_t i = 0; i < n; i++)
		if (err[i] < 0x20 || err[i] > 0x7e)
			abort();
}

/* Read every VM of f (at most VMS_MAX) into vms; the count, or -1 after an error. */
static int
read_all(FILE *f, json_t **vms)
{
	struct impfile im;
	uint64_t line = 0;
	int n = 0, r = 1;

	impfile_init(&im, f);
	while (n < VMS_MAX && (r = impfile_next(&im, &vms[n])) == 1) {
		const char *key;
		json_t *val;
		char err[IMPFILE_ERR_MAX];

		if (im.line <= line || !json_is_object(vms[n]))
			abort();
		line = im.line;
		json_object_foreach(vms[n], key, val)
			if (arg_find(key) < 0 || !json_is_string(val))
				abort();
		if (impfile_vm_check(vms[n], err) != 0)
			abort();
		n++;
	}
	if (r != 1 && r != 0 && r != -1)
		abort();
	impfile_fini(&im);
	if (r != -1)
		return n;
	check_err(im.err);
	while (n > 0)
		json_decref(vms[--n]);
	return -1;
}

static void
put_csv_field(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

/* The VMs again, as CSV (columns reversed, every field quoted) or as JSON lines. */
static char *
write_all(json_t **vms, int n, bool csv, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);

	if (f == NULL)
		abort();
	if (csv) {
		for (int a = IMPFILE_COLS_MAX - 1; a >= 0; a--)
			fprintf(f, "%s%s", args[a].key, a ? "," : "\r\n");
		for (int i = 0; i < n; i++)
			for (int a = IMPFILE_COLS_MAX - 1; a >= 0; a--) {
				const char *v = json_string_value(json_object_get(vms[i],
				    args[a].key));

				put_csv_field(f, v ? v : "");
				fputs(a ? " , " : "\n", f);
			}
	} else {
		for (int i = 0; i < n; i++) {
			char *s = json_dumps(vms[i], JSON_COMPACT);

			if (s == NULL)
				abort();
			fprintf(f, "%s\n\n", s);
			free(s);
		}
	}
	if (fclose(f) != 0)
		abort();
	return buf;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *vms[VMS_MAX], *again[VMS_MAX];
	FILE *f = fmemopen((void *)data, size, "r");
	char *text;
	size_t len;
	int n, m;

	if (size == 0 || f == NULL) {
		if (f)
			fclose(f);
		return 0;
	}
	n = read_all(f, vms);
	fclose(f);
	if (n <= 0)
		return 0;
	for (int pass = 0; pass < 2; pass++) {
		text = write_all(vms, n, pass == 0, &len);
		if ((f = fmemopen(text, len, "r")) == NULL)
			abort();
		m = read_all(f, again);
		fclose(f);
		if (m != n)
			abort();
		for (int i = 0; i < n; i++) {
			if (!json_equal(vms[i], again[i]))
				abort();
			json_decref(again[i]);
		}
		free(text);
	}
	for (int i = 0; i < n; i++)
		json_decref(vms[i]);
	return 0;
}
