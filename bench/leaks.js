// Proxy leaks (configurable-http-proxy#388, #434): RSS and open fds of the proxy process, after
// a GC, before and after (1) 10,000 proxied WebSocket connect/echo/disconnect cycles (half a
// clean close, half a dropped TCP connection) and (2) 10,000 HTTP requests to a backend that is
// killed after 5,000 (the rest get 502/503s) and then restarted. Ours beside CHP, same run.
const { startHarness, judged, sleep } = require('./proxy-harness');

/** The backend closes idle keep-alive connections after this; readings wait a bit longer. */
const BACKEND_KEEPALIVE_MS = 1000;
const SETTLE_MS = 1500;

const mb = bytes => bytes / 1e6;
const signedMb = v => `${v >= 0 ? '+' : '−'}${Math.abs(v).toFixed(1)} MB`;
const signedN = v => `${v >= 0 ? '+' : '−'}${Math.abs(v)}`;
const outcomeText = o =>
  Object.entries(o)
    .map(([k, n]) => `${k}×${n}`)
    .join(' ');

/** The two phases against one proxy; returns its readings and what the clients saw. */
async function phases(h, name, { cycles, requests, warmup }) {
  const t = h.targets[name];
  const wsCycles = n => h.client.run('wsCycles', { url: `${t.ws}ws`, headers: t.headers, cycles: n, parallel: 8 });
  const dyingBackend = async n => {
    const result = await h.client.run('httpOutcomes', { url: `${t.http}small`, headers: t.headers, requests: n, concurrency: 8, progressAt: n / 2 }, () => h.backend.kill());
    await h.backend.start();
    return result;
  };
  const reading = async () => {
    await sleep(SETTLE_MS); // the client has closed its connections; pooled upstream ones time out
    return h.stats(name);
  };
  // The same work on a small scale first, so lazily built state (compiled code, pools, the
  // session's agents, error paths) is in the baseline rather than counted as growth.
  await wsCycles(warmup);
  await dyingBackend(warmup);
  const before = await reading();
  const ws = await wsCycles(cycles);
  const afterWs = await reading();
  const http = await dyingBackend(requests);
  const after = await reading();
  return { before, afterWs, after, ws: ws.outcomes, http: http.outcomes };
}

async function leaksBench({ smoke = false } = {}) {
  const scale = smoke ? { cycles: 300, requests: 300, warmup: 50 } : { cycles: 10_000, requests: 10_000, warmup: 300 };
  const h = await startHarness({ backendKeepAliveMs: BACKEND_KEEPALIVE_MS });
  try {
    const ours = await phases(h, 'ours', scale);
    const chp = await phases(h, 'chp', scale);
    const rows = [];
    const spans = [
      [`${scale.cycles} WS connect/echo/disconnect cycles`, 'before', 'afterWs', r => `WS ${outcomeText(r.ws)}`],
      [`${scale.requests} HTTP, backend killed after ${scale.requests / 2}, restarted`, 'afterWs', 'after', r => `HTTP ${outcomeText(r.http)}`],
      ['both phases', 'before', 'after', () => '']
    ];
    for (const [what, from, to, outcomes] of spans) {
      const rss = r => mb(r[to].rss - r[from].rss);
      const fds = r => r[to].fds - r[from].fds;
      const note = [outcomes(ours) && `ours ${outcomes(ours)}`, outcomes(chp) && `CHP ${outcomes(chp)}`].filter(Boolean).join('; ');
      rows.push(
        judged({ subject: `proxy RSS growth, ${what}: ours vs CHP`, ours: signedMb(rss(ours)), peer: signedMb(rss(chp)), ratio: `${signedMb(rss(ours) - rss(chp))} vs CHP`, note: note || `ours ${mb(ours.after.rss).toFixed(0)} MB, CHP ${mb(chp.after.rss).toFixed(0)} MB at the end` }, rss(ours), { atMost: 10, text: '≤ 10 MB' }),
        judged({ subject: `proxy open fds growth, ${what}: ours vs CHP`, ours: signedN(fds(ours)), peer: signedN(fds(chp)), ratio: `${signedN(fds(ours) - fds(chp))} vs CHP`, note: `ours ${ours[to].fds} fds, CHP ${chp[to].fds} fds` }, fds(ours), { atMost: 0, text: '0' })
      );
    }
    return rows;
  } finally {
    h.close();
  }
}

module.exports = { leaksBench };

if (require.main === module) {
  const { printTable } = require('./lib');
  leaksBench({ smoke: process.argv.includes('--smoke') }).then(printTable, err => {
    console.error(`bench: ${err.stack}`);
    process.exitCode = 1;
  });
}
