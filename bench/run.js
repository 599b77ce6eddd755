#!/usr/bin/env node
// `npm run bench`: every benchmark on the testbed, one table (subject, ours, peer, ratio, target,
// verdict). Every figure is measured beside its peer in the same run. `--smoke` runs each briefly
// (CI uses it to prove the benchmarks still work; its figures mean nothing). `--only=NAME` runs one.
const { printTable } = require('./lib');

const benches = {
  proxy: smoke => require('./proxy').proxyBench({ smoke }),
  tunnel: smoke => require('./ssh-tunnel').sshTunnelBench({ smoke }),
  exec: smoke => require('./ssh-exec').sshExecBench({ n: smoke ? 10 : 300 }),
  kernel: smoke => require('./kernel').kernelBench({ cells: smoke ? 50 : 1000 }),
  session: smoke => require('./session').sessionBench({ runs: smoke ? 1 : 5 }),
  scheduler: smoke => require('./scheduler-load').schedulerLoadBench({ windowMs: smoke ? 3_000 : 30_000 }),
  submit: smoke => require('./submit').submitBench({ smoke }),
  history: smoke => require('./history').historyBench({ smoke }),
  frontend: smoke => require('./frontend').frontendBench({ smoke })
};

async function main() {
  const smoke = process.argv.includes('--smoke');
  const only = process.argv.find(a => a.startsWith('--only='))?.slice(7);
  if (only && !benches[only]) throw new Error(`--only: one of ${Object.keys(benches).join(', ')}`);
  const rows = [];
  const t0 = Date.now();
  for (const [name, run] of Object.entries(benches)) {
    if (only && name !== only) continue;
    const t = Date.now();
    rows.push(...(await run(smoke)));
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
