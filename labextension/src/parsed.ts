/**
 * A structured answer (`%%chat --schema`, `schema=`): the validated value as a table (an
 * object of plain values, a list of such objects, a list of plain values) or an indented JSON
 * tree, by the kernel's rules (jupyter_chat/display/structured.py). Text only: nothing in the
 * value is ever parsed as HTML.
 */

export const MAX_ROWS = 50;

type Scalar = string | number | boolean | null;

function isScalar(v: unknown): v is Scalar {
  return (
    v === null ||
    typeof v === 'string' ||
    typeof v === 'number' ||
    typeof v === 'boolean'
  );
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function shown(v: unknown): string {
  return typeof v === 'string' ? v.replace(/\s+/g, ' ') : JSON.stringify(v);
}

/** A header and rows when the value reads as a table, else null. */
export function parsedRows(
  value: unknown
): { header: string[]; rows: string[][] } | null {
  if (
    isPlainObject(value) &&
    Object.keys(value).length &&
    Object.values(value).every(isScalar)
  ) {
    return {
      header: ['field', 'value'],
      rows: Object.entries(value).map(([k, v]) => [k, shown(v)])
    };
  }
  if (Array.isArray(value) && value.length) {
    const head = value.slice(0, MAX_ROWS);
    if (head.every(r => isPlainObject(r) && Object.values(r).every(isScalar))) {
      const cols: string[] = [];
      for (const r of head as Record<string, unknown>[]) {
        for (const k of Object.keys(r)) {
          if (!cols.includes(k)) {
            cols.push(k);
          }
        }
      }
      return {
        header: cols,
        rows: (head as Record<string, unknown>[]).map(r =>
          cols.map(c => (c in r ? shown(r[c]) : ''))
        )
      };
    }
    if (head.every(isScalar)) {
      return {
        header: ['#', 'value'],
        rows: head.map((v, n) => [String(n), shown(v)])
      };
    }
  }
  return null;
}

/** The parsed value under its schema's name, as DOM built from text. */
export function renderParsed(value: unknown, schema: string): HTMLElement {
  const box = document.createElement('div');
  box.className = 'jp-ChatTurn-parsed';
  const caption = document.createElement('div');
  caption.className = 'jp-ChatTurn-parsedName';
  caption.textContent = schema;
  box.append(caption);
  const shape = parsedRows(value);
  if (!shape) {
    const pre = document.createElement('pre');
    pre.textContent = JSON.stringify(value, null, 2);
    box.append(pre);
    return box;
  }
  const table = document.createElement('table');
  const head = table.createTHead().insertRow();
  for (const h of shape.header) {
    const th = document.createElement('th');
    th.textContent = h;
    head.append(th);
  }
  const body = table.createTBody();
  for (const row of shape.rows) {
    const tr = body.insertRow();
    for (const cell of row) {
      tr.insertCell().textContent = cell;
    }
  }
  box.append(table);
  if (Array.isArray(value) && value.length > MAX_ROWS) {
    const more = document.createElement('div');
    more.className = 'jp-ChatTurn-parsedMore';
    more.textContent = `… and ${value.length - MAX_ROWS} more`;
    box.append(more);
  }
  return box;
}
