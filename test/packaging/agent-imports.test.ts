// The agent image installs production dependencies without install scripts:
// no `prisma generate` (no src/generated) and no better-sqlite3 build. So
// nothing the agent loads at run time may reach the Prisma client or SQLite.
// This walks the real module graph (type-only imports are erased by the
// compiler and do not count); agent-image.test.ts runs it from the image's files.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { REPO_ROOT } from '../support/paths.ts';

interface Edge { readonly from: string; readonly to: string; readonly dynamic: boolean }

/** Run-time import specifiers of one file: static imports/exports that are not type-only, and `import('…')` with a literal. */
function runtimeImports(file: string): { specifier: string; dynamic: boolean }[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const out: { specifier: string; dynamic: boolean }[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.importClause;
      const typeOnly = clause !== undefined && (clause.isTypeOnly || (!clause.name && clause.namedBindings !== undefined && ts.isNamedImports(clause.namedBindings) && clause.namedBindings.elements.length > 0 && clause.namedBindings.elements.every((e) => e.isTypeOnly)));
      if (!typeOnly) out.push({ specifier: node.moduleSpecifier.text, dynamic: false });
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier) && !node.isTypeOnly) {
      out.push({ specifier: node.moduleSpecifier.text, dynamic: false });
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && node.arguments[0] && ts.isStringLiteral(node.arguments[0])) {
      out.push({ specifier: node.arguments[0].text, dynamic: true });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return out;
}

/** Every module `entry` loads: static edges always, dynamic ones only where `follow` says the path is taken. */
function moduleGraph(entry: string, follow: (edge: Edge) => boolean): { files: Set<string>; packages: Set<string>; edges: Edge[] } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const edges: Edge[] = [];
  const pending = [entry];
  while (pending.length) {
    const file = pending.pop()!;
    if (files.has(file)) continue;
    files.add(file);
    for (const { specifier, dynamic } of runtimeImports(file)) {
      if (specifier.startsWith('.')) {
        const to = resolve(dirname(file), specifier);
        const edge = { from: file, to, dynamic };
        if (dynamic && !follow(edge)) continue;
        edges.push(edge);
        pending.push(to);
      } else if (!specifier.startsWith('node:')) {
        packages.add(specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]!);
      }
    }
  }
  return { files, packages, edges };
}

const rel = (f: string): string => relative(REPO_ROOT, f);

describe('the agent loads nothing that needs Prisma or SQLite', () => {
  const main = join(REPO_ROOT, 'src/cli/main.ts');
  // `packetpath agent …`: main.ts and the agent command; other commands' lazy imports are not taken.
  const graph = moduleGraph(main, (e) => rel(e.to).startsWith('src/cli/commands/agent'));
  const forbiddenFile = (f: string): boolean => /^src\/(generated|store\/(db|blobs|migrate|dumps|nodes|rulesets|read-cache|texts|dump-refs|cursor)\.ts)/.test(rel(f));

  it('reaches the agent command', () => {
    assert.ok([...graph.files].some((f) => rel(f) === 'src/cli/commands/agent.ts'));
    assert.ok([...graph.files].some((f) => rel(f) === 'src/agent/agent.ts'));
  });
  it('loads no database module', () => {
    const bad = [...graph.files].filter(forbiddenFile).map(rel);
    const via = graph.edges.filter((e) => forbiddenFile(e.to)).map((e) => `${rel(e.from)} → ${rel(e.to)}`);
    assert.deepEqual(bad, [], `the agent loads ${bad.join(', ')} (${via.join('; ')})`);
  });
  it('loads no Prisma or SQLite package', () => {
    const bad = [...graph.packages].filter((p) => p.startsWith('@prisma/') || p === 'prisma' || p === 'better-sqlite3');
    assert.deepEqual(bad, []);
  });
  it('the walker sees the database behind the server (so an empty result above means something)', () => {
    const server = moduleGraph(join(REPO_ROOT, 'src/http/app.ts'), () => true);
    assert.ok([...server.files].some(forbiddenFile));
  });
});
