import { HpclabApi, HpclabError } from '../../src/api';
import { SetupApi } from '../../src/setup/api';
import {
  buildProfile,
  checkedProfiles,
  envSummary,
  field,
  fieldOfPath,
  keptKeys,
  profileFormValues,
  showErrors
} from '../../src/setup/forms';
import { fakeFetch } from './fixtures';

const discovery = {
  cluster: 'mycluster',
  host: 'mycluster',
  partitions: [
    { name: 'debug', default: true, timeLimitSec: 3600, gpus: [] },
    { name: 'gpu', default: false, timeLimitSec: null, gpus: ['a100'] }
  ],
  associations: [{ account: 'proj1', qos: ['normal'] }],
  envs: ['conda:ml'],
  profiles: {
    cpu: { cluster: 'mycluster', partition: 'debug', time: '01:00:00', cpus: 1, env: { python: 'python3' } },
    'gpu-a100': {
      cluster: 'mycluster',
      partition: 'gpu',
      time: '01:00:00',
      cpus: 2,
      gres: 'gpu:a100:1',
      env: { python: 'python3' }
    }
  },
  existingProfiles: ['old'],
  slurmCalls: 2,
  seconds: 4.2
};

const body = (init: RequestInit) => JSON.parse(String(init.body));

describe('the setup API', () => {
  test('setup info: configPath, configured, ssh hosts', async () => {
    const { impl, calls } = fakeFetch({
      'GET /hpclab/api/setup': {
        body: { configPath: '/home/me/.config/hpclab/config.json', configured: false, hosts: ['mycluster'] }
      }
    });
    const info = await new SetupApi(new HpclabApi('', impl)).info();
    expect(info).toEqual({
      configPath: '/home/me/.config/hpclab/config.json',
      configured: false,
      hosts: ['mycluster']
    });
    expect(calls[0].init.method).toBe('GET');
  });

  test('given a getter, each request goes to the api the model points at now', async () => {
    const answer = { 'GET /hpclab/api/setup': { body: { configPath: '/c.json', configured: true, hosts: [] } } };
    const first = fakeFetch(answer);
    const second = fakeFetch(answer);
    let api = new HpclabApi('http://127.0.0.1:1111/', first.impl);
    const setup = new SetupApi(() => api);
    await setup.info();
    api = new HpclabApi('http://127.0.0.1:2222/', second.impl); // a restarted companion, at a new port
    await setup.info();
    expect([first.calls.length, second.calls.length]).toEqual([1, 1]);
    expect(second.calls[0].url).toBe('http://127.0.0.1:2222/hpclab/api/setup');
  });

  test('discover sends the host, the cluster name only when given, and parses the reply', async () => {
    const { impl, calls } = fakeFetch({ 'POST /hpclab/api/setup/discover': { body: discovery } });
    const setup = new SetupApi(new HpclabApi('', impl));
    const d = await setup.discover('mycluster');
    await setup.discover('mycluster', 'mine');
    expect(body(calls[0].init)).toEqual({ host: 'mycluster' });
    expect(body(calls[1].init)).toEqual({ host: 'mycluster', cluster: 'mine' });
    expect((calls[0].init.headers as Record<string, string>)['Content-Type']).toBe('application/json');
    expect(d.partitions[1]).toMatchObject({ name: 'gpu', timeLimitSec: null, gpus: ['a100'] });
    expect(d.profiles['gpu-a100'].env).toEqual({ python: 'python3' }); // kept as the companion sent it
  });

  test('discover: no accounting (associations null) is a valid reply; a reply without profiles is not', async () => {
    const { impl } = fakeFetch({ 'POST /hpclab/api/setup/discover': { body: { ...discovery, associations: null } } });
    expect((await new SetupApi(new HpclabApi('', impl)).discover('h')).associations).toBeNull();
    const { impl: bad } = fakeFetch({
      'POST /hpclab/api/setup/discover': { body: { ...discovery, profiles: undefined } }
    });
    await expect(new SetupApi(new HpclabApi('', bad)).discover('h')).rejects.toMatchObject({ code: 'bad-reply' });
  });

  test('a failed connection comes back in words (the companion says why)', async () => {
    const error = {
      error: { code: 'unreachable', message: 'Cannot connect to mycluster: host key verification failed' }
    };
    const { impl } = fakeFetch({ 'POST /hpclab/api/setup/discover': { status: 502, body: error } });
    const err = await new SetupApi(new HpclabApi('', impl)).discover('mycluster').catch(e => e);
    expect(err).toBeInstanceOf(HpclabError);
    expect(err).toMatchObject({ status: 502, code: 'unreachable', message: expect.stringContaining('host key') });
  });

  test('save posts host, cluster and the profiles, and returns where they went', async () => {
    const { impl, calls } = fakeFetch({
      'POST /hpclab/api/setup/save': { body: { configPath: '/c.json', cluster: 'mycluster', added: ['cpu'] } }
    });
    const r = await new SetupApi(new HpclabApi('', impl)).save('mycluster', 'mycluster', {
      cpu: discovery.profiles.cpu
    });
    expect(body(calls[0].init)).toEqual({
      host: 'mycluster',
      cluster: 'mycluster',
      profiles: { cpu: discovery.profiles.cpu }
    });
    expect(r.added).toEqual(['cpu']);
  });

  test('profile config, put and delete use the encoded name; put sends {profile}', async () => {
    const profile = { cluster: 'c', time: '01:00:00', env: { conda: 'ml' }, sbatch: { 'mail-type': 'END' } };
    const { impl, calls } = fakeFetch({
      'GET /hpclab/api/profiles/my%20gpu/config': { body: { name: 'my gpu', profile } },
      'PUT /hpclab/api/profiles/my%20gpu': { body: { name: 'my gpu', profile } },
      'DELETE /hpclab/api/profiles/my%20gpu': { body: { name: 'my gpu', removed: true } }
    });
    const setup = new SetupApi(new HpclabApi('', impl));
    expect((await setup.profileConfig('my gpu')).profile).toEqual(profile);
    expect((await setup.putProfile('my gpu', profile)).name).toBe('my gpu');
    await setup.removeProfile('my gpu');
    expect(body(calls[1].init)).toEqual({ profile });
    expect(calls.map(c => c.init.method)).toEqual(['GET', 'PUT', 'DELETE']);
  });

  test('a 400 on put names the bad fields', async () => {
    const error = {
      error: {
        code: 'invalid',
        message: 'profile.time: expected HH:MM:SS',
        fields: [{ path: 'profile.time', message: 'expected HH:MM:SS' }]
      }
    };
    const { impl } = fakeFetch({ 'PUT /hpclab/api/profiles/gpu': { status: 400, body: error } });
    const err = await new SetupApi(new HpclabApi('', impl))
      .putProfile('gpu', { cluster: 'c', time: 'soon' })
      .catch(e => e);
    expect(err).toMatchObject({
      status: 400,
      code: 'invalid',
      fields: [{ path: 'profile.time', message: 'expected HH:MM:SS' }]
    });
  });
});

describe('the profile form', () => {
  const original = {
    cluster: 'c',
    partition: 'gpu',
    time: '01:00:00',
    cpus: 2,
    gres: 'gpu:1',
    env: { modules: ['python/3.11'], python: 'python3' },
    sbatch: { 'mail-type': 'END' },
    kernelHoldMinutes: 5
  };

  test('shows the edited keys as text, nothing for the rest', () => {
    expect(profileFormValues(original)).toEqual({
      cluster: 'c',
      partition: 'gpu',
      time: '01:00:00',
      cpus: '2',
      mem: '',
      gres: 'gpu:1',
      account: '',
      qos: '',
      constraint: ''
    });
    expect(keptKeys(original)).toEqual(['env', 'sbatch', 'kernelHoldMinutes']);
  });

  test('building the profile keeps every key the form does not edit, as it was', () => {
    const values = { ...profileFormValues(original), time: ' 02:00:00 ', mem: '8G', gres: '', cpus: '4' };
    const built = buildProfile(original, values);
    expect(built).toEqual({
      cluster: 'c',
      partition: 'gpu',
      time: '02:00:00',
      cpus: 4,
      mem: '8G',
      env: original.env,
      sbatch: original.sbatch,
      kernelHoldMinutes: 5
    });
    expect(built.env).toBe(original.env);
    expect(original.gres).toBe('gpu:1'); // the original is not changed
  });

  test('a field the form did not send is left alone; a non-number CPU count goes as typed for the companion to name', () => {
    expect(buildProfile(original, { time: '' })).not.toHaveProperty('time');
    expect(buildProfile(original, { time: '' }).partition).toBe('gpu');
    expect(buildProfile({}, { cluster: 'c', cpus: 'two' })).toEqual({ cluster: 'c', cpus: 'two' });
  });

  test('only the checked proposals are posted', () => {
    expect(Object.keys(checkedProfiles(discovery.profiles, new Set(['gpu-a100'])))).toEqual(['gpu-a100']);
    expect(checkedProfiles(discovery.profiles, new Set())).toEqual({});
    expect(checkedProfiles(discovery.profiles, new Set(['cpu', 'gpu-a100', 'gone']))).toEqual(discovery.profiles);
  });

  test('error paths point at fields', () => {
    expect(fieldOfPath('profile.time')).toBe('time');
    expect(fieldOfPath('profile.env.python')).toBe('env');
    expect(fieldOfPath('host')).toBe('host');
  });

  test('errors show beside their field; the rest in the status line', () => {
    const time = field('time', 'Time', document.createElement('input'));
    const timeInput = time.row.querySelector('input')!;
    const fields = new Map([['time', { input: timeInput as HTMLElement, error: time.error }]]);
    const status = document.createElement('div');
    const err = new HpclabError(400, 'invalid', 'bad', [
      { path: 'profile.time', message: 'expected HH:MM:SS' },
      { path: 'profile.sbatch.wrap', message: 'cannot be set here' }
    ]);
    expect(showErrors(err, fields, status)).toBe(1);
    expect(time.error.textContent).toBe('expected HH:MM:SS');
    expect(timeInput.getAttribute('aria-invalid')).toBe('true');
    expect(timeInput.dataset.hpclabField).toBe('time');
    expect(status.textContent).toBe('profile.sbatch.wrap: cannot be set here');
    showErrors(new Error('The hpclab companion is not answering'), fields, status);
    expect(time.error.textContent).toBe('');
    expect(timeInput.hasAttribute('aria-invalid')).toBe(false);
    expect(status.textContent).toContain('not answering');
  });

  test('environments in a few words', () => {
    expect(envSummary({ python: 'python3' })).toBe('python3');
    expect(envSummary({ conda: 'ml', python: 'python' })).toBe('conda ml');
    expect(envSummary({ modules: ['python/3.11', 'cuda'] })).toBe('modules python/3.11, cuda');
    expect(envSummary({ container: { runtime: 'apptainer', image: '/img.sif' } })).toBe('apptainer /img.sif');
    expect(envSummary(undefined)).toBe('');
  });
});
