/**
 * The renderer of a finished comparison (`application/vnd.jupyter-chat.compare+json`, made by
 * jupyter_chat/widgets/compare.py): the prompt, the totals, and the columns in a grid that
 * wraps at narrow widths, each column's turn rendered by the turn renderer, as the live
 * columns were (code framed and highlighted with Copy and Insert below, math, the footer and
 * its Copy). Each column's run record is in the output's metadata (`jupyter_chat_columns`). Saved notebooks render it the same without a kernel or widget state; other
 * frontends show the bundle's sanitized `text/markdown`. Each column after the first carries
 * its diff against the first, worked out by the kernel: its label says `same as column 1` or
 * how many words differ, and the changed words are marked in its answer (worddiff.ts), as the
 * kernel's HTML marks them.
 */
import { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { Panel, Widget } from '@lumino/widgets';

import { ChatTurnWidget } from './turn';
import { IRunRecord, ITurn, MIME_TYPE } from './types';
import { diffNote, IColumnDiff, markDiff } from './worddiff';

/** The MIME type of a finished comparison. */
export const COMPARE_MIME_TYPE = 'application/vnd.jupyter-chat.compare+json';

export interface ICompareColumn {
  /** What tells this column apart: the model, `seed 2`, `T=0.7`. */
  label?: string;
  /** The column's structured turn, as a turn's output carries it. */
  turn?: ITurn;
  /** Its diff against the first column (none on the first). */
  diff?: IColumnDiff;
}

/** The output's metadata key holding each column's run record, in order. */
export const COLUMNS_KEY = 'jupyter_chat_columns';

export interface ICompare {
  version?: number;
  prompt?: string | null;
  totals?: string;
  columns?: ICompareColumn[];
}

export class ChatCompareWidget extends Panel implements IRenderMime.IRenderer {
  constructor(options: IRenderMime.IRendererOptions) {
    super();
    this._options = options;
    this.addClass('jp-ChatCompare-static');
    this.addClass('jupyter-chat-compare');
  }

  async renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    const data = (model.data[COMPARE_MIME_TYPE] || {}) as unknown as ICompare;
    for (const child of Array.from(this.widgets)) {
      child.dispose();
    }
    const head = new Widget();
    head.addClass('jp-ChatCompare-head');
    if (typeof data.prompt === 'string' && data.prompt) {
      const prompt = el('details', 'jp-ChatCompare-prompt');
      const summary = el('summary', 'jp-ChatTurn-summary');
      summary.append(
        el('span', 'jp-ChatTurn-label', 'Prompt'),
        el('span', 'jp-ChatTurn-preview', preview(data.prompt))
      );
      prompt.append(
        summary,
        el('div', 'jp-ChatCompare-promptText', data.prompt)
      );
      head.node.append(prompt);
    }
    if (typeof data.totals === 'string' && data.totals) {
      head.node.append(
        el('div', 'jp-ChatCompare-totals jupyter-chat-note', data.totals)
      );
    }
    this.addWidget(head);

    const grid = new Panel();
    grid.addClass('jp-ChatCompare-grid');
    grid.addClass('jupyter-chat-grid');
    this.addWidget(grid);
    const columns = Array.isArray(data.columns) ? data.columns : [];
    const meta = (model.metadata || {})[COLUMNS_KEY];
    const records = Array.isArray(meta)
      ? (meta as unknown as IRunRecord[])
      : [];
    const rendered: Promise<void>[] = [];
    for (const [i, column] of columns.entries()) {
      const box = new Panel();
      box.addClass('jp-ChatCompare-column');
      box.addClass('jupyter-chat-column');
      const label = new Widget();
      label.addClass('jp-ChatCompare-label');
      const strong = document.createElement('strong');
      strong.textContent = String(column.label ?? '');
      label.node.append(strong);
      const note = diffNote(column.diff);
      if (note) {
        const shown = el('span', 'jp-ChatCompare-diffNote', note);
        shown.dataset.same = column.diff?.same ? 'yes' : 'no';
        label.node.append(' ', shown);
      }
      box.addWidget(label);
      const turn = new ChatTurnWidget({
        ...this._options,
        mimeType: MIME_TYPE
      });
      turn.addClass('jp-OutputArea-output'); // as a turn sits in a cell's output
      box.addWidget(turn);
      grid.addWidget(box);
      const record =
        records[i] && typeof records[i] === 'object' ? records[i] : {};
      rendered.push(
        turn
          .renderModel(columnModel(column, record, model.trusted))
          .then(() => {
            const answer = turn.node.querySelector('.jp-ChatTurn-answer');
            // a parsed answer shows its raw JSON folded: the kernel marks none there either
            if (
              answer instanceof HTMLElement &&
              column.diff &&
              !column.turn?.parsed
            ) {
              markDiff(answer, String(column.turn?.answer ?? ''), column.diff);
            }
          })
      );
    }
    await Promise.all(rendered);
  }

  private _options: IRenderMime.IRendererOptions;
}

/** A column's turn as the model the turn renderer takes. */
function columnModel(
  column: ICompareColumn,
  record: IRunRecord,
  trusted: boolean
): IRenderMime.IMimeModel {
  type Json = IRenderMime.IMimeModel['data'];
  return {
    trusted,
    data: { [MIME_TYPE]: (column.turn || {}) as unknown as Json },
    metadata: { jupyter_chat: record as unknown as Json },
    setData: () => undefined
  };
}

function preview(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > 80 ? line.slice(0, 79) + '…' : line;
}

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className: string,
  text?: string
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  node.className = className;
  if (text !== undefined) {
    node.textContent = text;
  }
  return node;
}
