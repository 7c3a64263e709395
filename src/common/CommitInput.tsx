// SPDX-License-Identifier: Apache-2.0
import React, { ComponentProps, useState } from 'react';
import { Input } from '@grafana/ui';

type Props = Omit<ComponentProps<typeof Input>, 'value' | 'onChange' | 'onBlur' | 'onKeyDown'> & {
  value: string;
  /** Called once per edit, on blur or Enter, and only when the text changed. */
  onCommit: (text: string) => void;
  /** Text that fails this is not committed: the field is marked invalid while focused and reverts on blur. */
  isValid?: (text: string) => boolean;
};

/**
 * A text field that commits when the user is done rather than per keystroke,
 * so typing `kube-system` runs one query, not eleven.
 */
export function CommitInput({ value, onCommit, isValid = () => true, ...inputProps }: Props) {
  const [text, setText] = useState(value);
  const [shown, setShown] = useState(value);

  // Follow changes made elsewhere (an undo, a query edited in JSON) to the
  // committed value. Adjusting state during render, as React recommends, not
  // in an effect: the field never flashes the stale text.
  if (value !== shown) {
    setShown(value);
    setText(value);
  }

  const commit = () => {
    if (!isValid(text)) {
      setText(value);
    } else if (text !== value) {
      onCommit(text);
    }
  };

  return (
    <Input
      {...inputProps}
      value={text}
      invalid={!isValid(text)}
      onChange={(event) => setText(event.currentTarget.value)}
      onBlur={commit}
      onKeyDown={(event) => {
        if (event.key === 'Enter') {
          commit();
        }
      }}
    />
  );
}
