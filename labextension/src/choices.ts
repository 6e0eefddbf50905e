/**
 * The choices of one request (`n` > 1) under a turn, shown as the samples view shows samples
 * (draws.ts): how far they agree (the record's `agreement`, worked out by the kernel), one
 * button per choice, and the choice pressed rendered below (choice 1 is the turn's answer).
 */
import { agreementHead, drawStrip, el, IAgreement, letter } from './draws';
import { IRunRecord } from './types';
import { IViewOptions, MarkdownView } from './view';

interface IChoice {
  index?: number;
  answer?: string;
  finish_reason?: string | null;
}

/** Fill `host` with the choices of `record` (nothing, and hidden, when there are none). */
export function renderChoices(
  host: HTMLElement,
  record: IRunRecord,
  options: IViewOptions
): void {
  const rest = Array.isArray(record.choices)
    ? (record.choices as IChoice[]).filter(c => c && typeof c === 'object')
    : [];
  const key = JSON.stringify(rest);
  if (host.dataset.key === key) {
    return;
  }
  host.dataset.key = key;
  host.replaceChildren();
  host.hidden = rest.length === 0;
  if (!rest.length) {
    return;
  }
  const agreement = (
    record.agreement && typeof record.agreement === 'object'
      ? record.agreement
      : {}
  ) as IAgreement;
  const groups = agreement.groups || [];
  const name = (i: number) =>
    typeof groups[i] === 'number' ? letter(groups[i] as number) : '';
  const buttons = [0, ...rest.map((_, j) => j + 1)].map(i => {
    const number = i === 0 ? 1 : (rest[i - 1].index ?? i) + 1;
    const group = name(i);
    return {
      text: `Choice ${number}`,
      label:
        `choice ${number}` +
        (group ? ` · answer ${group}` : '') +
        (i === 0 ? ' · shown above' : ''),
      group
    };
  });
  const box = el(
    'div',
    'jp-ChatSamples-choice jp-RenderedHTMLCommon jp-RenderedMarkdown'
  );
  box.hidden = true;
  const view = new MarkdownView(box);
  host.append(
    agreementHead(agreement, 'choice'),
    drawStrip(buttons, 0, i => {
      host.dataset.shown = String(i);
      box.hidden = i === 0;
      if (i > 0) {
        void view.render(String(rest[i - 1].answer ?? ''), options, false);
      }
    }),
    box
  );
}
