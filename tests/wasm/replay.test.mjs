// settings.replay (wasm/PROTOCOL.md): every step's measurements in the snapshots' `steps`, the
// run unchanged, and the inspector's copy still taken of the step a snapshot reports.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WorkerClient } from './worker_client.mjs';

const SIDES = { a: { model: 'conv4-bn-relu-pool4 fc', dataset: 'shapes', batch_size: 8, seed: 3 }, b: { model: 'conv4-relu-pool4 fc', dataset: 'shapes', batch_size: 8, seed: 3 } };
const TRACE = { layer: 'bn1', n: 0, c: 1, h: 3, w: 4 };
const STEPS = 25;

const plain = (measure) => Object.fromEntries(Object.entries(measure).map(([k, e]) => [k, { ...e, data: Array.from(e.data) }]));

test('replay: a record of every step, equal to the measurements of a run stepped one step at a time; the losses unchanged', async () => {
  // The truth: the same run without replay, one `step 1` at a time, each snapshot's measure.
  const truth = new WorkerClient();
  await truth.request({ type: 'init', sides: SIDES, settings: { trace: TRACE } }, ['ready']);
  const expected = { a: [], b: [] }, losses = { a: [], b: [] };
  for (let s = 1; s <= STEPS; s++) {
    const snap = await truth.request({ type: 'step', n: 1 }, ['snapshot']);
    for (const side of ['a', 'b']) {
      expected[side].push(plain(snap.sides[side].measure));
      losses[side].push(snap.sides[side].history.loss[0]);
    }
  }
  await truth.close();

  const w = new WorkerClient();
  await w.request({ type: 'init', sides: SIDES, settings: { replay: true, trace: TRACE } }, ['ready']);
  const snap = await w.request({ type: 'step', n: STEPS }, ['snapshot']);
  for (const side of ['a', 'b']) {
    const records = w.snapshots.flatMap((s) => s.sides[side].steps ?? []);
    assert.deepEqual(records.map((r) => r.step), Array.from({ length: STEPS }, (_, i) => i + 1), `side ${side}`);
    records.forEach((r, i) => assert.deepEqual(plain(r.measure), expected[side][i], `side ${side}, step ${r.step}`));
    const got = w.snapshots.flatMap((s) => [...(s.sides[side].history?.loss ?? [])]);
    assert.deepEqual(got, losses[side], `side ${side}: the losses, bit for bit`);
  }
  assert.ok(Object.keys(expected.a[0]).some((k) => k.startsWith('bn1.')), 'A has its bn1 statistics');
  // The trace the step request's reply carries is of its last step.
  assert.equal(snap.sides.a.trace.step, STEPS);
  assert.equal(snap.sides.a.trace.has_before, true);
  await w.close();
});
