/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Files for fake /proc and cgroup trees under a test's temporary
 * directory, and the directory's removal. Include after cmocka.h: a file that cannot be written fails
 * the test.
 */
#ifndef WAKEFLOW_TEST_FAKE_FS_H
#define WAKEFLOW_TEST_FAKE_FS_H

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* mkdir -p (0755). */
static inline void mkdir_p(const char *path)
{
	char tmp[PATH_MAX];

	if (snprintf(tmp, sizeof(tmp), "%s", path) >= (int)sizeof(tmp))
		return;
	for (char *p = tmp + 1; *p; p++) {
		if (*p == '/') {
			*p = '\0';
			mkdir(tmp, 0755);
			*p = '/';
		}
	}
	mkdir(tmp, 0755);
}

/* root/rel holds exactly data (its directories are made). */
static inline void write_file(const char *root, const char *rel, const char *data, size_t len)
{
	char path[PATH_MAX], dir[PATH_MAX];
	FILE *f;

	assert_true(snprintf(path, sizeof(path), "%s/%s", root, rel) < (int)sizeof(path));
	assert_true(snprintf(dir, sizeof(dir), "%s", path) < (int)sizeof(dir));
	*strrchr(dir, '/') = '\0';
	mkdir_p(dir);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
}

/* rm -rf dir: a test's temporary tree, at teardown. */
static inline void rm_tree(const char *dir)
{
	char cmd[PATH_MAX + 16];

	assert_true(snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir) < (int)sizeof(cmd));
	assert_int_equal(system(cmd), 0);
}

static inline void write_str(const char *root, const char *rel, const char *s)
{
	write_file(root, rel, s, strlen(s));
}

#endif
