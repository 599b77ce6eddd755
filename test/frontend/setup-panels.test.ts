import './dom-polyfills';
import type { TranslationBundle } from '@jupyterlab/translation';
import { CommandRegistry } from '@lumino/commands';
import { Widget } from '@lumino/widgets';
import { HpclabApi } from '../../src/api';
import { HpclabModel } from '../../src/model';
import { AddClusterPanel } from '../../src/setup/add-cluster';
import { EditProfilesPanel } from '../../src/setup/edit-profiles';
import { setupContext } from '../../src/setup/context';
import { fakeFetch } from './fixtures';

// apputils ships ES modules jest does not load; the panels only need these three of it.
const notes: { message: string; type: string }[] = [];
jest.mock('@jupyterlab/apputils', () => ({
  Notification: {
    emit: (message: string, type: string) => (notes.push({ message, type }), String(notes.length)),
    update: (u: { message: string; type: string }) => (notes.push(u), true),
    success: (message: string) => notes.push({ message, type: 'success' }),
    error: (message: string) => notes.push({ message, type: 'error' })
  },
  Dialog: { cancelButton: () => ({ accept: false }), warnButton: () => ({ accept: true }) },
  showDialog: async () => ({ button: { accept: true } })
}));

const trans = {
  __: (s: string, ...args: unknown[]) => s.replace(/%(\d)/g, (_m, i) => String(args[Number(i) - 1]))
} as unknown as TranslationBundle;
const flush = () => new Promise(resolve => setTimeout(resolve, 0));
/** Shown in the page: a form submits only when it is in the document. */
const attached: Widget[] = [];
const shown = <T extends Widget>(w: T) => (Widget.attach(w, document.body), attached.push(w), w);
afterEach(() => {
  for (const w of attached.splice(0)) w.dispose();
  notes.splice(0);
});
const $ = <T extends HTMLElement>(root: HTMLElement, selector: string) => root.querySelector<T>(selector)!;

const proposal = { cluster: 'mycluster', partition: 'debug', time: '01:00:00', cpus: 1, env: { python: 'python3' } };
const discovery = {
  cluster: 'mycluster',
  host: 'mycluster',
  partitions: [{ name: 'debug', default: true, timeLimitSec: 3600, gpus: [] }],
  associations: null,
  envs: [],
  profiles: { cpu: proposal, gpu: { ...proposal, gres: 'gpu:1' } },
  existingProfiles: [],
  slurmCalls: 2,
  seconds: 3
};

function context(answers: Parameters<typeof fakeFetch>[0]) {
  const { impl, calls } = fakeFetch(answers);
  const model = new HpclabModel(new HpclabApi('', impl));
  const refreshed = jest.spyOn(model, 'refresh').mockResolvedValue();
  return { ctx: setupContext(model, new CommandRegistry(), trans), calls, refreshed };
}

test('add a cluster: pick a host, connect, uncheck a proposal, save only the checked one', async () => {
  const { ctx, calls, refreshed } = context({
    'GET /hpclab/api/setup': { body: { configPath: '/c.json', configured: false, hosts: ['mycluster', 'other'] } },
    'POST /hpclab/api/setup/discover': { body: discovery },
    'POST /hpclab/api/setup/save': { body: { configPath: '/c.json', cluster: 'mycluster', added: ['cpu'] } }
  });
  const panel = shown(new AddClusterPanel(ctx));
  await flush();
  expect(panel.node.dataset.hpclabStep).toBe('host');
  expect([...panel.node.querySelectorAll('select[data-hpclab-field="host"] option')].map(o => o.textContent)).toEqual([
    'mycluster',
    'other'
  ]);
  $<HTMLButtonElement>(panel.node, '[data-hpclab-action="connect"]').click();
  await flush();
  expect(JSON.parse(String(calls[1].init.body))).toEqual({ host: 'mycluster' });
  expect(panel.node.dataset.hpclabStep).toBe('review');
  expect(notes.map(n => n.type)).toEqual(['in-progress', 'success']);
  $<HTMLInputElement>(panel.node, 'input[data-hpclab-profile="gpu"]').click();
  $<HTMLButtonElement>(panel.node, '[data-hpclab-action="save"]').click();
  await flush();
  expect(JSON.parse(String(calls[2].init.body))).toEqual({
    host: 'mycluster',
    cluster: 'mycluster',
    profiles: { cpu: proposal }
  });
  expect(panel.node.dataset.hpclabStep).toBe('done');
  expect(refreshed).toHaveBeenCalled();
});

test('add a cluster: no hosts in ~/.ssh/config explains what to add; a failed connect is said in words', async () => {
  const { ctx } = context({
    'GET /hpclab/api/setup': { body: { configPath: '/c.json', configured: false, hosts: [] } },
    'POST /hpclab/api/setup/discover': {
      status: 502,
      body: { error: { code: 'ssh', message: 'Permission denied (publickey)' } }
    }
  });
  const panel = shown(new AddClusterPanel(ctx));
  await flush();
  expect(panel.node.textContent).toContain('add a Host entry');
  const host = $<HTMLInputElement>(panel.node, 'input[data-hpclab-field="host"]');
  host.value = 'login.example.org';
  $<HTMLButtonElement>(panel.node, '[data-hpclab-action="connect"]').click();
  await flush();
  expect(panel.node.dataset.hpclabStep).toBe('host');
  expect(panel.node.querySelector('.jp-hpclab-form-status')?.textContent).toContain('Permission denied');
  expect(panel.node.querySelector('fieldset')?.disabled).toBe(false);
  expect(notes.at(-1)).toMatchObject({ type: 'error', message: expect.stringContaining('Permission denied') });
});

test('edit profiles: open one, change a field, keep env, show a field error beside the field', async () => {
  const written = { cluster: 'mycluster', partition: 'debug', time: '01:00:00', env: { conda: 'ml' } };
  const { ctx, calls } = context({
    'GET /hpclab/api/clusters': { body: ['mycluster'] },
    'GET /hpclab/api/profiles': { body: [{ name: 'cpu', cluster: 'mycluster' }] },
    'GET /hpclab/api/profiles/cpu/config': { body: { name: 'cpu', profile: written } },
    'PUT /hpclab/api/profiles/cpu': {
      status: 400,
      body: {
        error: { code: 'invalid', message: 'bad', fields: [{ path: 'profile.time', message: 'expected HH:MM:SS' }] }
      }
    }
  });
  const panel = shown(new EditProfilesPanel(ctx));
  await flush();
  $<HTMLButtonElement>(panel.node, '[data-hpclab-profile-list] [data-hpclab-profile="cpu"]').click();
  await flush();
  expect(panel.node.querySelector('[data-hpclab-profile-form]')?.getAttribute('data-profile')).toBe('cpu');
  $<HTMLInputElement>(panel.node, '[data-hpclab-field="time"]').value = 'soon';
  $<HTMLButtonElement>(panel.node, '[data-hpclab-action="save-profile"]').click();
  await flush();
  const put = calls.find(c => c.init.method === 'PUT')!;
  expect(JSON.parse(String(put.init.body))).toEqual({ profile: { ...written, time: 'soon' } });
  expect(panel.node.querySelector('[data-field="time"] .jp-hpclab-field-error')?.textContent).toBe('expected HH:MM:SS');
});

test('edit profiles: a new profile is put under its name; a taken name is refused before any request; remove asks first', async () => {
  const { ctx, calls, refreshed } = context({
    'GET /hpclab/api/clusters': { body: ['a', 'b'] },
    'GET /hpclab/api/profiles': { body: [{ name: 'cpu', cluster: 'a' }] },
    'GET /hpclab/api/profiles/cpu/config': { body: { name: 'cpu', profile: { cluster: 'a' } } },
    'PUT /hpclab/api/profiles/big': { body: { name: 'big', profile: { cluster: 'b', mem: '64G' } } },
    'DELETE /hpclab/api/profiles/cpu': { body: { name: 'cpu', removed: true } }
  });
  const panel = shown(new EditProfilesPanel(ctx));
  await flush();
  $<HTMLButtonElement>(panel.node, '[data-hpclab-action="new-profile"]').click();
  const name = $<HTMLInputElement>(panel.node, '[data-hpclab-field="name"]');
  name.value = 'cpu';
  $<HTMLButtonElement>(panel.node, '[data-hpclab-action="save-profile"]').click();
  await flush();
  expect(panel.node.querySelector('[data-field="name"] .jp-hpclab-field-error')?.textContent).toContain(
    'exists already'
  );
  expect(calls.some(c => c.init.method === 'PUT')).toBe(false);
  name.value = 'big';
  $<HTMLSelectElement>(panel.node, '[data-hpclab-field="cluster"]').value = 'b';
  $<HTMLInputElement>(panel.node, '[data-hpclab-field="mem"]').value = '64G';
  $<HTMLButtonElement>(panel.node, '[data-hpclab-action="save-profile"]').click();
  await flush();
  expect(JSON.parse(String(calls.find(c => c.init.method === 'PUT')!.init.body))).toEqual({
    profile: { cluster: 'b', mem: '64G' }
  });
  expect(panel.node.querySelector('[data-hpclab-profile-form]')?.getAttribute('data-profile')).toBe('big');
  expect(refreshed).toHaveBeenCalled();
  $<HTMLButtonElement>(panel.node, '[data-hpclab-profile="cpu"]').click();
  await flush();
  $<HTMLButtonElement>(panel.node, '[data-hpclab-action="remove-profile"]').click();
  await flush();
  expect(calls.some(c => c.init.method === 'DELETE' && c.url.endsWith('/api/profiles/cpu'))).toBe(true);
  expect(panel.node.querySelector('[data-hpclab-profile-form]')).toBeNull();
});
