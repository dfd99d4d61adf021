/*
 * version: the project's version, the Makefile's VERSION (the Debian package's), for
 * every program's `--version`.
 */
#ifndef COMMON_VERSION_H
#define COMMON_VERSION_H

extern const char vpcfwd_version[];

/*
 * `PROG --version`, alone on the command line: print "PROG VERSION" on stdout and exit
 * 0. Anything else returns, for the program's own parsing. Called first in main.
 */
void version_exit_if_asked(int argc, char **argv, const char *prog);

#endif
