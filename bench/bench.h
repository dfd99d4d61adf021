/*
 * bench.h: what every benchmark shares: pinning to a CPU, medians, and the results
 * file. A benchmark adds rows {name, value, unit, baseline, baseline_value, ratio}
 * (ratio = value / baseline_value, both measured in the same run, since only ratios
 * compare across runs on a shared machine; bench_add_auth's rows differ, see there)
 * and writes bench/results/NAME.json.
 * Header-only: each benchmark is one program.
 */
#ifndef BENCH_BENCH_H
#define BENCH_BENCH_H

#include <errno.h>
#include <jansson.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static inline void
bench_pin(int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) == -1)
		fprintf(stderr, "bench: sched_setaffinity cpu %d: %s\n", cpu, strerror(errno));
}

static inline int
bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static inline int
bench_cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* Sorts v (ns); its p-th fraction (0..1), in ms. */
static inline double
bench_pct_ms(uint64_t *v, size_t n, double p)
{
	qsort(v, n, sizeof(*v), bench_cmp_u64);
	return (double)v[(size_t)((double)(n - 1) * p)] / 1e6;
}

/*
 * ns a process has run (field 0) or waited to run (field 1) since it started
 * (/proc/PID/schedstat); 0 when it is gone.
 */
static inline uint64_t
bench_schedstat(pid_t pid, int field)
{
	unsigned long long v[2] = { 0, 0 };
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/schedstat", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	if (fscanf(f, "%llu %llu", &v[0], &v[1]) != 2)
		v[0] = v[1] = 0;
	fclose(f);
	return v[field];
}

/* ns of CPU this process has used. */
static inline uint64_t
bench_self_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Sorts v. */
static inline double
bench_median(double *v, int n)
{
	qsort(v, n, sizeof(v[0]), bench_cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static inline json_t *
bench_results(void)
{
	return json_array();
}

/* A row whose ratio is given (e.g. baseline / value, for a latency against its own). */
static inline void
bench_add_ratio(json_t *res, const char *name, double value, const char *unit,
    const char *baseline, double baseline_value, double ratio)
{
	json_array_append_new(res, json_pack("{s:s, s:f, s:s, s:s, s:f, s:f}", "name", name,
	    "value", value, "unit", unit, "baseline", baseline, "baseline_value",
	    baseline_value, "ratio", ratio));
}

static inline void
bench_add(json_t *res, const char *name, double value, const char *unit,
    const char *baseline, double baseline_value)
{
	bench_add_ratio(res, name, value, unit, baseline, baseline_value,
	    baseline_value != 0 ? value / baseline_value : 0.0);
}

/*
 * bench_add of name + suffix, with what ran (parts: "2 real syncds, ...") and a note
 * (what failed; "" for none) when given, and the row printed as a line.
 */
static inline void
bench_row(json_t *res, const char *name, const char *suffix, double value,
    const char *unit, const char *baseline, double baseline_value, const char *parts,
    const char *note)
{
	char full[96];
	json_t *r;

	snprintf(full, sizeof(full), "%s%s", name, suffix);
	bench_add(res, full, value, unit, baseline, baseline_value);
	r = json_array_get(res, json_array_size(res) - 1);
	if (parts != NULL)
		json_object_set_new(r, "parts", json_string(parts));
	if (note != NULL && note[0] != '\0')
		json_object_set_new(r, "note", json_string(note));
	printf("%-38s %12.3f %-8s baseline %12.3f (%s)\n", full, value, unit,
	    baseline_value, baseline);
}

/* A field of /proc/PID/status in kB ("VmRSS", "RssAnon"); 0 when absent. */
static inline uint64_t
bench_status_kb(pid_t pid, const char *field)
{
	char path[64], line[256];
	size_t n = strlen(field);
	uint64_t v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, field, n) == 0 && line[n] == ':')
			v = strtoull(line + n + 1, NULL, 10);
	fclose(f);
	return v;
}

/*
 * An `auth` row (issue 11): authentication on (value) against off (baseline), ratio
 * on / off for a rate (higher is better) and off / on for a latency or a cost, so that
 * 1 is "no slower" and the goal, >= 0.9, reads the same for both.
 */
static inline void
bench_add_auth(json_t *res, const char *name, double on, const char *unit,
    const char *what, double off, bool higher_better)
{
	char baseline[256];

	snprintf(baseline, sizeof(baseline), "%s without authentication", what);
	bench_add_ratio(res, name, on, unit, baseline, off, higher_better ?
	    (off != 0 ? on / off : 0.0) : (on != 0 ? off / on : 0.0));
}

/* Writes res to path (creating bench/results) and frees it. */
static inline int
bench_write_to(json_t *res, const char *bench, const char *path)
{
	int r;

	if (mkdir("bench/results", 0777) == -1 && errno != EEXIST)
		fprintf(stderr, "%s: mkdir bench/results: %s\n", bench, strerror(errno));
	r = json_dump_file(res, path, JSON_INDENT(2));
	if (r < 0)
		fprintf(stderr, "%s: cannot write %s\n", bench, path);
	else
		printf("wrote %s\n", path);
	json_decref(res);
	return r;
}

/* Writes bench/results/<bench>.json (from the repository root) and frees res. */
static inline int
bench_write(json_t *res, const char *bench)
{
	char path[256];

	snprintf(path, sizeof(path), "bench/results/%s.json", bench);
	return bench_write_to(res, bench, path);
}

/*
 * Like bench_write, keeping the rows of the file that res does not name (a benchmark
 * run at several sizes, one size a run, each size's rows named apart).
 */
static inline int
bench_write_merged(json_t *res, const char *bench)
{
	char path[256];
	json_t *old, *row;
	size_t i;

	snprintf(path, sizeof(path), "bench/results/%s.json", bench);
	if ((old = json_load_file(path, 0, NULL)) != NULL && json_is_array(old)) {
		json_array_foreach(old, i, row) {
			const char *name = json_string_value(json_object_get(row, "name"));
			json_t *r;
			size_t j;
			bool named = false;

			json_array_foreach(res, j, r)
				named |= name != NULL && strcmp(name,
				    json_string_value(json_object_get(r, "name"))) == 0;
			if (!named)
				json_array_append(res, row);
		}
	}
	json_decref(old);
	return bench_write_to(res, bench, path);
}

/* A binary of this build: $BUILD/bin/<name> (BUILD defaults to build). */
static inline const char *
bench_bin(const char *name)
{
	static char path[4][512];
	static int next;
	const char *b = getenv("BUILD");
	char *p = path[next++ % 4];

	snprintf(p, sizeof(path[0]), "%s/bin/%s", b ? b : "build", name);
	return p;
}

/* Start argv with stderr (and stdout) to logfile; the pid, or exit. */
static inline pid_t
bench_spawn(char *const argv[], const char *logfile)
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int r;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 2, logfile, O_WRONLY | O_CREAT | O_APPEND, 0644);
	posix_spawn_file_actions_adddup2(&fa, 2, 1);
	if ((r = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ)) != 0) {
		fprintf(stderr, "bench: cannot start %s: %s\n", argv[0], strerror(r));
		exit(1);
	}
	posix_spawn_file_actions_destroy(&fa);
	return pid;
}

static inline void
bench_stop(pid_t pid)
{
	if (pid <= 0)
		return;
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
}

/* A scratch directory under /tmp, removed by bench_rmdir. */
static inline char *
bench_tmpdir(const char *bench)
{
	static char dir[128];

	snprintf(dir, sizeof(dir), "/tmp/vpcfwd-bench-%s.XXXXXX", bench);
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		exit(1);
	}
	return dir;
}

static inline void
bench_rmdir(const char *dir)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "bench: cannot remove %s\n", dir);
}

#endif
