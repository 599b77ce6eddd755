// Shared bits of the benchmarks: the testbed's config, the built companion, a results table.
// Benchmarks print ratios against a peer measured in the same run; they never assert times.
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const dist = path.join(root, 'dist', 'server');

function testbedEnv() {
  return JSON.parse(execFileSync(path.join(root, 'scripts', 'testbed'), ['env'], { encoding: 'utf8' }));
}

/** A ClusterRegistry over the testbed's generated config, built the way the CLI builds one. */
function testbedClusters(env = testbedEnv()) {
  const { ClusterRegistry } = require(path.join(dist, 'app.js'));
  const { parseConfig } = require(path.join(dist, 'config', 'load.js'));
  const config = parseConfig(fs.readFileSync(env.config, 'utf8'), env.config);
  return new ClusterRegistry(config, { env: {}, homeDir: fs.mkdtempSync('/tmp/hpclab-bench-home-') });
}

function quantile(values, q) {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}

/** slurmctld's RPC counters by message type, from sdiag. */
function rpcCounts() {
  const out = execFileSync('sdiag', { encoding: 'utf8' });
  const section = out
    .split('Remote Procedure Call statistics by message type')[1]
    .split('Remote Procedure Call statistics by user')[0];
  const counts = {};
  for (const m of section.matchAll(/^\s*(\w+)\s+\(\s*\d+\)\s+count:(\d+)/gm)) counts[m[1]] = Number(m[2]);
  return counts;
}

/** squeue-style job queries slurmctld has answered (a user's --me, or root's). */
const jobQueries = () => {
  const c = rpcCounts();
  return (c.REQUEST_JOB_USER_INFO ?? 0) + (c.REQUEST_JOB_INFO ?? 0);
};

/** Rows: {subject, ours, peer, ratio, note?}; `target` and `verdict` columns appear when a row has them. */
/** OpenSSH's options for the testbed's login node, as the peers in the benchmarks use them. */
function sshBase(env) {
  return [
    '-i',
    env.identityFile,
    '-o',
    `UserKnownHostsFile=${env.knownHostsFile}`,
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    'BatchMode=yes'
  ];
}

function printTable(rows) {
  const judged = rows.some(r => r.target !== undefined || r.verdict !== undefined);
  const headers = ['subject', 'ours', 'peer', 'ratio', ...(judged ? ['target', 'verdict'] : []), 'note'];
  const cells = rows.map(r => [
    r.subject,
    r.ours,
    r.peer,
    r.ratio,
    ...(judged ? [r.target ?? '', r.verdict ?? ''] : []),
    r.note ?? ''
  ]);
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map(c => String(c[i]).length)));
  const line = c => c.map((x, i) => String(x).padEnd(widths[i])).join('  ');
  console.log(line(headers));
  for (const c of cells) console.log(line(c));
}

/** `node bench/x.js [--smoke]`: runs one benchmark alone and prints its table. */
function runStandalone(mod, bench) {
  if (require.main !== mod) return;
  bench({ smoke: process.argv.includes('--smoke') }).then(printTable, err => {
    console.error(`bench: ${err.stack}`);
    process.exitCode = 1;
  });
}

module.exports = {
  root,
  testbedEnv,
  testbedClusters,
  quantile,
  jobQueries,
  rpcCounts,
  sshBase,
  printTable,
  runStandalone
};
