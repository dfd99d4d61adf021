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

/*
 * VNI churn: change number op, when a multiple of STRESS_CHURN_EVERY (step j = op /
 * STRESS_CHURN_EVERY), also makes VNI stress_churn_vni(j) with STRESS_CHURN_RULES rules
 * at version op and drops VNI stress_churn_vni(j - STRESS_CHURN_LIVE): far more VNIs
 * than the table's max_vnis come and go, their slots reused under the readers.
 */
#define STRESS_CHURN_EVERY	64
#define STRESS_CHURN_LIVE	8
#define STRESS_CHURN_RULES	4
#define STRESS_CHURN_BASE	100000u
#define STRESS_CHURN_IP		0x0b000000u

static inline uint32_t
stress_churn_vni(uint64_t j)
{
	return STRESS_CHURN_BASE + (uint32_t)j;
}

/* The value of churn rule (vni, ip) at version: a key of its own, outside the model's. */
static inline void
stress_churn_value(uint32_t vni, uint32_t ip, uint64_t version, uint8_t mac[6],
    uint32_t *vtep)
{
	uint64_t x = mix64((uint64_t)vni << 32 ^ ip ^ version * 0x9e3779b97f4a7c15ull);

	memcpy(mac, &x, 6);
	*vtep = (uint32_t)(x >> 32);
}

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
