// The page's entry point: reads what the build included and starts the controller.
import './style.css';
import { Controller } from './controller.js';

const info = JSON.parse(document.getElementById('build-info')?.textContent ?? '{}');
// Reachable from the console and the browser tests.
window.bnlab = new Controller(info);
