// The page training for real: the wasm core in its worker, driven through the page's controls.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { start, needsWasm, hasMnist, ready, idxFiles, stepText } from './helpers.mjs';

let lab;
before(async () => { lab = await start(); });
after(async () => { await lab.close(); });

const stepIs = (page, n, timeout = 20000) =>
  page.waitForFunction((n) => document.querySelector('#c-step').textContent === String(n), n, { timeout });

// The losses the page has recorded for a side, as plain numbers.
const losses = (page, side) => page.evaluate((side) => Array.from(window.bnlab.history.sides[side].loss.view()), side);

test('Step advances by exactly one, Step 10 by ten', { skip: needsWasm }, async () => {
  const page = await lab.open('?dataset=shapes');
  await ready(page);
  await page.click('#step1');
  await stepIs(page, 1);
  await page.click('#step1');
  await stepIs(page, 2);
  await page.click('#step10');
  await stepIs(page, 12);
  assert.equal((await losses(page, 'a')).length, 12);
  assert.equal((await losses(page, 'b')).length, 12);
  assert.deepEqual(page.problems, []);
});

test('Play advances the step counter and the charts; Pause stops both', { skip: needsWasm }, async () => {
  const page = await lab.open('?dataset=shapes');
  await ready(page);
  await page.click('#play');
  await page.waitForFunction(() => Number(document.querySelector('#c-step').textContent) >= 30, null, { timeout: 30000 });
  await page.click('#play');
  await page.waitForFunction(() => !window.bnlab.playing && document.querySelector('#play').textContent === 'Play');
  await page.waitForTimeout(300);
  const stopped = await stepText(page);
  await page.waitForTimeout(500);
  assert.equal(await stepText(page), stopped, 'no step after Pause');
  // The loss chart holds one point per recorded step for each side (uPlot's data).
  const drawn = await page.evaluate(() => window.bnlab.panels[0].chart.plot.data[1].filter((v) => v != null).length);
  assert.ok(drawn >= 10, `loss chart has ${drawn} points`);
  assert.match(await page.textContent('[data-panel="loss"] .summary'), /train \d/);
  assert.deepEqual(page.problems, []);
});

test('a setting changed while playing restarts both networks at step 0 and plays on', { skip: needsWasm }, async () => {
  const page = await lab.open('?dataset=shapes');
  await ready(page);
  await page.click('#play');
  await page.waitForFunction(() => window.bnlab.history.sides.a?.last?.step >= 5, null, { timeout: 30000 });
  await page.click('#settings-toggle');
  await page.fill('#f-b-lr', '0.2');
  await page.locator('#f-b-lr').blur();
  await page.waitForFunction(() => window.bnlab.info.b?.config?.lr > 0.19, null, { timeout: 30000 });
  await page.waitForFunction(() => window.bnlab.playing && window.bnlab.history.sides.a?.last?.step >= 3, null, { timeout: 30000 });
  assert.ok(await page.evaluate(() => window.bnlab.history.sides.a.step.view()[0] === 1), 'the new history starts at step 1');
  assert.match(page.url(), /b\.lr=0\.2/);
  await page.click('#play');
});

test('how often to test is changed without a restart', { skip: needsWasm }, async () => {
  const page = await lab.open('?dataset=shapes&eval_every=100');
  await ready(page);
  await page.click('#step10');
  await stepIs(page, 10);
  await page.click('#settings-toggle');
  await page.fill('#f-eval_every', '20');
  await page.locator('#f-eval_every').blur();
  await page.click('#step10');
  await stepIs(page, 20);
  await page.waitForFunction(() => window.bnlab.history.sides.a.evals.some((e) => e.step === 20), null, { timeout: 10000 });
  assert.equal((await losses(page, 'a')).length, 20, 'the run went on from step 10');
  assert.match(page.url(), /eval_every=20/);
  assert.deepEqual(page.problems, []);
});

test('the chosen layer and channel are the ones the histograms and statistics show', { skip: needsWasm }, async () => {
  const page = await lab.open('?dataset=shapes&layer=bn2&channel=3');
  await ready(page);
  await page.click('#step1');
  await stepIs(page, 1);
  const hist = await page.evaluate(() => window.bnlab.history.sides.a.last.measure['hist.input']);
  assert.ok(hist, 'the snapshot carries histograms');
  assert.equal(hist.layer, 'bn2');
  assert.equal(hist.channel, 3);
  // Panels are drawn when on screen.
  for (const [panel, text] of [['histogram', /Following bn2 channel 3/], ['bnstats', /bn2 channel 3: running mean -?\d/]]) {
    await page.locator(`[data-panel="${panel}"]`).scrollIntoViewIfNeeded();
    await page.waitForFunction(([panel, source]) => new RegExp(source).test(document.querySelector(`[data-panel="${panel}"] .summary`).textContent),
      [panel, text.source], { timeout: 5000 });
  }
  // A channel the layer does not have is refused next to the field; the layer choice stays.
  await page.fill('#f-channel', '16');
  await page.press('#f-channel', 'Tab');
  assert.match(await page.textContent('#err-view'), /bn2 has 16 channels, 0 to 15/);
  await page.selectOption('#f-layer', 'bn1');
  await page.click('#step1');
  await stepIs(page, 2);
  const moved = await page.evaluate(() => window.bnlab.history.sides.a.last.measure['hist.input']);
  assert.equal(moved.layer, 'bn1');
  assert.equal(moved.channel, 3);
});

test('feature maps of the chosen test image and the misclassified images, both networks', { skip: needsWasm }, async () => {
  const page = await lab.open('?dataset=shapes&eval_every=10&image=5');
  await ready(page);
  const features = page.locator('[data-panel="features"]');
  await features.scrollIntoViewIfNeeded();
  // At step 0 already: the initial networks' answers for image 5.
  await page.waitForFunction(() => /A \(batch norm\), test image 5 \(a \w+\): says/.test(document.querySelector('[data-panel="features"] .summary').textContent));
  assert.equal(await page.isVisible('#image-control'), true);
  const [a, b] = await features.locator('.feature-side').all();
  // ref-cnn: conv8-bn-relu-pool2 conv16-bn-relu-pool2 fc64-bn-relu fc, with and without BN.
  assert.deepEqual(await a.locator('.maps').evaluateAll((rows) => rows.map((r) => r.dataset.entry)),
    ['bn1.features_in', 'bn1.features_out', 'bn2.features_in', 'bn2.features_out', 'bn3.features_in', 'bn3.features_out']);
  assert.deepEqual(await b.locator('.maps').evaluateAll((rows) => rows.map((r) => r.dataset.entry)),
    ['conv1.features_out', 'conv2.features_out', 'fc1.features_out']);
  // One canvas per row: 8 tiles to a line, 2 pixels apart (bn1: 8 maps of 28 x 28, bn2: 16 of 14 x 14).
  const size = (row) => row.locator('canvas').evaluate((c) => [c.width, c.height]);
  assert.deepEqual(await size(a.locator('[data-entry="bn1.features_out"]')), [8 * 30 + 2, 30 + 2]);
  assert.deepEqual(await size(a.locator('[data-entry="bn2.features_in"]')), [8 * 16 + 2, 2 * 16 + 2]);
  // The chosen channel (bn1, channel 0) is ringed in black in the gap, before and after; B has no bn1.
  const corner = (row) => row.locator('canvas').evaluate((c) => Array.from(c.getContext('2d').getImageData(1, 1, 1, 1).data));
  assert.deepEqual(await corner(a.locator('[data-entry="bn1.features_in"]')), [0, 0, 0, 255]);
  assert.deepEqual(await corner(a.locator('[data-entry="bn1.features_out"]')), [0, 0, 0, 255]);
  assert.deepEqual(await corner(a.locator('[data-entry="bn2.features_in"]')), [255, 255, 255, 255]);
  assert.deepEqual(await corner(b.locator('[data-entry="conv1.features_out"]')), [255, 255, 255, 255]);

  // An evaluation (every 10 steps here) brings the images each network gets wrong.
  await page.click('#step10');
  await stepIs(page, 10);
  const wrong = page.locator('[data-panel="misclassified"]');
  await wrong.scrollIntoViewIfNeeded();
  await page.waitForFunction(() => /A \(batch norm\): \d+ of 1000 test images wrong at step 10.*B \(no norm\): \d+ of 1000/.test(
    document.querySelector('[data-panel="misclassified"] .summary').textContent));
  const chosen = wrong.locator('button.misclassified-image').last();  // not image 0, the default
  const index = await chosen.getAttribute('data-image');
  assert.match(await chosen.getAttribute('aria-label'), new RegExp(`Test image ${index}: said \\w+, is \\w+`));
  // Choosing it shows its feature maps, while paused, and puts it in the URL.
  await chosen.click();
  assert.equal(await page.inputValue('#f-image'), index);
  await page.waitForFunction((i) => document.querySelector('[data-panel="features"] .summary').textContent.includes(`test image ${i} `), index);
  assert.equal(new URL(page.url()).searchParams.get('image'), index);
  // An image the test set does not have is refused next to the field.
  await page.fill('#f-image', '5000');
  await page.press('#f-image', 'Tab');
  assert.match(await page.textContent('#err-view'), /test image: the test set has 2000 images, 0 to 1999/);
  assert.equal(await page.inputValue('#f-image'), '5000');
  assert.deepEqual(page.problems, []);
});

test('an embedded page pauses while scrolled out of view and resumes when back', { skip: needsWasm }, async () => {
  const page = await lab.open(null);
  await page.setViewportSize({ width: 900, height: 700 });
  await page.setContent(`<!doctype html><title>Host</title>
    <iframe src="${lab.base}?embed=1&panels=loss&dataset=shapes" style="width:800px;height:500px"></iframe>
    <div style="height:3000px">text below</div>`);
  const frame = await (await page.waitForSelector('iframe')).contentFrame();
  await ready(frame);
  await frame.click('#play');
  await frame.waitForFunction(() => window.bnlab.playing);
  await page.evaluate(() => window.scrollTo(0, 2000));
  // Polled by timer: an out-of-view frame gets no animation frames, Playwright's default polling.
  await frame.waitForFunction(() => !window.bnlab.playing, null, { timeout: 10000, polling: 100 });
  // The pause's reply settles it: the steps in flight at the press (with two workers, up to a
  // chunk) have arrived by then; after it, nothing may train while out of view.
  await frame.evaluate(() => window.bnlab.paused);
  const stepNow = () => frame.evaluate(() => window.bnlab.history.sides.a.last.step);
  const paused = await stepNow();
  await page.waitForTimeout(1000);
  assert.equal(await stepNow(), paused, 'no training out of view');
  await page.evaluate(() => window.scrollTo(0, 0));
  await frame.waitForFunction((paused) => window.bnlab.playing && window.bnlab.history.sides.a.last.step > paused, paused, { timeout: 10000, polling: 100 });
  await frame.click('#play');
});

test('a lesson runs the core\'s whole experiment and shows its figures and tables', { skip: needsWasm || (!hasMnist && 'the experiments train on MNIST, which is not built') }, async () => {
  // grad-init is the quickest experiment (gradients at initialization, nothing trained).
  const page = await lab.open('?dataset=shapes&lesson=grad-init');
  await ready(page);
  const box = page.locator('section.experiment[data-experiment="grad-init"]');
  await box.locator('button', { hasText: 'Run the experiment' }).click();
  await box.locator('.experiment-result table').first().waitFor({ timeout: 120000 });
  // The headline figures in words, each keeping its summary.json name as its title.
  const figures = await box.locator('table.figures th').allTextContents();
  assert.ok(figures.includes('MLP (sigmoid) spread, with BN') && figures.includes('MLP (sigmoid) spread, without normalization'), figures.join(', '));
  assert.equal(await box.locator('table.figures th[title="mlp.spread_bn"]').count(), 1);
  assert.ok(await box.locator('table').count() >= 1);
  const [csv] = await Promise.all([page.waitForEvent('download'), box.locator('figcaption button').first().click()]);
  const lines = fs.readFileSync(await csv.path(), 'utf8').trim().split('\n');
  assert.match(lines[0], /network,variant/);
  assert.ok(lines.length > 12, `${lines.length} CSV lines`);
  // The networks can train again afterwards.
  await page.click('#step1');
  await stepIs(page, 1);
  assert.deepEqual(page.problems, []);
});

test('a sweep is drawn as final accuracy against the swept value, one line per network', { skip: needsWasm || (!hasMnist && 'the experiments train on MNIST, which is not built') }, async () => {
  // A shortened lr-sweep (10 steps per run) keeps the test short; the chart is the same.
  const page = await lab.open('?lesson=high-lr');
  await ready(page);
  const result = await page.evaluate(async () => {
    const r = await window.bnlab.runExperiment('lr-sweep', null, 10);
    window.bnlab.experiments.show('lr-sweep', r);
    return r.tables.find((t) => t.name === 'runs');
  });
  const box = page.locator('section.experiment[data-experiment="lr-sweep"]');
  const chart = box.locator('figure.sweep').first();
  await chart.waitFor();
  assert.match(await chart.locator('figcaption').textContent(), /final test accuracy against lr/);
  const variants = new Set(result.rows.map((r) => r[result.columns.indexOf('variant')]));
  assert.equal(await chart.locator('svg[role="img"] path').count(), variants.size, 'one line per variant');
  assert.equal(await chart.locator('svg[role="img"] circle').count(), result.rows.length, 'one point per run');
  assert.deepEqual((await chart.locator('.legend li').allTextContents()).sort(), [...variants].sort());
  // The point of each run sits at its accuracy: y = bottom - accuracy * height, as drawn.
  const ys = await chart.locator('svg[role="img"] circle').evaluateAll((c) => c.map((e) => Number(e.getAttribute('cy'))));
  const acc = result.rows.map((r) => Number(r[result.columns.indexOf('test_accuracy')]));
  assert.deepEqual([...ys].sort((p, q) => p - q), acc.map((a) => 220 - 34 - a * (220 - 10 - 34)).sort((p, q) => p - q));
  assert.deepEqual(page.problems, []);
});

test('metrics CSV and a chart PNG download', { skip: needsWasm }, async () => {
  const page = await lab.open('?dataset=shapes&eval_every=10');
  await ready(page);
  await page.click('#step10');
  await stepIs(page, 10);
  await page.waitForFunction(() => window.bnlab.history.sides.a.evals.some((e) => e.step === 10));
  const [csv] = await Promise.all([page.waitForEvent('download'), page.click('#export-csv')]);
  const lines = fs.readFileSync(await csv.path(), 'utf8').trim().split('\n');
  assert.match(lines[0], /^side,label,step,batch_loss,batch_accuracy,lr,test_loss_eval/);
  assert.equal(lines.filter((l) => l.startsWith('a,')).length, 11, 'steps 1..10 and the evaluation at step 0');
  const step10 = lines.find((l) => /^a,[^,]*,10,/.test(l)).split(',');
  assert.ok(Number(step10[3]) > 0 && step10[6] !== '', 'loss and the test evaluation at step 10');
  const [png] = await Promise.all([page.waitForEvent('download'), page.click('[data-png="accuracy"]')]);
  const bytes = fs.readFileSync(await png.path());
  assert.deepEqual([...bytes.subarray(1, 4)], [0x50, 0x4e, 0x47]);
  assert.ok(bytes.length > 5000, `${bytes.length} bytes`);
});

test('the same URL reproduces the same run (config and seed)', { skip: needsWasm }, async () => {
  const query = '?dataset=shapes&seed=42&lr=0.1&b.norm=group';
  const runs = [];
  for (let i = 0; i < 2; i++) {
    const page = await lab.open(query);
    await ready(page);
    await page.click('#step10');
    await stepIs(page, 10);
    runs.push({ a: await losses(page, 'a'), b: await losses(page, 'b') });
  }
  assert.deepEqual(runs[0], runs[1]);
  const other = await lab.open('?dataset=shapes&seed=43&lr=0.1&b.norm=group');
  await ready(other);
  await other.click('#step10');
  await stepIs(other, 10);
  assert.notDeepEqual(await losses(other, 'a'), runs[0].a, 'another seed gives another run');
});

test('a run that diverges says so and the other side keeps going', { skip: needsWasm }, async () => {
  // A rate and a scale that overflow float32 within two steps (a finite loss above 1e6 is
  // divergence too: tests/browser/hostile.test.mjs).
  const page = await lab.open('?dataset=shapes&b.lr=10000&b.init_scale=1000&b.norm=none');
  await ready(page);
  const stepOfA = (n) => page.waitForFunction((n) => window.bnlab.history.sides.a.last.step === n, n, { timeout: 20000 });
  await page.click('#step10');
  await stepOfA(10);
  const last = await page.evaluate(() => ({ a: window.bnlab.history.sides.a.last, b: window.bnlab.history.sides.b.last }));
  assert.ok(last.b.diverged_at > 0, `B diverged at ${last.b.diverged_at}`);
  assert.match(await page.textContent('#status'), new RegExp(`B \\(.*\\): diverged at step ${last.b.diverged_at}.*The other network keeps training`));
  assert.equal(await stepText(page), `A 10 / B ${last.b.step}`);
  await page.click('#step10');
  await stepOfA(20);
  const after = await page.evaluate(() => ({ a: window.bnlab.history.sides.a.last, b: window.bnlab.history.sides.b.last }));
  assert.equal(after.a.diverged_at, -1);
  assert.equal(after.b.step, last.b.step, 'the diverged side stays where it stopped');
});

test('your own IDX files, picked one by one, train', { skip: needsWasm }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bnlab-idx-'));
  const files = idxFiles(dir, 200);
  const page = await lab.open('?dataset=idx&compare=false');
  await page.waitForSelector('#idx-files:not([hidden])');
  await page.setInputFiles('#idx-train_images', files['train-images']);
  await page.setInputFiles('#idx-train_labels', files['train-labels']);
  await page.setInputFiles('#idx-test_images', files['test-images']);
  assert.match(await page.textContent('#err-idx'), /Still missing: test labels/);
  await page.setInputFiles('#idx-test_labels', files['test-labels']);
  await ready(page);
  await page.click('#step10');
  await stepIs(page, 10);
  const info = await page.evaluate(() => window.bnlab.info.a.dataset);
  assert.equal(info.train_size, 200);
  assert.equal((await losses(page, 'a')).length, 10);
  fs.rmSync(dir, { recursive: true });
});

test('IDX files dropped anywhere on the page become the dataset and train', { skip: needsWasm }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bnlab-idx-'));
  const files = idxFiles(dir, 120);
  const page = await lab.open('?dataset=shapes&compare=false');
  await ready(page);
  const payload = Object.entries(files).map(([name, p]) => ({ name: `${name}.idx`, bytes: [...fs.readFileSync(p)] }));
  await page.evaluate((payload) => {
    const dt = new DataTransfer();
    for (const f of payload) dt.items.add(new File([new Uint8Array(f.bytes)], f.name));
    document.querySelector('#panels').dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
  }, payload);
  await page.waitForFunction(() => window.bnlab.info.a?.dataset?.train_size === 120, null, { timeout: 30000 });
  assert.equal(await page.inputValue('#f-dataset'), 'idx');
  assert.match(page.url(), /dataset=idx/);
  await page.click('#step1');
  await stepIs(page, 1);
  fs.rmSync(dir, { recursive: true });
});

test('an exported state loads back and continues from its step', { skip: needsWasm }, async () => {
  const page = await lab.open('?dataset=shapes&lr=0.07&seed=5');
  await ready(page);
  await page.click('#step10');
  await stepIs(page, 10);
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export-state-a')]);
  const file = await download.path();
  const saved = JSON.parse(fs.readFileSync(file, 'utf8'));
  assert.equal(Math.fround(saved.config.lr), Math.fround(0.07));

  const fresh = await lab.open('?dataset=shapes');
  await ready(fresh);
  await fresh.setInputFiles('#load-state', file);
  await fresh.waitForFunction(() => /Loaded .* at step 10/.test(document.querySelector('#takeaway-msg').textContent), null, { timeout: 20000 });
  assert.equal(await fresh.inputValue('#f-lr'), '0.07');
  assert.equal(await fresh.inputValue('#f-seed'), '5');
  await fresh.click('#step1');
  await stepIs(fresh, 11);
  // The continued step matches the original run's step 11.
  await page.click('#step1');
  await stepIs(page, 11);
  assert.equal((await losses(fresh, 'a')).at(-1), (await losses(page, 'a')).at(-1));
});

test('training leaves the main thread free: no task over 50 ms', { skip: needsWasm }, async () => {
  // Long tasks are wall time: on a shared machine another process can stretch any task of the
  // page. A 4-second run with every task under 50 ms shows that the page's own work fits; up to
  // three runs are tried, and a page whose frames take longer fails them all.
  // One worker: with two (the default where there are 2 cores or more), CI's 2 cores have two
  // busy workers and the main thread, so the scheduler stretches the main thread's tasks about
  // threefold (a trace at 51000fc: frames of 8-20 ms of the thread's CPU took 25-63 ms of wall
  // time), which measures the machine's core count, not the page's work (web/README.md).
  const runs = [];
  for (let attempt = 0; attempt < 3; attempt++) {
    const page = await lab.open('?dataset=shapes&workers=1');
    await ready(page);
    await page.evaluate(() => {
      window.longTasks = [];
      new PerformanceObserver((list) => { for (const e of list.getEntries()) window.longTasks.push(e.duration); }).observe({ type: 'longtask' });
    });
    await page.click('#play');
    await page.waitForTimeout(4000);
    await page.click('#play');
    const tasks = await page.evaluate(() => window.longTasks);
    const steps = Number(await stepText(page));
    console.log(`# run ${attempt + 1}: ${steps} steps in about 4 s; long tasks (ms): ${JSON.stringify(tasks.map(Math.round))}`);
    assert.ok(steps > 20, `trained ${steps} steps`);
    runs.push(tasks.filter((d) => d > 50));
    await page.close();
    if (runs.at(-1).length === 0) break;
  }
  assert.deepEqual(runs.at(-1), [], `tasks over 50 ms in every run: ${JSON.stringify(runs)}`);
});

test('interactive in under 1.5 s cold on localhost, within the size budget', { skip: needsWasm }, async () => {
  const page = await lab.open(null);
  const bytes = { page: 0, data: 0 };
  // Each URL counted once: the second worker fetches the worker's scripts again, which a
  // caching server would answer from the browser's cache; web/serve.mjs (a development server)
  // sends no-cache without ETags, so here they arrive twice.
  const seen = new Set();
  page.on('response', async (r) => {
    if (seen.has(r.url())) return;
    seen.add(r.url());
    const len = Number((await r.allHeaders())['content-length'] ?? 0);
    bytes[r.url().includes('/data/') ? 'data' : 'page'] += len;
  });
  const t0 = Date.now();
  await page.goto(lab.base + (hasMnist ? '' : '?dataset=shapes'));
  // Interactive: the controller has wired every control (Play, the form, the lessons).
  await page.waitForFunction(() => window.bnlab);
  const interactive = Date.now() - t0;
  await ready(page);
  const trainable = Date.now() - t0;
  console.log(`# interactive after ${interactive} ms, ready to train after ${trainable} ms; ` +
    `${Math.round(bytes.page / 1024)} KiB transferred for the page, ${Math.round(bytes.data / 1024)} KiB of data`);
  assert.ok(interactive < 1500, `${interactive} ms`);
  assert.ok(bytes.page < 400 * 1024, `${bytes.page} bytes`);
});
