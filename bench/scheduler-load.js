// What many readers cost slurmctld, counted by slurmctld itself (sdiag): hpclab's one poller
// per cluster with N readers polling it every second (browser tabs, kernels, CLI calls through
// the companion), beside N readers that each run squeue every 15 s (a tool without a shared
// cache: one poll per tab or per kernel). Per-minute figures from a shorter window.
const { jobQueries, testbedClusters } = require('./lib');
const { execFile } = require('node:child_process');

const sleep = ms => new Promise(r => setTimeout(r, ms));

async function oursFor(readers, windowMs) {
  const clusters = testbedClusters();
  const { poller } = clusters.get('testbed');
  const before = jobQueries();
  poller.start();
  const end = Date.now() + windowMs;
  await Promise.all(Array.from({ length: readers }, async () => {
    while (Date.now() < end) {
      await poller.jobs.get();
      await sleep(1000);
    }
  }));
  poller.stop();
  await clusters.close();
  return ((jobQueries() - before) * 60_000) / windowMs;
}

async function peerFor(readers, windowMs) {
  const before = jobQueries();
  const end = Date.now() + windowMs;
  await Promise.all(Array.from({ length: readers }, async (_, i) => {
    await sleep((15_000 / readers) * i); // spread out, as independent tabs would be
    while (Date.now() < end) {
      await new Promise(r => execFile('squeue', ['--me', '-h'], r));
      await sleep(15_000);
    }
  }));
  return ((jobQueries() - before) * 60_000) / windowMs;
}

async function schedulerLoadBench({ windowMs = 30_000 } = {}) {
  const rows = [];
  for (const readers of [1, 50]) {
    const ours = await oursFor(readers, windowMs);
    const peerRate = await peerFor(readers, windowMs);
    rows.push({
      subject: `squeue calls/min, ${readers} reader${readers > 1 ? 's' : ''} (one poller vs one squeue per reader every 15 s)`,
      ours: ours.toFixed(1),
      peer: peerRate.toFixed(1),
      ratio: ours > 0 ? (peerRate / ours).toFixed(1) + '× fewer' : 'n/a'
    });
  }
  return rows;
}

module.exports = { schedulerLoadBench };
