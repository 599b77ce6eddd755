import type { Duplex } from 'node:stream';
import type { Transport } from '../transport/types';
import { ALLOCATION_FILE, parseAllocation } from './allocation-script';
import { probeServer } from './probe';
import { parseRendezvous } from './rendezvous';
import type { SessionKind, SessionTarget } from './types';

export interface StartWatch {
  sessionId: string;
  /** The session's current job: a file a previous job of the same session left is not its answer. */
  jobId?: string | null;
  kind: SessionKind;
  sessionDir: string;
  baseUrl: string;
  transport: Transport;
  /** A stream to the server at `target`: through the job's relay for a unix socket, else the transport. */
  open: (target: SessionTarget) => Promise<Duplex>;
  /**
   * A session with a workspace: until its server answers, what the job says of the restore
   * (`workspace-restore.json`: `{"restoring": true}`, then the backup restored or `{"name": null}`).
   */
  onWorkspace?: (text: string) => void;
}

/** A started session: where its server is (a kernel allocation: its node, port 0), and its token. */
export interface StartFound {
  target: SessionTarget;
  token: string;
  node: string;
}

/**
 * Notices a session's server coming up without asking slurmctld: reads the rendezvous file the
 * job writes into the session directory, then probes the server through the transport. Checks
 * every `everyMs` until it answers or `stop()` is called; costs one small file read per check.
 */
export class StartWatcher {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly watch: StartWatch,
    private readonly onReady: (found: StartFound) => void,
    private readonly everyMs = 500,
    private readonly onUnsafe?: (message: string) => void
  ) {}

  start(): void {
    this.stopped = false;
    this.tick();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private tick(): void {
    this.check().then(found => {
      if (this.stopped) return;
      if (found) {
        this.stopped = true;
        this.onReady(found);
      } else {
        this.timer = setTimeout(() => this.tick(), this.everyMs);
        this.timer.unref();
      }
    });
  }

  private async readWorkspace(): Promise<void> {
    const { transport, sessionDir, onWorkspace } = this.watch;
    const text = await transport
      .readFile(`${sessionDir}/workspace-restore.json`, { maxBytes: 4096 })
      .then(b => b.toString('utf8'))
      .catch(() => ''); // not written yet: the job has not reached its restore
    if (text.trim()) onWorkspace?.(text);
  }

  private async check(): Promise<StartFound | undefined> {
    const { transport, sessionDir, sessionId, baseUrl } = this.watch;
    try {
      if (this.watch.kind !== 'lab') {
        // A kernel allocation or a held node has no server of its own: it is ready once it says where it runs.
        const text = (await transport.readFile(`${sessionDir}/${ALLOCATION_FILE}`, { maxBytes: 64 * 1024 })).toString(
          'utf8'
        );
        if (!text.trim()) return undefined;
        const allocation = parseAllocation(text, { sessionId });
        // A kernel's allocation is re-made under the same id (after walltime, an idle release):
        // until the new job writes its own file, the old one names a directory that is gone.
        if (this.watch.jobId && allocation.jobId !== this.watch.jobId) return undefined;
        const target: SessionTarget =
          allocation.version === 2
            ? { socketDir: allocation.socketDir, socket: '', relayPython: allocation.relayPython }
            : { host: allocation.host, port: 0 };
        return { target, token: '', node: allocation.node };
      }
      const text = await transport
        .readFile(`${sessionDir}/rendezvous.json`, { maxBytes: 64 * 1024 })
        .then(b => b.toString('utf8'))
        .catch(async err => {
          // No rendezvous yet: a workspace being restored is why, and the user should see it.
          if (this.watch.onWorkspace) await this.readWorkspace();
          throw err;
        });
      if (!text.trim()) return undefined;
      const rendezvous = parseRendezvous(text, { sessionId });
      const target: SessionTarget =
        rendezvous.version === 2
          ? { socketDir: rendezvous.socketDir, socket: rendezvous.socket, relayPython: rendezvous.relayPython }
          : { host: rendezvous.host, port: rendezvous.port };
      const { open } = this.watch;
      if (!(await probeServer(await open(target), baseUrl, rendezvous.token))) return undefined;
      // A user's own jupyter config can blank the token (c.ServerApp.token = ''), leaving the
      // node's server open to every user of the cluster: refuse to use such a session.
      if (await probeServer(await open(target), baseUrl, '')) {
        this.onUnsafe?.(
          'The session\'s server answers without a token (is ServerApp.token set to "" in your Jupyter config?); hpclab will not use it.'
        );
        this.stop();
        return undefined;
      }
      return { target, token: rendezvous.token, node: rendezvous.node };
    } catch {
      // Not there yet, half-written, or the server not listening yet: try again shortly.
      return undefined;
    }
  }
}
