// SPDX-License-Identifier: Apache-2.0
import React from 'react';
import type { QueryEditorHelpProps } from '@grafana/data';

import type { WakeflowQuery } from '../types';
import { normalizeQuery } from '../query';
import { CheatSheet } from './CheatSheet';

/** Explore's cheat sheet: clicking an example puts its query into the query row. */
export function QueryHelp({ onClickExample, query }: QueryEditorHelpProps<WakeflowQuery>) {
  return (
    <CheatSheet onUse={(example) => onClickExample(normalizeQuery({ ...example.query, refId: query?.refId ?? 'A' }))} />
  );
}
