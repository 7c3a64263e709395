// SPDX-License-Identifier: Apache-2.0
/*
 * What the harness page (tests/browser/page/main.tsx) offers the tests as
 * `window.wakeflow`: one contract for both sides, plain data in and out
 * (everything crosses page.evaluate as JSON).
 */

export interface InstanceJson {
  uid: string;
  type: string;
  name: string;
  jsonData: Record<string, unknown>;
  access: string;
  readOnly: boolean;
}

export interface PanelAnswer {
  frames: Array<{ name?: string; length?: number }>;
  errors: Array<{ message?: string }>;
}

/** Where the tests find the diagram's parts (TEST_IDS selectors). */
export interface DiagramSelectors {
  diagram: string;
  details: string;
  panel: string;
}

export interface Edges {
  top: number;
  bottom: number;
  left: number;
  right: number;
}

/** A node and its label as the browser drew them. */
export interface LabelEnd {
  node: string;
  /** The node's height in px. */
  height: number;
  text: string;
  box: Edges;
  /** Inside the diagram's visible rectangle. */
  inView: boolean;
  /** The label is what the pointer finds at its middle: nothing covers it. */
  onTop: boolean;
  /** The other labels whose boxes overlap this one's. */
  overlapping: string[];
}

export interface ChainBoxes {
  view: Edges;
  details: Edges;
  panel: Edges;
  nodes: Array<{ name: string; node: Edges; label: Edges }>;
}

export interface Driver {
  init(opts: {
    theme: 'light' | 'dark';
    instance: InstanceJson;
    variables?: Record<string, string | string[]>;
  }): Promise<boolean>;
  renderPanel(opts: {
    targets: Array<Record<string, unknown>>;
    fromMs?: number;
    toMs?: number;
    options?: Record<string, unknown>;
    width: number;
    height: number;
  }): Promise<PanelAnswer>;
  /** Returns ms from handing the frames over to the first paint after the render. */
  renderPanelFrames(opts: {
    frames: object[];
    options?: Record<string, unknown>;
    width: number;
    height: number;
  }): Promise<number>;
  /** Unmounts whatever is shown, so the next render is a first render. */
  unmount(): Promise<void>;
  /** Clicks the element matching the selector and returns ms until the browser has painted the answer. */
  measureClick(selector: string): Promise<number>;
  renderQueryEditor(opts: { query: Record<string, unknown>; app?: string }): Promise<void>;
  /** The data source's template-variable editor, and the values its query answers (through the backend's resources). */
  renderVariableEditor(opts: { query: Record<string, unknown> }): Promise<void>;
  variableValues(opts: { query: Record<string, unknown>; fromMs?: number; toMs?: number }): Promise<string[]>;
  renderConfigEditor(opts: {
    jsonData: Record<string, unknown>;
    secureJsonFields?: Record<string, boolean>;
  }): Promise<void>;
  /** The nodes drawn thinner than `maxHeight` px and their labels (page/geometry.ts). */
  thinNodes(maxHeight: number, selectors: DiagramSelectors): LabelEnd[];
  /** These nodes (column, title) and their labels, the diagram's view, the details and the panel (page/geometry.ts). */
  chainBoxes(nodes: Array<[number, string]>, selectors: DiagramSelectors): ChainBoxes;
  /** The current theme's colour for a Grafana colour name (the real @grafana/data's palette). */
  colorByName(name: string): string;
  requests(): Array<{ method: string; url: string; body?: unknown }>;
}

declare global {
  interface Window {
    wakeflow: Driver;
  }
}
