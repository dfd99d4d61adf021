/*
 * vpcfwd-exporter: every process's counters and gauges of this machine, and its rule
 * tables' and rings' occupancy, for Prometheus: GET /metrics answers a page in the text
 * exposition format (0.0.4), built at each request from the segments in /dev/shm read
 * read-only (collect.h). HTTP is libmicrohttpd's, one internal thread, so scrapes are
 * served one at a time; the main thread waits for SIGTERM or SIGINT and stops it.
 * docs/exporter.md explains the metrics.
 */
#include "collect.h"
#include "counters.h"
#include "expo.h"

#include "common/clock.h"
#include "common/log.h"
#include "common/version.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <microhttpd.h>
#include <netdb.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/*
 * Loopback by default: the counters describe the overlay (its nodes, its traffic), so
 * exposing them is the operator's choice (-l). Port 10469: Prometheus's list of exporter
 * ports (9100-9999) is full, so no free port is left there; this one lies outside it and
 * below Linux's ephemeral range, so an outgoing connection never holds it.
 */
#define EXP_ADDR_DEFAULT	"127.0.0.1:10469"
#define EXP_STALE_DEFAULT	5.0		/* s, as vpcfwd-supervise's heartbeat_timeout */
#define EXP_STALE_MAX		86400.0
#define EXP_CONN_MAX		32		/* a scraper or two, and a person with curl */
#define EXP_CONN_TIMEOUT_S	10

static const char *progname = "vpcfwd-exporter";

struct exporter {
	struct collect_params cp;
	struct exporter_counters c;	/* the MHD thread's alone */
};

static void
usage(FILE *f, bool full)
{
	fprintf(f, "usage: %s [-l address:port] [--stale-after seconds] [--log-level level] "
	    "[--log-format text|json]\n"
	    "       %s --version\n", progname, progname);
	if (!full)
		return;
	fprintf(f, "  -l, --listen address:port  serve GET /metrics there (default %s);\n"
	    "                             [v6addr]:port for IPv6, :port for every address\n"
	    "  --stale-after seconds      heartbeat age past which vpcfwd_up is 0 (default %g)\n"
	    "  --log-level level          error, warn, info (default) or debug\n"
	    "  --log-format text|json     a line of text (default) or one JSON object a line\n"
	    "  -h, --help                 this text\n", EXP_ADDR_DEFAULT, EXP_STALE_DEFAULT);
}

static void __attribute__((noreturn, format(printf, 1, 2)))
usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	usage(stderr, false);
	exit(2);
}

static enum MHD_Result
reply(struct MHD_Connection *conn, unsigned int status, char *body, size_t len,
    enum MHD_ResponseMemoryMode mode, const char *type)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(len, body, mode);
	enum MHD_Result r;

	if (resp == NULL) {
		if (mode == MHD_RESPMEM_MUST_FREE)
			free(body);
		return MHD_NO;	/* MHD closes the connection */
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	r = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return r;
}

static enum MHD_Result
reply_text(struct MHD_Connection *conn, unsigned int status, const char *text)
{
	return reply(conn, status, (char *)text, strlen(text), MHD_RESPMEM_PERSISTENT,
	    "text/plain; charset=utf-8");
}

/* The page's text: the segments', then our own counters with this page counted. */
static int
build_page(struct exporter *x, char **page, size_t *len, char *err, size_t errlen)
{
	struct expo *e = expo_new();
	int r;

	if (e == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if ((r = collect_page(e, &x->cp, &x->c, err, errlen)) == 0 &&
	    (r = collect_self(e, &x->c)) == 0 && (r = expo_render(e, page, len)) == 0)
		STATS_ADD(&x->c, samples_dropped, expo_dropped(e));
	else if (r == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	expo_free(e);
	return r;
}

static enum MHD_Result
serve_metrics(struct exporter *x, struct MHD_Connection *conn)
{
	static struct log_ratelimit rl = LOG_RATELIMIT_INIT(60000, 5);
	uint64_t t0 = clock_mono_ns(), dt;
	char err[256] = "", *page = NULL;
	size_t len = 0;
	int r;

	STATS_INC(&x->c, scrapes);
	r = build_page(x, &page, &len, err, sizeof(err));
	dt = clock_mono_ns() - t0;
	STATS_ADD(&x->c, scrape_ns, dt);
	STATS_SET(&x->c, last_scrape_ns, dt);
	if (r < 0) {
		STATS_INC(&x->c, scrape_errors);
		log_warnx_rl(&rl, "scrape failed: %s", err[0] ? err : strerror(-r));
		return reply_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR,
		    "scrape failed: see the exporter's log\n");
	}
	log_debug("page of %zu bytes in %llu us", len, (unsigned long long)(dt / 1000));
	return reply(conn, MHD_HTTP_OK, page, len, MHD_RESPMEM_MUST_FREE, EXPO_CONTENT_TYPE);
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
    const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	struct exporter *x = cls;

	(void)version;
	(void)upload_data;
	(void)upload_data_size;
	(void)con_cls;
	if (strcmp(url, "/metrics") != 0) {
		STATS_INC(&x->c, requests_refused);
		return reply_text(conn, MHD_HTTP_NOT_FOUND, "not found: try /metrics\n");
	}
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
		STATS_INC(&x->c, requests_refused);
		return reply_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n");
	}
	return serve_metrics(x, conn);
}

static void
on_mhd_error(void *cls, const char *fmt, va_list ap)
{
	static struct log_ratelimit rl = LOG_RATELIMIT_INIT(60000, 10);
	char msg[256];
	size_t n;

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	log_warnx_rl(&rl, "http: %s", msg);
}

/*
 * "host:port", "[v6]:port" or ":port" (every address) to a listening socket. Bound here,
 * not in libmicrohttpd, so a failure is one line naming the address. Exits on failure.
 */
static int
listen_on(const char *arg, int *family)
{
	const char *spec = arg;
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
	    .ai_flags = AI_PASSIVE | AI_NUMERICSERV }, *ai;
	char host[256];
	const char *port, *colon = strrchr(spec, ':');
	size_t hl;
	int fd, one = 1, r;

	if (colon == NULL || colon[1] == '\0')
		usage_error("-l %s: want address:port, e.g. %s", arg, EXP_ADDR_DEFAULT);
	port = colon + 1;
	hl = colon - spec;
	if (hl >= 2 && spec[0] == '[' && spec[hl - 1] == ']') {
		spec++;
		hl -= 2;
	}
	if (hl >= sizeof(host))
		usage_error("-l %s: address too long", arg);
	memcpy(host, spec, hl);
	host[hl] = '\0';
	if ((r = getaddrinfo(hl ? host : NULL, port, &hints, &ai)) != 0)
		fatalx("cannot listen on %s: %s", arg, gai_strerror(r));
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1)
		fatal("cannot listen on %s: socket", arg);
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1)
		fatal("cannot listen on %s: SO_REUSEADDR", arg);
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) == -1)
		fatal("cannot listen on %s: bind", arg);
	if (listen(fd, EXP_CONN_MAX) == -1)
		fatal("cannot listen on %s: listen", arg);
	*family = ai->ai_family;
	freeaddrinfo(ai);
	return fd;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "stale-after", required_argument, NULL, 's' },
		{ "log-level", required_argument, NULL, 'L' },
		{ "log-format", required_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct exporter x = { .cp.stale_ns = (uint64_t)(EXP_STALE_DEFAULT * 1e9) };
	const char *addr = EXP_ADDR_DEFAULT;
	struct MHD_Daemon *d;
	unsigned int flags;
	double stale;
	sigset_t set;
	char *end;
	int ch, fd, family, level = LOG_LVL_INFO, format = LOG_FMT_TEXT, sig;

	version_exit_if_asked(argc, argv, progname);
	while ((ch = getopt_long(argc, argv, "hl:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'h':
			usage(stdout, true);
			return 0;
		case 'l':
			addr = optarg;
			break;
		case 's':
			errno = 0;
			stale = strtod(optarg, &end);
			if (errno || end == optarg || *end != '\0' || !isfinite(stale) ||
			    stale < 0.001 || stale > EXP_STALE_MAX)
				usage_error("--stale-after %s: want seconds, 0.001 to %g", optarg,
				    EXP_STALE_MAX);
			x.cp.stale_ns = (uint64_t)llround(stale * 1e9);
			break;
		case 'L':
			if ((level = log_level_parse(optarg)) < 0)
				usage_error("--log-level %s: want error, warn, info or debug",
				    optarg);
			break;
		case 'F':
			if ((format = log_format_parse(optarg)) < 0)
				usage_error("--log-format %s: want text or json", optarg);
			break;
		default:
			usage(stderr, false);
			return 2;
		}
	}
	if (optind < argc)
		usage_error("unexpected argument %s", argv[optind]);
	log_init(progname, level);
	log_set_format(format);

	/* Before the HTTP thread starts, so that it inherits the mask: the signals come here. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &set, NULL) == -1)
		fatal("sigprocmask");
	signal(SIGPIPE, SIG_IGN);	/* a scraper that hangs up mid-page */

	fd = listen_on(addr, &family);
	flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
	if (family == AF_INET6)
		flags |= MHD_USE_IPv6;
	d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, &x,
	    MHD_OPTION_EXTERNAL_LOGGER, on_mhd_error, NULL,
	    MHD_OPTION_LISTEN_SOCKET, fd,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned int)EXP_CONN_MAX,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)EXP_CONN_TIMEOUT_S,
	    MHD_OPTION_END);
	if (d == NULL)
		fatalx("cannot serve HTTP on %s (libmicrohttpd refused to start)", addr);
	log_info("serving /metrics on %s", addr);

	while (sigwait(&set, &sig) != 0)
		;
	log_info("stopping on %s", strsignal(sig));
	MHD_stop_daemon(d);
	close(fd);
	return 0;
}
