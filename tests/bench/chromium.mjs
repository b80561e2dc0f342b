// Headless Chromium for the benchmark and the browser tests: Debian's /usr/bin/chromium
// (CHROMIUM_PATH overrides), driven by playwright-core. Never downloads a browser. The flags keep
// it from reaching for the network it does not have (without them it stalls at start-up).
import { chromium } from 'playwright-core';

export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
                              '--disable-component-update', '--no-first-run'];

export function launchChromium() {
  return chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: CHROMIUM_ARGS });
}
