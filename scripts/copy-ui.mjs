// Part of `npm run build`: the dashboard's browser files (src/http/ui, plain
// ES modules that tsc does not emit) copied to dist/http/ui, where the
// compiled routes/ui.js serves them from (the installed bin and the image).
import { cpSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const from = fileURLToPath(new URL('../src/http/ui/', import.meta.url));
const to = fileURLToPath(new URL('../dist/http/ui/', import.meta.url));
rmSync(to, { recursive: true, force: true });
cpSync(from, to, { recursive: true, filter: (path) => !path.endsWith('tsconfig.json') && !path.endsWith('.d.ts') });
