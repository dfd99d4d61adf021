/*
 * daemon: what every vpcfwd process's main does the same way: the command line
 * (`vpcfwd-<proc> [-n] -c FILE`), logging, loading the node's file with its common
 * settings, -n (check the file and exit), and the signals that stop the loop.
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

#endif
