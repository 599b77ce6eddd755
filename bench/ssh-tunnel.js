// SSH tunnel: a 100 MB download and 1-byte round trips through hpclab's ssh transport stream
// (ssh2 forwardOut on the pooled connection) beside OpenSSH's `ssh -L`, both through the
// testbed's sshd to the same small server on the login node.
const { spawn } = require('node:child_process');
const net = require('node:net');
const { testbedEnv, testbedClusters, quantile } = require('./lib');

// The server on the login node: 'D' sends N bytes then closes; 'E' echoes. Its port goes to a file.
const SERVER = `
import socket, sys, threading
n = int(sys.argv[2]); chunk = b'x' * 1048576
s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(16)
open(sys.argv[1] + '.tmp', 'w').write(str(s.getsockname()[1]))
import os; os.rename(sys.argv[1] + '.tmp', sys.argv[1])
def serve(c):
    mode = c.recv(1)
    if mode == b'D':
        left = n
        while left > 0:
            c.sendall(chunk[:min(left, len(chunk))]); left -= min(left, len(chunk))
    elif mode == b'E':
        while True:
            b = c.recv(1)
            if not b: break
            c.sendall(b)
    c.close()
while True:
    c, _ = s.accept(); threading.Thread(target=serve, args=(c,), daemon=True).start()
`;

function download(stream, bytes) {
  return new Promise((resolve, reject) => {
    let got = 0;
    const t0 = process.hrtime.bigint();
    stream.on('data', d => (got += d.length));
    stream.on('error', reject);
    // 'end' (the server closed its side): an ssh channel only 'close's once both sides ended.
    stream.on('end', () => {
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      stream.destroy();
      if (got !== bytes) return reject(new Error(`got ${got} of ${bytes} bytes`));
      resolve(bytes / 1e6 / seconds);
    });
    stream.write('D');
  });
}

async function roundTrips(stream, n) {
  stream.write('E');
  const times = [];
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    await new Promise(resolve => {
      stream.once('data', resolve);
      stream.write('x');
    });
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  stream.destroy();
  return times;
}

const connectLocal = port =>
  new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => resolve(s));
    s.on('error', reject);
  });

async function sshTunnelBench({ smoke = false } = {}) {
  const env = testbedEnv();
  const bytes = smoke ? 5e6 : 100e6;
  const runs = smoke ? 1 : 3;
  const trips = smoke ? 50 : 1000;
  const clusters = testbedClusters(env);
  const { transport } = clusters.get('testbed');
  const portFile = `/tmp/hpclab-bench-tunnel-${process.pid}`;
  const server = transport
    .exec(['python3', '-c', SERVER, portFile, String(bytes)], { timeoutMs: 30 * 60_000 })
    .catch(() => undefined);
  let port = 0;
  for (let i = 0; i < 100 && !port; i++) {
    port = Number((await transport.readFile(portFile).catch(() => Buffer.from(''))).toString()) || 0;
    if (!port) await new Promise(r => setTimeout(r, 100));
  }
  if (!port) throw new Error('the tunnel benchmark server did not start on the login node');

  const localPort = await new Promise(resolve => {
    const probe = net.createServer().listen(0, '127.0.0.1', () => {
      const p = probe.address().port;
      probe.close(() => resolve(p));
    });
  });
  const ssh = spawn(
    'ssh',
    [
      '-N',
      '-L',
      `127.0.0.1:${localPort}:127.0.0.1:${port}`,
      '-i',
      env.identityFile,
      '-o',
      `UserKnownHostsFile=${env.knownHostsFile}`,
      '-o',
      'StrictHostKeyChecking=yes',
      '-o',
      'BatchMode=yes',
      '-p',
      String(env.ssh.port),
      `${env.user}@${env.ssh.host}`
    ],
    { stdio: 'ignore' }
  );
  try {
    for (let i = 0; i < 100; i++) {
      const ok = await connectLocal(localPort).then(
        s => (s.destroy(), true),
        () => false
      );
      if (ok) break;
      await new Promise(r => setTimeout(r, 100));
    }
    const ours = [];
    const peer = [];
    for (let i = 0; i < runs; i++) {
      ours.push(await download(await transport.openStream({ host: '127.0.0.1', port }), bytes));
      peer.push(await download(await connectLocal(localPort), bytes));
    }
    const rttOurs = await roundTrips(await transport.openStream({ host: '127.0.0.1', port }), trips);
    const rttPeer = await roundTrips(await connectLocal(localPort), trips);
    const med = a => quantile(a, 0.5);
    const mbRatio = med(ours) / med(peer);
    return [
      {
        subject: `ssh tunnel download ${bytes / 1e6} MB: hpclab stream vs OpenSSH ssh -L`,
        ours: `${med(ours).toFixed(1)} MB/s`,
        peer: `${med(peer).toFixed(1)} MB/s`,
        ratio: `${mbRatio.toFixed(2)}×`,
        target: '≥ 0.8×',
        verdict: mbRatio >= 0.8 ? 'ok' : 'MISSED'
      },
      {
        subject: `ssh tunnel 1-byte round trip p50 over ${trips}`,
        ours: `${med(rttOurs).toFixed(3)} ms`,
        peer: `${med(rttPeer).toFixed(3)} ms`,
        ratio: `${(med(rttPeer) / med(rttOurs)).toFixed(2)}× as fast`
      }
    ];
  } finally {
    ssh.kill();
    await transport
      .exec([
        'sh',
        '-c',
        'pkill -u "$(id -u)" -f "$1" ; rm -f "$2"',
        'sh',
        `hpclab-bench-tunnel-${process.pid}`,
        portFile
      ])
      .catch(() => undefined);
    await server;
    await clusters.close();
  }
}

module.exports = { sshTunnelBench };

require('./lib').runStandalone(module, sshTunnelBench);
