// Runs the worker of build/wasm in a node worker thread: the tests' stand-in for a browser
// Worker. The protocol code is the same; only the host (postMessage / message events) differs.
import { parentPort } from 'node:worker_threads';

const { serve } = await import('../../build/wasm/worker.mjs');
serve({ post: (message, transfer) => parentPort.postMessage(message, transfer ?? []),
        listen: (handler) => parentPort.on('message', handler) });
