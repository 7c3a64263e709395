// SPDX-License-Identifier: Apache-2.0
/* Target selection for the live capture; see targets.h. */
#include "targets.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct wf_targets {
	char proc_root[256];
	int32_t pids[CAPTURE_MAX_PIDS];
	int npids;
	regex_t re[CAPTURE_MAX_COMMS];
	char *re_src[CAPTURE_MAX_COMMS];
	int nre;
};

void targets_free(struct wf_targets *t)
{
	if (!t)
		return;
	for (int i = 0; i < t->nre; i++) {
		regfree(&t->re[i]);
		free(t->re_src[i]);
	}
	free(t);
}

static bool pid_exists(const char *proc_root, int32_t pid)
{
	char path[320];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%d/stat", proc_root, pid);
	f = fopen(path, "r");
	if (!f)
		return false;
	fclose(f);
	return true;
}

struct wf_targets *targets_new(const char *proc_root, const int32_t *pids, int npids, const char *const *regex,
			    int nregex, char *err, size_t errlen)
{
	struct wf_targets *t;

	if (npids < 0 || npids > CAPTURE_MAX_PIDS || nregex < 0 || nregex > CAPTURE_MAX_COMMS) {
		snprintf(err, errlen, "too many targets (at most %d --pid and %d --comm)", CAPTURE_MAX_PIDS,
			 CAPTURE_MAX_COMMS);
		return NULL;
	}
	if (npids + nregex == 0) {
		snprintf(err, errlen, "nothing to trace: give --pid PID or --comm REGEX");
		return NULL;
	}
	t = calloc(1, sizeof(*t));
	if (!t) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (!proc_root)
		proc_root = "/proc";
	if ((size_t)snprintf(t->proc_root, sizeof(t->proc_root), "%s", proc_root) >= sizeof(t->proc_root)) {
		snprintf(err, errlen, "proc root path too long: %s", proc_root);
		targets_free(t);
		return NULL;
	}
	for (int i = 0; i < npids; i++) {
		if (pids[i] <= 0 || !pid_exists(t->proc_root, pids[i])) {
			snprintf(err, errlen, "no such process: %d", pids[i]);
			targets_free(t);
			return NULL;
		}
		t->pids[t->npids++] = pids[i];
	}
	for (int i = 0; i < nregex; i++) {
		int rc = regcomp(&t->re[t->nre], regex[i], REG_EXTENDED | REG_NOSUB);

		if (rc) {
			char msg[128];

			regerror(rc, &t->re[t->nre], msg, sizeof(msg));
			snprintf(err, errlen, "bad --comm regex '%s': %s", regex[i], msg);
			targets_free(t);
			return NULL;
		}
		t->re_src[t->nre] = strdup(regex[i]);
		t->nre++;
	}
	return t;
}

bool targets_by_comm(const struct wf_targets *t)
{
	return t->nre > 0;
}

bool targets_comm_matches(const struct wf_targets *t, const char *comm)
{
	for (int i = 0; i < t->nre; i++) {
		if (regexec(&t->re[i], comm, 0, NULL, 0) == 0)
			return true;
	}
	return false;
}

static bool read_comm(const char *proc_root, int32_t pid, char *buf, size_t len)
{
	char path[320];
	FILE *f;
	bool ok;

	snprintf(path, sizeof(path), "%s/%d/comm", proc_root, pid);
	f = fopen(path, "r");
	if (!f)
		return false;
	ok = fgets(buf, (int)len, f) != NULL;
	fclose(f);
	if (ok)
		buf[strcspn(buf, "\n")] = '\0';
	return ok;
}

int targets_scan(const struct wf_targets *t, int (*add)(void *ctx, int32_t pid, uint32_t flags), void *ctx)
{
	/* The agent never traces itself: its HTTP threads would become targets
	 * (and wakers) of every query against it. */
	int32_t self = (int32_t)getpid();
	int n = 0;
	DIR *d;
	struct dirent *de;

	for (int i = 0; i < t->npids; i++) {
		if (t->pids[i] == self)
			continue;
		if (add(ctx, t->pids[i], TARGET_BY_PID))
			return -1;
		n++;
	}
	if (!t->nre)
		return n;
	d = opendir(t->proc_root);
	if (!d)
		return -1;
	while ((de = readdir(d))) {
		char comm[32];
		char *end;
		long pid;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		pid = strtol(de->d_name, &end, 10);
		if (*end || pid <= 0 || pid > INT32_MAX || pid == self)
			continue;
		if (!read_comm(t->proc_root, (int32_t)pid, comm, sizeof(comm)) || !targets_comm_matches(t, comm))
			continue;
		if (add(ctx, (int32_t)pid, TARGET_BY_COMM)) {
			closedir(d);
			return -1;
		}
		n++;
	}
	closedir(d);
	return n;
}

uint32_t targets_after_exec(const struct wf_targets *t, uint32_t old_flags, const char *comm)
{
	/* A pid asked for by number stays traced whatever it runs; a process
	 * selected by name is traced while its name matches. */
	uint32_t flags = old_flags & TARGET_BY_PID;

	if (targets_comm_matches(t, comm))
		flags |= TARGET_BY_COMM;
	return flags;
}

void targets_describe(const struct wf_targets *t, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	if (t->npids) {
		off += snprintf(buf + off, len - off, "%s", t->npids > 1 ? "pids" : "pid");
		for (int i = 0; i < t->npids && off < len; i++)
			off += snprintf(buf + off, len - off, "%s %d", i ? "," : "", t->pids[i]);
	}
	for (int i = 0; i < t->nre && off < len; i++)
		off += snprintf(buf + off, len - off, "%s processes named /%s/", off ? (i ? "," : " and") : "",
				t->re_src[i]);
	if (buf[0] == ' ')
		memmove(buf, buf + 1, strlen(buf));
}
