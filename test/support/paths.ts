import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const FIXTURES = join(REPO_ROOT, 'test', 'fixtures');
/** `../shared` beside the checkout (test data that must not be copied into the repo). */
export const SHARED = resolve(REPO_ROOT, '..', 'shared');
export const CORPUS = join(SHARED, 'corpus');
export const corpusAvailable = (): boolean => existsSync(join(CORPUS, 'MANIFEST.tsv'));

/**
 * The seeds' iptables dumps and, when `../shared` is there, the corpus' `iptables*` dumps, as
 * `[name, text]`; `onMissingCorpus` hears it when the corpus is absent (seeds only).
 */
export function seedAndCorpusDumps(onMissingCorpus: (message: string) => void): [string, string][] {
  const texts = ['seeds', 'seed004'].flatMap((dir) =>
    readdirSync(join(FIXTURES, dir))
      .filter((f) => f.endsWith('.txt'))
      .map((f): [string, string] => [`${dir}/${f}`, readFileSync(join(FIXTURES, dir, f), 'utf8')]),
  );
  if (!corpusAvailable()) {
    onMissingCorpus('corpus not found: seeds only');
    return texts;
  }
  for (const dir of readdirSync(CORPUS, { withFileTypes: true }).filter((d) => d.isDirectory() && d.name.startsWith('iptables'))) {
    for (const f of readdirSync(join(CORPUS, dir.name))) texts.push([`${dir.name}/${f}`, readFileSync(join(CORPUS, dir.name, f), 'utf8')]);
  }
  return texts;
}
