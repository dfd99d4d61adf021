/*
 * proc: see proc.h.
 */
#include "common/proc.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *
proc_stat_fields(pid_t pid, char *buf, size_t len)
{
	char path[64], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return NULL;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	/* comm (field 2) may hold spaces and parentheses: the fields follow the last ')'. */
	if ((p = strrchr(buf, ')')) == NULL || p[1] != ' ')
		return NULL;
	return p + 2;
}

uint64_t
proc_start_ticks(pid_t pid)
{
	char buf[1024];
	const char *p = proc_stat_fields(pid, buf, sizeof(buf));

	if (p == NULL)
		return 0;
	p--;	/* at the space before field 3 */
	/* fields 3..22: starttime is the 20th field after comm */
	for (int field = 3; field < 22; field++) {
		p = strchr(p + 1, ' ');
		if (p == NULL)
			return 0;
	}
	return strtoull(p + 1, NULL, 10);
}

bool
proc_alive(pid_t pid, uint64_t start_ticks)
{
	uint64_t now;

	if (pid <= 0)
		return false;
	now = proc_start_ticks(pid);
	return now != 0 && (start_ticks == 0 || now == start_ticks);
}
