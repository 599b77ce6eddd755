/** No session with that id (the API answers 404). */
export class SessionNotFoundError extends Error {
  constructor(readonly sessionId: string) {
    super(`no session ${sessionId}`);
    this.name = 'SessionNotFoundError';
  }
}

/** The session has no job to act on now (ended, or not submitted yet): the API answers 409. */
export class SessionNotRunningError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SessionNotRunningError';
  }
}

/** The session state could not be saved (disk full, read-only): the API answers 503 and says which file. */
export class StateSaveError extends Error {
  constructor(
    readonly file: string,
    cause: unknown
  ) {
    const why = cause instanceof Error ? cause.message : String(cause);
    super(
      `cannot save the session state (${why}): make ${file}'s directory writable or free some space, then try again`,
      { cause }
    );
    this.name = 'StateSaveError';
  }
}
