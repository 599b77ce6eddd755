// Job history: `hpclab jobs --history` beside asking sacct by hand over OpenSSH, in the same run,
// for the same jobs (at least 1,000 finished ones of the testbed user; made first if missing).
//  - warm: Scheduler.history over the pooled SSH connection vs `ssh … sacct` on an open
//    ControlMaster connection (both already logged in; the same sacct argv);
//  - cold: the whole CLI (`hpclab jobs --history --json`: connect, sacct, parse, print) vs
//    `ssh … sacct` on a new OpenSSH connection (which parses nothing).
const { execFileSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { root, sshBase, testbedEnv, testbedClusters, quantile, runStandalone } = require('./lib');

const cli = path.join(root, 'dist', 'server', 'cli', 'main.js');
const dist = path.join(root, 'dist', 'server');
const SINCE = '1d';

/** The user's finished jobs (array tasks counted one by one) in the window, as sacct counts them. */
function finishedJobs(env) {
  const out = execFileSync('sacct', ['-X', '-n', '-P', `-u${env.user}`, '-S', 'now-1days', '-o', 'JobID,State'], {
    encoding: 'utf8'
  });
  return out.split('\n').filter(line => line && !/\|(PENDING|RUNNING)$/.test(line)).length;
}

/** Runs an array of `true` tasks as the testbed user until at least `want` finished jobs exist. */
async function ensureHistory(env, want) {
  const have = finishedJobs(env);
  if (have >= want) return have;
  const missing = want - have;
  const id = execFileSync(
    'runuser',
    [
      '-u',
      env.user,
      '--',
      'sbatch',
      '--parsable',
      `--array=0-${missing - 1}`,
      '--mem=10M',
      '-t',
      '1',
      '-o',
      '/dev/null',
      '--wrap',
      'true'
    ],
    { encoding: 'utf8', cwd: '/tmp' }
  ).trim();
  for (;;) {
    const left = execFileSync('squeue', ['-h', '-r', '-j', id, '-o', '%i'], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean);
    process.stderr.write(`\rbench: history: ${missing - left.length}/${missing} tasks of job ${id} done   `);
    if (left.length === 0) break;
    await new Promise(r => setTimeout(r, 2000));
  }
  process.stderr.write('\n');
  // slurmdbd records the last ends a moment after squeue forgets them.
  for (let i = 0; i < 60 && finishedJobs(env) < want; i++) await new Promise(r => setTimeout(r, 500));
  return finishedJobs(env);
}

async function historyBench({ smoke = false } = {}) {
  const env = testbedEnv();
  const want = smoke ? 20 : 1000;
  const runs = smoke ? 2 : 7;
  const jobs = await ensureHistory(env, want);
  const { historyArgv } = require(path.join(dist, 'scheduler', 'slurm', 'parse-sacct.js'));
  const argv = historyArgv({ since: SINCE });
  const dest = `${env.user}@${env.ssh.host}`;
  const port = ['-p', String(env.ssh.port)];
  const control = fs.mkdtempSync('/tmp/hpclab-bench-cm-');
  const mux = ['-o', 'ControlMaster=auto', '-o', `ControlPath=${control}/cm`, '-o', 'ControlPersist=60'];
  const clusters = testbedClusters(env);
  const { scheduler } = clusters.get('testbed');
  const warm = { ours: [], peer: [] };
  const cold = { ours: [], peer: [] };
  let listed = 0;
  try {
    listed = (await scheduler.history({ since: SINCE })).length; // logs in once; the pool keeps it
    execFileSync('ssh', [...mux, ...sshBase(env), ...port, dest, 'true']);
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'hpclab-bench-history-'));
    for (let i = 0; i < runs; i++) {
      let t0 = process.hrtime.bigint();
      await scheduler.history({ since: SINCE });
      warm.ours.push(Number(process.hrtime.bigint() - t0) / 1e6);
      t0 = process.hrtime.bigint();
      execFileSync('ssh', [...mux, ...sshBase(env), ...port, dest, ...argv], { maxBuffer: 1 << 28 });
      warm.peer.push(Number(process.hrtime.bigint() - t0) / 1e6);

      t0 = process.hrtime.bigint();
      const r = spawnSync(
        process.execPath,
        [cli, 'jobs', '--history', '--since', SINCE, '--json', '--config', env.config],
        {
          encoding: 'utf8',
          maxBuffer: 1 << 28,
          env: { PATH: process.env.PATH, HOME: work, CI: '1' }
        }
      );
      if (r.status !== 0) throw new Error(`hpclab jobs --history failed: ${r.stderr}`);
      cold.ours.push(Number(process.hrtime.bigint() - t0) / 1e6);
      t0 = process.hrtime.bigint();
      execFileSync('ssh', [...sshBase(env), ...port, dest, ...argv], { maxBuffer: 1 << 28 });
      cold.peer.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    fs.rmSync(work, { recursive: true, force: true });
  } finally {
    spawnSync('ssh', [...mux, '-O', 'exit', ...sshBase(env), ...port, dest], { stdio: 'ignore' });
    fs.rmSync(control, { recursive: true, force: true });
    await clusters.close();
  }
  const row = (subject, m) => {
    const ours = quantile(m.ours, 0.5);
    const peer = quantile(m.peer, 0.5);
    return {
      subject,
      ours: `${ours.toFixed(0)} ms`,
      peer: `${peer.toFixed(0)} ms`,
      ratio: `${(ours / peer).toFixed(2)}×`
    };
  };
  return [
    {
      ...row(`history of ${listed} jobs, warm (pooled SSH vs ssh sacct on a ControlMaster)`, warm),
      note: `${jobs} finished in sacct's count`
    },
    row(`history of ${listed} jobs, cold CLI --json (vs ssh sacct, new connection, unparsed)`, cold)
  ];
}

module.exports = { historyBench };
runStandalone(module, historyBench);
