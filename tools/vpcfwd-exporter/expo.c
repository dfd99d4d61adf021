/*
 * expo: see expo.h. Invariant: every line of a rendered page is a valid line of the
 * 0.0.4 text format, and a family's lines are contiguous, HELP and TYPE first.
 */
#include "expo.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>

struct expo_sample {
	char *name;		/* cleaned */
	char *help;		/* raw; escaped at render */
	const char *labels;	/* rendered and escaped: `a="x",b="y"`, or ""; e->labs' */
	enum expo_type type;
	bool is_u64;
	uint64_t u;
	double d;
	size_t seq;		/* order of addition: the first sample's HELP and TYPE win */
};

struct expo {
	struct expo_sample *s;
	size_t n, cap;
	uint64_t dropped;
	/*
	 * Rendered label sets, each once: a segment's counters all carry the same one, so
	 * a set is rendered when it differs from the last sample's (last_key, its labels'
	 * names and values, NUL-separated), not a sample at a time.
	 */
	char **labs;
	size_t nlabs, labs_cap;
	char *last_key;
	size_t last_key_len;
};

struct expo *
expo_new(void)
{
	return calloc(1, sizeof(struct expo));
}

static void
sample_free(struct expo_sample *s)
{
	free(s->name);
	free(s->help);
}

void
expo_free(struct expo *e)
{
	if (e == NULL)
		return;
	for (size_t i = 0; i < e->n; i++)
		sample_free(&e->s[i]);
	for (size_t i = 0; i < e->nlabs; i++)
		free(e->labs[i]);
	free(e->labs);
	free(e->last_key);
	free(e->s);
	free(e);
}

/* [a-zA-Z0-9_]: what a name's part may hold (a metric name may have ':' too). */
static bool
name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	    c == '_';
}

void
expo_name_clean(char *s)
{
	for (; *s; s++)
		if (!name_char(*s))
			*s = '_';
}

/* A metric name: [a-zA-Z_:][a-zA-Z0-9_:]*. A leading digit gets a '_' before it. */
static char *
name_dup(const char *name)
{
	size_t n = strlen(name);
	bool digit = name[0] >= '0' && name[0] <= '9';
	char *d = malloc(n + 2), *p;

	if (d == NULL)
		return NULL;
	p = d;
	if (digit)
		*p++ = '_';
	memcpy(p, name, n + 1);
	for (; *p; p++)
		if (*p != ':' && !name_char(*p))
			*p = '_';
	return d;
}

/*
 * Label value escaping: backslash, double quote and newline (the format's three). Bytes
 * outside printable ASCII are replaced too: a page must be valid UTF-8.
 */
static bool
plain(unsigned char c, bool quote)
{
	return c >= 0x20 && c < 0x7f && c != '\\' && !(quote && c == '"');
}

static void
put_escaped(FILE *f, const char *s, bool quote)
{
	while (*s) {
		size_t n = 0;
		unsigned char c;

		/* A run of what needs no escape in one write: the page is mostly that. */
		while (s[n] && plain((unsigned char)s[n], quote))
			n++;
		fwrite(s, 1, n, f);
		if ((c = (unsigned char)s[n]) == '\0')
			return;
		if (c == '\\')
			fputs("\\\\", f);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c == '"')
			fputs("\\\"", f);
		else
			fputc('?', f);
		s += n + 1;
	}
}

/* A page's stream is this thread's alone: no stdio lock a call. */
static FILE *
stream_open(char **buf, size_t *len)
{
	FILE *f = open_memstream(buf, len);

	if (f != NULL)
		__fsetlocking(f, FSETLOCKING_BYCALLER);
	return f;
}

static char *
labels_render(const struct expo_label *l, size_t n)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = stream_open(&buf, &len);

	if (f == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		char *ln = name_dup(l[i].name);

		if (ln == NULL) {
			fclose(f);
			free(buf);
			return NULL;
		}
		fprintf(f, "%s%s=\"", i ? "," : "", ln);
		free(ln);
		put_escaped(f, l[i].value, true);
		fputc('"', f);
	}
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

/*
 * The rendered form of labels, rendered only when they differ from the last call's;
 * owned by e. NULL when memory runs out.
 */
static const char *
labels_intern(struct expo *e, const struct expo_label *l, size_t n)
{
	size_t klen = 0, o = 0;
	char *key, *r;

	for (size_t i = 0; i < n; i++)
		klen += strlen(l[i].name) + strlen(l[i].value) + 2;
	if ((key = malloc(klen + 1)) == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		size_t a = strlen(l[i].name) + 1, b = strlen(l[i].value) + 1;

		memcpy(key + o, l[i].name, a);
		memcpy(key + o + a, l[i].value, b);
		o += a + b;
	}
	if (e->nlabs && klen == e->last_key_len && memcmp(key, e->last_key, klen) == 0) {
		free(key);
		return e->labs[e->nlabs - 1];
	}
	if (e->nlabs == e->labs_cap) {
		size_t cap = e->labs_cap ? 2 * e->labs_cap : 16;
		char **nl = realloc(e->labs, cap * sizeof(*nl));

		if (nl == NULL) {
			free(key);
			return NULL;
		}
		e->labs = nl;
		e->labs_cap = cap;
	}
	if ((r = labels_render(l, n)) == NULL) {
		free(key);
		return NULL;
	}
	e->labs[e->nlabs++] = r;
	free(e->last_key);
	e->last_key = key;
	e->last_key_len = klen;
	return r;
}

static int
expo_add(struct expo *e, const char *name, enum expo_type type, const char *help,
    const struct expo_label *labels, size_t nlabels, struct expo_sample v)
{
	struct expo_sample *s;

	if (name == NULL || name[0] == '\0' || nlabels > EXPO_LABELS_MAX)
		return -EINVAL;
	for (size_t i = 0; i < nlabels; i++)
		if (labels[i].name == NULL || labels[i].name[0] == '\0' || labels[i].value == NULL)
			return -EINVAL;
	if (e->n == e->cap) {
		size_t cap = e->cap ? 2 * e->cap : 64;
		struct expo_sample *ns = realloc(e->s, cap * sizeof(*ns));

		if (ns == NULL)
			return -ENOMEM;
		e->s = ns;
		e->cap = cap;
	}
	s = &e->s[e->n];
	*s = v;
	s->type = type;
	s->seq = e->n;
	s->labels = labels_intern(e, labels, nlabels);
	s->name = name_dup(name);
	s->help = strdup(help && help[0] ? help : name);
	if (s->name == NULL || s->help == NULL || s->labels == NULL) {
		sample_free(s);
		return -ENOMEM;
	}
	e->n++;
	return 0;
}

int
expo_add_u64(struct expo *e, const char *name, enum expo_type type, const char *help,
    const struct expo_label *labels, size_t nlabels, uint64_t value)
{
	return expo_add(e, name, type, help, labels, nlabels,
	    (struct expo_sample){ .is_u64 = true, .u = value });
}

int
expo_add_double(struct expo *e, const char *name, enum expo_type type, const char *help,
    const struct expo_label *labels, size_t nlabels, double value)
{
	return expo_add(e, name, type, help, labels, nlabels,
	    (struct expo_sample){ .d = value });
}

/* By family, then labels, then order of addition. */
static int
sample_cmp(const void *a, const void *b)
{
	const struct expo_sample *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c == 0)
		c = strcmp(x->labels, y->labels);
	if (c == 0)
		c = x->seq < y->seq ? -1 : x->seq > y->seq;
	return c;
}

static void
put_value(FILE *f, const struct expo_sample *s)
{
	if (s->is_u64)
		fprintf(f, "%llu", (unsigned long long)s->u);
	else if (isnan(s->d))
		fputs("NaN", f);
	else if (isinf(s->d))
		fputs(s->d > 0 ? "+Inf" : "-Inf", f);
	else
		fprintf(f, "%.15g", s->d);
}

int
expo_render(struct expo *e, char **out, size_t *len)
{
	FILE *f;

	*out = NULL;
	*len = 0;
	e->dropped = 0;
	if ((f = stream_open(out, len)) == NULL)
		return -ENOMEM;
	qsort(e->s, e->n, sizeof(*e->s), sample_cmp);
	for (size_t i = 0; i < e->n;) {
		size_t j = i, first = i;
		const struct expo_sample *h;
		const char *last = NULL;	/* labels of the last sample written */

		/* The family: samples i..j-1. Its HELP and TYPE: its first sample added. */
		while (j < e->n && strcmp(e->s[j].name, e->s[i].name) == 0) {
			if (e->s[j].seq < e->s[first].seq)
				first = j;
			j++;
		}
		h = &e->s[first];
		fprintf(f, "# HELP %s ", h->name);
		put_escaped(f, h->help, false);
		fprintf(f, "\n# TYPE %s %s\n", h->name,
		    h->type == EXPO_COUNTER ? "counter" : "gauge");
		for (size_t k = i; k < j; k++) {
			const struct expo_sample *s = &e->s[k];

			if (s->type != h->type || (last && strcmp(s->labels, last) == 0)) {
				e->dropped++;
				continue;
			}
			last = s->labels;
			fputs(s->name, f);
			if (s->labels[0])
				fprintf(f, "{%s}", s->labels);
			fputc(' ', f);
			put_value(f, s);
			fputc('\n', f);
		}
		i = j;
	}
	if (fclose(f) != 0) {
		free(*out);
		*out = NULL;
		*len = 0;
		return -ENOMEM;
	}
	return 0;
}

uint64_t
expo_dropped(const struct expo *e)
{
	return e->dropped;
}
