// A sweep in parts through the worker protocol (experiment_part, experiment_combine), as the
// page's pool runs it: two workers take units, a third combines, and the result is the one
// worker's `experiment` reply, value for value.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mnistFiles } from './helpers.mjs';
import { WorkerClient } from './worker_client.mjs';

const SWEEP = { name: 'lr-sweep', seed: 3, steps: 8 };

test('lr-sweep in parts over two workers, combined, equals the sweep in one worker', async () => {
  const workers = [new WorkerClient(), new WorkerClient()];
  try {
    const whole = await workers[0].request({ type: 'experiment', ...SWEEP, data: mnistFiles({ gzip: true }) }, ['experiment']);
    assert.equal(whole.type, 'experiment', whole.message);
    // Units 0-7 (rates 0.01-0.3, BN and none) in the second worker, 8-13 in the first (its MNIST
    // files are already written).
    const [late, early] = await Promise.all([
      workers[0].request({ type: 'experiment_part', ...SWEEP, begin: 8, end: 14 }, ['experiment_part']),
      workers[1].request({ type: 'experiment_part', ...SWEEP, begin: 0, end: 8, data: mnistFiles({ gzip: true }) }, ['experiment_part']),
    ]);
    for (const r of [early, late]) assert.equal(r.type, 'experiment_part', r.message);
    assert.equal(early.tables.find((t) => t.name === 'runs').rows.length, 8, 'one run per unit');
    assert.ok(early.heap.size > 0, 'the worker reports its heap');
    const progress = workers[1].messages.filter((m) => m.type === 'experiment_progress' && m.id === early.id);
    assert.equal(progress.at(-1)?.fraction, 1);
    const combined = await workers[1].request({ type: 'experiment_combine', ...SWEEP, parts: [early.tables, late.tables] }, ['experiment']);
    assert.equal(combined.type, 'experiment', combined.message);
    assert.deepEqual(combined.summary, whole.summary);
    assert.deepEqual(combined.tables, whole.tables);
  } finally {
    await Promise.all(workers.map((w) => w.close()));
  }
});

// A worker training on MNIST lends its run's files to a part, with the data it parsed from them
// (bnlab.mjs writeData's `parsed`, the core's keep_data: the part does not parse them again): the
// tables are those of a worker that parses the files it is sent.
test('a part on the run\'s own MNIST uses the data the run parsed, with the same result', async () => {
  const workers = [new WorkerClient(), new WorkerClient()];
  try {
    const ready = await workers[0].request({ type: 'init', sides: { a: { model: 'ref-cnn', dataset: 'mnist', seed: 3 } },
      data: mnistFiles({ gzip: true }) }, ['ready']);
    assert.equal(ready.type, 'ready', ready.message);
    const [lent, sent] = await Promise.all([
      workers[0].request({ type: 'experiment_part', ...SWEEP, begin: 2, end: 6 }, ['experiment_part']),
      workers[1].request({ type: 'experiment_part', ...SWEEP, begin: 2, end: 6, data: mnistFiles({ gzip: true }) }, ['experiment_part']),
    ]);
    for (const r of [lent, sent]) assert.equal(r.type, 'experiment_part', r.message);
    assert.equal(lent.tables.find((t) => t.name === 'runs').rows.length, 4);
    assert.deepEqual(lent.tables, sent.tables);
  } finally {
    await Promise.all(workers.map((w) => w.close()));
  }
});

test('bad parts are refused with the core\'s message', async () => {
  const w = new WorkerClient();
  try {
    const empty = await w.request({ type: 'experiment_part', ...SWEEP, begin: 2, end: 2, data: mnistFiles({ gzip: true }) }, ['experiment_part']);
    assert.equal(empty.type, 'error');
    assert.match(empty.message, /not a part of its 14 units/);
    const whole = await w.request({ type: 'experiment_part', name: 'train-eval', begin: 0, end: 1 }, ['experiment_part']);
    assert.match(whole.message, /does not run in parts/);
    const mixed = await w.request({ type: 'experiment_combine', ...SWEEP, parts: [[{ name: 'runs', columns: ['lr'], rows: [] }], 'x'] }, ['experiment']);
    assert.equal(mixed.type, 'error');
    assert.match(mixed.message, /array of tables/);
    const ragged = await w.request({ type: 'experiment_combine', ...SWEEP, parts: [[{ name: 'runs', columns: ['lr'], rows: [['1', '2']] }]] }, ['experiment']);
    assert.match(ragged.message, /2 values for 1 columns/);
  } finally {
    await w.close();
  }
});
