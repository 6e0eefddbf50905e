/**
 * The answer and reasoning a signed content shows, split exactly as the kernel splits a
 * stream (jupyter_chat/stream.py `ContentSplitter`, providers.md 4.5): harmony channels and
 * `<think>` tags. Used to check that the text a turn shows is the text that was signed.
 */

const START = '<|start|>';
const END = '<|end|>';
const MESSAGE = '<|message|>';
const CHANNEL = '<|channel|>';
const CONSTRAIN = '<|constrain|>';
const RETURN = '<|return|>';
const CALL = '<|call|>';
const HARMONY = [START, END, MESSAGE, CHANNEL, CONSTRAIN, RETURN, CALL];
const THINK_OPEN = '<think>';
const THINK_CLOSE = '</think>';
const CHANNEL_KIND: Record<string, string> = {
  analysis: 'reasoning',
  final: 'answer',
  commentary: 'preamble'
};
// Python's str.isspace() and str.split(): whitespace as Python defines it
const PY_SPACE =
  '\\t\\n\\x0b\\x0c\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const ALL_SPACE = new RegExp(`^[${PY_SPACE}]+$`);
const SPACES = new RegExp(`[${PY_SPACE}]+`);

export interface IShown {
  answer: string;
  reasoning: string;
}

/** Split a whole content string into what a turn shows. */
export function derive(raw: string): IShown {
  const texts: Record<string, string[]> = {
    answer: [],
    reasoning: [],
    preamble: []
  };
  let inHeader = false;
  let header = '';
  let kind = 'answer';
  let think = false;
  let answered = false;

  const markers = (): string[] => {
    if (think) {
      return [...HARMONY, THINK_CLOSE];
    }
    if (!answered && !inHeader && kind === 'answer') {
      return [...HARMONY, THINK_OPEN];
    }
    return HARMONY;
  };
  const body = (text: string): void => {
    if (inHeader) {
      header += text;
    } else if (kind !== 'tool') {
      if (kind === 'answer' && !answered && !ALL_SPACE.test(text)) {
        answered = true;
      }
      texts[kind].push(text);
    }
  };
  const openMessage = (): void => {
    const words = header
      .split(CHANNEL)
      .join(` ${CHANNEL} `)
      .split(CONSTRAIN)
      .join(` ${CONSTRAIN} `)
      .split(SPACES)
      .filter(w => w.length > 0);
    let channel: string | null = null;
    let recipient: string | null = null;
    words.forEach((w, n) => {
      if (w === CHANNEL && n + 1 < words.length && channel === null) {
        channel = words[n + 1];
      } else if (w.startsWith('to=')) {
        recipient = w.slice(3);
      }
    });
    if (recipient !== null && (recipient as string).startsWith('functions.')) {
      kind = 'tool';
    } else if (recipient) {
      kind = 'reasoning';
    } else {
      kind = channel ? CHANNEL_KIND[channel as string] || 'answer' : 'answer';
    }
  };
  const marker = (m: string): void => {
    if (m === START) {
      inHeader = true;
      header = '';
    } else if (m === CHANNEL || m === CONSTRAIN) {
      if (!inHeader) {
        inHeader = true;
        header = '';
      }
      header += m;
    } else if (m === MESSAGE) {
      openMessage();
      inHeader = false;
    } else if (m === END || m === RETURN || m === CALL) {
      inHeader = false;
      kind = 'answer';
    } else if (m === THINK_OPEN) {
      think = true;
      kind = 'reasoning';
    } else if (m === THINK_CLOSE) {
      think = false;
      kind = 'answer';
    }
  };

  let buf = raw;
  while (buf) {
    const i = buf.indexOf('<');
    if (i < 0) {
      body(buf);
      buf = '';
      break;
    }
    if (i) {
      body(buf.slice(0, i));
      buf = buf.slice(i);
    }
    const found = markers().find(m => buf.startsWith(m));
    if (found) {
      buf = buf.slice(found.length);
      marker(found);
    } else if (markers().some(m => m.startsWith(buf))) {
      break; // a strict prefix of a marker at the very end: released as text below
    } else {
      body('<');
      buf = buf.slice(1);
    }
  }
  if (buf) {
    body(buf);
  }
  return { answer: texts.answer.join(''), reasoning: texts.reasoning.join('') };
}
