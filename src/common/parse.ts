// SPDX-License-Identifier: Apache-2.0

/** A whole number above zero, or undefined for anything else (empty, `abc`, `1.5`, `0`, `-3`). */
export function parsePositiveInt(text: string): number | undefined {
  const value = Number(text);
  return text.trim() !== '' && Number.isSafeInteger(value) && value > 0 ? value : undefined;
}

/** A whole number within [min, max], or undefined for anything else. */
export function parseIntInRange(text: string, min: number, max: number): number | undefined {
  const value = parsePositiveInt(text) ?? (text.trim() === '0' ? 0 : undefined);
  return value !== undefined && value >= min && value <= max ? value : undefined;
}
