/*
 * tls_test: common/tls between two ends joined through memory (each one's tls_wire_out
 * copied into the other's tls_wire_in): the handshake completes and each end names the
 * other; data crosses both ways intact, in records of any size; a client certificate of
 * another CA, a node certificate posing as the controller and a client with no
 * certificate are each refused in the handshake; a key file others may read and a
 * certificate with no "<role>:<name>" identity are refused at start.
 */
#include "common/tls.h"
#include "common/mix.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tests/unit/pki.h"

TestSuite(tls, .init = pki_make, .fini = pki_remove);

/* Move the ciphertext one way: what from has to send into to's input ring. */
static size_t
carry(struct tls *from, struct tls *to)
{
	const uint8_t *p;
	uint8_t *q;
	size_t n, room, total = 0;

	while ((n = tls_wire_out(from, &p)) > 0) {
		room = tls_wire_in(to, &q);
		if (room == 0)
			break;
		if (n > room)
			n = room;
		memcpy(q, p, n);
		tls_wire_received(to, n);
		tls_wire_sent(from, n);
		total += n;
	}
	return total;
}

/* Drive both handshakes until both are done or one fails: the results in r[]. */
static void
handshake(struct tls *c, struct tls *s, int r[2])
{
	r[0] = r[1] = 0;
	for (int i = 0; i < 20 && (r[0] == 0 || r[1] == 0); i++) {
		if (r[0] == 0)
			r[0] = tls_handshake(c);
		carry(c, s);
		if (r[1] == 0)
			r[1] = tls_handshake(s);
		carry(s, c);
		if (r[0] < 0 || r[1] < 0)
			break;
	}
}

Test(tls, handshake_through_memory_names_both_ends_and_carries_data_both_ways)
{
	struct tls_ctx *sc = pki_ctx("", "controller-ctl", true);
	struct tls_ctx *cc = pki_ctx("", "gateway-gw1", false);
	struct tls *s = tls_new(sc), *c = tls_new(cc);
	static uint8_t out[300000], in[300000];
	size_t sent = 0, got = 0;
	ssize_t n;
	int r[2];

	cr_assert(s != NULL && c != NULL);
	cr_assert_str_eq(tls_ctx_self(sc), "controller:ctl");
	handshake(c, s, r);
	cr_assert_eq(r[0], 1, "client: %s", tls_error(c));
	cr_assert_eq(r[1], 1, "server: %s", tls_error(s));
	cr_assert_str_eq(tls_peer(s), "gateway:gw1");
	cr_assert_str_eq(tls_peer(c), "controller:ctl");
	for (size_t i = 0; i < sizeof(out); i++)
		out[i] = (uint8_t)mix64(i);
	/* More than the wire ring holds: written as it drains, read in odd-sized bites. */
	while (got < sizeof(out)) {
		sent += tls_write(c, out + sent, sizeof(out) - sent);
		carry(c, s);
		while ((n = tls_read(s, in + got, 1 + got % 7000)) > 0)
			got += (size_t)n;
		cr_assert_geq(n, 0, "%s", tls_error(s));
	}
	cr_assert_eq(memcmp(in, out, sizeof(out)), 0);
	cr_assert_eq(tls_write(s, "pong", 4), 4);
	carry(s, c);
	cr_assert_eq(tls_read(c, in, sizeof(in)), 4);
	cr_assert_eq(memcmp(in, "pong", 4), 0);
	/* close_notify reads as the end of the stream. */
	tls_shutdown(c);
	carry(c, s);
	cr_assert_eq(tls_read(s, in, sizeof(in)), -EPIPE);
	tls_free(s);
	tls_free(c);
	tls_ctx_free(sc);
	tls_ctx_free(cc);
}

Test(tls, client_certificate_of_another_ca_is_refused)
{
	struct tls_ctx *sc = pki_ctx("", "controller-ctl", true);
	char ca[160], cert[160], key[160], err[256];
	struct tls_conf tc = { .on = true, .ca = ca, .cert = cert, .key = key };
	struct tls_ctx *cc;
	struct tls *s, *c;
	int r[2];

	/* The client trusts the controller's CA, but its own certificate is another's. */
	snprintf(ca, sizeof(ca), "%s/ca.crt", pki_dir);
	snprintf(cert, sizeof(cert), "%s/other/gateway-gw1.crt", pki_dir);
	snprintf(key, sizeof(key), "%s/other/gateway-gw1.key", pki_dir);
	cc = tls_ctx_new(&tc, false, err, sizeof(err));
	cr_assert_not_null(cc, "%s", err);
	s = tls_new(sc);
	c = tls_new(cc);
	handshake(c, s, r);
	cr_assert_eq(r[1], -EKEYREJECTED);
	cr_assert(strstr(tls_error(s), "certificate") != NULL, "%s", tls_error(s));
	cr_assert_str_eq(tls_peer(s), "");
	tls_free(s);
	tls_free(c);
	tls_ctx_free(sc);
	tls_ctx_free(cc);
}

Test(tls, node_certificate_posing_as_the_controller_is_refused_by_the_client)
{
	/* A stolen gateway key, used to serve: its certificate is for clients only. */
	struct tls_ctx *sc = pki_ctx("", "gateway-gw1", true);
	struct tls_ctx *cc = pki_ctx("", "host-host1", false);
	struct tls *s = tls_new(sc), *c = tls_new(cc);
	int r[2];

	handshake(c, s, r);
	cr_assert_eq(r[0], -EKEYREJECTED);
	cr_assert_str_eq(tls_peer(c), "");
	tls_free(s);
	tls_free(c);
	tls_ctx_free(sc);
	tls_ctx_free(cc);
}

Test(tls, client_without_a_certificate_is_refused)
{
	struct tls_ctx *sc = pki_ctx("", "controller-ctl", true);
	struct tls *s = tls_new(sc);
	SSL_CTX *bare = SSL_CTX_new(TLS_client_method());
	BIO *inner, *wire;
	SSL *ssl;
	const uint8_t *p;
	uint8_t *q;
	char *b;
	int n, r = 0;

	/* A plain OpenSSL client with no certificate, on a BIO pair of its own. */
	cr_assert(bare != NULL && s != NULL);
	ssl = SSL_new(bare);
	cr_assert_eq(BIO_new_bio_pair(&inner, 1 << 16, &wire, 1 << 16), 1);
	SSL_set_bio(ssl, inner, inner);
	SSL_set_connect_state(ssl);
	for (int i = 0; i < 10 && r == 0; i++) {
		SSL_do_handshake(ssl);
		while ((n = BIO_nread0(wire, &b)) > 0) {
			size_t room = tls_wire_in(s, &q);

			if ((size_t)n > room)
				n = (int)room;
			memcpy(q, b, (size_t)n);
			tls_wire_received(s, (size_t)n);
			BIO_nread(wire, &b, n);
		}
		r = tls_handshake(s);
		while ((n = (int)tls_wire_out(s, &p)) > 0) {
			char *w;
			int room = BIO_nwrite0(wire, &w);

			if (n > room)
				n = room;
			memcpy(w, p, (size_t)n);
			BIO_nwrite(wire, &w, n);
			tls_wire_sent(s, (size_t)n);
		}
	}
	cr_assert_eq(r, -EKEYREJECTED);
	SSL_free(ssl);
	BIO_free(wire);
	SSL_CTX_free(bare);
	tls_free(s);
	tls_ctx_free(sc);
}

Test(tls, key_file_others_may_read_is_refused)
{
	char ca[160], cert[160], key[160], err[256];
	struct tls_conf tc = { .on = true, .ca = ca, .cert = cert, .key = key };
	struct tls_ctx *ctx;

	snprintf(ca, sizeof(ca), "%s/ca.crt", pki_dir);
	snprintf(cert, sizeof(cert), "%s/host-host1.crt", pki_dir);
	snprintf(key, sizeof(key), "%s/host-host1.key", pki_dir);
	cr_assert_eq(chmod(key, 0640), 0);
	cr_assert_null(tls_ctx_new(&tc, false, err, sizeof(err)));
	cr_assert(strstr(err, "must be mode 0600") != NULL, "%s", err);
	cr_assert_eq(chmod(key, 0600), 0);
	ctx = tls_ctx_new(&tc, false, err, sizeof(err));
	cr_assert_not_null(ctx, "%s", err);
	tls_ctx_free(ctx);
}

Test(tls, certificate_without_a_role_identity_is_refused)
{
	char ca[160], cert[160], key[160], err[256];
	struct tls_conf tc = { .on = true, .ca = ca, .cert = cert, .key = key };

	/* The CA's own certificate: CN "vpcfwd CA", no role. */
	snprintf(ca, sizeof(ca), "%s/ca.crt", pki_dir);
	snprintf(cert, sizeof(cert), "%s/ca.crt", pki_dir);
	snprintf(key, sizeof(key), "%s/ca.key", pki_dir);
	cr_assert_null(tls_ctx_new(&tc, true, err, sizeof(err)));
	cr_assert(strstr(err, "<role>:<name>") != NULL, "%s", err);
}
