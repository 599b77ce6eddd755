/** A setup request the user can fix: a bad value (`invalid`), a clash (`conflict`) or an unknown name. */
export class SetupError extends Error {
  name = 'SetupError';
  constructor(
    readonly kind: 'invalid' | 'conflict' | 'not-found',
    message: string,
    readonly fields: { path: string; message: string }[] = []
  ) {
    super(message);
  }
}
