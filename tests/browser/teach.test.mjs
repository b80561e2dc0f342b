// The page teaches (issue 11): the first screen at 1440x900 and 390x844, the first run's stated
// result against the snapshot's numbers, every lesson's predict -> run -> result with the numbers
// it quotes read back from the History, embeds that take their panels' height on the first
// report, and the network strip choosing a layer. Screenshots land in tests/artifacts/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { start, needsWasm, hasMnist, ready, root, screenshotPath } from './helpers.mjs';

const html = fs.readFileSync(path.join(root, 'web/lessons.html'), 'utf8');
const lessons = [...html.matchAll(/<article class="lesson" id="lesson-([a-z0-9-]+)"[^>]*data-panels="([^"]*)"/g)]
  .map(([, id, panels]) => ({ id, first: panels.split(',')[0] }));
const DESKTOP = { width: 1440, height: 900 }, PHONE = { width: 390, height: 844 };
const needsData = needsWasm || (!hasMnist && 'the lessons and the first run train on MNIST, which is not built');

let lab;
before(async () => { lab = await start(); });
after(async () => { await lab.close(); });

// Whether the element's box lies inside the viewport (all of it, or its top `part` pixels).
const inView = (page, selector, part = Infinity) => page.locator(selector).first().evaluate((el, part) => {
  const r = el.getBoundingClientRect();
  return r.width > 0 && r.top >= 0 && r.left >= 0 && r.right <= innerWidth + 0.5 && Math.min(r.bottom, r.top + part) <= innerHeight + 0.5;
}, part);
const overflow = (page) => page.evaluate(() => document.documentElement.scrollWidth - innerWidth);

// Reads a quoted number's source from the History, independently of web/src/lessons.js.
function resolveInPage(src) {
  const h = window.bnlab.history.sides[src.side];
  if (src.eval !== undefined) return h.evals.find((e) => e.step === src.eval)[src.mode][src.key];
  if (src.batches) {
    const all = Array.from(h[src.batches].view()).slice(-src.last);
    return all.reduce((p, q) => p + q, 0) / all.length;
  }
  if (src.trace) return h.last.trace.step === src.step ? h.last.trace[src.trace] : undefined;
  const vals = [];
  h.measureRows.forEach((r, i) => {
    const m = r[src.measure];
    if (!m?.data.length) return;
    if ((m.step ?? h.measureSteps[i]) === src.step || src.mean) vals.push(src.field ? m[src.field] : m.data[src.index]);
  });
  return src.mean ? vals.reduce((p, q) => p + q, 0) / vals.length : vals[0];
}

// Every <data> of a result: its value is the History's, and its text shows that value.
async function checkQuotes(page, selector) {
  const quotes = await page.locator(`${selector} data`).evaluateAll((els) => els.map((d) => ({ value: Number(d.value), text: d.textContent, src: JSON.parse(d.dataset.source) })));
  assert.ok(quotes.length >= 2, `${selector}: ${quotes.length} numbers quoted`);
  for (const q of quotes) {
    const truth = await page.evaluate(resolveInPage, q.src);
    assert.ok(Number.isFinite(truth), `${JSON.stringify(q.src)} resolves to ${truth}`);
    assert.ok(Math.abs(q.value - truth) <= 1e-12 * Math.max(1, Math.abs(truth)), `${JSON.stringify(q.src)}: quoted ${q.value}, History ${truth}`);
    const shown = q.text.endsWith('%') ? Number(q.text.slice(0, -1)) / 100 : Number(q.text);
    assert.ok(Math.abs(shown - truth) <= Math.max(5.1e-4, 5e-3 * Math.abs(truth)), `"${q.text}" shows ${truth}`);
  }
  return quotes;
}

test('first screen at 1440x900: toolbar, network strip, start text and the first panels, no scrolling', { skip: needsWasm }, async () => {
  const page = await lab.open('', { viewport: DESKTOP });
  await ready(page);
  for (const sel of ['#play', '#step1', '#reset', '#f-speed', '#c-step', '#lesson-select', '#network', '#start-here h2', '#start-setting', '[data-panel="accuracy"]', '[data-panel="loss"]']) {
    assert.ok(await inView(page, sel), `${sel} is on the first screen`);
  }
  assert.match(await page.getAttribute('#network', 'aria-label'), /network/i);
  assert.equal(await page.isVisible('#settings'), false, 'the settings wait in their drawer');
  assert.match(await page.textContent('#start-setting'), /learning rate 0\.1/);
  assert.match(await page.textContent('#diff-line'), /lr 0\.1.*B: no BN/);
  // The strip is the core's model: A's normalizers are buttons, B has none.
  assert.deepEqual(await page.locator('#strip .side-a .node.norm').evaluateAll((n) => n.map((e) => e.dataset.layer)), ['bn1', 'bn2', 'bn3']);
  assert.equal(await page.locator('#strip .side-b .node.norm').count(), 0);
  const layers = await page.evaluate(() => window.bnlab.info.a.model.layers.map((l) => l.name));
  assert.deepEqual(await page.locator('#strip .side-a .node').evaluateAll((n) => n.map((e) => e.dataset.layer)), layers);
  // At step 0 the chosen BN layer's statistics say where they start, not "choose a layer".
  assert.match(await page.locator('[data-panel="bnstats"] .note').textContent(), /start at mean 0, variance 1; press Step/);
  // The toolbar stays while the page scrolls.
  await page.mouse.wheel(0, 1500);
  await page.waitForTimeout(200);
  assert.ok(await inView(page, '#play'), 'Play visible after scrolling');
  assert.equal(await overflow(page), 0);
  // Live regions: the one status line (and the alert banner), not one per field.
  const live = await page.evaluate(() => [...document.querySelectorAll('[aria-live], [role="status"], output')].map((e) => e.id || e.className));
  assert.ok(live.length <= 2, `live regions: ${live.join(', ')}`);
  await page.mouse.wheel(0, -1500);
  await page.screenshot({ path: screenshotPath('first-screen-1440') });
  assert.deepEqual(page.problems, []);
});

test('first screen at 390x844: nothing wider than the phone, Play sticky, start text and panel reachable', { skip: needsWasm }, async () => {
  const page = await lab.open('', { viewport: PHONE });
  await ready(page);
  assert.equal(await overflow(page), 0, 'no horizontal overflow');
  assert.ok(await inView(page, '#play') && await inView(page, '#c-step') && await inView(page, '#network', 40));
  await page.locator('#start-here').scrollIntoViewIfNeeded();
  assert.ok(await inView(page, '#play'), 'Play stays on screen');
  await page.locator('[data-panel="accuracy"]').scrollIntoViewIfNeeded();
  assert.ok(await inView(page, '#play') && await inView(page, '[data-panel="accuracy"]', 200));
  await page.evaluate(() => scrollTo(0, 0));
  await page.screenshot({ path: screenshotPath('first-screen-390') });
  assert.deepEqual(page.problems, []);
});

test('the first run: after 300 steps the page states a difference the snapshot supports', { skip: needsData }, async () => {
  const page = await lab.open('', { viewport: DESKTOP });
  await ready(page);
  await page.click('#play');
  await page.waitForSelector('#start-result:not([hidden])', { timeout: 120000 });
  await page.click('#play');
  const quotes = await checkQuotes(page, '#start-result');
  const text = await page.textContent('#start-result');
  // The statement: who passed 90% first, read from the evaluations themselves.
  const first = await page.evaluate(() => Object.fromEntries(['a', 'b'].map((s) => [s, window.bnlab.history.sides[s].evals.find((e) => e.eval.accuracy >= 0.9)?.step ?? Infinity])));
  const [a, b] = [first.a, first.b];
  assert.ok(a !== b, `the two networks differ (A ${a}, B ${b})`);
  assert.match(text, a < b ? /^A \(batch norm\) passed 90% first/ : /^B \(no norm\) passed 90% first/);
  const finals = quotes.filter((q) => q.src.mode === 'eval' && q.src.eval >= 300);
  assert.ok(finals.length >= 2, 'quotes both networks\' accuracy at step 300 or later');
  await page.screenshot({ path: screenshotPath('first-run-300-1440') });
  assert.deepEqual(page.problems, []);
});

test('clicking a BN node of the network strip selects that layer in the panels', { skip: needsWasm }, async () => {
  const page = await lab.open('?dataset=shapes', { viewport: DESKTOP });
  await ready(page);
  await page.click('#strip .side-a .node.norm[data-layer="bn2"]');
  assert.equal(await page.evaluate(() => window.bnlab.state.layer), 'bn2');
  assert.equal(await page.inputValue('#f-layer'), 'bn2');
  assert.match(page.url(), /layer=bn2/);
  assert.equal(await page.getAttribute('#strip .side-a .node[data-layer="bn2"]', 'aria-pressed'), 'true');
  await page.click('#step1');
  await page.waitForFunction(() => window.bnlab.history.sides.a.last.step === 1);
  assert.equal(await page.evaluate(() => window.bnlab.history.sides.a.last.measure['hist.input'].layer), 'bn2');
  await page.locator('[data-panel="bnstats"]').scrollIntoViewIfNeeded();
  await page.waitForFunction(() => /bn2 channel 0: running mean/.test(document.querySelector('[data-panel="bnstats"] .summary').textContent));
  // By keyboard too.
  await page.focus('#strip .side-a .node.norm[data-layer="bn3"]');
  await page.keyboard.press('Enter');
  assert.equal(await page.evaluate(() => window.bnlab.state.layer), 'bn3');
  assert.deepEqual(page.problems, []);
});

test('embeds report their panels\' height on the first report', async () => {
  const page = await lab.open(null, { viewport: DESKTOP });
  await page.setContent('<!doctype html><title>Host</title><h1>A teacher\'s page</h1>');
  const first = await page.evaluate((src) => new Promise((resolve) => {
    addEventListener('message', (e) => { if (e.data?.type === 'bnlab:height') resolve(e.data.height); }, { once: true });
    document.body.insertAdjacentHTML('beforeend', `<iframe src="${src}" style="width:800px;height:2000px;border:0"></iframe>`);
  }), `${lab.base}?embed=1&panels=accuracy&dataset=shapes&background=transparent`);
  const frame = page.frames().find((f) => f.url().includes('embed=1'));
  await frame.waitForSelector('[data-panel="accuracy"]');
  await page.waitForTimeout(1500);
  const settled = await frame.evaluate(() => Math.ceil(document.body.getBoundingClientRect().height));
  const panel = await frame.locator('[data-panel="accuracy"]').evaluate((el) => el.getBoundingClientRect());
  assert.ok(Math.abs(first - settled) <= 0.1 * settled, `first report ${first}, settled ${settled}`);
  assert.ok(first < panel.height + 250, `the height is the panel's (${panel.height}) plus the toolbar, not more (${first})`);
  assert.ok(panel.width > 700, `one panel takes the width (${panel.width} of 800)`);
  assert.match(await frame.textContent('#diff-line'), /B: no BN/);
  assert.equal(await frame.evaluate(() => getComputedStyle(document.documentElement).backgroundColor), 'rgba(0, 0, 0, 0)');
  // The custom element: its frame's first height is the page's.
  await page.setContent(`<!doctype html><title>Host</title><bn-lab panels="loss,accuracy" dataset="shapes"></bn-lab><script src="${lab.base}bnlab-element.js" defer></script>`);
  await page.waitForFunction(() => document.querySelector('bn-lab iframe')?.style.height !== '420px', null, { timeout: 15000 });
  const elementFirst = await page.evaluate(() => parseFloat(document.querySelector('bn-lab iframe').style.height));
  const inner = await (await page.waitForSelector('bn-lab iframe')).contentFrame();
  await inner.waitForSelector('[data-panel="loss"]');
  await page.waitForTimeout(1500);
  const innerSettled = await inner.evaluate(() => Math.ceil(document.body.getBoundingClientRect().height));
  assert.ok(Math.abs(elementFirst - innerSettled) <= 0.1 * innerSettled, `<bn-lab> first ${elementFirst}, settled ${innerSettled}`);
});

for (const l of lessons) {
  test(`lesson ${l.id}: beside its first panel at 1440x900, predict, run, result with this run's numbers; at 390x844`, { skip: needsData }, async () => {
    const page = await lab.open('', { viewport: DESKTOP });
    await ready(page);
    await page.selectOption('#lesson-select', l.id);
    const article = `#lesson-${l.id}`;
    await page.waitForSelector(`${article}:not([hidden])`);
    await ready(page);
    for (const sel of ['#play', '#network', `${article} h3`, `${article} .predict legend`, `[data-panel="${l.first}"]`]) {
      assert.ok(await inView(page, sel), `${l.id}: ${sel} on the first screen`);
    }
    assert.equal(await overflow(page), 0);
    await page.screenshot({ path: screenshotPath(`lesson-${l.id}-1440`) });
    const radios = page.locator(`${article} .predict input[type="radio"]`);
    const count = await radios.count();
    assert.ok(count >= 2 && count <= 4, `${l.id}: ${count} answers`);
    await radios.first().check();
    await page.click(`${article} .lesson-run`);
    await page.waitForSelector(`${article} .result .verdict`, { timeout: 180000 });
    await checkQuotes(page, `${article} .result`);
    assert.match(await page.textContent(`${article} .result`), /In this run: .*(agrees with the claim|does not agree|neither clearly agrees)/s);
    await page.locator(`${article} .result`).scrollIntoViewIfNeeded();
    await page.screenshot({ path: screenshotPath(`lesson-${l.id}-1440-result`) });
    assert.deepEqual(page.problems, []);
    await page.context().close();

    // The phone: one column; the lesson and its first panel reachable with Play on screen.
    const phone = await lab.open(`?lesson=${l.id}`, { viewport: PHONE });
    await phone.waitForSelector(`${article}:not([hidden])`);
    assert.equal(await overflow(phone), 0, `${l.id}: no horizontal overflow on a phone`);
    await phone.locator(`${article} h3`).scrollIntoViewIfNeeded();
    assert.ok(await inView(phone, '#play') && await inView(phone, `${article} h3`), `${l.id}: lesson with Play`);
    await phone.locator(`[data-panel="${l.first}"]`).scrollIntoViewIfNeeded();
    assert.ok(await inView(phone, '#play') && await inView(phone, `[data-panel="${l.first}"]`, 100), `${l.id}: first panel with Play`);
    await phone.locator(`${article} h3`).scrollIntoViewIfNeeded();
    await phone.screenshot({ path: screenshotPath(`lesson-${l.id}-390`) });
    await phone.context().close();
  });
}
