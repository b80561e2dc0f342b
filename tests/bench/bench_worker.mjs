// The benchmark inside a browser Worker: the real module (build/wasm), as the page runs it.
// Message in: {variants: ['bn', 'nobn'], quick, profile?}; out: {results: [...]} or {error}.
import { loadBnlab } from '../../build/wasm/bnlab.mjs';

self.onmessage = async (e) => {
  try {
    const lab = await loadBnlab();
    if (e.data.profile) {
      self.postMessage({ results: e.data.variants.map((v) => lab.referenceProfile(v, { steps: e.data.quick ? 20 : 300 })) });
      return;
    }
    const results = e.data.variants.map((v) => lab.referenceBench(v, { quick: e.data.quick }));
    self.postMessage({ results });
  } catch (error) {
    self.postMessage({ error: String(error?.message ?? error) });
  }
};
