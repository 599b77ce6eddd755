// Proxy leaks (configurable-http-proxy#388, #434): RSS and open fds of the proxy process, after
// a GC, before and after (1) 10,000 proxied WebSocket connect/echo/disconnect cycles (half a
// clean close, half a dropped TCP connection) and (2) 10,000 HTTP requests to a backend that is
// killed after 5,000 (the rest get 503s) and then restarted. Ours beside CHP, same run.
// Both phases then run a second time: the first round also measures the process growing to
// its working size (V8's young generation grows under load and a GC does not give it back),
// the second round's growth is what a leak would add per 10,000.
const { startHarness, judged, sleep } = require('./proxy-harness');

const mb = bytes => bytes / 1e6;
const signedMb = v => `${v >= 0 ? '+' : '−'}${Math.abs(v).toFixed(1)} MB`;
const signedN = v => `${v >= 0 ? '+' : '−'}${Math.abs(v)}`;
const outcomeText = o =>
  Object.entries(o)
    .map(([k, n]) => `${k}×${n}`)
    .join(' ');

/** Both phases, twice, against one proxy: its readings and what the clients saw. */
async function rounds(h, name, { cycles, requests, warmup }) {
  const t = h.targets[name];
  const wsCycles = async n =>
    (await h.client.run('wsCycles', { url: `${t.ws}ws`, headers: t.headers, cycles: n, parallel: 8 })).outcomes;
  const dyingBackend = async n => {
    const result = await h.client.run(
      'httpOutcomes',
      { url: `${t.http}small`, headers: t.headers, requests: n, concurrency: 8, progressAt: n / 2 },
      () => h.backend.kill()
    );
    await h.backend.start();
    return result.outcomes;
  };
  const reading = async () => {
    // The client has closed its connections. Pooled upstream connections are not leaks: the
    // backend ends the idle ones now rather than after its keep-alive timeout.
    h.backend.closeIdle();
    await sleep(500);
    return h.stats(name);
  };
  // The same work on a small scale first, so lazily built state (compiled code, the session's
  // agents, error paths) is in the baseline rather than counted as growth.
  await wsCycles(warmup);
  await dyingBackend(warmup);
  const r = [await reading()];
  const seen = { ws: [], http: [] };
  for (let round = 0; round < 2; round++) {
    seen.ws.push(await wsCycles(cycles));
    r.push(await reading());
    seen.http.push(await dyingBackend(requests));
    r.push(await reading());
  }
  return { r, seen };
}

async function leaksBench({ smoke = false } = {}) {
  const scale = smoke ? { cycles: 300, requests: 300, warmup: 50 } : { cycles: 10_000, requests: 10_000, warmup: 300 };
  const h = await startHarness();
  try {
    const ours = await rounds(h, 'ours', scale);
    const chp = await rounds(h, 'chp', scale);
    const ws = `${scale.cycles} WS connect/echo/disconnect cycles`;
    const http = `${scale.requests} HTTP, backend killed after ${scale.requests / 2}`;
    const spans = [
      [`${ws} (round 1)`, 0, 1, x => `WS ${outcomeText(x.seen.ws[0])}`],
      [`${http} (round 1)`, 1, 2, x => `HTTP ${outcomeText(x.seen.http[0])}`],
      ['round 1 (both phases)', 0, 2],
      ['round 2 (both phases again)', 2, 4, x => `WS ${outcomeText(x.seen.ws[1])}, HTTP ${outcomeText(x.seen.http[1])}`]
    ];
    const rows = [];
    for (const [what, from, to, outcomes] of spans) {
      const rss = x => mb(x.r[to].rss - x.r[from].rss);
      const fds = x => x.r[to].fds - x.r[from].fds;
      const heap = `ours heap after GC ${mb(ours.r[from].heapUsed).toFixed(1)} → ${mb(ours.r[to].heapUsed).toFixed(1)} MB`;
      rows.push(
        // Round 1 is where a fresh process grows to its working size (V8's young generation, both
        // proxies alike); a leak shows as growth that goes on, so the target is round 2's.
        judged(
          {
            subject: `proxy RSS growth, ${what}: ours vs CHP`,
            ours: signedMb(rss(ours)),
            peer: signedMb(rss(chp)),
            ratio: `${signedMb(rss(ours) - rss(chp))} vs CHP`,
            note: outcomes ? `ours ${outcomes(ours)}; CHP ${outcomes(chp)}` : heap
          },
          rss(ours),
          from >= 2 ? { atMost: 10, text: '≤ 10 MB' } : undefined
        ),
        judged(
          {
            subject: `proxy open fds growth, ${what}: ours vs CHP`,
            ours: signedN(fds(ours)),
            peer: signedN(fds(chp)),
            ratio: `${signedN(fds(ours) - fds(chp))} vs CHP`,
            note: `${heap}; RSS ours ${mb(ours.r[to].rss).toFixed(0)} MB, CHP ${mb(chp.r[to].rss).toFixed(0)} MB; fds ours ${ours.r[to].fds}, CHP ${chp.r[to].fds}`
          },
          fds(ours),
          { atMost: 0, text: '0' }
        )
      );
    }
    return rows;
  } finally {
    h.close();
  }
}

module.exports = { leaksBench };

require('./lib').runStandalone(module, leaksBench);
