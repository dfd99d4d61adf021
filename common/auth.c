/*
 * auth: see auth.h. Invariant: a key file that is readable by anyone but its owner, or
 * that does not parse whole, yields no key at all.
 */
#include "common/auth.h"
#include "common/bytes.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <sodium.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct auth {
	bool sodium;		/* libsodium's AES-GCM (AES-NI and PCLMUL), else OpenSSL's */
	EVP_CIPHER_CTX *evp;
	uint8_t prefix[AUTH_NONCE_SIZE - 4];
	uint32_t count;
};

/* One "ID HEX" line (no newline) into k; false when it is not one. */
static bool
parse_line(const char *s, struct auth_key *k)
{
	char *end;
	long id;

	id = strtol(s, &end, 10);
	if (end == s || id < 0 || id > 255 || (*end != ' ' && *end != '\t'))
		return false;
	while (*end == ' ' || *end == '\t')
		end++;
	for (int i = 0; i < AUTH_KEY_SIZE; i++) {
		int hi = bytes_hex_digit((unsigned char)end[2 * i]), lo;

		if (hi < 0 || (lo = bytes_hex_digit((unsigned char)end[2 * i + 1])) < 0)
			return false;
		k->key[i] = (uint8_t)(hi << 4 | lo);
	}
	end += 2 * AUTH_KEY_SIZE;
	while (*end == ' ' || *end == '\t' || *end == '\r')
		end++;
	k->id = (uint8_t)id;
	return *end == '\0';
}

int
auth_keys_read(const char *path, struct auth_keys *ks, char *err, size_t errlen)
{
	char line[256];
	struct stat st;
	FILE *f;
	int fd, lineno = 0;

	memset(ks, 0, sizeof(*ks));
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		snprintf(err, errlen, "%s: cannot open the key file: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (st.st_mode & 077) != 0) {
		snprintf(err, errlen, "%s: a key file must be a regular file of mode 0600, not "
		    "%04o (chmod 600 %s)", path, (unsigned)(st.st_mode & 07777), path);
		close(fd);
		return -1;
	}
	if ((f = fdopen(fd, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		char *s = line;
		struct auth_key k;

		lineno++;
		line[strcspn(line, "\n")] = '\0';
		while (*s == ' ' || *s == '\t')
			s++;
		if (*s == '\0' || *s == '#')
			continue;
		if (!parse_line(s, &k)) {
			snprintf(err, errlen, "%s:%d: a key line must be \"ID HEX\" (ID 0..255, "
			    "%d hex digits)", path, lineno, 2 * AUTH_KEY_SIZE);
			goto fail;
		}
		if (ks->n == AUTH_KEYS_MAX || auth_keys_find(ks, k.id) != NULL) {
			snprintf(err, errlen, "%s:%d: at most %d keys, each ID once", path, lineno,
			    AUTH_KEYS_MAX);
			goto fail;
		}
		ks->k[ks->n++] = k;
	}
	if (ks->n == 0) {
		snprintf(err, errlen, "%s: holds no key (lines \"ID HEX\")", path);
		goto fail;
	}
	fclose(f);
	OPENSSL_cleanse(line, sizeof(line));
	return 0;
fail:
	fclose(f);
	OPENSSL_cleanse(line, sizeof(line));
	OPENSSL_cleanse(ks, sizeof(*ks));
	return -1;
}

int
auth_keys_write(const char *path, const struct auth_keys *ks)
{
	FILE *f;
	int fd, rc = 0;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0)
		return -errno;
	if ((f = fdopen(fd, "w")) == NULL) {
		rc = -errno;
		close(fd);
		return rc;
	}
	for (uint32_t i = 0; i < ks->n; i++) {
		fprintf(f, "%u ", ks->k[i].id);
		for (int j = 0; j < AUTH_KEY_SIZE; j++)
			fprintf(f, "%02x", ks->k[i].key[j]);
		fputc('\n', f);
	}
	if (fclose(f) != 0)
		rc = -EIO;
	return rc;
}

const struct auth_key *
auth_keys_find(const struct auth_keys *ks, uint8_t id)
{
	for (uint32_t i = 0; i < ks->n; i++)
		if (ks->k[i].id == id)
			return &ks->k[i];
	return NULL;
}

int
auth_derive(const struct auth_key *secret, const char *host, size_t host_len,
    struct auth_key *out)
{
	uint8_t info[sizeof(AUTH_HOST_LABEL) - 1 + 256];
	size_t llen = sizeof(AUTH_HOST_LABEL) - 1;
	OSSL_PARAM p[4];
	EVP_KDF_CTX *kc;
	EVP_KDF *kdf;
	int ok;

	if (host_len > 255)
		return -EINVAL;
	memcpy(info, AUTH_HOST_LABEL, llen);
	memcpy(info + llen, host, host_len);
	if ((kdf = EVP_KDF_fetch(NULL, "HKDF", NULL)) == NULL)
		return -EIO;
	kc = EVP_KDF_CTX_new(kdf);
	EVP_KDF_free(kdf);
	if (kc == NULL)
		return -EIO;
	p[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, "SHA256", 0);
	p[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)secret->key,
	    AUTH_KEY_SIZE);
	p[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, llen + host_len);
	p[3] = OSSL_PARAM_construct_end();
	ok = EVP_KDF_derive(kc, out->key, AUTH_KEY_SIZE, p);
	EVP_KDF_CTX_free(kc);
	out->id = secret->id;
	return ok == 1 ? 0 : -EIO;
}

/* Whether libsodium's AES-GCM runs here (AES-NI and PCLMUL): set once, read after. */
static bool
sodium_fast(void)
{
	return sodium_init() >= 0 && crypto_aead_aes256gcm_is_available() == 1;
}

/*
 * A nonce is never used twice under one key by an honest sender: every holder of a key
 * (the host's learner, each gateway's syncd) seals with its own 8 random bytes, drawn
 * when it starts and again when its 32-bit counter wraps. Two senders share a prefix
 * with probability n^2 / 2^65 for n starts under one key.
 */
static int
nonce_prefix(struct auth *a)
{
	if (RAND_bytes(a->prefix, sizeof(a->prefix)) != 1)
		return -EIO;
	a->count = 0;
	return 0;
}

static struct auth *
make(bool sodium)
{
	struct auth *a = calloc(1, sizeof(*a));

	if (a == NULL)
		return NULL;
	a->sodium = sodium;
	if (nonce_prefix(a) < 0 || (!sodium && (a->evp = EVP_CIPHER_CTX_new()) == NULL)) {
		free(a);
		return NULL;
	}
	return a;
}

struct auth *
auth_new(void)
{
	return make(sodium_fast());
}

struct auth *
auth_new_openssl(void)
{
	return make(false);
}

void
auth_free(struct auth *a)
{
	if (a == NULL)
		return;
	EVP_CIPHER_CTX_free(a->evp);
	free(a);
}

void
auth_mackey_set(struct auth_mackey *mk, const uint8_t key[AUTH_KEY_SIZE])
{
	memcpy(mk->key, key, AUTH_KEY_SIZE);
	if (sodium_fast())
		crypto_aead_aes256gcm_beforenm(&mk->st, key);
}

void
auth_mackey_clear(struct auth_mackey *mk)
{
	OPENSSL_cleanse(mk, sizeof(*mk));
}

/* The tag of AES-256-GCM with buf as additional data, nothing encrypted. */
static int
tag_evp(EVP_CIPHER_CTX *c, const uint8_t key[AUTH_KEY_SIZE], const uint8_t *nonce,
    const uint8_t *buf, size_t len, uint8_t tag[AUTH_TAG_SIZE])
{
	int n;

	if (len > INT_MAX ||
	    EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, nonce) != 1 ||
	    EVP_EncryptUpdate(c, NULL, &n, buf, (int)len) != 1 ||
	    EVP_EncryptFinal_ex(c, NULL, &n) != 1 ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, AUTH_TAG_SIZE, tag) != 1)
		return -EIO;
	return 0;
}

int
auth_seal(struct auth *a, const struct auth_mackey *k, uint8_t *buf, size_t len)
{
	uint8_t *nonce = buf + len - AUTH_MAC_SIZE, none[1] = { 0 };
	unsigned long long n;

	if (len < AUTH_MAC_SIZE)
		return -EIO;
	if (a->count == UINT32_MAX && nonce_prefix(a) < 0)
		return -EIO;
	memcpy(nonce, a->prefix, sizeof(a->prefix));
	bytes_put32(nonce + sizeof(a->prefix), a->count++);
	if (!a->sodium)
		return tag_evp(a->evp, k->key, nonce, buf, len - AUTH_MAC_SIZE,
		    nonce + AUTH_NONCE_SIZE);
	/* libsodium wants a ciphertext buffer, even of 0 bytes */
	return crypto_aead_aes256gcm_encrypt_detached_afternm(none, nonce + AUTH_NONCE_SIZE,
	    &n, none, 0, buf, len - AUTH_MAC_SIZE, NULL, nonce, &k->st) == 0 ? 0 : -EIO;
}

bool
auth_check(struct auth *a, const struct auth_mackey *k, const uint8_t *buf, size_t len)
{
	const uint8_t *nonce = buf + len - AUTH_MAC_SIZE;
	uint8_t tag[AUTH_TAG_SIZE], none[1] = { 0 };

	if (len < AUTH_MAC_SIZE)
		return false;
	if (a->sodium)
		/* libsodium compares the tags in constant time */
		return crypto_aead_aes256gcm_decrypt_detached_afternm(none, NULL, none, 0,
		    nonce + AUTH_NONCE_SIZE, buf, len - AUTH_MAC_SIZE, nonce, &k->st) == 0;
	if (tag_evp(a->evp, k->key, nonce, buf, len - AUTH_MAC_SIZE, tag) < 0)
		return false;
	return CRYPTO_memcmp(tag, nonce + AUTH_NONCE_SIZE, AUTH_TAG_SIZE) == 0;
}
