import { z } from 'zod';
import { quoteWord } from '../transport/quote';
import { nodeAddressLines } from './job-script';
import { isRendezvousHost } from './rendezvous';
import { RELAY_PYTHON_PATTERN, SOCKET_DIR_PATTERN, socketDirLines } from './socket-dir';

/** The file the allocation job writes once it runs: where kernels of this allocation can bind. */
export const ALLOCATION_FILE = 'allocation.json';

/**
 * Minutes without a heartbeat after which the allocation releases itself (a profile's
 * `kernelHoldMinutes` overrides it): the heartbeat stops whenever the companion cannot reach the
 * cluster, so this must outlast a laptop's nap or a login node's reboot (the kernel runs on, and
 * its variables are there when the link is back), yet not hold a node for hours for a companion
 * that is gone for good.
 */
export const DEFAULT_KERNEL_HOLD_MINUTES = 10;
/** How often a launcher touches the heartbeat file. */
export const HEARTBEAT_EVERY_SEC = 5;

/**
 * The batch script that holds a kernel's allocation. Kernels run in it as job steps, so a
 * restart is a new step in seconds, not a new wait in the queue. It writes where the node is,
 * then waits; it releases the allocation by itself once the companion has not touched the
 * heartbeat file for the hold time, so a companion gone for good leaves nothing running. (A
 * launcher that exits is seen by its companion, which releases the allocation at once.)
 */
export function renderAllocationScript(input: {
  sessionId: string;
  sessionDir: string;
  holdMinutes?: number;
  /** `relay` (default): kernels bind ipc sockets in a private directory; `tcp`: ports on the node's address. */
  nodeChannels?: 'relay' | 'tcp';
  /**
   * `held`: a node the user holds (`hpclab alloc`), kept until released or walltime whether or
   * not a companion beats, as `salloc` in tmux would; with lines run first (a workspace restore).
   */
  held?: { before: string[] };
}): string {
  const holdSec = (input.holdMinutes ?? DEFAULT_KERNEL_HOLD_MINUTES) * 60;
  const relay = (input.nodeChannels ?? 'relay') === 'relay';
  const where = relay
    ? [
        ...socketDirLines({ removeOnExit: true }),
        `builtin printf '{"version":2,"sessionId":"%s","socketDir":"%s","relayPython":"%s","node":"%s","jobId":"%s"}\\n' ${quoteWord(input.sessionId)} "$hpclab_sock_dir" "$hpclab_relay_python" "\${SLURMD_NODENAME:-}" "\${SLURM_JOB_ID:-}" >"$hpclab_tmp" &&`
      ]
    : [
        ...nodeAddressLines(),
        `builtin printf '{"version":1,"sessionId":"%s","host":"%s","node":"%s","jobId":"%s"}\\n' ${quoteWord(input.sessionId)} "$hpclab_addr" "\${SLURMD_NODENAME:-}" "\${SLURM_JOB_ID:-}" >"$hpclab_tmp" &&`
      ];
  const lines = [
    '#!/bin/bash',
    input.held
      ? `# hpclab held node ${input.sessionId}: shells, kernels and runs use it as job steps.`
      : `# hpclab kernel allocation ${input.sessionId}: kernels run here as job steps.`,
    'umask 077',
    `hpclab_session_dir=${quoteWord(input.sessionDir)}`,
    ...(input.held?.before ?? []),
    'hpclab_tmp="$hpclab_session_dir/.allocation.$$.tmp"',
    ...where,
    `  mv -f "$hpclab_tmp" "$hpclab_session_dir/${ALLOCATION_FILE}" || exit 5`,
    ...(input.held
      ? [
          '# Held until `hpclab release` (scancel) or walltime, companion or not.',
          'echo "hpclab: holding $(hostname) for job ${SLURM_JOB_ID:-?}"',
          'while :; do sleep 3600; done'
        ]
      : [
          'touch "$hpclab_session_dir/heartbeat"',
          `# Held while a companion keeps the heartbeat fresh; released ${holdSec} s after the last beat.`,
          'while sleep 2; do',
          '  hpclab_beat=$(stat -c %Y "$hpclab_session_dir/heartbeat" 2>/dev/null || echo 0)',
          `  if [ $(( $(date +%s) - hpclab_beat )) -gt ${holdSec} ]; then`,
          `    echo "hpclab: no word from the companion for ${holdSec} s: releasing the allocation"`,
          '    exit 0',
          '  fi',
          'done'
        ])
  ];
  return `${lines.join('\n')}\n`;
}

const common = {
  sessionId: z.string(),
  node: z.string().regex(/^[A-Za-z0-9_.-]*$/, { error: 'node: expected a node name' }),
  jobId: z.string().regex(/^[0-9_]+$/, { error: 'jobId: expected a Slurm job id' })
};
const allocationSchema = z.discriminatedUnion('version', [
  z.object({
    version: z.literal(1),
    ...common,
    host: z.string().refine(isRendezvousHost, { error: 'host: expected a host name or IP address' })
  }),
  z.object({
    version: z.literal(2),
    ...common,
    socketDir: z.string().regex(SOCKET_DIR_PATTERN, { error: 'socketDir: expected an absolute path without ".."' }),
    relayPython: z.string().regex(RELAY_PYTHON_PATTERN, { error: 'relayPython: expected an absolute path' })
  })
]);
export type Allocation = z.output<typeof allocationSchema>;

/**
 * Parses the allocation file and checks it is this session's: the host goes to openStream, so
 * a file written by anything else on the cluster must never steer a kernel's tunnels.
 */
export function parseAllocation(text: string, expected: { sessionId: string }): Allocation {
  const parsed = allocationSchema.safeParse(JSON.parse(text));
  if (!parsed.success) throw new Error(`bad allocation file: ${parsed.error.issues.map(i => i.message).join('; ')}`);
  if (parsed.data.sessionId !== expected.sessionId)
    throw new Error(`allocation file is for ${parsed.data.sessionId}, not ${expected.sessionId}`);
  return parsed.data;
}
