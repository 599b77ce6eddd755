// Sessions: (1) POST → running, reachable Lab, beside Slurm's own start of a trivial job seen by
// a tight squeue poll; (2) a 10 MB download from the node's Jupyter through the companion's
// proxy, beside the same download over the same ssh stream without the proxy.
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const { root, testbedEnv, quantile } = require('./lib');

const { startCompanion } = require(path.join(root, 'dist', 'server', 'main.js'));
const { parseConfig } = require(path.join(root, 'dist', 'server', 'config', 'load.js'));

const sleep = ms => new Promise(r => setTimeout(r, ms));

function slurmStartMs(user) {
  const t0 = Date.now();
  const id = execFileSync('runuser', ['-u', user, '--', 'sbatch', '--parsable', '-o', '/dev/null', '-t', '5', '--wrap', 'sleep 60'], { encoding: 'utf8', cwd: '/' }).trim();
  for (;;) {
    if (execFileSync('squeue', ['-h', '-j', id, '-o', '%T'], { encoding: 'utf8' }).trim() === 'RUNNING') break;
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
  }
  const ms = Date.now() - t0;
  execFileSync('scancel', [id]);
  return ms;
}

function waitRunning(companion, id) {
  return new Promise((resolve, reject) => {
    const check = s => {
      if (s?.state === 'running') resolve(s);
      if (s?.state === 'failed' || s?.state === 'ended') reject(new Error(`session ${s.state}: ${s.message}`));
    };
    companion.sessions.subscribe(e => e.type === 'session' && e.session.id === id && check(e.session));
    check(companion.sessions.get(id));
  });
}

/** GET over an already-open stream (no proxy): the same path's physical limit. */
function getOverStream(stream, urlPath, token) {
  return new Promise((resolve, reject) => {
    const req = http.request({ createConnection: () => stream, host: 'node', path: urlPath, headers: { Authorization: `token ${token}` } });
    req.on('response', res => {
      let n = 0;
      res.on('data', d => (n += d.length));
      res.on('end', () => resolve(n));
    });
    req.on('error', reject);
    req.end();
  });
}

async function sessionBench({ runs = 5 } = {}) {
  const env = testbedEnv();
  const config = parseConfig(fs.readFileSync(env.config, 'utf8'), env.config);
  const stateHome = fs.mkdtempSync('/tmp/hpclab-bench-state-');
  const companion = await startCompanion({ config, env: { XDG_STATE_HOME: stateHome }, homeDir: stateHome });
  const ours = [];
  const slurm = [];
  const hand = [];
  let last;
  const { transport: login } = companion.clusters.get('testbed');
  const handScript = fs.readFileSync(path.join(__dirname, 'hand-run-lab.py'), 'utf8');
  try {
    for (let i = 0; i < runs; i++) {
      slurm.push(slurmStartMs(env.user));
      // The same Lab started by a hand-written script on the login node, as researchers do today.
      const r = await login.exec(['python3', '-c', handScript, 'debug'], { timeoutMs: 120_000 });
      if (r.code !== 0) throw new Error(`hand-run peer failed: ${r.stderr.trim().split('\n').pop()}`);
      hand.push(JSON.parse(r.stdout.trim().split('\n').pop()).ms);
      const t0 = Date.now();
      const s = await companion.sessions.create({ kind: 'lab', profile: 'cpu' });
      await waitRunning(companion, s.id);
      ours.push(Date.now() - t0);
      if (i < runs - 1) await companion.sessions.stop(s.id);
      else last = s;
      await sleep(500);
    }
    // 10 MB through the proxy vs over the bare stream. The client runs in this process too, so
    // the proxied figure pays for both ends on one event loop.
    const { transport } = companion.clusters.get('testbed');
    const name = `hpclab-bench-${process.pid}.bin`;
    await transport.exec(['sh', '-c', 'head -c 10485760 /dev/urandom > "$HOME/$1"', 'sh', name]);
    const record = companion.sessions.proxyLookup(last.id);
    const filePath = `${last.baseUrl}files/${name}`;
    const proxied = [];
    const direct = [];
    for (let i = 0; i < runs; i++) {
      let t0 = process.hrtime.bigint();
      const res = await fetch(new URL(filePath, companion.url), { headers: { Authorization: `token ${companion.token}` } });
      const bytes = (await res.arrayBuffer()).byteLength;
      proxied.push(bytes / 1e6 / (Number(process.hrtime.bigint() - t0) / 1e9));
      t0 = process.hrtime.bigint();
      const n = await getOverStream(await record.connect(), filePath, record.token);
      direct.push(n / 1e6 / (Number(process.hrtime.bigint() - t0) / 1e9));
      if (bytes !== 10485760 || n !== 10485760) throw new Error(`short download: ${bytes}, ${n}`);
    }
    await transport.exec(['sh', '-c', 'rm -f "$HOME/$1"', 'sh', name]);
    await companion.sessions.stop(last.id);
    const med = a => quantile(a, 0.5);
    return [
      { subject: 'session POST → Lab reachable, beyond Slurm\'s own start (submit → RUNNING, tight poll)', ours: `${med(ours)} ms`, peer: `${med(slurm)} ms`, ratio: `+${med(ours) - med(slurm)} ms`, target: '≤ +1500 ms', verdict: med(ours) - med(slurm) <= 1500 ? 'ok' : 'MISSED' },
      { subject: 'session POST → Lab reachable vs a hand-run sbatch + polling script (same Lab)', ours: `${med(ours)} ms`, peer: `${med(hand)} ms`, ratio: `${(med(hand) / med(ours)).toFixed(2)}× as fast`, note: `hand-run beyond Slurm's start: +${med(hand) - med(slurm)} ms` },
      { subject: '10 MB download from the node Lab: proxied vs same ssh stream, no proxy', ours: `${med(proxied).toFixed(1)} MB/s`, peer: `${med(direct).toFixed(1)} MB/s`, ratio: `${(med(proxied) / med(direct)).toFixed(2)}×` }
    ];
  } finally {
    await companion.close();
  }
}

module.exports = { sessionBench, slurmStartMs };
