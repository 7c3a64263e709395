// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target for the HTTP API's query-string parser (query.h): any
 * bytes, for every endpoint, must give 0 or a 4xx with a message, never a
 * crash, an overrun or a leak. The first byte picks the endpoint.
 *   make -C agent fuzz && agent/build/fuzz/fuzz_query agent/tests/fuzz/corpus-query
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "query.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct wf_query q;
	char err[256];
	enum wf_endpoint ep;
	int rc;

	if (size < 1)
		return 0;
	ep = (enum wf_endpoint)(data[0] % 3);
	rc = query_parse(ep, (const char *)data + 1, size - 1, 1700000000000LL, &q, err, sizeof(err));
	if (rc != 0 && rc != 400 && rc != 414)
		abort();
	if (rc != 0 && !err[0])
		abort(); /* every error names its problem */
	if (rc == 0 && ep != WF_EP_PLAIN && (q.from_ms >= q.to_ms || q.to_ms - q.from_ms > WF_QUERY_MAX_RANGE_MS))
		abort();
	if (rc == 0 && ep == WF_EP_EDGES && (q.limit < 1 || q.limit > WF_QUERY_MAX_LIMIT))
		abort();
	return 0;
}
