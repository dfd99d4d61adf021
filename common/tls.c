/*
 * tls: see tls.h. Invariants:
 * - The SSL object writes to and reads from its half of a BIO pair; the other half is
 *   the wire, read and written in place by the caller (BIO_nread0/BIO_nwrite0), so
 *   ciphertext is copied once each way, by OpenSSL, and never moves while the kernel
 *   reads it: the pair's ring keeps bytes where they are until tls_wire_sent.
 * - tls_write encrypts only whole records that fit in the wire buffer, so SSL_write
 *   never stops halfway through a record and never needs to be retried.
 * - OpenSSL's error queue is empty before each call into it, and emptied after: a
 *   failure on one connection never shows on another.
 */
#include "common/tls.h"
#include "common/conf.h"
#include "common/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

/*
 * Each direction's ring. A record is at most 16 KiB of plaintext and a few bytes more:
 * four of them fill a send, and the input ring takes a large receive.
 */
#define TLS_WIRE_BUF	(64u * 1024)
#define TLS_RECORD	16384u			/* plaintext per record */
#define TLS_RECORD_ROOM	(TLS_RECORD + 256u)	/* its ciphertext at most */
#define TLS_ERR_MAX	160

struct tls_ctx {
	SSL_CTX *ssl;
	bool server;
	char self[TLS_PEER_MAX];
};

struct tls {
	SSL *ssl;
	BIO *wire;		/* our half of the pair: ciphertext in and out */
	bool server;
	bool ready;
	char peer[TLS_PEER_MAX];
	char err[TLS_ERR_MAX];
};

void
tls_conf_read(struct conf *c, const char *section, struct tls_conf *out)
{
	char path[128];

	out->file = conf_path(c);
	out->section = section;
	snprintf(path, sizeof(path), "%s.tls", section);
	out->on = conf_bool(c, path, true);
	snprintf(path, sizeof(path), "%s.tls_ca", section);
	out->ca = conf_str(c, path, NULL);
	snprintf(path, sizeof(path), "%s.tls_cert", section);
	out->cert = conf_str(c, path, NULL);
	snprintf(path, sizeof(path), "%s.tls_key", section);
	out->key = conf_str(c, path, NULL);
}

void
tls_conf_check(const struct tls_conf *tc)
{
	static const char *const what[] = { "the CA's certificate", "this node's "
	    "certificate", "this node's private key" };
	static const char *const keys[] = { "tls_ca", "tls_cert", "tls_key" };
	const char *files[] = { tc->ca, tc->cert, tc->key };

	for (size_t i = 0; i < 3; i++)
		if (tc->on && files[i] == NULL)
			fatalx("%s: %s.%s must name %s (tools/vpcfwd-pki makes them), or set "
			    "%s.tls = false for plaintext", tc->file, tc->section, keys[i],
			    what[i], tc->section);
}

struct tls_ctx *
tls_ctx_start(const struct tls_conf *tc, bool server)
{
	struct tls_ctx *ctx;
	char err[512];

	if (!tc->on) {
		log_warnx("%s: %s.tls = false: the controller's streams are plaintext, "
		    "unauthenticated and readable by anyone on the path", tc->file, tc->section);
		return NULL;
	}
	if ((ctx = tls_ctx_new(tc, server, err, sizeof(err))) == NULL)
		fatalx("%s: %s.tls: %s", tc->file, tc->section, err);
	return ctx;
}

/* The first error OpenSSL queued (or what), into buf; the queue is emptied. */
static void
tls_errstr(char *buf, size_t len, const char *what)
{
	unsigned long e = ERR_get_error();
	char es[120];

	if (e == 0) {
		snprintf(buf, len, "%s", what);
	} else {
		ERR_error_string_n(e, es, sizeof(es));
		snprintf(buf, len, "%s: %s", what, es);
	}
	ERR_clear_error();
}

/* A key anyone else may read is a key someone else may hold: refuse it. */
static int
tls_key_mode(const char *path, char *err, size_t errlen)
{
	struct stat st;

	if (stat(path, &st) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if ((st.st_mode & 077) != 0) {
		snprintf(err, errlen, "%s: a private key must be mode 0600 (it is %04o): "
		    "chmod 600 %s", path, (unsigned)(st.st_mode & 07777), path);
		return -1;
	}
	return 0;
}

/* The commonName of cert, if it has the shape "<role>:<name>"; else -1. */
static int
tls_identity(X509 *cert, char *out, size_t len)
{
	X509_NAME *n;
	int r;

	if (cert == NULL || (n = X509_get_subject_name(cert)) == NULL)
		return -1;
	r = X509_NAME_get_text_by_NID(n, NID_commonName, out, (int)len);
	if (r <= 0 || (size_t)r >= len - 1 || strchr(out, ':') == NULL)
		return -1;
	for (int i = 0; i < r; i++)
		if (out[i] <= ' ' || out[i] > '~')
			return -1;
	return 0;
}

struct tls_ctx *
tls_ctx_new(const struct tls_conf *tc, bool server, char *err, size_t errlen)
{
	struct tls_ctx *ctx;
	SSL_CTX *s;

	if (tls_key_mode(tc->key, err, errlen) < 0)
		return NULL;
	if ((ctx = calloc(1, sizeof(*ctx))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	ERR_clear_error();
	ctx->server = server;
	if ((s = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method())) == NULL) {
		tls_errstr(err, errlen, "SSL_CTX_new");
		free(ctx);
		return NULL;
	}
	ctx->ssl = s;
	SSL_CTX_set_min_proto_version(s, TLS1_3_VERSION);
	SSL_CTX_set_mode(s, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
	/* A stream lives for hours: resumption would save one handshake a reconnect. */
	SSL_CTX_set_session_cache_mode(s, SSL_SESS_CACHE_OFF);
	if (server)
		SSL_CTX_set_num_tickets(s, 0);
	SSL_CTX_set_verify(s, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	if (SSL_CTX_load_verify_locations(s, tc->ca, NULL) != 1) {
		tls_errstr(err, errlen, tc->ca);
		goto fail;
	}
	if (SSL_CTX_use_certificate_chain_file(s, tc->cert) != 1) {
		tls_errstr(err, errlen, tc->cert);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(s, tc->key, SSL_FILETYPE_PEM) != 1) {
		tls_errstr(err, errlen, tc->key);
		goto fail;
	}
	if (SSL_CTX_check_private_key(s) != 1) {
		tls_errstr(err, errlen, "the key does not match the certificate");
		goto fail;
	}
	if (tls_identity(SSL_CTX_get0_certificate(s), ctx->self, sizeof(ctx->self)) < 0) {
		snprintf(err, errlen, "%s: the certificate's commonName must be "
		    "\"<role>:<name>\" (controller:, gateway:, host:)", tc->cert);
		goto fail;
	}
	return ctx;
fail:
	SSL_CTX_free(s);
	free(ctx);
	return NULL;
}

void
tls_ctx_free(struct tls_ctx *ctx)
{
	if (ctx == NULL)
		return;
	SSL_CTX_free(ctx->ssl);
	free(ctx);
}

const char *
tls_ctx_self(const struct tls_ctx *ctx)
{
	return ctx->self;
}

struct tls *
tls_new(struct tls_ctx *ctx)
{
	struct tls *t;
	BIO *inner;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	ERR_clear_error();
	if ((t->ssl = SSL_new(ctx->ssl)) == NULL ||
	    BIO_new_bio_pair(&inner, TLS_WIRE_BUF, &t->wire, TLS_WIRE_BUF) != 1) {
		ERR_clear_error();
		SSL_free(t->ssl);
		free(t);
		return NULL;
	}
	SSL_set_bio(t->ssl, inner, inner);	/* the SSL owns inner from here */
	t->server = ctx->server;
	if (t->server)
		SSL_set_accept_state(t->ssl);
	else
		SSL_set_connect_state(t->ssl);
	return t;
}

void
tls_free(struct tls *t)
{
	if (t == NULL)
		return;
	SSL_free(t->ssl);
	BIO_free(t->wire);
	free(t);
}

/* Why the handshake failed: the certificate check's verdict when there is one. */
static void
tls_handshake_error(struct tls *t)
{
	long v = SSL_get_verify_result(t->ssl);

	if (v != X509_V_OK) {
		snprintf(t->err, sizeof(t->err), "the peer's certificate: %s",
		    X509_verify_cert_error_string(v));
		ERR_clear_error();
	} else {
		tls_errstr(t->err, sizeof(t->err), "handshake");
	}
}

int
tls_handshake(struct tls *t)
{
	int r, e;

	if (t->ready)
		return 1;
	ERR_clear_error();
	if ((r = SSL_do_handshake(t->ssl)) != 1) {
		e = SSL_get_error(t->ssl, r);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
			ERR_clear_error();
			return 0;
		}
		tls_handshake_error(t);
		return -EKEYREJECTED;
	}
	/* Verified against the CA (SSL_VERIFY_PEER): its name is what it may do. */
	if (tls_identity(SSL_get0_peer_certificate(t->ssl), t->peer, sizeof(t->peer)) < 0) {
		snprintf(t->err, sizeof(t->err), "the peer's certificate names no "
		    "\"<role>:<name>\" identity");
		t->peer[0] = '\0';
		return -EKEYREJECTED;
	}
	/* A node talks to controllers only: a stolen node certificate cannot pose as one. */
	if (!t->server && strncmp(t->peer, "controller:", 11) != 0) {
		snprintf(t->err, sizeof(t->err), "the peer is %s, not a controller", t->peer);
		t->peer[0] = '\0';
		return -EKEYREJECTED;
	}
	t->ready = true;
	return 1;
}

bool
tls_ready(const struct tls *t)
{
	return t->ready;
}

ssize_t
tls_read(struct tls *t, void *buf, size_t len)
{
	size_t n = 0;
	int e;

	ERR_clear_error();
	if (SSL_read_ex(t->ssl, buf, len, &n) == 1)
		return (ssize_t)n;
	e = SSL_get_error(t->ssl, 0);
	switch (e) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		ERR_clear_error();
		return 0;
	case SSL_ERROR_ZERO_RETURN:
		ERR_clear_error();
		return -EPIPE;
	default:
		tls_errstr(t->err, sizeof(t->err), "read");
		return -EPROTO;
	}
}

size_t
tls_write(struct tls *t, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	size_t done = 0, n, w;

	while (done < len &&
	    BIO_ctrl_get_write_guarantee(SSL_get_wbio(t->ssl)) >= TLS_RECORD_ROOM) {
		n = len - done < TLS_RECORD ? len - done : TLS_RECORD;
		ERR_clear_error();
		/* Room for the whole record was checked: a failure is a bug. */
		if (SSL_write_ex(t->ssl, p + done, n, &w) != 1 || w != n) {
			tls_errstr(t->err, sizeof(t->err), "write");
			log_warnx("tls: %s", t->err);
			break;
		}
		done += n;
	}
	return done;
}

void
tls_shutdown(struct tls *t)
{
	ERR_clear_error();
	SSL_shutdown(t->ssl);
	ERR_clear_error();
}

size_t
tls_wire_out(struct tls *t, const uint8_t **p)
{
	char *b;
	int n = BIO_nread0(t->wire, &b);

	if (n <= 0)
		return 0;
	*p = (const uint8_t *)b;
	return (size_t)n;
}

void
tls_wire_sent(struct tls *t, size_t n)
{
	char *b;
	int r = BIO_nread(t->wire, &b, (int)n);

	if (r != (int)n)
		log_warnx("tls: wire ring out of step (%d of %zu)", r, n);
}

size_t
tls_wire_in(struct tls *t, uint8_t **p)
{
	char *b;
	int n = BIO_nwrite0(t->wire, &b);

	if (n <= 0)
		return 0;
	*p = (uint8_t *)b;
	return (size_t)n;
}

void
tls_wire_received(struct tls *t, size_t n)
{
	char *b;
	int r = BIO_nwrite(t->wire, &b, (int)n);

	if (r != (int)n)
		log_warnx("tls: wire ring out of step (%d of %zu)", r, n);
}

const char *
tls_peer(const struct tls *t)
{
	return t->peer;
}

const char *
tls_error(const struct tls *t)
{
	return t->err[0] ? t->err : "no error";
}
