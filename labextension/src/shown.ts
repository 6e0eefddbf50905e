/**
 * The one rule for a signed turn's output, as the kernel applies it
 * (jupyter_chat/display/shown.py, step for step): it is verified only when everything it
 * shows, in every MIME type, derives from the signed bytes or sits plainly outside the
 * signature (the footer's run record): the MIME types, the structured turn's fields, the
 * prompt, the model, the parsed value here; the text renderings in renderings.ts.
 */
import { derive } from './harmony';
import {
  bad,
  IParsed,
  IProblem,
  isObject,
  markdownDiffers,
  plainDiffers,
  sameJson,
  WS
} from './renderings';

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
  'record',
  'logprobs'
]);
const ROLES = new Set(['system', 'developer', 'user', 'assistant', 'tool']);
const SCHEMA_NAME = /^[A-Za-z0-9_-]{1,64}$/;
const WRAP_KEY = 'value';
const TRIM = new RegExp(`^[${WS}]+|[${WS}]+$`, 'g');
// Python's re.M ^ and $ (after or before a newline only), not JavaScript's m flag
const FENCE =
  /(?<![^\n])[ \t]*(`{3,}|~{3,})[^\n]*\n([\s\S]*?)(?<![^\n])[ \t]*\1[ \t]*(?![^\n])/g;
export type { IProblem };

/** The verified signed block's parts the rule compares against. */
export interface ISignedParts {
  model: string;
  request_contents: string[];
  response_contents: string[];
}

type Json = Record<string, unknown>;

function absent(v: unknown): boolean {
  return v === undefined || v === null || (Array.isArray(v) && !v.length);
}

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
  const logprobs = turn.logprobs;
  if (logprobs !== undefined && logprobs !== null) {
    const l = logprobsDiffer(logprobs, answer, signed.response_contents[0]);
    if (l) {
      return bad(l);
    }
  }
  // the less favourable of the two renderings' verdicts (invalid before "only the kernel")
  const md = markdownDiffers(
    data['text/markdown'],
    answer,
    reasoning,
    parsed as IParsed | null,
    logprobs
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

// -- the token probabilities ---------------------------------------------------------------------
const LOGPROBS_KEYS = ['scale', 'tokens', 'logprobs', 'top'];

/**
 * Their tokens are the signed bytes (the signed content, or the answer split from it); their
 * figures and alternatives are outside the signature, and the view says so.
 */
function logprobsDiffer(
  packed: unknown,
  answer: string,
  signed: string
): string | null {
  let lp = packed;
  if (typeof packed === 'string') {
    try {
      lp = JSON.parse(packed);
    } catch {
      lp = null;
    }
  }
  const tokens = isObject(lp) ? lp.tokens : undefined;
  const values = isObject(lp) ? lp.logprobs : undefined;
  if (
    !isObject(lp) ||
    Object.keys(lp).some(k => !LOGPROBS_KEYS.includes(k)) ||
    lp.scale !== 1000 ||
    !Array.isArray(tokens) ||
    !tokens.every(t => typeof t === 'string') ||
    !Array.isArray(values) ||
    values.length !== tokens.length ||
    !values.every(v => v === null || Number.isInteger(v)) ||
    ('top' in lp && !alternativesOk(lp.top, tokens.length))
  ) {
    return 'the token probabilities shown are malformed';
  }
  const joined = (tokens as string[]).join('');
  if (joined !== signed && joined !== answer) {
    return 'the token probabilities shown are not of the signed answer';
  }
  return null;
}

function alternativesOk(top: unknown, n: number): boolean {
  return (
    Array.isArray(top) &&
    top.length === n &&
    top.every(
      flat =>
        Array.isArray(flat) &&
        flat.length % 2 === 0 &&
        flat.every((x, i) =>
          i % 2 ? Number.isInteger(x) : typeof x === 'string'
        )
    )
  );
}

// -- the parsed value --------------------------------------------------------------------------
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
