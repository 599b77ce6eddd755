/**
 * Watches the bytes a client sends on a kernel's control channel for a shutdown request, to
 * tell a restart (keep the allocation: the next kernel starts in seconds) from a shutdown
 * (release it). ZMQ frames carry the message's header and content as JSON; the content of a
 * shutdown_request is `{"restart": true|false}`. Nothing is parsed beyond that, nothing altered.
 */
export class ShutdownWatch {
  private tail = '';

  feed(chunk: Buffer): void {
    // Keep the end only: a shutdown request is small, and a frame may be split across chunks.
    this.tail = (this.tail + chunk.toString('latin1')).slice(-16_384);
  }

  /** What the last shutdown request asked for, if one was seen. */
  requested(): 'restart' | 'shutdown' | undefined {
    const i = this.tail.lastIndexOf('shutdown_request');
    if (i < 0) return undefined;
    const after = this.tail.slice(i);
    if (/"restart"\s*:\s*true/.test(after)) return 'restart';
    if (/"restart"\s*:\s*false/.test(after)) return 'shutdown';
    return undefined;
  }
}
