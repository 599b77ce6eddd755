#!/usr/bin/env node
// `npm run bench`: every benchmark on the testbed, one table (subject, ours, peer, ratio, target,
// verdict). Every figure is measured beside its peer in the same run. `--smoke` runs each briefly
// (CI uses it to prove the benchmarks still work; its figures mean nothing). `--only=NAME` runs one.
// Each runs in a fresh process (`--rows-json` is that child's mode).
const { spawnSync } = require('node:child_process');
const { printTable } = require('./lib');

const benches = {
  proxy: smoke => require('./proxy').proxyBench({ smoke }),
  tunnel: smoke => require('./ssh-tunnel').sshTunnelBench({ smoke }),
  exec: smoke => require('./ssh-exec').sshExecBench({ n: smoke ? 10 : 300 }),
  kernel: smoke => require('./kernel').kernelBench({ cells: smoke ? 50 : 1000 }),
  'shared-kernel': smoke => require('./shared-kernel').sharedKernelBench({ smoke }),
  session: smoke => require('./session').sessionBench({ runs: smoke ? 1 : 5 }),
  'node-channels': smoke => require('./node-channels').nodeChannelsBench({ smoke }),
  scheduler: smoke => require('./scheduler-load').schedulerLoadBench({ windowMs: smoke ? 3_000 : 30_000 }),
  submit: smoke => require('./submit').submitBench({ smoke }),
  history: smoke => require('./history').historyBench({ smoke }),
  sync: smoke => require('./sync').syncBench({ smoke }),
  workspace: smoke => require('./workspace').workspaceBench({ smoke }),
  frontend: smoke => require('./frontend').frontendBench({ smoke })
};

/**
 * Each benchmark runs in a process of its own: what one leaves behind in this process (open
 * servers and sockets, a heap grown by 10,000 connections) would otherwise slow the next one's
 * client, and on 2 cores a busier client takes CPU from the companion it measures.
 */
const ROWS_MARKER = '@@hpclab-bench-rows@@';

function runIsolated(name, smoke) {
  const args = [__filename, `--only=${name}`, '--rows-json', ...(smoke ? ['--smoke'] : [])];
  const r = spawnSync(process.execPath, args, {
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
    maxBuffer: 1 << 26
  });
  if (r.status !== 0) throw new Error(`${name} failed (exit ${r.status ?? r.signal})`);
  const at = r.stdout.lastIndexOf(ROWS_MARKER);
  if (at < 0) throw new Error(`${name} printed no rows`);
  process.stdout.write(r.stdout.slice(0, at).trimEnd() ? `${r.stdout.slice(0, at).trim()}\n` : '');
  return JSON.parse(r.stdout.slice(at + ROWS_MARKER.length));
}

async function main() {
  const smoke = process.argv.includes('--smoke');
  const only = process.argv.find(a => a.startsWith('--only='))?.slice(7);
  if (only && !benches[only]) throw new Error(`--only: one of ${Object.keys(benches).join(', ')}`);
  if (process.argv.includes('--rows-json')) {
    // After a marker: a bench may print lines of its own. Exit at once: what a bench left open
    // (a server, a socket) must not keep this process, and the parent, waiting.
    const rows = await benches[only](smoke);
    process.stdout.write(`\n${ROWS_MARKER}${JSON.stringify(rows)}\n`, () => process.exit(0));
    return;
  }
  const rows = [];
  const t0 = Date.now();
  for (const name of Object.keys(benches)) {
    if (only && name !== only) continue;
    const t = Date.now();
    rows.push(...runIsolated(name, smoke));
    process.stderr.write(`bench: ${name} done in ${((Date.now() - t) / 1000).toFixed(0)} s\n`);
  }
  printTable(rows);
  process.stderr.write(`bench: all done in ${((Date.now() - t0) / 1000).toFixed(0)} s\n`);
}

if (require.main === module) {
  main().catch(err => {
    console.error(`bench: ${err.message}`);
    process.exitCode = 1;
  });
}
