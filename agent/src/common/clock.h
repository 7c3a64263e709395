/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The two clocks the agent reads: wall time for what is recorded and served
 * (window starts, first/last seen), monotonic time for measuring durations
 * (drain and write times), which must not jump with NTP.
 */
#ifndef WAKEFLOW_CLOCK_H
#define WAKEFLOW_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline double mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

#endif
