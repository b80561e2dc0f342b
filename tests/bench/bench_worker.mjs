// The benchmark inside a browser Worker: the real module (build/wasm), as the page runs it.
// Message in: {variants: ['bn', 'nobn'], quick}; out: {results: [...]} or {error}.
import { loadBnlab } from '../../build/wasm/bnlab.mjs';

self.onmessage = async (e) => {
  try {
    const lab = await loadBnlab();
    const results = e.data.variants.map((v) => lab.referenceBench(v, { quick: e.data.quick }));
    self.postMessage({ results });
  } catch (error) {
    self.postMessage({ error: String(error?.message ?? error) });
  }
};
