/*
 * vpcfwd-learner: one per host. Owns the host's rule cache (the host variant of the
 * rule table: installed by LEARNs, kept current by incremental sync, evicted past a
 * size when unused for an age) and the host's port table (the VMs bound to it, from
 * the controller's binding feed); publishes the gateways' health for the forwarder.
 * Arguments, configuration, then the loop.
 *
 *	vpcfwd-learner [-n] -c FILE		(-n: check the configuration, exit)
 */
#include "counters.h"
#include "feed.h"
#include "gateways.h"
#include "syncer.h"
#include "common/clock.h"
#include "common/conf.h"
#include "common/daemon.h"
#include "common/log.h"
#include "common/loop.h"
#include "common/net.h"
#include "common/sync.h"
#include "common/tls.h"
#include "shm/ports.h"
#include "shm/table_conf.h"

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAINTAIN_NS	(10 * NS_PER_MS)
#define EVICT_BUDGET	20000

struct state {
	struct loop *l;
	struct table *t;
	struct ports *ports;
	struct vtepset *vteps;		/* the vswitch's allow-list: the hosts' VTEPs */
	struct syncer *syncer;
	struct feed *feed;
	struct stats stats;
	struct learner_counters *c;
	struct loop_timer tick;
	uint64_t cache_max_rules;
	uint64_t cache_max_age_s;
	uint64_t evict_ns;
	uint64_t next_evict;
};

static void
tick(struct loop_timer *t)
{
	struct state *s = t->arg;
	uint64_t now = loop_now(s->l);
	uint32_t used, retired;

	table_maintain(s->t);
	if (now >= s->next_evict) {
		uint32_t kept, n = table_evict(s->t, (uint32_t)s->cache_max_rules,
		    s->cache_max_age_s, EVICT_BUDGET, &kept);

		if (n) {
			STATS_ADD(s->c, evicted, n);
			syncer_prune(s->syncer);
		}
		STATS_ADD(s->c, evict_kept, kept);
		/* More to do: come back at once, in budget-sized steps. */
		s->next_evict = now + (n + kept == EVICT_BUDGET ? 0 : s->evict_ns);
	}
	STATS_SET(s->c, rules, table_count(s->t));
	/* Dropped VPCs' slots come back in table_maintain, once readers moved on. */
	table_vni_slots(s->t, &used, &retired);
	STATS_SET(s->c, table_vnis, used);
	STATS_SET(s->c, table_vnis_retired, retired);
	feed_tick(s->feed);
	ports_heartbeat(s->ports);
	vtepset_heartbeat(s->vteps);
	stats_heartbeat(&s->stats);
	loop_timer_set(s->l, t, MAINTAIN_NS);
}

/*
 * This host's key (DESIGN.md §9): required unless learner.auth says plaintext, read
 * now so that -n refuses a key file of the wrong mode as a start would.
 */
static void
read_auth(struct conf *c, struct syncer_params *sp, const char **pathp)
{
	const char *path;

	*pathp = NULL;
	sp->auth = conf_bool(c, "learner.auth", true);
	path = conf_str(c, "learner.auth_key", NULL);
	sp->learn_window_ns = conf_duration(c, "learner.learn_window", 5 * NS_PER_S,
	    NS_PER_MS, 3600 * NS_PER_S);
	if (!sp->auth)
		return;
	*pathp = path;
}

/* After conf_done (unknown settings first), before -n's exit: -n refuses it too. */
static void
load_auth(struct conf *c, struct syncer_params *sp, const char *path)
{
	char err[512];

	if (!sp->auth)
		return;
	if (path == NULL)
		fatalx("%s: learner.auth_key must name this host's key file (lines \"ID HEX\", "
		    "mode 0600; tools/vpcfwd-keygen host), or learner.auth = false for "
		    "plaintext", conf_path(c));
	if (auth_keys_read(path, &sp->keys, err, sizeof(err)) < 0)
		fatalx("%s: learner.auth_key: %s", conf_path(c), err);
}

int
main(int argc, char **argv)
{
	const char *listen, *host;
	struct conf_common common;
	struct subscriber_params fp = { .what = "binding feed" };
	struct syncer_params sp = { 0 };
	struct sockaddr_in gws[GATEWAYS_MAX];
	struct table_params tp;
	struct tls_conf tc;
	static struct gateways gw;
	struct state s = { 0 };
	uint32_t ngw, down_after, max_ports;
	uint64_t probe_ns;
	char err[512];
	bool check = false;
	struct conf *c;
	const char *auth_path;
	int rc;

	c = daemon_start(argc, argv, "learner", &common, &check);
	if ((host = conf_str(c, "learner.host", NULL)) == NULL)
		fatalx("%s: learner.host must name this host as the controller knows it",
		    conf_path(c));
	listen = conf_str(c, "learner.listen", "0.0.0.0:4807");
	if (net_endpoint_parse(listen, &sp.listen, 1) < 0)
		conf_fatal_at(c, "learner.listen", "learner.listen must be \"a.b.c.d:port\", "
		    "not \"%s\"", listen);
	ngw = (uint32_t)conf_endpoints(c, "learner.gateways", gws, GATEWAYS_MAX,
	    "gateways = [\"10.0.0.11:4806\"];");
	fp.naddrs = conf_endpoints(c, "learner.controllers", fp.addrs, SUBSCRIBER_ADDRS_MAX,
	    "controllers = [\"10.0.0.1:7400\"];");
	sp.wait_ns = conf_duration(c, "learner.sync_wait", 2 * NS_PER_S, 0, 60 * NS_PER_S);
	sp.timeout_ns = conf_duration(c, "learner.sync_timeout", 500 * NS_PER_MS, 10 * NS_PER_MS,
	    60 * NS_PER_S);
	sp.batch = conf_int(c, "learner.sync_batch", 32, 1, SYNC_VNIS_MAX);
	sp.resync_min_rules = conf_int(c, "learner.resync_min_rules", 64, 0, 1u << 30);
	down_after = conf_int(c, "learner.gateway_down_after", 3, 1, 1000);
	probe_ns = conf_duration(c, "learner.gateway_probe", 500 * NS_PER_MS, 10 * NS_PER_MS,
	    600 * NS_PER_S);
	s.cache_max_rules = conf_int(c, "learner.cache_max_rules", 500000, 0, 1u << 30);
	s.cache_max_age_s = conf_duration(c, "learner.cache_max_age", 5 * NS_PER_DAY, 0,
	    365 * NS_PER_DAY) / NS_PER_S;
	s.evict_ns = conf_duration(c, "learner.evict_interval", 10 * NS_PER_S, NS_PER_MS,
	    NS_PER_DAY);
	max_ports = conf_int(c, "learner.max_ports", 1024, 1, 65536);
	fp.timeout_ns = conf_duration(c, "learner.controller_timeout", 3 * NS_PER_S,
	    100 * NS_PER_MS, 600 * NS_PER_S);
	fp.backoff_min_ns = 100 * NS_PER_MS;
	fp.backoff_max_ns = 5 * NS_PER_S;
	if (table_conf_read(c, "learner", TABLE_HOST, &tp) < 0)
		fatalx("%s", conf_error(c));
	if (strlen(host) > SYNC_NAME_MAX)
		fatalx("%s: learner.host must be 1..%d characters", conf_path(c), SYNC_NAME_MAX);
	sp.host = host;
	read_auth(c, &sp, &auth_path);
	tls_conf_read(c, "learner", &tc);
	conf_done(c, "learner");
	load_auth(c, &sp, auth_path);
	tls_conf_check(&tc);
	if (check)
		return daemon_check_done(c);
	log_set_level(common.log_level);
	if (!sp.auth)
		log_warnx("learner.auth = false: sync and learn datagrams are neither "
		    "authenticated nor checked; anyone on the underlay can forge them");
	fp.tls = tls_ctx_start(&tc, false);

	if ((s.c = stats_create(&s.stats, common.node, "learner", learner_stats_defs,
	    learner_stats_count)) == NULL)
		fatalx("%s", s.stats.seg.err);
	if (table_create(&s.t, common.node, "learner", &tp, err, sizeof(err)) < 0 ||
	    ports_create(&s.ports, common.node, max_ports, err, sizeof(err)) < 0 ||
	    vtepset_create(&s.vteps, common.node, "learner", VTEPSET_MAX_DEFAULT, err,
	    sizeof(err)) < 0)
		fatalx("%s", err);
	STATS_SET(s.c, table_max_vnis, tp.max_vnis);
	if ((s.l = loop_new(512, err, sizeof(err))) == NULL)
		fatalx("%s", err);
	gateways_init(&gw, gws, ngw, down_after, probe_ns, s.t, s.c);
	if (sp.auth)
		gateways_probe_now(&gw);
	if ((s.syncer = syncer_new(s.l, &sp, s.t, &gw, s.c, err, sizeof(err))) == NULL)
		fatalx("%s", err);
	syncer_load(s.syncer);
	if ((s.feed = feed_new(s.l, &fp, common.node, host, s.ports, s.vteps, s.c)) == NULL)
		fatalx("out of memory");
	daemon_signals();
	s.tick = (struct loop_timer){ .fn = tick, .arg = &s };
	loop_timer_set(s.l, &s.tick, 0);
	log_info("node %s (host %s): cache %s (%u rules), %u gateway(s), LEARNs on port %d",
	    common.node, host, table_seg(s.t)->name, table_count(s.t), ngw,
	    syncer_port(s.syncer));
	if (s.cache_max_rules > TABLE_EVICT_ROOM(tp.capacity))
		log_warnx("cache_max_rules %llu is past table_capacity %u less 1/16: eviction "
		    "starts past %u rules, or a full cache would never make room",
		    (unsigned long long)s.cache_max_rules, tp.capacity,
		    TABLE_EVICT_ROOM(tp.capacity));
	daemon_ready();
	rc = loop_run(s.l, &daemon_stop);
	log_info("stopping");
	feed_free(s.feed);
	syncer_free(s.syncer);
	/* the cancels complete, memory is released */
	loop_settle(s.l, LOOP_SETTLE_QUIET_NS, LOOP_SETTLE_MAX_NS);
	loop_free(s.l);
	table_close(s.t);
	ports_close(s.ports);
	tls_ctx_free(fp.tls);
	vtepset_close(s.vteps);
	stats_close(&s.stats);
	conf_free(c);
	return rc < 0 ? 1 : 0;
}
