/*
 * fuzz/auth: the header and MAC check a receiver runs before it decodes anything else
 * (common/auth.c, common/sync.c's sync_hdr_decode; docs/protocol.md "Authentication").
 * The input is one datagram. Its header decodes or is refused without reading past the
 * input; a datagram that decodes is checked against the key of the host it names, as
 * syncd and the learner do, and must fail (the fuzzer cannot forge a MAC). Then the same
 * bytes sealed with that key must pass, and fail again once one bit of them, chosen by
 * the input, is flipped, once cut a byte short, and under another host's key. abort() on
 * any difference, so libFuzzer reports it.
 */
#include "common/auth.h"
#include "common/sync.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t buf[SYNC_DGRAM_MAX];

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct auth *a;
	static const struct auth_key secret = { .id = 1, .key = "fuzz/auth: a fixed secret.." };
	struct auth_key kk, ok;	/* derived, then made ready below */
	struct auth_mackey k, other;
	struct sync_hdr h;
	size_t bit;
	int type;

	if (a == NULL && (a = auth_new()) == NULL)
		abort();
	if (size > sizeof(buf))
		return 0;
	type = sync_hdr_decode(data, size, &h);
	if (type < 0)
		return 0;
	if (type != SYNC_REQ && type != SYNC_RESP && type != SYNC_LEARN)
		abort();
	if (h.name_len > SYNC_NAME_MAX || strlen(h.name) != h.name_len)
		abort();
	if (!(h.flags & SYNC_H_MAC))
		return 0;
	/* the header promised room for the MAC: decode checked it */
	if (size < SYNC_HDR_SIZE + h.name_len + SYNC_MAC_SIZE)
		abort();
	if (auth_derive(&secret, h.name, h.name_len, &kk) != 0 ||
	    auth_derive(&secret, "another host", 12, &ok) != 0)
		abort();
	auth_mackey_set(&k, kk.key);
	auth_mackey_set(&other, ok.key);
	if (h.name_len != 12 || memcmp(h.name, "another host", 12) != 0) {
		if (auth_check(a, &k, data, size))
			abort();	/* a forged MAC passed */
	}

	memcpy(buf, data, size);
	if (auth_seal(a, &k, buf, size) != 0 || !auth_check(a, &k, buf, size))
		abort();
	if (auth_check(a, &k, buf, size - 1))
		abort();
	if ((h.name_len != 12 || memcmp(h.name, "another host", 12) != 0) &&
	    auth_check(a, &other, buf, size))
		abort();
	bit = (size_t)data[size - 1] * 8 % (size * 8);
	buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	if (auth_check(a, &k, buf, size))
		abort();
	return 0;
}
