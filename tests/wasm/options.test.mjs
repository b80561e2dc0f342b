// Options changed between steps: Side.setOptions (in place, the core's
// Trainer::set_options), Run.reconfigure (in place, or rebuilt from the state for the options
// the core refuses) and the worker's `set`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getLab, Run } from './helpers.mjs';
import { WorkerClient } from './worker_client.mjs';

const lab = await getLab();
// An epoch of 100 examples in batches of 16: the changes below fall inside the second one.
const SMALL = { model: 'small-cnn', dataset: 'shapes', batch_size: 16, train_size: 100, seed: 3 };

async function withData(body) {
  const data = await lab.loadData(SMALL);
  try {
    return await body(data);
  } finally {
    data.dispose();
  }
}

// k steps, then `options` in place; against k steps, saveState, a new side with the changed
// config, loadState. Returns both after m more steps each: {inPlace, roundTrip} as
// {loss, lr, state}.
function bothWays(data, options, k, m) {
  const a = lab.createSide(SMALL, data);
  try {
    a.step(k);
    const saved = a.saveState();
    a.setOptions(options);
    const b = lab.createSide({ ...SMALL, ...options }, data);
    try {
      b.loadState(saved);
      const ra = a.step(m), rb = b.step(m);
      return { inPlace: { ...ra, state: a.saveState() }, roundTrip: { ...rb, state: b.saveState() } };
    } finally {
      b.dispose();
    }
  } finally {
    a.dispose();
  }
}

test('setOptions continues exactly as the state round trip with the changed config', async () => {
  await withData((data) => {
    for (const options of [{ lr: 0.01, momentum: 0.5 }, { bn_eps: 0.001, bn_momentum: 'cumulative' },
                           { schedule: 'cosine', steps: 20, weight_decay: 0.01 }]) {
      const { inPlace, roundTrip } = bothWays(data, options, 9, 8);
      const what = JSON.stringify(options);
      assert.deepEqual(inPlace.loss, roundTrip.loss, what);
      assert.deepEqual(inPlace.lr, roundTrip.lr, what);
      assert.ok(inPlace.state === roundTrip.state, `${what}: the saved states differ`);
      assert.ok(inPlace.loss.every(Number.isFinite), what);
    }
    // And the change took effect: without it the same steps give other losses.
    const sim = lab.createSide(SMALL, data);
    sim.step(9);
    const unchanged = sim.step(8).loss;
    sim.dispose();
    assert.notDeepEqual(bothWays(data, { lr: 0.01, momentum: 0.5 }, 9, 8).inPlace.loss, unchanged);
  });
});

test('a number option given as a word comes back as that word (bn_momentum: cumulative)', async () => {
  await withData((data) => {
    const sim = lab.createSide({ ...SMALL, bn_momentum: 'cumulative' }, data);
    try {
      assert.equal(sim.config.bn_momentum, 'cumulative');
      sim.step(2);
      assert.equal(lab.stateConfig(sim.saveState()).bn_momentum, 'cumulative');
      // The config as the page hands it back (typed) makes the same side again.
      const again = lab.createSide(sim.config, data);
      again.dispose();
      const plain = lab.createSide(SMALL, data);
      assert.equal(typeof plain.config.bn_momentum, 'number');
      plain.dispose();
      // The word is the core's: the option table lists it as the number option's choices, which
      // the page's form takes as the words it accepts (web/src/state.js).
      assert.deepEqual(lab.options().find((o) => o.name === 'bn_momentum').choices, ['cumulative']);
      for (const o of lab.options()) if (o.type === 'int' || (o.type === 'float' && o.name !== 'bn_momentum')) assert.deepEqual(o.choices, [], o.name);
    } finally {
      sim.dispose();
    }
  });
});

test('setOptions refuses options that need a reset and invalid values, changing nothing', async () => {
  await withData((data) => {
    const sim = lab.createSide(SMALL, data);
    try {
      sim.step(3);
      const before = sim.saveState();
      assert.throws(() => sim.setOptions({ lr: 0.01, seed: 2 }),
                    { message: /^option seed cannot change during a run \(.*\): it needs a reset$/ });
      assert.throws(() => sim.setOptions({ norm: 'none' }), { message: /^option norm cannot change during a run .*needs a reset/ });
      assert.throws(() => sim.setOptions({ lr: 0.01, momentum: 7 }), { message: "option momentum: '7' is out of range [0, 0.999999]" });
      assert.throws(() => sim.setOptions({ learning_rate: 0.01 }), { message: /^unknown option 'learning_rate'/ });
      assert.ok(sim.saveState() === before, 'a refused change changed the side');
      assert.equal(sim.config.lr, 0.05);
      assert.deepEqual(sim.optionsNeedingReset({ lr: 0.01, seed: 2, batch_size: 8 }), ['batch_size', 'seed']);
      assert.deepEqual(sim.optionsNeedingReset({ lr: 0.01, seed: 3, batch_size: 16 }), [], 'unchanged values are no change');
      assert.throws(() => sim.optionsNeedingReset({ lr: -1 }), { message: "option lr: '-1' is out of range [0, 10000]" });
    } finally {
      sim.dispose();
    }
  });
});

test('Run.reconfigure changes in place, rebuilds from the state for what the core refuses, and needs a reset for the model', async () => {
  const run = await Run.create(lab, { a: SMALL, b: SMALL });
  try {
    run.step(5);
    const a = run.sides.a;
    run.reconfigure('a', { lr: 0.01, bn_eps: 0.001 });
    assert.equal(run.sides.a, a, 'in place: the same side');
    assert.equal(run.sides.a.config.lr, 0.01);
    assert.equal(run.configs.a.bn_eps, 0.001);
    // batch_size: the documented fallback, a new side given the side's state.
    run.reconfigure('a', { batch_size: 8 });
    assert.notEqual(run.sides.a, a);
    assert.equal(run.sides.a.stepCount, 5);
    assert.equal(run.sides.a.config.batch_size, 8);
    assert.equal(run.sides.a.config.lr, 0.01, 'the earlier in-place change is kept');
    assert.throws(() => run.reconfigure('a', { norm: 'none' }), { message: /needs a reset/ });
    assert.throws(() => run.reconfigure('a', { lr: 'fast' }), { message: "option lr: 'fast' is not a number" });
    assert.equal(run.sides.a.config.norm, 'batch');
    const r = run.step(2);
    assert.equal(r.a.first_step, 6);
    assert.equal(r.b.first_step, 6);
  } finally {
    run.dispose();
  }
});

test('worker set: in place between steps; a value one side refuses changes neither side', async () => {
  const w = new WorkerClient();
  try {
    const sides = { a: { ...SMALL, norm: 'ghost' }, b: { ...SMALL, norm: 'ghost', batch_size: 8 } };
    await w.request({ type: 'init', sides }, ['ready']);
    await w.request({ type: 'step', n: 4 }, ['snapshot']);
    // Sub-batches of 12 fit side a's batches of 16 but not side b's of 8.
    const bad = await w.request({ type: 'set', side: 'both', options: { lr: 0.2, ghost_batch: 12 } }, ['configured']);
    assert.equal(bad.type, 'error');
    assert.equal(bad.message, 'ghost_batch (12) is larger than batch_size (8)');
    const same = await w.request({ type: 'set', side: 'a', options: {} }, ['configured']);
    assert.equal(same.config.lr, 0.05);
    assert.equal(same.config.ghost_batch, 8);
    const ok = await w.request({ type: 'set', side: 'a', options: { lr: 0.2, ghost_batch: 4 } }, ['configured']);
    assert.equal(ok.type, 'configured', ok.message);
    assert.equal(ok.config.lr, 0.2);
    assert.equal(ok.config.ghost_batch, 4);
    const s = await w.request({ type: 'step', n: 1 }, ['snapshot']);
    assert.equal(s.sides.a.history.lr[0], Math.fround(0.2));
    assert.equal(s.sides.b.history.lr[0], Math.fround(0.05), 'side b kept its learning rate');
    // A side changed in place (its model remade for ghost_batch) is measured as before.
    assert.equal(s.sides.a.measure['gbn1.batch_mean'].step, 5);
    const reset = await w.request({ type: 'set', side: 'b', options: { placement: 'after' } }, ['configured']);
    assert.equal(reset.type, 'error');
    assert.match(reset.message, /needs a reset/);
  } finally {
    await w.close();
  }
});
