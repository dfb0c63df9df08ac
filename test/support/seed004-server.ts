// A served packetpath with tokens and the seed 004 cluster ("lab": master and
// node02 with their host files), set up as an operator would: the admin token
// from the CLI on the server's database, the rest through the API. Used by the
// dashboard's browser test and by scripts/screenshots.ts.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { FIXTURES, REPO_ROOT } from './paths.ts';

const run = promisify(execFile);
export const SEED004 = join(FIXTURES, 'seed004');
export const SEED004_NODES = ['master', 'node02'] as const;

/** `packetpath token create` with the bin, run in `cwd` against `databaseUrl`; returns the token. */
export async function createTokenWithCli(cwd: string, databaseUrl: string, scope: string, name: string): Promise<string> {
  const { stdout } = await run(process.execPath, [join(REPO_ROOT, 'bin', 'packetpath.mjs'), 'token', 'create', '--scope', scope, '--name', name], {
    cwd,
    env: { ...process.env, DATABASE_URL: databaseUrl, LOG_LEVEL: 'silent' },
  });
  const token = /ppt_[0-9a-f]{12}_\S+/.exec(stdout)?.[0];
  if (!token) throw new Error(`no token in: ${stdout}`);
  return token;
}

async function api(base: string, token: string, method: string, path: string, body: unknown, type = 'application/json'): Promise<unknown> {
  const res = await fetch(`${base}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': type },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return JSON.parse(text) as unknown;
}

/** A token of `scope` created through POST /tokens with an admin token. */
export async function createTokenWithApi(base: string, admin: string, scope: string, name: string): Promise<string> {
  return ((await api(base, admin, 'POST', '/tokens', { scope, name })) as { token: string }).token;
}

/** Uploads master and node02 (dump, host file, cluster "lab") as README's "seed 004 story, by curl" does. */
export async function uploadSeed004(base: string, token: string, cluster = 'lab'): Promise<void> {
  for (const node of SEED004_NODES) {
    const body = {
      dump: readFileSync(join(SEED004, `${node}.txt`), 'utf8'),
      host: JSON.parse(readFileSync(join(SEED004, `${node}.host.json`), 'utf8')) as unknown,
      cluster,
    };
    await api(base, token, 'POST', `/nodes/${node}/dumps`, body);
  }
}

/** Uploads a dump as plain text (iptables-save). */
export async function uploadText(base: string, token: string, node: string, dump: string): Promise<void> {
  await api(base, token, 'POST', `/nodes/${encodeURIComponent(node)}/dumps`, dump, 'text/plain');
}

/** The seed 004 packet: a browser's request to the nginx Service, arriving on master's eth0. */
export const SEED004_PACKET = { src: '192.0.2.100', dst: '10.108.94.160', protocol: 'tcp', sport: '51000', dport: '80', interface: 'eth0' } as const;
export const SEED004_FIX = '-A FORWARD -i flannel.1 -d 10.224.2.0/24 -j ACCEPT';
