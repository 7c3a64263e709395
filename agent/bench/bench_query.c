// SPDX-License-Identifier: Apache-2.0
/*
 * bench-query: the daemon's query path alone, without capture (no BPF, no
 * root), for profiling and for instruction counts that hold under load:
 *
 *   bench-query --db FILE [--runs N] [--serve SECONDS] [--edge-blocks BYTES] [--series-blocks BYTES] PATH...
 *
 * It opens a store (one filled by `serve --bench-fill`), loads its catalog
 * and the built-in rules exactly as `serve` does, starts the real HTTP
 * server (http_api.c, libmicrohttpd) on a free loopback port and sends each
 * PATH N times (20) over a new connection each, timing the whole request as
 * curl would. --edge-blocks bounds the edges' block sums (edge_blocks.h; 0:
 * none kept, as before them), --series-blocks the series' decoded totals
 * (series_blocks.h; 0: none kept); the first request of a PATH fills them, so its
 * time is printed apart ("first"). In PATH, {to} is the end of the newest stored window, {1h} and
 * {24h} that minus an hour or a day. It prints one line per PATH: median,
 * p95 and bytes. With --serve it prints the port and serves that long
 * instead (for curl and perf).
 *
 * Under valgrind --tool=callgrind --toggle-collect=handle the counts are
 * those of the request handler (query, JSON, MHD's response), repeatable
 * to a fraction of a percent whatever else the machine runs.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "catalog.h"
#include "classify.h"
#include "clock.h"
#include "history.h"
#include "http_api.h"
#include "metrics.h"
#include "store.h"

#define FINE_RETENTION_MS (3 * 3600 * 1000LL)
#define RETENTION_MS (24 * 3600 * 1000LL)
#define WINDOW_MS 10000

static void expand(const char *in, int64_t to, char *out, size_t len)
{
	size_t n = 0;

	while (*in && n + 24 < len) {
		if (!strncmp(in, "{to}", 4)) {
			n += (size_t)snprintf(out + n, len - n, "%lld", (long long)to);
			in += 4;
		} else if (!strncmp(in, "{1h}", 4)) {
			n += (size_t)snprintf(out + n, len - n, "%lld", (long long)(to - 3600000));
			in += 4;
		} else if (!strncmp(in, "{24h}", 5)) {
			n += (size_t)snprintf(out + n, len - n, "%lld", (long long)(to - 86400000));
			in += 5;
		} else {
			out[n++] = *in++;
		}
	}
	out[n] = '\0';
}

/* One GET over a new connection; returns the body's bytes, -1 on error. */
static long get(int port, const char *path, int *status)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	char req[8192], buf[65536];
	long total = 0, header_end = -1;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	size_t seen = 0;
	char head[64] = "";
	ssize_t n;
	int len;

	if (fd < 0)
		return -1;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		close(fd);
		return -1;
	}
	len = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", path);
	if (write(fd, req, (size_t)len) != len) {
		close(fd);
		return -1;
	}
	/* The header ends at the first blank line; only its status and length
	 * matter here. */
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		if (seen < sizeof(head) - 1) {
			size_t k = (size_t)n < sizeof(head) - 1 - seen ? (size_t)n : sizeof(head) - 1 - seen;

			memcpy(head + seen, buf, k);
			seen += k;
		}
		if (header_end < 0) {
			char *p = memmem(buf, (size_t)n, "\r\n\r\n", 4);

			if (p)
				header_end = total + (p - buf) + 4;
		}
		total += n;
	}
	close(fd);
	*status = 0;
	sscanf(head, "HTTP/1.%*d %d", status);
	return header_end < 0 ? -1 : total - header_end;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	const char *db = NULL;
	int runs = 20, serve_s = 0, first = 1, rc = 0;
	long long block_bytes = -1, series_block_bytes = -1;
	char err[256];
	struct wf_store_opts sopts = { .retention_ms = RETENTION_MS, .fine_retention_ms = FINE_RETENTION_MS };
	struct wf_store_status st;
	struct sockaddr_storage addr;
	socklen_t addrlen;
	struct wf_catalog *cat;
	struct wf_store *store;
	struct wf_history *hist;
	struct wf_metrics *metrics;
	struct wf_rules *rules;
	struct wf_http *http = NULL;
	int port = 0;

	for (; first < argc && argv[first][0] == '-'; first += 2) {
		if (first + 1 >= argc)
			break;
		if (!strcmp(argv[first], "--db"))
			db = argv[first + 1];
		else if (!strcmp(argv[first], "--runs"))
			runs = atoi(argv[first + 1]);
		else if (!strcmp(argv[first], "--serve"))
			serve_s = atoi(argv[first + 1]);
		else if (!strcmp(argv[first], "--edge-blocks"))
			block_bytes = atoll(argv[first + 1]);
		else if (!strcmp(argv[first], "--series-blocks"))
			series_block_bytes = atoll(argv[first + 1]);
		else
			break;
	}
	if (!db || runs < 1 || (first >= argc && !serve_s)) {
		fprintf(stderr, "usage: bench-query --db FILE [--runs N] [--serve SECONDS] [--edge-blocks BYTES]"
				" [--series-blocks BYTES] PATH...\n");
		return 2;
	}
	sopts.path = db;
	rules = rules_load_default(err, sizeof(err));
	cat = catalog_new();
	metrics = metrics_new();
	store = cat ? store_open(&sopts, cat, wall_ms()) : NULL;
	hist = store ? history_new(store, cat, WINDOW_MS, FINE_RETENTION_MS, (size_t)(WF_RING_SPAN_MS / WINDOW_MS))
		     : NULL;
	if (!rules || !hist || !metrics) {
		fprintf(stderr, "bench-query: %s\n", rules ? "out of memory" : err);
		return 1;
	}
	if ((block_bytes >= 0 && history_blocks_limit(hist, WF_BLOCKS_EDGES, (size_t)block_bytes)) ||
	    (series_block_bytes >= 0 && history_blocks_limit(hist, WF_BLOCKS_SERIES, (size_t)series_block_bytes))) {
		fprintf(stderr, "bench-query: out of memory\n");
		return 1;
	}
	store_status(store, &st);
	if (st.newest_ms < 0) {
		fprintf(stderr, "bench-query: %s holds no windows (fill it with serve --bench-fill)\n", db);
		return 1;
	}
	{
		struct wf_http_ctx ctx = { .cat = cat, .history = hist, .store = store, .metrics = metrics, .rules = rules };

		for (int tries = 0; !http && tries < 20; tries++) {
			char listen[32];

			port = 20000 + (int)((unsigned)getpid() * 7919u + (unsigned)tries * 104729u) % 20000;
			snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
			if (http_parse_listen(listen, &addr, &addrlen, err, sizeof(err)) == 0)
				http = http_start(&addr, addrlen, &ctx, err, sizeof(err));
		}
	}
	if (!http) {
		fprintf(stderr, "bench-query: %s\n", err);
		return 1;
	}
	if (serve_s) {
		printf("port %d to %lld\n", port, (long long)st.newest_ms);
		fflush(stdout);
		sleep((unsigned)serve_s);
	}
	for (int p = first; p < argc; p++) {
		char path[4096];
		double *ms = calloc((size_t)runs, sizeof(*ms)), first_ms = 0;
		long bytes = 0;
		int status = 0;

		expand(argv[p], st.newest_ms, path, sizeof(path));
		for (int i = 0; ms && i < runs; i++) {
			double t0 = mono_ms();

			bytes = get(port, path, &status);
			ms[i] = mono_ms() - t0;
			if (!i)
				first_ms = ms[i];
			if (bytes < 0 || status != 200) {
				fprintf(stderr, "bench-query: %s: status %d\n", path, status);
				rc = 1;
				break;
			}
		}
		if (ms && !rc) {
			qsort(ms, (size_t)runs, sizeof(*ms), cmp_double);
			printf("%8.2f %8.2f ms (first %.2f) %9ld B  %s\n", ms[(runs - 1) / 2],
			       ms[(runs * 95 + 99) / 100 - 1], first_ms, bytes, argv[p]);
		}
		free(ms);
	}
	http_stop(http);
	history_free(hist);
	store_close(store);
	catalog_free(cat);
	metrics_free(metrics);
	rules_free(rules);
	return rc;
}
