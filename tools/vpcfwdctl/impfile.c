/*
 * impfile: see impfile.h. A line is read into a buffer of IMPFILE_LINE_MAX bytes (one
 * longer is refused at its limit, so a 1 GB line costs nothing), split in place, turned
 * into a jansson object and checked by impfile_vm_check, the one place that knows
 * vm.create's arguments; so both formats fail in the same words, which are the
 * controller's (procs/controller/api.c).
 */
#include "tools/vpcfwdctl/impfile.h"

#include "common/addr.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum arg_val { A_NAME, A_IP4, A_MAC, A_TAP };

/* vm.create's arguments, in the API's order. */
static const struct arg {
	const char *key;
	bool required;
	enum arg_val val;
} args[IMPFILE_COLS_MAX] = {
	{ "name", true, A_NAME },
	{ "vpc", true, A_NAME },
	{ "ip", true, A_IP4 },
	{ "host", true, A_NAME },
	{ "mac", false, A_MAC },
	{ "tap", false, A_TAP },
};

#define COLUMNS	"name,vpc,ip,host[,mac][,tap]"

static int __attribute__((format(printf, 2, 3)))
fail(char *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, IMPFILE_ERR_MAX, fmt, ap);
	va_end(ap);
	addr_printable(err);
	return -EINVAL;
}

static int
arg_find(const char *key)
{
	for (int i = 0; i < IMPFILE_COLS_MAX; i++)
		if (strcmp(args[i].key, key) == 0)
			return i;
	return -1;
}

int
impfile_vm_check(json_t *vm, char *err)
{
	char aerr[ADDR_ERR_MAX], what[ADDR_QUOTE_MAX + 1];
	const char *key;
	json_t *v;
	uint8_t mac[6];
	uint32_t ip;
	int r = 0;

	json_object_foreach(vm, key, v)
		if (arg_find(key) < 0)
			return fail(err, "unknown argument '%s'", addr_quote(what, key));
	for (int i = 0; i < IMPFILE_COLS_MAX; i++) {
		const struct arg *a = &args[i];
		const char *s;

		if ((v = json_object_get(vm, a->key)) == NULL) {
			if (a->required)
				return fail(err, "%s is missing", a->key);
			continue;
		}
		if ((s = json_string_value(v)) == NULL)
			return fail(err, "%s must be a string", a->key);
		switch (a->val) {
		case A_NAME:
			r = addr_name_check(a->key, s, aerr);
			break;
		case A_IP4:
			r = addr_ip4_check(a->key, s, &ip, aerr);
			break;
		case A_MAC:
			r = addr_mac_check(a->key, s, mac, aerr);
			break;
		case A_TAP:
			r = addr_tap_check(a->key, s, aerr);
			break;
		}
		if (r < 0)
			return fail(err, "%s", aerr);
	}
	return 0;
}

/*
 * Split s in place into fields at commas; a field's surrounding blanks go, a quoted
 * field keeps what is inside its quotes. Stores at most max fields, returns how many
 * there are, or -EINVAL with err.
 */
static int
csv_split(char *s, char **f, int max, char *err)
{
	int n = 0;

	for (;;) {
		char *start, *o;

		while (*s == ' ' || *s == '\t')
			s++;
		start = o = s;
		if (*s == '"') {
			for (s++;; s++) {
				if (*s == '\0')
					return fail(err, "a quoted field is not closed");
				if (*s == '"' && s[1] == '"')
					s++;
				else if (*s == '"')
					break;
				*o++ = *s;
			}
			s++;
			while (*s == ' ' || *s == '\t')
				s++;
			if (*s != ',' && *s != '\0')
				return fail(err, "a closing quote must end its field");
		} else {
			while (*s != ',' && *s != '\0')
				*o++ = *s++;
			while (o > start && (o[-1] == ' ' || o[-1] == '\t'))
				o--;
		}
		if (n < max)
			f[n] = start;
		n++;
		if (*s == '\0') {
			*o = '\0';
			return n;
		}
		s++;
		*o = '\0';
	}
}

static int
csv_header(struct impfile *im, char *s)
{
	char *f[IMPFILE_COLS_MAX + 1], what[ADDR_QUOTE_MAX + 1];
	bool seen[IMPFILE_COLS_MAX] = { false };
	int n = csv_split(s, f, IMPFILE_COLS_MAX + 1, im->err);

	if (n < 0)
		return -1;
	for (int i = 0; i < n; i++) {
		int a;

		if (i == IMPFILE_COLS_MAX)	/* a 7th column repeats or is unknown */
			return fail(im->err, "the CSV header has more than %d columns (want "
			    COLUMNS ")", IMPFILE_COLS_MAX);
		for (a = 0; a < IMPFILE_COLS_MAX; a++)
			if (strcasecmp(args[a].key, f[i]) == 0)
				break;
		if (a == IMPFILE_COLS_MAX)
			return fail(im->err, "the CSV header has an unknown column %s (want "
			    COLUMNS ")", addr_quote(what, f[i]));
		if (seen[a])
			return fail(im->err, "the CSV header names column %s twice",
			    args[a].key);
		seen[a] = true;
		im->col[i] = a;
	}
	for (int a = 0; a < IMPFILE_COLS_MAX; a++)
		if (args[a].required && !seen[a] && (a == 0 || !im->names_only))
			return fail(im->err, "the CSV header lacks column %s (want " COLUMNS ")",
			    args[a].key);
	im->ncols = n;
	return 0;
}

static json_t *
csv_row(struct impfile *im, char *s)
{
	char *f[IMPFILE_COLS_MAX];
	const char *val[IMPFILE_COLS_MAX] = { NULL };
	json_t *vm;
	int n = csv_split(s, f, IMPFILE_COLS_MAX, im->err);

	if (n < 0)
		return NULL;
	if (n != im->ncols) {
		fail(im->err, "the row has %d field%s, the CSV header %d", n, n == 1 ? "" : "s",
		    im->ncols);
		return NULL;
	}
	for (int i = 0; i < n; i++)
		val[im->col[i]] = f[i];
	if ((vm = json_object()) == NULL)
		goto nomem;
	for (int a = 0; a < IMPFILE_COLS_MAX; a++)
		if (val[a] && val[a][0] &&
		    json_object_set_new(vm, args[a].key, json_string(val[a])) < 0)
			goto nomem;
	return vm;
nomem:
	json_decref(vm);
	fail(im->err, "out of memory");
	return NULL;
}

static json_t *
json_line(struct impfile *im, const char *s)
{
	json_error_t jerr;
	json_t *vm = json_loads(s, JSON_REJECT_DUPLICATES, &jerr);

	if (vm == NULL) {
		fail(im->err, "bad JSON: %s", jerr.text);
		return NULL;
	}
	if (!json_is_object(vm)) {
		json_decref(vm);
		fail(im->err, "a line must be one JSON object of vm.create's arguments");
		return NULL;
	}
	return vm;
}

/* A line of a names file: the name, its surrounding blanks gone. */
static json_t *
names_line(struct impfile *im, char *s)
{
	size_t n = strlen(s);
	json_t *vm;

	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
	if ((vm = json_pack("{s:s}", "name", s)) == NULL)
		fail(im->err, "name must be valid UTF-8");
	return vm;
}

void
impfile_init(struct impfile *im, FILE *f)
{
	memset(im, 0, sizeof(*im));
	im->f = f;
}

void
impfile_init_names(struct impfile *im, FILE *f)
{
	impfile_init(im, f);
	im->names_only = true;
}

/* For names only: the VM's name, checked, as the only key of a new *vm. */
static int
name_only(struct impfile *im, json_t **vm)
{
	json_t *v = json_object_get(*vm, "name");
	char aerr[ADDR_ERR_MAX];
	json_t *out;

	if (v == NULL)
		return fail(im->err, "name is missing");
	if (!json_is_string(v))
		return fail(im->err, "name must be a string");
	if (addr_name_check("name", json_string_value(v), aerr) < 0)
		return fail(im->err, "%s", aerr);
	if ((out = json_pack("{s:O}", "name", v)) == NULL)
		return fail(im->err, "out of memory");
	json_decref(*vm);
	*vm = out;
	return 0;
}

void
impfile_fini(struct impfile *im)
{
	free(im->buf);
	im->buf = NULL;
}

/*
 * The next line into im->buf without its '\n' (the last line may lack one): 1 and its
 * length in *len, 0 at the end of the file, -EINVAL with im->err. The bytes of a line too
 * long or holding a NUL are not read past the first that breaks the rule.
 */
static int
read_line(struct impfile *im, size_t *len)
{
	size_t n = 0;
	int ch;

	if (im->buf == NULL && (im->buf = malloc(IMPFILE_LINE_MAX + 1)) == NULL)
		return fail(im->err, "out of memory");
	errno = 0;
	if ((ch = getc_unlocked(im->f)) == EOF && !ferror(im->f))
		return 0;
	im->line++;
	for (; ch != EOF && ch != '\n'; ch = getc_unlocked(im->f)) {
		if (ch == '\0')
			return fail(im->err, "a line must not hold a NUL byte");
		if (n == IMPFILE_LINE_MAX)
			return fail(im->err, "a line must be at most %d bytes (a VM's takes a few "
			    "hundred)", IMPFILE_LINE_MAX);
		im->buf[n++] = (char)ch;
	}
	if (ferror(im->f))
		return fail(im->err, "cannot read: %s", strerror(errno ? errno : EIO));
	im->buf[n] = '\0';
	*len = n;
	return 1;
}

int
impfile_next(struct impfile *im, json_t **vm)
{
	for (;;) {
		size_t n = 0;
		char *s;
		int r;

		if ((r = read_line(im, &n)) <= 0)
			return r < 0 ? -1 : 0;
		s = im->buf;
		if (im->line == 1 && strncmp(s, "\xef\xbb\xbf", 3) == 0)
			s += 3;
		while (n > 0 && im->buf[n - 1] == '\r')
			im->buf[--n] = '\0';
		s += strspn(s, " \t");
		if (*s == '\0')
			continue;
		if (im->format == IMPFILE_UNKNOWN) {
			im->format = *s == '{' ? IMPFILE_JSONL : IMPFILE_CSV;
			if (im->names_only && *s != '{' && strchr(s, ',') == NULL)
				im->format = IMPFILE_NAMES;
			if (im->format == IMPFILE_CSV) {
				if (csv_header(im, s) < 0)
					return -1;
				continue;
			}
		}
		if (im->format == IMPFILE_NAMES)
			*vm = names_line(im, s);
		else
			*vm = im->format == IMPFILE_JSONL ? json_line(im, s) : csv_row(im, s);
		if (*vm == NULL)
			return -1;
		if (im->names_only ? name_only(im, vm) < 0 : impfile_vm_check(*vm, im->err) < 0) {
			json_decref(*vm);
			*vm = NULL;
			return -1;
		}
		return 1;
	}
}
