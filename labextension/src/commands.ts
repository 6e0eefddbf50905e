/**
 * Commands: insert a %%chat cell, open the chat panel, re-run a %%chat cell with a new seed.
 * They are in the command palette, the notebook toolbar (schema/plugin.json) and, for
 * inserting a cell, a shortcut in notebook command mode (Shift C; Accel Shift C is the
 * command palette).
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import {
  INotebookTracker,
  NotebookActions,
  NotebookPanel
} from '@jupyterlab/notebook';

import { chatIcon, diceIcon, panelIcon } from './icons';

export namespace CommandIDs {
  export const insertCell = 'jupyter-chat:insert-cell';
  export const openPanel = 'jupyter-chat:open-panel';
  export const rerunNewSeed = 'jupyter-chat:rerun-new-seed';
}

const CATEGORY = 'Jupyter Chat';
const CHAT_CELL = /^\s*%%chat(\s|$)/;
const SEED_OPTION = /(^|\s)--seed(=|\s+)\S*/;

/** Whether a cell's source is a %%chat cell. */
export function isChatCell(source: string): boolean {
  return CHAT_CELL.test(source);
}

/** The cell with `--seed N` in its first line (replacing any seed there). */
export function withSeed(source: string, seed: number): string {
  const cut = source.indexOf('\n');
  const first = cut < 0 ? source : source.slice(0, cut);
  const rest = cut < 0 ? '' : source.slice(cut);
  const line = SEED_OPTION.test(first)
    ? first.replace(SEED_OPTION, `$1--seed ${seed}`)
    : `${first.replace(/\s+$/, '')} --seed ${seed}`;
  return line + rest;
}

/** A fresh seed: a random 31-bit integer (every provider takes that range). */
export function newSeed(): number {
  const buf = new Uint32Array(1);
  crypto.getRandomValues(buf);
  return buf[0] & 0x7fffffff;
}

export function addCommands(
  app: JupyterFrontEnd,
  tracker: INotebookTracker,
  palette: ICommandPalette | null
): void {
  const { commands, shell } = app;
  const current = (): NotebookPanel | null => {
    const widget = tracker.currentWidget;
    if (widget && widget === shell.currentWidget) {
      widget.activate();
    }
    return widget;
  };
  const hasNotebook = () => tracker.currentWidget !== null;

  /** Insert a code cell below the active one with `source`; returns the panel. */
  const insertCode = async (source: string): Promise<NotebookPanel | null> => {
    const panel = current();
    if (!panel) {
      return null;
    }
    const notebook = panel.content;
    NotebookActions.insertBelow(notebook);
    if (notebook.activeCell?.model.type !== 'code') {
      NotebookActions.changeCellType(notebook, 'code');
    }
    notebook.activeCell?.model.sharedModel.setSource(source);
    return panel;
  };

  commands.addCommand(CommandIDs.insertCell, {
    label: args => (args.toolbar ? '' : 'Insert a %%chat Cell Below'),
    caption: 'Insert a code cell starting with %%chat below the active cell',
    icon: chatIcon,
    isEnabled: hasNotebook,
    execute: async () => {
      const panel = await insertCode('%%chat\n');
      const cell = panel?.content.activeCell;
      if (!panel || !cell) {
        return;
      }
      panel.content.mode = 'edit';
      await cell.ready;
      cell.editor?.setCursorPosition({ line: 1, column: 0 });
      cell.editor?.focus();
    }
  });

  commands.addCommand(CommandIDs.openPanel, {
    label: args => (args.toolbar ? '' : 'Open the Chat Panel'),
    caption: 'Insert and run a %chat panel cell below the active cell',
    icon: panelIcon,
    isEnabled: hasNotebook,
    execute: async () => {
      const panel = await insertCode('%chat panel');
      if (panel) {
        await NotebookActions.run(panel.content, panel.sessionContext);
      }
    }
  });

  commands.addCommand(CommandIDs.rerunNewSeed, {
    label: args => (args.toolbar ? '' : 'Re-run %%chat Cell with a New Seed'),
    caption: 'Set a new random --seed on the active %%chat cell and run it',
    icon: diceIcon,
    isEnabled: () => {
      const cell = tracker.activeCell;
      return (
        !!cell &&
        cell.model.type === 'code' &&
        isChatCell(cell.model.sharedModel.getSource())
      );
    },
    execute: async () => {
      const panel = current();
      const cell = panel?.content.activeCell;
      if (!panel || !cell || cell.model.type !== 'code') {
        return;
      }
      const source = cell.model.sharedModel.getSource();
      if (!isChatCell(source)) {
        return;
      }
      const seed = newSeed();
      cell.model.sharedModel.setSource(withSeed(source, seed));
      await NotebookActions.run(panel.content, panel.sessionContext);
      return seed;
    }
  });

  // the toolbar shows a cell is a chat cell only when it is: refresh on cell changes
  tracker.activeCellChanged.connect(() =>
    commands.notifyCommandChanged(CommandIDs.rerunNewSeed)
  );
  tracker.selectionChanged.connect(() =>
    commands.notifyCommandChanged(CommandIDs.rerunNewSeed)
  );

  if (palette) {
    for (const command of [
      CommandIDs.insertCell,
      CommandIDs.openPanel,
      CommandIDs.rerunNewSeed
    ]) {
      palette.addItem({ command, category: CATEGORY });
    }
  }
}
