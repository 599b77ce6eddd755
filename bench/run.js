#!/usr/bin/env node
// `npm run bench`: every benchmark on the testbed, one table. `--smoke` runs each briefly
// (CI uses it to prove the benchmarks still work; its figures mean nothing).
const { printTable } = require('./lib');
const { sshExecBench } = require('./ssh-exec');
const { schedulerLoadBench } = require('./scheduler-load');
const { sessionBench } = require('./session');
const { kernelBench } = require('./kernel');

async function main() {
  const smoke = process.argv.includes('--smoke');
  const only = process.argv.find(a => a.startsWith('--only='))?.slice(7);
  if (only === 'session') return printTable(await sessionBench({ runs: smoke ? 1 : 5 }));
  if (only === 'kernel') return printTable(await kernelBench({ cells: smoke ? 50 : 1000 }));
  const rows = [
    ...(await sshExecBench({ n: smoke ? 10 : 300 })),
    ...(await schedulerLoadBench({ windowMs: smoke ? 3_000 : 60_000 })),
    ...(await sessionBench({ runs: smoke ? 1 : 5 })),
    ...(await kernelBench({ cells: smoke ? 50 : 1000 }))
  ];
  printTable(rows);
}

main().catch(err => {
  console.error(`bench: ${err.message}`);
  process.exitCode = 1;
});
