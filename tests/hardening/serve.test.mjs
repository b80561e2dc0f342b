// web/serve.mjs, the one static server: it serves the files below its folder and nothing else,
// whatever the encoding of the path. Requests are sent raw (node:http keeps the path as written;
// fetch() and browsers would normalize '..' away before sending).
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { gzipSync } from 'node:zlib';

import { serve } from '../../web/serve.mjs';

// root/web is served; root/web-single (a sibling sharing the prefix "web"), root/secret.txt
// and root/web/.hidden must not be.
const root = mkdtempSync(path.join(tmpdir(), 'bnlab-serve-'));
const SECRET = 'SECRET-CONTENT';
let server, port;

before(async () => {
  mkdirSync(path.join(root, 'web', 'data'), { recursive: true });
  mkdirSync(path.join(root, 'web-single'));
  writeFileSync(path.join(root, 'web', 'index.html'), '<p>index</p>');
  writeFileSync(path.join(root, 'web', 'app.js'), 'export const x = 1;');
  writeFileSync(path.join(root, 'web', 'app.js.gz'), gzipSync('export const x = 1;'));
  writeFileSync(path.join(root, 'web', 'core.wasm'), Buffer.from([0, 97, 115, 109]));
  writeFileSync(path.join(root, 'web', 'data', 'x.idx.gz'), gzipSync(Buffer.from([0, 0, 8, 1, 0, 0, 0, 0])));
  writeFileSync(path.join(root, 'web', '.hidden'), SECRET);
  writeFileSync(path.join(root, 'web-single', 'bnlab.html'), SECRET);
  writeFileSync(path.join(root, 'secret.txt'), SECRET);
  server = await serve(path.join(root, 'web'), 0);
  port = server.address().port;
});

after(() => {
  server.close();
  rmSync(root, { recursive: true, force: true });
});

function get(rawPath, { method = 'GET', headers = {} } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: rawPath, method, headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('serve: the folder\'s files, with their types; .gz sent precompressed or as it is', async () => {
  let r = await get('/');
  assert.equal(r.status, 200);
  assert.equal(r.body.toString(), '<p>index</p>');
  r = await get('/core.wasm');
  assert.equal(r.headers['content-type'], 'application/wasm');
  assert.equal(r.headers['x-content-type-options'], 'nosniff');
  r = await get('/app.js', { headers: { 'accept-encoding': 'gzip, deflate' } });
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-encoding'], 'gzip');
  assert.match(r.headers['content-type'], /javascript/);
  r = await get('/app.js');
  assert.equal(r.headers['content-encoding'], undefined);
  assert.equal(r.body.toString(), 'export const x = 1;');
  // MNIST's .idx.gz asked for by name: the gzip bytes themselves (the page inflates them).
  r = await get('/data/x.idx.gz', { headers: { 'accept-encoding': 'gzip' } });
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-type'], 'application/gzip');
  assert.notEqual(r.headers['content-encoding'], 'gzip');
  assert.deepEqual([r.body[0], r.body[1]], [0x1f, 0x8b]);
  assert.equal((await get('/nothing.html')).status, 404);
  assert.equal((await get('/index.html', { method: 'POST' })).status, 405);
  assert.equal((await get('/index.html', { method: 'HEAD' })).status, 200);
});

// Every way of naming a file outside the folder that we know of: plain, encoded once or twice,
// with backslashes, absolute paths, a sibling folder sharing the prefix, NUL, overlong UTF-8.
const ESCAPES = [
  '/../secret.txt', '/..%2fsecret.txt', '/..%2Fsecret.txt', '/%2e%2e/secret.txt', '/%2e%2e%2fsecret.txt',
  '/%2E%2E%2Fsecret.txt', '/.%2e/secret.txt', '/%2e./secret.txt', '/%252e%252e%252fsecret.txt',
  '/..%252fsecret.txt', '/..\\secret.txt', '/..%5csecret.txt', '/..%5Csecret.txt', '/%2e%2e%5csecret.txt',
  '/data/../../secret.txt', '/data/..%2f..%2fsecret.txt', '/./../secret.txt', '//../secret.txt',
  `/${root}/secret.txt`, `/${encodeURIComponent(root)}%2fsecret.txt`, `//${root.slice(1)}/secret.txt`,
  '/..%2fweb-single%2fbnlab.html', '/../web-single/bnlab.html', '/%2e%2e/web-single/bnlab.html',
  '/..%c0%afsecret.txt', '/..%e0%80%afsecret.txt', '/..%00/secret.txt', '/secret.txt%00.html',
  '/.hidden', '/%2ehidden', '/..;/secret.txt', `http://127.0.0.1/../secret.txt`, '/%u002e%u002e/secret.txt',
  '/..%252f..%252fsecret.txt', '/%%32%65%%32%65/secret.txt',
];

test('serve: no encoding of a path reaches a file outside the folder', async () => {
  for (const p of ESCAPES) {
    const r = await get(p);
    assert.ok([400, 403, 404].includes(r.status), `${p}: status ${r.status}`);
    assert.ok(!r.body.toString().includes(SECRET), `${p}: served a file outside the folder`);
  }
});
