// Round trip of a trivial remote command (`true`) over hpclab's pooled ssh2 connection, beside
// OpenSSH doing the same with a multiplexed master connection (ControlMaster, the fastest way a
// script can call ssh) and with a new connection per call (what most tools do).
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const { testbedEnv, testbedClusters, quantile } = require('./lib');

async function measure(n, fn) {
  const times = [];
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    await fn();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return { p50: quantile(times, 0.5), p90: quantile(times, 0.9) };
}

async function sshExecBench({ n = 200 } = {}) {
  const env = testbedEnv();
  const clusters = testbedClusters(env);
  const transport = clusters.get('testbed').transport;
  await transport.exec(['true']); // log in once; the pool keeps the connection
  const ours = await measure(n, () => transport.exec(['true']));
  await clusters.close();

  const control = fs.mkdtempSync('/tmp/hpclab-bench-cm-');
  const base = [
    '-i',
    env.identityFile,
    '-o',
    `UserKnownHostsFile=${env.knownHostsFile}`,
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    'BatchMode=yes',
    '-p',
    String(env.ssh.port),
    `${env.user}@${env.ssh.host}`
  ];
  const mux = ['-o', 'ControlMaster=auto', '-o', `ControlPath=${control}/cm`, '-o', 'ControlPersist=60'];
  execFileSync('ssh', [...mux, ...base, 'true']);
  const openssh = await measure(n, async () => execFileSync('ssh', [...mux, ...base, 'true']));
  execFileSync('ssh', [...mux, '-O', 'exit', ...base], { stdio: 'ignore' });
  const fresh = await measure(Math.min(n, 30), async () => execFileSync('ssh', [...base, 'true']));
  fs.rmSync(control, { recursive: true, force: true });

  const f = x => `${x.toFixed(2)} ms`;
  return [
    {
      subject: 'ssh exec `true` p50 (pooled vs OpenSSH ControlMaster)',
      ours: f(ours.p50),
      peer: f(openssh.p50),
      ratio: (openssh.p50 / ours.p50).toFixed(2) + '× faster'
    },
    {
      subject: 'ssh exec `true` p90 (pooled vs OpenSSH ControlMaster)',
      ours: f(ours.p90),
      peer: f(openssh.p90),
      ratio: (openssh.p90 / ours.p90).toFixed(2) + '× faster'
    },
    {
      subject: 'ssh exec `true` p50 (pooled vs OpenSSH new connection)',
      ours: f(ours.p50),
      peer: f(fresh.p50),
      ratio: (fresh.p50 / ours.p50).toFixed(2) + '× faster'
    }
  ];
}

module.exports = { sshExecBench };
