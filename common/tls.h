/*
 * tls: TLS 1.3 with mutual certificates for the controller's streams (docs/protocol.md,
 * "TLS and identities"), as a byte pump with no I/O of its own: ciphertext from the
 * socket goes in with tls_wire_in/tls_wire_received, ciphertext to send comes out with
 * tls_wire_out/tls_wire_sent (an OpenSSL BIO pair, read and written in place, so the
 * kernel sends from and receives into its buffer), plaintext goes through tls_read and
 * tls_write. common/conn.c drives it from its io_uring completions: no thread, no
 * blocking call.
 *
 * Identity: a peer is the commonName of its certificate, "<role>:<name>" (controller:,
 * gateway:, host:), signed by the configured CA. Both ends must present one. A client
 * accepts only a "controller:" peer; what a server lets a peer do is its owner's call
 * (tls_peer()).
 */
#ifndef COMMON_TLS_H
#define COMMON_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct conf;
struct tls_ctx;
struct tls;

#define TLS_PEER_MAX	64	/* an identity's length, NUL included */

/* Where a process finds its CA, certificate and key (<section>.tls_ca and so on). */
struct tls_conf {
	bool on;		/* <section>.tls, default true */
	const char *ca;
	const char *cert;
	const char *key;	/* refused unless mode 0600 or stricter */
	const char *file;	/* the configuration file and */
	const char *section;	/* group they came from, for messages */
};

/*
 * Read <section>.tls, .tls_ca, .tls_cert and .tls_key (exits through fatalx on an
 * error, like the conf_* getters). tls_conf_check, after conf_done (so that a typo is
 * named first): with tls on, all three files must be named. The files themselves are
 * read by tls_ctx_start, when the process starts (not by -n).
 */
void tls_conf_read(struct conf *c, const char *section, struct tls_conf *out);
void tls_conf_check(const struct tls_conf *tc);
/*
 * The context tc names (fatalx naming the file on an error); with tls off, NULL and a
 * warning that the streams are plaintext.
 */
struct tls_ctx *tls_ctx_start(const struct tls_conf *tc, bool server);

/*
 * A context for servers (accepted connections) or clients. NULL with one line in err
 * (a file that cannot be read, a key that is not 0600, a key not matching the cert).
 */
struct tls_ctx *tls_ctx_new(const struct tls_conf *tc, bool server, char *err,
    size_t errlen);
void tls_ctx_free(struct tls_ctx *ctx);
/* This end's own identity (its certificate's commonName). */
const char *tls_ctx_self(const struct tls_ctx *ctx);

/* One connection's TLS state. NULL when out of memory. */
struct tls *tls_new(struct tls_ctx *ctx);
void tls_free(struct tls *t);

/*
 * Advance the handshake with what was received: 1 done, 0 not yet (send what
 * tls_wire_out holds, wait for more input), -EKEYREJECTED when it failed (a certificate
 * missing, of another CA, expired, a client's peer not a controller): tls_error() says
 * why, and tls_wire_out may hold the alert for the peer.
 */
int tls_handshake(struct tls *t);
bool tls_ready(const struct tls *t);
/*
 * Plaintext received: bytes > 0, 0 when nothing is decrypted yet, -EPIPE when the peer
 * closed the session (close_notify), -EPROTO on a TLS error (tls_error()).
 */
ssize_t tls_read(struct tls *t, void *buf, size_t len);
/* Encrypt up to len bytes: how many were taken (0 when the wire buffer is full). */
size_t tls_write(struct tls *t, const void *buf, size_t len);
/* Queue the close_notify alert. */
void tls_shutdown(struct tls *t);

/* Ciphertext to send: *p, the returned length (0: none). Then tls_wire_sent(n). */
size_t tls_wire_out(struct tls *t, const uint8_t **p);
void tls_wire_sent(struct tls *t, size_t n);
/* Room for ciphertext received: *p, the returned length. Then tls_wire_received(n). */
size_t tls_wire_in(struct tls *t, uint8_t **p);
void tls_wire_received(struct tls *t, size_t n);

/* The peer's identity once the handshake is done, else "". */
const char *tls_peer(const struct tls *t);
/* Why the last call failed, for a log line. */
const char *tls_error(const struct tls *t);

#endif
