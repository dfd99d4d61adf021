/*
 * tableclock: a rule table's clock moved forward in a test, so that rules age without
 * the test sleeping. White-box (shm/table_layout.h): every stamp of a table counts
 * seconds from created_mono_s in its header, so taking s from it ages every stamp by s
 * at once, for the writer and its readers alike. Called on the writer's handle (a
 * reader maps the header read-only).
 */
#ifndef TESTS_UNIT_TABLECLOCK_H
#define TESTS_UNIT_TABLECLOCK_H

#include "shm/table_layout.h"

#include <criterion/criterion.h>

static inline void
tableclock_forward(struct table *w, uint32_t s)
{
	cr_assert(w->writer, "the writer moves the clock");
	cr_assert_gt(w->h->created_mono_s, s, "the machine booted less than %u s ago", s);
	w->h->created_mono_s -= s;
}

#endif
