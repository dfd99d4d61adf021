/*
 * vpcfwd-keygen: the key files of the sync and learn authentication (common/auth.h,
 * docs/protocol.md "Authentication"). A cluster secret for the gateways' syncd, and a
 * host's key for its learner, derived from the secret and the host's name as syncd
 * derives it. Files are written mode 0600 and never overwritten.
 *
 *	vpcfwd-keygen secret FILE [ID]		a new random secret, key id ID (default 1)
 *	vpcfwd-keygen host SECRET HOST FILE	HOST's key for every secret in SECRET
 *
 * Rotation: a secret file of two lines (the old one first, the newest last) gives host
 * files of two keys the same way (docs/protocol.md).
 */
#include "common/auth.h"
#include "common/sync.h"
#include "common/version.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
usage(void)
{
	fprintf(stderr, "usage: vpcfwd-keygen secret FILE [ID]\n"
	    "       vpcfwd-keygen host SECRET HOST FILE\n"
	    "       vpcfwd-keygen --version\n");
	exit(2);
}

static void
write_keys(const char *path, struct auth_keys *ks)
{
	int rc = auth_keys_write(path, ks);

	OPENSSL_cleanse(ks, sizeof(*ks));
	if (rc < 0) {
		fprintf(stderr, "vpcfwd-keygen: %s: %s\n", path, strerror(-rc));
		exit(1);
	}
}

int
main(int argc, char **argv)
{
	struct auth_keys ks = { 0 }, out = { 0 };
	char err[512];

	version_exit_if_asked(argc, argv, "vpcfwd-keygen");
	if (argc >= 3 && argc <= 4 && strcmp(argv[1], "secret") == 0) {
		char *end;
		long id = argc == 4 ? strtol(argv[3], &end, 10) : 1;

		if (argc == 4 && (*end != '\0' || id < 0 || id > 255)) {
			fprintf(stderr, "vpcfwd-keygen: ID must be 0..255, not \"%s\"\n", argv[3]);
			return 2;
		}
		ks.n = 1;
		ks.k[0].id = (uint8_t)id;
		if (RAND_bytes(ks.k[0].key, AUTH_KEY_SIZE) != 1) {
			fprintf(stderr, "vpcfwd-keygen: no random bytes\n");
			return 1;
		}
		write_keys(argv[2], &ks);
		return 0;
	}
	if (argc != 5 || strcmp(argv[1], "host") != 0)
		usage();
	if (strlen(argv[3]) < 1 || strlen(argv[3]) > SYNC_NAME_MAX) {
		fprintf(stderr, "vpcfwd-keygen: HOST must be 1..%d characters\n", SYNC_NAME_MAX);
		return 2;
	}
	if (auth_keys_read(argv[2], &ks, err, sizeof(err)) < 0) {
		fprintf(stderr, "vpcfwd-keygen: %s\n", err);
		return 1;
	}
	for (uint32_t i = 0; i < ks.n; i++)
		if (auth_derive(&ks.k[i], argv[3], strlen(argv[3]), &out.k[out.n++]) < 0) {
			fprintf(stderr, "vpcfwd-keygen: key derivation failed\n");
			return 1;
		}
	OPENSSL_cleanse(&ks, sizeof(ks));
	write_keys(argv[4], &out);
	return 0;
}
