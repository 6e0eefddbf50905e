/**
 * The footer of a turn: model, seed, tokens, cost, time, thread, finish, replay and signature
 * state, as the kernel's footer (jupyter_chat/display/footer.py `footer`) says them. Names that do not
 * look like ids are quoted, so a model name cannot pose as another part of the footer; the
 * signature badge is the browser's own verdict (signature.ts).
 */
import { IVerdict } from './signature';
import { IRunRecord, IUsage, TurnStatus } from './types';

const ID = /^[A-Za-z0-9_.:/@+-]{1,128}$/;
// control characters are exactly what this removes
// eslint-disable-next-line no-control-regex
const CONTROLS = /[\x00-\x1f\x7f-\x9f]/g;

/** A provider, model or thread name as shown: quoted unless it looks like an id. */
export function safeId(value: unknown): string {
  const text = String(value);
  return ID.test(text)
    ? text
    : JSON.stringify(text.replace(CONTROLS, ' ').slice(0, 80));
}

function item(cls: string, text: string, title?: string): HTMLElement {
  const node = document.createElement('span');
  node.className = `jp-ChatTurn-item ${cls}`;
  node.textContent = text;
  if (title) {
    node.title = title;
  }
  return node;
}

export function footerItems(
  record: IRunRecord,
  status: TurnStatus,
  usage: IUsage | null | undefined,
  signature: IVerdict | null
): HTMLElement[] {
  const items: HTMLElement[] = [];
  if (status !== 'complete') {
    items.push(item(`jp-ChatTurn-state jp-mod-${safeClass(status)}`, status));
  }
  if (record.provider || record.served_model || record.model) {
    const title = [
      record.host ? `host ${record.host}` : '',
      record.system_fingerprint
        ? `system_fingerprint ${record.system_fingerprint}`
        : '',
      record.request_hash ? `request ${record.request_hash}` : ''
    ]
      .filter(Boolean)
      .join('\n');
    const model = [record.provider, record.served_model || record.model]
      .filter(Boolean)
      .map(safeId)
      .join(':');
    items.push(item('jp-ChatTurn-model', model, title));
  }
  const seed = record.params?.seed;
  if (typeof seed === 'number') {
    items.push(item('jp-ChatTurn-seed', `seed ${seed}`));
  }
  const u = record.usage || usage;
  if (u && typeof u.total_tokens === 'number') {
    const parts = [];
    if (typeof u.prompt_tokens === 'number') {
      parts.push(`${u.prompt_tokens} prompt`);
    }
    if (typeof u.completion_tokens === 'number') {
      parts.push(`${u.completion_tokens} completion`);
    }
    items.push(
      item('jp-ChatTurn-tokens', `${u.total_tokens} tokens`, parts.join(' + '))
    );
  }
  const cost = record.cost;
  if (cost && typeof cost.usd === 'number' && Number.isFinite(cost.usd)) {
    const source =
      cost.source === 'provider' ? 'as the provider reported' : 'from [prices]';
    items.push(
      item(
        'jp-ChatTurn-cost',
        record.replayed === true ? `${usd(cost.usd)} saved` : usd(cost.usd),
        record.replayed === true
          ? `Replayed: not paid again (the answer cost ${usd(cost.usd)}, ${source})`
          : `Cost ${source}`
      )
    );
  }
  if (typeof record.latency_ms === 'number' && status !== 'streaming') {
    items.push(
      item('jp-ChatTurn-time', `${(record.latency_ms / 1000).toFixed(1)} s`)
    );
  }
  if (record.thread && record.thread !== 'default') {
    items.push(item('jp-ChatTurn-thread', `thread ${safeId(record.thread)}`));
  }
  const finish = record.finish_reason;
  if (finish === 'length') {
    items.push(item('jp-ChatTurn-finish', 'cut at the token limit'));
  } else if (
    typeof finish === 'string' &&
    !['stop', 'tool_calls'].includes(finish)
  ) {
    items.push(item('jp-ChatTurn-finish', `finish ${safeId(finish)}`));
  }
  if (record.replayed === true) {
    items.push(
      item(
        'jp-ChatTurn-replayed',
        'replayed',
        'Answer replayed from the recording'
      )
    );
  }
  if (signature) {
    const mod =
      signature.state === 'verified'
        ? 'jp-mod-ok'
        : signature.state === 'invalid'
          ? 'jp-mod-bad'
          : 'jp-mod-unknown';
    const node = item(
      `jp-ChatTurn-signature ${mod}`,
      `signature ${signature.label || signature.state}`,
      signature.reason
    );
    node.dataset.checked = 'browser';
    if (signature.signers) {
      node.dataset.signers = signature.signers; // whose signer table decided
    }
    items.push(node);
  }
  return items;
}

/** `$0.0012`, `$0.012`, `$1.23`: two significant digits below a dollar (as the kernel). */
export function usd(x: number): string {
  if (x <= 0) {
    return '$0';
  }
  const decimals = x >= 0.1 ? 2 : Math.min(8, 1 - Math.floor(Math.log10(x)));
  return (
    '$' +
    x.toLocaleString('en-US', {
      minimumFractionDigits: decimals,
      maximumFractionDigits: decimals
    })
  );
}

function safeClass(status: string): string {
  return /^[a-z]+$/.test(status) ? status : 'unknown';
}
