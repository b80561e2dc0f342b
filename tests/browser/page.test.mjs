// The page without training: loading, the URL state, refused values, embedding, accessibility.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { start, hasWasm, hasMnist, ready, root } from './helpers.mjs';

let lab;
before(async () => { lab = await start(); });
after(async () => { await lab.close(); });

test('page loads with no console error and shows its controls', async () => {
  // MNIST is fetched only when present in the build; shapes needs no file.
  const page = await lab.open(hasMnist ? '' : '?dataset=shapes');
  await page.waitForSelector('#panel-grid .panel');
  if (hasWasm) await ready(page);
  else assert.match(await page.textContent('#banner'), /simulation module is missing/);
  assert.equal(await page.textContent('#c-step'), '0');
  assert.equal(await page.locator('#panel-grid .panel').count(), 14);  // 12 + the BN inspector and batch-mates
  assert.equal(await page.inputValue('#f-norm'), 'batch');
  assert.equal(await page.inputValue('#f-b-norm'), 'none');
  assert.deepEqual(page.problems, []);
});

test('a URL sets the state, seed included, and the state writes the same URL back', async () => {
  const query = 'lr=0.2&batch_size=16&seed=7&b.norm=group&dataset=shapes&layer=bn2&channel=3';
  const page = await lab.open(`?${query}`);
  await page.waitForSelector('#panel-grid .panel');
  assert.equal(await page.inputValue('#f-lr'), '0.2');
  assert.equal(await page.inputValue('#f-batch_size'), '16');
  assert.equal(await page.inputValue('#f-seed'), '7');
  assert.equal(await page.inputValue('#f-b-norm'), 'group');
  assert.equal(await page.inputValue('#f-channel'), '3');
  const written = new URLSearchParams(new URL(page.url()).search);
  for (const [k, v] of new URLSearchParams(query)) assert.equal(written.get(k), v, k);
  // The side configs sent to the core carry the seed.
  const sides = await page.evaluate(() => window.bnlab.sides());
  assert.equal(sides.a.seed, 7);
  assert.equal(sides.b.seed, 7);
  assert.equal(sides.b.norm, 'group');
  assert.equal(sides.a.norm, 'batch');
});

test('a bad URL value shows its message next to the field, as text, and keeps the default', async () => {
  const page = await lab.open('?lr=abc&b.norm=%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E&batch_size=0&nonsense=1&dataset=shapes');
  await page.waitForSelector('#err-lr');
  assert.match(await page.textContent('#err-lr'), /lr: "abc" is not a number/);
  assert.match(await page.textContent('#err-batch_size'), /outside 1 \.\. 4096/);
  assert.match(await page.textContent('#err-norm'), /B: norm: "<img src=x onerror=alert\(1\)>" is not one of/);
  assert.equal(await page.locator('img').count(), 0, 'the value was not parsed as HTML');
  assert.match(await page.textContent('#banner'), /unknown setting "nonsense"/);
  // The page's first run is at learning rate 0.1 (web/README.md, "The first run").
  assert.equal(await page.inputValue('#f-lr'), '0.1');
  assert.equal(await page.getAttribute('#f-lr', 'aria-invalid'), 'true');
  // A refused run setting opens the settings drawer, so its message is seen.
  assert.equal(await page.isVisible('#err-lr'), true);
});

test('a value typed into the form is checked the same way', async () => {
  const page = await lab.open('?dataset=shapes');
  // The settings are in a drawer, closed at first.
  assert.equal(await page.isVisible('#f-lr'), false);
  await page.click('#settings-toggle');
  assert.equal(await page.getAttribute('#settings-toggle', 'aria-expanded'), 'true');
  await page.fill('#f-lr', '-1');
  await page.press('#f-lr', 'Enter');
  await page.locator('#f-lr').blur();
  assert.match(await page.textContent('#err-lr'), /outside/);
  assert.doesNotMatch(page.url(), /lr=/);
  await page.fill('#f-lr', '0.3');
  await page.locator('#f-lr').blur();
  assert.equal(await page.textContent('#err-lr'), '');
  assert.match(page.url(), /lr=0\.3/);
});

test('embed mode shows the chosen panels only and reports its height to the parent', async () => {
  const page = await lab.open(null);
  await page.setContent('<!doctype html><title>Host</title><h1>A teacher\'s page</h1>');
  const height = await page.evaluate((src) => new Promise((resolve) => {
    addEventListener('message', (e) => { if (e.data?.type === 'bnlab:height') resolve(e.data.height); });
    document.body.insertAdjacentHTML('beforeend', `<iframe src="${src}" style="width:800px;height:300px"></iframe>`);
  }), `${lab.base}?embed=1&panels=loss,accuracy&dataset=shapes`);
  assert.ok(height > 300, `reported height ${height}`);
  const frame = page.frames().find((f) => f.url().includes('embed=1'));
  await frame.waitForSelector('[data-panel="loss"]');
  assert.equal(await frame.isVisible('[data-panel="loss"]'), true);
  assert.equal(await frame.isVisible('[data-panel="bnstats"]'), false);
  assert.equal(await frame.isVisible('#settings'), false);
  assert.equal(await frame.isVisible('#play'), true);
});

test('the <bn-lab> custom element renders the page from one script tag and takes its height', async () => {
  const page = await lab.open(null);
  await page.setContent(`<!doctype html><title>Host</title><h1>A teacher's page</h1>
    <bn-lab panels="loss" dataset="shapes" lr="0.1"></bn-lab><script src="${lab.base}bnlab-element.js" defer></script>`);
  const frameEl = await page.waitForSelector('bn-lab iframe');
  await page.waitForFunction(() => document.querySelector('bn-lab iframe').style.height !== '420px', null, { timeout: 15000 });
  const frame = await frameEl.contentFrame();
  await frame.waitForSelector('[data-panel="loss"]');
  assert.match(frame.url(), /embed=1/);
  assert.match(frame.url(), /lr=0\.1/);
  assert.equal(await frame.inputValue('#f-lr'), '0.1');
  assert.equal(await frame.isVisible('[data-panel="loss"]'), true);
  assert.equal(await frame.isVisible('[data-panel="accuracy"]'), false);
});

test('the embed snippet is one click away and names the current settings', async () => {
  const page = await lab.open('?lr=0.3&dataset=shapes');
  await page.click('#embed-code');
  const snippet = await page.inputValue('#embed-text');
  assert.match(snippet, /<script src="http:\/\/127\.0\.0\.1:\d+\/bnlab-element\.js" defer><\/script>/);
  assert.match(snippet, /<bn-lab[^>]* lr="0\.3"[^>]* panels="loss,accuracy"/);
});

test('show code writes PyTorch and Keras for the current network', async () => {
  const page = await lab.open('?bn_momentum=0.05&dataset=shapes');
  await page.click('#show-code');
  // The code is written from the core's description of the model, which comes with the worker's
  // first reply: until then the dialog says so.
  await page.waitForFunction(() => document.getElementById('code-text').textContent.includes('nn.Sequential'));
  const torch = await page.textContent('#code-text');
  assert.match(torch, /nn\.Conv2d\(1, 8, kernel_size=3, stride=1, padding=1\)/);
  assert.match(torch, /nn\.BatchNorm2d\(8, eps=0\.00001, momentum=0\.05\)|nn\.BatchNorm2d\(8, eps=1e-05, momentum=0\.05\)/);
  assert.match(torch, /nn\.Linear\(784, 64\)/);
  assert.match(torch, /nn\.BatchNorm1d\(64/);
  await page.click('#tab-keras');
  const keras = await page.textContent('#code-text');
  assert.match(keras, /BatchNormalization\(momentum=0\.95, epsilon=0\.00001\)|BatchNormalization\(momentum=0\.95, epsilon=1e-05\)/);
  assert.match(keras, /Keras default epsilon is 1e-3|default epsilon is 1e-3/);
});

test('keyboard: every control is reachable and labelled; Space plays, r resets', async () => {
  const page = await lab.open('?dataset=shapes');
  const unlabelled = await page.evaluate(() => [...document.querySelectorAll('input, select, button, textarea')]
    .filter((el) => !el.closest('dialog') && el.type !== 'file' && !(el.labels?.length || el.getAttribute('aria-label') || (el.tagName === 'BUTTON' && el.textContent.trim())))
    .map((el) => el.id || el.name));
  assert.deepEqual(unlabelled, []);
  // Letters work even with a button focused (after a click); typing in a field is not a shortcut.
  await page.click('#settings-toggle');
  await page.focus('#step10');
  await page.keyboard.press('c');
  assert.match(page.url(), /compare=false/);
  assert.equal(await page.isVisible('#f-b-norm'), false);
  await page.focus('#f-lr');
  await page.keyboard.press('c');
  assert.match(page.url(), /compare=false/);
  await page.locator('#f-lr').blur();
  await page.keyboard.press('c');
  assert.doesNotMatch(page.url(), /compare=/);
  if (!hasWasm) return;
  await ready(page);
  await page.keyboard.press('s');
  await page.waitForFunction(() => document.querySelector('#c-step').textContent === '1');
  await page.keyboard.press('r');
  await page.waitForFunction(() => document.querySelector('#c-step').textContent === '0');
  await page.locator('#f-lr').blur();
  await page.keyboard.press(' ');
  await page.waitForFunction(() => Number(window.bnlab.history.sides.a?.last?.step) >= 2, null, { timeout: 30000 });
  await page.keyboard.press(' ');
  await page.waitForFunction(() => !window.bnlab.playing && document.querySelector('#play').getAttribute('aria-pressed') === 'false');
});

test('axe-core finds no serious or critical accessibility violation', async () => {
  const page = await lab.open('?dataset=shapes&lesson=transform');
  await page.waitForSelector('#panel-grid .panel');
  if (hasWasm) {
    // With data in every panel (tables, legends, histograms), not only the empty page.
    await ready(page);
    await page.click('#step10');
    await page.waitForFunction(() => document.querySelector('#c-step').textContent === '10', null, { timeout: 30000 });
  }
  const axe = fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  await page.addScriptTag({ content: axe });
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}`);
  assert.deepEqual(bad, []);
});

test('the single-file build opens from disk', async () => {
  const file = path.join(root, 'build/web-single/bnlab.html');
  assert.ok(fs.existsSync(file), 'build/web-single/bnlab.html exists');
  const page = await lab.open(null);
  await page.goto(`file://${file}?dataset=shapes`);
  await page.waitForSelector('#panel-grid .panel');
  const single = await page.evaluate(() => JSON.parse(document.getElementById('build-info').textContent).wasm);
  if (single) {
    await ready(page);
    await page.click('#step1');
    await page.waitForFunction(() => document.querySelector('#c-step').textContent === '1', null, { timeout: 20000 });
  } else {
    assert.match(await page.textContent('#banner'), /simulation module is missing/);
  }
  assert.deepEqual(page.problems, []);
});
