/**
 * Model output is untrusted: Markdown from a reply is rendered with JupyterLab's own
 * Markdown parser (code highlighting included) and sanitizer, then checked once more in an
 * inert document before any of it reaches the page. No script, event handler, style, frame,
 * form, command link or remote load (images included) gets through, whether the output is
 * trusted or not: a model's reply is never the user's code.
 */
import { removeMath, replaceMath } from '@jupyterlab/rendermime';
import { IRenderMime } from '@jupyterlab/rendermime-interfaces';

export interface IMarkdownOptions {
  sanitizer: IRenderMime.ISanitizer;
  markdownParser?: IRenderMime.IMarkdownParser | null;
  latexTypesetter?: IRenderMime.ILatexTypesetter | null;
  /** Typeset math (skipped while a turn streams: MathJax on every frame is too slow). */
  typeset: boolean;
}

/** Render untrusted Markdown into `host` (its previous content is replaced). */
export async function renderUntrustedMarkdown(
  host: HTMLElement,
  source: string,
  options: IMarkdownOptions
): Promise<void> {
  host.replaceChildren(await untrustedFragment(source, options));
  if (options.typeset && options.latexTypesetter && source) {
    await options.latexTypesetter.typeset(host);
  }
}

/** Untrusted Markdown as checked nodes, math left as text for the typesetter. */
export async function untrustedFragment(
  source: string,
  options: Pick<IMarkdownOptions, 'sanitizer' | 'markdownParser'>
): Promise<DocumentFragment> {
  let html: string;
  if (!source) {
    html = '';
  } else if (options.markdownParser) {
    // as JupyterLab's own renderMarkdown: keep math away from the Markdown parser
    const parts = removeMath(source);
    html = await options.markdownParser.render(parts['text']);
    html = replaceMath(html, parts['math']);
  } else {
    html = `<pre>${escapeHtml(source)}</pre>`;
  }
  return safeFragment(options.sanitizer.sanitize(html));
}

/**
 * Parse `html` in an inert document (nothing loads, nothing runs there), strip what is not
 * allowed, and return the nodes, imported into the page without being parsed again (so what
 * was checked is exactly what is inserted).
 */
export function safeFragment(html: string): DocumentFragment {
  const doc = new DOMParser().parseFromString(
    `<!DOCTYPE html><html><body>${html}</body></html>`,
    'text/html'
  );
  neutralize(doc.body);
  const fragment = document.createDocumentFragment();
  for (const node of Array.from(doc.body.childNodes)) {
    fragment.appendChild(document.importNode(node, true));
  }
  return fragment;
}

/** Elements removed with their content. */
const DROP = new Set([
  'script',
  'style',
  'link',
  'meta',
  'base',
  'title',
  'head',
  'template',
  'noscript',
  'iframe',
  'frame',
  'frameset',
  'object',
  'embed',
  'applet',
  'portal',
  'fencedframe',
  'form',
  'button',
  'textarea',
  'select',
  'option',
  'optgroup',
  'datalist',
  'output',
  'video',
  'audio',
  'source',
  'track',
  'picture',
  'canvas',
  'map',
  'area',
  'svg',
  'math',
  'dialog',
  'slot',
  'marquee',
  'xml',
  'image'
]);

/** Elements replaced by a visible placeholder: the reader should know something was there. */
const PLACEHOLDER = new Set([
  'iframe',
  'frame',
  'object',
  'embed',
  'video',
  'audio',
  'form'
]);

/** Attributes kept (anything else goes: handlers, styles, command links, src sets...). */
const KEEP_ATTRIBUTES = new Set([
  'class',
  'title',
  'alt',
  'lang',
  'dir',
  'colspan',
  'rowspan',
  'align',
  'valign',
  'start',
  'reversed',
  'value',
  'type',
  'checked',
  'disabled',
  'open',
  'width',
  'height',
  'scope',
  'headers',
  'abbr',
  'datetime',
  'cite',
  'data-jupyter-id',
  'href',
  'src',
  'role'
]);

const SAFE_LINK = /^(https?:|mailto:)/i;
const SCHEME = /^[a-z][a-z0-9+.-]*:/i;

function neutralize(root: HTMLElement): void {
  for (const el of Array.from(root.querySelectorAll('*'))) {
    if (!el.isConnected) {
      continue; // inside something already removed
    }
    const tag = el.localName;
    if (DROP.has(tag) || el.namespaceURI !== 'http://www.w3.org/1999/xhtml') {
      if (PLACEHOLDER.has(tag)) {
        el.replaceWith(placeholder(el.ownerDocument, `[${tag} removed]`, ''));
      } else {
        el.remove();
      }
      continue;
    }
    if (tag === 'input') {
      // GitHub task lists: a disabled checkbox is all that may stay
      if ((el.getAttribute('type') || '').toLowerCase() !== 'checkbox') {
        el.remove();
        continue;
      }
      el.setAttribute('disabled', '');
    }
    for (const attr of Array.from(el.attributes)) {
      const name = attr.name.toLowerCase();
      if (!KEEP_ATTRIBUTES.has(name) && !name.startsWith('aria-')) {
        el.removeAttribute(attr.name);
      }
    }
    cleanClasses(el);
    if (tag === 'img') {
      const src = (el.getAttribute('src') || '').trim();
      if (!/^data:image\//i.test(src)) {
        const alt = el.getAttribute('alt') || 'image';
        el.replaceWith(
          placeholder(
            el.ownerDocument,
            `[${alt}]`,
            `Image not loaded: ${src || '(no address)'}`
          )
        );
      }
      continue;
    }
    el.removeAttribute('src');
    if (el.hasAttribute('href')) {
      const href = (el.getAttribute('href') || '').trim();
      if (tag === 'a' && (SAFE_LINK.test(href) || href.startsWith('//'))) {
        el.setAttribute('target', '_blank');
        el.setAttribute('rel', 'noopener noreferrer nofollow');
      } else if (tag === 'a' && href.startsWith('#') && !SCHEME.test(href)) {
        // an anchor inside the page: fine
      } else {
        el.removeAttribute('href');
        el.setAttribute('title', `Link removed: ${href}`.slice(0, 200));
      }
    }
  }
}

/** JupyterLab's and Lumino's own classes would let a reply dress up as application UI. */
function cleanClasses(el: Element): void {
  if (!el.hasAttribute('class')) {
    return;
  }
  const kept = Array.from(el.classList).filter(
    c => !/^(jp-|lm-|p-|jupyter-)/.test(c)
  );
  if (kept.length) {
    el.setAttribute('class', kept.join(' '));
  } else {
    el.removeAttribute('class');
  }
}

function placeholder(doc: Document, text: string, title: string): HTMLElement {
  const span = doc.createElement('span');
  span.className = 'jp-ChatTurn-blocked';
  span.textContent = text;
  if (title) {
    span.title = title.slice(0, 300);
  }
  return span;
}

function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;');
}
