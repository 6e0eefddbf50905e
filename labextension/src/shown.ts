/**
 * The one rule for a signed turn's output, as the kernel applies it
 * (jupyter_chat/display/shown.py, step for step): it is verified only when everything it
 * shows, in every MIME type, derives from the signed bytes or sits plainly outside the
 * signature (the footer's run record). Text is compared as tokens (numbers by value, every
 * other visible character as itself, white space ignored). The one step the browser cannot
 * repeat is the kernel's own Markdown rendering of an answer: where only that would match,
 * the verdict here is "not verifiable" (never more than the kernel says), and a kernel can
 * be asked.
 */
import { derive } from './harmony';
import { parsedRows } from './parsed';

export const MIME = 'application/vnd.jupyter-chat+json';
const TEXT_TYPES = ['text/markdown', 'text/plain'];
const TURN_KEYS = new Set([
  'version',
  'status',
  'turn_id',
  'messages',
  'answer',
  'reasoning',
  'tool_calls',
  'usage',
  'error',
  'images',
  'parsed',
  'signed',
  'record'
]);
const ROLES = new Set(['system', 'developer', 'user', 'assistant', 'tool']);
const SCHEMA_NAME = /^[A-Za-z0-9_-]{1,64}$/;
const WRAP_KEY = 'value';
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
const WS =
  '\\t\\n\\v\\f\\r \\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff';
const TOKEN = new RegExp(
  `-?[0-9]+(?:\\.[0-9]+)?(?:[eE][+-]?[0-9]+)?|[^${WS}]`,
  'gu'
);
const TRIM = new RegExp(`^[${WS}]+|[${WS}]+$`, 'g');
const TAG = /<[^>]*>/g;
// Python's re.M ^ and $ (after or before a newline only), not JavaScript's m flag
const FENCE =
  /(?<![^\n])[ \t]*(`{3,}|~{3,})[^\n]*\n([\s\S]*?)(?<![^\n])[ \t]*\1[ \t]*(?![^\n])/g;
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

/** The verified signed block's parts the rule compares against. */
export interface ISignedParts {
  model: string;
  request_contents: string[];
  response_contents: string[];
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

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function absent(v: unknown): boolean {
  return v === undefined || v === null || (Array.isArray(v) && !v.length);
}

function bad(reason: string): IProblem {
  return { state: 'invalid', reason };
}

/** Why what the output shows is not all derived from the signed bytes, or null. */
export function shownProblem(
  data: Json,
  metadata: Json,
  signed: ISignedParts
): IProblem | null {
  const turn = (isObject(data[MIME]) ? data[MIME] : {}) as Json;
  const extra = Object.keys(data)
    .filter(k => k !== MIME && !TEXT_TYPES.includes(k))
    .sort();
  if (extra.length) {
    return bad(
      `the output also shows ${extra[0]}, which the signature does not cover`
    );
  }
  const keys = Object.keys(turn)
    .filter(k => !TURN_KEYS.has(k))
    .sort();
  if (keys.length) {
    return bad(
      `the turn holds '${keys[0]}', which the signature does not cover`
    );
  }
  const answer = turn.answer ?? '';
  const reasoning = turn.reasoning ?? '';
  if (typeof answer !== 'string' || typeof reasoning !== 'string') {
    return bad("the output's answer is not text");
  }
  if (!signed.response_contents.length) {
    return bad('nothing was signed');
  }
  const derived = derive(signed.response_contents[0]);
  if (derived.answer !== answer) {
    return bad('the answer shown differs from the signed content');
  }
  if (derived.reasoning !== reasoning) {
    return bad('the reasoning shown differs from the signed content');
  }
  if (!absent(turn.tool_calls)) {
    return bad('tool calls are shown, which the signature does not cover');
  }
  const status = turn.status || 'complete';
  if (status !== 'complete' && status !== 'incomplete') {
    return bad('the turn is shown as not complete');
  }
  if (!(turn.error === undefined || turn.error === null || turn.error === '')) {
    return bad('an error is shown, which the signature does not cover');
  }
  if (!absent(turn.images)) {
    return bad('images are shown, which the signature does not cover');
  }
  const why =
    messagesDiffer(turn.messages, signed.request_contents) ||
    modelDiffers(metadata, turn, signed.model);
  if (why) {
    return bad(why);
  }
  const parsed = turn.parsed;
  if (parsed !== undefined && parsed !== null) {
    const p = parsedDiffers(parsed, answer);
    if (p) {
      return bad(p);
    }
  }
  // the less favourable of the two renderings' verdicts (invalid before "only the kernel")
  const md = markdownDiffers(
    data['text/markdown'],
    answer,
    reasoning,
    parsed as IParsed | null
  );
  if (md && md.state === 'invalid') {
    return md;
  }
  const pl = plainDiffers(
    data['text/plain'],
    answer,
    reasoning,
    parsed as IParsed | null
  );
  return pl && pl.state === 'invalid' ? pl : md || pl;
}

function messagesDiffer(messages: unknown, prompts: string[]): string | null {
  if (messages === undefined || messages === null) {
    return null;
  }
  if (!Array.isArray(messages)) {
    return 'the prompt shown is malformed';
  }
  for (const m of messages) {
    if (
      !isObject(m) ||
      Object.keys(m).some(k => k !== 'role' && k !== 'content')
    ) {
      return 'the prompt shown holds more than roles and text';
    }
    if (!ROLES.has(m.role as string) || typeof m.content !== 'string') {
      return 'the prompt shown is malformed';
    }
  }
  const shown = messages.map(m => (m as Json).content as string);
  const tail = prompts.slice(prompts.length - shown.length);
  if (
    shown.length > prompts.length ||
    (shown.length && shown.some((c, n) => c !== tail[n]))
  ) {
    return 'the prompt shown differs from the signed request';
  }
  return null;
}

function modelDiffers(
  metadata: Json,
  turn: Json,
  model: string
): string | null {
  for (const record of [metadata['jupyter_chat'], turn.record]) {
    if (isObject(record)) {
      const shown = record.served_model || record.model;
      if (shown !== undefined && shown !== null && shown !== model) {
        return 'the model shown differs from the signed model';
      }
    }
  }
  return null;
}

// -- the parsed value --------------------------------------------------------------------------
interface IParsed {
  schema: string;
  value: unknown;
}

function parsedDiffers(parsed: unknown, answer: string): string | null {
  if (
    !isObject(parsed) ||
    Object.keys(parsed).length !== 2 ||
    !('schema' in parsed) ||
    !('value' in parsed)
  ) {
    return 'the parsed value shown is malformed';
  }
  if (typeof parsed.schema !== 'string' || !SCHEMA_NAME.test(parsed.schema)) {
    return "the parsed value's schema name is not a name";
  }
  if (!jsonCandidates(answer).some(c => sameJson(parsed.value, c))) {
    return "the parsed value shown is not the signed answer's JSON";
  }
  return null;
}

/** The JSON an answer holds: all of it, else its first fenced block that parses. */
export function jsonCandidates(answer: string): unknown[] {
  const texts = [answer.replace(TRIM, '')];
  FENCE.lastIndex = 0;
  for (let m = FENCE.exec(answer); m; m = FENCE.exec(answer)) {
    texts.push(m[2].replace(TRIM, ''));
  }
  const found: unknown[] = [];
  for (const text of texts) {
    try {
      found.push(JSON.parse(text));
      break;
    } catch {
      continue;
    }
  }
  if (found.length && isObject(found[0]) && WRAP_KEY in found[0]) {
    found.push(found[0][WRAP_KEY]);
  }
  return found;
}

/** Equal as JSON values: types kept apart, numbers by value. */
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

/** ``shown`` is the source as it is (or as pretty JSON); else only the kernel can tell. */
function rendered(source: string, shown: string, jsonToo: boolean): boolean {
  if (sameText(shown, source)) {
    return true;
  }
  const pretty = jsonToo ? prettyJson(source) : null;
  return pretty !== null && sameText(shown, pretty);
}

function markdownDiffers(
  markdown: unknown,
  answer: string,
  reasoning: string,
  parsed: IParsed | null
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
  const section = md.slice(at + SECTION.length, foot.index);
  let only: IProblem | null = null;
  if (parsed) {
    const cap = `<p><strong>${parsed.schema}</strong></p>`;
    const i = head.lastIndexOf(cap);
    if (i < 0) {
      return bad('the Markdown output shows another parsed value');
    }
    if (!parsedShown(visible(head.slice(i + cap.length)), parsed.value)) {
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
      !sameText(
        visible(section.slice(RAW_OPEN.length, -RAW_CLOSE.length)),
        answer
      )
    ) {
      return bad('the Markdown output shows another answer');
    }
  } else if (!rendered(answer, visible(section), true)) {
    only = kernelOnly('Markdown rendering of the answer');
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
    if (!rendered(reasoning, visible(body), false)) {
      only = only || kernelOnly('Markdown rendering of the reasoning');
    }
  }
  return only;
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

function plainDiffers(
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
