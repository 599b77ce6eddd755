/** Why a transport call failed, so callers (and users) can tell a dead link from a bad key. */
export type TransportErrorKind =
  | 'unreachable' // TCP connect failed or the link dropped and could not be re-made
  | 'auth' // the server refused every method we offered
  | 'host-key' // unknown or changed host key
  | 'timeout' // the command or connect took too long
  | 'output-limit' // the command printed more than we keep
  | 'closed' // the transport was closed by us
  | 'config'; // ~/.ssh/config or the cluster entry is unusable

export class TransportError extends Error {
  constructor(
    readonly kind: TransportErrorKind,
    message: string,
    readonly cluster?: string,
    options?: { cause?: unknown }
  ) {
    super(message, options);
    this.name = 'TransportError';
  }
}
