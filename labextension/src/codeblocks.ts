/**
 * What the renderer adds to an answer's checked nodes: a frame around each code block with its
 * language, a Copy button (the block's code) and, in a notebook, "Insert as a cell below";
 * headings marked for JupyterLab's table of contents to skip. Everything here is built with
 * DOM calls after sanitizing: no model text is parsed as HTML.
 *
 * Inserting needs the notebook, which the mime renderer does not see: the frontend plugin
 * puts an `IChatActions` on `window` (as the stream registry, see registry.ts), and the
 * button asks it to insert below the cell whose output holds the button.
 */
import { copyText, flashLabel } from './clipboard';

/** What the frontend plugin lets a rendered turn do in its notebook. */
export interface IChatActions {
  /** Insert a code cell holding `code` below the cell whose output contains `from`. */
  insertBelow(from: HTMLElement, code: string): boolean;
}

/** The window property holding this page's chat actions. */
export const ACTIONS_KEY = '__jupyterChatActions';

export function setChatActions(actions: IChatActions): void {
  (window as unknown as Record<string, IChatActions>)[ACTIONS_KEY] = actions;
}

export function chatActions(): IChatActions | undefined {
  return (window as unknown as Record<string, IChatActions | undefined>)[
    ACTIONS_KEY
  ];
}

const HEADINGS = 'h1, h2, h3, h4, h5, h6';

/**
 * Decorate one top-level node of a rendered answer; returns the node to show in its place
 * (a top-level code block comes back in its frame).
 */
export function decorate(node: Node): Node {
  if (!(node instanceof HTMLElement)) {
    return node;
  }
  if (node.matches(HEADINGS)) {
    node.classList.add('jp-toc-ignore');
  }
  for (const heading of Array.from(node.querySelectorAll(HEADINGS))) {
    heading.classList.add('jp-toc-ignore');
  }
  if (node.localName === 'pre') {
    return frame(node);
  }
  for (const pre of Array.from(node.querySelectorAll('pre'))) {
    const parent = pre.parentNode;
    const next = pre.nextSibling;
    if (parent) {
      parent.insertBefore(frame(pre as HTMLElement), next); // frame() moves the block in
    }
  }
  return node;
}

/** A code block in its frame: language, Copy, Insert below; the block itself unchanged. */
function frame(pre: HTMLElement): HTMLElement {
  const box = document.createElement('div');
  box.className = 'jp-ChatTurn-code';
  const bar = document.createElement('div');
  bar.className = 'jp-ChatTurn-codeBar';
  const code = pre.querySelector('code');
  const lang = /(?:^|\s)language-([\w+#.-]+)/.exec(code?.className || '');
  const label = document.createElement('span');
  label.className = 'jp-ChatTurn-codeLang';
  label.textContent = lang ? lang[1] : 'code';
  const text = () => ((code || pre).textContent || '').replace(/\n$/, '');

  const copy = button('jp-ChatTurn-codeCopy', 'Copy', 'Copy this code block');
  copy.addEventListener('click', async () => {
    const ok = await copyText(text());
    flashLabel(copy.querySelector('.jp-ChatTurn-codeButtonLabel'), ok);
    box.dataset.copied = ok ? 'yes' : 'no';
  });
  const insert = button(
    'jp-ChatTurn-codeInsert',
    'Insert below',
    'Insert this code as a new cell below'
  );
  insert.addEventListener('click', () => {
    const actions = chatActions();
    const ok = !!actions && actions.insertBelow(box, text());
    box.dataset.inserted = ok ? 'yes' : 'no';
  });
  bar.append(label, copy, insert);
  box.append(bar, pre);
  return box;
}

/** A text button (no icon: nothing drawn inside the answer is SVG, see safehtml.ts). */
function button(
  className: string,
  text: string,
  title: string
): HTMLButtonElement {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = `jp-ChatTurn-codeButton ${className}`;
  b.title = title;
  b.setAttribute('aria-label', title);
  const label = document.createElement('span');
  label.className = 'jp-ChatTurn-codeButtonLabel';
  label.textContent = text;
  b.append(label);
  return b;
}
