/*
 * json: see json.h. A helper that returns has done all it was asked; any failure exits
 * with one line on stderr, so a tool prints a whole document or none.
 */
#include "common/json.h"

#include <err.h>
#include <string.h>

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

/* The length of the well-formed UTF-8 sequence at s (RFC 3629, Table 3-7), 0 if none. */
static size_t
utf8_seq(const unsigned char *s)
{
	unsigned char c = s[0];
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4;
	else
		return 0;
	/* The second byte's range excludes overlongs, surrogates and > U+10FFFF. */
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;	/* the NUL that ends src is caught here too */
	return n;
}

size_t
json_utf8_repair(char *dst, size_t len, const char *src)
{
	static const char fffd[] = "\xef\xbf\xbd";
	const unsigned char *s = (const unsigned char *)src;
	size_t o = 0;

	if (len == 0)
		return 0;
	while (*s) {
		size_t n = utf8_seq(s);
		const char *from = n ? (const char *)s : fffd;
		size_t w = n ? n : 3;

		if (o + w > len - 1)
			break;
		memcpy(dst + o, from, w);
		o += w;
		s += n ? n : 1;
	}
	dst[o] = '\0';
	return o;
}
