/*
 * clock: the few time sources every process uses. Monotonic time is comparable
 * across processes of one boot, so heartbeats in shared memory use it.
 */
#ifndef COMMON_CLOCK_H
#define COMMON_CLOCK_H

#include <stdint.h>
#include <time.h>

#define NS_PER_MS	1000000ull
#define NS_PER_S	1000000000ull
#define NS_PER_DAY	(86400 * NS_PER_S)

static inline uint64_t
clock_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * Monotonic time at the last timer tick (a few ms behind clock_mono_ns, never ahead):
 * always read from the vDSO, never a system call whatever the clock source, for paths
 * that promise none (the rule table's readers).
 */
static inline uint64_t
clock_mono_coarse_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline uint64_t
clock_real_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#endif
