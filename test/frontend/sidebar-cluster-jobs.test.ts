import './dom-polyfills';
import { ClusterSection } from '../../src/sidebar/cluster';
import { JobsSection } from '../../src/sidebar/jobs';
import type { ClusterStatus, Job, Partition } from '../../src/contract';
import { CommandIDs } from '../../src/tokens';
import { disposeShown, FakeModel, recordingCommands, redraw, sectionContext, shown } from './fake-model';

afterEach(disposeShown);

const $ = <T extends HTMLElement>(root: HTMLElement, selector: string) => root.querySelector<T>(selector)!;

const partition = (name: string, over: Partial<Partition> = {}): Partition => ({
  name,
  isDefault: false,
  available: 'up',
  timeLimit: 3600,
  nodes: { idle: 1, mixed: 1, allocated: 0, down: 0, other: 0, total: 2 },
  cpus: { total: 8, allocated: 2, idle: 6 },
  gpus: [],
  ...over
});

const job = (id: string, over: Partial<Job> = {}): Job => ({
  id,
  arrayJobId: null,
  arrayTaskId: null,
  name: `job-${id}`,
  user: 'me',
  state: 'RUNNING',
  reason: null,
  partition: 'gpu',
  nodes: 'c1',
  numNodes: 1,
  numCpus: 4,
  timeUsed: 65,
  timeLimit: 3600,
  timeLeft: 3535,
  submitTime: null,
  startTime: null,
  gres: null,
  ...over
});

const status = (cluster: string, over: Partial<ClusterStatus> = {}): ClusterStatus => ({
  cluster,
  fetchedAt: 'now',
  partitions: [],
  jobs: [],
  ...over
});

describe('cluster section', () => {
  test('partitions as bars: nodes idle and GPUs free per type, in data attributes the browser tests read', () => {
    const model = new FakeModel();
    model.clusters = ['testbed'];
    model.status.set(
      'testbed',
      status('testbed', {
        partitions: [
          partition('debug', { isDefault: true }),
          partition('gpu', {
            gpus: [
              { type: 'fake', total: 2, used: 0 },
              { type: 'a100', total: 4, used: 3 }
            ]
          })
        ]
      })
    );
    const section = shown(new ClusterSection(sectionContext(model)));
    const cluster = $(section.node, '.jp-hpclab-cluster[data-cluster="testbed"]');
    expect([...cluster.querySelectorAll<HTMLElement>('.jp-hpclab-partition')].map(p => p.dataset.partition)).toEqual([
      'debug',
      'gpu'
    ]);
    expect($(cluster, '[data-partition="debug"] .jp-hpclab-partition-name').textContent).toBe('debug*');
    const nodes = $(cluster, '[data-partition="gpu"] .jp-hpclab-nodes');
    expect(nodes.dataset).toMatchObject({ free: '1', total: '2' });
    expect($(nodes, '.jp-hpclab-bar-fill').style.width).toBe('50%');
    expect($(cluster, '[data-partition="gpu"] .jp-hpclab-gpus[data-type="fake"]').dataset).toMatchObject({
      free: '2',
      total: '2'
    });
    const a100 = $(cluster, '[data-partition="gpu"] .jp-hpclab-gpus[data-type="a100"]');
    expect(a100.dataset).toMatchObject({ free: '1', total: '4' });
    expect(a100.title).toBe('1 free of 4 GPUs (a100)');
    expect($(cluster, '[data-partition="gpu"] .jp-hpclab-partition-head .jp-hpclab-muted').textContent).toBe(
      'up · 1/2 busy'
    );
  });

  test('no cluster yet: an invitation to add one, which runs the Add a cluster command', () => {
    const { commands, ran } = recordingCommands([CommandIDs.addCluster, CommandIDs.editProfiles]);
    const model = new FakeModel();
    const section = shown(new ClusterSection(sectionContext(model, commands)));
    expect(section.node.querySelector('[data-hpclab-empty="clusters"]')).not.toBeNull();
    $(section.node, '[data-hpclab-action="add-first-cluster"]').click();
    $(section.node, '.jp-hpclab-section-footer [data-hpclab-action="edit-profiles"]').click();
    expect(ran.map(r => r.id)).toEqual([CommandIDs.addCluster, CommandIDs.editProfiles]);
  });

  test("a cluster's own error and a release mismatch are said, the rest still shown", () => {
    const model = new FakeModel();
    model.set({
      clusters: ['a', 'b'],
      status: new Map([
        ['a', status('a', { error: 'ssh: connection refused' })],
        ['b', status('b', { partitions: [partition('p')] })]
      ]),
      versionProblem: 'different releases'
    });
    const section = shown(new ClusterSection(sectionContext(model)));
    expect([...section.node.querySelectorAll('.jp-hpclab-note-error')].map(n => n.textContent)).toEqual([
      'different releases',
      'ssh: connection refused'
    ]);
    expect(section.node.querySelector('[data-cluster="b"] [data-partition="p"]')).not.toBeNull();
  });

  test('a login connection that is not up is said under its cluster, with why and when the next try is', () => {
    const model = new FakeModel();
    model.set({
      clusters: ['a', 'b'],
      status: new Map([
        ['a', status('a', { partitions: [partition('p')] })],
        ['b', status('b')]
      ])
    });
    const section = shown(new ClusterSection(sectionContext(model)));
    expect(section.node.querySelector('[data-hpclab-link]')).toBeNull();
    model.set({
      links: new Map([
        ['a', { type: 'link', cluster: 'a', state: 'reconnecting', message: 'connection reset', retryInMs: 2000 }]
      ])
    });
    redraw();
    const note = $(section.node, '[data-cluster="a"] [data-hpclab-link="reconnecting"]');
    expect(note.textContent).toBe('Reconnecting to a… (connection reset), next try in 2 s');
    expect(section.node.querySelector('[data-cluster="a"] [data-partition="p"]')).not.toBeNull(); // the last answer stays
    expect(section.node.querySelector('[data-cluster="b"] [data-hpclab-link]')).toBeNull();
    model.set({
      links: new Map([
        ['a', { type: 'link', cluster: 'a', state: 'down', message: 'no route to host', retryInMs: null }]
      ])
    });
    redraw();
    expect($(section.node, '[data-hpclab-link="down"]').classList.contains('jp-hpclab-note-error')).toBe(true);
    model.set({ links: new Map([['a', { type: 'link', cluster: 'a', state: 'up', message: null, retryInMs: null }]]) });
    redraw();
    expect(section.node.querySelector('[data-hpclab-link]')).toBeNull();
  });
});

describe('jobs section', () => {
  test('queued jobs only, array tasks under their array, and actions that fit the state', () => {
    const { commands, ran } = recordingCommands([CommandIDs.jobAction]);
    const model = new FakeModel();
    model.clusters = ['testbed'];
    model.status.set(
      'testbed',
      status('testbed', {
        jobs: [
          job('10_1', { arrayJobId: '10' }),
          job('10_2', { arrayJobId: '10', state: 'PENDING', reason: 'Priority' }),
          job('11', { state: 'PENDING', reason: 'JobHeldUser' }),
          job('12', { state: 'COMPLETED' })
        ]
      })
    );
    const section = shown(new JobsSection(sectionContext(model, commands)));
    const rows = [...section.node.querySelectorAll<HTMLElement>('tbody tr')];
    expect(rows.map(r => r.dataset.job ?? r.textContent)).toEqual(['array 10 (2 tasks)', '10_1', '10_2', '11']);
    const actions = (id: string) =>
      [...$(section.node, `tr[data-job="${id}"]`).querySelectorAll<HTMLElement>('[data-action]')].map(
        b => b.dataset.action
      );
    expect(actions('10_1')).toEqual(['cancel']);
    expect(actions('10_2')).toEqual(['cancel', 'hold']);
    expect(actions('11')).toEqual(['cancel', 'release']);
    expect($(section.node, 'tr[data-job="10_1"]').textContent).toContain('0:01:05 / 1:00:00');
    $(section.node, 'tr[data-job="11"] [data-action="release"]').click();
    expect(ran).toEqual([{ id: CommandIDs.jobAction, args: { cluster: 'testbed', jobId: '11', action: 'release' } }]);
  });

  test('an empty queue says so, and a model change redraws the table', () => {
    const model = new FakeModel();
    model.clusters = ['testbed'];
    const section = shown(new JobsSection(sectionContext(model)));
    expect(section.node.textContent).toContain('No jobs in the queue.');
    model.set({ status: new Map([['testbed', status('testbed', { jobs: [job('20')] })]]) });
    redraw();
    expect($(section.node, '.jp-hpclab-jobs-scroll').dataset.rows).toBe('1');
    expect(section.node.querySelector('tr[data-job="20"]')).not.toBeNull();
  });
});
