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
