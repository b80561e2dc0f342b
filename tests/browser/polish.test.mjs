// Page polish (issue 12 item 3): the phone's first screen after Play, a lesson's verdict on the
// learner's prediction, a single value drawn as a dot, the histogram's cut spike bin.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { start, needsWasm, ready, hasMnist } from './helpers.mjs';

let lab;
before(async () => { lab = await start(); });
after(async () => { await lab.close(); });

const needsData = needsWasm || (hasMnist ? false : 'MNIST is missing from build/web/data (run .ci/build-native.sh, then .ci/build-web.sh)');
const inView = (page, sel) => page.locator(sel).evaluate((e) => {
  const r = e.getBoundingClientRect();
  return r.top >= 0 && r.top < innerHeight;
});

test('phone: the first Play folds the guide, so that the accuracy chart is on screen; its button unfolds it', { skip: needsWasm }, async () => {
  const page = await lab.open('?dataset=shapes', { viewport: { width: 390, height: 844 } });
  await ready(page);
  assert.equal(await page.isVisible('#start-setting'), true);
  await page.click('#play');
  await page.waitForFunction(() => window.bnlab.history.sides.a.last?.step >= 5, null, { timeout: 30000 });
  await page.click('#play');
  assert.equal(await page.isVisible('#start-setting'), false);
  assert.equal(await page.getAttribute('#start-toggle', 'aria-expanded'), 'false');
  await page.evaluate(() => scrollTo(0, 0));
  assert.ok(await inView(page, '[data-panel="accuracy"] canvas'), 'the accuracy chart starts on the first screen');
  // The toolbar: two lines of controls and the status.
  const bar = await page.locator('.toolbar').boundingBox();
  assert.ok(bar.height <= 110, `toolbar ${bar.height} px tall`);
  await page.click('#start-toggle');
  assert.equal(await page.isVisible('#start-setting'), true);
  assert.deepEqual(page.problems, []);
  await page.close();
});

test('a lesson says whether the learner\'s prediction was right, by what the run showed', { skip: needsData }, async () => {
  const page = await lab.open('?lesson=transform');
  await ready(page);
  const result = page.locator('#lesson-transform .result');
  for (const [answer, graded] of [['batch', 'wrong'], ['tenth', 'right']]) {
    await page.check(`input[name="predict-transform"][value="${answer}"]`);
    await page.click('#lesson-transform .lesson-run');
    await page.waitForSelector('#lesson-transform .result .verdict', { timeout: 60000 });
    // The run's own numbers decide: the running mean moved a tenth of the way (momentum 0.1).
    const ratio = await page.evaluate(() => {
      const h = window.bnlab.history.sides.a;
      return h.latest('bn1.running_mean').data[0] / h.latest('bn1.batch_mean').data[0];
    });
    assert.ok(Math.abs(ratio - 0.1) < 1e-3, `ratio ${ratio}`);
    assert.equal(await result.getAttribute('data-prediction'), graded);
    const text = await result.locator('.prediction').textContent();
    assert.match(text, graded === 'right' ? /^Your prediction was right: this run shows "a tenth/ : /^Your prediction, "equal to that batch's mean", was not what this run shows: "a tenth/);
  }
  assert.deepEqual(page.problems, []);
  await page.close();
});

test('a line with a single value is drawn as a dot', { skip: needsWasm }, async () => {
  const page = await lab.open('?dataset=shapes');
  await ready(page);
  await page.click('#step1');
  await page.waitForFunction(() => window.bnlab.history.sides.a.last?.step === 1);
  const panel = page.locator('[data-panel="gammabeta"]');
  await panel.scrollIntoViewIfNeeded();
  await page.waitForFunction(() => window.bnlab.panels.find((p) => p.id === 'gammabeta').chart.plot.data[0].length === 1);
  await page.waitForTimeout(300);  // the chart's next frame
  // Pixels of A's blue (#0072B2) in the plot: gamma's and beta's one value each.
  const blue = await panel.locator('canvas').first().evaluate((c) => {
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 0; i < d.length; i += 4) if (Math.abs(d[i] - 0x00) < 30 && Math.abs(d[i + 1] - 0x72) < 30 && Math.abs(d[i + 2] - 0xb2) < 30 && d[i + 3] > 200) n++;
    return n;
  });
  assert.ok(blue >= 10, `${blue} blue pixels`);
  assert.deepEqual(page.problems, []);
  await page.close();
});

test('MNIST\'s background spike: the input histogram\'s tallest bin is cut and its share written, as the core counted it', { skip: needsData }, async () => {
  const page = await lab.open('');
  await ready(page);
  await page.click('#step1');
  await page.waitForFunction(() => window.bnlab.history.sides.a.last?.step === 1, null, { timeout: 30000 });
  await page.locator('[data-panel="histogram"]').scrollIntoViewIfNeeded();
  await page.waitForFunction(() => document.querySelector('[data-panel="histogram"] svg.hist text.spike:not([display="none"])'));
  const { shown, largest } = await page.evaluate(() => ({
    shown: document.querySelector('[data-panel="histogram"] svg.hist text.spike').textContent,
    largest: Math.max(...window.bnlab.history.sides.a.latest('hist.input').data),
  }));
  assert.equal(shown, `cut bar: ${Math.round(100 * largest)}% of values`);
  assert.ok(largest > 0.3, `the largest bin holds ${largest}`);
  assert.match(await page.textContent('[data-panel="histogram"] .summary'), /cut at the top: \d+% of the values lie in one bin/);
  assert.deepEqual(page.problems, []);
  await page.close();
});
