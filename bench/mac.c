/*
 * bench/mac: what one datagram's MAC costs (common/auth.h), at the sizes syncd MACs in
 * bench/converge: an idle answer (90 B), an idle32 request and answer (954, 1082 B),
 * a page (1398 B). The key changes every datagram (1000 hosts' keys, round robin), as
 * at a syncd serving many hosts. Measured, each the median of -r (5) interleaved runs
 * of -n (200000) datagrams on one CPU:
 *
 *	gmac		auth_seal with keys made ready once (auth_mackey_set), as syncd and
 *			the learner hold them: the MAC vpcfwd sends
 *	gmac_rekeyed	auth_mackey_set then auth_seal each datagram
 *	gmac_openssl	auth_seal on OpenSSL's AES-GCM (CPUs without AES-NI)
 *	baseline	keyed BLAKE2b-128 through OpenSSL's EVP_MAC, re-keyed each datagram:
 *			wire version 2's MAC
 *	(printed only)	HMAC-SHA256 and SipHash-2-4-128 (EVP_MAC), ChaCha20-Poly1305 with
 *			the datagram as AAD (EVP), re-keyed each datagram
 *
 * Rows mac_<size>_us: gmac against the baseline, ratio gmac / BLAKE2b (lower is
 * cheaper). Writes bench/results/mac.json.
 *
 *	mac [-n DATAGRAMS] [-r RUNS]
 */
#include "bench/bench.h"
#include "common/auth.h"
#include "common/clock.h"
#include "common/log.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define KEYS		1000
#define RUNS_MAX	15

enum way { W_GMAC, W_GMAC_REKEYED, W_GMAC_OPENSSL, W_BLAKE2B, W_HMAC, W_SIPHASH,
    W_CHACHAPOLY, W_COUNT };

static const char *const way_name[W_COUNT] = {
	"gmac", "gmac_rekeyed", "gmac_openssl", "blake2b (baseline)", "hmac_sha256",
	"siphash_2_4_128", "chacha20_poly1305",
};

static const size_t sizes[] = { 90, 954, 1082, 1398 };
#define NSIZES	(sizeof(sizes) / sizeof(sizes[0]))

static uint8_t raw[KEYS][AUTH_KEY_SIZE], buf[1500];
static struct auth_mackey *mk;
static struct auth *fast, *portable;

/* An EVP_MAC named alg with one size_t or string parameter, or NULL. */
static EVP_MAC_CTX *
evp_mac(const char *alg, const char *digest)
{
	EVP_MAC *m = EVP_MAC_fetch(NULL, alg, NULL);
	EVP_MAC_CTX *c = m ? EVP_MAC_CTX_new(m) : NULL;
	size_t size = 16;
	OSSL_PARAM p[2];

	EVP_MAC_free(m);
	if (c == NULL)
		fatalx("mac: no %s in libcrypto", alg);
	p[0] = digest ? OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	    (char *)digest, 0) : OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE, &size);
	p[1] = OSSL_PARAM_construct_end();
	if (EVP_MAC_CTX_set_params(c, p) != 1)
		fatalx("mac: %s refuses its parameters", alg);
	return c;
}

static void
evp_once(EVP_MAC_CTX *c, const uint8_t *key, size_t klen, size_t len)
{
	uint8_t out[32];
	size_t n;

	if (EVP_MAC_init(c, key, klen, NULL) != 1 || EVP_MAC_update(c, buf, len) != 1 ||
	    EVP_MAC_final(c, out, &n, sizeof(out)) != 1)
		fatalx("mac: EVP_MAC failed");
}

static void
chachapoly_once(EVP_CIPHER_CTX *c, const uint8_t *key, uint32_t i, size_t len)
{
	uint8_t iv[12] = { 0 }, tag[16];
	int n;

	memcpy(iv, &i, sizeof(i));
	if (EVP_EncryptInit_ex(c, NULL, NULL, key, iv) != 1 ||
	    EVP_EncryptUpdate(c, NULL, &n, buf, (int)len) != 1 ||
	    EVP_EncryptFinal_ex(c, NULL, &n) != 1 ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, 16, tag) != 1)
		fatalx("mac: ChaCha20-Poly1305 failed");
}

/* µs a datagram of len bytes (MAC field included) for one way, n datagrams. */
static double
run(enum way w, size_t len, long n)
{
	static EVP_MAC_CTX *blake, *hmac, *sip;
	static EVP_CIPHER_CTX *cp;
	struct auth_mackey one;
	size_t body = len - AUTH_MAC_SIZE;
	uint64_t t0;

	if (blake == NULL) {
		blake = evp_mac("BLAKE2BMAC", NULL);
		hmac = evp_mac("HMAC", "SHA256");
		sip = evp_mac("SIPHASH", NULL);
		if ((cp = EVP_CIPHER_CTX_new()) == NULL ||
		    EVP_EncryptInit_ex(cp, EVP_chacha20_poly1305(), NULL, NULL, NULL) != 1)
			fatalx("mac: no ChaCha20-Poly1305 in libcrypto");
	}
	t0 = clock_mono_ns();
	for (long i = 0; i < n; i++) {
		uint32_t k = (uint32_t)(i % KEYS);

		switch (w) {
		case W_GMAC:
			if (auth_seal(fast, &mk[k], buf, len) < 0)
				fatalx("mac: auth_seal failed");
			break;
		case W_GMAC_REKEYED:
			auth_mackey_set(&one, raw[k]);
			if (auth_seal(fast, &one, buf, len) < 0)
				fatalx("mac: auth_seal failed");
			break;
		case W_GMAC_OPENSSL:
			if (auth_seal(portable, &mk[k], buf, len) < 0)
				fatalx("mac: auth_seal failed");
			break;
		case W_BLAKE2B:	/* wire version 2: a 16-byte MAC over the rest */
			evp_once(blake, raw[k], AUTH_KEY_SIZE, len - 16);
			break;
		case W_HMAC:
			evp_once(hmac, raw[k], AUTH_KEY_SIZE, len - 16);
			break;
		case W_SIPHASH:
			evp_once(sip, raw[k], 16, len - 16);
			break;
		case W_CHACHAPOLY:
			chachapoly_once(cp, raw[k], (uint32_t)i, body);
			break;
		case W_COUNT:
			break;
		}
	}
	return (double)(clock_mono_ns() - t0) / 1e3 / (double)n;
}

int
main(int argc, char **argv)
{
	double us[NSIZES][W_COUNT][RUNS_MAX], med[NSIZES][W_COUNT];
	long n = 200000;
	int runs = 5, ch;
	json_t *res;

	while ((ch = getopt(argc, argv, "n:r:")) != -1) {
		if (ch == 'n')
			n = atol(optarg);
		else if (ch == 'r')
			runs = atoi(optarg);
		else
			fatalx("usage: mac [-n DATAGRAMS] [-r RUNS]");
	}
	if (n < 1 || runs < 1 || runs > RUNS_MAX)
		fatalx("mac: -n >= 1, -r 1..%d", RUNS_MAX);
	bench_pin(1);
	if ((fast = auth_new()) == NULL || (portable = auth_new_openssl()) == NULL ||
	    (mk = calloc(KEYS, sizeof(*mk))) == NULL)
		fatalx("mac: auth_new failed, or out of memory");
	if (RAND_bytes(&raw[0][0], sizeof(raw)) != 1 || RAND_bytes(buf, sizeof(buf)) != 1)
		fatalx("mac: RAND_bytes failed");
	for (int k = 0; k < KEYS; k++)
		auth_mackey_set(&mk[k], raw[k]);

	/* Runs interleaved, so a burst of load from elsewhere hits every way alike. */
	for (int r = 0; r < runs; r++)
		for (size_t s = 0; s < NSIZES; s++)
			for (int w = 0; w < W_COUNT; w++)
				us[s][w][r] = run((enum way)w, sizes[s], n);

	printf("µs a datagram, key changed every datagram; median of %d runs of %ld\n", runs,
	    n);
	printf("%-22s", "");
	for (size_t s = 0; s < NSIZES; s++)
		printf(" %7zu B", sizes[s]);
	printf("\n");
	for (int w = 0; w < W_COUNT; w++) {
		printf("%-22s", way_name[w]);
		for (size_t s = 0; s < NSIZES; s++) {
			med[s][w] = bench_median(us[s][w], runs);
			printf(" %9.3f", med[s][w]);
		}
		printf("\n");
	}

	res = bench_results();
	for (size_t s = 0; s < NSIZES; s++) {
		char name[64];

		snprintf(name, sizeof(name), "mac_%zu_us", sizes[s]);
		bench_add(res, name, med[s][W_GMAC], "us",
		    "keyed BLAKE2b-128, OpenSSL EVP_MAC, re-keyed (wire version 2's MAC)",
		    med[s][W_BLAKE2B]);
	}
	auth_free(fast);
	auth_free(portable);
	free(mk);
	return bench_write(res, "mac") < 0;
}
