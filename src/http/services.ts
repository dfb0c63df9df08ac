// The analyses of a node as a whole: its kube-proxy Services, from whichever
// mode wrote them (the KUBE-* chains of its iptables dump, the `kube-proxy`
// table of its nft ruleset), and its findings, the iptables dump's own and
// those across owners (lintNode). All run in a worker, cached by the texts
// they read.
import type { FastifyInstance } from 'fastify';
import type { Family } from '../netfilter/index.ts';
import { NotFoundError, type DumpInfo } from '../store/index.ts';
import type { AnalysisResult } from './analysis/task.ts';
import { hostJsonOf, nodeDumps } from './node-netfilter.ts';
import { dumpInfo, versionText } from './ruleset.ts';

type Service = Extract<AnalysisResult, { kind: 'services' }>['services'][number];

async function servicesOf(app: FastifyInstance, dump: DumpInfo, family: Family): Promise<Service[]> {
  // iptables: the uploaded text (rule lines are its lines); nft: the canonical text (no live values).
  const nft = dump.family === 'nft';
  const sha = nft ? dump.sha256 : dump.originalSha256;
  const text = await versionText(app, sha);
  const result = await app.analysis.run({ kind: 'services', text, family, format: nft ? 'nft-text' : (dump.format as Exclude<DumpInfo['format'], 'nft-json' | 'nft-text'>), hostJson: null }, sha);
  return result.kind === 'services' ? result.services : [];
}

export async function listNodeServices(app: FastifyInstance, node: string, pinned: number | undefined, family: Family) {
  const { iptables, nft } = await versionsOf(app, node, pinned, family);
  const [fromIptables, fromNft] = await Promise.all([iptables ? servicesOf(app, iptables, family) : [], nft ? servicesOf(app, nft, family) : []]);
  const services = [...fromIptables, ...fromNft];
  const modes = [...(fromIptables.length ? ['iptables'] : []), ...(fromNft.length ? ['nftables'] : [])];
  return { dump: (iptables ?? nft)!.id, ...(nft ? { nftDump: nft.id } : {}), modes, services };
}

/** The versions an analysis of the node reads: `pinned` alone, or the latest iptables (of `family`) and nft. */
async function versionsOf(app: FastifyInstance, node: string, pinned: number | undefined, family: Family): Promise<{ iptables: DumpInfo | null; nft: DumpInfo | null }> {
  if (pinned === undefined) return nodeDumps(app, node, family);
  const d = await dumpInfo(app, pinned);
  if (!d || d.node !== node) throw new NotFoundError(`node "${node}" has no dump ${pinned}`);
  return d.family === 'nft' ? { iptables: null, nft: d } : { iptables: d, nft: null };
}

/**
 * Findings of a node: its iptables dump's (lines are the uploaded text's), and with an nft
 * ruleset those across owners, which read both and the facts the agent reported in the host file.
 */
export async function nodeFindings(app: FastifyInstance, node: string, pinned: number | undefined, family: Family) {
  const { iptables, nft } = await versionsOf(app, node, pinned, family);
  const hostJson = await hostJsonOf(app, iptables, nft);
  const text = iptables ? await versionText(app, iptables.originalSha256) : '';
  const nftText = nft ? await versionText(app, nft.sha256) : undefined;
  const format = iptables ? (iptables.format as Exclude<DumpInfo['format'], 'nft-json' | 'nft-text'>) : 'iptables-save';
  const result = await app.analysis.run({ kind: 'findings', text, family, format, hostJson, ...(nftText !== undefined ? { nftText } : {}) }, iptables?.originalSha256 ?? '-');
  return { dump: (iptables ?? nft)!.id, ...(nft ? { nftDump: nft.id } : {}), findings: result.kind === 'findings' ? result.findings : [] };
}
