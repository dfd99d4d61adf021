/*
 * fuzz/conf_scan: the configuration pre-scanner (common/conf_scan.c) against libconfig
 * itself. The input is a whole file. conf_scan must return 0 or -1; an error is one
 * printable line at a line of the input. What it accepts comes back with the same lines,
 * no shorter, and scanned again comes back unchanged (every integer has its L already).
 * libconfig then parses the copy: it must never find a duplicate the scanner missed,
 * must accept it when it accepted the input, and every integer it reads must be a
 * 64-bit one (an integer the scanner did not see would be a 32-bit one, and could have
 * wrapped). abort() on any difference; ASan and LeakSanitizer catch the rest (but for
 * libconfig's own leak).
 */
#include "common/conf_scan.h"

#include <libconfig.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *__lsan_default_suppressions(void);

/* libconfig 1.5 leaks what its scanner held when a syntax error stops it. */
const char *
__lsan_default_suppressions(void)
{
	return "leak:libconfig.so\n";
}

static size_t
count_lines(const char *p, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		k += p[i] == '\n';
	return k;
}

static void
check_err(const struct conf_scan_err *e, const uint8_t *data, size_t size)
{
	size_t n = strnlen(e->msg, sizeof(e->msg));

	if (n == 0 || n == sizeof(e->msg))
		abort();
	for (size_t i = 0; i < n; i++)
		if (e->msg[i] < 0x20 || e->msg[i] > 0x7e)
			abort();
	if (e->line < 1 || (size_t)e->line > count_lines((const char *)data, size) + 1)
		abort();
}

/* Every integer libconfig read from the scanned copy is a 64-bit one. */
static void
check_ints(config_setting_t *s)
{
	int n;

	switch (config_setting_type(s)) {
	case CONFIG_TYPE_INT:
		abort();
	case CONFIG_TYPE_GROUP:
	case CONFIG_TYPE_ARRAY:
	case CONFIG_TYPE_LIST:
		n = config_setting_length(s);
		for (int i = 0; i < n; i++)
			check_ints(config_setting_get_elem(s, i));
		break;
	default:
		break;
	}
}

/* libconfig on a NUL-terminated text: 1 when it parses. */
static int
parse(const char *text, config_t *cf)
{
	config_init(cf);
	return config_read_string(cf, text) == CONFIG_TRUE;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf_scan_err err;
	char *out, *again, *in;
	config_t cf;
	int rc = conf_scan((const char *)data, size, &out, &err);

	if (rc != 0 && rc != -1)
		abort();
	if (rc < 0) {
		if (out != NULL)
			abort();
		check_err(&err, data, size);
		return 0;
	}
	if (strlen(out) < size || count_lines(out, strlen(out)) !=
	    count_lines((const char *)data, size))
		abort();
	if (conf_scan(out, strlen(out), &again, &err) != 0 || strcmp(again, out) != 0)
		abort();
	free(again);

	if (parse(out, &cf)) {
		check_ints(config_root_setting(&cf));
	} else {
		if (strcmp(config_error_text(&cf), "duplicate setting name") == 0)
			abort();
		/* The scanner refuses a NUL, so the input is a C string as it is. */
		if ((in = malloc(size + 1)) == NULL)
			abort();
		memcpy(in, data, size);
		in[size] = '\0';
		config_destroy(&cf);
		if (parse(in, &cf))
			abort();
		free(in);
	}
	config_destroy(&cf);
	free(out);
	return 0;
}
