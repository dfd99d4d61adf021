/*
 * conf_scan: a pass over a configuration's text before libconfig parses it, for what
 * libconfig 1.5 gets silently wrong or reports without a name. It walks the text as
 * libconfig's scanner does (strings with their escapes; #, // and C comments; names,
 * numbers, brackets) and refuses, naming the line and the setting:
 *
 * - a C comment or a string that is never closed (libconfig ignores the rest of the file);
 * - an integer that does not fit in 64 bits (libconfig saturates or wraps it);
 * - a setting named twice in one group (libconfig does not say which);
 * - @include (a node's file is one file);
 * - a NUL byte, groups nested deeper than CONF_SCAN_DEPTH_MAX, or a group of more than
 *   CONF_SCAN_GROUP_MAX settings (libconfig's time grows with the square of that).
 *
 * What it accepts comes back as a copy in which every integer carries libconfig's L, so
 * that libconfig reads it as 64 bits, with its true value (without the L, 4328521728
 * is read as 33554432), and the getters' range checks see it. Lines are kept, so
 * libconfig's line numbers are the file's. Pure: no I/O; the copy is malloc'd.
 */
#ifndef COMMON_CONF_SCAN_H
#define COMMON_CONF_SCAN_H

#include <stddef.h>

#define CONF_SCAN_DEPTH_MAX	32
#define CONF_SCAN_GROUP_MAX	1024
#define CONF_SCAN_ERR_MAX	256

struct conf_scan_err {
	int line;			/* 1-based */
	char msg[CONF_SCAN_ERR_MAX];	/* one printable line, without the file:line */
};

/*
 * text[0..len) (no terminating NUL needed). 0 and *out the NUL-terminated copy for
 * libconfig (the caller frees it); -1 with *err set (-ENOMEM has err->line 0).
 */
int conf_scan(const char *text, size_t len, char **out, struct conf_scan_err *err);

#endif
