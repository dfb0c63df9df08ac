// A node's kube-proxy Services, from whichever mode wrote them: the KUBE-*
// chains of its iptables dump (iptables mode) and the `kube-proxy` table of
// its nft ruleset (nftables mode). Both are analysed in a worker, cached by
// the text they read.
import type { FastifyInstance } from 'fastify';
import type { Family } from '../netfilter/index.ts';
import { NotFoundError, type DumpInfo } from '../store/index.ts';
import type { AnalysisResult } from './analysis/task.ts';
import { nodeDumps } from './node-netfilter.ts';
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
  let iptables: DumpInfo | null;
  let nft: DumpInfo | null;
  if (pinned !== undefined) {
    const d = await dumpInfo(app, pinned);
    if (!d || d.node !== node) throw new NotFoundError(`node "${node}" has no dump ${pinned}`);
    [iptables, nft] = d.family === 'nft' ? [null, d] : [d, null];
  } else ({ iptables, nft } = await nodeDumps(app, node, family));
  const [fromIptables, fromNft] = await Promise.all([iptables ? servicesOf(app, iptables, family) : [], nft ? servicesOf(app, nft, family) : []]);
  const services = [...fromIptables, ...fromNft];
  const modes = [...(fromIptables.length ? ['iptables'] : []), ...(fromNft.length ? ['nftables'] : [])];
  return { dump: (iptables ?? nft)!.id, ...(nft ? { nftDump: nft.id } : {}), modes, services };
}
