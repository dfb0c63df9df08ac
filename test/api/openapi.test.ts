// The OpenAPI document: committed file in sync with the routes, a valid
// OpenAPI 3.1 document, examples valid against their schemas, served at
// /openapi.json with Swagger UI at /docs.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import openapiTS, { astToString } from 'openapi-typescript';
import ts from 'typescript';
import { join } from 'node:path';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { generateOpenApi, serializeOpenApi, sortKeys } from '../../src/http/openapi.ts';
import { REPO_ROOT } from '../support/paths.ts';
import { startApi, type TestApi } from '../support/api.ts';

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;
const COMMITTED = join(REPO_ROOT, 'openapi', 'openapi.json');

type Doc = {
  openapi: string;
  info: { title: string; version: string };
  servers: unknown[];
  tags: { name: string }[];
  paths: Record<string, Record<string, { operationId?: string; tags?: string[]; summary?: string; responses: Record<string, { content?: Record<string, unknown> }> }>>;
  components: { schemas: Record<string, Record<string, unknown>> };
};

describe('OpenAPI document', () => {
  let generated: Doc;
  let api: TestApi;
  before(async () => {
    generated = (await generateOpenApi()) as Doc;
    api = await startApi();
  });
  after(async () => api.close());

  it('openapi/openapi.json is up to date (run `npm run openapi` after changing routes or schemas)', async () => {
    const committed = await readFile(COMMITTED, 'utf8');
    assert.equal(committed, serializeOpenApi(generated), 'openapi/openapi.json drifted from the routes: run `npm run openapi` and commit the result');
  });

  it('is a valid OpenAPI 3.1 document', async () => {
    const validator = new Validator();
    const result = await validator.validate(COMMITTED);
    assert.equal(result.valid, true, JSON.stringify(result.errors, null, 2));
    assert.equal(validator.version, '3.1');
    assert.equal(generated.info.title, 'packetpath API');
    assert.ok(generated.servers.length >= 1);
    assert.deepEqual(generated.tags.map((t) => t.name).sort(), ['dumps', 'health', 'metrics', 'nodes', 'tokens']);
  });

  it('every operation has an operationId, tags and a summary; errors are problem+json', () => {
    const ids = new Set<string>();
    for (const [path, ops] of Object.entries(generated.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        const where = `${method.toUpperCase()} ${path}`;
        assert.ok(op.operationId, `${where} has no operationId`);
        assert.ok(!ids.has(op.operationId), `duplicate operationId ${op.operationId}`);
        ids.add(op.operationId);
        assert.ok(op.tags?.length, `${where} has no tags`);
        assert.ok(op.summary, `${where} has no summary`);
        for (const [status, response] of Object.entries(op.responses)) {
          if (Number(status) >= 400) assert.deepEqual(Object.keys(response.content ?? {}), ['application/problem+json'], `${where} ${status}`);
        }
      }
    }
    for (const p of ['/api/v1/nodes', '/api/v1/nodes/{node}', '/api/v1/nodes/{node}/dumps', '/api/v1/nodes/{node}/dumps/{id}', '/api/v1/nodes/{node}/dumps/{id}/raw', '/api/v1/nodes/{node}/dumps/{id}/canonical', '/api/v1/nodes/{node}/dumps/latest/sha', '/healthz', '/readyz']) {
      assert.ok(generated.paths[p], `${p} is documented`);
    }
    const upload = generated.paths['/api/v1/nodes/{node}/dumps']?.['post'] as unknown as { requestBody: { content: Record<string, unknown> } };
    assert.deepEqual(Object.keys(upload.requestBody.content).sort(), ['application/json', 'text/plain']);
  });

  it('servers is relative, so "Try it out" calls whatever host and port served the page', () => {
    assert.deepEqual(generated.servers.map((s) => (s as { url: string }).url), ['/']);
  });

  it('enums are JSON Schema `enum`s (Swagger UI offers every value), never anyOf lists of constants', () => {
    const anyOfConsts: string[] = [];
    const walk = (x: unknown, path: string): void => {
      if (Array.isArray(x)) return x.forEach((v, i) => walk(v, `${path}/${i}`));
      if (!x || typeof x !== 'object') return;
      const o = x as Record<string, unknown>;
      const single = (a: unknown) => !!a && typeof a === 'object' && ('const' in a || (Array.isArray((a as { enum?: unknown[] }).enum) && (a as { enum: unknown[] }).enum.length === 1));
      if (Array.isArray(o['anyOf']) && o['anyOf'].length > 1 && o['anyOf'].every(single)) anyOfConsts.push(path);
      for (const [k, v] of Object.entries(o)) walk(v, `${path}/${k}`);
    };
    walk(generated, '');
    assert.deepEqual(anyOfConsts, []);
    const schemas = generated.components.schemas;
    assert.deepEqual(schemas['TableName']?.['enum'], ['raw', 'mangle', 'nat', 'filter', 'security']);
    assert.deepEqual(schemas['Severity']?.['enum'], ['error', 'warning', 'info']);
    const outcome = schemas['TraceOutcome'] as { properties: Record<string, { enum?: string[] }> };
    assert.ok(outcome.properties['verdict']?.enum?.includes('DROP'));
    assert.ok(outcome.properties['disposition']?.enum?.includes('DELIVERED_LOCAL'));
    assert.ok((schemas['ClusterPath'] as { properties: Record<string, { enum?: string[] }> }).properties['end']?.enum?.includes('LEFT_CLUSTER'));
  });

  it('every error response shows an example of its own status; no parameter example pre-fills Content-Encoding', () => {
    for (const [path, ops] of Object.entries(generated.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        for (const [status, response] of Object.entries(op.responses)) {
          if (Number(status) < 400) continue;
          const example = (response.content?.['application/problem+json'] as { example?: { status?: number } } | undefined)?.example;
          assert.equal(example?.status, Number(status), `${method.toUpperCase()} ${path} ${status}`);
        }
        for (const p of (op as { parameters?: { name: string; example?: unknown; examples?: unknown; schema?: { examples?: unknown } }[] }).parameters ?? []) {
          if (p.name === 'content-encoding') assert.equal(p.example ?? p.examples ?? p.schema?.examples, undefined);
        }
      }
    }
  });

  it('a strict generated client (openapi-typescript + openapi-fetch) type-checks a trace that reads `verdict`', async () => {
    const dir = await mkdtemp(join(REPO_ROOT, 'test', '.client-'));
    try {
      const types = astToString(await openapiTS(JSON.parse(await readFile(COMMITTED, 'utf8')) as Parameters<typeof openapiTS>[0]));
      await writeFile(join(dir, 'api.ts'), types);
      await writeFile(
        join(dir, 'client.ts'),
        `import createClient from 'openapi-fetch';
import type { paths } from './api.ts';
const client = createClient<paths>({ baseUrl: 'http://127.0.0.1:8080' });
export async function verdictOf(): Promise<'ACCEPT' | 'DROP' | 'QUEUE' | 'UNKNOWN' | 'none'> {
  const { data, error } = await client.POST('/api/v1/trace', { body: { node: 'n', packet: { src: '192.0.2.1', dst: '192.0.2.2', protocol: 'tcp', dport: 80 } } });
  if (error) return error.status === 404 ? 'none' : 'UNKNOWN';
  return data.outcomes?.[0]?.verdict ?? 'none';
}
export async function textOf(): Promise<string> {
  const { data } = await client.POST('/api/v1/trace/text', { body: { node: 'n', packet: { src: '192.0.2.1', dst: '192.0.2.2', protocol: 'tcp' } }, parseAs: 'text' });
  return data ?? '';
}
`,
      );
      const options: ts.CompilerOptions = { strict: true, noEmit: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, allowImportingTsExtensions: true, skipLibCheck: true, types: [] };
      const program = ts.createProgram([join(dir, 'client.ts')], options);
      const diagnostics = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, ' '));
      assert.deepEqual(diagnostics, []);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('the examples of every component schema validate against it', () => {
    const ajv = addFormats(new Ajv2020({ strict: false, allErrors: true }));
    const schemas = generated.components.schemas;
    // Component refs (#/components/schemas/X) resolve inside one wrapper document.
    ajv.addSchema({ $id: 'doc', components: { schemas } });
    let checked = 0;
    for (const [name, schema] of Object.entries(schemas)) {
      const examples = (schema['examples'] as unknown[] | undefined) ?? [];
      if (!examples.length) continue;
      const validate = ajv.getSchema(`doc#/components/schemas/${name}`);
      assert.ok(validate, name);
      for (const example of examples) {
        assert.ok(validate(example), `${name} example: ${JSON.stringify(validate.errors)}`);
        checked++;
      }
    }
    assert.ok(checked >= 8, `${checked} examples checked`);
  });

  it('GET /openapi.json serves the same document', async () => {
    const res = await api.request.get('/openapi.json').expect(200).expect('content-type', /application\/json/);
    assert.deepEqual(sortKeys(res.body), sortKeys(generated));
  });

  it('GET /docs serves Swagger UI', async () => {
    const res = await api.request.get('/docs').redirects(2).expect(200).expect('content-type', /text\/html/);
    assert.match(res.text, /swagger-ui/i);
    const init = await api.request.get('/docs/static/swagger-initializer.js').expect(200);
    assert.match(init.text, /SwaggerUIBundle/);
  });
});
