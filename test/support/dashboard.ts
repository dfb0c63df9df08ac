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

/** On the trace view: the seed 004 packet across cluster "lab" from master; what-if `changes` on `changesOn` when given. */
export async function traceSeed004(page: Page, changes?: { node: string; commands: string }): Promise<void> {
  await page.getByRole('link', { name: 'Trace', exact: true }).click();
  await page.getByLabel('Trace', { exact: true }).selectOption('cluster');
  await page.getByLabel('Cluster').selectOption('lab');
  await page.getByLabel('From node').selectOption('master');
  await page.getByLabel('In interface').fill(SEED004_PACKET.interface);
  await page.getByLabel('Source', { exact: true }).fill(SEED004_PACKET.src);
  await page.getByLabel('Destination', { exact: true }).fill(SEED004_PACKET.dst);
  await page.getByLabel('Protocol').selectOption(SEED004_PACKET.protocol);
  await page.getByLabel('Source port').fill(SEED004_PACKET.sport);
  await page.getByLabel('Destination port').fill(SEED004_PACKET.dport);
  if (changes) {
    await page.getByText('What if…').click();
    await page.getByLabel('Apply on node').selectOption(changes.node);
    await page.getByLabel('Changes, one command per line').fill(changes.commands);
  }
  await page.getByRole('button', { name: 'Trace', exact: true }).click();
  await page.locator('.trace-result h2', { hasText: 'Answer' }).waitFor({ timeout: 30_000 });
}
