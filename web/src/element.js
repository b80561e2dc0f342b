// <bn-lab panels="loss,accuracy" lr="0.5" b.norm="none"></bn-lab>: BN Lab embedded with one
// script tag. Every attribute is a setting of the page's URL; the element holds an iframe of the
// page in embed mode (its own worker and styles) and takes the height the page reports.
const HEIGHT_MESSAGE = 'bnlab:height';
const PAGE = new URL('./', document.currentScript?.src ?? location.href).href;

class BnLab extends HTMLElement {
  connectedCallback() {
    if (this.frame) return;
    const params = new URLSearchParams();
    for (const { name, value } of this.attributes) if (!['class', 'style', 'id', 'title'].includes(name)) params.set(name, value);
    params.set('embed', '1');
    this.frame = document.createElement('iframe');
    this.frame.src = `${PAGE}?${params}`;
    this.frame.title = this.getAttribute('title') || 'BN Lab: Batch Normalization simulator';
    this.frame.style.cssText = 'width:100%;border:0;display:block;height:420px';
    this.frame.loading = 'lazy';
    this.onMessage = (e) => {
      if (e.source === this.frame.contentWindow && e.data?.type === HEIGHT_MESSAGE) this.frame.style.height = `${e.data.height}px`;
    };
    window.addEventListener('message', this.onMessage);
    this.append(this.frame);
  }

  disconnectedCallback() {
    window.removeEventListener('message', this.onMessage);
    this.frame?.remove();
    this.frame = null;
  }
}

if (!customElements.get('bn-lab')) customElements.define('bn-lab', BnLab);
