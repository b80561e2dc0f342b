// Every lesson: its preset is a valid state, it loads, and a screenshot of it (after a little
// training when the simulation is built) lands in tests/artifacts/ for a person to look at.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { start, hasWasm, ready, root, screenshotPath } from './helpers.mjs';
import { fromQuery } from '../../web/src/state.js';

const html = fs.readFileSync(path.join(root, 'web/lessons.html'), 'utf8');
const lessons = [...html.matchAll(/<article class="lesson" id="lesson-([a-z0-9-]+)"[^>]*data-preset="([^"]*)"[^>]*data-panels="([^"]*)"/g)]
  .map(([, id, preset, panels]) => ({ id, preset: preset.replace(/&amp;/g, '&'), panels: panels.split(',') }));
const PANEL_IDS = ['loss', 'accuracy', 'evalmode', 'bnstats', 'histogram', 'gammabeta', 'percentiles', 'gradnorm', 'ics', 'landscape', 'features', 'misclassified'];

let lab;
before(async () => { lab = await start(); });
after(async () => { await lab.close(); });

test('every lesson has a valid preset and names existing panels', () => {
  assert.ok(lessons.length >= 15, `${lessons.length} lessons`);
  for (const l of lessons) {
    assert.deepEqual(fromQuery(l.preset).errors, {}, l.id);
    for (const p of l.panels) assert.ok(PANEL_IDS.includes(p), `${l.id}: panel ${p}`);
  }
});

for (const l of lessons) {
  test(`lesson ${l.id} loads its experiment; screenshot`, async () => {
    // Synthetic data keeps the test independent of the MNIST build step, except where the
    // lesson chooses its own dataset.
    const page = await lab.open(/dataset=/.test(l.preset) ? '' : '?dataset=shapes');
    await page.waitForSelector('#lesson-select');
    await page.selectOption('#lesson-select', l.id);
    await page.waitForSelector(`#lesson-${l.id}:not([hidden])`);
    const state = await page.evaluate(() => window.bnlab.state);
    assert.equal(state.lesson, l.id);
    for (const [k, v] of new URLSearchParams(l.preset)) {
      const actual = k.startsWith('b.') ? state.b[k.slice(2)] : state[k];
      if (v !== '') assert.equal(String(actual), v, `${l.id}: ${k}`);
    }
    assert.equal(await page.locator('.panel.highlight').count(), l.panels.length);
    if (hasWasm) {
      // A few seconds of training, past the first probes (every 50 steps), for the screenshot.
      await ready(page);
      await page.click('#play');
      await page.waitForFunction(() => window.bnlab.history.sides.a?.last?.step >= 60, null, { timeout: 60000 });
      await page.click('#play');
      await page.waitForFunction(() => !window.bnlab.playing);
      await page.waitForTimeout(300);
    }
    await page.screenshot({ path: screenshotPath(`lesson-${l.id}`) });
  });
}
