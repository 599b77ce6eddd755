import './dom-polyfills';
import { HpclabApi } from '../../src/api';
import type { HistoryJob, Run } from '../../src/contract';
import { HistorySection } from '../../src/sidebar/history';
import { RunsSection } from '../../src/sidebar/runs';
import { CommandIDs } from '../../src/tokens';
import { disposeShown, FakeModel, recordingCommands, redraw, sectionContext, shown } from './fake-model';
import { fakeFetch } from './fixtures';

afterEach(disposeShown);

const run = (over: Partial<Run> = {}): Run => ({
  cluster: 'testbed',
  runId: 'sweep-20261205-120000-ab12',
  file: 'sweep.ipynb',
  kind: 'notebook',
  profile: 'cpu',
  jobId: '41',
  createdAt: '2026-12-05T12:00:00Z',
  taskCount: 2,
  params: [{ lr: 0.1 }, { lr: 0.01 }],
  tasks: [
    { jobId: '41_0', taskId: '0', state: 'COMPLETED', exitCode: '0:0', node: 'c1', runTime: '0:05', reason: null },
    { jobId: '41_1', taskId: '1', state: 'RUNNING', exitCode: null, node: 'c1', runTime: '0:03', reason: null }
  ],
  ...over
});

const flush = () => new Promise(resolve => setTimeout(resolve, 0));

describe('runs section', () => {
  test("each run with its tasks' states; cancel while a task runs; outputs open through the command", async () => {
    const { impl } = fakeFetch({
      'GET /hpclab/api/clusters/testbed/runs/sweep-20261205-120000-ab12/outputs': {
        body: { outputs: [{ path: 'out/sweep_0.ipynb', size: 2048 }] }
      }
    });
    const model = new FakeModel(new HpclabApi('', impl));
    model.runs.set('testbed', {
      runs: [run(), run({ runId: 'old-20261201-000000-0000', jobId: '7', tasks: null })],
      problems: []
    });
    const { commands, ran } = recordingCommands([CommandIDs.jobAction, CommandIDs.openRunOutput]);
    const section = shown(new RunsSection(sectionContext(model, commands)));
    const blocks = [...section.node.querySelectorAll<HTMLElement>('.jp-hpclab-run')];
    expect(blocks.map(b => b.dataset.run)).toEqual(['sweep-20261205-120000-ab12', 'old-20261201-000000-0000']);
    const chips = [...blocks[0].querySelectorAll<HTMLElement>('.jp-hpclab-task')];
    expect(chips.map(c => [c.dataset.task, c.dataset.state, c.textContent])).toEqual([
      ['0', 'COMPLETED', '0: completed'],
      ['1', 'RUNNING', '1: running']
    ]);
    expect(blocks[1].querySelector('.jp-hpclab-run-ended')).not.toBeNull();
    expect(blocks[1].querySelector('[data-action="cancel"]')).toBeNull();

    blocks[0].querySelector<HTMLButtonElement>('[data-action="cancel"]')!.click();
    blocks[0].querySelector<HTMLButtonElement>('[data-action="outputs"]')!.click();
    await flush();
    redraw();
    const open = section.node.querySelector<HTMLButtonElement>('[data-output="out/sweep_0.ipynb"]')!;
    expect(open.parentElement!.textContent).toBe('out/sweep_0.ipynb 2.0 KiB');
    open.click();
    expect(ran).toEqual([
      { id: CommandIDs.jobAction, args: { cluster: 'testbed', jobId: '41', action: 'cancel' } },
      {
        id: CommandIDs.openRunOutput,
        args: { cluster: 'testbed', runId: 'sweep-20261205-120000-ab12', path: 'out/sweep_0.ipynb' }
      }
    ]);
  });

  test('a cluster whose runs could not be read says why; none at all says how to start one', () => {
    const model = new FakeModel();
    const section = shown(new RunsSection(sectionContext(model)));
    expect(section.node.textContent).toMatch(/No runs yet/);
    model.set({
      runs: new Map([['testbed', { runs: [], problems: ['cannot read ~/hpclab-runs: permission denied'] }]])
    });
    redraw();
    expect(section.node.querySelector('.jp-hpclab-note-error')!.textContent).toBe(
      'testbed: cannot read ~/hpclab-runs: permission denied'
    );
  });
});

describe('history section', () => {
  const job = (jobId: string, over: Partial<HistoryJob> = {}): HistoryJob => ({
    jobId,
    name: 'train',
    partition: 'debug',
    state: 'COMPLETED',
    exitCode: 0,
    elapsed: 3725,
    submitTime: null,
    startTime: null,
    endTime: null,
    cpus: 2,
    cpuEfficiency: 0.5,
    memRequested: 2 ** 30,
    memPeak: 2 ** 28,
    memEfficiency: 0.25,
    gpus: 0,
    nodes: 'c1',
    ...over
  });

  test('asks for the span picked and shows the newest first with efficiency', async () => {
    const history = {
      cluster: 'testbed',
      since: '7d',
      accounting: true,
      jobs: [job('40'), job('41', { state: 'FAILED', exitCode: 3, cpuEfficiency: null })]
    };
    const { impl, calls } = fakeFetch({
      'GET /hpclab/api/clusters/testbed/history?since=7d': { body: history },
      'GET /hpclab/api/clusters/testbed/history?since=30d': { body: { ...history, since: '30d', jobs: [] } }
    });
    const model = new FakeModel(new HpclabApi('', impl));
    model.clusters = ['testbed'];
    const section = shown(new HistorySection(sectionContext(model)));
    section.node.querySelector<HTMLButtonElement>('[data-action="history"]')!.click();
    await flush();
    const rows = [...section.node.querySelectorAll<HTMLElement>('tbody tr')];
    expect(rows.map(r => [...r.children].map(td => td.textContent))).toEqual([
      ['41', 'train', 'failed', '3', '1:02:05', '–', '25%'],
      ['40', 'train', 'completed', '0', '1:02:05', '50%', '25%']
    ]);
    expect(rows[1].lastElementChild!.getAttribute('title')).toBe('peak 256 MiB of 1024 MiB asked');
    const since = section.node.querySelector<HTMLSelectElement>('select[aria-label="Since"]')!;
    since.value = '30d';
    since.dispatchEvent(new Event('change'));
    await flush();
    expect(section.node.textContent).toMatch(/No jobs in that time/);
    expect(calls.map(c => new URL(c.url).search)).toEqual(['?since=7d', '?since=30d']);
  });

  test('a cluster without accounting is said plainly', async () => {
    const message = "this cluster keeps no job accounting (Slurm's sacct has no history to give)";
    const { impl } = fakeFetch({
      'GET /hpclab/api/clusters/testbed/history?since=7d': {
        body: { cluster: 'testbed', since: '7d', accounting: false, message, jobs: [] }
      }
    });
    const model = new FakeModel(new HpclabApi('', impl));
    model.clusters = ['testbed'];
    const section = shown(new HistorySection(sectionContext(model)));
    await section.load();
    expect(section.node.querySelector('.jp-hpclab-history-result')!.textContent).toBe(message);
  });
});
