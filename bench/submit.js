// Batch runs: what `hpclab submit` costs beside doing it by hand with OpenSSH, in the same run.
//  - staging: a file written into a run directory over the pooled SSH connection, vs `scp` over
//    an OpenSSH ControlMaster connection to the same sshd (both connections already open);
//  - submit → queued: `hpclab submit` of a 1 MB notebook from a cold CLI (connect, stage, sbatch)
//    vs `scp` of it then `ssh … sbatch`, each on a new OpenSSH connection;
//  - a 100-task sweep: slurmctld RPCs (counted by sdiag) for hpclab's one array vs 100 sbatch calls.
const { execFileSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { root, rpcCounts, sshBase, testbedEnv, testbedClusters, quantile, runStandalone } = require('./lib');

const cli = path.join(root, 'dist', 'server', 'cli', 'main.js');

const totalRpcs = () =>
  Object.entries(rpcCounts()).reduce((sum, [type, n]) => (type === 'REQUEST_STATS_INFO' ? sum : sum + n), 0);

function cancelMine(env) {
  spawnSync('scancel', ['-u', env.user], { stdio: 'ignore' });
}

async function staging(env, bytes, runs) {
  const clusters = testbedClusters(env);
  const { transport } = clusters.get('testbed');
  const data = Buffer.alloc(bytes, 'x');
  const local = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'hpclab-bench-stage-')), 'data.bin');
  fs.writeFileSync(local, data);
  const remote = `/tmp/hpclab-bench-stage-${process.pid}`;
  const control = fs.mkdtempSync('/tmp/hpclab-bench-cm-');
  const mux = ['-o', 'ControlMaster=auto', '-o', `ControlPath=${control}/cm`, '-o', 'ControlPersist=60'];
  const dest = `${env.user}@${env.ssh.host}`;
  try {
    await transport.exec(['true']); // log in once; the pool keeps the connection
    execFileSync('ssh', [...mux, ...sshBase(env), '-p', String(env.ssh.port), dest, 'true']);
    const ours = [];
    const peer = [];
    for (let i = 0; i < runs; i++) {
      let t0 = process.hrtime.bigint();
      await transport.writeFile(remote, data, { mode: 0o600 });
      ours.push(bytes / 1e6 / (Number(process.hrtime.bigint() - t0) / 1e9));
      t0 = process.hrtime.bigint();
      execFileSync('scp', ['-q', ...mux, ...sshBase(env), '-P', String(env.ssh.port), local, `${dest}:${remote}`]);
      peer.push(bytes / 1e6 / (Number(process.hrtime.bigint() - t0) / 1e9));
    }
    return { ours: quantile(ours, 0.5), peer: quantile(peer, 0.5) };
  } finally {
    await transport.exec(['rm', '-f', remote]).catch(() => undefined); // best effort: /tmp on the testbed
    spawnSync('ssh', [...mux, '-O', 'exit', ...sshBase(env), '-p', String(env.ssh.port), dest], { stdio: 'ignore' });
    await clusters.close();
  }
}

/** A notebook of about `bytes`: one cell with a large comment, and one that runs quickly. */
function bigNotebook(bytes) {
  return JSON.stringify({
    cells: [
      {
        cell_type: 'code',
        id: 'a',
        metadata: {},
        outputs: [],
        execution_count: null,
        source: `# ${'x'.repeat(bytes)}`
      },
      { cell_type: 'code', id: 'b', metadata: {}, outputs: [], execution_count: null, source: 'print(1)' }
    ],
    metadata: { kernelspec: { name: 'python3', display_name: 'Python 3', language: 'python' } },
    nbformat: 4,
    nbformat_minor: 5
  });
}

function submitToQueued(env, runs) {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'hpclab-bench-submit-'));
  fs.writeFileSync(path.join(work, 'big.ipynb'), bigNotebook(1e6));
  const dest = `${env.user}@${env.ssh.host}`;
  const ours = [];
  const peer = [];
  for (let i = 0; i < runs; i++) {
    let t0 = process.hrtime.bigint();
    const r = spawnSync(
      process.execPath,
      [cli, 'submit', 'big.ipynb', '--config', env.config, '--profile', 'cpu', '--sbatch', 'begin=now+3600', '--json'],
      { cwd: work, encoding: 'utf8', env: { PATH: process.env.PATH, HOME: work, CI: '1' } }
    );
    if (r.status !== 0) throw new Error(`hpclab submit failed: ${r.stderr}`);
    ours.push(Number(process.hrtime.bigint() - t0) / 1e6);
    const dir = `/tmp/hpclab-bench-peer-${process.pid}-${i}`;
    t0 = process.hrtime.bigint();
    execFileSync('ssh', [...sshBase(env), '-p', String(env.ssh.port), dest, 'mkdir', '-p', dir]);
    execFileSync('scp', [
      '-q',
      ...sshBase(env),
      '-P',
      String(env.ssh.port),
      path.join(work, 'big.ipynb'),
      `${dest}:${dir}/`
    ]);
    execFileSync('ssh', [
      ...sshBase(env),
      '-p',
      String(env.ssh.port),
      dest,
      'sbatch',
      '--parsable',
      '--begin=now+3600',
      `--chdir=${dir}`,
      '--wrap',
      "'jupyter nbconvert --execute --to notebook big.ipynb'"
    ]);
    peer.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  cancelMine(env);
  fs.rmSync(work, { recursive: true, force: true });
  return { ours: quantile(ours, 0.5), peer: quantile(peer, 0.5) };
}

function sweepRpcs(env, tasks) {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'hpclab-bench-sweep-'));
  fs.writeFileSync(path.join(work, 'task.sh'), 'echo "$HPCLAB_PARAM_i"\n');
  const values = Array.from({ length: tasks }, (_, i) => i).join(',');
  let before = totalRpcs();
  const r = spawnSync(
    process.execPath,
    [
      cli,
      'submit',
      'task.sh',
      '--config',
      env.config,
      '--profile',
      'cpu',
      '--param',
      `i=${values}`,
      '--sbatch',
      'begin=now+3600',
      '--json'
    ],
    { cwd: work, encoding: 'utf8', env: { PATH: process.env.PATH, HOME: work, CI: '1' } }
  );
  if (r.status !== 0) throw new Error(`hpclab submit failed: ${r.stderr}`);
  const ours = totalRpcs() - before;
  cancelMine(env);
  // The peer: what a hand-written loop does, one sbatch per parameter value, in one ssh session.
  const dest = `${env.user}@${env.ssh.host}`;
  before = totalRpcs();
  execFileSync('ssh', [
    ...sshBase(env),
    '-p',
    String(env.ssh.port),
    dest,
    `for i in $(seq 1 ${tasks}); do sbatch --parsable --begin=now+3600 --wrap 'echo $i' >/dev/null; done`
  ]);
  const peer = totalRpcs() - before;
  cancelMine(env);
  fs.rmSync(work, { recursive: true, force: true });
  return { ours, peer };
}

async function submitBench({ smoke = false } = {}) {
  const env = testbedEnv();
  cancelMine(env);
  const stage = await staging(env, smoke ? 5e6 : 50e6, smoke ? 1 : 3);
  const queued = submitToQueued(env, smoke ? 1 : 5);
  const tasks = smoke ? 10 : 100;
  const rpcs = sweepRpcs(env, tasks);
  return [
    {
      subject: `staging ${smoke ? 5 : 50} MB (pooled SSH vs scp on an open ControlMaster)`,
      ours: `${stage.ours.toFixed(1)} MB/s`,
      peer: `${stage.peer.toFixed(1)} MB/s`,
      ratio: `${(stage.ours / stage.peer).toFixed(2)}×`
    },
    {
      subject: 'submit 1 MB notebook → queued, cold CLI (vs ssh mkdir + scp + ssh sbatch)',
      ours: `${queued.ours.toFixed(0)} ms`,
      peer: `${queued.peer.toFixed(0)} ms`,
      ratio: `${(queued.ours / queued.peer).toFixed(2)}×`
    },
    {
      subject: `${tasks}-task sweep: slurmctld RPCs (one array vs a loop of sbatch)`,
      ours: String(rpcs.ours),
      peer: String(rpcs.peer),
      ratio: `${(rpcs.peer / Math.max(1, rpcs.ours)).toFixed(1)}× fewer`,
      note: 'counted by sdiag, sdiag itself excluded'
    }
  ];
}

module.exports = { submitBench };
runStandalone(module, submitBench);
