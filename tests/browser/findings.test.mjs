// The lessons' "Over 10 seeds" lines (issue 14): under each lesson's claim, one line per claim its
// data-claims names, with the committed multi-seed summary's numbers and verdict
// (core/experiments/findings/DATASET.json), checked here against that file itself, not against
// the page's generated copy. Screenshots of the gradient-ICS lesson at 1440x900 and 390x844.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { start, ready, screenshotPath, webDir } from './helpers.mjs';
import { claimsOf, committed, differenceText } from '../../.ci/findings.mjs';

const all = committed();
let lab;
before(async () => { lab = await start(); });
after(async () => { await lab.close(); });

test('every lesson shows the committed verdict over many seeds of the claims it names', async () => {
  assert.ok(all.mnist, 'no committed MNIST findings');
  const datasets = Object.keys(all);  // the order of web/findings.json, which the page follows
  const claims = Object.fromEntries(datasets.map((d) => [d, Object.fromEntries(claimsOf(all[d]))]));
  const page = await lab.open('?lesson=ics-gradient');
  await ready(page);
  // Only the chosen lesson is shown, and only a shown lesson fetches its lines: show them all.
  await page.locator('#lesson-ics-gradient .seeds-verdict').first().waitFor();
  await page.evaluate(() => { for (const a of document.querySelectorAll('article.lesson')) a.hidden = false; });
  const expected = await page.locator('article.lesson[data-claims]').evaluateAll((els) => els.reduce((n, a) => n + a.dataset.claims.split(' ').length, 0));
  await page.waitForFunction((n) => document.querySelectorAll('article.lesson .seeds-verdict').length >= n, expected * datasets.length);
  const lines = await page.locator('article.lesson .seeds-verdict').evaluateAll((els) =>
    els.map((p) => ({ lesson: p.closest('article').id, claim: p.dataset.claim, dataset: p.dataset.dataset, text: p.textContent, afterClaim: p.previousElementSibling?.matches('p.claim, p.seeds-verdict') })));
  // One line per committed dataset and named claim, each lesson's MNIST lines first.
  const named = await page.locator('article.lesson[data-claims]').evaluateAll((els, ds) =>
    els.flatMap((a) => ds.flatMap((d) => a.dataset.claims.split(' ').map((c) => `${a.id} ${d} ${c}`))), datasets);
  assert.deepEqual(lines.map((l) => `${l.lesson} ${l.dataset} ${l.claim}`), named, 'one line per dataset and named claim, in order');
  for (const l of lines) {
    const c = claims[l.dataset][l.claim];
    assert.ok(c, `${l.dataset} ${l.claim} is committed`);
    // The dataset its experiment trained on: the run's, but covariate-shift's MNIST run trains on
    // the synthetic shapes (its summary's dataset).
    const on = l.claim.startsWith('covariate-shift/') && l.dataset === 'mnist' ? 'synthetic shapes' : l.dataset === 'mnist' ? 'MNIST' : 'Fashion-MNIST';
    assert.ok(l.text.startsWith(`Over ${c.difference.n} seeds on ${on}`), l.text);
    assert.ok(l.text.includes(differenceText(c)), `${l.text} quotes ${differenceText(c)}`);
    assert.ok(l.text.endsWith(`${c.verdict}.`), l.text);
    assert.ok(l.afterClaim, `${l.claim}: under the lesson's claim`);
  }
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('the gradient-ICS lesson with its lines at 1440x900', async () => {
  const page = await lab.open('?lesson=ics-gradient', { viewport: { width: 1440, height: 900 } });
  await ready(page);
  const line = page.locator('#lesson-ics-gradient .seeds-verdict').first();
  await line.waitFor();
  await line.scrollIntoViewIfNeeded();
  assert.ok(await line.isVisible());
  await page.screenshot({ path: screenshotPath('findings-ics-lesson-1440x900') });
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('the lines fit a phone: no horizontal overflow at 390x844', async () => {
  const page = await lab.open('?lesson=ics-gradient', { viewport: { width: 390, height: 844 } });
  await ready(page);
  const line = page.locator('#lesson-ics-gradient .seeds-verdict').first();
  await line.waitFor();
  await line.scrollIntoViewIfNeeded();
  assert.ok(await line.isVisible());
  const over = await page.evaluate(() => document.documentElement.scrollWidth - innerWidth);
  assert.ok(over <= 0, `${over} px wider than the screen`);
  await page.screenshot({ path: screenshotPath('findings-ics-lesson-390x844') });
  await page.context().close();
});

test('the page\'s API runs an experiment over seeds in the worker: window.bnlab.experiment(name, {seeds})', async () => {
  const page = await lab.open('');
  await ready(page);
  const r = await page.evaluate(() => window.bnlab.experiment('grad-init', { seeds: '1-3', steps: 2 }));
  assert.deepEqual(r.summary.seeds, [1, 2, 3]);
  assert.deepEqual(r.seeds.map((s) => s.seed), [1, 2, 3]);
  assert.deepEqual(r.summary.claims.map((c) => c.id), ['sigmoid', 'relu', 'cnn']);
  for (const c of r.summary.claims) assert.equal(c.difference.n, 3, c.id);
  // A bad seed list is refused with the core's message, and the page goes on.
  const bad = await page.evaluate(() => window.bnlab.experiment('grad-init', { seeds: '3-1', steps: 2 }).then(() => 'no error', (e) => e.message));
  assert.match(bad, /a range goes up/);
  // On Fashion-MNIST (fetched for it: the page trains on MNIST), every seed trains on the clothes.
  const f = await page.evaluate(() => window.bnlab.experiment('grad-init', { seeds: '1-2', steps: 2, dataset: 'fashion' }));
  assert.equal(f.summary.dataset, 'fashion');
  assert.deepEqual(f.seeds.map((s) => s.summary.dataset), ['fashion', 'fashion']);
  // Seed 1 measures other gradients than on MNIST (the same weights and batch positions, other images).
  assert.equal(f.seeds[0].seed, 1);
  assert.notEqual(f.seeds[0].summary['deep-cnn'].spread_bn, r.seeds[0].summary['deep-cnn'].spread_bn);
  const other = await page.evaluate(() => window.bnlab.experiment('grad-init', { seeds: '1', steps: 2, dataset: 'shapes' }).then(() => 'no error', (e) => e.message));
  assert.match(other, /mnist or fashion, not 'shapes'/);
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('a lesson on Fashion-MNIST fetches it when opened, says that it is loading, and trains on it', async () => {
  const page = await lab.open('');
  await ready(page);
  assert.equal(await page.evaluate(() => window.bnlab.info.a.dataset.name), 'mnist');
  // Every text the status line shows from now on.
  await page.evaluate(() => {
    const status = document.getElementById('status');
    window.statusTexts = [];
    new MutationObserver(() => window.statusTexts.push(status.textContent)).observe(status, { childList: true, characterData: true, subtree: true });
  });
  await page.selectOption('#lesson-select', 'noisy');
  await page.waitForFunction(() => window.bnlab?.info?.a?.dataset?.name === 'fashion', null, { timeout: 60000 });
  const texts = await page.evaluate(() => window.statusTexts);
  assert.ok(texts.some((t) => /^Loading Fashion-MNIST \(about 4\.4 MB\)/.test(t)), texts.join(' | '));
  assert.match(await page.textContent('#lesson-noisy p.dataset'), /^Trains on Fashion-MNIST/);
  assert.equal(new URL(page.url()).searchParams.get('dataset'), 'fashion');
  // A lesson on MNIST goes back to the digits.
  await page.selectOption('#lesson-select', 'init');
  await page.waitForFunction(() => window.bnlab?.info?.a?.dataset?.name === 'mnist', null, { timeout: 60000 });
  assert.match(await page.textContent('#lesson-init p.dataset'), /^Trains on MNIST/);
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test("a lesson on Fashion-MNIST runs its full experiment on Fashion-MNIST, and its box says so", async () => {
  const page = await lab.open('?lesson=convergence');
  await ready(page);
  await page.waitForFunction(() => window.bnlab?.info?.a?.dataset?.name === 'fashion', null, { timeout: 60000 });
  assert.match(await page.textContent('section.experiment[data-experiment="convergence"] p'), /trains several networks on Fashion-MNIST/);
  assert.match(await page.textContent('section.experiment[data-experiment="init-sweep"] p'), /trains several networks on MNIST/);
  // Lesson 14 trains on the synthetic "shift" dataset, and so does its experiment (covariate-shift).
  assert.match(await page.textContent('section.experiment[data-experiment="covariate-shift"] p'), /trains several networks on the synthetic "shift" dataset/);
  // Shortened (30 steps): the summary names Fashion-MNIST's targets (76% and 81%, targets.h),
  // which only a run on Fashion-MNIST gives; the sweep's parts and their combination agree.
  const r = await page.evaluate(() => window.bnlab.runExperiment('convergence', null, 30));
  const keys = Object.keys(r.summary);
  assert.ok(keys.some((k) => k.startsWith('steps_to_81_')) && !keys.some((k) => k.startsWith('steps_to_90_')), keys.join(', '));
  assert.match(await page.textContent('#status'), /done/);
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test("an experiment's description (what it runs and found) is fetched when its box is first opened, not with the page", async () => {
  const list = JSON.parse(fs.readFileSync(path.join(webDir, 'experiments.json'), 'utf8'));
  const sweep = list.find((e) => e.name === 'lr-sweep');
  assert.ok(sweep.description.length > 200);
  // The page's inline list has no descriptions (they stay out of the first load).
  assert.ok(!fs.readFileSync(path.join(webDir, 'index.html'), 'utf8').includes(sweep.description.slice(0, 80)));
  const page = await lab.open('?lesson=high-lr');
  await ready(page);
  const fetched = [];
  page.on('request', (r) => fetched.push(new URL(r.url()).pathname));
  assert.ok(!fetched.includes('/experiments.json'));
  const box = 'section.experiment[data-experiment="lr-sweep"]';
  await page.click(`${box} details summary`);
  await page.waitForFunction((sel) => document.querySelector(sel).textContent !== 'Loading...', `${box} details p`);
  assert.equal(await page.textContent(`${box} details p`), sweep.description);
  assert.ok(fetched.includes('/experiments.json'));
  assert.deepEqual(page.problems, []);
  await page.context().close();
});
