/*
 * bench etcd: the latency of one compare-and-swap txn through common/etcd.c (libcurl,
 * jansson, base64, every check), against the same txn, the same JSON bytes, sent over a
 * kept-alive TCP socket as a bare hand-written HTTP/1.1 request whose answer is read
 * by Content-Length and searched for the revision, nothing validated: what the client
 * adds to what etcd itself costs. Both against one real member on loopback (etcdrun.h),
 * interleaved one txn each so that the machine's noise falls on both alike.
 *
 *	build/bench/etcd [TXNS]		(default 1000) writes bench/results/etcd.json
 */
#include "bench/bench.h"
#include "common/base64.h"
#include "common/etcd.h"
#include "tests/unit/etcdrun.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/tcp.h>

static uint64_t
now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static int
raw_connect(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

/* One CAS txn over the bare socket; the new revision, or -1. */
static int64_t
raw_cas(int fd, const char *key64, int64_t rev)
{
	char body[512], req[1024], resp[4096], *p, *cl;
	size_t got = 0, need = 0;
	int n, len;
	ssize_t r;

	len = snprintf(body, sizeof(body), "{\"compare\":[{\"key\":\"%s\",\"target\":\"MOD\","
	    "\"result\":\"EQUAL\",\"mod_revision\":\"%" PRId64 "\"}],\"success\":[{"
	    "\"request_put\":{\"key\":\"%s\",\"value\":\"MQ==\"}}]}", key64, rev, key64);
	n = snprintf(req, sizeof(req), "POST /v3/kv/txn HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	    "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len, body);
	if (write(fd, req, (size_t)n) != n)
		return -1;
	for (;;) {
		if ((r = read(fd, resp + got, sizeof(resp) - 1 - got)) <= 0)
			return -1;
		got += (size_t)r;
		resp[got] = '\0';
		if (need == 0 && (p = strstr(resp, "\r\n\r\n")) != NULL) {
			if ((cl = strcasestr(resp, "Content-Length: ")) == NULL)
				return -1;
			need = (size_t)(p + 4 - resp) + strtoul(cl + 16, NULL, 10);
		}
		if (need != 0 && got >= need)
			break;
	}
	if (strstr(resp, "\"succeeded\":true") == NULL ||
	    (p = strstr(resp, "\"revision\":\"")) == NULL)
		return -1;
	return strtoll(p + 12, NULL, 10);
}

int
main(int argc, char **argv)
{
	int txns = argc > 1 ? atoi(argv[1]) : 1000, i, fd;
	struct etcdrun run;
	struct etcd *e;
	const char *ep[1];
	struct etcd_conf conf = { .endpoints = ep, .n_endpoints = 1, .timeout_ms = 5000 };
	struct etcd_cmp cmp = { .target = ETCD_CMP_MOD, .key = "bench/ours", .key_len = 10 };
	struct etcd_op op = { .kind = ETCD_OP_PUT, .key = "bench/ours", .key_len = 10,
	    .value = "1", .value_len = 1 };
	struct etcd_txn_result res;
	uint64_t *ours, *bare, t0;
	int64_t rev_ours, rev_bare;
	char key64[32];
	json_t *rows;
	double o50, o99, b50, b99;

	if (txns < 10 || txns > 1000000) {
		fprintf(stderr, "bench etcd: TXNS must be 10..1000000\n");
		return 2;
	}
	if (etcdrun_start(&run, 1, NULL) != 0) {
		fprintf(stderr, "bench etcd: no etcd member: %s\n", run.why);
		return 1;
	}
	ep[0] = run.endpoint[0];
	ours = calloc((size_t)txns, sizeof(*ours));
	bare = calloc((size_t)txns, sizeof(*bare));
	if (ours == NULL || bare == NULL || etcd_open(&e, &conf, NULL) != 0 ||
	    (fd = raw_connect(run.client_port[0])) < 0) {
		etcdrun_stop(&run);
		fprintf(stderr, "bench etcd: set-up failed\n");
		return 1;
	}
	base64_encode("bench/bare", 10, key64, sizeof(key64));
	if (etcd_put(e, "bench/ours", 10, "0", 1, &rev_ours) != 0 ||
	    etcd_put(e, "bench/bare", 10, "0", 1, &rev_bare) != 0)
		goto fail;
	for (i = -50; i < txns; i++) {	/* 50 of each to warm up */
		cmp.rev = rev_ours;
		t0 = now_ns();
		if (etcd_txn(e, &cmp, 1, &op, 1, &res) != 0 || !res.succeeded)
			goto fail;
		if (i >= 0)
			ours[i] = now_ns() - t0;
		rev_ours = res.revision;
		t0 = now_ns();
		if ((rev_bare = raw_cas(fd, key64, rev_bare)) < 0)
			goto fail;
		if (i >= 0)
			bare[i] = now_ns() - t0;
	}
	o50 = bench_pct_ms(ours, (size_t)txns, 0.5) * 1000;
	o99 = bench_pct_ms(ours, (size_t)txns, 0.99) * 1000;
	b50 = bench_pct_ms(bare, (size_t)txns, 0.5) * 1000;
	b99 = bench_pct_ms(bare, (size_t)txns, 0.99) * 1000;
	printf("%-20s %10s %10s\n", "one CAS txn", "p50 us", "p99 us");
	printf("%-20s %10.0f %10.0f\n", "common/etcd.c", o50, o99);
	printf("%-20s %10.0f %10.0f\n", "bare HTTP socket", b50, b99);
	rows = bench_results();
	bench_add(rows, "etcd_cas_p50_us", o50, "us",
	    "the same txn as bare HTTP/1.1 on a kept-alive socket, one member", b50);
	bench_add(rows, "etcd_cas_p99_us", o99, "us",
	    "the same txn as bare HTTP/1.1 on a kept-alive socket, one member", b99);
	bench_write(rows, "etcd");
	close(fd);
	etcd_close(e);
	etcdrun_stop(&run);
	free(ours);
	free(bare);
	return 0;
fail:
	fprintf(stderr, "bench etcd: a txn failed: %s\n", etcd_error(e));
	etcdrun_stop(&run);
	return 1;
}
