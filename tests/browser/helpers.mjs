// Shared by the browser tests: the built page served on 127.0.0.1, Debian's Chromium driven by
// playwright-core, and what the build contains (training tests need the wasm module).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { serve } from '../../web/serve.mjs';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const webDir = path.join(root, 'build/web');
export const artifacts = path.join(root, 'tests/artifacts');
export const hasWasm = fs.existsSync(path.join(webDir, 'bnlab/worker.mjs'));
export const hasMnist = fs.existsSync(path.join(webDir, 'data/mnist-train-images.idx.gz'));
// Why a training test is skipped (node's runner prints it): false when it can run.
export const needsWasm = hasWasm ? false : 'build/wasm is missing: nothing can train (run .ci/build-wasm.sh)';

const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'];

export async function start() {
  if (!fs.existsSync(path.join(webDir, 'index.html'))) throw new Error('build/web/index.html is missing: run .ci/build-web.sh first');
  const server = await serve(webDir, 0);
  // BNLAB_CHROMIUM: another Chromium binary (Debian's by default).
  const browser = await chromium.launch({ executablePath: process.env.BNLAB_CHROMIUM ?? '/usr/bin/chromium', args: ARGS });
  const base = `http://127.0.0.1:${server.address().port}/`;
  return {
    base,
    browser,
    // A page that records console errors and uncaught exceptions in page.problems.
    async open(query = '', options = {}) {
      const context = await browser.newContext({ viewport: { width: 1400, height: 1000 }, acceptDownloads: true, ...options });
      const page = await context.newPage();
      page.problems = [];
      page.on('console', (m) => { if (m.type() === 'error') page.problems.push(`console: ${m.text()}`); });
      page.on('pageerror', (e) => page.problems.push(`exception: ${e.message}`));
      if (query !== null) await page.goto(base + query);
      return page;
    },
    async close() {
      await browser.close();
      server.close();
    },
  };
}

export const stepText = (page) => page.textContent('#c-step');

// Waits until the page has a run (the worker answered `ready` and sent step 0).
export async function ready(page) {
  await page.waitForFunction(() => window.bnlab?.info?.a && window.bnlab.history.sides.a?.last, null, { timeout: 30000 });
}

export function screenshotPath(name) {
  fs.mkdirSync(artifacts, { recursive: true });
  return path.join(artifacts, `${name}.png`);
}

// IDX files (MNIST's format): count images of size x size with labels 0..classes-1.
export function idxFiles(dir, count, size = 28, classes = 10) {
  const images = Buffer.alloc(16 + count * size * size);
  images.writeUInt32BE(0x00000803, 0);
  images.writeUInt32BE(count, 4);
  images.writeUInt32BE(size, 8);
  images.writeUInt32BE(size, 12);
  const labels = Buffer.alloc(8 + count);
  labels.writeUInt32BE(0x00000801, 0);
  labels.writeUInt32BE(count, 4);
  // Class k: a bright horizontal bar at row 2 + 2k, so the classes are learnable.
  for (let i = 0; i < count; i++) {
    const k = i % classes;
    labels[8 + i] = k;
    for (let x = 4; x < size - 4; x++) images[16 + i * size * size + (2 + 2 * k) * size + x] = 200 + ((i * 7 + x) % 56);
  }
  const files = {};
  for (const split of ['train', 'test']) {
    files[`${split}-images`] = path.join(dir, `${split}-images.idx`);
    files[`${split}-labels`] = path.join(dir, `${split}-labels.idx`);
    fs.writeFileSync(files[`${split}-images`], images);
    fs.writeFileSync(files[`${split}-labels`], labels);
  }
  return files;
}
