// An experiment over many seeds from JavaScript (issue 14): runExperiment(name, {seeds}) and the
// worker's `experiment` request with `seeds` run each seed and return the core's summary over
// them. Checked against independent truth: each seed's summary is the single-seed run's, each
// figure's mean, sd and 95% t-interval are recomputed here from the per-seed values, and the
// native CLI's `--seeds` summary of the same runs agrees within float differences.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DATA_DIR, getLab, mnistFiles, runCli } from './helpers.mjs';
import { WorkerClient } from './worker_client.mjs';

const RUN = { steps: 2, files: mnistFiles({ gzip: true }) };
const T95 = { 2: 4.3027 };  // Student t, 0.975 quantile, 2 degrees of freedom (tables)

test('runExperiment with seeds: each seed is its own run, and the summary over them is right', async () => {
  const lab = await getLab();
  const fractions = [];
  const r = await lab.runExperiment('grad-init', { ...RUN, seeds: '1-3', onProgress: (f) => fractions.push(f) });
  assert.deepEqual(r.seeds.map((s) => s.seed), [1, 2, 3]);
  assert.deepEqual(r.summary.seeds, [1, 2, 3]);
  assert.equal(fractions.at(-1), 1);
  assert.ok(fractions.every((f, i) => i === 0 || f >= fractions[i - 1]), 'progress only grows');
  // Seed 2 of the sweep is the single run of seed 2.
  const single = await lab.runExperiment('grad-init', { ...RUN, seed: 2 });
  const { experiment, title, seed, steps, dataset, ...figures } = r.seeds[1].summary;
  assert.deepEqual({ experiment, seed, steps, dataset }, { experiment: 'grad-init', seed: 2, steps: 2, dataset: 'mnist' });
  assert.ok(title.length > 0);
  assert.deepEqual(figures, single.summary);
  assert.deepEqual(r.seeds[1].tables, single.tables);
  // A figure's interval, recomputed from the three values.
  const path = 'sigmoid-mlp-8.spread_bn';
  const values = r.seeds.map((s) => path.split('.').reduce((o, k) => o[k], s.summary));
  const f = r.summary.figures[path];
  const mean = values.reduce((p, v) => p + v, 0) / 3;
  const sd = Math.sqrt(values.reduce((p, v) => p + (v - mean) ** 2, 0) / 2);
  assert.deepEqual(f.values, values);
  assert.ok(Math.abs(f.mean - mean) <= 1e-12 * Math.abs(mean));
  assert.ok(Math.abs(f.sd - sd) <= 1e-9 * sd);
  assert.ok(Math.abs(f.ci95[1] - (mean + T95[2] * sd / Math.sqrt(3))) <= 1e-9 * Math.abs(mean) + 1e-12);
  // Every claim of the experiment has its verdict.
  assert.deepEqual(r.summary.claims.map((c) => c.id), ['sigmoid', 'relu', 'cnn']);
  for (const c of r.summary.claims) assert.match(c.verdict, /^(reproduces|does not reproduce|inconclusive)/);
});

test('the summary over seeds agrees with the native CLI\'s --seeds', async () => {
  const lab = await getLab();
  const dir = mkdtempSync(join(tmpdir(), 'bnlab-seeds-'));
  try {
    const cli = await runCli(['experiment', 'grad-init', '--seeds', '1-3', '--steps', '2', '--threads', '1', '--out', dir]);
    assert.equal(cli.code, 0, cli.stderr);
    const native = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8'));
    const r = await lab.runExperiment('grad-init', { ...RUN, seeds: '1-3' });
    assert.deepEqual(Object.keys(r.summary.figures), Object.keys(native.figures));
    for (const [k, f] of Object.entries(native.figures)) {
      for (const key of ['mean', 'sd']) assert.ok(Math.abs(r.summary.figures[k][key] - f[key]) <= 1e-4 * Math.max(1, Math.abs(f[key])), `${k}.${key}`);
    }
    // Gradient norms of float32 runs differ in the last bits: the verdicts stand.
    assert.deepEqual(r.summary.claims.map((c) => c.verdict), native.claims.map((c) => c.verdict));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bad seeds are refused with the core\'s message', async () => {
  const lab = await getLab();
  await assert.rejects(lab.runExperiment('grad-init', { ...RUN, seeds: '3-1' }), /a range goes up/);
  await assert.rejects(lab.runExperiment('grad-init', { ...RUN, seeds: 'all' }), /write them as 1-10/);
  await assert.rejects(lab.runExperiment('grad-init', { ...RUN, seeds: '' }), /write them as 1-10/);
});

test('the worker runs an experiment over seeds', async () => {
  const w = new WorkerClient();
  try {
    const r = await w.request({ type: 'experiment', name: 'grad-init', seeds: '4,6', steps: 2, data: mnistFiles({ gzip: true }) }, ['experiment']);
    assert.equal(r.type, 'experiment', r.message);
    assert.deepEqual(r.summary.seeds, [4, 6]);
    assert.deepEqual(r.seeds.map((s) => s.seed), [4, 6]);
    assert.match(r.summary.claims[0].verdict, /^inconclusive at 2 seeds$/);
    const bad = await w.request({ type: 'experiment', name: 'grad-init', seeds: '1-x', steps: 2 }, ['experiment']);
    assert.equal(bad.type, 'error');
    assert.match(bad.message, /write them as 1-10/);
  } finally {
    await w.close();
  }
});

test('the worker runs an experiment over seeds on the dataset asked for, never on another dataset\'s files', async () => {
  // The page's Fashion-MNIST subset, as the page sends it.
  const parts = ['train_images', 'train_labels', 'test_images', 'test_labels'];
  const fashion = Object.fromEntries(parts.map((p) => [p, readFileSync(`${DATA_DIR}/fashion-page-${p.replace('_', '-')}.idx.gz`)]));
  const w = new WorkerClient();
  try {
    const r = await w.request({ type: 'experiment', name: 'convergence', seeds: '1,2', steps: 2, dataset: 'fashion', data: fashion }, ['experiment']);
    assert.equal(r.type, 'experiment', r.message);
    assert.equal(r.summary.dataset, 'fashion');
    assert.deepEqual(r.seeds.map((s) => s.summary.dataset), ['fashion', 'fashion']);
    // The claims compare the steps to Fashion-MNIST's higher target (core/experiments/targets.h).
    assert.deepEqual(r.summary.claims.map((c) => c.a), ['steps_to_81_bn', 'steps_to_81_bn-x5']);
    // On MNIST the same request compares steps to 90%.
    const m = await w.request({ type: 'experiment', name: 'convergence', seeds: '1,2', steps: 2, data: mnistFiles({ gzip: true }) }, ['experiment']);
    assert.equal(m.summary.dataset, 'mnist');
    assert.deepEqual(m.summary.claims.map((c) => c.a), ['steps_to_90_bn', 'steps_to_90_bn-x5']);
  } finally {
    await w.close();
  }
  // A worker whose session trains on MNIST does not lend those files to a Fashion-MNIST request:
  // without data the request fails with the core's message about the missing files.
  const fresh = new WorkerClient();
  try {
    const init = await fresh.request({ type: 'init', sides: { a: { dataset: 'mnist' } }, data: mnistFiles({ gzip: true }) }, ['ready']);
    assert.equal(init.type, 'ready', init.message);
    const bad = await fresh.request({ type: 'experiment', name: 'grad-init', seeds: '1', steps: 2, dataset: 'fashion' }, ['experiment']);
    assert.equal(bad.type, 'error');
    assert.match(bad.message, /fashion/);
  } finally {
    await fresh.close();
  }
});
