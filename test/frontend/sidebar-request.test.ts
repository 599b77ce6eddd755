import './dom-polyfills';
import { HpclabApi } from '../../src/api';
import type { Profile } from '../../src/contract';
import { RequestSection, sbatchMap } from '../../src/sidebar/request';
import { disposeShown, FakeModel, sectionContext, shown } from './fake-model';
import { fakeFetch } from './fixtures';

afterEach(disposeShown);

const profile = { name: 'cpu', cluster: 'testbed', partition: 'debug', time: '00:30:00' } as Profile;

function section(answers: Parameters<typeof fakeFetch>[0]) {
  const { impl, calls } = fakeFetch(answers);
  const model = new FakeModel(new HpclabApi('', impl));
  model.profiles = [profile];
  model.clusters = ['testbed'];
  const s = shown(new RequestSection(sectionContext(model)));
  const input = (name: string) => s.node.querySelector<HTMLInputElement>(`[name="${name}"]`)!;
  const check = () => (s as unknown as { check(): Promise<boolean> }).check();
  return { s, input, check, calls };
}

test('KEY=VALUE lines become sbatch options by name; a bare key is a flag', () => {
  expect(sbatchMap(' exclusive \n\n--licenses=matlab:1\nsignal=B:USR1@60 ')).toEqual({
    exclusive: '',
    licenses: 'matlab:1',
    signal: 'B:USR1@60'
  });
  expect(sbatchMap('')).toEqual({});
});

test('mail events and address, and more sbatch options, go in the overrides; the preview shows the sbatch line', async () => {
  const preview = { script: '#!/bin/bash\n', argv: ['--mail-type=END,FAIL', '--exclusive'] };
  const { s, input, check, calls } = section({ 'POST /hpclab/api/sessions/preview': { body: preview } });
  input('mail-END').checked = true;
  input('mail-FAIL').checked = true;
  input('mailUser').value = 'me@example.org';
  s.node.querySelector<HTMLTextAreaElement>('[name="sbatch"]')!.value = 'exclusive';
  expect(await check()).toBe(true);
  expect(JSON.parse(String(calls.at(-1)!.init.body)).overrides).toEqual({
    time: '00:30:00',
    mailType: 'END,FAIL',
    mailUser: 'me@example.org',
    sbatch: { exclusive: '' }
  });
  expect(s.node.querySelector('.jp-hpclab-preview')!.textContent).toBe(
    '#!/bin/bash\n\n# sbatch --mail-type=END,FAIL --exclusive\n'
  );
});

test('a refused mail type or sbatch option shows under its field', async () => {
  const fields = [
    { path: 'overrides.mailType', message: 'expected a comma list of NONE, BEGIN, END' },
    { path: 'overrides.sbatch', message: '"--output" cannot be set here' }
  ];
  const { s, check } = section({
    'POST /hpclab/api/sessions/preview': { status: 400, body: { error: { code: 'invalid', message: 'x', fields } } }
  });
  expect(await check()).toBe(false);
  const error = (field: string) => s.node.querySelector(`[data-field="${field}"] .jp-hpclab-field-error`)!.textContent;
  expect([error('mail'), error('sbatch')]).toEqual([fields[0].message, fields[1].message]);
  expect(s.node.querySelector('[name="sbatch"]')!.getAttribute('aria-invalid')).toBe('true');
});

describe('the node picker and Exclusive node', () => {
  const partition = (name: string) => ({
    name,
    isDefault: name === 'debug',
    available: 'up',
    timeLimit: 3600,
    nodes: { idle: 1, mixed: 0, allocated: 0, down: 1, other: 0, total: 2 },
    cpus: { total: 16, allocated: 0, idle: 16 },
    gpus: []
  });
  const node = (name: string, state: string, partitions = ['debug']) => ({
    name,
    state,
    partitions,
    cpus: { total: 8, allocated: state === 'idle' ? 0 : 8 },
    memMB: 4000,
    gpus: [],
    features: []
  });
  const flush = () => new Promise(resolve => setTimeout(resolve, 0));
  const preview = { script: '#!/bin/bash\n', argv: ['--nodelist=c1', '--exclusive'] };

  function form(answers: Parameters<typeof fakeFetch>[0]) {
    const { impl, calls } = fakeFetch({ 'POST /hpclab/api/sessions/preview': { body: preview }, ...answers });
    const model = new FakeModel(new HpclabApi('', impl));
    model.profiles = [profile];
    model.clusters = ['testbed'];
    model.status = new Map([
      [
        'testbed',
        { cluster: 'testbed', fetchedAt: 'now', partitions: [partition('debug'), partition('gpu')], jobs: [] }
      ]
    ]);
    const s = shown(new RequestSection(sectionContext(model)));
    const picker = s.node.querySelector<HTMLSelectElement>('[data-field="nodelist"] select')!;
    const options = () => [...picker.options].map(o => ({ value: o.value, text: o.textContent, disabled: o.disabled }));
    const note = () => s.node.querySelector('.jp-hpclab-node-note')!.textContent;
    const check = () => (s as unknown as { check(): Promise<boolean> }).check();
    const lastPreview = () =>
      JSON.parse(String(calls.filter(c => c.url.endsWith('/preview')).at(-1)!.init.body)).overrides;
    return { s, picker, options, note, check, calls, lastPreview };
  }

  test("lists the partition's nodes: Any node first, idle ones selectable, others disabled with their state", async () => {
    const { picker, options, calls } = form({
      'GET /hpclab/api/clusters/testbed/nodes?partition=debug': {
        body: [node('c2', 'down'), node('c1', 'idle')]
      }
    });
    await flush();
    expect(calls[0].url).toBe('http://localhost/hpclab/api/clusters/testbed/nodes?partition=debug');
    expect(options()).toEqual([
      { value: '', text: 'Any node', disabled: false },
      { value: 'c1', text: 'c1 · idle · 8 CPUs free', disabled: false },
      { value: 'c2', text: 'c2 · down', disabled: true }
    ]);
    expect(picker.value).toBe('');
  });

  test('a picked node sets overrides.nodelist; Exclusive node sets sbatch.exclusive to a flag', async () => {
    const { s, picker, check, lastPreview } = form({
      'GET /hpclab/api/clusters/testbed/nodes?partition=debug': { body: [node('c1', 'idle')] }
    });
    await flush();
    expect(await check()).toBe(true);
    expect(lastPreview()).toEqual({ partition: 'debug', time: '00:30:00' });
    picker.value = 'c1';
    const exclusive = s.node.querySelector<HTMLInputElement>('[data-field="exclusive"] input[type="checkbox"]')!;
    exclusive.checked = true;
    exclusive.dispatchEvent(new Event('change', { bubbles: true }));
    expect(await check()).toBe(true);
    expect(lastPreview()).toEqual({
      partition: 'debug',
      time: '00:30:00',
      nodelist: 'c1',
      sbatch: { exclusive: '' }
    });
    // More sbatch options keep their place beside it.
    s.node.querySelector<HTMLTextAreaElement>('[name="sbatch"]')!.value = 'licenses=matlab:1';
    expect(await check()).toBe(true);
    expect(lastPreview().sbatch).toEqual({ licenses: 'matlab:1', exclusive: '' });
  });

  test('another partition reloads the list; a pick that is not in it falls back to Any node', async () => {
    const { s, picker, options, note } = form({
      'GET /hpclab/api/clusters/testbed/nodes?partition=debug': { body: [node('c1', 'idle')] },
      'GET /hpclab/api/clusters/testbed/nodes?partition=gpu': { body: [node('g1', 'idle', ['gpu'])] }
    });
    await flush();
    picker.value = 'c1';
    const partitionSelect = s.node.querySelector<HTMLSelectElement>('[data-field="partition"] select')!;
    partitionSelect.value = 'gpu';
    partitionSelect.dispatchEvent(new Event('change', { bubbles: true }));
    await flush();
    expect(options().map(o => o.value)).toEqual(['', 'g1']);
    expect(picker.value).toBe('');
    expect(note()).toBe('c1 cannot be picked now: any node instead.');
  });

  test('ticking Exclusive lets go of a mixed node, which an exclusive job cannot have', async () => {
    const mixed = { ...node('c2', 'mixed'), cpus: { total: 8, allocated: 2 } };
    const { s, picker, options } = form({
      'GET /hpclab/api/clusters/testbed/nodes?partition=debug': { body: [mixed] }
    });
    await flush();
    picker.value = 'c2';
    expect(picker.value).toBe('c2');
    const exclusive = s.node.querySelector<HTMLInputElement>('[name="exclusive"]')!;
    exclusive.checked = true;
    exclusive.dispatchEvent(new Event('change', { bubbles: true }));
    expect(options()[1]).toEqual({ value: 'c2', text: 'c2 · mixed', disabled: true });
    expect(picker.value).toBe('');
  });

  test('a failure to list the nodes is said under the picker, and the form still works', async () => {
    const { note, options, check, s } = form({
      'GET /hpclab/api/clusters/testbed/nodes?partition=debug': {
        status: 502,
        body: { error: { code: 'transport', message: 'sinfo failed: connection lost' } }
      }
    });
    await flush();
    expect(note()).toBe('Cannot list the nodes: sinfo failed: connection lost');
    expect(s.node.querySelector('.jp-hpclab-node-note')!.classList).toContain('jp-hpclab-field-error');
    expect(options()).toEqual([{ value: '', text: 'Any node', disabled: false }]);
    expect(await check()).toBe(true);
  });

  test('a refused node list or exclusive flag shows under its own field', async () => {
    const fields = [
      { path: 'overrides.nodelist', message: 'a Slurm node list: names or ranges such as c[1-4],gpu01' },
      { path: 'overrides.sbatch.exclusive', message: 'not allowed on this cluster' }
    ];
    const { s, check } = form({
      'GET /hpclab/api/clusters/testbed/nodes?partition=debug': { body: [] },
      'POST /hpclab/api/sessions/preview': { status: 400, body: { error: { code: 'invalid', message: 'x', fields } } }
    });
    await flush();
    expect(await check()).toBe(false);
    const error = (field: string) =>
      s.node.querySelector(`[data-field="${field}"] .jp-hpclab-field-error`)!.textContent;
    expect([error('nodelist'), error('exclusive')]).toEqual([fields[0].message, fields[1].message]);
  });
});
