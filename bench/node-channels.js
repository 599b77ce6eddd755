// Private node channels (issue 16) beside today's TCP path, in one run: the same cluster reached
// with `nodeChannels: "relay"` (the default: unix sockets in the job's 0700 directory, reached by
// a relay step of the job, whose streams dial out to the companion's hub on the login node) and with `nodeChannels: "tcp"` (ports on the node's address,
// reached by SSH forwarding). Kernels: start → ready, execute round trip p50/p99 over trivial
// cells, pipelined cells/s. Labs: page load (the /lab page and the scripts it names) and a 10 MB
// download, both through the companion's proxy. Runs alternate between the two paths.
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { root, testbedEnv, quantile } = require('./lib');
const { runKernel } = require('./kernel');
const { startCompanionProcess, proxiedDownload, FILE_BYTES } = require('./session');

const bin = path.join(root, 'dist', 'server', 'cli', 'main.js');
const med = values => quantile(values, 0.5);

/** The testbed's config with every cluster set to `mode`, in a 0600 file of its own. */
function configFor(mode, dir) {
  const tb = testbedEnv();
  const config = JSON.parse(fs.readFileSync(tb.config, 'utf8'));
  for (const cluster of Object.values(config.clusters)) cluster.nodeChannels = mode;
  const file = path.join(dir, `config-${mode}.json`);
  fs.writeFileSync(file, JSON.stringify(config), { mode: 0o600 });
  return file;
}

/** A kernelspec of the cpu profile under this config, in a Jupyter data dir of its own. */
function kernelEnv(mode, configFile) {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `hpclab-bench-${mode}-jupyter-`));
  const stateHome = fs.mkdtempSync(path.join(os.tmpdir(), `hpclab-bench-${mode}-state-`));
  const env = { ...process.env, JUPYTER_DATA_DIR: dataDir, XDG_STATE_HOME: stateHome, HOME: os.tmpdir() };
  execFileSync(process.execPath, [bin, 'kernels', 'add', '--profile', 'cpu', '--config', configFile], { env });
  return { env, stateHome };
}

function stopLauncherCompanion(stateHome) {
  try {
    const info = JSON.parse(fs.readFileSync(path.join(stateHome, 'hpclab', 'run', 'companion.json'), 'utf8'));
    process.kill(info.pid, 'SIGTERM');
  } catch {
    // none was started, or it is gone already
  }
}

/** GET through the proxy on the page's keep-alive connection; bytes read. */
function get(companion, urlPath) {
  return new Promise((resolve, reject) => {
    http
      .get(
        new URL(urlPath, companion.url),
        { agent: companion.agent, headers: { Authorization: `token ${companion.token}` } },
        res => {
          const chunks = [];
          res.on('data', d => chunks.push(d));
          res.on('end', () =>
            res.statusCode === 200
              ? resolve(Buffer.concat(chunks))
              : reject(new Error(`GET ${urlPath}: HTTP ${res.statusCode}`))
          );
          res.on('error', reject);
        }
      )
      .on('error', reject);
  });
}

/** The Lab page and every script it names, one after another as a cold browser would; ms and bytes. */
async function pageLoad(companion, baseUrl) {
  const t0 = process.hrtime.bigint();
  const html = (await get(companion, `${baseUrl}lab`)).toString('utf8');
  let bytes = html.length;
  const scripts = [...html.matchAll(/<script[^>]+src="([^"]+)"/g)].map(m => m[1].replace(/&amp;/g, '&'));
  for (const src of scripts)
    bytes += (await get(companion, new URL(src, new URL(`${baseUrl}lab`, companion.url)).pathname)).length;
  return { ms: Number(process.hrtime.bigint() - t0) / 1e6, bytes, scripts: scripts.length };
}

async function nodeChannelsBench({ smoke = false } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hpclab-bench-nc-'));
  const modes = ['tcp', 'relay'];
  const configs = Object.fromEntries(modes.map(m => [m, configFor(m, dir)]));
  const cells = smoke ? 50 : 1000;
  const rounds = smoke ? 1 : 2;
  const kernels = { tcp: [], relay: [] };
  for (let i = 0; i < rounds; i++)
    for (const mode of modes) {
      const { env, stateHome } = kernelEnv(mode, configs[mode]);
      try {
        kernels[mode].push(runKernel('hpclab-testbed-cpu', cells, false, env));
      } finally {
        stopLauncherCompanion(stateHome);
      }
    }
  const labs = {};
  const companions = {};
  try {
    for (const mode of modes) {
      companions[mode] = await startCompanionProcess(configs[mode]);
      labs[mode] = await companions[mode].call('startLab', 'cpu');
    }
    const name = `hpclab-bench-nc-${process.pid}.bin`;
    await companions.tcp.call('exec', [
      'sh',
      '-c',
      'head -c "$2" /dev/urandom > "$HOME/$1"',
      'sh',
      name,
      String(FILE_BYTES)
    ]);
    const loads = { tcp: [], relay: [] };
    const downloads = { tcp: [], relay: [] };
    for (const mode of modes) {
      // Unmeasured: the relay starts, the pooled streams open, the JITs warm up.
      await pageLoad(companions[mode], labs[mode].baseUrl);
      await proxiedDownload(companions[mode], `${labs[mode].baseUrl}files/${name}`);
    }
    let page;
    for (let i = 0; i < (smoke ? 1 : 5); i++)
      for (const mode of modes) {
        page = await pageLoad(companions[mode], labs[mode].baseUrl);
        loads[mode].push(page.ms);
        const d = await proxiedDownload(companions[mode], `${labs[mode].baseUrl}files/${name}`);
        if (d.bytes !== FILE_BYTES) throw new Error(`short download (${mode}): ${d.bytes}`);
        downloads[mode].push(d.mbps);
      }
    await companions.tcp.call('exec', ['sh', '-c', 'rm -f "$HOME/$1"', 'sh', name]);
    const k = key => ({ tcp: med(kernels.tcp.map(r => r[key])), relay: med(kernels.relay.map(r => r[key])) });
    const p50 = k('p50_ms');
    const p99 = k('p99_ms');
    const rate = k('pipelined_per_s');
    const start = k('start_ms');
    const dl = { tcp: med(downloads.tcp), relay: med(downloads.relay) };
    const load = { tcp: med(loads.tcp), relay: med(loads.relay) };
    const verdict = ok => (ok ? 'ok' : 'MISSED');
    return [
      {
        subject: `kernel execute round trip p50 over ${cells} cells: private relay vs TCP ports`,
        ours: `${p50.relay} ms`,
        peer: `${p50.tcp} ms`,
        ratio: `+${(p50.relay - p50.tcp).toFixed(2)} ms`,
        target: '≤ +1 ms',
        verdict: verdict(p50.relay - p50.tcp <= 1)
      },
      {
        subject: `kernel execute round trip p99 over ${cells} cells: private relay vs TCP ports`,
        ours: `${p99.relay} ms`,
        peer: `${p99.tcp} ms`,
        ratio: `+${(p99.relay - p99.tcp).toFixed(2)} ms`
      },
      {
        subject: 'kernel pipelined cells/s: private relay vs TCP ports',
        ours: `${rate.relay}/s`,
        peer: `${rate.tcp}/s`,
        ratio: `${(rate.relay / rate.tcp).toFixed(2)}×`,
        target: '≥ 0.9×',
        verdict: verdict(rate.relay / rate.tcp >= 0.9)
      },
      {
        subject: 'kernel start → ready (cold companion, new allocation): private relay vs TCP ports',
        ours: `${start.relay} ms`,
        peer: `${start.tcp} ms`,
        ratio: `+${start.relay - start.tcp} ms`
      },
      {
        subject: `Lab page load through the proxy (/lab and its ${page.scripts} scripts, ${(page.bytes / 1e6).toFixed(1)} MB): relay vs TCP`,
        ours: `${load.relay.toFixed(0)} ms`,
        peer: `${load.tcp.toFixed(0)} ms`,
        ratio: `${(load.tcp / load.relay).toFixed(2)}× as fast`
      },
      {
        subject: '10 MB download from the node Lab through the proxy: private relay vs TCP port',
        ours: `${dl.relay.toFixed(1)} MB/s`,
        peer: `${dl.tcp.toFixed(1)} MB/s`,
        ratio: `${(dl.relay / dl.tcp).toFixed(2)}×`,
        target: '≥ 0.8×',
        verdict: verdict(dl.relay / dl.tcp >= 0.8),
        note: `median of ${downloads.relay.length}, alternating; new path: the relay's bulk lane via the login node's hub`
      }
    ];
  } finally {
    for (const mode of modes) {
      const c = companions[mode];
      if (!c) continue;
      if (labs[mode]) await c.call('stop', labs[mode].id).catch(err => console.error(`bench: stop: ${err.message}`));
      c.agent.destroy();
      await c.call('close').catch(err => console.error(`bench: closing the companion: ${err.message}`));
      const timer = setTimeout(() => c.kill(), 10_000);
      await c.exited;
      clearTimeout(timer);
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

module.exports = { nodeChannelsBench };
