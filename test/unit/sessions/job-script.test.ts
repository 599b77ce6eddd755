import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EnvConfig, ProfileConfig } from '../../../server/config/schema';
import { labSubmitOptions, renderLabJobScript } from '../../../server/sessions/job-script';
import { parseRendezvous } from '../../../server/sessions/rendezvous';
import { quoteWord } from '../../../server/transport/quote';

const ID = 'a1b2c3d4e5f6';
const BASE = `/hpclab/node/${ID}/`;
const render = (profile: Partial<ProfileConfig>, over: { sessionDir?: string; gpu?: boolean } = {}) =>
  renderLabJobScript({
    sessionId: ID,
    baseUrl: BASE,
    sessionDir: over.sessionDir ?? `/home/me/.hpclab/sessions/${ID}`,
    gpu: over.gpu ?? false,
    profile: { cluster: 'c', ...profile }
  });

const ENVS: EnvConfig[] = [
  { python: '/usr/bin/python3' },
  { conda: '/x/my env; rm -rf ~' },
  { venv: '/v' },
  { modules: ['python/3.11'] },
  { container: { runtime: 'apptainer', image: '/img/my image.sif', bind: ['/scratch'] } },
  { container: { runtime: 'charliecloud', image: '/img/ch' } }
];

describe('renderLabJobScript', () => {
  it.each(ENVS.map(env => [Object.keys(env)[0], env] as const))(
    '%s: bash, LF only, valid syntax, no token',
    (_kind, env) => {
      const script = render({ env });
      expect(script.startsWith('#!/bin/bash\n')).toBe(true);
      expect(script).toContain(`# hpclab session ${ID}`);
      expect(script).not.toMatch(/\r/);
      expect(script.endsWith('\n')).toBe(true);
      expect(script).toMatch(/^umask 077$/m);
      expect(script).not.toMatch(/[0-9a-f]{32}/); // no token (or anything like one) in the text
      expect(script).not.toMatch(/--(ServerApp|IdentityProvider|NotebookApp)\.token/);
      expect(script).not.toMatch(/^trap /m);
      expect(spawnSync('bash', ['-n'], { input: script, encoding: 'utf8' }).status).toBe(0);
    }
  );

  it('quotes user values: a hostile conda prefix appears only as one quoted word', () => {
    const evil = '/x/my env; rm -rf ~';
    const script = render({ env: { conda: evil } });
    expect(script.split(evil).length - 1).toBe(script.split(quoteWord(evil)).length - 1);
    expect(script).toContain(`conda activate ${quoteWord(evil)}`);
  });

  it('runs the server inside the container, with --nv only when the job has a GPU', () => {
    const env: EnvConfig = { container: { runtime: 'apptainer', image: '/img/my image.sif', bind: ['/scratch'] } };
    expect(render({ env }, { gpu: true })).toMatch(
      /^exec apptainer exec --nv --bind \/scratch '\/img\/my image\.sif' jupyter lab --no-browser /m
    );
    expect(render({ env })).toMatch(/^exec apptainer exec --bind \/scratch '\/img\/my image\.sif' jupyter lab /m);
    expect(render({ env: { container: { runtime: 'charliecloud', image: '/img/ch' } } })).toMatch(
      /^exec bash -c 'exec ch-run --home -c "\$PWD" "\$@"' ch-run \/img\/ch -- jupyter lab /m
    );
  });

  it('takes the profile command and quotes it', () => {
    expect(render({ command: ['python3', '-m', 'jupyter_server'] })).toMatch(
      /^exec python3 -m jupyter_server --no-browser /m
    );
    expect(render({ command: ['/opt/my tools/jupyter', 'server'] })).toMatch(
      /^exec '\/opt\/my tools\/jupyter' server /m
    );
    expect(() => render({ command: ['jupyter', 'lab\r'] })).toThrow(/one line/);
  });

  it('refuses a bad session id, base URL or a relative session directory', () => {
    expect(() =>
      renderLabJobScript({ sessionId: 'a;b', baseUrl: BASE, sessionDir: '/s', gpu: false, profile: { cluster: 'c' } })
    ).toThrow(/session id/);
    expect(() =>
      renderLabJobScript({ sessionId: ID, baseUrl: "/x'/", sessionDir: '/s', gpu: false, profile: { cluster: 'c' } })
    ).toThrow(/base URL/);
    expect(() =>
      renderLabJobScript({ sessionId: ID, baseUrl: BASE, sessionDir: 'rel/dir', gpu: false, profile: { cluster: 'c' } })
    ).toThrow(/absolute/);
  });
});

describe('the rendered script, run by bash with stub scontrol and jupyter', () => {
  let dir: string;
  let sessionDir: string;
  let bin: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'hpclab-job-'));
    sessionDir = join(dir, "it's a session"); // a path that needs quoting
    bin = join(dir, 'bin');
    mkdirSync(sessionDir, { mode: 0o700 });
    mkdirSync(bin);
    stub(
      'scontrol',
      `[ "$*" = "show node -o n1" ] || exit 1\necho "\${SCONTROL_LINE:-NodeName=n1 Arch=x86_64 CoresPerSocket=1 NodeAddr=127.0.0.1 NodeHostName=n1 State=IDLE}"`
    );
    // The "server": records its argv, what it got by environment, and its pid.
    stub(
      'jupyter',
      [
        `printf '%s\\n' "$@" > "$STUB_OUT/argv"`,
        `{ echo "token=$JUPYTER_TOKEN"; echo "runtime=$JUPYTER_RUNTIME_DIR"; echo "unbuffered=$PYTHONUNBUFFERED"; echo "pid=$$"; echo "setup=$SETUP_RAN"; } > "$STUB_OUT/env"`
      ].join('\n')
    );
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function stub(name: string, body: string) {
    writeFileSync(join(bin, name), `#!/bin/bash\n${body}\n`);
    chmodSync(join(bin, name), 0o755);
  }

  function runScript(extraEnv: Record<string, string> = {}, nodeChannels: 'tcp' | 'relay' = 'tcp') {
    const python = nodeChannels === 'relay' ? join(bin, 'python3') : '/usr/bin/python3';
    const script = renderLabJobScript({
      sessionId: ID,
      baseUrl: BASE,
      sessionDir,
      gpu: false,
      nodeChannels,
      profile: { cluster: 'c', env: { python, setup: ['export SETUP_RAN=yes'] } }
    });
    const file = join(dir, 'job.sh');
    writeFileSync(file, script);
    return spawnSync('/bin/bash', [file], {
      cwd: dir,
      encoding: 'utf8',
      env: {
        PATH: `${bin}:/usr/bin:/bin`,
        HOME: dir,
        STUB_OUT: dir,
        SLURMD_NODENAME: 'n1',
        SLURM_JOB_ID: '4242',
        ...extraEnv
      }
    });
  }

  it('writes a 0600 rendezvous file and execs the server with the token only in its environment', () => {
    const r = runScript();
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);

    const file = join(sessionDir, 'rendezvous.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const rendezvous = parseRendezvous(readFileSync(file, 'utf8'), { sessionId: ID });
    if (rendezvous.version !== 1) throw new Error('expected a TCP rendezvous');
    expect(rendezvous).toMatchObject({ version: 1, sessionId: ID, host: '127.0.0.1', node: 'n1', jobId: '4242' });
    expect(typeof rendezvous.port).toBe('number');
    expect(rendezvous.token).toMatch(/^[0-9a-f]{64}$/);

    const argv = readFileSync(join(dir, 'argv'), 'utf8').trimEnd().split('\n');
    expect(argv).toEqual([
      'lab',
      '--no-browser',
      '--ServerApp.port_retries=0',
      `--ServerApp.base_url=${BASE}`,
      '--ServerApp.allow_remote_access=True',
      '--ip=127.0.0.1',
      `--port=${rendezvous.port}`
    ]);
    expect(argv.join(' ')).not.toContain(rendezvous.token);

    const env = Object.fromEntries(
      readFileSync(join(dir, 'env'), 'utf8')
        .trimEnd()
        .split('\n')
        .map(l => l.split(/=(.*)/s).slice(0, 2))
    );
    expect(env.token).toBe(rendezvous.token);
    expect(env.runtime).toBe(join(sessionDir, 'runtime'));
    expect(statSync(env.runtime).mode & 0o777).toBe(0o700);
    expect(env.unbuffered).toBe('1');
    expect(env.setup).toBe('yes');
    expect(Number(env.pid)).toBe(rendezvous.pid); // exec: the server kept the script's pid
  });

  it('a fresh token each run; no temp file left behind', () => {
    runScript();
    const first = parseRendezvous(readFileSync(join(sessionDir, 'rendezvous.json'), 'utf8'), { sessionId: ID }).token;
    runScript();
    const second = parseRendezvous(readFileSync(join(sessionDir, 'rendezvous.json'), 'utf8'), { sessionId: ID }).token;
    expect(second).not.toBe(first);
    expect(spawnSync('ls', ['-A', sessionDir], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).sort()).toEqual(
      ['rendezvous.json', 'runtime']
    );
  });

  it('falls back to hostname -f without SLURMD_NODENAME', () => {
    const r = runScript({ SLURMD_NODENAME: '' });
    expect(r.status).toBe(0);
    const rendezvous = parseRendezvous(readFileSync(join(sessionDir, 'rendezvous.json'), 'utf8'), { sessionId: ID });
    expect(rendezvous.node).toBe('');
    expect('host' in rendezvous && rendezvous.host).toBe(
      spawnSync('/bin/bash', ['-c', 'hostname -f 2>/dev/null || hostname'], { encoding: 'utf8' }).stdout.trim()
    );
  });

  describe('with nodeChannels "relay" (the default)', () => {
    const made: string[] = [];
    beforeEach(() =>
      // The environment's python: real, except that the jupyter_server version gate answers GATE_RC.
      stub(
        'python3',
        'if [ "$1" = -c ] && [[ $2 == *jupyter_server* ]]; then exit "${GATE_RC:-0}"; fi\nexec /usr/bin/python3 "$@"'
      )
    );
    afterEach(() => made.splice(0).forEach(d => rmSync(d, { recursive: true, force: true })));

    it('serves on a 0600 unix socket in a fresh 0700 directory: no address, no port', () => {
      const r = runScript({}, 'relay');
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      const rendezvous = parseRendezvous(readFileSync(join(sessionDir, 'rendezvous.json'), 'utf8'), { sessionId: ID });
      if (rendezvous.version !== 2) throw new Error('expected a socket rendezvous');
      made.push(rendezvous.socketDir);
      expect(rendezvous).toMatchObject({ socket: 'lab.sock', relayPython: join(bin, 'python3'), node: 'n1' });
      expect(rendezvous.socketDir).toMatch(/^\/tmp\/hpclab\.[A-Za-z0-9]{10}$/);
      expect(statSync(rendezvous.socketDir).mode & 0o777).toBe(0o700);
      const argv = readFileSync(join(dir, 'argv'), 'utf8').trimEnd().split('\n');
      expect(argv).toEqual([
        'lab',
        '--no-browser',
        `--ServerApp.base_url=${BASE}`,
        '--ServerApp.allow_remote_access=True',
        '--ServerApp.sock_mode=0600',
        '--KernelManager.transport=ipc',
        `--ServerApp.sock=${rendezvous.socketDir}/lab.sock`
      ]);
      const env = readFileSync(join(dir, 'env'), 'utf8');
      expect(env).toContain(`runtime=${rendezvous.socketDir}/rt`);
      // The Lab's own python kernel starts through the bootstrap that keeps its output pipe off TCP.
      const spec = JSON.parse(readFileSync(join(rendezvous.socketDir, 'share/kernels/python3/kernel.json'), 'utf8'));
      expect(spec.argv[0]).toBe(join(bin, 'python3'));
      expect(spec.argv.slice(1, 2).concat(spec.argv.slice(3))).toEqual(['-c', '-f', '{connection_file}']);
      expect(spec.argv[2]).toContain('ipykernel.iostream');
    });

    it('refuses a jupyter_server too old for sockets (exit 6, no server, words naming the fix)', () => {
      const r = runScript({ GATE_RC: '1' }, 'relay');
      expect(r.status).toBe(6);
      expect(() => statSync(join(sessionDir, 'rendezvous.json'))).toThrow();
      expect(r.stderr).toMatch(/jupyter_server 1\.9 or newer .*nodeChannels: "tcp"/);
      expect(() => statSync(join(dir, 'argv'))).toThrow();
    });
  });

  it('refuses a NodeAddr that is not a host name or address (exit 4, no rendezvous, no server)', () => {
    const r = runScript({ SCONTROL_LINE: 'NodeName=n1 NodeAddr=$(touch${IFS}pwned);x State=IDLE' });
    expect(r.status).toBe(4);
    expect(r.stderr).toMatch(/hpclab: cannot use ".*" as the address of this node/);
    expect(() => statSync(join(sessionDir, 'rendezvous.json'))).toThrow();
    expect(() => statSync(join(dir, 'argv'))).toThrow();
    expect(() => statSync(join(dir, 'pwned'))).toThrow();
  });
});

describe('labSubmitOptions', () => {
  const profile: ProfileConfig = {
    cluster: 'c',
    partition: 'gpu',
    gres: 'gpu:1',
    time: '01:00:00',
    cpus: 2,
    mem: '4G',
    account: 'proj',
    sbatch: { 'mail-type': 'END' }
  };

  it('names the job and comment after the session, logs to the session dir, starts in the home dir', () => {
    const { options, extra } = labSubmitOptions({
      sessionId: ID,
      sessionDir: `/home/me/.hpclab/sessions/${ID}`,
      homeDir: '/home/me',
      profile
    });
    expect(options).toEqual({
      jobName: `hpclab-${ID}`,
      comment: `hpclab:${ID}`,
      output: `/home/me/.hpclab/sessions/${ID}/job.log`,
      chdir: '/home/me',
      partition: 'gpu',
      gres: 'gpu:1',
      time: '01:00:00',
      cpusPerTask: 2,
      mem: '4G',
      account: 'proj'
    });
    expect(options).not.toHaveProperty('error'); // stderr joins stdout in job.log
    expect(extra).toEqual({ 'mail-type': 'END' });
  });

  it('lets overrides win and escapes % in the log path', () => {
    const { options, extra } = labSubmitOptions({
      sessionId: ID,
      sessionDir: '/home/100%me/s',
      homeDir: '/home/100%me',
      profile: { cluster: 'c', partition: 'cpu' },
      overrides: { partition: 'gpu', cpus: 8, nodelist: 'n[1-2]', qos: 'high', constraint: 'a100' }
    });
    expect(options).toMatchObject({
      partition: 'gpu',
      cpusPerTask: 8,
      nodelist: 'n[1-2]',
      qos: 'high',
      constraint: 'a100',
      output: '/home/100%%me/s/job.log'
    });
    expect(extra).toEqual({});
  });
});
