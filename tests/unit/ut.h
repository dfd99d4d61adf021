/*
 * ut: helpers the unit tests share. Each test runs in its own process (Criterion), and
 * uses the node name "ut<pid>" so its segments never collide with a test running in
 * parallel or with a real node. ut_fini() (the suites' .fini) kills the children a test
 * started and removes every segment of that node, so a failed assertion leaves nothing
 * behind in /dev/shm.
 *
 * Children report to the parent only through their exit code: an assertion in a child
 * would be reported by Criterion as a second run of the test.
 */
#ifndef TESTS_UNIT_UT_H
#define TESTS_UNIT_UT_H

#include "shm/seg.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define UT_CHILDREN_MAX	8

static char ut_node_name[SEG_PART_MAX + 1];
static pid_t ut_children[UT_CHILDREN_MAX];
static int ut_ready_fd = -1;

/* Suite .init: fix the node name before any fork, so children use the parent's. */
static inline void
ut_init(void)
{
	snprintf(ut_node_name, sizeof(ut_node_name), "ut%d", (int)getpid());
}

static inline const char *
ut_node(void)
{
	return ut_node_name;
}

/* "vpcfwd.ut<pid>.<proc>.<what>" */
static inline const char *
ut_segname(char *buf, size_t len, const char *proc, const char *what)
{
	snprintf(buf, len, SEG_PREFIX "%s.%s.%s", ut_node_name, proc, what);
	return buf;
}

static inline void
ut_forget(pid_t pid)
{
	for (int i = 0; i < UT_CHILDREN_MAX; i++)
		if (ut_children[i] == pid)
			ut_children[i] = 0;
}

/* SIGKILL a child and reap it. */
static inline void
ut_kill(pid_t pid)
{
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) == -1 && errno == EINTR)
		;
	ut_forget(pid);
}

/* Wait for a child: its exit code, or 128 + signal when a signal ended it. */
static inline int
ut_wait(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) == -1)
		if (errno != EINTR)
			return -1;
	ut_forget(pid);
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	return 128 + WTERMSIG(st);
}

/* In a child: tell the parent that it may go on (ut_spawn returns). */
static inline void
ut_ready(void)
{
	if (ut_ready_fd >= 0) {
		(void)!write(ut_ready_fd, "r", 1);
		close(ut_ready_fd);
		ut_ready_fd = -1;
	}
}

/*
 * Run fn(arg) in a child that exits with its return value. Returns the child's pid once
 * the child called ut_ready() or exited, -1 when fork failed.
 */
static inline pid_t
ut_spawn(int (*fn)(void *), void *arg)
{
	int p[2];
	pid_t pid;
	char c;

	if (pipe(p) == -1)
		return -1;
	pid = fork();
	if (pid == -1) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		close(p[0]);
		ut_ready_fd = p[1];
		_exit(fn(arg));
	}
	close(p[1]);
	for (int i = 0; i < UT_CHILDREN_MAX; i++)
		if (ut_children[i] == 0) {
			ut_children[i] = pid;
			break;
		}
	while (read(p[0], &c, 1) == -1 && errno == EINTR)
		;
	close(p[0]);
	return pid;
}

/* Suite .fini: runs after a failed assertion too. */
static inline void
ut_fini(void)
{
	char prefix[SEG_NAME_MAX];
	struct dirent *de;
	DIR *d;
	size_t n;

	for (int i = 0; i < UT_CHILDREN_MAX; i++)
		if (ut_children[i] > 0)
			ut_kill(ut_children[i]);
	n = (size_t)snprintf(prefix, sizeof(prefix), SEG_PREFIX "%s.", ut_node_name);
	if ((d = opendir(SEG_DIR)) == NULL)
		return;
	while ((de = readdir(d)) != NULL)
		if (strncmp(de->d_name, prefix, n) == 0)
			seg_unlink_name(de->d_name);
	closedir(d);
}

#endif
