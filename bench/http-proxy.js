// HTTP through the node proxy: keep-alive requests/s for a small JSON body at 1 and 64
// concurrent clients, and MB/s for a 100 MB body; ours beside the backend itself (direct) and
// beside configurable-http-proxy (CHP), measured in the same run, interleaved, median of reps.
const { startHarness, judged, interleaved, pairedRatio, median } = require('./proxy-harness');

const NAMES = ['direct', 'ours', 'chp'];
const VS_DIRECT = { atLeast: 0.9, text: '≥ 0.9×' };
const VS_CHP = { atLeast: 1.0, text: '≥ 1.0×' };

function comparisons(subject, unit, results, digits = 0) {
  const show = v => `${v.toFixed(digits)} ${unit}`;
  const rows = [];
  for (const [peer, target] of [
    ['direct', VS_DIRECT],
    ['chp', VS_CHP]
  ]) {
    const ratio = pairedRatio(results.ours, results[peer]);
    // Against direct, say what the other proxy gets in the same run: on 2 shared cores a proxy in
    // front of a backend that does no work can only take a share of the CPU the direct path has.
    const note =
      peer === 'direct'
        ? `CHP vs direct in the same run: ${pairedRatio(results.chp, results.direct).toFixed(2)}×`
        : undefined;
    rows.push(
      judged(
        {
          subject: `${subject}: ours vs ${peer === 'chp' ? 'CHP' : 'direct'}`,
          ours: show(median(results.ours)),
          peer: show(median(results[peer])),
          ratio: `${ratio.toFixed(2)}×`,
          ...(note ? { note } : {})
        },
        ratio,
        target
      )
    );
  }
  return rows;
}

async function httpProxyBench({ smoke = false } = {}) {
  const reps = smoke ? 1 : 3;
  const timing = smoke ? { warmupMs: 100, durationMs: 250 } : { warmupMs: 500, durationMs: 2000 };
  const mb = smoke ? 4 : 100;
  const h = await startHarness();
  try {
    const rows = [];
    for (const concurrency of [1, 64]) {
      const results = await interleaved(NAMES, reps, async name => {
        const t = h.targets[name];
        const cpu0 = h.cpuMs(name);
        const r = await h.client.run('httpRate', { url: `${t.http}small`, headers: t.headers, concurrency, ...timing });
        return { rps: r.rps, cpuUs: ((h.cpuMs(name) - cpu0) * 1000) / r.total };
      });
      const field = (key, names = NAMES) => Object.fromEntries(names.map(n => [n, results[n].map(x => x[key])]));
      const subject = `HTTP small JSON, keep-alive, ${concurrency} client${concurrency > 1 ? 's' : ''}`;
      rows.push(...comparisons(subject, 'req/s', field('rps')));
      // Less sensitive to a busy machine than req/s: what each request costs the proxy process.
      const cpu = field('cpuUs', ['ours', 'chp']);
      const ratio = pairedRatio(cpu.ours, cpu.chp);
      rows.push(
        judged(
          {
            subject: `${subject}: proxy CPU per request, ours vs CHP`,
            ours: `${median(cpu.ours).toFixed(0)} µs`,
            peer: `${median(cpu.chp).toFixed(0)} µs`,
            ratio: `${ratio.toFixed(2)}×`
          },
          ratio
        )
      );
    }
    const results = await interleaved(NAMES, reps, async name => {
      const t = h.targets[name];
      return (
        await h.client.run('httpDownload', {
          url: `${t.http}big${smoke ? `?mb=${mb}` : ''}`,
          headers: t.headers,
          expectBytes: mb * 2 ** 20
        })
      ).mbps;
    });
    rows.push(...comparisons(`HTTP ${mb} MiB body`, 'MB/s', results));
    return rows.map(r => ({
      ...r,
      note: [r.note, `median of ${reps}; client, ours, CHP: a process each`].filter(Boolean).join('; ')
    }));
  } finally {
    h.close();
  }
}

module.exports = { httpProxyBench };

require('./lib').runStandalone(module, httpProxyBench);
