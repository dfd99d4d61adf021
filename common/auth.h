/*
 * auth: the keys and the MAC of the sync and learn datagrams (DESIGN.md §9,
 * docs/protocol.md "Authentication"). A key file holds one or two keys, "ID HEX" a
 * line, so two are valid at once while keys rotate; the last one is the newest. A
 * gateway holds the cluster secret; a host's key is HKDF-SHA256(secret, "vpcfwd host
 * key" || host name), so a host holds only its own and can speak only as itself.
 *
 * The MAC is keyed BLAKE2b (RFC 7693) with a 16-byte tag, through OpenSSL 3's EVP_MAC:
 * re-keying its context allocates nothing, so one context serves every datagram and
 * every key (HMAC's re-init copies digest contexts, two allocations a datagram).
 */
#ifndef COMMON_AUTH_H
#define COMMON_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AUTH_KEY_SIZE	32
#define AUTH_MAC_SIZE	16
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

/* A MAC context, reused for every datagram. */
struct auth;
struct auth *auth_new(void);
void auth_free(struct auth *a);
/* Write the MAC of buf[0 .. len - 16) to buf[len - 16 .. len); 0 or -EIO. */
int auth_seal(struct auth *a, const uint8_t key[AUTH_KEY_SIZE], uint8_t *buf, size_t len);
/* Does buf[len - 16 .. len) hold the MAC of buf[0 .. len - 16)? (constant time) */
bool auth_check(struct auth *a, const uint8_t key[AUTH_KEY_SIZE], const uint8_t *buf,
    size_t len);

#endif
