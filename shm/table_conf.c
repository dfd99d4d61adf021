/*
 * table_conf: see table_conf.h. Ranges are the table's own (table.c checks them again
 * when the table is created); the power-of-two rule is checked here so the error names
 * the line.
 */
#include "shm/table_conf.h"
#include "common/conf.h"

#include <stdio.h>

static int
get(struct conf *c, const char *section, const char *name, uint32_t *v, int64_t min,
    int64_t max)
{
	char path[128];
	int64_t x;

	snprintf(path, sizeof(path), "%s.%s", section, name);
	if (conf_get_int(c, path, *v, min, max, &x) < 0)
		return -1;
	*v = (uint32_t)x;
	return 0;
}

int
table_conf_read(struct conf *c, const char *section, uint32_t mode, struct table_params *p)
{
	char path[128];

	table_params_default(p, mode);
	if (get(c, section, "table_capacity", &p->capacity, 16, 1 << 30) < 0 ||
	    get(c, section, "table_max_vnis", &p->max_vnis, 1, 1 << 20) < 0 ||
	    get(c, section, "table_version_window", &p->version_window, 4, 65536) < 0 ||
	    get(c, section, "table_max_readers", &p->max_readers, 1, 1024) < 0)
		return -1;
	if (p->version_window & (p->version_window - 1)) {
		snprintf(path, sizeof(path), "%s.table_version_window", section);
		return conf_error_at(c, path, "%s must be a power of two, not %u", path,
		    p->version_window);
	}
	return 0;
}
