/*
 * ip4: "10.0.0.1" -> the address in host order, for tests; a bad string fails the test.
 */
#ifndef TESTS_UNIT_IP4_H
#define TESTS_UNIT_IP4_H

#include "common/addr.h"

#include <criterion/criterion.h>
#include <stdint.h>

static inline uint32_t
ip4(const char *s)
{
	uint32_t ip;

	cr_assert_eq(addr_ip4_parse(s, &ip), 0, "%s", s);
	return ip;
}

#endif
