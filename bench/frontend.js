// Frontend: the prebuilt labextension's gzipped size, and the time to render the sidebar's Jobs
// table with 5,000 jobs in Debian's Chromium (the extension loaded in the test host behind
// `hpclab lab`, as users run it). The render time includes the frame the update waits for.
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const zlib = require('node:zlib');
const { root, testbedEnv, quantile } = require('./lib');

const SIZE_TARGET_KB = 250;
const RENDER_TARGET_MS = 100;

function extensionGzipKB() {
  const dir = path.join(root, 'hpclab', 'labextension', 'static');
  let bytes = 0;
  for (const f of fs.readdirSync(dir).filter(f => f.endsWith('.js')))
    bytes += zlib.gzipSync(fs.readFileSync(path.join(dir, f)), { level: 9 }).length;
  return bytes / 1024;
}

/** `hpclab lab` in front of the test host, in throw-away dirs; resolves with its URL and a stop(). */
async function startLab(config) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hpclab-bench-lab-'));
  for (const d of ['root', 'state', 'data', 'runtime', 'labext']) fs.mkdirSync(path.join(tmp, d));
  fs.symlinkSync(path.join(root, 'hpclab', 'labextension'), path.join(tmp, 'labext', 'hpclab'));
  const server = [
    '/usr/bin/python3',
    path.join(root, 'lab', 'server', 'hpclab_lab.py'),
    '--allow-root',
    `--ServerApp.root_dir=${tmp}/root`,
    '--expose-app-in-browser',
    `--labextensions-path=${tmp}/labext`
  ];
  const child = spawn(
    process.execPath,
    [
      path.join(root, 'dist', 'server', 'cli', 'main.js'),
      'lab',
      '--no-browser',
      '--config',
      config,
      '--server-command',
      JSON.stringify(server)
    ],
    {
      detached: true,
      stdio: ['ignore', 'pipe', 'ignore'],
      env: {
        ...process.env,
        HOME: tmp,
        XDG_STATE_HOME: `${tmp}/state`,
        JUPYTER_DATA_DIR: `${tmp}/data`,
        JUPYTER_RUNTIME_DIR: `${tmp}/runtime`,
        JUPYTER_CONFIG_DIR: `${tmp}/config`
      }
    }
  );
  const url = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', d => {
      out += d;
      const m = /Jupyter at: (\S+)/.exec(out);
      if (m) resolve(m[1]);
    });
    child.once('exit', code => reject(new Error(`hpclab lab exited (${code})`)));
  });
  return {
    url,
    stop: () => {
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {
        // gone
      }
    }
  };
}

function fakeJobs(n, salt) {
  const jobs = [];
  for (let i = 0; i < n; i++) {
    const running = i % 3 === 0;
    jobs.push({
      id: String(100000 + i),
      arrayJobId: i % 10 === 0 ? null : String(100000 + i - (i % 10)),
      arrayTaskId: null,
      name: `sweep-${salt}-${i}`,
      user: 'hpcuser',
      state: running ? 'RUNNING' : 'PENDING',
      reason: running ? null : 'Resources',
      partition: 'gpu',
      nodes: running ? 'c1' : null,
      numNodes: 1,
      numCpus: 1,
      timeUsed: i,
      timeLimit: 3600,
      timeLeft: 3600 - i,
      submitTime: null,
      startTime: null,
      gres: 'gpu:1',
      comment: null,
      workDir: null
    });
  }
  return jobs;
}

async function frontendBench({ smoke = false } = {}) {
  const rows = [];
  const kb = extensionGzipKB();
  rows.push({
    subject: 'prebuilt labextension, gzipped',
    ours: `${kb.toFixed(1)} KB`,
    peer: '-',
    ratio: `${((kb / SIZE_TARGET_KB) * 100).toFixed(0)}% of target`,
    target: `≤ ${SIZE_TARGET_KB} KB`,
    verdict: kb <= SIZE_TARGET_KB ? 'ok' : 'MISSED'
  });
  const { chromium } = require(path.join(root, 'ui-tests', 'node_modules', 'playwright-core'));
  const tb = testbedEnv();
  const lab = await startLab(tb.config);
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync'
    ]
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(`${lab.url}&reset`);
    await page.waitForFunction(() => window.hpclab?.model?.loaded && window.jupyterapp, null, { timeout: 90_000 });
    await page.evaluate(() => window.jupyterapp.shell.activateById('hpclab-sidebar'));
    const n = smoke ? 500 : 5000;
    const times = [];
    for (let run = 0; run < (smoke ? 1 : 7); run++) {
      // The jobs are made in the page, and two frames pass before the clock starts, so neither
      // moving 5,000 jobs into the page nor a frame the scheduler skipped after it is counted.
      const ms = await page.evaluate(
        ({ n, run, make }) =>
          new Promise(resolve => {
            const jobs = new Function('n', 'salt', `return (${make})(n, salt)`)(n, run);
            const model = window.hpclab.model;
            const cluster = model.clusters[0];
            requestAnimationFrame(() =>
              requestAnimationFrame(() => {
                const box = document.querySelector('#hpclab-sidebar .jp-hpclab-jobs');
                let t0 = 0;
                const done = () => {
                  const scroller = box.querySelector('.jp-hpclab-jobs-scroll');
                  const first = box.querySelector('tr[data-job]');
                  if (!scroller || Number(scroller.dataset.rows) < n || !first?.textContent.includes(jobs[0].id))
                    return false;
                  void scroller.offsetHeight; // laid out, not only in the DOM
                  observer.disconnect();
                  resolve(performance.now() - t0);
                  return true;
                };
                const observer = new MutationObserver(done);
                observer.observe(box, { childList: true, subtree: true, attributes: true });
                t0 = performance.now();
                model.status.set(cluster, { ...model.status.get(cluster), jobs });
                model.emitIfChanged();
              })
            );
          }),
        { n, run, make: fakeJobs.toString() }
      );
      times.push(ms);
    }
    const med = quantile(times, 0.5);
    rows.push({
      subject: `Jobs table with ${n} jobs: model change → rows laid out (median of ${times.length})`,
      ours: `${med.toFixed(1)} ms`,
      peer: '-',
      ratio: `${((med / RENDER_TARGET_MS) * 100).toFixed(0)}% of target`,
      target: `≤ ${RENDER_TARGET_MS} ms`,
      verdict: med <= RENDER_TARGET_MS ? 'ok' : 'MISSED'
    });
  } finally {
    await browser.close();
    lab.stop();
  }
  return rows;
}

module.exports = { frontendBench, startLab, fakeJobs };

require('./lib').runStandalone(module, frontendBench);
