/*
 * vpcfwdctl import: VMs from a file (impfile.h) into the controller with vm.import, a
 * batch at a time: --batch VMs (10000 by default), fewer when the request would pass
 * the API's 16 MiB. The controller imports a batch whole or not at all, and a batch is
 * sent only once the one before it succeeded, so an import that stops leaves exactly
 * the VMs of the batches before; the message says how many. While the controller
 * works on one batch the next is read and checked.
 *
 * A line is named as FILE:LINE in every error: a bad line found here, or the element
 * the controller names by its index in the batch ("index" in the error response, or
 * a message starting "vms[N]"), mapped back through the batch's line numbers.
 * Progress is shown on stderr, refreshed in place, when stderr is a terminal; the
 * summary line goes to stdout.
 */
#include "tools/vpcfwdctl/ctl.h"
#include "tools/vpcfwdctl/impfile.h"

#include "common/clock.h"
#include "common/json.h"
#include "common/wire.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BATCH_HEAD	"{\"op\":\"vm.import\",\"vms\":["
#define BATCH_TAIL	"]}"
#define PROGRESS_NS	100000000u	/* refresh the progress line at most this often */

/* One vm.import request, built as text, and the file line of each of its VMs. */
struct batch {
	char *buf;
	size_t len, cap;
	uint64_t *lines;
	size_t n;
};

struct imp {
	struct ctl *c;
	const char *name;	/* the file in messages: its path, or "stdin" */
	struct impfile file;
	size_t batch_max;
	bool eof;
	bool bad;		/* file.line and file.err hold a bad line */
	char *held;		/* a VM that did not fit in the last batch */
	uint64_t held_line;
	uint64_t imported;
	uint64_t total;		/* VMs in the file, for progress; 0 when unknown */
	bool progress;
	bool shown;		/* a progress line is on the terminal */
	uint64_t start_ns, shown_ns;
};

static void
nomem(void)
{
	ctl_fail(CTL_EXIT_ERROR, "out of memory");
}

static void
batch_put(struct batch *b, const char *s, size_t len)
{
	if (b->len + len + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 1u << 16;

		while (cap < b->len + len + 1)
			cap *= 2;
		if ((b->buf = realloc(b->buf, cap)) == NULL)
			nomem();
		b->cap = cap;
	}
	memcpy(b->buf + b->len, s, len);
	b->len += len;
	b->buf[b->len] = '\0';
}

/* Room for a VM of len bytes, its comma and the tail, within one frame? */
static bool
batch_fits(const struct batch *b, size_t len)
{
	return b->len + 1 + len + strlen(BATCH_TAIL) <= WIRE_JSON_MAX;
}

static void
batch_add(struct imp *imp, struct batch *b, const char *vm, uint64_t line)
{
	if (b->lines == NULL && (b->lines = calloc(imp->batch_max, sizeof(*b->lines))) == NULL)
		nomem();
	if (b->n)
		batch_put(b, ",", 1);
	batch_put(b, vm, strlen(vm));
	b->lines[b->n++] = line;
}

/* The next batch from the file: empty at its end, or when a bad line was met. */
static void
fill(struct imp *imp, struct batch *b)
{
	b->len = b->n = 0;
	batch_put(b, BATCH_HEAD, strlen(BATCH_HEAD));
	if (imp->held) {
		batch_add(imp, b, imp->held, imp->held_line);
		free(imp->held);
		imp->held = NULL;
	}
	while (!imp->eof && !imp->bad && b->n < imp->batch_max) {
		json_t *vm;
		char *s;
		int r = impfile_next(&imp->file, &vm);

		if (r <= 0) {
			imp->eof = r == 0;
			imp->bad = r < 0;
			break;
		}
		s = json_dumps(vm, JSON_COMPACT);
		json_decref(vm);
		if (s == NULL)
			nomem();
		if (!batch_fits(b, strlen(s))) {
			imp->held = s;
			imp->held_line = imp->file.line;
			break;
		}
		batch_add(imp, b, s, imp->file.line);
		free(s);
	}
	batch_put(b, BATCH_TAIL, strlen(BATCH_TAIL));
}

static double
elapsed_s(const struct imp *imp)
{
	return (double)(clock_mono_ns() - imp->start_ns) / 1e9;
}

static double
rate(const struct imp *imp)
{
	double s = elapsed_s(imp);

	return s > 0 ? (double)imp->imported / s : 0;
}

static void
progress(struct imp *imp)
{
	uint64_t now = clock_mono_ns();

	if (!imp->progress || (imp->shown && now - imp->shown_ns < PROGRESS_NS))
		return;
	if (imp->total)
		fprintf(stderr, "\rimported %llu/%llu VMs (%.0f/s)\033[K",
		    (unsigned long long)imp->imported, (unsigned long long)imp->total,
		    rate(imp));
	else
		fprintf(stderr, "\rimported %llu VMs (%.0f/s)\033[K",
		    (unsigned long long)imp->imported, rate(imp));
	fflush(stderr);
	imp->shown = true;
	imp->shown_ns = now;
}

static void
progress_clear(struct imp *imp)
{
	if (imp->shown)
		fputs("\r\033[K", stderr);
	imp->shown = false;
}

/* Stop the import: where, why, and how many VMs the earlier batches imported. */
static void __attribute__((noreturn, format(printf, 3, 4)))
stop(struct imp *imp, int status, const char *fmt, ...)
{
	char msg[1024], done[96];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (imp->imported)
		snprintf(done, sizeof(done), "%llu VMs imported before this batch",
		    (unsigned long long)imp->imported);
	else
		snprintf(done, sizeof(done), "nothing imported");
	progress_clear(imp);
	ctl_fail(status, "%s (import stopped; %s)", msg, done);
}

static void __attribute__((noreturn))
stop_bad_line(struct imp *imp)
{
	stop(imp, CTL_EXIT_ERROR, "%s:%llu: %s", imp->name,
	    (unsigned long long)imp->file.line, imp->file.err);
}

/*
 * The element a vm.import error names: the response's "index", else the "vms[N]"
 * that starts its message. *msg is moved past "vms[N]" and what separates it from the
 * rest (": ", "." or " "), since FILE:LINE now says where. -1 when none is named.
 */
static long long
error_index(json_t *resp, const char **msg)
{
	json_t *ji = json_object_get(resp, "index");
	long long idx = json_is_integer(ji) ? json_integer_value(ji) : -1;
	const char *s = *msg, *p;
	long long n = 0;

	if (strncmp(s, "vms[", 4) != 0)
		return idx;
	for (p = s + 4; *p >= '0' && *p <= '9' && n < 1000000000; p++)
		n = n * 10 + (*p - '0');
	if (p == s + 4 || *p != ']')
		return idx;
	p++;
	if (*p == ':' || *p == '.')
		p++;
	while (*p == ' ')
		p++;
	if (*p)
		*msg = p;
	return idx >= 0 ? idx : n;
}

static void __attribute__((noreturn))
stop_refused(struct imp *imp, const struct batch *b, json_t *resp)
{
	char buf[1024];
	const char *msg = client_error(resp, buf, sizeof(buf));
	long long idx = error_index(resp, &msg);

	if (idx >= 0 && (size_t)idx < b->n)
		stop(imp, CTL_EXIT_ERROR, "%s:%llu: %s", imp->name,
		    (unsigned long long)b->lines[idx], msg);
	stop(imp, CTL_EXIT_ERROR, "%s: lines %llu-%llu: %s", imp->name,
	    (unsigned long long)b->lines[0], (unsigned long long)b->lines[b->n - 1], msg);
}

static void __attribute__((noreturn))
stop_lost(struct imp *imp, const struct batch *b, int r)
{
	char path[128];

	progress_clear(imp);
	ctl_fail(CTL_EXIT_UNREACHABLE, "lost the connection to %s: %s (import stopped "
	    "after %llu VMs; whether %s lines %llu-%llu were imported is unknown)",
	    ctl_oneline(path, sizeof(path), imp->c->socket),
	    r == -ECONNRESET ? "closed by the controller" : strerror(-r),
	    (unsigned long long)imp->imported, imp->name, (unsigned long long)b->lines[0],
	    (unsigned long long)b->lines[b->n - 1]);
}

static void
send_batch(struct imp *imp, const struct batch *b)
{
	int r = client_send(imp->c, b->buf, b->len);

	if (r < 0)
		stop_lost(imp, b, r);
}

/* The controller's answer to batch b; stops the import unless it says ok. */
static void
recv_batch(struct imp *imp, const struct batch *b)
{
	const char *why;
	json_t *resp, *n;
	int r = client_recv(imp->c, &resp, &why);

	if (r == -EBADMSG)
		stop(imp, CTL_EXIT_ERROR, "%s: lines %llu-%llu: bad response from the "
		    "controller: %s", imp->name, (unsigned long long)b->lines[0],
		    (unsigned long long)b->lines[b->n - 1], why);
	if (r == -EMSGSIZE)
		stop(imp, CTL_EXIT_ERROR, "bad response from the controller: larger than the "
		    "API's %u bytes", WIRE_JSON_MAX);
	if (r < 0)
		stop_lost(imp, b, r);
	if (!json_is_true(json_object_get(resp, "ok")))
		stop_refused(imp, b, resp);
	n = json_object_get(resp, "imported");
	imp->imported += json_is_integer(n) && json_integer_value(n) >= 0 ?
	    (uint64_t)json_integer_value(n) : b->n;
	json_decref(resp);
}

/* VMs in a regular file, for the progress line: lines that are not blank. */
static uint64_t
count_vms(const char *path)
{
	static char buf[1 << 16];
	uint64_t n = 0;
	bool text = false;
	size_t got;
	FILE *f = fopen(path, "r");

	if (f == NULL)
		return 0;
	while ((got = fread(buf, 1, sizeof(buf), f)) > 0)
		for (size_t i = 0; i < got; i++) {
			if (buf[i] == '\n') {
				n += text;
				text = false;
			} else if (buf[i] != ' ' && buf[i] != '\t' && buf[i] != '\r')
				text = true;
		}
	fclose(f);
	return n + text;
}

int
import_run(struct ctl *c, const struct ctl_args *a)
{
	const char *path = a->pos[0];
	struct imp imp = { .c = c, .batch_max = CTL_BATCH_DEFAULT };
	struct batch b[2] = { { 0 } };
	bool is_stdin = strcmp(path, "-") == 0;
	struct stat st;
	char shown[128];
	double secs, per_s;
	FILE *f;
	int cur;

	if (a->opt[CTL_O_BATCH])
		imp.batch_max = (size_t)cmd_check(ctl_opts[CTL_O_BATCH].key, CTL_V_BATCH,
		    a->opt[CTL_O_BATCH]);
	imp.name = is_stdin ? "stdin" : ctl_oneline(shown, sizeof(shown), path);
	if ((f = is_stdin ? stdin : fopen(path, "r")) == NULL)
		ctl_fail(CTL_EXIT_ERROR, "cannot open %s: %s", imp.name, strerror(errno));
	imp.progress = isatty(STDERR_FILENO);
	if (imp.progress && !is_stdin && fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode))
		imp.total = count_vms(path);
	impfile_init(&imp.file, f);
	imp.start_ns = clock_mono_ns();

	fill(&imp, &b[0]);
	if (imp.file.format == IMPFILE_CSV && imp.total)
		imp.total--;	/* the header */
	if (imp.bad)
		stop_bad_line(&imp);
	if (b[0].n) {
		client_connect(c);
		send_batch(&imp, &b[0]);
	}
	for (cur = 0; b[cur].n; cur ^= 1) {
		struct batch *sent = &b[cur], *next = &b[cur ^ 1];

		fill(&imp, next);	/* while the controller works on sent */
		recv_batch(&imp, sent);
		progress(&imp);
		if (imp.bad)
			stop_bad_line(&imp);
		if (next->n)
			send_batch(&imp, next);
	}

	secs = elapsed_s(&imp);
	per_s = secs > 0 ? (double)imp.imported / secs : 0;
	progress_clear(&imp);
	if (c->json)
		json_print(stdout, json_checked(json_pack("{s:I, s:I, s:I}", "imported",
		    (json_int_t)imp.imported, "elapsed_ms", (json_int_t)llround(secs * 1e3),
		    "per_second", (json_int_t)llround(per_s))));
	else
		printf("imported %llu VMs in %.1f s (%.0f/s)\n",
		    (unsigned long long)imp.imported, secs, per_s);
	impfile_fini(&imp.file);
	if (!is_stdin)
		fclose(f);
	for (int i = 0; i < 2; i++) {
		free(b[i].buf);
		free(b[i].lines);
	}
	return 0;
}
