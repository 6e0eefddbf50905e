/**
 * jupyter-chat's JupyterLab extension: the frontend plugin (commands, toolbar, shortcut,
 * the `jupyter_chat` comm). The renderer of chat turns is the mime extension in mime.ts.
 */
import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { IConsoleTracker } from '@jupyterlab/console';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';

import { notebookActions } from './actions';
import { highlightChatCells } from './chatcell';
import { setChatActions } from './codeblocks';
import { watchSession } from './comm';
import { addCommands, CommandIDs } from './commands';
import { panelOutputPlugin } from './panelview';
import { streamRegistry } from './registry';

export { CommandIDs };

/** Commands in the palette and the notebook toolbar, and the insert-cell shortcut. */
const commandsPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-chat:plugin',
  description: 'Commands to insert, run and re-seed %%chat cells',
  autoStart: true,
  requires: [INotebookTracker],
  optional: [ICommandPalette],
  activate: (
    app: JupyterFrontEnd,
    tracker: INotebookTracker,
    palette: ICommandPalette | null
  ) => {
    addCommands(app, tracker, palette);
    setChatActions(notebookActions(tracker)); // "Insert below" on an answer's code blocks
    tracker.forEach(highlightChatCells);
    tracker.widgetAdded.connect((_, panel) => highlightChatCells(panel));
  }
};

/** The `jupyter_chat` comm on every notebook's and console's kernel: streamed text. */
const commPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-chat:comm',
  description: 'Receives streamed %%chat text from the kernel (protocol v1)',
  autoStart: true,
  optional: [INotebookTracker, IConsoleTracker],
  activate: (
    app: JupyterFrontEnd,
    notebooks: INotebookTracker | null,
    consoles: IConsoleTracker | null
  ) => {
    streamRegistry(); // create it now, so both entry points find the same one
    const notebook = (panel: NotebookPanel) =>
      watchSession(panel.sessionContext, async () => {
        await panel.context.ready;
        return mentionsChat(panel);
      });
    notebooks?.forEach(notebook);
    notebooks?.widgetAdded.connect((_, panel) => notebook(panel));
    consoles?.forEach(panel =>
      watchSession(panel.sessionContext, async () => false)
    );
    consoles?.widgetAdded.connect((_, panel) =>
      watchSession(panel.sessionContext, async () => false)
    );
  }
};

/** Whether a notebook's code mentions jupyter_chat (its kernel may have loaded it). */
function mentionsChat(panel: NotebookPanel): boolean {
  const cells = panel.content.model?.sharedModel.cells ?? [];
  return cells.some(
    cell => cell.cell_type === 'code' && /jupyter_chat/.test(cell.getSource())
  );
}

export default [commandsPlugin, commPlugin, panelOutputPlugin];
