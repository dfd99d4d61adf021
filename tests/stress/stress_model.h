/*
 * stress_model: the deterministic change sequence of the table stress test, shared by
 * the writer, the readers and the verifier. Change number i (1, 2, ...) touches one
 * key chosen by a hash of i, at version i, and every value is derived from (key,
 * version); so any entry a reader sees can be checked on its own, and the state after
 * change n can be recomputed from n alone.
 */
#ifndef STRESS_MODEL_H
#define STRESS_MODEL_H

#include "common/mix.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define STRESS_VNIS	16
#define STRESS_GEN	7

static inline uint32_t
stress_key(uint64_t op, uint32_t nkeys)
{
	return (uint32_t)(mix64(op) % nkeys);
}

static inline bool
stress_is_delete(uint64_t op)
{
	return mix64(op ^ 0x5bd1e995ull) % 5 == 0;
}

static inline uint32_t
stress_vni(uint32_t key)
{
	return 1 + key % STRESS_VNIS;
}

static inline uint32_t
stress_ip(uint32_t key)
{
	return 0x0a000000u + key / STRESS_VNIS;
}

static inline uint32_t
stress_key_of(uint32_t vni, uint32_t ip)
{
	return (ip - 0x0a000000u) * STRESS_VNIS + (vni - 1);
}

static inline void
stress_value(uint32_t key, uint64_t version, uint8_t mac[6], uint32_t *vtep)
{
	uint64_t x = mix64((uint64_t)key << 32 ^ version);

	memcpy(mac, &x, 6);
	*vtep = (uint32_t)(x >> 32);
}

#endif
