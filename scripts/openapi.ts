// `npm run openapi`: writes openapi/openapi.json from the route schemas.
// test/api/openapi.test.ts fails when the committed file drifts from this.
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateOpenApi, serializeOpenApi } from '../src/http/openapi.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'openapi', 'openapi.json');
const text = serializeOpenApi(await generateOpenApi());
await mkdir(dirname(out), { recursive: true });
await writeFile(out, text);
process.stdout.write(`wrote ${out} (${text.length} bytes)\n`);
