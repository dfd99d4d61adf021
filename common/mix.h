/*
 * mix: splitmix64's finalizer, a cheap bijective 64-bit mix. For deterministic
 * pseudo-random sequences (tests, benchmarks, request ids): mix(i) for i = 0, 1, ...
 * is well spread and reproducible. Not for secrets.
 */
#ifndef COMMON_MIX_H
#define COMMON_MIX_H

#include <stdint.h>

static inline uint64_t
mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

#endif
