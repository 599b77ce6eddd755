import { Limiter } from '../../limiter';

/**
 * Caps concurrent session channels on one connection. sshd refuses channels past MaxSessions
 * (10 by default), so past the cap callers wait their turn instead of failing.
 */
export class ChannelLimiter extends Limiter {}
