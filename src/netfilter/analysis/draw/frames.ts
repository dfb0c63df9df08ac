// Frames as a tree, for the printers: which frames and nodes sit directly in
// each frame (top level under ''). A frame whose parent is unknown, or which
// would sit inside itself, is drawn at the top level rather than lost.
import type { DrawFrame, DrawNode, Drawing } from './drawing.ts';

export interface FrameTree {
  /** Child frames by parent id ('' for the top level), in drawing order. */
  readonly frames: ReadonlyMap<string, readonly DrawFrame[]>;
  /** Nodes by frame id ('' for the top level), in drawing order. */
  readonly nodes: ReadonlyMap<string, readonly DrawNode[]>;
}

export function frameTree(drawing: Drawing): FrameTree {
  const byId = new Map(drawing.frames.map((f) => [f.id, f]));
  const frames = new Map<string, DrawFrame[]>();
  const nodes = new Map<string, DrawNode[]>();
  for (const f of drawing.frames) {
    const parent = placedParent(f, byId);
    let list = frames.get(parent);
    if (!list) frames.set(parent, (list = []));
    list.push(f);
  }
  for (const n of drawing.nodes) {
    const frame = n.frame !== undefined && byId.has(n.frame) ? n.frame : '';
    let list = nodes.get(frame);
    if (!list) nodes.set(frame, (list = []));
    list.push(n);
  }
  return { frames, nodes };
}

function placedParent(frame: DrawFrame, byId: ReadonlyMap<string, DrawFrame>): string {
  if (frame.parent === undefined || !byId.has(frame.parent)) return '';
  // Walk up: a cycle back to this frame puts it at the top level.
  const seen = new Set<string>([frame.id]);
  for (let p: string | undefined = frame.parent; p !== undefined && byId.has(p); p = byId.get(p)!.parent) {
    if (seen.has(p)) return '';
    seen.add(p);
  }
  return frame.parent;
}
