// SPDX-License-Identifier: Apache-2.0
/* /proc file reading and /proc/PID/maps parsing; see proc_maps.h. */
#include "proc_maps.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

char *proc_read_file(const char *path, size_t max_bytes, size_t *len)
{
	size_t cap = 64 * 1024, n = 0;
	char *buf;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	buf = malloc(cap);
	if (!buf)
		goto fail;
	for (;;) {
		ssize_t r;

		if (n + 1 >= cap) {
			char *fresh;

			if (cap >= max_bytes) {
				errno = EFBIG;
				goto fail;
			}
			cap *= 2;
			fresh = realloc(buf, cap);
			if (!fresh)
				goto fail;
			buf = fresh;
		}
		r = read(fd, buf + n, cap - 1 - n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
fail:
	{
		int err = errno;

		free(buf);
		close(fd);
		errno = err;
	}
	return NULL;
}

/* Parse a hex number ending at a given delimiter; advance *p past it. */
static int parse_hex(char **p, char delim, uint64_t *out)
{
	char *end;

	if (!**p || **p == ' ')
		return -1;
	errno = 0;
	*out = strtoull(*p, &end, 16);
	if (errno || end == *p || *end != delim)
		return -1;
	*p = end + 1;
	return 0;
}

int proc_map_parse_line(char *line, struct proc_map *m)
{
	char *p = line, *path;
	uint64_t major, minor;
	size_t len;

	memset(m, 0, sizeof(*m));
	if (parse_hex(&p, '-', &m->start) || parse_hex(&p, ' ', &m->end) || m->end <= m->start)
		return -1;
	/* perms: exactly "rwxp"-style, four characters */
	if (strlen(p) < 5 || p[4] != ' ')
		return -1;
	m->exec = p[2] == 'x';
	p += 5;
	if (parse_hex(&p, ' ', &m->pgoff) || parse_hex(&p, ':', &major) ||
	    parse_hex(&p, ' ', &minor) || major > UINT32_MAX || minor > UINT32_MAX)
		return -1;
	m->dev_major = (uint32_t)major;
	m->dev_minor = (uint32_t)minor;
	/* inode is decimal and ends the fixed fields */
	{
		char *end;

		errno = 0;
		m->inode = strtoull(p, &end, 10);
		if (errno || end == p || (*end != ' ' && *end != '\0' && *end != '\n'))
			return -1;
		p = end;
	}
	while (*p == ' ')
		p++;
	path = p;
	len = strcspn(path, "\n");
	path[len] = '\0';
	/* The kernel appends " (deleted)" to unlinked files (paths may hold spaces). */
	if (len > 10 && strcmp(path + len - 10, " (deleted)") == 0) {
		path[len - 10] = '\0';
		m->deleted = true;
	}
	m->path = path;
	return 0;
}

long proc_maps_parse(char *text, struct proc_map **maps, size_t *bad)
{
	size_t n = 0, cap = 0;
	struct proc_map *arr = NULL;
	char *line = text;

	*bad = 0;
	while (line && *line) {
		char *next = strchr(line, '\n');
		struct proc_map m;

		if (next)
			*next++ = '\0';
		if (proc_map_parse_line(line, &m)) {
			(*bad)++;
		} else {
			if (n == cap) {
				size_t c = cap ? cap * 2 : 64;
				struct proc_map *fresh = realloc(arr, c * sizeof(*arr));

				if (!fresh) {
					free(arr);
					errno = ENOMEM;
					return -1;
				}
				arr = fresh;
				cap = c;
			}
			arr[n++] = m;
		}
		line = next;
	}
	*maps = arr;
	return (long)n;
}
