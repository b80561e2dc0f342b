// BN Lab's one static server (the page in build/web, the benchmark and browser tests from the
// project's root), on 127.0.0.1 only. The file serving is the npm library sirv: it decodes the
// path once with decodeURI (an encoded '/' stays part of a name), normalizes it and serves only
// files under the folder (a path must start with the folder and a separator). It sends the
// build's precompressed FILE.gz for FILE to clients that accept gzip.
//
// What this adds: GET and HEAD only; a .gz file asked for by its own name is sent as it is
// (application/gzip, no Content-Encoding: the page inflates MNIST's .idx.gz itself); types for
// .idx and .gz; no caching (no-cache, no ETag: with ETag revalidation, Firefox ESR's workers on a
// third page never started in tests/firefox); nosniff. A development server: no TLS,
// no authentication, nothing but reading files below the folder; README.md ("Hostile input")
// says so.
//
//   node web/serve.mjs [DIR] [--port N]      (PORT env also works; 0 picks a free port)
// Prints "BN Lab: http://127.0.0.1:PORT/" once listening.
//   import { serve, startServer } from './serve.mjs';
//   serve(dir, port) -> http.Server;  startServer(dir, port) -> {url, close}
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sirv from 'sirv';

function setHeaders(res, pathname) {
  res.setHeader('Cache-Control', 'no-cache');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  if (pathname.endsWith('.gz')) {
    res.setHeader('Content-Type', 'application/gzip');
    res.setHeader('Content-Encoding', 'identity');
  } else if (pathname.endsWith('.idx')) {
    res.setHeader('Content-Type', 'application/octet-stream');
  }
}

export function serve(dir, port = 0) {
  // dev: every request looks at the disk (a rebuilt page is served as it now is, with its new
  // length), never at a list made when the server started.
  const files = sirv(path.resolve(dir), { dev: true, gzip: true, etag: false, dotfiles: false, setHeaders });
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { 'Content-Type': 'text/plain', Allow: 'GET, HEAD' }).end('method not allowed');
      return;
    }
    // Hidden files (.git, .env, ...) are not the page's: sirv's dev mode would serve them.
    let pathname;
    try {
      pathname = decodeURI(new URL(req.url, 'http://x').pathname);
    } catch {
      pathname = req.url;
    }
    if (/(^|\/)\./.test(pathname)) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found');
      return;
    }
    files(req, res, () => {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found');
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

// The same, as {url (no trailing slash), close()} for the benchmark and the tests.
export async function startServer(dir, port = 0) {
  const server = await serve(dir, port);
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    close: () => new Promise((done) => server.close(done)),
  };
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
