/*
 * etcd: etcd v3's JSON gateway over libcurl (see etcd.h for the interface, the
 * gateway's quirks and the errors). One easy handle a client, so the connection to the
 * current endpoint is kept alive between calls. Invariant: every byte of a response
 * passes a check before the caller sees it (size, JSON shape, integer range, canonical
 * base64), and no call returns 0 with a field the response did not justify.
 */
#include "common/etcd.h"
#include "common/base64.h"
#include "common/etcd_parse.h"

#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

/*
 * Largest request body we build. etcd refuses a request over --max-request-bytes
 * (1.5 MiB of protobuf by default) itself, with a message mapped to -EMSGSIZE; this
 * bound only keeps a runaway caller from building a huge body at all. Base64 makes
 * bytes 4/3 larger, JSON adds field names: four times etcd's default leaves room for a
 * member configured with a larger limit.
 */
/* A request's JSON: a large txn (an import batch of 10,000 VMs is ~10 MB). */
#define ETCD_REQ_MAX	((size_t)64 << 20)

struct etcd {
	CURL *curl;
	struct curl_slist *headers;
	/* a watch's: its own transfer loop (etcd_watch), and headers asking for a leader */
	CURLM *multi;
	struct curl_slist *watch_headers;
	char endpoints[ETCD_ENDPOINTS_MAX][ETCD_ENDPOINT_MAX + 1];
	unsigned n_endpoints, cur;
	unsigned timeout_ms;
	size_t resp_max;
	char *ca_file, *cert_file, *key_file;
	char url[ETCD_ENDPOINT_MAX + 64];
	char curl_err[CURL_ERROR_SIZE];
	/* the response body being received: bounded by resp_max */
	char *body;
	size_t body_len, body_cap;
	bool body_over;
	/* decoded keys and value of the kvs last handed out (etcd_get, range callbacks) */
	struct etcd_parse_buf kv;
	char err[ETCD_ERROR_MAX];
	struct etcd_stats st;
};

static pthread_once_t etcd_once = PTHREAD_ONCE_INIT;
static CURLcode etcd_global_rc;

/* curl_global_init is not thread-safe in every libcurl: done once, whoever comes first. */
static void
etcd_global_init(void)
{
	etcd_global_rc = curl_global_init(CURL_GLOBAL_ALL);
}

static int
etcd_fail(struct etcd *e, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Record why the call fails (with the endpoint) and count it; returns rc. */
static int
etcd_fail(struct etcd *e, int rc, const char *fmt, ...)
{
	va_list ap;
	int n;

	n = snprintf(e->err, sizeof(e->err), "%s: ", e->endpoints[e->cur]);
	if (n < 0 || (size_t)n >= sizeof(e->err))
		n = 0;
	va_start(ap, fmt);
	vsnprintf(e->err + n, sizeof(e->err) - (size_t)n, fmt, ap);
	va_end(ap);
	e->st.errors++;
	if (rc == -ETIMEDOUT)
		e->st.timeouts++;
	else if (rc == -ESTALE)
		e->st.compacted++;
	else if (rc == -ENOSPC)
		e->st.nospace++;
	return rc;
}

/* A base URL: http(s)://, printable, no query or fragment; one trailing '/' dropped. */
static int
etcd_endpoint_check(const char *s, char out[ETCD_ENDPOINT_MAX + 1])
{
	size_t n, i;

	if (s == NULL)
		return -EINVAL;
	n = strlen(s);
	if (n > ETCD_ENDPOINT_MAX)
		return -EINVAL;
	if (strncmp(s, "http://", 7) != 0 && strncmp(s, "https://", 8) != 0)
		return -EINVAL;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f || s[i] == '?' ||
		    s[i] == '#')
			return -EINVAL;
	if (n > 0 && s[n - 1] == '/')
		n--;
	if (n <= 8 || (s[4] == ':' && n <= 7))
		return -EINVAL;
	memcpy(out, s, n);
	out[n] = '\0';
	return 0;
}

static size_t
etcd_write_cb(char *p, size_t size, size_t nmemb, void *arg)
{
	struct etcd *e = arg;
	size_t n = size * nmemb, c;
	char *q;

	if (n > e->resp_max - e->body_len) {
		e->body_over = true;
		return 0;	/* curl ends the transfer: CURLE_WRITE_ERROR */
	}
	if (e->body_len + n + 1 > e->body_cap) {
		c = e->body_cap ? e->body_cap : 4096;
		while (c < e->body_len + n + 1)
			c *= 2;
		if ((q = realloc(e->body, c)) == NULL)
			return 0;
		e->body = q;
		e->body_cap = c;
	}
	memcpy(e->body + e->body_len, p, n);
	e->body_len += n;
	return n;
}

/*
 * Every connection: TCP keepalive (curl sets the idle time and interval) with a count,
 * and TCP_USER_TIMEOUT, so a peer gone silent without a FIN (a partition, a host lost)
 * is found after about timeout_ms, even by a watch that sends nothing and may wait for
 * hours for an event. Best effort: without them a watch still has idle_ms.
 */
static int
etcd_sockopt_cb(void *arg, curl_socket_t fd, curlsocktype purpose)
{
	const struct etcd *e = arg;
	unsigned user_timeout = e->timeout_ms;
	int count = 3;

	if (purpose == CURLSOCKTYPE_IPCXN) {
		(void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof(count));
		(void)setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout,
		    sizeof(user_timeout));
	}
	return CURL_SOCKOPT_OK;
}

static char *
etcd_strdup_opt(const char *s, bool *bad)
{
	char *d;

	if (s == NULL || *s == '\0')
		return NULL;
	if ((d = strdup(s)) == NULL)
		*bad = true;
	return d;
}

static void
etcd_why(char *why, const char *msg)
{
	if (why != NULL)
		snprintf(why, ETCD_ERROR_MAX, "%s", msg);
}

/* Keepalive's idle time and interval: half the timeout, so the second probe ends it. */
static long
etcd_keepalive_s(unsigned timeout_ms)
{
	return timeout_ms >= 4000 ? (long)(timeout_ms / 2000) : 1L;
}

int
etcd_open(struct etcd **ep, const struct etcd_conf *conf, char why[ETCD_ERROR_MAX])
{
	struct etcd *e;
	bool nomem = false;
	unsigned i;

	*ep = NULL;
	if (conf == NULL || conf->endpoints == NULL || conf->n_endpoints == 0 ||
	    conf->n_endpoints > ETCD_ENDPOINTS_MAX) {
		etcd_why(why, "etcd: 1..16 endpoints");
		return -EINVAL;
	}
	if (conf->timeout_ms == 0 || conf->timeout_ms > 3600000) {
		etcd_why(why, "etcd: timeout_ms must be 1..3600000");
		return -EINVAL;
	}
	if ((conf->cert_file == NULL) != (conf->key_file == NULL)) {
		etcd_why(why, "etcd: a certificate needs its key, and a key its certificate");
		return -EINVAL;
	}
	pthread_once(&etcd_once, etcd_global_init);
	if (etcd_global_rc != CURLE_OK) {
		etcd_why(why, "etcd: curl_global_init failed");
		return -ENOMEM;
	}
	if ((e = calloc(1, sizeof(*e))) == NULL)
		return -ENOMEM;
	for (i = 0; i < conf->n_endpoints; i++) {
		if (etcd_endpoint_check(conf->endpoints[i], e->endpoints[i]) != 0) {
			if (why != NULL)
				snprintf(why, ETCD_ERROR_MAX, "etcd: endpoint %u is not an "
				    "http:// or https:// base URL", i + 1);
			free(e);
			return -EINVAL;
		}
	}
	e->n_endpoints = conf->n_endpoints;
	e->timeout_ms = conf->timeout_ms;
	e->resp_max = conf->resp_max ? conf->resp_max : ETCD_RESP_MAX_DEFAULT;
	e->ca_file = etcd_strdup_opt(conf->ca_file, &nomem);
	e->cert_file = etcd_strdup_opt(conf->cert_file, &nomem);
	e->key_file = etcd_strdup_opt(conf->key_file, &nomem);
	e->curl = curl_easy_init();
	/*
	 * "Expect:" off: libcurl would otherwise wait for a 100 Continue before sending a
	 * body over 1 KiB, a round trip for nothing (etcd answers 100 at once anyway).
	 */
	e->headers = curl_slist_append(NULL, "Content-Type: application/json");
	if (e->headers != NULL)
		e->headers = curl_slist_append(e->headers, "Expect:");
	/*
	 * A watch asks for a leader (gRPC metadata "hasleader", which the gateway passes
	 * on from Grpc-Metadata- headers): a member cut off in a minority then ends the
	 * watch with "no leader" after a few election timeouts, where it would otherwise
	 * keep it open and silent, with no event ever again.
	 */
	e->watch_headers = curl_slist_append(NULL, "Content-Type: application/json");
	if (e->watch_headers != NULL)
		e->watch_headers = curl_slist_append(e->watch_headers, "Expect:");
	if (e->watch_headers != NULL)
		e->watch_headers = curl_slist_append(e->watch_headers,
		    "Grpc-Metadata-hasleader: true");
	if (nomem || e->curl == NULL || e->headers == NULL || e->watch_headers == NULL) {
		etcd_close(e);
		return -ENOMEM;
	}
	curl_easy_setopt(e->curl, CURLOPT_NOSIGNAL, 1L);	/* no SIGALRM: threads */
	/* An http_proxy in the environment must not take the store's traffic. */
	curl_easy_setopt(e->curl, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(e->curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e->curl, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e->curl, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(e->curl, CURLOPT_TIMEOUT_MS, (long)e->timeout_ms);
	curl_easy_setopt(e->curl, CURLOPT_CONNECTTIMEOUT_MS, (long)e->timeout_ms);
	curl_easy_setopt(e->curl, CURLOPT_HTTPHEADER, e->headers);
	curl_easy_setopt(e->curl, CURLOPT_WRITEFUNCTION, etcd_write_cb);
	curl_easy_setopt(e->curl, CURLOPT_WRITEDATA, e);
	curl_easy_setopt(e->curl, CURLOPT_ERRORBUFFER, e->curl_err);
	curl_easy_setopt(e->curl, CURLOPT_POST, 1L);
	curl_easy_setopt(e->curl, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e->curl, CURLOPT_TCP_KEEPIDLE, etcd_keepalive_s(e->timeout_ms));
	curl_easy_setopt(e->curl, CURLOPT_TCP_KEEPINTVL, etcd_keepalive_s(e->timeout_ms));
	curl_easy_setopt(e->curl, CURLOPT_SOCKOPTFUNCTION, etcd_sockopt_cb);
	curl_easy_setopt(e->curl, CURLOPT_SOCKOPTDATA, e);
	if (e->ca_file != NULL)
		curl_easy_setopt(e->curl, CURLOPT_CAINFO, e->ca_file);
	if (e->cert_file != NULL) {
		curl_easy_setopt(e->curl, CURLOPT_SSLCERT, e->cert_file);
		curl_easy_setopt(e->curl, CURLOPT_SSLKEY, e->key_file);
	}
	*ep = e;
	return 0;
}

void
etcd_close(struct etcd *e)
{
	if (e == NULL)
		return;
	if (e->curl != NULL)
		curl_easy_cleanup(e->curl);
	if (e->multi != NULL)
		curl_multi_cleanup(e->multi);
	curl_slist_free_all(e->headers);
	curl_slist_free_all(e->watch_headers);
	free(e->ca_file);
	free(e->cert_file);
	free(e->key_file);
	free(e->body);
	etcd_parse_buf_free(&e->kv);
	free(e);
}

const char *
etcd_error(const struct etcd *e)
{
	return e->err;
}

const struct etcd_stats *
etcd_stats(const struct etcd *e)
{
	return &e->st;
}

const char *
etcd_endpoint(const struct etcd *e)
{
	return e->endpoints[e->cur];
}

size_t
etcd_prefix_end(const void *prefix, size_t plen, uint8_t *end)
{
	const uint8_t *p = prefix;
	size_t i;

	for (i = plen; i > 0; i--) {
		if (p[i - 1] != 0xff) {
			memcpy(end, p, i - 1);
			end[i - 1] = (uint8_t)(p[i - 1] + 1);
			return i;
		}
	}
	end[0] = 0;
	return 1;
}

/* ---- building requests ---- */

static bool
etcd_bytes_ok(const void *p, size_t len, size_t min, size_t max)
{
	return len >= min && len <= max && (p != NULL || len == 0);
}

/* Set obj[name] to base64 of p; -ENOMEM. */
static int
etcd_set_bytes(json_t *obj, const char *name, const void *p, size_t len)
{
	size_t n = base64_encoded_len(len);
	char *s;
	int rc = 0;

	if (n == SIZE_MAX || (s = malloc(n + 1)) == NULL)
		return -ENOMEM;
	if (base64_encode(p, len, s, n + 1) < 0 ||
	    json_object_set_new_nocheck(obj, name, json_stringn_nocheck(s, n)) != 0)
		rc = -ENOMEM;
	free(s);
	return rc;
}

/* int64 as the gateway wants it: a string. */
static int
etcd_set_i64(json_t *obj, const char *name, int64_t v)
{
	char s[24];

	snprintf(s, sizeof(s), "%" PRId64, v);
	return json_object_set_new_nocheck(obj, name, json_string(s)) == 0 ? 0 : -ENOMEM;
}

/* ---- the exchange ---- */

/* The body received, for etcd_parse.h (never NULL). */
static const char *
etcd_body(const struct etcd *e)
{
	return e->body != NULL ? e->body : "";
}

/*
 * POST req (taken) to path on the current endpoint, moving to the next when it may (see
 * etcd.h). 0 when etcd answered 200 (the body, for etcd_parse.h, in e->body and
 * e->body_len: etcd_body() and e->body_len), or a negative errno.
 */
static int
etcd_call(struct etcd *e, const char *path, json_t *req, bool idempotent)
{
	char *txt;
	size_t len;
	unsigned tries;
	int rc = -ECONNREFUSED;

	e->err[0] = '\0';
	if (req == NULL)
		return -ENOMEM;
	txt = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	if (txt == NULL)
		return -ENOMEM;
	len = strlen(txt);
	if (len > ETCD_REQ_MAX) {
		free(txt);
		return etcd_fail(e, -EMSGSIZE, "request of %zu bytes of JSON", len);
	}
	for (tries = 0; tries < e->n_endpoints; tries++) {
		CURLcode cc;
		curl_off_t connect_us = 0;
		long http = 0, sent = 0;
		char why[ETCD_ERROR_MAX];
		bool reached;

		if (tries > 0) {
			e->cur = (e->cur + 1) % e->n_endpoints;
			e->st.failovers++;
		}
		snprintf(e->url, sizeof(e->url), "%s%s", e->endpoints[e->cur], path);
		curl_easy_setopt(e->curl, CURLOPT_URL, e->url);
		curl_easy_setopt(e->curl, CURLOPT_POSTFIELDS, txt);
		curl_easy_setopt(e->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
		e->body_len = 0;
		e->body_over = false;
		e->curl_err[0] = '\0';
		e->st.requests++;
		cc = curl_easy_perform(e->curl);
		if (cc != CURLE_OK) {
			if (e->body_over) {
				rc = etcd_fail(e, -EFBIG, "response over %zu bytes", e->resp_max);
				break;
			}
			/*
			 * Reached: a connection was made, or a kept one used (its connect
			 * time is 0, but the request's bytes went out on it), so the request
			 * may have been read and, for a write, committed.
			 */
			curl_easy_getinfo(e->curl, CURLINFO_CONNECT_TIME_T, &connect_us);
			curl_easy_getinfo(e->curl, CURLINFO_REQUEST_SIZE, &sent);
			reached = (connect_us > 0 || sent > 0) && cc != CURLE_COULDNT_CONNECT &&
			    cc != CURLE_COULDNT_RESOLVE_HOST && cc != CURLE_SSL_CONNECT_ERROR;
			if (cc == CURLE_OPERATION_TIMEDOUT)
				rc = -ETIMEDOUT;
			else if (!reached)
				rc = -ECONNREFUSED;
			else
				rc = -EPROTO;
			rc = etcd_fail(e, rc, "%s%s%s", curl_easy_strerror(cc),
			    e->curl_err[0] ? ": " : "", e->curl_err);
			if (reached && !idempotent)
				break;
			continue;
		}
		curl_easy_getinfo(e->curl, CURLINFO_RESPONSE_CODE, &http);
		if (http == 200) {
			free(txt);
			return 0;
		}
		rc = etcd_parse_error(http, etcd_body(e), e->body_len, why);
		rc = etcd_fail(e, rc, "%s", why);
		if (rc == -EAGAIN && idempotent)
			continue;
		break;
	}
	free(txt);
	return rc;
}

/* ---- the API ---- */

int
etcd_put(struct etcd *e, const void *key, size_t key_len, const void *value,
	 size_t value_len, int64_t *revision)
{
	char why[ETCD_ERROR_MAX];
	json_t *req;
	int64_t rev;
	int rc;

	if (revision != NULL)
		*revision = 0;
	if (!etcd_bytes_ok(key, key_len, 1, ETCD_KEY_MAX) ||
	    !etcd_bytes_ok(value, value_len, 0, ETCD_VALUE_MAX))
		return etcd_fail(e, -EINVAL, "put: a key of 1..%u bytes, a value of at most %u",
		    ETCD_KEY_MAX, ETCD_VALUE_MAX);
	if ((req = json_object()) == NULL)
		return -ENOMEM;
	if (etcd_set_bytes(req, "key", key, key_len) != 0 ||
	    etcd_set_bytes(req, "value", value, value_len) != 0) {
		json_decref(req);
		return -ENOMEM;
	}
	if ((rc = etcd_call(e, "/v3/kv/put", req, false)) != 0)
		return rc;
	if ((rc = etcd_parse_put(etcd_body(e), e->body_len, &rev, why)) != 0)
		return etcd_fail(e, rc, "put: %s", why);
	if (revision != NULL)
		*revision = rev;
	return 0;
}

static json_t *
etcd_range_req(const struct etcd_range *r)
{
	json_t *req = json_object();

	if (req == NULL)
		return NULL;
	if (etcd_set_bytes(req, "key", r->key, r->key_len) != 0 ||
	    (r->end_len > 0 && etcd_set_bytes(req, "range_end", r->end, r->end_len) != 0) ||
	    (r->revision > 0 && etcd_set_i64(req, "revision", r->revision) != 0) ||
	    (r->limit > 0 && etcd_set_i64(req, "limit", r->limit) != 0) ||
	    (r->keys_only && json_object_set_new(req, "keys_only", json_true()) != 0)) {
		json_decref(req);
		return NULL;
	}
	return req;
}

int
etcd_range(struct etcd *e, const struct etcd_range *r, etcd_kv_fn fn, void *arg,
	   struct etcd_range_result *res)
{
	char why[ETCD_ERROR_MAX];
	int rc;

	memset(res, 0, sizeof(*res));
	if (r == NULL || !etcd_bytes_ok(r->key, r->key_len, 1, ETCD_KEY_MAX) ||
	    !etcd_bytes_ok(r->end, r->end_len, 0, ETCD_KEY_MAX) || r->revision < 0 ||
	    r->limit < 0)
		return etcd_fail(e, -EINVAL, "range: a key of 1..%u bytes, an end of at most "
		    "as many, a revision and a limit >= 0", ETCD_KEY_MAX);
	if ((rc = etcd_call(e, "/v3/kv/range", etcd_range_req(r), true)) != 0)
		return rc;
	rc = etcd_parse_range(etcd_body(e), e->body_len, r->limit, &e->kv, fn, arg, res, why);
	if (rc != 0 && why[0] != '\0')
		return etcd_fail(e, rc, "range: %s", why);
	return rc;
}

/* The last key a page gave, so the next page starts just after it. */
struct etcd_pager {
	etcd_kv_fn fn;
	void *arg;
	uint8_t *last;		/* ETCD_KEY_MAX + 1 bytes: the key, then its '\0' successor */
	size_t last_len;
	bool have;
};

static int
etcd_pager_kv(void *arg, const struct etcd_kv *kv)
{
	struct etcd_pager *p = arg;
	size_t n = kv->key_len < p->last_len ? kv->key_len : p->last_len;
	int c;

	/* Keys must rise, across pages too: else a hostile answer could loop us forever. */
	if (p->have) {
		c = memcmp(kv->key, p->last, n);
		if (c < 0 || (c == 0 && kv->key_len <= p->last_len))
			return -EBADMSG;
	}
	if (kv->key_len > ETCD_KEY_MAX)
		return -EBADMSG;
	memcpy(p->last, kv->key, kv->key_len);
	p->last_len = kv->key_len;
	p->have = true;
	return p->fn(p->arg, kv);
}

int
etcd_range_all(struct etcd *e, const struct etcd_range *r, etcd_kv_fn fn, void *arg,
	       int64_t *revision)
{
	struct etcd_pager p = { .fn = fn, .arg = arg };
	struct etcd_range page;
	struct etcd_range_result res;
	int rc;

	*revision = 0;
	if (r == NULL || r->limit <= 0 || fn == NULL)
		return etcd_fail(e, -EINVAL, "range_all: a limit > 0 and a function");
	if ((p.last = malloc(ETCD_KEY_MAX + 1)) == NULL)
		return -ENOMEM;
	page = *r;
	for (;;) {
		rc = etcd_range(e, &page, etcd_pager_kv, &p, &res);
		if (rc == -EBADMSG && e->err[0] == '\0')
			rc = etcd_fail(e, -EBADMSG, "range_all: keys out of order");
		if (rc != 0)
			break;
		if (page.revision == 0)
			page.revision = res.revision;
		if (!res.more)
			break;
		if (res.n == 0) {
			rc = etcd_fail(e, -EBADMSG, "range_all: more, and no key in the page");
			break;
		}
		/* The next page starts at the successor of the last key: the key and a 0 byte. */
		if (p.last_len >= ETCD_KEY_MAX) {
			rc = etcd_fail(e, -EBADMSG, "range_all: a key of %zu bytes", p.last_len);
			break;
		}
		p.last[p.last_len] = 0;
		page.key = p.last;
		page.key_len = p.last_len + 1;
	}
	if (rc == 0)
		*revision = page.revision;
	free(p.last);
	return rc;
}

struct etcd_get_arg {
	struct etcd_kv *kv;
	bool found;
};

static int
etcd_get_kv(void *arg, const struct etcd_kv *kv)
{
	struct etcd_get_arg *g = arg;

	if (g->found)
		return -EBADMSG;	/* one key asked, two given */
	*g->kv = *kv;
	g->found = true;
	return 0;
}

int
etcd_get(struct etcd *e, const void *key, size_t key_len, struct etcd_kv *kv,
	 int64_t *revision)
{
	struct etcd_range r = { .key = key, .key_len = key_len };
	struct etcd_range_result res;
	struct etcd_get_arg g = { .kv = kv };
	int rc;

	memset(kv, 0, sizeof(*kv));
	if (revision != NULL)
		*revision = 0;
	rc = etcd_range(e, &r, etcd_get_kv, &g, &res);
	if (rc == -EBADMSG && e->err[0] == '\0')
		rc = etcd_fail(e, -EBADMSG, "get: more than one key");
	if (rc != 0)
		return rc;
	if (g.found && (kv->key_len != key_len || memcmp(kv->key, key, key_len) != 0))
		return etcd_fail(e, -EBADMSG, "get: another key than the one asked");
	if (revision != NULL)
		*revision = res.revision;
	return g.found ? 0 : -ENOENT;
}

int
etcd_delete(struct etcd *e, const void *key, size_t key_len, const void *end,
	    size_t end_len, int64_t *deleted, int64_t *revision)
{
	char why[ETCD_ERROR_MAX];
	json_t *req;
	int64_t rev, n;
	int rc;

	if (deleted != NULL)
		*deleted = 0;
	if (revision != NULL)
		*revision = 0;
	if (!etcd_bytes_ok(key, key_len, 1, ETCD_KEY_MAX) ||
	    !etcd_bytes_ok(end, end_len, 0, ETCD_KEY_MAX))
		return etcd_fail(e, -EINVAL, "delete: a key of 1..%u bytes", ETCD_KEY_MAX);
	if ((req = json_object()) == NULL)
		return -ENOMEM;
	if (etcd_set_bytes(req, "key", key, key_len) != 0 ||
	    (end_len > 0 && etcd_set_bytes(req, "range_end", end, end_len) != 0)) {
		json_decref(req);
		return -ENOMEM;
	}
	if ((rc = etcd_call(e, "/v3/kv/deleterange", req, false)) != 0)
		return rc;
	if ((rc = etcd_parse_delete(etcd_body(e), e->body_len, &n, &rev, why)) != 0)
		return etcd_fail(e, rc, "delete: %s", why);
	if (deleted != NULL)
		*deleted = n;
	if (revision != NULL)
		*revision = rev;
	return 0;
}

static const char *const etcd_targets[] = {
	[ETCD_CMP_MOD] = "MOD", [ETCD_CMP_CREATE] = "CREATE",
	[ETCD_CMP_VERSION] = "VERSION", [ETCD_CMP_VALUE] = "VALUE",
	[ETCD_CMP_ABSENT] = "VERSION",
};
static const char *const etcd_results[] = {
	[ETCD_EQUAL] = "EQUAL", [ETCD_NOT_EQUAL] = "NOT_EQUAL",
	[ETCD_LESS] = "LESS", [ETCD_GREATER] = "GREATER",
};

/* One compare as JSON, or NULL: a bad compare (*bad) or no memory. */
static json_t *
etcd_cmp_json(const struct etcd_cmp *c, bool *bad)
{
	json_t *o;
	int rc = 0;

	if ((unsigned)c->target > ETCD_CMP_ABSENT || (unsigned)c->result > ETCD_GREATER ||
	    !etcd_bytes_ok(c->key, c->key_len, 1, ETCD_KEY_MAX) ||
	    (c->target == ETCD_CMP_VALUE &&
	     !etcd_bytes_ok(c->value, c->value_len, 0, ETCD_VALUE_MAX)) ||
	    (c->target != ETCD_CMP_VALUE && c->target != ETCD_CMP_ABSENT && c->rev < 0)) {
		*bad = true;
		return NULL;
	}
	if ((o = json_object()) == NULL)
		return NULL;
	rc |= etcd_set_bytes(o, "key", c->key, c->key_len);
	rc |= json_object_set_new(o, "target", json_string(etcd_targets[c->target]));
	rc |= json_object_set_new(o, "result", json_string(c->target == ETCD_CMP_ABSENT ?
	    "EQUAL" : etcd_results[c->result]));
	switch (c->target) {
	case ETCD_CMP_MOD:
		rc |= etcd_set_i64(o, "mod_revision", c->rev);
		break;
	case ETCD_CMP_CREATE:
		rc |= etcd_set_i64(o, "create_revision", c->rev);
		break;
	case ETCD_CMP_VERSION:
		rc |= etcd_set_i64(o, "version", c->rev);
		break;
	case ETCD_CMP_ABSENT:
		rc |= etcd_set_i64(o, "version", 0);
		break;
	case ETCD_CMP_VALUE:
		rc |= etcd_set_bytes(o, "value", c->value, c->value_len);
		break;
	}
	if (rc != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *
etcd_op_json(const struct etcd_op *op, bool *bad)
{
	json_t *o, *inner;
	int rc = 0;

	if ((op->kind != ETCD_OP_PUT && op->kind != ETCD_OP_DELETE) ||
	    !etcd_bytes_ok(op->key, op->key_len, 1, ETCD_KEY_MAX) ||
	    (op->kind == ETCD_OP_PUT &&
	     !etcd_bytes_ok(op->value, op->value_len, 0, ETCD_VALUE_MAX)) ||
	    (op->kind == ETCD_OP_DELETE && !etcd_bytes_ok(op->end, op->end_len, 0, ETCD_KEY_MAX))) {
		*bad = true;
		return NULL;
	}
	if ((inner = json_object()) == NULL)
		return NULL;
	rc |= etcd_set_bytes(inner, "key", op->key, op->key_len);
	if (op->kind == ETCD_OP_PUT)
		rc |= etcd_set_bytes(inner, "value", op->value, op->value_len);
	else if (op->end_len > 0)
		rc |= etcd_set_bytes(inner, "range_end", op->end, op->end_len);
	o = json_object();
	if (rc != 0 || o == NULL || json_object_set_new(o, op->kind == ETCD_OP_PUT ?
	    "request_put" : "request_delete_range", inner) != 0) {
		if (o == NULL || rc != 0)
			json_decref(inner);
		json_decref(o);
		return NULL;
	}
	return o;
}

int
etcd_txn(struct etcd *e, const struct etcd_cmp *cmps, size_t n_cmps,
	 const struct etcd_op *ops, size_t n_ops, struct etcd_txn_result *res)
{
	char why[ETCD_ERROR_MAX];
	json_t *req, *ca, *oa;
	bool bad = false, nomem = false;
	size_t i;
	int rc;

	memset(res, 0, sizeof(*res));
	if (n_cmps > ETCD_TXN_MAX || n_ops > ETCD_TXN_MAX || (n_cmps > 0 && cmps == NULL) ||
	    (n_ops > 0 && ops == NULL))
		return etcd_fail(e, -EINVAL, "txn: at most %u compares and %u ops",
		    ETCD_TXN_MAX, ETCD_TXN_MAX);
	req = json_object();
	ca = json_array();
	oa = json_array();
	if (req == NULL || ca == NULL || oa == NULL)
		nomem = true;
	for (i = 0; !nomem && !bad && i < n_cmps; i++)
		nomem = json_array_append_new(ca, etcd_cmp_json(&cmps[i], &bad)) != 0 && !bad;
	for (i = 0; !nomem && !bad && i < n_ops; i++)
		nomem = json_array_append_new(oa, etcd_op_json(&ops[i], &bad)) != 0 && !bad;
	if (!nomem && !bad && (json_object_set(req, "compare", ca) != 0 ||
	    json_object_set(req, "success", oa) != 0))
		nomem = true;
	json_decref(ca);
	json_decref(oa);
	if (nomem || bad) {
		json_decref(req);
		if (bad)
			return etcd_fail(e, -EINVAL, "txn: compare or op %zu is not valid", i - 1);
		return -ENOMEM;
	}
	if ((rc = etcd_call(e, "/v3/kv/txn", req, false)) != 0)
		return rc;
	if ((rc = etcd_parse_txn(etcd_body(e), e->body_len, res, why)) != 0)
		return etcd_fail(e, rc, "txn: %s", why);
	return 0;
}

int
etcd_compact(struct etcd *e, int64_t revision, bool physical)
{
	char why[ETCD_ERROR_MAX];
	json_t *req;
	int rc;

	if (revision <= 0)
		return etcd_fail(e, -EINVAL, "compact: a revision > 0");
	if ((req = json_object()) == NULL)
		return -ENOMEM;
	if (etcd_set_i64(req, "revision", revision) != 0 ||
	    (physical && json_object_set_new(req, "physical", json_true()) != 0)) {
		json_decref(req);
		return -ENOMEM;
	}
	/* Compacting twice at one revision is harmless: a retry may move on. */
	if ((rc = etcd_call(e, "/v3/kv/compaction", req, true)) != 0)
		return rc;
	if ((rc = etcd_parse_object(etcd_body(e), e->body_len, why)) != 0)
		return etcd_fail(e, rc, "compact: %s", why);
	return 0;
}

int
etcd_status(struct etcd *e, struct etcd_status *st)
{
	char why[ETCD_ERROR_MAX];
	json_t *req;
	unsigned alarms;
	int rc;

	memset(st, 0, sizeof(*st));
	if ((rc = etcd_call(e, "/v3/maintenance/status", json_object(), true)) != 0)
		return rc;
	if ((rc = etcd_parse_status(etcd_body(e), e->body_len, st, why)) != 0)
		return etcd_fail(e, rc, "status: %s", why);
	if ((req = json_pack("{s:s}", "action", "GET")) == NULL)
		return -ENOMEM;
	if ((rc = etcd_call(e, "/v3/maintenance/alarm", req, true)) != 0)
		return rc;
	if ((rc = etcd_parse_alarms(etcd_body(e), e->body_len, &alarms, why)) != 0)
		return etcd_fail(e, rc, "alarm: %s", why);
	st->alarms = alarms;
	return 0;
}

/*
 * A call to endpoint i alone: maintenance is per member (each has its own file), so it
 * must not move on to another. The handle stays on the endpoint it was on.
 */
static int
etcd_call_at(struct etcd *e, unsigned i, const char *path, json_t *req)
{
	unsigned cur = e->cur, n = e->n_endpoints;
	int rc;

	if (i >= n) {
		json_decref(req);
		return -EINVAL;
	}
	e->cur = i;
	e->n_endpoints = 1;	/* etcd_call tries endpoints[cur] alone */
	rc = etcd_call(e, path, req, true);
	e->cur = cur;
	e->n_endpoints = n;
	return rc;
}

unsigned
etcd_endpoints(const struct etcd *e)
{
	return e->n_endpoints;
}

int
etcd_member_status(struct etcd *e, unsigned i, struct etcd_status *st)
{
	char why[ETCD_ERROR_MAX];
	int rc;

	memset(st, 0, sizeof(*st));
	if ((rc = etcd_call_at(e, i, "/v3/maintenance/status", json_object())) != 0)
		return rc;
	if ((rc = etcd_parse_status(etcd_body(e), e->body_len, st, why)) != 0)
		return etcd_fail(e, rc, "status: %s", why);
	return 0;
}

int
etcd_defragment(struct etcd *e, unsigned i)
{
	return etcd_call_at(e, i, "/v3/maintenance/defragment", json_object());
}

/* ---- watch ---- */

/* One watch's transfer, as libcurl's write callback sees it. */
struct etcd_watcher {
	struct etcd *e;
	struct etcd_watch_stream s;
	etcd_watch_fn fn;
	void *arg;
	long http;		/* the answer's status, once its headers came */
	int rc;			/* the stream's end, once it has one */
	int64_t rx_ms;		/* when etcd last sent a byte */
	char why[ETCD_ERROR_MAX];
};

static int64_t
etcd_now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static size_t
etcd_watch_write_cb(char *p, size_t size, size_t nmemb, void *arg)
{
	struct etcd_watcher *w = arg;
	size_t n = size * nmemb;

	w->rx_ms = etcd_now_ms();
	if (w->http == 0)
		curl_easy_getinfo(w->e->curl, CURLINFO_RESPONSE_CODE, &w->http);
	/* Not 200: one error answer, kept whole (up to resp_max) for etcd_parse_error. */
	if (w->http != 200)
		return etcd_write_cb(p, size, nmemb, w->e);
	w->rc = etcd_watch_stream_feed(&w->s, p, n, w->fn, w->arg, w->why);
	return w->rc == 0 ? n : 0;	/* 0: curl ends the transfer */
}

/* Errors after which another endpoint may do better: the member's, not the watch's. */
static bool
etcd_watch_member_error(int rc)
{
	return rc == -ECONNREFUSED || rc == -ECONNRESET || rc == -ETIMEDOUT || rc == -EAGAIN;
}

/* The least of a and b, where 0 is none. */
static int64_t
etcd_min_ms(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

/*
 * Run the watch request txt on the current endpoint until the stream ends, fn stops it,
 * *p->stop is set (*stopped) or a time runs out; libcurl's multi interface so that the
 * stop flag and the times are looked at every 200 ms however quiet the stream is.
 */
static int
etcd_watch_one(struct etcd *e, struct etcd_watcher *w, const struct etcd_watch_params *p,
	       const char *txt, size_t len, bool *stopped)
{
	CURLcode cc = CURLE_OK;
	CURLMsg *msg;
	int64_t t0, now, wait;
	curl_off_t connect_us = 0;
	bool done = false;
	int running, left, rc;

	*stopped = false;
	snprintf(e->url, sizeof(e->url), "%s/v3/watch", e->endpoints[e->cur]);
	curl_easy_setopt(e->curl, CURLOPT_URL, e->url);
	curl_easy_setopt(e->curl, CURLOPT_POSTFIELDS, txt);
	curl_easy_setopt(e->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(e->curl, CURLOPT_WRITEFUNCTION, etcd_watch_write_cb);
	curl_easy_setopt(e->curl, CURLOPT_WRITEDATA, w);
	curl_easy_setopt(e->curl, CURLOPT_HTTPHEADER, e->watch_headers);
	/* A watch lasts: no limit on the transfer, only on the connection and the times below. */
	curl_easy_setopt(e->curl, CURLOPT_TIMEOUT_MS, 0L);
	e->body_len = 0;
	e->body_over = false;
	e->curl_err[0] = '\0';
	e->st.requests++;
	t0 = w->rx_ms = etcd_now_ms();
	rc = 0;
	if (curl_multi_add_handle(e->multi, e->curl) != CURLM_OK)
		rc = etcd_fail(e, -ENOMEM, "watch: curl_multi_add_handle failed");
	while (rc == 0) {
		if (curl_multi_perform(e->multi, &running) != CURLM_OK) {
			rc = etcd_fail(e, -ENOMEM, "watch: curl_multi_perform failed");
			break;
		}
		while ((msg = curl_multi_info_read(e->multi, &left)) != NULL) {
			if (msg->msg == CURLMSG_DONE) {
				cc = msg->data.result;
				done = true;
			}
		}
		if (w->rc != 0 || done)
			break;
		if (p->stop != NULL && atomic_load_explicit(p->stop, memory_order_relaxed)) {
			*stopped = true;
			break;
		}
		now = etcd_now_ms();
		if (!w->s.created && now - t0 >= e->timeout_ms) {
			rc = etcd_fail(e, -ETIMEDOUT, "watch: not made within %u ms",
			    e->timeout_ms);
			break;
		}
		if (w->s.created && p->idle_ms > 0 && now - w->rx_ms >= p->idle_ms) {
			rc = etcd_fail(e, -ETIMEDOUT, "watch: nothing from etcd for %u ms",
			    p->idle_ms);
			break;
		}
		wait = 200;
		if (!w->s.created)
			wait = etcd_min_ms(wait, t0 + e->timeout_ms - now);
		else if (p->idle_ms > 0)
			wait = etcd_min_ms(wait, w->rx_ms + p->idle_ms - now);
		curl_multi_poll(e->multi, NULL, 0, (int)(wait > 0 ? wait : 1), NULL);
	}
	curl_multi_remove_handle(e->multi, e->curl);
	curl_easy_setopt(e->curl, CURLOPT_WRITEFUNCTION, etcd_write_cb);
	curl_easy_setopt(e->curl, CURLOPT_WRITEDATA, e);
	curl_easy_setopt(e->curl, CURLOPT_HTTPHEADER, e->headers);
	curl_easy_setopt(e->curl, CURLOPT_TIMEOUT_MS, (long)e->timeout_ms);
	if (rc != 0 || *stopped)
		return rc;
	if (w->rc != 0)
		return w->s.fn_stopped ? w->rc : etcd_fail(e, w->rc, "watch: %s", w->why);
	/* done */
	if (e->body_over)
		return etcd_fail(e, -EFBIG, "watch: an answer over %zu bytes", e->resp_max);
	if (w->http != 0 && w->http != 200) {
		rc = etcd_parse_error(w->http, etcd_body(e), e->body_len, w->why);
		return etcd_fail(e, rc, "watch: %s", w->why);
	}
	if (cc == CURLE_OK) {
		/* The stream ended: its last message, perhaps the error it ended with. */
		rc = etcd_watch_stream_end(&w->s, w->fn, w->arg, w->why);
		return w->s.fn_stopped ? rc : etcd_fail(e, rc, "watch: %s", w->why);
	}
	/* Cut: a member killed, a connection reset or found dead by keepalive. */
	curl_easy_getinfo(e->curl, CURLINFO_CONNECT_TIME_T, &connect_us);
	if (cc == CURLE_OPERATION_TIMEDOUT)
		rc = -ETIMEDOUT;
	else if (connect_us == 0 || cc == CURLE_COULDNT_CONNECT ||
	    cc == CURLE_COULDNT_RESOLVE_HOST || cc == CURLE_SSL_CONNECT_ERROR)
		rc = -ECONNREFUSED;
	else
		rc = -ECONNRESET;
	return etcd_fail(e, rc, "watch: %s%s%s", curl_easy_strerror(cc),
	    e->curl_err[0] ? ": " : "", e->curl_err);
}

/* {"create_request":{"key","range_end","start_revision","progress_notify"}}, or NULL. */
static json_t *
etcd_watch_req(const struct etcd_watch_params *p, int64_t ask)
{
	json_t *cr = json_object(), *req = json_object();

	if (cr == NULL || req == NULL ||
	    etcd_set_bytes(cr, "key", p->key, p->key_len) != 0 ||
	    (p->end_len > 0 && etcd_set_bytes(cr, "range_end", p->end, p->end_len) != 0) ||
	    (ask > 0 && etcd_set_i64(cr, "start_revision", ask) != 0) ||
	    (p->progress_notify && json_object_set_new(cr, "progress_notify", json_true()) != 0) ||
	    json_object_set(req, "create_request", cr) != 0) {
		json_decref(cr);
		json_decref(req);
		return NULL;
	}
	json_decref(cr);
	return req;
}

/* [key, end) holds no key: end at or below key (but "\0", every key from key on). */
static bool
etcd_range_empty(const void *key, size_t key_len, const void *end, size_t end_len)
{
	const uint8_t *k = key, *x = end;
	size_t n = key_len < end_len ? key_len : end_len;
	int c;

	if (end_len == 0 || (end_len == 1 && x[0] == 0))
		return false;
	c = memcmp(k, x, n);
	return c > 0 || (c == 0 && key_len >= end_len);
}

int
etcd_watch(struct etcd *e, const struct etcd_watch_params *p, etcd_watch_fn fn, void *arg,
	   int64_t *compact_revision)
{
	struct etcd_watcher *w;
	json_t *req;
	char *txt;
	size_t len;
	unsigned tries;
	bool stopped = false, created = false;
	int rc = -ECONNREFUSED;

	if (compact_revision != NULL)
		*compact_revision = 0;
	e->err[0] = '\0';
	if (p == NULL || fn == NULL || !etcd_bytes_ok(p->key, p->key_len, 1, ETCD_KEY_MAX) ||
	    !etcd_bytes_ok(p->end, p->end_len, 0, ETCD_KEY_MAX) || p->start_revision < 0 ||
	    etcd_range_empty(p->key, p->key_len, p->end, p->end_len))
		return etcd_fail(e, -EINVAL, "watch: a function, a key of 1..%u bytes below its "
		    "end, a start_revision >= 0", ETCD_KEY_MAX);
	if (e->multi == NULL && (e->multi = curl_multi_init()) == NULL)
		return -ENOMEM;
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return -ENOMEM;
	w->e = e;
	w->fn = fn;
	w->arg = arg;
	etcd_watch_stream_init(&w->s, p->start_revision, e->resp_max, &e->st);
	req = etcd_watch_req(p, w->s.ask);
	txt = req != NULL ? json_dumps(req, JSON_COMPACT) : NULL;
	json_decref(req);
	if (txt == NULL) {
		free(w);
		return -ENOMEM;
	}
	len = strlen(txt);
	/* Until etcd made the watch, any endpoint will do, as for a read. */
	for (tries = 0; tries < e->n_endpoints; tries++) {
		if (tries > 0) {
			e->cur = (e->cur + 1) % e->n_endpoints;
			e->st.failovers++;
		}
		etcd_watch_stream_free(&w->s);
		etcd_watch_stream_init(&w->s, p->start_revision, e->resp_max, &e->st);
		w->rc = 0;
		w->http = 0;
		rc = etcd_watch_one(e, w, p, txt, len, &stopped);
		created = w->s.created;
		if (created || stopped || w->s.fn_stopped || !etcd_watch_member_error(rc))
			break;
	}
	if (created && rc != 0 && !w->s.fn_stopped) {
		e->st.watch_broken++;
		/* The member may be the trouble: the caller's next watch goes to another. */
		if (etcd_watch_member_error(rc) && e->n_endpoints > 1) {
			e->cur = (e->cur + 1) % e->n_endpoints;
			e->st.failovers++;
		}
	}
	if (rc == -ESTALE && compact_revision != NULL)
		*compact_revision = w->s.compact_revision;
	etcd_watch_stream_free(&w->s);
	free(txt);
	free(w);
	return rc;
}
