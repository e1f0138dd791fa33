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

/**
 * A fresh browser with a new empty profile (playwright passes it as --user-data-dir), nothing
 * reaching out to the network by itself. Close the context to end the browser.
 */
export async function launchChromium(): Promise<BrowserContext> {
  const profile = mkdtempSync(join(tmpdir(), 'fedcausal-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1400, height: 1000 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  // The profile is the browser's alone: gone with it (each run left one in /tmp). Chromium may
  // still be writing into it as 'close' fires (ENOTEMPTY failed a CI run): retry, and a profile
  // left behind is no failure of the test.
  context.on('close', () => {
    try {
      rmSync(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
    } catch {
      // left in /tmp
    }
  });
  return context;
}
