/**
 * Headless Chromium for the dashboard tests: Debian's chromium driven by playwright-core
 * (no browser download). Tests skip with a message where /usr/bin/chromium is absent.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

/** Why the browser tests cannot run here, or undefined when they can. */
export function noBrowser(): string | undefined {
  return existsSync(CHROMIUM) ? undefined : `${CHROMIUM} is absent (Debian package chromium; .ci/run installs it)`;
}

/** A browser with the profile it alone uses, which `closeChromium` removes. */
export interface Chromium {
  context: BrowserContext;
  profile: string;
}

/**
 * A fresh browser with a new empty profile (playwright passes it as --user-data-dir), nothing
 * reaching out to the network by itself. End it with closeChromium.
 */
export async function launchChromium(): Promise<Chromium> {
  const profile = mkdtempSync(join(tmpdir(), 'fedcausal-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1400, height: 1000 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  return { context, profile };
}

/**
 * Closes the browser, then removes its profile. Removed on the context's 'close' event, the
 * profile was left in /tmp by most runs (Chromium was still writing into it); once close()
 * has resolved the browser process has exited.
 */
export async function closeChromium({ context, profile }: Chromium): Promise<void> {
  await context.close();
  rmSync(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
}
