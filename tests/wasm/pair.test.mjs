// The page's two-worker client (web/src/pair-client.js) against its one-worker client (web/src/run-client.js),
// both over build/wasm's worker in node worker threads: the same runs, bit for bit, in lockstep,
// with every request routed to its side.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { mnistFiles } from './helpers.mjs';
import { RunClient } from '../../web/src/run-client.js';
import { PairRunClient } from '../../web/src/pair-client.js';

// A node worker thread dressed as a browser Worker (onmessage, onerror, postMessage, terminate).
function browserLikeWorker() {
  const w = new Worker(new URL('./worker_host.mjs', import.meta.url));
  const shim = {
    postMessage: (m, transfer) => w.postMessage(m, transfer),
    terminate: () => w.terminate(),
    set onmessage(f) { w.on('message', (data) => f({ data })); },
    set onerror(f) { w.on('error', (e) => f({ message: e.message })); },
  };
  return shim;
}

// A client and everything it reported: snapshots merged per side like the page's History.
function client(kind) {
  const seen = { a: { step: [], loss: [], evals: [], last: null }, b: { step: [], loss: [], evals: [], last: null }, errors: [], playing: [], log: [] };
  const callbacks = {
    onSnapshot: (s) => {
      seen.playing.push(s.playing);
      seen.log.push(Object.fromEntries(Object.entries(s.sides).map(([side, snap]) => [side, snap.step])));
      for (const [side, snap] of Object.entries(s.sides)) {
        const h = snap.history;
        for (let i = 0; i < (h?.loss?.length ?? 0); ++i) {
          seen[side].step.push(h.first_step + i);
          seen[side].loss.push(h.loss[i]);
        }
        for (const e of snap.evals ?? []) seen[side].evals.push([e.step, e.eval.loss, e.train.accuracy]);
        seen[side].last = snap;
      }
    },
    onError: (e) => seen.errors.push(e.message),
    onFatal: (m) => seen.errors.push(`fatal: ${m}`),
  };
  const sim = kind === 2 ? new PairRunClient(browserLikeWorker, callbacks) : new RunClient(browserLikeWorker(), callbacks);
  return { sim, seen };
}

const SIDES = { a: { model: 'ref-cnn', norm: 'batch', lr: 0.1, dataset: 'mnist', seed: 1 },
                b: { model: 'ref-cnn', norm: 'none', lr: 0.1, dataset: 'mnist', seed: 1 } };
// The page's settings, measurements and probes included (they run between steps in both).
const SETTINGS = { snapshot_ms: 50, eval_every: 40, eval_examples: 200, heavy_every: 25, misclassified_max: 4 };

const settle = () => new Promise((r) => setTimeout(r, 50));

// Side `side` of the two-worker run (runs[2]) took n steps with the one-worker run's (runs[1])
// losses, bit for bit.
function sameLosses(runs, side, n) {
  assert.equal(runs[2][side].loss.length, n, `side ${side}: ${n} losses`);
  const first = runs[2][side].loss.findIndex((v, i) => !Object.is(v, runs[1][side].loss[i]));
  assert.equal(first, -1, `side ${side}: the losses differ first at step ${first + 1}`);
}

test('two workers give the one-worker run bit for bit: steps, Play and Pause, set on both', async () => {
  const runs = {};
  for (const kind of [1, 2]) {
    const { sim, seen } = client(kind);
    try {
      const ready = await sim.init(SIDES, mnistFiles({ gzip: true }), SETTINGS);
      assert.deepEqual(Object.keys(ready.sides), ['a', 'b']);
      assert.equal(ready.sides.b.config.norm, 'none');
      assert.equal(sim.workers, kind);
      await sim.request('step', { n: 60 });
      // Play, then Pause: both sides stop at the same step.
      sim.post('play', {});
      while ((seen.a.last?.step ?? 0) < 90) await settle();
      await sim.request('pause');
      await settle();
      const at = seen.a.last.step;
      assert.equal(seen.b.last.step, at, `${kind} worker(s): both sides paused at one step`);
      // On to step 150 (where the pause came depends on timing, the run does not), then a
      // learning rate changed on both sides, and ten more steps.
      await sim.request('step', { n: 150 - at });
      await sim.request('set', { side: 'both', options: { lr: 0.05 } });
      await sim.request('step', { n: 10 });
      await settle();
      runs[kind] = seen;
      assert.deepEqual(seen.errors, []);
    } finally {
      sim.terminate();
    }
  }
  for (const side of ['a', 'b']) {
    sameLosses(runs, side, 160);
    assert.deepEqual(runs[2][side].step, runs[1][side].step);
    assert.deepEqual(runs[2][side].evals, runs[1][side].evals, `side ${side}: the same evaluations`);
  }
  assert.ok(runs[2].a.evals.length >= 4, 'evaluated every 40 steps');
});

test('after Pause the two sides are never shown apart: the catch-up snapshots come together', async () => {
  // A (BN) steps more slowly than B, so a pause usually finds B ahead and A takes the steps that
  // bring it level. Between any two events of the page's thread (sampled by setImmediate, as a
  // frame would draw them) the sides' last snapshots must stand at the same step.
  const { sim, seen } = client(2);
  try {
    await sim.init(SIDES, mnistFiles({ gzip: true }), SETTINGS);
    let caughtUp = 0;
    const apart = [];
    for (let round = 0; round < 8 && caughtUp < 2; ++round) {
      const from = seen.a.last?.step ?? 0;
      sim.post('play', {});
      while ((seen.a.last?.step ?? 0) < from + 10) await settle();
      let sampling = true;
      const sample = () => {
        if (!sampling) return;
        if (seen.a.last.step !== seen.b.last.step) apart.push([seen.a.last.step, seen.b.last.step]);
        setImmediate(sample);
      };
      const logged = seen.log.length;
      sample();
      await sim.request('pause');
      sampling = false;
      // A catch-up: a side's snapshot during the pause behind the step both stopped at.
      const level = seen.a.last.step;
      assert.equal(seen.b.last.step, level);
      if (seen.log.slice(logged).some((l) => Object.values(l).some((step) => step < level))) ++caughtUp;
    }
    assert.ok(caughtUp >= 1, 'no pause needed a catch-up: the test did not exercise it');
    assert.deepEqual(apart, [], 'the sides were seen apart (A, B) after a pause');
    assert.deepEqual(seen.errors, []);
  } finally {
    sim.terminate();
  }
});

// The faster side's chunk starts after the frame that draws the last snapshot (node has no frames:
// here a "frame" of 60 ms, so that a pause often comes while that side waits for it and the
// chunk's other side is already stepping). Pauses at such moments must still leave both sides at
// one step, and the run must be the one-worker run, bit for bit.
// (Without the check that a pause came while the side waited, the test hangs: the timeout fails it.)
test('pauses while the faster side waits for the frame leave both sides level and the run unchanged', { timeout: 90000 }, async () => {
  const runs = {};
  for (const kind of [1, 2]) {
    const { sim, seen } = client(kind);
    try {
      await sim.init(SIDES, mnistFiles({ gzip: true }), SETTINGS);
      if (kind === 2) {
        let gated = 0;
        sim.afterFrame = () => { ++gated; return new Promise((r) => setTimeout(r, 60)); };
        for (let round = 0; round < 6; ++round) {
          const from = seen.a.last?.step ?? 0;
          sim.post('play', {});
          while ((seen.a.last?.step ?? 0) < from + 5) await settle();
          await new Promise((r) => setTimeout(r, 10 + 23 * round));
          await sim.request('pause');
          assert.equal(seen.b.last.step, seen.a.last.step, `round ${round}: both sides paused at one step`);
        }
        assert.ok(gated >= 6, `the faster side waited for a frame ${gated} times`);
        assert.ok(seen.a.last.step < 150, `${seen.a.last.step} steps before the last request`);
      }
      await sim.request('step', { n: 150 - (seen.a.last?.step ?? 0) });
      await settle();
      runs[kind] = seen;
      assert.deepEqual(seen.errors, []);
    } finally {
      sim.terminate();
    }
  }
  for (const side of ['a', 'b']) sameLosses(runs, side, 150);
});

test('two workers: the same lr change at the same step gives the one-worker losses exactly', async () => {
  const runs = {};
  for (const kind of [1, 2]) {
    const { sim, seen } = client(kind);
    try {
      await sim.init(SIDES, mnistFiles({ gzip: true }), SETTINGS);
      await sim.request('step', { n: 30 });
      await sim.request('set', { side: 'b', options: { lr: 0.2 } });
      await sim.request('step', { n: 30 });
      await settle();
      runs[kind] = seen;
    } finally {
      sim.terminate();
    }
  }
  for (const side of ['a', 'b']) assert.deepEqual(runs[2][side].loss, runs[1][side].loss, side);
  assert.notDeepEqual(runs[2].a.loss.slice(30), runs[2].b.loss.slice(30));
});

test('requests go to their side\'s worker; a refused set on both changes neither', async () => {
  const { sim, seen } = client(2);
  try {
    await sim.init(SIDES, mnistFiles({ gzip: true }), { snapshot_ms: 50 });
    await sim.request('step', { n: 3 });
    const saved = await sim.request('save', { side: 'b' });
    assert.equal(saved.side, 'b');
    assert.equal(JSON.parse(saved.json).config.norm, 'none');
    const t = await sim.request('tensors', { side: 'a', names: ['bn1.running_mean'] });
    assert.equal(t.side, 'a');
    assert.equal(t.tensors['bn1.running_mean'].shape[0], 8);
    await assert.rejects(sim.request('tensors', { side: 'b', names: ['bn1.running_mean'] }), (e) => e.side === 'b');
    // batch_size 0 is refused; lr 0.3 alone would be fine: neither side may keep it.
    await assert.rejects(sim.request('set', { side: 'both', options: { lr: 0.3, batch_size: 0 } }), /batch_size/);
    const a = JSON.parse((await sim.request('save', { side: 'a' })).json).config;
    const b = JSON.parse((await sim.request('save', { side: 'b' })).json).config;
    assert.equal(a.lr, 0.1);
    assert.equal(b.lr, 0.1);
    // A side's own refusal names that side.
    await assert.rejects(sim.request('set', { side: 'b', options: { lr: -1 } }), (e) => e.side === 'b' && /lr/.test(e.message));
    // Comparison off: B's worker is freed, A trains alone.
    const ready = await sim.request('reset', { sides: { a: SIDES.a } });
    assert.deepEqual(Object.keys(ready.sides), ['a']);
    assert.equal(sim.workers, 1);
    await sim.request('step', { n: 2 });
    await assert.rejects(sim.request('save', { side: 'b' }), /no side 'b'/);
    // And on again: B's worker gets a copy of the data it kept.
    await sim.request('reset', { sides: SIDES });
    assert.equal(sim.workers, 2);
    await sim.request('step', { n: 2 });
    await settle();
    assert.equal(seen.b.last.step, 2);
    assert.deepEqual(seen.errors, []);
  } finally {
    sim.terminate();
  }
});

test('a diverging side stops there and the other goes on, as in one worker', async () => {
  // A rate and a scale that overflow float32 within two steps (the page's test of divergence).
  const sides = { a: { dataset: 'shapes', seed: 3 }, b: { dataset: 'shapes', seed: 3, norm: 'none', lr: 10000, init_scale: 1000 } };
  const runs = {};
  for (const kind of [1, 2]) {
    const { sim, seen } = client(kind);
    try {
      await sim.init(sides, undefined, { snapshot_ms: 50 });
      await sim.request('step', { n: 20 });
      await settle();
      runs[kind] = seen;
    } finally {
      sim.terminate();
    }
  }
  assert.ok(runs[2].b.last.diverged_at > 0);
  assert.equal(runs[2].b.last.diverged_at, runs[1].b.last.diverged_at);
  assert.equal(runs[2].b.last.step, runs[1].b.last.step);
  assert.equal(runs[2].a.last.step, 20);
  assert.deepEqual(runs[2].a.loss, runs[1].a.loss);
  assert.deepEqual(runs[2].b.loss, runs[1].b.loss);
});
