/*
 * daemon: see daemon.h.
 */
#include "common/daemon.h"
#include "common/log.h"
#include "common/version.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

volatile sig_atomic_t daemon_stop;

/* The detached child's end of the pipe its launcher waits on; -1 when not detached. */
static int ready_fd = -1;

static void
on_signal(int sig)
{
	(void)sig;
	daemon_stop = 1;
}

static void __attribute__((noreturn))
usage(const char *proc)
{
	fprintf(stderr, "usage: vpcfwd-%s [-n | -d] -c FILE\n"
	    "       vpcfwd-%s --version\n", proc, proc);
	exit(2);
}

/*
 * The launcher: wait for the daemon's ready byte. Without it the daemon ended, and
 * its status (its error line already on our shared stderr) is ours.
 */
static void __attribute__((noreturn))
await_ready(const char *proc, pid_t child, int fd)
{
	char b;
	ssize_t n;
	int st;

	while ((n = read(fd, &b, 1)) < 0 && errno == EINTR)
		;
	if (n == 1)
		_exit(0);
	while (waitpid(child, &st, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(st) && WEXITSTATUS(st) != 0)
		_exit(WEXITSTATUS(st));
	fprintf(stderr, "vpcfwd-%s: the daemon ended before it was ready\n", proc);
	_exit(1);
}

static void
detach(const char *proc)
{
	int p[2];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		fatal("pipe");
	fflush(NULL);
	if ((pid = fork()) < 0)
		fatal("fork");
	if (pid > 0) {
		close(p[1]);
		await_ready(proc, pid, p[0]);
	}
	close(p[0]);
	ready_fd = p[1];
	if (setsid() < 0)
		fatal("setsid");
	log_to_syslog();
}

struct conf *
daemon_start(int argc, char **argv, const char *proc, struct conf_common *common,
    bool *check)
{
	const char *path = NULL;
	bool background = false;
	struct conf *c;
	int ch;

	*check = false;
	{
		char prog[64];

		snprintf(prog, sizeof(prog), "vpcfwd-%s", proc);
		version_exit_if_asked(argc, argv, prog);
	}
	while ((ch = getopt(argc, argv, "c:ndh")) != -1) {
		if (ch == 'c')
			path = optarg;
		else if (ch == 'n')
			*check = true;
		else if (ch == 'd')
			background = true;
		else
			usage(proc);
	}
	if (path == NULL || optind != argc || (*check && background))
		usage(proc);
	log_init(proc, LOG_LVL_INFO);
	if ((c = conf_load(path)) == NULL)
		fatalx("%s", conf_load_error());
	conf_read_common(c, common);
	/* From here on every line, -n's errors too, is in the node's format. */
	log_set_node(common->node);
	log_set_format(common->log_format);
	if (background)
		detach(proc);
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

/*
 * Under systemd (Type=notify, $NOTIFY_SOCKET set): READY=1 makes the unit active, so a
 * unit ordered After= this one starts only now. The variable is unset with it: nothing
 * this process runs later may speak for it. Outside systemd sd_notify does nothing.
 */
static void
notify_ready(void)
{
	int r;

	if ((r = sd_notify(1, "READY=1\nSTATUS=running")) < 0)
		log_warnx("telling systemd we are ready ($NOTIFY_SOCKET): %s", strerror(-r));
}

void
daemon_ready(void)
{
	int null;

	notify_ready();
	if (ready_fd < 0)
		return;
	log_info("started, logging to syslog from now on");
	if ((null = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0)
		fatal("/dev/null");
	/* Quiet first: the launcher exits on the byte and its terminal may go with it. */
	log_stderr_off();
	dup2(null, STDIN_FILENO);
	dup2(null, STDOUT_FILENO);
	dup2(null, STDERR_FILENO);
	if (null > STDERR_FILENO)
		close(null);
	(void)!write(ready_fd, "r", 1);
	close(ready_fd);
	ready_fd = -1;
}
