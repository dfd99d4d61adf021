/*
 * conf_scan: see conf_scan.h. The tokens follow libconfig 1.5's scanner.l: a name is
 * [A-Za-z*][-A-Za-z0-9_*]*, an integer [-+]?[0-9]+ or 0[Xx][0-9A-Fa-f]+ with an optional
 * L or LL, a float has a '.' or an exponent; in a string a backslash takes the next
 * character with it. A name is a setting (libconfig's grammar has no other place for
 * one, and adds the setting as soon as it reads the name); each setting records
 * the group (or list) it is in and the setting that group belongs to, which gives an
 * error its path ("controller.db_map_size") and finds duplicates (sorted by group and
 * name at the end, so a file of n settings costs n log n, not libconfig's n^2).
 */
#include "common/conf_scan.h"
#include "common/bytes.h"
#include "common/grow.h"

#include <assert.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct scan_setting {
	const char *name;
	size_t len;
	size_t box;		/* offset of the group's bracket + 1; 0 at top level */
	size_t seq;		/* order in the file */
	int parent;		/* index of the setting whose value holds it, or -1 */
	int line;
};

struct scan_frame {
	size_t box;
	int setting;		/* the setting this bracket opens the value of, or -1 */
	unsigned n;		/* settings directly in it */
};

struct scan {
	const char *text, *p, *end;
	int line;
	struct scan_setting *set;
	size_t nset, capset;
	struct scan_frame stack[CONF_SCAN_DEPTH_MAX + 1];
	int depth;
	int cur;		/* the setting whose value is being read, or -1 */
	char *out;
	size_t out_len, out_cap;
	const char *copied;	/* text before this is in out */
	struct conf_scan_err *err;
};

static int
scan_fail(struct scan *s, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
scan_fail(struct scan *s, int line, const char *fmt, ...)
{
	va_list ap;

	s->err->line = line;
	va_start(ap, fmt);
	vsnprintf(s->err->msg, sizeof(s->err->msg), fmt, ap);
	va_end(ap);
	return -1;
}

/* "a.b.c": the names from the top-level setting down to setting i. */
static void
scan_path(const struct scan *s, int i, char *buf, size_t size)
{
	int chain[CONF_SCAN_DEPTH_MAX + 2], n = 0;
	size_t at = 0;

	buf[0] = '\0';
	for (; i >= 0 && n < (int)(sizeof(chain) / sizeof(chain[0])); i = s->set[i].parent)
		chain[n++] = i;
	while (n-- > 0 && at < size) {
		const struct scan_setting *e = &s->set[chain[n]];
		int w = snprintf(buf + at, size - at, "%s%.*s", at ? "." : "", (int)e->len,
		    e->name);

		if (w < 0)
			break;
		at += (size_t)w;
	}
}

static bool
is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	    c == '-' || c == '_' || c == '*';
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/*
 * Copy the text up to at into out, then an L: libconfig reads the integer as 64 bits.
 * Every integer gets one, not just those past 32 bits: libconfig refuses an array that
 * mixes the two types ([4294967296, 1]).
 */
static void
scan_mark_64(struct scan *s, const char *at)
{
	memcpy(s->out + s->out_len, s->copied, (size_t)(at - s->copied));
	s->out_len += (size_t)(at - s->copied);
	assert(s->out_len < s->out_cap);
	s->out[s->out_len++] = 'L';
	s->copied = at;
}

/* Past the exponent ([eE][-+]?[0-9]+) at q, or q when there is none. */
static const char *
scan_exponent(const struct scan *s, const char *q)
{
	const char *x = q + 1;

	if (q >= s->end || (*q != 'e' && *q != 'E'))
		return q;
	if (x < s->end && (*x == '-' || *x == '+'))
		x++;
	if (x >= s->end || !is_digit(*x))
		return q;
	while (x < s->end && is_digit(*x))
		x++;
	return x;
}

/* A number at s->p (a digit, or a sign or '.' before one). */
static int
scan_number(struct scan *s)
{
	const char *start = s->p, *q = s->p;
	bool neg = false, over = false;
	uint64_t v = 0;

	if (*q == '-' || *q == '+')
		neg = *q++ == '-';
	/* libconfig's hex has no sign. */
	if (q == start && q + 2 < s->end && q[0] == '0' && (q[1] == 'x' || q[1] == 'X') &&
	    bytes_hex_digit(q[2]) >= 0) {
		for (q += 2; q < s->end && bytes_hex_digit(*q) >= 0; q++) {
			over |= v > UINT64_MAX >> 4;
			v = v << 4 | (uint64_t)bytes_hex_digit(*q);
		}
	} else {
		for (; q < s->end && is_digit(*q); q++) {
			over |= v > (UINT64_MAX - 9) / 10;
			v = v * 10 + (uint64_t)(*q - '0');
		}
		/* A float: a '.', or an exponent with its digits. Not an integer. */
		if (q < s->end && *q == '.') {
			for (q++; q < s->end && is_digit(*q); q++)
				;
			s->p = scan_exponent(s, q);
			return 0;
		}
		if (scan_exponent(s, q) != q) {
			s->p = scan_exponent(s, q);
			return 0;
		}
	}
	/* Fits in int64: up to 2^63 - 1, or 2^63 with a minus. */
	if (over || v > (uint64_t)INT64_MAX + neg) {
		char path[CONF_SCAN_ERR_MAX / 2];

		scan_path(s, s->cur, path, sizeof(path));
		return scan_fail(s, s->line, "%s%s%.*s does not fit in 64 bits", path,
		    *path ? ": " : "", (int)(q - start > 40 ? 40 : q - start), start);
	}
	if (q < s->end && *q == 'L')
		q += q + 1 < s->end && q[1] == 'L' ? 2 : 1;
	else
		scan_mark_64(s, q);
	s->p = q;
	return 0;
}

static int
scan_setting_add(struct scan *s, const char *name, size_t len)
{
	struct scan_frame *f = &s->stack[s->depth];
	struct scan_setting *e;

	if (++f->n > CONF_SCAN_GROUP_MAX) {
		char path[CONF_SCAN_ERR_MAX / 2];

		scan_path(s, f->setting, path, sizeof(path));
		return scan_fail(s, s->line, "%s%s holds more than %d settings",
		    *path ? "group " : "the top level", path, CONF_SCAN_GROUP_MAX);
	}
	if (grow(&s->set, &s->capset, s->nset, sizeof(*s->set), 64) < 0)
		return scan_fail(s, 0, "out of memory");
	e = &s->set[s->nset];
	*e = (struct scan_setting){ .name = name, .len = len, .box = f->box,
	    .seq = s->nset, .parent = f->setting, .line = s->line };
	s->cur = (int)s->nset++;
	return 0;
}

static int
scan_token(struct scan *s)
{
	const char *p = s->p, *name;
	char c = *p;
	int line = s->line;
	size_t len;

	switch (c) {
	case '\n':
		s->line++;
		/* FALLTHROUGH */
	case ' ': case '\t': case '\r': case '\f': case '\v':
		s->p++;
		return 0;
	case '#':
		goto line_comment;
	case '/':
		if (p + 1 < s->end && p[1] == '/')
			goto line_comment;
		if (p + 1 < s->end && p[1] == '*') {
			for (p += 2; p + 1 < s->end && !(p[0] == '*' && p[1] == '/'); p++)
				if (*p == '\n')
					s->line++;
			if (p + 1 >= s->end)
				return scan_fail(s, line, "a comment (/*) is not closed: the rest "
				    "of the file would be ignored");
			s->p = p + 2;
			return 0;
		}
		break;
	case '"':
		for (p++; p < s->end && *p != '"'; p++) {
			if (*p == '\\' && p + 1 < s->end)
				p++;
			if (*p == '\n')
				s->line++;
		}
		if (p >= s->end)
			return scan_fail(s, line, "a string is not closed");
		s->p = p + 1;
		return 0;
	case '@':
		if ((size_t)(s->end - p) >= 8 && memcmp(p, "@include", 8) == 0)
			return scan_fail(s, line, "@include is not supported: a node's settings "
			    "are in one file");
		break;
	case '{': case '(': case '[':
		if (s->depth == CONF_SCAN_DEPTH_MAX)
			return scan_fail(s, line, "nested more than %d deep", CONF_SCAN_DEPTH_MAX);
		s->stack[++s->depth] = (struct scan_frame){ .box = (size_t)(p - s->text) + 1,
		    .setting = s->cur };
		break;
	case '}': case ')': case ']':
		/* Unbalanced: libconfig's syntax error. */
		if (s->depth > 0)
			s->depth--;
		s->cur = s->stack[s->depth].setting;
		break;
	default:
		if (is_digit(c) || ((c == '-' || c == '+' || c == '.') && p + 1 < s->end &&
		    (is_digit(p[1]) || (c != '.' && p[1] == '.'))))
			return scan_number(s);
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '*') {
			for (p++; p < s->end && is_name_char(*p); p++)
				;
			len = (size_t)(p - s->p);
			name = s->p;
			s->p = p;
			/* A value is never a name but for these two. */
			if ((len == 4 && strncasecmp(name, "true", 4) == 0) ||
			    (len == 5 && strncasecmp(name, "false", 5) == 0))
				return 0;
			return scan_setting_add(s, name, len);
		}
		break;
	}
	/* Punctuation, or a character libconfig will refuse. */
	s->p++;
	return 0;
line_comment:
	while (p < s->end && *p != '\n')
		p++;
	s->p = p;
	return 0;
}

static int
scan_cmp(const void *a, const void *b)
{
	const struct scan_setting *x = a, *y = b;
	int r;

	if (x->box != y->box)
		return x->box < y->box ? -1 : 1;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	if ((r = memcmp(x->name, y->name, x->len)) != 0)
		return r;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* The first setting, in file order, named as one before it in its group. */
static int
scan_duplicates(struct scan *s)
{
	struct scan_setting *sorted, *dup = NULL;
	char path[CONF_SCAN_ERR_MAX / 2];

	if (s->nset < 2)
		return 0;
	if ((sorted = malloc(s->nset * sizeof(*sorted))) == NULL)
		return scan_fail(s, 0, "out of memory");
	memcpy(sorted, s->set, s->nset * sizeof(*sorted));
	qsort(sorted, s->nset, sizeof(*sorted), scan_cmp);
	for (size_t i = 1; i < s->nset; i++)
		if (sorted[i - 1].box == sorted[i].box && sorted[i - 1].len == sorted[i].len &&
		    memcmp(sorted[i - 1].name, sorted[i].name, sorted[i].len) == 0 &&
		    (dup == NULL || sorted[i].seq < dup->seq))
			dup = &s->set[sorted[i].seq];
	free(sorted);
	if (dup == NULL)
		return 0;
	scan_path(s, (int)dup->seq, path, sizeof(path));
	return scan_fail(s, dup->line, "%s is set twice in its group (again here)", path);
}

int
conf_scan(const char *text, size_t len, char **out, struct conf_scan_err *err)
{
	struct scan s = { .text = text, .p = text, .end = text + len, .line = 1, .cur = -1,
	    .copied = text, .err = err };
	const char *nul;

	*out = NULL;
	/* k integers take 2k - 1 characters at least ("1-2-3"): k <= len / 2 + 1. */
	s.out_cap = len + len / 2 + 2;
	if (len > (SIZE_MAX - 2) / 2 || (s.out = malloc(s.out_cap)) == NULL)
		return scan_fail(&s, 0, "out of memory");
	s.stack[0] = (struct scan_frame){ .box = 0, .setting = -1 };
	/* libconfig stops at a NUL: what follows would be ignored. */
	if ((nul = memchr(text, '\0', len)) != NULL) {
		for (const char *p = text; p < nul; p++)
			s.line += *p == '\n';
		scan_fail(&s, s.line, "a NUL byte: not a text file");
		goto fail;
	}
	while (s.p < s.end)
		if (scan_token(&s) < 0)
			goto fail;
	if (scan_duplicates(&s) < 0)
		goto fail;
	memcpy(s.out + s.out_len, s.copied, (size_t)(s.end - s.copied));
	s.out_len += (size_t)(s.end - s.copied);
	s.out[s.out_len] = '\0';
	free(s.set);
	*out = s.out;
	return 0;
fail:
	free(s.set);
	free(s.out);
	return -1;
}
