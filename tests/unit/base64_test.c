/*
 * base64_test: RFC 4648's vectors both ways, every byte value round trips, and the
 * decoder refuses every text that is not the one canonical spelling of its bytes.
 */
#include "common/base64.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

Test(base64, rfc4648_vectors_encode_and_decode)
{
	const char *in[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar" };
	const char *out[] = { "", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy" };
	char enc[16], dec[16];
	size_t i;

	for (i = 0; i < 7; i++) {
		cr_assert_eq(base64_encode(in[i], strlen(in[i]), enc, sizeof(enc)),
		    (long)strlen(out[i]));
		cr_assert_str_eq(enc, out[i]);
		cr_assert_eq(base64_decode(out[i], strlen(out[i]), dec, sizeof(dec)),
		    (long)strlen(in[i]));
		cr_assert_eq(memcmp(dec, in[i], strlen(in[i])), 0);
	}
}

Test(base64, every_byte_value_round_trips)
{
	unsigned char in[256], dec[256];
	char enc[400];
	long n;
	int i;

	for (i = 0; i < 256; i++)
		in[i] = (unsigned char)i;
	n = base64_encode(in, 256, enc, sizeof(enc));
	cr_assert_eq((size_t)n, base64_encoded_len(256));
	cr_assert_eq(base64_decode(enc, (size_t)n, dec, sizeof(dec)), 256);
	cr_assert_eq(memcmp(in, dec, 256), 0);
}

Test(base64, texts_that_are_not_canonical_are_refused)
{
	const char *bad[] = { "Zg=", "Zg", "Zh==", "Zm9=", "Z===", "====", "Zm9v\n",
	    "Zm 9", "Zm=v", "Zg==Zg==", "Zm9-", "Zm9_" };
	char dec[16];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(base64_decode(bad[i], strlen(bad[i]), dec, sizeof(dec)), -EINVAL,
		    "%s", bad[i]);
}

Test(base64, short_buffers_are_enobufs)
{
	char enc[4], dec[2];

	cr_assert_eq(base64_encode("foo", 3, enc, 3), -ENOBUFS);
	cr_assert_eq(base64_encode("foo", 3, enc, 4), 4, "no room for the NUL is fine");
	cr_assert_eq(base64_decode("Zm9v", 4, dec, sizeof(dec)), -ENOBUFS);
}
