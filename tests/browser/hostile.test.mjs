// The page under hostile or careless input (issue 9): divergence at a finite loss is reported
// with the loss, as the core's status says it. (The worker's side: tests/wasm/hostile.test.mjs.)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { start, needsWasm, ready, screenshotPath } from './helpers.mjs';

let lab;
before(async () => { lab = await start(); });
after(async () => { await lab?.close(); });

test('a loss above 1e6 stops a side with "diverged at step N: loss ..." and the other goes on', { skip: needsWasm }, async () => {
  // Weights 1000 times He's scale without BN: a finite loss near 1e9 at the first step.
  const page = await lab.open('?dataset=shapes&b.init_scale=1000&b.norm=none');
  await ready(page);
  await page.click('#step10');
  await page.waitForFunction(() => window.bnlab.history.sides.a.last?.step === 10, null, { timeout: 20000 });
  const status = await page.textContent('#status');
  assert.match(status, /B \(.*\): diverged at step 1: loss \d(\.\d+)?e\d+ \(above 1e6\)\. The other network keeps training/);
  await page.setViewportSize({ width: 1440, height: 900 });
  await page.screenshot({ path: screenshotPath('hostile-diverged-1440') });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: screenshotPath('hostile-diverged-390') });
  assert.deepEqual(page.problems, []);
  await page.context().close();
});
