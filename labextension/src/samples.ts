/**
 * The renderer of a samples cell's output (`application/vnd.jupyter-chat.samples+json`, made
 * by jupyter_chat/display/samples.py): how far the samples agree, the agreement per field of
 * a structured answer, a strip with one button per sample, and the sample it names rendered
 * as a turn (the most common answer's first sample to begin with), then the footer. Each
 * sample's run record is in the output's metadata (`jupyter_chat_samples`). Saved notebooks
 * render it the same without a kernel; other frontends show the bundle's `text/markdown`,
 * where each sample is a `<details>`.
 */
import { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { Panel, Widget } from '@lumino/widgets';

import {
  agreementHead,
  drawStrip,
  el,
  fieldsTable,
  IAgreement,
  IDrawButton
} from './draws';
import { ChatTurnWidget } from './turn';
import { IChatMessage, IRunRecord, ITurn, MIME_TYPE } from './types';

/** The MIME type of a samples cell's output. */
export const SAMPLES_MIME_TYPE = 'application/vnd.jupyter-chat.samples+json';

/** The output's metadata key holding each sample's run record, in order. */
export const SAMPLES_KEY = 'jupyter_chat_samples';

export interface ISample {
  index?: number;
  seed?: number | null;
  group?: string | null;
  answer?: string;
  reasoning?: string;
  parsed?: unknown;
  tokens?: number | null;
  finish_reason?: string | null;
  error?: string | null;
  filed?: boolean;
}

export interface ISamples {
  version?: number;
  messages?: IChatMessage[];
  agreement?: IAgreement;
  schema?: string | null;
  samples?: ISample[];
  footer?: string;
}

/** `sample 3 · seed 123 · answer B · filed`, as the kernel labels it. */
export function sampleLabel(s: ISample, i: number): string {
  const parts = [`sample ${s.index ?? i}`];
  if (typeof s.seed === 'number') {
    parts.push(`seed ${s.seed}`);
  }
  if (s.error) {
    parts.push('failed');
  } else if (s.group) {
    parts.push(`answer ${s.group}`);
  }
  if (s.filed) {
    parts.push('filed');
  }
  return parts.join(' · ');
}

export class ChatSamplesWidget extends Panel implements IRenderMime.IRenderer {
  constructor(options: IRenderMime.IRendererOptions) {
    super();
    this._options = options;
    this.addClass('jp-ChatSamples');
  }

  async renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    const data = (model.data[SAMPLES_MIME_TYPE] || {}) as unknown as ISamples;
    for (const child of Array.from(this.widgets)) {
      child.dispose();
    }
    this._data = data;
    this._trusted = model.trusted;
    const meta = (model.metadata || {})[SAMPLES_KEY];
    this._records = Array.isArray(meta)
      ? (meta as unknown as IRunRecord[])
      : [];
    const samples = Array.isArray(data.samples) ? data.samples : [];
    const agreement = data.agreement || {};

    const head = new Widget();
    head.addClass('jp-ChatSamples-top');
    head.node.append(agreementHead(agreement, 'sample'));
    const fields = fieldsTable(agreement);
    if (fields) {
      head.node.append(fields);
    }
    const first = agreement.common?.members?.[0] ?? 0;
    const buttons: IDrawButton[] = samples.map((s, i) => ({
      text: String(s.index ?? i),
      label: sampleLabel(s, i),
      group: s.group || '',
      filed: !!s.filed,
      failed: !!s.error
    }));
    head.node.append(drawStrip(buttons, first, i => void this._show(i)));
    this.addWidget(head);

    this._caption = new Widget();
    this._caption.addClass('jp-ChatSamples-caption');
    this.addWidget(this._caption);
    this._turn = new ChatTurnWidget({ ...this._options, mimeType: MIME_TYPE });
    this._turn.addClass('jp-OutputArea-output'); // as a turn sits in a cell's output
    this.addWidget(this._turn);

    const foot = new Widget();
    foot.addClass('jp-ChatSamples-footer');
    foot.node.textContent = String(data.footer ?? '');
    this.addWidget(foot);
    if (samples.length) {
      await this._show(Math.min(first, samples.length - 1));
    }
  }

  /** Show sample `i` as a turn, under its label. */
  private async _show(i: number): Promise<void> {
    const data = this._data;
    const s = (data.samples || [])[i] || {};
    const agreement = data.agreement || {};
    this.node.dataset.shown = String(i);
    const common = agreement.common?.members?.includes(i)
      ? ` · the most common answer (${agreement.common?.count} of ${agreement.answered})`
      : '';
    this._caption.node.replaceChildren(
      el('strong', '', sampleLabel(s, i)),
      document.createTextNode(common)
    );
    const turn: ITurn = {
      version: 1,
      status: s.error ? 'error' : 'complete',
      messages: data.messages || [],
      answer: s.answer || '',
      reasoning: s.reasoning || '',
      tool_calls: [],
      error: s.error || null,
      parsed:
        data.schema && s.parsed !== undefined
          ? { schema: data.schema, value: s.parsed }
          : null
    };
    // the samples view claims no signature (each sample's state is in its record, in the
    // output's metadata): a turn shown here without its signed block would read as invalid
    const record: IRunRecord =
      this._records[i] && typeof this._records[i] === 'object'
        ? { ...this._records[i] }
        : { params: { seed: s.seed } };
    delete record.signature;
    type Json = IRenderMime.IMimeModel['data'];
    await this._turn.renderModel({
      trusted: this._trusted,
      data: { [MIME_TYPE]: turn as unknown as Json },
      metadata: { jupyter_chat: record as unknown as Json },
      setData: () => undefined
    });
  }

  private _options: IRenderMime.IRendererOptions;
  private _data: ISamples = {};
  private _trusted = false;
  private _records: IRunRecord[] = [];
  private _caption!: Widget;
  private _turn!: ChatTurnWidget;
}
