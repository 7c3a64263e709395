#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Makes a MiniDebugInfo binary the way Fedora's find-debuginfo (add_minidebug)
# does: the function symbols that .dynsym lacks, kept from the debug file with
# objcopy, xz-compressed into a .gnu_debugdata section of the stripped binary.
#
#   minidebuginfo.sh IN OUT [DATA]
#
# IN is an unstripped binary, OUT the stripped one with MiniDebugInfo. With
# DATA, that file is put in .gnu_debugdata instead (for the corrupt cases).
set -euo pipefail
in=$1 out=$2 data=${3:-}
tmp=$(mktemp -d /tmp/wf-minidebug-XXXXXX)
trap 'rm -rf "$tmp"' EXIT

strip --strip-all --remove-section=.comment "$in" -o "$out"
if [ -z "$data" ]; then
	objcopy --only-keep-debug "$in" "$tmp/debug"
	# A static binary has no dynamic symbols: nm says so and that is fine.
	{ nm -D --format=posix --defined-only "$in" 2>/dev/null || true; } | awk '{ print $1 }' | sort >"$tmp/dynsyms"
	nm --format=posix --defined-only "$tmp/debug" |
		awk '{ if ($2 == "T" || $2 == "t" || $2 == "D") print $1 }' | sort >"$tmp/funcsyms"
	comm -13 "$tmp/dynsyms" "$tmp/funcsyms" >"$tmp/keep_symbols"
	objcopy -S --remove-section .gdb_index --remove-section .comment \
		--keep-symbols="$tmp/keep_symbols" "$tmp/debug" "$tmp/mini_debuginfo"
	xz "$tmp/mini_debuginfo"
	data=$tmp/mini_debuginfo.xz
fi
objcopy --add-section .gnu_debugdata="$data" "$out"
