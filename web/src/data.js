// The bytes of the IDX datasets the worker needs (PROTOCOL.md, `data`): MNIST from the build
// (fetched, or inlined in the single-file build), Fashion-MNIST's page subset (fetched only when
// chosen; not in the single-file build), or the learner's own files. The files stay
// gzip-compressed: the worker recognises and inflates them.

export const IDX_PARTS = ['train_images', 'train_labels', 'test_images', 'test_labels'];
// Fashion-MNIST's page subset: 8,000 training and 2,000 test images, 800 and 200 of each class
// (core/data/make_fashion.mjs).
const PREFIX = { mnist: ['MNIST', 'mnist'], fashion: ['Fashion-MNIST', 'fashion-page'] };

// The four files of 'mnist' or 'fashion'; undefined for a dataset without files of the build.
export async function builtBytes(dataset) {
  if (!PREFIX[dataset]) return undefined;
  const [title, prefix] = PREFIX[dataset];
  const data = {};
  for (const part of IDX_PARTS) {
    const inlined = dataset === 'mnist' && document.getElementById(`data-${part}`);
    if (inlined) {
      data[part] = Uint8Array.from(atob(inlined.textContent.trim()), (ch) => ch.charCodeAt(0));
      continue;
    }
    const url = `data/${prefix}-${part.replace('_', '-')}.idx.gz`;
    const r = await fetch(url).catch((e) => ({ ok: false, statusText: e.message }));
    if (!r.ok) {
      throw new Error(`The ${title} file ${url} is missing from this build (${r.status ?? ''} ${r.statusText}). ` +
        'Build it with `npm start` (it converts the data into build/native/data; the single file holds MNIST only), or choose the dataset "shapes", which needs no file.');
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
