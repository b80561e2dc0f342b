// The bytes of the IDX datasets the worker needs (PROTOCOL.md, `data`): MNIST from the build
// (fetched, or inlined in the single-file build), or the learner's own files. The files stay
// gzip-compressed: the worker recognises and inflates them.

export const IDX_PARTS = ['train_images', 'train_labels', 'test_images', 'test_labels'];
const MNIST_FILE = (part) => `mnist-${part.replace('_', '-')}.idx.gz`;

export async function mnistBytes() {
  const data = {};
  for (const part of IDX_PARTS) {
    const inlined = document.getElementById(`data-${part}`);
    if (inlined) {
      data[part] = Uint8Array.from(atob(inlined.textContent.trim()), (ch) => ch.charCodeAt(0));
      continue;
    }
    const url = `data/${MNIST_FILE(part)}`;
    const r = await fetch(url).catch((e) => ({ ok: false, statusText: e.message }));
    if (!r.ok) {
      throw new Error(`The MNIST file ${url} is missing from this build (${r.status ?? ''} ${r.statusText}). ` +
        'Build it with `npm start` (it converts the digits into build/native/data), or choose the dataset "shapes", which needs no file.');
    }
    data[part] = new Uint8Array(await r.arrayBuffer());
  }
  return data;
}

// Sorts dropped or picked files into the four parts by name ("train"/"test", "image"/"label",
// or MNIST's own "idx3"/"idx1"); returns {part: File} for the ones it recognised.
export function sortIdxFiles(files) {
  const out = {};
  for (const f of files) {
    const n = f.name.toLowerCase();
    const split = /t10k|test/.test(n) ? 'test' : /train/.test(n) ? 'train' : null;
    const kind = /label|idx1/.test(n) ? 'labels' : /image|idx3/.test(n) ? 'images' : null;
    if (split && kind) out[`${split}_${kind}`] = f;
  }
  return out;
}

export async function fileBytes(files) {
  const data = {};
  for (const part of IDX_PARTS) {
    if (!files[part]) throw new Error(`Your own IDX files: "${part.replace('_', ' ')}" is missing (4 files are needed).`);
    data[part] = new Uint8Array(await files[part].arrayBuffer());
  }
  return data;
}
