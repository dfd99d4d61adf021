/*
 * impfile: the reader of vpcfwdctl's import files. A file holds VMs, one a line, as
 * JSON lines (one object of vm.create's arguments a line, the API's keys: name, vpc,
 * ip, host, optional mac and tap) or as CSV (a header line naming the columns, name,
 * vpc, ip, host and optionally mac and tap, in any order; an empty mac or tap is not
 * given; a field may be double-quoted, "" inside quotes being one "). The first line
 * that is not blank says which: one starting with '{' means JSON lines, anything else
 * is a CSV header. Blank lines are skipped, a UTF-8 byte order mark and CRLF endings
 * are ignored. A line holds at most IMPFILE_LINE_MAX bytes, so a file of any size is
 * read in constant memory.
 *
 * Every VM is checked with the controller's rules (common/addr.h) and handed out as
 * the object to put in vm.import's "vms", so a bad line is named before it is sent.
 * No I/O but reading the FILE it is given; no exits.
 *
 * Read for names only (impfile_init_names, `vpcfwdctl delete`), the same files give
 * each VM as {"name": ...}, only the name checked and required (a CSV needs only the
 * name column, JSON lines only the "name" key); and a third format is read: a VM name a
 * line, which a first line that is not JSON and holds no comma says (a CSV header has
 * one, an import file's always: so a one-column CSV is read as names, its header the
 * first, a VM that does not exist and is refused as such, not skipped).
 */
#ifndef TOOLS_VPCFWDCTL_IMPFILE_H
#define TOOLS_VPCFWDCTL_IMPFILE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define IMPFILE_ERR_MAX		512
/*
 * The bytes of a line before its '\n'. A VM's line is at most a few hundred (four
 * names of 63, an address, a MAC; JSON escapes make it longer, not 4 KiB): a longer
 * line is refused as soon as it passes this, never read whole.
 */
#define IMPFILE_LINE_MAX	4096
#define IMPFILE_COLS_MAX	6	/* name, vpc, ip, host, mac, tap */

enum impfile_format { IMPFILE_UNKNOWN, IMPFILE_JSONL, IMPFILE_CSV, IMPFILE_NAMES };

struct impfile {
	FILE *f;
	enum impfile_format format;	/* known from the first line that is not blank */
	bool names_only;		/* impfile_init_names */
	int ncols;
	int col[IMPFILE_COLS_MAX];	/* CSV: which argument each column holds */
	uint64_t line;			/* the last line read, from 1 */
	char *buf;			/* the line: IMPFILE_LINE_MAX + 1 bytes */
	char err[IMPFILE_ERR_MAX];	/* why impfile_next returned -1 */
};

void impfile_init(struct impfile *im, FILE *f);
/* For names only: each VM {"name": ...} (above). */
void impfile_init_names(struct impfile *im, FILE *f);
/*
 * The next VM: 1 with *vm (a new reference) read from line im->line; 0 at the end of
 * the file; -1 when line im->line is bad (or cannot be read), im->err saying why.
 * An import stops there: after -1, what a further call returns is not defined.
 */
int impfile_next(struct impfile *im, json_t **vm);
void impfile_fini(struct impfile *im);
/*
 * One object of vm.create's arguments: no unknown key, the required ones present,
 * every value a string that passes its check. 0, or -EINVAL with a line in err
 * (IMPFILE_ERR_MAX bytes) in the controller's words: "unknown argument 'x'", "ip is
 * missing", "ip must be a string", or those of common/addr.h.
 */
int impfile_vm_check(json_t *vm, char *err);

#endif
