/* version: see version.h. The Makefile passes VPCFWD_VERSION to this object alone. */
#include "common/version.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef VPCFWD_VERSION
#define VPCFWD_VERSION "unknown"
#endif

const char vpcfwd_version[] = VPCFWD_VERSION;

void
version_exit_if_asked(int argc, char **argv, const char *prog)
{
	if (argc == 2 && strcmp(argv[1], "--version") == 0) {
		printf("%s %s\n", prog, vpcfwd_version);
		exit(0);
	}
}
