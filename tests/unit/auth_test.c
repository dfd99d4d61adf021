/*
 * auth_test: the datagram MAC (common/auth.h). It is AES-256-GCM's tag with the datagram
 * as additional data (a NIST test vector, on both back ends); libsodium's and OpenSSL's
 * back ends seal and check each other's datagrams; no sender repeats a nonce; and any
 * bit flipped anywhere, the nonce included, another key, or a datagram cut short fails.
 */
#include "common/auth.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct auth *fast, *portable;

static void
setup(void)
{
	fast = auth_new();
	portable = auth_new_openssl();
	cr_assert_not_null(fast);
	cr_assert_not_null(portable);
}

static void
teardown(void)
{
	auth_free(fast);
	auth_free(portable);
}

TestSuite(auth, .init = setup, .fini = teardown);

static void
hex(const char *s, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(sscanf(s + 2 * i, "%2hhx", &out[i]), 1);
}

static void
fill(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)random();
}

/*
 * NIST CAVS gcmEncryptExtIV256.rsp, [PTlen = 0] [AADlen = 128] [Taglen = 128], Count 0:
 * a 16-byte datagram, then the vector's IV and tag as the MAC field.
 */
Test(auth, the_mac_is_aes_256_gcm_of_the_datagram_as_additional_data)
{
	uint8_t key[AUTH_KEY_SIZE], d[16 + AUTH_MAC_SIZE];
	struct auth *both[] = { fast, portable };
	struct auth_mackey k;

	hex("78dc4e0aaf52d935c3c01eea57428f00ca1fd475f5da86a49c8dd73d68c8e223", key, 32);
	auth_mackey_set(&k, key);
	hex("b96baa8c1c75a671bfb2d08d06be5f36", d, 16);
	hex("d79cf22d504cc793c3fb6c8a", d + 16, AUTH_NONCE_SIZE);
	hex("3e5d486aa2e30b22e040b85723a06e76", d + 16 + AUTH_NONCE_SIZE, AUTH_TAG_SIZE);
	for (int i = 0; i < 2; i++) {
		cr_assert(auth_check(both[i], &k, d, sizeof(d)), "back end %d", i);
		d[sizeof(d) - 1] ^= 1;
		cr_assert_not(auth_check(both[i], &k, d, sizeof(d)), "back end %d", i);
		d[sizeof(d) - 1] ^= 1;
	}
}

Test(auth, libsodium_and_openssl_check_each_others_datagrams)
{
	uint8_t key[AUTH_KEY_SIZE], d[1500];
	struct auth_mackey k;

	srandom(7);
	for (size_t len = AUTH_MAC_SIZE; len <= sizeof(d); len += 37) {
		fill(key, sizeof(key));
		auth_mackey_set(&k, key);
		fill(d, len);
		cr_assert_eq(auth_seal(fast, &k, d, len), 0);
		cr_assert(auth_check(portable, &k, d, len), "%zu bytes sealed by libsodium", len);
		cr_assert(auth_check(fast, &k, d, len));
		cr_assert_eq(auth_seal(portable, &k, d, len), 0);
		cr_assert(auth_check(fast, &k, d, len), "%zu bytes sealed by OpenSSL", len);
	}
}

static int
cmp_nonce(const void *a, const void *b)
{
	return memcmp(a, b, AUTH_NONCE_SIZE);
}

Test(auth, a_sender_never_repeats_a_nonce_and_two_senders_differ)
{
	enum { N = 20000 };
	uint8_t (*nonce)[AUTH_NONCE_SIZE] = calloc(2 * N, AUTH_NONCE_SIZE);
	uint8_t key[AUTH_KEY_SIZE] = { 1 }, d[64] = { 0 };
	struct auth_mackey k;

	cr_assert_not_null(nonce);
	auth_mackey_set(&k, key);
	/* the same key and the same bytes every time: only the nonce tells them apart */
	for (int i = 0; i < 2 * N; i++) {
		cr_assert_eq(auth_seal(i < N ? fast : portable, &k, d, sizeof(d)), 0);
		memcpy(nonce[i], d + sizeof(d) - AUTH_MAC_SIZE, AUTH_NONCE_SIZE);
	}
	qsort(nonce, 2 * N, AUTH_NONCE_SIZE, cmp_nonce);
	for (int i = 1; i < 2 * N; i++)
		cr_assert_neq(memcmp(nonce[i - 1], nonce[i], AUTH_NONCE_SIZE), 0,
		    "nonce %d repeats", i);
	free(nonce);
}

Test(auth, any_bit_flipped_another_key_or_a_short_datagram_fails)
{
	uint8_t key[AUTH_KEY_SIZE], d[100];
	struct auth_mackey k, other;

	srandom(11);
	fill(key, sizeof(key));
	auth_mackey_set(&k, key);
	key[31] ^= 0x80;
	auth_mackey_set(&other, key);
	fill(d, sizeof(d));
	cr_assert_eq(auth_seal(fast, &k, d, sizeof(d)), 0);
	cr_assert(auth_check(fast, &k, d, sizeof(d)));
	cr_assert_not(auth_check(fast, &other, d, sizeof(d)));
	cr_assert_not(auth_check(portable, &other, d, sizeof(d)));
	for (size_t bit = 0; bit < 8 * sizeof(d); bit++) {
		d[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		cr_assert_not(auth_check(fast, &k, d, sizeof(d)), "bit %zu flipped", bit);
		cr_assert_not(auth_check(portable, &k, d, sizeof(d)), "bit %zu flipped", bit);
		d[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	cr_assert_not(auth_check(fast, &k, d, sizeof(d) - 1));
	cr_assert_not(auth_check(fast, &k, d + 1, sizeof(d) - 1));
	cr_assert_not(auth_check(fast, &k, d, AUTH_MAC_SIZE - 1));
	cr_assert_neq(auth_seal(fast, &k, d, AUTH_MAC_SIZE - 1), 0);
}
