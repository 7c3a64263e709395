// SPDX-License-Identifier: Apache-2.0
import { DEFAULT_OPTIONS, normalizeOptions } from './options';

describe('panel options', () => {
  it('opens a panel saved without options with the defaults', () => {
    expect(normalizeOptions(undefined)).toEqual(DEFAULT_OPTIONS);
    expect(normalizeOptions({})).toEqual(DEFAULT_OPTIONS);
  });

  it('keeps valid options and replaces invalid ones, clamping numbers to their range', () => {
    expect(
      normalizeOptions({
        weight: 'count',
        maxLinks: 99999,
        wakerIdentity: 'bogus',
        showBreakdown: 'yes',
        breakdownWidth: 10,
      })
    ).toEqual({ ...DEFAULT_OPTIONS, weight: 'count', maxLinks: 2000, breakdownWidth: 180 });
  });
});
