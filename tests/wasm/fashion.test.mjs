// Fashion-MNIST through the JavaScript API: the page's gzipped subset loads with the ten class
// names, an experiment on it gives what the CLI's `--dataset fashion` gives on the same files,
// and bad bytes or a dataset experiments do not take are refused with a message.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';

import { DATA_DIR, getLab, mnistFiles, runCli } from './helpers.mjs';

const lab = await getLab();
const PARTS = ['train_images', 'train_labels', 'test_images', 'test_labels'];
// What the page fetches when Fashion-MNIST is chosen.
const pageFiles = Object.fromEntries(PARTS.map((p) => [p, readFileSync(`${DATA_DIR}/fashion-page-${p.replace('_', '-')}.idx.gz`)]));

test('fashion: the page subset loads as 8,000 + 2,000 images of ten named classes', async () => {
  const data = await lab.loadData({ dataset: 'fashion' }, pageFiles);
  try {
    assert.equal(data.info.name, 'fashion');
    assert.equal(data.info.train_size, 8000);
    assert.equal(data.info.test_size, 2000);
    assert.deepEqual(data.info.class_names, ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt',
      'Sneaker', 'Bag', 'Ankle boot']);
    assert.equal(lab.dataKey({ dataset: 'fashion', seed: 4 }), 'fashion');
    // It trains: 20 steps of the reference CNN with BN.
    const sim = lab.createSide({ dataset: 'fashion', norm: 'batch', seed: 1 }, data);
    const { loss } = sim.step(20);
    assert.ok(loss.every(Number.isFinite));
    sim.dispose();
  } finally {
    data.dispose();
  }
});

test('fashion: an experiment gives what the CLI gives with --dataset fashion on the same files', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bnlab-fashion-'));
  try {
    for (const p of PARTS) writeFileSync(join(dir, `fashion-${p.replace('_', '-')}.idx`), gunzipSync(pageFiles[p]));
    const cli = await runCli(['experiment', 'grad-init', '--dataset', 'fashion', '--data-dir', dir, '--out', join(dir, 'out'),
      '--steps', '2', '--seed', '3']);
    assert.equal(cli.code, 0, cli.stderr);
    const native = JSON.parse(readFileSync(join(dir, 'out', 'summary.json'), 'utf8'));
    assert.equal(native.dataset, 'fashion');
    const r = await lab.runExperiment('grad-init', { seed: 3, steps: 2, dataset: 'fashion', files: pageFiles });
    const mnist = await lab.runExperiment('grad-init', { seed: 3, steps: 2, files: mnistFiles({ gzip: true }) });
    let compared = 0;
    for (const [net, figures] of Object.entries(r.summary)) {
      if (typeof figures !== 'object') continue;
      for (const [k, v] of Object.entries(figures)) {
        const b = native[net][k];
        assert.ok(Math.abs(v - b) <= 1e-4 * Math.max(1, Math.abs(b)), `${net}.${k}: ${v} vs ${b}`);
        assert.notEqual(v, mnist.summary[net][k], `${net}.${k} is the same on MNIST`);
        compared++;
      }
    }
    assert.ok(compared >= 8, `${compared} figures compared`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('fashion: corrupt files and datasets experiments do not take are refused with a message', async () => {
  const cut = { ...pageFiles, test_labels: gunzipSync(pageFiles.test_labels).subarray(0, 100) };
  await assert.rejects(lab.loadData({ dataset: 'fashion' }, cut), /'fashion' labels.*truncated/);
  await assert.rejects(lab.loadData({ dataset: 'fashion' }, { ...pageFiles, test_images: undefined }),
    /dataset 'fashion' needs the IDX files test_images/);
  // Labels beyond the ten classes (MNIST's labels are fine; a file labelled 0..10 is not).
  const labels = Buffer.from(gunzipSync(pageFiles.train_labels));
  labels[8] = 10;
  await assert.rejects(lab.loadData({ dataset: 'fashion' }, { ...pageFiles, train_labels: labels }),
    /Fashion-MNIST: labels go up to 10, but it has 10 classes/);
  await assert.rejects(lab.runExperiment('grad-init', { dataset: 'shapes', files: pageFiles }),
    /experiments train on dataset mnist or fashion, not 'shapes'/);
});
