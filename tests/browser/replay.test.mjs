// Replay of any past step (web/src/replay.js, timeline.js) and the inspector following network B
// (web/src/inspect.js, views/inspector.js), on the page with the wasm core training for real.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { start, needsWasm, ready } from './helpers.mjs';

let lab;
before(async () => { lab = await start(); });
after(async () => { await lab.close(); });

const RECENT = 1000, OLD_EVERY = 10, STEPS = 1200;
const STATS = ['batch_mean', 'batch_var', 'running_mean', 'running_var'];

// Every snapshot the first worker (network A's) posts is recorded, before the page sees it: each
// step record's bn1 statistics, as the worker measured them. This is the truth the replayed
// panel is held to.
function recordWorker() {
  window.workerRecords = {};
  const Base = window.Worker;
  let made = 0;
  window.Worker = class extends Base {
    constructor(...args) {
      super(...args);
      if (made++ !== 0) return;
      this.addEventListener('message', (e) => {
        for (const r of e.data?.type === 'snapshot' ? e.data.sides.a?.steps ?? [] : []) {
          window.workerRecords[r.step] = Object.fromEntries(['batch_mean', 'batch_var', 'running_mean', 'running_var']
            .map((k) => [k, Array.from(r.measure[`bn1.${k}`].data)]));
        }
      });
    }
  };
}

test('replay: every step of the last 1,000 and every 10th before, within the budget; scrubbing shows the worker\'s record of that step', { skip: needsWasm }, async () => {
  const page = await lab.open(null);
  await page.addInitScript(recordWorker);
  // A small network, so that 1,500 steps take seconds.
  await page.goto(`${lab.base}?dataset=shapes&model=conv4-bn-relu-pool4%20fc&batch_size=8`);
  await ready(page);
  await page.evaluate((n) => { window.bnlab.step(n); }, STEPS);
  await page.waitForFunction((n) => window.bnlab.history.sides.a.last?.step === n, STEPS, { timeout: 120000 });
  // The budget: the last RECENT steps each, and of the older ones every OLD_EVERY-th.
  const kept = await page.evaluate(() => {
    const r = window.bnlab.history.sides.a.replay;
    return { steps: r.records().map((x) => x.step), bytes: r.bytes(), sizes: [...new Set(r.records().map((x) => x.data.byteLength))] };
  });
  const expected = [];
  for (let s = OLD_EVERY; s <= STEPS - RECENT; s += OLD_EVERY) expected.push(s);
  for (let s = STEPS - RECENT + 1; s <= STEPS; s++) expected.push(s);
  assert.deepEqual(kept.steps, expected);
  assert.equal(kept.steps.length, RECENT + (STEPS - RECENT) / OLD_EVERY);
  console.log(`# replay: ${kept.steps.length} records of network A, ${kept.bytes} bytes (record sizes ${kept.sizes.join(', ')} bytes)`);
  assert.ok(kept.bytes <= kept.steps.length * Math.max(...kept.sizes));
  // Every step the worker sent was recorded by the test too.
  const recorded = await page.evaluate(() => Object.keys(window.workerRecords).length);
  assert.equal(recorded, STEPS);

  const stats = page.locator('[data-panel="bnstats"]');
  // The statistics panel's chart: series 1 and 2 are A's batch and running means per channel, 3
  // and 4 its batch and running variances.
  const shown = () => page.evaluate(() => {
    const p = window.bnlab.panels.find((x) => x.id === 'bnstats');
    const [mean, vars] = p.charts.map((c) => c.plot.data);
    return { batch_mean: Array.from(mean[1]), running_mean: Array.from(mean[2]), batch_var: Array.from(vars[1]), running_var: Array.from(vars[2]) };
  });
  const slider = page.locator('#timeline-step');
  const check = async (step) => {
    await page.waitForFunction((s) => window.bnlab.timeline.step === s, step);
    assert.match(await slider.getAttribute('aria-valuetext'), new RegExp(`^step ${step} of ${STEPS}`));
    await stats.scrollIntoViewIfNeeded();  // panels draw when on screen
    const truth = await page.evaluate((s) => window.workerRecords[s], step);
    await page.waitForFunction((t) => {
      const p = window.bnlab.panels.find((x) => x.id === 'bnstats');
      return p.charts[0].plot.data[1]?.[0] === t;
    }, truth.batch_mean[0]);
    const s = await shown();
    for (const k of STATS) assert.deepEqual(s[k], truth[k].map(Math.fround), `${k} at step ${step}`);
    // The summary's words say the same (rounded), channel 0.
    const text = await stats.locator('.summary').textContent();
    const value = Number(new RegExp('running mean (-?[\\d.e+-]+)').exec(text)[1]);
    assert.ok(Math.abs(value - truth.running_mean[0]) <= 5e-3 * Math.max(1e-2, Math.abs(truth.running_mean[0])), `${text} vs ${truth.running_mean[0]}`);
  };
  await slider.focus();
  await page.keyboard.press('Home');
  await check(OLD_EVERY);
  await slider.focus();
  await page.keyboard.press('PageUp');  // ten kept steps on: every 10th here
  await check(11 * OLD_EVERY);
  await slider.focus();
  await page.keyboard.press('End');
  await page.waitForFunction(() => window.bnlab.timeline.step === null);
  await page.keyboard.press('PageDown');
  await check(STEPS - 10);
  await page.keyboard.press('ArrowLeft');  // one step back: every step is kept here
  await check(STEPS - 11);
  const latestBefore = await page.evaluate(() => window.bnlab.panels.find((x) => x.id === 'bnstats').charts[0].plot.data[1][0]);
  // More steps than the window: the oldest of the every-step part thin to every 10th, the count
  // stays within the budget, and the chosen step (kept) stays chosen.
  await page.evaluate(() => { window.bnlab.step(300); });
  await page.waitForFunction((n) => window.bnlab.history.sides.a.last?.step === n, STEPS + 300, { timeout: 120000 });
  const after300 = await page.evaluate(() => window.bnlab.history.sides.a.replay.records().map((x) => x.step));
  assert.equal(after300.length, RECENT + (STEPS + 300 - RECENT) / OLD_EVERY);
  assert.ok(after300.slice(0, -RECENT).every((s) => s % OLD_EVERY === 0));
  assert.equal(await page.evaluate(() => window.bnlab.timeline.step), STEPS - 11);
  assert.equal(latestBefore, await page.evaluate(() => window.bnlab.panels.find((x) => x.id === 'bnstats').charts[0].plot.data[1][0]));
  assert.deepEqual(page.problems, []);
  await page.close();
});

test('inspector for network B (Batch Renorm): the A/B control, r and d from the running statistics before the update, a click on B\'s feature map, batch-mates of B', { skip: needsWasm }, async () => {
  const page = await lab.open('?dataset=shapes&b.norm=renorm');
  await ready(page);
  await page.selectOption('#f-net', 'b');
  assert.match(page.url(), /[?&]net=b/);
  // B's Batch Renorm layers are brn1, brn2, ...: the layer follows to B's first.
  assert.equal(await page.inputValue('#f-layer'), 'brn1');
  await page.click('#step10');
  await page.waitForFunction(() => window.bnlab.history.sides.b?.last?.trace?.step === 10, null, { timeout: 30000 });
  const panel = page.locator('[data-panel="inspector"]');
  await panel.scrollIntoViewIfNeeded();
  await page.waitForFunction(() => document.querySelector('[data-panel="inspector"] tr[data-symbol="running_mean_before"]'));
  assert.match(await panel.locator('.inspector-source').textContent(), /^B \(/);
  const r = await page.evaluate(() => Object.fromEntries([...document.querySelectorAll('[data-panel="inspector"] tr[data-symbol]')]
    .map((tr) => [tr.dataset.symbol, Number(tr.querySelector('td.value').dataset.value)])));
  const t = await page.evaluate(() => window.bnlab.history.sides.b.last.trace);
  assert.equal(t.kind, 'brn');
  assert.equal(r.running_mean_before, t.running_mean_before);
  assert.equal(r.running_mean, t.running_mean);
  assert.notEqual(t.running_mean_before, t.running_mean);
  // r and d follow from the statistics before the update (sigma = sqrt(running_var_before + eps)),
  // to float precision; r_max 3, d_max 5 (the defaults).
  const sigma = Math.sqrt(t.running_var_before + t.eps);
  const rr = Math.min(3, Math.max(1 / 3, Math.sqrt(t.var + t.eps) / sigma));
  const dd = Math.min(5, Math.max(-5, (t.mean - t.running_mean_before) / sigma));
  assert.ok(Math.abs(r.r - rr) <= 1e-5 * rr, `r ${r.r} vs ${rr}`);
  assert.ok(Math.abs(r.d - dd) <= 1e-5 * (Math.abs(dd) + 1e-3), `d ${r.d} vs ${dd}`);
  // y = gamma (xhat r + d) + beta.
  const y = r.gamma * (r.xhat * r.r + r.d) + r.beta;
  assert.ok(Math.abs(r.y_renorm - y) <= 4e-6 * Math.max(1, Math.abs(y)), `y ${r.y_renorm} vs ${y}`);

  // Back to A with the control, then a click on a pixel of B's feature map chooses B again.
  await page.selectOption('#f-net', 'a');
  assert.equal(await page.inputValue('#f-layer'), 'bn1');
  await page.click('#step1');
  await page.waitForFunction(() => window.bnlab.history.sides.b?.features && window.bnlab.history.sides.b.last.step === 11, null, { timeout: 30000 });
  await panel.scrollIntoViewIfNeeded();
  await page.waitForFunction(() => /^A \(/.test(document.querySelector('[data-panel="inspector"] .inspector-source').textContent), null, { timeout: 30000 });
  const canvas = page.locator('[data-panel="features"] .feature-side[data-side="b"] .maps[data-entry="brn1.features_in"] canvas');
  await canvas.scrollIntoViewIfNeeded();
  const box = await canvas.boundingBox();
  const { width, height } = await canvas.evaluate((c) => ({ width: c.width, height: c.height }));
  const gap = (width - 8 * 28) / 9;
  const px = gap + 3 * (28 + gap) + 9 + 0.5, py = gap + 4 + 0.5;  // channel 3, row 4, column 9
  await page.mouse.click(Math.round(box.x + (px / width) * box.width), Math.round(box.y + (py / height) * box.height));
  await page.waitForFunction(() => {
    const t = window.bnlab.history.sides.b.last?.trace;
    return window.bnlab.state.net === 'b' && t && t.layer === 'brn1' && t.c === 3 && t.h === 4 && t.w === 9;
  }, null, { timeout: 30000 });
  assert.equal(await page.inputValue('#f-net'), 'b');
  await panel.scrollIntoViewIfNeeded();
  await page.waitForFunction(() => /^B \(/.test(document.querySelector('[data-panel="inspector"] .inspector-source').textContent));
  const x = await page.evaluate(() => Number(document.querySelector('[data-panel="inspector"] tr[data-symbol="x"] td.value').dataset.value));
  assert.equal(x, await page.evaluate(() => window.bnlab.history.sides.b.last.trace.x));

  // Batch-mates follow B too: the worker of B answers, the view says B.
  const mates = page.locator('[data-panel="batchmates"]');
  await mates.scrollIntoViewIfNeeded();
  await mates.locator('button', { hasText: 'Draw a batch' }).click();
  await page.waitForFunction(() => window.bnlab.inspect.mates.result?.side === 'b', null, { timeout: 30000 });
  await page.waitForFunction(() => /^Network B \(/.test(document.querySelector('[data-panel="batchmates"] p.inspector-source').textContent));
  assert.deepEqual(page.problems, []);
  await page.close();
});
