// Driving the /ui dashboard in Debian's Chromium as a person does (fill,
// select, click), shared by its browser test and scripts/screenshots.ts.
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { SEED004_PACKET } from './seed004-server.ts';

export const CHROMIUM = '/usr/bin/chromium';
export const chromiumAvailable = (): boolean => existsSync(CHROMIUM);

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** Pastes a token into the header's form and uses it. */
export async function useToken(page: Page, token: string): Promise<void> {
  await page.getByLabel('API token').fill(token);
  await page.getByRole('button', { name: 'Use token' }).click();
}

/** What to put in the trace form; fields left out keep what the form shows. */
export interface TraceForm {
  readonly cluster?: string;
  readonly from?: string;
  readonly node?: string;
  readonly in?: string;
  readonly src?: string;
  readonly dst?: string;
  readonly protocol?: string;
  readonly sport?: string;
  readonly dport?: string;
  /** Shown for icmp and icmpv6 only (the ports then hidden). */
  readonly icmpType?: string;
  /** Conntrack state (the form says NEW unless told). */
  readonly state?: string;
  readonly mark?: string;
  /** What-if commands (one per line) and, for a cluster trace, the node they apply on. */
  readonly changes?: { readonly node?: string; readonly commands: string };
}

/** Opens the trace view from the menu, fills the form (a cluster trace with `cluster`, else one node) and presses Trace. */
export async function submitTrace(page: Page, form: TraceForm): Promise<void> {
  await page.getByRole('link', { name: 'Trace', exact: true }).click();
  const select = async (label: string, value: string | undefined) => void (value !== undefined && (await page.getByLabel(label, { exact: true }).selectOption(value)));
  const fill = async (label: string, value: string | undefined) => void (value !== undefined && (await page.getByLabel(label, { exact: true }).fill(value)));
  await select('Trace', form.cluster !== undefined ? 'cluster' : 'node');
  await select('Cluster', form.cluster);
  await select('From node', form.from);
  await select('Node', form.node);
  await fill('In interface', form.in);
  await fill('Source', form.src);
  await fill('Destination', form.dst);
  await select('Protocol', form.protocol);
  await fill('Source port', form.sport);
  await fill('Destination port', form.dport);
  await fill('ICMP type', form.icmpType);
  await select('Conntrack state', form.state);
  await fill('Mark', form.mark);
  if (form.changes) {
    await page.getByText('What if…').click();
    await select('Apply on node', form.changes.node);
    await fill('Changes, one command per line', form.changes.commands);
  }
  await page.getByRole('button', { name: 'Trace', exact: true }).click();
}

/** The seed 004 packet across cluster "lab" from master (with what-if `changes` when given), until the answer shows. */
export async function traceSeed004(page: Page, changes?: { node: string; commands: string }): Promise<void> {
  const p = SEED004_PACKET;
  await submitTrace(page, { cluster: 'lab', from: 'master', in: p.interface, src: p.src, dst: p.dst, protocol: p.protocol, sport: p.sport, dport: p.dport, ...(changes ? { changes } : {}) });
  await page.locator('.trace-result h2', { hasText: 'Answer' }).waitFor({ timeout: 30_000 });
}
