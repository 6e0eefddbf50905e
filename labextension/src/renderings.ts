/**
 * The text renderings of a signed turn (text/markdown, text/plain) held to the signed text, as
 * the kernel holds them (jupyter_chat/display/renderings.py, step for step): compared as tokens
 * (numbers by value, every other visible character as itself, white space ignored), the markup
 * limited to what the kernel's renderer makes, the tags that mean something in their places.
 * The one step the browser cannot repeat is the kernel's own Markdown rendering of an answer:
 * where only that would match, the verdict is "not verifiable" (never more than the kernel).
 */
import { blockMarkupProblem, markupProblem, skeleton, tagsOf } from './markup';
import { parsedRows } from './parsed';

const TURN_OPEN = '<div class="jupyter-chat-turn">';
const SECTION = '<div class="jupyter-chat-answer">';
const REASONING_OPEN = '<details><summary>Reasoning</summary>';
const RAW_OPEN =
  '<details><summary>Raw answer</summary><pre><code class="language-json">';
const RAW_CLOSE = '</code></pre></details>';
const PLAIN_HEAD = 200;
const MAX_ROWS = 50;
const FOOT_MD = /<\/div><p><sub>([^<]*)<\/sub><\/p><\/div>$/;
const FOOT_PLAIN = /(?:^|\n\n)\[([^\n]*)\]$/;
export const WS =
  '\\t\\n\\v\\f\\r \\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff';
const TOKEN = new RegExp(
  `-?[0-9]+(?:\\.[0-9]+)?(?:[eE][+-]?[0-9]+)?|[^${WS}]`,
  'gu'
);
export const TAG = /<[^>]*>/g;
// str.strip(): white space as Python's str.isspace() (formats.pretty_json strips so)
const PY_SPACE =
  '[\\t\\n\\x0b\\x0c\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]';
const PY_STRIP = new RegExp(`^${PY_SPACE}+|${PY_SPACE}+$`, 'g');
// _text.plain: controls but tab and newline become spaces, CR and bidi controls go
// eslint-disable-next-line no-control-regex
const PLAIN_CONTROLS = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029]/g;
const PLAIN_DROP = /[\r\u202a-\u202e\u2066-\u2069\u200e\u200f]/g;
/** Why an output is not verified though its signature holds. */
export interface IProblem {
  state: 'invalid' | 'not verifiable';
  reason: string;
}

/** A parsed value as the structured turn holds it. */
export interface IParsed {
  schema: string;
  value: unknown;
}

type Json = Record<string, unknown>;

const CAN_VERIFY = '; %chat verify or jupyter-chat verify can';

/** Only the kernel can tell: the browser cannot repeat this rendering of the kernel's. */
function kernelOnly(what: string): IProblem {
  return {
    state: 'not verifiable',
    reason: `the browser cannot repeat the kernel's ${what}` + CAN_VERIFY
  };
}

export function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function bad(reason: string): IProblem {
  return { state: 'invalid', reason };
}

export function sameJson(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) || Array.isArray(b)) {
    return (
      Array.isArray(a) &&
      Array.isArray(b) &&
      a.length === b.length &&
      a.every((x, n) => sameJson(x, b[n]))
    );
  }
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a);
    return (
      ka.length === Object.keys(b).length &&
      ka.every(k => Object.prototype.hasOwnProperty.call(b, k)) &&
      ka.every(k => sameJson(a[k], b[k]))
    );
  }
  return typeof a === typeof b && a === b;
}

/**
 * `shown` (visible text) is the parsed value as the kernel draws it: a JSON tree that reads
 * back as the value (key order aside), or a table with the kernel's cells in order.
 */
function parsedShown(shown: string, value: unknown): boolean {
  const shape = parsedRows(value);
  if (!shape) {
    try {
      return sameJson(JSON.parse(shown), value);
    } catch {
      return false;
    }
  }
  const more =
    Array.isArray(value) && value.length > MAX_ROWS
      ? value.length - MAX_ROWS
      : 0;
  const cells = shape.header.concat(...shape.rows);
  return sameText(
    shown,
    cells.join(' ') + (more ? ` ... and ${more} more` : '')
  );
}

/** The tags of the kernel's drawing of a parsed value (structured.parsed_html). */
function parsedTags(value: unknown): string[] {
  const shape = parsedRows(value);
  if (!shape) {
    return ['<pre>', '<code class="language-json">', '</code>', '</pre>'];
  }
  const cells = (n: number, tag: string) =>
    Array.from({ length: n }, () => [`<${tag}>`, `</${tag}>`]).reduce(
      (a, b) => a.concat(b),
      [] as string[]
    );
  let tags = ['<table>', '<thead>', '<tr>']
    .concat(cells(shape.header.length, 'th'))
    .concat(['</tr>', '</thead>', '<tbody>']);
  for (const row of shape.rows) {
    tags = tags.concat(['<tr>'], cells(row.length, 'td'), ['</tr>']);
  }
  tags = tags.concat(['</tbody>', '</table>']);
  if (Array.isArray(value) && value.length > MAX_ROWS) {
    tags = tags.concat(['<p>', '<sub>', '</sub>', '</p>']);
  }
  return tags;
}

function sameList(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((x, n) => x === b[n]);
}

// -- the text renderings -----------------------------------------------------------------------
export function tokens(text: string): string[] {
  return text.match(TOKEN) || [];
}

function isNumber(t: string): boolean {
  return /^[0-9]/.test(t) || (t.length > 1 && t[0] === '-');
}

/** The same visible text: the same tokens, numbers equal by value. */
export function sameText(shown: string, expected: string): boolean {
  const a = tokens(shown);
  const b = tokens(expected);
  return (
    a.length === b.length &&
    a.every((x, n) =>
      isNumber(x) && isNumber(b[n]) ? Number(x) === Number(b[n]) : x === b[n]
    )
  );
}

/** The text an HTML fragment shows: tags dropped, character references decoded (inert). */
export function visible(fragment: string): string {
  return decode(fragment.replace(TAG, ' '));
}

/** Character references decoded, as Python's html.unescape (a detached textarea: inert). */
export function decode(text: string): string {
  const box = document.createElement('textarea');
  box.innerHTML = text;
  return box.value;
}

function text(value: unknown): string | null {
  if (Array.isArray(value)) {
    return value.filter(v => typeof v === 'string').join('');
  }
  return typeof value === 'string' ? value : null;
}

function prettyJson(source: string): string | null {
  let body = source.replace(PY_STRIP, '');
  if (body.startsWith('```')) {
    body = body.includes('\n') ? body.slice(body.indexOf('\n') + 1) : '';
    const end = body.lastIndexOf('```');
    body = end >= 0 ? body.slice(0, end) : body;
  }
  try {
    return JSON.stringify(JSON.parse(body), null, 2);
  } catch {
    return null;
  }
}

/**
 * An answer's (or reasoning's) section against its source: the source's text as it is (or as
 * pretty JSON) with no tag that means something; the same text with such tags is a forgery
 * (the kernel's renderer only makes them from syntax that is then not shown); other text only
 * the kernel can check (its own Markdown rendering).
 */
function sectionProblem(
  fragment: string,
  source: string,
  jsonToo: boolean,
  what: string
): IProblem | null {
  const foreign = markupProblem(fragment);
  if (foreign) {
    return bad(foreign);
  }
  const shown = visible(fragment);
  const pretty = jsonToo ? prettyJson(source) : null;
  if (sameText(shown, source) || (pretty !== null && sameText(shown, pretty))) {
    return skeleton(fragment).length
      ? bad(`the Markdown output shows ${what}`)
      : null;
  }
  return kernelOnly(`Markdown rendering of the ${what.split(' ').pop()}`);
}

export function markdownDiffers(
  markdown: unknown,
  answer: string,
  reasoning: string,
  parsed: IParsed | null,
  logprobs: unknown = null
): IProblem | null {
  const md = text(markdown);
  if (md === null) {
    return null;
  }
  const foot = FOOT_MD.exec(md);
  if (!md.startsWith(TURN_OPEN) || !foot) {
    return bad('the Markdown output shows more than the signed turn');
  }
  if (md.split(SECTION).length !== 2) {
    return bad('the Markdown output does not show exactly one answer');
  }
  const at = md.indexOf(SECTION);
  if (at + SECTION.length > foot.index) {
    return bad('the Markdown output shows more than the signed turn');
  }
  let head = md.slice(TURN_OPEN.length, at);
  let section = md.slice(at + SECTION.length, foot.index);
  if (section.includes(LOGPROBS_MARK)) {
    const parts = section.split(LOGPROBS_MARK);
    if (logprobs === null || logprobs === undefined || parts.length !== 2) {
      return bad('the Markdown output shows more than the signed turn');
    }
    section = parts[0];
    const why = logprobsBlockProblem(
      LOGPROBS_MARK.slice(6) + parts[1] + '</div>',
      answer
    );
    if (why) {
      return bad(why);
    }
  }
  let only: IProblem | null = null;
  if (parsed) {
    const cap = `<p><strong>${parsed.schema}</strong></p>`;
    const i = head.lastIndexOf(cap);
    if (i < 0) {
      return bad('the Markdown output shows another parsed value');
    }
    const block = head.slice(i + cap.length);
    if (!sameList(tagsOf(block), parsedTags(parsed.value))) {
      return bad('the Markdown output shows another parsed value');
    }
    if (!parsedShown(visible(block), parsed.value)) {
      if (!parsedRows(parsed.value)) {
        return bad('the Markdown output shows another parsed value');
      }
      // a table the kernel clipped or ordered its own way: only the kernel can tell
      only = kernelOnly('table of the parsed value in text/markdown');
    }
    head = head.slice(0, i);
    if (
      !section.startsWith(RAW_OPEN) ||
      !section.endsWith(RAW_CLOSE) ||
      /<[^>]*>/.test(section.slice(RAW_OPEN.length, -RAW_CLOSE.length)) ||
      !sameText(
        visible(section.slice(RAW_OPEN.length, -RAW_CLOSE.length)),
        answer
      )
    ) {
      return bad('the Markdown output shows another answer');
    }
  } else {
    only = sectionProblem(section, answer, true, 'another answer');
    if (only && only.state === 'invalid') {
      return only;
    }
  }
  if (!reasoning) {
    if (head !== '') {
      return bad('the Markdown output shows more than the signed turn');
    }
  } else {
    if (!head.startsWith(REASONING_OPEN) || !head.endsWith('</details>')) {
      return bad('the Markdown output shows more than the signed turn');
    }
    const body = head.slice(REASONING_OPEN.length, -'</details>'.length);
    const problem = sectionProblem(body, reasoning, false, 'other reasoning');
    if (problem && problem.state === 'invalid') {
      return problem;
    }
    only = only || problem;
  }
  return only;
}

// -- the token probabilities' static rendering (display/logprobs.py) -----------------------------
const LOGPROBS_MARK = '</div><div class="jupyter-chat-logprobs">';
const LOGPROBS_OPEN =
  '<div class="jupyter-chat-logprobs"><details><summary>Token probabilities';
const LOGPROBS_TOKENS = '<p class="jupyter-chat-tokens">';
const OUTSIDE = ' (outside the signature)</summary>';

/**
 * The static rendering of a signed turn's token probabilities: its summary says they are
 * outside the signature, it holds only the markup the kernel makes there, and its tokens,
 * where it shows them, show the signed answer.
 */
export function logprobsBlockProblem(
  block: string,
  answer: string
): string | null {
  const unlabelled =
    'the token probabilities are not shown as outside the signature';
  if (
    !block.startsWith(LOGPROBS_OPEN) ||
    block.split('</summary>').length !== 2
  ) {
    return unlabelled;
  }
  const summary = block.slice(
    0,
    block.indexOf('</summary>') + '</summary>'.length
  );
  if (
    !summary.endsWith(OUTSIDE) ||
    /<[^>]*>/.test(summary.slice(LOGPROBS_OPEN.length, -10))
  ) {
    return unlabelled;
  }
  const foreign = blockMarkupProblem(block);
  if (foreign) {
    return foreign;
  }
  const notOf = 'the token probabilities shown are not of the signed answer';
  const count = block.split(LOGPROBS_TOKENS).length - 1;
  if (count > 1) {
    return notOf;
  }
  if (count === 1) {
    const start = block.indexOf(LOGPROBS_TOKENS) + LOGPROBS_TOKENS.length;
    const end = block.indexOf('</p>', start);
    if (end < 0 || !sameText(visible(block.slice(start, end)), answer)) {
      return notOf;
    }
  }
  return null;
}

function plain(value: string): string {
  return value.replace(PLAIN_CONTROLS, ' ').replace(PLAIN_DROP, '');
}

/** text/plain of a turn without a parsed value, up to its footer (bundle.turn_plain). */
export function plainExpected(answer: string, reasoning: string): string {
  const parts: string[] = [];
  if (reasoning) {
    parts.push(
      `[reasoning: ${Array.from(reasoning).length} characters, hidden]`
    );
  }
  if (answer) {
    const chars = Array.from(answer);
    const head = chars.slice(0, PLAIN_HEAD).join('');
    const more = chars.length - Math.min(chars.length, PLAIN_HEAD);
    parts.push(
      more
        ? `${head}… [${more.toLocaleString('en-US')} more characters]`
        : answer
    );
  }
  return plain(parts.join('\n\n'));
}

export function plainDiffers(
  plainText: unknown,
  answer: string,
  reasoning: string,
  parsed: IParsed | null
): IProblem | null {
  const shown = text(plainText);
  if (shown === null) {
    return null;
  }
  const foot = FOOT_PLAIN.exec(shown);
  const body = foot ? shown.slice(0, foot.index) : null;
  if (
    body !== null &&
    !parsed &&
    sameText(body, plainExpected(answer, reasoning))
  ) {
    return null;
  }
  if (body !== null && parsed) {
    let head = plainExpected('', reasoning);
    head += (head ? '\n\n' : '') + `${parsed.schema}:\n`;
    if (body.startsWith(head)) {
      if (parsedShown(body.slice(head.length), parsed.value)) {
        return null;
      }
      if (parsedRows(parsed.value)) {
        // a table the kernel clipped or ordered its own way: only the kernel can tell
        return kernelOnly('table of the parsed value in text/plain');
      }
    }
  }
  return bad('the plain-text output shows another answer');
}
