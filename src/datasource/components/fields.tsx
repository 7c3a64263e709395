// SPDX-License-Identifier: Apache-2.0
/*
 * The two kinds of option every query type has: a choice among a few values
 * (radio buttons, so every choice is visible at once and reachable by
 * keyboard) and a bounded whole number (committed on blur or Enter).
 */
import React from 'react';
import { InlineField, RadioButtonGroup } from '@grafana/ui';

import { CommitInput } from '../../common/CommitInput';
import { parseIntInRange } from '../../common/parse';
import { LABEL_WIDTH } from './types';

interface ChoiceProps<T extends string> {
  label: string;
  /** Required: every field of every editor has its info icon (issue 9: one field without it looked broken). */
  tooltip: string;
  choices: Record<T, string>;
  value: T;
  onChange: (value: T) => void;
}

export function ChoiceField<T extends string>({ label, tooltip, choices, value, onChange }: ChoiceProps<T>) {
  const options = (Object.keys(choices) as T[]).map((v) => ({ value: v, label: choices[v] }));
  return (
    <InlineField label={label} labelWidth={LABEL_WIDTH} tooltip={tooltip}>
      <RadioButtonGroup<T> aria-label={label} options={options} value={value} onChange={onChange} />
    </InlineField>
  );
}

interface NumberProps {
  label: string;
  tooltip: string;
  min: number;
  max: number;
  value: number;
  onChange: (value: number) => void;
}

export function NumberField({ label, tooltip, min, max, value, onChange }: NumberProps) {
  const id = `wakeflow-query-${label.toLowerCase().replace(/\W+/g, '-')}`;
  return (
    <InlineField label={label} labelWidth={LABEL_WIDTH} tooltip={`${tooltip} (${min} to ${max})`} htmlFor={id}>
      <CommitInput
        id={id}
        type="number"
        min={min}
        max={max}
        width={10}
        value={String(value)}
        isValid={(text) => parseIntInRange(text, min, max) !== undefined}
        onCommit={(text) => onChange(Number(text))}
      />
    </InlineField>
  );
}
