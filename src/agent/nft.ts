// The node's native nftables ruleset and what says how to read it:
//  - `nft -j list ruleset` with its own time limit (at 44k Services a listing
//    has taken 40 s upstream): a timeout is reported as such (the upload says
//    so in `host.nft`) and the rest of the snapshot is still uploaded;
//  - `nft --version` and the kernel release (kube-proxy's nftables mode needs
//    nft ≥ 1.0.1 and a kernel ≥ 5.13);
//  - kube-proxy's mode: its `/proxyMode` endpoint (127.0.0.1:10249, no
//    privilege needed), else inferred from the rulesets, and said so.
import { request } from 'node:http';
import { release } from 'node:os';
import { describeFailure, succeeded, type CommandResult, type Runner } from './exec.ts';

/** How the nft listing went; `ok` with the text, or why there is none. */
export type NftStatus = 'ok' | 'timeout' | 'missing' | 'failed' | 'too-large' | 'unreadable';

export interface NftCapture {
  readonly status: NftStatus;
  /** `nft -j list ruleset` stdout, exactly as printed (status ok). */
  readonly text?: string;
  /** Why there is no text (status other than ok). */
  readonly detail?: string;
}

/** What the upload's `host.nft` says (`text` is uploaded as `nft`). */
export interface NftFacts {
  readonly status: NftStatus;
  /** `nft --version`: `1.0.9` of `nftables v1.0.9 (Old Doc Yago)`. */
  readonly version?: string;
  readonly detail?: string;
}

export type KubeProxyMode = 'iptables' | 'nftables' | 'ipvs' | string;

/** What the upload's `host.kubeProxy` says. */
export interface KubeProxyFacts {
  /** null: not known (no endpoint answered and the rulesets hold no kube-proxy rules). */
  readonly mode: KubeProxyMode | null;
  /** `endpoint`: kube-proxy said so on /proxyMode; `inferred`: from its tables and chains. */
  readonly source: 'endpoint' | 'inferred';
  /** How it was inferred, or why the endpoint did not answer. */
  readonly detail?: string;
}

export const DEFAULT_PROXY_MODE_URL = 'http://127.0.0.1:10249/proxyMode';

/** `nft -j list ruleset`, time-limited. Never throws. */
export async function collectNftRuleset(run: Runner, timeoutMs: number): Promise<NftCapture> {
  const r = await run('nft', ['-j', 'list', 'ruleset'], { timeoutMs });
  if (succeeded(r)) return { status: 'ok', text: r.stdout };
  return { status: failureStatus(r), detail: describeFailure(r) };
}

function failureStatus(r: CommandResult): NftStatus {
  if (r.missing) return 'missing';
  if (r.timedOut) return 'timeout';
  if (r.tooLarge) return 'too-large';
  return 'failed';
}

/** `1.0.9` from `nftables v1.0.9 (Old Doc Yago)`; undefined when nft did not say. */
export async function nftVersion(run: Runner, timeoutMs: number): Promise<string | undefined> {
  const r = await run('nft', ['--version'], { timeoutMs });
  if (!succeeded(r)) return undefined;
  return /\bv?(\d+\.\d+(?:\.\d+)*)/.exec(r.stdout)?.[1];
}

/** The kernel release (`uname -r`), read from /proc (the container's own kernel is the node's). */
export async function kernelRelease(read: (path: string) => Promise<string>): Promise<string> {
  try {
    const text = (await read('/proc/sys/kernel/osrelease')).trim();
    if (text) return text;
  } catch {
    /* fall back to what Node.js read at start */
  }
  return release();
}

/** GET of kube-proxy's /proxyMode: its mode, or why not. Never throws. */
export function readProxyMode(url: string, timeoutMs: number): Promise<{ mode: string } | { error: string }> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (v: { mode: string } | { error: string }): void => {
      if (!done) resolve(v);
      done = true;
    };
    let req;
    try {
      req = request(url, { method: 'GET', timeout: timeoutMs }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size <= 256) chunks.push(c);
        });
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8').trim();
          if (res.statusCode !== 200) return finish({ error: `${url}: HTTP ${res.statusCode}` });
          // kube-proxy answers one word: iptables, nftables, ipvs (kernelspace on Windows).
          if (!/^[a-z]{2,32}$/.test(body)) return finish({ error: `${url}: not a proxy mode: ${JSON.stringify(body.slice(0, 40))}` });
          finish({ mode: body });
        });
        res.on('error', (err) => finish({ error: `${url}: ${err.message}` }));
      });
    } catch (err) {
      return finish({ error: `${url}: ${(err as Error).message}` });
    }
    req.on('timeout', () => {
      req.destroy();
      finish({ error: `${url}: no answer within ${timeoutMs} ms` });
    });
    req.on('error', (err: NodeJS.ErrnoException) => finish({ error: `${url}: ${err.code ?? err.message}` }));
    req.end();
  });
}

const KUBE_PROXY_NFT_JSON = /"table"\s*:\s*\{\s*"family"\s*:\s*"ip6?"\s*,\s*"name"\s*:\s*"kube-proxy"/;
const KUBE_PROXY_NFT_TEXT = /^\s*table\s+ip6?\s+kube-proxy\b/m;
const KUBE_IPTABLES_CHAIN = /^:KUBE-(SERVICES|NODEPORTS|SVC-[A-Z0-9]+|SEP-[A-Z0-9]+)\s/m;
const KUBE_IPVS_SET = /--match-set KUBE-CLUSTER-IP\b/;

/**
 * kube-proxy's mode from what it left in the rulesets: its `ip kube-proxy` /
 * `ip6 kube-proxy` nft tables (nftables mode), its KUBE-* iptables chains
 * (iptables mode; ipvs mode when they match its KUBE-CLUSTER-IP ipset).
 * Both present (a node moved between modes keeps the old mode's leftovers
 * until cleanup): nftables, and the detail says so.
 */
export function inferProxyMode(iptablesTexts: readonly string[], nft: string | undefined): KubeProxyFacts {
  const nftTables = nft !== undefined && (KUBE_PROXY_NFT_JSON.test(nft) || KUBE_PROXY_NFT_TEXT.test(nft));
  const chains = iptablesTexts.some((t) => KUBE_IPTABLES_CHAIN.test(t));
  const ipvs = chains && iptablesTexts.some((t) => KUBE_IPVS_SET.test(t));
  if (nftTables) {
    return { mode: 'nftables', source: 'inferred', detail: `kube-proxy's nft table (ip/ip6 kube-proxy) is present${chains ? '; KUBE-* iptables chains too (leftovers of another mode?)' : ''}` };
  }
  if (ipvs) return { mode: 'ipvs', source: 'inferred', detail: 'KUBE-* iptables chains matching the KUBE-CLUSTER-IP ipset' };
  if (chains) return { mode: 'iptables', source: 'inferred', detail: 'KUBE-* iptables chains (KUBE-SERVICES, KUBE-SVC-*, ...) and no kube-proxy nft table' };
  return { mode: null, source: 'inferred', detail: 'no kube-proxy rules in the rulesets' };
}
