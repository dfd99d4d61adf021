/*
 * daemon: what every vpcfwd process's main does the same way: the command line
 * (`vpcfwd-<proc> [-n | -d] -c FILE`, or `--version` alone), logging, loading the
 * node's file with its common settings, -n (check the file and exit), -d (detach), and
 * the signals that stop the loop.
 *
 * -d forks before the process owns anything (segments, sockets, io_uring), so the
 * child is the daemon: a new session, logging to syslog as well as to the launcher's
 * stderr while it starts. The launcher waits and exits 0 only once the daemon calls
 * daemon_ready(), else with the daemon's exit status: a failed start is never hidden
 * behind a successful launch, and its error is printed where it was launched.
 */
#ifndef COMMON_DAEMON_H
#define COMMON_DAEMON_H

#include "common/conf.h"

#include <signal.h>
#include <stdbool.h>

/* Set by SIGTERM and SIGINT once daemon_signals() ran: the loop's stop flag. */
extern volatile sig_atomic_t daemon_stop;

/*
 * Parse the command line (exit 2 on bad usage), start logging as proc, load FILE and
 * its common settings (exit 1 with one line on a bad file). *check: -n was given.
 */
struct conf *daemon_start(int argc, char **argv, const char *proc,
    struct conf_common *common, bool *check);
/* For -n once every setting was read: say the file is fine, free it; returns 0. */
int daemon_check_done(struct conf *c);
/* SIGTERM and SIGINT set daemon_stop; SIGPIPE is ignored (a peer gone is an error). */
void daemon_signals(void);
/*
 * Everything is set up and the loop is next. Under systemd ($NOTIFY_SOCKET set, a
 * Type=notify unit): send READY=1. Detached (-d): tell the launcher, which exits 0,
 * and from now on log to syslog only (stdin, stdout, stderr become /dev/null).
 */
void daemon_ready(void);

#endif
