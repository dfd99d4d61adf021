/*
 * bench/import: durable VM imports a second, the user's way: `vpcfwdctl import` of a
 * CSV file of N VMs (default 1 M) into one VPC of a running controller, each batch
 * committed and synced before the next. Baseline, in the same run and on the same
 * disk: bare LMDB writing N records of the same size under one key each, committed
 * durably in batches of the same size. The project's goal is >= 200k VMs/s.
 *
 *	import [-n VMS]
 */
#include "bench/bench.h"
#include "common/apiclient.h"
#include "common/clock.h"
#include "shm/seg.h"

#include <lmdb.h>

#define BATCH	10000
#define GOAL	200000.0

static char dir[128];
static char node[SEG_PART_MAX + 1];	/* the controller's: bi<pid> */
static const char *sock;

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

/* One request (its reference taken), which must succeed. */
static void
api(struct apiclient *c, json_t *req)
{
	json_t *resp = NULL;

	if (req == NULL || apiclient_call(c, req, &resp) < 0 ||
	    !json_is_true(json_object_get(resp, "ok"))) {
		const char *op = json_string_value(json_object_get(req, "op"));
		const char *why = json_string_value(json_object_get(resp, "error"));

		fprintf(stderr, "import: %s failed: %s\n", op ? op : "a request",
		    why ? why : "no answer");
		exit(1);
	}
	json_decref(req);
	json_decref(resp);
}

/* The baseline: N records of the size of a VM's, one put each, durable batches. */
static double
lmdb_baseline(uint64_t n)
{
	char path[256];
	uint8_t val[160];
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	uint64_t t0;

	snprintf(path, sizeof(path), "%s/baseline", dir);
	mkdir(path, 0700);
	memset(val, 0x5a, sizeof(val));
	if (mdb_env_create(&env) || mdb_env_set_mapsize(env, 4ull << 30) ||
	    mdb_env_open(env, path, 0, 0600)) {
		fprintf(stderr, "import: lmdb baseline cannot open %s\n", path);
		exit(1);
	}
	t0 = clock_mono_ns();
	for (uint64_t i = 0; i < n; i += BATCH) {
		mdb_txn_begin(env, NULL, 0, &txn);
		if (i == 0)
			mdb_dbi_open(txn, NULL, 0, &dbi);
		for (uint64_t j = i; j < i + BATCH && j < n; j++) {
			char key[16];
			MDB_val k = { (size_t)snprintf(key, sizeof(key), "vm%07llu",
			    (unsigned long long)j), key };
			MDB_val v = { sizeof(val), val };

			mdb_put(txn, dbi, &k, &v, 0);
		}
		if (mdb_txn_commit(txn)) {
			fprintf(stderr, "import: lmdb baseline commit failed\n");
			exit(1);
		}
	}
	t0 = clock_mono_ns() - t0;
	mdb_env_close(env);
	return n * 1e9 / t0;
}

/* Stop the controller and remove its stats segment, which outlives it by design. */
static void
stop_controller(pid_t ctl)
{
	char name[SEG_NAME_MAX];

	bench_stop(ctl);
	if (seg_name(name, sizeof(name), node, "controller", "stats") == 0)
		seg_unlink_name(name);
}

int
main(int argc, char **argv)
{
	uint64_t n = 1000000, t0, ns;
	struct apiclient c;
	char path[256], conf[1024], *args[8];
	json_t *res;
	pid_t ctl, imp;
	double rate, base;
	FILE *f;
	int ch, st;

	while ((ch = getopt(argc, argv, "n:")) != -1) {
		if (ch != 'n') {
			fprintf(stderr, "usage: import [-n VMS]\n");
			return 2;
		}
		n = strtoull(optarg, NULL, 10);
	}
	/* VM i is 10.0.0.0 + i + 1: 10.0.0.0/8 has that many addresses but its two ends. */
	if (n < 1 || n > (1u << 24) - 2) {
		fprintf(stderr, "import: -n must be 1..%u (VMs in 10.0.0.0/8)\n", (1u << 24) - 2);
		return 2;
	}
	snprintf(dir, sizeof(dir), "%s", bench_tmpdir("import"));
	snprintf(node, sizeof(node), "bi%d", (int)getpid());
	snprintf(conf, sizeof(conf), "node = \"%s\";\ncontroller = {\n data_dir = \"%s/data\";\n"
	    " api_socket = \"%s/api.sock\";\n listen = \"127.0.0.1:0\";\n"
	    "};\n", node, dir, dir);
	snprintf(path, sizeof(path), "%s/controller.conf", dir);
	write_file(path, conf);
	args[0] = (char *)bench_bin("vpcfwd-controller");
	args[1] = "-c";
	args[2] = path;
	args[3] = NULL;
	snprintf(conf, sizeof(conf), "%s/controller.log", dir);
	ctl = bench_spawn(args, conf);
	snprintf(path, sizeof(path), "%s/api.sock", dir);
	sock = strdup(path);
	for (int i = 0; apiclient_connect(&c, sock, 0) < 0; i++) {
		if (i == 500) {
			fprintf(stderr, "import: the controller did not start (see %s)\n", conf);
			return 1;
		}
		usleep(10000);
	}
	api(&c, json_pack("{s:s, s:s, s:i, s:[s]}", "op", "vpc.create", "name", "big", "vni", 1,
	    "cidrs", "10.0.0.0/8"));
	for (int h = 0; h < 4; h++) {
		char name[16], vtep[16];

		snprintf(name, sizeof(name), "h%d", h);
		snprintf(vtep, sizeof(vtep), "192.168.0.%d", h + 1);
		api(&c, json_pack("{s:s, s:s, s:s}", "op", "host.create", "name", name, "vtep",
		    vtep));
	}
	apiclient_close(&c);
	snprintf(path, sizeof(path), "%s/vms.csv", dir);
	if ((f = fopen(path, "w")) == NULL)
		return 1;
	fprintf(f, "name,vpc,ip,host\n");
	for (uint64_t i = 0; i < n; i++)
		fprintf(f, "vm%07llu,big,10.%llu.%llu.%llu,h%llu\n", (unsigned long long)i,
		    (unsigned long long)((i + 1) >> 16 & 255), (unsigned long long)((i + 1) >> 8 & 255),
		    (unsigned long long)((i + 1) & 255), (unsigned long long)(i % 4));
	fclose(f);

	args[0] = (char *)bench_bin("vpcfwdctl");
	args[1] = "-s";
	args[2] = (char *)sock;
	args[3] = "import";
	args[4] = path;
	args[5] = NULL;
	snprintf(conf, sizeof(conf), "%s/vpcfwdctl.log", dir);
	t0 = clock_mono_ns();
	imp = bench_spawn(args, conf);
	waitpid(imp, &st, 0);
	ns = clock_mono_ns() - t0;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "import: vpcfwdctl import failed (see %s)\n", conf);
		stop_controller(ctl);
		return 1;
	}
	rate = n * 1e9 / ns;
	stop_controller(ctl);
	base = lmdb_baseline(n);

	printf("import: %llu VMs into one VPC with vpcfwdctl import, batches of %d, durable\n",
	    (unsigned long long)n, BATCH);
	printf("%-28s %12s %10s\n", "name", "VMs/s", "ratio");
	printf("%-28s %12.0f %9.2fx\n", "vpcfwdctl import", rate, rate / base);
	printf("%-28s %12.0f %9.2fx\n", "baseline: bare LMDB puts", base, 1.0);
	printf("goal >= %.0f VMs/s: %s\n", GOAL, rate >= GOAL ? "met" : "NOT met");
	res = bench_results();
	bench_add(res, "import_vms_per_s", rate, "VMs/s", "bare LMDB, one put a record", base);
	bench_add(res, "import_vms_per_s_vs_goal", rate, "VMs/s", "goal", GOAL);
	bench_rmdir(dir);
	return bench_write(res, "import") < 0;
}
