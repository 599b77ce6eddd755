import { TransportError } from '../errors';
import {
  checkHostKey,
  hostKeyAlgorithmsFor,
  hostKeyErrorMessage,
  knownKeyTypes,
  parseKnownHosts,
  type KnownHostsEntry
} from './known-hosts';

/** One known_hosts file as read at connect time. */
export interface KnownHostsSource {
  file: string;
  text: string;
}

function entriesOf(sources: readonly KnownHostsSource[]): KnownHostsEntry[] {
  return sources.flatMap(s => parseKnownHosts(s.text, s.file));
}

/**
 * Strict host key checking, as `StrictHostKeyChecking yes`: a match passes; an unknown host or a
 * changed key is an error that says what to check. Never a prompt to accept.
 */
export function verifyHostKey(
  sources: readonly KnownHostsSource[],
  host: string,
  port: number,
  key: Buffer,
  cluster: string
): TransportError | undefined {
  const check = checkHostKey(entriesOf(sources), host, port, key);
  if (check.status === 'match') return undefined;
  const message = hostKeyErrorMessage(check, {
    host,
    port,
    key,
    knownHostsFiles: sources.length ? sources.map(s => s.file) : []
  });
  return new TransportError('host-key', message, cluster);
}

/** Host key algorithms already recorded for this host first, as OpenSSH orders them. */
export function preferredHostKeyAlgorithms(sources: readonly KnownHostsSource[], host: string, port: number): string[] {
  return hostKeyAlgorithmsFor(knownKeyTypes(entriesOf(sources), host, port));
}
