/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Embeds rules/default.rules (NUL-terminated) as wf_default_rules, so the
 * binary carries its default rules and the file stays a plain data file that
 * SREs read and copy. Assembled from agent/ with -I. (see the Makefile).
 */
	.section .rodata
	.global wf_default_rules
	.type wf_default_rules, @object
wf_default_rules:
	.incbin "rules/default.rules"
	.byte 0
	.size wf_default_rules, . - wf_default_rules

	/* No executable stack. */
	.section .note.GNU-stack, "", @progbits
