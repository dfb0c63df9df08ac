// Union-find over names, for grouping chains that jump to each other.

export interface DisjointSets {
  /** The representative of `x`'s set (`x` itself when it was never joined). */
  readonly find: (x: string) => string;
  /** Makes `root` the representative of `child`'s set; both must be representatives. */
  readonly attach: (child: string, root: string) => void;
  readonly has: (x: string) => boolean;
}

export function createDisjointSets(names: Iterable<string>): DisjointSets {
  const parent = new Map<string, string>();
  for (const n of names) parent.set(n, n);
  const find = (x: string): string => {
    let r = x;
    while (parent.get(r) !== r) r = parent.get(r)!;
    parent.set(x, r);
    return r;
  };
  return { find, attach: (child, root) => void parent.set(child, root), has: (x) => parent.has(x) };
}
