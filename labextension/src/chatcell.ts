/**
 * A %%chat cell's body is a prompt, not Python: its editor highlights it as JupyterLab's
 * Markdown cells do (GFM with math), so an apostrophe no longer opens a string that turns the
 * rest of the line red. A cell's editor takes its language from its model's mimeType, which
 * the notebook sets from the kernel's language; this sets it to Markdown for the code cells
 * whose first line is %%chat, again whenever the notebook resets it, and back to the
 * notebook's language when the cell stops being a chat cell. Nothing is saved: the mimeType
 * is not part of the notebook file.
 */
import { NotebookPanel } from '@jupyterlab/notebook';

import { isChatCell } from './commands';

/** The language of JupyterLab's Markdown cells (registered by Lab itself). */
export const CHAT_CELL_MIME = 'text/x-ipythongfm';

type CellModel =
  NonNullable<NotebookPanel['content']['model']>['cells'] extends Iterable<
    infer M
  >
    ? M
    : never;

/** Keep every %%chat cell of `panel` highlighted as Markdown. */
export function highlightChatCells(panel: NotebookPanel): void {
  const seen = new WeakSet<CellModel>();
  const follow = (model: CellModel) => {
    if (seen.has(model) || model.type !== 'code') {
      return;
    }
    seen.add(model);
    const apply = () => {
      const chat = isChatCell(model.sharedModel.getSource());
      if (chat && model.mimeType !== CHAT_CELL_MIME) {
        model.mimeType = CHAT_CELL_MIME;
      } else if (!chat && model.mimeType === CHAT_CELL_MIME) {
        model.mimeType = panel.content.codeMimetype;
      }
    };
    model.mimeTypeChanged.connect(apply);
    model.contentChanged.connect(apply);
    apply();
  };
  const followAll = () => {
    for (const model of panel.content.model?.cells ?? []) {
      follow(model);
    }
  };
  void panel.context.ready.then(() => {
    followAll();
    panel.content.model?.cells.changed.connect(followAll);
  });
}
