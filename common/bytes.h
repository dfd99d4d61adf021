/*
 * bytes: big-endian (network order) integers at any alignment, for the codecs of
 * the wire formats (docs/protocol.md), and hex digits for the text forms of bytes
 * (MACs, keys, config integers). Header-only and inline: they sit in every encoder's
 * and decoder's inner loop.
 */
#ifndef COMMON_BYTES_H
#define COMMON_BYTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A hex digit's value (either case), or -1. */
static inline int
bytes_hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static inline void
bytes_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void
bytes_put32(uint8_t *p, uint32_t v)
{
	bytes_put16(p, (uint16_t)(v >> 16));
	bytes_put16(p + 2, (uint16_t)v);
}

static inline void
bytes_put64(uint8_t *p, uint64_t v)
{
	bytes_put32(p, (uint32_t)(v >> 32));
	bytes_put32(p + 4, (uint32_t)v);
}

static inline uint16_t
bytes_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t
bytes_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t
bytes_get64(const uint8_t *p)
{
	return (uint64_t)bytes_get32(p) << 32 | bytes_get32(p + 4);
}

/* All n bytes are zero. */
static inline bool
bytes_zero(const uint8_t *p, size_t n)
{
	while (n-- > 0)
		if (*p++ != 0)
			return false;
	return true;
}

#endif
