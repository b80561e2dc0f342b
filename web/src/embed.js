// Teacher tools: the embedded page (?embed=1&panels=...) and the snippet that embeds it.

export const HEIGHT_MESSAGE = 'bnlab:height';

// In an iframe: report the page's height to the parent whenever it changes, and pause while the
// frame is scrolled out of view (resuming when it comes back, if it was playing).
// background: 'grey' (the page's), 'light' (white) or 'transparent' (the host page shows through).
export function runEmbedded({ isPlaying, pause, play }, background = 'grey') {
  document.body.classList.add('embed', `bg-${background}`);
  if (background === 'transparent') document.documentElement.style.background = 'transparent';
  // The body's own height (the content), not the viewport's: an iframe first laid out taller
  // than its panels must not report its own height back.
  const height = () => Math.ceil(document.body.getBoundingClientRect().height);
  let last = 0;
  const report = () => {
    const h = height();
    if (h !== last) parent.postMessage({ type: HEIGHT_MESSAGE, height: (last = h) }, '*');
  };
  // The observer's first call comes after layout and after the charts sized themselves (uPlot
  // does so in a microtask): reporting before it would send a height without the charts.
  new ResizeObserver(report).observe(document.body);
  let pausedByScroll = false;
  new IntersectionObserver(([entry]) => {
    if (!entry.isIntersecting && isPlaying()) {
      pausedByScroll = true;
      pause();
    } else if (entry.isIntersecting && pausedByScroll) {
      pausedByScroll = false;
      play();
    }
  }).observe(document.body);
}

// Snippets for a teacher's page: the custom element (one script tag) or a plain iframe.
export function snippets(pageUrl, query) {
  const base = new URL('.', pageUrl).href;
  const params = new URLSearchParams(query);
  const attrs = [...params].filter(([k]) => k !== 'embed').map(([k, v]) => ` ${k}="${escapeAttr(v)}"`).join('');
  params.set('embed', '1');
  return {
    element: `<script src="${base}bnlab-element.js" defer></script>\n<bn-lab${attrs}></bn-lab>`,
    iframe: `<iframe src="${base}?${escapeAttr(params.toString())}" title="BN Lab" style="width:100%;border:0" loading="lazy"></iframe>`,
  };
}

const escapeAttr = (s) => String(s).replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
