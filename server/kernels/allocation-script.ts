import { quoteWord } from '../transport/quote';
import { nodeAddressLines } from '../sessions/job-script';

/** Seconds without a launcher heartbeat after which the allocation releases itself. */
export const HEARTBEAT_TIMEOUT_SEC = 20;
/** How often a launcher touches the heartbeat file. */
export const HEARTBEAT_EVERY_SEC = 5;

/**
 * The batch script that holds a kernel's allocation. Kernels run in it as job steps, so a
 * restart is a new step in seconds, not a new wait in the queue. It writes where the node is,
 * then waits; it releases the allocation by itself once no launcher has touched the heartbeat
 * file for a while, so a launcher killed with -9 (or a laptop gone) leaves nothing running.
 */
export function renderAllocationScript(input: { sessionId: string; sessionDir: string }): string {
  const lines = [
    '#!/bin/bash',
    `# hpclab kernel allocation ${input.sessionId}: kernels run here as job steps.`,
    'umask 077',
    `hpclab_session_dir=${quoteWord(input.sessionDir)}`,
    ...nodeAddressLines(),
    'hpclab_tmp="$hpclab_session_dir/.allocation.$$.tmp"',
    `builtin printf '{"version":1,"sessionId":"%s","host":"%s","node":"%s","jobId":"%s"}\\n' ${quoteWord(input.sessionId)} "$hpclab_addr" "\${SLURMD_NODENAME:-}" "\${SLURM_JOB_ID:-}" >"$hpclab_tmp" &&`,
    '  mv -f "$hpclab_tmp" "$hpclab_session_dir/allocation.json" || exit 5',
    'touch "$hpclab_session_dir/heartbeat"',
    `# Held while a launcher keeps the heartbeat fresh; released ${HEARTBEAT_TIMEOUT_SEC} s after the last beat.`,
    'while sleep 2; do',
    '  hpclab_beat=$(stat -c %Y "$hpclab_session_dir/heartbeat" 2>/dev/null || echo 0)',
    `  if [ $(( $(date +%s) - hpclab_beat )) -gt ${HEARTBEAT_TIMEOUT_SEC} ]; then`,
    `    echo "hpclab: no kernel launcher for ${HEARTBEAT_TIMEOUT_SEC} s: releasing the allocation"`,
    '    exit 0',
    '  fi',
    'done'
  ];
  return `${lines.join('\n')}\n`;
}
