/* SPDX-License-Identifier: Apache-2.0 */
/* x86_64 syscall numbers and names (the live capture's syscall facts). */
#ifndef WAKEFLOW_SYSCALLS_H
#define WAKEFLOW_SYSCALLS_H

#include <stddef.h>

/* The syscall's name, or "syscall_NR" written into buf when unknown. */
const char *syscall_name(int nr, char *buf, size_t len);
/* The number of a named syscall, or -1. */
int syscall_number(const char *name);

#endif
