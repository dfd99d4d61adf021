/*
 * proc: is a process still the one we knew? A pid alone can be reused, so a process is
 * named by (pid, start time in clock ticks since boot, from /proc/<pid>/stat).
 */
#ifndef COMMON_PROC_H
#define COMMON_PROC_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * /proc/<pid>/stat read into buf (len bytes): its fields after the command (the state,
 * field 3, first), which may hold spaces and parentheses; NULL when pid does not exist.
 */
const char *proc_stat_fields(pid_t pid, char *buf, size_t len);
/* Start time of pid in clock ticks since boot; 0 when it does not exist. */
uint64_t proc_start_ticks(pid_t pid);
/* The process (pid, start) still runs: same pid and same start time. */
bool proc_alive(pid_t pid, uint64_t start_ticks);

#endif
