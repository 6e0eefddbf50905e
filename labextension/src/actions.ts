/**
 * What a rendered turn may ask of its notebook (codeblocks.ts): insert a code block as a code
 * cell below the cell whose output holds the turn. Found by the DOM, since the mime renderer
 * is not told which cell it renders in.
 */
import { INotebookTracker, NotebookActions } from '@jupyterlab/notebook';

import { IChatActions } from './codeblocks';

export function notebookActions(tracker: INotebookTracker): IChatActions {
  return {
    insertBelow(from: HTMLElement, code: string): boolean {
      let done = false;
      tracker.forEach(panel => {
        if (done || !panel.node.contains(from)) {
          return;
        }
        const notebook = panel.content;
        const index = notebook.widgets.findIndex(
          cell => cell.model.type === 'code' && cell.node.contains(from)
        );
        if (index < 0 || !notebook.model) {
          return;
        }
        notebook.activeCellIndex = index;
        notebook.deselectAll();
        NotebookActions.insertBelow(notebook);
        if (notebook.activeCell?.model.type !== 'code') {
          NotebookActions.changeCellType(notebook, 'code');
        }
        notebook.activeCell?.model.sharedModel.setSource(code);
        done = true;
      });
      return done;
    }
  };
}
