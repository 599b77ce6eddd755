import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import type { ClusterRegistry } from '../../server/app';
import { readAll } from '../support/streams';
import { relayArgs } from '../../server/sessions/relay-script';
import { RelayMux, RelayOpenError } from '../../server/transport/relay/relay-mux';
import type { RemoteProcess } from '../../server/transport/types';
import { registry, scratchName } from '../support/clusters';
import { cancelAllJobs, onLoginNode, testbed, waitFor } from '../support/testbed';

/*
 * The relay as issue 16 will use it, on the real path: the login connection runs `srun
 * --overlap` into the user's running job, the relay starts on the compute node in that job and
 * reaches unix sockets in the job's private directory; the companion's mux carries an echo and
 * a 10 MB download. Nothing listens on TCP for it. Its throughput is printed, not asserted
 * (srun carries a step's stdio in small messages: the figure matters for the design).
 */

/** In the job: a 0700 dir under /tmp with an echo socket and a download socket; its path and the download's hash to a file. */
const SERVER = `
import hashlib, json, os, socket, sys, tempfile, threading
d = tempfile.mkdtemp(prefix="hpclab.", dir="/tmp")
big = os.urandom(10 * 1024 * 1024)
def serve(name, handler):
    s = socket.socket(socket.AF_UNIX)
    s.bind(os.path.join(d, name))
    s.listen(8)
    def loop():
        while True:
            c, _ = s.accept()
            threading.Thread(target=handler, args=(c,), daemon=True).start()
    threading.Thread(target=loop, daemon=True).start()
def echo(c):
    while True:
        b = c.recv(65536)
        if not b:
            break
        c.sendall(b)
    c.close()
def download(c):
    c.sendall(big)
    c.close()
serve("echo.sock", echo)
serve("big.sock", download)
info = json.dumps({"dir": d, "sha": hashlib.sha256(big).hexdigest(), "node": socket.gethostname()})
open(sys.argv[1] + ".tmp", "w").write(info)
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
threading.Event().wait()
`;

describe('the relay through srun into a running job', () => {
  const env = testbed();
  let clusters: ClusterRegistry;
  let info: { dir: string; sha: string; node: string };
  let jobId: string;
  const infoFile = scratchName('relay-info');
  const serverFile = scratchName('relay-server.py');

  beforeAll(async () => {
    await cancelAllJobs();
    await fs.writeFile(serverFile, SERVER, { mode: 0o644 });
    jobId = onLoginNode([
      'sbatch',
      '--parsable',
      '--time=10',
      '--mem=200M',
      '--output=/dev/null',
      '--chdir=/tmp',
      '--wrap',
      `exec python3 ${serverFile} ${infoFile}`
    ]).trim();
    info = await waitFor(
      'the job to serve its sockets',
      async () => JSON.parse(await fs.readFile(infoFile, 'utf8').catch(() => 'null')) ?? undefined,
      60_000
    );
    clusters = await registry();
  }, 90_000);
  afterAll(async () => {
    await clusters?.close();
    await cancelAllJobs();
    await fs.rm(infoFile, { force: true });
    await fs.rm(serverFile, { force: true });
  });

  it('carries an echo and a 10 MB download from the node, with no TCP listener there', async () => {
    const { transport } = clusters.get('testbed');
    const relay: RemoteProcess = await transport.execStream([
      'srun',
      `--jobid=${jobId}`,
      '--overlap',
      '--quiet',
      '--ntasks=1',
      '--job-name=hpclab-relay',
      'python3',
      ...relayArgs(info.dir)
    ]);
    let stderr = '';
    relay.stderr.on('data', d => (stderr += d));
    const mux = new RelayMux(relay);
    const hello = await mux.ready.catch(err => {
      throw new Error(`${err.message}; relay stderr: ${stderr}`);
    });
    expect(hello.version).toBe(1);

    const echo = await mux.open('echo.sock');
    const echoed = readAll(echo);
    echo.end('through srun and back');
    expect((await echoed).toString()).toBe('through srun and back');

    const t0 = process.hrtime.bigint();
    const data = await readAll(await mux.open('big.sock'));
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    expect(createHash('sha256').update(data).digest('hex')).toBe(info.sha);
    console.log(
      `relay: 10 MB from the node through srun stdio in ${(seconds * 1000).toFixed(0)} ms (${(data.length / 1e6 / seconds).toFixed(1)} MB/s)`
    );

    await expect(mux.open('../etc.sock')).rejects.toBeInstanceOf(RelayOpenError);
    if (env.computeNetns) {
      // Only the job's unix sockets: no TCP port on the compute host belongs to the user.
      const listeners = execFileSync('nsenter', [`--net=/run/netns/${env.computeNetns}`, 'ss', '-Hltnpe'], {
        encoding: 'utf8'
      });
      const uid = execFileSync('id', ['-u', env.user], { encoding: 'utf8' }).trim();
      expect(listeners.split('\n').filter(l => new RegExp(`\\buid:${uid}\\b`).test(l))).toEqual([]);
    }

    // Closing the mux ends the relay (its stdin closes) and its step.
    mux.close();
    expect((await relay.exited).code).toBe(0);
    await waitFor('the relay step to end', () => {
      const steps = execFileSync('squeue', ['-h', '-s', '-j', jobId, '-o', '%j'], { encoding: 'utf8' });
      return !steps.includes('hpclab-relay') || undefined;
    });
  }, 120_000);
});
