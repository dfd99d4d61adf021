/*
 * The exporter's own counters, declared once: the page shows each as
 * vpcfwd_exporter_<name>[_total] with its description as HELP (a name ending in _ns as
 * _seconds, like a process's counters: page.c). They live in the process
 * (the exporter has no node, so no stats segment) and are touched by the one thread that
 * serves pages.
 */
#ifndef EXPORTER_COUNTERS_H
#define EXPORTER_COUNTERS_H

#include "shm/stats.h"

#define EXPORTER_COUNTERS(X)						\
	X(scrapes,             COUNTER, "pages of metrics requested")	\
	X(scrape_errors,       COUNTER, "pages that could not be built (answered 500)") \
	X(segments_unreadable, COUNTER, "segments a page left out: corrupt, another layout") \
	X(samples_dropped,     COUNTER, "samples a page left out: bad name or kind, repeated labels") \
	X(requests_refused,    COUNTER, "HTTP requests for anything but GET /metrics")	\
	X(scrape_ns,           COUNTER, "time spent building pages")	\
	X(last_scrape_ns,      GAUGE,   "time the previous page took to build")

STATS_DECLARE(exporter, EXPORTER_COUNTERS)

#endif
