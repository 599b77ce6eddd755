import { el } from './format';
import type { Words } from './translate';

/** The mail events both forms offer (Slurm's --mail-type takes more; these are the ones asked for). */
const MAIL_EVENTS = ['BEGIN', 'END', 'FAIL'] as const;

/**
 * Mail events as a group of checkboxes (named `mail-BEGIN`…), for the Request form and the
 * Submit dialog alike; `register` gets each box, `error` shows under the group.
 */
export function mailFieldset(trans: Words, register: (box: HTMLInputElement) => void, error: HTMLElement): HTMLElement {
  const boxes = MAIL_EVENTS.map(event => {
    const box = el('input', { type: 'checkbox', value: event, name: `mail-${event}` });
    register(box);
    return el('label', { class: 'jp-hpclab-check' }, box, event.toLowerCase());
  });
  return el(
    'fieldset',
    { class: 'jp-hpclab-mail', dataset: { field: 'mail' } },
    el('legend', {}, trans.__('Mail me at')),
    ...boxes,
    error
  );
}

/** The checked events as --mail-type takes them (`END,FAIL`); empty when none is checked. */
export function checkedMail(box: (name: string) => unknown): string {
  return MAIL_EVENTS.filter(e => {
    const input = box(`mail-${e}`);
    return input instanceof HTMLInputElement && input.checked;
  }).join(',');
}
