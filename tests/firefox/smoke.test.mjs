// The page in Firefox (a second engine): loading, training, a lesson, embedding, a saved state,
// the single file from disk and a hostile URL. A smoke suite: the full browser suite runs in
// Chromium (tests/browser/); this one checks that what a student does works in Firefox too.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { start, ready, stepText, stepIs, lastLoss, waitForFile, screenshotPath, singleFile } from './helpers.mjs';

let lab;
before(async () => { lab = await start(); });
afterEach(async () => { await lab.closePages(); });
after(async () => { await lab?.close(); });

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Clicks `selector` once it stays put in view. Only panels on screen are drawn, so scrolling
// down to a button draws the panels passed on the way (feature maps, misclassified images),
// which grow and push the button further down (about 1500 px here): a click aimed at where it
// was a moment ago misses. Playwright waits for this by itself; puppeteer does not.
async function clickWhenStill(page, selector) {
  const where = () => page.$eval(selector, (el) => {
    el.scrollIntoView({ block: 'center', behavior: 'instant' });
    const r = el.getBoundingClientRect();
    return `${r.left},${r.top}`;
  });
  let last = await where();
  for (let i = 0; i < 50; i++) {
    await sleep(200);
    const now = await where();
    if (now === last) break;
    last = now;
  }
  await page.click(selector);
}

// Pixels of the loss chart drawn in A's colour (Okabe-Ito blue #0072B2): the canvas as Firefox
// painted it, not the chart's data.
const bluePixels = (page) => page.$eval('[data-panel="loss"] canvas', (c) => {
  const { data } = c.getContext('2d').getImageData(0, 0, c.width, c.height);
  let n = 0;
  for (let i = 0; i < data.length; i += 4) if (Math.abs(data[i]) < 40 && Math.abs(data[i + 1] - 114) < 40 && Math.abs(data[i + 2] - 178) < 40 && data[i + 3] > 200) n++;
  return n;
});

test('the page loads with no page error and its formulas render as MathML', async () => {
  const page = await lab.open('');
  await ready(page);
  assert.equal(await stepText(page), '0');
  const info = await page.evaluate(() => ({
    panels: document.querySelectorAll('[data-panel]').length,
    math: document.querySelectorAll('math').length,
    mathml: typeof MathMLElement === 'function' && document.querySelector('math') instanceof MathMLElement,
  }));
  assert.ok(info.panels >= 12, `${info.panels} panels`);
  assert.ok(info.math > 0, 'the lessons carry MathML');
  assert.equal(info.mathml, true, 'Firefox parses <math> as MathML elements');
  assert.deepEqual(page.problems, []);
});

test('Play advances the step counter and the charts; Pause stops', async () => {
  const page = await lab.open('?dataset=shapes');
  await ready(page);
  const before = await bluePixels(page);
  await page.click('#play');
  await page.waitForFunction(() => Number(document.querySelector('#c-step').textContent) >= 30, { timeout: 30000 });
  await page.click('#play');
  await page.waitForFunction(() => !window.bnlab.playing, { timeout: 10000 });
  await sleep(300);
  const stopped = await stepText(page);
  await sleep(500);
  assert.equal(await stepText(page), stopped, 'no step after Pause');
  // The chart redraws at display rate: give it a frame after the last snapshot.
  await page.waitForFunction(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => r(true)))));
  const after = await bluePixels(page);
  assert.ok(after > before + 100, `the loss chart's blue line: ${before} pixels at step 0, ${after} at step ${stopped}`);
  const drawn = await page.evaluate(() => window.bnlab.panels.find((p) => p.id === 'loss').chart.plot.data[1].filter((v) => v != null).length);
  assert.ok(drawn >= 10, `loss chart has ${drawn} points`);
  // What a person sees, at a laptop's size and a phone's.
  await page.screenshot({ path: screenshotPath('firefox-1440x900') });
  await page.setViewport({ width: 390, height: 844 });
  await sleep(300);
  await page.screenshot({ path: screenshotPath('firefox-390x844') });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 0, `the page is ${overflow} px wider than a 390 px phone`);
  assert.deepEqual(page.problems, []);
});

test('a lesson opens with its panels, and its fractions are drawn as fractions', async () => {
  const page = await lab.open('?dataset=shapes');
  await ready(page);
  // Lesson 1 (transform) has the most formulas: the BN transform with fractions and roots.
  await page.select('#lesson-select', 'transform');
  const lesson = await page.waitForSelector('#lesson-transform:not([hidden])', { timeout: 10000 });
  assert.match(page.url(), /lesson=transform/);
  const panels = await lesson.evaluate((el) => el.dataset.panels.split(','));
  // The lesson's panels are laid out after it opens: wait for them (then check each, to name the
  // one that is not shown).
  await page.waitForFunction((ids) => ids.every((id) => {
    const el = document.querySelector(`[data-panel="${id}"]`);
    const r = el?.getBoundingClientRect();
    return el && !el.hidden && r.width > 100 && r.height > 100;
  }), { timeout: 15000 }, panels).catch(() => {});
  for (const id of panels) {
    const box = await page.$eval(`[data-panel="${id}"]`, (el) => ({ hidden: el.hidden, ...el.getBoundingClientRect().toJSON() }));
    assert.ok(!box.hidden && box.width > 100 && box.height > 100, `panel ${id} is shown (${JSON.stringify(box)})`);
  }
  await page.screenshot({ path: screenshotPath('firefox-lesson'), fullPage: false });
  // MathML Core laid out: a fraction's numerator sits above its denominator, a root has width.
  const math = await page.$eval('#lesson-transform', (el) => {
    const frac = el.querySelector('mfrac');
    const [num, den] = [...frac.children].map((c) => c.getBoundingClientRect());
    const root = el.querySelector('msqrt').getBoundingClientRect();
    return { numBottom: num.bottom, denTop: den.top, numHeight: num.height, rootWidth: root.width };
  });
  assert.ok(math.numHeight > 0 && math.numBottom <= math.denTop + 1, `fraction laid out: ${JSON.stringify(math)}`);
  assert.ok(math.rootWidth > 0, 'square root laid out');
  // The lesson's run trains.
  await page.click('#step1');
  await stepIs(page, 1);
  assert.deepEqual(page.problems, []);
});

// The embedded page's height as the host sees it, and whether its content fits in it.
const fits = (frame) => frame.evaluate(() => {
  const shown = [...document.querySelectorAll('[data-panel]')].filter((el) => !el.hidden && el.getClientRects().length);
  return {
    inner: window.innerHeight,
    scroll: document.documentElement.scrollHeight,
    shown: shown.map((el) => el.dataset.panel),
    lastBottom: Math.max(...shown.map((el) => el.getBoundingClientRect().bottom)),
  };
});

test('embed mode shows its panels at their height, reported to the host page', async () => {
  const page = await lab.open(null);
  await page.setContent('<!doctype html><title>Host</title><h1>A teacher\'s page</h1>');
  // The host sizes its iframe to the reported height, as a teacher's page would.
  const height = await page.evaluate((src) => new Promise((resolve, reject) => {
    setTimeout(() => reject(new Error('no bnlab:height message in 20 s')), 20000);
    const frame = document.createElement('iframe');
    frame.style.cssText = 'width:800px;height:300px;border:0';
    addEventListener('message', (e) => {
      if (e.data?.type !== 'bnlab:height') return;
      frame.style.height = `${e.data.height}px`;
      resolve(e.data.height);
    });
    frame.src = src;
    document.body.append(frame);
  }), `${lab.base}?embed=1&panels=loss,accuracy&dataset=shapes`);
  assert.ok(height > 300, `reported height ${height}`);
  const frame = await (await page.$('iframe')).contentFrame();
  await ready(frame);
  await sleep(500);
  const f = await fits(frame);
  assert.deepEqual(f.shown.sort(), ['accuracy', 'loss']);
  assert.ok(Math.abs(f.inner - f.scroll) <= 2, `the frame is as tall as its page (${JSON.stringify(f)})`);
  assert.ok(f.lastBottom <= f.inner + 1, `the last panel ends inside the frame (${JSON.stringify(f)})`);
  await frame.click('#step1');
  await stepIs(frame, 1);
  assert.deepEqual(page.problems, []);
});

test('the <bn-lab> element renders the page at its panels\' height', async () => {
  const page = await lab.open(null);
  await page.setContent(`<!doctype html><title>Host</title><h1>A teacher's page</h1>
    <bn-lab panels="loss" dataset="shapes" lr="0.1"></bn-lab><script src="${lab.base}bnlab-element.js" defer></script>
    <p id="after">Text after the simulator.</p>`);
  const frameEl = await page.waitForSelector('bn-lab iframe');
  // 420px is the element's height until the page reports its own.
  await page.waitForFunction(() => document.querySelector('bn-lab iframe').style.height !== '420px', { timeout: 20000 });
  const frame = await frameEl.contentFrame();
  await ready(frame);
  assert.match(frame.url(), /embed=1/);
  assert.equal(await frame.$eval('#f-lr', (el) => el.value), '0.1');
  await sleep(500);
  const f = await fits(frame);
  assert.deepEqual(f.shown, ['loss']);
  assert.ok(Math.abs(f.inner - f.scroll) <= 2, `the element is as tall as its page (${JSON.stringify(f)})`);
  assert.ok(f.lastBottom <= f.inner + 1, `the loss panel ends inside the element (${JSON.stringify(f)})`);
  // The host's text follows the element, not hidden under it.
  const [frameBottom, textTop] = await page.evaluate(() => [document.querySelector('bn-lab').getBoundingClientRect().bottom, document.getElementById('after').getBoundingClientRect().top]);
  assert.ok(textTop >= frameBottom, `text after the element at ${textTop}, element ends at ${frameBottom}`);
  await page.screenshot({ path: screenshotPath('firefox-bn-lab'), fullPage: true });
  assert.deepEqual(page.problems, []);
});

test('a state saved to a file and loaded into a fresh page continues the run', async () => {
  const page = await lab.open('?dataset=shapes&lr=0.07&seed=5');
  await ready(page);
  await page.click('#step10');
  await stepIs(page, 10);
  await clickWhenStill(page, '#export-state-a');
  const file = await waitForFile(lab.downloads, /^bnlab-state-a-step10.*\.json$/);
  const saved = JSON.parse(fs.readFileSync(file, 'utf8'));
  assert.equal(Math.fround(saved.config.lr), Math.fround(0.07));

  const fresh = await lab.open('?dataset=shapes');
  await ready(fresh);
  // The file picker, as WebDriver BiDi fills it (input.setFiles).
  await (await fresh.$('#load-state')).uploadFile(file);
  await stepIs(fresh, 10);
  assert.equal(await fresh.$eval('#f-lr', (el) => el.value), '0.07');
  assert.equal(await fresh.$eval('#f-seed', (el) => el.value), '5');
  await fresh.click('#step1');
  await stepIs(fresh, 11);
  await page.click('#step1');
  await stepIs(page, 11);
  // Same wasm, same engine: the continued step is the original run's step 11, to the bit.
  assert.equal(await lastLoss(fresh, 'a'), await lastLoss(page, 'a'));
  assert.deepEqual(page.problems, []);
  assert.deepEqual(fresh.problems, []);
});

test('the single file trains from disk (file://), on its inlined MNIST', async () => {
  const page = await lab.open(null);
  await page.goto(`file://${singleFile}`);
  const wasm = await page.$eval('#build-info', (el) => JSON.parse(el.textContent).wasm);
  assert.ok(wasm, 'bnlab.html was built with the simulation module inlined');
  await ready(page);
  const dataset = await page.$eval('#f-dataset', (el) => el.value);
  assert.equal(dataset, 'mnist');
  await page.click('#play');
  await page.waitForFunction(() => Number(document.querySelector('#c-step').textContent) >= 20, { timeout: 30000 });
  await page.click('#play');
  const losses = await page.evaluate(() => Array.from(window.bnlab.history.sides.a.loss.view()));
  assert.ok(losses.every(Number.isFinite), 'finite losses');
  assert.ok(losses.at(-1) < losses[0], `the loss falls: ${losses[0]} -> ${losses.at(-1)}`);
  assert.deepEqual(page.problems, []);
});

test('no script runs from a hostile URL parameter', async () => {
  // Each payload would set window.pwned (or open a dialog) if the page ever parsed it as HTML.
  const img = '<img src=x onerror="window.pwned=1">';
  const svg = '<svg onload="window.pwned=2">';
  const query = new URLSearchParams([
    ['b.norm', img], // a value that is not one of the choices: its message names it
    [img, '1'], // an unknown setting: the banner names it
    ['model', `conv8 ${svg}`], // a spec: refused by its pattern
    ['lesson', '"><script>window.pwned=3</script>'],
    ['panels', `loss,${svg}`],
    ['dataset', 'shapes'],
  ]).toString();
  const page = await lab.open(`?${query}`);
  // Refused values are reported as text; give a payload time to fire if it were parsed.
  await page.waitForFunction((v) => document.body.textContent.includes(v), { timeout: 20000 }, img);
  await sleep(1000);
  const seen = await page.evaluate(() => ({
    pwned: window.pwned,
    handlers: document.querySelectorAll('[onerror], [onload]').length,
    scripts: [...document.scripts].filter((s) => !s.src && /pwned/.test(s.textContent)).length,
  }));
  assert.equal(seen.pwned, undefined);
  assert.equal(seen.handlers, 0, 'no element with an inline handler');
  assert.equal(seen.scripts, 0, 'no injected script element');
  assert.deepEqual(page.problems.filter((p) => p.startsWith('dialog')), []);
  // The page works on with its defaults.
  await ready(page);
  await page.click('#step1');
  await stepIs(page, 1);
});
