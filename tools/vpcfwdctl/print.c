/*
 * vpcfwdctl print: the API's objects for eyes or for scripts. With --json an object
 * or a list is printed exactly as the controller sent it (one array for a list, its
 * pages joined; the object of a show, create, migrate or reset). As text, a list is a
 * table whose columns are the object's fields in the API's order, aligned, numbers to
 * the right; a show is a field a line; a create, migrate or reset is one line, "vm
 * web1 vpc blue ...". Text never carries a control byte from the controller to the
 * terminal.
 */
#include "tools/vpcfwdctl/ctl.h"

#include "common/json.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CELL_MAX	512	/* a value as text; longer ones are cut */
#define FIELDS_MAX	PRINT_FIELDS_MAX

struct field {
	const char *key;
	bool num;		/* right-aligned */
};

static const struct objdef {
	const char *word;	/* the one-line form's first word */
	struct field f[FIELDS_MAX + 1];
} objs[] = {
	[CTL_VPC] = { "vpc", { { "name" }, { "vni", true }, { "cidrs" }, { "gen", true },
	    { "version", true }, { "vms", true } } },
	[CTL_HOST] = { "host", { { "name" }, { "vtep" }, { "kind" }, { "vms", true } } },
	[CTL_VM] = { "vm", { { "name" }, { "vpc" }, { "vni", true }, { "ip" }, { "mac" },
	    { "host" }, { "vtep" }, { "tap" } } },
	[CTL_RULE] = { "rule", { { "vni", true }, { "ip" }, { "mac" }, { "vtep" },
	    { "version", true }, { "op" } } },
	[CTL_GATEWAY] = { "gateway", { { "node" }, { "capacity", true }, { "used", true },
	    { "room", true }, { "tombstones", true }, { "vnis", true }, { "lag", true },
	    { "incomplete_vnis" } } },
};

static bool
known_field(const struct objdef *d, const char *key)
{
	for (size_t i = 0; d->f[i].key; i++)
		if (strcmp(d->f[i].key, key) == 0)
			return true;
	return false;
}

static void
append(char *buf, size_t len, size_t *o, const char *s)
{
	int n = snprintf(buf + *o, len - *o, "%s", s);

	*o = (size_t)n >= len - *o ? len - 1 : *o + (size_t)n;
}

/* v as text into buf: strings as they are, arrays joined with ',', absent as "-". */
static const char *
cell(char *buf, size_t len, json_t *v)
{
	char tmp[CELL_MAX], *dump;
	size_t o = 0;

	if (v == NULL)
		return "-";
	buf[0] = '\0';
	switch (json_typeof(v)) {
	case JSON_STRING:
		append(buf, len, &o, json_string_value(v));
		break;
	case JSON_INTEGER:
		snprintf(buf, len, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		break;
	case JSON_ARRAY:
		for (size_t i = 0; i < json_array_size(v); i++) {
			if (i)
				append(buf, len, &o, ",");
			append(buf, len, &o, cell(tmp, sizeof(tmp), json_array_get(v, i)));
		}
		break;
	default:
		if (json_is_null(v))
			return "-";
		if ((dump = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY)) != NULL) {
			append(buf, len, &o, dump);
			free(dump);
		}
		break;
	}
	if (buf[0] == '\0')
		return "-";
	return ctl_oneline(buf, len, buf);
}

/* One row of the table (the header when o is NULL) at pl's widths. */
static void
table_row(const struct print_list *pl, json_t *o)
{
	const struct objdef *d = &objs[pl->obj];
	char up[32], buf[CELL_MAX];

	for (size_t i = 0; d->f[i].key; i++) {
		const char *s;
		bool last = d->f[i + 1].key == NULL;

		if (o == NULL) {
			size_t k;

			for (k = 0; d->f[i].key[k] && k + 1 < sizeof(up); k++)
				up[k] = (char)toupper((unsigned char)d->f[i].key[k]);
			up[k] = '\0';
			s = up;
		} else
			s = cell(buf, sizeof(buf), json_object_get(o, d->f[i].key));
		if (d->f[i].num)
			printf("%*s", (int)pl->w[i], s);
		else if (last)
			fputs(s, stdout);
		else
			printf("%-*s", (int)pl->w[i], s);
		fputs(last ? "\n" : "  ", stdout);
	}
}

/*
 * Widen pl's columns to this page's cells; the first page also prints the header. So a
 * table is aligned within each page, and columns only ever widen: one page (the API
 * pages listings) is the most held at once, however long the listing.
 */
static void
table_page(struct print_list *pl, json_t *arr)
{
	const struct objdef *d = &objs[pl->obj];
	char buf[CELL_MAX];

	for (size_t r = 0; r < json_array_size(arr); r++)
		for (size_t i = 0; d->f[i].key; i++) {
			size_t l = strlen(cell(buf, sizeof(buf),
			    json_object_get(json_array_get(arr, r), d->f[i].key)));

			if (l > pl->w[i])
				pl->w[i] = l;
		}
	if (!pl->header) {
		table_row(pl, NULL);
		pl->header = true;
	}
	for (size_t r = 0; r < json_array_size(arr); r++)
		table_row(pl, json_array_get(arr, r));
}

/* s indented by two more spaces: an element of the array json_print would make. */
static void
json_element(const char *s)
{
	fputs("  ", stdout);
	for (; *s; s++) {
		fputc(*s, stdout);
		if (*s == '\n')
			fputs("  ", stdout);
	}
}

void
print_list_begin(struct print_list *pl, const struct ctl *c, enum ctl_obj obj)
{
	const struct objdef *d = &objs[obj];

	memset(pl, 0, sizeof(*pl));
	pl->obj = obj;
	pl->json = c->json;
	for (size_t i = 0; d->f[i].key; i++)
		pl->w[i] = strlen(d->f[i].key);
}

void
print_list_page(struct print_list *pl, json_t *arr)
{
	if (!pl->json) {
		table_page(pl, arr);
		return;
	}
	for (size_t r = 0; r < json_array_size(arr); r++) {
		char *s = json_dumps(json_array_get(arr, r), JSON_INDENT(2));

		if (s == NULL)
			ctl_fail(CTL_EXIT_ERROR, "out of memory printing JSON");
		fputs(pl->n ? ",\n" : "[\n", stdout);
		json_element(s);
		free(s);
		pl->n++;
	}
}

void
print_list_end(struct print_list *pl)
{
	if (pl->json)
		fputs(pl->n ? "\n]\n" : "[]\n", stdout);
	else if (!pl->header)
		table_row(pl, NULL);
}

void
print_line(const struct ctl *c, enum ctl_obj obj, json_t *o)
{
	const struct objdef *d = &objs[obj];
	char buf[CELL_MAX];

	if (c->json) {
		json_print(stdout, json_incref(o));
		return;
	}
	fputs(d->word, stdout);
	for (size_t i = 0; d->f[i].key; i++) {
		/* "vm web1 vpc blue": the name follows the object's word without its key. */
		if (strcmp(d->f[i].key, "name") != 0)
			printf(" %s", d->f[i].key);
		printf(" %s", cell(buf, sizeof(buf), json_object_get(o, d->f[i].key)));
	}
	fputc('\n', stdout);
}

void
print_show(const struct ctl *c, enum ctl_obj obj, json_t *o)
{
	const struct objdef *d = &objs[obj];
	char buf[CELL_MAX];
	int w = 0;

	if (c->json) {
		json_print(stdout, json_incref(o));
		return;
	}
	const char *key;
	char kbuf[64];
	json_t *v;

	/* The list's columns, then what a show has beyond them (a VPC's incomplete_at). */
	for (size_t i = 0; d->f[i].key; i++)
		if ((int)strlen(d->f[i].key) > w)
			w = (int)strlen(d->f[i].key);
	json_object_foreach(o, key, v)
		if ((int)strlen(key) > w && (int)strlen(key) < (int)sizeof(kbuf))
			w = (int)strlen(key);
	for (size_t i = 0; d->f[i].key; i++)
		printf("%-*s  %s\n", w, d->f[i].key,
		    cell(buf, sizeof(buf), json_object_get(o, d->f[i].key)));
	json_object_foreach(o, key, v)
		if (!known_field(d, key))
			printf("%-*s  %s\n", w, ctl_oneline(kbuf, sizeof(kbuf), key),
			    cell(buf, sizeof(buf), v));
}
