// Take-aways: metrics as CSV, a panel as PNG, files downloaded from the page.

// Rows of cells as CSV text (RFC 4180, as the core writes its tables): a cell with a comma,
// quote or line break is quoted, its quotes doubled. The page's one CSV writer.
export function csvText(rows) {
  const cell = (v) => {
    const s = String(v);
    return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return rows.map((r) => r.map(cell).join(',')).join('\n') + '\n';
}

// One row per side and step; test columns are filled at the steps where the test set was
// evaluated (eval mode: running statistics; train mode: each test batch's own statistics).
export function metricsCsv(history, labels) {
  const rows = [['side', 'label', 'step', 'batch_loss', 'batch_accuracy', 'lr', 'test_loss_eval', 'test_accuracy_eval',
    'test_loss_train_mode', 'test_accuracy_train_mode']];
  for (const [side, h] of Object.entries(history.sides)) {
    const evals = new Map(h.evals.map((e) => [e.step, e]));
    const label = labels[side] ?? side;
    const step = h.step.view(), loss = h.loss.view(), acc = h.accuracy.view(), lr = h.lr.view();
    for (let i = 0; i < step.length; i++) {
      const e = evals.get(step[i]);
      rows.push([side, label, step[i], loss[i], acc[i], lr[i],
        e?.eval.loss ?? '', e?.eval.accuracy ?? '', e?.train.loss ?? '', e?.train.accuracy ?? '']);
    }
    // Evaluations at steps with no training row (step 0, before any training).
    const trained = new Set(step);
    for (const e of h.evals) {
      if (!trained.has(e.step)) rows.push([side, label, e.step, '', '', '', e.eval.loss, e.eval.accuracy, e.train.loss, e.train.accuracy]);
    }
  }
  return csvText(rows);
}

// A panel's chart on white with its title and legend, as the PNG a learner pastes in notes.
export function panelPng(panel) {
  const src = panel.canvas();
  if (!src) return null;
  const legend = [...panel.el.querySelectorAll('.u-legend .u-series')].map((s) => ({
    text: s.querySelector('.u-label')?.textContent ?? '',
    color: s.querySelector('.u-marker')?.style.borderColor || '#000',
  }));
  const dpr = src.width / (src.clientWidth || src.width);
  const pad = 12 * dpr, titleH = 24 * dpr, legendH = Math.ceil(legend.length / 2) * 18 * dpr;
  const out = document.createElement('canvas');
  out.width = src.width + 2 * pad;
  out.height = src.height + titleH + legendH + 2 * pad;
  const ctx = out.getContext('2d');
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, out.width, out.height);
  ctx.fillStyle = '#111';
  ctx.font = `bold ${15 * dpr}px system-ui, sans-serif`;
  ctx.fillText(panel.el.querySelector('h3').textContent, pad, pad + 14 * dpr);
  ctx.drawImage(src, pad, pad + titleH);
  ctx.font = `${12 * dpr}px system-ui, sans-serif`;
  legend.forEach((l, i) => {
    const x = pad + (i % 2) * (out.width / 2), y = pad + titleH + src.height + Math.floor(i / 2) * 18 * dpr + 12 * dpr;
    ctx.fillStyle = l.color;
    ctx.fillRect(x, y - 9 * dpr, 14 * dpr, 4 * dpr);
    ctx.fillStyle = '#111';
    ctx.fillText(l.text, x + 20 * dpr, y);
  });
  return out;
}

export function download(name, blobOrText, type = 'text/plain') {
  const blob = blobOrText instanceof Blob ? blobOrText : new Blob([blobOrText], { type });
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10000);
}
