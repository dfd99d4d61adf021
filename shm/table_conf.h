/*
 * table_conf: the rule table's settings, read the same way by every process that owns
 * a table (rule-store, learner), inside that process's group of the node's file:
 *
 *	rule_store {
 *		table_capacity = 10000000;	# rules + tombstones
 *		table_max_vnis = 4096;
 *		table_version_window = 256;	# versions kept per VNI, power of two
 *		table_max_readers = 64;		# reader processes
 *	};
 */
#ifndef SHM_TABLE_CONF_H
#define SHM_TABLE_CONF_H

#include "shm/table.h"

struct conf;

/* Defaults for the mode, then the group's settings; -1 with conf_error() set. */
int table_conf_read(struct conf *c, const char *section, uint32_t mode,
    struct table_params *p);

#endif
