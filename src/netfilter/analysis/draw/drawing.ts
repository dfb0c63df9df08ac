// A picture before layout: boxes, arrows and frames with what they mean
// (`tone`), not where they go. Builders (a trace, a cluster trace, a chain
// graph, a diff) make one; printers turn it into Graphviz dot or Mermaid;
// Graphviz lays dot out as SVG outside the core. Keeping meaning here and
// colours in the printers lets every picture share one legend.

/** What a box, arrow or frame stands for; printers map each to one colour and style. */
export enum Tone {
  Normal = 'normal',
  /** Rules and hooks the path went through without deciding. */
  Path = 'path',
  Accept = 'accept',
  Drop = 'drop',
  Nat = 'nat',
  Jump = 'jump',
  /** The rule or policy that decided the packet's fate. */
  Decisive = 'decisive',
  /** A rule that almost matched (a near miss). */
  NearMiss = 'near-miss',
  /** An assumption the trace made (an unknown match, a fork). */
  Assumed = 'assumed',
  /** Not on the path; shown for context. */
  Muted = 'muted',
  /** Several chains drawn as one (kube-proxy's per-Service chains). */
  Group = 'group',
  Added = 'added',
  Removed = 'removed',
  Changed = 'changed',
}

export enum Shape {
  Box = 'box',
  Rounded = 'rounded',
  Ellipse = 'ellipse',
  Diamond = 'diamond',
  Octagon = 'octagon',
  Note = 'note',
  /** Stacked boxes: a group of chains. */
  Stack = 'stack',
}

export interface DrawNode {
  readonly id: string;
  /** Lines of text, first line the title; printers escape them. */
  readonly label: readonly string[];
  readonly shape: Shape;
  readonly tone: Tone;
  /** The frame it sits in. */
  readonly frame?: string;
  readonly tooltip?: string;
  /** Where a viewer can go for more (a chain's page, a group to expand); relative to the API. */
  readonly link?: string;
}

export interface DrawEdge {
  readonly from: string;
  readonly to: string;
  readonly label?: string;
  readonly tone: Tone;
  readonly style?: 'solid' | 'dashed' | 'dotted';
}

/** A labelled frame around nodes (a node of a cluster, a hook, a table); frames nest by `parent`. */
export interface DrawFrame {
  readonly id: string;
  readonly label: string;
  readonly tone: Tone;
  readonly parent?: string;
}

export interface Drawing {
  readonly title: string;
  /** Left to right or top to bottom. */
  readonly direction: 'LR' | 'TB';
  readonly frames: readonly DrawFrame[];
  readonly nodes: readonly DrawNode[];
  readonly edges: readonly DrawEdge[];
  /** Lines shown under the picture (a legend, what was collapsed, notes). */
  readonly notes: readonly string[];
}
