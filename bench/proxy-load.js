// The proxy benchmarks' load generator, in a process of its own so that it never shares an
// event loop with a proxy. Driven by proxy-harness.js over IPC: `{id, op, args}` in,
// `{id, result}` or `{id, error}` out, and `{id, progress}` while an op that reports it runs.
const http = require('node:http');
const WebSocket = require('ws');

const sleep = ms => new Promise(r => setTimeout(r, ms));
const now = () => Number(process.hrtime.bigint()) / 1e6; // ms

function requestOptions(url, headers, agent) {
  const u = new URL(url);
  return { host: u.hostname, port: u.port, path: u.pathname + u.search, headers, agent };
}

/** One GET, body read to the end; resolves with the status and the body's length. */
function get(options) {
  return new Promise((resolve, reject) => {
    const req = http.get(options, res => {
      let bytes = 0;
      res.on('data', d => (bytes += d.length));
      res.on('end', () => resolve({ status: res.statusCode, bytes }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

function openSocket(url, headers) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers, perMessageDeflate: false });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
  });
}

function closeSocket(ws) {
  return new Promise(resolve => {
    ws.once('close', resolve);
    ws.close();
  });
}

function percentile(sorted, q) {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

const ops = {
  /** Requests/s over `durationMs`, after `warmupMs`, with `concurrency` keep-alive clients. */
  async httpRate({ url, headers, concurrency, warmupMs, durationMs }) {
    const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
    const options = requestOptions(url, headers, agent);
    let done = 0;
    let stop = false;
    const worker = async () => {
      while (!stop) {
        const { status } = await get(options);
        if (status !== 200) throw new Error(`${url}: status ${status}`);
        done++;
      }
    };
    const workers = Promise.all(Array.from({ length: concurrency }, worker));
    let failed;
    workers.catch(err => (failed = err));
    await sleep(warmupMs);
    const [n0, t0] = [done, now()];
    await sleep(durationMs);
    const [n1, t1] = [done, now()];
    stop = true;
    await workers.catch(() => undefined);
    agent.destroy();
    if (failed) throw failed;
    return { rps: ((n1 - n0) * 1000) / (t1 - t0), requests: n1 - n0, total: done };
  },

  /** One download: MB/s (10^6 bytes) from sending the request to the body's end. */
  async httpDownload({ url, headers, expectBytes }) {
    const agent = new http.Agent({ keepAlive: false });
    const t0 = now();
    const { status, bytes } = await get(requestOptions(url, headers, agent));
    const ms = now() - t0;
    if (status !== 200 || bytes !== expectBytes)
      throw new Error(`${url}: status ${status}, ${bytes} bytes of ${expectBytes}`);
    return { mbps: bytes / 1e3 / ms };
  },

  /** `requests` GETs, `concurrency` at a time; counts outcomes instead of failing on them. */
  async httpOutcomes({ url, headers, concurrency, requests, progressAt }, progress) {
    const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
    const options = requestOptions(url, headers, agent);
    const outcomes = {};
    let started = 0;
    let done = 0;
    const worker = async () => {
      while (started < requests) {
        started++;
        const key = await get(options).then(
          r => String(r.status),
          err => err.code ?? 'error'
        );
        outcomes[key] = (outcomes[key] ?? 0) + 1;
        if (++done === progressAt) progress(done);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    agent.destroy();
    return { outcomes };
  },

  /** Sequential echo round trips of `size` bytes: p50 and p99 in ms, after `warmup` trips. */
  async wsRtt({ url, headers, size, warmup, count }) {
    const ws = await openSocket(url, headers);
    const payload = Buffer.alloc(size, 'a');
    const roundTrip = () =>
      new Promise((resolve, reject) => {
        ws.once('message', data =>
          data.length === size ? resolve() : reject(new Error(`echo of ${data.length} bytes`))
        );
        ws.send(payload);
      });
    for (let i = 0; i < warmup; i++) await roundTrip();
    const times = [];
    for (let i = 0; i < count; i++) {
      const t0 = now();
      await roundTrip();
      times.push(now() - t0);
    }
    await closeSocket(ws);
    times.sort((a, b) => a - b);
    return { p50: percentile(times, 0.5), p99: percentile(times, 0.99) };
  },

  /** `count` echoes with at most `window` in flight: messages/s. */
  async wsPipelined({ url, headers, size, count, window }) {
    const ws = await openSocket(url, headers);
    const payload = Buffer.alloc(size, 'b');
    const t0 = now();
    await new Promise(resolve => {
      let sent = 0;
      let received = 0;
      ws.on('message', () => {
        if (++received === count) return resolve();
        if (sent < count) (sent++, ws.send(payload));
      });
      for (; sent < Math.min(window, count); sent++) ws.send(payload);
    });
    const ms = now() - t0;
    await closeSocket(ws);
    return { rate: (count * 1000) / ms };
  },

  /**
   * `cycles` WebSockets, `parallel` at a time: open, one echo, then a clean close (even) or an
   * abrupt one (odd: the TCP connection is destroyed without a close frame).
   */
  async wsCycles({ url, headers, cycles, parallel }) {
    const outcomes = {};
    const payload = Buffer.alloc(64, 'c');
    const count = key => (outcomes[key] = (outcomes[key] ?? 0) + 1);
    const cycle = i =>
      new Promise(resolve => {
        const ws = new WebSocket(url, { headers, perMessageDeflate: false });
        let echoed = false;
        const timer = setTimeout(() => (count('timeout'), ws.terminate()), 10_000);
        ws.on('open', () => ws.send(payload));
        ws.on('message', () => {
          echoed = true;
          if (i % 2) ws.terminate();
          else ws.close();
        });
        ws.on('error', () => undefined);
        ws.on('close', () => {
          clearTimeout(timer);
          count(echoed ? 'ok' : 'failed');
          resolve();
        });
      });
    let next = 0;
    const worker = async () => {
      while (next < cycles) await cycle(next++);
    };
    await Promise.all(Array.from({ length: parallel }, worker));
    return { outcomes };
  }
};

process.on('message', ({ id, op, args }) => {
  Promise.resolve()
    .then(() => ops[op](args, progress => process.send({ id, progress })))
    .then(
      result => process.send({ id, result }),
      err => process.send({ id, error: err instanceof Error ? err.message : String(err) })
    );
});
process.on('disconnect', () => process.exit(0));
