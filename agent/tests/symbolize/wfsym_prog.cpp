// SPDX-License-Identifier: Apache-2.0
/*
 * The executable half of the symbolizer's test input. Prints
 * "label address" for each known function (its own and its library's) and
 * "bias ADDRESS" (its load bias: ELF virtual address = address - bias),
 * then "ready", then waits for stdin to close and exits; given a program
 * path as argument, a line "exec" on stdin makes it exec that program
 * (the exec test). Built as PIE, non-PIE, stripped and static copies by
 * agent/Makefile.
 */
#include <link.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "wfsym.h"

/*
 * A function with an explicit one-byte size followed by padding: an address
 * in the padding is past the symbol and must not be named after it.
 */
asm(".text\n"
    ".globl wfsym_sized\n"
    ".type wfsym_sized, @function\n"
    ".p2align 4\n"
    "wfsym_sized:\n"
    "  ret\n"
    ".size wfsym_sized, 1\n"
    ".skip 63, 0xcc\n");
extern "C" void wfsym_sized(void);

namespace wfapp {

template <typename T> __attribute__((noinline)) T spin(T v)
{
	for (int i = 0; i < 3; i++)
		asm volatile("" : "+r"(v));
	return v;
}
template int spin<int>(int);

struct Dispatcher {
	__attribute__((noinline)) static int onEvent(int fd);
};

int Dispatcher::onEvent(int fd)
{
	asm volatile("" : "+r"(fd));
	return fd + 1;
}

} // namespace wfapp

namespace {
__attribute__((noinline)) int local_helper(int x)
{
	asm volatile("" : "+r"(x));
	return x - 1;
}
} // namespace

static int find_bias(struct dl_phdr_info *info, size_t, void *data)
{
	*(ElfW(Addr) *)data = info->dlpi_addr; /* the first object is the executable */
	return 1;
}

int main(int argc, char **argv)
{
	struct wfsym_fn lib[8];
	int n = wfsym_lib_table(lib, 8);
	ElfW(Addr) bias = 0;
	char buf[64];

	dl_iterate_phdr(find_bias, &bias);
	printf("exe_template %p\n", (void *)&wfapp::spin<int>);
	printf("exe_member %p\n", (void *)&wfapp::Dispatcher::onEvent);
	printf("exe_static %p\n", (void *)&local_helper);
	printf("exe_sized %p\n", (void *)&wfsym_sized);
	for (int i = 0; i < n; i++)
		printf("%s %p\n", lib[i].label, lib[i].addr);
	printf("bias %#lx\n", (unsigned long)bias);
	printf("ready\n");
	fflush(stdout);
	while (fgets(buf, sizeof(buf), stdin)) {
		if (argc > 1 && strcmp(buf, "exec\n") == 0) {
			execv(argv[1], argv + 1);
			return 127;
		}
	}
	return 0;
}
