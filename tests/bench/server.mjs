// A tiny static file server on 127.0.0.1 for the Chromium benchmark and tests: serves the
// project's root directory (so /build/wasm/bnlab.mjs and /tests/bench/chromium.html are
// reachable), nothing else, GET only.
//
//   node tests/bench/server.mjs [PORT]        (0 or nothing: any free port, printed on stdout)
//   import { startServer } from './server.mjs'; const { url, close } = await startServer(root);
import { createServer } from 'node:http';
import { createReadStream, statSync } from 'node:fs';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

export function startServer(root, port = 0) {
  const base = resolve(root);
  const server = createServer((req, res) => {
    const path = normalize(join(base, decodeURIComponent(new URL(req.url, 'http://x').pathname)));
    let file = path;
    try {
      if (req.method !== 'GET' || !(path === base || path.startsWith(base + sep))) throw new Error('forbidden');
      if (statSync(file).isDirectory()) file = join(file, 'index.html');
      const size = statSync(file).size;
      res.writeHead(200, { 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream',
                           'Content-Length': size, 'Cache-Control': 'no-store' });
      createReadStream(file).pipe(res);
    } catch {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end(`not found: ${req.url}\n`);
    }
  });
  return new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(port, '127.0.0.1', () => {
      const url = `http://127.0.0.1:${server.address().port}`;
      ok({ url, close: () => new Promise((done) => server.close(done)) });
    });
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const root = fileURLToPath(new URL('../..', import.meta.url));
  const { url } = await startServer(root, Number(process.argv[2] ?? 0));
  console.log(url);
}
