/*
 * json: see json.h. A helper that returns has done all it was asked; any failure exits
 * with one line on stderr, so a tool prints a whole document or none.
 */
#include "common/json.h"

#include <err.h>

json_t *
json_u64(uint64_t v)
{
	return v <= INT64_MAX ? json_integer((json_int_t)v) : json_real((double)v);
}

json_t *
json_checked(json_t *j)
{
	if (j == NULL)
		errx(1, "out of memory building JSON");
	return j;
}

void
json_push(json_t *a, json_t *v)
{
	if (v == NULL || json_array_append_new(a, v) < 0)
		errx(1, "out of memory building JSON");
}

void
json_print(FILE *f, json_t *doc)
{
	if (json_dumpf(doc, f, JSON_INDENT(2)) < 0)
		errx(1, "cannot write JSON");
	fputc('\n', f);
	json_decref(doc);
}
