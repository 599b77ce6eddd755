#!/usr/bin/env node
// Records real Slurm output for the parser tests: puts jobs in interesting states on the
// testbed (running GPU job, job pending on resources, held job, array with a pending range),
// then runs exactly the argv the adapter runs, as the testbed user, and saves stdout verbatim.
// Usage: scripts/testbed up && npm run build:server && node scripts/record-fixtures.js
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const argv = require('../dist/server/scheduler/slurm/argv.js');

const user = JSON.parse(execFileSync(path.join(__dirname, 'testbed'), ['env'], { encoding: 'utf8' })).user;
const out = path.join(__dirname, '..', 'test', 'fixtures', 'slurm', 'recorded');
const asUser = (args, input) =>
  execFileSync('runuser', ['-u', user, '--', ...args], { encoding: 'utf8', input, cwd: '/' });
const sbatch = (...flags) =>
  asUser(['sbatch', '--parsable', '-o', '/dev/null', ...flags], '#!/bin/sh\nsleep 600\n').trim();
const sleep = ms => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

execFileSync('scancel', ['-u', user]);
const ids = {
  gpu: sbatch(
    '--job-name=train model v2',
    '-p',
    'gpu',
    '--gres=gpu:1',
    '-c',
    '4',
    '-t',
    '1-00:00:00',
    '--comment=hpclab-s1'
  ),
  fill: sbatch('--job-name=fill', '-p', 'debug', '-c', '4', '-t', '30'),
  waiting: sbatch(`--job-name=it's "quoted" | $(x)`, '-p', 'gpu', '--gres=gpu:fake:1', '-c', '8', '-t', '2:00:00'),
  held: sbatch('--job-name=held', '--hold', '-t', '5'),
  array: sbatch('--job-name=sweep', '--array=1-6%2', '-c', '1', '-t', '10')
};
for (let i = 0; i < 50; i++) {
  const states = asUser(['squeue', '--me', '-h', '-o', '%i %T %r']);
  if (/RUNNING/.test(states) && /Resources|Priority/.test(states)) break;
  sleep(200);
}
fs.mkdirSync(out, { recursive: true });
const save = (name, args) => fs.writeFileSync(path.join(out, name), asUser(args));
save('sinfo-nodes.txt', argv.partitionsArgv());
save('squeue-me.txt', argv.myJobsArgv());
save('scontrol-job-running.txt', argv.jobDetailArgv(ids.gpu));
save('scontrol-job-pending.txt', argv.jobDetailArgv(ids.waiting));
execFileSync('scancel', ['-u', user]);
fs.writeFileSync(path.join(out, 'jobs.json'), JSON.stringify(ids, null, 2) + '\n');
console.log(`recorded into ${out}: ${fs.readdirSync(out).join(', ')}`);
