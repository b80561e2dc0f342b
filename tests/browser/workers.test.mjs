// One worker per network (web/src/pair-client.js): the same runs as one worker, bit for bit, in lockstep.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { start, needsWasm, hasMnist, ready } from './helpers.mjs';

const needsData = needsWasm || (!hasMnist && 'the reference comparison trains on MNIST, which is not built');

let lab;
before(async () => { lab = await start(); });
after(async () => { await lab.close(); });

// Everything the page recorded of both sides, as plain numbers.
const record = (page) => page.evaluate(() => {
  const h = window.bnlab.history.sides;
  const side = (s) => ({ step: Array.from(h[s].step.view()), loss: Array.from(h[s].loss.view()), accuracy: Array.from(h[s].accuracy.view()),
    evals: h[s].evals.map((e) => [e.step, e.eval.loss, e.eval.accuracy, e.train.loss]) });
  return { a: side('a'), b: side('b') };
});

async function steps(page, n) {
  await page.evaluate((n) => window.bnlab.client.request('step', { n }), n);
  // The snapshot that answers the request is in the history once the page has handled it.
  await page.waitForFunction((n) => window.bnlab.history.sides.a.last.step >= n && window.bnlab.history.sides.b.last.step >= n, n);
}

test('two workers train the reference comparison bit-identically to one, step by step', { skip: needsData }, async () => {
  // The page's default comparison: ref-cnn on MNIST, A with BN, B without, lr 0.1; tested every 100 steps.
  const runs = {};
  for (const workers of [1, 2]) {
    const page = await lab.open(`?workers=${workers}`);
    await ready(page);
    assert.equal(await page.evaluate(() => window.bnlab.client.workers), workers);
    await steps(page, 300);
    runs[workers] = await record(page);
    assert.deepEqual(page.problems, []);
    await page.close();
  }
  for (const s of ['a', 'b']) {
    assert.equal(runs[2][s].loss.length, 300, `side ${s}: 300 losses`);
    assert.deepEqual(runs[2][s].step, runs[1][s].step, `side ${s}: the same steps`);
    const first = runs[2][s].loss.findIndex((v, i) => !Object.is(v, runs[1][s].loss[i]));
    assert.equal(first, -1, `side ${s}: the losses differ first at step ${first + 1}`);
    assert.deepEqual(runs[2][s].accuracy, runs[1][s].accuracy);
    assert.deepEqual(runs[2][s].evals, runs[1][s].evals, `side ${s}: the same evaluations`);
  }
  assert.notDeepEqual(runs[2].a.loss, runs[2].b.loss, 'A (BN) and B (none) are different runs');
});

test('two workers stay in lockstep through Play and Pause, and the status says how many train', { skip: needsWasm }, async () => {
  const query = '?dataset=shapes&b.lr=0.2';
  const page = await lab.open(`${query}&workers=2`);
  await ready(page);
  await page.click('#play');
  await page.waitForFunction(() => window.bnlab.history.sides.a?.last?.step >= 40, null, { timeout: 30000 });
  assert.match(await page.textContent('#status'), /Training \(two workers, one per network\)/);
  await page.click('#play');
  await page.waitForFunction(() => !window.bnlab.playing && document.querySelector('#play').textContent === 'Play');
  await page.waitForTimeout(400);
  const paused = await record(page);
  const at = paused.a.step.at(-1);
  assert.equal(paused.b.step.at(-1), at, 'both sides paused at the same step');
  assert.equal(await page.textContent('#c-step'), String(at));
  await page.waitForTimeout(400);
  assert.equal((await record(page)).a.step.at(-1), at, 'no step after Pause');

  // The same number of steps in one worker gives the same losses.
  const one = await lab.open(`${query}&workers=1`);
  await ready(one);
  await steps(one, at);
  const single = await record(one);
  assert.deepEqual(paused.a.loss, single.a.loss);
  assert.deepEqual(paused.b.loss, single.b.loss);
  assert.deepEqual(page.problems, []);
  assert.deepEqual(one.problems, []);
});

test('one worker where the browser reports one core; comparing off frees the second worker', { skip: needsWasm }, async () => {
  const context = await lab.browser.newContext({ viewport: { width: 1400, height: 1000 } });
  await context.addInitScript(() => Object.defineProperty(navigator, 'hardwareConcurrency', { get: () => 1 }));
  const page = await context.newPage();
  await page.goto(`${lab.base}?dataset=shapes`);
  await ready(page);
  assert.equal(await page.evaluate(() => window.bnlab.client.workers), 1);
  await page.click('#play');
  await page.waitForFunction(() => /Training \(one worker\)/.test(document.querySelector('#status').textContent), null, { timeout: 30000 });
  await page.click('#play');
  await context.close();

  const two = await lab.open('?dataset=shapes');
  await ready(two);
  const cores = await two.evaluate(() => navigator.hardwareConcurrency);
  assert.equal(await two.evaluate(() => window.bnlab.client.workers), cores >= 2 ? 2 : 1, `the default with ${cores} cores`);
  await two.keyboard.press('c');  // compare off: network A alone, in one worker
  await two.waitForFunction(() => window.bnlab.info.a && !window.bnlab.info.b && window.bnlab.history.sides.a?.last);
  assert.equal(await two.evaluate(() => window.bnlab.client.workers), 1);
  await two.click('#step10');
  await two.waitForFunction(() => window.bnlab.history.sides.a.last.step === 10);
  assert.deepEqual(two.problems, []);
});

// A sweep run on the pool and in the simulation's one worker (workers=1): the same summary and
// tables, and on the pool the chart grows by a unit's run (BN or none) as each unit ends.
// The pool runs parts on the page's own (paused) workers too: afterwards the page's networks
// train on as they would have, bit for bit. query: more of the page's settings (another dataset:
// the page's workers then get MNIST with their first part).
async function poolAgainstOne(name, lesson, runSteps, units, query = '') {
  const results = {};
  const after = {};
  for (const workers of ['1', 'auto']) {
    const page = await lab.open(`?lesson=${lesson}&workers=${workers}${query}`);
    await ready(page);
    results[workers] = await page.evaluate(async ({ name, steps }) => {
      const charts = [];  // points drawn each time a part ended
      const status = [];  // the status line then
      const r = await window.bnlab.runExperiment(name, null, steps, (tables) => {
        status.push(document.querySelector('#status').textContent);
        window.bnlab.experiments.showPart(name, tables);
        charts.push(document.querySelectorAll(`section.experiment[data-experiment="${name}"] figure.sweep svg[role="img"] circle`).length);
      });
      return { summary: r.summary, tables: r.tables, pool: r.pool ?? null, charts, status, cores: navigator.hardwareConcurrency };
    }, { name, steps: runSteps });
    await steps(page, 5);
    after[workers] = await record(page);
    assert.deepEqual(page.problems, []);
    await page.close();
  }
  const one = results['1'], pool = results.auto;
  assert.equal(one.pool, null, 'workers=1: the simulation\'s own worker');
  assert.equal(pool.pool.workers, Math.min(pool.cores, units));
  if (pool.cores >= 2) assert.ok(pool.pool.reused >= 1, `the page's workers took parts (${pool.pool.reused} reused)`);
  assert.deepEqual(after.auto, after['1'], 'the networks after the sweep: the same five steps');
  assert.equal(after.auto.a.loss.length, 5);
  assert.ok(one.tables.length > 0 && one.tables[0].rows.length === units, `${name}: ${one.tables[0]?.rows.length} runs`);
  assert.deepEqual(pool.summary, one.summary);
  assert.deepEqual(pool.tables, one.tables);
  if (pool.cores >= 2) {
    assert.deepEqual(pool.charts, Array.from({ length: units }, (_, i) => i + 1));
    // While it runs the status says so (the paused networks' snapshots do not say "Paused.").
    for (const text of pool.status) assert.equal(text, `Running the experiment "${name}" in ${pool.pool.workers} workers...`);
    assert.ok(pool.pool.heap_bytes.every((b) => b > 0), `heap per worker: ${pool.pool.heap_bytes}`);
  }
}

test('a sweep on the worker pool gives the one-worker result, and its chart fills in as runs end', { skip: needsData }, async () => {
  // lr-sweep shortened to 10 steps per run: 7 rates, BN and none.
  await poolAgainstOne('lr-sweep', 'high-lr', 10, 14);
});

test('a sweep on the pool from a page training on shapes: the page\'s workers get MNIST for it', { skip: needsData }, async () => {
  await poolAgainstOne('lr-sweep', 'high-lr', 5, 14, '&dataset=shapes');
});

test('the init-scale sweep on the worker pool gives the one-worker result too', { skip: needsData }, async () => {
  // init-sweep shortened to 5 steps per run: 9 scales, BN and none.
  await poolAgainstOne('init-sweep', 'init', 5, 18);
});

// Without the fix the sweep waited forever for the ended workers: the timeout makes that a failure.
test('a sweep on the page\'s workers ends with a message when the page starts a new simulation', { skip: needsData, timeout: 120000 }, async () => {
  const page = await lab.open('?lesson=high-lr');
  await ready(page);
  const outcome = await page.evaluate(async () => {
    // The status line as the sweep fails (the new run's own status comes later, from its worker).
    const sweep = window.bnlab.runExperiment('lr-sweep', null, 200).then(() => 'finished',
      (e) => `${e.message} | ${document.querySelector('#status').textContent}`);
    await new Promise((r) => setTimeout(r, 300));
    window.bnlab.setOption('workers', '1');  // ends the pair's workers, which run parts
    return sweep;
  });
  const cores = await page.evaluate(() => navigator.hardwareConcurrency);
  if (cores >= 2) assert.match(outcome, /training worker was ended.* \| Experiment "lr-sweep" did not finish\. Paused\.$/);
  await ready(page);
  assert.equal(await page.evaluate(() => window.bnlab.client.workers), 1);
  assert.deepEqual(page.problems, []);
});

// Controller.warmSweep: where the browser reports more than two cores, a lesson with a sweep
// starts the pool's other workers (and warms them with a one-step part) while the learner reads
// it, and the sweep then runs on them without starting more; on two cores nothing is started
// beyond the pair's two workers. navigator.hardwareConcurrency is overridden before the page's
// scripts run; the workers are counted by the browser (Playwright's `worker` event).
async function lessonWithCores(cores) {
  const page = await lab.open(null);
  await page.context().addInitScript((n) => Object.defineProperty(navigator, 'hardwareConcurrency', { get: () => n }), cores);
  const workers = [];
  page.on('worker', (w) => workers.push(w.url()));
  await page.goto(`${lab.base}?lesson=high-lr`);
  await ready(page);
  const warm = await page.evaluate(() => window.bnlab.warming);
  return { page, workers, warm };
}

test('with 4 cores a lesson with a sweep starts its pool ahead; with 2 it starts none', { skip: needsData }, async () => {
  const two = await lessonWithCores(2);
  assert.ok(two.warm && two.warm.ms >= 0, 'the page\'s own workers were warmed for the sweep');
  assert.equal(two.workers.length, 2, `2 cores: the pair's workers only (${two.workers})`);
  assert.deepEqual(two.page.problems, []);
  await two.page.context().close();

  const four = await lessonWithCores(4);
  assert.equal(await four.page.evaluate(() => window.bnlab.client.workers), 2);
  assert.equal(four.workers.length, 4, `4 cores: the pair's 2 workers and 2 of the pool started ahead (${four.workers})`);
  const r = await four.page.evaluate(() => window.bnlab.runExperiment('lr-sweep', null, 5));
  assert.equal(four.workers.length, 4, 'the sweep started no worker of its own');
  assert.deepEqual({ workers: r.pool.workers, reused: r.pool.reused, ahead: r.pool.ahead }, { workers: 4, reused: 2, ahead: 2 });
  // Each of the four workers ran units.
  assert.deepEqual([...new Set(r.pool.timeline.units.map((u) => u.worker))].sort(), [0, 1, 2, 3]);
  assert.equal(r.tables[0].rows.length, 14, 'all 7 rates x BN / none');
  assert.deepEqual(four.page.problems, []);

  // The same sweep in one worker: the same result.
  const one = await lab.open('?lesson=high-lr&workers=1');
  await ready(one);
  const single = await one.evaluate(() => window.bnlab.runExperiment('lr-sweep', null, 5));
  assert.deepEqual(r.tables, single.tables);
  assert.deepEqual(r.summary, single.summary);
  await four.page.context().close();
  await one.context().close();
});
