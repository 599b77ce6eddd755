// `hpclab sync push` of many small files (a source tree), beside `rsync -a` over OpenSSH to the same
// sshd with the same key, in the same run: a fresh copy into an empty folder, then a run where
// nothing changed. Both include starting the process and logging in, as a user running either
// from a terminal would see it.
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { root, sshBase, testbedEnv, quantile, runStandalone } = require('./lib');

const cli = path.join(root, 'dist', 'server', 'cli', 'main.js');

function seconds(fn) {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

/** `files` small files in folders of 100, a few hundred bytes each, like a project's sources. */
function makeTree(dir, files) {
  for (let i = 0; i < files; i++) {
    const sub = path.join(dir, `pkg${Math.floor(i / 100)}`);
    if (i % 100 === 0) fs.mkdirSync(sub, { recursive: true });
    fs.writeFileSync(path.join(sub, `mod${i % 100}.py`), `# module ${i}\n${'x = 1\n'.repeat(20 + (i % 50))}`);
  }
}

async function syncBench({ smoke = false } = {}) {
  const env = testbedEnv();
  const files = smoke ? 50 : 1000;
  const runs = smoke ? 1 : 3;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'hpclab-bench-sync-'));
  const tree = path.join(work, 'laptop', 'tree');
  makeTree(tree, files);
  const remote = `hpclab-bench-sync-${process.pid}`;
  const config = JSON.parse(fs.readFileSync(env.config, 'utf8'));
  config.clusters.testbed.pathMap = [{ local: path.join(work, 'laptop'), remote: `~/${remote}/ours` }];
  const configFile = path.join(work, 'config.json');
  fs.writeFileSync(configFile, JSON.stringify(config));

  const ssh = [...sshBase(env), '-p', String(env.ssh.port)];
  const dest = `${env.user}@${env.ssh.host}`;
  const onLogin = argv => execFileSync('ssh', [...ssh, dest, ...argv], { stdio: ['ignore', 'ignore', 'inherit'] });
  const home = { ...process.env, HOME: work };
  const ours = () =>
    execFileSync(process.execPath, [cli, 'sync', 'push', tree, '--config', configFile, '--json'], {
      env: { ...home, CI: '1' },
      encoding: 'utf8'
    });
  // rsync splits -e on spaces itself (no shell); the bench's paths have none.
  const rsync = () =>
    execFileSync('rsync', ['-a', '-e', ['ssh', ...ssh].join(' '), `${tree}/`, `${dest}:${remote}/peer/tree/`], {
      env: home
    });
  const checkOurs = (out, copied) => {
    const r = JSON.parse(out);
    if (r.copied !== copied || r.failed.length > 0)
      throw new Error(`hpclab sync copied ${r.copied}, expected ${copied}`);
  };

  // What every hpclab command pays before it works (loading the CLI), for reading the figures.
  const start = [];
  for (let i = 0; i < runs; i++)
    start.push(seconds(() => execFileSync(process.execPath, [cli, '--version'], { env: home })));
  const fresh = { ours: [], peer: [] };
  const same = { ours: [], peer: [] };
  try {
    for (let i = 0; i < runs; i++) {
      onLogin(['rm', '-rf', '--', remote]);
      onLogin(['mkdir', '-p', '--', `${remote}/peer`]);
      let out;
      fresh.ours.push(seconds(() => (out = ours())));
      checkOurs(out, files);
      fresh.peer.push(seconds(rsync));
      same.ours.push(seconds(() => (out = ours())));
      checkOurs(out, 0);
      same.peer.push(seconds(rsync));
    }
  } finally {
    onLogin(['rm', '-rf', '--', remote]);
    fs.rmSync(work, { recursive: true, force: true });
  }

  const f = s => `${s.toFixed(2)} s`;
  const row = (subject, m) => {
    const o = quantile(m.ours, 0.5);
    const p = quantile(m.peer, 0.5);
    return {
      subject,
      ours: f(o),
      peer: f(p),
      ratio: o <= p ? `${(p / o).toFixed(2)}× faster` : `${(o / p).toFixed(2)}× slower`,
      note: `median of ${runs}; peer: rsync -a over OpenSSH; ours includes ${f(quantile(start, 0.5))} of CLI start`
    };
  };
  return [
    row(`sync push ${files} small files, fresh (hpclab vs rsync -a)`, fresh),
    row(`sync push ${files} small files, no change (hpclab vs rsync -a)`, same)
  ];
}

runStandalone(module, syncBench);

module.exports = { syncBench };
