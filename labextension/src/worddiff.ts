/**
 * What differs between a comparison's columns, marked on the extension's rendering: the
 * kernel works out each column's diff against the first once (jupyter_chat/display/worddiff.py)
 * and the comparison's output carries it as ranges of the column's tokens; here the same
 * tokens are found in the rendered answer (the same rule, the same alignment as the kernel's
 * static HTML) and each run of changed ones is put in a `<mark>`. Math, code bars and buttons
 * are left alone.
 */
import { WS } from './renderings';

/** A column's diff as the kernel sends it (absent on the first column). */
export interface IColumnDiff {
  same?: boolean;
  tokens?: number;
  changed?: number[][];
  words?: number;
}

// ASCII punctuation but "_", Latin-1 signs, general and CJK punctuation, fullwidth signs
const PUNCT =
  '!-/:-@\\[-\\^`{-~\\u00a1-\\u00bf\\u00d7\\u00f7\\u2010-\\u2027\\u2030-\\u205e\\u3001-\\u303f\\uff01-\\uff0f';
// kana and ideographs: one token each
const CJK = '\\u3040-\\u30ff\\u3400-\\u4dbf\\u4e00-\\u9fff\\uf900-\\ufaff';
const TOKEN_SOURCE = `[${CJK}]|[${PUNCT}]|[^${WS}${PUNCT}${CJK}]+`;
/** Source tokens looked ahead for a rendered one (link targets, fences, markup). */
export const WINDOW = 64;
/** What is never marked: math, a code block's bar and buttons. */
const SKIP =
  'button, .jp-ChatTurn-codeBar, mjx-container, .MathJax, svg, math, script, style, textarea, mark';

/** The tokens of `text`: words, single punctuation characters, single CJK characters. */
export function tokens(text: string): string[] {
  return found(text).map(m => m[0]);
}

function found(text: string): RegExpExecArray[] {
  const re = new RegExp(TOKEN_SOURCE, 'gu');
  const out: RegExpExecArray[] = [];
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    out.push(m);
  }
  return out;
}

/** Per token of the column's answer: whether it is marked. */
export function flags(diff: IColumnDiff): boolean[] {
  const out: boolean[] = new Array(Math.max(0, diff.tokens || 0)).fill(false);
  for (const range of diff.changed || []) {
    const [start, end] = range;
    for (let i = Math.max(0, start); i < Math.min(end, out.length); i++) {
      out[i] = true;
    }
  }
  return out;
}

/** What a column's label says of it (display/worddiff.py `diff_note`). */
export function diffNote(diff: IColumnDiff | undefined | null): string {
  if (!diff || typeof diff !== 'object') {
    return '';
  }
  if (diff.same) {
    return 'same as column 1';
  }
  const n = typeof diff.words === 'number' ? diff.words : 0;
  if (!n) {
    return 'punctuation differs from column 1';
  }
  return `${n} word${n !== 1 ? 's' : ''} differ${n === 1 ? 's' : ''} from column 1`;
}

/**
 * Rendered tokens, in order, matched to the source's: each takes the flag of the first equal
 * source token within `WINDOW` of the last match; one the source does not have there is not
 * marked and moves nothing.
 */
export class Aligner {
  constructor(
    readonly source: string[],
    readonly marked: boolean[]
  ) {}

  take(token: string): boolean {
    const end = Math.min(this.source.length, this.at + WINDOW);
    for (let i = this.at; i < end; i++) {
      if (this.source[i] === token) {
        this.at = i + 1;
        return this.marked[i];
      }
    }
    return false;
  }

  at = 0;
}

/** The `[start, end)` runs of marked tokens in `text` (the aligner moves on). */
export function markedRuns(text: string, aligner: Aligner): number[][] {
  const runs: number[][] = [];
  let extend = false;
  for (const m of found(text)) {
    const start = m.index;
    if (aligner.take(m[0])) {
      if (extend) {
        runs[runs.length - 1][1] = start + m[0].length;
      } else {
        runs.push([start, start + m[0].length]);
      }
      extend = true;
    } else {
      extend = false;
    }
  }
  return runs;
}

/**
 * Mark the changed words of `answer` where `host` shows it; returns how many marks were made
 * (none for a column the same as the first, or a diff that is not this answer's).
 */
export function markDiff(
  host: HTMLElement,
  answer: string,
  diff: IColumnDiff | undefined | null
): number {
  if (
    !diff ||
    diff.same ||
    !Array.isArray(diff.changed) ||
    !diff.changed.length
  ) {
    return 0;
  }
  const source = tokens(answer);
  if (source.length !== diff.tokens) {
    return 0;
  }
  const aligner = new Aligner(source, flags(diff));
  const walker = document.createTreeWalker(host, NodeFilter.SHOW_TEXT, {
    acceptNode: node => {
      const skip = node.parentElement?.closest(SKIP);
      return skip && host.contains(skip)
        ? NodeFilter.FILTER_REJECT
        : NodeFilter.FILTER_ACCEPT;
    }
  });
  const nodes: Text[] = [];
  while (walker.nextNode()) {
    nodes.push(walker.currentNode as Text);
  }
  let made = 0;
  for (const node of nodes) {
    const text = node.data;
    const runs = markedRuns(text, aligner);
    if (!runs.length) {
      continue;
    }
    const parts: Node[] = [];
    let done = 0;
    for (const [start, end] of runs) {
      parts.push(document.createTextNode(text.slice(done, start)));
      const mark = document.createElement('mark');
      mark.className = 'jp-ChatCompare-diff jupyter-chat-diff';
      mark.textContent = text.slice(start, end);
      parts.push(mark);
      done = end;
      made++;
    }
    parts.push(document.createTextNode(text.slice(done)));
    node.replaceWith(...parts);
  }
  return made;
}
