// The companion of bench/session.js, in a process of its own (started with fork): it is built the
// way `hpclab serve` builds one (startCompanion over the testbed's config), listens on loopback,
// and answers the bench's requests over the IPC channel: {id, op, args} → {id, result | error}.
// It sends {ready: {url, token}} once it listens. The bench process is the HTTP client; the Lab
// on the node is the third process.
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const { pipeline } = require('node:stream');
const path = require('node:path');
const { root, testbedEnv } = require('./lib');

const { startCompanion } = require(path.join(root, 'dist', 'server', 'main.js'));
const { parseConfig } = require(path.join(root, 'dist', 'server', 'config', 'load.js'));

function waitRunning(companion, id) {
  return new Promise((resolve, reject) => {
    const check = s => {
      if (s?.state === 'running') resolve(s);
      if (s?.state === 'failed' || s?.state === 'ended') reject(new Error(`session ${s.state}: ${s.message}`));
    };
    companion.sessions.subscribe(e => e.type === 'session' && e.session.id === id && check(e.session));
    check(companion.sessions.get(id));
  });
}

/** GET over an already-open stream (no proxy, no loopback hop): what the proxy itself is fed. */
function getOverStream(stream, urlPath, token) {
  return new Promise((resolve, reject) => {
    const req = http.request({
      createConnection: () => stream,
      host: 'node',
      path: urlPath,
      headers: { Authorization: `token ${token}` }
    });
    req.on('response', res => {
      let n = 0;
      res.on('data', d => (n += d.length));
      res.on('end', () => resolve(n));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

async function main() {
  const env = testbedEnv();
  // bench/node-channels.js runs one on a copy of the testbed's config (nodeChannels "tcp").
  const file = process.env.HPCLAB_BENCH_CONFIG || env.config;
  const config = parseConfig(fs.readFileSync(file, 'utf8'), file);
  const stateHome = fs.mkdtempSync('/tmp/hpclab-bench-state-');
  const companion = await startCompanion({ config, env: { XDG_STATE_HOME: stateHome }, homeDir: stateHome });
  const login = () => companion.clusters.get('testbed').transport;

  const forwards = [];
  const ops = {
    exec: (argv, options) => login().exec(argv, options),
    /** Creates a Lab session and resolves once it is running (the Lab answered its probe). */
    async startLab(profile) {
      const s = await companion.sessions.create({ kind: 'lab', profile });
      await waitRunning(companion, s.id);
      return { id: s.id, baseUrl: s.baseUrl };
    },
    stop: id => companion.sessions.stop(id),
    /** One GET of `urlPath` over a fresh `record.connect()` stream; MB/s from request to last byte. */
    async bareDownload(id, urlPath) {
      const record = companion.sessions.proxyLookup(id);
      const t0 = process.hrtime.bigint();
      const bytes = await getOverStream(await record.connect(), urlPath, record.token);
      return { bytes, mbps: bytes / 1e6 / (Number(process.hrtime.bigint() - t0) / 1e9) };
    },
    /**
     * A loopback port whose every connection is piped, byte for byte, to a fresh stream of the
     * session's pooled SSH connection: the same SSH stream the proxy reads, handed to the client
     * with no HTTP in between. Resolves with the port and the node server's token.
     */
    async rawForward(id) {
      const record = companion.sessions.proxyLookup(id);
      const server = net.createServer(socket => {
        socket.setNoDelay(true);
        record.connect().then(
          stream => pipeline(socket, stream, socket, () => undefined), // either side closing ends both
          err => socket.destroy(err)
        );
      });
      forwards.push(server);
      await new Promise(resolve => server.listen(0, '127.0.0.1', resolve));
      return { port: server.address().port, token: record.token };
    },
    async close() {
      for (const server of forwards) server.close();
      await companion.close();
      fs.rmSync(stateHome, { recursive: true, force: true });
      setImmediate(() => process.disconnect());
    }
  };

  process.on('message', ({ id, op, args }) => {
    Promise.resolve()
      .then(() => ops[op](...args))
      .then(
        result => process.send({ id, result }),
        err => process.send({ id, error: err instanceof Error ? err.message : String(err) })
      );
  });
  process.send({ ready: { url: companion.url, token: companion.token } });
}

main().catch(err => {
  console.error(`bench companion: ${err.stack}`);
  process.exit(1);
});
