// Remote kernels: start beside Slurm's own start of a trivial job, restart within the
// allocation, and execute round trips (1,000 trivial cells, median and p99) and pipelined
// throughput through the tunnel, beside the same ipykernel started locally in the same run.
const { execFileSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { root, testbedEnv } = require('./lib');
const { slurmStartMs } = require('./session');

const bin = path.join(root, 'dist', 'server', 'cli', 'main.js');

function runKernel(name, cells, restart, env) {
  const r = spawnSync(
    '/usr/bin/python3',
    [path.join(__dirname, 'kernel_rtt.py'), name, String(cells), restart ? '1' : '0'],
    { encoding: 'utf8', env, timeout: 600_000 }
  );
  const line = (r.stdout || '').trim().split('\n').pop();
  if (r.status !== 0 || !line) throw new Error(`kernel ${name} failed: ${r.stderr.slice(-2000)}`);
  return JSON.parse(line);
}

async function kernelBench({ cells = 1000 } = {}) {
  const tb = testbedEnv();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hpclab-bench-jupyter-'));
  const stateHome = fs.mkdtempSync(path.join(os.tmpdir(), 'hpclab-bench-state-'));
  const env = { ...process.env, JUPYTER_DATA_DIR: dataDir, XDG_STATE_HOME: stateHome, HOME: os.tmpdir() };
  execFileSync(process.execPath, [bin, 'kernels', 'add', '--profile', 'gpu', '--config', tb.config], { env });
  try {
    const slurm = slurmStartMs(tb.user);
    const remote = runKernel('hpclab-testbed-gpu', cells, true, env);
    const local = runKernel('python3', cells, false, env);
    return [
      {
        subject: 'kernel start → ready (remote, cold companion) vs Slurm submit → RUNNING',
        ours: `${remote.start_ms} ms`,
        peer: `${slurm} ms`,
        ratio: `+${remote.start_ms - slurm} ms`
      },
      {
        subject: 'kernel start → ready: remote vs local ipykernel',
        ours: `${remote.start_ms} ms`,
        peer: `${local.start_ms} ms`,
        ratio: `${(remote.start_ms / local.start_ms).toFixed(1)}×`
      },
      {
        subject: 'kernel restart within the allocation (no queue wait)',
        ours: `${remote.restart_ms} ms`,
        peer: '-',
        ratio: '-'
      },
      {
        subject: `execute round trip p50 over ${cells} cells: remote vs local`,
        ours: `${remote.p50_ms} ms`,
        peer: `${local.p50_ms} ms`,
        ratio: `+${(remote.p50_ms - local.p50_ms).toFixed(2)} ms`
      },
      {
        subject: `execute round trip p99 over ${cells} cells: remote vs local`,
        ours: `${remote.p99_ms} ms`,
        peer: `${local.p99_ms} ms`,
        ratio: `+${(remote.p99_ms - local.p99_ms).toFixed(2)} ms`
      },
      {
        subject: 'pipelined cells/s: remote vs local',
        ours: `${remote.pipelined_per_s}/s`,
        peer: `${local.pipelined_per_s}/s`,
        ratio: `${(remote.pipelined_per_s / local.pipelined_per_s).toFixed(2)}×`
      }
    ];
  } finally {
    // The companion the launcher started in the background.
    try {
      const info = JSON.parse(fs.readFileSync(path.join(stateHome, 'hpclab', 'run', 'companion.json'), 'utf8'));
      process.kill(info.pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
}

module.exports = { kernelBench, runKernel };
