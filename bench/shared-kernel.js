// A second notebook's kernel joining a running allocation of its profile (kernels.perAllocation),
// beside a local ipykernel's start in the same run: the point of sharing is that it feels local.
const { execFileSync, spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { root, testbedEnv, quantile } = require('./lib');
const { runKernel } = require('./kernel');

const bin = path.join(root, 'dist', 'server', 'cli', 'main.js');

/** Starts a kernel and keeps it until stdin closes: the first notebook, holding the allocation. */
function holdKernel(name, env) {
  const code = [
    'import sys',
    'from jupyter_client.manager import KernelManager',
    `km = KernelManager(kernel_name=${JSON.stringify(name)})`,
    'km.start_kernel(); kc = km.client(); kc.start_channels(); kc.wait_for_ready(timeout=180)',
    "print('ready', flush=True); sys.stdin.read(); km.shutdown_kernel()"
  ].join('\n');
  const child = spawn('/usr/bin/python3', ['-c', code], { env, stdio: ['pipe', 'pipe', 'inherit'] });
  const ready = new Promise((resolve, reject) => {
    child.stdout.on('data', d => d.toString().includes('ready') && resolve());
    child.on('exit', code => reject(new Error(`the holding kernel exited (${code})`)));
  });
  return { ready, stop: () => new Promise(resolve => (child.on('exit', resolve), child.stdin.end())) };
}

const sharedJobIds = () =>
  execFileSync('squeue', ['-h', '-t', 'PD,R', '-o', '%i|%k'], { encoding: 'utf8' })
    .split('\n')
    .filter(line => /\|hpclab:[^:]+:kernel:shared$/.test(line))
    .map(line => line.split('|')[0]);
const sharedJobs = () => sharedJobIds().length;

async function sharedKernelBench({ smoke = false } = {}) {
  const tb = testbedEnv();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hpclab-bench-shared-'));
  const config = JSON.parse(fs.readFileSync(tb.config, 'utf8'));
  config.profiles.shared = {
    ...config.profiles.gpu,
    gres: 'gpu:2',
    kernels: { perAllocation: 2, cpus: 1, mem: '512M', gpus: 1 }
  };
  const configPath = path.join(dir, 'config.json');
  fs.writeFileSync(configPath, JSON.stringify(config), { mode: 0o600 });
  const env = {
    ...process.env,
    JUPYTER_DATA_DIR: path.join(dir, 'jupyter'),
    XDG_STATE_HOME: path.join(dir, 'state'),
    HOME: os.tmpdir()
  };
  execFileSync(process.execPath, [bin, 'kernels', 'add', '--profile', 'shared', '--config', configPath], { env });
  const runs = smoke ? 1 : 5;
  const cells = smoke ? 5 : 50;
  const holder = holdKernel('hpclab-testbed-shared', env);
  try {
    const t0 = Date.now();
    await holder.ready;
    const first = Date.now() - t0;
    const second = [];
    const local = [];
    let jobs = 0;
    for (let i = 0; i < runs; i++) {
      second.push(runKernel('hpclab-testbed-shared', cells, false, env).start_ms);
      jobs = Math.max(jobs, sharedJobs());
      local.push(runKernel('python3', cells, false, env).start_ms);
    }
    const [ours, peer] = [quantile(second, 0.5), quantile(local, 0.5)];
    return [
      {
        subject: `second kernel of a profile → ready (joins the allocation; median of ${runs}) vs local ipykernel`,
        ours: `${ours} ms`,
        peer: `${peer} ms`,
        ratio: `${(ours / peer).toFixed(2)}×`
      },
      {
        subject: 'first kernel of the profile → ready (queues the allocation)',
        ours: `${first} ms`,
        peer: '-',
        ratio: '-'
      },
      { subject: 'allocations in squeue while both ran', ours: String(jobs), peer: '1 expected', ratio: '-' }
    ];
  } finally {
    await holder.stop();
    // The last kernel out holds a shared allocation for the grace time; the next run must not queue behind it.
    const left = sharedJobIds();
    if (left.length > 0) execFileSync('scancel', left);
    try {
      const info = JSON.parse(
        fs.readFileSync(path.join(env.XDG_STATE_HOME, 'hpclab', 'run', 'companion.json'), 'utf8')
      );
      process.kill(info.pid, 'SIGTERM');
    } catch (err) {
      console.error(`bench: the companion is gone already (${err.message})`);
    }
  }
}

module.exports = { sharedKernelBench };
