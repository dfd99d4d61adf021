/*
 * bench/import: durable VM imports a second, the user's way: `vpcfwdctl import` of a
 * CSV file of N VMs (default 1 M) into one VPC of a running controller, each batch
 * committed and synced before the next. Baseline, in the same run and on the same
 * disk: bare LMDB writing N records of the same size under one key each, committed
 * durably in batches of the same size. The project's goal is >= 200k VMs/s.
 *
 * Then churn: the N VMs deleted, the first S (default N/100) one `vm.delete` each (a
 * synced transaction each, as the log is full and trimming: the single-delete rate), the
 * rest BATCH names a `vm.delete` (as `vpcfwdctl delete` sends them), and the same file
 * imported again. The second import must run at >= 0.8x the first, and the data file
 * must not grow: a delete leaves nothing behind that later commits pay for (its log
 * record and tombstone go, its pages are reused). The rate of the batched deletes' last
 * tenth is compared with their first tenth for the same reason. The log keeps N records
 * (the default keeps 1 M: so at the default N the controller is as shipped), so that at
 * any N the first import fills it and what follows trims it.
 *
 *	import [-n VMS] [-s SINGLE_DELETES]	(N creates, N deletes, N creates)
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

static void stop_controller(pid_t ctl);

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

/* One `vpcfwdctl import` of the CSV file: VMs/s, or exit. */
static double
import_file(const char *csv, pid_t ctl, uint64_t n)
{
	char log[256], *args[6];
	uint64_t t0, ns;
	pid_t imp;
	int st;

	args[0] = (char *)bench_bin("vpcfwdctl");
	args[1] = "-s";
	args[2] = (char *)sock;
	args[3] = "import";
	args[4] = (char *)csv;
	args[5] = NULL;
	snprintf(log, sizeof(log), "%s/vpcfwdctl.log", dir);
	t0 = clock_mono_ns();
	imp = bench_spawn(args, log);
	waitpid(imp, &st, 0);
	ns = clock_mono_ns() - t0;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "import: vpcfwdctl import failed (see %s)\n", log);
		stop_controller(ctl);
		exit(1);
	}
	return n * 1e9 / ns;
}

static void
connect_or_exit(struct apiclient *c)
{
	if (apiclient_connect(c, sock, 0) < 0) {
		fprintf(stderr, "import: cannot connect to %s\n", sock);
		exit(1);
	}
}

/* VMs [0, k) deleted one vm.delete request (one synced transaction) each: deletes/s. */
static double
delete_singles(uint64_t k)
{
	uint64_t t0 = clock_mono_ns();
	struct apiclient c;

	connect_or_exit(&c);
	for (uint64_t i = 0; i < k; i++) {
		char name[24];

		snprintf(name, sizeof(name), "vm%07llu", (unsigned long long)i);
		api(&c, json_pack("{s:s, s:s}", "op", "vm.delete", "name", name));
	}
	apiclient_close(&c);
	return k * 1e9 / (clock_mono_ns() - t0);
}

/*
 * VMs [from, n) deleted BATCH names a vm.delete request: the whole phase's deletes/s,
 * and those of its first and last tenth (whole batches, at least one).
 */
static double
delete_batches(uint64_t from, uint64_t n, double *first, double *last)
{
	uint64_t total = n - from, tenth = total / 10 ? total / 10 : 1;
	uint64_t t0 = clock_mono_ns(), t1 = 0, done = 0, at_t1 = 0;
	struct apiclient c;

	connect_or_exit(&c);
	*first = 0;
	for (uint64_t i = from; i < n; i += BATCH) {
		json_t *names = json_array();

		/* The last tenth starts at the batch boundary where <= tenth remain. */
		if (t1 == 0 && n - i <= tenth) {
			t1 = clock_mono_ns();
			at_t1 = done;
		}
		for (uint64_t j = i; j < i + BATCH && j < n; j++) {
			char name[24];

			snprintf(name, sizeof(name), "vm%07llu", (unsigned long long)j);
			json_array_append_new(names, json_string(name));
		}
		done += json_array_size(names);
		api(&c, json_pack("{s:s, s:o}", "op", "vm.delete", "names", names));
		if (*first == 0 && done >= tenth)
			*first = done * 1e9 / (clock_mono_ns() - t0);
	}
	if (t1 == 0) {
		/* One batch in all: its rate is the last tenth's too. */
		t1 = t0;
		at_t1 = 0;
	}
	*last = (done - at_t1) * 1e9 / (clock_mono_ns() - t1);
	apiclient_close(&c);
	return total * 1e9 / (clock_mono_ns() - t0);
}

/* The controller's data file's size in bytes (LMDB never shrinks it). */
static double
data_size(void)
{
	char path[256];
	struct stat st;

	snprintf(path, sizeof(path), "%s/data/data.mdb", dir);
	if (stat(path, &st) == -1) {
		perror(path);
		exit(1);
	}
	return st.st_size;
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
	uint64_t n = 1000000;
	struct apiclient c;
	char path[256], conf[1024], *args[8];
	json_t *res;
	pid_t ctl;
	uint64_t singles = 0;
	bool singles_given = false;
	double rate, base, del_first, del_last, del_rate, single_rate, rate2, size1, size2;
	FILE *f;
	int ch;

	while ((ch = getopt(argc, argv, "n:s:")) != -1) {
		if (ch == 'n') {
			n = strtoull(optarg, NULL, 10);
		} else if (ch == 's') {
			singles = strtoull(optarg, NULL, 10);
			singles_given = true;
		} else {
			fprintf(stderr, "usage: import [-n VMS] [-s SINGLE_DELETES]\n");
			return 2;
		}
	}
	/* VM i is 10.0.0.0 + i + 1: 10.0.0.0/8 has that many addresses but its two ends. */
	if (n < 1 || n > (1u << 24) - 2) {
		fprintf(stderr, "import: -n must be 1..%u (VMs in 10.0.0.0/8)\n", (1u << 24) - 2);
		return 2;
	}
	if (!singles_given)
		singles = n / 100 ? n / 100 : 1;
	if (singles >= n) {
		fprintf(stderr, "import: -s must be below -n (the rest are deleted in batches)\n");
		return 2;
	}
	snprintf(dir, sizeof(dir), "%s", bench_tmpdir("import"));
	snprintf(node, sizeof(node), "bi%d", (int)getpid());
	snprintf(conf, sizeof(conf), "node = \"%s\";\ncontroller = {\n data_dir = \"%s/data\";\n"
	    " api_socket = \"%s/api.sock\";\n listen = \"127.0.0.1:0\";\n"
	    " log_retention = %llu;\n};\n", node, dir, dir,
	    (unsigned long long)(n > 1000 ? n : 1000));
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

	rate = import_file(path, ctl, n);
	size1 = data_size();
	single_rate = delete_singles(singles);
	del_rate = delete_batches(singles, n, &del_first, &del_last);
	rate2 = import_file(path, ctl, n);
	size2 = data_size();
	stop_controller(ctl);
	base = lmdb_baseline(n);

	printf("import: %llu VMs into one VPC with vpcfwdctl import, batches of %d, durable\n",
	    (unsigned long long)n, BATCH);
	printf("%-28s %12s %10s\n", "name", "VMs/s", "ratio");
	printf("%-28s %12.0f %9.2fx\n", "vpcfwdctl import", rate, rate / base);
	printf("%-28s %12.0f %9.2fx\n", "baseline: bare LMDB puts", base, 1.0);
	printf("goal >= %.0f VMs/s: %s\n", GOAL, rate >= GOAL ? "met" : "NOT met");
	printf("churn: %llu VMs deleted one vm.delete each, the other %llu %d names a "
	    "vm.delete, then all imported again\n", (unsigned long long)singles,
	    (unsigned long long)(n - singles), BATCH);
	printf("%-28s %12.0f %9.2fx\n", "import after the deletes", rate2, rate2 / rate);
	printf("%-28s %12.0f %9.2fx\n", "batched deletes/s", del_rate, del_rate / rate);
	printf("%-28s %12.0f %9.2fx\n", "single deletes/s", single_rate, single_rate / rate);
	printf("%-28s %12.0f %9.2fx\n", "  (ratios: to the import)", rate, 1.0);
	printf("%-28s %12.0f %9.2fx\n", "batched, last tenth", del_last, del_last / del_first);
	printf("%-28s %12.0f %9.2fx\n", "batched, first tenth", del_first, 1.0);
	printf("%-28s %12.0f %9.2fx\n", "data.mdb bytes after", size2, size2 / size1);
	printf("%-28s %12.0f %9.2fx\n", "data.mdb bytes before", size1, 1.0);
	printf("goal: import after >= 0.8x before: %s\n", rate2 >= 0.8 * rate ? "met" : "NOT met");
	res = bench_results();
	bench_add(res, "import_vms_per_s", rate, "VMs/s", "bare LMDB, one put a record", base);
	bench_add(res, "import_vms_per_s_vs_goal", rate, "VMs/s", "goal", GOAL);
	bench_add(res, "import_churn", rate2, "VMs/s", "the first import, same run", rate);
	bench_add(res, "import_churn_data_growth", size2, "bytes",
	    "data.mdb after the first import", size1);
	bench_add(res, "import_churn_deletes", del_last, "deletes/s",
	    "the first tenth of the batched deletes", del_first);
	bench_add(res, "import_churn_delete_rate", del_rate, "VMs/s",
	    "the first import, same run", rate);
	bench_add(res, "import_churn_single_deletes", single_rate, "deletes/s",
	    "the batched deletes, same run", del_rate);
	bench_rmdir(dir);
	return bench_write(res, "import") < 0;
}
