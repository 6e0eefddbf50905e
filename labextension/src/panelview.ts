/**
 * The chat panel's output (jupyter_chat/widgets/panel.py, saved.py): one output holds the
 * widget view and the panel's transcript (`application/vnd.jupyter-chat-panel+json`), kept
 * up to date by the kernel as turns finish. While the widget model is there it shows the
 * live panel only; when it is not (a saved notebook reopened, no kernel, another kernel) it
 * shows the transcript, each turn rendered as a cell's turn. An update of the transcript
 * never re-renders the live panel (its focus, scroll and typing stay).
 */
import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { IRenderMimeRegistry, MimeModel } from '@jupyterlab/rendermime';
import { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { KernelMessage } from '@jupyterlab/services';
import { Panel, Widget } from '@lumino/widgets';

import { MIME_TYPE } from './types';

/** The panel's transcript, as saved.py writes it. */
export const PANEL_MIME = 'application/vnd.jupyter-chat-panel+json';
const WIDGET_MIME = 'application/vnd.jupyter.widget-view+json';
/** Ahead of the widget renderer (-10), so this output is ours to show. */
const RANK = -11;

interface ISavedTurn {
  data?: { [mime: string]: unknown };
  metadata?: { [key: string]: unknown };
}

/** What is used here of a code cell's output list (@jupyterlab/outputarea's model). */
interface IOutputs {
  readonly length: number;
  get(index: number): {
    type: string;
    data: { [mime: string]: unknown };
    executionCount?: number | null;
  };
  set(index: number, output: { [key: string]: unknown }): void;
}

interface ISavedPanel {
  version?: number;
  thread?: string;
  turns?: ISavedTurn[];
}

/** The live widget view while its model exists, else the saved transcript. */
export class ChatPanelOutput extends Panel implements IRenderMime.IRenderer {
  constructor(rendermime: IRenderMimeRegistry) {
    super();
    this._rendermime = rendermime;
    this.addClass('jp-ChatPanelOutput');
    this._saved.addClass('jp-ChatPanelOutput-saved');
    this.addWidget(this._saved);
  }

  async renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    const view = model.data[WIDGET_MIME] as { model_id?: string } | undefined;
    const id = (model.trusted && view && view.model_id) || '';
    this._data = (model.data[PANEL_MIME] || {}) as ISavedPanel;
    this._dirty = true;
    this._liveModel = id ? model : null;
    if (id !== this._modelId) {
      this._dropLive();
      this._modelId = id;
      if (id) {
        this._createLive();
      }
    }
    await this._sync();
  }

  dispose(): void {
    this._dropLive();
    if (this._timer !== null) {
      window.clearTimeout(this._timer);
      this._timer = null;
    }
    super.dispose();
  }

  /** The widget view, through this notebook's widget renderer (once there is one). */
  private _createLive(): void {
    const factory = this._rendermime.getFactory(WIDGET_MIME);
    if (!factory || !this._liveModel) {
      this._watch();
      return;
    }
    this._factory = factory;
    this._wait = 125;
    const live = this._rendermime.createRenderer(WIDGET_MIME);
    live.addClass('jp-ChatPanelOutput-live');
    this.insertWidget(0, live);
    this._live = live;
    this._observer = new MutationObserver(() => void this._sync());
    this._observer.observe(live.node, { childList: true, subtree: true });
    // not awaited: with no kernel the widget manager may never answer
    void live.renderModel(this._liveModel).then(() => this._sync());
  }

  /**
   * While the view waits for a widget manager: the widget extension hands its manager only
   * to the renderers it finds directly in output areas, then registers a renderer bound to
   * it; once that is there, the view is made again with it.
   */
  private _watch(): void {
    if (this._timer !== null || this.isDisposed) {
      return;
    }
    this._wait = Math.min(this._wait * 2, 4000);
    this._timer = window.setTimeout(() => {
      this._timer = null;
      if (this.isDisposed || !this._liveModel || this._isLive()) {
        return;
      }
      const factory = this._rendermime.getFactory(WIDGET_MIME);
      if (factory && factory !== this._factory) {
        this._dropLive();
        this._createLive();
      } else if (!this._live || this._waiting()) {
        this._watch();
      }
    }, this._wait);
  }

  private _isLive(): boolean {
    return !!this._live && !!this._live.node.querySelector('.jp-ChatPanel');
  }

  private _waiting(): boolean {
    return !!this._live?.node.textContent?.startsWith('Loading widget');
  }

  /** Show the live panel if it rendered, else the transcript (rendered when first shown). */
  private async _sync(): Promise<void> {
    const live = this._isLive();
    if (!live && this._waiting()) {
      this._watch();
    }
    this._live?.setHidden(!live);
    this._saved.setHidden(live);
    if (!live && this._dirty) {
      this._dirty = false;
      await this._renderSaved();
    }
  }

  private async _renderSaved(): Promise<void> {
    for (const w of [...this._saved.widgets]) {
      w.dispose();
    }
    const turns = Array.isArray(this._data.turns) ? this._data.turns : [];
    const head = new Widget();
    head.addClass('jp-ChatPanelOutput-head');
    const count = `${turns.length} turn${turns.length === 1 ? '' : 's'}`;
    head.node.textContent =
      `Chat panel · thread ${String(this._data.thread ?? '')} · ${count}` +
      ' (saved; run the cell for a live panel)';
    this._saved.addWidget(head);
    for (const turn of turns) {
      const data = (turn && turn.data) || {};
      if (!data[MIME_TYPE] || !this._rendermime.getFactory(MIME_TYPE)) {
        continue;
      }
      const renderer = this._rendermime.createRenderer(MIME_TYPE);
      this._saved.addWidget(renderer);
      await renderer.renderModel(
        new MimeModel({
          data: { [MIME_TYPE]: data[MIME_TYPE] } as any,
          metadata: (turn.metadata || {}) as any,
          trusted: true // the turn renderer sanitizes everything from a reply
        })
      );
    }
  }

  private _dropLive(): void {
    this._observer?.disconnect();
    this._observer = null;
    this._live?.dispose();
    this._live = null;
  }

  private _rendermime: IRenderMimeRegistry;
  private _saved = new Panel();
  private _live: IRenderMime.IRenderer | null = null;
  private _observer: MutationObserver | null = null;
  private _modelId = '';
  private _liveModel: IRenderMime.IMimeModel | null = null;
  private _factory: IRenderMime.IRendererFactory | undefined = undefined;
  private _timer: number | null = null;
  private _wait = 125;
  private _data: ISavedPanel = {};
  private _dirty = false;
}

/** Give a notebook's outputs the panel renderer (with that notebook's widget renderer). */
function addTo(panel: NotebookPanel): void {
  const rendermime = panel.content.rendermime;
  if (rendermime.getFactory(PANEL_MIME)) {
    return;
  }
  rendermime.addFactory(
    {
      // the transcript is sanitized; the live view is shown for trusted outputs only
      safe: true,
      mimeTypes: [PANEL_MIME],
      createRenderer: () => new ChatPanelOutput(rendermime)
    },
    RANK
  );
}

/**
 * An update of a panel's transcript reaches the output area of the cell that showed it
 * (while that page holds the cell's execution); after a reload, or if it went astray, it is
 * applied here to every output of that panel whose transcript differs.
 */
function followUpdates(panel: NotebookPanel): void {
  panel.sessionContext.iopubMessage.connect((_, msg) => {
    if (msg.header.msg_type !== 'update_display_data') {
      return;
    }
    const content =
      msg.content as KernelMessage.IUpdateDisplayDataMsg['content'];
    const data = content.data || {};
    const view = data[WIDGET_MIME] as { model_id?: string } | undefined;
    if (!data[PANEL_MIME] || !view || !view.model_id) {
      return;
    }
    const saved = JSON.stringify(data[PANEL_MIME]);
    // after the output area has handled it (it may be the one that shows the panel)
    window.setTimeout(() => {
      for (const cell of panel.content.widgets) {
        if (cell.model.type !== 'code') {
          continue;
        }
        const outputs = (cell.model as unknown as { outputs: IOutputs })
          .outputs;
        for (let i = 0; i < outputs.length; i++) {
          const out = outputs.get(i);
          const shown = out.data[WIDGET_MIME] as
            { model_id?: string } | undefined;
          if (
            shown?.model_id === view.model_id &&
            JSON.stringify(out.data[PANEL_MIME]) !== saved
          ) {
            outputs.set(i, {
              output_type: out.type,
              data,
              metadata: content.metadata || {},
              ...(out.type === 'execute_result'
                ? { execution_count: out.executionCount }
                : {})
            });
          }
        }
      }
    }, 0);
  });
}

/** The chat panel's output in every notebook: live, or its saved transcript. */
export const panelOutputPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-chat:panel-output',
  description:
    'Shows a chat panel live, or its saved transcript without the widget',
  autoStart: true,
  requires: [INotebookTracker],
  activate: (_app: JupyterFrontEnd, tracker: INotebookTracker) => {
    const add = (panel: NotebookPanel) => {
      addTo(panel);
      followUpdates(panel);
    };
    tracker.forEach(add);
    tracker.widgetAdded.connect((_, panel) => add(panel));
  }
};
