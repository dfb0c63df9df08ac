// The agent as its image ships it: Dockerfile.agent's final stage is laid out
// in a temporary directory from the Dockerfile itself (its COPY lines; the
// dependencies stage's npm commands really run, so production dependencies
// without install scripts: no Prisma client, no SQLite build), and its
// ENTRYPOINT is started there: `--help`, then one `--once` collection in a
// private network namespace, uploaded to a stub server on a unix socket.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { REPO_ROOT } from '../support/paths.ts';

interface Stage { readonly name: string; readonly lines: string[] }

/** Dockerfile instructions per stage, continuation lines joined. */
function readStages(text: string): Stage[] {
  const stages: Stage[] = [];
  const joined = text.replace(/\\\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  for (const line of joined) {
    const from = /^FROM\s+\S+(?:\s+AS\s+(\S+))?/i.exec(line);
    if (from) stages.push({ name: from[1] ?? String(stages.length), lines: [] });
    else stages.at(-1)?.lines.push(line);
  }
  return stages;
}

/** .dockerignore as a predicate on context-relative paths (the patterns this repository uses: names, paths, `*` globs). */
function readDockerignore(): (relPath: string) => boolean {
  const patterns = readFileSync(join(REPO_ROOT, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const regexes = patterns.map((p) => new RegExp('^' + p.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*') + '(/|$)'));
  return (relPath) => regexes.some((r) => r.test(relPath));
}
const ignored = readDockerignore();

const canUnshare = spawnSync('unshare', ['--net', '--mount', 'true']).status === 0;

/** Lays out one stage under `root` (its WORKDIR), running only its npm commands. */
function layOut(stage: Stage, stages: Map<string, string>, root: string): string[] {
  let entrypoint: string[] = [];
  for (const line of stage.lines) {
    const [op, ...rest] = line.split(/\s+/);
    const args = rest.join(' ');
    if (op === 'COPY') {
      const words = args.split(/\s+/);
      const fromFlag = words[0]!.startsWith('--from=') ? words.shift()!.slice(7) : undefined;
      const target = words.pop()!;
      const dest = join(root, target);
      for (const src of words) {
        // From another stage: the dependencies stage's directory; a build stage's output is what the
        // repository's own build made (npm ci runs it), so it is taken from the working tree.
        const inStage = fromFlag ? stages.get(fromFlag) : undefined;
        const relSrc = src.replace(/^\/app\/?/, '');
        const from = join(inStage && existsSync(join(inStage, relSrc)) ? inStage : REPO_ROOT, relSrc);
        // Docker's rules: a directory's contents go to the target; a file goes into a target
        // that ends in '/' (or takes several sources), else becomes the target.
        const into = target.endsWith('/') || words.length > 1;
        const to = statSync(from).isDirectory() || !into ? dest : join(dest, basename(src));
        mkdirSync(dirname(to), { recursive: true });
        cpSync(from, to, { recursive: true, filter: (f) => !f.startsWith(REPO_ROOT + '/') || !ignored(relative(REPO_ROOT, f)) });
      }
    } else if (op === 'RUN') {
      for (const cmd of args.split('&&').map((c) => c.trim())) {
        if (!/^npm (ci|install)\b/.test(cmd) || cmd.includes(' -g ')) continue;
        const r = spawnSync('sh', ['-c', `${cmd} --prefer-offline --no-audit --no-fund`], { cwd: root, encoding: 'utf8', env: { ...process.env, NODE_ENV: 'production' } });
        assert.equal(r.status, 0, `${cmd}: ${r.stderr}`);
      }
    } else if (op === 'ENTRYPOINT') {
      entrypoint = JSON.parse(args) as string[];
    }
  }
  return entrypoint;
}

describe('the agent image (Dockerfile.agent layout)', { timeout: 300_000 }, () => {
  const work = mkdtempSync(join(tmpdir(), 'pp-agent-image-'));
  const app = join(work, 'app');
  let entrypoint: string[] = [];
  const uploads: { path: string; body: unknown }[] = [];
  let server: Server;
  const socket = join(work, 'server.sock');

  before(() => {
    const stages = readStages(readFileSync(join(REPO_ROOT, 'Dockerfile.agent'), 'utf8'));
    const dirs = new Map<string, string>();
    for (const stage of stages.slice(0, -1)) {
      // The production-dependency stage really runs (that is what the image holds); a build stage's
      // output is what this checkout's own build made (`npm ci` runs it through `prepare`).
      if (!stage.lines.some((l) => l.startsWith('RUN') && l.includes('--omit=dev'))) {
        dirs.set(stage.name, REPO_ROOT);
        continue;
      }
      const dir = join(work, 'stage-' + stage.name);
      mkdirSync(dir, { recursive: true });
      layOut(stage, dirs, dir);
      dirs.set(stage.name, dir);
    }
    assert.ok(existsSync(join(REPO_ROOT, 'dist', 'cli', 'main.js')), 'dist/ is built (npm ci runs `npm run build`)');
    mkdirSync(app, { recursive: true });
    entrypoint = layOut(stages.at(-1)!, dirs, app);
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks);
        const text = req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw).toString('utf8') : raw.toString('utf8');
        uploads.push({ path: req.url ?? '', body: text ? JSON.parse(text) : null });
        res.writeHead(201, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ id: 'v1', node: 'imgnode', sha256: 'a'.repeat(64), created: true, createdAt: new Date().toISOString() }));
      });
    });
    return new Promise<void>((ok) => server.listen(socket, ok));
  });
  after(() => {
    server?.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('holds no generated Prisma client and no SQLite build', () => {
    assert.ok(entrypoint.length > 0, 'Dockerfile.agent has an ENTRYPOINT');
    assert.equal(existsSync(join(app, 'src/generated')), false);
    assert.equal(existsSync(join(app, 'node_modules/better-sqlite3/build')), false);
  });

  it('starts: `--help` exits 0 and prints the usage', () => {
    const r = spawnSync(entrypoint[0]!, [...entrypoint.slice(1), '--help'], { cwd: app, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /--server URL/);
  });

  it('collects and uploads once (private network namespace, stub server on a unix socket)', { skip: canUnshare ? false : 'cannot create a network namespace here' }, async () => {
    const token = join(work, 'token');
    writeFileSync(token, 'ppt_0123456789ab_' + 'A'.repeat(43) + '\n');
    // Asynchronously: the stub server answers from this process's event loop.
    const rules = join(work, 'rules.save');
    writeFileSync(rules, '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n-A FORWARD -s 192.0.2.0/24 -j ACCEPT\nCOMMIT\n');
    // The namespace gets a ruleset first (inside it, never the machine's own), then the agent runs there.
    const run = await promisify(execFile)('unshare', ['--net', '--mount', 'sh', '-c', 'iptables-restore "$0" && exec "$@"', rules, entrypoint[0]!, ...entrypoint.slice(1), '--server', `unix:${socket}`, '--token-file', token, '--node', 'imgnode', '--once', '--state-dir', join(work, 'state')], { cwd: app });
    const upload = uploads.find((u) => u.path.includes('imgnode') && u.body !== null);
    assert.ok(upload,  `uploads: ${JSON.stringify(uploads.map((u) => u.path))}; agent said: ${run.stdout}${run.stderr}`);
    assert.match(JSON.stringify(upload.body), /-A FORWARD -s 192\.0\.2\.0\/24 -j ACCEPT/);
  });

  // A fake `nft` first on PATH, as the image would run the real one: its JSON listing goes up byte for
  // byte with its version; a listing past --nft-timeout is killed, reported, and the rest still goes.
  const runWithFakeNft = async (node: string, listing: string, extra: string[] = []) => {
    const bin = join(work, `bin-${node}`);
    mkdirSync(bin, { recursive: true });
    writeFileSync(join(bin, 'nft'), `#!/bin/sh\ncase "$*" in\n  --version) echo 'nftables v1.0.9 (Old Doc Yago)' ;;\n  '-j list ruleset') ${listing} ;;\n  *) echo "fake nft: $*" >&2; exit 1 ;;\nesac\n`, { mode: 0o755 });
    const token = join(work, 'token');
    writeFileSync(token, 'ppt_0123456789ab_' + 'A'.repeat(43) + '\n');
    const rules = join(work, 'rules.save');
    writeFileSync(rules, '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n-A FORWARD -s 192.0.2.0/24 -j ACCEPT\nCOMMIT\n');
    const args = ['--server', `unix:${socket}`, '--token-file', token, '--node', node, '--once', '--state-dir', join(work, `state-${node}`), '--kube-proxy-url', 'none', ...extra];
    const run = await promisify(execFile)('unshare', ['--net', '--mount', 'sh', '-c', 'iptables-restore "$0" && exec "$@"', rules, entrypoint[0]!, ...entrypoint.slice(1), ...args], {
      cwd: app,
      env: { ...process.env, PATH: `${bin}:${process.env['PATH'] ?? ''}` },
    });
    const upload = uploads.find((u) => u.path.includes(node) && u.body !== null);
    assert.ok(upload, `uploads: ${JSON.stringify(uploads.map((u) => u.path))}; agent said: ${run.stdout}${run.stderr}`);
    return { body: upload.body as { dump?: string; nft?: string; host?: { kernel?: string; nft?: { status: string; version?: string; detail?: string }; kubeProxy?: { mode: string | null; source: string } } }, log: run.stdout };
  };

  it('collects `nft -j list ruleset` (fake nft on PATH) with nft’s version, the kernel and the inferred kube-proxy mode', { skip: canUnshare ? false : 'cannot create a network namespace here' }, async () => {
    const json = JSON.stringify({ nftables: [{ metainfo: { version: '1.0.9', json_schema_version: 1 } }, { table: { family: 'ip', name: 'kube-proxy', handle: 1 } }, { chain: { family: 'ip', table: 'kube-proxy', name: 'services', handle: 2 } }] });
    const listing = join(work, 'listing.json');
    writeFileSync(listing, json);
    const { body } = await runWithFakeNft('imgnft', `cat '${listing}'`);
    assert.equal(body.nft, json);
    assert.match(body.dump ?? '', /-A FORWARD -s 192\.0\.2\.0\/24 -j ACCEPT/);
    assert.deepEqual(body.host?.nft, { status: 'ok', version: '1.0.9' });
    assert.equal(body.host?.kernel, readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim());
    assert.deepEqual([body.host?.kubeProxy?.mode, body.host?.kubeProxy?.source], ['nftables', 'inferred']);
  });

  it('reports an nft listing that outlives --nft-timeout, and uploads the rest', { skip: canUnshare ? false : 'cannot create a network namespace here' }, async () => {
    const { body, log } = await runWithFakeNft('imgslow', 'exec sleep 30', ['--nft-timeout', '500ms']);
    assert.equal(body.nft, undefined);
    assert.match(body.dump ?? '', /-A FORWARD -s 192\.0\.2\.0\/24 -j ACCEPT/);
    assert.equal(body.host?.nft?.status, 'timeout');
    assert.match(body.host?.nft?.detail ?? '', /timed out after \d+ ms/);
    assert.match(log, /nft -j list ruleset timed out/);
  });
});
