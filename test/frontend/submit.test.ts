import './dom-polyfills';
import { HpclabApi } from '../../src/api';
import type { Profile } from '../../src/contract';
import { SubmitForm } from '../../src/submit/form';
import { notebookParameters } from '../../src/submit/parameters';
import { english } from '../../src/translate';
import { disposeShown, FakeModel, shown } from './fake-model';
import { fakeFetch } from './fixtures';

afterEach(disposeShown);

const notebook = (source: string | string[], tags = ['parameters']) =>
  JSON.stringify({
    cells: [
      { cell_type: 'markdown', metadata: { tags }, source: 'x = 1' },
      { cell_type: 'code', metadata: { tags }, source, outputs: [], execution_count: null },
      { cell_type: 'code', metadata: {}, source: 'print(lr)', outputs: [], execution_count: null }
    ],
    metadata: {},
    nbformat: 4,
    nbformat_minor: 5
  });

describe('notebookParameters', () => {
  test('reads name = value lines of the code cell tagged parameters, quotes and comments off', () => {
    const source = [
      'lr = 0.1  # learning rate\n',
      'label: str = "run #1"\n',
      "mode = 'fast'\n",
      'steps=100\n',
      'import os\n',
      'lr = 0.5\n',
      'data = {"a": 1}\n'
    ];
    expect(notebookParameters(notebook(source))).toEqual([
      { name: 'lr', value: '0.1' },
      { name: 'label', value: 'run #1' },
      { name: 'mode', value: 'fast' },
      { name: 'steps', value: '100' },
      { name: 'data', value: '{"a": 1}' }
    ]);
  });

  test('null without a parameters cell, or for text that is no notebook', () => {
    expect(notebookParameters(notebook('lr = 1', ['other']))).toBeNull();
    expect(notebookParameters('#!/bin/bash\necho hi\n')).toBeNull();
    expect(notebookParameters(notebook('# nothing assigned'))).toEqual([]);
  });
});

describe('the Submit dialog body', () => {
  const profiles: Profile[] = [
    { name: 'cpu', cluster: 'testbed', partition: 'debug', time: '00:30:00', cpus: 2, mem: '1G' } as Profile,
    { name: 'gpu', cluster: 'testbed', partition: 'gpu', gres: 'gpu:fake:1' } as Profile
  ];
  const preview = {
    cluster: 'testbed',
    runDir: '~/hpclab-runs/sweep-1',
    argv: ['--array=0-1'],
    script: '#!/bin/bash\n',
    taskCount: 2
  };

  function form(
    answers: Parameters<typeof fakeFetch>[0],
    fileName = 'sweep.ipynb',
    content = notebook('lr = 0.1\nlabel = "a"')
  ) {
    const { impl, calls } = fakeFetch(answers);
    const model = new FakeModel(new HpclabApi('', impl));
    model.profiles = profiles;
    const widget = shown(new SubmitForm({ model, trans: english, fileName, content }));
    const input = (name: string) => widget.node.querySelector<HTMLInputElement>(`[name="${name}"]`)!;
    const bodies = () => calls.map(c => JSON.parse(String(c.init.body)));
    return { widget, input, calls, bodies };
  }

  test("resources become sbatch words, swept parameters a grid, mail a field; the profile's values are placeholders", async () => {
    const { widget, input, bodies } = form({ 'POST /hpclab/api/runs/preview': { body: preview } });
    expect(input('time').placeholder).toBe('00:30:00');
    expect(input('param-lr').placeholder).toMatch(/^0\.1 \(default\)/);
    input('time').value = '02:00:00';
    input('gpus').value = '1';
    input('param-lr').value = '0.1,0.01';
    input('mail-END').checked = true;
    input('mail-FAIL').checked = true;
    widget.node.querySelector<HTMLTextAreaElement>('[name="sbatch"]')!.value = 'constraint=a100\n\n';
    input('array').value = '%1';
    expect(await widget.check()).toBe(true);
    expect(bodies().at(-1)).toEqual({
      profile: 'cpu',
      fileName: 'sweep.ipynb',
      content: expect.stringContaining('"parameters"'),
      sbatch: ['time=02:00:00', 'gres=gpu:1', 'constraint=a100'],
      mail: 'END,FAIL',
      params: ['lr=0.1,0.01'],
      array: '%1'
    });
    expect(widget.node.querySelector('.jp-hpclab-submit-summary')!.textContent).toBe(
      'An array of 2 tasks on testbed, in ~/hpclab-runs/sweep-1'
    );
    expect(widget.node.querySelector('.jp-hpclab-preview')!.textContent).toBe('sbatch --array=0-1\n\n#!/bin/bash\n');
  });

  test("a refused word's error shows under the field it came from; nothing is submitted", async () => {
    const error = (path: string, message: string) => ({
      status: 400,
      body: { error: { code: 'invalid', message: `${path}: ${message}`, fields: [{ path, message }] } }
    });
    const { widget, input, calls } = form({
      'POST /hpclab/api/runs/preview': error('sbatch[1]', 'mem: expected a size')
    });
    input('time').value = '01:00:00';
    input('mem').value = 'lots';
    expect(await widget.submit()).toBe(false);
    const box = widget.node.querySelector('[data-field="mem"] .jp-hpclab-field-error')!;
    expect(box.textContent).toBe('mem: expected a size');
    expect(input('mem').getAttribute('aria-invalid')).toBe('true');
    expect(calls.map(c => `${c.init.method} ${new URL(c.url).pathname}`)).toEqual(['POST /hpclab/api/runs/preview']);
    expect(widget.getValue()).toBeNull();
  });

  test('a parameter error points at its row; a script gets no parameter rows', async () => {
    const error = {
      status: 400,
      body: { error: { code: 'invalid', message: 'x', fields: [{ path: 'params[0]', message: 'bad value' }] } }
    };
    const { widget, input } = form({ 'POST /hpclab/api/runs/preview': error });
    input('param-label').value = 'a,$(x)';
    expect(await widget.check()).toBe(false);
    expect(widget.node.querySelector('[data-field="param-label"] .jp-hpclab-field-error')!.textContent).toBe(
      'bad value'
    );
    const script = form({ 'POST /hpclab/api/runs/preview': { body: preview } }, 'train.py', 'print(1)\n');
    expect(script.widget.node.querySelectorAll('[name^="param-"]')).toHaveLength(0);
  });

  test('submit checks, then posts the same body, and keeps the submitted run', async () => {
    const run = {
      cluster: 'testbed',
      runId: 'sweep-1',
      runDir: '~/r',
      jobId: '42',
      taskCount: 2,
      log: null,
      warning: null
    };
    const { widget, input, calls, bodies } = form({
      'POST /hpclab/api/runs/preview': { body: preview },
      'POST /hpclab/api/runs': { status: 201, body: run }
    });
    input('param-lr').value = '1,2';
    expect(await widget.submit()).toBe(true);
    expect(calls.map(c => new URL(c.url).pathname)).toEqual(['/hpclab/api/runs/preview', '/hpclab/api/runs']);
    expect(bodies()[1]).toEqual(bodies()[0]);
    expect(widget.getValue()).toEqual(run);
  });
});
