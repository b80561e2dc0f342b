// Fashion-MNIST on the page: fetched only when chosen (the default load does not grow), within
// its budget, byte for byte the build's subset; the page shows the class names where it shows
// digits; a missing file is said in words.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { start, needsWasm, hasMnist, ready, webDir } from './helpers.mjs';

let lab;
before(async () => { lab = await start(); });
after(async () => { await lab.close(); });

const FILES = ['train-images', 'train-labels', 'test-images', 'test-labels'].map((p) => `fashion-page-${p}.idx.gz`);
const hasFashion = FILES.every((f) => fs.existsSync(path.join(webDir, 'data', f)));
// web/README.md "Budget and speed": what choosing Fashion-MNIST transfers (8,000 + 2,000 images).
const FASHION_BUDGET = 4.5 * 1024 * 1024;
const skip = needsWasm || (!hasFashion && 'Fashion-MNIST is not built (build/native/data)');

// Every response's URL and body length, from the moment the page is opened.
function record(page) {
  const got = [];
  page.on('response', async (r) => {
    const body = await r.body().catch(() => Buffer.alloc(0));
    got.push({ url: r.url(), bytes: body.length });
  });
  return got;
}
// Opens the settings drawer (and the dataset's group) and picks a dataset there.
async function chooseDataset(page, dataset) {
  if (!(await page.isVisible('#settings'))) await page.click('#settings-toggle');
  await page.locator('#f-dataset').evaluate((el) => el.closest('details')?.setAttribute('open', ''));
  await page.selectOption('#f-dataset', dataset);
}
const dataOf = (got, prefix) => got.filter((r) => new URL(r.url).pathname.startsWith(`/data/${prefix}`));

test('Fashion-MNIST is fetched only when chosen, within its budget, and shows its class names', { skip }, async () => {
  const page = await lab.open(null);
  const got = record(page);
  await page.goto(lab.base + (hasMnist ? '?eval_every=10' : '?eval_every=10&dataset=shapes'));
  await ready(page);
  assert.deepEqual(dataOf(got, 'fashion'), [], 'the default page fetched Fashion-MNIST');

  // Chosen in the settings: the four files, exactly the build's bytes.
  await chooseDataset(page, 'fashion');
  await page.waitForFunction(() => window.bnlab?.info?.a?.dataset?.name === 'fashion', null, { timeout: 30000 });
  const fetched = dataOf(got, 'fashion');
  assert.deepEqual(fetched.map((r) => path.basename(new URL(r.url).pathname)).sort(), [...FILES].sort());
  for (const r of fetched) {
    const file = path.join(webDir, 'data', path.basename(new URL(r.url).pathname));
    assert.equal(r.bytes, fs.statSync(file).size, file);
  }
  const total = fetched.reduce((s, r) => s + r.bytes, 0);
  console.log(`# Fashion-MNIST: ${(total / 1024).toFixed(0)} KiB fetched when chosen`);
  assert.ok(total < FASHION_BUDGET, `${total} bytes`);
  const info = await page.evaluate(() => window.bnlab.info.a.dataset);
  assert.equal(info.train_size, 8000);
  assert.equal(info.test_size, 2000);
  assert.equal(new URL(page.url()).searchParams.get('dataset'), 'fashion');

  // After an evaluation the misclassified images are named by class, not by digit.
  await page.click('#settings-close');
  await page.click('#step10');
  await page.waitForFunction(() => document.querySelector('#c-step')?.textContent === '10', null, { timeout: 30000 });
  const wrong = page.locator('[data-panel="misclassified"]');
  await wrong.scrollIntoViewIfNeeded();
  await page.waitForFunction(() => /test images wrong/.test(document.querySelector('[data-panel="misclassified"] .summary')?.textContent ?? ''), null, { timeout: 30000 });
  const names = 'T-shirt/top|Trouser|Pullover|Dress|Coat|Sandal|Shirt|Sneaker|Bag|Ankle boot';
  const label = await wrong.locator('button.misclassified-image').first().getAttribute('aria-label');
  assert.match(label, new RegExp(`said (${names}), is (${names})\\.`));
  assert.deepEqual(page.problems, []);
});

test('a missing Fashion-MNIST file is said in words, and another dataset still trains after it', { skip }, async () => {
  const page = await lab.open(null);
  await page.route('**/data/fashion-page-test-labels.idx.gz', (route) => route.fulfill({ status: 404, body: 'gone' }));
  await page.goto(`${lab.base}?dataset=fashion`);
  await page.waitForFunction(() => /Fashion-MNIST file data\/fashion-page-test-labels\.idx\.gz is missing/.test(document.body.textContent),
    null, { timeout: 30000 });
  assert.match(await page.textContent('#status'), /Not running/);
  // The page is not stuck: another dataset trains.
  await chooseDataset(page, 'shapes');
  await page.waitForFunction(() => window.bnlab?.info?.a?.dataset?.name === 'shapes', null, { timeout: 30000 });
  await page.click('#settings-close');
  await page.click('#step1');
  await page.waitForFunction(() => document.querySelector('#c-step')?.textContent === '1', null, { timeout: 30000 });
});
