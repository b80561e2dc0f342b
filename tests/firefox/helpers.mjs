// The Firefox smoke suite's harness: build/web served by web/serve.mjs (run as its own process,
// as a teacher would), Debian's Firefox ESR driven by puppeteer-core over WebDriver BiDi.
// Selectors stay on ids the page keeps (#play, #step1, #reset, #c-step, #lesson-select, #status)
// and on data attributes, so a new layout does not break the suite.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import puppeteer from 'puppeteer-core';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const webDir = path.join(root, 'build/web');
export const singleFile = path.join(root, 'build/web-single/bnlab.html');
export const artifacts = path.join(root, 'tests/artifacts');
// BNLAB_FIREFOX: another Firefox binary (Debian's ESR by default).
export const firefoxPath = process.env.BNLAB_FIREFOX ?? '/usr/bin/firefox-esr';

// What the suite needs, with what to run when it is missing. The suite fails rather than skips:
// .ci/setup.sh installs Firefox and `npm test` builds the rest before it.
function checkPrerequisites() {
  const missing = [];
  if (!fs.existsSync(firefoxPath)) missing.push(`Firefox is not installed at ${firefoxPath}: run \`bash .ci/setup.sh browser\` (it installs Debian's firefox-esr)`);
  if (!fs.existsSync(path.join(webDir, 'index.html'))) missing.push('build/web/index.html is missing: run .ci/build-web.sh');
  if (!fs.existsSync(path.join(webDir, 'bnlab/worker.mjs'))) missing.push('build/web has no simulation module: run .ci/build-wasm.sh, then .ci/build-web.sh');
  if (!fs.existsSync(singleFile)) missing.push('build/web-single/bnlab.html is missing: run .ci/build-web.sh');
  if (missing.length) throw new Error(`the Firefox smoke suite cannot run:\n  ${missing.join('\n  ')}`);
}

// `node web/serve.mjs DIR --port 0` in a child process; resolves with its base URL once it
// prints the address it listens on.
function startServer() {
  const child = spawn(process.execPath, [path.join(root, 'web/serve.mjs'), webDir, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => { child.kill(); reject(new Error(`web/serve.mjs printed no address in 15 s:\n${out}`)); }, 15000);
    const onData = (chunk) => {
      out += chunk;
      const m = out.match(/http:\/\/127\.0\.0\.1:\d+\//);
      if (m) {
        clearTimeout(timer);
        resolve({ base: m[0], close: () => child.kill() });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (chunk) => { out += chunk; });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`web/serve.mjs exited (${code}):\n${out}`)); });
  });
}

export async function start() {
  checkPrerequisites();
  const server = await startServer();
  // Downloads (a saved state) land in this folder without a dialog.
  const downloads = fs.mkdtempSync(path.join(os.tmpdir(), 'bnlab-firefox-'));
  const browser = await puppeteer.launch({
    browser: 'firefox',
    executablePath: firefoxPath,
    headless: true,
    defaultViewport: { width: 1440, height: 900 },
    extraPrefsFirefox: {
      'browser.download.folderList': 2,
      'browser.download.dir': downloads,
      'browser.download.useDownloadDir': true,
      'browser.download.always_ask_before_handling_new_types': false,
      'browser.helperApps.neverAsk.saveToDisk': 'application/json,text/csv,image/png',
    },
  });
  const pages = [];
  return {
    base: server.base,
    browser,
    downloads,
    // A page that records console errors, uncaught exceptions and dialogs in page.problems.
    async open(query = '') {
      const page = await browser.newPage();
      pages.push(page);
      page.problems = [];
      page.on('console', (m) => { if (m.type() === 'error') page.problems.push(`console: ${m.text()}`); });
      page.on('pageerror', (e) => page.problems.push(`exception: ${e.message}`));
      page.on('dialog', (d) => { page.problems.push(`dialog: ${d.message()}`); d.dismiss().catch(() => {}); });
      if (query !== null) await page.goto(server.base + query);
      return page;
    },
    // Pages are closed after each test: every open page has a worker training or idle.
    async closePages() {
      for (const p of pages.splice(0)) await p.close().catch(() => {});
    },
    async close() {
      await browser.close().catch(() => {});
      server.close();
      fs.rmSync(downloads, { recursive: true, force: true });
    },
  };
}

// Waits until the page (or frame) has a run: the worker answered `ready` and sent step 0.
export const ready = (frame, timeout = 30000) =>
  frame.waitForFunction(() => window.bnlab?.info?.a && window.bnlab.history.sides.a?.last, { timeout });

export const stepText = (frame) => frame.$eval('#c-step', (el) => el.textContent);
export const stepIs = (frame, n, timeout = 30000) =>
  frame.waitForFunction((n) => document.querySelector('#c-step').textContent === String(n), { timeout }, n);
export const lastLoss = (frame, side) => frame.evaluate((side) => window.bnlab.history.sides[side].loss.view().at(-1), side);

// A downloaded file in `dir`, once complete: Firefox makes an empty NAME first and writes into
// NAME.part, then moves it over; the size must also hold still between two looks.
export async function waitForFile(dir, pattern, timeout = 20000) {
  const until = Date.now() + timeout;
  let last = -1;
  for (;;) {
    const name = fs.readdirSync(dir).find((f) => pattern.test(f) && !f.endsWith('.part'));
    const file = name && path.join(dir, name);
    const size = file && !fs.existsSync(`${file}.part`) ? fs.statSync(file).size : -1;
    if (size > 0 && size === last) return file;
    last = size;
    if (Date.now() > until) throw new Error(`no complete download matching ${pattern} in ${dir} after ${timeout} ms (${fs.readdirSync(dir).join(', ') || 'empty'})`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

export function screenshotPath(name) {
  fs.mkdirSync(artifacts, { recursive: true });
  return path.join(artifacts, `${name}.png`);
}
