// nft in throw-away namespaces: every call is `unshare --net --mount nft ...`,
// never the namespace the tests run in.
import { inPrivateNs } from './private-ns.ts';

export interface NftRun {
  readonly ok: boolean;
  readonly stdout: string;
  readonly stderr: string;
}

async function run(args: string[], input: string, timeoutMs = 30_000): Promise<NftRun> {
  const r = await inPrivateNs(args, input, timeoutMs);
  return { ok: r.code === 0, stdout: r.stdout, stderr: r.stderr };
}

/** Loads `text` with `nft -f -` into a fresh namespace and returns `nft [-j] [-a] list ruleset` there. */
export function nftLoadAndList(text: string, opts: { json?: boolean; handles?: boolean } = {}): Promise<NftRun> {
  const list = `nft${opts.json ? ' -j' : ''}${opts.handles ? ' -a' : ''} list ruleset`;
  return run(['sh', '-c', `nft -f - || exit 111; exec ${list}`], text);
}

/** `nft -c -f -` (check only) in a fresh namespace. */
export function nftCheck(text: string): Promise<NftRun> {
  return run(['nft', '-c', '-f', '-'], text);
}

let avail: Promise<{ ok: true } | { ok: false; reason: string }> | undefined;

/** Can we run nft inside `unshare --net --mount`? Set PPTRACE_DISABLE to force "no". */
export function nftAvailable(): Promise<{ ok: true } | { ok: false; reason: string }> {
  avail ??= (async () => {
    const disabled = process.env['PPTRACE_DISABLE'];
    if (disabled) return { ok: false as const, reason: `kernel tests disabled by PPTRACE_DISABLE=${disabled}` };
    const r = await run(['nft', 'list', 'ruleset'], '', 15_000);
    return r.ok ? { ok: true as const } : { ok: false as const, reason: `unshare --net --mount nft list ruleset failed: ${r.stderr.trim()}` };
  })();
  return avail;
}
