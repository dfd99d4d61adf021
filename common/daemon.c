/*
 * daemon: see daemon.h.
 */
#include "common/daemon.h"
#include "common/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

volatile sig_atomic_t daemon_stop;

static void
on_signal(int sig)
{
	(void)sig;
	daemon_stop = 1;
}

static void __attribute__((noreturn))
usage(const char *proc)
{
	fprintf(stderr, "usage: vpcfwd-%s [-n] -c FILE\n", proc);
	exit(2);
}

struct conf *
daemon_start(int argc, char **argv, const char *proc, struct conf_common *common,
    bool *check)
{
	const char *path = NULL;
	struct conf *c;
	int ch;

	*check = false;
	while ((ch = getopt(argc, argv, "c:nh")) != -1) {
		if (ch == 'c')
			path = optarg;
		else if (ch == 'n')
			*check = true;
		else
			usage(proc);
	}
	if (path == NULL || optind != argc)
		usage(proc);
	log_init(proc, LOG_LVL_INFO);
	if ((c = conf_load(path)) == NULL)
		fatalx("%s", conf_load_error());
	conf_read_common(c, common);
	return c;
}

int
daemon_check_done(struct conf *c)
{
	printf("%s: configuration ok\n", conf_path(c));
	conf_free(c);
	return 0;
}

void
daemon_signals(void)
{
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
}
