// The collection agent: collect → keep on disk → deliver, once or every
// interval.
//
// Delivery of a snapshot, per part (the node, and its legacy companion when
// there is one): when the host/cluster/labels fingerprint equals the one of
// the last upload the server accepted, and the server's latest sha256 of each
// family equals the snapshot's, nothing but counters changed: the upload is
// skipped. Otherwise the part is uploaded (gzip JSON): when the server has
// the text this agent last uploaded for a family (its sha256 is kept in the
// state, the text under bases/), the dump goes as a delta of it (`delta`:
// a line edit script, counters that moved apart), else whole; a delta the
// server refuses (409: another upload came between, or the server lost it;
// 422: it could not apply it; 400: a server older than deltas) is followed
// at once by the whole text.
//
// Failures: 401/403 stop the agent (exit 3); other 4xx drop the snapshot (the
// server will never take it; exit 5 with --once); network errors, timeouts,
// 429 and 5xx are retried with exponential backoff and jitter (honouring
// Retry-After) while the snapshot stays in the state directory; with --once,
// after --retries the agent exits 4 and the next run sends it first.
import { createHash } from 'node:crypto';
import { makeLineScript } from '../store/line-script.ts';
import { ApiError, type ServerClient, type UploadResponse } from './client.ts';
import { collect, CollectError, type CollectOptions } from './collect.ts';
import type { Runner } from './exec.ts';
import type { Logger } from './log.ts';
import { buildSnapshot, sameTarget, type DeltaUploadBody, type Snapshot, type SnapshotTarget, type UploadDelta, type UploadPart } from './snapshot.ts';
import type { Accepted, AgentState } from './state.ts';

export const EXIT = {
  OK: 0,
  /** Nothing could be collected. */
  COLLECT_FAILED: 1,
  USAGE: 2,
  /** The server refused the token (401) or its scope/cluster (403). */
  AUTH: 3,
  /** The server could not be reached (or kept failing): the snapshot is kept for the next run. */
  UNDELIVERED: 4,
  /** The server rejected the snapshot for good (4xx): it was dropped. */
  REJECTED: 5,
} as const;

export interface AgentOptions {
  /** The server's identity (`serverIdentity`): a kept snapshot is sent only to the server, node and cluster it was taken for. */
  readonly server: string;
  readonly node: string;
  readonly cluster?: string | undefined;
  readonly labels?: Readonly<Record<string, string>>;
  readonly intervalMs: number;
  readonly once: boolean;
  /** Per command time limit. */
  readonly timeoutMs: number;
  /** Time limit of `nft -j list ruleset` (default: timeoutMs). */
  readonly nftTimeoutMs?: number;
  /** kube-proxy's /proxyMode URL (default http://127.0.0.1:10249/proxyMode); null: infer the mode only. */
  readonly proxyModeUrl?: string | null;
  /** With --once: further attempts after the first failed one. */
  readonly retries: number;
  readonly minBackoffMs: number;
  readonly maxBackoffMs: number;
}

export interface AgentDeps {
  readonly client: ServerClient;
  readonly state: AgentState;
  readonly log: Logger;
  readonly run: Runner;
  readonly readFile?: CollectOptions['readFile'];
  readonly readProxyMode?: CollectOptions['readProxyMode'];
  /** Aborting stops the loop (SIGTERM/SIGINT). */
  readonly signal?: AbortSignal;
  readonly random?: () => number;
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly now?: () => Date;
}

/** Exponential backoff with jitter: attempt n (1-based) waits between half and all of min(max, base·2^(n-1)), at least Retry-After. */
export function backoffMs(attempt: number, options: { minBackoffMs: number; maxBackoffMs: number }, random: () => number = Math.random, retryAfterMs?: number): number {
  const ceiling = Math.min(options.maxBackoffMs, options.minBackoffMs * 2 ** Math.max(0, attempt - 1));
  const jittered = Math.round(ceiling / 2 + (random() * ceiling) / 2);
  return Math.max(jittered, Math.min(retryAfterMs ?? 0, options.maxBackoffMs));
}

export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, Math.max(0, ms));
    function done(): void {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

type Delivery = { ok: true; uploaded: number; skipped: number } | { ok: false; error: ApiError };

/** A delta is sent only when its script is at most this fraction of the text (else the whole text is simpler). */
const DELTA_MAX_FRACTION = 0.5;

const sha256Of = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

/**
 * A delta the server refuses (409 stale base, 422 a script it cannot apply, 400 from a server
 * older than deltas, any other 4xx) is followed at once by the whole text, which gets its own verdict.
 */
const deltaRefused = (err: unknown): err is ApiError => err instanceof ApiError && err.kind === 'rejected';

export class Agent {
  private readonly log: Logger;
  private readonly now: () => Date;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  private readonly random: () => number;

  constructor(
    readonly options: AgentOptions,
    readonly deps: AgentDeps,
  ) {
    this.log = deps.log;
    this.now = deps.now ?? (() => new Date());
    this.sleep = deps.sleep ?? abortableSleep;
    this.random = deps.random ?? Math.random;
  }

  /** Collects and builds a snapshot; null (logged) when there is nothing to upload. Throws CollectError. */
  async collectSnapshot(): Promise<Snapshot | null> {
    const started = Date.now();
    const c = await collect({
      run: this.deps.run,
      timeoutMs: this.options.timeoutMs,
      log: this.log,
      now: this.now,
      ...(this.deps.readFile ? { readFile: this.deps.readFile } : {}),
      ...(this.options.nftTimeoutMs !== undefined ? { nftTimeoutMs: this.options.nftTimeoutMs } : {}),
      ...(this.options.proxyModeUrl !== undefined ? { proxyModeUrl: this.options.proxyModeUrl } : {}),
      ...(this.deps.readProxyMode ? { readProxyMode: this.deps.readProxyMode } : {}),
    });
    const warnings = [...c.warnings];
    let snapshot: Snapshot;
    try {
      snapshot = buildSnapshot(c, { server: this.options.server, node: this.options.node, cluster: this.options.cluster, labels: this.options.labels ?? {} }, warnings);
    } catch (err) {
      // prepareDump could not read a dump that has tables: report it like a failed command.
      throw new CollectError(`cannot read the collected rulesets: ${(err as Error).message}`);
    }
    for (const w of warnings) this.log.warn('collection warning', { warning: w });
    if (snapshot.parts.length === 0) {
      this.log.warn('no iptables or nft tables on this node: nothing to upload', { node: this.options.node });
      return null;
    }
    this.log.info('collected', {
      node: this.options.node,
      durationMs: Date.now() - started,
      backend: snapshot.parts[0]?.body.labels['packetpath.io/iptables-backend'],
      parts: snapshot.parts.map((p) => ({ node: p.node, family: p.body.family ?? 'nft', sha256: p.sha256, ...(p.ip6Sha256 ? { ip6Sha256: p.ip6Sha256 } : {}), ...(p.nftSha256 ? { nftSha256: p.nftSha256 } : {}) })),
      host: c.host !== null,
      nft: c.nft.status,
      ...(c.host?.kubeProxy ? { kubeProxy: c.host.kubeProxy } : {}),
    });
    return snapshot;
  }

  /** Whether the server already has this part (only counters may differ). */
  private async unchanged(part: UploadPart, accepted: Accepted): Promise<boolean> {
    const last = accepted[part.node];
    if (!last || last.metaSha !== part.metaSha) return false;
    if (last.sha256 !== part.sha256 || last.ip6Sha256 !== part.ip6Sha256 || last.nftSha256 !== part.nftSha256) return false;
    if (part.body.family !== undefined && (await this.deps.client.latestSha(part.node, part.body.family)) !== part.sha256) return false;
    if (part.ip6Sha256 !== undefined && (await this.deps.client.latestSha(part.node, 'ipv6')) !== part.ip6Sha256) return false;
    if (part.nftSha256 !== undefined && (await this.deps.client.latestSha(part.node, 'nft')) !== part.nftSha256) return false;
    return true;
  }

  /** A delta of `text` against the text last uploaded for the node and family, when the agent has it and the delta is small. */
  private async deltaOf(node: string, family: string, baseSha: string | undefined, text: string): Promise<UploadDelta | null> {
    if (!baseSha) return null;
    const base = await this.deps.state.readBase(node, family, baseSha);
    if (base === null) return null;
    const script = makeLineScript(base, text);
    if (JSON.stringify(script).length > text.length * DELTA_MAX_FRACTION) return null;
    return { base: baseSha, sha256: sha256Of(text), ...script };
  }

  /** The part's body with its dumps as deltas where it can. */
  private async deltaBody(part: UploadPart, accepted: Accepted): Promise<DeltaUploadBody | null> {
    const texts = accepted[part.node]?.texts;
    const body = part.body;
    if (!texts || body.dump === undefined) return null;
    const delta = await this.deltaOf(part.node, body.family, texts[body.family], body.dump);
    const ip6Delta = body.ip6Dump !== undefined ? await this.deltaOf(part.node, 'ipv6', texts.ipv6, body.ip6Dump) : null;
    if (!delta && !ip6Delta) return null;
    const { dump, ip6Dump, ...rest } = body;
    return { ...rest, ...(delta ? { delta } : { dump }), ...(ip6Delta ? { ip6Delta } : ip6Dump !== undefined ? { ip6Dump } : {}) };
  }

  /** Uploads a part: as a delta when it can, the whole text when there is no base or the server refuses the delta. */
  private async upload(part: UploadPart, accepted: Accepted): Promise<UploadResponse> {
    const delta = await this.deltaBody(part, accepted);
    if (delta) {
      try {
        const res = await this.deps.client.upload(part.node, delta);
        this.log.info('uploaded as a delta of the last upload', { node: part.node, sentBytes: res.sentBytes });
        return res;
      } catch (err) {
        if (!deltaRefused(err)) throw err;
        this.log.warn('the server refused the delta; uploading the whole text', { node: part.node, status: err.status, detail: err.message });
      }
    }
    return this.deps.client.upload(part.node, part.body);
  }

  /** Keeps the dump texts just uploaded as the bases of the next deltas; their sha256s for accepted.json. */
  private async keepBases(part: UploadPart): Promise<{ texts?: { ipv4?: string; ipv6?: string } }> {
    const body = part.body;
    if (body.dump === undefined) return {};
    const texts: { ipv4?: string; ipv6?: string } = {};
    try {
      await this.deps.state.writeBase(part.node, body.family, body.dump);
      texts[body.family] = sha256Of(body.dump);
      if (body.ip6Dump !== undefined) {
        await this.deps.state.writeBase(part.node, 'ipv6', body.ip6Dump);
        texts.ipv6 = sha256Of(body.ip6Dump);
      }
    } catch (err) {
      // No base: the next upload is whole, nothing is lost.
      this.log.warn('could not keep the uploaded text for the next delta', { node: part.node, error: (err as Error).message });
    }
    return Object.keys(texts).length ? { texts } : {};
  }

  /** One attempt at delivering every part of a snapshot. */
  async deliver(snapshot: Snapshot): Promise<Delivery> {
    const accepted = await this.deps.state.readAccepted();
    let uploaded = 0;
    let skipped = 0;
    try {
      for (const part of snapshot.parts) {
        if (await this.unchanged(part, accepted)) {
          skipped++;
          this.log.info('unchanged since the last accepted upload (counters only): upload skipped', { node: part.node, sha256: part.sha256, collectedAt: snapshot.collectedAt });
          continue;
        }
        const res = await this.upload(part, accepted);
        uploaded++;
        this.log.info(res.created || res.ip6?.created || res.nft?.created ? 'uploaded: new version' : 'uploaded: same ruleset, host/counters updated', {
          node: part.node,
          status: res.status,
          id: res.id,
          sha256: res.sha256,
          created: res.created,
          ...(res.ip6 ? { ip6: res.ip6 } : {}),
          ...(res.nft ? { nft: res.nft } : {}),
          collectedAt: snapshot.collectedAt,
        });
        accepted[part.node] = {
          metaSha: part.metaSha,
          sha256: part.sha256,
          ...(part.ip6Sha256 ? { ip6Sha256: part.ip6Sha256 } : {}),
          ...(part.nftSha256 ? { nftSha256: part.nftSha256 } : {}),
          ...(await this.keepBases(part)),
          at: this.now().toISOString(),
        };
        await this.deps.state.writeAccepted(accepted);
      }
    } catch (err) {
      if (err instanceof ApiError) return { ok: false, error: err };
      throw err;
    }
    return { ok: true, uploaded, skipped };
  }

  private authFailure(error: ApiError): number {
    const why =
      error.status === 401
        ? 'the server rejected the token (401): check --token-file (is the token revoked, expired or from another server?)'
        : 'the server refused this token (403): its scope or cluster does not allow this upload (it needs scope "upload" and, for a cluster-limited token, the same --cluster)';
    this.log.error(why, { status: error.status, detail: error.message });
    return EXIT.AUTH;
  }

  /** Delivers with up to `retries` further attempts; returns an exit code (OK, AUTH, REJECTED or UNDELIVERED). */
  private async deliverWithRetries(snapshot: Snapshot, retries: number): Promise<number> {
    for (let attempt = 1; ; attempt++) {
      const r = await this.deliver(snapshot);
      if (r.ok) {
        await this.deps.state.clearPending();
        return EXIT.OK;
      }
      if (r.error.kind === 'auth') return this.authFailure(r.error);
      if (r.error.kind === 'rejected') {
        this.log.error('the server rejected the snapshot; it is dropped', { status: r.error.status, detail: r.error.message, collectedAt: snapshot.collectedAt });
        await this.deps.state.clearPending();
        return EXIT.REJECTED;
      }
      if (attempt > retries || this.deps.signal?.aborted) {
        this.log.error('could not deliver the snapshot; it is kept for the next run', { detail: r.error.message, attempts: attempt, pending: this.deps.state.pendingPath });
        return EXIT.UNDELIVERED;
      }
      const wait = backoffMs(attempt, this.options, this.random, r.error.retryAfterMs);
      this.log.warn('delivery failed; retrying', { detail: r.error.message, attempt, retryInMs: wait });
      await this.sleep(wait, this.deps.signal);
    }
  }

  private get target(): SnapshotTarget {
    return { server: this.options.server, node: this.options.node, cluster: this.options.cluster ?? null };
  }

  /** The snapshot an earlier run kept, if it was taken for this run's server, node and cluster; one for another target is dropped, never sent here. */
  private async readKept(): Promise<Snapshot | null> {
    const kept = await this.deps.state.readPending((why) => this.log.warn('ignoring an unreadable pending snapshot', { why }));
    if (!kept || sameTarget(kept.target, this.target)) return kept;
    this.log.warn('dropping the snapshot kept from an earlier run: it was taken for another server, node or cluster', { keptFor: kept.target, now: this.target, collectedAt: kept.collectedAt });
    await this.deps.state.clearPending();
    return null;
  }

  /** `--once`: send what an earlier run kept, collect, deliver. */
  async runOnce(): Promise<number> {
    await this.deps.state.init();
    const kept = await this.readKept();
    let undelivered = false;
    if (kept) {
      this.log.info('sending the snapshot kept from an earlier run', { collectedAt: kept.collectedAt });
      const code = await this.deliverWithRetries(kept, this.options.retries);
      if (code === EXIT.AUTH) return code;
      undelivered = code === EXIT.UNDELIVERED;
    }
    let snapshot: Snapshot | null;
    try {
      snapshot = await this.collectSnapshot();
    } catch (err) {
      if (!(err instanceof CollectError)) throw err;
      this.log.error('collection failed', { error: err.message });
      return undelivered ? EXIT.UNDELIVERED : EXIT.COLLECT_FAILED;
    }
    if (!snapshot) return undelivered ? EXIT.UNDELIVERED : EXIT.OK;
    await this.deps.state.writePending(snapshot);
    if (undelivered) {
      this.log.error('the server is unreachable: the new snapshot replaces the kept one, for the next run', { pending: this.deps.state.pendingPath });
      return EXIT.UNDELIVERED;
    }
    return this.deliverWithRetries(snapshot, this.options.retries);
  }

  /** The daemon: collect every interval, deliver with backoff, until the signal aborts. */
  async runLoop(): Promise<number> {
    await this.deps.state.init();
    const signal = this.deps.signal;
    let pending = await this.readKept();
    if (pending) this.log.info('sending the snapshot kept from an earlier run', { collectedAt: pending.collectedAt });
    let nextCollect = Date.now();
    let nextAttempt = Date.now();
    let failures = 0;
    while (!signal?.aborted) {
      if (pending && Date.now() >= nextAttempt) {
        const r = await this.deliver(pending);
        if (r.ok) {
          await this.deps.state.clearPending();
          pending = null;
          failures = 0;
        } else if (r.error.kind === 'auth') {
          return this.authFailure(r.error);
        } else if (r.error.kind === 'rejected') {
          this.log.error('the server rejected the snapshot; it is dropped', { status: r.error.status, detail: r.error.message, collectedAt: pending.collectedAt });
          await this.deps.state.clearPending();
          pending = null;
          failures = 0;
        } else {
          failures++;
          const wait = backoffMs(failures, this.options, this.random, r.error.retryAfterMs);
          nextAttempt = Date.now() + wait;
          this.log.warn('delivery failed; the snapshot is kept and retried', { detail: r.error.message, failures, retryInMs: wait, pending: this.deps.state.pendingPath });
        }
        continue;
      }
      if (Date.now() >= nextCollect) {
        nextCollect = Date.now() + this.options.intervalMs;
        try {
          const snapshot = await this.collectSnapshot();
          if (snapshot) {
            await this.deps.state.writePending(snapshot);
            pending = snapshot;
            if (failures === 0) nextAttempt = Date.now();
          }
        } catch (err) {
          if (!(err instanceof CollectError)) throw err;
          this.log.error('collection failed; trying again at the next interval', { error: err.message, nextInMs: this.options.intervalMs });
        }
        continue;
      }
      const until = pending ? Math.min(nextCollect, nextAttempt) : nextCollect;
      await this.sleep(until - Date.now(), signal);
    }
    this.log.info('stopping', { pending: pending !== null });
    return EXIT.OK;
  }

  run(): Promise<number> {
    return this.options.once ? this.runOnce() : this.runLoop();
  }
}
