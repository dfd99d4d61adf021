/*
 * vpcfwd-controller: owns VPCs, hosts and VMs, computes every rule, keeps it all in
 * LMDB, serves the control API on a unix socket and the log stream and binding feeds
 * on TCP. Arguments, configuration, then the loop.
 *
 *	vpcfwd-controller [-n | -d] -c FILE	(-n: check the configuration, exit)
 *	vpcfwd-controller --restore BACKUP -c FILE	(LMDB: offline, backup.h; etcd: live,
 *							etcdstore.h)
 */
#include "api.h"
#include "backup.h"
#include "counters.h"
#include "db.h"
#include "stream.h"
#include "common/clock.h"
#include "common/conf.h"
#include "etcdprobe.h"
#include "etcdstore.h"
#include "common/daemon.h"
#include "common/log.h"
#include "common/loop.h"
#include "common/net.h"
#include "common/tls.h"

#include <errno.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct settings {
	const char *data_dir;
	const char *api_socket;
	mode_t api_socket_mode;
	struct sockaddr_in listen;
	uint32_t version_step;
	uint64_t log_retention;
	uint64_t db_map_size;
	uint64_t heartbeat_ns;
	uint32_t max_subs;
	uint64_t sub_buffer;
	struct tls_conf tls;
	bool etcd;			/* controller.store = "etcd" */
	const char *etcd_endpoints[ETCD_ENDPOINTS_MAX];
	struct etcdstore_conf es;
};

/* controller.store and, for "etcd", controller.etcd (docs/cluster.md). */
static void
read_store(struct conf *c, struct settings *s)
{
	const char *store = conf_str(c, "controller.store", "lmdb");
	size_t n = 0;

	if (strcmp(store, "lmdb") != 0 && strcmp(store, "etcd") != 0)
		conf_fatal_at(c, "controller.store", "controller.store must be \"lmdb\" or "
		    "\"etcd\", not \"%s\"", store);
	s->etcd = strcmp(store, "etcd") == 0;
	if (!s->etcd)
		return;
	if (conf_get_str_list(c, "controller.etcd.endpoints", s->etcd_endpoints,
	    ETCD_ENDPOINTS_MAX, &n) < 0)
		fatalx("%s", conf_error(c));
	if (n == 0)
		conf_fatal_at(c, "controller.etcd.endpoints", "controller.store = \"etcd\" "
		    "needs controller.etcd.endpoints, e.g. [\"http://10.0.0.1:2379\"]");
	s->es.etcd = (struct etcd_conf){ .endpoints = s->etcd_endpoints,
	    .n_endpoints = (unsigned)n };
	s->es.etcd.timeout_ms = (unsigned)(conf_duration(c, "controller.etcd.timeout",
	    2 * NS_PER_S, 10 * NS_PER_MS, 60 * NS_PER_S) / NS_PER_MS);
	s->es.etcd.ca_file = conf_str(c, "controller.etcd.ca", NULL);
	s->es.etcd.cert_file = conf_str(c, "controller.etcd.cert", NULL);
	s->es.etcd.key_file = conf_str(c, "controller.etcd.key", NULL);
	s->es.prefix = conf_str(c, "controller.etcd.prefix", "/vpcfwd/1/");
	s->es.max_txn_ops = (unsigned)conf_int(c, "controller.etcd.max_txn_ops", 128, 16,
	    ETCD_TXN_MAX);
	s->es.max_request_bytes = (size_t)conf_int(c, "controller.etcd.max_request_bytes",
	    3 << 19, 1 << 16, 64ll << 20);
	s->es.sync_timeout_ns = conf_duration(c, "controller.etcd.sync_timeout",
	    5 * NS_PER_S, 10 * NS_PER_MS, 600 * NS_PER_S);
	s->es.compact_keep = (uint64_t)conf_int(c, "controller.etcd.compact_keep", 100000,
	    100, 1ll << 40);
	s->es.maint_interval_ns = conf_duration(c, "controller.etcd.maintenance_interval",
	    60 * NS_PER_S, 100 * NS_PER_MS, NS_PER_DAY);
	s->es.defrag_min_bytes = (uint64_t)conf_int(c, "controller.etcd.defrag_min_bytes",
	    64ll << 20, 0, 1ll << 40);
}

static void
read_settings(struct conf *c, struct settings *s)
{
	const char *mode, *listen;
	char *end;
	long m;

	s->data_dir = conf_str(c, "controller.data_dir", "/var/lib/vpcfwd/controller");
	s->api_socket = conf_str(c, "controller.api_socket", "/run/vpcfwd/controller.sock");
	mode = conf_str(c, "controller.api_socket_mode", "0600");
	m = strtol(mode, &end, 8);
	if (*mode == '\0' || *end || m < 0 || m > 0777)
		conf_fatal_at(c, "controller.api_socket_mode", "controller.api_socket_mode "
		    "must be an octal mode such as \"0600\"");
	s->api_socket_mode = (mode_t)m;
	listen = conf_str(c, "controller.listen", "0.0.0.0:7400");
	if (net_endpoint_parse(listen, &s->listen, 1) < 0)
		conf_fatal_at(c, "controller.listen", "controller.listen must be "
		    "\"a.b.c.d:port\", not \"%s\"", listen);
	s->version_step = conf_int(c, "controller.version_step", 1, 1, 1000);
	s->log_retention = conf_int(c, "controller.log_retention", 1000000, 1000, 1000000000);
	s->db_map_size = conf_int(c, "controller.db_map_size", 16ll << 30, 1 << 24, 1ll << 40);
	s->heartbeat_ns = conf_duration(c, "controller.heartbeat_interval", NS_PER_S,
	    10 * NS_PER_MS, 60 * NS_PER_S);
	s->max_subs = conf_int(c, "controller.max_subscribers", 256, 1, 65536);
	s->sub_buffer = conf_int(c, "controller.subscriber_buffer", 8 << 20, 1 << 20, 1 << 30);
	tls_conf_read(c, "controller", &s->tls);
	read_store(c, s);
}

/* The socket's directory, made if missing (like /run/vpcfwd). */
static void
make_parent(const char *path)
{
	char *copy = strdup(path), *dir;

	if (copy == NULL)
		fatal("strdup");
	dir = dirname(copy);
	if (mkdir(dir, 0755) == -1 && errno != EEXIST)
		fatal("%s", dir);
	free(copy);
}

struct ticker {
	struct loop_timer t;
	struct loop *l;
	struct stats *stats;
};

/* The heartbeat in the stats segment: the supervisor's and vpcfwd-stat's liveness. */
static void
tick(struct loop_timer *t)
{
	struct ticker *k = t->arg;

	stats_heartbeat(k->stats);
	loop_timer_set(k->l, t, 250 * NS_PER_MS);
}

int
main(int argc, char **argv)
{
	struct conf_common common;
	struct controller_counters *ctr;
	struct settings set;
	struct stream_params sp;
	struct ticker hb = { .t.fn = tick };
	struct stream *st;
	struct etcdstore *es = NULL;
	struct etcdprobe *probe = NULL;
	struct tls_ctx *tls;
	struct stats stats;
	struct api *api;
	struct loop *l;
	struct conf *c;
	struct db db;
	char err[512];
	int tcp_fd, api_fd, rc;
	bool check = false;
	const char *restore = backup_restore_arg(&argc, argv);
	uint64_t epoch;

	c = daemon_start(argc, argv, "controller", &common, &check);
	read_settings(c, &set);
	conf_done(c, "controller");
	if (restore) {
		rc = set.etcd ? etcdstore_restore(&set.es, restore) :
		    backup_restore_run(restore, set.data_dir, set.db_map_size,
		    set.log_retention);
		conf_free(c);
		return rc;
	}
	tls_conf_check(&set.tls);
	if (check)
		return daemon_check_done(c);
	log_set_level(common.log_level);
	tls = tls_ctx_start(&set.tls, true);

	if ((ctr = stats_create(&stats, common.node, "controller", controller_stats_defs,
	    controller_stats_count)) == NULL)
		fatalx("%s", stats.seg.err);
	if (db_open(&db, set.data_dir, set.db_map_size, set.log_retention, err,
	    sizeof(err)) < 0)
		fatalx("%s", err);
	set.es.node = common.node;
	if (set.etcd && etcdstore_open(&es, &db, &set.es, ctr, err, sizeof(err)) < 0)
		fatalx("%s", err);
	if (!set.etcd && (rc = backup_epoch(&db, &epoch)) < 0)
		fatalx("%s: cannot read the store's epoch: %s", set.data_dir, strerror(-rc));
	if (!set.etcd)
		db.epoch = epoch;
	if (!set.etcd)
		log_info("store epoch %016llx (drawn anew by each restore: the history this "
		    "data holds)", (unsigned long long)epoch);
	make_parent(set.api_socket);
	if ((api_fd = net_unix_listen(set.api_socket, set.api_socket_mode, 64, err,
	    sizeof(err))) < 0)
		fatalx("%s", err);
	if ((tcp_fd = net_tcp_listen(&set.listen, 64, err, sizeof(err))) < 0)
		fatalx("%s", err);
	if ((l = loop_new(256, err, sizeof(err))) == NULL)
		fatalx("%s", err);
	sp = (struct stream_params){ .heartbeat_ns = set.heartbeat_ns,
	    .max_subs = set.max_subs, .sub_buffer = set.sub_buffer, .tls = tls };
	if ((st = stream_new(l, &db, tcp_fd, &sp, ctr)) == NULL ||
	    (api = api_new(l, &db, st, api_fd, set.version_step,
	    es ? etcdstore_backend(es) : NULL, ctr)) == NULL)
		fatalx("cannot start the control API or the streams");
	if (es) {
		etcdstore_attach(es, l, st);
		if (etcdprobe_start(&probe, &set.es.etcd, es, l, st, ctr, err, sizeof(err)) < 0)
			fatalx("%s", err);
	}
	daemon_signals();
	hb.t.arg = &hb;
	hb.l = l;
	hb.stats = &stats;
	loop_timer_set(l, &hb.t, 0);
	log_info("node %s: %s in %s (log seq %llu..%llu), API on %s, streams on port %d "
	    "(%s%s)", common.node, es ? "etcd's view" : "data", set.data_dir, (unsigned long long)db.log_first,
	    (unsigned long long)db.last_seq, set.api_socket, net_local_port(tcp_fd),
	    tls ? "TLS as " : "plaintext", tls ? tls_ctx_self(tls) : "");
	daemon_ready();
	rc = loop_run(l, &daemon_stop);
	log_info("stopping");
	api_free(api);
	etcdprobe_stop(probe);
	etcdstore_close(es);
	stream_free(st);
	/* the cancels complete, memory is released */
	loop_settle(l, LOOP_SETTLE_QUIET_NS, LOOP_SETTLE_MAX_NS);
	loop_free(l);
	db_close(&db);
	tls_ctx_free(tls);
	stats_close(&stats);
	conf_free(c);
	return rc < 0 ? 1 : 0;
}
