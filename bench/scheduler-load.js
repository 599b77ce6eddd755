// What many clients cost slurmctld, counted by slurmctld itself (sdiag, every RPC type but sdiag's
// own): 1, 10 and 100 clients reading cluster status through a companion's API once a second
// (browser tabs, CLI calls, kernels waiting in the queue all read the same cache), beside 100
// clients that each run squeue every 15 s (a tool without a shared cache). Per-minute rates.
const { execFile } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { root, rpcCounts, testbedEnv } = require('./lib');

const sleep = ms => new Promise(r => setTimeout(r, ms));
const rpcs = () =>
  Object.entries(rpcCounts()).reduce((sum, [type, n]) => (type === 'REQUEST_STATS_INFO' ? sum : sum + n), 0);

async function oursFor(clients, windowMs) {
  const { startCompanion } = require(path.join(root, 'dist', 'server', 'main.js'));
  const { parseConfig } = require(path.join(root, 'dist', 'server', 'config', 'load.js'));
  const env = testbedEnv();
  const stateHome = fs.mkdtempSync('/tmp/hpclab-bench-load-');
  const companion = await startCompanion({
    config: parseConfig(fs.readFileSync(env.config, 'utf8'), env.config),
    env: { XDG_STATE_HOME: stateHome },
    homeDir: stateHome
  });
  const read = () =>
    fetch(new URL('hpclab/api/clusters/testbed/status', companion.url), {
      headers: { Authorization: `token ${companion.token}` }
    }).then(r => r.arrayBuffer());
  try {
    await read(); // logged in, first poll done: the window counts steady state
    const before = rpcs();
    const end = Date.now() + windowMs;
    await Promise.all(
      Array.from({ length: clients }, async (_, i) => {
        await sleep((1000 / clients) * i);
        while (Date.now() < end) {
          await read();
          await sleep(1000);
        }
      })
    );
    return ((rpcs() - before) * 60_000) / windowMs;
  } finally {
    await companion.close();
  }
}

async function peerFor(clients, windowMs) {
  const before = rpcs();
  const end = Date.now() + windowMs;
  await Promise.all(
    Array.from({ length: clients }, async (_, i) => {
      await sleep((15_000 / clients) * i); // spread out, as independent tabs would be
      while (Date.now() < end) {
        await new Promise(r => execFile('squeue', ['--me', '-h'], r));
        await sleep(15_000);
      }
    })
  );
  return ((rpcs() - before) * 60_000) / windowMs;
}

async function schedulerLoadBench({ windowMs = 30_000 } = {}) {
  const ours = {};
  for (const clients of [1, 10, 100]) ours[clients] = await oursFor(clients, windowMs);
  const peer = await peerFor(100, windowMs);
  // One poll more or less in a window is quantisation, not load: that is the allowed difference.
  const slack = 60_000 / windowMs;
  const same = ours[100] <= ours[1] + slack;
  return [
    ...[1, 10, 100].map(n => ({
      subject: `slurmctld RPCs/min, ${n} client${n > 1 ? 's' : ''} reading status every 1 s through the companion`,
      ours: ours[n].toFixed(1),
      peer: '-',
      ratio: ours[1] > 0 ? `${(ours[n] / ours[1]).toFixed(2)}× the 1-client rate` : 'n/a'
    })),
    {
      subject: 'slurmctld RPCs/min: 100 clients vs 1 client through the companion',
      ours: ours[100].toFixed(1),
      peer: ours[1].toFixed(1),
      ratio: `${(ours[100] - ours[1]).toFixed(1)} more`,
      target: `same (± one poll: ${slack.toFixed(0)}/min)`,
      verdict: same ? 'ok' : 'MISSED'
    },
    {
      subject: 'slurmctld RPCs/min: 100 clients, companion vs one squeue per client every 15 s',
      ours: ours[100].toFixed(1),
      peer: peer.toFixed(1),
      ratio: ours[100] > 0 ? `${(peer / ours[100]).toFixed(1)}× fewer` : 'n/a (no poll in the window)'
    }
  ];
}

module.exports = { schedulerLoadBench };

require('./lib').runStandalone(module, ({ smoke }) => schedulerLoadBench({ windowMs: smoke ? 3_000 : 30_000 }));
