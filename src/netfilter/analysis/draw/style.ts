// One legend for every picture: each Tone has one colour and one line style,
// shared by the dot and Mermaid printers. Colours are from the Okabe-Ito
// palette (readable with the common colour-vision deficiencies), and every
// tone that matters also differs by line style or width, so a picture printed
// in grey still tells a decisive rule from a near miss from an assumption.
import { Tone } from './drawing.ts';

export interface ToneStyle {
  /** Border and arrow colour. */
  readonly stroke: string;
  readonly fill: string;
  readonly font: string;
  /** Border width in points (arrows use it too). */
  readonly width: number;
  readonly line: 'solid' | 'dashed' | 'dotted';
  readonly bold: boolean;
  /** What the tone means, for the legend. */
  readonly meaning: string;
}

const INK = '#1a1a1a';

export const TONE_STYLES: Readonly<Record<Tone, ToneStyle>> = {
  [Tone.Normal]: { stroke: INK, fill: '#ffffff', font: INK, width: 1, line: 'solid', bold: false, meaning: 'context' },
  [Tone.Path]: { stroke: '#0072b2', fill: '#e3f0fa', font: INK, width: 1.5, line: 'solid', bold: false, meaning: 'on the path' },
  [Tone.Accept]: { stroke: '#009e73', fill: '#dff5ec', font: INK, width: 1.5, line: 'solid', bold: false, meaning: 'accepted' },
  [Tone.Drop]: { stroke: '#d55e00', fill: '#fbe6d9', font: INK, width: 1.5, line: 'solid', bold: false, meaning: 'dropped or rejected' },
  [Tone.Nat]: { stroke: '#cc79a7', fill: '#f8e6f0', font: INK, width: 1.5, line: 'solid', bold: false, meaning: 'address translated' },
  [Tone.Jump]: { stroke: '#56b4e9', fill: '#eaf6fd', font: INK, width: 1, line: 'solid', bold: false, meaning: 'jump to a chain' },
  [Tone.Decisive]: { stroke: '#c00000', fill: '#ffe0e0', font: '#000000', width: 4, line: 'solid', bold: true, meaning: 'decided the packet' },
  [Tone.NearMiss]: { stroke: '#e69f00', fill: '#fff4d6', font: INK, width: 2, line: 'dashed', bold: false, meaning: 'near miss: almost matched' },
  [Tone.Assumed]: { stroke: '#7a5c00', fill: '#fdf8c4', font: INK, width: 1.5, line: 'dotted', bold: false, meaning: 'assumption' },
  [Tone.Muted]: { stroke: '#9a9a9a', fill: '#f4f4f4', font: '#5a5a5a', width: 1, line: 'solid', bold: false, meaning: 'not on the path' },
  [Tone.Group]: { stroke: '#0072b2', fill: '#d7e7f5', font: INK, width: 1.5, line: 'solid', bold: false, meaning: 'group of chains' },
  [Tone.Added]: { stroke: '#009e73', fill: '#dff5ec', font: INK, width: 2.5, line: 'solid', bold: true, meaning: 'added' },
  [Tone.Removed]: { stroke: '#d55e00', fill: '#fbe6d9', font: '#5a5a5a', width: 2.5, line: 'dashed', bold: false, meaning: 'removed' },
  [Tone.Changed]: { stroke: '#e69f00', fill: '#fff4d6', font: INK, width: 2.5, line: 'solid', bold: true, meaning: 'changed' },
};

/** The tones in legend order (the enum's order), those a drawing uses. */
export function usedTones(tones: Iterable<Tone>): Tone[] {
  const used = new Set(tones);
  return Object.values(Tone).filter((t) => used.has(t));
}

/** Tones not worth a legend row: everyone reads a plain box. */
export function needsLegend(tone: Tone): boolean {
  return tone !== Tone.Normal;
}
