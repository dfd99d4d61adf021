/*
 * serve: see serve.h. Invariants: every section of a response says where its entries
 * start (since) and what version the asker reaches when no page follows (upto), and its
 * entries are every change in between after the cursor, in (version, ip) order, as far
 * as the datagram holds them. While requests are due in the park, the udp socket owes
 * us a buf_back call (the last udp_buf found none), so none is left waiting forever.
 */
#include "serve.h"
#include "park.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/mix.h"
#include "common/sync.h"
#include "common/udp.h"

#include <openssl/crypto.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WALK	64	/* rules read from the table at a time */
_Static_assert(SYNC_MAC_SIZE == AUTH_MAC_SIZE, "the codec leaves room for auth_seal");
/*
 * Derived host keys kept: HOSTKEY_SETS sets of HOSTKEY_WAYS, 65536 hosts (42 MB of
 * address space, touched as hosts come). Deriving one (HKDF) costs ~10 MACs; a
 * direct-mapped cache of 1024 re-derived most keys of a thousand hosts (bench/run
 * converge), and sets of 4 those of the ~1 % of sets that drew more than 4 of 10,000
 * hosts, every round (syncd_test). A set's 8 tags are one cache line.
 */
#define HOSTKEY_SETS	8192
#define HOSTKEY_WAYS	8
#define HOSTKEYS	(HOSTKEY_SETS * HOSTKEY_WAYS)
#define VTEPS		4096	/* VTEP -> host name, direct-mapped */
#define LEARN_BATCH	64	/* learn requests popped from the ring at a time */

/*
 * A host's key, derived once from the secret of its id and made ready for the MAC, and
 * its tag apart: a set's four tags share a cache line, so a lookup reads one key.
 */
struct hostkey {
	struct auth_mackey mk;
	char name[SYNC_NAME_MAX];
};

struct hosttag {
	uint32_t hash;		/* name_hash */
	uint8_t id, name_len;
	bool used;
};
_Static_assert(sizeof(struct hosttag) * HOSTKEY_WAYS == 64, "a set's tags fill a line");

/* The host whose authenticated requests last came from a VTEP address. */
struct vtep_host {
	uint32_t ip;
	uint8_t key_id;
	uint8_t name_len;
	char name[SYNC_NAME_MAX];
};

struct serve {
	struct loop *l;
	struct serve_params p;
	struct admit *admit;
	struct syncd_counters *c;
	struct udp *udp;
	struct park *park;
	struct table *t;
	uint64_t tx_errors_seen;	/* udp's tx_errors folded into the counter */
	uint64_t rx_nobuf_seen;		/* udp's rx_nobuf, likewise */
	struct log_ratelimit rl;
	struct auth *mac;
	struct hosttag *tags;		/* HOSTKEYS, keys[i]'s in tags[i] */
	struct hostkey *keys;
	uint32_t key_victim;		/* the way a miss replaces next, round robin */
	struct vtep_host *vteps;	/* VTEPS */
	/*
	 * Learn requests popped from the forwarder's ring and not served yet: lq[lq_at ..
	 * lq_n), the first waiting for a send buffer when lq_waiting.
	 */
	struct ev_learn_req lq[LEARN_BATCH];
	uint32_t lq_at, lq_n;
	bool lq_waiting;
};

static void
on_dgram(struct udp *u, const uint8_t *data, size_t len, const struct sockaddr_in *from,
    void *arg);
static void on_buf_back(struct udp *u, void *arg);

struct serve *
serve_new(struct loop *l, const struct serve_params *p, struct admit *admit,
    struct syncd_counters *c, char *err, size_t errlen)
{
	struct serve *s = calloc(1, sizeof(*s));
	struct udp_params up = { .nrecv = p->recv_depth, .nsend = p->send_buffers,
	    .dgram_max = p->page_bytes > 4096 ? p->page_bytes : 4096,
	    .buf_back = on_buf_back };

	if (s == NULL || (s->park = park_new(p->max_parked)) == NULL ||
	    (s->mac = auth_new()) == NULL ||
	    (s->tags = aligned_alloc(64, HOSTKEYS * sizeof(*s->tags))) == NULL ||
	    (s->keys = calloc(HOSTKEYS, sizeof(*s->keys))) == NULL ||
	    (s->vteps = calloc(VTEPS, sizeof(*s->vteps))) == NULL) {
		snprintf(err, errlen, "syncd: out of memory (or no AES-GCM in libsodium or "
		    "libcrypto)");
		if (s) {
			park_free(s->park);
			auth_free(s->mac);
			free(s->tags);
			free(s->keys);
		}
		free(s);
		return NULL;
	}
	memset(s->tags, 0, HOSTKEYS * sizeof(*s->tags));	/* a set's tags: one line */
	s->l = l;
	s->p = *p;
	s->admit = admit;
	s->c = c;
	s->rl = (struct log_ratelimit)LOG_RATELIMIT_INIT(10000, 10);
	if ((s->udp = udp_new(l, &p->listen, &up, on_dgram, s, err, errlen)) == NULL) {
		serve_free(s);
		return NULL;
	}
	return s;
}

void
serve_free(struct serve *s)
{
	if (s == NULL)
		return;
	udp_free(s->udp);
	park_free(s->park);
	auth_free(s->mac);
	for (uint32_t i = 0; s->keys != NULL && i < HOSTKEYS; i++)
		if (s->tags[i].used)
			auth_mackey_clear(&s->keys[i].mk);
	OPENSSL_cleanse(&s->p.secrets, sizeof(s->p.secrets));
	free(s->tags);
	free(s->keys);
	free(s->vteps);
	free(s);
}

static uint32_t
name_hash(uint8_t id, const char *name, size_t len)
{
	return fnv1a32(FNV1A32_INIT ^ id, name, len);
}

/*
 * The key of host name under key id: derived from the secret of that id the first
 * time, then kept (a host asks every few seconds). NULL for an id with no secret.
 */
static const struct auth_mackey *
host_key(struct serve *s, uint8_t id, const char *name, size_t len)
{
	uint32_t hash = name_hash(id, name, len);
	uint32_t set = (hash * 0x9e3779b1u) >> 19;	/* 13 bits */
	struct hosttag *tags = &s->tags[set * HOSTKEY_WAYS], *t = NULL;
	struct hostkey *keys = &s->keys[set * HOSTKEY_WAYS], *k;
	const struct auth_key *secret;
	struct auth_key hk;
	uint32_t w;

	_Static_assert(HOSTKEY_SETS == 1u << 13, "the set is the hash's top 13 bits");
	for (w = 0; w < HOSTKEY_WAYS; w++) {
		struct hosttag *c = &tags[w];

		if (c->used && c->hash == hash && c->id == id && c->name_len == len &&
		    memcmp(keys[w].name, name, len) == 0)
			return &keys[w].mk;
		if (!c->used && t == NULL)
			t = c;
	}
	if ((secret = auth_keys_find(&s->p.secrets, id)) == NULL)
		return NULL;
	if (t == NULL)
		t = &tags[s->key_victim++ % HOSTKEY_WAYS];
	k = &keys[t - tags];
	STATS_INC(s->c, host_keys_derived);
	t->used = false;
	if (auth_derive(secret, name, len, &hk) < 0)
		return NULL;
	auth_mackey_set(&k->mk, hk.key);
	OPENSSL_cleanse(&hk, sizeof(hk));
	memcpy(k->name, name, len);
	*t = (struct hosttag){ .hash = hash, .id = id, .name_len = (uint8_t)len,
	    .used = true };
	return &k->mk;
}

static struct vtep_host *
vtep_slot(struct serve *s, uint32_t ip)
{
	return &s->vteps[(ip * 0x9e3779b1u) >> 20 & (VTEPS - 1)];
}

/* Make h, the asker's header (or a LEARN's), the header of what goes to it. */
static void
reply_hdr(struct serve *s, struct sync_hdr *h)
{
	h->flags = s->p.auth ? SYNC_H_MAC : 0;
	h->ts_ns = clock_real_ns();
}

/* MAC a datagram built with hdr h (when auth is on); false when the key is gone. */
static bool
seal(struct serve *s, const struct sync_hdr *h, uint8_t *buf, size_t len)
{
	const struct auth_mackey *key;

	if (!s->p.auth)
		return true;
	if ((key = host_key(s, h->key_id, h->name, h->name_len)) == NULL ||
	    auth_seal(s->mac, key, buf, len) < 0)
		return false;
	return true;
}

void
serve_set_table(struct serve *s, struct table *t)
{
	s->t = t;
}

int
serve_port(const struct serve *s)
{
	return udp_port(s->udp);
}

static void
to_entry(const struct table_rule *r, struct sync_entry *e)
{
	memset(e, 0, sizeof(*e));
	e->ip = r->ip;
	e->version = r->version;
	/*
	 * A learner must not hold a rule to an external host (DESIGN.md §3.11: gateways
	 * carry all its traffic): to the learner it is a delete, so a rule it held before
	 * the VM moved there goes too.
	 */
	if (r->flags & (TABLE_F_TOMBSTONE | TABLE_F_EXTERNAL)) {
		e->op = SYNC_DEL;
	} else {
		e->op = SYNC_SET;
		e->vtep = r->vtep;
		memcpy(e->mac, r->mac, 6);
	}
}

/* Has the table something for this item (or an answer other than "nothing new")? */
static bool
has_news(struct serve *s, const struct sync_item *it)
{
	struct table_vni_info vi;

	if (it->cursor_version)
		return true;	/* the rest of a paged answer */
	if (table_vni_check(s->t, it->vni, it->gen, it->version) != TABLE_V_VALID)
		return true;
	return table_vni_get(s->t, it->vni, &vi) < 0 || vi.version != it->version;
}

/* A section with a status other than OK: its header alone, at the asker's version. */
static int
section_status(struct serve *s, struct sync_builder *b, const struct sync_item *it,
    uint32_t gen, uint8_t st)
{
	if (sync_build_section(b, it->vni, gen, st, it->version, it->version) < 0)
		return -ENOSPC;
	sync_build_section_end(b, false, 0, 0);
	if (st == SYNC_RELEARN)
		STATS_INC(s->c, sections_relearn);
	else if (st == SYNC_RETRY)
		STATS_INC(s->c, sections_retry);
	else
		STATS_INC(s->c, sections_unknown);
	return 0;
}

/*
 * The status of an item the table cannot serve. A VPC this gateway does not hold whole
 * (its rule-store's table refused a change of it: full) is not advertised: the learner
 * asks another gateway. So is one it does not know while some VPC could get no slot.
 */
static uint8_t
section_vcheck(struct serve *s, enum table_vcheck vc)
{
	switch (vc) {
	case TABLE_V_RELEARN:
		return SYNC_RELEARN;
	case TABLE_V_AHEAD:
		return SYNC_RETRY;
	case TABLE_V_INCOMPLETE:
		STATS_INC(s->c, sections_incomplete);
		return SYNC_RETRY;
	case TABLE_V_NO_VNI:
		if (table_homeless(s->t) == 0)
			return SYNC_UNKNOWN;
		STATS_INC(s->c, sections_incomplete);
		return SYNC_RETRY;
	default:
		return SYNC_UNKNOWN;
	}
}

/*
 * One section: the item's status, or its changes as far as the datagram holds them.
 * -ENOSPC when not even the section's header fits (the asker asks again).
 */
static int
section(struct serve *s, struct sync_builder *b, const struct sync_item *it)
{
	enum table_vcheck vc = table_vni_check(s->t, it->vni, it->gen, it->version);
	struct table_cursor cur = { 0 };
	struct table_rule rules[WALK];
	struct table_vni_info vi;
	struct sync_entry e;
	uint64_t upto = it->version;
	bool more = true, full = false;
	uint64_t last_v = 0;
	uint32_t last_ip = 0, n = 0, gen = it->gen;
	int got;

	/*
	 * A section names the VPC's generation (docs/protocol.md), not the asker's: one at
	 * version 0 holds none yet and takes it from here, and one told to relearn learns
	 * the current one.
	 */
	if (vc != TABLE_V_NO_VNI && table_vni_get(s->t, it->vni, &vi) == 0)
		gen = vi.gen;
	if (vc != TABLE_V_VALID)
		return section_status(s, b, it, gen, section_vcheck(s, vc));
	if (it->cursor_version) {
		cur.version = it->cursor_version;
		cur.ip = it->cursor_ip;
		cur.valid = 1;
	}
	/* The first walk tells the version this answer brings the asker to. */
	got = table_changes(s->t, it->vni, it->version, &cur, rules, WALK, &upto, &more);
	if (got < 0)
		got = 0;	/* the VPC went away between the check and now: nothing new */
	if (sync_build_section(b, it->vni, gen, SYNC_OK, it->version, upto) < 0)
		return -ENOSPC;
	for (;;) {
		for (int i = 0; i < got; i++) {
			/* A later walk may reach versions past this section's upto: next time. */
			if (rules[i].version > upto) {
				more = false;
				goto done;
			}
			to_entry(&rules[i], &e);
			if (sync_build_entry(b, &e) < 0) {
				full = true;
				goto done;
			}
			last_v = e.version;
			last_ip = e.ip;
			n++;
		}
		if (!more)
			break;
		uint64_t upto2;

		got = table_changes(s->t, it->vni, it->version, &cur, rules, WALK, &upto2, &more);
		if (got < 0)
			break;
	}
done:
	/*
	 * A page ends where the datagram did; the asker resumes after the last entry. An
	 * open section always takes its first entry (common/sync.h), so a full page holds
	 * one at least and the asker moves on.
	 */
	sync_build_section_end(b, full, last_v, last_ip);
	STATS_INC(s->c, sections_ok);
	STATS_ADD(s->c, entries_tx, n);
	if (full)
		STATS_INC(s->c, pages_more);
	return 0;
}

/*
 * The answer to req; with busy, RETRY for every item instead (there was no room to park
 * it: ask another gateway, or later). -ENOBUFS when every send buffer is in flight.
 */
static int
answer(struct serve *s, const struct sync_req *req, const struct sockaddr_in *to, bool busy)
{
	uint8_t *buf = udp_buf(s->udp);
	struct sync_builder b;
	struct table_vni_info vi;
	struct sync_hdr h;

	if (buf == NULL)
		return -ENOBUFS;
	h = req->h;
	reply_hdr(s, &h);
	sync_build_begin(&b, buf, s->p.page_bytes, SYNC_RESP, req->id, &h);
	table_read_begin(s->t);
	for (uint8_t i = 0; i < req->count; i++) {
		const struct sync_item *it = &req->items[i];
		int rc;

		if (busy)
			rc = section_status(s, &b, it, table_vni_get(s->t, it->vni, &vi) == 0 ?
			    vi.gen : it->gen, SYNC_RETRY);
		else
			rc = section(s, &b, it);
		if (rc < 0)
			break;	/* the VNIs left out are asked again */
	}
	table_read_end(s->t);
	size_t len = sync_build_finish(&b);

	if (!seal(s, &h, buf, len)) {
		udp_drop(s->udp, buf);
		STATS_INC(s->c, auth_failed);	/* its secret went away: cannot happen */
		return 0;
	}
	udp_send(s->udp, buf, len, to);
	STATS_INC(s->c, resp_tx);
	STATS_ADD(s->c, resp_bytes, len);
	return 0;
}

static int
answer_due(void *arg, const struct sync_req *req, const struct sockaddr_in *from)
{
	return answer(arg, req, from, false);
}

/* Answer what is due, oldest first, while send buffers last; returns how many. */
static uint32_t
drain(struct serve *s)
{
	uint32_t n;

	if (park_due(s->park) == 0)
		return 0;
	n = park_answer(s->park, answer_due, s);
	STATS_SET(s->c, tx_backlog, park_due(s->park));
	return n;
}

static bool learn_pending(struct serve *s);

static void
on_buf_back(struct udp *u, void *arg)
{
	(void)u;
	drain(arg);
	learn_pending(arg);
}

/*
 * Answer now, or when a send buffer is back: behind those already due, so the first to
 * find none is the first answered. Dropped only when the park has no room left either.
 */
static void
respond(struct serve *s, const struct sync_req *req, const struct sockaddr_in *from)
{
	if (park_due(s->park) == 0 && answer(s, req, from, false) == 0)
		return;
	if (park_add_due(s->park, req, from) < 0) {
		STATS_INC(s->c, tx_nobuf);
		return;
	}
	STATS_INC(s->c, tx_backlogged);
	STATS_SET(s->c, tx_backlog, park_due(s->park));
}

/* n requests left the wait and are due, behind those due before them: answer them. */
static void
unparked(struct serve *s, uint32_t n)
{
	uint32_t before = park_due(s->park) - n, sent;

	STATS_SET(s->c, parked, park_waiting(s->park));
	if (n == 0)
		return;
	sent = drain(s);
	/* The oldest go first: of these n, those past the ones sent wait for a buffer. */
	sent = sent > before ? sent - before : 0;
	STATS_ADD(s->c, tx_backlogged, n - sent);
}

static void
on_request(struct serve *s, const struct sync_req *req, const struct sockaddr_in *from)
{
	uint64_t wait = (uint64_t)req->wait_ms * 1000000;
	bool news = false;

	table_read_begin(s->t);
	for (uint8_t i = 0; i < req->count && !news; i++)
		news = has_news(s, &req->items[i]);
	table_read_end(s->t);
	if (!news && wait > 0 && s->p.max_wait_ns > 0) {
		if (wait > s->p.max_wait_ns)
			wait = s->p.max_wait_ns;
		if (park_add(s->park, req, from, loop_now(s->l) + wait) == 0) {
			STATS_SET(s->c, parked, park_waiting(s->park));
			return;
		}
		/*
		 * An empty OK would bring the request straight back here: RETRY sends the
		 * learner to another gateway, or makes it pause.
		 */
		STATS_INC(s->c, park_full);
		if (answer(s, req, from, true) < 0)
			STATS_INC(s->c, tx_nobuf);	/* no room to wait for a buffer either */
		return;
	}
	respond(s, req, from);
}

static void
on_dgram(struct udp *u, const uint8_t *data, size_t len, const struct sockaddr_in *from,
    void *arg)
{
	struct serve *s = arg;
	uint32_t ip = ntohl(from->sin_addr.s_addr);
	struct sync_req req;
	struct sync_hdr h;
	const struct auth_mackey *key;

	(void)u;
	if (!admit_allowed(s->admit, ip)) {
		STATS_INC(s->c, req_denied);
		return;
	}
	if (!admit_take(s->admit, ip, loop_now(s->l))) {
		STATS_INC(s->c, req_limited);
		return;
	}
	if (sync_hdr_decode(data, len, &h) != SYNC_REQ) {
		STATS_INC(s->c, req_malformed);
		return;
	}
	/* The MAC before anything past the header: the key is the named host's. */
	if (s->p.auth && (!(h.flags & SYNC_H_MAC) || h.name_len == 0 ||
	    (key = host_key(s, h.key_id, h.name, h.name_len)) == NULL ||
	    !auth_check(s->mac, key, data, len))) {
		STATS_INC(s->c, auth_failed);
		log_warnx_rl(&s->rl, "sync request failing authentication (host \"%s\", "
		    "key id %u)", h.name, h.key_id);
		return;
	}
	if (sync_req_decode(data, len, &req) < 0) {
		STATS_INC(s->c, req_malformed);
		return;
	}
	STATS_INC(s->c, req_rx);
	if (h.name_len > 0) {
		/* Where LEARNs for this host go, and with which key (auth.h). */
		struct vtep_host *v = vtep_slot(s, ip);

		v->ip = ip;
		v->key_id = h.key_id;
		v->name_len = h.name_len;
		memcpy(v->name, h.name, h.name_len);
	}
	if (s->t == NULL) {
		STATS_INC(s->c, req_not_ready);
		return;
	}
	on_request(s, &req, from);
}

void
serve_advance(struct serve *s, const struct ev_vni_advance *ev)
{
	uint32_t n;

	STATS_INC(s->c, advances_rx);
	if (s->t == NULL)
		return;
	n = park_wake(s->park, ev->vni);
	STATS_ADD(s->c, park_woken, n);
	unparked(s, n);
}

void
serve_tick(struct serve *s)
{
	uint32_t n;

	if (s->t == NULL)
		return;
	n = park_expire(s->park, loop_now(s->l));
	STATS_ADD(s->c, park_expired, n);
	unparked(s, n);
	/*
	 * on_buf_back answers what is due as buffers come back; were one wake-up ever
	 * missed, this bounds the harm to a tick instead of a queue stuck for good.
	 */
	drain(s);
	STATS_FOLD(s->c, tx_errors, udp_counters(s->udp)->tx_errors, s->tx_errors_seen);
	STATS_FOLD(s->c, rx_nobuf, udp_counters(s->udp)->rx_nobuf, s->rx_nobuf_seen);
	STATS_SET(s->c, rx_sock_drops, udp_sock_drops(s->udp));
}

/* The work of one learn request, with a send buffer in hand (given back if unused). */
static void
learn_one(struct serve *s, const struct ev_learn_req *ev, uint8_t *buf)
{
	struct table_vni_info vi;
	struct sockaddr_in to = { .sin_family = AF_INET };
	struct sync_builder b;
	struct table_rule r;
	struct sync_entry e;
	struct sync_hdr h = { 0 };
	struct vtep_host *vh;
	size_t len;

	STATS_INC(s->c, learn_rx);
	/*
	 * A learn bit says which address to send the rule to: only to hosts that may
	 * sync, or anyone who can reach the gateway's VXLAN port could aim LEARNs at a
	 * third party.
	 */
	if (!admit_allowed(s->admit, ev->src_vtep)) {
		STATS_INC(s->c, learn_denied);
		udp_drop(s->udp, buf);
		return;
	}
	/*
	 * The VPC's version first, the rule second: the rule read is then at least as new
	 * as every change up to that version, which is what `upto` promises the learner
	 * (read the other way round, a change landing in between would be skipped by the
	 * learner's sync and the stale rule kept).
	 */
	if (s->t == NULL || table_vni_get(s->t, ev->vni, &vi) < 0 ||
	    !table_lookup(s->t, ev->vni, ev->ip, &r)) {
		STATS_INC(s->c, learn_miss);
		udp_drop(s->udp, buf);
		return;
	}
	/*
	 * The rule-store sets a version's rules before it says the VPC reached it: until
	 * then this rule is ahead of its VPC, and a learner starting from the VPC's version
	 * would skip the rest of that version. The next frame asks again.
	 */
	if (r.version > vi.version) {
		STATS_INC(s->c, learn_racing);
		udp_drop(s->udp, buf);
		return;
	}
	if (r.flags & TABLE_F_EXTERNAL) {
		STATS_INC(s->c, learn_external);
		udp_drop(s->udp, buf);
		return;
	}
	/*
	 * A VPC this gateway does not hold whole may hold this very rule stale (a change
	 * of it refused), and `upto` would promise the learner that it is not.
	 */
	if (vi.flags & TABLE_VNI_INCOMPLETE) {
		STATS_INC(s->c, learn_incomplete);
		udp_drop(s->udp, buf);
		return;
	}
	/*
	 * The LEARN is MACed with the key of the host at that VTEP: the one whose own
	 * requests came from there. Without auth a name is still sent when known.
	 */
	vh = vtep_slot(s, ev->src_vtep);
	if (vh->ip == ev->src_vtep && vh->name_len > 0) {
		h.key_id = vh->key_id;
		h.name_len = vh->name_len;
		memcpy(h.name, vh->name, vh->name_len);
	} else if (s->p.auth) {
		STATS_INC(s->c, learn_no_host);
		udp_drop(s->udp, buf);
		return;
	}
	reply_hdr(s, &h);
	to_entry(&r, &e);
	sync_build_begin(&b, buf, s->p.page_bytes, SYNC_LEARN, 0, &h);
	sync_build_section(&b, ev->vni, vi.gen, SYNC_OK, 0, vi.version);
	sync_build_entry(&b, &e);
	sync_build_section_end(&b, false, 0, 0);
	len = sync_build_finish(&b);
	if (!seal(s, &h, buf, len)) {
		udp_drop(s->udp, buf);
		STATS_INC(s->c, learn_no_host);
		return;
	}
	to.sin_addr.s_addr = htonl(ev->src_vtep);
	to.sin_port = htons(s->p.learner_port);
	udp_send(s->udp, buf, len, &to);
	STATS_INC(s->c, learn_tx);
}

int
serve_learn(struct serve *s, const struct ev_learn_req *ev)
{
	uint8_t *buf;

	/*
	 * The buffer first: a request that finds none has not been looked at, and is
	 * served whole when one is back (its counters then count it once).
	 */
	if ((buf = udp_buf(s->udp)) == NULL)
		return -ENOBUFS;
	learn_one(s, ev, buf);
	return 0;
}

/* Serve the learn requests popped and not served; false while one waits for a buffer. */
static bool
learn_pending(struct serve *s)
{
	while (s->lq_at < s->lq_n) {
		if (serve_learn(s, &s->lq[s->lq_at]) < 0) {
			if (!s->lq_waiting)
				STATS_INC(s->c, learn_waited);
			s->lq_waiting = true;
			return false;
		}
		s->lq_waiting = false;
		s->lq_at++;
	}
	s->lq_at = s->lq_n = 0;
	return true;
}

void
serve_learn_ring(struct serve *s, struct ring *r)
{
	/*
	 * Popped only while there are buffers to answer with: the rest stays in the ring,
	 * whose watch calls again on the loop's next pass, by when sends have completed
	 * (and on_buf_back serves what was popped).
	 */
	while (learn_pending(s) && (s->lq_n = learn_req_ring_pop(r, s->lq, LEARN_BATCH)) > 0)
		;
}
