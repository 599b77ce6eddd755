// Fixtures of the proxy benchmarks, all on 127.0.0.1 with ports from the OS:
// - a backend standing in for a node's Jupyter server: /small, /big (100 MB), a WebSocket echo;
// - OUR proxy: the companion's own createApp (auth guard, express mount, upgrade path, node
//   proxy), whose session's connect() is a TCP socket to the backend in place of the ssh stream;
// - the PEER, configurable-http-proxy, with the backend as its default target;
// - "direct": the backend itself;
// - a load generator (proxy-load.js).
// Ours, CHP and the load generator each run in their own process, so no proxy shares an event
// loop with the client; the backend runs in the caller's process.
// `node bench/proxy-harness.js ours` is how ours is started (by startHarness, over IPC).
const { fork, spawn } = require('node:child_process');
const { randomBytes } = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const path = require('node:path');
const { WebSocketServer } = require('ws');
const { root, quantile } = require('./lib');

/** The node proxy only routes ids the companion could have made ([a-z0-9]{6,32}), so not `s1`. */
const SESSION_ID = 'bench1';
const NODE_BASE = `/hpclab/node/${SESSION_ID}/`;
const CHP_BIN = path.join(root, 'node_modules', 'configurable-http-proxy', 'bin', 'configurable-http-proxy');
/**
 * Preloaded into CHP: lets the parent run a GC (SIGUSR2) before reading its RSS, as ours does
 * over IPC, and ends CHP with its parent (stdin closes), as ours ends when IPC disconnects.
 */
const CHP_HOOK =
  'data:text/javascript,process.on("SIGUSR2",()=>globalThis.gc());process.stdin.on("end",()=>process.exit(0)).resume()';

const sleep = ms => new Promise(r => setTimeout(r, ms));

/**
 * The node's server. `kill()` drops the listener and every connection at once (a node that
 * died), `start()` listens again on the same port, so both proxies' targets stay valid.
 */
function createBackend() {
  const chunk = Buffer.alloc(1 << 20, 'x'); // reused for every write of /big
  const small = Buffer.from(
    JSON.stringify({ name: 'python3', id: SESSION_ID, execution_state: 'idle', connections: 1 })
  );
  const sockets = new Set();
  let accepted = 0;
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://backend');
    if (url.pathname === `${NODE_BASE}small`) {
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': small.length });
      return res.end(small);
    }
    if (url.pathname === `${NODE_BASE}big`)
      return streamBytes(res, Number(url.searchParams.get('mb') ?? 100) * chunk.length, chunk);
    res.writeHead(404, { 'Content-Length': 0 }).end();
  });
  server.on('connection', socket => {
    accepted++;
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  server.on('upgrade', (req, socket, head) => {
    socket.on('error', () => socket.destroy());
    if (new URL(req.url, 'http://backend').pathname !== `${NODE_BASE}ws`) return socket.destroy();
    wss.handleUpgrade(req, socket, head, ws => {
      ws.on('error', () => ws.terminate());
      ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
    });
  });
  let port = 0;
  return {
    get port() {
      return port;
    },
    /** Connections accepted so far (to tell pooled upstream streams from fresh ones). */
    get accepted() {
      return accepted;
    },
    start() {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, '127.0.0.1', () => {
          server.off('error', reject);
          port = server.address().port;
          resolve(port);
        });
      });
    },
    kill() {
      server.close();
      for (const s of sockets) s.destroy();
    },
    /** Ends keep-alive connections idle between requests, as its keepAliveTimeout would. */
    closeIdle() {
      server.closeIdleConnections();
    },
    close() {
      this.kill();
      wss.close();
    }
  };
}

/** `total` bytes of the one buffer, written as fast as the reader takes them. */
function streamBytes(res, total, chunk) {
  res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': total });
  let left = total;
  const pump = () => {
    while (left > 0) {
      const n = Math.min(left, chunk.length);
      left -= n;
      if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return void res.once('drain', pump);
    }
    res.end();
  };
  pump();
}

/** In the `ours` child: the companion's app, with one session whose stream is a TCP socket. */
function runOurs() {
  const { createApp } = require(path.join(root, 'dist', 'server', 'app.js'));
  const backendPort = Number(process.env.HPCLAB_BENCH_BACKEND_PORT);
  const target = {
    sessionId: SESSION_ID,
    token: 'node-token', // sent upstream as a Jupyter server would get it; the backend does not check it
    // Resolves once connected and rejects on refusal, like ssh2's forwardOut.
    connect: () =>
      new Promise((resolve, reject) => {
        const socket = net.connect(backendPort, '127.0.0.1');
        socket.once('connect', () => {
          socket.off('error', reject);
          resolve(socket);
        });
        socket.once('error', reject);
      })
  };
  // createApp's only use of these two (without kernels) is the proxy's lookup and the event hub.
  const sessions = {
    proxyLookup: id => (id === SESSION_ID ? target : undefined),
    subscribe: () => () => undefined,
    list: () => [],
    get: () => undefined
  };
  const clusters = { config: { clusters: {}, profiles: {} }, names: () => [] };
  const { handle, onUpgrade } = createApp({ clusters, sessions, token: process.env.HPCLAB_BENCH_TOKEN });
  const server = http.createServer(handle); // as main.ts does
  server.on('upgrade', onUpgrade);
  server.listen(0, '127.0.0.1', () => process.send({ ready: server.address().port }));
  process.on('message', message => {
    if (message.cmd !== 'stats') return;
    global.gc();
    const { rss, heapUsed, external } = process.memoryUsage();
    process.send({ stats: { rss, heapUsed, external, fds: fs.readdirSync('/proc/self/fd').length } });
  });
  process.on('disconnect', () => process.exit(0));
}

/** The OS picks the ports and closes them again; CHP takes them ("--port 0" means 8000 to it). */
async function pickPorts(n) {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise((resolve, reject) => {
          const s = net.createServer();
          s.once('error', reject);
          s.listen(0, '127.0.0.1', () => resolve(s));
        })
    )
  );
  const ports = servers.map(s => s.address().port);
  await Promise.all(servers.map(s => new Promise(r => s.close(r))));
  return ports;
}

function getStatus(url, headers) {
  return new Promise(resolve => {
    http
      .get(url, { headers }, res => {
        res.resume();
        resolve(res.statusCode);
      })
      .on('error', () => resolve(0));
  });
}

/** Keeps the last few KB a child printed, to explain a failure to start. */
function tail(...streams) {
  let text = '';
  for (const s of streams) s.on('data', d => (text = (text + d).slice(-4000)));
  return () => text;
}

async function startChp(backendPort) {
  for (let attempt = 1; ; attempt++) {
    const [port, apiPort] = await pickPorts(2);
    const apiToken = randomBytes(16).toString('hex');
    const child = spawn(
      process.execPath,
      [
        '--expose-gc',
        `--import=${CHP_HOOK}`,
        CHP_BIN,
        '--ip',
        '127.0.0.1',
        '--port',
        String(port),
        '--api-ip',
        '127.0.0.1',
        '--api-port',
        String(apiPort),
        '--default-target',
        `http://127.0.0.1:${backendPort}`
      ],
      { env: { ...process.env, CONFIGPROXY_AUTH_TOKEN: apiToken }, stdio: ['pipe', 'pipe', 'pipe'] }
    );
    const out = tail(child.stdout, child.stderr);
    let exited = false;
    child.once('exit', () => (exited = true));
    for (let i = 0; i < 200 && !exited; i++) {
      if ((await getStatus(`http://127.0.0.1:${apiPort}/api/routes`, { Authorization: `token ${apiToken}` })) === 200) {
        return { port, pid: child.pid, child, close: () => child.kill() };
      }
      await sleep(50);
    }
    child.kill();
    if (attempt >= 3) throw new Error(`configurable-http-proxy did not start: ${out()}`);
  }
}

function startOurs(backendPort, token, execArgv = []) {
  const child = fork(__filename, ['ours'], {
    execArgv: ['--expose-gc', ...execArgv],
    env: { ...process.env, HPCLAB_BENCH_BACKEND_PORT: String(backendPort), HPCLAB_BENCH_TOKEN: token },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc']
  });
  return new Promise((resolve, reject) => {
    child.once('exit', code => reject(new Error(`our proxy exited (${code}) before listening`)));
    child.once('message', m => {
      child.removeAllListeners('exit');
      resolve({ port: m.ready, pid: child.pid, child, close: () => child.kill() });
    });
  });
}

/** The load generator: `run(op, args, onProgress)` → its result; see proxy-load.js. */
function startLoadClient() {
  const child = fork(path.join(__dirname, 'proxy-load.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const pending = new Map();
  let next = 0;
  child.on('message', m => {
    const p = pending.get(m.id);
    if (!p) return;
    if ('progress' in m) return p.onProgress?.(m.progress);
    pending.delete(m.id);
    if (m.error) p.reject(new Error(`load client: ${m.error}`));
    else p.resolve(m.result);
  });
  child.once('exit', code => {
    for (const p of pending.values()) p.reject(new Error(`load client exited (${code})`));
    pending.clear();
  });
  return {
    run(op, args, onProgress) {
      const id = next++;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject, onProgress });
        child.send({ id, op, args });
      });
    },
    close: () => child.kill()
  };
}

/** Reads RSS and open fds of a proxy process after a GC. */
function statsOf(proxy) {
  if (proxy.child.send && proxy.child.connected) {
    return new Promise(resolve => {
      const on = m => {
        if (!m.stats) return;
        proxy.child.off('message', on);
        resolve(m.stats);
      };
      proxy.child.on('message', on);
      proxy.child.send({ cmd: 'stats' });
    });
  }
  process.kill(proxy.pid, 'SIGUSR2');
  return sleep(300).then(() => {
    const status = fs.readFileSync(`/proc/${proxy.pid}/status`, 'utf8');
    return {
      rss: Number(/^VmRSS:\s+(\d+) kB/m.exec(status)[1]) * 1024,
      fds: fs.readdirSync(`/proc/${proxy.pid}/fd`).length
    };
  });
}

/** CPU time (user + system) a process has used, in ms; /proc counts in USER_HZ = 100 ticks. */
function cpuMs(pid) {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/**
 * Backend, ours, CHP and the load client. `targets.<name>` has `http` and `ws` base URLs (the
 * node's base path included) and the headers a client sends there: the companion's token to
 * ours, nothing to the others.
 */
async function startHarness() {
  const backend = createBackend();
  const started = [];
  try {
    await backend.start();
    const token = randomBytes(32).toString('hex');
    const ours = await startOurs(backend.port, token);
    started.push(ours);
    const chp = await startChp(backend.port);
    started.push(chp);
    const client = startLoadClient();
    started.push(client);
    const at = (port, headers, proxy) => ({
      http: `http://127.0.0.1:${port}${NODE_BASE}`,
      ws: `ws://127.0.0.1:${port}${NODE_BASE}`,
      headers,
      proxy
    });
    return {
      backend,
      client,
      targets: {
        direct: at(backend.port, {}),
        ours: at(ours.port, { Authorization: `token ${token}` }, ours),
        chp: at(chp.port, {}, chp)
      },
      stats: name => statsOf(name === 'ours' ? ours : chp),
      /** CPU ms used so far by a proxy's process (the backend's for `direct`, with this process's). */
      cpuMs: name => cpuMs(name === 'ours' ? ours.pid : name === 'chp' ? chp.pid : process.pid),
      close() {
        for (const s of started.reverse()) s.close();
        backend.close();
      }
    };
  } catch (err) {
    for (const s of started) s.close();
    backend.close();
    throw err;
  }
}

const median = values => quantile(values, 0.5);

/**
 * A table row judged against its target: `value` is the number the target is about, `target`
 * `{ atLeast }` or `{ atMost }` plus its `text`. Rows without a target get neither.
 */
function judged(row, value, target) {
  if (!target) return { ...row, target: '', verdict: '' };
  const ok = target.atLeast !== undefined ? value >= target.atLeast : value <= target.atMost;
  return { ...row, target: target.text, verdict: ok ? 'ok' : 'MISSED' };
}

/** Runs `measure(name)` for each target, `reps` times, rotating the order between repetitions. */
async function interleaved(names, reps, measure) {
  const results = Object.fromEntries(names.map(n => [n, []]));
  for (let r = 0; r < reps; r++) {
    for (let i = 0; i < names.length; i++) {
      const name = names[(i + r) % names.length];
      results[name].push(await measure(name));
    }
  }
  return results;
}

/** Median of the per-repetition ratios a[i]/b[i] (pairs measured back to back). */
const pairedRatio = (a, b) => median(a.map((x, i) => x / b[i]));

if (require.main === module && process.argv[2] === 'ours') runOurs();

module.exports = {
  SESSION_ID,
  NODE_BASE,
  createBackend,
  startOurs,
  startChp,
  startLoadClient,
  startHarness,
  judged,
  interleaved,
  pairedRatio,
  median,
  sleep
};
