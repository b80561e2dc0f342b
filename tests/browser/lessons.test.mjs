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
// The panels' ids as their classes declare them (`super(parent, 'loss', ...)` in web/src/views/).
const viewsDir = path.join(root, 'web/src/views');
const PANEL_IDS = fs.readdirSync(viewsDir).flatMap((f) =>
  [...fs.readFileSync(path.join(viewsDir, f), 'utf8').matchAll(/super\(parent, '([a-z]+)'/g)].map((m) => m[1]));

test('every lesson has a valid preset and names existing panels', () => {
  assert.ok(lessons.length >= 15, `${lessons.length} lessons`);
  assert.ok(PANEL_IDS.length >= 14 && PANEL_IDS.includes('inspector'), `panel ids: ${PANEL_IDS}`);
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
