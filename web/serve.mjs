// A small static server for build/web on 127.0.0.1, with the MIME types the page needs
// (application/wasm, so that the module compiles while it streams) and the build's .gz files
// served compressed to browsers that accept gzip.
//
//   node web/serve.mjs [DIR] [--port N]      (PORT env also works; 0 picks a free port)
// Prints "BN Lab: http://127.0.0.1:PORT/" once listening.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const MIME = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8', '.json': 'application/json', '.wasm': 'application/wasm', '.png': 'image/png',
  '.svg': 'image/svg+xml', '.gz': 'application/gzip', '.idx': 'application/octet-stream', '.txt': 'text/plain; charset=utf-8',
};

export function serve(dir, port = 0) {
  const rootDir = path.resolve(dir);
  const server = http.createServer((req, res) => {
    let rel;
    try {
      rel = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    } catch {
      res.writeHead(400).end('bad request');
      return;
    }
    let file = path.join(rootDir, rel);
    if (!file.startsWith(rootDir)) {
      res.writeHead(403).end('forbidden');
      return;
    }
    if (fs.existsSync(file) && fs.statSync(file).isDirectory()) file = path.join(file, 'index.html');
    if (!fs.existsSync(file)) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end(`not found: ${rel}`);
      return;
    }
    const ext = path.extname(file);
    const headers = { 'Content-Type': MIME[ext] ?? 'application/octet-stream', 'Cache-Control': 'no-cache', 'X-Content-Type-Options': 'nosniff' };
    let body = file;
    if (ext !== '.gz' && /\bgzip\b/.test(req.headers['accept-encoding'] ?? '') && fs.existsSync(`${file}.gz`)) {
      body = `${file}.gz`;
      headers['Content-Encoding'] = 'gzip';
      headers.Vary = 'Accept-Encoding';
    }
    headers['Content-Length'] = fs.statSync(body).size;
    res.writeHead(200, headers);
    if (req.method === 'HEAD') res.end();
    else fs.createReadStream(body).pipe(res);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const pi = args.indexOf('--port');
  const port = Number(pi >= 0 ? args[pi + 1] : process.env.PORT ?? 8080);
  const dir = args.find((a, i) => !a.startsWith('--') && args[i - 1] !== '--port') ?? path.join(path.dirname(fileURLToPath(import.meta.url)), '../build/web');
  const server = await serve(dir, port).catch(async (e) => {
    if (e.code !== 'EADDRINUSE') throw e;
    console.error(`port ${port} is busy; using a free one`);
    return serve(dir, 0);
  });
  console.log(`BN Lab: http://127.0.0.1:${server.address().port}/`);
}
