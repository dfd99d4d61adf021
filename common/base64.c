/*
 * base64: RFC 4648 standard alphabet with padding; see base64.h for why the decoder is
 * strict. Lengths are checked before any byte is written, so a failed call may have
 * written part of out but never past cap.
 */
#include "common/base64.h"

#include <errno.h>
#include <limits.h>

static const char base64_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t
base64_encoded_len(size_t n)
{
	if (n / 3 >= SIZE_MAX / 4 - 1)
		return SIZE_MAX;
	return (n + 2) / 3 * 4;
}

size_t
base64_decoded_max(size_t n)
{
	return n / 4 * 3;
}

long
base64_encode(const void *in, size_t n, char *out, size_t cap)
{
	const uint8_t *p = in;
	size_t len = base64_encoded_len(n), i, o = 0;
	uint32_t v;

	if (len == SIZE_MAX || len > cap || len > (size_t)LONG_MAX)
		return -ENOBUFS;
	for (i = 0; i + 3 <= n; i += 3) {
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		out[o++] = base64_alphabet[v >> 18 & 63];
		out[o++] = base64_alphabet[v >> 12 & 63];
		out[o++] = base64_alphabet[v >> 6 & 63];
		out[o++] = base64_alphabet[v & 63];
	}
	if (n - i == 1) {
		v = (uint32_t)p[i] << 16;
		out[o++] = base64_alphabet[v >> 18 & 63];
		out[o++] = base64_alphabet[v >> 12 & 63];
		out[o++] = '=';
		out[o++] = '=';
	} else if (n - i == 2) {
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
		out[o++] = base64_alphabet[v >> 18 & 63];
		out[o++] = base64_alphabet[v >> 12 & 63];
		out[o++] = base64_alphabet[v >> 6 & 63];
		out[o++] = '=';
	}
	if (o < cap)
		out[o] = '\0';
	return (long)o;
}

/* The value of one symbol, or -1 for anything outside the alphabet ('=' included). */
static int
base64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

long
base64_decode(const char *in, size_t n, void *out, size_t cap)
{
	uint8_t *q = out;
	size_t i, o = 0, pad = 0, need;
	int a, b, c, d;

	if (n % 4 != 0 || n > (size_t)LONG_MAX)
		return -EINVAL;
	if (n > 0 && in[n - 1] == '=')
		pad = n > 1 && in[n - 2] == '=' ? 2 : 1;
	need = n / 4 * 3 - pad;
	if (need > cap)
		return -ENOBUFS;
	for (i = 0; i < n; i += 4) {
		a = base64_value(in[i]);
		b = base64_value(in[i + 1]);
		if (a < 0 || b < 0)
			return -EINVAL;
		if (i + 4 == n && pad == 2) {
			if ((b & 15) != 0)
				return -EINVAL;
			q[o++] = (uint8_t)(a << 2 | b >> 4);
			break;
		}
		c = base64_value(in[i + 2]);
		if (c < 0)
			return -EINVAL;
		if (i + 4 == n && pad == 1) {
			if ((c & 3) != 0)
				return -EINVAL;
			q[o++] = (uint8_t)(a << 2 | b >> 4);
			q[o++] = (uint8_t)((b & 15) << 4 | c >> 2);
			break;
		}
		d = base64_value(in[i + 3]);
		if (d < 0)
			return -EINVAL;
		q[o++] = (uint8_t)(a << 2 | b >> 4);
		q[o++] = (uint8_t)((b & 15) << 4 | c >> 2);
		q[o++] = (uint8_t)((c & 3) << 6 | d);
	}
	return (long)o;
}
