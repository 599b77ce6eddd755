import { Dialog, Notification } from '@jupyterlab/apputils';
import type { TranslationBundle } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';
import type { HpclabApi } from './api';
import type { CreateEnvBody, EnvCreateEvent } from './contract';
import { el } from './format';

/** The "New environment" form: what `hpclab envs create` asks, with the same defaults. */
export function newEnvForm(trans: TranslationBundle, profiles: string[]): Widget & { getValue(): CreateEnvBody } {
  const input = (name: string, placeholder: string) =>
    el('input', { type: 'text', class: 'jp-mod-styled', name, placeholder, 'aria-label': name });
  const name = input('name', trans.__('e.g. analysis'));
  const python = input('python', trans.__('python3 (default)'));
  const module = input('module', trans.__('e.g. python/3.11 (optional)'));
  const requirements = el('textarea', {
    class: 'jp-mod-styled',
    name: 'requirements',
    rows: '4',
    placeholder: trans.__('numpy\npandas==2.2'),
    'aria-label': trans.__('Requirements')
  });
  const profile = el(
    'select',
    { class: 'jp-mod-styled', name: 'profile', 'aria-label': trans.__('Kernel profile') },
    ...profiles.map(p => el('option', { value: p }, p))
  );
  const site = el('input', { type: 'checkbox', name: 'systemSitePackages' });
  const field = (label: string, control: HTMLElement) =>
    el('label', { class: 'jp-hpclab-field' }, el('span', {}, label), control);
  const body = new Widget({
    node: el(
      'div',
      { class: 'jp-hpclab-new-env' },
      field(trans.__('Name'), name),
      field(trans.__('Kernel profile'), profile),
      field(trans.__('Python'), python),
      field(trans.__('Module'), module),
      field(trans.__('Requirements'), requirements),
      el('label', { class: 'jp-hpclab-field' }, site, el('span', {}, trans.__("See the python's own packages")))
    )
  });
  const text = (e: HTMLInputElement | HTMLTextAreaElement) => e.value.trim() || undefined;
  return Object.assign(body, {
    getValue: (): CreateEnvBody => ({
      name: name.value.trim(),
      profile: profile.value || undefined,
      python: text(python),
      module: text(module),
      requirements: text(requirements),
      systemSitePackages: site.checked || undefined
    })
  });
}

/**
 * Asks for the env, makes it on the cluster with one notification that follows the steps and
 * pip's last line, and says what came of it. Resolves true when a kernel was registered.
 */
export async function createEnvInteractively(o: {
  api: HpclabApi;
  trans: TranslationBundle;
  cluster: string;
  profiles: string[];
}): Promise<boolean> {
  const { trans } = o;
  const result = await new Dialog<CreateEnvBody>({
    title: trans.__('New environment on %1', o.cluster),
    body: newEnvForm(trans, o.profiles),
    buttons: [Dialog.cancelButton(), Dialog.okButton({ label: trans.__('Create') })],
    focusNodeSelector: 'input'
  }).launch();
  if (!result.button.accept || !result.value) return false;
  const body = { ...result.value, cluster: o.cluster };
  const id = Notification.emit(trans.__('Making %1 on %2…', body.name, o.cluster), 'in-progress', {
    autoClose: false
  });
  const say = (message: string, type: Notification.TypeOptions = 'in-progress', autoClose: number | false = false) =>
    Notification.update({ id, message, type, autoClose });
  try {
    for await (const event of o.api.createEnv(body)) {
      const words = describeEnvEvent(event, trans);
      if (event.type === 'done') return (say(words, 'success', 8000), true);
      if (event.type === 'error') return (say(words, 'error'), false);
      say(words);
    }
    say(trans.__('The companion stopped answering before %1 was made.', body.name), 'error');
  } catch (err) {
    say(trans.__('Cannot make %1: %2', body.name, (err as Error).message), 'error');
  }
  return false;
}

/** One line for the notification: the step, pip's line, or how it ended. */
export function describeEnvEvent(event: EnvCreateEvent, trans: TranslationBundle): string {
  switch (event.type) {
    case 'step':
      return event.message;
    case 'output':
      return `${event.step}: ${event.line}`;
    case 'done':
      return trans.__(
        'Made %1 in %2 s; it is in the kernel picker as "%3".',
        event.env.path,
        Math.round(event.env.seconds),
        event.env.kernelspec.displayName
      );
    case 'error': {
      const where = event.field ? trans.__(' (change %1)', event.field) : '';
      const tail = event.tail.length > 0 ? `\n${event.tail.slice(-5).join('\n')}` : '';
      return `${event.message}${where}${tail}`;
    }
  }
}
