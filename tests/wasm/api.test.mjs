// The JavaScript API of the WebAssembly core (wasm/bnlab.mjs): configs, steps, evaluation,
// errors, state, lockstep.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getLab, mnistFiles, Run, Side, Simulation, Session } from './helpers.mjs';

const lab = await getLab();
const SMALL = { model: 'mlp', dataset: 'shapes', batch_size: 16, seed: 7 };

async function withSide(config, body) {
  const data = await lab.loadData(config);
  const sim = lab.createSide(config, data);
  try {
    return await body(sim, data);
  } finally {
    sim.dispose();
    data.dispose();
  }
}

test('the option table lists the CLI options with typed defaults', () => {
  const byName = Object.fromEntries(lab.options().map((o) => [o.name, o]));
  for (const name of ['model', 'norm', 'lr', 'momentum', 'batch_size', 'seed', 'dataset'])
    assert.ok(byName[name], `option ${name} is missing`);
  // The values NUMERICS.md 7 and config.h name as defaults.
  assert.equal(byName.lr.default, 0.05);
  assert.equal(byName.momentum.default, 0.9);
  assert.equal(byName.batch_size.default, 32);
  assert.equal(byName.model.default, 'ref-cnn');
  assert.equal(typeof byName.shuffle.default, 'boolean');
  assert.ok(lab.presets().some((p) => p.name === 'ref-cnn'));
});

test('a side reports its full config, typed, with the given options applied', async () => {
  await withSide({ ...SMALL, lr: 0.01, shuffle: false }, (sim) => {
    const c = sim.config;
    assert.ok(Math.abs(c.lr - 0.01) < 1e-9);
    assert.equal(c.shuffle, false);
    assert.equal(c.batch_size, 16);
    assert.equal(c.model, 'mlp');
    assert.equal(c.momentum, 0.9);
  });
});

test('invalid configs throw Errors carrying the core message that names the option', async () => {
  const data = await lab.loadData(SMALL);
  try {
    const cases = [
      [{ lr: -1 }, /lr/],
      [{ batch_size: 0 }, /batch_size/],
      [{ norm: 'bogus' }, /bogus/],
      [{ batch_size: 'many' }, /batch_size/],
      [{ no_such_option: 1 }, /no_such_option/],
      [{ model: 'conv8-zz' }, /zz/],
    ];
    for (const [bad, pattern] of cases) {
      assert.throws(() => lab.createSide({ ...SMALL, ...bad }, data),
                    (e) => e instanceof Error && pattern.test(e.message), JSON.stringify(bad));
    }
    // The module survives every one of them.
    const sim = lab.createSide(SMALL, data);
    assert.equal(sim.step(2).loss.length, 2);
    sim.dispose();
  } finally {
    data.dispose();
  }
});

test('step returns one typed value per step and counts steps from 1', async () => {
  await withSide(SMALL, (sim) => {
    const a = sim.step(5);
    assert.ok(a.loss instanceof Float32Array && a.accuracy instanceof Float32Array && a.lr instanceof Float32Array);
    assert.equal(a.first_step, 1);
    assert.equal(a.loss.length, 5);
    assert.ok(a.loss.every(Number.isFinite));
    assert.ok(a.accuracy.every((v) => v >= 0 && v <= 1));
    assert.ok(a.lr.every((v) => Math.abs(v - 0.05) < 1e-7));
    const b = sim.step(3);
    assert.equal(b.first_step, 6);
    assert.equal(sim.stepCount, 8);
    assert.equal(sim.status, 'training');
    assert.equal(sim.divergedAt, -1);
    // 8 steps of 16 from 8,000 training images.
    assert.ok(Math.abs(sim.epoch - (8 * 16) / 8000) < 1e-12, `epoch ${sim.epoch}`);
  });
});

test('training on shapes lowers the loss and evaluate reports both modes', async () => {
  await withSide(SMALL, (sim) => {
    const first = sim.step(20).loss;
    sim.step(400);
    const last = sim.step(20).loss;
    const mean = (a) => a.reduce((s, v) => s + v, 0) / a.length;
    assert.ok(mean(last) < 0.85 * mean(first), `loss ${mean(first)} -> ${mean(last)}`);
    const ev = sim.evaluate('eval', 500);
    const tr = sim.evaluate('train', 500);
    assert.equal(ev.count, 500);
    assert.equal(tr.count, 500);
    assert.ok(ev.accuracy > 1 / 6 && ev.accuracy <= 1, `eval accuracy ${ev.accuracy}`);
    assert.ok(Number.isFinite(tr.loss));
    assert.throws(() => sim.evaluate('sideways'), /mode/);
  });
});

test('the same config and seed give bit-identical runs', async () => {
  const data = await lab.loadData(SMALL);
  const a = lab.createSide(SMALL, data);
  const b = lab.createSide(SMALL, data);
  try {
    assert.deepEqual(a.step(50).loss, b.step(50).loss);
  } finally {
    a.dispose(); b.dispose(); data.dispose();
  }
});

test('two sides with the same seed start from the same weights, with and without BN', async () => {
  const run = await Run.create(lab, { a: { ...SMALL, norm: 'batch' }, b: { ...SMALL, norm: 'none' } });
  try {
    const { a, b } = run.sides;
    const weights = (sim) => sim.tensorNames().filter((t) => t.kind === 'param' && /^fc\d+\.weight$/.test(t.name));
    const names = weights(a).map((t) => t.name);
    assert.ok(names.length >= 2, `fc weights ${names}`);
    assert.deepEqual(names, weights(b).map((t) => t.name));
    for (const name of names) assert.deepEqual(a.tensor(name).data, b.tensor(name).data, name);
    // Only one copy of the data: both sides read the same dataset.
    assert.equal(run.data.size, 1);
    const steps = run.step(10);
    assert.equal(steps.a.loss.length, 10);
    assert.equal(steps.b.loss.length, 10);
    assert.notDeepEqual(steps.a.loss, steps.b.loss);
    assert.equal(a.stepCount, 10);
    assert.equal(b.stepCount, 10);
  } finally {
    run.dispose();
  }
});

test('the names before Side and Run stay as aliases: createSimulation, restoreSimulation, Simulation, Session', async () => {
  assert.equal(Simulation, Side);
  assert.equal(Session, Run);
  const data = await lab.loadData(SMALL);
  const side = lab.createSimulation(SMALL, data);
  try {
    assert.ok(side instanceof Side);
    const twin = lab.createSide(SMALL, data);
    assert.deepEqual(side.step(3).loss, twin.step(3).loss);
    const restored = lab.restoreSimulation(side.saveState(), data);
    assert.ok(restored instanceof Side);
    assert.equal(restored.stepCount, 3);
    assert.deepEqual(restored.step(2).loss, twin.step(2).loss);
    restored.dispose(); twin.dispose();
  } finally {
    side.dispose(); data.dispose();
  }
  const run = await Session.create(lab, { a: SMALL });
  try {
    assert.ok(run instanceof Run);
    assert.equal(run.step(2).a.loss.length, 2);
  } finally {
    run.dispose();
  }
});

test('save and restore continue a run bit-identically', async () => {
  await withSide({ ...SMALL, lr: 0.02 }, (sim, data) => {
    sim.step(30);
    const state = sim.saveState();
    assert.equal(JSON.parse(state).step, 30);
    assert.equal(lab.stateConfig(state).lr, 0.02);
    const after = sim.step(30).loss;
    const restored = lab.restoreSide(state, data);
    try {
      assert.equal(restored.stepCount, 30);
      assert.equal(restored.config.lr, 0.02);
      assert.deepEqual(restored.step(30).loss, after);
    } finally {
      restored.dispose();
    }
    assert.throws(() => sim.loadState('{"not": "a state"'), Error);
    assert.throws(() => lab.stateConfig('[]'), Error);
    assert.equal(sim.stepCount, 60, 'a failed load changes nothing');
  });
});

test('a diverging run stops with a status and reports the diverging step last', async () => {
  // Without BN, a deep CNN with a large initialization and learning rate diverges in a few steps.
  await withSide({ model: 'deep-cnn', dataset: 'shapes', batch_size: 16, seed: 11, norm: 'none', init_scale: 2, lr: 1 }, (sim) => {
    const r = sim.step(200);
    assert.ok(sim.diverged, sim.status);
    assert.match(sim.status, new RegExp(`diverged at step ${sim.divergedAt}`));
    assert.ok(r.loss.length < 200);
    assert.equal(r.first_step + r.loss.length - 1, sim.divergedAt);
    assert.equal(sim.step(10).loss.length, 0);
  });
});

test('tensors and measurements are copies with PyTorch shapes', async () => {
  await withSide({ ...SMALL, norm: 'batch' }, (sim) => {
    const names = sim.tensorNames();
    const mean = names.find((t) => t.kind === 'buffer' && t.name.endsWith('running_mean'));
    assert.ok(mean, 'a running mean');
    assert.equal(mean.shape.length, 1);
    const before = sim.tensor(mean.name).data;
    assert.ok(before.every((v) => v === 0));
    sim.step(5);
    const measure = sim.measure();
    assert.ok(measure[mean.name].data.some((v) => v !== 0));
    assert.ok(before.every((v) => v === 0), 'the earlier copy did not change');
    const grad = names.find((t) => t.kind === 'grad');
    assert.equal(sim.tensor(grad.name).data.length, grad.shape.reduce((a, b) => a * b, 1));
    assert.throws(() => sim.tensor('nope.weight'), /nope\.weight/);
  });
});

test('feature maps show a test image before and after each BN layer, in eval mode', async () => {
  await withSide({ model: 'small-cnn', dataset: 'shapes', batch_size: 16, seed: 5 }, (sim) => {
    sim.step(8);
    const f = sim.features(3);
    const img = f['features.image'];
    assert.deepEqual(img.shape, [1, 28, 28]);
    assert.equal(img.index, 3);
    assert.equal(img.error, undefined);
    assert.ok(img.confidence > 0 && img.confidence <= 1);
    const fin = f['bn2.features_in'], fout = f['bn2.features_out'];
    assert.deepEqual(fin.shape, [8, 14, 14]);
    assert.equal(fin.role, 'before');
    assert.equal(fout.role, 'after');
    assert.equal(fin.block, 2);
    assert.equal(fin.step, 8);
    // Eval-mode BN, from the tensors: (x - running_mean) / sqrt(running_var + eps) * gamma + beta.
    const t = (name) => sim.tensor(name).data;
    const [rm, rv, g, b] = ['bn2.running_mean', 'bn2.running_var', 'bn2.weight', 'bn2.bias'].map(t);
    for (let c = 0; c < 8; c++)
      for (const i of [0, 100, 195]) {
        const x = fin.data[c * 196 + i];
        const want = ((x - rm[c]) / Math.sqrt(rv[c] + 1e-5)) * g[c] + b[c];
        assert.ok(Math.abs(fout.data[c * 196 + i] - want) <= 1e-4 * (1 + Math.abs(want)), `channel ${c}`);
      }
    assert.throws(() => sim.features(1e6), /test image 1000000 does not exist/);
  });
  await withSide({ model: 'conv4-relu-pool2 fc', dataset: 'shapes', batch_size: 16, seed: 5 }, (sim) => {
    const f = sim.features(0);  // at step 0 too: the initial network
    assert.equal(f['conv1.features_out'].role, 'output');
    assert.deepEqual(f['conv1.features_out'].shape, [4, 28, 28]);
    assert.equal(Object.keys(f).filter((n) => n.endsWith('.features_in')).length, 0);
  });
});

test('measuring feature maps leaves the run unchanged', async () => {
  const config = { model: 'small-cnn', dataset: 'shapes', batch_size: 16, seed: 9 };
  const data = await lab.loadData(config);
  const plain = lab.createSide(config, data), measured = lab.createSide(config, data);
  try {
    for (let i = 0; i < 4; i++) {
      measured.features(i);
      assert.deepEqual(measured.step(3).loss, plain.step(3).loss);
    }
    assert.equal(measured.saveState(), plain.saveState());
  } finally {
    plain.dispose();
    measured.dispose();
    data.dispose();
  }
});

test('misclassified lists what the last eval-mode evaluation got wrong', async () => {
  await withSide({ model: 'small-cnn', dataset: 'shapes', batch_size: 16, seed: 5 }, (sim) => {
    const none = sim.misclassified(10);
    assert.equal(none.step, -1);
    assert.equal(none.shape[0], 0);
    sim.step(15);
    const r = sim.evaluate('eval', 400);
    const m = sim.misclassified(10);
    assert.equal(m.examined, 400);
    assert.equal(m.step, 15);
    assert.equal(m.wrong, Math.round((1 - r.accuracy) * 400));
    assert.ok(m.wrong > 0, 'after 15 steps some test images are still wrong');
    const k = Math.min(10, m.wrong);
    assert.deepEqual(m.shape, [k, 1, 28, 28]);
    assert.equal(m.data.length, k * 784);
    assert.ok(m.indices.every((i, j) => j === 0 || i > m.indices[j - 1]), 'in test-set order');
    for (let j = 0; j < k; j++) {
      assert.notEqual(m.predictions[j], m.labels[j]);
      // The same image alone through the network gives the same answer (eval mode).
      const img = sim.features(m.indices[j])['features.image'];
      assert.equal(img.label, m.labels[j]);
      assert.equal(img.prediction, m.predictions[j]);
      assert.deepEqual(img.data, m.data.slice(j * 784, (j + 1) * 784));
    }
    // A train-mode evaluation does not replace the list.
    sim.evaluate('train', 100);
    assert.equal(sim.misclassified(10).examined, 400);
    assert.throws(() => sim.misclassified(-1), /must not be negative/);
  });
});

test('MNIST loads from IDX bytes, raw or gzip, and the copies are identical', async () => {
  const config = { dataset: 'mnist', model: 'mlp', batch_size: 8, seed: 3 };
  const raw = await lab.loadData(config, mnistFiles());
  const gz = await lab.loadData(config, mnistFiles({ gzip: true }));
  try {
    assert.equal(raw.info.name, 'mnist');
    assert.equal(raw.info.num_classes, 10);
    assert.deepEqual(raw.info.image_shape, [1, 28, 28]);
    assert.deepEqual(gz.info, raw.info);
    const a = lab.createSide(config, raw);
    const b = lab.createSide(config, gz);
    assert.deepEqual(a.step(5).loss, b.step(5).loss);
    a.dispose(); b.dispose();
    await assert.rejects(lab.loadData(config, {}), /train_images/);
    const broken = { ...mnistFiles(), train_labels: new Uint8Array([0, 0, 8, 1, 0, 0]) };
    await assert.rejects(lab.loadData(config, broken), /labels/);
  } finally {
    raw.dispose(); gz.dispose();
  }
});

test('the data key is the core\'s: what load_data reads or draws, nothing else', () => {
  const idx = { dataset: 'idx', train_images: 'a.idx', train_labels: 'b.idx', test_images: 'c.idx', test_labels: 'd.idx' };
  assert.equal(lab.dataKey({ dataset: 'mnist', seed: 1 }), lab.dataKey({ dataset: 'mnist', seed: 2 }));
  assert.notEqual(lab.dataKey({ dataset: 'shapes', seed: 1 }), lab.dataKey({ dataset: 'shapes', seed: 2 }));
  assert.equal(lab.dataKey({ dataset: 'shapes', seed: 1, train_size: 100, lr: 1 }), lab.dataKey({ dataset: 'shapes', seed: 1 }));
  // Other label files are other data (the CLI once trained B on A's labels without a word).
  assert.notEqual(lab.dataKey(idx), lab.dataKey({ ...idx, train_labels: 'x.idx' }));
  assert.equal(lab.dataKey({}), lab.dataKey({ dataset: 'mnist' }));  // defaults filled in
  assert.throws(() => lab.dataKey({ dataset: 'cifar' }), /option dataset: 'cifar' is not one of: mnist, fashion, shapes, shift, idx/);
});
