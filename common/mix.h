/*
 * mix: splitmix64's finalizer, a cheap bijective 64-bit mix. For deterministic
 * pseudo-random sequences (tests, benchmarks, request ids): mix(i) for i = 0, 1, ...
 * is well spread and reproducible. And FNV-1a, for hashing short names into tables.
 * Not for secrets.
 */
#ifndef COMMON_MIX_H
#define COMMON_MIX_H

#include <stddef.h>
#include <stdint.h>

static inline uint64_t
mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

#define FNV1A32_INIT	2166136261u

/* FNV-1a of p[0 .. n) continuing from h (FNV1A32_INIT to start). */
static inline uint32_t
fnv1a32(uint32_t h, const void *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ ((const uint8_t *)p)[i]) * 16777619u;
	return h;
}

#endif
