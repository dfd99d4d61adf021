/*
 * etcdrun: real etcd members for tests and benchmarks, never a system service. N members
 * on loopback, each with its own data directory under one temporary directory, on
 * ports the kernel picked free, one cluster (its own token); etcdrun_start returns once
 * every member answers /health, and etcdrun_stop (or the death of the process that
 * started them: PR_SET_PDEATHSIG) kills them and removes the directory. Etcd's limits
 * are its defaults (--max-txn-ops 128, --max-request-bytes 1.5 MiB) unless the caller
 * passes flags of its own.
 *
 * Header-only: each test or benchmark is one program.
 */
#ifndef TESTS_UNIT_ETCDRUN_H
#define TESTS_UNIT_ETCDRUN_H

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ETCDRUN_MAX		5
#define ETCDRUN_ARGS_MAX	8

struct etcdrun {
	int n;
	pid_t pid[ETCDRUN_MAX];
	int client_port[ETCDRUN_MAX], peer_port[ETCDRUN_MAX];
	char endpoint[ETCDRUN_MAX][64];
	char dir[64];
	char why[512];		/* why etcdrun_start failed */
};

/* The etcd binary on PATH, or NULL: a test skips, saying so, when etcd is missing. */
static inline const char *
etcdrun_binary(void)
{
	static char path[256];
	const char *dirs[] = { "/usr/bin", "/usr/local/bin", "/usr/sbin" };
	size_t i;

	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(path, sizeof(path), "%s/etcd", dirs[i]);
		if (access(path, X_OK) == 0)
			return path;
	}
	return NULL;
}

/*
 * n ports free on 127.0.0.1 now: all sockets stay bound until every port is chosen, so
 * the n are distinct; another process may still take one before etcd binds it, which
 * etcdrun_start sees as a member that exits, and retries.
 */
static inline int
etcdrun_ports(int *ports, int n)
{
	int fds[2 * ETCDRUN_MAX], i, rc = 0;
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (i = 0; i < n; i++) {
		sa.sin_port = 0;
		len = sizeof(sa);
		if ((fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
		    bind(fds[i], (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
		    getsockname(fds[i], (struct sockaddr *)&sa, &len) != 0) {
			rc = -errno;
			if (fds[i] >= 0)
				close(fds[i]);
			break;
		}
		ports[i] = ntohs(sa.sin_port);
	}
	while (i-- > 0)
		close(fds[i]);
	return rc;
}

static inline int
etcdrun_rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(p);
	return 0;
}

/* Kill every member (a stopped one too) and remove the data. Safe to call twice. */
static inline void
etcdrun_stop(struct etcdrun *r)
{
	int i;

	for (i = 0; i < r->n; i++) {
		if (r->pid[i] <= 0)
			continue;
		kill(r->pid[i], SIGKILL);
		kill(r->pid[i], SIGCONT);
		waitpid(r->pid[i], NULL, 0);
		r->pid[i] = 0;
	}
	if (r->dir[0] != '\0')
		nftw(r->dir, etcdrun_rm_one, 16, FTW_DEPTH | FTW_PHYS);
	r->dir[0] = '\0';
}

/* GET /health on member i: 1 when it says {"health":"true"}, else 0. */
static inline size_t
etcdrun_health_cb(char *p, size_t size, size_t nmemb, void *arg)
{
	char *buf = arg;
	size_t n = size * nmemb, have = strlen(buf);

	if (have + n < 256) {
		memcpy(buf + have, p, n);
		buf[have + n] = '\0';
	}
	return n;
}

static inline int
etcdrun_healthy(const struct etcdrun *r, int i)
{
	char url[96], buf[256] = "";
	CURL *c = curl_easy_init();
	CURLcode cc;

	if (c == NULL)
		return 0;
	snprintf(url, sizeof(url), "%.63s/health", r->endpoint[i]);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 1000L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, etcdrun_health_cb);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, (void *)buf);
	cc = curl_easy_perform(c);
	curl_easy_cleanup(c);
	return cc == CURLE_OK && strstr(buf, "\"health\":\"true\"") != NULL;
}

static inline pid_t
etcdrun_spawn(struct etcdrun *r, int i, const char *cluster, const char *const *extra)
{
	char name[16], data[128], curl_[64], purl[64], log[128], token[32];
	const char *argv[32 + ETCDRUN_ARGS_MAX];
	int a = 0, fd;
	pid_t parent = getpid(), pid;

	snprintf(name, sizeof(name), "m%d", i);
	snprintf(data, sizeof(data), "%s/m%d", r->dir, i);
	snprintf(curl_, sizeof(curl_), "http://127.0.0.1:%d", r->client_port[i]);
	snprintf(purl, sizeof(purl), "http://127.0.0.1:%d", r->peer_port[i]);
	snprintf(log, sizeof(log), "%s/m%d.log", r->dir, i);
	snprintf(token, sizeof(token), "etcdrun-%d", (int)parent);
	argv[a++] = "etcd";
	argv[a++] = "--name";
	argv[a++] = name;
	argv[a++] = "--data-dir";
	argv[a++] = data;
	argv[a++] = "--listen-client-urls";
	argv[a++] = curl_;
	argv[a++] = "--advertise-client-urls";
	argv[a++] = curl_;
	argv[a++] = "--listen-peer-urls";
	argv[a++] = purl;
	argv[a++] = "--initial-advertise-peer-urls";
	argv[a++] = purl;
	argv[a++] = "--initial-cluster";
	argv[a++] = cluster;
	argv[a++] = "--initial-cluster-token";
	argv[a++] = token;
	argv[a++] = "--initial-cluster-state";
	argv[a++] = "new";
	for (; extra != NULL && *extra != NULL && a < 30 + ETCDRUN_ARGS_MAX; extra++)
		argv[a++] = *extra;
	argv[a] = NULL;
	if ((pid = fork()) != 0)
		return pid;
	/* The member dies with whoever started it, even a test killed by a signal. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(127);
	if ((fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644)) >= 0) {
		dup2(fd, 1);
		dup2(fd, 2);
		close(fd);
	}
	execv(etcdrun_binary(), (char *const *)argv);
	_exit(127);
}

/*
 * Start n members with extra flags (NULL-terminated, may be NULL) and wait up to 30 s
 * for every one to be healthy. 0, -ENOENT when etcd is not installed, or -1 with
 * r->why (the member's log is in it).
 */
static inline int
etcdrun_start(struct etcdrun *r, int n, const char *const *extra)
{
	char cluster[ETCDRUN_MAX * 48];
	int ports[2 * ETCDRUN_MAX], i, attempt, status;
	struct timespec t0, t;
	size_t off;

	memset(r, 0, sizeof(*r));
	if (n < 1 || n > ETCDRUN_MAX)
		return -EINVAL;
	if (etcdrun_binary() == NULL)
		return -ENOENT;
	curl_global_init(CURL_GLOBAL_ALL);
	for (attempt = 0; attempt < 3; attempt++) {
		snprintf(r->dir, sizeof(r->dir), "/tmp/etcdrun.XXXXXX");
		if (mkdtemp(r->dir) == NULL) {
			snprintf(r->why, sizeof(r->why), "mkdtemp: %s", strerror(errno));
			r->dir[0] = '\0';
			return -1;
		}
		if (etcdrun_ports(ports, 2 * n) != 0) {
			snprintf(r->why, sizeof(r->why), "no free ports");
			etcdrun_stop(r);
			return -1;
		}
		r->n = n;
		off = 0;
		for (i = 0; i < n; i++) {
			r->client_port[i] = ports[2 * i];
			r->peer_port[i] = ports[2 * i + 1];
			snprintf(r->endpoint[i], sizeof(r->endpoint[i]), "http://127.0.0.1:%d",
			    r->client_port[i]);
			off += (size_t)snprintf(cluster + off, sizeof(cluster) - off,
			    "%sm%d=http://127.0.0.1:%d", i ? "," : "", i, r->peer_port[i]);
		}
		for (i = 0; i < n; i++)
			r->pid[i] = etcdrun_spawn(r, i, cluster, extra);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (;;) {
			int healthy = 0, dead = -1;

			for (i = 0; i < n; i++) {
				if (r->pid[i] > 0 && waitpid(r->pid[i], &status, WNOHANG) ==
				    r->pid[i]) {
					r->pid[i] = 0;
					dead = i;
				}
				healthy += r->pid[i] > 0 && etcdrun_healthy(r, i);
			}
			if (healthy == n)
				return 0;
			clock_gettime(CLOCK_MONOTONIC, &t);
			if (dead >= 0 || t.tv_sec - t0.tv_sec > 30) {
				char cmd[160];
				FILE *f;
				size_t got;

				snprintf(r->why, sizeof(r->why), "member %d %s; its log: ",
				    dead >= 0 ? dead : 0, dead >= 0 ? "exited" : "not healthy in 30 s");
				snprintf(cmd, sizeof(cmd), "tail -c 300 %s/m%d.log", r->dir,
				    dead >= 0 ? dead : 0);
				if ((f = popen(cmd, "r")) != NULL) {
					off = strlen(r->why);
					got = fread(r->why + off, 1, sizeof(r->why) - off - 1, f);
					r->why[off + got] = '\0';
					pclose(f);
				}
				break;
			}
			usleep(50000);
		}
		etcdrun_stop(r);
		/* A port taken by someone else between our bind and etcd's: try others. */
	}
	return -1;
}

#endif
