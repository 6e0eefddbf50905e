/**
 * The markup the kernel's sanitizer lets through in an answer's section of text/markdown
 * (jupyter_chat/display/sanitize.py, as renderings.py checks it), and the tags that mean
 * something (their places are compared, not only the text).
 */

const TAG = /<[^>]*>/g;

// the markup the kernel's sanitizer lets through (sanitize.py), with the values it leaves
export const SECTION_TAGS = [
  'a', 'abbr', 'b', 'blockquote', 'br', 'code', 'del', 'div', 'em', 'h1', 'h2', 'h3', 'h4',
  'h5', 'h6', 'hr', 'i', 'kbd', 'li', 'ol', 'p', 'pre', 's', 'span', 'strong', 'sub', 'sup',
  'table', 'tbody', 'td', 'th', 'thead', 'tr', 'ul'
]; // prettier-ignore
export const SECTION_ATTRIBUTES: Record<string, string[]> = {
  a: ['href', 'title', 'target', 'rel'],
  ol: ['start'],
  code: ['class'],
  div: ['class'],
  span: ['class', 'title'],
  pre: ['class'],
  h1: ['class'],
  h2: ['class'],
  h3: ['class'],
  h4: ['class'],
  h5: ['class'],
  h6: ['class']
};
const FIXED: Record<string, string> = {
  'a target': '_blank',
  'a rel': 'noopener noreferrer nofollow',
  'div class': 'highlight jupyter-chat-code',
  'pre class': 'jupyter-chat-long'
};
const CLASS =
  /^(?:language-[A-Za-z0-9_+-]{1,32}|jupyter-chat-blocked|jp-toc-ignore|[a-z]{1,3}[0-9]?)$/;
const HEADING_CLASS = 'jp-toc-ignore';
const TAG_PARTS = /^<(\/?)([a-z][a-z0-9]*)((?: [a-z-]+="[^"<>]*")*) ?\/?>$/;
const ATTR = / ([a-z-]+)="([^"<>]*)"/g;
const NEUTRAL = new Set(['p', 'br', 'pre', 'code', 'div', 'span']);
const FOREIGN = 'the Markdown output holds markup the kernel never makes';

export function tagsOf(fragment: string): string[] {
  return fragment.match(TAG) || [];
}

/** Why a section's HTML holds markup the kernel's renderer never makes, or null. */
export function markupProblem(fragment: string): string | null {
  for (const tag of tagsOf(fragment)) {
    const m = TAG_PARTS.exec(tag);
    if (!m || !SECTION_TAGS.includes(m[2]) || (m[1] && m[3])) {
      return FOREIGN;
    }
    const name = m[2];
    ATTR.lastIndex = 0;
    for (let a = ATTR.exec(m[3]); a; a = ATTR.exec(m[3])) {
      const [, attr, value] = a;
      const fixed = FIXED[`${name} ${attr}`];
      const ok =
        (SECTION_ATTRIBUTES[name] || []).includes(attr) &&
        (fixed !== undefined
          ? value === fixed
          : attr !== 'class' ||
            (name.startsWith('h')
              ? value === HEADING_CLASS
              : CLASS.test(value)));
      if (!ok) {
        return FOREIGN;
      }
    }
  }
  return null;
}

/** The tags of a section that mean something (emphasis, links, lists, an image's name). */
export function skeleton(fragment: string): string[] {
  return tagsOf(fragment).filter(tag => {
    const m = TAG_PARTS.exec(tag);
    return !!m && (!NEUTRAL.has(m[2]) || tag.includes('jupyter-chat-blocked'));
  });
}

// the static rendering of a signed turn's token probabilities (display/logprobs.py)
const BLOCK_TAGS = [
  'div', 'details', 'summary', 'p', 'br', 'u', 'mark', 'strong', 'sub', 'code', 'table',
  'thead', 'tbody', 'tr', 'th', 'td'
]; // prettier-ignore
/** Attributes the block's tags may have, with their one value (null: any value). */
const BLOCK_ATTRIBUTES: Record<string, string | null> = {
  'div class': 'jupyter-chat-logprobs',
  'p class': 'jupyter-chat-tokens',
  'u title': null,
  'mark title': null
};

/** Why the token probabilities' block holds markup the kernel never makes there, or null. */
export function blockMarkupProblem(fragment: string): string | null {
  for (const tag of tagsOf(fragment)) {
    const m = TAG_PARTS.exec(tag);
    if (!m || !BLOCK_TAGS.includes(m[2]) || (m[1] && m[3])) {
      return FOREIGN;
    }
    ATTR.lastIndex = 0;
    for (let a = ATTR.exec(m[3]); a; a = ATTR.exec(m[3])) {
      const key = `${m[2]} ${a[1]}`;
      if (
        !(key in BLOCK_ATTRIBUTES) ||
        (BLOCK_ATTRIBUTES[key] !== null && BLOCK_ATTRIBUTES[key] !== a[2])
      ) {
        return FOREIGN;
      }
    }
  }
  return null;
}
