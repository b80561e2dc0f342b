// What the build-time converters (make_mnist.mjs, make_fashion.mjs) share: the project's
// xorshift32 generator and Fisher-Yates shuffle, IDX files in memory, and atomic writes.

import fs from 'node:fs';
import zlib from 'node:zlib';

export const SIDE = 28;
export const PIXELS = SIDE * SIDE;

// xorshift32 as in core/base/rng.h; below(n) is its multiply-shift integer in [0, n)
// (next < 2^32 and n < 2^21, so the product is exact in a double).
export function makeRng(seed) {
  let state = seed >>> 0 || 0x9e3779b9;
  return {
    below(n) {
      state ^= state << 13;
      state >>>= 0;
      state ^= state >>> 17;
      state ^= state << 5;
      state >>>= 0;
      return Math.floor((state * n) / 4294967296);
    },
  };
}

export function shuffle(array, rng) {
  for (let i = array.length - 1; i > 0; i--) {
    const j = rng.below(i + 1);
    [array[i], array[j]] = [array[j], array[i]];
  }
}

function idxHeader(magic, dims) {
  const header = Buffer.alloc(4 * (1 + dims.length));
  header.writeUInt32BE(magic, 0);
  dims.forEach((d, k) => header.writeUInt32BE(d, 4 * (k + 1)));
  return header;
}

// examples: [{label, bytes (one image of PIXELS bytes)}] in file order. All integers in the
// headers are big-endian uint32, as in the real MNIST files: images magic 0x00000803 (uint8,
// 3 dims n, 28, 28), labels 0x00000801 (uint8, 1 dim n).
export function idxFiles(examples) {
  const images = Buffer.alloc(examples.length * PIXELS);
  const labels = Buffer.alloc(examples.length);
  examples.forEach((e, i) => {
    images.set(e.bytes, i * PIXELS);
    labels[i] = e.label;
  });
  return {
    images: Buffer.concat([idxHeader(0x00000803, [examples.length, SIDE, SIDE]), images]),
    labels: Buffer.concat([idxHeader(0x00000801, [examples.length]), labels]),
  };
}

// Through a temporary name and a rename, so an interrupted run leaves no half-written file.
export function writeAtomically(file, bytes) {
  const tmp = `${file}.tmp${process.pid}`;
  fs.writeFileSync(tmp, bytes);
  fs.renameSync(tmp, file);
}

// gzip's header carries no time stamp from node's zlib, so the .gz are reproducible too.
export function gzip(bytes) {
  return zlib.gzipSync(bytes, { level: 9 });
}
