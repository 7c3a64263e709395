// SPDX-License-Identifier: Apache-2.0
/*
 * The shared-library half of the symbolizer's test input: a namespaced
 * class member, a template instance and a plain C function, each kept out
 * of line so it has its own symbol.
 */
#include "wfsym.h"

namespace wf {
namespace demo {

template <typename T> __attribute__((noinline)) T twice(T v)
{
	asm volatile("" : "+r"(v)); /* keep a real body */
	return v + v;
}
template long twice<long>(long);

class Widget {
public:
	__attribute__((noinline)) int poke(int n);

private:
	int pokes_ = 0;
};

int Widget::poke(int n)
{
	pokes_ += n;
	asm volatile("" ::: "memory");
	return pokes_;
}

} // namespace demo
} // namespace wf

extern "C" __attribute__((noinline)) int wfsym_lib_plain(int x)
{
	asm volatile("" : "+r"(x));
	return x * 3;
}

extern "C" int wfsym_lib_table(struct wfsym_fn *out, int max)
{
	int (wf::demo::Widget::*poke)(int) = &wf::demo::Widget::poke;
	struct wfsym_fn all[] = {
		{"lib_template", (void *)&wf::demo::twice<long>},
		/* A non-virtual member pointer holds the function address (Itanium ABI). */
		{"lib_member", *(void **)&poke},
		{"lib_c", (void *)&wfsym_lib_plain},
	};
	int n = 0;

	for (unsigned i = 0; i < sizeof(all) / sizeof(all[0]) && n < max; i++)
		out[n++] = all[i];
	return n;
}
