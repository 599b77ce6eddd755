import { ConfigError } from '../config/load';
import { SchedulerError } from '../scheduler/errors';
import { TransportError } from '../transport/errors';
import { UsageError } from './context';

/**
 * A failure as the CLI prints it: what went wrong, then what to do about it. Stays on one line
 * where the message is one line (scripts and tests read the first line of stderr).
 */
export function describeFailure(err: unknown): string {
  if (err instanceof UsageError) return err.message;
  if (err instanceof ConfigError)
    return err.kind === 'invalid' && err.configPath && !err.configPath.startsWith('-')
      ? `${err.message}\n${fixConfig(err)}`
      : err.message;
  if (err instanceof TransportError)
    return withStep(`${err.cluster ? `cluster ${err.cluster}: ` : ''}${err.message}`, transportStep(err));
  if (err instanceof SchedulerError) return withStep(`Slurm: ${err.message}`, schedulerStep(err));
  return err instanceof Error ? err.message : String(err);
}

function fixConfig(err: ConfigError): string {
  return `Fix ${err.problems.length > 1 ? 'these fields' : 'this'} in ${err.configPath} (see "Configuration" in the README), then run the command again.`;
}

function withStep(message: string, step: string | undefined): string {
  return step ? `${message}; ${step}` : message;
}

function transportStep(err: TransportError): string | undefined {
  const where = err.cluster ? `cluster ${err.cluster}'s login node` : 'the login node';
  switch (err.kind) {
    case 'unreachable':
    case 'timeout':
      return `check the network (VPN?) and that plain ssh reaches ${where} from here, then run again`;
    case 'auth':
      return `check that plain ssh logs in to ${where} from this terminal: load your key with ssh-add, or set ssh.identityFile in the config`;
    case 'config':
      return `fix it in ~/.ssh/config or in the cluster's "ssh" entry of the config`;
    default:
      // host-key messages already say what to check; closed and output-limit have no user step.
      return undefined;
  }
}

function schedulerStep(err: SchedulerError): string | undefined {
  switch (err.kind) {
    case 'unavailable':
      return "Slurm's controller is not answering: try again in a minute";
    case 'not-found':
    case 'permission':
      return 'hpclab jobs lists your jobs';
    case 'invalid-request':
      return "compare the profile's partition, GPUs and time with what hpclab status shows";
    default:
      return undefined;
  }
}
