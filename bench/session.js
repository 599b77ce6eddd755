// Sessions: (1) POST → running, reachable Lab, beside Slurm's own start of a trivial job seen by
// a tight squeue poll; (2) a 10 MB download from the node's Jupyter through the companion's
// proxy, beside the same download over the same kind of ssh stream without the proxy.
//
// Three processes, as in use: this one is the client, the companion runs in a child of its own
// (bench/session-companion.js), the Lab runs on the compute node. What each figure pays:
// - proxied: ssh2's decryption, http-proxy's parse and re-send and a loopback TCP write in the
//   companion, then a loopback read and an HTTP parse here (node:http; fetch in a second row);
// - raw forward (the judged peer): ssh2's decryption and a loopback TCP write in the companion,
//   bytes piped as they come from a fresh `record.connect()` stream of the same pooled
//   connection, then the same loopback read and HTTP parse here: the proxy's HTTP work is the
//   only difference;
// - bare stream (an upper bound): ssh2's decryption and one HTTP parse in the companion's
//   process, with no client process and no loopback hop. sshd and the Lab do the same for all.
const { execFileSync, fork } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const { testbedEnv, quantile } = require('./lib');

const sleep = ms => new Promise(r => setTimeout(r, ms));
const FILE_BYTES = 10 * 2 ** 20;

function slurmStartMs(user) {
  const t0 = Date.now();
  const id = execFileSync(
    'runuser',
    ['-u', user, '--', 'sbatch', '--parsable', '-o', '/dev/null', '-t', '5', '--wrap', 'sleep 60'],
    { encoding: 'utf8', cwd: '/' }
  ).trim();
  for (;;) {
    if (execFileSync('squeue', ['-h', '-j', id, '-o', '%T'], { encoding: 'utf8' }).trim() === 'RUNNING') break;
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
  }
  const ms = Date.now() - t0;
  execFileSync('scancel', [id]);
  return ms;
}

/** The companion child: `call(op, ...args)` runs one of its ops (see session-companion.js). */
function startCompanionProcess(configFile) {
  // Started with this process's node flags (--cpu-prof and the like reach both sides).
  const child = fork(path.join(__dirname, 'session-companion.js'), [], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: configFile ? { ...process.env, HPCLAB_BENCH_CONFIG: configFile } : process.env
  });
  const pending = new Map();
  let next = 0;
  const exited = new Promise(resolve => child.once('exit', resolve));
  return new Promise((resolve, reject) => {
    child.once('exit', code => {
      const err = new Error(`the bench companion exited (code ${code})`);
      reject(err);
      for (const p of pending.values()) p.reject(err);
    });
    child.on('message', msg => {
      if (msg.ready) {
        resolve({
          ...msg.ready,
          agent: new http.Agent({ keepAlive: true, maxSockets: 1 }),
          exited,
          kill: () => child.kill(),
          call: (op, ...args) =>
            new Promise((res, rej) => {
              const id = next++;
              pending.set(id, { resolve: res, reject: rej });
              child.send({ id, op, args });
            })
        });
        return;
      }
      const p = pending.get(msg.id);
      pending.delete(msg.id);
      if (msg.error !== undefined) p?.reject(new Error(msg.error));
      else p?.resolve(msg.result);
    });
  });
}

/** The same GET with fetch (undici), for the second row. */
async function proxiedFetch(companion, filePath) {
  const t0 = process.hrtime.bigint();
  const res = await fetch(new URL(filePath, companion.url), { headers: { Authorization: `token ${companion.token}` } });
  if (res.status !== 200) throw new Error(`proxied download (fetch): HTTP ${res.status}`);
  let bytes = 0;
  for await (const chunk of res.body) bytes += chunk.byteLength;
  return { bytes, mbps: bytes / 1e6 / (Number(process.hrtime.bigint() - t0) / 1e9) };
}

/**
 * One GET through the companion's proxy from this process, on a keep-alive connection as a
 * browser keeps one; MB/s from request to last byte. node:http rather than fetch: on a machine
 * with few cores the client's own CPU competes with the companion, sshd and the Lab, and undici's
 * parser and web streams cost about half as much again as node:http for the same bytes (a
 * browser parses in native code), which would be charged to the proxy.
 */
function proxiedDownload(companion, filePath) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const req = http.get(
      new URL(filePath, companion.url),
      { agent: companion.agent, headers: { Authorization: `token ${companion.token}` } },
      res => {
        if (res.statusCode !== 200) reject(new Error(`proxied download: HTTP ${res.statusCode}`));
        let bytes = 0;
        res.on('data', d => (bytes += d.length));
        res.on('end', () => resolve({ bytes, mbps: bytes / 1e6 / (Number(process.hrtime.bigint() - t0) / 1e9) }));
        res.on('error', reject);
      }
    );
    req.on('error', reject);
  });
}

/** One GET on a keep-alive connection to the companion's raw forward of the SSH stream (no proxy). */
function forwardedDownload(forward, filePath) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const req = http.get(
      {
        host: '127.0.0.1',
        port: forward.port,
        path: filePath,
        agent: forward.agent,
        headers: { Authorization: `token ${forward.token}` }
      },
      res => {
        if (res.statusCode !== 200) reject(new Error(`forwarded download: HTTP ${res.statusCode}`));
        let bytes = 0;
        res.on('data', d => (bytes += d.length));
        res.on('end', () => resolve({ bytes, mbps: bytes / 1e6 / (Number(process.hrtime.bigint() - t0) / 1e9) }));
        res.on('error', reject);
      }
    );
    req.on('error', reject);
  });
}

async function sessionBench({ runs = 5 } = {}) {
  const env = testbedEnv();
  const companion = await startCompanionProcess();
  const ours = [];
  const slurm = [];
  const hand = [];
  let last;
  const handScript = fs.readFileSync(path.join(__dirname, 'hand-run-lab.py'), 'utf8');
  try {
    for (let i = 0; i < runs; i++) {
      slurm.push(slurmStartMs(env.user));
      // The same Lab started by a hand-written script on the login node, as researchers do today.
      const r = await companion.call('exec', ['python3', '-c', handScript, 'debug'], { timeoutMs: 120_000 });
      if (r.code !== 0) throw new Error(`hand-run peer failed: ${r.stderr.trim().split('\n').pop()}`);
      hand.push(JSON.parse(r.stdout.trim().split('\n').pop()).ms);
      const t0 = Date.now();
      const s = await companion.call('startLab', 'cpu');
      ours.push(Date.now() - t0);
      if (i < runs - 1) await companion.call('stop', s.id);
      else last = s;
      await sleep(500);
    }
    const name = `hpclab-bench-${process.pid}.bin`;
    await companion.call('exec', [
      'sh',
      '-c',
      'head -c "$2" /dev/urandom > "$HOME/$1"',
      'sh',
      name,
      String(FILE_BYTES)
    ]);
    const filePath = `${last.baseUrl}files/${name}`;
    // The peer judged against: the same SSH stream forwarded raw to this process (same three
    // processes, same loopback hop), so the ratio is what the proxy's HTTP handling costs.
    const forward = {
      ...(await companion.call('rawForward', last.id)),
      agent: new http.Agent({ keepAlive: true, maxSockets: 1 })
    };
    // One of each first, unmeasured: the proxy's pooled stream and both JITs warm up.
    await proxiedDownload(companion, filePath);
    await forwardedDownload(forward, filePath);
    await proxiedFetch(companion, filePath);
    await companion.call('bareDownload', last.id, filePath);
    const proxied = [];
    const fetched = [];
    const direct = [];
    const forwarded = [];
    const downloads = runs * 3;
    for (let i = 0; i < downloads; i++) {
      const raw = await forwardedDownload(forward, filePath);
      if (raw.bytes !== FILE_BYTES) throw new Error(`short forwarded download: ${raw.bytes}`);
      forwarded.push(raw.mbps);
      const a = await proxiedDownload(companion, filePath);
      const f = await proxiedFetch(companion, filePath);
      const b = await companion.call('bareDownload', last.id, filePath);
      if (a.bytes !== FILE_BYTES || f.bytes !== FILE_BYTES || b.bytes !== FILE_BYTES)
        throw new Error(`short download: ${a.bytes}, ${f.bytes}, ${b.bytes}`);
      proxied.push(a.mbps);
      fetched.push(f.mbps);
      direct.push(b.mbps);
    }
    await companion.call('exec', ['sh', '-c', 'rm -f "$HOME/$1"', 'sh', name]);
    await companion.call('stop', last.id);
    const med = a => quantile(a, 0.5);
    forward.agent.destroy();
    const mbRatio = med(proxied) / med(forwarded);
    return [
      {
        subject: "session POST → Lab reachable, beyond Slurm's own start (submit → RUNNING, tight poll)",
        ours: `${med(ours)} ms`,
        peer: `${med(slurm)} ms`,
        ratio: `+${med(ours) - med(slurm)} ms`,
        target: '≤ +1500 ms',
        verdict: med(ours) - med(slurm) <= 1500 ? 'ok' : 'MISSED'
      },
      {
        subject: 'session POST → Lab reachable vs a hand-run sbatch + polling script (same Lab)',
        ours: `${med(ours)} ms`,
        peer: `${med(hand)} ms`,
        ratio: `${(med(hand) / med(ours)).toFixed(2)}× as fast`,
        note: `hand-run beyond Slurm's start: +${med(hand) - med(slurm)} ms`
      },
      {
        subject: '10 MB download from the node Lab: proxied vs the same ssh stream forwarded raw',
        ours: `${med(proxied).toFixed(1)} MB/s`,
        peer: `${med(forwarded).toFixed(1)} MB/s`,
        ratio: `${mbRatio.toFixed(2)}×`,
        target: '≥ 0.8×',
        verdict: mbRatio >= 0.8 ? 'ok' : 'MISSED',
        note: `median of ${downloads}, interleaved; client (node:http), companion and Lab: a process each`
      },
      {
        subject: '10 MB download from the node Lab: proxied vs the ssh stream read in the companion',
        ours: `${med(proxied).toFixed(1)} MB/s`,
        peer: `${med(direct).toFixed(1)} MB/s`,
        ratio: `${(med(proxied) / med(direct)).toFixed(2)}×`,
        note: 'the peer has no client process and no loopback hop: an upper bound'
      },
      {
        subject: '10 MB download from the node Lab: proxied, client fetch, vs same ssh stream',
        ours: `${med(fetched).toFixed(1)} MB/s`,
        peer: `${med(direct).toFixed(1)} MB/s`,
        ratio: `${(med(fetched) / med(direct)).toFixed(2)}×`,
        note: "the client's own cost: undici's parser and web streams"
      }
    ];
  } finally {
    companion.agent.destroy();
    await companion.call('close').catch(err => console.error(`bench: closing the companion: ${err.message}`));
    const timer = setTimeout(() => companion.kill(), 10_000);
    await companion.exited;
    clearTimeout(timer);
  }
}

module.exports = { sessionBench, slurmStartMs, startCompanionProcess, proxiedDownload, FILE_BYTES };
