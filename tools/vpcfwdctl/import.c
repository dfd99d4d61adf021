/*
 * vpcfwdctl import and delete: VMs from a file (impfile.h) into the controller with
 * vm.import, or out of it with vm.delete's "names" (delete), a batch at a time:
 * --batch VMs (10000 by default), fewer when the request would pass the API's 16 MiB.
 * The controller imports (deletes) a batch whole or not at all, and a batch is sent
 * only once the one before it succeeded, so an import that stops leaves exactly the
 * VMs of the batches before; the message says how many. While the controller
 * works on one batch the next is read and checked.
 *
 * A line is named as FILE:LINE in every error: a bad line found here, or the element
 * the controller names by its index in the batch ("index" in the error response, or
 * a message starting "vms[N]" or "names[N]"), mapped back through the batch's lines.
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

#define PROGRESS_NS	100000000u	/* refresh the progress line at most this often */

/* What a run sends: import's VMs, or delete's names. */
struct imp_kind {
	const char *op;
	const char *key;	/* the request's array, and the prefix of an element's error */
	const char *done;	/* the response's count, and the past tense in messages */
	const char *verb;	/* the run in messages */
};

static const struct imp_kind kind_import = { "vm.import", "vms", "imported", "import" };
static const struct imp_kind kind_delete = { "vm.delete", "names", "deleted", "delete" };

/*
 * One vm.import request as it is sent: its text, made by jansson (nothing here writes
 * JSON), and the file line of each of its VMs.
 */
struct batch {
	char *buf;		/* the request as compact JSON, a frame's payload */
	size_t len, cap;
	uint64_t *lines;
	size_t n;
};

struct imp {
	struct ctl *c;
	const struct imp_kind *k;
	const char *name;	/* the file in messages: its path, or "stdin" */
	struct impfile file;
	size_t batch_max;
	bool eof;
	bool bad;		/* file.line and file.err hold a bad line */
	/*
	 * The request being filled, {"op": "vm.import", "vms": [...]}: its VMs live only
	 * until it is made text, so one batch's objects are in memory at a time.
	 */
	json_t *req;
	json_t *vms;		/* req's "vms" (req holds the reference) */
	json_t *held;		/* VMs cut from the last batch to keep it in one frame */
	uint64_t *held_lines;
	uint64_t imported;	/* or deleted */
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

/* json_dump_callback's: append jansson's text to the batch's buffer. */
static int
batch_put(const char *s, size_t len, void *arg)
{
	struct batch *b = arg;

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
	return 0;
}

static void
batch_encode(struct imp *imp, struct batch *b)
{
	b->len = 0;
	if (json_dump_callback(imp->req, batch_put, b, JSON_COMPACT) < 0)
		nomem();
}

static void
batch_add(struct imp *imp, struct batch *b, json_t *vm, uint64_t line)
{
	if (json_array_append_new(imp->vms, vm) < 0)
		nomem();
	b->lines[b->n++] = line;
}

/*
 * A batch's text larger than a frame (only with a large --batch and long values): the
 * VMs past the share that fits are held for the next batch, and the text made again.
 * The share is proportional to the sizes, so one or two rounds do; each round holds back
 * at least one VM, and one VM alone always fits.
 */
static void
batch_cut(struct imp *imp, struct batch *b)
{
	while (b->len > WIRE_JSON_MAX && b->n > 1) {
		size_t keep = (size_t)((double)b->n * WIRE_JSON_MAX / (double)b->len);
		size_t h = json_array_size(imp->held);
		json_t *cut = json_array();

		if (cut == NULL)
			nomem();
		if (keep >= b->n)
			keep = b->n - 1;
		if (keep == 0)
			keep = 1;
		/* Held in file order: what this round cuts comes before what the last held. */
		memmove(imp->held_lines + (b->n - keep), imp->held_lines,
		    h * sizeof(*imp->held_lines));
		for (size_t i = keep; i < b->n; i++) {
			imp->held_lines[i - keep] = b->lines[i];
			if (json_array_append(cut, json_array_get(imp->vms, i)) < 0)
				nomem();
		}
		if (json_array_extend(cut, imp->held) < 0)
			nomem();
		json_decref(imp->held);
		imp->held = cut;
		while (b->n > keep)
			json_array_remove(imp->vms, --b->n);
		batch_encode(imp, b);
	}
}

/* The next batch from the file: empty at its end, or when a bad line was met. */
static void
fill(struct imp *imp, struct batch *b)
{
	if (b->lines == NULL && (b->lines = calloc(imp->batch_max, sizeof(*b->lines))) == NULL)
		nomem();
	b->n = 0;
	for (size_t i = 0; i < json_array_size(imp->held); i++)
		batch_add(imp, b, json_incref(json_array_get(imp->held, i)), imp->held_lines[i]);
	json_array_clear(imp->held);
	while (!imp->eof && !imp->bad && b->n < imp->batch_max) {
		json_t *vm;
		int r = impfile_next(&imp->file, &vm);

		if (r <= 0) {
			imp->eof = r == 0;
			imp->bad = r < 0;
			break;
		}
		if (imp->k == &kind_delete) {
			json_t *name = json_incref(json_object_get(vm, "name"));

			json_decref(vm);
			vm = name;
		}
		batch_add(imp, b, vm, imp->file.line);
	}
	batch_encode(imp, b);
	batch_cut(imp, b);
	json_array_clear(imp->vms);
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
		fprintf(stderr, "\r%s %llu/%llu VMs (%.0f/s)\033[K", imp->k->done,
		    (unsigned long long)imp->imported, (unsigned long long)imp->total,
		    rate(imp));
	else
		fprintf(stderr, "\r%s %llu VMs (%.0f/s)\033[K", imp->k->done,
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
		snprintf(done, sizeof(done), "%llu VMs %s before this batch",
		    (unsigned long long)imp->imported, imp->k->done);
	else
		snprintf(done, sizeof(done), "nothing %s", imp->k->done);
	progress_clear(imp);
	ctl_fail(status, "%s (%s stopped; %s)", msg, imp->k->verb, done);
}

static void __attribute__((noreturn))
stop_bad_line(struct imp *imp)
{
	stop(imp, CTL_EXIT_ERROR, "%s:%llu: %s", imp->name,
	    (unsigned long long)imp->file.line, imp->file.err);
}

/*
 * The element a vm.import (vm.delete) error names: the response's "index", else the
 * "vms[N]" ("names[N]") that starts its message. *msg is moved past it and what
 * separates it from the rest (": ", "." or " "), since FILE:LINE now says where. -1
 * when none is named.
 */
static long long
error_index(const struct imp_kind *k, json_t *resp, const char **msg)
{
	json_t *ji = json_object_get(resp, "index");
	long long idx = json_is_integer(ji) ? json_integer_value(ji) : -1;
	const char *s = *msg, *p;
	size_t kl = strlen(k->key);
	long long n = 0;

	if (strncmp(s, k->key, kl) != 0 || s[kl] != '[')
		return idx;
	for (p = s + kl + 1; *p >= '0' && *p <= '9' && n < 1000000000; p++)
		n = n * 10 + (*p - '0');
	if (p == s + kl + 1 || *p != ']')
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
	long long idx = error_index(imp->k, resp, &msg);

	if (idx >= 0 && (size_t)idx < b->n)
		stop(imp, CTL_EXIT_ERROR, "%s:%llu: %s", imp->name,
		    (unsigned long long)b->lines[idx], msg);
	stop(imp, CTL_EXIT_ERROR, "%s: lines %llu-%llu: %s", imp->name,
	    (unsigned long long)b->lines[0], (unsigned long long)b->lines[b->n - 1], msg);
}

/*
 * The connection broke, or the controller did not answer within the timeout (which
 * bounds each batch's wait, not the import): batch b may or may not be committed.
 */
static void __attribute__((noreturn))
stop_lost(struct imp *imp, const struct batch *b, int r)
{
	char why[256];

	progress_clear(imp);
	ctl_fail(CTL_EXIT_UNREACHABLE, "%s (%s stopped after %llu VMs; whether %s lines "
	    "%llu-%llu were %s is unknown)", client_lost(imp->c, r, why, sizeof(why)),
	    imp->k->verb, (unsigned long long)imp->imported, imp->name,
	    (unsigned long long)b->lines[0], (unsigned long long)b->lines[b->n - 1],
	    imp->k->done);
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
	n = json_object_get(resp, imp->k->done);
	imp->imported += json_is_integer(n) && json_integer_value(n) >= 0 ?
	    (uint64_t)json_integer_value(n) : b->n;
	json_decref(resp);
}

/*
 * The controller refuses a batch that a connected gateway has no room for, so an import
 * too large for the smallest one would stop part way. Ask first and import nothing
 * then. From a pipe (the count unknown) the batches are refused as they come.
 */
static void
room_check(struct imp *imp)
{
	json_t *resp, *gws, *g;
	const char *least = NULL;
	json_int_t room = 0;
	size_t i;

	if (imp->total == 0)
		return;
	resp = client_call(imp->c, json_pack("{s:s}", "op", "gateway.list"));
	gws = json_object_get(resp, "gateways");
	json_array_foreach(gws, i, g) {
		json_t *r = json_object_get(g, "room");

		if (json_is_integer(r) && (least == NULL || json_integer_value(r) < room)) {
			least = json_string_value(json_object_get(g, "node"));
			room = json_integer_value(r);
		}
	}
	if (least && imp->total > (uint64_t)room) {
		char node[64];

		ctl_fail(CTL_EXIT_ERROR, "import would need %llu more rules; gateway %s has "
		    "room for %lld (nothing imported)", (unsigned long long)imp->total,
		    ctl_oneline(node, sizeof(node), least), (long long)room);
	}
	json_decref(resp);
}

/* VMs in a regular file, for the room check and the progress line: non-blank lines. */
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

/* import or delete (k) of the file a->pos[0] */
static int
file_run(struct ctl *c, const struct ctl_args *a, const struct imp_kind *k)
{
	const char *path = a->pos[0];
	struct imp imp = { .c = c, .k = k, .batch_max = CTL_BATCH_DEFAULT,
	    .held = json_array() };
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
	/* A regular file is counted first: for progress, and to ask the gateways for room. */
	if (!is_stdin && fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode))
		imp.total = count_vms(path);
	imp.req = json_pack("{s:s, s:[]}", "op", k->op, k->key);
	imp.vms = json_object_get(imp.req, k->key);
	if (imp.vms == NULL || imp.held == NULL ||
	    (imp.held_lines = calloc(imp.batch_max, sizeof(*imp.held_lines))) == NULL)
		nomem();
	if (k == &kind_delete)
		impfile_init_names(&imp.file, f);
	else
		impfile_init(&imp.file, f);
	imp.start_ns = clock_mono_ns();

	fill(&imp, &b[0]);
	if (imp.file.format == IMPFILE_CSV && imp.total)
		imp.total--;	/* the header */
	if (imp.bad)
		stop_bad_line(&imp);
	if (b[0].n) {
		client_connect(c);
		/* Deletes only make room. */
		if (k == &kind_import)
			room_check(&imp);
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
		json_print(stdout, json_checked(json_pack("{s:I, s:I, s:I}", k->done,
		    (json_int_t)imp.imported, "elapsed_ms", (json_int_t)llround(secs * 1e3),
		    "per_second", (json_int_t)llround(per_s))));
	else
		printf("%s %llu VMs in %.1f s (%.0f/s)\n", k->done,
		    (unsigned long long)imp.imported, secs, per_s);
	impfile_fini(&imp.file);
	if (!is_stdin)
		fclose(f);
	for (int i = 0; i < 2; i++) {
		free(b[i].buf);
		free(b[i].lines);
	}
	json_decref(imp.req);
	json_decref(imp.held);
	free(imp.held_lines);
	return 0;
}

int
import_run(struct ctl *c, const struct ctl_args *a)
{
	return file_run(c, a, &kind_import);
}

int
delete_run(struct ctl *c, const struct ctl_args *a)
{
	return file_run(c, a, &kind_delete);
}
