/**
 * The renderer of one chat turn: the prompt (folded), the reasoning (folded), the answer as
 * Markdown, tool calls as cards, a state banner when the turn did not complete, and a footer
 * with the run record (model, seed, tokens, time, replay, signature) and a copy button.
 *
 * A turn that streams (status "streaming" with a turn_id) takes its text from the stream
 * registry, fed by the comm, and is re-rendered at most every ~50 ms, block by block with
 * math typeset as blocks settle (view.ts); the final display replaces it all.
 */
import { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { copyIcon } from '@jupyterlab/ui-components';
import { Widget } from '@lumino/widgets';

import { renderChoices } from './choices';
import { copyText, flashLabel } from './clipboard';
import { footerItems } from './footer';
import { logprobsItems, TokenView } from './logprobs';
import { renderParsed } from './parsed';
import { IStreamState, streamRegistry } from './registry';
import { badge, onSignersChanged } from './signature';
import {
  IChatMessage,
  IRunRecord,
  IToolCall,
  ITurn,
  MIME_TYPE,
  TurnStatus
} from './types';
import { MarkdownView } from './view';

/** Milliseconds between two renders of a streaming answer, growing with its length. */
export function streamInterval(chars: number): number {
  return 50 + Math.min(450, Math.floor(chars / 1000) * 10);
}

const STATUS_TEXT: Record<Exclude<TurnStatus, 'complete'>, string> = {
  streaming: 'Streaming…',
  incomplete: 'Incomplete: the answer was cut off.',
  interrupted:
    'Interrupted: the answer stops where the kernel was interrupted.',
  error: 'Error: the request failed.'
};

export class ChatTurnWidget extends Widget implements IRenderMime.IRenderer {
  constructor(options: IRenderMime.IRendererOptions) {
    super();
    this._options = options;
    this.addClass('jp-ChatTurn');
    this._build();
    // a kernel that says which signers it trusts: check this turn's signature again
    this._unsigners = onSignersChanged(() => this._refreshFooter());
  }

  /** The answer shown now (what the copy button copies). */
  get answer(): string {
    return this._answer;
  }

  async renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    const turn = (model.data[MIME_TYPE] || {}) as unknown as ITurn;
    const status: TurnStatus = turn.status || 'complete';
    const live =
      status === 'streaming' &&
      typeof turn.turn_id === 'string' &&
      !!turn.turn_id;
    if (!live || turn.turn_id !== this._turnId) {
      this._unsubscribe();
    }
    this._turn = turn;
    this._model = model;
    this._status = status;
    this.node.dataset.status = status;
    this._renderPrompt(turn.messages || []);
    // the run record is in the output's metadata (older outputs: also in the data)
    const run = ((model.metadata || {})['jupyter_chat'] || {}) as IRunRecord;
    const record = { ...(turn.record || {}), ...run };
    this._renderFooter(turn, record, status, turn.usage);
    this._renderBanner(status, { ...turn, record });
    renderChoices(this._choices, status === 'streaming' ? {} : record, {
      sanitizer: this._options.sanitizer,
      markdownParser: this._options.markdownParser,
      latexTypesetter: this._options.latexTypesetter
    });
    if (live) {
      const registry = streamRegistry();
      if (this._turnId !== turn.turn_id) {
        this._turnId = turn.turn_id!;
        this._stop = registry.subscribe(this._turnId, state =>
          this._onStream(state)
        );
      }
      this.node.dataset.stream = 'live';
      const state = registry.state(this._turnId);
      this._setText(turn, state);
      await this._flush();
      return;
    }
    delete this.node.dataset.stream;
    if (this._timer !== null) {
      window.clearTimeout(this._timer); // a streaming render still due: the final one replaces it
      this._timer = null;
    }
    this._setText(turn, undefined);
    await this._flush();
  }

  dispose(): void {
    this._unsigners();
    this._unsubscribe();
    if (this._timer !== null) {
      window.clearTimeout(this._timer);
      this._timer = null;
    }
    super.dispose();
  }

  /** Text from the bundle, plus whatever the comm has appended so far. */
  private _setText(turn: ITurn, state: IStreamState | undefined): void {
    this._answer = (turn.answer || '') + (state ? state.answer : '');
    this._reasoning = (turn.reasoning || '') + (state ? state.reasoning : '');
    this._toolCalls = (state && state.toolCalls) || turn.tool_calls || [];
    if (state && state.deltas) {
      this.node.dataset.deltas = String(state.deltas);
    }
  }

  private _onStream(state: IStreamState): void {
    if (this._status !== 'streaming' || !this._turn) {
      return;
    }
    this._setText(this._turn, state);
    this._schedule();
  }

  /** Render soon, but not more often than every streamInterval() ms. */
  private _schedule(): void {
    if (this._timer !== null || this.isDisposed) {
      return;
    }
    const wait = Math.max(
      0,
      this._lastFlush + streamInterval(this._answer.length) - performance.now()
    );
    this._timer = window.setTimeout(() => {
      this._timer = null;
      void this._flush();
    }, wait);
  }

  /** Render the answer, reasoning and tool calls as they are now (one render at a time). */
  private async _flush(): Promise<void> {
    if (this._rendering) {
      this._again = true;
      return this._rendering;
    }
    this._rendering = (async () => {
      do {
        this._again = false;
        await this._renderText();
        this._lastFlush = performance.now();
      } while (this._again && !this.isDisposed && this._status !== 'streaming');
    })();
    try {
      await this._rendering;
    } finally {
      this._rendering = null;
    }
    if (this._again && !this.isDisposed) {
      this._again = false;
      this._schedule();
    }
  }

  private async _renderText(): Promise<void> {
    const streaming = this._status === 'streaming';
    const options = {
      sanitizer: this._options.sanitizer,
      markdownParser: this._options.markdownParser,
      latexTypesetter: this._options.latexTypesetter
    };
    const answer = this._answer;
    const reasoning = this._reasoning;
    this._renderTools(this._toolCalls);

    this._reasoningBox.hidden = !reasoning;
    const n = countWords(reasoning);
    this._reasoningCount.textContent = reasoning
      ? `${n} word${n === 1 ? '' : 's'}`
      : '';
    this._reasoningBox.classList.toggle(
      'jp-mod-streaming',
      streaming && !answer
    );
    if (this._reasoningBox.open || !streaming) {
      if (reasoning !== this._shownReasoning) {
        await this._reasoningView.render(reasoning, options, streaming);
        this._shownReasoning = reasoning;
      }
    }

    this._waiting.hidden = !(
      streaming &&
      !answer &&
      !reasoning &&
      !this._toolCalls.length
    );
    const parsed = streaming ? null : this._turn?.parsed;
    this._parsed.replaceChildren();
    this._parsed.hidden = !parsed;
    if (parsed) {
      // the validated value; the answer it came from, folded, as the JSON it is
      this._parsed.append(renderParsed(parsed.value, String(parsed.schema)));
      const raw = el('details', 'jp-ChatTurn-raw');
      raw.append(
        el('summary', 'jp-ChatTurn-summary', 'Raw answer'),
        el('pre', 'jp-ChatTurn-rawText', answer)
      );
      this._answerBox.replaceChildren(raw);
      this._shownAnswer = null;
    } else if (answer !== this._shownAnswer || !streaming) {
      await this._answerView.render(answer, options, streaming);
      this._shownAnswer = answer;
    }
    this._answerBox.hidden = !answer;
    // the answer shaded token by token, once whole (the final display holds the tokens)
    this._tokenView.update(
      streaming || parsed ? null : this._turn?.logprobs,
      answer,
      !!this._turn?.signed
    );
    this._copy.disabled = !answer;
    this._copy.hidden = this._status === 'error'; // a failed turn has no answer to copy
  }

  private _unsubscribe(): void {
    if (this._stop) {
      this._stop();
      this._stop = null;
    }
    if (this._turnId) {
      streamRegistry().finish(this._turnId);
      this._turnId = '';
    }
  }

  private _build(): void {
    const node = this.node;

    this._prompt = el('details', 'jp-ChatTurn-prompt');
    const summary = el('summary', 'jp-ChatTurn-summary');
    summary.append(el('span', 'jp-ChatTurn-label', 'Prompt'));
    this._promptPreview = el('span', 'jp-ChatTurn-preview');
    summary.append(this._promptPreview);
    this._prompt.append(summary);
    this._messages = el('div', 'jp-ChatTurn-messages');
    this._prompt.append(this._messages);

    this._reasoningBox = el('details', 'jp-ChatTurn-reasoning');
    const rsummary = el('summary', 'jp-ChatTurn-summary');
    rsummary.append(el('span', 'jp-ChatTurn-label', 'Reasoning'));
    this._reasoningCount = el('span', 'jp-ChatTurn-preview');
    rsummary.append(this._reasoningCount);
    this._reasoningBox.append(rsummary);
    this._reasoningBody = el(
      'div',
      'jp-ChatTurn-reasoningBody jp-RenderedHTMLCommon jp-RenderedMarkdown'
    );
    this._reasoningBox.append(this._reasoningBody);
    this._reasoningView = new MarkdownView(this._reasoningBody);
    this._reasoningBox.hidden = true;
    this._reasoningBox.addEventListener('toggle', () => {
      if (this._reasoningBox.open && this._reasoning !== this._shownReasoning) {
        void this._flush();
      }
    });

    this._waiting = el(
      'div',
      'jp-ChatTurn-waiting',
      'Waiting for the first token…'
    );
    this._waiting.hidden = true;
    this._answerBox = el(
      'div',
      'jp-ChatTurn-answer jp-RenderedHTMLCommon jp-RenderedMarkdown'
    );
    this._answerView = new MarkdownView(this._answerBox);
    this._tokenView = new TokenView(
      el('div', 'jp-ChatTurn-logprobs'),
      this._answerBox
    );
    this._parsed = el('div', 'jp-ChatTurn-parsedBox');
    this._parsed.hidden = true;
    this._tools = el('div', 'jp-ChatTurn-tools');
    this._choices = el('div', 'jp-ChatTurn-choices'); // n > 1 (choices.ts)
    this._choices.hidden = true;
    this._banner = el('div', 'jp-ChatTurn-banner');
    this._banner.setAttribute('role', 'status');
    this._banner.hidden = true;

    const footer = el('div', 'jp-ChatTurn-footer');
    this._meta = el('div', 'jp-ChatTurn-meta');
    this._copy = el('button', 'jp-ChatTurn-copy') as HTMLButtonElement;
    this._copy.type = 'button';
    this._copy.title = 'Copy the answer (Markdown source)';
    this._copy.setAttribute('aria-label', 'Copy the answer');
    this._copy.append(
      copyIcon.element({ tag: 'span', className: 'jp-ChatTurn-copyIcon' }),
      el('span', 'jp-ChatTurn-copyLabel', 'Copy')
    );
    this._copy.addEventListener('click', () => void this._copyAnswer());
    footer.append(this._meta, this._copy);
    this._notes = el('div', 'jp-ChatTurn-notes');
    this._notes.hidden = true;

    node.append(
      this._prompt,
      this._reasoningBox,
      this._waiting,
      this._parsed,
      this._answerBox,
      this._tokenView.host,
      this._tools,
      this._choices,
      this._banner,
      footer,
      this._notes
    );
  }

  private _renderPrompt(messages: IChatMessage[]): void {
    this._messages.replaceChildren();
    const user = messages.filter(m => m.role === 'user');
    const last = user.length
      ? user[user.length - 1]
      : messages[messages.length - 1];
    const preview = last
      ? contentText(last.content).replace(/\s+/g, ' ').trim()
      : '';
    this._promptPreview.textContent =
      preview.length > 80 ? preview.slice(0, 79) + '…' : preview;
    for (const message of messages) {
      const box = el('div', 'jp-ChatTurn-message');
      box.dataset.role = message.role;
      box.append(
        el('div', 'jp-ChatTurn-role', message.role),
        el('div', 'jp-ChatTurn-content', contentText(message.content))
      );
      this._messages.append(box);
    }
    this._prompt.hidden = messages.length === 0;
  }

  private _renderTools(calls: IToolCall[]): void {
    const key = JSON.stringify(calls);
    if (key === this._shownTools) {
      return;
    }
    this._shownTools = key;
    this._tools.replaceChildren();
    for (const call of calls) {
      const fn = call.function || {};
      const card = el('div', 'jp-ChatTurn-tool');
      const head = el('div', 'jp-ChatTurn-toolHead');
      head.append(
        el('span', 'jp-ChatTurn-toolKind', 'Tool call'),
        el('code', 'jp-ChatTurn-toolName', fn.name || '?')
      );
      if (call.id) {
        head.append(el('span', 'jp-ChatTurn-toolId', call.id));
      }
      card.append(
        head,
        el('pre', 'jp-ChatTurn-toolArgs', prettyJson(fn.arguments || ''))
      );
      this._tools.append(card);
    }
    this._tools.hidden = calls.length === 0;
  }

  private _renderBanner(status: TurnStatus, turn: ITurn): void {
    if (status === 'complete' || status === 'streaming') {
      this._banner.hidden = true;
      this._banner.textContent = '';
      return;
    }
    let text = STATUS_TEXT[status] || `Status: ${status}`;
    if (status === 'error' && turn.error) {
      text = `Error: ${turn.error}`;
    } else if (status === 'incomplete' && turn.record?.finish_reason) {
      text += ` (finish reason: ${turn.record.finish_reason})`;
    }
    if (status !== 'error' && turn.error) {
      text += ` ${turn.error}`;
    }
    this._banner.textContent = text;
    this._banner.hidden = false;
  }

  private _renderFooter(
    turn: ITurn,
    record: IRunRecord,
    status: TurnStatus,
    usage: ITurn['usage']
  ): void {
    // checked here, from everything the output holds: never the record's word alone
    const model = this._model;
    const signature =
      status === 'streaming' || !model
        ? null
        : badge(
            model.data as Record<string, unknown>,
            (model.metadata || {}) as Record<string, unknown>
          );
    this._meta.replaceChildren(
      ...footerItems(record, status, usage, signature),
      ...(status === 'streaming' ? [] : logprobsItems(turn.logprobs))
    );
    const notes = Array.isArray(record.notes) ? record.notes.map(String) : [];
    this._notes.textContent = notes.join(' · ');
    this._notes.hidden = notes.length === 0;
  }

  /** The footer again, as the output now reads (a signer table arrived). */
  private _refreshFooter(): void {
    const turn = this._turn;
    const model = this._model;
    if (!turn || !model || this.isDisposed) {
      return;
    }
    const run = ((model.metadata || {})['jupyter_chat'] || {}) as IRunRecord;
    this._renderFooter(
      turn,
      { ...(turn.record || {}), ...run },
      this._status,
      turn.usage
    );
  }

  private async _copyAnswer(): Promise<void> {
    const ok = await copyText(this._answer);
    flashLabel(this._copy.querySelector('.jp-ChatTurn-copyLabel'), ok);
    this.node.dataset.copied = ok ? 'yes' : 'no';
  }

  private _options: IRenderMime.IRendererOptions;
  private _turn: ITurn | null = null;
  private _model: IRenderMime.IMimeModel | null = null;
  private _unsigners: () => void;
  private _status: TurnStatus = 'complete';
  private _turnId = '';
  private _stop: (() => void) | null = null;
  private _timer: number | null = null;
  private _lastFlush = 0;
  private _rendering: Promise<void> | null = null;
  private _again = false;
  private _answer = '';
  private _reasoning = '';
  private _toolCalls: IToolCall[] = [];
  private _shownAnswer: string | null = null;
  private _shownReasoning: string | null = null;
  private _shownTools = '';

  private _prompt!: HTMLDetailsElement;
  private _promptPreview!: HTMLElement;
  private _messages!: HTMLElement;
  private _reasoningBox!: HTMLDetailsElement;
  private _reasoningCount!: HTMLElement;
  private _reasoningBody!: HTMLElement;
  private _waiting!: HTMLElement;
  private _answerBox!: HTMLElement;
  private _answerView!: MarkdownView;
  private _tokenView!: TokenView;
  private _reasoningView!: MarkdownView;
  private _parsed!: HTMLElement;
  private _tools!: HTMLElement;
  private _choices!: HTMLElement;
  private _banner!: HTMLElement;
  private _meta!: HTMLElement;
  private _copy!: HTMLButtonElement;
  private _notes!: HTMLElement;
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

/** A message's text; non-text parts (images, audio) as a short marker, never loaded. */
function contentText(content: IChatMessage['content']): string {
  if (typeof content === 'string') {
    return content;
  }
  if (!Array.isArray(content)) {
    return '';
  }
  return content
    .map(part =>
      part && typeof part.text === 'string'
        ? part.text
        : `[${part?.type || 'part'}]`
    )
    .join('\n');
}

function prettyJson(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

function countWords(text: string): number {
  const words = text.trim().split(/\s+/);
  return words[0] ? words.length : 0;
}
