// SPDX-License-Identifier: Apache-2.0
/* Open-addressing hash set of strings; see intern.h for why. */
#include "intern.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static char **slots;
static size_t nslots; /* power of two */
static size_t nused;
static size_t nbytes;

/* During a sweep: marks[i] for slots[i]. Evicted strings wait in the
 * graveyard until the next sweep (intern.h says why). */
static unsigned char *marks;
static char **graveyard;
static size_t ngraveyard;

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

/* The table rebuilt with n slots, keeping the strings keep() allows (all
 * if keep is NULL); the others are handed to drop(). */
static int rebuild(size_t n, bool (*keep)(size_t i), void (*drop)(char *s))
{
	char **fresh = calloc(n, sizeof(*fresh));

	if (!fresh)
		return -1;
	for (size_t i = 0; i < nslots; i++) {
		char *s = slots[i];
		size_t j;

		if (!s)
			continue;
		if (keep && !keep(i)) {
			drop(s);
			continue;
		}
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

static int grow(void)
{
	return rebuild(nslots ? nslots * 2 : 1024, NULL, NULL);
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

static void free_graveyard(void)
{
	for (size_t i = 0; i < ngraveyard; i++)
		free(graveyard[i]);
	free(graveyard);
	graveyard = NULL;
	ngraveyard = 0;
}

void intern_reset(void)
{
	for (size_t i = 0; i < nslots; i++)
		free(slots[i]);
	free(slots);
	free(marks);
	free_graveyard();
	slots = NULL;
	marks = NULL;
	nslots = nused = nbytes = 0;
}

void intern_sweep_begin(void)
{
	free(marks);
	/* Out of memory: no marks, and intern_sweep_end evicts nothing. */
	marks = nslots ? calloc(nslots, 1) : NULL;
}

void intern_mark(const char *s)
{
	size_t i;

	if (!s || !marks)
		return;
	i = hash_bytes(s, strlen(s)) & (nslots - 1);
	for (; slots[i]; i = (i + 1) & (nslots - 1)) {
		if (slots[i] == s) {
			marks[i] = 1;
			return;
		}
	}
}

static char **buried; /* this sweep's evictions, handed to the graveyard */
static size_t nburied;

static bool marked(size_t i)
{
	return marks[i];
}

static void bury(char *s)
{
	buried[nburied++] = s;
	nused--;
	nbytes -= strlen(s) + 1;
}

size_t intern_sweep_end(void)
{
	size_t live = 0, n = 1024;

	/* Strings evicted by the previous sweep: no answer started before it
	 * is still being written (requests are bounded far below a sweep's
	 * interval). */
	free_graveyard();
	if (!marks)
		return 0;
	for (size_t i = 0; i < nslots; i++)
		live += marks[i];
	buried = live < nused ? malloc((nused - live) * sizeof(*buried)) : NULL;
	nburied = 0;
	/* Keep the load factor under 1/2, and shrink the table with the strings. */
	while (n < 2 * (live + 1))
		n *= 2;
	if (buried && rebuild(n, marked, bury)) {
		free(buried);
		buried = NULL;
	}
	free(marks);
	marks = NULL;
	graveyard = buried;
	ngraveyard = nburied;
	buried = NULL;
	return ngraveyard;
}
