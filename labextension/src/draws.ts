/**
 * The pieces of the samples view (samples.ts) that a turn with several choices (turn.ts)
 * shows too: how far the draws agree (the figures the kernel worked out, by
 * jupyter_chat/session/agreement.py; nothing is recomputed here), the answer groups, the
 * agreement per field of a structured answer, and a strip of buttons, one per draw, that
 * shows the draw it names (arrow keys move along it).
 */

/** What the kernel's agreement holds (jupyter_chat/session/agreement.py `summarize`). */
export interface IAgreement {
  k?: number;
  answered?: number;
  distinct?: number;
  groups?: (number | null)[];
  common?: {
    group?: number;
    count?: number;
    share?: number;
    members?: number[];
  } | null;
  picked?: number | null;
  why?: string;
  seeds?: (number | null)[];
  unseeded?: boolean;
  fields?: IFieldAgreement[];
}

export interface IFieldAgreement {
  field?: string;
  given?: number;
  distinct?: number;
  common?: unknown;
  agree?: number;
  share?: number;
  mean?: number;
  sd?: number;
  min?: number;
  max?: number;
}

/** An answer group's name: A, B, ... Z, AA (as the kernel names them). */
export function letter(group: number): string {
  let name = '';
  let g = group + 1;
  while (g > 0) {
    const rest = (g - 1) % 26;
    name = String.fromCharCode(65 + rest) + name;
    g = Math.floor((g - 1) / 26);
  }
  return name;
}

/** `8 samples · 3 distinct answers · most common 5 of 8 (62%)`. */
export function agreementLine(a: IAgreement, noun: string): string {
  const k = num(a.k);
  const answered = num(a.answered);
  const parts = [`${k} ${noun}${k === 1 ? '' : 's'}`];
  if (answered < k) {
    parts.push(`${k - answered} failed`);
  }
  const d = num(a.distinct);
  parts.push(`${d} distinct answer${d === 1 ? '' : 's'}`);
  if (a.common && answered) {
    const share = Math.round(100 * num(a.common.share));
    parts.push(`most common ${num(a.common.count)} of ${answered} (${share}%)`);
  }
  return parts.join(' · ');
}

/** `answers: A ×5 · B ×2 · C ×1`, largest first. */
export function groupsLine(a: IAgreement): string {
  const counts = new Map<number, number>();
  for (const g of a.groups || []) {
    if (typeof g === 'number') {
      counts.set(g, (counts.get(g) || 0) + 1);
    }
  }
  const order = [...counts.keys()].sort(
    (x, y) => counts.get(y)! - counts.get(x)! || x - y
  );
  const shown = order.map(g => `${letter(g)} ×${counts.get(g)}`).join(' · ');
  return shown ? `answers: ${shown}` : '';
}

/** The agreement line and the answer groups. */
export function agreementHead(a: IAgreement, noun: string): HTMLElement {
  const head = el('div', 'jp-ChatSamples-head');
  head.append(el('strong', 'jp-ChatSamples-line', agreementLine(a, noun)));
  const groups = groupsLine(a);
  if (groups) {
    head.append(el('div', 'jp-ChatSamples-groups', groups));
  }
  return head;
}

/** Per field of a structured answer: the most common value, how many agree, and for numbers
 * the mean, the standard deviation and the range. */
export function fieldsTable(a: IAgreement): HTMLElement | null {
  const fields = Array.isArray(a.fields) ? a.fields : [];
  if (!fields.length) {
    return null;
  }
  const table = el('table', 'jp-ChatSamples-fields');
  const head = el('tr', '');
  for (const h of ['field', 'most common', 'agree', 'mean', 'sd', 'range']) {
    head.append(el('th', '', h));
  }
  const thead = el('thead', '');
  thead.append(head);
  const body = el('tbody', '');
  const k = num(a.answered);
  for (const f of fields) {
    const number = typeof f.mean === 'number';
    const row = el('tr', '');
    const cells = [
      String(f.field ?? ''),
      shown(f.common),
      `${num(f.agree)} of ${k} (${Math.round(100 * num(f.share))}%)`,
      number ? String(f.mean) : '',
      number ? String(f.sd) : '',
      number ? `${f.min} to ${f.max}` : ''
    ];
    for (const c of cells) {
      row.append(el('td', '', c));
    }
    body.append(row);
  }
  table.append(thead, body);
  return table;
}

export interface IDrawButton {
  /** What the button says: `0`, `Choice 2`. */
  text: string;
  /** Its accessible name and tooltip: `sample 0 · seed 7 · answer A · filed`. */
  label: string;
  /** Its answer group's letter (empty: none, e.g. a failed sample). */
  group: string;
  filed?: boolean;
  failed?: boolean;
}

/**
 * One button per draw; pressing one shows it (`onSelect(index)`), and it stays pressed.
 * Left/Right (and Home/End) move along the strip.
 */
export function drawStrip(
  buttons: IDrawButton[],
  selected: number,
  onSelect: (index: number) => void
): HTMLElement {
  const strip = el('div', 'jp-ChatSamples-strip');
  strip.setAttribute('role', 'group');
  strip.setAttribute('aria-label', 'Show one');
  const nodes: HTMLButtonElement[] = [];
  const select = (i: number, focus: boolean) => {
    nodes.forEach((b, j) => b.setAttribute('aria-pressed', String(i === j)));
    if (focus) {
      nodes[i].focus();
    }
    onSelect(i);
  };
  buttons.forEach((b, i) => {
    const node = el('button', 'jp-ChatSamples-draw') as HTMLButtonElement;
    node.type = 'button';
    node.dataset.index = String(i);
    node.dataset.group = b.group;
    node.title = b.label;
    node.setAttribute('aria-label', b.label);
    node.setAttribute('aria-pressed', String(i === selected));
    node.append(el('span', 'jp-ChatSamples-drawIndex', b.text));
    if (b.group) {
      node.append(el('span', 'jp-ChatSamples-drawGroup', b.group));
    }
    if (b.filed) {
      node.classList.add('jp-mod-filed');
    }
    if (b.failed) {
      node.classList.add('jp-mod-failed');
    }
    node.addEventListener('click', () => select(i, false));
    node.addEventListener('keydown', event => {
      const last = nodes.length - 1;
      const to =
        event.key === 'ArrowRight'
          ? Math.min(last, i + 1)
          : event.key === 'ArrowLeft'
            ? Math.max(0, i - 1)
            : event.key === 'Home'
              ? 0
              : event.key === 'End'
                ? last
                : -1;
      if (to >= 0) {
        event.preventDefault();
        select(to, true);
      }
    });
    nodes.push(node);
    strip.append(node);
  });
  return strip;
}

function num(v: unknown): number {
  return typeof v === 'number' && isFinite(v) ? v : 0;
}

function shown(v: unknown): string {
  const text = typeof v === 'string' ? v : (JSON.stringify(v) ?? '');
  return text.length > 80 ? text.slice(0, 79) + '…' : text;
}

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className: string,
  text?: string
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) {
    node.className = className;
  }
  if (text !== undefined) {
    node.textContent = text;
  }
  return node;
}
