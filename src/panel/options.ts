// SPDX-License-Identifier: Apache-2.0
import type { PanelOptionsEditorBuilder } from '@grafana/data';

import type { WakerIdentity, Weight } from './model/graph';

export interface ChainsPanelOptions {
  /** What a link's thickness measures. */
  weight: Weight;
  /** Chains drawn one by one; the rest are folded into "other". */
  maxLinks: number;
  /** Waker nodes per thread name (all `kubelet` threads as one) or per thread. */
  wakerIdentity: WakerIdentity;
  showBreakdown: boolean;
  showActivities: boolean;
  /** Width of the breakdown beside the chains, in pixels. */
  breakdownWidth: number;
}

export const DEFAULT_OPTIONS: ChainsPanelOptions = {
  weight: 'offcpu',
  maxLinks: 100,
  wakerIdentity: 'name',
  showBreakdown: true,
  showActivities: true,
  breakdownWidth: 300,
};

export const OPTION_LIMITS = {
  maxLinks: { min: 1, max: 2000 },
  breakdownWidth: { min: 180, max: 600 },
} as const;

const intWithin = (v: unknown, min: number, max: number, fallback: number) =>
  typeof v === 'number' && Number.isFinite(v) ? Math.min(max, Math.max(min, Math.round(v))) : fallback;

/**
 * Options as the panel uses them: a dashboard saved by another version, or
 * edited by hand, may hold anything; each option falls back to its default.
 */
export function normalizeOptions(
  stored: Partial<Record<keyof ChainsPanelOptions, unknown>> | undefined
): ChainsPanelOptions {
  const o = stored ?? {};
  const d = DEFAULT_OPTIONS;
  return {
    weight: o.weight === 'count' || o.weight === 'offcpu' ? o.weight : d.weight,
    maxLinks: intWithin(o.maxLinks, OPTION_LIMITS.maxLinks.min, OPTION_LIMITS.maxLinks.max, d.maxLinks),
    wakerIdentity: o.wakerIdentity === 'thread' || o.wakerIdentity === 'name' ? o.wakerIdentity : d.wakerIdentity,
    showBreakdown: typeof o.showBreakdown === 'boolean' ? o.showBreakdown : d.showBreakdown,
    showActivities: typeof o.showActivities === 'boolean' ? o.showActivities : d.showActivities,
    breakdownWidth: intWithin(
      o.breakdownWidth,
      OPTION_LIMITS.breakdownWidth.min,
      OPTION_LIMITS.breakdownWidth.max,
      d.breakdownWidth
    ),
  };
}

export function buildOptions(builder: PanelOptionsEditorBuilder<ChainsPanelOptions>) {
  const d = DEFAULT_OPTIONS;
  return builder
    .addRadio({
      path: 'weight',
      name: 'Link width',
      description: 'What the thickness of a link measures',
      defaultValue: d.weight,
      settings: {
        options: [
          { value: 'offcpu', label: 'Off-CPU time' },
          { value: 'count', label: 'Wakeups' },
        ],
      },
    })
    .addNumberInput({
      path: 'maxLinks',
      name: 'Links shown',
      description: 'Chains drawn one by one, the heaviest first; the rest are folded into an "other" node',
      defaultValue: d.maxLinks,
      settings: { min: OPTION_LIMITS.maxLinks.min, max: OPTION_LIMITS.maxLinks.max, integer: true },
    })
    .addRadio({
      path: 'wakerIdentity',
      name: 'Wakers',
      description: 'One node per waker thread name, or per thread',
      defaultValue: d.wakerIdentity,
      settings: {
        options: [
          { value: 'name', label: 'By name' },
          { value: 'thread', label: 'By thread' },
        ],
      },
    })
    .addBooleanSwitch({
      path: 'showBreakdown',
      name: 'Category breakdown',
      description: 'Shares of off-CPU time and wakeups per category beside the chains; click one to filter',
      defaultValue: d.showBreakdown,
    })
    .addBooleanSwitch({
      path: 'showActivities',
      name: 'Activities in the breakdown',
      defaultValue: d.showActivities,
      showIf: (o) => o.showBreakdown,
    })
    .addSliderInput({
      path: 'breakdownWidth',
      name: 'Breakdown width',
      defaultValue: d.breakdownWidth,
      settings: { min: OPTION_LIMITS.breakdownWidth.min, max: OPTION_LIMITS.breakdownWidth.max, step: 10 },
      showIf: (o) => o.showBreakdown,
    });
}
