// Hostile and careless input through the JavaScript API and the worker (issue 9): failing calls
// leak nothing, a model too large for the heap is refused before it is built, a failed state
// load leaves the run as it was, a damaged .gz says so, every worker request gets a reply.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { getLab, mnistFiles, Run } from './helpers.mjs';
import { WorkerClient } from './worker_client.mjs';

const lab = await getLab();
const SMALL = { model: 'small-cnn', dataset: 'shapes', batch_size: 8, seed: 5 };

test('failing calls leak nothing: 10 bad loadState / stateConfig calls with 100,001-character arguments', async () => {
  const data = await lab.loadData(SMALL);
  const sim = lab.createSide(SMALL, data);
  try {
    const bad = `{${'x'.repeat(100000)}`;  // 100,001 characters, invalid JSON
    const fail = () => {
      assert.throws(() => sim.loadState(bad), /invalid JSON/);
      assert.throws(() => lab.stateConfig(bad), /invalid JSON/);
      assert.throws(() => sim.tensor('no.such.tensor'), /no tensor named 'no.such.tensor'/);
      assert.throws(() => lab.createSide({ ...SMALL, lr: 'fast' }, data), /option lr: 'fast' is not a number/);
    };
    fail();  // warm-up: the message buffers get their size
    const before = lab.heap().in_use;
    for (let i = 0; i < 10; ++i) fail();
    // Before the fix each failed call left its argument behind: 1,000,160 bytes for 10 loadState.
    assert.equal(lab.heap().in_use - before, 0, 'bytes left allocated by 40 failed calls');
    assert.equal(sim.stepCount, 0);
    sim.step(1);  // and the side still works
    assert.equal(sim.stepCount, 1);
  } finally {
    sim.dispose();
    data.dispose();
  }
});

test('a model above the budget is refused at once, with its size and the limit (it used to wrap in 32 bits)', async () => {
  const config = { dataset: 'shapes', model: 'fc65536-fc65536-fc' };
  const data = await lab.loadData(config);
  try {
    const t0 = performance.now();
    assert.throws(() => lab.createSide(config, data),
                  /model 'fc65536-fc65536-fc' is too large: 4346871814 parameters, .* more than the limit of 512.0 MiB/);
    assert.throws(() => lab.createSide({ ...config, model: 'conv4096-conv4096-fc', batch_size: 1 }, data), /is too large/);
    assert.ok(performance.now() - t0 < 2000, 'refused before anything was built');
  } finally {
    data.dispose();
  }
});

test('two models just under the budget train side by side in the 2 GiB heap', async () => {
  // 23.9 million parameters each: an estimate of about 480 MiB, under the 512 MiB limit.
  const config = { dataset: 'shapes', model: 'fc5000-fc4000-fc', batch_size: 8, seed: 1 };
  const data = await lab.loadData(config);
  const sims = [];
  try {
    for (const norm of ['batch', 'none']) sims.push(lab.createSide({ ...config, norm }, data));
    for (const sim of sims) {
      const { loss } = sim.step(1);
      assert.ok(Number.isFinite(loss[0]), `loss ${loss[0]}`);
      assert.equal(sim.stepCount, 1);
    }
    assert.ok(lab.heap().size <= 2 ** 31);
    // Such a model's state would be far above the 64 MiB limit: saving says so.
    assert.throws(() => sims[0].saveState(), /more than the limit of 64.0 MiB for state files/);
  } finally {
    for (const sim of sims) sim.dispose();
    data.dispose();
  }
});

test('a failed state load leaves the run as it was (a state naming a huge model, a damaged state)', async () => {
  const configs = { a: SMALL, b: { ...SMALL, norm: 'none' } };
  const run = await Run.create(lab, configs);
  const twin = await Run.create(lab, configs);
  try {
    run.step(3);
    twin.step(3);
    const saved = run.sides.a.saveState();
    const huge = saved.replace('"model":"small-cnn"', '"model":"fc65536-fc65536-fc"');
    assert.notEqual(huge, saved);
    const t0 = performance.now();
    await assert.rejects(run.load('a', huge), /is too large/);
    assert.ok(performance.now() - t0 < 2000, `refused in ${performance.now() - t0} ms`);
    await assert.rejects(run.load('a', saved.replace('"diverged_at":-1', '"diverged_at":9')), /diverged_at is 9/);
    await assert.rejects(run.load('a', saved.slice(0, 1000)), /invalid JSON/);
    // Both sides go on exactly like the twin that never saw the failures.
    const got = run.step(2), want = twin.step(2);
    for (const side of ['a', 'b']) {
      assert.equal(run.sides[side].stepCount, 5);
      assert.deepEqual(Array.from(got[side].loss), Array.from(want[side].loss), side);
    }
  } finally {
    run.dispose();
    twin.dispose();
  }
});

test('a damaged .gz IDX file is reported as not valid gzip', async () => {
  const files = mnistFiles();
  const good = gzipSync(files.train_labels);
  const damaged = Buffer.concat([good.subarray(0, 20), Buffer.alloc(40, 0x55)]);
  await assert.rejects(lab.loadData({ dataset: 'idx' }, { ...files, train_labels: damaged }),
                       /the train labels file is not valid gzip/);
  const data = await lab.loadData({ dataset: 'idx' }, { ...files, train_labels: good });  // intact .gz is fine
  data.dispose();
});

test('a finite loss above 1e6 is divergence, and the status says the loss', async () => {
  const config = { ...SMALL, norm: 'none', init_scale: 1000 };
  const data = await lab.loadData(config);
  const sim = lab.createSide(config, data);
  try {
    sim.step(1);
    assert.match(sim.status, /^diverged at step 1: loss \d(\.\d+)?e\d+ \(above 1e6\)$/);
  } finally {
    sim.dispose();
    data.dispose();
  }
});

test('every worker request gets a reply, whatever its type', async () => {
  const w = new WorkerClient();
  try {
    for (const type of ['constructor', 'toString', '__proto__', 'hasOwnProperty', 'valueOf', 'nonsense', 42, undefined, null]) {
      const reply = await Promise.race([
        w.request({ type }, ['error']),
        new Promise((resolve) => setTimeout(() => resolve({ type: 'timeout' }), 10000)),
      ]);
      assert.equal(reply.type, 'error', `type ${String(type)}: ${reply.type}`);
      assert.match(reply.message, /unknown request type/);
    }
    // The worker still serves the real requests.
    const ready = await w.request({ type: 'init', sides: { a: SMALL } }, ['ready']);
    assert.equal(ready.type, 'ready', ready.message);
  } finally {
    await w.close();
  }
});
