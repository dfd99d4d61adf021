/*
 * cluster.h: a cluster of vpcfwd processes for a benchmark: the processes of this build
 * started with a config of the benchmark's making, the controller's API, and waits for
 * what those processes publish (stream and sync ports, stats and table segments).
 * Header-only, like bench.h (which it includes): each benchmark is one program.
 *
 * The rules:
 *  - cluster_init(NAME) comes first. It makes the scratch directory
 *    /tmp/vpcfwd-bench-NAME.XXXXXX (cluster_dir()), which holds each process's
 *    <name>.conf and <name>.log, the controller's data/ and its API socket api.sock.
 *  - Nodes are named NAME<pid>-<role> (cluster_node()), so that every segment the run
 *    makes, in a process or in the benchmark itself, can be found and removed by name.
 *  - Cleaning up stops every process started or forked here (SIGTERM, and SIGCONT for
 *    one stopped on purpose; SIGKILL after 5 s), removes every /dev/shm segment of the
 *    run's nodes, then the scratch directory. It runs at any exit (atexit), on SIGINT,
 *    SIGTERM and SIGHUP (then the exit status is 128 + the signal), and at
 *    cluster_end(), whichever comes first, and only in the benchmark's own process:
 *    a forked child never cleans up, and dies with its parent.
 *  - An error ends the benchmark: every helper here calls fatal()/fatalx() with a line
 *    "NAME: what", which exits non-zero through the cleanup. A run that exits before
 *    cluster_end() is a failed one, and the cleanup shows the tail of each process's
 *    log first (the only clue to what went wrong); an interrupted run does not.
 *  - SIGPIPE is ignored: a peer that goes away is an error to report.
 */
#ifndef BENCH_CLUSTER_H
#define BENCH_CLUSTER_H

#include "bench/bench.h"
#include "common/apiclient.h"
#include "common/auth.h"
#include "common/log.h"
#include "shm/seg.h"
#include "shm/stats.h"
#include "shm/table.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>

#define CLUSTER_PROCS_MAX	64
#define CLUSTER_NODES_MAX	16
#define CLUSTER_WAIT_TRIES	500	/* of 10 ms: how long a wait for a process lasts */
#define CLUSTER_STOP_MS		5000	/* from SIGTERM to SIGKILL */

struct cluster {
	const char *bench;		/* the benchmark's name, in paths and error lines */
	pid_t main_pid;			/* the process that cleans up */
	char dir[128];
	char api_sock[256];
	char nodes[CLUSTER_NODES_MAX][SEG_PART_MAX + 1];
	int nnodes;
	pid_t procs[CLUSTER_PROCS_MAX];	/* started or forked, in order; 0 once stopped */
	int nprocs;
	bool ok;			/* cluster_end() reached */
	bool interrupted;		/* by a signal */
	bool cleaned;
	bool sanitized;		/* a process's log holds a sanitizer's report */
};

static struct cluster the_cluster;

/* Stop pids[0..n) (SIGTERM, SIGCONT), the last first; SIGKILL what is left after a while. */
static inline void
cluster_stop_all(pid_t *pids, int n)
{
	int left = 0;

	for (int i = n - 1; i >= 0; i--)
		if (pids[i] > 0) {
			kill(pids[i], SIGTERM);
			kill(pids[i], SIGCONT);
			left++;
		}
	for (int ms = 0; left > 0 && ms < CLUSTER_STOP_MS; ms++) {
		for (int i = n - 1; i >= 0; i--)
			/* -1 (not our child, or reaped) counts as gone, too. */
			if (pids[i] > 0 && waitpid(pids[i], NULL, WNOHANG) != 0) {
				pids[i] = 0;
				left--;
			}
		if (left > 0)
			usleep(1000);
	}
	for (int i = n - 1; i >= 0; i--)
		if (pids[i] > 0) {
			/* Not gone: it must not outlive the benchmark. */
			kill(pids[i], SIGKILL);
			waitpid(pids[i], NULL, 0);
			pids[i] = 0;
		}
}

/* Remove the segments of the nodes named prefix (all: prefix*). */
static inline void
cluster_unlink_nodes(const char *prefix, bool all)
{
	struct dirent *e;
	DIR *d;

	if ((d = opendir(SEG_DIR)) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		struct seg_ent se;
		char path[512];

		if (!seg_name_parse(e->d_name, &se) ||
		    (all ? strncmp(se.node, prefix, strlen(prefix)) : strcmp(se.node, prefix)) != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", SEG_DIR, e->d_name);
		if (unlink(path) == -1 && errno != ENOENT)
			fprintf(stderr, "%s: cannot remove %s: %s\n", the_cluster.bench, path,
			    strerror(errno));
	}
	closedir(d);
}

/* Remove every segment of the run's nodes (NAME<pid>-*). */
static inline void
cluster_unlink_segments(void)
{
	char prefix[SEG_PART_MAX + 1];

	snprintf(prefix, sizeof(prefix), "%s%d-", the_cluster.bench, (int)the_cluster.main_pid);
	cluster_unlink_nodes(prefix, true);
}

/*
 * Stop the processes, remove the segments and the scratch directory (see the rules
 * above). Once; the signals that would clean up are held off while it runs. Not
 * async-signal-safe, but from a signal the run is over either way.
 */
/*
 * A process built with SANITIZE=1 reports into its log and may go on: a run whose
 * scratch directory (logs and all) goes away with it must say so itself, as tests/lib.sh
 * does for the shell tests. The reports are printed; true when there was one.
 */
static inline bool
cluster_sanitizer_reported(const char *dir)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "grep -s -l -E 'ERROR: [A-Za-z]+Sanitizer|runtime error:' "
	    "%s/*.log >/dev/null && grep -s -m 3 -E 'ERROR: [A-Za-z]+Sanitizer|runtime error:|"
	    "^    #[0-3] ' %s/*.log >&2", dir, dir);
	return system(cmd) == 0;
}

static inline void
cluster_cleanup(void)
{
	sigset_t block, old;

	if (the_cluster.bench == NULL || getpid() != the_cluster.main_pid || the_cluster.cleaned)
		return;
	the_cluster.cleaned = true;
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigprocmask(SIG_BLOCK, &block, &old);
	cluster_stop_all(the_cluster.procs, the_cluster.nprocs);
	the_cluster.nprocs = 0;
	if (!the_cluster.ok && !the_cluster.interrupted && the_cluster.dir[0]) {
		char cmd[256];

		/* The processes' logs are the only clue to a failed run: show them first. */
		snprintf(cmd, sizeof(cmd), "tail -n 15 %s/*.log >&2", the_cluster.dir);
		if (system(cmd) != 0)
			fprintf(stderr, "%s: no logs in %s\n", the_cluster.bench, the_cluster.dir);
	}
	cluster_unlink_segments();
	if (the_cluster.dir[0] && cluster_sanitizer_reported(the_cluster.dir))
		the_cluster.sanitized = true;
	if (the_cluster.dir[0])
		bench_rmdir(the_cluster.dir);
	the_cluster.dir[0] = '\0';
	sigprocmask(SIG_SETMASK, &old, NULL);
}

static inline void
cluster_on_signal(int sig)
{
	the_cluster.interrupted = true;
	cluster_cleanup();
	_exit(128 + sig);
}

/* First of all: the scratch directory, the cleanup at exit and on signals. */
static inline void
cluster_init(const char *bench)
{
	the_cluster.bench = bench;
	the_cluster.main_pid = getpid();
	snprintf(the_cluster.dir, sizeof(the_cluster.dir), "%s", bench_tmpdir(bench));
	snprintf(the_cluster.api_sock, sizeof(the_cluster.api_sock), "%s/api.sock",
	    the_cluster.dir);
	atexit(cluster_cleanup);
	signal(SIGINT, cluster_on_signal);
	signal(SIGTERM, cluster_on_signal);
	signal(SIGHUP, cluster_on_signal);
	signal(SIGPIPE, SIG_IGN);
}

/*
 * The run succeeded: clean up now, without showing the logs; but a sanitizer's report in
 * any process's log fails it (exit 1).
 */
static inline void
cluster_end(void)
{
	the_cluster.ok = true;
	cluster_cleanup();
	if (the_cluster.sanitized)
		fatalx("%s: a process's sanitizer reported (above)", the_cluster.bench);
}

static inline const char *
cluster_dir(void)
{
	return the_cluster.dir;
}

/* The name of the run's node for a role ("ctl", "gw", "h1"): NAME<pid>-<role>. */
static inline const char *
cluster_node(const char *role)
{
	char name[SEG_PART_MAX + 1];
	int n;

	n = snprintf(name, sizeof(name), "%s%d-%s", the_cluster.bench,
	    (int)the_cluster.main_pid, role);
	if (n < 0 || (size_t)n >= sizeof(name) || !addr_part_valid(name))
		fatalx("%s: %s: not a valid node name", the_cluster.bench, name);
	for (int i = 0; i < the_cluster.nnodes; i++)
		if (strcmp(the_cluster.nodes[i], name) == 0)
			return the_cluster.nodes[i];
	if (the_cluster.nnodes == CLUSTER_NODES_MAX)
		fatalx("%s: more than %d nodes", the_cluster.bench, CLUSTER_NODES_MAX);
	memcpy(the_cluster.nodes[the_cluster.nnodes], name, sizeof(name));
	return the_cluster.nodes[the_cluster.nnodes++];
}

static inline void
cluster_write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0)
		fatal("%s: %s", the_cluster.bench, path);
}

static inline void
cluster_add(pid_t pid)
{
	if (the_cluster.nprocs == CLUSTER_PROCS_MAX) {
		kill(pid, SIGKILL);
		fatalx("%s: more than %d processes", the_cluster.bench, CLUSTER_PROCS_MAX);
	}
	the_cluster.procs[the_cluster.nprocs++] = pid;
}

/* Start $BUILD/bin/<bin> -c DIR/<name>.conf (conf_text), its output in DIR/<name>.log. */
static inline pid_t
cluster_start(const char *bin, const char *conf_text, const char *name)
{
	char conf[256], log[256], *args[4];
	pid_t pid;

	snprintf(conf, sizeof(conf), "%s/%s.conf", the_cluster.dir, name);
	snprintf(log, sizeof(log), "%s/%s.log", the_cluster.dir, name);
	cluster_write_file(conf, conf_text);
	args[0] = (char *)bench_bin(bin);
	args[1] = "-c";
	args[2] = conf;
	args[3] = NULL;
	pid = bench_spawn(args, log);
	cluster_add(pid);
	return pid;
}

/*
 * fork(), the child stopped with the others. In the child (0): default signal
 * handling, and it dies with its parent (PR_SET_PDEATHSIG).
 */
static inline pid_t
cluster_fork(void)
{
	pid_t pid;

	fflush(NULL);
	if ((pid = fork()) == -1)
		fatal("%s: fork", the_cluster.bench);
	if (pid == 0) {
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != the_cluster.main_pid)
			_exit(1);	/* the parent died before the line above */
		return 0;
	}
	cluster_add(pid);
	return pid;
}

/* Stop one process of the cluster now, as the cleanup would. */
static inline void
cluster_stop(pid_t pid)
{
	for (int i = 0; i < the_cluster.nprocs; i++)
		if (the_cluster.procs[i] == pid) {
			cluster_stop_all(&the_cluster.procs[i], 1);
			return;
		}
}

/* The port a process says it listens on, from DIR/<name>.log: "<needle><port>". */
static inline int
cluster_log_port(const char *name, const char *needle)
{
	char path[256], line[1024];
	int port = 0;

	snprintf(path, sizeof(path), "%s/%s.log", the_cluster.dir, name);
	for (int i = 0; i < CLUSTER_WAIT_TRIES && port == 0; i++) {
		FILE *f = fopen(path, "r");
		char *p;

		while (f && fgets(line, sizeof(line), f))
			if ((p = strstr(line, needle)) != NULL)
				port = atoi(p + strlen(needle));
		if (f)
			fclose(f);
		if (port == 0)
			usleep(10000);
	}
	if (port == 0)
		fatalx("%s: %s did not start (see %s)", the_cluster.bench, name, path);
	return port;
}

/*
 * Start the controller of node cluster_node("ctl"): data in DIR/data, the API on
 * DIR/api.sock, streams on a port of the kernel's choice on 127.0.0.1, in plaintext
 * (tls = false: what the benchmarks measure; bench/replicate compares TLS). Its log is
 * DIR/controller.log. Returns the stream port, once it listens.
 */
static inline int
cluster_controller(void)
{
	char conf[1024];

	snprintf(conf, sizeof(conf), "node = \"%s\";\ncontroller = {\n data_dir = \"%s/data\";\n"
	    " api_socket = \"%s\";\n listen = \"127.0.0.1:0\";\n tls = false;\n};\n",
	    cluster_node("ctl"), the_cluster.dir, the_cluster.api_sock);
	cluster_start("vpcfwd-controller", conf, "controller");
	return cluster_log_port("controller", "streams on port ");
}

/*
 * Authentication keys (common/auth.h), as tools/vpcfwd-keygen makes them: a cluster
 * secret of key id 1 drawn at random, written to DIR/secret.key (mode 0600, for
 * syncd.auth_secret) and kept in *secret; its path.
 */
static inline const char *
cluster_auth_secret(struct auth_key *secret)
{
	static char path[256];
	struct auth_keys ks = { .n = 1 };

	ks.k[0].id = 1;
	if (getrandom(ks.k[0].key, AUTH_KEY_SIZE, 0) != AUTH_KEY_SIZE)
		fatal("%s: getrandom", the_cluster.bench);
	snprintf(path, sizeof(path), "%s/secret.key", the_cluster.dir);
	if (auth_keys_write(path, &ks) < 0)
		fatalx("%s: cannot write %s", the_cluster.bench, path);
	*secret = ks.k[0];
	return path;
}

/* Host host's key from secret, written to DIR/<host>.key (for learner.auth_key); its path. */
static inline const char *
cluster_auth_host(const struct auth_key *secret, const char *host)
{
	static char path[256];
	struct auth_keys ks = { .n = 1 };

	if (auth_derive(secret, host, strlen(host), &ks.k[0]) < 0)
		fatalx("%s: cannot derive the key of %s", the_cluster.bench, host);
	snprintf(path, sizeof(path), "%s/%s.key", the_cluster.dir, host);
	if (auth_keys_write(path, &ks) < 0)
		fatalx("%s: cannot write %s", the_cluster.bench, path);
	return path;
}

/* Connect c to the controller's API. */
static inline void
cluster_api_connect(struct apiclient *c)
{
	for (int i = 0; apiclient_connect(c, the_cluster.api_sock, 0) < 0; i++) {
		if (i == CLUSTER_WAIT_TRIES)
			fatalx("%s: cannot reach the controller at %s", the_cluster.bench,
			    the_cluster.api_sock);
		usleep(10000);
	}
}

/* One API request (consumed); its answer, for the caller to json_decref. */
static inline json_t *
cluster_call(struct apiclient *c, json_t *req)
{
	const char *op = json_string_value(json_object_get(req, "op"));
	const char *why;
	json_t *resp = NULL;
	int r;

	if ((r = apiclient_call(c, req, &resp)) < 0)
		fatalx("%s: %s failed: %s", the_cluster.bench, op ? op : "?",
		    r == -EBADMSG ? c->why : strerror(-r));
	if (!json_is_true(json_object_get(resp, "ok"))) {
		why = json_string_value(json_object_get(resp, "error"));
		fatalx("%s: %s failed: %s", the_cluster.bench, op ? op : "?", why ? why : "?");
	}
	json_decref(req);
	return resp;
}

/* A UDP port free on addr now (the kernel's choice), for a process to bind next. */
static inline int
cluster_free_port(const char *addr)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_DGRAM, 0), port;

	if (fd < 0 || inet_pton(AF_INET, addr, &a.sin_addr) != 1 ||
	    bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) < 0)
		fatal("%s: a free port on %s", the_cluster.bench, addr);
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

/* Attach the stats segment of node's proc, once the process has made it. */
static inline void
cluster_stats_wait(struct stats *st, const char *node, const char *proc)
{
	char seg[SEG_NAME_MAX];

	seg_name(seg, sizeof(seg), node, proc, "stats");
	for (int i = 0; stats_attach(st, seg) < 0; i++) {
		if (i == CLUSTER_WAIT_TRIES)
			fatalx("%s: %s", the_cluster.bench, st->seg.err);
		usleep(10000);
	}
}

/* A counter or gauge of st, by name. */
static inline uint64_t
cluster_stat(const struct stats *st, const char *name)
{
	for (uint32_t i = 0; i < st->hdr->count; i++)
		if (strcmp(st->desc[i].name, name) == 0)
			return stats_value(st, i);
	fatalx("%s: no counter %s in %s", the_cluster.bench, name, st->seg.name);
}

/* Attach the table segment of node's proc, once the process has made it. */
static inline struct table *
cluster_table_wait(const char *node, const char *proc)
{
	char seg[SEG_NAME_MAX], err[512];
	struct table *t;

	seg_name(seg, sizeof(seg), node, proc, "table");
	for (int i = 0; table_attach(&t, seg, err, sizeof(err)) < 0; i++) {
		if (i == CLUSTER_WAIT_TRIES)
			fatalx("%s: %s", the_cluster.bench, err);
		usleep(10000);
	}
	return t;
}

/* Until t (a rule-store's) has applied the controller's log as far as ctl says (10 s). */
static inline void
cluster_applied_wait(struct table *t, const struct stats *ctl)
{
	for (int i = 0; table_applied_seq(t) < cluster_stat(ctl, "log_seq"); i++) {
		if (i == 1000)
			fatalx("%s: the rule-store did not catch up", the_cluster.bench);
		usleep(10000);
	}
}

#endif
