/*
 * auth: the keys and the MAC of the sync and learn datagrams (DESIGN.md §9,
 * docs/protocol.md "Authentication"). A key file holds one or two keys, "ID HEX" a
 * line, so two are valid at once while keys rotate; the last one is the newest. A
 * gateway holds the cluster secret; a host's key is HKDF-SHA256(secret, "vpcfwd host
 * key" || host name), so a host holds only its own and can speak only as itself.
 *
 * The MAC is AES-256-GMAC (NIST SP 800-38D: AES-256-GCM with the datagram as additional
 * data and nothing encrypted), 28 bytes at the datagram's end: a 12-byte nonce the
 * sender draws (auth.c: a per-sender random prefix and a counter, never reused under a
 * key) and the 16-byte tag, which covers the nonce. libsodium's AES-GCM when the CPU has
 * AES-NI and PCLMUL, else OpenSSL's, which computes the same tag (docs/protocol.md
 * "Authentication" says why this MAC; docs/sync.md what it costs).
 */
#ifndef COMMON_AUTH_H
#define COMMON_AUTH_H

#include <sodium/crypto_aead_aes256gcm.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AUTH_KEY_SIZE	32
#define AUTH_NONCE_SIZE	12
#define AUTH_TAG_SIZE	16
#define AUTH_MAC_SIZE	(AUTH_NONCE_SIZE + AUTH_TAG_SIZE)	/* nonce, then tag */
#define AUTH_KEYS_MAX	2
#define AUTH_HOST_LABEL	"vpcfwd host key"

struct auth_key {
	uint8_t id;
	uint8_t key[AUTH_KEY_SIZE];
};

/* k[n - 1] is the newest: the one a learner sends with. */
struct auth_keys {
	uint32_t n;
	struct auth_key k[AUTH_KEYS_MAX];
};

/*
 * Read a key file: mode 0600 or stricter (no access for group or others), 1..2 lines
 * "ID HEX" (ID 0..255, no ID twice; HEX 64 hex digits), blank lines and '#' comments.
 * 0, or -1 with one line naming the file in err.
 */
int auth_keys_read(const char *path, struct auth_keys *ks, char *err, size_t errlen);
/* Write ks to path, mode 0600 (refusing an existing file); 0 or a negative errno. */
int auth_keys_write(const char *path, const struct auth_keys *ks);
const struct auth_key *auth_keys_find(const struct auth_keys *ks, uint8_t id);
/* A host's key from the secret of the same id; 0 or -EIO. */
int auth_derive(const struct auth_key *secret, const char *host, size_t host_len,
    struct auth_key *out);

/*
 * A key made ready for the MAC once (AES-256's round keys, GHASH's powers of H), so a
 * datagram pays for no key setup: syncd keeps one for each host it hears from. It is key
 * material: auth_mackey_clear before its memory goes.
 */
struct auth_mackey {
	crypto_aead_aes256gcm_state st;	/* libsodium's */
	uint8_t key[AUTH_KEY_SIZE];	/* OpenSSL's */
};
void auth_mackey_set(struct auth_mackey *mk, const uint8_t key[AUTH_KEY_SIZE]);
void auth_mackey_clear(struct auth_mackey *mk);

/*
 * A MAC context, reused for every datagram and every key, by one thread: it holds the
 * sender's nonce counter.
 */
struct auth;
struct auth *auth_new(void);
/* The same, on OpenSSL even where libsodium's AES-GCM would run (for tests). */
struct auth *auth_new_openssl(void);
void auth_free(struct auth *a);
/* Write a fresh nonce and the MAC of buf[0 .. len - 28) to buf[len - 28 .. len); 0 or -EIO. */
int auth_seal(struct auth *a, const struct auth_mackey *k, uint8_t *buf, size_t len);
/* Does buf[len - 28 .. len) hold a nonce and the MAC of buf[0 .. len - 28)? (constant time) */
bool auth_check(struct auth *a, const struct auth_mackey *k, const uint8_t *buf,
    size_t len);

#endif
