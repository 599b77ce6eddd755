// WebSocket through the node proxy: sequential echo round trips of 1 KB messages (p50, p99)
// and pipelined echoes (messages/s, a window in flight); ours beside the backend itself
// (direct) and beside configurable-http-proxy (CHP), same run, interleaved, median of reps.
const { startHarness, judged, interleaved, pairedRatio, median } = require('./proxy-harness');

const NAMES = ['direct', 'ours', 'chp'];
const SIZE = 1024;

const ms = v => `${v.toFixed(3)} ms`;
const signed = v => `${v >= 0 ? '+' : '−'}${Math.abs(v).toFixed(3)} ms`;

async function wsProxyBench({ smoke = false } = {}) {
  const reps = smoke ? 1 : 5;
  const rtt = smoke ? { warmup: 50, count: 200 } : { warmup: 200, count: 2000 };
  const piped = smoke ? { count: 500, window: 100 } : { count: 20_000, window: 100 };
  const h = await startHarness();
  try {
    const trips = await interleaved(NAMES, reps, name => {
      const t = h.targets[name];
      return h.client.run('wsRtt', { url: `${t.ws}ws`, headers: t.headers, size: SIZE, ...rtt });
    });
    const rates = await interleaved(NAMES, reps, async name => {
      const t = h.targets[name];
      return (await h.client.run('wsPipelined', { url: `${t.ws}ws`, headers: t.headers, size: SIZE, ...piped })).rate;
    });
    const at = (name, q) => trips[name].map(r => r[q]);
    /** Median over repetitions of ours minus the peer, each pair measured back to back. */
    const added = (peer, q) => median(at('ours', q).map((v, i) => v - at(peer, q)[i]));
    const rows = [];
    for (const peer of ['direct', 'chp']) {
      const label = peer === 'chp' ? 'CHP' : 'direct';
      for (const q of ['p50', 'p99']) {
        const extra = added(peer, q);
        const target = peer === 'direct' && q === 'p99' ? { atMost: 1, text: '≤ +1 ms' } : undefined;
        rows.push(
          judged(
            {
              subject: `WS echo 1 KB, sequential, RTT ${q}: ours vs ${label}`,
              ours: ms(median(at('ours', q))),
              peer: ms(median(at(peer, q))),
              ratio: signed(extra)
            },
            extra,
            target
          )
        );
      }
    }
    for (const peer of ['direct', 'chp']) {
      const ratio = pairedRatio(rates.ours, rates[peer]);
      rows.push(
        judged(
          {
            subject: `WS echo 1 KB, pipelined (window ${piped.window}), msgs/s: ours vs ${peer === 'chp' ? 'CHP' : 'direct'}`,
            ours: `${median(rates.ours).toFixed(0)}/s`,
            peer: `${median(rates[peer]).toFixed(0)}/s`,
            ratio: `${ratio.toFixed(2)}×`
          },
          ratio
        )
      );
    }
    return rows.map(r => ({ ...r, note: `${rtt.count} trips / ${piped.count} msgs, median of ${reps}` }));
  } finally {
    h.close();
  }
}

module.exports = { wsProxyBench };

require('./lib').runStandalone(module, wsProxyBench);
