/*
 * expo: a page in the Prometheus text exposition format, version 0.0.4. Samples are added
 * in any order; the page groups them by metric family (each family's # HELP and # TYPE
 * once, its samples together, families sorted by name), so the same family from several
 * nodes or processes appears once. It keeps the format's rules whatever it is given:
 * names reduced to [a-zA-Z0-9_:], HELP text and label values escaped, a sample whose
 * family already has another type, or whose labels repeat within its family, left out
 * (and counted), never a broken page. Pure: no I/O besides the caller's buffer.
 */
#ifndef EXPORTER_EXPO_H
#define EXPORTER_EXPO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EXPO_CONTENT_TYPE	"text/plain; version=0.0.4; charset=utf-8"
#define EXPO_LABELS_MAX		4

enum expo_type { EXPO_COUNTER, EXPO_GAUGE };

struct expo;

/* One label: name (an identifier the caller chose) and any value (escaped here). */
struct expo_label {
	const char *name;
	const char *value;
};

struct expo *expo_new(void);
void expo_free(struct expo *e);

/*
 * Add a sample of family name (reduced to the format's characters: every other byte
 * becomes '_'), with help (NULL or empty: the family's name) and up to EXPO_LABELS_MAX
 * labels. 0, -EINVAL for an empty name or too many labels, -ENOMEM.
 */
int expo_add_u64(struct expo *e, const char *name, enum expo_type type, const char *help,
    const struct expo_label *labels, size_t nlabels, uint64_t value);
int expo_add_double(struct expo *e, const char *name, enum expo_type type, const char *help,
    const struct expo_label *labels, size_t nlabels, double value);

/*
 * The page: a malloc'd string of *len bytes (NUL-terminated) for the caller to free.
 * 0 or -ENOMEM. The samples stay: render again, or free.
 */
int expo_render(struct expo *e, char **out, size_t *len);
/* Samples left out of the last page: type conflicts and repeated labels. */
uint64_t expo_dropped(const struct expo *e);

/* Reduce s in place to [a-zA-Z0-9_] (a metric name's part): other bytes become '_'. */
void expo_name_clean(char *s);

#endif
