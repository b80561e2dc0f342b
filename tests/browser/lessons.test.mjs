// Every lesson: its preset is a valid state naming existing panels, with a prediction, a run
// length and a result kind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { root } from './helpers.mjs';
import { fromQuery } from '../../web/src/state.js';

const html = fs.readFileSync(path.join(root, 'web/lessons.html'), 'utf8');
const lessons = [...html.matchAll(/<article class="lesson" id="lesson-([a-z0-9-]+)"[^>]*data-preset="([^"]*)"[^>]*data-panels="([^"]*)"/g)]
  .map(([, id, preset, panels]) => ({ id, preset: preset.replace(/&amp;/g, '&'), panels: panels.split(',') }));
const PANEL_IDS = ['loss', 'accuracy', 'evalmode', 'bnstats', 'histogram', 'gammabeta', 'percentiles', 'gradnorm', 'ics', 'landscape', 'features', 'misclassified'];

test('every lesson has a valid preset and names existing panels', () => {
  assert.ok(lessons.length >= 15, `${lessons.length} lessons`);
  for (const l of lessons) {
    assert.deepEqual(fromQuery(l.preset).errors, {}, l.id);
    for (const p of l.panels) assert.ok(PANEL_IDS.includes(p), `${l.id}: panel ${p}`);
    const article = html.slice(html.indexOf(`id="lesson-${l.id}"`)).split('</article>')[0];
    assert.match(article, /data-steps="\d+"/, l.id);
    assert.match(article, /data-result="[a-z]+(:[a-z]+)?"/, l.id);
    assert.match(article, /<fieldset class="predict"><legend>Predict: /, l.id);
  }
});

// Each lesson's screenshots at both sizes, its prediction, run and result: teach.test.mjs.
