// The worker in a real browser: headless Chromium runs build/wasm/worker.mjs as a module Worker
// of a page served over http (the page's way), and the single-file worker from a page opened from
// disk (file://, where no module, worker file or fetch is allowed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { launchChromium } from '../bench/chromium.mjs';
import { startServer } from '../../web/serve.mjs';
import { ROOT, WASM_DIR } from './helpers.mjs';

// Runs in the page: drives a worker through PROTOCOL.md and reports what it saw.
async function driveWorker({ workerUrl, embedded, mnistBase }) {
  const worker = embedded ? createBnlabWorker() : new Worker(workerUrl, { type: 'module' });
  const snapshots = [];
  const waiting = new Map();
  let nextId = 1;
  worker.onmessage = (e) => {
    if (e.data.type === 'snapshot') snapshots.push(e.data);
    const w = waiting.get(e.data.id);
    if (w && (w.types.includes(e.data.type) || e.data.type === 'error')) {
      waiting.delete(e.data.id);
      w.resolve(e.data);
    }
  };
  const request = (message, types, transfer = []) => new Promise((resolve) => {
    const id = nextId++;
    waiting.set(id, { resolve, types });
    worker.postMessage({ ...message, id }, transfer);
  });
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

  let data;
  if (mnistBase) {
    // What the page does: fetch the .gz copies, hand them over (transferred) for the worker to unpack.
    data = {};
    for (const part of ['train_images', 'train_labels', 'test_images', 'test_labels'])
      data[part] = await (await fetch(`${mnistBase}/mnist-${part.replace('_', '-')}.idx.gz`)).arrayBuffer();
  }
  const config = mnistBase ? { dataset: 'mnist' } : { dataset: 'shapes', model: 'small-cnn', batch_size: 16 };
  const ready = await request({ type: 'init', sides: { a: { ...config, norm: 'batch' }, b: { ...config, norm: 'none' } },
                                data, settings: { snapshot_ms: 50 } }, ['ready'], data ? Object.values(data) : []);
  if (ready.type === 'error') return { error: ready.message };
  const stepped = await request({ type: 'step', n: 10 }, ['snapshot']);
  // Three times play, then pause: how long until the pause is answered.
  const pauseMs = [];
  let paused;
  for (let i = 0; i < 3; ++i) {
    worker.postMessage({ type: 'play' });
    await sleep(500);
    const t0 = performance.now();
    paused = await request({ type: 'pause' }, ['snapshot']);
    pauseMs.push(performance.now() - t0);
  }
  const count = snapshots.length;
  await sleep(300);
  const losses = snapshots.flatMap((s) => Array.from(s.sides.a.history.loss));
  worker.terminate();
  return {
    dataset: ready.sides.a.dataset.name, stepped: stepped.sides.a.step, pausedAt: paused.sides.a.step,
    pausedB: paused.sides.b.step, playing: paused.playing, pauseMs, quietAfterPause: snapshots.length === count,
    losses: losses.length, finite: losses.every(Number.isFinite), lossType: snapshots[1].sides.a.history.loss.constructor.name,
    measure: Object.keys(paused.sides.a.measure), stepsPerS: Math.max(...snapshots.map((s) => s.steps_per_s)),
  };
}

function checkRun(r, minSteps) {
  assert.equal(r.error, undefined, r.error);
  assert.equal(r.stepped, 10);
  assert.ok(r.pausedAt > minSteps, `only ${r.pausedAt} steps in 1.5 s of play`);
  console.log(`pause answered after ${r.pauseMs.map((t) => t.toFixed(0)).join(', ')} ms; up to ${r.stepsPerS.toFixed(0)} steps/s`);
  assert.equal(r.pausedB, r.pausedAt, 'both sides at the same step');
  assert.equal(r.playing, false);
  // A pause waits for the chunk in progress (chunk_ms 10) and the trip between threads; the best
  // of three keeps a busy machine's scheduling delays out of it.
  assert.ok(Math.min(...r.pauseMs) < 150, `pause answered after ${r.pauseMs.map((t) => t.toFixed(0)).join(', ')} ms`);
  assert.ok(r.quietAfterPause, 'a snapshot came after the pause');
  assert.equal(r.losses, r.pausedAt, 'every step once in the histories');
  assert.ok(r.finite);
  assert.equal(r.lossType, 'Float32Array');
  assert.ok(r.measure.includes('bn1.batch_mean') && r.measure.includes('hist.output'), r.measure.join(' '));
}

test('the module worker trains MNIST in Chromium, and pause answers within a chunk', async () => {
  const server = await startServer(ROOT);
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    await page.goto(`${server.url}/`);  // any page of the origin will do
    const r = await page.evaluate(driveWorker, { workerUrl: `${server.url}/build/wasm/worker.mjs`,
                                                 mnistBase: `${server.url}/build/native/data` });
    assert.equal(r.dataset, 'mnist');
    checkRun(r, 50);
  } finally {
    await browser.close();
    await server.close();
  }
});

test('the single-file worker runs from a page opened from disk', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bnlab-file-'));
  const browser = await launchChromium();
  try {
    const html = join(dir, 'index.html');
    const script = pathToFileURL(`${WASM_DIR}/bnlab_worker_embedded.js`).href;
    writeFileSync(html, `<!doctype html><meta charset="utf-8"><script src="${script}"></script>`);
    const page = await browser.newPage();
    await page.goto(pathToFileURL(html).href);
    const r = await page.evaluate(driveWorker, { embedded: true });
    assert.equal(r.dataset, 'shapes');
    checkRun(r, 50);
  } finally {
    await browser.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
