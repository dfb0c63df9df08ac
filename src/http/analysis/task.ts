// What the analysis worker is sent and answers (plain data: it crosses threads by structured clone).
import type { DumpFormat, Family, Finding, KubeService } from '../../netfilter/index.ts';

export type AnalysisKind = 'findings' | 'services';

export interface AnalysisTask {
  readonly kind: AnalysisKind;
  /** The version's uploaded text (rule lines and diagnostics refer to it). */
  readonly text: string;
  readonly family: Family;
  readonly format: DumpFormat;
  /** The host file stored with the version (findings only), as JSON. */
  readonly hostJson: string | null;
}

export type AnalysisResult =
  | { readonly kind: 'findings'; readonly findings: Finding[]; readonly threadId: number }
  | { readonly kind: 'services'; readonly services: (Omit<KubeService, 'externalIPs' | 'loadBalancerIPs' | 'endpoints' | 'masqueradeRules' | 'noEndpointRules'> & Record<string, unknown>)[]; readonly threadId: number };
