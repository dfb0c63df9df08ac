// The package's version, read from its package.json: found by walking up
// from this module, so it is right under tsx (src/cli) and compiled (dist/cli).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export function packageVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'packetpath' && pkg.version) return pkg.version;
    } catch {
      /* not here: look further up */
    }
    const up = dirname(dir);
    if (up === dir) return 'unknown';
    dir = up;
  }
}
