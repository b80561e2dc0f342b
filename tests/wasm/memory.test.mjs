// The wasm heap: a long run does not grow it, and dispose() gives everything back.
// heap().size is the WebAssembly memory (it can only grow); heap().in_use is what malloc has
// handed out and not taken back, so a leak of even a few bytes per step shows in it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getLab, mnistFiles, Run } from './helpers.mjs';

const lab = await getLab();

// What the worker does between snapshots: steps, measurements, sometimes an evaluation.
function workLikeTheWorker(sim, steps) {
  for (let done = 0; done < steps; done += 1000) {
    sim.step(1000);
    sim.measure();
    if (done % 5000 === 0) {
      sim.measureHeavy();
      sim.evaluate('eval', 200);
      sim.evaluate('train', 200);
    }
  }
}

test('20,000 steps do not grow the heap after warm-up', async () => {
  const config = { model: 'mlp', dataset: 'shapes', batch_size: 4, seed: 2 };
  const data = await lab.loadData(config);
  const sim = lab.createSide(config, data);
  try {
    // Warm-up: every buffer gets its size, and the heavy measurement runs twice: where its
    // buffers land in the heap settles at its second run (once, in one build, the first left 8
    // bytes more in use than every later one: allocator rounding, not growth).
    workLikeTheWorker(sim, 6000);
    const before = lab.heap();
    workLikeTheWorker(sim, 20000);
    const after = lab.heap();
    assert.equal(sim.stepCount, 26000);
    assert.equal(sim.status, 'training');
    assert.equal(after.size, before.size, 'wasm memory grew');
    assert.equal(after.in_use, before.in_use, 'bytes allocated changed');
  } finally {
    sim.dispose();
    data.dispose();
  }
});

test('dispose gives back every byte of a Run, and the memory is reused', async () => {
  const once = async () => {
    const run = await Run.create(lab, { a: { dataset: 'mnist', batch_size: 16 },
                                                b: { dataset: 'mnist', batch_size: 16, norm: 'none' } }, mnistFiles());
    run.step(20);
    run.sides.a.measure();
    run.dispose();
  };
  await once();  // the first run sets up what lives as long as the module (option table, presets)
  const baseline = lab.heap();
  await once();
  const mid = lab.heap();
  await once();
  const end = lab.heap();
  assert.equal(mid.in_use, baseline.in_use, 'bytes still allocated after dispose');
  assert.equal(end.in_use, baseline.in_use);
  assert.equal(end.size, mid.size, 'a second identical Run grew the memory');
});
