/*
 * base64: the standard alphabet with padding (RFC 4648 section 4), which is how etcd's
 * JSON gateway carries keys and values (protobuf `bytes` in proto3 JSON). A pure codec:
 * no allocation, no I/O, every length checked before a byte is written. The decoder is
 * strict (no whitespace, padding where RFC 4648 puts it and nowhere else, the unused
 * bits of the last symbol zero), so one byte string has exactly one accepted text and a
 * hostile response cannot smuggle a second spelling of a key past a comparison.
 */
#ifndef COMMON_BASE64_H
#define COMMON_BASE64_H

#include <stddef.h>
#include <stdint.h>

/* Characters base64_encode writes for n bytes (no terminating NUL); SIZE_MAX past range. */
size_t base64_encoded_len(size_t n);
/* Most bytes base64_decode can write for a text of n characters. */
size_t base64_decoded_max(size_t n);
/*
 * Encode n bytes of in to out, which has room for cap characters; a NUL follows when
 * there is room for it. The characters written, or -ENOBUFS (nothing promised in out).
 */
long base64_encode(const void *in, size_t n, char *out, size_t cap);
/*
 * Decode n characters of in to out (room for cap bytes). The bytes written, -EINVAL for
 * a text that is not canonical base64 (see above), or -ENOBUFS.
 */
long base64_decode(const char *in, size_t n, void *out, size_t cap);

#endif
