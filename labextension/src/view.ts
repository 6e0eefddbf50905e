/**
 * An answer's Markdown kept on the page as it streams, block by block: each render parses and
 * checks the whole text (safehtml.ts), keeps the top-level blocks that did not change (with
 * their typeset math and their buttons), replaces the rest, and typesets only the new
 * blocks, in slices of a few milliseconds with the browser free in between. While the turn
 * streams, the last block (still growing) is left untypeset; the final render typesets it.
 * So math appears as the answer arrives and no typesetting task runs long.
 */
import { IRenderMime } from '@jupyterlab/rendermime-interfaces';

import { decorate } from './codeblocks';
import { untrustedFragment } from './safehtml';

export interface IViewOptions {
  sanitizer: IRenderMime.ISanitizer;
  markdownParser?: IRenderMime.IMarkdownParser | null;
  latexTypesetter?: IRenderMime.ILatexTypesetter | null;
}

/** Typeset for at most about this long before letting the browser paint and handle input. */
export const SLICE_MS = 25;

/** Anything MathJax (as JupyterLab configures it) could typeset. */
const MATH = /\$|\\\(|\\\[|\\begin\{/;

interface IBlock {
  /** The block as checked, before decoration and typesetting. */
  key: string;
  /** What is on the page for it. */
  node: Node;
  typeset: boolean;
}

export class MarkdownView {
  constructor(readonly host: HTMLElement) {}

  /** Typesetting calls made so far (one per block or list item or table row). */
  get typesetCalls(): number {
    return this._calls;
  }

  /**
   * Show `source` (untrusted Markdown). `streaming`: more text will follow, so the last block
   * is not typeset yet. A render superseded by a newer one stops where it is.
   */
  async render(
    source: string,
    options: IViewOptions,
    streaming: boolean
  ): Promise<void> {
    const generation = ++this._generation;
    if (source === this._source && this._intact()) {
      // the same text (the final display of a streamed answer): only typesetting is left
      await this._typeset(generation, options, streaming);
      return;
    }
    const fragment = await untrustedFragment(source, options);
    if (generation !== this._generation) {
      return;
    }
    if (!this._intact()) {
      this.host.replaceChildren(); // someone else changed the host: start again
      this._blocks = [];
    }
    const fresh = Array.from(fragment.childNodes);
    const keys = fresh.map(keyOf);
    let same = 0;
    while (
      same < keys.length &&
      same < this._blocks.length &&
      this._blocks[same].key === keys[same]
    ) {
      same++;
    }
    for (const block of this._blocks.slice(same)) {
      this.host.removeChild(block.node);
    }
    const added = fresh.slice(same).map((node, i) => ({
      key: keys[same + i],
      node: decorate(node),
      typeset: !(node instanceof HTMLElement) || !MATH.test(keys[same + i])
    }));
    this._blocks = this._blocks.slice(0, same).concat(added);
    this._source = source;
    this.host.append(...added.map(b => b.node));
    await this._typeset(generation, options, streaming);
  }

  private async _typeset(
    generation: number,
    options: IViewOptions,
    streaming: boolean
  ): Promise<void> {
    const typesetter = options.latexTypesetter;
    if (!typesetter) {
      return;
    }
    let last = this._blocks.length;
    if (streaming) {
      // the block still growing: the last element (text nodes between blocks don't count)
      while (
        last > 0 &&
        !(this._blocks[last - 1].node instanceof HTMLElement)
      ) {
        last--;
      }
      last--;
    }
    let start = performance.now();
    for (const block of this._blocks.slice(0, Math.max(0, last))) {
      if (block.typeset) {
        continue;
      }
      for (const unit of units(block.node as HTMLElement)) {
        if (generation !== this._generation) {
          return; // a newer render typesets what is left
        }
        if (performance.now() - start > SLICE_MS) {
          await pause();
          start = performance.now();
          if (generation !== this._generation) {
            return;
          }
        }
        if (MATH.test(unit.textContent || '')) {
          this._calls++;
          await typesetter.typeset(unit);
        }
      }
      block.typeset = true;
    }
  }

  /** Whether the host still holds exactly the blocks this view put there. */
  private _intact(): boolean {
    const children = this.host.childNodes;
    return (
      children.length === this._blocks.length &&
      this._blocks.every((b, i) => children[i] === b.node)
    );
  }

  private _blocks: IBlock[] = [];
  private _source: string | null = null;
  private _generation = 0;
  private _calls = 0;
}

function keyOf(node: Node): string {
  return node instanceof Element
    ? node.outerHTML
    : `#${node.nodeType}:${node.textContent}`;
}

/** The parts of a block typeset one at a time: a list's items, a table's rows, else itself. */
function units(node: HTMLElement): HTMLElement[] {
  const tag = node.localName;
  const parts =
    tag === 'ul' || tag === 'ol'
      ? node.querySelectorAll(':scope > li')
      : tag === 'table'
        ? node.querySelectorAll('tr')
        : null;
  return parts && parts.length > 1
    ? (Array.from(parts) as HTMLElement[])
    : [node];
}

/** Give the browser a turn (paint, input, other renders). */
function pause(): Promise<void> {
  return new Promise(resolve => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => resolve();
    channel.port2.postMessage(null);
  });
}
