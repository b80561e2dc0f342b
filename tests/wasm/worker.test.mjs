// The worker's message protocol (wasm/PROTOCOL.md), with the worker in a node worker thread.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mnistFiles } from './helpers.mjs';
import { WorkerClient } from './worker_client.mjs';

const SMALL = { model: 'mlp', dataset: 'shapes', batch_size: 16, seed: 5 };

// Every loss in the snapshots of one side, by step (checks that steps arrive once, in order).
function lossesBySide(snapshots, side) {
  const out = [];
  for (const s of snapshots) {
    const h = s.sides[side]?.history;
    if (!h) continue;
    for (let i = 0; i < h.loss.length; ++i) {
      assert.equal(h.first_step + i, out.length + 1, `side ${side}: step ${h.first_step + i} after ${out.length}`);
      out.push(h.loss[i]);
    }
  }
  return out;
}

// The history of one side in the snapshots from index `from` on, joined.
function historySince(w, from, side) {
  const parts = w.snapshots.slice(from).map((s) => s.sides[side].history).filter((h) => h.loss.length);
  const joined = { first_step: parts[0]?.first_step };
  for (const key of ['loss', 'accuracy', 'lr']) joined[key] = Float32Array.from(parts.flatMap((h) => [...h[key]]));
  return joined;
}

test('init, step and reset: two sides in lockstep, every step reported once', async () => {
  const w = new WorkerClient();
  try {
    const ready = await w.request({ type: 'init', sides: { a: { ...SMALL, norm: 'batch' }, b: { ...SMALL, norm: 'none' } } }, ['ready']);
    assert.equal(ready.type, 'ready', ready.message);
    assert.equal(ready.sides.a.config.norm, 'batch');
    assert.equal(ready.sides.b.config.norm, 'none');
    assert.equal(ready.sides.a.dataset.name, 'shapes');
    assert.ok(ready.sides.a.model.layers.some((l) => l.kind === 'bn'));
    assert.ok(!ready.sides.b.model.layers.some((l) => l.kind === 'bn'));
    assert.ok(ready.sides.a.tensors.some((t) => t.name === 'bn1.running_var' && t.kind === 'buffer'));
    // The core's data key (train/config.h data_key), which the page compares to send data only
    // when it changes; data_key asks it of any config.
    assert.equal(ready.sides.a.data_key, 'shapes seed 5');
    assert.equal((await w.request({ type: 'data_key', config: { ...SMALL, seed: 6 } }, ['data_key'])).key, 'shapes seed 6');
    assert.equal((await w.request({ type: 'data_key', config: { dataset: 'mnist', seed: 6 } }, ['data_key'])).key, 'mnist');

    const done = await w.request({ type: 'step', n: 25 }, ['snapshot']);
    assert.equal(done.sides.a.step, 25);
    assert.equal(done.sides.b.step, 25);
    assert.equal(done.playing, false);
    assert.ok(done.sides.a.history.loss instanceof Float32Array);
    const a = lossesBySide(w.snapshots, 'a');
    assert.equal(a.length, 25);
    assert.equal(lossesBySide(w.snapshots, 'b').length, 25);
    assert.ok(Math.abs(done.sides.a.epoch - (25 * 16) / 8000) < 1e-12);

    // The measurements of the last step, named as PROTOCOL.md says.
    const m = done.sides.a.measure;
    for (const name of ['bn1.batch_mean', 'bn1.batch_var', 'bn1.running_mean', 'bn1.gamma', 'hist.input', 'grad_norm', 'bands']) {
      assert.ok(m[name], `measure ${name}`);
      assert.ok(m[name].data instanceof Float32Array);
      assert.equal(m[name].data.length, m[name].shape.reduce((x, y) => x * y, 1), name);
      assert.equal(m[name].step, 25);
    }
    assert.equal(done.sides.b.measure['bn1.batch_mean'], undefined);

    // reset: step 0 again, and the same losses as the first time.
    const first = w.snapshots.length;
    const again = await w.request({ type: 'reset' }, ['ready']);
    assert.equal(again.type, 'ready');
    await w.request({ type: 'step', n: 25 }, ['snapshot']);
    assert.deepEqual(lossesBySide(w.snapshots.slice(first), 'a'), a);
  } finally {
    await w.close();
  }
});

test('play and pause: snapshots while playing, none after the pause, which answers at once', async () => {
  const w = new WorkerClient();
  try {
    await w.request({ type: 'init', sides: { a: SMALL }, settings: { snapshot_ms: 50, chunk_ms: 5 } }, ['ready']);
    w.send({ type: 'play' });
    // At least two snapshots while playing (a quiet machine can pass step 60 within one).
    await w.until((s) => s.playing && s.sides.a.step >= 60 && w.snapshots.filter((x) => x.playing).length >= 2);
    const t0 = performance.now();
    const paused = await w.request({ type: 'pause' }, ['snapshot']);
    const latency = performance.now() - t0;
    assert.equal(paused.playing, false);
    assert.ok(latency < 250, `pause took ${latency.toFixed(0)} ms`);
    const count = w.snapshots.length;
    await w.sleep(300);
    assert.equal(w.snapshots.length, count, 'no snapshot after the pause');
    assert.equal(lossesBySide(w.snapshots, 'a').length, paused.sides.a.step);
    assert.ok(w.snapshots.filter((s) => s.playing).length >= 2);
  } finally {
    await w.close();
  }
});

test('play at a requested rate keeps to it', async () => {
  const w = new WorkerClient();
  try {
    await w.request({ type: 'init', sides: { a: SMALL } }, ['ready']);
    w.send({ type: 'play', steps_per_s: 40 });
    await w.sleep(1500);
    const s = await w.request({ type: 'pause' }, ['snapshot']);
    // 1.5 s at 40 steps/s: 60 steps, give or take the timer's slack.
    assert.ok(s.sides.a.step >= 45 && s.sides.a.step <= 70, `${s.sides.a.step} steps`);
  } finally {
    await w.close();
  }
});

test('a diverging side stops with its status while the other keeps training', async () => {
  const w = new WorkerClient();
  try {
    // Without BN this deep CNN diverges within a few steps; with BN it trains.
    const deep = { model: 'deep-cnn', dataset: 'shapes', batch_size: 16, seed: 11, init_scale: 2, lr: 1 };
    await w.request({ type: 'init', sides: { a: { ...deep, norm: 'none' }, b: { ...deep, norm: 'batch' } } }, ['ready']);
    w.send({ type: 'play' });
    const s = await w.until((x) => x.sides.a.diverged_at > 0 && x.sides.b.step > x.sides.a.diverged_at + 30);
    await w.request({ type: 'pause' }, ['snapshot']);
    assert.match(s.sides.a.status, new RegExp(`^diverged at step ${s.sides.a.diverged_at}`));
    assert.equal(s.sides.b.status, 'training');
    const a = lossesBySide(w.snapshots, 'a');
    assert.equal(a.length, s.sides.a.diverged_at);
    assert.ok(!Number.isFinite(a.at(-1)) || a.at(-1) > 10, `last loss ${a.at(-1)}`);
  } finally {
    await w.close();
  }
});

test('set changes an option between steps, keeping the weights', async () => {
  const w = new WorkerClient();
  try {
    await w.request({ type: 'init', sides: { a: SMALL, b: SMALL } }, ['ready']);
    await w.request({ type: 'step', n: 10 }, ['snapshot']);
    const r = await w.request({ type: 'set', side: 'a', options: { lr: 0.01 } }, ['configured']);
    assert.equal(r.type, 'configured', r.message);
    assert.equal(r.config.lr, 0.01);
    const from = w.snapshots.length;
    const s = await w.request({ type: 'step', n: 5 }, ['snapshot']);
    assert.equal(s.sides.a.step, 15, 'the step count went on');
    const a = historySince(w, from, 'a'), b = historySince(w, from, 'b');
    assert.equal(a.first_step, 11);
    assert.equal(a.loss.length, 5);
    assert.ok(a.lr.every((v) => Math.abs(v - 0.01) < 1e-9), `${a.lr}`);
    assert.ok(b.lr.every((v) => Math.abs(v - 0.05) < 1e-9), `${b.lr}`);
    // Step 11 of both sides saw the same weights and batch: the same loss before the update.
    assert.equal(a.loss[0], b.loss[0]);
    assert.notEqual(a.loss[4], b.loss[4]);
    const bad = await w.request({ type: 'set', side: 'a', options: { momentum: 7 } }, ['configured']);
    assert.equal(bad.type, 'error');
    assert.match(bad.message, /momentum/);
  } finally {
    await w.close();
  }
});

test('save and load: a side goes back to a saved step and repeats it exactly', async () => {
  const w = new WorkerClient();
  try {
    await w.request({ type: 'init', sides: { a: SMALL } }, ['ready']);
    await w.request({ type: 'step', n: 20 }, ['snapshot']);
    const saved = await w.request({ type: 'save', side: 'a' }, ['state']);
    assert.equal(JSON.parse(saved.json).step, 20);
    let from = w.snapshots.length;
    await w.request({ type: 'step', n: 10 }, ['snapshot']);
    const later = historySince(w, from, 'a');
    const loaded = await w.request({ type: 'load', side: 'a', json: saved.json }, ['loaded']);
    assert.equal(loaded.step, 20);
    from = w.snapshots.length;
    await w.request({ type: 'step', n: 10 }, ['snapshot']);
    const again = historySince(w, from, 'a');
    assert.equal(again.first_step, 21);
    assert.deepEqual(again.loss, later.loss);
  } finally {
    await w.close();
  }
});

test('a side that diverged is evaluated no more, the other is on schedule (the core run loop)', async () => {
  const w = new WorkerClient();
  try {
    // A rate and a scale that overflow float32 within two steps.
    const sides = { a: { dataset: 'shapes', seed: 3 }, b: { dataset: 'shapes', seed: 3, norm: 'none', lr: 10000, init_scale: 1000 } };
    await w.request({ type: 'init', sides, settings: { eval_every: 2, eval_examples: 50 } }, ['ready']);
    const done = await w.request({ type: 'step', n: 10 }, ['snapshot']);
    const at = done.sides.b.diverged_at;
    assert.ok(at > 0 && at < 10, `diverged at ${at}`);
    const evals = (side) => w.snapshots.flatMap((s) => s.sides[side].evals).map((e) => e.step);
    assert.deepEqual(evals('a'), [2, 4, 6, 8, 10]);
    assert.deepEqual(evals('b'), [2, 4, 6, 8].filter((k) => k < at));
  } finally {
    await w.close();
  }
});

test('evaluations and heavy measurements arrive on schedule', async () => {
  const w = new WorkerClient();
  try {
    await w.request({ type: 'init', sides: { a: SMALL }, settings: { eval_every: 10, eval_examples: 200, heavy_every: 10 } }, ['ready']);
    await w.request({ type: 'step', n: 30 }, ['snapshot']);
    const evals = w.snapshots.flatMap((s) => s.sides.a.evals);
    assert.deepEqual(evals.map((e) => e.step), [10, 20, 30]);
    for (const e of evals) {
      assert.equal(e.eval.count, 200);
      assert.equal(e.train.count, 200);
      assert.ok(e.eval.accuracy >= 0 && e.eval.accuracy <= 1);
    }
    // Before steps 1, 11 and 21, each in exactly one snapshot.
    const heavy = w.snapshots.flatMap((s) => s.sides.a.heavy);
    assert.deepEqual(heavy.map((m) => m['ics.l2'].step), [1, 11, 21]);
    for (const m of heavy) {
      assert.equal(m['landscape.loss'].data.length, m['landscape.loss'].etas.length);
      assert.equal(m['ics.cosine'].layers.length, m['ics.cosine'].data.length);
      assert.ok(m['ics.cosine'].data.every((c) => c >= -1.0001 && c <= 1.0001));
    }
    const on = await w.request({ type: 'evaluate', side: 'a', examples: 100 }, ['snapshot']);
    assert.equal(on.sides.a.evals[0].eval.count, 100);
  } finally {
    await w.close();
  }
});

test('feature maps of the chosen image and misclassified images ride on the snapshots', async () => {
  const w = new WorkerClient();
  try {
    const sides = { a: { ...SMALL, model: 'small-cnn' }, b: { ...SMALL, model: 'small-cnn', norm: 'none' } };
    const ready = await w.request({ type: 'init', sides, settings: { features_image: 4, eval_every: 10, eval_examples: 200, misclassified_max: 5 } }, ['ready']);
    assert.equal(ready.type, 'ready', ready.message);
    const first = w.snapshots[0] ?? await w.until(() => true);  // the snapshot after ready, at step 0
    assert.equal(first.sides.a.measure['features.image'].index, 4);
    assert.equal(first.sides.a.measure['bn1.features_out'].role, 'after');
    assert.equal(first.sides.b.measure['conv1.features_out'].role, 'output');
    const from = w.snapshots.length;
    await w.request({ type: 'step', n: 20 }, ['snapshot']);
    const carrying = w.snapshots.slice(from).map((s) => s.sides.a.measure['test.misclassified']).filter(Boolean);
    assert.deepEqual(carrying.map((m) => m.step), [10, 20], 'one list per evaluation');
    for (const m of carrying) {
      assert.equal(m.examined, 200);
      assert.equal(m.indices.length, Math.min(5, m.wrong));
    }
    // A test image that does not exist is reported in the snapshot, not as a failure.
    await w.request({ type: 'settings', settings: { features_image: 99999 } }, ['configured']);
    const s = await w.request({ type: 'step', n: 1 }, ['snapshot']);
    assert.match(s.sides.a.measure['features.image'].error, /test image 99999 does not exist/);
    assert.equal(s.sides.a.step, 21);
  } finally {
    await w.close();
  }
});

test('an evaluation or feature maps before a snapshot do not change what the step measured', async () => {
  // Both read the network after the step; the histograms must still be those of the training batch.
  const run = async (settings) => {
    const w = new WorkerClient();
    try {
      await w.request({ type: 'init', sides: { a: { ...SMALL, model: 'small-cnn' } }, settings }, ['ready']);
      const s = await w.request({ type: 'step', n: 10 }, ['snapshot']);
      return s.sides.a.measure;
    } finally {
      await w.close();
    }
  };
  const plain = await run({});
  const busy = await run({ eval_every: 10, eval_examples: 100, features_image: 2 });
  assert.ok(busy['features.image'] && busy['test.misclassified'], 'the busy run measured its extras');
  for (const name of ['hist.input', 'hist.output', 'bn1.batch_mean', 'bn2.batch_var', 'grad_norm'])
    assert.deepEqual(busy[name].data, plain[name].data, name);
});

test('an experiment runs in the worker with progress reports', async () => {
  const w = new WorkerClient();
  try {
    await w.request({ type: 'init', sides: { a: SMALL }, data: mnistFiles({ gzip: true }) }, ['ready']);
    const r = await w.request({ type: 'experiment', name: 'grad-init', steps: 1 }, ['experiment']);
    assert.equal(r.type, 'experiment', r.message);
    assert.ok(r.summary.mlp.spread_bn > 0);
    assert.deepEqual(r.tables.map((t) => t.name).sort(), ['gradients', 'layers']);
    const progress = w.messages.filter((m) => m.type === 'experiment_progress' && m.id === r.id);
    assert.ok(progress.length >= 1 && progress.at(-1).fraction === 1);
    const bad = await w.request({ type: 'experiment', name: 'nope' }, ['experiment']);
    assert.equal(bad.type, 'error');
    assert.match(bad.message, /grad-init/);
  } finally {
    await w.close();
  }
});

test('bad requests get error replies with the core message, and the session survives', async () => {
  const w = new WorkerClient();
  try {
    const early = await w.request({ type: 'step', n: 1 }, ['snapshot']);
    assert.equal(early.type, 'error');
    assert.match(early.message, /init/);
    const bad = await w.request({ type: 'init', sides: { a: { ...SMALL, batch_size: -3 } } }, ['ready']);
    assert.equal(bad.type, 'error');
    assert.equal(bad.request, 'init');
    assert.match(bad.message, /batch_size/);
    const unknown = await w.request({ type: 'jump' }, ['snapshot']);
    assert.match(unknown.message, /jump/);
    await w.request({ type: 'init', sides: { a: SMALL } }, ['ready']);
    const wrongSide = await w.request({ type: 'save', side: 'b' }, ['state']);
    assert.match(wrongSide.message, /side 'b'/);
    const badState = await w.request({ type: 'load', side: 'a', json: '{}' }, ['loaded']);
    assert.equal(badState.type, 'error');
    const ok = await w.request({ type: 'step', n: 3 }, ['snapshot']);
    assert.equal(ok.sides.a.step, 3);
    const gone = await w.request({ type: 'dispose' }, ['disposed']);
    assert.equal(gone.type, 'disposed');
  } finally {
    await w.close();
  }
});
