// The learner's own IDX files: four file pickers, and files dropped anywhere on the page, sorted
// into training/test images/labels by name. Tells the controller when all four are there.
import { IDX_PARTS, sortIdxFiles } from './data.js';

const $ = (id) => document.getElementById(id);

export class IdxFiles {
  // onDrop(): files were dropped (the controller switches the dataset to "idx");
  // onComplete(): the four files are there (the controller rebuilds the run with them).
  constructor({ onDrop, onComplete }) {
    this.files = {};
    this.onComplete = onComplete;
    for (const part of IDX_PARTS) {
      $(`idx-${part}`).onchange = (e) => {
        if (e.target.files[0]) this.files[part] = e.target.files[0];
        this.check();
      };
    }
    const zone = $('dropzone');
    document.addEventListener('dragover', (e) => {
      if (![...e.dataTransfer.types].includes('Files')) return;
      e.preventDefault();
      zone.classList.add('over');
    });
    document.addEventListener('dragleave', () => zone.classList.remove('over'));
    document.addEventListener('drop', (e) => {
      if (!e.dataTransfer.files.length) return;
      e.preventDefault();
      zone.classList.remove('over');
      this.show(true);
      const files = [...e.dataTransfer.files];
      const sorted = sortIdxFiles(files);
      if (!Object.keys(sorted).length) {
        $('err-idx').textContent = `Not IDX files (names must say train or test, images or labels): ${files.map((f) => f.name).join(', ')}`;
        return;
      }
      Object.assign(this.files, sorted);
      onDrop();
      this.check();
    });
  }

  show(visible) {
    $('idx-files').hidden = !visible;
  }

  complete() {
    return IDX_PARTS.every((p) => this.files[p]);
  }

  // The file names go into the side configs (the core's option table asks for them).
  names() {
    return Object.fromEntries(IDX_PARTS.map((p) => [p, this.files[p]?.name ?? '']));
  }

  check() {
    const missing = IDX_PARTS.filter((p) => !this.files[p]);
    $('err-idx').textContent = missing.length ? `Still missing: ${missing.join(', ').replace(/_/g, ' ')}.` : '';
    if (!missing.length) this.onComplete();
  }
}
