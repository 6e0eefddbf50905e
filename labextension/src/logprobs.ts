/**
 * Token probabilities in a turn: the answer with each token shaded by how likely the model
 * found it, its alternatives in a popover on hover or keyboard focus, and the footer's summary
 * (perplexity, the least likely tokens). Reads the structured turn's form and places the
 * tokens on the answer as the kernel does (jupyter_chat/display/logprobs.py).
 *
 * However long the answer, the tokens are one Tab stop: the current token holds the only
 * tabindex, and the arrow keys move it (roving focus).
 */

/**
 * The structured turn's `logprobs` (packed as one string of JSON, as nbformat would save a
 * list an item a line): thousandths of a nat, alternatives flat.
 */
export interface ILogprobs {
  scale: number;
  tokens: string[];
  logprobs: (number | null)[];
  top?: (string | number)[][];
}

/** ln 0.9, 0.7, 0.5, 0.25, 0.1 in thousandths: the shading's steps (as the kernel's). */
export const STEPS = [-105, -357, -693, -1386, -2303];
const LEAST = 3;
const LABEL = 24;
const STEP_WORDS = [
  '90 % likely or more',
  '70 to 90 %',
  '50 to 70 %',
  '25 to 50 %',
  '10 to 25 %',
  'under 10 %'
];

let lastRead: [unknown, ILogprobs | null] = [undefined, null];

/** The form from a structured turn: packed (one string of JSON) or not; null if unreadable. */
export function readLogprobs(value: unknown): ILogprobs | null {
  if (value === lastRead[0]) {
    return lastRead[1];
  }
  let lp: unknown = value;
  if (typeof value === 'string') {
    try {
      lp = JSON.parse(value);
    } catch {
      lp = null;
    }
  }
  lastRead = [value, isLogprobs(lp) ? lp : null];
  return lastRead[1];
}

export function isLogprobs(value: unknown): value is ILogprobs {
  const lp = value as ILogprobs;
  return (
    typeof value === 'object' &&
    value !== null &&
    Array.isArray(lp.tokens) &&
    Array.isArray(lp.logprobs) &&
    lp.tokens.length === lp.logprobs.length &&
    lp.tokens.every(t => typeof t === 'string')
  );
}

/** 0 (90 % likely or more) to 5 (under 10 %); -1 when unknown. */
export function step(milli: unknown): number {
  if (typeof milli !== 'number' || !Number.isFinite(milli)) {
    return -1;
  }
  return STEPS.filter(s => milli < s).length;
}

export function percent(milli: number): string {
  const p = Math.exp(milli / 1000) * 100;
  if (p >= 9.95) {
    return `${p.toFixed(0)}%`;
  }
  return p >= 0.05 ? `${p.toFixed(1)}%` : '<0.1%';
}

/** A token as labels show it: in curly quotes, line breaks and tabs as escapes. */
export function label(token: string): string {
  const chars = Array.from(token);
  let text = chars.slice(0, LABEL).join('') + (chars.length > LABEL ? '…' : '');
  text = text
    .replace(/\\/g, '\\\\')
    .replace(/\n/g, '\\n')
    .replace(/\r/g, '\\r')
    .replace(/\t/g, '\\t');
  // eslint-disable-next-line no-control-regex
  return '“' + text.replace(/[\x00-\x1f\x7f]/g, '�') + '”';
}

export function alternatives(lp: ILogprobs, i: number): [string, number][] {
  const flat = Array.isArray(lp.top?.[i]) ? lp.top![i] : [];
  const out: [string, number][] = [];
  for (let n = 0; n + 1 < flat.length; n += 2) {
    if (typeof flat[n] === 'string' && step(flat[n + 1]) >= 0) {
      out.push([flat[n] as string, flat[n + 1] as number]);
    }
  }
  return out;
}

/**
 * Where each token falls on the answer: [start, end, token], the answer's own characters;
 * null when the tokens, joined, do not hold the answer (the last place they do).
 */
export function placed(
  lp: ILogprobs,
  answer: string
): [number, number, number][] | null {
  const at = answer ? lp.tokens.join('').lastIndexOf(answer) : -1;
  if (at < 0) {
    return null;
  }
  const out: [number, number, number][] = [];
  const end = at + answer.length;
  let pos = 0;
  lp.tokens.forEach((t, i) => {
    const lo = Math.max(pos, at);
    const hi = Math.min(pos + t.length, end);
    pos += t.length;
    if (lo < hi) {
      out.push([lo - at, hi - at, i]);
    }
  });
  return out;
}

export interface ISummary {
  n: number;
  mean: number;
  perplexity: number;
  least: number[];
}

export function summary(lp: ILogprobs): ISummary | null {
  const values: [number, number][] = [];
  lp.logprobs.forEach((v, i) => {
    if (step(v) >= 0) {
      values.push([v as number, i]);
    }
  });
  if (!values.length) {
    return null;
  }
  const mean = values.reduce((a, [v]) => a + v, 0) / values.length / 1000;
  values.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  return {
    n: values.length,
    mean,
    perplexity: Math.exp(-mean),
    least: values.map(([, i]) => i)
  };
}

function item(cls: string, text: string, title: string): HTMLElement {
  const node = document.createElement('span');
  node.className = `jp-ChatTurn-item ${cls}`;
  node.textContent = text;
  node.title = title;
  return node;
}

/** The footer's part: perplexity (the mean in its title) and the least likely tokens. */
export function logprobsItems(value: unknown): HTMLElement[] {
  const lp = readLogprobs(value);
  const s = lp ? summary(lp) : null;
  if (!s || !lp) {
    return [];
  }
  const least = s.least
    .slice(0, LEAST)
    .map(i => `${label(lp.tokens[i])} ${percent(lp.logprobs[i] as number)}`)
    .join(', ');
  return [
    item(
      'jp-ChatTurn-perplexity',
      `perplexity ${s.perplexity.toFixed(2)}`,
      `Mean log-probability ${s.mean.toFixed(3)} over ${s.n} tokens`
    ),
    item(
      'jp-ChatTurn-least',
      `least likely ${least}`,
      'The least likely tokens of the answer'
    )
  ];
}

let popoverIds = 0;

/**
 * The answer, token by token, shaded; shown instead of the rendered Markdown while its
 * toggle is pressed (the default), with a popover for the token under the pointer or focus.
 */
export class TokenView {
  constructor(
    readonly host: HTMLElement,
    readonly answerBox: HTMLElement
  ) {
    host.classList.add('jp-ChatLogprobs');
    host.hidden = true;
    const bar = el('div', 'jp-ChatLogprobs-bar');
    this._toggle = el('button', 'jp-ChatLogprobs-toggle') as HTMLButtonElement;
    this._toggle.type = 'button';
    this._toggle.textContent = 'Token probabilities';
    this._toggle.title =
      'Show the answer shaded by token probability, or rendered';
    this._toggle.setAttribute('aria-pressed', 'true');
    this._toggle.addEventListener('click', () => this._setShading(!this._on));
    this._legend = el('span', 'jp-ChatLogprobs-legend');
    this._legend.append(
      el('span', 'jp-ChatLogprobs-legendText', 'likely'),
      ...STEP_WORDS.map((words, n) => {
        const swatch = el('span', 'jp-ChatLogprobs-swatch');
        swatch.dataset.step = String(n);
        swatch.title = words;
        return swatch;
      }),
      el('span', 'jp-ChatLogprobs-legendText', 'unlikely')
    );
    this._note = el('span', 'jp-ChatLogprobs-note');
    bar.append(this._toggle, this._legend, this._note);
    this._tokens = el('div', 'jp-ChatLogprobs-tokens');
    this._tokens.setAttribute('role', 'group');
    this._tokens.setAttribute(
      'aria-label',
      'The answer token by token, shaded by probability: arrow keys move between ' +
        'tokens, up and down to the less likely ones, the alternatives are described'
    );
    this._popover = el('div', 'jp-ChatLogprobs-popover');
    this._popover.id = `jp-ChatLogprobs-popover-${++popoverIds}`;
    this._popover.setAttribute('role', 'tooltip');
    this._popover.hidden = true;
    host.append(bar, this._tokens, this._popover);
    this._tokens.addEventListener('keydown', e => this._onKey(e));
    this._tokens.addEventListener('focusin', e => this._onFocus(e));
    this._tokens.addEventListener('focusout', () => this._hideSoon());
    this._tokens.addEventListener('mouseover', e => this._onPointer(e));
    this._tokens.addEventListener('mouseleave', () => this._onLeave());
    this._tokens.addEventListener('click', e => {
      const token = tokenOf(e.target);
      if (token) {
        this._focus(token);
      }
    });
  }

  /** Show the turn's `logprobs` on `answer` (none: the rendered answer stays). */
  update(value: unknown, answer: string, signed: boolean): void {
    const lp = answer ? readLogprobs(value) : null;
    const usable = !!lp;
    if (lp !== this._lp || answer !== this._answer) {
      this._lp = lp;
      this._answer = answer;
      this._build(signed);
    }
    this.host.hidden = !usable;
    this._apply();
  }

  private _build(signed: boolean): void {
    this._current = null;
    this._popover.hidden = true;
    const lp = this._lp;
    const where = lp ? placed(lp, this._answer) : null;
    this._placed = !!where;
    this._note.textContent = !lp
      ? ''
      : !where
        ? 'The tokens do not spell the answer shown.'
        : signed
          ? 'Probabilities and alternatives are outside the signature.'
          : '';
    const fragment = document.createDocumentFragment();
    for (const [start, end, i] of where || []) {
      const span = document.createElement('span');
      span.className = 'jp-ChatLogprobs-token';
      const text = this._answer.slice(start, end);
      span.textContent = text;
      span.dataset.i = String(i);
      span.dataset.step = String(step(lp!.logprobs[i]));
      if (!text.trim()) {
        span.dataset.blank = text.includes('\n') ? 'line' : 'space';
      }
      fragment.append(span);
    }
    this._tokens.replaceChildren(fragment);
    const first = this._tokens.firstElementChild as HTMLElement | null;
    if (first) {
      first.tabIndex = 0; // the one Tab stop
      this._current = first;
    }
  }

  private _setShading(on: boolean): void {
    this._on = on;
    this._apply();
  }

  private _apply(): void {
    const shading = this._on && this._placed && !this.host.hidden;
    this._toggle.setAttribute('aria-pressed', String(this._on));
    this._toggle.disabled = !this._placed;
    this._legend.hidden = !shading;
    this._tokens.hidden = !shading;
    if (!this.host.hidden && this._placed) {
      this.answerBox.hidden = shading || !this._answer;
    }
    if (!shading) {
      this._popover.hidden = true;
    }
  }

  private _onKey(e: KeyboardEvent): void {
    const current = tokenOf(e.target);
    if (!current) {
      return;
    }
    const tokens = this._tokens.children;
    const at = Array.prototype.indexOf.call(tokens, current);
    let next: Element | null = null;
    if (e.key === 'ArrowRight') {
      next = tokens[at + 1] || null;
    } else if (e.key === 'ArrowLeft') {
      next = tokens[at - 1] || null;
    } else if (e.key === 'Home') {
      next = tokens[0];
    } else if (e.key === 'End') {
      next = tokens[tokens.length - 1];
    } else if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      const by = e.key === 'ArrowDown' ? 1 : -1;
      for (let n = at + by; n >= 0 && n < tokens.length; n += by) {
        if (Number((tokens[n] as HTMLElement).dataset.step) >= 3) {
          next = tokens[n];
          break;
        }
      }
    } else if (e.key === 'Escape' && !this._popover.hidden) {
      this._popover.hidden = true;
      e.stopPropagation();
    } else {
      return;
    }
    e.preventDefault();
    if (next) {
      this._focus(next as HTMLElement);
    }
  }

  private _focus(token: HTMLElement): void {
    if (this._current && this._current !== token) {
      this._current.removeAttribute('tabindex');
      this._current.removeAttribute('aria-describedby');
    }
    this._current = token;
    token.tabIndex = 0;
    token.focus();
  }

  private _onFocus(e: FocusEvent): void {
    const token = tokenOf(e.target);
    if (token) {
      if (this._current !== token) {
        this._focus(token);
      }
      token.setAttribute('aria-describedby', this._popover.id);
      this._show(token);
    }
  }

  private _onPointer(e: MouseEvent): void {
    const token = tokenOf(e.target);
    if (token) {
      this._show(token);
    }
  }

  /** Focus left a token: hide the popover unless the focus is on another or a pointer on one. */
  private _hideSoon(): void {
    window.setTimeout(() => {
      const active = document.activeElement;
      const inside =
        active instanceof HTMLElement && this._tokens.contains(active);
      if (!inside && !this._tokens.matches(':hover')) {
        this._popover.hidden = true;
      }
    }, 0);
  }

  /** The pointer left the tokens: the focused token's popover again, or none. */
  private _onLeave(): void {
    const active = document.activeElement;
    if (
      active instanceof HTMLElement &&
      tokenOf(active) &&
      this._tokens.contains(active)
    ) {
      this._show(active);
    } else {
      this._popover.hidden = true;
    }
  }

  /** The popover for `token`: its probability, then its alternatives, below it. */
  private _show(token: HTMLElement): void {
    const lp = this._lp;
    const i = Number(token.dataset.i);
    if (!lp || !(i >= 0)) {
      return;
    }
    const milli = lp.logprobs[i];
    const pop = this._popover;
    pop.replaceChildren();
    const head = el('div', 'jp-ChatLogprobs-chosen');
    head.append(
      el('code', 'jp-ChatLogprobs-label', label(lp.tokens[i])),
      el(
        'span',
        'jp-ChatLogprobs-p',
        typeof milli === 'number' ? percent(milli) : 'no value'
      )
    );
    pop.append(head);
    if (lp.top) {
      const alts = alternatives(lp, i);
      const list = el('ol', 'jp-ChatLogprobs-alternatives');
      list.setAttribute('aria-label', 'Alternatives');
      for (const [t, v] of alts) {
        const row = el('li', 'jp-ChatLogprobs-alternative');
        const bar = el('span', 'jp-ChatLogprobs-bar-fill');
        bar.style.width = `${Math.max(2, Math.round(Math.exp(v / 1000) * 100))}%`;
        row.append(
          el('code', 'jp-ChatLogprobs-label', label(t)),
          el('span', 'jp-ChatLogprobs-p', percent(v)),
          bar
        );
        list.append(row);
      }
      if (!alts.length) {
        list.append(el('li', 'jp-ChatLogprobs-none', 'no alternatives sent'));
      }
      pop.append(list);
    } else {
      pop.append(
        el(
          'div',
          'jp-ChatLogprobs-none',
          'no alternatives asked (--logprobs K)'
        )
      );
    }
    pop.hidden = false;
    const box = this.host.getBoundingClientRect();
    const at = token.getBoundingClientRect();
    const width = Math.min(pop.offsetWidth || 240, box.width);
    const left = Math.min(Math.max(0, at.left - box.left), box.width - width);
    pop.style.left = `${Math.max(0, left)}px`;
    // below the token, or above it when below would leave the turn (its output clips it)
    const below = at.bottom - box.top + 4;
    const above = at.top - box.top - pop.offsetHeight - 4;
    const room = below + pop.offsetHeight <= box.height || above < 0;
    pop.style.top = `${room ? below : above}px`;
    pop.dataset.token = String(i);
  }

  private _lp: ILogprobs | null = null;
  private _answer = '';
  private _placed = false;
  private _on = true;
  private _current: HTMLElement | null = null;
  private _toggle: HTMLButtonElement;
  private _legend: HTMLElement;
  private _note: HTMLElement;
  private _tokens: HTMLElement;
  private _popover: HTMLElement;
}

function tokenOf(target: EventTarget | null): HTMLElement | null {
  return target instanceof HTMLElement &&
    target.classList.contains('jp-ChatLogprobs-token')
    ? target
    : null;
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
