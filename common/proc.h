/*
 * proc: is a process still the one we knew? A pid alone can be reused, so a process is
 * named by (pid, start time in clock ticks since boot, from /proc/<pid>/stat).
 */
#ifndef COMMON_PROC_H
#define COMMON_PROC_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* Start time of pid in clock ticks since boot; 0 when it does not exist. */
uint64_t proc_start_ticks(pid_t pid);
/* The process (pid, start) still runs: same pid and same start time. */
bool proc_alive(pid_t pid, uint64_t start_ticks);

#endif
