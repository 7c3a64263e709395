// SPDX-License-Identifier: Apache-2.0
/* Open-addressing hash set of strings; see intern.h for why. */
#include "intern.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static char **slots;
static size_t nslots; /* power of two */
static size_t nused;
static size_t nbytes;

static uint64_t hash_bytes(const char *s, size_t len)
{
	/* FNV-1a: short keys, good enough spread, no dependencies. */
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ULL;
	}
	return h;
}

static int grow(void)
{
	size_t n = nslots ? nslots * 2 : 1024;
	char **fresh = calloc(n, sizeof(*fresh));

	if (!fresh)
		return -1;
	for (size_t i = 0; i < nslots; i++) {
		char *s = slots[i];
		size_t j;

		if (!s)
			continue;
		j = hash_bytes(s, strlen(s)) & (n - 1);
		while (fresh[j])
			j = (j + 1) & (n - 1);
		fresh[j] = s;
	}
	free(slots);
	slots = fresh;
	nslots = n;
	return 0;
}

const char *intern_n(const char *s, size_t len)
{
	size_t i;

	/* Keep the load factor under 1/2 so probes stay short. */
	if ((nused + 1) * 2 > nslots && grow())
		return NULL;
	i = hash_bytes(s, len) & (nslots - 1);
	while (slots[i]) {
		if (strncmp(slots[i], s, len) == 0 && slots[i][len] == '\0')
			return slots[i];
		i = (i + 1) & (nslots - 1);
	}
	slots[i] = malloc(len + 1);
	if (!slots[i])
		return NULL;
	memcpy(slots[i], s, len);
	slots[i][len] = '\0';
	nused++;
	nbytes += len + 1;
	return slots[i];
}

const char *intern(const char *s)
{
	return intern_n(s, strlen(s));
}

size_t intern_count(void)
{
	return nused;
}

size_t intern_bytes(void)
{
	return nbytes;
}

void intern_reset(void)
{
	for (size_t i = 0; i < nslots; i++)
		free(slots[i]);
	free(slots);
	slots = NULL;
	nslots = nused = nbytes = 0;
}
