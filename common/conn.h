/*
 * conn: a framed stream connection (TCP or unix) on the loop. Frames are a 32-bit
 * big-endian length and a payload (common/wire.h). A connection keeps one receive in
 * flight into its input buffer and hands each complete frame to its owner; it keeps
 * at most one send in flight from its output buffer; it is freed only once none of its
 * operations is in flight, after telling its owner that it closed.
 *
 * With conn_params.tls, the stream is TLS (common/tls.h) on the same loop: ciphertext is
 * received into and sent from the TLS wire rings, frames are parsed from and queued as
 * plaintext as before. A connecting end's `connected` comes once the handshake is done;
 * a handshake that fails closes the connection with -EKEYREJECTED (after sending the
 * peer its alert), and conn_peer() names a peer that passed.
 *
 * The output buffer grows up to out_max bytes; a producer with more to say (a
 * snapshot, a log backlog) writes while conn_pending() is below a threshold and is
 * called back by `writable` as the buffer drains.
 */
#ifndef COMMON_CONN_H
#define COMMON_CONN_H

#include "common/loop.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct conn;
struct listener;
struct tls_ctx;

struct conn_ops {
	/* A complete frame (its payload). Return 0, or -1 to close the connection. */
	int (*frame)(struct conn *c, const uint8_t *payload, uint32_t len);
	/* The output buffer drained to at most out_low bytes (may be NULL). */
	void (*writable)(struct conn *c);
	/* A conn_connect() finished: err 0, or a negative errno (then `closed` follows). */
	void (*connected)(struct conn *c, int err);
	/*
	 * The connection is closed (peer, error, frame_max exceeded, a frame callback that
	 * returned -1 (-EPROTO), or conn_close): err 0 for an orderly end, else a negative
	 * errno. Never called from inside conn_close or another callback of the same conn;
	 * after conn_close it is the only callback left. The conn is freed right after.
	 */
	void (*closed)(struct conn *c, int err);
};

struct conn_params {
	size_t frame_max;	/* largest payload accepted; larger closes with -EMSGSIZE */
	size_t out_max;		/* output buffer limit; conn_send past it fails -ENOBUFS */
	size_t out_low;		/* `writable` fires when pending drops to this */
	struct tls_ctx *tls;	/* NULL: plaintext */
};

/* Adopt a connected socket fd (non-blocking is not required). NULL when out of
 * memory; the fd is then still the caller's. */
struct conn *conn_new(struct loop *l, int fd, const struct conn_params *p,
    const struct conn_ops *ops, void *arg);
/* Connect to sa (a socket of sa's family is made here); `connected` tells the outcome.
 * NULL with errno set when no socket could be made. */
struct conn *conn_connect(struct loop *l, const struct sockaddr *sa, socklen_t salen,
    const struct conn_params *p, const struct conn_ops *ops, void *arg);
/*
 * Queue one frame: the length prefix is added here. 0, -ENOBUFS past out_max, -EPIPE
 * after conn_close, or -ENOMEM (conn_send and conn_reserve likewise).
 */
int conn_send_frame(struct conn *c, const void *payload, uint32_t len);
/* Queue bytes that already are whole frames (encoded with wire_encode). */
int conn_send(struct conn *c, const void *data, size_t len);
/*
 * Room for len bytes at the end of the output buffer, to encode into in place; then
 * conn_commit(c, used). NULL past out_max.
 */
uint8_t *conn_reserve(struct conn *c, size_t len);
void conn_commit(struct conn *c, size_t used);
size_t conn_pending(const struct conn *c);	/* bytes queued, not yet sent */
/*
 * Close: queued output is dropped unless flush (then it is sent, the write side shut,
 * and input drained until the peer closes or 2 s pass, so a TCP reset cannot destroy
 * what the peer has not read). A flush to a peer that never reads never ends: close
 * again without flush to cut it. `closed` is called, then the conn is freed.
 */
void conn_close(struct conn *c, bool flush);
void *conn_arg(const struct conn *c);
void conn_set_arg(struct conn *c, void *arg);
int conn_fd(const struct conn *c);
/* The TLS peer's identity ("gateway:gw1") once its handshake passed, else NULL. */
const char *conn_peer(const struct conn *c);

/*
 * A listening socket, owned from here on (listener_free closes it): each accepted
 * connection's fd is handed to accept_fn (multishot accept; re-armed if the kernel
 * ends it; transient errors are logged and retried).
 */
struct listener *listener_new(struct loop *l, int fd,
    void (*accept_fn)(struct listener *ls, int fd, void *arg), void *arg);
void listener_free(struct listener *ls);

#endif
